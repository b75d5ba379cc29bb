/*
 * status.c - the status HTTP server: libmicrohttpd on one internal polling
 * thread, answering from a snapshot the main loop publishes.
 *
 * Why a snapshot: the loop owns the stream, the engine and the deliveries
 * and must never block on a client or share live state with a thread.  It
 * copies its counters into a plain struct once a second; this file renders
 * documents from a private copy of that struct.
 *
 * Invariants:
 *  - `pub` is touched only under `mu`; `view` only on the MHD thread (the
 *    daemon runs exactly one thread: no MHD_USE_THREAD_PER_CONNECTION, no
 *    thread pool), which copies pub -> view under `mu` and renders from
 *    view without the lock;
 *  - every request is answered in its first handler call (no endpoint
 *    takes a body), from a capped buffer (STATUS_BODY_MAX);
 *  - the bearer token is never stored: only BLAKE2b(key, token) under a
 *    random per-server key, wiped on destroy; a presented token is hashed
 *    under the same key and compared in constant time;
 *  - idle connections cost a descriptor and a slot of max_connections,
 *    never a thread; MHD closes them after timeout_s.
 */
#include "service/status.h"

#include "service/clock.h"
#include "service/log.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STATUS_BODY_MAX (512u * 1024u)
#define TOKEN_HASH_BYTES crypto_generichash_BYTES /* 32 */
#define METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define JSON_CTYPE "application/json"

struct status_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    int mu_ok;
    struct status_snapshot pub;   /* under mu */
    struct status_snapshot view;  /* MHD thread only */
    int has_token;
    unsigned char token_key[crypto_generichash_KEYBYTES];
    unsigned char token_hash[TOKEN_HASH_BYTES];
    uint64_t stall_ms;
    uint16_t port;
    atomic_int running;           /* the daemon has started */
};

enum route { R_NONE = 0, R_HEALTHZ, R_READYZ, R_STATUS, R_METRICS };

void status_options_defaults(struct status_options *o)
{
    memset(o, 0, sizeof *o);
    o->bind_addr = "127.0.0.1";
    o->health_stall_ms = 5000;
    o->max_connections = 64;
    o->timeout_s = 10;
}

/* ---- writing into a capped buffer --------------------------------------
 * A writer carries the first error so that a renderer can make all its
 * calls and check once at the end. */

struct w {
    buf *b;
    int rc;
};

static void w_raw(struct w *w, const char *s, size_t n)
{
    if (w->rc == BUF_OK)
        w->rc = buf_append(w->b, s, n);
}

static void w_str(struct w *w, const char *s)
{
    w_raw(w, s, strlen(s));
}

static void w_fmt(struct w *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void w_fmt(struct w *w, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        if (w->rc == BUF_OK)
            w->rc = BUF_ETOOBIG; /* only numbers go through here */
        return;
    }
    w_raw(w, tmp, (size_t)n);
}

/* A JSON string of a NUL-terminated array of at most `cap` bytes (the
 * snapshot's arrays are NUL-terminated by contract; strnlen guards). */
static void w_jstr(struct w *w, const char *s, size_t cap)
{
    if (w->rc == BUF_OK)
        w->rc = buf_append_json_string(w->b, s, strnlen(s, cap));
}

/* ,"key": (comma unless first) */
static void w_key(struct w *w, int *first, const char *key)
{
    if (!*first)
        w_raw(w, ",", 1);
    *first = 0;
    w_raw(w, "\"", 1);
    w_str(w, key);
    w_raw(w, "\":", 2);
}

static void j_u64(struct w *w, int *first, const char *key, uint64_t v)
{
    w_key(w, first, key);
    w_fmt(w, "%" PRIu64, v);
}

static void j_i64(struct w *w, int *first, const char *key, int64_t v)
{
    w_key(w, first, key);
    w_fmt(w, "%" PRId64, v);
}

static void j_bool(struct w *w, int *first, const char *key, int v)
{
    w_key(w, first, key);
    w_str(w, v ? "true" : "false");
}

static void j_str(struct w *w, int *first, const char *key, const char *s,
                  size_t cap)
{
    w_key(w, first, key);
    w_jstr(w, s, cap);
}

/* A string, or null when empty. */
static void j_str_or_null(struct w *w, int *first, const char *key,
                          const char *s, size_t cap)
{
    w_key(w, first, key);
    if (s[0] == '\0')
        w_str(w, "null");
    else
        w_jstr(w, s, cap);
}

