/*
 * baseline.c - a bucket's value against the band of the group's recent
 * buckets (see baseline.h for the semantics, costs and memory per group).
 *
 * Invariants, once the group has seen an event:
 *   - ring[b mod history] holds the value of closed bucket b for every b
 *     in [cur - history, cur - 1] at or after the first bucket (0 for an
 *     empty one); entries for buckets before the first are 0 and never
 *     used (a band needs `history` closed buckets since the first);
 *   - band, median and mad are those of ring (buckets cur - history ..
 *     cur - 1) when cur - first >= history, else band is NaN.
 *
 * The median and MAD come from selection: quickselect with the median of
 * three pivots taken at positions from a fixed xorshift sequence (ends
 * and middle would make a seasonal history, rising then falling, a worst
 * case) and a three-way partition (runs of equal values, common in
 * counts, cost one pass).  After 2 log2(n) + 8 partition rounds the rest
 * is heapsorted, which bounds the worst case to O(n log n).
 */
#include "detectors/baseline.h"

#include "base/buf.h"
#include "detectors/checkpoint.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE INT64_MIN

/* a mod n in [0, n), n > 0 (C's % truncates towards zero). */
static int64_t mod_floor(int64_t a, int64_t n)
{
    int64_t m = a % n;

    return m < 0 ? m + n : m;
}

/* The bucket holding time t: floor(t / bucket_ms), negative times too. */
static int64_t bucket_of(const baseline_spec *s, int64_t t)
{
    return (t - mod_floor(t, s->bucket_ms)) / s->bucket_ms;
}

static uint32_t ring_pos(const baseline_spec *s, int64_t b)
{
    return (uint32_t)mod_floor(b, s->history);
}

int baseline_spec_init(baseline_spec *s, int64_t bucket_ms, uint32_t history,
                       double deviation, double min_value)
{
    if (bucket_ms < 1 || bucket_ms > BASELINE_MAX_BUCKET_MS ||
        history < 1 || history > BASELINE_MAX_HISTORY ||
        !(deviation >= 0 && deviation <= BASELINE_MAX_DEVIATION) ||
        !isfinite(min_value))
        return BASELINE_EINVAL;
    s->bucket_ms = bucket_ms;
    s->history = history;
    s->deviation = deviation;
    s->min_value = min_value;
    s->size = sizeof(baseline_state) + (size_t)history * sizeof(double);
    s->scratch_size = (size_t)history * sizeof(double);
    return BASELINE_OK;
}

void baseline_reset(const baseline_spec *s, baseline_state *st)
{
    st->first = NONE;
    st->cur = NONE;
    st->value = 0;
    st->band = st->median = st->mad = NAN;
    memset(st->ring, 0, (size_t)s->history * sizeof(double));
}

/* ---- selection ---------------------------------------------------- */

static void swap_at(double *a, int i, int j)
{
    double x = a[i];

    a[i] = a[j];
    a[j] = x;
}

static void sift_down(double *a, int root, int n)
{
    for (;;) {
        int c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (a[root] >= a[c])
            return;
        swap_at(a, root, c);
        root = c;
    }
}

static void heap_sort(double *a, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift_down(a, i, n);
    for (int end = n - 1; end > 0; end--) {
        swap_at(a, 0, end);
        sift_down(a, 0, end);
    }
}

static double median_of_3(double x, double y, double z)
{
    if (x > y) {
        double t = x;
        x = y;
        y = t;
    }
    /* x <= y */
    return z <= x ? x : z >= y ? y : z;
}

/* A position in [lo, hi] from a xorshift32 sequence. */
static int pick(uint32_t *rng, int lo, int hi)
{
    uint32_t x = *rng;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *rng = x;
    return lo + (int)(x % (uint32_t)(hi - lo + 1));
}

