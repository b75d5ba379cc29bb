/*
 * soak.c - `make soak`: toolwatch under a steady load for a long time
 * (SOAK_SECONDS, default 1800) while its webhook receiver flaps; checks
 * that memory stays flat and that every alert is delivered.
 *
 * What runs:
 *   - `toolwatch simulate` (the release binary), scenario `mixed` with
 *     short phases, so that each of the six anomalies comes round every
 *     SIM_CYCLE_S (76) seconds for the whole run, at SOAK_RATE events/s
 *     (default 500);
 *   - a scripted receiver in this process (tests/support/receiver.h) on
 *     127.0.0.1 that answers 200 for SOAK_UP_S (40) seconds, then fails for
 *     SOAK_DOWN_S (20) seconds, each failure window in the next of five
 *     ways: connection refused (down), 500, 429 with Retry-After, reset,
 *     hang (past the sink's 2 s timeout);
 *   - `toolwatch run` with all six detectors on short windows, a signed
 *     webhook sink to the receiver (secret from an environment variable,
 *     paced, quick retries) and a file sink: the file is the ground truth
 *     of every notification the service made.  Status server on a loopback
 *     port, state directory in a temporary directory.
 *
 * Every 10 s the driver samples toolwatch's VmRSS (/proc/PID/status) and
 * its /status (events decoded, webhook queue depth, delivered); once a
 * minute it prints a line.  At the end the receiver is left up, the
 * simulator is stopped (so that every episode but the stalled stream's
 * resolves and the service falls quiet), and the driver waits, bounded by
 * SOAK_DRAIN_S (600), until the queues are empty and every notification in
 * the file has been acknowledged by the receiver; then SIGTERM, exit 0
 * expected.  Checks:
 *   delivered   every notification in the file was answered 2xx at least
 *               once, under the webhook-id derived from it exactly as
 *               alerts/delivery.c does (episode id, type, timestamp, sink
 *               name), with the file's bytes as its body;
 *   ids         every request carried the webhook-id of a notification in
 *               the file and that notification's exact body: a duplicate
 *               is the same notification under the same webhook-id;
 *   order       first acknowledgements come in the file's order (one
 *               transfer per sink at a time: a firing before its resolve);
 *   signatures  every request's Standard Webhooks signature verifies;
 *   rss         flat after warm-up (max(60 s, 20 % of the run)): the
 *               highest sample after it is at most the warm-up's last
 *               sample + max(1 MiB, 5 %);
 *   detectors   every detector made at least one notification;
 *   clean       nothing dead-lettered, SIGTERM exit status 0.
 * Prints a table and the RSS curve (min / median / max per tenth of the
 * run), writes the samples and verdicts as JSON, exits 1 on any failure;
 * the last line is `soak: PASS ...` or `soak: FAIL ...`.
 *
 *   soak [--toolwatch BIN] [--json FILE]
 *   environment: SOAK_SECONDS SOAK_RATE SOAK_DRAIN_S SOAK_UP_S SOAK_DOWN_S
 *                SOAK_KEEP=1 (keep the temporary directory on success)
 *
 * Invariants:
 *  - no blind sleeps: the loop waits on toolwatch's pidfd and pipes
 *    (proc_wait_exit) in steps of at most TICK_MS, so a crash is seen at
 *    once; every wait has a deadline;
 *  - children are ended on every path (SIGTERM, then proc_destroy's
 *    SIGKILL); on failure the temporary directory (config, state, alert
 *    file, both children's logs) is kept and named;
 *  - the receiver records at most RCV_MAX_REQUESTS requests; a run that
 *    goes past it fails rather than checking part of the traffic.
 */
#define _GNU_SOURCE /* mkdtemp, nftw */

#include "alerts/sign.h"
#include "consumer/decode.h"
#include "base/clock.h"
#include "tests/support/httpget.h"
#include "tests/support/proc.h"
#include "tests/support/receiver.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECRET_ENV "TW_SOAK_WEBHOOK_SECRET"
#define HOOK_SINK "soak-receiver"
#define FILE_SINK "ground-truth"
#define TICK_MS 200           /* longest wait between looks at the world */
#define SAMPLE_MS 10000       /* RSS and /status */
#define LINE_EVERY 6          /* samples per printed line (a minute) */
#define START_WAIT_MS 15000   /* a child has started */
#define EXIT_WAIT_MS 15000    /* SIGTERM to exit (the drain is 5 s) */
#define CHECK_EVERY_MS 1000   /* drain: full comparison at most this often */
#define RETRY_AFTER_S 3       /* the 429 mode's Retry-After */
#define WARMUP_MIN_S 60
#define WARMUP_SHARE 0.2
#define FLAT_SLACK_KB 1024
#define FLAT_SLACK_SHARE 0.05
#define SLICES 10
#define SIM_PHASE_S 8         /* simulate --phase-s: one anomaly */
#define SIM_QUIET_S 4         /* simulate --quiet-s: normal traffic between */
/* the mixed scenario: quiet, then six times anomaly + quiet */
#define SIM_CYCLE_S (SIM_QUIET_S + 6 * (SIM_PHASE_S + SIM_QUIET_S))
#define EPISODE_MAX 40      /* an episode id (32 hex) with room */

/* What the receiver does; a failure window uses FLAP_DOWN + k % 5. */
enum flap { FLAP_UP = 0, FLAP_DOWN, FLAP_500, FLAP_429, FLAP_RESET,
            FLAP_HANG, FLAP_COUNT };

static const char *const flap_names[FLAP_COUNT] = {
    "up", "down", "500", "429", "reset", "hang"};

struct opts {
    const char *toolwatch;
    const char *json;
    uint64_t seconds, rate, drain_s, up_s, down_s;
    bool keep;
};

struct sample {
    double t_s;            /* since toolwatch started */
    int drain;             /* taken after the soak, while draining */
    long rss_kb;
    uint64_t events;       /* /status events.decoded */
    uint64_t made;         /* lines in the file sink */
    uint64_t delivered;    /* /status webhook sink delivered */
    uint64_t pending;      /* /status webhook sink queue_depth */
    size_t requests;       /* requests the receiver completed */
    enum flap mode;
};

/* What the driver reads from /status. */
struct twstat {
    bool ok;
    uint64_t events;
    uint64_t hook_queue, hook_in_flight, hook_delivered, hook_retries,
        hook_dead;
    uint64_t file_queue, file_delivered, file_dead;
    uint64_t firing_total;
    bool only_stalled;     /* every open alert is stream_stalled's */
};

/* The default rules, whose alerts the soak counts. */
static const char *const rule_names[] = {
    "volume", "payload_size", "latency", "error_rate", "credential_access",
    "stream_stalled"};
#define NRULES (sizeof rule_names / sizeof rule_names[0])

