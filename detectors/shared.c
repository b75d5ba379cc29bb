/*
 * shared.c - what the detectors share beyond the registry: the window
 * feed and count level (volume, error_rate, credential_access), and the
 * per-call threshold logic (latency, payload_size).
 *
 * Per-call detectors:
 * A group exists only while it has an open alert: it is created by a
 * violation and freed when the alert resolves, so calls under the
 * threshold cost nothing but the comparison.  The alert clears window_s
 * after the last violation (then hold_s before the resolve is sent).
 */
#include "base/buf.h"
#include "detectors/detector.h"

#include <stdio.h>

__attribute__((hot))
int det_window_feed(struct det *d, struct det_input *in,
                    const uint32_t *vals,
                    void (*eval)(struct det *, uint32_t, int64_t,
                                 struct det_verdict *),
                    struct det_verdict *v)
{
    uint32_t slot;
    int created;

    slot = det_group_of(d, in, &created);
    if (slot == DET_NIL)
        return 0;
    if (created)
        win_ring_reset(&d->win, det_ring(d, slot));
    if (win_add(&d->win, det_ring(d, slot), in->now_ms, in->t_ms, vals) ==
        WIN_LATE) {
        d->st.late++;
        return 0;
    }
    d->st.counted++;
    eval(d, slot, in->now_ms, v);
    return 1;
}

__attribute__((hot))
void det_window_count_eval(struct det *d, uint32_t slot, int64_t now,
                           struct det_verdict *v)
{
    win_ring *r = det_ring(d, slot);
    uint64_t calls = win_sum(&d->win, r, now, 0);

    v->slot = slot;
    v->value = (double)calls;
    v->aux[0] = calls;
    v->aux[1] = 0;
    v->level = v->value > d->p.threshold ? DET_ABOVE
               : v->value > det_clear_threshold(d) ? DET_BETWEEN
                                                   : DET_CLEAR;
    /* when the value may change by time alone: the engine schedules only
     * groups that are alerting or about to fire, and the scan is
     * O(buckets), so an idle group (nearly every event) skips it */
    v->next_ms = d->keys.slot[slot].pinned || v->level == DET_ABOVE
                     ? win_next_expiry(&d->win, r)
                     : INT64_MAX;
}

__attribute__((hot))
void det_per_call_eval(struct det *d, uint32_t slot, int64_t now,
                       struct det_verdict *v)
{
    const struct det_alert *a = &d->alert[slot];

    v->slot = slot;
    v->value = a->value;
    v->aux[0] = v->aux[1] = 0;
    v->next_ms = a->last_violation_ms + d->window_ms;
    v->level = now < v->next_ms ? DET_ABOVE : DET_CLEAR;
    if (v->level == DET_CLEAR)
        v->next_ms = INT64_MAX; /* only a new violation changes it */
}

__attribute__((hot))
int det_per_call_feed(struct det *d, struct det_input *in, double x,
                      struct det_verdict *v)
{
    struct det_alert *a;
    uint32_t slot;
    int created;

    if (!(x > d->p.threshold))
        return 0;
    if (in->t_ms <= in->now_ms - d->window_ms) {
        d->st.late++;
        return 0;
    }
    slot = det_group_of(d, in, &created);
    if (slot == DET_NIL)
        return 0;
    d->st.counted++;
    a = &d->alert[slot];
    if (created || in->t_ms > a->last_violation_ms)
        a->last_violation_ms = in->t_ms;
    a->value = x;
    det_per_call_eval(d, slot, in->now_ms, v);
    return 1;
}

void det_per_call_summary(const struct det *d, const struct det_alert *a,
                          int resolved, const char *verb, const char *unit,
                          char *out, size_t size)
{
    char thr[32];
    char g[DET_KEY_MAX + 16];

    buf_format_number(d->p.threshold, thr, sizeof thr);
    det_describe_group(d, a->key, g, sizeof g);
    if (resolved)
        snprintf(out, size,
                 "back to normal: no call over %s %s %s for %llds "
                 "(last one: %.0f %s)",
                 thr, unit, g, (long long)d->p.window_s, a->value, unit);
    else
        snprintf(out, size, "a call %s %s %.0f %s (threshold %s %s)", g,
                 verb, a->value, unit, thr, unit);
}
