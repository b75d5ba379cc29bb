/*
 * test_inhibit.c - integration test of inhibition (SPEC section 5): the
 * real binary (TOOLWATCH_BIN, default build/asan/toolwatch) run against a
 * scripted audit stream (tests/support/sse_server) and a signing webhook
 * receiver (tests/support/receiver), with the config's `inhibit` rule
 * {"source": {"rule": "runaway"}, "target": {"rule": "slow"},
 *  "equal": ["session_id"]}.
 *
 * What: a runaway session's other alerts are not sent (one session's
 * slow tool is inhibited, /status says by which episode, the metric
 * counts it) while another session's slow tool is delivered; when the
 * runaway episode resolves, the inhibited episode, still open, sends its
 * firing then; a SIGHUP reload with "inhibit": [] lets a new one through.
 *
 * Invariants: time is the stream's (allowed_lateness_s 3600; events
 * stamped from 200 s in the past on), so episodes open, repeat and
 * resolve exactly when the events pushed say.  Every wait has a deadline
 * and waits on a condition (the receiver, the child's stderr, /status
 * polled); every child is ended and its stderr checked for sanitizer
 * reports.
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

#include "base/clock.h"
#include "model/alert.h"
#include "tests/support/twrun.h"

#define WAIT_MS 15000

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_ITEST_WEBHOOK_SECRET"

/* state dir, stream URL, webhook URL, the inhibit list.  runaway: a call
 * over 60 s in a session (open 4 s of event time after it); slow: a call
 * over 5 s of tool-* per session and tool (open a minute), repeating
 * every second. */
#define CFG_FMT                                                            \
    "{\"state_dir\": \"%s\","                                              \
    " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 3600},"           \
    " \"status\": {\"port\": 0},"                                          \
    " \"detectors\": {\"allowed_lateness_s\": 3600},"                      \
    " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","                \
    " \"secret_envs\": [\"" SECRET_ENV "\"],"                              \
    " \"retry_base_ms\": 100, \"retry_max_ms\": 300}],"                    \
    " \"rules\": ["                                                        \
    "  {\"name\": \"runaway\", \"kind\": \"max\", \"severity\": \"error\","\
    "   \"field\": \"execution_duration_ms\", \"threshold\": 60000,"       \
    "   \"window_s\": 4, \"hold_s\": 0, \"repeat_interval_s\": 1,"         \
    "   \"match\": {\"tool_name\": \"loop\"},"                             \
    "   \"group_by\": [\"session_id\"]},"                                  \
    "  {\"name\": \"slow\", \"kind\": \"max\", \"severity\": \"warning\"," \
    "   \"field\": \"execution_duration_ms\", \"threshold\": 5000,"        \
    "   \"window_s\": 60, \"repeat_interval_s\": 1,"                       \
    "   \"match\": {\"tool_name\": \"tool-*\"},"                           \
    "   \"group_by\": [\"session_id\", \"tool_name\"]}],"                  \
    " \"inhibit\": %s}"
#define INHIBIT "[{\"source\": {\"rule\": \"runaway\"}," \
                " \"target\": {\"rule\": \"slow\"}, \"equal\": [\"session_id\"]}]"

static const char *const env[] = {SECRET_ENV "=" SECRET, NULL};

/* A call of `tool` in `session` that took dur_ms, SSE id `id`, stamped
 * ts_ms. */
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

/* Notifications of `rule` for `key` of `type` received (NULL: any). */
static size_t count_notes(struct rcv *r, const char *rule, const char *key,
                          const char *type, char id[ALERT_ID_HEX + 1])
{
    size_t n = 0, total = rcv_count(r);

    for (size_t i = 0; i < total; i++) {
        struct rcv_request q;
        cJSON *j;
        const cJSON *d;

        if (!rcv_get(r, i, &q) || q.body == NULL)
            continue;
        j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
        d = twr_jobj(j, "data");
        if (twr_streq(twr_jstr(d, "rule"), rule) &&
            twr_streq(twr_jstr(d, "key"), key) &&
            (type == NULL || twr_streq(twr_jstr(j, "type"), type))) {
            n++;
            if (id != NULL)
                snprintf(id, ALERT_ID_HEX + 1, "%s", twr_jstr(d, "id"));
        }
        cJSON_Delete(j);
    }
    return n;
}

static void wait_notes(struct rcv *r, const char *rule, const char *key,
                       const char *type, size_t want, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    while (count_notes(r, rule, key, type, NULL) < want) {
        int64_t left = end - clock_mono_ms();

        if (left <= 0) {
            proc_poll(run);
            twr_dump_stderr("run", run);
            fail_msg("%zu of %zu %s notifications of %s %s",
                     count_notes(r, rule, key, type, NULL), want,
                     type ? type : "any", rule, key);
        }
        rcv_wait_requests(r, rcv_count(r) + 1, (int)(left < 500 ? left : 500));
    }
}

/* Poll /status until the episode for key has inhibited_by == want (NULL:
 * null). */
