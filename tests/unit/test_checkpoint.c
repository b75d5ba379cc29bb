/*
 * test_checkpoint.c - the detection checkpoint (detectors/checkpoint.h,
 * engine.h det_engine_checkpoint / det_engine_restore): an engine
 * checkpointed part way through a stream and restored into a new engine
 * makes exactly the notifications (ids, times, values, words) of an engine
 * that never stopped; open episodes keep their ids and fire no second
 * time; learned state (sequence chains, baseline histories, absence
 * times, recent record ids) is still in force; rules whose settings
 * changed start fresh while the others keep their state; and hostile
 * bytes -- truncated at every length, a byte flipped anywhere, another
 * version or instance, well-framed lies about groups and episodes -- are
 * refused or reset, never trusted, never a crash.
 *
 * Kinds whose save op is NULL (their state is another branch's work)
 * keep only their open episodes: the equivalence test takes the kinds
 * that have one, so it covers every kind once they all do.
 */
#include "det_helpers.h"

#include "detectors/checkpoint.h"

#include <math.h>
#include <sodium.h>

static void small(struct det_engine_params *p)
{
    p->hold_s = 0;
    p->dedupe_window = 64;
    p->max_keys = 64;
}

/* One rule per kind, keyed by enum rule_kind_id. */
static const char *const kind_rule[RULE_KINDS] = {
    [RULE_K_COUNT] = "{'name':'c','kind':'count','severity':'info',"
                     "'group_by':['tool_name'],'window_s':3,'threshold':5}",
    [RULE_K_SUM] = "{'name':'s','kind':'sum','severity':'info',"
                   "'field':'execution_duration_ms','group_by':['agent_id'],"
                   "'window_s':3,'threshold':3000}",
    [RULE_K_RATIO] = "{'name':'r','kind':'ratio','severity':'info',"
                     "'numerator':{'error':true},'window_s':3,"
                     "'threshold':0.1}",
    [RULE_K_DISTINCT] = "{'name':'d','kind':'distinct','severity':'info',"
                        "'field':'tool_name','window_s':3,'threshold':4}",
    [RULE_K_MAX] = "{'name':'m','kind':'max','severity':'info',"
                   "'field':'execution_duration_ms','group_by':['tool_name'],"
                   "'threshold':1000,'window_s':2}",
    [RULE_K_SEQUENCE] = "{'name':'q','kind':'sequence','severity':'info',"
                        "'group_by':['agent_id'],'steps':[{'tool_name':'a1'},"
                        "{'tool_name':'x'},{'tool_name':'b2'}],'within_s':4,"
                        "'window_s':2}",
    [RULE_K_NEW_VALUE] = "{'name':'n','kind':'new_value','severity':'info',"
                         "'field':'tool_name','group_by':['agent_id'],"
                         "'learn_s':2,'window_s':2}",
    [RULE_K_BASELINE] = "{'name':'b','kind':'baseline','severity':'info',"
                        "'group_by':['tool_name'],'bucket_s':1,'history':3,"
                        "'deviation':2}",
    [RULE_K_ABSENCE] = "{'name':'a','kind':'absence','severity':'info',"
                       "'group_by':['agent_id'],'threshold':2},"
                       "{'name':'g','kind':'absence','severity':'info',"
                       "'threshold':3}",
};

/* The rules of every kind (with_saveless) or of the kinds with a save op,
 * as one JSON list. */
static void kinds_json(char *out, size_t size, int with_saveless)
{
    size_t n = (size_t)snprintf(out, size, "[");

    for (int k = 0; k < RULE_KINDS; k++) {
        if (!with_saveless && det_kinds[k]->save == NULL)
            continue;
        n += (size_t)snprintf(out + n, size - n, "%s%s", n > 1 ? "," : "",
                              kind_rule[k]);
    }
    snprintf(out + n, size - n, "]");
}

/* ---- a stream ---- */

#define NEV 6000
static struct event evs[NEV];

static uint32_t rng;

static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* Calls of six tools by five agents, mostly in order, some late, with a
 * gap now and then (absences), slow calls (max), the steps of sequences
 * and bursts (baseline). */
