/*
 * engine.h - the rule engine: feeds decoded events to the rules of a
 * compiled rule set (rule.h), keeps the event-time clock, drops duplicate
 * record ids, and owns every alert's lifecycle (fire, repeat, hold,
 * resolve).  Each rule runs as an instance of its kind (kind.h).
 *
 * Clock (SPEC section 2; docs/detectors.md "Time").  Two clocks, in
 * event time, never going back:
 *   - the event clock, `now` (det_engine_now()), which every rule but the
 *     stream's own absence runs on: the newest credible event time;
 *   - the stream clock, which the absence rules over [] that see every
 *     event (stream_stalled) run on: how long no event has arrived.
 * In replay (wall_ms 0 everywhere) both are the newest event time.  Live
 * (a wall clock given), the stream clock is the wall clock less the
 * stream's observed lag (lag.h: wall clock minus the newest event time,
 * the smallest of the last 30 s of samples, held while quiet; 0 before
 * any), so events that arrive late still arrive, and the stall fires
 * only when they stop.  Events drive the event clock; the wall clock
 * moves it on only while the stream is quiet (no event for a second), to
 * the stream clock less allowed_lateness_s, never past that.  So a
 * source that lags 10 minutes is judged in its own time, and a quiet
 * stream's windows still empty.
 *   - Late records and absence.  The absence rules on the event clock
 *     fire allowed_lateness_s after a group's deadline while events drive
 *     the clock (a record that late, stamped before the deadline, keeps
 *     the group quiet; one stamped after it fires and clears it at once,
 *     the episode starting at the deadline); once the wall has moved the
 *     clock past the newest event, to a time by which late records have
 *     come, they wait no more (engine.c absence_wait, absence.c); nor
 *     once the input has ended (replay: det_engine_input_end).
 *   - Catching up.  After det_engine_connection(e, 1, ...) the wall
 *     does not move the event clock until the first event (the backlog,
 *     if any, which is then judged in event time as replay judges it: the
 *     lag samples of the connection before are forgotten, and the
 *     backlog's shrink as it drains) or until 10 s passed with none (live
 *     from there).  The event clock never starts from the wall, only with
 *     an event.  A new engine is connected and caught up; a live caller
 *     says otherwise (det_engine_connection(e, 0, wall) before the stream
 *     connects: the service's own downtime is then no stall, and its
 *     backlog is judged in event time).  A gap inside a backlog is no
 *     stall live (its events did arrive); replay judges it in event
 *     time.
 *   - Unknown, not clear.  While the stream is disconnected, or stalled
 *     (a rule on the stream clock firing), the event clock stands still:
 *     window rules neither resolve nor fire and absence rules by group do
 *     not fire; only the stream clock follows the wall (so the stall
 *     fires, repeats, and says the stream is disconnected).  The event
 *     clock's next move jumps: the kinds may discount the gap (absence:
 *     a group's silence does not count it), and each timer it passed runs
 *     once, at the new time.
 *   - Skew.  An event stamped more than max_future_skew_s past the wall
 *     clock is clamped (future_clamped).  An event stamped ahead of the
 *     stream's own time (its newest credible event time, or live the
 *     lag-adjusted wall clock when later) by more than a tolerance (live:
 *     allowed_lateness_s, at least 10 s; replay, where a quiet night is a
 *     gap in event time: max_future_skew_s, at least 10 s) is an outlier:
 *     clamped, counted (outliers), not trusted, unless it is the 4th of
 *     consecutive such events in step with each other: the stream itself
 *     moved (clock_jumps), its time is trusted from there (lag.h).
 *     Before the stream has a time (the first event of a new engine) only
 *     max_future_skew_s applies.  A clamped event counts at `now`.
 * An event with no parseable timestamp takes `now` (live: the time it
 * arrived, the stream clock less allowed_lateness_s, when later); in
 * replay, before the event clock is known, it is skipped and counted as
 * untimed (so is a clamped event before the event clock is known).  An event older than a rule's window is late for that rule:
 * ignored there, counted.
 *
 * Matching.  At create the engine builds, for each event type, the list of
 * rules whose prefilter (rule.types) admits it; an event reaches only the
 * rules of its type's list, which evaluate match / exclude (match_seen).
 * The group_by values of an event are hashed once per distinct group_by
 * field list.  Nothing is allocated per event.
 *
 * Groups (SPEC "group_by", "overrides").  A group's key is its group_by
 * values (a missing field: the empty value, shown "(none)") joined by "/";
 * [] is the one group "global".  Overrides are tried in order when a group
 * is created; the first that matches its values sets its threshold or
 * mutes it.  A rule keeps at most max_keys groups (its own or the
 * engine-wide setting); past that the least recently seen group with no
 * open alert is evicted and counted.
 *
 * Overflow.  When every one of those groups has an open alert (a hostile
 * stream can make that happen), an event of a new group is not dropped:
 * it goes to the rule's overflow group, one per rule besides max_keys
 * (keys.h), judged like any group with the rule's threshold, whose alert
 * shows every group value and its key as "(overflow)" and says how many
 * events it took; and the rule's capacity warning fires: a notification
 * of its own rule-like name "rule_capacity", kind "capacity", group
 * {"rule": the rule's name}, severity warning, the rule's labels, one
 * episode while the rule is full, resolved once it has room again (a
 * group's alert resolved).  Counted: det_rule_info.full (events of new
 * groups not tracked in a group of their own), .overflow, .at_capacity.
 * Absence and new_value rules, whose groups mean something alone (a
 * group's silence, a group's first-seen values), run no overflow group:
 * their events of new groups are only counted, with the warning.  Both
 * are kept by checkpoints and reloads.
 *
 * Timers.  Everything that happens with no event (a window emptying, an
 * alert's repeat, the end of a hold, an absence) is a deadline on a
 * group; when `now` moves past deadlines, they run in time order, each at
 * its own event time, so replay output does not depend on how far apart
 * events are, and is byte-identical run to run.
 *
 * Lifecycle per (rule, group): IDLE -> FIRING when the kind says ABOVE
 * (alert.firing, episode id = hash of rule name, group values, start
 * time); FIRING re-sends alert.firing every repeat_interval_s while the
 * condition holds; FIRING -> CLEARING when it says CLEAR; CLEARING ->
 * FIRING, silently, when the fire condition (ABOVE, not merely BETWEEN)
 * returns within hold_s: one episode; else after hold_s alert.resolved,
 * with resolved_at = the time it cleared.  Groups with an open alert are
 * pinned: never evicted.
 *
 * Hot path: det_engine_feed() allocates nothing, reads no clock and logs
 * nothing.  One thread owns an engine.
 */
