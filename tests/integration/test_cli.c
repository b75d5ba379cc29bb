/*
 * test_cli.c - the toolwatch command line, the real binary: every
 * command's -h and --help (usage on stdout, exit 0, nothing on stderr),
 * an unknown option (stderr, exit 2, nothing on stdout), a missing -c
 * value, -V, the three ways to name check-config's file, and the log
 * level and JSON format from the environment, each JSON line read back
 * with cJSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/twrun.h"

#define WAIT_MS 20000

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

struct result {
    int status;
    char out[8192], err[8192];
};

/* Run toolwatch with up to 6 arguments (NULL-ended) and env changes. */
static void run(struct result *r, const char *const env[], const char *a0,
                const char *a1, const char *a2, const char *a3,
                const char *a4, const char *a5)
{
    const char *argv[] = {tw_bin(), a0, a1, a2, a3, a4, a5, NULL};
    struct proc *p = proc_spawn(argv, env);
    size_t n;
    const char *s;

    assert_non_null(p);
    assert_true(proc_wait_exit(p, WAIT_MS, &r->status));
    proc_poll(p);
    assert_true(WIFEXITED(r->status));
    r->status = WEXITSTATUS(r->status);
    s = proc_stdout_all(p, &n);
    snprintf(r->out, sizeof r->out, "%s", s);
    s = proc_stderr_all(p, &n);
    snprintf(r->err, sizeof r->err, "%s", s);
    proc_destroy(p);
}

static const struct {
    const char *cmd, *sub, *usage;
    int config; /* takes -c FILE */
} commands[] = {
    {"run", NULL, "usage: toolwatch run ", 1},
    {"send-test", NULL, "usage: toolwatch send-test ", 1},
    {"demo", NULL, "usage: toolwatch demo ", 0},
    {"replay", NULL, "usage: toolwatch replay ", 1},
    {"tail", NULL, "usage: toolwatch tail ", 0},
    {"simulate", NULL, "usage: toolwatch simulate ", 0},
    {"check-config", NULL, "usage: toolwatch check-config ", 1},
    {"silence", "add", "usage: toolwatch silence ", 1},
    {"silence", "list", "usage: toolwatch silence ", 1},
    {"silence", "expire", "usage: toolwatch silence ", 1},
    {"ack", NULL, "usage: toolwatch ack ", 1},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* argv for a command: "silence add X" or "run X" */
static void run_cmd(struct result *r, size_t i, const char *x,
                    const char *y)
{
    if (commands[i].sub != NULL)
        run(r, NULL, commands[i].cmd, commands[i].sub, x, y, NULL, NULL);
    else
        run(r, NULL, commands[i].cmd, x, y, NULL, NULL, NULL);
}

static void test_help(void **state)
{
    static const char *const forms[] = {"-h", "--help"};
    struct result r;

    (void)state;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        for (size_t f = 0; f < 2; f++) {
            run_cmd(&r, i, forms[f], NULL);
            if (r.status != 0 || strncmp(r.out, commands[i].usage,
                                         strlen(commands[i].usage)) != 0 ||
                r.err[0] != '\0')
                fail_msg("%s %s %s: status %d, stdout \"%.60s\", stderr "
                         "\"%.200s\"", commands[i].cmd,
                         commands[i].sub ? commands[i].sub : "", forms[f],
                         r.status, r.out, r.err);
        }
    }
}

static void test_bad_option(void **state)
{
    struct result r;
    char want[128];

    (void)state;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        run_cmd(&r, i, "--no-such-option", NULL);
        snprintf(want, sizeof want, "unknown option --no-such-option");
        if (r.status != 2 || r.out[0] != '\0' || !strstr(r.err, want))
            fail_msg("%s --no-such-option: status %d, stdout \"%.60s\", "
                     "stderr \"%.200s\"", commands[i].cmd, r.status, r.out,
                     r.err);
        if (!commands[i].config)
            continue;
        run_cmd(&r, i, "-c", NULL);
        if (r.status != 2 || r.out[0] != '\0' ||
            !strstr(r.err, "option needs a value: -c"))
            fail_msg("%s -c: status %d, stderr \"%.200s\"",
                     commands[i].cmd, r.status, r.err);
    }
}

static void test_toplevel(void **state)
{
    struct result r;
    char want[64];
    FILE *f;
    char version[32] = "";

    (void)state;
    f = fopen("VERSION", "r");
    assert_non_null(f);
    assert_non_null(fgets(version, sizeof version, f));
    fclose(f);
    version[strcspn(version, "\n")] = '\0';
    snprintf(want, sizeof want, "toolwatch %s\n", version);
    run(&r, NULL, "-V", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, want);
    run(&r, NULL, "--version", NULL, NULL, NULL, NULL, NULL);
    assert_string_equal(r.out, want);
    run(&r, NULL, "-h", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: toolwatch [options] <command>"));
    assert_string_equal(r.err, "");
    run(&r, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    run(&r, NULL, "frobnicate", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command \"frobnicate\""));
    run(&r, NULL, "--log-level", "loud", "tail", "-h", NULL, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--log-level: expected debug, info, "
                                  "warning or error, got \"loud\""));
    /* global options before the command */
    run(&r, NULL, "--log-level", "debug", "--log-format=json", "tail", "-h",
        NULL);
    assert_int_equal(r.status, 0);
}

/* check-config's file: positional, -c, --config=; the same printed
 * configuration (--print). */
