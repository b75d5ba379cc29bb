/*
 * demo.c - `toolwatch demo`: the whole pipeline with no setup.
 *
 * Three parts in one process:
 *   - the synthetic audit stream (sim/server.h), scenario `demo`: every
 *     12 s a new anomaly (a volume spike, an error burst, slow calls,
 *     large payloads, a credential spike, a secret read then an external
 *     post, a first-seen tool, a rate spike), the stream stalling last;
 *   - the service itself (run_service) with a configuration written to a
 *     temporary state directory: nine rules, one signed webhook sink;
 *   - a built-in receiver (libmicrohttpd) that checks every request's
 *     Standard Webhooks signature with the secret the demo generated, and
 *     prints each alert as one readable line on stdout (and, the first
 *     time a rule fires, the description, labels and runbook its alert
 *     carries).
 *
 * The rules are the six default rules (rule_defaults_json(), so a change
 * to them shows up here) with the demo's shorter windows and thresholds
 * (`tuning` below), then a sequence, a new_value and a baseline rule that
 * learn in seconds.  Each is tuned to the stream's pace (demo.h, checked
 * by tests/unit/test_gen.c): every alert fires within its anomaly's 8 s
 * phase, only the rule meant for a phase fires, and everything resolves
 * before DEMO_DURATION_S, ahead of the next cycle.
 *
 * At the end (after --duration, or Ctrl-C) it prints what arrived, and
 * any alert still firing with why, and exits 0 when every rule fired and
 * resolved and every signature was valid, 1 otherwise, so it doubles as
 * an end-to-end smoke test (tests/integration/test_demo.c).
 */
#include "app/demo.h"

#include "alerts/sign.h"
#include "app/cli.h"
#include "app/run.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "detectors/rule.h"
#include "sim/server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_ENV "DEMO_WEBHOOK_SECRET"
#define BODY_MAX (1024 * 1024)
#define OPEN_MAX 64  /* alerts the receiver tracks as firing */
#define KEY_SHOWN 128

/* The demo's changes to the default rules: windows short enough that each
 * alert resolves within the demo, thresholds that each anomaly passes
 * within its phase and nothing else reaches (a rate spike stays under the
 * volume threshold: telling it apart is rate_anomaly's job). */
static const struct {
    const char *rule;
    const char *key;
    double value;
} tuning[] = {
    {"volume", "window_s", 20},
    {"volume", "threshold", 120},
    {"payload_size", "window_s", 15},
    {"latency", "window_s", 15},
    {"error_rate", "window_s", 20},
    {"credential_access", "window_s", 20},
    {"credential_access", "threshold", 25},
    {"stream_stalled", "threshold", 4},
};

/* The demo's own rules, after the defaults.  new_tool learns the fleet's
 * tools for 70 s: past the credential spike (52-60 s), whose secret tools
 * it learns, and before delete_customer_records (77 s).  rate_anomaly
 * judges a tool once it has 6 closed buckets (30 s); min_value keeps
 * tools at their usual 4 calls a bucket out of it. */
static const char extra_rules[] =
    "[{\"name\": \"secret_then_egress\", \"kind\": \"sequence\","
    "  \"severity\": \"critical\","
    "  \"description\": \"A secret read, then an external HTTP call in the"
    " same session: possible exfiltration\","
    "  \"runbook_url\":"
    "  \"https://runbooks.example.com/toolwatch/secret-then-egress\","
    "  \"labels\": {\"team\": \"security\", \"detection\": \"toxic-flow\"},"
    "  \"match\": {\"completed\": true}, \"group_by\": [\"session_id\"],"
    "  \"steps\": [{\"tool_category\": \"secrets\", \"error\": false},"
    "             {\"tool_category\": \"http\","
    "              \"downstream_system\": \"external\"}],"
    "  \"within_s\": 60, \"window_s\": 10},"
    " {\"name\": \"new_tool\", \"kind\": \"new_value\","
    "  \"severity\": \"warning\","
    "  \"description\": \"A tool no agent of the fleet has called before\","
    "  \"runbook_url\": \"https://runbooks.example.com/toolwatch/new-tool\","
    "  \"labels\": {\"team\": \"security\", \"detection\": \"fleet\"},"
    "  \"match\": {\"completed\": true}, \"group_by\": [],"
    "  \"field\": \"tool_name\", \"learn_s\": 70, \"window_s\": 10},"
    " {\"name\": \"rate_anomaly\", \"kind\": \"baseline\","
    "  \"severity\": \"warning\","
    "  \"description\": \"A tool called far more often in 5 s than in its"
    " last 30 s\","
    "  \"runbook_url\":"
    "  \"https://runbooks.example.com/toolwatch/rate-anomaly\","
    "  \"labels\": {\"team\": \"platform\", \"detection\": \"fleet\"},"
    "  \"match\": {\"completed\": true}, \"group_by\": [\"tool_name\"],"
    "  \"bucket_s\": 5, \"history\": 6, \"deviation\": 3,"
    "  \"min_value\": 20}]";

