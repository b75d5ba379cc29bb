/*
 * distinct.h - the per-group state of the `distinct` rule kind: distinct
 * values of a string field in the sliding window against a threshold,
 * decided exactly.
 *
 * SPEC §2: a group fires when the values of `field` seen in (now - window,
 * now] number more than `threshold` (strict), and clears when they number
 * at most `clear_threshold` (<= threshold).  A value is the caller's
 * 128-bit keyed hash of the string (detectors/hash.h); the text, when an
 * alert needs it, is the engine's business.
 *
 * With K = floor(threshold) + 1, the state remembers at most K (value,
 * last seen) pairs: the K values last seen most recently, by event time.
 * A value not remembered was last seen before every remembered one, so
 * fewer than K remembered values in the window is the exact distinct
 * count, and K of them means at least K: "distinct > threshold" and
 * "distinct <= clear_threshold" are both exact, with memory bounded by
 * the threshold.  `value` is the number of remembered values in the
 * window: the exact count when below K, else K, meaning "at least K".
 *
 * Time: ms of event time; `now` never decreases (a smaller now_ms is taken
 * as the newest seen); an event with t > now is taken at now; an event
 * with t <= now - window is late: reported, not counted.  Last-seen times
 * are 32-bit offsets from a per-group base that moves forward when they
 * would overflow (at most once every 2^31 ms, O(K)), which bounds the
 * window to DISTINCT_MAX_WINDOW_MS.
 *
 * Cost per event: O(1) expected (a hash lookup, the oldest expired or
 * forgotten) when events come in time order; an event d places out of
 * order costs O(d).  Nothing allocates, reads a clock or does I/O; the
 * state holds no pointers.
 *
 * Memory per group: distinct_spec.size = 16 + valset_size(K) =
 *     48 + 32 * K + 4 * nb      (nb = the power of two >= K, at least 2)
 *
 *   threshold   K        bytes
 *   0           1        88
 *   10          11       464
 *   20          21       848
 *   100         101      3 792
 *   1000        1001     36 176
 *   99999       100000   3 724 336 (the largest threshold)
 */
#ifndef TW_DISTINCT_H
#define TW_DISTINCT_H

#include "detectors/valset.h"

#include <stddef.h>
#include <stdint.h>

#define DISTINCT_KEPT_MAX 100000u
#define DISTINCT_MAX_WINDOW_MS 2147483647LL /* 2^31 - 1 ms, 24.8 days */

enum { DISTINCT_OK = 0, DISTINCT_LATE = 1, DISTINCT_EINVAL = -1 };

/* A rule's parameters, shared by its groups; read-only after
 * distinct_spec_init().  Fields private except `size`. */
typedef struct distinct_spec {
    int64_t window_ms;
    uint32_t fire_at;   /* K = floor(threshold) + 1: above at K values */
    uint32_t clear_max; /* floor(clear_threshold): clear at or under */
    size_t size;        /* bytes of one group's state */
} distinct_spec;

/* One group's state: distinct_spec.size bytes, 8-byte aligned, of which
 * this is the head (the set's entries follow it).  Fields private. */
typedef struct distinct_state {
    int64_t base; /* time of key 0 */
    int64_t now;  /* newest now seen (INT64_MIN: none) */
    valset set;   /* key: last seen - base; must stay the last member */
} distinct_state;

/* The level at `now`. */
struct distinct_level {
    uint32_t value; /* remembered values in the window (<= K) */
    int exact;      /* 1: value < K, the exact distinct count */
    int above;      /* distinct > threshold: the fire condition */
    int clear;      /* distinct <= clear_threshold: the clear condition */
};

/* Fill *s for a window of window_ms (1 .. DISTINCT_MAX_WINDOW_MS), a
 * threshold (0 .. DISTINCT_KEPT_MAX - 1) and a clear threshold (0 ..
 * threshold; NaN: the threshold).  Returns DISTINCT_OK or
 * DISTINCT_EINVAL. */
int distinct_spec_init(distinct_spec *s, int64_t window_ms, double threshold,
                       double clear_threshold);

/* Make `st` (s->size bytes, 8-byte aligned) the state of a new group. */
void distinct_reset(const distinct_spec *s, distinct_state *st);

/* The value with hash h seen at t_ms, the newest event time being now_ms.
 * Returns DISTINCT_OK, or DISTINCT_LATE when t_ms <= now_ms - window
 * (nothing counted). */
int distinct_add(const distinct_spec *s, distinct_state *st, int64_t now_ms,
                 int64_t t_ms, const uint64_t h[2]);

/* The level at now_ms (forgets what left the window first). */
void distinct_level(const distinct_spec *s, distinct_state *st,
                    int64_t now_ms, struct distinct_level *out);

/* The remembered values in the window at now_ms, most recently seen
 * first: up to `max` hashes into out[i][0..1] and, when `last_seen` is not
 * NULL, when each was last seen.  Returns how many were written. */
size_t distinct_values(const distinct_spec *s, distinct_state *st,
                       int64_t now_ms, uint64_t (*out)[2],
                       int64_t *last_seen, size_t max);

/* With no further event, the earliest now at which the group is clear:
 * the newest now seen when it already is (INT64_MIN before any event).
 * O(remembered values). */
int64_t distinct_clear_time(const distinct_spec *s, distinct_state *st);

/* distinct_clear_time() for a clear threshold of its own: the group is
 * clear at or under clear_max values (clear_max < the spec's fire_at). */
int64_t distinct_clear_time_at(const distinct_spec *s, distinct_state *st,
                               uint32_t clear_max);

#endif
