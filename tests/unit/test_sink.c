/*
 * test_sink.c - routing (rule globs, labels, severity) and the bodies sent
 * to each kind of receiver, for the current alert document and for one
 * journaled by an older version (detector, group_by).
 */
#include "alerts/sink.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

/* A sequence rule's firing, with labels, a description and a runbook, and
 * stream text that mrkdwn must not read as markup. */
static const char sequence[] =
    "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:48:00.000Z\","
    "\"data\":{\"id\":\"0123456789abcdef0123456789abcdef\","
    "\"rule\":\"secret_then_upload\",\"kind\":\"sequence\","
    "\"group\":{\"session_id\":\"s-42\",\"agent_id\":\"agent-07\"},"
    "\"key\":\"s-42/agent-07\",\"state\":\"firing\","
    "\"severity\":\"critical\",\"summary\":\"sequence of 2 steps completed "
    "in 12 s for session s-42 <@here> & co\",\"value\":12,"
    "\"threshold\":60,\"window_s\":60,"
    "\"started_at\":\"2026-03-10T02:47:48.000Z\",\"resolved_at\":null,"
    "\"labels\":{\"team\":\"secops\",\"env\":\"prod\"},"
    "\"description\":\"A secret read then an upload <b>elsewhere</b> & "
    "gone\",\"runbook_url\":\"https://runbooks.example/seq?a=1&b=<2>|x\","
    "\"sample\":{\"record_id\":\"r-9\",\"session_id\":\"s-42\","
    "\"agent_id\":\"agent-07\",\"tool_name\":\"http_post\","
    "\"event_type\":\"tool_call_response\",\"error_code\":null},"
    "\"source\":\"prod-east\"}}";

static const char sequence_slack[] =
    "{\"text\":\"[FIRING] critical secret_then_upload: sequence of 2 "
    "steps completed in 12 s for session s-42 &lt;@here&gt; &amp; co\","
    "\"blocks\":[{\"type\":\"header\","
    "\"text\":{\"type\":\"plain_text\",\"text\":\":red_circle: Firing: "
    "secret_then_upload on session_id: s-42, agent_id: agent-07\","
    "\"emoji\":true}},{\"type\":\"section\","
    "\"text\":{\"type\":\"mrkdwn\",\"text\":\"sequence of 2 steps "
    "completed in 12 s for session s-42 &lt;@here&gt; &amp; co\"}},"
    "{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"A "
    "secret read then an upload &lt;b&gt;elsewhere&lt;/b&gt; &amp; "
    "gone\"}},{\"type\":\"section\",\"fields\":[{\"type\":\"mrkdwn\","
    "\"text\":\"*Rule*\\nsecret_then_upload (sequence)\"},"
    "{\"type\":\"mrkdwn\",\"text\":\"*Group*\\nsession_id: "
    "s-42\\nagent_id: agent-07\"},{\"type\":\"mrkdwn\","
    "\"text\":\"*Severity*\\ncritical\"},{\"type\":\"mrkdwn\","
    "\"text\":\"*Value*\\n12 (threshold 60)\"},{\"type\":\"mrkdwn\","
    "\"text\":\"*Window*\\n60 s\"},{\"type\":\"mrkdwn\","
    "\"text\":\"*Started*\\n2026-03-10T02:47:48.000Z\"},"
    "{\"type\":\"mrkdwn\",\"text\":\"*Labels*\\nteam: secops\\nenv: "
    "prod\"},{\"type\":\"mrkdwn\",\"text\":\"*Sample*\\nrecord "
    "r-9\\nsession s-42\\nagent agent-07\"}]},{\"type\":\"context\","
    "\"elements\":[{\"type\":\"mrkdwn\","
    "\"text\":\"<https://runbooks.example/seq?a=1&amp;b=&lt;2&gt;%7Cx|R"
    "unbook>\"},{\"type\":\"mrkdwn\",\"text\":\"episode "
    "0123456789abcdef0123456789abcdef \xc2\xb7" " source prod-east\"}]}]}";

static const char sequence_pagerduty[] =
    "{\"routing_key\":\"RK\",\"event_action\":\"trigger\","
    "\"dedup_key\":\"0123456789abcdef0123456789abcdef\","
    "\"client\":\"toolwatch\",\"payload\":{\"summary\":\"sequence of 2 "
    "steps completed in 12 s for session s-42 <@here> & co\","
    "\"source\":\"prod-east\",\"severity\":\"critical\","
    "\"timestamp\":\"2026-03-10T02:48:00.000Z\","
    "\"component\":\"http_post\",\"group\":\"agent-07\","
    "\"class\":\"secret_then_upload\","
    "\"custom_details\":{\"id\":\"0123456789abcdef0123456789abcdef\","
    "\"rule\":\"secret_then_upload\",\"kind\":\"sequence\","
    "\"group\":{\"session_id\":\"s-42\",\"agent_id\":\"agent-07\"},"
    "\"key\":\"s-42/agent-07\",\"state\":\"firing\","
    "\"severity\":\"critical\",\"value\":12,\"threshold\":60,"
    "\"window_s\":60,\"started_at\":\"2026-03-10T02:47:48.000Z\","
    "\"labels\":{\"team\":\"secops\",\"env\":\"prod\"},"
    "\"description\":\"A secret read then an upload <b>elsewhere</b> & "
    "gone\","
    "\"runbook_url\":\"https://runbooks.example/seq?a=1&b=<2>|x\","
    "\"sample\":{\"record_id\":\"r-9\",\"session_id\":\"s-42\","
    "\"agent_id\":\"agent-07\",\"tool_name\":\"http_post\","
    "\"event_type\":\"tool_call_response\",\"error_code\":null}}},"
    "\"links\":[{\"href\":\"https://runbooks.example/seq?a=1&b=<2>|x\","
    "\"text\":\"Runbook\"}]}";

