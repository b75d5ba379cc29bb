/*
 * test_decode.c - unit tests for consumer/decode.c: record decoding, field
 * validation and counting, timestamps as the decoder reads them (the
 * date-time grammar itself is base/clock.c's: test_clock).
 *
 * Every record is copied into a heap buffer of exactly its length before it
 * is decoded, so AddressSanitizer reports any read past `len` (stream data
 * is not NUL-terminated).  Expected instants were computed independently
 * (Python's datetime), not with the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "consumer/decode.h"
#include "iso8601_cases.h"

/* Decode `len` bytes of `json` from an exact-size heap copy. */
static int decode_n(struct event *ev, const char *json, size_t len,
                    const char *sse, event_counters *c)
{
    char *buf = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(buf);
    memcpy(buf, json, len);
    rc = event_decode(ev, buf, len, sse, sse != NULL ? strlen(sse) : 0, c);
    free(buf);
    return rc;
}

static int decode(struct event *ev, const char *json, event_counters *c)
{
    return decode_n(ev, json, strlen(json), NULL, c);
}

/* Counters hold exactly `decoded` and one non-zero reason (or none when
 * reason < 0). */
static void assert_counts(const event_counters *c, uint64_t decoded,
                          int reason, uint64_t n)
{
    int i;

    assert_int_equal(c->decoded, decoded);
    for (i = 0; i < EVENT_R_COUNT; i++) {
        if (i == reason)
            assert_int_equal(c->n[i], n);
        else
            assert_int_equal(c->n[i], 0);
    }
}

static const char full_record[] =
    "{\"record_id\":\"rec-0001\","
    "\"timestamp\":\"2026-03-10T02:47:23.123456+00:00\","
    "\"event_type\":\"tool_call_response\","
    "\"session_id\":\"sess-42\",\"agent_id\":\"agent-7\","
    "\"tool_name\":\"postgres_query\",\"tool_category\":\"database\","
    "\"response_status\":\"error\","
    "\"response_payload_size_bytes\":1048576,"
    "\"execution_duration_ms\":5123.5,"
    "\"tokens_consumed\":1500,\"cost_usd\":0.0042,"
    "\"error_code\":\"E_TIMEOUT\","
    "\"error_message\":\"query timed out after 5s\","
    "\"downstream_system\":\"postgres\","
    "\"downstream_endpoint\":\"db.internal:5432/orders\","
    "\"correlation_id\":\"corr-9\","
    "\"request_payload_sha256\":"
    "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
    "\"metadata\":{\"region\":\"eu\",\"tags\":[1,2,{\"a\":null}]},"
    "\"unknown_field\":[true,false]}";

/* ---- whole records --------------------------------------------------- */

static void test_full_canonical_record(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev, full_record, &c), EVENT_OK);
    assert_int_equal(ev.has, EVENT_HAS_TIMESTAMP | EVENT_HAS_PAYLOAD
                                 | EVENT_HAS_DURATION | EVENT_HAS_TOKENS
                                 | EVENT_HAS_COST);
    assert_int_equal(ev.type, EVENT_TOOL_CALL_RESPONSE);
    assert_int_equal(ev.status, EVENT_STATUS_ERROR);
    assert_int_equal(ev.ts_ms, TS_SPEC);
    assert_int_equal(ev.payload_bytes, 1048576);
    assert_true(ev.duration_ms == 5123.5);
    assert_true(ev.tokens == 1500.0);
    assert_true(ev.cost_usd == 0.0042);
    assert_string_equal(ev.record_id, "rec-0001");
    assert_string_equal(ev.session_id, "sess-42");
    assert_string_equal(ev.agent_id, "agent-7");
    assert_string_equal(ev.correlation_id, "corr-9");
    assert_string_equal(ev.tool_name, "postgres_query");
    assert_string_equal(ev.tool_category, "database");
    assert_string_equal(ev.downstream_system, "postgres");
    assert_string_equal(ev.error_code, "E_TIMEOUT");
    assert_string_equal(ev.request_sha256,
                        "9f86d081884c7d659a2feaa0c55ad015"
                        "a3bf4f1b2b0b822cd15d6c15b0f00a08");
    assert_string_equal(ev.error_message, "query timed out after 5s");
    assert_string_equal(ev.downstream_endpoint, "db.internal:5432/orders");
    assert_counts(&c, 1, -1, 0);
}

/* Every member "absent": numbers 0, strings "" (bytes after a NUL are
 * unspecified). */
static void assert_event_empty(const struct event *ev)
{
    assert_int_equal(ev->has, 0);
    assert_int_equal(ev->type, EVENT_TYPE_UNKNOWN);
    assert_int_equal(ev->status, EVENT_STATUS_NONE);
    assert_int_equal(ev->ts_ms, 0);
    assert_int_equal(ev->payload_bytes, 0);
    assert_true(ev->duration_ms == 0.0 && ev->tokens == 0.0
                && ev->cost_usd == 0.0);
    assert_string_equal(ev->record_id, "");
    assert_string_equal(ev->session_id, "");
    assert_string_equal(ev->agent_id, "");
    assert_string_equal(ev->correlation_id, "");
    assert_string_equal(ev->tool_name, "");
    assert_string_equal(ev->tool_category, "");
    assert_string_equal(ev->downstream_system, "");
    assert_string_equal(ev->error_code, "");
    assert_string_equal(ev->request_sha256, "");
    assert_string_equal(ev->error_message, "");
    assert_string_equal(ev->downstream_endpoint, "");
}

/* 1 when every member is "absent" (assert_event_empty without asserts). */
static int event_is_empty(const struct event *ev)
{
    return ev->has == 0 && ev->type == EVENT_TYPE_UNKNOWN
           && ev->status == EVENT_STATUS_NONE && ev->ts_ms == 0
           && ev->payload_bytes == 0 && ev->duration_ms == 0.0
           && ev->tokens == 0.0 && ev->cost_usd == 0.0
           && ev->record_id[0] == '\0' && ev->session_id[0] == '\0'
           && ev->agent_id[0] == '\0' && ev->correlation_id[0] == '\0'
           && ev->tool_name[0] == '\0' && ev->tool_category[0] == '\0'
           && ev->downstream_system[0] == '\0' && ev->error_code[0] == '\0'
           && ev->request_sha256[0] == '\0' && ev->error_message[0] == '\0'
           && ev->downstream_endpoint[0] == '\0';
}

/* Every known key, alone with a valid value, sets its member; every near
 * miss of every key (each proper prefix, each one-byte change at every
 * position, one byte more, and the key with a case change) is ignored:
 * nothing set, nothing counted but the record. */
