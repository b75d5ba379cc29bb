/*
 * test_config.c - the configuration file: defaults, every kind of value,
 * and the exact messages for unknown keys, wrong types and bad ranges;
 * sinks, literal secrets, environment overrides, secrets read from the
 * environment, check-config's output (never a secret) and the example
 * configurations.
 */
#include "config/config.h"
#include "app/checkconfig.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerts/gate.h"

static struct cfg c;
static char err[512];

/* c, its rules released: ready to be parsed into again */
static struct cfg *fresh(struct cfg *x)
{
    cfg_release(x);
    return x;
}

static int parse(const char *text)
{
    err[0] = '\0';
    return cfg_parse(fresh(&c), text, strlen(text), err, sizeof err);
}

/* The rule `name` in force, as JSON text (rule_dump), in out. */
static void rule_text(const char *name, char *out, size_t size)
{
    const struct rule *r = rule_set_find(c.rules, name);
    cJSON *j = NULL;
    char *t;

    assert_non_null(r);
    assert_int_equal(rule_dump(r, &j), RULE_OK);
    t = cJSON_PrintUnformatted(j);
    snprintf(out, size, "%s", t);
    cJSON_free(t);
    cJSON_Delete(j);
}

static void expect_rule(const char *name, const char *want)
{
    char got[4096];

    rule_text(name, got, sizeof got);
    assert_string_equal(got, want);
}

static void expect_error(const char *text, const char *msg)
{
    assert_int_equal(parse(text), CFG_EINVAL);
    assert_string_equal(err, msg);
}

static int release(void **state)
{
    (void)state;
    cfg_release(&c);
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse("{}"), CFG_OK);
    assert_string_equal(c.instance, "toolwatch");
    assert_int_equal(c.det.allowed_lateness_s, 5);
    assert_int_equal(c.det.max_future_skew_s, 300);
    assert_int_equal(c.det.dedupe_window, 100000);
    assert_int_equal(c.det.max_keys, 10000);
    assert_int_equal(c.det.repeat_interval_s, 3600);
    assert_int_equal(c.det.hold_s, 60);
    /* no rules key: the six default rules */
    assert_non_null(c.rules);
    assert_int_equal(c.rules->n, 6);
    expect_rule("volume",
                "{\"name\":\"volume\",\"kind\":\"count\",\"severity\":"
                "\"warning\",\"match\":{\"completed\":true},\"group_by\":"
                "[\"tool_name\"],\"window_s\":60,\"threshold\":100}");
    expect_rule("payload_size",
                "{\"name\":\"payload_size\",\"kind\":\"max\","
                "\"severity\":\"warning\",\"match\":{\"completed\":true},"
                "\"group_by\":[\"tool_name\"],\"field\":"
                "\"response_payload_size_bytes\",\"threshold\":1000000,"
                "\"window_s\":300}");
    expect_rule("error_rate",
                "{\"name\":\"error_rate\",\"kind\":\"ratio\",\"severity\":"
                "\"error\",\"match\":{\"completed\":true},\"group_by\":"
                "[\"tool_name\"],\"numerator\":{\"error\":true},"
                "\"window_s\":60,\"threshold\":0.2,\"min_count\":10}");
    expect_rule("credential_access",
                "{\"name\":\"credential_access\",\"kind\":\"count\","
                "\"severity\":\"critical\",\"match\":{\"completed\":true,"
                "\"tool_name\":[\"*credential*\",\"*secret*\",\"*password*\","
                "\"*token*\",\"*apikey*\",\"*auth*\"]},\"group_by\":"
                "[\"agent_id\"],\"window_s\":3600,\"threshold\":50}");
    expect_rule("stream_stalled",
                "{\"name\":\"stream_stalled\",\"kind\":\"absence\","
                "\"severity\":\"critical\",\"group_by\":[],"
                "\"threshold\":120}");
}

/* The older detectors.<name> objects set the default rules' keys. */
/* redact: no mode (each field's default: identity keys hash, the
 * summary masks, SPEC section 3's [REDACTED:<kind>]) and every kind by
 * default; mode, fields, kinds and key_env taken; `mode` is the default of
 * the fields `fields` does not name; a wrong mode, field or kind named by
 * its path. */
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_redact(void **state)
{
    struct redact_opts o;
    cJSON *j;
    char *text;

    (void)state;
    assert_int_equal(parse("{}"), CFG_OK);
    assert_int_equal(c.redact.mode, -1);
    assert_int_equal(c.redact.kinds, REDACT_KINDS_ALL);
    assert_string_equal(c.redact.key_env, "");
    assert_int_equal(c.redact.nmeta, 0);
    cfg_redact_opts(&c.redact, &o);
    assert_int_equal(o.mode, REDACT_MODE_MASK);
    for (int f = 0; f < REDACT_F_COUNT; f++)
        assert_int_equal(o.field[f], f == REDACT_F_SUMMARY
                                         ? REDACT_MODE_MASK
                                         : REDACT_MODE_HASH);
    assert_int_equal(redact_field_mode(&o, "agent_id"), REDACT_MODE_HASH);
    assert_int_equal(redact_field_mode(&o, "metadata.team"),
                     REDACT_MODE_HASH);
    assert_int_equal(redact_field_mode(&o, "summary"), REDACT_MODE_MASK);
    assert_int_equal(redact_field_mode(&o, "rule"), REDACT_MODE_MASK);
    assert_true(redact_opts_need_key(&o));

    assert_int_equal(parse("{\"redact\": {\"mode\": \"hash\", \"kinds\": "
                           "[\"email\", \"card\"], \"key_env\": "
                           "\"TW_REDACT_KEY\"}}"),
                     CFG_OK);
    assert_int_equal(c.redact.mode, REDACT_MODE_HASH);
    assert_int_equal(c.redact.kinds, REDACT_KIND_EMAIL | REDACT_KIND_CARD);
    assert_string_equal(c.redact.key_env, "TW_REDACT_KEY");
    cfg_redact_opts(&c.redact, &o);
    assert_int_equal(o.mode, REDACT_MODE_HASH);
    assert_int_equal(o.field[REDACT_F_SUMMARY], REDACT_MODE_HASH);
    assert_int_equal(o.kinds, REDACT_KIND_EMAIL | REDACT_KIND_CARD);
    /* mode mask: every field masks, as before fields existed */
    assert_int_equal(parse("{\"redact\": {\"mode\": \"mask\"}}"), CFG_OK);
    cfg_redact_opts(&c.redact, &o);
    for (int f = 0; f < REDACT_F_COUNT; f++)
        assert_int_equal(o.field[f], REDACT_MODE_MASK);
    assert_false(redact_opts_need_key(&o));
    assert_int_equal(parse("{\"redact\": {\"mode\": \"off\", \"kinds\": "
                           "[]}}"),
                     CFG_OK);
    assert_int_equal(c.redact.mode, REDACT_MODE_OFF);
    assert_int_equal(c.redact.kinds, 0);

    /* fields over mode over the defaults */
    assert_int_equal(parse("{\"redact\": {\"fields\": {\"session_id\": "
                           "\"off\", \"summary\": \"hash\", \"metadata\": "
                           "\"mask\", \"metadata.team\": \"off\"}}}"),
                     CFG_OK);
    cfg_redact_opts(&c.redact, &o);
    assert_int_equal(o.field[REDACT_F_SESSION_ID], REDACT_MODE_OFF);
    assert_int_equal(o.field[REDACT_F_SUMMARY], REDACT_MODE_HASH);
    assert_int_equal(o.field[REDACT_F_AGENT_ID], REDACT_MODE_HASH);
    assert_int_equal(redact_field_mode(&o, "metadata.team"), REDACT_MODE_OFF);
    assert_int_equal(redact_field_mode(&o, "metadata.owner"),
                     REDACT_MODE_MASK);
    assert_int_equal(parse("{\"redact\": {\"mode\": \"off\", \"fields\": "
                           "{\"agent_id\": \"mask\"}}}"),
                     CFG_OK);
    cfg_redact_opts(&c.redact, &o);
    assert_int_equal(o.field[REDACT_F_AGENT_ID], REDACT_MODE_MASK);
    assert_int_equal(o.field[REDACT_F_TOOL_NAME], REDACT_MODE_OFF);
    assert_int_equal(o.field[REDACT_F_SUMMARY], REDACT_MODE_OFF);
    assert_int_equal(redact_field_mode(&o, "metadata.x"), REDACT_MODE_OFF);
    /* check-config --print: mode when given, every field's mode in force */
    j = cfg_to_json(&c, 0);
    assert_non_null(j);
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "redact"));
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"mode\":\"off\",\"fields\":{\"tool_name\":\"off\","
                        "\"agent_id\":\"mask\",\"session_id\":\"off\","
                        "\"tool_category\":\"off\",\"downstream_system\":"
                        "\"off\",\"error_code\":\"off\",\"record_id\":\"off\","
                        "\"metadata\":\"off\",\"summary\":\"off\"},"
                        "\"kinds\":[\"email\",\"phone\",\"ssn\",\"card\","
                        "\"token\",\"api_key\",\"password\"]}");
    cJSON_free(text);
    cJSON_Delete(j);
    assert_int_equal(parse("{\"redact\": {\"fields\": {\"metadata.team\": "
                           "\"off\"}}}"),
                     CFG_OK);
    j = cfg_to_json(&c, 0);
    assert_non_null(j);
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "redact"));
    assert_non_null(text);
    assert_non_null(strstr(text, "{\"fields\":{\"tool_name\":\"hash\","));
    assert_non_null(strstr(text, "\"metadata\":\"hash\",\"summary\":\"mask\","
                                 "\"metadata.team\":\"off\"},"));
    cJSON_free(text);
    cJSON_Delete(j);

    assert_int_equal(parse("{\"redact\": {\"mode\": \"blur\"}}"),
                     CFG_EINVAL);
    expect_error("{\"redact\": {\"mode\": \"blur\"}}",
                 "redact.mode: expected one of \"mask\" (or \"redact\"), "
                 "\"hash\", \"off\" (or \"keep\"), got \"blur\"");
    /* "keep" is "off": the field is sent as it is */
    assert_int_equal(parse("{\"redact\": {\"fields\": {\"agent_id\": "
                           "\"keep\"}}}"),
                     CFG_OK);
    assert_int_equal(c.redact.fields[REDACT_F_AGENT_ID],
                     REDACT_MODE_OFF);
    /* "redact" is "mask": the field is replaced by its tag */
    assert_int_equal(parse("{\"redact\": {\"fields\": {\"agent_id\": "
                           "\"redact\"}}}"),
                     CFG_OK);
    assert_int_equal(c.redact.fields[REDACT_F_AGENT_ID],
                     REDACT_MODE_MASK);
    expect_error("{\"redact\": {\"fields\": {\"agent_id\": true}}}",
                 "redact.fields.agent_id: expected one of \"mask\" (or "
                 "\"redact\"), \"hash\", \"off\" (or \"keep\"), got true");
    expect_error("{\"redact\": {\"fields\": {\"agnet_id\": \"hash\"}}}",
                 "redact.fields.agnet_id: unknown field; expected one of "
                 "tool_name, agent_id, session_id, tool_category, "
                 "downstream_system, error_code, record_id, metadata, "
                 "metadata.<name>, summary; did you mean agent_id?");
    expect_error("{\"redact\": {\"fields\": {\"error_message\": \"mask\"}}}",
                 "redact.fields.error_message: not a field of the alert "
                 "document (error messages are not sent); expected one of "
                 "tool_name, agent_id, session_id, tool_category, "
                 "downstream_system, error_code, record_id, metadata, "
                 "metadata.<name>, summary");
    expect_error("{\"redact\": {\"fields\": {\"metadata.\": \"mask\"}}}",
                 "redact.fields.metadata.: unknown field; expected one of "
                 "tool_name, agent_id, session_id, tool_category, "
                 "downstream_system, error_code, record_id, metadata, "
                 "metadata.<name>, summary; did you mean metadata?");
    expect_error("{\"redact\": {\"fields\": {\"summary\": \"mask\", "
                 "\"summary\": \"off\"}}}",
                 "redact.fields.summary: duplicate key");
    expect_error("{\"redact\": {\"fields\": [\"agent_id\"]}}",
                 "redact.fields: expected an object of field names and "
                 "modes (\"agent_id\": \"hash\"), got [\"agent_id\"]");
    expect_error("{\"redact\": {\"fields\": {\"metadata.a\": \"off\", "
                 "\"metadata.b\": \"off\", \"metadata.c\": \"off\", "
                 "\"metadata.d\": \"off\", \"metadata.e\": \"off\", "
                 "\"metadata.f\": \"off\", \"metadata.g\": \"off\", "
                 "\"metadata.h\": \"off\", \"metadata.i\": \"off\"}}}",
                 "redact.fields.metadata.i: at most 8 metadata members have "
                 "a mode of their own");
    expect_error("{\"redact\": {\"fields\": {\"metadata." A64 "\": \"off\"}}}",
                 "redact.fields.metadata." A64 ": a metadata member's name "
                 "has at most 63 bytes");
    expect_error("{\"redact\": {\"kinds\": [\"email\", \"iban\"]}}",
                 "redact.kinds[1]: expected one of \"email\", \"phone\", "
                 "\"ssn\", \"card\", \"token\", \"api_key\", "
                 "\"password\", got \"iban\"");
    expect_error("{\"redact\": {\"kinds\": \"email\"}}",
                 "redact.kinds: expected an array of kinds (\"email\", "
                 "\"phone\", \"ssn\", \"card\", \"token\", \"api_key\", "
                 "\"password\"), got \"email\"");
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
              "   \"latency\": {\"group_by\": \"global\"},\n"
              "   \"credential_access\": {\"keywords\": [\"Vault\", \"KMS\"],"
              "                         \"severity\": \"info\"},\n"
              "   \"stream_stalled\": {\"threshold\": 30}}}"),
        CFG_OK);
    assert_string_equal(c.instance, "prod-eu");
    assert_int_equal(c.det.max_keys, 500);
    assert_int_equal(c.det.hold_s, 0);
    assert_int_equal(c.rules->n, 5); /* error_rate dropped */
    assert_null(rule_set_find(c.rules, "error_rate"));
    expect_rule("volume",
                "{\"name\":\"volume\",\"kind\":\"count\",\"severity\":"
                "\"warning\",\"match\":{\"completed\":true},\"group_by\":"
                "[\"session_id\"],\"window_s\":30,\"threshold\":250,"
                "\"clear_threshold\":200}");
    expect_rule("latency",
                "{\"name\":\"latency\",\"kind\":\"max\",\"severity\":"
                "\"warning\",\"match\":{\"completed\":true},\"group_by\":"
                "[],\"field\":\"execution_duration_ms\",\"threshold\":5000,"
                "\"window_s\":300}");
    /* keywords, lower-cased, become tool_name globs */
    expect_rule("credential_access",
                "{\"name\":\"credential_access\",\"kind\":\"count\","
                "\"severity\":\"info\",\"match\":{\"completed\":true,"
                "\"tool_name\":[\"*vault*\",\"*kms*\"]},\"group_by\":"
                "[\"agent_id\"],\"window_s\":3600,\"threshold\":50}");
    expect_rule("stream_stalled",
                "{\"name\":\"stream_stalled\",\"kind\":\"absence\","
                "\"severity\":\"critical\",\"group_by\":[],"
                "\"threshold\":30}");
}

/* A `rules` list replaces the default rules; it cannot be mixed with the
 * older per-detector objects; its errors name their paths. */
static void test_rules(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{\"detectors\": {\"hold_s\": 5},"
              " \"rules\": [{\"name\": \"db\", \"kind\": \"count\","
              " \"severity\": \"warning\", \"group_by\": [\"tool_name\"],"
              " \"window_s\": 60, \"threshold\": 10,"
              " \"labels\": {\"team\": \"data\"}}]}"),
        CFG_OK);
    assert_int_equal(c.rules->n, 1);
    assert_int_equal(c.det.hold_s, 5);
    expect_rule("db",
                "{\"name\":\"db\",\"kind\":\"count\",\"severity\":"
                "\"warning\",\"labels\":{\"team\":\"data\"},\"group_by\":"
                "[\"tool_name\"],\"window_s\":60,\"threshold\":10}");
    /* an empty list: no rules at all */
    assert_int_equal(parse("{\"rules\": []}"), CFG_OK);
    assert_int_equal(c.rules->n, 0);
    expect_error("{\"rules\": [{\"name\": \"x\", \"kind\": \"cout\"}]}",
                 "rules[0].kind: unknown kind \"cout\"; did you mean count?");
    expect_error("{\"rules\": [], \"detectors\": {\"volume\": "
                 "{\"threshold\": 5}}}",
                 "detectors.volume: a per-detector object cannot be used "
                 "with a `rules` list; put its settings in the rule named "
                 "volume (or remove the `rules` list)");
    expect_error("{\"rules\": {}}",
                 "rules: expected a list of at most 256 rules, got {}");
    /* a refused file leaves no rules behind */
    assert_null(c.rules);
    /* a rule whose groups at their most could not be held: refused at
     * load with its name, not when the service starts (2^31 values is a
     * value pool's most; 10^5 groups x 10^5 values is more) */
    expect_error("{\"rules\": [{\"name\": \"ok\", \"kind\": \"count\", "
                 "\"severity\": \"info\", \"window_s\": 60, "
                 "\"threshold\": 5}, {\"name\": \"nv\", \"kind\": "
                 "\"new_value\", \"severity\": \"info\", \"group_by\": "
                 "[\"agent_id\"], \"field\": \"tool_name\", \"learn_s\": 10, "
                 "\"max_values\": 100000, \"max_keys\": 100000}]}",
                 "rules[1] (nv): cannot be set up: room for 100000 groups at "
                 "their most (max_keys) takes more than this machine or a "
                 "new_value rule can reserve; lower max_keys or max_values");
    assert_int_equal(parse("{\"rules\": [{\"name\": \"nv\", \"kind\": "
                           "\"new_value\", \"severity\": \"info\", "
                           "\"group_by\": [\"agent_id\"], \"field\": "
                           "\"tool_name\", \"learn_s\": 10, \"max_values\": "
                           "100000, \"max_keys\": 20000}]}"),
                     CFG_OK);
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
                 "detectors.volumes: unknown key (not an engine setting; "
                 "the older per-detector objects are volume, payload_size, "
                 "latency, error_rate, credential_access and "
                 "stream_stalled; rules go in the `rules` list)");
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
    assert_int_equal(cfg_load(fresh(&c), "/nonexistent/tw.json", err, sizeof err),
                     CFG_EIO);
    assert_string_equal(err, "/nonexistent/tw.json: No such file or "
                             "directory");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"hold_s\": 1}", 13), 13);
    close(fd);
    assert_int_equal(cfg_load(fresh(&c), path, err, sizeof err), CFG_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s: hold_s: unknown key", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_string_equal(cfg_strerror(CFG_EINVAL), "invalid configuration");
}


/* ---- the text itself: one document, no U+0000, UTF-8 only ---- */

static int parse_n(const char *text, size_t len)
{
    err[0] = '\0';
    return cfg_parse(fresh(&c), text, len, err, sizeof err);
}

