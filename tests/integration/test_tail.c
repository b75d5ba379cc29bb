/*
 * test_tail.c - integration tests of `toolwatch tail` against a scripted
 * SSE server.
 *
 * What: each test starts a tests/support/sse_server on 127.0.0.1 with a
 * script of responses, runs the binary named by $TOOLWATCH_BIN (default
 * build/asan/toolwatch) as `tail URL ...` through tests/support/proc, and
 * checks the exact NDJSON lines on stdout, the requests the server saw
 * (headers, arrival times) and the log lines on stderr.
 *
 * Why: the contract of `tail` (SPEC.md §1 and §4) is about bytes on the
 * wire and timing between connections; only a real peer can check it.
 *
 * Invariants:
 *  - no test sleeps to wait for something: it waits on a condition (a line,
 *    a log substring, the n-th request, an exit) with a bounded timeout;
 *    the only pacing is the server's own (chunk delays);
 *  - timing checks measure on the server's clock: from the moment the server
 *    ended response k (or wrote its last byte) to the arrival of request
 *    k+1; lower bounds are exact, upper bounds carry SLACK_MS;
 *  - every test ends the child (SIGTERM, then SIGKILL in teardown) and
 *    checks that it printed no sanitizer report;
 *  - the whole file runs in well under a minute: small caps and timeouts.
 *
 * Set ITEST_VERBOSE=1 to print each child's stderr at teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/sse_server.h"

#define LINE_WAIT_MS 5000 /* a line that should come promptly */
#define EXIT_WAIT_MS 5000 /* an exit that should come promptly */
#define REQ_WAIT_MS 6000  /* a reconnect (the longest scripted delay is 3 s) */
#define SLACK_MS 500      /* scheduling slack on upper bounds */
#define LINE_MAX_BYTES (64 * 1024)

#define SECRET "sk-itest-5ecret-Zq9wX"

struct fx {
    struct tsrv *srv;
    struct proc *p;   /* the tail under test, if any */
    char url[128];    /* http://127.0.0.1:<port>/events */
    char dir[64];     /* a temporary state directory, "" if none */
};

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

/* Start `toolwatch tail <url> args...` with env changes (both may be
 * NULL); the child replaces any previous one (which must have ended). */
static void start_tail_url(struct fx *f, const char *url,
                           const char *const args[], const char *const env[])
{
    const char *argv[64];
    size_t n = 0;

    argv[n++] = tw_bin();
    argv[n++] = "tail";
    if (url)
        argv[n++] = url;
    for (size_t i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    proc_destroy(f->p);
    f->p = proc_spawn(argv, env);
    assert_non_null(f->p);
}

static void start_tail(struct fx *f, const char *const args[],
                       const char *const env[])
{
    start_tail_url(f, f->url, args, env);
}

/* The next stdout line must be exactly want. */
static void expect_line(struct fx *f, const char *want)
{
    static char got[LINE_MAX_BYTES];
    int n = proc_read_line(f->p, got, sizeof got, LINE_WAIT_MS);

    if (n < 0) {
        dump_stderr(f->p);
        fail_msg("expected stdout line\n  want: %s\n  got:  %s", want,
                 n == PROC_TIMEOUT ? "(timeout)"
                 : n == PROC_EOF   ? "(end of output)"
                                   : "(line too long)");
    }
    if ((size_t)n != strlen(want) || memcmp(got, want, (size_t)n) != 0) {
        dump_stderr(f->p);
        fail_msg("stdout line differs\n  want: %s\n  got:  %s", want, got);
    }
}

/* stdout must end (the child closed it) with no further line. */
static void expect_eof(struct fx *f)
{
    static char got[LINE_MAX_BYTES];
    int n = proc_read_line(f->p, got, sizeof got, LINE_WAIT_MS);
    if (n != PROC_EOF) {
        dump_stderr(f->p);
        fail_msg("expected end of stdout, got %s%s",
                 n >= 0 ? "a line: " : n == PROC_TIMEOUT ? "(timeout)" : "?",
                 n >= 0 ? got : "");
    }
}

static void expect_stderr(struct fx *f, const char *needle, int timeout_ms)
{
    if (!proc_wait_stderr(f->p, needle, timeout_ms)) {
        dump_stderr(f->p);
        fail_msg("stderr never contained \"%s\"", needle);
    }
}

static void check_sanitizers(struct fx *f)
{
    static const char *const bad[] = {"AddressSanitizer", "LeakSanitizer",
                                      "runtime error:", "UndefinedBehavior"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (proc_wait_stderr(f->p, bad[i], 0)) {
            dump_stderr(f->p);
            fail_msg("sanitizer report on the child's stderr (%s)", bad[i]);
        }
    }
}

/* The child must exit with code within EXIT_WAIT_MS. */
static void expect_exit(struct fx *f, int code)
{
    int st = 0;
    if (!proc_wait_exit(f->p, EXIT_WAIT_MS, &st)) {
        dump_stderr(f->p);
        fail_msg("child did not exit within %d ms (want exit %d)",
                 EXIT_WAIT_MS, code);
    }
    check_sanitizers(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != code) {
        dump_stderr(f->p);
        if (WIFSIGNALED(st))
            fail_msg("child killed by signal %d (want exit %d)",
                     WTERMSIG(st), code);
        fail_msg("child exit status %d (want %d)", WEXITSTATUS(st), code);
    }
}

/* End of a test: stop the child with SIGTERM if it still runs, require
 * that it goes within EXIT_WAIT_MS and reported no sanitizer error. */
static void finish(struct fx *f)
{
    int st;
    if (!f->p)
        return;
    if (!proc_wait_exit(f->p, 0, &st)) {
        proc_signal(f->p, SIGTERM);
        if (!proc_wait_exit(f->p, EXIT_WAIT_MS, &st)) {
            dump_stderr(f->p);
            fail_msg("child did not exit within %d ms of SIGTERM",
                     EXIT_WAIT_MS);
        }
    }
    check_sanitizers(f);
}

static void get_req(struct fx *f, size_t idx, struct tsrv_request_info *out)
{
    if (!tsrv_request(f->srv, idx, out))
        fail_msg("request %zu was not recorded", idx);
}

static void wait_requests(struct fx *f, size_t n, int timeout_ms)
{
    if (!tsrv_wait_requests(f->srv, n, timeout_ms)) {
        if (f->p)
            dump_stderr(f->p);
        fail_msg("the server saw %zu requests within %d ms, want %zu",
                 tsrv_request_count(f->srv), timeout_ms, n);
    }
}

/* Header name of request idx must be want (NULL: must be absent). */
static void expect_header(struct fx *f, size_t idx, const char *name,
                          const char *want)
{
    char got[1024];
    bool present = tsrv_header(f->srv, idx, name, got, sizeof got);
    if (!want) {
        if (present)
            fail_msg("request %zu: header %s should be absent, is \"%s\"",
                     idx, name, got);
        return;
    }
    if (!present)
        fail_msg("request %zu: header %s missing (want \"%s\")", idx, name,
                 want);
    if (strcmp(got, want) != 0)
        fail_msg("request %zu: header %s is \"%s\", want \"%s\"", idx, name,
                 got, want);
}

/* Milliseconds from the end of response k to the arrival of request k+1. */
static int64_t gap_after_close(struct fx *f, size_t k)
{
    struct tsrv_request_info a, b;
    if (!tsrv_wait_closed(f->srv, k, LINE_WAIT_MS))
        fail_msg("response %zu never ended", k);
    get_req(f, k, &a);
    get_req(f, k + 1, &b);
    return b.arrival_ms - a.end_ms;
}

static void expect_gap(int64_t gap, int64_t lo, int64_t hi, const char *what)
{
    print_message("    %s: %lld ms (want %lld..%lld)\n", what,
                  (long long)gap, (long long)lo, (long long)hi);
    if (gap < lo || gap > hi)
        fail_msg("%s: %lld ms, want between %lld and %lld ms", what,
                 (long long)gap, (long long)lo, (long long)hi);
}

static void add_stream(struct fx *f, const char *body, enum tsrv_end end)
{
    assert_int_equal(tsrv_add_stream(f->srv, body, end), 0);
}

static void add_status(struct fx *f, int status, const char *hdr)
{
    assert_int_equal(tsrv_add_status(f->srv, status, hdr), 0);
}

/* ------------------------------ fixture ------------------------------ */

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->srv = tsrv_create();
    if (!f->srv || tsrv_url(f->srv, "/events", f->url, sizeof f->url) != 0) {
        tsrv_destroy(f->srv);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[512];
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) <
            (int)sizeof path)
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->p && getenv("ITEST_VERBOSE"))
        dump_stderr(f->p);
    proc_destroy(f->p);
    tsrv_destroy(f->srv);
    if (f->dir[0])
        remove_dir(f->dir);
    free(f);
    return 0;
}

