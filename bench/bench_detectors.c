/*
 * bench_detectors.c - throughput of the rule engine with the six default
 * rules (detectors/engine.c), and its memory per group.
 *
 * Corpus (generated in memory, deterministic): a pool of 8192 decoded
 * events over 50 tools (3 of them credential tools), 200 agents and 2000
 * sessions; 96 % successful responses, 4 % errors; payloads mostly under
 * 100 KB with a rare 2 MB one, durations mostly under 500 ms with a rare
 * 8 s one; one tool gets a burst that trips volume.  1M events are fed in
 * event-time order (2 ms apart: about 33 minutes of event time), each with
 * a fresh record id (so the duplicate filter works for real) and its
 * timestamp written into the pooled struct: that is all the loop does
 * besides det_engine_feed().  Best of 5 runs, a fresh engine per run.
 *
 * A second corpus is hostile: 1M events, each with a tool name never seen
 * before, through the default 10000-group cap (every insert evicts).
 *
 * Prints:
 *   rule engine: X events/s (N alerts, engine resident KB)
 *   hostile distinct tools: X events/s (E evictions, engine resident KB)
 *   memory per group: ...
 */
#include "detectors/engine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define POOL 8192
#define EVENTS 1000000
#define RUNS 5
#define T0 1773108000000LL

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write i as 16 hex digits at p (the record id's varying part). */
static void put_hex(char *p, uint64_t i)
{
    static const char hex[] = "0123456789abcdef";

    for (int k = 15; k >= 0; k--) {
        p[k] = hex[i & 15];
        i >>= 4;
    }
}

static void make_pool(struct event *pool)
{
    static const char *const cred[] = {"get_secret", "vault_token_read",
                                       "oauth_refresh"};

    for (int i = 0; i < POOL; i++) {
        struct event *ev = &pool[i];
        unsigned tool = (unsigned)(rnd() % 50);
        uint64_t r = rnd() % 1000;

        memset(ev, 0, sizeof *ev);
        ev->has = EVENT_HAS_TIMESTAMP | EVENT_HAS_PAYLOAD |
                  EVENT_HAS_DURATION;
        if (i % 64 < 8) /* a burst: one tool gets 1/8 of all calls */
            tool = 7;
        if (tool < 3)
            snprintf(ev->tool_name, sizeof ev->tool_name, "%s", cred[tool]);
        else
            snprintf(ev->tool_name, sizeof ev->tool_name, "tool_%02u_query",
                     tool);
        snprintf(ev->agent_id, sizeof ev->agent_id, "agent-%03u",
                 (unsigned)(rnd() % 200));
        snprintf(ev->session_id, sizeof ev->session_id,
                 "3f2a9c1e-%04u-4d6b-9a51-7c0e2b8d4f11",
                 (unsigned)(rnd() % 2000));
        snprintf(ev->record_id, sizeof ev->record_id,
                 "rec-0000000000000000");
        if (r < 40) {
            ev->type = EVENT_TOOL_CALL_ERROR;
            ev->status = EVENT_STATUS_ERROR;
            snprintf(ev->error_code, sizeof ev->error_code, "TIMEOUT");
        } else {
            ev->type = EVENT_TOOL_CALL_RESPONSE;
            ev->status = EVENT_STATUS_SUCCESS;
        }
        ev->payload_bytes = r == 999 ? 2000000 : (int64_t)(rnd() % 100000);
        ev->duration_ms = r == 998 ? 8000.0 : (double)(rnd() % 500);
    }
}

/* Resident memory of the process in KB (/proc/self/statm), 0 if unknown. */
static long rss_kb(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
        res = 0;
    fclose(f);
    return res * 4;
}

static uint64_t alerts;

static void on_alert(void *ud, const struct alert *a)
{
    (void)ud;
    (void)a;
    alerts++;
}

static const struct det_engine_callbacks cb = {.on_alert = on_alert};

/* One timed run: events/s. */
static double run(const struct det_engine_params *cfg, struct event *pool,
                  int hostile, uint64_t *evictions, long *rss_growth)
{
    long rss0 = rss_kb();
    det_engine *e = det_engine_create(cfg, NULL, "bench", &cb, NULL);
    struct det_rule_info ri;
    double t0, t1;

    if (e == NULL) {
        fprintf(stderr, "bench_detectors: cannot create the engine\n");
        exit(1);
    }
    alerts = 0;
    t0 = now_s();
    for (uint64_t i = 0; i < EVENTS; i++) {
        struct event *ev = &pool[i & (POOL - 1)];
        ev->ts_ms = T0 + (int64_t)i * 2;
        put_hex(ev->record_id + 4, i);
        if (hostile)
            put_hex(ev->tool_name + 5, i); /* "tool_<16 hex>" */
        det_engine_feed(e, ev, 0);
    }
    t1 = now_s();
    *rss_growth = rss_kb() - rss0;
    det_engine_rule_info(e, 0, &ri); /* volume */
    if (evictions != NULL)
        *evictions = ri.evicted;
    det_engine_destroy(e);
    return (double)EVENTS / (t1 - t0);
}

int main(void)
{
    struct event *pool = malloc(sizeof *pool * POOL);
    struct det_engine_params cfg;
    det_engine *e;
    double best = 0, hbest = 0;
    long rss = 0, hrss = 0;
    uint64_t ev = 0;
    struct rusage ru;
    size_t alert_bytes = 0;

    if (pool == NULL)
        return 1;
    det_engine_params_defaults(&cfg);
    make_pool(pool);
    for (int r = 0; r < RUNS; r++) {
        double x = run(&cfg, pool, 0, NULL, &rss);
        if (x > best)
            best = x;
    }
    printf("rule engine: %.0f events/s (6 default rules, %d events, %llu "
           "alerts, engine resident %ld KB)\n",
           best, EVENTS, (unsigned long long)alerts, rss);
    for (int i = 0; i < POOL; i++) /* room for the hex tool names */
        snprintf(pool[i].tool_name, sizeof pool[i].tool_name,
                 "tool_0000000000000000");
    for (int r = 0; r < RUNS; r++) {
        double x = run(&cfg, pool, 1, &ev, &hrss);
        if (x > hbest)
            hbest = x;
    }
    printf("hostile distinct tools: %.0f events/s (%llu evictions of "
           "volume, cap %lld, engine resident %ld KB)\n",
           hbest, (unsigned long long)ev, (long long)cfg.max_keys, hrss);
    printf("memory per group (bytes, resident once touched):\n");
    if ((e = det_engine_create(&cfg, NULL, "bench", &cb, NULL)) == NULL)
        return 1;
    for (uint32_t i = 0; i < det_engine_nrules(e); i++) {
        struct det_rule_info ri;
        det_engine_rule_info(e, i, &ri);
        printf("  %-18s %-9s %6zu\n", ri.name, ri.kind, ri.group_bytes);
        alert_bytes = ri.alert_bytes;
    }
    det_engine_destroy(e);
    printf("  + %zu per group with an open alert (key text, sample)\n",
           alert_bytes);
    {
        /* detectors/dedupe.h: 8 * N + 8 * (power of two >= 2N) */
        long long n = cfg.dedupe_window, t = 2;
        while (t < 2 * n)
            t <<= 1;
        printf("  + dedupe of %lld ids: %lld bytes\n", n, 8 * n + 8 * t);
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("max RSS of this benchmark: %ld KB (incl. the %zu KB event "
           "pool)\n",
           ru.ru_maxrss, sizeof *pool * POOL / 1024);
    free(pool);
    return 0;
}
