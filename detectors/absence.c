/*
 * absence.c - the `absence` rule kind (kind.h): a group seen before has
 * had no event for more than `threshold` seconds (strict); it clears at
 * its next event.  value = the longest gap of the episode, in seconds;
 * threshold = the threshold; window_s null.
 *
 * group_by []: one group, "global", watched for the life of the engine:
 * the time since the stream's last event (the events the rule sees),
 * counting from the moment its clock became known, and a disconnection
 * as no events (stream_stalled: the connection op only changes the words
 * of the alert).  Otherwise each group is created by its first event.
 *
 * Clocks (engine.h "Clock").  An absence rule over [] that sees every
 * event is the stream's own absence: it runs on the engine's stream
 * clock, which follows the wall clock (less the stream's observed lag and
 * allowed_lateness_s) while the stream is quiet, disconnected or stalled,
 * so it fires when events stop arriving -- not when they arrive late --
 * and its alert says which: no event for N s, the stream disconnected,
 * and the lag the events had before they stopped.  Every other absence
 * rule runs on the event clock, which stands still while the stream is
 * not observed; the engine's skip op then tells it the gap, which does
 * not count as silence (every group's last event moves on by it).
 *
 * Times are the rule's clock: an event counts as seen at that clock's
 * `now`, so a group's last event time never goes back and the engine's
 * list of idle groups, least recently seen first, is in the order of
 * their deadlines (a skip moves them all alike): the engine looks at its
 * head only (DET_KF_ABSENCE).  A group stays pinned
 * from its first alert until its next event, so a group that resolved
 * during hold_s is watched by its deadline and never out of that order.
 * Replay judges event time; the end of input is not an absence (the
 * engine does not run these rules while draining).
 *
 * Memory per group: 8 bytes (its last event's time) and, since the alert
 * of a group that goes quiet has no event to take them from, its values
 * and last event in its alert record (sizeof(struct det_alert)).  A
 * checkpoint keeps the 8 bytes (and the engine the alert record).
 */
#include "base/buf.h"
#include "detectors/checkpoint.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int kind_create(struct det_rule *r)
{
    r->spec.absence.threshold_ms = (int64_t)llround(r->threshold * 1000.0);
    r->spec.absence.connected = 1;
    r->stride = sizeof(int64_t);
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    *(int64_t *)det_state(r, slot) = INT64_MIN;
    memset(&r->alert[slot], 0, sizeof r->alert[slot]);
}

/* The gap at now, and the episode's longest (the current gap while no
 * episode is open). */
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    int64_t last = *(const int64_t *)det_state(r, slot);
    int64_t thr = r->spec.absence.threshold_ms;
    double gap = last == INT64_MIN ? 0 : (double)(now - last) / 1000.0;

    v->slot = slot;
    v->value = gap;
    if (r->keys.slot[slot].state != DET_ST_IDLE && r->alert[slot].value > gap)
        v->value = r->alert[slot].value;
    v->aux[0] = r->spec.absence.connected;
    v->aux[1] = (double)r->stream_lag_ms / 1000.0;
    v->extra = v->text = NULL;
    if (last == INT64_MIN) {
        v->level = DET_CLEAR;
        v->next_ms = INT64_MAX;
    } else if (now - last > thr) {
        v->level = DET_ABOVE;
        v->next_ms = INT64_MAX;
    } else {
        v->level = DET_CLEAR;
        v->next_ms = last + thr + 1;
    }
}

