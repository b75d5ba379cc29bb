/*
 * latency.h - a fixed-bucket latency histogram (Prometheus's histogram
 * type): counts per upper bound, their sum and their count.
 *
 * The bounds are fixed at build time (latency_bounds_ms), the same for
 * every sink, so the histogram is a plain struct: no allocation, copied by
 * value into the status snapshot.  Pure: the caller measures the latency.
 */
#ifndef TW_LATENCY_H
#define TW_LATENCY_H

#include <stdint.h>

/* The upper bounds, in ms (each bucket's `le`, +Inf implicit):
 * 0.05 0.1 0.25 0.5 1 2.5 5 10 30 60 300 1800 s.  A notification delivered
 * at once lands in the first few; a retried one in the seconds; one held
 * by a receiver's outage in the minutes. */
#define LATENCY_BUCKETS 12
extern const int64_t latency_bounds_ms[LATENCY_BUCKETS];

struct latency_hist {
    uint64_t le[LATENCY_BUCKETS]; /* cumulative: observations <= bound */
    uint64_t count;               /* all observations (le="+Inf") */
    uint64_t sum_ms;              /* their sum, saturated */
};

/* Count one observation of `ms` (negative: 0, a wall clock stepped back).
 * Every counter saturates at UINT64_MAX. */
void latency_observe(struct latency_hist *h, int64_t ms);

#endif
