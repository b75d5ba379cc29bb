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
 *   corpus groups  FILE N RATE LEAD_S   every field a rule of
 *                                       bench/rules30.json groups by takes
 *                                       10,000 values: call k (of 10,000)
 *                                       has a tool, agent, session,
 *                                       category and downstream system of
 *                                       its own; each call is a request
 *                                       and a response
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

/* The fields of one synthetic call; the synthetic-key corpora other than
 * `groups` leave session = agent, category and downstream "bench". */
struct call {
    const char *tool, *category, *downstream;
    unsigned agent, session;
    int request;   /* a tool_call_request (pending), else a response */
    int error;     /* a response with status error and E_TIMEOUT */
};

/* A call with the shape (and about the size) of the simulator's records,
 * for the synthetic-key corpora. */
static size_t call_frame(char *out, size_t size, uint64_t n, int64_t ts_ms,
                         const struct call *c)
{
    char ts[32], tail[512];
    int len;

    if (clock_format_iso8601(ts_ms, ts, sizeof ts) < 0)
        ts[0] = '\0';
    if (c->request)
        snprintf(tail, sizeof tail,
                 "\"response_status\":\"pending\",\"correlation_id\":"
                 "\"corr-%llx\"",
                 (unsigned long long)n);
    else
        snprintf(
            tail, sizeof tail,
            "\"response_status\":\"%s\",\"response_payload_size_bytes\":"
            "%llu,\"execution_duration_ms\":%llu.125,\"tokens_consumed\":%llu,"
            "\"cost_usd\":0.001250,\"error_code\":%s,\"error_message\":null,"
            "\"downstream_system\":\"%s\",\"downstream_endpoint\":"
            "\"https://bench.internal/api\",\"correlation_id\":\"corr-%llx\"",
            c->error ? "error" : "success",
            (unsigned long long)(200 + n % 40000),
            (unsigned long long)(20 + n % 900),
            (unsigned long long)(50 + n % 1900),
            c->error ? "\"E_TIMEOUT\"" : "null", c->downstream,
            (unsigned long long)n);
    len = snprintf(
        out, size,
        "id: %llu\nevent: %s\ndata: {\"record_id\":\"rec-b-%llu\","
        "\"timestamp\":\"%s\",\"event_type\":\"%s\",\"session_id\":"
        "\"sess-%05u\",\"agent_id\":\"agent-%05u\",\"tool_name\":\"%s\","
        "\"tool_category\":\"%s\",%s}\n\n",
        (unsigned long long)n, c->request ? "tool_call_request"
                                         : "tool_call_response",
        (unsigned long long)n, ts,
        c->request ? "tool_call_request" : "tool_call_response", c->session,
        c->agent, c->tool, c->category, tail);
    if (len < 0)
        return 0;
    return (size_t)len < size ? (size_t)len : size - 1;
}

/* Event i of the `groups` corpus.  Call j = i / 2 (request, then its
 * response) is on key k = j % KEYS: tool k, and agent, session, category
 * and downstream system each a bijection of k, so every group_by of the
 * rule set (one, two or none of these fields) sees KEYS groups.  The round
 * r = j / KEYS picks the call's flavour, so that the rules that only see
 * some calls get their KEYS groups too: in round 0 the response is in
 * category `secrets` (the first step of both secret sequences; its request
 * keeps category k, or request_rate would count KEYS requests of one
 * category in 20 s), in round 1 an error (error_streak's step); the others
 * are plain successes.  Every tool name holds "auth" (for the
 * credential rule, grouped by agent).  A key comes round every 2 * KEYS
 * events (20 s at the bench's 1000 events/s), so no rule fires on these
 * calls: no count or sum nears its threshold, no ratio its min_count, no
 * sequence completes, a new_value group learns for 1800 s and an agent or
 * tool is quiet for 20 s at most.  (stream_stalled fires and resolves once
 * as the stream starts, as with the other corpora.) */
static size_t groups_frame(char *out, size_t size, uint64_t i, int64_t ts_ms)
{
    uint64_t j = i / 2, r = j / KEYS;
    unsigned k = (unsigned)(j % KEYS);
    char tool[32], category[32], downstream[32];
    struct call c = {tool, category, downstream,
                     (k * 7919u) % KEYS, (k * 4999u) % KEYS,
                     (int)(i % 2 == 0), 0};

    snprintf(tool, sizeof tool, "auth_tool_%05u", k);
    snprintf(downstream, sizeof downstream, "ds-%05u", (k * 3001u) % KEYS);
    if (r == 0 && !c.request)
        snprintf(category, sizeof category, "secrets");
    else
        snprintf(category, sizeof category, "cat-%05u", (k * 6007u) % KEYS);
    c.error = !c.request && r == 1;
    return call_frame(out, size, i, ts_ms, &c);
}

int main(int argc, char **argv)
{
    char frame[SIM_FRAME_MAX + 512], tool[64];
    unsigned long long n_events, bytes = 0;
    double rate, lead_s;
    int64_t start_ms, span_ms;
    struct call c = {tool, "bench", "bench", 0, 0, 0, 0};
    struct sim_gen_options o;
    sim_gen g;
    FILE *f = NULL;
    int rc = 1;

    if (argc != 6) {
        fprintf(stderr, "usage: corpus mixed|keys|tables|hostile|groups "
                        "FILE N RATE LEAD_S\n");
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
            c.agent = c.session = k % 100;
            len = call_frame(frame, sizeof frame, i, ts, &c);
        } else if (strcmp(argv[1], "tables") == 0) {
            unsigned k = (unsigned)(i % KEYS);
            /* half the tools match a credential keyword, so the agent-keyed
             * table fills as well; agent = a bijection of the tool */
            snprintf(tool, sizeof tool, "%s_%05u",
                     k % 2 ? "auth_check" : "db_query", k);
            c.agent = c.session = (k * 7919u) % KEYS;
            len = call_frame(frame, sizeof frame, i, ts, &c);
        } else if (strcmp(argv[1], "hostile") == 0) {
            snprintf(tool, sizeof tool, "tool_%016llx",
                     (unsigned long long)(i * 0x9e3779b97f4a7c15ull));
            c.agent = c.session = (unsigned)(i % 20);
            len = call_frame(frame, sizeof frame, i, ts, &c);
        } else if (strcmp(argv[1], "groups") == 0) {
            len = groups_frame(frame, sizeof frame, i, ts);
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
