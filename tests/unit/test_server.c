/*
 * test_status.c - the status HTTP server (status/server.h), queried over
 * 127.0.0.1 with libcurl.
 *
 * Every endpoint: exact status codes, content types and documents (JSON
 * parsed with cJSON, metrics compared line by line and, when promtool is
 * installed, checked by `promtool check metrics`); 404 / 405 / HEAD; the
 * bearer token (and /healthz staying open); /healthz turning 503 when the
 * published tick is old (the tick is set in the past: nothing sleeps);
 * /readyz reasons; many idle connections not starving /healthz; the
 * connection limit; publishing from another thread while documents are
 * served (each document shows one snapshot, never a mix).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "status/server.h"

#define T0 1773100800000LL /* 2026-03-10T00:00:00Z */
#define TOKEN "s3cret-status-token"

struct resp {
    long code;
    buf body;
    buf head;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf *b = ud;

    return buf_append(b, p, sz * n) == BUF_OK ? sz * n : 0;
}

/* GET (or `method`) http://127.0.0.1:port<path>; auth is a whole
 * Authorization header value or NULL.  Returns the curl result; r is
 * filled (free with resp_free). */
static CURLcode http(uint16_t port, const char *method, const char *path,
                     const char *auth, long timeout_ms, struct resp *r)
{
    char url[256], hdr[512];
    struct curl_slist *hl = NULL;
    CURL *e = curl_easy_init();
    CURLcode rc;

    assert_non_null(e);
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 4u << 20);
    buf_init(&r->head, 1u << 20);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r->head);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
    }
    if (auth != NULL) {
        snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
        hl = curl_slist_append(hl, hdr);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    }
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    if (r->body.data == NULL)
        assert_int_equal(buf_append(&r->body, "", 0), BUF_OK);
    if (r->head.data == NULL)
        assert_int_equal(buf_append(&r->head, "", 0), BUF_OK);
    return rc;
}

static void resp_free(struct resp *r)
{
    buf_free(&r->body);
    buf_free(&r->head);
}

/* GET that must succeed at the HTTP level; returns the status code. */
static long get(uint16_t port, const char *path, const char *auth,
                struct resp *r)
{
    assert_int_equal(http(port, "GET", path, auth, 30000, r), CURLE_OK);
    return r->code;
}

/* The value of response header `name` (case-insensitive), or "" */
static const char *header(const struct resp *r, const char *name, char *out,
                          size_t size)
{
    const char *p = r->head.data;
    size_t nl = strlen(name);

    out[0] = '\0';
    while (p != NULL && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);

        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(p + len - v), v);
            return out;
        }
        p = eol ? eol + 2 : NULL;
    }
    return out;
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

/* A healthy, ready snapshot with known values. */
static void fill(struct status_snapshot *s)
{
    int64_t wall = clock_wall_ms();

    memset(s, 0, sizeof *s);
    copy(s->version, sizeof s->version, "1.2.3");
    s->start_ms = wall - 3600 * 1000;
    s->last_tick_mono_ms = clock_mono_ms();
    copy(s->stream.state, sizeof s->stream.state, "connected");
    copy(s->stream.url, sizeof s->stream.url,
         "https://audit.example.com/v1/stream");
    s->stream.connected = 1;
    s->stream.connected_since_ms = T0;
    copy(s->stream.last_event_id, sizeof s->stream.last_event_id,
         "evt-\"42\"");
    s->stream.last_event_ms = wall - 2500;
    s->stream.connects = 3;
    s->stream.reconnects = 2;
    s->stream.stalls = 1;
    s->stream.http_errors = 4;
    s->stream.network_errors = 5;
    s->stream.last_http_status = 200;
    s->events.total = 12345;
    s->events.decoded = 12300;
    s->events.errors[EVENT_R_NOT_JSON] = 7;
    s->events.errors[EVENT_R_TRUNCATED] = 9;
    s->events.oversize = 3;
    s->events.invalid_utf8 = 21;
    s->events.late = 11;
    s->events.duplicates = 13;
    s->events.untimed = 2;
    s->n_detectors = 2;
    copy(s->detectors[0].name, sizeof s->detectors[0].name, "error_rate");
    s->detectors[0].enabled = 1;
    s->detectors[0].keys = 40;
    s->detectors[0].firing = 1;
    s->detectors[0].evictions = 6;
    s->detectors[0].alerts_fired = 8;
    s->detectors[0].alerts_resolved = 7;
    copy(s->detectors[1].name, sizeof s->detectors[1].name, "volume");
    s->n_firing = 1;
    s->firing_total = 1;
    copy(s->firing[0].detector, sizeof s->firing[0].detector, "error_rate");
    copy(s->firing[0].key, sizeof s->firing[0].key, "crm.lookup");
    copy(s->firing[0].severity, sizeof s->firing[0].severity, "error");
    s->firing[0].started_ms = T0 + 1500;
    copy(s->firing[0].episode, sizeof s->firing[0].episode,
         "0123456789abcdef0123456789abcdef");
    s->n_sinks = 2;
    copy(s->sinks[0].name, sizeof s->sinks[0].name, "ops-webhook");
    copy(s->sinks[0].kind, sizeof s->sinks[0].kind, "webhook");
    s->sinks[0].queue_depth = 3;
    s->sinks[0].in_flight = 1;
    s->sinks[0].delivered = 100;
    s->sinks[0].retries = 4;
    s->sinks[0].dead_lettered = 2;
    s->sinks[0].last_status = 503;
    s->sinks[0].last_success_ms = T0 + 60000;
    s->sinks[0].last_failure_ms = T0 + 120000;
    copy(s->sinks[0].last_error, sizeof s->sinks[0].last_error,
         "ops-webhook: HTTP 503");
    copy(s->sinks[1].name, sizeof s->sinks[1].name, "we\"ird\\sink\nx");
    copy(s->sinks[1].kind, sizeof s->sinks[1].kind, "file");
    s->sinks[1].disabled = 1;
    s->journal_writable = 1;
}

