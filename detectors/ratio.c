/*
 * ratio.c - the `ratio` rule kind (kind.h): of a group's events in the
 * sliding window, the share that also meet `numerator`.  It fires when
 * the ratio > threshold and the events number at least min_count; it
 * clears when the ratio <= clear_threshold, or when the events number
 * fewer than min_count (then the resolve says "too few calls to judge").
 * The default error_rate rule: numerator {"error": true}, 20 % of at
 * least 10 completed calls in 60 s per tool.
 *
 * The window: the buckets of the shape window.h gives (window / 60 when
 * that divides it: 1 s for 60 s), of which a group keeps only the
 * non-empty ones, each with two counters, its events and its numerator
 * events (window.h's sparse list, in a pool of the rule's, r->priv).  The
 * window's edge is exact to the bucket, not to the ms: an event counts
 * for (window - bucket, window] of its life (it stops counting when its
 * bucket leaves, up to one bucket early), and an event whose bucket has
 * left the window is late.  Counters saturate at 2^32 - 1 per bucket.
 *
 * The group also keeps the window's totals (events, numerator events),
 * updated as events come and buckets leave, so that a look is O(1); they
 * are added up again from the buckets after a load or once they would
 * reach 2^32 - 1.
 *
 * Memory per group (x86-64): 32 bytes (struct ratio_state, in the rule's
 * slab) plus a 64-byte chunk per 6 non-empty buckets in the window (one
 * more while the oldest chunk is partly spent), at most 11 chunks: 736
 * bytes with 60 buckets, every one of them holding an event.  A group with
 * events in 1 to 6 buckets of its window costs 96 or 160 bytes.  The pool
 * reserves (address space) that bound for max_keys groups.
 *
 * Invariants: window.h's, for each group's sparse list; each bucket has
 * 1 <= events and numerator <= events; events and num are the sums of the
 * buckets' counters, or both UNKNOWN; the pool is r->priv from create to
 * destroy.
 */
#include "detectors/kind.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define UNKNOWN UINT32_MAX /* totals not known: add the buckets up */

/* A group: its window and the window's totals, kept as events come and
 * buckets leave (UNKNOWN after a load, or past 2^32 - 2 events). */
struct ratio_state {
    win_sparse w;
    uint32_t events, num;
};

static int kind_create(struct det_rule *r)
{
    cJSON *j = NULL;
    char *text = NULL;
    int rc = -1;

    if (win_spec_init(&r->spec.ratio.win, r->window_ms, 0, 2) != WIN_OK ||
        (r->priv = win_sp_pool_create(&r->spec.ratio.win,
                                      r->keys.cap_alloc)) == NULL)
        goto out;
    r->stride = sizeof(struct ratio_state);
    /* the words of its alerts: "error rate" for the usual numerator */
    if (match_dump(&r->rule->p.numerator, r->rule->p.meta, &j) == MATCH_OK)
        text = cJSON_PrintUnformatted(j);
    r->spec.ratio.error_rate =
        text != NULL && strcmp(text, "{\"error\":true}") == 0;
    rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(j);
    return rc;
}

static void kind_destroy(struct det_rule *r)
{
    win_sp_pool_destroy(r->priv);
    r->priv = NULL;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    struct ratio_state *st = det_state(r, slot);

    win_sp_reset(r->priv, &st->w);
    st->events = st->num = 0;
}

/* Move the group's window to now, its totals with it. */
__attribute__((hot))
static void advance(struct det_rule *r, struct ratio_state *st, int64_t now)
{
    uint64_t gone[2] = {0, 0};

    win_sp_advance(&r->spec.ratio.win, r->priv, &st->w, now, gone);
    if (st->events != UNKNOWN) {
        st->events -= (uint32_t)gone[0];
        st->num -= (uint32_t)gone[1];
    }
}

/* The totals of the window: the running ones, or added up (and kept when
 * they fit). */
static void totals(struct det_rule *r, struct ratio_state *st,
                   uint64_t *events, uint64_t *num)
{
    const win_val *b;
    win_sp_iter it;

    *events = st->events;
    *num = st->num;
    if (st->events != UNKNOWN)
        goto out;
    *events = *num = 0;
    win_sp_iter_init(&it, r->priv, &st->w);
    while ((b = win_sp_next(&it, NULL)) != NULL) {
        *events += b->n[0];
        *num += b->n[1];
    }
    if (*events < UNKNOWN) {
        st->events = (uint32_t)*events;
        st->num = (uint32_t)*num;
    }
out:
    return;
}

