/*
 * distinct.c - exact per-group distinct values in a sliding window, the
 * values in the rule's shared value pool (see distinct.h for the
 * semantics and the memory).
 *
 * Invariants of a state, after distinct_add() or distinct_level() at
 * `now`:
 *   - the group holds at most K values, each with key = its last seen
 *     time - base, and every one was last seen after now - window;
 *   - every value seen in the window and not held was last seen no later
 *     than every value held (the group holds the top K by last seen, ties
 *     broken either way);
 *   - base <= now - window at the last (re)base, and a rebase happens
 *     before now - base exceeds 2^32 - 1, so every key fits.
 */
#include "detectors/distinct.h"

#include "base/buf.h"
#include "base/clock.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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
    s->size = sizeof(distinct_state);
    return DISTINCT_OK;
}

valpool *distinct_pool(const distinct_spec *s, uint32_t max_keys)
{
    return valpool_create(max_keys, s->fire_at);
}

void distinct_reset(valpool *p, distinct_state *st)
{
    valpool_group_reset(p, &st->set);
    st->base = 0;
    st->now = NO_TIME;
}

/* Take now_ms as the newest now and forget the values last seen at or
 * before now - window. */
__attribute__((hot))
static int64_t move_now(const distinct_spec *s, valpool *p,
                        distinct_state *st, int64_t now_ms)
{
    valpool_group *g = &st->set;

    if (now_ms > st->now)
        st->now = now_ms;
    while (g->head != VALPOOL_NIL &&
           st->base + valpool_at(p, g->head)->key <= st->now - s->window_ms)
        valpool_remove(p, g, g->head);
    return st->now;
}

/* Make room for keys up to now - base (see the invariants). */
static void rebase(const distinct_spec *s, valpool *p, distinct_state *st,
                   int64_t now)
{
    int64_t nb = now - s->window_ms;

    if (st->set.count == 0) {
        st->base = nb;
        return;
    }
    if (now - st->base <= (int64_t)UINT32_MAX)
        return;
    valpool_shift_keys(p, &st->set, (uint32_t)(nb - st->base));
    st->base = nb;
}

__attribute__((hot))
int distinct_add(const distinct_spec *s, valpool *p, uint32_t gid,
                 distinct_state *st, int64_t now_ms, int64_t t_ms,
                 const uint64_t h[2])
{
    valpool_group *g = &st->set;
    int64_t now = move_now(s, p, st, now_ms);
    uint32_t key, i;

    if (t_ms > now)
        t_ms = now;
    if (t_ms <= now - s->window_ms)
        return DISTINCT_LATE;
    rebase(s, p, st, now);
    key = (uint32_t)(t_ms - st->base);
    i = valpool_find(p, gid, h);
    if (i != VALPOOL_NIL) {
        if (key > valpool_at(p, i)->key)
            valpool_set_key(p, g, i, key);
        return DISTINCT_OK;
    }
    if (g->count == s->fire_at) {
        /* older than every remembered value: not among the K newest */
        if (key < valpool_at(p, g->head)->key)
            return DISTINCT_OK;
        valpool_remove(p, g, g->head);
    }
    valpool_add(p, g, gid, h, key);
    return DISTINCT_OK;
}

void distinct_level(const distinct_spec *s, valpool *p, distinct_state *st,
                    int64_t now_ms, struct distinct_level *out)
{
    move_now(s, p, st, now_ms);
    out->value = st->set.count;
    out->exact = out->value < s->fire_at;
    out->above = out->value >= s->fire_at;
    out->clear = out->value <= s->clear_max;
}

size_t distinct_values(const distinct_spec *s, valpool *p, uint32_t gid,
                       distinct_state *st, int64_t now_ms, uint64_t (*out)[2],
                       int64_t *last_seen, size_t max)
{
    size_t n = 0;

    move_now(s, p, st, now_ms);
    for (uint32_t i = st->set.tail; i != VALPOOL_NIL && n < max;
         i = valpool_at(p, i)->prev) {
        valpool_hash(p, gid, i, out[n]);
        if (last_seen != NULL)
            last_seen[n] = st->base + valpool_at(p, i)->key;
        n++;
    }
    return n;
}

int64_t distinct_clear_time(const distinct_spec *s, valpool *p,
                            distinct_state *st)
{
    return distinct_clear_time_at(s, p, st, s->clear_max);
}

int64_t distinct_clear_time_at(const distinct_spec *s, valpool *p,
                               distinct_state *st, uint32_t clear_max)
{
    const valpool_group *g = &st->set;
    int64_t now;
    uint32_t i;

    if (st->now == NO_TIME)
        return NO_TIME;
    now = move_now(s, p, st, st->now);
    if (g->count <= clear_max)
        return now;
    /* clear once the (count - clear_max)-th oldest is forgotten; values
     * not remembered are older still */
    i = g->head;
    for (uint32_t k = g->count - clear_max - 1; k > 0; k--)
        i = valpool_at(p, i)->next;
    return st->base + valpool_at(p, i)->key + s->window_ms;
}

