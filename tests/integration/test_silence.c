/*
 * test_silence.c - integration tests of silences and acknowledgements
 * (SPEC section 5): the real binary (TOOLWATCH_BIN, default
 * build/asan/toolwatch) run against a scripted audit stream
 * (tests/support/sse_server) and a signing webhook receiver
 * (tests/support/receiver), changed through its own command line
 * (`toolwatch silence add|list|expire`, `toolwatch ack`) and read through
 * /status.
 *
 * What:
 *  - a silence made with the CLI mutes exactly its matches: the silenced
 *    episode reaches no sink (neither its firing nor its repeats) while
 *    an episode of the same rule on another tool does; /status lists the
 *    silenced episode with silenced_by; `silence list` shows it active;
 *  - `silence expire`: the silenced episode's firing arrives at once;
 *  - `ack`: an acknowledged episode's repeats stop, its resolve arrives;
 *    /status shows acked_by;
 *  - SIGTERM and restart: the silences (one-off, expired, weekly) are
 *    listed as before and still mute; the ack is still in force;
 *  - kill -9 and restart: the same;
 *  - writes without a token configured are refused (403), with a wrong
 *    token 401, a bad silence 400, each with the server's message and a
 *    CLI exit status of 1.
 *
 * Invariants: time is the stream's.  allowed_lateness_s is 3600, so the
 * wall clock never moves the rules' clock during a test (events are
 * stamped from 200 s in the past on): the events pushed do, and with them
 * repeats (every second of event time) and resolves happen exactly when
 * the test says, never in between.  An episode opened at a known time
 * has a known id, so the same first call pushed again after a restart
 * opens the same episode if the rules forgot it.  Every wait has a
 * deadline and waits on a condition (the receiver's condition variable,
 * the child's output, /status polled); every child is ended and its
 * stderr checked for sanitizer reports.
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
#include <sys/wait.h>

#include "base/clock.h"
#include "model/alert.h"
#include "tests/support/twrun.h"

#define WAIT_MS 15000

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_ITEST_WEBHOOK_SECRET"
#define TOKEN_ENV "TW_ITEST_STATUS_TOKEN"
#define TOKEN "itest-status-token-5f1c9a"

/* state dir, stream URL, webhook URL.  "slow" (tool-a, tool-c, tool-d)
 * stays open a minute (of event time) after its last slow call, "blip"
 * (tool-b) four seconds; both repeat every second. */
#define CFG_HEAD                                                           \
    "{\"state_dir\": \"%s\","                                              \
    " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 3600},"           \
    " \"status\": {\"port\": 0%s},"                                        \
    " \"detectors\": {\"allowed_lateness_s\": 3600},"                      \
    " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","                \
    " \"secret_envs\": [\"" SECRET_ENV "\"],"                              \
    " \"retry_base_ms\": 100, \"retry_max_ms\": 300}],"                    \
    " \"rules\": ["                                                        \
    "  {\"name\": \"slow\", \"kind\": \"max\", \"severity\": \"warning\"," \
    "   \"field\": \"execution_duration_ms\", \"threshold\": 5000,"        \
    "   \"window_s\": 60, \"repeat_interval_s\": 1,"                       \
    "   \"match\": {\"tool_name\": [\"tool-a\", \"tool-c\", \"tool-d\"]}," \
    "   \"group_by\": [\"tool_name\"], \"labels\": {\"team\": \"db\"}},"   \
    "  {\"name\": \"blip\", \"kind\": \"max\", \"severity\": \"error\","   \
    "   \"field\": \"execution_duration_ms\", \"threshold\": 5000,"        \
    "   \"window_s\": 4, \"repeat_interval_s\": 1, \"hold_s\": 0,"         \
    "   \"match\": {\"tool_name\": \"tool-b\"},"                           \
    "   \"group_by\": [\"tool_name\"]}]}"
#define WITH_TOKEN ", \"token_env\": \"" TOKEN_ENV "\""