static void test_strict_text(void **state)
{
    static const char raw_nul[] = "{\"instance\": \"ab\0cd\"}";
    char path[] = "/tmp/tw_cfg_XXXXXX", want[256];
    int fd;

    (void)state;
    /* a second document, or garbage, after the first */
    assert_int_equal(parse("{\"sinks\": []} {\"sinks\": [{\"type\": "
                           "\"stdout\"}]}"),
                     CFG_ESYNTAX);
    assert_string_equal(err, "not valid JSON near line 1, column 15: text "
                             "after the end of the document (one JSON "
                             "object per file)");
    assert_int_equal(parse("{}\n}"), CFG_ESYNTAX);
    assert_string_equal(err, "not valid JSON near line 2, column 1: text "
                             "after the end of the document (one JSON "
                             "object per file)");
    assert_int_equal(parse("{}x"), CFG_ESYNTAX);
    /* a NUL byte after the document is text too (the length is the file's) */
    assert_int_equal(parse_n("{}\0", 3), CFG_ESYNTAX);
    /* whitespace after it is fine, a BOM before it too */
    assert_int_equal(parse("{}\n \t\r\n"), CFG_OK);
    assert_int_equal(parse("\xef\xbb\xbf{\"instance\": \"x\"}\n"), CFG_OK);
    assert_string_equal(c.instance, "x");
    /* control characters between tokens (cJSON skips them) */
    assert_int_equal(parse("{\"instance\":\x01\"x\"}"), CFG_ESYNTAX);
    assert_string_equal(err, "not valid JSON near line 1, column 13: a "
                             "control character outside a string");

    /* U+0000 would cut the string (or key) short */
    expect_error("{\"instance\": \"ab\\u0000cd\"}",
                 "instance: expected a string without U+0000 (\\u0000), got "
                 "one at byte 2");
    expect_error("{\"stream\": {\"headers\": {\"X-A\": \"v\", \"X-B\": "
                 "\"\\u0000\"}}}",
                 "stream.headers.X-B: expected a string without U+0000 "
                 "(\\u0000), got one at byte 0");
    expect_error("{\"stream\": {\"url\\u0000x\": \"http://h/\"}}",
                 "stream.url: expected a key without U+0000 (\\u0000), got "
                 "one at byte 3");
    expect_error("{\"sinks\": [{\"type\": \"stdout\", \"rules\": [\"a\", "
                 "\"b\\u0000\"]}]}",
                 "sinks[0].rules[1]: expected a string without U+0000 "
                 "(\\u0000), got one at byte 1");
    assert_int_equal(parse_n(raw_nul, sizeof raw_nul - 1), CFG_EINVAL);
    assert_string_equal(err, "instance: expected a string without U+0000 "
                             "(\\u0000), got one at byte 2");
    /* an escaped backslash before u0000 is text, not an escape */
    assert_int_equal(parse("{\"instance\": \"a\\\\u0000\"}"), CFG_OK);
    assert_string_equal(c.instance, "a\\u0000");

    /* bytes that are not UTF-8: never quoted (the text may be a secret) */
    expect_error("{\"instance\": \"ab\xff\xfe\"}",
                 "instance: expected UTF-8 text, got the byte 0xff at byte "
                 "2, which is not UTF-8");
    expect_error("{\"instance\": \"\xed\xa0\x80\"}", /* a surrogate */
                 "instance: expected UTF-8 text, got the byte 0xed at byte "
                 "0, which is not UTF-8");
    expect_error("{\"instance\": \"\xc0\xaf\"}", /* overlong */
                 "instance: expected UTF-8 text, got the byte 0xc0 at byte "
                 "0, which is not UTF-8");
    expect_error("{\"stream\": {\"u\xffrl\": \"http://h/\"}}",
                 "stream.u: expected a key of UTF-8 text, got the byte 0xff "
                 "at byte 1, which is not UTF-8");
    expect_error("{\"rules\": [{\"name\": \"a\", \"kind\": \"count\", "
                 "\"match\": {\"tool_name\": [\"x\", \"db\xfe\"]}}]}",
                 "rules[0].match.tool_name[1]: expected UTF-8 text, got the "
                 "byte 0xfe at byte 2, which is not UTF-8");
    /* the first problem in the text is the one reported */
    expect_error("{\"instance\": \"\\u0000\xff\", \"state_dir\": \"\xff\"}",
                 "instance: expected a string without U+0000 (\\u0000), got "
                 "one at byte 0");
    /* valid UTF-8 is kept as it is */
    assert_int_equal(parse("{\"instance\": \"caf\xc3\xa9 \xe2\x9c\x93 "
                           "\xf0\x9f\x90\xa7\"}"),
                     CFG_OK);
    assert_string_equal(c.instance, "caf\xc3\xa9 \xe2\x9c\x93 "
                                    "\xf0\x9f\x90\xa7");

    /* a file: the message names it */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{} {}", 5), 5);
    close(fd);
    assert_int_equal(cfg_load(fresh(&c), path, err, sizeof err),
                     CFG_ESYNTAX);
    snprintf(want, sizeof want, "%s: not valid JSON near line 1, column 4: "
             "text after the end of the document (one JSON object per "
             "file)", path);
    assert_string_equal(err, want);
    unlink(path);
}

/* Overrides are read as strictly as the file. */
static void test_strict_overrides(void **state)
{
    const char *nul[] = {"TOOLWATCH_INSTANCE=\"a\\u0000b\"", NULL};
    const char *bad[] = {"TOOLWATCH_INSTANCE=x\xff", NULL};
    const char *quoted_bad[] = {"TOOLWATCH_INSTANCE=\"x\xfe\"", NULL};
    const char *ok[] = {"TOOLWATCH_INSTANCE=caf\xc3\xa9",
                        "TOOLWATCH_ALLOW_CORE_DUMPS=1", NULL};

    (void)state;
    assert_int_equal(cfg_parse_env(fresh(&c), "{}", 2, (char *const *)nul,
                                   err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "TOOLWATCH_INSTANCE: instance: expected a "
                             "string without U+0000 (\\u0000), got one at "
                             "byte 1");
    assert_int_equal(cfg_parse_env(fresh(&c), "{}", 2, (char *const *)bad,
                                   err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "TOOLWATCH_INSTANCE: instance: expected UTF-8 "
                             "text, got the byte 0xff at byte 1, which is "
                             "not UTF-8");
    assert_int_equal(cfg_parse_env(fresh(&c), "{}", 2,
                                   (char *const *)quoted_bad, err,
                                   sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "TOOLWATCH_INSTANCE: instance: expected UTF-8 "
                             "text, got the byte 0xfe at byte 1, which is "
                             "not UTF-8");
    /* TOOLWATCH_ALLOW_CORE_DUMPS is not an override (app/cli.h) */
    assert_int_equal(cfg_parse_env(fresh(&c), "{}", 2, (char *const *)ok,
                                   err, sizeof err),
                     CFG_OK);
    assert_string_equal(c.instance, "caf\xc3\xa9");
}

/* ---- the sections added for the service ---- */

static int parse_env(const char *text, char *const *envp)
{
    err[0] = '\0';
    return cfg_parse_env(fresh(&c), text, strlen(text), envp, err, sizeof err);
}

static void expect_env_error(const char *text, char *const *envp,
                             const char *msg)
{
    assert_int_equal(parse_env(text, envp), CFG_EINVAL);
    assert_string_equal(err, msg);
}

/* An environment for the tests: string literals are const here
 * (-Wwrite-strings); the loader only reads them. */
#define ENVP(a) ((char *const *)(a))

/* A minimal sink list around one sink object's members. */
#define SINK(members) "{\"sinks\": [{" members "}]}"

static void test_service_defaults(void **state)
{
    struct stream_config sc, want;

    (void)state;
    assert_int_equal(parse("{}"), CFG_OK);
    assert_string_equal(c.state_dir, "./state");
    assert_string_equal(c.stream.url, "");
    assert_string_equal(c.stream.api_key_env, "");
    assert_int_equal(c.stream.n_headers, 0);
    assert_string_equal(c.stream.ca_file, "");
    assert_int_equal(c.stream.stall_timeout_s, 45);
    assert_int_equal(c.stream.retry_base_ms, 500);
    assert_int_equal(c.stream.retry_max_ms, 30000);
    assert_int_equal(c.stream.connect_timeout_s, 10);
    assert_int_equal(c.stream.max_event_bytes, 1048576);
    assert_int_equal(c.stream.max_lag_s, 300);
    assert_true(c.status.enabled);
    assert_string_equal(c.status.listen, "127.0.0.1");
    assert_int_equal(c.status.port, 9464);
    assert_string_equal(c.status.token_env, "");
    assert_int_equal(c.n_sinks, 0);
    /* {} is enough for replay, not for the service */
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "stream.url: not set: the URL of the audit "
                             "stream is required to run (in the file, or "
                             "TOOLWATCH_STREAM__URL)");

    /* a URL is a complete configuration; the defaults agree with the
     * stream module's own */
    assert_int_equal(parse("{\"stream\": {\"url\": \"http://h/s\"}}"), CFG_OK);
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err), CFG_OK);
    stream_config_defaults(&want);
    assert_string_equal(sc.url, "http://h/s");
    assert_ptr_equal(sc.url, c.stream.url);
    assert_null(sc.api_key);
    assert_null(sc.api_key_env);
    assert_null(sc.ca_file);
    assert_string_equal(sc.state_dir, "./state");
    assert_null(sc.last_event_id);
    assert_int_equal(sc.n_headers, 0);
    assert_int_equal(sc.stall_timeout_ms, want.stall_timeout_ms);
    assert_int_equal(sc.retry_base_ms, want.retry_base_ms);
    assert_int_equal(sc.retry_max_ms, want.retry_max_ms);
    assert_int_equal(sc.connect_timeout_ms, want.connect_timeout_ms);
    assert_int_equal(sc.max_event_bytes, want.max_event_bytes);
    assert_int_equal(sc.once, 0);
}

static void test_stream_section(void **state)
{
    struct stream_config sc;

    (void)state;
    assert_int_equal(
        parse("{\"state_dir\": \"/var/lib/tw\",\n"
              " \"stream\": {\"url\": \"HTTPS://audit.example.com:8443/v1\","
              "  \"api_key_env\": \"TW_T_NOT_SET_1\","
              "  \"headers\": {\"X-Tenant\": \"acme\","
              "   \"X-Trace\": \"a\\tb\"},"
              "  \"ca_file\": \"/etc/ca.pem\", \"stall_timeout_s\": 1,"
              "  \"retry_base_ms\": 100, \"retry_max_ms\": 100,"
              "  \"connect_timeout_s\": 600, \"max_event_bytes\": 1024,"
              "  \"max_lag_s\": 3600}}"),
        CFG_OK);
    assert_string_equal(c.state_dir, "/var/lib/tw");
    assert_string_equal(c.stream.url, "HTTPS://audit.example.com:8443/v1");
    assert_string_equal(c.stream.api_key_env, "TW_T_NOT_SET_1");
    assert_int_equal(c.stream.n_headers, 2);
    assert_string_equal(c.stream.headers[0], "X-Tenant: acme");
    assert_string_equal(c.stream.headers[1], "X-Trace: a\tb");
    assert_string_equal(c.stream.ca_file, "/etc/ca.pem");
    assert_int_equal(c.stream.stall_timeout_s, 1);
    assert_int_equal(c.stream.retry_base_ms, 100);
    assert_int_equal(c.stream.retry_max_ms, 100);
    assert_int_equal(c.stream.connect_timeout_s, 600);
    assert_int_equal(c.stream.max_event_bytes, 1024);
    assert_int_equal(c.stream.max_lag_s, 3600);

    /* the key's variable is read when the stream config is made */
    unsetenv("TW_T_NOT_SET_1");
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "stream.api_key_env: the environment variable "
                             "TW_T_NOT_SET_1 is not set");
    setenv("TW_T_NOT_SET_1", "", 1);
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "stream.api_key_env: the environment variable "
                             "TW_T_NOT_SET_1 is empty");
    setenv("TW_T_NOT_SET_1", "sk-stream-key", 1);
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err), CFG_OK);
    assert_string_equal(sc.api_key, "sk-stream-key");
    assert_string_equal(sc.api_key_env, "TW_T_NOT_SET_1");
    assert_int_equal(sc.n_headers, 2);
    assert_ptr_equal(sc.headers[0], c.stream.headers[0]);
    assert_string_equal(sc.ca_file, "/etc/ca.pem");
    assert_string_equal(sc.state_dir, "/var/lib/tw");
    assert_int_equal(sc.stall_timeout_ms, 1000);
    assert_int_equal(sc.connect_timeout_ms, 600000);
    assert_int_equal(sc.max_event_bytes, 1024);
    unsetenv("TW_T_NOT_SET_1");

    expect_error("{\"state_dir\": \"\"}",
                 "state_dir: expected a non-empty string of at most 1023 "
                 "bytes, got \"\"");
    expect_error("{\"state_dir\": 5}",
                 "state_dir: expected a non-empty string of at most 1023 "
                 "bytes, got 5");
    expect_error("{\"stream\": \"http://x\"}",
                 "stream: expected an object, got \"http://x\"");
    expect_error("{\"stream\": {\"url\": \"ftp://x/y\"}}",
                 "stream.url: expected an http:// or https:// URL with a "
                 "host, got \"ftp://x/y\"");
    expect_error("{\"stream\": {\"url\": \"https:///path\"}}",
                 "stream.url: expected an http:// or https:// URL with a "
                 "host, got \"https:///path\"");
    expect_error("{\"stream\": {\"url\": \"http://a b/\"}}",
                 "stream.url: expected a URL without spaces or control "
                 "characters, got \"http://a b/\"");
    expect_error("{\"stream\": {\"url\": 80}}",
                 "stream.url: expected a non-empty string of at most 2047 "
                 "bytes, got 80");
    /* a pasted key is not quoted */
    expect_error("{\"stream\": {\"api_key_env\": \"sk-live-0123456789\"}}",
                 "stream.api_key_env: expected the name of an environment "
                 "variable (letters, digits and _, not starting with a "
                 "digit, at most 127 bytes); the value is not shown, in "
                 "case it is a secret");
    expect_error("{\"stream\": {\"api_key_env\": \"9LIVES\"}}",
                 "stream.api_key_env: expected the name of an environment "
                 "variable (letters, digits and _, not starting with a "
                 "digit, at most 127 bytes); the value is not shown, in "
                 "case it is a secret");
    expect_error("{\"stream\": {\"ca_file\": true}}",
                 "stream.ca_file: expected a non-empty string of at most "
                 "1023 bytes, got true");
    expect_error("{\"stream\": {\"stall_timeout_s\": 0}}",
                 "stream.stall_timeout_s: expected an integer between 1 and "
                 "3600, got 0");
    expect_error("{\"stream\": {\"stall_timeout_s\": \"45\"}}",
                 "stream.stall_timeout_s: expected an integer between 1 and "
                 "3600, got \"45\"");
    expect_error("{\"stream\": {\"retry_base_ms\": 0}}",
                 "stream.retry_base_ms: expected an integer between 1 and "
                 "3600000, got 0");
    expect_error("{\"stream\": {\"retry_max_ms\": 86400001}}",
                 "stream.retry_max_ms: expected an integer between 1 and "
                 "86400000, got 86400001");
    expect_error("{\"stream\": {\"retry_max_ms\": 100}}",
                 "stream.retry_max_ms: expected at least "
                 "stream.retry_base_ms (500), got 100");
    expect_error("{\"stream\": {\"connect_timeout_s\": 601}}",
                 "stream.connect_timeout_s: expected an integer between 1 "
                 "and 600, got 601");
    expect_error("{\"stream\": {\"max_event_bytes\": 1023}}",
                 "stream.max_event_bytes: expected an integer between 1024 "
                 "and 67108864, got 1023");
    expect_error("{\"stream\": {\"max_event_bytes\": 67108865}}",
                 "stream.max_event_bytes: expected an integer between 1024 "
                 "and 67108864, got 67108865");
    expect_error("{\"stream\": {\"urll\": \"http://x\"}}",
                 "stream.urll: unknown key");
    expect_error("{\"stream\": {\"max_lag_s\": 0}}",
                 "stream.max_lag_s: expected an integer between 1 and "
                 "604800, got 0");
    expect_error("{\"stream\": {\"max_lag\": 300}}",
                 "stream.max_lag: unknown key");
    expect_error("{\"stream\": {\"url\": \"http://x\", "
                 "\"url\": \"http://y\"}}",
                 "stream.url: duplicate key");
}

static void test_stream_headers(void **state)
{
    char text[4096];
    size_t n;

    (void)state;
    expect_error("{\"stream\": {\"headers\": [\"X-A: b\"]}}",
                 "stream.headers: expected an object of header names and "
                 "values, got [\"X-A: b\"]");
    expect_error("{\"stream\": {\"headers\": {\"X A\": \"b\"}}}",
                 "stream.headers.X A: not a valid header name (letters, "
                 "digits and !#$%&'*+-.^_`|~ only)");
    expect_error("{\"stream\": {\"headers\": {\"X-A:\": \"b\"}}}",
                 "stream.headers.X-A:: not a valid header name (letters, "
                 "digits and !#$%&'*+-.^_`|~ only)");
    expect_error("{\"stream\": {\"headers\": {\"X-A\": \"b\\r\\nX-B: c\"}}}",
                 "stream.headers.X-A: expected a value without control "
                 "characters (CR, LF, ...)");
    expect_error("{\"stream\": {\"headers\": {\"X-A\": \"b\\n\"}}}",
                 "stream.headers.X-A: expected a value without control "
                 "characters (CR, LF, ...)");
    expect_error("{\"stream\": {\"headers\": {\"X-A\": 1}}}",
                 "stream.headers.X-A: expected a non-empty string, got 1");
    expect_error("{\"stream\": {\"headers\": {\"X-A\": \"\"}}}",
                 "stream.headers.X-A: expected a non-empty string, got \"\"");
    expect_error("{\"stream\": {\"headers\": {\"X-A\": \"1\", "
                 "\"x-a\": \"2\"}}}",
                 "stream.headers.x-a: duplicate header (also "
                 "stream.headers.X-A)");
    expect_error("{\"stream\": {\"headers\": {\"authorization\": \"Bearer "
                 "abc\"}}}",
                 "stream.headers.authorization: secrets are not accepted in "
                 "the file; set stream.api_key_env to the name of an "
                 "environment variable");
    expect_error("{\"stream\": {\"headers\": {\"Last-Event-ID\": \"7\"}}}",
                 "stream.headers.Last-Event-ID: set by toolwatch itself; not "
                 "configurable");
    expect_error("{\"stream\": {\"headers\": {\"Accept\": \"*/*\"}}}",
                 "stream.headers.Accept: set by toolwatch itself; not "
                 "configurable");
    /* 32 headers fit, 33 do not */
    n = (size_t)snprintf(text, sizeof text, "{\"stream\": {\"headers\": {");
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"H%d\": \"v\"",
                              i ? ", " : "", i);
    snprintf(text + n, sizeof text - n, "}}}");
    expect_error(text, "stream.headers: expected at most 32 headers, got 33");
    n = (size_t)snprintf(text, sizeof text, "{\"stream\": {\"headers\": {");
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"H%d\": \"v\"",
                              i ? ", " : "", i);
    snprintf(text + n, sizeof text - n, "}}}");
    assert_int_equal(parse(text), CFG_OK);
    assert_int_equal(c.stream.n_headers, 32);
    assert_string_equal(c.stream.headers[31], "H31: v");
    /* name and value together fit in CFG_HEADER_MAX - 1 */
    n = (size_t)snprintf(text, sizeof text,
                         "{\"stream\": {\"headers\": {\"X\": \"");
    for (int i = 0; i < 1021; i++)
        text[n++] = 'v';
    snprintf(text + n, sizeof text - n, "\"}}}");
    expect_error(text, "stream.headers.X: expected at most 1023 bytes for "
                       "the name, \": \" and the value, got 1024");
}

/* A stream section around a headers_env object's members. */
#define HENV(members) "{\"stream\": {\"headers_env\": {" members "}}}"

/* The message for a value of headers_env that is no variable name. */
#define HENV_NOT_A_NAME(path)                                              \
    path ": expected the name of an environment variable (letters, "      \
         "digits and _, not starting with a digit, at most 127 bytes); "   \
         "the value is not shown, in case it is a secret"

