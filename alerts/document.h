/*
 * alert.h - the alert document (SPEC section 3) and the episode id.
 *
 *   {"type":"alert.firing","timestamp":"...","data":{"id":"...",
 *    "detector":"error_rate","group_by":"tool","key":"postgres_query",
 *    "state":"firing","severity":"error","summary":"...","value":0.35,
 *    "threshold":0.2,"window_s":60,"started_at":"...","resolved_at":null,
 *    "sample":{...},"source":"toolwatch"}}
 *
 * Built once per notification (never per event) into a capped buf, with a
 * fixed key order and a deterministic number format (the shortest decimal
 * that reads back to the same double), so the same alert always gives the
 * same bytes: replay output is byte-identical run to run, and receivers
 * can compare documents.  Pure: no I/O, no clock.
 */
#ifndef TW_ALERT_H
#define TW_ALERT_H

#include "consumer/decode.h"
#include "base/buf.h"

#include <stdint.h>

#define ALERT_ID_BYTES 16
#define ALERT_ID_HEX (ALERT_ID_BYTES * 2) /* 32 hex characters */
#define ALERT_SUMMARY_MAX 512
/* A document is at most a few KB: the sample's fields are bounded. */
#define ALERT_DOC_MAX (64u * 1024u)

enum { ALERT_OK = 0, ALERT_EINVAL = -1, ALERT_ETOOBIG = -2,
       ALERT_ENOMEM = -3 };

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

/* Append the JSON document (no trailing newline) to *out.  Returns
 * ALERT_OK, ALERT_ETOOBIG (the buf's cap) or ALERT_ENOMEM; on error the
 * buf's length is back where it was. */
int alert_format(const struct alert *a, buf *out);

/* Text of d for JSON and people: an integral value below 2^53 as an
 * integer ("1000000"), else the shortest "%.*g" that reads back as d;
 * "null" for NaN/inf.  `size` at least 32.  Returns the length. */
int alert_format_number(double d, char *dst, size_t size);

const char *alert_strerror(int rc);

#endif