/* Its resolve: the same episode, styled apart on Slack. */
static const char sequence_resolved[] =
    "{\"type\":\"alert.resolved\",\"timestamp\":\"2026-03-10T02:58:00.000Z\","
    "\"data\":{\"id\":\"0123456789abcdef0123456789abcdef\","
    "\"rule\":\"secret_then_upload\",\"kind\":\"sequence\","
    "\"group\":{\"session_id\":\"s-42\",\"agent_id\":\"agent-07\"},"
    "\"key\":\"s-42/agent-07\",\"state\":\"resolved\","
    "\"severity\":\"critical\",\"summary\":\"no new sequence for 60 s\","
    "\"value\":null,\"threshold\":60,\"window_s\":60,"
    "\"started_at\":\"2026-03-10T02:47:48.000Z\","
    "\"resolved_at\":\"2026-03-10T02:58:00.000Z\","
    "\"labels\":{\"team\":\"secops\"},\"description\":null,"
    "\"runbook_url\":null,\"sample\":{},\"source\":\"prod-east\"}}";

static const char sequence_resolved_slack[] =
    "{\"text\":\"[RESOLVED] critical secret_then_upload: no new sequence "
    "for 60 s\",\"blocks\":[{\"type\":\"header\",\"text\":{"
    "\"type\":\"plain_text\",\"text\":\":white_check_mark: Resolved: "
    "secret_then_upload on session_id: s-42, agent_id: agent-07\","
    "\"emoji\":true}},{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\","
    "\"text\":\"no new sequence for 60 s\"}},{\"type\":\"section\","
    "\"fields\":[{\"type\":\"mrkdwn\",\"text\":\"*Rule*\\n"
    "secret_then_upload (sequence)\"},{\"type\":\"mrkdwn\",\"text\":"
    "\"*Group*\\nsession_id: s-42\\nagent_id: agent-07\"},"
    "{\"type\":\"mrkdwn\",\"text\":\"*Severity*\\ncritical\"},"
    "{\"type\":\"mrkdwn\",\"text\":\"*Window*\\n60 s\"},"
    "{\"type\":\"mrkdwn\",\"text\":\"*Started*\\n"
    "2026-03-10T02:47:48.000Z\"},{\"type\":\"mrkdwn\",\"text\":"
    "\"*Resolved*\\n2026-03-10T02:58:00.000Z\"},{\"type\":\"mrkdwn\","
    "\"text\":\"*Labels*\\nteam: secops\"},{\"type\":\"mrkdwn\","
    "\"text\":\"*Sample*\\nrecord -\\nsession -\\nagent -\"}]},"
    "{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":"
    "\"episode 0123456789abcdef0123456789abcdef \xc2\xb7"
    " source prod-east\"}]}]}";

/* Journaled by an older version: detector and group_by, no rule, kind,
 * group, labels, description or runbook_url. */
static const char old_firing[] =
    "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:48:00.000Z\","
    "\"data\":{\"id\":\"0123456789abcdef0123456789abcdef\","
    "\"detector\":\"error_rate\",\"group_by\":\"tool\",\"key\":"
    "\"postgres_query\",\"state\":\"firing\",\"severity\":\"error\","
    "\"summary\":\"error rate 35.0% over 60s for tool postgres_query "
    "(threshold 20%, 41 of 117 calls) <@here> & co\",\"value\":0.35,"
    "\"threshold\":0.2,\"window_s\":60,\"started_at\":"
    "\"2026-03-10T02:47:23.123Z\",\"resolved_at\":null,\"sample\":{"
    "\"record_id\":\"r-1\",\"session_id\":\"s-1\",\"agent_id\":\"agent-07\","
    "\"tool_name\":\"postgres_query\",\"event_type\":\"tool_call_error\","
    "\"error_code\":\"E_TIMEOUT\"},\"source\":\"prod-east\"}}";

static const char old_resolved[] =
    "{\"type\":\"alert.resolved\",\"timestamp\":\"2026-03-10T02:58:00.000Z\","
    "\"data\":{\"id\":\"0123456789abcdef0123456789abcdef\","
    "\"detector\":\"credential_access\",\"group_by\":\"agent\",\"key\":"
    "\"agent-13\",\"state\":\"resolved\",\"severity\":\"critical\","
    "\"summary\":\"back to normal\",\"value\":3,\"threshold\":50,"
    "\"window_s\":3600,\"started_at\":\"2026-03-10T02:47:23.123Z\","
    "\"resolved_at\":\"2026-03-10T02:58:00.000Z\",\"sample\":{"
    "\"tool_name\":\"vault_read_secret\"},\"source\":\"prod-east\"}}";

static const char old_global[] =
    "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:48:00.000Z\","
    "\"data\":{\"id\":\"e1\",\"detector\":\"stream_stalled\",\"group_by\":"
    "\"global\",\"key\":\"global\",\"state\":\"firing\",\"severity\":"
    "\"critical\",\"summary\":\"no events for 120 s\",\"value\":121,"
    "\"threshold\":120,\"window_s\":0,\"sample\":{},\"source\":\"p\"}}";

static char *render_text(enum sink_kind k, const char *doc, const char *rk)
{
    static char text[SINK_BODY_MAX + 1];
    buf b;

    buf_init(&b, SINK_BODY_MAX);
    assert_int_equal(sink_render(k, doc, strlen(doc), rk, &b), SINK_OK);
    assert_true(b.len < sizeof text);
    memcpy(text, b.data, b.len + 1);
    buf_free(&b);
    return text;
}

static cJSON *render(enum sink_kind k, const char *doc, const char *rk)
{
    cJSON *j = cJSON_Parse(render_text(k, doc, rk));

    assert_non_null(j);
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

static const cJSON *block_at(const cJSON *slack, int i)
{
    return cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(slack, "blocks"), i);
}

static const char *field_at(const cJSON *section, int i)
{
    return path_str(
        cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(section, "fields"), i),
        "text", NULL);
}

static void test_webhook_body_is_the_document(void **state)
{
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    assert_int_equal(sink_render(SINK_WEBHOOK, sequence, strlen(sequence),
                                 NULL, &b),
                     SINK_OK);
    assert_int_equal(b.len, strlen(sequence));
    assert_memory_equal(b.data, sequence, b.len);
    buf_free(&b);
}