static void test_stream_headers_env(void **state)
{
    struct stream_config sc;
    char text[16384], name[300];
    size_t n;

    (void)state;
    /* the effective header list: literal headers, then the secret ones in
     * file order, each value read from its variable now */
    assert_int_equal(
        parse("{\"stream\": {\"url\": \"http://h/s\","
              " \"headers\": {\"X-Tenant\": \"acme\"},"
              " \"headers_env\": {\"X-Api-Key\": \"TW_T_HDR_KEY\","
              "  \"X-Auth-Token\": \"TW_T_HDR_TOKEN\"}}}"),
        CFG_OK);
    assert_int_equal(c.stream.n_headers, 1);
    assert_int_equal(c.stream.n_headers_env, 2);
    assert_string_equal(c.stream.headers_env[0].name, "X-Api-Key");
    assert_string_equal(c.stream.headers_env[0].env, "TW_T_HDR_KEY");
    assert_string_equal(c.stream.headers_env[1].name, "X-Auth-Token");
    assert_string_equal(c.stream.headers_env[1].env, "TW_T_HDR_TOKEN");
    setenv("TW_T_HDR_KEY", "k-SECRET-1\twith a tab", 1);
    setenv("TW_T_HDR_TOKEN", "t-SECRET-2", 1);
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err), CFG_OK);
    assert_int_equal(sc.n_headers, 1);
    assert_string_equal(sc.headers[0], "X-Tenant: acme");
    assert_int_equal(sc.n_secret_headers, 2);
    assert_ptr_equal(sc.secret_headers[0].name, c.stream.headers_env[0].name);
    assert_string_equal(sc.secret_headers[0].value, "k-SECRET-1\twith a tab");
    assert_ptr_equal(sc.secret_headers[0].value, getenv("TW_T_HDR_KEY"));
    assert_string_equal(sc.secret_headers[0].env, "TW_T_HDR_KEY");
    assert_string_equal(sc.secret_headers[1].name, "X-Auth-Token");
    assert_string_equal(sc.secret_headers[1].value, "t-SECRET-2");
    assert_string_equal(sc.secret_headers[1].env, "TW_T_HDR_TOKEN");
    assert_null(sc.api_key);

    /* the variables: set, non-empty, one line, bounded; messages name the
     * variable, never the value */
    unsetenv("TW_T_HDR_TOKEN");
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "stream.headers_env.X-Auth-Token: the "
                             "environment variable TW_T_HDR_TOKEN is not "
                             "set");
    setenv("TW_T_HDR_TOKEN", "", 1);
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "stream.headers_env.X-Auth-Token: the "
                             "environment variable TW_T_HDR_TOKEN is empty");
    {
        static const char *const bad[] = {"t-SECRET\r\nX-Evil: 1",
                                          "t-SECRET\n", "\rt-SECRET",
                                          "t-SECRET\x01", "t-SECRET\x7f"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            setenv("TW_T_HDR_TOKEN", bad[i], 1);
            assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                             CFG_EINVAL);
            assert_string_equal(err, "stream.headers_env.X-Auth-Token: the "
                                     "environment variable TW_T_HDR_TOKEN "
                                     "holds a control character (CR, LF, "
                                     "...); a header value must be one "
                                     "line");
        }
    }
    memset(text, 'v', CFG_HEADER_VALUE_MAX + 1);
    text[CFG_HEADER_VALUE_MAX + 1] = '\0';
    setenv("TW_T_HDR_TOKEN", text, 1);
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "stream.headers_env.X-Auth-Token: the "
                             "environment variable TW_T_HDR_TOKEN holds "
                             "more than 8192 bytes");
    assert_null(strstr(err, "SECRET"));
    text[CFG_HEADER_VALUE_MAX] = '\0';
    setenv("TW_T_HDR_TOKEN", text, 1);
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err), CFG_OK);
    assert_int_equal(strlen(sc.secret_headers[1].value),
                     CFG_HEADER_VALUE_MAX);
    unsetenv("TW_T_HDR_KEY");
    unsetenv("TW_T_HDR_TOKEN");

    /* the object and its names, checked like stream.headers */
    expect_error("{\"stream\": {\"headers_env\": \"sk-SECRET-pasted\"}}",
                 "stream.headers_env: expected an object of header names "
                 "and names of environment variables, got a string");
    expect_error("{\"stream\": {\"headers_env\": [\"X-A\"]}}",
                 "stream.headers_env: expected an object of header names "
                 "and names of environment variables, got an array");
    expect_error(HENV("\"X A\": \"V\""),
                 "stream.headers_env.X A: not a valid header name "
                 "(letters, digits and !#$%&'*+-.^_`|~ only)");
    expect_error(HENV("\"X-A:\": \"V\""),
                 "stream.headers_env.X-A:: not a valid header name "
                 "(letters, digits and !#$%&'*+-.^_`|~ only)");
    expect_error(HENV("\"X-A\\r\\nX-B\": \"V\""),
                 "stream.headers_env.X-A\r\nX-B: not a valid header name "
                 "(letters, digits and !#$%&'*+-.^_`|~ only)");
    expect_error(HENV("\"\": \"V\""),
                 "stream.headers_env.: not a valid header name (letters, "
                 "digits and !#$%&'*+-.^_`|~ only)");
    expect_error(HENV("\"X-Key\": \"V1\", \"x-KEY\": \"V2\""),
                 "stream.headers_env.x-KEY: duplicate header (also "
                 "stream.headers_env.X-Key)");
    expect_error(HENV("\"Authorization\": \"V\""),
                 "stream.headers_env.Authorization: not accepted here; set "
                 "stream.api_key_env to the name of the environment "
                 "variable holding the stream's bearer token (sent as "
                 "Authorization: Bearer <token>)");
    expect_error(HENV("\"proxy-authorization\": \"V\""),
                 "stream.headers_env.proxy-authorization: not accepted "
                 "here; set stream.api_key_env to the name of the "
                 "environment variable holding the stream's bearer token "
                 "(sent as Authorization: Bearer <token>)");
    expect_error(HENV("\"Last-Event-ID\": \"V\""),
                 "stream.headers_env.Last-Event-ID: set by toolwatch "
                 "itself; not configurable");
    expect_error(HENV("\"accept\": \"V\""),
                 "stream.headers_env.accept: set by toolwatch itself; not "
                 "configurable");
    /* the variable's name: a pasted secret is not quoted */
    expect_error(HENV("\"X-Api-Key\": \"sk-SECRET-0123456789\""),
                 HENV_NOT_A_NAME("stream.headers_env.X-Api-Key"));
    expect_error(HENV("\"X-Api-Key\": \"V\\r\\nX-Evil: 1\""),
                 HENV_NOT_A_NAME("stream.headers_env.X-Api-Key"));
    expect_error(HENV("\"X-Api-Key\": \"\""),
                 HENV_NOT_A_NAME("stream.headers_env.X-Api-Key"));
    expect_error(HENV("\"X-Api-Key\": 7"),
                 HENV_NOT_A_NAME("stream.headers_env.X-Api-Key"));
    expect_error(HENV("\"X-Api-Key\": {\"v\": \"K\"}"),
                 HENV_NOT_A_NAME("stream.headers_env.X-Api-Key"));
    /* a header in both objects, without regard to case */
    expect_error("{\"stream\": {\"headers\": {\"X-Tenant\": \"acme\"},"
                 " \"headers_env\": {\"x-tenant\": \"V\"}}}",
                 "stream.headers_env.x-tenant: also in stream.headers "
                 "(X-Tenant); give a header in one of them only");
    expect_error("{\"stream\": {\"headers_env\": {\"X-Api-Key\": \"V\"},"
                 " \"headers\": {\"X-API-KEY\": \"literal\"}}}",
                 "stream.headers_env.X-Api-Key: also in stream.headers "
                 "(X-API-KEY); give a header in one of them only");
    /* a name that only starts like a literal header's is another header */
    assert_int_equal(parse("{\"stream\": {\"headers\": {\"X-Tenant-Id\": "
                           "\"1\"}, \"headers_env\": {\"X-Tenant\": "
                           "\"V\"}}}"),
                     CFG_OK);
    /* names that look like secrets are header names here, not literal
     * secrets */
    assert_int_equal(parse(HENV("\"X-Secret-Token\": \"V\", \"api_key\": "
                                "\"W\"")),
                     CFG_OK);
    assert_int_equal(c.stream.n_headers_env, 2);
    /* header names up to 255 bytes */
    memset(name, 'N', 256);
    name[256] = '\0';
    snprintf(text, sizeof text, HENV("\"%s\": \"V\""), name);
    assert_int_equal(parse(text), CFG_EINVAL);
    assert_memory_equal(err, "stream.headers_env.NNNN", 23);
    assert_non_null(strstr(err, "N: expected a header name of at most 255 "
                                "bytes, got 256"));
    name[255] = '\0';
    snprintf(text, sizeof text, HENV("\"%s\": \"V\""), name);
    assert_int_equal(parse(text), CFG_OK);
    assert_int_equal(strlen(c.stream.headers_env[0].name), 255);
    /* 32 headers fit, 33 do not (as for stream.headers) */
    n = (size_t)snprintf(text, sizeof text, "{\"stream\": {\"headers_env\": {");
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"H%d\": \"V%d\"",
                              i ? ", " : "", i, i);
    snprintf(text + n, sizeof text - n, "}}}");
    expect_error(text, "stream.headers_env: expected at most 32 headers, got "
                       "33");
    n = (size_t)snprintf(text, sizeof text, "{\"stream\": {\"url\": "
                         "\"http://h/\", \"headers_env\": {");
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"H%d\": \"V%d\"",
                              i ? ", " : "", i, i);
    snprintf(text + n, sizeof text - n, "}}}");
    assert_int_equal(parse(text), CFG_OK);
    assert_int_equal(c.stream.n_headers_env, 32);
    assert_string_equal(c.stream.headers_env[31].name, "H31");
    assert_string_equal(c.stream.headers_env[31].env, "V31");
    for (int i = 0; i < 32; i++) {
        char var[16];
        snprintf(var, sizeof var, "V%d", i);
        setenv(var, "x", 1);
    }
    assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err), CFG_OK);
    assert_int_equal(sc.n_secret_headers, 32);
    for (int i = 0; i < 32; i++) {
        char var[16];
        snprintf(var, sizeof var, "V%d", i);
        unsetenv(var);
    }
}

/* Overrides reach the variable's name (never a value), and a variable the
 * object names is not taken for an override. */
static void test_headers_env_overrides(void **state)
{
    const char *rename[] = {
        "TOOLWATCH_STREAM__HEADERS_ENV__X_API_KEY=TW_T_OTHER", NULL};
    const char *create[] = {
        "TOOLWATCH_STREAM__HEADERS_ENV__X_API_KEY=TW_T_NEW", NULL};
    const char *named[] = {"TOOLWATCH_HDR_VALUE=k-SECRET-3", NULL};
    const char *pasted[] = {
        "TOOLWATCH_STREAM__HEADERS_ENV__X_API_KEY=sk-SECRET-4", NULL};
    const char *both[] = {"TOOLWATCH_STREAM__HEADERS_ENV__X_TENANT=V", NULL};

    (void)state;
    assert_int_equal(parse_env(HENV("\"X-Api-Key\": \"TW_T_KEY\""),
                               ENVP(rename)),
                     CFG_OK);
    assert_int_equal(c.stream.n_headers_env, 1);
    assert_string_equal(c.stream.headers_env[0].name, "X-Api-Key");
    assert_string_equal(c.stream.headers_env[0].env, "TW_T_OTHER");
    /* missing from the file: created in lower case, like any key */
    assert_int_equal(parse_env("{}", ENVP(create)), CFG_OK);
    assert_int_equal(c.stream.n_headers_env, 1);
    assert_string_equal(c.stream.headers_env[0].name, "x_api_key");
    assert_string_equal(c.stream.headers_env[0].env, "TW_T_NEW");
    /* a TOOLWATCH_ variable the object names holds a value, not an
     * override */
    assert_int_equal(parse_env(HENV("\"X-Api-Key\": \"TOOLWATCH_HDR_VALUE\""),
                               ENVP(named)),
                     CFG_OK);
    assert_string_equal(c.stream.headers_env[0].env, "TOOLWATCH_HDR_VALUE");
    expect_env_error("{}", ENVP(named), "TOOLWATCH_HDR_VALUE: hdr_value: "
                                        "unknown key");
    /* a secret given where the name belongs: blamed, not quoted */
    expect_env_error("{}", ENVP(pasted),
                     "TOOLWATCH_STREAM__HEADERS_ENV__X_API_KEY: "
                     HENV_NOT_A_NAME("stream.headers_env.x_api_key"));
    assert_null(strstr(err, "SECRET"));
    /* the cross check is blamed on the variable too */
    expect_env_error("{\"stream\": {\"headers\": {\"x_tenant\": \"acme\"}}}",
                     ENVP(both),
                     "TOOLWATCH_STREAM__HEADERS_ENV__X_TENANT: "
                     "stream.headers_env.x_tenant: also in stream.headers "
                     "(x_tenant); give a header in one of them only");
}

static void test_status_section(void **state)
{
    const char *token;

    (void)state;
    assert_int_equal(parse("{\"status\": {\"enabled\": false, \"listen\": "
                           "\"0.0.0.0\", \"port\": 0, \"token_env\": "
                           "\"TW_T_STATUS_TOKEN\"}}"),
                     CFG_OK);
    assert_false(c.status.enabled);
    assert_string_equal(c.status.listen, "0.0.0.0");
    assert_int_equal(c.status.port, 0);
    assert_string_equal(c.status.token_env, "TW_T_STATUS_TOKEN");
    unsetenv("TW_T_STATUS_TOKEN");
    assert_int_equal(cfg_status_token(&c, &token, err, sizeof err),
                     CFG_EINVAL);
    assert_null(token);
    assert_string_equal(err, "status.token_env: the environment variable "
                             "TW_T_STATUS_TOKEN is not set");
    setenv("TW_T_STATUS_TOKEN", "st-token", 1);
    assert_int_equal(cfg_status_token(&c, &token, err, sizeof err), CFG_OK);
    assert_string_equal(token, "st-token");
    unsetenv("TW_T_STATUS_TOKEN");
    assert_int_equal(parse("{\"status\": {\"listen\": \"::1\", \"port\": "
                           "65535}}"),
                     CFG_OK);
    assert_string_equal(c.status.listen, "::1");
    assert_int_equal(cfg_status_token(&c, &token, err, sizeof err), CFG_OK);
    assert_null(token);
    assert_string_equal(c.status.public_url, "");
    assert_int_equal(parse("{\"status\": {\"public_url\": "
                           "\"HTTPS://tw.example.com:8443/ops/\"}}"),
                     CFG_OK);
    assert_string_equal(c.status.public_url,
                        "HTTPS://tw.example.com:8443/ops/");
    expect_error("{\"status\": {\"public_url\": \"ftp://tw/\"}}",
                 "status.public_url: expected an http:// or https:// URL "
                 "with a host, got \"ftp://tw/\"");
    expect_error("{\"status\": {\"public_url\": \"http://a b/\"}}",
                 "status.public_url: expected a URL without spaces or "
                 "control characters, got \"http://a b/\"");
    /* it goes out in digests: no credentials in it */
    expect_error("{\"status\": {\"public_url\": "
                 "\"https://u:p@tw.example/\"}}",
                 "status.public_url: a URL with credentials (user:password@) "
                 "is not accepted in the file; name an environment variable "
                 "in the matching *_env key instead (see "
                 "docs/configuration.md)");
    expect_error("{\"status\": {\"public_url\": \"\"}}",
                 "status.public_url: expected a non-empty string of at most "
                 "2047 bytes, got \"\"");

    expect_error("{\"status\": {\"enabled\": \"yes\"}}",
                 "status.enabled: expected true or false, got \"yes\"");
    expect_error("{\"status\": {\"listen\": \"localhost\"}}",
                 "status.listen: expected a numeric IPv4 (or IPv6) address, "
                 "e.g. \"127.0.0.1\", got \"localhost\"");
    expect_error("{\"status\": {\"listen\": \"127.0.0.256\"}}",
                 "status.listen: expected a numeric IPv4 (or IPv6) address, "
                 "e.g. \"127.0.0.1\", got \"127.0.0.256\"");
    expect_error("{\"status\": {\"port\": 65536}}",
                 "status.port: expected an integer between 0 and 65535, got "
                 "65536");
    expect_error("{\"status\": {\"port\": -1}}",
                 "status.port: expected an integer between 0 and 65535, got "
                 "-1");
    expect_error("{\"status\": {\"port\": \"9464\"}}",
                 "status.port: expected an integer between 0 and 65535, got "
                 "\"9464\"");
    expect_error("{\"status\": {\"token_env\": \"\"}}",
                 "status.token_env: expected the name of an environment "
                 "variable (letters, digits and _, not starting with a "
                 "digit, at most 127 bytes); the value is not shown, in "
                 "case it is a secret");
    expect_error("{\"status\": {\"prot\": 1}}", "status.prot: unknown key");
    expect_error("{\"status\": []}", "status: expected an object, got []");
}

/* status.probes_public: true by default, false accepted (also from an
 * override), anything else refused; printed back. */
static void test_status_probes_public(void **state)
{
    const char *const env_off[] = {"TOOLWATCH_STATUS__PROBES_PUBLIC=false", NULL};
    const char *const env_bad[] = {"TOOLWATCH_STATUS__PROBES_PUBLIC=no", NULL};
    cJSON *j, *st;

    (void)state;
    assert_int_equal(parse("{}"), CFG_OK);
    assert_int_equal(c.status.probes_public, 1);
    assert_int_equal(parse("{\"status\": {\"probes_public\": false}}"),
                     CFG_OK);
    assert_int_equal(c.status.probes_public, 0);
    j = cfg_to_json(&c, 0);
    assert_non_null(j);
    st = cJSON_GetObjectItemCaseSensitive(j, "status");
    assert_true(cJSON_IsFalse(
        cJSON_GetObjectItemCaseSensitive(st, "probes_public")));
    cJSON_Delete(j);
    assert_int_equal(parse("{\"status\": {\"probes_public\": true}}"),
                     CFG_OK);
    assert_int_equal(c.status.probes_public, 1);
    expect_error("{\"status\": {\"probes_public\": 0}}",
                 "status.probes_public: expected true or false, got 0");
    expect_error("{\"status\": {\"probes_public\": \"false\"}}",
                 "status.probes_public: expected true or false, got "
                 "\"false\"");
    expect_error("{\"status\": {\"probe_public\": false}}",
                 "status.probe_public: unknown key");
    assert_int_equal(parse_env("{}", ENVP(env_off)), CFG_OK);
    assert_int_equal(c.status.probes_public, 0);
    assert_int_equal(parse_env("{}", ENVP(env_bad)), CFG_EINVAL);
}

