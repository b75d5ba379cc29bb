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
 * Late records.  A group's deadline is last + threshold + 1 ms.  On the
 * event clock a record comes up to allowed_lateness_s out of order, so
 * the rule waits that long past the deadline before time fires the
 * group (spec.absence.lateness_ms: the engine sets it, and sets it to 0
 * while the wall clock drives the event clock, which then already
 * waited); the episode starts at the deadline (verdict since_ms).  A
 * record of the group that comes within the wait, stamped after the
 * deadline, shows a silence that was real: kind_feed fires it then
 * (DET_FEED_AGAIN: the engine applies the firing, then feeds the record
 * again, which clears it, as when time fired it first).  The gap a
 * record ends is measured to its stamp.
 *
 * Memory per group: sizeof(struct abs_state), 160 bytes: its last event's
 * time and, since the alert of a group that goes quiet has no event to
 * take them from, its values and its last event's ids (the alert's
 * sample), when they fit its ABS_BUF bytes.  A group whose values or
 * last event do not fit keeps them in its alert record instead (about 1.3
 * KB, det_keep), as a group with an open episode does; its next event
 * that fits is kept in the state again.  A checkpoint keeps
 * the last event's time (8 bytes); the engine keeps the values and sample
 * through recall / retain.
 */
#include "base/buf.h"
#include "detectors/checkpoint.h"
#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ABS_BUF DET_PACK_MAX /* values and last event kept in the state */

/* A group's state.  `last` comes first: the rest of this file reads it as
 * the int64_t at the start of the state.  buf holds the group's values
 * (vlen bytes, each with its NUL), then its last event's record_id,
 * session_id, agent_id, tool_name and error_code, each with its NUL (slen
 * bytes); when they do not fit, the group keeps them in its alert record
 * instead (inrec). */
struct abs_state {
    int64_t last;    /* its last event's time (INT64_MIN: none yet) */
    uint16_t vlen;   /* bytes of values in buf (0: not kept yet) */
    uint16_t slen;   /* bytes of the last event's strings after them */
    uint8_t type;    /* its last event's type */
    uint8_t inrec;   /* 1: kept in the alert record (det_keep) */
    uint16_t spare;
    char buf[ABS_BUF];
};

static int kind_create(struct det_rule *r)
{
    r->spec.absence.threshold_ms = (int64_t)llround(r->threshold * 1000.0);
    r->spec.absence.connected = 1;
    r->stride = sizeof(struct abs_state);
    return 0;
}

/* The header only: buf is read up to its lengths, and the alert record is
 * not touched (1.3 KB a group). */
static void kind_reset(struct det_rule *r, uint32_t slot)
{
    struct abs_state *st = det_state(r, slot);

    st->last = INT64_MIN;
    st->vlen = st->slen = 0;
    st->type = st->inrec = 0;
    if (slot == r->fixed_slot)
        memset(&r->alert[slot], 0, sizeof r->alert[slot]);
}

/* The sample's strings, in the order they are kept. */
#define ABS_NSTR 5
static void sample_strings(struct alert_sample *sm, char *str[ABS_NSTR],
                           size_t size[ABS_NSTR])
{
    str[0] = sm->record_id;
    size[0] = sizeof sm->record_id;
    str[1] = sm->session_id;
    size[1] = sizeof sm->session_id;
    str[2] = sm->agent_id;
    size[2] = sizeof sm->agent_id;
    str[3] = sm->tool_name;
    size[3] = sizeof sm->tool_name;
    str[4] = sm->error_code;
    size[4] = sizeof sm->error_code;
}

/* Put string s (cut to its field of `size` bytes, as the alert record
 * would) at *at in buf: 0, or -1 when it does not fit. */
static inline int keep_string(struct abs_state *st, size_t *at,
                              const char *s, size_t size)
{
    size_t l = strnlen(s, size - 1);

    if (l + 1 > ABS_BUF - *at)
        return -1;
    memcpy(st->buf + *at, s, l);
    st->buf[*at + l] = '\0';
    *at += l + 1;
    return 0;
}

/* Put the strings of s after the values: 0, or -1 when they do not
 * fit. */
static int keep_strings(struct abs_state *st, const char *const s[ABS_NSTR],
                        const size_t size[ABS_NSTR])
{
    size_t at = st->vlen;

    for (int i = 0; i < ABS_NSTR; i++)
        if (keep_string(st, &at, s[i], size[i]) != 0)
            return -1;
    st->slen = (uint16_t)(at - st->vlen);
    return 0;
}

