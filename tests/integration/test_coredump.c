/*
 * test_coredump.c - `toolwatch run` holds every secret in memory, so it
 * must never write them to a core file (app/cli.h cli_no_core_dumps,
 * docs/security.md "Core dumps").
 *
 * What: the real binary (TOOLWATCH_BIN) runs against a local stream; once
 * it is running, the test reads from outside what the kernel says of it:
 *  - /proc/<pid>/limits, "Max core file size": 0 soft and hard (the soft
 *    limit alone proves nothing: AddressSanitizer zeroes it itself);
 *  - whether it is dumpable: a process that is not dumpable has its
 *    /proc/<pid>/ files (environ among them) owned by root, one that is by
 *    its own user.  PR_GET_DUMPABLE cannot be asked of another process.
 *    When the test runs as root, the child runs as nobody (65534, through
 *    setpriv, which keeps the pid: it execs), so that the owner says
 *    something; without setpriv that check is skipped (said on stderr).
 * With TOOLWATCH_ALLOW_CORE_DUMPS=1 the opposite: the limits are those
 * the test gave it, the process is dumpable, and one line says so.
 * Each run is stopped with SIGTERM and must exit 0 with no sanitizer
 * report (LeakSanitizer copes with a process that is not dumpable).
 *
 * Invariants: every wait has a deadline; whatever was started is ended
 * by the fixture (tests/support/twrun.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/twrun.h"

#define SETPRIV "/usr/bin/setpriv"
#define NOBODY 65534

/* The child's user: nobody when the test is root and setpriv is there,
 * else the test's own. */
static bool as_nobody(void)
{
    return geteuid() == 0 && access(SETPRIV, X_OK) == 0;
}

/* `toolwatch run -c cfg` with env (see twr_start_run), as nobody when
 * as_nobody(); NULL when it did not start. */
static struct proc *start_run(struct twr_fx *f, const char *cfg,
                              const char *const env[])
{
    const char *argv[] = {SETPRIV, "--reuid=65534", "--regid=65534",
                          "--clear-groups", twr_bin(), "run", "-c", cfg,
                          NULL};
    struct proc *p;

    if (!as_nobody())
        return twr_start_run(f, cfg, env, NULL);
    p = twr_fx_proc(f, proc_spawn(argv, env));
    if (p == NULL ||
        !twr_stderr_after("run", p, 0, " running: ", TWR_START_WAIT_MS))
        return NULL;
    return p;
}

/* "Max core file size" of pid: soft and hard (each char[32]), as written
 * ("0", "unlimited", ...).  0, or -1. */
static int core_limits(pid_t pid, char *soft, char *hard)
{
    static const char name[] = "Max core file size";
    char path[64], line[256];
    FILE *fp;
    int rc = -1;

    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    while (rc != 0 && fgets(line, sizeof line, fp) != NULL)
        if (strncmp(line, name, sizeof name - 1) == 0 &&
            sscanf(line + sizeof name - 1, "%31s %31s", soft, hard) == 2)
            rc = 0;
    fclose(fp);
    return rc;
}

/* How /proc/<pid>/limits writes a limit. */
static void limit_text(rlim_t v, char *out, size_t size)
{
    if (v == RLIM_INFINITY)
        snprintf(out, size, "unlimited");
    else
        snprintf(out, size, "%llu", (unsigned long long)v);
}

/* The owner of /proc/<pid>/environ, or -1. */
static long environ_owner(pid_t pid)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    return stat(path, &st) == 0 ? (long)st.st_uid : -1;
}

/* A directory, configuration and stream for one run (the state directory
 * belongs to the child's user). */
static void prepare(struct twr_fx *f, struct twr_dir *d)
{
    struct tsrv *srv;
    char url[128];

    assert_int_equal(twr_dir_make(f, d, "core"), 0);
    assert_int_equal(chmod(d->path, 0755), 0);
    assert_int_equal(mkdir(d->state, 0700), 0);
    if (as_nobody())
        assert_int_equal(chown(d->state, NOBODY, NOBODY), 0);
    assert_non_null(srv = twr_fx_stream(f, ": hello\n\n", url, sizeof url));
    assert_int_equal(twr_write_config(d->cfg,
                                      "{\"state_dir\": \"%s\","
                                      " \"stream\": {\"url\": \"%s\"},"
                                      " \"status\": {\"port\": 0}}",
                                      d->state, url),
                     0);
    assert_int_equal(chmod(d->cfg, 0644), 0);
}

/* `run` started under env after the test raised its own soft core limit
 * to its hard one (into *own), so that a child keeping what it inherits
 * shows a limit other than 0 where it can; its core limits in soft and
 * hard. */
static struct proc *run_with(struct twr_fx *f, const char *const env[],
                             struct rlimit *own, char *soft, char *hard)
{
    struct twr_dir d;
    struct proc *run;

    assert_int_equal(getrlimit(RLIMIT_CORE, own), 0);
    own->rlim_cur = own->rlim_max;
    assert_int_equal(setrlimit(RLIMIT_CORE, own), 0);
    prepare(f, &d);
    assert_non_null(run = start_run(f, d.cfg, env));
    assert_int_equal(core_limits(proc_pid(run), soft, hard), 0);
    return run;
}

static void test_run_dumps_no_core(void **state)
{
    const char *env[] = {"TOOLWATCH_ALLOW_CORE_DUMPS", NULL};
    struct rlimit own;
    struct proc *run;
    char soft[32], hard[32];

    run = run_with(*state, env, &own, soft, hard);
    assert_string_equal(soft, "0");
    assert_string_equal(hard, "0");
    if (as_nobody() || geteuid() != 0)
        assert_int_equal(environ_owner(proc_pid(run)), 0); /* root's */
    else
        fprintf(stderr, "test_coredump: root without %s: the dumpable "
                        "flag is not checked\n", SETPRIV);
    assert_false(proc_output_contains(run, "core dumps allowed"));
    assert_true(twr_stop("run", run));
}

static void test_opt_out_keeps_core_dumps(void **state)
{
    const char *env[] = {"TOOLWATCH_ALLOW_CORE_DUMPS=1", NULL};
    struct rlimit own;
    struct proc *run;
    char soft[32], hard[32], want[32];

    run = run_with(*state, env, &own, soft, hard);
    assert_true(proc_output_contains(
        run, "toolwatch run: core dumps allowed "
             "(TOOLWATCH_ALLOW_CORE_DUMPS=1): a core file holds every "
             "secret this process reads"));
    /* the hard limit is the one it inherited (the soft one is
     * AddressSanitizer's to lower) */
    limit_text(own.rlim_max, want, sizeof want);
    assert_string_equal(hard, want);
    if (as_nobody())
        assert_int_equal(environ_owner(proc_pid(run)), NOBODY);
    else if (geteuid() != 0)
        assert_int_equal(environ_owner(proc_pid(run)), (long)geteuid());
    assert_true(twr_stop("run", run));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_dumps_no_core, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_opt_out_keeps_core_dumps,
                                        twr_setup, twr_teardown),
    };
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