static void test_sinks_valid(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{\"sinks\": ["
              "{\"type\": \"webhook\", \"url\": \"https://r.example/h\","
              " \"secret_envs\": [\"WH_A\", \"WH_B\"]},"
              "{\"type\": \"slack\", \"url_env\": \"SLACK_URL\","
              " \"min_severity\": \"warning\"},"
              "{\"name\": \"oncall\", \"type\": \"pagerduty\","
              " \"routing_key_env\": \"PD_KEY\", \"min_severity\": \"error\","
              " \"rules\": [\"error_rate\", \"stream_*\"],"
              " \"labels\": {\"team\": \"secops\", \"env\": \"prod-*\"}},"
              "{\"type\": \"file\", \"path\": \"/tmp/a.ndjson\","
              " \"rate_per_s\": 2.5, \"burst\": 10, \"connect_timeout_s\": 1,"
              " \"timeout_s\": 3600, \"retry_base_ms\": 1,"
              " \"retry_max_ms\": 86400000, \"max_age_s\": 31536000},"
              "{\"name\": \"echo_2-b\", \"type\": \"stdout\"},"
              "{\"name\": \"hook2\", \"type\": \"webhook\", \"url_env\": "
              "\"HOOK2_URL\", \"secret_envs\": [\"WH_C\"]},"
              "{\"name\": \"pd2\", \"type\": \"pagerduty\", \"url\": "
              "\"http://127.0.0.1:9/v2/enqueue\", \"routing_key_env\": "
              "\"PD_KEY\"}]}"),
        CFG_OK);
    assert_int_equal(c.n_sinks, 7);
    /* webhook: defaults, name = type */
    assert_string_equal(c.sinks[0].name, "webhook");
    assert_int_equal(c.sinks[0].type, SINK_WEBHOOK);
    assert_string_equal(c.sinks[0].url, "https://r.example/h");
    assert_int_equal(c.sinks[0].n_secret_envs, 2);
    assert_string_equal(c.sinks[0].secret_envs[1], "WH_B");
    assert_int_equal(c.sinks[0].min_severity, SEVERITY_INFO);
    assert_int_equal(c.sinks[0].n_rules, 0);
    assert_int_equal(c.sinks[0].n_labels, 0);
    assert_true(c.sinks[0].rate_per_s == 0);
    assert_int_equal(c.sinks[0].burst, 1);
    assert_int_equal(c.sinks[0].connect_timeout_s, 5);
    assert_int_equal(c.sinks[0].timeout_s, 15);
    assert_int_equal(c.sinks[0].retry_base_ms, 1000);
    assert_int_equal(c.sinks[0].retry_max_ms, 300000);
    assert_int_equal(c.sinks[0].max_age_s, 86400);
    /* slack: paced by default */
    assert_string_equal(c.sinks[1].name, "slack");
    assert_string_equal(c.sinks[1].url, "");
    assert_string_equal(c.sinks[1].url_env, "SLACK_URL");
    assert_int_equal(c.sinks[1].min_severity, SEVERITY_WARNING);
    assert_true(c.sinks[1].rate_per_s == 1.0);
    assert_int_equal(c.sinks[1].burst, 3);
    /* pagerduty: the public endpoint by default */
    assert_string_equal(c.sinks[2].name, "oncall");
    assert_string_equal(c.sinks[2].url, SINK_PD_DEFAULT_URL);
    assert_string_equal(c.sinks[2].routing_key_env, "PD_KEY");
    assert_int_equal(c.sinks[2].n_rules, 2);
    assert_string_equal(c.sinks[2].rules[1], "stream_*");
    assert_int_equal(c.sinks[2].n_labels, 2);
    assert_string_equal(c.sinks[2].label_names[1], "env");
    assert_string_equal(c.sinks[2].label_values[1], "prod-*");
    /* every number at the end of its range */
    assert_string_equal(c.sinks[3].path, "/tmp/a.ndjson");
    assert_true(c.sinks[3].rate_per_s == 2.5);
    assert_int_equal(c.sinks[3].burst, 10);
    assert_int_equal(c.sinks[3].connect_timeout_s, 1);
    assert_int_equal(c.sinks[3].timeout_s, 3600);
    assert_int_equal(c.sinks[3].retry_base_ms, 1);
    assert_int_equal(c.sinks[3].retry_max_ms, 86400000);
    assert_int_equal(c.sinks[3].max_age_s, 31536000);
    assert_string_equal(c.sinks[4].name, "echo_2-b");
    assert_string_equal(c.sinks[5].url, "");
    assert_string_equal(c.sinks[5].url_env, "HOOK2_URL");
    assert_string_equal(c.sinks[6].url, "http://127.0.0.1:9/v2/enqueue");
    /* the kind names agree with alerts/sink.h */
    for (int k = 0; k < SINK_KIND_COUNT; k++) {
        char text[128];
        snprintf(text, sizeof text,
                 "{\"sinks\": [{\"type\": \"%s\", \"path\": \"/x\", "
                 "\"url_env\": \"U\", \"secret_envs\": [\"S\"], "
                 "\"routing_key_env\": \"R\"}]}",
                 sink_kind_name((enum sink_kind)k));
        parse(text); /* unused keys make it fail; the type is read first */
        assert_int_equal(sink_kind_parse(sink_kind_name(
                             (enum sink_kind)c.sinks[0].type)),
                         k);
    }
    assert_int_equal(parse("{\"sinks\": []}"), CFG_OK);
    assert_int_equal(c.n_sinks, 0);
}

/* check-config prints a sink's rules and labels; detectors, the older
 * name, is read as rules and printed back as rules. */
static void test_sinks_routing_dump(void **state)
{
    cJSON *j;
    char *text;

    (void)state;
    assert_int_equal(
        parse("{\"sinks\": [{\"type\": \"stdout\", \"rules\": "
              "[\"credential_*\", \"exfil?\"], \"labels\": {\"team\": "
              "\"secops\", \"env\": \"prod-*\"}},"
              "{\"name\": \"old\", \"type\": \"stdout\", \"detectors\": "
              "[\"volume\"]}]}"),
        CFG_OK);
    assert_int_equal(c.sinks[1].n_rules, 1);
    assert_string_equal(c.sinks[1].rules[0], "volume");
    j = cfg_to_json(&c, 0);
    assert_non_null(j);
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "sinks"));
    assert_non_null(text);
    assert_non_null(strstr(text, "\"min_severity\":\"info\",\"rules\":["
                                 "\"credential_*\",\"exfil?\"],\"labels\":{"
                                 "\"team\":\"secops\",\"env\":\"prod-*\"},"));
    assert_non_null(strstr(text, "\"name\":\"old\",\"type\":\"stdout\","
                                 "\"min_severity\":\"info\",\"rules\":["
                                 "\"volume\"],\"rate_per_s\""));
    assert_null(strstr(text, "detectors"));
    cJSON_free(text);
    cJSON_Delete(j);
}