static int rule_index(const char *name)
{
    for (size_t i = 0; i < NRULES; i++)
        if (strcmp(rule_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* One notification of the file sink. */
struct note {
    const char *line;      /* into the file's buffer, not NUL-terminated */
    size_t len;
    char wid[SIGN_MSG_ID_SIZE];
    char episode[EPISODE_MAX];
    int det;               /* index in rule_names, -1 unknown */
    int kind;              /* 0 firing, 1 repeat, 2 resolved */
    size_t n_ok;           /* 2xx answers for its webhook-id */
    size_t n_req;          /* requests with its webhook-id */
    size_t first_ok;       /* receiver index of the first 2xx */
};

/* The comparison of the file sink with the receiver's record. */
struct match {
    size_t notes;          /* lines in the file */
    size_t bad_lines;      /* not an alert document */
    size_t same_id;        /* two lines with one derived webhook-id */
    size_t delivered;      /* notes answered 2xx at least once */
    size_t missing;        /* notes never answered 2xx */
    size_t duplicates;     /* 2xx beyond the first, per note */
    size_t requests;       /* requests recorded */
    size_t unknown_id;     /* requests whose webhook-id names no note */
    size_t body_diff;      /* requests whose body is not their note's */
    size_t out_of_order;   /* first 2xx earlier than the previous note's */
    size_t sig_bad;        /* signatures that do not verify */
    size_t by_status[5];   /* 2xx, 429, 5xx, none (reset/hang), other */
    size_t per_det[NRULES][3];
    size_t episodes;
    char first_missing[160];
};

struct soak {
    struct opts o;
    char dir[64];
    char cfg[128], alerts[128], state[128];
    char url[256];
    char secret[96];
    char secret_env[160];
    struct rcv *rcv;
    sign_keys *keys;
    struct proc *sim, *tw;
    unsigned status_port;
    enum flap mode;
    uint64_t mode_ms[FLAP_COUNT];
    unsigned failure_windows;
    struct sample *samples;
    size_t n_samples, cap_samples;
    int64_t t0;            /* monotonic, toolwatch started */
    double soak_s, drain_s;
    long hwm_kb;
    double cpu_s;
    int exit_status;       /* waitpid status of toolwatch, -1 unknown */
    struct twstat last;
    struct hget_body *body; /* /status answers */
    off_t made_at;         /* bytes of the file sink counted so far */
    uint64_t made;         /* lines among them */
    char *file_buf;
    size_t file_len;
    struct note *notes;
    size_t n_notes;
};

/* Set by SIGINT/SIGTERM: the one piece of state a handler can reach. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

/* ---- options ------------------------------------------------------------ */

/* An unsigned environment variable in [lo, hi], or def when unset. */
static int env_u64(const char *name, uint64_t def, uint64_t lo, uint64_t hi,
                   uint64_t *out)
{
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long long x;
    int rc = 0;

    *out = def;
    if (v == NULL || *v == '\0')
        goto out;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || x < lo ||
        x > hi) {
        fprintf(stderr, "soak: %s: expected a whole number from %" PRIu64
                " to %" PRIu64 ", got \"%s\"\n", name, lo, hi, v);
        rc = -1;
        goto out;
    }
    *out = (uint64_t)x;
out:
    return rc;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    const char *keep = getenv("SOAK_KEEP");
    int rc = -1;

    memset(o, 0, sizeof *o);
    o->toolwatch = "build/toolwatch";
    o->json = "bench/results/soak.json";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--toolwatch") == 0 && i + 1 < argc) {
            o->toolwatch = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            o->json = argv[++i];
        } else {
            fprintf(stderr, "usage: soak [--toolwatch BIN] [--json FILE]\n"
                    "environment: SOAK_SECONDS (1800) SOAK_RATE (500) "
                    "SOAK_DRAIN_S (600)\n  SOAK_UP_S (40) SOAK_DOWN_S (20) "
                    "SOAK_KEEP=1\n");
            goto out;
        }
    }
    if (env_u64("SOAK_SECONDS", 1800, 30, 86400, &o->seconds) ||
        env_u64("SOAK_RATE", 500, 100, 5000, &o->rate) ||
        env_u64("SOAK_DRAIN_S", 600, 10, 3600, &o->drain_s) ||
        env_u64("SOAK_UP_S", 40, 5, 3600, &o->up_s) ||
        env_u64("SOAK_DOWN_S", 20, 1, 3600, &o->down_s))
        goto out;
    o->keep = keep != NULL && strcmp(keep, "1") == 0;
    rc = 0;
out:
    return rc;
}

/* ---- the world ---------------------------------------------------------- */

static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t flen = strlen(field);
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        goto out;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            kb = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
out:
    return kb;
}

/* User + system CPU seconds of pid, -1 if unknown. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long ut = 0, st = 0;
    const char *p;
    double cpu = -1;
    size_t n;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        goto out;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the command name: state is field 3, utime 14, stime 15 */
    if ((p = strrchr(buf, ')')) != NULL &&
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
               "%llu", &ut, &st) == 2)
        cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
out:
    return cpu;
}

static uint64_t j_u64(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble
                                                   : 0;
}

static const char *j_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* GET /status into *st (st->ok false when it could not be read). */
static void read_status(const struct soak *s, struct twstat *st)
{
    const cJSON *sinks, *firing, *x;
    cJSON *root = NULL;

    memset(st, 0, sizeof *st);
    if (hget(s->status_port, "/status", s->body) != 200 ||
        (root = cJSON_ParseWithLength(s->body->data, s->body->len)) == NULL)
        goto out;
    st->events = j_u64(cJSON_GetObjectItemCaseSensitive(root, "events"),
                       "decoded");
    sinks = cJSON_GetObjectItemCaseSensitive(root, "sinks");
    cJSON_ArrayForEach(x, sinks) {
        const char *name = j_str(x, "name");
        if (name != NULL && strcmp(name, HOOK_SINK) == 0) {
            st->hook_queue = j_u64(x, "queue_depth");
            st->hook_in_flight = j_u64(x, "in_flight");
            st->hook_delivered = j_u64(x, "delivered");
            st->hook_retries = j_u64(x, "retries");
            st->hook_dead = j_u64(x, "dead_lettered");
        } else if (name != NULL && strcmp(name, FILE_SINK) == 0) {
            st->file_queue = j_u64(x, "queue_depth");
            st->file_delivered = j_u64(x, "delivered");
            st->file_dead = j_u64(x, "dead_lettered");
        }
    }
    st->firing_total = j_u64(root, "firing_total");
    st->only_stalled = true;
    firing = cJSON_GetObjectItemCaseSensitive(root, "firing");
    cJSON_ArrayForEach(x, firing) {
        const char *det = j_str(x, "rule");
        if (det == NULL || strcmp(det, "stream_stalled") != 0)
            st->only_stalled = false;
    }
    if (st->firing_total > (uint64_t)cJSON_GetArraySize(firing))
        st->only_stalled = false;
    st->ok = true;
out:
    cJSON_Delete(root);
}

