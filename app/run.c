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
 *                             a second), pipeline (once a second: the
 *                             clock, then report_clock's log lines),
 *                             delivery (retries, pacing)
 *   status snapshot           published once a second for the HTTP thread
 *   API requests              the status server's queue, answered
 *                             (app/oncall.h: silences, acks); held
 *                             firings whose silence ended are submitted
 *
 * Every notification passes the notification gate (oncall_alert) before
 * the outbox: silenced ones and repeats of acknowledged episodes are not
 * submitted.
 *
 * The wall clock is read once per iteration; per event there is no clock
 * read, no allocation beyond cJSON's tree and no log call.
 *
 * Clock (detectors/engine.h "Clock").  The event path is told the stream
 * is not connected before the reader starts, and each connect and
 * disconnect after: so the backlog read after a start or a reconnect is
 * judged in event time, and while the stream is down nothing resolves.
 *
 * Start-up resumes the stream from the newer (by generation) of the
 * position file and the journal's newest position, so a crash between a
 * journal commit and the next position-file write does not read the
 * events that made the journaled alerts again -- unless a detection
 * checkpoint was loaded (app/checkpointer.h): then from the position that
 * checkpoint recorded, so that the events after it are counted once more
 * into the state it holds.  They are fed in event time only until caught
 * up, and the notifications they make again that the journal already
 * holds (numbered up to the journal's mark) are not sent again.  The
 * checkpoint is taken every detectors.checkpoint_s at the top of an
 * iteration (between events) and written by its own thread, and taken
 * once more at shutdown after the last event.
 *
 * SIGTERM/SIGINT: stop reading, let deliveries in flight finish (bounded),
 * persist the position, exit 0.  SIGHUP: reload the file (reload(), the
 * one place that changes parts), build-then-swap: everything the new file
 * needs is built while the old parts run, and swapped in only when all of
 * it was built.  A reload that cannot be done completely is refused: the
 * old parts stay exactly as they were (no reconnect, no notification
 * lost), one log line says why, and /status shows it.  Counters never go
 * back (the outbox keeps its own, a replaced stream reader's are kept by
 * the snapshot, the event path's by pipeline_adopt()).
 */
#include "app/run.h"

#include "alerts/delivery.h"
#include "alerts/document.h"
#include "app/checkpointer.h"
#include "app/cli.h"
#include "app/notify.h"
#include "app/oncall.h"
#include "app/pipeline.h"
#include "app/redact_key.h"
#include "app/sig.h"
#include "app/snapshot.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/loop.h"
#include "config/config.h"
#include "consumer/stream.h"
#include "status/server.h"

#include <ctype.h>
#include <sodium.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DRAIN_MS 5000          /* deliveries in flight at shutdown */
#define ENGINE_TICK_MS 1000
#define STATUS_PUBLISH_MS 1000
#define CLOCK_LOG_MS 60000     /* late / clamped events: one line a minute */

struct app {
    const char *path;          /* the configuration file */
    struct cfg *cfg;           /* in force */
    loop *lp;
    stream *st;
    pipeline *pl;
    delivery *dl;
    checkpointer *ck;          /* the detection checkpoint */
    status_server *srv;
    snapshot *snap;
    oncall *oc;                /* silences, acks, the notification gate */
    int quiet_stream;          /* a reader not in force is being dropped:
                                  its state changes are not the stream's */
    int paused;                /* backpressure: the stream is not read */
    char paused_why[256];      /* for /readyz */
    int64_t wall;              /* wall clock of this iteration */
    int64_t mono;              /* loop_now() when `wall` was read */
    int64_t next_engine_tick;
    int64_t next_publish;
    struct {                   /* what report_clock() said last */
        uint64_t late, clamped; /* counters when last logged */
        int64_t next_log;      /* wall: no late/clamped line before */
        int lagging;           /* lag over stream.max_lag_s */
        int unknown;           /* detection unknown */
    } said;
};

static void usage(FILE *f)
{
    fputs("usage: toolwatch run -c FILE\n"
          "\n"
          "Run the service: read the audit stream named in FILE, run the\n"
          "rules, deliver alerts to the configured sinks, and serve\n"
          "/healthz, /readyz, /status and /metrics, and the API of\n"
          "silences and acknowledgements (/api/v1/: toolwatch silence,\n"
          "toolwatch ack; docs/operations.md).\n"
          "\n"
          "signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads FILE.\n"
          "See docs/configuration.md for the file and its environment\n"
          "overrides.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE  the configuration\n"
          "  --log-level L      debug, info (default), warning or error\n"
          "  --log-format F     text (default) or json\n"
          "  -h, --help         this text\n",
          f);
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
static void record_position(struct app *app, const struct alert *a)
{
    const struct journal_mark mark = {.seq = a->seq, .made_ms = a->made_ms};
    const char *id;
    size_t len;
    uint64_t gen;

    if (app->st == NULL || app->dl == NULL)
        return;
    id = stream_position_claim(app->st, &len, &gen);
    /* with the engine's number for it: the checkpoint's guard after a
     * restart (app/checkpointer.h) */
    if (delivery_record_position_mark(app->dl, id, len, gen, &mark) ==
        DELIVERY_EINVAL)
        LOG(LOG_ERROR, "run", "cannot record the stream position in the "
            "journal (generation %llu)", (unsigned long long)gen);
}

/* Route and queue a notification in the outbox.  Returns what
 * delivery_submit() returned (logged when negative). */
static int submit(struct app *app, const struct alert *a, const char *doc,
                  size_t doc_len)
{
    const char *names[ALERT_LABELS_MAX], *values[ALERT_LABELS_MAX];
    struct sink_route route;
    int rc;

    for (uint32_t i = 0; i < a->nlabels && i < ALERT_LABELS_MAX; i++) {
        names[i] = a->labels[i].name;
        values[i] = a->labels[i].value;
    }
    route.rule = a->rule;
    route.severity = a->severity;
    route.nlabels = a->nlabels < ALERT_LABELS_MAX ? a->nlabels
                                                  : ALERT_LABELS_MAX;
    route.label_names = names;
    route.label_values = values;
    rc = delivery_submit(app->dl, &route, a->id, a->resolved,
                         a->timestamp_ms, doc, doc_len);
    if (rc < 0)
        LOG(LOG_ERROR, "run", "cannot queue alert %s for delivery: %s",
            a->id, delivery_strerror(rc));
    return rc;
}

/* The pipeline's sink: an alert and its document go to the outbox,
 * unless the notification gate keeps them (silenced, acknowledged). */
static void on_alert(void *ud, const struct alert *a, const char *doc,
                     size_t doc_len, int rc)
{
    struct app *app = ud;

    if (rc != ALERT_OK) {
        LOG(LOG_ERROR, "run", "cannot format alert %s: %s", a->id,
            alert_strerror(rc));
        return;
    }
    snapshot_alert(app->snap, a);
    if (checkpointer_already_sent(app->ck, a)) {
        /* made again from events read again after a restart */
        LOG(LOG_INFO, "alert", "%s %s %s %s: in the journal already, not "
            "sent again (episode %s)", a->resolved ? "resolved" : "firing",
            a->severity, a->rule, a->key, a->id);
        return;
    }
    LOG(LOG_INFO, "alert", "%s %s %s %s: %s",
        a->resolved ? "resolved" : "firing", a->severity, a->rule,
        a->key, a->summary);
    if (oncall_alert(app->oc, a, doc, doc_len, wall_now(app)) != GATE_SEND)
        return;
    if (app->dl == NULL)
        return;
    if (submit(app, a, doc, doc_len) > 0)
        record_position(app, a);
}

/* A held firing whose silence ended goes out now.  It was made from
 * events read long ago: no stream position is recorded behind it. */
static void on_release(void *ud, const struct alert *a, const char *doc,
                       size_t len)
{
    struct app *app = ud;

    if (app->dl != NULL)
        submit(app, a, doc, len);
}

static const struct pipeline_callbacks pipeline_callbacks = {
    .on_alert = on_alert,
};

/* The wall clock the engine is given: none (pure event time) while
 * events are read again after a restart (the checkpoint's catch-up). */
static int64_t engine_wall(const struct app *app)
{
    return checkpointer_catching_up(app->ck) ? 0 : wall_now(app);
}

__attribute__((hot))
static int on_event(void *ud, const sse_event *sev)
{
    struct app *app = ud;

    /* at the wall clock of the moment libcurl delivered the bytes */
    pipeline_feed(app->pl, sev->data, sev->data_len, sev->type,
                  sev->type_len, engine_wall(app));
    if (checkpointer_catching_up(app->ck))
        checkpointer_catchup_event(
            app->ck, sev->id, sev->id_len,
            det_engine_now(pipeline_engine(app->pl)),
            wall_now(app) - app->cfg->det.allowed_lateness_s * 1000);
    return 0;
}

static void on_stream_state(void *ud, enum stream_state st)
{
    struct app *app = ud;
    int64_t wall = wall_now(app);

    if (app->quiet_stream)
        return;
    snapshot_stream_state(app->snap, st, wall);
    if (app->pl != NULL && (st == STREAM_CONNECTED || st == STREAM_WAITING))
        pipeline_connection(app->pl, st == STREAM_CONNECTED,
                            engine_wall(app));
    /* /readyz and /status show a connect or a disconnect at the next
     * iteration, not up to STATUS_PUBLISH_MS later */
    app->next_publish = 0;
}

static const struct stream_callbacks stream_callbacks = {
    .on_event = on_event,
    .on_state = on_stream_state,
};

/* ---- what the clock says (once a second, at the engine's tick) ------------ */

/* Log, at a bounded rate, what the engine's clock (detectors/engine.h
 * "Clock") did that an operator must hear of: events counted late (older
 * than their rule's window: not counted there) or clamped (stamped too far
 * ahead), with the stream's lag, at most one line a CLOCK_LOG_MS; the lag
 * crossing stream.max_lag_s, and detection becoming unknown or resuming,
 * once each way. */
static void report_clock(struct app *app)
{
    const det_engine *eng = pipeline_engine(app->pl);
    int64_t max_lag = app->cfg->stream.max_lag_s * 1000;
    struct pipeline_stats ps;
    struct det_clock_info ci;
    int lagging;

    pipeline_stats(app->pl, &ps);
    det_engine_clock(eng, &ci);
    if ((ps.late > app->said.late || ps.clamped > app->said.clamped) &&
        app->wall >= app->said.next_log) {
        LOG(LOG_WARN, "engine", "%llu events older than their rule's window "
            "(late: not counted there) and %llu stamped too far ahead "
            "(clamped: counted at the stream's time) since the last report; "
            "the stream's lag is %.1f s", (unsigned long long)(ps.late -
            app->said.late), (unsigned long long)(ps.clamped -
            app->said.clamped), (double)ci.lag_ms / 1000.0);
        app->said.late = ps.late;
        app->said.clamped = ps.clamped;
        app->said.next_log = app->wall + CLOCK_LOG_MS;
    }
    lagging = ci.lag_ms > max_lag;
    if (lagging != app->said.lagging)
        LOG(lagging ? LOG_WARN : LOG_INFO, "engine", "the stream's events "
            "arrive %.1f s after their timestamps: %s stream.max_lag_s "
            "(%lld s)%s", (double)ci.lag_ms / 1000.0,
            lagging ? "over" : "back within",
            (long long)app->cfg->stream.max_lag_s,
            lagging ? "; detection is right but late, /readyz says 503" : "");
    app->said.lagging = lagging;
    if (ci.unknown != app->said.unknown)
        LOG(ci.unknown ? LOG_WARN : LOG_INFO, "engine", "%s",
            ci.unknown ? "detection unknown: the stream is disconnected or "
                         "stalled, so no rule is judged (nothing resolves) "
                         "until events come again"
                       : "detection resumes: events are coming again");
    app->said.unknown = ci.unknown;
}

/* ---- building the parts from a configuration ------------------------------- */

/* The state directory `dir` exists as a directory (made 0700 when
 * missing).  Returns 0, or -1 with the reason in err. */
static int ensure_state_dir(const char *dir, char *err, size_t errsz)
{
    char path[CFG_PATH_MAX];
    struct stat st;

    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errsz, "state directory %s: %s", dir,
                     strerror(ENOTDIR));
            return -1;
        }
        /* made by someone else (systemd's StateDirectory= is 0755): its
         * files stay 0600, but others can list them */
        if ((st.st_mode & 077) != 0)
            LOG(LOG_WARN, "run", "state directory %s is mode %04o: other "
                "users can list it (its files stay 0600); make it 0700 "
                "(systemd: StateDirectoryMode=0700)", dir,
                (unsigned)(st.st_mode & 07777));
        return 0;
    }
    /* its parents too, as check-config promised (0700 each) */
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errsz, "state directory %s: %s", dir,
                 strerror(ENAMETOOLONG));
        return -1;
    }
    for (char *p = path + (path[0] == '/');; p++) {
        int last = *p == '\0';

        if (*p != '/' && !last)
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errsz, "cannot create state directory %.900s: "
                     "%s", path, strerror(errno));
            return -1;
        }
        if (last)
            break;
        *p = '/';
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
             : s->password != NULL || s->bearer_token != NULL
                 ? "its credentials and the alerts"
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

