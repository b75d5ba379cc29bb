/*
 * test_clock.c - the clock that follows the stream (issue 14), with the
 * real binary, `toolwatch run`, against the simulator and scripted
 * streams on 127.0.0.1:
 *  1. sources whose timestamps lag the wall clock by 0 s, 90 s and 10 min
 *     (the simulator's --start-time in the past): each fires the same
 *     (rule, key) alerts as `toolwatch replay` of the same events (the
 *     generator writes them here), with no event late and no stall;
 *  2. the stream cut mid-episode (the simulator stopped): nothing resolves
 *     while it is down, /status says detection "unknown" and the stall
 *     fires; once it is back (the simulator started again on the same
 *     port) the episode resolves, at an event time after the cut;
 *  3. on a healthy stream one record stamped 290 s ahead, then a real
 *     anomaly: the record is clamped and counted, the anomaly fires, no
 *     stall fires and the stall's firing gauge reads 0;
 *  4. a restart (SIGTERM, then start again) across a spike: the spike's
 *     events all come from the backlog after the restart (no checkpoint:
 *     the engine starts fresh) and fire in event time;
 *  5. a 503 asking Retry-After: 1000000000: the reader waits at most
 *     stream.retry_max_ms, and says so once.
 *
 * Each test prints one line for the table:
 *   CLOCK | <scenario> | <what was measured>
 * Alerts are read from a file sink (NDJSON: the documents replay prints).
 *
 * Invariants: nothing sleeps to wait for something it can wait on (the
 * status server is polled every TWR_POLL_MS, children and servers are
 * waited on with deadlines); the deliberate pauses are the pace of a
 * scripted stream, and the downtime of test 4, which is the fault itself.
 * Windows are seconds long, so that each test takes well under a minute.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sim/gen.h"
#include "tests/support/twrun.h"

#define WAIT_MS 45000
#define WRITE_CONFIG(...) assert_int_equal(twr_write_config(__VA_ARGS__), 0)

/* The rules of these tests: short windows, so that the simulator's
 * two-second anomalies fire; the stall's threshold is the format's %d. */
#define RULES_FMT                                                          \
    "\"rules\": ["                                                         \
    "{\"name\": \"volume\", \"kind\": \"count\", \"severity\": \"warning\"," \
    " \"match\": {\"completed\": true}, \"group_by\": [\"tool_name\"],"     \
    " \"window_s\": %d, \"threshold\": %d},"                                \
    "{\"name\": \"error_rate\", \"kind\": \"ratio\", \"severity\": \"error\"," \
    " \"match\": {\"completed\": true}, \"numerator\": {\"error\": true},"  \
    " \"group_by\": [\"tool_name\"], \"window_s\": 5, \"threshold\": 0.2,"  \
    " \"min_count\": 3},"                                                   \
    "{\"name\": \"latency\", \"kind\": \"max\", \"severity\": \"warning\","  \
    " \"match\": {\"completed\": true},"                                    \
    " \"field\": \"execution_duration_ms\", \"group_by\": [\"tool_name\"]," \
    " \"window_s\": 2, \"threshold\": 5000},"                               \
    "{\"name\": \"payload_size\", \"kind\": \"max\","                       \
    " \"severity\": \"warning\", \"match\": {\"completed\": true},"         \
    " \"field\": \"response_payload_size_bytes\","                          \
    " \"group_by\": [\"tool_name\"], \"window_s\": 5,"                      \
    " \"threshold\": 1000000},"                                             \
    "{\"name\": \"credential_access\", \"kind\": \"count\","                \
    " \"severity\": \"critical\", \"match\": {\"completed\": true,"         \
    " \"tool_name\": [\"*credential*\", \"*secret*\"]},"                    \
    " \"group_by\": [\"agent_id\"], \"window_s\": 5, \"threshold\": 5},"   \
    "{\"name\": \"stream_stalled\", \"kind\": \"absence\","                 \
    " \"severity\": \"critical\", \"group_by\": [], \"threshold\": %d}]"

