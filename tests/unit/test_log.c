/*
 * test_log.c - log line format, escaping, level filtering, rate limiting.
 */
#include "base/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_level_filter_skips_arguments),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_rate_limit_per_key),
        cmocka_unit_test(test_parse_level),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
