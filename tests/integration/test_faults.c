/*
 * test_faults.c - fault injection (issue 7): the real binary, `toolwatch
 * run`, against scripted peers on 127.0.0.1 that fail the way production
 * peers do, and a count of what arrived.
 *
 * What (SPEC.md sections 1, 3 and 4), one test per fault family:
 *  1. the receiver is down (connection refused) while six episodes fire and
 *     resolve, then comes back: all twelve notifications arrive, each under
 *     one webhook-id, each firing before its resolve, with the episode ids
 *     computed here from the input;
 *  2. the receiver answers 500 three times, 429 with Retry-After: 2, hangs
 *     past the sink's 1 s timeout, resets the connection: every
 *     notification is delivered exactly once, the 429's retry waits 2 s on
 *     the receiver's clock, the hang is cut at 1 s;
 *  3. kill -9 in each of 20 short runs on one state directory, against a
 *     slow and flaky receiver, while a stream that honours Last-Event-ID
 *     hands out latency anomalies on distinct tools; 15 kills come at a
 *     random moment (seeded PRNG: the seed is printed, FAULTS_SEED=N
 *     replays the test's side), 5 at the moment a new alert goes out, when
 *     the events that made it must already be recorded as read.  Every
 *     episode's firing arrives; copies of a webhook-id are byte-identical;
 *     nothing unexpected arrives.  After a kill the service resumes from
 *     the stream position its detection checkpoint recorded (SPEC section
 *     4 "State"): the next Last-Event-ID is exactly that position, read
 *     from the checkpoint file the kill left (without one, the position
 *     written into the journal right behind each notification, or the
 *     position file).  The events after it are read again, those whose
 *     notification had reached the journal included (counted): their
 *     notifications are made again under the same episode ids and
 *     numbers, and not sent again (the journal's mark, app/
 *     checkpointer.h).  An episode under a second webhook-id fails the
 *     test, with one exception, counted apart: the notification and the
 *     position (and mark) behind it are two writes, and a kill in the
 *     microseconds between them leaves the notification without its mark
 *     (README "Restarts and crashes"); the test sees that case in the
 *     journal, which then ends with that notification, and lets its
 *     episode be made again;
 *  4. the stream is cut mid-line, mid-event and mid-UTF-8 character, the
 *     server answers 503 while it restarts, then replays ids it had already
 *     sent: the volume threshold is the number of distinct records, so a
 *     double count would fire it, and one more record must fire it (a lost
 *     one would not); Last-Event-ID and the /status and /metrics counts are
 *     exact.  Then the simulator is killed (-9) and restarted on the same
 *     port: the ids read are exactly 1..last, none twice;
 *  5. the state directory's file system (a 256 KiB tmpfs; skipped when it
 *     cannot be mounted) fills up: alerts are still delivered from memory,
 *     /readyz says 503 "journal not writable", /healthz stays 200; when
 *     space returns /readyz is 200 again and the notifications held in
 *     memory are journaled (they survive kill -9); the same with nothing
 *     left pending when space returns;
 *  6. ten SIGHUPs in a row, alternating two valid files that differ in the
 *     volume threshold only, under `toolwatch simulate --rate 2000`: the
 *     service stays healthy, keeps its stream connection (the stream
 *     settings did not change: no reconnect), reads every event exactly
 *     once (events.total = last id, counters never go back), keeps the
 *     unchanged latency detector's episode (one firing, no resolve) and
 *     closes each volume episode with a resolve saying why;
 *  7. a webhook whose receiver is down beside a file sink, each holding 5
 *     notifications in memory (queue_max): the file gets all 40 while the
 *     webhook's 40 wait, 35 of them in the journal only (/status spilled,
 *     /metrics toolwatch_journal_spilled); back up, the receiver gets all
 *     40, in order, each acknowledged once;
 *  8. journal_max_bytes 64 KiB and the receiver down: the stream, fed in
 *     batches, is paused once the journal is full (/readyz 503
 *     "backpressure", the connection closed); kill -9, restart with the
 *     receiver up: every firing made before the kill is delivered, the
 *     stream resumes no later than the last event read, and the events
 *     after make theirs: each acknowledged exactly once, in order;
 *  9. a storm: 500 latency anomalies in one burst to a webhook with
 *     digest_after 20: at most 20 firings per storm window, the rest in
 *     digests, firings plus the digests' counts exactly 500.
 *
 * Each test prints one line for the table:
 *   FAULTS | <scenario> | expected N | received N | duplicates N | ...
 * "expected" is what the service made (its /status counters, or the
 * episodes computed from the input), "received" the distinct
 * notifications (episodes in test 3) acknowledged 2xx by the receiver,
 * "duplicates" the 2xx answers beyond the first of each.
 *
 * Why: the promises users judge the service by (never miss an anomaly,
 * never lose an alert, never page for nothing) matter most when a peer
 * misbehaves or the process dies; only the real process with real
 * sockets, signals and file systems shows them kept.
 *
 * Invariants:
 *  - no test sleeps to wait for something it can wait on: children are
 *    waited on with proc_* (poll on pipes and a pidfd), receivers and
 *    stream servers with their condition variables, all with deadlines;
 *    the status server is external state, polled every TWR_POLL_MS; the
 *    one deliberate pause is the random moment of a kill -9;
 *  - events that must give known episode ids are stamped ahead of the wall
 *    clock (within max_future_skew_s), so that the engine's clock is the
 *    event's own time when it fires, in every run and after every restart;
 *  - every child is ended (SIGTERM and exit 0 where the test is about a
 *    clean stop, SIGKILL otherwise) and its stderr checked for sanitizer
 *    reports; teardown kills, unmounts and removes what a failed assertion
 *    left behind (the fixture, the children and the status server are
 *    tests/support/twrun.h's, shared with test_run.c);
 *  - the file runs in about 45 s under ASan on 2 cores.
 *
 * FAULTS_FILTER=<cmocka pattern> runs some tests only; ITEST_VERBOSE=1
 * prints each service's stderr when it is stopped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts/document.h"
#include "alerts/journal.h"
#include "detectors/checkpoint.h"
#include "consumer/decode.h"
#include "base/clock.h"
#include "tests/support/twrun.h"

#define WAIT_MS 10000       /* something that should come within seconds */

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_ITEST_WEBHOOK_SECRET"

/* Every `toolwatch run` here has the webhook secret. */
static const char *const run_env[] = {SECRET_ENV "=" SECRET, NULL};

/* twrun.h reports a failed check; the test fails on it */
#define WRITE_CONFIG(...) assert_int_equal(twr_write_config(__VA_ARGS__), 0)

/* ------------------------------ files -------------------------------- */

/* Start a fresh state directory at stream position `id`: the service
 * resumes after it (the simulator then sends id + 1 first). */
static void seed_position(const struct twr_dir *d, const char *id)
{
    char path[160];

    assert_int_equal(mkdir(d->state, 0700), 0);
    snprintf(path, sizeof path, "%s/position", d->state);
    assert_int_equal(twr_write_file(path, id), 0);
}

/* The whole of a file (NUL-terminated; *len its size).  Free it. */
static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *data;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
    data[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return data;
}

static bool mem_has(const char *hay, size_t len, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; k > 0 && i + k <= len; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    }
    return false;
}

/* ----------------------------- the receiver -------------------------- */

/* One recorded request, decoded. */
struct note {
    size_t index;
    int status;          /* 0: no answer (drop, hang, killed sender) */
    char wid[64];        /* webhook-id */
    char type[24];       /* alert.firing / alert.resolved */
    char id[40];         /* data.id: the episode */
    char detector[32];
    char key[64];
    char summary[256];
    int64_t arrival_ms, end_ms;
    const unsigned char *body;
    size_t body_len;
};

/* The string member `name` of o into out[cap] ("" when there is none). */
static void copy_jstr(char *out, size_t cap, const cJSON *o, const char *name)
{
    const char *s = twr_jstr(o, name);

    snprintf(out, cap, "%s", s != NULL ? s : "");
}

/* Decode every request r recorded.  Free the array. */
static struct note *notes_load(struct rcv *r, size_t *n)
{
    size_t cnt = rcv_count(r);
    struct note *v = calloc(cnt + 1, sizeof *v);

    assert_non_null(v);
    for (size_t i = 0; i < cnt; i++) {
        struct rcv_request q;
        const cJSON *data;
        cJSON *j;

        assert_true(rcv_get(r, i, &q));
        v[i].index = i;
        v[i].status = q.status;
        v[i].arrival_ms = q.arrival_ms;
        v[i].end_ms = q.end_ms;
        v[i].body = q.body;
        v[i].body_len = q.body_len;
        snprintf(v[i].wid, sizeof v[i].wid, "%s",
                 rcv_header(&q, "webhook-id") ? rcv_header(&q, "webhook-id")
                                              : "");
        if (q.body == NULL)
            fail_msg("request %zu has no body", i);
        j = cJSON_ParseWithLength((const char *)q.body, q.body_len);
        if (j == NULL)
            fail_msg("request %zu: body is not JSON: %.*s", i,
                     (int)q.body_len, (const char *)q.body);
        data = twr_jobj(j, "data");
        copy_jstr(v[i].type, sizeof v[i].type, j, "type");
        copy_jstr(v[i].id, sizeof v[i].id, data, "id");
        copy_jstr(v[i].detector, sizeof v[i].detector, data, "rule");
        copy_jstr(v[i].key, sizeof v[i].key, data, "key");
        copy_jstr(v[i].summary, sizeof v[i].summary, data, "summary");
        cJSON_Delete(j);
    }
    *n = cnt;
    return v;
}

