/*
 * delivery.h - durable, paced, retrying delivery of alert notifications.
 *
 * A notification is routed to every sink whose routing matches, written to
 * the journal (alerts/journal.h) once per sink, and counts as queued only
 * after delivery_flush() has fsync'd the journal (one fsync per loop
 * iteration: group commit).  Each sink then sends its queue in order, one
 * request at a time, on the shared libcurl multi loop, paced by a token
 * bucket.  The outcome of an attempt is:
 *
 *   OK     2xx                          -> acknowledged in the journal
 *   RETRY  network error, timeout, 408, -> backoff with full jitter
 *          429, 5xx                        (Retry-After honoured)
 *   GONE   410                          -> the sink is disabled until the
 *                                          configuration is reloaded; its
 *                                          queue is kept
 *   DROP   any other status             -> dead-letter file with the answer
 *
 * A notification older than the sink's max_age_s is dead-lettered too.
 * After a crash or restart every unacknowledged notification is sent again
 * with the same webhook-id / dedup_key.  Nothing here blocks the loop.
 */
#ifndef TW_DELIVERY_H
#define TW_DELIVERY_H

#include "alerts/sink.h"
#include "base/loop.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

enum delivery_outcome {
    DELIVERY_OK = 0,
    DELIVERY_RETRY,
    DELIVERY_DROP,
    DELIVERY_GONE
};

enum {
    DELIVERY_EOK = 0,
    DELIVERY_ENOMEM = -1,
    DELIVERY_EINVAL = -2,
    DELIVERY_EJOURNAL = -3 /* the journal could not be written: the
                              notification is held in memory only */
};

#define DELIVERY_MAX_SINKS 16
#define DELIVERY_RESPONSE_MAX 4096 /* bytes of a receiver's answer kept */

struct delivery_options {
    const char *state_dir;     /* journal and dead-letter file; required */
    uint64_t max_pending;      /* notifications held at most (default 100000) */
};

struct delivery_sink_stats {
    const char *name;
    enum sink_kind kind;
    uint64_t queued;           /* waiting, including in flight */
    uint64_t delivered;
    uint64_t attempts;
    uint64_t retries;
    uint64_t dead_lettered;
    int in_flight;
    int disabled;              /* 410 received */
    long last_status;          /* HTTP status of the last answer, 0 none */
    int64_t last_success_ms;   /* wall clock, 0 never */
    int64_t last_failure_ms;
    char last_error[160];      /* no secrets: sink name, status, curl text */
};

typedef struct delivery delivery;

/* Create: open (and replay) the journal in opts->state_dir, set up the
 * sinks (strings are copied; signing secrets decoded and wiped), queue the
 * journal's unacknowledged notifications.  Returns NULL on failure (the
 * reason is logged). */
delivery *delivery_create(loop *lp, const struct delivery_options *opts,
                          const struct sink_config *sinks, size_t n_sinks);

/* Abort transfers in flight (they stay in the journal), close, free. */
void delivery_destroy(delivery *d);

/* Route and journal one notification (`doc` is the SPEC section 3 document;
 * `id`, `type` and `timestamp_ms` identify it).  Not yet sendable until
 * delivery_flush().  Returns the number of sinks it was queued for, or a
 * negative DELIVERY_E* code. */
int delivery_submit(delivery *d, const char *detector, const char *severity,
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

/* The newest stream position recorded in the journal: returns its
 * generation (0: none) and sets *id / *len (either may be NULL); *id is
 * valid until the next call into this delivery. */
uint64_t delivery_position(const delivery *d, const char **id, size_t *len);

/* Start transfers that are due and paced; write file/stdout sinks.  Call
 * after every loop_run_once().  Returns the next monotonic deadline. */
int64_t delivery_tick(delivery *d);

/* Notifications not yet acknowledged, over all sinks. */
uint64_t delivery_pending(const delivery *d);

/* Transfers in flight. */
int delivery_in_flight(const delivery *d);

/* Is the journal writable (last write and fsync succeeded)? */
int delivery_journal_ok(const delivery *d);

size_t delivery_sink_count(const delivery *d);
void delivery_sink_stats(const delivery *d, size_t i,
                         struct delivery_sink_stats *out);

struct delivery_test_result {
    enum delivery_outcome outcome;
    long status;                           /* HTTP status, 0 if none */
    char webhook_id[40];                   /* the id it was sent with */
    char response[DELIVERY_RESPONSE_MAX + 1]; /* the receiver's answer */
    char error[CURL_ERROR_SIZE + 64];      /* transport or local error */
};

/* Send one notification through sink `c` now, blocking, outside the
 * journal, with a fresh id (toolwatch send-test).  Returns DELIVERY_EOK
 * with *out filled (out->outcome says how the receiver answered), or a
 * DELIVERY_E* code. */
int delivery_send_test(const struct sink_config *c, const char *doc,
                       size_t len, struct delivery_test_result *out);

/* Classify one attempt's result (pure). */
enum delivery_outcome delivery_classify(CURLcode rc, long status);

const char *delivery_outcome_name(enum delivery_outcome o);

#endif
