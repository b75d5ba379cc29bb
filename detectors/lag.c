/*
 * lag.c - the stream's observed lag and the judgement of events stamped
 * ahead of it (lag.h).
 *
 * Invariants: a bucket with sec != 0 holds the smallest sample taken in
 * that wall clock second, at index sec % DET_LAG_SLOTS; est_ms is at most
 * every sample still in the window (det_lag_update() raises it to their
 * minimum); a skew run counts suspects each in step with the previous.
 */
#include "detectors/lag.h"

#include <string.h>

void det_lag_init(det_lag *l)
{
    memset(l, 0, sizeof *l);
}

void det_lag_sample(det_lag *l, int64_t wall_ms, int64_t lag_ms)
{
    int64_t sec = wall_ms / 1000;
    struct det_lag_slot *b;

    if (wall_ms <= 0)
        return;
    b = &l->slot[sec % DET_LAG_SLOTS];
    if (b->sec != sec) {
        b->sec = sec;
        b->min_ms = lag_ms;
    } else if (lag_ms < b->min_ms) {
        b->min_ms = lag_ms;
    }
    if (!l->known || l->forgot || lag_ms < l->est_ms)
        l->est_ms = lag_ms;
    l->known = 1;
    l->forgot = 0;
}

void det_lag_update(det_lag *l, int64_t wall_ms)
{
    int64_t sec = wall_ms / 1000, min = INT64_MAX;

    if (wall_ms <= 0)
        return;
    for (unsigned i = 0; i < DET_LAG_SLOTS; i++) {
        struct det_lag_slot *b = &l->slot[i];

        if (b->sec == 0)
            continue;
        if (b->sec <= sec - DET_LAG_WINDOW_S || b->sec > sec) {
            b->sec = 0; /* out of the window (or from a clock set back) */
            continue;
        }
        if (b->min_ms < min)
            min = b->min_ms;
    }
    if (min != INT64_MAX)
        l->est_ms = min;
}

void det_lag_forget(det_lag *l)
{
    memset(l->slot, 0, sizeof l->slot);
    l->forgot = 1;
}

int det_lag_get(const det_lag *l, int64_t *ms)
{
    *ms = l->known ? l->est_ms : 0;
    return l->known;
}

void det_skew_init(det_skew *s)
{
    memset(s, 0, sizeof *s);
}

int det_skew_judge(det_skew *s, int64_t t_ms, int64_t ref_ms, int64_t tol_ms,
                   int64_t wall_ms)
{
    int64_t gap;

    if (ref_ms == INT64_MIN || t_ms <= ref_ms + tol_ms) {
        s->run = 0;
        return DET_SKEW_OK;
    }
    gap = wall_ms > s->last_wall && s->last_wall > 0 ? wall_ms - s->last_wall
                                                      : 0;
    if (s->run > 0 &&
        (t_ms < s->last_t - tol_ms || t_ms > s->last_t + tol_ms + gap))
        s->run = 0; /* not in step with the run: a run of its own */
    s->run++;
    s->last_t = t_ms;
    s->last_wall = wall_ms;
    if (s->run >= DET_SKEW_EVENTS) {
        s->run = 0;
        return DET_SKEW_JUMP;
    }
    return DET_SKEW_OUTLIER;
}