static bool ok2xx(const struct note *x)
{
    return x->status >= 200 && x->status < 300;
}

/* The figures of one scenario. */
struct figures {
    size_t expected;   /* notifications the service made */
    size_t received;   /* distinct webhook-ids acknowledged (2xx) */
    size_t duplicates; /* 2xx answers beyond the first per webhook-id */
    size_t requests;   /* attempts seen by the receiver */
};

/* Count, and check the invariant of every copy: two requests with the
 * same webhook-id carry the same bytes.  Every request must be signed. */
static void tally(const struct note *v, size_t n, struct figures *fg)
{
    fg->received = 0;
    fg->duplicates = 0;
    fg->requests = n;
    for (size_t i = 0; i < n; i++) {
        bool first_ok = ok2xx(&v[i]);

        if (v[i].wid[0] == '\0')
            fail_msg("request %zu has no webhook-id", i);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(v[k].wid, v[i].wid) != 0)
                continue;
            if (v[k].body_len != v[i].body_len ||
                memcmp(v[k].body, v[i].body, v[i].body_len) != 0)
                fail_msg("requests %zu and %zu: webhook-id %s with two "
                         "different bodies", k, i, v[i].wid);
            if (ok2xx(&v[k]))
                first_ok = false;
        }
        if (ok2xx(&v[i]))
            first_ok ? fg->received++ : fg->duplicates++;
    }
}

static void report(const char *scenario, const struct figures *fg,
                   const char *extra)
{
    print_message("FAULTS | %s | expected %zu | received %zu | duplicates "
                  "%zu%s%s\n",
                  scenario, fg->expected, fg->received, fg->duplicates,
                  extra ? " | " : "", extra ? extra : "");
}

/* Wait until the receiver has acknowledged `want` distinct webhook-ids. */
static void wait_delivered(struct rcv *r, size_t want, int timeout_ms,
                           struct proc *run)
{
    int64_t end = clock_mono_ms() + timeout_ms;

    while (rcv_count_distinct(r, "webhook-id", 200, 299) < want) {
        if (run != NULL)
            proc_poll(run);
        if (clock_mono_ms() >= end) {
            if (run != NULL)
                twr_dump_stderr("run", run);
            fail_msg("%zu of %zu notifications acknowledged",
                     rcv_count_distinct(r, "webhook-id", 200, 299), want);
        }
        rcv_wait_requests(r, rcv_count(r) + 1, 100);
    }
}

/* ----------------------------- audit events -------------------------- */

/* Append one SSE frame: a completed call of `tool` by `agent`, stamped
 * ts_ms, that took dur_ms, with SSE id `id` and record_id `rec`. */
static void add_frame(char *out, size_t cap, const char *id, const char *rec,
                      const char *tool, const char *agent, int64_t ts_ms,
                      long dur_ms)
{
    const struct twr_call c = {.id = id, .rec = rec, .tool = tool,
                               .agent = agent, .ts_ms = ts_ms,
                               .dur_ms = (double)dur_ms, .payload = 512};

    assert_true(twr_add_call(out, cap, &c));
}

/* A latency anomaly (9 s) on tool-<i>, SSE id "<i>", stamped ts_ms. */
static void add_slow_call(char *out, size_t cap, int i, int64_t ts_ms)
{
    char id[16], rec[32], tool[32];

    snprintf(id, sizeof id, "%d", i);
    snprintf(rec, sizeof rec, "slow-%d", i);
    snprintf(tool, sizeof tool, "tool-%02d", i);
    add_frame(out, cap, id, rec, tool, "agent-1", ts_ms, 9000);
}

/* The episode id of the latency anomaly add_slow_call(i, ts_ms) makes when
 * the engine's clock is the event's time. */
static void slow_episode(int i, int64_t ts_ms, char out[ALERT_ID_HEX + 1])
{
    char tool[32];
    const char *key = tool;

    snprintf(tool, sizeof tool, "tool-%02d", i);
    alert_episode_id("latency", &key, 1, ts_ms, out);
}

/* A stream server whose first connection gets n latency anomalies on
 * tool-00.., stamped t0, t0 + 10 ms...; their episode ids go to ids[]. */
static void slow_calls_stream(struct twr_fx *f, int n, int64_t t0,
                              char (*ids)[ALERT_ID_HEX + 1], char *url,
                              size_t cap)
{
    static char frames[16384];

    frames[0] = '\0';
    for (int i = 0; i < n; i++) {
        add_slow_call(frames, sizeof frames, i, t0 + 10 * i);
        slow_episode(i, t0 + 10 * i, ids[i]);
    }
    assert_non_null(twr_fx_stream(f, frames, url, cap));
}

static int find_id(char (*ids)[ALERT_ID_HEX + 1], int n, const char *id)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0)
            return i;
    }
    return -1;
}

/* ------------------ 1. receiver down, then up again ------------------ */

#define DOWN_EPISODES 6

static void test_receiver_down_then_up(void **state)
{
    static struct hget_body b;
    char ids[DOWN_EPISODES][ALERT_ID_HEX + 1];
    int fired[DOWN_EPISODES] = {0}, resolved[DOWN_EPISODES] = {0};
    struct twr_fx *f = *state;
    struct figures fg = {0};
    struct twr_dir d;
    struct rcv *r;
    struct proc *run;
    struct note *v;
    char surl[128], hook[128];
    unsigned sport;
    size_t n;
    int64_t t0;

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_int_equal(rcv_set_down(r, true), 0);
    /* six slow calls on six tools, stamped 1.5 s ahead: each fires at its
     * own time, clears 1 s later and resolves after the 1 s hold */
    t0 = clock_wall_ms() + 1500;
    slow_calls_stream(f, DOWN_EPISODES, t0, ids, surl, sizeof surl);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"],"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300}],"
                 " \"detectors\": {\"allowed_lateness_s\": 0, \"hold_s\": 1,"
                 " \"latency\": {\"window_s\": 1}, " TWR_ONLY_LATENCY "}}",
                 d.state, surl, hook);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));

    /* the whole first part with the receiver down: every firing and
     * resolve is made and waits in the journal, none is acknowledged */
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        cJSON *st = twr_status(sport);
        assert_non_null(st);
        bool all = twr_detector(st, "latency", "alerts_fired") ==
                       DOWN_EPISODES &&
                   twr_detector(st, "latency", "alerts_resolved") ==
                       DOWN_EPISODES &&
                   twr_sink0(st, "queue_depth") == 2 * DOWN_EPISODES;
        if (all) {
            assert_true(twr_sink0(st, "delivered") == 0);
            assert_true(twr_sink0(st, "retries") >= 1);
        }
        cJSON_Delete(st);
        if (all)
            break;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("the %d episodes were not all made and queued",
                     DOWN_EPISODES);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
    assert_int_equal(rcv_count(r), 0);
    fg.expected = 2 * DOWN_EPISODES;
    assert_int_equal(hget(sport, "/healthz", &b), 200);

    /* back: everything is delivered, without a restart */
    assert_int_equal(rcv_set_down(r, false), 0);
    wait_delivered(r, fg.expected, WAIT_MS, run);
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    assert_true(twr_wait_http(
        sport, "/metrics", 200,
        "toolwatch_journal_pending{sink=\"webhook\"} 0\n", WAIT_MS, &b));
    assert_true(twr_stop("run", run));

    assert_true(twr_all_signed(r, SECRET));
    v = notes_load(r, &n);
    tally(v, n, &fg);
    for (size_t i = 0; i < n; i++) {
        int k = find_id(ids, DOWN_EPISODES, v[i].id);
        if (k < 0)
            fail_msg("request %zu: unexpected episode %s (%s %s)", i,
                     v[i].id, v[i].detector, v[i].key);
        assert_string_equal(v[i].detector, "latency");
        assert_int_equal(v[i].status, 200);
        if (twr_streq(v[i].type, "alert.firing")) {
            assert_int_equal(resolved[k], 0); /* the firing comes first */
            fired[k]++;
        } else {
            assert_string_equal(v[i].type, "alert.resolved");
            assert_int_equal(fired[k], 1);
            resolved[k]++;
        }
    }
    for (int k = 0; k < DOWN_EPISODES; k++) {
        assert_int_equal(fired[k], 1);
        assert_int_equal(resolved[k], 1);
    }
    free(v);
    report("receiver down then up", &fg, NULL);
    assert_int_equal(fg.received, fg.expected);
    assert_int_equal(fg.duplicates, 0);
}

/* --------------- 2. 500s, 429 + Retry-After, hang, reset ------------- */

#define FLAKY_EPISODES 4
#define FLAKY_500S 3

