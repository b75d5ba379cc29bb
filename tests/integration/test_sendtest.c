/*
 * test_sendtest.c - `toolwatch send-test SINK -c FILE` against a real
 * receiver on 127.0.0.1: the test alert (rule toolwatch_test, kind null)
 * arrives signed, or as a Slack message or PagerDuty event, the
 * receiver's answer is printed, and the exit status follows it.  To a
 * fake PagerDuty Events API the exact pair: a trigger, then the resolve
 * of the same dedup_key (also after a 404 or no answer), at the sink's
 * min_severity.  The sink's routing is honoured: a test alert it would
 * not get is not sent (unless --force), and --rule makes it as a rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alerts/sign.h"
#include "base/clock.h"

#include <cjson/cJSON.h>
#include "tests/support/proc.h"
#include "tests/support/receiver.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define PD_KEY "R0UT1NGKEY-sendtest"
#define WAIT_MS 10000

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

struct fx {
    struct rcv *r;
    char dir[64];
    char cfg[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char url[128], pd[128];
    FILE *fp;

    snprintf(f->dir, sizeof f->dir, "/tmp/tw-sendtest-XXXXXX");
    if (mkdtemp(f->dir) == NULL || (f->r = rcv_start()) == NULL)
        return -1;
    rcv_url(f->r, "/hook", url, sizeof url);
    rcv_url(f->r, "/v2/enqueue", pd, sizeof pd);
    snprintf(f->cfg, sizeof f->cfg, "%s/c.json", f->dir);
    fp = fopen(f->cfg, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp,
            "{\"instance\": \"itest\", \"state_dir\": \"%s\",\n"
            " \"sinks\": [{\"name\": \"hook\", \"type\": \"webhook\","
            " \"url\": \"%s\", \"secret_envs\": [\"ST_SECRET\"]},\n"
            "  {\"name\": \"log\", \"type\": \"file\", \"path\": "
            "\"%s/alerts.ndjson\"},\n"
            "  {\"name\": \"chat\", \"type\": \"slack\", \"url_env\": "
            "\"ST_SLACK_URL\", \"rules\": [\"nothing_*\"]},\n"
            "  {\"name\": \"pd\", \"type\": \"pagerduty\", \"url\": \"%s\","
            " \"routing_key_env\": \"ST_PD_KEY\"},\n"
            "  {\"name\": \"pd-err\", \"type\": \"pagerduty\", \"url\": "
            "\"%s\", \"routing_key_env\": \"ST_PD_KEY\", \"min_severity\":"
            " \"error\"},\n"
            "  {\"name\": \"sec\", \"type\": \"webhook\", \"url\": \"%s\","
            " \"secret_envs\": [\"ST_SECRET\"], \"rules\": [\"secret_*\","
            " \"vault_*\"], \"labels\": {\"team\": \"sec*\"}},\n"
            "  {\"name\": \"infra\", \"type\": \"webhook\", \"url\": \"%s\","
            " \"secret_envs\": [\"ST_SECRET\"], \"labels\": {\"team\":"
            " \"infra\"}}],\n"
            " \"rules\": [{\"name\": \"secret_egress\", \"kind\": "
            "\"sequence\", \"severity\": \"critical\", \"steps\": "
            "[{\"tool_name\": \"vault_*\"}, {\"tool_name\": \"http_post\"}],"
            " \"group_by\": [\"session_id\"], \"within_s\": 60, \"labels\": "
            "{\"team\": \"security\"}, \"description\": \"a secret read "
            "followed by an outbound HTTP call\", \"runbook_url\": "
            "\"https://runbooks.example.com/secret-egress\"},\n"
            "  {\"name\": \"runaway_session\", \"kind\": \"count\", "
            "\"severity\": \"warning\", \"window_s\": 60, \"threshold\": "
            "30}]}\n",
            f->dir, url, f->dir, pd, pd, url, url);
    fclose(fp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    rcv_stop(f->r);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* send-test SINK -c FILE, then up to 3 more arguments (NULL-ended). */
