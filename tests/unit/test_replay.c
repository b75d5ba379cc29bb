/*
 * test_replay.c - `toolwatch replay` in process: the golden recording
 * (tests/fixtures/golden.sse, each anomaly once) must give exactly
 * tests/fixtures/golden.ndjson, byte for byte, as SSE and as JSONL, run
 * after run; bad input is reported by line and skipped.  The rule-engine
 * fixture (tests/fixtures/rules.jsonl, one anomaly per rule kind with a
 * trap beside each, watched by tests/fixtures/rules.json) must fire
 * exactly the (rule, key) pairs of rules.expect, each once, resolve each
 * once, and give rules.ndjson byte for byte.
 *
 * Fixtures are read relative to the repository root (where `make test`
 * runs), or to $TW_FIXTURES.
 */
#include "app/replay.h"

#include "base/buf.h"
#include "consumer/sse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

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

/* The fixture `name` replayed with the rules of the fixture `config`. */
static void run_with_config(struct run *r, const char *config,
                            const char *name, unsigned flags)
{
    char path[512], err[512];
    struct cfg c;
    FILE *in;

    fixture(config, path, sizeof path);
    memset(&c, 0, sizeof c);
    assert_int_equal(cfg_load(&c, path, err, sizeof err), CFG_OK);
    fixture(name, path, sizeof path);
    in = fopen(path, "rb");
    assert_non_null(in);
    run_on(r, in, &c, REPLAY_AUTO, flags);
    fclose(in);
    cfg_release(&c);
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
    /* each of the six default rules fired once and resolved once */
    for (int i = 0; i < 6; i++)
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
    assert_int_equal(r.st.alerts[4], 1); /* credential_access, 5th */
    assert_int_equal(r.st.alerts_total, 11);
    run_free(&r);
}

/* How many alert.firing (resolved = 0) or alert.resolved (1) documents in
 * `out` have this rule and key; -1 if a line is not a document. */
static int count_alerts(const char *out, const char *rule, const char *key,
                        int resolved)
{
    const char *line = out, *nl;
    int n = 0;

    for (; *line != '\0'; line = nl + 1) {
        cJSON *j, *d;

        nl = strchr(line, '\n');
        assert_non_null(nl);
        j = cJSON_ParseWithLength(line, (size_t)(nl - line));
        if (j == NULL)
            return -1;
        d = cJSON_GetObjectItemCaseSensitive(j, "data");
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                       d, "rule")), rule) == 0 &&
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                       d, "key")), key) == 0 &&
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                       j, "type")),
                   resolved ? "alert.resolved" : "alert.firing") == 0)
            n++;
        cJSON_Delete(j);
    }
    return n;
}

static void test_rules_fixture(void **state)
{
    struct run r1, r2;
    size_t want_len, expect_len, pairs = 0;
    char *want = slurp("rules.ndjson", &want_len);
    char *expect = slurp("rules.expect", &expect_len);
    char *line, *nl;

    (void)state;
    run_with_config(&r1, "rules.json", "rules.jsonl", REPLAY_DRAIN);
    assert_int_equal(r1.rc, REPLAY_OK);
    assert_int_equal(r1.st.format, REPLAY_JSONL);
    assert_int_equal(r1.st.events, 1032);
    /* every planted pair fired once and resolved once ... */
    for (line = expect; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        char *sp = strchr(line, ' ');

        assert_true(sp != NULL && sp < nl);
        *sp = '\0';
        *nl = '\0';
        assert_int_equal(count_alerts(r1.out, line, sp + 1, 0), 1);
        assert_int_equal(count_alerts(r1.out, line, sp + 1, 1), 1);
        pairs++;
    }
    /* ... and nothing else fired: no trap went off */
    assert_int_equal(pairs, 10);
    assert_int_equal(r1.st.alerts_total, 2 * pairs);
    assert_string_equal(
        r1.err,
        "toolwatch replay: jsonl input, 1032 records, 1032 events, 0 "
        "skipped, 0 duplicates, 0 late, 0 warnings; 20 alerts: "
        "runaway_session 2, cost_budget 2, error_ratio 2, fan_out 2, "
        "shared_session 2, slow_call 2, secret_egress 2, new_tool 2, "
        "rate_anomaly 2, dead_worker 2\n");
    assert_int_equal(r1.out_len, want_len);
    assert_memory_equal(r1.out, want, want_len);
    /* deterministic: again, byte for byte */
    run_with_config(&r2, "rules.json", "rules.jsonl", REPLAY_DRAIN);
    assert_int_equal(r2.out_len, want_len);
    assert_memory_equal(r2.out, want, want_len);
    run_free(&r1);
    run_free(&r2);
    free(want);
    free(expect);
}

