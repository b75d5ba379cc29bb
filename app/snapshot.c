/*
 * snapshot.c - fill and publish the status snapshot (snapshot.h).
 *
 * A snapshot is built from scratch at every publish (about once a second,
 * and at once after a stream state change) from the parts in force and
 * what is kept here; nothing is computed per event.  The stream's counters
 * shown are the reader's own plus those of the readers reloads replaced
 * (base_stream); the sinks' are the outbox's own (a reload changes its
 * sinks in place: a kept sink keeps its counters, a removed one's go with
 * it, and a sink renamed by a reload starts from zero).
 *
 * Invariants: n_firing <= STATUS_MAX_FIRING (the list holds the first
 * episodes opened, firing_total counts them all); config.loaded_ms is the
 * start or the last reload taken; config.reload_failures <=
 * config.reloads.
 */
#include "app/snapshot.h"

#include "alerts/sink.h"
#include "detectors/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

/* The alerts made under one rule name, across reloads. */
struct rule_count {
    char name[STATUS_NAME_MAX];
    uint64_t fired, resolved;
};

/* An open episode, as /status lists it. */
struct firing {
    char id[ALERT_ID_HEX + 1];
    char detector[STATUS_NAME_MAX];
    char key[STATUS_KEY_MAX];
    char severity[STATUS_KIND_MAX];
    int64_t started_ms;
};

struct snapshot {
    int64_t start_wall;
    int64_t disconnected_since; /* wall; 0 while connected */
    struct rule_count rules[STATUS_MAX_DETECTORS];
    size_t n_rules;
    struct firing firing[STATUS_MAX_FIRING];
    size_t n_firing;
    uint64_t firing_total;
    /* counters of the stream readers reloads replaced */
    struct stream_stats base_stream;
    /* the configuration: loaded when, and its reloads */
    int last_reload_failed;
    int64_t last_reload_ms;
    char last_reload_error[STATUS_CONFIG_ERROR_MAX];
    int64_t loaded_ms;
    uint64_t reloads, reload_failures;
    struct status_snapshot snap; /* the last one filled */
};

snapshot *snapshot_create(int64_t start_wall_ms)
{
    snapshot *s = calloc(1, sizeof *s);

    if (s != NULL) {
        s->start_wall = start_wall_ms;
        s->loaded_ms = start_wall_ms;
    }
    return s;
}

void snapshot_destroy(snapshot *s)
{
    free(s);
}

/* ---- kept between publishes --------------------------------------------- */

/* Keep the list of open episodes that /status shows. */
static void track_firing(snapshot *s, const struct alert *a)
{
    size_t i;

    for (i = 0; i < s->n_firing; i++) {
        if (strcmp(s->firing[i].id, a->id) == 0)
            break;
    }
    if (a->resolved) {
        if (s->firing_total > 0)
            s->firing_total--;
        if (i < s->n_firing)
            s->firing[i] = s->firing[--s->n_firing];
        return;
    }
    if (i < s->n_firing)
        return; /* a repeat */
    s->firing_total++;
    if (s->n_firing < STATUS_MAX_FIRING) {
        struct firing *f = &s->firing[s->n_firing++];
        COPY(f->id, a->id);
        COPY(f->detector, a->rule);
        COPY(f->key, a->key);
        COPY(f->severity, a->severity);
        f->started_ms = a->started_ms;
    }
}

/* The counts of rule `name`, made when first needed; NULL when the table
 * is full (more rule names than a set holds, across reloads). */
static struct rule_count *rule_count(snapshot *s, const char *name, int make)
{
    for (size_t i = 0; i < s->n_rules; i++)
        if (strcmp(s->rules[i].name, name) == 0)
            return &s->rules[i];
    if (!make || s->n_rules >= STATUS_MAX_DETECTORS)
        return NULL;
    COPY(s->rules[s->n_rules].name, name);
    return &s->rules[s->n_rules++];
}

void snapshot_alert(snapshot *s, const struct alert *a)
{
    struct rule_count *rc = rule_count(s, a->rule, 1);

    if (rc != NULL) {
        if (a->resolved)
            rc->resolved++;
        else
            rc->fired++;
    }
    track_firing(s, a);
}

void snapshot_restored(snapshot *s, const struct alert *a)
{
    track_firing(s, a);
}

void snapshot_stream_state(snapshot *s, enum stream_state st,
                           int64_t wall_ms)
{
    if (st == STREAM_CONNECTED)
        s->disconnected_since = 0;
    else if (s->disconnected_since == 0)
        s->disconnected_since = wall_ms;
}

/* ---- counters across reloads ---------------------------------------------- */