static void make_stream(void)
{
    static const char *const tools[] = {"a1", "x", "b2", "c3", "dd", "e5"};
    int64_t t = 0;

    rng = 12345;
    for (int i = 0; i < NEV; i++) {
        char agent[8];
        const char *tool = tools[rnd() % 6];

        t += rnd() % 40;
        if (rnd() % 400 == 0)
            t += 3500 + rnd() % 2000; /* a gap */
        if (i % 1000 >= 900)
            tool = "c3"; /* a burst of one tool */
        if (i % 1000 == 500) {
            /* a tool never used before (new_value) */
            static char fresh[NEV / 1000 + 1][8];
            snprintf(fresh[i / 1000], sizeof fresh[0], "new%d", i / 1000);
            tool = fresh[i / 1000];
        }
        snprintf(agent, sizeof agent, "g%u", rnd() % 5);
        evs[i] = rnd() % 11 ? ev_call(t - (rnd() % 8 == 0 ? rnd() % 300 : 0),
                                      tool, agent)
                            : ev_error(t, tool, agent);
        evs[i].has |= EVENT_HAS_DURATION;
        evs[i].duration_ms = rnd() % 60 == 0 ? 1500 + rnd() % 100 : 200;
    }
}

/* ---- checkpoint and restore ---- */

/* e's checkpoint at position `pos` into a new buffer (free it). */
static buf take(det_engine *e, const char *pos)
{
    buf b;

    buf_init(&b, 64u << 20);
    assert_int_equal(det_engine_checkpoint(e, pos, strlen(pos), 42, &b),
                     CKPT_OK);
    return b;
}

/* A new engine over `json` restored from b; its alerts go to *c. */
static det_engine *restored(struct cap *c, const char *json, const buf *b,
                            struct det_restore_info *info)
{
    det_engine *e = eng_more(c, json, small);

    assert_int_equal(det_engine_restore(e, b->data, b->len, info), CKPT_OK);
    return e;
}

/* e checkpointed at `pos` and restored into a new engine over json (its
 * alerts to *c, reset). */
static det_engine *restart(struct cap *c, const char *json, det_engine *e,
                           const char *pos, struct det_restore_info *info)
{
    buf img = take(e, pos);
    det_engine *f;

    memset(c, 0, sizeof *c);
    f = restored(c, json, &img, info);
    buf_free(&img);
    return f;
}

static void expect_same_alert(const struct cap_alert *x,
                              const struct cap_alert *y, int i)
{
    if (x->resolved != y->resolved || strcmp(x->rule, y->rule) != 0 ||
        strcmp(x->key, y->key) != 0 || strcmp(x->id, y->id) != 0 ||
        x->ts != y->ts || x->started != y->started ||
        x->resolved_at != y->resolved_at ||
        strcmp(x->summary, y->summary) != 0 ||
        !(x->value == y->value || (isnan(x->value) && isnan(y->value))))
        fail_msg("alert %d differs: %s %s %s %s ts %lld / %s %s %s %s ts "
                 "%lld (%s / %s)",
                 i, x->resolved ? "resolved" : "firing", x->rule, x->key,
                 x->id, (long long)x->ts, y->resolved ? "resolved" : "firing",
                 y->rule, y->key, y->id, (long long)y->ts, x->summary,
                 y->summary);
}

/* A checkpoint after `split` events, restored: the alerts of both parts
 * are those of an engine that never stopped. */
