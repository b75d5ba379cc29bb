/*
 * main.c - the toolwatch command: dispatch to a subcommand; first, for
 * those that read secrets, no core dumps (cli_no_core_dumps).
 */
#include "app/checkconfig.h"
#include "app/cli.h"
#include "app/replay.h"
#include "app/demo.h"
#include "app/run.h"
#include "app/sendtest.h"
#include "app/silencecmd.h"
#include "app/simulate.h"
#include "app/tail.h"
#include "base/log.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif

static void usage(FILE *f)
{
    fputs("usage: toolwatch [options] <command> [command options]\n"
          "\n"
          "toolwatch reads an AI-agent audit stream (Server-Sent Events) and\n"
          "alerts on anomalies.\n"
          "\n"
          "commands (toolwatch <command> --help for each):\n"
          "  demo         the whole pipeline on a simulated stream, no "
          "setup\n"
          "  run -c FILE  run the service\n"
          "  send-test SINK -c FILE  send one test alert through a sink\n"
          "  tail URL     print the stream's events as NDJSON\n"
          "  replay FILE  run the rules over a recorded stream, print "
          "the alerts\n"
          "  simulate     serve a synthetic audit stream\n"
          "  check-config -c FILE  validate a configuration\n"
          "  silence add|list|expire  silence alerts of the running service\n"
          "  ack ID       acknowledge an open alert: its repeats stop\n"
          "\n"
          "options (before the command or among its options):\n"
          "  -h, --help             this text\n"
          "  -V, --version          print the version\n"
          "  --log-level L          debug, info (default), warning or error\n"
          "                         (or TOOLWATCH_LOG_LEVEL)\n"
          "  --log-format F         text (default) or json: one JSON object\n"
          "                         per line (or TOOLWATCH_LOG_FORMAT)\n"
          "\n"
          "exit status: 0 ok, 1 failure, 2 usage error\n",
          f);
}

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    int secrets; /* reads secrets: no core dumps (cli_no_core_dumps) */
};

static const struct command commands[] = {
    {"run", run_main, 1},
    {"send-test", sendtest_main, 1},
    {"demo", demo_main, 0},
    {"replay", replay_main, 0},
    {"tail", tail_main, 1},
    {"simulate", simulate_main, 0},
    {"check-config", checkconfig_main, 1},
    {"silence", silencecmd_main, 0},
    {"ack", silencecmd_ack_main, 0},
};

/* The options before the command; returns the index of the command in
 * argv, or -1 with *rc set (help, version, usage error). */
static int global_options(int argc, char **argv, int *rc)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *rc = CLI_EXIT_USAGE;
    opterr = 0;
    /* "+": stop at the command, its options are its own */
    while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            *rc = CLI_EXIT_OK;
            return -1;
        case 'V':
            printf("toolwatch %s\n", TW_VERSION);
            *rc = CLI_EXIT_OK;
            return -1;
        case 'l':
            if (cli_log_level(NULL, "--log-level", optarg) != 0)
                return -1;
            break;
        case 'f':
            if (cli_log_format(NULL, "--log-format", optarg) != 0)
                return -1;
            break;
        default:
            fprintf(stderr, "toolwatch: %s %s\n",
                    c == ':' ? "option needs a value:" : "unknown option",
                    argv[optind - 1]);
            usage(stderr);
            return -1;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return -1;
    }
    if (strcmp(argv[optind], "help") == 0) {
        usage(stdout);
        *rc = CLI_EXIT_OK;
        return -1;
    }
    return optind;
}

int main(int argc, char **argv)
{
    const struct command *cmd = NULL;
    int rc = CLI_EXIT_USAGE, first;

    log_detect_journal();
    if (cli_log_env() != 0)
        return CLI_EXIT_USAGE;
    if ((first = global_options(argc, argv, &rc)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[first], commands[i].name) == 0)
            cmd = &commands[i];
    }
    if (cmd == NULL) {
        fprintf(stderr, "toolwatch: unknown command \"%s\"\n", argv[first]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "toolwatch: cannot initialise libcurl\n");
        return CLI_EXIT_FAIL;
    }
    /* the subcommands that read secrets: none in a core dump */
    if (cmd->secrets && cli_no_core_dumps(cmd->name) != 0)
        rc = CLI_EXIT_FAIL;
    else
        rc = cmd->main(argc - first, argv + first);
    curl_global_cleanup();
    return rc;
}
