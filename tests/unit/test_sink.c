/*
 * test_sink.c - routing and the bodies sent to each kind of receiver.
 */
#include "alerts/sink.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

static const char firing[] =
    "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:48:00.000Z\","
    "\"data\":{\"id\":\"0123456789abcdef0123456789abcdef\","
    "\"rule\":\"error_rate\",\"kind\":\"ratio\",\"group\":{"
    "\"tool_name\":\"postgres_query\"},\"key\":"
    "\"postgres_query\",\"state\":\"firing\",\"severity\":\"error\","
    "\"summary\":\"error rate 35.0% over 60s for tool postgres_query "
    "(threshold 20%, 41 of 117 calls) <@here> & co\",\"value\":0.35,"
    "\"threshold\":0.2,\"window_s\":60,\"started_at\":"
    "\"2026-03-10T02:47:23.123Z\",\"resolved_at\":null,\"sample\":{"
    "\"record_id\":\"r-1\",\"session_id\":\"s-1\",\"agent_id\":\"agent-07\","
    "\"tool_name\":\"postgres_query\",\"event_type\":\"tool_call_error\","
    "\"error_code\":\"E_TIMEOUT\"},\"source\":\"prod-east\"}}";

static const char resolved[] =
    "{\"type\":\"alert.resolved\",\"timestamp\":\"2026-03-10T02:58:00.000Z\","
    "\"data\":{\"id\":\"0123456789abcdef0123456789abcdef\","
    "\"rule\":\"credential_access\",\"kind\":\"count\",\"group\":{"
    "\"agent_id\":\"agent-13\"},\"key\":"
    "\"agent-13\",\"state\":\"resolved\",\"severity\":\"critical\","
    "\"summary\":\"back to normal\",\"value\":3,\"threshold\":50,"
    "\"window_s\":3600,\"started_at\":\"2026-03-10T02:47:23.123Z\","
    "\"resolved_at\":\"2026-03-10T02:58:00.000Z\",\"sample\":{"
    "\"tool_name\":\"vault_read_secret\"},\"source\":\"prod-east\"}}";

static cJSON *render(enum sink_kind k, const char *doc, const char *rk)
{
    buf b;
    cJSON *j;

    buf_init(&b, SINK_BODY_MAX);
    assert_int_equal(sink_render(k, doc, strlen(doc), rk, &b), SINK_OK);
    j = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(j);
    buf_free(&b);
    return j;
}

static const char *path_str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

    if (b != NULL)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void test_webhook_body_is_the_document(void **state)
{
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    assert_int_equal(sink_render(SINK_WEBHOOK, firing, strlen(firing), NULL,
                                 &b),
                     SINK_OK);
    assert_int_equal(b.len, strlen(firing));
    assert_memory_equal(b.data, firing, b.len);
    buf_free(&b);
}

static void test_not_a_document(void **state)
{
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    buf_append_str(&b, "keep");
    assert_int_equal(sink_render(SINK_SLACK, "{}", 2, NULL, &b), SINK_EINVAL);
    assert_int_equal(sink_render(SINK_PAGERDUTY, "not json", 8, "k", &b),
                     SINK_EINVAL);
    assert_int_equal(sink_render(SINK_WEBHOOK, "[1]", 3, NULL, &b),
                     SINK_EINVAL);
    assert_string_equal(b.data, "keep");
    buf_free(&b);
}

static void test_pagerduty_trigger(void **state)
{
    cJSON *j = render(SINK_PAGERDUTY, firing, "R0UT1NGKEY");
    const cJSON *details;

    (void)state;
    assert_string_equal(path_str(j, "routing_key", NULL), "R0UT1NGKEY");
    assert_string_equal(path_str(j, "event_action", NULL), "trigger");
    assert_string_equal(path_str(j, "dedup_key", NULL),
                        "0123456789abcdef0123456789abcdef");
    assert_string_equal(path_str(j, "payload", "severity"), "error");
    assert_string_equal(path_str(j, "payload", "source"), "prod-east");
    assert_string_equal(path_str(j, "payload", "component"),
                        "postgres_query");
    assert_string_equal(path_str(j, "payload", "group"), "agent-07");
    assert_string_equal(path_str(j, "payload", "class"), "error_rate");
    assert_string_equal(path_str(j, "payload", "timestamp"),
                        "2026-03-10T02:48:00.000Z");
    assert_true(strncmp(path_str(j, "payload", "summary"),
                        "error rate 35.0% over 60s", 25) == 0);
    details = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "payload"), "custom_details");
    assert_true(cJSON_IsObject(details));
    assert_string_equal(path_str(details, "rule", NULL), "error_rate");
    assert_string_equal(path_str(details, "sample", "error_code"),
                        "E_TIMEOUT");
    cJSON_Delete(j);
}

