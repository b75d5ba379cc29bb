/*
 * pipeline.c - the one event path (pipeline.h): decode, prefetch, engine,
 * document, sink.
 *
 * Per record: the record-id hint starts the duplicate filter's cache miss
 * (det_engine_prefetch) so that it overlaps the JSON parse;
 * event_decode_meta fills the pipeline's one struct event, with the
 * metadata members the rules name (cJSON's tree is the only allocation,
 * freed before it returns); det_engine_feed runs the rules.  The
 * decoder's field-level counters are compared before and after the
 * decode to tell on_warning which of them this record raised.
 *
 * Per alert: the document is built into one buffer owned here (capped at
 * ALERT_DOC_MAX, allocated at the first alert and kept) and handed to the
 * sink.
 *
 * Invariants: the engine is always this pipeline's (it calls back with
 * the pipeline as its ud); stats.late, .clamped and .clock_jumps are
 * kept apart (base) because the engine counts them.
 */
#include "app/pipeline.h"

#include "alerts/document.h"
#include "alerts/redact.h"
#include "base/buf.h"
#include "consumer/decode.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* the decoder's reasons that keep the record (a field ignored or cut) */
#define WARN_FIRST EVENT_R_WRONG_TYPE
#define WARN_COUNT (EVENT_R_COUNT - EVENT_R_WRONG_TYPE)

struct pipeline {
    det_engine *eng;
    const struct pipeline_callbacks *cb;
    void *ud;
    unsigned flags;
    struct pipeline_stats st; /* .late, .clamped, .clock_jumps: base */
    struct {                  /* counted by the engines adopted */
        uint64_t late, clamped, clock_jumps;
    } base;
    buf doc;                  /* one alert document */
    struct redact_opts red;   /* how its text is redacted */
    struct event_meta_names meta; /* the metadata members rules name */
    struct event ev;          /* the record being fed */
};

/* The engine's callback: build the document, hand both to the sink. */
static void on_engine_alert(void *ud, const struct alert *a)
{
    pipeline *p = ud;
    int rc;

    buf_reset(&p->doc);
    rc = alert_format_opt(a, &p->red, &p->doc);
    if (rc == ALERT_OK && (p->flags & PIPELINE_NDJSON) &&
        buf_append(&p->doc, "\n", 1) != BUF_OK)
        rc = ALERT_ETOOBIG;
    if (rc != ALERT_OK) {
        p->st.unformatted++;
        p->cb->on_alert(p->ud, a, NULL, 0, rc);
        return;
    }
    p->cb->on_alert(p->ud, a, p->doc.data, p->doc.len, ALERT_OK);
}

static const struct det_engine_callbacks engine_cb = {
    .on_alert = on_engine_alert,
};

static void skip(pipeline *p, enum pipeline_skip why)
{
    p->st.skipped++;
    if (p->cb->on_skip != NULL)
        p->cb->on_skip(p->ud, why);
}

__attribute__((hot))
int pipeline_feed(pipeline *p, const char *data, size_t len,
                  const char *type, size_t type_len, int64_t wall_ms)
{
    uint64_t before[WARN_COUNT];
    const char *id;
    size_t id_len;
    unsigned warn = 0;
    int rc;

    p->st.records++;
    /* the duplicate filter's cache miss overlaps the JSON parse */
    if (event_peek_record_id(data, len, &id, &id_len))
        det_engine_prefetch(p->eng, id, id_len);
    memcpy(before, &p->st.decode.n[WARN_FIRST], sizeof before);
    rc = event_decode_meta(&p->ev, data, len, type, type_len, &p->meta,
                           &p->st.decode);
    if (rc != EVENT_OK) {
        skip(p, rc == EVENT_ETOOLARGE    ? PIPELINE_SKIP_TOO_LARGE
                : rc == EVENT_ENOTOBJECT ? PIPELINE_SKIP_NOT_OBJECT
                : rc == EVENT_EDUPKEY    ? PIPELINE_SKIP_DUPLICATE_KEY
                                         : PIPELINE_SKIP_NOT_JSON);
        return rc;
    }
    for (int i = 0; i < WARN_COUNT; i++)
        if (p->st.decode.n[WARN_FIRST + i] != before[i])
            warn |= 1u << (WARN_FIRST + i);
    if (warn != 0) {
        p->st.warnings++;
        if (p->cb->on_warning != NULL)
            p->cb->on_warning(p->ud, warn);
    }
    p->st.last_event_wall_ms = wall_ms;
    rc = det_engine_feed(p->eng, &p->ev, wall_ms);
    switch (rc) {
    case DET_FEED_DUPLICATE:
        p->st.duplicates++;
        break;
    case DET_FEED_UNTIMED:
        p->st.untimed++;
        skip(p, PIPELINE_SKIP_UNTIMED);
        break;
    default:
        p->st.events++;
        break;
    }
    return rc;
}