static void check_split(const char *json, const struct cap *all, int split)
{
    static struct cap before, after;
    struct det_restore_info info;
    det_engine *b = eng_json(&before, json, small), *c;
    buf img;

    for (int i = 0; i < split; i++)
        det_engine_feed(b, &evs[i], 0);
    img = take(b, "p");
    c = restored(&after, json, &img, &info);
    memset(&after, 0, sizeof after);
    assert_int_equal(det_engine_now(c), det_engine_now(b));
    assert_int_equal(det_engine_seq(c), det_engine_seq(b));
    assert_int_equal(info.rules_kept, det_engine_nrules(b));
    assert_int_equal(info.rules_dropped, 0);
    assert_int_equal(info.groups_reset, 0);
    for (int i = split; i < NEV; i++)
        det_engine_feed(c, &evs[i], 0);
    det_engine_drain(c);
    if (before.n + after.n != all->n)
        fail_msg("split at %d: %d + %d alerts, %d without a restart", split,
                 before.n, after.n, all->n);
    for (int i = 0; i < before.n; i++)
        expect_same_alert(&before.a[i], &all->a[i], i);
    for (int i = 0; i < after.n; i++)
        expect_same_alert(&after.a[i], &all->a[before.n + i], before.n + i);
    buf_free(&img);
    eng_free(b);
    eng_free(c);
}

/* Every kind with a save op, split at many points of a stream in which
 * every rule fires and resolves several times. */
static void test_same_as_no_restart(void **state)
{
    static struct cap all;
    static char json[4096];
    det_engine *a;
    int fired[RULE_KINDS + 2] = {0};

    (void)state;
    make_stream();
    kinds_json(json, sizeof json, 0);
    a = eng_json(&all, json, small);
    for (int i = 0; i < NEV; i++)
        det_engine_feed(a, &evs[i], 0);
    det_engine_drain(a);
    /* the stream makes each rule fire */
    for (int i = 0; i < all.n; i++)
        for (uint32_t k = 0; k < det_engine_nrules(a); k++) {
            struct det_rule_info ri;
            det_engine_rule_info(a, k, &ri);
            fired[k] += !all.a[i].resolved && strcmp(ri.name, all.a[i].rule) == 0;
        }
    for (uint32_t k = 0; k < det_engine_nrules(a); k++) {
        struct det_rule_info ri;
        det_engine_rule_info(a, k, &ri);
        if (fired[k] < 2)
            fail_msg("rule %s fired %d times", ri.name, fired[k]);
    }
    for (int split = 0; split <= NEV; split += 97)
        check_split(json, &all, split);
    check_split(json, &all, NEV);
    eng_free(a);
}

/* ---- each kind's learned state ---- */

#define SEQ2                                                               \
    "[{'name':'exfil','kind':'sequence','severity':'critical',"            \
    "'group_by':['session_id'],'steps':[{'tool_name':'vault_*'},"          \
    "{'tool_name':'http_post'}],'within_s':60,'window_s':100}]"

/* Step 1 before the restart, step 2 after: the chain survived. */
static void test_sequence_chain(void **state)
{
    static struct cap c1, c2;
    struct det_restore_info info;
    det_engine *e = eng_json(&c1, SEQ2, small), *f;
    struct event ev = ev_call(0, "vault_read_secret", "a");

    (void)state;
    feed(e, ev);
    f = restart(&c2, SEQ2, e, "1", &info);
    assert_int_equal(info.groups, 1);
    assert_int_equal(info.episodes, 0);
    ev = ev_call(41000, "http_post", "a");
    feed(f, ev);
    assert_int_equal(c2.n, 1);
    assert_true(c2.a[0].value == 41);
    assert_string_equal(c2.a[0].summary,
                        "session s-a called vault_read_secret and then "
                        "http_post 41 s later");
    eng_free(e);
    eng_free(f);
}

#define BASE2                                                              \
    "[{'name':'spike','kind':'baseline','severity':'warning',"             \
    "'group_by':['tool_name'],'bucket_s':60,'history':3}]"

/* A history learned before the restart judges the bucket after it. */
static void test_baseline_history(void **state)
{
    static struct cap c1, c2;
    struct det_restore_info info;
    det_engine *e = eng_json(&c1, BASE2, small), *f;

    (void)state;
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < 10; i++)
            feed(e, ev_call(b * 60000 + i * 10, "pg", "a"));
    f = restart(&c2, BASE2, e, "30", &info);
    /* bucket 3 judged on 10, 10, 10: band 16; the 17th call fires */
    for (int i = 0; i < 17; i++)
        feed(f, ev_call(3 * 60000 + i * 10, "pg", "a"));
    assert_int_equal(c1.n, 0);
    assert_int_equal(c2.n, 1);
    assert_true(c2.a[0].value == 17);
    assert_true(c2.a[0].threshold == 16);
    assert_int_equal(c2.a[0].started, T0 + 3 * 60000 + 160);
    eng_free(e);
    eng_free(f);
}

