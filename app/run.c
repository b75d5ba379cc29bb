/*
 * run.c - `toolwatch run -c FILE`: the long-running service.  This file is
 * the wiring: it builds the parts from the configuration, joins them with
 * callbacks, runs the loop and reloads on SIGHUP.  The event path is
 * app/pipeline.h (the same as replay's); what /status shows is
 * app/snapshot.h.
 *
 * One thread owns everything: the loop (libcurl multi: the stream and every
 * delivery), the stream reader, the pipeline (decoder and rule engine)
 * and the outbox.  Each iteration:
 *
 *   wait (loop_run_once)      network, timers, signals (self-pipe)
 *     stream write callback -> SSE parser -> on_event -> pipeline_feed
 *     (decode, duplicates, rules, alert document) -> on_alert ->
 *     delivery_submit, then the stream position after the notification's
 *     event, into the journal right behind it (delivery_record_position)
 *   delivery_flush            one fsync for every notification of the
 *                             iteration and the positions behind them
 *                             (group commit) before any is sent: events
 *                             are read again after a crash only if nothing
 *                             they made reached the journal
 *   ticks                     stream (stall, reconnect, position file once
 *                             a second), pipeline (once a second), delivery
 *                             (retries, pacing)
 *   status snapshot           published once a second for the HTTP thread
 *
 * The wall clock is read once per iteration; per event there is no clock
 * read, no allocation beyond cJSON's tree and no log call.
 *
 * Start-up resumes the stream from the newer (by generation) of the
 * position file and the journal's newest position, so a crash between a
 * journal commit and the next position-file write does not read the
 * events that made the journaled alerts again.
 *
 * SIGTERM/SIGINT: stop reading, let deliveries in flight finish (bounded),
 * persist the position, exit 0.  SIGHUP: reload the file (reload(), the
 * one place that replaces parts); a bad file is refused (logged) and the
 * old configuration stays; the counters of the parts a reload replaces
 * are carried over (counters never go back).
 */
#include "app/run.h"

#include "alerts/delivery.h"
#include "alerts/document.h"
#include "app/cli.h"
#include "app/pipeline.h"
#include "app/sig.h"
#include "app/snapshot.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/loop.h"
#include "config/config.h"
#include "consumer/stream.h"
#include "status/server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

extern char **environ;

#define DRAIN_MS 5000          /* deliveries in flight at shutdown */
#define ENGINE_TICK_MS 1000
#define STATUS_PUBLISH_MS 1000

struct app {
    const char *path;          /* the configuration file */
    struct cfg *cfg;           /* in force */
    loop *lp;
    stream *st;
    pipeline *pl;
    delivery *dl;
    status_server *srv;
    snapshot *snap;
    struct sink_config sinks[DELIVERY_MAX_SINKS];
    size_t n_sinks;
    int64_t wall;              /* wall clock of this iteration */
    int64_t mono;              /* loop_now() when `wall` was read */
    int64_t next_engine_tick;
    int64_t next_publish;
    uint64_t submit_errors;
};

static void usage(void)
{
    fputs("usage: toolwatch run -c FILE\n"
          "\n"
          "Run the service: read the audit stream named in FILE, run the\n"
          "rules, deliver alerts to the configured sinks, and serve\n"
          "/healthz, /readyz, /status and /metrics.\n"
          "\n"
          "signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads FILE.\n"
          "See docs/configuration.md for the file and its environment\n"
          "overrides.\n",
          stderr);
}

/* ---- the event path: the pipeline's and the stream's callbacks ----------- */

/* The wall clock now, derived from the loop's cached monotonic time: no
 * clock read per event. */
static int64_t wall_now(const struct app *app)
{
    return app->wall + (loop_now(app->lp) - app->mono);
}

/* The notification just submitted was made from the events read so far:
 * record the stream position (the last event ID in force, which on the
 * event path is the id of the event that made it) in the journal right
 * behind it, durable in the same fsync, so that a crash from here on does
 * not read that event again and page a second time under new ids. */
static void record_position(struct app *app)
{
    const char *id;
    size_t len;
    uint64_t gen;

    if (app->st == NULL || app->dl == NULL)
        return;
    id = stream_position_claim(app->st, &len, &gen);
    if (delivery_record_position(app->dl, id, len, gen) == DELIVERY_EINVAL)
        LOG(LOG_ERROR, "run", "cannot record the stream position in the "
            "journal (generation %llu)", (unsigned long long)gen);
}

