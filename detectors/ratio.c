/*
 * ratio.c - the `ratio` rule kind (kind.h): of a group's events in the
 * sliding window, the share that also meet `numerator`.  It fires when
 * the ratio > threshold and the events number at least min_count; it
 * clears when the ratio <= clear_threshold, or when the events number
 * fewer than min_count (then the resolve says "too few calls to judge").
 * The default error_rate rule: numerator {"error": true}, 20 % of at
 * least 10 completed calls in 60 s per tool.
 *
 * The window is a window.h ring of two fields (events, numerator events)
 * with buckets of window / 60 (when that divides it): an event counts for
 * (window - bucket, window] of its life; an event whose bucket has left
 * the window is late.
 *
 * Memory per group: win_ring_size = 24 + 8 * buckets bytes: 504 with 60
 * buckets (the default shape), at most 24 + 8 * 3600.
 */
#include "detectors/kind.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int kind_create(struct det_rule *r)
{
    cJSON *j = NULL;
    char *text = NULL;

    if (win_spec_init(&r->spec.ratio.win, r->window_ms, 0, 2) != WIN_OK)
        return -1;
    r->stride = win_ring_size(&r->spec.ratio.win);
    /* the words of its alerts: "error rate" for the usual numerator */
    if (match_dump(&r->rule->p.numerator, r->rule->p.meta, &j) == MATCH_OK)
        text = cJSON_PrintUnformatted(j);
    r->spec.ratio.error_rate =
        text != NULL && strcmp(text, "{\"error\":true}") == 0;
    cJSON_free(text);
    cJSON_Delete(j);
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    win_ring_reset(&r->spec.ratio.win, det_state(r, slot));
}

__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    const win_spec *w = &r->spec.ratio.win;
    win_ring *ring = det_state(r, slot);
    uint64_t events = win_sum(w, ring, now, 0);
    uint64_t num = win_sum(w, ring, now, 1);
    double ratio = events ? (double)num / (double)events : 0.0;
    int enough = events >= (uint64_t)r->rule->p.min_count;

    det_verdict_level(r, slot, ratio, v);
    v->aux[0] = (double)num;
    v->aux[1] = (double)events;
    if (!enough)
        v->level = DET_CLEAR;
    if (det_watched(r, slot, v))
        v->next_ms = win_next_expiry(w, ring);
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    uint32_t vals[2], slot = det_group(r, in);

    if (slot == DET_NIL)
        return 0;
    vals[0] = 1;
    vals[1] = (uint32_t)match_eval(&r->rule->p.numerator, in->ev);
    return det_fed(r,
                   win_add(&r->spec.ratio.win, det_state(r, slot),
                           in->now_ms, in->t_ms, vals) == WIN_LATE,
                   slot, in, kind_tick, v);
}

/* "error rate 21.1% over 60s for tool postgres_query (threshold 20%, 4 of
 * 19 calls)"; a resolve for want of events: "too few calls to judge" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    const char *what = r->spec.ratio.error_rate ? "error rate" : "ratio";
    const char *calls = r->noun == DET_NOUN_EVENTS ? "events" : "calls";
    char g[DET_KEY_MAX + 64];

    det_describe(r, a, 1, g, sizeof g);
    if (resolved && a->aux[1] < (double)r->rule->p.min_count)
        snprintf(out, size,
                 "back to normal: too few calls to judge: %.0f %s in %llds "
                 "%s (at least %lld needed)",
                 a->aux[1], calls, (long long)(r->window_ms / 1000), g,
                 (long long)r->rule->p.min_count);
    else
        snprintf(out, size,
                 "%s%s %.1f%% over %llds %s (threshold %g%%, %.0f of %.0f "
                 "%s)",
                 resolved ? "back to normal: " : "", what, a->value * 100.0,
                 (long long)(r->window_ms / 1000), g,
                 det_alert_thr(r, a) * 100.0, a->aux[0], a->aux[1], calls);
}

const struct det_kind det_kind_ratio = {
    .name = "ratio",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .summary = kind_summary,
};