#ifndef TW_ENGINE_H
#define TW_ENGINE_H

#include "base/buf.h"
#include "base/table.h"
#include "detectors/checkpoint.h"
#include "detectors/rule.h"
#include "model/alert.h"
#include "model/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct det_engine det_engine;

/* Engine-wide settings (the scalar members of the "detectors" object); a
 * rule may set its own hold_s, repeat_interval_s and max_keys. */
struct det_engine_params {
    int64_t allowed_lateness_s;
    int64_t max_future_skew_s;
    int64_t dedupe_window;
    int64_t max_keys;
    int64_t repeat_interval_s;
    int64_t hold_s;
    int64_t checkpoint_s;      /* run: how often the state is written */
    int64_t checkpoint_max_mb; /* run: the checkpoint file's cap */
};

/* Their table (offsets into struct det_engine_params), with the defaults
 * and ranges, written only there. */
extern const struct table_item det_engine_items[];
extern const size_t det_engine_nitems;
void det_engine_params_defaults(struct det_engine_params *p);

struct det_engine_callbacks {
    /* One notification.  `a` and all it points to are valid only during
     * the call; the callback must not call into the engine. */
    void (*on_alert)(void *ud, const struct alert *a);
};

/* det_engine_feed() results (all >= 0). */
enum det_feed_result {
    DET_FEED_COUNTED = 0,   /* the rules saw it */
    DET_FEED_DUPLICATE = 1, /* record_id seen recently: ignored */
    DET_FEED_UNTIMED = 2    /* no timestamp and no clock yet: ignored */
};

struct det_engine_stats {
    uint64_t events;         /* fed */
    uint64_t counted;        /* handed to the rules */
    uint64_t duplicates;
    uint64_t untimed;
    uint64_t no_timestamp;   /* took `now` */
    uint64_t future_clamped; /* past the wall clock + max_future_skew_s */
    uint64_t outliers;       /* clamped: ahead of the stream's own time */
    uint64_t clock_jumps;    /* runs of outliers taken as the stream's
                                time moving ahead */
    uint64_t late;           /* late for at least one rule */
    uint64_t notifications;  /* alerts sent, all kinds */
    uint64_t timer_runs;     /* passes over the pinned groups */
};

/* Create an engine for settings `p` (copied) running `rules` (borrowed:
 * the set must outlive the engine; NULL: the default rules, compiled and
 * owned by the engine), alerts signed with `source` (copied; the instance
 * name).  Allocates every table now.  Returns NULL on failure (out of
 * memory, or a rule its kind cannot run). */
det_engine *det_engine_create(const struct det_engine_params *p,
                              const struct rule_set *rules,
                              const char *source,
                              const struct det_engine_callbacks *cb,
                              void *ud);

