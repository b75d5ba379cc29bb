/*
 * alert.h - struct alert: one notification as the detectors make it and
 * the sinks send it (SPEC section 3), and the episode id.
 *
 * The detectors fill it, alerts/document.h turns it into the JSON
 * document, the sinks and the journal carry that.  Pure: no I/O, no clock.
 */
#ifndef TW_MODEL_ALERT_H
#define TW_MODEL_ALERT_H

#include "model/event.h"

#include <stdint.h>

#define ALERT_ID_BYTES 16
#define ALERT_ID_HEX (ALERT_ID_BYTES * 2) /* 32 hex characters */
#define ALERT_SUMMARY_MAX 512

/* The triggering event's identifiers (all NUL-terminated, "" = absent). */
struct alert_sample {
    char record_id[EVENT_ID_MAX];
    char session_id[EVENT_ID_MAX];
    char agent_id[EVENT_ID_MAX];
    char tool_name[EVENT_NAME_MAX];
    char error_code[EVENT_CODE_MAX];
    enum event_type event_type;
};

/* One notification.  Pointers are borrowed for the duration of the call
 * that receives the struct. */
struct alert {
    int resolved;             /* 0: alert.firing, 1: alert.resolved */
    int64_t timestamp_ms;     /* when this notification was made */
    char id[ALERT_ID_HEX + 1];
    const char *detector;
    const char *group_by;     /* "tool", "agent", "session", "global" */
    const char *key;
    const char *severity;     /* "info", "warning", "error", "critical" */
    const char *summary;
    double value;
    double threshold;
    int64_t window_s;
    int64_t started_ms;
    int64_t resolved_ms;      /* used when resolved */
    const struct alert_sample *sample; /* may be NULL: {} */
    const char *source;       /* instance name */
};

/* Copy the sample fields of *ev. */
void alert_sample_from_event(struct alert_sample *s, const struct event *ev);

/* The episode id: the first 16 bytes of BLAKE2b over the detector name, the
 * key (each with its terminating NUL) and started_ms (8 bytes, big endian),
 * in lower-case hex.  Same inputs, same id, on every replica. */
void alert_episode_id(const char *detector, const char *key,
                      int64_t started_ms, char out[ALERT_ID_HEX + 1]);

#endif
