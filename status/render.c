/*
 * render.c - the status documents as pure functions of a snapshot:
 * /status (JSON), /metrics (Prometheus text format 0.0.4), /healthz and
 * /readyz.
 *
 * Why pure: the server (server.c) renders on its own thread from a private
 * copy of the snapshot; keeping the documents free of clocks, locks and
 * I/O lets the tests pin them byte by byte and lets anything that prints
 * the same documents call these functions directly.
 *
 * Invariants:
 *  - nothing here reads a clock or global state: the same snapshot and
 *    clock arguments give the same bytes;
 *  - every string of the snapshot is read up to its array's size at most
 *    (strnlen), NUL or not; array counts are clamped to their capacity;
 *  - /status and /metrics are walked from one table (`fields`), so a
 *    counter shown in both is declared once;
 *  - writers carry the first buf error, and a renderer returns it after
 *    making all its calls (a partial document is the caller's to drop).
 */
#include "status/render.h"

#include "base/clock.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* status_ready()'s text: every reason at once, and room to spare */
#define READY_REASON_MAX (STATUS_REASON_MAX + 256)

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
            w->rc = BUF_ETOOBIG; /* only numbers and short fixed text */
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
    if (ms <= 0 || clock_format_iso8601(ms, t, sizeof t) < 0)
        w_str(w, "null");
    else
        w_jstr(w, t, sizeof t);
}

/* Milliseconds as seconds with three decimals ("12.345"); ms >= 0. */
static void w_secs(struct w *w, int64_t ms)
{
    w_fmt(w, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
}

/* Milliseconds as seconds with three decimals, signed ("-1.500"). */
static void w_ssecs(struct w *w, int64_t ms)
{
    if (ms < 0) {
        w_raw(w, "-", 1);
        ms = ms == INT64_MIN ? INT64_MAX : -ms;
    }
    w_secs(w, ms);
}

/* Microseconds as seconds with six decimals ("0.012345"); < 0 as 0. */
static void w_usecs(struct w *w, int64_t us)
{
    if (us < 0)
        us = 0;
    w_fmt(w, "%" PRId64 ".%06d", us / 1000000, (int)(us % 1000000));
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

/* Do events arrive later than the bound allows? */
static int lagging(const struct status_snapshot *s)
{
    return s->stream.max_lag_ms > 0 && s->stream.lag_ms > s->stream.max_lag_ms;
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
            clock_format_iso8601(s->stream.disconnected_since_ms, t,
                              sizeof t) > 0)
            snprintf(part, sizeof part, "stream disconnected since %s", t);
        else if (s->stream.state[0] != '\0')
            snprintf(part, sizeof part, "stream not connected (%.*s)",
                     (int)STATUS_KIND_MAX, s->stream.state);
        else
            snprintf(part, sizeof part, "stream not connected");
        reason_add(reason, size, &len, part);
    }
    if (lagging(s)) {
        snprintf(part, sizeof part,
                 "stream lag %" PRId64 " s over stream.max_lag_s (%" PRId64
                 " s)", s->stream.lag_ms / 1000, s->stream.max_lag_ms / 1000);
        reason_add(reason, size, &len, part);
    }
    if (!s->journal_writable)
        reason_add(reason, size, &len, "journal not writable");
    return s->not_ready_reason[0] == '\0' && s->stream.connected &&
           !lagging(s) && s->journal_writable;
}

/* ---- what /status and /metrics show -------------------------------------
 * One table, `fields`, in /status order: a row is a /status key, how the
 * value is shown, the /status object it sits in (its scope: for an array,
 * the snapshot array it repeats over), the snapshot member it reads
 * (offsetof, its type checked at compile time) and, when the value is also
 * a metric, its /metrics family.  /metrics writes the families in
 * increasing mpos; rows sharing an mpos are one family (the first gives
 * its type and help) whose samples go item by item, then row by row
 * (alerts_total: a rule's firing, its resolved, the next rule's
 * ...).  A new counter is one row. */

enum scope {
    SC_TOP,      /* the top-level object */
    SC_STREAM,   /* "stream": {...} */
    SC_EVENTS,   /* "events": {...} */
    SC_DETECTOR, /* "rules": [...]; metrics labelled rule="<name>" */
    SC_FIRING,   /* "firing": [...] */
    SC_SINK,     /* "sinks": [...]; metrics labelled sink="<name>" */
    SC_JOURNAL,  /* "journal": {...} */
    SC_CONFIG,   /* "config": {...} */
    SC_ONCALL,   /* "oncall": {...}, silences and the notification gate,
                    before "config" */
    SC_CHECKPOINT, /* "checkpoint": {...} */
    SC_COUNT
};

enum kind {
    K_ONE,      /* /metrics only: the constant 1 */
    K_U64,      /* uint64_t */
    K_BOOL,     /* int: true / false; metric 1 / 0 */
    K_OK,       /* int, a failure flag: 0 shows true / 1, else false / 0 */
    K_LONG,     /* long: a JSON number */
    K_TIME,     /* int64_t wall ms: ISO 8601 or null; metric Unix seconds */
    K_AGE,      /* int64_t wall ms: its age in seconds, or null */
    K_SECS,     /* int64_t ms, signed: seconds (three decimals), in both */
    K_USEC,     /* int64_t microseconds: seconds (6 decimals) */
    K_STR,      /* char array: a string; metric: 1 labelled lk="<it>" */
    K_STR_NULL, /* char array: a string, or null when empty */
    K_REASONS,  /* the event error counts by reason (reason_count()) */
    K_HIST      /* struct latency_hist: a histogram in seconds (/metrics
                   only) */
};

struct field {
    const char *key;    /* /status key; NULL: /metrics only */
    enum kind kind;
    enum scope scope;
    size_t off;         /* offsetof the member (item 0 of an array) */
    size_t size;        /* sizeof the member */
    int mpos;           /* /metrics position; 0: not a metric */
    const char *metric; /* family name */
    const char *type;   /* "counter" / "gauge" (first row of a family) */
    const char *help;   /* static text, nothing to escape (likewise) */
    const char *lk;     /* a label of the samples, or NULL */
    const char *lv;     /* its value (K_STR: the string itself) */
};

#define SNAP_SIZE(m_) sizeof(((struct status_snapshot *)0)->m_)
/* offsetof(m_), refusing to compile unless m_ has type T_ (arrays: T_ *) */
#define SNAP_OFF(T_, m_)                                                    \
    (offsetof(struct status_snapshot, m_) +                                 \
     0 * sizeof(_Generic(((struct status_snapshot *)0)->m_, T_: 1)))
#define ROW(key_, kind_, T_, sc_, m_)                                       \
    .key = (key_), .kind = (kind_), .scope = (sc_),                         \
    .off = SNAP_OFF(T_, m_), .size = SNAP_SIZE(m_)
#define F_U64(k_, sc_, m_) ROW(k_, K_U64, uint64_t, sc_, m_)
#define F_BOOL(k_, sc_, m_) ROW(k_, K_BOOL, int, sc_, m_)
#define F_OK(k_, sc_, m_) ROW(k_, K_OK, int, sc_, m_)
#define F_LONG(k_, sc_, m_) ROW(k_, K_LONG, long, sc_, m_)
#define F_TIME(k_, sc_, m_) ROW(k_, K_TIME, int64_t, sc_, m_)
#define F_AGE(k_, sc_, m_) ROW(k_, K_AGE, int64_t, sc_, m_)
#define F_SECS(k_, sc_, m_) ROW(k_, K_SECS, int64_t, sc_, m_)
#define F_USEC(k_, sc_, m_) ROW(k_, K_USEC, int64_t, sc_, m_)
#define F_HIST(sc_, m_) ROW(NULL, K_HIST, struct latency_hist, sc_, m_)
#define F_STR(k_, sc_, m_) ROW(k_, K_STR, char *, sc_, m_)
#define F_STR_NULL(k_, sc_, m_) ROW(k_, K_STR_NULL, char *, sc_, m_)
#define METRIC(pos_, name_, type_, help_)                                   \
    .mpos = (pos_), .metric = (name_), .type = (type_), .help = (help_)
