/*
 * sendtest.c - `toolwatch send-test SINK -c FILE [--rule NAME] [--force]`:
 * send one clearly marked test alert through a configured sink, now, and
 * show what the receiver answered.  It uses the sink's real settings (URL,
 * signing secrets, routing key, timeouts) and the outbox's request
 * (alerts/request.h: the same body, headers, signature and transfer rules)
 * but not the journal or pacing, and a fresh webhook-id, so a receiver
 * never mistakes it for a real alert.  The send blocks: nothing else runs
 * meanwhile.
 *
 * The test alert is a SPEC section 3 document of its own: the one group
 * ({}, key "global"), no value, a summary that says it is a test, and a
 * random episode id, so it is never deduplicated against another alert.
 * It is made as if rule NAME (--rule) had fired: that rule's name, kind,
 * severity, labels, description and runbook_url; without --rule, as the
 * synthetic rule "toolwatch_test": kind null, no labels, at the lowest
 * severity the sink takes (its min_severity: info unless set).
 *
 * Routing: the alert is sent only when the service itself would send it
 * to the sink (alerts/sink.h sink_routes: min_severity, the rule globs,
 * the labels).  Otherwise the command says which of them refuses it and
 * exits 1 without sending, unless --force, which sends it all the same
 * (and says so).  A test that reaches a receiver the real alerts never
 * would only hides a routing mistake.
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
#include "detectors/rule.h"
#include "base/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
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
/* room for a rule's description, runbook_url and labels, escaped */
#define TEST_DOC_MAX (32u * 1024u)
#define WHY_MAX 1024

/* The test alert: through sink `sink` of instance `instance`, as rule
 * `rule` (NULL: the synthetic TEST_RULE, kind null, no labels). */
struct test_alert {
    const char *sink, *instance, *severity;
    const struct rule *rule;
    char id[33];          /* the episode id: 32 hex, the PagerDuty
                             dedup_key */
    int64_t started_ms;
    int64_t resolved_ms;  /* 0: the firing; else the resolve */
};

static const char *test_rule_name(const struct test_alert *t)
{
    return t->rule != NULL ? t->rule->name : TEST_RULE;
}

/* A rule's optional text: the string, or null when empty. */
static int add_opt(cJSON *o, const char *key, const char *v)
{
    return (v[0] != '\0' ? cJSON_AddStringToObject(o, key, v)
                          : cJSON_AddNullToObject(o, key)) != NULL;
}

/* The test alert's document, into *doc.  Returns 0, or -1 (out of
 * memory). */
