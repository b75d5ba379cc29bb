/*
 * count.h - the per-group state of the `count` rule kind: matching events
 * in the sliding window against a threshold, decided exactly.
 *
 * SPEC §2: a group fires when the events in (now - window, now] number
 * more than `threshold` (strict) and clears when they number at most
 * `clear_threshold` (<= threshold).  With T = threshold, C = the clear
 * threshold, "count > T" is "count >= floor(T) + 1" and "count <= C" is
 * "count <= floor(C)", so the state keeps at most the K = floor(T) + 1
 * newest event times (largest times, whatever the arrival order) that are
 * still in the window: fewer than K kept times is the exact count; K kept
 * times means the count is at least K, so above T and not at or under C.
 * Both decisions are exact to the millisecond.
 *
 * Kept times on demand.  A group's head (count_state, 32 bytes) is in the
 * rule's slab; its kept times are 32-bit offsets, COUNT_PER_CHUNK (14) to
 * a 64-byte chunk of the rule's time pool (chunks.h), in a chain linked
 * both ways, oldest first.  A chunk is taken when the times need one more
 * and given back as soon as the times in it have all left the window, or
 * when the group is reset (the engine resets an evicted group's slot
 * before its next group uses it; a muted group, never reset, leaves its
 * slot's chunks where they are until then).  So a slot holds the chunks
 * of the times its group kept at its last event or look, never more than
 * K of them.
 * The pool is reserved once (MAP_NORESERVE) for every group at that bound,
 * so it never runs out; what is resident is the most chunks in use at
 * once.
 *
 * `value` (struct count_level) is what the alert reports:
 *   - exact mode, fewer than K times kept: the exact count (exact = 1);
 *   - exact mode, K times kept: max(K, bucketed count) (exact = 0), a lower
 *     bound of the true count, short of it by at most the events of the
 *     oldest 1/60 of the window;
 *   - bucketed mode (below): the bucketed count (exact = 0).
 * The bucketed count is what a win_ring (window.h) of at most 60 buckets
 * of B = window / buckets ms, fed every event, would hold: it counts an
 * event for (W - B, W] of its life, never longer than the window, so it
 * never exceeds the exact count.  A group holds such a ring (from the
 * rule's ring pool, one per group at most) only while it needs one: in
 * exact mode from its first event past K kept times, the ring then
 * starting with the kept times (every event of the window: none has been
 * dropped before), until the ring is empty again (every event it counted
 * has left the window at bucket precision; the events not kept are older
 * than the kept ones, so they have left too).  The value is the same
 * number as with a ring kept all along; only groups above their threshold
 * in the last window pay for one.
 *
 * Bucketed mode: when K would exceed COUNT_EXACT_MAX (T >= 100000) no
 * times are kept; firing and clearing are then decided on the bucketed
 * count (an event stops counting up to one bucket early), the ring held
 * from the group's first event until it is empty, and count_clear_time()
 * is the next time that count decreases.
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
 * in order; the first event past K kept times costs O(K) to start the
 * ring.  Reading the level is O(1) amortised; the clear time O(K / 14).
 * Nothing allocates after count_spec_init(), reads a clock or does I/O;
 * a state holds chunk numbers, no pointers.
 *
 * Memory per group (x86-64), with n = the times kept (at most K, the
 * events of the window at its last event or look):
 *     32 (count_state, in the rule's slab)
 *   + 64 * chunks, chunks = ceil((n + s) / 14) with s < 14 the slots
 *     already spent in the oldest chunk (0 when n = 0; at most
 *     ceil((K + 13) / 14))
 *   + 24 + 4 * buckets (<= 264), only while it has a ring (above)
 *
 *   events in the window   threshold     bytes
 *   0                      any           32
 *   1 .. 14                any           96 or 160
 *   20                     any           160 or 224
 *   101 and more           100, 60 s     32 + 9 * 64 + 264 = 872 (at most)
 *   K and more             K - 1         32 + 64 * ceil((K + 13) / 14) + 264
 *   any                    >= 100000     32 + 264 while it has events
 *
 * The rule's pools reserve (address space, not memory) groups * that
 * bound: groups * 64 * ceil((K + 13) / 14) + groups * (24 + 4 * buckets).
 */
#ifndef TW_COUNT_H
#define TW_COUNT_H

#include "base/buf.h"
#include "detectors/chunks.h"
#include "detectors/window.h"

#include <stddef.h>
#include <stdint.h>