/* Lines in the file sink so far (it only grows). */
static uint64_t count_made(struct soak *s)
{
    char buf[65536];
    FILE *f = fopen(s->alerts, "r");
    size_t n;

    if (f == NULL)
        goto out;
    if (fseeko(f, s->made_at, SEEK_SET) == 0) {
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
            for (size_t i = 0; i < n; i++)
                s->made += buf[i] == '\n';
            s->made_at += (off_t)n;
        }
    }
    fclose(f);
out:
    return s->made;
}

/* Switch the receiver to mode m. */
static int set_mode(struct soak *s, enum flap m)
{
    struct rcv_action a;
    char retry_after[32];
    int rc;

    memset(&a, 0, sizeof a);
    a.kind = RCV_ANSWER;
    a.status = 200;
    switch (m) {
    case FLAP_500:
        a.status = 500;
        break;
    case FLAP_429:
        a.status = 429;
        snprintf(retry_after, sizeof retry_after, "Retry-After: %d",
                 RETRY_AFTER_S);
        a.headers[0] = retry_after;
        break;
    case FLAP_RESET:
        a.kind = RCV_DROP;
        break;
    case FLAP_HANG:
        a.kind = RCV_HANG;
        break;
    default:
        break;
    }
    rc = rcv_set_default(s->rcv, &a);
    if (rc == RCV_OK)
        rc = rcv_set_down(s->rcv, m == FLAP_DOWN);
    if (rc != RCV_OK)
        fprintf(stderr, "soak: receiver: cannot switch to %s: %s\n",
                flap_names[m], rcv_strerror(rc));
    else
        s->mode = m;
    return rc;
}

/* The mode the flapping schedule asks for `el_ms` into the run. */
static enum flap mode_at(const struct soak *s, int64_t el_ms)
{
    int64_t period = (int64_t)(s->o.up_s + s->o.down_s) * 1000;
    int64_t k = el_ms / period;

    return el_ms % period < (int64_t)s->o.up_s * 1000
               ? FLAP_UP
               : (enum flap)(FLAP_DOWN + k % (FLAP_COUNT - FLAP_DOWN));
}

/* ---- starting ----------------------------------------------------------- */

