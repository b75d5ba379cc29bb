/*
 * test_server.c - the status HTTP server (status/server.h), queried over
 * 127.0.0.1 with libcurl.  What the documents say is test_render.c's;
 * here, that the server serves them.
 *
 * Every endpoint: exact status codes and content types, the documents of
 * the published snapshot (/metrics byte for byte as the renderer writes
 * it, /status with ages by the server's own clocks); 404 / 405 / HEAD; the
 * bearer token (and /healthz staying open), also changed in place as a
 * reload does; /healthz turning 503 when the published tick is old (the
 * tick is set in the past: nothing sleeps); /readyz reasons; many idle
 * connections not starving /healthz; the connection limit; publishing
 * from another thread while documents are served (each document shows one
 * snapshot, never a mix).
 */
#include "status_helpers.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "status/server.h"

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

/* `method` http://127.0.0.1:port<path> with `body` (len bytes; NULL:
 * none; chunked: sent with Transfer-Encoding: chunked); auth is a whole
 * Authorization header value or NULL.  Returns the curl result; r is
 * filled (free with resp_free). */
static CURLcode http_body(uint16_t port, const char *method, const char *path,
                          const char *auth, const char *body, size_t len,
                          int chunked, long timeout_ms, struct resp *r)
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
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
        if (chunked)
            hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
    }
    if (auth != NULL) {
        /* "Cookie: ..." goes as it is: the page's session */
        snprintf(hdr, sizeof hdr, "%s%s",
                 strncmp(auth, "Cookie: ", 8) == 0 ? "" : "Authorization: ",
                 auth);
        hl = curl_slist_append(hl, hdr);
    }
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
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