static void test_receiver_errors_retried(void **state)
{
    char ids[FLAKY_EPISODES][ALERT_ID_HEX + 1];
    /* the requests each notification is given, in order */
    static const size_t want_attempts[FLAKY_EPISODES] = {FLAKY_500S + 1, 2,
                                                         2, 2};
    size_t first[FLAKY_EPISODES], attempts[FLAKY_EPISODES] = {0};
    struct twr_fx *f = *state;
    struct figures fg = {0};
    struct twr_dir d;
    struct rcv *r;
    struct proc *run;
    struct note *v;
    char surl[128], hook[128], extra[128];
    unsigned sport;
    size_t n;
    int64_t t0, ra_wait, hang_cut;
    cJSON *st;

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    /* notification 0: three 500s, then 200 */
    for (int i = 0; i < FLAKY_500S; i++)
        assert_int_equal(rcv_add_status(r, 500, NULL, "oops"), 0);
    assert_int_equal(rcv_add_status(r, 200, NULL, NULL), 0);
    /* 1: 429 asking for 2 s, then 200 */
    assert_int_equal(rcv_add_status(r, 429, "Retry-After: 2", NULL), 0);
    assert_int_equal(rcv_add_status(r, 200, NULL, NULL), 0);
    /* 2: no answer past the 1 s timeout, then 200 and close, so that ... */
    assert_int_equal(rcv_add_hang(r), 0);
    assert_int_equal(rcv_add(r, &(struct rcv_action){.kind = RCV_ANSWER,
                                                     .status = 200,
                                                     .close = true}),
                     0);
    /* 3: ... the reset hits a fresh connection (libcurl would silently
     * resend a request whose reused connection died) */
    assert_int_equal(rcv_add_drop(r), 0);
    assert_int_equal(rcv_add_status(r, 200, NULL, NULL), 0);

    t0 = clock_wall_ms() + 1500;
    slow_calls_stream(f, FLAKY_EPISODES, t0, ids, surl, sizeof surl);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"], \"timeout_s\": 1,"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 200}],"
                 " \"detectors\": {" TWR_ONLY_LATENCY "}}",
                 d.state, surl, hook);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    fg.expected = FLAKY_EPISODES;
    wait_delivered(r, fg.expected, 2 * WAIT_MS, run);
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    assert_non_null(st = twr_status(sport));
    assert_true(twr_detector(st, "latency", "alerts_fired") == FLAKY_EPISODES);
    assert_true(twr_sink0(st, "delivered") == FLAKY_EPISODES);
    assert_true(twr_sink0(st, "retries") == FLAKY_500S + 3);
    assert_true(twr_sink0(st, "dead_lettered") == 0);
    cJSON_Delete(st);
    assert_true(twr_stop("run", run));

    assert_true(twr_all_signed(r, SECRET));
    v = notes_load(r, &n);
    tally(v, n, &fg);
    /* the queue is sent in order, one request at a time: each
     * notification's attempts are consecutive */
    for (size_t i = 0; i < n; i++) {
        int k = find_id(ids, FLAKY_EPISODES, v[i].id);
        if (k < 0)
            fail_msg("request %zu: unexpected episode %s", i, v[i].id);
        if (attempts[k]++ == 0)
            first[k] = i;
        else
            assert_string_equal(v[i].wid, v[first[k]].wid);
        assert_int_equal(first[k] + attempts[k] - 1, i);
    }
    for (int k = 0; k < FLAKY_EPISODES; k++) {
        assert_int_equal(attempts[k], want_attempts[k]);
        /* the last attempt, and only it, was acknowledged */
        for (size_t a = 0; a < attempts[k]; a++)
            assert_int_equal(ok2xx(&v[first[k] + a]), a + 1 == attempts[k]);
    }
    assert_int_equal(v[first[0]].status, 500);
    assert_int_equal(v[first[1]].status, 429);
    assert_int_equal(v[first[2]].status, 0); /* hung, cut by the client */
    assert_int_equal(v[first[3]].status, 0); /* reset */
    /* Retry-After: 2 s on the receiver's clock, from the 429's end */
    ra_wait = v[first[1] + 1].arrival_ms - v[first[1]].end_ms;
    assert_true(ra_wait >= 2000 - 5);
    assert_true(ra_wait < 2000 + 1500);
    /* the hang is cut by the 1 s timeout, and retried */
    hang_cut = v[first[2]].end_ms - v[first[2]].arrival_ms;
    assert_true(hang_cut >= 900 && hang_cut < 2500);
    free(v);
    snprintf(extra, sizeof extra,
             "attempts %zu | 429 retry after %lld ms | hang cut after %lld "
             "ms", n, (long long)ra_wait, (long long)hang_cut);
    report("receiver 500 x3, 429 Retry-After 2, hang, reset", &fg, extra);
    assert_int_equal(fg.received, fg.expected);
    assert_int_equal(fg.duplicates, 0);
}

/* ---------------- 3. kill -9 at random moments ----------------------- */

#define KILL_ROUNDS 20
#define KILL_PER_ROUND 2                          /* anomalies released */
#define KILL_EPISODES (KILL_ROUNDS * KILL_PER_ROUND + 4)
#define KILL_MAX_DELAY_MS 1000
#define KILL_AIM_EVERY 4 /* kills 1, 5, 9...: when a new alert goes out */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Serve the anomalies after the Last-Event-ID of connection `conn` up to
 * `upto` (ids are 1..KILL_EPISODES); returns the first id served. */
static int serve_after(struct tsrv *srv, size_t conn, int upto,
                       const int64_t *ts, int served_max)
{
    static char frames[65536];
    char lei[32];
    int from = 1;

    if (tsrv_header(srv, conn, "Last-Event-ID", lei, sizeof lei)) {
        from = (int)strtol(lei, NULL, 10) + 1;
        /* a position is persisted only for what was read */
        assert_true(from >= 2 && from <= served_max + 1);
    }
    frames[0] = '\0';
    for (int i = from; i <= upto; i++)
        add_slow_call(frames, sizeof frames, i, ts[i]);
    if (frames[0] != '\0')
        assert_int_equal(tsrv_push(srv, conn, frames, strlen(frames)), 0);
    return from;
}

/* Wait for the first request carrying episode `id`. */
static void wait_episode_sent(struct rcv *r, const char *id, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;
    size_t i = 0;

    for (;;) {
        struct rcv_request q;
        while (rcv_get(r, i, &q)) {
            if (q.body != NULL &&
                mem_has((const char *)q.body, q.body_len, id))
                return;
            i++;
        }
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("episode %s never sent", id);
        }
        rcv_wait_requests(r, i + 1, 100);
    }
}

/* What a kill -9 left for the next start to find. */
struct kill_left {
    /* anomaly k's notification had reached the journal: an ENQUEUE in
     * journal.log, or a request at the receiver (sent only after the
     * journal's fsync) */
    bool journaled[KILL_EPISODES + 1];
    /* the anomaly whose ENQUEUE is the journal's last intact record, with
     * no POSITION behind it: the kill fell between those two writes (see
     * README "Restarts and crashes"); 0 when the journal ends otherwise */
    int unpositioned;
    /* the stream position of the detection checkpoint (an anomaly's SSE
     * id; 0 for ""), -1 when there is none */
    int ckpt_pos;
};

struct kill_scan {
    char (*ids)[ALERT_ID_HEX + 1];
    struct kill_left *left;
    int last; /* the anomaly of the last record read if an ENQUEUE, or 0 */
};

/* The anomaly 1..KILL_EPISODES whose episode id is in body, or 0. */
static int anomaly_of(char (*ids)[ALERT_ID_HEX + 1], const void *body,
                      size_t len)
{
    for (int k = 1; body != NULL && k <= KILL_EPISODES; k++) {
        if (mem_has(body, len, ids[k]))
            return k;
    }
    return 0;
}

static int kill_scan_record(void *ud, const struct journal_record *rec)
{
    struct kill_scan *s = ud;

    s->last = 0;
    if (rec->type == JOURNAL_RECORD_ENQUEUE) {
        s->last = anomaly_of(s->ids, rec->entry.body, rec->entry.body_len);
        s->left->journaled[s->last] = true;
    }
    return 0;
}

/* Read what the kill left in d's journal and at the receiver r. */
static void kill_left_read(const struct twr_dir *d, struct rcv *r,
                           char (*ids)[ALERT_ID_HEX + 1],
                           struct kill_left *left)
{
    struct kill_scan s = {.ids = ids, .left = left};
    struct journal_record_scan_result res;
    struct rcv_request q;
    char path[160];
    size_t len;
    char *data;

    memset(left, 0, sizeof *left);
    snprintf(path, sizeof path, "%s/journal.log", d->state);
    data = read_all(path, &len);
    assert_int_equal(
        journal_record_scan(data, len, kill_scan_record, &s, &res),
        JOURNAL_RECORD_EOK);
    free(data);
    left->unpositioned = s.last;
    for (size_t i = 0; rcv_get(r, i, &q); i++)
        left->journaled[anomaly_of(ids, q.body, q.body_len)] = true;
    left->journaled[0] = false;
    left->ckpt_pos = -1;
    if (ckpt_file_read(d->state, 1u << 26, &data, &len) == CKPT_OK) {
        struct ckpt_info ck;
        assert_int_equal(ckpt_peek(data, len, &ck), CKPT_OK);
        left->ckpt_pos = (int)strtol(ck.position, NULL, 10);
        free(data);
    }
}

/* The anomalies from..served_max are read again after the kill that left
 * `left`: from the checkpoint's position on, when there is a checkpoint,
 * exactly.  Those whose notification had reached the journal are counted
 * in *reread_sent (made again, not sent again), the others in *reread.
 * The anomaly the kill cut off from its position and mark is counted in
 * *split and allowed to fire again (allow_refire). */
static void check_reread(const struct kill_left *left, int from,
                         int served_max, int round, int *allow_refire,
                         size_t *reread, size_t *reread_sent, size_t *split)
{
    if (left->ckpt_pos >= 0 && from != left->ckpt_pos + 1)
        fail_msg("round %d: resumed after %d, the checkpoint's position is "
                 "%d", round, from - 1, left->ckpt_pos);
    for (int i = from; i <= served_max; i++) {
        if (i == left->unpositioned) {
            allow_refire[i]++;
            (*split)++;
        } else if (left->journaled[i]) {
            (*reread_sent)++;
        } else {
            (*reread)++;
        }
    }
}

