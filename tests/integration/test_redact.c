/*
 * test_redact.c - redaction as `toolwatch run` applies it (the `redact`
 * configuration): the real binary against a scripted audit stream on
 * 127.0.0.1, alerts written by a file sink.
 *
 *  - hash mode: two agents' e-mail addresses get two
 *    different [REDACTED:email:<8 hex>] tags, neither address is written,
 *    and the tag of one agent is the same after a restart (the key is
 *    state_dir/redact.key: 32 bytes, mode 0600, made at the first start);
 *  - a payload of 4111111111111111 bytes (Luhn-valid) is the alert's
 *    value and stays a number in the summary;
 *  - mask mode (the default: SPEC section 3's form) writes
 *    [REDACTED:email]; key_env naming an unset variable
 *    stops the start with the variable's name.
 *
 * No sleeping: the service's progress is read from /status (polled, as
 * external state) and the file it writes after that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/twrun.h"

#define WAIT_MS 15000

/* Only payload_size, one file sink, the status server on any port. */
#define CFG                                                               \
    "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"              \
    " \"status\": {\"port\": 0}, %s"                                      \
    " \"detectors\": {\"volume\": {\"enabled\": false},"                  \
    " \"error_rate\": {\"enabled\": false},"                              \
    " \"latency\": {\"enabled\": false},"                                 \
    " \"credential_access\": {\"enabled\": false},"                       \
    " \"stream_stalled\": {\"enabled\": false}},"                         \
    " \"sinks\": [{\"type\": \"file\", \"path\": \"%s/alerts.ndjson\"}]}"

/* Frames of one large call per (agent, tool). */
static void calls(char *out, size_t cap, const char *const agents[],
                  const char *const tools[], size_t n, int first_id)
{
    char id[16], rec[16];
    int64_t now = clock_wall_ms();

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        struct twr_call c = {.tool = tools[i], .agent = agents[i],
                             .ts_ms = now, .dur_ms = 10,
                             .payload = 4111111111111111LL};

        snprintf(id, sizeof id, "e%d", first_id + (int)i);
        snprintf(rec, sizeof rec, "r%d", first_id + (int)i);
        c.id = id;
        c.rec = rec;
        assert_true(twr_add_call(out, cap, &c));
    }
}

/* The file sink's lines, whole. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *p = calloc(1, 1 << 20);
    size_t n;

    assert_non_null(f);
    assert_non_null(p);
    n = fread(p, 1, (1 << 20) - 1, f);
    p[n] = '\0';
    fclose(f);
    return p;
}

/* The 8 hex digits of the first [REDACTED:email:...] after `after`. */
static void tag_after(const char *text, const char *after, char *tag)
{
    const char *p = strstr(text, after);

    assert_non_null(p);
    p = strstr(p, "[REDACTED:email:");
    assert_non_null(p);
    p += strlen("[REDACTED:email:");
    for (int i = 0; i < 8; i++)
        assert_true((p[i] >= '0' && p[i] <= '9') ||
                    (p[i] >= 'a' && p[i] <= 'f'));
    assert_int_equal(p[8], ']');
    memcpy(tag, p, 8);
    tag[8] = '\0';
}