#define MAX2                                                               \
    "[{'name':'slow','kind':'max','severity':'warning',"                   \
    "'field':'execution_duration_ms','group_by':['tool_name'],"            \
    "'threshold':1000,'window_s':10}]"

/* An episode open at the checkpoint: the same id, no second firing, one
 * resolve when it clears. */
static void test_episode_goes_on(void **state)
{
    static struct cap c1, c2;
    struct det_restore_info info;
    det_engine *e = eng_json(&c1, MAX2, small), *f;
    struct event ev = ev_call(1000, "t", "a");

    (void)state;
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 5000;
    feed(e, ev);
    assert_int_equal(c1.n, 1);
    f = restart(&c2, MAX2, e, "1", &info);
    assert_int_equal(info.episodes, 1);
    assert_true(det_engine_is_firing(f, "slow", "t"));
    ev = ev_call(5000, "t", "a"); /* again: the same episode */
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 7000;
    feed(f, ev);
    assert_int_equal(c2.n, 0);
    feed(f, ev_call(14999, "x", "a"));
    assert_int_equal(c2.n, 0);
    feed(f, ev_call(15000, "x", "a"));
    assert_int_equal(c2.n, 1);
    assert_int_equal(c2.a[0].resolved, 1);
    assert_string_equal(c2.a[0].id, c1.a[0].id);
    assert_int_equal(c2.a[0].started, T0 + 1000);
    assert_int_equal(c2.a[0].resolved_at, T0 + 15000);
    assert_true(c2.a[0].value == 7000);
    assert_string_equal(c2.a[0].record_id, c1.a[0].record_id);
    assert_int_equal(det_engine_seq(f), 2);
    eng_free(e);
    eng_free(f);
}

#define ABS2                                                               \
    "[{'name':'quiet','kind':'absence','severity':'warning',"              \
    "'group_by':['agent_id'],'threshold':60},"                             \
    "{'name':'stalled','kind':'absence','severity':'critical',"            \
    "'threshold':120}]"

/* An agent last seen before the restart goes quiet after it: it fires at
 * the time it would have (its deadline, and allowed_lateness_s after it),
 * with its values and last event. */
static void test_absence_times(void **state)
{
    static struct cap c1, c2;
    struct det_restore_info info;
    det_engine *e = eng_json(&c1, ABS2, small), *f;
    struct event a = ev_call(0, "t", "a");

    (void)state;
    feed(e, a);
    feed(e, ev_call(30000, "t", "b"));
    f = restart(&c2, ABS2, e, "2", &info);
    assert_int_equal(info.groups, 3); /* a, b and the [] group */
    feed(f, ev_call(65000, "t", "b"));
    assert_int_equal(c2.n, 0); /* waits allowed_lateness_s (5 s) */
    feed(f, ev_call(65001, "t", "b"));
    assert_int_equal(c2.n, 1);
    assert_string_equal(c2.a[0].key, "a");
    assert_int_equal(c2.a[0].started, T0 + 60001);
    assert_string_equal(c2.a[0].record_id, a.record_id); /* its last event */
    eng_free(e);
    eng_free(f);
}

/* An absence group keeps its values and last event in its own state when
 * they fit (160 bytes a group), else in its alert record: both fire with
 * their values and their last event as the sample, and both come back
 * from a checkpoint taken while they are idle. */
