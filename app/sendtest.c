/*
 * sendtest.c - `toolwatch send-test SINK -c FILE`: send one clearly marked
 * test alert through a configured sink, now, and show what the receiver
 * answered.  It uses the sink's real settings (URL, signing secrets,
 * routing key, timeouts) and the outbox's request (alerts/request.h: the
 * same body, headers, signature and transfer rules) but not the journal,
 * routing or pacing, and a fresh webhook-id, so a receiver never mistakes
 * it for a real alert.  The send blocks: nothing else runs meanwhile.
 *
 * The test alert is a SPEC section 3 document of its own: rule
 * "toolwatch_test", kind null (no rule made it), the one group ({}, key
 * "global"), the lowest severity the sink takes (its min_severity: info
 * unless set), no value, a description, and a random episode id, so it is
 * never deduplicated against another alert.  The sink's rule and label
 * filters are not applied: the test checks delivery, not routing.
 *
 * PagerDuty and Alertmanager: the firing is followed at once by a resolve
 * of the same episode (sent even when the firing got no answer: it may
 * have arrived), so a test never leaves an incident open in PagerDuty nor
 * an alert active in Alertmanager until its endsAt; the exit status is 0
 * only when both were accepted.
 */
#include "app/sendtest.h"

#include "alerts/request.h"
#include "alerts/sign.h"
#include "config/config.h"
#include "base/buf.h"
#include "app/cli.h"
#include "base/clock.h"
#include "base/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What one test send gave. */
struct sent {
    enum request_outcome outcome;
    long status;                           /* HTTP status, 0 if none */
    char webhook_id[SIGN_MSG_ID_SIZE];     /* the id it was sent with */
    char response[REQUEST_RESPONSE_MAX + 1]; /* the receiver's answer */
    char error[CURL_ERROR_SIZE + 64];      /* transport or local error */
};

#define TEST_RULE "toolwatch_test"
#define TEST_DOC_MAX 4096

/* The test alert's document for sink `sink` of instance `instance`, made
 * at `now_ms`, appended to *doc.  Returns 0, or -1 (out of memory). */
struct test_alert {
    const char *sink, *instance, *severity;
    char id[33];          /* the episode id: 32 hex, the PagerDuty
                             dedup_key */
    int64_t started_ms;
    int64_t resolved_ms;  /* 0: the firing; else the resolve */
};

