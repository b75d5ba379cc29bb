/*
 * tail.c - `toolwatch tail URL`: read the stream exactly as the service
 * does and print one NDJSON line per dispatched event on stdout:
 *
 *   {"id":"<last event ID in force>","event":"<type>","data":"<data>"}
 *
 * Nothing else goes to stdout (logs go to stderr), so the output can be
 * piped into jq or saved as a capture.  The line buffer is allocated once
 * with a cap derived from the event size cap.  Secrets (--api-key-env,
 * --header-env) are read from the environment and never printed.
 */
#include "app/tail.h"

#include "consumer/stream.h"
#include "base/buf.h"
#include "app/cli.h"
#include "base/log.h"
#include "base/loop.h"
#include "app/sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAIL_HEADER_NAME_MAX 256 /* a --header-env name, with the NUL */

/* --header-env NAME=VAR, split */
struct header_envs {
    char name[STREAM_MAX_HEADERS][TAIL_HEADER_NAME_MAX];
    const char *var[STREAM_MAX_HEADERS];
    size_t n;
};

struct tail {
    buf line;
    uint64_t printed;
    uint64_t max_events; /* 0: no limit */
    int write_failed;
};

void tail_usage(FILE *f)
{
    fputs(
        "usage: toolwatch tail URL [options]\n"
        "\n"
        "Print every event of an SSE audit stream as one NDJSON line:\n"
        "  {\"id\":\"<last event ID>\",\"event\":\"<type>\",\"data\":\"<data>\"}\n"
        "\n"
        "options:\n"
        "  --once                 do not reconnect; exit 0 when the server "
        "ends the stream\n"
        "  --max-events N         exit 0 after N events\n"
        "  --header 'Name: value' extra request header (repeatable)\n"
        "  --api-key-env VAR      send Authorization: Bearer $VAR\n"
        "  --header-env NAME=VAR  send the header NAME: $VAR (repeatable; "
        "never printed)\n"
        "  --last-event-id ID     resume after this event ID\n"
        "  --state-dir DIR        keep the last event ID in DIR/position\n"
        "  --stall-timeout-s N    reconnect after N s without a byte "
        "(default 45)\n"
        "  --retry-base-ms N      first reconnect delay (default 500; the "
        "stream's retry: wins)\n"
        "  --retry-max-ms N       reconnect delay cap, a Retry-After's\n"
        "                         included (default 30000)\n"
        "  --max-event-bytes N    largest event accepted (default 1048576)\n"
        "  --ca-file FILE         CA bundle for https (verification is "
        "always on)\n"
        "  --log-level L          debug, info (default), warning or error\n"
        "  --log-format F         text (default) or json\n"
        "  -h, --help             this text\n"
        "\n"
        "exit status: 0 ok, 1 failure, 2 usage error\n",
        f);
}

static int print_event(void *ud, const sse_event *ev)
{
    struct tail *t = ud;
    buf *b = &t->line;
    int rc;

    buf_reset(b);
    rc = buf_append_str(b, "{\"id\":");
    rc = rc ? rc : buf_append_json_string(b, ev->id, ev->id_len);
    rc = rc ? rc : buf_append_str(b, ",\"event\":");
    rc = rc ? rc : buf_append_json_string(b, ev->type, ev->type_len);
    rc = rc ? rc : buf_append_str(b, ",\"data\":");
    rc = rc ? rc : buf_append_json_string(b, ev->data, ev->data_len);
    rc = rc ? rc : buf_append_str(b, "}\n");
    if (rc != BUF_OK) {
        LOG(LOG_ERROR, "tail", "cannot format an event of %zu bytes",
            ev->data_len);
        return 0;
    }
    if (fwrite(b->data, 1, b->len, stdout) != b->len || fflush(stdout)) {
        LOG(LOG_ERROR, "tail", "cannot write to stdout");
        t->write_failed = 1;
        return 1;
    }
    t->printed++;
    return t->max_events != 0 && t->printed >= t->max_events;
}

static const struct stream_callbacks tail_callbacks = {
    .on_event = print_event,
    .on_state = NULL,
};

