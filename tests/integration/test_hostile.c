/*
 * test_hostile.c - `toolwatch run` against a hostile audit stream.
 *
 * What (SPEC.md section 1: "Bad input never stops the service ... No input
 * can make memory grow without bound"): the real binary (TOOLWATCH_BIN,
 * default build/asan/toolwatch) reads a scripted tests/support/sse_server
 * stream, with a file sink and the status server on a free port, and
 *  - a flood of 1,000,000 distinct tool names and agent ids (HOSTILE_KEYS
 *    to change; see below) leaves it up, every detector at or under
 *    max_keys with evictions counted, and its peak RSS (VmHWM) under
 *    RSS_BOUND_MB;
 *  - a 10 MB line is skipped and counted (reason "oversize"), and the next
 *    event is processed;
 *  - deeply nested JSON (100,000 '['), NUL bytes inside the data, invalid
 *    UTF-8, numbers out of range (1e999, -1, 2^70), wrong types and
 *    non-objects are each counted under their reason in
 *    toolwatch_event_errors_total;
 * and after each, a normal event still produces its alert (payload_size,
 * which fires on a single call), in the log and in the file sink.
 *
 * Why: the audit stream is input the service does not control; a bug in
 * the producer, a proxy or an attacker with write access to the audit log
 * must cost at most the bad records, never the service or its memory.
 *
 * Invariants:
 *  - the stream is one scripted response: hostile bytes, then the marker
 *    event, then the connection hangs (no reconnect to muddle the counts);
 *    the test waits for the marker's alert line on stderr (poll on the
 *    pipe), then polls /metrics every POLL_MS until the snapshot (published
 *    once a second) has counted every event: no fixed sleeps;
 *  - the flood is generated as 1 MB chunks of ~80-byte events (80 MB in
 *    all); the ASan build reads about 100,000 events a second, so the
 *    flood takes 10-15 s and the file well under a minute;
 *  - RSS bound, for the ASan build: the detector tables are sized by
 *    max_keys (1000 here: well under 1 MB), the SSE buffer by
 *    max_event_bytes (1 MiB), libcurl's buffers are fixed.  ASan adds its
 *    shadow memory (1/8 of what is mapped), its allocator's size-class
 *    caches and the quarantine of freed blocks, which the child gets
 *    capped at 16 MB (ASAN_OPTIONS quarantine_size_mb=16; the default,
 *    256 MB, would fill with freed cJSON trees and dominate any
 *    measurement).  Measured: about 22 MB.  RSS_BOUND_MB (96) leaves room
 *    for a full quarantine and its shadow, allocator noise and a 2x
 *    margin, yet a flood that one unbounded table kept would cross it:
 *    a million groups cost 32 MB in the key table alone, per detector, and
 *    their windows far more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/httpget.h"
#include "tests/support/proc.h"
#include "tests/support/sse_server.h"

#define START_WAIT_MS 10000 /* the child is up and has logged its start */
#define EXIT_WAIT_MS 10000  /* SIGTERM to exit */
#define ALERT_WAIT_MS 60000 /* the marker's alert, after the whole flood */
#define METRICS_WAIT_MS 10000
#define POLL_MS 100         /* status server polling interval */

#define DEFAULT_KEYS 1000000
#define MAX_KEYS 1000       /* detectors.max_keys in the configuration */
#define RSS_BOUND_MB 96
#define CHUNK_BYTES (1024 * 1024)
#define BIG_LINE_BYTES (10 * 1024 * 1024)
#define NEST_DEPTH 100000

/* A completed call over payload_size's 1,000,000-byte threshold: one is
 * enough to fire. */
#define MARKER_FMT                                                          \
    "data: {\"event_type\":\"tool_call_response\",\"tool_name\":\"%s\","    \
    "\"response_payload_size_bytes\":5000000}\n\n"

/* ------------------------------ fixture ------------------------------ */