/* ----------------------- stream format and output ----------------------- */

/* A stream touching most of the format: comments, ids, event types,
 * multi-line data, "data:" with and without the space, a bare "data"
 * field, an event with no data (not dispatched), an unknown field, and
 * characters that JSON must escape. */
static const char canon_stream[] =
    ": welcome\n"
    "id: 1\n"
    "event: tool_call_request\n"
    "data: {\"record_id\":\"r1\",\"tool_name\":\"postgres_query\"}\n"
    "\n"
    "data: first line\n"
    "data: second line\n"
    "\n"
    "id: 2\n"
    ": heartbeat\n"
    "event: tool_call_error\n"
    "data:no-space\n"
    "data:  two spaces\n"
    "data\n"
    "\n"
    "event: ignored-no-data\n"
    "unknown: field\n"
    "\n"
    "data: tab\there \"q\" back\\slash\n"
    "\n";

static const char *const canon_lines[] = {
    "{\"id\":\"1\",\"event\":\"tool_call_request\",\"data\":"
    "\"{\\\"record_id\\\":\\\"r1\\\",\\\"tool_name\\\":\\\"postgres_query\\\"}\"}",
    "{\"id\":\"1\",\"event\":\"message\",\"data\":\"first line\\nsecond line\"}",
    "{\"id\":\"2\",\"event\":\"tool_call_error\",\"data\":"
    "\"no-space\\n two spaces\\n\"}",
    "{\"id\":\"2\",\"event\":\"message\",\"data\":"
    "\"tab\\there \\\"q\\\" back\\\\slash\"}",
};

static void expect_canon(struct fx *f)
{
    for (size_t i = 0; i < sizeof canon_lines / sizeof canon_lines[0]; i++)
        expect_line(f, canon_lines[i]);
    expect_eof(f);
    expect_exit(f, 0);
}

static void test_events_fields_ids_comments(void **state)
{
    struct fx *f = *state;
    add_stream(f, canon_stream, TSRV_CLOSE);
    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_canon(f);
}

/* The same stream one byte per write (each after 1 ms): identical output. */
static void test_split_one_byte_chunks(void **state)
{
    struct fx *f = *state;
    size_t n = sizeof canon_stream - 1;
    struct tsrv_chunk *ch = calloc(n, sizeof *ch);
    assert_non_null(ch);
    for (size_t i = 0; i < n; i++)
        ch[i] = (struct tsrv_chunk){canon_stream + i, 1, 1};
    struct tsrv_response r = {.chunks = ch, .nchunks = n, .end = TSRV_CLOSE};
    int rc = tsrv_add_response(f->srv, &r);
    free(ch);
    assert_int_equal(rc, 0);
    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_canon(f);
}

/* Rewrite canon_stream with each "\n" replaced by eol, and script it split
 * right after every CR (so a CRLF pair straddles two writes). */
static void script_split_at_cr(struct fx *f, const char *eol)
{
    size_t n = sizeof canon_stream - 1;
    char *buf = malloc(2 * n);
    struct tsrv_chunk *ch = calloc(n + 1, sizeof *ch);
    size_t len = 0, nch = 0, start = 0;
    assert_non_null(buf);
    assert_non_null(ch);
    for (size_t i = 0; i < n; i++) {
        if (canon_stream[i] == '\n') {
            memcpy(buf + len, eol, strlen(eol));
            len += strlen(eol);
        } else {
            buf[len++] = canon_stream[i];
        }
    }
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\r') {
            ch[nch++] = (struct tsrv_chunk){buf + start, i + 1 - start, 5};
            start = i + 1;
        }
    }
    if (start < len)
        ch[nch++] = (struct tsrv_chunk){buf + start, len - start, 5};
    struct tsrv_response r = {.chunks = ch, .nchunks = nch, .end = TSRV_CLOSE};
    int rc = tsrv_add_response(f->srv, &r);
    free(ch);
    free(buf);
    assert_int_equal(rc, 0);
}