/* Free everything.  Accepts NULL. */
void det_engine_destroy(det_engine *e);

/* Can an engine for settings p run each rule of `rules`?  A kind reserves,
 * when its rule is set up, the address space of max_keys groups at their
 * most (kept times, values: kind.h), so a rule whose groups could hold
 * more than a pool can address cannot start.  Sets each rule up alone
 * and takes it down again (address space only, nothing resident).
 * Returns 0, or -1 with "rules[i] (name): ..." in err. */
int det_engine_check(const struct det_engine_params *p,
                     const struct rule_set *rules, char *err, size_t errsz);

/* One decoded event.  wall_ms: the wall clock when it was received in
 * live mode, 0 in replay (pure event time); see "Clock" above.  Alerts
 * due are delivered through on_alert before it returns.  Returns an enum
 * det_feed_result. */
int det_engine_feed(det_engine *e, const struct event *ev, int64_t wall_ms);

/* A hint, no effect on results: `id` (n bytes, not NUL-terminated) is
 * probably the record_id of the next event to be fed.  Hashes it and
 * starts loading its entry of the duplicate filter (megabytes read at
 * random: each lookup misses the cache), so that the load overlaps the
 * caller's JSON parse.  The next det_engine_feed() reuses the hash when
 * the decoded record_id is these bytes.  Call with the raw bytes before
 * event_decode() (see event_peek_record_id). */
void det_engine_prefetch(det_engine *e, const char *id, size_t n);

/* Let time pass with no event (live mode, about once a second): the lag
 * estimate forgets samples older than its window, the clocks follow the
 * wall clock as "Clock" says, and timers due run.  wall_ms <= 0 does
 * nothing. */
void det_engine_tick(det_engine *e, int64_t wall_ms);

/* The audit stream connected (connected 1: catching up, see "Clock") or
 * lost its connection (0: the event clock stands still) at wall_ms (> 0).
 * Ticks to wall_ms in the state before (not for an engine that was never
 * given a wall clock), then in the new one.  The rules' connection ops
 * hear it (stream_stalled's words). */
void det_engine_connection(det_engine *e, int connected, int64_t wall_ms);

/* End of input (replay, with or without --drain; before
 * det_engine_drain): no record is to come, late or not, so the absence
 * rules on the event clock wait no more for late records: a group whose
 * deadline has passed fires now (from its deadline), as it would have
 * once allowed_lateness_s more of the stream had come. */
void det_engine_input_end(det_engine *e);

/* End of input (replay --drain): let event time run on as if the stream
 * had gone quiet, without the absence rules (the end of input is not an
 * absence), until every open alert of the other rules has resolved (each
 * at the event time it resolves); then the absence rules' open alerts
 * resolve (at the time their condition cleared, if it did): every open
 * alert is resolved. */
void det_engine_drain(det_engine *e);

/* Configuration reload: carry over from `old` into the new engine `e`
 * both clocks and all they know (lag, connection, catching up), the
 * recent record ids (when dedupe_window is
 * unchanged) and every rule whose definition (its dump) and max_keys are
 * unchanged, with its groups, state and open alerts, which go on as the
 * same episodes under the new hold_s and repeat_interval_s.  Open alerts
 * of rules that changed or are gone are resolved through old's callback,
 * saying why, so no receiver is left with an incident that never closes.
 * Call before feeding `e`; then destroy `old`.  Returns the number of
 * rules carried over. */
int det_engine_adopt(det_engine *e, det_engine *old);

/* The event-time clock, INT64_MIN before it is known. */
int64_t det_engine_now(const det_engine *e);

/* What the clock knows ("Clock" above). */
struct det_clock_info {
    int64_t now_ms;    /* the event clock, INT64_MIN before it is known */
    int64_t stream_ms; /* the stream clock, INT64_MIN likewise */
    int64_t newest_ms; /* newest credible event time, INT64_MIN: none */
    int64_t lag_ms;    /* the stream's observed lag (0 when not known) */
    int lag_known;     /* lag_ms is an estimate (live, an event seen) */
    int live;          /* a wall clock was given */
    int connected;     /* the stream is connected (as last told) */
    int catching_up;   /* (re)connected, waiting for the backlog */
    int stalled;       /* a rule on the stream clock is firing */
    int unknown;       /* live, and disconnected or stalled: the rules on
                          the event clock are not judged */
};

void det_engine_clock(const det_engine *e, struct det_clock_info *out);

const struct det_engine_stats *det_engine_stats(const det_engine *e);

/* The rules, in the set's order. */
uint32_t det_engine_nrules(const det_engine *e);

