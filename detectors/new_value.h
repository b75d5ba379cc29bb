/*
 * new_value.h - the per-group state of the `new_value` rule kind: the
 * values of a string field a group remembers, and the ones it has not
 * seen before.
 *
 * SPEC §2: a group remembers at most `max_values` values of `field`; the
 * least recently used is forgotten (and would count as new again).  Once
 * now - the group's first event >= learn_s, a value the group does not
 * remember is new (reported, then remembered); values seen before that
 * are learned silently.  A value is the caller's 128-bit keyed hash of the
 * string (detectors/hash.h).
 *
 * Precisely: the group's first event time is its first event's t (taken
 * at now when after it); an event is in the learning period when now_ms -
 * first < learn_ms (now_ms being the newest event time, which never
 * decreases: SPEC judges the period on now, not on the event's stamp).
 * "Used" is seen in an event: each event makes its value the most
 * recently used, in the order fed (event times do not reorder the list);
 * a full group forgets its least recently used value to remember a value
 * it does not hold, whether new or learned.
 *
 * Cost per event: O(1) expected (a hash lookup and list moves).  Nothing
 * allocates, reads a clock or does I/O; the state holds no pointers (the
 * hashes are only meaningful under the key that made them).
 *
 * Memory.  The values live in the rule's shared pool (valpool.h), one
 * entry per value a group holds; a group's own state is a 40-byte header:
 *
 *   per group       40 + 36 * v bytes, v = the values it remembers (<=
 *                   max_values): the header, and per value a pool entry
 *                   (32) and about one hash bucket (4)
 *   per rule        reserved once (virtual, MAP_NORESERVE, resident only
 *                   as used): 32 * max_keys * max_values + 4 * the power of
 *                   two >= that
 *
 *   e.g. max_values 1000 at 10,000 groups: 387 MB reserved; a group with
 *   one value costs 76 bytes, a full one 36 040.
 *
 * A hostile stream of new values fills each group to max_values at most:
 * the bound is the rule's reservation, as with a fixed set per group.
 * Entries a group holds go back to the pool when its slot next holds a
 * group (new_value_reset, new_value_alert), so an evicted group's values
 * are freed when its slot is taken, which eviction does at once.
 *
 * Checkpoint (new_value_save / new_value_load): a group's record is
 * valpool.h's, tag NEW_VALUE_REC_GROUP, fields first, last_new,
 * forgotten, then its values least recently used first; an alert group's
 * is tag NEW_VALUE_REC_ALERT, field last_new, no values.
 */
#ifndef TW_NEW_VALUE_H
#define TW_NEW_VALUE_H

#include "base/buf.h"
#include "detectors/valpool.h"


#include <stddef.h>
#include <stdint.h>

#define NEW_VALUE_MAX_VALUES 1000000u
#define NEW_VALUE_MAX_LEARN_MS 31536000000LL /* 365 days */

enum {
    NEW_VALUE_KNOWN = 0,   /* remembered: nothing to report */
    NEW_VALUE_LEARNED = 1, /* not remembered, learning: now remembered */
    NEW_VALUE_NEW = 2,     /* not remembered, learning over: report it */
    NEW_VALUE_EINVAL = -1
};

/* Checkpoint record tags (format version 1). */
enum { NEW_VALUE_REC_GROUP = 0x11, NEW_VALUE_REC_ALERT = 0x12 };

/* A rule's parameters, shared by its groups; read-only after
 * new_value_spec_init().  Fields private except `size`. */
typedef struct new_value_spec {
    int64_t learn_ms;
    uint32_t max_values;
    size_t size; /* bytes of one group's state */
} new_value_spec;

/* One group's state: new_value_spec.size bytes, 8-byte aligned, in memory
 * that is zero or last written by this module.  `first`, `last_new`,
 * `forgotten` and set.count may be read; the rest is private.  An alert
 * group (new_value_alert) uses `last_new` only. */
typedef struct new_value_state {
    int64_t last_new;   /* time of the last new value (INT64_MIN: none) */
    int64_t first;      /* the group's first event time (INT64_MIN: none) */
    uint64_t forgotten; /* values forgotten to make room */
    valpool_group set;  /* its values in the rule's pool */
} new_value_state;

/* Fill *s for learn_ms (0 .. NEW_VALUE_MAX_LEARN_MS; 0: nothing is
 * learned silently) and max_values (1 .. NEW_VALUE_MAX_VALUES).  Returns
 * 0 or NEW_VALUE_EINVAL. */
int new_value_spec_init(new_value_spec *s, int64_t learn_ms,
                        uint32_t max_values);

/* The rule's pool for max_keys groups: valpool_create(max_keys,
 * max_values).  NULL when out of memory or range. */
valpool *new_value_pool(const new_value_spec *s, uint32_t max_keys);

/* Make `st` the state of a new group, its values (if any) back to pool
 * p. */
void new_value_reset(valpool *p, new_value_state *st);

/* Make `st` the state of an alert group whose new value came at t_ms: its
 * values (if any: the slot held a counting group) back to pool p. */
void new_value_alert(valpool *p, new_value_state *st, int64_t t_ms);

/* The next event of group `gid` (state st, values in p), at t_ms (the
 * newest event time being now_ms), has the value with hash h.  Returns
 * NEW_VALUE_KNOWN, NEW_VALUE_LEARNED or NEW_VALUE_NEW (then last_new is
 * the event's time). */
int new_value_feed(const new_value_spec *s, valpool *p, uint32_t gid,
                   new_value_state *st, int64_t now_ms, int64_t t_ms,
                   const uint64_t h[2]);

/* Append group gid's record to out (alert: an alert group's).  Returns 0,
 * or -1 when out is full (out as it was). */
int new_value_save(const valpool *p, uint32_t gid,
                   const new_value_state *st, int alert, buf *out);

/* Load a record that new_value_save wrote (n bytes, from disk: hostile)
 * into group gid, just reset: the record must be of the kind `alert`
 * says, every time in [0, CLOCK_MS_MAX] or none (an alert's last_new not
 * none), first none exactly when there are no values (and then no
 * last_new), at most max_values values, forgotten only with max_values of
 * them, no hash twice.  Returns 0, or -1 with the group reset. */
int new_value_load(const new_value_spec *s, valpool *p, uint32_t gid,
                   new_value_state *st, int alert, const unsigned char *in,
                   size_t n);

/* The most bytes new_value_save appends for one group. */
size_t new_value_checkpoint_bytes(const new_value_spec *s);

#endif