static void test_split_crlf_at_cr(void **state)
{
    struct fx *f = *state;
    script_split_at_cr(f, "\r\n");
    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_canon(f);
}

/* CR-only line ends, each write ending in CR: the parser must not wait for
 * an LF that never comes (the last event ends "\r\r" right before EOF). */
static void test_split_cr_only(void **state)
{
    struct fx *f = *state;
    script_split_at_cr(f, "\r");
    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_canon(f);
}

/* A BOM is skipped; JSON escaping of id, type and data: quote, backslash,
 * \b \f \t, other controls as \u00XX, DEL and UTF-8 raw. */
static void test_bom_and_json_escaping(void **state)
{
    struct fx *f = *state;
    add_stream(f,
               "\xEF\xBB\xBF"
               "id: a\"b\\c\n"
               "event: ty\"pe\n"
               "data: ctl \x01\x02\x08\x0c\x10\x19\x7f end\n"
               "data: utf8 \xC3\xA9 \xF0\x9F\x98\x80\n"
               "\n",
               TSRV_CLOSE);
    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_line(f, "{\"id\":\"a\\\"b\\\\c\",\"event\":\"ty\\\"pe\",\"data\":"
                   "\"ctl \\u0001\\u0002\\b\\f\\u0010\\u0019\\u007f end\\n"
                   "utf8 \xC3\xA9 \xF0\x9F\x98\x80\"}");
    expect_eof(f);
    expect_exit(f, 0);
}

/* Random binary (NUL, invalid UTF-8, stray CR/LF) between valid events:
 * no crash, the valid events exact, invalid bytes in data as U+FFFD. */
static void test_garbage_and_invalid_utf8(void **state)
{
    struct fx *f = *state;
    enum { GARBAGE = 8192 };
    static const char head[] = "id: g0\ndata: start\n\n";
    static const char tail[] =
        "\n\n"
        "id: g1\ndata: after garbage\n\n"
        "data: a\xFF" "b\xC3(c\xE2\x82z\xC0\xAF" "end\x00nul\n\n";
    char *body = malloc(sizeof head + GARBAGE + sizeof tail);
    uint64_t x = 0x9E3779B97F4A7C15u;
    size_t len = 0;
    assert_non_null(body);
    memcpy(body, head, sizeof head - 1);
    len = sizeof head - 1;
    for (size_t i = 0; i < GARBAGE; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char c = (char)(x >> 24);
        /* no garbage line may start a known field (data/event/id/retry) */
        char prev = body[len - 1];
        if ((prev == '\n' || prev == '\r') &&
            (c == 'd' || c == 'e' || c == 'i' || c == 'r'))
            c = 'X';
        body[len++] = c;
    }
    memcpy(body + len, tail, sizeof tail - 1);
    len += sizeof tail - 1;
    struct tsrv_chunk ch[] = {{body, 1000, 0}, {body + 1000, len - 1000, 20}};
    struct tsrv_response r = {.chunks = ch, .nchunks = 2, .end = TSRV_CLOSE};
    int rc = tsrv_add_response(f->srv, &r);
    free(body);
    assert_int_equal(rc, 0);

    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_line(f, "{\"id\":\"g0\",\"event\":\"message\",\"data\":\"start\"}");
    expect_line(f, "{\"id\":\"g1\",\"event\":\"message\","
                   "\"data\":\"after garbage\"}");
    expect_line(f, "{\"id\":\"g1\",\"event\":\"message\",\"data\":\"a"
                   "\xEF\xBF\xBD" "b" "\xEF\xBF\xBD" "(c" "\xEF\xBF\xBD" "z"
                   "\xEF\xBF\xBD\xEF\xBF\xBD" "end\\u0000nul\"}");
    expect_eof(f);
    expect_exit(f, 0);
}

/* A 2 MiB data line with the default 1 MiB cap is skipped and logged; the
 * events around it are printed exactly. */
static void test_oversize_event_skipped(void **state)
{
    struct fx *f = *state;
    enum { BIG = 2 * 1024 * 1024, PIECE = 64 * 1024 };
    char *big = malloc(BIG);
    struct tsrv_chunk ch[2 + BIG / PIECE + 2];
    size_t n = 0;
    assert_non_null(big);
    memset(big, 'x', BIG);
    ch[n++] = (struct tsrv_chunk){"id: before\ndata: b\n\n", 20, 0};
    ch[n++] = (struct tsrv_chunk){"data: ", 6, 0};
    for (size_t off = 0; off < BIG; off += PIECE)
        ch[n++] = (struct tsrv_chunk){big + off, PIECE, 0};
    ch[n++] = (struct tsrv_chunk){"\n\n", 2, 0};
    ch[n++] = (struct tsrv_chunk){"id: after\ndata: ok\n\n", 20, 0};
    struct tsrv_response r = {.chunks = ch, .nchunks = n, .end = TSRV_HANG};
    int rc = tsrv_add_response(f->srv, &r);
    free(big);
    assert_int_equal(rc, 0);

    start_tail(f, NULL, NULL);
    expect_line(f, "{\"id\":\"before\",\"event\":\"message\",\"data\":\"b\"}");
    expect_line(f, "{\"id\":\"after\",\"event\":\"message\",\"data\":\"ok\"}");
    expect_stderr(f, "larger than", LINE_WAIT_MS);
    assert_int_equal(tsrv_request_count(f->srv), 1);
    finish(f);
}

/* --max-event-bytes caps a whole event, not only a line: 30 data lines of
 * 100 bytes with a 1024-byte cap are skipped. */