/* state dir, stream URL, its retry cap, alerts file, engine-wide settings
 * (an object's members), then RULES_FMT's three numbers */
#define CONFIG_FMT                                                         \
    "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\","               \
    " \"retry_base_ms\": 100, \"retry_max_ms\": %d},"                      \
    " \"status\": {\"port\": 0},"                                          \
    " \"sinks\": [{\"type\": \"file\", \"path\": \"%s\"}],"                \
    " \"detectors\": {%s}, " RULES_FMT "}"

/* ------------------------------ helpers ------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole file at path, NUL-terminated ("" when it cannot be read); the
 * caller frees it. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = NULL;
    long n = 0;

    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1)) != NULL)
        s[fread(s, 1, (size_t)n, f)] = '\0';
    if (f != NULL)
        fclose(f);
    if (s == NULL && (s = malloc(1)) != NULL)
        s[0] = '\0';
    return s;
}

/* One notification of an NDJSON alert text, or NULL at its end: *p moves
 * on; the caller deletes it. */
static cJSON *next_alert(const char **p)
{
    cJSON *j = NULL;

    while (j == NULL && *p != NULL && **p != '\0') {
        const char *eol = strchr(*p, '\n');
        size_t n = eol != NULL ? (size_t)(eol - *p) : strlen(*p);

        j = cJSON_ParseWithLength(*p, n);
        *p = eol != NULL ? eol + 1 : NULL;
    }
    return j;
}

/* The firing notifications of an NDJSON alert text (the file sink's, or
 * replay's output) as "rule key" lines, sorted, into out.  Returns how
 * many. */
static int firings_of(const char *text, char *out, size_t cap)
{
    char *lines[1024];
    int n = 0;
    size_t len = 0;
    cJSON *j;

    out[0] = '\0';
    while ((j = next_alert(&text)) != NULL) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
        char line[256];

        if (twr_streq(twr_jstr(j, "type"), "alert.firing") && n < 1024) {
            snprintf(line, sizeof line, "%s %s", twr_jstr(data, "rule"),
                     twr_jstr(data, "key"));
            lines[n++] = strdup(line);
        }
        cJSON_Delete(j);
    }
    qsort(lines, (size_t)n, sizeof lines[0], cmp_str);
    for (int i = 0; i < n; i++) {
        if (len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s\n", lines[i]);
        free(lines[i]);
    }
    return n;
}

/* The notifications of `rule` in the alerts file at path: firings into
 * *fired, resolves into *resolved; the first firing's started_at (ms)
 * into *started, the first resolve's resolved_at into *resolved_at (0:
 * none). */
static void alerts_of(const char *path, const char *rule, int *fired,
                      int *resolved, int64_t *started, int64_t *resolved_at)
{
    char *text = slurp(path);
    const char *p = text;
    cJSON *j;

    *fired = *resolved = 0;
    *started = *resolved_at = 0;
    while ((j = next_alert(&p)) != NULL) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
        const char *at;
        int64_t ms = 0;

        if (twr_streq(twr_jstr(data, "rule"), rule)) {
            int res = twr_streq(twr_jstr(j, "type"), "alert.resolved");
            at = twr_jstr(data, res ? "resolved_at" : "started_at");
            if (at != NULL)
                clock_parse_iso8601(at, strlen(at), &ms);
            if (*(res ? resolved : fired) == 0)
                *(res ? resolved_at : started) = ms;
            *(res ? resolved : fired) += 1;
        }
        cJSON_Delete(j);
    }
    free(text);
}

/* /status .<object>.<member> (a number), NAN when absent. */
static double status_num(const cJSON *st, const char *object,
                         const char *member)
{
    return twr_jnum(twr_jobj(st, object), member);
}

/* Poll /status until rule's `field` is at least `want`; false (after a
 * dump of run's stderr) when it is not within WAIT_MS. */