static const char *const env[] = {SECRET_ENV "=" SECRET,
                                  TOKEN_ENV "=" TOKEN, "USER=itest-cli",
                                  NULL};

/* ------------------------------ the stream --------------------------- */

/* A call of `tool` that took dur_ms, SSE id `id`, stamped ts_ms. */
static void push_call(struct tsrv *srv, size_t conn, const char *id,
                      const char *tool, int64_t ts_ms, double dur_ms)
{
    char frame[2048] = "", rec[64];
    const struct twr_call c = {.id = id, .rec = rec, .tool = tool,
                               .agent = "agent-1", .ts_ms = ts_ms,
                               .dur_ms = dur_ms, .payload = 512};

    snprintf(rec, sizeof rec, "rec-%s", id);
    assert_true(twr_add_call(frame, sizeof frame, &c));
    assert_int_equal(tsrv_push(srv, conn, frame, strlen(frame)), 0);
}

/* A slow call (9 s) of `tool`: an anomaly for its rule. */
static void push_slow(struct tsrv *srv, size_t conn, const char *id,
                      const char *tool, int64_t ts_ms)
{
    push_call(srv, conn, id, tool, ts_ms, 9000);
}

/* A quick call of a tool no rule watches: the rules' clock moves to
 * ts_ms. */
static void push_tick(struct tsrv *srv, size_t conn, const char *id,
                      int64_t ts_ms)
{
    push_call(srv, conn, id, "tick", ts_ms, 10);
}

/* ------------------------------ the receiver ------------------------- */

/* One notification the receiver got. */
struct note {
    char type[32];   /* alert.firing / alert.resolved */
    char rule[32];
    char key[64];
    char id[ALERT_ID_HEX + 1];
};

static bool note_at(struct rcv *r, size_t i, struct note *n)
{
    struct rcv_request q;
    cJSON *j;
    const cJSON *d;

    memset(n, 0, sizeof *n);
    if (!rcv_get(r, i, &q) || q.body == NULL)
        return false;
    j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
    d = twr_jobj(j, "data");
    snprintf(n->type, sizeof n->type, "%s",
             twr_jstr(j, "type") ? twr_jstr(j, "type") : "");
    snprintf(n->rule, sizeof n->rule, "%s",
             twr_jstr(d, "rule") ? twr_jstr(d, "rule") : "");
    snprintf(n->key, sizeof n->key, "%s",
             twr_jstr(d, "key") ? twr_jstr(d, "key") : "");
    snprintf(n->id, sizeof n->id, "%s",
             twr_jstr(d, "id") ? twr_jstr(d, "id") : "");
    cJSON_Delete(j);
    return true;
}

/* Notifications for `key` of `type` (NULL: any) received.  The receiver
 * answers 200 at once: no retries, so a request is a notification
 * (repeats made in the same millisecond share a webhook-id). */
static size_t count_notes(struct rcv *r, const char *key, const char *type)
{
    size_t n = 0, total = rcv_count(r);

    for (size_t i = 0; i < total; i++) {
        struct note nt;

        n += note_at(r, i, &nt) && strcmp(nt.key, key) == 0 &&
             (type == NULL || strcmp(nt.type, type) == 0);
    }
    return n;
}

/* Wait until at least `want` notifications for key of type arrived. */
static void wait_notes(struct rcv *r, const char *key, const char *type,
                       size_t want, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    while (count_notes(r, key, type) < want) {
        int64_t left = end - clock_mono_ms();

        if (left <= 0) {
            twr_pause_ms(200);
            proc_poll(run);
            twr_dump_stderr("run", run);
            fail_msg("%zu of %zu %s notifications for %s", count_notes(r, key,
                     type), want, type ? type : "any", key);
        }
        rcv_wait_requests(r, rcv_count(r) + 1, (int)(left < 500 ? left : 500));
    }
}