struct det_rule_info {
    const char *name;     /* valid while the engine lives */
    const char *kind;
    uint32_t groups;      /* in the table */
    uint32_t open;        /* groups with an open episode */
    uint64_t counted, late, fired, repeated, resolved;
    uint64_t evicted;     /* groups evicted to make room */
    uint64_t full;        /* events of new groups not tracked in a group
                             of their own: every group alerting (the
                             overflow group took them, when the kind
                             runs one) */
    uint64_t overflow;    /* events the overflow group took since it was
                             made (0: none now) */
    int at_capacity;      /* its rule_capacity warning is open */
    int unknown;          /* not judged now: on the event clock while it
                             stands still (det_clock_info.unknown) */
    size_t group_bytes;   /* resident bytes of a group (slot, bucket,
                             state, threshold): the fixed part; count,
                             sum, ratio, distinct and new_value add the
                             times, buckets or values a group holds, from
                             their rule's pool */
    size_t alert_bytes;   /* more for a group that has alerted */
};

/* Rule i's counters and sizes.  Returns 0, or -1 when i is out of range
 * (*out zeroed). */
int det_engine_rule_info(const det_engine *e, uint32_t i,
                         struct det_rule_info *out);

/* Does rule `rule` have an open episode for group key `key`? */
int det_engine_is_firing(const det_engine *e, const char *rule,
                         const char *key);

/* Every open episode, as a notification of it would read now (resolved
 * 0): `fn` gets each (valid during the call only; it must not call into
 * the engine).  For what a restart shows before the episode's next
 * notification (/status after det_engine_restore). */
void det_engine_foreach_open(det_engine *e,
                             void (*fn)(void *ud, const struct alert *a),
                             void *ud);

/* ---- checkpoint (SPEC section 4 "State"; detectors/checkpoint.h) ---- */

/* The number of the engine's last notification (struct alert.seq; 0:
 * none).  Numbers go on from a restored checkpoint and across a reload
 * (det_engine_adopt). */
uint64_t det_engine_seq(const det_engine *e);

/* Start-up of an engine that restored nothing: number its notifications
 * from seq + 1 when seq is higher than its own (the newest number a
 * journal recorded), so that numbers never go back across restarts. */
void det_engine_set_seq(det_engine *e, uint64_t seq);

/* Append the engine's detection state to `out` as a checkpoint file
 * image (checkpoint.h), for the stream position `position` (len bytes:
 * the last event ID in force; every event up to it has been fed, and no
 * later one), written at wall clock wall_ms (recorded, informational).
 * Bounded by out's cap.  Between events only: not from a callback.
 * Returns CKPT_OK, CKPT_ETOOBIG (the state does not fit the cap: out then
 * holds a partial image, to be reset) or CKPT_EINVAL (a position longer
 * than CKPT_POSITION_MAX).  Nothing in the engine changes. */
int det_engine_checkpoint(det_engine *e, const char *position, size_t len,
                          int64_t wall_ms, buf *out);

/* What det_engine_restore() found and took. */
struct det_restore_info {
    struct ckpt_info ck;    /* the checkpoint's instance, stream position,
                               clock, last notification number */
    uint32_t rules_kept;    /* rules of e that took their state from it */
    uint32_t rules_new;     /* rules of e it did not hold: start fresh */
    uint32_t rules_dropped; /* rules it held that e does not run as they
                               were (changed or removed): dropped */
    uint64_t groups;        /* groups restored */
    uint64_t episodes;      /* open episodes among them */
    uint64_t groups_reset;  /* groups whose kind state its load refused:
                               kept with fresh state */
    uint64_t dedupe_ids;    /* recent record ids restored */
};

/* Restore a checkpoint image (p, n bytes, from disk: hostile) into `e`, an
 * engine just created (not fed, ticked, adopted or restored): the
 * event-time clock, the notification number, the hash key and recent
 * record ids, and the state of every rule whose fingerprint it holds
 * (rule_fingerprint in engine.c: the same notion as det_engine_adopt's),
 * with their groups and open episodes, which go on as the same episodes
 * (same ids, no new firing; each resolves once when its condition
 * clears).  Rules it holds that e does not run as they were are dropped
 * (counted), e's other rules start fresh.  *out (not NULL) says what was
 * taken; out->ck.position is where the stream must resume from so that
 * the events after it are counted into this state.  Returns CKPT_OK, or
 * CKPT_EINVAL (damaged, truncated, or holding anything the engine could
 * not have written), CKPT_EVERSION, CKPT_EINSTANCE (another instance's:
 * its source is not e's), CKPT_EBUSY (e was used) or CKPT_ENOMEM: then e
 * may hold part of the state and must be destroyed (start fresh with a
 * new engine).  Not from a callback. */
int det_engine_restore(det_engine *e, const void *p, size_t n,
                       struct det_restore_info *out);

#endif
