/*
 * test_run.c - integration tests of `toolwatch run -c FILE`: the real
 * binary (TOOLWATCH_BIN, default build/asan/toolwatch) against real peers on
 * 127.0.0.1: `toolwatch simulate` or a scripted tests/support/sse_server as
 * the audit stream, tests/support/receiver as the webhook / Slack /
 * PagerDuty endpoint, libcurl as the client of the status server.
 *
 * What (SPEC.md sections 2-4):
 *  - every simulator scenario fires its own detector, and only that one,
 *    and resolves it; every webhook request is signed (Standard Webhooks,
 *    checked with alerts/sign.h) and each notification has its own
 *    webhook-id;
 *  - /readyz follows the stream: 200 connected, 503 with a JSON reason when
 *    the stream's server goes away, 200 again once a server is back on the
 *    same port;
 *  - SIGHUP with a bad file is refused and the old configuration keeps
 *    running (and delivering); a good file is taken;
 *  - SIGTERM exits 0 and leaves the last event id in state_dir/position,
 *    which the next start sends as Last-Event-ID;
 *  - a crash after the journal commit of an alert but before the position
 *    file is written: the restart resumes from the position of the
 *    detection checkpoint (written at the clean stop before), reads the
 *    alert's event again and makes the alert again under the same
 *    episode id and number, which the journal's mark says it holds: it is
 *    not sent again, and the receiver sees one webhook-id;
 *  - alerts journaled while the receiver is down survive kill -9 and are
 *    delivered after the restart, each under one webhook-id, the queue
 *    head under the id it had before the crash (a sink sends only its
 *    head, so only the head's id can be seen before the crash); SIGTERM
 *    with a request hanging exits 0 and the next start sends it again
 *    under the same id;
 *  - the Slack sink is paced (burst 3, then 1 per second), the PagerDuty
 *    sink triggers and resolves with one dedup_key;
 *  - a bad configuration exits 1 naming the key's path.
 *
 * Why: these are the promises users judge the service by (never miss an
 * anomaly, never lose an alert, never page for nothing); only the real
 * process, with real sockets, signals and a real state directory, shows
 * that the parts tested one by one keep them together.
 *
 * Invariants:
 *  - every configuration is written into a fresh mkdtemp directory, with
 *    its state_dir inside it and the status server on a free port (0); the
 *    port is read from the service's "status on http://..." log line;
 *  - no test sleeps to wait for something it can wait on: children are
 *    waited on with proc_* (poll on their pipes), receivers and SSE
 *    servers with their condition variables, all with deadlines.  The
 *    status server is external state: it is polled every TWR_POLL_MS up
 *    to a deadline;
 *  - detector windows, hold_s and retry delays are cut to seconds, so the
 *    whole file runs in well under 90 s; the six scenarios of the first
 *    test run side by side;
 *  - every child is ended (SIGTERM and exit 0 where the test is about a
 *    clean stop, SIGKILL otherwise) and its stderr checked for sanitizer
 *    reports; the fixture, the children and the status server are
 *    tests/support/twrun.h's, shared with test_faults.c.
 *
 * Set ITEST_VERBOSE=1 to print each service's stderr when it is stopped.
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
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "tests/support/twrun.h"

#define WAIT_MS 10000       /* something that should come within seconds */
#define SCENARIO_WAIT_MS 40000 /* all six anomalies fired and resolved */

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_ITEST_WEBHOOK_SECRET"
#define SLACK_ENV "TW_ITEST_SLACK_URL"
#define SLACK_PATH "/services/T0ITEST/B0ITEST/s3cr3tSlackPath"
#define PD_ENV "TW_ITEST_PD_KEY"
#define PD_KEY "R0UT1NG-itest-7f3a9c"

/* twrun.h reports a failed check; the test fails on it */
#define WRITE_CONFIG(...) assert_int_equal(twr_write_config(__VA_ARGS__), 0)
/* state dir, stream URL, webhook URL: one signed webhook sink that
 * retries fast, and a status server on any port */
#define ONE_WEBHOOK_CFG                                                 \
    "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"            \
    " \"status\": {\"port\": 0},"                                       \
    " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","               \
    " \"secret_envs\": [\"" SECRET_ENV "\"],"                            \
    " \"retry_base_ms\": 100, \"retry_max_ms\": 300}]}"

/* ------------------------------ helpers ------------------------------ */

static size_t count_in(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, k = strlen(needle);

    for (size_t i = 0; k > 0 && i + k <= len; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            n++;
    }
    return n;
}

/* The first occurrence of needle in hay[from, len), or NULL. */
static const char *find_from(const char *hay, size_t len, size_t from,
                             const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = from; k > 0 && i + k <= len; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    }
    return NULL;
}

static size_t stderr_count(const struct proc *p, const char *needle)
{
    size_t len;
    const char *e = proc_stderr_all(p, &len);

    return count_in(e, len, needle);
}

/* Wait until needle has occurred n times on stderr (each occurrence
 * waited for after the previous one). */
static void expect_stderr_times(const char *what, struct proc *p,
                                const char *needle, size_t n, int timeout_ms)
{
    int64_t end = clock_mono_ms() + timeout_ms;
    size_t from = 0, len;

    for (size_t k = 0; k < n; k++) {
        int64_t left = end - clock_mono_ms();
        const char *e, *at;
        assert_true(twr_stderr_after(what, p, from, needle,
                                     left > 0 ? (int)left : 0));
        e = proc_stderr_all(p, &len);
        at = find_from(e, len, from, needle);
        assert_non_null(at);
        from = (size_t)(at - e) + 1;
    }
}

/* ---- the receiver ---- */

static cJSON *req_json(const struct rcv_request *q)
{
    cJSON *j;

    assert_non_null(q->body);
    j = cJSON_ParseWithLength((const char *)q->body, q->body_len);
    if (j == NULL)
        fail_msg("request %zu: body is not JSON: %.*s", q->index,
                 (int)q->body_len, (const char *)q->body);
    return j;
}

/* ---- scripted audit events ---- */

/* One SSE frame: a completed call of `tool` by `agent` returning
 * `payload` bytes, stamped now. */
static void add_call_frame_at(char *out, size_t cap, const char *id,
                              const char *tool, const char *agent,
                              long long payload, int64_t ts_ms)
{
    char rec[64];
    const struct twr_call c = {.id = id, .rec = rec, .tool = tool,
                               .agent = agent, .ts_ms = ts_ms,
                               .dur_ms = 12.5, .payload = payload};

    snprintf(rec, sizeof rec, "rec-%s", id);
    assert_true(twr_add_call(out, cap, &c));
}

/* The same, stamped now. */
static void add_call_frame(char *out, size_t cap, const char *id,
                           const char *tool, const char *agent,
                           long long payload)
{
    add_call_frame_at(out, cap, id, tool, agent, payload, clock_wall_ms());
}

/* -------------------- 1. every scenario fires and resolves ----------- */

static const struct scenario {
    const char *name;     /* simulate --scenario */
    const char *detector; /* the one detector it must fire */
    const char *key;      /* the group it fires for */
    const char *phase_s;
    double threshold;     /* as configured below */
    double window_s;
} scenarios[] = {
    {"volume-spike", "volume", "crm_search_contacts", "3", 40, 3},
    {"error-burst", "error_rate", "postgres_query", "3", 0.3, 3},
    {"slow-calls", "latency", "http_fetch", "3", 5000, 2},
    {"large-payload", "payload_size", "s3_get_object", "3", 1000000, 2},
    {"credential-spike", "credential_access", "agent-13", "3", 10, 3},
    {"stall", "stream_stalled", "global", "5", 3, -1}, /* window: null */
};
#define N_SCEN (sizeof scenarios / sizeof scenarios[0])

