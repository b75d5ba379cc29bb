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

#include <math.h>

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
    const valset *v = &st->set;
    int64_t now;
    uint32_t i;

    if (st->now == NO_TIME)
        return NO_TIME;
    now = move_now(s, st, st->now);
    if (v->count <= s->clear_max)
        return now;
    /* clear once the (count - clear_max)-th oldest is forgotten; values
     * not remembered are older still */
    i = v->head;
    for (uint32_t k = v->count - s->clear_max - 1; k > 0; k--)
        i = valset_at(v, i)->next;
    return st->base + valset_at(v, i)->key + s->window_ms;
}
