/*
 * status.h - the status HTTP server (libmicrohttpd): /healthz, /readyz,
 * /status (JSON) and /metrics (Prometheus text format 0.0.4).
 *
 * The main loop owns all live state and never shares it.  About once a
 * second it fills a struct status_snapshot (a plain value: fixed arrays, no
 * pointers) and hands it to status_publish(), which copies it under a
 * mutex.  libmicrohttpd answers requests on its own single internal polling
 * thread (epoll on Linux), which copies the published snapshot out under
 * the same mutex and renders the answer from that private copy: the loop
 * waits at most for one memcpy, and a slow or idle client costs a file
 * descriptor, never a thread.
 *
 *   GET /healthz  200 {"status":"ok"} when the loop's last tick
 *                 (snapshot.last_tick_mono_ms) is younger than
 *                 health_stall_ms by the server's own monotonic clock; else
 *                 503 {"status":"stalled","last_tick_ms_ago":N}.
 *   GET /readyz   200 {"ready":true} only when the stream is connected and
 *                 the journal writable (and not_ready_reason is empty);
 *                 else 503 {"ready":false,"reason":"..."}.
 *   GET /status   everything in the snapshot as JSON (times ISO 8601 UTC).
 *   GET /metrics  Prometheus text exposition format 0.0.4.
 *
 * HEAD is answered like GET without a body.  Other methods on these paths
 * get 405 with "Allow: GET, HEAD"; other paths 404.
 *
 * Authentication: with a bearer token configured, every request except
 * those for /healthz (left open for liveness probes, and it reveals nothing
 * but "the loop is alive") must carry "Authorization: Bearer <token>", else
 * 401 with "WWW-Authenticate: Bearer".  The check runs before routing, so
 * without the token /status, /nope and a POST all get the same 401.  The
 * token is never kept: only a keyed BLAKE2b hash of it under a random
 * per-server key; a presented token is hashed the same way and the two
 * hashes compared with sodium_memcmp, so neither the token's content nor
 * its length shows in the timing.
 *
 * Secrets: the snapshot holds none by construction (the stream URL is
 * stored without credentials, sink names and error texts carry none), and
 * responses contain nothing but the snapshot.
 */
#ifndef TW_STATUS_H
#define TW_STATUS_H

#include "model/event.h"
#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define STATUS_MAX_DETECTORS 8
#define STATUS_MAX_FIRING 64
#define STATUS_MAX_SINKS 16

#define STATUS_VERSION_MAX 32
#define STATUS_NAME_MAX 64       /* detector and sink names */
#define STATUS_KIND_MAX 16       /* state names, sink kinds, severities */
#define STATUS_KEY_MAX 128       /* a group key (DET_KEY_MAX) */
#define STATUS_EPISODE_MAX 40    /* episode id: 32 hex + NUL */
#define STATUS_URL_MAX 512
#define STATUS_EVENT_ID_MAX 1024
#define STATUS_ERROR_MAX 160     /* delivery_sink_stats.last_error */
#define STATUS_REASON_MAX 256

/* The stream reader's two error reasons, next to event_reason_name()'s in
 * toolwatch_event_errors_total{reason} and /status events.errors. */
#define STATUS_REASON_OVERSIZE "oversize"
#define STATUS_REASON_INVALID_UTF8 "invalid_utf8"

/*
 * What the endpoints show.  Every char array is NUL-terminated (the loop
 * truncates what does not fit); every time is wall-clock ms since the Unix
 * epoch with 0 meaning "never / unknown", except last_tick_mono_ms.
 * Zero-initialise it (memset) and fill what is known.
 */
struct status_snapshot {
    char version[STATUS_VERSION_MAX];
    int64_t start_ms;               /* when the service started */
    int64_t last_tick_mono_ms;      /* clock_mono_ms() of the last loop tick */
    /* Non-empty: not ready for this reason whatever the rest says (e.g.
     * "starting", "shutting down"). */
    char not_ready_reason[STATUS_REASON_MAX];

    struct {
        char state[STATUS_KIND_MAX];     /* stream_state_name() */
        char url[STATUS_URL_MAX];        /* stream_safe_url(): no secrets */
        int connected;
        int64_t connected_since_ms;      /* wall; 0 when not connected */
        int64_t disconnected_since_ms;   /* wall; 0 when connected/never */
        char last_event_id[STATUS_EVENT_ID_MAX];
        int64_t last_event_ms;           /* wall time it was received */
        uint64_t connects;
        uint64_t reconnects;
        uint64_t stalls;
        uint64_t http_errors;
        uint64_t network_errors;
        long last_http_status;           /* 0 none */
    } stream;

    struct {
        uint64_t total;                  /* SSE events received */
        uint64_t decoded;                /* accepted by event_decode() */
        uint64_t errors[EVENT_R_COUNT];  /* event_counters.n */
        /* from the stream reader, shown as two more error reasons */
        uint64_t oversize;               /* events over max_event_bytes */
        uint64_t invalid_utf8;           /* bytes replaced by U+FFFD */
        uint64_t late;
        uint64_t duplicates;
        uint64_t untimed;
    } events;

