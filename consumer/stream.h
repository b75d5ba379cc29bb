/*
 * stream.h - the audit stream reader: one long-lived HTTP(S) GET of a
 * text/event-stream on the shared event loop, forever.
 *
 * The reader reconnects on every end or error with backoff and jitter
 * (the stream's `retry:` is the floor), honours 429/503 Retry-After up to
 * retry_max_ms (a longer ask is logged once: a stream read an hour late
 * would be judged an hour late), sends
 * Last-Event-ID once one is known, drops a connection that has delivered no
 * byte for stall_timeout_ms, and persists the last event ID in the state
 * directory at most once a second and at stop.
 *
 * The position (the last event ID in force and its generation) and the
 * position file are consumer/position.h's: the file's format, and how
 * generations order the file's position against the alert journal's, are
 * described there.  The reader embeds one `struct position`.
 *
 * Reload, build-then-swap: a new reader may be created (from a new
 * configuration, on the same loop and state directory) while the old one
 * still exists: stream_create() takes nothing exclusive -- it reads the
 * position file, writes nothing, and has its own libcurl handle.  Then:
 *
 *   nst = stream_create(lp, &new_cfg, cb, ud);   old keeps running
 *   if (nst == NULL) ... keep the old one;
 *   stream_take_position(nst, old);              old stops, hands over
 *   stream_destroy(old);                         writes nothing
 *   stream_start(nst);
 *
 * The old reader's position is the live one (the journal's positions were
 * claimed from it), so the new reader is not offered the journal's: that
 * is for start-up.  A new reader dropped before the hand-over writes the
 * position file only if its position differs from the file's as it read
 * it (an offered or configured one).
 *
 * Events are parsed by the SSE push parser (consumer/sse.h) inside libcurl's
 * write callback and handed to the on_event callback; the span is valid only
 * during that callback.  Nothing here blocks: all waiting happens in the
 * loop (base/loop.h).
 */
#ifndef TW_STREAM_H
#define TW_STREAM_H

#include "consumer/sse.h"
#include "base/loop.h"

#include <stddef.h>
#include <stdint.h>

enum stream_state {
    STREAM_IDLE = 0,     /* not started */
    STREAM_CONNECTING,   /* request sent, waiting for the response headers */
    STREAM_CONNECTED,    /* 200 text/event-stream, reading */
    STREAM_WAITING,      /* disconnected, reconnect scheduled */
    STREAM_DONE          /* stopped, or ended in once mode */
};

enum {
    STREAM_OK = 0,
    STREAM_ENOMEM = -1,
    STREAM_EINVAL = -2,
    STREAM_ECURL = -3,
    STREAM_EIO = -4
};

#define STREAM_MAX_HEADERS 32

/* The defaults of the stream's settings, written once here:
 * stream_config_defaults() and the configuration file's stream section
 * (config/config.c) both use them.  Units are the configuration file's. */
#define STREAM_DEFAULT_STALL_TIMEOUT_S 45      /* stall_timeout_s */
#define STREAM_DEFAULT_RETRY_BASE_MS 500       /* retry_base_ms */
#define STREAM_DEFAULT_RETRY_MAX_MS 30000      /* retry_max_ms */
#define STREAM_DEFAULT_CONNECT_TIMEOUT_S 10    /* connect_timeout_s */
#define STREAM_DEFAULT_MAX_EVENT_BYTES SSE_DEFAULT_MAX_EVENT_BYTES /* 1 MiB */

/* Reconnecting (SPEC section 1).  A `retry:` field below
 * STREAM_RETRY_FLOOR_MS is taken as STREAM_RETRY_FLOOR_MS (logged once
 * per connection), one above retry_max_ms as retry_max_ms.  The delay
 * before reconnect number k after the last good connection (k = 0 first)
 * is uniform in [f, min(retry_max_ms, 2f)] with f = min(retry_max_ms,
 * base x 2^k), base the retry_base_ms or the stream's `retry:`: it grows
 * on every end of a connection, a clean close by the server (200, then
 * the stream ends) included.  A good connection is one that delivered at
 * least one event or streamed for STREAM_STABLE_MS: it resets k to 0.  A
 * Retry-After (429, 503) is waited, capped by retry_max_ms. */
