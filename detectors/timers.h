/*
 * timers.h - a rule's timers for groups without an open episode: each
 * group (a slot of the rule's table, keys.h) has at most one, at a time in
 * ms; the earliest is found in O(1), set and removed in O(log n).
 *
 * For the kinds whose value can cross their threshold with no event
 * (DET_KF_EDGE in kind.h: a ratio rises when calls outside its numerator
 * leave the window): the engine times such a group at its window's next
 * edge, and looks at it again then.  Groups with an open episode are timed
 * by the engine's pinned list instead.
 *
 * An indexed binary min-heap over slots.  Memory, reserved at init for
 * `cap` slots and untouched until used (det_slab_alloc): 4 bytes of heap
 * and 4 of position per slot, 8 for its time: 16 bytes per slot; what is
 * resident follows the slots ever timed.
 *
 * Invariants: heap[0..n) holds distinct slots < cap, each heap[i]'s time
 * no earlier than its parent's; pos1[s] = 1 + its index in heap when slot
 * s is timed, else 0.  Pure: no clock, no I/O; one owner thread.
 */
#ifndef TW_DET_TIMERS_H
#define TW_DET_TIMERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct det_timers {
    uint32_t n;      /* timed slots */
    uint32_t cap;    /* slots */
    uint32_t *heap;  /* private */
    uint32_t *pos1;  /* private */
    int64_t *at;     /* private: each slot's time */
} det_timers;

enum { DET_TIMERS_OK = 0, DET_TIMERS_ENOMEM = -1, DET_TIMERS_EINVAL = -2 };

/* Reserve for slots 0..cap-1 (1 <= cap <= 16M + 1).  Returns
 * DET_TIMERS_OK, DET_TIMERS_EINVAL or DET_TIMERS_ENOMEM (then
 * det_timers_free is still safe). */
int det_timers_init(det_timers *t, uint32_t cap);

/* Free.  Accepts a zeroed or half-initialised set. */
void det_timers_free(det_timers *t);

/* Time slot s (< cap) at `at`, or move its timer there. */
void det_timers_set(det_timers *t, uint32_t s, int64_t at);

/* Slot s has no timer any more (none: nothing happens). */
void det_timers_remove(det_timers *t, uint32_t s);

/* Is slot s timed? */
static inline int det_timers_has(const det_timers *t, uint32_t s)
{
    return t->pos1 != NULL && s < t->cap && t->pos1[s] != 0;
}

/* Slot s's time, INT64_MAX when it is not timed. */
static inline int64_t det_timers_at(const det_timers *t, uint32_t s)
{
    return det_timers_has(t, s) ? t->at[s] : INT64_MAX;
}

/* The earliest timer's time, INT64_MAX when none. */
static inline int64_t det_timers_next(const det_timers *t)
{
    return t->n > 0 ? t->at[t->heap[0]] : INT64_MAX;
}

/* The slot of the earliest timer (t->n > 0). */
static inline uint32_t det_timers_first(const det_timers *t)
{
    return t->heap[0];
}

#endif
