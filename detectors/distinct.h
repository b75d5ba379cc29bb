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
 * Memory.  The remembered values live in the rule's shared pool
 * (valpool.h), one entry per value a group remembers; a group's own state
 * is a 32-byte header:
 *
 *   per group       32 + 36 * v bytes, v = the values it remembers (<= K
 *                   and <= the distinct values in the window): the
 *                   header, and per value a pool entry (32) and about one
 *                   hash bucket (4)
 *   per rule        reserved once (virtual, MAP_NORESERVE, resident only
 *                   as used): 32 * max_keys * K + 4 * the power of two >=
 *                   that
 *
 *   threshold   K        a full group   reserved at 10,000 groups
 *   0           1        68             0.4 MB
 *   10          11       428            4.0 MB
 *   20          21       788            7.8 MB
 *   100         101      3 668          36.5 MB
 *   1000        1001     36 068         387 MB
 *
 * A group's entries go back to the pool as values leave the window, and
 * all of them when its slot next holds a group (distinct_reset), which
 * eviction does at once.
 *
 * Checkpoint (distinct_save / distinct_load): a group's record is
 * valpool.h's, tag DISTINCT_REC, field now, then each remembered value
 * with its last-seen time, least recently seen first.
 */
#ifndef TW_DISTINCT_H
#define TW_DISTINCT_H

#include "base/buf.h"
#include "detectors/valpool.h"

#include <stddef.h>
#include <stdint.h>

#define DISTINCT_KEPT_MAX 100000u
#define DISTINCT_MAX_WINDOW_MS 2147483647LL /* 2^31 - 1 ms, 24.8 days */

enum { DISTINCT_OK = 0, DISTINCT_LATE = 1, DISTINCT_EINVAL = -1 };

/* Checkpoint record tag (format version 1). */
enum { DISTINCT_REC = 0x21 };

/* A rule's parameters, shared by its groups; read-only after
 * distinct_spec_init().  Fields private except `size`. */
typedef struct distinct_spec {
    int64_t window_ms;
    uint32_t fire_at;   /* K = floor(threshold) + 1: above at K values */
    uint32_t clear_max; /* floor(clear_threshold): clear at or under */
    size_t size;        /* bytes of one group's state */
} distinct_spec;

/* One group's state: distinct_spec.size bytes, 8-byte aligned, in memory
 * that is zero or last written by this module.  Fields private. */
typedef struct distinct_state {
    int64_t base;      /* time of key 0 */
    int64_t now;       /* newest now seen (INT64_MIN: none) */
    valpool_group set; /* key: last seen - base */
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

/* The rule's pool for max_keys groups: valpool_create(max_keys, K).
 * NULL when out of memory or range. */
valpool *distinct_pool(const distinct_spec *s, uint32_t max_keys);

/* Make `st` the state of a new group, its values (if any) back to pool
 * p. */
void distinct_reset(valpool *p, distinct_state *st);

/* Group `gid` (state st, values in p) saw the value with hash h at t_ms,
 * the newest event time being now_ms.  Returns DISTINCT_OK, or
 * DISTINCT_LATE when t_ms <= now_ms - window (nothing counted).  Every
 * function below takes the group's pool the same way. */
int distinct_add(const distinct_spec *s, valpool *p, uint32_t gid,
                 distinct_state *st, int64_t now_ms, int64_t t_ms,
                 const uint64_t h[2]);

/* The level at now_ms (forgets what left the window first). */
void distinct_level(const distinct_spec *s, valpool *p, distinct_state *st,
                    int64_t now_ms, struct distinct_level *out);

/* The remembered values in the window at now_ms, most recently seen
 * first: up to `max` hashes into out[i][0..1] and, when `last_seen` is not
 * NULL, when each was last seen.  Returns how many were written. */
size_t distinct_values(const distinct_spec *s, valpool *p, uint32_t gid,
                       distinct_state *st, int64_t now_ms, uint64_t (*out)[2],
                       int64_t *last_seen, size_t max);

/* With no further event, the earliest now at which the group is clear:
 * the newest now seen when it already is (INT64_MIN before any event).
 * O(remembered values). */
int64_t distinct_clear_time(const distinct_spec *s, valpool *p,
                            distinct_state *st);

/* distinct_clear_time() for a clear threshold of its own: the group is
 * clear at or under clear_max values (clear_max < the spec's fire_at). */
int64_t distinct_clear_time_at(const distinct_spec *s, valpool *p,
                               distinct_state *st, uint32_t clear_max);

/* Append group gid's record to out.  Returns 0, or -1 when out is full
 * (out as it was). */
int distinct_save(const valpool *p, uint32_t gid, const distinct_state *st,
                  buf *out);

/* Load a record that distinct_save wrote (n bytes, from disk: hostile)
 * into group gid, just reset: now none (then no values) or in [0,
 * CLOCK_MS_MAX], at most K values, each last seen in (now - window, now],
 * in non-decreasing order, no hash twice.  Returns 0, or -1 with the
 * group as it was (a group not reset is refused). */
int distinct_load(const distinct_spec *s, valpool *p, uint32_t gid,
                  distinct_state *st, const unsigned char *in, size_t n);

/* The most bytes distinct_save appends for one group. */
size_t distinct_checkpoint_bytes(const distinct_spec *s);

#endif