void pipeline_drop(pipeline *p, enum pipeline_drop what)
{
    if (what == PIPELINE_DROP_RECORD)
        p->st.records++;
    p->st.skipped++;
}

void pipeline_tick(pipeline *p, int64_t wall_ms)
{
    det_engine_tick(p->eng, wall_ms);
}

void pipeline_connection(pipeline *p, int connected, int64_t wall_ms)
{
    det_engine_connection(p->eng, connected, wall_ms);
}

void pipeline_input_end(pipeline *p)
{
    det_engine_input_end(p->eng);
}

void pipeline_drain(pipeline *p)
{
    det_engine_drain(p->eng);
}

int pipeline_adopt(pipeline *p, pipeline *old)
{
    struct pipeline_stats o;
    struct pipeline_stats *s = &p->st;
    int kept;

    if (old == NULL)
        return 0;
    kept = det_engine_adopt(p->eng, old->eng);
    /* after the adoption: the alerts it closed count in old's */
    pipeline_stats(old, &o);
    s->records += o.records;
    s->events += o.events;
    s->skipped += o.skipped;
    s->duplicates += o.duplicates;
    s->untimed += o.untimed;
    s->warnings += o.warnings;
    s->unformatted += o.unformatted;
    s->decode.decoded += o.decode.decoded;
    for (int i = 0; i < EVENT_R_COUNT; i++)
        s->decode.n[i] += o.decode.n[i];
    if (s->last_event_wall_ms == 0)
        s->last_event_wall_ms = o.last_event_wall_ms;
    p->base.late += o.late;
    p->base.clamped += o.clamped;
    p->base.clock_jumps += o.clock_jumps;
    return kept;
}

void pipeline_stats(const pipeline *p, struct pipeline_stats *out)
{
    const struct det_engine_stats *e = det_engine_stats(p->eng);

    *out = p->st;
    out->late = p->base.late + e->late;
    out->clamped = p->base.clamped + e->future_clamped + e->outliers;
    out->clock_jumps = p->base.clock_jumps + e->clock_jumps;
}

const det_engine *pipeline_engine(const pipeline *p)
{
    return p->eng;
}

det_engine *pipeline_engine_mut(pipeline *p)
{
    return p->eng;
}

pipeline *pipeline_create(const struct det_engine_params *det,
                          const struct rule_set *rules, const char *source,
                          unsigned flags, const struct pipeline_callbacks *cb,
                          void *ud)
{
    pipeline *p = NULL;
    int rc = -1;

    if (cb == NULL || cb->on_alert == NULL)
        goto out;
    if ((p = calloc(1, sizeof *p)) == NULL)
        goto out;
    p->cb = cb;
    p->ud = ud;
    p->flags = flags;
    redact_opts_default(&p->red);
    buf_init(&p->doc, ALERT_DOC_MAX);
    for (unsigned i = 0; rules != NULL && i < rules->meta.n &&
                         i < EVENT_META_MAX; i++) {
        p->meta.name[i] = rules->meta.name[i];
        p->meta.n = i + 1;
    }
    if ((p->eng = det_engine_create(det, rules, source, &engine_cb, p)) ==
        NULL)
        goto out;
    rc = 0;
out:
    if (rc != 0) {
        pipeline_destroy(p);
        p = NULL;
    }
    return p;
}

void pipeline_set_redact(pipeline *p, const struct redact_opts *o)
{
    if (o != NULL)
        p->red = *o;
    else
        redact_opts_default(&p->red);
    p->red.keep = NULL;
    p->red.nkeep = 0;
}

void pipeline_destroy(pipeline *p)
{
    if (p == NULL)
        return;
    det_engine_destroy(p->eng);
    sodium_memzero(&p->red, sizeof p->red);
    buf_free(&p->doc);
    free(p);
}
