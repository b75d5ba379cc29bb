/*
 * event.h - decode one audit record (the JSON data of an SSE event) into a
 * fixed-size struct event.
 *
 * The only allocation per call is the cJSON tree, which is parsed with the
 * explicit length (stream data is not NUL-terminated) and freed before
 * event_decode() returns: no cJSON node outlives the call.  Strings are
 * copied into fixed arrays; a longer value is truncated on a UTF-8 boundary
 * and counted.  A field of the wrong type is treated as missing and
 * counted.  Unknown fields are ignored.
 */
#ifndef TW_EVENT_H
#define TW_EVENT_H

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
};

/* Why a record or a field was rejected; indexes of event_counters.n. */
enum event_reason {
    EVENT_R_NOT_JSON = 0,   /* data is not JSON: record skipped */
    EVENT_R_NOT_OBJECT,     /* JSON but not an object: record skipped */
    EVENT_R_TOO_LARGE,      /* data over the decoder's cap: record skipped */
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

enum {
    EVENT_OK = 0,
    EVENT_ENOTJSON = -1,
    EVENT_ENOTOBJECT = -2,
    EVENT_ETOOLARGE = -3,
    EVENT_EINVAL = -4
};

/* Largest data the decoder accepts (the SSE layer already caps events). */
#define EVENT_MAX_DATA_BYTES (4u * 1024u * 1024u)

/* Decode `len` bytes of JSON into *ev.  Every member is set: the numbers
 * and `has` to 0 and each string to "" unless the record has the field
 * (bytes after a string's NUL are unspecified).
 * `sse_type` (may be NULL) is the SSE event type, used when the record has
 * no event_type field.  Counters in *c (may be NULL) are incremented.
 * Returns EVENT_OK, or EVENT_ENOTJSON / EVENT_ENOTOBJECT / EVENT_ETOOLARGE
 * when the record must be skipped. */
int event_decode(struct event *ev, const char *data, size_t len,
                 const char *sse_type, size_t sse_type_len,
                 event_counters *c);

/* A hint for work that can start before decoding (the duplicate filter's
 * cache miss): when the record's first key is "record_id" and its value is
 * a string of 1..EVENT_ID_MAX-1 bytes with no escape, sets *id / *n to
 * those bytes inside `data` and returns 1; otherwise returns 0.  Reads at
 * most the first EVENT_ID_MAX + 32 bytes and never past len.  Not a
 * parse: what it finds in a record that is not JSON means nothing. */
int event_peek_record_id(const char *data, size_t len, const char **id,
                         size_t *n);

/* Parse an ISO 8601 / RFC 3339 date-time ("2026-03-10T02:47:23.123456+00:00",
 * "...Z", "+05:30", "-0800", a space instead of T) to ms since the epoch,
 * fraction truncated to ms.  A missing offset means UTC.  Returns 0 or
 * EVENT_EINVAL.  Pure; never reads the clock. */
int event_parse_time(const char *s, size_t len, int64_t *out_ms);

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least
 * 25 bytes).  Returns the length written (24), or EVENT_EINVAL. */
int event_format_time(int64_t ms, char *buf, size_t size);

const char *event_type_name(enum event_type t);
const char *event_reason_name(enum event_reason r);
const char *event_strerror(int rc);

#endif
