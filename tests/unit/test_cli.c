/*
 * test_cli.c - option parsing on getopt_long: every form of an option,
 * positionals before and after, "--", the common options applied where
 * they stand, usage errors, and strict number parsing.
 *
 * Each case runs one argv through a table and compares the whole trace of
 * cli_next's answers: "o:--name=value" an option, "p:x" a positional,
 * "E" a usage error (parsing stops there), "." the end.
 */
#include "app/cli.h"

#include "base/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* A table like a subcommand's: -h, -c FILE, a long-only flag and a
 * long-only option with a value. */
static const struct option table[] = {
    CLI_OPT_HELP,
    CLI_OPT_CONFIG,
    {"once", no_argument, NULL, 0},
    {"max-events", required_argument, NULL, 0},
    CLI_OPT_END,
};

/* Parse "a b c" (split on spaces; argv[0] is "cmd") and return the trace. */
static const char *trace(const char *line)
{
    static char out[512], copy[256];
    char *argv[32], *p = copy, *name_copy;
    int argc = 0, kind;
    size_t o = 0;
    cli_args a;
    const char *name;

    snprintf(copy, sizeof copy, "cmd %s", line);
    while (p != NULL && argc < 31) {
        argv[argc++] = p;
        if ((name_copy = strchr(p, ' ')) != NULL)
            *name_copy++ = '\0';
        p = name_copy;
    }
    argv[argc] = NULL;
    out[0] = '\0';
    assert_int_equal(cli_args_init(&a, "cmd", argc, argv, table), 0);
    for (;;) {
        const char *v;

        kind = cli_next(&a, &name);
        if (kind == 0) {
            o += (size_t)snprintf(out + o, sizeof out - o, ".");
            break;
        }
        if (kind < 0) {
            o += (size_t)snprintf(out + o, sizeof out - o, "E");
            break;
        }
        if (kind == 2) {
            o += (size_t)snprintf(out + o, sizeof out - o, "p:%s ", name);
            continue;
        }
        v = a.value;
        o += (size_t)snprintf(out + o, sizeof out - o, "o:%s%s%s ", name,
                              v ? "=" : "", v ? v : "");
    }
    return out;
}

static void test_forms(void **state)
{
    (void)state;
    assert_string_equal(trace("-c f.json"), "o:--config=f.json .");
    assert_string_equal(trace("-cf.json"), "o:--config=f.json .");
    assert_string_equal(trace("--config f.json"), "o:--config=f.json .");
    assert_string_equal(trace("--config=f.json"), "o:--config=f.json .");
    assert_string_equal(trace("--conf=f.json"), "o:--config=f.json .");
    assert_string_equal(trace("-h"), "o:--help .");
    assert_string_equal(trace("--help"), "o:--help .");
    assert_string_equal(trace("--once --max-events 5"),
                        "o:--once o:--max-events=5 .");
    assert_string_equal(trace("--max-events=-1"), "o:--max-events=-1 .");
    /* a value may start with '-' */
    assert_string_equal(trace("-c -h"), "o:--config=-h .");
}

static void test_positionals(void **state)
{
    (void)state;
    /* before, between and after the options, in their order */
    assert_string_equal(trace("URL --once -c f"),
                        "o:--once o:--config=f p:URL .");
    assert_string_equal(trace("a --once b"), "o:--once p:a p:b .");
    /* "-" is stdin, a positional */
    assert_string_equal(trace("- --once"), "o:--once p:- .");
    /* "--" ends the options: what follows is positional */
    assert_string_equal(trace("--once -- -h --x"), "o:--once p:-h p:--x .");
    assert_string_equal(trace(""), "p: .");
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_string_equal(trace("--bogus"), "E");
    assert_string_equal(trace("-x"), "E");
    assert_string_equal(trace("--once -Z URL"), "o:--once E");
    assert_string_equal(trace("-c"), "E");
    assert_string_equal(trace("--config"), "E");
    assert_string_equal(trace("--max-events"), "E");
    /* a flag given a value */
    assert_string_equal(trace("--once=1"), "E");
    /* the version is the toolwatch command's, not a subcommand's */
    assert_string_equal(trace("-V"), "E");
    /* an ambiguous abbreviation */
    assert_string_equal(trace("--log"), "E");
}

/* --log-level and --log-format are in every table, applied where they
 * stand and never returned. */
static void test_common_options(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    assert_string_equal(trace("--log-level debug -h"), "o:--help .");
    assert_int_equal(log_current_level, LOG_DEBUG);
    assert_string_equal(trace("--log-level=warning"), ".");
    assert_int_equal(log_current_level, LOG_WARN);
    assert_string_equal(trace("--log-level error"), ".");
    assert_int_equal(log_current_level, LOG_ERROR);
    assert_string_equal(trace("--log-level loud"), "E");
    assert_int_equal(log_current_level, LOG_ERROR);
    assert_string_equal(trace("--log-format json URL"), "p:URL .");
    assert_string_equal(trace("--log-format text"), ".");
    assert_string_equal(trace("--log-format xml"), "E");
    assert_string_equal(trace("--log-level"), "E");
    log_set_level(LOG_INFO);
}

/* The same args parsed twice give the same trace: getopt's state is reset
 * by cli_args_init. */
static void test_reparse(void **state)
{
    (void)state;
    assert_string_equal(trace("-c a --once b"), "o:--config=a o:--once p:b .");
    assert_string_equal(trace("-c a --once b"), "o:--config=a o:--once p:b .");
}

static void test_table_too_big(void **state)
{
    static struct option big[CLI_MAX_OPTS + 1];
    char a0[] = "cmd";
    char *argv[] = {a0, NULL};
    cli_args a;

    (void)state;
    for (int i = 0; i < CLI_MAX_OPTS; i++)
        big[i] = (struct option){"x", no_argument, NULL, 0};
    big[CLI_MAX_OPTS] = (struct option){NULL, 0, NULL, 0};
    assert_int_equal(cli_args_init(&a, "cmd", 1, argv, big), -1);
    big[CLI_MAX_OPTS - 2] = (struct option){NULL, 0, NULL, 0};
    assert_int_equal(cli_args_init(&a, "cmd", 1, argv, big), 0);
}

static void test_u64(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_int_equal(cli_u64("--n", "0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(cli_u64("--n", "10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(cli_u64("--n", "18446744073709551615", 0, UINT64_MAX,
                             &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(cli_u64("--n", "11", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", "18446744073709551616", 0, UINT64_MAX,
                             &v), -1);
    assert_int_equal(cli_u64("--n", "", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", "-1", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", "1e3", 0, 10000, &v), -1);
    assert_int_equal(cli_u64("--n", " 5", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", NULL, 0, 10, &v), -1);
    assert_int_equal(v, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_positionals),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_common_options),
        cmocka_unit_test(test_reparse),
        cmocka_unit_test(test_table_too_big),
        cmocka_unit_test(test_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