static void test_max_event_bytes_option(void **state)
{
    struct fx *f = *state;
    char body[8192];
    size_t len = 0;
    memcpy(body, "id: m1\ndata: small\n\n", 20);
    len = 20;
    for (int i = 0; i < 30; i++) {
        memcpy(body + len, "data: ", 6);
        len += 6;
        memset(body + len, 'y', 100);
        len += 100;
        body[len++] = '\n';
    }
    body[len++] = '\n';
    memcpy(body + len, "id: m2\ndata: next\n\n", 19);
    len += 19;
    body[len] = '\0';
    add_stream(f, body, TSRV_HANG);
    start_tail(f, (const char *const[]){"--max-event-bytes", "1024", NULL},
               NULL);
    expect_line(f, "{\"id\":\"m1\",\"event\":\"message\",\"data\":\"small\"}");
    expect_line(f, "{\"id\":\"m2\",\"event\":\"message\",\"data\":\"next\"}");
    expect_stderr(f, "larger than", LINE_WAIT_MS);
    finish(f);
}

/* Lines are flushed one by one while the connection stays open. */
static void test_lines_flushed_while_open(void **state)
{
    struct fx *f = *state;
    add_stream(f, "id: k1\ndata: one\n\n", TSRV_KEEP);
    start_tail(f, NULL, NULL);
    expect_line(f, "{\"id\":\"k1\",\"event\":\"message\",\"data\":\"one\"}");
    assert_int_equal(tsrv_push(f->srv, 0, "id: k2\ndata: two\n\n", 18), 0);
    expect_line(f, "{\"id\":\"k2\",\"event\":\"message\",\"data\":\"two\"}");
    assert_int_equal(tsrv_push(f->srv, 0, "event: e3\ndata: three\n\n", 23),
                     0);
    expect_line(f, "{\"id\":\"k2\",\"event\":\"e3\",\"data\":\"three\"}");
    finish(f);
}

/* --------------------------- requests and ids --------------------------- */

/* After a close the next request carries Last-Event-ID = the last id; both
 * carry Accept and Cache-Control; the first has no Last-Event-ID and no
 * Authorization. */
static void test_reconnect_sends_last_event_id(void **state)
{
    struct fx *f = *state;
    struct tsrv_request_info r0;
    add_stream(f, "id: a1\ndata: one\n\nid: a2\ndata: two\n\n", TSRV_CLOSE);
    add_stream(f, "id: a3\ndata: three\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "50", "--retry-max-ms",
                                     "200", NULL},
               NULL);
    expect_line(f, "{\"id\":\"a1\",\"event\":\"message\",\"data\":\"one\"}");
    expect_line(f, "{\"id\":\"a2\",\"event\":\"message\",\"data\":\"two\"}");
    expect_line(f, "{\"id\":\"a3\",\"event\":\"message\",\"data\":\"three\"}");
    wait_requests(f, 2, REQ_WAIT_MS);
    get_req(f, 0, &r0);
    assert_string_equal(r0.method, "GET");
    assert_string_equal(r0.path, "/events");
    for (size_t i = 0; i < 2; i++) {
        expect_header(f, i, "Accept", "text/event-stream");
        expect_header(f, i, "Cache-Control", "no-cache");
        expect_header(f, i, "Authorization", NULL);
    }
    expect_header(f, 0, "Last-Event-ID", NULL);
    expect_header(f, 1, "Last-Event-ID", "a2");
    expect_stderr(f, "connected to", LINE_WAIT_MS);
    finish(f);
}

/* An event cut off by the end of the stream is discarded, and its id line
 * does not become the last event ID (WHATWG: the id is committed when the
 * event is dispatched). */
static void test_partial_event_discarded(void **state)
{
    struct fx *f = *state;
    add_stream(f, "id: p1\ndata: done\n\nid: p2\ndata: partial", TSRV_CLOSE);
    add_stream(f, "id: p3\ndata: next\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "50", "--retry-max-ms",
                                     "200", NULL},
               NULL);
    expect_line(f, "{\"id\":\"p1\",\"event\":\"message\",\"data\":\"done\"}");
    expect_line(f, "{\"id\":\"p3\",\"event\":\"message\",\"data\":\"next\"}");
    expect_header(f, 1, "Last-Event-ID", "p1");
    finish(f);
}

/* --last-event-id goes on the first request and is the id in force until
 * the stream gives one. */
static void test_last_event_id_option(void **state)
{
    struct fx *f = *state;
    add_stream(f, "data: no id yet\n\nid: n2\ndata: x\n\n", TSRV_HANG);
    start_tail(f, (const char *const[]){"--last-event-id", "start-42", NULL},
               NULL);
    expect_line(f, "{\"id\":\"start-42\",\"event\":\"message\","
                   "\"data\":\"no id yet\"}");
    expect_line(f, "{\"id\":\"n2\",\"event\":\"message\",\"data\":\"x\"}");
    wait_requests(f, 1, LINE_WAIT_MS);
    expect_header(f, 0, "Last-Event-ID", "start-42");
    finish(f);
}

static void test_custom_headers(void **state)
{
    struct fx *f = *state;
    add_stream(f, "data: x\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--header", "X-Tenant: acme-corp",
                                     "--header", "X-Trace-Id: t 1/2", NULL},
               NULL);
    expect_line(f, "{\"id\":\"\",\"event\":\"message\",\"data\":\"x\"}");
    expect_header(f, 0, "X-Tenant", "acme-corp");
    expect_header(f, 0, "X-Trace-Id", "t 1/2");
    expect_header(f, 0, "Accept", "text/event-stream");
    finish(f);
}

/* --header-env NAME=VAR: the header carries the variable's exact value on
 * every request (a reconnect too), next to --header; the value (a secret)
 * is never printed, not even at log level debug. */
static void test_header_env(void **state)
{
    struct fx *f = *state;
    add_stream(f, "id: h1\ndata: one\n\n", TSRV_CLOSE);
    add_stream(f, "id: h2\ndata: two\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--header-env", "X-Api-Key=TW_ITEST_HDR",
                                     "--header", "X-Tenant: acme",
                                     "--header-env", "X-Other=TW_ITEST_HDR2",
                                     "--retry-base-ms", "50",
                                     "--retry-max-ms", "200",
                                     "--log-level", "debug", NULL},
               (const char *const[]){"TW_ITEST_HDR=" SECRET,
                                     "TW_ITEST_HDR2=" SECRET "-2 with\ttab",
                                     NULL});
    expect_line(f, "{\"id\":\"h1\",\"event\":\"message\",\"data\":\"one\"}");
    expect_line(f, "{\"id\":\"h2\",\"event\":\"message\",\"data\":\"two\"}");
    wait_requests(f, 2, REQ_WAIT_MS);
    for (size_t i = 0; i < 2; i++) {
        expect_header(f, i, "X-Api-Key", SECRET);
        expect_header(f, i, "X-Other", SECRET "-2 with\ttab");
        expect_header(f, i, "X-Tenant", "acme");
        expect_header(f, i, "Authorization", NULL);
    }
    expect_header(f, 1, "Last-Event-ID", "h1");
    finish(f);
    if (proc_output_contains(f->p, SECRET)) {
        dump_stderr(f->p);
        fail_msg("a --header-env value appears in the output");
    }
}