static int make_secret(struct soak *s)
{
    unsigned char key[32];
    char b64[64];
    int rc = -1;

    if (sodium_init() < 0)
        goto out;
    randombytes_buf(key, sizeof key);
    sodium_bin2base64(b64, sizeof b64, key, sizeof key,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(s->secret, sizeof s->secret, "whsec_%s", b64);
    snprintf(s->secret_env, sizeof s->secret_env, "%s=%s", SECRET_ENV,
             s->secret);
    rc = 0;
out:
    sodium_memzero(key, sizeof key);
    sodium_memzero(b64, sizeof b64);
    return rc;
}

/* The configuration: thresholds scaled to the rate so that the normal
 * traffic fires nothing and every anomaly phase fires its detector (see
 * sim/gen.c: a tool gets ~1/96 of the events, the volume spike half of
 * all calls, the credential spike 16 % of them on one agent). */
static int write_config(const struct soak *s)
{
    char hook[128];
    FILE *f = fopen(s->cfg, "w");
    int rc = -1;

    if (f == NULL || rcv_url(s->rcv, "/hooks/soak", hook, sizeof hook) != 0)
        goto out;
    if (fprintf(
            f,
            "{\"instance\": \"soak\",\n"
            " \"state_dir\": \"%s\",\n"
            " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 10,\n"
            "            \"retry_base_ms\": 200, \"retry_max_ms\": 2000},\n"
            " \"status\": {\"listen\": \"127.0.0.1\", \"port\": 0},\n"
            " \"sinks\": [\n"
            "   {\"name\": \"" FILE_SINK "\", \"type\": \"file\",\n"
            "    \"path\": \"%s\"},\n"
            "   {\"name\": \"" HOOK_SINK "\", \"type\": \"webhook\",\n"
            "    \"url\": \"%s\",\n"
            "    \"secret_envs\": [\"" SECRET_ENV "\"],\n"
            "    \"rate_per_s\": 20, \"burst\": 20,\n"
            "    \"connect_timeout_s\": 2, \"timeout_s\": 2,\n"
            "    \"retry_base_ms\": 250, \"retry_max_ms\": 4000}],\n"
            " \"detectors\": {\n"
            "   \"allowed_lateness_s\": 1,\n"
            "   \"repeat_interval_s\": 5, \"hold_s\": 2,\n"
            "   \"volume\": {\"window_s\": 10, \"threshold\": %" PRIu64 "},\n"
            "   \"error_rate\": {\"window_s\": 10},\n"
            "   \"latency\": {\"window_s\": 5},\n"
            "   \"payload_size\": {\"window_s\": 5,\n"
            "                    \"group_by\": \"agent\"},\n"
            "   \"credential_access\": {\"window_s\": 10,\n"
            "                         \"threshold\": %" PRIu64 "},\n"
            "   \"stream_stalled\": {\"threshold\": 3}}}\n",
            s->state, s->url, s->alerts, hook, s->o.rate * 6 / 10,
            s->o.rate / 10) < 0)
        goto out;
    rc = 0;
out:
    if (f != NULL && fclose(f) != 0)
        rc = -1;
    return rc;
}

static int start_sim(struct soak *s)
{
    char rate[32], phase[16], quiet[16], line[256];
    const char *argv[] = {s->o.toolwatch, "simulate", "--port", "0",
                          "--rate", rate, "--scenario", "mixed",
                          "--phase-s", phase, "--quiet-s", quiet,
                          "--heartbeat-ms", "1000", "--seed", "7", NULL};
    int n, rc = -1;

    snprintf(rate, sizeof rate, "%" PRIu64, s->o.rate);
    snprintf(phase, sizeof phase, "%d", SIM_PHASE_S);
    snprintf(quiet, sizeof quiet, "%d", SIM_QUIET_S);
    if ((s->sim = proc_spawn(argv, NULL)) == NULL)
        goto out;
    n = proc_read_line(s->sim, line, sizeof line, START_WAIT_MS);
    if (n <= 0 || strncmp(line, "http://", 7) != 0) {
        fprintf(stderr, "soak: the simulator printed no URL\n");
        goto out;
    }
    snprintf(s->url, sizeof s->url, "%s", line);
    rc = 0;
out:
    return rc;
}

static int start_run(struct soak *s)
{
    static const char tag[] = "status on http://127.0.0.1:";
    const char *argv[] = {s->o.toolwatch, "run", "-c", s->cfg, NULL};
    const char *env[] = {s->secret_env, NULL};
    const char *err, *at;
    size_t len;
    unsigned long port;
    int rc = -1;

    if ((s->tw = proc_spawn(argv, env)) == NULL)
        goto out;
    s->t0 = clock_mono_ms();
    if (!proc_wait_stderr(s->tw, " running: ", START_WAIT_MS)) {
        fprintf(stderr, "soak: toolwatch run did not start\n");
        goto out;
    }
    err = proc_stderr_all(s->tw, &len);
    if ((at = strstr(err, tag)) == NULL)
        goto out;
    port = strtoul(at + sizeof tag - 1, NULL, 10);
    if (port == 0 || port > 65535)
        goto out;
    s->status_port = (unsigned)port;
    rc = 0;
out:
    return rc;
}

/* ---- sampling ----------------------------------------------------------- */

static int take_sample(struct soak *s, int drain)
{
    struct sample *x;
    int rc = -1;

    if (s->n_samples == s->cap_samples) {
        size_t cap = s->cap_samples ? s->cap_samples * 2 : 256;
        struct sample *p = realloc(s->samples, cap * sizeof *p);
        if (p == NULL)
            goto out;
        s->samples = p;
        s->cap_samples = cap;
    }
    x = &s->samples[s->n_samples++];
    memset(x, 0, sizeof *x);
    x->t_s = (double)(clock_mono_ms() - s->t0) / 1000.0;
    x->drain = drain;
    x->rss_kb = proc_kb(proc_pid(s->tw), "VmRSS");
    read_status(s, &s->last);
    x->events = s->last.events;
    x->delivered = s->last.hook_delivered;
    x->pending = s->last.hook_queue;
    x->made = count_made(s);
    x->requests = rcv_count(s->rcv);
    x->mode = s->mode;
    rc = 0;
out:
    return rc;
}

static void print_sample(const struct sample *x)
{
    long t = (long)(x->t_s + 0.5);

    say("[%02ld:%02ld] rss %6ld kB  events %9" PRIu64 "  made %6" PRIu64
        "  delivered %6" PRIu64 "  pending %4" PRIu64 "  requests %6zu  "
        "receiver %s%s\n",
        t / 60, t % 60, x->rss_kb, x->events, x->made, x->delivered,
        x->pending, x->requests, flap_names[x->mode],
        x->drain ? "  (draining)" : "");
}

/* ---- the comparison ----------------------------------------------------- */

/* Read the whole file sink into s->file_buf. */
static int load_file(struct soak *s)
{
    FILE *f = fopen(s->alerts, "r");
    struct stat stt;
    int rc = -1;

    free(s->file_buf);
    s->file_buf = NULL;
    s->file_len = 0;
    if (f == NULL) {
        rc = errno == ENOENT ? 0 : -1; /* no alert made yet */
        goto out;
    }
    if (fstat(fileno(f), &stt) != 0 ||
        (s->file_buf = malloc((size_t)stt.st_size + 1)) == NULL)
        goto out;
    s->file_len = fread(s->file_buf, 1, (size_t)stt.st_size, f);
    s->file_buf[s->file_len] = '\0';
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    return rc;
}

/* The webhook-id alerts/delivery.c gives this notification for our
 * webhook sink: BLAKE2b of "<id>|<firing|resolved>|<timestamp ms>|<sink>". */
static int derive_id(const char *id, bool resolved, int64_t ts_ms,
                     char out[SIGN_MSG_ID_SIZE])
{
    char seed[256];
    int n = snprintf(seed, sizeof seed, "%s|%s|%lld|%s", id,
                     resolved ? "resolved" : "firing", (long long)ts_ms,
                     HOOK_SINK);

    return n >= 0 && (size_t)n < sizeof seed &&
                   sign_new_msg_id(out, seed, (size_t)n) == SIGN_OK
               ? 0
               : -1;
}

static int cmp_note_wid(const void *a, const void *b)
{
    const struct note *const *x = a, *const *y = b;

    return strcmp((*x)->wid, (*y)->wid);
}

static int cmp_note_episode(const void *a, const void *b)
{
    const struct note *const *x = a, *const *y = b;
    int c = strcmp((*x)->episode, (*y)->episode);

    /* file order within an episode */
    if (c == 0)
        c = (*x)->line < (*y)->line ? -1 : (*x)->line > (*y)->line;
    return c;
}

/* Parse the loaded file into s->notes (one per line). */
static int parse_notes(struct soak *s, struct match *m)
{
    size_t cap = 0, n = 0;
    char *p = s->file_buf, *end = s->file_buf + s->file_len;
    int rc = -1;

    free(s->notes);
    s->notes = NULL;
    for (char *q = p; q < end; q++)
        cap += *q == '\n';
    if (cap > 0 && (s->notes = calloc(cap, sizeof *s->notes)) == NULL)
        goto out;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        struct note *x;
        cJSON *doc;
        const cJSON *data;
        const char *type, *id, *ts;
        int64_t ts_ms;

        if (nl == NULL)
            break; /* a line being written: not made yet */
        x = &s->notes[n];
        x->line = p;
        x->len = (size_t)(nl - p);
        x->det = -1;
        doc = cJSON_ParseWithLength(p, x->len);
        data = cJSON_GetObjectItemCaseSensitive(doc, "data");
        type = j_str(doc, "type");
        ts = j_str(doc, "timestamp");
        id = j_str(data, "id");
        if (type == NULL || ts == NULL || id == NULL ||
            clock_parse_iso8601(ts, strlen(ts), &ts_ms) != 0 ||
            derive_id(id, strcmp(type, "alert.resolved") == 0, ts_ms,
                      x->wid) != 0) {
            m->bad_lines++;
        } else {
            const char *det = j_str(data, "rule");

            snprintf(x->episode, sizeof x->episode, "%s", id);
            x->det = det != NULL ? rule_index(det) : -1;
            x->kind = strcmp(type, "alert.resolved") == 0 ? 2 : 0;
        }
        cJSON_Delete(doc);
        n++;
        p = nl + 1;
    }
    s->n_notes = n;
    m->notes = n;
    rc = 0;
out:
    return rc;
}

/* Firing / repeat / resolved per detector, and the number of episodes. */
static int classify(struct soak *s, struct match *m)
{
    struct note **v = NULL;
    int rc = -1;

    if (s->n_notes == 0) {
        rc = 0;
        goto out;
    }
    if ((v = malloc(s->n_notes * sizeof *v)) == NULL)
        goto out;
    for (size_t i = 0; i < s->n_notes; i++)
        v[i] = &s->notes[i];
    qsort(v, s->n_notes, sizeof *v, cmp_note_episode);
    for (size_t i = 0; i < s->n_notes; i++) {
        bool first = i == 0 || strcmp(v[i]->episode, v[i - 1]->episode) != 0;
        if (first)
            m->episodes++;
        if (v[i]->kind == 0 && !first)
            v[i]->kind = 1;
        if (v[i]->det >= 0)
            m->per_det[v[i]->det][v[i]->kind]++;
    }
    rc = 0;
out:
    free(v);
    return rc;
}

static struct note *find_note(struct note **byid, size_t n, const char *wid)
{
    struct note *found = NULL;
    size_t lo = 0, hi = n;

    while (lo < hi && found == NULL) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(byid[mid]->wid, wid);
        if (c == 0)
            found = byid[mid];
        else if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return found;
}

static void count_status(struct match *m, int status)
{
    if (status >= 200 && status < 300)
        m->by_status[0]++;
    else if (status == 429)
        m->by_status[1]++;
    else if (status >= 500)
        m->by_status[2]++;
    else if (status == 0)
        m->by_status[3]++;
    else
        m->by_status[4]++;
}

