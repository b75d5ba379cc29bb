/*
 * test_replay.c - `toolwatch replay` in process: the golden recording
 * (tests/fixtures/golden.sse, each anomaly once) must give exactly
 * tests/fixtures/golden.ndjson, byte for byte, as SSE and as JSONL, run
 * after run; bad input is reported by line and skipped.
 *
 * Fixtures are read relative to the repository root (where `make test`
 * runs), or to $TW_FIXTURES.
 */
#include "service/replay.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct run {
    char *out, *err;
    size_t out_len, err_len;
    struct replay_stats st;
    int rc;
};

static void fixture(const char *name, char *path, size_t size)
{
    const char *dir = getenv("TW_FIXTURES");

    snprintf(path, size, "%s/%s", dir ? dir : "tests/fixtures", name);
}

static char *slurp(const char *name, size_t *len)
{
    char path[512], *p;
    FILE *f;
    long n;

    fixture(name, path, sizeof path);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void run_on(struct run *r, FILE *in, const struct cfg *c,
                   enum replay_format fmt, unsigned flags)
{
    FILE *out = open_memstream(&r->out, &r->out_len);
    FILE *err = open_memstream(&r->err, &r->err_len);

    assert_non_null(out);
    assert_non_null(err);
    r->rc = replay_run(c, in, out, err, fmt, flags, &r->st);
    fclose(out);
    fclose(err);
}

static void run_text(struct run *r, const char *text, unsigned flags)
{
    struct cfg c;
    FILE *in = fmemopen((void *)text, strlen(text), "r");

    assert_non_null(in);
    cfg_defaults(&c);
    run_on(r, in, &c, REPLAY_AUTO, flags);
    fclose(in);
}

static void run_fixture(struct run *r, const char *name, unsigned flags)
{
    char path[512];
    struct cfg c;
    FILE *in;

    fixture(name, path, sizeof path);
    in = fopen(path, "rb");
    assert_non_null(in);
    cfg_defaults(&c);
    run_on(r, in, &c, REPLAY_AUTO, flags);
    fclose(in);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void test_golden(void **state)
{
    struct run r1, r2, r3;
    size_t want_len;
    char *want = slurp("golden.ndjson", &want_len);

    (void)state;
    run_fixture(&r1, "golden.sse", REPLAY_DRAIN);
    assert_int_equal(r1.rc, REPLAY_OK);
    assert_int_equal(r1.out_len, want_len);
    assert_memory_equal(r1.out, want, want_len);
    /* each detector fired once and resolved once */
    for (int i = 0; i < DET_COUNT; i++)
        assert_int_equal(r1.st.alerts[i], 2);
    assert_int_equal(r1.st.format, REPLAY_SSE);
    assert_int_equal(r1.st.records, 798);
    assert_int_equal(r1.st.events, 796);
    assert_int_equal(r1.st.skipped, 1);
    assert_int_equal(r1.st.duplicates, 1);
    assert_string_equal(
        r1.err,
        "toolwatch replay: line 85: not JSON; skipped\n"
        "toolwatch replay: sse input, 798 records, 796 events, 1 skipped, 1 "
        "duplicates, 0 late, 0 warnings; 12 alerts: volume 2, payload_size "
        "2, latency 2, error_rate 2, credential_access 2, stream_stalled "
        "2\n");
    /* again: byte-identical */
    run_fixture(&r2, "golden.sse", REPLAY_DRAIN);
    assert_int_equal(r2.out_len, want_len);
    assert_memory_equal(r2.out, want, want_len);
    /* the same records as JSONL: the same alerts */
    run_fixture(&r3, "golden.jsonl", REPLAY_DRAIN);
    assert_int_equal(r3.st.format, REPLAY_JSONL);
    assert_int_equal(r3.out_len, want_len);
    assert_memory_equal(r3.out, want, want_len);
    assert_non_null(strstr(r3.err, "line 21: not JSON; skipped\n"));
    run_free(&r1);
    run_free(&r2);
    run_free(&r3);
    free(want);
}

static void test_golden_without_drain(void **state)
{
    struct run r;

    (void)state;
    run_fixture(&r, "golden.sse", 0);
    /* credential_access (3600 s window) is still open at the end */
    assert_int_equal(r.st.alerts[DET_CREDENTIAL_ACCESS], 1);
    assert_int_equal(r.st.alerts_total, 11);
    run_free(&r);
}

static void test_jsonl_errors_by_line(void **state)
{
    struct run r;

    (void)state;
    run_text(&r,
             "{\"record_id\":\"a\",\"timestamp\":\"2026-03-10T02:00:00Z\","
             "\"event_type\":\"tool_call_response\",\"tool_name\":\"t\"}\n"
             "\n"
             "[1,2]\n"
             "{\"record_id\":\"b\",\"timestamp\":\"yesterday\","
             "\"event_type\":\"tool_call_response\"}\r\n"
             "not json\n"
             "{\"record_id\":\"c\",\"tool_name\":7,"
             "\"timestamp\":\"2026-03-10T02:00:01Z\"}",
             0);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.out_len, 0);
    assert_int_equal(r.st.records, 5);
    assert_int_equal(r.st.events, 3);
    assert_int_equal(r.st.skipped, 2);
    assert_int_equal(r.st.warnings, 2);
    assert_string_equal(
        r.err,
        "toolwatch replay: line 3: not a JSON object; skipped\n"
        "toolwatch replay: line 4: timestamp is not ISO 8601; the record "
        "takes the current event time\n"
        "toolwatch replay: line 5: not JSON; skipped\n"
        "toolwatch replay: line 6: a field has the wrong type and was "
        "ignored\n"
        "toolwatch replay: jsonl input, 5 records, 3 events, 2 skipped, 0 "
        "duplicates, 0 late, 2 warnings; 0 alerts: volume 0, payload_size "
        "0, latency 0, error_rate 0, credential_access 0, stream_stalled "
        "0\n");
    run_free(&r);
}

static void test_strict(void **state)
{
    struct run r;

    (void)state;
    run_text(&r, "{\"timestamp\":\"2026-03-10T02:00:00Z\"}\n[]\n{}\n",
             REPLAY_STRICT);
    assert_int_equal(r.rc, REPLAY_EBADINPUT);
    assert_int_equal(r.st.records, 2); /* stopped at line 2 */
    assert_non_null(strstr(r.err, "line 2: not a JSON object; skipped\n"));
    run_free(&r);
}

static void test_sse_errors_by_line(void **state)
{
    struct run r;

    (void)state;
    run_text(&r,
             ": a capture\n"
             "\n"
             "event: tool_call_response\n"
             "data: {\"record_id\":\"x\"}\n"  /* no timestamp, no clock yet */
             "\n"
             "id: 2\n"
             "data: {\"timestamp\":\"2026-03-10T02:00:00Z\",\n"
             "data: \"tool_name\":\"t\"}\n"
             "\n"
             "data: 42\n"
             "\n"
             "data: {\"timestamp\":\"2026-03-10T02:00:01Z\"}\n",
             0);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.format, REPLAY_SSE);
    assert_int_equal(r.st.events, 1);
    assert_int_equal(r.st.skipped, 3);
    assert_string_equal(
        r.err,
        "toolwatch replay: line 3: no timestamp, and no event time yet to "
        "give it; skipped\n"
        "toolwatch replay: line 10: not a JSON object; skipped\n"
        "toolwatch replay: line 12: incomplete event at end of input (no "
        "blank line after it); skipped\n"
        "toolwatch replay: sse input, 4 records, 1 events, 3 skipped, 0 "
        "duplicates, 0 late, 0 warnings; 0 alerts: volume 0, payload_size "
        "0, latency 0, error_rate 0, credential_access 0, stream_stalled "
        "0\n");
    run_free(&r);
}