/* The pipeline's sink: an alert and its document go to the outbox. */
static void on_alert(void *ud, const struct alert *a, const char *doc,
                     size_t doc_len, int rc)
{
    struct app *app = ud;

    if (rc != ALERT_OK) {
        LOG(LOG_ERROR, "run", "cannot format alert %s: %s", a->id,
            alert_strerror(rc));
        app->submit_errors++;
        return;
    }
    snapshot_alert(app->snap, a);
    LOG(LOG_INFO, "alert", "%s %s %s %s: %s",
        a->resolved ? "resolved" : "firing", a->severity, a->rule,
        a->key, a->summary);
    if (app->dl == NULL)
        return;
    rc = delivery_submit(app->dl, a->rule, a->severity, a->id,
                         a->resolved, a->timestamp_ms, doc, doc_len);
    if (rc < 0)
        app->submit_errors++;
    else if (rc > 0)
        record_position(app);
}

static const struct pipeline_callbacks pipeline_callbacks = {
    .on_alert = on_alert,
};

__attribute__((hot))
static int on_event(void *ud, const sse_event *sev)
{
    struct app *app = ud;

    /* at the wall clock of the moment libcurl delivered the bytes */
    pipeline_feed(app->pl, sev->data, sev->data_len, sev->type,
                  sev->type_len, wall_now(app));
    return 0;
}

static void on_stream_state(void *ud, enum stream_state st)
{
    struct app *app = ud;
    int64_t wall = wall_now(app);

    snapshot_stream_state(app->snap, st, wall);
    if (app->pl != NULL && (st == STREAM_CONNECTED || st == STREAM_WAITING))
        pipeline_connection(app->pl, st == STREAM_CONNECTED, wall);
    /* /readyz and /status show a connect or a disconnect at the next
     * iteration, not up to STATUS_PUBLISH_MS later */
    app->next_publish = 0;
}

static const struct stream_callbacks stream_callbacks = {
    .on_event = on_event,
    .on_state = on_stream_state,
};

/* ---- building the parts from a configuration ------------------------------- */

static int ensure_state_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return -1;
        /* made by someone else (systemd's StateDirectory= is 0755): its
         * files stay 0600, but others can list them */
        if ((st.st_mode & 077) != 0)
            LOG(LOG_WARN, "run", "state directory %s is mode %04o: other "
                "users can list it (its files stay 0600); make it 0700 "
                "(systemd: StateDirectoryMode=0700)", dir,
                (unsigned)(st.st_mode & 07777));
        return 0;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        LOG(LOG_ERROR, "run", "cannot create state directory %s: %s", dir,
            strerror(errno));
        return -1;
    }
    return 0;
}

/* Is the host of the http(s) URL `url` a loopback name or address?  A
 * plain-HTTP receiver there is a local relay; anywhere else the request
 * crosses a network in clear. */
static int url_host_is_loopback(const char *url)
{
    const char *h = strstr(url, "://"), *at, *end;
    size_t n;

    if (h == NULL)
        return 0;
    h += 3;
    end = h + strcspn(h, "/?#");
    at = memchr(h, '@', (size_t)(end - h));
    if (at != NULL)
        h = at + 1; /* after the userinfo */
    if (*h == '[')
        return strncmp(h, "[::1]", 5) == 0;
    n = strcspn(h, ":/?#");
    /* 127.0.0.0/8 written as an address, not a name that starts "127." */
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
           (n > 4 && strncmp(h, "127.", 4) == 0 &&
            strspn(h, "0123456789.") == n);
}

/* Warn, naming the sink and never its URL, about a receiver reached over
 * plain HTTP away from this host: what goes in clear is the credential
 * (a Slack URL's path, a PagerDuty routing key) or the alerts. */
static void warn_plain_http(const struct sink_config *sinks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct sink_config *s = &sinks[i];
        const char *what;

        if (s->url == NULL || strncasecmp(s->url, "http://", 7) != 0 ||
            url_host_is_loopback(s->url))
            continue;
        what = s->kind == SINK_SLACK ? "its URL, which is the credential,"
             : s->kind == SINK_PAGERDUTY ? "its routing key"
                                         : "the alerts";
        LOG(LOG_WARN, "run", "sink %s: plain http:// sends %s in clear "
            "over the network; use https://", s->name, what);
    }
}

/* Warn about literal stream headers whose names suggest a secret: the
 * value sits in the file and check-config prints it; stream.headers_env
 * takes it from the environment instead.  Names only, never values. */