/* The same stream through a flaky pipeline (rules.noisy.jsonl: every 9th
 * record delivered twice, a malformed line after every 50th, traps among
 * them): the same alerts, byte for byte. */
static void test_rules_fixture_noisy(void **state)
{
    struct run r;
    size_t want_len;
    char *want = slurp("rules.ndjson", &want_len);
    const char *stats;

    (void)state;
    run_with_config(&r, "rules.json", "rules.noisy.jsonl", REPLAY_DRAIN);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.out_len, want_len);
    assert_memory_equal(r.out, want, want_len);
    /* 1032 records and 4 whose duration is a string; 115 again; 12 not
     * JSON or not an object, 4 with a key twice */
    stats = strstr(r.err, "toolwatch replay: jsonl input");
    assert_non_null(stats);
    assert_string_equal(
        stats,
        "toolwatch replay: jsonl input, 1167 records, 1036 events, 16 "
        "skipped, 115 duplicates, 0 late, 4 warnings; 20 alerts: "
        "runaway_session 2, cost_budget 2, error_ratio 2, fan_out 2, "
        "shared_session 2, slow_call 2, secret_egress 2, new_tool 2, "
        "rate_anomaly 2, dead_worker 2\n");
    run_free(&r);
    free(want);
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

/* A strict UTF-8 validator of its own, not the one under test: decode
 * each code point, then refuse an overlong form, a surrogate or anything
 * above U+10FFFF. */
static int strict_utf8(const char *text, size_t n)
{
    static const uint32_t shortest[] = {0, 0x80, 0x800, 0x10000};
    const unsigned char *s = (const unsigned char *)text;

    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80                ? 1
                     : (s[i] & 0xE0) == 0xC0    ? 2
                     : (s[i] & 0xF0) == 0xE0    ? 3
                     : (s[i] & 0xF8) == 0xF0    ? 4
                                                : 0;
        uint32_t cp;

        if (len == 0 || len > n - i)
            return 0;
        cp = len == 1 ? s[i] : s[i] & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < shortest[len - 1] || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* `replay --format jsonl` of a record whose tool_name holds bytes 0xff
 * 0xfe: the alert documents are valid UTF-8 (the bytes became U+FFFD, as
 * the SSE parser makes them for `run` and SSE input: the same output). */
static void test_jsonl_invalid_utf8(void **state)
{
    static const char jsonl[] =
        "{\"record_id\":\"u1\",\"timestamp\":\"2026-03-10T02:00:00Z\","
        "\"event_type\":\"tool_call_response\",\"tool_name\":\"\xff\xfe\","
        "\"agent_id\":\"a\xc3\",\"execution_duration_ms\":9000}\n";
    static const char sse[] =
        "data: {\"record_id\":\"u1\",\"timestamp\":\"2026-03-10T02:00:00Z\","
        "\"event_type\":\"tool_call_response\",\"tool_name\":\"\xff\xfe\","
        "\"agent_id\":\"a\xc3\",\"execution_duration_ms\":9000}\n\n";
    struct run r, r2;
    struct cfg c;
    const char *line, *nl;
    cJSON *doc;
    int alerts = 0;
    FILE *in;

    (void)state;
    cfg_defaults(&c);
    assert_non_null(in = fmemopen((void *)jsonl, sizeof jsonl - 1, "r"));
    run_on(&r, in, &c, REPLAY_JSONL, REPLAY_DRAIN);
    fclose(in);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.events, 1);
    assert_true(strict_utf8(r.out, r.out_len));
    assert_true(strict_utf8(r.err, r.err_len));
    assert_non_null(strstr(r.err, "line 1: bytes that are not UTF-8 "
                                  "replaced by U+FFFD\n"));
    for (line = r.out; *line != '\0'; line = nl + 1) {
        const cJSON *data, *group;

        assert_non_null(nl = strchr(line, '\n'));
        assert_non_null(doc = cJSON_ParseWithLength(line,
                                                    (size_t)(nl - line)));
        data = cJSON_GetObjectItem(doc, "data");
        group = cJSON_GetObjectItem(data, "group");
        assert_string_equal(cJSON_GetObjectItem(group, "tool_name")
                                ->valuestring,
                            "\xef\xbf\xbd\xef\xbf\xbd");
        cJSON_Delete(doc);
        alerts++;
    }
    assert_int_equal(alerts, 2); /* latency: fired, resolved */
    /* the same record as SSE: the same documents */
    assert_non_null(in = fmemopen((void *)sse, sizeof sse - 1, "r"));
    run_on(&r2, in, &c, REPLAY_SSE, REPLAY_DRAIN);
    fclose(in);
    assert_int_equal(r2.out_len, r.out_len);
    assert_memory_equal(r2.out, r.out, r.out_len);
    run_free(&r);
    run_free(&r2);
}

