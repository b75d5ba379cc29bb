/*
 * volume.c - too many completed calls: completed calls (tool_call_response
 * and tool_call_error) of a group in the window > threshold (default more
 * than 100 in 60 s per tool).  Ring: one field (calls).
 */
#include "base/buf.h"
#include "detectors/detector.h"

#include <stdio.h>

static const struct table_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(SEVERITY_WARNING),
    DET_ITEM_GROUP_BY(DET_BY_TOOL, det_group_names),
    DET_ITEM_WINDOW(60, "sliding window"),
    DET_ITEM_BUCKET,
    DET_ITEM_THRESHOLD(100, 0, 1e12, "fires above this many calls"),
    DET_ITEM_CLEAR(0, 1e12),
};

static int check(struct det_params *p, const char *path, char *err,
                 size_t errsz)
{
    return det_check_window(p, path, 1, err, errsz);
}

__attribute__((hot))
static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    static const uint32_t one[1] = {1};

    if (!det_is_completed(in->ev))
        return 0;
    return det_window_feed(d, in, one, det_window_count_eval, v);
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    char thr[32];
    char g[DET_KEY_MAX + 16];

    buf_format_number(d->p.threshold, thr, sizeof thr);
    det_describe_group(d, a->key, g, sizeof g);
    snprintf(out, size, "%s%llu completed calls in %llds %s (threshold %s)",
             resolved ? "back to normal: " : "",
             (unsigned long long)a->aux[0], (long long)d->p.window_s, g,
             thr);
}

const struct det_ops det_volume_ops = {
    .name = "volume",
    .description = "completed calls in the window above a threshold",
    .items = items,
    .nitems = sizeof items / sizeof items[0],
    .flags = DET_F_WINDOW | DET_F_CALLS,
    .nfields = 1,
    .check = check,
    .feed = feed,
    .eval = det_window_count_eval,
    .summary = summary,
};
