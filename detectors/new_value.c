/*
 * new_value.c - remembered values per group, least recently used
 * forgotten, in the rule's shared value pool (see new_value.h for the
 * semantics and the memory).
 *
 * Invariants: a group holds at most max_values hashes in the pool, all
 * with key 0, so its list is in order of last use (valpool ties keep
 * insertion order): the head is the least recently used; `first` is set
 * by the first event and never changes until the next reset; values are
 * removed only to make room, so forgotten > 0 means the group is full; an
 * alert group holds no values.
 */
#include "detectors/new_value.h"

#include "base/clock.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NO_TIME INT64_MIN

int new_value_spec_init(new_value_spec *s, int64_t learn_ms,
                        uint32_t max_values)
{
    if (learn_ms < 0 || learn_ms > NEW_VALUE_MAX_LEARN_MS ||
        max_values < 1 || max_values > NEW_VALUE_MAX_VALUES)
        return NEW_VALUE_EINVAL;
    s->learn_ms = learn_ms;
    s->max_values = max_values;
    s->size = sizeof(new_value_state);
    return 0;
}

valpool *new_value_pool(const new_value_spec *s, uint32_t max_keys)
{
    return valpool_create(max_keys, s->max_values);
}

void new_value_reset(valpool *p, new_value_state *st)
{
    valpool_group_reset(p, &st->set);
    st->last_new = NO_TIME;
    st->first = NO_TIME;
    st->forgotten = 0;
}

void new_value_alert(valpool *p, new_value_state *st, int64_t t_ms)
{
    if (st->set.count != 0)
        new_value_reset(p, st);
    st->last_new = t_ms;
}

__attribute__((hot))
int new_value_feed(const new_value_spec *s, valpool *p, uint32_t gid,
                   new_value_state *st, int64_t now_ms, int64_t t_ms,
                   const uint64_t h[2])
{
    valpool_group *g = &st->set;
    uint32_t i;

    if (t_ms > now_ms)
        t_ms = now_ms;
    if (st->first == NO_TIME)
        st->first = t_ms;
    i = valpool_find(p, gid, h);
    if (i != VALPOOL_NIL) {
        valpool_set_key(p, g, i, 0); /* most recently used */
        return NEW_VALUE_KNOWN;
    }
    if (g->count == s->max_values) {
        valpool_remove(p, g, g->head);
        st->forgotten++;
    }
    valpool_add(p, g, gid, h, 0);
    if (now_ms - st->first < s->learn_ms)
        return NEW_VALUE_LEARNED;
    st->last_new = t_ms;
    return NEW_VALUE_NEW;
}

/* ---- checkpoint ---- */

/* A record's head: an alert group's or a counting group's. */
static void rec_init(struct valpool_rec *rec, int alert)
{
    memset(rec, 0, sizeof *rec);
    rec->tag = alert ? NEW_VALUE_REC_ALERT : NEW_VALUE_REC_GROUP;
    rec->nfield = alert ? 1 : 3;
}

static int is_time(int64_t t)
{
    return t >= 0 && t <= CLOCK_MS_MAX;
}

int new_value_save(const valpool *p, uint32_t gid,
                   const new_value_state *st, int alert, buf *out)
{
    static const valpool_group none = {0, VALPOOL_NIL, VALPOOL_NIL};
    struct valpool_rec rec;

    rec_init(&rec, alert);
    rec.field[0] = st->last_new;
    rec.field[1] = st->first;
    rec.field[2] = (int64_t)st->forgotten;
    return valpool_save(p, gid, alert ? &none : &st->set, &rec, out);
}

int new_value_load(const new_value_spec *s, valpool *p, uint32_t gid,
                   new_value_state *st, int alert, const unsigned char *in,
                   size_t n)
{
    struct valpool_rec rec;
    int64_t last_new, first;
    uint64_t forgotten;
    int rc = -1;

    rec_init(&rec, alert);
    if (st->set.count != 0 || valpool_load_head(&rec, in, n) != 0)
        goto out;
    last_new = rec.field[0];
    first = alert ? last_new : rec.field[1];
    forgotten = alert ? 0 : (uint64_t)rec.field[2];
    if ((last_new != NO_TIME && !is_time(last_new)) ||
        (first != NO_TIME && !is_time(first)) ||
        (alert && last_new == NO_TIME) ||
        (first == NO_TIME && (last_new != NO_TIME || forgotten != 0)))
        goto out;
    rec.max = first == NO_TIME || alert ? 0 : s->max_values;
    if (valpool_load(p, gid, &st->set, &rec, in, n) != 0)
        goto out;
    /* an event leaves its value; values leave only to make room */
    if ((!alert && first != NO_TIME && st->set.count == 0) ||
        (forgotten != 0 && st->set.count != s->max_values))
        goto out;
    st->last_new = last_new;
    st->first = alert ? NO_TIME : first;
    st->forgotten = forgotten;
    rc = 0;
out:
    if (rc != 0)
        new_value_reset(p, st);
    return rc;
}

size_t new_value_checkpoint_bytes(const new_value_spec *s)
{
    return valpool_rec_bytes(3, 0, s->max_values);
}