static status_server *start(const char *token, unsigned max_conn)
{
    struct status_options o;
    status_server *srv;
    int err = -99;

    status_options_defaults(&o);
    o.token = token;
    if (max_conn)
        o.max_connections = max_conn;
    srv = status_create(&o, &err);
    assert_non_null(srv);
    assert_int_equal(err, STATUS_OK);
    assert_true(status_port(srv) > 0);
    return srv;
}

static status_server *start_filled(const char *token,
                                   struct status_snapshot *s)
{
    status_server *srv = start(token, 0);

    fill(s);
    status_publish(srv, s);
    return srv;
}

static int group_setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

static cJSON *parse(const struct resp *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body.data, r->body.len);

    assert_non_null(j);
    return j;
}

static const cJSON *field(const cJSON *o, const char *path)
{
    char part[64];
    const cJSON *cur = o;

    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        snprintf(part, sizeof part, "%.*s", (int)n, path);
        if (cJSON_IsArray(cur) && part[0] >= '0' && part[0] <= '9')
            cur = cJSON_GetArrayItem(cur, (int)strtol(part, NULL, 10));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        if (cur == NULL)
            fail_msg("no field %s", part);
        path += n + (dot != NULL);
    }
    return cur;
}

static void jstr(const cJSON *o, const char *path, const char *want)
{
    const cJSON *f = field(o, path);

    if (!cJSON_IsString(f))
        fail_msg("%s is not a string", path);
    assert_string_equal(f->valuestring, want);
}

static void jnum(const cJSON *o, const char *path, double want)
{
    const cJSON *f = field(o, path);

    if (!cJSON_IsNumber(f))
        fail_msg("%s is not a number", path);
    if (f->valuedouble != want)
        fail_msg("%s: %f, want %f", path, f->valuedouble, want);
}

static void jbool(const cJSON *o, const char *path, int want)
{
    const cJSON *f = field(o, path);

    assert_true(cJSON_IsBool(f));
    assert_int_equal(cJSON_IsTrue(f) ? 1 : 0, want);
}

static void jnull(const cJSON *o, const char *path)
{
    assert_true(cJSON_IsNull(field(o, path)));
}

/* ---- /healthz ----------------------------------------------------------- */

static void test_healthz(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    char h[128];
    cJSON *j;

    (void)state;
    srv = start_filled(NULL, &s);
    assert_int_equal(get(status_port(srv), "/healthz", NULL, &r), 200);
    assert_string_equal(r.body.data, "{\"status\":\"ok\"}\n");
    assert_string_equal(header(&r, "Content-Type", h, sizeof h),
                        "application/json");
    assert_string_equal(header(&r, "Cache-Control", h, sizeof h),
                        "no-store");
    resp_free(&r);

    /* 4 s old: within the 5 s default */
    s.last_tick_mono_ms = clock_mono_ms() - 4000;
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/healthz", NULL, &r), 200);
    resp_free(&r);

    /* a minute old: stalled */
    s.last_tick_mono_ms = clock_mono_ms() - 60000;
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/healthz", NULL, &r), 503);
    j = parse(&r);
    jstr(j, "status", "stalled");
    assert_true(field(j, "last_tick_ms_ago")->valuedouble >= 60000);
    assert_true(field(j, "last_tick_ms_ago")->valuedouble < 70000);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
    resp_free(&r);

    /* a tick brings it back */
    s.last_tick_mono_ms = clock_mono_ms();
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/healthz", NULL, &r), 200);
    resp_free(&r);
    status_destroy(srv);
}

static void test_healthz_threshold_option(void **state)
{
    struct status_options o;
    struct status_snapshot s;
    status_server *srv;
    struct resp r;

    (void)state;
    status_options_defaults(&o);
    o.health_stall_ms = 1000;
    srv = status_create(&o, NULL);
    assert_non_null(srv);
    fill(&s);
    s.last_tick_mono_ms = clock_mono_ms() - 2000;
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/healthz", NULL, &r), 503);
    resp_free(&r);
    status_destroy(srv);
}

