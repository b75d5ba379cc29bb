/*
 * test_silencecmd.c - app/silencecmd.c without a server: durations, the
 * request body `silence add` builds from its options (one-off, weekly,
 * every refusal), and the usage errors of the commands (exit 2 before
 * anything is sent).  The commands against a running service are
 * tests/integration/test_silence.c's.
 */
#include "app/silencecmd.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/cli.h"

#define NOW 1773144000000LL /* 2026-03-10T12:00:00Z */

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {{"90s", 90000}, {"15m", 900000}, {"2h", 7200000},
                {"1d", 86400000}, {"1h30m", 5400000}, {"1d2h3m4s", 93784000},
                {"366d", 366LL * 86400000}};
    static const char *const bad[] = {"", "2", "h", "2x", "-1h", "1.5h",
                                      "0s", "367d", "1h ", " 1h",
                                      "99999999999999h", "2hh"};
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(silencecmd_duration(good[i].text, &ms), 0);
        assert_int_equal(ms, good[i].ms);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (silencecmd_duration(bad[i], &ms) == 0)
            fail_msg("\"%s\" taken", bad[i]);
    assert_int_equal(silencecmd_duration(NULL, &ms), -1);
}

static void body_is(const struct silencecmd_add *a, const char *want)
{
    char *json = NULL, err[256] = "";

    if (silencecmd_body(a, NOW, &json, err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    assert_string_equal(json, want);
    free(json);
}

static void refused(const struct silencecmd_add *a, const char *msg)
{
    char *json = NULL, err[256] = "";

    assert_int_equal(silencecmd_body(a, NOW, &json, err, sizeof err), -1);
    assert_null(json);
    assert_string_equal(err, msg);
}

static void test_body(void **state)
{
    struct silencecmd_add a;

    (void)state;
    memset(&a, 0, sizeof a);
    a.rule = "latency";
    a.groups[a.ngroups++] = "tool_name=pg_*";
    a.labels[a.nlabels++] = "team=db";
    a.duration = "2h";
    a.comment = "db \"upgrade\"";
    a.by = "alice";
    body_is(&a, "{\"matchers\":{\"rule\":\"latency\",\"group.tool_name\":"
            "\"pg_*\",\"labels.team\":\"db\"},\"ends_at\":"
            "\"2026-03-10T14:00:00.000Z\",\"comment\":\"db \\\"upgrade\\\"\","
            "\"created_by\":\"alice\"}");
    a.starts_at = "2026-03-11T00:00:00Z";
    body_is(&a, "{\"matchers\":{\"rule\":\"latency\",\"group.tool_name\":"
            "\"pg_*\",\"labels.team\":\"db\"},\"starts_at\":"
            "\"2026-03-11T00:00:00Z\",\"ends_at\":"
            "\"2026-03-11T02:00:00.000Z\",\"comment\":\"db \\\"upgrade\\\"\","
            "\"created_by\":\"alice\"}");
    a.duration = NULL;
    a.ends_at = "2026-03-12T00:00:00Z";
    body_is(&a, "{\"matchers\":{\"rule\":\"latency\",\"group.tool_name\":"
            "\"pg_*\",\"labels.team\":\"db\"},\"starts_at\":"
            "\"2026-03-11T00:00:00Z\",\"ends_at\":\"2026-03-12T00:00:00Z\","
            "\"comment\":\"db \\\"upgrade\\\"\",\"created_by\":\"alice\"}");

    memset(&a, 0, sizeof a);
    a.severity = "critical";
    a.days = "sat,sun";
    a.start = "22:00";
    a.end = "06:00";
    a.tz = "Europe/Berlin";
    a.comment = "weekend";
    a.by = "ops";
    body_is(&a, "{\"matchers\":{\"severity\":\"critical\"},\"recurrence\":"
            "{\"days\":[\"sat\",\"sun\"],\"start\":\"22:00\",\"end\":"
            "\"06:00\",\"tz\":\"Europe/Berlin\"},\"comment\":\"weekend\","
            "\"created_by\":\"ops\"}");
}

static void test_body_refusals(void **state)
{
    struct silencecmd_add a;

    (void)state;
    memset(&a, 0, sizeof a);
    a.by = "b";
    a.duration = "1h";
    a.comment = "c";
    refused(&a, "give at least one of --rule, --severity, --group, "
            "--label");
    a.rule = "x";
    a.duration = NULL;
    refused(&a, "give one of --ends-at, --duration, or --days with --start, "
            "--end and --tz");
    a.duration = "1h";
    a.ends_at = "2027-01-01T00:00:00Z";
    refused(&a, "give one of --ends-at, --duration, or --days with --start, "
            "--end and --tz");
    a.ends_at = NULL;
    a.duration = "soon";
    refused(&a, "--duration soon: expected a duration like 90s, 15m, 2h, 1d "
            "or 1h30m (at most 366 days)");
    a.duration = "1h";
    a.starts_at = "now";
    refused(&a, "--starts-at now: expected an ISO 8601 time "
            "(2026-03-10T02:00:00Z)");
    a.starts_at = NULL;
    a.comment = NULL;
    refused(&a, "--comment is required (why the silence)");
    a.comment = "c";
    a.groups[a.ngroups++] = "tool_name";
    refused(&a, "--group tool_name: expected NAME=GLOB");
    a.groups[0] = "=x";
    refused(&a, "--group =x: expected NAME=GLOB");
    a.groups[0] = "a=x";
    a.groups[a.ngroups++] = "a=y";
    refused(&a, "--group: group.a given twice");
    a.ngroups = 0;
    a.duration = NULL;
    a.days = "mon";
    a.start = "01:00";
    refused(&a, "a weekly silence takes --days, --start, --end and --tz "
            "(and no --starts-at)");
}

/* Usage errors: exit 2, nothing sent (no server exists here). */
static void test_usage_errors(void **state)
{
    char a0[] = "silence", add[] = "add", list[] = "list", exp[] = "expire";
    char nope[] = "nope", rule[] = "--rule", x[] = "x", c[] = "-c";
    char ack[] = "ack", help[] = "--help", extra[] = "--bogus";
    char *v1[] = {a0, nope, NULL};
    char *v2[] = {a0, add, rule, x, NULL};
    char *v3[] = {a0, exp, c, NULL};
    char *v4[] = {a0, list, extra, NULL};
    char *v5[] = {ack, NULL};
    char *v6[] = {a0, list, help, NULL};
    char *v7[] = {a0, NULL};

    (void)state;
    assert_int_equal(silencecmd_main(2, v1), CLI_EXIT_USAGE);
    assert_int_equal(silencecmd_main(4, v2), CLI_EXIT_USAGE);
    assert_int_equal(silencecmd_main(3, v3), CLI_EXIT_USAGE);
    assert_int_equal(silencecmd_main(3, v4), CLI_EXIT_USAGE);
    assert_int_equal(silencecmd_ack_main(1, v5), CLI_EXIT_USAGE);
    assert_int_equal(silencecmd_main(3, v6), CLI_EXIT_OK);
    assert_int_equal(silencecmd_main(1, v7), CLI_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_body),
        cmocka_unit_test(test_body_refusals),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
