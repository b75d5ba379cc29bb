/*
 * test_gate.c - alerts/gate.c, the notification gate: a silenced
 * episode's notifications are not sent; when its silence ends while it is
 * open its firing goes out then (at the tick, or as the next repeat); a
 * resolve goes out only for an episode whose firing went out; an ack
 * stops repeats and keeps the resolve; the caps fail open; stale
 * episodes are forgotten; the file survives a restart and an unusable
 * one is refused whole.  Time is a parameter: nothing sleeps.
 */
#include "alerts/gate.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir_helpers.h"

#include "base/file.h"

#include <cjson/cJSON.h>

#define MIN 60000LL
#define NOW 1773144000000LL /* 2026-03-10T12:00:00Z */


/* ---- alerts ---- */

struct note {
    struct alert a;
    char doc[256];
};

/* A notification of rule `rule` for tool `tool` (its episode id is made
 * of both), firing or resolved, made at t. */
static void note(struct note *n, const char *rule, const char *tool,
                 int resolved, int64_t t)
{
    uint64_t h = 14695981039346656037u;

    memset(n, 0, sizeof *n);
    for (const char *c = rule; *c != '\0'; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211u;
    for (const char *c = tool; *c != '\0'; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211u;
    n->a.resolved = resolved;
    n->a.timestamp_ms = t;
    snprintf(n->a.id, sizeof n->a.id, "0123456789abcdef%016llx",
             (unsigned long long)h);
    n->a.rule = rule;
    n->a.key = tool;
    n->a.severity = "warning";
    n->a.ngroup = 1;
    n->a.group[0] = (struct alert_pair){"tool_name", tool};
    n->a.nlabels = 1;
    n->a.labels[0] = (struct alert_pair){"team", "db"};
    n->a.started_ms = NOW;
    snprintf(n->doc, sizeof n->doc, "{\"type\":\"alert.%s\",\"id\":\"%s\","
             "\"at\":%lld}", resolved ? "resolved" : "firing", n->a.id,
             (long long)t);
}

static enum gate_verdict decide(gate *g, const struct note *n,
                                const silence_store *ss, int64_t t)
{
    struct gate_decision d;

    assert_int_equal(gate_decide(g, &n->a, n->doc, strlen(n->doc), ss, t,
                                 &d), GATE_OK);
    if (d.verdict != GATE_SILENCED)
        assert_string_equal(d.silence_id, "");
    return d.verdict;
}

static void silence(silence_store *ss, const char *matchers, int64_t t,
                    char id[SILENCE_ID_MAX])
{
    char json[512], err[SILENCE_ERR_MAX] = "";

    snprintf(json, sizeof json, "{\"matchers\": %s, \"ends_at\": "
             "\"2026-03-11T00:00:00Z\", \"comment\": \"c\", "
             "\"created_by\": \"b\"}", matchers);
    if (silence_store_add(ss, json, strlen(json), t, id, err, sizeof err) !=
        SILENCE_STORE_OK)
        fail_msg("%s", err);
}

static silence_store *store(void)
{
    struct silence_store_options o = {.retention_s = 86400};
    silence_store *ss = silence_store_create(&o, NOW);

    assert_non_null(ss);
    return ss;
}

static gate *new_gate(const char *d, uint32_t max)
{
    struct gate_options o = {.state_dir = d, .max_episodes = max};
    gate *g = gate_create(&o);

    assert_non_null(g);
    return g;
}

/* What gate_tick released. */
struct released {
    int n;
    char id[ALERT_ID_HEX + 1];
    char doc[256];
    char rule[64];
    int64_t ts;
    uint32_t nlabels;
};

static void on_release(void *ud, const struct alert *a, const char *doc,
                       size_t len)
{
    struct released *r = ud;

    r->n++;
    snprintf(r->id, sizeof r->id, "%s", a->id);
    snprintf(r->doc, sizeof r->doc, "%.*s", (int)len, doc);
    snprintf(r->rule, sizeof r->rule, "%s", a->rule);
    r->ts = a->timestamp_ms;
    r->nlabels = a->nlabels;
}

/* ---- the gate ---- */

/* Silenced: not sent, held; still held while the silence holds; sent at
 * the tick after it is expired; then the resolve goes out. */
static void test_silenced_then_silence_ends(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(NULL, 0);
    struct released r = {0};
    struct gate_decision d;
    struct gate_info info;
    struct gate_stats st;
    struct note f, rep, res, other;
    char sid[SILENCE_ID_MAX];

    (void)state;
    silence(ss, "{\"rule\": \"latency\", \"group.tool_name\": \"pg*\"}", NOW,
            sid);
    note(&f, "latency", "pg_query", 0, NOW);
    assert_int_equal(gate_decide(g, &f.a, f.doc, strlen(f.doc), ss, NOW, &d),
                     GATE_OK);
    assert_int_equal(d.verdict, GATE_SILENCED);
    assert_string_equal(d.silence_id, sid);
    /* another tool: not matched, sent */
    note(&other, "latency", "http_get", 0, NOW);
    assert_int_equal(decide(g, &other, ss, NOW), GATE_SEND);

    assert_int_equal(gate_info(g, f.a.id, ss, NOW, &info), GATE_OK);
    assert_string_equal(info.silenced_by, sid);
    assert_false(info.fired);
    assert_int_equal(gate_info(g, other.a.id, ss, NOW, &info), GATE_OK);
    assert_string_equal(info.silenced_by, "");
    assert_true(info.fired);

    /* repeats while silenced: not sent; the tick releases nothing */
    note(&rep, "latency", "pg_query", 0, NOW + MIN);
    assert_int_equal(decide(g, &rep, ss, NOW + MIN), GATE_SILENCED);
    assert_int_equal(gate_tick(g, ss, NOW + 2 * MIN, on_release, &r), 0);
    assert_int_equal(r.n, 0);

    /* the silence is expired: the held firing (the first document) goes */
    assert_int_equal(silence_store_expire(ss, sid, NOW + 3 * MIN),
                     SILENCE_STORE_OK);
    assert_int_equal(gate_info(g, f.a.id, ss, NOW + 3 * MIN, &info),
                     GATE_OK);
    assert_string_equal(info.silenced_by, "");
    assert_int_equal(gate_tick(g, ss, NOW + 3 * MIN, on_release, &r), 1);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.id, f.a.id);
    assert_string_equal(r.doc, f.doc);
    assert_string_equal(r.rule, "latency");
    assert_int_equal(r.ts, NOW);
    assert_int_equal(r.nlabels, 1);
    assert_int_equal(gate_tick(g, ss, NOW + 4 * MIN, on_release, &r), 0);
    assert_int_equal(r.n, 1);

    /* its repeats and its resolve go out */
    assert_int_equal(decide(g, &rep, ss, NOW + 5 * MIN), GATE_SEND);
    note(&res, "latency", "pg_query", 1, NOW + 6 * MIN);
    assert_int_equal(decide(g, &res, ss, NOW + 6 * MIN), GATE_SEND);
    assert_int_equal(gate_info(g, f.a.id, ss, NOW, &info), GATE_ENOENT);

    gate_stats(g, &st);
    assert_int_equal(st.silenced, 2);
    assert_int_equal(st.released, 1);
    assert_int_equal(st.unfired, 0);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.held, 0);
    gate_destroy(g);
    silence_store_destroy(ss);
}

