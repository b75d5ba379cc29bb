/*
 * error_rate.c - too many failing calls: errors / completed calls of a
 * group in the window > threshold, once the window holds at least
 * min_calls calls (default more than 20 % of at least 10 calls in 60 s per
 * tool).  An error is a tool_call_error or a response whose
 * response_status is "error".  Ring: two fields (calls, errors).
 */
#include "detectors/detector.h"

#include <stdio.h>

static const struct table_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(SEVERITY_ERROR),
    DET_ITEM_GROUP_BY(DET_BY_TOOL, det_group_names),
    DET_ITEM_WINDOW(60, "sliding window"),
    DET_ITEM_BUCKET,
    DET_ITEM_THRESHOLD(0.2, 0, 1, "fires above this error ratio (0..1)"),
    DET_ITEM_CLEAR(0, 1),
    {.name = "min_calls", .type = TABLE_INT,
     .offset = offsetof(struct det_params, min_calls), .def = 10, .min = 1,
     .max = 1e9, .help = "no verdict on fewer completed calls"},
};

static int check(struct det_params *p, const char *path, char *err,
                 size_t errsz)
{
    return det_check_window(p, path, 2, err, errsz);
}

__attribute__((hot))
static void level(struct det *d, uint32_t slot, int64_t now,
                  struct det_verdict *v)
{
    win_ring *r = det_ring(d, slot);
    uint64_t calls = win_sum(&d->win, r, now, 0);
    uint64_t errors = win_sum(&d->win, r, now, 1);
    double rate = calls ? (double)errors / (double)calls : 0.0;
    int enough = calls >= (uint64_t)d->p.min_calls;

    v->slot = slot;
    v->value = rate;
    v->aux[0] = errors;
    v->aux[1] = calls;
    v->level = enough && rate > d->p.threshold ? DET_ABOVE
               : enough && rate > det_clear_threshold(d) ? DET_BETWEEN
                                                         : DET_CLEAR;
    /* when the value may change by time alone: the engine schedules only
     * groups that are alerting or about to fire, and the scan is
     * O(buckets), so an idle group (nearly every event) skips it */
    v->next_ms = d->keys.slot[slot].pinned || v->level == DET_ABOVE
                     ? win_next_expiry(&d->win, r)
                     : INT64_MAX;
}

__attribute__((hot))
static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    uint32_t vals[2];

    if (!det_is_completed(in->ev))
        return 0;
    vals[0] = 1;
    vals[1] = det_is_error(in->ev) ? 1 : 0;
    return det_window_feed(d, in, vals, level, v);
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    char g[DET_KEY_MAX + 16];

    det_describe_group(d, a->key, g, sizeof g);
    snprintf(out, size,
             "%serror rate %.1f%% over %llds %s (threshold %g%%, %llu of "
             "%llu calls)",
             resolved ? "back to normal: " : "", a->value * 100.0,
             (long long)d->p.window_s, g, d->p.threshold * 100.0,
             (unsigned long long)a->aux[0], (unsigned long long)a->aux[1]);
}

const struct det_ops det_error_rate_ops = {
    .name = "error_rate",
    .description = "share of failing calls in the window above a threshold",
    .items = items,
    .nitems = sizeof items / sizeof items[0],
    .flags = DET_F_WINDOW | DET_F_CALLS,
    .nfields = 2,
    .check = check,
    .feed = feed,
    .eval = level,
    .summary = summary,
};