/* A redirect is not followed while a header's value comes from the
 * environment (libcurl would send it on to the new host): the other
 * server never sees a request, and the log says why. */
static void test_header_env_no_redirect(void **state)
{
    struct fx *f = *state;
    struct tsrv *other = tsrv_create();
    char url[128], loc[160];

    assert_non_null(other);
    assert_int_equal(tsrv_url(other, "/events", url, sizeof url), 0);
    assert_int_equal(tsrv_add_stream(other, "data: elsewhere\n\n", TSRV_HANG),
                     0);
    snprintf(loc, sizeof loc, "Location: %s", url);
    assert_int_equal(tsrv_add_status(f->srv, 302, loc), 0);
    start_tail(f,
               (const char *const[]){"--header-env", "X-Api-Key=TW_ITEST_HDR",
                                     "--retry-base-ms", "50",
                                     "--retry-max-ms", "100", NULL},
               (const char *const[]){"TW_ITEST_HDR=" SECRET, NULL});
    expect_stderr(f, "HTTP 302 from", REQ_WAIT_MS);
    expect_stderr(f, "redirects are not followed while headers come from "
                     "the environment", REQ_WAIT_MS);
    wait_requests(f, 2, REQ_WAIT_MS); /* it retried the same URL */
    assert_int_equal(tsrv_request_count(other), 0);
    finish(f);
    tsrv_destroy(other);
    if (proc_output_contains(f->p, SECRET)) {
        dump_stderr(f->p);
        fail_msg("a --header-env value appears in the output");
    }
}

/* --header-env refuses to start, before any request, for a malformed
 * option (2), an unset or empty variable (2, named), or a value that would
 * break the request (1, named, the value not printed). */
static void test_header_env_errors(void **state)
{
    struct fx *f = *state;
    size_t len;
    add_stream(f, "data: x\n\n", TSRV_HANG);
    start_tail(f, (const char *const[]){"--header-env", "X-Api-Key", NULL},
               NULL);
    expect_exit(f, 2);
    expect_stderr(f, "--header-env: expected NAME=VAR", 0);
    start_tail(f, (const char *const[]){"--header-env", "=TW_ITEST_HDR", NULL},
               (const char *const[]){"TW_ITEST_HDR=" SECRET, NULL});
    expect_exit(f, 2);
    start_tail(f, (const char *const[]){"--header-env", "X-Api-Key=", NULL},
               NULL);
    expect_exit(f, 2);
    start_tail(f,
               (const char *const[]){"--header-env", "X-Api-Key=TW_ITEST_HDR",
                                     NULL},
               (const char *const[]){"TW_ITEST_HDR", NULL});
    expect_exit(f, 2);
    expect_stderr(f, "--header-env: environment variable TW_ITEST_HDR is "
                     "not set", 0);
    start_tail(f,
               (const char *const[]){"--header-env", "X-Api-Key=TW_ITEST_HDR",
                                     NULL},
               (const char *const[]){"TW_ITEST_HDR=", NULL});
    expect_exit(f, 2);
    expect_stderr(f, "--header-env: environment variable TW_ITEST_HDR is "
                     "empty", 0);
    start_tail(f,
               (const char *const[]){"--header-env", "X-Api-Key=TW_ITEST_HDR",
                                     NULL},
               (const char *const[]){"TW_ITEST_HDR=" SECRET "\r\nX-Evil: 1",
                                     NULL});
    expect_exit(f, 1);
    expect_stderr(f, "the value of header X-Api-Key in TW_ITEST_HDR is empty "
                     "or contains a line break", 0);
    if (proc_output_contains(f->p, SECRET)) {
        dump_stderr(f->p);
        fail_msg("a --header-env value appears in the output");
    }
    proc_stdout_all(f->p, &len);
    assert_int_equal(len, 0);
    assert_int_equal(tsrv_request_count(f->srv), 0);
}

/* --state-dir: a run stopped by --max-events keeps the id of the last
 * printed event (not of an event read but not printed) in DIR/position,
 * mode 0600; the next run's first request resumes from it. */
static void test_state_dir_resume(void **state)
{
    struct fx *f = *state;
    char path[128];
    char content[256];
    struct stat st;
    ssize_t n;
    int fd;

    memcpy(f->dir, "/tmp/tw-itest-XXXXXX", 21);
    assert_non_null(mkdtemp(f->dir));
    add_stream(f, "id: s1\ndata: a\n\nid: s2\ndata: b\n\nid: s3\ndata: c\n\n",
               TSRV_HANG);
    add_stream(f, "id: s4\ndata: d\n\n", TSRV_HANG);

    start_tail(f,
               (const char *const[]){"--state-dir", f->dir, "--max-events",
                                     "2", NULL},
               NULL);
    expect_line(f, "{\"id\":\"s1\",\"event\":\"message\",\"data\":\"a\"}");
    expect_line(f, "{\"id\":\"s2\",\"event\":\"message\",\"data\":\"b\"}");
    expect_eof(f);
    expect_exit(f, 0);

    snprintf(path, sizeof path, "%s/position", f->dir);
    if (stat(path, &st) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    assert_int_equal(st.st_mode & 0777, 0600);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, content, sizeof content - 1);
    close(fd);
    assert_true(n > 0);
    content[n] = '\0';
    if (!strstr(content, "s2") || strstr(content, "s3"))
        fail_msg("position file holds \"%s\", want the id s2", content);

    start_tail(f, (const char *const[]){"--state-dir", f->dir, NULL}, NULL);
    expect_line(f, "{\"id\":\"s4\",\"event\":\"message\",\"data\":\"d\"}");
    expect_header(f, 1, "Last-Event-ID", "s2");
    finish(f);
}