/* ---- the `new_value` rule kind (kind.h) --------------------------------
 * A group (its group_by values) remembers the values of `field` it has
 * seen; from learn_s after its first event, a value it does not remember
 * fires; after learning, a value it does not remember stamped at or
 * before now - window_s is late (counted so, not remembered).  The
 * alert's group is group_by + field: each new value is a group
 * of its own (keyed by the values, flag DET_G_ALERT), which keeps only the
 * time of its new value in its state and clears window_s after it; it is
 * removed when its alert resolves.  Value and threshold are null.
 *
 * Memory: the rule's value pool (r->priv, valpool.h), reserved at create
 * for max_keys groups of max_values values, and per group a 40-byte
 * state; a group costs 40 + 36 bytes per value it remembers (new_value.h),
 * an alert group its 40 bytes.  A group's slot is its id in the pool.
 */

static int kind_create(struct det_rule *r)
{
    const struct rule_params *p = &r->rule->p;

    if (new_value_spec_init(&r->spec.new_value, p->learn_s * 1000,
                            (uint32_t)p->max_values) != 0 ||
        (r->priv = new_value_pool(&r->spec.new_value,
                                  r->keys.cap_alloc)) == NULL)
        return -1;
    r->stride = r->spec.new_value.size;
    return 0;
}

static void kind_destroy(struct det_rule *r)
{
    valpool_destroy(r->priv);
    r->priv = NULL;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    new_value_reset(r->priv, det_state(r, slot));
}

/* An alert group's level: above while its new value is in (now -
 * window_s, now].  (Learning groups never alert, so never tick.) */
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    const new_value_state *st = det_state(r, slot);

    det_verdict_until(slot, NAN, now, st->last_new + r->window_ms, v);
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    const char *s = match_string(in->ev, r->rule->p.field);
    const new_value_state *st;
    uint64_t h[2];
    uint32_t slot, as;
    int64_t first;

    if (s == NULL || (slot = det_group(r, in)) == DET_NIL)
        return 0;
    det_hash_text(in, s, h);
    /* a value it would report, stamped at or before now - window_s: its
     * alert would be over before it began.  Late: not remembered either,
     * so that its next use in the window is new (values learned while
     * learning are learned whenever stamped) */
    st = det_state(r, slot);
    first = st->first != NO_TIME ? st->first : in->t_ms;
    if (in->t_ms <= in->now_ms - r->window_ms &&
        in->now_ms - first >= r->spec.new_value.learn_ms &&
        valpool_find(r->priv, slot, h) == VALPOOL_NIL) {
        r->late++;
        return 0;
    }
    r->counted++;
    if (new_value_feed(&r->spec.new_value, r->priv, slot, det_state(r, slot),
                       in->now_ms, in->t_ms, h) != NEW_VALUE_NEW)
        return 0;
    if ((as = det_group_extra(r, in, s, DET_G_ALERT)) == DET_NIL)
        return 0;
    new_value_alert(r->priv, det_state(r, as), in->t_ms);
    kind_tick(r, as, in->now_ms, v);
    v->extra = s;
    return 1;
}

static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    static const new_value_state muted = {
        INT64_MIN, INT64_MIN, 0, {0, VALPOOL_NIL, VALPOOL_NIL}};
    unsigned fl = r->keys.slot[slot].spare;

    /* a muted group is never reset or fed: its state means nothing */
    return new_value_save(r->priv, slot,
                          (fl & DET_G_MUTED) ? &muted : det_state(r, slot),
                          (fl & DET_G_ALERT) != 0, out);
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    return new_value_load(&r->spec.new_value, r->priv, slot,
                          det_state(r, slot),
                          (r->keys.slot[slot].spare & DET_G_ALERT) != 0, p,
                          n);
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    return new_value_checkpoint_bytes(&r->spec.new_value);
}

/* "agent a-7 used a tool it has not used before: delete_customer_records" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    const char *f = r->gname[r->rule->ngroup];
    const char *val = det_value(a, r->rule->ngroup);
    int tool = r->rule->p.field.id == MATCH_F_TOOL_NAME;
    char g[DET_KEY_MAX + 64];

    det_describe(r, a, 0, g, sizeof g);
    if (resolved)
        snprintf(out, size,
                 "back to normal: no new %s%s%s for %llds since %s",
                 tool ? "tool" : f, g[0] ? " for " : "", g,
                 (long long)(r->window_ms / 1000), val);
    else if (g[0] && tool)
        snprintf(out, size, "%s used a tool it has not used before: %s", g,
                 val);
    else if (g[0])
        snprintf(out, size, "%s has a %s it has not had before: %s", g, f,
                 val);
    else
        snprintf(out, size, "a %s not seen before: %s", tool ? "tool" : f,
                 val);
}

static void kind_fill(const struct det_rule *r, const struct det_alert *a,
                      struct alert *al)
{
    (void)r;
    (void)a;
    al->value = NAN;
    al->threshold = NAN;
}

const struct det_kind det_kind_new_value = {
    .name = "new_value",
    .flags = DET_KF_REMOVE,
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
