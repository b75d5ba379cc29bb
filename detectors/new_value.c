/*
 * new_value.c - remembered values per group, least recently used
 * forgotten (see new_value.h for the semantics and memory per group).
 *
 * Invariants: the set holds at most max_values hashes, all with key 0, so
 * the list is in order of last use (valset ties keep insertion order):
 * the head is the least recently used; `first` is set by the first event
 * and never changes until the next reset.
 */
#include "detectors/new_value.h"

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
    s->size = offsetof(new_value_state, set) + valset_size(max_values);
    return 0;
}

void new_value_reset(const new_value_spec *s, new_value_state *st)
{
    st->first = NO_TIME;
    st->last_new = NO_TIME;
    st->forgotten = 0;
    valset_reset(&st->set, s->max_values);
}

int new_value_feed(const new_value_spec *s, new_value_state *st,
                   int64_t now_ms, int64_t t_ms, const uint64_t h[2])
{
    valset *v = &st->set;
    uint32_t i;

    if (t_ms > now_ms)
        t_ms = now_ms;
    if (st->first == NO_TIME)
        st->first = t_ms;
    i = valset_find(v, h);
    if (i != VALSET_NIL) {
        valset_set_key(v, i, 0); /* most recently used */
        return NEW_VALUE_KNOWN;
    }
    if (v->count == v->cap) {
        valset_remove(v, v->head);
        st->forgotten++;
    }
    valset_add(v, h, 0);
    if (now_ms - st->first < s->learn_ms)
        return NEW_VALUE_LEARNED;
    st->last_new = t_ms;
    return NEW_VALUE_NEW;
}

/* ---- the `new_value` rule kind (kind.h) --------------------------------
 * A group (its group_by values) remembers the values of `field` it has
 * seen; from learn_s after its first event, a value it does not remember
 * fires.  The alert's group is group_by + field: each new value is a group
 * of its own (keyed by the values, flag DET_G_ALERT), which keeps only the
 * time of its new value in its state and clears window_s after it; it is
 * removed when its alert resolves.  Value and threshold are null.
 *
 * Memory per group: new_value_spec.size = 56 + 32 * max_values + 4 * nb
 * (new_value.h's table: 36 152 bytes at the default 1000, most of it
 * untouched until values fill it); an alert group touches 8 bytes of its
 * slot.
 */

static int kind_create(struct det_rule *r)
{
    const struct rule_params *p = &r->rule->p;

    if (new_value_spec_init(&r->spec.new_value, p->learn_s * 1000,
                            (uint32_t)p->max_values) != 0)
        return -1;
    r->stride = r->spec.new_value.size;
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    new_value_reset(&r->spec.new_value, det_state(r, slot));
}

/* An alert group's level: above while its new value is in (now -
 * window_s, now].  (Learning groups never alert, so never tick.) */
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    const int64_t *last_new = det_state(r, slot);

    det_verdict_until(slot, NAN, now, *last_new + r->window_ms, v);
}

static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    const char *s = match_string(in->ev, r->rule->p.field);
    uint64_t h[2];
    uint32_t slot, as;

    if (s == NULL || (slot = det_group(r, in)) == DET_NIL)
        return 0;
    r->st.counted++;
    det_hash_text(in, s, h);
    if (new_value_feed(&r->spec.new_value, det_state(r, slot), in->now_ms,
                       in->t_ms, h) != NEW_VALUE_NEW)
        return 0;
    if ((as = det_group_extra(r, in, s, DET_G_ALERT)) == DET_NIL)
        return 0;
    *(int64_t *)det_state(r, as) = in->t_ms;
    kind_tick(r, as, in->now_ms, v);
    v->extra = s;
    return 1;
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
    .summary = kind_summary,
    .fill = kind_fill,
};
