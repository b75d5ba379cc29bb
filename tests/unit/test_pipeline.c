/*
 * test_pipeline.c - the one event path (app/pipeline.h): SSE events pushed
 * through the SSE parser into pipeline_feed(), as `run` does, with the
 * exact alerts, documents, reports (on_skip, on_warning) and counters that
 * come out; the golden recording gives replay's golden output; a reload
 * (pipeline_adopt) carries state and counters.
 *
 * Fixtures are read relative to the repository root (where `make test`
 * runs), or to $TW_FIXTURES.
 */
#include "alerts/document.h"
#include "app/pipeline.h"
#include "base/clock.h"
#include "consumer/decode.h"
#include "consumer/sse.h"
#include "detectors/engine.h"
#include "detectors/kind.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */
#define MAX_SEEN 64

/* What the sink saw. */
struct seen_alert {
    char rule[RULE_NAME_MAX + 1];
    char key[DET_KEY_MAX];
    char id[ALERT_ID_HEX + 1];
    int resolved;
    int64_t ts, started;
    int rc;
    char doc[4096];
    size_t doc_len;
};

struct sink {
    struct seen_alert a[MAX_SEEN];
    int n;
    enum pipeline_skip skip[MAX_SEEN];
    int n_skip;
    unsigned warn[MAX_SEEN];
    int n_warn;
    char *all;          /* every document, in order (golden test) */
    size_t all_len, all_cap;
};

static void on_alert(void *ud, const struct alert *a, const char *doc,
                     size_t doc_len, int rc)
{
    struct sink *s = ud;
    struct seen_alert *x;

    if (doc != NULL && doc_len > 0) {
        if (s->all_len + doc_len > s->all_cap) {
            s->all_cap = (s->all_len + doc_len) * 2;
            s->all = realloc(s->all, s->all_cap);
            assert_non_null(s->all);
        }
        memcpy(s->all + s->all_len, doc, doc_len);
        s->all_len += doc_len;
    }
    if (s->n >= MAX_SEEN)
        return;
    x = &s->a[s->n++];
    snprintf(x->rule, sizeof x->rule, "%s", a->rule);
    snprintf(x->key, sizeof x->key, "%s", a->key);
    snprintf(x->id, sizeof x->id, "%s", a->id);
    x->resolved = a->resolved;
    x->ts = a->timestamp_ms;
    x->started = a->started_ms;
    x->rc = rc;
    x->doc_len = doc_len;
    if (doc != NULL && doc_len < sizeof x->doc)
        memcpy(x->doc, doc, doc_len);
}

static void on_skip(void *ud, enum pipeline_skip why)
{
    struct sink *s = ud;

    if (s->n_skip < MAX_SEEN)
        s->skip[s->n_skip++] = why;
}

static void on_warning(void *ud, unsigned reasons)
{
    struct sink *s = ud;

    if (s->n_warn < MAX_SEEN)
        s->warn[s->n_warn++] = reasons;
}

static const struct pipeline_callbacks sink_cb = {
    .on_alert = on_alert,
    .on_skip = on_skip,
    .on_warning = on_warning,
};

/* only the alert callback: what `run` gives */
static const struct pipeline_callbacks alert_only_cb = {
    .on_alert = on_alert,
};

/* ---- SSE in, as the stream reader does it ---- */

struct feeder {
    pipeline *p;
    int64_t wall;     /* 0: event time */
    sse_parser sp;
    int last_rc;
    int results[MAX_SEEN];
    int n;
};

static int on_sse(void *ud, const sse_event *ev)
{
    struct feeder *f = ud;

    f->last_rc = pipeline_feed(f->p, ev->data, ev->data_len, ev->type,
                               ev->type_len, f->wall);
    if (f->n < MAX_SEEN)
        f->results[f->n++] = f->last_rc;
    return 0;
}

static const sse_settings sse_cb = {.on_event = on_sse};

static void feeder_init(struct feeder *f, pipeline *p, int64_t wall)
{
    memset(f, 0, sizeof *f);
    f->p = p;
    f->wall = wall;
    assert_int_equal(sse_parser_init(&f->sp, &sse_cb, f, 0), SSE_OK);
}

static void feeder_free(struct feeder *f)
{
    sse_parser_free(&f->sp);
}

static void feed_text(struct feeder *f, const char *text)
{
    assert_int_equal(sse_parser_execute(&f->sp, text, strlen(text)), SSE_OK);
}

