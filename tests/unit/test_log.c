/*
 * test_log.c - log line format, escaping, level filtering, rate limiting.
 */
#include "base/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static int fds[2];

static int setup(void **state)
{
    (void)state;
    if (pipe(fds) != 0)
        return -1;
    log_set_fd(fds[1]);
    log_set_level(LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_fd(-1);
    close(fds[0]);
    close(fds[1]);
    return 0;
}

/* Everything written so far (the pipe is non-empty or we would block:
 * callers only read after logging). */
static size_t drain(char *out, size_t size)
{
    ssize_t n = read(fds[0], out, size - 1);

    assert_true(n >= 0);
    out[n] = '\0';
    return (size_t)n;
}

static int evaluated;

static int side_effect(void)
{
    evaluated++;
    return 1;
}

static void test_format(void **state)
{
    char out[4096];

    (void)state;
    LOG(LOG_WARN, "stream", "HTTP %d from %s", 500, "http://x/");
    drain(out, sizeof out);
    /* 2026-11-22T13:20:00.123Z WARN stream: HTTP 500 from http://x/\n */
    assert_int_equal(strlen(out), 24 + strlen(" WARN stream: HTTP 500 from "
                                              "http://x/\n"));
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
    assert_string_equal(out + 24, " WARN stream: HTTP 500 from http://x/\n");
}

static void test_escaping(void **state)
{
    char out[4096];

    (void)state;
    LOG(LOG_ERROR, "event", "tool %s", "evil\nINFO fake: line\x1b[31m");
    drain(out, sizeof out);
    assert_string_equal(out + 24, " ERROR event: tool evil\\x0aINFO fake: "
                                  "line\\x1b[31m\n");
}

static void test_level_filter_skips_arguments(void **state)
{
    (void)state;
    evaluated = 0;
    LOG(LOG_DEBUG, "x", "%d", side_effect());
    assert_int_equal(evaluated, 0);
    log_set_level(LOG_DEBUG);
    LOG(LOG_DEBUG, "x", "%d", side_effect());
    assert_int_equal(evaluated, 1);
    log_set_level(LOG_INFO);
    char out[256];
    drain(out, sizeof out);
    assert_string_equal(out + 24, " DEBUG x: 1\n");
}

static void test_rate_limit(void **state)
{
    char out[8192];
    int lines = 0;

    (void)state;
    for (int i = 0; i < 50; i++)
        LOG(LOG_WARN, "sse", "repeated %d", i);
    drain(out, sizeof out);
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, LOG_BURST);
    assert_non_null(strstr(out, "repeated 4\n"));
    assert_null(strstr(out, "repeated 5\n"));
}

/* One call site, two keys (two sinks): each has its own LOG_BURST, so
 * one sink's flood of a line does not hide the other's first one; the
 * same key again is limited as before. */
static void test_rate_limit_per_key(void **state)
{
    char out[8192];
    int lines = 0;

    (void)state;
    for (int i = 0; i < 20; i++)
        LOG_KEY(LOG_WARN, "delivery", "a", "sink %s: HTTP 429, %d", "a",
                i);
    LOG_KEY(LOG_WARN, "delivery", "b", "sink %s: HTTP 429, %d", "b", 0);
    LOG_KEY(LOG_WARN, "delivery", "a", "sink %s: HTTP 429, %d", "a",
            99);
    drain(out, sizeof out);
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, LOG_BURST + 1);
    assert_non_null(strstr(out, "sink a: HTTP 429, 4\n"));
    assert_null(strstr(out, "sink a: HTTP 429, 5\n"));
    assert_null(strstr(out, "sink a: HTTP 429, 99\n"));
    assert_non_null(strstr(out, "sink b: HTTP 429, 0\n"));
}

static void test_parse_level(void **state)
{
    (void)state;
    assert_int_equal(log_parse_level("error"), LOG_ERROR);
    assert_int_equal(log_parse_level("WARN"), LOG_WARN);
    assert_int_equal(log_parse_level("warning"), LOG_WARN);
    assert_int_equal(log_parse_level("info"), LOG_INFO);
    assert_int_equal(log_parse_level("debug"), LOG_DEBUG);
    assert_int_equal(log_parse_level("verbose"), -1);
}

/* A JSON record: the fields in their order, the time 24 bytes; debug
 * only at debug. */
