/*
 * delivery.h - the outbox: durable, paced, retrying delivery of alert
 * notifications.
 *
 * A notification is routed to every sink whose routing matches, written to
 * the journal (alerts/journal.h) once per sink, and counts as queued only
 * after delivery_flush() has fsync'd the journal (one fsync per loop
 * iteration: group commit).  Each sink then sends its queue in order, one
 * attempt at a time, paced by a token bucket: network sinks on the shared
 * libcurl multi loop (the request and the meaning of its answer are
 * alerts/request.h's), file and stdout sinks by a write.  An attempt ends
 * in one of the outcomes of enum request_outcome:
 *
 *   REQUEST_OK     2xx, or written              -> acknowledged in the
 *                                                  journal
 *   REQUEST_RETRY  network error, timeout, 408, -> backoff with full
 *                  429, 5xx; a failed write        jitter (Retry-After
 *                                                  honoured)
 *   REQUEST_GONE   410                          -> the sink is disabled
 *                                                  until the configuration
 *                                                  is reloaded; its queue
 *                                                  is kept
 *   REQUEST_DROP   any other status             -> dead-letter file with
 *                                                  the answer
 *
 * Queues are per sink and bounded in memory: past a sink's queue_max
 * (sink_config; 0: delivery_options.max_pending) its notifications stay in
 * the journal only, once durable, and are read back in order as the sink
 * drains, so a dead receiver costs disk, not memory, and never starves
 * the other sinks.  The journal's bytes are bounded the other way: past
 * max_journal_bytes delivery_backpressure() tells the caller to stop
 * reading the stream.  Per sink, past digest_after notifications within a
 * minute (the storm guard), the rest of the minute is counted into one
 * digest (alerts/sink.h), journaled as it grows and queued when the
 * minute ends; PagerDuty is never digested.
 *
 * A notification older than the sink's max_age_s is dead-lettered too.
 * After a crash or restart every unacknowledged notification is sent again
 * with the same webhook-id / dedup_key.  When the journal cannot be written
 * (disk full, read-only), notifications are held in memory, sent all the
 * same, and journaled as soon as it works again.  Nothing here blocks the
 * loop except the journal's fsync.
 *
 * Return codes (DELIVERY_EOK, DELIVERY_E...) are not outcomes: a call
 * that worked returns DELIVERY_EOK whatever the receivers answered.
 *
 * Threads: a delivery and everything it drives belong to the thread that
 * runs its loop; no function may be called from a loop callback.
 *
 * NULL: every function below but delivery_create and delivery_sink_stats
 * takes d == NULL (no outbox) without harm: it does nothing and answers
 * DELIVERY_EINVAL (delivery_flush, delivery_submit, delivery_reconfigure),
 * DELIVERY_EJOURNAL (delivery_record_position), INT64_MAX
 * (delivery_tick) or 0.
 */
#ifndef TW_DELIVERY_H
#define TW_DELIVERY_H

#include "alerts/journal_record.h"
#include "alerts/sink.h"
#include "base/latency.h"
#include "base/loop.h"

#include <stddef.h>
#include <stdint.h>

enum {
    DELIVERY_EOK = 0,
    DELIVERY_ENOMEM = -1,
    DELIVERY_EINVAL = -2,
    DELIVERY_EJOURNAL = -3 /* the journal could not be written (the
                              notification is held in memory only) or
                              read */
};

#define DELIVERY_MAX_SINKS 16

#define DELIVERY_STATUS_URL_MAX 2048

struct delivery_options {
    const char *state_dir;     /* journal and dead-letter file; required */
    uint64_t max_pending;      /* notifications a sink holds in memory when
                                  its queue_max is 0 (0:
                                  SINK_DEFAULT_QUEUE_MAX) */
    uint64_t max_journal_bytes; /* undelivered bytes in the journal at
                                  which delivery_backpressure() says to
                                  pause the stream (0: 64 MiB) */
    const char *status_url;    /* the status page, linked from storm
                                  digests (NULL or "": none; copied, at
                                  most DELIVERY_STATUS_URL_MAX - 1 bytes,
                                  else none) */
};

