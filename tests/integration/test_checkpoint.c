/*
 * test_checkpoint.c - restarts never orphan an incident (issue 14, SPEC
 * section 4 "State"): the real binary, `toolwatch run`, against a
 * scripted audit stream that honours Last-Event-ID and a webhook
 * receiver, stopped (SIGTERM) or killed (-9) and started again on the same
 * state directory.
 *
 * What:
 *  1. SIGTERM while an episode is open: the restart loads the checkpoint
 *     written at shutdown, shows the episode open, fires nothing, and
 *     resolves it once when its condition clears; the receiver has one id,
 *     one firing and one resolve;
 *  2. ten kill -9 at random moments (seeded: FAULTS_SEED=N replays the
 *     test's side) of a run whose rules of all nine kinds open and close
 *     fifteen episodes, with a checkpoint every second: every episode
 *     arrives under exactly the id computed here from the input, with
 *     exactly one firing and one resolve (distinct webhook-ids
 *     acknowledged; copies of one webhook-id are a delivery retried,
 *     counted apart), and nothing else arrives.  An episode of every kind
 *     is open at one kill at least (the input is laid out so; the
 *     CHECKPOINT line counts, per kind, the kills at which the receiver
 *     had one open), so a lost window, set or history would end it early
 *     or start it again under another id.  The sequence whose first step
 *     comes before a kill, the baselines learned and the new value after
 *     a learning period that spans kills fire after them, and the values
 *     learned before the kills do not fire again: the state survived (a
 *     lost state would leave them unfired, as the stream resumes after the
 *     events that made it);
 *  3. anomalies spanning a clean restart fire: a sequence whose steps fall
 *     on either side of the SIGTERM, and 120 calls in 30 s (threshold 100)
 *     with the SIGTERM midway (the count kind's window is in the
 *     checkpoint);
 *  4. a damaged checkpoint is refused with one log line and a metric, and
 *     the service starts fresh.
 *
 * Events are stamped ahead of the wall clock (within max_future_skew_s),
 * so the engine's clock is the events' own time: episode ids are known
 * here and the same after every restart.
 *
 * Invariants: no test sleeps to wait for something it can wait on (the
 * one pause is the random moment of a kill); every child is ended and its
 * stderr checked for sanitizer reports (tests/support/twrun.h).  The file
 * runs in about 20 s under ASan on 2 cores.  CKPT_DEBUG=1 prints where each
 * round's calls end and each killed run's stderr.
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
#include <unistd.h>

#include "alerts/journal_record.h"
#include "base/clock.h"
#include "model/alert.h"
#include "tests/support/twrun.h"

#define WAIT_MS 15000

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_ITEST_WEBHOOK_SECRET"

static const char *const run_env[] = {SECRET_ENV "=" SECRET, NULL};

#define WRITE_CONFIG(...) assert_int_equal(twr_write_config(__VA_ARGS__), 0)

/* ------------------------------- events ------------------------------ */

#define MAX_EVENTS 1024

/* One tool call of the script, at t ms after the run's t0. */
struct call {
    int64_t t;
    const char *tool, *agent;
    double dur;
    const char *session; /* NULL: twr_add_call's */
    bool error;          /* a tool_call_error */
};

static struct call calls[MAX_EVENTS];
static int ncalls;

/* A successful call in the default session; the caller may change those
 * through the pointer (valid until the next sort). */
static struct call *at(int64_t t, const char *tool, const char *agent,
                       double dur)
{
    assert_true(ncalls < MAX_EVENTS);
    calls[ncalls] = (struct call){.t = t, .tool = tool, .agent = agent,
                                  .dur = dur};
    return &calls[ncalls++];
}

static int by_time(const void *a, const void *b)
{
    const struct call *x = a, *y = b;

    return x->t < y->t ? -1 : x->t > y->t;
}

/* A time ahead of the wall clock, on a multiple of 5 s (baseline buckets
 * are aligned to multiples of bucket_s since the epoch). */
static int64_t ahead_t0(void)
{
    return (clock_wall_ms() + 30000) / 5000 * 5000 + 5000;
}

/* Calls from..upto (1-based SSE ids) as SSE frames, stamped t0 + t. */
static char *frames(int from, int upto, int64_t t0)
{
    static char out[MAX_EVENTS * 512];

    out[0] = '\0';
    for (int i = from; i <= upto; i++) {
        char id[16], rec[32];
        const struct call *c = &calls[i - 1];
        const struct twr_call tc = {.id = id, .rec = rec, .tool = c->tool,
                                    .agent = c->agent, .ts_ms = t0 + c->t,
                                    .dur_ms = c->dur, .payload = 100,
                                    .session = c->session,
                                    .error = c->error};

        snprintf(id, sizeof id, "%d", i);
        snprintf(rec, sizeof rec, "rec-%d", i);
        assert_true(twr_add_call(out, sizeof out, &tc));
    }
    return out;
}

