/*
 * test_secrets.c - no secret leaves the process except to the peer it is
 * meant for.
 *
 * What (SPEC.md section 4: secrets "are never logged"; docs/security.md):
 * every secret variable gets a known value -- the stream's API key, a
 * webhook signing secret, webhook URLs with a secret query and path, the
 * Slack URL (whose path is the credential), the PagerDuty routing key, the
 * status token -- and the real binary (TOOLWATCH_BIN) runs through
 *  - `check-config` (good values, then malformed ones: the error paths),
 *  - `run`, against a local stream and receivers that answer 200, 500
 *    (retries), 400 (dead letter) and refuse connections (network errors),
 *    then SIGHUP (reload) and SIGTERM, with /status and /metrics fetched
 *    with the token, and a start refused for a malformed secret,
 *  - `send-test` through every sink,
 *  - `tail --api-key-env` against a stream that answers 401,
 *  - `run`, `check-config` and `tail --header-env` with a stream header
 *    whose value comes from the environment (stream.headers_env), through
 *    a good reload and one refused for an unset variable.
 * No secret value may appear in any stdout or stderr, in /status or
 * /metrics, or in the state directory's files (journal, dead-letter file,
 * position) or the file sink.  Each secret is also checked to have reached
 * the one peer that must see it (the stream's Authorization header, the
 * receivers' request paths, the routing key in PagerDuty's body), so the
 * test cannot pass by not using them.
 *
 * Invariants: every wait is on a condition (a log line, a receiver's
 * request count, a child's exit) with a deadline; the status server is
 * polled every POLL_MS.  Every secret value contains the marker "S3CR3T"
 * and no other text in the test does, so one search per output finds any
 * of them; the webhook secret (whsec_ + base64) is searched for by its
 * base64 text as well.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/httpget.h"
#include "tests/support/proc.h"
#include "tests/support/receiver.h"
#include "tests/support/sse_server.h"

#define WAIT_MS 15000
#define POLL_MS 100

#define MARKER "S3CR3T"
#define STREAM_KEY "sk-stream-" MARKER "-0a1b2c3d4e"
#define WH_B64 "dG9vbHdhdGNoLWl0ZXN0LXNlY3JldC0zMi1ieXRlcyE="
#define WH_SECRET "whsec_" WH_B64 /* "toolwatch-itest-secret-32-bytes!" */
#define PD_KEY "R0UT1NG-" MARKER "-9f8e7d6c012345678" /* 32 */
#define STATUS_TOKEN "st-" MARKER "-t0k3n-55aa"
#define WH_QUERY "/hook?sig=H00kUrl" MARKER
#define DEAD_PATH "/dead/D3adUrl" MARKER
#define SLACK_PATH "/services/T0/B0/Sl4ck" MARKER

/* the variables the configuration names */
#define ENV_STREAM "TW_T_STREAM_KEY"
#define ENV_WH_URL "TW_T_WH_URL"
#define ENV_DEAD_URL "TW_T_DEAD_URL"
#define ENV_WH_SECRET "TW_T_WH_SECRET"
#define ENV_SLACK "TW_T_SLACK_URL"
#define ENV_PD "TW_T_PD_KEY"
#define ENV_TOKEN "TW_T_STATUS_TOKEN"
#define ENV_HDR "TW_T_HDR_KEY"
#define ENV_HDR_MISSING "TW_T_HDR_MISSING"
#define HDR_KEY "hk-" MARKER "-77e1"

#define PAYLOAD_EVENT                                                       \
    "id: evt-1\n"                                                           \
    "data: {\"event_type\":\"tool_call_response\",\"tool_name\":\"crm\","   \
    "\"response_payload_size_bytes\":5000000,\"error_message\":\"boom\"}\n\n"

struct fx {
    struct tsrv *stream;
    struct rcv *hook, *dead, *slack, *pd;
    struct proc *procs[16];
    size_t nprocs;
    char dir[64];
    char cfg[128];
    char sink_file[128];
    /* "NAME=value" for every secret variable */
    char env_stream[128], env_wh_url[160], env_dead_url[160];
    char env_wh_secret[128], env_slack[160], env_pd[128], env_token[128];
    const char *env[16];
};