static void test_sinks_errors(void **state)
{
    char text[4096];
    size_t n;

    (void)state;
    expect_error("{\"sinks\": {\"type\": \"stdout\"}}",
                 "sinks: expected an array of sink objects, got an object");
    n = (size_t)snprintf(text, sizeof text, "{\"sinks\": [");
    for (int i = 0; i < 17; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"name\": \"s%d\", \"type\": \"stdout\"}",
                              i ? ", " : "", i);
    snprintf(text + n, sizeof text - n, "]}");
    expect_error(text, "sinks: expected at most 16 sinks, got 17");
    expect_error("{\"sinks\": [\"https://hooks.slack.com/services/X\"]}",
                 "sinks[0]: expected an object, got a string");
    expect_error(SINK("\"name\": \"a\""),
                 "sinks[0].type: required: one of \"webhook\", \"slack\", "
                 "\"pagerduty\", \"file\", \"stdout\"");
    expect_error(SINK("\"type\": \"email\""),
                 "sinks[0].type: expected one of \"webhook\", \"slack\", "
                 "\"pagerduty\", \"file\", \"stdout\", \"alertmanager\", got \"email\"");
    expect_error("{\"sinks\": [{\"type\": \"stdout\"}, {\"type\": \"file\", "
                 "\"path\": \"/x\", \"min_severity\": \"urgent\"}]}",
                 "sinks[1].min_severity: expected one of \"info\", "
                 "\"warning\", \"error\", \"critical\", got \"urgent\"");
    expect_error(SINK("\"type\": \"stdout\", \"colour\": \"red\""),
                 "sinks[0].colour: unknown key");
    expect_error(SINK("\"type\": \"stdout\", \"type\": \"stdout\""),
                 "sinks[0].type: duplicate key");
    expect_error("{\"sinks\": [{\"type\": \"stdout\"}, {\"type\": "
                 "\"stdout\"}]}",
                 "sinks[1].name: duplicate sink name \"stdout\" (also "
                 "sinks[0]); give each sink its own name");
    expect_error("{\"sinks\": [{\"name\": \"x\", \"type\": \"stdout\"}, "
                 "{\"name\": \"y\", \"type\": \"stdout\"}, {\"name\": \"x\", "
                 "\"type\": \"file\", \"path\": \"/p\"}]}",
                 "sinks[2].name: duplicate sink name \"x\" (also sinks[0]); "
                 "give each sink its own name");
    expect_error(SINK("\"type\": \"stdout\", \"name\": \"Ops Team\""),
                 "sinks[0].name: expected a name of 1 to 63 characters a-z, "
                 "0-9, _ and -, got \"Ops Team\"");
    expect_error(SINK("\"type\": \"stdout\", \"name\": \"aaaaaaaaaaaaaaaa"
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
                 "sinks[0].name: expected a non-empty string of at most 63 "
                 "bytes, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "...");
    /* type-specific required keys */
    expect_error(SINK("\"type\": \"webhook\", \"secret_envs\": [\"S\"]"),
                 "sinks[0].url_env: required for a webhook sink (or url): "
                 "the receiver's URL");
    expect_error(SINK("\"type\": \"webhook\", \"url\": \"http://r/h\""),
                 "sinks[0].secret_envs: required for a webhook sink: 1 to 4 "
                 "names of environment variables holding whsec_ signing "
                 "secrets");
    expect_error(SINK("\"type\": \"slack\""),
                 "sinks[0].url_env: required for a slack sink: the name of "
                 "the environment variable holding the incoming-webhook "
                 "URL");
    expect_error(SINK("\"type\": \"pagerduty\""),
                 "sinks[0].routing_key_env: required for a pagerduty sink: "
                 "the name of the environment variable holding the "
                 "integration's routing key");
    expect_error(SINK("\"type\": \"file\""),
                 "sinks[0].path: required for a file sink: the file alerts "
                 "are appended to");
    /* keys of another kind */
    expect_error(SINK("\"type\": \"webhook\", \"path\": \"/x\""),
                 "sinks[0].path: not used by a webhook sink");
    expect_error(SINK("\"type\": \"stdout\", \"url_env\": \"U\""),
                 "sinks[0].url_env: not used by a stdout sink");
    expect_error(SINK("\"type\": \"stdout\", \"url\": \"http://x\""),
                 "sinks[0].url: not used by a stdout sink");
    expect_error(SINK("\"type\": \"slack\", \"url_env\": \"U\", "
                      "\"secret_envs\": [\"S\"]"),
                 "sinks[0].secret_envs: not used by a slack sink");
    expect_error(SINK("\"type\": \"file\", \"path\": \"/x\", "
                      "\"routing_key_env\": \"R\""),
                 "sinks[0].routing_key_env: not used by a file sink");
    expect_error(SINK("\"type\": \"webhook\", \"url\": \"http://r/h\", "
                      "\"url_env\": \"U\", \"secret_envs\": [\"S\"]"),
                 "sinks[0].url: set either url or url_env, not both");
    /* a Slack URL is a secret: refused, never quoted */
    expect_error(SINK("\"type\": \"slack\", \"url\": "
                      "\"https://hooks.slack.com/services/T0/B0/XyZsecret\""),
                 "sinks[0].url: a Slack incoming-webhook URL is a secret and "
                 "is not accepted in the file; set sinks[0].url_env to the "
                 "name of an environment variable");
    expect_error(SINK("\"type\": \"webhook\", \"url\": \"mailto:a@b\", "
                      "\"secret_envs\": [\"S\"]"),
                 "sinks[0].url: expected an http:// or https:// URL with a "
                 "host, got \"mailto:a@b\"");
    /* signing secrets */
    expect_error(SINK("\"type\": \"webhook\", \"url\": \"http://r/h\", "
                      "\"secret_envs\": []"),
                 "sinks[0].secret_envs: expected an array of 1 to 4 names of "
                 "environment variables, got 0");
    expect_error(SINK("\"type\": \"webhook\", \"url\": \"http://r/h\", "
                      "\"secret_envs\": [\"A\", \"B\", \"C\", \"D\", \"E\"]"),
                 "sinks[0].secret_envs: expected an array of 1 to 4 names of "
                 "environment variables, got 5");
    expect_error(SINK("\"type\": \"webhook\", \"url\": \"http://r/h\", "
                      "\"secret_envs\": \"whsec_c2VjcmV0c2VjcmV0\""),
                 "sinks[0].secret_envs: expected an array of 1 to 4 names of "
                 "environment variables, got a string");
    expect_error(SINK("\"type\": \"webhook\", \"url\": \"http://r/h\", "
                      "\"secret_envs\": [\"OK\", \"whsec_c2VjcmV0=\"]"),
                 "sinks[0].secret_envs[1]: expected the name of an "
                 "environment variable (letters, digits and _, not starting "
                 "with a digit, at most 127 bytes); the value is not shown, "
                 "in case it is a secret");
    expect_error(SINK("\"type\": \"pagerduty\", \"routing_key_env\": 7"),
                 "sinks[0].routing_key_env: expected the name of an "
                 "environment variable (letters, digits and _, not starting "
                 "with a digit, at most 127 bytes); the value is not shown, "
                 "in case it is a secret");
    /* rules (and detectors, their older name) */
    expect_error(SINK("\"type\": \"stdout\", \"rules\": [\"error rate\"]"),
                 "sinks[0].rules[0]: expected a rule name or glob (letters, "
                 "digits, -, _, * and ?; 1 to 64 bytes), got \"error rate\"");
    expect_error(SINK("\"type\": \"stdout\", \"rules\": [\"volume\", 3]"),
                 "sinks[0].rules[1]: expected a rule name or glob (letters, "
                 "digits, -, _, * and ?; 1 to 64 bytes), got 3");
    expect_error(SINK("\"type\": \"stdout\", \"rules\": [\"\"]"),
                 "sinks[0].rules[0]: expected a rule name or glob (letters, "
                 "digits, -, _, * and ?; 1 to 64 bytes), got \"\"");
    expect_error(SINK("\"type\": \"stdout\", \"rules\": [\"a1234567890123456"
                      "7890123456789012345678901234567890123456789012345\"]"),
                 "sinks[0].rules[0]: expected a rule name or glob (letters, "
                 "digits, -, _, * and ?; 1 to 64 bytes), got "
                 "\"a1234567890123456789012345678901234567890123456...");
    expect_error(SINK("\"type\": \"stdout\", \"rules\": []"),
                 "sinks[0].rules: expected an array of 1 to 32 rule names or "
                 "globs (leave it out for every rule), got []");
    expect_error(SINK("\"type\": \"stdout\", \"rules\": \"volume\""),
                 "sinks[0].rules: expected an array of 1 to 32 rule names or "
                 "globs (leave it out for every rule), got \"volume\"");
    n = (size_t)snprintf(text, sizeof text,
                         "{\"sinks\": [{\"type\": \"stdout\", \"rules\": [");
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"r%d\"",
                              i ? ", " : "", i);
    snprintf(text + n, sizeof text - n, "]}]}");
    expect_error(text, "sinks[0].rules: expected an array of 1 to 32 rule "
                       "names or globs (leave it out for every rule), got "
                       "[\"r0\",\"r1\",\"r2\",\"r3\",\"r4\",\"r5\",\"r6\","
                       "\"r7\",\"r8\",\"r...");
    expect_error(SINK("\"type\": \"stdout\", \"detectors\": [\"vol ume\"]"),
                 "sinks[0].detectors[0]: expected a rule name or glob "
                 "(letters, digits, -, _, * and ?; 1 to 64 bytes), got "
                 "\"vol ume\"");
    expect_error(SINK("\"type\": \"stdout\", \"rules\": [\"volume\"], "
                      "\"detectors\": [\"volume\"]"),
                 "sinks[0].detectors: the older name of sinks[0].rules; set "
                 "one of them");
    /* labels */
    expect_error(SINK("\"type\": \"stdout\", \"labels\": [\"team\"]"),
                 "sinks[0].labels: expected an object of at most 8 labels "
                 "the rule must carry (name -> value or glob), got "
                 "[\"team\"]");
    expect_error(SINK("\"type\": \"stdout\", \"labels\": {\"a\": \"1\", "
                      "\"b\": \"1\", \"c\": \"1\", \"d\": \"1\", \"e\": \"1\", "
                      "\"f\": \"1\", \"g\": \"1\", \"h\": \"1\", \"i\": \"1\"}"),
                 "sinks[0].labels: expected an object of at most 8 labels "
                 "the rule must carry (name -> value or glob), got "
                 "{\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"d\":\"1\",\"e\":\"1\","
                 "\"f\":\"1\"...");
    expect_error(SINK("\"type\": \"stdout\", \"labels\": {\"team\": 1}"),
                 "sinks[0].labels.team: expected a non-empty string of at "
                 "most 255 bytes (a glob: * and ? match), got 1");
    expect_error(SINK("\"type\": \"stdout\", \"labels\": {\"team\": \"\"}"),
                 "sinks[0].labels.team: expected a non-empty string of at "
                 "most 255 bytes (a glob: * and ? match), got \"\"");
    expect_error(SINK("\"type\": \"stdout\", \"labels\": {\"te am\": \"x\"}"),
                 "sinks[0].labels.te am: expected a label name of letters, "
                 "digits, _, - and . (1 to 63 bytes)");
    expect_error(SINK("\"type\": \"stdout\", \"labels\": {\"team\": \"x\", "
                      "\"team\": \"y\"}"),
                 "sinks[0].labels.team: duplicate key");
    /* numbers */
    expect_error(SINK("\"type\": \"stdout\", \"rate_per_s\": -1"),
                 "sinks[0].rate_per_s: expected a number between 0 and 1000, "
                 "got -1");
    expect_error(SINK("\"type\": \"stdout\", \"rate_per_s\": \"1/s\""),
                 "sinks[0].rate_per_s: expected a number between 0 and 1000, "
                 "got \"1/s\"");
    expect_error(SINK("\"type\": \"stdout\", \"burst\": 0"),
                 "sinks[0].burst: expected an integer between 1 and 10000, "
                 "got 0");
    expect_error(SINK("\"type\": \"stdout\", \"connect_timeout_s\": 601"),
                 "sinks[0].connect_timeout_s: expected an integer between 1 "
                 "and 600, got 601");
    expect_error(SINK("\"type\": \"stdout\", \"timeout_s\": 0"),
                 "sinks[0].timeout_s: expected an integer between 1 and "
                 "3600, got 0");
    expect_error(SINK("\"type\": \"stdout\", \"retry_base_ms\": 2.5"),
                 "sinks[0].retry_base_ms: expected an integer between 1 and "
                 "3600000, got 2.5");
    expect_error(SINK("\"type\": \"stdout\", \"retry_max_ms\": 500"),
                 "sinks[0].retry_max_ms: expected at least retry_base_ms "
                 "(1000), got 500");
    expect_error(SINK("\"type\": \"stdout\", \"max_age_s\": 0"),
                 "sinks[0].max_age_s: expected an integer between 1 and "
                 "31536000, got 0");
    expect_error(SINK("\"type\": \"stdout\", \"min_severity\": 2"),
                 "sinks[0].min_severity: expected one of \"info\", "
                 "\"warning\", \"error\", \"critical\", got 2");
}

static void test_literal_secrets(void **state)
{
    (void)state;
    expect_error("{\"stream\": {\"url\": \"http://x\", \"api_key\": "
                 "\"sk-live-0123\"}}",
                 "stream.api_key: secrets are not accepted in the file; set "
                 "stream.api_key_env to the name of an environment "
                 "variable");
    assert_null(strstr(err, "sk-live"));
    expect_error("{\"stream\": {\"token\": \"abc\"}}",
                 "stream.token: secrets are not accepted in the file; set "
                 "stream.api_key_env to the name of an environment "
                 "variable");
    expect_error("{\"status\": {\"token\": \"abc\"}}",
                 "status.token: secrets are not accepted in the file; set "
                 "status.token_env to the name of an environment variable");
    expect_error(SINK("\"type\": \"webhook\", \"secret\": \"whsec_x\""),
                 "sinks[0].secret: secrets are not accepted in the file; set "
                 "sinks[0].secret_envs to the name of an environment "
                 "variable");
    expect_error(SINK("\"type\": \"pagerduty\", \"routing_key\": \"R0\""),
                 "sinks[0].routing_key: secrets are not accepted in the "
                 "file; set sinks[0].routing_key_env to the name of an "
                 "environment variable");
    /* before any other complaint about the same object */
    expect_error(SINK("\"type\": \"nope\", \"password\": \"hunter2\""),
                 "sinks[0].password: secrets are not accepted in the file; "
                 "name an environment variable in the matching *_env key "
                 "instead (see docs/configuration.md)");
    expect_error("{\"password\": \"hunter2\"}",
                 "password: secrets are not accepted in the file; name an "
                 "environment variable in the matching *_env key instead "
                 "(see docs/configuration.md)");
    expect_error("{\"detectors\": {\"volume\": {\"api_token\": \"x\"}}}",
                 "detectors.volume.api_token: secrets are not accepted in "
                 "the file; name an environment variable in the matching "
                 "*_env key instead (see docs/configuration.md)");
    expect_error("{\"stream\": {\"APIKEY\": \"x\"}}",
                 "stream.APIKEY: secrets are not accepted in the file; set "
                 "stream.api_key_env to the name of an environment "
                 "variable");
    /* credentials inside a URL */
    expect_error("{\"stream\": {\"url\": \"https://bob:pw0rd@audit/x\"}}",
                 "stream.url: a URL with credentials (user:password@) is not "
                 "accepted in the file; set stream.api_key_env to the name "
                 "of an environment variable");
    assert_null(strstr(err, "pw0rd"));
    expect_error(SINK("\"type\": \"webhook\", \"url\": "
                      "\"https://u:p@r.example/h\""),
                 "sinks[0].url: a URL with credentials (user:password@) is "
                 "not accepted in the file; set sinks[0].url_env to the name "
                 "of an environment variable");
    /* the *_env keys themselves, and words that merely contain "key" */
    assert_int_equal(parse("{\"stream\": {\"api_key_env\": \"K\"}, "
                           "\"status\": {\"token_env\": \"T\"}, "
                           "\"detectors\": {\"max_keys\": 5, "
                           "\"credential_access\": {\"keywords\": "
                           "[\"token\"]}}}"),
                     CFG_OK);
}

static void test_unknown_keys_everywhere(void **state)
{
    (void)state;
    expect_error("{\"sink\": []}", "sink: unknown key");
    expect_error("{\"stream\": {\"URL\": \"http://x\"}}",
                 "stream.URL: unknown key");
    expect_error("{\"status\": {\"enabled\": true, \"bind\": \"::\"}}",
                 "status.bind: unknown key");
    expect_error(SINK("\"type\": \"file\", \"path\": \"/x\", \"fsync\": 1"),
                 "sinks[0].fsync: unknown key");
    expect_error("{\"detectors\": {\"latency\": {\"bucket_ms\": 10}}}",
                 "detectors.latency.bucket_ms: unknown key");
}

/* ---- environment overrides ---- */

static void test_env_overrides(void **state)
{
    const char *env1[] = {"PATH=/bin",
                    "TOOLWATCH_DETECTORS__VOLUME__THRESHOLD=200",
                    "TOOLWATCH_STREAM__URL=https://o.example/s",
                    "TOOLWATCH_STATUS__ENABLED=false",
                    "TOOLWATCH_STATUS__PUBLIC_URL=https://tw.example/",
                    "TOOLWATCH_STATE_DIR=/var/lib/toolwatch",
                    "TOOLWATCH_SINKS__0__MIN_SEVERITY=error",
                    "TOOLWATCH_SINKS__1__DETECTORS__0=latency",
                    "TOOLWATCH_DETECTORS__CREDENTIAL_ACCESS__KEYWORDS__1=KMS",
                    "TOOLWATCH_STREAM__HEADERS__X_TENANT=globex",
                    "TOOLWATCH_INSTANCE=\"123\"",
                    "TOOLWATCH_BIN=build/asan/toolwatch", NULL};
    const char *env2[] = {"TOOLWATCH_STATUS__PORT=0",
                    "TOOLWATCH_STREAM__RETRY_MAX_MS=60000",
                    "TOOLWATCH_SINKS__0__RATE_PER_S=0.5",
                    "TOOLWATCH_SLACK_URL=https://hooks.slack.com/x", NULL};
    /* applied by name, whatever the order: the section (a string: objects
     * are not read from a variable), then its member */
    const char *env3[] = {"TOOLWATCH_STREAM__URL=http://b/",
                          "TOOLWATCH_STREAM={}", NULL};

    (void)state;
    assert_int_equal(
        parse_env("{\"stream\": {\"url\": \"http://file/s\", \"headers\": "
                  "{\"X-Tenant\": \"acme\"}},"
                  " \"sinks\": [{\"type\": \"stdout\"}, {\"type\": \"file\", "
                  "\"path\": \"/p\", \"detectors\": [\"volume\"]}],"
                  " \"detectors\": {\"credential_access\": {\"keywords\": "
                  "[\"credential\", \"vault\"]}}}",
                  ENVP(env1)),
        CFG_OK);
    assert_true(rule_set_find(c.rules, "volume")->p.threshold == 200);
    assert_string_equal(c.stream.url, "https://o.example/s");
    assert_false(c.status.enabled);
    assert_string_equal(c.status.public_url, "https://tw.example/");
    assert_string_equal(c.state_dir, "/var/lib/toolwatch");
    assert_int_equal(c.sinks[0].min_severity, SEVERITY_ERROR);
    assert_string_equal(c.sinks[1].rules[0], "latency");
    expect_rule("credential_access",
                "{\"name\":\"credential_access\",\"kind\":\"count\","
                "\"severity\":\"critical\",\"match\":{\"completed\":true,"
                "\"tool_name\":[\"*credential*\",\"*kms*\"]},\"group_by\":"
                "[\"agent_id\"],\"window_s\":3600,\"threshold\":50}");
    assert_int_equal(c.stream.n_headers, 1);
    assert_string_equal(c.stream.headers[0], "X-Tenant: globex");
    assert_string_equal(c.instance, "123"); /* quoted: a string */

    /* sections missing from the file are created; a variable the file
     * names in a *_env key is not an override */
    assert_int_equal(parse_env(SINK("\"type\": \"slack\", \"url_env\": "
                                    "\"TOOLWATCH_SLACK_URL\""),
                               ENVP(env2)),
                     CFG_OK);
    assert_int_equal(c.status.port, 0);
    assert_int_equal(c.stream.retry_max_ms, 60000);
    assert_true(c.sinks[0].rate_per_s == 0.5);
    expect_env_error("{}", ENVP(env3),
                     "TOOLWATCH_STREAM__URL: stream: is a string, so it has "
                     "no key \"URL\"");

    /* no overrides: cfg_parse ignores the environment */
    assert_int_equal(parse("{}"), CFG_OK);
    assert_true(c.status.enabled);
}

/* Found by tests/fuzz/fuzz_config.c: the same variable twice in the
 * environment (execve() allows it) made the result depend on the order of
 * the environment.  Different values are refused; an exact repeat is one. */
static void test_env_override_twice(void **state)
{
    const char *ab[] = {"TOOLWATCH_INSTANCE=\"a\"",
                        "TOOLWATCH_INSTANCE=\"b\"", NULL};
    const char *ba[] = {"TOOLWATCH_INSTANCE=\"b\"",
                        "TOOLWATCH_INSTANCE=\"a\"", NULL};
    const char *same[] = {"TOOLWATCH_DETECTORS__VOLUME__THRESHOLD=200",
                          "TOOLWATCH_INSTANCE=x",
                          "TOOLWATCH_DETECTORS__VOLUME__THRESHOLD=200", NULL};
    const char *msg = "TOOLWATCH_INSTANCE: set more than once in the "
                      "environment, with different values";

    (void)state;
    expect_env_error("{}", ENVP(ab), msg);
    expect_env_error("{}", ENVP(ba), msg);
    assert_int_equal(parse_env("{}", ENVP(same)), CFG_OK);
    assert_true(rule_set_find(c.rules, "volume")->p.threshold == 200);
    assert_string_equal(c.instance, "x");
}

static void test_env_override_errors(void **state)
{
    (void)state;
#define ENV1(v) ENVP(((const char *[]){(v), NULL}))
    expect_env_error("{}", ENV1("TOOLWATCH_DETECTORS__VOLUME__THRESHOLD=lots"),
                     "TOOLWATCH_DETECTORS__VOLUME__THRESHOLD: "
                     "detectors.volume.threshold: expected a number between "
                     "0 and 1000000000000, got \"lots\"");
    expect_env_error("{}", ENV1("TOOLWATCH_DETECTORS__VOLUME__THRESHOLD=-5"),
                     "TOOLWATCH_DETECTORS__VOLUME__THRESHOLD: "
                     "detectors.volume.threshold: expected a number between "
                     "0 and 1000000000000, got -5");
    expect_env_error("{}", ENV1("TOOLWATCH_STATUS__ENABLED=no"),
                     "TOOLWATCH_STATUS__ENABLED: status.enabled: expected "
                     "true or false, got \"no\"");
    expect_env_error("{}", ENV1("TOOLWATCH_INSTANCE=123"),
                     "TOOLWATCH_INSTANCE: instance: expected a non-empty "
                     "string of at most 127 bytes, got 123");
    expect_env_error("{}", ENV1("TOOLWATCH_STATUS__PUBLIC_URL=tw.example"),
                     "TOOLWATCH_STATUS__PUBLIC_URL: status.public_url: "
                     "expected an http:// or https:// URL with a host, got "
                     "\"tw.example\"");
    expect_env_error("{}", ENV1("TOOLWATCH_STREAM__URL=ftp://x"),
                     "TOOLWATCH_STREAM__URL: stream.url: expected an http:// "
                     "or https:// URL with a host, got \"ftp://x\"");
    /* typos are errors */
    expect_env_error("{}", ENV1("TOOLWATCH_STREAM__URLL=http://x"),
                     "TOOLWATCH_STREAM__URLL: stream.urll: unknown key");
    expect_env_error("{}", ENV1("TOOLWATCH_STAT_DIR=/x"),
                     "TOOLWATCH_STAT_DIR: stat_dir: unknown key");
    expect_env_error("{}", ENV1("TOOLWATCH_STREEM__URL=http://x"),
                     "TOOLWATCH_STREEM__URL: streem: unknown key");
    expect_env_error("{}", ENV1("TOOLWATCH_DETECTORS__VOLUMES__THRESHOLD=1"),
                     "TOOLWATCH_DETECTORS__VOLUMES__THRESHOLD: "
                     "detectors.volumes: unknown key (not an engine setting; "
                     "the older per-detector objects are volume, "
                     "payload_size, latency, error_rate, credential_access "
                     "and stream_stalled; rules go in the `rules` list)");
    expect_env_error("{}", ENV1("TOOLWATCH_=1"),
                     "TOOLWATCH_: not a valid override name (TOOLWATCH_ then "
                     "the key path in upper case, keys separated by __, e.g. "
                     "TOOLWATCH_STREAM__URL)");
    expect_env_error("{}", ENV1("TOOLWATCH_STREAM____URL=http://x"),
                     "TOOLWATCH_STREAM____URL: not a valid override name "
                     "(TOOLWATCH_ then the key path in upper case, keys "
                     "separated by __, e.g. TOOLWATCH_STREAM__URL)");
    expect_env_error("{}", ENV1("TOOLWATCH_STREAM__=x"),
                     "TOOLWATCH_STREAM__: not a valid override name "
                     "(TOOLWATCH_ then the key path in upper case, keys "
                     "separated by __, e.g. TOOLWATCH_STREAM__URL)");
    expect_env_error("{\"instance\": \"i\"}", ENV1("TOOLWATCH_INSTANCE__X=1"),
                     "TOOLWATCH_INSTANCE__X: instance: is a string, so it has "
                     "no key \"X\"");
    expect_env_error("{}", ENV1("TOOLWATCH_INSTANCE__X=1"),
                     "TOOLWATCH_INSTANCE__X: instance: expected a non-empty "
                     "string of at most 127 bytes, got {\"x\":1}");
    expect_env_error("{}",
                     ENV1("TOOLWATCH_DETECTORS__CREDENTIAL_ACCESS__KEYWORDS__0"
                          "=vault"),
                     "TOOLWATCH_DETECTORS__CREDENTIAL_ACCESS__KEYWORDS__0: "
                     "detectors.credential_access.keywords[0]: index past the "
                     "end of the array (the file has no "
                     "detectors.credential_access.keywords)");
    /* arrays: never created, never extended */
    expect_env_error("{}", ENV1("TOOLWATCH_SINKS__0__TYPE=stdout"),
                     "TOOLWATCH_SINKS__0__TYPE: sinks[0]: index past the end "
                     "of the array (the file has no sinks)");
    expect_env_error(SINK("\"type\": \"stdout\""),
                     ENV1("TOOLWATCH_SINKS__1__TYPE=stdout"),
                     "TOOLWATCH_SINKS__1__TYPE: sinks[1]: index past the end "
                     "of the array (sinks has 1 element)");
    expect_env_error(SINK("\"type\": \"stdout\""),
                     ENV1("TOOLWATCH_SINKS__FIRST__TYPE=file"),
                     "TOOLWATCH_SINKS__FIRST__TYPE: sinks: expected an array "
                     "index, got \"FIRST\"");
    expect_env_error(SINK("\"type\": \"stdout\""),
                     ENV1("TOOLWATCH_SINKS__00__TYPE=file"),
                     "TOOLWATCH_SINKS__00__TYPE: sinks: expected an array "
                     "index, got \"00\"");
    expect_env_error(SINK("\"type\": \"stdout\""),
                     ENV1("TOOLWATCH_SINKS__0__MIN_SEVERITY=urgent"),
                     "TOOLWATCH_SINKS__0__MIN_SEVERITY: "
                     "sinks[0].min_severity: "
                     "expected one of \"info\", \"warning\", \"error\", "
                     "\"critical\", got \"urgent\"");
    /* replacing a section by a scalar */
    expect_env_error("{}", ENV1("TOOLWATCH_STREAM=http://x"),
                     "TOOLWATCH_STREAM: stream: expected an object, got "
                     "\"http://x\"");
    /* cross-field checks name the variable too */
    expect_env_error("{}", ENV1("TOOLWATCH_STREAM__RETRY_MAX_MS=100"),
                     "TOOLWATCH_STREAM__RETRY_MAX_MS: stream.retry_max_ms: "
                     "expected at least stream.retry_base_ms (500), got 100");
    expect_env_error("{}",
                     ENV1("TOOLWATCH_DETECTORS__VOLUME__CLEAR_THRESHOLD=150"),
                     "TOOLWATCH_DETECTORS__VOLUME__CLEAR_THRESHOLD: "
                     "detectors.volume.clear_threshold: expected a number at "
                     "most the threshold (100), got 150");
    /* a secret cannot come in through an override either */
    expect_env_error("{}", ENV1("TOOLWATCH_STREAM__API_KEY=sk-env-0123"),
                     "TOOLWATCH_STREAM__API_KEY: stream.api_key: secrets are "
                     "not accepted in the file; set stream.api_key_env to the "
                     "name of an environment variable");
    /* an error in the file itself is not pinned on a variable */
    expect_env_error("{\"status\": {\"port\": -1}}",
                     ENV1("TOOLWATCH_STREAM__URL=http://x"),
                     "status.port: expected an integer between 0 and 65535, "
                     "got -1");
#undef ENV1
}

static void test_load_env(void **state)
{
    char path[] = "/tmp/tw_cfg_XXXXXX", want[256];
    const char *text = "{\"stream\": {\"url\": \"http://f/s\"}}";
    const char *good[] = {"TOOLWATCH_STATUS__PORT=1234", NULL};
    const char *bad[] = {"TOOLWATCH_STATUS__PORT=x", NULL};
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(cfg_load_env(fresh(&c), path, ENVP(good), err, sizeof err),
                     CFG_OK);
    assert_int_equal(c.status.port, 1234);
    assert_string_equal(c.stream.url, "http://f/s");
    /* about a variable: no file name in front */
    assert_int_equal(cfg_load_env(fresh(&c), path, ENVP(bad), err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "TOOLWATCH_STATUS__PORT: status.port: expected "
                             "an integer between 0 and 65535, got \"x\"");
    /* cfg_load reads the process environment */
    setenv("TOOLWATCH_STATUS__PORT", "4321", 1);
    assert_int_equal(cfg_load(fresh(&c), path, err, sizeof err), CFG_OK);
    assert_int_equal(c.status.port, 4321);
    setenv("TOOLWATCH_STATUS__PORTT", "1", 1);
    assert_int_equal(cfg_load(fresh(&c), path, err, sizeof err), CFG_EINVAL);
    assert_string_equal(err, "TOOLWATCH_STATUS__PORTT: status.portt: unknown "
                             "key");
    unsetenv("TOOLWATCH_STATUS__PORTT");
    unsetenv("TOOLWATCH_STATUS__PORT");
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"instance\": 1}", 15), 15);
    close(fd);
    assert_int_equal(cfg_load_env(fresh(&c), path, ENVP(good), err, sizeof err),
                     CFG_EINVAL);
    snprintf(want, sizeof want,
             "%s: instance: expected a non-empty string of at most 127 "
             "bytes, got 1",
             path);
    assert_string_equal(err, want);
    unlink(path);
}

