/*
 * distinct.c - exact per-group distinct values in a sliding window (see
 * distinct.h for the semantics and the memory per group).
 *
 * Invariants of a state, after distinct_add() or distinct_level() at
 * `now`:
 *   - the set holds at most K values, each with key = its last seen time
 *     - base, and every one was last seen after now - window;
 *   - every value seen in the window and not in the set was last seen no
 *     later than every value in the set (the set is the top K by last
 *     seen, ties broken either way);
 *   - base <= now - window at the last (re)base, and a rebase happens
 *     before now - base exceeds 2^32 - 1, so every key fits.
 */
#include "detectors/distinct.h"

#include "base/buf.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>

#define NO_TIME INT64_MIN

int distinct_spec_init(distinct_spec *s, int64_t window_ms, double threshold,
                       double clear_threshold)
{
    if (isnan(clear_threshold))
        clear_threshold = threshold;
    if (window_ms < 1 || window_ms > DISTINCT_MAX_WINDOW_MS ||
        !(threshold >= 0 && threshold < DISTINCT_KEPT_MAX) ||
        !(clear_threshold >= 0 && clear_threshold <= threshold))
        return DISTINCT_EINVAL;
    s->window_ms = window_ms;
    s->fire_at = (uint32_t)floor(threshold) + 1;
    s->clear_max = (uint32_t)floor(clear_threshold);
    s->size = offsetof(distinct_state, set) + valset_size(s->fire_at);
    return DISTINCT_OK;
}

void distinct_reset(const distinct_spec *s, distinct_state *st)
{
    st->base = 0;
    st->now = NO_TIME;
    valset_reset(&st->set, s->fire_at);
}

/* Take now_ms as the newest now and forget the values last seen at or
 * before now - window. */
static int64_t move_now(const distinct_spec *s, distinct_state *st,
                        int64_t now_ms)
{
    valset *v = &st->set;

    if (now_ms > st->now)
        st->now = now_ms;
    while (v->head != VALSET_NIL &&
           st->base + valset_at(v, v->head)->key <= st->now - s->window_ms)
        valset_remove(v, v->head);
    return st->now;
}

/* Make room for keys up to now - base (see the invariants). */
static void rebase(const distinct_spec *s, distinct_state *st, int64_t now)
{
    int64_t nb = now - s->window_ms;

    if (st->set.count == 0) {
        st->base = nb;
        return;
    }
    if (now - st->base <= (int64_t)UINT32_MAX)
        return;
    valset_shift_keys(&st->set, (uint32_t)(nb - st->base));
    st->base = nb;
}

int distinct_add(const distinct_spec *s, distinct_state *st, int64_t now_ms,
                 int64_t t_ms, const uint64_t h[2])
{
    valset *v = &st->set;
    int64_t now = move_now(s, st, now_ms);
    uint32_t key, i;

    if (t_ms > now)
        t_ms = now;
    if (t_ms <= now - s->window_ms)
        return DISTINCT_LATE;
    rebase(s, st, now);
    key = (uint32_t)(t_ms - st->base);
    i = valset_find(v, h);
    if (i != VALSET_NIL) {
        if (key > valset_at(v, i)->key)
            valset_set_key(v, i, key);
        return DISTINCT_OK;
    }
    if (v->count == v->cap) {
        /* older than every remembered value: not among the K newest */
        if (key < valset_at(v, v->head)->key)
            return DISTINCT_OK;
        valset_remove(v, v->head);
    }
    valset_add(v, h, key);
    return DISTINCT_OK;
}

void distinct_level(const distinct_spec *s, distinct_state *st,
                    int64_t now_ms, struct distinct_level *out)
{
    move_now(s, st, now_ms);
    out->value = st->set.count;
    out->exact = out->value < s->fire_at;
    out->above = out->value >= s->fire_at;
    out->clear = out->value <= s->clear_max;
}

