/*
 * test_document.c - the SPEC section 3 document byte for byte, numbers,
 * escaping, the episode id and the size cap.
 */
#include "alerts/document.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */

static void fill(struct alert *a, struct alert_sample *s)
{
    memset(a, 0, sizeof *a);
    memset(s, 0, sizeof *s);
    snprintf(s->record_id, sizeof s->record_id, "rec-1");
    snprintf(s->agent_id, sizeof s->agent_id, "agent-6");
    snprintf(s->tool_name, sizeof s->tool_name, "postgres_query");
    snprintf(s->error_code, sizeof s->error_code, "DB_TIMEOUT");
    s->event_type = EVENT_TOOL_CALL_ERROR;
    a->timestamp_ms = T0 + 61500;
    alert_episode_id("error_rate", "postgres_query", T0 + 60000, a->id);
    a->detector = "error_rate";
    a->group_by = "tool";
    a->key = "postgres_query";
    a->severity = "error";
    a->summary = "error rate 35.0% over 60s for tool postgres_query "
                 "(threshold 20%, 41 of 117 calls)";
    a->value = 41.0 / 117.0;
    a->threshold = 0.2;
    a->window_s = 60;
    a->started_ms = T0 + 60000;
    a->sample = s;
    a->source = "toolwatch";
}

static void test_firing_document(void **state)
{
    struct alert a;
    struct alert_sample s;
    buf b;

    (void)state;
    fill(&a, &s);
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format(&a, &b), ALERT_OK);
    assert_string_equal(
        b.data,
        "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:01:01.500Z\","
        /* BLAKE2b-128, checked with Python hashlib.blake2b */
        "\"data\":{\"id\":\"" "c83ebbe1ae03a82f64ca88ff92cf5b99" "\","
        "\"detector\":\"error_rate\",\"group_by\":\"tool\","
        "\"key\":\"postgres_query\",\"state\":\"firing\","
        "\"severity\":\"error\",\"summary\":\"error rate 35.0% over 60s "
        "for tool postgres_query (threshold 20%, 41 of 117 calls)\","
        "\"value\":0.3504273504273504,\"threshold\":0.2,\"window_s\":60,"
        "\"started_at\":\"2026-03-10T02:01:00.000Z\",\"resolved_at\":null,"
        "\"sample\":{\"record_id\":\"rec-1\",\"session_id\":null,"
        "\"agent_id\":\"agent-6\",\"tool_name\":\"postgres_query\","
        "\"event_type\":\"tool_call_error\",\"error_code\":\"DB_TIMEOUT\"},"
        "\"source\":\"toolwatch\"}}");
    buf_free(&b);
}

/* Text from the stream is redacted before it leaves: the key, the summary
 * and the sample's fields; the episode id is still the hash of the real
 * key, so replicas agree. */
static void test_redaction(void **state)
{
    struct alert a;
    struct alert_sample s;
    buf b;

    (void)state;
    fill(&a, &s);
    a.group_by = "agent";
    a.key = "bob@example.com";
    a.summary = "51 calls by agent bob@example.com with Bearer abc.def-123";
    snprintf(s.agent_id, sizeof s.agent_id, "bob@example.com");
    snprintf(s.session_id, sizeof s.session_id, "call 415-555-0132");
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format(&a, &b), ALERT_OK);
    assert_null(strstr(b.data, "bob@example.com"));
    assert_null(strstr(b.data, "abc.def-123"));
    assert_null(strstr(b.data, "555-0132"));
    assert_non_null(strstr(b.data, "\"key\":\"[REDACTED:email]\""));
    assert_non_null(strstr(b.data, "\"summary\":\"51 calls by agent "
                                   "[REDACTED:email] with Bearer "
                                   "[REDACTED:token]\""));
    assert_non_null(strstr(b.data, "\"agent_id\":\"[REDACTED:email]\""));
    assert_non_null(strstr(b.data, "\"session_id\":\"call "
                                   "[REDACTED:phone]\""));
    buf_free(&b);
}

static void test_resolved_document(void **state)
{
    struct alert a;
    struct alert_sample s;
    buf b;

    (void)state;
    fill(&a, &s);
    a.resolved = 1;
    a.resolved_ms = T0 + 120000;
    a.value = 0;
    a.sample = NULL;
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format(&a, &b), ALERT_OK);
    assert_non_null(strstr(b.data, "{\"type\":\"alert.resolved\","));
    assert_non_null(strstr(b.data, "\"state\":\"resolved\""));
    assert_non_null(strstr(b.data, "\"value\":0,"));
    assert_non_null(
        strstr(b.data, "\"resolved_at\":\"2026-03-10T02:02:00.000Z\","
                       "\"sample\":{},"));
    buf_free(&b);
}

static void test_episode_id(void **state)
{
    char a[ALERT_ID_HEX + 1], b[ALERT_ID_HEX + 1];

    (void)state;
    alert_episode_id("volume", "search", T0, a);
    assert_int_equal(strlen(a), 32);
    alert_episode_id("volume", "search", T0, b);
    assert_string_equal(a, b);
    alert_episode_id("volume", "search", T0 + 1, b);
    assert_string_not_equal(a, b);
    alert_episode_id("volume", "searc", T0, b);
    assert_string_not_equal(a, b);
    /* the separator: ("ab", "c") is not ("a", "bc") */
    alert_episode_id("ab", "c", T0, a);
    alert_episode_id("a", "bc", T0, b);
    assert_string_not_equal(a, b);
}

static void test_numbers(void **state)
{
    char t[40];

    (void)state;
    buf_format_number(1000000, t, sizeof t);
    assert_string_equal(t, "1000000");
    buf_format_number(0.2, t, sizeof t);
    assert_string_equal(t, "0.2");
    buf_format_number(0.35, t, sizeof t);
    assert_string_equal(t, "0.35");
    buf_format_number(197.5, t, sizeof t);
    assert_string_equal(t, "197.5");
    buf_format_number(-0.0, t, sizeof t);
    assert_string_equal(t, "0");
    buf_format_number(1e300, t, sizeof t);
    assert_string_equal(t, "1e+300");
    buf_format_number(1.0 / 3.0, t, sizeof t);
    assert_string_equal(t, "0.3333333333333333");
    buf_format_number(0.0 / 0.0, t, sizeof t);
    assert_string_equal(t, "null");
}

static void test_escaping_and_cap(void **state)
{
    struct alert a;
    struct alert_sample s;
    buf b;

    (void)state;
    fill(&a, &s);
    a.key = "evil\"}\n\x01";
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format(&a, &b), ALERT_OK);
    assert_non_null(strstr(b.data, "\"key\":\"evil\\\"}\\n\\u0001\""));
    buf_free(&b);
    /* a cap too small: error, and the buffer is as it was */
    buf_init(&b, 100);
    buf_append_str(&b, "x");
    assert_int_equal(alert_format(&a, &b), ALERT_ETOOBIG);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.data, "x");
    buf_free(&b);
    a.detector = NULL;
    assert_int_equal(alert_format(&a, &b), ALERT_EINVAL);
    assert_string_equal(alert_strerror(ALERT_ETOOBIG),
                        "alert document over its size cap");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firing_document),
        cmocka_unit_test(test_resolved_document),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_episode_id),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_escaping_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