static int test_document(buf *doc, const struct test_alert *t)
{
    cJSON *root = cJSON_CreateObject(), *data;
    char ts[40], end[40], summary[256];
    const char *sink = t->sink;
    char *text = NULL;
    int ok, rc = -1, resolved = t->resolved_ms != 0;

    buf_reset(doc);
    if (clock_format_iso8601(t->started_ms, ts, sizeof ts) < 0 ||
        (resolved &&
         clock_format_iso8601(t->resolved_ms, end, sizeof end) < 0))
        goto out;
    snprintf(summary, sizeof summary,
             "TEST ALERT from toolwatch send-test through sink %s: if you "
             "can read this, delivery works. No action needed.", sink);
    ok = cJSON_AddStringToObject(root, "type", resolved ? "alert.resolved"
                                                        : "alert.firing") !=
         NULL;
    ok &= cJSON_AddStringToObject(root, "timestamp", resolved ? end : ts) !=
          NULL;
    data = cJSON_AddObjectToObject(root, "data");
    ok &= cJSON_AddStringToObject(data, "id", t->id) != NULL;
    ok &= cJSON_AddStringToObject(data, "rule", TEST_RULE) != NULL;
    ok &= cJSON_AddNullToObject(data, "kind") != NULL;
    ok &= cJSON_AddObjectToObject(data, "group") != NULL;
    ok &= cJSON_AddStringToObject(data, "key", "global") != NULL;
    ok &= cJSON_AddStringToObject(data, "state",
                                  resolved ? "resolved" : "firing") != NULL;
    ok &= cJSON_AddStringToObject(data, "severity", t->severity) != NULL;
    ok &= cJSON_AddStringToObject(data, "summary", summary) != NULL;
    ok &= cJSON_AddNullToObject(data, "value") != NULL;
    ok &= cJSON_AddNullToObject(data, "threshold") != NULL;
    ok &= cJSON_AddNullToObject(data, "window_s") != NULL;
    ok &= cJSON_AddStringToObject(data, "started_at", ts) != NULL;
    ok &= (resolved ? cJSON_AddStringToObject(data, "resolved_at", end)
                    : cJSON_AddNullToObject(data, "resolved_at")) != NULL;
    ok &= cJSON_AddObjectToObject(data, "labels") != NULL;
    ok &= cJSON_AddStringToObject(data, "description",
                                  "Sent by toolwatch send-test to check "
                                  "this sink's URL, secrets and format; no "
                                  "rule fired.") != NULL;
    ok &= cJSON_AddNullToObject(data, "runbook_url") != NULL;
    ok &= cJSON_AddObjectToObject(data, "sample") != NULL;
    ok &= cJSON_AddStringToObject(data, "source", t->instance) != NULL;
    if (ok && (text = cJSON_PrintUnformatted(root)) != NULL &&
        buf_append_str(doc, text) == BUF_OK)
        rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

/* A file or stdout sink: the document as one NDJSON line. */
static void write_line(const struct sink_config *c, const char *doc,
                       size_t len, struct sent *out)
{
    int fd = c->kind == SINK_STDOUT
                 ? 1
                 : open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                        0600);
    int ok = fd >= 0 && file_write_all(fd, doc, len) == FILE_OK &&
             file_write_all(fd, "\n", 1) == FILE_OK;
    int saved = errno;

    if (fd > 2)
        close(fd);
    out->outcome = ok ? REQUEST_OK : REQUEST_RETRY;
    snprintf(out->error, sizeof out->error, "%s", ok ? "" : strerror(saved));
}

/* Send doc[0..len) through sink `c` now, blocking, with a fresh id.
 * Returns 0 with *out filled (out->outcome says how the receiver
 * answered), or -1 with out->error saying why nothing was sent. */
