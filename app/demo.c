/*
 * demo.c - `toolwatch demo`: the whole pipeline with no setup.
 *
 * Three parts in one process:
 *   - the synthetic audit stream (sim/server.h), scenario `mixed`, with
 *     short phases so that every anomaly comes round in about two minutes;
 *   - the service itself (run_service) with a configuration written to a
 *     temporary state directory: short windows, one signed webhook sink;
 *   - a built-in receiver (libmicrohttpd) that checks every request's
 *     Standard Webhooks signature with the secret the demo generated, and
 *     prints each alert as one readable line on stdout.
 *
 * At the end (after --duration, or Ctrl-C) it prints what arrived and
 * exits 0 when every detector fired and resolved and every signature was
 * valid, 1 otherwise, so it doubles as an end-to-end smoke test.  The
 * rules it counts and lists are the default rules (rule_set_defaults, in
 * their order), so a change to them shows up here without editing this
 * file.
 */
#include "app/demo.h"

#include "alerts/sign.h"
#include "base/buf.h"
#include "app/cli.h"
#include "base/clock.h"
#include "base/log.h"
#include "app/run.h"
#include "detectors/rule.h"
#include "sim/server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
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

struct receiver {
    struct MHD_Daemon *daemon;
    sign_keys *keys;
    int64_t t0;
    pthread_mutex_t lock;
    unsigned received;
    unsigned verified;
    unsigned rejected;
    /* per default rule, in their order */
    struct rule_set *rules;
    unsigned fired[RULE_MAX];
    unsigned resolved[RULE_MAX];
};

struct upload {
    buf body;
};

static void usage(void)
{
    fputs("usage: toolwatch demo [--duration S] [--rate N]\n"
          "\n"
          "Run the whole pipeline on this machine, with no configuration:\n"
          "a simulated audit stream with every kind of anomaly in turn, the\n"
          "service watching it, and a local receiver that verifies each\n"
          "signed webhook and prints the alert.  Every detector fires and\n"
          "resolves within about two and a half minutes.\n"
          "\n"
          "  --duration S   stop after S seconds (default 150)\n"
          "  --rate N       events per second of the stream (default 80)\n"
          "\n"
          "Ctrl-C stops it cleanly.  Exit status 0 when every detector\n"
          "fired and resolved and every signature was valid.\n",
          stderr);
}

/* Print one received alert; called with the lock held. */
static void show(struct receiver *rx, const cJSON *doc, int sig_ok)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    const char *det = "?", *sev = "?", *key = "?", *sum = "", *kind = "";
    int64_t t = (clock_mono_ms() - rx->t0) / 1000;
    int resolved, i;

#define STR(field, var)                                                    \
    do {                                                                   \
        const cJSON *v_ = cJSON_GetObjectItemCaseSensitive(data, field);   \
        if (cJSON_IsString(v_))                                            \
            var = v_->valuestring;                                         \
    } while (0)
    STR("rule", det);
    STR("severity", sev);
    STR("key", key);
    STR("summary", sum);
    STR("kind", kind);
#undef STR
    resolved = cJSON_IsString(type) &&
               strcmp(type->valuestring, "alert.resolved") == 0;
    for (i = 0; rx->rules != NULL && (uint32_t)i < rx->rules->n; i++)
        if (strcmp(rx->rules->rules[i].name, det) == 0)
            break;
    if (rx->rules != NULL && (uint32_t)i < rx->rules->n && sig_ok) {
        if (resolved)
            rx->resolved[i]++;
        else
            rx->fired[i]++;
    }
    printf("[%02lld:%02lld] %-8s %-8s %-17s %s %s: %s (%s)\n",
           (long long)(t / 60), (long long)(t % 60),
           resolved ? "RESOLVED" : "FIRING", sev, det, kind, key, sum,
           sig_ok ? "signature ok" : "SIGNATURE INVALID");
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

static int receiver_start(struct receiver *rx, const char *secret)
{
    struct sockaddr_in addr;
    int err = 0;
    size_t bad = 0;

    char msg[256];

    pthread_mutex_init(&rx->lock, NULL);
    rx->t0 = clock_mono_ms();
    if (rule_set_defaults(&rx->rules, msg, sizeof msg) != RULE_OK)
        return -1;
    rx->keys = sign_keys_create(&secret, 1, &err, &bad);
    if (rx->keys == NULL)
        return -1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, rx, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, rx,
        MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_END);
    return rx->daemon != NULL ? 0 : -1;
}

static unsigned receiver_port(const struct receiver *rx)
{
    const union MHD_DaemonInfo *i =
        MHD_get_daemon_info(rx->daemon, MHD_DAEMON_INFO_BIND_PORT);

    return i != NULL ? i->port : 0;
}