/* The stream reader for c, not started, resuming from the newer of the
 * position file and the newest position in dl's journal (dl NULL: the
 * position file's; a reload hands the old reader's position over
 * instead).  NULL with the reason in err. */
static stream *make_stream(struct app *app, const struct cfg *c,
                           const delivery *dl, char *err, size_t errsz)
{
    struct stream_config sc;
    const char *id;
    size_t len;
    uint64_t gen;
    stream *st = NULL;

    if (ensure_state_dir(c->state_dir, err, errsz) != 0 ||
        cfg_stream_config(c, &sc, err, errsz) != CFG_OK)
        goto out;
    sc.state_dir = c->state_dir;
    warn_secret_headers(c);
    st = stream_create(app->lp, &sc, &stream_callbacks, app);
    if (st == NULL) {
        snprintf(err, errsz, "the stream reader cannot be created (the "
                 "stream's log line above says why)");
        goto out;
    }
    if (dl != NULL && (gen = delivery_position(dl, &id, &len)) > 0)
        stream_position_offer(st, id, len, gen);
out:
    return st;
}

/* The sink settings of c, secrets read from the environment now, into
 * out[0 .. *n).  Returns 0, or -1 with the reason in err. */
static int sink_configs(const struct cfg *c, struct sink_config *out,
                        size_t *n, char *err, size_t errsz)
{
    if (cfg_sink_configs(c, out, DELIVERY_MAX_SINKS, n, err, errsz) !=
        CFG_OK)
        return -1;
    warn_plain_http(out, *n);
    return 0;
}

