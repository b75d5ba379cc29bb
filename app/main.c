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

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif

static void usage(FILE *f)
{
    fputs("usage: toolwatch <command> [options]\n"
          "\n"
          "toolwatch reads an AI-agent audit stream (Server-Sent Events) and\n"
          "alerts on anomalies.\n"
          "\n"
          "commands:\n"
          "  demo         the whole pipeline on a simulated stream, no "
          "setup\n"
          "  run -c FILE  run the service (toolwatch run --help)\n"
          "  send-test SINK -c FILE  send one test alert through a sink\n"
          "  tail URL     print the stream's events as NDJSON "
          "(toolwatch tail --help)\n"
          "  replay FILE  run the rules over a recorded stream, print "
          "the alerts\n"
          "               (toolwatch replay --help)\n"
          "  simulate     serve a synthetic audit stream "
          "(toolwatch simulate --help)\n"
          "  check-config FILE  validate a configuration, print it in full\n"
          "  silence add|list|expire  silence alerts of the running service\n"
          "               (toolwatch silence --help)\n"
          "  ack ID       acknowledge an open alert: its repeats stop\n"
          "               (toolwatch ack --help)\n"
          "\n"
          "  --help       this text\n"
          "  --version    print the version\n",
          f);
}

int main(int argc, char **argv)
{
    int rc = CLI_EXIT_USAGE;

    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("toolwatch %s\n", TW_VERSION);
        return CLI_EXIT_OK;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "toolwatch: cannot initialise libcurl\n");
        return CLI_EXIT_FAIL;
    }
    /* the subcommands that read secrets: none in a core dump */
    if ((strcmp(argv[1], "run") == 0 || strcmp(argv[1], "tail") == 0 ||
         strcmp(argv[1], "send-test") == 0 ||
         strcmp(argv[1], "check-config") == 0) &&
        cli_no_core_dumps(argv[1]) != 0) {
        rc = CLI_EXIT_FAIL;
    } else if (strcmp(argv[1], "run") == 0) {
        rc = run_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "send-test") == 0) {
        rc = sendtest_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "demo") == 0) {
        rc = demo_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "replay") == 0) {
        rc = replay_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "tail") == 0) {
        rc = tail_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "simulate") == 0) {
        rc = simulate_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "check-config") == 0) {
        rc = checkconfig_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "silence") == 0) {
        rc = silencecmd_main(argc - 1, argv + 1);
    } else if (strcmp(argv[1], "ack") == 0) {
        rc = silencecmd_ack_main(argc - 1, argv + 1);
    } else {
        fprintf(stderr, "toolwatch: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
    }
    curl_global_cleanup();
    return rc;
}