/* ------------------------------ helpers ------------------------------ */

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

static void dump(const char *what, const struct proc *p)
{
    size_t no, ne;
    const char *o = proc_stdout_all(p, &no);
    const char *e = proc_stderr_all(p, &ne);

    print_message("---- %s stdout ----\n%s\n---- %s stderr ----\n%s\n----\n",
                  what, o, what, e);
}

static struct proc *spawn(struct fx *f, const char *const argv[],
                          const char *const env[])
{
    struct proc *p = proc_spawn(argv, env);

    assert_non_null(p);
    assert_true(f->nprocs < sizeof f->procs / sizeof f->procs[0]);
    f->procs[f->nprocs++] = p;
    return p;
}

/* memmem over a span that may hold NULs. */
static bool contains(const char *hay, size_t len, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; k <= len && i + k <= len; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    }
    return false;
}

/* None of the secrets in hay[0, len); `what` names it in the failure. */
static void no_secret(const char *what, const char *hay, size_t len)
{
    static const char *const needles[] = {MARKER, WH_B64};

    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
        if (contains(hay, len, needles[i]))
            fail_msg("%s contains a secret (\"%s\"):\n%.*s", what,
                     needles[i], (int)(len < 4000 ? len : 4000), hay);
    }
}

static void no_secret_in_proc(const char *what, const struct proc *p)
{
    char name[96];
    size_t len;
    const char *s;

    s = proc_stdout_all(p, &len);
    snprintf(name, sizeof name, "%s stdout", what);
    no_secret(name, s, len);
    s = proc_stderr_all(p, &len);
    snprintf(name, sizeof name, "%s stderr", what);
    no_secret(name, s, len);
}

/* GET path from the status server with the token: 200, and no secret in
 * the body. */
static void endpoint_no_secret(unsigned port, const char *path,
                               struct hget_body *b)
{
    assert_int_equal(hget_auth(port, path, STATUS_TOKEN, 1, b), 200);
    no_secret(path, b->data, b->len);
}

/* SIGHUP, and wait for the reload to be logged. */
static void reload_ok(struct proc *p)
{
    size_t from;

    proc_stderr_all(p, &from);
    assert_int_equal(proc_signal(p, SIGHUP), 0);
    if (!proc_wait_stderr_after(p, from, "configuration reloaded", WAIT_MS)) {
        dump("run", p);
        fail_msg("no reload");
    }
}

/* A whole file (which must exist) into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    size_t cap = 0, n;

    if (fp == NULL)
        fail_msg("cannot open %s", path);
    *len = 0;
    for (;;) {
        if (cap - *len < 65536) {
            cap = cap ? 2 * cap : 65536;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        n = fread(data + *len, 1, cap - *len, fp);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(fp);
    return data;
}

static void no_secret_in_file(const char *path, bool must_be_nonempty)
{
    size_t len;
    char *data = slurp(path, &len);

    if (must_be_nonempty && len == 0)
        fail_msg("%s is empty: nothing was checked", path);
    no_secret(path, data, len);
    free(data);
}

static int wait_exit(struct proc *p, const char *what)
{
    int st = -1;

    if (!proc_wait_exit(p, WAIT_MS, &st)) {
        dump(what, p);
        fail_msg("%s did not exit", what);
    }
    if (!WIFEXITED(st)) {
        dump(what, p);
        fail_msg("%s was killed by signal %d", what, WTERMSIG(st));
    }
    return WEXITSTATUS(st);
}

static void expect_stderr(struct proc *p, const char *what,
                          const char *needle)
{
    if (!proc_wait_stderr(p, needle, WAIT_MS)) {
        dump(what, p);
        fail_msg("%s: stderr never showed \"%s\"", what, needle);
    }
}


/* ------------------------------ fixture ------------------------------ */