static delivery *make_delivery(struct app *app, const struct cfg *c,
                               char *err, size_t errsz)
{
    struct sink_config sinks[DELIVERY_MAX_SINKS];
    struct delivery_options o;
    delivery *dl = NULL;
    size_t n = 0;

    memset(&o, 0, sizeof o);
    o.state_dir = c->state_dir;
    o.max_journal_bytes = (uint64_t)c->journal_max_bytes;
    o.status_url = c->status.public_url;
    if (sink_configs(c, sinks, &n, err, errsz) != 0)
        goto out;
    dl = delivery_create(app->lp, &o, sinks, n);
    if (dl == NULL)
        snprintf(err, errsz, "the outbox cannot be set up (the delivery "
                 "log line above says why)");
out:
    return dl;
}

/* One error of a file that does not load, as its own log line; a file
 * with one error has it in the refusal line alone (`why`).  Keyed by the
 * message, so that the lines of one file are not taken for repeats of
 * one another. */
static void log_config_error(void *ctx, const char *line, unsigned total)
{
    (void)ctx;
    if (total > 1)
        LOG_KEY(LOG_ERROR, "run", line, "%s", line);
}

/* The file at `path`, loaded and checked.  NULL with the reason in err
 * (it names the file, or the variable of an override): the first error,
 * with " (and N more)" when there are more, each of them logged on its
 * own line first (at most TABLE_ERRS_MAX, then how many more). */