/* ------------------------------ reconnection ------------------------------ */

/* retry: 1500 replaces the base: next request 1500..3000 ms after close. */
static void test_retry_field_honoured(void **state)
{
    struct fx *f = *state;
    add_stream(f, "retry: 1500\nid: r1\ndata: x\n\n", TSRV_CLOSE);
    add_stream(f, "id: r2\ndata: y\n\n", TSRV_HANG);
    start_tail(f, NULL, NULL);
    expect_line(f, "{\"id\":\"r1\",\"event\":\"message\",\"data\":\"x\"}");
    wait_requests(f, 2, REQ_WAIT_MS);
    expect_gap(gap_after_close(f, 0), 1500, 3000 + SLACK_MS,
               "reconnect after retry: 1500");
    expect_header(f, 1, "Last-Event-ID", "r1");
    expect_line(f, "{\"id\":\"r2\",\"event\":\"message\",\"data\":\"y\"}");
    finish(f);
}

/* Default base 500 ms: the first reconnect waits 500..1000 ms. */
static void test_default_base_delay(void **state)
{
    struct fx *f = *state;
    add_stream(f, "id: d1\ndata: x\n\n", TSRV_CLOSE);
    add_stream(f, "id: d2\ndata: y\n\n", TSRV_HANG);
    start_tail(f, NULL, NULL);
    expect_line(f, "{\"id\":\"d1\",\"event\":\"message\",\"data\":\"x\"}");
    wait_requests(f, 2, REQ_WAIT_MS);
    expect_gap(gap_after_close(f, 0), 500, 1000 + SLACK_MS,
               "reconnect with the default base");
    expect_line(f, "{\"id\":\"d2\",\"event\":\"message\",\"data\":\"y\"}");
    finish(f);
}

/* Connections closed without an answer, over and over: each delay lies in
 * [base, cap] (+ slack), never below the base. */
static void test_backoff_bounds(void **state)
{
    struct fx *f = *state;
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "200", "--retry-max-ms",
                                     "600", NULL},
               NULL);
    wait_requests(f, 4, REQ_WAIT_MS);
    for (size_t k = 0; k < 3; k++)
        expect_gap(gap_after_close(f, k), 200, 600 + SLACK_MS,
                   "backoff after a failed attempt");
    finish(f);
}

/* --stall-timeout-s 1: one event then silence; the connection is dropped
 * and a new request (with Last-Event-ID) arrives >= 1 s after the last
 * byte. */
static void test_stall_timeout(void **state)
{
    struct fx *f = *state;
    struct tsrv_request_info r0, r1;
    add_stream(f, "id: st1\ndata: x\n\n", TSRV_HANG);
    add_stream(f, "id: st2\ndata: y\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--stall-timeout-s", "1", "--retry-base-ms",
                                     "100", "--retry-max-ms", "200", NULL},
               NULL);
    expect_line(f, "{\"id\":\"st1\",\"event\":\"message\",\"data\":\"x\"}");
    wait_requests(f, 2, REQ_WAIT_MS);
    get_req(f, 0, &r0);
    get_req(f, 1, &r1);
    expect_gap(r1.arrival_ms - r0.last_send_ms, 1000, 2000 + 200 + SLACK_MS,
               "reconnect after a 1 s stall");
    expect_header(f, 1, "Last-Event-ID", "st1");
    if (!tsrv_wait_closed(f->srv, 0, LINE_WAIT_MS))
        fail_msg("the stalled connection was never closed by the client");
    expect_stderr(f, "no data for", LINE_WAIT_MS);
    expect_line(f, "{\"id\":\"st2\",\"event\":\"message\",\"data\":\"y\"}");
    finish(f);
}

/* Comment heartbeats every 400 ms count as data: no stall reconnect over
 * 2 s with --stall-timeout-s 1. */
static void test_heartbeat_prevents_stall(void **state)
{
    struct fx *f = *state;
    struct tsrv_chunk ch[] = {
        {"id: h1\ndata: x\n\n", 16, 0}, {":\n", 2, 400},
        {": hb\n", 5, 400},            {":\n", 2, 400},
        {":\n", 2, 400},               {"id: h2\ndata: y\n\n", 16, 400},
    };
    struct tsrv_response r = {.chunks = ch, .nchunks = 6, .end = TSRV_HANG};
    assert_int_equal(tsrv_add_response(f->srv, &r), 0);
    start_tail(f, (const char *const[]){"--stall-timeout-s", "1", NULL}, NULL);
    expect_line(f, "{\"id\":\"h1\",\"event\":\"message\",\"data\":\"x\"}");
    expect_line(f, "{\"id\":\"h2\",\"event\":\"message\",\"data\":\"y\"}");
    assert_int_equal(tsrv_request_count(f->srv), 1);
    proc_poll(f->p);
    assert_false(proc_wait_stderr(f->p, "no data for", 0));
    finish(f);
}

/* ---------------------------- HTTP statuses ---------------------------- */

/* 401 then 403 with --api-key-env: Bearer sent, one clear log line naming
 * the variable, retry after exactly the cap, the key never printed. */
static void test_auth_failure(void **state)
{
    struct fx *f = *state;
    char want[256];
    add_status(f, 401, "WWW-Authenticate: Bearer");
    add_status(f, 403, NULL);
    add_stream(f, "id: ok1\ndata: in\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--api-key-env", "TW_ITEST_KEY",
                                     "--retry-base-ms", "50", "--retry-max-ms",
                                     "800", "--log-level", "debug", NULL},
               (const char *const[]){"TW_ITEST_KEY=" SECRET, NULL});
    snprintf(want, sizeof want, "authentication failed for %s: check %s",
             f->url, "TW_ITEST_KEY");
    expect_stderr(f, want, LINE_WAIT_MS);
    expect_line(f, "{\"id\":\"ok1\",\"event\":\"message\",\"data\":\"in\"}");
    wait_requests(f, 3, REQ_WAIT_MS);
    expect_gap(gap_after_close(f, 0), 800, 800 + SLACK_MS,
               "retry after 401");
    expect_gap(gap_after_close(f, 1), 800, 800 + SLACK_MS,
               "retry after 403");
    for (size_t i = 0; i < 3; i++)
        expect_header(f, i, "Authorization", "Bearer " SECRET);
    finish(f);
    if (proc_output_contains(f->p, SECRET)) {
        dump_stderr(f->p);
        fail_msg("the API key appears in the output");
    }
}

