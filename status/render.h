/*
 * render.h - what the status endpoints say, as pure functions of a
 * snapshot: the /status JSON document, the /metrics Prometheus text
 * (exposition format 0.0.4) and the /healthz and /readyz answers.
 *
 * Why apart from the server (status/server.h): the documents are the
 * contract operators and scrapers depend on, and a pure renderer can be
 * tested byte by byte on a hand-built snapshot, without a socket, a thread
 * or a clock.  The server only picks the renderer for a path and sends
 * what it wrote.
 *
 * Invariants: every function here reads only its arguments (no clock, no
 * I/O, no lock, no global state), so any thread may call it, and the same
 * snapshot with the same clock values gives the same bytes.  Every
 * renderer appends to a caller's capped buf and returns BUF_OK or the
 * first BUF_E* code (out may then hold a partial document).
 *
 *   /healthz  200 {"status":"ok"} when the loop's last tick
 *             (last_tick_mono_ms) is at most stall_ms old; else
 *             503 {"status":"stalled","last_tick_ms_ago":N}.
 *   /readyz   200 {"ready":true} only when the stream is connected and
 *             within its lag bound, the journal writable and
 *             not_ready_reason empty; else
 *             503 {"ready":false,"reason":"..."} (status_ready()).
 *   /status   everything in the snapshot as JSON (times ISO 8601 UTC).
 *   /metrics  Prometheus text exposition format 0.0.4.
 *   /         the HTML status page (status_render_page), /login's form.
 *
 * Secrets: the snapshot holds none by construction (the stream URL is
 * stored without credentials, sink names and error texts carry none), and
 * the documents contain nothing but the snapshot.
 */
#ifndef TW_STATUS_RENDER_H
#define TW_STATUS_RENDER_H

#include "base/buf.h"
#include "base/latency.h"
#include "model/event.h"

#include <stddef.h>
#include <stdint.h>

#define STATUS_MAX_DETECTORS 256 /* rules (RULE_MAX) */
#define STATUS_MAX_FIRING 64
#define STATUS_MAX_SINKS 16

#define STATUS_VERSION_MAX 32
#define STATUS_NAME_MAX 72       /* rule and sink names */
#define STATUS_KIND_MAX 16       /* state names, sink kinds, severities */
#define STATUS_KEY_MAX 128       /* a group key (DET_KEY_MAX) */
#define STATUS_EPISODE_MAX 40    /* episode id: 32 hex + NUL */
#define STATUS_URL_MAX 512
#define STATUS_EVENT_ID_MAX 1024
#define STATUS_ERROR_MAX 160     /* delivery_sink_stats.last_error */
#define STATUS_REASON_MAX 256
#define STATUS_CONFIG_ERROR_MAX 512 /* why a reload was refused */
#define STATUS_SILENCE_ID_MAX 17 /* a silence id: 16 hex + NUL */
#define STATUS_BY_MAX 128        /* who acknowledged an episode */
#define STATUS_MAX_SILENCES 32   /* silences shown on the page */
#define STATUS_MAX_HISTORY 100   /* history entries shown on the page */
#define STATUS_TEXT_MAX 256      /* matchers, comments, history details */
#define STATUS_CSRF_MAX 65       /* the page's CSRF field: 64 hex + NUL */
#define STATUS_PAGE_MAX (1024u * 1024u) /* the page at its largest
                                    (every array full, every byte escaped)
                                    fits: tests/unit/test_page.c */

/* The stream reader's two error reasons, next to event_reason_name()'s in
 * toolwatch_event_errors_total{reason} and /status events.errors. */
#define STATUS_REASON_OVERSIZE "oversize"
#define STATUS_REASON_INVALID_UTF8 "invalid_utf8"

/* The words of status_snapshot.detection. */
#define STATUS_DETECTION_LIVE "live"
#define STATUS_DETECTION_CATCHING_UP "catching_up"
#define STATUS_DETECTION_UNKNOWN "unknown"

/* The HTTP status codes the probe renderers choose between. */
#define STATUS_HTTP_OK 200
#define STATUS_HTTP_UNAVAILABLE 503

/*
 * What the endpoints show.  Every char array is NUL-terminated (the loop
 * truncates what does not fit; the renderers stop at the array's end all
 * the same); every time is wall-clock ms since the Unix epoch with 0
 * meaning "never / unknown", except last_tick_mono_ms.  Counts of the
 * arrays above their capacity are clamped.  A plain value (fixed arrays,
 * no pointers): copy it with memcpy.  Zero-initialise it (memset) and fill
 * what is known.
 */