/* Resolved while silenced: its firing never went out, nor its resolve. */
static void test_resolve_only_if_fired(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(NULL, 0);
    struct released r = {0};
    struct gate_stats st;
    struct note f, res;
    char sid[SILENCE_ID_MAX];

    (void)state;
    silence(ss, "{\"rule\": \"*\"}", NOW, sid);
    note(&f, "volume", "crm", 0, NOW);
    note(&res, "volume", "crm", 1, NOW + MIN);
    assert_int_equal(decide(g, &f, ss, NOW), GATE_SILENCED);
    assert_int_equal(decide(g, &res, ss, NOW + MIN), GATE_UNFIRED);
    /* forgotten: the silence ending releases nothing */
    silence_store_expire(ss, sid, NOW + 2 * MIN);
    assert_int_equal(gate_tick(g, ss, NOW + 2 * MIN, on_release, &r), 0);
    /* a resolve the gate never saw fire: sent (it went out before) */
    note(&res, "volume", "other", 1, NOW);
    assert_int_equal(decide(g, &res, ss, NOW), GATE_SEND);
    gate_stats(g, &st);
    assert_int_equal(st.unfired, 1);
    assert_int_equal(st.open, 0);
    gate_destroy(g);
    silence_store_destroy(ss);
}

/* The silence ends between two ticks and a repeat comes first: the repeat
 * goes out as the firing, and the tick has nothing left to release. */