/* Compare the file sink with everything the receiver recorded.  With
 * `verify`, check every signature too (at the request's arrival time). */
static int compare(struct soak *s, struct match *m, bool verify)
{
    struct note **byid = NULL;
    int64_t wall_minus_mono = clock_wall_ms() - clock_mono_ms();
    size_t prev_ok = 0;
    bool have_prev = false;
    int rc = -1;

    memset(m, 0, sizeof *m);
    if (load_file(s) != 0 || parse_notes(s, m) != 0 || classify(s, m) != 0)
        goto out;
    if (s->n_notes > 0 &&
        (byid = malloc(s->n_notes * sizeof *byid)) == NULL)
        goto out;
    for (size_t i = 0; i < s->n_notes; i++)
        byid[i] = &s->notes[i];
    qsort(byid, s->n_notes, sizeof *byid, cmp_note_wid);
    for (size_t i = 1; i < s->n_notes; i++)
        if (byid[i]->wid[0] != '\0' &&
            strcmp(byid[i]->wid, byid[i - 1]->wid) == 0)
            m->same_id++;
    for (size_t i = 0;; i++) {
        struct rcv_request q;
        const char *wid, *tss, *sig;
        struct note *x;
        int64_t ts;

        if (!rcv_get(s->rcv, i, &q))
            break;
        m->requests++;
        count_status(m, q.status);
        wid = rcv_header(&q, "webhook-id");
        x = wid != NULL ? find_note(byid, s->n_notes, wid) : NULL;
        if (x == NULL) {
            m->unknown_id++;
        } else {
            x->n_req++;
            if (q.body_lost || q.body_len != x->len ||
                (x->len > 0 && memcmp(q.body, x->line, x->len) != 0))
                m->body_diff++;
            else if (q.status >= 200 && q.status < 300 && x->n_ok++ == 0)
                x->first_ok = i;
        }
        if (!verify)
            continue;
        tss = rcv_header(&q, "webhook-timestamp");
        sig = rcv_header(&q, "webhook-signature");
        if (wid == NULL || tss == NULL || sig == NULL || q.body_lost ||
            sign_parse_timestamp(tss, &ts) != SIGN_OK ||
            sign_verify(s->keys, wid, ts, q.body ? (const void *)q.body : "",
                        q.body_len, sig,
                        (q.arrival_ms + wall_minus_mono) / 1000,
                        300) != SIGN_OK)
            m->sig_bad++;
    }
    for (size_t i = 0; i < s->n_notes; i++) {
        struct note *x = &s->notes[i];
        if (x->n_ok == 0) {
            m->missing++;
            if (m->first_missing[0] == '\0')
                snprintf(m->first_missing, sizeof m->first_missing,
                         "line %zu: %s %s (webhook-id %s)", i + 1,
                         x->det >= 0 ? rule_names[x->det] : "?",
                         x->kind == 2 ? "resolved" : "firing", x->wid);
            continue;
        }
        m->delivered++;
        m->duplicates += x->n_ok - 1;
        if (have_prev && x->first_ok < prev_ok)
            m->out_of_order++;
        prev_ok = x->first_ok;
        have_prev = true;
    }
    rc = 0;
out:
    free(byid);
    return rc;
}

/* ---- report ------------------------------------------------------------- */

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

struct slice {
    size_t n;
    long min, med, max;
};

/* RSS of the soak's samples in [lo_s, hi_s). */
static void slice_of(const struct soak *s, double lo_s, double hi_s,
                     int drain, struct slice *out)
{
    long *v = malloc((s->n_samples ? s->n_samples : 1) * sizeof *v);
    size_t n = 0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; v != NULL && i < s->n_samples; i++) {
        const struct sample *x = &s->samples[i];
        if (x->rss_kb < 0 || x->drain != drain)
            continue;
        if (!drain && (x->t_s < lo_s || x->t_s >= hi_s))
            continue;
        v[n++] = x->rss_kb;
    }
    if (n > 0) {
        qsort(v, n, sizeof v[0], cmp_long);
        out->n = n;
        out->min = v[0];
        out->med = v[n / 2];
        out->max = v[n - 1];
    }
    free(v);
}

struct verdict {
    double warmup_s;
    long base_kb;          /* last sample at or before the warm-up's end */
    long max_after_kb;     /* highest sample after it (drain included) */
    long allowed_kb;
    long growth_kb;
    bool rss_ok, delivered_ok, ids_ok, order_ok, sig_ok, det_ok, clean_ok;
    bool drained, exit_ok, records_ok;
    bool pass;
};

static void judge(const struct soak *s, const struct match *m,
                  struct verdict *v)
{
    double warm = s->soak_s * WARMUP_SHARE;
    long slack;

    v->warmup_s = warm > WARMUP_MIN_S ? warm : WARMUP_MIN_S;
    v->base_kb = -1;
    v->max_after_kb = -1;
    for (size_t i = 0; i < s->n_samples; i++) {
        const struct sample *x = &s->samples[i];
        if (x->rss_kb < 0)
            continue;
        /* half a sampling interval of slack: the sample due at the
         * warm-up's end is taken a few ms after it */
        if (!x->drain && x->t_s < v->warmup_s + SAMPLE_MS / 2000.0)
            v->base_kb = x->rss_kb;
        else if (x->rss_kb > v->max_after_kb)
            v->max_after_kb = x->rss_kb;
    }
    slack = (long)((double)v->base_kb * FLAT_SLACK_SHARE);
    if (slack < FLAT_SLACK_KB)
        slack = FLAT_SLACK_KB;
    v->allowed_kb = v->base_kb + slack;
    v->growth_kb = v->max_after_kb - v->base_kb;
    v->rss_ok = v->base_kb > 0 && v->max_after_kb > 0 &&
                v->max_after_kb <= v->allowed_kb;
    v->delivered_ok = m->notes > 0 && m->missing == 0 && m->bad_lines == 0 &&
                      m->same_id == 0;
    v->ids_ok = m->unknown_id == 0 && m->body_diff == 0;
    v->order_ok = m->out_of_order == 0;
    v->sig_ok = m->sig_bad == 0 && m->requests > 0;
    v->det_ok = true;
    for (size_t i = 0; i < NRULES; i++)
        v->det_ok &= m->per_det[i][0] > 0;
    v->clean_ok = s->last.ok && s->last.hook_dead == 0 &&
                  s->last.file_dead == 0;
    v->exit_ok = s->exit_status >= 0 && WIFEXITED(s->exit_status) &&
                 WEXITSTATUS(s->exit_status) == 0;
    v->records_ok = rcv_count(s->rcv) == m->requests;
    v->pass = v->rss_ok && v->delivered_ok && v->ids_ok && v->order_ok &&
              v->sig_ok && v->det_ok && v->clean_ok && v->drained &&
              v->exit_ok && v->records_ok;
}

static const char *yes(bool ok)
{
    return ok ? "ok" : "FAIL";
}