static void test_absence_keeps_what_it_shows(void **state)
{
    static struct cap c1, c2;
    static const char json[] =
        "[{'name':'quiet','kind':'absence','severity':'warning',"
        "'group_by':['agent_id'],'threshold':60}]";
    char longname[EVENT_ID_MAX];
    struct event a, b;
    struct det_restore_info info;
    det_engine *e = eng_json(&c1, json, small), *f;
    buf img;

    (void)state;
    memset(longname, 'z', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0'; /* 127 bytes: no room inline */
    a = ev_call(0, "t", "short");
    b = ev_call(0, "t", longname);
    feed(e, a);
    feed(e, b);
    a = ev_call(1000, "u", "short");
    b = ev_call(1000, "u", longname);
    feed(e, a);
    feed(e, b);
    img = take(e, "7");
    f = restored(&c2, json, &img, &info);
    assert_int_equal(info.groups, 2);
    for (int k = 0; k < 2; k++) {
        det_engine *g = k == 0 ? e : f;
        struct cap *c = k == 0 ? &c1 : &c2;

        feed(g, ev_call(70000, "v", "other"));
        assert_int_equal(c->n, 2);
        for (int i = 0; i < 2; i++) {
            const struct cap_alert *x = &c->a[i];
            const struct event *last = strcmp(x->key, "short") == 0 ? &a : &b;

            assert_string_equal(x->key, last->agent_id);
            assert_string_equal(x->gvalue[0], last->agent_id);
            assert_string_equal(x->record_id, last->record_id);
            assert_int_equal(x->started, T0 + 61001);
        }
        assert_string_not_equal(c->a[0].key, c->a[1].key);
        /* the same episodes on both sides of the checkpoint */
        if (k == 1) {
            assert_string_equal(c2.a[0].id, c1.a[0].id);
            assert_string_equal(c2.a[1].id, c1.a[1].id);
        }
    }
    buf_free(&img);
    eng_free(e);
    eng_free(f);
}

/* Record ids seen before the checkpoint are duplicates after it. */
static void test_dedupe_kept(void **state)
{
    static struct cap c1, c2;
    struct det_restore_info info;
    det_engine *e = eng_json(&c1, MAX2, small), *f;
    struct event a = ev_call(0, "t", "a"), b = ev_call(10, "t", "a");

    (void)state;
    feed(e, a);
    feed(e, b);
    f = restart(&c2, MAX2, e, "2", &info);
    assert_int_equal(info.dedupe_ids, 2);
    assert_int_equal(feed(f, a), DET_FEED_DUPLICATE);
    assert_int_equal(feed(f, b), DET_FEED_DUPLICATE);
    assert_int_equal(feed(f, ev_call(20, "t", "a")), DET_FEED_COUNTED);
    eng_free(e);
    eng_free(f);
}

/* A rule whose settings changed starts fresh; the others keep theirs. */
static void test_rules_changed(void **state)
{
    static struct cap c1, c2;
    static const char before[] =
        "[{'name':'slow','kind':'max','severity':'warning',"
        "'field':'execution_duration_ms','group_by':['tool_name'],"
        "'threshold':1000,'window_s':10},"
        "{'name':'exfil','kind':'sequence','severity':'critical',"
        "'group_by':['session_id'],'steps':[{'tool_name':'vault_*'},"
        "{'tool_name':'http_post'}],'within_s':60,'window_s':100}]";
    static const char after[] =
        "[{'name':'new','kind':'absence','severity':'info',"
        "'threshold':5},"
        "{'name':'exfil','kind':'sequence','severity':'critical',"
        "'group_by':['session_id'],'steps':[{'tool_name':'vault_*'},"
        "{'tool_name':'http_post'}],'within_s':30,'window_s':100},"
        "{'name':'slow','kind':'max','severity':'warning',"
        "'field':'execution_duration_ms','group_by':['tool_name'],"
        "'threshold':1000,'window_s':10}]";
    struct det_restore_info info;
    det_engine *e = eng_json(&c1, before, small), *f;
    struct event ev = ev_call(0, "vault_read", "a");

    (void)state;
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 2000;
    feed(e, ev);
    assert_int_equal(c1.n, 1); /* slow fires; exfil has a chain */
    f = restart(&c2, after, e, "1", &info);
    assert_int_equal(info.rules_kept, 1);
    assert_int_equal(info.rules_dropped, 1);
    assert_int_equal(info.rules_new, 2);
    assert_int_equal(info.episodes, 1);
    assert_true(det_engine_is_firing(f, "slow", "vault_read"));
    /* exfil (within_s changed) lost its chain: step 2 alone does nothing */
    feed(f, ev_call(1000, "http_post", "a"));
    assert_int_equal(c2.n, 0);
    eng_free(e);
    eng_free(f);
}

/* ---- what a checkpoint says, and what it refuses ---- */

static void test_peek_and_empty(void **state)
{
    static struct cap c1, c2;
    struct det_restore_info info;
    struct ckpt_info ck;
    det_engine *e = eng_json(&c1, ABS2, small), *f;
    buf img = take(e, "");

    (void)state;
    assert_int_equal(ckpt_peek(img.data, img.len, &ck), CKPT_OK);
    assert_int_equal(ck.version, CKPT_VERSION);
    assert_string_equal(ck.instance, "test");
    assert_int_equal(ck.position_len, 0);
    assert_true(ck.now_ms == INT64_MIN);
    assert_int_equal(ck.written_ms, 42);
    f = restored(&c2, ABS2, &img, &info);
    assert_true(det_engine_now(f) == INT64_MIN);
    /* the clock starts with the first event, as in a new engine */
    feed(f, ev_call(0, "t", "a"));
    feed(f, ev_call(121000, "t", "a"));
    /* a quiet for 60 s and the stream for 120 s: each fires, then
     * resolves at the event */
    assert_int_equal(c2.n, 4);
    buf_free(&img);
    eng_free(e);
    eng_free(f);
    buf_init(&img, 1u << 20);
    e = eng_json(&c1, MAX2, small);
    feed(e, ev_call(0, "t", "a"));
    assert_int_equal(det_engine_checkpoint(e, "12345", 5, 0, &img), CKPT_OK);
    assert_int_equal(ckpt_peek(img.data, img.len, &ck), CKPT_OK);
    assert_string_equal(ck.position, "12345");
    assert_int_equal(ck.now_ms, T0);
    buf_free(&img);
    eng_free(e);
}

/* The cap of the output buffer is the cap of the checkpoint. */
static void test_cap(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, BASE2, small);
    buf img;

    (void)state;
    for (int i = 0; i < 60; i++) {
        char tool[16];
        snprintf(tool, sizeof tool, "t%d", i);
        feed(e, ev_call(i, tool, "a"));
    }
    buf_init(&img, 4096);
    assert_int_equal(det_engine_checkpoint(e, "p", 1, 0, &img),
                     CKPT_ETOOBIG);
    assert_true(img.len <= 4096);
    buf_free(&img);
    eng_free(e);
}