static void test_pagerduty_resolve_same_dedup_key(void **state)
{
    cJSON *j = render(SINK_PAGERDUTY, resolved, "R0UT1NGKEY");

    (void)state;
    assert_string_equal(path_str(j, "event_action", NULL), "resolve");
    assert_string_equal(path_str(j, "dedup_key", NULL),
                        "0123456789abcdef0123456789abcdef");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "payload"));
    cJSON_Delete(j);
}

/* A summary of 1023 ASCII bytes then a 2-byte character: the cut falls
 * inside the character, so the summary keeps 1023 bytes. */
static void test_pagerduty_summary_cut_on_utf8_boundary(void **state)
{
    char doc[4096], summary[1200];
    cJSON *j;

    (void)state;
    memset(summary, 'a', 1023);
    memcpy(summary + 1023, "\xc3\xa9tail", 6);
    summary[1029] = '\0';
    snprintf(doc, sizeof doc,
             "{\"type\":\"alert.firing\",\"timestamp\":\"t\",\"data\":{"
             "\"id\":\"x\",\"rule\":\"latency\",\"kind\":\"max\","
             "\"key\":\"k\",\"severity\":\"warning\",\"summary\":\"%s\"}}",
             summary);
    j = render(SINK_PAGERDUTY, doc, "k");
    assert_int_equal(strlen(path_str(j, "payload", "summary")), 1023);
    cJSON_Delete(j);
    /* exactly 1022 + 2-byte char = 1024 bytes fits whole */
    summary[1022] = '\xc3';
    summary[1023] = '\xa9';
    summary[1024] = '\0';
    snprintf(doc, sizeof doc,
             "{\"type\":\"alert.firing\",\"timestamp\":\"t\",\"data\":{"
             "\"id\":\"x\",\"rule\":\"latency\",\"kind\":\"max\","
             "\"key\":\"k\",\"severity\":\"warning\",\"summary\":\"%s\"}}",
             summary);
    j = render(SINK_PAGERDUTY, doc, "k");
    assert_int_equal(strlen(path_str(j, "payload", "summary")), 1024);
    cJSON_Delete(j);
}

static void test_slack_firing(void **state)
{
    cJSON *j = render(SINK_SLACK, firing, NULL);
    const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(j, "blocks");
    const cJSON *hdr, *sec, *fields, *ctx;

    (void)state;
    assert_true(strncmp(path_str(j, "text", NULL),
                        "[FIRING] error error_rate: error rate 35.0%", 42) ==
                0);
    assert_int_equal(cJSON_GetArraySize(blocks), 4);
    hdr = cJSON_GetArrayItem(blocks, 0);
    assert_string_equal(path_str(hdr, "type", NULL), "header");
    assert_string_equal(path_str(hdr, "text", "text"),
                        ":large_orange_circle: Firing: error_rate on tool "
                        "postgres_query");
    sec = cJSON_GetArrayItem(blocks, 1);
    /* mrkdwn control characters are escaped: no mention, no link */
    assert_non_null(strstr(path_str(sec, "text", "text"),
                           "&lt;@here&gt; &amp; co"));
    assert_null(strstr(path_str(sec, "text", "text"), "<@here>"));
    fields = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(blocks, 2),
                                              "fields");
    assert_int_equal(cJSON_GetArraySize(fields), 7);
    assert_string_equal(path_str(cJSON_GetArrayItem(fields, 0), "text", NULL),
                        "*Detector*\nerror_rate");
    assert_string_equal(path_str(cJSON_GetArrayItem(fields, 3), "text", NULL),
                        "*Value*\n0.35 (threshold 0.2)");
    assert_string_equal(path_str(cJSON_GetArrayItem(fields, 6), "text", NULL),
                        "*Sample*\nrecord r-1\nsession s-1\nagent agent-07");
    ctx = cJSON_GetArrayItem(blocks, 3);
    assert_string_equal(path_str(ctx, "type", NULL), "context");
    cJSON_Delete(j);
}

static void test_slack_resolved_styled_apart(void **state)
{
    cJSON *j = render(SINK_SLACK, resolved, NULL);
    const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(j, "blocks");
    const cJSON *fields;

    (void)state;
    assert_true(strncmp(path_str(j, "text", NULL), "[RESOLVED] critical ",
                        20) == 0);
    assert_string_equal(path_str(cJSON_GetArrayItem(blocks, 0), "text",
                                 "text"),
                        ":white_check_mark: Resolved: credential_access on "
                        "agent agent-13");
    fields = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(blocks, 2),
                                              "fields");
    assert_string_equal(path_str(cJSON_GetArrayItem(fields, 6), "text", NULL),
                        "*Resolved*\n2026-03-10T02:58:00.000Z");
    cJSON_Delete(j);
}