static void receiver_stop(struct receiver *rx)
{
    if (rx->daemon != NULL)
        MHD_stop_daemon(rx->daemon);
    sign_keys_destroy(rx->keys);
    rule_set_destroy(rx->rules);
    rx->rules = NULL;
    pthread_mutex_destroy(&rx->lock);
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
                        const char *stream_url, unsigned rx_port)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (f == NULL)
        return -1;
    /* windows short enough that every alert resolves within the demo */
    rc = fprintf(
        f,
        "{\"instance\": \"demo\",\n"
        " \"state_dir\": \"%s\",\n"
        " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 5,\n"
        "            \"retry_max_ms\": 2000},\n"
        " \"status\": {\"port\": 0},\n"
        " \"detectors\": {\n"
        "   \"hold_s\": 3, \"allowed_lateness_s\": 1,\n"
        "   \"volume\": {\"window_s\": 20, \"threshold\": 80},\n"
        "   \"error_rate\": {\"window_s\": 20},\n"
        "   \"latency\": {\"window_s\": 15},\n"
        "   \"payload_size\": {\"window_s\": 15},\n"
        "   \"credential_access\": {\"window_s\": 20},\n"
        "   \"stream_stalled\": {\"threshold\": 6}},\n"
        " \"sinks\": [{\"name\": \"demo-receiver\", \"type\": \"webhook\",\n"
        "             \"url\": \"http://127.0.0.1:%u/alerts\",\n"
        "             \"secret_envs\": [\"" SECRET_ENV "\"]}]}\n",
        dir, stream_url, rx_port);
    if (fclose(f) != 0 || rc < 0)
        return -1;
    return 0;
}

static void cleanup_dir(const char *dir)
{
    static const char *const files[] = {"demo.json", "journal.log",
                                        "dead-letter.ndjson", "position",
                                        "position.tmp", "journal.lock"};
    char p[512];

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
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
    char dir[] = "/tmp/toolwatch-demo-XXXXXX";
    char secret[96], url[128], cfgpath[256];
    uint64_t duration = 150, rate = 80;
    cli_args a;
    const char *name, *v;
    int kind, rc = CLI_EXIT_USAGE, all = 1;

    memset(&rx, 0, sizeof rx);
    cli_args_init(&a, argc, argv, 1);
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind == 1 && strcmp(name, "--help") == 0) {
            usage();
            return CLI_EXIT_OK;
        }
        if (kind != 1) {
            usage();
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
    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        goto out;
    make_secret(secret, sizeof secret);
    setenv(SECRET_ENV, secret, 1);
    sodium_memzero(secret, sizeof secret);
    if (receiver_start(&rx, getenv(SECRET_ENV)) != 0) {
        fprintf(stderr, "toolwatch demo: cannot start the receiver\n");
        goto out;
    }
    sim_server_options_defaults(&so);
    so.gen.scenario = SIM_MIXED;
    so.gen.rate = (double)rate;
    so.gen.phase_ms = 12000;
    so.gen.quiet_ms = 8000;
    so.gen.start_ms = clock_wall_ms();
    so.heartbeat_ms = 1000;
    if ((sim = sim_server_start(&so)) == NULL)
        goto out;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/stream",
             (unsigned)sim_server_port(sim));
    snprintf(cfgpath, sizeof cfgpath, "%s/demo.json", dir);
    if (write_config(cfgpath, dir, url, receiver_port(&rx)) != 0)
        goto out;
    printf("toolwatch demo: a simulated audit stream at %s\n"
           "(every %0.f s a new anomaly: volume spike, error burst, slow "
           "calls,\n large payloads, credential spike, stalled stream), "
           "for %llu s; Ctrl-C stops.\n",
           url, 20.0, (unsigned long long)duration);
    fflush(stdout);
    if (log_current_level > LOG_WARN)
        log_set_level(LOG_WARN);
    memset(&hooks, 0, sizeof hooks);
    hooks.stop_after_ms = (int64_t)duration * 1000;
    hooks.started = on_started;
    rc = run_service(cfgpath, &hooks);
    pthread_mutex_lock(&rx.lock);
    printf("\n%u alerts received, %u signatures verified, %u rejected\n",
           rx.received, rx.verified, rx.rejected);
    for (uint32_t i = 0; rx.rules != NULL && i < rx.rules->n; i++) {
        int good = rx.fired[i] > 0 && rx.resolved[i] > 0;
        printf("  %-18s fired %u, resolved %u%s\n", rx.rules->rules[i].name,
               rx.fired[i], rx.resolved[i],
               good ? "" : "  (did not complete: run longer)");
        all &= good;
    }
    pthread_mutex_unlock(&rx.lock);
    if (rc == CLI_EXIT_OK && (!all || rx.rejected > 0))
        rc = CLI_EXIT_FAIL;
out:
    sim_server_stop(sim);
    receiver_stop(&rx);
    unsetenv(SECRET_ENV);
    cleanup_dir(dir);
    return rc;
}
