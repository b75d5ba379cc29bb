/*
 * sequence.c - ordered steps within a time limit, per group (see
 * sequence.h for the semantics and the memory per group).
 *
 * Invariants after each event at time t (the group's newest):
 *   - chain m, when present, holds times at[m][0] <= ... <= at[m][m] of
 *     m + 1 distinct events, in the order fed, that met steps 1..m+1, all
 *     after the last event that fired, with at[m][0] >= t - within;
 *   - no such set of events (meeting steps 1..m+1, in order, after the
 *     last firing) has a later first time than at[m][0].
 */
#include "detectors/sequence.h"

#include <string.h>

#define NONE INT64_MIN

static int64_t *chain(sequence_state *st, unsigned m)
{
    return st->at + m * (m + 1) / 2;
}

int sequence_spec_init(sequence_spec *s, unsigned steps, int64_t within_ms)
{
    if (steps < SEQUENCE_MIN_STEPS || steps > SEQUENCE_MAX_STEPS ||
        within_ms < 0 || within_ms > SEQUENCE_MAX_WITHIN_MS)
        return SEQUENCE_EINVAL;
    s->steps = steps;
    s->within_ms = within_ms;
    s->size = sizeof(sequence_state) +
              (size_t)steps * (steps - 1) / 2 * sizeof(int64_t);
    return SEQUENCE_OK;
}

static void drop_chains(const sequence_spec *s, sequence_state *st)
{
    for (unsigned m = 0; m + 1 < s->steps; m++)
        chain(st, m)[0] = NONE;
}

void sequence_reset(const sequence_spec *s, sequence_state *st)
{
    st->last = NONE;
    st->fired = NONE;
    drop_chains(s, st);
}

int sequence_feed(const sequence_spec *s, sequence_state *st, int64_t now_ms,
                  int64_t t_ms, unsigned mask, struct sequence_fire *out)
{
    unsigned k = s->steps;
    int64_t *c;

    if (t_ms > now_ms)
        t_ms = now_ms;
    if (t_ms < st->last)
        t_ms = st->last;
    st->last = t_ms;
    mask &= (1u << k) - 1;
    if (mask == 0)
        return SEQUENCE_OK;
    for (unsigned m = 0; m + 1 < k; m++) {
        c = chain(st, m);
        if (c[0] != NONE && c[0] < t_ms - s->within_ms)
            c[0] = NONE;
    }
    /* the last step completes the newest chain that met all the others */
    c = chain(st, k - 2);
    if ((mask >> (k - 1) & 1) && c[0] != NONE) {
        out->steps = k;
        out->first_ms = c[0];
        memcpy(out->step_ms, c, (k - 1) * sizeof(int64_t));
        out->step_ms[k - 1] = t_ms;
        st->fired = t_ms;
        drop_chains(s, st);
        return SEQUENCE_FIRED;
    }
    /* later steps first: the event extends each chain by one step */
    for (unsigned m = k - 2; m >= 1; m--) {
        int64_t *from = chain(st, m - 1);
        c = chain(st, m);
        if ((mask >> m & 1) && from[0] != NONE &&
            (c[0] == NONE || from[0] >= c[0])) {
            memcpy(c, from, m * sizeof(int64_t));
            c[m] = t_ms;
        }
    }
    if (mask & 1)
        chain(st, 0)[0] = t_ms;
    return SEQUENCE_OK;
}
