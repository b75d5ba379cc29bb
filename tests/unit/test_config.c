/*
 * test_config.c - the configuration file: defaults, every kind of value,
 * and the exact messages for unknown keys, wrong types and bad ranges.
 */
#include "config/config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct cfg c;
static char err[512];

static int parse(const char *text)
{
    err[0] = '\0';
    return cfg_parse(&c, text, strlen(text), err, sizeof err);
}

static void expect_error(const char *text, const char *msg)
{
    assert_int_equal(parse(text), CFG_EINVAL);
    assert_string_equal(err, msg);
}

static void test_defaults(void **state)
{
    const struct det_params *p;

    (void)state;
    assert_int_equal(parse("{}"), CFG_OK);
    assert_string_equal(c.instance, "toolwatch");
    assert_int_equal(c.det.engine.allowed_lateness_s, 5);
    assert_int_equal(c.det.engine.max_future_skew_s, 300);
    assert_int_equal(c.det.engine.dedupe_window, 100000);
    assert_int_equal(c.det.engine.max_keys, 10000);
    assert_int_equal(c.det.engine.repeat_interval_s, 3600);
    assert_int_equal(c.det.engine.hold_s, 60);
    p = &c.det.det[DET_VOLUME];
    assert_true(p->enabled);
    assert_int_equal(p->severity, DET_SEV_WARNING);
    assert_int_equal(p->group_by, DET_BY_TOOL);
    assert_int_equal(p->window_s, 60);
    assert_true(p->threshold == 100);
    assert_true(isnan(p->clear_threshold));
    p = &c.det.det[DET_PAYLOAD_SIZE];
    assert_true(p->threshold == 1000000);
    assert_int_equal(p->window_s, 300);
    p = &c.det.det[DET_LATENCY];
    assert_true(p->threshold == 5000);
    p = &c.det.det[DET_ERROR_RATE];
    assert_true(p->threshold == 0.2);
    assert_int_equal(p->min_calls, 10);
    assert_int_equal(p->severity, DET_SEV_ERROR);
    p = &c.det.det[DET_CREDENTIAL_ACCESS];
    assert_int_equal(p->group_by, DET_BY_AGENT);
    assert_int_equal(p->severity, DET_SEV_CRITICAL);
    assert_int_equal(p->window_s, 3600);
    assert_true(p->threshold == 50);
    assert_int_equal(p->keywords.n, 6);
    assert_string_equal(p->keywords.v[0], "credential");
    assert_string_equal(p->keywords.v[5], "auth");
    p = &c.det.det[DET_STREAM_STALLED];
    assert_int_equal(p->group_by, DET_BY_GLOBAL);
    assert_true(p->threshold == 120);
    assert_int_equal(p->window_s, 120);
    assert_int_equal(p->severity, DET_SEV_CRITICAL);
}

