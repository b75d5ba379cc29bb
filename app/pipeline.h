/*
 * pipeline.h - the one event path, shared by `run` and `replay`: one audit
 * record (the data of an SSE event, or a JSONL line) -> event_decode ->
 * duplicate filter and rule engine -> alert document -> the caller's
 * sink callback.
 *
 * Whoever reads records (run: the stream reader; replay: a file) hands
 * each one to pipeline_feed(); what to do with an alert (run: submit it to
 * delivery; replay: print it) is the on_alert callback.  Decoding, the
 * record-id prefetch hint, feeding the engine, counting skipped, duplicate
 * and malformed records and building the document are written once, here,
 * so the two commands cannot drift apart.
 *
 * Clock: time is a parameter.  `wall_ms` is the wall clock when the record
 * was received (run) or 0 for pure event time (replay); ticks and the
 * stream's connection changes come from the caller too.
 *
 * Hot path: pipeline_feed() allocates nothing but cJSON's tree, reads no
 * clock, logs nothing and makes no indirect call unless there is an alert
 * or a bad record to report.  One thread owns a pipeline.
 */
#ifndef TW_PIPELINE_H
#define TW_PIPELINE_H

#include "alerts/redact.h"
#include "detectors/engine.h"
#include "model/alert.h"
#include "model/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pipeline pipeline;

/* pipeline_create() flags */
enum {
    PIPELINE_NDJSON = 1u << 0 /* every alert document ends with a LF */
};

/* Why a record given to pipeline_feed() was skipped (on_skip). */
enum pipeline_skip {
    PIPELINE_SKIP_NOT_JSON = 0, /* event_decode: not JSON */
    PIPELINE_SKIP_NOT_OBJECT,   /* JSON, but not an object */
    PIPELINE_SKIP_TOO_LARGE,    /* over EVENT_MAX_DATA_BYTES */
    PIPELINE_SKIP_UNTIMED,      /* no timestamp, and no event time yet */
    PIPELINE_SKIP_DUPLICATE_KEY /* a known key twice (EVENT_EDUPKEY) */
};

/* A record its reader could not hand over (pipeline_drop()). */
enum pipeline_drop {
    /* cut off by the reader (a line over the size cap, an event
     * incomplete at end of input): a record, skipped */
    PIPELINE_DROP_RECORD = 0,
    /* an SSE event over the parser's max_event_bytes: skipped; not a
     * record, since the parser never dispatched it */
    PIPELINE_DROP_OVERSIZE
};

/* The sink side.  Callbacks are called from inside pipeline_feed(),
 * pipeline_tick(), pipeline_connection(), pipeline_drain() and
 * pipeline_adopt(); they must not call into the pipeline.  Every pointer
 * they get is valid only during the call. */
struct pipeline_callbacks {
    /* One notification `a` and its document: doc_len bytes at doc
     * (alert_format's JSON, then a LF with PIPELINE_NDJSON).  rc is
     * ALERT_OK, or the ALERT_E* code why the document could not be built
     * (doc is then NULL, doc_len 0: nothing to send; counted in
     * pipeline_stats.unformatted).  Required. */
    void (*on_alert)(void *ud, const struct alert *a, const char *doc,
                     size_t doc_len, int rc);
    /* The record being fed is skipped, and why.  May be NULL. */
    void (*on_skip)(void *ud, enum pipeline_skip why);
    /* The record being fed is kept with a field ignored or cut, before
     * the rules see it: `reasons` has bit (1u << r) set for each
     * enum event_reason r from EVENT_R_WRONG_TYPE on that the decoder
     * counted for it.  May be NULL. */
    void (*on_warning)(void *ud, unsigned reasons);
};