static void test_not_a_document(void **state)
{
    static const char no_group[] =
        "{\"type\":\"alert.firing\",\"data\":{\"id\":\"x\",\"rule\":\"r\","
        "\"key\":\"k\",\"severity\":\"info\",\"summary\":\"s\"}}";
    static const char no_rule[] =
        "{\"type\":\"alert.firing\",\"data\":{\"id\":\"x\",\"group\":{},"
        "\"key\":\"k\",\"severity\":\"info\",\"summary\":\"s\"}}";
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    buf_append_str(&b, "keep");
    assert_int_equal(sink_render(SINK_SLACK, "{}", 2, NULL, &b), SINK_EINVAL);
    assert_int_equal(sink_render(SINK_PAGERDUTY, "not json", 8, "k", &b),
                     SINK_EINVAL);
    assert_int_equal(sink_render(SINK_WEBHOOK, "[1]", 3, NULL, &b),
                     SINK_EINVAL);
    assert_int_equal(sink_render(SINK_SLACK, no_group, strlen(no_group),
                                 NULL, &b),
                     SINK_EINVAL);
    assert_int_equal(sink_render(SINK_PAGERDUTY, no_rule, strlen(no_rule),
                                 "k", &b),
                     SINK_EINVAL);
    assert_string_equal(b.data, "keep");
    buf_free(&b);
}

static void test_slack_sequence_exact(void **state)
{
    (void)state;
    assert_string_equal(render_text(SINK_SLACK, sequence, NULL),
                        sequence_slack);
}

static void test_slack_resolved_exact(void **state)
{
    (void)state;
    assert_string_equal(render_text(SINK_SLACK, sequence_resolved, NULL),
                        sequence_resolved_slack);
}

static void test_pagerduty_sequence_exact(void **state)
{
    (void)state;
    assert_string_equal(render_text(SINK_PAGERDUTY, sequence, "RK"),
                        sequence_pagerduty);
}

static void test_pagerduty_resolve_same_dedup_key(void **state)
{
    (void)state;
    assert_string_equal(render_text(SINK_PAGERDUTY, sequence_resolved, "RK"),
                        "{\"routing_key\":\"RK\",\"event_action\":"
                        "\"resolve\",\"dedup_key\":"
                        "\"0123456789abcdef0123456789abcdef\"}");
    assert_string_equal(render_text(SINK_PAGERDUTY, old_resolved, "RK"),
                        "{\"routing_key\":\"RK\",\"event_action\":"
                        "\"resolve\",\"dedup_key\":"
                        "\"0123456789abcdef0123456789abcdef\"}");
}

/* A document journaled before the rules: detector and group_by read as
 * rule and a one-field group. */
static void test_old_document_slack(void **state)
{
    cJSON *j = render(SINK_SLACK, old_firing, NULL);
    const cJSON *fields;

    (void)state;
    assert_string_equal(path_str(j, "text", NULL),
                        "[FIRING] error error_rate: error rate 35.0% over "
                        "60s for tool postgres_query (threshold 20%, 41 of "
                        "117 calls) &lt;@here&gt; &amp; co");
    assert_string_equal(path_str(block_at(j, 0), "text", "text"),
                        ":large_orange_circle: Firing: error_rate on "
                        "tool_name: postgres_query");
    assert_non_null(strstr(path_str(block_at(j, 1), "text", "text"),
                           "&lt;@here&gt; &amp; co"));
    /* no description: the fields come third */
    fields = block_at(j, 2);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(fields,
                                                            "fields")),
        7);
    assert_string_equal(field_at(fields, 0), "*Rule*\nerror_rate");
    assert_string_equal(field_at(fields, 1), "*Group*\ntool_name: "
                                             "postgres_query");
    assert_string_equal(field_at(fields, 3), "*Value*\n0.35 (threshold 0.2)");
    assert_string_equal(field_at(fields, 6),
                        "*Sample*\nrecord r-1\nsession s-1\nagent agent-07");
    /* no runbook: the context has the episode only */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         block_at(j, 3), "elements")),
                     1);
    cJSON_Delete(j);

    j = render(SINK_SLACK, old_resolved, NULL);
    assert_string_equal(path_str(block_at(j, 0), "text", "text"),
                        ":white_check_mark: Resolved: credential_access on "
                        "agent_id: agent-13");
    assert_string_equal(field_at(block_at(j, 2), 6),
                        "*Resolved*\n2026-03-10T02:58:00.000Z");
    cJSON_Delete(j);

    /* the one global group: no "on ..." */
    j = render(SINK_SLACK, old_global, NULL);
    assert_string_equal(path_str(block_at(j, 0), "text", "text"),
                        ":red_circle: Firing: stream_stalled");
    assert_string_equal(field_at(block_at(j, 2), 1),
                        "*Group*\nall events");
    cJSON_Delete(j);
}

static void test_old_document_pagerduty(void **state)
{
    cJSON *j = render(SINK_PAGERDUTY, old_firing, "R0UT1NGKEY");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "payload");
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(p, "custom_details");

    (void)state;
    assert_string_equal(path_str(j, "routing_key", NULL), "R0UT1NGKEY");
    assert_string_equal(path_str(j, "event_action", NULL), "trigger");
    assert_string_equal(path_str(j, "dedup_key", NULL),
                        "0123456789abcdef0123456789abcdef");
    assert_string_equal(path_str(p, "severity", NULL), "error");
    assert_string_equal(path_str(p, "component", NULL), "postgres_query");
    assert_string_equal(path_str(p, "group", NULL), "agent-07");
    assert_string_equal(path_str(p, "class", NULL), "error_rate");
    assert_string_equal(path_str(cd, "rule", NULL), "error_rate");
    assert_string_equal(path_str(cd, "group", "tool_name"),
                        "postgres_query");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cd, "kind")));
    assert_true(cJSON_IsNull(
        cJSON_GetObjectItemCaseSensitive(cd, "description")));
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cd, "labels")),
        0);
    assert_string_equal(path_str(cd, "sample", "error_code"), "E_TIMEOUT");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "links"));
    cJSON_Delete(j);
}