static int run_sendtest_with(struct fx *f, const char *sink,
                             const char *const *more, struct proc **out)
{
    const char *argv[9] = {tw_bin(), "send-test", sink, "-c", f->cfg};
    char slack[192];
    const char *env[] = {"ST_SECRET=" SECRET, slack, "ST_PD_KEY=" PD_KEY,
                         NULL};
    int status = -1;

    for (size_t i = 0; more != NULL && more[i] != NULL && i < 3; i++)
        argv[5 + i] = more[i];
    snprintf(slack, sizeof slack, "ST_SLACK_URL=");
    rcv_url(f->r, "/slack/T0/B0/s3cr3t", slack + strlen(slack),
            sizeof slack - strlen(slack));

    *out = proc_spawn(argv, env);
    assert_non_null(*out);
    assert_true(proc_wait_exit(*out, WAIT_MS, &status));
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int run_sendtest(struct fx *f, const char *sink, struct proc **out)
{
    return run_sendtest_with(f, sink, NULL, out);
}

static void test_signed_test_alert_arrives(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    struct rcv_request q;
    const char *secret = SECRET;
    sign_keys *k;
    int err;
    size_t bad, len;
    int64_t ts;

    rcv_add_status(f->r, 200, NULL, "thanks");
    assert_int_equal(run_sendtest(f, "hook", &p), 0);
    assert_int_equal(rcv_count(f->r), 1);
    assert_true(rcv_get(f->r, 0, &q));
    assert_non_null(strstr((const char *)q.body,
                           "\"rule\":\"toolwatch_test\",\"kind\":null"));
    assert_non_null(strstr((const char *)q.body, "TEST ALERT"));
    assert_int_equal(sign_parse_timestamp(rcv_header(&q, "webhook-timestamp"),
                                          &ts),
                     SIGN_OK);
    k = sign_keys_create(&secret, 1, &err, &bad);
    assert_int_equal(sign_verify(k, rcv_header(&q, "webhook-id"), ts, q.body,
                                 q.body_len,
                                 rcv_header(&q, "webhook-signature"),
                                 clock_wall_ms() / 1000, 60),
                     SIGN_OK);
    sign_keys_destroy(k);
    const char *out = proc_stdout_all(p, &len);
    assert_non_null(strstr(out, "sink hook (webhook): HTTP 200 (delivered)"));
    assert_non_null(strstr(out, rcv_header(&q, "webhook-id")));
    assert_non_null(strstr(out, "response: thanks"));
    assert_false(proc_output_contains(p, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    proc_destroy(p);
}

static void test_refused_exits_1_with_answer(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    size_t len;

    rcv_add_status(f->r, 400, NULL, "{\"error\":\"invalid payload\"}");
    assert_int_equal(run_sendtest(f, "hook", &p), 1);
    const char *out = proc_stdout_all(p, &len);
    assert_non_null(strstr(out, "rejected: HTTP 400 (the receiver refuses "
                                "it; the service would not retry it but "
                                "dead-letter it)"));
    assert_null(strstr(out, "(dead_lettered)"));
    assert_non_null(strstr(out, "response: {\"error\":\"invalid payload\"}"));
    proc_destroy(p);
}

static void test_unreachable_exits_1(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    size_t len;

    assert_int_equal(rcv_set_down(f->r, true), 0);
    assert_int_equal(run_sendtest(f, "hook", &p), 1);
    assert_non_null(strstr(proc_stdout_all(p, &len), "no answer: "));
    proc_destroy(p);
}

static void test_unknown_sink_and_file_sink(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    char path[128], line[4096];
    size_t len;
    FILE *fp;

    assert_int_equal(run_sendtest(f, "nope", &p), 1);
    assert_non_null(strstr(proc_stderr_all(p, &len),
                           "no sink named \"nope\""));
    proc_destroy(p);
    assert_int_equal(run_sendtest(f, "log", &p), 0);
    proc_destroy(p);
    snprintf(path, sizeof path, "%s/alerts.ndjson", f->dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_true(strncmp(line, "{\"type\":\"alert.firing\"", 22) == 0);
    assert_non_null(strstr(line, "\"rule\":\"toolwatch_test\""));
    fclose(fp);
}

/* The test alert as the receivers see it: a Slack message (sent with
 * --force, though the sink's rules would not route it, and saying so)
 * and a PagerDuty trigger; neither secret reaches the output. */
static void test_slack_and_pagerduty(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    struct rcv_request q;
    cJSON *j;
    const cJSON *blocks, *payload;
    const char *const force[] = {"--force", NULL};
    size_t len;

    assert_int_equal(run_sendtest_with(f, "chat", force, &p), 0);
    assert_false(proc_output_contains(p, "s3cr3t"));
    assert_non_null(strstr(proc_stdout_all(p, &len),
                           "sink chat would not receive this alert: rule "
                           "toolwatch_test is not in its rules [nothing_*]; "
                           "sending it anyway (--force)\n"));
    proc_destroy(p);
    assert_true(rcv_get(f->r, 0, &q));
    assert_string_equal(q.path, "/slack/T0/B0/s3cr3t");
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    assert_non_null(j);
    assert_true(strncmp(cJSON_GetObjectItem(j, "text")->valuestring,
                        "[FIRING] info toolwatch_test: TEST ALERT", 40) == 0);
    blocks = cJSON_GetObjectItem(j, "blocks");
    assert_string_equal(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 0), "text"),
            "text")
            ->valuestring,
        ":large_blue_circle: Firing: toolwatch_test");
    assert_non_null(strstr(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 2), "text"),
            "text")
            ->valuestring,
        "send-test"));
    cJSON_Delete(j);

    assert_int_equal(run_sendtest(f, "pd", &p), 0);
    assert_false(proc_output_contains(p, PD_KEY));
    proc_destroy(p);
    assert_int_equal(rcv_count(f->r), 3); /* the trigger and its resolve */
    assert_true(rcv_get(f->r, 1, &q));
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "routing_key")->valuestring,
                        PD_KEY);
    assert_string_equal(cJSON_GetObjectItem(j, "event_action")->valuestring,
                        "trigger");
    payload = cJSON_GetObjectItem(j, "payload");
    assert_string_equal(cJSON_GetObjectItem(payload, "class")->valuestring,
                        "toolwatch_test");
    assert_string_equal(cJSON_GetObjectItem(payload, "severity")->valuestring,
                        "info");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(
        cJSON_GetObjectItem(payload, "custom_details"), "kind")));
    cJSON_Delete(j);
}