/* ISO 8601 UTC of a wall time, or null when 0 (never). */
static void j_time(struct w *w, int *first, const char *key, int64_t ms)
{
    char t[32];

    w_key(w, first, key);
    if (ms <= 0 || event_format_time(ms, t, sizeof t) < 0)
        w_str(w, "null");
    else
        w_jstr(w, t, sizeof t);
}

/* Milliseconds as seconds with three decimals ("12.345"); ms >= 0. */
static void w_secs(struct w *w, int64_t ms)
{
    w_fmt(w, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
}

/* Age of a wall time in seconds, or null when it never happened. */
static void j_age(struct w *w, int *first, const char *key, int64_t ms,
                  int64_t now)
{
    w_key(w, first, key);
    if (ms <= 0)
        w_str(w, "null");
    else
        w_secs(w, now > ms ? now - ms : 0);
}

/* ---- readiness ---------------------------------------------------------- */

/* Append `s` to reason (size bytes) after "; " when not first. */
static void reason_add(char *reason, size_t size, size_t *len, const char *s)
{
    int n;

    if (size == 0 || *len >= size - 1)
        return;
    n = snprintf(reason + *len, size - *len, "%s%s", *len ? "; " : "", s);
    if (n > 0)
        *len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

int status_ready(const struct status_snapshot *s, char *reason, size_t size)
{
    char part[STATUS_REASON_MAX + 64];
    size_t len = 0;

    if (size > 0)
        reason[0] = '\0';
    if (s->not_ready_reason[0] != '\0') {
        snprintf(part, sizeof part, "%.*s", (int)STATUS_REASON_MAX,
                 s->not_ready_reason);
        reason_add(reason, size, &len, part);
    }
    if (!s->stream.connected) {
        char t[32];

        if (s->stream.disconnected_since_ms > 0 &&
            event_format_time(s->stream.disconnected_since_ms, t,
                              sizeof t) > 0)
            snprintf(part, sizeof part, "stream disconnected since %s", t);
        else if (s->stream.state[0] != '\0')
            snprintf(part, sizeof part, "stream not connected (%.*s)",
                     (int)STATUS_KIND_MAX, s->stream.state);
        else
            snprintf(part, sizeof part, "stream not connected");
        reason_add(reason, size, &len, part);
    }
    if (!s->journal_writable)
        reason_add(reason, size, &len, "journal not writable");
    return s->not_ready_reason[0] == '\0' && s->stream.connected &&
           s->journal_writable;
}

/* ---- /status ------------------------------------------------------------ */

int status_render_json(buf *out, const struct status_snapshot *s,
                       int64_t now_wall_ms, int64_t now_mono_ms)
{
    struct w w = {out, BUF_OK};
    char reason[512];
    int f, ready;
    unsigned i, n;

    ready = status_ready(s, reason, sizeof reason);
    w_raw(&w, "{", 1);
    f = 1;
    j_str(&w, &f, "version", s->version, sizeof s->version);
    j_time(&w, &f, "started_at", s->start_ms);
    j_i64(&w, &f, "uptime_s",
          s->start_ms > 0 && now_wall_ms > s->start_ms
              ? (now_wall_ms - s->start_ms) / 1000
              : 0);
    j_i64(&w, &f, "last_tick_ms_ago",
          now_mono_ms > s->last_tick_mono_ms
              ? now_mono_ms - s->last_tick_mono_ms
              : 0);
    j_bool(&w, &f, "ready", ready);
    w_key(&w, &f, "not_ready_reason");
    if (ready)
        w_str(&w, "null");
    else
        w_jstr(&w, reason, sizeof reason);

    w_key(&w, &f, "stream");
    w_raw(&w, "{", 1);
    {
        int g = 1;

        j_str(&w, &g, "state", s->stream.state, sizeof s->stream.state);
        j_str(&w, &g, "url", s->stream.url, sizeof s->stream.url);
        j_bool(&w, &g, "connected", s->stream.connected);
        j_time(&w, &g, "connected_since", s->stream.connected_since_ms);
        j_time(&w, &g, "disconnected_since",
               s->stream.disconnected_since_ms);
        j_str_or_null(&w, &g, "last_event_id", s->stream.last_event_id,
                      sizeof s->stream.last_event_id);
        j_time(&w, &g, "last_event_at", s->stream.last_event_ms);
        j_age(&w, &g, "last_event_age_s", s->stream.last_event_ms,
              now_wall_ms);
        j_u64(&w, &g, "connects", s->stream.connects);
        j_u64(&w, &g, "reconnects", s->stream.reconnects);
        j_u64(&w, &g, "stalls", s->stream.stalls);
        j_u64(&w, &g, "http_errors", s->stream.http_errors);
        j_u64(&w, &g, "network_errors", s->stream.network_errors);
        j_i64(&w, &g, "last_http_status", (int64_t)s->stream.last_http_status);
    }
    w_raw(&w, "}", 1);

    w_key(&w, &f, "events");
    w_raw(&w, "{", 1);
    {
        int g = 1, h = 1;

        j_u64(&w, &g, "total", s->events.total);
        j_u64(&w, &g, "decoded", s->events.decoded);
        w_key(&w, &g, "errors");
        w_raw(&w, "{", 1);
        for (i = 0; i < EVENT_R_COUNT; i++)
            j_u64(&w, &h, event_reason_name((enum event_reason)i),
                  s->events.errors[i]);
        j_u64(&w, &h, STATUS_REASON_OVERSIZE, s->events.oversize);
        j_u64(&w, &h, STATUS_REASON_INVALID_UTF8, s->events.invalid_utf8);
        w_raw(&w, "}", 1);
        j_u64(&w, &g, "late", s->events.late);
        j_u64(&w, &g, "duplicates", s->events.duplicates);
        j_u64(&w, &g, "untimed", s->events.untimed);
    }
    w_raw(&w, "}", 1);

    w_key(&w, &f, "detectors");
    w_raw(&w, "[", 1);
    n = s->n_detectors < STATUS_MAX_DETECTORS ? s->n_detectors
                                              : STATUS_MAX_DETECTORS;
    for (i = 0; i < n; i++) {
        int g = 1;

        w_str(&w, i ? ",{" : "{");
        j_str(&w, &g, "name", s->detectors[i].name,
              sizeof s->detectors[i].name);
        j_bool(&w, &g, "enabled", s->detectors[i].enabled);
        j_u64(&w, &g, "keys", s->detectors[i].keys);
        j_u64(&w, &g, "firing", s->detectors[i].firing);
        j_u64(&w, &g, "evictions", s->detectors[i].evictions);
        j_u64(&w, &g, "alerts_fired", s->detectors[i].alerts_fired);
        j_u64(&w, &g, "alerts_resolved", s->detectors[i].alerts_resolved);
        w_raw(&w, "}", 1);
    }
    w_raw(&w, "]", 1);

    w_key(&w, &f, "firing");
    w_raw(&w, "[", 1);
    n = s->n_firing < STATUS_MAX_FIRING ? s->n_firing : STATUS_MAX_FIRING;
    for (i = 0; i < n; i++) {
        int g = 1;

        w_str(&w, i ? ",{" : "{");
        j_str(&w, &g, "detector", s->firing[i].detector,
              sizeof s->firing[i].detector);
        j_str(&w, &g, "key", s->firing[i].key, sizeof s->firing[i].key);
        j_str(&w, &g, "severity", s->firing[i].severity,
              sizeof s->firing[i].severity);
        j_time(&w, &g, "started_at", s->firing[i].started_ms);
        j_str(&w, &g, "episode", s->firing[i].episode,
              sizeof s->firing[i].episode);
        w_raw(&w, "}", 1);
    }
    w_raw(&w, "]", 1);
    j_u64(&w, &f, "firing_total",
          s->firing_total > n ? s->firing_total : n);

    w_key(&w, &f, "sinks");
    w_raw(&w, "[", 1);
    n = s->n_sinks < STATUS_MAX_SINKS ? s->n_sinks : STATUS_MAX_SINKS;
    for (i = 0; i < n; i++) {
        int g = 1;

        w_str(&w, i ? ",{" : "{");
        j_str(&w, &g, "name", s->sinks[i].name, sizeof s->sinks[i].name);
        j_str(&w, &g, "kind", s->sinks[i].kind, sizeof s->sinks[i].kind);
        j_u64(&w, &g, "queue_depth", s->sinks[i].queue_depth);
        j_u64(&w, &g, "in_flight", s->sinks[i].in_flight);
        j_u64(&w, &g, "delivered", s->sinks[i].delivered);
        j_u64(&w, &g, "retries", s->sinks[i].retries);
        j_u64(&w, &g, "dead_lettered", s->sinks[i].dead_lettered);
        j_bool(&w, &g, "disabled", s->sinks[i].disabled);
        j_i64(&w, &g, "last_status", (int64_t)s->sinks[i].last_status);
        j_time(&w, &g, "last_success", s->sinks[i].last_success_ms);
        j_time(&w, &g, "last_failure", s->sinks[i].last_failure_ms);
        j_str_or_null(&w, &g, "last_error", s->sinks[i].last_error,
                      sizeof s->sinks[i].last_error);
        w_raw(&w, "}", 1);
    }
    w_raw(&w, "]", 1);

    w_key(&w, &f, "journal");
    w_raw(&w, "{", 1);
    {
        int g = 1;

        j_bool(&w, &g, "writable", s->journal_writable);
    }
    w_raw(&w, "}}\n", 3);
    return w.rc;
}

/* ---- /metrics -----------------------------------------------------------
 * Text exposition format 0.0.4: every family gets # HELP and # TYPE, then
 * its samples; label values escape \ " and newline. */

static void m_family(struct w *w, const char *name, const char *type,
                     const char *help)
{
    w_str(w, "# HELP ");
    w_str(w, name);
    w_raw(w, " ", 1);
    w_str(w, help); /* static text: nothing to escape */
    w_str(w, "\n# TYPE ");
    w_str(w, name);
    w_raw(w, " ", 1);
    w_str(w, type);
    w_raw(w, "\n", 1);
}

static void m_label_value(struct w *w, const char *s, size_t cap)
{
    size_t i, run = 0, n = strnlen(s, cap);

    for (i = 0; i < n; i++) {
        const char *esc = NULL;

        if (s[i] == '\\')
            esc = "\\\\";
        else if (s[i] == '"')
            esc = "\\\"";
        else if (s[i] == '\n')
            esc = "\\n";
        if (esc == NULL)
            continue;
        w_raw(w, s + run, i - run);
        w_str(w, esc);
        run = i + 1;
    }
    w_raw(w, s + run, n - run);
}

/* name{k1="v1",k2="v2"} (labels when k1 / k2 are not NULL), no value. */
static void m_name(struct w *w, const char *name, const char *k1,
                   const char *v1, size_t c1, const char *k2,
                   const char *v2, size_t c2)
{
    w_str(w, name);
    if (k1 == NULL)
        return;
    w_raw(w, "{", 1);
    w_str(w, k1);
    w_raw(w, "=\"", 2);
    m_label_value(w, v1, c1);
    w_raw(w, "\"", 1);
    if (k2 != NULL) {
        w_raw(w, ",", 1);
        w_str(w, k2);
        w_raw(w, "=\"", 2);
        m_label_value(w, v2, c2);
        w_raw(w, "\"", 1);
    }
    w_raw(w, "}", 1);
}

static void m_u64(struct w *w, const char *name, uint64_t v)
{
    m_name(w, name, NULL, NULL, 0, NULL, NULL, 0);
    w_fmt(w, " %" PRIu64 "\n", v);
}

static void m_u64_1(struct w *w, const char *name, const char *k,
                    const char *v, size_t cap, uint64_t val)
{
    m_name(w, name, k, v, cap, NULL, NULL, 0);
    w_fmt(w, " %" PRIu64 "\n", val);
}

static void m_u64_2(struct w *w, const char *name, const char *k1,
                    const char *v1, size_t c1, const char *k2,
                    const char *v2, uint64_t val)
{
    m_name(w, name, k1, v1, c1, k2, v2, strlen(v2));
    w_fmt(w, " %" PRIu64 "\n", val);
}

/* A wall time in seconds with ms precision; 0 when never. */
static void m_secs_1(struct w *w, const char *name, const char *k,
                     const char *v, size_t cap, int64_t ms)
{
    m_name(w, name, k, v, cap, NULL, NULL, 0);
    w_raw(w, " ", 1);
    w_secs(w, ms > 0 ? ms : 0);
    w_raw(w, "\n", 1);
}

int status_render_metrics(buf *out, const struct status_snapshot *s)
{
    struct w w = {out, BUF_OK};
    unsigned i, nd, ns;

    nd = s->n_detectors < STATUS_MAX_DETECTORS ? s->n_detectors
                                               : STATUS_MAX_DETECTORS;
    ns = s->n_sinks < STATUS_MAX_SINKS ? s->n_sinks : STATUS_MAX_SINKS;

    m_family(&w, "toolwatch_up", "gauge", "1 while the service runs.");
    m_u64(&w, "toolwatch_up", 1);
    m_family(&w, "toolwatch_build_info", "gauge",
             "Always 1; the version is in the label.");
    m_u64_1(&w, "toolwatch_build_info", "version", s->version,
            sizeof s->version, 1);
    m_family(&w, "toolwatch_start_time_seconds", "gauge",
             "Unix time the service started.");
    m_secs_1(&w, "toolwatch_start_time_seconds", NULL, NULL, 0, s->start_ms);

    m_family(&w, "toolwatch_events_total", "counter",
             "Audit stream events received.");
    m_u64(&w, "toolwatch_events_total", s->events.total);
    m_family(&w, "toolwatch_events_decoded_total", "counter",
             "Audit records decoded and accepted.");
    m_u64(&w, "toolwatch_events_decoded_total", s->events.decoded);
    m_family(&w, "toolwatch_event_errors_total", "counter",
             "Audit records or fields rejected, by reason (oversize: "
             "events over stream.max_event_bytes, skipped; invalid_utf8: "
             "bytes replaced by U+FFFD).");
    for (i = 0; i < EVENT_R_COUNT; i++) {
        const char *r = event_reason_name((enum event_reason)i);
        m_u64_1(&w, "toolwatch_event_errors_total", "reason", r,
                strlen(r) + 1, s->events.errors[i]);
    }
    m_u64_1(&w, "toolwatch_event_errors_total", "reason",
            STATUS_REASON_OVERSIZE, sizeof STATUS_REASON_OVERSIZE,
            s->events.oversize);
    m_u64_1(&w, "toolwatch_event_errors_total", "reason",
            STATUS_REASON_INVALID_UTF8, sizeof STATUS_REASON_INVALID_UTF8,
            s->events.invalid_utf8);
    m_family(&w, "toolwatch_events_late_total", "counter",
             "Events older than a detector's window.");
    m_u64(&w, "toolwatch_events_late_total", s->events.late);
    m_family(&w, "toolwatch_events_duplicate_total", "counter",
             "Events ignored as duplicate record ids.");
    m_u64(&w, "toolwatch_events_duplicate_total", s->events.duplicates);
    m_family(&w, "toolwatch_events_untimed_total", "counter",
             "Events ignored for want of a timestamp and a clock.");
    m_u64(&w, "toolwatch_events_untimed_total", s->events.untimed);

    m_family(&w, "toolwatch_stream_connected", "gauge",
             "1 while the audit stream is connected.");
    m_u64(&w, "toolwatch_stream_connected", s->stream.connected ? 1 : 0);
    m_family(&w, "toolwatch_stream_connects_total", "counter",
             "Successful audit stream connections.");
    m_u64(&w, "toolwatch_stream_connects_total", s->stream.connects);
    m_family(&w, "toolwatch_stream_reconnects_total", "counter",
             "Audit stream requests after the first.");
    m_u64(&w, "toolwatch_stream_reconnects_total", s->stream.reconnects);
    m_family(&w, "toolwatch_stream_stalls_total", "counter",
             "Audit stream connections dropped for silence.");
    m_u64(&w, "toolwatch_stream_stalls_total", s->stream.stalls);
    m_family(&w, "toolwatch_stream_errors_total", "counter",
             "Audit stream failures, by kind.");
    m_u64_1(&w, "toolwatch_stream_errors_total", "kind", "http", 5,
            s->stream.http_errors);
    m_u64_1(&w, "toolwatch_stream_errors_total", "kind", "network", 8,
            s->stream.network_errors);
    m_family(&w, "toolwatch_last_event_timestamp_seconds", "gauge",
             "Unix time the last audit event was received (0: none).");
    m_secs_1(&w, "toolwatch_last_event_timestamp_seconds", NULL, NULL, 0,
             s->stream.last_event_ms);

    m_family(&w, "toolwatch_alerts_total", "counter",
             "Alert episodes started (firing) and ended (resolved).");
    for (i = 0; i < nd; i++) {
        m_u64_2(&w, "toolwatch_alerts_total", "detector",
                s->detectors[i].name, sizeof s->detectors[i].name, "state",
                "firing", s->detectors[i].alerts_fired);
        m_u64_2(&w, "toolwatch_alerts_total", "detector",
                s->detectors[i].name, sizeof s->detectors[i].name, "state",
                "resolved", s->detectors[i].alerts_resolved);
    }
    m_family(&w, "toolwatch_alerts_firing", "gauge",
             "Alerts open now, per detector.");
    for (i = 0; i < nd; i++)
        m_u64_1(&w, "toolwatch_alerts_firing", "detector",
                s->detectors[i].name, sizeof s->detectors[i].name,
                s->detectors[i].firing);
    m_family(&w, "toolwatch_detector_enabled", "gauge",
             "1 when the detector is enabled.");
    for (i = 0; i < nd; i++)
        m_u64_1(&w, "toolwatch_detector_enabled", "detector",
                s->detectors[i].name, sizeof s->detectors[i].name,
                s->detectors[i].enabled ? 1 : 0);
    m_family(&w, "toolwatch_detector_keys", "gauge",
             "Groups (keys) tracked by the detector.");
    for (i = 0; i < nd; i++)
        m_u64_1(&w, "toolwatch_detector_keys", "detector",
                s->detectors[i].name, sizeof s->detectors[i].name,
                s->detectors[i].keys);
    m_family(&w, "toolwatch_detector_evictions_total", "counter",
             "Groups evicted from a full detector table.");
    for (i = 0; i < nd; i++)
        m_u64_1(&w, "toolwatch_detector_evictions_total", "detector",
                s->detectors[i].name, sizeof s->detectors[i].name,
                s->detectors[i].evictions);

    m_family(&w, "toolwatch_notifications_total", "counter",
             "Notification outcomes per sink.");
    for (i = 0; i < ns; i++) {
        m_u64_2(&w, "toolwatch_notifications_total", "sink", s->sinks[i].name,
                sizeof s->sinks[i].name, "result", "delivered",
                s->sinks[i].delivered);
        m_u64_2(&w, "toolwatch_notifications_total", "sink", s->sinks[i].name,
                sizeof s->sinks[i].name, "result", "retry",
                s->sinks[i].retries);
        m_u64_2(&w, "toolwatch_notifications_total", "sink", s->sinks[i].name,
                sizeof s->sinks[i].name, "result", "dead_lettered",
                s->sinks[i].dead_lettered);
    }
    m_family(&w, "toolwatch_journal_pending", "gauge",
             "Notifications not yet acknowledged, per sink.");
    for (i = 0; i < ns; i++)
        m_u64_1(&w, "toolwatch_journal_pending", "sink", s->sinks[i].name,
                sizeof s->sinks[i].name, s->sinks[i].queue_depth);
    m_family(&w, "toolwatch_notifications_in_flight", "gauge",
             "Requests in flight, per sink.");
    for (i = 0; i < ns; i++)
        m_u64_1(&w, "toolwatch_notifications_in_flight", "sink",
                s->sinks[i].name, sizeof s->sinks[i].name,
                s->sinks[i].in_flight);
    m_family(&w, "toolwatch_sink_disabled", "gauge",
             "1 when the sink answered 410 and is disabled.");
    for (i = 0; i < ns; i++)
        m_u64_1(&w, "toolwatch_sink_disabled", "sink", s->sinks[i].name,
                sizeof s->sinks[i].name, s->sinks[i].disabled ? 1 : 0);
    m_family(&w, "toolwatch_sink_last_success_timestamp_seconds", "gauge",
             "Unix time of the sink's last delivery (0: none).");
    for (i = 0; i < ns; i++)
        m_secs_1(&w, "toolwatch_sink_last_success_timestamp_seconds", "sink",
                 s->sinks[i].name, sizeof s->sinks[i].name,
                 s->sinks[i].last_success_ms);

    m_family(&w, "toolwatch_journal_writable", "gauge",
             "1 when the delivery journal's last write succeeded.");
    m_u64(&w, "toolwatch_journal_writable", s->journal_writable ? 1 : 0);
    return w.rc;
}

/* ---- the HTTP side ------------------------------------------------------ */

/* libmicrohttpd's own messages.  While the daemon starts they explain a
 * failure (e.g. the port is taken): errors.  Once it runs they are mostly
 * about clients (a connection closed mid-request, the connection limit
 * reached): info, rate-limited by the logger. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    status_server *srv = cls;
    char msg[256];
    size_t n;

    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (atomic_load(&srv->running))
        LOG(LOG_INFO, "status", "libmicrohttpd: %s", msg);
    else
        LOG(LOG_ERROR, "status", "libmicrohttpd: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             const char *ctype, const char *body, size_t len,
                             const char *allow, int challenge)
{
    struct MHD_Response *r;
    enum MHD_Result ret = MHD_NO;

    r = MHD_create_response_from_buffer(len, (void *)body,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        goto out;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) !=
            MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store") != MHD_YES ||
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") !=
            MHD_YES)
        goto out;
    if (allow != NULL &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)
        goto out;
    if (challenge &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"toolwatch\"") != MHD_YES)
        goto out;
    ret = MHD_queue_response(c, code, r);
out:
    if (r != NULL)
        MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned code,
                                  const char *body)
{
    return reply(c, code, JSON_CTYPE, body, strlen(body), NULL, 0);
}

static void token_hash(const status_server *srv, const char *tok, size_t n,
                       unsigned char out[TOKEN_HASH_BYTES])
{
    crypto_generichash(out, TOKEN_HASH_BYTES, (const unsigned char *)tok, n,
                       srv->token_key, sizeof srv->token_key);
}

/* Does the request carry "Authorization: Bearer <our token>"?  The scheme
 * is case-insensitive (RFC 7235); the token is compared as keyed hashes in
 * constant time, whatever its length. */
static int authorized(const status_server *srv, struct MHD_Connection *c)
{
    unsigned char h[TOKEN_HASH_BYTES];
    const char *v = NULL;
    size_t n = 0;
    int ok = 0;

    if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_AUTHORIZATION,
                                      strlen(MHD_HTTP_HEADER_AUTHORIZATION),
                                      &v, &n) != MHD_YES ||
        v == NULL)
        goto out;
    if (n < 7 || strncasecmp(v, "Bearer ", 7) != 0)
        goto out;
    v += 7;
    n -= 7;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    token_hash(srv, v, n, h);
    ok = sodium_memcmp(h, srv->token_hash, sizeof h) == 0;
    sodium_memzero(h, sizeof h);
out:
    return ok;
}