/* value, threshold, window_s, description and runbook_url null: no value
 * or window field, no description section, no link; a runbook that is
 * not an http(s) URL is never a link. */
static void test_nulls_and_bad_runbook(void **state)
{
    static const char doc[] =
        "{\"type\":\"alert.firing\",\"timestamp\":\"t\",\"data\":{"
        "\"id\":\"e2\",\"rule\":\"new_tool\",\"kind\":\"new_value\","
        "\"group\":{\"agent_id\":\"\"},\"key\":\"\",\"severity\":\"info\","
        "\"summary\":\"new tool\",\"value\":null,\"threshold\":null,"
        "\"window_s\":null,\"labels\":{},\"description\":null,"
        "\"runbook_url\":\"javascript:alert(1)\",\"sample\":{},"
        "\"source\":\"p\"}}";
    cJSON *j = render(SINK_SLACK, doc, NULL);
    const cJSON *fields = block_at(j, 2), *cd;

    (void)state;
    /* a record without the field: the empty value, shown as (none) */
    assert_string_equal(path_str(block_at(j, 0), "text", "text"),
                        ":large_blue_circle: Firing: new_tool on agent_id: "
                        "(none)");
    assert_string_equal(field_at(fields, 0), "*Rule*\nnew_tool (new_value)");
    assert_string_equal(field_at(fields, 1), "*Group*\nagent_id: (none)");
    assert_string_equal(field_at(fields, 2), "*Severity*\ninfo");
    assert_string_equal(field_at(fields, 3), "*Sample*\nrecord -\nsession "
                                             "-\nagent -");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         fields, "fields")),
                     4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         block_at(j, 3), "elements")),
                     1);
    cJSON_Delete(j);

    j = render(SINK_PAGERDUTY, doc, "k");
    cd = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "payload"), "custom_details");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "links"));
    assert_null(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "payload"), "group"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cd, "value")));
    assert_true(
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cd, "window_s")));
    assert_string_equal(path_str(cd, "runbook_url", NULL),
                        "javascript:alert(1)");
    cJSON_Delete(j);
}

/* Every mrkdwn text of a message built from hostile stream text holds no
 * control character: no mention, no link, no channel ping. */
static void test_slack_escapes_every_value(void **state)
{
    static const char doc[] =
        "{\"type\":\"alert.firing\",\"timestamp\":\"t\",\"data\":{"
        "\"id\":\"<e3>\",\"rule\":\"r\",\"kind\":\"count\","
        "\"group\":{\"tool_name\":\"<!channel>\",\"agent_id\":\"a&b\"},"
        "\"key\":\"k\",\"severity\":\"warning\",\"summary\":\"<@U1>\","
        "\"value\":1,\"threshold\":0,\"window_s\":1,"
        "\"started_at\":\"<t>\",\"labels\":{\"team\":\"<!here>\"},"
        "\"description\":\"<http://evil|click>\",\"runbook_url\":null,"
        "\"sample\":{\"record_id\":\"<r>\",\"session_id\":\"<s>\","
        "\"agent_id\":\"<a>\"},\"source\":\"<src>\"}}";
    cJSON *j = render(SINK_SLACK, doc, NULL);
    const cJSON *blk, *t;
    int texts = 0;

    (void)state;
    assert_null(strchr(path_str(j, "text", NULL), '<'));
    cJSON_ArrayForEach(blk, cJSON_GetObjectItemCaseSensitive(j, "blocks"))
    {
        const cJSON *list[3] = {
            cJSON_GetObjectItemCaseSensitive(blk, "text"),
            cJSON_GetObjectItemCaseSensitive(blk, "fields"),
            cJSON_GetObjectItemCaseSensitive(blk, "elements")};
        for (int i = 0; i < 3; i++) {
            if (list[i] == NULL)
                continue;
            if (cJSON_IsObject(list[i])) {
                if (strcmp(path_str(list[i], "type", NULL), "mrkdwn") == 0) {
                    assert_null(strchr(path_str(list[i], "text", NULL),
                                       '<'));
                    texts++;
                }
                continue;
            }
            cJSON_ArrayForEach(t, list[i])
            {
                assert_null(strchr(path_str(t, "text", NULL), '<'));
                assert_null(strchr(path_str(t, "text", NULL), '>'));
                texts++;
            }
        }
    }
    /* summary, description, 9 fields less Resolved, the context */
    assert_int_equal(texts, 2 + 8 + 1);
    assert_string_equal(field_at(block_at(j, 3), 1),
                        "*Group*\ntool_name: &lt;!channel&gt;\nagent_id: "
                        "a&amp;b");
    assert_string_equal(field_at(block_at(j, 3), 6),
                        "*Labels*\nteam: &lt;!here&gt;");
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
             "\"id\":\"x\",\"rule\":\"latency\",\"group\":{},"
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
             "\"id\":\"x\",\"rule\":\"latency\",\"group\":{},"
             "\"key\":\"k\",\"severity\":\"warning\",\"summary\":\"%s\"}}",
             summary);
    j = render(SINK_PAGERDUTY, doc, "k");
    assert_int_equal(strlen(path_str(j, "payload", "summary")), 1024);
    cJSON_Delete(j);
}

/* Huge group values, labels, description and summary still fit Slack's
 * limits: header <= 150 bytes, section <= 3000, each field <= 2000, at
 * most 10 fields; an escape is never cut in half. */
