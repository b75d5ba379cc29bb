/*
 * sum.c - the `sum` rule kind (kind.h): the sum of a number field over a
 * group's events in the sliding window against a threshold (strict) and a
 * clear threshold.  An event that lacks the field adds nothing.
 *
 * The window is a ring of time buckets (the shape window.h gives: window
 * / 60 when that divides it), each holding the sum of its events' values
 * as a double; the group's sum is added up over the ring when it is
 * looked at, oldest bucket first, so it is the same number whatever the
 * order events came in (no running total to drift).  As with window.h, an
 * event counts for (window - bucket, window] of its life; an event whose
 * bucket has left the window is late.
 *
 * Memory per group: 8 + 8 * buckets bytes: 488 with 60 buckets (the
 * default shape), at most 8 + 8 * 3600.
 *
 * Invariants: head is the newest bucket seen (INT64_MIN: none); buckets
 * outside (head - N, head] hold 0.
 */
#include "base/buf.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct sum_state {
    int64_t head;
    double b[];
};

/* Move the ring to the bucket of now, zeroing the buckets that left. */
static void advance(const win_spec *w, struct sum_state *st, int64_t now)
{
    int64_t nb = win_bucket(w, now);

    if (st->head == INT64_MIN) {
        st->head = nb;
        return;
    }
    if (nb <= st->head)
        return;
    if (nb - st->head >= (int64_t)w->nbuckets)
        memset(st->b, 0, w->nbuckets * sizeof(double));
    else
        for (int64_t k = st->head + 1; k <= nb; k++)
            st->b[win_pos(w, k)] = 0;
    st->head = nb;
}

static double total(const win_spec *w, const struct sum_state *st)
{
    double s = 0;

    if (st->head == INT64_MIN)
        return 0;
    for (int64_t k = st->head - w->nbuckets + 1; k <= st->head; k++)
        s += st->b[win_pos(w, k)];
    return s;
}

/* The next time a non-empty bucket leaves the window, INT64_MAX when the
 * ring is empty. */
static int64_t next_expiry(const win_spec *w, const struct sum_state *st)
{
    if (st->head == INT64_MIN)
        return INT64_MAX;
    for (int64_t k = st->head - w->nbuckets + 1; k <= st->head; k++)
        if (st->b[win_pos(w, k)] != 0)
            return (k + w->nbuckets) * w->bucket_ms;
    return INT64_MAX;
}

static int kind_create(struct det_rule *r)
{
    if (win_spec_init(&r->spec.win, r->window_ms, 0, 1) != WIN_OK)
        return -1;
    r->stride = sizeof(struct sum_state) +
                r->spec.win.nbuckets * sizeof(double);
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    struct sum_state *st = det_state(r, slot);

    st->head = INT64_MIN;
    memset(st->b, 0, r->spec.win.nbuckets * sizeof(double));
}

static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    struct sum_state *st = det_state(r, slot);

    advance(&r->spec.win, st, now);
    det_verdict_level(r, slot, total(&r->spec.win, st), v);
    if (det_watched(r, slot, v))
        v->next_ms = next_expiry(&r->spec.win, st);
}

static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    const win_spec *w = &r->spec.win;
    struct sum_state *st;
    uint32_t slot;
    double x;
    int64_t b;
    int late;

    if (!match_number(in->ev, r->rule->p.field, &x))
        return 0;
    if ((slot = det_group(r, in)) == DET_NIL)
        return 0;
    st = det_state(r, slot);
    advance(w, st, in->now_ms);
    b = win_bucket(w, in->t_ms);
    late = b <= st->head - (int64_t)w->nbuckets;
    if (!late)
        st->b[win_pos(w, b)] += x;
    return det_fed(r, late, slot, in, kind_tick, v);
}

/* "sum of cost_usd 12.5 in 300s by agent a-1 (threshold 10)" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    char thr[32], val[32], f[EVENT_META_NAME_MAX + 16];
    char g[DET_KEY_MAX + 64];

    buf_format_number(det_alert_thr(r, a), thr, sizeof thr);
    buf_format_number(a->value, val, sizeof val);
    match_field_name(r->rule->p.field, r->rule->p.meta, f, sizeof f);
    det_describe(r, a, 1, g, sizeof g);
    snprintf(out, size, "%ssum of %s %s in %llds %s (threshold %s)",
             resolved ? "back to normal: " : "", f, val,
             (long long)(r->window_ms / 1000), g, thr);
}

const struct det_kind det_kind_sum = {
    .name = "sum",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .summary = kind_summary,
};