#define COUNT_EXACT_MAX 100000u
#define COUNT_MAX_WINDOW_MS 2147483647LL /* 2^31 - 1 ms, 24.8 days */
#define COUNT_MAX_THRESHOLD 1e15
#define COUNT_PER_CHUNK 14 /* kept times of a 64-byte chunk */

enum {
    COUNT_OK = 0,
    COUNT_LATE = 1,
    COUNT_EINVAL = -1,
    COUNT_ENOMEM = -2
};

/* A rule's parameters and pools, shared by all its groups.  The
 * parameters are read-only after count_spec_init(); the pools change as
 * groups take and give back chunks.  Fields private except `size`. */
typedef struct count_spec {
    int64_t window_ms;
    uint64_t fire_at;   /* floor(threshold) + 1: above at this count */
    uint64_t clear_max; /* floor(clear_threshold): clear at or under */
    uint32_t k;         /* times kept per group (0: bucketed mode) */
    size_t size;        /* bytes of one group's state (count_state) */
    win_spec win;       /* the bucket ring's shape */
    chunks_pool times;  /* kept times, COUNT_PER_CHUNK to a chunk */
    chunks_pool rings;  /* bucket rings, one per group at most */
} count_spec;

/* One group's state (count.c for its invariants).  All fields private. */
typedef struct count_state {
    int64_t base;   /* time of offset 0 */
    int64_t now;    /* newest now seen (INT64_MIN: none) */
    chunks_chain t; /* kept offsets from base, ascending, oldest first */
    uint32_t ring;  /* its bucket ring in the ring pool (0: none) */
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
 * threshold; NaN: the threshold), and reserve the pools of `groups`
 * (>= 1) groups at their bound.  Returns COUNT_OK, COUNT_EINVAL, or
 * COUNT_ENOMEM (the pools cannot be reserved: more than 2^32 - 2 chunks,
 * or no address space); on failure nothing is left to free. */
int count_spec_init(count_spec *s, int64_t window_ms, double threshold,
                    double clear_threshold, uint32_t groups);

/* Give the pools back.  Accepts a zeroed spec. */
void count_spec_fini(count_spec *s);

/* Make `st` the state of a new group: `st` is zeroed memory or a state of
 * this spec (its chunks go back to the pools first). */
void count_reset(count_spec *s, count_state *st);

/* Count one event at t_ms, the newest event time being now_ms.  Returns
 * COUNT_OK, COUNT_LATE when t_ms <= now_ms - window (nothing counted), or
 * COUNT_ENOMEM when a pool was out of chunks (cannot happen: the pools
 * hold every group at its bound; the event is then counted in what the
 * group could keep). */
int count_add(count_spec *s, count_state *st, int64_t now_ms, int64_t t_ms);

/* The level at now_ms (expires what left the window first). */
void count_level(count_spec *s, count_state *st, int64_t now_ms,
                 struct count_level *out);

/* With no further event, the earliest now at which the group is clear:
 * the newest now seen when it already is (INT64_MIN before any event).
 * Bucketed mode: the next time the bucketed count decreases (a time to
 * look again), INT64_MAX when it is empty.  O(K / 14) at most. */
int64_t count_clear_time(count_spec *s, count_state *st);

/* count_clear_time() for a clear threshold of its own: the group is clear
 * at or under clear_max events (a group whose threshold an override
 * lowered; clear_max < the spec's fire_at). */
int64_t count_clear_time_at(count_spec *s, count_state *st,
                            uint64_t clear_max);

/* Checkpoint bytes of a group (version 1, little-endian; window.h's
 * win_put):
 *   u8  1
 *   u8  flags: 1 = a bucket ring follows
 *   i64 now (INT64_MIN: no event yet; then nothing is kept, flags 0)
 *   u32 n, the kept times (<= K; 0 in bucketed mode)
 *   n > 0: i64 the oldest kept time, then n - 1 u32: each next kept time
 *     less the one before (sorted: in (now - window, now])
 *   ring: its N u32 counters, oldest bucket first, the newest being now's
 * count_save_bytes() is the most count_save() appends.  count_save()
 * returns 0, or -1 when `out` is full. */
size_t count_save_bytes(const count_spec *s);
int count_save(const count_spec *s, const count_state *st, buf *out);

/* Read back n bytes that count_save() wrote (hostile: from disk) into
 * `st`, a state of this spec, replacing what it held.  Every field is
 * checked: a version or flag unknown, more times than K, times unsorted,
 * outside (now - window, now] or |now| > WIN_TIME_MAX, a truncation or
 * bytes left over are refused.  Returns 0, or -1 (st then empty). */
int count_load(count_spec *s, count_state *st, const unsigned char *p,
               size_t n);

#endif