/* The episode id of the first notification for key. */
static void episode_of(struct rcv *r, const char *key, char *id)
{
    for (size_t i = 0; i < rcv_count(r); i++) {
        struct note nt;

        if (note_at(r, i, &nt) && strcmp(nt.key, key) == 0) {
            memcpy(id, nt.id, ALERT_ID_HEX + 1);
            return;
        }
    }
    fail_msg("no notification for %s", key);
}

/* No notification for key arrived from request `from` on. */
static void none_since(struct rcv *r, size_t from, const char *key)
{
    for (size_t i = from; i < rcv_count(r); i++) {
        struct note nt;

        assert_true(note_at(r, i, &nt));
        if (strcmp(nt.key, key) == 0)
            fail_msg("%s notified (%s) when it should not be", key, nt.type);
    }
}

/* ------------------------------ the CLI ------------------------------ */

/* `toolwatch <args...>` with env; its stdout into out.  Returns its exit
 * status. */
static int cli(struct twr_fx *f, const char *const *envp, char *out,
               size_t cap, const char *const args[])
{
    const char *argv[32] = {twr_bin()};
    struct proc *p;
    size_t n = 1, len;
    int status = -1;
    const char *o;

    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    p = twr_fx_proc(f, proc_spawn(argv, envp));
    assert_non_null(p);
    assert_true(proc_wait_exit(p, WAIT_MS, &status));
    assert_true(twr_sanitizers_clean("cli", p));
    o = proc_stdout_all(p, &len);
    snprintf(out, cap, "%s", o);
    if (getenv("ITEST_VERBOSE") != NULL) {
        const char *e = proc_stderr_all(p, &len);
        fprintf(stderr, "cli %s %s -> %d: %s%s", args[0], args[1],
                WEXITSTATUS(status), o, e);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The CLI's stderr of the last run of p: whether it holds needle. */
static bool cli_said(struct twr_fx *f, const char *needle)
{
    return proc_output_contains(f->procs[f->nprocs - 1], needle);
}

/* ------------------------------ /status ------------------------------ */

/* The firing entry for key in /status (with the token), or NULL; the
 * caller deletes *doc. */
static const cJSON *firing_of(unsigned port, const char *key, cJSON **doc)
{
    static struct hget_body b;
    const cJSON *e;

    *doc = NULL;
    if (hget_auth(port, "/status", TOKEN, 0, &b) != 200)
        return NULL;
    *doc = cJSON_ParseWithLength(b.data, b.len);
    cJSON_ArrayForEach(e, twr_jobj(*doc, "firing"))
        if (twr_streq(twr_jstr(e, "key"), key))
            return e;
    return NULL;
}

/* Poll /status until key's episode has member `name` equal to want
 * (NULL: null). */
static void wait_status(unsigned port, const char *key, const char *name,
                        const char *want, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;
    char last[128] = "(not listed)";

    for (;;) {
        cJSON *doc;
        const cJSON *e = firing_of(port, key, &doc), *v;
        bool ok = false;

        if (e != NULL) {
            v = cJSON_GetObjectItemCaseSensitive(e, name);
            ok = want == NULL ? cJSON_IsNull(v)
                              : cJSON_IsString(v) &&
                                    strcmp(v->valuestring, want) == 0;
            snprintf(last, sizeof last, "%s",
                     cJSON_IsString(v) ? v->valuestring : "null");
        }
        cJSON_Delete(doc);
        if (ok)
            return;
        if (clock_mono_ms() > end) {
            proc_poll(run);
            twr_dump_stderr("run", run);
            fail_msg("/status %s.%s is %s, want %s", key, name, last,
                     want ? want : "null");
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* ------------------------------ the tests ---------------------------- */

struct svc {
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    unsigned port;
    char url[64];   /* --url of the status server */
    size_t conn;    /* the stream connection of the run */
};

static void start(struct twr_fx *f, struct svc *s)
{
    assert_non_null(s->run = twr_start_run(f, s->d.cfg, env, &s->port));
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", s->port);
    assert_true(tsrv_wait_requests(s->srv, s->conn + 1, WAIT_MS));
}

static void setup_svc(struct twr_fx *f, struct svc *s, int token)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    char surl[128], hook[128];

    memset(s, 0, sizeof *s);
    assert_int_equal(twr_dir_make(f, &s->d, "silence"), 0);
    assert_non_null(s->r = twr_fx_rcv(f));
    rcv_url(s->r, "/hook", hook, sizeof hook);
    assert_non_null(s->srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    for (int i = 0; i < 4; i++)
        assert_int_equal(tsrv_add_response(s->srv, &keep), 0);
    assert_int_equal(twr_write_config(s->d.cfg, CFG_HEAD, s->d.state, surl,
                                      token ? WITH_TOKEN : "", hook), 0);
}

/* A silence made with the CLI mutes its matches only; expiring it sends
 * the held firing; an ack stops repeats and keeps the resolve; after
 * SIGTERM and a restart the silences and the ack are in force. */
static void test_silence_expire_ack_restart(void **state)
{
    struct twr_fx *f = *state;
    struct svc s;
    char out[8192], sid[64], sid2[64], sid3[64], idb[64], idc[64];
    char acked_at[64];
    const int64_t t = clock_wall_ms() - 200000;
    size_t before, c_before;

    setup_svc(f, &s, 1);
    start(f, &s);

    /* a silence on slow / tool-a, by the CLI through -c and --url */
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--rule", "slow",
        "--group", "tool_name=tool-a", "--duration", "1h", "--comment",
        "maintenance of tool-a", "--by", "itest", NULL}), 0);
    assert_int_equal(sscanf(out, "%63s", sid), 1);
    assert_int_equal(strlen(sid), 16);

    /* tool-a and tool-c fire, and repeat twice: tool-c's all go out,
     * none of tool-a's */
    push_slow(s.srv, s.conn, "1", "tool-a", t);
    push_slow(s.srv, s.conn, "2", "tool-c", t);
    push_tick(s.srv, s.conn, "3", t + 1000);
    push_tick(s.srv, s.conn, "4", t + 2000);
    wait_notes(s.r, "tool-c", "alert.firing", 3, s.run);
    assert_true(twr_stderr_after("run", s.run, 0, "firing slow tool-a not "
                                 "sent: silenced by", WAIT_MS));
    assert_int_equal(count_notes(s.r, "tool-a", NULL), 0);
    episode_of(s.r, "tool-c", idc);
    wait_status(s.port, "tool-a", "silenced_by", sid, s.run);
    wait_status(s.port, "tool-c", "silenced_by", NULL, s.run);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "list", "-c", s.d.cfg, "--url", s.url, NULL}), 0);
    assert_non_null(strstr(out, sid));
    assert_non_null(strstr(out, "active"));
    assert_non_null(strstr(out, "group.tool_name=tool-a"));

    /* expired: the held firing of tool-a goes out at once, with no event
     * to carry it */
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "expire", sid, "-c", s.d.cfg, "--url", s.url, NULL}),
        0);
    assert_non_null(strstr(out, "expired "));
    assert_non_null(strstr(out, sid));
    wait_notes(s.r, "tool-a", "alert.firing", 1, s.run);
    wait_status(s.port, "tool-a", "silenced_by", NULL, s.run);

    /* ack: blip / tool-b fires and is acked before a second passes */
    push_slow(s.srv, s.conn, "5", "tool-b", t + 3000);
    wait_notes(s.r, "tool-b", "alert.firing", 1, s.run);
    episode_of(s.r, "tool-b", idb);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "ack", idb, "-c", s.d.cfg, "--url", s.url, "--by", "oncall-amy",
        "--comment", "looking", NULL}), 0);
    assert_int_equal(strncmp(out, "acked ", 6), 0);
    assert_non_null(strstr(out, idb));
    assert_non_null(strstr(out, " by oncall-amy at "));
    snprintf(acked_at, sizeof acked_at, "%s", strstr(out, " at ") + 4);
    acked_at[strcspn(acked_at, "\n")] = '\0';
    wait_status(s.port, "tool-b", "acked_by", "oncall-amy", s.run);
    wait_status(s.port, "tool-b", "acked_at", acked_at, s.run);
    /* two seconds: tool-c repeats twice more, tool-b not at all; then its
     * window passes and its resolve goes out */
    c_before = count_notes(s.r, "tool-c", "alert.firing");
    push_tick(s.srv, s.conn, "6", t + 4000);
    push_tick(s.srv, s.conn, "7", t + 5000);
    wait_notes(s.r, "tool-c", "alert.firing", c_before + 2, s.run);
    push_tick(s.srv, s.conn, "8", t + 9000);
    wait_notes(s.r, "tool-b", "alert.resolved", 1, s.run);
    assert_int_equal(count_notes(s.r, "tool-b", "alert.firing"), 1);
    assert_true(twr_stderr_after("run", s.run, 0, "repeat of blip tool-b "
                                 "not sent: acknowledged", WAIT_MS));
    /* a second ack of the episode now closed: 404, exit 1 */
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "ack", idb, "-c", s.d.cfg, "--url", s.url, NULL}), 1);
    assert_true(cli_said(f, "no open episode with that id (HTTP 404)"));

    /* before the restart: ack tool-c, add a one-off silence on tool-d and
     * a weekly one */
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "ack", idc, "-c", s.d.cfg, "--url", s.url, NULL}), 0);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--group",
        "tool_name=tool-d", "--duration", "2h", "--comment", "d", NULL}),
        0);
    assert_int_equal(sscanf(out, "%63s", sid2), 1);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--severity",
        "critical", "--days", "sat,sun", "--start", "22:00", "--end",
        "06:00", "--tz", "Europe/Berlin", "--comment", "weekend", NULL}),
        0);
    assert_int_equal(sscanf(out, "%63s", sid3), 1);
    assert_true(twr_stop("run", s.run));

    /* after SIGTERM */
    s.conn++;
    start(f, &s);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "list", "-c", s.d.cfg, "--url", s.url, NULL}), 0);
    assert_non_null(strstr(out, sid));
    assert_non_null(strstr(out, sid2));
    assert_non_null(strstr(out, sid3));
    assert_non_null(strstr(out, "sat,sun 22:00-06:00 Europe/Berlin"));
    assert_non_null(strstr(out, "expired"));
    before = rcv_count(s.r);
    /* tool-c's ack holds: the same episode (its first call again, at the
     * same time, if the rules forgot it; else its repeats) sends
     * nothing; tool-d is silenced by the kept silence */
    push_slow(s.srv, s.conn, "11", "tool-c", t);
    push_slow(s.srv, s.conn, "12", "tool-d", t + 10000);
    assert_true(twr_stderr_after("run", s.run, 0, "firing slow tool-d not "
                                 "sent: silenced by", WAIT_MS));
    assert_true(twr_stderr_after("run", s.run, 0, "slow tool-c not sent: "
                                 "acknowledged", WAIT_MS));
    wait_status(s.port, "tool-d", "silenced_by", sid2, s.run);
    wait_status(s.port, "tool-c", "acked_by", "itest-cli", s.run);
    assert_int_equal(count_notes(s.r, "tool-d", NULL), 0);
    none_since(s.r, before, "tool-c");
    assert_true(twr_all_signed(s.r, SECRET));
    assert_true(twr_stop("run", s.run));
}