static void test_slack_limits(void **state)
{
    static char doc[80000], big[12000];
    cJSON *j;
    const cJSON *fields, *f;

    (void)state;
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = i % 3 == 0 ? '<' : (char)('a' + i % 26);
    big[sizeof big - 1] = '\0';
    snprintf(doc, sizeof doc,
             "{\"type\":\"alert.firing\",\"timestamp\":\"t\",\"data\":{"
             "\"id\":\"x\",\"rule\":\"volume\",\"group\":{\"tool_name\":"
             "\"%s\"},\"key\":\"%s\",\"severity\":\"warning\","
             "\"summary\":\"%s\",\"description\":\"%s\",\"labels\":{"
             "\"a\":\"%s\"}}}",
             big, big, big, big, big);
    j = render(SINK_SLACK, doc, NULL);
    assert_true(strlen(path_str(block_at(j, 0), "text", "text")) <= 150);
    assert_true(strlen(path_str(block_at(j, 1), "text", "text")) <= 3000);
    assert_true(strlen(path_str(block_at(j, 2), "text", "text")) <= 3000);
    assert_true(strlen(path_str(j, "text", NULL)) <= 3000);
    fields = cJSON_GetObjectItemCaseSensitive(block_at(j, 3), "fields");
    assert_true(cJSON_GetArraySize(fields) <= 10);
    cJSON_ArrayForEach(f, fields)
    {
        const char *t = path_str(f, "text", NULL);
        const char *amp = strrchr(t, '&');
        assert_true(strlen(t) <= 2000);
        if (amp != NULL)
            assert_true(strncmp(amp, "&lt;", 4) == 0);
    }
    cJSON_Delete(j);
}

