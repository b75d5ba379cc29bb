/*
 * test_reload.c - a reload (SIGHUP) under faults (issue 12): the real
 * binary, `toolwatch run`, under load, refusing one reload for each step
 * a reload can fail at, and neither crashing nor losing an alert.
 *
 * What (SPEC.md section 4: "SIGHUP reloads the file atomically; a bad file
 * is refused and the old one stays"; README "Signals"): `toolwatch
 * simulate --rate 1000` makes a latency episode (a firing and a resolve)
 * every 3 s; the service sends them to a webhook receiver that is DOWN
 * (connection refused: the notifications pile up, pending) and to a file
 * sink.  Then one SIGHUP for each fault, each failing a different step of
 * the reload:
 *   a. the file is not JSON                           (load and check)
 *   b. stream.api_key_env names an unset variable     (the stream reader)
 *   c. a file sink's path is in a missing directory   (the outbox's sinks)
 *   d. a new webhook sink's secret variable holds a   (the sinks' secrets)
 *      bad secret
 *   e. status.port is held by another listener        (the status server)
 *   f. the state directory is unusable, while the     (the state directory)
 *      stream settings change
 * After each: the same process runs, /healthz is 200, /status .config
 * says last_reload_ok false with the reason (never a secret), /metrics
 * says toolwatch_config_last_reload_successful 0, and the old sinks keep
 * working: new notifications reach the file and queue for the webhook.
 * Then a good reload adds a second webhook sink, and /status shows it
 * taken and the sink listed, which receives what is made from then on.
 * Finally the first receiver comes back and the stream goes on with no
 * slow calls (a cut stream would resolve nothing): every
 * notification the service made during the whole test (its /status
 * counters) arrives at the first receiver under its own webhook-id,
 * signed, none twice; the file holds each once; the second receiver has
 * each it was sent once.
 *
 * Fault f: tests run as root, where chmod 0500 does not stop a write.
 * And a reload writes nothing in the state directory: the journal stays
 * open (its directory descriptor too), a new stream reader only reads the
 * position file there.  So a read-only state directory does not fail a
 * reload at all.  The step that does use the directory is the new stream
 * reader's (it opens its position file there), so the fault that fails
 * that step, for root too, is a state directory that is not a directory:
 * it is moved aside and a regular file put in its place for the one
 * reload, together with a stream setting change; the running parts keep
 * their descriptors, and the directory is put back right after.
 *
 * A second test takes the status server through reloads: a token set in
 * place on the running server (a second server could not bind its port),
 * a move to another port (the new server listens before the old one
 * stops), and off, while the stream's connection is never touched.
 *
 * The first test prints one line:
 *   RELOAD | made N | hook-a received N | duplicates N | archive N |
 *   hook-b received N | reloads refused N, taken N
 *
 * Invariants: nothing sleeps to let things settle: children are waited on
 * with proc_* (poll on pipes and a pidfd), receivers with their condition
 * variables, and the status server (external state) is polled every
 * TWR_POLL_MS, each wait with a deadline; the process, receivers, the
 * simulator and the directory are the fixture's (tests/support/twrun.h),
 * ended at teardown whatever happens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/tcp.h"
#include "tests/support/twrun.h"

#define WAIT_MS 15000 /* something that should come within seconds */

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_ITEST_WEBHOOK_SECRET"
/* base64 of "short", 5 bytes: not a signing secret (24 to 64 bytes) */
#define BAD_SECRET_B64 "c2hvcnQ="
#define BAD_SECRET_ENV "TW_ITEST_BAD_SECRET"
#define UNSET_ENV "TW_ITEST_UNSET_KEY"

/* twrun.h reports a failed check; the test fails on it */
#define WRITE_CONFIG(...) assert_int_equal(twr_write_config(__VA_ARGS__), 0)

static const char *const run_env[] = {
    SECRET_ENV "=" SECRET, BAD_SECRET_ENV "=whsec_" BAD_SECRET_B64,
    UNSET_ENV, NULL};