static void test_kill9_at_random_moments(void **state)
{
    static char ids[KILL_EPISODES + 1][ALERT_ID_HEX + 1];
    static int64_t ts[KILL_EPISODES + 1];
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    struct twr_fx *f = *state;
    struct figures fg = {0};
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run = NULL;
    struct note *v;
    char surl[128], hook[128], extra[384];
    const char *env_seed = getenv("FAULTS_SEED");
    uint64_t seed, rng;
    unsigned sport;
    size_t n, refires = 0, reread = 0, reread_sent = 0, split = 0,
           conn = 0;
    size_t mid_request = 0, aimed_kills = 0, same_id_copies;
    int served_max = 0, acked[KILL_EPISODES + 1] = {0};
    int wids[KILL_EPISODES + 1] = {0}, allow_refire[KILL_EPISODES + 1] = {0};
    struct kill_left left = {0};
    bool new_wid;
    int64_t t0, start = clock_mono_ms();

    seed = env_seed ? strtoull(env_seed, NULL, 0)
                    : (uint64_t)clock_wall_ms() ^ (uint64_t)getpid();
    rng = seed;
    print_message("    kill -9 scenario: seed %llu (FAULTS_SEED=%llu to "
                  "replay)\n",
                  (unsigned long long)seed, (unsigned long long)seed);
    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    /* slow and flaky: most answers take 50-300 ms, one in five is a 503,
     * one in ten a 500 after 100 ms */
    for (int i = 0; i < 4000; i++) {
        uint64_t x = rng_next(&rng) % 100;
        struct rcv_action a = {.kind = RCV_ANSWER, .status = 200};
        if (x < 20) {
            a.status = 503;
        } else if (x < 30) {
            a.status = 500;
            a.delay_ms = 100;
        } else {
            a.delay_ms = 50 + (unsigned)(rng_next(&rng) % 250);
        }
        assert_int_equal(rcv_add(r, &a), 0);
    }
    /* stamped two minutes ahead (max_future_skew_s is 300): the episode
     * ids are known here and are the same after every restart */
    t0 = clock_wall_ms() + 120000;
    for (int i = 1; i <= KILL_EPISODES; i++) {
        ts[i] = t0 + 10 * i;
        slow_episode(i, ts[i], ids[i]);
    }
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\","
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"], \"timeout_s\": 2,"
                 " \"retry_base_ms\": 50, \"retry_max_ms\": 200}],"
                 " \"detectors\": {" TWR_ONLY_LATENCY "}}",
                 d.state, surl, hook);

    for (int round = 0; round < KILL_ROUNDS; round++) {
        int upto = (round + 1) * KILL_PER_ROUND, from;
        long delay = (long)(rng_next(&rng) % KILL_MAX_DELAY_MS);
        int first_new = served_max + 1;
        bool aimed = round % KILL_AIM_EVERY == 0;

        assert_int_equal(tsrv_add_response(srv, &keep), 0);
        assert_non_null(run = twr_start_run(f, d.cfg, run_env, NULL));
        if (!tsrv_wait_requests(srv, conn + 1, WAIT_MS)) {
            twr_dump_stderr("run", run);
            fail_msg("round %d: the service did not connect", round);
        }
        from = serve_after(srv, conn, upto, ts, served_max);
        check_reread(&left, from, served_max, round, allow_refire, &reread,
                     &reread_sent, &split);
        if (upto > served_max)
            served_max = upto;
        conn++;
        if (aimed) {
            /* the moment the round's first new alert goes out (at once in
             * round 0, the queue being empty): the events that made it
             * must be recorded as read by then (check_reread, at the
             * next start) */
            wait_episode_sent(r, ids[first_new], run);
            aimed_kills++;
        } else {
            twr_pause_ms(delay); /* the fault: a random moment, not a wait */
            if (rcv_count(r) > 0) {
                struct rcv_request q;
                assert_true(rcv_get(r, rcv_count(r) - 1, &q));
                mid_request += q.end_ms == 0;
            }
        }
        assert_true(twr_kill9("run", run));
        kill_left_read(&d, r, ids, &left);
    }
    /* the last run is not killed: it must finish the job */
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    assert_true(tsrv_wait_requests(srv, conn + 1, WAIT_MS));
    check_reread(&left, serve_after(srv, conn, KILL_EPISODES, ts, served_max),
                 served_max, KILL_ROUNDS, allow_refire, &reread, &reread_sent,
                 &split);
    for (int64_t end = clock_mono_ms() + 3 * WAIT_MS;;) {
        int missing = 0;
        v = notes_load(r, &n);
        for (size_t i = 0; i < n; i++) {
            int k = find_id(ids, KILL_EPISODES + 1, v[i].id);
            if (k > 0 && ok2xx(&v[i]))
                acked[k]++;
        }
        free(v);
        for (int k = 1; k <= KILL_EPISODES; k++) {
            missing += acked[k] == 0;
            acked[k] = 0;
        }
        if (missing == 0)
            break;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("%d of %d episodes never acknowledged", missing,
                     KILL_EPISODES);
        }
        rcv_wait_requests(r, rcv_count(r) + 1, 200);
    }
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    assert_true(twr_stop("run", run));

    assert_true(twr_all_signed(r, SECRET));
    v = notes_load(r, &n);
    tally(v, n, &fg); /* copies of one webhook-id are byte-identical */
    same_id_copies = fg.duplicates;
    fg.expected = KILL_EPISODES;
    fg.received = 0;
    fg.duplicates = 0;
    for (size_t i = 0; i < n; i++) {
        int k = find_id(ids, KILL_EPISODES + 1, v[i].id);
        if (k <= 0)
            fail_msg("request %zu: unexpected episode %s (%s %s %s)", i,
                     v[i].id, v[i].type, v[i].detector, v[i].key);
        assert_string_equal(v[i].type, "alert.firing");
        assert_string_equal(v[i].detector, "latency");
        if (ok2xx(&v[i]) && acked[k]++ > 0)
            fg.duplicates++;
        /* a second webhook-id for one episode: the anomaly paged again,
         * which only a kill between the journal's two writes may cause */
        new_wid = true;
        for (size_t j = 0; j < i && new_wid; j++)
            new_wid = strcmp(v[j].wid, v[i].wid) != 0;
        if (new_wid && wids[k]++ > 0) {
            print_message("    episode %s (%s) made again under a new "
                          "webhook-id %s (request %zu)\n",
                          v[i].id, v[i].key, v[i].wid, i);
            if (allow_refire[k]-- <= 0)
                fail_msg("episode %s (%s) under two webhook-ids, but no "
                         "kill fell between the journal write of its "
                         "notification and of its position",
                         v[i].id, v[i].key);
            refires++;
        }
    }
    for (int k = 1; k <= KILL_EPISODES; k++)
        fg.received += acked[k] > 0;
    free(v);
    snprintf(extra, sizeof extra,
             "kills %d (%zu mid-request, %zu aimed, %zu between the "
             "journal's two writes) | attempts %zu | same-id copies %zu | "
             "events re-read %zu (never journaled) + %zu (journaled, from "
             "the checkpoint: not sent again) | re-fired %zu | "
             "seed %llu | %lld ms",
             KILL_ROUNDS, mid_request, aimed_kills, split, n,
             same_id_copies, reread, reread_sent, refires,
             (unsigned long long)seed,
             (long long)(clock_mono_ms() - start));
    report("kill -9 at random moments x20", &fg, extra);
    assert_int_equal(fg.received, fg.expected);
}

/* ---------------------- 4. stream faults ----------------------------- */

#define VOL_RECORDS 12 /* distinct records before the last one */

/* Frame of record k of the volume scenario (agent `agent`). */
static void vol_frame(char *out, size_t cap, int k, const char *agent,
                      int64_t t0)
{
    char id[16], rec[32];

    out[0] = '\0';
    snprintf(id, sizeof id, "%d", k);
    snprintf(rec, sizeof rec, "vol-%d", k);
    add_frame(out, cap, id, rec, "vol_tool", agent, t0 + 10 * k, 20);
}

/* Append frames first..last (whole) to out. */
static void vol_frames(char *out, size_t cap, int first, int last, int64_t t0)
{
    char one[1024];

    for (int k = first; k <= last; k++) {
        vol_frame(one, sizeof one, k, "agent-1", t0);
        assert_true(strlen(out) + strlen(one) < cap);
        strncat(out, one, cap - strlen(out) - 1);
    }
}

static void add_stream_close(struct tsrv *srv, const char *body, size_t len)
{
    struct tsrv_chunk c = {.data = body, .len = len};
    struct tsrv_response resp = {.status = 200, .chunks = &c, .nchunks = 1,
                                 .end = TSRV_CLOSE};

    assert_int_equal(tsrv_add_response(srv, &resp), 0);
}