static void test_repeat_after_silence_goes_as_firing(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(NULL, 0);
    struct released r = {0};
    struct note f, rep;
    char sid[SILENCE_ID_MAX];

    (void)state;
    silence(ss, "{\"severity\": \"warn*\"}", NOW, sid);
    note(&f, "latency", "pg", 0, NOW);
    assert_int_equal(decide(g, &f, ss, NOW), GATE_SILENCED);
    silence_store_expire(ss, sid, NOW + MIN);
    note(&rep, "latency", "pg", 0, NOW + MIN);
    assert_int_equal(decide(g, &rep, ss, NOW + MIN), GATE_SEND);
    assert_int_equal(gate_tick(g, ss, NOW + MIN, on_release, &r), 0);
    assert_int_equal(decide(g, &rep, ss, NOW + 2 * MIN), GATE_SEND);
    gate_destroy(g);
    silence_store_destroy(ss);
}

/* A silence made after the firing went out mutes its repeats; its
 * resolve still goes out. */
static void test_silence_after_firing(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(NULL, 0);
    struct note f, res;
    char sid[SILENCE_ID_MAX];

    (void)state;
    note(&f, "latency", "pg", 0, NOW);
    note(&res, "latency", "pg", 1, NOW + 2 * MIN);
    assert_int_equal(decide(g, &f, ss, NOW), GATE_SEND);
    silence(ss, "{\"labels.team\": \"DB\"}", NOW + MIN, sid);
    assert_int_equal(decide(g, &f, ss, NOW + MIN), GATE_SILENCED);
    assert_int_equal(decide(g, &res, ss, NOW + 2 * MIN), GATE_SEND);
    gate_destroy(g);
    silence_store_destroy(ss);
}

/* An ack stops the repeats; the resolve is still sent. */
static void test_ack(void **state)
{
    gate *g = new_gate(NULL, 0);
    struct gate_info info;
    struct gate_stats st;
    struct note f, res;

    (void)state;
    note(&f, "error_rate", "pg", 0, NOW);
    note(&res, "error_rate", "pg", 1, NOW + 3 * MIN);
    assert_int_equal(decide(g, &f, NULL, NOW), GATE_SEND);
    assert_int_equal(decide(g, &f, NULL, NOW + MIN), GATE_SEND); /* repeat */
    assert_int_equal(gate_ack(g, f.a.id, "alice", "looking", NOW + MIN,
                              &info), GATE_OK);
    assert_string_equal(info.acked_by, "alice");
    assert_int_equal(info.acked_ms, NOW + MIN);
    assert_string_equal(info.ack_comment, "looking");
    /* the first ack stays */
    assert_int_equal(gate_ack(g, f.a.id, "bob", NULL, NOW + 2 * MIN, &info),
                     GATE_OK);
    assert_string_equal(info.acked_by, "alice");
    assert_int_equal(info.acked_ms, NOW + MIN);
    assert_int_equal(decide(g, &f, NULL, NOW + 2 * MIN), GATE_ACKED);
    assert_int_equal(decide(g, &res, NULL, NOW + 3 * MIN), GATE_SEND);
    assert_int_equal(gate_ack(g, f.a.id, "alice", NULL, NOW, &info),
                     GATE_ENOENT);
    gate_stats(g, &st);
    assert_int_equal(st.acked, 1);
    /* bad names */
    note(&f, "error_rate", "x", 0, NOW);
    assert_int_equal(decide(g, &f, NULL, NOW), GATE_SEND);
    assert_int_equal(gate_ack(g, f.a.id, "", NULL, NOW, NULL), GATE_EINVAL);
    assert_int_equal(gate_ack(g, f.a.id, "a\nb", NULL, NOW, NULL),
                     GATE_EINVAL);
    assert_int_equal(gate_ack(g, f.a.id, "a", "\x01", NOW, NULL),
                     GATE_EINVAL);
    assert_int_equal(gate_info(g, f.a.id, NULL, NOW, &info), GATE_OK);
    assert_string_equal(info.acked_by, "");
    gate_destroy(g);
}

/* An acked, silenced episode: its held firing still goes out when the
 * silence ends (an ack stops repeats only), its repeats do not. */