/* Everything the test drives. */
struct world {
    struct twr_fx *f;
    struct twr_dir d;
    struct rcv *ra, *rb;  /* hook-a (down until the end), hook-b */
    struct proc *sim, *run;
    pid_t pid;            /* of run, when it started */
    unsigned sport;       /* its status server */
    char surl[128], hook_a[128], hook_b[128];
    int refused, taken;   /* reloads so far */
};

/* One configuration: the good one, or one fault. */
struct conf {
    const char *stream_extra; /* more members of "stream" ("" none) */
    unsigned status_port;     /* 0: any free port (the running one) */
    const char *archive_dir;  /* NULL: the test's directory */
    const char *hook_b_env;   /* NULL: no hook-b; else its secret's
                                 variable */
};

static void write_conf(const struct world *w, const struct conf *c)
{
    char hook_b[512] = "";

    if (c->hook_b_env != NULL)
        snprintf(hook_b, sizeof hook_b,
                 ", {\"name\": \"hook-b\", \"type\": \"webhook\","
                 " \"url\": \"%s\", \"secret_envs\": [\"%s\"],"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300}",
                 w->hook_b, c->hook_b_env);
    WRITE_CONFIG(w->d.cfg,
                 "{\"instance\": \"tw-reload\", \"state_dir\": \"%s\","
                 " \"stream\": {\"url\": \"%s\"%s},"
                 " \"status\": {\"port\": %u},"
                 " \"sinks\": [{\"name\": \"hook-a\", \"type\": \"webhook\","
                 " \"url\": \"%s\", \"secret_envs\": [\"" SECRET_ENV "\"],"
                 " \"retry_base_ms\": 100, \"retry_max_ms\": 300},"
                 " {\"name\": \"archive\", \"type\": \"file\","
                 " \"path\": \"%s/archive.ndjson\"}%s],"
                 " \"detectors\": {\"allowed_lateness_s\": 0, \"hold_s\": 1,"
                 " \"latency\": {\"window_s\": 1}, " TWR_ONLY_LATENCY "}}",
                 w->d.state, w->surl, c->stream_extra, c->status_port,
                 w->hook_a,
                 c->archive_dir != NULL ? c->archive_dir : w->d.path,
                 hook_b);
}

/* ------------------------- the status server ------------------------- */

/* What the service has made and where it went, from one /status. */
struct progress {
    double made;       /* latency notifications: firings + resolves */
    double archived;   /* written by the file sink */
    double a_queue;    /* waiting for hook-a (down: never acknowledged) */
    double firing;     /* latency episodes open */
};

static bool progress_of(unsigned sport, struct progress *p)
{
    cJSON *st = twr_status(sport);

    if (st == NULL)
        return false;
    p->made = twr_detector(st, "latency", "alerts_fired") +
              twr_detector(st, "latency", "alerts_resolved");
    p->archived = twr_sink(st, "archive", "delivered");
    p->a_queue = twr_sink(st, "hook-a", "queue_depth");
    p->firing = twr_detector(st, "latency", "firing");
    cJSON_Delete(st);
    return true;
}

/* The old sinks still work: wait until a notification made after `was`
 * has been written to the file and queued for the webhook. */