/* Every detector tuned to seconds.  At 200 events/s (100 calls/s) the
 * simulator's normal traffic puts about 6 calls of one tool in 3 s (2 %
 * errors, latencies under 3 s, payloads under 200 kB, secret tools 0.2 %),
 * far from every threshold; each anomaly phase crosses its own within a
 * second (checked offline with `toolwatch replay` over sim/gen.c output:
 * seed 1, every scenario fires only its detector and resolves in the 7 s
 * quiet phase that follows). */
#define SCEN_DETECTORS                                                     \
    "{\"allowed_lateness_s\": 0, \"hold_s\": 1,"                           \
    " \"volume\": {\"window_s\": 3, \"threshold\": 40},"                    \
    " \"error_rate\": {\"window_s\": 3, \"threshold\": 0.3,"                \
    " \"min_calls\": 10},"                                                  \
    " \"latency\": {\"window_s\": 2, \"threshold\": 5000},"                 \
    " \"payload_size\": {\"window_s\": 2, \"threshold\": 1000000},"         \
    " \"credential_access\": {\"window_s\": 3, \"threshold\": 10},"         \
    " \"stream_stalled\": {\"threshold\": 3}}"

struct scen_run {
    const struct scenario *s;
    struct twr_dir d;
    struct rcv *r;
    struct proc *sim, *run;
    char url[128];
    bool done;
};

/* Has the receiver got the first alert.firing of the scenario's detector
 * and then the alert.resolved of the same episode? */
static bool scen_done(struct scen_run *x)
{
    size_t n = rcv_count(x->r);
    char episode[64] = "";

    for (size_t i = 0; i < n; i++) {
        struct rcv_request q;
        cJSON *j;
        const cJSON *data;
        const char *type, *id;
        bool hit = false;

        if (!rcv_get(x->r, i, &q) || q.body == NULL)
            continue;
        j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
        if (j == NULL)
            continue;
        type = twr_jstr(j, "type");
        data = cJSON_GetObjectItemCaseSensitive(j, "data");
        id = twr_jstr(data, "id");
        if (type && id &&
            twr_streq(twr_jstr(data, "rule"), x->s->detector)) {
            if (episode[0] == '\0' && strcmp(type, "alert.firing") == 0)
                snprintf(episode, sizeof episode, "%s", id);
            else if (strcmp(type, "alert.resolved") == 0 &&
                     strcmp(id, episode) == 0)
                hit = true;
        }
        cJSON_Delete(j);
        if (hit)
            return true;
    }
    return false;
}

/* Exact checks once the service has stopped: the first two notifications
 * are the firing and the resolve of one episode of the scenario's
 * detector and key; every notification (later cycles included) is of that
 * detector only, signed, with its own webhook-id. */
static void scen_verify(struct scen_run *x)
{
    size_t n = rcv_count(x->r);
    char episode[64], instance[64];

    snprintf(instance, sizeof instance, "itest-%s", x->s->name);
    assert_true(n >= 2);
    assert_true(twr_all_signed(x->r, SECRET));
    assert_int_equal(rcv_count_distinct(x->r, "webhook-id", 200, 200), n);
    for (size_t i = 0; i < n; i++) {
        struct rcv_request q;
        cJSON *j;
        const cJSON *data;

        assert_true(rcv_get(x->r, i, &q));
        assert_int_equal(q.status, 200);
        j = req_json(&q);
        data = twr_jobj(j, "data");
        if (!twr_streq(twr_jstr(data, "rule"), x->s->detector))
            fail_msg("%s: a false positive: notification %zu is %s %s for "
                     "%s", x->s->name, i, twr_jstr(j, "type"),
                     twr_jstr(data, "rule"), twr_jstr(data, "key"));
        assert_string_equal(twr_jstr(data, "key"), x->s->key);
        assert_string_equal(twr_jstr(data, "source"), instance);
        assert_true(twr_jnum(data, "threshold") == x->s->threshold);
        if (strcmp(x->s->detector, "stream_stalled") == 0)
            assert_true(cJSON_IsNull(twr_jobj(data, "window_s")));
        else
            assert_true(twr_jnum(data, "window_s") == x->s->window_s);
        if (i == 0) {
            assert_string_equal(twr_jstr(j, "type"), "alert.firing");
            assert_string_equal(twr_jstr(data, "state"), "firing");
            assert_true(cJSON_IsNull(twr_jobj(data, "resolved_at")));
            if (strcmp(x->s->detector, "stream_stalled") == 0)
                assert_true(twr_jnum(data, "value") >= x->s->threshold);
            else
                assert_true(twr_jnum(data, "value") > x->s->threshold);
            snprintf(episode, sizeof episode, "%s", twr_jstr(data, "id"));
            assert_int_equal(strlen(episode), 32);
        } else if (i == 1) {
            assert_string_equal(twr_jstr(j, "type"), "alert.resolved");
            assert_string_equal(twr_jstr(data, "state"), "resolved");
            assert_string_equal(twr_jstr(data, "id"), episode);
            assert_non_null(twr_jstr(data, "resolved_at"));
        }
        cJSON_Delete(j);
    }
}

static void test_scenarios_fire_and_resolve(void **state)
{
    static struct scen_run xs[N_SCEN];
    const char *env[] = {SECRET_ENV "=" SECRET, NULL};
    int64_t end;
    size_t left = N_SCEN;

    struct twr_fx *f = *state;
    memset(xs, 0, sizeof xs);
    /* all simulators first: their timelines start now (7 s quiet) */
    for (size_t i = 0; i < N_SCEN; i++) {
        const char *extra[] = {"--scenario", scenarios[i].name, "--rate",
                               "200", "--phase-s", scenarios[i].phase_s,
                               "--quiet-s", "7", "--heartbeat-ms", "1000",
                               NULL};
        xs[i].s = &scenarios[i];
        xs[i].sim = twr_start_sim(f, extra, 0, xs[i].url, sizeof xs[i].url);
        assert_non_null(xs[i].sim);
    }
    for (size_t i = 0; i < N_SCEN; i++) {
        struct scen_run *x = &xs[i];
        char hook[128];
        assert_int_equal(twr_dir_make(f, &x->d, "run"), 0);
        assert_non_null(x->r = twr_fx_rcv(f));
        rcv_url(x->r, "/hook", hook, sizeof hook);
        WRITE_CONFIG(x->d.cfg,
                     "{\"instance\": \"itest-%s\", \"state_dir\": \"%s\","
                     " \"stream\": {\"url\": \"%s\"},"
                     " \"status\": {\"port\": 0},"
                     " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                     " \"secret_envs\": [\"" SECRET_ENV "\"]}],"
                     " \"detectors\": " SCEN_DETECTORS "}",
                     x->s->name, x->d.state, x->url, hook);
        assert_non_null(x->run = twr_start_run(f, x->d.cfg, env, NULL));
    }
    end = clock_mono_ms() + SCENARIO_WAIT_MS;
    while (left > 0) {
        for (size_t i = 0; i < N_SCEN; i++) {
            struct scen_run *x = &xs[i];
            if (x->done)
                continue;
            proc_poll(x->sim);
            proc_poll(x->run);
            if (scen_done(x)) {
                x->done = true;
                left--;
                print_message("    %s: fired and resolved after %lld ms\n",
                              x->s->name,
                              (long long)(SCENARIO_WAIT_MS -
                                          (end - clock_mono_ms())));
            } else {
                /* wake on the next request (condition variable) */
                rcv_wait_requests(x->r, rcv_count(x->r) + 1, 20);
            }
        }
        if (left > 0 && clock_mono_ms() >= end) {
            for (size_t i = 0; i < N_SCEN; i++) {
                if (!xs[i].done) {
                    twr_dump_stderr(xs[i].s->name, xs[i].run);
                    print_message("    %s: %zu notifications\n",
                                  xs[i].s->name, rcv_count(xs[i].r));
                }
            }
            fail_msg("%zu scenarios did not fire and resolve within %d ms",
                     left, SCENARIO_WAIT_MS);
        }
    }
    for (size_t i = 0; i < N_SCEN; i++) {
        assert_true(twr_stop(xs[i].s->name, xs[i].run));
        assert_true(twr_stop("simulate", xs[i].sim));
    }
    for (size_t i = 0; i < N_SCEN; i++) {
        scen_verify(&xs[i]);
    }
}

