/*
 * corpus.c - write the pre-rendered SSE corpora that bench/driver.c serves.
 *
 *   corpus mixed   FILE N RATE LEAD_S   the simulator's `mixed` scenario
 *                                       (sim/gen.h), every anomaly in turn
 *   corpus keys    FILE N RATE LEAD_S   10,000 distinct tool x agent keys:
 *                                       100 tools x 100 agents, every pair
 *   corpus tables  FILE N RATE LEAD_S   10,000 tools and 10,000 agents:
 *                                       every tool- and agent-keyed table
 *                                       holds max_keys (10,000) groups
 *   corpus hostile FILE N RATE LEAD_S   a tool name never seen before in
 *                                       every event (hostile cardinality)
 *
 * Why pre-rendered: the simulator formats each frame with snprintf at about
 * 240k events/s, slower than the pipeline it should feed; a file served with
 * sendfile(2) measures toolwatch, not the feeder.
 *
 * Event time: event n is stamped start + n / RATE, where start is chosen so
 * that the last event is LEAD_S seconds after the moment the corpus is
 * written.  With `allowed_lateness_s` set past the corpus's span (see
 * driver.c), a live `toolwatch run` started soon after counts every event
 * in its windows, as it would a live stream, instead of dropping them as
 * late; `replay` uses event time only.
 *
 * Output: the file, and one line on stdout: "N events, B bytes, span S s".
 */
#include "consumer/decode.h"
#include "base/clock.h"
#include "sim/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS 10000u

/* A completed call with the shape (and about the size) of the simulator's
 * responses, for the synthetic-key corpora. */
static size_t call_frame(char *out, size_t size, uint64_t n, int64_t ts_ms,
                         const char *tool, unsigned agent)
{
    char ts[32];
    int len;

    if (clock_format_iso8601(ts_ms, ts, sizeof ts) < 0)
        ts[0] = '\0';
    len = snprintf(
        out, size,
        "id: %llu\nevent: tool_call_response\ndata: {\"record_id\":"
        "\"rec-b-%llu\",\"timestamp\":\"%s\",\"event_type\":"
        "\"tool_call_response\",\"session_id\":\"sess-%05u\",\"agent_id\":"
        "\"agent-%05u\",\"tool_name\":\"%s\",\"tool_category\":\"bench\","
        "\"response_status\":\"success\",\"response_payload_size_bytes\":"
        "%llu,\"execution_duration_ms\":%llu.125,\"tokens_consumed\":%llu,"
        "\"cost_usd\":0.001250,\"error_code\":null,\"error_message\":null,"
        "\"downstream_system\":\"bench\",\"downstream_endpoint\":"
        "\"https://bench.internal/api\",\"correlation_id\":\"corr-%llx\"}"
        "\n\n",
        (unsigned long long)n, (unsigned long long)n, ts, agent, agent, tool,
        (unsigned long long)(200 + n % 40000),
        (unsigned long long)(20 + n % 900), (unsigned long long)(50 + n % 1900),
        (unsigned long long)n);
    if (len < 0)
        return 0;
    return (size_t)len < size ? (size_t)len : size - 1;
}

int main(int argc, char **argv)
{
    char frame[SIM_FRAME_MAX + 512], tool[64];
    unsigned long long n_events, bytes = 0;
    double rate, lead_s;
    int64_t start_ms, span_ms;
    struct sim_gen_options o;
    sim_gen g;
    FILE *f = NULL;
    int rc = 1;

    if (argc != 6) {
        fprintf(stderr, "usage: corpus mixed|keys|tables|hostile FILE N "
                        "RATE LEAD_S\n");
        return 2;
    }
    n_events = strtoull(argv[3], NULL, 10);
    rate = strtod(argv[4], NULL);
    lead_s = strtod(argv[5], NULL);
    if (n_events == 0 || !(rate > 0)) {
        fprintf(stderr, "corpus: N and RATE must be positive\n");
        return 2;
    }
    sim_gen_options_defaults(&o);
    o.scenario = SIM_MIXED;
    o.rate = rate;
    o.start_ms = 0;
    if (sim_gen_init(&g, &o) != SIM_OK) {
        fprintf(stderr, "corpus: bad generator options\n");
        return 2;
    }
    span_ms = strcmp(argv[1], "mixed") == 0
                  ? sim_gen_due_ms(&g, n_events - 1)
                  : (int64_t)((double)(n_events - 1) * 1000.0 / rate);
    start_ms = clock_wall_ms() + (int64_t)(lead_s * 1000.0) - span_ms;
    o.start_ms = start_ms;
    sim_gen_init(&g, &o);
    if ((f = fopen(argv[2], "w")) == NULL) {
        perror(argv[2]);
        goto out;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    for (unsigned long long i = 0; i < n_events; i++) {
        int64_t ts = start_ms + (int64_t)((double)i * 1000.0 / rate);
        size_t len;

        if (strcmp(argv[1], "mixed") == 0) {
            len = sim_gen_frame(&g, i, frame, sizeof frame);
        } else if (strcmp(argv[1], "keys") == 0) {
            /* pair k = (tool k / 100, agent k % 100); 1 in 10 tools is a
             * credential tool */
            unsigned k = (unsigned)(i % KEYS), t = k / 100;
            snprintf(tool, sizeof tool, "%s_%03u",
                     t % 10 == 0 ? "auth_check" : "db_query", t);
            len = call_frame(frame, sizeof frame, i, ts, tool, k % 100);
        } else if (strcmp(argv[1], "tables") == 0) {
            unsigned k = (unsigned)(i % KEYS);
            /* half the tools match a credential keyword, so the agent-keyed
             * table fills as well; agent = a bijection of the tool */
            snprintf(tool, sizeof tool, "%s_%05u",
                     k % 2 ? "auth_check" : "db_query", k);
            len = call_frame(frame, sizeof frame, i, ts, tool,
                             (unsigned)((k * 7919u) % KEYS));
        } else if (strcmp(argv[1], "hostile") == 0) {
            snprintf(tool, sizeof tool, "tool_%016llx",
                     (unsigned long long)(i * 0x9e3779b97f4a7c15ull));
            len = call_frame(frame, sizeof frame, i, ts, tool,
                             (unsigned)(i % 20));
        } else {
            fprintf(stderr, "corpus: unknown kind %s\n", argv[1]);
            goto out;
        }
        if (fwrite(frame, 1, len, f) != len) {
            perror(argv[2]);
            goto out;
        }
        bytes += len;
    }
    if (fclose(f) != 0) {
        f = NULL;
        perror(argv[2]);
        goto out;
    }
    f = NULL;
    printf("%llu events, %llu bytes, span %.0f s\n", n_events, bytes,
           (double)span_ms / 1000.0);
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    return rc;
}