static void test_every_key_and_near_miss(void **state)
{
    static const struct {
        const char *key;
        const char *value;
    } keys[] = {
        {"record_id", "\"r\""},
        {"event_id", "\"r\""},
        {"timestamp", "\"2026-03-10T02:47:23.123Z\""},
        {"event_type", "\"tool_call_error\""},
        {"session_id", "\"s\""},
        {"agent_id", "\"a\""},
        {"tool_name", "\"t\""},
        {"tool_category", "\"c\""},
        {"response_status", "\"error\""},
        {"response_payload_size_bytes", "5"},
        {"execution_duration_ms", "5"},
        {"latency_ms", "5"},
        {"tokens_consumed", "5"},
        {"token_count_input", "5"},
        {"token_count_output", "5"},
        {"cost_usd", "5"},
        {"error_code", "\"E\""},
        {"error_message", "\"m\""},
        {"downstream_system", "\"d\""},
        {"downstream_endpoint", "\"e\""},
        {"correlation_id", "\"c\""},
        {"request_payload_sha256", "\"h\""},
    };
    char json[128], key[64];
    struct event ev;
    event_counters c;
    unsigned misses = 0;

    (void)state;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t n = strlen(keys[k].key);

        memset(&c, 0, sizeof c);
        snprintf(json, sizeof json, "{\"%s\":%s}", keys[k].key,
                 keys[k].value);
        assert_int_equal(decode(&ev, json, &c), EVENT_OK);
        assert_false(event_is_empty(&ev));
        assert_counts(&c, 1, -1, 0);
        /* near misses */
        for (size_t variant = 0; variant < 3 * n + 2; variant++) {
            memcpy(key, keys[k].key, n + 1);
            if (variant < n) {                  /* proper prefix */
                key[variant] = '\0';
            } else if (variant < 2 * n) {       /* one byte changed */
                key[variant - n] = key[variant - n] == 'x' ? 'y' : 'x';
            } else if (variant < 3 * n) {       /* upper case */
                char *ch = &key[variant - 2 * n];
                if (*ch < 'a' || *ch > 'z')
                    continue;
                *ch = (char)(*ch - 'a' + 'A');
            } else if (variant == 3 * n) {      /* one byte more */
                key[n] = '_';
                key[n + 1] = '\0';
            } else {                            /* a byte more, a letter */
                key[n] = 's';
                key[n + 1] = '\0';
            }
            memset(&c, 0, sizeof c);
            snprintf(json, sizeof json, "{\"%s\":%s}", key, keys[k].value);
            assert_int_equal(decode(&ev, json, &c), EVENT_OK);
            if (!event_is_empty(&ev))
                fail_msg("key \"%s\" (a near miss of %s) was taken", key,
                         keys[k].key);
            assert_counts(&c, 1, -1, 0);
            misses++;
        }
    }
    assert_true(misses > 800); /* the loop ran: about 22 * 40 variants */
}

static void test_empty_object(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    memset(&ev, 0xAA, sizeof ev);
    assert_int_equal(decode(&ev, " {} \r\n\t", &c), EVENT_OK);
    assert_event_empty(&ev);
    assert_counts(&c, 1, -1, 0);
    /* a full record, then an empty one in the same struct: nothing of the
     * first shows through */
    assert_int_equal(decode(&ev, "{\"record_id\":\"r\",\"tool_name\":\"t\","
                            "\"timestamp\":\"2026-03-10T02:47:23.123Z\","
                            "\"execution_duration_ms\":5,"
                            "\"event_type\":\"tool_call_error\","
                            "\"response_status\":\"error\"}", &c),
                     EVENT_OK);
    assert_string_equal(ev.tool_name, "t");
    assert_int_equal(decode(&ev, "{}", &c), EVENT_OK);
    assert_event_empty(&ev);
}