struct status_snapshot {
    char version[STATUS_VERSION_MAX];
    int64_t start_ms;               /* when the service started */
    int64_t last_tick_mono_ms;      /* clock_mono_ms() of the last loop tick */
    /* Non-empty: not ready for this reason whatever the rest says (e.g.
     * "starting", "shutting down"). */
    char not_ready_reason[STATUS_REASON_MAX];
    /* Is detection being done: STATUS_DETECTION_LIVE, _CATCHING_UP (a
     * backlog after a (re)connection, judged in event time) or _UNKNOWN
     * (the stream disconnected or stalled: the rules are not judged, so
     * none resolves); detection_unknown is 1 for the last. */
    char detection[STATUS_KIND_MAX];
    int detection_unknown;

    struct {
        char state[STATUS_KIND_MAX];     /* stream_state_name() */
        char url[STATUS_URL_MAX];        /* stream_safe_url(): no secrets */
        int connected;
        int64_t connected_since_ms;      /* wall; 0 when not connected */
        int64_t disconnected_since_ms;   /* wall; 0 when connected/never */
        char last_event_id[STATUS_EVENT_ID_MAX];
        int64_t last_event_ms;           /* wall time it was received */
        int64_t lag_ms;                  /* observed lag: how long after
                                            their timestamps events arrive
                                            (0 when not known; < 0 when
                                            the source's clock is ahead) */
        int64_t max_lag_ms;              /* stream.max_lag_s: not ready
                                            past it (0: no bound) */
        uint64_t clock_jumps;            /* the stream's time moved ahead
                                            (pipeline_stats) */
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
        uint64_t clamped;                /* stamped too far ahead */
    } events;

    /* the rules in force ("rules" in /status, label rule="..." in
     * /metrics) */
    unsigned n_detectors;                /* <= STATUS_MAX_DETECTORS */
    struct {
        char name[STATUS_NAME_MAX];
        int enabled;
        uint64_t keys;                   /* det_rule_info.groups */
        uint64_t firing;                 /* det_rule_info.open: episodes */
        uint64_t evictions;
        uint64_t groups_full;            /* det_rule_info.full */
        uint64_t overflow_events;        /* det_rule_info.overflow: 0
                                            when no overflow group */
        int at_capacity;                 /* det_rule_info.at_capacity */
        uint64_t alerts_fired;           /* det_rule_info.fired */
        uint64_t alerts_resolved;        /* det_rule_info.resolved */
        char detection[STATUS_KIND_MAX]; /* STATUS_DETECTION_LIVE, or
                                            _UNKNOWN while not judged */
        int unknown;                     /* det_rule_info.unknown */
    } detectors[STATUS_MAX_DETECTORS];

    unsigned n_firing;                   /* <= STATUS_MAX_FIRING */
    uint64_t firing_total;               /* open alerts, may be > n_firing */
    struct {
        char detector[STATUS_NAME_MAX];  /* the rule ("rule" in /status) */
        char key[STATUS_KEY_MAX];
        char severity[STATUS_KIND_MAX];
        int64_t started_ms;
        char episode[STATUS_EPISODE_MAX];
        char silenced_by[STATUS_SILENCE_ID_MAX]; /* a silence muting it
                                                    now; "" none */
        char inhibited_by[STATUS_EPISODE_MAX]; /* the open episode
                                                  inhibiting it; "" none */
        char acked_by[STATUS_BY_MAX];   /* "": not acknowledged */
        int64_t acked_ms;               /* wall; 0: not acknowledged */
    } firing[STATUS_MAX_FIRING];

    unsigned n_sinks;                    /* <= STATUS_MAX_SINKS */
    struct {
        char name[STATUS_NAME_MAX];
        char kind[STATUS_KIND_MAX];      /* sink_kind_name() */
        uint64_t queue_depth;            /* journal pending, incl. in flight */
        uint64_t in_flight;
        uint64_t delivered;
        uint64_t retries;                /* failed attempts retried */
        uint64_t retried;                /* notifications that needed a
                                            retry, each once */
        uint64_t requests;               /* attempts made */
        struct latency_hist latency;     /* creation to 2xx, delivered */
        uint64_t dead_lettered;
        uint64_t spilled;                /* queued in the journal only */
        uint64_t digested;               /* counted in storm digests */
        uint64_t dropped;                /* could not be queued or read
                                            back: lost (logged) */
        int disabled;                    /* 410 received */
        long last_status;                /* 0 none */
        int64_t last_success_ms;
        int64_t last_failure_ms;
        char last_error[STATUS_ERROR_MAX];
    } sinks[STATUS_MAX_SINKS];