/* ---------------------------- 2. /readyz ----------------------------- */

static void expect_ready(const struct hget_body *b, bool ready,
                         const char *reason_prefix)
{
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);

    if (j == NULL)
        fail_msg("/readyz body is not JSON: %s", b->data);
    assert_true(cJSON_IsBool(twr_jobj(j, "ready")));
    assert_int_equal(cJSON_IsTrue(twr_jobj(j, "ready")), ready);
    if (reason_prefix != NULL) {
        const char *r = twr_jstr(j, "reason");
        assert_non_null(r);
        if (strncmp(r, reason_prefix, strlen(reason_prefix)) != 0)
            fail_msg("/readyz reason \"%s\", want \"%s...\"", r,
                     reason_prefix);
    }
    cJSON_Delete(j);
}

static void test_readyz_follows_stream(void **state)
{
    const char *extra[] = {"--rate", "50", "--heartbeat-ms", "200", NULL};
    static struct hget_body b;
    struct twr_dir d;
    struct proc *sim, *run;
    char url[128], url2[128];
    unsigned sport;
    cJSON *st;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(sim = twr_start_sim(f, extra, 0, url, sizeof url));
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\","
                 " \"stall_timeout_s\": 2, \"retry_base_ms\": 100,"
                 " \"retry_max_ms\": 400}, \"status\": {\"port\": 0}}",
                 d.state, url);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &sport));
    if (!twr_wait_http(sport, "/readyz", 200, NULL, WAIT_MS, &b))
        fail_msg("/readyz never 200 while connected: %s", b.data);
    expect_ready(&b, true, NULL);

    /* the stream's server goes away: 503 with the reason */
    assert_true(twr_stop("simulate", sim));
    if (!twr_wait_http(sport, "/readyz", 503, NULL, WAIT_MS, &b))
        fail_msg("/readyz never 503 after the stream went away: %s",
                 b.data);
    expect_ready(&b, false, "stream disconnected since ");
    assert_int_equal(hget(sport, "/healthz", &b), 200);
    assert_string_equal(b.data, "{\"status\":\"ok\"}\n");

    /* a new server on the same port: ready again */
    sim = twr_start_sim(f, extra, twr_url_port(url), url2, sizeof url2);
    assert_non_null(sim);
    assert_string_equal(url2, url);
    if (!twr_wait_http(sport, "/readyz", 200, NULL, WAIT_MS, &b))
        fail_msg("/readyz never 200 after the server came back: %s",
                 b.data);
    expect_ready(&b, true, NULL);
    assert_non_null(st = twr_status(sport));
    assert_true(twr_jnum(twr_jobj(st, "stream"), "connects") >= 2);
    assert_true(twr_jnum(twr_jobj(st, "stream"), "reconnects") >= 1);
    assert_true(cJSON_IsTrue(twr_jobj(twr_jobj(st, "stream"), "connected")));
    cJSON_Delete(st);
    assert_true(twr_stop("run", run));
    assert_true(twr_stop("simulate", sim));
}

/* ---------------------------- 3. SIGHUP ------------------------------ */

/* Wait for a notification at index >= from whose type is `type` and whose
 * source is `source`.  Returns its index. */
static size_t wait_notification(struct rcv *r, size_t from, const char *type,
                                const char *source, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;
    size_t i = from;

    for (;;) {
        struct rcv_request q;
        while (rcv_get(r, i, &q)) {
            cJSON *j = req_json(&q);
            const cJSON *data = twr_jobj(j, "data");
            bool hit = twr_streq(twr_jstr(j, "type"), type) &&
                       twr_streq(twr_jstr(data, "source"), source);
            cJSON_Delete(j);
            if (hit)
                return i;
            i++;
        }
        proc_poll(run);
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("no %s from %s at or after notification %zu", type,
                     source, from);
        }
        rcv_wait_requests(r, i + 1, 100);
    }
}

#define HUP_CONFIG                                                         \
    "{\"instance\": \"%s\", \"state_dir\": \"%s\","                        \
    " \"stream\": {\"url\": \"%s\"}, \"status\": {\"port\": 0},"            \
    " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","                 \
    " \"secret_envs\": [\"" SECRET_ENV "\"]}],"                             \
    " \"detectors\": {\"allowed_lateness_s\": 0, \"hold_s\": 1,"            \
    " \"latency\": {\"window_s\": 1}}}"

static void test_sighup_refuses_bad_file(void **state)
{
    /* slow calls for 2 s out of every 5: a latency episode each cycle */
    const char *extra[] = {"--scenario", "slow-calls", "--rate", "200",
                           "--phase-s", "2", "--quiet-s", "3", NULL};
    const char *env[] = {SECRET_ENV "=" SECRET, NULL};
    static struct hget_body b;
    struct twr_dir d;
    struct rcv *r;
    struct proc *sim, *run;
    char url[128], hook[128];
    unsigned sport;
    size_t mark, n;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_non_null(sim = twr_start_sim(f, extra, 0, url, sizeof url));
    WRITE_CONFIG(d.cfg, HUP_CONFIG, "tw-before", d.state, url, hook);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &sport));
    wait_notification(r, 0, "alert.firing", "tw-before", run);

    /* not JSON */
    assert_int_equal(twr_write_file(d.cfg, "{\"instance\": \"tw-broken\","
                                           " \"stream\": {"),
                     0);
    mark = twr_stderr_len(run);
    assert_int_equal(proc_signal(run, SIGHUP), 0);
    assert_true(
        twr_stderr_after("run", run, mark, "reload refused: ", WAIT_MS));

    /* a bad value: refused with the key's path */
    WRITE_CONFIG(d.cfg,
                 "{\"instance\": \"tw-broken\", \"state_dir\": \"%s\","
                 " \"stream\": {\"url\": \"%s\"}, \"status\": {\"port\": 0},"
                 " \"detectors\": {\"error_rate\": {\"threshold\": \"20%%\"}}}",
                 d.state, url);
    mark = twr_stderr_len(run);
    assert_int_equal(proc_signal(run, SIGHUP), 0);
    assert_true(twr_stderr_after("run", run, mark,
                                 "detectors.error_rate.threshold: expected "
                                 "a number between 0 and 1, got \"20%\"",
                                 WAIT_MS));
    assert_true(
        twr_stderr_after("run", run, mark, "reload refused: ", WAIT_MS));
    assert_int_equal(stderr_count(run, "configuration reloaded"), 0);

    /* the old configuration still runs and delivers */
    assert_int_equal(hget(sport, "/healthz", &b), 200);
    n = rcv_count(r);
    wait_notification(r, n, "alert.firing", "tw-before", run);

    /* a good, changed file is taken */
    WRITE_CONFIG(d.cfg, HUP_CONFIG, "tw-after", d.state, url, hook);
    mark = twr_stderr_len(run);
    assert_int_equal(proc_signal(run, SIGHUP), 0);
    assert_true(twr_stderr_after("run", run, mark,
                                 "configuration reloaded from ", WAIT_MS));
    n = rcv_count(r);
    wait_notification(r, n, "alert.firing", "tw-after", run);
    if (!twr_wait_http(sport, "/readyz", 200, NULL, WAIT_MS, &b))
        fail_msg("/readyz not 200 after the reload: %s", b.data);

    assert_true(twr_stop("run", run));
    assert_true(twr_stop("simulate", sim));
    assert_true(twr_all_signed(r, SECRET));
    assert_int_equal(rcv_count_distinct(r, "webhook-id", 200, 200),
                     rcv_count(r));
}

