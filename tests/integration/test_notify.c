/*
 * test_notify.c - `toolwatch run` under the service manager's
 * notification protocol (sd_notify), the real binary: the test owns the
 * unix datagram socket NOTIFY_SOCKET names and reads what the service
 * sends, in order: READY=1 with STATUS=started once start-up is done,
 * STATUS=stream connected when the stream connects, WATCHDOG=1 at half
 * of WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC on SIGHUP then
 * READY=1 with the reload's outcome, STOPPING=1 on SIGTERM, then exit 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/twrun.h"

#define WAIT_MS 15000

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next datagram that contains `needle`, into msg[cap]; the ones
 * before it are skipped (WATCHDOG=1 may come in between) but counted in
 * *watchdogs.  false on timeout. */
static bool wait_msg(int fd, const char *needle, char *msg, size_t cap,
                     int *watchdogs)
{
    int64_t end = mono_ms() + WAIT_MS;

    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = end - mono_ms();
        ssize_t n;

        if (left <= 0 || poll(&p, 1, (int)left) != 1) {
            fprintf(stderr, "no notification with \"%s\"\n", needle);
            return false;
        }
        n = recv(fd, msg, cap - 1, 0);
        if (n < 0)
            return false;
        msg[n] = '\0';
        if (strcmp(msg, "WATCHDOG=1") == 0 && watchdogs != NULL)
            (*watchdogs)++;
        if (strstr(msg, needle) != NULL)
            return true;
    }
}

/* A directory with a configuration: a stream that connects and stays
 * open, one stdout sink. */
static void make_world(struct twr_fx *f, struct twr_dir *d)
{
    char url[128];

    assert_int_equal(twr_dir_make(f, d, "notify"), 0);
    assert_non_null(twr_fx_stream(f, ": hello\n\n", url, sizeof url));
    assert_int_equal(
        twr_write_config(d->cfg,
                         "{\"state_dir\": \"%s\", \"stream\": {\"url\": "
                         "\"%s\"}, \"sinks\": [{\"type\": \"stdout\"}]}",
                         d->state, url),
        0);
}

static void test_protocol(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct sockaddr_un sa;
    char sock_env[160], msg[512], path[108];
    const char *env[] = {sock_env, "WATCHDOG_USEC=400000", "WATCHDOG_PID",
                         NULL};
    struct proc *run;
    int fd, dogs = 0;
    unsigned long long usec = 0;
    int64_t t0;

    make_world(f, &d);
    snprintf(path, sizeof path, "%s/notify", d.path);
    snprintf(sock_env, sizeof sock_env, "NOTIFY_SOCKET=%s", path);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);

    run = twr_start_run(f, d.cfg, env, NULL);
    assert_non_null(run);
    assert_true(wait_msg(fd, "READY=1", msg, sizeof msg, &dogs));
    assert_string_equal(msg, "READY=1\nSTATUS=started");
    assert_true(wait_msg(fd, "STATUS=stream connected", msg, sizeof msg,
                         &dogs));
    /* the watchdog: every 200 ms; three more of them within a bounded
     * time (those before now do not count) */
    dogs = 0;
    t0 = mono_ms();
    while (dogs < 3)
        assert_true(wait_msg(fd, "WATCHDOG=1", msg, sizeof msg, &dogs));
    assert_true(mono_ms() - t0 < 2000);

    assert_int_equal(proc_signal(run, SIGHUP), 0);
    assert_true(wait_msg(fd, "RELOADING=1", msg, sizeof msg, &dogs));
    assert_int_equal(sscanf(msg, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec),
                     1);
    assert_true(usec > 0);
    assert_true(wait_msg(fd, "READY=1", msg, sizeof msg, &dogs));
    assert_string_equal(msg, "READY=1\nSTATUS=reloaded");
    assert_true(wait_msg(fd, "STATUS=stream ", msg, sizeof msg, &dogs));

    /* a reload refused: the file is not JSON */
    assert_int_equal(twr_write_file(d.cfg, "{"), 0);
    assert_int_equal(proc_signal(run, SIGHUP), 0);
    assert_true(wait_msg(fd, "RELOADING=1", msg, sizeof msg, &dogs));
    assert_true(wait_msg(fd, "READY=1", msg, sizeof msg, &dogs));
    assert_string_equal(msg, "READY=1\nSTATUS=reload refused");

    assert_int_equal(proc_signal(run, SIGTERM), 0);
    assert_true(wait_msg(fd, "STOPPING=1", msg, sizeof msg, &dogs));
    assert_string_equal(msg, "STOPPING=1\nSTATUS=stopping");
    assert_true(twr_stop("run", run));
    close(fd);
}

/* Without NOTIFY_SOCKET nothing is sent and nothing is said. */
static void test_no_socket(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    const char *env[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC=100000", NULL};
    struct proc *run;
    size_t n;

    make_world(f, &d);
    run = twr_start_run(f, d.cfg, env, NULL);
    assert_non_null(run);
    assert_true(twr_stop("run", run));
    assert_null(strstr(proc_stderr_all(run, &n), "cannot notify"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_protocol, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_no_socket, twr_setup,
                                        twr_teardown),
    };
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