/* Before the first publish: alive (creation counts as a tick), not ready. */
static void test_before_first_publish(void **state)
{
    status_server *srv;
    struct resp r;
    cJSON *j;

    (void)state;
    srv = start(NULL, 0);
    assert_int_equal(get(status_port(srv), "/healthz", NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(get(status_port(srv), "/readyz", NULL, &r), 503);
    j = parse(&r);
    jbool(j, "ready", 0);
    jstr(j, "reason", "starting; stream not connected; journal not writable");
    cJSON_Delete(j);
    resp_free(&r);
    assert_int_equal(get(status_port(srv), "/status", NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(get(status_port(srv), "/metrics", NULL, &r), 200);
    resp_free(&r);
    status_destroy(srv);
}

/* ---- /readyz ------------------------------------------------------------ */

static void readyz_is(status_server *srv, const struct status_snapshot *s,
                      long code, const char *reason)
{
    struct resp r;
    cJSON *j;

    status_publish(srv, s);
    assert_int_equal(get(status_port(srv), "/readyz", NULL, &r), code);
    if (reason == NULL) {
        assert_string_equal(r.body.data, "{\"ready\":true}\n");
    } else {
        j = parse(&r);
        jbool(j, "ready", 0);
        jstr(j, "reason", reason);
        assert_int_equal(cJSON_GetArraySize(j), 2);
        cJSON_Delete(j);
    }
    resp_free(&r);
}

static void test_readyz(void **state)
{
    struct status_snapshot s;
    status_server *srv;

    (void)state;
    srv = start_filled(NULL, &s);
    readyz_is(srv, &s, 200, NULL);

    s.stream.connected = 0;
    copy(s.stream.state, sizeof s.stream.state, "waiting");
    s.stream.disconnected_since_ms = T0 + 5000;
    readyz_is(srv, &s, 503, "stream disconnected since 2026-03-10T00:00:05.000Z");

    s.stream.disconnected_since_ms = 0;
    readyz_is(srv, &s, 503, "stream not connected (waiting)");

    s.stream.connected = 1;
    s.journal_writable = 0;
    readyz_is(srv, &s, 503, "journal not writable");

    s.stream.connected = 0;
    s.stream.disconnected_since_ms = T0;
    readyz_is(srv, &s, 503,
              "stream disconnected since 2026-03-10T00:00:00.000Z; "
              "journal not writable");

    fill(&s);
    copy(s.not_ready_reason, sizeof s.not_ready_reason, "shutting down");
    readyz_is(srv, &s, 503, "shutting down");

    fill(&s);
    readyz_is(srv, &s, 200, NULL);
    status_destroy(srv);
}

/* ---- /status ------------------------------------------------------------ */

static void test_status_json(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    const cJSON *f;
    char h[128];
    cJSON *j;
    double age;

    (void)state;
    srv = start_filled(NULL, &s);
    assert_int_equal(get(status_port(srv), "/status", NULL, &r), 200);
    assert_string_equal(header(&r, "Content-Type", h, sizeof h),
                        "application/json");
    j = parse(&r);
    jstr(j, "version", "1.2.3");
    assert_true(field(j, "uptime_s")->valuedouble >= 3600);
    assert_true(field(j, "uptime_s")->valuedouble < 3660);
    assert_true(field(j, "last_tick_ms_ago")->valuedouble < 5000);
    jbool(j, "ready", 1);
    jnull(j, "not_ready_reason");

    jstr(j, "stream.state", "connected");
    jstr(j, "stream.url", "https://audit.example.com/v1/stream");
    jbool(j, "stream.connected", 1);
    jstr(j, "stream.connected_since", "2026-03-10T00:00:00.000Z");
    jnull(j, "stream.disconnected_since");
    jstr(j, "stream.last_event_id", "evt-\"42\"");
    age = field(j, "stream.last_event_age_s")->valuedouble;
    assert_true(age >= 2.5 && age < 60);
    assert_true(cJSON_IsString(field(j, "stream.last_event_at")));
    jnum(j, "stream.connects", 3);
    jnum(j, "stream.reconnects", 2);
    jnum(j, "stream.stalls", 1);
    jnum(j, "stream.http_errors", 4);
    jnum(j, "stream.network_errors", 5);
    jnum(j, "stream.last_http_status", 200);

    jnum(j, "events.total", 12345);
    jnum(j, "events.decoded", 12300);
    jnum(j, "events.errors.not_json", 7);
    jnum(j, "events.errors.oversize", 3);
    jnum(j, "events.errors.invalid_utf8", 21);
    jnum(j, "events.errors.truncated", 9);
    jnum(j, "events.errors.bad_timestamp", 0);
    /* the decoder's reasons, then the stream reader's two */
    assert_int_equal(cJSON_GetArraySize(field(j, "events.errors")),
                     EVENT_R_COUNT + 2);
    jnum(j, "events.late", 11);
    jnum(j, "events.duplicates", 13);
    jnum(j, "events.untimed", 2);

    assert_int_equal(cJSON_GetArraySize(field(j, "detectors")), 2);
    jstr(j, "detectors.0.name", "error_rate");
    jbool(j, "detectors.0.enabled", 1);
    jnum(j, "detectors.0.keys", 40);
    jnum(j, "detectors.0.firing", 1);
    jnum(j, "detectors.0.evictions", 6);
    jnum(j, "detectors.0.alerts_fired", 8);
    jnum(j, "detectors.0.alerts_resolved", 7);
    jstr(j, "detectors.1.name", "volume");
    jbool(j, "detectors.1.enabled", 0);

    assert_int_equal(cJSON_GetArraySize(field(j, "firing")), 1);
    jstr(j, "firing.0.detector", "error_rate");
    jstr(j, "firing.0.key", "crm.lookup");
    jstr(j, "firing.0.severity", "error");
    jstr(j, "firing.0.started_at", "2026-03-10T00:00:01.500Z");
    jstr(j, "firing.0.episode", "0123456789abcdef0123456789abcdef");
    jnum(j, "firing_total", 1);

    assert_int_equal(cJSON_GetArraySize(field(j, "sinks")), 2);
    jstr(j, "sinks.0.name", "ops-webhook");
    jstr(j, "sinks.0.kind", "webhook");
    jnum(j, "sinks.0.queue_depth", 3);
    jnum(j, "sinks.0.in_flight", 1);
    jnum(j, "sinks.0.delivered", 100);
    jnum(j, "sinks.0.retries", 4);
    jnum(j, "sinks.0.dead_lettered", 2);
    jbool(j, "sinks.0.disabled", 0);
    jnum(j, "sinks.0.last_status", 503);
    jstr(j, "sinks.0.last_success", "2026-03-10T00:01:00.000Z");
    jstr(j, "sinks.0.last_failure", "2026-03-10T00:02:00.000Z");
    jstr(j, "sinks.0.last_error", "ops-webhook: HTTP 503");
    jstr(j, "sinks.1.name", "we\"ird\\sink\nx");
    jbool(j, "sinks.1.disabled", 1);
    jnull(j, "sinks.1.last_success");
    jnull(j, "sinks.1.last_error");

    jbool(j, "journal.writable", 1);
    f = field(j, "journal");
    assert_int_equal(cJSON_GetArraySize(f), 1);
    cJSON_Delete(j);
    resp_free(&r);
    status_destroy(srv);
}

/* Counts beyond the arrays are clamped; the firing total still shows. */
static void test_status_json_clamps(void **state)
{
    struct status_snapshot s;
    buf b;
    cJSON *j;

    (void)state;
    fill(&s);
    s.n_detectors = 1000;
    s.n_sinks = 1000;
    s.n_firing = 1000;
    s.firing_total = 5000;
    for (unsigned i = 0; i < STATUS_MAX_FIRING; i++)
        memset(s.firing[i].key, 'k', sizeof s.firing[i].key); /* no NUL */
    buf_init(&b, 1u << 20);
    assert_int_equal(status_render_json(&b, &s, clock_wall_ms(),
                                        clock_mono_ms()),
                     BUF_OK);
    j = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(field(j, "detectors")),
                     STATUS_MAX_DETECTORS);
    assert_int_equal(cJSON_GetArraySize(field(j, "sinks")),
                     STATUS_MAX_SINKS);
    assert_int_equal(cJSON_GetArraySize(field(j, "firing")),
                     STATUS_MAX_FIRING);
    assert_int_equal(strlen(field(j, "firing.0.key")->valuestring),
                     STATUS_KEY_MAX);
    jnum(j, "firing_total", 5000);
    cJSON_Delete(j);
    buf_free(&b);

    /* a cap too small fails cleanly */
    buf_init(&b, 100);
    assert_int_equal(status_render_json(&b, &s, 0, 0), BUF_ETOOBIG);
    buf_free(&b);
    buf_init(&b, 100);
    assert_int_equal(status_render_metrics(&b, &s), BUF_ETOOBIG);
    buf_free(&b);
}

/* "k1,k2,..." of o's members, in document order. */
static void keys_of(const cJSON *o, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (const cJSON *c = o->child; c != NULL; c = c->next) {
        int n = snprintf(out + len, cap - len, "%s%s", len ? "," : "",
                         c->string);
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
}

/* The members of every object come in a fixed order (the renderer walks
 * one table for /status and /metrics: this pins the /status side). */
static void test_status_json_order(void **state)
{
    struct status_snapshot s;
    char keys[1024];
    buf b;
    cJSON *j;

    (void)state;
    fill(&s);
    buf_init(&b, 1u << 20);
    assert_int_equal(status_render_json(&b, &s, T0, 0), BUF_OK);
    j = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(j);
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "version,started_at,uptime_s,last_tick_ms_ago,"
                              "ready,not_ready_reason,stream,events,"
                              "detectors,firing,firing_total,sinks,journal");
    keys_of(field(j, "stream"), keys, sizeof keys);
    assert_string_equal(keys, "state,url,connected,connected_since,"
                              "disconnected_since,last_event_id,"
                              "last_event_at,last_event_age_s,connects,"
                              "reconnects,stalls,http_errors,network_errors,"
                              "last_http_status");
    keys_of(field(j, "events"), keys, sizeof keys);
    assert_string_equal(keys,
                        "total,decoded,errors,late,duplicates,untimed");
    keys_of(field(j, "events.errors"), keys, sizeof keys);
    assert_string_equal(keys, "not_json,not_object,too_large,wrong_type,"
                              "bad_timestamp,bad_value,truncated,oversize,"
                              "invalid_utf8");
    keys_of(field(j, "detectors.1"), keys, sizeof keys);
    assert_string_equal(keys, "name,enabled,keys,firing,evictions,"
                              "alerts_fired,alerts_resolved");
    keys_of(field(j, "firing.0"), keys, sizeof keys);
    assert_string_equal(keys, "detector,key,severity,started_at,episode");
    keys_of(field(j, "sinks.1"), keys, sizeof keys);
    assert_string_equal(keys, "name,kind,queue_depth,in_flight,delivered,"
                              "retries,dead_lettered,disabled,last_status,"
                              "last_success,last_failure,last_error");
    keys_of(field(j, "journal"), keys, sizeof keys);
    assert_string_equal(keys, "writable");
    assert_int_equal(b.data[b.len - 1], '\n');
    cJSON_Delete(j);
    buf_free(&b);
}

/* ---- /metrics ----------------------------------------------------------- */

static int has_line(const char *body, const char *line)
{
    size_t n = strlen(line);
    const char *p = body;

    while ((p = strstr(p, line)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[n] == '\n')
            return 1;
        p += 1;
    }
    return 0;
}

static void assert_line(const char *body, const char *line)
{
    if (!has_line(body, line))
        fail_msg("missing metrics line: %s\n---\n%s", line, body);
}

/* Every sample's family has # HELP and # TYPE before it. */
static void assert_families_described(const char *body)
{
    const char *p = body;

    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len, nlen;
        char name[128], want[160];

        assert_non_null(eol); /* every line ends with \n */
        len = (size_t)(eol - p);
        if (p[0] != '#') {
            nlen = strcspn(p, "{ ");
            assert_true(nlen < len && nlen < sizeof name);
            snprintf(name, sizeof name, "%.*s", (int)nlen, p);
            snprintf(want, sizeof want, "# HELP %s ", name);
            if (strstr(body, want) == NULL || strstr(body, want) > p)
                fail_msg("no HELP before %s", name);
            snprintf(want, sizeof want, "# TYPE %s ", name);
            if (strstr(body, want) == NULL || strstr(body, want) > p)
                fail_msg("no TYPE before %s", name);
        }
        p = eol + 1;
    }
}

static void test_metrics(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    char h[128], line[256];
    const char *b;

    (void)state;
    srv = start_filled(NULL, &s);
    s.stream.last_event_ms = T0 + 1234;
    s.start_ms = T0 - 1000;
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/metrics", NULL, &r), 200);
    assert_string_equal(header(&r, "Content-Type", h, sizeof h),
                        "text/plain; version=0.0.4; charset=utf-8");
    b = r.body.data;
    assert_families_described(b);
    assert_line(b, "# HELP toolwatch_events_total Audit stream events received.");
    assert_line(b, "# TYPE toolwatch_events_total counter");
    assert_line(b, "toolwatch_events_total 12345");
    assert_line(b, "toolwatch_events_decoded_total 12300");
    assert_line(b, "# TYPE toolwatch_event_errors_total counter");
    assert_line(b, "toolwatch_event_errors_total{reason=\"not_json\"} 7");
    assert_line(b, "toolwatch_event_errors_total{reason=\"truncated\"} 9");
    assert_line(b, "toolwatch_event_errors_total{reason=\"bad_value\"} 0");
    assert_line(b, "toolwatch_event_errors_total{reason=\"oversize\"} 3");
    assert_line(b, "toolwatch_event_errors_total{reason=\"invalid_utf8\"} 21");
    assert_line(b, "toolwatch_events_late_total 11");
    assert_line(b, "toolwatch_events_duplicate_total 13");
    assert_line(b, "# TYPE toolwatch_stream_connected gauge");
    assert_line(b, "toolwatch_stream_connected 1");
    assert_line(b, "toolwatch_stream_connects_total 3");
    assert_line(b, "toolwatch_stream_reconnects_total 2");
    assert_line(b, "toolwatch_stream_stalls_total 1");
    assert_line(b, "toolwatch_stream_errors_total{kind=\"http\"} 4");
    assert_line(b, "toolwatch_stream_errors_total{kind=\"network\"} 5");
    assert_line(b, "# TYPE toolwatch_last_event_timestamp_seconds gauge");
    assert_line(b, "toolwatch_last_event_timestamp_seconds 1773100801.234");
    assert_line(b, "toolwatch_start_time_seconds 1773100799.000");
    assert_line(b, "toolwatch_up 1");
    assert_line(b, "toolwatch_build_info{version=\"1.2.3\"} 1");
    assert_line(b, "# TYPE toolwatch_alerts_total counter");
    assert_line(b, "toolwatch_alerts_total{detector=\"error_rate\",state=\"firing\"} 8");
    assert_line(b, "toolwatch_alerts_total{detector=\"error_rate\",state=\"resolved\"} 7");
    assert_line(b, "toolwatch_alerts_total{detector=\"volume\",state=\"firing\"} 0");
    assert_line(b, "# TYPE toolwatch_alerts_firing gauge");
    assert_line(b, "toolwatch_alerts_firing{detector=\"error_rate\"} 1");
    assert_line(b, "toolwatch_detector_enabled{detector=\"volume\"} 0");
    assert_line(b, "toolwatch_detector_keys{detector=\"error_rate\"} 40");
    assert_line(b, "# TYPE toolwatch_detector_evictions_total counter");
    assert_line(b, "toolwatch_detector_evictions_total{detector=\"error_rate\"} 6");
    assert_line(b, "# TYPE toolwatch_notifications_total counter");
    assert_line(b, "toolwatch_notifications_total{sink=\"ops-webhook\",result=\"delivered\"} 100");
    assert_line(b, "toolwatch_notifications_total{sink=\"ops-webhook\",result=\"retry\"} 4");
    assert_line(b, "toolwatch_notifications_total{sink=\"ops-webhook\",result=\"dead_lettered\"} 2");
    assert_line(b, "# TYPE toolwatch_journal_pending gauge");
    assert_line(b, "toolwatch_journal_pending{sink=\"ops-webhook\"} 3");
    assert_line(b, "toolwatch_notifications_in_flight{sink=\"ops-webhook\"} 1");
    assert_line(b, "toolwatch_sink_last_success_timestamp_seconds{sink=\"ops-webhook\"} 1773100860.000");
    assert_line(b, "toolwatch_journal_writable 1");
    /* label escaping: " -> \", \ -> \\, newline -> \n */
    snprintf(line, sizeof line, "%s",
             "toolwatch_journal_pending{sink=\"we\\\"ird\\\\sink\\nx\"} 0");
    assert_line(b, line);
    assert_line(b, "toolwatch_sink_disabled{sink=\"we\\\"ird\\\\sink\\nx\"} 1");
    resp_free(&r);
    status_destroy(srv);
}

/* The families come in a fixed order, each sample right after its own
 * family's header, and a family with two labels goes item by item (the
 * renderer walks one table for /status and /metrics: this pins the
 * /metrics side). */
static void test_metrics_order(void **state)
{
    static const char *const want[] = {
        "toolwatch_up", "toolwatch_build_info",
        "toolwatch_start_time_seconds", "toolwatch_events_total",
        "toolwatch_events_decoded_total", "toolwatch_event_errors_total",
        "toolwatch_events_late_total", "toolwatch_events_duplicate_total",
        "toolwatch_events_untimed_total", "toolwatch_stream_connected",
        "toolwatch_stream_connects_total",
        "toolwatch_stream_reconnects_total", "toolwatch_stream_stalls_total",
        "toolwatch_stream_errors_total",
        "toolwatch_last_event_timestamp_seconds", "toolwatch_alerts_total",
        "toolwatch_alerts_firing", "toolwatch_detector_enabled",
        "toolwatch_detector_keys", "toolwatch_detector_evictions_total",
        "toolwatch_notifications_total", "toolwatch_journal_pending",
        "toolwatch_notifications_in_flight", "toolwatch_sink_disabled",
        "toolwatch_sink_last_success_timestamp_seconds",
        "toolwatch_journal_writable"};
    struct status_snapshot s;
    const char *p;
    size_t k = 0;
    buf b;

    (void)state;
    fill(&s);
    buf_init(&b, 1u << 20);
    assert_int_equal(status_render_metrics(&b, &s), BUF_OK);
    assert_int_equal(b.data[b.len - 1], '\n');
    for (p = b.data; p < b.data + b.len; p = strchr(p, '\n') + 1) {
        size_t n = strcspn(p, "{ \n");

        if (strncmp(p, "# HELP ", 7) == 0) {
            assert_true(k < sizeof want / sizeof want[0]);
            n = strlen(want[k]);
            if (strncmp(p + 7, want[k], n) != 0 || p[7 + n] != ' ')
                fail_msg("family %zu is not %s: %.60s", k, want[k], p);
            k++;
        } else if (p[0] != '#') {
            assert_true(k > 0);
            if (n != strlen(want[k - 1]) || strncmp(p, want[k - 1], n) != 0)
                fail_msg("sample outside its family %s: %.60s", want[k - 1],
                         p);
        }
    }
    assert_int_equal(k, sizeof want / sizeof want[0]);
    /* item by item: a detector's firing then resolved, then the next */
    assert_non_null(strstr(
        b.data, "# TYPE toolwatch_alerts_total counter\n"
                "toolwatch_alerts_total{detector=\"error_rate\","
                "state=\"firing\"} 8\n"
                "toolwatch_alerts_total{detector=\"error_rate\","
                "state=\"resolved\"} 7\n"
                "toolwatch_alerts_total{detector=\"volume\","
                "state=\"firing\"} 0\n"));
    assert_non_null(strstr(
        b.data, "# TYPE toolwatch_notifications_total counter\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"delivered\"} 100\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"retry\"} 4\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"dead_lettered\"} 2\n"
                "toolwatch_notifications_total{sink=\"we"));
    buf_free(&b);
}

static int have_promtool(void)
{
    return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* `promtool check metrics` (format and lint) must accept the body. */
static void promtool_accepts(const buf *body)
{
    char path[] = "/tmp/tw-metrics-XXXXXX";
    char cmd[256], out[4096];
    size_t n;
    FILE *p;
    int fd, st;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body->data, body->len), (ssize_t)body->len);
    close(fd);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    st = pclose(p);
    unlink(path);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        fail_msg("promtool check metrics: status %d\n%s\n---\n%s", st, out,
                 body->data);
}

static void test_metrics_promtool(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;

    (void)state;
    if (!have_promtool()) {
        print_message("promtool not installed (Debian package prometheus): "
                      "skipping the exposition-format check\n");
        skip();
    }
    srv = start_filled(NULL, &s);
    assert_int_equal(get(status_port(srv), "/metrics", NULL, &r), 200);
    promtool_accepts(&r.body);
    resp_free(&r);

    /* an empty snapshot: families without samples */
    memset(&s, 0, sizeof s);
    s.last_tick_mono_ms = clock_mono_ms();
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/metrics", NULL, &r), 200);
    promtool_accepts(&r.body);
    resp_free(&r);
    status_destroy(srv);
}

/* ---- methods and paths -------------------------------------------------- */

static void test_methods_and_paths(void **state)
{
    static const char *const paths[] = {"/healthz", "/readyz", "/status",
                                        "/metrics"};
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH",
                                          "OPTIONS"};
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    char h[128];
    uint16_t port;

    (void)state;
    srv = start_filled(NULL, &s);
    port = status_port(srv);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
            assert_int_equal(http(port, methods[k], paths[i], NULL, 5000, &r),
                             CURLE_OK);
            assert_int_equal(r.code, 405);
            assert_string_equal(header(&r, "Allow", h, sizeof h),
                                "GET, HEAD");
            resp_free(&r);
        }
        /* HEAD: GET's status and headers, no body */
        assert_int_equal(http(port, "HEAD", paths[i], NULL, 5000, &r),
                         CURLE_OK);
        assert_int_equal(r.code, 200);
        assert_int_equal(r.body.len, 0);
        assert_true(header(&r, "Content-Type", h, sizeof h)[0] != '\0');
        resp_free(&r);
    }
    assert_int_equal(get(port, "/nope", NULL, &r), 404);
    assert_string_equal(r.body.data, "{\"error\":\"not found\"}\n");
    resp_free(&r);
    assert_int_equal(get(port, "/", NULL, &r), 404);
    resp_free(&r);
    assert_int_equal(get(port, "/healthz/", NULL, &r), 404);
    resp_free(&r);
    assert_int_equal(get(port, "/STATUS", NULL, &r), 404);
    resp_free(&r);
    assert_int_equal(http(port, "POST", "/nope", NULL, 5000, &r), CURLE_OK);
    assert_int_equal(r.code, 404);
    resp_free(&r);
    /* a query string does not change the route */
    assert_int_equal(get(port, "/healthz?verbose=1", NULL, &r), 200);
    resp_free(&r);
    status_destroy(srv);
}

