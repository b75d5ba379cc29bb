/*
 * test_demo.c - `toolwatch demo`, the real binary, as `make demo` runs it:
 * the simulated stream, the service and the verifying receiver in one
 * process, for its whole default duration.
 *
 * Checks what a new user is promised: every alert line the receiver
 * prints is signed (its signature verified by the demo's receiver), and
 * the alerts are exactly those of the demo's nine rules, each firing and
 * resolving once with its exact rule, kind and key: the six default rules
 * on their anomalies, the sequence on sess-8000 (a secret read, then an
 * external post), the new_value on delete_customer_records and the
 * baseline on jira_search, the last three followed by the description,
 * labels and runbook their alerts carry.  The summary then counts them
 * all verified, nothing is left firing, and it exits 0 with no sanitizer
 * report.  Every wait is on the demo's output, with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "app/demo.h"
#include "base/clock.h"
#include "tests/support/proc.h"
#include "tests/support/twrun.h"

/* the demo's duration, and time to start, drain and print its summary */
#define DEMO_WAIT_MS ((DEMO_DURATION_S + 30) * 1000)
#define LINE_BYTES 4096

/* One alert the demo must show, and what the receiver printed of it. */
struct want {
    const char *rule, *kind, *key;
    const char *context; /* the labels line below its firing, or NULL */
    int fired, resolved, context_seen;
};

static struct want wants[] = {
    {"volume", "count", "crm_search_contacts", NULL, 0, 0, 0},
    {"error_rate", "ratio", "postgres_query", NULL, 0, 0, 0},
    {"latency", "max", "http_fetch", NULL, 0, 0, 0},
    {"payload_size", "max", "s3_get_object", NULL, 0, 0, 0},
    {"credential_access", "count", "agent-13", NULL, 0, 0, 0},
    {"secret_then_egress", "sequence", "sess-8000",
     "        labels: team=security, detection=toxic-flow  runbook: "
     "https://runbooks.example.com/toolwatch/secret-then-egress",
     0, 0, 0},
    {"new_tool", "new_value", "delete_customer_records",
     "        labels: team=security, detection=fleet  runbook: "
     "https://runbooks.example.com/toolwatch/new-tool",
     0, 0, 0},
    {"rate_anomaly", "baseline", "jira_search",
     "        labels: team=platform, detection=fleet  runbook: "
     "https://runbooks.example.com/toolwatch/rate-anomaly",
     0, 0, 0},
    {"stream_stalled", "absence", "global", NULL, 0, 0, 0},
};
#define N_WANTS (sizeof wants / sizeof wants[0])

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);

    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* "[mm:ss] STATE    severity rule kind key: summary (signature ok)":
 * count it against wants; the alert it fires, or NULL. */
static struct want *alert_line(const char *line)
{
    char state[16], sev[16], rule[80], kind[16], key[160];
    int mm, ss;
    struct want *w = NULL;

    assert_int_equal(sscanf(line, "[%d:%d] %15s %15s %79s %15s %159[^:]:",
                            &mm, &ss, state, sev, rule, kind, key),
                     7);
    if (!ends_with(line, " (signature ok)"))
        fail_msg("not verified: %s", line);
    for (size_t i = 0; i < N_WANTS; i++)
        if (strcmp(wants[i].rule, rule) == 0 &&
            strcmp(wants[i].kind, kind) == 0 &&
            strcmp(wants[i].key, key) == 0)
            w = &wants[i];
    if (w == NULL)
        fail_msg("an alert the demo does not plant: %s", line);
    if (strcmp(state, "FIRING") == 0) {
        w->fired++;
        return w;
    }
    assert_string_equal(state, "RESOLVED");
    assert_int_equal(w->fired, 1); /* resolved after it fired */
    w->resolved++;
    return NULL;
}

/* Milliseconds to `deadline` (clock_mono_ms), at least 0. */
static int left_ms(int64_t deadline)
{
    int64_t left = deadline - clock_mono_ms();

    return left > 0 ? (int)left : 0;
}

static void test_demo_shows_every_rule(void **state)
{
    struct twr_fx *f = *state;
    const char *argv[] = {twr_bin(), "demo", NULL};
    int64_t deadline = clock_mono_ms() + DEMO_WAIT_MS;
    unsigned received = 0, verified = 0, rejected = 1;
    struct want *last = NULL;
    static char line[LINE_BYTES];
    int len, status = -1, summary = 0, descriptions = 0;
    struct proc *p;

    assert_non_null(p = twr_fx_proc(f, proc_spawn(argv, NULL)));
    while ((len = proc_read_line(p, line, sizeof line,
                                 left_ms(deadline))) != PROC_EOF) {
        if (len == PROC_TIMEOUT || len == PROC_TOOLONG) {
            twr_dump_stderr("demo", p);
            fail_msg("no end to the demo's output within %d s",
                     DEMO_WAIT_MS / 1000);
        }
        if (strstr(line, "still firing") != NULL ||
            strstr(line, "did not complete") != NULL ||
            strstr(line, "SIGNATURE INVALID") != NULL)
            fail_msg("%s", line);
        if (line[0] == '[') {
            last = alert_line(line);
        } else if (strncmp(line, "        description: ", 21) == 0) {
            assert_non_null(last);
            assert_non_null(last->context);
            descriptions++;
        } else if (strncmp(line, "        labels: ", 16) == 0) {
            assert_non_null(last);
            assert_non_null(last->context);
            assert_string_equal(line, last->context);
            last->context_seen++;
        } else if (sscanf(line, "%u alerts received, %u signatures "
                                "verified, %u rejected",
                          &received, &verified, &rejected) == 3) {
            summary = 1;
        }
    }
    assert_true(proc_wait_exit(p, 10000, &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(twr_sanitizers_clean("demo", p));
    for (size_t i = 0; i < N_WANTS; i++) {
        if (wants[i].fired != 1 || wants[i].resolved != 1)
            fail_msg("%s %s: fired %d, resolved %d (once each expected)",
                     wants[i].rule, wants[i].key, wants[i].fired,
                     wants[i].resolved);
        assert_int_equal(wants[i].context_seen,
                         wants[i].context != NULL ? 1 : 0);
    }
    assert_true(summary);
    assert_int_equal(received, 2 * N_WANTS);
    assert_int_equal(verified, received);
    assert_int_equal(rejected, 0);
    assert_int_equal(descriptions, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_demo_shows_every_rule,
                                        twr_setup, twr_teardown),
    };

    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