/* ----------------------- 4. SIGTERM and position --------------------- */

/* The event id in state_dir/position (its first line; the second is the
 * position's generation). */
static void read_position(const struct twr_dir *d, char *out, size_t cap)
{
    char path[160];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof path, "%s/position", d->state);
    fp = fopen(path, "r");
    assert_non_null(fp);
    n = fread(out, 1, cap - 1, fp);
    fclose(fp);
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

/* Poll /status until stream.last_event_id is `want`. */
static void wait_last_event_id(unsigned sport, const char *want)
{
    int64_t end = clock_mono_ms() + WAIT_MS;
    char got[128] = "";

    for (;;) {
        cJSON *st = twr_status(sport);
        assert_non_null(st);
        const char *id = twr_jstr(twr_jobj(st, "stream"), "last_event_id");
        snprintf(got, sizeof got, "%s", id ? id : "(null)");
        cJSON_Delete(st);
        if (strcmp(got, want) == 0)
            return;
        if (clock_mono_ms() >= end)
            fail_msg("/status last_event_id is \"%s\", want \"%s\"", got,
                     want);
        twr_pause_ms(TWR_POLL_MS);
    }
}

static void test_sigterm_persists_position(void **state)
{
    const char *extra[] = {"--rate", "200", NULL};
    static struct hget_body b;
    static char frames[4096];
    struct twr_dir d;
    struct tsrv *srv;
    struct proc *sim, *run;
    char url[128], surl[128], pos[128], lei[128];
    unsigned sport;
    unsigned long long seen = 0;
    cJSON *st;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(sim = twr_start_sim(f, extra, 0, url, sizeof url));
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0}}",
                 d.state, url);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &sport));
    /* events are flowing: /status shows an id */
    for (int64_t end = clock_mono_ms() + WAIT_MS; seen == 0;) {
        assert_non_null(st = twr_status(sport));
        const char *id = twr_jstr(twr_jobj(st, "stream"), "last_event_id");
        if (id != NULL)
            seen = strtoull(id, NULL, 10);
        cJSON_Delete(st);
        if (seen == 0) {
            assert_true(clock_mono_ms() < end);
            twr_pause_ms(TWR_POLL_MS);
        }
    }
    assert_true(twr_stop("run", run));
    read_position(&d, pos, sizeof pos);
    /* the id of the newest event read: all digits, at or after the one
     * /status showed earlier */
    assert_true(pos[0] != '\0' && strspn(pos, "0123456789") == strlen(pos));
    assert_true(strtoull(pos, NULL, 10) >= seen);
    assert_true(twr_stop("simulate", sim));

    /* restart against a scripted server: it resumes from the position */
    frames[0] = '\0';
    add_call_frame(frames, sizeof frames, "tw-9001", "crm_search_contacts",
                   "agent-1", 1200);
    assert_non_null(srv = twr_fx_stream(f, frames, surl, sizeof surl));
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0}}",
                 d.state, surl);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &sport));
    assert_true(tsrv_wait_requests(srv, 1, WAIT_MS));
    assert_true(tsrv_header(srv, 0, "Last-Event-ID", lei, sizeof lei));
    assert_string_equal(lei, pos);
    assert_true(proc_wait_stderr(run, "resuming after event id", 0));
    wait_last_event_id(sport, "tw-9001");
    assert_int_equal(hget(sport, "/readyz", &b), 200);
    assert_true(twr_stop("run", run));
    read_position(&d, pos, sizeof pos);
    assert_string_equal(pos, "tw-9001");
}

/* A state directory others can list, receivers reached over plain HTTP
 * away from this host, and a literal stream header named like a secret:
 * run starts, and warns, naming the directory, the sinks and the header
 * but never a URL, a routing key or a header's value; a loopback webhook
 * (a local relay) and an ordinary header get no warning. */
static void test_start_warnings(void **state)
{
    static const char slack_url[] =
        "http://hooks.example.invalid/services/T0/B0/secretpathXYZ";
    static const char pd_key[] = "routingkeyQWERTY";
    const char *env[] = {SLACK_ENV "=" "http://hooks.example.invalid/"
                         "services/T0/B0/secretpathXYZ",
                         PD_ENV "=routingkeyQWERTY", SECRET_ENV "=" SECRET,
                         NULL};
    struct twr_dir d;
    struct tsrv *srv;
    struct proc *run;
    char surl[128], want[256];
    const char *err;
    size_t len;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_int_equal(mkdir(d.state, 0700), 0);
    assert_int_equal(chmod(d.state, 0755), 0);
    assert_non_null(srv = twr_fx_stream(f, ": hello\n\n", surl, sizeof surl));
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\","
                 " \"headers\": {\"X-Api-Key\": \"literalvalueZXC\","
                 " \"X-Tenant\": \"acme\"}},"
                 " \"sinks\": ["
                 "{\"name\": \"chat\", \"type\": \"slack\","
                 " \"url_env\": \"" SLACK_ENV "\"},"
                 "{\"name\": \"pager\", \"type\": \"pagerduty\","
                 " \"url\": \"http://events.example.invalid/v2/enqueue\","
                 " \"routing_key_env\": \"" PD_ENV "\"},"
                 "{\"name\": \"relay\", \"type\": \"webhook\","
                 " \"url\": \"http://127.0.0.1:9/hook\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"]}]}",
                 d.state, surl);
    assert_non_null(run = twr_start_run(f, d.cfg, env, NULL));
    snprintf(want, sizeof want, "state directory %s is mode 0755", d.state);
    assert_true(proc_wait_stderr(run, want, WAIT_MS));
    assert_true(proc_wait_stderr(
        run, "sink chat: plain http:// sends its URL, which is the "
             "credential, in clear", WAIT_MS));
    assert_true(proc_wait_stderr(
        run, "sink pager: plain http:// sends its routing key in clear",
        WAIT_MS));
    assert_true(proc_wait_stderr(
        run, "stream.headers: X-Api-Key looks like a secret", WAIT_MS));
    assert_true(twr_stop("run", run));
    err = proc_stderr_all(run, &len);
    assert_null(strstr(err, "sink relay"));
    assert_null(strstr(err, "X-Tenant"));
    assert_null(strstr(err, "literalvalueZXC"));
    assert_null(strstr(err, "secretpathXYZ"));
    assert_null(strstr(err, slack_url));
    assert_null(strstr(err, pd_key));
}

/* ------------------ 5. receiver outage and kill -9 ------------------- */