static void test_unknown_fields_and_case(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    /* Keys are case-sensitive; near misses of every length are ignored. */
    assert_int_equal(decode(&ev,
                            "{\"Tool_Name\":\"x\",\"tool_namE\":\"x\","
                            "\"toolname\":\"x\",\"tool_names\":\"x\","
                            "\"event_ix\":\"x\",\"timestampz\":\"x\","
                            "\"correlation_ix\":\"x\",\"e\":1,\"\":2,"
                            "\"response_payload_size_bytez\":3,"
                            "\"metadata\":{\"tool_name\":\"inner\"},"
                            "\"tool_name\":\"outer\"}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.tool_name, "outer");
    assert_string_equal(ev.record_id, "");
    assert_int_equal(ev.has, 0);
    assert_counts(&c, 1, -1, 0);
}

/* A known key given twice: the record is refused and counted under its own
 * reason (a receiver taking the last value would see another record than
 * the rules saw); before any field is decoded, so no other reason counts.
 * An unknown key twice is ignored, as unknown keys are. */
static void test_duplicate_known_key_refused(void **state)
{
    static const char *const dups[] = {
        "{\"tool_name\":\"first\",\"tool_name\":\"second\"}",
        "{\"tool_category\":5,\"tool_name\":\"t\",\"tool_category\":\"db\"}",
        "{\"record_id\":\"a\",\"event_id\":\"b\",\"record_id\":\"c\"}",
        "{\"execution_duration_ms\":1,\"execution_duration_ms\":9000}",
        "{\"error_code\":null,\"error_code\":\"E\"}",
        "{\"metadata\":{},\"tool_name\":\"t\",\"metadata\":{\"a\":\"b\"}}",
        /* after an escape, the same key */
        "{\"tool_name\":\"a\",\"tool_n\\u0061me\":\"b\"}",
    };
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++) {
        assert_int_equal(decode(&ev, dups[i], &c), EVENT_EDUPKEY);
        assert_counts(&c, 0, EVENT_R_DUPLICATE_KEY, i + 1);
    }
    assert_string_equal(event_reason_name(EVENT_R_DUPLICATE_KEY),
                        "duplicate_key");
    assert_string_equal(event_strerror(EVENT_EDUPKEY),
                        "event data gives a known key twice");
    /* not duplicates: an unknown key twice, a key twice inside an
     * object the decoder does not read, an alias beside its key */
    memset(&c, 0, sizeof c);
    assert_int_equal(decode(&ev,
                            "{\"x\":1,\"tool_name\":\"t\",\"x\":2,"
                            "\"metadata\":{\"a\":1,\"a\":2},"
                            "\"latency_ms\":5,\"execution_duration_ms\":7}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.tool_name, "t");
    assert_true(ev.duration_ms == 7);
    assert_counts(&c, 1, -1, 0);
}

/* metadata members the rules name are known keys too: given twice in
 * `metadata`, the record is refused; other members may repeat. */
static void test_duplicate_metadata_member(void **state)
{
    static const char dup[] =
        "{\"tool_name\":\"t\",\"metadata\":{\"region\":\"eu\",\"x\":1,"
        "\"region\":\"us\"}}";
    static const char ok[] =
        "{\"tool_name\":\"t\",\"metadata\":{\"region\":\"eu\",\"x\":1,"
        "\"x\":2}}";
    struct event_meta_names meta = {.n = 1, .name = {"region"}};
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(event_decode_meta(&ev, dup, sizeof dup - 1, NULL, 0,
                                       &meta, &c),
                     EVENT_EDUPKEY);
    assert_counts(&c, 0, EVENT_R_DUPLICATE_KEY, 1);
    /* without rules naming it, region is an unknown member */
    memset(&c, 0, sizeof c);
    assert_int_equal(event_decode(&ev, dup, sizeof dup - 1, NULL, 0, &c),
                     EVENT_OK);
    assert_counts(&c, 1, -1, 0);
    assert_int_equal(event_decode_meta(&ev, ok, sizeof ok - 1, NULL, 0,
                                       &meta, &c),
                     EVENT_OK);
    assert_string_equal(ev.meta[0], "eu");
    assert_int_equal(ev.meta_has, 1);
    assert_counts(&c, 2, -1, 0);
}

static void test_event_zeroed_on_error(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    memset(&ev, 0x5A, sizeof ev);
    assert_int_equal(decode(&ev, "[1]", &c), EVENT_ENOTOBJECT);
    assert_event_empty(&ev);
    memset(&ev, 0x5A, sizeof ev);
    assert_int_equal(decode(&ev, "{\"a\":", &c), EVENT_ENOTJSON);
    assert_event_empty(&ev);
}

/* event_peek_record_id: the id bytes when record_id is the first key with
 * a plain string value; nothing otherwise; never a read past len (exact
 * heap copies). */
static void test_peek_record_id(void **state)
{
    static const struct {
        const char *data;
        const char *id; /* NULL: no hint */
    } rows[] = {
        {"{\"record_id\":\"rec-1\",\"x\":1}", "rec-1"},
        {" \t{ \"record_id\" :  \"r\" }", "r"},
        {"{\"record_id\":\"a b\xc3\xa9\"}", "a b\xc3\xa9"},
        {"{\"record_id\":\"rec-1\"", "rec-1"},      /* not JSON: still */
        {"{\"x\":1,\"record_id\":\"r\"}", NULL},   /* not the first key */
        {"{\"record_id\":\"a\\\"b\"}", NULL},      /* an escape */
        {"{\"record_id\":\"\"}", NULL},              /* empty */
        {"{\"record_id\":12}", NULL},                /* not a string */
        {"{\"record_id\":\"rec-1", NULL},            /* cut */
        {"{\"record_id\"", NULL},
        {"{\"record_i\":\"r\"}", NULL},
        {"{\"event_id\":\"r\"}", NULL},
        {"[\"record_id\",\"r\"]", NULL},
        {"", NULL},
    };
    char big[EVENT_ID_MAX + 40];
    const char *id;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t len = strlen(rows[i].data);
        char *buf = malloc(len > 0 ? len : 1);
        int got;

        assert_non_null(buf);
        memcpy(buf, rows[i].data, len);
        got = event_peek_record_id(buf, len, &id, &n);
        if (rows[i].id == NULL) {
            assert_int_equal(got, 0);
        } else {
            assert_int_equal(got, 1);
            assert_int_equal(n, strlen(rows[i].id));
            assert_memory_equal(id, rows[i].id, n);
            assert_true(id > buf && id + n < buf + len);
        }
        free(buf);
    }
    /* 127 bytes fit a record id, 128 do not */
    for (size_t idn = EVENT_ID_MAX - 1; idn <= EVENT_ID_MAX; idn++) {
        size_t len = (size_t)snprintf(big, sizeof big, "{\"record_id\":\"%*s\"}",
                                      (int)idn, "");
        memset(big + 14, 'x', idn);
        assert_int_equal(event_peek_record_id(big, len, &id, &n),
                         idn < EVENT_ID_MAX);
    }
}

/* ---- timestamps through the decoder ----------------------------------- */

/* Every form of TS_SPEC (test_clock: clock_parse_iso8601() gives TS_SPEC
 * for each) decodes to TS_SPEC. */
static void test_timestamp_equal_instants(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ISO_CASES(iso_same_instant); i++) {
        char json[128];
        struct event ev;
        event_counters c = { 0 };

        snprintf(json, sizeof json, "{\"timestamp\":\"%s\"}",
                 iso_same_instant[i]);
        assert_int_equal(decode(&ev, json, &c), EVENT_OK);
        assert_int_equal(ev.has, EVENT_HAS_TIMESTAMP);
        assert_int_equal(ev.ts_ms, TS_SPEC);
        assert_counts(&c, 1, -1, 0);
    }
}

/* Every text clock_parse_iso8601() refuses (test_clock) is a missing
 * timestamp, counted, and the rest of the record still decodes. */
static void test_bad_timestamps_counted(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ISO_CASES(iso_bad); i++) {
        char json[128];
        struct event ev;
        event_counters c = { 0 };

        snprintf(json, sizeof json,
                 "{\"timestamp\":\"%s\",\"tool_name\":\"t\"}", iso_bad[i]);
        assert_int_equal(decode(&ev, json, &c), EVENT_OK);
        assert_int_equal(ev.has & EVENT_HAS_TIMESTAMP, 0);
        assert_int_equal(ev.ts_ms, 0);
        assert_string_equal(ev.tool_name, "t");
        assert_counts(&c, 1, EVENT_R_BAD_TIMESTAMP, 1);
    }
}

/* The decoder keeps the value of the last time's first 16 bytes (the
 * minute): a record decoded after any other gets exactly what
 * clock_parse_iso8601() says, for every pair of times from this list (same
 * minute, other minute, bad tail behind a good head, bad head). */
static void test_timestamp_memo_pairs(void **state)
{
    static const char *const ts[] = {
        "2026-03-10T02:47:23.123Z", "2026-03-10T02:47:59.999+05:30",
        "2026-03-10T02:47:60Z", "2026-03-10T02:47:61Z",
        "2026-03-10T02:47:23", "2026-03-10T02:48:00Z",
        "2026-03-10T02:47:2", "2026-03-10 02:47:23Z",
        "2026-02-29T02:47:23Z", "2024-02-29T02:47:23Z",
        "2026-03-10T02:47", "2026-03-10T02:47:23.1234567891Z",
        "1970-01-01T00:00:00+00:01", "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-00:01",
    };
    const size_t n = sizeof ts / sizeof ts[0];

    (void)state;
    for (size_t i = 0; i < n * n; i++) {
        const char *a = ts[i / n], *b = ts[i % n];
        char json[128];
        struct event ev;
        event_counters c = { 0 };
        int64_t want = -1;
        int ok = clock_parse_iso8601(b, strlen(b), &want) == 0;

        snprintf(json, sizeof json, "{\"timestamp\":\"%s\"}", a);
        assert_int_equal(decode(&ev, json, &c), EVENT_OK);
        snprintf(json, sizeof json, "{\"timestamp\":\"%s\"}", b);
        assert_int_equal(decode(&ev, json, &c), EVENT_OK);
        if (ok != ((ev.has & EVENT_HAS_TIMESTAMP) != 0) ||
            (ok && ev.ts_ms != want))
            fail_msg("\"%s\" after \"%s\": has %d, %lld; want %d, %lld", b,
                     a, (ev.has & EVENT_HAS_TIMESTAMP) != 0,
                     (long long)ev.ts_ms, ok, (long long)want);
    }
}

static void test_timestamp_wrong_type(void **state)
{
    static const char *const bad[] = {
        "{\"timestamp\":1773110843123}", "{\"timestamp\":null}",
        "{\"timestamp\":[\"2026-03-10T02:47:23Z\"]}",
        "{\"timestamp\":{}}", "{\"timestamp\":true}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct event ev;
        event_counters c = { 0 };

        assert_int_equal(decode(&ev, bad[i], &c), EVENT_OK);
        assert_int_equal(ev.has, 0);
        assert_counts(&c, 1, EVENT_R_WRONG_TYPE, 1);
    }
}

/* ---- aliases and fallbacks ------------------------------------------- */