#define LABEL(k_, v_) .lk = (k_), .lv = (v_)
#define COUNTER "counter"
#define GAUGE "gauge"
#define HISTOGRAM "histogram"

static const struct field fields[] = {
    {F_STR("version", SC_TOP, version), LABEL("version", NULL),
     METRIC(20, "toolwatch_build_info", GAUGE,
            "Always 1; the version is in the label.")},
    {F_TIME("started_at", SC_TOP, start_ms),
     METRIC(30, "toolwatch_start_time_seconds", GAUGE,
            "Unix time the service started.")},
    {F_STR("detection", SC_TOP, detection)},
    {F_BOOL(NULL, SC_TOP, detection_unknown),
     METRIC(35, "toolwatch_detection_unknown", GAUGE,
            "1 while the audit stream is disconnected or stalled: the rules "
            "are not judged, their state is unknown (nothing resolves).")},

    {F_STR("state", SC_STREAM, stream.state)},
    {F_STR("url", SC_STREAM, stream.url)},
    {F_BOOL("connected", SC_STREAM, stream.connected),
     METRIC(100, "toolwatch_stream_connected", GAUGE,
            "1 while the audit stream is connected.")},
    {F_TIME("connected_since", SC_STREAM, stream.connected_since_ms)},
    {F_TIME("disconnected_since", SC_STREAM, stream.disconnected_since_ms)},
    {F_STR_NULL("last_event_id", SC_STREAM, stream.last_event_id)},
    {F_TIME("last_event_at", SC_STREAM, stream.last_event_ms),
     METRIC(150, "toolwatch_last_event_timestamp_seconds", GAUGE,
            "Unix time the last audit event was received (0: none).")},
    {F_AGE("last_event_age_s", SC_STREAM, stream.last_event_ms)},
    {F_SECS("lag_s", SC_STREAM, stream.lag_ms),
     METRIC(155, "toolwatch_stream_lag_seconds", GAUGE,
            "How long after their timestamps the audit stream's events "
            "arrive: the smallest lag of the last 30 s, held while the "
            "stream is quiet.")},
    {F_SECS("max_lag_s", SC_STREAM, stream.max_lag_ms)},
    {F_U64("clock_jumps", SC_STREAM, stream.clock_jumps),
     METRIC(157, "toolwatch_stream_clock_jumps_total", COUNTER,
            "Times the stream's own time moved ahead: events stamped far "
            "ahead of it, in step with each other, taken as its new "
            "time.")},
    {F_U64("connects", SC_STREAM, stream.connects),
     METRIC(110, "toolwatch_stream_connects_total", COUNTER,
            "Successful audit stream connections.")},
    {F_U64("reconnects", SC_STREAM, stream.reconnects),
     METRIC(120, "toolwatch_stream_reconnects_total", COUNTER,
            "Audit stream requests after the first.")},
    {F_U64("stalls", SC_STREAM, stream.stalls),
     METRIC(130, "toolwatch_stream_stalls_total", COUNTER,
            "Audit stream connections dropped for silence.")},
    {F_U64("http_errors", SC_STREAM, stream.http_errors),
     LABEL("kind", "http"),
     METRIC(140, "toolwatch_stream_errors_total", COUNTER,
            "Audit stream failures, by kind.")},
    {F_U64("network_errors", SC_STREAM, stream.network_errors),
     LABEL("kind", "network"),
     METRIC(140, "toolwatch_stream_errors_total", NULL, NULL)},
    {F_LONG("last_http_status", SC_STREAM, stream.last_http_status)},

    {F_U64("total", SC_EVENTS, events.total),
     METRIC(40, "toolwatch_events_total", COUNTER,
            "Audit stream events received.")},
    {F_U64("decoded", SC_EVENTS, events.decoded),
     METRIC(50, "toolwatch_events_decoded_total", COUNTER,
            "Audit records decoded and accepted.")},
    {ROW("errors", K_REASONS, uint64_t *, SC_EVENTS, events.errors),
     LABEL("reason", NULL),
     METRIC(60, "toolwatch_event_errors_total", COUNTER,
            "Audit records or fields rejected, by reason (oversize: events "
            "over stream.max_event_bytes, skipped; invalid_utf8: bytes "
            "replaced by U+FFFD).")},
    {F_U64("late", SC_EVENTS, events.late),
     METRIC(70, "toolwatch_events_late_total", COUNTER,
            "Events older than a rule's window.")},
    {F_U64("duplicates", SC_EVENTS, events.duplicates),
     METRIC(80, "toolwatch_events_duplicate_total", COUNTER,
            "Events ignored as duplicate record ids.")},
    {F_U64("untimed", SC_EVENTS, events.untimed),
     METRIC(90, "toolwatch_events_untimed_total", COUNTER,
            "Events ignored for want of a timestamp and a clock.")},
    {F_U64("clamped", SC_EVENTS, events.clamped),
     METRIC(95, "toolwatch_events_clamped_total", COUNTER,
            "Events stamped too far ahead (of the wall clock, or of the "
            "stream's own time), counted at the stream's time instead.")},

    {F_STR("name", SC_DETECTOR, detectors[0].name)},
    {F_BOOL("enabled", SC_DETECTOR, detectors[0].enabled),
     METRIC(190, "toolwatch_rule_enabled", GAUGE,
            "1 when the rule is in force.")},
    {F_U64("keys", SC_DETECTOR, detectors[0].keys),
     METRIC(200, "toolwatch_rule_keys", GAUGE,
            "Groups (keys) tracked by the rule.")},
    {F_U64("firing", SC_DETECTOR, detectors[0].firing),
     METRIC(180, "toolwatch_alerts_firing", GAUGE,
            "Alert episodes open now, per rule.")},
    {F_U64("evictions", SC_DETECTOR, detectors[0].evictions),
     METRIC(210, "toolwatch_rule_evictions_total", COUNTER,
            "Groups evicted from a rule's full table.")},
    {F_U64("groups_full", SC_DETECTOR, detectors[0].groups_full),
     METRIC(212, "toolwatch_rule_groups_full_total", COUNTER,
            "Events of new groups a rule had no room for, every group "
            "having an open alert (its overflow group took them, for the "
            "kinds that run one).")},
    {F_U64("overflow_events", SC_DETECTOR, detectors[0].overflow_events),
     METRIC(214, "toolwatch_rule_overflow_events", GAUGE,
            "Events the rule's overflow group has taken since it was made "
            "(0: no overflow group now).")},
    {F_BOOL("at_capacity", SC_DETECTOR, detectors[0].at_capacity),
     METRIC(216, "toolwatch_rule_at_capacity", GAUGE,
            "1 while the rule's rule_capacity warning is open: every group "
            "it may keep has an open alert.")},
    {F_U64("alerts_fired", SC_DETECTOR, detectors[0].alerts_fired),
     LABEL("state", "firing"),
     METRIC(170, "toolwatch_alerts_total", COUNTER,
            "Alert episodes started (firing) and ended (resolved).")},
    {F_U64("alerts_resolved", SC_DETECTOR, detectors[0].alerts_resolved),
     LABEL("state", "resolved"),
     METRIC(170, "toolwatch_alerts_total", NULL, NULL)},
    {F_STR("detection", SC_DETECTOR, detectors[0].detection)},
    {F_BOOL(NULL, SC_DETECTOR, detectors[0].unknown),
     METRIC(205, "toolwatch_rule_unknown", GAUGE,
            "1 while the rule is not judged (the stream disconnected or "
            "stalled): its state is unknown, not clear.")},

    {F_STR("rule", SC_FIRING, firing[0].detector)},
    {F_STR("key", SC_FIRING, firing[0].key)},
    {F_STR("severity", SC_FIRING, firing[0].severity)},
    {F_TIME("started_at", SC_FIRING, firing[0].started_ms)},
    {F_STR("episode", SC_FIRING, firing[0].episode)},
    {F_STR_NULL("silenced_by", SC_FIRING, firing[0].silenced_by)},
    {F_STR_NULL("inhibited_by", SC_FIRING, firing[0].inhibited_by)},
    {F_STR_NULL("acked_by", SC_FIRING, firing[0].acked_by)},
    {F_TIME("acked_at", SC_FIRING, firing[0].acked_ms)},

    {F_STR("name", SC_SINK, sinks[0].name)},
    {F_STR("kind", SC_SINK, sinks[0].kind)},
    {F_U64("queue_depth", SC_SINK, sinks[0].queue_depth),
     METRIC(230, "toolwatch_journal_pending", GAUGE,
            "Notifications not yet acknowledged, per sink.")},
    {F_U64("in_flight", SC_SINK, sinks[0].in_flight),
     METRIC(240, "toolwatch_notifications_in_flight", GAUGE,
            "Requests in flight, per sink.")},
    {F_U64("delivered", SC_SINK, sinks[0].delivered),
     LABEL("result", "delivered"),
     METRIC(220, "toolwatch_notifications_total", COUNTER,
            "Notifications per sink by outcome; result=\"retry\" counts "
            "those that needed a retry, once each, and they count again "
            "in their final outcome.")},
    {F_U64("retries", SC_SINK, sinks[0].retries)},
    {F_U64("retried", SC_SINK, sinks[0].retried), LABEL("result", "retry"),
     METRIC(220, "toolwatch_notifications_total", NULL, NULL)},
    {F_U64("requests", SC_SINK, sinks[0].requests),
     METRIC(222, "toolwatch_notification_requests_total", COUNTER,
            "Requests (or file writes) made, per sink: the first attempts "
            "and the retries.")},
    {F_HIST(SC_SINK, sinks[0].latency),
     METRIC(225, "toolwatch_notification_latency_seconds", HISTOGRAM,
            "Time from a notification's creation to the receiver's 2xx "
            "(or the file's fsync), per sink; retries included.")},
    {F_U64("dead_lettered", SC_SINK, sinks[0].dead_lettered),
     LABEL("result", "dead_lettered"),
     METRIC(220, "toolwatch_notifications_total", NULL, NULL)},
    {F_U64("digested", SC_SINK, sinks[0].digested),
     LABEL("result", "digested"),
     METRIC(220, "toolwatch_notifications_total", NULL, NULL)},
    {F_U64("dropped", SC_SINK, sinks[0].dropped),
     LABEL("result", "dropped"),
     METRIC(220, "toolwatch_notifications_total", NULL, NULL)},
    {F_U64("spilled", SC_SINK, sinks[0].spilled),
     METRIC(235, "toolwatch_journal_spilled", GAUGE,
            "Notifications of the queue held in the journal only, per "
            "sink.")},
    {F_BOOL("disabled", SC_SINK, sinks[0].disabled),
     METRIC(250, "toolwatch_sink_disabled", GAUGE,
            "1 when the sink answered 410 and is disabled.")},
    {F_LONG("last_status", SC_SINK, sinks[0].last_status)},
    {F_TIME("last_success", SC_SINK, sinks[0].last_success_ms),
     METRIC(260, "toolwatch_sink_last_success_timestamp_seconds", GAUGE,
            "Unix time of the sink's last delivery (0: none).")},
    {F_TIME("last_failure", SC_SINK, sinks[0].last_failure_ms)},
    {F_STR_NULL("last_error", SC_SINK, sinks[0].last_error)},

    {F_BOOL("writable", SC_JOURNAL, journal_writable),
     METRIC(270, "toolwatch_journal_writable", GAUGE,
            "1 when the delivery journal's last write succeeded.")},

    {F_U64("silences_active", SC_ONCALL, oncall.silences_active),
     LABEL("state", "active"),
     METRIC(272, "toolwatch_silences", GAUGE,
            "Silences kept, by state (expired ones until pruned).")},
    {F_U64("silences_pending", SC_ONCALL, oncall.silences_pending),
     LABEL("state", "pending"),
     METRIC(272, "toolwatch_silences", NULL, NULL)},
    {F_U64("silences_expired", SC_ONCALL, oncall.silences_expired),
     LABEL("state", "expired"),
     METRIC(272, "toolwatch_silences", NULL, NULL)},
    {F_U64("silenced", SC_ONCALL, oncall.silenced),
     LABEL("reason", "silenced"),
     METRIC(274, "toolwatch_notifications_suppressed_total", COUNTER,
            "Notifications not sent to any sink, by reason (silenced; "
            "acked: a repeat of an acknowledged episode; unfired: a resolve "
            "whose firing never went out).")},
    {F_U64("acked", SC_ONCALL, oncall.acked), LABEL("reason", "acked"),
     METRIC(274, "toolwatch_notifications_suppressed_total", NULL, NULL)},
    {F_U64("unfired", SC_ONCALL, oncall.unfired), LABEL("reason", "unfired"),
     METRIC(274, "toolwatch_notifications_suppressed_total", NULL, NULL)},
    {F_U64("inhibited", SC_ONCALL, oncall.inhibited),
     METRIC(275, "toolwatch_notifications_inhibited_total", COUNTER,
            "Notifications not sent because an open episode inhibits "
            "them (the config's inhibit rules).")},
    {F_U64("released", SC_ONCALL, oncall.released),
     METRIC(276, "toolwatch_notifications_released_total", COUNTER,
            "Held firings sent when the silence muting them ended.")},
    {F_U64("untracked", SC_ONCALL, oncall.untracked),
     METRIC(278, "toolwatch_episodes_untracked_total", COUNTER,
            "Episodes past the notification gate's caps, sent as if no "
            "silence or acknowledgement existed.")},

    {F_OK("last_reload_ok", SC_CONFIG, config.last_reload_failed),
     METRIC(280, "toolwatch_config_last_reload_successful", GAUGE,
            "1 when the last configuration reload was taken (or none was "
            "tried), 0 when it was refused.")},
    {F_TIME("last_reload_at", SC_CONFIG, config.last_reload_ms)},
    {F_STR_NULL("last_reload_error", SC_CONFIG, config.last_reload_error)},
    {F_TIME("loaded_at", SC_CONFIG, config.loaded_ms),
     METRIC(290, "toolwatch_config_last_reload_success_timestamp_seconds",
            GAUGE, "Unix time the configuration in force was loaded (the "
            "start, or the last reload taken).")},
    {F_U64("reloads", SC_CONFIG, config.reloads),
     METRIC(300, "toolwatch_config_reloads_total", COUNTER,
            "Configuration reloads tried (SIGHUP).")},
    {F_U64("reload_failures", SC_CONFIG, config.reload_failures),
     METRIC(310, "toolwatch_config_reload_failures_total", COUNTER,
            "Configuration reloads refused; the running configuration "
            "stayed.")},

    {F_TIME("last_success", SC_CHECKPOINT, checkpoint.last_success_ms),
     METRIC(320, "toolwatch_checkpoint_last_success_timestamp_seconds",
            GAUGE, "Unix time the last detection checkpoint was written "
            "(0: none yet).")},
    {F_U64("bytes", SC_CHECKPOINT, checkpoint.bytes),
     METRIC(330, "toolwatch_checkpoint_size_bytes", GAUGE,
            "Size of the last detection checkpoint written.")},
    {F_USEC("write_s", SC_CHECKPOINT, checkpoint.write_us),
     METRIC(340, "toolwatch_checkpoint_write_duration_seconds", GAUGE,
            "How long the last checkpoint took to write (temporary file, "
            "fsync, rename, directory fsync; off the event loop).")},
    {F_USEC("serialize_s", SC_CHECKPOINT, checkpoint.serialize_us),
     METRIC(350, "toolwatch_checkpoint_serialize_duration_seconds", GAUGE,
            "How long the last checkpoint took to serialize (on the event "
            "loop, between events).")},
    {F_U64("writes", SC_CHECKPOINT, checkpoint.writes),
     METRIC(360, "toolwatch_checkpoint_writes_total", COUNTER,
            "Detection checkpoints written.")},
    {F_U64("failures", SC_CHECKPOINT, checkpoint.failures),
     METRIC(370, "toolwatch_checkpoint_failures_total", COUNTER,
            "Detection checkpoints not written (an I/O error, or over "
            "detectors.checkpoint_max_mb); the previous one stays.")},
    {F_U64("refused", SC_CHECKPOINT, checkpoint.refused),
     METRIC(380, "toolwatch_checkpoint_refused_total", COUNTER,
            "Checkpoints refused at start-up (damaged, truncated, another "
            "version or instance): the state started fresh.")},
    {F_U64("not_resent", SC_CHECKPOINT, checkpoint.not_resent),
     METRIC(390, "toolwatch_checkpoint_not_resent_total", COUNTER,
            "Notifications made again from events read again after a "
            "restart and not sent: the journal held them already.")},
};

