/*
 * event.h - struct event: one audit record as every stage sees it (SPEC
 * section 1), with its names and limits.
 *
 * The consumer fills it (consumer/decode.h), the detectors read it, the
 * alert document copies a sample of it.  A plain value: fixed-size arrays,
 * no pointers, no I/O, so it can be cleared, copied and compared freely.
 */
#ifndef TW_MODEL_EVENT_H
#define TW_MODEL_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum event_type {
    EVENT_TYPE_UNKNOWN = 0,
    EVENT_TOOL_CALL_REQUEST,
    EVENT_TOOL_CALL_RESPONSE,
    EVENT_TOOL_CALL_ERROR,
    EVENT_SESSION_START,
    EVENT_SESSION_END
};

enum event_status {
    EVENT_STATUS_NONE = 0, /* absent or unrecognised */
    EVENT_STATUS_SUCCESS,
    EVENT_STATUS_ERROR,
    EVENT_STATUS_PENDING
};

/* Bits of struct event.has: which optional fields were present and valid. */
enum {
    EVENT_HAS_TIMESTAMP = 1u << 0,
    EVENT_HAS_PAYLOAD = 1u << 1,
    EVENT_HAS_DURATION = 1u << 2,
    EVENT_HAS_TOKENS = 1u << 3,
    EVENT_HAS_COST = 1u << 4
};

#define EVENT_ID_MAX 128     /* record_id, session_id, agent_id, ... */
#define EVENT_NAME_MAX 128   /* tool_name, tool_category, downstream_system */
#define EVENT_CODE_MAX 64    /* error_code */
#define EVENT_TEXT_MAX 512   /* error_message, downstream_endpoint */
#define EVENT_SHA_MAX 72     /* request_payload_sha256 */
#define EVENT_META_MAX 8     /* metadata.<name> strings a record carries */
#define EVENT_META_NAME_MAX 64 /* a metadata member's name, with the NUL */

/* Every string member is NUL-terminated, "" when absent. */
struct event {
    unsigned has;                  /* EVENT_HAS_* */
    enum event_type type;
    enum event_status status;
    int64_t ts_ms;                 /* ms since the Unix epoch (UTC) */
    int64_t payload_bytes;         /* response_payload_size_bytes */
    double duration_ms;            /* execution_duration_ms | latency_ms */
    double tokens;                 /* tokens_consumed | input + output */
    double cost_usd;
    char record_id[EVENT_ID_MAX];  /* record_id | event_id */
    char session_id[EVENT_ID_MAX];
    char agent_id[EVENT_ID_MAX];
    char correlation_id[EVENT_ID_MAX];
    char tool_name[EVENT_NAME_MAX];
    char tool_category[EVENT_NAME_MAX];
    char downstream_system[EVENT_NAME_MAX];
    char error_code[EVENT_CODE_MAX];
    char request_sha256[EVENT_SHA_MAX];
    char error_message[EVENT_TEXT_MAX];
    char downstream_endpoint[EVENT_TEXT_MAX];
    /* metadata.<name>: slot i holds the string member whose name is entry
     * i of the rules' name table (detectors/match.h struct match_meta), the
     * only members decoded; bit i of meta_has says it was present */
    unsigned meta_has;
    char meta[EVENT_META_MAX][EVENT_NAME_MAX];
};

/* Why a record or a field was rejected; indexes of event_counters.n.  The
 * reasons that skip the record come first, those that keep it (a field
 * ignored or cut) from EVENT_R_WRONG_TYPE on. */
enum event_reason {
    EVENT_R_NOT_JSON = 0,   /* data is not JSON: record skipped */
    EVENT_R_NOT_OBJECT,     /* JSON but not an object: record skipped */
    EVENT_R_TOO_LARGE,      /* data over the decoder's cap: record skipped */
    EVENT_R_DUPLICATE_KEY,  /* a known key given twice (a reader taking the
                               other one would see another record): record
                               skipped */
    EVENT_R_WRONG_TYPE,     /* a known field had the wrong JSON type */
    EVENT_R_BAD_TIMESTAMP,  /* timestamp present but not ISO 8601 */
    EVENT_R_BAD_VALUE,      /* a number out of range (negative size, NaN) */
    EVENT_R_TRUNCATED,      /* a string longer than its field, cut */
    EVENT_R_COUNT
};

typedef struct event_counters {
    uint64_t decoded;               /* records accepted */
    uint64_t n[EVENT_R_COUNT];
} event_counters;

/* The record's event_type as written in the stream ("tool_call_request",
 * ...), "unknown" for EVENT_TYPE_UNKNOWN or an out-of-range value. */
const char *event_type_name(enum event_type t);

/* The metric label of a reason ("not_json", ...), "unknown" when out of
 * range. */
const char *event_reason_name(enum event_reason r);

#endif
