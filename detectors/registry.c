/*
 * registry.c - the static list of detectors, the engine-wide settings table
 * and the checks that span a detector's settings.
 */
#include "detectors/detector.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const struct det_ops det_volume_ops;
extern const struct det_ops det_payload_size_ops;
extern const struct det_ops det_latency_ops;
extern const struct det_ops det_error_rate_ops;
extern const struct det_ops det_credential_access_ops;
extern const struct det_ops det_stream_stalled_ops;

const struct det_ops *const det_registry[DET_COUNT] = {
    [DET_VOLUME] = &det_volume_ops,
    [DET_PAYLOAD_SIZE] = &det_payload_size_ops,
    [DET_LATENCY] = &det_latency_ops,
    [DET_ERROR_RATE] = &det_error_rate_ops,
    [DET_CREDENTIAL_ACCESS] = &det_credential_access_ops,
    [DET_STREAM_STALLED] = &det_stream_stalled_ops,
};

const char *const det_group_names[] = {"tool", "agent", "session", "global",
                                       NULL};

#define ENGINE_INT(n, d, lo, hi, h)                                        \
    {.name = #n, .type = TABLE_INT,                                          \
     .offset = offsetof(struct det_config, engine.n), .def = (d),         \
     .min = (lo), .max = (hi), .help = (h)}

/* Engine-wide settings: members of the "detectors" object next to the
 * detectors' own objects.  Offsets are into struct det_config. */
const struct table_item det_engine_items[] = {
    ENGINE_INT(allowed_lateness_s, 5, 0, 3600,
               "live mode: the clock is at least wall clock minus this"),
    ENGINE_INT(max_future_skew_s, 300, 0, 86400,
               "live mode: later timestamps are clamped to the wall clock"),
    ENGINE_INT(dedupe_window, 100000, 0, 10000000,
               "record ids remembered to drop replayed events (0: off)"),
    ENGINE_INT(max_keys, 10000, 1, 10000000,
               "groups per detector; the least recently seen idle group "
               "is evicted past this"),
    ENGINE_INT(repeat_interval_s, 3600, 1, 7 * 86400,
               "re-send a firing alert this often while it holds"),
    ENGINE_INT(hold_s, 60, 0, 86400,
               "a condition that clears and returns within this stays one "
               "episode"),
};
const size_t det_engine_nitems =
    sizeof det_engine_items / sizeof det_engine_items[0];

int det_find(const char *name)
{
    for (int i = 0; i < DET_COUNT; i++)
        if (strcmp(det_registry[i]->name, name) == 0)
            return i;
    return -1;
}

void det_config_defaults(struct det_config *c)
{
    memset(c, 0, sizeof *c);
    table_items_defaults(det_engine_items, det_engine_nitems, c);
    for (int i = 0; i < DET_COUNT; i++)
        table_items_defaults(det_registry[i]->items, det_registry[i]->nitems,
                           &c->det[i]);
    /* derived settings (stream_stalled's window); defaults always pass */
    det_config_check(c, NULL, 0);
}

int det_config_check(struct det_config *c, char *err, size_t errsz)
{
    char path[64];
    int rc = 0;

    for (int i = 0; i < DET_COUNT && rc == 0; i++) {
        const struct det_ops *ops = det_registry[i];
        snprintf(path, sizeof path, "detectors.%s", ops->name);
        if (ops->check != NULL)
            rc = ops->check(&c->det[i], path, err, errsz);
    }
    return rc;
}

void det_describe_group(const struct det *d, const char *key, char *out,
                        size_t size)
{
    switch (d->p.group_by) {
    case DET_BY_TOOL: snprintf(out, size, "for tool %s", key); break;
    case DET_BY_AGENT: snprintf(out, size, "by agent %s", key); break;
    case DET_BY_SESSION: snprintf(out, size, "in session %s", key); break;
    default: snprintf(out, size, "overall"); break;
    }
}

int det_check_window(struct det_params *p, const char *path,
                     unsigned nfields, char *err, size_t errsz)
{
    win_spec w;
    char a[32], b[32];

    if (!isnan(p->clear_threshold) && p->clear_threshold > p->threshold) {
        snprintf(a, sizeof a, "%.15g", p->clear_threshold);
        snprintf(b, sizeof b, "%.15g", p->threshold);
        snprintf(err, errsz,
                 "%s.clear_threshold: expected a number at most the "
                 "threshold (%s), got %s",
                 path, b, a);
        return TABLE_EINVAL;
    }
    if (win_spec_init(&w, p->window_s * 1000, p->bucket_ms, nfields) !=
        WIN_OK) {
        snprintf(err, errsz,
                 "%s.bucket_ms: expected 0 or a divisor of the window "
                 "(%lld ms) giving at most %d buckets, got %lld",
                 path, (long long)(p->window_s * 1000), WIN_MAX_BUCKETS,
                 (long long)p->bucket_ms);
        return TABLE_EINVAL;
    }
    return 0;
}
