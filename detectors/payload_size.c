/*
 * payload_size.c - a call returns more than a number of bytes: a completed
 * call whose response_payload_size_bytes is > threshold (default 1000000
 * bytes) fires for its group; the alert resolves after window_s (default
 * 300 s) without another such call, plus hold_s (detectors/shared.c).
 */
#include "detectors/detector.h"

static const struct table_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(SEVERITY_WARNING),
    DET_ITEM_GROUP_BY(DET_BY_TOOL, det_group_names),
    DET_ITEM_WINDOW(300, "an alert resolves after this long with no "
                         "violation"),
    DET_ITEM_THRESHOLD(1000000, 0, 1e15,
                       "a call that returns more bytes than this"),
};

__attribute__((hot))
static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    const struct event *ev = in->ev;

    if (!det_is_completed(ev) || !(ev->has & EVENT_HAS_PAYLOAD))
        return 0;
    return det_per_call_feed(d, in, (double)ev->payload_bytes, v);
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    det_per_call_summary(d, a, resolved, "returned", "bytes", out, size);
}

const struct det_ops det_payload_size_ops = {
    .name = "payload_size",
    .description = "a call returns more than a number of bytes",
    .items = items,
    .nitems = sizeof items / sizeof items[0],
    .flags = DET_F_PER_CALL | DET_F_CALLS,
    .feed = feed,
    .eval = det_per_call_eval,
    .summary = summary,
};
