/*
 * volume.c - too many completed calls: completed calls (tool_call_response
 * and tool_call_error) of a group in the window > threshold (default more
 * than 100 in 60 s per tool).  Ring: one field (calls).
 */
#include "detectors/detector.h"

#include <stdio.h>

static const struct cfg_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(DET_SEV_WARNING),
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

static void level(struct det *d, uint32_t slot, int64_t now,
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
    v->next_ms = win_next_expiry(&d->win, r);
}

static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    static const uint32_t one[1] = {1};
    uint32_t slot;
    int created;

    if (!det_is_completed(in->ev))
        return 0;
    slot = det_group_of(d, in, &created);
    if (slot == DET_NIL)
        return 0;
    if (created)
        win_ring_reset(&d->win, det_ring(d, slot));
    if (win_add(&d->win, det_ring(d, slot), in->now_ms, in->t_ms, one) ==
        WIN_LATE) {
        d->st.late++;
        return 0;
    }
    d->st.counted++;
    level(d, slot, in->now_ms, v);
    return 1;
}

static void eval(struct det *d, uint32_t slot, int64_t now,
                 struct det_verdict *v)
{
    level(d, slot, now, v);
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    char thr[32];
    char g[DET_KEY_MAX + 16];

    alert_format_number(d->p.threshold, thr, sizeof thr);
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
    .flags = DET_F_WINDOW,
    .nfields = 1,
    .check = check,
    .feed = feed,
    .eval = eval,
    .summary = summary,
};