/* A huge key and summary still fit Slack's limits: header <= 150 bytes,
 * section <= 3000, each field <= 2000. */
static void test_slack_limits(void **state)
{
    static char doc[40000], big[12000];
    cJSON *j;
    const cJSON *blocks, *fields, *f;

    (void)state;
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = i % 3 == 0 ? '<' : (char)('a' + i % 26);
    big[sizeof big - 1] = '\0';
    snprintf(doc, sizeof doc,
             "{\"type\":\"alert.firing\",\"timestamp\":\"t\",\"data\":{"
             "\"id\":\"x\",\"rule\":\"volume\",\"kind\":\"count\","
             "\"key\":\"%s\",\"severity\":\"warning\",\"summary\":\"%s\"}}",
             big, big);
    j = render(SINK_SLACK, doc, NULL);
    blocks = cJSON_GetObjectItemCaseSensitive(j, "blocks");
    assert_true(strlen(path_str(cJSON_GetArrayItem(blocks, 0), "text",
                                "text")) <= 150);
    assert_true(strlen(path_str(cJSON_GetArrayItem(blocks, 1), "text",
                                "text")) <= 3000);
    assert_true(strlen(path_str(j, "text", NULL)) <= 3000);
    fields = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(blocks, 2),
                                              "fields");
    assert_true(cJSON_GetArraySize(fields) <= 10);
    cJSON_ArrayForEach(f, fields)
    {
        const char *t = path_str(f, "text", NULL);
        assert_true(strlen(t) <= 2000);
        /* an escape is never cut in half */
        const char *amp = strrchr(t, '&');
        if (amp != NULL)
            assert_true(strncmp(amp, "&lt;", 4) == 0);
    }
    cJSON_Delete(j);
}

static void test_routing(void **state)
{
    struct sink_config c;

    (void)state;
    sink_config_defaults(&c, SINK_WEBHOOK);
    assert_true(sink_routes(&c, "volume", "info"));
    c.min_severity = SEVERITY_ERROR;
    assert_false(sink_routes(&c, "volume", "warning"));
    assert_true(sink_routes(&c, "volume", "error"));
    assert_true(sink_routes(&c, "volume", "critical"));
    assert_false(sink_routes(&c, "volume", "bogus"));
    c.detectors[0] = "error_rate";
    c.detectors[1] = "credential_access";
    c.n_detectors = 2;
    assert_false(sink_routes(&c, "volume", "critical"));
    assert_true(sink_routes(&c, "credential_access", "critical"));
    assert_false(sink_routes(&c, "error_rate", "warning"));
}

static void test_defaults_and_names(void **state)
{
    struct sink_config c;

    (void)state;
    sink_config_defaults(&c, SINK_SLACK);
    assert_true(c.rate_per_s == 1.0);
    assert_int_equal(c.burst, 3);
    assert_int_equal(c.timeout_ms, 15000);
    assert_int_equal(c.connect_timeout_ms, 5000);
    assert_int_equal(c.max_age_s, 86400);
    sink_config_defaults(&c, SINK_PAGERDUTY);
    assert_string_equal(c.url, "https://events.pagerduty.com/v2/enqueue");
    assert_true(c.rate_per_s == 0.0);
    for (int k = 0; k < SINK_KIND_COUNT; k++)
        assert_int_equal(sink_kind_parse(sink_kind_name((enum sink_kind)k)),
                         k);
    assert_int_equal(sink_kind_parse("email"), -1);
    assert_int_equal(severity_parse("critical"), SEVERITY_CRITICAL);
    assert_int_equal(severity_parse("fatal"), -1);
}

static void test_utf8_prefix(void **state)
{
    buf b;

    (void)state;
    buf_init(&b, 100);
    assert_int_equal(sink_append_utf8_prefix(&b, "ab\xe2\x82\xac", 4), 2);
    assert_string_equal(b.data, "ab");
    buf_reset(&b);
    assert_int_equal(sink_append_utf8_prefix(&b, "ab\xe2\x82\xac", 5), 5);
    buf_reset(&b);
    assert_int_equal(sink_append_utf8_prefix(&b, "\xf0\x9f\x98\x80", 3), 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_body_is_the_document),
        cmocka_unit_test(test_not_a_document),
        cmocka_unit_test(test_pagerduty_trigger),
        cmocka_unit_test(test_pagerduty_resolve_same_dedup_key),
        cmocka_unit_test(test_pagerduty_summary_cut_on_utf8_boundary),
        cmocka_unit_test(test_slack_firing),
        cmocka_unit_test(test_slack_resolved_styled_apart),
        cmocka_unit_test(test_slack_limits),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_defaults_and_names),
        cmocka_unit_test(test_utf8_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