size_t distinct_values(const distinct_spec *s, distinct_state *st,
                       int64_t now_ms, uint64_t (*out)[2],
                       int64_t *last_seen, size_t max)
{
    const valset *v = &st->set;
    size_t n = 0;

    move_now(s, st, now_ms);
    for (uint32_t i = v->tail; i != VALSET_NIL && n < max;
         i = valset_at(v, i)->prev) {
        const struct valset_entry *e = valset_at(v, i);
        out[n][0] = e->h0;
        out[n][1] = e->h1;
        if (last_seen != NULL)
            last_seen[n] = st->base + e->key;
        n++;
    }
    return n;
}

int64_t distinct_clear_time(const distinct_spec *s, distinct_state *st)
{
    return distinct_clear_time_at(s, st, s->clear_max);
}

int64_t distinct_clear_time_at(const distinct_spec *s, distinct_state *st,
                               uint32_t clear_max)
{
    const valset *v = &st->set;
    int64_t now;
    uint32_t i;

    if (st->now == NO_TIME)
        return NO_TIME;
    now = move_now(s, st, st->now);
    if (v->count <= clear_max)
        return now;
    /* clear once the (count - clear_max)-th oldest is forgotten; values
     * not remembered are older still */
    i = v->head;
    for (uint32_t k = v->count - clear_max - 1; k > 0; k--)
        i = valset_at(v, i)->next;
    return st->base + valset_at(v, i)->key + s->window_ms;
}

/* ---- the `distinct` rule kind (kind.h) ---------------------------------
 * Distinct values of a string field among a group's events in (now -
 * window_s, now], against the group's threshold (strict) and clear
 * threshold; an event that lacks the field is not counted.  A value is
 * its keyed 128-bit hash.  The state is sized for the largest threshold
 * of the rule (its own or an override's), K = floor of it + 1 values, so
 * each group decides exactly against its own.  Memory per group:
 * distinct_spec.size = 48 + 32 * K + 4 * nb (distinct.h's table), e.g.
 * 464 bytes at threshold 10.
 */

static int kind_create(struct det_rule *r)
{
    if (distinct_spec_init(&r->spec.distinct, r->window_ms, r->thr_max,
                           r->thr_max) != DISTINCT_OK)
        return -1;
    r->stride = r->spec.distinct.size;
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    distinct_reset(&r->spec.distinct, det_state(r, slot));
}

static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    distinct_state *st = det_state(r, slot);
    struct distinct_level l;

    distinct_level(&r->spec.distinct, st, now, &l);
    det_verdict_level(r, slot, l.value, v);
    v->aux[0] = l.exact;
    if (det_watched(r, slot, v))
        v->next_ms = distinct_clear_time_at(
            &r->spec.distinct, st, (uint32_t)floor(det_clear(r, slot)));
}

static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    const char *s = match_string(in->ev, r->rule->p.field);
    uint64_t h[2];
    uint32_t slot;

    if (s == NULL || (slot = det_group(r, in)) == DET_NIL)
        return 0;
    det_hash_text(in, s, h);
    return det_fed(r,
                   distinct_add(&r->spec.distinct, det_state(r, slot),
                                in->now_ms, in->t_ms, h) == DISTINCT_LATE,
                   slot, in, kind_tick, v);
}

/* "12 distinct tool_name values in 300s by agent a-1 (threshold 10)" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    char thr[32], f[EVENT_META_NAME_MAX + 16], g[DET_KEY_MAX + 64];

    buf_format_number(det_alert_thr(r, a), thr, sizeof thr);
    match_field_name(r->rule->p.field, r->rule->p.meta, f, sizeof f);
    det_describe(r, a, 1, g, sizeof g);
    snprintf(out, size, "%s%s%.0f distinct %s values in %llds %s "
                        "(threshold %s)",
             resolved ? "back to normal: " : "",
             a->aux[0] != 0 ? "" : "at least ", a->value, f,
             (long long)(r->window_ms / 1000), g, thr);
}

const struct det_kind det_kind_distinct = {
    .name = "distinct",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .summary = kind_summary,
};
