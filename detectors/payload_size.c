/*
 * payload_size.c - a call returns more than a number of bytes: a completed
 * call whose response_payload_size_bytes is > threshold (default 1000000
 * bytes) fires for its group; the alert resolves after window_s (default 300
 * s) without another such call, plus hold_s. A group exists only while it
 * has an open alert: it is created by a violation and freed when the alert
 * resolves, so calls under the threshold cost nothing but the comparison.
 */
#include "detectors/detector.h"

#include <stdio.h>

static const struct cfg_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(DET_SEV_WARNING),
    DET_ITEM_GROUP_BY(DET_BY_TOOL, det_group_names),
    DET_ITEM_WINDOW(300, "an alert resolves after this long with no "
                         "violation"),
    DET_ITEM_THRESHOLD(1000000, 0, 1e15,
                       "a call that returns more bytes than this"),
};

static void level(struct det *d, uint32_t slot, int64_t now,
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

static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    const struct event *ev = in->ev;
    struct det_alert *a;
    uint32_t slot;
    int created;
    double x;

    if (!det_is_completed(ev) || !(ev->has & EVENT_HAS_PAYLOAD))
        return 0;
    x = (double)ev->payload_bytes;
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
    level(d, slot, in->now_ms, v);
    return 1;
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    char thr[32];
    char g[DET_KEY_MAX + 16];

    alert_format_number(d->p.threshold, thr, sizeof thr);
    det_describe_group(d, a->key, g, sizeof g);
    if (resolved)
        snprintf(out, size,
                 "back to normal: no call over %s bytes %s for %llds "
                 "(last one: %.0f bytes)",
                 thr, g, (long long)d->p.window_s, a->value);
    else
        snprintf(out, size,
                 "a call %s returned %.0f bytes (threshold %s bytes)",
                 g, a->value, thr);
}

const struct det_ops det_payload_size_ops = {
    .name = "payload_size",
    .description = "a call returns more than a number of bytes",
    .items = items,
    .nitems = sizeof items / sizeof items[0],
    .flags = DET_F_PER_CALL,
    .feed = feed,
    .eval = level,
    .summary = summary,
};