/* /status until events.total == total; then the exact counters. */
static void expect_events(unsigned port, uint64_t total, uint64_t dups,
                          struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;
    double got = -1;

    for (;;) {
        cJSON *st = twr_status(port);
        assert_non_null(st);
        const cJSON *ev = twr_jobj(st, "events");
        got = twr_jnum(ev, "total");
        if (got == (double)total) {
            const cJSON *errs = twr_jobj(ev, "errors"), *e;
            assert_true(twr_jnum(ev, "duplicates") == (double)dups);
            assert_true(twr_jnum(ev, "decoded") == (double)total);
            cJSON_ArrayForEach(e, errs)
            {
                if (e->valuedouble != 0)
                    fail_msg("events.errors.%s is %g", e->string,
                             e->valuedouble);
            }
            cJSON_Delete(st);
            return;
        }
        cJSON_Delete(st);
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("events.total is %g, want %llu", got,
                     (unsigned long long)total);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

static void expect_lei(struct tsrv *srv, size_t idx, const char *want)
{
    char got[64];

    assert_true(tsrv_wait_requests(srv, idx + 1, WAIT_MS));
    if (!tsrv_header(srv, idx, "Last-Event-ID", got, sizeof got))
        fail_msg("reconnect %zu: no Last-Event-ID (want %s)", idx, want);
    if (strcmp(got, want) != 0)
        fail_msg("reconnect %zu: Last-Event-ID %s, want %s", idx, got, want);
}

static void test_stream_cuts_and_replays(void **state)
{
    static char b0[8192], b1[8192], b2[8192], b4[16384], one[1024];
    static struct hget_body b;
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    struct twr_fx *f = *state;
    struct figures fg = {0};
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    struct note *v;
    char surl[128], hook[128];
    const char *cut;
    unsigned sport;
    size_t n;
    int64_t t0 = clock_wall_ms();
    cJSON *st;

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    /* connection 0: records 1-3, then 4 cut in the middle of its data
     * line */
    b0[0] = '\0';
    vol_frames(b0, sizeof b0, 1, 3, t0);
    vol_frame(one, sizeof one, 4, "agent-1", t0);
    cut = strstr(one, "\"timestamp\"");
    assert_non_null(cut);
    strncat(b0, one, (size_t)(cut - one));
    add_stream_close(srv, b0, strlen(b0));
    /* 1: resumes after 3 but replays 2 and 3 (same record ids), then 4 and
     * 5, then 6 whole but for the blank line that would dispatch it */
    b1[0] = '\0';
    vol_frames(b1, sizeof b1, 2, 5, t0);
    vol_frame(one, sizeof one, 6, "agent-1", t0);
    strncat(b1, one, strlen(one) - 1);
    add_stream_close(srv, b1, strlen(b1));
    /* 2: 6 and 7, then 8 cut inside the two bytes of an e-acute */
    b2[0] = '\0';
    vol_frames(b2, sizeof b2, 6, 7, t0);
    vol_frame(one, sizeof one, 8, "ag\xc3\xa9nt-8", t0);
    cut = strstr(one, "\xc3\xa9");
    assert_non_null(cut);
    strncat(b2, one, (size_t)(cut - one) + 1);
    add_stream_close(srv, b2, strlen(b2));
    /* 3: the server is restarting */
    assert_int_equal(tsrv_add_status(srv, 503, "Retry-After: 1"), 0);
    /* 4: replays 5-7, then 8 (whole) to 12, and stays open */
    b4[0] = '\0';
    vol_frames(b4, sizeof b4, 5, 7, t0);
    vol_frame(one, sizeof one, 8, "ag\xc3\xa9nt-8", t0);
    strncat(b4, one, sizeof b4 - strlen(b4) - 1);
    vol_frames(b4, sizeof b4, 9, VOL_RECORDS, t0);
    {
        struct tsrv_chunk c = {.data = b4, .len = strlen(b4)};
        struct tsrv_response resp = keep;
        resp.chunks = &c;
        resp.nchunks = 1;
        assert_int_equal(tsrv_add_response(srv, &resp), 0);
    }
    /* a double count of any record crosses the threshold; the last
     * record, and only it, must */
    /* retry_max_ms above the Retry-After: 1 of response 3, which a
     * reader honours only up to that cap */
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\","
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 1500},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"]}],"
                 " \"detectors\": {\"volume\": {\"window_s\": 60,"
                 " \"threshold\": %d},"
                 " \"error_rate\": {\"enabled\": false},"
                 " \"latency\": {\"enabled\": false},"
                 " \"payload_size\": {\"enabled\": false},"
                 " \"credential_access\": {\"enabled\": false},"
                 " \"stream_stalled\": {\"enabled\": false}}}",
                 d.state, surl, hook, VOL_RECORDS);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    /* nothing read twice and nothing skipped: each reconnect resumes
     * after the last whole event */
    expect_lei(srv, 1, "3");
    expect_lei(srv, 2, "5");
    expect_lei(srv, 3, "7");
    expect_lei(srv, 4, "7");
    {
        struct tsrv_request_info a, c;
        assert_true(tsrv_request(srv, 3, &a));
        assert_true(tsrv_request(srv, 4, &c));
        assert_true(c.arrival_ms - a.end_ms >= 1000 - 5); /* Retry-After */
    }
    /* 3 + 4 + 2 + 8 events read, 5 of them replays */
    expect_events(sport, 17, 5, run);
    assert_int_equal(hget(sport, "/readyz", &b), 200);
    assert_non_null(st = twr_status(sport));
    assert_true(twr_detector(st, "volume", "alerts_fired") == 0);
    assert_true(twr_jnum(twr_jobj(st, "stream"), "reconnects") == 4);
    cJSON_Delete(st);
    assert_int_equal(rcv_count(r), 0);

    /* one more record: exactly at threshold + 1 */
    vol_frame(one, sizeof one, VOL_RECORDS + 1, "agent-1", t0);
    assert_int_equal(tsrv_push(srv, 4, one, strlen(one)), 0);
    wait_delivered(r, 1, WAIT_MS, run);
    expect_events(sport, 18, 5, run);
    assert_true(twr_wait_http(sport, "/metrics", 200,
                              "toolwatch_events_duplicate_total 5\n",
                              WAIT_MS, &b));
    assert_non_null(strstr(b.data, "toolwatch_events_total 18\n"));
    assert_true(twr_stop("run", run));

    v = notes_load(r, &n);
    tally(v, n, &fg);
    fg.expected = 1;
    assert_int_equal(n, 1);
    assert_string_equal(v[0].type, "alert.firing");
    assert_string_equal(v[0].detector, "volume");
    assert_string_equal(v[0].key, "vol_tool");
    {
        cJSON *j = cJSON_ParseWithLength((const char *)v[0].body,
                                         v[0].body_len);
        assert_non_null(j);
        assert_true(twr_jnum(twr_jobj(j, "data"), "value") == VOL_RECORDS + 1);
        cJSON_Delete(j);
    }
    free(v);
    report("stream cut mid-line/mid-event/mid-UTF-8, 503, replayed ids",
           &fg, "events read 18 | counted 13 | duplicates dropped 5");
    assert_int_equal(fg.received, fg.expected);
    assert_int_equal(fg.duplicates, 0);
}

/* Poll /status until the stream is disconnected with `total` stable; then
 * return the last snapshot (the caller frees it). */
static cJSON *status_when_disconnected(unsigned port, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;
    double last = -1;

    for (;;) {
        cJSON *st = twr_status(port);
        assert_non_null(st);
        double total = twr_jnum(twr_jobj(st, "events"), "total");
        if (!cJSON_IsTrue(twr_jobj(twr_jobj(st, "stream"), "connected")) &&
            total == last)
            return st;
        last = cJSON_IsTrue(twr_jobj(twr_jobj(st, "stream"), "connected"))
                   ? -1
                   : total;
        cJSON_Delete(st);
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("the stream never settled disconnected");
        }
        twr_pause_ms(2 * TWR_POLL_MS);
    }
}

/* Poll /status until events.total >= want. */
static double wait_events_at_least(unsigned port, double want,
                                   struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    for (;;) {
        cJSON *st = twr_status(port);
        assert_non_null(st);
        double total = twr_jnum(twr_jobj(st, "events"), "total");
        cJSON_Delete(st);
        if (total >= want)
            return total;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("events.total %g, want at least %g", total, want);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* The stream's server dies (kill -9, mid-event) and comes back on the
 * same port: the ids read are exactly 1..last, none twice. */
static void test_stream_server_restart(void **state)
{
    static char t0[40];
    /* both simulators serve the same events: same seed, same start */
    const char *extra[] = {"--rate",       "1000", "--seed",
                           "7",            "--start-time", t0,
                           "--heartbeat-ms", "300", NULL};
    struct twr_fx *f = *state;
    struct figures fg = {0};
    struct twr_dir d;
    struct proc *sim, *run;
    char url[128], url2[128], line[200];
    unsigned sport;
    double total, before, last_id;
    cJSON *st;

    assert_true(clock_format_iso8601(clock_wall_ms(), t0, sizeof t0) > 0);
    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(sim = twr_start_sim(f, extra, 0, url, sizeof url));
    seed_position(&d, "0");
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\","
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300},"
                 " \"status\": {\"port\": 0},"
                 " \"detectors\": {" TWR_ONLY_LATENCY "}}",
                 d.state, url);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    wait_events_at_least(sport, 1500, run);
    assert_true(twr_kill9("simulate", sim));
    st = status_when_disconnected(sport, run);
    before = twr_jnum(twr_jobj(st, "events"), "total");
    cJSON_Delete(st);
    sim = twr_start_sim(f, extra, twr_url_port(url), url2, sizeof url2);
    assert_non_null(sim);
    assert_string_equal(url2, url);
    wait_events_at_least(sport, before + 1000, run);
    assert_true(twr_stop("simulate", sim));
    st = status_when_disconnected(sport, run);
    total = twr_jnum(twr_jobj(st, "events"), "total");
    last_id = strtod(twr_jstr(twr_jobj(st, "stream"), "last_event_id"), NULL);
    assert_true(twr_jnum(twr_jobj(st, "events"), "duplicates") == 0);
    assert_true(twr_jnum(twr_jobj(st, "stream"), "reconnects") >= 2);
    cJSON_Delete(st);
    assert_true(twr_stop("run", run));
    snprintf(line, sizeof line,
             "events read %.0f | ids 1..%.0f | read before the kill %.0f",
             total, last_id, before);
    report("stream server killed -9 and restarted", &fg, line);
    /* position 0 was seeded: the first id read is 1 */
    assert_true(total == last_id);
}