double baseline_select(double *a, uint32_t n, uint32_t kth, int rounds)
{
    uint32_t rng = 0x9e3779b9u;
    int lo = 0, hi = (int)n - 1, k = (int)kth;

    if (rounds < 0) {
        rounds = 8;
        for (uint32_t m = n; m > 1; m >>= 1)
            rounds += 2;
    }
    while (lo < hi) {
        double p;
        int lt = lo, i = lo, gt = hi;
        if (rounds-- == 0) {
            heap_sort(a + lo, hi - lo + 1);
            break;
        }
        p = median_of_3(a[pick(&rng, lo, hi)], a[pick(&rng, lo, hi)],
                        a[pick(&rng, lo, hi)]);
        /* [lo, lt) < p, [lt, i) == p, (gt, hi] > p */
        while (i <= gt) {
            if (a[i] < p)
                swap_at(a, lt++, i++);
            else if (a[i] > p)
                swap_at(a, i, gt--);
            else
                i++;
        }
        if (k < lt)
            hi = lt - 1;
        else if (k > gt)
            lo = gt + 1;
        else
            return a[k];
    }
    return a[k];
}

/* The median of a[0..n-1], reordering it. */
static double median_in_place(double *a, int n)
{
    int k = n / 2;
    double hi = baseline_select(a, (uint32_t)n, (uint32_t)k, -1), lo;

    if (n % 2 == 1)
        return hi;
    /* the lower middle: the largest of a[0..k-1], all <= a[k] */
    lo = a[0];
    for (int i = 1; i < k; i++)
        if (a[i] > lo)
            lo = a[i];
    return (lo + hi) / 2;
}

void baseline_median_mad(const double *x, uint32_t n, double *scratch,
                         double *median, double *mad)
{
    double m;

    memcpy(scratch, x, (size_t)n * sizeof(double));
    m = median_in_place(scratch, (int)n);
    for (uint32_t i = 0; i < n; i++)
        scratch[i] = fabs(x[i] - m);
    *median = m;
    *mad = median_in_place(scratch, (int)n);
}

/* ---- buckets ------------------------------------------------------ */

/* The band of bucket b from the ring (buckets b - history .. b - 1), or
 * NaN when the group has fewer closed buckets. */
static void compute_band(const baseline_spec *s, baseline_state *st,
                         int64_t b, double *scratch)
{
    double spread;

    if (b - st->first < (int64_t)s->history) {
        st->band = st->median = st->mad = NAN;
        return;
    }
    baseline_median_mad(st->ring, s->history, scratch, &st->median,
                        &st->mad);
    spread = fmax(fmax(1.4826 * st->mad, 0.1 * st->median), 1.0);
    st->band = st->median + s->deviation * spread;
}

/* Write 0 for the empty buckets from..to (inclusive). */
static void zero_buckets(const baseline_spec *s, baseline_state *st,
                         int64_t from, int64_t to)
{
    if (to - from + 1 >= (int64_t)s->history) {
        memset(st->ring, 0, (size_t)s->history * sizeof(double));
        return;
    }
    for (int64_t b = from; b <= to; b++)
        st->ring[ring_pos(s, b)] = 0;
}

__attribute__((hot))
void baseline_advance(const baseline_spec *s, baseline_state *st,
                      int64_t now_ms, double *scratch,
                      struct baseline_closed *closed)
{
    int64_t nb = bucket_of(s, now_ms);

    memset(closed, 0, sizeof *closed);
    closed->band = NAN;
    if (st->first == NONE || nb <= st->cur)
        return;
    /* the current bucket closes with the band it had */
    closed->buckets = nb - st->cur;
    closed->bucket = st->cur;
    closed->value = st->value;
    closed->band = st->band;
    st->ring[ring_pos(s, st->cur)] = st->value;
    if (nb - st->cur >= 2) {
        /* skipped buckets are empty; the newest of them is judged on
         * the band of the buckets before it */
        zero_buckets(s, st, st->cur + 1, nb - 2);
        compute_band(s, st, nb - 1, scratch);
        closed->bucket = nb - 1;
        closed->value = 0;
        closed->band = st->band;
        st->ring[ring_pos(s, nb - 1)] = 0;
    }
    closed->judged = !isnan(closed->band);
    closed->clear = closed->judged && closed->value <= closed->band;
    st->cur = nb;
    st->value = 0;
    compute_band(s, st, nb, scratch);
}

__attribute__((hot))
int baseline_add(const baseline_spec *s, baseline_state *st, int64_t now_ms,
                 int64_t t_ms, double amount, double *scratch,
                 struct baseline_closed *closed)
{
    if (st->first == NONE) {
        st->first = st->cur = bucket_of(s, now_ms);
        st->value = 0;
    }
    baseline_advance(s, st, now_ms, scratch, closed);
    if (!isfinite(amount))
        return BASELINE_EINVAL;
    if (t_ms > now_ms)
        t_ms = now_ms;
    if (bucket_of(s, t_ms) < st->cur)
        return BASELINE_LATE;
    st->value += amount;
    return BASELINE_OK;
}

