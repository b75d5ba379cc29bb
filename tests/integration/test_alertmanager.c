/*
 * test_alertmanager.c - integration test of the alertmanager sink: the
 * real binary (TOOLWATCH_BIN, default build/asan/toolwatch) against a real
 * Alertmanager (Debian's prometheus-alertmanager, started here on
 * 127.0.0.1 by PID and stopped after) and a scripted audit stream.
 *
 * What:
 *  - a firing shows in Alertmanager's GET /api/v2/alerts, active, with
 *    exactly the labels the sink maps (alertname, severity, instance, the
 *    group's field, the rule's label), its annotations and endsAt 3 h
 *    ahead; a re-send moves endsAt on; Alertmanager's
 *    webhook notification reaches the test's receiver as "firing" with the
 *    same labels; the resolve makes it "resolved" there and the alert
 *    leaves /api/v2/alerts;
 *  - against the test's receiver playing Alertmanager: the request is a
 *    POST to /api/v2/alerts with basic auth from the environment (the
 *    password never in the log), and a 400 dead-letters the notification
 *    with the answer; a bearer token, a path prefix, a 503 retried;
 *  - check-config refuses what the sink cannot use, naming the key.
 *
 * Skipped (with a message) when /usr/bin/prometheus-alertmanager is not
 * installed; tests/deps.sh installs it.
 *
 * Invariants: time is the stream's (allowed_lateness_s 3600; events
 * stamped from 200 s in the past on), so the episode opens and resolves
 * exactly when the events pushed say.  Every wait has a deadline and waits
 * on a condition (the receiver, Alertmanager's API polled, the child's
 * stderr); every child is ended by PID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/tcp.h"
#include "tests/support/twrun.h"

#define WAIT_MS 20000
#define AM_BIN "/usr/bin/prometheus-alertmanager"

/* state dir, instance, stream URL, sink settings, repeat interval.
 * runaway: a call over 60 s in a session, open until 4 s of event time
 * pass without one. */
#define CFG_FMT                                                            \
    "{\"state_dir\": \"%s\", \"instance\": \"%s\","                        \
    " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 3600},"           \
    " \"status\": {\"port\": 0},"                                          \
    " \"detectors\": {\"allowed_lateness_s\": 3600},"                      \
    " \"sinks\": [{\"type\": \"alertmanager\", %s,"                        \
    " \"retry_base_ms\": 100, \"retry_max_ms\": 300}],"                    \
    " \"rules\": ["                                                        \
    "  {\"name\": \"runaway\", \"kind\": \"max\", \"severity\": \"error\","\
    "   \"field\": \"execution_duration_ms\", \"threshold\": 60000,"       \
    "   \"window_s\": 4, \"hold_s\": 0, \"repeat_interval_s\": %d,"       \
    "   \"description\": \"One call ran for more than a minute\","         \
    "   \"runbook_url\": \"https://runbooks.example/runaway\","            \
    "   \"labels\": {\"team\": \"sec-ops\"},"                              \
    "   \"match\": {\"tool_name\": \"loop\"},"                             \
    "   \"group_by\": [\"session_id\"]}]}"

/* Alertmanager: everything to the test's receiver, at once. */
#define AM_YML                                                             \
    "route:\n"                                                             \
    "  receiver: test\n"                                                   \
    "  group_by: ['alertname', 'session_id']\n"                            \
    "  group_wait: 0s\n"                                                   \
    "  group_interval: 1s\n"                                               \
    "  repeat_interval: 1h\n"                                              \
    "receivers:\n"                                                         \
    "  - name: test\n"                                                     \
    "    webhook_configs:\n"                                               \
    "      - url: '%s'\n"                                                  \
    "        send_resolved: true\n"

#define PASSWORD "s3cr3t-am-p4ss"
#define PASSWORD_ENV "TW_ITEST_AM_PASSWORD"

static const char *const env[] = {PASSWORD_ENV "=" PASSWORD, NULL};

/* A call of `tool` in `session` that took dur_ms, SSE id `id`. */
static void push_call(struct tsrv *srv, const char *id, const char *tool,
                      const char *session, int64_t ts_ms, double dur_ms)
{
    char frame[2048] = "", rec[64];
    const struct twr_call c = {.id = id, .rec = rec, .tool = tool,
                               .agent = "agent-1", .ts_ms = ts_ms,
                               .dur_ms = dur_ms, .payload = 512,
                               .session = session};

    snprintf(rec, sizeof rec, "rec-%s", id);
    assert_true(twr_add_call(frame, sizeof frame, &c));
    assert_int_equal(tsrv_push(srv, 0, frame, strlen(frame)), 0);
}

