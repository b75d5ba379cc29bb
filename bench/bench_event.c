/*
 * bench_event.c - decode rate of event_decode() on a realistic audit record
 * (~450 bytes: every field the detectors use, as a producer writes it).
 *
 * Prints "event decoder: X events/s" for the fastest batch of 2000 decodes
 * (on a shared machine the fastest batch is the one nothing interrupted)
 * and the mean over all.  The record sits in a buffer without a NUL
 * terminator, as curl hands it over.  Runs for about one second; exit
 * status 1 if a decode fails (the numbers would be meaningless).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer/decode.h"

static const char record[] =
    "{\"record_id\":\"7f3c2a9e-4b1d-4e8a-9c55-0d2f6b8e1a47\","
    "\"timestamp\":\"2026-03-10T02:47:23.123456+00:00\","
    "\"event_type\":\"tool_call_response\","
    "\"session_id\":\"sess-8d41c0\",\"agent_id\":\"support-agent-3\","
    "\"tool_name\":\"postgres_query\",\"tool_category\":\"database\","
    "\"response_status\":\"success\","
    "\"response_payload_size_bytes\":48213,"
    "\"execution_duration_ms\":182.4,"
    "\"tokens_consumed\":1337,\"cost_usd\":0.0213,"
    "\"error_code\":null,\"error_message\":null,"
    "\"downstream_system\":\"postgres\",\"correlation_id\":\"corr-51aa\"}";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    size_t len = sizeof record - 1;
    char *buf = malloc(len);
    struct event ev;
    event_counters c = { 0 };
    unsigned long n = 0, i;
    double t0, t1, dt, best = 1e30;
    int rc = 1;

    if (buf == NULL)
        goto out;
    memcpy(buf, record, len);
    t0 = now_s();
    do {
        t1 = now_s();
        for (i = 0; i < 2000; i++) {
            if (event_decode(&ev, buf, len, NULL, 0, &c) != EVENT_OK)
                goto out;
        }
        n += i;
        dt = now_s() - t1;
        if (dt < best)
            best = dt;
        dt = now_s() - t0;
    } while (dt < 1.0);
    printf("event decoder: %.0f events/s (%zu-byte record, best batch %.0f "
           "ns/event, mean %.0f ns/event)\n",
           2000.0 / best, len, best * 1e9 / 2000.0, dt * 1e9 / (double)n);
    rc = 0;
out:
    free(buf);
    return rc;
}