/* ---------------------- 5. the disk fills up ------------------------- */

#define FULL_SIZE "size=256k"
/* 2 delivered from memory + 2 held and journaled + 8 more, which cannot
 * all fit in the slack of the journal's last page (4 KiB) */
#define FULL_ALERTS 12

/* Fill the file system that holds `path` with that file until a write
 * fails. */
static void fill_disk(const char *path)
{
    static char block[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    for (;;) {
        ssize_t w = write(fd, block, sizeof block);
        if (w < (ssize_t)sizeof block)
            break;
    }
    /* then the last bytes of the last page */
    while (write(fd, block, 1) == 1)
        ;
    close(fd);
}

/* Push a latency anomaly on tool-<i> on KEEP connection conn. */
static void push_slow(struct tsrv *srv, size_t conn, int i, int64_t ts_ms)
{
    char frame[1024];

    frame[0] = '\0';
    add_slow_call(frame, sizeof frame, i, ts_ms);
    assert_int_equal(tsrv_push(srv, conn, frame, strlen(frame)), 0);
}

static void expect_ready(unsigned port, long status, const char *needle,
                         struct proc *run, const char *when)
{
    static struct hget_body b;

    if (!twr_wait_http(port, "/readyz", status, needle, WAIT_MS, &b)) {
        twr_dump_stderr("run", run);
        fail_msg("%s: /readyz never %ld%s%s (last: %s)", when, status,
                 needle ? " with " : "", needle ? needle : "", b.data);
    }
}

static void test_disk_full(void **state)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    static struct hget_body b;
    struct twr_fx *f = *state;
    struct figures fg = {0};
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    struct note *v;
    char surl[128], hook[128], filler[160], jpath[160];
    char held[64];
    char ids[FULL_ALERTS + 1][ALERT_ID_HEX + 1];
    int got[FULL_ALERTS + 1] = {0};
    unsigned sport;
    size_t n, jlen, from;
    int64_t t0 = clock_wall_ms() + 60000;
    char *jdata;
    struct stat sb;

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_int_equal(mkdir(d.state, 0700), 0);
    if (mount("tmpfs", d.state, "tmpfs", 0, FULL_SIZE) != 0) {
        print_message("    SKIPPED: cannot mount a tmpfs on %s (%s): the "
                      "disk-full scenario needs root\n",
                      d.state, strerror(errno));
        skip();
    }
    assert_int_equal(twr_fx_mount(f, d.state), 0);
    snprintf(filler, sizeof filler, "%s/filler", d.state);
    snprintf(jpath, sizeof jpath, "%s/journal.log", d.state);

    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"],"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300}],"
                 " \"detectors\": {" TWR_ONLY_LATENCY "}}",
                 d.state, surl, hook);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    assert_true(tsrv_wait_requests(srv, 1, WAIT_MS));
    expect_ready(sport, 200, NULL, run, "at start");
    assert_int_equal(stat(jpath, &sb), 0);
    assert_int_equal(sb.st_size, 0);

    /* full: two alerts are delivered from memory */
    fill_disk(filler);
    push_slow(srv, 0, 1, t0 + 1);
    push_slow(srv, 0, 2, t0 + 2);
    wait_delivered(r, 2, WAIT_MS, run);
    expect_ready(sport, 503, "journal not writable", run, "disk full");
    assert_int_equal(hget(sport, "/healthz", &b), 200);
    assert_int_equal(stat(jpath, &sb), 0);
    assert_int_equal(sb.st_size, 0);

    /* still full, and the receiver fails: two alerts wait in memory */
    assert_int_equal(rcv_set_default(r, &(struct rcv_action){
                                            .kind = RCV_ANSWER,
                                            .status = 503}),
                     0);
    from = rcv_count(r);
    push_slow(srv, 0, 3, t0 + 3);
    push_slow(srv, 0, 4, t0 + 4);
    assert_true(twr_wait_sink0(sport, "queue_depth", 2, WAIT_MS, run));
    assert_true(rcv_wait_requests(r, from + 1, WAIT_MS));
    {
        struct rcv_request q;
        assert_true(rcv_get(r, from, &q));
        snprintf(held, sizeof held, "%s", rcv_header(&q, "webhook-id"));
    }
    expect_ready(sport, 503, "journal not writable", run, "still full");

    /* space returns: what waits in memory is journaled, ready again */
    assert_int_equal(unlink(filler), 0);
    expect_ready(sport, 200, NULL, run, "space returned");
    jdata = read_all(jpath, &jlen);
    assert_true(jlen > 0);
    assert_true(mem_has(jdata, jlen, held));
    assert_true(mem_has(jdata, jlen, "tool-03"));
    assert_true(mem_has(jdata, jlen, "tool-04"));
    assert_false(mem_has(jdata, jlen, "tool-01"));
    free(jdata);

    /* ... and survives kill -9: the next start sends both, the head under
     * the webhook-id it was tried with */
    assert_true(twr_kill9("run", run));
    assert_int_equal(rcv_set_default(r, &(struct rcv_action){
                                            .kind = RCV_ANSWER,
                                            .status = 200}),
                     0);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    wait_delivered(r, 4, WAIT_MS, run);
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    {
        bool acked = false;
        struct rcv_request q;
        for (size_t i = from; rcv_get(r, i, &q); i++)
            acked |= q.status == 200 &&
                     twr_streq(rcv_header(&q, "webhook-id"), held);
        assert_true(acked);
    }

    /* full again, nothing left pending once the alerts are delivered: the
     * journal must be seen writable again when space returns */
    fill_disk(filler);
    for (int i = 5; i <= FULL_ALERTS; i++)
        push_slow(srv, 1, i, t0 + i);
    wait_delivered(r, FULL_ALERTS, WAIT_MS, run);
    expect_ready(sport, 503, "journal not writable", run, "full again");
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    assert_int_equal(unlink(filler), 0);
    expect_ready(sport, 200, NULL, run, "space returned, nothing pending");
    assert_int_equal(hget(sport, "/healthz", &b), 200);
    assert_true(twr_stop("run", run));

    assert_true(twr_all_signed(r, SECRET));
    v = notes_load(r, &n);
    tally(v, n, &fg);
    fg.expected = FULL_ALERTS;
    for (int i = 1; i <= FULL_ALERTS; i++)
        slow_episode(i, t0 + i, ids[i]);
    for (size_t i = 0; i < n; i++) {
        int k = find_id(ids, FULL_ALERTS + 1, v[i].id);
        if (k <= 0)
            fail_msg("request %zu: unexpected episode %s (%s %s)", i,
                     v[i].id, v[i].detector, v[i].key);
        got[k] += ok2xx(&v[i]);
    }
    for (int k = 1; k <= FULL_ALERTS; k++)
        assert_int_equal(got[k], 1);
    free(v);
    report("state dir disk full (tmpfs 256k), then space returns", &fg,
           NULL);
    assert_int_equal(fg.received, fg.expected);
    assert_int_equal(fg.duplicates, 0);
}

/* ----------------- 6. configuration reload under load ---------------- */

#define RELOADS 10

#define RELOAD_CONFIG                                                      \
    "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"               \
    " \"status\": {\"port\": 0},"                                          \
    " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","                \
    " \"secret_envs\": [\"" SECRET_ENV "\"], \"digest_after\": 0}],"       \
    " \"detectors\": {\"hold_s\": 1,"                                      \
    " \"volume\": {\"group_by\": \"global\", \"window_s\": 3,"             \
    " \"threshold\": %d},"                                                 \
    " \"latency\": {\"window_s\": 60},"                                    \
    " \"error_rate\": {\"enabled\": false},"                               \
    " \"payload_size\": {\"enabled\": false},"                             \
    " \"credential_access\": {\"enabled\": false},"                        \
    " \"stream_stalled\": {\"enabled\": false}}}"

/* Count the notifications of detector/type received so far. */
static size_t count_notes(struct rcv *r, const char *detector,
                          const char *type)
{
    size_t n, c = 0;
    struct note *v = notes_load(r, &n);

    for (size_t i = 0; i < n; i++)
        c += twr_streq(v[i].detector, detector) && twr_streq(v[i].type, type);
    free(v);
    return c;
}

static void wait_notes(struct rcv *r, const char *detector, const char *type,
                       size_t want, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    while (count_notes(r, detector, type) < want) {
        proc_poll(run);
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("%zu of %zu %s %s notifications",
                     count_notes(r, detector, type), want, detector, type);
        }
        rcv_wait_requests(r, rcv_count(r) + 1, 100);
    }
}

static double metric(const char *text, const char *name)
{
    char key[128];
    const char *at;

    snprintf(key, sizeof key, "\n%s ", name);
    at = strstr(text, key);
    if (at == NULL)
        fail_msg("metric %s missing", name);
    return strtod(at + strlen(key), NULL);
}

