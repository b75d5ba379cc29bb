/*
 * event.c - the names of struct event's enums and of the decoder's
 * rejection reasons.
 */
#include "model/event.h"

static const char *const type_names[] = {
    [EVENT_TYPE_UNKNOWN] = "unknown",
    [EVENT_TOOL_CALL_REQUEST] = "tool_call_request",
    [EVENT_TOOL_CALL_RESPONSE] = "tool_call_response",
    [EVENT_TOOL_CALL_ERROR] = "tool_call_error",
    [EVENT_SESSION_START] = "agent_session_start",
    [EVENT_SESSION_END] = "agent_session_end",
};

const char *event_type_name(enum event_type t)
{
    if ((unsigned)t > (unsigned)EVENT_SESSION_END)
        t = EVENT_TYPE_UNKNOWN;
    return type_names[t];
}

static const char *const reason_names[EVENT_R_COUNT] = {
    [EVENT_R_NOT_JSON] = "not_json",
    [EVENT_R_NOT_OBJECT] = "not_object",
    [EVENT_R_TOO_LARGE] = "too_large",
    [EVENT_R_DUPLICATE_KEY] = "duplicate_key",
    [EVENT_R_WRONG_TYPE] = "wrong_type",
    [EVENT_R_BAD_TIMESTAMP] = "bad_timestamp",
    [EVENT_R_BAD_VALUE] = "bad_value",
    [EVENT_R_TRUNCATED] = "truncated",
};

const char *event_reason_name(enum event_reason r)
{
    return (unsigned)r < (unsigned)EVENT_R_COUNT ? reason_names[r]
                                                 : "unknown";
}