static void test_ack_of_held_episode(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(NULL, 0);
    struct released r = {0};
    struct note f;
    char sid[SILENCE_ID_MAX];

    (void)state;
    silence(ss, "{\"rule\": \"latency\"}", NOW, sid);
    note(&f, "latency", "pg", 0, NOW);
    assert_int_equal(decide(g, &f, ss, NOW), GATE_SILENCED);
    assert_int_equal(gate_ack(g, f.a.id, "ops", NULL, NOW, NULL), GATE_OK);
    silence_store_expire(ss, sid, NOW + MIN);
    assert_int_equal(gate_tick(g, ss, NOW + MIN, on_release, &r), 1);
    assert_int_equal(decide(g, &f, ss, NOW + 2 * MIN), GATE_ACKED);
    gate_destroy(g);
    silence_store_destroy(ss);
}

/* Past the cap the gate fails open: sent, counted. */
static void test_caps_fail_open(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(NULL, 2);
    struct gate_stats st;
    struct note a, b, c;
    char sid[SILENCE_ID_MAX];

    (void)state;
    note(&a, "r1", "t", 0, NOW);
    note(&b, "r22", "t", 0, NOW);
    note(&c, "r333", "t", 0, NOW);
    assert_int_equal(decide(g, &a, ss, NOW), GATE_SEND);
    assert_int_equal(decide(g, &b, ss, NOW), GATE_SEND);
    silence(ss, "{\"rule\": \"*\"}", NOW, sid);
    assert_int_equal(decide(g, &c, ss, NOW), GATE_SEND);
    gate_stats(g, &st);
    assert_int_equal(st.untracked, 1);
    assert_int_equal(st.open, 2);
    gate_destroy(g);
    silence_store_destroy(ss);
}

static void test_stale_forgotten(void **state)
{
    gate *g = new_gate(NULL, 0);
    struct released r = {0};
    struct gate_info info;
    struct gate_stats st;
    struct note f;

    (void)state;
    note(&f, "latency", "pg", 0, NOW);
    assert_int_equal(decide(g, &f, NULL, NOW), GATE_SEND);
    gate_tick(g, NULL, NOW + GATE_STALE_MS, on_release, &r);
    assert_int_equal(gate_info(g, f.a.id, NULL, NOW, &info), GATE_OK);
    gate_tick(g, NULL, NOW + GATE_STALE_MS + 1, on_release, &r);
    assert_int_equal(gate_info(g, f.a.id, NULL, NOW, &info), GATE_ENOENT);
    gate_stats(g, &st);
    assert_int_equal(st.stale, 1);
    gate_destroy(g);
}

/* Through a restart: held firings, acks and fired flags; the held
 * document comes back byte for byte. */
