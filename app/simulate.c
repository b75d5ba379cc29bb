/*
 * simulate.c - `toolwatch simulate`: the workload for the demo, the
 * integration tests and the benchmarks.
 *
 * Prints the stream's URL as the only line on stdout once it listens (so a
 * script can start it with --port 0 and read where it is), then serves
 * until SIGTERM/SIGINT.  With --output it serves nothing: it writes the
 * first --total events of the same timeline to a file (a capture to
 * replay; the build's profile-guided pass trains on one) and exits.
 */
#include "app/simulate.h"

#include "consumer/decode.h"
#include "app/cli.h"
#include "base/clock.h"
#include "base/log.h"
#include "app/sig.h"
#include "sim/gen.h"
#include "sim/server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs(
        "usage: toolwatch simulate [options]\n"
        "\n"
        "Serve a synthetic AI-agent audit stream over SSE on 127.0.0.1.\n"
        "The stream's URL is printed on stdout.\n"
        "\n"
        "options:\n"
        "  --port N           port (default 0: any free port)\n"
        "  --bind ADDR        IPv4 address (default 127.0.0.1)\n"
        "  --rate N           events per second (default 50; a call is two\n"
        "                     events, request and response)\n"
        "  --seed N           random seed (default 1)\n"
        "  --scenario NAME    normal, volume-spike, error-burst, slow-calls,\n"
        "                     large-payload, credential-spike, stall, mixed\n"
        "                     (each anomaly in turn), secret-then-egress,\n"
        "                     new-tool, shared-session, fan-out,\n"
        "                     cost-runaway, rate-spike, dead-agent, or\n"
        "                     mixed-rules (all but stall in turn), or demo\n"
        "                     (what `toolwatch demo` plays: every anomaly of\n"
        "                     its nine rules, fast); default normal\n"
        "                     (docs/rules.md, the cookbook)\n"
        "  --phase-s N        length of an anomaly phase (default 20)\n"
        "  --quiet-s N        normal traffic before and between phases\n"
        "                     (default 20)\n"
        "  --total N          end the stream after N events\n"
        "  --unpaced          send every event at once (benchmarks)\n"
        "  --from-start       a client with no Last-Event-ID gets the\n"
        "                     timeline from its first event (default: from\n"
        "                     the live edge, as an audit service does)\n"
        "  --heartbeat-ms N   comment heartbeat when idle (default 5000)\n"
        "  --start-time ISO   timestamp of event 0 (default: now; earlier:\n"
        "                     a source whose timestamps lag the wall clock)\n"
        "  --output FILE      serve nothing: write the first --total events\n"
        "                     to FILE as an SSE capture (- for stdout), for\n"
        "                     `toolwatch replay`, and exit\n"
        "  -h, --help         this text\n",
        f);
}