/* Serve calls after the Last-Event-ID of connection `conn` up to `upto`;
 * returns the first served. */
static int serve(struct tsrv *srv, size_t conn, int upto, int64_t t0)
{
    char lei[32];
    int from = 1;

    if (tsrv_header(srv, conn, "Last-Event-ID", lei, sizeof lei))
        from = (int)strtol(lei, NULL, 10) + 1;
    if (from <= upto) {
        const char *f = frames(from, upto, t0);
        assert_int_equal(tsrv_push(srv, conn, f, strlen(f)), 0);
    }
    return from;
}

/* ----------------------------- the receiver -------------------------- */

/* What the receiver acknowledged (2xx), per distinct webhook-id. */
struct note {
    char wid[64];
    int resolved;
    char id[ALERT_ID_HEX + 1];
    char rule[32], key[64];
};

/* The distinct webhook-ids acknowledged so far, into v[0..*n); copies of
 * one webhook-id (a delivery retried) are counted in *copies. */
static void acked(struct rcv *r, struct note *v, size_t cap, size_t *n,
                  size_t *copies)
{
    *n = 0;
    *copies = 0;
    for (size_t i = 0; i < rcv_count(r); i++) {
        struct rcv_request q;
        const char *wid;
        const cJSON *data;
        cJSON *j;
        size_t k;

        if (!rcv_get(r, i, &q) || q.status < 200 || q.status > 299 ||
            (wid = rcv_header(&q, "webhook-id")) == NULL || q.body == NULL)
            continue;
        for (k = 0; k < *n && strcmp(v[k].wid, wid) != 0; k++)
            ;
        if (k < *n) {
            (*copies)++;
            continue;
        }
        assert_true(*n < cap);
        j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
        assert_non_null(j);
        data = twr_jobj(j, "data");
        snprintf(v[k].wid, sizeof v[k].wid, "%s", wid);
        v[k].resolved = twr_streq(twr_jstr(j, "type"), "alert.resolved");
        snprintf(v[k].id, sizeof v[k].id, "%s", twr_jstr(data, "id"));
        snprintf(v[k].rule, sizeof v[k].rule, "%s", twr_jstr(data, "rule"));
        snprintf(v[k].key, sizeof v[k].key, "%s", twr_jstr(data, "key"));
        cJSON_Delete(j);
        (*n)++;
    }
}

/* An episode the input makes: its rule (and the rule's kind), key and
 * start (event time).  new_value's alerts are grouped by group_by + field:
 * `value` is the field's value (NULL for the other kinds). */
struct episode {
    const char *kind, *rule, *key, *value;
    int64_t start;
    char id[ALERT_ID_HEX + 1];
    int fired, resolved; /* distinct notifications acknowledged */
    int allow;           /* extra ones a kill between the journal's two
                            writes may cause (see check_split) */
};

static void episode_id(struct episode *e, int64_t t0)
{
    const char *vals[2] = {e->key, e->value};

    alert_episode_id(e->rule, vals, e->value != NULL ? 2 : 1, t0 + e->start,
                     e->id);
}

/* Count what arrived per episode; anything else fails the test. */
static void tally(const struct note *v, size_t n, struct episode *eps,
                  int neps)
{
    for (int k = 0; k < neps; k++)
        eps[k].fired = eps[k].resolved = 0;
    for (size_t i = 0; i < n; i++) {
        int k = 0;

        while (k < neps && strcmp(eps[k].id, v[i].id) != 0)
            k++;
        if (k == neps)
            fail_msg("unexpected episode %s: %s %s %s", v[i].id, v[i].rule,
                     v[i].key, v[i].resolved ? "resolved" : "firing");
        if (v[i].resolved)
            eps[k].resolved++;
        else
            eps[k].fired++;
    }
}

/* Wait until every episode has fired and resolved at the receiver. */
static void wait_all(struct rcv *r, struct episode *eps, int neps,
                     struct proc *run)
{
    static struct note v[256];
    int64_t end = clock_mono_ms() + 3 * WAIT_MS;
    size_t n, copies;