static void test_alias_event_id(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev, "{\"event_id\":\"ev-1\"}", &c), EVENT_OK);
    assert_string_equal(ev.record_id, "ev-1");
    assert_int_equal(decode(&ev,
                            "{\"event_id\":\"ev-1\",\"record_id\":\"rec-1\"}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.record_id, "rec-1");
    assert_int_equal(decode(&ev,
                            "{\"record_id\":\"rec-1\",\"event_id\":\"ev-1\"}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.record_id, "rec-1");
    assert_counts(&c, 3, -1, 0);
}

static void test_alias_latency_ms(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev, "{\"latency_ms\":250}", &c), EVENT_OK);
    assert_int_equal(ev.has, EVENT_HAS_DURATION);
    assert_true(ev.duration_ms == 250.0);
    assert_int_equal(decode(&ev,
                            "{\"latency_ms\":250,"
                            "\"execution_duration_ms\":12.25}",
                            &c),
                     EVENT_OK);
    assert_true(ev.duration_ms == 12.25);
    assert_counts(&c, 2, -1, 0);
}

static void test_alias_tokens(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev,
                            "{\"token_count_input\":100,"
                            "\"token_count_output\":23}",
                            &c),
                     EVENT_OK);
    assert_int_equal(ev.has, EVENT_HAS_TOKENS);
    assert_true(ev.tokens == 123.0);
    assert_int_equal(decode(&ev, "{\"token_count_input\":100}", &c),
                     EVENT_OK);
    assert_true(ev.tokens == 100.0);
    assert_int_equal(decode(&ev, "{\"token_count_output\":7}", &c),
                     EVENT_OK);
    assert_true(ev.tokens == 7.0);
    assert_int_equal(decode(&ev,
                            "{\"token_count_input\":100,"
                            "\"tokens_consumed\":5,"
                            "\"token_count_output\":23}",
                            &c),
                     EVENT_OK);
    assert_true(ev.tokens == 5.0);
    assert_counts(&c, 4, -1, 0);
}

static void test_alias_tokens_partial_bad(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    /* A bad half counts as 0 (and is counted); both bad: no tokens. */
    assert_int_equal(decode(&ev,
                            "{\"token_count_input\":\"100\","
                            "\"token_count_output\":23}",
                            &c),
                     EVENT_OK);
    assert_int_equal(ev.has, EVENT_HAS_TOKENS);
    assert_true(ev.tokens == 23.0);
    assert_counts(&c, 1, EVENT_R_WRONG_TYPE, 1);
    memset(&c, 0, sizeof c);
    assert_int_equal(decode(&ev,
                            "{\"token_count_input\":-1,"
                            "\"token_count_output\":-2}",
                            &c),
                     EVENT_OK);
    assert_int_equal(ev.has, 0);
    assert_true(ev.tokens == 0.0);
    assert_counts(&c, 1, EVENT_R_BAD_VALUE, 2);
    memset(&c, 0, sizeof c);
    /* The sum of two finite values can overflow. */
    assert_int_equal(decode(&ev,
                            "{\"token_count_input\":1.7e308,"
                            "\"token_count_output\":1.7e308}",
                            &c),
                     EVENT_OK);
    assert_int_equal(ev.has, 0);
    assert_counts(&c, 1, EVENT_R_BAD_VALUE, 1);
}

static void test_bad_canonical_does_not_fall_back(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev,
                            "{\"record_id\":7,\"event_id\":\"ev-1\","
                            "\"execution_duration_ms\":-5,"
                            "\"latency_ms\":250,"
                            "\"tokens_consumed\":\"9\","
                            "\"token_count_input\":1}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.record_id, "");
    assert_int_equal(ev.has, 0);
    assert_int_equal(c.n[EVENT_R_WRONG_TYPE], 2);
    assert_int_equal(c.n[EVENT_R_BAD_VALUE], 1);
    assert_int_equal(c.decoded, 1);
}

static void test_sse_type_fallback(void **state)
{
    struct event ev;
    event_counters c = { 0 };
    static const char rec[] = "{\"tool_name\":\"x\"}";
    static const char typed[] = "{\"event_type\":\"tool_call_request\"}";

    (void)state;
    assert_int_equal(decode_n(&ev, rec, strlen(rec), "tool_call_error", &c),
                     EVENT_OK);
    assert_int_equal(ev.type, EVENT_TOOL_CALL_ERROR);
    assert_int_equal(decode_n(&ev, rec, strlen(rec), "agent_session_start",
                              &c),
                     EVENT_OK);
    assert_int_equal(ev.type, EVENT_SESSION_START);
    assert_int_equal(decode_n(&ev, rec, strlen(rec), "message", &c),
                     EVENT_OK);
    assert_int_equal(ev.type, EVENT_TYPE_UNKNOWN);
    assert_int_equal(decode_n(&ev, rec, strlen(rec), NULL, &c), EVENT_OK);
    assert_int_equal(ev.type, EVENT_TYPE_UNKNOWN);
    /* The record's own event_type wins. */
    assert_int_equal(decode_n(&ev, typed, strlen(typed), "tool_call_error",
                              &c),
                     EVENT_OK);
    assert_int_equal(ev.type, EVENT_TOOL_CALL_REQUEST);
    /* sse_type is length-delimited, not NUL-terminated. */
    assert_int_equal(event_decode(&ev, rec, strlen(rec),
                                  "agent_session_endXYZ", 17, &c),
                     EVENT_OK);
    assert_int_equal(ev.type, EVENT_SESSION_END);
    assert_int_equal(event_decode(&ev, rec, strlen(rec), "tool_call_error",
                                  14, &c),
                     EVENT_OK);
    assert_int_equal(ev.type, EVENT_TYPE_UNKNOWN);
    assert_counts(&c, 7, -1, 0);
}

static void test_event_types(void **state)
{
    static const struct {
        const char *json;
        enum event_type t;
    } cases[] = {
        { "{\"event_type\":\"tool_call_request\"}", EVENT_TOOL_CALL_REQUEST },
        { "{\"event_type\":\"tool_call_response\"}",
          EVENT_TOOL_CALL_RESPONSE },
        { "{\"event_type\":\"tool_call_error\"}", EVENT_TOOL_CALL_ERROR },
        { "{\"event_type\":\"agent_session_start\"}", EVENT_SESSION_START },
        { "{\"event_type\":\"agent_session_end\"}", EVENT_SESSION_END },
        { "{\"event_type\":\"tool_call_retry\"}", EVENT_TYPE_UNKNOWN },
        { "{\"event_type\":\"TOOL_CALL_ERROR\"}", EVENT_TYPE_UNKNOWN },
        { "{\"event_type\":\"tool_call_error \"}", EVENT_TYPE_UNKNOWN },
        { "{\"event_type\":\"tool_call_err\"}", EVENT_TYPE_UNKNOWN },
        { "{\"event_type\":\"\"}", EVENT_TYPE_UNKNOWN },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event ev;
        event_counters c = { 0 };

        /* An unknown string is not an error, and beats the SSE type. */
        assert_int_equal(decode_n(&ev, cases[i].json, strlen(cases[i].json),
                                  "tool_call_error", &c),
                         EVENT_OK);
        assert_int_equal(ev.type, cases[i].t);
        assert_counts(&c, 1, -1, 0);
    }
}