#define OUTAGE_ALERTS 4 /* under the log's burst of 5 lines per site */

static void test_kill9_keeps_journaled_alerts(void **state)
{
    static const char *const tools[OUTAGE_ALERTS] = {
        "s3_get_object", "gcs_read", "http_fetch", "docs_read"};
    const char *env[] = {SECRET_ENV "=" SECRET, NULL};
    static char frames[8192];
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    struct rcv_request q;
    char surl[128], hook[128], head_id[64], path[160];
    char episodes[OUTAGE_ALERTS][40];
    unsigned char *head_body;
    size_t head_len, n;
    unsigned sport;
    struct stat sb;
    cJSON *st;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_int_equal(rcv_set_down(r, true), 0);
    assert_int_equal(rcv_set_default(r, &(struct rcv_action){
                                            .kind = RCV_ANSWER,
                                            .status = 503}),
                     0);
    /* four oversized payloads: four payload_size episodes at once; after
     * a restart the server has nothing new (no new alert can be made) */
    frames[0] = '\0';
    for (int i = 0; i < OUTAGE_ALERTS; i++) {
        char id[16];
        snprintf(id, sizeof id, "big-%d", i);
        add_call_frame(frames, sizeof frames, id, tools[i], "agent-3",
                       2000000 + i);
    }
    assert_non_null(srv = twr_fx_stream(f, frames, surl, sizeof surl));
    assert_int_equal(tsrv_add_stream(srv, ": nothing new\n\n", TSRV_HANG),
                     0);
    WRITE_CONFIG(d.cfg, ONE_WEBHOOK_CFG, d.state, surl, hook);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &sport));

    /* all four journaled while the receiver is down */
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        assert_non_null(st = twr_status(sport));
        bool all = twr_sink0(st, "queue_depth") == OUTAGE_ALERTS &&
                   twr_jnum(st, "firing_total") == OUTAGE_ALERTS;
        if (all) {
            const cJSON *fl = twr_jobj(st, "firing");
            assert_int_equal(cJSON_GetArraySize(fl), OUTAGE_ALERTS);
            for (int i = 0; i < OUTAGE_ALERTS; i++)
                snprintf(episodes[i], sizeof episodes[i], "%s",
                         twr_jstr(cJSON_GetArrayItem(fl, i), "episode"));
            assert_true(twr_sink0(st, "delivered") == 0);
        }
        cJSON_Delete(st);
        if (all)
            break;
        assert_true(clock_mono_ms() < end);
        twr_pause_ms(TWR_POLL_MS);
    }
    expect_stderr_times("run", run, "alert: firing warning payload_size",
                        OUTAGE_ALERTS, WAIT_MS);
    proc_poll(run);
    assert_int_equal(stderr_count(run, "alert: firing"), OUTAGE_ALERTS);
    snprintf(path, sizeof path, "%s/journal.log", d.state);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > 0);
    assert_int_equal(rcv_count(r), 0);

    /* the receiver comes back but answers 503: the queue head is tried
     * (twice, same id), which shows its original webhook-id */
    assert_int_equal(rcv_set_down(r, false), 0);
    assert_true(rcv_wait_requests(r, 2, WAIT_MS));
    assert_true(rcv_get(r, 0, &q));
    snprintf(head_id, sizeof head_id, "%s", rcv_header(&q, "webhook-id"));
    head_len = q.body_len;
    assert_non_null(head_body = malloc(head_len));
    memcpy(head_body, q.body, head_len);
    assert_true(rcv_get(r, 1, &q));
    assert_string_equal(rcv_header(&q, "webhook-id"), head_id);
    assert_true(twr_kill9("run", run));

    /* restart on the same state: everything is delivered once up */
    assert_int_equal(rcv_set_default(r, &(struct rcv_action){
                                            .kind = RCV_ANSWER,
                                            .status = 200}),
                     0);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &sport));
    for (int64_t end = clock_mono_ms() + WAIT_MS;
         rcv_count_distinct(r, "webhook-id", 200, 200) < OUTAGE_ALERTS;) {
        proc_poll(run);
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("%zu of %d notifications delivered after the restart",
                     rcv_count_distinct(r, "webhook-id", 200, 200),
                     OUTAGE_ALERTS);
        }
        rcv_wait_requests(r, rcv_count(r) + 1, 100);
    }
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    assert_true(twr_stop("run", run));
    /* no new alert was made after the restart: these are the journal's */
    assert_int_equal(stderr_count(run, "alert: "), 0);

    assert_true(twr_all_signed(r, SECRET));
    n = rcv_count(r);
    assert_int_equal(rcv_count_distinct(r, "webhook-id", 200, 200),
                     OUTAGE_ALERTS);
    {
        size_t idx;
        assert_true(rcv_find(r, 2, "webhook-id", head_id, &idx));
        assert_true(rcv_get(r, idx, &q));
        assert_int_equal(q.status, 200);
        assert_int_equal(q.body_len, head_len);
        assert_memory_equal(q.body, head_body, head_len);
    }
    /* one body per webhook-id; the bodies are the four journaled episodes */
    for (size_t i = 0; i < n; i++) {
        struct rcv_request a, o;
        const char *id;
        cJSON *j;
        int found = 0;

        assert_true(rcv_get(r, i, &a));
        for (size_t k = 0; k < i; k++) {
            assert_true(rcv_get(r, k, &o));
            if (twr_streq(rcv_header(&o, "webhook-id"),
                          rcv_header(&a, "webhook-id"))) {
                assert_int_equal(o.body_len, a.body_len);
                assert_memory_equal(o.body, a.body, a.body_len);
            }
        }
        j = req_json(&a);
        assert_string_equal(twr_jstr(j, "type"), "alert.firing");
        assert_string_equal(twr_jstr(twr_jobj(j, "data"), "rule"),
                            "payload_size");
        id = twr_jstr(twr_jobj(j, "data"), "id");
        for (int e = 0; e < OUTAGE_ALERTS; e++)
            found += twr_streq(id, episodes[e]);
        assert_int_equal(found, 1);
        cJSON_Delete(j);
    }
    for (int e = 0; e < OUTAGE_ALERTS; e++) {
        int delivered = 0;
        for (size_t i = 0; i < n; i++) {
            struct rcv_request a;
            cJSON *j;
            assert_true(rcv_get(r, i, &a));
            if (a.status != 200)
                continue;
            j = req_json(&a);
            delivered += twr_streq(twr_jstr(twr_jobj(j, "data"), "id"),
                                   episodes[e]);
            cJSON_Delete(j);
        }
        assert_true(delivered >= 1);
    }
    free(head_body);
}

/* SIGTERM while a webhook request hangs: the service still exits 0 (the
 * drain is bounded), the notification stays journaled, and the next start
 * sends it under the webhook-id the hanging request carried. */
