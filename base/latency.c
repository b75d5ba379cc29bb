/*
 * latency.c - the latency histogram's buckets and observation.
 *
 * Invariants: le[] is cumulative (le[i] <= le[i + 1] <= count) and no
 * counter wraps: each saturates.
 */
#include "base/latency.h"

const int64_t latency_bounds_ms[LATENCY_BUCKETS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
    1800000,
};

static void inc(uint64_t *c)
{
    *c += *c < UINT64_MAX;
}

void latency_observe(struct latency_hist *h, int64_t ms)
{
    uint64_t v = ms > 0 ? (uint64_t)ms : 0;

    for (unsigned i = 0; i < LATENCY_BUCKETS; i++)
        if ((int64_t)v <= latency_bounds_ms[i])
            inc(&h->le[i]);
    inc(&h->count);
    h->sum_ms = h->sum_ms > UINT64_MAX - v ? UINT64_MAX : h->sum_ms + v;
}
