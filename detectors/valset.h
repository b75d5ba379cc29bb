/*
 * valset.h - a fixed-capacity set of 128-bit value hashes kept in order of
 * a 32-bit key, in caller-provided memory (one per group of a rule).
 *
 * The distinct and new_value rule kinds remember, per group, a bounded
 * number of values (strings, given as the caller's 128-bit keyed hashes)
 * and forget the oldest when full: distinct orders them by when each was
 * last seen in the window (key = event time as an offset from a base the
 * owner keeps), new_value by last use (key 0 for all: ties keep the order
 * of (re)insertion, so the list is a plain LRU list).
 *
 * Layout (valset_size(cap) bytes, 8-byte aligned, no pointers: the region
 * may be copied or saved as bytes):
 *   struct valset            32 bytes, the header below
 *   struct valset_entry[cap] 32 bytes each
 *   uint32_t bucket[nb]      4 bytes each, nb = the power of two >= cap,
 *                            at least 2
 * so a set costs 32 + 32 * cap + 4 * nb bytes:
 *
 *   cap        bytes
 *   1          72
 *   21         832
 *   101        3 776
 *   1000       36 128
 *   100000     3 724 320
 *
 * Entries are handed out from a high-water mark before the free list is
 * used, so valset_reset() writes the header and the buckets only, and an
 * entry's memory is first touched when a value needs it.
 *
 * Lookup is a chained hash on the first hash word (the caller's hash is
 * keyed, so input cannot crowd one chain): O(1) expected, load <= 1.
 * Every entry in use is on one doubly linked list sorted by key, oldest
 * (smallest key) at the head, equal keys in order of insertion; removed
 * entries go on a free list.  Inserting with key k walks back from the
 * tail past the entries with a key > k: O(1) when keys arrive in order,
 * O(d) for a key d places out of order.  Nothing here allocates, reads a
 * clock or does I/O.
 */
#ifndef TW_VALSET_H
#define TW_VALSET_H

#include <stddef.h>
#include <stdint.h>

#define VALSET_NIL UINT32_MAX
#define VALSET_MAX_CAP 1000000u

struct valset_entry {
    uint64_t h0, h1;  /* the value's 128-bit hash */
    uint32_t prev;    /* order list: older neighbour, or VALSET_NIL */
    uint32_t next;    /* order list: newer neighbour; or the free list */
    uint32_t hnext;   /* next entry of the same hash bucket */
    uint32_t key;     /* order key */
};

/* The header; entries and buckets follow it in the same region.  Every
 * field is private to valset.c except where a function says otherwise. */
typedef struct valset {
    uint32_t cap;        /* entries */
    uint32_t mask;       /* buckets - 1 */
    uint32_t count;      /* entries in use */
    uint32_t head, tail; /* oldest and newest entry in use, or VALSET_NIL */
    uint32_t free_head;  /* free list through `next` */
    uint32_t hw;         /* entries [0, hw) have been used at least once */
    uint32_t spare;
} valset;

/* Bytes of a set of `cap` values (1 <= cap <= VALSET_MAX_CAP), header
 * included; a multiple of 8. */
size_t valset_size(uint32_t cap);

/* Make `v` (valset_size(cap) bytes, 8-byte aligned) an empty set of
 * capacity `cap`.  Writes the header and the 4 * nb bytes of buckets
 * only. */
void valset_reset(valset *v, uint32_t cap);

/* The entry holding hash h, or VALSET_NIL.  Does not change the order. */
uint32_t valset_find(const valset *v, const uint64_t h[2]);

/* Insert hash h (not in the set) with order key `key`, after every entry
 * whose key is <= key.  Returns its entry, or VALSET_NIL when the set is
 * full (count == cap: nothing inserted; remove an entry first). */
uint32_t valset_add(valset *v, const uint64_t h[2], uint32_t key);

/* Give entry i the key `key` and move it after every other entry whose key
 * is <= key (with the same key: to the newest end of its ties). */
void valset_set_key(valset *v, uint32_t i, uint32_t key);

/* Remove entry i (in use) from the set. */
void valset_remove(valset *v, uint32_t i);

/* Subtract `delta` from every key (each must be >= delta).  O(count). */
void valset_shift_keys(valset *v, uint32_t delta);

/* Entry i (in use), read-only.  Walk from v->head through `next` (oldest
 * to newest) or from v->tail through `prev`; valid until the next change. */
const struct valset_entry *valset_at(const valset *v, uint32_t i);

#endif