static void test_persisted(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(dir, 0);
    struct released r = {0};
    struct gate_info info;
    struct note held, acked, res;
    char sid[SILENCE_ID_MAX], path[PATH_MAX];
    struct stat sb;

    (void)state;
    silence(ss, "{\"group.tool_name\": \"held\"}", NOW, sid);
    note(&held, "latency", "held", 0, NOW);
    note(&acked, "volume", "acked \"quoted\"", 0, NOW);
    assert_int_equal(decide(g, &held, ss, NOW), GATE_SILENCED);
    assert_int_equal(decide(g, &acked, ss, NOW), GATE_SEND);
    assert_int_equal(gate_ack(g, acked.a.id, "\xc3\xa9ve", "on it\tnow",
                              NOW + MIN, NULL), GATE_OK);
    assert_int_equal(gate_flush(g), GATE_OK);
    gate_destroy(g);
    snprintf(path, sizeof path, "%s/" GATE_FILE, dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    g = new_gate(dir, 0);
    assert_int_equal(gate_info(g, acked.a.id, ss, NOW, &info), GATE_OK);
    assert_string_equal(info.acked_by, "\xc3\xa9ve");
    assert_int_equal(info.acked_ms, NOW + MIN);
    assert_string_equal(info.ack_comment, "on it\tnow");
    assert_true(info.fired);
    assert_int_equal(decide(g, &acked, ss, NOW + 2 * MIN), GATE_ACKED);
    assert_int_equal(gate_info(g, held.a.id, ss, NOW, &info), GATE_OK);
    assert_string_equal(info.silenced_by, sid);
    assert_false(info.fired);
    silence_store_expire(ss, sid, NOW + 3 * MIN);
    assert_int_equal(gate_tick(g, ss, NOW + 3 * MIN, on_release, &r), 1);
    assert_string_equal(r.doc, held.doc);
    assert_int_equal(r.ts, NOW);
    note(&res, "latency", "held", 1, NOW + 4 * MIN);
    assert_int_equal(decide(g, &res, ss, NOW + 4 * MIN), GATE_SEND);
    assert_int_equal(gate_flush(g), GATE_OK);
    gate_destroy(g);
    /* and again: one episode left, acked */
    g = new_gate(dir, 0);
    assert_int_equal(gate_info(g, held.a.id, ss, NOW, &info), GATE_ENOENT);
    assert_int_equal(gate_info(g, acked.a.id, ss, NOW, &info), GATE_OK);
    gate_destroy(g);
    silence_store_destroy(ss);
}

/* An ack whose write fails is undone. */
static void test_ack_write_fails(void **state)
{
    char sub[PATH_MAX];
    struct gate_info info;
    struct note f;
    gate *g;

    (void)state;
    snprintf(sub, sizeof sub, "%s/gone", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    g = new_gate(sub, 0);
    note(&f, "latency", "pg", 0, NOW);
    assert_int_equal(decide(g, &f, NULL, NOW), GATE_SEND);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(gate_ack(g, f.a.id, "ops", NULL, NOW, NULL), GATE_EIO);
    assert_int_equal(gate_info(g, f.a.id, NULL, NOW, &info), GATE_OK);
    assert_string_equal(info.acked_by, "");
    assert_int_equal(gate_flush(g), GATE_EIO);
    gate_destroy(g);
}

static void test_unusable_files(void **state)
{
    static const char ep[] =
        "{\"id\":\"0123456789abcdef0123456789abcdef\",\"rule\":\"latency\","
        "\"key\":\"pg\",\"severity\":\"warning\",\"started_ms\":1,"
        "\"last_seen_ms\":2,\"group\":[[\"tool_name\",\"pg\"]],\"labels\":[],"
        "\"fired\":%s,\"acked_by\":%s,\"acked_ms\":0,\"ack_comment\":%s,"
        "\"held_ms\":0,\"doc\":%s}";
    static const char *const variants[][4] = {
        {"true", "null", "null", "\"{}\""},  /* fired with a document */
        {"false", "null", "null", "null"},   /* held without one */
        {"false", "null", "null", "\"\""},   /* an empty one */
        {"1", "null", "null", "null"},
        {"true", "\"a\\nb\"", "null", "null"},
        {"true", "null", "\"no ack\"", "null"},
        {"true", "5", "null", "null"},
    };
    char text[4096], one[1024], path[PATH_MAX], bad[PATH_MAX + 8];
    gate *g;
    struct gate_stats st;

    (void)state;
    snprintf(path, sizeof path, "%s/" GATE_FILE, dir);
    snprintf(bad, sizeof bad, "%s.bad", path);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0] + 6; i++) {
        if (i < sizeof variants / sizeof variants[0]) {
            snprintf(one, sizeof one, ep, variants[i][0], variants[i][1],
                     variants[i][2], variants[i][3]);
            snprintf(text, sizeof text,
                     "{\"version\":1,\"episodes\":[%s]}", one);
        } else {
            static const char *const other[] = {"", "{", "[]",
                "{\"version\":2,\"episodes\":[]}",
                "{\"version\":1,\"episodes\":[{}]}",
                "{\"version\":1,\"episodes\":[],\"x\":1}"};
            snprintf(text, sizeof text, "%s",
                     other[i - sizeof variants / sizeof variants[0]]);
        }
        assert_int_equal(file_replace(dir, GATE_FILE, text, strlen(text)),
                         FILE_OK);
        unlink(bad);
        g = new_gate(dir, 0);
        gate_stats(g, &st);
        if (st.open != 0)
            fail_msg("file %zu accepted: %s", i, text);
        assert_int_equal(access(bad, F_OK), 0);
        gate_destroy(g);
    }
    /* a good one, and the same id twice */
    snprintf(one, sizeof one, ep, "true", "\"ops\"", "\"c\"", "null");
    snprintf(text, sizeof text, "{\"version\":1,\"episodes\":[%s]}", one);
    assert_int_equal(file_replace(dir, GATE_FILE, text, strlen(text)),
                     FILE_OK);
    g = new_gate(dir, 0);
    gate_stats(g, &st);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.acks, 1);
    gate_destroy(g);
    snprintf(text, sizeof text, "{\"version\":1,\"episodes\":[%s,%s]}", one,
             one);
    assert_int_equal(file_replace(dir, GATE_FILE, text, strlen(text)),
                     FILE_OK);
    g = new_gate(dir, 0);
    gate_stats(g, &st);
    assert_int_equal(st.open, 0);
    gate_destroy(g);
}