/* keep_strings() of an event's, in line: the fields' sizes are known
 * here (the event's hot path: every event of the group). */
__attribute__((hot))
static int keep_event_strings(struct abs_state *st, const struct event *ev)
{
    size_t at = st->vlen;

    if (keep_string(st, &at, ev->record_id, EVENT_ID_MAX) != 0 ||
        keep_string(st, &at, ev->session_id, EVENT_ID_MAX) != 0 ||
        keep_string(st, &at, ev->agent_id, EVENT_ID_MAX) != 0 ||
        keep_string(st, &at, ev->tool_name, EVENT_NAME_MAX) != 0 ||
        keep_string(st, &at, ev->error_code, EVENT_CODE_MAX) != 0)
        return -1;
    st->slen = (uint16_t)(at - st->vlen);
    return 0;
}

/* The event's strings as keep_event_strings() writes them after a
 * group's values, packed once an event in the engine's cache (every
 * absence rule the event reaches copies the same bytes): their length,
 * or DET_PACK_NONE when they do not fit ABS_BUF. */
static const char *event_pack(const struct det_input *in, size_t *len)
{
    struct det_hcache *hc = in->hc;
    struct abs_state t;

    if (hc->pack_gen != hc->gen) {
        hc->pack_gen = hc->gen;
        t.vlen = 0;
        hc->pack_len = keep_event_strings(&t, in->ev) == 0 ? t.slen
                                                            : DET_PACK_NONE;
        if (hc->pack_len != DET_PACK_NONE)
            memcpy(hc->pack, t.buf, hc->pack_len);
    }
    *len = hc->pack_len;
    return hc->pack;
}

/* Keep what an alert of the group will need from its event. */
__attribute__((hot))
static void keep_event(struct det_rule *r, uint32_t slot,
                       const struct det_input *in)
{
    struct abs_state *st = det_state(r, slot);
    const struct event *ev = in->ev;
    const char *pack;
    size_t plen;
    int kept;

    if (st->vlen == 0 && !st->inrec) {
        /* a group's values are its key: taken once, at its first event */
        char v[DET_VALUES_MAX];
        size_t n = det_group_values(r, ev, v);

        if (n > 0 && n < ABS_BUF) {
            memcpy(st->buf, v, n);
            st->vlen = (uint16_t)n;
        } else {
            st->inrec = 1;
        }
    }
    /* kept in the state whenever they fit: one event too long for it
     * does not send the group's later events to the record */
    if (st->vlen == 0) {
        kept = 0;
    } else if (pack = event_pack(in, &plen),
               plen != DET_PACK_NONE && plen + st->vlen <= (size_t)ABS_BUF) {
        memcpy(st->buf + st->vlen, pack, plen);
        st->slen = (uint16_t)plen;
        kept = 1;
    } else {
        /* as they do not fit: what fits is written, as ever */
        kept = keep_event_strings(st, ev) == 0;
    }
    if (kept) {
        st->type = (uint8_t)ev->type;
        st->inrec = 0;
    } else {
        st->inrec = 1;
    }
    if (st->inrec || r->keys.slot[slot].state != DET_ST_IDLE)
        det_keep(r, slot, ev); /* the record, or the open episode's */
}

static void recall(const struct det_rule *r, uint32_t slot,
                   struct det_alert *a)
{
    const struct abs_state *st = det_state(r, slot);
    const struct det_alert *rec = &r->alert[slot];
    char *str[ABS_NSTR];
    size_t size[ABS_NSTR];
    const char *p;

    if (slot == r->fixed_slot || st->inrec) {
        if (a != rec) {
            a->nvals = rec->nvals;
            memcpy(a->vals, rec->vals, sizeof a->vals);
            a->sample = rec->sample;
        }
        return;
    }
    a->nvals = r->rule->ngroup;
    memcpy(a->vals, st->buf, st->vlen);
    memset(&a->sample, 0, sizeof a->sample);
    sample_strings(&a->sample, str, size);
    p = st->buf + st->vlen;
    for (int i = 0; i < ABS_NSTR && st->slen > 0; i++, p += strlen(p) + 1)
        buf_copy_str(str[i], size[i], p);
    a->sample.event_type = (enum event_type)st->type;
}