/* Can the window's edge alone take a group that is not over its
 * threshold over it?  Calls leaving the window raise the ratio when they
 * are mostly outside the numerator; it then fires with at least min_count
 * calls left, of which more than threshold x min_count in the numerator:
 * so only with more than min_count calls now and more than that many
 * numerator calls.  Such a group is looked at again when its oldest
 * bucket leaves (DET_KF_EDGE); the others only at their next event. */
static inline int may_rise(const struct det_rule *r, uint32_t slot,
                           uint64_t events, uint64_t num)
{
    uint64_t min = (uint64_t)r->rule->p.min_count;

    return events > min &&
           (double)num > (r->thr != NULL ? r->thr[slot] : r->threshold) *
                             (double)min;
}

__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    struct ratio_state *st = det_state(r, slot);
    uint64_t events, num;
    double ratio;

    advance(r, st, now);
    totals(r, st, &events, &num);
    ratio = events ? (double)num / (double)events : 0.0;
    det_verdict_level(r, slot, ratio, v);
    v->aux[0] = (double)num;
    v->aux[1] = (double)events;
    if (events < (uint64_t)r->rule->p.min_count)
        v->level = DET_CLEAR;
    if (det_watched(r, slot, v) || may_rise(r, slot, events, num))
        v->next_ms = win_sp_next_expiry(&r->spec.ratio.win, r->priv, &st->w);
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    uint32_t slot = det_group(r, in);
    struct ratio_state *st;
    win_val *b;
    int rc, n;

    if (slot == DET_NIL)
        return 0;
    st = det_state(r, slot);
    advance(r, st, in->now_ms);
    rc = win_sp_add(&r->spec.ratio.win, r->priv, &st->w, in->now_ms,
                    in->t_ms, &b);
    /* saturating: numerator <= events holds at the cap too */
    if (rc == WIN_OK && b->n[0] < UINT32_MAX) {
        n = match_eval(&r->rule->p.numerator, in->ev) != 0;
        b->n[0]++;
        b->n[1] += (uint32_t)n;
        if (st->events != UNKNOWN && st->events + 1 < UNKNOWN) {
            st->events++;
            st->num += (uint32_t)n;
        } else {
            st->events = st->num = UNKNOWN;
        }
    }
    return det_fed(r, rc == WIN_LATE, slot, in, kind_tick, v);
}

/* "error rate 21.1% over 60s for tool postgres_query (threshold 20%, 4 of
 * 19 calls)"; a resolve for want of events: "too few calls to judge" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    const char *what = r->spec.ratio.error_rate ? "error rate" : "ratio";
    const char *calls = r->noun == DET_NOUN_EVENTS ? "events" : "calls";
    char g[DET_KEY_MAX + 64];

    det_describe(r, a, 1, g, sizeof g);
    if (resolved && a->aux[1] < (double)r->rule->p.min_count)
        snprintf(out, size,
                 "back to normal: too few calls to judge: %.0f %s in %llds "
                 "%s (at least %lld needed)",
                 a->aux[1], calls, (long long)(r->window_ms / 1000), g,
                 (long long)r->rule->p.min_count);
    else
        snprintf(out, size,
                 "%s%s %.1f%% over %llds %s (threshold %g%%, %.0f of %.0f "
                 "%s)",
                 resolved ? "back to normal: " : "", what, a->value * 100.0,
                 (long long)(r->window_ms / 1000), g,
                 det_alert_thr(r, a) * 100.0, a->aux[0], a->aux[1], calls);
}

/* Checkpoint: window.h's sparse list bytes, the values counters. */
static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    const struct ratio_state *st = det_state(r, slot);

    return win_sp_save(&r->spec.ratio.win, r->priv, &st->w, WIN_VAL_COUNTS,
                       out);
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    struct ratio_state *st = det_state(r, slot);

    st->events = st->num = UNKNOWN; /* added up at the next look */
    return win_sp_load(&r->spec.ratio.win, r->priv, &st->w, WIN_VAL_COUNTS,
                       p, n);
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    return win_sp_save_bytes(&r->spec.ratio.win);
}

const struct det_kind det_kind_ratio = {
    .name = "ratio",
    .flags = DET_KF_EDGE,
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