static enum route route_of(const char *url)
{
    if (strcmp(url, "/healthz") == 0)
        return R_HEALTHZ;
    if (strcmp(url, "/readyz") == 0)
        return R_READYZ;
    if (strcmp(url, "/status") == 0)
        return R_STATUS;
    if (strcmp(url, "/metrics") == 0)
        return R_METRICS;
    return R_NONE;
}

static enum MHD_Result on_healthz(status_server *srv, struct MHD_Connection *c)
{
    int64_t age = clock_mono_ms() - srv->view.last_tick_mono_ms;
    char body[96];

    if (age < 0)
        age = 0;
    if ((uint64_t)age <= srv->stall_ms)
        return reply_json(c, MHD_HTTP_OK, "{\"status\":\"ok\"}\n");
    snprintf(body, sizeof body,
             "{\"status\":\"stalled\",\"last_tick_ms_ago\":%" PRId64 "}\n",
             age);
    return reply_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result on_document(status_server *srv,
                                   struct MHD_Connection *c, enum route rt)
{
    char reason[512];
    enum MHD_Result ret;
    unsigned code = MHD_HTTP_OK;
    const char *ctype = JSON_CTYPE;
    buf b;
    int rc;

    buf_init(&b, STATUS_BODY_MAX);
    if (rt == R_READYZ) {
        struct w w = {&b, BUF_OK};

        if (status_ready(&srv->view, reason, sizeof reason)) {
            w_str(&w, "{\"ready\":true}\n");
        } else {
            code = MHD_HTTP_SERVICE_UNAVAILABLE;
            w_str(&w, "{\"ready\":false,\"reason\":");
            w_jstr(&w, reason, sizeof reason);
            w_str(&w, "}\n");
        }
        rc = w.rc;
    } else if (rt == R_STATUS) {
        rc = status_render_json(&b, &srv->view, clock_wall_ms(),
                                clock_mono_ms());
    } else {
        ctype = METRICS_CTYPE;
        rc = status_render_metrics(&b, &srv->view);
    }
    if (rc != BUF_OK) {
        LOG(LOG_ERROR, "status", "cannot render %s: %s",
            rt == R_STATUS   ? "/status"
            : rt == R_READYZ ? "/readyz"
                             : "/metrics",
            rc == BUF_ETOOBIG ? "too big" : "out of memory");
        ret = reply_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "{\"error\":\"internal error\"}\n");
        goto out;
    }
    ret = reply(c, code, ctype, b.data, b.len, NULL, 0);
out:
    buf_free(&b);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    status_server *srv = cls;
    enum route rt = route_of(url);

