/*
 * valset.c - fixed-capacity hash set of 128-bit values in key order (see
 * valset.h for the layout and costs).
 *
 * Invariants: an entry is in use iff it is on the order list; the list is
 * sorted by key (non-decreasing from head to tail); every entry in use is
 * on exactly one hash chain, the chain of bucket h0 & mask; free entries
 * are on the free list (through `next`) and on no chain, or at or above
 * the high-water mark `hw` (never used, contents undefined).
 */
#include "detectors/valset.h"

#include <string.h>

static uint32_t bucket_count(uint32_t cap)
{
    uint32_t nb = 2;

    while (nb < cap)
        nb <<= 1;
    return nb;
}

static struct valset_entry *entries(valset *v)
{
    return (struct valset_entry *)(void *)(v + 1);
}

static const struct valset_entry *entries_c(const valset *v)
{
    return (const struct valset_entry *)(const void *)(v + 1);
}

static uint32_t *buckets(valset *v)
{
    return (uint32_t *)(void *)(entries(v) + v->cap);
}

static const uint32_t *buckets_c(const valset *v)
{
    return (const uint32_t *)(const void *)(entries_c(v) + v->cap);
}

size_t valset_size(uint32_t cap)
{
    return sizeof(valset) + (size_t)cap * sizeof(struct valset_entry) +
           (size_t)bucket_count(cap) * sizeof(uint32_t);
}

void valset_reset(valset *v, uint32_t cap)
{
    v->cap = cap;
    v->mask = bucket_count(cap) - 1;
    v->count = 0;
    v->head = v->tail = VALSET_NIL;
    v->free_head = VALSET_NIL;
    v->hw = 0;
    v->spare = 0;
    memset(buckets(v), 0xff, (size_t)(v->mask + 1) * sizeof(uint32_t));
}

uint32_t valset_find(const valset *v, const uint64_t h[2])
{
    const struct valset_entry *e = entries_c(v);
    uint32_t i = buckets_c(v)[h[0] & v->mask];

    while (i != VALSET_NIL && (e[i].h0 != h[0] || e[i].h1 != h[1]))
        i = e[i].hnext;
    return i;
}

/* Put entry i (off the list) on the list after the last entry whose key
 * is <= its key, walking back from the tail. */
static void link_sorted(valset *v, uint32_t i)
{
    struct valset_entry *e = entries(v);
    uint32_t after = v->tail;

    while (after != VALSET_NIL && e[after].key > e[i].key)
        after = e[after].prev;
    e[i].prev = after;
    e[i].next = after == VALSET_NIL ? v->head : e[after].next;
    if (e[i].next == VALSET_NIL)
        v->tail = i;
    else
        e[e[i].next].prev = i;
    if (after == VALSET_NIL)
        v->head = i;
    else
        e[after].next = i;
}

static void unlink_order(valset *v, uint32_t i)
{
    struct valset_entry *e = entries(v);

    if (e[i].prev == VALSET_NIL)
        v->head = e[i].next;
    else
        e[e[i].prev].next = e[i].next;
    if (e[i].next == VALSET_NIL)
        v->tail = e[i].prev;
    else
        e[e[i].next].prev = e[i].prev;
}

uint32_t valset_add(valset *v, const uint64_t h[2], uint32_t key)
{
    struct valset_entry *e = entries(v);
    uint32_t *b = buckets(v);
    uint32_t i = v->free_head;

    if (i != VALSET_NIL)
        v->free_head = e[i].next;
    else if (v->hw < v->cap)
        i = v->hw++;
    else
        return VALSET_NIL;
    e[i].h0 = h[0];
    e[i].h1 = h[1];
    e[i].key = key;
    e[i].hnext = b[h[0] & v->mask];
    b[h[0] & v->mask] = i;
    link_sorted(v, i);
    v->count++;
    return i;
}

void valset_set_key(valset *v, uint32_t i, uint32_t key)
{
    unlink_order(v, i);
    entries(v)[i].key = key;
    link_sorted(v, i);
}

void valset_remove(valset *v, uint32_t i)
{
    struct valset_entry *e = entries(v);
    uint32_t *link = &buckets(v)[e[i].h0 & v->mask];

    while (*link != i)
        link = &e[*link].hnext;
    *link = e[i].hnext;
    unlink_order(v, i);
    e[i].prev = e[i].hnext = VALSET_NIL;
    e[i].next = v->free_head;
    v->free_head = i;
    v->count--;
}

void valset_shift_keys(valset *v, uint32_t delta)
{
    struct valset_entry *e = entries(v);

    for (uint32_t i = v->head; i != VALSET_NIL; i = e[i].next)
        e[i].key -= delta;
}

const struct valset_entry *valset_at(const valset *v, uint32_t i)
{
    return &entries_c(v)[i];
}