static void clock_start(struct det_rule *r, int64_t now)
{
    int64_t *last;

    if (r->fixed_slot == DET_NIL)
        return;
    last = det_state(r, r->fixed_slot);
    if (*last == INT64_MIN)
        *last = now;
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    struct det_alert *a;
    uint32_t slot = r->fixed_slot;
    int64_t *last;

    if (slot == DET_NIL) {
        if ((slot = det_group(r, in)) == DET_NIL)
            return 0;
        /* back from its alert: idle groups are watched oldest first */
        if (r->keys.slot[slot].state == DET_ST_IDLE && det_pinned(r, slot))
            det_keys_unpin(&r->keys, slot);
        det_keep(r, slot, in->ev);
    } else {
        a = &r->alert[slot];
        memcpy(a->sample.record_id, in->ev->record_id,
               strnlen(in->ev->record_id, EVENT_ID_MAX - 1) + 1);
    }
    a = &r->alert[slot];
    last = det_state(r, slot);
    /* the gap this event ends counts for the open episode */
    if (*last != INT64_MIN && r->keys.slot[slot].state != DET_ST_IDLE &&
        (double)(in->now_ms - *last) / 1000.0 > a->value)
        a->value = (double)(in->now_ms - *last) / 1000.0;
    *last = in->now_ms;
    r->st.counted++;
    kind_tick(r, slot, in->now_ms, v);
    return 1;
}

static void connection(struct det_rule *r, int connected, int64_t now)
{
    (void)now;
    r->spec.absence.connected = connected;
}

/* The event clock jumped over a time nobody saw: not silence. */
static void skip(struct det_rule *r, int64_t from, int64_t to)
{
    for (uint32_t s = 0; s < r->keys.hw; s++) {
        int64_t *last = det_state(r, s);

        if (r->keys.slot[s].used && *last != INT64_MIN && to > from)
            *last += to - from;
    }
}

/* "; before that, events were arriving 90s after their timestamps" when
 * the stream lagged (a->aux[1], seconds), else "". */
static void lag_words(const struct det_alert *a, char *out, size_t size)
{
    out[0] = '\0';
    if (a->aux[1] >= 1)
        snprintf(out, size, "; before that, events were arriving %.0fs "
                 "after their timestamps", a->aux[1]);
}

static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    char thr[32], g[DET_KEY_MAX + 64], lag[96];

    buf_format_number(r->threshold, thr, sizeof thr);
    if (r->fixed_slot != DET_NIL) {
        lag_words(a, lag, sizeof lag);
        if (resolved)
            snprintf(out, size,
                     "back to normal: the audit stream is delivering "
                     "events again after %.0fs without one (threshold %ss)",
                     a->value, thr);
        else if (a->aux[0] == 0)
            snprintf(out, size,
                     "the audit stream is disconnected and has delivered "
                     "no event for %.0fs (threshold %ss)%s",
                     a->value, thr, lag);
        else
            snprintf(out, size,
                     "the audit stream has delivered no event for %.0fs "
                     "(threshold %ss)%s",
                     a->value, thr, lag);
        return;
    }
    det_describe(r, a, 0, g, sizeof g);
    if (resolved)
        snprintf(out, size,
                 "back to normal: %s has %s again after %.0fs without one "
                 "(threshold %ss)",
                 g, det_noun(r, 1), a->value, thr);
    else
        snprintf(out, size, "%s has had no %s for %.0fs (threshold %ss)", g,
                 det_noun(r, 0), a->value, thr);
}

static void kind_fill(const struct det_rule *r, const struct det_alert *a,
                      struct alert *al)
{
    (void)r;
    (void)a;
    al->window_s = -1;
}

/* Checkpoint: the group's last event time (i64; INT64_MIN: none yet, the
 * [] group before the clock is known). */
static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    return ckpt_put_i64(out, *(const int64_t *)det_state(r, slot));
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    struct ckpt_reader rd;
    int64_t last;

    ckpt_reader_init(&rd, p, n);
    last = ckpt_get_i64(&rd);
    /* a group other than [] is made by an event: it has a time */
    if (!ckpt_reader_done(&rd) ||
        !ckpt_time_ok(last, slot == r->fixed_slot))
        return -1;
    *(int64_t *)det_state(r, slot) = last;
    return 0;
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    (void)r;
    return 8;
}

const struct det_kind det_kind_absence = {
    .name = "absence",
    .flags = DET_KF_ABSENCE | DET_KF_KEEP,
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .summary = kind_summary,
    .fill = kind_fill,
    .clock_start = clock_start,
    .connection = connection,
    .skip = skip,
    .save = kind_save,
    .load = kind_load,
    .checkpoint_bytes = kind_checkpoint_bytes,
};
