/*
 * engine.h - the detector engine: feeds decoded events to the enabled
 * detectors, keeps the event-time clock, drops duplicate record ids, and
 * owns every alert's lifecycle (fire, repeat, hold, resolve).
 *
 * Clock (SPEC section 2).  `now` is the newest event time seen or, in live
 * mode (wall_ms > 0), the wall clock less allowed_lateness_s when that is
 * later; it never goes back.  An event stamped more than max_future_skew_s
 * past the wall clock is clamped to the wall clock (live mode only: replay
 * has no wall clock and trusts the recording).  An event with no parseable
 * timestamp takes `now`; before the clock is known (replay, first events)
 * it is skipped and counted as untimed.  An event older than a detector's
 * window is late for that detector: ignored there, counted.
 *
 * Timers.  Everything that happens with no event (a window emptying, an
 * alert's repeat, the end of a hold, a stall) is a deadline on a pinned
 * group; when `now` moves past deadlines, they run in time order, each at
 * its own event time, so replay output does not depend on how far apart
 * events are, and is byte-identical run to run.
 *
 * Lifecycle per (detector, group): IDLE -> FIRING when the detector says
 * ABOVE (alert.firing, episode id = hash of detector, key, start time);
 * FIRING re-sends alert.firing every repeat_interval_s while the condition
 * holds; FIRING -> CLEARING when it says CLEAR (value <= clear_threshold,
 * or no per-call violation for window_s); CLEARING -> FIRING, silently, if
 * the condition returns within hold_s; else after hold_s alert.resolved,
 * with resolved_at = the time it cleared.  Groups with an open alert are
 * pinned: never evicted.
 *
 * Hot path: det_engine_feed() allocates nothing, reads no clock and logs
 * nothing.  One thread owns an engine.
 */
#ifndef TW_ENGINE_H
#define TW_ENGINE_H

#include "model/alert.h"
#include "model/event.h"
#include "detectors/detector.h"

#include <stddef.h>
#include <stdint.h>

typedef struct det_engine det_engine;

struct det_engine_callbacks {
    /* One notification.  `a` and all it points to are valid only during
     * the call; the callback must not call into the engine. */
    void (*on_alert)(void *ud, const struct alert *a);
};

/* det_engine_feed() results (all >= 0). */
enum det_feed_result {
    DET_FEED_COUNTED = 0,   /* the detectors saw it */
    DET_FEED_DUPLICATE = 1, /* record_id seen recently: ignored */
    DET_FEED_UNTIMED = 2    /* no timestamp and no clock yet: ignored */
};

struct det_engine_stats {
    uint64_t events;         /* fed */
    uint64_t counted;        /* handed to the detectors */
    uint64_t duplicates;
    uint64_t untimed;
    uint64_t no_timestamp;   /* took `now` */
    uint64_t future_clamped;
    uint64_t late;           /* late for at least one detector */
    uint64_t notifications;  /* alerts sent, all kinds */
    uint64_t timer_runs;     /* passes over the pinned groups */
};

/* Create an engine for config `c` (copied), alerts signed with `source`
 * (copied; the instance name).  Allocates every table now.  Returns NULL on
 * failure (out of memory or a config det_config_check() refuses). */
det_engine *det_engine_create(const struct det_config *c, const char *source,
                              const struct det_engine_callbacks *cb,
                              void *ud);

/* Free everything.  Accepts NULL. */
void det_engine_destroy(det_engine *e);

/* One decoded event.  wall_ms: the wall clock in live mode, 0 in replay
 * (pure event time).  Alerts due are delivered through on_alert before it
 * returns.  Returns an enum det_feed_result. */
int det_engine_feed(det_engine *e, const struct event *ev, int64_t wall_ms);

/* A hint, no effect on results: `id` (n bytes, not NUL-terminated) is
 * probably the record_id of the next event to be fed.  Hashes it and
 * starts loading its entry of the duplicate filter (megabytes read at
 * random: each lookup misses the cache), so that the load overlaps the
 * caller's JSON parse.  The next det_engine_feed() reuses the hash when
 * the decoded record_id is these bytes.  Call with the raw bytes before
 * event_decode() (see event_peek_record_id). */
void det_engine_prefetch(det_engine *e, const char *id, size_t n);

/* Let time pass with no event (live mode, about once a second): the clock
 * moves to wall_ms - allowed_lateness_s if that is later, and timers due
 * run.  wall_ms <= 0 does nothing. */
void det_engine_tick(det_engine *e, int64_t wall_ms);

/* The audit stream connected (connected 1) or lost its connection (0) at
 * wall_ms (stream_stalled's input).  Ticks the clock to wall_ms first
 * (det_engine_tick). */
void det_engine_connection(det_engine *e, int connected, int64_t wall_ms);

/* End of input (replay --drain): let event time run on as if the stream
 * had gone quiet, without stream_stalled, until every open alert of the
 * other detectors has resolved (each at the event time it resolves). */
void det_engine_drain(det_engine *e);

/* Configuration reload: carry over from `old` into the new engine `e`
 * the event-time clock, the recent record ids (when dedupe_window is
 * unchanged) and every detector whose settings (and max_keys) are
 * unchanged, with its groups, windows and open alerts, which go on as the
 * same episodes.  Open alerts of detectors whose settings changed are
 * resolved through old's callback, saying why, so no receiver is left
 * with an incident that never closes.  Call before feeding `e`; then
 * destroy `old`.  Returns the number of detectors carried over. */
int det_engine_adopt(det_engine *e, det_engine *old);

/* The event-time clock, INT64_MIN before it is known. */
int64_t det_engine_now(const det_engine *e);

const struct det_engine_stats *det_engine_stats(const det_engine *e);

/* One detector's counters and group table (NULL when disabled). */
const struct det_stats *det_engine_det_stats(const det_engine *e,
                                             enum det_id id);

struct det_group_info {
    uint32_t groups;      /* in the table */
    uint32_t alerting;    /* pinned (open alerts; stream_stalled's timer) */
    uint64_t evictions;
    uint64_t full;        /* events not tracked: every group alerting */
};
int det_engine_groups(const det_engine *e, enum det_id id,
                      struct det_group_info *out);

/* Resident bytes per group of a detector under config c: the slot, its
 * hash bucket share and the ring.  *alert_bytes (may be NULL) receives the
 * extra bytes of a group that has alerted at least once. */
size_t det_group_bytes(const struct det_config *c, enum det_id id,
                       size_t *alert_bytes);

/* Is detector `id` enabled, and does group `key` have an open alert? */
int det_engine_is_firing(const det_engine *e, enum det_id id,
                         const char *key);

#endif