static int send_once(const struct sink_config *c, const char *doc,
                     size_t len, struct sent *out)
{
    char msg_id[SIGN_MSG_ID_SIZE], seed[64];
    unsigned char rnd[16];
    struct request_answer a;
    sign_keys *keys = NULL;
    request *r = NULL;
    int err = 0, rc = -1;
    size_t bad = 0;
    CURLcode cc;

    memset(out, 0, sizeof *out);
    if (c->kind == SINK_FILE || c->kind == SINK_STDOUT) {
        write_line(c, doc, len, out);
        rc = 0;
        goto out;
    }
    if (c->kind == SINK_WEBHOOK && c->n_secrets > 0 &&
        (keys = sign_keys_create(c->secrets, c->n_secrets, &err, &bad)) ==
            NULL) {
        snprintf(out->error, sizeof out->error,
                 "signing secret #%zu is unusable: %s", bad + 1,
                 sign_strerror(err));
        goto out;
    }
    /* a fresh id: a test must never be deduplicated against another */
    randombytes_buf(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(seed + 2 * i, 3, "%02x", rnd[i]);
    if (sign_new_msg_id(msg_id, seed, 2 * sizeof rnd) != SIGN_OK ||
        (r = request_create(c, NULL)) == NULL ||
        request_prepare(r, c, keys, msg_id, clock_wall_ms() / 1000, doc,
                        len) != REQUEST_EOK) {
        snprintf(out->error, sizeof out->error, "cannot build the request");
        goto out;
    }
    cc = curl_easy_perform(request_handle(r));
    request_answer(r, cc, &a);
    out->status = a.status;
    out->outcome = a.outcome;
    snprintf(out->webhook_id, sizeof out->webhook_id, "%s", msg_id);
    snprintf(out->response, sizeof out->response, "%s", a.response);
    if (cc != CURLE_OK)
        snprintf(out->error, sizeof out->error, "%s", a.error);
    rc = 0;
out:
    request_destroy(r);
    sign_keys_destroy(keys);
    return rc;
}

/* 32 random hex digits (size >= 33). */
static void random_id(char *id, size_t size)
{
    unsigned char rnd[16];

    randombytes_buf(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd && 2 * i + 2 < size; i++)
        snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

/* Render t into *doc and send it through c.  Returns 0 with *out filled,
 * or -1 with the reason printed. */
static int send_test(const struct sink_config *c, const struct test_alert *t,
                     buf *doc, struct sent *out)
{
    memset(out, 0, sizeof *out);
    if (test_document(doc, t) != 0 ||
        send_once(c, doc->data, doc->len, out) != 0) {
        fprintf(stderr, "toolwatch send-test: %s\n",
                out->error[0] ? out->error : "cannot send");
        return -1;
    }
    return 0;
}

/* The receiver's answer, in words: what the service would do with it. */
static void print_answer(const struct sent *r, int webhook_id)
{
    if (r->status == 0) {
        printf("no answer: %s\n", r->error);
        return;
    }
    switch (r->outcome) {
    case REQUEST_OK:
        printf("HTTP %ld (delivered)", r->status);
        break;
    case REQUEST_DROP:
        printf("rejected: HTTP %ld (the receiver refuses it; the service "
               "would not retry it but dead-letter it)", r->status);
        break;
    case REQUEST_RETRY:
        printf("failed: HTTP %ld (the service would retry it)", r->status);
        break;
    case REQUEST_GONE:
        printf("gone: HTTP %ld (the service would disable the sink until "
               "a reload)", r->status);
        break;
    }
    if (webhook_id && r->webhook_id[0])
        printf(", webhook-id %s", r->webhook_id);
    printf("\nresponse: %s\n", r->response);
}

/* PagerDuty and Alertmanager: the firing, then the resolve of the same
 * episode whatever the firing's answer (a timeout may hide an incident
 * that opened, or an alert Alertmanager keeps active until its endsAt).
 * Returns the exit status. */
static int send_pair(const struct sink_config *c, struct test_alert *t,
                     buf *doc, struct sent *res)
{
    int pd = c->kind == SINK_PAGERDUTY, trig_ok, rc;
    const char *kind = sink_kind_name(c->kind);
    const char *what = pd ? "incident" : "alert";
    const char *idname = pd ? "dedup_key" : "episode";

    if (send_test(c, t, doc, res) != 0)
        return CLI_EXIT_FAIL;
    printf("sink %s (%s): %s: ", t->sink, kind, pd ? "trigger" : "firing");
    print_answer(res, 0);
    trig_ok = res->outcome == REQUEST_OK;
    t->resolved_ms = clock_wall_ms();
    if (t->resolved_ms <= t->started_ms)
        t->resolved_ms = t->started_ms + 1;
    if (send_test(c, t, doc, res) != 0) {
        fprintf(stderr, "toolwatch send-test: the resolve was not sent: "
                "resolve the test %s (%s %s) by hand\n", what, idname,
                t->id);
        return CLI_EXIT_FAIL;
    }
    printf("sink %s (%s): resolve: ", t->sink, kind);
    print_answer(res, 0);
    rc = trig_ok && res->outcome == REQUEST_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    if (res->outcome == REQUEST_OK)
        printf("%s %s: %s\n", idname, t->id,
               trig_ok ? (pd ? "the test incident was opened and resolved"
                             : "the test alert was posted and resolved")
                       : "resolved (in case the first request got through)");
    else
        printf("%s %s: the resolve was not accepted: if the test %s is "
               "open, resolve it by hand\n", idname, t->id, what);
    return rc;
}

static void usage(FILE *f)
{
    fputs("usage: toolwatch send-test SINK -c FILE\n"
          "\n"
          "Send one test alert (rule \"" TEST_RULE "\", at the sink's\n"
          "min_severity) through the sink named SINK in FILE and print\n"
          "the receiver's answer.  To PagerDuty and Alertmanager a resolve\n"
          "of the same episode follows at once.  Exit status 0 when\n"
          "every request was answered 2xx.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE  the configuration that names SINK\n"
          "  -h, --help         this text\n",
          f);
}

int sendtest_main(int argc, char **argv)
{
    const char *path = NULL, *sink = NULL, *name;
    struct cfg *c = NULL;
    struct sink_config sc;
    struct test_alert t = {0};
    struct sent *res = NULL;
    char err[1024];
    buf doc;
    static const struct option opts[] = {
        CLI_OPT_HELP, CLI_OPT_CONFIG, CLI_OPT_END,
    };
    cli_args ar;
    int kind, rc = CLI_EXIT_USAGE;
    size_t i;
    int64_t now = clock_wall_ms();

    buf_init(&doc, TEST_DOC_MAX);
    if (cli_args_init(&ar, "send-test", argc, argv, opts) != 0)
        goto out;
    while ((kind = cli_next(&ar, &name)) != 0) {
        if (kind < 0) {
            goto out;
        } else if (kind == 1 && strcmp(name, "--config") == 0) {
            if ((path = cli_value(&ar, name)) == NULL)
                goto out;
        } else if (kind == 1 && strcmp(name, "--help") == 0) {
            usage(stdout);
            rc = CLI_EXIT_OK;
            goto out;
        } else if (kind == 2 && sink == NULL) {
            sink = name;
        } else {
            goto usage;
        }
    }
    if (path == NULL || sink == NULL)
        goto usage;
    rc = CLI_EXIT_FAIL;
    c = calloc(1, sizeof *c);
    res = calloc(1, sizeof *res);
    if (c == NULL || res == NULL)
        goto out;
    if (cfg_load(c, path, err, sizeof err) != CFG_OK) {
        fprintf(stderr, "toolwatch send-test: %s\n", err);
        goto out;
    }
    for (i = 0; i < c->n_sinks; i++) {
        if (strcmp(c->sinks[i].name, sink) == 0)
            break;
    }
    if (i == c->n_sinks) {
        fprintf(stderr, "toolwatch send-test: no sink named \"%s\" in %s\n",
                sink, path);
        goto out;
    }
    if (cfg_sink_config(c, i, &sc, err, sizeof err) != CFG_OK) {
        fprintf(stderr, "toolwatch send-test: %s\n", err);
        goto out;
    }
    t.sink = sink;
    t.instance = c->instance;
    t.severity = severity_name(sc.min_severity);
    t.started_ms = now;
    random_id(t.id, sizeof t.id);
    if (sc.min_severity != SEVERITY_INFO)
        printf("sink %s takes %s and above: the test alert is %s\n", sink,
               t.severity, t.severity);
    if (sc.kind == SINK_PAGERDUTY || sc.kind == SINK_ALERTMANAGER) {
        rc = send_pair(&sc, &t, &doc, res);
        goto out;
    }
    if (send_test(&sc, &t, &doc, res) != 0)
        goto out;
    printf("sink %s (%s): ", sink, sink_kind_name(sc.kind));
    if (sc.kind == SINK_FILE || sc.kind == SINK_STDOUT)
        printf("%s\n", res->outcome == REQUEST_OK ? "written" : res->error);
    else
        print_answer(res, sc.kind == SINK_WEBHOOK);
    rc = res->outcome == REQUEST_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    goto out;
usage:
    usage(stderr);
    rc = CLI_EXIT_USAGE;
out:
    buf_free(&doc);
    free(res);
    cfg_free(c);
    return rc;
}