/* One SSE event: a completed call of `tool` at T0 + ms. */
static void call_event(char *out, size_t size, const char *id, int64_t ms,
                       const char *tool)
{
    char ts[40];

    assert_int_equal(clock_format_iso8601(T0 + ms, ts, sizeof ts), 24);
    snprintf(out, size,
             "id: %s\nevent: tool_call_response\n"
             "data: {\"record_id\":\"%s\",\"timestamp\":\"%s\","
             "\"event_type\":\"tool_call_response\",\"agent_id\":\"a\","
             "\"tool_name\":\"%s\",\"response_status\":\"success\"}\n\n",
             id, id, ts, tool);
}

/* n calls of `tool`, step_ms apart from T0 + from_ms, ids <prefix>-<i>. */
static void feed_calls(struct feeder *f, const char *prefix, int n,
                       int64_t from_ms, int64_t step_ms, const char *tool)
{
    char ev[1024], id[64];

    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        call_event(ev, sizeof ev, id, from_ms + i * step_ms, tool);
        feed_text(f, ev);
    }
}

/* A rule set from JSON; fails the test when refused. */
static struct rule_set *compile(const char *json)
{
    struct rule_set *rs = NULL;
    cJSON *j = cJSON_Parse(json);
    char err[256];

    assert_non_null(j);
    if (rule_set_compile(&rs, j, "rules", err, sizeof err) != RULE_OK)
        fail_msg("%s", err);
    cJSON_Delete(j);
    return rs;
}

/* volume only: more than 5 calls in 10 s fires; repeat 30 s, hold 5 s
 * (compiled in the group's set-up: a pipeline borrows its rules) */
static struct rule_set *volume_rules;

static void volume_cfg(struct det_engine_params *c)
{
    det_engine_params_defaults(c);
    c->repeat_interval_s = 30;
    c->hold_s = 5;
}

static pipeline *volume_pipeline(struct sink *s, unsigned flags,
                                 const struct pipeline_callbacks *cb)
{
    struct det_engine_params c;
    pipeline *p;

    volume_cfg(&c);
    memset(s, 0, sizeof *s);
    p = pipeline_create(&c, volume_rules, "test", flags, cb, s);
    assert_non_null(p);
    return p;
}

static int setup(void **state)
{
    (void)state;
    volume_rules = compile(
        "[{\"name\":\"volume\",\"kind\":\"count\",\"severity\":"
        "\"warning\",\"match\":{\"completed\":true},\"group_by\":"
        "[\"tool_name\"],\"window_s\":10,\"threshold\":5}]");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rule_set_destroy(volume_rules);
    return 0;
}

static FILE *open_fixture(const char *name)
{
    const char *dir = getenv("TW_FIXTURES");
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures", name);
    f = fopen(path, "rb");
    assert_non_null(f);
    return f;
}

/* The counters pipeline_stats() gives must be these. */
static void assert_counts(const pipeline *p, uint64_t records,
                          uint64_t events, uint64_t skipped,
                          uint64_t duplicates, uint64_t untimed,
                          uint64_t warnings)
{
    struct pipeline_stats st;

    pipeline_stats(p, &st);
    assert_int_equal(st.records, records);
    assert_int_equal(st.events, events);
    assert_int_equal(st.skipped, skipped);
    assert_int_equal(st.duplicates, duplicates);
    assert_int_equal(st.untimed, untimed);
    assert_int_equal(st.warnings, warnings);
}

/* ---- tests ---- */

/* Live mode (a wall clock per record, as `run`): the sixth call fires,
 * stamped with the wall clock; a tick long after resolves the same
 * episode.  Documents are alert_format's, without a LF. */