static void write_config(struct fx *f)
{
    char stream_url[128], pd_url[128];
    FILE *fp;

    assert_int_equal(tsrv_url(f->stream, "/events", stream_url,
                              sizeof stream_url), 0);
    assert_int_equal(rcv_url(f->pd, "/v2/enqueue", pd_url, sizeof pd_url),
                     RCV_OK);
    fp = fopen(f->cfg, "w");
    assert_non_null(fp);
    fprintf(fp,
        "{\"instance\": \"secrets\", \"state_dir\": \"%s/state\",\n"
        " \"stream\": {\"url\": \"%s\", \"api_key_env\": \"" ENV_STREAM "\","
        " \"retry_base_ms\": 100, \"retry_max_ms\": 500},\n"
        " \"status\": {\"port\": 0, \"token_env\": \"" ENV_TOKEN "\"},\n"
        " \"sinks\": [\n"
        "  {\"name\": \"hook\", \"type\": \"webhook\","
        " \"url_env\": \"" ENV_WH_URL "\","
        " \"secret_envs\": [\"" ENV_WH_SECRET "\"]},\n"
        "  {\"name\": \"dead\", \"type\": \"webhook\","
        " \"url_env\": \"" ENV_DEAD_URL "\","
        " \"secret_envs\": [\"" ENV_WH_SECRET "\"],"
        " \"connect_timeout_s\": 1, \"retry_base_ms\": 50,"
        " \"retry_max_ms\": 200},\n"
        "  {\"name\": \"slack\", \"type\": \"slack\","
        " \"url_env\": \"" ENV_SLACK "\", \"retry_base_ms\": 50,"
        " \"retry_max_ms\": 200},\n"
        "  {\"name\": \"pd\", \"type\": \"pagerduty\", \"url\": \"%s\","
        " \"routing_key_env\": \"" ENV_PD "\"},\n"
        "  {\"name\": \"archive\", \"type\": \"file\", \"path\": \"%s\"}]}\n",
        f->dir, stream_url, pd_url, f->sink_file);
    assert_int_equal(fclose(fp), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    size_t n = 0;

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tw-secrets-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->cfg, sizeof f->cfg, "%s/config.json", f->dir);
    snprintf(f->sink_file, sizeof f->sink_file, "%s/alerts.ndjson", f->dir);
    f->stream = tsrv_create();
    f->hook = rcv_start();
    f->dead = rcv_start();
    f->slack = rcv_start();
    f->pd = rcv_start();
    if (f->stream == NULL || f->hook == NULL || f->dead == NULL ||
        f->slack == NULL || f->pd == NULL)
        return -1;
    /* dead refuses connections; slack always fails (retried); pd refuses
     * the event (dead letter) with an answer that names no secret */
    if (rcv_set_down(f->dead, true) != RCV_OK)
        return -1;
    struct rcv_action fail500 = {.kind = RCV_ANSWER, .status = 500,
                                 .body = "upstream broke", .body_len = 14};
    struct rcv_action bad400 = {
        .kind = RCV_ANSWER, .status = 400,
        .headers = {"Content-Type: application/json"},
        .body = "{\"status\":\"invalid event\",\"message\":\"Event object is "
                "invalid\"}",
        .body_len = 62};
    if (rcv_set_default(f->slack, &fail500) != RCV_OK ||
        rcv_set_default(f->pd, &bad400) != RCV_OK)
        return -1;

    snprintf(f->env_stream, sizeof f->env_stream, ENV_STREAM "=" STREAM_KEY);
    snprintf(f->env_wh_secret, sizeof f->env_wh_secret,
             ENV_WH_SECRET "=" WH_SECRET);
    snprintf(f->env_pd, sizeof f->env_pd, ENV_PD "=" PD_KEY);
    snprintf(f->env_token, sizeof f->env_token, ENV_TOKEN "=" STATUS_TOKEN);
    snprintf(f->env_wh_url, sizeof f->env_wh_url,
             ENV_WH_URL "=http://127.0.0.1:%u" WH_QUERY, rcv_port(f->hook));
    snprintf(f->env_dead_url, sizeof f->env_dead_url,
             ENV_DEAD_URL "=http://127.0.0.1:%u" DEAD_PATH,
             rcv_port(f->dead));
    snprintf(f->env_slack, sizeof f->env_slack,
             ENV_SLACK "=http://127.0.0.1:%u" SLACK_PATH, rcv_port(f->slack));
    f->env[n++] = f->env_stream;
    f->env[n++] = f->env_wh_url;
    f->env[n++] = f->env_dead_url;
    f->env[n++] = f->env_wh_secret;
    f->env[n++] = f->env_slack;
    f->env[n++] = f->env_pd;
    f->env[n++] = f->env_token;
    f->env[n] = NULL;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    int rc = 0;

    for (size_t i = 0; i < f->nprocs; i++)
        proc_destroy(f->procs[i]);
    tsrv_destroy(f->stream);
    rcv_stop(f->hook);
    rcv_stop(f->dead);
    rcv_stop(f->slack);
    rcv_stop(f->pd);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        rc = -1;
    free(f);
    return rc;
}

