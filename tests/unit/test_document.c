/*
 * test_document.c - the SPEC section 3 document byte for byte, numbers,
 * escaping, the episode id and the size cap.
 */
#include "alerts/document.h"
#include "alerts/redact.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */

static const char *const key1 = "postgres_query";

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
    alert_episode_id("error_rate", &key1, 1, T0 + 60000, a->id);
    a->rule = "error_rate";
    a->kind = "ratio";
    a->ngroup = 1;
    a->group[0].name = "tool_name";
    a->group[0].value = "postgres_query";
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
    a->nlabels = 2;
    a->labels[0].name = "team";
    a->labels[0].value = "data";
    a->labels[1].name = "tier";
    a->labels[1].value = "1";
    a->description = "Too many failing database calls";
    a->runbook_url = "https://wiki.example.com/runbooks/db-errors";
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
        "\"rule\":\"error_rate\",\"kind\":\"ratio\","
        "\"group\":{\"tool_name\":\"postgres_query\"},"
        "\"key\":\"postgres_query\",\"state\":\"firing\","
        "\"severity\":\"error\",\"summary\":\"error rate 35.0% over 60s "
        "for tool postgres_query (threshold 20%, 41 of 117 calls)\","
        "\"value\":0.3504273504273504,\"threshold\":0.2,\"window_s\":60,"
        "\"started_at\":\"2026-03-10T02:01:00.000Z\",\"resolved_at\":null,"
        "\"labels\":{\"team\":\"data\",\"tier\":\"1\"},"
        "\"description\":\"Too many failing database calls\","
        "\"runbook_url\":\"https://wiki.example.com/runbooks/db-errors\","
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
    a.group[0].name = "agent_id";
    a.group[0].value = "bob@example.com";
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
    assert_non_null(strstr(b.data, "\"group\":{\"agent_id\":"
                                   "\"[REDACTED:email]\"}"));
    assert_non_null(strstr(b.data, "\"summary\":\"51 calls by agent "
                                   "[REDACTED:email] with Bearer "
                                   "[REDACTED:token]\""));
    assert_non_null(strstr(b.data, "\"agent_id\":\"[REDACTED:email]\""));
    assert_non_null(strstr(b.data, "\"session_id\":\"call "
                                   "[REDACTED:phone]\""));
    buf_free(&b);
}

/* A payload size that happens to be Luhn-valid is the alert's value, not
 * a card; in hash mode two agents stay apart and one agent keeps its tag
 * everywhere in the document. */
static void test_redaction_fields_and_hash(void **state)
{
    struct redact_opts o;
    struct alert a;
    struct alert_sample s;
    buf b;

    (void)state;
    fill(&a, &s);
    a.value = 4111111111111111.0;
    a.threshold = 1000000;
    a.summary = "a call for tool export_csv returned 4111111111111111 bytes "
                "(threshold 1000000 bytes)";
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format(&a, &b), ALERT_OK);
    assert_non_null(strstr(b.data, "\"summary\":\"a call for tool "
                                   "export_csv returned 4111111111111111 "
                                   "bytes (threshold 1000000 bytes)\""));
    assert_non_null(strstr(b.data, "\"value\":4111111111111111,"));
    buf_free(&b);

    redact_opts_default(&o);
    o.mode = REDACT_MODE_HASH;
    for (size_t i = 0; i < sizeof o.key; i++)
        o.key[i] = (unsigned char)i;
    fill(&a, &s);
    a.group[0].name = "agent_id";
    a.group[0].value = "alice@example.com";
    a.key = "alice@example.com";
    a.summary = "agent alice@example.com, not bob@example.com";
    snprintf(s.agent_id, sizeof s.agent_id, "alice@example.com");
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format_opt(&a, &o, &b), ALERT_OK);
    assert_null(strstr(b.data, "alice@"));
    assert_null(strstr(b.data, "bob@"));
    assert_non_null(strstr(b.data, "\"key\":\"[email#5e6c9d]\""));
    assert_non_null(strstr(b.data, "\"group\":{\"agent_id\":"
                                   "\"[email#5e6c9d]\"}"));
    assert_non_null(strstr(b.data, "\"summary\":\"agent [email#5e6c9d], "
                                   "not [email#54d3cb]\""));
    assert_non_null(strstr(b.data, "\"agent_id\":\"[email#5e6c9d]\""));
    buf_free(&b);
}

/* The configuration's default (cfg_redact_opts): identity keys hash, the
 * summary masks; a value a key field holds looks the same in the group,
 * the key, the summary and the sample; other text in the summary is
 * masked; a field of digits only is a number. */
