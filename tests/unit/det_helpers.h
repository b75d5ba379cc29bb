/*
 * det_helpers.h - shared by the detector and engine tests: build events,
 * run an engine with synthetic time and capture its alerts.
 *
 * Header-only (static functions): each test binary includes it once.
 */
#ifndef TW_TEST_DET_HELPERS_H
#define TW_TEST_DET_HELPERS_H

#include "alerts/document.h"
#include "consumer/decode.h"
#include "detectors/detector.h"
#include "detectors/engine.h"

#include <stdio.h>
#include <string.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */
#define SEC 1000LL

#define CAP_MAX 4096

struct cap_alert {
    int resolved;
    char detector[32];
    char key[DET_KEY_MAX];
    char id[ALERT_ID_HEX + 1];
    char summary[ALERT_SUMMARY_MAX];
    char record_id[EVENT_ID_MAX];
    double value;
    int64_t ts, started, resolved_at;
};

struct cap {
    int n;
    struct cap_alert a[CAP_MAX];
};

static void cap_on_alert(void *ud, const struct alert *a)
{
    struct cap *c = ud;
    struct cap_alert *x;

    if (c->n >= CAP_MAX)
        return;
    x = &c->a[c->n++];
    x->resolved = a->resolved;
    snprintf(x->detector, sizeof x->detector, "%s", a->detector);
    snprintf(x->key, sizeof x->key, "%s", a->key);
    snprintf(x->id, sizeof x->id, "%s", a->id);
    snprintf(x->summary, sizeof x->summary, "%s", a->summary);
    snprintf(x->record_id, sizeof x->record_id, "%s",
             a->sample ? a->sample->record_id : "");
    x->value = a->value;
    x->ts = a->timestamp_ms;
    x->started = a->started_ms;
    x->resolved_at = a->resolved ? a->resolved_ms : -1;
}

static const struct det_engine_callbacks cap_cb = {.on_alert = cap_on_alert};

/* A config with only detector `only` enabled (-1: all). */
static void cfg_only(struct det_config *c, int only)
{
    det_config_defaults(c);
    if (only >= 0)
        for (int i = 0; i < DET_COUNT; i++)
            c->det[i].enabled = i == only;
}

static unsigned long long ev_seq;

/* A completed call (tool_call_response) at T0 + ms. */
static struct event ev_call(int64_t ms, const char *tool, const char *agent)
{
    struct event ev;

    memset(&ev, 0, sizeof ev);
    ev.has = EVENT_HAS_TIMESTAMP;
    ev.type = EVENT_TOOL_CALL_RESPONSE;
    ev.status = EVENT_STATUS_SUCCESS;
    ev.ts_ms = T0 + ms;
    snprintf(ev.record_id, sizeof ev.record_id, "r-%llu", ++ev_seq);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", tool);
    snprintf(ev.agent_id, sizeof ev.agent_id, "%s", agent);
    snprintf(ev.session_id, sizeof ev.session_id, "s-%s", agent);
    return ev;
}

static struct event ev_error(int64_t ms, const char *tool, const char *agent)
{
    struct event ev = ev_call(ms, tool, agent);

    ev.type = EVENT_TOOL_CALL_ERROR;
    ev.status = EVENT_STATUS_ERROR;
    snprintf(ev.error_code, sizeof ev.error_code, "E_FAIL");
    return ev;
}

static int feed(det_engine *e, struct event ev)
{
    return det_engine_feed(e, &ev, 0);
}

/* n calls of `tool` evenly from T0 + from_ms, step_ms apart. */
static void feed_calls(det_engine *e, int n, int64_t from_ms, int64_t step_ms,
                       const char *tool, const char *agent)
{
    for (int i = 0; i < n; i++)
        feed(e, ev_call(from_ms + i * step_ms, tool, agent));
}

#endif