/* A record that gives a known key twice is skipped, named by its line. */
static void test_jsonl_duplicate_key(void **state)
{
    struct run r;

    (void)state;
    run_text(&r,
             "{\"record_id\":\"d1\",\"timestamp\":\"2026-03-10T02:00:00Z\","
             "\"tool_name\":\"safe\",\"tool_name\":\"secrets_dump\"}\n",
             0);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.skipped, 1);
    assert_int_equal(r.st.events, 0);
    assert_non_null(strstr(r.err, "line 1: a field is given twice (readers "
                                  "differ on which counts); skipped\n"));
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

/* Bad records on both sides of the first 64 KB read, the read boundary
 * falling at every byte of them (a comment line of each length in front):
 * the lines named are those of the events' first lines whatever the
 * split, with LF and with CRLF. */
static void test_sse_lines_across_reads(void **state)
{
    static const char *const eols[] = {"\n", "\r\n"};
    enum { EVENTS = 620, WANT_MAX = 4096 };
    size_t cap = 96 * 1024;
    char *text = malloc(cap), *want = malloc(WANT_MAX);

    (void)state;
    assert_non_null(text);
    assert_non_null(want);
    for (int e = 0; e < 2; e++) {
        const char *eol = eols[e];
        size_t size = 0, lo, hi;
        int w = 0;

        /* every event below has the same size: find it, and the events
         * the boundary can fall in */
        size = (size_t)snprintf(
            text, cap,
            "id: 0000%sevent: tool_call_response%sdata: {\"record_id\":"
            "\"r0000\",\"timestamp\":\"2026-03-10T02:00:00Z\",\"tool_name\""
            ":\"t\"}%s%s",
            eol, eol, eol, eol);
        lo = 65536 / size - 2;
        hi = 65536 / size + 1;
        for (size_t pad = 0; pad < size; pad++) {
            struct run r;
            size_t n = 0;

            n += (size_t)snprintf(text + n, cap - n, ":%*s%s", (int)pad,
                                  "", eol);
            for (size_t i = 0; i < EVENTS; i++) {
                const char *tool = "\"t\"";
                if (i >= lo && i <= hi && i % 2 == 0) {
                    /* not JSON, of the same length */
                    n += (size_t)snprintf(
                        text + n, cap - n,
                        "id: %04zu%sevent: tool_call_response%sdata: %72s%s%s",
                        i, eol, eol, "nope", eol, eol);
                    continue;
                }
                if (i >= lo && i <= hi)
                    tool = "777"; /* wrong type: a warning */
                n += (size_t)snprintf(
                    text + n, cap - n,
                    "id: %04zu%sevent: tool_call_response%sdata: "
                    "{\"record_id\":\"r%04zu\",\"timestamp\":\"2026-03-10T"
                    "%02zu:%02zu:%02zu\",\"tool_name\":%s}%s%s",
                    i, eol, eol, i, 2 + i / 3600, i / 60 % 60, i % 60,
                    tool, eol, eol);
            }
            assert_true(n < cap);
            run_text(&r, text, 0);
            if (pad == 0) {
                /* line 1 is the comment, event i begins on line 2 + 4 i */
                for (size_t i = lo; i <= hi; i++)
                    w += snprintf(want + w, WANT_MAX - (size_t)w,
                                  i % 2 == 0
                                      ? "toolwatch replay: line %zu: not "
                                        "JSON; skipped\n"
                                      : "toolwatch replay: line %zu: a "
                                        "field has the wrong type and was "
                                        "ignored\n",
                                  2 + 4 * i);
            }
            assert_int_equal(r.rc, REPLAY_OK);
            assert_int_equal(r.st.records, EVENTS);
            assert_int_equal(r.st.skipped, 2);
            assert_int_equal(r.st.warnings, 2);
            assert_int_equal(r.st.lines, 1 + 4 * EVENTS);
            assert_true(r.err_len > (size_t)w);
            assert_memory_equal(r.err, want, (size_t)w);
            assert_non_null(strstr(r.err + w, "sse input, 620 records"));
            run_free(&r);
        }
        /* the lines themselves: events 568 and 570 (LF), 548 and 550
         * (CRLF) are not JSON */
        assert_non_null(strstr(want, e == 0 ? "line 2274: not JSON"
                                            : "line 2194: not JSON"));
        assert_non_null(strstr(want, e == 0 ? "line 2282: not JSON"
                                            : "line 2202: not JSON"));
    }
    free(text);
    free(want);
}

