/*
 * sendtest.c - `toolwatch send-test SINK -c FILE`: send one clearly marked
 * test alert through a configured sink, now, and show what the receiver
 * answered.  It uses the sink's real settings (URL, signing secrets,
 * routing key, timeouts) but not the journal, routing or pacing, and a
 * fresh webhook-id, so a receiver never mistakes it for a real alert.
 */
#include "app/sendtest.h"

#include "alerts/document.h"
#include "alerts/delivery.h"
#include "config/config.h"
#include "base/buf.h"
#include "app/cli.h"
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fputs("usage: toolwatch send-test SINK -c FILE\n"
          "\n"
          "Send one test alert (detector \"send_test\", severity info)\n"
          "through the sink named SINK in FILE and print the receiver's\n"
          "answer.  Exit status 0 when it answered 2xx.\n",
          stderr);
}

int sendtest_main(int argc, char **argv)
{
    const char *path = NULL, *sink = NULL, *name;
    struct cfg *c = NULL;
    struct sink_config sc;
    struct delivery_test_result *res = NULL;
    struct alert a;
    char err[1024], summary[256];
    buf doc;
    cli_args ar;
    int kind, rc = CLI_EXIT_USAGE;
    size_t i;
    int64_t now = clock_wall_ms();

    buf_init(&doc, ALERT_DOC_MAX);
    cli_args_init(&ar, argc, argv, 1);
    while ((kind = cli_next(&ar, &name)) != 0) {
        if ((kind == 2 || kind == 1) && strcmp(name, "-c") == 0) {
            if (ar.i >= ar.argc)
                goto usage;
            path = ar.argv[ar.i++];
        } else if (kind == 1 && strcmp(name, "--config") == 0) {
            if ((path = cli_value(&ar, name)) == NULL)
                goto out;
        } else if (kind == 1 && strcmp(name, "--help") == 0) {
            usage();
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
    c = malloc(sizeof *c);
    res = malloc(sizeof *res);
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
    snprintf(summary, sizeof summary,
             "TEST ALERT from toolwatch send-test through sink %s: if you "
             "can read this, delivery works. No action needed.", sink);
    memset(&a, 0, sizeof a);
    a.timestamp_ms = now;
    a.detector = "send_test";
    a.group_by = "global";
    a.key = "send-test";
    a.severity = "info";
    a.summary = summary;
    a.started_ms = now;
    a.source = c->instance;
    alert_episode_id(a.detector, a.key, now, a.id);
    if (alert_format(&a, &doc) != ALERT_OK ||
        delivery_send_test(&sc, doc.data, doc.len, res) != DELIVERY_EOK) {
        fprintf(stderr, "toolwatch send-test: %s\n",
                res->error[0] ? res->error : "cannot send");
        goto out;
    }
    printf("sink %s (%s): ", sink, sink_kind_name(sc.kind));
    if (sc.kind == SINK_FILE || sc.kind == SINK_STDOUT)
        printf("%s\n", res->outcome == DELIVERY_OK ? "written" : res->error);
    else if (res->status == 0)
        printf("no answer: %s\n", res->error);
    else
        printf("HTTP %ld (%s)%s%s\nresponse: %s\n", res->status,
               delivery_outcome_name(res->outcome),
               res->webhook_id[0] && sc.kind == SINK_WEBHOOK
                   ? ", webhook-id "
                   : "",
               sc.kind == SINK_WEBHOOK ? res->webhook_id : "",
               res->response);
    rc = res->outcome == DELIVERY_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    goto out;
usage:
    usage();
    rc = CLI_EXIT_USAGE;
out:
    buf_free(&doc);
    free(res);
    free(c);
    return rc;
}