    int journal_writable;

    /* Silences and the notification gate (SPEC section 5). */
    struct {
        uint64_t silences_active;        /* silences by state now */
        uint64_t silences_pending;
        uint64_t silences_expired;       /* still listed */
        uint64_t silenced;               /* notifications not sent */
        uint64_t inhibited;              /* not sent: inhibited */
        uint64_t acked;                  /* repeats not sent: acked */
        uint64_t unfired;                /* resolves not sent: their
                                            firing never went out */
        uint64_t released;               /* held firings sent when their
                                            silence ended */
        uint64_t untracked;              /* episodes sent ungated (caps) */
    } oncall;
    /* The silences listed (pending and active first, then expired), for
     * the page (GET /). */
    unsigned n_silences;                 /* <= STATUS_MAX_SILENCES */
    struct {
        char id[STATUS_SILENCE_ID_MAX];
        char state[STATUS_KIND_MAX];     /* pending, active, expired */
        char matchers[STATUS_TEXT_MAX];  /* "rule=shell_* severity=..." */
        char when[STATUS_TEXT_MAX];      /* the range or the weekly window */
        char created_by[STATUS_BY_MAX];
        char comment[STATUS_TEXT_MAX];
    } silences[STATUS_MAX_SILENCES];
    /* The newest history entries, newest first (alerts/history.h), for
     * the page. */
    unsigned n_history;                  /* <= STATUS_MAX_HISTORY */
    struct {
        int64_t at_ms;
        char event[STATUS_KIND_MAX];     /* fired, ..., dead_lettered */
        char id[STATUS_EPISODE_MAX];
        char rule[STATUS_NAME_MAX];
        char key[STATUS_KEY_MAX];
        char sink[STATUS_NAME_MAX];
        char detail[STATUS_TEXT_MAX];
    } history[STATUS_MAX_HISTORY];
    /* The detection checkpoint (SPEC section 4 "State").  Zero: none
     * written yet. */
    struct {
        int64_t last_success_ms;         /* wall: the last one written */
        uint64_t bytes;                  /* its size */
        int64_t write_us;                /* its write: temporary file,
                                            fsync, rename, directory fsync */
        int64_t serialize_us;            /* its serialization (the loop) */
        uint64_t writes;
        uint64_t failures;               /* not written: I/O, over the cap */
        uint64_t refused;                /* refused at start-up */
        uint64_t not_resent;             /* made again from events read
                                            again after a restart, not sent
                                            (in the journal already) */
    } checkpoint;

    /* The configuration file and its reloads (SIGHUP).  Zero: loaded
     * when?  unknown; no reload tried, so none refused. */
    struct {
        int last_reload_failed;          /* the last reload was refused */
        int64_t last_reload_ms;          /* wall, the last reload tried;
                                            0: none since the start */
        char last_reload_error[STATUS_CONFIG_ERROR_MAX]; /* why it was
                                            refused (no secrets); "" */
        int64_t loaded_ms;               /* wall: the configuration in
                                            force was loaded (the start,
                                            or the last reload taken) */
        uint64_t reloads;                /* reloads tried */
        uint64_t reload_failures;        /* reloads refused */
    } config;
};

/* The /status document for *s, newline-terminated.  now_wall_ms /
 * now_mono_ms are the clocks ages are judged by (uptime_s and
 * last_event_age_s by the wall clock, last_tick_ms_ago by the monotonic
 * one). */
int status_render_json(buf *out, const struct status_snapshot *s,
                       int64_t now_wall_ms, int64_t now_mono_ms);

/* The /metrics text for *s: every family with # HELP and # TYPE, even
 * without samples; label values escape backslash, double quote and
 * newline. */
int status_render_metrics(buf *out, const struct status_snapshot *s);

/* The /healthz answer: the tick is now_mono_ms - s->last_tick_mono_ms old
 * (a tick in the future counts as 0); *http_code gets STATUS_HTTP_OK when
 * that is at most stall_ms, else STATUS_HTTP_UNAVAILABLE. */