/* A checkpoint of an engine with every kind and open episodes. */
static buf busy_image(const char *json)
{
    static struct cap c;
    det_engine *e = eng_json(&c, json, small);
    buf img;

    make_stream();
    for (int i = 0; i < 1500; i++)
        det_engine_feed(e, &evs[i], 0);
    img = take(e, "1500");
    eng_free(e);
    return img;
}

/* Restore p[0..n) into a new engine over json; its return code. */
static int try_restore(const char *json, const void *p, size_t n,
                       struct det_restore_info *info)
{
    static struct cap c;
    det_engine *e = eng_json(&c, json, small);
    int rc = det_engine_restore(e, p, n, info);

    eng_free(e);
    return rc;
}

/* Cut short anywhere, a byte flipped anywhere: refused. */
static void test_truncated_and_flipped(void **state)
{
    static char json[4096];
    struct det_restore_info info;
    buf img;
    char *copy;

    (void)state;
    kinds_json(json, sizeof json, 1);
    img = busy_image(json);
    assert_int_equal(try_restore(json, img.data, img.len, &info), CKPT_OK);
    assert_true(info.episodes > 0);
    for (size_t n = 0; n < img.len; n += n < 200 ? 1 : 1 + n / 50)
        assert_int_equal(try_restore(json, img.data, n, &info), CKPT_EINVAL);
    copy = malloc(img.len);
    assert_non_null(copy);
    for (size_t i = 0; i < img.len; i += i < 64 ? 1 : 1 + i / 40) {
        int rc;
        memcpy(copy, img.data, img.len);
        copy[i] ^= 0x20;
        rc = try_restore(json, copy, img.len, &info);
        if (rc != CKPT_EINVAL && rc != CKPT_EVERSION)
            fail_msg("byte %zu flipped: %s", i, ckpt_strerror(rc));
    }
    free(copy);
    buf_free(&img);
}