static void test_redaction_per_field(void **state)
{
    struct redact_opts o;
    struct alert a;
    struct alert_sample s;
    buf b;

    (void)state;
    redact_opts_default(&o);
    memset(o.field, REDACT_MODE_HASH, sizeof o.field);
    o.field[REDACT_F_SUMMARY] = REDACT_MODE_MASK;
    for (size_t i = 0; i < sizeof o.key; i++)
        o.key[i] = (unsigned char)i;
    fill(&a, &s);
    a.ngroup = 2;
    a.group[0].name = "agent_id";
    a.group[0].value = "alice@example.com";
    a.group[1].name = "session_id";
    a.group[1].value = "4111111111111111";
    a.key = "alice@example.com/4111111111111111";
    a.value = 51;
    a.threshold = 50;
    a.window_s = 3600;
    a.summary = "51 calls in 3600s for agent alice@example.com session "
                "4111111111111111 (threshold 50); bob@example.com and "
                "5555555555554444 were seen";
    snprintf(s.agent_id, sizeof s.agent_id, "alice@example.com");
    snprintf(s.session_id, sizeof s.session_id, "4111111111111111");
    snprintf(s.record_id, sizeof s.record_id, "rec for bob@example.com");
    a.nlabels = 0;
    a.description = NULL;
    a.runbook_url = NULL;
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format_opt(&a, &o, &b), ALERT_OK);
    assert_string_equal(
        b.data,
        "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:01:01.500Z\","
        "\"data\":{\"id\":\"c83ebbe1ae03a82f64ca88ff92cf5b99\","
        "\"rule\":\"error_rate\",\"kind\":\"ratio\","
        "\"group\":{\"agent_id\":\"[email#5e6c9d]\","
        "\"session_id\":\"4111111111111111\"},"
        "\"key\":\"[email#5e6c9d]/4111111111111111\",\"state\":\"firing\","
        "\"severity\":\"error\",\"summary\":\"51 calls in 3600s for agent "
        "[email#5e6c9d] session 4111111111111111 (threshold 50); "
        "[email#54d3cb] and [REDACTED:card] were seen\","
        "\"value\":51,\"threshold\":50,\"window_s\":3600,"
        "\"started_at\":\"2026-03-10T02:01:00.000Z\",\"resolved_at\":null,"
        "\"labels\":{},\"description\":null,\"runbook_url\":null,"
        "\"sample\":{\"record_id\":\"rec for [email#54d3cb]\","
        "\"session_id\":\"4111111111111111\","
        "\"agent_id\":\"[email#5e6c9d]\",\"tool_name\":\"postgres_query\","
        "\"event_type\":\"tool_call_error\",\"error_code\":\"DB_TIMEOUT\"},"
        "\"source\":\"toolwatch\"}}");
    buf_free(&b);

    /* agent_id off, session_id mask, record_id off; the summary off: the
     * agent shows in the summary as in the group; a value two key fields
     * hold under two modes takes the stronger in the summary */
    o.field[REDACT_F_AGENT_ID] = REDACT_MODE_OFF;
    o.field[REDACT_F_SESSION_ID] = REDACT_MODE_MASK;
    o.field[REDACT_F_RECORD_ID] = REDACT_MODE_OFF;
    o.field[REDACT_F_SUMMARY] = REDACT_MODE_OFF;
    a.ngroup = 1;
    a.key = "alice@example.com";
    a.summary = "agent alice@example.com, bob@example.com, "
                "carol@example.com";
    snprintf(s.session_id, sizeof s.session_id, "s of bob@example.com");
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format_opt(&a, &o, &b), ALERT_OK);
    assert_non_null(strstr(b.data, "\"group\":{\"agent_id\":"
                                   "\"alice@example.com\"},"
                                   "\"key\":\"alice@example.com\""));
    assert_non_null(strstr(b.data, "\"summary\":\"agent alice@example.com, "
                                   "[REDACTED:email], carol@example.com\""));
    assert_non_null(strstr(b.data, "\"record_id\":\"rec for "
                                   "bob@example.com\","
                                   "\"session_id\":\"s of [REDACTED:email]\","
                                   "\"agent_id\":\"alice@example.com\""));
    buf_free(&b);

    /* metadata members: by name, else the "metadata" field's mode; a
     * group name that is no field ("rule") takes opts.mode */
    redact_opts_default(&o);
    o.field[REDACT_F_METADATA] = REDACT_MODE_OFF;
    o.nmeta = 1;
    snprintf(o.meta_name[0], sizeof o.meta_name[0], "owner");
    o.meta_mode[0] = REDACT_MODE_MASK;
    fill(&a, &s);
    a.ngroup = 3;
    a.group[0].name = "metadata.owner";
    a.group[0].value = "alice@example.com";
    a.group[1].name = "metadata.team";
    a.group[1].value = "bob@example.com";
    a.group[2].name = "rule";
    a.group[2].value = "carol@example.com";
    a.key = "alice@example.com/bob@example.com/carol@example.com";
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format_opt(&a, &o, &b), ALERT_OK);
    assert_non_null(strstr(b.data, "\"group\":{\"metadata.owner\":"
                                   "\"[REDACTED:email]\",\"metadata.team\":"
                                   "\"bob@example.com\",\"rule\":"
                                   "\"[REDACTED:email]\"},\"key\":"
                                   "\"[REDACTED:email]/bob@example.com/"
                                   "[REDACTED:email]\""));
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
                       "\"labels\":{"));
    assert_non_null(strstr(b.data, "\"sample\":{},"));
    buf_free(&b);
}