/* kill -9: the silence and the ack made just before are in force after
 * the restart. */
static void test_kill9_keeps_silences_and_acks(void **state)
{
    struct twr_fx *f = *state;
    struct svc s;
    char out[8192], sid[64], idc[64];
    const int64_t t = clock_wall_ms() - 200000;
    size_t before;

    setup_svc(f, &s, 1);
    start(f, &s);
    push_slow(s.srv, s.conn, "1", "tool-c", t);
    wait_notes(s.r, "tool-c", "alert.firing", 1, s.run);
    episode_of(s.r, "tool-c", idc);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "ack", idc, "-c", s.d.cfg, "--url", s.url, NULL}), 0);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--rule", "slow",
        "--label", "team=DB", "--group", "tool_name=tool-d", "--ends-at",
        "2099-01-01T00:00:00Z", "--comment", "until further notice", NULL}),
        0);
    assert_int_equal(sscanf(out, "%63s", sid), 1);
    assert_true(twr_kill9("run", s.run));

    s.conn++;
    start(f, &s);
    before = rcv_count(s.r);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "list", "-c", s.d.cfg, "--url", s.url, "--json", NULL}),
        0);
    assert_non_null(strstr(out, sid));
    assert_non_null(strstr(out, "\"state\":\"active\""));
    assert_non_null(strstr(out, "\"labels.team\":\"DB\""));
    push_slow(s.srv, s.conn, "21", "tool-c", t);
    push_slow(s.srv, s.conn, "20", "tool-d", t + 5000);
    assert_true(twr_stderr_after("run", s.run, 0, "firing slow tool-d not "
                                 "sent: silenced by", WAIT_MS));
    assert_true(twr_stderr_after("run", s.run, 0, "slow tool-c not sent: "
                                 "acknowledged", WAIT_MS));
    wait_status(s.port, "tool-d", "silenced_by", sid, s.run);
    assert_int_equal(count_notes(s.r, "tool-d", NULL), 0);
    none_since(s.r, before, "tool-c");
    assert_true(twr_stop("run", s.run));
}

