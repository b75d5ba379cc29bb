/*
 * stream_stalled.c - the audit stream delivered no event for `threshold`
 * seconds (default 120), whether because it is disconnected or because it
 * is connected and silent.  One group, "global", pinned for the life of
 * the engine: its timer is the time at which the stall would start, so the
 * alert fires with no event to trigger it.
 *
 * Inputs: every event (the engine feeds it: "an event arrived now") and the
 * stream's connection state (det_engine_connection(), from the consumer).
 * Times are the engine's clock: in live mode that is at least the wall
 * clock less allowed_lateness_s, so a stall is seen at most that much
 * later; in replay it is event time, so a gap in a recording is a stall.
 * The gap is compared with >=: "no event for 120 s" holds at 120 s.
 */
#include "base/buf.h"
#include "detectors/detector.h"

#include <stdio.h>
#include <stdlib.h>

struct priv {
    uint32_t slot;
    int connected;
    int64_t last_event_ms;  /* INT64_MIN: clock not started */
    int64_t peak_ms;        /* longest gap in the open episode */
};

static const char *const global_only[] = {"global", NULL};

static const struct table_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(SEVERITY_CRITICAL),
    {.name = "group_by", .type = TABLE_ENUM,
     .offset = offsetof(struct det_params, group_by), .def = 0,
     .names = global_only, .help = "always global"},
    DET_ITEM_THRESHOLD(120, 1, 86400,
                       "fires after this many seconds without an event"),
};

static int check(struct det_params *p, const char *path, char *err,
                 size_t errsz)
{
    (void)path;
    (void)err;
    (void)errsz;
    p->group_by = DET_BY_GLOBAL; /* the table's index 0 is "global" */
    p->window_s = (int64_t)p->threshold;
    p->clear_threshold = p->threshold;
    return 0;
}

static int create(struct det *d)
{
    struct priv *pv = calloc(1, sizeof *pv);
    int created;

    if (pv == NULL)
        return -1;
    d->priv = pv;
    pv->connected = 1;
    pv->last_event_ms = INT64_MIN;
    pv->slot = det_keys_get(&d->keys, 0, 0, &created);
    if (pv->slot == DET_NIL)
        return -1;
    det_keys_pin(&d->keys, pv->slot);
    d->alert[pv->slot].deadline_ms = INT64_MAX;
    return 0;
}

static void destroy(struct det *d)
{
    free(d->priv);
    d->priv = NULL;
}

static int64_t thr_ms(const struct det *d)
{
    return (int64_t)(d->p.threshold * 1000.0);
}

static void verdict(struct det *d, int64_t now, struct det_verdict *v)
{
    struct priv *pv = d->priv;
    int64_t gap = pv->last_event_ms == INT64_MIN ? 0
                                                 : now - pv->last_event_ms;

    /* the value is the longest gap of the episode (the current gap
     * while no episode is open) */
    if (d->keys.slot[pv->slot].state == DET_ST_IDLE)
        pv->peak_ms = gap;
    else if (gap > pv->peak_ms)
        pv->peak_ms = gap;
    v->slot = pv->slot;
    v->value = (double)pv->peak_ms / 1000.0;
    v->aux[0] = (uint64_t)pv->connected;
    v->aux[1] = 0;
    if (pv->last_event_ms == INT64_MIN) {
        v->level = DET_CLEAR;
        v->next_ms = INT64_MAX;
    } else if (gap >= thr_ms(d)) {
        v->level = DET_ABOVE;
        v->next_ms = INT64_MAX;
    } else {
        v->level = DET_CLEAR;
        v->next_ms = pv->last_event_ms + thr_ms(d);
    }
}

static void clock_start(struct det *d, int64_t now)
{
    struct priv *pv = d->priv;

    if (pv->last_event_ms == INT64_MIN)
        pv->last_event_ms = now;
}

__attribute__((hot))
static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    struct priv *pv = d->priv;

    /* the gap that this event ends counts for the episode */
    if (pv->last_event_ms != INT64_MIN &&
        d->keys.slot[pv->slot].state != DET_ST_IDLE &&
        in->now_ms - pv->last_event_ms > pv->peak_ms)
        pv->peak_ms = in->now_ms - pv->last_event_ms;
    pv->last_event_ms = in->now_ms;
    d->st.counted++;
    verdict(d, in->now_ms, v);
    return 1;
}

static void eval(struct det *d, uint32_t slot, int64_t now,
                 struct det_verdict *v)
{
    (void)slot;
    verdict(d, now, v);
}

static void connection(struct det *d, int connected, int64_t now)
{
    struct priv *pv = d->priv;

    (void)now;
    pv->connected = connected;
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    char thr[32];

    buf_format_number(d->p.threshold, thr, sizeof thr);
    if (resolved)
        snprintf(out, size,
                 "back to normal: the audit stream is delivering events "
                 "again after %.0fs without one (threshold %ss)",
                 a->value, thr);
    else if (a->aux[0] == 0)
        snprintf(out, size,
                 "the audit stream is disconnected and has delivered no "
                 "event for %.0fs (threshold %ss)",
                 a->value, thr);
    else
        snprintf(out, size,
                 "the audit stream has delivered no event for %.0fs "
                 "(threshold %ss)",
                 a->value, thr);
}

const struct det_ops det_stream_stalled_ops = {
    .name = "stream_stalled",
    .description = "no event from the audit stream for a number of seconds",
    .items = items,
    .nitems = sizeof items / sizeof items[0],
    .flags = DET_F_TIMER,
    .check = check,
    .create = create,
    .destroy = destroy,
    .feed = feed,
    .eval = eval,
    .clock_start = clock_start,
    .connection = connection,
    .summary = summary,
};