static void test_sigterm_keeps_in_flight_alert(void **state)
{
    const char *env[] = {SECRET_ENV "=" SECRET, NULL};
    static char frames[4096];
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    struct rcv_request q;
    char surl[128], hook[128], id[64];
    unsigned char *body;
    size_t len, idx;

    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_int_equal(rcv_add_hang(r), 0);
    frames[0] = '\0';
    add_call_frame(frames, sizeof frames, "big-1", "s3_get_object",
                   "agent-3", 2500000);
    assert_non_null(srv = twr_fx_stream(f, frames, surl, sizeof surl));
    assert_int_equal(tsrv_add_stream(srv, ": nothing new\n\n", TSRV_HANG),
                     0);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"], \"timeout_s\": 2,"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300}]}",
                 d.state, surl, hook);
    assert_non_null(run = twr_start_run(f, d.cfg, env, NULL));
    assert_true(rcv_wait_requests(r, 1, WAIT_MS));
    assert_true(rcv_get(r, 0, &q));
    assert_int_equal(q.action, RCV_HANG);
    snprintf(id, sizeof id, "%s", rcv_header(&q, "webhook-id"));
    len = q.body_len;
    assert_non_null(body = malloc(len));
    memcpy(body, q.body, len);
    assert_true(twr_stop("run", run));
    assert_true(proc_wait_stderr(run, "finishing 1 deliveries in flight",
                                 0));
    assert_int_equal(rcv_count(r), 1);

    assert_non_null(run = twr_start_run(f, d.cfg, env, NULL));
    assert_true(rcv_wait_requests(r, 2, WAIT_MS));
    assert_true(twr_stop("run", run));
    assert_int_equal(stderr_count(run, "alert: "), 0);
    assert_true(rcv_find(r, 1, "webhook-id", id, &idx));
    assert_true(rcv_get(r, idx, &q));
    assert_int_equal(q.status, 200);
    assert_int_equal(q.body_len, len);
    assert_memory_equal(q.body, body, len);
    assert_int_equal(rcv_count_distinct(r, "webhook-id", 200, 200), 1);
    assert_true(twr_all_signed(r, SECRET));
    free(body);
}

/* ---------------------------- 6. Slack pacing ------------------------ */

#define SLACK_ALERTS 6

static void test_slack_is_paced(void **state)
{
    static const char *const tools[SLACK_ALERTS] = {
        "s3_get_object", "gcs_read", "http_fetch",
        "docs_read",     "sheets_read", "notion_query"};
    const char *env[] = {SLACK_ENV "=", NULL};
    static char frames[8192], envbuf[256];
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    struct rcv_request q[SLACK_ALERTS];
    char surl[128], slack[160];

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, SLACK_PATH, slack, sizeof slack);
    snprintf(envbuf, sizeof envbuf, SLACK_ENV "=%s", slack);
    env[0] = envbuf;
    frames[0] = '\0';
    for (int i = 0; i < SLACK_ALERTS; i++) {
        char id[16];
        snprintf(id, sizeof id, "big-%d", i);
        add_call_frame(frames, sizeof frames, id, tools[i], "agent-3",
                       3000000);
    }
    assert_non_null(srv = twr_fx_stream(f, frames, surl, sizeof surl));
    /* default pacing: 1 message per second after a burst of 3 */
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"slack\","
                 " \"url_env\": \"" SLACK_ENV "\"}]}",
                 d.state, surl);
    assert_non_null(run = twr_start_run(f, d.cfg, env, NULL));
    if (!rcv_wait_requests(r, SLACK_ALERTS, WAIT_MS)) {
        twr_dump_stderr("run", run);
        fail_msg("%zu of %d Slack messages", rcv_count(r), SLACK_ALERTS);
    }
    assert_true(twr_stop("run", run));
    assert_int_equal(rcv_count(r), SLACK_ALERTS);
    for (size_t i = 0; i < SLACK_ALERTS; i++) {
        cJSON *j;
        assert_true(rcv_get(r, i, &q[i]));
        assert_string_equal(q[i].method, "POST");
        assert_string_equal(q[i].path, SLACK_PATH);
        assert_int_equal(q[i].status, 200);
        j = req_json(&q[i]);
        assert_non_null(twr_jstr(j, "text"));
        assert_true(strlen(twr_jstr(j, "text")) > 0);
        assert_true(cJSON_GetArraySize(twr_jobj(j, "blocks")) > 0);
        cJSON_Delete(j);
        if (i > 0)
            print_message("    message %zu: +%lld ms\n", i,
                          (long long)(q[i].arrival_ms -
                                      q[i - 1].arrival_ms));
    }
    /* the burst: three at once (one transfer at a time, no pacing wait) */
    assert_true(q[2].arrival_ms - q[0].arrival_ms < 900);
    /* then one per second.  The bucket held 3 tokens when the burst
     * began and refills at 1 token/s, so message i (i >= 3) cannot start
     * before (i - 2) s after message 0 did; the slack is message 0's own
     * latency.  Two consecutive messages may come less than a second
     * apart: the bucket refills on the clock, so a message the loop sent
     * late leaves the next one its usual time; only the count since
     * message 0 is bounded. */
    for (size_t i = 3; i < SLACK_ALERTS; i++)
        assert_true(q[i].arrival_ms - q[0].arrival_ms >=
                    (int64_t)(i - 2) * 1000 - 50);
    assert_true(q[SLACK_ALERTS - 1].arrival_ms - q[0].arrival_ms <
                (SLACK_ALERTS - 2) * 1000 + 3000);
    /* the webhook URL is the credential: never logged */
    assert_false(proc_output_contains(run, "s3cr3tSlackPath"));
}

/* --------------------------- 7. PagerDuty ---------------------------- */

static void test_pagerduty_trigger_and_resolve(void **state)
{
    const char *env[] = {PD_ENV "=" PD_KEY, NULL};
    static char frames[4096];
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    struct rcv_request q;
    char surl[128], pd[128], dedup[64];
    cJSON *j;
    const cJSON *p, *cd;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/v2/enqueue", pd, sizeof pd);
    assert_int_equal(rcv_set_default(r, &(struct rcv_action){
                                            .kind = RCV_ANSWER,
                                            .status = 202}),
                     0);
    frames[0] = '\0';
    add_call_frame(frames, sizeof frames, "pd-1", "s3_get_object", "agent-7",
                   4000000);
    assert_non_null(srv = twr_fx_stream(f, frames, surl, sizeof surl));
    /* one oversized payload; no violation for 1 s, held 1 s: resolved */
    WRITE_CONFIG(d.cfg,
                 "{\"instance\": \"itest-pd\", \"state_dir\": \"%s\","
                 " \"stream\": {\"url\": \"%s\"}, \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"pagerduty\", \"url\": \"%s\","
                 " \"routing_key_env\": \"" PD_ENV "\"}],"
                 " \"detectors\": {\"allowed_lateness_s\": 0, \"hold_s\": 1,"
                 " \"payload_size\": {\"window_s\": 1}}}",
                 d.state, surl, pd);
    assert_non_null(run = twr_start_run(f, d.cfg, env, NULL));
    if (!rcv_wait_requests(r, 2, WAIT_MS)) {
        twr_dump_stderr("run", run);
        fail_msg("%zu of 2 PagerDuty events", rcv_count(r));
    }
    assert_true(twr_stop("run", run));
    assert_int_equal(rcv_count(r), 2);

    /* trigger */
    assert_true(rcv_get(r, 0, &q));
    assert_string_equal(q.method, "POST");
    assert_string_equal(q.path, "/v2/enqueue");
    assert_int_equal(q.status, 202);
    j = req_json(&q);
    assert_string_equal(twr_jstr(j, "routing_key"), PD_KEY);
    assert_string_equal(twr_jstr(j, "event_action"), "trigger");
    snprintf(dedup, sizeof dedup, "%s", twr_jstr(j, "dedup_key"));
    assert_int_equal(strlen(dedup), 32);
    p = twr_jobj(j, "payload");
    assert_true(strlen(twr_jstr(p, "summary")) > 0);
    assert_true(strlen(twr_jstr(p, "summary")) <= 1024);
    assert_string_equal(twr_jstr(p, "severity"), "warning");
    assert_string_equal(twr_jstr(p, "source"), "itest-pd");
    assert_string_equal(twr_jstr(p, "component"), "s3_get_object");
    assert_string_equal(twr_jstr(p, "group"), "agent-7");
    assert_string_equal(twr_jstr(p, "class"), "payload_size");
    cd = twr_jobj(p, "custom_details");
    assert_string_equal(twr_jstr(cd, "id"), dedup);
    assert_true(twr_jnum(cd, "value") == 4000000);
    cJSON_Delete(j);

    /* resolve, same dedup_key */
    assert_true(rcv_get(r, 1, &q));
    assert_int_equal(q.status, 202);
    j = req_json(&q);
    assert_string_equal(twr_jstr(j, "routing_key"), PD_KEY);
    assert_string_equal(twr_jstr(j, "event_action"), "resolve");
    assert_string_equal(twr_jstr(j, "dedup_key"), dedup);
    cJSON_Delete(j);

    /* the routing key is a secret: never logged */
    assert_false(proc_output_contains(run, PD_KEY));
}

