/*
 * count.h - the per-group state of the `count` rule kind: matching events
 * in the sliding window against a threshold, decided exactly.
 *
 * SPEC §2: a group fires when the events in (now - window, now] number
 * more than `threshold` (strict) and clears when they number at most
 * `clear_threshold` (<= threshold).  With T = threshold, C = the clear
 * threshold, "count > T" is "count >= floor(T) + 1" and "count <= C" is
 * "count <= floor(C)", so the state keeps the K = floor(T) + 1 newest event
 * times (largest times, whatever the arrival order) that are still in the
 * window: fewer than K kept times is the exact count; K kept times means
 * the count is at least K, so above T and not at or under C.  Both
 * decisions are exact to the millisecond, with memory bounded by T.
 *
 * `value` (struct count_level) is what the alert reports:
 *   - exact mode, fewer than K times kept: the exact count (exact = 1);
 *   - exact mode, K times kept: max(K, bucketed count) (exact = 0), a lower
 *     bound of the true count, short of it by at most the events of the
 *     oldest 1/60 of the window;
 *   - bucketed mode (below): the bucketed count (exact = 0).
 * The bucketed count is a win_ring (window.h) of at most 60 buckets of
 * B = window / buckets ms: it counts an event for (W - B, W] of its life,
 * never longer than the window, so it never exceeds the exact count.
 *
 * Bucketed mode: when K would exceed COUNT_EXACT_MAX (T >= 100000) no
 * times are kept; firing and clearing are then decided on the bucketed
 * count (an event stops counting up to one bucket early), and
 * count_clear_time() is the next time that count decreases.
 *
 * Time: all times are ms of event time.  `now` never decreases (a smaller
 * now_ms is taken as the newest seen); an event with t > now is counted at
 * now; an event with t <= now - window is late: reported, not counted.
 * Times are kept as 32-bit offsets from a per-group base that moves
 * forward when the offsets would overflow (at most once every 2^31 ms,
 * O(K)); this bounds the window to COUNT_MAX_WINDOW_MS.
 *
 * Cost: adding an event in time order is O(1) amortised (each kept time is
 * expired once); an event d places out of time order costs O(d) to insert
 * in order.  Reading the level is O(1) amortised.  Nothing allocates,
 * reads a clock or does I/O; the state holds no pointers.
 *
 * Memory per group: count_spec.size =
 *     24 (header) + 4 * K rounded up to 8 + 24 + 4 * buckets (the ring)
 * with K = floor(threshold) + 1 (0 in bucketed mode) and buckets <= 60:
 *
 *   threshold   window_s   K        bytes
 *   0           60         1        296
 *   50          3600       51       496
 *   100         60         101      696
 *   1000        300        1001     4 296
 *   99999       60         100000   400 288
 *   >= 100000   60         0        288 (bucketed)
 */
#ifndef TW_COUNT_H
#define TW_COUNT_H

#include "detectors/window.h"

#include <stddef.h>
#include <stdint.h>

#define COUNT_EXACT_MAX 100000u
#define COUNT_MAX_WINDOW_MS 2147483647LL /* 2^31 - 1 ms, 24.8 days */
#define COUNT_MAX_THRESHOLD 1e15

enum { COUNT_OK = 0, COUNT_LATE = 1, COUNT_EINVAL = -1 };

/* A rule's parameters, shared by all its groups.  Read-only after
 * count_spec_init(); fields are private except `size`. */
typedef struct count_spec {
    int64_t window_ms;
    uint64_t fire_at;   /* floor(threshold) + 1: above at this count */
    uint64_t clear_max; /* floor(clear_threshold): clear at or under */
    uint32_t k;         /* times kept per group (0: bucketed mode) */
    size_t ring_off;    /* offset of the bucket ring in the state */
    size_t size;        /* bytes of one group's state */
    win_spec win;       /* the bucket ring's shape */
} count_spec;

/* One group's state: count_spec.size bytes (8-byte aligned) of which this
 * is the head.  All fields private. */
typedef struct count_state {
    int64_t base;   /* time of offset 0 */
    int64_t now;    /* newest now seen (INT64_MIN: none) */
    uint32_t start; /* ring position of the oldest kept time */
    uint32_t len;   /* kept times, all in the window after expiry */
    uint32_t t[];   /* k offsets from base, sorted from `start` on */
} count_state;

/* The level at `now`. */
struct count_level {
    uint64_t value; /* see the file comment */
    int exact;      /* 1: value is the exact count in the window */
    int above;      /* count > threshold: the fire condition */
    int clear;      /* count <= clear_threshold: the clear condition */
};

/* Fill *s for a window of window_ms (1 .. COUNT_MAX_WINDOW_MS), a
 * threshold (0 .. COUNT_MAX_THRESHOLD) and a clear threshold (0 ..
 * threshold; NaN: the threshold).  Returns COUNT_OK or COUNT_EINVAL. */
int count_spec_init(count_spec *s, int64_t window_ms, double threshold,
                    double clear_threshold);

/* Make `st` (s->size bytes, 8-byte aligned) the state of a new group. */
void count_reset(const count_spec *s, count_state *st);

/* Count one event at t_ms, the newest event time being now_ms.  Returns
 * COUNT_OK, or COUNT_LATE when t_ms <= now_ms - window (nothing counted). */
int count_add(const count_spec *s, count_state *st, int64_t now_ms,
              int64_t t_ms);

/* The level at now_ms (expires what left the window first). */
void count_level(const count_spec *s, count_state *st, int64_t now_ms,
                 struct count_level *out);

/* With no further event, the earliest now at which the group is clear:
 * the newest now seen when it already is (INT64_MIN before any event).
 * Bucketed mode: the next time the bucketed count decreases (a time to
 * look again), INT64_MAX when it is empty.  O(K) at most. */
int64_t count_clear_time(const count_spec *s, count_state *st);

/* count_clear_time() for a clear threshold of its own: the group is clear
 * at or under clear_max events (a group whose threshold an override
 * lowered; clear_max < the spec's fire_at). */
int64_t count_clear_time_at(const count_spec *s, count_state *st,
                            uint64_t clear_max);

#endif