/* Refusals through the CLI: the server's message, exit 1. */
static void test_refusals(void **state)
{
    struct twr_fx *f = *state;
    static const char *const bad_env[] = {SECRET_ENV "=" SECRET,
                                          TOKEN_ENV "=not-the-token", NULL};
    struct svc s;
    char out[8192];

    /* no token configured: writes are off, reads work */
    setup_svc(f, &s, 0);
    start(f, &s);
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--rule", "x",
        "--duration", "1h", "--comment", "c", NULL}), 1);
    assert_true(cli_said(f, "API writes need a bearer token: set "
                         "status.token_env (HTTP 403)"));
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "list", "-c", s.d.cfg, "--url", s.url, NULL}), 0);
    assert_string_equal(out, "no silences\n");
    assert_true(twr_stop("run", s.run));

    /* with a token: a wrong one is 401; a bad silence 400 */
    setup_svc(f, &s, 1);
    start(f, &s);
    assert_int_equal(cli(f, bad_env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--rule", "x",
        "--duration", "1h", "--comment", "c", NULL}), 1);
    assert_true(cli_said(f, "unauthorized (HTTP 401)"));
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--rule", "x",
        "--days", "mon", "--start", "09:00", "--end", "17:00", "--tz",
        "Mars/Olympus_Mons", "--comment", "c", NULL}), 1);
    assert_true(cli_said(f, "recurrence.tz: unknown time zone "
                         "\"Mars/Olympus_Mons\" (HTTP 400)"));
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "add", "-c", s.d.cfg, "--url", s.url, "--severity",
        "urgent", "--duration", "1h", "--comment", "c", NULL}), 1);
    assert_true(cli_said(f, "matchers.severity: expected a severity"));
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "expire", "0123456789abcdef", "-c", s.d.cfg, "--url",
        s.url, NULL}), 1);
    assert_true(cli_said(f, "no such silence (HTTP 404)"));
    /* the status port is 0 in the file: without --url the CLI says so */
    assert_int_equal(cli(f, env, out, sizeof out, (const char *const[]){
        "silence", "list", "-c", s.d.cfg, NULL}), 1);
    assert_true(cli_said(f, "status.port is 0 (any free port): give --url"));
    assert_false(proc_output_contains(s.run, TOKEN));
    assert_true(twr_stop("run", s.run));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, twr_setup, twr_teardown)
    const struct CMUnitTest tests[] = {
        T(test_silence_expire_ack_restart),
        T(test_kill9_keeps_silences_and_acks),
        T(test_refusals),
    };
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