/* ---- inhibition ---- */

/* Rule ir: source and target matchers as JSON objects, up to two
 * `equal` fields (NULL: fewer). */
static void inhibit_rule(struct gate_inhibit *ir, const char *src,
                         const char *tgt, const char *eq1, const char *eq2)
{
    cJSON *js = cJSON_Parse(src), *jt = cJSON_Parse(tgt);
    char err[256] = "";

    memset(ir, 0, sizeof *ir);
    if (silence_matchers_parse(ir->source, &ir->nsource, js, "source", err,
                               sizeof err) != SILENCE_OK ||
        silence_matchers_parse(ir->target, &ir->ntarget, jt, "target", err,
                               sizeof err) != SILENCE_OK)
        fail_msg("%s", err);
    if (eq1 != NULL)
        assert_int_equal(silence_field_parse(eq1, &ir->equal[ir->nequal++]),
                         0);
    if (eq2 != NULL)
        assert_int_equal(silence_field_parse(eq2, &ir->equal[ir->nequal++]),
                         0);
    cJSON_Delete(js);
    cJSON_Delete(jt);
}

/* A notification as note() makes it, grouped by session_id = sess
 * (NULL: no session_id field; tool_name only). */
static void snote(struct note *n, const char *rule, const char *tool,
                  const char *sess, int resolved, int64_t t)
{
    note(n, rule, tool, resolved, t);
    if (sess != NULL) {
        n->a.ngroup = 2;
        n->a.group[1] = (struct alert_pair){"session_id", sess};
    }
}

static enum gate_verdict idecide(gate *g, const struct note *n, int64_t t,
                                 char by[ALERT_ID_HEX + 1])
{
    struct gate_decision d;

    assert_int_equal(gate_decide(g, &n->a, n->doc, strlen(n->doc), NULL, t,
                                 &d), GATE_OK);
    if (by != NULL)
        snprintf(by, ALERT_ID_HEX + 1, "%s", d.inhibited_by);
    if (d.verdict != GATE_INHIBITED)
        assert_string_equal(d.inhibited_by, "");
    return d.verdict;
}

/* A runaway session inhibits that session's other alerts only: equal
 * session_id; another session's alerts go out; the source's own repeats
 * go out (it does not inhibit itself although it matches the target). */
static void test_inhibit_equal_fields(void **state)
{
    gate *g = new_gate(NULL, 0);
    struct gate_inhibit ir;
    struct gate_info info;
    struct gate_stats st;
    struct note src, t1, t1b, t2;
    char by[ALERT_ID_HEX + 1];

    (void)state;
    inhibit_rule(&ir, "{\"rule\": \"runaway\"}", "{\"rule\": \"*\"}",
                 "group.session_id", NULL);
    assert_int_equal(gate_set_inhibit(g, &ir, 1), GATE_OK);
    snote(&src, "runaway", "s1", "s1", 0, NOW);
    snote(&t1, "volume", "bash", "s1", 0, NOW + 1);
    snote(&t1b, "latency", "bash", "s1", 0, NOW + 2);
    snote(&t2, "volume", "bash2", "s2", 0, NOW + 3);
    /* before the source fires, nothing inhibits */
    assert_int_equal(idecide(g, &t1b, NOW, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &src, NOW, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &t1, NOW + 1, by), GATE_INHIBITED);
    assert_string_equal(by, src.a.id);
    assert_int_equal(idecide(g, &t2, NOW + 3, NULL), GATE_SEND);
    /* the source's repeat: not inhibited by itself */
    assert_int_equal(idecide(g, &src, NOW + MIN, NULL), GATE_SEND);
    /* t1b fired before the source: its repeats are inhibited now */
    assert_int_equal(idecide(g, &t1b, NOW + MIN, by), GATE_INHIBITED);
    assert_string_equal(by, src.a.id);
    assert_int_equal(idecide(g, &t1, NOW + MIN, by), GATE_INHIBITED);
    assert_int_equal(idecide(g, &t2, NOW + MIN, NULL), GATE_SEND);
    assert_int_equal(gate_info(g, t1.a.id, NULL, NOW + MIN, &info), GATE_OK);
    assert_string_equal(info.inhibited_by, src.a.id);
    assert_int_equal(info.fired, 0);
    assert_int_equal(gate_info(g, t2.a.id, NULL, NOW + MIN, &info), GATE_OK);
    assert_string_equal(info.inhibited_by, "");
    assert_int_equal(gate_info(g, src.a.id, NULL, NOW + MIN, &info), GATE_OK);
    assert_string_equal(info.inhibited_by, "");
    gate_stats(g, &st);
    assert_int_equal(st.inhibited, 3);
    assert_int_equal(st.held, 1);
    assert_int_equal(st.open, 4);
    assert_string_equal(gate_verdict_name(GATE_INHIBITED), "inhibited");
    gate_destroy(g);
}