void snapshot_retire_stream(snapshot *s, const stream *st)
{
    const struct stream_stats *ss = stream_stats(st);
    struct stream_stats *b = &s->base_stream;

    b->connects += ss->connects;
    b->reconnects += ss->reconnects;
    b->events += ss->events;
    b->bytes += ss->bytes;
    b->stalls += ss->stalls;
    b->http_errors += ss->http_errors;
    b->network_errors += ss->network_errors;
    b->oversize += ss->oversize;
    b->invalid_utf8 += ss->invalid_utf8;
    if (ss->connects + ss->http_errors + ss->network_errors + ss->stalls > 0)
        b->reconnects++;
}

void snapshot_reload(snapshot *s, const char *why, int64_t wall_ms)
{
    s->reloads++;
    s->last_reload_ms = wall_ms;
    s->last_reload_failed = why != NULL;
    COPY(s->last_reload_error, why != NULL ? why : "");
    if (why != NULL)
        s->reload_failures++;
    else
        s->loaded_ms = wall_ms;
}

/* ---- filling ---------------------------------------------------------------- */

static void fill_stream(snapshot *s, const struct snapshot_parts *p,
                        const struct pipeline_stats *ps)
{
    struct status_snapshot *o = &s->snap;
    const struct stream_stats *ss = stream_stats(p->st);
    const struct stream_stats *b = &s->base_stream;
    const char *id;
    size_t idlen;

    COPY(o->stream.state, stream_state_name(stream_state(p->st)));
    stream_safe_url(p->stream_url, o->stream.url, sizeof o->stream.url);
    o->stream.connected = stream_state(p->st) == STREAM_CONNECTED;
    if (o->stream.connected)
        o->stream.connected_since_ms =
            p->wall_ms - (p->mono_ms - ss->connected_since_ms);
    o->stream.disconnected_since_ms = s->disconnected_since;
    id = stream_last_event_id(p->st, &idlen);
    snprintf(o->stream.last_event_id, sizeof o->stream.last_event_id,
             "%.*s", (int)idlen, id);
    o->stream.last_event_ms = ps->last_event_wall_ms;
    o->stream.connects = b->connects + ss->connects;
    o->stream.reconnects = b->reconnects + ss->reconnects;
    o->stream.stalls = b->stalls + ss->stalls;
    o->stream.http_errors = b->http_errors + ss->http_errors;
    o->stream.network_errors = b->network_errors + ss->network_errors;
    o->stream.last_http_status = ss->last_status;
    o->stream.max_lag_ms = p->max_lag_ms;
    o->stream.clock_jumps = ps->clock_jumps;

    o->events.total = b->events + ss->events;
    o->events.oversize = b->oversize + ss->oversize;
    o->events.invalid_utf8 = b->invalid_utf8 + ss->invalid_utf8;
}

static void fill_events(snapshot *s, const struct pipeline_stats *ps)
{
    struct status_snapshot *o = &s->snap;

    o->events.decoded = ps->decode.decoded;
    for (int r = 0; r < EVENT_R_COUNT; r++)
        o->events.errors[r] = ps->decode.n[r];
    o->events.late = ps->late;
    o->events.duplicates = ps->duplicates;
    o->events.untimed = ps->untimed;
    o->events.clamped = ps->clamped;
}

/* Is detection live, catching up on a backlog, or unknown (the rules not
 * judged); and the stream's observed lag. */
static void fill_clock(snapshot *s, const det_engine *eng)
{
    struct status_snapshot *o = &s->snap;
    struct det_clock_info ci;

    det_engine_clock(eng, &ci);
    COPY(o->detection, ci.unknown        ? STATUS_DETECTION_UNKNOWN
                       : ci.catching_up ? STATUS_DETECTION_CATCHING_UP
                                        : STATUS_DETECTION_LIVE);
    o->detection_unknown = ci.unknown;
    o->stream.lag_ms = ci.lag_ms;
}

