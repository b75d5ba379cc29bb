/*
 * detector.h - what a detector is: a settings table (base/table.h), an
 * ops table, and the per-group state the engine keeps for it.  Detectors are
 * listed in a static registry (det_registry, in registry.c); the engine
 * (engine.h) owns the instances, the clock and the alert lifecycle.
 *
 * Division of work.  A detector decides, for one group at one event time,
 * how its condition stands: ABOVE (fires, or keeps firing), BETWEEN (keeps
 * an open alert open: value above clear_threshold but not above threshold)
 * or CLEAR; and when that may next change by itself (a window bucket
 * expiring, a per-call violation ageing out).  The engine does everything
 * else: groups (keys.h), timestamps, duplicates, fire / repeat / hold /
 * resolve, episode ids and the alert document.
 *
 * Kinds:
 *   window detectors (volume, error_rate, credential_access) keep a ring
 *     (window.h) per group: `stride` bytes in `data`, one slot per group;
 *   per-call detectors (payload_size, latency) keep nothing for a group
 *     that has no open alert: a violation creates the group, the group is
 *     freed when its alert resolves;
 *   stream_stalled has one timer group ("global") pinned for its life.
 *
 * Memory per group (a slot of every detector's table, calloc'd at start so
 * untouched slots cost no resident memory):
 *   32 bytes  struct det_slot (keys.h), +4 per hash bucket
 *   stride    window detectors: 24 + 4 * buckets * fields (volume and
 *             credential_access 264, error_rate 504 with 60 buckets)
 *   sizeof(struct det_alert) (~ 900 bytes) only for groups that have ever
 *             alerted: the key text and the triggering event are kept there.
 */
#ifndef TW_DETECTOR_H
#define TW_DETECTOR_H

#include "model/alert.h"
#include "base/table.h"
#include "model/event.h"
#include "detectors/keys.h"
#include "model/severity.h"
#include "detectors/window.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

enum det_id {
    DET_VOLUME = 0,
    DET_PAYLOAD_SIZE,
    DET_LATENCY,
    DET_ERROR_RATE,
    DET_CREDENTIAL_ACCESS,
    DET_STREAM_STALLED,
    DET_COUNT
};

enum det_group { DET_BY_TOOL = 0, DET_BY_AGENT, DET_BY_SESSION,
                 DET_BY_GLOBAL, DET_BY_COUNT };

/* NULL-terminated name lists for the enums above (config tables). */
extern const char *const det_group_names[];

/* Every detector's settings.  One struct for all: each detector's table
 * says which fields it accepts, with its own defaults and ranges. */
struct det_params {
    int enabled;
    int severity;            /* enum severity */
    int group_by;            /* enum det_group */
    int64_t window_s;        /* window; per-call: quiet time to resolve */
    int64_t bucket_ms;       /* window detectors; 0: window / 60 */
    double threshold;
    double clear_threshold;  /* NaN in the table: the threshold */
    int64_t min_calls;       /* error_rate */
    struct table_strlist keywords; /* credential_access, lower-cased */
};

/* Engine-wide settings (the scalar members of the "detectors" object). */
struct det_engine_params {
    int64_t allowed_lateness_s;
    int64_t max_future_skew_s;
    int64_t dedupe_window;
    int64_t max_keys;
    int64_t repeat_interval_s;
    int64_t hold_s;
};

struct det_config {
    struct det_engine_params engine;
    struct det_params det[DET_COUNT];
};

/* The engine's table, and defaults of the whole det_config. */
extern const struct table_item det_engine_items[];
extern const size_t det_engine_nitems;
void det_config_defaults(struct det_config *c);

/* Cross-field checks of every detector (clear_threshold <= threshold,
 * bucket_ms divides the window, ...), resolving "unset" defaults.  The
 * message names the path "detectors.<name>.<key>".  Returns 0 or
 * TABLE_EINVAL. */
int det_config_check(struct det_config *c, char *err, size_t errsz);

/* ---- the interface between the engine and a detector ---- */

enum det_level { DET_CLEAR = 0, DET_BETWEEN, DET_ABOVE };

/* Alert state of a group (struct det_slot.state). */
enum det_state { DET_ST_IDLE = 0, DET_ST_FIRING, DET_ST_CLEARING };

#define DET_KEY_MAX EVENT_ID_MAX /* key text, with the NUL */