/* The names of the checks that failed, for the last line, into out. */
static void failed_checks(const struct soak *s, const struct verdict *v,
                          char *out, size_t cap)
{
    static const char *const names[] = {
        " undelivered", " ids", " order", " signatures", " rss",
        " detectors", " dead-letters", " drain", " exit", " receiver-full"};
    bool bad[sizeof names / sizeof names[0]] = {
        !v->delivered_ok, !v->ids_ok, !v->order_ok, !v->sig_ok, !v->rss_ok,
        !v->det_ok, !v->clean_ok, !v->drained, !v->exit_ok,
        !v->records_ok};
    size_t len = 0;

    out[0] = '\0';
    if (s->n_samples == 0)
        snprintf(out, cap, " did not run");
    for (size_t i = 0; s->n_samples > 0 && i < sizeof names / sizeof names[0];
         i++) {
        size_t n = strlen(names[i]);
        if (bad[i] && len + n < cap) {
            memcpy(out + len, names[i], n + 1);
            len += n;
        }
    }
}

static void print_report(const struct soak *s, const struct match *m,
                         const struct verdict *v)
{
    say("\nsoak summary (%.0f s at %" PRIu64 " events/s, then %.0f s of "
        "drain)\n", s->soak_s, s->o.rate, s->drain_s);
    say("  %-44s %s\n", "check", "result");
    say("  %-44s %zu made, %zu delivered, %zu missing  %s\n",
        "every notification delivered (2xx)", m->notes, m->delivered,
        m->missing, yes(v->delivered_ok));
    if (m->missing > 0)
        say("    first missing: %s\n", m->first_missing);
    say("  %-44s %zu unknown ids, %zu bodies differ, %zu duplicate 2xx  "
        "%s\n", "duplicates only under their webhook-id", m->unknown_id,
        m->body_diff, m->duplicates, yes(v->ids_ok));
    say("  %-44s %zu out of order  %s\n", "acknowledged in the order made",
        m->out_of_order, yes(v->order_ok));
    say("  %-44s %zu requests, %zu bad  %s\n", "signatures verify",
        m->requests, m->sig_bad, yes(v->sig_ok));
    say("  %-44s %ld kB at %.0f s, max after %ld kB, growth %+ld kB "
        "(allowed %+ld)  %s\n", "RSS flat after warm-up", v->base_kb,
        v->warmup_s, v->max_after_kb, v->growth_kb,
        v->allowed_kb - v->base_kb, yes(v->rss_ok));
    say("  %-44s %s\n", "every detector made notifications",
        yes(v->det_ok));
    say("  %-44s dead-lettered %" PRIu64 "  %s\n", "nothing dead-lettered",
        s->last.hook_dead + s->last.file_dead, yes(v->clean_ok));
    say("  %-44s %s\n", "backlog drained within SOAK_DRAIN_S",
        yes(v->drained));
    say("  %-44s %s\n", "SIGTERM: exit status 0", yes(v->exit_ok));
    say("  %-44s %zu of %zu  %s\n", "receiver recorded every request",
        m->requests, rcv_count(s->rcv), yes(v->records_ok));

    say("\n  %-18s %8s %8s %8s %8s\n", "detector", "firing", "repeats",
        "resolved", "total");
    for (size_t i = 0; i < NRULES; i++)
        say("  %-18s %8zu %8zu %8zu %8zu\n", rule_names[i],
            m->per_det[i][0], m->per_det[i][1], m->per_det[i][2],
            m->per_det[i][0] + m->per_det[i][1] + m->per_det[i][2]);
    say("  %zu episodes; receiver answers: %zu 2xx, %zu 429, %zu 5xx, %zu "
        "reset/hang, %zu other; sink retries %" PRIu64 "\n", m->episodes,
        m->by_status[0], m->by_status[1], m->by_status[2], m->by_status[3],
        m->by_status[4], s->last.hook_retries);
    say("  receiver time: ");
    for (int i = 0; i < FLAP_COUNT; i++)
        say("%s%s %.0f s", i ? ", " : "", flap_names[i],
            (double)s->mode_ms[i] / 1000.0);
    say(" (%u failure windows)\n", s->failure_windows);
    say("  events decoded %" PRIu64 "; toolwatch CPU %.1f s; VmHWM %ld kB\n",
        s->last.events, s->cpu_s, s->hwm_kb);

    say("\n  RSS curve (kB): %-14s %8s %8s %8s %8s\n", "slice of the run",
        "samples", "min", "median", "max");
    for (int k = 0; k < SLICES; k++) {
        struct slice sl;
        char name[32];
        /* tenths of the scheduled length: samples are due on whole
         * multiples of SAMPLE_MS and taken a few ms after */
        double len = (double)s->o.seconds;
        double lo = len * k / SLICES, hi = len * (k + 1) / SLICES;
        slice_of(s, lo, k == SLICES - 1 ? hi + 1 : hi, 0, &sl);
        snprintf(name, sizeof name, "%4.0f-%4.0f s", lo, hi);
        if (sl.n == 0)
            say("                  %-14s %8zu %8s %8s %8s\n", name, sl.n, "-",
                "-", "-");
        else
            say("                  %-14s %8zu %8ld %8ld %8ld\n", name, sl.n,
                sl.min, sl.med, sl.max);
    }
    {
        struct slice sl;
        slice_of(s, 0, 0, 1, &sl);
        if (sl.n > 0)
            say("                  %-14s %8zu %8ld %8ld %8ld\n", "drain", sl.n,
                sl.min, sl.med, sl.max);
    }
}

static void add_num(cJSON *o, const char *name, double v)
{
    cJSON_AddItemToObject(o, name, cJSON_CreateNumber(v));
}