static void fill_detectors(snapshot *s, const det_engine *eng)
{
    struct status_snapshot *o = &s->snap;
    struct det_rule_info ri;

    for (uint32_t i = 0; i < STATUS_MAX_DETECTORS &&
                         det_engine_rule_info(eng, i, &ri) == 0; i++) {
        const struct rule_count *rc = rule_count(s, ri.name, 0);

        COPY(o->detectors[i].name, ri.name);
        o->detectors[i].enabled = 1;
        o->detectors[i].keys = ri.groups;
        o->detectors[i].firing = ri.open;
        o->detectors[i].evictions = ri.evicted;
        o->detectors[i].groups_full = ri.full;
        o->detectors[i].overflow_events = ri.overflow;
        o->detectors[i].at_capacity = ri.at_capacity;
        o->detectors[i].alerts_fired = rc != NULL ? rc->fired : 0;
        o->detectors[i].alerts_resolved = rc != NULL ? rc->resolved : 0;
        COPY(o->detectors[i].detection, ri.unknown
                                            ? STATUS_DETECTION_UNKNOWN
                                            : STATUS_DETECTION_LIVE);
        o->detectors[i].unknown = ri.unknown;
        o->n_detectors = i + 1;
    }
    o->firing_total = s->firing_total;
    for (size_t i = 0; i < s->n_firing; i++) {
        COPY(o->firing[i].detector, s->firing[i].detector);
        COPY(o->firing[i].key, s->firing[i].key);
        COPY(o->firing[i].severity, s->firing[i].severity);
        COPY(o->firing[i].episode, s->firing[i].id);
        o->firing[i].started_ms = s->firing[i].started_ms;
    }
    o->n_firing = (unsigned)s->n_firing;
}

static void fill_sinks(snapshot *s, const delivery *dl)
{
    struct status_snapshot *o = &s->snap;
    size_t n;

    if (dl == NULL)
        return;
    n = delivery_sink_count(dl);
    for (size_t i = 0; i < n && i < STATUS_MAX_SINKS; i++) {
        struct delivery_sink_stats d;
        delivery_sink_stats(dl, i, &d);
        COPY(o->sinks[i].name, d.name);
        COPY(o->sinks[i].kind, sink_kind_name(d.kind));
        o->sinks[i].queue_depth = d.queued;
        o->sinks[i].in_flight = (uint64_t)d.in_flight;
        o->sinks[i].delivered = d.delivered;
        o->sinks[i].retries = d.retries;
        o->sinks[i].retried = d.retried;
        o->sinks[i].requests = d.attempts;
        o->sinks[i].latency = d.latency;
        o->sinks[i].dead_lettered = d.dead_lettered;
        o->sinks[i].spilled = d.spilled;
        o->sinks[i].digested = d.digested;
        o->sinks[i].dropped = d.submit_errors + d.lost;
        o->sinks[i].disabled = d.disabled;
        o->sinks[i].last_status = d.last_status;
        o->sinks[i].last_success_ms = d.last_success_ms;
        o->sinks[i].last_failure_ms = d.last_failure_ms;
        COPY(o->sinks[i].last_error, d.last_error);
        o->n_sinks = (unsigned)i + 1;
    }
    o->journal_writable = delivery_journal_ok(dl);
}

static void fill_config(snapshot *s)
{
    struct status_snapshot *o = &s->snap;

    o->config.last_reload_failed = s->last_reload_failed;
    o->config.last_reload_ms = s->last_reload_ms;
    COPY(o->config.last_reload_error, s->last_reload_error);
    o->config.loaded_ms = s->loaded_ms;
    o->config.reloads = s->reloads;
    o->config.reload_failures = s->reload_failures;
}

static void fill_checkpoint(snapshot *s,
                            const struct checkpointer_stats *c)
{
    struct status_snapshot *o = &s->snap;

    if (c == NULL)
        return;
    o->checkpoint.last_success_ms = c->last_success_ms;
    o->checkpoint.bytes = c->last_bytes;
    o->checkpoint.write_us = c->last_write_us;
    o->checkpoint.serialize_us = c->last_serialize_us;
    o->checkpoint.writes = c->writes;
    o->checkpoint.failures = c->failures;
    o->checkpoint.refused = c->refused;
    o->checkpoint.not_resent = c->not_resent;
}

void snapshot_publish(snapshot *s, const struct snapshot_parts *parts,
                      status_server *srv)
{
    struct status_snapshot *o = &s->snap;
    struct pipeline_stats ps;

    pipeline_stats(parts->pl, &ps);
    memset(o, 0, sizeof *o);
    COPY(o->version, TW_VERSION);
    o->start_ms = s->start_wall;
    o->last_tick_mono_ms = parts->mono_ms;
    if (parts->not_ready_reason != NULL)
        COPY(o->not_ready_reason, parts->not_ready_reason);
    fill_stream(s, parts, &ps);
    fill_events(s, &ps);
    fill_detectors(s, pipeline_engine(parts->pl));
    fill_clock(s, pipeline_engine(parts->pl));
    oncall_fill(parts->oc, o, parts->wall_ms);
    fill_sinks(s, parts->dl);
    fill_config(s);
    fill_checkpoint(s, parts->ckpt);
    status_publish(srv, o);
}