static void test_glob(void **state)
{
    (void)state;
    assert_true(sink_glob_match("volume", "volume"));
    assert_true(sink_glob_match("VOLUME", "volume"));
    assert_true(sink_glob_match("vol*", "Volume"));
    assert_true(sink_glob_match("*", ""));
    assert_true(sink_glob_match("*", "anything"));
    assert_true(sink_glob_match("**", "x"));
    assert_true(sink_glob_match("*_rate", "error_rate"));
    assert_true(sink_glob_match("*cred*", "credential_access"));
    assert_true(sink_glob_match("e?ror_*", "error_rate"));
    assert_true(sink_glob_match("a*b*c", "aXbYbZc"));
    assert_true(sink_glob_match("a*b", "abab"));
    assert_true(sink_glob_match("caf?", "caf\xc3\xa9"));  /* ? is one char */
    assert_false(sink_glob_match("caf?x", "caf\xc3\xa9"));
    assert_false(sink_glob_match("volume", "volumes"));
    assert_false(sink_glob_match("volumes", "volume"));
    assert_false(sink_glob_match("", "x"));
    assert_true(sink_glob_match("", ""));
    assert_false(sink_glob_match("?", ""));
    assert_false(sink_glob_match("a*b", "abac"));
    assert_false(sink_glob_match("*_rate", "error_rates"));
    /* no blow-up on a pathological pattern */
    assert_false(sink_glob_match("*a*a*a*a*a*a*a*a*b",
                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_routing_severity_and_rules(void **state)
{
    struct sink_config c;
    struct sink_route r = {.rule = "volume", .severity = "info"};

    (void)state;
    sink_config_defaults(&c, SINK_WEBHOOK);
    assert_true(sink_routes(&c, &r));
    c.min_severity = SEVERITY_ERROR;
    assert_false(sink_routes(&c, &r));
    r.severity = "warning";
    assert_false(sink_routes(&c, &r));
    r.severity = "error";
    assert_true(sink_routes(&c, &r));
    r.severity = "critical";
    assert_true(sink_routes(&c, &r));
    r.severity = "bogus";
    assert_false(sink_routes(&c, &r));
    r.severity = NULL;
    assert_false(sink_routes(&c, &r));
    /* rule globs: any of them, without regard to case */
    c.rules[0] = "error_rate";
    c.rules[1] = "CREDENTIAL_*";
    c.n_rules = 2;
    r.severity = "critical";
    assert_false(sink_routes(&c, &r));
    r.rule = "credential_access";
    assert_true(sink_routes(&c, &r));
    r.rule = "error_rate";
    assert_true(sink_routes(&c, &r));
    r.severity = "warning";
    assert_false(sink_routes(&c, &r));
    r.severity = "error";
    r.rule = NULL;
    assert_false(sink_routes(&c, &r));
}

static void test_routing_labels(void **state)
{
    static const char *const names[] = {"team", "env", "tier"};
    static const char *const values[] = {"secops", "prod-eu", "1"};
    struct sink_config c;
    struct sink_route r = {.rule = "exfil",
                           .severity = "critical",
                           .nlabels = 3,
                           .label_names = names,
                           .label_values = values};
    struct sink_route bare = {.rule = "exfil", .severity = "critical"};

    (void)state;
    sink_config_defaults(&c, SINK_SLACK);
    c.label_names[0] = "team";
    c.label_values[0] = "secops";
    c.n_labels = 1;
    assert_true(sink_routes(&c, &r));
    assert_false(sink_routes(&c, &bare));   /* the rule carries none */
    /* every label given must be carried, with a matching value */
    c.label_names[1] = "env";
    c.label_values[1] = "prod-*";
    c.n_labels = 2;
    assert_true(sink_routes(&c, &r));
    c.label_values[1] = "staging";
    assert_false(sink_routes(&c, &r));
    c.label_values[1] = "PROD-EU";          /* globs ignore case */
    assert_true(sink_routes(&c, &r));
    c.label_names[1] = "region";            /* a label the rule lacks */
    c.label_values[1] = "*";
    assert_false(sink_routes(&c, &r));
    c.label_names[1] = "Team";              /* names compare exactly */
    c.label_values[1] = "secops";
    assert_false(sink_routes(&c, &r));
    /* labels and rules together: both must hold */
    c.n_labels = 1;
    c.rules[0] = "ex*";
    c.n_rules = 1;
    assert_true(sink_routes(&c, &r));
    c.rules[0] = "volume";
    assert_false(sink_routes(&c, &r));
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
    assert_int_equal(c.n_rules, 0);
    assert_int_equal(c.n_labels, 0);
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

/* ---- storm digests ---- */

static void digest_add_doc(struct sink_digest *g, const char *rule,
                           const char *key)
{
    char doc[512];
    int n = snprintf(doc, sizeof doc,
                     "{\"type\":\"alert.firing\",\"data\":{\"rule\":\"%s\","
                     "\"key\":\"%s\",\"source\":\"prod-1\"}}",
                     rule, key);

    sink_digest_add(g, doc, (size_t)n);
}

/* Counts per rule for the first SINK_DIGEST_RULES rules, the rest in
 * `other`; the first SINK_DIGEST_KEYS keys; an unreadable document is
 * counted too. */
static void test_digest_counts_at_bounds(void **state)
{
    struct sink_digest *g = malloc(sizeof *g);
    char rule[32], key[32];

    (void)state;
    assert_non_null(g);
    sink_digest_reset(g, 1773100800000);
    for (int r = 0; r < SINK_DIGEST_RULES + 2; r++) {
        for (int k = 0; k <= r; k++) {
            snprintf(rule, sizeof rule, "rule_%02d", r);
            snprintf(key, sizeof key, "k%d", k);
            digest_add_doc(g, rule, key);
        }
    }
    sink_digest_add(g, "not json", 8);
    /* 1 + 2 + ... + 18 = 171, and the unreadable one */
    assert_int_equal(g->count, 172);
    assert_int_equal(g->n_rules, SINK_DIGEST_RULES);
    assert_string_equal(g->rules[0].rule, "rule_00");
    assert_int_equal(g->rules[0].count, 1);
    assert_int_equal(g->rules[15].count, 16);
    /* rule_16 (17), rule_17 (18) and "(unreadable)" (1) */
    assert_int_equal(g->other, 36);
    assert_int_equal(g->n_keys, SINK_DIGEST_KEYS);
    assert_string_equal(g->keys[0], "rule_00: k0");
    assert_string_equal(g->keys[9], "rule_03: k3");
    assert_string_equal(g->source, "prod-1");
    free(g);
}

static void test_digest_document(void **state)
{
    struct sink_digest *g = malloc(sizeof *g);
    cJSON *doc, *data, *dg;
    buf b, slack;

    (void)state;
    assert_non_null(g);
    sink_digest_reset(g, 1773100800000);
    digest_add_doc(g, "volume", "crm_search");
    digest_add_doc(g, "volume", "crm_update");
    digest_add_doc(g, "latency", "a\\\"b<c>");
    buf_init(&b, 1u << 20);
    assert_int_equal(sink_digest_document(g, "ops", "https://tw.example/",
                                          &b),
                     SINK_OK);
    doc = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "type")->valuestring,
                        SINK_DIGEST_TYPE);
    assert_string_equal(cJSON_GetObjectItem(doc, "timestamp")->valuestring,
                        "2026-03-10T00:01:00.000Z");
    data = cJSON_GetObjectItem(doc, "data");
    assert_string_equal(cJSON_GetObjectItem(data, "rule")->valuestring,
                        "digest");
    assert_string_equal(cJSON_GetObjectItem(data, "summary")->valuestring,
                        "3 more notifications within a minute: 2 volume, "
                        "1 latency");
    assert_string_equal(cJSON_GetObjectItem(data, "status_url")->valuestring,
                        "https://tw.example/");
    assert_string_equal(cJSON_GetObjectItem(data, "source")->valuestring,
                        "prod-1");
    dg = cJSON_GetObjectItem(data, "digest");
    assert_int_equal(cJSON_GetObjectItem(dg, "count")->valueint, 3);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(dg, "rules"), "volume")
            ->valueint,
        2);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(dg, "first_keys"), 2)
            ->valuestring,
        "latency: a\"b<c>");
    assert_string_equal(cJSON_GetObjectItem(dg, "window_start")->valuestring,
                        "2026-03-10T00:00:00.000Z");
    cJSON_Delete(doc);
    /* every sink renders it: Slack says what it is */
    buf_init(&slack, SINK_BODY_MAX);
    assert_int_equal(sink_render(SINK_SLACK, b.data, b.len, NULL, &slack),
                     SINK_OK);
    assert_non_null(strstr(slack.data, "[DIGEST] warning digest: 3 more "
                                       "notifications within a minute"));
    assert_non_null(strstr(slack.data, "\"<https://tw.example/|Status "
                                       "page>\""));
    /* without a status URL, no link, in the document or in Slack */
    buf_reset(&b);
    assert_int_equal(sink_digest_document(g, "ops", NULL, &b), SINK_OK);
    assert_null(strstr(b.data, "status_url"));
    buf_reset(&slack);
    assert_int_equal(sink_render(SINK_SLACK, b.data, b.len, NULL, &slack),
                     SINK_OK);
    assert_null(strstr(slack.data, "Status page"));
    buf_reset(&b);
    assert_int_equal(sink_digest_document(g, "ops", "", &b), SINK_OK);
    assert_null(strstr(b.data, "status_url"));
    /* a link that would bend Slack's markup is escaped; not http(s): none */
    buf_reset(&b);
    assert_int_equal(
        sink_digest_document(g, "ops", "https://tw.example/a|b>c&d", &b),
        SINK_OK);
    buf_reset(&slack);
    assert_int_equal(sink_render(SINK_SLACK, b.data, b.len, NULL, &slack),
                     SINK_OK);
    assert_non_null(strstr(slack.data, "\"<https://tw.example/a%7Cb&gt;c"
                                       "&amp;d|Status page>\""));
    buf_reset(&b);
    assert_int_equal(sink_digest_document(g, "ops", "javascript:alert(1)",
                                          &b),
                     SINK_OK);
    buf_reset(&slack);
    assert_int_equal(sink_render(SINK_SLACK, b.data, b.len, NULL, &slack),
                     SINK_OK);
    assert_null(strstr(slack.data, "Status page"));
    assert_null(strstr(slack.data, "javascript"));
    buf_free(&slack);
    /* too small a buffer: nothing appended */
    buf_free(&b);
    buf_init(&b, 64);
    assert_int_equal(sink_digest_document(g, "ops", NULL, &b),
                     SINK_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    free(g);
}