#define N_FIELDS (sizeof fields / sizeof fields[0])

/* An array scope: its item label, its count member, capacity, item size
 * and the name of item 0. */
#define ITEMS(label_, n_, a_)                                               \
    .array = 1, .label = (label_), .count_off = SNAP_OFF(unsigned, n_),     \
    .max = SNAP_SIZE(a_) / SNAP_SIZE(a_[0]), .stride = SNAP_SIZE(a_[0])
#define NAMED(a_)                                                           \
    .name_off = SNAP_OFF(char *, a_[0].name), .name_size = SNAP_SIZE(a_[0].name)

static const struct scope_desc {
    const char *key;   /* in /status; NULL: the top-level object */
    int array;         /* repeats over an array of the snapshot */
    const char *label; /* /metrics label of an item, valued by its name */
    size_t count_off;  /* array: offsetof its unsigned count */
    unsigned max;      /* array: its capacity (the count is clamped) */
    size_t stride;     /* array: sizeof an item */
    size_t name_off;   /* labelled: the name of item 0 */
    size_t name_size;
} scopes[SC_COUNT] = {
    [SC_TOP] = {.key = NULL},
    [SC_STREAM] = {.key = "stream"},
    [SC_EVENTS] = {.key = "events"},
    [SC_DETECTOR] = {.key = "rules", ITEMS("rule", n_detectors,
                                           detectors), NAMED(detectors)},
    [SC_FIRING] = {.key = "firing", ITEMS(NULL, n_firing, firing)},
    [SC_SINK] = {.key = "sinks", ITEMS("sink", n_sinks, sinks), NAMED(sinks)},
    [SC_JOURNAL] = {.key = "journal"},
    [SC_CONFIG] = {.key = "config"},
    [SC_ONCALL] = {.key = "oncall"},
    [SC_CHECKPOINT] = {.key = "checkpoint"},
};