/* --header-env NAME=VAR into he; returns 0, or CLI_EXIT_USAGE. */
static int add_header_env(struct header_envs *he, const char *v)
{
    const char *eq = strchr(v, '=');
    size_t n = eq != NULL ? (size_t)(eq - v) : 0;

    if (he->n >= STREAM_MAX_HEADERS) {
        fprintf(stderr, "toolwatch tail: at most %d --header-env\n",
                STREAM_MAX_HEADERS);
        return CLI_EXIT_USAGE;
    }
    if (n == 0 || n >= TAIL_HEADER_NAME_MAX || eq[1] == '\0' ||
        memchr(v, ':', n) != NULL) {
        fprintf(stderr, "toolwatch tail: --header-env: expected NAME=VAR, "
                "a header name and the environment variable holding its "
                "value\n");
        return CLI_EXIT_USAGE;
    }
    memcpy(he->name[he->n], v, n);
    he->name[he->n][n] = '\0';
    he->var[he->n++] = eq + 1;
    return 0;
}

/* The --header-env values from the environment into cfg; returns 0, or
 * CLI_EXIT_USAGE when a variable is unset or empty (named, not quoted). */
static int resolve_header_envs(const struct header_envs *he,
                               struct stream_config *cfg)
{
    for (size_t i = 0; i < he->n; i++) {
        struct stream_secret_header *h = &cfg->secret_headers[i];

        h->name = he->name[i];
        h->env = he->var[i];
        h->value = getenv(he->var[i]);
        if (h->value == NULL || h->value[0] == '\0') {
            fprintf(stderr, "toolwatch tail: --header-env: environment "
                    "variable %s is %s\n", he->var[i],
                    h->value == NULL ? "not set" : "empty");
            return CLI_EXIT_USAGE;
        }
    }
    cfg->n_secret_headers = he->n;
    return 0;
}

/* Parse options into cfg; returns 0, or CLI_EXIT_USAGE. */
static int parse_options(int argc, char **argv, struct stream_config *cfg,
                         struct tail *t, const char **key_env,
                         struct header_envs *he)
{
    static const struct option opts[] = {
        CLI_OPT_HELP,
        {"once", no_argument, NULL, 0},
        {"max-events", required_argument, NULL, 0},
        {"header", required_argument, NULL, 0},
        {"api-key-env", required_argument, NULL, 0},
        {"header-env", required_argument, NULL, 0},
        {"last-event-id", required_argument, NULL, 0},
        {"state-dir", required_argument, NULL, 0},
        {"ca-file", required_argument, NULL, 0},
        {"stall-timeout-s", required_argument, NULL, 0},
        {"retry-base-ms", required_argument, NULL, 0},
        {"retry-max-ms", required_argument, NULL, 0},
        {"max-event-bytes", required_argument, NULL, 0},
        CLI_OPT_END,
    };
    cli_args a;
    const char *name, *v;
    uint64_t n;
    int kind;