static bool wait_detector(unsigned port, const char *rule, const char *field,
                          double want, struct proc *run)
{
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        cJSON *st = twr_status(port);
        double got = twr_detector(st, rule, field);

        cJSON_Delete(st);
        if (got >= want)
            return true;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fprintf(stderr, "%s.%s stayed at %g, want %g\n", rule, field,
                    got, want);
            return false;
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* ISO 8601 of ms, for --start-time. */
static void iso(int64_t ms, char *out, size_t cap)
{
    assert_true(clock_format_iso8601(ms, out, cap) > 0);
}

/* A test directory in d, with its alerts file's path in alerts. */
static void test_dir(struct twr_fx *f, struct twr_dir *d, char *alerts,
                     size_t cap)
{
    char dir[sizeof d->path];

    assert_int_equal(twr_dir_make(f, d, "clock"), 0);
    memcpy(dir, d->path, sizeof dir);
    snprintf(alerts, cap, "%s/alerts.ndjson", dir);
}

/* A simulator's arguments: `scenario`, quiet_s of normal traffic, then
 * phases of phase_s, at 50 events a second, its timeline starting at t0
 * (wall ms). */
struct scen {
    char start[40];
    const char *argv[16];
};

static const char *const *scen_args(struct scen *sc, const char *scenario,
                                    const char *quiet_s, const char *phase_s,
                                    int64_t t0)
{
    const char *a[] = {"--scenario", scenario, "--rate", "50", "--quiet-s",
                       quiet_s, "--phase-s", phase_s, "--start-time",
                       sc->start, "--heartbeat-ms", "500", NULL};

    iso(t0, sc->start, sizeof sc->start);
    memcpy(sc->argv, a, sizeof a);
    return sc->argv;
}

/* ------------- 1. lag 0 s, 90 s, 10 min: the same as replay ------------ */

#define LAG_RUNS 3
#define LAG_PHASE_S "2"
#define LAG_QUIET_S "1"

/* The simulator's timeline as `simulate --seed 1 --scenario mixed --rate
 * 50 --phase-s 2 --quiet-s 1 --start-time <start_ms>` plays it. */
static void lag_timeline(sim_gen *g, int64_t start_ms)
{
    struct sim_gen_options o;

    sim_gen_options_defaults(&o);
    o.seed = 1;
    o.scenario = SIM_MIXED;
    o.rate = 50;
    o.start_ms = start_ms;
    o.phase_ms = 2000;
    o.quiet_ms = 1000;
    assert_int_equal(sim_gen_init(g, &o), SIM_OK);
}

/* Events 0 .. n-1 of g as an SSE file at path. */
static void write_sse(const char *path, const sim_gen *g, uint64_t n)
{
    FILE *f = fopen(path, "w");
    char frame[SIM_FRAME_MAX];

    assert_non_null(f);
    for (uint64_t i = 0; i < n; i++) {
        size_t len = sim_gen_frame(g, i, frame, sizeof frame);
        assert_int_equal(fwrite(frame, 1, len, f), len);
    }
    assert_int_equal(fclose(f), 0);
}

struct lag_run {
    int64_t lag_s;
    int64_t start_ms;
    struct twr_dir d;
    char url[128], alerts[192], sse[192];
    struct proc *sim, *run;
    unsigned port;
    bool done;
};

/* Has x's service read all n events and written every alert? */
static bool lag_done(struct lag_run *x, uint64_t n)
{
    cJSON *st = twr_status(x->port);
    bool done = status_num(st, "events", "total") == (double)n &&
                twr_sink0(st, "queue_depth") == 0;

    if (done) {
        /* in time, in step: nothing late, clamped or stalled */
        assert_true(status_num(st, "events", "late") == 0);
        assert_true(status_num(st, "events", "clamped") == 0);
        assert_true(twr_detector(st, "stream_stalled", "alerts_fired") == 0);
        assert_true(status_num(st, "stream", "lag_s") >= (double)x->lag_s);
        assert_true(status_num(st, "stream", "lag_s") <
                    (double)x->lag_s + 5);
    }
    cJSON_Delete(st);
    return done;
}

static void test_lag_as_replay(void **state)
{
    static struct lag_run xs[LAG_RUNS];
    static const int64_t lags[LAG_RUNS] = {0, 90, 600};
    static char live[16384], rep[16384];
    struct twr_fx *f = *state;
    char total[32], start[40];
    uint64_t n = 0;
    sim_gen g;
    int left = LAG_RUNS;

    memset(xs, 0, sizeof xs);
    /* the events before the timeline's stall phase (no stall compared) */
    lag_timeline(&g, 0);
    while (sim_gen_due_ms(&g, n) < sim_gen_first_phase(&g, SIM_STALL, NULL))
        n++;
    snprintf(total, sizeof total, "%llu", (unsigned long long)n);
    for (int i = 0; i < LAG_RUNS; i++) {
        struct lag_run *x = &xs[i];

        x->lag_s = lags[i];
        x->start_ms = clock_wall_ms() - x->lag_s * 1000;
        iso(x->start_ms, start, sizeof start);
        {
            const char *extra[] = {"--from-start", "--seed", "1",
                                   "--scenario", "mixed",
                                   "--rate", "50", "--phase-s", LAG_PHASE_S,
                                   "--quiet-s", LAG_QUIET_S, "--total", total,
                                   "--start-time", start, "--heartbeat-ms",
                                   "500", NULL};
            x->sim = twr_start_sim(f, extra, 0, x->url, sizeof x->url);
        }
        assert_non_null(x->sim);
        test_dir(f, &x->d, x->alerts, sizeof x->alerts);
        memcpy(x->sse, x->alerts, sizeof x->sse);
        memcpy(strrchr(x->sse, '/'), "/events.sse", 12);
        WRITE_CONFIG(x->d.cfg, CONFIG_FMT, x->d.state, x->url, 500,
                     x->alerts, "", 5, 15, 120);
        x->run = twr_start_run(f, x->d.cfg, NULL, &x->port);
        assert_non_null(x->run);
    }
    for (int64_t end = clock_mono_ms() + WAIT_MS; left > 0;) {
        for (int i = 0; i < LAG_RUNS; i++) {
            if (!xs[i].done && lag_done(&xs[i], n)) {
                xs[i].done = true;
                left--;
            }
        }
        if (left > 0 && clock_mono_ms() >= end) {
            for (int i = 0; i < LAG_RUNS; i++)
                if (!xs[i].done)
                    twr_dump_stderr("run", xs[i].run);
            fail_msg("%d runs did not read their %llu events", left,
                     (unsigned long long)n);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
    for (int i = 0; i < LAG_RUNS; i++) {
        struct lag_run *x = &xs[i];
        const char *argv[] = {twr_bin(), "replay", "-c", x->d.cfg, "--format",
                              "sse", x->sse, NULL};
        struct proc *p;
        const char *out;
        char *text;
        size_t len;
        int status = -1, nl, nr;

        assert_true(twr_stop("run", x->run));
        assert_true(twr_stop("simulate", x->sim));
        lag_timeline(&g, x->start_ms);
        write_sse(x->sse, &g, n);
        assert_non_null(p = twr_fx_proc(f, proc_spawn(argv, NULL)));
        assert_true(proc_wait_exit(p, WAIT_MS, &status));
        assert_int_equal(status, 0);
        out = proc_stdout_all(p, &len);
        nr = firings_of(out, rep, sizeof rep);
        text = slurp(x->alerts);
        nl = firings_of(text, live, sizeof live);
        free(text);
        printf("CLOCK | source lagging %lld s, %llu events | live: %d "
               "firings | replay: %d firings | %s\n", (long long)x->lag_s,
               (unsigned long long)n, nl, nr,
               strcmp(live, rep) == 0 ? "the same (rule, key)"
                                      : "DIFFERENT");
        if (strcmp(live, rep) != 0)
            fail_msg("lag %lld s: live fired\n%sreplay fired\n%s",
                     (long long)x->lag_s, live, rep);
        /* the anomalies of the timeline are among them */
        assert_non_null(strstr(rep, "volume crm_search_contacts\n"));
        assert_non_null(strstr(rep, "latency http_fetch\n"));
        assert_non_null(strstr(rep, "error_rate postgres_query\n"));
    }
}

/* ------------- 2. a cut stream resolves nothing until it is back --------- */

static void test_cut_resolves_nothing(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct proc *sim, *run;
    static struct hget_body b;
    char url[128], url2[128], alerts[192];
    int64_t t0 = clock_wall_ms(), cut_ms, started, resolved_at;
    int fired, resolved;
    unsigned port;
    cJSON *st;
    struct scen sc;
    const char *const *extra = scen_args(&sc, "slow-calls", "6", "5", t0);

    assert_non_null(sim = twr_start_sim(f, extra, 0, url, sizeof url));
    test_dir(f, &d, alerts, sizeof alerts);
    /* latency clears 2 s after the last slow call, resolves 2 s later; the
     * stall (6 s, no lateness) comes after that */
    WRITE_CONFIG(d.cfg, CONFIG_FMT, d.state, url, 300, alerts,
                 "\"allowed_lateness_s\": 0, \"hold_s\": 2", 5, 15, 6);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &port));
    assert_true(wait_detector(port, "latency", "alerts_fired", 1, run));

    /* the cut, mid-episode */
    assert_true(twr_stop("simulate", sim));
    cut_ms = clock_wall_ms();
    assert_true(wait_detector(port, "stream_stalled", "alerts_fired", 1, run));
    st = twr_status(port);
    assert_true(twr_detector(st, "latency", "alerts_resolved") == 0);
    assert_string_equal(twr_jstr(st, "detection"), "unknown");
    {
        const cJSON *r = cJSON_GetArrayItem(twr_jobj(st, "rules"), 2);
        assert_true(twr_streq(twr_jstr(r, "name"), "latency"));
        assert_true(twr_streq(twr_jstr(r, "detection"), "unknown"));
    }
    cJSON_Delete(st);
    assert_true(twr_wait_http(port, "/metrics", 200,
                              "\ntoolwatch_detection_unknown 1\n", WAIT_MS,
                              &b));
    assert_true(twr_wait_http(port, "/readyz", 503, "disconnected", WAIT_MS,
                              &b));
    alerts_of(alerts, "latency", &fired, &resolved, &started, &resolved_at);
    assert_int_equal(fired, 1);
    assert_int_equal(resolved, 0);

    /* back: the same timeline on the same port (its events resume where
     * they stopped, stamped as before); the episode goes on to the
     * phase's end (11 s in) and resolves after it, not in the gap */
    sim = twr_start_sim(f, extra, twr_url_port(url), url2, sizeof url2);
    assert_non_null(sim);
    assert_true(wait_detector(port, "latency", "alerts_resolved", 1, run));
    assert_true(wait_detector(port, "stream_stalled", "alerts_resolved", 1,
                              run));
    alerts_of(alerts, "latency", &fired, &resolved, &started, &resolved_at);
    assert_true(resolved >= 1);
    assert_true(resolved_at >= t0 + 11000);
    printf("CLOCK | stream cut %.1f s into a latency episode, down until the "
           "stall fired | resolves while down: 0 | resolved after: 1, at "
           "event time +%.1f s (phase end +11 s)\n",
           (double)(cut_ms - t0) / 1000.0,
           (double)(resolved_at - t0) / 1000.0);
    assert_true(twr_stop("run", run));
    assert_true(twr_stop("simulate", sim));
}

/* ------------- 3. one record 290 s ahead, then an anomaly --------------- */

/* Push one call of `tool` stamped ts_ms on connection 0 of srv. */
static void push_call(struct tsrv *srv, int *seq, const char *tool,
                      int64_t ts_ms)
{
    char frame[1024] = "", id[32];
    struct twr_call c = {.id = id, .rec = id, .tool = tool, .agent = "ag-1",
                         .ts_ms = ts_ms, .dur_ms = 12, .payload = 100};

    snprintf(id, sizeof id, "r%d", ++*seq);
    assert_true(twr_add_call(frame, sizeof frame, &c));
    assert_int_equal(tsrv_push(srv, 0, frame, strlen(frame)), 0);
}

static void test_outlier_then_anomaly(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct proc *run;
    static struct hget_body b;
    char url[128], alerts[192], fired_text[1024], *text;
    unsigned port;
    int seq = 0, n;
    cJSON *st;

    assert_non_null(srv = twr_fx_tsrv(f));
    assert_int_equal(tsrv_add_stream(srv, ": hello\n\n", TSRV_KEEP), 0);
    assert_int_equal(tsrv_url(srv, "/events", url, sizeof url), 0);
    test_dir(f, &d, alerts, sizeof alerts);
    /* volume: more than 10 calls of a tool in 5 s; the stall: 3 s */
    WRITE_CONFIG(d.cfg, CONFIG_FMT, d.state, url, 300, alerts, "", 5, 10, 3);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &port));
    assert_true(tsrv_wait_requests(srv, 1, WAIT_MS));

    /* a healthy stream: a call of `a` every 600 ms, stamped now */
    for (int i = 0; i < 4; i++) {
        push_call(srv, &seq, "a", clock_wall_ms());
        twr_pause_ms(600); /* the stream's pace */
    }
    push_call(srv, &seq, "a", clock_wall_ms() + 290000);
    for (int i = 0; i < 15; i++) /* the anomaly: 15 calls of x at once */
        push_call(srv, &seq, "x", clock_wall_ms());
    for (int i = 0; i < 10; i++) { /* 6 s more: twice the stall's 3 s */
        push_call(srv, &seq, "a", clock_wall_ms());
        twr_pause_ms(600);
    }
    assert_true(wait_detector(port, "volume", "alerts_fired", 1, run));
    st = twr_status(port);
    assert_true(status_num(st, "events", "total") == seq);
    assert_true(status_num(st, "events", "clamped") == 1);
    assert_true(status_num(st, "events", "late") == 0);
    assert_true(twr_detector(st, "stream_stalled", "alerts_fired") == 0);
    cJSON_Delete(st);
    assert_true(twr_wait_http(port, "/metrics", 200,
                              "\ntoolwatch_alerts_firing{rule=\"stream_"
                              "stalled\"} 0\n",
                              WAIT_MS, &b));
    assert_true(twr_wait_sink0(port, "queue_depth", 0, WAIT_MS, run));
    text = slurp(alerts);
    n = firings_of(text, fired_text, sizeof fired_text);
    free(text);
    assert_int_equal(n, 1);
    assert_string_equal(fired_text, "volume x\n");
    printf("CLOCK | one record 290 s ahead, then 15 calls in a second | "
           "clamped: 1 | fired: %s", fired_text);
    assert_true(twr_stop("run", run));
}