static struct cfg *load_config(const char *path, char *err, size_t errsz)
{
    struct cfg *c = calloc(1, sizeof *c);

    if (c == NULL) {
        snprintf(err, errsz, "%s: out of memory", path);
        return NULL;
    }
    if (cfg_load_report(c, path, environ, log_config_error, NULL, err,
                        errsz) != CFG_OK) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

static pipeline *make_pipeline(struct app *app, const struct cfg *c,
                               char *err, size_t errsz)
{
    pipeline *pl = pipeline_create(&c->det, c->rules, c->instance, 0,
                                   &pipeline_callbacks, app);
    struct redact_opts red;

    if (pl == NULL) {
        snprintf(err, errsz, "the detector engine cannot be built (out of "
                 "memory)");
        return NULL;
    }
    /* the configuration's redaction, its key made at the first start in
     * the state directory (checked first: its own message) */
    if (ensure_state_dir(c->state_dir, err, errsz) != 0 ||
        redact_key_opts(c, 1, &red, NULL, err, errsz) != 0) {
        pipeline_destroy(pl);
        return NULL;
    }
    pipeline_set_redact(pl, &red);
    sodium_memzero(&red, sizeof red);
    return pl;
}

/* Silences, acks and the notification gate, loaded from the state
 * directory.  NULL with the reason in err. */
static oncall *make_oncall(const struct cfg *c, int64_t wall, char *err,
                           size_t errsz)
{
    struct oncall_options o = {.state_dir = c->state_dir,
                               .retention_s = c->silence_retention_s,
                               .inhibit = c->inhibit,
                               .n_inhibit = c->n_inhibit};
    oncall *oc = oncall_create(&o, wall);

    if (oc == NULL)
        snprintf(err, errsz, "silences and acknowledgements cannot be set "
                 "up (out of memory)");
    return oc;
}

/* ---- status ------------------------------------------------------------------ */

/* The status server queued an API request (its thread): wake the loop. */
static void wake_loop(void *ud)
{
    (void)ud;
    sig_wake();
}

/* A status server for c's status section with bearer token `token`
 * (NULL: none), logged with its address.  NULL with the reason in err. */
static status_server *make_status(const struct cfg *c, const char *token,
                                  char *err, size_t errsz)
{
    struct status_options o;
    status_server *srv;
    int rc = 0;

    status_options_defaults(&o);
    o.bind_addr = c->status.listen;
    o.port = (uint16_t)c->status.port;
    o.token = token;
    o.probes_public = c->status.probes_public;
    o.api_wake = wake_loop;
    srv = status_create(&o, &rc);
    if (srv == NULL)
        snprintf(err, errsz, "cannot start the status server on %s:%lld: "
                 "%s", c->status.listen, (long long)c->status.port,
                 status_strerror(rc));
    else
        LOG(LOG_INFO, "run", "status on http://%s:%u/status",
            c->status.listen, (unsigned)status_port(srv));
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
        .ckpt = app->ck != NULL ? checkpointer_stats(app->ck) : NULL,
        .wall_ms = app->wall,
        .mono_ms = app->mono,
        .max_lag_ms = app->cfg->stream.max_lag_s * 1000,
        .not_ready_reason = not_ready_reason,
        .oc = app->oc,
    };

    snapshot_publish(app->snap, &parts, app->srv);
}

/* ---- backpressure ---------------------------------------------------------- */

/* The journal full of undelivered notifications (delivery_backpressure)
 * stops the stream: no event is read (and no alert made) that could not be
 * journaled, and the position stays at the last event read, whose
 * notifications are in the journal.  Called after delivery_flush(), so the
 * position the stop persists is behind durable notifications only.  The
 * stream resumes from there once the sinks drained the journal; /readyz
 * says why meanwhile.  A reader a reload started while paused is stopped
 * too. */