    for (;;) {
        int missing = 0;

        acked(r, v, 256, &n, &copies);
        tally(v, n, eps, neps);
        for (int k = 0; k < neps; k++)
            missing += !eps[k].fired || !eps[k].resolved;
        if (missing == 0)
            return;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            for (int k = 0; k < neps; k++)
                print_message("    %s %s %s %s: fired %d resolved %d\n",
                              eps[k].rule, eps[k].key,
                              eps[k].value ? eps[k].value : "", eps[k].id,
                              eps[k].fired, eps[k].resolved);
            fail_msg("%d episodes not fired and resolved", missing);
        }
        rcv_wait_requests(r, rcv_count(r) + 1, 200);
    }
}

/* ----------------------------- 1. SIGTERM ----------------------------- */

#define SLOW_RULE                                                          \
    "{\"name\": \"slow\", \"kind\": \"max\", \"severity\": \"warning\","   \
    " \"field\": \"execution_duration_ms\", \"threshold\": 5000,"          \
    " \"group_by\": [\"tool_name\"], \"window_s\": 15}"

static void config(const struct twr_dir *d, const char *surl,
                   const char *hook, const char *rules)
{
    WRITE_CONFIG(d->cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\","
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"], \"timeout_s\": 2,"
                 " \"retry_base_ms\": 50, \"retry_max_ms\": 200}],"
                 " \"detectors\": {\"hold_s\": 1, \"checkpoint_s\": 1},"
                 " \"rules\": [%s]}",
                 d->state, surl, hook, rules);
}

/* What a test runs against: its directory (configuration and state), the
 * audit stream, the receiver. */
struct scene {
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    size_t conn; /* connections served so far */
};

static void scene_make(struct twr_fx *f, struct scene *sc, const char *tag,
                       const char *rules)
{
    char surl[128], hook[128];

    memset(sc, 0, sizeof *sc);
    assert_int_equal(twr_dir_make(f, &sc->d, tag), 0);
    assert_non_null(sc->r = twr_fx_rcv(f));
    rcv_url(sc->r, "/hook", hook, sizeof hook);
    assert_non_null(sc->srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    config(&sc->d, surl, hook, rules);
}

/* A run of the service: started, connected, served calls up to `upto`. */
static struct proc *start(struct twr_fx *f, struct scene *sc, int upto,
                          int64_t t0, unsigned *port)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    struct proc *run;

    assert_int_equal(tsrv_add_response(sc->srv, &keep), 0);
    assert_non_null(run = twr_start_run(f, sc->d.cfg, run_env, port));
    if (!tsrv_wait_requests(sc->srv, sc->conn + 1, WAIT_MS)) {
        twr_dump_stderr("run", run);
        fail_msg("the service did not connect");
    }
    serve(sc->srv, sc->conn++, upto, t0);
    return run;
}

/* The engine's open episodes in /status, once it shows them. */
static double firing_total(unsigned port)
{
    cJSON *st = twr_status(port);
    double n = st != NULL ? twr_jnum(st, "firing_total") : -1;

    cJSON_Delete(st);
    return n;
}

/* 30 s of background calls and one slow call of `report` at 2 s (call
 * 4): the episode `ep` of rule slow. */
static void slow_script(struct episode *ep, int64_t t0)
{
    ncalls = 0;
    for (int s = 0; s <= 30; s++)
        at(s * 1000, "noop", "bg", 100);
    at(2000, "report", "bg", 9000);
    qsort(calls, (size_t)ncalls, sizeof calls[0], by_time);
    *ep = (struct episode){.rule = "slow", .key = "report", .start = 2000};
    episode_id(ep, t0);
}

static void test_sigterm_mid_episode(void **state)
{
    struct twr_fx *f = *state;
    struct episode ep;
    struct scene sc;
    struct proc *run;
    size_t n, copies;
    static struct note v[16];
    unsigned port;
    int64_t t0 = ahead_t0();

    slow_script(&ep, t0);
    scene_make(f, &sc, "ckterm", SLOW_RULE);
    /* the episode fires (call 4 is the slow one, at 2 s); then SIGTERM */
    run = start(f, &sc, 6, t0, NULL);
    assert_true(rcv_wait_requests(sc.r, 1, WAIT_MS));
    assert_true(twr_stop("run", run));
    /* the restart holds it open, fires nothing, resolves it once */
    run = start(f, &sc, 6, t0, &port);
    assert_true(twr_stderr_after("run", run, 0, "1 open episodes",
                                 WAIT_MS));
    for (int64_t end = clock_mono_ms() + WAIT_MS; firing_total(port) != 1;) {
        assert_true(clock_mono_ms() < end);
        twr_pause_ms(TWR_POLL_MS); /* the status server: polled */
    }
    serve(sc.srv, sc.conn - 1, ncalls, t0);
    wait_all(sc.r, &ep, 1, run);
    assert_true(twr_stop("run", run));
    acked(sc.r, v, 16, &n, &copies);
    tally(v, n, &ep, 1);
    assert_int_equal(n, 2);
    assert_int_equal(ep.fired, 1);
    assert_int_equal(ep.resolved, 1);
    assert_true(twr_all_signed(sc.r, SECRET));
    print_message("CHECKPOINT | SIGTERM mid-episode | episode %s | "
                  "firings 1 | resolves 1 | same-id copies %zu\n",
                  ep.id, copies);
}

