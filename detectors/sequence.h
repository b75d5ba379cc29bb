/*
 * sequence.h - the per-group state of the `sequence` rule kind: events of
 * a group meeting 2 to 5 steps in order, the first at most `within` before
 * the last, in O(steps^2) bytes.
 *
 * SPEC §2: a group fires when an event meets the last step and earlier
 * events of the group met steps 1 .. k-1 in order, the first at most
 * within_s (inclusive) before it.  One event fills at most one step of a
 * chain; a new first-step event starts a newer chain, and the newest chain
 * that can complete within `within` is kept; after firing the chain starts
 * over.
 *
 * The caller matches each event of the group against the steps and passes
 * the bitmask of the steps it meets (bit i: step i + 1; an event may meet
 * several).  Precisely, with the group's events e_1, e_2, ... in the order
 * fed, event e_j fires when there are indices i_1 < i_2 < ... < i_k = j,
 * all after the last event that fired, with e_{i_m} meeting step m and
 * t(e_j) - f(e_{i_1}) <= within.  The firing event ends the chain: it
 * neither starts nor extends another, and every partial chain is dropped.
 *
 * Time: ms of event time.  Order is the order fed, and times are made to
 * agree with it: an event is taken at t(e) = max(t, the group's previous
 * event time), and never after now (an event with t > now is taken at
 * now).  A chain starts at its first step's own time f(e) = max(t, the
 * last completed sequence's time) (t at most now): a late first step is
 * not made newer than it is, so within and the reported first_ms are
 * true of it.
 *
 * State: for each step m < k, the newest chain (latest first-step time)
 * that has met steps 1..m so far, with the times of its m events.  Among
 * chains that have met the same steps, the one that started last can be
 * completed by every event that completes an older one (which steps an
 * event can extend is a matter of the order fed, not of times), so
 * keeping it alone decides exactly.  An event updates the steps from the last to the
 * first, so it extends a chain by one step at most; chains whose first
 * step is older than t - within are dropped.  O(k^2) per event, k <= 5.
 * Nothing allocates, reads a clock or does I/O; the state holds no
 * pointers.
 *
 * Tags.  A spec may carry a tag of tag_size bytes per chain
 * (sequence_spec_tag): the caller's bytes given with the chain's first
 * event, carried along as the chain grows and handed back with a
 * completed sequence (the rule kind keeps the first step's tool name, for
 * the alert's words).
 *
 * Memory per group: sequence_spec.size = 16 + 8 * k (k - 1) / 2 +
 * (k - 1) * tag_size bytes:
 *
 *   steps   bytes (no tag)   with a 64-byte tag
 *   2       24               88
 *   3       40               168
 *   4       64               256
 *   5       96               352
 */
#ifndef TW_SEQUENCE_H
#define TW_SEQUENCE_H

#include <stddef.h>
#include <stdint.h>

#define SEQUENCE_MIN_STEPS 2
#define SEQUENCE_MAX_STEPS 5
#define SEQUENCE_MAX_WITHIN_MS 31536000000LL /* 365 days */

enum { SEQUENCE_OK = 0, SEQUENCE_FIRED = 1, SEQUENCE_EINVAL = -1 };

/* A rule's parameters, shared by its groups; read-only after
 * sequence_spec_init().  Fields private except `size`. */
typedef struct sequence_spec {
    int64_t within_ms;
    uint32_t steps;
    size_t tag_size; /* bytes of a chain's tag (0: none) */
    size_t tag_off;  /* offset of the tags in the state */
    size_t size;     /* bytes of one group's state */
} sequence_spec;

/* One group's state: sequence_spec.size bytes, 8-byte aligned.  `fired`
 * may be read (the lifecycle clears window_s after it); the rest is
 * private. */
typedef struct sequence_state {
    int64_t last;  /* time of the group's newest event (INT64_MIN: none) */
    int64_t fired; /* time of the last completed sequence (INT64_MIN) */
    int64_t at[];  /* chain m (0-based, < steps - 1) at m (m + 1) / 2:
                      the times of its m + 1 events; INT64_MIN first: no
                      such chain */
} sequence_state;

/* A completed sequence. */
struct sequence_fire {
    uint32_t steps;                      /* k */
    int64_t first_ms;                    /* step 1's time (= step_ms[0]) */
    int64_t step_ms[SEQUENCE_MAX_STEPS]; /* the time of each step's event */
    const void *first_tag;               /* the tag of step 1's event
                                            (tag_size bytes, valid until
                                            the next feed; NULL: no tags) */
};

/* Fill *s for `steps` steps (SEQUENCE_MIN_STEPS .. SEQUENCE_MAX_STEPS) and
 * within_ms (0 .. SEQUENCE_MAX_WITHIN_MS).  Returns SEQUENCE_OK or
 * SEQUENCE_EINVAL. */
int sequence_spec_init(sequence_spec *s, unsigned steps, int64_t within_ms);

/* Give each chain a tag of tag_size bytes (after sequence_spec_init; 0:
 * none).  Updates s->size. */
void sequence_spec_tag(sequence_spec *s, size_t tag_size);

/* Make `st` (s->size bytes, 8-byte aligned) the state of a new group. */
void sequence_reset(const sequence_spec *s, sequence_state *st);

/* Feed the group's next event, at t_ms (the newest event time being
 * now_ms), meeting the steps in `mask` (bit i: step i + 1; bits of steps
 * past the last are ignored; 0: the event only moves the group's time).
 * Returns SEQUENCE_FIRED, with the sequence in *out (not NULL), when the
 * event completes one; else SEQUENCE_OK (*out untouched). */
int sequence_feed(const sequence_spec *s, sequence_state *st, int64_t now_ms,
                  int64_t t_ms, unsigned mask, struct sequence_fire *out);

/* sequence_feed() with the event's tag (tag_size bytes; may be NULL when
 * the spec has no tags): a chain this event starts carries it. */
int sequence_feed_tagged(const sequence_spec *s, sequence_state *st,
                         int64_t now_ms, int64_t t_ms, unsigned mask,
                         const void *tag, struct sequence_fire *out);

#endif