static void backpressure(struct app *app)
{
    int paused = delivery_backpressure(app->dl, app->paused_why,
                                       sizeof app->paused_why);

    if (app->st == NULL)
        return;
    if (paused && stream_state(app->st) != STREAM_DONE) {
        stream_stop(app->st);
        if (app->pl != NULL)
            pipeline_connection(app->pl, 0, engine_wall(app));
        app->paused = 1;
        app->next_publish = 0;
    } else if (!paused && app->paused) {
        app->paused = 0;
        app->next_publish = 0;
        if (stream_start(app->st) != STREAM_OK)
            LOG(LOG_ERROR, "run", "the stream reader cannot start a "
                "request after the pause");
    }
}

/* ---- reload (SIGHUP) ------------------------------------------------------- */

/* What a reload does to the status server. */
enum status_step {
    STATUS_KEEP = 0, /* same address, port and token (or off and off) */
    STATUS_TOKEN,    /* same address and port: the token changes in place */
    STATUS_NEW,      /* turned on, or another address or port: r->srv */
    STATUS_OFF       /* turned off */
};

/* What a reload builds while the parts in force keep running.  Each
 * member is NULL until built, and again once swapped in; reload_drop()
 * frees what is left. */
struct reload {
    struct cfg *cfg;           /* the new configuration */
    pipeline *pl;              /* its event path, not fed yet */
    stream *st;                /* its stream reader, not started; NULL:
                                  the stream settings did not change */
    enum status_step status;
    status_server *srv;        /* STATUS_NEW: listening already */
    const char *token;         /* STATUS_TOKEN: the new token or NULL */
    char why[1024];            /* why it was refused: one line, no secrets */
};

/* The status section of the running configuration and of r->cfg: what
 * changes, and with it a new server built (bound already).  Returns 0, or
 * -1 with the reason in r->why (the running server stays). */
static int reload_status(struct app *app, struct reload *r)
{
    const struct cfg_status *o = &app->cfg->status, *n = &r->cfg->status;
    const char *old_token = NULL;
    char ignored[256];

    if (!n->enabled) {
        r->status = app->srv != NULL ? STATUS_OFF : STATUS_KEEP;
        return 0;
    }
    if (cfg_status_token(r->cfg, &r->token, r->why, sizeof r->why) !=
        CFG_OK)
        return -1;
    if (app->srv != NULL && strcmp(o->listen, n->listen) == 0 &&
        o->port == n->port) {
        /* a second server cannot bind the port the running one holds */
        if (cfg_status_token(app->cfg, &old_token, ignored,
                             sizeof ignored) == CFG_OK &&
            ((old_token == NULL && r->token == NULL) ||
             (old_token != NULL && r->token != NULL &&
              strcmp(old_token, r->token) == 0)))
            r->status = STATUS_KEEP;
        else
            r->status = STATUS_TOKEN;
        return 0;
    }
    r->srv = make_status(r->cfg, r->token, r->why, sizeof r->why);
    if (r->srv == NULL) {
        if (app->srv != NULL && o->port != 0 && o->port == n->port) {
            size_t k = strlen(r->why);
            snprintf(r->why + k, sizeof r->why - k, " (the running server "
                     "holds port %lld on %s: moving it to another address "
                     "on the same port takes a restart)", (long long)o->port,
                     o->listen);
        }
        return -1;
    }
    r->status = STATUS_NEW;
    return 0;
}

/* Do two stream sections differ in what the reader uses (max_lag_s is
 * the status server's: a new bound needs no reconnect)? */
static int stream_settings_differ(const struct cfg_stream *a,
                                  const struct cfg_stream *b)
{
    struct cfg_stream x;

    memcpy(&x, a, sizeof x); /* padding too: compared as bytes */
    x.max_lag_s = b->max_lag_s;
    return memcmp(&x, b, sizeof x) != 0;
}

/* Build every part of r->cfg that differs from the running one, in the
 * order that leaves nothing to undo: the configuration (loaded and
 * checked), the event path, the stream reader (when its settings
 * changed), the status server (when its settings changed), then the
 * outbox's sinks -- delivery_reconfigure() builds them all first and
 * swaps them in only when all were built, so it goes last: once it
 * succeeded, nothing can fail.  Returns 0 (the outbox's new sinks are in
 * force), or -1 with the reason in r->why and nothing in force changed. */
static int reload_build(struct app *app, struct reload *r)
{
    struct sink_config sinks[DELIVERY_MAX_SINKS];
    size_t n = 0;
    char err[512];
    int rc = -1;

    if ((r->cfg = load_config(app->path, r->why, sizeof r->why)) == NULL)
        goto out;
    if (strcmp(r->cfg->state_dir, app->cfg->state_dir) != 0) {
        snprintf(r->why, sizeof r->why, "state_dir: changing it takes a "
                 "restart (the journal in %.900s stays open)",
                 app->cfg->state_dir);
        goto out;
    }
    if ((r->pl = make_pipeline(app, r->cfg, r->why, sizeof r->why)) == NULL)
        goto out;
    if (stream_settings_differ(&r->cfg->stream, &app->cfg->stream) &&
        (r->st = make_stream(app, r->cfg, NULL, r->why, sizeof r->why)) ==
            NULL)
        goto out;
    if (reload_status(app, r) != 0)
        goto out;
    if (sink_configs(r->cfg, sinks, &n, r->why, sizeof r->why) != 0)
        goto out;
    if (delivery_reconfigure(app->dl, sinks, n, err, sizeof err) !=
        DELIVERY_EOK) {
        snprintf(r->why, sizeof r->why, "the new sinks cannot be set up: %s",
                 err);
        goto out;
    }
    delivery_set_status_url(app->dl, r->cfg->status.public_url);
    rc = 0;
out:
    return rc;
}