/* Items in scope sc: 1, or an array's count clamped to its capacity. */
static unsigned scope_items(const struct status_snapshot *s, enum scope sc)
{
    const struct scope_desc *d = &scopes[sc];
    unsigned n;

    if (!d->array)
        return 1;
    n = *(const unsigned *)(const void *)((const char *)s + d->count_off);
    return n < d->max ? n : d->max;
}

/* The member of row f in item i of its scope (of the row's type). */
static const void *field_at(const struct status_snapshot *s,
                            const struct field *f, unsigned i)
{
    return (const char *)s + f->off + (size_t)i * scopes[f->scope].stride;
}

/* The event error counts: event_reason_name() for each EVENT_R_*, then the
 * stream reader's two reasons.  Count j (< N_REASONS): its name; *v its
 * value. */
#define N_REASONS (EVENT_R_COUNT + 2)

static const char *reason_count(const struct status_snapshot *s, unsigned j,
                                uint64_t *v)
{
    if (j < EVENT_R_COUNT) {
        *v = s->events.errors[j];
        return event_reason_name((enum event_reason)j);
    }
    if (j == EVENT_R_COUNT) {
        *v = s->events.oversize;
        return STATUS_REASON_OVERSIZE;
    }
    *v = s->events.invalid_utf8;
    return STATUS_REASON_INVALID_UTF8;
}

/* ---- /status ------------------------------------------------------------ */

/* The members of item i of scope sc. */
static void j_fields(struct w *w, int *first, const struct status_snapshot *s,
                     enum scope sc, unsigned i, int64_t now_wall_ms)
{
    for (const struct field *f = fields; f < fields + N_FIELDS; f++) {
        const void *p;
        uint64_t v;
        int h = 1;

        if (f->scope != sc || f->key == NULL)
            continue;
        p = field_at(s, f, i);
        switch (f->kind) {
        case K_ONE:
            break;
        case K_U64:
            j_u64(w, first, f->key, *(const uint64_t *)p);
            break;
        case K_BOOL:
            j_bool(w, first, f->key, *(const int *)p);
            break;
        case K_OK:
            j_bool(w, first, f->key, *(const int *)p == 0);
            break;
        case K_LONG:
            j_i64(w, first, f->key, (int64_t) *(const long *)p);
            break;
        case K_TIME:
            j_time(w, first, f->key, *(const int64_t *)p);
            break;
        case K_AGE:
            j_age(w, first, f->key, *(const int64_t *)p, now_wall_ms);
            break;
        case K_SECS:
            w_key(w, first, f->key);
            w_ssecs(w, *(const int64_t *)p);
            break;
        case K_USEC:
            w_key(w, first, f->key);
            w_usecs(w, *(const int64_t *)p);
            break;
        case K_STR:
            j_str(w, first, f->key, p, f->size);
            break;
        case K_STR_NULL:
            j_str_or_null(w, first, f->key, p, f->size);
            break;
        case K_REASONS:
            w_key(w, first, f->key);
            w_raw(w, "{", 1);
            for (unsigned j = 0; j < N_REASONS; j++) {
                const char *name = reason_count(s, j, &v);
                j_u64(w, &h, name, v);
            }
            w_raw(w, "}", 1);
            break;
        case K_HIST:
            break;
        }
    }
}

/* "key":{...} or "key":[{...},...] for scope sc. */
static void j_scope(struct w *w, int *first, const struct status_snapshot *s,
                    enum scope sc, int64_t now_wall_ms)
{
    const struct scope_desc *d = &scopes[sc];
    unsigned n = scope_items(s, sc);

    w_key(w, first, d->key);
    if (d->array)
        w_raw(w, "[", 1);
    for (unsigned i = 0; i < n; i++) {
        int g = 1;

        w_str(w, i ? ",{" : "{");
        j_fields(w, &g, s, sc, i, now_wall_ms);
        w_raw(w, "}", 1);
    }
    if (d->array)
        w_raw(w, "]", 1);
}