/* ---- secrets from the environment ---- */

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static void test_sink_configs(void **state)
{
    struct sink_config out[CFG_MAX_SINKS];
    size_t n = 99;

    (void)state;
    assert_int_equal(
        parse("{\"sinks\": ["
              "{\"type\": \"webhook\", \"url_env\": \"TW_T_HOOK_URL\","
              " \"secret_envs\": [\"TW_T_WH1\", \"TW_T_WH2\"],"
              " \"rules\": [\"vol*\"], \"labels\": {\"team\": \"sec*\"},"
              " \"min_severity\": \"warning\"},"
              "{\"type\": \"slack\", \"url_env\": \"TW_T_SLACK_URL\"},"
              "{\"type\": \"pagerduty\", \"routing_key_env\": \"TW_T_PD\","
              " \"timeout_s\": 7, \"max_age_s\": 60},"
              "{\"type\": \"file\", \"path\": \"/tmp/tw.ndjson\"},"
              "{\"type\": \"stdout\", \"rate_per_s\": 4, \"burst\": 2}]}"),
        CFG_OK);
    setenv("TW_T_HOOK_URL", "https://hook.example/in", 1);
    setenv("TW_T_WH1", WHSEC, 1);
    setenv("TW_T_WH2", WHSEC, 1);
    setenv("TW_T_SLACK_URL", "https://hooks.slack.com/services/T/B/sEcReT", 1);
    setenv("TW_T_PD", "R0UT1NGKEY", 1);
    assert_int_equal(cfg_sink_configs(&c, out, CFG_MAX_SINKS, &n, err,
                                      sizeof err),
                     CFG_OK);
    assert_int_equal(n, 5);
    assert_string_equal(out[0].name, "webhook");
    assert_int_equal(out[0].kind, SINK_WEBHOOK);
    assert_string_equal(out[0].url, "https://hook.example/in");
    assert_string_equal(out[0].url_env, "TW_T_HOOK_URL");
    assert_int_equal(out[0].n_secrets, 2);
    assert_string_equal(out[0].secrets[1], WHSEC);
    assert_int_equal(out[0].min_severity, SEVERITY_WARNING);
    assert_int_equal(out[0].n_rules, 1);
    assert_string_equal(out[0].rules[0], "vol*");
    assert_int_equal(out[0].n_labels, 1);
    assert_string_equal(out[0].label_names[0], "team");
    assert_string_equal(out[0].label_values[0], "sec*");
    {
        static const char *const names[] = {"team"};
        static const char *const values[] = {"secops"};
        struct sink_route r = {.rule = "volume", .severity = "error",
                               .nlabels = 1, .label_names = names,
                               .label_values = values};
        assert_true(sink_routes(&out[0], &r));
        r.rule = "latency";
        assert_false(sink_routes(&out[0], &r));
        r.rule = "volume";
        r.severity = "info";
        assert_false(sink_routes(&out[0], &r));
        r.severity = "error";
        r.nlabels = 0;
        assert_false(sink_routes(&out[0], &r));
    }
    assert_true(out[0].rate_per_s == 0);
    assert_int_equal(out[0].connect_timeout_ms, 5000);
    assert_int_equal(out[0].timeout_ms, 15000);
    assert_int_equal(out[0].retry_base_ms, 1000);
    assert_int_equal(out[0].retry_max_ms, 300000);
    assert_int_equal(out[0].max_age_s, 86400);
    assert_string_equal(out[1].url,
                        "https://hooks.slack.com/services/T/B/sEcReT");
    assert_true(out[1].rate_per_s == 1.0);
    assert_int_equal(out[1].burst, 3);
    assert_string_equal(out[2].url, SINK_PD_DEFAULT_URL);
    assert_string_equal(out[2].routing_key, "R0UT1NGKEY");
    assert_int_equal(out[2].timeout_ms, 7000);
    assert_int_equal(out[2].max_age_s, 60);
    assert_string_equal(out[3].path, "/tmp/tw.ndjson");
    assert_null(out[3].url);
    assert_int_equal(out[4].kind, SINK_STDOUT);
    assert_true(out[4].rate_per_s == 4);
    assert_int_equal(out[4].burst, 2);

    /* too many for the caller */
    assert_int_equal(cfg_sink_configs(&c, out, 4, &n, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "sinks: 5 sinks configured, at most 4 "
                             "supported here");
    /* unset, empty, malformed: named, never quoted */
    unsetenv("TW_T_WH2");
    assert_int_equal(cfg_sink_configs(&c, out, CFG_MAX_SINKS, &n, err,
                                      sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "sinks[0].secret_envs[1]: the environment "
                             "variable TW_T_WH2 is not set");
    assert_int_equal(n, 0);
    setenv("TW_T_WH2", "whsec_dG9vc2hvcnQ=", 1);
    assert_int_equal(cfg_sink_config(&c, 0, out, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "sinks[0].secret_envs[1]: the environment "
                             "variable TW_T_WH2 does not hold a signing "
                             "secret (whsec_ and the base64 of 24 to 64 "
                             "bytes)");
    setenv("TW_T_WH2", WHSEC, 1);
    setenv("TW_T_HOOK_URL", "hook.example/in", 1);
    assert_int_equal(cfg_sink_config(&c, 0, out, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "sinks[0].url_env: the environment variable "
                             "TW_T_HOOK_URL does not hold an http:// or "
                             "https:// URL");
    setenv("TW_T_SLACK_URL", "", 1);
    assert_int_equal(cfg_sink_config(&c, 1, out, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "sinks[1].url_env: the environment variable "
                             "TW_T_SLACK_URL is empty");
    unsetenv("TW_T_PD");
    assert_int_equal(cfg_sink_config(&c, 2, out, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "sinks[2].routing_key_env: the environment "
                             "variable TW_T_PD is not set");
    assert_int_equal(cfg_sink_config(&c, 5, out, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "sinks[5]: no such sink");
    unsetenv("TW_T_HOOK_URL");
    unsetenv("TW_T_WH1");
    unsetenv("TW_T_WH2");
    unsetenv("TW_T_SLACK_URL");
}

/* Pacing waits 1 / rate_per_s seconds for a token: 0 or >= 0.001, so the
 * wait fits (1e-300 overflowed int64 in delivery's pacing). */
static void test_rate_per_s_range(void **state)
{
    const char *over[] = {"TOOLWATCH_SINKS__0__RATE_PER_S=1e-9", NULL};

    (void)state;
    expect_error(SINK("\"type\": \"stdout\", \"rate_per_s\": 1e-300"),
                 "sinks[0].rate_per_s: expected 0 (unpaced) or a number "
                 "between 0.001 and 1000, got 1e-300");
    expect_error(SINK("\"type\": \"stdout\", \"rate_per_s\": 0.0009"),
                 "sinks[0].rate_per_s: expected 0 (unpaced) or a number "
                 "between 0.001 and 1000, got 0.0009");
    expect_error(SINK("\"type\": \"stdout\", \"rate_per_s\": 1001"),
                 "sinks[0].rate_per_s: expected a number between 0 and "
                 "1000, got 1001");
    expect_error(SINK("\"type\": \"stdout\", \"rate_per_s\": -1"),
                 "sinks[0].rate_per_s: expected a number between 0 and "
                 "1000, got -1");
    assert_int_equal(parse(SINK("\"type\": \"stdout\", \"rate_per_s\": "
                                "0.001")),
                     CFG_OK);
    assert_true(c.sinks[0].rate_per_s == 0.001);
    assert_int_equal(parse(SINK("\"type\": \"slack\", \"url_env\": \"X\", "
                                "\"rate_per_s\": 0")),
                     CFG_OK);
    assert_true(c.sinks[0].rate_per_s == 0);
    assert_int_equal(cfg_parse_env(fresh(&c),
                                   SINK("\"type\": \"stdout\""),
                                   strlen(SINK("\"type\": \"stdout\"")),
                                   (char *const *)over, err, sizeof err),
                     CFG_EINVAL);
    assert_string_equal(err, "TOOLWATCH_SINKS__0__RATE_PER_S: "
                             "sinks[0].rate_per_s: expected 0 (unpaced) or "
                             "a number between 0.001 and 1000, got 1e-09");
}

/* ---- check-config ---- */

struct captured {
    char *out, *err;
    size_t out_len, err_len;
    int rc;
};

static void run_check(const char *path, char *const *envp,
                      struct captured *r)
{
    FILE *o = open_memstream(&r->out, &r->out_len);
    FILE *e = open_memstream(&r->err, &r->err_len);

    assert_non_null(o);
    assert_non_null(e);
    r->rc = checkconfig_run(path, envp, o, e);
    fclose(o);
    fclose(e);
}

static void captured_free(struct captured *r)
{
    free(r->out);
    free(r->err);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    fclose(f);
}

extern char **environ;

#define S_STREAM "sk-stream-SECRET-1111"
#define S_SLACK "https://hooks.slack.com/services/T0/B0/SECRET-2222"
/* 32 characters, as a PagerDuty routing key is (not base64: never a
 * valid whsec_ either) */
#define S_PD "pd-routing-SECRET-3333-xyz!abcde"
#define S_STATUS "status-SECRET-4444"

static void test_checkconfig_never_prints_secrets(void **state)
{
    char path[] = "/tmp/tw_cc_XXXXXX";
    struct captured r = {0};
    const char *secrets[] = {S_STREAM, S_SLACK, S_PD, S_STATUS, WHSEC,
                             "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
    cJSON *j;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path,
               "{\"stream\": {\"url\": \"https://a.example/s\", "
               "\"api_key_env\": \"TW_T_CC_KEY\"},"
               " \"status\": {\"token_env\": \"TW_T_CC_STATUS\"},"
               " \"sinks\": [{\"type\": \"slack\", \"url_env\": "
               "\"TW_T_CC_SLACK\"},"
               " {\"type\": \"pagerduty\", \"routing_key_env\": "
               "\"TW_T_CC_PD\"},"
               " {\"type\": \"webhook\", \"url\": \"https://h.example/x\", "
               "\"secret_envs\": [\"TW_T_CC_WH\"]}]}");
    setenv("TW_T_CC_KEY", S_STREAM, 1);
    setenv("TW_T_CC_STATUS", S_STATUS, 1);
    setenv("TW_T_CC_SLACK", S_SLACK, 1);
    setenv("TW_T_CC_PD", S_PD, 1);
    setenv("TW_T_CC_WH", WHSEC, 1);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.err_len, 0);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        assert_null(strstr(r.out, secrets[i]));
    assert_non_null(strstr(r.out, "\"api_key_env\": \"TW_T_CC_KEY\""));
    assert_non_null(strstr(r.out, "\"api_key\": \"<set>\""));
    assert_non_null(strstr(r.out, "\"token\": \"<set>\""));
    assert_non_null(strstr(r.out, "\"url\": \"<set>\""));
    assert_non_null(strstr(r.out, "\"routing_key\": \"<set>\""));
    assert_non_null(strstr(r.out, "\"secrets\": [\"<set>\"]"));
    assert_null(strchr(r.out, '\t'));
    /* the output is JSON with every default */
    j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "listen")
            ->valuestring,
        "127.0.0.1");
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stream"),
                            "stall_timeout_s")
            ->valueint,
        45);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sinks"),
                                               1),
                            "url")
            ->valuestring,
        SINK_PD_DEFAULT_URL);
    cJSON_Delete(j);
    captured_free(&r);

    /* unset and malformed secrets: the configuration with "<unset>", the
     * problems on stderr, exit 1; still no value anywhere */
    unsetenv("TW_T_CC_KEY");
    unsetenv("TW_T_CC_STATUS");
    setenv("TW_T_CC_WH", "whsec_" S_PD, 1);
    setenv("TW_T_CC_SLACK", "not a url " S_SLACK, 1);
    memset(&r, 0, sizeof r);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.out, "\"api_key\": \"<unset>\""));
    assert_non_null(strstr(r.out, "\"token\": \"<unset>\""));
    assert_string_equal(
        r.err,
        "toolwatch check-config: stream.api_key_env: the environment "
        "variable TW_T_CC_KEY is not set\n"
        "toolwatch check-config: status.token_env: the environment variable "
        "TW_T_CC_STATUS is not set\n"
        "toolwatch check-config: sinks[0].url_env: the environment variable "
        "TW_T_CC_SLACK does not hold an http:// or https:// URL\n"
        "toolwatch check-config: sinks[2].secret_envs[0]: the environment "
        "variable TW_T_CC_WH does not hold a signing secret (whsec_ and the "
        "base64 of 24 to 64 bytes)\n");
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        assert_null(strstr(r.out, secrets[i]));
        assert_null(strstr(r.err, secrets[i]));
    }
    captured_free(&r);

    /* a secret pasted into the file: refused, not echoed */
    write_file(path, SINK("\"type\": \"slack\", \"url_env\": \"" S_SLACK
                          "\""));
    memset(&r, 0, sizeof r);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.out_len, 0);
    assert_null(strstr(r.err, "SECRET"));
    assert_non_null(strstr(r.err, "sinks[0].url_env: expected the name of an "
                                  "environment variable"));
    captured_free(&r);
    write_file(path, "{\"stream\": {\"api_key\": \"" S_STREAM "\"}}");
    memset(&r, 0, sizeof r);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 1);
    assert_null(strstr(r.err, "SECRET"));
    captured_free(&r);

    unsetenv("TW_T_CC_SLACK");
    unsetenv("TW_T_CC_PD");
    unsetenv("TW_T_CC_WH");
    unlink(path);
}

/* check-config refuses a PagerDuty routing key that is not 32 characters
 * (PagerDuty answers 400 and every alert would be dropped), naming the
 * variable and the length, never the key. */
static void test_checkconfig_routing_key_length(void **state)
{
    static const char *const keys[] = {
        "SHORTKEY-SECRET-0123456789abcde", /* 31 */
        "LONGKEY-SECRET-0123456789abcdefgh", /* 33 */
        "NLKEY-SECRET-0123456789abcdefghi\n", /* 32 and a newline */
    };
    char path[] = "/tmp/tw_cc_XXXXXX", want[512];
    struct captured r = {0};
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\"stream\": {\"url\": \"https://a.example/s\"},"
                     " \"sinks\": [{\"type\": \"stdout\"}, {\"type\": "
                     "\"pagerduty\", \"routing_key_env\": \"TW_T_PDLEN\"}]}");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        setenv("TW_T_PDLEN", keys[i], 1);
        memset(&r, 0, sizeof r);
        run_check(path, environ, &r);
        assert_int_equal(r.rc, 1);
        snprintf(want, sizeof want, "toolwatch check-config: "
                 "sinks[1].routing_key_env: the environment variable "
                 "TW_T_PDLEN holds %zu bytes; a PagerDuty routing key "
                 "(integration key) is 32 characters (a space or newline "
                 "copied with it counts)\n", strlen(keys[i]));
        assert_string_equal(r.err, want);
        assert_null(strstr(r.out, "SECRET"));
        assert_null(strstr(r.err, "SECRET"));
        captured_free(&r);
    }
    setenv("TW_T_PDLEN", "0123456789abcdef0123456789abcdef", 1);
    memset(&r, 0, sizeof r);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.err_len, 0);
    captured_free(&r);
    unsetenv("TW_T_PDLEN");
    unlink(path);
}

#define S_HDR "hdr-SECRET-5555"

/* stream.headers_env in check-config: the variables' names, their state as
 * "<set>" / "<unset>" in "header_secrets", never a value. */
static void test_checkconfig_headers_env(void **state)
{
    char path[] = "/tmp/tw_cc_XXXXXX";
    struct captured r = {0};
    const cJSON *st, *names, *marks;
    cJSON *j;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path,
               "{\"stream\": {\"url\": \"https://a.example/s\", "
               "\"headers\": {\"X-Tenant\": \"acme\"}, "
               "\"headers_env\": {\"X-Api-Key\": \"TW_T_CC_HDR\", "
               "\"X-Other\": \"TW_T_CC_HDR2\"}}}");
    setenv("TW_T_CC_HDR", S_HDR, 1);
    setenv("TW_T_CC_HDR2", S_HDR "-2", 1);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.err_len, 0);
    assert_null(strstr(r.out, "SECRET"));
    j = cJSON_Parse(r.out);
    assert_non_null(j);
    st = cJSON_GetObjectItem(j, "stream");
    names = cJSON_GetObjectItem(st, "headers_env");
    marks = cJSON_GetObjectItem(st, "header_secrets");
    assert_int_equal(cJSON_GetArraySize(names), 2);
    assert_string_equal(cJSON_GetObjectItem(names, "X-Api-Key")->valuestring,
                        "TW_T_CC_HDR");
    assert_string_equal(cJSON_GetObjectItem(names, "X-Other")->valuestring,
                        "TW_T_CC_HDR2");
    assert_int_equal(cJSON_GetArraySize(marks), 2);
    assert_string_equal(cJSON_GetObjectItem(marks, "X-Api-Key")->valuestring,
                        "<set>");
    assert_string_equal(cJSON_GetObjectItem(marks, "X-Other")->valuestring,
                        "<set>");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(st, "headers"), "X-Tenant")
            ->valuestring,
        "acme");
    cJSON_Delete(j);
    captured_free(&r);

    /* unset, and a value that would break the request: named, not shown */
    unsetenv("TW_T_CC_HDR2");
    setenv("TW_T_CC_HDR", S_HDR "\r\nX-Injected: 1", 1);
    memset(&r, 0, sizeof r);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 1);
    assert_null(strstr(r.out, "SECRET"));
    assert_null(strstr(r.err, "SECRET"));
    assert_null(strstr(r.out, "Injected"));
    assert_null(strstr(r.err, "Injected"));
    j = cJSON_Parse(r.out);
    assert_non_null(j);
    marks = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stream"),
                                "header_secrets");
    assert_string_equal(cJSON_GetObjectItem(marks, "X-Api-Key")->valuestring,
                        "<set>");
    assert_string_equal(cJSON_GetObjectItem(marks, "X-Other")->valuestring,
                        "<unset>");
    cJSON_Delete(j);
    assert_string_equal(
        r.err, "toolwatch check-config: stream.headers_env.X-Api-Key: the "
               "environment variable TW_T_CC_HDR holds a control character "
               "(CR, LF, ...); a header value must be one line\n");
    captured_free(&r);
    setenv("TW_T_CC_HDR", S_HDR, 1);
    memset(&r, 0, sizeof r);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 1);
    assert_string_equal(
        r.err, "toolwatch check-config: stream.headers_env.X-Other: the "
               "environment variable TW_T_CC_HDR2 is not set\n");
    captured_free(&r);

    /* a secret pasted where the variable's name belongs: refused, not
     * echoed */
    write_file(path, HENV("\"X-Api-Key\": \"" S_HDR "\""));
    memset(&r, 0, sizeof r);
    run_check(path, environ, &r);
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.out_len, 0);
    assert_null(strstr(r.err, "SECRET"));
    assert_non_null(strstr(r.err, "stream.headers_env.X-Api-Key: expected "
                                  "the name of an environment variable"));
    captured_free(&r);
    unsetenv("TW_T_CC_HDR");
    unlink(path);
}

/* The effective configuration printed without markers is a file that
 * means the same. */
static void test_dump_round_trip(void **state)
{
    struct cfg *again = calloc(1, sizeof *again);
    char *text;
    cJSON *j;

    (void)state;
    assert_non_null(again);
    assert_int_equal(
        parse("{\"instance\": \"i\", \"state_dir\": \"/s\","
              " \"stream\": {\"url\": \"http://x/\", \"api_key_env\": \"K\","
              "  \"headers\": {\"X-A\": \"1\", \"X-B\": \"two words\"},"
              "  \"headers_env\": {\"X-C\": \"HC\", \"x-d\": \"HD\"},"
              "  \"ca_file\": \"/ca\", \"max_event_bytes\": 2048},"
              " \"status\": {\"enabled\": false, \"listen\": \"::\", "
              "  \"port\": 0, \"token_env\": \"T\"},"
              " \"sinks\": [{\"type\": \"webhook\", \"url_env\": \"U\","
              "  \"secret_envs\": [\"A\", \"B\"], \"detectors\": "
              "[\"volume\"]},"
              "  {\"type\": \"slack\", \"url_env\": \"S\", \"rate_per_s\": "
              "0.25},"
              "  {\"type\": \"pagerduty\", \"routing_key_env\": \"P\"},"
              "  {\"type\": \"file\", \"path\": \"/f\"}, {\"type\": "
              "\"stdout\", \"name\": \"out\"}],"
              " \"detectors\": {\"hold_s\": 5, \"volume\": "
              "{\"clear_threshold\": 50},"
              "  \"credential_access\": {\"keywords\": [\"vault\"]}}}"),
        CFG_OK);
    j = cfg_to_json(&c, 0);
    assert_non_null(j);
    text = cJSON_PrintUnformatted(j);
    assert_non_null(text);
    assert_null(strstr(text, "<set>"));
    memset(again, 0, sizeof *again);
    assert_int_equal(cfg_parse(again, text, strlen(text), err, sizeof err),
                     CFG_OK);
    /* the same settings; the same rules (the dump has `rules`, the file
     * had per-detector objects) */
    assert_memory_equal(again, &c, offsetof(struct cfg, det));
    assert_memory_equal(&again->det, &c.det, sizeof c.det);
    {
        cJSON *j2 = cfg_to_json(again, 0);
        char *t2 = cJSON_PrintUnformatted(j2);
        assert_string_equal(t2, text);
        assert_non_null(strstr(t2, "\"rules\":[{\"name\":\"volume\""));
        assert_non_null(strstr(t2, "\"clear_threshold\":50"));
        cJSON_free(t2);
        cJSON_Delete(j2);
    }
    cJSON_free(text);
    cJSON_Delete(j);
    cfg_free(again);
}

