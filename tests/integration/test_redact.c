/*
 * test_redact.c - redaction as `toolwatch run` applies it (the `redact`
 * configuration): the real binary against a scripted audit stream on
 * 127.0.0.1, alerts written by a file sink.
 *
 *  - the default (no `redact`): a rule grouped by agent_id gives two
 *    agents' e-mail addresses two different [email#<6 hex>] group values,
 *    and each alert writes its agent's tag alike in the group, the key,
 *    the summary and the sample; the key is made in the state directory;
 *    an error message with an address and a card never leaves; a payload
 *    of 4111111111111111 bytes stays a number; `replay -c` of the same
 *    stream with the same file gives the same tags (the state
 *    directory's key), and elsewhere, without the key, masks them and
 *    says why;
 *  - hash mode: the same tags for the sample's agent, neither address
 *    written, and the tag of one agent is the same after a restart (the
 *    key is state_dir/redact.key: 32 bytes, mode 0600, made at the first
 *    start);
 *  - a payload of 4111111111111111 bytes (Luhn-valid) is the alert's
 *    value and stays a number in the summary;
 *  - mode mask (SPEC section 3's form) writes [REDACTED:email] in every
 *    field and makes no key; key_env naming an unset variable stops the
 *    start with the variable's name.
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

/* Run the service on config `cfg` until its first sink delivered n
 * notifications, and stop it. */
static void run_until(struct twr_fx *f, const char *cfg, double n)
{
    struct proc *p;
    unsigned port;

    assert_non_null(p = twr_start_run(f, cfg, NULL, &port));
    assert_true(twr_wait_sink0(port, "delivered", n, WAIT_MS, p));
    assert_true(twr_stop("run", p));
}