int status_render_json(buf *out, const struct status_snapshot *s,
                       int64_t now_wall_ms, int64_t now_mono_ms)
{
    struct w w = {out, BUF_OK};
    char reason[READY_REASON_MAX];
    unsigned nf = scope_items(s, SC_FIRING);
    int f = 1, ready;

    ready = status_ready(s, reason, sizeof reason);
    w_raw(&w, "{", 1);
    j_fields(&w, &f, s, SC_TOP, 0, now_wall_ms);
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
    j_scope(&w, &f, s, SC_STREAM, now_wall_ms);
    j_scope(&w, &f, s, SC_EVENTS, now_wall_ms);
    j_scope(&w, &f, s, SC_DETECTOR, now_wall_ms);
    j_scope(&w, &f, s, SC_FIRING, now_wall_ms);
    j_u64(&w, &f, "firing_total", s->firing_total > nf ? s->firing_total : nf);
    j_scope(&w, &f, s, SC_SINK, now_wall_ms);
    j_scope(&w, &f, s, SC_JOURNAL, now_wall_ms);
    j_scope(&w, &f, s, SC_ONCALL, now_wall_ms);
    j_scope(&w, &f, s, SC_CONFIG, now_wall_ms);
    j_scope(&w, &f, s, SC_CHECKPOINT, now_wall_ms);
    w_raw(&w, "}\n", 2);
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

/* A latency bound as Prometheus writes `le`: seconds, no trailing zeros
 * ("0.05", "2.5", "60"). */
static void le_text(char *out, size_t size, int64_t ms)
{
    int n = snprintf(out, size, "%" PRId64 ".%03d", ms / 1000,
                     (int)(ms % 1000));

    if (n <= 0 || (size_t)n >= size)
        return;
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
}

/* The samples of histogram `name` labelled k1="v1": name_bucket for each
 * bound and +Inf, name_sum (seconds), name_count. */
static void m_hist(struct w *w, const char *name, const char *k1,
                   const char *v1, size_t c1, const struct latency_hist *h)
{
    char n[96], le[32];
    uint64_t sum = h->sum_ms;

    for (unsigned j = 0; j <= LATENCY_BUCKETS; j++) {
        snprintf(n, sizeof n, "%s_bucket", name);
        if (j < LATENCY_BUCKETS)
            le_text(le, sizeof le, latency_bounds_ms[j]);
        else
            snprintf(le, sizeof le, "+Inf");
        m_name(w, n, k1, v1, c1, "le", le, sizeof le);
        w_fmt(w, " %" PRIu64 "\n",
              j < LATENCY_BUCKETS ? h->le[j] : h->count);
    }
    snprintf(n, sizeof n, "%s_sum", name);
    m_name(w, n, k1, v1, c1, NULL, NULL, 0);
    w_raw(w, " ", 1);
    w_secs(w, sum > INT64_MAX ? INT64_MAX : (int64_t)sum);
    w_raw(w, "\n", 1);
    snprintf(n, sizeof n, "%s_count", name);
    m_name(w, n, k1, v1, c1, NULL, NULL, 0);
    w_fmt(w, " %" PRIu64 "\n", h->count);
}

/* One sample of row f for item i of its scope: name{labels} value. */
static void m_sample(struct w *w, const struct status_snapshot *s,
                     const struct field *f, unsigned i)
{
    const struct scope_desc *d = &scopes[f->scope];
    const void *p = field_at(s, f, i);
    const char *k1 = f->lk, *v1 = f->lv, *k2 = NULL, *v2 = NULL;
    size_t c1 = f->lv != NULL ? strlen(f->lv) + 1 : 0, c2 = 0;
    uint64_t v = 1;

    if (f->kind == K_REASONS) {
        for (unsigned j = 0; j < N_REASONS; j++) {
            const char *r = reason_count(s, j, &v);

            m_name(w, f->metric, f->lk, r, strlen(r) + 1, NULL, NULL, 0);
            w_fmt(w, " %" PRIu64 "\n", v);
        }
        return;
    }
    if (f->kind == K_STR) { /* an info metric: the string is the label */
        v1 = p;
        c1 = f->size;
    }
    if (d->label != NULL) { /* the item's name comes first */
        k2 = k1;
        v2 = v1;
        c2 = c1;
        k1 = d->label;
        v1 = (const char *)s + d->name_off + (size_t)i * d->stride;
        c1 = d->name_size;
    }
    if (f->kind == K_HIST) {
        m_hist(w, f->metric, k1, v1, c1, p);
        return;
    }
    m_name(w, f->metric, k1, v1, c1, k2, v2, c2);
    if (f->kind == K_TIME || f->kind == K_SECS) {
        int64_t ms = *(const int64_t *)p;

        w_raw(w, " ", 1);
        if (f->kind == K_SECS)
            w_ssecs(w, ms);
        else
            w_secs(w, ms > 0 ? ms : 0);
        w_raw(w, "\n", 1);
        return;
    }
    if (f->kind == K_USEC) {
        w_raw(w, " ", 1);
        w_usecs(w, *(const int64_t *)p);
        w_raw(w, "\n", 1);
        return;
    }
    if (f->kind == K_U64)
        v = *(const uint64_t *)p;
    else if (f->kind == K_BOOL)
        v = *(const int *)p ? 1 : 0;
    else if (f->kind == K_OK)
        v = *(const int *)p ? 0 : 1;
    w_fmt(w, " %" PRIu64 "\n", v);
}

int status_render_metrics(buf *out, const struct status_snapshot *s)
{
    struct w w = {out, BUF_OK};
    const struct field *fam;
    int pos = 0;

    for (;;) {
        /* the family at the next position */
        fam = NULL;
        for (const struct field *f = fields; f < fields + N_FIELDS; f++)
            if (f->mpos > pos && (fam == NULL || f->mpos < fam->mpos))
                fam = f;
        if (fam == NULL)
            break;
        pos = fam->mpos;
        m_family(&w, fam->metric, fam->type, fam->help);
        for (unsigned i = 0, n = scope_items(s, fam->scope); i < n; i++)
            for (const struct field *f = fam; f < fields + N_FIELDS; f++)
                if (f->mpos == pos)
                    m_sample(&w, s, f, i);
    }
    return w.rc;
}


/* ---- the probes --------------------------------------------------------- */

int status_render_healthz(buf *out, const struct status_snapshot *s,
                          int64_t now_mono_ms, uint64_t stall_ms,
                          unsigned *http_code)
{
    struct w w = {out, BUF_OK};
    int64_t age = now_mono_ms - s->last_tick_mono_ms;

    if (age < 0)
        age = 0;
    if ((uint64_t)age <= stall_ms) {
        *http_code = STATUS_HTTP_OK;
        w_str(&w, "{\"status\":\"ok\"}\n");
    } else {
        *http_code = STATUS_HTTP_UNAVAILABLE;
        w_fmt(&w, "{\"status\":\"stalled\",\"last_tick_ms_ago\":%" PRId64
                  "}\n", age);
    }
    return w.rc;
}

int status_render_readyz(buf *out, const struct status_snapshot *s,
                         unsigned *http_code)
{
    struct w w = {out, BUF_OK};
    char reason[READY_REASON_MAX];

    if (status_ready(s, reason, sizeof reason)) {
        *http_code = STATUS_HTTP_OK;
        w_str(&w, "{\"ready\":true}\n");
    } else {
        *http_code = STATUS_HTTP_UNAVAILABLE;
        w_str(&w, "{\"ready\":false,\"reason\":");
        w_jstr(&w, reason, sizeof reason);
        w_str(&w, "}\n");
    }
    return w.rc;
}

/* ---- the page (GET /) ----------------------------------------------------
 * One HTML document, nothing fetched besides it: the CSS is inline, there
 * is no script.  Every value of the snapshot goes through h_text(). */

/* n bytes of s escaped for HTML text and quoted attributes. */
static void h_esc(struct w *w, const char *s, size_t n)
{
    size_t run = 0;

    for (size_t i = 0; i <= n && w->rc == BUF_OK; i++) {
        const char *ref = NULL;

        if (i < n) {
            switch (s[i]) {
            case '&': ref = "&amp;"; break;
            case '<': ref = "&lt;"; break;
            case '>': ref = "&gt;"; break;
            case '"': ref = "&quot;"; break;
            case '\'': ref = "&#39;"; break;
            default: continue;
            }
        }
        if (i > run)
            w->rc = buf_append_utf8(w->b, s + run, i - run, NULL);
        if (ref != NULL)
            w_str(w, ref);
        run = i + 1;
    }
}

/* A NUL-terminated array of at most cap bytes, escaped. */
static void h_text(struct w *w, const char *s, size_t cap)
{
    h_esc(w, s, strnlen(s, cap));
}

#define H(w, field) h_text((w), (field), sizeof(field))

/* A time as "YYYY-MM-DD HH:MM:SSZ" (0: "never"). */
static void h_time(struct w *w, int64_t ms)
{
    char t[32];

    if (ms <= 0 || clock_format_iso8601(ms, t, sizeof t) < 0) {
        w_str(w, "never");
        return;
    }
    t[10] = ' ';
    t[19] = 'Z';
    t[20] = '\0';
    w_str(w, t);
}

/* The age at now of time t as "42 s", "7 min", "3 h 5 min", "2 d 4 h"
 * (a time ahead of now, or before the epoch, as 0 s). */
static void h_age(struct w *w, int64_t now, int64_t t)
{
    int64_t s = t < 0 || t > now ? 0 : (now - t) / 1000;

    if (s < 120)
        w_fmt(w, "%" PRId64 " s", s);
    else if (s < 3600)
        w_fmt(w, "%" PRId64 " min", s / 60);
    else if (s < 86400)
        w_fmt(w, "%" PRId64 " h %" PRId64 " min", s / 3600, s / 60 % 60);
    else
        w_fmt(w, "%" PRId64 " d %" PRId64 " h", s / 86400, s / 3600 % 24);
}

/* critical 0, error 1, warning 2, info 3, anything else 4 */
static int sev_rank(const char *sev, size_t cap)
{
    static const char *const order[] = {"critical", "error", "warning",
                                        "info"};

    for (int i = 0; i < 4; i++)
        if (strncmp(sev, order[i], cap) == 0)
            return i;
    return 4;
}

static const char page_css[] =
    "body{font:16px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f4;"
    "color:#111}"
    "main{padding:0 1.5rem 2rem}"
    ".banner{font-size:2.2rem;font-weight:700;padding:1rem 1.5rem;"
    "color:#fff}"
    ".ok{background:#1b7f3b}.warn{background:#b26a00}"
    ".crit{background:#b00020}.down{background:#4a148c}"
    ".health{font-size:1.1rem;padding:.5rem 1.5rem;background:#222;"
    "color:#eee}"
    "h2{margin:1.5rem 0 .5rem;font-size:1.4rem}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;"
    "vertical-align:top}"
    "th{background:#e8e8e8}"
    ".sev{font-weight:700;text-transform:uppercase;color:#fff;"
    "padding:.1rem .4rem;border-radius:3px}"
    ".sev-critical{background:#b00020}.sev-error{background:#d84315}"
    ".sev-warning{background:#b26a00}.sev-info{background:#1565c0}"
    ".sev-other{background:#555}"
    "form{display:inline-block;margin:.1rem 0}"
    "input,select,button{font-size:1rem}"
    ".muted{color:#666}.err{color:#b00020}"
    "code{font-size:.95rem}";

static void h_open(struct w *w, const char *title)
{
    w_str(w, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\""
             "utf-8\"><meta name=\"viewport\" content=\"width=device-width"
             "\"><title>");
    h_esc(w, title, strlen(title));
    w_str(w, "</title><style>");
    w_str(w, page_css);
    w_str(w, "</style></head><body>\n");
}

static void h_csrf(struct w *w, const char *csrf)
{
    w_str(w, "<input type=\"hidden\" name=\"csrf\" value=\"");
    h_esc(w, csrf, strnlen(csrf, STATUS_CSRF_MAX));
    w_str(w, "\">");
}

static void h_durations(struct w *w)
{
    w_str(w, "<select name=\"duration\"><option value=\"1h\">1 hour"
             "</option><option value=\"4h\">4 hours</option><option "
             "value=\"24h\">24 hours</option><option value=\"7d\">7 days"
             "</option></select>");
}

static void page_banner(struct w *w, const struct status_snapshot *s)
{
    unsigned n = s->n_firing < STATUS_MAX_FIRING ? s->n_firing
                                                 : STATUS_MAX_FIRING;
    unsigned crit = 0;

    for (unsigned i = 0; i < n; i++)
        crit += sev_rank(s->firing[i].severity,
                         sizeof s->firing[i].severity) == 0;
    if (!s->stream.connected || s->detection_unknown)
        w_str(w, "<div class=\"banner down\" id=\"banner\">STREAM DOWN "
                 "&mdash; detection unknown");
    else if (s->firing_total == 0)
        w_str(w, "<div class=\"banner ok\" id=\"banner\">ALL CLEAR "
                 "&mdash; nothing firing");
    else
        w_fmt(w, "<div class=\"banner %s\" id=\"banner\">%" PRIu64
              " FIRING &mdash; %u critical", crit > 0 ? "crit" : "warn",
              s->firing_total, crit);
    if (s->stream.connected && s->detection_unknown == 0 &&
        s->firing_total > 0 && s->oncall.silences_active > 0)
        w_fmt(w, " &middot; %" PRIu64 " silence%s active",
              s->oncall.silences_active,
              s->oncall.silences_active == 1 ? "" : "s");
    w_str(w, "</div>\n");
}

static void page_health(struct w *w, const struct status_snapshot *s,
                        int64_t now)
{
    w_str(w, "<div class=\"health\" id=\"health\">stream <b>");
    w_str(w, s->stream.connected ? "connected" : "disconnected");
    w_str(w, "</b> (");
    H(w, s->stream.state);
    w_str(w, ") &middot; detection <b>");
    if (s->detection[0] != '\0')
        H(w, s->detection);
    else
        w_str(w, STATUS_DETECTION_UNKNOWN);
    w_str(w, "</b> &middot; lag ");
    w_ssecs(w, s->stream.lag_ms);
    w_str(w, " s &middot; last event ");
    if (s->stream.last_event_ms > 0) {
        h_age(w, now, s->stream.last_event_ms);
        w_str(w, " ago");
    } else {
        w_str(w, "never");
    }
    if (!s->stream.connected && s->stream.disconnected_since_ms > 0) {
        w_str(w, " &middot; down since ");
        h_time(w, s->stream.disconnected_since_ms);
    }
    if (!s->journal_writable)
        w_str(w, " &middot; <b>journal not writable</b>");
    w_str(w, "</div>\n");
}

static void page_firing(struct w *w, const struct status_snapshot *s,
                        const char *csrf, int writes, int64_t now)
{
    unsigned n = s->n_firing < STATUS_MAX_FIRING ? s->n_firing
                                                 : STATUS_MAX_FIRING;
    unsigned order[STATUS_MAX_FIRING];

    for (unsigned i = 0; i < n; i++)
        order[i] = i;
    /* insertion sort: severity, then the oldest first (64 at most) */
    for (unsigned i = 1; i < n; i++) {
        unsigned v = order[i], j = i;
        int rv = sev_rank(s->firing[v].severity,
                          sizeof s->firing[v].severity);

        while (j > 0) {
            unsigned u = order[j - 1];
            int ru = sev_rank(s->firing[u].severity,
                              sizeof s->firing[u].severity);

            if (ru < rv || (ru == rv && s->firing[u].started_ms <=
                                            s->firing[v].started_ms))
                break;
            order[j] = u;
            j--;
        }
        order[j] = v;
    }
    w_fmt(w, "<h2 id=\"firing\">Firing (%" PRIu64 ")</h2>\n",
          s->firing_total);
    if (n == 0) {
        w_str(w, "<p class=\"muted\">Nothing is firing.</p>\n");
        return;
    }
    if (s->firing_total > n)
        w_fmt(w, "<p class=\"muted\">The first %u are shown.</p>\n", n);
    w_str(w, "<table><tr><th>severity</th><th>rule</th><th>key</th>"
             "<th>since</th><th>silenced by</th><th>acked by</th>"
             "<th>act</th></tr>\n");
    for (unsigned k = 0; k < n; k++) {
        const __typeof__(s->firing[0]) *f = &s->firing[order[k]];
        int r = sev_rank(f->severity, sizeof f->severity);

        w_fmt(w, "<tr class=\"alert\"><td><span class=\"sev sev-%s\">",
              r < 4 ? (const char *[]){"critical", "error", "warning",
                                       "info"}[r] : "other");
        H(w, f->severity);
        w_str(w, "</span></td><td class=\"rule\">");
        H(w, f->detector);
        w_str(w, "</td><td class=\"key\">");
        H(w, f->key);
        w_str(w, "</td><td>");
        h_time(w, f->started_ms);
        w_str(w, "<br><span class=\"muted\">");
        h_age(w, now, f->started_ms);
        w_str(w, " ago</span></td><td>");
        if (f->silenced_by[0] != '\0')
            H(w, f->silenced_by);
        else
            w_str(w, "&mdash;");
        w_str(w, "</td><td>");
        if (f->acked_by[0] != '\0') {
            H(w, f->acked_by);
            w_str(w, "<br><span class=\"muted\">");
            h_time(w, f->acked_ms);
            w_str(w, "</span>");
        } else {
            w_str(w, "&mdash;");
        }
        w_str(w, "</td><td>");
        if (writes) {
            w_str(w, "<form class=\"ack\" method=\"post\" action=\"/ui/ack"
                     "\">");
            h_csrf(w, csrf);
            w_str(w, "<input type=\"hidden\" name=\"id\" value=\"");
            H(w, f->episode);
            w_str(w, "\"><input name=\"by\" placeholder=\"your name\" "
                     "size=\"10\" required><button>Ack</button></form> "
                     "<form class=\"silence\" method=\"post\" action=\""
                     "/ui/silence\">");
            h_csrf(w, csrf);
            w_str(w, "<input type=\"hidden\" name=\"rule\" value=\"");
            H(w, f->detector);
            w_str(w, "\">");
            h_durations(w);
            w_str(w, "<input name=\"created_by\" placeholder=\"your name\" "
                     "size=\"10\" required><input name=\"comment\" "
                     "placeholder=\"why\" size=\"12\" required><button>"
                     "Silence rule</button></form>");
        } else {
            w_str(w, "<span class=\"muted\">read only</span>");
        }
        w_str(w, "</td></tr>\n");
    }
    w_str(w, "</table>\n");
}

static void page_silences(struct w *w, const struct status_snapshot *s,
                          const char *csrf, int writes)
{
    unsigned n = s->n_silences < STATUS_MAX_SILENCES ? s->n_silences
                                                     : STATUS_MAX_SILENCES;

    w_fmt(w, "<h2 id=\"silences\">Silences (%" PRIu64 " active, %" PRIu64
          " pending)</h2>\n", s->oncall.silences_active,
          s->oncall.silences_pending);
    if (writes) {
        w_str(w, "<form class=\"silence\" method=\"post\" action=\""
                 "/ui/silence\">");
        h_csrf(w, csrf);
        w_str(w, "New silence: rule <input name=\"rule\" placeholder="
                 "\"name or glob\" required size=\"14\"> for ");
        h_durations(w);
        w_str(w, " by <input name=\"created_by\" required size=\"10\"> "
                 "because <input name=\"comment\" required size=\"20\"> "
                 "<button>Silence</button></form>\n");
    } else {
        w_str(w, "<p class=\"muted\">Read only: the API takes writes only "
                 "with a token (status.token_env).</p>\n");
    }
    if (n == 0) {
        w_str(w, "<p class=\"muted\">No silences.</p>\n");
        return;
    }
    w_str(w, "<table><tr><th>id</th><th>state</th><th>matchers</th>"
             "<th>when</th><th>by</th><th>comment</th><th>act</th></tr>\n");
    for (unsigned i = 0; i < n; i++) {
        const __typeof__(s->silences[0]) *x = &s->silences[i];

        w_str(w, "<tr class=\"silence-row\"><td><code>");
        H(w, x->id);
        w_str(w, "</code></td><td>");
        H(w, x->state);
        w_str(w, "</td><td>");
        H(w, x->matchers);
        w_str(w, "</td><td>");
        H(w, x->when);
        w_str(w, "</td><td>");
        H(w, x->created_by);
        w_str(w, "</td><td>");
        H(w, x->comment);
        w_str(w, "</td><td>");
        if (writes && strncmp(x->state, "expired", sizeof x->state) != 0) {
            w_str(w, "<form class=\"expire\" method=\"post\" action=\""
                     "/ui/expire\">");
            h_csrf(w, csrf);
            w_str(w, "<input type=\"hidden\" name=\"id\" value=\"");
            H(w, x->id);
            w_str(w, "\"><button>Expire</button></form>");
        }
        w_str(w, "</td></tr>\n");
    }
    w_str(w, "</table>\n");
}

static void page_sinks(struct w *w, const struct status_snapshot *s)
{
    unsigned n = s->n_sinks < STATUS_MAX_SINKS ? s->n_sinks
                                               : STATUS_MAX_SINKS;

    w_str(w, "<h2 id=\"sinks\">Sinks</h2>\n");
    if (n == 0) {
        w_str(w, "<p class=\"muted\">No sinks configured.</p>\n");
        return;
    }
    w_str(w, "<table><tr><th>sink</th><th>kind</th><th>queued</th>"
             "<th>in flight</th><th>delivered</th><th>retries</th>"
             "<th>dead-lettered</th><th>last success</th><th>last error"
             "</th></tr>\n");
    for (unsigned i = 0; i < n; i++) {
        const __typeof__(s->sinks[0]) *k = &s->sinks[i];

        w_str(w, "<tr><td>");
        H(w, k->name);
        w_str(w, k->disabled ? " <b class=\"err\">disabled (410)</b>" : "");
        w_str(w, "</td><td>");
        H(w, k->kind);
        {
            const uint64_t v[5] = {k->queue_depth, k->in_flight,
                                   k->delivered, k->retries,
                                   k->dead_lettered};

            for (int j = 0; j < 5; j++)
                w_fmt(w, "</td><td>%" PRIu64, v[j]);
        }
        w_str(w, "</td><td>");
        h_time(w, k->last_success_ms);
        w_str(w, "</td><td class=\"err\">");
        if (k->last_error[0] != '\0') {
            H(w, k->last_error);
            w_str(w, " (");
            h_time(w, k->last_failure_ms);
            w_str(w, ")");
        }
        w_str(w, "</td></tr>\n");
    }
    w_str(w, "</table>\n");
}

static void page_history(struct w *w, const struct status_snapshot *s)
{
    unsigned n = s->n_history < STATUS_MAX_HISTORY ? s->n_history
                                                   : STATUS_MAX_HISTORY;

    w_str(w, "<h2 id=\"history\">History (newest first)</h2>\n");
    if (n == 0) {
        w_str(w, "<p class=\"muted\">Nothing yet.</p>\n");
        return;
    }
    w_str(w, "<table><tr><th>at</th><th>event</th><th>rule</th><th>key"
             "</th><th>sink</th><th>detail</th><th>episode</th></tr>\n");
    for (unsigned i = 0; i < n; i++) {
        const __typeof__(s->history[0]) *e = &s->history[i];

        w_str(w, "<tr class=\"history-row\"><td>");
        h_time(w, e->at_ms);
        w_str(w, "</td><td>");
        H(w, e->event);
        w_str(w, "</td><td>");
        H(w, e->rule);
        w_str(w, "</td><td>");
        H(w, e->key);
        w_str(w, "</td><td>");
        H(w, e->sink);
        w_str(w, "</td><td>");
        H(w, e->detail);
        w_str(w, "</td><td><code>");
        H(w, e->id);
        w_str(w, "</code></td></tr>\n");
    }
    w_str(w, "</table>\n");
}

int status_render_page(buf *out, const struct status_snapshot *s,
                       const char *csrf, int writes, int64_t now_wall_ms)
{
    struct w w = {out, BUF_OK};
    char title[64];

    snprintf(title, sizeof title, "toolwatch: %" PRIu64 " firing",
             s->firing_total);
    h_open(&w, title);
    page_banner(&w, s);
    page_health(&w, s, now_wall_ms);
    w_str(&w, "<main>\n");
    page_firing(&w, s, csrf, writes, now_wall_ms);
    page_silences(&w, s, csrf, writes);
    page_sinks(&w, s);
    page_history(&w, s);
    w_str(&w, "<p class=\"muted\">toolwatch ");
    H(&w, s->version);
    w_str(&w, " &middot; as of ");
    h_time(&w, now_wall_ms);
    w_str(&w, " &middot; <a href=\"/\">refresh</a> &middot; <a href=\""
              "/status\">/status</a></p>\n</main></body></html>\n");
    return w.rc;
}

int status_render_login(buf *out, const char *message)
{
    struct w w = {out, BUF_OK};

    h_open(&w, "toolwatch: log in");
    w_str(&w, "<main><h2>toolwatch</h2>\n");
    if (message != NULL) {
        w_str(&w, "<p class=\"err\">");
        h_esc(&w, message, strlen(message));
        w_str(&w, "</p>\n");
    }
    w_str(&w, "<form method=\"post\" action=\"/login\"><label>Status token "
              "<input type=\"password\" name=\"token\" autocomplete=\""
              "current-password\" required autofocus></label> <button>Log "
              "in</button></form>\n</main></body></html>\n");
    return w.rc;
}

int status_render_form_error(buf *out, unsigned code, const char *message,
                             size_t len)
{
    struct w w = {out, BUF_OK};

    h_open(&w, "toolwatch: not done");
    w_fmt(&w, "<main><h2>Not done (HTTP %u)</h2>\n<p class=\"err\">", code);
    h_esc(&w, message, len);
    w_str(&w, "</p>\n<p><a href=\"/\">Back to the status page</a></p>\n"
              "</main></body></html>\n");
    return w.rc;
}

/* ---- form bodies and query strings -------------------------------------- */

void status_form_init(struct status_form *f, const char *s, size_t len)
{
    f->p = s;
    f->end = s != NULL ? s + len : s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode [p, end) into out (size bytes with the NUL): its length, or -1. */
static long form_decode(const char *p, const char *end, char *out,
                        size_t size)
{
    size_t n = 0;

    while (p < end) {
        char c = *p++;

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;

            if (end - p < 2 || (hi = hexval(p[0])) < 0 ||
                (lo = hexval(p[1])) < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (n + 1 >= size)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return (long)n;
}

int status_form_next(struct status_form *f, char *name, size_t nsz,
                     char *value, size_t vsz, size_t *vlen)
{
    const char *amp, *eq;
    long nn, vn;

    while (f->p < f->end && *f->p == '&')
        f->p++;
    if (f->p >= f->end)
        return 0;
    amp = memchr(f->p, '&', (size_t)(f->end - f->p));
    if (amp == NULL)
        amp = f->end;
    eq = memchr(f->p, '=', (size_t)(amp - f->p));
    if (eq == NULL)
        eq = amp;
    nn = form_decode(f->p, eq, name, nsz);
    vn = form_decode(eq < amp ? eq + 1 : amp, amp, value, vsz);
    if (nn < 0 || vn < 0 || strlen(name) != (size_t)nn) {
        f->p = f->end;
        return -1;
    }
    *vlen = (size_t)vn;
    f->p = amp;
    return 1;
}

int status_form_get(const char *s, size_t len, const char *name,
                    char *value, size_t vsz, size_t *vlen)
{
    struct status_form f;
    char n[64], v[STATUS_TEXT_MAX * 4];
    size_t l;
    int rc, found = 0;

    status_form_init(&f, s, len);
    while ((rc = status_form_next(&f, n, sizeof n, v, sizeof v, &l)) > 0) {
        if (strcmp(n, name) != 0)
            continue;
        if (found || l >= vsz)
            return -1;
        memcpy(value, v, l + 1);
        *vlen = l;
        found = 1;
    }
    return rc < 0 ? -1 : found;
}

/* Field `name` of a form into v (vsz): 0, or -1 with err set.  `id`
 * fields must be lower-case hex (they go into a path). */
static int form_field(const char *body, size_t len, const char *name,
                      char *v, size_t vsz, char *err, size_t errsz)
{
    size_t n = 0;
    int rc = status_form_get(body, len, name, v, vsz, &n);

    if (rc == 1 && n > 0 && memchr(v, '\0', n) == NULL) {
        if (strcmp(name, "id") != 0)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (hexval(v[i]) < 0 || (v[i] >= 'A' && v[i] <= 'F'))
                goto bad;
        return 0;
    }
bad:
    snprintf(err, errsz, "%s: %s", name, rc == 0 || (rc == 1 && n == 0)
             ? "missing" : rc < 0 ? "malformed, too long or given twice"
             : "not valid here");
    return -1;
}

int status_form_action(const char *ui_path, const char *body, size_t len,
                       int64_t now_ms, struct status_form_action *a,
                       buf *json, char *err, size_t errsz)
{
    static const struct {
        const char *name;
        int64_t ms;
    } durations[] = {{"1h", 3600000}, {"4h", 4 * 3600000},
                     {"24h", 86400000}, {"7d", 7 * 86400000LL}};
    char v[STATUS_TEXT_MAX * 4], t[32];
    buf_writer w = {json, BUF_OK};
    int k;

    memset(a, 0, sizeof *a);
    if (form_field(body, len, "csrf", a->csrf, sizeof a->csrf, err,
                   errsz) != 0)
        return -1;
    if (strcmp(ui_path, "/ui/ack") == 0) {
        if (form_field(body, len, "id", v, 40, err, errsz) != 0)
            return -1;
        snprintf(a->method, sizeof a->method, "POST");
        snprintf(a->path, sizeof a->path, "/api/v1/alerts/%.40s/ack", v);
        if (form_field(body, len, "by", v, sizeof v, err, errsz) != 0)
            return -1;
        buf_w_raw(&w, "{\"by\":");
        buf_w_json(&w, v, strlen(v));
        buf_w_raw(&w, "}");
    } else if (strcmp(ui_path, "/ui/expire") == 0) {
        if (form_field(body, len, "id", v, 40, err, errsz) != 0)
            return -1;
        snprintf(a->method, sizeof a->method, "DELETE");
        snprintf(a->path, sizeof a->path, "/api/v1/silences/%.40s", v);
    } else if (strcmp(ui_path, "/ui/silence") == 0) {
        snprintf(a->method, sizeof a->method, "POST");
        snprintf(a->path, sizeof a->path, "/api/v1/silences");
        if (form_field(body, len, "duration", v, sizeof v, err, errsz) != 0)
            return -1;
        for (k = 0; k < 4 && strcmp(v, durations[k].name) != 0; k++)
            ;
        if (k == 4 || clock_format_iso8601(now_ms + durations[k].ms, t,
                                           sizeof t) < 0) {
            snprintf(err, errsz, "duration: expected 1h, 4h, 24h or 7d");
            return -1;
        }
        if (form_field(body, len, "rule", v, sizeof v, err, errsz) != 0)
            return -1;
        buf_w_raw(&w, "{\"matchers\":{\"rule\":");
        buf_w_json(&w, v, strlen(v));
        buf_w_raw(&w, "},\"ends_at\":\"");
        buf_w_raw(&w, t);
        buf_w_raw(&w, "\"");
        for (k = 0; k < 2; k++) {
            const char *f = k == 0 ? "created_by" : "comment";

            if (form_field(body, len, f, v, sizeof v, err, errsz) != 0)
                return -1;
            buf_w_raw(&w, ",\"");
            buf_w_raw(&w, f);
            buf_w_raw(&w, "\":");
            buf_w_json(&w, v, strlen(v));
        }
        buf_w_raw(&w, "}");
    } else {
        snprintf(err, errsz, "no such form");
        return -1;
    }
    if (w.rc != BUF_OK) {
        snprintf(err, errsz, "the form is too large");
        return -1;
    }
    return 0;
}