/* A kind with no value, threshold or window, a rule with no labels,
 * description or runbook, two group fields. */
static void test_nulls_and_group(void **state)
{
    static const char *const vals[2] = {"a-7", "delete_customer_records"};
    struct alert a;
    struct alert_sample s;
    buf b;

    (void)state;
    fill(&a, &s);
    a.rule = "newtool";
    a.kind = "new_value";
    a.ngroup = 2;
    a.group[0].name = "agent_id";
    a.group[0].value = vals[0];
    a.group[1].name = "tool_name";
    a.group[1].value = vals[1];
    a.key = "a-7/delete_customer_records";
    a.severity = "warning";
    a.summary = "agent a-7 used a tool it has not used before: "
                "delete_customer_records";
    a.value = NAN;
    a.threshold = NAN;
    a.window_s = -1;
    a.nlabels = 0;
    a.description = NULL;
    a.runbook_url = "";
    alert_episode_id(a.rule, vals, 2, T0 + 60000, a.id);
    buf_init(&b, ALERT_DOC_MAX);
    assert_int_equal(alert_format(&a, &b), ALERT_OK);
    assert_string_equal(
        b.data,
        "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:01:01.500Z\","
        /* BLAKE2b-128, checked with Python hashlib.blake2b */
        "\"data\":{\"id\":\"" "4e6591a8515ebd59aecd99f29e69de5b" "\","
        "\"rule\":\"newtool\",\"kind\":\"new_value\","
        "\"group\":{\"agent_id\":\"a-7\","
        "\"tool_name\":\"delete_customer_records\"},"
        "\"key\":\"a-7/delete_customer_records\",\"state\":\"firing\","
        "\"severity\":\"warning\",\"summary\":\"agent a-7 used a tool it "
        "has not used before: delete_customer_records\","
        "\"value\":null,\"threshold\":null,\"window_s\":null,"
        "\"started_at\":\"2026-03-10T02:01:00.000Z\",\"resolved_at\":null,"
        "\"labels\":{},\"description\":null,\"runbook_url\":null,"
        "\"sample\":{\"record_id\":\"rec-1\",\"session_id\":null,"
        "\"agent_id\":\"agent-6\",\"tool_name\":\"postgres_query\","
        "\"event_type\":\"tool_call_error\",\"error_code\":\"DB_TIMEOUT\"},"
        "\"source\":\"toolwatch\"}}");
    buf_free(&b);
}

static void test_episode_id(void **state)
{
    static const char *const v[3] = {"search", "searc", "h"};
    static const char *const ab[2] = {"ab", "c"}, *const a_bc[2] = {"a",
                                                                     "bc"};
    static const char *const global = "global";
    char a[ALERT_ID_HEX + 1], b[ALERT_ID_HEX + 1];

    (void)state;
    alert_episode_id("volume", v, 1, T0, a);
    assert_int_equal(strlen(a), 32);
    alert_episode_id("volume", v, 1, T0, b);
    assert_string_equal(a, b);
    alert_episode_id("volume", v, 1, T0 + 1, b);
    assert_string_not_equal(a, b);
    alert_episode_id("volume", v + 1, 1, T0, b);
    assert_string_not_equal(a, b);
    /* the separators: ("ab", "c") is not ("a", "bc"), nor one value */
    alert_episode_id("r", ab, 2, T0, a);
    alert_episode_id("r", a_bc, 2, T0, b);
    assert_string_not_equal(a, b);
    alert_episode_id("r", v + 1, 2, T0, b); /* "searc", "h" */
    alert_episode_id("r", v, 1, T0, a);     /* "search" */
    assert_string_not_equal(a, b);
    /* [] hashes the one value "global" (checked with hashlib) */
    alert_episode_id("stalled", NULL, 0, T0, a);
    alert_episode_id("stalled", &global, 1, T0, b);
    assert_string_equal(a, b);
    assert_string_equal(a, "e0434f6953920e453adf0ac43ca92895");
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
    a.rule = NULL;
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
        cmocka_unit_test(test_redaction_fields_and_hash),
        cmocka_unit_test(test_redaction_per_field),
        cmocka_unit_test(test_nulls_and_group),
        cmocka_unit_test(test_episode_id),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_escaping_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