/* ---- the token ---------------------------------------------------------- */

static void expect_401(uint16_t port, const char *method, const char *path,
                       const char *auth)
{
    struct resp r;
    char h[128];

    assert_int_equal(http(port, method, path, auth, 5000, &r), CURLE_OK);
    if (r.code != 401)
        fail_msg("%s %s with %s: %ld", method, path, auth ? auth : "(none)",
                 r.code);
    assert_string_equal(header(&r, "WWW-Authenticate", h, sizeof h),
                        "Bearer realm=\"toolwatch\"");
    assert_string_equal(r.body.data, "{\"error\":\"unauthorized\"}\n");
    assert_null(strstr(r.head.data, TOKEN));
    resp_free(&r);
}

static void test_token(void **state)
{
    static const char *const paths[] = {"/readyz", "/status", "/metrics",
                                        "/nope"};
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    uint16_t port;
    char wrong_same[sizeof TOKEN];

    (void)state;
    srv = start_filled(TOKEN, &s);
    port = status_port(srv);
    copy(wrong_same, sizeof wrong_same, TOKEN);
    wrong_same[sizeof TOKEN - 2] ^= 1; /* same length, last byte differs */

    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        expect_401(port, "GET", paths[i], NULL);
        expect_401(port, "GET", paths[i], "Bearer");
        expect_401(port, "GET", paths[i], "Bearer ");
        expect_401(port, "GET", paths[i], "Bearer s3cret");
        expect_401(port, "GET", paths[i], "Bearer " TOKEN "x");
        expect_401(port, "GET", paths[i], wrong_same); /* no scheme */
        {
            char a[128];
            snprintf(a, sizeof a, "Bearer %s", wrong_same);
            expect_401(port, "GET", paths[i], a);
        }
        expect_401(port, "GET", paths[i], "Basic " TOKEN);
        expect_401(port, "GET", paths[i], TOKEN);
        expect_401(port, "POST", paths[i], NULL);
    }
    /* the right token */
    assert_int_equal(get(port, "/status", "Bearer " TOKEN, &r), 200);
    assert_null(strstr(r.body.data, TOKEN));
    resp_free(&r);
    assert_int_equal(get(port, "/metrics", "Bearer " TOKEN, &r), 200);
    assert_null(strstr(r.body.data, TOKEN));
    resp_free(&r);
    assert_int_equal(get(port, "/readyz", "bearer   " TOKEN, &r), 200);
    resp_free(&r);
    assert_int_equal(get(port, "/nope", "Bearer " TOKEN, &r), 404);
    resp_free(&r);
    assert_int_equal(http(port, "DELETE", "/status", "Bearer " TOKEN, 5000,
                          &r),
                     CURLE_OK);
    assert_int_equal(r.code, 405);
    resp_free(&r);
    /* /healthz stays open for liveness probes, token or not */
    assert_int_equal(get(port, "/healthz", NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(get(port, "/healthz", "Bearer wrong", &r), 200);
    resp_free(&r);
    status_destroy(srv);
}

static void test_create_errors(void **state)
{
    struct status_options o;
    status_server *srv, *other;
    int err = 0;

    (void)state;
    status_options_defaults(&o);
    o.token = "";
    assert_null(status_create(&o, &err));
    assert_int_equal(err, STATUS_EINVAL);

    status_options_defaults(&o);
    o.bind_addr = "localhost";
    assert_null(status_create(&o, &err));
    assert_int_equal(err, STATUS_EINVAL);

    /* the port is taken */
    srv = start(NULL, 0);
    status_options_defaults(&o);
    o.port = status_port(srv);
    other = status_create(&o, &err);
    assert_null(other);
    assert_int_equal(err, STATUS_ELISTEN);
    status_destroy(srv);

    /* IPv6 loopback, when the host has it */
    status_options_defaults(&o);
    o.bind_addr = "::1";
    srv = status_create(&o, &err);
    if (srv != NULL)
        assert_true(status_port(srv) > 0);
    status_destroy(srv);
    status_destroy(NULL);

    assert_string_equal(status_strerror(STATUS_ELISTEN),
                        "cannot listen on the status address");
    assert_string_equal(status_strerror(12345), "unknown status error");
}

/* ---- slow clients ------------------------------------------------------- */

static int connect_idle(uint16_t port, const char *partial)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (partial != NULL)
        assert_int_equal(send(fd, partial, strlen(partial), MSG_NOSIGNAL),
                         (ssize_t)strlen(partial));
    return fd;
}

