/*
 * valpool.h - one rule's pool of remembered values, shared by its groups:
 * each group keeps a bounded list of 128-bit value hashes in order of a
 * 32-bit key, and pays memory only for the values it holds.
 *
 * The distinct and new_value rule kinds remember, per group, at most
 * `per_group` values (strings, given as the caller's 128-bit keyed
 * hashes) and forget the oldest when full: distinct orders them by when
 * each was last seen in the window (key = event time as an offset from a
 * base the owner keeps), new_value by last use (key 0 for all: ties keep
 * the order of (re)insertion, so the list is a plain LRU list).
 *
 * Split of the memory:
 *   - per group, a valpool_group header (12 bytes) inside the owner's
 *     per-group state: the number of values and the oldest and newest
 *     entry of the group's order list;
 *   - per rule, a valpool: entries (32 bytes each) and the buckets of one
 *     hash table over (group, value), both reserved once at create for the
 *     worst case, `groups` x `per_group` entries, so that nothing is
 *     allocated after create.  The reservation is mmap'd with
 *     MAP_NORESERVE: a page costs resident memory only once written.
 *     Entries are handed out from a high-water mark after the free list
 *     (freed entries are reused first), so resident entries track the most
 *     values held at once, not the reservation.  The bucket array is used
 *     as a growing prefix by linear hashing: one bucket more (chain i split
 *     into i and i + 2^L, the next bit of the hash deciding) each time the
 *     values outnumber the buckets in use, so the load stays <= 1 and the
 *     buckets in use track the most values held at once.  Buckets are never
 *     given back: a rule that once held n values keeps n buckets.
 *
 *   reserved (virtual):  32 * groups * per_group + 4 * nb, nb = the power
 *                        of two >= groups * per_group
 *   resident:            about 36 bytes per value held at the high-water
 *                        mark (an entry and a bucket), by whole pages
 *
 * Lookup is by (group id, hash): the first hash word is stored mixed with
 * the group id (an injective mix), so one chain compare tells groups apart
 * and the caller's keyed hash still spreads the chains (input cannot
 * crowd one).  O(1) expected.  Every entry in use is on its group's doubly
 * linked order list sorted by key, oldest (smallest key) at the head,
 * equal keys in order of insertion; inserting with key k walks back from
 * the tail past the entries with a key > k: O(1) when keys arrive in
 * order, O(d) for a key d places out of order.
 *
 * A group header is valid when it is all zero bytes (fresh mmap'd memory)
 * or when this pool last wrote it; valpool_group_reset() returns what a
 * valid header holds to the pool, so a group slot reused by another group
 * never shows it the old values.
 *
 * Checkpoint records (valpool_save / valpool_load): a group's values as
 * position-independent little-endian bytes, after an owner's tag and
 * int64 fields; see struct valpool_rec.
 *
 * Nothing here reads a clock or does I/O; only create and destroy map or
 * unmap memory.  Not thread-safe: one owner thread.
 */
#ifndef TW_VALPOOL_H
#define TW_VALPOOL_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define VALPOOL_NIL UINT32_MAX
#define VALPOOL_MAX_ENTRIES (1u << 31) /* groups * per_group, at most */
#define VALPOOL_REC_FIELDS 4           /* owner's fields in a record */

struct valpool_entry {
    uint64_t h0;     /* the value's first hash word, mixed with its group */
    uint64_t h1;     /* the second word */
    uint32_t hnext;  /* next entry in the same hash bucket */
    uint32_t prev;   /* order list: older neighbour, or VALPOOL_NIL */
    uint32_t next;   /* order list: newer neighbour; or the free list */
    uint32_t key;    /* order key */
};

/* A group's header, embedded in its owner's per-group state.  `count`,
 * `head` (oldest) and `tail` (newest) may be read; written only here. */
typedef struct valpool_group {
    uint32_t count;
    uint32_t head, tail;
} valpool_group;

typedef struct valpool valpool;

/* A pool for `groups` groups of at most `per_group` values each (both >=
 * 1, their product <= VALPOOL_MAX_ENTRIES).  Returns NULL when out of
 * memory or out of range.  Destroy with valpool_destroy (NULL accepted). */
valpool *valpool_create(uint32_t groups, uint32_t per_group);
void valpool_destroy(valpool *p);

