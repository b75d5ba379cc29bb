/*
 * count.c - exact per-group event count in a sliding window (see count.h
 * for the semantics, the value reported and the memory per group).
 *
 * Invariants of a state, after count_add() or count_level() at `now`:
 *   - t[] holds `len` <= k offsets from `base`, sorted ascending from ring
 *     position `start`; each kept time is > now - window;
 *   - the kept times are the `len` largest times of the events counted
 *     that are still in the window (an event older than every kept time of
 *     a full ring is not kept: the count is already at least k);
 *   - every kept offset fits in 32 bits: base <= now - window at the last
 *     (re)base, and a rebase happens before now - base exceeds 2^32 - 1;
 *   - the bucket ring at ring_off has counted every event not late.
 */
#include "detectors/count.h"

#include "base/buf.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>

#define NO_TIME INT64_MIN

static win_ring *ring_of(const count_spec *s, count_state *st)
{
    return (win_ring *)(void *)((char *)st + s->ring_off);
}

/* The i-th oldest kept offset. */
static uint32_t *kept(const count_spec *s, count_state *st, uint32_t i)
{
    return &st->t[(st->start + i) % s->k];
}

static int64_t kept_time(const count_spec *s, const count_state *st,
                         uint32_t i)
{
    return st->base + st->t[(st->start + i) % s->k];
}

int count_spec_init(count_spec *s, int64_t window_ms, double threshold,
                    double clear_threshold)
{
    size_t head;

    if (isnan(clear_threshold))
        clear_threshold = threshold;
    if (window_ms < 1 || window_ms > COUNT_MAX_WINDOW_MS ||
        !(threshold >= 0 && threshold <= COUNT_MAX_THRESHOLD) ||
        !(clear_threshold >= 0 && clear_threshold <= threshold))
        return COUNT_EINVAL;
    if (win_spec_init(&s->win, window_ms, 0, 1) != WIN_OK)
        return COUNT_EINVAL;
    s->window_ms = window_ms;
    s->fire_at = (uint64_t)floor(threshold) + 1;
    s->clear_max = (uint64_t)floor(clear_threshold);
    s->k = s->fire_at <= COUNT_EXACT_MAX ? (uint32_t)s->fire_at : 0;
    head = sizeof(count_state) + (size_t)s->k * sizeof(uint32_t);
    s->ring_off = (head + 7) & ~(size_t)7;
    s->size = s->ring_off + win_ring_size(&s->win);
    return COUNT_OK;
}

void count_reset(const count_spec *s, count_state *st)
{
    st->base = 0;
    st->now = NO_TIME;
    st->start = 0;
    st->len = 0;
    win_ring_reset(&s->win, ring_of(s, st));
}

/* Take now_ms as the newest now (never backwards) and drop the kept times
 * that left the window. */
static int64_t move_now(const count_spec *s, count_state *st, int64_t now_ms)
{
    if (now_ms > st->now)
        st->now = now_ms;
    while (st->len > 0 && kept_time(s, st, 0) <= st->now - s->window_ms) {
        st->start = (st->start + 1) % s->k;
        st->len--;
    }
    return st->now;
}

/* Make room for offsets up to now - base (see the invariants). */
static void rebase(const count_spec *s, count_state *st, int64_t now)
{
    int64_t nb = now - s->window_ms;
    uint32_t d;

    if (st->len == 0) {
        st->base = nb;
        return;
    }
    if (now - st->base <= (int64_t)UINT32_MAX)
        return;
    /* kept times are > nb, so every offset stays positive */
    d = (uint32_t)(nb - st->base);
    for (uint32_t i = 0; i < st->len; i++)
        *kept(s, st, i) -= d;
    st->base = nb;
}

/* Keep time t (in the window) among the k largest. */
static void keep(const count_spec *s, count_state *st, int64_t now,
                 int64_t t)
{
    uint32_t off, pos;

    rebase(s, st, now);
    off = (uint32_t)(t - st->base);
    if (st->len == s->k) {
        if (off < *kept(s, st, 0))
            return;
        st->start = (st->start + 1) % s->k;
        st->len--;
    }
    pos = st->len;
    while (pos > 0 && *kept(s, st, pos - 1) > off) {
        *kept(s, st, pos) = *kept(s, st, pos - 1);
        pos--;
    }
    *kept(s, st, pos) = off;
    st->len++;
}