/* ----------------------- 8. configuration errors --------------------- */

static void test_config_errors_name_the_path(void **state)
{
    static const struct {
        const char *file; /* %s: the state dir */
        const char *want; /* on stderr */
    } cases[] = {
        {"{\"state_dir\": \"%s\", \"stream\": {\"url\": "
         "\"http://127.0.0.1:9/x\"}, \"detectors\": {\"error_rate\": "
         "{\"threshold\": \"20%%\"}}}",
         "detectors.error_rate.threshold: expected a number between 0 and "
         "1, got \"20%\""},
        {"{\"state_dir\": \"%s\", \"stream\": {\"urll\": "
         "\"http://127.0.0.1:9/x\"}}",
         "stream.urll: unknown key"},
        {"{\"state_dir\": \"%s\", \"stream\": {\"url\": "
         "\"http://127.0.0.1:9/x\"}, \"sinks\": [{\"type\": \"stdout\", "
         "\"min_severity\": \"urgent\"}]}",
         "sinks[0].min_severity: expected one of \"info\", \"warning\", "
         "\"error\", \"critical\", got \"urgent\""},
        {"{\"state_dir\": \"%s\", \"stream\": {\"url\": "
         "\"http://127.0.0.1:9/x\"}, \"status\": {\"port\": 0}, "
         "\"sinks\": [{\"type\": \"pagerduty\", \"routing_key_env\": "
         "\"TW_ITEST_UNSET_KEY\"}]}",
         "sinks[0].routing_key_env: the environment variable "
         "TW_ITEST_UNSET_KEY is not set"},
    };
    const char *env[] = {"TW_ITEST_UNSET_KEY", NULL};

    struct twr_fx *f = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[5] = {twr_bin(), "run", "-c", NULL, NULL};
        struct twr_dir d;
        struct proc *p;
        size_t olen;
        int st = -1;

        assert_int_equal(twr_dir_make(f, &d, "run"), 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        WRITE_CONFIG(d.cfg, cases[i].file, d.state);
#pragma GCC diagnostic pop
        argv[3] = d.cfg;
        assert_non_null(p = twr_fx_proc(f, proc_spawn(argv, env)));
        assert_true(proc_wait_exit(p, TWR_EXIT_WAIT_MS, &st));
        assert_true(twr_sanitizers_clean("run", p));
        if (!proc_wait_stderr(p, cases[i].want, 0)) {
            twr_dump_stderr("run", p);
            fail_msg("case %zu: stderr lacks \"%s\"", i, cases[i].want);
        }
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 1);
        proc_stdout_all(p, &olen);
        assert_int_equal(olen, 0);
    }
}

/* The position of "ERROR run: <path>: <msg>\n" in text at or after
 * `from`, or fail. */
static size_t error_line_at(const char *text, size_t from, const char *path,
                            const char *msg)
{
    char needle[1024];
    const char *at;

    snprintf(needle, sizeof needle, "ERROR run: %s: %s\n", path, msg);
    if ((at = strstr(text + from, needle)) == NULL)
        fail_msg("no line \"%s\" after byte %zu of:\n%s", needle, from, text);
    return (size_t)(at - text);
}

#define ERR_HEADER_EMPTY "stream.headers.X-A: expected a non-empty string, got \"\""
#define ERR_HEADER_NAME                                                    \
    "stream.headers.Bad Name: not a valid header name (letters, digits "    \
    "and !#$%&'*+-.^_`|~ only)"
#define ERR_PORT                                                           \
    "status.port: expected an integer between 0 and 65535, got \"x\""

/* A file with three independent mistakes (two inside one value): each
 * logged on its own line, in file order, then the exit line with the
 * first and how many more; exit 1, nothing on stdout. */
static void test_config_every_error_at_start(void **state)
{
    const char *argv[5] = {twr_bin(), "run", "-c", NULL, NULL};
    struct twr_dir d;
    struct proc *p;
    const char *text;
    char last[512];
    size_t olen, elen, at;
    int st = -1;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": "
                 "\"http://127.0.0.1:9/x\", \"headers\": {\"X-A\": \"\","
                 " \"Bad Name\": \"v\"}}, \"status\": {\"port\": \"x\"}}",
                 d.state);
    argv[3] = d.cfg;
    assert_non_null(p = twr_fx_proc(f, proc_spawn(argv, NULL)));
    assert_true(proc_wait_exit(p, TWR_EXIT_WAIT_MS, &st));
    assert_true(twr_sanitizers_clean("run", p));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    proc_stdout_all(p, &olen);
    assert_int_equal(olen, 0);
    text = proc_stderr_all(p, &elen);
    at = error_line_at(text, 0, d.cfg, ERR_HEADER_EMPTY);
    at = error_line_at(text, at + 1, d.cfg, ERR_HEADER_NAME);
    at = error_line_at(text, at + 1, d.cfg, ERR_PORT);
    snprintf(last, sizeof last, "%s (and 2 more)", ERR_HEADER_EMPTY);
    at = error_line_at(text, at + 1, d.cfg, last);
    assert_int_equal(count_in(text, elen, " ERROR "), 4);
}

#define ERR_RETRY "stream.retry_base_ms: expected an integer between 1 and " \
    "3600000, got 0"
#define ERR_ROUTE "sinks[0].rules[1]: expected a rule name or glob " \
    "(letters, digits, -, _, * and ?; 1 to 64 bytes), got \"bad glob\""

/* SIGHUP to a file with two mistakes: both logged, then the refusal with
 * the first and how many more, which /status shows; the service runs
 * on. */
