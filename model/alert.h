/*
 * alert.h - struct alert: one notification as the rules make it and the
 * sinks send it (SPEC section 3), and the episode id.
 *
 * The engine fills it, alerts/document.h turns it into the JSON document,
 * the sinks and the journal carry that.  Pure: no I/O, no clock.
 */
#ifndef TW_MODEL_ALERT_H
#define TW_MODEL_ALERT_H

#include "model/event.h"

#include <stdint.h>

#define ALERT_ID_BYTES 16
#define ALERT_ID_HEX (ALERT_ID_BYTES * 2) /* 32 hex characters */
#define ALERT_SUMMARY_MAX 512
#define ALERT_GROUP_MAX 4   /* group fields: 3 group_by + new_value's field */
#define ALERT_LABELS_MAX 8

/* The triggering event's identifiers (all NUL-terminated, "" = absent). */
struct alert_sample {
    char record_id[EVENT_ID_MAX];
    char session_id[EVENT_ID_MAX];
    char agent_id[EVENT_ID_MAX];
    char tool_name[EVENT_NAME_MAX];
    char error_code[EVENT_CODE_MAX];
    enum event_type event_type;
};

/* A name -> value pair of the document (a group field, a label). */
struct alert_pair {
    const char *name;
    const char *value;
};

/* One notification.  Pointers are borrowed for the duration of the call
 * that receives the struct.  A NaN value or threshold, or a negative
 * window_s, is null in the document (the kind has none). */
struct alert {
    int resolved;             /* 0: alert.firing, 1: alert.resolved */
    int64_t timestamp_ms;     /* when this notification was made */
    char id[ALERT_ID_HEX + 1];
    const char *rule;         /* the rule's name */
    const char *kind;         /* its kind ("count", "ratio", ...) */
    uint32_t ngroup;          /* group fields, in order (0: []) */
    struct alert_pair group[ALERT_GROUP_MAX];
    const char *key;          /* the values joined by "/"; "global" */
    const char *severity;     /* "info", "warning", "error", "critical" */
    const char *summary;
    double value;             /* NaN: null */
    double threshold;         /* NaN: null */
    int64_t window_s;         /* < 0: null */
    int64_t started_ms;
    int64_t resolved_ms;      /* used when resolved */
    uint32_t nlabels;
    struct alert_pair labels[ALERT_LABELS_MAX];
    const char *description;  /* NULL or "": null */
    const char *runbook_url;  /* NULL or "": null */
    const struct alert_sample *sample; /* may be NULL: {} */
    const char *source;       /* instance name */
    /* Not in the document: where it stands among the engine's
     * notifications, for the outbox after a restart (app/run.c: one made
     * again from events read again is not sent twice). */
    uint64_t seq;             /* the engine's number for it: 1, 2, ...,
                                 going on across checkpoints */
    int64_t made_ms;          /* the engine's event-time clock then */
};

/* Copy the sample fields of *ev. */
void alert_sample_from_event(struct alert_sample *s, const struct event *ev);

/* The episode id: the first 16 bytes of BLAKE2b over the rule name and
 * each of the n group values (each with its terminating NUL; n = 0 hashes
 * the one value "global") and started_ms (8 bytes, big endian), in
 * lower-case hex.  Same inputs, same id, on every replica; a one-value
 * group gives the id of name, key and start. */
void alert_episode_id(const char *rule, const char *const *values,
                      uint32_t n, int64_t started_ms,
                      char out[ALERT_ID_HEX + 1]);

#endif