int status_render_healthz(buf *out, const struct status_snapshot *s,
                          int64_t now_mono_ms, uint64_t stall_ms,
                          unsigned *http_code);

/* The /readyz answer; *http_code gets STATUS_HTTP_OK when status_ready()
 * says yes, else STATUS_HTTP_UNAVAILABLE with its reason in the body. */
int status_render_readyz(buf *out, const struct status_snapshot *s,
                         unsigned *http_code);

/* Ready?  1 yes, 0 no with the reason written to reason (NUL-terminated,
 * truncated to size): every failing condition, in this order, joined by
 * "; ": not_ready_reason; "stream disconnected since <ISO 8601>" (or
 * "stream not connected (<state>)" when disconnected_since_ms is 0);
 * "stream lag <N> s over stream.max_lag_s (<M> s)" when lag_ms >
 * max_lag_ms > 0; "journal not writable". */
int status_ready(const struct status_snapshot *s, char *reason, size_t size);

/* ---- the page (GET /) --------------------------------------------------- */

/* The status page for *s as one self-contained HTML document (inline
 * CSS, no script, no external asset), for a person at 3 a.m.: a banner
 * (how many alerts fire and how bad, or that the stream is down), the
 * stream's health, the firing alerts sorted by severity (critical first,
 * then the oldest) with their silence and acknowledgement and a form to
 * ack and to silence each, a form for a new silence, the silences with a
 * form to expire each, the sinks' queues and last errors, the newest
 * history entries.  Every value is HTML-escaped: & < > " ' as character
 * references, bytes that are not UTF-8 as U+FFFD (for an HTML text or a
 * quoted attribute alike).
 * The forms post to /ui/ack, /ui/silence and /ui/expire with the hidden
 * field csrf = `csrf`; writes 0 (no token configured: the API takes no
 * writes) shows that instead of the forms.  Ages are judged by
 * now_wall_ms. */
int status_render_page(buf *out, const struct status_snapshot *s,
                       const char *csrf, int writes, int64_t now_wall_ms);

/* The login page: a form posting the token to /login; `message` (NULL:
 * none) is shown above it, escaped. */
int status_render_login(buf *out, const char *message);

/* A page saying that a form's action failed: the HTTP code, the API's
 * error text (escaped) and a link back to the status page. */
int status_render_form_error(buf *out, unsigned code, const char *message,
                             size_t len);

/* ---- form bodies and query strings -------------------------------------- */

/* An application/x-www-form-urlencoded text ("a=1&b=x+y%21") read pair by
 * pair.  A plain value over the caller's bytes (not copied). */
struct status_form {
    const char *p, *end;   /* private */
};

void status_form_init(struct status_form *f, const char *s, size_t len);

/* The next pair, decoded ('+' is a space, %XX a byte) into name (nsz
 * bytes with the NUL) and value (vsz, its length in *vlen; NUL-terminated
 * too, but it may hold NUL bytes).  Returns 1, 0 at the end, or -1: a
 * malformed escape, a name or value that does not fit, a name with a NUL
 * byte (the text is not read further). */
int status_form_next(struct status_form *f, char *name, size_t nsz,
                     char *value, size_t vsz, size_t *vlen);

/* The value of field `name` in a form text: 1 found (exactly once), 0
 * absent, -1 malformed or given twice. */
int status_form_get(const char *s, size_t len, const char *name,
                    char *value, size_t vsz, size_t *vlen);

/* What a form of the page asks the API for. */
struct status_form_action {
    char method[8];                     /* "POST", "DELETE" */
    char path[STATUS_URL_MAX];          /* "/api/v1/silences", ... */
    char csrf[STATUS_CSRF_MAX];         /* the form's csrf field */
};

/* Turn the body (len bytes, form-encoded) of a page form posted to
 * ui_path ("/ui/ack": id, by; "/ui/silence": rule, duration 1h|4h|24h|7d,
 * created_by, comment; "/ui/expire": id; each with csrf) into the API
 * request it stands for: *a and the JSON body appended to json (a
 * silence ends now_ms + duration).  Returns 0, or -1 with a message for
 * the person in err (a missing or malformed field, an unknown path).
 * The csrf field is only copied: the caller checks it. */
int status_form_action(const char *ui_path, const char *body, size_t len,
                       int64_t now_ms, struct status_form_action *a,
                       buf *json, char *err, size_t errsz);

#endif