struct delivery_sink_stats {
    const char *name;          /* valid until the next call that changes
                                  the sink set */
    enum sink_kind kind;
    uint64_t queued;           /* waiting, including in flight */
    uint64_t in_memory;        /* of those, held in memory */
    uint64_t spilled;          /* of those, in the journal only */
    uint64_t digested;         /* counted in a storm digest, not sent
                                  alone */
    uint64_t digests;          /* storm digests queued */
    uint64_t submit_errors;    /* could not be queued: dropped (logged) */
    uint64_t lost;             /* spilled and unreadable in the journal */
    uint64_t delivered;
    uint64_t attempts;
    uint64_t retries;          /* failed attempts followed by a retry */
    uint64_t retried;          /* notifications that needed a retry (each
                                  once, at its first) */
    uint64_t dead_lettered;
    struct latency_hist latency; /* delivered notifications: from their
                                    creation to the receiver's 2xx */
    int in_flight;
    int disabled;              /* 410 received */
    long last_status;          /* HTTP status of the last answer, 0 none */
    int64_t last_success_ms;   /* wall clock, 0 never */
    int64_t last_failure_ms;
    char last_error[160];      /* no secrets: sink name, status, curl text */
    char last_dead_letter[160]; /* why the last notification dead-lettered
                                   was given up (its final answer), ""
                                   none; not changed by later attempts */
};

typedef struct delivery delivery;

/* Create: open (and replay) the journal in opts->state_dir, set up the
 * sinks (strings are copied; signing secrets decoded and wiped), queue the
 * journal's unacknowledged notifications of the configured sinks (those of
 * other sinks stay in the journal, logged).  Returns NULL on failure (the
 * reason is logged). */
delivery *delivery_create(loop *lp, const struct delivery_options *opts,
                          const struct sink_config *sinks, size_t n_sinks);

/* Abort transfers in flight (they stay in the journal), sync the journal,
 * close, free.  Notifications held in memory only are lost (their events
 * are re-read after a restart: no stream position was recorded past
 * them).  Accepts NULL. */
void delivery_destroy(delivery *d);

/* Replace the sink set in place, e.g. on SIGHUP: everything the new set
 * needs is built first, and swapped in only when all of it was built.
 * This replaces delivery_destroy() + delivery_create() on a reload: the
 * journal stays open (its lock stays held), so nothing held in memory is
 * lost and a failed reload leaves a working outbox.
 *
 * Build (nothing visible changes): every sink of sinks[0..n) is set up as
 * delivery_create() does -- strings copied, a file sink's file opened
 * (O_APPEND, created 0600), signing secrets decoded (then held only as
 * keys), a request (libcurl handle) per network sink -- and, for every
 * name not configured now, the journal's unacknowledged notifications for
 * that name are read.  When any step fails, what was built is freed, the
 * reason is logged and written to err (no secrets), and the running sinks
 * stay exactly as they were (queues, transfers in flight, pacing,
 * statistics, disabled state).  Returns DELIVERY_EINVAL (more than
 * DELIVERY_MAX_SINKS, an empty or duplicate name, no URL or path, a file
 * that cannot be opened, an unusable signing secret), DELIVERY_ENOMEM, or
 * DELIVERY_EJOURNAL (the journal could not be read).
 *
 * Swap (cannot fail), sinks matched by name:
 *  - kept (in both sets): the new settings (kind, URL, secrets, routing,
 *    pacing, timeouts, retry and max_age) apply from the next attempt.
 *    The queue and its order, every notification in it (journaled or held
 *    in memory only), its statistics and pacing tokens stay.  A transfer in
 *    flight finishes with the settings it started with, and its answer is
 *    settled as usual.  A sink disabled by a 410 is enabled again, and the
 *    queue's head is due at once (a backoff or Retry-After wait is not
 *    carried over: the new settings may be what fixes it).
 *  - added: starts with the journal's unacknowledged notifications for its
 *    name, in journal order (those of a sink that was removed earlier, or
 *    configured in an earlier run), as delivery_create() queues them;
 *    statistics from zero.
 *  - removed: nothing more is sent to it; a transfer in flight is
 *    abandoned (its notification is unacknowledged: sent again, with the
 *    same webhook-id, if the sink comes back).  Its journaled notifications
 *    stay in the journal unacknowledged, as on a restart without the sink.
 *    Those held in memory only (the journal failed) are kept and journaled
 *    as soon as the journal works again, and only then dropped from memory;
 *    they still count in delivery_pending().  A removed sink that comes
 *    back gets the journal's notifications first, then those still held
 *    in memory, and keeps its statistics if it was still held.
 * The journal, the dead-letter file, the stream position, max_pending
 * and the state directory do not change: a new state_dir takes a
 * restart.  delivery_sink_count()/delivery_sink_stats() follow the new
 * set, in its order.  sinks[] is read during the call only (strings are
 * copied).  Returns DELIVERY_EOK when the new set is in force.
 *
 * A reload uses it so: build the new struct cfg; fill the sink configs
 * (cfg_sink_configs); delivery_reconfigure(dl, sinks, n, err, sizeof err);
 * on an error keep the running configuration's sinks (nothing to undo).
 * Counters need no carrying over: kept sinks keep theirs. */