/* --------------------------- 2. kill -9 x10 -------------------------- */

#define KILLS 10
#define KILL_MAX_DELAY_MS 1200

#define KILL_RULES                                                         \
    SLOW_RULE ","                                                          \
    "{\"name\": \"exfil\", \"kind\": \"sequence\", \"severity\":"          \
    " \"critical\", \"group_by\": [\"agent_id\"], \"steps\":"              \
    " [{\"tool_name\": \"vault_read\"}, {\"tool_name\": \"http_post\"}],"  \
    " \"within_s\": 20, \"window_s\": 5},"                                 \
    "{\"name\": \"spike\", \"kind\": \"baseline\", \"severity\":"          \
    " \"warning\", \"match\": {\"tool_name\": \"bulk_*\"}, \"group_by\":"  \
    " [\"tool_name\"], \"bucket_s\": 5, \"history\": 4, \"deviation\": 3," \
    " \"min_value\": 5},"                                                  \
    "{\"name\": \"quiet\", \"kind\": \"absence\", \"severity\":"           \
    " \"warning\", \"match\": {\"agent_id\": \"worker-*\"}, \"group_by\":" \
    " [\"agent_id\"], \"threshold\": 8},"                                  \
    "{\"name\": \"burst\", \"kind\": \"count\", \"severity\":"             \
    " \"warning\", \"match\": {\"tool_name\": \"search\"}, \"group_by\":"  \
    " [\"tool_name\"], \"window_s\": 10, \"threshold\": 15},"              \
    "{\"name\": \"busy\", \"kind\": \"sum\", \"severity\": \"warning\","   \
    " \"match\": {\"agent_id\": \"etl-*\"}, \"group_by\": [\"agent_id\"]," \
    " \"field\": \"execution_duration_ms\", \"window_s\": 30,"             \
    " \"threshold\": 12000},"                                              \
    "{\"name\": \"flaky\", \"kind\": \"ratio\", \"severity\": \"error\","  \
    " \"match\": {\"tool_name\": \"ticket_create\"}, \"group_by\":"        \
    " [\"tool_name\"], \"numerator\": {\"error\": true},"                  \
    " \"window_s\": 30, \"threshold\": 0.5, \"min_count\": 8},"            \
    "{\"name\": \"fanout\", \"kind\": \"distinct\", \"severity\":"         \
    " \"warning\", \"match\": {\"agent_id\": \"scout\"}, \"group_by\":"    \
    " [\"session_id\"], \"field\": \"tool_name\", \"window_s\": 20,"       \
    " \"threshold\": 4},"                                                  \
    "{\"name\": \"newtool\", \"kind\": \"new_value\", \"severity\":"       \
    " \"warning\", \"match\": {\"agent_id\": \"ops-*\"}, \"group_by\":"    \
    " [\"agent_id\"], \"field\": \"tool_name\", \"learn_s\": 20,"          \
    " \"window_s\": 30}"

/* The episodes of kill_script, in order of start: the event time at which
 * each fire condition first holds (SPEC section 2). */