/* ------------- 4. a restart across a spike: the backlog fires it ------- */

static void test_restart_across_spike(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct proc *sim, *run;
    char url[128], alerts[192];
    int64_t t0 = clock_wall_ms(), down_ms, up_ms, started, resolved_at;
    int fired, resolved;
    unsigned port;
    cJSON *st;
    struct scen sc;

    assert_non_null(sim = twr_start_sim(
                        f, scen_args(&sc, "volume-spike", "4", "3", t0), 0,
                        url, sizeof url));
    test_dir(f, &d, alerts, sizeof alerts);
    /* volume: more than 15 calls of a tool in 3 s (the spike: crm_search_
     * contacts 12.5 a second from 4 s to 7 s) */
    WRITE_CONFIG(d.cfg, CONFIG_FMT, d.state, url, 300, alerts, "", 3, 15,
                 120);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &port));
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        st = twr_status(port);
        double total = status_num(st, "events", "total");
        cJSON_Delete(st);
        if (total >= 20)
            break;
        assert_true(clock_mono_ms() < end);
        twr_pause_ms(TWR_POLL_MS);
    }
    assert_true(twr_stop("run", run));
    down_ms = clock_wall_ms() - t0;
    /* the fault: down from before the spike until 15 s in, so that the
     * spike is more than window + allowed lateness (3 + 5 s) in the past
     * (the old clock, wall minus 5 s, counted all of it late) */
    if (down_ms < 15000)
        twr_pause_ms((long)(15000 - down_ms));
    up_ms = clock_wall_ms() - t0;
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, &port));
    assert_true(wait_detector(port, "volume", "alerts_fired", 1, run));
    st = twr_status(port);
    assert_true(status_num(st, "events", "late") == 0);
    assert_true(twr_detector(st, "stream_stalled", "alerts_fired") == 0);
    cJSON_Delete(st);
    assert_true(twr_wait_sink0(port, "queue_depth", 0, WAIT_MS, run));
    alerts_of(alerts, "volume", &fired, &resolved, &started, &resolved_at);
    assert_int_equal(fired, 1);
    /* in event time: within the spike */
    assert_true(started >= t0 + 4000 && started <= t0 + 7000);
    printf("CLOCK | restart across a spike: down from %.1f s to %.1f s, "
           "spike 4-7 s | fired from the backlog: %d, started at +%.1f s of "
           "event time | late 0\n", (double)down_ms / 1000.0,
           (double)up_ms / 1000.0, fired, (double)(started - t0) / 1000.0);
    assert_true(twr_stop("run", run));
    assert_true(twr_stop("simulate", sim));
}

