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
 * "global"), severity info, no value, a description, and a random episode
 * id, so it is never deduplicated against another alert.
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
static int test_document(buf *doc, const char *sink, const char *instance,
                         int64_t now_ms)
{
    cJSON *root = cJSON_CreateObject(), *data;
    unsigned char rnd[16];
    char id[2 * sizeof rnd + 1], ts[40], summary[256];
    char *text = NULL;
    int ok, rc = -1;

    randombytes_buf(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(id + 2 * i, 3, "%02x", rnd[i]);
    if (clock_format_iso8601(now_ms, ts, sizeof ts) < 0)
        goto out;
    snprintf(summary, sizeof summary,
             "TEST ALERT from toolwatch send-test through sink %s: if you "
             "can read this, delivery works. No action needed.", sink);
    ok = cJSON_AddStringToObject(root, "type", "alert.firing") != NULL;
    ok &= cJSON_AddStringToObject(root, "timestamp", ts) != NULL;
    data = cJSON_AddObjectToObject(root, "data");
    ok &= cJSON_AddStringToObject(data, "id", id) != NULL;
    ok &= cJSON_AddStringToObject(data, "rule", TEST_RULE) != NULL;
    ok &= cJSON_AddNullToObject(data, "kind") != NULL;
    ok &= cJSON_AddObjectToObject(data, "group") != NULL;
    ok &= cJSON_AddStringToObject(data, "key", "global") != NULL;
    ok &= cJSON_AddStringToObject(data, "state", "firing") != NULL;
    ok &= cJSON_AddStringToObject(data, "severity", "info") != NULL;
    ok &= cJSON_AddStringToObject(data, "summary", summary) != NULL;
    ok &= cJSON_AddNullToObject(data, "value") != NULL;
    ok &= cJSON_AddNullToObject(data, "threshold") != NULL;
    ok &= cJSON_AddNullToObject(data, "window_s") != NULL;
    ok &= cJSON_AddStringToObject(data, "started_at", ts) != NULL;
    ok &= cJSON_AddNullToObject(data, "resolved_at") != NULL;
    ok &= cJSON_AddObjectToObject(data, "labels") != NULL;
    ok &= cJSON_AddStringToObject(data, "description",
                                  "Sent by toolwatch send-test to check "
                                  "this sink's URL, secrets and format; no "
                                  "rule fired.") != NULL;
    ok &= cJSON_AddNullToObject(data, "runbook_url") != NULL;
    ok &= cJSON_AddObjectToObject(data, "sample") != NULL;
    ok &= cJSON_AddStringToObject(data, "source", instance) != NULL;
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

static void usage(FILE *f)
{
    fputs("usage: toolwatch send-test SINK -c FILE\n"
          "\n"
          "Send one test alert (rule \"" TEST_RULE "\", severity info)\n"
          "through the sink named SINK in FILE and print the receiver's\n"
          "answer.  Exit status 0 when it answered 2xx.\n"
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
    if (test_document(&doc, sink, c->instance, now) != 0 ||
        send_once(&sc, doc.data, doc.len, res) != 0) {
        fprintf(stderr, "toolwatch send-test: %s\n",
                res->error[0] ? res->error : "cannot send");
        goto out;
    }
    printf("sink %s (%s): ", sink, sink_kind_name(sc.kind));
    if (sc.kind == SINK_FILE || sc.kind == SINK_STDOUT)
        printf("%s\n", res->outcome == REQUEST_OK ? "written" : res->error);
    else if (res->status == 0)
        printf("no answer: %s\n", res->error);
    else
        printf("HTTP %ld (%s)%s%s\nresponse: %s\n", res->status,
               request_outcome_name(res->outcome),
               res->webhook_id[0] && sc.kind == SINK_WEBHOOK
                   ? ", webhook-id "
                   : "",
               sc.kind == SINK_WEBHOOK ? res->webhook_id : "",
               res->response);
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