static int parse(int argc, char **argv, struct sim_server_options *o,
                 const char **output)
{
    static const struct option opts[] = {
        CLI_OPT_HELP,
        {"port", required_argument, NULL, 0},
        {"bind", required_argument, NULL, 0},
        {"rate", required_argument, NULL, 0},
        {"seed", required_argument, NULL, 0},
        {"scenario", required_argument, NULL, 0},
        {"phase-s", required_argument, NULL, 0},
        {"quiet-s", required_argument, NULL, 0},
        {"total", required_argument, NULL, 0},
        {"unpaced", no_argument, NULL, 0},
        {"from-start", no_argument, NULL, 0},
        {"heartbeat-ms", required_argument, NULL, 0},
        {"start-time", required_argument, NULL, 0},
        {"output", required_argument, NULL, 0},
        CLI_OPT_END,
    };
    cli_args a;
    const char *name, *v;
    uint64_t n;
    int kind;

    if (cli_args_init(&a, "simulate", argc, argv, opts) != 0)
        return CLI_EXIT_USAGE;
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind < 0)
            return CLI_EXIT_USAGE;
        if (kind != 1) {
            fprintf(stderr, "toolwatch simulate: unexpected argument %s\n",
                    kind == 2 ? name : "");
            return CLI_EXIT_USAGE;
        }
        if (strcmp(name, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(name, "--from-start") == 0) {
            o->from_start = 1;
            continue;
        }
        if (strcmp(name, "--unpaced") == 0) {
            o->unpaced = 1;
            continue;
        }
        if ((v = cli_value(&a, name)) == NULL)
            return CLI_EXIT_USAGE;
        if (strcmp(name, "--port") == 0) {
            if (cli_u64(name, v, 0, 65535, &n))
                return CLI_EXIT_USAGE;
            o->port = (uint16_t)n;
        } else if (strcmp(name, "--bind") == 0) {
            o->bind_addr = v;
        } else if (strcmp(name, "--rate") == 0) {
            if (cli_u64(name, v, 1, 10000000, &n))
                return CLI_EXIT_USAGE;
            o->gen.rate = (double)n;
        } else if (strcmp(name, "--seed") == 0) {
            if (cli_u64(name, v, 0, UINT64_MAX, &o->gen.seed))
                return CLI_EXIT_USAGE;
        } else if (strcmp(name, "--scenario") == 0) {
            int sc = sim_scenario_parse(v);
            if (sc < 0) {
                fprintf(stderr, "toolwatch simulate: --scenario: unknown "
                        "scenario \"%s\"\n", v);
                return CLI_EXIT_USAGE;
            }
            o->gen.scenario = (enum sim_scenario)sc;
        } else if (strcmp(name, "--phase-s") == 0) {
            if (cli_u64(name, v, 1, 86400, &n))
                return CLI_EXIT_USAGE;
            o->gen.phase_ms = (uint32_t)(n * 1000);
        } else if (strcmp(name, "--quiet-s") == 0) {
            if (cli_u64(name, v, 1, 86400, &n))
                return CLI_EXIT_USAGE;
            o->gen.quiet_ms = (uint32_t)(n * 1000);
        } else if (strcmp(name, "--total") == 0) {
            if (cli_u64(name, v, 1, UINT64_MAX, &o->total))
                return CLI_EXIT_USAGE;
        } else if (strcmp(name, "--heartbeat-ms") == 0) {
            if (cli_u64(name, v, 10, 3600000, &n))
                return CLI_EXIT_USAGE;
            o->heartbeat_ms = (uint32_t)n;
        } else if (strcmp(name, "--start-time") == 0) {
            int64_t ms;
            if (clock_parse_iso8601(v, strlen(v), &ms) != 0) {
                fprintf(stderr, "toolwatch simulate: --start-time: expected "
                        "an ISO 8601 time, got \"%s\"\n", v);
                return CLI_EXIT_USAGE;
            }
            o->gen.start_ms = ms;
        } else if (strcmp(name, "--output") == 0) {
            *output = v;
        } else {
            fprintf(stderr, "toolwatch simulate: unknown option %s\n", name);
            return CLI_EXIT_USAGE;
        }
    }
    if (*output != NULL && o->total == 0) {
        fprintf(stderr, "toolwatch simulate: --output needs --total N\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* --output: events 0 .. total - 1 of the timeline, as the server would
 * send them, to `path` ("-": stdout). */
static int write_capture(const struct sim_server_options *o,
                         const char *path)
{
    sim_gen g;
    char frame[SIM_FRAME_MAX];
    FILE *f = NULL;
    int rc = CLI_EXIT_FAIL;

    if (sim_gen_init(&g, &o->gen) != SIM_OK) {
        fprintf(stderr, "toolwatch simulate: invalid generator options\n");
        goto out;
    }
    f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "toolwatch simulate: %s: %s\n", path,
                strerror(errno));
        goto out;
    }
    for (uint64_t n = 0; n < o->total; n++) {
        size_t len = sim_gen_frame(&g, n, frame, sizeof frame);

        if (fwrite(frame, 1, len, f) != len)
            break;
    }
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "toolwatch simulate: %s: %s\n", path,
                strerror(errno));
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    if (f != NULL && f != stdout && fclose(f) != 0 && rc == CLI_EXIT_OK) {
        fprintf(stderr, "toolwatch simulate: %s: %s\n", path,
                strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    return rc;
}

int simulate_main(int argc, char **argv)
{
    struct sim_server_options o;
    sim_server *srv = NULL;
    const char *output = NULL;
    int rc, wake;

    sim_server_options_defaults(&o);
    o.gen.start_ms = clock_wall_ms();
    rc = parse(argc, argv, &o, &output);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (output != NULL)
        return write_capture(&o, output);
    wake = sig_setup();
    srv = sim_server_start(&o);
    if (srv == NULL)
        return CLI_EXIT_FAIL;
    printf("http://%s:%u/stream\n", o.bind_addr, sim_server_port(srv));
    fflush(stdout);
    LOG(LOG_INFO, "sim", "serving scenario %s at %.0f events/s on "
        "http://%s:%u/stream", sim_scenario_name(o.gen.scenario), o.gen.rate,
        o.bind_addr, sim_server_port(srv));
    for (;;) {
        struct pollfd p = {wake, POLLIN, 0};
        char buf[16];
        if (poll(&p, 1, -1) > 0) {
            while (read(wake, buf, sizeof buf) > 0)
                ;
        }
        if (sig_take() & SIG_TERM)
            break;
    }
    {
        struct sim_server_stats st;
        sim_server_get_stats(srv, &st);
        LOG(LOG_INFO, "sim", "stopping: %llu connections, %llu events sent",
            (unsigned long long)st.connections,
            (unsigned long long)st.events_sent);
    }
    sim_server_stop(srv);
    return CLI_EXIT_OK;
}