static void warn_secret_headers(const struct cfg *c)
{
    static const char *const hints[] = {"key", "token", "secret", "passw",
                                        "auth", "cookie", "session"};

    for (size_t i = 0; i < c->stream.n_headers; i++) {
        const char *h = c->stream.headers[i];
        size_t n = strcspn(h, ":");
        char name[CFG_HEADER_MAX];

        snprintf(name, sizeof name, "%.*s", (int)n, h);
        for (char *q = name; *q != '\0'; q++)
            *q = (char)tolower((unsigned char)*q);
        for (size_t j = 0; j < sizeof hints / sizeof hints[0]; j++)
            if (strstr(name, hints[j]) != NULL) {
                LOG(LOG_WARN, "run", "stream.headers: %.*s looks like a "
                    "secret, but its value is in the file (and check-config "
                    "prints it); move it to stream.headers_env", (int)n, h);
                break;
            }
    }
}

/* The stream reader, resuming from the newer of the position file and the
 * newest position in dl's journal (dl may be NULL). */
static stream *make_stream(struct app *app, const struct cfg *c,
                           const delivery *dl)
{
    struct stream_config sc;
    char err[512];
    const char *id;
    size_t len;
    uint64_t gen;
    stream *st;

    if (cfg_stream_config(c, &sc, err, sizeof err) != CFG_OK) {
        LOG(LOG_ERROR, "run", "%s", err);
        return NULL;
    }
    sc.state_dir = c->state_dir;
    warn_secret_headers(c);
    st = stream_create(app->lp, &sc, &stream_callbacks, app);
    if (st != NULL && dl != NULL &&
        (gen = delivery_position(dl, &id, &len)) > 0)
        stream_position_offer(st, id, len, gen);
    return st;
}

static delivery *make_delivery(struct app *app, const struct cfg *c)
{
    struct delivery_options o;
    char err[512];

    memset(&o, 0, sizeof o);
    o.state_dir = c->state_dir;
    if (cfg_sink_configs(c, app->sinks, DELIVERY_MAX_SINKS, &app->n_sinks,
                         err, sizeof err) != CFG_OK) {
        LOG(LOG_ERROR, "run", "%s", err);
        return NULL;
    }
    warn_plain_http(app->sinks, app->n_sinks);
    return delivery_create(app->lp, &o, app->sinks, app->n_sinks);
}

static struct cfg *load_config(const char *path)
{
    struct cfg *c = calloc(1, sizeof *c);
    char err[1024];

    if (c == NULL)
        return NULL;
    if (cfg_load_env(c, path, environ, err, sizeof err) != CFG_OK) {
        LOG(LOG_ERROR, "config", "%s", err);
        cfg_free(c);
        return NULL;
    }
    return c;
}

static pipeline *make_pipeline(struct app *app, const struct cfg *c)
{
    return pipeline_create(&c->det, c->rules, c->instance, 0,
                           &pipeline_callbacks, app);
}

/* ---- status ------------------------------------------------------------------ */

static status_server *make_status(const struct cfg *c)
{
    struct status_options o;
    const char *token = NULL;
    char err[512];
    int rc = 0;
    status_server *srv;

    if (!c->status.enabled)
        return NULL;
    if (cfg_status_token(c, &token, err, sizeof err) != CFG_OK) {
        LOG(LOG_ERROR, "run", "%s", err);
        return NULL;
    }
    status_options_defaults(&o);
    o.bind_addr = c->status.listen;
    o.port = (uint16_t)c->status.port;
    o.token = token;
    srv = status_create(&o, &rc);
    if (srv == NULL)
        LOG(LOG_ERROR, "run", "cannot start the status server on %s:%lld: "
            "%s", c->status.listen, (long long)c->status.port,
            status_strerror(rc));
    return srv;
}

/* What /status and /metrics show, from the parts in force. */
static void publish(struct app *app, const char *not_ready_reason)
{
    struct snapshot_parts parts = {
        .stream_url = app->cfg->stream.url,
        .st = app->st,
        .pl = app->pl,
        .dl = app->dl,
        .wall_ms = app->wall,
        .mono_ms = app->mono,
        .not_ready_reason = not_ready_reason,
    };

    snapshot_publish(app->snap, &parts, app->srv);
}

/* ---- reload (SIGHUP) ------------------------------------------------------- */