static void test_sighup_logs_every_error(void **state)
{
    static struct hget_body b;
    struct twr_dir d;
    struct proc *run;
    const char *text, *got;
    char want[512];
    unsigned sport;
    size_t mark, len, at;
    cJSON *st;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": "
                 "\"http://127.0.0.1:9/x\"}, \"status\": {\"port\": 0}}",
                 d.state);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &sport));
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": "
                 "\"http://127.0.0.1:9/x\", \"retry_base_ms\": 0},"
                 " \"status\": {\"port\": 0}, \"sinks\": [{\"type\": "
                 "\"stdout\", \"rules\": [\"ok\", \"bad glob\"]}]}",
                 d.state);
    mark = twr_stderr_len(run);
    assert_int_equal(proc_signal(run, SIGHUP), 0);
    assert_true(twr_stderr_after("run", run, mark, "; the running "
                                 "configuration stays", WAIT_MS));
    text = proc_stderr_all(run, &len);
    at = error_line_at(text, mark, d.cfg, ERR_RETRY);
    at = error_line_at(text, at + 1, d.cfg, ERR_ROUTE);
    snprintf(want, sizeof want, "ERROR run: reload refused: %s: %s (and 1 "
             "more); the running configuration stays\n", d.cfg, ERR_RETRY);
    assert_non_null(strstr(text + at, want));

    /* /status: the first and the count; the service still answers */
    if (!twr_wait_http(sport, "/status", 200, "(and 1 more)", WAIT_MS, &b))
        fail_msg("/status never showed the refusal: %s", b.data);
    assert_non_null(st = twr_status(sport));
    got = twr_jstr(twr_jobj(st, "config"), "last_reload_error");
    snprintf(want, sizeof want, "%s: %s (and 1 more)", d.cfg, ERR_RETRY);
    assert_non_null(got);
    assert_string_equal(got, want);
    cJSON_Delete(st);
    assert_int_equal(hget(sport, "/healthz", &b), 200);
    assert_true(twr_stop("run", run));
}

/* ------- 10. a crash between the journal commit and the position file ---- */

#define CRASH_EVENTS 5 /* c-1 c-2 big-3 c-4 c-5; big-3 is the anomaly */

static const char *crash_id(int i)
{
    static const char *const ids[CRASH_EVENTS + 1] = {
        "", "c-1", "c-2", "big-3", "c-4", "c-5"};
    return ids[i];
}

/* SSE frames of events from..to (1-based, inclusive).  Each event has one
 * time, stamped when it is first served (as a real stream sends a record
 * again as it was). */
static void crash_frames(char *out, size_t cap, int from, int to)
{
    static int64_t stamp[CRASH_EVENTS + 1];

    out[0] = '\0';
    for (int i = from; i <= to; i++) {
        if (stamp[i] == 0)
            stamp[i] = clock_wall_ms();
        add_call_frame_at(out, cap, crash_id(i), "s3_get_object", "agent-7",
                          i == 3 ? 2500000 : 1200, stamp[i]);
    }
}

/* Killed after the journal commit that holds an alert, before the position
 * file says its event was read (simulated by putting back the position
 * file of the stop before): the restart resumes from the detection
 * checkpoint's position (the clean stop's, c-2: the stream server sees it
 * as Last-Event-ID, though the journal recorded big-3 with the alert),
 * reads the alert's event again into the same state, makes the alert
 * again -- the journal holds it (its mark), so it is not sent again -- and
 * must not page a second time under a new webhook-id. */
static void test_crash_before_position_write(void **state)
{
    const char *env[] = {SECRET_ENV "=" SECRET, NULL};
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    static char frames[8192];
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    struct rcv_request q;
    char surl[128], hook[128], path[160], lei[128], wid[64];
    char old[256], text[256];
    size_t old_len, n;
    unsigned sport;
    int from = 0;
    FILE *fp;

    struct twr_fx *f = *state;
    assert_int_equal(twr_dir_make(f, &d, "run"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    WRITE_CONFIG(d.cfg, ONE_WEBHOOK_CFG, d.state, surl, hook);
    snprintf(path, sizeof path, "%s/position", d.state);

    /* run 1: two quiet events, a clean stop: position c-2 */
    crash_frames(frames, sizeof frames, 1, 2);
    assert_int_equal(tsrv_add_stream(srv, frames, TSRV_HANG), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &sport));
    wait_last_event_id(sport, "c-2");
    assert_true(twr_stop("run", run));
    read_position(&d, text, sizeof text);
    assert_string_equal(text, "c-2");
    fp = fopen(path, "rb");
    assert_non_null(fp);
    old_len = fread(old, 1, sizeof old, fp);
    fclose(fp);
    assert_true(old_len > 0 && old_len < sizeof old);

    /* run 2: the anomaly and one more event; the alert is delivered */
    crash_frames(frames, sizeof frames, 3, 4);
    assert_int_equal(tsrv_add_stream(srv, frames, TSRV_HANG), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &sport));
    assert_true(tsrv_wait_requests(srv, 2, WAIT_MS));
    assert_true(tsrv_header(srv, 1, "Last-Event-ID", lei, sizeof lei));
    assert_string_equal(lei, "c-2");
    wait_last_event_id(sport, "c-4");
    assert_true(rcv_wait_requests(r, 1, WAIT_MS));
    assert_true(rcv_wait_end(r, 0, WAIT_MS));
    assert_true(rcv_get(r, 0, &q));
    assert_int_equal(q.status, 200);
    snprintf(wid, sizeof wid, "%s", rcv_header(&q, "webhook-id"));
    assert_true(twr_stderr_after("run", run, 0, "alert: firing", WAIT_MS));
    proc_poll(run);
    assert_int_equal(stderr_count(run, "alert: firing"), 1);
    /* the crash: kill -9, and the position file as it was before the
     * alert's event (its write had not happened yet) */
    assert_true(twr_kill9("run", run));
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(old, 1, old_len, fp), old_len);
    assert_int_equal(fclose(fp), 0);

    /* run 3: a server that honours Last-Event-ID, as a real one does */
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &sport));
    assert_true(tsrv_wait_requests(srv, 3, WAIT_MS));
    assert_true(tsrv_header(srv, 2, "Last-Event-ID", lei, sizeof lei));
    for (int i = 1; i <= CRASH_EVENTS; i++) {
        if (strcmp(lei, crash_id(i)) == 0)
            from = i + 1;
    }
    print_message("    restart after the crash: Last-Event-ID %s\n", lei);
    assert_true(from > 0);
    crash_frames(frames, sizeof frames, from, CRASH_EVENTS);
    assert_int_equal(tsrv_push(srv, 2, frames, strlen(frames)), 0);
    wait_last_event_id(sport, "c-5");
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    assert_true(twr_stop("run", run));
    read_position(&d, text, sizeof text);
    assert_string_equal(text, "c-5");

    /* no second notification: the restart made the alert again and did
     * not send it, and every request the receiver saw is the one
     * notification */
    assert_int_equal(stderr_count(run, "alert: "), 1);
    assert_int_equal(stderr_count(run, "in the journal already, not sent "
                                       "again"), 1);
    assert_true(twr_all_signed(r, SECRET));
    n = rcv_count(r);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_true(rcv_get(r, i, &q));
        assert_string_equal(rcv_header(&q, "webhook-id"), wid);
    }
    assert_int_equal(rcv_count_distinct(r, "webhook-id", 200, 299), 1);
    /* because it resumed from the checkpoint's position, the last event
     * of the clean stop; without the checkpoint it would be the journal's
     * (big-3, logged as offered) */
    assert_string_equal(lei, "c-2");
    assert_true(proc_wait_stderr(run, "from the alert journal", 0));
    assert_true(proc_wait_stderr(run, "resumes after event id \"c-2\"", 0));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, twr_setup, twr_teardown)
    const struct CMUnitTest tests[] = {
        T(test_config_errors_name_the_path),
        T(test_config_every_error_at_start),
        T(test_sighup_logs_every_error),
        T(test_scenarios_fire_and_resolve),
        T(test_readyz_follows_stream),
        T(test_sighup_refuses_bad_file),
        T(test_sigterm_persists_position),
        T(test_kill9_keeps_journaled_alerts),
        T(test_sigterm_keeps_in_flight_alert),
        T(test_slack_is_paced),
        T(test_pagerduty_trigger_and_resolve),
        T(test_start_warnings),
        T(test_crash_before_position_write),
    };
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