static void test_alerts_live(void **state)
{
    static struct sink s;
    pipeline *p = volume_pipeline(&s, 0, &alert_only_cb);
    struct feeder f;
    struct pipeline_stats st;
    char id[ALERT_ID_HEX + 1];
    const char *key = "t";
    static const char firing[] = "{\"type\":\"alert.firing\",";
    static const char resolved[] = "{\"type\":\"alert.resolved\",";

    (void)state;
    feeder_init(&f, p, T0 + 1000);
    feed_calls(&f, "r", 6, 0, 100, "t");
    assert_int_equal(s.n, 1);
    alert_episode_id("volume", &key, 1, T0 + 500, id);
    assert_string_equal(s.a[0].rule, "volume");
    assert_string_equal(s.a[0].key, "t");
    assert_string_equal(s.a[0].id, id);
    assert_int_equal(s.a[0].resolved, 0);
    assert_int_equal(s.a[0].started, T0 + 500);
    assert_int_equal(s.a[0].ts, T0 + 1000); /* live: the wall clock */
    assert_int_equal(s.a[0].rc, ALERT_OK);
    assert_memory_equal(s.a[0].doc, firing, sizeof firing - 1);
    assert_int_not_equal(s.a[0].doc[s.a[0].doc_len - 1], '\n');
    assert_non_null(strstr(s.a[0].doc, "\"rule\":\"volume\""));
    assert_counts(p, 6, 6, 0, 0, 0, 0);
    pipeline_stats(p, &st);
    assert_int_equal(st.decode.decoded, 6);
    assert_int_equal(st.last_event_wall_ms, T0 + 1000);
    /* silence: the first calls leave the window at 10 s (clear), resolved
     * after the 5 s hold; live mode runs the clock 5 s (allowed lateness)
     * and 0.5 s (the stream's lag: the call of 0.5 s came at 1 s) behind
     * the wall */
    pipeline_tick(p, T0 + 20499);
    assert_int_equal(s.n, 1);
    pipeline_tick(p, T0 + 20500);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.a[1].resolved, 1);
    assert_string_equal(s.a[1].id, id);
    assert_int_equal(s.a[1].ts, T0 + 20500);
    assert_memory_equal(s.a[1].doc, resolved, sizeof resolved - 1);
    feeder_free(&f);
    pipeline_destroy(p);
}

/* Event time (wall 0, as `replay`), NDJSON: every document ends with a
 * LF; a duplicate record id is counted, not seen by the rules. */
static void test_event_time_ndjson(void **state)
{
    static struct sink s;
    pipeline *p = volume_pipeline(&s, PIPELINE_NDJSON, &sink_cb);
    struct feeder f;
    struct pipeline_stats st;
    char ev[1024];

    (void)state;
    feeder_init(&f, p, 0);
    feed_calls(&f, "r", 5, 0, 100, "t");
    call_event(ev, sizeof ev, "r-4", 450, "t"); /* a replayed record */
    feed_text(&f, ev);
    assert_int_equal(f.last_rc, DET_FEED_DUPLICATE);
    assert_int_equal(s.n, 0);
    feed_calls(&f, "s", 1, 500, 100, "t");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.a[0].ts, T0 + 500); /* event time */
    assert_int_equal(s.a[0].doc[s.a[0].doc_len - 1], '\n');
    assert_null(memchr(s.a[0].doc, '\n', s.a[0].doc_len - 1));
    assert_counts(p, 7, 6, 0, 1, 0, 0);
    pipeline_stats(p, &st);
    assert_int_equal(st.last_event_wall_ms, 0);
    assert_int_equal(s.n_skip + s.n_warn, 0);
    /* end of input: drain resolves it at its own event time */
    pipeline_drain(p);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.a[1].resolved, 1);
    assert_int_equal(s.a[1].ts, T0 + 15000);
    feeder_free(&f);
    pipeline_destroy(p);
}