    unsigned n_detectors;                /* <= STATUS_MAX_DETECTORS */
    struct {
        char name[STATUS_NAME_MAX];
        int enabled;
        uint64_t keys;                   /* det_group_info.groups */
        uint64_t firing;                 /* det_group_info.alerting */
        uint64_t evictions;
        uint64_t alerts_fired;           /* det_stats.fired */
        uint64_t alerts_resolved;        /* det_stats.resolved */
    } detectors[STATUS_MAX_DETECTORS];

    unsigned n_firing;                   /* <= STATUS_MAX_FIRING */
    uint64_t firing_total;               /* open alerts, may be > n_firing */
    struct {
        char detector[STATUS_NAME_MAX];
        char key[STATUS_KEY_MAX];
        char severity[STATUS_KIND_MAX];
        int64_t started_ms;
        char episode[STATUS_EPISODE_MAX];
    } firing[STATUS_MAX_FIRING];

    unsigned n_sinks;                    /* <= STATUS_MAX_SINKS */
    struct {
        char name[STATUS_NAME_MAX];
        char kind[STATUS_KIND_MAX];      /* sink_kind_name() */
        uint64_t queue_depth;            /* journal pending, incl. in flight */
        uint64_t in_flight;
        uint64_t delivered;
        uint64_t retries;
        uint64_t dead_lettered;
        int disabled;                    /* 410 received */
        long last_status;                /* 0 none */
        int64_t last_success_ms;
        int64_t last_failure_ms;
        char last_error[STATUS_ERROR_MAX];
    } sinks[STATUS_MAX_SINKS];

    int journal_writable;
};

/* Connection limit: while max_connections are open, libmicrohttpd stops
 * accepting; further clients wait in the kernel's listen backlog (their
 * connect succeeds, no answer comes) until a slot frees or they give up.
 * A connection that sends nothing for timeout_s is closed, so clients
 * holding every slot delay answers by at most about timeout_s.  The
 * server's memory and its one thread are unaffected. */
struct status_options {
    const char *bind_addr;     /* numeric IPv4 or IPv6; NULL: "127.0.0.1" */
    uint16_t port;             /* 0: any free port (see status_port()) */
    const char *token;         /* bearer token, or NULL for none; "" is
                                  refused (a token variable set empty) */
    uint64_t health_stall_ms;  /* /healthz threshold; 0: 5000 */
    unsigned max_connections;  /* 0: 64; see below */
    unsigned timeout_s;        /* idle connection timeout; 0: 10 */
};

enum {
    STATUS_OK = 0,
    STATUS_ENOMEM = -1,
    STATUS_EINVAL = -2,
    STATUS_ELISTEN = -3
};

typedef struct status_server status_server;

/* Fill o with the defaults above (bind 127.0.0.1, port 0, no token). */
void status_options_defaults(struct status_options *o);

/* Start listening and serving on a new internal thread.  Strings in o are
 * not kept (the token only as a keyed hash).  Until the first
 * status_publish() the snapshot is empty with not_ready_reason "starting"
 * and the creation time as the last tick.  Returns NULL on failure
 * (logged, without the token); *err (may be NULL) gets a STATUS_E* code.
 * Call from the loop thread, before or after the loop runs. */
status_server *status_create(const struct status_options *o, int *err);

/* Copy *snap for the server to show.  Loop thread; takes the mutex for one
 * memcpy (never waits for a request to be rendered).  srv NULL (no status
 * server configured) does nothing. */
void status_publish(status_server *srv, const struct status_snapshot *snap);

/* The TCP port bound (useful with port 0). */
uint16_t status_port(const status_server *srv);

/* Stop the server thread (requests in progress finish or are dropped),
 * wipe the token hash, free.  Accepts NULL. */
void status_destroy(status_server *srv);

const char *status_strerror(int rc);

/* The renderers behind /status and /metrics, exposed for tests and for
 * subcommands that print the same documents.  Each appends to out (a capped
 * buf) and returns BUF_OK or a BUF_E* code (out may then hold a partial
 * document).  now_wall_ms / now_mono_ms are the clocks ages are judged by.
 * Pure: no clock, no I/O; any thread. */
int status_render_json(buf *out, const struct status_snapshot *s,
                       int64_t now_wall_ms, int64_t now_mono_ms);
int status_render_metrics(buf *out, const struct status_snapshot *s);

/* Ready?  1 yes, 0 no with the reason written to reason (NUL-terminated,
 * truncated to size): every failing condition, in this order, joined by
 * "; ": not_ready_reason; "stream disconnected since <ISO 8601>" (or
 * "stream not connected (<state>)" when disconnected_since_ms is 0);
 * "journal not writable".  Pure. */
int status_ready(const struct status_snapshot *s, char *reason, size_t size);

#endif
