/*
 * bench_sse.c - throughput of the SSE push parser (consumer/sse.c).
 *
 * Builds an in-memory stream of realistic audit events (~100k events of
 * `id: N`, `event: tool_call_response` and a ~400-byte JSON `data:` line,
 * with a comment heartbeat every 1000 events), feeds it to the parser in
 * 16 KiB chunks, several passes per run, and prints the best of 5 runs:
 *   sse parser: X MB/s, Y events/s
 * No I/O and no allocation happen inside the timed loop.  The event
 * callback only sums the data lengths, so that the work is not optimised
 * away and every event is checked to have arrived.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer/sse.h"

#define EVENTS 100000
#define CHUNK 16384
#define PASSES 5
#define RUNS 5

typedef struct sink {
    uint64_t events;
    uint64_t data_bytes;
} sink;

static int on_event(void *ud, const sse_event *ev)
{
    sink *s = ud;

    s->events++;
    s->data_bytes += ev->data_len;
    return 0;
}

static const sse_settings settings = {on_event, NULL, NULL, NULL};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Build the corpus; returns its length, or 0 if out of memory. */
static size_t build(char **out)
{
    static const char *const tools[] = {"postgres_query", "salesforce_get",
                                        "jira_create_issue", "vault_read_secret",
                                        "http_fetch"};
    size_t cap = (size_t)EVENTS * 640, len = 0, i;
    char *buf = malloc(cap);

    if (buf == NULL)
        return 0;
    for (i = 0; i < EVENTS; i++) {
        int n;
        if (i % 1000 == 0) {
            n = snprintf(buf + len, cap - len, ": heartbeat %zu\n\n", i);
            len += (size_t)n;
        }
        n = snprintf(
            buf + len, cap - len,
            "id: %zu\nevent: tool_call_response\ndata: {\"record_id\":"
            "\"rec-%08zu-7f3a9c2e\",\"timestamp\":\"2026-03-10T02:47:%02zu."
            "123456+00:00\",\"event_type\":\"tool_call_response\","
            "\"session_id\":\"sess-%04zu\",\"agent_id\":\"agent-%03zu\","
            "\"tool_name\":\"%s\",\"tool_category\":\"database\","
            "\"response_status\":\"success\","
            "\"response_payload_size_bytes\":%zu,"
            "\"execution_duration_ms\":%zu.25,\"tokens_consumed\":%zu,"
            "\"cost_usd\":0.0042,\"error_code\":null,\"error_message\":null,"
            "\"downstream_system\":\"crm\",\"correlation_id\":\"corr-%zu\"}"
            "\n\n",
            i, i, i % 60, i % 5000, i % 200, tools[i % 5], 1000 + i % 9000,
            10 + i % 900, 50 + i % 700, i * 7);
        len += (size_t)n;
    }
    *out = buf;
    return len;
}

int main(void)
{
    char *corpus = NULL;
    size_t len = build(&corpus);
    double best = 1e30;
    sse_parser p;
    sink s;
    int run, rc = 1;

    if (len == 0) {
        fprintf(stderr, "bench_sse: out of memory\n");
        goto out;
    }
    if (sse_parser_init(&p, &settings, &s, 0) != SSE_OK) {
        fprintf(stderr, "bench_sse: parser init failed\n");
        goto out;
    }
    for (run = 0; run < RUNS; run++) {
        double t0, dt;
        int pass;

        memset(&s, 0, sizeof(s));
        t0 = now_s();
        for (pass = 0; pass < PASSES; pass++) {
            size_t off;
            sse_parser_reset_stream(&p);
            for (off = 0; off < len; off += CHUNK) {
                size_t n = len - off < CHUNK ? len - off : CHUNK;
                if (sse_parser_execute(&p, corpus + off, n) != SSE_OK) {
                    fprintf(stderr, "bench_sse: execute failed\n");
                    goto free_parser;
                }
            }
        }
        dt = now_s() - t0;
        if (s.events != (uint64_t)EVENTS * PASSES) {
            fprintf(stderr, "bench_sse: %llu events, expected %llu\n",
                    (unsigned long long)s.events,
                    (unsigned long long)EVENTS * PASSES);
            goto free_parser;
        }
        if (dt < best)
            best = dt;
    }
    printf("sse parser: %.0f MB/s, %.0f events/s (%zu bytes, %d events "
           "x %d passes, %d-byte chunks, best of %d)\n",
           (double)len * PASSES / best / 1e6, (double)EVENTS * PASSES / best,
           len, EVENTS, PASSES, CHUNK, RUNS);
    rc = 0;
free_parser:
    sse_parser_free(&p);
out:
    free(corpus);
    return rc;
}
