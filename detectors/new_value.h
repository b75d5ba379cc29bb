/*
 * new_value.h - the per-group state of the `new_value` rule kind: the
 * values of a string field a group remembers, and the ones it has not
 * seen before.
 *
 * SPEC §2: a group remembers at most `max_values` values of `field`; the
 * least recently used is forgotten (and would count as new again).  Once
 * now - the group's first event >= learn_s, a value the group does not
 * remember is new (reported, then remembered); values seen before that
 * are learned silently.  A value is the caller's 128-bit keyed hash of the
 * string (detectors/hash.h).
 *
 * Precisely: the group's first event time is its first event's t (taken
 * at now when after it); an event is in the learning period when now_ms -
 * first < learn_ms (now_ms being the newest event time, which never
 * decreases: SPEC judges the period on now, not on the event's stamp).  "Used" is seen in an event: each event makes its
 * value the most recently used, in the order fed (event times do not
 * reorder the list); a full set forgets the least recently used value to
 * remember a value it does not hold, whether new or learned.
 *
 * Cost per event: O(1) expected (a hash lookup and list moves).  Nothing
 * allocates, reads a clock or does I/O; the state holds no pointers (the
 * hashes are only meaningful under the key that made them).
 *
 * Memory per group: new_value_spec.size = 24 + valset_size(max) =
 *     56 + 32 * max_values + 4 * nb   (nb = the power of two >=
 *                                      max_values, at least 2)
 *
 *   max_values   bytes
 *   1            96
 *   10           440
 *   100          3 768
 *   1000         36 152 (the default)
 *   10000        385 592
 *
 * Entries are first written when a value needs them, so a group with few
 * values keeps most of its slab untouched (valset.h).
 */
#ifndef TW_NEW_VALUE_H
#define TW_NEW_VALUE_H

#include "detectors/valset.h"

#include <stddef.h>
#include <stdint.h>

#define NEW_VALUE_MAX_VALUES VALSET_MAX_CAP
#define NEW_VALUE_MAX_LEARN_MS 31536000000LL /* 365 days */

enum {
    NEW_VALUE_KNOWN = 0,   /* remembered: nothing to report */
    NEW_VALUE_LEARNED = 1, /* not remembered, learning: now remembered */
    NEW_VALUE_NEW = 2,     /* not remembered, learning over: report it */
    NEW_VALUE_EINVAL = -1
};

/* A rule's parameters, shared by its groups; read-only after
 * new_value_spec_init().  Fields private except `size`. */
typedef struct new_value_spec {
    int64_t learn_ms;
    uint32_t max_values;
    size_t size; /* bytes of one group's state */
} new_value_spec;

/* One group's state: new_value_spec.size bytes, 8-byte aligned (the set's
 * entries follow it).  `first`, `last_new` and `forgotten` may be read;
 * the rest is private. */
typedef struct new_value_state {
    int64_t first;      /* the group's first event time (INT64_MIN: none) */
    int64_t last_new;   /* time of the last new value (INT64_MIN: none) */
    uint64_t forgotten; /* values forgotten to make room */
    valset set;         /* must stay the last member */
} new_value_state;

/* Fill *s for learn_ms (0 .. NEW_VALUE_MAX_LEARN_MS; 0: nothing is
 * learned silently) and max_values (1 .. NEW_VALUE_MAX_VALUES).  Returns
 * 0 or NEW_VALUE_EINVAL. */
int new_value_spec_init(new_value_spec *s, int64_t learn_ms,
                        uint32_t max_values);

/* Make `st` (s->size bytes, 8-byte aligned) the state of a new group. */
void new_value_reset(const new_value_spec *s, new_value_state *st);

/* The group's next event, at t_ms (the newest event time being now_ms),
 * has the value with hash h.  Returns NEW_VALUE_KNOWN, NEW_VALUE_LEARNED
 * or NEW_VALUE_NEW (then last_new is the event's time). */
int new_value_feed(const new_value_spec *s, new_value_state *st,
                   int64_t now_ms, int64_t t_ms, const uint64_t h[2]);

#endif
