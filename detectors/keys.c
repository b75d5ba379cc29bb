/*
 * keys.c - bounded group table: hash chains of slot indices, an LRU log of
 * unpinned groups and a list of pinned ones (see keys.h).
 *
 * Invariants: count == (live entries of the log) + npinned; every used
 * unpinned slot s has exactly one live entry, log[s.lpos], and its other
 * entries (stale) come before it; a slot is on the free list iff !used;
 * bucket chains hold exactly the used slots.
 */
#include "detectors/keys.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Buckets in use at first (a power of two). */
#define KEYS_MIN_BUCKETS 64u

void *det_slab_alloc(size_t size)
{
    void *p;

    if (size == 0)
        size = 1;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *det_slab_alloc_huge(size_t size)
{
    const size_t huge = (size_t)2 << 20;
    unsigned char *q, *a;
    uintptr_t lead;

    if (size < huge)
        return det_slab_alloc(size);
    /* map one huge page more, then unmap the slack before and after */
    q = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return NULL;
    lead = (huge - (uintptr_t)q % huge) % huge;
    a = q + lead;
    if (lead > 0)
        munmap(q, lead);
    munmap(a + size, huge - lead);
    (void)madvise(a, size, MADV_HUGEPAGE); /* a hint: no error if refused */
    return a;
}

void det_slab_free(void *p, size_t size)
{
    if (p != NULL)
        munmap(p, size == 0 ? 1 : size);
}

int det_keys_init(det_keys *k, uint32_t cap)
{
    uint32_t nb = 1;

    memset(k, 0, sizeof *k);
    k->free_head = DET_NIL;
    k->pin_head = k->pin_tail = k->ovf = DET_NIL;
    if (cap < 1 || cap > (1u << 24))
        return DET_KEYS_EINVAL;
    while (nb < cap)
        nb <<= 1;
    k->cap_alloc = cap + 1; /* and the overflow group */
    k->nbuckets = nb;
    k->log_cap = 2 * k->cap_alloc + 64;
    k->slot = det_slab_alloc((size_t)k->cap_alloc * sizeof *k->slot);
    k->bucket = det_slab_alloc((size_t)nb * sizeof *k->bucket);
    k->log = det_slab_alloc((size_t)k->log_cap * sizeof *k->log);
    if (k->slot == NULL || k->bucket == NULL || k->log == NULL) {
        det_keys_free(k);
        return DET_KEYS_ENOMEM;
    }
    /* the buckets in use grow with the groups (grow()): few groups, few
     * cache lines */
    k->mask = (nb < KEYS_MIN_BUCKETS ? nb : KEYS_MIN_BUCKETS) - 1;
    memset(k->bucket, 0xff, ((size_t)k->mask + 1) * sizeof *k->bucket);
    k->cap = cap;
    k->nbuckets = nb;
    return DET_KEYS_OK;
}

void det_keys_free(det_keys *k)
{
    det_slab_free(k->slot, (size_t)k->cap_alloc * sizeof *k->slot);
    det_slab_free(k->bucket, (size_t)k->nbuckets * sizeof *k->bucket);
    det_slab_free(k->log, (size_t)k->log_cap * sizeof *k->log);
    k->slot = NULL;
    k->bucket = NULL;
    k->log = NULL;
    k->cap = 0;
}

/* Double the buckets in use (up to nbuckets, reserved at init) and chain
 * every group again: O(groups), once per doubling, so O(1) a group. */
static void grow(det_keys *k)
{
    uint32_t nb = (k->mask + 1) * 2;

    memset(k->bucket, 0xff, (size_t)nb * sizeof *k->bucket);
    k->mask = nb - 1;
    for (uint32_t s = 0; s < k->hw; s++) {
        struct det_slot *x = &k->slot[s];
        uint32_t b;

        if (!x->used || s == k->ovf)
            continue;
        b = (uint32_t)(x->h0 & k->mask);
        x->hnext = k->bucket[b];
        k->bucket[b] = s;
    }
}

static void pin_unlink(det_keys *k, uint32_t s)
{
    struct det_slot *x = &k->slot[s];

    if (x->prev != DET_NIL)
        k->slot[x->prev].next = x->next;
    else
        k->pin_head = x->next;
    if (x->next != DET_NIL)
        k->slot[x->next].prev = x->prev;
    else
        k->pin_tail = x->prev;
    x->prev = x->next = DET_NIL;
}

static void pin_append(det_keys *k, uint32_t s)
{
    struct det_slot *x = &k->slot[s];

    x->prev = k->pin_tail;
    x->next = DET_NIL;
    if (k->pin_tail != DET_NIL)
        k->slot[k->pin_tail].next = s;
    else
        k->pin_head = s;
    k->pin_tail = s;
}

/* Is log entry i its slot's live entry? */
static inline int live(const det_keys *k, uint32_t i)
{
    const struct det_slot *x = &k->slot[k->log[i]];

    return x->used && !x->pinned && x->lpos == i;
}

/* Move the live entries to the start of the log, in order. */
static void compact(det_keys *k)
{
    uint32_t j = 0;

    for (uint32_t i = k->log_head; i < k->log_tail; i++)
        if (live(k, i)) {
            k->log[j] = k->log[i];
            k->slot[k->log[j]].lpos = j;
            j++;
        }
    k->log_head = 0;
    k->log_tail = j;
    k->compactions++;
}

/* Unpinned used slot s is the most recently seen. */
__attribute__((hot))
static void log_append(det_keys *k, uint32_t s)
{
    if (k->log_tail == k->log_cap)
        compact(k); /* leaves at least log_cap - cap_alloc free */
    k->log[k->log_tail] = s;
    k->slot[s].lpos = k->log_tail++;
}

__attribute__((hot))
uint32_t det_keys_find(const det_keys *k, uint64_t h0, uint64_t h1)
{
    uint32_t s = k->bucket[h0 & k->mask];

    while (s != DET_NIL) {
        const struct det_slot *x = &k->slot[s];
        if (x->h0 == h0 && x->h1 == h1)
            return s;
        s = x->hnext;
    }
    return DET_NIL;
}

static void hash_unlink(det_keys *k, uint32_t s)
{
    uint32_t *pp = &k->bucket[k->slot[s].h0 & k->mask];

    while (*pp != DET_NIL && *pp != s)
        pp = &k->slot[*pp].hnext;
    if (*pp == s)
        *pp = k->slot[s].hnext;
}

void det_keys_remove(det_keys *k, uint32_t s)
{
    struct det_slot *x = &k->slot[s];

    if (!x->used)
        return;
    hash_unlink(k, s);
    if (x->pinned) {
        pin_unlink(k, s);
        k->npinned--;
    } /* else its log entry is stale from here (!used) */
    memset(x, 0, sizeof *x);
    x->next = k->free_head;
    k->free_head = s;
    k->count--;
    if (s == k->ovf)
        k->ovf = DET_NIL;
}

/* A free slot: the free list first, else the next never-used slot.  The
 * free list is threaded lazily (slots >= hw are free without being on it)
 * so that init touches no slot memory. */
static uint32_t take_free(det_keys *k)
{
    uint32_t s = k->free_head;

    if (s != DET_NIL) {
        k->free_head = k->slot[s].next;
        return s;
    }
    return k->hw < k->cap_alloc ? k->hw++ : DET_NIL;
}

uint32_t det_keys_oldest(det_keys *k)
{
    while (k->log_head < k->log_tail && !live(k, k->log_head))
        k->log_head++;
    return k->log_head < k->log_tail ? k->log[k->log_head] : DET_NIL;
}

uint32_t det_keys_live_at(const det_keys *k, uint32_t *pos)
{
    uint32_t i = *pos > k->log_head ? *pos : k->log_head;

    while (i < k->log_tail && !live(k, i))
        i++;
    *pos = i;
    return i < k->log_tail ? k->log[i] : DET_NIL;
}

uint32_t det_keys_lru_walk(const det_keys *k, uint32_t *cursor)
{
    uint32_t i = *cursor > k->log_head ? *cursor : k->log_head;

    while (i < k->log_tail && !live(k, i))
        i++;
    if (i >= k->log_tail) {
        *cursor = k->log_tail;
        return DET_NIL;
    }
    *cursor = i + 1;
    return k->log[i];
}

void det_keys_log_append(det_keys *k, uint32_t s)
{
    log_append(k, s);
}

/* det_keys_get of a key not in the table: a new group, after evicting
 * the least recently seen idle one when the table is full.  Out of line:
 * nearly every lookup finds its group. */
__attribute__((cold, noinline))
static uint32_t get_new(det_keys *k, uint64_t h0, uint64_t h1,
                        int *created)
{
    uint32_t s, b;
    struct det_slot *x;

    if (det_keys_groups(k) >= k->cap) {
        uint32_t old = det_keys_oldest(k);

        if (old == DET_NIL) {
            k->full++;
            return DET_NIL;
        }
        det_keys_remove(k, old);
        k->evictions++;
    }
    if (det_keys_groups(k) > k->mask && k->mask + 1 < k->nbuckets)
        grow(k); /* more groups than buckets */
    s = take_free(k);
    if (s == DET_NIL) { /* cannot happen: groups < cap here */
        k->full++;
        return DET_NIL;
    }
    x = &k->slot[s];
    memset(x, 0, sizeof *x);
    x->h0 = h0;
    x->h1 = h1;
    x->used = 1;
    b = (uint32_t)(h0 & k->mask);
    x->hnext = k->bucket[b];
    k->bucket[b] = s;
    log_append(k, s);
    k->count++;
    *created = 1;
    return s;
}

__attribute__((hot))
uint32_t det_keys_get(det_keys *k, uint64_t h0, uint64_t h1, int *created)
{
    uint32_t s = det_keys_find(k, h0, h1);

    *created = 0;
    if (s != DET_NIL) {
        det_keys_seen(k, s);
        return s;
    }
    return get_new(k, h0, h1, created);
}

uint32_t det_keys_overflow(det_keys *k, int *created)
{
    uint32_t s = k->ovf;
    struct det_slot *x;

    *created = 0;
    if (s != DET_NIL)
        return s;
    s = take_free(k); /* one slot is always left: groups <= cap */
    if (s == DET_NIL)
        return DET_NIL;
    x = &k->slot[s];
    memset(x, 0, sizeof *x);
    x->used = 1;
    x->hnext = DET_NIL;
    pin_append(k, s);
    x->pinned = 1;
    k->npinned++;
    k->count++;
    k->ovf = s;
    *created = 1;
    return s;
}

void det_keys_pin(det_keys *k, uint32_t s)
{
    struct det_slot *x = &k->slot[s];

    if (!x->used || x->pinned)
        return;
    pin_append(k, s); /* its log entry is stale from here (pinned) */
    x->pinned = 1;
    k->npinned++;
}

void det_keys_unpin(det_keys *k, uint32_t s)
{
    struct det_slot *x = &k->slot[s];

    if (!x->used || !x->pinned || s == k->ovf)
        return;
    pin_unlink(k, s);
    x->pinned = 0;
    log_append(k, s);
    k->npinned--;
}