/* Put what reload_build() built in force.  Cannot fail.  Returns the
 * number of detectors that kept their state. */
static int reload_swap(struct app *app, struct reload *r)
{
    int kept;

    if (r->st != NULL) {
        /* the old reader stops and hands its position over */
        if (stream_take_position(r->st, app->st) == STREAM_OK) {
            snapshot_retire_stream(app->snap, app->st);
            stream_destroy(app->st);
            app->st = r->st;
            r->st = NULL;
            if (stream_start(app->st) != STREAM_OK)
                LOG(LOG_ERROR, "run", "the new stream reader cannot start "
                    "a request; restart the service");
        } else {
            /* cannot happen (neither reader has handed over, the new one
             * was not started): keep the running reader and say so in the
             * configuration in force */
            LOG(LOG_ERROR, "run", "reload: the stream reader could not be "
                "replaced; the running one stays");
            r->cfg->stream = app->cfg->stream;
        }
    }
    /* the alerts of detectors whose settings changed resolve, through the
     * outbox's sinks now in force */
    kept = pipeline_adopt(r->pl, app->pl);
    pipeline_destroy(app->pl);
    app->pl = r->pl;
    r->pl = NULL;
    /* a new event path starts out connected: tell it when it is not */
    if (stream_state(app->st) == STREAM_WAITING)
        pipeline_connection(app->pl, 0, wall_now(app));
    switch (r->status) {
    case STATUS_TOKEN:
        status_set_token(app->srv, r->token);
        status_set_probes_public(app->srv, r->cfg->status.probes_public);
        break;
    case STATUS_NEW:
        status_destroy(app->srv);
        app->srv = r->srv;
        r->srv = NULL;
        break;
    case STATUS_OFF:
        status_destroy(app->srv);
        app->srv = NULL;
        LOG(LOG_INFO, "run", "status server stopped");
        break;
    case STATUS_KEEP:
        status_set_probes_public(app->srv, r->cfg->status.probes_public);
        break;
    }
    cfg_free(app->cfg);
    app->cfg = r->cfg;
    r->cfg = NULL;
    oncall_set_retention(app->oc, app->cfg->silence_retention_s);
    oncall_set_inhibit(app->oc, app->cfg->inhibit, app->cfg->n_inhibit);
    checkpointer_configure(app->ck,
                           (size_t)app->cfg->det.checkpoint_max_mb << 20,
                           app->cfg->det.checkpoint_s * 1000,
                           loop_now(app->lp));
    return kept;
}

/* Free what a refused reload built; nothing in force is touched. */
static void reload_drop(struct app *app, struct reload *r)
{
    status_destroy(r->srv);
    /* a reader never started: its stop is no news about the stream */
    app->quiet_stream = 1;
    stream_destroy(r->st);
    app->quiet_stream = 0;
    pipeline_destroy(r->pl);
    cfg_free(r->cfg);
}

/* SIGHUP: the one place where parts change.  Build (reload_build), then
 * swap (reload_swap); a reload that cannot be done completely is refused
 * and the running configuration stays with every part as it was.  Either
 * way the outcome is logged in one line and recorded for /status. */
static int reload(struct app *app)
{
    struct reload r;
    int kept, stream_new, rc = -1;

    memset(&r, 0, sizeof r);
    if (reload_build(app, &r) != 0) {
        LOG(LOG_ERROR, "run", "reload refused: %s; the running "
            "configuration stays", r.why);
        snapshot_reload(app->snap, r.why, app->wall);
        goto out;
    }
    stream_new = r.st != NULL;
    kept = reload_swap(app, &r);
    LOG(LOG_INFO, "run", "configuration reloaded from %s; %d of %u "
        "rules kept their state; the stream reader was %s; %zu sinks",
        app->path, kept,
        (unsigned)det_engine_nrules(pipeline_engine(app->pl)),
        stream_new ? "replaced" : "kept",
        delivery_sink_count(app->dl));
    snapshot_reload(app->snap, NULL, app->wall);
    rc = 0;
out:
    reload_drop(app, &r);
    /* /status shows the outcome at the next iteration */
    app->next_publish = 0;
    return rc;
}

/* ---- the detection checkpoint (app/checkpointer.h) ------------------------- */

static void show_restored(void *ud, const struct alert *a)
{
    struct app *app = ud;

    snapshot_restored(app->snap, a);
}

/* Start-up, with the event path, the outbox and the stream reader built
 * but not started: load the checkpoint into the engine (a new engine when
 * it is refused), number the notifications on from the checkpoint or the
 * journal, guard those the journal holds, show the episodes it holds
 * open, and resume the stream from its position.  Returns 0, or -1 with
 * the reason in err. */
