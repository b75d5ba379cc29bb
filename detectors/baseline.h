/*
 * baseline.h - the per-group state of the `baseline` rule kind: the
 * current time bucket's value against a band learned from the group's own
 * recent buckets.
 *
 * SPEC §2: per group, buckets are aligned to multiples of bucket_s since
 * the epoch; a bucket's value is its matching events (or the sum of a
 * number field); an empty bucket is 0.  Once the group has `history`
 * closed buckets since its first event, it fires while the current
 * bucket's running value >= min_value and > band, where
 *     band = median + deviation * max(1.4826 * MAD, 0.1 * median, 1)
 * over the last `history` closed buckets; it clears when a closed
 * bucket's value <= its band.
 *
 * Precisely: bucket b covers [b * bucket_ms, (b + 1) * bucket_ms) of event
 * time.  The group's first bucket F is the one holding `now` at its first
 * event; the current bucket is the one holding the newest now; bucket b
 * has a band when b - F >= history, computed from buckets b - history ..
 * b - 1 (those skipped by a gap in time are 0).  An event whose bucket
 * has closed (before the current one) is late: reported, not counted.
 * The caller gives each event's amount (1 to count, or the field's value
 * to sum).
 *
 * Cost: adding an event is O(1) when no bucket closes: the band of the
 * current bucket is computed once, when it opens.  Moving to a later
 * bucket closes the current one and any skipped by a gap (O(min(gap,
 * history)) to write zeros) and computes at most two bands (the newest
 * closed bucket's, when a gap skipped buckets, and the new bucket's):
 * each is an exact median and MAD by selection on a copy in a scratch
 * buffer the caller provides (baseline_spec.scratch_size bytes, one per
 * rule or per engine: nothing keeps pointers into it), O(history)
 * expected, O(history log history) at worst.  Nothing allocates, reads a
 * clock or does I/O; the state holds no pointers.
 *
 * Memory per group: baseline_spec.size = 48 + 8 * history bytes; the
 * scratch buffer 8 * history bytes (per caller, not per group):
 *
 *   history   bytes per group
 *   1         56
 *   60        528 (the default)
 *   1440      11 568
 *   10080     80 688 (the largest)
 */
#ifndef TW_BASELINE_H
#define TW_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#define BASELINE_MAX_HISTORY 10080u
#define BASELINE_MAX_BUCKET_MS 31536000000LL /* 365 days */
#define BASELINE_MAX_DEVIATION 1e6

enum { BASELINE_OK = 0, BASELINE_LATE = 1, BASELINE_EINVAL = -1 };

/* A rule's parameters, shared by its groups; read-only after
 * baseline_spec_init().  Fields private except the two sizes. */
typedef struct baseline_spec {
    int64_t bucket_ms;
    uint32_t history;
    double deviation;
    double min_value;
    size_t size;         /* bytes of one group's state */
    size_t scratch_size; /* bytes of the scratch buffer (8 * history) */
} baseline_spec;

/* One group's state: baseline_spec.size bytes, 8-byte aligned.  All
 * fields private; read them with baseline_level(). */
typedef struct baseline_state {
    int64_t first; /* the group's first bucket (INT64_MIN: no event yet) */
    int64_t cur;   /* the current bucket */
    double value;  /* its running value */
    double band;   /* its band; NaN while the group is not ready */
    double median; /* the median and MAD the band came from */
    double mad;
    double ring[]; /* closed bucket b at b mod history */
} baseline_state;

/* The current bucket at the newest now seen. */
struct baseline_level {
    int ready;      /* the group has `history` closed buckets */
    int above;      /* ready, value >= min_value and value > band */
    int64_t bucket; /* INT64_MIN before the group's first event */
    double value;   /* the running value */
    double band;    /* NaN when not ready */
    double median;
    double mad;
};

/* What a move to a later bucket closed: the newest closed bucket (an
 * earlier one, closed in the same move, is superseded by it). */
struct baseline_closed {
    int64_t buckets; /* buckets closed by this call: 0 when none */
    int64_t bucket;  /* the newest of them */
    int judged;      /* it had a band */
    int clear;       /* judged and value <= band: the clear condition */
    double value;
    double band;     /* NaN when not judged */
};

/* Fill *s for buckets of bucket_ms (1 .. BASELINE_MAX_BUCKET_MS), history
 * (1 .. BASELINE_MAX_HISTORY), deviation (0 .. BASELINE_MAX_DEVIATION) and
 * a finite min_value.  Returns BASELINE_OK or BASELINE_EINVAL. */
int baseline_spec_init(baseline_spec *s, int64_t bucket_ms, uint32_t history,
                       double deviation, double min_value);

/* Make `st` (s->size bytes, 8-byte aligned) the state of a new group. */
void baseline_reset(const baseline_spec *s, baseline_state *st);

/* Move the group to the bucket holding now_ms, closing the ones before it
 * (nothing before the group's first event, or when now_ms is not in a
 * later bucket).  `scratch`: s->scratch_size bytes, 8-byte aligned, used
 * during the call only.  *closed (not NULL) says what closed. */
void baseline_advance(const baseline_spec *s, baseline_state *st,
                      int64_t now_ms, double *scratch,
                      struct baseline_closed *closed);

/* Add `amount` (finite) for an event at t_ms, the newest event time being
 * now_ms: advances as baseline_advance() does (filling *closed), then
 * counts it in the current bucket.  Returns BASELINE_OK, BASELINE_LATE
 * (its bucket has closed: not counted) or BASELINE_EINVAL (amount not
 * finite: not counted). */
int baseline_add(const baseline_spec *s, baseline_state *st, int64_t now_ms,
                 int64_t t_ms, double amount, double *scratch,
                 struct baseline_closed *closed);

/* The current bucket's level.  O(1). */
void baseline_level(const baseline_spec *s, const baseline_state *st,
                    struct baseline_level *out);

/* When the current bucket closes (the start of the next), INT64_MAX
 * before the group's first event. */
int64_t baseline_next_close(const baseline_spec *s, const baseline_state *st);

/* The exact median and median absolute deviation of x[0..n-1] (n >= 1),
 * the median of an even count being the mean of the middle two.  x is not
 * changed; scratch holds n doubles.  O(n) expected, O(n log n) at worst. */
void baseline_median_mad(const double *x, uint32_t n, double *scratch,
                         double *median, double *mad);

/* Reorder a[0..n-1] (n >= 1) so that a[k] (k < n) is its k-th smallest
 * value, 0-based, with nothing larger before it and nothing smaller after
 * it; returns a[k].  After `rounds` partition rounds (< 0: 2 log2(n) + 8,
 * what baseline_median_mad uses) the rest is heapsorted. */
double baseline_select(double *a, uint32_t n, uint32_t k, int rounds);

#endif
