/*
 * sum.c - the `sum` rule kind (kind.h): the sum of a number field over a
 * group's events in the sliding window against a threshold (strict) and a
 * clear threshold.  An event that lacks the field adds nothing.
 *
 * The window: the buckets of the shape window.h gives (window / 60 when
 * that divides it: 1 s for 60 s, 60 s for an hour), of which a group
 * keeps only the non-empty ones, each holding the sum of its events'
 * values as a double (window.h's sparse list, in a pool of the rule's,
 * r->priv).  The group's sum is added up over them, oldest bucket first,
 * so it is the same number whatever the order events came in (no running
 * total to drift).  The window's edge is exact to the bucket, not to the
 * ms: an event counts for (window - bucket, window] of its life (it stops
 * counting when its bucket leaves, up to one bucket early), and an event
 * whose bucket has left the window is late.  An event whose value is 0 is
 * counted but makes no bucket.
 *
 * So that a look is not a pass over every bucket, the group keeps the
 * sum of its buckets but the newest, added oldest first (`older`): the
 * sum is then older + newest, the very double the whole pass gives (the
 * pass is ((b1 + b2) + ...) + bn).  It is kept while those buckets stay
 * as they are: an event into the newest bucket leaves it be; a new newest
 * bucket adds the one before it (older + b(n-1), again the pass's
 * double); a bucket leaving, an event into an older bucket, a reset or a
 * load make it unknown, and the next look adds the buckets up again.  It
 * is derived, never saved: the checkpoint holds the buckets only.
 *
 * Memory per group (x86-64): 32 bytes (struct sum_state, in the rule's
 * slab) plus a 64-byte chunk per 6 non-empty buckets in the window (one
 * more while the oldest chunk is partly spent), at most 11 chunks: 32 +
 * 64 * ceil((buckets + 5) / 6) = 736 bytes with 60 buckets, every one of
 * them holding an event.  A group with events in 1 to 6 buckets of its
 * window costs 96 or 160 bytes.  The pool reserves (address space) that
 * bound for max_keys groups.
 *
 * Invariants: window.h's, for each group's sparse list; older is UNKNOWN
 * or, while the window is not empty, the oldest-first sum of its entries
 * but the newest; the pool is r->priv from create to destroy.
 */
#include "base/buf.h"
#include "detectors/kind.h"

#include <stdio.h>

#define UNKNOWN (-1.0) /* older not known: the values are never < 0 */

/* A group: its window and the sum of its buckets but the newest. */
struct sum_state {
    win_sparse w;
    double older; /* oldest first; UNKNOWN: add them up at the next look */
};

static int kind_create(struct det_rule *r)
{
    int rc = -1;

    if (win_spec_init(&r->spec.win, r->window_ms, 0, 1) != WIN_OK ||
        (r->priv = win_sp_pool_create(&r->spec.win, r->keys.cap_alloc)) ==
            NULL)
        goto out;
    r->stride = sizeof(struct sum_state);
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
    struct sum_state *st = det_state(r, slot);

    win_sp_reset(r->priv, &st->w);
    st->older = UNKNOWN;
}

/* Move the group's window to now: a bucket leaving makes older unknown. */
static void advance(struct det_rule *r, struct sum_state *st, int64_t now)
{
    uint32_t len = st->w.ch.len;

    win_sp_advance(&r->spec.win, r->priv, &st->w, now, NULL);
    if (st->w.ch.len != len)
        st->older = UNKNOWN;
}

/* The buckets but the newest (the window is not empty), oldest first. */
static double older_sum(const struct det_rule *r, const struct sum_state *st)
{
    win_sp_iter it;
    double sum = 0;

    win_sp_iter_init(&it, r->priv, &st->w);
    for (uint32_t n = st->w.ch.len - 1; n > 0; n--)
        sum += win_sp_next(&it, NULL)->d;
    return sum;
}

__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    struct sum_state *st = det_state(r, slot);
    double sum = 0;

    advance(r, st, now);
    if (st->w.ch.len > 0) {
        if (st->older < 0)
            st->older = older_sum(r, st);
        sum = st->older + win_sp_newest(r->priv, &st->w)->d;
    }
    det_verdict_level(r, slot, sum, v);
    if (det_watched(r, slot, v))
        v->next_ms = win_sp_next_expiry(&r->spec.win, r->priv, &st->w);
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    struct sum_state *st;
    const win_val *last;
    win_val *b = NULL;
    uint32_t slot, len;
    double x, prev = 0;
    int rc;

    if (!match_number(in->ev, r->rule->p.field, &x))
        return 0;
    if ((slot = det_group(r, in)) == DET_NIL)
        return 0;
    st = det_state(r, slot);
    advance(r, st, in->now_ms);
    len = st->w.ch.len;
    if (x != 0 && (last = win_sp_newest(r->priv, &st->w)) != NULL)
        prev = last->d;
    rc = win_sp_add(&r->spec.win, r->priv, &st->w, in->now_ms, in->t_ms,
                    x != 0 ? &b : NULL);
    if (b != NULL) {
        if (b != win_sp_newest(r->priv, &st->w))
            st->older = UNKNOWN; /* an older bucket: made or added to */
        else if (st->w.ch.len != len && len == 0)
            st->older = 0; /* the first bucket: none before it */
        else if (st->w.ch.len != len && st->older >= 0)
            st->older += prev; /* a new newest: the one before joins */
        b->d += x;
    }
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
    const struct sum_state *st = det_state(r, slot);

    return win_sp_save(&r->spec.win, r->priv, &st->w, WIN_VAL_SUM, out);
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    struct sum_state *st = det_state(r, slot);

    st->older = UNKNOWN;
    return win_sp_load(&r->spec.win, r->priv, &st->w, WIN_VAL_SUM, p, n);
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
