/*
 * timers.c - a rule's timers for idle groups (timers.h): an indexed
 * binary min-heap keyed by time, ties in no particular order.
 */
#include "detectors/timers.h"

#include "detectors/keys.h"

#include <stddef.h>
#include <string.h>

#define TIMERS_MAX ((1u << 24) + 1) /* keys.h's largest table, and one */

int det_timers_init(det_timers *t, uint32_t cap)
{
    memset(t, 0, sizeof *t);
    if (cap < 1 || cap > TIMERS_MAX)
        return DET_TIMERS_EINVAL;
    t->cap = cap;
    if ((t->heap = det_slab_alloc((size_t)cap * sizeof *t->heap)) == NULL ||
        (t->pos1 = det_slab_alloc((size_t)cap * sizeof *t->pos1)) == NULL ||
        (t->at = det_slab_alloc((size_t)cap * sizeof *t->at)) == NULL)
        return DET_TIMERS_ENOMEM;
    return DET_TIMERS_OK;
}

void det_timers_free(det_timers *t)
{
    if (t == NULL)
        return;
    det_slab_free(t->heap, (size_t)t->cap * sizeof *t->heap);
    det_slab_free(t->pos1, (size_t)t->cap * sizeof *t->pos1);
    det_slab_free(t->at, (size_t)t->cap * sizeof *t->at);
    memset(t, 0, sizeof *t);
}

static void put(det_timers *t, uint32_t i, uint32_t s)
{
    t->heap[i] = s;
    t->pos1[s] = i + 1;
}

/* Move the entry at i towards the root while it is earlier than its
 * parent. */
static void up(det_timers *t, uint32_t i)
{
    uint32_t s = t->heap[i];

    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (t->at[t->heap[p]] <= t->at[s])
            break;
        put(t, i, t->heap[p]);
        i = p;
    }
    put(t, i, s);
}

/* Move the entry at i towards the leaves while a child is earlier. */
static void down(det_timers *t, uint32_t i)
{
    uint32_t s = t->heap[i];

    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= t->n)
            break;
        if (c + 1 < t->n && t->at[t->heap[c + 1]] < t->at[t->heap[c]])
            c++;
        if (t->at[t->heap[c]] >= t->at[s])
            break;
        put(t, i, t->heap[c]);
        i = c;
    }
    put(t, i, s);
}

void det_timers_set(det_timers *t, uint32_t s, int64_t at)
{
    uint32_t i;

    if (s >= t->cap)
        return;
    if (t->pos1[s] == 0) {
        t->at[s] = at;
        put(t, t->n++, s);
        up(t, t->n - 1);
        return;
    }
    i = t->pos1[s] - 1;
    if (at < t->at[s]) {
        t->at[s] = at;
        up(t, i);
    } else if (at > t->at[s]) {
        t->at[s] = at;
        down(t, i);
    }
}

void det_timers_remove(det_timers *t, uint32_t s)
{
    uint32_t i, last;

    if (!det_timers_has(t, s))
        return;
    i = t->pos1[s] - 1;
    t->pos1[s] = 0;
    last = t->heap[--t->n];
    if (i == t->n)
        return;
    put(t, i, last);
    /* the moved entry may belong above or below */
    up(t, i);
    down(t, t->pos1[last] - 1);
}