/* An alert the receiver has seen fire and not resolve. */
struct open_alert {
    uint32_t rule;
    int64_t since_s;
    char key[KEY_SHOWN];
};

struct receiver {
    int live; /* the lock is initialised */
    struct MHD_Daemon *daemon;
    sign_keys *keys;
    int64_t t0;
    pthread_mutex_t lock;
    unsigned received;
    unsigned verified;
    unsigned rejected;
    /* per rule, in their order */
    struct rule_set *rules;
    unsigned fired[RULE_MAX];
    unsigned resolved[RULE_MAX];
    struct open_alert open[OPEN_MAX];
    unsigned nopen;
};

struct upload {
    buf body;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: toolwatch demo [--duration S] [--rate N]\n"
            "\n"
            "Run the whole pipeline on this machine, with no configuration:\n"
            "a simulated audit stream with a new anomaly every 12 s, the\n"
            "service watching it with nine rules (the six default rules, a\n"
            "sequence, a first-seen tool and a baseline), and a local\n"
            "receiver that verifies each signed webhook and prints the\n"
            "alert.  Every rule fires and resolves within two minutes.\n"
            "\n"
            "  --duration S   stop after S seconds (default %d)\n"
            "  --rate N       events per second of the stream (default %d;\n"
            "                 the rules are tuned to it)\n"
            "  -h, --help     this text\n"
            "\n"
            "Ctrl-C stops it cleanly.  Exit status 0 when every rule fired\n"
            "and resolved and every signature was valid.\n",
            DEMO_DURATION_S, DEMO_RATE);
}

/* The rules of the demo: the default rules tuned, then extra_rules.
 * NULL (said in err) if either does not parse. */
static cJSON *demo_rules(char *err, size_t errsz)
{
    cJSON *rules = cJSON_Parse(rule_defaults_json());
    cJSON *extra = cJSON_Parse(extra_rules), *r;
    int rc = -1;

    if (rules == NULL || extra == NULL) {
        snprintf(err, errsz, "the demo's rules do not parse");
        goto out;
    }
    for (size_t i = 0; i < sizeof tuning / sizeof tuning[0]; i++) {
        cJSON_ArrayForEach(r, rules) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
            if (cJSON_IsString(name) &&
                strcmp(name->valuestring, tuning[i].rule) == 0)
                break;
        }
        if (r == NULL) {
            snprintf(err, errsz, "no default rule %s", tuning[i].rule);
            goto out;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(r, tuning[i].key);
        if (cJSON_AddNumberToObject(r, tuning[i].key, tuning[i].value) ==
            NULL) {
            snprintf(err, errsz, "out of memory");
            goto out;
        }
    }
    /* cJSON_AddItemToArray fails only on NULL arguments */
    while ((r = cJSON_DetachItemFromArray(extra, 0)) != NULL)
        cJSON_AddItemToArray(rules, r);
    rc = 0;
out:
    cJSON_Delete(extra);
    if (rc != 0) {
        cJSON_Delete(rules);
        rules = NULL;
    }
    return rules;
}

/* The index of the rule named `name`, or rules->n. */
static uint32_t rule_index(const struct rule_set *rules, const char *name)
{
    uint32_t i;

    for (i = 0; i < rules->n; i++)
        if (strcmp(rules->rules[i].name, name) == 0)
            break;
    return i;
}