static void test_reload_under_load(void **state)
{
    const char *extra[] = {"--rate",    "2000", "--scenario",
                           "slow-calls", "--phase-s", "120",
                           "--quiet-s", "1",    "--heartbeat-ms",
                           "300",       NULL};
    static struct hget_body b;
    struct twr_fx *f = *state;
    struct figures fg = {0};
    struct twr_dir d;
    struct rcv *r;
    struct proc *sim, *run;
    struct note *v;
    char url[128], hook[128], line[200];
    unsigned sport;
    double prev_total = 0, total, last_id, reconnects;
    size_t n, vol_fired = 0, vol_closed = 0, lat_fired = 0;
    int64_t start = clock_mono_ms();
    cJSON *st;

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_non_null(sim = twr_start_sim(f, extra, 0, url, sizeof url));
    seed_position(&d, "0");
    WRITE_CONFIG(d.cfg, RELOAD_CONFIG, d.state, url, hook, 100);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    wait_notes(r, "volume", "alert.firing", 1, run);
    wait_notes(r, "latency", "alert.firing", 1, run);

    for (int k = 1; k <= RELOADS; k++) {
        size_t mark = twr_stderr_len(run);

        WRITE_CONFIG(d.cfg, RELOAD_CONFIG, d.state, url, hook,
                     k % 2 ? 101 : 100);
        assert_int_equal(proc_signal(run, SIGHUP), 0);
        if (k == 1) {
            /* (the log is rate-limited: later reloads may not say so) */
            assert_true(twr_stderr_after("run", run, mark,
                                         "configuration reloaded from ",
                                         WAIT_MS));
            assert_true(twr_stderr_after(
                "run", run, mark, "1 of 2 rules kept their state", 0));
        }
        /* the reload closed the open volume episode, and the new one has
         * fired before the next reload */
        wait_notes(r, "volume", "alert.resolved", (size_t)k, run);
        wait_notes(r, "volume", "alert.firing", (size_t)k + 1, run);
        assert_int_equal(hget(sport, "/healthz", &b), 200);
        assert_int_equal(hget(sport, "/metrics", &b), 200);
        total = metric(b.data, "toolwatch_events_total");
        if (total < prev_total)
            fail_msg("reload %d: toolwatch_events_total went back from "
                     "%.0f to %.0f",
                     k, prev_total, total);
        prev_total = total;
    }
    /* events keep flowing after the last reload */
    wait_events_at_least(sport, prev_total + 2000, run);
    assert_true(twr_stop("simulate", sim));
    st = status_when_disconnected(sport, run);
    total = twr_jnum(twr_jobj(st, "events"), "total");
    last_id = strtod(twr_jstr(twr_jobj(st, "stream"), "last_event_id"), NULL);
    reconnects = twr_jnum(twr_jobj(st, "stream"), "reconnects");
    assert_true(twr_jnum(twr_jobj(st, "events"), "duplicates") == 0);
    assert_true(twr_detector(st, "volume", "firing") == 1);
    assert_true(twr_detector(st, "latency", "firing") == 1);
    /* what the service made, over every reload */
    fg.expected = (size_t)(twr_detector(st, "volume", "alerts_fired") +
                           twr_detector(st, "volume", "alerts_resolved") +
                           twr_detector(st, "latency", "alerts_fired") +
                           twr_detector(st, "latency", "alerts_resolved"));
    cJSON_Delete(st);
    assert_true(twr_stop("run", run));

    assert_true(twr_all_signed(r, SECRET));
    v = notes_load(r, &n);
    tally(v, n, &fg);
    for (size_t i = 0; i < n; i++) {
        if (twr_streq(v[i].detector, "latency")) {
            /* kept through every reload: one episode, never resolved */
            assert_string_equal(v[i].type, "alert.firing");
            assert_string_equal(v[i].key, "http_fetch");
            lat_fired++;
            continue;
        }
        assert_string_equal(v[i].detector, "volume");
        if (twr_streq(v[i].type, "alert.firing")) {
            vol_fired++;
            continue;
        }
        /* each resolve closes the episode fired just before it */
        assert_true(i > 0);
        assert_string_equal(v[i].type, "alert.resolved");
        assert_true(strncmp(v[i].summary,
                            "closed by a configuration reload", 32) == 0);
        vol_closed++;
        for (size_t j = i; j-- > 0;) {
            if (twr_streq(v[j].detector, "volume")) {
                assert_string_equal(v[j].type, "alert.firing");
                assert_string_equal(v[j].id, v[i].id);
                break;
            }
        }
    }
    free(v);
    snprintf(line, sizeof line,
             "reloads %d | events %.0f = ids 1..%.0f | reconnects %.0f | "
             "%lld ms",
             RELOADS, total, last_id, reconnects,
             (long long)(clock_mono_ms() - start));
    report("SIGHUP x10 under 2000 events/s", &fg, line);
    assert_int_equal(lat_fired, 1);
    assert_int_equal(vol_fired, RELOADS + 1);
    assert_int_equal(vol_closed, RELOADS);
    assert_int_equal(fg.expected, 1 + (RELOADS + 1) + RELOADS);
    assert_int_equal(fg.received, fg.expected);
    assert_true(total == last_id);
    /* the stream settings never changed: one connection throughout */
    assert_true(reconnects == 0);
}

/* ------- 7. a dead receiver beside a healthy sink: spill, no starving ------ */

#define SPILL_EPISODES 40
#define SPILL_BOUND 5

/* Each firing of tool-00..tool-<n-1> acknowledged 2xx exactly once, in
 * order, and nothing else acknowledged. */
static void expect_firings_once_in_order(struct rcv *r, int n)
{
    struct note *v;
    size_t cnt;
    int next = 0;
    char tool[32];

    v = notes_load(r, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (!ok2xx(&v[i]))
            continue;
        assert_string_equal(v[i].type, "alert.firing");
        assert_true(next < n);
        snprintf(tool, sizeof tool, "tool-%02d", next);
        if (strcmp(v[i].key, tool) != 0)
            fail_msg("acknowledged #%d is %s, want %s", next, v[i].key, tool);
        next++;
    }
    assert_int_equal(next, n);
    free(v);
}

/* Wait until /status shows `field` of sink `name` at `want`. */
static void wait_sink(unsigned port, const char *name, const char *field,
                      double want, struct proc *run)
{
    double got = -1;

    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        cJSON *st = twr_status(port);
        got = st != NULL ? twr_sink(st, name, field) : -1;
        cJSON_Delete(st);
        if (got == want)
            return;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fail_msg("/status sink %s %s is %g, want %g", name, field, got,
                     want);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* A webhook whose receiver is down and a file sink, both holding 5
 * notifications in memory: the file gets all 40 while the webhook's wait,
 * 35 of them in the journal only; when the receiver is back it gets all
 * 40, in order, each once. */
static void test_dead_receiver_spills(void **state)
{
    static struct hget_body b;
    char ids[SPILL_EPISODES][ALERT_ID_HEX + 1];
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct rcv *r;
    struct proc *run;
    char surl[128], hook[128], out[160], line[4096];
    unsigned sport;
    size_t lines = 0;
    cJSON *st;
    FILE *fp;

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    snprintf(out, sizeof out, "%s/alerts.ndjson", d.state);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_int_equal(rcv_set_down(r, true), 0);
    slow_calls_stream(f, SPILL_EPISODES, clock_wall_ms(), ids, surl,
                      sizeof surl);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"name\": \"file\", \"type\": \"file\","
                 " \"path\": \"%s\", \"queue_max\": %d, \"digest_after\": 0},"
                 " {\"name\": \"hook\", \"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"],"
                 " \"queue_max\": %d, \"digest_after\": 0,"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300}],"
                 " \"detectors\": {" TWR_ONLY_LATENCY "}}",
                 d.state, surl, out, SPILL_BOUND, hook, SPILL_BOUND);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));

    wait_sink(sport, "file", "delivered", SPILL_EPISODES, run);
    st = twr_status(sport);
    assert_non_null(st);
    assert_true(twr_sink(st, "file", "queue_depth") == 0);
    assert_true(twr_sink(st, "hook", "queue_depth") == SPILL_EPISODES);
    assert_true(twr_sink(st, "hook", "spilled") ==
                SPILL_EPISODES - SPILL_BOUND);
    assert_true(twr_sink(st, "hook", "delivered") == 0);
    assert_true(twr_sink(st, "hook", "dropped") == 0);
    cJSON_Delete(st);
    assert_true(twr_wait_http(sport, "/metrics", 200,
                              "toolwatch_journal_spilled{sink=\"hook\"} 35\n",
                              WAIT_MS, &b));
    assert_int_equal(rcv_count_status(r, 200), 0);
    assert_non_null(fp = fopen(out, "r"));
    while (fgets(line, sizeof line, fp) != NULL)
        lines++;
    fclose(fp);
    assert_int_equal(lines, SPILL_EPISODES);

    assert_int_equal(rcv_set_down(r, false), 0);
    wait_delivered(r, SPILL_EPISODES, WAIT_MS, run);
    assert_true(twr_wait_http(sport, "/metrics", 200,
                              "toolwatch_journal_pending{sink=\"hook\"} 0\n",
                              WAIT_MS, &b));
    assert_true(twr_stop("run", run));
    assert_true(twr_all_signed(r, SECRET));
    expect_firings_once_in_order(r, SPILL_EPISODES);
    print_message("FAULTS | dead receiver beside a file sink (queue_max %d) "
                  "| expected %d | file %zu | webhook %zu | dropped 0\n",
                  SPILL_BOUND, SPILL_EPISODES, lines,
                  rcv_count_distinct(r, "webhook-id", 200, 299));
}

/* ------------- 8. the journal full, then kill -9: nothing lost ------------- */

#define FULL_JOURNAL_MAX 65536
#define FULL_BATCH 10
#define FULL_EVENTS_MAX 400

