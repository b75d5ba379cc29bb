/*
 * sum.c - the `sum` rule kind (kind.h): the sum of a number field over a
 * group's events in the sliding window against a threshold (strict) and a
 * clear threshold.  An event that lacks the field adds nothing.
 *
 * The window: the buckets of the shape window.h gives (window / 60 when
 * that divides it: 1 s for 60 s, 60 s for an hour), of which a group
 * keeps only the non-empty ones, each holding the sum of its events'
 * values as a double (window.h's sparse list, in a pool of the rule's,
 * r->priv).  The group's sum is added up over them when it is looked at,
 * oldest bucket first, so it is the same number whatever the order events
 * came in (no running total to drift).  The window's edge is exact to the
 * bucket, not to the ms: an event counts for (window - bucket, window] of
 * its life (it stops counting when its bucket leaves, up to one bucket
 * early), and an event whose bucket has left the window is late.  An
 * event whose value is 0 is counted but makes no bucket.
 *
 * Memory per group (x86-64): 24 bytes (win_sparse, in the rule's slab)
 * plus a 64-byte chunk per 6 non-empty buckets in the window (one more
 * while the oldest chunk is partly spent), at most 11 chunks: 24 + 64 *
 * ceil((buckets + 5) / 6) = 728 bytes with 60 buckets, every one of
 * them holding an event.  A group with events in 1 to 6 buckets of its
 * window costs 88 or 152 bytes.  The pool reserves (address space) that
 * bound for max_keys groups.
 *
 * Invariants: window.h's, for each group's sparse list; the pool is
 * r->priv from create to destroy.
 */
#include "base/buf.h"
#include "detectors/kind.h"

#include <stdio.h>

static int kind_create(struct det_rule *r)
{
    int rc = -1;

    if (win_spec_init(&r->spec.win, r->window_ms, 0, 1) != WIN_OK ||
        (r->priv = win_sp_pool_create(&r->spec.win, r->keys.cap_alloc)) ==
            NULL)
        goto out;
    r->stride = sizeof(win_sparse);
    rc = 0;
out:
    return rc;
}

static void kind_destroy(struct det_rule *r)
{
    win_sp_pool_destroy(r->priv);
    r->priv = NULL;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    win_sp_reset(r->priv, det_state(r, slot));
}

static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    win_sparse *st = det_state(r, slot);
    const win_val *b;
    win_sp_iter it;
    double sum = 0;

    win_sp_advance(&r->spec.win, r->priv, st, now, NULL);
    win_sp_iter_init(&it, r->priv, st);
    while ((b = win_sp_next(&it, NULL)) != NULL)
        sum += b->d;
    det_verdict_level(r, slot, sum, v);
    if (det_watched(r, slot, v))
        v->next_ms = win_sp_next_expiry(&r->spec.win, r->priv, st);
}

static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    win_val *b = NULL;
    uint32_t slot;
    double x;
    int rc;

    if (!match_number(in->ev, r->rule->p.field, &x))
        return 0;
    if ((slot = det_group(r, in)) == DET_NIL)
        return 0;
    rc = win_sp_add(&r->spec.win, r->priv, det_state(r, slot), in->now_ms,
                    in->t_ms, x != 0 ? &b : NULL);
    if (b != NULL)
        b->d += x;
    return det_fed(r, rc == WIN_LATE, slot, in, kind_tick, v);
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

/* Checkpoint: window.h's sparse list bytes, the values sums (> 0). */
static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    return win_sp_save(&r->spec.win, r->priv, det_state(r, slot),
                       WIN_VAL_SUM, out);
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    return win_sp_load(&r->spec.win, r->priv, det_state(r, slot),
                       WIN_VAL_SUM, p, n);
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    return win_sp_save_bytes(&r->spec.win);
}

const struct det_kind det_kind_sum = {
    .name = "sum",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .destroy = kind_destroy,
    .summary = kind_summary,
    .save = kind_save,
    .load = kind_load,
    .checkpoint_bytes = kind_checkpoint_bytes,
};