struct fx {
    struct tsrv *srv;
    struct proc *p;
    char dir[64];
    char cfg[128];
    char alerts[128];
    unsigned port; /* status server */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tw-hostile-XXXXXX");
    if (mkdtemp(f->dir) == NULL || (f->srv = tsrv_create()) == NULL)
        return -1;
    snprintf(f->cfg, sizeof f->cfg, "%s/config.json", f->dir);
    snprintf(f->alerts, sizeof f->alerts, "%s/alerts.ndjson", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    int rc = 0;

    proc_destroy(f->p);
    tsrv_destroy(f->srv);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        rc = -1;
    free(f);
    return rc;
}

/* ------------------------------ helpers ------------------------------ */

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

static void dump_stderr(const struct proc *p)
{
    size_t len;
    const char *e = proc_stderr_all(p, &len);

    print_message("---- child stderr (%zu bytes) ----\n%s\n----\n", len, e);
}

static void check_sanitizers(struct proc *p)
{
    static const char *const bad[] = {"AddressSanitizer", "LeakSanitizer",
                                      "runtime error:", "UndefinedBehavior"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (proc_wait_stderr(p, bad[i], 0)) {
            dump_stderr(p);
            fail_msg("sanitizer report on the child's stderr (%s)", bad[i]);
        }
    }
}

/* Write the configuration and start `toolwatch run`; wait for its start
 * line and read the status port from it. */
static void start_run(struct fx *f)
{
    static const char tag[] = "status on http://127.0.0.1:";
    const char *argv[] = {tw_bin(), "run", "-c", f->cfg, NULL};
    const char *env[] = {"ASAN_OPTIONS=quarantine_size_mb=16", NULL};
    char url[128];
    const char *e, *at;
    size_t len;
    FILE *fp;

    assert_int_equal(tsrv_url(f->srv, "/events", url, sizeof url), 0);
    fp = fopen(f->cfg, "w");
    assert_non_null(fp);
    fprintf(fp,
            "{\"instance\": \"hostile\", \"state_dir\": \"%s/state\",\n"
            " \"stream\": {\"url\": \"%s\", \"retry_base_ms\": 100,"
            " \"retry_max_ms\": 1000},\n"
            " \"status\": {\"port\": 0},\n"
            " \"sinks\": [{\"type\": \"file\", \"name\": \"archive\","
            " \"path\": \"%s\"}],\n"
            " \"detectors\": {\"max_keys\": %d}}\n",
            f->dir, url, f->alerts, MAX_KEYS);
    assert_int_equal(fclose(fp), 0);

    f->p = proc_spawn(argv, env);
    assert_non_null(f->p);
    if (!proc_wait_stderr(f->p, tag, START_WAIT_MS)) {
        dump_stderr(f->p);
        fail_msg("toolwatch run did not start");
    }
    e = proc_stderr_all(f->p, &len);
    at = strstr(e, tag);
    assert_non_null(at);
    f->port = (unsigned)strtoul(at + sizeof tag - 1, NULL, 10);
    assert_true(f->port > 0 && f->port < 65536);
}

/* The marker's alert: its log line, then its line in the file sink. */
static void expect_alert(struct fx *f, const char *tool)
{
    char needle[160], *text = NULL;
    size_t cap = 0;
    FILE *fp;

    snprintf(needle, sizeof needle, "firing warning payload_size %s:", tool);
    if (!proc_wait_stderr(f->p, needle, ALERT_WAIT_MS)) {
        dump_stderr(f->p);
        fail_msg("no alert for %s", tool);
    }
    /* the file sink writes as the journal delivers: wait for the line */
    snprintf(needle, sizeof needle, "\"key\":\"%s\"", tool);
    for (int64_t end = clock_mono_ms() + METRICS_WAIT_MS;;) {
        ssize_t n;
        bool found = false;
        fp = fopen(f->alerts, "r");
        while (fp != NULL && (n = getline(&text, &cap, fp)) > 0)
            found = found || strstr(text, needle) != NULL;
        if (fp != NULL)
            fclose(fp);
        if (found)
            break;
        if (clock_mono_ms() >= end)
            fail_msg("%s never reached the file sink", tool);
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    free(text);
}

/* ---- /metrics ---- */

/* The value of the sample whose name and labels are exactly `series`
 * (`name` or `name{k="v"}`); -1 when absent. */
static double metric(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *l = text; l != NULL && *l != '\0';) {
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
        l = strchr(l, '\n');
        l = l != NULL ? l + 1 : NULL;
    }
    return -1;
}

static double reason(const char *text, const char *r)
{
    char series[128];

    snprintf(series, sizeof series,
             "toolwatch_event_errors_total{reason=\"%s\"}", r);
    return metric(text, series);
}

/* Poll /metrics until toolwatch_events_total reaches `events` (the
 * snapshot is published once a second). */
static void wait_events(struct fx *f, struct hget_body *b, double events)
{
    int64_t end = clock_mono_ms() + METRICS_WAIT_MS;

    for (;;) {
        assert_int_equal(hget(f->port, "/metrics", b), 200);
        if (metric(b->data, "toolwatch_events_total") >= events)
            break;
        if (clock_mono_ms() >= end) {
            print_message("%s\n", b->data);
            fail_msg("toolwatch_events_total never reached %.0f", events);
        }
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(metric(b->data, "toolwatch_events_total") == events);
}

/* VmHWM (peak resident set) of pid in kB, from /proc/<pid>/status. */
static long vm_hwm_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *fp;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    }
    fclose(fp);
    return kb;
}

