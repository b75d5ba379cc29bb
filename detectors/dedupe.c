/*
 * dedupe.c - fixed-memory set of the last N record-id hashes (dedupe.h).
 *
 * Invariant: the table holds exactly one entry for each of the `count`
 * ring positions in use, reachable by linear probing from the home bucket
 * of that position's hash with no empty entry in between.  An entry is
 * mix(hash) << 32 | (position + 1), 0 when empty: the high half gives the
 * home bucket and a 32-bit tag, so neither a probe (unless the tags agree)
 * nor a backward shift reads the ring, whose accesses miss the cache.
 */
#include "detectors/dedupe.h"

#include "detectors/keys.h"

#include <stdlib.h>
#include <string.h>

int det_dedupe_init(det_dedupe *d, uint32_t n)
{
    uint32_t size = 2;

    memset(d, 0, sizeof *d);
    if (n < 1 || n > (1u << 24))
        return DET_DEDUPE_EINVAL;
    while (size < 2 * n)
        size <<= 1;
    d->n_alloc = n;
    d->mask = size - 1; /* also what det_dedupe_free needs */
    d->ring = det_slab_alloc((size_t)n * sizeof *d->ring);
    d->table = det_slab_alloc_huge((size_t)size * sizeof *d->table);
    if (d->ring == NULL || d->table == NULL) {
        det_dedupe_free(d);
        return DET_DEDUPE_ENOMEM;
    }
    d->n = n;
    d->mask = size - 1;
    return DET_DEDUPE_OK;
}

void det_dedupe_free(det_dedupe *d)
{
    det_slab_free(d->ring, (size_t)d->n_alloc * sizeof *d->ring);
    det_slab_free(d->table, ((size_t)d->mask + 1) * sizeof *d->table);
    memset(d, 0, sizeof *d);
}

/* The 32 bits of a hash that pick its home and tag its entry (the hash is
 * keyed, so they are uniform). */
static uint32_t mix(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}

static uint64_t make_entry(uint64_t h, uint32_t p)
{
    return ((uint64_t)mix(h) << 32) | (p + 1u);
}

static uint32_t entry_pos1(uint64_t e)
{
    return (uint32_t)e; /* position + 1 */
}

static uint32_t entry_home(const det_dedupe *d, uint64_t e)
{
    return (uint32_t)(e >> 32) & d->mask;
}

/* Remove the table entry of ring position p. */
__attribute__((hot))
static void forget(det_dedupe *d, uint32_t p)
{
    uint32_t i = mix(d->ring[p]) & d->mask, j;

    while (entry_pos1(d->table[i]) != p + 1) {
        if (d->table[i] == 0)
            return; /* not there: cannot happen */
        i = (i + 1) & d->mask;
    }
    /* backward-shift deletion: pull later entries of the cluster back
     * over the hole when their home is not in (hole, their slot] */
    j = i;
    for (;;) {
        uint32_t k;
        j = (j + 1) & d->mask;
        if (d->table[j] == 0)
            break;
        k = entry_home(d, d->table[j]);
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            d->table[i] = d->table[j];
            i = j;
        }
    }
    d->table[i] = 0;
}

__attribute__((hot))
int det_dedupe_seen(det_dedupe *d, uint64_t h)
{
    uint32_t g = mix(h), i = g & d->mask, p;
    uint64_t t;

    while ((t = d->table[i]) != 0) {
        /* the ring (a cache miss) is read only when the tags agree */
        if ((uint32_t)(t >> 32) == g && d->ring[entry_pos1(t) - 1] == h)
            return 1;
        i = (i + 1) & d->mask;
    }
    p = d->pos;
    if (d->count == d->n) {
        forget(d, p);
        /* the hole may have been in front of h's probe sequence */
        i = g & d->mask;
        while (d->table[i] != 0)
            i = (i + 1) & d->mask;
    } else {
        d->count++;
    }
    d->ring[p] = h;
    d->table[i] = make_entry(h, p);
    d->pos = p + 1 == d->n ? 0 : p + 1;
    if (d->count == d->n) { /* the next call forgets ring[pos] */
        uint32_t f = mix(d->ring[d->pos]) & d->mask;
        __builtin_prefetch(&d->table[f], 1);
        /* its backward shift may run into the next line */
        __builtin_prefetch(&d->table[(f + 8) & d->mask], 1);
        /* the ring is read in order, a line per 8 calls: ask early */
        __builtin_prefetch(&d->ring[(d->pos + 64) % d->n], 0);
    }
    return 0;
}

__attribute__((hot))
void det_dedupe_prefetch(const det_dedupe *d, uint64_t h)
{
    if (d->n > 0)
        __builtin_prefetch(&d->table[mix(h) & d->mask]);
}

uint64_t det_dedupe_nth(const det_dedupe *d, uint32_t i)
{
    uint32_t start = d->count < d->n ? 0 : d->pos;

    return d->ring[((uint64_t)start + i) % d->n];
}