/* Bytes 16..47: the digest of bytes 0..15 and the payload, made again
 * (what someone who writes the file can do). */
static void reseal(unsigned char *p, size_t n)
{
    crypto_generichash_state h;

    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, p, 16);
    crypto_generichash_update(&h, p + CKPT_HEADER_SIZE, n - CKPT_HEADER_SIZE);
    crypto_generichash_final(&h, p + 16, 32);
}

/* A rule full of alerts: its overflow group (its state and open episode)
 * and its capacity warning survive a restart; what follows is what would
 * have followed without one. */
#define CAP2                                                               \
    "[{'name':'volume','kind':'count','severity':'warning',"               \
    "'group_by':['tool_name'],'window_s':60,'threshold':100,'max_keys':2}]"

static void overflow_first(det_engine *e)
{
    feed_calls(e, 101, 0, 1, "a", "x");
    feed_calls(e, 101, 0, 1, "b", "x");
    feed_calls(e, 101, 0, 1, "c", "x");
}

static void overflow_rest(det_engine *e)
{
    feed_calls(e, 50, 200, 1, "c", "x");
    feed(e, ev_call(1000000, "d", "x"));
}

static void test_overflow_kept(void **state)
{
    static struct cap c1, c2;
    struct det_restore_info info;
    struct det_rule_info ri;
    det_engine *a, *b, *f;
    int n0;

    (void)state;
    a = eng_json(&c1, CAP2, small);
    overflow_first(a);
    n0 = c1.n;
    assert_int_equal(n0, 4); /* a, b, the warning, the overflow group */
    overflow_rest(a);
    assert_int_equal(c1.n, 8);
    b = eng_json(&c2, CAP2, small);
    overflow_first(b);
    f = restart(&c2, CAP2, b, "1", &info);
    assert_int_equal(info.groups, 3);
    assert_int_equal(info.episodes, 3);
    assert_true(det_engine_is_firing(f, "volume", "(overflow)"));
    det_engine_rule_info(f, 0, &ri);
    assert_int_equal(ri.at_capacity, 1);
    assert_int_equal(ri.overflow, 101);
    assert_int_equal(ri.groups, 3);
    overflow_rest(f);
    assert_int_equal(c2.n, c1.n - n0);
    for (int i = 0; i < c2.n; i++)
        expect_same_alert(&c1.a[n0 + i], &c2.a[i], i);
    eng_free(a);
    eng_free(b);
    eng_free(f);
}

static void test_version_and_instance(void **state)
{
    static struct cap c;
    struct det_restore_info info;
    struct ckpt_info ck;
    det_engine *e;
    buf img = busy_image(MAX2);
    unsigned char *p = (unsigned char *)img.data;

    (void)state;
    p[4] = 3; /* a future version */
    assert_int_equal(ckpt_peek(p, img.len, &ck), CKPT_EVERSION);
    assert_int_equal(ck.version, 3);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EVERSION);
    p[4] = 1; /* before the overflow group: another layout */
    assert_int_equal(ckpt_peek(p, img.len, &ck), CKPT_EVERSION);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EVERSION);
    p[4] = 0;
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EVERSION);
    p[4] = 2;
    p[0] = 'X';
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EINVAL);
    p[0] = 'T';
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_OK);
    /* another instance's */
    {
        struct det_engine_params prm;
        struct rule_set *rs = rules_compile(MAX2);
        det_engine_params_defaults(&prm);
        e = det_engine_create(&prm, rs, "other", &cap_cb, &c);
        assert_non_null(e);
        assert_int_equal(det_engine_restore(e, p, img.len, &info),
                         CKPT_EINSTANCE);
        det_engine_destroy(e);
        rule_set_destroy(rs);
    }
    /* into an engine that was used */
    e = eng_json(&c, MAX2, small);
    feed(e, ev_call(0, "t", "a"));
    assert_int_equal(det_engine_restore(e, p, img.len, &info), CKPT_EBUSY);
    eng_free(e);
    /* extra bytes after it */
    assert_int_equal(try_restore(MAX2, p, img.len - 1, &info), CKPT_EINVAL);
    buf_free(&img);
}