/* Counters since pipeline_create(), plus those of adopted pipelines. */
struct pipeline_stats {
    uint64_t records;     /* fed, plus PIPELINE_DROP_RECORD drops */
    uint64_t events;      /* handed to the rules */
    uint64_t skipped;     /* not decoded, untimed, or dropped */
    uint64_t duplicates;  /* record_id seen recently: ignored */
    uint64_t untimed;     /* no timestamp and no event time yet */
    uint64_t warnings;    /* kept with a field ignored or cut */
    uint64_t late;        /* late for at least one rule */
    uint64_t clamped;     /* stamped too far ahead (of the wall clock, or
                             of the stream's own time): counted at `now` */
    uint64_t clock_jumps; /* runs of such events taken as the stream's
                             time moving ahead (engine.h "Clock") */
    uint64_t unformatted; /* alerts whose document could not be built */
    event_counters decode;       /* event_decode's counters */
    int64_t last_event_wall_ms;  /* wall_ms of the last record decoded; 0
                                    none (or replay) */
};

/* Create a pipeline with a rule engine for the engine-wide settings `det`
 * (copied) and `rules` (borrowed: the set must outlive the pipeline; NULL:
 * the default rules), alerts signed with `source` (copied; the instance
 * name).  The decoder fills the metadata members the rules name.
 * `flags`: PIPELINE_NDJSON.  `cb` and `ud` must outlive the pipeline.
 * Allocates every table now.  Returns NULL on failure (out of memory, or
 * a rule that cannot run). */
pipeline *pipeline_create(const struct det_engine_params *det,
                          const struct rule_set *rules, const char *source,
                          unsigned flags, const struct pipeline_callbacks *cb,
                          void *ud);

/* How the alert documents' text is redacted from now on (copied; NULL:
 * mask mode, every kind, as after pipeline_create()). */
void pipeline_set_redact(pipeline *p, const struct redact_opts *o);

/* Free everything.  Accepts NULL. */
void pipeline_destroy(pipeline *p);

/* One record: `len` bytes of JSON at `data` (not NUL-terminated), with the
 * SSE event type `type` (type_len bytes; NULL for none), used when the
 * record has no event_type.  wall_ms: the wall clock it was received at
 * (live mode), 0 for pure event time.  Alerts due go to on_alert, a bad
 * record to on_skip / on_warning, before it returns.  Returns an enum
 * det_feed_result (>= 0), or the negative EVENT_E* code (consumer/
 * decode.h) of a record that could not be decoded. */
int pipeline_feed(pipeline *p, const char *data, size_t len,
                  const char *type, size_t type_len, int64_t wall_ms);

/* Count a record that its reader could not hand over (see enum
 * pipeline_drop).  No callback: the reader, which saw why, reports it. */
void pipeline_drop(pipeline *p, enum pipeline_drop what);

/* Let time pass with no record (live mode, about once a second); wall_ms
 * <= 0 does nothing.  See det_engine_tick(). */
void pipeline_tick(pipeline *p, int64_t wall_ms);

/* The audit stream connected (1) or lost its connection (0) at wall_ms.
 * See det_engine_connection(). */
void pipeline_connection(pipeline *p, int connected, int64_t wall_ms);

/* End of input (replay): no record is to come.  See
 * det_engine_input_end(). */
void pipeline_input_end(pipeline *p);

/* End of input (replay --drain): event time runs on until every open
 * alert has resolved.  See det_engine_drain(). */
void pipeline_drain(pipeline *p);

/* Configuration reload: `p` (new, not fed yet) takes over `old`'s engine
 * state as det_engine_adopt() says (alerts of changed rules resolve
 * through old's callbacks) and adds old's counters to its own, so that
 * counters never go back.  Then destroy `old`.  Returns the number of
 * rules whose state was carried over. */
int pipeline_adopt(pipeline *p, pipeline *old);

/* The counters (*out is overwritten). */
void pipeline_stats(const pipeline *p, struct pipeline_stats *out);

/* The engine, read-only (its groups and per-rule counters). */
const det_engine *pipeline_engine(const pipeline *p);

/* The engine, to restore it at start-up or checkpoint it between
 * records (app/checkpointer.h); never from a callback. */
det_engine *pipeline_engine_mut(pipeline *p);

#endif