static void test_response_status(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev, "{\"response_status\":\"success\"}", &c), 0);
    assert_int_equal(ev.status, EVENT_STATUS_SUCCESS);
    assert_int_equal(decode(&ev, "{\"response_status\":\"error\"}", &c), 0);
    assert_int_equal(ev.status, EVENT_STATUS_ERROR);
    assert_int_equal(decode(&ev, "{\"response_status\":\"pending\"}", &c), 0);
    assert_int_equal(ev.status, EVENT_STATUS_PENDING);
    assert_int_equal(decode(&ev, "{\"response_status\":\"Error\"}", &c), 0);
    assert_int_equal(ev.status, EVENT_STATUS_NONE);
    assert_int_equal(decode(&ev, "{\"response_status\":\"errors\"}", &c), 0);
    assert_int_equal(ev.status, EVENT_STATUS_NONE);
    assert_counts(&c, 5, -1, 0);
    assert_int_equal(decode(&ev, "{\"response_status\":500}", &c), 0);
    assert_int_equal(ev.status, EVENT_STATUS_NONE);
    assert_counts(&c, 6, EVENT_R_WRONG_TYPE, 1);
}

/* ---- wrong types ----------------------------------------------------- */

static void test_wrong_types_counted(void **state)
{
    static const char *const keys[] = {
        "record_id", "event_id", "timestamp", "event_type", "session_id",
        "agent_id", "tool_name", "tool_category", "response_status",
        "response_payload_size_bytes", "execution_duration_ms", "latency_ms",
        "tokens_consumed", "token_count_input", "token_count_output",
        "cost_usd", "error_code", "error_message", "downstream_system",
        "downstream_endpoint", "correlation_id", "request_payload_sha256",
    };
    /* Values wrong for every key: numbers are wrong for the string keys and
     * strings for the number keys, so each key gets both kinds. */
    static const char *const values[] = { "true", "[]", "{}", "[\"x\"]" };
    size_t k, v;

    (void)state;
    for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        for (v = 0; v < sizeof values / sizeof values[0]; v++) {
            char json[256];
            struct event ev;
            event_counters c = { 0 };

            snprintf(json, sizeof json, "{\"%s\":%s}", keys[k], values[v]);
            memset(&ev, 0x77, sizeof ev);
            assert_int_equal(decode(&ev, json, &c), EVENT_OK);
            /* The field is missing: every member is still "absent". */
            assert_event_empty(&ev);
            assert_counts(&c, 1, EVENT_R_WRONG_TYPE, 1);
        }
    }
}

static void test_wrong_types_string_vs_number(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev,
                            "{\"tool_name\":5,\"agent_id\":1.5,"
                            "\"session_id\":null,"
                            "\"response_payload_size_bytes\":\"100\","
                            "\"execution_duration_ms\":\"5\","
                            "\"cost_usd\":null,"
                            "\"tool_category\":\"db\"}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.tool_name, "");
    assert_string_equal(ev.agent_id, "");
    assert_string_equal(ev.session_id, "");
    assert_string_equal(ev.tool_category, "db");
    assert_int_equal(ev.has, 0);
    assert_int_equal(ev.payload_bytes, 0);
    assert_counts(&c, 1, EVENT_R_WRONG_TYPE, 6);
}

static void test_null_error_fields(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev,
                            "{\"error_code\":null,\"error_message\":null,"
                            "\"tool_name\":\"t\"}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.error_code, "");
    assert_string_equal(ev.error_message, "");
    assert_string_equal(ev.tool_name, "t");
    assert_counts(&c, 1, -1, 0);
    assert_int_equal(decode(&ev,
                            "{\"error_code\":\"\",\"error_message\":"
                            "\"line1\\nline2 \\\"q\\\" \\u00e9\"}",
                            &c),
                     EVENT_OK);
    assert_string_equal(ev.error_code, "");
    assert_string_equal(ev.error_message, "line1\nline2 \"q\" \xc3\xa9");
    assert_counts(&c, 2, -1, 0);
}

/* ---- strings --------------------------------------------------------- */

/* {"<key>":"<n x 'a'><tail>"} */
static char *record_with(const char *key, size_t n, const char *tail)
{
    size_t len = strlen(key) + n + strlen(tail) + 16;
    char *s = malloc(len);
    size_t p;

    assert_non_null(s);
    p = (size_t)snprintf(s, len, "{\"%s\":\"", key);
    memset(s + p, 'a', n);
    p += n;
    snprintf(s + p, len - p, "%s\"}", tail);
    return s;
}

static void test_truncate_ascii(void **state)
{
    struct event ev;
    event_counters c = { 0 };
    char *s;

    (void)state;
    s = record_with("tool_name", EVENT_NAME_MAX - 1, ""); /* fits */
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.tool_name), EVENT_NAME_MAX - 1);
    assert_counts(&c, 1, -1, 0);
    free(s);
    s = record_with("tool_name", EVENT_NAME_MAX, ""); /* one too many */
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.tool_name), EVENT_NAME_MAX - 1);
    assert_counts(&c, 2, EVENT_R_TRUNCATED, 1);
    free(s);
    s = record_with("error_message", 100000, "");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.error_message), EVENT_TEXT_MAX - 1);
    assert_counts(&c, 3, EVENT_R_TRUNCATED, 2);
    free(s);
}

static void test_truncate_utf8_boundary(void **state)
{
    struct event ev;
    event_counters c = { 0 };
    char *s;

    (void)state;
    /* 126 'a' + U+20AC (3 bytes): bytes 126..128, the array holds 127
     * characters: the euro sign would straddle the end, so it goes whole. */
    s = record_with("tool_name", EVENT_NAME_MAX - 2, "\xe2\x82\xac");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.tool_name), EVENT_NAME_MAX - 2);
    assert_int_equal(ev.tool_name[EVENT_NAME_MAX - 3], 'a');
    assert_counts(&c, 1, EVENT_R_TRUNCATED, 1);
    free(s);
    /* 124 'a' + euro ends at byte 127 exactly: it fits ... */
    s = record_with("tool_name", EVENT_NAME_MAX - 4, "\xe2\x82\xac");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.tool_name), EVENT_NAME_MAX - 1);
    assert_string_equal(ev.tool_name + EVENT_NAME_MAX - 4, "\xe2\x82\xac");
    assert_counts(&c, 2, EVENT_R_TRUNCATED, 1);
    free(s);
    /* ... unless one more character follows. */
    s = record_with("tool_name", EVENT_NAME_MAX - 4, "\xe2\x82\xac" "b");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_string_equal(ev.tool_name + EVENT_NAME_MAX - 4, "\xe2\x82\xac");
    assert_counts(&c, 3, EVENT_R_TRUNCATED, 2);
    free(s);
    /* A 4-byte character (U+1F600, written as a surrogate pair escape)
     * starting 1, 2 or 3 bytes before the end is dropped whole. */
    s = record_with("error_code", EVENT_CODE_MAX - 2, "\\ud83d\\ude00");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.error_code), EVENT_CODE_MAX - 2);
    free(s);
    s = record_with("error_code", EVENT_CODE_MAX - 4, "\xf0\x9f\x98\x80");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.error_code), EVENT_CODE_MAX - 4);
    free(s);
    s = record_with("error_code", EVENT_CODE_MAX - 5, "\xf0\x9f\x98\x80");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.error_code), EVENT_CODE_MAX - 1);
    free(s);
    assert_counts(&c, 6, EVENT_R_TRUNCATED, 4);
}