static double status_events(unsigned port)
{
    cJSON *st = twr_status(port);
    double n;

    assert_non_null(st);
    n = twr_jnum(twr_jobj(st, "events"), "total");
    cJSON_Delete(st);
    return n;
}

/* The receiver down, journal_max_bytes 64 KiB: the stream is fed in
 * batches until the service pauses it (/readyz says backpressure, the
 * connection is closed, no event past the pause is read).  Then kill -9
 * and a restart with the receiver up: every firing made before the kill
 * is delivered, the stream resumes from the last event read, and the
 * events after it make theirs: each acknowledged exactly once. */
static void test_full_journal_kill9(void **state)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    static struct hget_body b;
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct rcv *r;
    struct proc *run;
    char surl[128], hook[128], leid[64];
    static char frame[262144];
    unsigned sport;
    int pushed = 0, read_before, total, from;
    size_t conn;
    int64_t t0 = clock_wall_ms();

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_int_equal(rcv_set_down(r, true), 0);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    tsrv_set_after_script(srv, TSRV_AFTER_REPEAT_LAST);
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0}, \"journal_max_bytes\": %d,"
                 " \"sinks\": [{\"type\": \"webhook\", \"url\": \"%s\","
                 " \"secret_envs\": [\"" SECRET_ENV "\"], \"queue_max\": 8,"
                 " \"digest_after\": 0,"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300}],"
                 " \"detectors\": {" TWR_ONLY_LATENCY "}}",
                 d.state, surl, FULL_JOURNAL_MAX, hook);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    assert_true(tsrv_wait_requests(srv, 1, WAIT_MS));
    expect_ready(sport, 200, NULL, run, "at start");

    /* batches until the pause */
    for (;;) {
        bool paused = false;
        assert_true(pushed < FULL_EVENTS_MAX);
        frame[0] = '\0';
        for (int i = 0; i < FULL_BATCH; i++)
            add_slow_call(frame, sizeof frame, pushed + i,
                          t0 + 10 * (pushed + i));
        assert_int_equal(tsrv_push(srv, 0, frame, strlen(frame)), 0);
        pushed += FULL_BATCH;
        for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
            if (status_events(sport) == pushed)
                break;
            if (twr_wait_http(sport, "/readyz", 503, "backpressure", 0,
                              &b)) {
                paused = true;
                break;
            }
            if (clock_mono_ms() >= end) {
                twr_dump_stderr("run", run);
                fail_msg("%d events pushed, not all read, no pause", pushed);
            }
            twr_pause_ms(TWR_POLL_MS / 5);
        }
        if (paused || twr_wait_http(sport, "/readyz", 503, "backpressure", 0,
                                    &b))
            break;
    }
    expect_ready(sport, 503, "backpressure: the alert journal is full", run,
                 "journal full");
    assert_true(tsrv_wait_closed(srv, 0, WAIT_MS));
    read_before = (int)status_events(sport);
    assert_true(read_before > 0 && read_before <= pushed);
    assert_int_equal(rcv_count_status(r, 200), 0);

    assert_true(twr_kill9("run", run));
    assert_int_equal(rcv_set_down(r, false), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));
    /* the journal drains, the stream resumes from the last event read */
    wait_delivered(r, (size_t)read_before, WAIT_MS, run);
    expect_ready(sport, 200, NULL, run, "drained");
    /* read again from the detection checkpoint's position (or the
     * position after the last event read, when it is newer): never past
     * an event read before the kill; what the events read again make
     * again is in the journal already and not sent again */
    conn = tsrv_request_count(srv) - 1;
    from = tsrv_header(srv, conn, "Last-Event-ID", leid, sizeof leid)
               ? (int)strtol(leid, NULL, 10) + 1
               : 0;
    assert_true(from <= read_before);
    total = read_before + FULL_BATCH;
    frame[0] = '\0';
    for (int i = from; i < total; i++)
        add_slow_call(frame, sizeof frame, i, t0 + 10 * i);
    assert_int_equal(tsrv_push(srv, conn, frame, strlen(frame)), 0);
    wait_delivered(r, (size_t)total, WAIT_MS, run);
    assert_true(twr_wait_sink0(sport, "queue_depth", 0, WAIT_MS, run));
    assert_true(twr_stop("run", run));
    assert_true(twr_all_signed(r, SECRET));
    expect_firings_once_in_order(r, total);
    print_message("FAULTS | journal full (%d bytes), kill -9 | read before "
                  "the pause %d of %d pushed, read again from %d | expected "
                  "%d | received %zu | lost 0\n",
                  FULL_JOURNAL_MAX, read_before, pushed, from, total,
                  rcv_count_distinct(r, "webhook-id", 200, 299));
}

/* ------------- 9. a storm: digest_after, then one digest ------------- */

#define STORM_ALERTS 500
#define STORM_AFTER 20

/* A count in a digest's data.digest, or -1. */
static double digest_count(const cJSON *doc)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(data, "digest");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(dg, "count");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(dg, "rules");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(rules, "latency");

    if (!cJSON_IsNumber(n) || !cJSON_IsNumber(lat) ||
        lat->valuedouble != n->valuedouble)
        return -1;
    return n->valuedouble;
}

/* 500 latency anomalies on 500 tools in one burst to a webhook with
 * digest_after 20 and a 5 s window (digest_window_s): the receiver gets
 * at most 20 firings per window and one digest per window past them, and
 * the firings plus the digests' counts are exactly the 500 alerts (none
 * dropped, none twice); /metrics counts the digested ones. */
static void test_storm_digest(void **state)
{
    static char frames[STORM_ALERTS * 512];
    static struct hget_body b;
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct rcv *r;
    struct proc *run;
    struct rcv_request req;
    char surl[128], hook[128], want[96];
    unsigned sport;
    int64_t t0 = clock_wall_ms(), end;
    double firings = 0, digested = 0, digests = 0;

    assert_int_equal(twr_dir_make(f, &d, "faults"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    frames[0] = '\0';
    for (int i = 0; i < STORM_ALERTS; i++)
        add_slow_call(frames, sizeof frames, i, t0 + i);
    assert_non_null(twr_fx_stream(f, frames, surl, sizeof surl));
    WRITE_CONFIG(d.cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {\"port\": 0},"
                 " \"sinks\": [{\"name\": \"hook\", \"type\": \"webhook\","
                 " \"url\": \"%s\", \"secret_envs\": [\"" SECRET_ENV "\"],"
                 " \"digest_after\": %d, \"digest_window_s\": 5}],"
                 " \"detectors\": {" TWR_ONLY_LATENCY "}}",
                 d.state, surl, hook, STORM_AFTER);
    assert_non_null(run = twr_start_run(f, d.cfg, run_env, &sport));

    /* every request, in order, until the firings and the digests' counts
     * make up the storm (bounded: a window and a half past the last) */
    end = clock_mono_ms() + WAIT_MS;
    for (size_t i = 0; firings + digested < STORM_ALERTS; i++) {
        cJSON *doc;
        const cJSON *type;

        while (!rcv_wait_requests(r, i + 1, 100)) {
            proc_poll(run);
            if (clock_mono_ms() >= end) {
                twr_dump_stderr("run", run);
                fail_msg("storm: %.0f firings and %.0f digested of %d "
                         "after %zu requests", firings, digested,
                         STORM_ALERTS, i);
            }
        }
        assert_true(rcv_get(r, i, &req));
        assert_non_null(req.body);
        assert_non_null(doc = cJSON_ParseWithLength((const char *)req.body,
                                                    req.body_len));
        type = cJSON_GetObjectItemCaseSensitive(doc, "type");
        assert_true(cJSON_IsString(type));
        if (strcmp(type->valuestring, "alert.firing") == 0) {
            firings++;
        } else {
            double n = digest_count(doc);

            assert_string_equal(type->valuestring, "alert.digest");
            assert_true(n > 0);
            digested += n;
            digests++;
        }
        cJSON_Delete(doc);
    }
    assert_true(firings + digested == STORM_ALERTS);
    assert_true(digests >= 1);
    /* at most digest_after firings in each window: the windows with a
     * digest, and at most one more (the last, below the bound) */
    assert_true(firings <= STORM_AFTER * (digests + 1));
    assert_true(firings >= STORM_AFTER);
    snprintf(want, sizeof want,
             "toolwatch_notifications_total{sink=\"hook\","
             "result=\"digested\"} %.0f\n", digested);
    assert_true(twr_wait_http(sport, "/metrics", 200, want, WAIT_MS, &b));
    assert_true(twr_stop("run", run));
    assert_true(twr_all_signed(r, SECRET));
    assert_int_equal(rcv_count_distinct(r, "webhook-id", 200, 299),
                     (size_t)(firings + digests));
    print_message("FAULTS | storm of %d alerts, digest_after %d | firings "
                  "sent %.0f | digests %.0f holding %.0f | lost 0\n",
                  STORM_ALERTS, STORM_AFTER, firings, digests, digested);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, twr_setup, twr_teardown)
    const struct CMUnitTest tests[] = {
        T(test_receiver_down_then_up),
        T(test_receiver_errors_retried),
        T(test_kill9_at_random_moments),
        T(test_stream_cuts_and_replays),
        T(test_stream_server_restart),
        T(test_disk_full),
        T(test_reload_under_load),
        T(test_dead_receiver_spills),
        T(test_full_journal_kill9),
        T(test_storm_digest),
    };

    if (getenv("FAULTS_FILTER") != NULL)
        cmocka_set_test_filter(getenv("FAULTS_FILTER"));
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