int delivery_reconfigure(delivery *d, const struct sink_config *sinks,
                         size_t n, char *err, size_t errsz);

/* Route and journal one notification: `doc` is the SPEC section 3
 * document; `id` (the episode id), `resolved` and `timestamp_ms` identify
 * it; `route` (its rule, severity and the rule's labels; read during the
 * call only) picks the sinks, as sink_routes() says.  Not yet sendable
 * until delivery_flush().  Returns the number of sinks it was queued for
 * (0: none routes it), or a negative DELIVERY_E* code. */
int delivery_submit(delivery *d, const struct sink_route *route,
                    const char *id, int resolved, int64_t timestamp_ms,
                    const char *doc, size_t len);

/* fsync the journal and release what was submitted since the last flush.
 * Returns DELIVERY_EOK or DELIVERY_EJOURNAL (released anyway). */
int delivery_flush(delivery *d);

/* The notifications submitted so far were made from the audit stream up
 * to the event whose last event ID in force is `id` (`len` bytes; `gen`
 * its generation, see stream_position_claim in consumer/stream.h).
 * Record that position in the journal after them: it becomes durable
 * with the next delivery_flush, in the same fsync as those notifications,
 * so a restart that finds them also finds the position and does not read
 * their events (and make them) again.  Nothing is recorded while a
 * notification is held in memory only (the journal failed): its events
 * must stay unread for a restart.  Returns DELIVERY_EOK, DELIVERY_EINVAL
 * (bad id or an older generation than the journal's) or
 * DELIVERY_EJOURNAL (not recorded). */
int delivery_record_position(delivery *d, const char *id, size_t len,
                             uint64_t gen);

/* delivery_record_position with the mark of the notifications submitted
 * so far (`mark`: the rule engine's number for the last of them and its
 * event time; NULL: none), recorded with the position and durable with
 * it.  After a restart that reads events again from an older position
 * (the detection checkpoint's, app/run.c), the mark tells which of the
 * notifications they make again are already in the journal. */
int delivery_record_position_mark(delivery *d, const char *id, size_t len,
                                  uint64_t gen,
                                  const struct journal_mark *mark);

/* The newest stream position recorded in the journal: returns its
 * generation (0: none) and sets *id / *len (either may be NULL); *id is
 * valid until the next call into this delivery. */
uint64_t delivery_position(const delivery *d, const char **id, size_t *len);

/* The mark recorded with that position (seq 0: none). */
void delivery_position_mark(const delivery *d, struct journal_mark *out);

/* Start attempts that are due and paced; write file/stdout sinks.  Call
 * after every loop_run_once().  Returns the next monotonic deadline. */
int64_t delivery_tick(delivery *d);

/* Notifications not yet acknowledged, over all sinks (with those of
 * removed sinks still held in memory only). */
uint64_t delivery_pending(const delivery *d);

/* Transfers in flight. */
int delivery_in_flight(const delivery *d);

/* Is the journal writable (last write and fsync succeeded)? */
int delivery_journal_ok(const delivery *d);

/* The configured sinks, i in 0 .. delivery_sink_count() - 1, in the order
 * of the last delivery_create()/delivery_reconfigure(). */
size_t delivery_sink_count(const delivery *d);
void delivery_sink_stats(const delivery *d, size_t i,
                         struct delivery_sink_stats *out);

/* The wall clock of this loop turn (ms), the time of the storm guard's
 * windows; 0 (the default): read the clock when needed.  Tests set it. */
void delivery_set_clock(delivery *d, int64_t wall_ms);

/* The status page linked from storm digests from now on (a reload):
 * `url` as in delivery_options.status_url.  A digest already journaled
 * keeps the link it had until it grows again. */
void delivery_set_status_url(delivery *d, const char *url);

/* Backpressure: 1 when the journal holds max_journal_bytes or more of
 * undelivered notifications (then until it is below 7/8 of that): the
 * caller stops reading the stream (the position does not advance, nothing
 * is detected that could not be journaled) and resumes when this turns 0.
 * `why` (may be NULL) gets the reason for /readyz.  The limit is not a
 * hard cap: what is submitted while paused (the event being read, timers)
 * is still journaled. */
int delivery_backpressure(delivery *d, char *why, size_t whysz);

/* Notifications that could not be queued at all (out of memory), since
 * start: the only drop left, each one logged. */
uint64_t delivery_submit_errors(const delivery *d);

const char *delivery_strerror(int rc);

#endif