/* The state directory's redaction key: 32 bytes, 0600. */
static void check_key(const char *state)
{
    char path[192];
    struct stat st;

    snprintf(path, sizeof path, "%s/redact.key", state);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* Is t a hash-mode tag of an e-mail address, "[email#" 6 hex "]"? */
static bool is_email_tag(const char *t)
{
    if (strncmp(t, "[email#", 7) != 0 || strlen(t) != 14 || t[13] != ']')
        return false;
    for (int i = 7; i < 13; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    return true;
}

/* The first "[email#...]" tag after `after`, into tag[15]. */
static void tag_after(const char *text, const char *after, char *tag)
{
    const char *p = strstr(text, after);

    assert_non_null(p);
    p = strstr(p, "[email#");
    assert_non_null(p);
    memcpy(tag, p, 14);
    tag[14] = '\0';
    assert_true(is_email_tag(tag));
}

/* A rule grouped by agent_id (every other rule off), one file sink; no
 * `redact`: the defaults. */
#define CFG_AGENTS                                                        \
    "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"              \
    " \"status\": {\"port\": 0},"                                         \
    " \"rules\": [{\"name\": \"big_payload\", \"kind\": \"max\","           \
    " \"field\": \"response_payload_size_bytes\","                        \
    " \"match\": {\"completed\": true}, \"group_by\": [\"agent_id\"],"       \
    " \"window_s\": 300, \"threshold\": 1000000, \"severity\": \"warning\"}],"\
    " \"sinks\": [{\"type\": \"file\", \"path\": \"%s/alerts.ndjson\"}]}"

/* A string member of an object, "" when absent. */
static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* `toolwatch replay -c cfg sse`: exit 0; its stdout and stderr, whole
 * (freed by the caller). */
static void replay(struct twr_fx *f, const char *cfg, const char *sse,
                   char **out, char **err)
{
    const char *argv[] = {twr_bin(), "replay", "-c", cfg, sse, NULL};
    struct proc *p = twr_fx_proc(f, proc_spawn(argv, NULL));
    const char *o, *e;
    size_t on, en;
    int status = -1;

    assert_non_null(p);
    assert_true(proc_wait_exit(p, WAIT_MS, &status));
    assert_int_equal(status, 0);
    o = proc_stdout_all(p, &on);
    e = proc_stderr_all(p, &en);
    assert_non_null(*out = strndup(o != NULL ? o : "", on));
    assert_non_null(*err = strndup(e != NULL ? e : "", en));
}

/* The default: identity keys hash, one tag per agent everywhere in its
 * alert, two agents apart; error messages never leave; numbers stay. */
static void test_default_hashes_keys(void **state)
{
    struct twr_fx *f = *state;
    static const char *const agents[] = {"alice@example.com",
                                         "bob@example.com"};
    static const char *const tools[] = {"export_a", "export_b"};
    char frames[8192], url[128], path[192], ts[40], tags[2][15], msg[512];
    struct twr_dir d, other;
    char *text, *err, *line, *save = NULL;
    size_t len, lines = 0;

    assert_int_equal(twr_dir_make(f, &d, "redactd"), 0);
    calls(frames, sizeof frames, agents, tools, 2, 1);
    /* a third agent's error: its message holds an address and a card */
    assert_true(clock_format_iso8601(clock_wall_ms(), ts, sizeof ts) > 0);
    len = strlen(frames);
    assert_true(
        snprintf(frames + len, sizeof frames - len,
                 "id: e3\nevent: tool_call_error\ndata: {\"record_id\":"
                 "\"r3\",\"timestamp\":\"%s\",\"event_type\":"
                 "\"tool_call_error\",\"session_id\":\"sess-3\","
                 "\"agent_id\":\"carol@example.com\",\"tool_name\":"
                 "\"export_c\",\"response_status\":\"error\","
                 "\"response_payload_size_bytes\":4111111111111111,"
                 "\"execution_duration_ms\":10,\"error_code\":\"E_CARD\","
                 "\"error_message\":\"card 4111 1111 1111 1111 of "
                 "dave@example.com declined\"}\n\n",
                 ts) < (int)(sizeof frames - len));
    assert_non_null(twr_fx_stream(f, frames, url, sizeof url));
    assert_int_equal(twr_write_config(d.cfg, CFG_AGENTS, d.state, url,
                                      d.path),
                     0);
    run_until(f, d.cfg, 3);
    check_key(d.state); /* the default hashes: the key was made */

    snprintf(path, sizeof path, "%s/alerts.ndjson", d.path);
    text = slurp(path);
    assert_null(strstr(text, "@example.com"));
    assert_null(strstr(text, "4111 1111"));
    assert_null(strstr(text, "declined"));
    assert_null(strstr(text, "REDACTED"));
    memset(tags, 0, sizeof tags);
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
        const cJSON *sample = cJSON_GetObjectItemCaseSensitive(data,
                                                               "sample");
        const cJSON *group = cJSON_GetObjectItemCaseSensitive(data, "group");
        const char *tag = str_of(group, "agent_id");
        const char *tool = str_of(sample, "tool_name");

        assert_non_null(j);
        assert_true(is_email_tag(tag));
        assert_string_equal(str_of(data, "key"), tag);
        assert_string_equal(str_of(sample, "agent_id"), tag);
        assert_non_null(strstr(str_of(data, "summary"), tag));
        assert_non_null(strstr(str_of(data, "summary"),
                               "returned 4111111111111111 bytes"));
        assert_true(cJSON_GetObjectItemCaseSensitive(data, "value")
                        ->valuedouble == 4111111111111111.0);
        if (strcmp(tool, "export_a") == 0)
            snprintf(tags[0], sizeof tags[0], "%s", tag);
        else if (strcmp(tool, "export_b") == 0)
            snprintf(tags[1], sizeof tags[1], "%s", tag);
        else
            assert_string_equal(tool, "export_c");
        lines++;
        cJSON_Delete(j);
    }
    assert_int_equal(lines, 3);
    assert_true(is_email_tag(tags[0]));
    assert_true(is_email_tag(tags[1]));
    assert_string_not_equal(tags[0], tags[1]);
    free(text);

    /* replay of the same stream with the same file finds the service's
     * key: the same tags as run gave */
    snprintf(path, sizeof path, "%s/stream.sse", d.path);
    assert_int_equal(twr_write_file(path, frames), 0);
    replay(f, d.cfg, path, &text, &err);
    assert_null(strstr(text, "@example.com"));
    assert_null(strstr(text, "REDACTED"));
    assert_non_null(strstr(text, tags[0]));
    assert_non_null(strstr(text, tags[1]));
    assert_null(strstr(err, "masked"));
    free(text);
    free(err);
    /* elsewhere, without the key, the hashed fields are masked, and
     * replay says why */
    assert_int_equal(twr_dir_make(f, &other, "redactr"), 0);
    assert_int_equal(twr_write_config(other.cfg, CFG_AGENTS, other.state,
                                      url, other.path),
                     0);
    replay(f, other.cfg, path, &text, &err);
    assert_null(strstr(text, "@example.com"));
    assert_null(strstr(text, "[email#"));
    assert_non_null(strstr(text, "\"agent_id\":\"[REDACTED:email]\""));
    snprintf(msg, sizeof msg, "toolwatch replay: no redaction key in %s "
             "(made by the service's first run): hashed fields are masked "
             "instead\n", other.state);
    assert_non_null(strstr(err, msg));
    free(text);
    free(err);
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
    char ta[15], tb[15], tc[15];
    struct twr_dir d;
    struct tsrv *s;
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
    run_until(f, d.cfg, 2);
    check_key(d.state);

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
    run_until(f, d.cfg, 1);
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
    assert_null(strstr(text, "[email#"));
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
        cmocka_unit_test_setup_teardown(test_default_hashes_keys, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(
            test_hash_tags_stay_apart_and_survive_restart, twr_setup,
            twr_teardown),
        cmocka_unit_test_setup_teardown(test_mask_mode_and_missing_key_env,
                                        twr_setup, twr_teardown),
    };
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