/* replay's last stderr line for an SSE input that made no alert */
static const char *no_alert_summary(char *b, size_t size, unsigned records,
                                    unsigned skipped)
{
    snprintf(b, size,
             "toolwatch replay: sse input, %u records, 0 events, %u skipped, "
             "0 duplicates, 0 late, 0 warnings; 0 alerts: volume 0, "
             "payload_size 0, latency 0, error_rate 0, credential_access 0, "
             "stream_stalled 0\n",
             records, skipped);
    return b;
}

/* t[0..300): an event type too long for the parser's 256-byte buffer */
static void long_type(char t[301])
{
    memset(t, 'T', 300);
    t[300] = '\0';
}

/* Expect stderr to be `msgs` followed by the summary line. */
static void assert_err(const struct run *r, const char *msgs,
                       unsigned records, unsigned skipped)
{
    char want[1024], sum[512];

    snprintf(want, sizeof want, "%s%s", msgs,
             no_alert_summary(sum, sizeof sum, records, skipped));
    assert_string_equal(r->err, want);
}

/* An event type over 256 bytes makes an oversize event wherever it falls:
 * before the first blank line, after it, on a line that begins with ':'
 * (no event began on it: the line is named). */
static void test_sse_oversize_lines(void **state)
{
    char t[301], text[1024];
    struct run r;

    (void)state;
    long_type(t);
    snprintf(text, sizeof text,
             ": c\n"
             "\n"
             "id: 1\n"
             "event: %s\n"
             "data: {}\n"
             "\n"
             ": x\revent: %s\rdata: 1\r\r\n"
             "data: [1]\n"
             "\n",
             t, t);
    run_text(&r, text, 0);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.lines, 9);
    assert_err(&r,
               "toolwatch replay: line 3: event over 1048576 bytes; skipped\n"
               "toolwatch replay: line 7: event over 1048576 bytes; skipped\n"
               "toolwatch replay: line 8: not a JSON object; skipped\n",
               1, 3);
    run_free(&r);
    run_text(&r, text, REPLAY_STRICT);
    assert_int_equal(r.rc, REPLAY_EBADINPUT);
    assert_int_equal(r.st.records, 0);
    assert_int_equal(r.st.skipped, 1);
    assert_int_equal(r.st.lines, 4); /* stopped after line 4 */
    assert_err(&r,
               "toolwatch replay: line 3: event over 1048576 bytes; skipped\n",
               0, 1);
    run_free(&r);
    /* before the first blank line */
    snprintf(text, sizeof text,
             "event: %s\ndata: 1\n\ndata: nope\n\n", t);
    run_text(&r, text, 0);
    assert_err(&r,
               "toolwatch replay: line 1: event over 1048576 bytes; skipped\n"
               "toolwatch replay: line 4: not JSON; skipped\n",
               1, 2);
    run_free(&r);
    /* --strict: what comes on later lines is not read */
    run_text(&r, text, REPLAY_STRICT);
    assert_int_equal(r.rc, REPLAY_EBADINPUT);
    assert_int_equal(r.st.records, 0);
    assert_int_equal(r.st.skipped, 1);
    run_free(&r);
}