static struct episode kill_eps[] = {
    /* the call of 9000 ms */
    {.kind = "max", .rule = "slow", .key = "report", .start = 12000},
    /* search every 0.5 s from 14 s: the 16th in 10 s, over 15 */
    {.kind = "count", .rule = "burst", .key = "search", .start = 21500},
    /* the post 7 s after the read */
    {.kind = "sequence", .rule = "exfil", .key = "agent-a", .start = 22000},
    /* ops-1 is first seen at 2 s: deploy at 21 s is learned; rollback at
     * 22 s, learn_s after, is new */
    {.kind = "new_value", .rule = "newtool", .key = "ops-1",
     .value = "rollback", .start = 22000},
    /* worker-2's last call, then 8 s and 1 ms */
    {.kind = "absence", .rule = "quiet", .key = "worker-2",
     .start = 24020 + 8001},
    /* the 6th call in the bucket at 35 s, over its band (2 + 3 x 1) */
    {.kind = "baseline", .rule = "spike", .key = "bulk_load", .start = 35500},
    /* ticket_create each second from 30 s, errors from 34 s: at 37 s 4 of
     * 8 (0.5, not over it), at 38 s 5 of 9 */
    {.kind = "ratio", .rule = "flaky", .key = "ticket_create",
     .start = 38000},
    /* 1000 ms each second from 40 s: 13000 ms at 52 s */
    {.kind = "sum", .rule = "busy", .key = "etl-1", .start = 52000},
    /* the post 4 s after the read */
    {.kind = "sequence", .rule = "exfil", .key = "agent-c", .start = 52000},
    {.kind = "max", .rule = "slow", .key = "export", .start = 60000},
    /* scan_a .. scan_e every 2 s from 56 s: the 5th distinct at 64 s */
    {.kind = "distinct", .rule = "fanout", .key = "scan-1", .start = 64000},
    {.kind = "sequence", .rule = "exfil", .key = "agent-b", .start = 66000},
    /* a tool ops-1 never used */
    {.kind = "new_value", .rule = "newtool", .key = "ops-1",
     .value = "db_dump", .start = 70000},
    {.kind = "baseline", .rule = "spike", .key = "bulk_load", .start = 80500},
    {.kind = "absence", .rule = "quiet", .key = "worker-1",
     .start = 84010 + 8001},
};
#define KILL_EPS ((int)(sizeof kill_eps / sizeof kill_eps[0]))

/* The nine kinds, for the report of which were open at the kills. */
static const char *const kill_kinds[] = {
    "count", "sum", "ratio", "distinct", "max",
    "sequence", "new_value", "baseline", "absence"};
#define KILL_KINDS ((int)(sizeof kill_kinds / sizeof kill_kinds[0]))

/* 110 s of calls: a background call every 0.5 s, two workers every
 * second (worker-2 away from 25 s to 50 s, worker-1 from 85 s to 100 s),
 * two bulk_load calls per 5 s bucket but twelve in the buckets at 35 s
 * and 80 s, two slow calls, three sequences.  And calls that only the
 * five other rules see (slow and exfil see them too, but none is slow, a
 * vault_read or an http_post): search every 0.5 s from 14 s to 44 s
 * (burst open from 21.5 s until 46.5 s, when the 5 oldest of the last 20
 * have left the window), ops-1's status_check every 2 s and its four
 * other calls (newtool open 22 s to 52 s and 70 s to 100 s),
 * ticket_create each second from 30 s to 55 s (flaky open 38 s to 78 s,
 * then too few calls), etl-1's 1000 ms transform each second from 40 s to
 * 70 s (busy open 52 s to 88 s) and scout's five tools in turn, every 2 s
 * from 56 s to 80 s in session scan-1 (fanout open 64 s to 92 s).
 *
 * Each round serves the next eleventh of the calls: the rounds end at
 * about 12, 21, 30, 37, 45.5, 54, 63.5, 73, 82 and 97 s (CKPT_DEBUG prints
 * them), so an episode of every kind is open at the end of an odd round,
 * whose kill comes after two checkpoints: round 1 max; 3 count,
 * new_value, absence and baseline; 5 ratio, sum and sequence (agent-c);
 * 7 distinct. */
