/*
 * test_sendtest.c - `toolwatch send-test SINK -c FILE` against a real
 * receiver on 127.0.0.1: the test alert arrives signed, the receiver's
 * answer is printed, and the exit status follows it.
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
#include <unistd.h>

#include "alerts/sign.h"
#include "base/clock.h"
#include "tests/support/proc.h"
#include "tests/support/receiver.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define WAIT_MS 10000

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

struct fx {
    struct rcv *r;
    char dir[64];
    char cfg[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char url[128];
    FILE *fp;

    snprintf(f->dir, sizeof f->dir, "/tmp/tw-sendtest-XXXXXX");
    if (mkdtemp(f->dir) == NULL || (f->r = rcv_start()) == NULL)
        return -1;
    rcv_url(f->r, "/hook", url, sizeof url);
    snprintf(f->cfg, sizeof f->cfg, "%s/c.json", f->dir);
    fp = fopen(f->cfg, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp,
            "{\"instance\": \"itest\", \"state_dir\": \"%s\",\n"
            " \"sinks\": [{\"name\": \"hook\", \"type\": \"webhook\","
            " \"url\": \"%s\", \"secret_envs\": [\"ST_SECRET\"]},\n"
            "  {\"name\": \"log\", \"type\": \"file\", \"path\": "
            "\"%s/alerts.ndjson\"}]}\n",
            f->dir, url, f->dir);
    fclose(fp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    rcv_stop(f->r);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int run_sendtest(struct fx *f, const char *sink, struct proc **out)
{
    const char *argv[] = {tw_bin(), "send-test", sink, "-c", f->cfg, NULL};
    const char *env[] = {"ST_SECRET=" SECRET, NULL};
    int status = -1;

    *out = proc_spawn(argv, env);
    assert_non_null(*out);
    assert_true(proc_wait_exit(*out, WAIT_MS, &status));
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_signed_test_alert_arrives(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    struct rcv_request q;
    const char *secret = SECRET;
    sign_keys *k;
    int err;
    size_t bad, len;
    int64_t ts;

    rcv_add_status(f->r, 200, NULL, "thanks");
    assert_int_equal(run_sendtest(f, "hook", &p), 0);
    assert_int_equal(rcv_count(f->r), 1);
    assert_true(rcv_get(f->r, 0, &q));
    assert_non_null(strstr((const char *)q.body,
                           "\"rule\":\"send_test\""));
    assert_non_null(strstr((const char *)q.body, "TEST ALERT"));
    assert_int_equal(sign_parse_timestamp(rcv_header(&q, "webhook-timestamp"),
                                          &ts),
                     SIGN_OK);
    k = sign_keys_create(&secret, 1, &err, &bad);
    assert_int_equal(sign_verify(k, rcv_header(&q, "webhook-id"), ts, q.body,
                                 q.body_len,
                                 rcv_header(&q, "webhook-signature"),
                                 clock_wall_ms() / 1000, 60),
                     SIGN_OK);
    sign_keys_destroy(k);
    const char *out = proc_stdout_all(p, &len);
    assert_non_null(strstr(out, "sink hook (webhook): HTTP 200 (delivered)"));
    assert_non_null(strstr(out, rcv_header(&q, "webhook-id")));
    assert_non_null(strstr(out, "response: thanks"));
    assert_false(proc_output_contains(p, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    proc_destroy(p);
}

static void test_refused_exits_1_with_answer(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    size_t len;

    rcv_add_status(f->r, 400, NULL, "{\"error\":\"invalid payload\"}");
    assert_int_equal(run_sendtest(f, "hook", &p), 1);
    const char *out = proc_stdout_all(p, &len);
    assert_non_null(strstr(out, "HTTP 400 (dead_lettered)"));
    assert_non_null(strstr(out, "response: {\"error\":\"invalid payload\"}"));
    proc_destroy(p);
}

static void test_unreachable_exits_1(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    size_t len;

    assert_int_equal(rcv_set_down(f->r, true), 0);
    assert_int_equal(run_sendtest(f, "hook", &p), 1);
    assert_non_null(strstr(proc_stdout_all(p, &len), "no answer: "));
    proc_destroy(p);
}

static void test_unknown_sink_and_file_sink(void **state)
{
    struct fx *f = *state;
    struct proc *p;
    char path[128], line[4096];
    size_t len;
    FILE *fp;

    assert_int_equal(run_sendtest(f, "nope", &p), 1);
    assert_non_null(strstr(proc_stderr_all(p, &len),
                           "no sink named \"nope\""));
    proc_destroy(p);
    assert_int_equal(run_sendtest(f, "log", &p), 0);
    proc_destroy(p);
    snprintf(path, sizeof path, "%s/alerts.ndjson", f->dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_true(strncmp(line, "{\"type\":\"alert.firing\"", 22) == 0);
    assert_non_null(strstr(line, "\"rule\":\"send_test\""));
    fclose(fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_test_alert_arrives,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_exits_1_with_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_exits_1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_sink_and_file_sink,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