/* Lines are numbered at LF only: a stream with CR line ends is one line,
 * and every record is named line 1; its events still end at CR blank
 * lines, as the standard says, so the last one is complete.  --strict
 * stops at the oversize event: the events after it are not read. */
static void test_sse_cr_only(void **state)
{
    char t[301], text[1024];
    struct run r;

    (void)state;
    long_type(t);
    snprintf(text, sizeof text,
             "event: %s\rdata: {\"timestamp\":\"2026-03-10T02:00:00Z\"}\r\r"
             "data: nope\r\r"
             "data: [1]\r\r",
             t);
    run_text(&r, text, 0);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.lines, 1);
    assert_err(&r,
               "toolwatch replay: line 1: event over 1048576 bytes; skipped\n"
               "toolwatch replay: line 1: not JSON; skipped\n"
               "toolwatch replay: line 1: not a JSON object; skipped\n",
               2, 3);
    run_free(&r);
    run_text(&r, text, REPLAY_STRICT);
    assert_int_equal(r.rc, REPLAY_EBADINPUT);
    assert_err(&r,
               "toolwatch replay: line 1: event over 1048576 bytes; skipped\n",
               0, 1);
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

/* One SSE event as `toolwatch tail` prints it (app/tail.c). */
static int as_tail(void *ud, const sse_event *e)
{
    buf *b = ud;

    assert_int_equal(buf_append_str(b, "{\"id\":"), BUF_OK);
    assert_int_equal(buf_append_json_string(b, e->id, e->id_len), BUF_OK);
    assert_int_equal(buf_append_str(b, ",\"event\":"), BUF_OK);
    assert_int_equal(buf_append_json_string(b, e->type, e->type_len),
                     BUF_OK);
    assert_int_equal(buf_append_str(b, ",\"data\":"), BUF_OK);
    assert_int_equal(buf_append_json_string(b, e->data, e->data_len),
                     BUF_OK);
    assert_int_equal(buf_append_str(b, "}\n"), BUF_OK);
    return 0;
}

/* golden.sse as `toolwatch tail` would have recorded it: the same alert
 * documents, byte for byte, as replaying the SSE; the bad record named by
 * its line in the tail file. */
static void test_tail_format(void **state)
{
    static const sse_settings cb = {.on_event = as_tail};
    size_t sse_len, want_len;
    char *sse = slurp("golden.sse", &sse_len);
    char *want = slurp("golden.ndjson", &want_len);
    sse_parser p;
    struct run r;
    struct cfg c;
    buf tail;
    FILE *in;

    (void)state;
    buf_init(&tail, 64u << 20);
    assert_int_equal(sse_parser_init(&p, &cb, &tail, 0), SSE_OK);
    assert_int_equal(sse_parser_execute(&p, sse, sse_len), SSE_OK);
    sse_parser_free(&p);
    cfg_defaults(&c);
    in = fmemopen(tail.data, tail.len, "r");
    assert_non_null(in);
    run_on(&r, in, &c, REPLAY_AUTO, REPLAY_DRAIN);
    fclose(in);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.format, REPLAY_TAIL);
    assert_int_equal(r.st.events, 796);
    assert_int_equal(r.st.skipped, 1);
    assert_int_equal(r.out_len, want_len);
    assert_memory_equal(r.out, want, want_len);
    assert_int_equal(r.st.duplicates, 1);
    assert_non_null(strstr(r.err, "toolwatch replay: line 21: not JSON; "
                                  "skipped\n"));
    assert_non_null(strstr(r.err, "toolwatch replay: tail input, 798 "
                                  "records, 796 events, 1 skipped, 1 "
                                  "duplicates"));
    run_free(&r);
    buf_free(&tail);
    free(sse);
    free(want);
}