#define STREAM_RETRY_FLOOR_MS 100
#define STREAM_STABLE_MS 10000

/* A request header whose value is a secret (the configuration's
 * stream.headers_env): like the API key, its value is copied once, sent
 * only in this header, wiped on destroy and never logged. */
struct stream_secret_header {
    const char *name;           /* "X-Api-Key": a header name, no ':' */
    const char *value;          /* non-empty, one line; never logged */
    const char *env;            /* its variable's name, for messages */
};

struct stream_config {
    const char *url;
    const char *api_key;        /* bearer token value or NULL; never logged */
    const char *api_key_env;    /* its variable's name, for messages */
    const char *headers[STREAM_MAX_HEADERS]; /* "Name: value" */
    size_t n_headers;
    struct stream_secret_header secret_headers[STREAM_MAX_HEADERS];
    size_t n_secret_headers;    /* sent after headers[], in order */
    const char *ca_file;        /* NULL: system CA store */
    const char *state_dir;      /* NULL: no position file */
    const char *last_event_id;  /* initial Last-Event-ID, or NULL */
    uint64_t stall_timeout_ms;  /* STREAM_DEFAULT_STALL_TIMEOUT_S * 1000 */
    uint64_t retry_base_ms;     /* STREAM_DEFAULT_RETRY_BASE_MS */
    uint64_t retry_max_ms;      /* STREAM_DEFAULT_RETRY_MAX_MS */
    uint64_t connect_timeout_ms; /* STREAM_DEFAULT_CONNECT_TIMEOUT_S * 1000 */
    size_t max_event_bytes;     /* STREAM_DEFAULT_MAX_EVENT_BYTES */
    int once;                   /* no reconnect: end at the first close */
};

/* Fill a config with the STREAM_DEFAULT_ values (url etc. NULL). */
void stream_config_defaults(struct stream_config *cfg);

struct stream_callbacks {
    /* A dispatched event.  Return non-zero to stop the stream (the
     * transfer is ended and no reconnect is scheduled). */
    int (*on_event)(void *ud, const sse_event *ev);
    /* Optional: the state changed. */
    void (*on_state)(void *ud, enum stream_state state);
};

struct stream_stats {
    uint64_t connects;          /* successful 200 event-stream responses */
    uint64_t reconnects;        /* requests after the first */
    uint64_t events;
    uint64_t bytes;
    uint64_t stalls;
    uint64_t http_errors;       /* non-200 responses */
    uint64_t network_errors;
    uint64_t oversize;          /* events skipped: over max_event_bytes */
    uint64_t invalid_utf8;      /* bytes replaced by U+FFFD (sse_stats) */
    long last_status;           /* last HTTP status seen, 0 if none */
    int64_t connected_since_ms; /* monotonic, 0 when not connected */
    int64_t last_byte_ms;       /* monotonic */
};

typedef struct stream stream;

/* Create a reader on `lp`.  Strings in cfg are copied.  The callbacks and
 * `ud` must outlive the stream.  Reads the position file when state_dir is
 * set (a readable file wins over cfg->last_event_id) and creates the
 * directory (0700) when missing.  Takes nothing exclusive: other readers
 * (the one a reload replaces) may exist on the same loop and directory.
 * Returns NULL on failure (logged). */
stream *stream_create(loop *lp, const struct stream_config *cfg,
                      const struct stream_callbacks *cb, void *ud);

/* Stop (if running), persist the position, free.  Accepts NULL. */
void stream_destroy(stream *s);

/* Start the first request now.  STREAM_EINVAL for a reader whose
 * position was handed over (stream_take_position). */
int stream_start(stream *s);