/* ---- the example configurations ---- */

static const char *const examples[] = {"minimal.json", "slack.json",
                                       "pagerduty.json", "webhook.json",
                                       "all.json", "header-key.json"};

static void example_path(const char *name, char *path, size_t size)
{
    const char *dir = getenv("TW_EXAMPLES");

    snprintf(path, size, "%s/%s", dir ? dir : "config/examples", name);
}

/* Set a fake value for every variable the configuration names. */
static void fake_secrets(const struct cfg *cf, int set)
{
#define FAKE(name, value)                                                  \
    do {                                                                   \
        if ((name)[0] != '\0') {                                           \
            if (set)                                                       \
                setenv((name), (value), 1);                                \
            else                                                           \
                unsetenv(name);                                            \
        }                                                                  \
    } while (0)
    FAKE(cf->stream.api_key_env, "fake-stream-key");
    for (size_t i = 0; i < cf->stream.n_headers_env; i++)
        FAKE(cf->stream.headers_env[i].env, "fake-header-value");
    FAKE(cf->status.token_env, "fake-status-token");
    for (size_t i = 0; i < cf->n_sinks; i++) {
        FAKE(cf->sinks[i].url_env, "https://fake.example/hook");
        /* 32 characters, as a PagerDuty routing key */
        FAKE(cf->sinks[i].routing_key_env,
             "fake-routing-key-0123456789abcde");
        for (size_t k = 0; k < cf->sinks[i].n_secret_envs; k++)
            FAKE(cf->sinks[i].secret_envs[k], WHSEC);
    }
#undef FAKE
}

static void test_examples_load(void **state)
{
    struct sink_config sinks[CFG_MAX_SINKS];
    struct stream_config sc;
    char path[512];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        struct captured r = {0};

        example_path(examples[i], path, sizeof path);
        if (cfg_load_env(fresh(&c), path, NULL, err, sizeof err) != CFG_OK)
            fail_msg("%s: %s", path, err);
        assert_true(c.stream.url[0] != '\0');
        fake_secrets(&c, 1);
        assert_int_equal(cfg_stream_config(&c, &sc, err, sizeof err),
                         CFG_OK);
        if (cfg_sink_configs(&c, sinks, CFG_MAX_SINKS, &n, err,
                             sizeof err) != CFG_OK)
            fail_msg("%s: %s", path, err);
        run_check(path, environ, &r);
        if (r.rc != 0)
            fail_msg("check-config %s: %s", path, r.err);
        assert_null(strstr(r.out, "fake-"));
        assert_null(strstr(r.out, WHSEC));
        captured_free(&r);
        fake_secrets(&c, 0);
    }
    example_path("all.json", path, sizeof path);
    assert_int_equal(cfg_load_env(fresh(&c), path, NULL, err, sizeof err), CFG_OK);
    assert_int_equal(c.n_sinks, 4);
    assert_int_equal(c.sinks[0].type, SINK_SLACK);
    assert_int_equal(c.sinks[1].type, SINK_PAGERDUTY);
    assert_int_equal(c.sinks[2].type, SINK_WEBHOOK);
    assert_int_equal(c.sinks[3].type, SINK_FILE);
}

/* Every key check-config prints is documented in docs/configuration.md
 * (detector keys in it or in docs/detectors.md, rule keys and fields in
 * docs/rules.md). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    return p;
}

static void check_documented(const cJSON *node, const char *doc,
                             const char *doc2, const char *doc3)
{
    const cJSON *m;
    char key[128];

    cJSON_ArrayForEach(m, node)
    {
        if (m->string != NULL && strcmp(m->string, "X-Tenant") != 0) {
            snprintf(key, sizeof key, "`%s`", m->string);
            if (strstr(doc, key) == NULL && strstr(doc2, key) == NULL &&
                strstr(doc3, key) == NULL)
                fail_msg("%s is not documented in docs/configuration.md",
                         key);
        }
        check_documented(m, doc, doc2, doc3);
    }
}


/* `inhibit`: parsed with paths in its errors, at most 32 rules; without
 * it stream_stalled inhibits each absence rule with a group_by; [] is
 * none. */
static void test_inhibit(void **state)
{
    static const char absence_rules[] =
        "\"rules\": [{\"name\": \"stream_stalled\", \"kind\": "
        "\"absence\", \"severity\": \"critical\", \"group_by\": [], "
        "\"threshold\": 120}, {\"name\": \"quiet_agent\", \"severity\": "
        "\"warning\", \"kind\": \"absence\", \"group_by\": "
        "[\"agent_id\"], \"threshold\": 300}, {\"name\": \"busy\", "
        "\"severity\": \"info\", \"kind\": \"count\", \"group_by\": "
        "[\"agent_id\"], \"threshold\": 5, \"window_s\": 60}]";
    char text[8192];
    size_t at;

    (void)state;
    /* the default rules have no grouped absence rule */
    assert_int_equal(parse("{}"), CFG_OK);
    assert_int_equal(c.n_inhibit, 0);
    snprintf(text, sizeof text, "{%s}", absence_rules);
    if (parse(text) != CFG_OK)
        fail_msg("%s", err);
    assert_int_equal(c.n_inhibit, 1);
    assert_int_equal(c.inhibit[0].nsource, 1);
    assert_int_equal(c.inhibit[0].source[0].kind, SILENCE_M_RULE);
    assert_string_equal(c.inhibit[0].source[0].glob, "stream_stalled");
    assert_int_equal(c.inhibit[0].ntarget, 1);
    assert_string_equal(c.inhibit[0].target[0].glob, "quiet_agent");
    assert_int_equal(c.inhibit[0].nequal, 0);
    snprintf(text, sizeof text, "{%s, \"inhibit\": []}", absence_rules);
    assert_int_equal(parse(text), CFG_OK);
    assert_int_equal(c.n_inhibit, 0);
    assert_null(c.inhibit);
    assert_int_equal(parse("{\"inhibit\": [{\"source\": {\"rule\": "
                           "\"runaway\", \"labels.team\": \"db*\"}, "
                           "\"target\": {\"severity\": \"warn*\"}, "
                           "\"equal\": [\"session_id\", \"labels.team\", "
                           "\"rule\"]}]}"), CFG_OK);
    assert_int_equal(c.n_inhibit, 1);
    assert_int_equal(c.inhibit[0].nsource, 2);
    assert_int_equal(c.inhibit[0].source[1].kind, SILENCE_M_LABEL);
    assert_string_equal(c.inhibit[0].source[1].name, "team");
    assert_string_equal(c.inhibit[0].source[1].glob, "db*");
    assert_int_equal(c.inhibit[0].target[0].kind, SILENCE_M_SEVERITY);
    assert_int_equal(c.inhibit[0].nequal, 3);
    assert_int_equal(c.inhibit[0].equal[0].kind, SILENCE_M_GROUP);
    assert_string_equal(c.inhibit[0].equal[0].name, "session_id");
    assert_int_equal(c.inhibit[0].equal[1].kind, SILENCE_M_LABEL);
    assert_int_equal(c.inhibit[0].equal[2].kind, SILENCE_M_RULE);
    /* 32 rules, not 33 */
    for (int n = 33; n >= 32; n--) {
        at = (size_t)snprintf(text, sizeof text, "{\"inhibit\": [");
        for (int i = 0; i < n; i++)
            at += (size_t)snprintf(text + at, sizeof text - at, "%s{"
                                   "\"source\": {\"rule\": \"a\"}, "
                                   "\"target\": {\"rule\": \"b\"}}",
                                   i ? "," : "");
        snprintf(text + at, sizeof text - at, "]}");
        if (n == 33)
            expect_error(text, "inhibit: expected at most 32 inhibition "
                         "rules, got 33");
    }
    assert_int_equal(parse(text), CFG_OK);
    assert_int_equal(c.n_inhibit, 32);
    expect_error("{\"inhibit\": {}}", "inhibit: expected an array of "
                 "inhibition rules (at most 32; [] for none), got {}");
    expect_error("{\"inhibit\": [{\"source\": {\"rule\": \"a\"}}]}",
                 "inhibit[0].target: missing; an object of matchers (rule, "
                 "severity, group.<field>, labels.<name>)");
    expect_error("{\"inhibit\": [{\"source\": {\"rule\": \"a\"}, \"target\": "
                 "{\"rule\": \"b\"}, \"equl\": []}]}",
                 "inhibit[0].equl: unknown key (source, target, equal); did "
                 "you mean equal?");
    expect_error("{\"inhibit\": [{\"source\": {\"rule\": \"a\"}, \"target\": "
                 "{\"rul\": \"b\"}}]}",
                 "inhibit[0].target.rul: unknown key; did you mean rule?");
    expect_error("{\"inhibit\": [{\"source\": {\"severity\": \"urgent\"}, "
                 "\"target\": {\"rule\": \"b\"}}]}",
                 "inhibit[0].source.severity: expected a severity (info, "
                 "warning, error, critical) or a glob matching one, got "
                 "\"urgent\"");
    expect_error("{\"inhibit\": [{\"source\": {\"rule\": \"a\"}, \"target\": "
                 "{\"rule\": \"b\"}, \"equal\": [\"session_id\", 3]}]}",
                 "inhibit[0].equal[1]: expected a field name (session_id, "
                 "group.<field>, labels.<name>, rule or severity), got 3");
    expect_error("{\"inhibit\": [{\"source\": {\"rule\": \"a\"}, \"target\": "
                 "{\"rule\": \"b\"}, \"equal\": [\"session_id\", "
                 "\"group.session_id\"]}]}",
                 "inhibit[0].equal[1]: \"group.session_id\" is in the list "
                 "already (inhibit[0].equal[0])");
    expect_error("{\"inhibit\": [{\"source\": {\"rule\": \"a\"}, \"target\": "
                 "{\"rule\": \"b\"}, \"equal\": [\"x.y\"]}]}",
                 "inhibit[0].equal[0]: expected a field name (session_id, "
                 "group.<field>, labels.<name>, rule or severity), got "
                 "\"x.y\"");
    expect_error("{\"inhibit\": [{\"source\": {}, \"target\": "
                 "{\"rule\": \"b\"}}]}",
                 "inhibit[0].source: expected an object of 1 to 16 matchers "
                 "(rule, severity, group.<field>, labels.<name>), got "
                 "{}");
}

static void test_keys_documented(void **state)
{
    const char *dir = getenv("TW_DOCS");
    char path[512], path2[512], path3[512], all[512];
    char *doc, *doc2, *doc3;
    cJSON *j;

    (void)state;
    snprintf(path, sizeof path, "%s/configuration.md", dir ? dir : "docs");
    snprintf(path2, sizeof path2, "%s/detectors.md", dir ? dir : "docs");
    snprintf(path3, sizeof path3, "%s/rules.md", dir ? dir : "docs");
    doc = slurp(path);
    doc2 = slurp(path2);
    doc3 = slurp(path3);
    example_path("all.json", all, sizeof all);
    assert_int_equal(cfg_load_env(fresh(&c), all, NULL, err, sizeof err), CFG_OK);
    c.stream.ca_file[0] = '/';
    c.stream.n_headers_env = 1;
    snprintf(c.stream.headers_env[0].name, CFG_HEADER_NAME_MAX, "X-Api-Key");
    snprintf(c.stream.headers_env[0].env, TABLE_ENV_NAME_MAX, "API_KEY");
    c.sinks[2].n_rules = 1;
    snprintf(c.sinks[2].rules[0], SINK_RULE_GLOB_MAX, "volume");
    c.sinks[2].n_labels = 1;
    snprintf(c.sinks[2].label_names[0], SINK_LABEL_NAME_MAX, "team");
    snprintf(c.sinks[2].label_values[0], SINK_LABEL_VALUE_MAX, "secops");
    j = cfg_to_json(&c, TABLE_DUMP_SECRETS);
    assert_non_null(j);
    check_documented(j, doc, doc2, doc3);
    cJSON_Delete(j);
    free(doc);
    free(doc2);
    free(doc3);
}

/* ---- every error, not just the first ---- */

static char list_msgs[TABLE_ERRS_MAX][TABLE_ERR_MAX];
static struct table_errs list;

/* cfg_parse_errs() into `list`, and cfg_parse()'s one message into err */
static int parse_all(const char *text, char *const *envp)
{
    int rc, rc1;

    table_errs_init(&list, list_msgs, TABLE_ERRS_MAX);
    rc = cfg_parse_errs(fresh(&c), text, strlen(text), envp, &list);
    err[0] = '\0';
    rc1 = cfg_parse_env(fresh(&c), text, strlen(text), envp, err,
                        sizeof err);
    assert_int_equal(rc1, rc);
    if (rc != CFG_OK) /* the first of the list is the one message */
        assert_string_equal(err, table_errs_at(&list, 0));
    return rc;
}

/* `list` holds exactly want[0 .. n - 1], in this order */
static void expect_list(const char *const *want, unsigned n)
{
    if (table_errs_count(&list) != n)
        for (unsigned i = 0; i < table_errs_kept(&list); i++)
            print_message("got [%u] %s\n", i, table_errs_at(&list, i));
    for (unsigned i = 0; i < table_errs_kept(&list) && i < n; i++)
        assert_string_equal(table_errs_at(&list, i), want[i]);
    assert_int_equal(table_errs_count(&list), n);
    assert_int_equal(table_errs_kept(&list), n);
}

#define EXPECT_LIST(...)                                                    \
    do {                                                                    \
        static const char *const w_[] = {__VA_ARGS__};                      \
        expect_list(w_, sizeof w_ / sizeof w_[0]);                          \
    } while (0)

#define RULE_OK_COUNT(name)                                                 \
    "{\"name\": \"" name "\", \"kind\": \"count\", \"severity\": "         \
    "\"error\", \"window_s\": 60, \"threshold\": 5}"

/* Independent mistakes in every section: each one, in file order, with
 * the message and path a file with that mistake alone gives. */
static void test_every_error(void **state)
{
    (void)state;
    assert_int_equal(
        parse_all(
            "{\"stream\": {\"url\": \"https://a.example/s\","
            "  \"stall_timeout_s\": \"45\", \"retry_max_ms\": 1},"
            " \"detectors\": {\"max_kyes\": 10},"
            " \"sinks\": [{\"type\": \"stdout\"},"
            "  {\"type\": \"file\", \"path\": \"/tmp/a\","
            "   \"min_severity\": \"urgent\", \"burts\": 2},"
            "  {\"type\": \"pagerdity\", \"url\": 7},"
            "  {\"type\": \"stdout\"}],"
            " \"rules\": [{\"name\": \"a\", \"kind\": \"count\","
            "   \"severity\": \"error\", \"window_s\": 60, \"threshold\": 5,"
            "   \"match\": {\"tool_nme\": \"x\", \"cost_usd\": {\">\": \"1\"},"
            "     \"tool_name\": \"y\"}},"
            "  " RULE_OK_COUNT("b") ","
            "  {\"name\": \"c\", \"kind\": \"sequence\", \"severity\": "
            "   \"error\", \"within_s\": 60, \"steps\": [{\"tool_name\": \"a\"},"
            "   {\"event_typ\": \"tool_call_request\"}, {\"error\": 1}]},"
            "  " RULE_OK_COUNT("b") ","
            "  {\"name\": \"a\", \"kind\": \"coutn\", \"bogus\": 1},"
            "  {\"name\": \"d\", \"kind\": \"count\", \"treshold\": 5,"
            "   \"clear_threshold\": 9}],"
            " \"instance\": \"\"}",
            NULL),
        CFG_EINVAL);
    EXPECT_LIST(
        "stream.stall_timeout_s: expected an integer between 1 and 3600, "
        "got \"45\"",
        "detectors.max_kyes: unknown key (not an engine setting; the older "
        "per-detector objects are volume, payload_size, latency, "
        "error_rate, credential_access and stream_stalled; rules go in the "
        "`rules` list)",
        "sinks[1].min_severity: expected one of \"info\", \"warning\", "
        "\"error\", \"critical\", got \"urgent\"",
        "sinks[1].burts: unknown key",
        "sinks[2].type: expected one of \"webhook\", \"slack\", "
        "\"pagerduty\", \"file\", \"stdout\", \"alertmanager\", got "
        "\"pagerdity\"",
        "sinks[3].name: duplicate sink name \"stdout\" (also sinks[0]); "
        "give each sink its own name",
        "rules[0].match.tool_nme: unknown field; did you mean tool_name?",
        "rules[0].match.cost_usd.>: expected a number, got \"1\"",
        "rules[2].steps[1].event_typ: unknown field; did you mean "
        "event_type?",
        "rules[2].steps[2].error: expected true or false, got 1",
        "rules[3].name: \"b\" is already the name of rules[1]",
        "rules[4].kind: unknown kind \"coutn\"; did you mean count?",
        "rules[5].treshold: unknown key; did you mean threshold?",
        "rules[5].severity: missing; every rule requires it (the severity "
        "of its alerts)",
        "rules[5].window_s: missing; kind count requires it (the sliding "
        "window, in seconds of event time)",
        "rules[5].threshold: missing; kind count requires it (fires when "
        "more events than this are in the window)",
        "instance: expected a non-empty string of at most 127 bytes, got "
        "\"\"");
    /* not repeated: rules[4] (no kind) is not a second "a"; rules[5]'s
     * clear_threshold is not compared with a threshold it lacks; the
     * checks across sections (stream.retry_max_ms under retry_base_ms)
     * wait for a file whose keys are good */
    assert_null(c.rules);
}

/* The checks that span keys (within a rule, a sink) and sections: every
 * one of them, once the keys they read are good; each inhibition rule. */