/* Bad records: each is reported once, in order, and counted. */
static void test_bad_records(void **state)
{
    static struct sink s;
    pipeline *p = volume_pipeline(&s, 0, &sink_cb);
    struct feeder f;
    struct pipeline_stats st;
    char ev[1024];
    char *big;
    /* no timestamp and no event time yet: untimed */
    static const char untimed[] =
        "data: {\"record_id\":\"u\",\"event_type\":\"tool_call_response\"}\n"
        "\n";
    static const char text[] =
        "data: not json\n\n"
        "data: [1,2]\n\n"
        /* a known key twice: which one counts is not for us to guess */
        "data: {\"tool_name\":\"a\",\"tool_name\":\"b\"}\n\n"
        /* kept, with a bad timestamp: takes the event time */
        "data: {\"record_id\":\"w1\",\"timestamp\":\"yesterday\"}\n\n"
        /* kept, with a field of the wrong type and a negative size */
        "data: {\"record_id\":\"w2\",\"tool_name\":5,"
        "\"response_payload_size_bytes\":-3}\n\n";
    static const int want[] = {DET_FEED_UNTIMED, DET_FEED_COUNTED,
                               EVENT_ENOTJSON, EVENT_ENOTOBJECT,
                               EVENT_EDUPKEY, DET_FEED_COUNTED,
                               DET_FEED_COUNTED};

    (void)state;
    feeder_init(&f, p, 0);
    feed_text(&f, untimed);
    call_event(ev, sizeof ev, "first", 0, "t"); /* the clock starts */
    feed_text(&f, ev);
    feed_text(&f, text);
    assert_int_equal(f.n, 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(f.results[i], want[i]);
    /* a record the SSE parser would have cut: straight in */
    big = malloc(EVENT_MAX_DATA_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', EVENT_MAX_DATA_BYTES + 1);
    big[0] = '{';
    big[EVENT_MAX_DATA_BYTES] = '}';
    assert_int_equal(pipeline_feed(p, big, EVENT_MAX_DATA_BYTES + 1, NULL, 0,
                                   0),
                     EVENT_ETOOLARGE);
    free(big);

    assert_int_equal(s.n_skip, 5);
    assert_int_equal(s.skip[0], PIPELINE_SKIP_UNTIMED);
    assert_int_equal(s.skip[1], PIPELINE_SKIP_NOT_JSON);
    assert_int_equal(s.skip[2], PIPELINE_SKIP_NOT_OBJECT);
    assert_int_equal(s.skip[3], PIPELINE_SKIP_DUPLICATE_KEY);
    assert_int_equal(s.skip[4], PIPELINE_SKIP_TOO_LARGE);
    assert_int_equal(s.n_warn, 2);
    assert_int_equal(s.warn[0], 1u << EVENT_R_BAD_TIMESTAMP);
    assert_int_equal(s.warn[1],
                     (1u << EVENT_R_WRONG_TYPE) | (1u << EVENT_R_BAD_VALUE));
    assert_int_equal(s.n, 0);
    assert_counts(p, 8, 3, 5, 0, 1, 2);
    pipeline_stats(p, &st);
    assert_int_equal(st.decode.decoded, 4);
    for (int r = 0; r < EVENT_R_COUNT; r++)
        assert_int_equal(st.decode.n[r], r == EVENT_R_TRUNCATED ? 0 : 1);

    /* records their reader could not hand over: counted, not reported */
    pipeline_drop(p, PIPELINE_DROP_RECORD);
    pipeline_drop(p, PIPELINE_DROP_OVERSIZE);
    assert_counts(p, 9, 3, 7, 0, 1, 2);
    assert_int_equal(s.n_skip, 5);
    feeder_free(&f);
    pipeline_destroy(p);
}

/* The golden recording, read in odd-sized chunks and pushed through the
 * SSE parser into the pipeline as the stream reader does, gives replay's
 * golden output byte for byte. */
static void test_golden(void **state)
{
    static struct sink s;
    static char chunk[4093];
    struct det_engine_params c;
    struct pipeline_stats st;
    struct feeder f;
    FILE *in = open_fixture("golden.sse");
    size_t n, off = 0;
    pipeline *p;

    (void)state;
    det_engine_params_defaults(&c);
    memset(&s, 0, sizeof s);
    p = pipeline_create(&c, NULL, "toolwatch", PIPELINE_NDJSON, &sink_cb,
                        &s);
    assert_non_null(p);
    feeder_init(&f, p, 0);
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
        assert_int_equal(sse_parser_execute(&f.sp, chunk, n), SSE_OK);
    fclose(in);
    pipeline_drain(p);
    in = open_fixture("golden.ndjson");
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        assert_true(off + n <= s.all_len);
        assert_memory_equal(s.all + off, chunk, n);
        off += n;
    }
    fclose(in);
    assert_int_equal(off, s.all_len);
    assert_counts(p, 798, 796, 1, 1, 0, 0);
    pipeline_stats(p, &st);
    assert_int_equal(st.late, 0);
    assert_int_equal(s.n_skip, 1);
    assert_int_equal(s.skip[0], PIPELINE_SKIP_NOT_JSON);
    feeder_free(&f);
    pipeline_destroy(p);
    free(s.all);
}

/* A reload: the new pipeline carries the open episode on (no second
 * firing) and the counters (they never go back). */
static void test_adopt(void **state)
{
    static struct sink s;
    pipeline *old = volume_pipeline(&s, 0, &sink_cb), *p;
    struct feeder f;
    struct pipeline_stats st;
    struct det_engine_params c;

    (void)state;
    feeder_init(&f, old, 0);
    feed_calls(&f, "r", 6, 0, 100, "t");
    feed_text(&f, "data: nope\n\n");
    assert_int_equal(s.n, 1);
    volume_cfg(&c);
    p = pipeline_create(&c, volume_rules, "test", 0, &sink_cb, &s);
    assert_non_null(p);
    assert_int_equal(pipeline_adopt(p, old), 1);
    pipeline_destroy(old);
    assert_int_equal(s.n, 1);
    assert_true(det_engine_is_firing(pipeline_engine(p), "volume", "t"));
    assert_counts(p, 7, 6, 1, 0, 0, 0);
    pipeline_stats(p, &st);
    assert_int_equal(st.decode.decoded, 6);
    assert_int_equal(st.decode.n[EVENT_R_NOT_JSON], 1);
    /* the recent record ids came along: a replayed one is a duplicate */
    f.p = p;
    feed_calls(&f, "r", 1, 0, 100, "t");
    assert_int_equal(f.last_rc, DET_FEED_DUPLICATE);
    assert_counts(p, 8, 6, 1, 1, 0, 0);
    feeder_free(&f);
    pipeline_destroy(p);
}

/* The stream's connection reaches stream_stalled: disconnected and
 * silent for more than 120 s, it fires at the caller's clock with no
 * record fed. */
static void test_connection(void **state)
{
    static struct sink s;
    struct det_engine_params c;
    pipeline *p;

    (void)state;
    det_engine_params_defaults(&c);
    memset(&s, 0, sizeof s);
    p = pipeline_create(&c, NULL, "test", 0, &alert_only_cb, &s);
    assert_non_null(p);
    pipeline_connection(p, 0, T0);
    pipeline_tick(p, T0 + 120000);
    assert_int_equal(s.n, 0);
    pipeline_tick(p, T0 + 120001);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].rule, "stream_stalled");
    assert_non_null(strstr(s.a[0].doc, "is disconnected"));
    assert_counts(p, 0, 0, 0, 0, 0, 0);
    pipeline_destroy(p);
}