static void test_api_key_env_unset(void **state)
{
    struct fx *f = *state;
    size_t len;
    add_stream(f, "data: x\n\n", TSRV_HANG);
    start_tail(f, (const char *const[]){"--api-key-env", "TW_ITEST_UNSET", NULL},
               (const char *const[]){"TW_ITEST_UNSET", NULL});
    expect_exit(f, 2);
    proc_stdout_all(f->p, &len);
    assert_int_equal(len, 0);
    assert_int_equal(tsrv_request_count(f->srv), 0);
}

/* 429 + Retry-After: 2 (seconds) beats a 200 ms cap. */
static void test_429_retry_after_seconds(void **state)
{
    struct fx *f = *state;
    struct tsrv_request_info r0, r1;
    add_status(f, 429, "Retry-After: 2");
    add_stream(f, "id: t1\ndata: x\n\n", TSRV_HANG);
    /* honoured up to retry_max_ms (a longer ask is capped: test_clock) */
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "50", "--retry-max-ms",
                                     "5000", NULL},
               NULL);
    expect_stderr(f, "HTTP 429", LINE_WAIT_MS);
    wait_requests(f, 2, REQ_WAIT_MS);
    get_req(f, 0, &r0);
    get_req(f, 1, &r1);
    /* the client waits from when it read the answer: after the request
     * came, maybe before the server noted the connection's end */
    expect_gap(r1.arrival_ms - r0.arrival_ms, 2000, INT64_MAX,
               "request to request after 429 Retry-After: 2");
    expect_gap(gap_after_close(f, 0), 0, 2000 + 1000 + SLACK_MS,
               "retry after 429 Retry-After: 2");
    expect_line(f, "{\"id\":\"t1\",\"event\":\"message\",\"data\":\"x\"}");
    finish(f);
}

/* 503 + Retry-After as an HTTP-date ~3 s ahead: no request before it. */
static void test_503_retry_after_date(void **state)
{
    struct fx *f = *state;
    struct timespec wall;
    struct tm tm;
    char hdr[128];
    struct tsrv_request_info r1;
    int64_t mono0, wall0_ms, until_ms;
    time_t date;

    clock_gettime(CLOCK_REALTIME, &wall);
    mono0 = tsrv_now_ms();
    wall0_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    date = wall.tv_sec + 3;
    until_ms = mono0 + ((int64_t)date * 1000 - wall0_ms); /* mono deadline */
    gmtime_r(&date, &tm);
    strftime(hdr, sizeof hdr, "Retry-After: %a, %d %b %Y %H:%M:%S GMT", &tm);
    add_status(f, 503, hdr);
    add_stream(f, "id: u1\ndata: x\n\n", TSRV_HANG);
    /* honoured up to retry_max_ms (a longer ask is capped: test_clock) */
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "50", "--retry-max-ms",
                                     "5000", NULL},
               NULL);
    expect_stderr(f, "HTTP 503", LINE_WAIT_MS);
    wait_requests(f, 2, REQ_WAIT_MS);
    get_req(f, 1, &r1);
    /* 100 ms for clock granularity between the two clocks */
    expect_gap(r1.arrival_ms - until_ms, -100, 1000 + SLACK_MS,
               "request after the Retry-After date (relative to the date)");
    expect_line(f, "{\"id\":\"u1\",\"event\":\"message\",\"data\":\"x\"}");
    finish(f);
}

static void test_500_then_stream(void **state)
{
    struct fx *f = *state;
    add_status(f, 500, NULL);
    add_stream(f, "id: e1\nevent: tool_call_response\ndata: {\"a\":1}\n\n"
                  "id: e2\ndata: two\n\n",
               TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "50", "--retry-max-ms",
                                     "200", NULL},
               NULL);
    expect_stderr(f, "HTTP 500", LINE_WAIT_MS);
    expect_line(f, "{\"id\":\"e1\",\"event\":\"tool_call_response\","
                   "\"data\":\"{\\\"a\\\":1}\"}");
    expect_line(f, "{\"id\":\"e2\",\"event\":\"message\",\"data\":\"two\"}");
    wait_requests(f, 2, LINE_WAIT_MS);
    expect_gap(gap_after_close(f, 0), 50, 200 + SLACK_MS,
               "retry after 500 (normal backoff)");
    finish(f);
}

static void test_204_retried_after_cap(void **state)
{
    struct fx *f = *state;
    struct tsrv_response r = {.status = 204, .end = TSRV_CLOSE};
    assert_int_equal(tsrv_add_response(f->srv, &r), 0);
    add_stream(f, "id: n1\ndata: x\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "50", "--retry-max-ms",
                                     "800", NULL},
               NULL);
    expect_stderr(f, "HTTP 204", LINE_WAIT_MS);
    wait_requests(f, 2, REQ_WAIT_MS);
    expect_gap(gap_after_close(f, 0), 800, 800 + SLACK_MS, "retry after 204");
    expect_line(f, "{\"id\":\"n1\",\"event\":\"message\",\"data\":\"x\"}");
    finish(f);
}

/* A 200 text/html body is not parsed as events; logged, retried after the
 * cap, and its "id:" is not used. */
static void test_wrong_content_type(void **state)
{
    struct fx *f = *state;
    static const char html[] = "id: bogus\ndata: must-not-print\n\n";
    struct tsrv_chunk ch = {html, sizeof html - 1, 0};
    struct tsrv_response r = {.chunks = &ch, .nchunks = 1,
                              .content_length = true, .end = TSRV_CLOSE};
    r.headers[0] = "Content-Type: text/html";
    assert_int_equal(tsrv_add_response(f->srv, &r), 0);
    add_stream(f, "id: c1\ndata: fine\n\n", TSRV_HANG);
    start_tail(f,
               (const char *const[]){"--retry-base-ms", "50", "--retry-max-ms",
                                     "800", NULL},
               NULL);
    expect_stderr(f, "unexpected Content-Type", LINE_WAIT_MS);
    expect_line(f, "{\"id\":\"c1\",\"event\":\"message\",\"data\":\"fine\"}");
    wait_requests(f, 2, REQ_WAIT_MS);
    expect_gap(gap_after_close(f, 0), 800, 800 + SLACK_MS,
               "retry after text/html");
    expect_header(f, 1, "Last-Event-ID", NULL);
    finish(f);
}