void baseline_level(const baseline_spec *s, const baseline_state *st,
                    struct baseline_level *out)
{
    out->ready = !isnan(st->band);
    out->bucket = st->cur;
    out->value = st->value;
    out->band = st->band;
    out->median = st->median;
    out->mad = st->mad;
    out->above = out->ready && st->value >= s->min_value &&
                 st->value > st->band;
}

int64_t baseline_next_close(const baseline_spec *s, const baseline_state *st)
{
    if (st->first == NONE)
        return INT64_MAX;
    return (st->cur + 1) * s->bucket_ms;
}

/* ---- the `baseline` rule kind (kind.h) ---------------------------------
 * A group's events (or the sum of `field`) per bucket of bucket_s against
 * the band of its own last `history` closed buckets; value = the bucket's
 * value, threshold = the band, window_s = bucket_s.  It fires while the
 * current bucket is above (an event's moment); it clears when a closed
 * bucket's value is at or under its band.  The scratch buffer of the
 * median and MAD is the rule's (8 * history bytes, r->priv).  Memory per
 * group: baseline_spec.size = 48 + 8 * history bytes (528 at the default
 * history of 60).  In a checkpoint: the first and current buckets, the
 * running value, the history and its ring, 28 + 8 * history bytes (508
 * at 60); the band, median and MAD are computed again from the ring.
 */

static int kind_create(struct det_rule *r)
{
    const struct rule_params *p = &r->rule->p;

    if (baseline_spec_init(&r->spec.baseline, p->bucket_s * 1000,
                           (uint32_t)p->history, p->deviation,
                           p->min_value) != BASELINE_OK)
        return -1;
    r->stride = r->spec.baseline.size;
    r->priv = malloc(r->spec.baseline.scratch_size);
    return r->priv != NULL ? 0 : -1;
}

static void kind_destroy(struct det_rule *r)
{
    free(r->priv);
    r->priv = NULL;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    baseline_reset(&r->spec.baseline, det_state(r, slot));
}

/* The verdict after a move that closed `c`: a clear closed bucket clears
 * (its value and band are reported), the current bucket above fires,
 * anything else keeps an open alert open. */
__attribute__((hot))
static void verdict(struct det_rule *r, uint32_t slot,
                    const struct baseline_closed *c, struct det_verdict *v)
{
    const baseline_state *st = det_state(r, slot);
    struct baseline_level l;

    baseline_level(&r->spec.baseline, st, &l);
    v->slot = slot;
    v->extra = v->text = NULL;
    v->next_ms = baseline_next_close(&r->spec.baseline, st);
    if (l.above || !(c->buckets > 0 && c->clear)) {
        v->level = l.above ? DET_ABOVE : DET_BETWEEN;
        v->value = l.value;
        v->aux[0] = l.band;
        v->aux[1] = l.median;
        return;
    }
    v->level = DET_CLEAR;
    v->value = c->value;
    v->aux[0] = c->band;
    v->aux[1] = l.median;
}

static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    struct baseline_closed c;

    baseline_advance(&r->spec.baseline, det_state(r, slot), now, r->priv,
                     &c);
    verdict(r, slot, &c, v);
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    const struct rule_params *p = &r->rule->p;
    struct baseline_closed c;
    double amount = 1;
    uint32_t slot;
    int rc;

    if (p->has_field && !match_number(in->ev, p->field, &amount))
        return 0;
    if ((slot = det_group(r, in)) == DET_NIL)
        return 0;
    rc = baseline_add(&r->spec.baseline, det_state(r, slot), in->now_ms,
                      in->t_ms, amount, r->priv, &c);
    if (rc == BASELINE_LATE)
        r->late++;
    if (rc != BASELINE_OK)
        return 0;
    r->counted++;
    verdict(r, slot, &c, v);
    return v->level == DET_ABOVE || det_pinned(r, slot);
}