/* The dedup_key of PagerDuty event `idx`, checking its action and
 * routing key; NULL-free: fails the test otherwise. */
static void pd_event(struct fx *f, size_t idx, const char *action,
                     char *key, size_t size, cJSON **out)
{
    struct rcv_request q;
    cJSON *j;
    const cJSON *k;

    assert_true(rcv_get(f->r, idx, &q));
    assert_string_equal(q.path, "/v2/enqueue");
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "routing_key")->valuestring,
                        PD_KEY);
    assert_string_equal(cJSON_GetObjectItem(j, "event_action")->valuestring,
                        action);
    k = cJSON_GetObjectItem(j, "dedup_key");
    assert_true(cJSON_IsString(k) && strlen(k->valuestring) == 32);
    snprintf(key, size, "%s", k->valuestring);
    *out = j;
}

/* A fake Events API v2 that accepts both: exactly two events, the trigger
 * and then the resolve of the same dedup_key (the resolve byte for byte),
 * and the output says the incident was resolved. */
static void test_pagerduty_trigger_then_resolve(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    struct rcv_request q;
    char k1[64], k2[64], want[256], line[256];
    cJSON *j;
    size_t len;

    rcv_add_status(f->r, 202, NULL, "{\"status\":\"success\"}");
    rcv_add_status(f->r, 202, NULL, "{\"status\":\"success\"}");
    assert_int_equal(run_sendtest(f, "pd", &p), 0);
    assert_int_equal(rcv_count(f->r), 2);
    pd_event(f, 0, "trigger", k1, sizeof k1, &j);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "payload"), "severity")
            ->valuestring,
        "info");
    cJSON_Delete(j);
    pd_event(f, 1, "resolve", k2, sizeof k2, &j);
    cJSON_Delete(j);
    assert_string_equal(k1, k2);
    assert_true(rcv_get(f->r, 1, &q));
    snprintf(want, sizeof want,
             "{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"resolve\","
             "\"dedup_key\":\"%s\"}", k1);
    assert_int_equal(q.body_len, strlen(want));
    assert_memory_equal(q.body, want, strlen(want));
    const char *out = proc_stdout_all(p, &len);
    assert_non_null(strstr(out, "sink pd (pagerduty): trigger: HTTP 202 "
                                "(delivered)"));
    assert_non_null(strstr(out, "sink pd (pagerduty): resolve: HTTP 202 "
                                "(delivered)"));
    snprintf(line, sizeof line, "dedup_key %s: the test incident was "
             "opened and resolved", k1);
    assert_non_null(strstr(out, line));
    assert_false(proc_output_contains(p, PD_KEY));
    proc_destroy(p);
}