/* ------------- 5. Retry-After never waits past retry_max_ms ------------- */

static void test_retry_after_capped(void **state)
{
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct proc *run;
    struct tsrv_request_info a, c;
    char url[128], alerts[192], frame[1024] = "";
    const char *e;
    size_t len;
    struct twr_call call = {.id = "1", .rec = "r1", .tool = "t",
                            .agent = "ag-1", .dur_ms = 1, .payload = 1};

    call.ts_ms = clock_wall_ms();
    assert_true(twr_add_call(frame, sizeof frame, &call));
    assert_non_null(srv = twr_fx_tsrv(f));
    assert_int_equal(tsrv_add_status(srv, 503, "Retry-After: 1000000000"), 0);
    assert_int_equal(tsrv_add_status(srv, 503, "Retry-After: 1000000000"), 0);
    assert_int_equal(tsrv_add_stream(srv, frame, TSRV_HANG), 0);
    assert_int_equal(tsrv_url(srv, "/events", url, sizeof url), 0);
    test_dir(f, &d, alerts, sizeof alerts);
    WRITE_CONFIG(d.cfg, CONFIG_FMT, d.state, url, 500, alerts, "", 5, 15,
                 120);
    assert_non_null(run = twr_start_run(f, d.cfg, NULL, NULL));
    assert_true(tsrv_wait_requests(srv, 3, WAIT_MS));
    assert_true(tsrv_request(srv, 0, &a));
    assert_true(tsrv_request(srv, 2, &c));
    /* two waits of at most 500 ms (and some scheduling) */
    assert_true(c.arrival_ms - a.arrival_ms < 2 * 500 + 1000);
    assert_true(twr_stderr_after("run", run, 0, "asks to wait", WAIT_MS));
    e = proc_stderr_all(run, &len);
    assert_non_null(strstr(e, "asks to wait"));
    assert_null(strstr(strstr(e, "asks to wait") + 1, "asks to wait"));
    printf("CLOCK | 503 Retry-After: 1000000000, twice, retry_max_ms 500 | "
           "third request %lld ms after the first | logged once\n",
           (long long)(c.arrival_ms - a.arrival_ms));
    assert_true(twr_stop("run", run));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, twr_setup, twr_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_lag_as_replay),
        T(test_cut_resolves_nothing),
        T(test_outlier_then_anomaly),
        T(test_restart_across_spike),
        T(test_retry_after_capped),
    };

    setvbuf(stdout, NULL, _IOLBF, 0);
    return cmocka_run_group_tests(tests, twr_group_setup, twr_group_teardown);
}