int count_add(const count_spec *s, count_state *st, int64_t now_ms,
              int64_t t_ms)
{
    static const uint32_t one[1] = {1};
    int64_t now = move_now(s, st, now_ms);

    if (t_ms > now)
        t_ms = now;
    if (t_ms <= now - s->window_ms)
        return COUNT_LATE;
    if (s->k > 0)
        keep(s, st, now, t_ms);
    /* at bucket precision the ring may find it late: its count is a
     * lower bound anyway */
    (void)win_add(&s->win, ring_of(s, st), now, t_ms, one);
    return COUNT_OK;
}

void count_level(const count_spec *s, count_state *st, int64_t now_ms,
                 struct count_level *out)
{
    int64_t now = move_now(s, st, now_ms);
    uint64_t b = win_sum(&s->win, ring_of(s, st), now, 0);

    if (s->k > 0 && st->len < s->k) {
        out->value = st->len;
        out->exact = 1;
    } else {
        out->value = b > st->len ? b : st->len;
        out->exact = 0;
    }
    out->above = out->value >= s->fire_at;
    out->clear = out->value <= s->clear_max;
}

int64_t count_clear_time(const count_spec *s, count_state *st)
{
    return count_clear_time_at(s, st, s->clear_max);
}

int64_t count_clear_time_at(const count_spec *s, count_state *st,
                            uint64_t clear_max)
{
    int64_t now, t;

    if (st->now == NO_TIME)
        return NO_TIME;
    now = move_now(s, st, st->now);
    if (s->k == 0) {
        if (win_sum(&s->win, ring_of(s, st), now, 0) <= clear_max)
            return now;
        return win_next_expiry(&s->win, ring_of(s, st));
    }
    if (st->len <= clear_max)
        return now;
    /* the events not kept are older than every kept one: gone by then */
    t = kept_time(s, st, (uint32_t)(st->len - clear_max - 1)) +
        s->window_ms;
    return t > now ? t : now;
}

/* ---- the `count` rule kind (kind.h) ------------------------------------
 * Matching events of a group in (now - window_s, now] against the group's
 * threshold (strict) and clear threshold.  The state is sized for the
 * largest threshold of the rule (its own or an override's): K = floor of
 * it + 1 kept times, so every group decides exactly against its own,
 * lower or equal, threshold (a full ring means at least K events, above
 * any of them).  Memory per group: count_spec.size (count.h's table),
 * e.g. 696 bytes for the default volume rule (threshold 100, 60 s).
 */

static int kind_create(struct det_rule *r)
{
    if (count_spec_init(&r->spec.count, r->window_ms, r->thr_max,
                        r->thr_max) != COUNT_OK)
        return -1;
    r->stride = r->spec.count.size;
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    count_reset(&r->spec.count, det_state(r, slot));
}

__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    count_state *st = det_state(r, slot);
    struct count_level l;

    count_level(&r->spec.count, st, now, &l);
    det_verdict_level(r, slot, (double)l.value, v);
    if (det_watched(r, slot, v))
        v->next_ms = count_clear_time_at(&r->spec.count, st,
                                         (uint64_t)floor(det_clear(r, slot)));
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    uint32_t slot = det_group(r, in);

    if (slot == DET_NIL)
        return 0;
    return det_fed(r,
                   count_add(&r->spec.count, det_state(r, slot), in->now_ms,
                             in->t_ms) == COUNT_LATE,
                   slot, in, kind_tick, v);
}

/* "101 completed calls in 60s for tool search_web (threshold 100)" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    char thr[32], g[DET_KEY_MAX + 64];

    buf_format_number(det_alert_thr(r, a), thr, sizeof thr);
    det_describe(r, a, 1, g, sizeof g);
    snprintf(out, size, "%s%.0f %s in %llds %s (threshold %s)",
             resolved ? "back to normal: " : "", a->value, det_noun(r, 1),
             (long long)(r->window_ms / 1000), g, thr);
}

const struct det_kind det_kind_count = {
    .name = "count",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .summary = kind_summary,
};