static const char *member_str(const cJSON *o, const char *name,
                              const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* Below a rule's first alert: what its alert carries besides the summary
 * (description, labels, runbook), when it carries any. */
static void show_context(const cJSON *data)
{
    const char *desc = member_str(data, "description", NULL);
    const char *runbook = member_str(data, "runbook_url", NULL);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(data, "labels");
    const cJSON *l;
    const char *sep = "";

    if (desc != NULL)
        printf("        description: %s\n", desc);
    if (cJSON_GetArraySize(labels) > 0) {
        printf("        labels:");
        cJSON_ArrayForEach(l, labels) {
            printf("%s %s=%s", sep, l->string,
                   cJSON_IsString(l) ? l->valuestring : "?");
            sep = ",";
        }
        printf("%s", runbook != NULL ? "  " : "\n");
    }
    if (runbook != NULL)
        printf("%srunbook: %s\n",
               cJSON_GetArraySize(labels) > 0 ? "" : "        ", runbook);
}

/* Note a firing or resolved alert of rule i (i < n) under key. */
static void track(struct receiver *rx, uint32_t i, const char *key,
                  int resolved, int64_t t)
{
    unsigned k;

    for (k = 0; k < rx->nopen; k++)
        if (rx->open[k].rule == i && strcmp(rx->open[k].key, key) == 0)
            break;
    if (resolved && k < rx->nopen) /* keep the rest in time order */
        memmove(&rx->open[k], &rx->open[k + 1],
                (--rx->nopen - k) * sizeof rx->open[0]);
    else if (!resolved && k == rx->nopen && k < OPEN_MAX) {
        rx->open[k].rule = i;
        rx->open[k].since_s = t;
        snprintf(rx->open[k].key, sizeof rx->open[k].key, "%s", key);
        rx->nopen++;
    }
}

/* Print one received alert; called with the lock held. */
static void show(struct receiver *rx, const cJSON *doc, int sig_ok)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const char *type = member_str(doc, "type", "");
    const char *rule = member_str(data, "rule", "?");
    const char *key = member_str(data, "key", "?");
    int64_t t = (clock_mono_ms() - rx->t0) / 1000;
    int resolved = strcmp(type, "alert.resolved") == 0, first = 0;
    uint32_t i = rule_index(rx->rules, rule);

    if (i < rx->rules->n && sig_ok) {
        first = !resolved && rx->fired[i] == 0;
        if (resolved)
            rx->resolved[i]++;
        else
            rx->fired[i]++;
        track(rx, i, key, resolved, t);
    }
    printf("[%02lld:%02lld] %-8s %-8s %-18s %-9s %s: %s (%s)\n",
           (long long)(t / 60), (long long)(t % 60),
           resolved ? "RESOLVED" : "FIRING", member_str(data, "severity", "?"),
           rule, member_str(data, "kind", ""), key,
           member_str(data, "summary", ""),
           sig_ok ? "signature ok" : "SIGNATURE INVALID");
    if (first)
        show_context(data);
    fflush(stdout);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *size, void **req_cls)
{
    struct receiver *rx = cls;
    struct upload *up = *req_cls;
    const char *id, *ts, *sig;
    int64_t when = 0;
    int ok;
    cJSON *doc;

    (void)url;
    (void)version;
    if (strcmp(method, "POST") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    if (up == NULL) {
        up = calloc(1, sizeof *up);
        if (up == NULL)
            return MHD_NO;
        buf_init(&up->body, BODY_MAX);
        *req_cls = up;
        return MHD_YES;
    }
    if (*size > 0) {
        buf_append(&up->body, data, *size); /* past the cap: cut, fails */
        *size = 0;
        return MHD_YES;
    }
    id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id");
    ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp");
    sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                      "webhook-signature");
    ok = id != NULL && ts != NULL && sig != NULL &&
         sign_parse_timestamp(ts, &when) == SIGN_OK &&
         sign_verify(rx->keys, id, when, up->body.data, up->body.len, sig,
                     clock_wall_ms() / 1000, 300) == SIGN_OK;
    doc = cJSON_ParseWithLength(up->body.data ? up->body.data : "",
                                up->body.len);
    pthread_mutex_lock(&rx->lock);
    rx->received++;
    if (ok)
        rx->verified++;
    else
        rx->rejected++;
    if (doc != NULL)
        show(rx, doc, ok);
    pthread_mutex_unlock(&rx->lock);
    cJSON_Delete(doc);
    return ok ? reply(c, MHD_HTTP_OK, "ok\n")
              : reply(c, MHD_HTTP_UNAUTHORIZED, "bad signature\n");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *up = *req_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (up != NULL) {
        buf_free(&up->body);
        free(up);
        *req_cls = NULL;
    }
}

/* Start the receiver for the alerts of `rules` (compiled here, for their
 * names), verifying with `secret`.  Returns 0, or -1 (said on stderr). */