static void test_hash_tags_stay_apart_and_survive_restart(void **state)
{
    struct twr_fx *f = *state;
    static const char *const agents[] = {"alice@example.com",
                                         "bob@example.com"};
    static const char *const tools[] = {"export_a", "export_b"};
    static const char *const agents2[] = {"alice@example.com"};
    static const char *const tools2[] = {"export_c"};
    char frames[8192], frames2[4096], url[128], path[192];
    char ta[9], tb[9], tc[9];
    struct twr_dir d;
    struct tsrv *s;
    struct proc *p;
    struct stat st;
    unsigned port;
    char *text;

    assert_int_equal(twr_dir_make(f, &d, "redact"), 0);
    calls(frames, sizeof frames, agents, tools, 2, 1);
    calls(frames2, sizeof frames2, agents2, tools2, 1, 3);
    assert_non_null(s = twr_fx_stream(f, frames, url, sizeof url));
    assert_int_equal(tsrv_add_stream(s, frames2, TSRV_HANG), 0);
    assert_int_equal(twr_write_config(d.cfg, CFG, d.state, url,
                                      "\"redact\": {\"mode\": \"hash\"},",
                                      d.path),
                     0);
    assert_non_null(p = twr_start_run(f, d.cfg, NULL, &port));
    assert_true(twr_wait_sink0(port, "delivered", 2, WAIT_MS, p));
    assert_true(twr_stop("run", p));

    snprintf(path, sizeof path, "%s/redact.key", d.state);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(st.st_mode & 0777, 0600);

    snprintf(path, sizeof path, "%s/alerts.ndjson", d.path);
    text = slurp(path);
    assert_null(strstr(text, "alice@"));
    assert_null(strstr(text, "bob@"));
    tag_after(text, "export_a", ta);
    tag_after(text, "export_b", tb);
    assert_string_not_equal(ta, tb);
    /* the payload size is the alert's value, not a card */
    assert_non_null(strstr(text, "returned 4111111111111111 bytes"));
    assert_null(strstr(text, "REDACTED:card"));
    free(text);

    /* the same agent after a restart: the same tag */
    assert_non_null(p = twr_start_run(f, d.cfg, NULL, &port));
    assert_true(twr_wait_sink0(port, "delivered", 1, WAIT_MS, p));
    assert_true(twr_stop("run again", p));
    text = slurp(path);
    tag_after(text, "export_c", tc);
    assert_string_equal(tc, ta);
    free(text);
}

static void test_mask_mode_and_missing_key_env(void **state)
{
    struct twr_fx *f = *state;
    static const char *const agents[] = {"alice@example.com"};
    static const char *const tools[] = {"export_a"};
    char frames[4096], url[128], path[192];
    struct twr_dir d;
    struct proc *p;
    unsigned port;
    char *text;
    size_t len;
    int status = -1;

    assert_int_equal(twr_dir_make(f, &d, "redactm"), 0);
    calls(frames, sizeof frames, agents, tools, 1, 1);
    assert_non_null(twr_fx_stream(f, frames, url, sizeof url));
    assert_int_equal(twr_write_config(d.cfg, CFG, d.state, url,
                                      "\"redact\": {\"mode\": \"mask\"},",
                                      d.path),
                     0);
    assert_non_null(p = twr_start_run(f, d.cfg, NULL, &port));
    assert_true(twr_wait_sink0(port, "delivered", 1, WAIT_MS, p));
    assert_true(twr_stop("run", p));
    snprintf(path, sizeof path, "%s/alerts.ndjson", d.path);
    text = slurp(path);
    assert_non_null(strstr(text, "\"agent_id\":\"[REDACTED:email]\""));
    free(text);
    snprintf(path, sizeof path, "%s/redact.key", d.state);
    assert_int_equal(access(path, F_OK), -1); /* no key in mask mode */

    /* key_env names a variable that is not set: no start */
    assert_int_equal(twr_write_config(d.cfg, CFG, d.state, url,
                                      "\"redact\": {\"mode\": \"hash\", "
                                      "\"key_env\": \"TW_ITEST_NO_SUCH_KEY\"},",
                                      d.path),
                     0);
    {
        const char *argv[] = {twr_bin(), "run", "-c", d.cfg, NULL};

        p = twr_fx_proc(f, proc_spawn(argv, NULL));
        assert_non_null(p);
        assert_true(proc_wait_exit(p, WAIT_MS, &status));
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 1);
        assert_non_null(strstr(proc_stderr_all(p, &len),
                               "redact.key_env: TW_ITEST_NO_SUCH_KEY is not "
                               "set"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_hash_tags_stay_apart_and_survive_restart, twr_setup,
            twr_teardown),
        cmocka_unit_test_setup_teardown(test_mask_mode_and_missing_key_env,
                                        twr_setup, twr_teardown),
    };
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