/* SIGTERM: exit 0 within EXIT_WAIT_MS, no sanitizer report. */
static void stop_ok(struct fx *f)
{
    int st = -1;

    proc_signal(f->p, SIGTERM);
    if (!proc_wait_exit(f->p, EXIT_WAIT_MS, &st)) {
        dump_stderr(f->p);
        fail_msg("no exit within %d ms of SIGTERM", EXIT_WAIT_MS);
    }
    check_sanitizers(f->p);
    if (getenv("ITEST_VERBOSE"))
        dump_stderr(f->p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        dump_stderr(f->p);
        fail_msg("exit status %d (signal %d), want 0",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
}

/* ---- building the stream ---- */

struct script {
    struct tsrv_chunk *c;
    size_t n, cap;
};

/* Append a chunk (takes ownership of data, a malloc'd block). */
static void add_chunk(struct script *s, void *data, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->c = realloc(s->c, s->cap * sizeof *s->c);
        assert_non_null(s->c);
    }
    s->c[s->n].data = data;
    s->c[s->n].len = len;
    s->c[s->n].delay_ms = 0;
    s->n++;
}

static void add_text(struct script *s, const char *text, size_t len)
{
    char *copy = malloc(len);

    assert_non_null(copy);
    memcpy(copy, text, len);
    add_chunk(s, copy, len);
}

static void add_str(struct script *s, const char *text)
{
    add_text(s, text, strlen(text));
}

static void add_marker(struct script *s, const char *tool)
{
    char ev[256];
    int n = snprintf(ev, sizeof ev, MARKER_FMT, tool);

    add_text(s, ev, (size_t)n);
}

/* Serve the script as one 200 event stream that then hangs, and free it
 * (the server keeps its own copy). */
static void serve(struct fx *f, struct script *s)
{
    struct tsrv_response r = {0};

    r.chunks = s->c;
    r.nchunks = s->n;
    r.end = TSRV_HANG;
    assert_int_equal(tsrv_add_response(f->srv, &r), 0);
    for (size_t i = 0; i < s->n; i++)
        free((void *)s->c[i].data);
    free(s->c);
    s->c = NULL;
    s->n = s->cap = 0;
}

/* `nkeys` events, each a completed call with its own tool name and agent
 * id (the tool name contains "token", so credential_access, grouped by
 * agent, sees every one too), in CHUNK_BYTES chunks. */
static void add_flood(struct script *s, unsigned long nkeys)
{
    char *chunk = NULL;
    size_t used = 0;

    for (unsigned long i = 0; i < nkeys; i++) {
        char ev[160];
        int n = snprintf(ev, sizeof ev,
                         "data: {\"event_type\":\"tool_call_response\","
                         "\"tool_name\":\"t%07lu-token\",\"agent_id\":"
                         "\"a%07lu\"}\n\n",
                         i, i);
        if (chunk == NULL || used + (size_t)n > CHUNK_BYTES) {
            if (chunk != NULL)
                add_chunk(s, chunk, used);
            chunk = malloc(CHUNK_BYTES);
            assert_non_null(chunk);
            used = 0;
        }
        memcpy(chunk + used, ev, (size_t)n);
        used += (size_t)n;
    }
    if (chunk != NULL)
        add_chunk(s, chunk, used);
}

static unsigned long flood_keys(void)
{
    const char *v = getenv("HOSTILE_KEYS");
    unsigned long n = v != NULL && *v ? strtoul(v, NULL, 10) : 0;

    return n > 0 ? n : DEFAULT_KEYS;
}

/* ------------------------------- tests ------------------------------- */

/* A million distinct keys: every detector stays at max_keys, evictions
 * are counted, memory stays bounded, the service stays up and alerts. */
static void test_million_distinct_keys(void **state)
{
    struct fx *f = *state;
    struct script s = {0};
    struct hget_body *b = malloc(sizeof *b);
    unsigned long n = flood_keys();
    static const char *const dets[] = {"volume", "error_rate",
                                       "credential_access"};
    double evictions = 0;
    long hwm;
    int64_t t0;

    assert_non_null(b);
    add_flood(&s, n);
    add_marker(&s, "after-flood");
    serve(f, &s);
    t0 = clock_mono_ms();
    start_run(f);
    expect_alert(f, "after-flood");
    wait_events(f, b, (double)n + 1);
    print_message("%lu events in %lld ms\n", n + 1,
                  (long long)(clock_mono_ms() - t0));

    for (size_t i = 0; i < sizeof dets / sizeof dets[0]; i++) {
        char series[128];
        double keys, ev;
        snprintf(series, sizeof series,
                 "toolwatch_rule_keys{rule=\"%s\"}", dets[i]);
        keys = metric(b->data, series);
        snprintf(series, sizeof series,
                 "toolwatch_rule_evictions_total{rule=\"%s\"}",
                 dets[i]);
        ev = metric(b->data, series);
        print_message("%s: %.0f keys, %.0f evictions\n", dets[i], keys, ev);
        assert_true(keys >= 1 && keys <= MAX_KEYS);
        /* every key past the first max_keys evicted one */
        assert_true(ev >= (double)n - MAX_KEYS);
        evictions += ev;
    }
    assert_true(evictions > 0);
    assert_true(metric(b->data, "toolwatch_events_decoded_total") ==
                (double)n + 1);
    assert_true(metric(b->data, "toolwatch_stream_connects_total") == 1);

    hwm = vm_hwm_kb(proc_pid(f->p));
    print_message("peak RSS (VmHWM): %ld kB, bound %d MB\n", hwm,
                  RSS_BOUND_MB);
    assert_true(hwm > 0 && hwm < RSS_BOUND_MB * 1024L);
    stop_ok(f);
    free(b);
}

/* A 10 MB line: skipped, counted as oversize; the next event counts. */
static void test_ten_megabyte_line(void **state)
{
    struct fx *f = *state;
    struct script s = {0};
    struct hget_body *b = malloc(sizeof *b);
    char *big = malloc(BIG_LINE_BYTES + 8);

    assert_non_null(b);
    assert_non_null(big);
    /* one data line of 10 MB (a JSON string that never ends in time) */
    memcpy(big, "data: {\"tool_name\":\"", 20);
    memset(big + 20, 'x', BIG_LINE_BYTES - 20);
    memcpy(big + BIG_LINE_BYTES, "\"}\n\n", 4);
    add_chunk(&s, big, BIG_LINE_BYTES + 4);
    add_marker(&s, "after-big-line");
    serve(f, &s);
    start_run(f);
    expect_alert(f, "after-big-line");
    /* the oversize event is skipped before dispatch: one event counted */
    wait_events(f, b, 1);
    assert_true(reason(b->data, "oversize") == 1);
    assert_true(reason(b->data, "not_json") == 0);
    assert_true(metric(b->data, "toolwatch_stream_connects_total") == 1);
    assert_true(proc_wait_stderr(f->p, "event larger than 1048576 bytes "
                                       "skipped", 0));
    stop_ok(f);
    free(b);
}

/* Malformed records, each counted under its reason; none stops the
 * service; the next normal event still alerts. */
static void test_malformed_records(void **state)
{
    struct fx *f = *state;
    struct script s = {0};
    struct hget_body *b = malloc(sizeof *b);
    char *deep = malloc(2 * NEST_DEPTH + 64);
    size_t n;
    double events = 0;

    assert_non_null(b);
    assert_non_null(deep);

    /* deep nesting, three ways: open only, balanced, inside a record */
    memcpy(deep, "data: ", 6);
    memset(deep + 6, '[', NEST_DEPTH);
    memcpy(deep + 6 + NEST_DEPTH, "\n\n", 2);
    add_text(&s, deep, 6 + NEST_DEPTH + 2);
    memset(deep + 6 + NEST_DEPTH, ']', NEST_DEPTH);
    memcpy(deep + 6 + 2 * NEST_DEPTH, "\n\n", 2);
    add_text(&s, deep, 6 + 2 * NEST_DEPTH + 2);
    n = (size_t)snprintf(deep, 64, "data: {\"tool_name\":\"deep\","
                                   "\"metadata\":");
    memset(deep + n, '[', NEST_DEPTH);
    memset(deep + n + NEST_DEPTH, ']', NEST_DEPTH);
    memcpy(deep + n + 2 * NEST_DEPTH, "}\n\n", 3);
    add_text(&s, deep, n + 2 * NEST_DEPTH + 3);
    events += 3;
    free(deep);

    /* NUL bytes: inside a string, after the object, alone */
    static const char nul1[] = "data: {\"event_type\":\"tool_call_response\","
                               "\"tool_name\":\"db\0x\"}\n\n";
    static const char nul2[] = "data: {\"tool_name\":\"db\"}\0\n\n";
    static const char nul3[] = "data: \0\n\n";
    add_text(&s, nul1, sizeof nul1 - 1);
    add_text(&s, nul2, sizeof nul2 - 1);
    add_text(&s, nul3, sizeof nul3 - 1);
    events += 3;

    /* not JSON, not an object */
    add_str(&s, "data: {\"tool_name\":\n\n");
    add_str(&s, "data: [1, 2]\n\n");
    add_str(&s, "data: \"a string\"\n\n");
    events += 3;

    /* invalid UTF-8 in a name: 8 replacements (WHATWG: ff, fe, c0, 80,
     * ed (a0 is not a valid second byte after ed), a0, 80, 80); the
     * record itself is good */
    add_str(&s, "data: {\"event_type\":\"tool_call_response\",\"tool_name\":"
                "\"bad-\xff\xfe-\xc0\x80-\xed\xa0\x80-\x80\"}\n\n");
    events += 1;

    /* numbers out of range: each field ignored, the record counted */
    static const char *const nums[] = {
        "\"response_payload_size_bytes\":1e999",
        "\"response_payload_size_bytes\":-1",
        "\"response_payload_size_bytes\":1180591620717411303424", /* 2^70 */
        "\"execution_duration_ms\":1e999",
        "\"execution_duration_ms\":-1",
        "\"tokens_consumed\":-1e999",
        "\"cost_usd\":-1"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        char ev[256];
        int k = snprintf(ev, sizeof ev,
                         "data: {\"event_type\":\"tool_call_response\","
                         "\"tool_name\":\"num\",%s}\n\n",
                         nums[i]);
        add_text(&s, ev, (size_t)k);
    }
    events += 7;

    /* wrong types, a bad timestamp */
    add_str(&s, "data: {\"tool_name\":123,\"agent_id\":[],\"event_type\":"
                "\"tool_call_response\"}\n\n");
    add_str(&s, "data: {\"tool_name\":\"ts\",\"timestamp\":\"yesterday\"}\n\n");
    events += 2;

    add_marker(&s, "after-malformed");
    events += 1;
    serve(f, &s);
    start_run(f);
    expect_alert(f, "after-malformed");
    wait_events(f, b, events);

    assert_true(reason(b->data, "not_json") == 3 + 3 + 1);
    assert_true(reason(b->data, "not_object") == 2);
    assert_true(reason(b->data, "invalid_utf8") == 8);
    assert_true(reason(b->data, "bad_value") == 7);
    assert_true(reason(b->data, "wrong_type") == 2);
    assert_true(reason(b->data, "bad_timestamp") == 1);
    assert_true(reason(b->data, "oversize") == 0);
    /* decoded: invalid UTF-8 (1), numbers (7), types (2), marker (1) */
    assert_true(metric(b->data, "toolwatch_events_decoded_total") == 11);
    assert_true(metric(b->data, "toolwatch_stream_connects_total") == 1);
    stop_ok(f);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ten_megabyte_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_million_distinct_keys, setup,
                                        teardown),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