static void wait_inhibited_by(unsigned port, const char *key,
                              const char *want, struct proc *run)
{
    static struct hget_body b;
    int64_t end = clock_mono_ms() + WAIT_MS;
    char last[64] = "(not listed)";

    for (;;) {
        cJSON *doc = NULL;
        const cJSON *e;
        bool ok = false;

        if (hget(port, "/status", &b) == 200)
            doc = cJSON_ParseWithLength(b.data, b.len);
        cJSON_ArrayForEach(e, twr_jobj(doc, "firing")) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(e,
                                                              "inhibited_by");

            if (!twr_streq(twr_jstr(e, "key"), key))
                continue;
            snprintf(last, sizeof last, "%s",
                     cJSON_IsString(v) ? v->valuestring : "null");
            ok = want == NULL ? cJSON_IsNull(v)
                              : cJSON_IsString(v) &&
                                    strcmp(v->valuestring, want) == 0;
        }
        cJSON_Delete(doc);
        if (ok)
            return;
        if (clock_mono_ms() > end) {
            proc_poll(run);
            twr_dump_stderr("run", run);
            fail_msg("/status %s inhibited_by is %s, want %s", key, last,
                     want ? want : "null");
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* /metrics' toolwatch_notifications_inhibited_total. */
static long long inhibited_total(unsigned port)
{
    static struct hget_body b;
    const char *p;
    long long v = -1;

    assert_int_equal(hget(port, "/metrics", &b), 200);
    p = strstr(b.data, "\ntoolwatch_notifications_inhibited_total ");
    if (p != NULL)
        v = strtoll(p + strlen("\ntoolwatch_notifications_inhibited_total "),
                    NULL, 10);
    return v;
}

static void test_inhibit_equal_session(void **state)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    unsigned port = 0;
    char surl[128], hook[128], src[ALERT_ID_HEX + 1] = "";
    char needle[160];
    const int64_t t = clock_wall_ms() - 200000;
    size_t from;

    assert_int_equal(twr_dir_make(f, &d, "inhibit"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    for (int i = 0; i < 2; i++)
        assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_int_equal(twr_write_config(d.cfg, CFG_FMT, d.state, surl, hook,
                                      INHIBIT), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &port));
    assert_true(tsrv_wait_requests(srv, 1, WAIT_MS));

    /* session s1 runs away */
    push_call(srv, "1", "loop", "s1", t, 70000);
    wait_notes(r, "runaway", "s1", "alert.firing", 1, run);
    assert_int_equal(count_notes(r, "runaway", "s1", "alert.firing", src),
                     1);
    /* slow tools in s1 (inhibited) and s2 (delivered), repeating */
    push_call(srv, "2", "tool-a", "s1", t + 100, 9000);
    push_call(srv, "3", "tool-b", "s2", t + 200, 9000);
    push_call(srv, "4", "tick", "s3", t + 1300, 10);
    push_call(srv, "5", "tick", "s3", t + 2300, 10);
    wait_notes(r, "slow", "s2/tool-b", "alert.firing", 3, run);
    snprintf(needle, sizeof needle, "firing slow s1/tool-a not sent: "
             "inhibited by episode %s", src);
    assert_true(twr_stderr_after("run", run, 0, needle, WAIT_MS));
    assert_int_equal(count_notes(r, "slow", "s1/tool-a", NULL, NULL), 0);
    wait_inhibited_by(port, "s1/tool-a", src, run);
    wait_inhibited_by(port, "s2/tool-b", NULL, run);
    wait_inhibited_by(port, "s1", NULL, run);
    /* the firing and two repeats of s1/tool-a at least (the metrics are
     * published about once a second: polled) */
    {
        int64_t end = clock_mono_ms() + WAIT_MS;

        while (inhibited_total(port) < 3) {
            if (clock_mono_ms() >= end)
                fail_msg("toolwatch_notifications_inhibited_total stayed "
                         "at %lld", inhibited_total(port));
            twr_pause_ms(TWR_POLL_MS);
        }
    }

    /* the runaway episode resolves (4 s of quiet): s1/tool-a, still open,
     * sends its firing then */
    push_call(srv, "6", "tick", "s3", t + 6000, 10);
    wait_notes(r, "runaway", "s1", "alert.resolved", 1, run);
    wait_notes(r, "slow", "s1/tool-a", "alert.firing", 1, run);
    wait_inhibited_by(port, "s1/tool-a", NULL, run);
    assert_true(twr_all_signed(r, SECRET));

    /* a reload with "inhibit": []: a new runaway inhibits nothing */
    assert_int_equal(twr_write_config(d.cfg, CFG_FMT, d.state, surl, hook,
                                      "[]"), 0);
    from = twr_stderr_len(run);
    assert_int_equal(kill(proc_pid(run), SIGHUP), 0);
    assert_true(twr_stderr_after("run", run, from, "configuration reloaded "
                                 "from", WAIT_MS));
    push_call(srv, "7", "loop", "s4", t + 7000, 70000);
    wait_notes(r, "runaway", "s4", "alert.firing", 1, run);
    push_call(srv, "8", "tool-c", "s4", t + 7100, 9000);
    wait_notes(r, "slow", "s4/tool-c", "alert.firing", 1, run);
    assert_int_equal(count_notes(r, "slow", "s4/tool-c", "alert.firing",
                                 NULL), 1);
    assert_true(twr_stop("run", run));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inhibit_equal_session,
                                        twr_setup, twr_teardown),
    };

    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