/* Per-group alert record, touched only for groups that alert. */
struct det_alert {
    int64_t started_ms;      /* episode start (event time) */
    int64_t last_sent_ms;    /* last firing notification */
    int64_t clear_since_ms;  /* CLEARING since */
    int64_t deadline_ms;     /* next timer for this group */
    int64_t last_violation_ms; /* per-call detectors' only state */
    double value;            /* latest value */
    uint64_t aux[2];         /* detector-specific (error_rate: errors, calls) */
    char id[ALERT_ID_HEX + 1];
    char key[DET_KEY_MAX];
    struct alert_sample sample; /* the event that started the episode */
};

/* One event as the engine hands it to the detectors. */
struct det_input {
    const struct event *ev;
    int64_t t_ms;     /* the event's time (clamped; `now` when untimed) */
    int64_t now_ms;
    /* private (engine): key texts and lazily computed hashes */
    const char *text[DET_BY_COUNT];
    uint64_t h[DET_BY_COUNT][2];
    unsigned hashed;
    const unsigned char *hkey;
};

/* A detector's verdict for one group. */
struct det_verdict {
    uint32_t slot;
    enum det_level level;
    double value;
    uint64_t aux[2];
    int64_t next_ms;  /* when the level may change with no event */
};

struct det_stats {
    uint64_t counted;     /* events this detector took into account */
    uint64_t late;        /* older than the window: ignored */
    uint64_t fired;       /* episodes started */
    uint64_t repeated;
    uint64_t resolved;
};

/* Flags of a detector kind. */
enum {
    DET_F_WINDOW = 1u << 0,   /* keeps a ring per group */
    DET_F_PER_CALL = 1u << 1, /* group freed when its alert resolves */
    DET_F_TIMER = 1u << 2,    /* one pinned global group, time-driven */
    DET_F_CALLS = 1u << 3     /* feed looks only at completed calls: the
                                 engine does not call it for other events */
};

struct det;

struct det_ops {
    const char *name;
    const char *description;          /* one line */
    const struct table_item *items;     /* settings table */
    size_t nitems;
    unsigned flags;
    unsigned nfields;                 /* window detectors: ring fields */
    /* After parsing: resolve defaults, cross-field rules.  `path` is
     * "detectors.<name>".  May be NULL. */
    int (*check)(struct det_params *p, const char *path, char *err,
                 size_t errsz);
    /* Extra set-up after the engine's (keys, ring slab).  May be NULL. */
    int (*create)(struct det *d);
    void (*destroy)(struct det *d);   /* may be NULL */
    /* One event: return 1 and fill *v when the event concerns a group,
     * 0 when the detector ignores it. */
    int (*feed)(struct det *d, struct det_input *in, struct det_verdict *v);
    /* Re-evaluate a pinned group at now_ms (timers). */
    void (*eval)(struct det *d, uint32_t slot, int64_t now_ms,
                 struct det_verdict *v);
    /* The event-time clock became known (first event / first tick). */
    void (*clock_start)(struct det *d, int64_t now_ms); /* may be NULL */
    /* The audit stream connected (1) or lost its connection (0): the
     * consumer's health, stream_stalled's input (may be NULL). */
    void (*connection)(struct det *d, int connected, int64_t now_ms);
    /* One sentence for the alert document. */
    void (*summary)(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size);
};

/* A detector instance, owned by the engine. */
struct det {
    const struct det_ops *ops;
    enum det_id id;
    struct det_params p;
    det_keys keys;
    win_spec win;            /* window detectors */
    unsigned char *data;     /* per-group data, stride bytes per slot */
    size_t stride;
    struct det_alert *alert; /* per-group alert records */
    int64_t window_ms;
    struct det_stats st;
    void *priv;              /* the detector's own (NULL if none) */
};

/* The registry: det_registry[id] for every enum det_id. */
extern const struct det_ops *const det_registry[DET_COUNT];

/* Index of a detector name, or -1. */
int det_find(const char *name);

/* ---- helpers for detector implementations (engine.c) ---- */

/* The group of this event for d (by d->p.group_by), found or created;
 * DET_NIL when the table is full of alerting groups.  *created = 1 when
 * new: the caller resets its data. */
uint32_t det_group_of(struct det *d, struct det_input *in, int *created);

/* The ring of a slot (window detectors). */
static inline win_ring *det_ring(const struct det *d, uint32_t slot)
{
    return (win_ring *)(void *)(d->data + (size_t)slot * d->stride);
}

/* The key hash of one of the event's keys (e.g. the tool name for a
 * detector grouped by agent that needs to know the tool). */
void det_input_hash(struct det_input *in, enum det_group g, uint64_t *h0,
                    uint64_t *h1);

/* Is this a completed call (tool_call_response or tool_call_error)? */
static inline int det_is_completed(const struct event *ev)
{
    return ev->type == EVENT_TOOL_CALL_RESPONSE ||
           ev->type == EVENT_TOOL_CALL_ERROR;
}