/* ---- checkpoint ---- */

static void rec_init(struct valpool_rec *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->tag = DISTINCT_REC;
    rec->nfield = 1;
    rec->timed = 1;
}

int distinct_save(const valpool *p, uint32_t gid, const distinct_state *st,
                  buf *out)
{
    struct valpool_rec rec;

    rec_init(&rec);
    rec.field[0] = st->now;
    rec.base = st->base;
    return valpool_save(p, gid, &st->set, &rec, out);
}

int distinct_load(const distinct_spec *s, valpool *p, uint32_t gid,
                  distinct_state *st, const unsigned char *in, size_t n)
{
    struct valpool_rec rec;
    int64_t now;
    int rc = -1;

    /* st changes only on success: valpool_load empties the group again
     * when it refuses */
    rec_init(&rec);
    if (st->set.count != 0 || st->now != NO_TIME ||
        valpool_load_head(&rec, in, n) != 0)
        goto out;
    now = rec.field[0];
    if (now != NO_TIME && (now < 0 || now > CLOCK_MS_MAX))
        goto out;
    /* as a rebase of an empty group at now would set it */
    rec.base = now == NO_TIME ? 0 : now - s->window_ms;
    rec.lo = rec.base + 1;
    rec.hi = now;
    rec.max = now == NO_TIME ? 0 : s->fire_at;
    if (valpool_load(p, gid, &st->set, &rec, in, n) != 0)
        goto out;
    st->now = now;
    st->base = rec.base;
    rc = 0;
out:
    return rc;
}

size_t distinct_checkpoint_bytes(const distinct_spec *s)
{
    return valpool_rec_bytes(1, 1, s->fire_at);
}

/* ---- the `distinct` rule kind (kind.h) ---------------------------------
 * Distinct values of a string field among a group's events in (now -
 * window_s, now], against the group's threshold (strict) and clear
 * threshold; an event that lacks the field is not counted.  A value is
 * its keyed 128-bit hash.  A group remembers up to K = floor of the
 * rule's largest threshold (its own or an override's) + 1 values, so each
 * group decides exactly against its own.  Memory: the rule's value pool
 * (r->priv, valpool.h), reserved at create for max_keys groups of K
 * values, and per group a 32-byte state; a group costs 32 + 36 bytes per
 * value it remembers (distinct.h), e.g. 68 bytes with one value, 428 with
 * 11.  A group's slot is its id in the pool.
 */

static int kind_create(struct det_rule *r)
{
    if (distinct_spec_init(&r->spec.distinct, r->window_ms, r->thr_max,
                           r->thr_max) != DISTINCT_OK ||
        (r->priv = distinct_pool(&r->spec.distinct,
                                 r->keys.cap_alloc)) == NULL)
        return -1;
    r->stride = r->spec.distinct.size;
    return 0;
}

static void kind_destroy(struct det_rule *r)
{
    valpool_destroy(r->priv);
    r->priv = NULL;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    distinct_reset(r->priv, det_state(r, slot));
}

__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    distinct_state *st = det_state(r, slot);
    struct distinct_level l;

    distinct_level(&r->spec.distinct, r->priv, st, now, &l);
    det_verdict_level(r, slot, l.value, v);
    v->aux[0] = l.exact;
    if (det_watched(r, slot, v))
        v->next_ms = distinct_clear_time_at(
            &r->spec.distinct, r->priv, st,
            (uint32_t)floor(det_clear(r, slot)));
}

__attribute__((hot))
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
                   distinct_add(&r->spec.distinct, r->priv, slot,
                                det_state(r, slot), in->now_ms, in->t_ms,
                                h) == DISTINCT_LATE,
                   slot, in, kind_tick, v);
}

static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    static const distinct_state muted = {
        0, INT64_MIN, {0, VALPOOL_NIL, VALPOOL_NIL}};

    /* a muted group is never reset or fed: its state means nothing */
    return distinct_save(r->priv, slot,
                         (r->keys.slot[slot].spare & DET_G_MUTED)
                             ? &muted
                             : det_state(r, slot),
                         out);
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    return distinct_load(&r->spec.distinct, r->priv, slot,
                         det_state(r, slot), p, n);
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    return distinct_checkpoint_bytes(&r->spec.distinct);
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
    .destroy = kind_destroy,
    .summary = kind_summary,
    .save = kind_save,
    .load = kind_load,
    .checkpoint_bytes = kind_checkpoint_bytes,
};