/* Send a raw request, read until the server closes; returns bytes read. */
static size_t raw_exchange(uint16_t port, const char *req, char *out,
                           size_t size)
{
    int fd = connect_idle(port, req);
    size_t got = 0;
    ssize_t n;

    while (got < size - 1 &&
           (n = recv(fd, out + got, size - 1 - got, 0)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fd);
    return got;
}

/* HEAD sends GET's headers (Content-Length included) and no body. */
static void test_head_has_no_body(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    char out[8192];
    const char *end;

    (void)state;
    srv = start_filled(NULL, &s);
    raw_exchange(status_port(srv),
                 "HEAD /status HTTP/1.1\r\nHost: x\r\nConnection: close"
                 "\r\n\r\n",
                 out, sizeof out);
    assert_true(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
    end = strstr(out, "\r\n\r\n");
    assert_non_null(end);
    assert_string_equal(end, "\r\n\r\n");
    assert_non_null(strstr(out, "\r\nContent-Length: "));

    raw_exchange(status_port(srv), "GET /healthz HTTP/1.0\r\n\r\n", out,
                 sizeof out);
    assert_true(strncmp(out, "HTTP/1.0 200 ", 13) == 0 ||
                strncmp(out, "HTTP/1.1 200 ", 13) == 0);
    end = strstr(out, "\r\n\r\n");
    assert_non_null(end);
    assert_string_equal(end + 4, "{\"status\":\"ok\"}\n");
    status_destroy(srv);
}

#define IDLE 200

static void test_idle_connections_do_not_block_healthz(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    int fds[IDLE];
    int64_t t;

    (void)state;
    srv = start(NULL, IDLE + 56);
    fill(&s);
    status_publish(srv, &s);
    /* half send nothing, half stop in the middle of a request */
    for (int i = 0; i < IDLE; i++)
        fds[i] = connect_idle(status_port(srv),
                              i % 2 ? "GET /healthz HTTP/1.1\r\nHost: x" : NULL);
    t = clock_mono_ms();
    assert_int_equal(http(status_port(srv), "GET", "/healthz", NULL, 1000, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_true(clock_mono_ms() - t < 1000);
    resp_free(&r);
    assert_int_equal(http(status_port(srv), "GET", "/status", NULL, 1000, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    resp_free(&r);
    for (int i = 0; i < IDLE; i++)
        close(fds[i]);
    status_destroy(srv);
}

#define LIMIT 8

/* Connections beyond the limit are not served (libmicrohttpd stops
 * accepting: they wait in the backlog); once the idle ones go, the server
 * answers again. */
static void test_connection_limit(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    int fds[LIMIT];
    CURLcode rc;
    int64_t t;

    (void)state;
    srv = start(NULL, LIMIT);
    fill(&s);
    status_publish(srv, &s);
    for (int i = 0; i < LIMIT; i++)
        fds[i] = connect_idle(status_port(srv), NULL);
    rc = http(status_port(srv), "GET", "/healthz", NULL, 500, &r);
    assert_int_not_equal(rc, CURLE_OK);
    assert_int_equal(r.code, 0);
    resp_free(&r);
    for (int i = 0; i < LIMIT; i++)
        close(fds[i]);
    /* the server is unharmed: it answers as soon as slots are free */
    t = clock_mono_ms();
    assert_int_equal(http(status_port(srv), "GET", "/healthz", NULL, 2000, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_true(clock_mono_ms() - t < 2000);
    resp_free(&r);
    assert_int_equal(get(status_port(srv), "/status", NULL, &r), 200);
    resp_free(&r);
    status_destroy(srv);
}

/* Idle clients holding every slot are dropped after timeout_s: the server
 * recovers without their cooperation.  (This one waits about a second of
 * real time: the timeout is libmicrohttpd's, on its own clock.) */
static void test_connection_limit_recovers_by_timeout(void **state)
{
    struct status_options o;
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    int fds[LIMIT];
    int64_t t;

    (void)state;
    status_options_defaults(&o);
    o.max_connections = LIMIT;
    o.timeout_s = 1;
    srv = status_create(&o, NULL);
    assert_non_null(srv);
    fill(&s);
    status_publish(srv, &s);
    for (int i = 0; i < LIMIT; i++)
        fds[i] = connect_idle(status_port(srv), i % 2 ? "GET /sta" : NULL);
    t = clock_mono_ms();
    assert_int_equal(http(status_port(srv), "GET", "/healthz", NULL, 5000, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    /* answered once the idle ones timed out: after ~1 s, well before 5 s */
    assert_true(clock_mono_ms() - t < 4000);
    resp_free(&r);
    for (int i = 0; i < LIMIT; i++)
        close(fds[i]);
    status_destroy(srv);
}

/* ---- publishing while serving ------------------------------------------ */

struct pub_ctx {
    status_server *srv;
    atomic_int stop;
    struct status_snapshot a, b;
};

static void *publisher(void *arg)
{
    struct pub_ctx *c = arg;
    unsigned n = 0;

    while (!atomic_load(&c->stop)) {
        c->a.last_tick_mono_ms = c->b.last_tick_mono_ms = clock_mono_ms();
        status_publish(c->srv, n++ % 2 ? &c->b : &c->a);
        sched_yield(); /* let the server take the lock (valgrind runs one
                          thread at a time) */
    }
    return NULL;
}

static void test_publish_while_serving(void **state)
{
    struct pub_ctx *c = calloc(1, sizeof *c);
    pthread_t th;
    struct resp r;
    cJSON *j;

    (void)state;
    assert_non_null(c);
    c->srv = start(NULL, 0);
    fill(&c->a);
    fill(&c->b);
    c->a.events.total = c->a.stream.reconnects = 1111;
    c->b.events.total = c->b.stream.reconnects = 2222;
    memset(c->b.stream.last_event_id, 'b', sizeof c->b.stream.last_event_id - 1);
    status_publish(c->srv, &c->a);
    assert_int_equal(pthread_create(&th, NULL, publisher, c), 0);
    for (int i = 0; i < 100; i++) {
        double total, rec;
        size_t idlen;

        assert_int_equal(get(status_port(c->srv), "/status", NULL, &r), 200);
        j = parse(&r);
        total = field(j, "events.total")->valuedouble;
        rec = field(j, "stream.reconnects")->valuedouble;
        idlen = strlen(field(j, "stream.last_event_id")->valuestring);
        assert_true(total == rec);
        assert_true(total == 1111 ? idlen == 8
                                  : idlen == STATUS_EVENT_ID_MAX - 1);
        cJSON_Delete(j);
        resp_free(&r);
    }
    atomic_store(&c->stop, 1);
    pthread_join(th, NULL);
    status_destroy(c->srv);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_healthz_threshold_option),
        cmocka_unit_test(test_before_first_publish),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_status_json_clamps),
        cmocka_unit_test(test_status_json_order),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_order),
        cmocka_unit_test(test_metrics_promtool),
        cmocka_unit_test(test_methods_and_paths),
        cmocka_unit_test(test_head_has_no_body),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_idle_connections_do_not_block_healthz),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_connection_limit_recovers_by_timeout),
        cmocka_unit_test(test_publish_while_serving),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