static int receiver_start(struct receiver *rx, const cJSON *rules,
                          const char *secret)
{
    struct sockaddr_in addr;
    int err = 0, rc = -1;
    size_t bad = 0;
    char msg[256];

    pthread_mutex_init(&rx->lock, NULL);
    rx->live = 1;
    rx->t0 = clock_mono_ms();
    if (rule_set_compile(&rx->rules, rules, "rules", msg, sizeof msg) !=
        RULE_OK) {
        fprintf(stderr, "toolwatch demo: %s\n", msg);
        goto out;
    }
    if ((rx->keys = sign_keys_create(&secret, 1, &err, &bad)) == NULL)
        goto out;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, rx, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, rx,
        MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_END);
    rc = rx->daemon != NULL ? 0 : -1;
out:
    return rc;
}

static unsigned receiver_port(const struct receiver *rx)
{
    const union MHD_DaemonInfo *i =
        MHD_get_daemon_info(rx->daemon, MHD_DAEMON_INFO_BIND_PORT);

    return i != NULL ? i->port : 0;
}

/* Stop what receiver_start started, all or part of it. */
static void receiver_stop(struct receiver *rx)
{
    if (!rx->live)
        return;
    if (rx->daemon != NULL)
        MHD_stop_daemon(rx->daemon);
    sign_keys_destroy(rx->keys);
    rule_set_destroy(rx->rules);
    rx->rules = NULL;
    pthread_mutex_destroy(&rx->lock);
}

/* What arrived, rule by rule, and what is still firing.  Returns 1 when
 * every rule fired and resolved and no signature was rejected. */
static int receiver_summary(struct receiver *rx)
{
    int all;

    pthread_mutex_lock(&rx->lock);
    all = rx->rejected == 0;
    printf("\n%u alerts received, %u signatures verified, %u rejected\n",
           rx->received, rx->verified, rx->rejected);
    for (uint32_t i = 0; i < rx->rules->n; i++) {
        int good = rx->fired[i] > 0 && rx->resolved[i] > 0;
        printf("  %-18s %-9s fired %u, resolved %u%s\n",
               rx->rules->rules[i].name, rule_kinds[rx->rules->rules[i].kind].name,
               rx->fired[i], rx->resolved[i],
               good ? "" : "  (did not complete: run longer)");
        all &= good;
    }
    if (rx->nopen > 0)
        printf("still firing when the demo stopped (their condition had "
               "not cleared yet;\na longer --duration lets them resolve):\n");
    for (unsigned k = 0; k < rx->nopen; k++)
        printf("  %s %s, since %02lld:%02lld\n",
               rx->rules->rules[rx->open[k].rule].name, rx->open[k].key,
               (long long)(rx->open[k].since_s / 60),
               (long long)(rx->open[k].since_s % 60));
    pthread_mutex_unlock(&rx->lock);
    return all;
}