static void retain(struct det_rule *r, uint32_t slot,
                   const struct det_alert *a)
{
    struct abs_state *st = det_state(r, slot);
    struct alert_sample sm = a->sample;
    char *str[ABS_NSTR];
    size_t size[ABS_NSTR], n = 0;

    if (slot == r->fixed_slot)
        return;
    for (uint32_t i = 0; i < a->nvals && n < sizeof a->vals; i++)
        n += strnlen(a->vals + n, sizeof a->vals - n) + 1;
    sample_strings(&sm, str, size);
    st->inrec = 0;
    if (n > 0 && n < ABS_BUF) {
        memcpy(st->buf, a->vals, n);
        st->vlen = (uint16_t)n;
        if (keep_strings(st, (const char *const *)str, size) == 0) {
            st->type = (uint8_t)a->sample.event_type;
            return;
        }
    }
    r->alert[slot] = *a;
    st->inrec = 1;
}

int64_t det_absence_last(const struct det_rule *r, uint32_t slot)
{
    return *(const int64_t *)det_state(r, slot);
}

/* The group's threshold in ms (overrides). */
static inline int64_t threshold_ms(const struct det_rule *r, uint32_t slot)
{
    return r->thr == NULL ? r->spec.absence.threshold_ms
                          : (int64_t)llround(r->thr[slot] * 1000.0);
}

/* The verdict of group `slot` at now when it waits `wait` ms past its
 * deadline: its gap at now, and the episode's longest (the current gap
 * while no episode is open).  A silence passes its threshold at last +
 * thr + 1 ms (since_ms), and fires `wait` after that. */
static void judge(const struct det_rule *r, uint32_t slot, int64_t now,
                  int64_t wait, struct det_verdict *v)
{
    int64_t last = *(const int64_t *)det_state(r, slot);
    int64_t thr = threshold_ms(r, slot);
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
    } else if (now - last > thr + wait) {
        v->level = DET_ABOVE;
        v->next_ms = INT64_MAX;
        v->since_ms = last + thr + 1;
    } else {
        v->level = DET_CLEAR;
        v->next_ms = last + thr + wait + 1;
    }
}

/* Time: a group fires lateness_ms past its deadline, so a record of it
 * that comes up to allowed_lateness_s out of order does not make it
 * fire (kind_feed fires the ones whose own record shows them first); a
 * firing group's silence was already waited for: it holds while the
 * group has no record, whatever the wait is now. */
__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    judge(r, slot, now,
          r->keys.slot[slot].state == DET_ST_FIRING
              ? 0
              : r->spec.absence.lateness_ms,
          v);
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

/* When the event's own record ends its group's silence: on the event
 * clock its stamp, no later than now; on the stream clock (arrivals),
 * now. */
static inline int64_t ended_at(const struct det_rule *r,
                               const struct det_input *in)
{
    if (r->on_stream)
        return in->now_ms;
    return in->t_ms < in->now_ms ? in->t_ms : in->now_ms;
}

/* Does the event show that its group's silence passed the threshold
 * before the group fired (the rule waited lateness_ms for late records,
 * and this record, stamped past the deadline, came first)?  Then *v is
 * the firing, from the deadline, with the gap the record ends: the
 * engine applies it and feeds the event again, which clears it, as
 * when time fired it. */
static int shows_silence(const struct det_rule *r, uint32_t slot,
                         const struct det_input *in, struct det_verdict *v)
{
    int64_t last = *(const int64_t *)det_state(r, slot);

    if (last == INT64_MIN || r->spec.absence.lateness_ms == 0 ||
        r->keys.slot[slot].state == DET_ST_FIRING ||
        ended_at(r, in) - last <= threshold_ms(r, slot))
        return 0;
    judge(r, slot, ended_at(r, in), 0, v); /* DET_ABOVE */
    return 1;
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
    }
    /* fired before this event counts: its alert shows the last event
     * before the silence */
    if (shows_silence(r, slot, in, v))
        return DET_FEED_AGAIN;
    a = &r->alert[slot];
    if (slot != r->fixed_slot)
        keep_event(r, slot, in);
    else
        memcpy(a->sample.record_id, in->ev->record_id,
               strnlen(in->ev->record_id, EVENT_ID_MAX - 1) + 1);
    last = det_state(r, slot);
    /* the gap this event ends counts for the open episode: up to its
     * stamp (a late record did not come after the silence it ends) */
    if (*last != INT64_MIN && r->keys.slot[slot].state != DET_ST_IDLE &&
        (double)(ended_at(r, in) - *last) / 1000.0 > a->value)
        a->value = (double)(ended_at(r, in) - *last) / 1000.0;
    *last = in->now_ms;
    r->counted++;
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

    buf_format_number(det_alert_thr(r, a), thr, sizeof thr);
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
    .recall = recall,
    .retain = retain,
};