static void test_truncate_not_utf8(void **state)
{
    struct event ev;
    event_counters c = { 0 };
    char *s;

    (void)state;
    /* Not UTF-8 (a run of continuation bytes): cut at the array's end. */
    s = record_with("request_payload_sha256", EVENT_SHA_MAX - 4,
                    "\x80\x80\x80\x80\x80\x80");
    assert_int_equal(decode(&ev, s, &c), EVENT_OK);
    assert_int_equal(strlen(ev.request_sha256), EVENT_SHA_MAX - 1);
    assert_counts(&c, 1, EVENT_R_TRUNCATED, 1);
    free(s);
}

/* Every length from 0 to past the array, for each array size: the string
 * is copied whole, with its NUL, or cut at size - 1 and counted.  The
 * values are not all one letter, so a block copied from the wrong offset
 * shows, and a record with a longer value is decoded first into the same
 * struct, so a NUL left out shows too. */
static void test_copy_every_length(void **state)
{
    static const struct {
        const char *key;
        size_t off, size;
    } fields[] = {
        {"record_id", offsetof(struct event, record_id), EVENT_ID_MAX},
        {"tool_name", offsetof(struct event, tool_name), EVENT_NAME_MAX},
        {"error_code", offsetof(struct event, error_code), EVENT_CODE_MAX},
        {"request_payload_sha256", offsetof(struct event, request_sha256),
         EVENT_SHA_MAX},
        {"error_message", offsetof(struct event, error_message),
         EVENT_TEXT_MAX},
    };
    char want[EVENT_TEXT_MAX + 64], json[EVENT_TEXT_MAX + 128];
    struct event ev;
    event_counters c;

    (void)state;
    for (size_t i = 0; i < sizeof want; i++)
        want[i] = (char)('a' + i % 23);
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        size_t size = fields[f].size;

        for (size_t n = 0; n <= size + 40; n++) {
            const char *got = (const char *)&ev + fields[f].off;
            size_t keep = n < size ? n : size - 1;

            snprintf(json, sizeof json, "{\"%s\":\"%.*s\"}", fields[f].key,
                     (int)(size + 40), want);
            memset(&c, 0, sizeof c);
            assert_int_equal(decode(&ev, json, &c), EVENT_OK);
            snprintf(json, sizeof json, "{\"%s\":\"%.*s\"}", fields[f].key,
                     (int)n, want);
            memset(&c, 0, sizeof c);
            assert_int_equal(decode(&ev, json, &c), EVENT_OK);
            if (strlen(got) != keep || memcmp(got, want, keep) != 0)
                fail_msg("%s, %zu bytes: got %zu bytes", fields[f].key, n,
                         strlen(got));
            /* the next member (cleared, not in the record) is untouched:
             * the copy stays inside its array */
            assert_int_equal(got[size], '\0');
            assert_int_equal(c.n[EVENT_R_TRUNCATED], n < size ? 0 : 1);
        }
    }
}

/* A NUL, raw or escaped, would cut a string where cJSON ends the C string
 * ("abc\u0000def" read as "abc"); raw control characters are not JSON.
 * Such records are refused as not JSON; raw TAB, LF and CR are taken (as
 * whitespace, and inside strings as cJSON does), and so is every escape
 * that does not make a NUL.  Each row is decoded from an exact-size copy,
 * and also at every offset behind a 16-byte prefix of spaces, so that the
 * byte falls in every lane of the 16-byte scan and across blocks. */
static void test_embedded_nul(void **state)
{
    static const struct {
        const char *json;
        const char *tool; /* NULL: refused as not JSON */
    } rows[] = {
        {"{\"tool_name\":\"abc\\u0000def\"}", NULL},
        {"{\"tool_name\":\"\\u0000\"}", NULL},
        {"{\"tool_name\":\"a\x01b\"}", NULL},
        {"{\"tool_name\":\"a\x1f\"}", NULL},
        {"{\"tool_name\":\"a\x0b\"}", NULL},
        {"{\x0c\"tool_name\":\"a\"}", NULL},
        {"{\"tool_name\":\"a\\\\u0000\"}", "a\\u0000"}, /* "\\" then text */
        {"{\"tool_name\":\"\\u00001\"}", NULL},
        {"{\"tool_name\":\"\\u0001x\"}", "\x01x"},
        {"{\"tool_name\":\"\\u1000\"}", "\xe1\x80\x80"},
        {"{\"tool_name\":\"a\\\"\\u0030\"}", "a\"0"},
        {"{\"tool_name\":\"a\tb\"}", "a\tb"},
        {"{\"tool_name\":\"\xc3\xa9\x7f\"}", "\xc3\xa9\x7f"},
        {"{\r\n\t\"tool_name\" :\n\"t\"\r\n}", "t"},
    };
    char buf[128];

    (void)state;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        size_t n = strlen(rows[r].json);
        for (size_t pad = 0; pad <= 16; pad++) {
            struct event ev;
            event_counters c = { 0 };
            int rc;

            memset(buf, ' ', pad);
            memcpy(buf + pad, rows[r].json, n);
            rc = decode_n(&ev, buf, pad + n, NULL, &c);
            if (rows[r].tool == NULL) {
                if (rc != EVENT_ENOTJSON)
                    fail_msg("row %zu pad %zu: taken", r, pad);
                assert_counts(&c, 0, EVENT_R_NOT_JSON, 1);
                assert_string_equal(ev.tool_name, "");
            } else {
                if (rc != EVENT_OK)
                    fail_msg("row %zu pad %zu: refused", r, pad);
                assert_string_equal(ev.tool_name, rows[r].tool);
            }
        }
    }
}

/* ---- numbers --------------------------------------------------------- */

static void test_payload_values(void **state)
{
    static const struct {
        const char *v;
        int ok;
        int64_t bytes;
    } cases[] = {
        { "0", 1, 0 },
        { "-0", 1, 0 },
        { "1048576", 1, 1048576 },
        { "1.0", 1, 1 },
        { "1e3", 1, 1000 },
        { "9007199254740992", 1, INT64_C(9007199254740992) },
        { "9007199254740994", 0, 0 },
        { "1e19", 0, 0 },
        { "1e300", 0, 0 },
        { "1e400", 0, 0 },
        { "-1e400", 0, 0 },
        { "-1", 0, 0 },
        { "-0.5", 0, 0 },
        { "1.5", 0, 0 },
        { "0.000001", 0, 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[96];
        struct event ev;
        event_counters c = { 0 };

        snprintf(json, sizeof json,
                 "{\"response_payload_size_bytes\":%s}", cases[i].v);
        assert_int_equal(decode(&ev, json, &c), EVENT_OK);
        assert_int_equal(ev.payload_bytes, cases[i].bytes);
        if (cases[i].ok) {
            assert_int_equal(ev.has, EVENT_HAS_PAYLOAD);
            assert_counts(&c, 1, -1, 0);
        } else {
            assert_int_equal(ev.has, 0);
            assert_counts(&c, 1, EVENT_R_BAD_VALUE, 1);
        }
    }
}

static void test_infinite_numbers_rejected(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    /* JSON has no NaN, but 1e400 overflows to infinity in strtod. */
    assert_int_equal(decode(&ev,
                            "{\"execution_duration_ms\":1e400,"
                            "\"tokens_consumed\":1e400,"
                            "\"cost_usd\":-1e400}",
                            &c),
                     EVENT_OK);
    assert_int_equal(ev.has, 0);
    assert_counts(&c, 1, EVENT_R_BAD_VALUE, 3);
    assert_int_equal(decode(&ev, "{\"latency_ms\":NaN}", &c),
                     EVENT_ENOTJSON);
    assert_int_equal(decode(&ev, "{\"latency_ms\":Infinity}", &c),
                     EVENT_ENOTJSON);
}

static void test_negative_numbers_rejected(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode(&ev,
                            "{\"execution_duration_ms\":-0.001,"
                            "\"tokens_consumed\":-1,\"cost_usd\":-0.5}",
                            &c),
                     EVENT_OK);
    assert_int_equal(ev.has, 0);
    assert_counts(&c, 1, EVENT_R_BAD_VALUE, 3);
    memset(&c, 0, sizeof c);
    assert_int_equal(decode(&ev,
                            "{\"execution_duration_ms\":-0,"
                            "\"tokens_consumed\":0,\"cost_usd\":1e-9}",
                            &c),
                     EVENT_OK);
    assert_int_equal(ev.has,
                     EVENT_HAS_DURATION | EVENT_HAS_TOKENS | EVENT_HAS_COST);
    assert_true(ev.duration_ms == 0.0);
    assert_false(signbit(ev.duration_ms));
    assert_true(ev.cost_usd == 1e-9);
    assert_counts(&c, 1, -1, 0);
}