static void kill_script(void)
{
    static const char *const scan[] = {"scan_a", "scan_b", "scan_c",
                                       "scan_d", "scan_e"};

    ncalls = 0;
    for (int64_t t = 0; t <= 110000; t += 500)
        at(t, "noop", "bg", 100);
    for (int64_t t = 0; t <= 110000; t += 1000) {
        if (t < 85000 || t >= 100000)
            at(t + 10, "work", "worker-1", 100);
        if (t < 25000 || t >= 50000)
            at(t + 20, "work", "worker-2", 100);
    }
    for (int64_t b = 0; b < 110000; b += 5000) {
        int spike = b == 35000 || b == 80000;
        for (int i = 0; i < (spike ? 12 : 2); i++)
            at(b + (spike ? 0 : 1000) + i * 100, "bulk_load", "bg", 100);
    }
    at(12000, "report", "bg", 9000);
    at(60000, "export", "bg", 9000);
    at(15000, "vault_read", "agent-a", 100);
    at(22000, "http_post", "agent-a", 100);
    at(48000, "vault_read", "agent-c", 100);
    at(52000, "http_post", "agent-c", 100);
    at(58000, "vault_read", "agent-b", 100);
    at(66000, "http_post", "agent-b", 100);
    for (int64_t t = 14000; t <= 44000; t += 500)
        at(t, "search", "crawler", 100);
    for (int64_t t = 2000; t <= 110000; t += 2000)
        at(t, "status_check", "ops-1", 100);
    at(21000, "deploy", "ops-1", 100);
    at(22000, "rollback", "ops-1", 100);
    at(40000, "deploy", "ops-1", 100);
    at(70000, "db_dump", "ops-1", 100);
    for (int64_t t = 30000; t <= 55000; t += 1000)
        at(t, "ticket_create", "helpdesk", 100)->error = t >= 34000;
    for (int64_t t = 40000; t <= 70000; t += 1000)
        at(t, "transform", "etl-1", 1000);
    for (int i = 0; i <= 12; i++)
        at(56000 + 2000 * i, scan[i % 5], "scout", 100)->session = "scan-1";
    qsort(calls, (size_t)ncalls, sizeof calls[0], by_time);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The journal's last record after a kill. */
struct last_rec {
    enum journal_record_type type;
    char id[ALERT_ID_HEX + 1];
};

static int last_record(void *ud, const struct journal_record *r)
{
    struct last_rec *l = ud;

    l->type = r->type;
    l->id[0] = '\0';
    if (r->type == JOURNAL_RECORD_ENQUEUE) {
        cJSON *j = cJSON_ParseWithLength(r->entry.body, r->entry.body_len);
        const char *id = twr_jstr(twr_jobj(j, "data"), "id");
        snprintf(l->id, sizeof l->id, "%s", id != NULL ? id : "");
        cJSON_Delete(j);
    }
    return 0;
}

/* A kill between the journal's two writes of a notification (the entry,
 * then the position and mark behind it: README "Restarts and crashes")
 * leaves the entry without its mark; its events, read again, make it
 * again under a new webhook-id.  The journal then ends with that entry:
 * allow its episode one more. */
static void check_split(const struct twr_dir *d, struct episode *eps,
                        int neps, size_t *splits)
{
    struct last_rec l = {0};
    char path[192];
    char *data;
    size_t len = 0;
    FILE *fp;

    snprintf(path, sizeof path, "%s/journal.log", d->state);
    if ((fp = fopen(path, "rb")) == NULL)
        return;
    data = malloc(1 << 22);
    assert_non_null(data);
    len = fread(data, 1, 1 << 22, fp);
    fclose(fp);
    journal_record_scan(data, len, last_record, &l, NULL);
    free(data);
    if (l.type != JOURNAL_RECORD_ENQUEUE)
        return;
    for (int k = 0; k < neps; k++)
        if (strcmp(eps[k].id, l.id) == 0) {
            eps[k].allow++;
            (*splits)++;
        }
}

/* Wait until /status (external state, polled) shows n checkpoints written
 * by this run. */
static void wait_checkpoints(unsigned port, double n, struct proc *run)
{
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        cJSON *st = twr_status(port);
        double w = twr_jnum(twr_jobj(st, "checkpoint"), "writes");

        cJSON_Delete(st);
        if (w >= n)
            return;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("%g checkpoints written, not %g", w, n);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* What a run logged: the open episodes it restored, and the
 * notifications it made again and did not send. */
static void run_said(const struct proc *run, int *restored, int *not_sent)
{
    static const char tag[] = " open episodes";
    static const char guard[] = "in the journal already, not sent again";
    size_t len;
    const char *e = proc_stderr_all(run, &len), *at;

    *restored = -1; /* no checkpoint loaded */
    *not_sent = 0;
    if ((at = strstr(e, tag)) != NULL) {
        while (at > e && at[-1] >= '0' && at[-1] <= '9')
            at--;
        *restored = (int)strtol(at, NULL, 10);
    }
    for (at = e; (at = strstr(at, guard)) != NULL; at += sizeof guard - 1)
        (*not_sent)++;
}

static void test_kill9_random(void **state)
{
    struct twr_fx *f = *state;
    static struct note v[256];
    struct scene sc;
    struct proc *run;
    char line[512], kinds[256];
    const char *env_seed = getenv("FAULTS_SEED");
    uint64_t seed, rng;
    size_t n, copies, splits = 0;
    int open_at_kill[KILLS], restored[KILLS + 1], not_sent = 0, ns;
    int kind_kills[KILL_KINDS] = {0};
    int64_t t0 = ahead_t0(), begin = clock_mono_ms();

    seed = env_seed ? strtoull(env_seed, NULL, 0)
                    : (uint64_t)clock_wall_ms() ^ (uint64_t)getpid();
    rng = seed;
    print_message("    checkpoint kill -9: seed %llu (FAULTS_SEED=%llu to "
                  "replay)\n",
                  (unsigned long long)seed, (unsigned long long)seed);
    kill_script();
    for (int k = 0; k < KILL_EPS; k++) {
        kill_eps[k].allow = 0;
        episode_id(&kill_eps[k], t0);
    }
    scene_make(f, &sc, "ckkill", KILL_RULES);

    for (int round = 0; round < KILLS; round++) {
        int upto = ncalls * (round + 1) / (KILLS + 1);
        unsigned port;

        if (getenv("CKPT_DEBUG"))
            print_message("    round %d: calls to %d (%.3f s)\n", round,
                          upto, (double)calls[upto - 1].t / 1000);
        run = start(f, &sc, upto, t0, &port);
        /* every other round, after a periodic checkpoint has been written
         * (so that restarts find episodes open in it); then the fault: a
         * random moment, not a wait */
        if (round % 2 == 1)
            wait_checkpoints(port, 2, run);
        twr_pause_ms((long)(rng_next(&rng) % KILL_MAX_DELAY_MS));
        assert_true(twr_kill9("run", run));
        if (getenv("CKPT_DEBUG"))
            twr_dump_stderr("run", run);
        run_said(run, &restored[round], &ns);
        not_sent += ns;
        acked(sc.r, v, 256, &n, &copies);
        tally(v, n, kill_eps, KILL_EPS);
        open_at_kill[round] = 0;
        for (int k = 0; k < KILL_EPS; k++)
            open_at_kill[round] += kill_eps[k].fired > kill_eps[k].resolved;
        for (int j = 0; j < KILL_KINDS; j++) {
            int open = 0;
            for (int k = 0; k < KILL_EPS; k++)
                open |= kill_eps[k].fired > kill_eps[k].resolved &&
                        strcmp(kill_eps[k].kind, kill_kinds[j]) == 0;
            kind_kills[j] += open;
        }
        check_split(&sc.d, kill_eps, KILL_EPS, &splits);
    }
    /* the last run is not killed: it must finish the job */
    run = start(f, &sc, ncalls, t0, NULL);
    wait_all(sc.r, kill_eps, KILL_EPS, run);
    assert_true(twr_stop("run", run));
    assert_true(twr_all_signed(sc.r, SECRET));
    run_said(run, &restored[KILLS], &ns);
    not_sent += ns;

    acked(sc.r, v, 256, &n, &copies);
    tally(v, n, kill_eps, KILL_EPS);
    for (int k = 0; k < KILL_EPS; k++) {
        struct episode *e = &kill_eps[k];
        print_message("    %-9s %-7s %-13s %-8s %s: firings %d, resolves "
                      "%d\n",
                      e->kind, e->rule, e->key, e->value ? e->value : "",
                      e->id, e->fired, e->resolved);
        if (e->fired < 1 || e->resolved < 1 ||
            e->fired + e->resolved > 2 + e->allow)
            fail_msg("episode %s %s %s %s: %d firings and %d resolves "
                     "(expected 1 and 1)",
                     e->rule, e->key, e->value ? e->value : "", e->id,
                     e->fired, e->resolved);
    }
    n = 0;
    for (int k = 0; k < KILLS; k++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%d",
                              k ? "," : "", open_at_kill[k]);
    n += (size_t)snprintf(line + n, sizeof line - n, " | open episodes "
                          "restored at each start (-1: none loaded) ");
    for (int k = 1; k <= KILLS; k++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%d",
                              k > 1 ? "," : "", restored[k]);
    n = 0;
    for (int j = 0; j < KILL_KINDS; j++)
        n += (size_t)snprintf(kinds + n, sizeof kinds - n, "%s%s %d",
                              j ? ", " : "", kill_kinds[j], kind_kills[j]);
    print_message("CHECKPOINT | kill -9 x%d | episodes %d of %d kinds | ids "
                  "as computed, firings 1 and resolves 1 each | open at each "
                  "kill (at the receiver) %s | kills with an episode of the "
                  "kind open (at the receiver) %s | made again from events "
                  "read again, not sent %d | same-id copies %zu | kills "
                  "between the journal's two writes %zu | seed %llu | %lld "
                  "ms\n",
                  KILLS, KILL_EPS, KILL_KINDS, line, kinds, not_sent, copies,
                  splits,
                  (unsigned long long)seed,
                  (long long)(clock_mono_ms() - begin));
}

/* ---------------------- 3. across a clean restart -------------------- */

#define SPAN_RULES                                                         \
    "{\"name\": \"exfil\", \"kind\": \"sequence\", \"severity\":"          \
    " \"critical\", \"group_by\": [\"agent_id\"], \"steps\":"              \
    " [{\"tool_name\": \"vault_read\"}, {\"tool_name\": \"http_post\"}],"  \
    " \"within_s\": 60, \"window_s\": 5},"                                 \
    "{\"name\": \"volume\", \"kind\": \"count\", \"severity\":"            \
    " \"warning\", \"match\": {\"tool_name\": \"busy\"}, \"group_by\":"    \
    " [\"tool_name\"], \"window_s\": 60, \"threshold\": 100}"

static void test_anomaly_spans_restart(void **state)
{
    struct twr_fx *f = *state;
    struct episode eps[] = {
        {.rule = "exfil", .key = "agent-a", .start = 25000},
        {.rule = "volume", .key = "busy", .start = 0},
    };
    struct scene sc;
    struct proc *run;
    static struct note v[16];
    size_t n, copies;
    int half;
    int64_t t0 = ahead_t0();

    /* 120 calls of `busy` in 30 s, the first at 0.25 s: the 101st (at
     * 25.25 s) is the first over 100; the restart falls after the 60th */
    ncalls = 0;
    for (int i = 0; i < 120; i++)
        at(250 + i * 250, "busy", "bg", 100);
    at(5000, "vault_read", "agent-a", 100);
    at(25000, "http_post", "agent-a", 100);
    for (int64_t t = 30000; t <= 100000; t += 1000)
        at(t, "noop", "bg", 100);
    qsort(calls, (size_t)ncalls, sizeof calls[0], by_time);
    for (half = 0; calls[half].t < 15000; half++)
        ;
    eps[1].start = 250 + 100 * 250;
    episode_id(&eps[0], t0);
    episode_id(&eps[1], t0);
    scene_make(f, &sc, "ckspan", SPAN_RULES);
    run = start(f, &sc, half, t0, NULL);
    /* every call served so far is read before the stop (the position
     * file, external state, polled) */
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        char path[192], line[32] = "";
        FILE *fp;
        snprintf(path, sizeof path, "%s/position", sc.d.state);
        if ((fp = fopen(path, "r")) != NULL) {
            if (fgets(line, sizeof line, fp) == NULL)
                line[0] = 0;
            fclose(fp);
        }
        if (strtol(line, NULL, 10) == half)
            break;
        assert_true(clock_mono_ms() < end);
        twr_pause_ms(100);
    }
    assert_true(twr_stop("run", run));
    assert_int_equal(rcv_count(sc.r), 0);
    run = start(f, &sc, ncalls, t0, NULL);
    wait_all(sc.r, eps, 2, run);
    assert_true(twr_stop("run", run));
    acked(sc.r, v, 16, &n, &copies);
    tally(v, n, eps, 2);
    assert_int_equal(eps[1].fired, 1);
    assert_int_equal(eps[1].resolved, 1);
    print_message("CHECKPOINT | across a clean restart | sequence "
                  "fired 1 | volume fired %d, resolved %d\n",
                  eps[1].fired, eps[1].resolved);
    assert_int_equal(eps[0].fired, 1);
    assert_int_equal(eps[0].resolved, 1);
}

/* ------------------------ 4. a damaged checkpoint --------------------- */

static void test_damaged_refused(void **state)
{
    struct twr_fx *f = *state;
    struct episode ep;
    struct scene sc;
    struct proc *run;
    static struct hget_body b;
    char path[192];
    unsigned port;
    int64_t t0 = ahead_t0();
    cJSON *st;

    slow_script(&ep, t0);
    scene_make(f, &sc, "ckbad", SLOW_RULE);
    assert_int_equal(mkdir(sc.d.state, 0700), 0);
    snprintf(path, sizeof path, "%s/checkpoint", sc.d.state);
    assert_int_equal(twr_write_file(path, "TWCK\x01garbage, not a checkpoint"),
                     0);
    run = start(f, &sc, ncalls, t0, &port);
    assert_true(twr_stderr_after("run", run, 0, "checkpoint refused", 1));
    wait_all(sc.r, &ep, 1, run);
    st = twr_status(port);
    assert_int_equal((int)twr_jnum(twr_jobj(st, "checkpoint"), "refused"), 1);
    cJSON_Delete(st);
    assert_true(twr_wait_http(port, "/metrics", 200,
                              "toolwatch_checkpoint_refused_total 1", WAIT_MS,
                              &b));
    /* a good one written at once (the empty state at the position the
     * stream resumed from), then every second */
    wait_checkpoints(port, 2, run);
    assert_true(twr_stop("run", run));
    print_message("CHECKPOINT | damaged checkpoint | refused 1 (one log "
                  "line, toolwatch_checkpoint_refused_total 1) | started "
                  "fresh, episode fired and resolved\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigterm_mid_episode, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_kill9_random, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_anomaly_spans_restart,
                                        twr_setup, twr_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_refused, twr_setup,
                                        twr_teardown),
    };

    return cmocka_run_group_tests(tests, twr_group_setup, twr_group_teardown);
}
