/*
 * test_reconnect.c - integration tests of the stream reader's reconnect
 * delays (consumer/stream.h "Reconnecting"; issue 15 point 3) through
 * `toolwatch tail` against a scripted SSE server on 127.0.0.1.
 *
 * What:
 *  - a server that answers 200 and closes at once, over and over: the
 *    gaps between connections grow (no event, so no connection is good:
 *    gap k is at least base x 2^k, capped), instead of one a second
 *    forever;
 *  - `retry: 0` with an event each time: every gap is at least 100 ms
 *    (the floor), and the floor is logged;
 *  - `retry: 0` and a close with no event: the gaps still grow from
 *    100 ms.
 *
 * Invariants: timing is measured on the server's clock, from the end of
 * response k to the arrival of request k+1; lower bounds are exact (the
 * client cannot reconnect sooner), no upper bound is asserted (a busy
 * machine only makes gaps longer).  Waits are on conditions (the n-th
 * request, a log line) with deadlines; the child is ended with SIGTERM
 * and its stderr checked for sanitizer reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/proc.h"
#include "tests/support/sse_server.h"

#define WAIT_MS 20000

struct fx {
    struct tsrv *srv;
    struct proc *p;
    char url[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    f->srv = tsrv_create();
    if (f->srv == NULL ||
        tsrv_url(f->srv, "/events", f->url, sizeof f->url) != 0) {
        tsrv_destroy(f->srv);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static void dump(const struct proc *p)
{
    size_t len;

    print_message("---- child stderr ----\n%s\n----\n",
                  proc_stderr_all(p, &len));
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (f->p != NULL && getenv("ITEST_VERBOSE") != NULL)
        dump(f->p);
    proc_destroy(f->p);
    tsrv_destroy(f->srv);
    free(f);
    return 0;
}

static void start_tail(struct fx *f, const char *base, const char *max)
{
    const char *b = getenv("TOOLWATCH_BIN");
    const char *argv[] = {b && *b ? b : "build/asan/toolwatch", "tail",
                          f->url, "--retry-base-ms", base, "--retry-max-ms",
                          max, NULL};

    assert_non_null(f->p = proc_spawn(argv, NULL));
}

static void stop_tail(struct fx *f)
{
    int status = -1;
    size_t len;
    const char *e;

    assert_int_equal(proc_signal(f->p, SIGTERM), 0);
    assert_true(proc_wait_exit(f->p, WAIT_MS, &status));
    e = proc_stderr_all(f->p, &len);
    if (strstr(e, "Sanitizer") != NULL || strstr(e, "runtime error") != NULL)
        fail_msg("sanitizer report:\n%s", e);
}

/* Wait for n requests; the gap (ms) from the end of response k to request
 * k+1 for k < n - 1 into gaps. */
static void gaps_of(struct fx *f, size_t n, int64_t *gaps)
{
    if (!tsrv_wait_requests(f->srv, n, WAIT_MS)) {
        dump(f->p);
        fail_msg("%zu requests, want %zu", tsrv_request_count(f->srv), n);
    }
    for (size_t k = 0; k + 1 < n; k++) {
        struct tsrv_request_info a, b;

        assert_true(tsrv_wait_closed(f->srv, k, WAIT_MS));
        assert_true(tsrv_request(f->srv, k, &a));
        assert_true(tsrv_request(f->srv, k + 1, &b));
        gaps[k] = b.arrival_ms - a.end_ms;
        print_message("    gap %zu: %lld ms\n", k, (long long)gaps[k]);
    }
}

/* 200 and an immediate close, forever: gap k >= 100 x 2^k (cap 1600). */
static void test_clean_close_backs_off(void **state)
{
    struct fx *f = *state;
    int64_t gaps[5];
    const int64_t want[5] = {100, 200, 400, 800, 1600};

    assert_int_equal(tsrv_add_stream(f->srv, "", TSRV_CLOSE), 0);
    tsrv_set_after_script(f->srv, TSRV_AFTER_REPEAT_LAST);
    start_tail(f, "100", "1600");
    gaps_of(f, 6, gaps);
    for (size_t k = 0; k < 5; k++)
        if (gaps[k] < want[k])
            fail_msg("gap %zu after a clean close: %lld ms, want at least "
                     "%lld", k, (long long)gaps[k], (long long)want[k]);
    assert_true(proc_wait_stderr(f->p, "server closed the stream; "
                                 "reconnecting in", WAIT_MS));
    stop_tail(f);
}

/* retry: 0 and an event each time (every connection good): every gap at
 * least the 100 ms floor, and the floor logged. */
static void test_retry_zero_floor(void **state)
{
    struct fx *f = *state;
    int64_t gaps[4];

    assert_int_equal(tsrv_add_stream(f->srv, "retry: 0\nid: 1\ndata: x\n\n",
                                     TSRV_CLOSE), 0);
    tsrv_set_after_script(f->srv, TSRV_AFTER_REPEAT_LAST);
    start_tail(f, "1000", "5000");
    gaps_of(f, 5, gaps);
    for (size_t k = 0; k < 4; k++)
        if (gaps[k] < 100)
            fail_msg("gap %zu with retry: 0: %lld ms, want at least 100", k,
                     (long long)gaps[k]);
    assert_true(proc_wait_stderr(f->p, "asks to reconnect after 0 ms "
                                 "(retry:); waiting at least 100 ms "
                                 "instead", WAIT_MS));
    stop_tail(f);
}

/* retry: 0 and no event: the gaps grow from the 100 ms floor. */
static void test_retry_zero_no_event_backs_off(void **state)
{
    struct fx *f = *state;
    int64_t gaps[4];
    const int64_t want[4] = {100, 200, 400, 800};

    assert_int_equal(tsrv_add_stream(f->srv, "retry: 0\n\n", TSRV_CLOSE), 0);
    tsrv_set_after_script(f->srv, TSRV_AFTER_REPEAT_LAST);
    start_tail(f, "1000", "5000");
    gaps_of(f, 5, gaps);
    for (size_t k = 0; k < 4; k++)
        if (gaps[k] < want[k])
            fail_msg("gap %zu: %lld ms, want at least %lld", k,
                     (long long)gaps[k], (long long)want[k]);
    stop_tail(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_close_backs_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_zero_floor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_zero_no_event_backs_off,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