/* ---- rejected records ------------------------------------------------- */

static void test_not_json(void **state)
{
    static const char *const bad[] = {
        "not json", "{", "}", "{\"a\":1", "{\"a\":1,", "{\"a\":1, \n",
        "{\"a\":}", "{\"a\" 1}", "{'a':1}", "{\"a\":1}}", "{\"a\":1} x",
        "{\"a\":1}{\"b\":2}", "{\"a\":\"unterminated}",
        "{\"a\":\"bad escape \\q\"}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}", "{\"a\":tru}", "{\"a\":[1,2}",
        "{\"a\":1,}", "{,}", "\"unterminated", "{\"a\":\"x\\",
    };
    size_t i;
    event_counters c = { 0 };

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct event ev;

        assert_int_equal(decode(&ev, bad[i], &c), EVENT_ENOTJSON);
        assert_counts(&c, 0, EVENT_R_NOT_JSON, i + 1);
    }
    /* a raw NUL inside a string: cJSON would cut "db\0x" to "db" */
    {
        static const char nul[] = "{\"tool_name\":\"db\0x\"}";
        struct event ev;

        assert_int_equal(decode_n(&ev, nul, sizeof nul - 1, NULL, &c),
                         EVENT_ENOTJSON);
        assert_counts(&c, 0, EVENT_R_NOT_JSON, i + 1);
        assert_string_equal(ev.tool_name, "");
    }
}

static void test_not_object(void **state)
{
    static const char *const bad[] = {
        "[]", "[{\"tool_name\":\"x\"}]", "\"string\"", "42", "-1.5e3",
        "null", "true", "false", "  [1, 2, 3]  ",
    };
    size_t i;
    event_counters c = { 0 };

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct event ev;

        assert_int_equal(decode(&ev, bad[i], &c), EVENT_ENOTOBJECT);
        assert_counts(&c, 0, EVENT_R_NOT_OBJECT, i + 1);
    }
}

static void test_empty_input(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(decode_n(&ev, "", 0, NULL, &c), EVENT_ENOTJSON);
    assert_int_equal(event_decode(&ev, NULL, 0, NULL, 0, &c), EVENT_ENOTJSON);
    assert_int_equal(decode(&ev, " \r\n\t ", &c), EVENT_ENOTJSON);
    assert_counts(&c, 0, EVENT_R_NOT_JSON, 3);
}

static void test_not_nul_terminated(void **state)
{
    static const char rec[] = "{\"tool_name\":\"abc\",\"latency_ms\":12}";
    size_t len = sizeof rec - 1;
    struct event ev;
    event_counters c = { 0 };
    char *buf = malloc(len + 64);

    (void)state;
    assert_non_null(buf);
    /* Garbage after len is not part of the record. */
    memcpy(buf, rec, len);
    memcpy(buf + len, "}garbage\"tail", 14);
    assert_int_equal(event_decode(&ev, buf, len, NULL, 0, &c), EVENT_OK);
    assert_string_equal(ev.tool_name, "abc");
    assert_true(ev.duration_ms == 12.0);
    /* Every proper prefix is cut short: never JSON, never an overread
     * (decode_n copies into an exact-size buffer). */
    for (size_t n = 1; n < len; n++)
        assert_int_equal(decode_n(&ev, rec, n, NULL, &c), EVENT_ENOTJSON);
    assert_counts(&c, 1, EVENT_R_NOT_JSON, len - 1);
    free(buf);
}

static void test_prefixes_of_full_record(void **state)
{
    size_t len = sizeof full_record - 1, n;
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    /* Every prefix of a realistic record, exact-size buffer each time. */
    for (n = 0; n < len; n++)
        assert_int_equal(decode_n(&ev, full_record, n, NULL, &c),
                         EVENT_ENOTJSON);
    assert_int_equal(decode_n(&ev, full_record, len, NULL, &c), EVENT_OK);
    assert_counts(&c, 1, EVENT_R_NOT_JSON, len);
}

static void test_too_large(void **state)
{
    size_t cap = EVENT_MAX_DATA_BYTES;
    char *buf = malloc(cap + 1);
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_non_null(buf);
    /* A valid object padded with whitespace to exactly the cap: accepted. */
    memset(buf, ' ', cap + 1);
    memcpy(buf, "{\"tool_name\":\"big\"}", 19);
    assert_int_equal(event_decode(&ev, buf, cap, NULL, 0, &c), EVENT_OK);
    assert_string_equal(ev.tool_name, "big");
    /* One byte more: rejected before parsing. */
    assert_int_equal(event_decode(&ev, buf, cap + 1, NULL, 0, &c),
                     EVENT_ETOOLARGE);
    assert_string_equal(ev.tool_name, "");
    assert_int_equal(event_decode(&ev, buf, SIZE_MAX, NULL, 0, &c),
                     EVENT_ETOOLARGE);
    assert_counts(&c, 1, EVENT_R_TOO_LARGE, 2);
    free(buf);
}

static void test_deep_nesting(void **state)
{
    size_t depth = 100000, i, p;
    char *buf = malloc(depth * 2 + 64);
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_non_null(buf);
    /* Past cJSON's nesting limit (1000): refused, no stack overflow. */
    p = (size_t)snprintf(buf, 64, "{\"metadata\":");
    memset(buf + p, '[', depth);
    memset(buf + p + depth, ']', depth);
    buf[p + 2 * depth] = '}';
    assert_int_equal(event_decode(&ev, buf, p + 2 * depth + 1, NULL, 0, &c),
                     EVENT_ENOTJSON);
    /* Deep but under the limit: decoded, metadata ignored. */
    p = (size_t)snprintf(buf, 64, "{\"tool_name\":\"t\",\"metadata\":");
    for (i = 0; i < 900; i++)
        buf[p++] = '[';
    for (i = 0; i < 900; i++)
        buf[p++] = ']';
    buf[p++] = '}';
    assert_int_equal(decode_n(&ev, buf, p, NULL, &c), EVENT_OK);
    assert_string_equal(ev.tool_name, "t");
    assert_counts(&c, 1, EVENT_R_NOT_JSON, 1);
    free(buf);
}