/* A raw NUL byte inside a record's JSON is "not JSON" (cJSON alone would
 * take the string up to the NUL: "db\0x" read as "db"), as in `run`. */
static void test_nul_byte_is_not_json(void **state)
{
    static const char text[] =
        "data: {\"timestamp\":\"2026-03-10T02:00:00Z\",\"tool_name\":"
        "\"db\0x\"}\n"
        "\n"
        "data: {\"timestamp\":\"2026-03-10T02:00:01Z\",\"tool_name\":"
        "\"db\"}\n"
        "\n";
    struct run r;
    struct cfg c;
    FILE *in = fmemopen((void *)text, sizeof text - 1, "r");

    (void)state;
    assert_non_null(in);
    cfg_defaults(&c);
    run_on(&r, in, &c, REPLAY_AUTO, 0);
    fclose(in);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.records, 2);
    assert_int_equal(r.st.events, 1);
    assert_int_equal(r.st.skipped, 1);
    assert_non_null(strstr(r.err, "line 1: not JSON; skipped"));
    run_free(&r);
}

static void test_empty_input(void **state)
{
    struct run r;

    (void)state;
    run_text(&r, "", REPLAY_DRAIN);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.out_len, 0);
    assert_int_equal(r.st.records, 0);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_without_drain),
        cmocka_unit_test(test_jsonl_errors_by_line),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_sse_errors_by_line),
        cmocka_unit_test(test_nul_byte_is_not_json),
        cmocka_unit_test(test_empty_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