/* ---- Alertmanager ------------------------------------------------------- */

static const char sequence_am[] =
    "[{\"labels\":{\"alertname\":\"secret_then_upload\","
    "\"severity\":\"critical\",\"instance\":\"prod-east\","
    "\"session_id\":\"s-42\",\"agent_id\":\"agent-07\",\"team\":\"secops\","
    "\"env\":\"prod\"},\"annotations\":{\"summary\":\"sequence of 2 steps "
    "completed in 12 s for session s-42 <@here> & co\",\"description\":\"A "
    "secret read then an upload <b>elsewhere</b> & gone\","
    "\"runbook_url\":\"https://runbooks.example/seq?a=1&b=<2>|x\","
    "\"episode_id\":\"0123456789abcdef0123456789abcdef\","
    "\"key\":\"s-42/agent-07\"},\"startsAt\":\"2026-03-10T02:47:48.000Z\","
    "\"endsAt\":\"2026-03-10T03:48:05.000Z\","
    "\"generatorURL\":\"http://tw.example:9090/status\"}]";

static void render_am(const char *doc, const struct sink_am_params *p,
                      buf *out)
{
    buf_reset(out);
    assert_int_equal(sink_render_alertmanager(doc, strlen(doc), p, out),
                     SINK_OK);
}

/* The firing's alert, exactly: endsAt is the attempt's time plus the
 * horizon; the attempt time never goes before the document's. */
static void test_alertmanager_sequence_exact(void **state)
{
    struct sink_am_params p = {
        .now_ms = 1773110885000, /* 2026-03-10T02:48:05Z */
        .ends_after_s = 3600,
        .generator_url = "http://tw.example:9090/status"};
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    render_am(sequence, &p, &b);
    assert_string_equal(b.data, sequence_am);
    /* a clock behind the document's timestamp counts from the timestamp;
     * no time at all (0) too */
    p.now_ms = 1000;
    render_am(sequence, &p, &b);
    assert_non_null(strstr(b.data,
                           "\"endsAt\":\"2026-03-10T03:48:00.000Z\""));
    p.now_ms = 0;
    p.ends_after_s = 0; /* the default horizon */
    p.generator_url = "javascript:alert(1)"; /* not a web URL: left out */
    render_am(sequence, &p, &b);
    assert_non_null(strstr(b.data,
                           "\"endsAt\":\"2026-03-10T05:48:00.000Z\"}]"));
    /* sink_render, without an attempt: the same defaults */
    buf_reset(&b);
    assert_int_equal(sink_render(SINK_ALERTMANAGER, sequence,
                                 strlen(sequence), NULL, &b),
                     SINK_OK);
    assert_non_null(strstr(b.data,
                           "\"endsAt\":\"2026-03-10T05:48:00.000Z\"}]"));
    buf_free(&b);
}

/* A resolve carries the same labels and endsAt = resolved_at; without
 * resolved_at, the notification's time. */
static void test_alertmanager_resolved(void **state)
{
    static const char doc[] =
        "{\"type\":\"alert.resolved\",\"timestamp\":\"2026-03-10T03:00:00."
        "000Z\",\"data\":{\"id\":\"e1\",\"rule\":\"volume\",\"group\":{"
        "\"tool_name\":\"bash\"},\"key\":\"bash\",\"severity\":\"warning\","
        "\"summary\":\"ok again\",\"started_at\":\"2026-03-10T02:00:00.000Z"
        "\",\"resolved_at\":\"2026-03-10T02:59:30.000Z\"}}";
    static const char want[] =
        "[{\"labels\":{\"alertname\":\"volume\",\"severity\":\"warning\","
        "\"instance\":\"toolwatch\",\"tool_name\":\"bash\"},"
        "\"annotations\":{\"summary\":\"ok again\",\"episode_id\":\"e1\","
        "\"key\":\"bash\"},\"startsAt\":\"2026-03-10T02:00:00.000Z\","
        "\"endsAt\":\"2026-03-10T02:59:30.000Z\"}]";
    struct sink_am_params p = {.now_ms = 1773200000000, .ends_after_s = 60};
    char nores[sizeof doc + 8];
    const char *cut = strstr(doc, ",\"resolved_at\"");
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    render_am(doc, &p, &b);
    assert_string_equal(b.data, want);
    snprintf(nores, sizeof nores, "%.*s}}", (int)(cut - doc), doc);
    render_am(nores, &p, &b);
    assert_non_null(strstr(b.data,
                           "\"endsAt\":\"2026-03-10T03:00:00.000Z\"}]"));
    buf_free(&b);
}

/* Label names made valid, collisions settled (a group field made unique,
 * a rule label left out), hostile values escaped, invalid UTF-8 replaced,
 * empty values and names left out. */
static void test_alertmanager_hostile_labels(void **state)
{
    static const char doc[] =
        "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T03:00:00."
        "000Z\",\"data\":{\"id\":\"e2\",\"rule\":\"r\",\"group\":{"
        "\"tool.name\":\"a\\\"b\\\\c\\n}\",\"9lives\":\"x\","
        "\"alertname\":\"evil\",\"\":\"v\",\"\xc3\xbcn\xc3\xaf\":\"bad\xff"
        "\",\"empty\":\"\"},\"key\":\"k\",\"severity\":\"error\","
        "\"summary\":\"s\",\"source\":\"h\xc3\xa9te\",\"labels\":{"
        "\"severity\":\"low\",\"team-x\":\"\xe2\x82\xac\",\"tool_name\":"
        "\"z\"}}}";
    static const char want[] =
        "[{\"labels\":{\"alertname\":\"r\",\"severity\":\"error\","
        "\"instance\":\"h\xc3\xa9te\",\"tool_name\":\"a\\\"b\\\\c\\n}\","
        "\"_9lives\":\"x\",\"alertname_\":\"evil\",\"__n__\":\"bad"
        "\xef\xbf\xbd\",\"team_x\":\"\xe2\x82\xac\"},"
        "\"annotations\":{\"summary\":\"s\",\"episode_id\":\"e2\","
        "\"key\":\"k\"},\"startsAt\":\"2026-03-10T03:00:00.000Z\","
        "\"endsAt\":\"2026-03-10T04:00:00.000Z\"}]";
    struct sink_am_params p = {.ends_after_s = 3600};
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    render_am(doc, &p, &b);
    assert_string_equal(b.data, want);
    buf_free(&b);
}