static void test_counters_null(void **state)
{
    struct event ev;

    (void)state;
    assert_int_equal(decode(&ev, full_record, NULL), EVENT_OK);
    assert_int_equal(ev.ts_ms, TS_SPEC);
    assert_int_equal(decode(&ev, "nope", NULL), EVENT_ENOTJSON);
    assert_int_equal(decode(&ev, "[]", NULL), EVENT_ENOTOBJECT);
    assert_int_equal(event_decode(&ev, "{}", EVENT_MAX_DATA_BYTES + 1u, NULL,
                                  0, NULL),
                     EVENT_ETOOLARGE);
    assert_int_equal(decode(&ev,
                            "{\"tool_name\":1,\"timestamp\":\"x\","
                            "\"cost_usd\":-1,\"event_id\":\"a\"}",
                            NULL),
                     EVENT_OK);
    assert_string_equal(ev.record_id, "a");
}

static void test_bad_arguments(void **state)
{
    struct event ev;
    event_counters c = { 0 };

    (void)state;
    assert_int_equal(event_decode(NULL, "{}", 2, NULL, 0, &c), EVENT_EINVAL);
    assert_int_equal(event_decode(&ev, NULL, 2, NULL, 0, &c), EVENT_EINVAL);
    assert_counts(&c, 0, -1, 0);
}

/* ---- names ------------------------------------------------------------ */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(event_type_name(EVENT_TYPE_UNKNOWN), "unknown");
    assert_string_equal(event_type_name(EVENT_TOOL_CALL_REQUEST),
                        "tool_call_request");
    assert_string_equal(event_type_name(EVENT_TOOL_CALL_RESPONSE),
                        "tool_call_response");
    assert_string_equal(event_type_name(EVENT_TOOL_CALL_ERROR),
                        "tool_call_error");
    assert_string_equal(event_type_name(EVENT_SESSION_START),
                        "agent_session_start");
    assert_string_equal(event_type_name(EVENT_SESSION_END),
                        "agent_session_end");
    assert_string_equal(event_type_name((enum event_type)99), "unknown");
    assert_string_equal(event_reason_name(EVENT_R_NOT_JSON), "not_json");
    assert_string_equal(event_reason_name(EVENT_R_NOT_OBJECT), "not_object");
    assert_string_equal(event_reason_name(EVENT_R_TOO_LARGE), "too_large");
    assert_string_equal(event_reason_name(EVENT_R_WRONG_TYPE), "wrong_type");
    assert_string_equal(event_reason_name(EVENT_R_BAD_TIMESTAMP),
                        "bad_timestamp");
    assert_string_equal(event_reason_name(EVENT_R_BAD_VALUE), "bad_value");
    assert_string_equal(event_reason_name(EVENT_R_TRUNCATED), "truncated");
    assert_string_equal(event_reason_name(EVENT_R_COUNT), "unknown");
    assert_string_equal(event_strerror(EVENT_OK), "success");
    assert_string_equal(event_strerror(EVENT_ENOTJSON),
                        "event data is not JSON");
    assert_string_equal(event_strerror(EVENT_ENOTOBJECT),
                        "event data is JSON but not an object");
    assert_string_equal(event_strerror(EVENT_ETOOLARGE),
                        "event data is larger than the decoder accepts");
    assert_string_equal(event_strerror(EVENT_EINVAL), "invalid argument");
    assert_string_equal(event_strerror(-99), "unknown event error");
}

/* Edges of cJSON 1.7.15 that the decoder pins down.  The fuzzer (60 s on
 * the system library, 60 s on the Debian-patched source built with ASan,
 * 45 s on unpatched upstream 1.7.15) found no crash to add here. */
static void test_cjson_edges(void **state)
{
    static const struct {
        const char *json;
        size_t len;
        int rc;
    } cases[] = {
        /* CVE-2023-53154: unpatched cJSON reads one byte past a buffer that
         * ends right after a comma; refused before cJSON sees it. */
        { "{\"a\":1,", 7, EVENT_ENOTJSON },
        { "{\"a\":{\"b\":1,", 12, EVENT_ENOTJSON },
        { "{\"a\":1,\n\t ", 10, EVENT_ENOTJSON },
        { "{", 1, EVENT_ENOTJSON },
        { "{\"", 2, EVENT_ENOTJSON },
        { "{\"a\"", 4, EVENT_ENOTJSON },
        { "{\"a\":", 5, EVENT_ENOTJSON },
        /* A UTF-8 byte order mark is skipped by cJSON. */
        { "\xef\xbb\xbf{}", 5, EVENT_OK },
        /* A NUL after the value is trailing garbage, not an end. */
        { "{}\0", 3, EVENT_ENOTJSON },
        { "{} \0 ", 5, EVENT_ENOTJSON },
        /* Numbers longer than 63 characters (CVE-2023-26819 in unpatched
         * cJSON rejected them). */
        { "{\"cost_usd\":0.000000000000000000000000000000000000000000000000"
          "000000000000000000001}",
          0, EVENT_OK },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event ev;

        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].json);

        assert_int_equal(decode_n(&ev, cases[i].json, len, NULL, NULL),
                         cases[i].rc);
        if (i == sizeof cases / sizeof cases[0] - 1) {
            assert_int_equal(ev.has, EVENT_HAS_COST);
            assert_true(ev.cost_usd == 1e-69);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_canonical_record),
        cmocka_unit_test(test_empty_object),
        cmocka_unit_test(test_every_key_and_near_miss),
        cmocka_unit_test(test_unknown_fields_and_case),
        cmocka_unit_test(test_duplicate_known_key_refused),
        cmocka_unit_test(test_duplicate_metadata_member),
        cmocka_unit_test(test_event_zeroed_on_error),
        cmocka_unit_test(test_peek_record_id),
        cmocka_unit_test(test_timestamp_equal_instants),
        cmocka_unit_test(test_bad_timestamps_counted),
        cmocka_unit_test(test_timestamp_wrong_type),
        cmocka_unit_test(test_timestamp_memo_pairs),
        cmocka_unit_test(test_alias_event_id),
        cmocka_unit_test(test_alias_latency_ms),
        cmocka_unit_test(test_alias_tokens),
        cmocka_unit_test(test_alias_tokens_partial_bad),
        cmocka_unit_test(test_bad_canonical_does_not_fall_back),
        cmocka_unit_test(test_sse_type_fallback),
        cmocka_unit_test(test_event_types),
        cmocka_unit_test(test_response_status),
        cmocka_unit_test(test_wrong_types_counted),
        cmocka_unit_test(test_wrong_types_string_vs_number),
        cmocka_unit_test(test_null_error_fields),
        cmocka_unit_test(test_truncate_ascii),
        cmocka_unit_test(test_truncate_utf8_boundary),
        cmocka_unit_test(test_truncate_not_utf8),
        cmocka_unit_test(test_copy_every_length),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_payload_values),
        cmocka_unit_test(test_infinite_numbers_rejected),
        cmocka_unit_test(test_negative_numbers_rejected),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_not_object),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_prefixes_of_full_record),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_counters_null),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cjson_edges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