static int test_document(buf *doc, const struct test_alert *t)
{
    cJSON *root = cJSON_CreateObject(), *data;
    char ts[40], end[40], summary[256 + RULE_NAME_MAX];
    const char *sink = t->sink;
    const struct rule *r = t->rule;
    cJSON *labels;
    char *text = NULL;
    int ok, rc = -1, resolved = t->resolved_ms != 0;

    buf_reset(doc);
    if (clock_format_iso8601(t->started_ms, ts, sizeof ts) < 0 ||
        (resolved &&
         clock_format_iso8601(t->resolved_ms, end, sizeof end) < 0))
        goto out;
    snprintf(summary, sizeof summary,
             "TEST ALERT from toolwatch send-test through sink %s%s%s: if "
             "you can read this, delivery works. No action needed.", sink,
             r != NULL ? " as rule " : "", r != NULL ? r->name : "");
    ok = cJSON_AddStringToObject(root, "type", resolved ? "alert.resolved"
                                                        : "alert.firing") !=
         NULL;
    ok &= cJSON_AddStringToObject(root, "timestamp", resolved ? end : ts) !=
          NULL;
    data = cJSON_AddObjectToObject(root, "data");
    ok &= cJSON_AddStringToObject(data, "id", t->id) != NULL;
    ok &= cJSON_AddStringToObject(data, "rule", test_rule_name(t)) != NULL;
    ok &= (r != NULL ? cJSON_AddStringToObject(data, "kind",
                                               rule_kinds[r->kind].name)
                     : cJSON_AddNullToObject(data, "kind")) != NULL;
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
    ok &= (labels = cJSON_AddObjectToObject(data, "labels")) != NULL;
    for (uint32_t i = 0; ok && r != NULL && i < r->nlabels; i++)
        ok &= cJSON_AddStringToObject(labels, r->labels[i].key,
                                      r->labels[i].value) != NULL;
    if (r != NULL) {
        ok &= add_opt(data, "description", r->description);
        ok &= add_opt(data, "runbook_url", r->runbook_url);
    } else {
        ok &= cJSON_AddStringToObject(data, "description",
                                      "Sent by toolwatch send-test to check "
                                      "this sink's URL, secrets and format; "
                                      "no rule fired.") != NULL;
        ok &= cJSON_AddNullToObject(data, "runbook_url") != NULL;
    }
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

/* Append text to why (size bytes), after `sep` when why is not empty;
 * cut when full. */
static void why_add(char *why, size_t size, const char *sep,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void why_add(char *why, size_t size, const char *sep,
                    const char *fmt, ...)
{
    size_t n = strnlen(why, size), k = strlen(sep);
    va_list ap;

    if (n > 0 && n + k < size) {
        memcpy(why + n, sep, k + 1);
        n += k;
    }
    if (n + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(why + n, size - n, fmt, ap);
    va_end(ap);
}

/* Would the service send t to sink c?  1: yes; 0: no, with every reason
 * in why ("rule toolwatch_test is not in its rules [page_*]; label
 * team=sec* missing").  Each part of the sink's routing is tried alone
 * with sink_routes(), so the verdict and the reasons are the service's
 * own. */
static int routes_to(const struct sink_config *c, const struct test_alert *t,
                     char *why, size_t size)
{
    const char *names[RULE_LABELS_MAX], *values[RULE_LABELS_MAX];
    struct sink_route route = {0};
    struct sink_config one = *c;
    const struct rule *r = t->rule;

    why[0] = '\0';
    for (uint32_t i = 0; r != NULL && i < r->nlabels && i < RULE_LABELS_MAX;
         i++) {
        names[i] = r->labels[i].key;
        values[i] = r->labels[i].value;
        route.nlabels = i + 1;
    }
    route.rule = test_rule_name(t);
    route.severity = t->severity;
    route.label_names = names;
    route.label_values = values;
    if (sink_routes(c, &route))
        return 1;
    one.n_rules = 0;
    one.n_labels = 0;
    if (!sink_routes(&one, &route))
        why_add(why, size, "; ", "severity %s is below its min_severity %s",
                t->severity, severity_name(c->min_severity));
    one.min_severity = SEVERITY_INFO;
    one.n_rules = c->n_rules;
    if (!sink_routes(&one, &route)) {
        why_add(why, size, "; ", "rule %s is not in its rules [",
                route.rule);
        for (size_t i = 0; i < c->n_rules; i++)
            why_add(why, size, i > 0 ? ", " : "", "%s", c->rules[i]);
        why_add(why, size, "", "]");
    }
    one.n_rules = 0;
    one.n_labels = 1;
    for (size_t i = 0; i < c->n_labels; i++) {
        unsigned k = 0;

        one.label_names[0] = c->label_names[i];
        one.label_values[0] = c->label_values[i];
        if (sink_routes(&one, &route))
            continue;
        while (k < route.nlabels && strcmp(names[k], c->label_names[i]) != 0)
            k++;
        why_add(why, size, "; ", "label %s=%s missing", c->label_names[i],
                c->label_values[i]);
        if (k < route.nlabels)
            why_add(why, size, " ", "(rule %s has %s=%s)", route.rule,
                    names[k], values[k]);
    }
    if (why[0] == '\0')
        why_add(why, size, "", "its routing refuses it");
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
    fputs("usage: toolwatch send-test SINK -c FILE [--rule NAME] [--force]\n"
          "\n"
          "Send one test alert through the sink named SINK in FILE and\n"
          "print the receiver's answer.  The alert is made as if rule NAME\n"
          "had fired (its kind, severity, labels, description and\n"
          "runbook_url); without --rule, as the rule \"" TEST_RULE "\" at\n"
          "the sink's min_severity.  When the sink's routing (min_severity,\n"
          "rules, labels) would not give it that alert, send-test says why\n"
          "and exits 1 without sending, unless --force.  To PagerDuty and\n"
          "Alertmanager a resolve of the same episode follows at once.\n"
          "Exit status 0 when every request was answered 2xx.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE  the configuration that names SINK\n"
          "  -r, --rule NAME    test as this rule of FILE\n"
          "  -f, --force        send even when the sink's routing would not\n"
          "  -h, --help         this text\n",
          f);
}

int sendtest_main(int argc, char **argv)
{
    const char *path = NULL, *sink = NULL, *rule = NULL, *name;
    struct cfg *c = NULL;
    struct sink_config sc;
    struct test_alert t = {0};
    struct sent *res = NULL;
    struct cfg_report_file report = {stderr, "toolwatch send-test: "};
    char err[1024], why[WHY_MAX];
    buf doc;
    static const struct option opts[] = {
        CLI_OPT_HELP, CLI_OPT_CONFIG,
        {"rule", required_argument, NULL, 'r'},
        {"force", no_argument, NULL, 'f'},
        CLI_OPT_END,
    };
    cli_args ar;
    int kind, force = 0, rc = CLI_EXIT_USAGE;
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
        } else if (kind == 1 && strcmp(name, "--rule") == 0) {
            if ((rule = cli_value(&ar, name)) == NULL)
                goto out;
        } else if (kind == 1 && strcmp(name, "--force") == 0) {
            force = 1;
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
    if (cfg_load_report(c, path, environ, cfg_report_print, &report, NULL,
                        0) != CFG_OK)
        goto out;
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
    if (rule != NULL && (t.rule = rule_set_find(c->rules, rule)) == NULL) {
        fprintf(stderr, "toolwatch send-test: no rule named \"%s\" in %s\n",
                rule, path);
        goto out;
    }
    t.sink = sink;
    t.instance = c->instance;
    t.severity = severity_name(t.rule != NULL
                                   ? (enum severity)t.rule->severity
                                   : sc.min_severity);
    t.started_ms = now;
    random_id(t.id, sizeof t.id);
    if (t.rule == NULL && sc.min_severity != SEVERITY_INFO)
        printf("sink %s takes %s and above: the test alert is %s\n", sink,
               t.severity, t.severity);
    if (!routes_to(&sc, &t, why, sizeof why)) {
        if (!force) {
            fprintf(stderr, "toolwatch send-test: sink %s would not receive "
                    "this alert: %s\ntoolwatch send-test: nothing sent; "
                    "--rule NAME tests as a rule the sink takes, --force "
                    "sends it anyway\n", sink, why);
            goto out;
        }
        printf("sink %s would not receive this alert: %s; sending it "
               "anyway (--force)\n", sink, why);
    }
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