/* Values are cut to SINK_AM_VALUE_MAX bytes on a character boundary;
 * label names to SINK_AM_LABEL_NAME_MAX bytes. */
static void test_alertmanager_value_limits(void **state)
{
    char doc[4096], val[SINK_AM_VALUE_MAX + 8], name[200];
    struct sink_am_params p = {.ends_after_s = 60};
    cJSON *root, *labels;
    const cJSON *v;
    buf b;

    (void)state;
    memset(val, 'a', SINK_AM_VALUE_MAX - 1);
    memcpy(val + SINK_AM_VALUE_MAX - 1, "\xc3\xa9", 3); /* é across */
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(doc, sizeof doc,
             "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T03:00:"
             "00.000Z\",\"data\":{\"id\":\"e\",\"rule\":\"r\",\"group\":{"
             "\"f\":\"%s\",\"%s\":\"y\"},\"key\":\"k\",\"severity\":"
             "\"info\",\"summary\":\"s\"}}", val, name);
    buf_init(&b, SINK_BODY_MAX);
    render_am(doc, &p, &b);
    root = cJSON_Parse(b.data);
    assert_non_null(root);
    labels = cJSON_GetObjectItem(cJSON_GetArrayItem(root, 0), "labels");
    v = cJSON_GetObjectItem(labels, "f");
    assert_int_equal(strlen(v->valuestring), SINK_AM_VALUE_MAX - 1);
    name[SINK_AM_LABEL_NAME_MAX] = '\0';
    v = cJSON_GetObjectItem(labels, name);
    assert_non_null(v);
    assert_string_equal(v->valuestring, "y");
    cJSON_Delete(root);
    buf_free(&b);
}

/* Not an alert document, no rule name (no alertname), or no time to
 * count from: nothing appended. */
static void test_alertmanager_refusals(void **state)
{
    static const char notime[] =
        "{\"type\":\"alert.firing\",\"data\":{\"id\":\"e\",\"rule\":\"r\","
        "\"group\":{},\"key\":\"k\",\"severity\":\"info\",\"summary\":"
        "\"s\"}}";
    struct sink_am_params p = {.ends_after_s = 60};
    buf b;

    (void)state;
    buf_init(&b, SINK_BODY_MAX);
    buf_append_str(&b, "x");
    assert_int_equal(sink_render_alertmanager("{}", 2, &p, &b), SINK_EINVAL);
    assert_int_equal(sink_render_alertmanager(notime, strlen(notime), &p,
                                              &b),
                     SINK_EINVAL);
    {
        static const char norule[] =
            "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T03:00:00."
            "000Z\",\"data\":{\"id\":\"e\",\"rule\":\"\",\"group\":{},"
            "\"key\":\"k\",\"severity\":\"info\",\"summary\":\"s\"}}";

        assert_int_equal(sink_render_alertmanager(norule, strlen(norule),
                                                  &p, &b),
                         SINK_EINVAL);
    }
    assert_string_equal(b.data, "x");
    p.now_ms = 1773110885000;
    buf_reset(&b);
    render_am(notime, &p, &b);
    /* no time in the document: startsAt left out, Alertmanager's own */
    assert_null(strstr(b.data, "startsAt"));
    assert_non_null(strstr(b.data,
                           "\"endsAt\":\"2026-03-10T02:49:05.000Z\"}]"));
    buf_free(&b);
}

static void test_alertmanager_url(void **state)
{
    buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(sink_am_url("http://127.0.0.1:9093", &b), BUF_OK);
    buf_append(&b, "", 0);
    assert_string_equal(b.data, "http://127.0.0.1:9093/api/v2/alerts");
    buf_reset(&b);
    assert_int_equal(sink_am_url("https://am.example/prefix//", &b), BUF_OK);
    buf_append(&b, "", 0);
    assert_string_equal(b.data, "https://am.example/prefix/api/v2/alerts");
    buf_free(&b);
    assert_int_equal(sink_kind_parse("alertmanager"), SINK_ALERTMANAGER);
    assert_string_equal(sink_kind_name(SINK_ALERTMANAGER), "alertmanager");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_body_is_the_document),
        cmocka_unit_test(test_digest_counts_at_bounds),
        cmocka_unit_test(test_digest_document),
        cmocka_unit_test(test_not_a_document),
        cmocka_unit_test(test_slack_sequence_exact),
        cmocka_unit_test(test_slack_resolved_exact),
        cmocka_unit_test(test_pagerduty_sequence_exact),
        cmocka_unit_test(test_pagerduty_resolve_same_dedup_key),
        cmocka_unit_test(test_old_document_slack),
        cmocka_unit_test(test_old_document_pagerduty),
        cmocka_unit_test(test_nulls_and_bad_runbook),
        cmocka_unit_test(test_slack_escapes_every_value),
        cmocka_unit_test(test_pagerduty_summary_cut_on_utf8_boundary),
        cmocka_unit_test(test_slack_limits),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_routing_severity_and_rules),
        cmocka_unit_test(test_routing_labels),
        cmocka_unit_test(test_defaults_and_names),
        cmocka_unit_test(test_utf8_prefix),
        cmocka_unit_test(test_alertmanager_sequence_exact),
        cmocka_unit_test(test_alertmanager_resolved),
        cmocka_unit_test(test_alertmanager_hostile_labels),
        cmocka_unit_test(test_alertmanager_value_limits),
        cmocka_unit_test(test_alertmanager_refusals),
        cmocka_unit_test(test_alertmanager_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