/* Media type parameters and case do not matter. */
static void test_content_type_with_parameters(void **state)
{
    struct fx *f = *state;
    static const char body[] = "id: cp\ndata: ok\n\n";
    struct tsrv_chunk ch = {body, sizeof body - 1, 0};
    struct tsrv_response r = {.chunks = &ch, .nchunks = 1, .end = TSRV_CLOSE};
    r.headers[0] = "Content-Type: Text/Event-Stream; charset=utf-8";
    assert_int_equal(tsrv_add_response(f->srv, &r), 0);
    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_line(f, "{\"id\":\"cp\",\"event\":\"message\",\"data\":\"ok\"}");
    expect_eof(f);
    expect_exit(f, 0);
}

/* --------------------------- exit behaviour --------------------------- */

static void test_once_exits_0_at_stream_end(void **state)
{
    struct fx *f = *state;
    add_stream(f, "id: o1\ndata: x\n\n", TSRV_CLOSE);
    add_stream(f, "id: o2\ndata: y\n\n", TSRV_CLOSE);
    start_tail(f, (const char *const[]){"--once", NULL}, NULL);
    expect_line(f, "{\"id\":\"o1\",\"event\":\"message\",\"data\":\"x\"}");
    expect_eof(f);
    expect_exit(f, 0);
    assert_int_equal(tsrv_request_count(f->srv), 1);
}

/* --once: a 500, a wrong Content-Type, a closed connection: exit 1 and no
 * second request. */
static void test_once_failures_exit_1(void **state)
{
    struct fx *f = *state;
    static const char html[] = "<html></html>";
    struct tsrv_chunk ch = {html, sizeof html - 1, 0};
    struct tsrv_response r = {.chunks = &ch, .nchunks = 1,
                              .content_length = true, .end = TSRV_CLOSE};
    r.headers[0] = "Content-Type: text/html";
    add_status(f, 500, NULL);
    assert_int_equal(tsrv_add_response(f->srv, &r), 0);
    /* request 3 and later: closed without an answer */

    for (size_t run = 0; run < 3; run++) {
        start_tail(f, (const char *const[]){"--once", NULL}, NULL);
        expect_exit(f, 1);
        assert_int_equal(tsrv_request_count(f->srv), run + 1);
        size_t len;
        proc_stdout_all(f->p, &len);
        assert_int_equal(len, 0);
    }
}

static void test_max_events(void **state)
{
    struct fx *f = *state;
    add_stream(f, "id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n"
                  "id: 4\ndata: d\n\nid: 5\ndata: e\n\n",
               TSRV_HANG);
    start_tail(f, (const char *const[]){"--max-events", "3", NULL}, NULL);
    expect_line(f, "{\"id\":\"1\",\"event\":\"message\",\"data\":\"a\"}");
    expect_line(f, "{\"id\":\"2\",\"event\":\"message\",\"data\":\"b\"}");
    expect_line(f, "{\"id\":\"3\",\"event\":\"message\",\"data\":\"c\"}");
    expect_eof(f);
    expect_exit(f, 0);
}

/* SIGTERM and SIGINT while connected: exit 0 promptly, connection closed. */
static void test_signals_exit_0(void **state)
{
    struct fx *f = *state;
    static const int sigs[] = {SIGTERM, SIGINT};
    add_stream(f, "id: z1\ndata: x\n\n", TSRV_HANG);
    add_stream(f, "id: z1\ndata: x\n\n", TSRV_HANG);
    for (size_t i = 0; i < 2; i++) {
        start_tail(f, NULL, NULL);
        expect_line(f, "{\"id\":\"z1\",\"event\":\"message\",\"data\":\"x\"}");
        assert_int_equal(proc_signal(f->p, sigs[i]), 0);
        expect_exit(f, 0);
        if (!tsrv_wait_closed(f->srv, i, LINE_WAIT_MS))
            fail_msg("connection %zu still open after the exit", i);
    }
}

static void test_usage_errors_exit_2(void **state)
{
    struct fx *f = *state;
    start_tail_url(f, NULL, NULL, NULL); /* no URL */
    expect_exit(f, 2);
    start_tail(f, (const char *const[]){"--no-such-option", NULL}, NULL);
    expect_exit(f, 2);
    start_tail(f, (const char *const[]){"--max-events", "many", NULL}, NULL);
    expect_exit(f, 2);
    start_tail(f, (const char *const[]){"--stall-timeout-s", NULL}, NULL);
    expect_exit(f, 2);
    assert_int_equal(tsrv_request_count(f->srv), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_events_fields_ids_comments),
        T(test_split_one_byte_chunks),
        T(test_split_crlf_at_cr),
        T(test_split_cr_only),
        T(test_bom_and_json_escaping),
        T(test_garbage_and_invalid_utf8),
        T(test_oversize_event_skipped),
        T(test_max_event_bytes_option),
        T(test_lines_flushed_while_open),
        T(test_reconnect_sends_last_event_id),
        T(test_partial_event_discarded),
        T(test_last_event_id_option),
        T(test_custom_headers),
        T(test_header_env),
        T(test_header_env_no_redirect),
        T(test_header_env_errors),
        T(test_state_dir_resume),
        T(test_retry_field_honoured),
        T(test_default_base_delay),
        T(test_backoff_bounds),
        T(test_stall_timeout),
        T(test_heartbeat_prevents_stall),
        T(test_auth_failure),
        T(test_api_key_env_unset),
        T(test_429_retry_after_seconds),
        T(test_503_retry_after_date),
        T(test_500_then_stream),
        T(test_204_retried_after_cap),
        T(test_wrong_content_type),
        T(test_content_type_with_parameters),
        T(test_once_exits_0_at_stream_end),
        T(test_once_failures_exit_1),
        T(test_max_events),
        T(test_signals_exit_0),
        T(test_usage_errors_exit_2),
    };
    return cmocka_run_group_tests_name("tail", tests, NULL, NULL);
}