/* Timers: stall check, scheduled reconnect, position persistence.  Call
 * after every loop_run_once().  Returns the next monotonic deadline (ms)
 * at which it wants to be called again. */
int64_t stream_tick(stream *s);

/* End the transfer, persist the position; no reconnect.  Idempotent. */
void stream_stop(stream *s);

enum stream_state stream_state(const stream *s);
const struct stream_stats *stream_stats(const stream *s);

/* Did the stream end cleanly (once mode: a 200 event stream that the
 * server closed, or a stop requested by on_event)? */
int stream_ended_ok(const stream *s);

/* The last event ID in force ("" if none); valid until the next call. */
const char *stream_last_event_id(const stream *s, size_t *len);

/* Persist the position now if it changed (with a new generation).
 * Returns STREAM_OK or STREAM_EIO. */
int stream_persist(stream *s);

/* The position to record elsewhere now (the alert journal): the last
 * event ID in force ("" if none; valid until the next call, *len its
 * length) and, in *gen, a new generation for it, higher than any handed
 * out, read or offered before.  May be called from on_event (and from
 * anything it calls). */
const char *stream_position_claim(stream *s, size_t *len, uint64_t *gen);

/* Start-up, before stream_start: a position recorded elsewhere (the
 * journal's newest) with its generation `gen`.  It replaces the position
 * read from the file (or cfg->last_event_id) when `gen` is higher than the
 * file's (an old-format file counts as 0); the position file is brought
 * up to date at the next persist.  Later generations are above `gen`
 * either way.  Returns 1 when adopted, 0 when not (not newer, or gen 0),
 * STREAM_EINVAL for an id that cannot be a last event ID or a generation
 * out of range (not adopted, nothing changes; position_offer in
 * consumer/position.h). */
int stream_position_offer(stream *s, const char *id, size_t len,
                          uint64_t gen);

/* Start-up, before stream_start, after any offer: resume from `id` (len
 * bytes) instead, an older position (the detection checkpoint's, so that
 * the events after it are counted again into the state it holds).  The
 * generation is unchanged: the position file takes `id` with a new one at
 * the next persist.  Returns STREAM_OK, or STREAM_EINVAL (started, handed
 * over, or an id that cannot be a last event ID; nothing changes). */
int stream_position_rewind(stream *s, const char *id, size_t len);

/* The generation of the newest position this reader has read, been
 * offered, taken or handed out (0: none). */
uint64_t stream_position_generation(const stream *s);

/* Hand the position of `src` (the reader a reload replaces) to `dst` (its
 * replacement, created but not started): dst takes src's last event ID in
 * force, whatever dst read or was offered, and the higher of the two
 * generations, so that every generation dst hands out is above every one
 * src did; when both use the same state directory, dst also knows what src
 * last wrote there.  src is stopped if running (its transfer ends; on_state
 * reports STREAM_DONE) and gives up the position file: it never writes it
 * again (not at stop, tick or destroy), cannot be started again, and must
 * not claim positions.  Destroy it next.  Returns STREAM_OK, or
 * STREAM_EINVAL (nothing changes) when dst is NULL, src is NULL or dst,
 * dst was started, or either has handed its position over already.  Not
 * from a callback of either reader. */
int stream_take_position(stream *dst, stream *src);

/* The wait before a reconnect after a 429 or 503 that said Retry-After:
 * the server's ask (retry_after_ms), at most retry_max_ms, and at least
 * the backoff (backoff_ms, itself at most retry_max_ms).  *capped: the
 * ask was over retry_max_ms.  Pure. */
uint64_t stream_retry_wait(uint64_t backoff_ms, uint64_t retry_after_ms,
                           uint64_t retry_max_ms, int *capped);

/* Write `url` without userinfo, query or fragment into buf (for logs:
 * credentials in URLs never reach a log line).  Returns buf. */
const char *stream_safe_url(const char *url, char *buf, size_t size);

const char *stream_state_name(enum stream_state st);
const char *stream_strerror(int rc);

#endif