/* Lines that are not tail's are skipped and named; escapes decode. */
static void test_tail_bad_lines(void **state)
{
    struct run r;

    (void)state;
    run_text(&r,
             "{\"id\":\"1\",\"event\":\"x\",\"data\":\"\\\"no\"}\n"
             "{\"id\":\"2\",\"event\":\"x\"}\n"
             "{\"id\":\"3\",\"event\":\"x\",\"data\":\"{}\"} \n"
             "{\"id\":\"4\",\"event\":\"x\",\"data\":\"\\ud800\\u0041\"}"
             "\n",
             0);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(r.st.format, REPLAY_TAIL);
    assert_int_equal(r.st.events, 0);
    assert_int_equal(r.st.skipped, 4);
    assert_string_equal(
        r.err,
        "toolwatch replay: line 1: not JSON; skipped\n"
        "toolwatch replay: line 2: not a line of toolwatch tail's output "
        "({\"id\":...,\"event\":...,\"data\":...}); skipped\n"
        "toolwatch replay: line 3: not a line of toolwatch tail's output "
        "({\"id\":...,\"event\":...,\"data\":...}); skipped\n"
        "toolwatch replay: line 4: not JSON; skipped\n"
        "toolwatch replay: tail input, 4 records, 0 events, 4 skipped, 0 "
        "duplicates, 0 late, 0 warnings; 0 alerts: volume 0, payload_size "
        "0, latency 0, error_rate 0, credential_access 0, stream_stalled "
        "0\n");
    run_free(&r);
}

/* --drain with the stream back within hold_s of the end of input: the
 * stream_stalled episode (open while its hold runs) resolves too, at the
 * event time the stream came back; every open alert is resolved. */
static void test_drain_resolves_stalled(void **state)
{
#define REC(id, ts) "{\"record_id\":\"" id "\",\"timestamp\":\"" ts "\"," \
    "\"event_type\":\"tool_call_response\",\"session_id\":\"s\","          \
    "\"agent_id\":\"a\",\"tool_name\":\"t\",\"response_status\":"          \
    "\"success\",\"response_payload_size_bytes\":1,"                        \
    "\"execution_duration_ms\":1.0}\n"
    static const char text[] =
        REC("r1", "2026-03-10T02:00:00Z") REC("r2", "2026-03-10T02:03:00Z")
        REC("r3", "2026-03-10T02:03:10Z");
#undef REC
    struct run r;

    (void)state;
    run_text(&r, text, REPLAY_DRAIN);
    assert_int_equal(r.rc, REPLAY_OK);
    assert_int_equal(count_alerts(r.out, "stream_stalled", "global", 0), 1);
    assert_int_equal(count_alerts(r.out, "stream_stalled", "global", 1), 1);
    assert_non_null(strstr(r.out, "\"resolved_at\":\"2026-03-10T02:03:00"));
    assert_int_equal(r.st.alerts_total, 2);
    run_free(&r);
    /* without --drain it stays open */
    run_text(&r, text, 0);
    assert_int_equal(count_alerts(r.out, "stream_stalled", "global", 0), 1);
    assert_int_equal(count_alerts(r.out, "stream_stalled", "global", 1), 0);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_without_drain),
        cmocka_unit_test(test_drain_resolves_stalled),
        cmocka_unit_test(test_rules_fixture),
        cmocka_unit_test(test_rules_fixture_noisy),
        cmocka_unit_test(test_jsonl_errors_by_line),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_sse_errors_by_line),
        cmocka_unit_test(test_jsonl_invalid_utf8),
        cmocka_unit_test(test_jsonl_duplicate_key),
        cmocka_unit_test(test_nul_byte_is_not_json),
        cmocka_unit_test(test_sse_lines_across_reads),
        cmocka_unit_test(test_sse_oversize_lines),
        cmocka_unit_test(test_sse_cr_only),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_tail_format),
        cmocka_unit_test(test_tail_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