/* A 404 on the trigger: "rejected", exit 1, and the resolve still goes
 * (nothing may stay open); a sink with min_severity error gets the test
 * alert at error, and says so. */
static void test_pagerduty_404_and_min_severity(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    char k1[64], k2[64];
    cJSON *j;
    size_t len;

    rcv_add_status(f->r, 404, NULL, "{\"message\":\"Not Found\"}");
    rcv_add_status(f->r, 202, NULL, "{\"status\":\"success\"}");
    assert_int_equal(run_sendtest(f, "pd", &p), 1);
    const char *out = proc_stdout_all(p, &len);
    assert_non_null(strstr(out, "sink pd (pagerduty): trigger: rejected: "
                                "HTTP 404 (the receiver refuses it"));
    assert_non_null(strstr(out, "response: {\"message\":\"Not Found\"}"));
    assert_null(strstr(out, "dead_lettered)"));
    assert_non_null(strstr(out, "resolve: HTTP 202 (delivered)"));
    proc_destroy(p);
    assert_int_equal(rcv_count(f->r), 2);
    pd_event(f, 0, "trigger", k1, sizeof k1, &j);
    cJSON_Delete(j);
    pd_event(f, 1, "resolve", k2, sizeof k2, &j);
    cJSON_Delete(j);
    assert_string_equal(k1, k2);

    rcv_add_status(f->r, 202, NULL, "{}");
    rcv_add_status(f->r, 202, NULL, "{}");
    assert_int_equal(run_sendtest(f, "pd-err", &p), 0);
    assert_non_null(strstr(proc_stdout_all(p, &len),
                           "sink pd-err takes error and above: the test "
                           "alert is error"));
    proc_destroy(p);
    assert_int_equal(rcv_count(f->r), 4);
    pd_event(f, 2, "trigger", k1, sizeof k1, &j);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "payload"), "severity")
            ->valuestring,
        "error");
    cJSON_Delete(j);
    pd_event(f, 3, "resolve", k2, sizeof k2, &j);
    cJSON_Delete(j);
    assert_string_equal(k1, k2);
}

/* No answer to the trigger: the resolve is sent all the same. */
static void test_pagerduty_no_answer_still_resolves(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    size_t len;

    assert_int_equal(rcv_set_down(f->r, true), 0);
    assert_int_equal(run_sendtest(f, "pd", &p), 1);
    const char *out = proc_stdout_all(p, &len);
    assert_non_null(strstr(out, "trigger: no answer: "));
    assert_non_null(strstr(out, "resolve: no answer: "));
    assert_non_null(strstr(out, "resolve it by hand"));
    proc_destroy(p);
}

/* The sink's routing decides, as in the service: a test alert the sink
 * would not get is not sent, and stderr says which part refuses it (the
 * rule globs, the labels, min_severity), exit 1; --rule NAME makes it as
 * that rule (kind, severity, labels, description, runbook_url), and a
 * rule the sink takes goes out. */