    (void)version;
    (void)upload;
    if (*req_cls != NULL) {
        /* A body after we answered: discard it. */
        *upload_size = 0;
        return MHD_YES;
    }
    *req_cls = srv;
    if (rt != R_HEALTHZ && srv->has_token && !authorized(srv, c)) {
        static const char msg[] = "{\"error\":\"unauthorized\"}\n";
        return reply(c, MHD_HTTP_UNAUTHORIZED, JSON_CTYPE, msg,
                     sizeof msg - 1, NULL, 1);
    }
    if (rt == R_NONE)
        return reply_json(c, MHD_HTTP_NOT_FOUND,
                          "{\"error\":\"not found\"}\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char msg[] = "{\"error\":\"method not allowed\"}\n";
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, JSON_CTYPE, msg,
                     sizeof msg - 1, "GET, HEAD", 0);
    }
    pthread_mutex_lock(&srv->mu);
    memcpy(&srv->view, &srv->pub, sizeof srv->view);
    pthread_mutex_unlock(&srv->mu);
    if (rt == R_HEALTHZ)
        return on_healthz(srv, c);
    return on_document(srv, c, rt);
}

/* ---- life cycle --------------------------------------------------------- */

status_server *status_create(const struct status_options *o, int *err)
{
    struct status_options d;
    status_server *srv = NULL;
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    const char *host;
    int rc = STATUS_OK;

    status_options_defaults(&d);
    if (o == NULL)
        o = &d;
    host = o->bind_addr != NULL ? o->bind_addr : d.bind_addr;
    memset(&addr, 0, sizeof addr);
    if (inet_pton(AF_INET, host, &addr.in4.sin_addr) == 1) {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons(o->port);
    } else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(o->port);
        flags |= MHD_USE_IPv6;
    } else {
        LOG(LOG_ERROR, "status", "bind address %s is not a numeric IP",
            host);
        rc = STATUS_EINVAL;
        goto out;
    }
    if (o->token != NULL && o->token[0] == '\0') {
        LOG(LOG_ERROR, "status", "the status token is set but empty");
        rc = STATUS_EINVAL;
        goto out;
    }
    if (sodium_init() < 0) {
        rc = STATUS_ENOMEM;
        goto out;
    }
    srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        rc = STATUS_ENOMEM;
        goto out;
    }
    if (pthread_mutex_init(&srv->mu, NULL) != 0) {
        rc = STATUS_ENOMEM;
        goto out;
    }
    srv->mu_ok = 1;
    srv->stall_ms = o->health_stall_ms ? o->health_stall_ms
                                       : d.health_stall_ms;
    srv->pub.last_tick_mono_ms = clock_mono_ms();
    snprintf(srv->pub.not_ready_reason, sizeof srv->pub.not_ready_reason,
             "starting");
    if (o->token != NULL) {
        srv->has_token = 1;
        randombytes_buf(srv->token_key, sizeof srv->token_key);
        token_hash(srv, o->token, strlen(o->token), srv->token_hash);
    }
    srv->daemon = MHD_start_daemon(
        flags, o->port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)srv,
        MHD_OPTION_SOCK_ADDR, &addr.sa,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(o->max_connections ? o->max_connections
                                      : d.max_connections),
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(o->timeout_s ? o->timeout_s : d.timeout_s),
        MHD_OPTION_END);
    if (srv->daemon == NULL) {
        LOG(LOG_ERROR, "status", "cannot listen on %s port %u", host,
            (unsigned)o->port);
        rc = STATUS_ELISTEN;
        goto out;
    }
    atomic_store(&srv->running, 1);
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : o->port;
    LOG(LOG_INFO, "status", "listening on http://%s%s%s:%u/ (%s)",
        (flags & MHD_USE_IPv6) ? "[" : "", host,
        (flags & MHD_USE_IPv6) ? "]" : "", (unsigned)srv->port,
        srv->has_token ? "bearer token required except for /healthz"
                       : "no token");
    if (!srv->has_token &&
        !((flags & MHD_USE_IPv6)
              ? IN6_IS_ADDR_LOOPBACK(&addr.in6.sin6_addr)
              : (ntohl(addr.in4.sin_addr.s_addr) >> 24) == 127))
        LOG(LOG_WARN, "status", "%s is not a loopback address and no token "
            "is set: anyone who can reach port %u can read /status and "
            "/metrics (set status.token_env)", host, (unsigned)srv->port);
out:
    if (rc != STATUS_OK) {
        status_destroy(srv);
        srv = NULL;
    }
    if (err != NULL)
        *err = rc;
    return srv;
}

void status_publish(status_server *srv, const struct status_snapshot *snap)
{
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->mu);
    memcpy(&srv->pub, snap, sizeof srv->pub);
    pthread_mutex_unlock(&srv->mu);
}

uint16_t status_port(const status_server *srv)
{
    return srv->port;
}

void status_destroy(status_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    if (srv->mu_ok)
        pthread_mutex_destroy(&srv->mu);
    sodium_memzero(srv->token_key, sizeof srv->token_key);
    sodium_memzero(srv->token_hash, sizeof srv->token_hash);
    free(srv);
}

const char *status_strerror(int rc)
{
    switch (rc) {
    case STATUS_OK:
        return "success";
    case STATUS_ENOMEM:
        return "out of memory";
    case STATUS_EINVAL:
        return "invalid status server options";
    case STATUS_ELISTEN:
        return "cannot listen on the status address";
    default:
        return "unknown status error";
    }
}
