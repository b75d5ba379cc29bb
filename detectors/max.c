/*
 * max.c - the `max` rule kind (kind.h): one event's number field above
 * the group's threshold (strict).  The group fires at such an event and
 * clears once window_s of event time has passed without another: a
 * violation at t counts while t is in (now - window_s, now].  The default
 * payload_size and latency rules (response_payload_size_bytes over
 * 1,000,000 and execution_duration_ms over 5000, per tool, 300 s).
 *
 * Groups cost nothing for events under every threshold of the rule: such
 * an event is dropped before its group is looked up, and a group is
 * removed when its alert resolves, so only groups with a recent violation
 * take a slot.
 *
 * Memory per group: 16 bytes (the last violation's time and value); the
 * same 16 bytes in a checkpoint.
 */
#include "base/buf.h"
#include "detectors/checkpoint.h"
#include "detectors/kind.h"

#include <stdio.h>
#include <string.h>

struct max_state {
    int64_t last;  /* the latest violation's time (INT64_MIN: none) */
    double value;  /* the latest violation's value */
};

static int kind_create(struct det_rule *r)
{
    r->stride = sizeof(struct max_state);
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    struct max_state *st = det_state(r, slot);

    st->last = INT64_MIN;
    st->value = 0;
}

__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    const struct max_state *st = det_state(r, slot);

    det_verdict_until(slot, st->value, now,
                      st->last == INT64_MIN ? INT64_MIN
                                            : st->last + r->window_ms,
                      v);
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    struct max_state *st;
    uint32_t slot;
    double x;

    if (!match_number(in->ev, r->rule->p.field, &x) || !(x > r->thr_min))
        return 0;
    if (in->t_ms <= in->now_ms - r->window_ms) {
        r->late++;
        return 0;
    }
    if ((slot = det_group(r, in)) == DET_NIL || !(x > det_thr(r, slot)))
        return 0;
    r->counted++;
    st = det_state(r, slot);
    /* a late violation older than the latest leaves it the latest: the
     * group's clear time and the value its words call the last one */
    if (in->t_ms >= st->last) {
        st->last = in->t_ms;
        st->value = x;
    }
    kind_tick(r, slot, in->now_ms, v);
    return 1;
}

/* The words of a number field: what a call did, and the unit. */
static void field_words(const struct det_rule *r, const char **verb,
                        const char **unit)
{
    switch ((enum match_field_id)r->rule->p.field.id) {
    case MATCH_F_PAYLOAD: *verb = "returned"; *unit = "bytes"; break;
    case MATCH_F_DURATION: *verb = "took"; *unit = "ms"; break;
    case MATCH_F_TOKENS: *verb = "used"; *unit = "tokens"; break;
    default: *verb = "cost"; *unit = "USD"; break;
    }
}

/* "a call for tool export_csv returned 2400000 bytes (threshold 1000000
 * bytes)"; "back to normal: no call over 5000 ms for tool slow_report for
 * 300s (last one: 7300 ms)" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    const char *verb, *unit;
    const char *what = r->noun == DET_NOUN_CALLS      ? "call"
                       : r->noun == DET_NOUN_REQUESTS ? "call request"
                                                      : "event";
    char thr[32], val[32], g[DET_KEY_MAX + 64];

    field_words(r, &verb, &unit);
    buf_format_number(det_alert_thr(r, a), thr, sizeof thr);
    buf_format_number(a->value, val, sizeof val);
    det_describe(r, a, 1, g, sizeof g);
    if (resolved)
        snprintf(out, size,
                 "back to normal: no %s over %s %s %s for %llds (last one: "
                 "%s %s)",
                 what, thr, unit, g, (long long)(r->window_ms / 1000), val,
                 unit);
    else
        snprintf(out, size, "a%s %s %s %s %s %s (threshold %s %s)",
                 r->noun == DET_NOUN_EVENTS ? "n" : "", what, g, verb, val,
                 unit, thr, unit);
}

/* Checkpoint: the last violation's time (i64) and value (f64). */
static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    const struct max_state *st = det_state(r, slot);

    return ckpt_put_i64(out, st->last) || ckpt_put_f64(out, st->value) ? -1
                                                                        : 0;
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    struct max_state *st = det_state(r, slot);
    struct ckpt_reader rd;
    int64_t last;
    double value;

    ckpt_reader_init(&rd, p, n);
    last = ckpt_get_i64(&rd);
    value = ckpt_get_f64(&rd);
    /* a group holds a violation: a value over its threshold */
    if (!ckpt_reader_done(&rd) || !ckpt_time_ok(last, 0) ||
        !(value > det_thr(r, slot)))
        return -1;
    st->last = last;
    st->value = value;
    return 0;
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    (void)r;
    return 16;
}

const struct det_kind det_kind_max = {
    .name = "max",
    .flags = DET_KF_REMOVE,
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .summary = kind_summary,
    .save = kind_save,
    .load = kind_load,
    .checkpoint_bytes = kind_checkpoint_bytes,
};