    if (cli_args_init(&a, "tail", argc, argv, opts) != 0)
        return CLI_EXIT_USAGE;
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind < 0)
            return CLI_EXIT_USAGE;
        if (kind == 2) {
            if (cfg->url != NULL) {
                fprintf(stderr, "toolwatch tail: one URL only\n");
                return CLI_EXIT_USAGE;
            }
            cfg->url = name;
            continue;
        }
        if (strcmp(name, "--once") == 0) {
            cfg->once = 1;
            continue;
        }
        if (strcmp(name, "--help") == 0) {
            tail_usage(stdout);
            return -1;
        }
        if ((v = cli_value(&a, name)) == NULL)
            return CLI_EXIT_USAGE;
        if (strcmp(name, "--max-events") == 0) {
            if (cli_u64(name, v, 1, UINT64_MAX, &t->max_events))
                return CLI_EXIT_USAGE;
        } else if (strcmp(name, "--header") == 0) {
            if (cfg->n_headers >= STREAM_MAX_HEADERS) {
                fprintf(stderr, "toolwatch tail: at most %d headers\n",
                        STREAM_MAX_HEADERS);
                return CLI_EXIT_USAGE;
            }
            cfg->headers[cfg->n_headers++] = v;
        } else if (strcmp(name, "--api-key-env") == 0) {
            *key_env = v;
        } else if (strcmp(name, "--header-env") == 0) {
            if (add_header_env(he, v) != 0)
                return CLI_EXIT_USAGE;
        } else if (strcmp(name, "--last-event-id") == 0) {
            cfg->last_event_id = v;
        } else if (strcmp(name, "--state-dir") == 0) {
            cfg->state_dir = v;
        } else if (strcmp(name, "--ca-file") == 0) {
            cfg->ca_file = v;
        } else if (strcmp(name, "--stall-timeout-s") == 0) {
            if (cli_u64(name, v, 1, 86400, &n))
                return CLI_EXIT_USAGE;
            cfg->stall_timeout_ms = n * 1000;
        } else if (strcmp(name, "--retry-base-ms") == 0) {
            if (cli_u64(name, v, 1, 3600000, &cfg->retry_base_ms))
                return CLI_EXIT_USAGE;
        } else if (strcmp(name, "--retry-max-ms") == 0) {
            if (cli_u64(name, v, 1, 3600000, &cfg->retry_max_ms))
                return CLI_EXIT_USAGE;
        } else if (strcmp(name, "--max-event-bytes") == 0) {
            if (cli_u64(name, v, 64, 64u * 1024 * 1024, &n))
                return CLI_EXIT_USAGE;
            cfg->max_event_bytes = (size_t)n;
        } else {
            fprintf(stderr, "toolwatch tail: unknown option %s\n", name);
            return CLI_EXIT_USAGE;
        }
    }
    if (cfg->url == NULL) {
        tail_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cfg->retry_max_ms < cfg->retry_base_ms) {
        fprintf(stderr, "toolwatch tail: --retry-max-ms is below "
                "--retry-base-ms\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int tail_main(int argc, char **argv)
{
    struct stream_config cfg;
    struct tail t;
    struct header_envs he;
    const char *key_env = NULL;
    loop *lp = NULL;
    stream *s = NULL;
    int rc, wake;

    memset(&t, 0, sizeof t);
    memset(&he, 0, sizeof he);
    stream_config_defaults(&cfg);
    rc = parse_options(argc, argv, &cfg, &t, &key_env, &he);
    if (rc != 0) {
        rc = rc < 0 ? CLI_EXIT_OK : rc;
        goto out;
    }
    if (key_env != NULL) {
        cfg.api_key = getenv(key_env);
        cfg.api_key_env = key_env;
        if (cfg.api_key == NULL || cfg.api_key[0] == '\0') {
            fprintf(stderr, "toolwatch tail: --api-key-env: environment "
                    "variable %s is not set\n", key_env);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if ((rc = resolve_header_envs(&he, &cfg)) != 0)
        goto out;
    /* an event's JSON line: every byte escaped at worst, plus the id */
    buf_init(&t.line, cfg.max_event_bytes * 6 + SSE_LAST_ID_MAX * 6 + 1024);
    rc = CLI_EXIT_FAIL;
    wake = sig_setup();
    if ((lp = loop_create()) == NULL)
        goto out;
    loop_set_wake_fd(lp, wake);
    if ((s = stream_create(lp, &cfg, &tail_callbacks, &t)) == NULL)
        goto out;
    if (stream_start(s) != STREAM_OK)
        goto out;
    for (;;) {
        int64_t next = stream_tick(s);
        if (stream_state(s) == STREAM_DONE)
            break;
        if (loop_run_once(lp, next) == LOOP_WOKEN &&
            (sig_take() & SIG_TERM)) {
            LOG(LOG_INFO, "tail", "stopping on signal");
            stream_stop(s);
            break;
        }
    }
    rc = stream_ended_ok(s) && !t.write_failed ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
    stream_destroy(s);
    loop_destroy(lp);
    buf_free(&t.line);
    return rc;
}