/* ------------------------------- tests ------------------------------- */

/* check-config: good values (markers only), then malformed ones. */
static void test_check_config(void **state)
{
    struct fx *f = *state;
    const char *argv[] = {tw_bin(), "check-config", "--print", f->cfg,
                          NULL};
    const char *bad[] = {ENV_WH_SECRET "=whsec_" MARKER "!!notbase64",
                         ENV_SLACK "=ftp://" MARKER ".example/x",
                         ENV_WH_URL "=not a url " MARKER,
                         ENV_PD "=",
                         ENV_STREAM "=" STREAM_KEY, ENV_TOKEN "=" STATUS_TOKEN,
                         ENV_DEAD_URL "=http://127.0.0.1:1" DEAD_PATH, NULL};
    struct proc *p;

    write_config(f);
    p = spawn(f, argv, f->env);
    assert_int_equal(wait_exit(p, "check-config"), 0);
    no_secret_in_proc("check-config", p);
    assert_true(proc_output_contains(p, "\"<set>\""));

    p = spawn(f, argv, bad);
    assert_int_equal(wait_exit(p, "check-config (bad)"), 1);
    no_secret_in_proc("check-config (bad values)", p);
    /* the errors name the variables */
    assert_true(proc_output_contains(p, ENV_WH_SECRET));
    assert_true(proc_output_contains(p, ENV_SLACK));
    assert_true(proc_output_contains(p, ENV_PD));
}