/* A port free on 127.0.0.1 just now. */
static unsigned free_port(void)
{
    uint16_t port = 0;
    int fd = tcp_listen(&port, 1, true);

    assert_true(fd >= 0);
    close(fd);
    return port;
}

/* Do the labels of o equal exactly those toolwatch maps for session s1? */
static bool labels_exact(const cJSON *o)
{
    const cJSON *l = twr_jobj(o, "labels");

    return cJSON_GetArraySize(l) == 5 &&
           twr_streq(twr_jstr(l, "alertname"), "runaway") &&
           twr_streq(twr_jstr(l, "severity"), "error") &&
           twr_streq(twr_jstr(l, "instance"), "tw-am-itest") &&
           twr_streq(twr_jstr(l, "session_id"), "s1") &&
           twr_streq(twr_jstr(l, "team"), "sec-ops");
}

/* The index of the first notification Alertmanager sent to r with
 * status `status` (at or after `from`), waiting for it; fails the test
 * when none comes. */
static size_t wait_am_note(struct rcv *r, const char *status, size_t from,
                           struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    for (;;) {
        size_t n = rcv_count(r);

        for (size_t i = from; i < n; i++) {
            struct rcv_request q;
            cJSON *j;
            bool hit;

            if (!rcv_get(r, i, &q) || q.body == NULL)
                continue;
            j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
            hit = twr_streq(twr_jstr(j, "status"), status);
            cJSON_Delete(j);
            if (hit)
                return i;
        }
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("no %s notification from Alertmanager", status);
        }
        rcv_wait_requests(r, n + 1, 500);
    }
}

/* Alertmanager's GET /api/v2/alerts, parsed (the caller deletes it). */
static cJSON *am_alerts(unsigned port)
{
    static struct hget_body b;

    assert_int_equal(hget(port, "/api/v2/alerts", &b), 200);
    return cJSON_ParseWithLength(b.data, b.len);
}

/* Poll /api/v2/alerts until it lists the runaway alert (want) or does not
 * (!want); returns the alert's copy when want. */
