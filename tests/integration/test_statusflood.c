/*
 * test_statusflood.c - the status server under a connection flood (issue
 * 15 point 5), against the real binary (TOOLWATCH_BIN, default
 * build/asan/toolwatch) on 127.0.0.1.
 *
 * What:
 *  - 1,000 idle TCP connections from another address (127.0.0.2, bound
 *    before connect): /healthz from 127.0.0.1 answers 200 at once while
 *    they are open (the flooder holds at most per_ip_limit slots, the
 *    rest of its connections are closed on accept);
 *  - 1,000 idle connections from the probe's own address: /healthz
 *    answers 200 within a bounded time (request_timeout_s drops the idle
 *    ones that sent nothing), while the flooder keeps its sockets open.
 *
 * Invariants: no sleeping to wait; the probes poll /healthz with a
 * deadline; connections are made non-blocking (a full backlog never hangs
 * the test) and closed at the end; the child ends with SIGTERM and its
 * stderr is checked for sanitizer reports.  The figures (ms to the first
 * 200) are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/twrun.h"

#define FLOOD 1000

#define CFG_FMT                                                           \
    "{\"state_dir\": \"%s\","                                             \
    " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 3600},"          \
    " \"status\": {\"port\": 0}}"

/* FLOOD non-blocking connections from `from` to 127.0.0.1:port, some
 * sending half a request head; their descriptors into fds (-1 when
 * socket() failed). */
static void flood(const char *from, unsigned port, int *fds)
{
    struct sockaddr_in src, dst;

    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, from, &src.sin_addr), 1);
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr), 1);
    for (int i = 0; i < FLOOD; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

        fds[i] = fd;
        assert_true(fd >= 0); /* a flood of fewer would prove nothing */
        assert_int_equal(bind(fd, (const struct sockaddr *)&src, sizeof src),
                         0);
        if (connect(fd, (const struct sockaddr *)&dst, sizeof dst) != 0)
            assert_true(errno == EINPROGRESS || errno == EAGAIN);
        if (i % 3 == 0) {
            static const char half[] = "GET /status HTTP/1.1\r\nHost: x";
            ssize_t n = send(fd, half, sizeof half - 1, MSG_NOSIGNAL);

            (void)n; /* may not be connected yet: then it sends nothing */
        }
    }
}

static void unflood(int *fds)
{
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* ms until /healthz answers 200, polling, at most within_ms (fails
 * beyond). */
static int64_t healthz_within(unsigned port, int64_t within_ms,
                              struct proc *run)
{
    static struct hget_body b;
    int64_t t0 = clock_mono_ms();
    long code;

    while ((code = hget(port, "/healthz", &b)) != 200) {
        if (clock_mono_ms() - t0 > within_ms) {
            twr_dump_stderr("run", run);
            fail_msg("/healthz answered %ld for %lld ms", code,
                     (long long)(clock_mono_ms() - t0));
        }
        twr_pause_ms(TWR_POLL_MS);
    }
    assert_int_equal(code, 200);
    return clock_mono_ms() - t0;
}

static void test_flood(void **state)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct proc *run;
    struct rlimit rl;
    unsigned port = 0;
    char surl[128];
    int *fds = calloc(FLOOD, sizeof *fds);
    int64_t other, same;

    assert_non_null(fds);
    /* this process holds FLOOD sockets at once */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < FLOOD + 256) {
        free(fds);
        fprintf(stderr, "test_statusflood: RLIMIT_NOFILE hard limit %llu "
                "is below %d: skipped\n", (unsigned long long)rl.rlim_max,
                FLOOD + 256);
        skip();
    }
    if (rl.rlim_cur < FLOOD + 256) {
        rl.rlim_cur = FLOOD + 256;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    assert_int_equal(twr_dir_make(f, &d, "flood"), 0);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_int_equal(twr_write_config(d.cfg, CFG_FMT, d.state, surl), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &port));
    assert_true(tsrv_wait_requests(srv, 1, 15000));
    healthz_within(port, 15000, run);

    /* from another address: answered at once while all are open */
    flood("127.0.0.2", port, fds);
    other = healthz_within(port, 1800, run); /* before request_timeout_s */
    print_message("    /healthz under %d idle connections from another "
                  "address: 200 after %lld ms\n", FLOOD, (long long)other);
    unflood(fds);

    /* from the probe's own address: answered once the idle ones are
     * dropped (request_timeout_s 2), the flooder's sockets still open */
    flood("127.0.0.1", port, fds);
    same = healthz_within(port, 6000, run);
    print_message("    /healthz under %d idle connections from its own "
                  "address: 200 after %lld ms\n", FLOOD, (long long)same);
    unflood(fds);
    healthz_within(port, 15000, run);
    assert_true(twr_stop("run", run));
    free(fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flood, twr_setup, twr_teardown),
    };

    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