static int start_checkpoint(struct app *app, char *err, size_t errsz)
{
    const struct det_engine_params *p = &app->cfg->det;
    struct det_restore_info info;
    struct journal_mark mark;
    const char *id;
    det_engine *e;
    size_t len;
    int rc = -1, loaded;

    app->ck = checkpointer_create(app->cfg->state_dir,
                                  (size_t)p->checkpoint_max_mb << 20,
                                  p->checkpoint_s * 1000, loop_now(app->lp));
    if (app->ck == NULL) {
        snprintf(err, errsz, "the checkpoint writer cannot be set up");
        goto out;
    }
    loaded = checkpointer_load(app->ck, pipeline_engine_mut(app->pl), &info);
    if (loaded != CKPT_OK && loaded != CKPT_ENOENT) {
        /* it may hold part of the refused state: a new one */
        pipeline_destroy(app->pl);
        if ((app->pl = make_pipeline(app, app->cfg, err, errsz)) == NULL)
            goto out;
    }
    e = pipeline_engine_mut(app->pl);
    delivery_position_mark(app->dl, &mark);
    id = stream_last_event_id(app->st, &len);
    rc = 0;
    if (loaded != CKPT_OK) {
        det_engine_set_seq(e, mark.seq); /* numbers never go back */
        /* the empty state at the position the stream resumes from: a
         * crash before the first periodic checkpoint reads again what
         * this run reads, rather than resuming past it with nothing */
        checkpointer_write_now(app->ck, e, id, len, app->wall);
        goto out;
    }
    checkpointer_resend_guard(app->ck, det_engine_seq(e), mark.seq,
                              mark.made_ms,
                              info.rules_new == 0 && info.rules_dropped == 0);
    det_engine_foreach_open(e, show_restored, app);
    /* read again from the checkpoint's position up to the newest one
     * recorded before the restart (the position file's or the journal's,
     * offered to the reader already) */
    if (len != info.ck.position_len ||
        memcmp(id, info.ck.position, len) != 0)
        checkpointer_catchup_start(app->ck, id, len);
    if (stream_position_rewind(app->st, info.ck.position,
                               info.ck.position_len) != STREAM_OK)
        LOG(LOG_ERROR, "run", "cannot resume the stream from the "
            "checkpoint's position; resuming where it stopped");
out:
    return rc;
}

/* Checkpoint the detection state now, at the stream position in force
 * (between events: every event up to it is in the state). */
static void take_checkpoint(struct app *app, int final)
{
    size_t len = 0;
    const char *pos = app->st != NULL ? stream_last_event_id(app->st, &len)
                                      : "";

    if (final)
        checkpointer_write_now(app->ck, pipeline_engine_mut(app->pl), pos,
                               len, app->wall);
    else
        checkpointer_take(app->ck, pipeline_engine_mut(app->pl), pos, len,
                          app->wall, app->mono);
}

/* The engine's clock moves on with the wall clock, once a second, except
 * while events are read again after a restart (event time only). */
static void engine_tick(struct app *app)
{
    struct pipeline_stats ps;

    if (checkpointer_catching_up(app->ck)) {
        pipeline_stats(app->pl, &ps);
        checkpointer_catchup_tick(app->ck, ps.records);
        return;
    }
    pipeline_tick(app->pl, app->wall);
    report_clock(app);
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
    static const struct option opts[] = {
        CLI_OPT_HELP, CLI_OPT_CONFIG, CLI_OPT_END,
    };
    const char *path = NULL, *name;
    cli_args a;
    int kind;

    *rc = CLI_EXIT_USAGE;
    if (cli_args_init(&a, "run", argc, argv, opts) != 0)
        return NULL;
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind < 0) {
            return NULL;
        } else if (kind == 1 && strcmp(name, "--config") == 0) {
            if ((path = cli_value(&a, name)) == NULL)
                return NULL;
        } else if (kind == 1 && strcmp(name, "--help") == 0) {
            usage(stdout);
            *rc = CLI_EXIT_OK;
            return NULL;
        } else {
            fprintf(stderr, "toolwatch run: unexpected argument %s\n", name);
            usage(stderr);
            return NULL;
        }
    }
    if (path == NULL)
        usage(stderr);
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

/* The status server at start-up, when c turns it on (else *srv NULL).
 * Returns 0, or -1 with the reason in err. */
static int start_status(const struct cfg *c, status_server **srv, char *err,
                        size_t errsz)
{
    const char *token = NULL;

    *srv = NULL;
    if (!c->status.enabled)
        return 0;
    if (cfg_status_token(c, &token, err, errsz) != CFG_OK)
        return -1;
    *srv = make_status(c, token, err, errsz);
    return *srv != NULL ? 0 : -1;
}