/* "tool postgres_query: 1840 calls in this 60 s bucket, above its usual
 * band of 210 (median 150)" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    const struct rule_params *p = &r->rule->p;
    char g[DET_KEY_MAX + 64], val[32], band[32], med[32];
    char what[EVENT_META_NAME_MAX + 32];

    det_describe(r, a, 0, g, sizeof g);
    if (p->has_field)
        match_field_name(p->field, p->meta, what, sizeof what);
    else
        snprintf(what, sizeof what, "%s",
                 r->noun == DET_NOUN_EVENTS ? "events" : "calls");
    /* for people: to the hundredth (the document keeps the exact band) */
    buf_format_number(round(a->value * 100) / 100, val, sizeof val);
    buf_format_number(round(a->aux[0] * 100) / 100, band, sizeof band);
    buf_format_number(round(a->aux[1] * 100) / 100, med, sizeof med);
    if (resolved)
        snprintf(out, size,
                 "back to normal: %s%sa %llds bucket of %s %s, within its "
                 "band of %s",
                 g[0] ? g : "", g[0] ? ": " : "", (long long)p->bucket_s,
                 val, what, band);
    else
        snprintf(out, size,
                 "%s%s%s %s in this %lld s bucket, above its usual band of "
                 "%s (median %s)",
                 g[0] ? g : "", g[0] ? ": " : "", val, what,
                 (long long)p->bucket_s, band, med);
}

/* value: the bucket's; threshold: the band; window_s: bucket_s */
static void kind_fill(const struct det_rule *r, const struct det_alert *a,
                      struct alert *al)
{
    al->threshold = a->aux[0];
    al->window_s = r->rule->p.bucket_s;
}

static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    const baseline_spec *sp = &r->spec.baseline;
    const baseline_state *st = det_state(r, slot);

    return ckpt_put_i64(out, st->first) || ckpt_put_i64(out, st->cur) ||
                   ckpt_put_f64(out, st->value) ||
                   ckpt_put_u32(out, sp->history) ||
                   ckpt_put_f64s(out, st->ring, sp->history)
               ? -1
               : 0;
}

/* Is b a bucket a checkpoint may hold: its start and the next one's
 * within CKPT_TIME_LIMIT (baseline_next_close cannot overflow)? */
static int bucket_ok(const baseline_spec *s, int64_t b)
{
    int64_t lim = CKPT_TIME_LIMIT / s->bucket_ms;

    return b > -lim && b < lim - 1;
}

/* Are the buckets of a loaded state ones the kind could have made: in
 * range, current at or after the first, and the ring 0 for buckets
 * before the first (baseline.c's invariant)? */
static int buckets_ok(const baseline_spec *sp, const baseline_state *st)
{
    if (!bucket_ok(sp, st->first) || !bucket_ok(sp, st->cur) ||
        st->cur < st->first)
        return 0;
    for (int64_t b = st->cur - (int64_t)sp->history;
         b < st->first && b < st->cur; b++)
        if (st->ring[ring_pos(sp, b)] != 0)
            return 0;
    return 1;
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    const baseline_spec *sp = &r->spec.baseline;
    baseline_state *st = det_state(r, slot);
    struct ckpt_reader rd;
    uint32_t history;
    int rc = -1;

    ckpt_reader_init(&rd, p, n);
    st->first = ckpt_get_i64(&rd);
    st->cur = ckpt_get_i64(&rd);
    st->value = ckpt_get_f64(&rd);
    history = ckpt_get_u32(&rd);
    if (!ckpt_check(&rd, history == sp->history && isfinite(st->value)))
        goto out;
    for (uint32_t i = 0; i < history && !rd.bad; i++) {
        st->ring[i] = ckpt_get_f64(&rd);
        /* no event yet: all as the reset leaves it */
        ckpt_check(&rd, isfinite(st->ring[i]) &&
                            (st->first != NONE || st->ring[i] == 0));
    }
    if (!ckpt_reader_done(&rd))
        goto out;
    if (st->first == NONE) {
        rc = st->cur == NONE && st->value == 0 ? 0 : -1;
        goto out;
    }
    if (!buckets_ok(sp, st))
        goto out;
    compute_band(sp, st, st->cur, r->priv);
    rc = 0;
out:
    return rc;
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    return 28 + 8 * (size_t)r->spec.baseline.history;
}

const struct det_kind det_kind_baseline = {
    .name = "baseline",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .destroy = kind_destroy,
    .summary = kind_summary,
    .fill = kind_fill,
    .save = kind_save,
    .load = kind_load,
    .checkpoint_bytes = kind_checkpoint_bytes,
};