/* The service, with every error path of the sinks exercised. */
static void test_run(void **state)
{
    struct fx *f = *state;
    const char *argv[] = {tw_bin(), "run", "-c", f->cfg, NULL};
    static const char tag[] = "status on http://127.0.0.1:";
    static struct hget_body body;
    struct hget_body *b = &body;
    struct rcv_request q;
    char path[160], hdr[256];
    const char *e, *at;
    size_t len;
    unsigned port;
    struct proc *p;

    write_config(f);
    assert_int_equal(tsrv_add_stream(f->stream, PAYLOAD_EVENT, TSRV_HANG), 0);
    p = spawn(f, argv, f->env);
    expect_stderr(p, "run", tag);
    e = proc_stderr_all(p, &len);
    at = strstr(e, tag);
    assert_non_null(at);
    port = (unsigned)strtoul(at + sizeof tag - 1, NULL, 10);

    /* the alert reaches every sink: 200, 500 (retried), 400 (dead letter),
     * connection refused (retried) */
    expect_stderr(p, "run", "firing warning payload_size crm");
    assert_true(rcv_wait_requests(f->hook, 1, WAIT_MS));
    assert_true(rcv_wait_requests(f->slack, 2, WAIT_MS));
    assert_true(rcv_wait_requests(f->pd, 1, WAIT_MS));
    expect_stderr(p, "run", "sink pd: notification");
    expect_stderr(p, "run", "dead-lettered");
    expect_stderr(p, "run", "sink dead: ");
    expect_stderr(p, "run", "sink slack: HTTP 500");

    /* each secret reached its peer */
    assert_true(tsrv_header(f->stream, 0, "Authorization", hdr, sizeof hdr));
    assert_string_equal(hdr, "Bearer " STREAM_KEY);
    assert_true(rcv_get(f->hook, 0, &q));
    assert_string_equal(q.path, WH_QUERY);
    assert_true(rcv_get(f->slack, 0, &q));
    assert_string_equal(q.path, SLACK_PATH);
    assert_true(rcv_get(f->pd, 0, &q));
    assert_non_null(q.body);
    assert_true(contains((const char *)q.body, q.body_len,
                         "\"routing_key\":\"" PD_KEY "\""));

    /* the status server: the token is required and never echoed */
    assert_int_equal(hget_auth(port, "/status", NULL, 1, b), 401);
    no_secret("/status without a token", b->data, b->len);
    assert_int_equal(hget_auth(port, "/status", "st-wrong", 1, b), 401);
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        /* the snapshot is published once a second: wait for the dead
         * letter to show */
        assert_int_equal(hget_auth(port, "/status", STATUS_TOKEN, 1, b), 200);
        if (strstr(b->data, "\"dead_lettered\":1") != NULL)
            break;
        if (clock_mono_ms() >= end)
            fail_msg("/status never showed the dead letter:\n%s", b->data);
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    no_secret("/status", b->data, b->len);
    endpoint_no_secret(port, "/metrics", b);
    endpoint_no_secret(port, "/readyz", b);

    /* a reload reads every secret again */
    reload_ok(p);
    assert_int_equal(proc_signal(p, SIGTERM), 0);
    assert_int_equal(wait_exit(p, "run"), 0);
    no_secret_in_proc("run", p);

    snprintf(path, sizeof path, "%s/state/journal.log", f->dir);
    no_secret_in_file(path, true);
    snprintf(path, sizeof path, "%s/state/dead-letter.ndjson", f->dir);
    no_secret_in_file(path, true);
    snprintf(path, sizeof path, "%s/state/position", f->dir);
    no_secret_in_file(path, true);
    no_secret_in_file(f->sink_file, true);

    /* a malformed secret refuses the start, without quoting it */
    {
        const char *env[16];
        size_t n = 0;
        for (size_t i = 0; f->env[i] != NULL; i++) {
            if (f->env[i] != f->env_wh_secret)
                env[n++] = f->env[i];
        }
        env[n++] = ENV_WH_SECRET "=whsec_" MARKER "-not-base64";
        env[n] = NULL;
        p = spawn(f, argv, env);
        assert_int_equal(wait_exit(p, "run (bad secret)"), 1);
        no_secret_in_proc("run (bad secret)", p);
        assert_true(proc_output_contains(p, ENV_WH_SECRET));
    }
}

/* send-test through every sink: 200, refused, 500, 400, file. */
static void test_send_test(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *sink;
        int code;
    } cases[] = {{"hook", 0}, {"dead", 1}, {"slack", 1}, {"pd", 1},
                 {"archive", 0}};

    write_config(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {tw_bin(), "send-test", cases[i].sink, "-c",
                              f->cfg, NULL};
        char what[64];
        struct proc *p = spawn(f, argv, f->env);
        snprintf(what, sizeof what, "send-test %s", cases[i].sink);
        assert_int_equal(wait_exit(p, what), cases[i].code);
        no_secret_in_proc(what, p);
    }
    assert_true(rcv_count(f->hook) >= 1 && rcv_count(f->slack) >= 1 &&
                rcv_count(f->pd) >= 1);
    no_secret_in_file(f->sink_file, true);
}