/* The metadata members rules name are decoded: a rule grouping by
 * metadata.region sees the region of each record. */
static void test_metadata(void **state)
{
    static struct sink s;
    struct det_engine_params c;
    struct rule_set *rs = compile(
        "[{\"name\":\"regions\",\"kind\":\"count\",\"severity\":"
        "\"info\",\"match\":{\"metadata.env\":\"prod\"},"
        "\"group_by\":[\"metadata.region\"],\"window_s\":60,"
        "\"threshold\":1}]");
    struct feeder f;
    pipeline *p;

    (void)state;
    det_engine_params_defaults(&c);
    memset(&s, 0, sizeof s);
    p = pipeline_create(&c, rs, "test", 0, &alert_only_cb, &s);
    assert_non_null(p);
    feeder_init(&f, p, 0);
    feed_text(&f, "data: {\"record_id\":\"m1\",\"timestamp\":"
                  "\"2026-03-10T02:00:00Z\",\"metadata\":{\"env\":"
                  "\"prod\",\"region\":\"eu-west-1\",\"n\":3}}\n\n");
    /* a region that is not a string is not a value: (none) */
    feed_text(&f, "data: {\"record_id\":\"m2\",\"timestamp\":"
                  "\"2026-03-10T02:00:01Z\",\"metadata\":{\"region\":7,"
                  "\"env\":\"prod\"}}\n\n");
    feed_text(&f, "data: {\"record_id\":\"m3\",\"timestamp\":"
                  "\"2026-03-10T02:00:02Z\",\"metadata\":{\"region\":"
                  "\"eu-west-1\",\"env\":\"dev\"}}\n\n");
    assert_int_equal(s.n, 0);
    feed_text(&f, "data: {\"record_id\":\"m4\",\"timestamp\":"
                  "\"2026-03-10T02:00:03Z\",\"metadata\":{\"env\":"
                  "\"prod\",\"region\":\"eu-west-1\"}}\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].key, "eu-west-1");
    assert_non_null(
        strstr(s.a[0].doc, "\"group\":{\"metadata.region\":\"eu-west-1\"}"));
    feeder_free(&f);
    pipeline_destroy(p);
    rule_set_destroy(rs);
}

static void test_create_refuses(void **state)
{
    static struct sink s;
    static const struct pipeline_callbacks none = {0};
    struct det_engine_params c;

    (void)state;
    det_engine_params_defaults(&c);
    assert_null(pipeline_create(&c, NULL, "test", 0, NULL, &s));
    assert_null(pipeline_create(&c, NULL, "test", 0, &none, &s));
    assert_null(pipeline_create(NULL, NULL, "test", 0, &sink_cb, &s));
    pipeline_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alerts_live),
        cmocka_unit_test(test_event_time_ndjson),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_adopt),
        cmocka_unit_test(test_connection),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_create_refuses),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
