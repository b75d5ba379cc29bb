/*
 * event.c - the names of struct event's enums.
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