static void test_json_format(void **state)
{
    static const char *const want[] = {
        "\",\"level\":\"warning\",\"component\":\"stream\","
        "\"msg\":\"HTTP 500 from http://x/\"}",
        "\",\"level\":\"error\",\"component\":\"run\",\"msg\":\"e\"}",
        "\",\"level\":\"info\",\"component\":\"run\",\"msg\":\"i\"}",
        "\",\"level\":\"debug\",\"component\":\"run\",\"msg\":\"d\"}",
    };
    char out[4096], *line, *save = NULL;
    size_t n = 0;

    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    LOG(LOG_WARN, "stream", "HTTP %d from %s", 500, "http://x/");
    LOG(LOG_ERROR, "run", "e%s", "");
    LOG(LOG_INFO, "run", "i%s", "");
    log_set_level(LOG_DEBUG);
    LOG(LOG_DEBUG, "run", "d%s", "");
    log_set_level(LOG_INFO);
    LOG(LOG_DEBUG, "run", "%s", "suppressed at info");
    log_set_format(LOG_FORMAT_TEXT);
    drain(out, sizeof out);
    for (line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), n++) {
        assert_true(n < 4);
        /* {"ts":"2026-11-22T13:20:00.123Z", */
        assert_memory_equal(line, "{\"ts\":\"", 7);
        assert_int_equal(line[7 + 10], 'T');
        assert_int_equal(line[7 + 23], 'Z');
        assert_string_equal(line + 7 + 24, want[n]);
    }
    assert_int_equal(n, 4);
}

/* Every byte a message can hold comes out as a JSON string that a parser
 * reads back: quotes, backslashes, control bytes, bytes that are not
 * UTF-8 (U+FFFD). */
static void test_json_hostile(void **state)
{
    char out[4096];
    const char *p;

    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    LOG(LOG_ERROR, "ev\"t", "tool %s", "a\"b\\c\n{\x01\x7f\xff\xc3\xa9");
    log_set_format(LOG_FORMAT_TEXT);
    drain(out, sizeof out);
    p = strstr(out, "\"level\"");
    assert_non_null(p);
    assert_string_equal(p,
        "\"level\":\"error\",\"component\":\"ev\\\"t\","
        "\"msg\":\"tool a\\\"b\\\\c\\n{\\u0001\\u007f\xef\xbf\xbd\xc3\xa9\"}\n");
}

/* The journal's priority prefix, in text and in JSON. */
static void test_journal_prefix(void **state)
{
    char out[4096];

    (void)state;
    log_set_journal(1);
    LOG(LOG_ERROR, "a", "j1 %s", "x");
    drain(out, sizeof out);
    assert_memory_equal(out, "<3>", 3);
    assert_string_equal(out + 3 + 24, " ERROR a: j1 x\n");
    LOG(LOG_WARN, "a", "j2 %s", "x");
    drain(out, sizeof out);
    assert_memory_equal(out, "<4>", 3);
    LOG(LOG_INFO, "a", "j3 %s", "x");
    drain(out, sizeof out);
    assert_memory_equal(out, "<6>", 3);
    log_set_level(LOG_DEBUG);
    LOG(LOG_DEBUG, "a", "j4 %s", "x");
    log_set_level(LOG_INFO);
    drain(out, sizeof out);
    assert_memory_equal(out, "<7>", 3);
    log_set_format(LOG_FORMAT_JSON);
    LOG(LOG_WARN, "a", "j5 %s", "y");
    log_set_format(LOG_FORMAT_TEXT);
    drain(out, sizeof out);
    assert_memory_equal(out, "<4>{\"ts\":\"", 10);
    log_set_journal(0);
    LOG(LOG_WARN, "a", "j6 %s", "z");
    drain(out, sizeof out);
    assert_int_equal(out[0], '2');
}

/* JOURNAL_STREAM names the log's file (DEVICE:INODE) or it does not. */
static void test_detect_journal(void **state)
{
    char env[64], out[256];
    struct stat st;

    (void)state;
    assert_int_equal(fstat(fds[1], &st), 0);
    unsetenv("JOURNAL_STREAM");
    assert_int_equal(log_detect_journal(), 0);
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", env, 1);
    assert_int_equal(log_detect_journal(), 0);
    setenv("JOURNAL_STREAM", "12:x", 1);
    assert_int_equal(log_detect_journal(), 0);
    setenv("JOURNAL_STREAM", "", 1);
    assert_int_equal(log_detect_journal(), 0);
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    assert_int_equal(log_detect_journal(), 1);
    LOG(LOG_INFO, "a", "j7 %s", "x");
    drain(out, sizeof out);
    assert_memory_equal(out, "<6>", 3);
    log_set_journal(0);
    unsetenv("JOURNAL_STREAM");
}

static void test_parse_format(void **state)
{
    (void)state;
    assert_int_equal(log_parse_format("text"), LOG_FORMAT_TEXT);
    assert_int_equal(log_parse_format("json"), LOG_FORMAT_JSON);
    assert_int_equal(log_parse_format("JSON "), -1);
    assert_int_equal(log_parse_format(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_level_filter_skips_arguments),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_rate_limit_per_key),
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_json_format),
        cmocka_unit_test(test_json_hostile),
        cmocka_unit_test(test_journal_prefix),
        cmocka_unit_test(test_detect_journal),
        cmocka_unit_test(test_parse_format),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