/* tail with an API key that the stream refuses. */
static void test_tail_auth_failure(void **state)
{
    struct fx *f = *state;
    char url[128], hdr[256];
    const char *argv[] = {tw_bin(), "tail", url, "--once", "--api-key-env",
                          ENV_STREAM, "--log-level", "debug", NULL};
    struct proc *p;

    assert_int_equal(tsrv_url(f->stream, "/events", url, sizeof url), 0);
    assert_int_equal(tsrv_add_status(f->stream, 401, NULL), 0);
    p = spawn(f, argv, f->env);
    expect_stderr(p, "tail", "authentication failed");
    (void)wait_exit(p, "tail");
    no_secret_in_proc("tail", p);
    assert_true(tsrv_header(f->stream, 0, "Authorization", hdr, sizeof hdr));
    assert_string_equal(hdr, "Bearer " STREAM_KEY);
}

/* A configuration whose stream takes its key in X-Api-Key from `var`. */
static void write_header_config(struct fx *f, const char *var,
                                int retry_max_ms)
{
    char stream_url[128];
    FILE *fp;

    assert_int_equal(tsrv_url(f->stream, "/events", stream_url,
                              sizeof stream_url), 0);
    fp = fopen(f->cfg, "w");
    assert_non_null(fp);
    fprintf(fp,
        "{\"instance\": \"secrets\", \"state_dir\": \"%s/state\",\n"
        " \"stream\": {\"url\": \"%s\", \"headers\": {\"X-Tenant\": "
        "\"acme\"}, \"headers_env\": {\"X-Api-Key\": \"%s\"},"
        " \"retry_base_ms\": 100, \"retry_max_ms\": %d},\n"
        " \"status\": {\"port\": 0, \"token_env\": \"" ENV_TOKEN "\"},\n"
        " \"sinks\": [{\"name\": \"archive\", \"type\": \"file\","
        " \"path\": \"%s\"}]}\n",
        f->dir, stream_url, var, retry_max_ms, f->sink_file);
    assert_int_equal(fclose(fp), 0);
}

/* The X-Api-Key header of every request the stream server saw is HDR_KEY;
 * returns how many there were. */
static size_t expect_header_key_everywhere(struct fx *f)
{
    size_t n = tsrv_request_count(f->stream);
    char hdr[256];

    for (size_t i = 0; i < n; i++) {
        if (!tsrv_header(f->stream, i, "X-Api-Key", hdr, sizeof hdr))
            fail_msg("request %zu carries no X-Api-Key", i);
        assert_string_equal(hdr, HDR_KEY);
        assert_true(tsrv_header(f->stream, i, "X-Tenant", hdr, sizeof hdr));
        assert_string_equal(hdr, "acme");
    }
    return n;
}

/* stream.headers_env: the value reaches the stream server as the header,
 * and nowhere else: not in logs, /status, /metrics, check-config or the
 * state files.  A reload that names an unset variable is refused and the
 * stream goes on with the old header. */