/* A field an alert lacks counts as "" (Alertmanager's missing label):
 * missing on both sides is equal, missing against "" is equal, missing
 * against a value is not. */
static void test_inhibit_missing_fields(void **state)
{
    gate *g = new_gate(NULL, 0);
    struct gate_inhibit ir;
    struct note src, none, empty, other, lbl;

    (void)state;
    inhibit_rule(&ir, "{\"rule\": \"stream_stalled\"}",
                 "{\"rule\": \"quiet*\"}", "group.session_id",
                 "labels.team");
    assert_int_equal(gate_set_inhibit(g, &ir, 1), GATE_OK);
    snote(&src, "stream_stalled", "global", NULL, 0, NOW);
    src.a.ngroup = 0;
    snote(&none, "quiet_tool", "a", NULL, 0, NOW);
    snote(&empty, "quiet_tool", "b", "", 0, NOW);
    snote(&other, "quiet_tool", "c", "s9", 0, NOW);
    snote(&lbl, "quiet_tool", "d", NULL, 0, NOW);
    lbl.a.labels[0].value = "web"; /* the source has team=db */
    assert_int_equal(idecide(g, &src, NOW, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &none, NOW, NULL), GATE_INHIBITED);
    assert_int_equal(idecide(g, &empty, NOW, NULL), GATE_INHIBITED);
    assert_int_equal(idecide(g, &other, NOW, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &lbl, NOW, NULL), GATE_SEND);
    /* a label missing on one side only, against a value: not equal */
    src.a.nlabels = 0;
    snote(&none, "quiet_tool", "e", NULL, 0, NOW);
    gate_destroy(g);
    g = new_gate(NULL, 0);
    assert_int_equal(gate_set_inhibit(g, &ir, 1), GATE_OK);
    assert_int_equal(idecide(g, &src, NOW, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &none, NOW, NULL), GATE_SEND);
    gate_destroy(g);
}

/* The source resolves while the target is open: the target's held
 * firing goes out at the next tick, then its resolve.  A target that
 * resolves while inhibited sends nothing. */
static void test_inhibit_source_resolved_releases(void **state)
{
    gate *g = new_gate(NULL, 0);
    struct gate_inhibit ir;
    struct released r = {0};
    struct gate_stats st;
    struct note src, src_res, t, t_res, u, u_res;

    (void)state;
    inhibit_rule(&ir, "{\"rule\": \"runaway\"}", "{\"rule\": \"volume\"}",
                 "group.session_id", NULL);
    assert_int_equal(gate_set_inhibit(g, &ir, 1), GATE_OK);
    snote(&src, "runaway", "s1", "s1", 0, NOW);
    snote(&src_res, "runaway", "s1", "s1", 1, NOW + 5 * MIN);
    snote(&t, "volume", "bash", "s1", 0, NOW + MIN);
    snote(&t_res, "volume", "bash", "s1", 1, NOW + 9 * MIN);
    snote(&u, "volume", "curl", "s1", 0, NOW + MIN);
    snote(&u_res, "volume", "curl", "s1", 1, NOW + 2 * MIN);
    assert_int_equal(idecide(g, &src, NOW, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &t, NOW + MIN, NULL), GATE_INHIBITED);
    assert_int_equal(idecide(g, &u, NOW + MIN, NULL), GATE_INHIBITED);
    assert_int_equal(gate_tick(g, NULL, NOW + MIN, on_release, &r), 0);
    /* u resolves while inhibited: its firing never went out */
    assert_int_equal(idecide(g, &u_res, NOW + 2 * MIN, NULL), GATE_UNFIRED);
    assert_int_equal(gate_tick(g, NULL, NOW + 3 * MIN, on_release, &r), 0);
    assert_int_equal(r.n, 0);
    /* the source resolves: its resolve goes out; t is released */
    assert_int_equal(idecide(g, &src_res, NOW + 5 * MIN, NULL), GATE_SEND);
    assert_int_equal(gate_tick(g, NULL, NOW + 5 * MIN, on_release, &r), 1);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.id, t.a.id);
    assert_string_equal(r.doc, t.doc);
    assert_string_equal(r.rule, "volume");
    assert_int_equal(r.ts, NOW + MIN);
    assert_int_equal(gate_tick(g, NULL, NOW + 6 * MIN, on_release, &r), 0);
    assert_int_equal(idecide(g, &t_res, NOW + 9 * MIN, NULL), GATE_SEND);
    gate_stats(g, &st);
    assert_int_equal(st.inhibited, 2);
    assert_int_equal(st.released, 1);
    assert_int_equal(st.unfired, 1);
    assert_int_equal(st.open, 0);
    gate_destroy(g);
}

