/*
 * latency.c - a call takes longer than a number of ms: a completed call
 * whose duration (execution_duration_ms) is > threshold (default 5000 ms)
 * fires for its group; the alert resolves after window_s (default 300 s)
 * without another such call, plus hold_s (detectors/shared.c).
 */
#include "detectors/detector.h"

static const struct table_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(SEVERITY_WARNING),
    DET_ITEM_GROUP_BY(DET_BY_TOOL, det_group_names),
    DET_ITEM_WINDOW(300, "an alert resolves after this long with no "
                         "violation"),
    DET_ITEM_THRESHOLD(5000, 0, 1e12,
                       "a call that takes longer than this many ms"),
};

__attribute__((hot))
static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    const struct event *ev = in->ev;

    if (!det_is_completed(ev) || !(ev->has & EVENT_HAS_DURATION))
        return 0;
    return det_per_call_feed(d, in, ev->duration_ms, v);
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    det_per_call_summary(d, a, resolved, "took", "ms", out, size);
}

const struct det_ops det_latency_ops = {
    .name = "latency",
    .description = "a call takes longer than a number of ms",
    .items = items,
    .nitems = sizeof items / sizeof items[0],
    .flags = DET_F_PER_CALL | DET_F_CALLS,
    .feed = feed,
    .eval = det_per_call_eval,
    .summary = summary,
};