static int write_json(const struct soak *s, const struct match *m,
                      const struct verdict *v)
{
    cJSON *root = cJSON_CreateObject(), *cfg, *arr, *ver, *det, *x;
    char *text = NULL, when[32];
    FILE *f = NULL;
    int rc = -1;

    if (root == NULL)
        goto out;
    if (clock_format_iso8601(clock_wall_ms(), when, sizeof when) < 0)
        when[0] = '\0';
    cJSON_AddStringToObject(root, "date", when);
    cfg = cJSON_AddObjectToObject(root, "settings");
    add_num(cfg, "seconds", (double)s->o.seconds);
    add_num(cfg, "rate", (double)s->o.rate);
    add_num(cfg, "up_s", (double)s->o.up_s);
    add_num(cfg, "down_s", (double)s->o.down_s);
    add_num(cfg, "drain_limit_s", (double)s->o.drain_s);
    add_num(cfg, "sample_s", SAMPLE_MS / 1000.0);
    arr = cJSON_AddArrayToObject(root, "samples");
    for (size_t i = 0; i < s->n_samples; i++) {
        const struct sample *y = &s->samples[i];
        x = cJSON_CreateObject();
        add_num(x, "t_s", y->t_s);
        add_num(x, "rss_kb", (double)y->rss_kb);
        add_num(x, "events", (double)y->events);
        add_num(x, "made", (double)y->made);
        add_num(x, "delivered", (double)y->delivered);
        add_num(x, "pending", (double)y->pending);
        add_num(x, "receiver_requests", (double)y->requests);
        cJSON_AddStringToObject(x, "receiver", flap_names[y->mode]);
        cJSON_AddBoolToObject(x, "drain", y->drain);
        cJSON_AddItemToArray(arr, x);
    }
    det = cJSON_AddObjectToObject(root, "notifications");
    add_num(det, "made", (double)m->notes);
    add_num(det, "delivered", (double)m->delivered);
    add_num(det, "missing", (double)m->missing);
    add_num(det, "duplicate_2xx", (double)m->duplicates);
    add_num(det, "episodes", (double)m->episodes);
    add_num(det, "requests", (double)m->requests);
    add_num(det, "sink_retries", (double)s->last.hook_retries);
    for (size_t i = 0; i < NRULES; i++) {
        x = cJSON_AddObjectToObject(det, rule_names[i]);
        add_num(x, "firing", (double)m->per_det[i][0]);
        add_num(x, "repeats", (double)m->per_det[i][1]);
        add_num(x, "resolved", (double)m->per_det[i][2]);
    }
    ver = cJSON_AddObjectToObject(root, "verdicts");
    add_num(ver, "warmup_s", v->warmup_s);
    add_num(ver, "rss_base_kb", (double)v->base_kb);
    add_num(ver, "rss_max_after_warmup_kb", (double)v->max_after_kb);
    add_num(ver, "rss_growth_kb", (double)v->growth_kb);
    add_num(ver, "rss_allowed_growth_kb",
            (double)(v->allowed_kb - v->base_kb));
    add_num(ver, "vmhwm_kb", (double)s->hwm_kb);
    add_num(ver, "cpu_s", s->cpu_s);
    add_num(ver, "drain_s", s->drain_s);
    cJSON_AddBoolToObject(ver, "rss_flat", v->rss_ok);
    cJSON_AddBoolToObject(ver, "all_delivered", v->delivered_ok);
    cJSON_AddBoolToObject(ver, "duplicates_share_id", v->ids_ok);
    cJSON_AddBoolToObject(ver, "in_order", v->order_ok);
    cJSON_AddBoolToObject(ver, "signatures", v->sig_ok);
    cJSON_AddBoolToObject(ver, "every_detector", v->det_ok);
    cJSON_AddBoolToObject(ver, "no_dead_letters", v->clean_ok);
    cJSON_AddBoolToObject(ver, "drained", v->drained);
    cJSON_AddBoolToObject(ver, "exit_0", v->exit_ok);
    cJSON_AddBoolToObject(ver, "receiver_recorded_all", v->records_ok);
    cJSON_AddBoolToObject(ver, "pass", v->pass);
    if ((text = cJSON_Print(root)) == NULL || (f = fopen(s->o.json, "w")) ==
        NULL || fputs(text, f) < 0 || fputc('\n', f) == EOF)
        goto out;
    rc = 0;
out:
    if (f != NULL && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "soak: cannot write %s\n", s->o.json);
    free(text);
    cJSON_Delete(root);
    return rc;
}

/* ---- clean-up ----------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void save_log(const struct soak *s, struct proc *p, const char *name)
{
    char path[128];
    const char *text;
    size_t len;
    FILE *f = NULL;

    if (p == NULL)
        goto out;
    proc_poll(p);
    text = proc_stderr_all(p, &len);
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    if ((f = fopen(path, "w")) != NULL) {
        fwrite(text, 1, len, f);
        fclose(f);
    }
out:
    return;
}

/* Show the last lines of a child's log on stderr. */
static void tail_log(struct proc *p, const char *what, int lines)
{
    const char *text, *at;
    size_t len;

    if (p == NULL)
        goto out;
    proc_poll(p);
    text = proc_stderr_all(p, &len);
    at = text + len;
    while (at > text && lines >= 0) {
        at--;
        if (*at == '\n')
            lines--;
    }
    fprintf(stderr, "--- last lines of %s ---\n%s\n", what,
            at == text ? at : at + 1);
out:
    return;
}

/* ---- the run ------------------------------------------------------------ */

/* Wait up to ms for toolwatch to exit (pumping its pipes).  Returns true
 * if it has exited. */
static bool tw_wait(struct soak *s, int ms)
{
    int st;
    bool exited = proc_wait_exit(s->tw, ms, &st);

    if (exited)
        s->exit_status = st;
    return exited;
}

/* The steady part: load, flapping, sampling.  Returns 0, or -1 when
 * toolwatch or the simulator died or the run was interrupted. */
static int soak_phase(struct soak *s)
{
    int64_t end = s->t0 + (int64_t)s->o.seconds * 1000;
    int64_t next_sample = s->t0, last = s->t0;
    unsigned k = 0; /* samples taken on schedule */
    int rc = -1, sim_status;

    for (;;) {
        int64_t now = clock_mono_ms(), wait;
        enum flap m = mode_at(s, now - s->t0);

        s->mode_ms[s->mode] += (uint64_t)(now - last);
        last = now;
        if (now >= end) {
            if (take_sample(s, 0) != 0) /* the soak's last */
                goto out;
            break;
        }
        if (m != s->mode) {
            if (set_mode(s, m) != RCV_OK)
                goto out;
            if (m != FLAP_UP)
                s->failure_windows++;
        }
        if (now >= next_sample) {
            if (take_sample(s, 0) != 0)
                goto out;
            if (k > 0 && k % LINE_EVERY == 0)
                print_sample(&s->samples[s->n_samples - 1]);
            k++;
            next_sample += SAMPLE_MS;
        }
        if (proc_wait_exit(s->sim, 0, &sim_status)) {
            fprintf(stderr, "soak: the simulator exited\n");
            tail_log(s->sim, "toolwatch simulate", 20);
            goto out;
        }
        wait = next_sample - clock_mono_ms();
        wait = wait < TICK_MS ? wait : TICK_MS;
        if (tw_wait(s, wait > 0 ? (int)wait : 0)) {
            fprintf(stderr, "soak: toolwatch exited during the run "
                    "(status 0x%x)\n", (unsigned)s->exit_status);
            tail_log(s->tw, "toolwatch run", 30);
            goto out;
        }
        if (interrupted) {
            fprintf(stderr, "soak: interrupted\n");
            goto out;
        }
    }
    rc = 0;
out:
    s->soak_s = (double)(clock_mono_ms() - s->t0) / 1000.0;
    return rc;
}

/* The end: receiver up for good, stream stopped, wait (bounded) until
 * every notification in the file has been acknowledged and the service
 * is quiet.  Returns true if it drained. */