static void test_checkconfig_forms(void **state)
{
    struct result a, b, c;
    char path[] = "/tmp/tw-cli-XXXXXX";
    int fd = mkstemp(path);
    static const char cfg[] =
        "{\"stream\":{\"url\":\"http://127.0.0.1:9/events\"},"
        "\"state_dir\":\"/tmp/tw-cli-state\","
        "\"sinks\":[{\"name\":\"out\",\"type\":\"stdout\"}]}";
    static const char *const logenv[] = {"TOOLWATCH_LOG_LEVEL=debug",
                                         "TOOLWATCH_LOG_FORMAT=json", NULL};
    char opt[64];

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, cfg, sizeof cfg - 1), (long)sizeof cfg - 1);
    close(fd);
    run(&a, NULL, "check-config", "--print", path, NULL, NULL, NULL);
    run(&b, NULL, "check-config", "--print", "-c", path, NULL, NULL);
    snprintf(opt, sizeof opt, "--config=%s", path);
    run(&c, NULL, "check-config", "-p", opt, NULL, NULL, NULL);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
    assert_int_equal(c.status, 0);
    assert_string_equal(a.out, b.out);
    assert_string_equal(a.out, c.out);
    assert_non_null(strstr(a.out, "\"stream\": {"));
    /* quiet by default (--quiet, the older spelling, too): nothing but
     * problems; the log variables are not configuration overrides */
    run(&b, logenv, "check-config", "--quiet", "-c", path, NULL, NULL);
    assert_int_equal(b.status, 0);
    assert_string_equal(b.out, "");
    assert_string_equal(b.err, "");
    /* two files */
    run(&a, NULL, "check-config", "-c", path, path, NULL, NULL);
    assert_int_equal(a.status, 2);
    assert_non_null(strstr(a.err, "one configuration file only"));
    unlink(path);
}

/* TOOLWATCH_LOG_FORMAT=json: every stderr line of a run that logs is one
 * JSON object with ts, level, component and msg; TOOLWATCH_LOG_LEVEL=error
 * keeps the warnings out. */
static void test_log_env(void **state)
{
    static const char *const json[] = {"TOOLWATCH_LOG_FORMAT=json", NULL};
    static const char *const quiet[] = {"TOOLWATCH_LOG_LEVEL=error", NULL};
    static const char *const bad[] = {"TOOLWATCH_LOG_FORMAT=xml", NULL};
    struct result r;
    int lines = 0;
    char *line, *save = NULL;

    (void)state;
    run(&r, json, "tail", "--once", "http://127.0.0.1:1/events", NULL, NULL,
        NULL);
    assert_int_equal(r.status, 1);
    for (line = strtok_r(r.err, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        const char *keys[] = {"ts", "level", "component", "msg"};

        if (j == NULL)
            fail_msg("not JSON: %s", line);
        for (size_t k = 0; k < 4; k++)
            assert_true(cJSON_IsString(cJSON_GetObjectItem(j, keys[k])));
        assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring,
                            "warning");
        assert_string_equal(cJSON_GetObjectItem(j, "component")->valuestring,
                            "stream");
        cJSON_Delete(j);
        lines++;
    }
    assert_true(lines >= 1);
    run(&r, quiet, "tail", "--once", "http://127.0.0.1:1/events", NULL, NULL,
        NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.err, "WARN"));
    run(&r, bad, "tail", "-h", NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "TOOLWATCH_LOG_FORMAT: expected text or "
                                  "json, got \"xml\""));
}

/* `tail URL > cap.ndjson; replay cap.ndjson`: every event decoded, exit
 * 0; a file where no record decodes: exit 1. */
static void test_tail_then_replay(void **state)
{
    struct twr_fx *f = *state;
    static const char *const sim_args[] = {"--total", "300", "--unpaced",
                                           "--from-start", NULL};
    struct twr_dir d;
    char url[128], cap[160], junk[160];
    struct result r;
    struct proc *sim, *tail;
    const char *out;
    size_t n;
    int status;

    assert_int_equal(twr_dir_make(f, &d, "cli"), 0);
    assert_non_null(sim = twr_start_sim(f, sim_args, 0, url, sizeof url));
    {
        const char *argv[] = {twr_bin(), "tail", "--once", url, NULL};

        tail = twr_fx_proc(f, proc_spawn(argv, NULL));
    }
    assert_non_null(tail);
    assert_true(proc_wait_exit(tail, WAIT_MS, &status));
    proc_poll(tail);
    assert_int_equal(WEXITSTATUS(status), 0);
    out = proc_stdout_all(tail, &n);
    snprintf(cap, sizeof cap, "%s/cap.ndjson", d.path);
    assert_int_equal(twr_write_file(cap, out), 0);

    run(&r, NULL, "replay", cap, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "toolwatch replay: tail input, 300 "
                                  "records, 300 events, 0 skipped"));

    snprintf(junk, sizeof junk, "%s/junk.ndjson", d.path);
    assert_int_equal(twr_write_file(junk, "{\"id\":\"1\"}\n{\"id\":2}\n"),
                     0);
    run(&r, NULL, "replay", junk, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "toolwatch replay: no event decoded from "
                                  "2 records\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_bad_option),
        cmocka_unit_test(test_toplevel),
        cmocka_unit_test(test_checkconfig_forms),
        cmocka_unit_test(test_log_env),
        cmocka_unit_test_setup_teardown(test_tail_then_replay, twr_setup,
                                        twr_teardown),
    };
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