/* Return the entries of g (a valid header, see above) to the pool and
 * make g an empty group.  O(count). */
void valpool_group_reset(valpool *p, valpool_group *g);

/* The entry holding hash h in group `gid` (the owner's group number, e.g.
 * its slot), or VALPOOL_NIL.  Does not change the order. */
uint32_t valpool_find(const valpool *p, uint32_t gid, const uint64_t h[2]);

/* Insert hash h (not in the group) into group `gid` with header g and
 * order key `key`, after every entry of g whose key is <= key.  Returns
 * its entry, or VALPOOL_NIL when g holds per_group values (nothing
 * inserted; remove one first). */
uint32_t valpool_add(valpool *p, valpool_group *g, uint32_t gid,
                     const uint64_t h[2], uint32_t key);

/* Give entry i of g the key `key` and move it after every other entry of
 * g whose key is <= key (with the same key: to the newest end of its
 * ties). */
void valpool_set_key(valpool *p, valpool_group *g, uint32_t i, uint32_t key);

/* Remove entry i (in use, of g) and free it. */
void valpool_remove(valpool *p, valpool_group *g, uint32_t i);

/* Subtract `delta` from every key of g (each must be >= delta).
 * O(count). */
void valpool_shift_keys(valpool *p, const valpool_group *g, uint32_t delta);

/* Entry i (in use), read-only.  Walk a group from g->head through `next`
 * (oldest to newest) or from g->tail through `prev`; valid until the next
 * change. */
const struct valpool_entry *valpool_at(const valpool *p, uint32_t i);

/* The hash that entry i of group gid was added with. */
void valpool_hash(const valpool *p, uint32_t gid, uint32_t i, uint64_t h[2]);

/* Entries in use, buckets in use and entries ever used (the high-water
 * mark): what is resident is about 32 * hw + 4 * buckets bytes. */
uint32_t valpool_count(const valpool *p);
uint32_t valpool_buckets(const valpool *p);
uint32_t valpool_hw(const valpool *p);

/* Bytes reserved (virtual) by a pool of groups * per_group entries; 0 when
 * out of range. */
size_t valpool_reserved(uint32_t groups, uint32_t per_group);

/* ---- checkpoint records ----
 * A group's record, little-endian:
 *   u8  tag                  the owner's: what follows, and its version
 *   i64 field[nfield]        the owner's (nfield fixed by the tag)
 *   u32 count                values, then each, oldest first:
 *     u64 h0, u64 h1         its hash
 *     i64 time               only when `timed`: base + its key
 * Load refuses (-1) a record that save could not have written for the
 * owner's bounds: truncated or trailing bytes, another tag, count > max,
 * a hash twice, a time out of [lo, hi] or older than the one before. */
struct valpool_rec {
    uint8_t tag;
    uint8_t nfield;          /* <= VALPOOL_REC_FIELDS */
    int timed;               /* values carry times */
    int64_t field[VALPOOL_REC_FIELDS];
    int64_t base;            /* time of key 0 (timed) */
    int64_t lo, hi;          /* load: the times allowed (timed) */
    uint32_t max;            /* load: values allowed (<= per_group) */
};

/* The most bytes of a record with nfield fields and up to `max` values. */
size_t valpool_rec_bytes(uint32_t nfield, int timed, uint32_t max);

/* Append rec's tag and fields and group gid's values (header g) to out.
 * Returns 0, or -1 when out is full (out as it was). */
int valpool_save(const valpool *p, uint32_t gid, const valpool_group *g,
                 const struct valpool_rec *rec, buf *out);

/* Read a record's tag and its rec->nfield fields into rec: the owner then
 * checks them and sets base, lo, hi and max for valpool_load.  Returns 0,
 * or -1 when n is too short or the tag is not rec->tag. */
int valpool_load_head(struct valpool_rec *rec, const unsigned char *in,
                      size_t n);

/* Load the values of the record (in, n: the whole record, head included)
 * into group gid, header g, which must be empty: each value's key is its
 * time - rec->base when timed, else 0.  Returns 0, or -1 with g empty
 * again when the record is refused (see above). */
int valpool_load(valpool *p, uint32_t gid, valpool_group *g,
                 const struct valpool_rec *rec, const unsigned char *in,
                 size_t n);

#endif