static void wait_sinks_work(struct world *w, const struct progress *was)
{
    int64_t end = clock_mono_ms() + WAIT_MS;
    struct progress now = {0};

    for (;;) {
        assert_true(progress_of(w->sport, &now));
        if (now.made > was->made && now.archived > was->archived &&
            now.a_queue > was->a_queue)
            return;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", w->run);
            fail_msg("the old sinks stopped: made %g -> %g, archived %g -> "
                     "%g, hook-a queue %g -> %g", was->made, now.made,
                     was->archived, now.archived, was->a_queue,
                     now.a_queue);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* The service is the process it was, alive and answering /healthz. */
static void expect_alive(struct world *w)
{
    static struct hget_body b;
    int st;

    assert_int_equal(proc_pid(w->run), w->pid);
    assert_false(proc_wait_exit(w->run, 0, &st));
    assert_int_equal(kill(w->pid, 0), 0);
    assert_int_equal(hget(w->sport, "/healthz", &b), 200);
}

/* Poll /status until its "config" object counts `reloads` reloads; that
 * object (a copy: cJSON_Delete it). */
static cJSON *wait_reloads(struct world *w, int reloads)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    for (;;) {
        cJSON *st = twr_status(w->sport);
        cJSON *cfg = NULL;

        assert_non_null(st);
        if (twr_jnum(twr_jobj(st, "config"), "reloads") == reloads)
            cfg = cJSON_Duplicate(twr_jobj(st, "config"), 1);
        cJSON_Delete(st);
        if (cfg != NULL)
            return cfg;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", w->run);
            fail_msg("/status never counted %d reloads", reloads);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* /metrics holds the sample line `line`. */
static void expect_metric(struct world *w, const char *line)
{
    static struct hget_body b;
    char want[160];

    snprintf(want, sizeof want, "\n%s\n", line);
    assert_int_equal(hget(w->sport, "/metrics", &b), 200);
    if (strstr(b.data, want) == NULL)
        fail_msg("/metrics has no line %s", line);
}

/* SIGHUP with the file as it is now: the reload is refused for a reason
 * containing `why`, and the service goes on as before. */
static void expect_refused(struct world *w, const char *fault,
                           const char *why)
{
    static struct hget_body b;
    struct progress was = {0};
    const char *got;
    cJSON *cfg;

    assert_true(progress_of(w->sport, &was));
    assert_int_equal(proc_signal(w->run, SIGHUP), 0);
    cfg = wait_reloads(w, w->refused + w->taken + 1);
    w->refused++;
    got = twr_jstr(cfg, "last_reload_error");
    if (!cJSON_IsFalse(twr_jobj(cfg, "last_reload_ok")) || got == NULL ||
        strstr(got, why) == NULL) {
        twr_dump_stderr("run", w->run);
        fail_msg("%s: want a refusal saying \"%s\", got %s", fault, why,
                 got != NULL ? got : "none");
    }
    assert_true(twr_jnum(cfg, "reload_failures") == w->refused);
    assert_non_null(twr_jstr(cfg, "last_reload_at"));
    cJSON_Delete(cfg);
    expect_alive(w);
    expect_metric(w, "toolwatch_config_last_reload_successful 0");
    /* no secret in the answer */
    assert_int_equal(hget(w->sport, "/status", &b), 200);
    assert_null(strstr(b.data, BAD_SECRET_B64));
    assert_null(strstr(b.data, SECRET + 6));
    print_message("    %s: refused: %s\n", fault, why);
    wait_sinks_work(w, &was);
}

/* ---------------------------- the receivers -------------------------- */

/* Acknowledged notifications (distinct webhook-ids answered 2xx), and the
 * 2xx answers beyond the first per webhook-id in *dups. */
static size_t received(struct rcv *r, size_t *dups)
{
    size_t distinct = rcv_count_distinct(r, "webhook-id", 200, 299);

    *dups = rcv_count_status(r, 200) - distinct;
    return distinct;
}

/* Lines in the file sink's file. */
static size_t archive_lines(const struct world *w)
{
    char path[160], line[65536];
    size_t n = 0;
    FILE *fp;

    snprintf(path, sizeof path, "%s/archive.ndjson", w->d.path);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp) != NULL) {
        cJSON *j;

        assert_non_null(strchr(line, '\n')); /* whole lines only */
        j = cJSON_Parse(line);
        assert_non_null(j);
        assert_non_null(twr_jstr(j, "type"));
        cJSON_Delete(j);
        n++;
    }
    fclose(fp);
    return n;
}

/* ------------------------------- the test ---------------------------- */

static void test_reload_faults(void **state)
{
    const char *extra[] = {"--rate", "1000", "--scenario", "slow-calls",
                           "--phase-s", "1", "--quiet-s", "2",
                           "--heartbeat-ms", "300", NULL};
    struct world w = {.f = *state};
    const struct conf good = {.stream_extra = ""};
    struct conf c;
    struct progress p = {0};
    char missing[128], away[128], why[256], line[256];
    size_t a_dups, b_dups, a_got, b_got, lines;
    double b_sent;
    uint16_t taken_port = 0;
    int lfd;
    cJSON *cfg, *st;

    assert_int_equal(twr_dir_make(w.f, &w.d, "reload"), 0);
    assert_non_null(w.ra = twr_fx_rcv(w.f));
    assert_non_null(w.rb = twr_fx_rcv(w.f));
    rcv_url(w.ra, "/hook-a", w.hook_a, sizeof w.hook_a);
    rcv_url(w.rb, "/hook-b", w.hook_b, sizeof w.hook_b);
    assert_int_equal(rcv_set_down(w.ra, true), 0);
    assert_non_null(w.sim = twr_start_sim(w.f, extra, 0, w.surl,
                                          sizeof w.surl));
    write_conf(&w, &good);
    assert_non_null(w.run = twr_start_run(w.f, w.d.cfg, run_env, &w.sport));
    w.pid = proc_pid(w.run);
    /* under way: notifications made, written, piling up for hook-a */
    wait_sinks_work(&w, &p);
    cfg = wait_reloads(&w, 0);
    assert_true(cJSON_IsTrue(twr_jobj(cfg, "last_reload_ok")));
    assert_non_null(twr_jstr(cfg, "loaded_at"));
    cJSON_Delete(cfg);
    expect_metric(&w, "toolwatch_config_last_reload_successful 1");

    /* a. not JSON */
    assert_int_equal(twr_write_file(w.d.cfg, "{\"instance\": \"tw-b"), 0);
    snprintf(why, sizeof why, "%s: not valid JSON", w.d.cfg);
    expect_refused(&w, "a. invalid JSON", why);

    /* b. the stream's API key variable is not set */
    c = good;
    c.stream_extra = ", \"api_key_env\": \"" UNSET_ENV "\"";
    write_conf(&w, &c);
    expect_refused(&w, "b. unset stream variable",
                   "stream.api_key_env: the environment variable "
                   UNSET_ENV " is not set");

    /* c. the file sink's directory does not exist */
    snprintf(missing, sizeof missing, "%s/missing", w.d.path);
    c = good;
    c.archive_dir = missing;
    write_conf(&w, &c);
    snprintf(why, sizeof why, "sink archive: cannot open %s/archive.ndjson: "
             "No such file or directory", missing);
    expect_refused(&w, "c. file sink directory missing", why);

    /* d. a new webhook sink whose secret variable holds no secret */
    c = good;
    c.hook_b_env = BAD_SECRET_ENV;
    write_conf(&w, &c);
    expect_refused(&w, "d. bad signing secret",
                   "sinks[2].secret_envs[0]: the environment variable "
                   BAD_SECRET_ENV " does not hold a signing secret");

    /* e. the status port is another listener's */
    lfd = tcp_listen(&taken_port, 4, false);
    assert_true(lfd >= 0);
    c = good;
    c.status_port = taken_port;
    write_conf(&w, &c);
    snprintf(why, sizeof why, "cannot start the status server on "
             "127.0.0.1:%u", (unsigned)taken_port);
    expect_refused(&w, "e. status port in use", why);
    close(lfd);

    /* f. the state directory is not a directory (see the top of the
     * file), while the stream settings change */
    snprintf(away, sizeof away, "%s/state.away", w.d.path);
    assert_int_equal(rename(w.d.state, away), 0);
    assert_int_equal(twr_write_file(w.d.state, "not a directory\n"), 0);
    c = good;
    c.stream_extra = ", \"stall_timeout_s\": 44";
    write_conf(&w, &c);
    snprintf(why, sizeof why, "state directory %s: Not a directory",
             w.d.state);
    expect_refused(&w, "f. state directory unusable", why);
    assert_int_equal(unlink(w.d.state), 0);
    assert_int_equal(rename(away, w.d.state), 0);

    /* a good reload: a second webhook sink */
    c = good;
    c.hook_b_env = SECRET_ENV;
    write_conf(&w, &c);
    assert_int_equal(proc_signal(w.run, SIGHUP), 0);
    cfg = wait_reloads(&w, w.refused + w.taken + 1);
    w.taken++;
    if (!cJSON_IsTrue(twr_jobj(cfg, "last_reload_ok")) ||
        !cJSON_IsNull(twr_jobj(cfg, "last_reload_error"))) {
        twr_dump_stderr("run", w.run);
        fail_msg("the good reload was not taken: %s",
                 twr_jstr(cfg, "last_reload_error"));
    }
    assert_true(twr_jnum(cfg, "reload_failures") == w.refused);
    assert_true(twr_streq(twr_jstr(cfg, "loaded_at"),
                          twr_jstr(cfg, "last_reload_at")));
    cJSON_Delete(cfg);
    expect_alive(&w);
    expect_metric(&w, "toolwatch_config_last_reload_successful 1");
    assert_non_null(st = twr_status(w.sport));
    assert_int_equal(cJSON_GetArraySize(twr_jobj(st, "sinks")), 3);
    assert_true(twr_sink(st, "hook-b", "queue_depth") >= 0);
    cJSON_Delete(st);
    /* hook-b gets what is made from now on */
    if (!rcv_wait_requests(w.rb, 2, WAIT_MS)) {
        twr_dump_stderr("run", w.run);
        fail_msg("hook-b received nothing after the reload");
    }

    /* hook-a comes back; the stream goes on without slow calls (the same
     * port, `normal`: a cut stream resolves nothing, detectors.md "Time"):
     * the last episode resolves and nothing more is made */
    assert_int_equal(rcv_set_down(w.ra, false), 0);
    assert_true(twr_stop("simulate", w.sim));
    {
        const char *calm[] = {"--rate", "1000", "--heartbeat-ms", "300",
                              NULL};
        char url[128];
        assert_non_null(w.sim = twr_start_sim(w.f, calm,
                                              twr_url_port(w.surl), url,
                                              sizeof url));
    }
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        assert_true(progress_of(w.sport, &p));
        if (p.firing == 0 && p.made > 0)
            break;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", w.run);
            fail_msg("the last episode never resolved");
        }
        twr_pause_ms(TWR_POLL_MS);
    }
    /* everything is delivered: nothing waits for any sink */
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        assert_non_null(st = twr_status(w.sport));
        bool done = twr_sink(st, "hook-a", "queue_depth") == 0 &&
                    twr_sink(st, "hook-b", "queue_depth") == 0 &&
                    twr_sink(st, "archive", "queue_depth") == 0;
        b_sent = twr_sink(st, "hook-b", "delivered");
        cJSON_Delete(st);
        if (done)
            break;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", w.run);
            fail_msg("notifications are still waiting");
        }
        twr_pause_ms(TWR_POLL_MS);
    }
    assert_true(progress_of(w.sport, &p));
    assert_true(twr_stop("run", w.run));
    assert_true(twr_stop("simulate", w.sim));

    /* count: every notification made, once per webhook-id, signed */
    assert_true(twr_all_signed(w.ra, SECRET));
    assert_true(twr_all_signed(w.rb, SECRET));
    a_got = received(w.ra, &a_dups);
    b_got = received(w.rb, &b_dups);
    lines = archive_lines(&w);
    snprintf(line, sizeof line,
             "RELOAD | made %.0f | hook-a received %zu | duplicates %zu | "
             "archive %zu | hook-b received %zu of %.0f sent | duplicates "
             "%zu | reloads refused %d, taken %d\n",
             p.made, a_got, a_dups, lines, b_got, b_sent, b_dups, w.refused,
             w.taken);
    print_message("%s", line);
    assert_true(proc_output_contains(w.run, "reload refused: "));
    assert_false(proc_output_contains(w.run, BAD_SECRET_B64));
    assert_true(p.made >= 7); /* one before the faults, one after each */
    assert_true((double)a_got == p.made);
    assert_int_equal(a_dups, 0);
    assert_true((double)lines == p.made);
    assert_true(b_got > 0 && (double)b_got == b_sent);
    assert_int_equal(b_dups, 0);
    assert_int_equal(w.refused, 6);
    assert_int_equal(w.taken, 1);
}