static int same_status(const struct cfg *a, const struct cfg *b)
{
    const char *ta = NULL, *tb = NULL;
    char err[256];

    if (memcmp(&a->status, &b->status, sizeof a->status) != 0)
        return 0;
    cfg_status_token(a, &ta, err, sizeof err);
    cfg_status_token(b, &tb, err, sizeof err);
    return (ta == NULL && tb == NULL) ||
           (ta != NULL && tb != NULL && strcmp(ta, tb) == 0);
}

/* SIGHUP: the one place where parts are replaced.  In order:
 *   1. load and check the file; a bad one is refused, nothing changes;
 *   2. build the new pipeline (not fed yet);
 *   3. the outbox: the old one is closed first (the new one reopens its
 *      journal; requests in flight are abandoned and re-sent, same ids);
 *      if the new sinks cannot be set up, the old ones are built again;
 *   4. the stream reader: stopped, replaced, started; if the new settings
 *      cannot be used, the old reader and outbox are built again;
 *   5. the new pipeline adopts the old one's state and counters (open
 *      alerts of rules whose settings changed resolve, through the
 *      outbox now in force);
 *   6. the status server, only when its settings changed;
 *   7. the new configuration is in force.
 * Counters of replaced parts are kept by the snapshot (snapshot_retire_*)
 * and the new pipeline (pipeline_adopt). */
static void reload(struct app *app)
{
    struct cfg *nc = load_config(app->path);
    stream *nst = NULL;
    delivery *ndl = NULL;
    pipeline *npl = NULL;
    int kept;

    if (nc == NULL) {
        LOG(LOG_ERROR, "run", "reload refused: %s is not valid; the running "
            "configuration stays", app->path);
        return;
    }
    if ((npl = make_pipeline(app, nc)) == NULL)
        goto fail;
    snapshot_retire_sinks(app->snap, app->dl);
    delivery_destroy(app->dl);
    app->dl = NULL;
    ndl = make_delivery(app, nc);
    if (ndl == NULL) {
        LOG(LOG_ERROR, "run", "reload: the new sinks cannot be set up; "
            "keeping the old ones");
        app->dl = make_delivery(app, app->cfg);
        goto fail;
    }
    stream_stop(app->st);
    nst = make_stream(app, nc, ndl);
    if (nst == NULL) {
        LOG(LOG_ERROR, "run", "reload: the new stream settings cannot be "
            "used; keeping the old ones");
        snapshot_retire_stream(app->snap, app->st);
        stream_destroy(app->st);
        app->st = make_stream(app, app->cfg, ndl);
        if (app->st != NULL)
            stream_start(app->st);
        delivery_destroy(ndl);
        app->dl = make_delivery(app, app->cfg);
        goto fail;
    }
    snapshot_retire_stream(app->snap, app->st);
    stream_destroy(app->st);
    app->st = nst;
    stream_start(app->st);
    app->dl = ndl;
    kept = pipeline_adopt(npl, app->pl);
    pipeline_destroy(app->pl);
    app->pl = npl;
    if (!same_status(nc, app->cfg)) {
        status_destroy(app->srv);
        app->srv = make_status(nc);
        if (app->srv != NULL)
            LOG(LOG_INFO, "run", "status on http://%s:%u/status",
                nc->status.listen, (unsigned)status_port(app->srv));
    }
    cfg_free(app->cfg);
    app->cfg = nc;
    LOG(LOG_INFO, "run", "configuration reloaded from %s; %d of %u "
        "rules kept their state", app->path, kept,
        (unsigned)det_engine_nrules(pipeline_engine(app->pl)));
    return;
fail:
    pipeline_destroy(npl);
    cfg_free(nc);
}

/* ---- the loop --------------------------------------------------------------- */

static void read_clock(struct app *app)
{
    loop_update_now(app->lp);
    app->wall = clock_wall_ms();
    app->mono = loop_now(app->lp);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Parse `toolwatch run` arguments; returns the config path or NULL with
 * *rc set. */
static const char *parse_args(int argc, char **argv, int *rc)
{
    const char *path = NULL, *name;
    cli_args a;
    int kind;

    *rc = CLI_EXIT_USAGE;
    cli_args_init(&a, argc, argv, 1);
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind == 1 && (strcmp(name, "-c") == 0 ||
                          strcmp(name, "--config") == 0)) {
            if ((path = cli_value(&a, name)) == NULL)
                return NULL;
        } else if (kind == 2 && strcmp(name, "-c") == 0) {
            if (a.i >= a.argc) {
                usage();
                return NULL;
            }
            path = a.argv[a.i++];
        } else if (kind == 1 && strcmp(name, "--help") == 0) {
            usage();
            *rc = CLI_EXIT_OK;
            return NULL;
        } else {
            fprintf(stderr, "toolwatch run: unexpected argument %s\n", name);
            usage();
            return NULL;
        }
    }
    if (path == NULL)
        usage();
    return path;
}