static bool drain_phase(struct soak *s, struct match *m)
{
    int64_t start = clock_mono_ms();
    int64_t deadline = start + (int64_t)s->o.drain_s * 1000;
    int64_t next_sample = start + SAMPLE_MS, next_check = start;
    bool done = false;
    int st;

    say("[%02d:%02d] soak over: receiver up for good, simulator stopped; "
        "waiting for the backlog (at most %" PRIu64 " s)\n",
        (int)s->soak_s / 60, (int)s->soak_s % 60, s->o.drain_s);
    if (set_mode(s, FLAP_UP) != RCV_OK)
        goto out;
    proc_signal(s->sim, SIGTERM);
    if (!proc_wait_exit(s->sim, EXIT_WAIT_MS, &st))
        fprintf(stderr, "soak: the simulator did not stop on SIGTERM\n");
    while (!done && !interrupted) {
        int64_t now = clock_mono_ms();

        if (now >= deadline)
            break;
        if (now >= next_sample) {
            if (take_sample(s, 1) == 0)
                print_sample(&s->samples[s->n_samples - 1]);
            next_sample += SAMPLE_MS;
        }
        if (now >= next_check) {
            struct twstat t;
            next_check = now + CHECK_EVERY_MS;
            read_status(s, &t);
            /* quiet: nothing queued or in flight, nothing open but the
             * stalled stream (its repeats come one at a time and are in
             * flight when made, so SIGTERM's drain finishes them) */
            if (t.ok && t.hook_queue == 0 && t.hook_in_flight == 0 &&
                t.file_queue == 0 && t.only_stalled &&
                compare(s, m, false) == 0 && m->missing == 0 &&
                (uint64_t)m->notes == count_made(s)) {
                s->last = t;
                done = true;
                break;
            }
        }
        if (tw_wait(s, TICK_MS)) {
            fprintf(stderr, "soak: toolwatch exited while draining\n");
            tail_log(s->tw, "toolwatch run", 30);
            break;
        }
    }
out:
    s->drain_s = (double)(clock_mono_ms() - start) / 1000.0;
    say("[%02d:%02d] %s after %.1f s\n",
        (int)(s->soak_s + s->drain_s) / 60,
        (int)(s->soak_s + s->drain_s) % 60,
        done ? "drained" : "NOT drained", s->drain_s);
    return done;
}

/* SIGTERM toolwatch and reap it; its last /status, RSS peak and CPU are
 * kept first. */
static void stop_run(struct soak *s)
{
    if (s->tw == NULL || s->exit_status >= 0)
        goto out;
    read_status(s, &s->last);
    s->hwm_kb = proc_kb(proc_pid(s->tw), "VmHWM");
    s->cpu_s = proc_cpu_s(proc_pid(s->tw));
    proc_signal(s->tw, SIGTERM);
    if (!tw_wait(s, EXIT_WAIT_MS))
        fprintf(stderr, "soak: toolwatch did not exit within %d ms of "
                "SIGTERM\n", EXIT_WAIT_MS);
out:
    return;
}

int main(int argc, char **argv)
{
    struct soak s;
    struct match m;
    struct verdict v;
    struct sigaction sa;
    const char *secret;
    size_t bad = 0;
    int err = 0, rc = 1;

    memset(&s, 0, sizeof s);
    memset(&m, 0, sizeof m);
    memset(&v, 0, sizeof v);
    s.exit_status = -1;
    if (parse_opts(argc, argv, &s.o) != 0) {
        rc = 2;
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        make_secret(&s) != 0 || (s.body = malloc(sizeof *s.body)) == NULL)
        goto out;
    secret = s.secret;
    if ((s.keys = sign_keys_create(&secret, 1, &err, &bad)) == NULL)
        goto out;
    snprintf(s.dir, sizeof s.dir, "/tmp/toolwatch-soak-XXXXXX");
    if (mkdtemp(s.dir) == NULL) {
        fprintf(stderr, "soak: mkdtemp: %s\n", strerror(errno));
        s.dir[0] = '\0';
        goto out;
    }
    snprintf(s.cfg, sizeof s.cfg, "%s/soak.json", s.dir);
    snprintf(s.alerts, sizeof s.alerts, "%s/alerts.ndjson", s.dir);
    snprintf(s.state, sizeof s.state, "%s/state", s.dir);
    if ((s.rcv = rcv_start()) == NULL || set_mode(&s, FLAP_UP) != RCV_OK) {
        fprintf(stderr, "soak: cannot start the receiver\n");
        goto out;
    }
    if (start_sim(&s) != 0 || write_config(&s) != 0 || start_run(&s) != 0) {
        tail_log(s.sim, "toolwatch simulate", 20);
        tail_log(s.tw, "toolwatch run", 30);
        goto out;
    }
    say("soak: %" PRIu64 " s at %" PRIu64 " events/s (scenario mixed, "
        "every anomaly each %d s); receiver up %" PRIu64 " s / failing %"
        PRIu64 " s (down, 500, 429, reset, hang in turn); toolwatch pid %d, "
        "status http://127.0.0.1:%u/status, files in %s\n",
        s.o.seconds, s.o.rate, SIM_CYCLE_S, s.o.up_s, s.o.down_s,
        (int)proc_pid(s.tw),
        s.status_port, s.dir);
    if (soak_phase(&s) != 0)
        goto report;
    v.drained = drain_phase(&s, &m);
report:
    if (s.soak_s == 0)
        s.soak_s = (double)(clock_mono_ms() - s.t0) / 1000.0;
    stop_run(&s);
    if (compare(&s, &m, true) != 0)
        fprintf(stderr, "soak: cannot compare the file sink with the "
                "receiver\n");
    judge(&s, &m, &v);
    print_report(&s, &m, &v);
    write_json(&s, &m, &v);
    rc = v.pass ? 0 : 1;
out:
    if (s.tw != NULL && s.exit_status < 0)
        proc_signal(s.tw, SIGTERM);
    if (s.sim != NULL)
        proc_signal(s.sim, SIGTERM);
    if (s.dir[0] != '\0') {
        save_log(&s, s.tw, "toolwatch.log");
        save_log(&s, s.sim, "simulate.log");
    }
    proc_destroy(s.tw);
    proc_destroy(s.sim);
    rcv_stop(s.rcv);
    sign_keys_destroy(s.keys);
    sodium_memzero(s.secret, sizeof s.secret);
    sodium_memzero(s.secret_env, sizeof s.secret_env);
    free(s.samples);
    free(s.body);
    free(s.file_buf);
    free(s.notes);
    curl_global_cleanup();
    if (s.dir[0] != '\0') {
        if (rc == 0 && !s.o.keep)
            nftw(s.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        else
            say("soak: kept %s (config, state, alerts.ndjson, logs)\n",
                s.dir);
    }
    if (rc == 0)
        say("soak: PASS %zu notifications made, all delivered; RSS growth "
            "%+ld kB after warm-up (allowed %+ld); %.0f s at %" PRIu64
            " events/s\n", m.notes, v.growth_kb, v.allowed_kb - v.base_kb,
            s.soak_s, s.o.rate);
    else if (rc == 1) {
        char why[256];
        failed_checks(&s, &v, why, sizeof why);
        say("soak: FAIL:%s\n", why);
    }
    return rc;
}
