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