/* The offset in img of the first group's flags byte of the last rule
 * (MAX2: one rule, one group), found by its fingerprint. */
static size_t first_group(const buf *img)
{
    /* the payload ends with the rule: name, fingerprint, kind u8, body
     * length u64, groups u32, then the group: h0, h1, flags, state */
    static const char name[] = "\x04slow";
    size_t at = CKPT_HEADER_SIZE;

    while (memcmp(img->data + at, name, 5) != 0)
        assert_true(++at + 5 < img->len);
    return at + 5 + CKPT_FP_BYTES + 1 + 8 + 4 + 16;
}

/* Well-framed lies: each refused (or, for the kind's own state, the
 * group reset and counted). */
static void test_lies_refused(void **state)
{
    static struct cap c;
    struct det_restore_info info;
    det_engine *e = eng_json(&c, MAX2, small);
    struct event ev = ev_call(1000, "t", "a");
    unsigned char *p;
    size_t g, idoff;
    buf img;

    (void)state;
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 5000;
    feed(e, ev);
    img = take(e, "1");
    p = (unsigned char *)img.data;
    g = first_group(&img);
    assert_int_equal(p[g], CKPT_G_PINNED | CKPT_G_ALERT);
    assert_int_equal(p[g + 1], 1); /* FIRING */
    /* unknown flags; an open episode not pinned; a state past CLEARING */
    p[g] |= 0x80;
    reseal(p, img.len);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EINVAL);
    p[g] = CKPT_G_ALERT;
    reseal(p, img.len);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EINVAL);
    p[g] = CKPT_G_PINNED | CKPT_G_ALERT;
    p[g + 1] = 3;
    reseal(p, img.len);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EINVAL);
    p[g + 1] = 1;
    /* another key hash than its values' */
    p[g - 16] ^= 1;
    reseal(p, img.len);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EINVAL);
    p[g - 16] ^= 1;
    /* an episode id that is not its rule's, values' and start's */
    idoff = g + 2 + 6 * 8 + 1;
    p[idoff] = p[idoff] == 'a' ? 'b' : 'a';
    reseal(p, img.len);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_EINVAL);
    p[idoff] = (unsigned char)c.a[0].id[0];
    reseal(p, img.len);
    assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_OK);
    /* the kind's own state: a violation under the threshold is not one
     * the kind keeps: the group is reset, counted, and kept */
    {
        /* the value, the kind's last field, before the rule's capacity
         * fields (u8, i64, u64) */
        size_t k = img.len - 17 - 8;
        double low = 10;
        memcpy(p + k, &low, 8);
        reseal(p, img.len);
        assert_int_equal(try_restore(MAX2, p, img.len, &info), CKPT_OK);
        assert_int_equal(info.groups_reset, 1);
        assert_int_equal(info.episodes, 1);
    }
    buf_free(&img);
    eng_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_no_restart),
        cmocka_unit_test(test_sequence_chain),
        cmocka_unit_test(test_baseline_history),
        cmocka_unit_test(test_episode_goes_on),
        cmocka_unit_test(test_absence_times),
        cmocka_unit_test(test_absence_keeps_what_it_shows),
        cmocka_unit_test(test_dedupe_kept),
        cmocka_unit_test(test_rules_changed),
        cmocka_unit_test(test_peek_and_empty),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_truncated_and_flipped),
        cmocka_unit_test(test_overflow_kept),
        cmocka_unit_test(test_version_and_instance),
        cmocka_unit_test(test_lies_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