static void test_full_file(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{\"instance\": \"prod-eu\",\n"
              " \"detectors\": {\"max_keys\": 500, \"hold_s\": 0,\n"
              "   \"repeat_interval_s\": 600, \"dedupe_window\": 0,\n"
              "   \"volume\": {\"threshold\": 250, \"window_s\": 30,\n"
              "              \"group_by\": \"session\", \"bucket_ms\": 500,\n"
              "              \"clear_threshold\": 200},\n"
              "   \"error_rate\": {\"enabled\": false, \"min_calls\": 3},\n"
              "   \"credential_access\": {\"keywords\": [\"Vault\", \"KMS\"],"
              "                         \"severity\": \"info\"},\n"
              "   \"stream_stalled\": {\"threshold\": 30}}}"),
        CFG_OK);
    assert_string_equal(c.instance, "prod-eu");
    assert_int_equal(c.det.engine.max_keys, 500);
    assert_int_equal(c.det.engine.hold_s, 0);
    assert_true(c.det.det[DET_VOLUME].threshold == 250);
    assert_true(c.det.det[DET_VOLUME].clear_threshold == 200);
    assert_int_equal(c.det.det[DET_VOLUME].group_by, DET_BY_SESSION);
    assert_int_equal(c.det.det[DET_VOLUME].bucket_ms, 500);
    assert_false(c.det.det[DET_ERROR_RATE].enabled);
    assert_int_equal(c.det.det[DET_ERROR_RATE].min_calls, 3);
    assert_int_equal(c.det.det[DET_CREDENTIAL_ACCESS].keywords.n, 2);
    assert_string_equal(c.det.det[DET_CREDENTIAL_ACCESS].keywords.v[0],
                        "vault"); /* lower-cased */
    assert_string_equal(c.det.det[DET_CREDENTIAL_ACCESS].keywords.v[1],
                        "kms");
    assert_int_equal(c.det.det[DET_CREDENTIAL_ACCESS].severity,
                     DET_SEV_INFO);
    assert_int_equal(c.det.det[DET_STREAM_STALLED].window_s, 30);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("{\"detectors\": {\"error_rate\": {\"threshold\": \"20%\"}}}",
                 "detectors.error_rate.threshold: expected a number between "
                 "0 and 1, got \"20%\"");
    expect_error("{\"detectors\": {\"error_rate\": {\"threshold\": 20}}}",
                 "detectors.error_rate.threshold: expected a number between "
                 "0 and 1, got 20");
    expect_error("{\"instanse\": \"x\"}", "instanse: unknown key");
    expect_error("{\"detectors\": {\"volume\": {\"treshold\": 5}}}",
                 "detectors.volume.treshold: unknown key");
    expect_error("{\"detectors\": {\"volumes\": {}}}",
                 "detectors.volumes: unknown key (not a detector: volume, "
                 "payload_size, latency, error_rate, credential_access, "
                 "stream_stalled; nor an engine setting)");
    expect_error("{\"detectors\": {\"volume\": {\"enabled\": 1}}}",
                 "detectors.volume.enabled: expected true or false, got 1");
    expect_error("{\"detectors\": {\"volume\": {\"window_s\": 1.5}}}",
                 "detectors.volume.window_s: expected an integer between 1 "
                 "and 86400, got 1.5");
    expect_error("{\"detectors\": {\"max_keys\": 0}}",
                 "detectors.max_keys: expected an integer between 1 and "
                 "10000000, got 0");
    expect_error("{\"detectors\": {\"volume\": {\"group_by\": \"user\"}}}",
                 "detectors.volume.group_by: expected one of \"tool\", "
                 "\"agent\", \"session\", \"global\", got \"user\"");
    expect_error("{\"detectors\": {\"volume\": {\"severity\": null}}}",
                 "detectors.volume.severity: expected one of \"info\", "
                 "\"warning\", \"error\", \"critical\", got null");
    expect_error("{\"detectors\": {\"stream_stalled\": "
                 "{\"group_by\": \"tool\"}}}",
                 "detectors.stream_stalled.group_by: expected one of "
                 "\"global\", got \"tool\"");
    expect_error("{\"detectors\": {\"credential_access\": "
                 "{\"keywords\": [\"a\", 7]}}}",
                 "detectors.credential_access.keywords[1]: expected a "
                 "non-empty string of at most 63 bytes, got 7");
    expect_error("{\"detectors\": {\"credential_access\": "
                 "{\"keywords\": \"secret\"}}}",
                 "detectors.credential_access.keywords: expected an array of "
                 "at most 32 non-empty strings of at most 63 bytes, got "
                 "\"secret\"");
    expect_error("{\"detectors\": {\"credential_access\": {\"keywords\": []}}}",
                 "detectors.credential_access.keywords: expected at least one "
                 "keyword, got []");
    expect_error("{\"detectors\": {\"volume\": {\"clear_threshold\": 150}}}",
                 "detectors.volume.clear_threshold: expected a number at "
                 "most the threshold (100), got 150");
    expect_error("{\"detectors\": {\"volume\": {\"bucket_ms\": 7}}}",
                 "detectors.volume.bucket_ms: expected 0 or a divisor of the "
                 "window (60000 ms) giving at most 3600 buckets, got 7");
    expect_error("{\"detectors\": {\"volume\": []}}",
                 "detectors.volume: expected an object, got []");
    expect_error("[]", "(top level): expected an object, got []");
    expect_error("{\"instance\": \"a\", \"instance\": \"b\"}",
                 "instance: duplicate key");
    expect_error("{\"instance\": \"\"}",
                 "instance: expected a non-empty string of at most 127 "
                 "bytes, got \"\"");
    /* a long bad value is cut */
    expect_error("{\"detectors\": {\"volume\": {\"threshold\": "
                 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "\"}}}",
                 "detectors.volume.threshold: expected a number between 0 "
                 "and 1000000000000, got "
                 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");
}

static void test_syntax_and_files(void **state)
{
    char path[] = "/tmp/tw_cfg_XXXXXX";
    int fd;

    (void)state;
    assert_int_equal(parse("{\n  \"instance\": \"x\",\n  oops\n}"),
                     CFG_ESYNTAX);
    assert_string_equal(err, "not valid JSON near line 3, column 4");
    assert_int_equal(cfg_load(&c, "/nonexistent/tw.json", err, sizeof err),
                     CFG_EIO);
    assert_string_equal(err, "/nonexistent/tw.json: No such file or "
                             "directory");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"hold_s\": 1}", 13), 13);
    close(fd);
    assert_int_equal(cfg_load(&c, path, err, sizeof err), CFG_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s: hold_s: unknown key", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_string_equal(cfg_strerror(CFG_EINVAL), "invalid configuration");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_syntax_and_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