/* A fresh signing secret, whsec_ + base64 of 32 random bytes. */
static void make_secret(char *out, size_t size)
{
    unsigned char key[32];
    char b64[64];

    randombytes_buf(key, sizeof key);
    sodium_bin2base64(b64, sizeof b64, key, sizeof key,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(key, sizeof key);
    snprintf(out, size, "whsec_%s", b64);
}

static int write_config(const char *path, const char *dir,
                        const char *stream_url, unsigned rx_port,
                        const cJSON *rules)
{
    char text[2048];
    cJSON *cfg = NULL, *copy = NULL;
    char *out = NULL;
    FILE *f = NULL;
    int rc = -1;

    snprintf(text, sizeof text,
             "{\"instance\": \"demo\", \"state_dir\": \"%s\","
             " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 5,"
             "  \"retry_max_ms\": 2000},"
             " \"status\": {\"port\": 0},"
             " \"detectors\": {\"hold_s\": 3, \"allowed_lateness_s\": 1},"
             " \"sinks\": [{\"name\": \"demo-receiver\", \"type\": \"webhook\","
             "  \"url\": \"http://127.0.0.1:%u/alerts\","
             "  \"secret_envs\": [\"" SECRET_ENV "\"]}]}",
             dir, stream_url, rx_port);
    if ((cfg = cJSON_Parse(text)) == NULL ||
        (copy = cJSON_Duplicate(rules, 1)) == NULL ||
        !cJSON_AddItemToObject(cfg, "rules", copy))
        goto out;
    copy = NULL;
    if ((out = cJSON_Print(cfg)) == NULL || (f = fopen(path, "w")) == NULL)
        goto out;
    rc = fputs(out, f) < 0 ? -1 : 0;
out:
    if (f != NULL && fclose(f) != 0)
        rc = -1;
    cJSON_free(out);
    cJSON_Delete(copy);
    cJSON_Delete(cfg);
    return rc;
}

/* Remove the demo's state directory and whatever the service wrote in it
 * (files only: it makes no subdirectories). */
static void cleanup_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

static void on_started(void *ud, unsigned status_port)
{
    (void)ud;
    printf("toolwatch is watching the stream; status: "
           "http://127.0.0.1:%u/status  (also /metrics, /healthz, /readyz)\n"
           "alerts as the receiver gets them:\n",
           status_port);
    fflush(stdout);
}

int demo_main(int argc, char **argv)
{
    struct sim_server_options so;
    struct receiver rx;
    struct run_hooks hooks;
    sim_server *sim = NULL;
    cJSON *rules = NULL;
    char dir[] = "/tmp/toolwatch-demo-XXXXXX";
    char secret[96], url[128], cfgpath[256], err[256];
    uint64_t duration = DEMO_DURATION_S, rate = DEMO_RATE;
    static const struct option opts[] = {
        CLI_OPT_HELP,
        {"duration", required_argument, NULL, 0},
        {"rate", required_argument, NULL, 0},
        CLI_OPT_END,
    };
    cli_args a;
    const char *name, *v;
    int kind, rc = CLI_EXIT_USAGE, made = 0;

    memset(&rx, 0, sizeof rx);
    if (cli_args_init(&a, "demo", argc, argv, opts) != 0)
        return CLI_EXIT_USAGE;
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind < 0)
            return CLI_EXIT_USAGE;
        if (kind == 1 && strcmp(name, "--help") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (kind != 1) {
            fprintf(stderr, "toolwatch demo: unexpected argument %s\n",
                    name);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
        if ((v = cli_value(&a, name)) == NULL)
            return CLI_EXIT_USAGE;
        if (strcmp(name, "--duration") == 0) {
            if (cli_u64(name, v, 10, 86400, &duration))
                return CLI_EXIT_USAGE;
        } else if (strcmp(name, "--rate") == 0) {
            if (cli_u64(name, v, 20, 100000, &rate))
                return CLI_EXIT_USAGE;
        } else {
            fprintf(stderr, "toolwatch demo: unknown option %s\n", name);
            return CLI_EXIT_USAGE;
        }
    }
    rc = CLI_EXIT_FAIL;
    if ((rules = demo_rules(err, sizeof err)) == NULL) {
        fprintf(stderr, "toolwatch demo: %s\n", err);
        goto out;
    }
    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        goto out;
    made = 1;
    make_secret(secret, sizeof secret);
    setenv(SECRET_ENV, secret, 1);
    sodium_memzero(secret, sizeof secret);
    if (receiver_start(&rx, rules, getenv(SECRET_ENV)) != 0) {
        fprintf(stderr, "toolwatch demo: cannot start the receiver\n");
        goto out;
    }
    sim_server_options_defaults(&so);
    so.gen.scenario = SIM_DEMO;
    so.gen.rate = (double)rate;
    so.gen.phase_ms = DEMO_PHASE_MS;
    so.gen.quiet_ms = DEMO_QUIET_MS;
    so.gen.start_ms = clock_wall_ms();
    so.heartbeat_ms = 1000;
    if ((sim = sim_server_start(&so)) == NULL)
        goto out;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/stream",
             (unsigned)sim_server_port(sim));
    snprintf(cfgpath, sizeof cfgpath, "%s/demo.json", dir);
    if (write_config(cfgpath, dir, url, receiver_port(&rx), rules) != 0)
        goto out;
    printf("toolwatch demo: a simulated audit stream at %s,\n"
           "with a new anomaly every %d s: a volume spike, an error burst, "
           "slow calls,\nlarge payloads, a credential spike, a secret read "
           "then an external post,\na first-seen tool, a rate spike and a "
           "stalled stream.  Nine rules watch it:\nthe six default rules, a "
           "sequence, a new_value and a baseline rule.\nIt runs for %llu s; "
           "Ctrl-C stops it.\n",
           url, (DEMO_PHASE_MS + DEMO_QUIET_MS) / 1000,
           (unsigned long long)duration);
    fflush(stdout);
    if (log_current_level > LOG_WARN)
        log_set_level(LOG_WARN);
    memset(&hooks, 0, sizeof hooks);
    hooks.stop_after_ms = (int64_t)duration * 1000;
    hooks.started = on_started;
    rc = run_service(cfgpath, &hooks);
    if (!receiver_summary(&rx) && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
out:
    sim_server_stop(sim);
    receiver_stop(&rx);
    unsetenv(SECRET_ENV);
    if (made)
        cleanup_dir(dir);
    cJSON_Delete(rules);
    return rc;
}