/* No self-inhibition: an alert matching both sides does not inhibit
 * itself, nor another alert matching both sides (they would mute each
 * other); a silenced source still inhibits; rules taken away release. */
static void test_inhibit_self_and_mutual(void **state)
{
    silence_store *ss = store();
    gate *g = new_gate(NULL, 0);
    struct gate_inhibit ir[2];
    struct released r = {0};
    struct gate_decision d;
    struct note a, b, c, w;
    char sid[SILENCE_ID_MAX];

    (void)state;
    inhibit_rule(&ir[0], "{\"severity\": \"warning\"}",
                 "{\"severity\": \"warning\"}", NULL, NULL);
    assert_int_equal(gate_set_inhibit(g, ir, 1), GATE_OK);
    snote(&a, "volume", "a", NULL, 0, NOW);
    snote(&b, "latency", "b", NULL, 0, NOW);
    assert_int_equal(idecide(g, &a, NOW, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &a, NOW + MIN, NULL), GATE_SEND);
    assert_int_equal(idecide(g, &b, NOW, NULL), GATE_SEND);
    /* c matches the target only: inhibited */
    inhibit_rule(&ir[1], "{\"rule\": \"volume\"}",
                 "{\"severity\": \"critical\"}", NULL, NULL);
    assert_int_equal(gate_set_inhibit(g, ir, 2), GATE_OK);
    snote(&c, "payload", "c", NULL, 0, NOW);
    c.a.severity = "critical";
    assert_int_equal(idecide(g, &c, NOW, NULL), GATE_INHIBITED);
    /* a silenced source inhibits all the same */
    snote(&w, "payload", "w", NULL, 0, NOW);
    w.a.severity = "critical";
    silence(ss, "{\"rule\": \"volume\"}", NOW, sid);
    assert_int_equal(gate_decide(g, &a.a, a.doc, strlen(a.doc), ss,
                                 NOW + 2 * MIN, &d), GATE_OK);
    assert_int_equal(d.verdict, GATE_SILENCED);
    assert_int_equal(gate_decide(g, &w.a, w.doc, strlen(w.doc), ss,
                                 NOW + 2 * MIN, &d), GATE_OK);
    assert_int_equal(d.verdict, GATE_INHIBITED);
    assert_string_equal(d.inhibited_by, a.a.id);
    /* too many rules refused, the rules in force kept */
    assert_int_equal(gate_set_inhibit(g, ir, GATE_INHIBIT_MAX + 1),
                     GATE_EINVAL);
    assert_int_equal(gate_tick(g, ss, NOW + 3 * MIN, on_release, &r), 0);
    /* the rules taken away (a reload): the held firings go out */
    assert_int_equal(gate_set_inhibit(g, NULL, 0), GATE_OK);
    assert_int_equal(gate_tick(g, ss, NOW + 3 * MIN, on_release, &r), 2);
    assert_int_equal(r.n, 2);
    gate_destroy(g);
    silence_store_destroy(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silenced_then_silence_ends),
        cmocka_unit_test(test_resolve_only_if_fired),
        cmocka_unit_test(test_repeat_after_silence_goes_as_firing),
        cmocka_unit_test(test_silence_after_firing),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_ack_of_held_episode),
        cmocka_unit_test(test_caps_fail_open),
        cmocka_unit_test(test_stale_forgotten),
        cmocka_unit_test(test_inhibit_equal_fields),
        cmocka_unit_test(test_inhibit_missing_fields),
        cmocka_unit_test(test_inhibit_source_resolved_releases),
        cmocka_unit_test(test_inhibit_self_and_mutual),
        cmocka_unit_test_setup_teardown(test_persisted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_write_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unusable_files, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