static void test_headers_env(void **state)
{
    struct fx *f = *state;
    const char *run_argv[] = {tw_bin(), "run", "-c", f->cfg, NULL};
    const char *check_argv[] = {tw_bin(), "check-config", "--print", f->cfg,
                                NULL};
    const char *env[] = {ENV_HDR "=" HDR_KEY, ENV_TOKEN "=" STATUS_TOKEN,
                         ENV_HDR_MISSING, NULL};
    static const char tag[] = "status on http://127.0.0.1:";
    static struct hget_body body;
    struct hget_body *b = &body;
    char url[128], path[160];
    const char *e, *at;
    size_t len, from, before;
    unsigned port;
    struct proc *p;

    write_header_config(f, ENV_HDR, 500);
    /* check-config: the variable's state, never its value */
    p = spawn(f, check_argv, env);
    assert_int_equal(wait_exit(p, "check-config"), 0);
    no_secret_in_proc("check-config", p);
    assert_true(proc_output_contains(p, "\"header_secrets\""));
    assert_true(proc_output_contains(p, ENV_HDR));

    /* run: the header on the first request, and on the new reader's after
     * a reload */
    for (int i = 0; i < 2; i++)
        assert_int_equal(tsrv_add_stream(f->stream, PAYLOAD_EVENT,
                                         TSRV_HANG), 0);
    tsrv_set_after_script(f->stream, TSRV_AFTER_REPEAT_LAST);
    p = spawn(f, run_argv, env);
    expect_stderr(p, "run", tag);
    e = proc_stderr_all(p, &len);
    at = strstr(e, tag);
    assert_non_null(at);
    port = (unsigned)strtoul(at + sizeof tag - 1, NULL, 10);
    assert_true(tsrv_wait_requests(f->stream, 1, WAIT_MS));
    expect_stderr(p, "run", "firing warning payload_size crm");
    endpoint_no_secret(port, "/status", b);
    endpoint_no_secret(port, "/metrics", b);

    /* a good reload that changes the stream settings builds a new reader,
     * which reads the variable again (an unchanged stream section keeps
     * the running reader and its connection) */
    write_header_config(f, ENV_HDR, 600);
    reload_ok(p);
    assert_true(tsrv_wait_requests(f->stream, 2, WAIT_MS));

    /* a reload naming an unset variable is refused, naming it; the
     * running reader goes on, its connection (with the old header)
     * untouched */
    write_header_config(f, ENV_HDR_MISSING, 600);
    before = tsrv_request_count(f->stream);
    proc_stderr_all(p, &from);
    assert_int_equal(proc_signal(p, SIGHUP), 0);
    if (!proc_wait_stderr_after(p, from, "reload refused: stream.headers_env."
                                "X-Api-Key: the environment variable "
                                ENV_HDR_MISSING " is not set", WAIT_MS) ||
        !proc_wait_stderr_after(p, from, "the running configuration stays",
                                WAIT_MS)) {
        dump("run", p);
        fail_msg("the reload with an unset variable was not refused");
    }
    {
        struct tsrv_request_info info;
        assert_true(tsrv_request(f->stream, before - 1, &info));
        assert_int_equal(info.end_ms, 0);
        assert_int_equal(tsrv_request_count(f->stream), before);
    }
    assert_int_equal(proc_signal(p, SIGTERM), 0);
    assert_int_equal(wait_exit(p, "run"), 0);
    assert_true(expect_header_key_everywhere(f) >= 2);
    no_secret_in_proc("run", p);
    snprintf(path, sizeof path, "%s/state/journal.log", f->dir);
    no_secret_in_file(path, true);
    snprintf(path, sizeof path, "%s/state/position", f->dir);
    no_secret_in_file(path, true);
    no_secret_in_file(f->sink_file, true);

    /* the start is refused for an unset variable, and check-config says
     * why */
    before = tsrv_request_count(f->stream);
    p = spawn(f, run_argv, env);
    assert_int_equal(wait_exit(p, "run (unset header variable)"), 1);
    no_secret_in_proc("run (unset header variable)", p);
    assert_true(proc_output_contains(p, ENV_HDR_MISSING));
    assert_int_equal(tsrv_request_count(f->stream), before);
    p = spawn(f, check_argv, env);
    assert_int_equal(wait_exit(p, "check-config (unset)"), 1);
    assert_true(proc_output_contains(p, "\"<unset>\""));
    assert_true(proc_output_contains(p, ENV_HDR_MISSING " is not set"));

    /* tail --header-env (the script is used up: the server closes the
     * connection without answering, and --once ends there) */
    assert_int_equal(tsrv_url(f->stream, "/events", url, sizeof url), 0);
    {
        const char *argv[] = {tw_bin(), "tail", url, "--once",
                              "--header-env", "X-Api-Key=" ENV_HDR,
                              "--header", "X-Tenant: acme",
                              "--log-level", "debug", NULL};
        tsrv_set_after_script(f->stream, TSRV_AFTER_CLOSE);
        p = spawn(f, argv, env);
        (void)wait_exit(p, "tail");
        no_secret_in_proc("tail", p);
    }
    assert_int_equal(expect_header_key_everywhere(f), before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_test, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_auth_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_headers_env, setup, teardown),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