int run_service(const char *path, const struct run_hooks *hooks)
{
    struct app app;
    struct notify nt;
    char err[1024] = "";
    int rc = CLI_EXIT_FAIL, wake;
    int64_t drain_until, stop_at = INT64_MAX;

    memset(&app, 0, sizeof app);
    app.path = path;
    if ((app.cfg = load_config(app.path, err, sizeof err)) == NULL ||
        ensure_state_dir(app.cfg->state_dir, err, sizeof err) != 0)
        goto out;
    wake = sig_setup();
    if ((app.lp = loop_create()) == NULL)
        goto out;
    loop_set_wake_fd(app.lp, wake);
    read_clock(&app);
    if ((app.snap = snapshot_create(app.wall)) == NULL ||
        (app.oc = make_oncall(app.cfg, app.wall, err, sizeof err)) == NULL ||
        (app.pl = make_pipeline(&app, app.cfg, err, sizeof err)) == NULL ||
        (app.dl = make_delivery(&app, app.cfg, err, sizeof err)) == NULL ||
        (app.st = make_stream(&app, app.cfg, app.dl, err, sizeof err)) ==
            NULL ||
        start_checkpoint(&app, err, sizeof err) != 0)
        goto out;
    /* not connected yet: whatever backlog the stream sends first is judged
     * in event time (detectors/engine.h "Clock") */
    pipeline_connection(app.pl, 0, app.wall);
    if (stream_start(app.st) != STREAM_OK) {
        snprintf(err, sizeof err, "the stream reader cannot start a request");
        goto out;
    }
    if (start_status(app.cfg, &app.srv, err, sizeof err) != 0)
        goto out;
    LOG(LOG_INFO, "run", "toolwatch %s running: %zu sinks, state in %s",
        TW_VERSION, delivery_sink_count(app.dl), app.cfg->state_dir);
    notify_init(&nt, loop_now(app.lp));
    notify_ready(&nt, "started");
    app.next_engine_tick = loop_now(app.lp) + ENGINE_TICK_MS;
    if (hooks != NULL && hooks->stop_after_ms > 0)
        stop_at = loop_now(app.lp) + hooks->stop_after_ms;
    if (hooks != NULL && hooks->started != NULL)
        hooks->started(hooks->ud, app.srv ? status_port(app.srv) : 0);
    for (;;) {
        int64_t next, now;
        unsigned sigs = 0;

        read_clock(&app);
        delivery_set_clock(app.dl, app.wall);
        now = app.mono;
        if (now >= app.next_engine_tick) {
            engine_tick(&app);
            oncall_tick(app.oc, app.wall, on_release, &app);
            app.next_engine_tick = now + ENGINE_TICK_MS;
        }
        checkpointer_poll(app.ck);
        if (checkpointer_due(app.ck, now))
            take_checkpoint(&app, 0);
        /* API requests the status server queued: answered once done */
        oncall_serve(app.oc, app.srv, app.wall, on_release, &app);
        /* what the sinks delivered and dead-lettered, into the history */
        oncall_note_sinks(app.oc, app.dl, app.wall);
        /* the gate's bookkeeping and the history of this iteration */
        oncall_flush(app.oc);
        /* the notifications made since the last iteration and the stream
         * positions behind them (record_position), in one fsync; the
         * position file follows within a second (stream_tick) */
        delivery_flush(app.dl);
        backpressure(&app);
        next = min64(stream_tick(app.st), delivery_tick(app.dl));
        next = min64(next, app.next_engine_tick);
        if (now >= app.next_publish) {
            publish(&app, app.paused ? app.paused_why : NULL);
            app.next_publish = now + STATUS_PUBLISH_MS;
        }
        next = min64(next, app.next_publish);
        next = min64(next, notify_tick(&nt, (int)stream_state(app.st),
                                       stream_state_name(
                                           stream_state(app.st)),
                                       now));
        next = min64(next, stop_at);
        if (now >= stop_at)
            break;
        if (loop_run_once(app.lp, next) == LOOP_WOKEN)
            sigs = sig_take();
        if (sigs & SIG_TERM)
            break;
        if (sigs & SIG_HUP) {
            notify_reloading(&nt);
            read_clock(&app);
            notify_ready(&nt, reload(&app) == 0 ? "reloaded"
                                                : "reload refused");
            nt.state = -1; /* the stream's state again */
        }
    }
    notify_stopping(&nt, "stopping");
    LOG(LOG_INFO, "run", "stopping: finishing %d deliveries in flight",
        delivery_in_flight(app.dl));
    publish(&app, "shutting down");
    oncall_flush(app.oc);
    stream_stop(app.st);
    take_checkpoint(&app, 1); /* after the last event */
    delivery_flush(app.dl);
    drain_until = loop_now(app.lp) + DRAIN_MS;
    while (delivery_in_flight(app.dl) > 0 &&
           loop_now(app.lp) < drain_until) {
        loop_run_once(app.lp, drain_until);
        delivery_flush(app.dl);
    }
    rc = CLI_EXIT_OK;
out:
    if (rc != CLI_EXIT_OK && err[0] != '\0')
        LOG(LOG_ERROR, "run", "%s", err);
    status_destroy(app.srv);
    stream_destroy(app.st);
    checkpointer_destroy(app.ck);
    delivery_destroy(app.dl);
    pipeline_destroy(app.pl);
    snapshot_destroy(app.snap);
    oncall_destroy(app.oc);
    loop_destroy(app.lp);
    cfg_free(app.cfg);
    return rc;
}