static void test_routing_is_honoured(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    struct rcv_request q;
    cJSON *j;
    const cJSON *d;
    const char *const as_secret[] = {"--rule", "secret_egress", NULL};
    const char *const as_runaway[] = {"-r", "runaway_session", NULL};
    const char *const as_nope[] = {"--rule", "nope", NULL};
    size_t len;

    rcv_add_status(f->r, 200, NULL, "ok");
    assert_int_equal(run_sendtest(f, "sec", &p), 1);
    assert_string_equal(proc_stderr_all(p, &len),
                        "toolwatch send-test: sink sec would not receive "
                        "this alert: rule toolwatch_test is not in its "
                        "rules [secret_*, vault_*]; label team=sec* "
                        "missing\ntoolwatch send-test: nothing sent; --rule "
                        "NAME tests as a rule the sink takes, --force sends "
                        "it anyway\n");
    proc_destroy(p);
    assert_int_equal(run_sendtest_with(f, "sec", as_runaway, &p), 1);
    assert_non_null(strstr(proc_stderr_all(p, &len),
                           "sink sec would not receive this alert: rule "
                           "runaway_session is not in its rules [secret_*, "
                           "vault_*]; label team=sec* missing\n"));
    proc_destroy(p);
    assert_int_equal(run_sendtest_with(f, "infra", as_secret, &p), 1);
    assert_non_null(strstr(proc_stderr_all(p, &len),
                           "sink infra would not receive this alert: label "
                           "team=infra missing (rule secret_egress has "
                           "team=security)\n"));
    proc_destroy(p);
    assert_int_equal(run_sendtest_with(f, "pd-err", as_runaway, &p), 1);
    assert_non_null(strstr(proc_stderr_all(p, &len),
                           "sink pd-err would not receive this alert: "
                           "severity warning is below its min_severity "
                           "error\n"));
    proc_destroy(p);
    assert_int_equal(run_sendtest_with(f, "hook", as_nope, &p), 1);
    assert_non_null(strstr(proc_stderr_all(p, &len),
                           "no rule named \"nope\""));
    proc_destroy(p);
    assert_int_equal(rcv_count(f->r), 0); /* none of them sent */

    assert_int_equal(run_sendtest_with(f, "sec", as_secret, &p), 0);
    assert_null(strstr(proc_stdout_all(p, &len), "would not receive"));
    assert_non_null(strstr(proc_stdout_all(p, &len),
                           "sink sec (webhook): HTTP 200 (delivered)"));
    proc_destroy(p);
    assert_int_equal(rcv_count(f->r), 1);
    assert_true(rcv_get(f->r, 0, &q));
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    assert_non_null(j);
    d = cJSON_GetObjectItem(j, "data");
    assert_string_equal(cJSON_GetObjectItem(d, "rule")->valuestring,
                        "secret_egress");
    assert_string_equal(cJSON_GetObjectItem(d, "kind")->valuestring,
                        "sequence");
    assert_string_equal(cJSON_GetObjectItem(d, "severity")->valuestring,
                        "critical");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(d, "labels"), "team")
            ->valuestring,
        "security");
    assert_string_equal(cJSON_GetObjectItem(d, "description")->valuestring,
                        "a secret read followed by an outbound HTTP call");
    assert_string_equal(cJSON_GetObjectItem(d, "runbook_url")->valuestring,
                        "https://runbooks.example.com/secret-egress");
    assert_non_null(strstr(cJSON_GetObjectItem(d, "summary")->valuestring,
                           "TEST ALERT from toolwatch send-test through sink "
                           "sec as rule secret_egress"));
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_test_alert_arrives,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_exits_1_with_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_exits_1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_sink_and_file_sink,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slack_and_pagerduty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pagerduty_trigger_then_resolve,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pagerduty_404_and_min_severity,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_pagerduty_no_answer_still_resolves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routing_is_honoured, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