int run_main(int argc, char **argv)
{
    int rc;
    const char *path = parse_args(argc, argv, &rc);

    if (path == NULL)
        return rc;
    return run_service(path, NULL);
}

int run_service(const char *path, const struct run_hooks *hooks)
{
    struct app app;
    int rc = CLI_EXIT_FAIL, wake;
    int64_t drain_until, stop_at = INT64_MAX;

    memset(&app, 0, sizeof app);
    app.path = path;
    if ((app.cfg = load_config(app.path)) == NULL)
        goto out;
    if (ensure_state_dir(app.cfg->state_dir) != 0)
        goto out;
    wake = sig_setup();
    if ((app.lp = loop_create()) == NULL)
        goto out;
    loop_set_wake_fd(app.lp, wake);
    read_clock(&app);
    if ((app.snap = snapshot_create(app.wall)) == NULL)
        goto out;
    if ((app.pl = make_pipeline(&app, app.cfg)) == NULL)
        goto out;
    if ((app.dl = make_delivery(&app, app.cfg)) == NULL)
        goto out;
    if ((app.st = make_stream(&app, app.cfg, app.dl)) == NULL)
        goto out;
    if (stream_start(app.st) != STREAM_OK)
        goto out;
    if (app.cfg->status.enabled && (app.srv = make_status(app.cfg)) == NULL)
        goto out;
    if (app.srv != NULL)
        LOG(LOG_INFO, "run", "status on http://%s:%u/status",
            app.cfg->status.listen, (unsigned)status_port(app.srv));
    LOG(LOG_INFO, "run", "toolwatch %s running: %zu sinks, state in %s",
        TW_VERSION, app.n_sinks, app.cfg->state_dir);
    app.next_engine_tick = loop_now(app.lp) + ENGINE_TICK_MS;
    if (hooks != NULL && hooks->stop_after_ms > 0)
        stop_at = loop_now(app.lp) + hooks->stop_after_ms;
    if (hooks != NULL && hooks->started != NULL)
        hooks->started(hooks->ud, app.srv ? status_port(app.srv) : 0);
    for (;;) {
        int64_t next, now;
        unsigned sigs = 0;

        read_clock(&app);
        now = app.mono;
        if (now >= app.next_engine_tick) {
            pipeline_tick(app.pl, app.wall);
            app.next_engine_tick = now + ENGINE_TICK_MS;
        }
        /* the notifications made since the last iteration and the stream
         * positions behind them (record_position), in one fsync; the
         * position file follows within a second (stream_tick) */
        delivery_flush(app.dl);
        next = min64(stream_tick(app.st), delivery_tick(app.dl));
        next = min64(next, app.next_engine_tick);
        if (now >= app.next_publish) {
            publish(&app, NULL);
            app.next_publish = now + STATUS_PUBLISH_MS;
        }
        next = min64(next, app.next_publish);
        next = min64(next, stop_at);
        if (now >= stop_at)
            break;
        if (loop_run_once(app.lp, next) == LOOP_WOKEN)
            sigs = sig_take();
        if (sigs & SIG_TERM)
            break;
        if (sigs & SIG_HUP) {
            read_clock(&app);
            reload(&app);
        }
    }
    LOG(LOG_INFO, "run", "stopping: finishing %d deliveries in flight",
        delivery_in_flight(app.dl));
    publish(&app, "shutting down");
    stream_stop(app.st);
    delivery_flush(app.dl);
    drain_until = loop_now(app.lp) + DRAIN_MS;
    while (delivery_in_flight(app.dl) > 0 &&
           loop_now(app.lp) < drain_until) {
        loop_run_once(app.lp, drain_until);
        delivery_flush(app.dl);
    }
    rc = CLI_EXIT_OK;
out:
    status_destroy(app.srv);
    stream_destroy(app.st);
    delivery_destroy(app.dl);
    pipeline_destroy(app.pl);
    snapshot_destroy(app.snap);
    loop_destroy(app.lp);
    cfg_free(app.cfg);
    return rc;
}
