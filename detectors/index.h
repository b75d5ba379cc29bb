/*
 * index.h - rules indexed by the exact values their match requires
 * (SPEC section 2, "Cost": an event reaches only the rules whose match
 * can hold for it).
 *
 * The engine's first filter is the event's type: a rule whose match says
 * `completed` is never offered a request.  A fleet's rules are mostly
 * scoped further, by tool category, tool names or downstream systems
 * ("tool_category": ["secrets", "http"]); without an index every such
 * rule is offered every call and refuses most.  A rule whose match holds
 * a string condition of exact values only (no `*`, no `?`;
 * match_exact_values) is put in this index under each of those values,
 * lower-cased: an event reaches it only when its own value of that field,
 * lower-cased, is one of them.  The index is a prefilter: the rule's whole
 * match and exclude are still evaluated for the events it lets through.
 *
 * Rules are bits of a set of DET_RULES_MAX (a rule set's limit, RULE_MAX);
 * the engine iterates the set in order, so rules are fed in the order of
 * the rule set, as without the index.
 *
 * Per field, the values are an open-addressing table of at most half
 * load, built at config load and read-only afterwards; a lookup hashes
 * the event's value once (lower-casing it as it goes) and compares the
 * value found.  Input cannot lengthen the probes: it only chooses which
 * of the configured values to look up.  Memory: 56 bytes per value slot
 * (twice the values, rounded up to a power of two) plus the values' text;
 * nothing per event.  Pure: no I/O, no clock.
 */
#ifndef TW_DET_INDEX_H
#define TW_DET_INDEX_H

#include "detectors/match.h"
#include "detectors/rule.h"
#include "model/event.h"

#include <stdint.h>

#define DET_RULES_MAX RULE_MAX /* rules in a set: bits of a struct det_rset */
#define DET_RSET_WORDS ((DET_RULES_MAX + 63) / 64)
#define DET_INDEX_FIELDS 8 /* distinct fields indexed; more stay unindexed */

enum {
    DET_INDEX_OK = 0,
    DET_INDEX_EFULL = -1, /* no room for another field: leave the rule out */
    DET_INDEX_ENOMEM = -2,
    DET_INDEX_EINVAL = -3
};

/* A set of rules, bit i = rule i. */
struct det_rset {
    uint64_t w[DET_RSET_WORDS];
};

typedef struct det_index det_index;

/* An empty index, or NULL (out of memory). */
det_index *det_index_create(void);

/* Put rule `rule` (< DET_RULES_MAX) under each of the n values lit[] of
 * field f (their text is copied, lower-cased).  All of a rule's values go
 * in one call, and a rule is added at most once.  DET_INDEX_EFULL when f
 * would be a field past DET_INDEX_FIELDS: the index is unchanged and the
 * rule must stay unindexed.  DET_INDEX_EINVAL for a bad rule number or
 * n == 0. */
int det_index_add(det_index *x, struct match_field f, const char *const *lit,
                  uint32_t n, uint32_t rule);

/* The number of fields indexed (0: the index never admits anything). */
uint32_t det_index_fields(const det_index *x);

/* OR into *out the rules whose indexed value of some field is the event's
 * value of that field.  No allocation. */
void det_index_lookup(const det_index *x, const struct event *ev,
                      struct det_rset *out);

void det_index_destroy(det_index *x);

static inline void det_rset_add(struct det_rset *s, uint32_t i)
{
    s->w[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline int det_rset_has(const struct det_rset *s, uint32_t i)
{
    return (int)(s->w[i >> 6] >> (i & 63) & 1);
}

#endif