static void test_every_error_cross_checks(void **state)
{
    (void)state;
    assert_int_equal(
        parse_all("{\"stream\": {\"retry_base_ms\": 900, \"retry_max_ms\": "
                  "800, \"headers\": {\"X-A\": \"1\"}, \"headers_env\": "
                  "{\"X-A\": \"TWX\"}},"
                  " \"sinks\": [{\"type\": \"file\"}, {\"type\": "
                  "\"webhook\", \"url_env\": \"U\"}]}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("sinks[0].path: required for a file sink: the file alerts "
                "are appended to",
                "sinks[1].secret_envs: required for a webhook sink: 1 to 4 "
                "names of environment variables holding whsec_ signing "
                "secrets");
    assert_int_equal(
        parse_all("{\"stream\": {\"retry_base_ms\": 900, \"retry_max_ms\": "
                  "800, \"headers\": {\"X-A\": \"1\"}, \"headers_env\": "
                  "{\"X-A\": \"TWX\"}}}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("stream.headers_env.X-A: also in stream.headers (X-A); "
                "give a header in one of them only",
                "stream.retry_max_ms: expected at least stream.retry_base_ms "
                "(900), got 800");
    assert_int_equal(
        parse_all("{\"rules\": [{\"name\": \"d\", \"kind\": \"count\","
                  "  \"severity\": \"error\", \"window_s\": 60,"
                  "  \"threshold\": 5, \"clear_threshold\": 9},"
                  "  " RULE_OK_COUNT("e") ","
                  "  {\"name\": \"f\", \"kind\": \"count\","
                  "  \"severity\": \"error\", \"window_s\": 60,"
                  "  \"threshold\": 5, \"match\": {\"error\": true},"
                  "  \"exclude\": {\"completed\": true}}]}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("rules[0].clear_threshold: expected a number at most the "
                "threshold (5), got 9",
                "rules[2].exclude: excludes every event that match accepts");
    /* the older detectors.<name> objects: each detector's cross-key
     * problems, both of one detector; the rules are not compiled then */
    assert_int_equal(
        parse_all("{\"detectors\": {\"error_rate\": {\"threshold\": 0.2,"
                  " \"clear_threshold\": 0.5, \"window_s\": 60,"
                  " \"bucket_ms\": 7},"
                  " \"latency\": {\"threshold\": 5},"
                  " \"credential_access\": {\"window_s\": 60,"
                  " \"bucket_ms\": 7000},"
                  " \"volume\": {\"clear_threshold\": 150}}}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("detectors.volume.clear_threshold: expected a number at "
                "most the threshold (100), got 150",
                "detectors.error_rate.clear_threshold: expected a number at "
                "most the threshold (0.2), got 0.5",
                "detectors.error_rate.bucket_ms: expected 0 or a divisor of "
                "the window (60000 ms) giving at most 3600 buckets, got 7",
                "detectors.credential_access.bucket_ms: expected 0 or a "
                "divisor of the window (60000 ms) giving at most 3600 "
                "buckets, got 7000");
    /* each inhibition rule */
    assert_int_equal(
        parse_all("{\"inhibit\": [{\"source\": {\"rule\": \"a\"},"
                  " \"target\": {\"rule\": \"b\"}, \"equl\": []},"
                  " {\"source\": {\"rule\": \"a\"}, \"target\": "
                  "{\"rule\": \"b\"}},"
                  " 7]}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("inhibit[0].equl: unknown key (source, target, equal); did "
                "you mean equal?",
                "inhibit[2]: expected an object {\"source\": {...}, "
                "\"target\": {...}, \"equal\": [...]}, got 7");
}

#define RULE_HEAD(extra)                                                    \
    "{\"rules\": [{\"name\": \"a\", \"kind\": \"count\", \"severity\": "    \
    "\"error\", \"window_s\": 60, \"threshold\": 5, " extra "}]}"

/* Inside one value (an object of headers or labels, a list of group_by
 * fields, globs, routing names): every element's first error, in order,
 * each with the text a file with that mistake alone gives. */
static void test_every_error_inside_values(void **state)
{
    (void)state;
    /* stream.headers and headers_env */
    assert_int_equal(
        parse_all("{\"stream\": {\"headers\": {\"X-A\": \"\", \"X-B\": \"b\","
                  " \"Bad Name\": \"v\", \"X-b\": \"c\"},"
                  " \"headers_env\": {\"Accept\": \"K\", \"X-C\": \"1bad\","
                  " \"X-D\": \"OK\"}}}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("stream.headers.X-A: expected a non-empty string, got \"\"",
                "stream.headers.Bad Name: not a valid header name (letters, "
                "digits and !#$%&'*+-.^_`|~ only)",
                "stream.headers.X-b: duplicate header (also "
                "stream.headers.X-B)",
                "stream.headers_env.Accept: set by toolwatch itself; not "
                "configurable",
                "stream.headers_env.X-C: expected " TABLE_ENV_EXPECTED);
    /* a rule's labels object and group_by list */
    assert_int_equal(
        parse_all(RULE_HEAD("\"labels\": {\"team\": \"\", \"ok\": \"x\","
                            " \"bad name\": \"x\"},"
                            " \"group_by\": [5, \"tool_nme\","
                            " \"execution_duration_ms\"]},"
                            " {\"name\": \"b\", \"kind\": \"count\","
                            " \"severity\": \"error\", \"window_s\": 60,"
                            " \"threshold\": 5, \"group_by\": [\"agent_id\","
                            " \"session_id\", \"agent_id\"]"),
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("rules[0].labels.team: expected a non-empty string of at "
                "most 255 bytes, got \"\"",
                "rules[0].labels.bad name: expected a label name of "
                "letters, digits, _, - and . (1 to 63 bytes)",
                "rules[0].group_by[0]: expected the name of a string field, "
                "got 5",
                "rules[0].group_by[1]: unknown field \"tool_nme\"; did you "
                "mean tool_name?",
                "rules[0].group_by[2]: execution_duration_ms is not a string "
                "field; expected one of event_type, tool_name, "
                "tool_category, agent_id, session_id, downstream_system, "
                "response_status, error_code, metadata.<name>",
                "rules[1].group_by[2]: agent_id is already in group_by");
    /* each bad glob of a list, in match and exclude */
    assert_int_equal(
        parse_all(RULE_HEAD("\"match\": {\"tool_name\": [\"a*\", \"\", \"b\","
                            " 5], \"event_type\": [\"tool_call_requst\","
                            " \"tool_call_response\", \"nope\"]},"
                            " \"exclude\": {\"agent_id\": [7, \"x\", 8]}"),
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("rules[0].match.tool_name[1]: expected a non-empty glob, "
                "got \"\"",
                "rules[0].match.tool_name[3]: expected a non-empty glob, "
                "got 5",
                "rules[0].match.event_type[0]: \"tool_call_requst\" matches "
                "no event type; did you mean tool_call_request?",
                "rules[0].match.event_type[2]: \"nope\" matches no event "
                "type (tool_call_request, tool_call_response, "
                "tool_call_error, agent_session_start, agent_session_end)",
                "rules[0].exclude.agent_id[0]: expected a non-empty glob, "
                "got 7",
                "rules[0].exclude.agent_id[2]: expected a non-empty glob, "
                "got 8");
    /* a sink's routing lists and secret_envs */
    assert_int_equal(
        parse_all("{\"sinks\": [{\"type\": \"webhook\", \"url_env\": \"U\","
                  " \"secret_envs\": [\"1A\", \"OK\", \"b-c\"],"
                  " \"rules\": [\"ok*\", \"bad glob\", 7],"
                  " \"labels\": {\"team\": \"\", \"a b\": \"x\","
                  " \"env\": \"prod\"}}]}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("sinks[0].secret_envs[0]: expected " TABLE_ENV_EXPECTED,
                "sinks[0].secret_envs[2]: expected " TABLE_ENV_EXPECTED,
                "sinks[0].rules[1]: expected a rule name or glob (letters, "
                "digits, -, _, * and ?; 1 to 64 bytes), got \"bad glob\"",
                "sinks[0].rules[2]: expected a rule name or glob (letters, "
                "digits, -, _, * and ?; 1 to 64 bytes), got 7",
                "sinks[0].labels.team: expected a non-empty string of at "
                "most 255 bytes (a glob: * and ? match), got \"\"",
                "sinks[0].labels.a b: expected a label name of letters, "
                "digits, _, - and . (1 to 63 bytes)");
    /* an older detectors.<name> object, a string list, redact's fields
     * and kinds */
    assert_int_equal(
        parse_all("{\"detectors\": {\"volume\": {\"threshold\": \"x\","
                  " \"window_s\": -1, \"bogus\": 1},"
                  " \"credential_access\": {\"keywords\": [\"ok\", \"\", 3]}},"
                  " \"redact\": {\"fields\": {\"agent_idd\": \"hash\","
                  " \"summary\": \"bogus\", \"tool_name\": \"mask\"},"
                  " \"kinds\": [\"email\", \"nope\", 5]}}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("detectors.volume.threshold: expected a number between 0 "
                "and 1000000000000, got \"x\"",
                "detectors.volume.window_s: expected an integer between 1 "
                "and 86400, got -1",
                "detectors.volume.bogus: unknown key",
                "detectors.credential_access.keywords[1]: expected a "
                "non-empty string of at most 63 bytes, got \"\"",
                "detectors.credential_access.keywords[2]: expected a "
                "non-empty string of at most 63 bytes, got 3",
                "redact.fields.agent_idd: unknown field; expected one of "
                "tool_name, agent_id, session_id, tool_category, "
                "downstream_system, error_code, record_id, metadata, "
                "metadata.<name>, summary; did you mean agent_id?",
                "redact.fields.summary: expected one of \"mask\" (or "
                "\"redact\"), \"hash\", \"off\" (or \"keep\"), got \"bogus\"",
                "redact.kinds[1]: expected one of \"email\", \"phone\", "
                "\"ssn\", \"card\", \"token\", \"api_key\", \"password\", "
                "got \"nope\"",
                "redact.kinds[2]: expected one of \"email\", \"phone\", "
                "\"ssn\", \"card\", \"token\", \"api_key\", \"password\", "
                "got 5");
    /* an inhibit entry: each key, each bad name of equal; a misspelt
     * source is one mistake (not also "source: missing") */
    assert_int_equal(
        parse_all("{\"inhibit\": [{\"sourc\": {\"rule\": \"a\"},"
                  " \"target\": {\"rule\": \"b\"},"
                  " \"equal\": [5, \"session_id\", \"session_id\"]}]}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("inhibit[0].sourc: unknown key (source, target, equal); did "
                "you mean source?",
                "inhibit[0].equal[0]: expected a field name (session_id, "
                "group.<field>, labels.<name>, rule or severity), got 5",
                "inhibit[0].equal[2]: \"session_id\" is in the list already "
                "(inhibit[0].equal[1])");
    /* an inhibit entry's source and target: each bad matcher */
    assert_int_equal(
        parse_all("{\"inhibit\": [{\"source\": {\"rul\": \"a\","
                  " \"severity\": \"urgent\", \"rule\": \"s*\"},"
                  " \"target\": {\"group.\": \"x\", \"rule\": 5}}]}",
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("inhibit[0].source.rul: unknown key; did you mean rule?",
                "inhibit[0].source.severity: expected a severity (info, "
                "warning, error, critical) or a glob matching one, got "
                "\"urgent\"",
                "inhibit[0].target.group.: expected a field name of 1 to 71 "
                "letters, digits, _, - or . after \"group.\"",
                "inhibit[0].target.rule: expected a glob of 1 to 255 bytes "
                "of UTF-8 text, got 5");
    /* a rule's override: each unknown key */
    assert_int_equal(
        parse_all(RULE_HEAD("\"group_by\": [\"agent_id\"], \"overrides\": "
                            "[{\"mtch\": {\"agent_id\": \"x\"},"
                            " \"threshhold\": 3, \"bogus\": 1}]"),
                  NULL),
        CFG_EINVAL);
    EXPECT_LIST("rules[0].overrides[0].mtch: unknown key; did you mean "
                "match?",
                "rules[0].overrides[0].threshhold: unknown key; did you "
                "mean threshold?",
                "rules[0].overrides[0].bogus: unknown key; expected match, "
                "threshold or enabled");
}

/* Literal secrets: each one; the walk does not follow (it would refuse
 * the same keys again as unknown). */
static void test_every_secret(void **state)
{
    (void)state;
    assert_int_equal(
        parse_all("{\"stream\": {\"api_key\": \"k\", \"url\": "
                  "\"https://u:p@a.example/s\"}, \"status\": {\"token\": "
                  "\"t\"}, \"instance\": 5}",
                  NULL),
        CFG_EINVAL);
    assert_int_equal(table_errs_count(&list), 3);
    assert_non_null(strstr(table_errs_at(&list, 0), "stream.api_key: "));
    assert_non_null(strstr(table_errs_at(&list, 1), "stream.url: "));
    assert_non_null(strstr(table_errs_at(&list, 2), "status.token: "));
}

/* Past the cap: the first TABLE_ERRS_MAX kept, the others counted; and
 * the file's name in front of each of them, a variable's name in front
 * of the messages about what an override set. */
static void test_every_error_bound(void **state)
{
    char text[8192], path[] = "/tmp/tw_cfg_XXXXXX", want[256];
    const char *env[] = {"TOOLWATCH_STATUS__PORT=x", NULL};
    size_t len;
    int fd;

    (void)state;
    len = (size_t)snprintf(text, sizeof text, "{\"stream\": {");
    for (int i = 0; i < TABLE_ERRS_MAX + 10; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%s\"k%02d\": 1", i ? ", " : "", i);
    snprintf(text + len, sizeof text - len, "}}");
    assert_int_equal(parse_all(text, NULL), CFG_EINVAL);
    assert_int_equal(table_errs_count(&list), TABLE_ERRS_MAX + 10);
    assert_int_equal(table_errs_kept(&list), TABLE_ERRS_MAX);
    assert_string_equal(table_errs_at(&list, 0), "stream.k00: unknown key");
    assert_string_equal(table_errs_at(&list, TABLE_ERRS_MAX - 1),
                        "stream.k49: unknown key");

    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\"status\": {\"port\": 1}, \"instance\": 1}");
    table_errs_init(&list, list_msgs, TABLE_ERRS_MAX);
    assert_int_equal(cfg_load_errs(fresh(&c), path, ENVP(env), &list),
                     CFG_EINVAL);
    assert_int_equal(table_errs_count(&list), 2);
    assert_string_equal(table_errs_at(&list, 0),
                        "TOOLWATCH_STATUS__PORT: status.port: expected an "
                        "integer between 0 and 65535, got \"x\"");
    snprintf(want, sizeof want, "%s: instance: expected a non-empty string "
             "of at most 127 bytes, got 1", path);
    assert_string_equal(table_errs_at(&list, 1), want);
    unlink(path);
}

/* What cfg_load_report() hands its callback. */
struct report_lines {
    unsigned n, total;
    char line[TABLE_ERRS_MAX + 1][TABLE_ERR_MAX];
};

static void collect_line(void *ctx, const char *line, unsigned total)
{
    struct report_lines *r = ctx;

    assert_true(r->n < TABLE_ERRS_MAX + 1);
    snprintf(r->line[r->n++], TABLE_ERR_MAX, "%s", line);
    r->total = total;
}

/* cfg_load_report(): each error to the callback with the count, the
 * summary "first (and N more)"; past the cap the count line; a good file
 * calls nothing and leaves the summary alone. */
static void test_load_report(void **state)
{
    static struct report_lines r;
    char path[] = "/tmp/tw_cfg_XXXXXX", text[8192], first[256], want[256];
    size_t len;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\"instance\": 1, \"stream\": {\"urll\": 1},"
                     " \"status\": {\"port\": -1}}");
    memset(&r, 0, sizeof r);
    assert_int_equal(cfg_load_report(fresh(&c), path, NULL, collect_line, &r,
                                     first, sizeof first),
                     CFG_EINVAL);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.total, 3);
    snprintf(want, sizeof want, "%s: instance: expected a non-empty string "
             "of at most 127 bytes, got 1", path);
    assert_string_equal(r.line[0], want);
    snprintf(want, sizeof want, "%s: stream.urll: unknown key", path);
    assert_string_equal(r.line[1], want);
    snprintf(want, sizeof want, "%s: status.port: expected an integer "
             "between 0 and 65535, got -1", path);
    assert_string_equal(r.line[2], want);
    snprintf(want, sizeof want, "%s: instance: expected a non-empty string "
             "of at most 127 bytes, got 1 (and 2 more)", path);
    assert_string_equal(first, want);

    /* one error: the summary is the message alone */
    write_file(path, "{\"instance\": 1}");
    memset(&r, 0, sizeof r);
    assert_int_equal(cfg_load_report(fresh(&c), path, NULL, collect_line, &r,
                                     first, sizeof first),
                     CFG_EINVAL);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.total, 1);
    snprintf(want, sizeof want, "%s: instance: expected a non-empty string "
             "of at most 127 bytes, got 1", path);
    assert_string_equal(first, want);
    assert_string_equal(r.line[0], want);

    /* past the cap: TABLE_ERRS_MAX lines, then the count */
    len = (size_t)snprintf(text, sizeof text, "{\"status\": {");
    for (int i = 0; i < TABLE_ERRS_MAX + 1; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%s\"k%02d\": 1", i ? ", " : "", i);
    snprintf(text + len, sizeof text - len, "}}");
    write_file(path, text);
    memset(&r, 0, sizeof r);
    assert_int_equal(cfg_load_report(fresh(&c), path, NULL, collect_line, &r,
                                     first, sizeof first),
                     CFG_EINVAL);
    assert_int_equal(r.n, TABLE_ERRS_MAX + 1);
    assert_int_equal(r.total, TABLE_ERRS_MAX + 1);
    assert_string_equal(r.line[TABLE_ERRS_MAX], "... and 1 more errors");
    snprintf(want, sizeof want, "%s: status.k00: unknown key (and 50 more)",
             path);
    assert_string_equal(first, want);

    /* a file that cannot be read; then a good one */
    memset(&r, 0, sizeof r);
    assert_int_equal(cfg_load_report(fresh(&c), "/nonexistent/tw.json", NULL,
                                     collect_line, &r, first, sizeof first),
                     CFG_EIO);
    assert_int_equal(r.n, 1);
    assert_string_equal(first, "/nonexistent/tw.json: No such file or "
                               "directory");
    write_file(path, "{}");
    memset(&r, 0, sizeof r);
    snprintf(first, sizeof first, "untouched");
    assert_int_equal(cfg_load_report(fresh(&c), path, NULL, collect_line, &r,
                                     first, sizeof first),
                     CFG_OK);
    assert_int_equal(r.n, 0);
    assert_string_equal(first, "untouched");
    unlink(path);
}

/* check-config on a file that does not load: every error on its own
 * line, then how many more past the cap; exit 1. */
static void test_checkconfig_every_error(void **state)
{
    char path[] = "/tmp/tw_cfg_XXXXXX", text[8192], want[8192];
    struct captured r = {0};
    size_t len, wlen = 0;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    len = (size_t)snprintf(text, sizeof text, "{\"status\": {");
    for (int i = 0; i < TABLE_ERRS_MAX + 3; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%s\"k%02d\": 1", i ? ", " : "", i);
    snprintf(text + len, sizeof text - len, "}}");
    write_file(path, text);
    run_check(path, NULL, &r);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    for (int i = 0; i < TABLE_ERRS_MAX; i++)
        wlen += (size_t)snprintf(want + wlen, sizeof want - wlen,
                                 "toolwatch check-config: %s: status.k%02d: "
                                 "unknown key\n",
                                 path, i);
    snprintf(want + wlen, sizeof want - wlen,
             "toolwatch check-config: ... and 3 more errors\n");
    assert_string_equal(r.err, want);
    captured_free(&r);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test_teardown(test_redact, release),
        cmocka_unit_test(test_rules),
        cmocka_unit_test_teardown(test_inhibit, release),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_syntax_and_files),
        cmocka_unit_test(test_strict_text),
        cmocka_unit_test(test_strict_overrides),
        cmocka_unit_test(test_service_defaults),
        cmocka_unit_test(test_stream_section),
        cmocka_unit_test(test_stream_headers),
        cmocka_unit_test(test_stream_headers_env),
        cmocka_unit_test(test_headers_env_overrides),
        cmocka_unit_test(test_status_section),
        cmocka_unit_test(test_status_probes_public),
        cmocka_unit_test(test_sinks_valid),
        cmocka_unit_test(test_sinks_errors),
        cmocka_unit_test(test_rate_per_s_range),
        cmocka_unit_test(test_sinks_routing_dump),
        cmocka_unit_test(test_literal_secrets),
        cmocka_unit_test(test_unknown_keys_everywhere),
        cmocka_unit_test(test_env_overrides),
        cmocka_unit_test(test_env_override_twice),
        cmocka_unit_test(test_env_override_errors),
        cmocka_unit_test(test_load_env),
        cmocka_unit_test(test_sink_configs),
        cmocka_unit_test(test_checkconfig_never_prints_secrets),
        cmocka_unit_test(test_checkconfig_routing_key_length),
        cmocka_unit_test(test_checkconfig_headers_env),
        cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_keys_documented),
        cmocka_unit_test(test_every_error),
        cmocka_unit_test(test_every_error_cross_checks),
        cmocka_unit_test(test_every_error_inside_values),
        cmocka_unit_test(test_every_secret),
        cmocka_unit_test(test_every_error_bound),
        cmocka_unit_test(test_checkconfig_every_error),
        cmocka_unit_test(test_load_report),
    };
    return cmocka_run_group_tests(tests, NULL, release);
}
