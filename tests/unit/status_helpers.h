/*
 * status_helpers.h - shared by the status tests (test_render.c, the pure
 * documents; test_server.c, the HTTP server): one known snapshot and
 * lookups into a JSON document by dotted path.
 *
 * Header-only (static functions): each test binary includes it once and
 * uses every function in it.
 */
#ifndef TW_TEST_STATUS_HELPERS_H
#define TW_TEST_STATUS_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "status/render.h"

#define T0 1773100800000LL /* 2026-03-10T00:00:00Z */

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

/* A healthy, ready snapshot with known values, as the loop would fill it
 * at wall-clock `wall` and monotonic clock `mono`: started an hour before,
 * ticked at `mono`, last event 2.5 s before `wall`; two detectors, one
 * alert firing, two sinks (the second one's name needs escaping); the
 * configuration loaded 10 minutes before `wall`, and a reload refused a
 * minute before (3 tried, 1 refused). */
static void fill(struct status_snapshot *s, int64_t wall, int64_t mono)
{
    memset(s, 0, sizeof *s);
    copy(s->version, sizeof s->version, "1.2.3");
    s->start_ms = wall - 3600 * 1000;
    s->last_tick_mono_ms = mono;
    copy(s->stream.state, sizeof s->stream.state, "connected");
    copy(s->stream.url, sizeof s->stream.url,
         "https://audit.example.com/v1/stream");
    s->stream.connected = 1;
    s->stream.connected_since_ms = T0;
    copy(s->stream.last_event_id, sizeof s->stream.last_event_id,
         "evt-\"42\"");
    s->stream.last_event_ms = wall - 2500;
    s->stream.connects = 3;
    s->stream.reconnects = 2;
    s->stream.stalls = 1;
    s->stream.http_errors = 4;
    s->stream.network_errors = 5;
    s->stream.last_http_status = 200;
    s->stream.lag_ms = 1500;
    s->stream.max_lag_ms = 300000;
    s->stream.clock_jumps = 1;
    copy(s->detection, sizeof s->detection, "live");
    s->events.total = 12345;
    s->events.decoded = 12300;
    s->events.errors[EVENT_R_NOT_JSON] = 7;
    s->events.errors[EVENT_R_TRUNCATED] = 9;
    s->events.oversize = 3;
    s->events.invalid_utf8 = 21;
    s->events.late = 11;
    s->events.duplicates = 13;
    s->events.untimed = 2;
    s->events.clamped = 4;
    s->n_detectors = 2;
    copy(s->detectors[0].name, sizeof s->detectors[0].name, "error_rate");
    s->detectors[0].enabled = 1;
    s->detectors[0].keys = 40;
    s->detectors[0].firing = 1;
    s->detectors[0].evictions = 6;
    s->detectors[0].alerts_fired = 8;
    s->detectors[0].alerts_resolved = 7;
    copy(s->detectors[0].detection, sizeof s->detectors[0].detection,
         "live");
    copy(s->detectors[1].name, sizeof s->detectors[1].name, "volume");
    copy(s->detectors[1].detection, sizeof s->detectors[1].detection,
         "live");
    s->n_firing = 1;
    s->firing_total = 1;
    copy(s->firing[0].detector, sizeof s->firing[0].detector, "error_rate");
    copy(s->firing[0].key, sizeof s->firing[0].key, "crm.lookup");
    copy(s->firing[0].severity, sizeof s->firing[0].severity, "error");
    s->firing[0].started_ms = T0 + 1500;
    copy(s->firing[0].episode, sizeof s->firing[0].episode,
         "0123456789abcdef0123456789abcdef");
    s->n_sinks = 2;
    copy(s->sinks[0].name, sizeof s->sinks[0].name, "ops-webhook");
    copy(s->sinks[0].kind, sizeof s->sinks[0].kind, "webhook");
    s->sinks[0].queue_depth = 3;
    s->sinks[0].in_flight = 1;
    s->sinks[0].delivered = 100;
    s->sinks[0].retries = 4;
    s->sinks[0].retried = 3;
    s->sinks[0].requests = 106;
    /* 0.1 s exactly is in le="0.1"; one past the last bound only in +Inf */
    latency_observe(&s->sinks[0].latency, 20);
    latency_observe(&s->sinks[0].latency, 100);
    latency_observe(&s->sinks[0].latency, 101);
    latency_observe(&s->sinks[0].latency, 2500);
    latency_observe(&s->sinks[0].latency, 1800001);
    s->sinks[0].dead_lettered = 2;
    s->sinks[0].last_status = 503;
    s->sinks[0].last_success_ms = T0 + 60000;
    s->sinks[0].last_failure_ms = T0 + 120000;
    copy(s->sinks[0].last_error, sizeof s->sinks[0].last_error,
         "ops-webhook: HTTP 503");
    copy(s->sinks[1].name, sizeof s->sinks[1].name, "we\"ird\\sink\nx");
    copy(s->sinks[1].kind, sizeof s->sinks[1].kind, "file");
    s->sinks[1].disabled = 1;
    s->journal_writable = 1;
    s->config.loaded_ms = wall - 600 * 1000;
    s->config.last_reload_ms = wall - 60 * 1000;
    s->config.last_reload_failed = 1;
    copy(s->config.last_reload_error, sizeof s->config.last_reload_error,
         "sinks[1].path: cannot open \"/var/log/tw/a.ndjson\"");
    s->config.reloads = 3;
    s->config.reload_failures = 1;
    s->checkpoint.last_success_ms = wall - 2500;
    s->checkpoint.bytes = 123456;
    s->checkpoint.write_us = 2500;
    s->checkpoint.serialize_us = 1000800;
    s->checkpoint.writes = 7;
    s->checkpoint.failures = 1;
    s->checkpoint.refused = 0;
    s->checkpoint.not_resent = 3;
}

/* The JSON document in b; the caller cJSON_Delete()s it. */
static cJSON *parse(const buf *b)
{
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);

    assert_non_null(j);
    return j;
}

/* The member at a dotted path ("sinks.1.name": array items by index);
 * fails the test when there is none. */
static const cJSON *field(const cJSON *o, const char *path)
{
    char part[64];
    const cJSON *cur = o;

    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        snprintf(part, sizeof part, "%.*s", (int)n, path);
        if (cJSON_IsArray(cur) && part[0] >= '0' && part[0] <= '9')
            cur = cJSON_GetArrayItem(cur, (int)strtol(part, NULL, 10));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        if (cur == NULL)
            fail_msg("no field %s", part);
        path += n + (dot != NULL);
    }
    return cur;
}

static void jstr(const cJSON *o, const char *path, const char *want)
{
    const cJSON *f = field(o, path);

    if (!cJSON_IsString(f))
        fail_msg("%s is not a string", path);
    assert_string_equal(f->valuestring, want);
}

static void jnum(const cJSON *o, const char *path, double want)
{
    const cJSON *f = field(o, path);

    if (!cJSON_IsNumber(f))
        fail_msg("%s is not a number", path);
    if (f->valuedouble != want)
        fail_msg("%s: %f, want %f", path, f->valuedouble, want);
}

static void jbool(const cJSON *o, const char *path, int want)
{
    const cJSON *f = field(o, path);

    assert_true(cJSON_IsBool(f));
    assert_int_equal(cJSON_IsTrue(f) ? 1 : 0, want);
}

static void jnull(const cJSON *o, const char *path)
{
    assert_true(cJSON_IsNull(field(o, path)));
}

#endif