/* ------------------------- the status server ------------------------- */

#define TOKEN "st-token-reload"
#define TOKEN_ENV "TW_ITEST_STATUS_TOKEN"

/* The configuration of the status test: status members `status`. */
static void write_status_conf(const struct twr_dir *d, const char *url,
                              const char *status)
{
    WRITE_CONFIG(d->cfg,
                 "{\"state_dir\": \"%s\", \"stream\": {\"url\": \"%s\"},"
                 " \"status\": {%s}, \"sinks\": []}",
                 d->state, url, status);
}

/* SIGHUP; wait for the reload to be taken. */
static void reload_taken(struct proc *run)
{
    size_t mark = twr_stderr_len(run);

    assert_int_equal(proc_signal(run, SIGHUP), 0);
    assert_true(twr_stderr_after("run", run, mark,
                                 "configuration reloaded from ", WAIT_MS));
}

/* The status server through reloads, with the stream connection kept
 * (its settings never change): a token set on the running server (same
 * port: no second server could bind it), a move to another port (the new
 * server first, then the old one stops), and off. */
static void test_reload_status(void **state)
{
    static struct hget_body b;
    const char *env[] = {TOKEN_ENV "=" TOKEN, NULL};
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *s;
    struct proc *run;
    char url[128], status[128], tag[64];
    unsigned sport;
    uint16_t port = 0;
    size_t mark;
    int fd;

    assert_int_equal(twr_dir_make(f, &d, "reload"), 0);
    assert_non_null(s = twr_fx_stream(f, ": hello\n\n", url, sizeof url));
    write_status_conf(&d, url, "\"port\": 0");
    assert_non_null(run = twr_start_run(f, d.cfg, env, &sport));
    assert_true(tsrv_wait_requests(s, 1, WAIT_MS));

    /* a token: the same server takes it */
    write_status_conf(&d, url, "\"port\": 0, \"token_env\": \"" TOKEN_ENV
                               "\"");
    reload_taken(run);
    assert_int_equal(hget(sport, "/status", &b), 401);
    assert_int_equal(hget(sport, "/healthz", &b), 200);
    assert_int_equal(hget_auth(sport, "/status", TOKEN, 0, &b), 200);
    assert_non_null(strstr(b.data, "\"last_reload_ok\":true"));

    /* another port: a new server there, the old one gone */
    fd = tcp_listen(&port, 1, false);
    assert_true(fd >= 0);
    close(fd);
    snprintf(status, sizeof status, "\"port\": %u, \"token_env\": \""
             TOKEN_ENV "\"", (unsigned)port);
    write_status_conf(&d, url, status);
    mark = twr_stderr_len(run);
    reload_taken(run);
    snprintf(tag, sizeof tag, "status on http://127.0.0.1:%u/status",
             (unsigned)port);
    assert_true(twr_stderr_after("run", run, mark, tag, 0));
    assert_int_equal(hget(sport, "/healthz", &b), 0);
    /* the new server shows the loop's snapshot from its next publish on
     * (after that turn's journal fsync): wait for it */
    for (int64_t end = clock_mono_ms() + WAIT_MS;;) {
        assert_int_equal(hget_auth(port, "/metrics", TOKEN, 0, &b), 200);
        if (strstr(b.data, "\ntoolwatch_config_reloads_total 2\n") != NULL ||
            clock_mono_ms() >= end)
            break;
        twr_pause_ms(TWR_POLL_MS);
    }
    assert_non_null(strstr(b.data, "\ntoolwatch_config_reloads_total 2\n"));
    assert_non_null(
        strstr(b.data, "\ntoolwatch_config_last_reload_successful 1\n"));

    /* off */
    write_status_conf(&d, url, "\"enabled\": false");
    mark = twr_stderr_len(run);
    reload_taken(run);
    assert_true(twr_stderr_after("run", run, mark, "status server stopped",
                                 0));
    assert_int_equal(hget(port, "/healthz", &b), 0);

    /* the stream was never touched */
    assert_int_equal(tsrv_request_count(s), 1);
    assert_true(twr_stop("run", run));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_faults, twr_setup,
                                        twr_teardown),
        cmocka_unit_test_setup_teardown(test_reload_status, twr_setup,
                                        twr_teardown),
    };

    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