/* Is this an error (tool_call_error, or response_status "error")? */
static inline int det_is_error(const struct event *ev)
{
    return ev->type == EVENT_TOOL_CALL_ERROR ||
           ev->status == EVENT_STATUS_ERROR;
}

/* "for tool X" / "by agent X" / "in session X" / "overall" into out. */
void det_describe_group(const struct det *d, const char *key, char *out,
                        size_t size);

/* Window detectors (volume, error_rate, credential_access): add `vals`
 * (one per ring field) for the event's group at its time, then evaluate
 * the group with `eval`.  Returns 1 when counted, 0 when not tracked (no
 * group available) or late (counted in the stats). */
int det_window_feed(struct det *d, struct det_input *in,
                    const uint32_t *vals,
                    void (*eval)(struct det *, uint32_t, int64_t,
                                 struct det_verdict *),
                    struct det_verdict *v);

/* The level of a count window (volume, credential_access): calls in the
 * window against the threshold and the clear threshold; aux[0] = calls. */
void det_window_count_eval(struct det *d, uint32_t slot, int64_t now,
                           struct det_verdict *v);

/* Per-call detectors (latency, payload_size): a completed call whose
 * measured value `x` is over the threshold opens or extends its group's
 * alert; the alert clears after window_s without another such call.
 * det_per_call_feed() is the whole feed once the detector has read x from
 * the event; det_per_call_eval() is the eval op. */
int det_per_call_feed(struct det *d, struct det_input *in, double x,
                      struct det_verdict *v);
void det_per_call_eval(struct det *d, uint32_t slot, int64_t now,
                       struct det_verdict *v);

/* Their summaries: "a call for tool X <verb> 7884 <unit> (threshold 5000
 * <unit>)" and "back to normal: no call over 5000 <unit> for tool X for
 * 300s (last one: 7500 <unit>)". */
void det_per_call_summary(const struct det *d, const struct det_alert *a,
                          int resolved, const char *verb, const char *unit,
                          char *out, size_t size);

/* Shared check of window detectors: clear_threshold (NaN: unset, meaning
 * the threshold) may not exceed the threshold; bucket_ms must fit the
 * window. */
int det_check_window(struct det_params *p, const char *path,
                     unsigned nfields, char *err, size_t errsz);

/* The effective clear threshold: clear_threshold, or the threshold when
 * it is unset (NaN). */
static inline double det_clear_threshold(const struct det *d)
{
    return isnan(d->p.clear_threshold) ? d->p.threshold
                                       : d->p.clear_threshold;
}

/* Common settings table entries, for detector tables. */
#define DET_ITEM_ENABLED(d_)                                              \
    {.name = "enabled", .type = TABLE_BOOL,                                  \
     .offset = offsetof(struct det_params, enabled), .def = (d_),        \
     .help = "run this detector"}
#define DET_ITEM_SEVERITY(d_)                                             \
    {.name = "severity", .type = TABLE_ENUM,                                 \
     .offset = offsetof(struct det_params, severity), .def = (d_),       \
     .names = severity_names, .help = "severity of its alerts"}
#define DET_ITEM_GROUP_BY(d_, list_)                                       \
    {.name = "group_by", .type = TABLE_ENUM,                                 \
     .offset = offsetof(struct det_params, group_by), .def = (d_),       \
     .names = (list_), .help = "what a group is"}
#define DET_ITEM_WINDOW(d_, help_)                                        \
    {.name = "window_s", .type = TABLE_INT,                                  \
     .offset = offsetof(struct det_params, window_s), .def = (d_),       \
     .min = 1, .max = 86400, .help = (help_)}
#define DET_ITEM_THRESHOLD(d_, lo_, hi_, help_)                             \
    {.name = "threshold", .type = TABLE_DOUBLE,                              \
     .offset = offsetof(struct det_params, threshold), .def = (d_),      \
     .min = (lo_), .max = (hi_), .help = (help_)}
#define DET_ITEM_CLEAR(lo_, hi_)                                             \
    {.name = "clear_threshold", .type = TABLE_DOUBLE,                        \
     .offset = offsetof(struct det_params, clear_threshold), .def = NAN,  \
     .min = (lo_), .max = (hi_),                                             \
     .help = "an open alert resolves at or under this (default: the "     \
             "threshold)"}
#define DET_ITEM_BUCKET                                                    \
    {.name = "bucket_ms", .type = TABLE_INT,                                 \
     .offset = offsetof(struct det_params, bucket_ms), .def = 0,          \
     .min = 0, .max = 86400000,                                            \
     .help = "bucket width; 0: window / 60; must divide the window"}

#endif