static cJSON *wait_am_alert(unsigned port, bool want, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    for (;;) {
        cJSON *all = am_alerts(port), *a, *found = NULL;

        assert_non_null(all);
        cJSON_ArrayForEach(a, all)
        {
            if (twr_streq(twr_jstr(twr_jobj(a, "labels"), "alertname"),
                          "runaway"))
                found = a;
        }
        if (found != NULL && want) {
            found = cJSON_Duplicate(found, 1);
            cJSON_Delete(all);
            return found;
        }
        cJSON_Delete(all);
        if (found == NULL && !want)
            return NULL;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("Alertmanager %s the runaway alert",
                     want ? "never listed" : "still lists");
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* `toolwatch run` with one alertmanager sink (`sink`: its keys) in d,
 * the rule repeating every repeat_s, against a new stream; the run's
 * status port in *port.  Then the runaway episode of session s1 opens
 * with a call stamped t_ms. */
static struct proc *run_sink(struct twr_fx *f, const struct twr_dir *d,
                             const char *sink, int repeat_s,
                             const char *const *envv, int64_t t_ms,
                             struct tsrv **srv_out, unsigned *port)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    char surl[128];
    struct tsrv *srv;
    struct proc *run;

    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_int_equal(twr_write_config(d->cfg, CFG_FMT, d->state,
                                      "tw-am-itest", surl, sink, repeat_s),
                     0);
    assert_non_null(run = twr_start_run(f, d->cfg, envv, port));
    assert_true(tsrv_wait_requests(srv, 1, WAIT_MS));
    push_call(srv, "1", "loop", "s1", t_ms, 70000);
    *srv_out = srv;
    return run;
}

/* Start Alertmanager on 127.0.0.1:port, its webhook receiver `hook`, its
 * files under dir; wait until /-/ready. */
static struct proc *start_am(struct twr_fx *f, const char *dir,
                             unsigned port, const char *hook)
{
    char yml[256], yarg[300], sarg[300], larg[64], text[1024];
    struct hget_body *b = calloc(1, sizeof *b);
    struct proc *am;

    assert_non_null(b);
    snprintf(yml, sizeof yml, "%s/alertmanager.yml", dir);
    snprintf(text, sizeof text, AM_YML, hook);
    assert_int_equal(twr_write_file(yml, text), 0);
    snprintf(yarg, sizeof yarg, "--config.file=%s", yml);
    snprintf(sarg, sizeof sarg, "--storage.path=%s/am", dir);
    snprintf(larg, sizeof larg, "--web.listen-address=127.0.0.1:%u", port);
    {
        const char *const argv[] = {AM_BIN, yarg, sarg, larg,
                                    "--cluster.listen-address=",
                                    "--log.level=warn", NULL};

        am = twr_fx_proc(f, proc_spawn(argv, NULL));
    }
    assert_non_null(am);
    if (!twr_wait_http(port, "/-/ready", 200, NULL, WAIT_MS, b)) {
        twr_dump_stderr("alertmanager", am);
        fail_msg("Alertmanager not ready on port %u", port);
    }
    free(b);
    return am;
}

/* SIGTERM by PID; it exits within the deadline. */
static void stop_am(struct proc *am)
{
    int status = 0;

    assert_int_equal(kill(proc_pid(am), SIGTERM), 0);
    if (!proc_wait_exit(am, WAIT_MS, &status)) {
        twr_dump_stderr("alertmanager", am);
        fail_msg("Alertmanager did not exit on SIGTERM");
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static bool have_am(void)
{
    if (access(AM_BIN, X_OK) == 0)
        return true;
    fprintf(stderr, "test_alertmanager: %s not installed (Debian package "
            "prometheus-alertmanager, tests/deps.sh): skipped\n", AM_BIN);
    return false;
}

static void test_real_alertmanager(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *am, *run;
    unsigned am_port, port = 0;
    char hook[128], sink[256], ends[48];
    const int64_t t = clock_wall_ms() - 200000;
    int64_t sent_ms, ends_ms = 0;
    bool moved;
    const cJSON *ann;
    cJSON *a, *j;
    struct rcv_request q;
    size_t fired, resolved;

    if (!have_am())
        skip();
    assert_int_equal(twr_dir_make(f, &d, "am"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/am", hook, sizeof hook);
    am_port = free_port();
    am = start_am(f, d.path, am_port, hook);

    snprintf(sink, sizeof sink, "\"url\": \"http://127.0.0.1:%u/\","
             " \"generator_url\": \"http://tw.example/status\"", am_port);
    /* the firing: listed, active, exact labels and annotations */
    sent_ms = clock_wall_ms();
    run = run_sink(f, &d, sink, 1, NULL, t, &srv, &port);
    a = wait_am_alert(am_port, true, run);
    assert_true(labels_exact(a));
    assert_string_equal(twr_jstr(twr_jobj(a, "status"), "state"), "active");
    ann = twr_jobj(a, "annotations");
    assert_non_null(strstr(twr_jstr(ann, "summary"), "s1"));
    assert_string_equal(twr_jstr(ann, "description"),
                        "One call ran for more than a minute");
    assert_string_equal(twr_jstr(ann, "runbook_url"),
                        "https://runbooks.example/runaway");
    assert_string_equal(twr_jstr(ann, "key"), "s1");
    assert_int_equal(strlen(twr_jstr(ann, "episode_id")), 32);
    assert_string_equal(twr_jstr(a, "generatorURL"),
                        "http://tw.example/status");
    /* endsAt: the send time plus ends_after_s (3 h by default) */
    snprintf(ends, sizeof ends, "%s", twr_jstr(a, "endsAt"));
    assert_int_equal(clock_parse_iso8601(ends, strlen(ends), &ends_ms), 0);
    assert_true(ends_ms > sent_ms + 10800000 - 1000 &&
                ends_ms <= clock_wall_ms() + 10800000);
    cJSON_Delete(a);
    /* a re-send (repeat_interval_s 1, 1.5 s of event time later) moves
     * endsAt on: the alert stays active as long as the episode holds */
    push_call(srv, "2", "tick", "s3", t + 1500, 10);
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        a = wait_am_alert(am_port, true, run);
        moved = strcmp(twr_jstr(a, "endsAt"), ends) > 0;
        cJSON_Delete(a);
        if (moved)
            break;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("endsAt stayed %s", ends);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
    /* Alertmanager's notification: firing, the same labels */
    fired = wait_am_note(r, "firing", 0, run);
    assert_true(rcv_get(r, fired, &q));
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    assert_int_equal(cJSON_GetArraySize(twr_jobj(j, "alerts")), 1);
    assert_true(labels_exact(cJSON_GetArrayItem(twr_jobj(j, "alerts"), 0)));
    cJSON_Delete(j);

    /* 4 s of event time later the episode resolves: resolved there too,
     * and gone from the active alerts */
    push_call(srv, "3", "tick", "s3", t + 6000, 10);
    resolved = wait_am_note(r, "resolved", fired + 1, run);
    assert_true(rcv_get(r, resolved, &q));
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    a = cJSON_GetArrayItem(twr_jobj(j, "alerts"), 0);
    assert_true(labels_exact(a));
    assert_string_equal(twr_jstr(a, "status"), "resolved");
    cJSON_Delete(j);
    assert_null(wait_am_alert(am_port, false, run));

    assert_true(twr_stop("run", run));
    stop_am(am);
}

/* The test's receiver plays Alertmanager: the path, the method, basic
 * auth; a 400 is dead-lettered with the answer; the password is never
 * logged. */
static void test_request_auth_and_refusal(void **state)
{
    static const char answer[] = "{\"code\":400,\"message\":\"bad alert\"}";
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    unsigned port = 0;
    char sink[512], dl[160], base[128];
    struct rcv_request q;
    const char *auth;
    cJSON *j;
    FILE *fp;
    size_t n;
    static char text[8192];

    assert_int_equal(twr_dir_make(f, &d, "amauth"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    {
        struct rcv_action a = {.kind = RCV_ANSWER, .status = 400,
                               .body = answer, .body_len = sizeof answer - 1};

        assert_int_equal(rcv_add(r, &a), RCV_OK);
    }
    rcv_url(r, "", base, sizeof base);
    snprintf(sink, sizeof sink, "\"url\": \"%s\", \"basic_auth_user\": "
             "\"tw\", \"basic_auth_password_env\": \"" PASSWORD_ENV "\"",
             base);
    run = run_sink(f, &d, sink, 3600, env, clock_wall_ms() - 200000,
                   &srv, &port);
    assert_true(rcv_wait_requests(r, 1, WAIT_MS));
    assert_true(rcv_get(r, 0, &q));
    assert_string_equal(q.method, "POST");
    assert_string_equal(q.path, "/api/v2/alerts");
    auth = rcv_header(&q, "Authorization");
    /* base64("tw:s3cr3t-am-p4ss") */
    assert_non_null(auth);
    assert_string_equal(auth, "Basic dHc6czNjcjN0LWFtLXA0c3M=");
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    assert_true(cJSON_IsArray(j));
    assert_true(labels_exact(cJSON_GetArrayItem(j, 0)));
    cJSON_Delete(j);
    /* dead-lettered with the answer, once: no retry */
    snprintf(dl, sizeof dl, "%s/dead-letter.ndjson", d.state);
    assert_true(twr_wait_sink0(port, "dead_lettered", 1, WAIT_MS, run));
    assert_true(twr_stop("run", run));
    assert_int_equal(rcv_count(r), 1);
    assert_non_null(fp = fopen(dl, "r"));
    n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(text, "bad alert"));
    assert_false(proc_output_contains(run, PASSWORD));
}

/* A bearer token from the environment; a 503 is retried, then the
 * alert is delivered; the token is never logged. */
static void test_bearer_and_retry(void **state)
{
    static const char *const benv[] = {"TW_ITEST_AM_TOKEN=tok-9f8e7d",
                                       NULL};
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    unsigned port = 0;
    char sink[512], base[128];
    struct rcv_request q;

    assert_int_equal(twr_dir_make(f, &d, "ambearer"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    assert_int_equal(rcv_add_status(r, 503, NULL, NULL), RCV_OK);
    rcv_url(r, "/prefix/", base, sizeof base);
    snprintf(sink, sizeof sink, "\"url\": \"%s\", \"bearer_token_env\": "
             "\"TW_ITEST_AM_TOKEN\"", base);
    run = run_sink(f, &d, sink, 3600, benv, clock_wall_ms() - 200000,
                   &srv, &port);
    assert_true(twr_wait_sink0(port, "delivered", 1, WAIT_MS, run));
    assert_int_equal(rcv_count(r), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(rcv_get(r, i, &q));
        assert_string_equal(q.path, "/prefix/api/v2/alerts");
        assert_string_equal(rcv_header(&q, "Authorization"),
                            "Bearer tok-9f8e7d");
        assert_int_equal(q.status, i == 0 ? 503 : 200);
    }
    assert_true(twr_stop("run", run));
    assert_false(proc_output_contains(run, "tok-9f8e7d"));
}

/* check-config refuses what an alertmanager sink cannot use, naming the
 * key. */
static void test_config_refusals(void **state)
{
    static const struct {
        const char *sink, *want;
    } cases[] = {
        {"\"generator_url\": \"http://x.example/\"",
         "sinks[0].url: required for an alertmanager sink"},
        {"\"url\": \"http://a:9093\", \"bearer_token_env\": \"B\", "
         "\"basic_auth_user\": \"u\", \"basic_auth_password_env\": \"P\"",
         "sinks[0].bearer_token_env: set either a bearer token or basic "
         "auth, not both"},
        {"\"url\": \"http://a:9093\", \"basic_auth_user\": \"u\"",
         "sinks[0].basic_auth_password_env: basic auth needs both"},
        {"\"url\": \"http://a:9093\", \"digest_after\": 5",
         "sinks[0].digest_after: an alertmanager sink is never digested"},
        {"\"url\": \"http://a:9093\", \"ends_after_s\": 59",
         "sinks[0].ends_after_s"},
        {"\"url\": \"http://a:9093\", \"bearer_token_env\": "
         "\"TW_ITEST_AM_UNSET\"",
         "sinks[0].bearer_token_env: the environment variable "
         "TW_ITEST_AM_UNSET is not set"},
        {"\"url\": \"http://a:9093\", \"secret_envs\": [\"S\"]",
         "sinks[0].secret_envs: not used by an alertmanager sink"},
    };
    struct twr_fx *f = *state;
    struct twr_dir d;

    assert_int_equal(twr_dir_make(f, &d, "amcfg"), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const argv[] = {twr_bin(), "check-config", "--offline",
                                    "-c", d.cfg, NULL};
        const char *const cenv[] = {"TW_ITEST_AM_UNSET", NULL};
        struct proc *p;
        int status = 0;

        assert_int_equal(twr_write_config(d.cfg, CFG_FMT, d.state, "x",
                                          "http://127.0.0.1:1/events",
                                          cases[i].sink, 3600), 0);
        assert_non_null(p = twr_fx_proc(f, proc_spawn(argv, cenv)));
        assert_true(proc_wait_exit(p, WAIT_MS, &status));
        if (!proc_output_contains(p, cases[i].want)) {
            twr_dump_stderr("check-config", p);
            fail_msg("case %zu: no \"%s\"", i, cases[i].want);
        }
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    }
}

/* `toolwatch send-test` to an alertmanager sink posts the test alert and
 * resolves it at once: both answered 200, and Alertmanager does not list
 * it afterwards (a firing alone would stay active for ends_after_s). */
static void test_send_test_resolves(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct rcv *r;
    struct proc *am, *p;
    unsigned am_port;
    char hook[128], text[512];
    const char *out;
    size_t len;
    int status = -1, listed = 0;
    cJSON *all, *a;

    if (!have_am())
        skip();
    assert_int_equal(twr_dir_make(f, &d, "amtest"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/am", hook, sizeof hook);
    am_port = free_port();
    am = start_am(f, d.path, am_port, hook);
    snprintf(text, sizeof text,
             "{\"state_dir\": \"%s\", \"sinks\": [{\"name\": \"am\","
             " \"type\": \"alertmanager\","
             " \"url\": \"http://127.0.0.1:%u\"}]}", d.state, am_port);
    assert_int_equal(twr_write_file(d.cfg, text), 0);
    {
        const char *const argv[] = {twr_bin(), "send-test", "am", "-c",
                                    d.cfg, NULL};

        assert_non_null(p = twr_fx_proc(f, proc_spawn(argv, NULL)));
    }
    assert_true(proc_wait_exit(p, WAIT_MS, &status));
    out = proc_stdout_all(p, &len);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("send-test exited %d: %s", status, out);
    assert_non_null(strstr(out, "sink am (alertmanager): firing: HTTP 200"));
    assert_non_null(strstr(out, "sink am (alertmanager): resolve: HTTP 200"));
    assert_non_null(strstr(out, "the test alert was posted and resolved"));
    assert_non_null(all = am_alerts(am_port));
    cJSON_ArrayForEach(a, all)
    {
        if (twr_streq(twr_jstr(twr_jobj(a, "labels"), "alertname"),
                      "toolwatch_test"))
            listed++;
    }
    cJSON_Delete(all);
    assert_int_equal(listed, 0);
    stop_am(am);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_real_alertmanager, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_request_auth_and_refusal,
                                        twr_setup, twr_teardown),
        cmocka_unit_test_setup_teardown(test_bearer_and_retry, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_config_refusals, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_send_test_resolves, twr_setup,
                                        twr_teardown),
    };

    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