/* GET (or `method`; a POST sends "x=1"): see http_body. */
static CURLcode http(uint16_t port, const char *method, const char *path,
                     const char *auth, long timeout_ms, struct resp *r)
{
    int post = strcmp(method, "POST") == 0;

    return http_body(port, method, path, auth, post ? "x=1" : NULL,
                     post ? 3 : 0, 0, timeout_ms, r);
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

/* The known snapshot (status_helpers.h) as of now. */
static void fill_now(struct status_snapshot *s)
{
    fill(s, clock_wall_ms(), clock_mono_ms());
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

    fill_now(s);
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
    j = parse(&r.body);
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
    fill_now(&s);
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
    j = parse(&r.body);
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
        j = parse(&r.body);
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

    fill_now(&s);
    copy(s.not_ready_reason, sizeof s.not_ready_reason, "shutting down");
    readyz_is(srv, &s, 503, "shutting down");

    fill_now(&s);
    readyz_is(srv, &s, 200, NULL);
    status_destroy(srv);
}

/* ---- /status ------------------------------------------------------------ */

/* /status is the published snapshot, its ages judged by the server's
 * clocks at the request (the exact document: test_render.c). */
static void test_status_json(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    char h[128];
    cJSON *j;
    double age;

    (void)state;
    srv = start_filled(NULL, &s);
    assert_int_equal(get(status_port(srv), "/status", NULL, &r), 200);
    assert_string_equal(header(&r, "Content-Type", h, sizeof h),
                        "application/json");
    j = parse(&r.body);
    jstr(j, "version", "1.2.3");
    assert_true(field(j, "uptime_s")->valuedouble >= 3600);
    assert_true(field(j, "uptime_s")->valuedouble < 3660);
    assert_true(field(j, "last_tick_ms_ago")->valuedouble < 5000);
    jbool(j, "ready", 1);
    jnull(j, "not_ready_reason");
    age = field(j, "stream.last_event_age_s")->valuedouble;
    assert_true(age >= 2.5 && age < 60);
    assert_true(cJSON_IsString(field(j, "stream.last_event_at")));
    jnum(j, "events.total", 12345);
    jstr(j, "sinks.1.name", "we\"ird\\sink\nx");
    assert_int_equal(r.body.data[r.body.len - 1], '\n');
    cJSON_Delete(j);
    resp_free(&r);
    status_destroy(srv);
}

/* ---- /metrics ----------------------------------------------------------- */

/* /metrics is the renderer's text for the published snapshot, byte for
 * byte (it reads no clock). */
static void test_metrics(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    char h[128];
    buf want;

    (void)state;
    srv = start_filled(NULL, &s);
    s.stream.last_event_ms = T0 + 1234;
    s.start_ms = T0 - 1000;
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/metrics", NULL, &r), 200);
    assert_string_equal(header(&r, "Content-Type", h, sizeof h),
                        "text/plain; version=0.0.4; charset=utf-8");
    buf_init(&want, 1u << 20);
    assert_int_equal(status_render_metrics(&want, &s), BUF_OK);
    assert_int_equal(r.body.len, want.len);
    assert_memory_equal(r.body.data, want.data, want.len);
    buf_free(&want);
    resp_free(&r);

    /* an empty snapshot: families without samples */
    memset(&s, 0, sizeof s);
    s.last_tick_mono_ms = clock_mono_ms();
    status_publish(srv, &s);
    assert_int_equal(get(status_port(srv), "/metrics", NULL, &r), 200);
    buf_init(&want, 1u << 20);
    assert_int_equal(status_render_metrics(&want, &s), BUF_OK);
    assert_int_equal(r.body.len, want.len);
    assert_memory_equal(r.body.data, want.data, want.len);
    buf_free(&want);
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
    assert_int_equal(get(port, "/", NULL, &r), 200); /* the page */
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
    static const char *const paths[] = {"/status", "/metrics", "/nope"};
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
    /* /healthz and /readyz stay open for probes, token or not */
    assert_int_equal(get(port, "/healthz", NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(get(port, "/healthz", "Bearer wrong", &r), 200);
    resp_free(&r);
    assert_int_equal(get(port, "/readyz", NULL, &r), 200);
    assert_string_equal(r.body.data, "{\"ready\":true}\n");
    resp_free(&r);
    assert_int_equal(get(port, "/readyz", "Bearer wrong", &r), 200);
    resp_free(&r);
    /* not ready: 503 and the reason, still without the token */
    s.stream.connected = 0;
    status_publish(srv, &s);
    assert_int_equal(get(port, "/readyz", NULL, &r), 503);
    assert_non_null(strstr(r.body.data, "\"ready\":false,\"reason\":"));
    assert_null(strstr(r.body.data, TOKEN));
    resp_free(&r);
    expect_401(port, "GET", "/status", NULL);
    status_destroy(srv);
}

/* status.probes_public false: with a token configured, /healthz and
 * /readyz need it as every other path does (401 without it or with a
 * wrong one, 200 / 503 with it); switched in place as a reload does, and
 * back.  Without a token configured the probes stay open either way. */
static void test_probes_private(void **state)
{
    struct status_options o;
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    uint16_t port;
    int err = -99;

    (void)state;
    status_options_defaults(&o);
    assert_int_equal(o.probes_public, 1);
    o.token = TOKEN;
    o.probes_public = 0;
    srv = status_create(&o, &err);
    assert_non_null(srv);
    assert_int_equal(err, STATUS_OK);
    fill_now(&s);
    status_publish(srv, &s);
    port = status_port(srv);
    expect_401(port, "GET", "/healthz", NULL);
    expect_401(port, "GET", "/healthz", "Bearer wrong");
    expect_401(port, "GET", "/readyz", NULL);
    expect_401(port, "GET", "/readyz", "Bearer wrong");
    assert_int_equal(get(port, "/healthz", "Bearer " TOKEN, &r), 200);
    resp_free(&r);
    assert_int_equal(get(port, "/readyz", "Bearer " TOKEN, &r), 200);
    assert_string_equal(r.body.data, "{\"ready\":true}\n");
    resp_free(&r);
    s.stream.connected = 0;
    status_publish(srv, &s);
    assert_int_equal(get(port, "/readyz", "Bearer " TOKEN, &r), 503);
    resp_free(&r);
    expect_401(port, "GET", "/readyz", NULL);

    /* public again in place (a reload), then private again */
    status_set_probes_public(srv, 1);
    assert_int_equal(get(port, "/readyz", NULL, &r), 503);
    resp_free(&r);
    assert_int_equal(get(port, "/healthz", NULL, &r), 200);
    resp_free(&r);
    expect_401(port, "GET", "/status", NULL);
    status_set_probes_public(srv, 0);
    expect_401(port, "GET", "/healthz", NULL);
    status_set_probes_public(NULL, 0);

    /* no token: nothing to ask for */
    assert_int_equal(status_set_token(srv, NULL), STATUS_OK);
    assert_int_equal(get(port, "/healthz", NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(get(port, "/readyz", NULL, &r), 503);
    resp_free(&r);
    status_destroy(srv);
}

/* A reload that changes only the token: the running server takes the new
 * one in place (same port), the old one stops working at once; a token
 * can be removed and set again; "" is refused and changes nothing. */
static void test_set_token(void **state)
{
    struct status_snapshot s;
    status_server *srv;
    struct resp r;
    uint16_t port;

    (void)state;
    srv = start_filled(NULL, &s);
    port = status_port(srv);
    assert_int_equal(get(port, "/status", NULL, &r), 200);
    resp_free(&r);

    assert_int_equal(status_set_token(srv, TOKEN), STATUS_OK);
    assert_int_equal(status_port(srv), port);
    expect_401(port, "GET", "/status", NULL);
    assert_int_equal(get(port, "/status", "Bearer " TOKEN, &r), 200);
    resp_free(&r);

    assert_int_equal(status_set_token(srv, TOKEN "-2"), STATUS_OK);
    expect_401(port, "GET", "/status", "Bearer " TOKEN);
    assert_int_equal(get(port, "/status", "Bearer " TOKEN "-2", &r), 200);
    resp_free(&r);

    assert_int_equal(status_set_token(srv, ""), STATUS_EINVAL);
    assert_int_equal(status_set_token(NULL, TOKEN), STATUS_EINVAL);
    expect_401(port, "GET", "/metrics", NULL);
    assert_int_equal(get(port, "/healthz", NULL, &r), 200);
    resp_free(&r);

    assert_int_equal(status_set_token(srv, NULL), STATUS_OK);
    assert_int_equal(get(port, "/status", NULL, &r), 200);
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
    fill_now(&s);
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
    fill_now(&s);
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
    fill_now(&s);
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
    fill_now(&c->a);
    fill_now(&c->b);
    c->a.events.total = c->a.stream.reconnects = 1111;
    c->b.events.total = c->b.stream.reconnects = 2222;
    memset(c->b.stream.last_event_id, 'b', sizeof c->b.stream.last_event_id - 1);
    status_publish(c->srv, &c->a);
    assert_int_equal(pthread_create(&th, NULL, publisher, c), 0);
    for (int i = 0; i < 100; i++) {
        double total, rec;
        size_t idlen;

        assert_int_equal(get(status_port(c->srv), "/status", NULL, &r), 200);
        j = parse(&r.body);
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

/* ---- the API: requests handed to a loop --------------------------------- */

/* A stand-in for the main loop: woken through a pipe, it takes each API
 * request and answers {"method", "path", "body"} (201 for POST, 204 for
 * DELETE, 405 for PUT, else 200). */
struct loop_sim {
    status_server *srv;
    int pipe[2];
    pthread_t th;
    atomic_int stop;
    atomic_int wakes;
};

static void sim_wake(void *ud)
{
    struct loop_sim *l = ud;

    atomic_fetch_add(&l->wakes, 1);
    if (write(l->pipe[1], "x", 1) < 0) {
        /* full: a wake-up is pending */
    }
}

static void *sim_run(void *ud)
{
    struct loop_sim *l = ud;
    char drain[64];

    while (!atomic_load(&l->stop)) {
        struct status_api_request q;
        struct pollfd pfd = {l->pipe[0], POLLIN, 0};

        if (poll(&pfd, 1, 50) > 0 && read(l->pipe[0], drain, sizeof drain) < 0)
            break;
        while (status_api_take(l->srv, &q)) {
            buf b;
            unsigned code = strcmp(q.method, "POST") == 0 ? 201
                          : strcmp(q.method, "DELETE") == 0 ? 204
                          : strcmp(q.method, "PUT") == 0 ? 405 : 200;

            buf_init(&b, 1 << 20);
            buf_append_str(&b, "{\"method\":");
            buf_append_json_string(&b, q.method, strlen(q.method));
            buf_append_str(&b, ",\"path\":");
            buf_append_json_string(&b, q.path, strlen(q.path));
            buf_append_str(&b, ",\"body\":");
            buf_append_json_string(&b, q.body, q.body_len);
            buf_append_str(&b, "}");
            status_api_answer(l->srv, &q, code, code == 204 ? NULL : b.data,
                              b.len, code == 405 ? "GET, POST" : NULL);
            buf_free(&b);
        }
    }
    return NULL;
}

/* A server with the API on (token may be NULL); run_loop: start the
 * stand-in loop. */
static status_server *api_start(struct loop_sim *l, const char *token,
                                int run_loop)
{
    struct status_options o;

    memset(l, 0, sizeof *l);
    assert_int_equal(pipe(l->pipe), 0);
    fcntl(l->pipe[1], F_SETFL, O_NONBLOCK);
    status_options_defaults(&o);
    o.token = token;
    o.api_wake = sim_wake;
    o.api_ud = l;
    l->srv = status_create(&o, NULL);
    assert_non_null(l->srv);
    if (run_loop)
        assert_int_equal(pthread_create(&l->th, NULL, sim_run, l), 0);
    return l->srv;
}

static void api_stop(struct loop_sim *l, int run_loop)
{
    if (run_loop) {
        atomic_store(&l->stop, 1);
        pthread_join(l->th, NULL);
    }
    status_destroy(l->srv);
    close(l->pipe[0]);
    close(l->pipe[1]);
}

/* Requests reach the loop with their method, path and body, and its
 * answer (code, body, Allow) reaches the client. */
static void test_api_round_trip(void **state)
{
    struct loop_sim l;
    struct resp r;
    status_server *srv = api_start(&l, TOKEN, 1);
    uint16_t port = status_port(srv);
    char h[128];
    cJSON *j;

    (void)state;
    assert_int_equal(http_body(port, "POST", "/api/v1/silences",
                               "Bearer " TOKEN, "{\"a\":1}", 7, 0, 5000, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 201);
    assert_string_equal(header(&r, "Content-Type", h, sizeof h),
                        "application/json");
    j = parse(&r.body);
    jstr(j, "method", "POST");
    jstr(j, "path", "/api/v1/silences");
    jstr(j, "body", "{\"a\":1}");
    cJSON_Delete(j);
    resp_free(&r);
    /* chunked, and a body of exactly the cap */
    {
        static char big[STATUS_API_BODY_MAX];
        memset(big, 'x', sizeof big);
        assert_int_equal(http_body(port, "POST", "/api/v1/x",
                                   "Bearer " TOKEN, big, sizeof big, 1, 5000,
                                   &r), CURLE_OK);
        assert_int_equal(r.code, 201);
        j = parse(&r.body);
        assert_int_equal(strlen(field(j, "body")->valuestring), sizeof big);
        cJSON_Delete(j);
        resp_free(&r);
    }
    assert_int_equal(http_body(port, "DELETE", "/api/v1/silences/abc",
                               "Bearer " TOKEN, NULL, 0, 0, 5000, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 204);
    assert_int_equal(r.body.len, 0);
    resp_free(&r);
    assert_int_equal(http_body(port, "PUT", "/api/v1/silences",
                               "Bearer " TOKEN, "", 0, 0, 5000, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 405);
    assert_string_equal(header(&r, "Allow", h, sizeof h), "GET, POST");
    resp_free(&r);
    /* reads need the token when one is set, like /status */
    assert_int_equal(get(port, "/api/v1/silences", "Bearer " TOKEN, &r), 200);
    resp_free(&r);
    expect_401(port, "GET", "/api/v1/silences", NULL);
    expect_401(port, "POST", "/api/v1/silences", "Bearer nope");
    expect_401(port, "DELETE", "/api/v1/silences/x", NULL);
    /* the rest of the server is as before */
    assert_int_equal(get(port, "/healthz", NULL, &r), 200);
    resp_free(&r);
    api_stop(&l, 1);
}

/* Without a token configured, reads pass and writes are refused (403). */
static void test_api_writes_need_a_token(void **state)
{
    struct loop_sim l;
    struct resp r;
    status_server *srv = api_start(&l, NULL, 1);
    uint16_t port = status_port(srv);
    static const char *const writes[] = {"POST", "DELETE", "PUT", "PATCH"};

    (void)state;
    assert_int_equal(get(port, "/api/v1/silences", NULL, &r), 200);
    resp_free(&r);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        assert_int_equal(http_body(port, writes[i], "/api/v1/silences",
                                   "Bearer anything", "{}", 2, 0, 5000, &r),
                         CURLE_OK);
        assert_int_equal(r.code, 403);
        assert_string_equal(r.body.data, "{\"error\":\"API writes need a "
                            "bearer token: set status.token_env\"}\n");
        resp_free(&r);
    }
    assert_int_equal(atomic_load(&l.wakes), 1);
    api_stop(&l, 1);
}

/* Bodies past the cap: 413, declared or chunked; the loop never sees
 * them.  Without the API, /api/ paths are 404. */
static void test_api_bounds(void **state)
{
    static char big[STATUS_API_BODY_MAX + 1];
    struct loop_sim l;
    struct resp r;
    status_server *srv = api_start(&l, TOKEN, 1);
    uint16_t port = status_port(srv);

    (void)state;
    memset(big, 'x', sizeof big);
    for (int chunked = 0; chunked < 2; chunked++) {
        assert_int_equal(http_body(port, "POST", "/api/v1/silences",
                                   "Bearer " TOKEN, big, sizeof big, chunked,
                                   5000, &r), CURLE_OK);
        assert_int_equal(r.code, 413);
        assert_string_equal(r.body.data, "{\"error\":\"the request body is "
                            "over 16384 bytes\"}\n");
        resp_free(&r);
    }
    assert_int_equal(atomic_load(&l.wakes), 0);
    api_stop(&l, 1);

    srv = start(TOKEN, 0);
    assert_int_equal(get(status_port(srv), "/api/v1/silences",
                         "Bearer " TOKEN, &r), 404);
    resp_free(&r);
    status_destroy(srv);
}

/* Run the multi handle until a transfer ends: 1 with its handle, status
 * and result, or 0 once none is left. */
static int next_done(CURLM *m, int *running, CURL **who, long *code,
                     CURLcode *result)
{
    for (;;) {
        CURLMsg *msg;
        int left;

        curl_multi_perform(m, running);
        if ((msg = curl_multi_info_read(m, &left)) != NULL) {
            *who = msg->easy_handle;
            *result = msg->data.result;
            *code = 0;
            curl_easy_getinfo(*who, CURLINFO_RESPONSE_CODE, code);
            return 1;
        }
        if (*running == 0)
            return 0;
        curl_multi_poll(m, NULL, 0, 50, NULL);
    }
}

/* With no loop answering: 32 requests wait, the 33rd gets 503; stopping
 * the server answers the waiting ones 503 (nothing leaks, nothing
 * hangs). */
static void test_api_queue_full_and_shutdown(void **state)
{
    enum { N = STATUS_API_QUEUE_MAX + 1 };
    struct loop_sim l;
    status_server *srv = api_start(&l, TOKEN, 0);
    CURLM *m = curl_multi_init();
    CURL *e[N];
    buf bodies[N];
    struct curl_slist *hl = curl_slist_append(NULL, "Authorization: Bearer "
                                              TOKEN);
    char url[128];
    int running = 1, n503 = 0;
    CURLcode result;
    CURL *who;
    long code;

    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/silences",
             (unsigned)status_port(srv));
    for (int i = 0; i < N; i++) {
        buf_init(&bodies[i], 4096);
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e[i], CURLOPT_WRITEDATA, &bodies[i]);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 20000L);
        curl_multi_add_handle(m, e[i]);
        /* one at a time into the queue, so the last is the 33rd */
        while (atomic_load(&l.wakes) < i + 1 && i < N - 1) {
            curl_multi_perform(m, &running);
            curl_multi_poll(m, NULL, 0, 10, NULL);
        }
    }
    assert_true(next_done(m, &running, &who, &code, &result));
    assert_int_equal(code, 503);
    assert_ptr_equal(who, e[N - 1]);
    assert_non_null(strstr(bodies[N - 1].data, "too many API requests"));
    /* the server stops: every waiting request is answered or closed */
    status_destroy(srv);
    while (next_done(m, &running, &who, &code, &result))
        if (result == CURLE_OK) {
            assert_int_equal(code, 503);
            n503++;
        }
    print_message("    %d of %d waiting requests answered 503 at stop\n",
                  n503, N - 1);
    for (int i = 0; i < N; i++) {
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
        buf_free(&bodies[i]);
    }
    curl_slist_free_all(hl);
    curl_multi_cleanup(m);
    close(l.pipe[0]);
    close(l.pipe[1]);
}

/* POST a form body with `auth` (a Cookie: line, a bearer value, NULL). */
static long post_form(uint16_t port, const char *path, const char *auth,
                      const char *body, struct resp *r)
{
    assert_int_equal(http_body(port, "POST", path, auth, body, strlen(body),
                               0, 5000, r), CURLE_OK);
    return r->code;
}

/* The page, the login form and its cookie, the forms and their CSRF
 * field, the history's query string. */
static void test_page_login_forms(void **state)
{
    struct loop_sim l;
    struct resp r;
    status_server *srv = api_start(&l, TOKEN, 1);
    uint16_t port = status_port(srv);
    char h[256], cookie[128], csrf[65], body[256];
    const char *p;

    (void)state;
    /* a browser without the token goes to the login form */
    assert_int_equal(get(port, "/", NULL, &r), 303);
    assert_string_equal(header(&r, "Location", h, sizeof h), "/login");
    resp_free(&r);
    assert_int_equal(get(port, "/login", NULL, &r), 200);
    assert_non_null(strstr(r.body.data, "name=\"token\""));
    assert_string_equal(header(&r, "Content-Type", h, sizeof h),
                        "text/html; charset=utf-8");
    resp_free(&r);
    assert_int_equal(post_form(port, "/login", NULL, "token=wrong", &r), 401);
    assert_non_null(strstr(r.body.data, "Wrong token."));
    assert_string_equal(header(&r, "Set-Cookie", h, sizeof h), "");
    resp_free(&r);
    assert_int_equal(post_form(port, "/login", NULL, "token=" TOKEN, &r),
                     303);
    assert_string_equal(header(&r, "Location", h, sizeof h), "/");
    header(&r, "Set-Cookie", h, sizeof h);
    resp_free(&r);
    assert_int_equal(strncmp(h, "tw_session=", 11), 0);
    assert_int_equal(strlen(h), 11 + 64 + strlen("; Path=/; HttpOnly; "
                                                 "SameSite=Strict"));
    assert_non_null(strstr(h, "; Path=/; HttpOnly; SameSite=Strict"));
    assert_null(strstr(h, TOKEN));
    snprintf(cookie, sizeof cookie, "Cookie: %.75s", h);

    /* the cookie reads; the page carries the session's CSRF field */
    assert_int_equal(get(port, "/", cookie, &r), 200);
    assert_non_null(strstr(r.body.data, "<!DOCTYPE html>"));
    assert_null(strstr(r.body.data, TOKEN));
    assert_null(strstr(r.body.data, cookie + 19));
    p = strstr(r.body.data, "name=\"csrf\" value=\"");
    assert_non_null(p);
    snprintf(csrf, sizeof csrf, "%.64s", p + 19);
    assert_int_equal(strspn(csrf, "0123456789abcdef"), 64);
    resp_free(&r);
    assert_int_equal(get(port, "/", "Bearer " TOKEN, &r), 200);
    assert_non_null(strstr(r.body.data, csrf));
    resp_free(&r);
    assert_int_equal(get(port, "/status", cookie, &r), 200);
    resp_free(&r);
    assert_int_equal(get(port, "/status", "Cookie: tw_session=00", &r), 401);
    resp_free(&r);
    /* a cookie alone never writes through the JSON API */
    assert_int_equal(post_form(port, "/api/v1/silences", cookie, "{}", &r),
                     401);
    resp_free(&r);

    /* forms: the CSRF field must be this session's */
    assert_int_equal(post_form(port, "/ui/expire", cookie,
                               "csrf=0123&id=abcd", &r), 403);
    assert_non_null(strstr(r.body.data, "reload the page"));
    resp_free(&r);
    assert_int_equal(post_form(port, "/ui/expire", NULL, "id=abcd", &r),
                     401);
    resp_free(&r);
    snprintf(body, sizeof body, "csrf=%s&id=abcd", csrf);
    assert_int_equal(post_form(port, "/ui/expire", cookie, body, &r), 303);
    assert_string_equal(header(&r, "Location", h, sizeof h), "/");
    resp_free(&r);
    snprintf(body, sizeof body, "csrf=%s&id=0123&by=me", csrf);
    assert_int_equal(post_form(port, "/ui/ack", cookie, body, &r), 303);
    resp_free(&r);
    snprintf(body, sizeof body, "csrf=%s&rule=x&created_by=me&comment=c",
             csrf);
    assert_int_equal(post_form(port, "/ui/silence", cookie, body, &r), 400);
    assert_non_null(strstr(r.body.data, "duration: missing"));
    resp_free(&r);
    assert_int_equal(get(port, "/ui/ack", cookie, &r), 405);
    resp_free(&r);

    /* the query string reaches the loop, escaped again */
    assert_int_equal(get(port, "/api/v1/history?since=2026-03-10T12:00:00"
                               "%2B01:00&rule=a*b+c&limit", cookie, &r),
                     200);
    assert_non_null(strstr(r.body.data, "\"path\":\"/api/v1/history?since="
                           "2026-03-10T12:00:00%2B01:00&rule=a%2Ab%20c"
                           "&limit\""));
    resp_free(&r);
    api_stop(&l, 1);

    /* no token: the page is open and read only, forms refused */
    srv = api_start(&l, NULL, 1);
    port = status_port(srv);
    assert_int_equal(get(port, "/", NULL, &r), 200);
    assert_non_null(strstr(r.body.data, "Read only"));
    assert_null(strstr(r.body.data, "action=\"/ui/"));
    resp_free(&r);
    assert_int_equal(post_form(port, "/ui/ack", NULL, "id=1", &r), 403);
    resp_free(&r);
    assert_int_equal(get(port, "/login", NULL, &r), 303);
    resp_free(&r);
    api_stop(&l, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_healthz_threshold_option),
        cmocka_unit_test(test_before_first_publish),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_methods_and_paths),
        cmocka_unit_test(test_head_has_no_body),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_set_token),
        cmocka_unit_test(test_probes_private),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_idle_connections_do_not_block_healthz),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_connection_limit_recovers_by_timeout),
        cmocka_unit_test(test_publish_while_serving),
        cmocka_unit_test(test_api_round_trip),
        cmocka_unit_test(test_page_login_forms),
        cmocka_unit_test(test_api_writes_need_a_token),
        cmocka_unit_test(test_api_bounds),
        cmocka_unit_test(test_api_queue_full_and_shutdown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
