/*
 * test_kinds.c - each rule kind through the engine at its exact edges, in
 * synthetic event time: strict thresholds, window edges (an event exactly
 * window_s old does not count, one a millisecond younger does),
 * clear_threshold, the one-episode hold rule, min_count ("too few calls
 * to judge"), sequence order and within_s, new_value's learning period,
 * baseline's band (MAD 0, min_value), absence; and what every kind shares:
 * group_by of 0, 1 and 3 fields with a missing value, overrides, exclude,
 * eviction, the alert's fields and words.
 */
#include "det_helpers.h"
#include "alloc_hook.h"

#include <math.h>

static void hold0(struct det_engine_params *p)
{
    p->hold_s = 0;
}

static void hold10(struct det_engine_params *p)
{
    p->hold_s = 10;
}

/* ---- count ---- */

#define COUNT1(extra)                                                      \
    "[{'name':'c','kind':'count','severity':'info',"                       \
    "'group_by':['tool_name'],'window_s':10" extra "}]"

/* 100 events do not exceed a threshold of 100; the 101st does */
static void test_count_strict(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, COUNT1(",'threshold':100"), NULL);

    (void)state;
    feed_calls(e, 100, 0, 10, "t", "a");
    assert_int_equal(c.n, 0);
    feed(e, ev_call(1000, "t", "a"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 101);
    assert_true(c.a[0].threshold == 100);
    assert_int_equal(c.a[0].window_s, 10);
    assert_string_equal(c.a[0].kind, "count");
    eng_free(e);
}

/* the window is (now - 10 s, now]: an event exactly 10 s old is out */
static void test_count_window_edge(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, COUNT1(",'threshold':1"), NULL);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(10000, "t", "a")); /* the first is 10 s old: 1 */
    assert_int_equal(c.n, 0);
    eng_free(e);
    e = eng_json(&c, COUNT1(",'threshold':1"), NULL);
    feed(e, ev_call(1, "t", "a"));
    feed(e, ev_call(10000, "t", "a")); /* 9.999 s old: 2 */
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 2);
    /* an event exactly window_s old is late */
    feed(e, ev_call(0, "t", "a"));
    assert_int_equal(rinfo(e, "c").late, 1);
    eng_free(e);
}

/* fires above 5, stays open down to 3, clears at 2 */
static void test_count_clear_threshold(void **state)
{
    static struct cap c;
    det_engine *e =
        eng_json(&c, COUNT1(",'threshold':5,'clear_threshold':2"), hold0);

    (void)state;
    feed_calls(e, 6, 0, 1000, "t", "a"); /* 0..5 s: 6 events */
    assert_int_equal(c.n, 1);
    /* at 13 s events of 4, 5 s remain... and 3 s left at 13: 2 left:
     * the events of 0..3 s leave at 10..13 s */
    feed(e, ev_call(12999, "x", "a")); /* 3 left (3, 4, 5 s) */
    assert_int_equal(c.n, 1);
    assert_true(det_engine_is_firing(e, "c", "t"));
    feed(e, ev_call(13000, "x", "a")); /* 2 left: clear */
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 13000);
    assert_true(c.a[1].value == 2);
    eng_free(e);
}

/* Within hold_s only the fire condition brings an episode back: a count
 * between the clear threshold and the threshold does not. */
static void test_hold_needs_fire_condition(void **state)
{
    static struct cap c;
    det_engine *e =
        eng_json(&c, COUNT1(",'threshold':5,'clear_threshold':2"), hold10);

    (void)state;
    feed_calls(e, 6, 0, 100, "t", "a"); /* fires at 0.5 s */
    assert_int_equal(c.n, 1);
    /* 0.0..0.3 leave at 10.0..10.3: 2 left at 10.3 s: cleared */
    feed(e, ev_call(10300, "x", "a"));
    /* back to 4 (between) at 10.35 s: still clearing */
    feed_calls(e, 2, 10350, 1, "t", "a");
    assert_int_equal(c.n, 1);
    /* resolved at 20.3 s, hold after it cleared */
    feed(e, ev_call(20300, "x", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 10300);
    assert_string_equal(c.a[1].id, c.a[0].id);
    eng_free(e);
}

/* ... and the fire condition within hold_s is the same episode */
static void test_hold_refire_same_episode(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, COUNT1(",'threshold':2"), hold10);

    (void)state;
    feed_calls(e, 3, 0, 100, "t", "a"); /* fires at 0.2 s */
    feed(e, ev_call(10000, "x", "a")); /* 0.0 left: 2: cleared at 10.0 */
    feed_calls(e, 3, 15000, 100, "t", "a"); /* fires again at 15.2 s */
    assert_int_equal(c.n, 1);
    assert_true(det_engine_is_firing(e, "c", "t"));
    assert_int_equal(rinfo(e, "c").fired, 1);
    /* resolved once, under the first id */
    feed(e, ev_call(100000, "x", "a"));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].id, c.a[0].id);
    assert_int_equal(c.a[1].started, T0 + 200);
    eng_free(e);
}

/* ---- groups ---- */

static void test_group_by_none(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'all','kind':'count','severity':'info','window_s':10,"
        "'threshold':2}]",
        NULL);
    char id[ALERT_ID_HEX + 1];

    (void)state;
    feed(e, ev_call(0, "t1", "a"));
    feed(e, ev_call(1, "t2", "b"));
    feed(e, ev_call(2, "t3", "c"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "global");
    assert_int_equal(c.a[0].ngroup, 0);
    /* [] hashes the one value "global" */
    alert_episode_id("all", NULL, 0, T0 + 2, id);
    assert_string_equal(c.a[0].id, id);
    {
        const char *g = "global";
        char id1[ALERT_ID_HEX + 1];
        alert_episode_id("all", &g, 1, T0 + 2, id1);
        assert_string_equal(id1, id);
    }
    assert_string_equal(c.a[0].summary,
                        "3 events in 10s overall (threshold 2)");
    eng_free(e);
}

static void test_group_by_three_missing(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'tas','kind':'count','severity':'info',"
        "'group_by':['tool_name','agent_id','session_id'],'window_s':10,"
        "'threshold':1}]",
        NULL);
    const char *vals[3] = {"t", "(none)", "s-1"};
    char id[ALERT_ID_HEX + 1];
    struct event ev;

    (void)state;
    for (int i = 0; i < 2; i++) {
        ev = ev_call(i, "t", "");
        snprintf(ev.session_id, sizeof ev.session_id, "s-1");
        det_engine_feed(e, &ev, 0);
    }
    /* another session: another group */
    ev = ev_call(2, "t", "");
    det_engine_feed(e, &ev, 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "t/(none)/s-1");
    assert_int_equal(c.a[0].ngroup, 3);
    assert_string_equal(c.a[0].gname[0], "tool_name");
    assert_string_equal(c.a[0].gname[1], "agent_id");
    assert_string_equal(c.a[0].gname[2], "session_id");
    assert_string_equal(c.a[0].gvalue[1], "(none)");
    alert_episode_id("tas", vals, 3, T0 + 1, id);
    assert_string_equal(c.a[0].id, id);
    assert_string_equal(c.a[0].summary,
                        "2 events in 10s for tool t, agent (none), session "
                        "s-1 (threshold 1)");
    eng_free(e);
}

/* one field: the id is name, key and start as before rules */
static void test_group_by_one_id(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, COUNT1(",'threshold':0"), NULL);
    const char *key = "db";
    char id[ALERT_ID_HEX + 1];

    (void)state;
    feed(e, ev_call(5, "db", "a"));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].ngroup, 1);
    assert_string_equal(c.a[0].gname[0], "tool_name");
    assert_string_equal(c.a[0].gvalue[0], "db");
    alert_episode_id("c", &key, 1, T0 + 5, id);
    assert_string_equal(c.a[0].id, id);
    eng_free(e);
}

static void test_group_by_metadata(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'m','kind':'count','severity':'info',"
        "'match':{'metadata.env':'prod'},'group_by':['metadata.region'],"
        "'window_s':10,'threshold':1}]",
        NULL);
    struct event ev;

    (void)state;
    /* slots in order of first use: env 0, region 1 */
    for (int i = 0; i < 3; i++) {
        ev = ev_call(i, "t", "a");
        snprintf(ev.meta[0], sizeof ev.meta[0], "%s", i < 2 ? "prod" : "dev");
        snprintf(ev.meta[1], sizeof ev.meta[1], "eu-1");
        ev.meta_has = 3;
        det_engine_feed(e, &ev, 0);
    }
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "eu-1");
    assert_string_equal(c.a[0].gname[0], "metadata.region");
    assert_true(c.a[0].value == 2);
    eng_free(e);
}

static void test_overrides(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        COUNT1(",'threshold':5,'overrides':["
               "{'match':{'tool_name':'big*'},'threshold':10},"
               "{'match':{'tool_name':'noisy'},'enabled':false},"
               "{'match':{'tool_name':'big2'},'threshold':1}]"),
        NULL);

    (void)state;
    feed_calls(e, 10, 0, 1, "big1", "a");
    feed_calls(e, 100, 0, 1, "noisy", "a");
    assert_int_equal(c.n, 0);
    feed(e, ev_call(50, "big1", "a")); /* 11 > 10 */
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "big1");
    assert_true(c.a[0].threshold == 10);
    assert_string_equal(c.a[0].summary,
                        "11 events in 10s for tool big1 (threshold 10)");
    /* the first override that matches counts: big2 takes 10, not 1 */
    feed_calls(e, 10, 100, 1, "big2", "a");
    assert_int_equal(c.n, 1);
    /* no override: the rule's 5 */
    feed_calls(e, 6, 200, 1, "other", "a");
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].threshold == 5);
    assert_false(det_engine_is_firing(e, "c", "noisy"));
    eng_free(e);
}

static void test_exclude(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c, COUNT1(",'threshold':2,'exclude':{'agent_id':'ci-*'}"), NULL);

    (void)state;
    feed_calls(e, 5, 0, 1, "t", "ci-runner");
    assert_int_equal(c.n, 0);
    assert_int_equal(rinfo(e, "c").counted, 0);
    feed_calls(e, 3, 10, 1, "t", "dev");
    assert_int_equal(c.n, 1);
    eng_free(e);
}

/* past max_keys the least recently seen group without an open alert goes,
 * counted; an open one never does */
static void test_eviction(void **state)
{
    static struct cap c;
    det_engine *e =
        eng_json(&c, COUNT1(",'threshold':1,'max_keys':3"), NULL);
    struct det_rule_info ri;
    char tool[16];

    (void)state;
    feed_calls(e, 2, 0, 1, "open", "a"); /* fires */
    assert_int_equal(c.n, 1);
    for (int i = 0; i < 10; i++) {
        snprintf(tool, sizeof tool, "t%d", i);
        feed(e, ev_call(10 + i, tool, "a"));
    }
    ri = rinfo(e, "c");
    assert_int_equal(ri.groups, 3);
    assert_int_equal(ri.open, 1);
    assert_int_equal(ri.evicted, 8);
    assert_true(det_engine_is_firing(e, "c", "open"));
    /* t9 is kept (most recent): a second event fires it */
    feed(e, ev_call(30, "t9", "a"));
    assert_int_equal(c.n, 2);
    /* t0 was evicted: it starts from nothing */
    feed(e, ev_call(31, "t0", "a"));
    assert_int_equal(c.n, 2);
    eng_free(e);
}

/* ---- sum ---- */

#define SUM1                                                               \
    "[{'name':'spend','kind':'sum','severity':'warning',"                  \
    "'field':'cost_usd','group_by':['agent_id'],'window_s':60,"            \
    "'threshold':10}]"

static void test_sum(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SUM1, hold0);

    (void)state;
    feed(e, ev_cost(0, "a", 4));
    feed(e, ev_cost(1000, "a", 6)); /* 10: not above */
    feed(e, ev_call(2000, "llm", "a")); /* no cost: adds nothing */
    assert_int_equal(c.n, 0);
    feed(e, ev_cost(3000, "a", 0.5));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 10.5);
    assert_string_equal(c.a[0].summary, "sum of cost_usd 10.5 in 60s by "
                                        "agent a (threshold 10)");
    /* the bucket of 0 s (4 USD) leaves at 60 s: 6.5, resolved */
    feed(e, ev_cost(59999, "b", 1));
    assert_int_equal(c.n, 1);
    feed(e, ev_cost(60000, "b", 1));
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].value == 6.5);
    assert_int_equal(c.a[1].resolved_at, T0 + 60000);
    eng_free(e);
}

/* ---- ratio ---- */

#define RATIO1                                                             \
    "[{'name':'errs','kind':'ratio','severity':'error',"                   \
    "'match':{'completed':true},'group_by':['tool_name'],"                 \
    "'numerator':{'error':true},'window_s':60,'threshold':0.5,"            \
    "'clear_threshold':0.25,'min_count':4}]"

static void test_ratio_min_count(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, RATIO1, hold0);

    (void)state;
    for (int i = 0; i < 3; i++)
        feed(e, ev_error(i * 1000, "db", "a"));
    assert_int_equal(c.n, 0); /* 100 %, but 3 < min_count */
    feed(e, ev_error(3000, "db", "a"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 1.0);
    assert_true(c.a[0].threshold == 0.5);
    assert_string_equal(c.a[0].summary,
                        "error rate 100.0% over 60s for tool db (threshold "
                        "50%, 4 of 4 calls)");
    /* the window (1 s buckets) drops the bucket of 0 s at 60 s: 3 left,
     * too few */
    feed(e, ev_call(61000, "other", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 60000);
    assert_string_equal(c.a[1].summary,
                        "back to normal: too few calls to judge: 3 calls in "
                        "60s for tool db (at least 4 needed)");
    eng_free(e);
}

/* The window's edge alone takes a ratio over its threshold: calls outside
 * the numerator leave first.  60 s window (1 s buckets), threshold 0.5,
 * min_count 4: two calls at 0 s, then 3 errors and 1 call (3 of 6); at
 * 60 s the first two leave: 3 of 4 = 75 %, with no event, and it fires
 * then.  The alert shows the group and the event that made it one the
 * edge could fire (the third error); it clears when the errors leave. */
static void test_ratio_fires_at_edge(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, RATIO1, hold0);
    struct event third;

    (void)state;
    feed(e, ev_call(0, "db", "a"));
    feed(e, ev_call(0, "db", "a"));
    feed(e, ev_error(20000, "db", "a"));
    feed(e, ev_error(21000, "db", "a"));
    feed(e, ev_call(22000, "db", "a"));
    third = ev_error(23000, "db", "b");
    feed(e, third);
    assert_int_equal(c.n, 0); /* 3 of 6 = 50 %: not above */
    feed(e, ev_call(59999, "other", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(85000, "other", "a")); /* time moves on */
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[0].resolved, 0);
    assert_string_equal(c.a[0].key, "db");
    assert_int_equal(c.a[0].started, T0 + 60000);
    assert_true(c.a[0].value == 0.75);
    assert_string_equal(c.a[0].summary,
                        "error rate 75.0% over 60s for tool db (threshold "
                        "50%, 3 of 4 calls)");
    assert_string_equal(c.a[0].record_id, third.record_id);
    /* 20 s's error leaves at 80 s: 2 of 3, too few (min_count 4) */
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 80000);
    assert_string_equal(c.a[1].summary,
                        "back to normal: too few calls to judge: 3 calls in "
                        "60s for tool db (at least 4 needed)");
    eng_free(e);
}

/* replay --drain runs event time on until every open alert has resolved:
 * a ratio the edge would fire after that does not keep it going; one the
 * edge fires while another alert is still open does fire. */
static void test_ratio_edge_in_drain(void **state)
{
    static struct cap c;
    static const char two[] =
        "[{'name':'errs','kind':'ratio','severity':'error',"
        "'match':{'completed':true},'group_by':['tool_name'],"
        "'numerator':{'error':true},'window_s':60,'threshold':0.5,"
        "'min_count':4},"
        "{'name':'any','kind':'count','severity':'info',"
        "'match':{'tool_name':'flag'},'window_s':70,'threshold':0}]";

    (void)state;
    for (int open = 0; open < 2; open++) {
        det_engine *e = eng_json(&c, open ? two : RATIO1, hold0);

        c.n = 0;
        if (open)
            feed(e, ev_call(0, "flag", "a")); /* open until 70 s */
        feed(e, ev_call(0, "db", "a"));
        feed(e, ev_call(0, "db", "a"));
        feed(e, ev_error(20000, "db", "a"));
        feed(e, ev_error(21000, "db", "a"));
        feed(e, ev_call(22000, "db", "a"));
        feed(e, ev_error(23000, "db", "b"));
        assert_int_equal(c.n, open);
        det_engine_drain(e);
        if (!open) {
            assert_int_equal(c.n, 0);
        } else {
            /* flag resolves at 70 s; db fired at 60 s and resolved at
             * 80 s, the drain going on for it */
            assert_int_equal(c.n, 4);
            assert_string_equal(c.a[1].key, "db");
            assert_int_equal(c.a[1].started, T0 + 60000);
            assert_string_equal(c.a[2].rule, "any");
            assert_int_equal(c.a[2].resolved, 1);
            assert_string_equal(c.a[3].key, "db");
            assert_int_equal(c.a[3].resolved_at, T0 + 80000);
        }
        eng_free(e);
    }
}

/* The edge that only reaches the threshold fires nothing; a group the
 * edge could fire that is evicted (max_keys 1) takes its timer with it. */
static void test_ratio_edge_traps(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'errs','kind':'ratio','severity':'error',"
        "'match':{'completed':true},'group_by':['tool_name'],"
        "'numerator':{'error':true},'window_s':60,'threshold':0.5,"
        "'min_count':4,'max_keys':1}]",
        hold0);

    (void)state;
    /* 2 calls, 2 errors, 2 calls: at 60 s 2 of 4 = 50 %, not above */
    feed(e, ev_call(0, "db", "a"));
    feed(e, ev_call(0, "db", "a"));
    feed(e, ev_error(10000, "db", "a"));
    feed(e, ev_error(10000, "db", "a"));
    feed(e, ev_call(20000, "db", "a"));
    feed(e, ev_call(20000, "db", "a"));
    feed(e, ev_call(65000, "db", "a"));
    assert_int_equal(c.n, 0);
    /* a group the edge would fire at 130 s (4 of 8, then 4 of 5),
     * evicted at 100 s */
    for (int i = 0; i < 3; i++)
        feed(e, ev_call(70000, "web", "a"));
    feed(e, ev_call(75000, "web", "a"));
    for (int i = 0; i < 4; i++)
        feed(e, ev_error(80000, "web", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(100000, "mail", "a")); /* evicts web */
    feed(e, ev_call(200000, "mail", "a"));
    assert_int_equal(c.n, 0);
    eng_free(e);
}

static void test_ratio_threshold_and_clear(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, RATIO1, hold0);

    (void)state;
    /* 2 of 4: exactly 50 %, not above */
    feed(e, ev_error(0, "db", "a"));
    feed(e, ev_error(1, "db", "a"));
    feed(e, ev_call(2, "db", "a"));
    feed(e, ev_call(3, "db", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_error(4, "db", "a")); /* 3 of 5 */
    assert_int_equal(c.n, 1);
    /* 3 of 9 = 33 %: between, stays; 3 of 12 = 25 %: clear */
    feed_calls(e, 4, 10, 1, "db", "a");
    assert_int_equal(c.n, 1);
    feed_calls(e, 3, 20, 1, "db", "a");
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].value == 0.25);
    assert_string_equal(c.a[1].summary,
                        "back to normal: error rate 25.0% over 60s for tool "
                        "db (threshold 50%, 3 of 12 calls)");
    eng_free(e);
}

/* ---- distinct ---- */

#define DISTINCT1                                                          \
    "[{'name':'fanout','kind':'distinct','severity':'warning',"            \
    "'field':'tool_name','group_by':['agent_id'],'window_s':10,"           \
    "'threshold':2}]"

static void test_distinct(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, DISTINCT1, hold0);

    (void)state;
    feed(e, ev_call(0, "a", "x"));
    feed(e, ev_call(1, "b", "x"));
    feed(e, ev_call(2, "a", "x"));
    feed(e, ev_call(3, "b", "x"));
    feed(e, ev_call(4, "", "x")); /* no tool: not a value */
    assert_int_equal(c.n, 0);
    feed(e, ev_call(5, "c", "x"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 3);
    assert_string_equal(c.a[0].summary,
                        "at least 3 distinct tool_name values in 10s by "
                        "agent x (threshold 2)");
    /* "a" was last seen at 2 ms: exactly 10 s later it is out */
    feed(e, ev_call(10001, "q", "other"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(10002, "q", "other"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 10002);
    eng_free(e);
}

/* Rules that count the same field share its hash within an event (the
 * engine hashes the string at one address once per event): one event
 * record reused in place, its tool changed, is a new value to each. */
#define SAMEFIELD                                                          \
    "[{'name':'fanout','kind':'distinct','severity':'warning',"            \
    "'field':'tool_name','group_by':['agent_id'],'window_s':10,"           \
    "'threshold':2},"                                                      \
    "{'name':'fanout_s','kind':'distinct','severity':'warning',"           \
    "'field':'tool_name','group_by':['session_id'],'window_s':10,"         \
    "'threshold':3},"                                                      \
    "{'name':'newtool','kind':'new_value','severity':'warning',"           \
    "'field':'tool_name','group_by':['agent_id'],'learn_s':2,"             \
    "'window_s':100}]"

static void test_distinct_same_field_reused_event(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SAMEFIELD, hold0);
    struct event ev = ev_call(0, "a", "x");
    static const char *const tools[] = {"a", "b", "a", "b", "c", "d"};

    (void)state;
    for (int i = 0; i < 6; i++) {
        snprintf(ev.tool_name, sizeof ev.tool_name, "%s", tools[i]);
        snprintf(ev.record_id, sizeof ev.record_id, "same-%d", i);
        ev.ts_ms = T0 + 1000 * i;
        assert_int_equal(det_engine_feed(e, &ev, 0), DET_FEED_COUNTED);
        if (i == 3) /* a, b: 2 distinct, learned in the first 2 s */
            assert_int_equal(c.n, 0);
    }
    /* c (4 s): fanout's 3rd value; d (5 s): fanout_s's 4th; newtool
     * fires for c and for d, both after learning */
    assert_int_equal(c.n, 4);
    assert_string_equal(c.a[0].rule, "fanout");
    assert_true(c.a[0].value == 3);
    assert_int_equal(c.a[0].ts, T0 + 4000);
    assert_string_equal(c.a[1].rule, "newtool");
    assert_string_equal(c.a[1].key, "x/c");
    assert_string_equal(c.a[2].rule, "fanout_s");
    assert_true(c.a[2].value == 4);
    assert_int_equal(c.a[2].ts, T0 + 5000);
    assert_string_equal(c.a[3].rule, "newtool");
    assert_string_equal(c.a[3].key, "x/d");
    eng_free(e);
}

/* ---- max ---- */

#define MAX1                                                               \
    "[{'name':'slow','kind':'max','severity':'warning',"                   \
    "'field':'execution_duration_ms','group_by':['tool_name'],"            \
    "'threshold':1000,'window_s':10}]"

static void test_max(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, MAX1, hold0);

    (void)state;
    feed(e, ev_slow(0, "t", 1000)); /* not above */
    assert_int_equal(c.n, 0);
    assert_int_equal(rinfo(e, "slow").groups, 0); /* no group for it */
    feed(e, ev_slow(1000, "t", 1000.5));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 1000.5);
    /* clears window_s after the violation: not at 10.999 s, at 11 s */
    feed(e, ev_call(10999, "x", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(11000, "x", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 11000);
    assert_int_equal(rinfo(e, "slow").groups, 0); /* removed */
    /* a violation as old as the window is late */
    feed(e, ev_slow(1000, "t", 5000));
    assert_int_equal(c.n, 2);
    assert_int_equal(rinfo(e, "slow").late, 1);
    eng_free(e);
}

/* ---- sequence ---- */

#define SEQ1                                                               \
    "[{'name':'exfil','kind':'sequence','severity':'critical',"            \
    "'group_by':['session_id'],'steps':[{'tool_name':'vault_*'},"          \
    "{'tool_name':'http_post'}],'within_s':60,'window_s':100}]"

static struct event ev_sess(int64_t ms, const char *tool, const char *sess)
{
    struct event ev = ev_call(ms, tool, "a");

    snprintf(ev.session_id, sizeof ev.session_id, "%s", sess);
    return ev;
}

static void test_sequence_in_order(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SEQ1, hold0);

    (void)state;
    feed(e, ev_sess(0, "vault_read_secret", "sess-9f2"));
    feed(e, ev_sess(1000, "search", "sess-9f2"));
    feed(e, ev_sess(41000, "http_post", "sess-9f2"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].kind, "sequence");
    assert_true(c.a[0].value == 41);
    assert_true(c.a[0].threshold == 60);
    assert_int_equal(c.a[0].window_s, 60);
    assert_string_equal(c.a[0].summary,
                        "session sess-9f2 called vault_read_secret and then "
                        "http_post 41 s later");
    /* clears window_s (100 s) after the completed sequence */
    feed(e, ev_sess(140999, "x", "other"));
    assert_int_equal(c.n, 1);
    feed(e, ev_sess(141000, "x", "other"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 141000);
    eng_free(e);
}

/* within_s is inclusive: 60 s fires, 60.001 s does not */
static void test_sequence_within_edge(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SEQ1, hold0);

    (void)state;
    feed(e, ev_sess(0, "vault_a", "s1"));
    feed(e, ev_sess(60000, "http_post", "s1"));
    assert_int_equal(c.n, 1);
    feed(e, ev_sess(0, "vault_a", "s2"));
    feed(e, ev_sess(60001, "http_post", "s2"));
    assert_int_equal(c.n, 1);
    eng_free(e);
}

/* out of order: the last step before the first does not complete it */
static void test_sequence_out_of_order(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SEQ1, hold0);

    (void)state;
    feed(e, ev_sess(0, "http_post", "s1"));
    feed(e, ev_sess(1000, "vault_a", "s1"));
    assert_int_equal(c.n, 0);
    /* a newer first step starts a newer chain; the next last step
     * completes it, measured from the newest first step */
    feed(e, ev_sess(2000, "vault_b", "s1"));
    feed(e, ev_sess(5000, "http_post", "s1"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 3);
    assert_string_equal(c.a[0].summary,
                        "session s1 called vault_b and then http_post 3 s "
                        "later");
    /* after firing the chain starts over */
    feed(e, ev_sess(6000, "http_post", "s1"));
    assert_int_equal(rinfo(e, "exfil").fired, 1);
    /* a last step stamped before the first but fed after it is taken at
     * the first step's time: in order, 0 s apart */
    feed(e, ev_sess(10000, "vault_c", "s3"));
    feed(e, ev_sess(9000, "http_post", "s3"));
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].value == 0);
    eng_free(e);
}

static struct event err_sess(int64_t ms, const char *sess)
{
    struct event ev = ev_error(ms, "t", "a");

    snprintf(ev.session_id, sizeof ev.session_id, "%s", sess);
    return ev;
}

/* Steps whose match is the same are evaluated once an event, and a step
 * whose match is the rule's own not at all: same results.  error_streak's
 * three {"error": true} steps: one event fills one step of a chain, so
 * three errors fire and two do not. */
static void test_sequence_same_steps(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'streak','kind':'sequence','severity':'info',"
        "'match':{'completed':true},'group_by':['session_id'],"
        "'steps':[{'error':true},{'error':true},{'error':true}],"
        "'within_s':10,'window_s':100}]",
        hold0);

    (void)state;
    feed(e, err_sess(0, "s1"));
    feed(e, ev_sess(1000, "t", "s1"));
    feed(e, err_sess(2000, "s1"));
    assert_int_equal(c.n, 0);
    feed(e, err_sess(2500, "s1"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 2.5);
    /* within_s inclusive */
    feed(e, err_sess(3000, "s2"));
    feed(e, err_sess(4000, "s2"));
    assert_int_equal(c.n, 1);
    feed(e, err_sess(13000, "s2"));
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].value == 10);
    /* the chain from 20 s has expired at 30.001 s; the newer one from
     * 21 s is kept */
    feed(e, err_sess(20000, "s3"));
    feed(e, err_sess(21000, "s3"));
    feed(e, err_sess(30001, "s3"));
    assert_int_equal(c.n, 2);
    feed(e, err_sess(31000, "s3"));
    assert_int_equal(c.n, 3);
    assert_true(c.a[2].value == 10);
    eng_free(e);
}

/* A step whose match is the rule's: every event the rule sees meets it,
 * one its exclude drops does not; a step the same as it further on takes
 * its result. */
static void test_sequence_step_is_rule_match(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'q','kind':'sequence','severity':'info',"
        "'match':{'completed':true},'exclude':{'tool_name':'noise'},"
        "'group_by':['session_id'],"
        "'steps':[{'tool_name':'vault_*'},{'completed':true},"
        "{'tool_name':'vault_*'}],'within_s':60}]",
        hold0);

    (void)state;
    feed(e, ev_sess(0, "vault_a", "s1"));
    feed(e, ev_sess(1000, "noise", "s1")); /* not seen */
    feed(e, ev_sess(2000, "http", "s1"));  /* step 2 */
    assert_int_equal(c.n, 0);
    feed(e, ev_sess(3000, "vault_b", "s1")); /* step 3 */
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 3);
    assert_string_equal(c.a[0].summary,
                        "session s1 called vault_a and then, in 2 steps, "
                        "vault_b 3 s later");
    /* vault, vault, vault: the first meets step 1, the second step 2 (a
     * vault event meets all three), the third step 3 */
    feed(e, ev_sess(10000, "vault_x", "s2"));
    feed(e, ev_sess(11000, "vault_y", "s2"));
    assert_int_equal(c.n, 1);
    feed(e, ev_sess(12000, "noise", "s2"));
    assert_int_equal(c.n, 1);
    feed(e, ev_sess(12500, "vault_z", "s2"));
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].value == 2.5);
    /* an event the rule does not see (not completed) meets no step */
    {
        struct event ev = ev_sess(13000, "vault_q", "s3");

        feed(e, ev);
        ev = ev_sess(14000, "x", "s3");
        ev.type = EVENT_TOOL_CALL_REQUEST;
        feed(e, ev);
        feed(e, ev_sess(15000, "vault_r", "s3"));
        assert_int_equal(c.n, 2);
    }
    eng_free(e);
}

/* The same steps written so that each is evaluated on its own (the same
 * conditions in another order, or with the rule's own) give the same
 * alerts over a random stream as those evaluated once: rules a and b,
 * and rules c and d. */
static void test_sequence_shared_steps_random(void **state)
{
    static struct cap c;
    static const char *const tools[] = {"vault_a", "vault_b", "http", "x",
                                        "noise"};
    det_engine *e = eng_json(
        &c,
        "[{'name':'a','kind':'sequence','severity':'info',"
        "'match':{'completed':true},'group_by':['session_id','tool_name'],"
        "'steps':[{'error':true},{'error':true},{'error':true}],"
        "'within_s':10,'window_s':20},"
        "{'name':'b','kind':'sequence','severity':'info',"
        "'match':{'completed':true},'group_by':['session_id','tool_name'],"
        "'steps':[{'error':true},{'completed':true,'error':true},"
        "{'error':true,'completed':true}],'within_s':10,'window_s':20},"
        "{'name':'c','kind':'sequence','severity':'info',"
        "'match':{'completed':true},'exclude':{'tool_name':'noise'},"
        "'group_by':['session_id'],'steps':[{'tool_name':'vault_*'},"
        "{'completed':true},{'error':true},{'tool_name':'vault_*'},"
        "{'error':true}],'within_s':30,'window_s':40},"
        "{'name':'d','kind':'sequence','severity':'info',"
        "'match':{'completed':true},'exclude':{'tool_name':'noise'},"
        "'group_by':['session_id'],'steps':[{'tool_name':'vault_*'},"
        "{'tool_name':'*'},{'error':true,'completed':true},"
        "{'completed':true,'tool_name':'vault_*'},"
        "{'completed':true,'error':true}],'within_s':30,'window_s':40}]",
        hold0);
    struct cap_alert *x[4][CAP_MAX / 4];
    int n[4] = {0, 0, 0, 0};
    int64_t t = 0;
    char sess[8];

    (void)state;
    srand(77);
    for (int i = 0; i < 6000 && c.n < CAP_MAX - 8; i++) {
        const char *tool = tools[rand() % 5];
        struct event ev;

        t += rand() % 6 == 0 ? rand() % 20000 : rand() % 1500;
        snprintf(sess, sizeof sess, "s%d", rand() % 3);
        ev = rand() % 2 ? ev_error(t - rand() % 3000, tool, "a")
                        : ev_call(t - rand() % 3000, tool, "a");
        if (rand() % 10 == 0)
            ev.type = EVENT_TOOL_CALL_REQUEST;
        snprintf(ev.session_id, sizeof ev.session_id, "%s", sess);
        feed(e, ev);
    }
    for (int i = 0; i < c.n; i++) {
        int r = c.a[i].rule[0] - 'a';

        assert_true(r >= 0 && r < 4 && n[r] < CAP_MAX / 4);
        x[r][n[r]++] = &c.a[i];
    }
    assert_true(n[0] >= 20 && n[2] >= 20);
    for (int p = 0; p < 4; p += 2) {
        assert_int_equal(n[p], n[p + 1]);
        for (int i = 0; i < n[p]; i++) {
            assert_int_equal(x[p][i]->resolved, x[p + 1][i]->resolved);
            assert_true(x[p][i]->value == x[p + 1][i]->value);
            assert_string_equal(x[p][i]->key, x[p + 1][i]->key);
            assert_string_equal(x[p][i]->summary, x[p + 1][i]->summary);
            assert_string_equal(x[p][i]->record_id, x[p + 1][i]->record_id);
        }
    }
    eng_free(e);
}

/* ---- new_value ---- */

#define NEW1                                                               \
    "[{'name':'newtool','kind':'new_value','severity':'warning',"          \
    "'field':'tool_name','group_by':['agent_id'],'learn_s':60,"            \
    "'window_s':100}]"

static void test_new_value_learning(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, NEW1, hold0);
    const char *vals[2] = {"a-7", "delete_customer_records"};
    char id[ALERT_ID_HEX + 1];

    (void)state;
    feed(e, ev_call(0, "search", "a-7"));
    feed(e, ev_call(59999, "crm_lookup", "a-7")); /* learned silently */
    assert_int_equal(c.n, 0);
    feed(e, ev_call(60000, "crm_lookup", "a-7")); /* known */
    feed(e, ev_call(60000, "search", "a-7"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(60000, "delete_customer_records", "a-7"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a-7/delete_customer_records");
    assert_int_equal(c.a[0].ngroup, 2);
    assert_string_equal(c.a[0].gname[0], "agent_id");
    assert_string_equal(c.a[0].gname[1], "tool_name");
    assert_true(isnan(c.a[0].value));
    assert_true(isnan(c.a[0].threshold));
    assert_int_equal(c.a[0].window_s, 100);
    alert_episode_id("newtool", vals, 2, T0 + 60000, id);
    assert_string_equal(c.a[0].id, id);
    assert_string_equal(c.a[0].summary,
                        "agent a-7 used a tool it has not used before: "
                        "delete_customer_records");
    /* another agent learns on its own clock */
    feed(e, ev_call(61000, "delete_customer_records", "a-8"));
    assert_int_equal(c.n, 1);
    /* a second new value is a second episode */
    feed(e, ev_call(70000, "drop_table", "a-7"));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].key, "a-7/drop_table");
    /* each resolves window_s after its value */
    feed(e, ev_call(200000, "search", "a-7"));
    assert_int_equal(c.n, 4);
    assert_int_equal(c.a[2].resolved_at, T0 + 160000);
    assert_int_equal(c.a[3].resolved_at, T0 + 170000);
    eng_free(e);
}

/* ---- baseline ---- */

#define BASE1(extra)                                                       \
    "[{'name':'spike','kind':'baseline','severity':'warning',"             \
    "'group_by':['tool_name'],'bucket_s':60,'history':3" extra "}]"

/* n calls of tool in the bucket starting at T0 + b * 60 s */
static void bucket_calls(det_engine *e, int b, int n, const char *tool)
{
    for (int i = 0; i < n; i++)
        feed(e, ev_call(b * 60000 + i * 10, tool, "a"));
}

/* a flat history: MAD 0, the band is median + 6 * max(0, 0.1 median, 1) */
static void test_baseline_mad_zero(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, BASE1(""), hold0);

    (void)state;
    for (int b = 0; b < 3; b++)
        bucket_calls(e, b, 10, "pg");
    /* band 10 + 6 * 1 = 16: 16 calls are not above it */
    bucket_calls(e, 3, 16, "pg");
    assert_int_equal(c.n, 0);
    /* bucket 4 judged on 10, 10, 16: median 10, MAD 0: band 16 */
    bucket_calls(e, 4, 17, "pg");
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 17);
    assert_true(c.a[0].threshold == 16);
    assert_int_equal(c.a[0].window_s, 60);
    assert_int_equal(c.a[0].started, T0 + 4 * 60000 + 160);
    assert_string_equal(c.a[0].summary,
                        "tool pg: 17 events in this 60 s bucket, above its "
                        "usual band of 16 (median 10)");
    /* the bucket closes at 300 s above its band; the next one is empty:
     * it closes at 360 s, 0 <= band, and clears */
    feed(e, ev_call(359999, "other", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(360000, "other", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 360000);
    assert_string_equal(c.a[1].summary,
                        "back to normal: tool pg: a 60s bucket of 0 events, "
                        "within its band of 25.6");
    eng_free(e);
}

/* below min_value a bucket never fires, whatever the band */
static void test_baseline_min_value(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, BASE1(",'min_value':8"), hold0);

    (void)state;
    /* three closed buckets since the first event: two empty */
    bucket_calls(e, 0, 1, "pg");
    feed(e, ev_call(3 * 60000, "other", "a"));
    /* history 1, 0, 0: median 0, band 6; 7 calls: above, under 8 */
    bucket_calls(e, 3, 7, "pg");
    assert_int_equal(c.n, 0);
    feed(e, ev_call(3 * 60000 + 100, "pg", "a")); /* 8 */
    assert_int_equal(c.n, 1);
    eng_free(e);
}

/* ---- absence ---- */

#define ABS1                                                               \
    "[{'name':'quiet','kind':'absence','severity':'warning',"              \
    "'group_by':['agent_id'],'threshold':60}]"

static void test_absence_groups(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS1, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(0, "t", "b"));
    feed(e, ev_call(30000, "t", "b"));
    /* time passes (live ticks: the clock is the wall less 5 s) */
    det_engine_tick(e, T0 + 65000);
    assert_int_equal(c.n, 0); /* a: exactly 60 s, not more */
    /* a: none for more than 60 s: fires at 60.001 s, b at 90.001 s */
    det_engine_tick(e, T0 + 95001);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[0].key, "a");
    assert_int_equal(c.a[0].started, T0 + 60001);
    assert_true(c.a[0].threshold == 60);
    assert_int_equal(c.a[0].window_s, -1);
    assert_string_equal(c.a[0].summary,
                        "agent a has had no event for 60s (threshold 60s)");
    assert_string_equal(c.a[1].key, "b");
    assert_int_equal(c.a[1].started, T0 + 90001);
    /* a's next event clears it */
    feed(e, ev_call(100000, "t", "a"));
    assert_int_equal(c.n, 3);
    assert_int_equal(c.a[2].resolved, 1);
    assert_string_equal(c.a[2].key, "a");
    assert_true(c.a[2].value == 100);
    assert_string_equal(c.a[2].summary,
                        "back to normal: agent a has events again after 100s "
                        "without one (threshold 60s)");
    /* and it is watched again: quiet once more, a new episode */
    det_engine_tick(e, T0 + 165001);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.a[3].key, "a");
    assert_int_equal(c.a[3].started, T0 + 160001);
    assert_string_not_equal(c.a[3].id, c.a[0].id);
    eng_free(e);
}

/* Overrides give groups their own thresholds: each fires at its own
 * deadline, also when an older group (first in the order of last events)
 * is not due yet: fast-1 (10 s) at 30.001 s, before a-1 (60 s, seen
 * before it) at 60.001 s; batch-1 (300 s) not at 60 s but at 300.001 s.
 * The alerts and their words show the group's threshold. */
static void test_absence_override_thresholds(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'quiet','kind':'absence','severity':'warning',"
        "'group_by':['agent_id'],'threshold':60,'overrides':["
        "{'match':{'agent_id':'batch-*'},'threshold':300},"
        "{'match':{'agent_id':'fast-*'},'threshold':10}]}]",
        hold0);

    (void)state;
    feed(e, ev_call(0, "t", "batch-1"));
    feed(e, ev_call(0, "t", "a-1"));
    feed(e, ev_call(20000, "t", "fast-1"));
    /* time moves on; each fires allowed_lateness_s (5 s) after its
     * deadline, which is its started_at */
    for (int64_t t = 25000; t <= 310000; t += 5000)
        feed(e, ev_call(t, "t", "pulse"));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[0].key, "fast-1");
    assert_int_equal(c.a[0].started, T0 + 30001);
    assert_true(c.a[0].threshold == 10);
    assert_int_equal(c.a[0].ts, T0 + 35001); /* 5 s after it */
    assert_string_equal(c.a[0].summary,
                        "agent fast-1 has had no event for 15s "
                        "(threshold 10s)");
    assert_string_equal(c.a[1].key, "a-1");
    assert_int_equal(c.a[1].started, T0 + 60001);
    assert_true(c.a[1].threshold == 60);
    assert_string_equal(c.a[2].key, "batch-1");
    assert_int_equal(c.a[2].started, T0 + 300001);
    assert_true(c.a[2].threshold == 300);
    assert_string_equal(c.a[2].summary,
                        "agent batch-1 has had no event for 305s "
                        "(threshold 300s)");
    /* back: watched again by its own threshold */
    feed(e, ev_call(310000, "t", "fast-1"));
    assert_int_equal(c.n, 4);
    assert_int_equal(c.a[3].resolved, 1);
    assert_string_equal(c.a[3].key, "fast-1");
    feed(e, ev_call(325000, "t", "pulse"));
    assert_int_equal(c.n, 4);
    feed(e, ev_call(325001, "t", "pulse"));
    assert_int_equal(c.n, 5);
    assert_string_equal(c.a[4].key, "fast-1");
    assert_int_equal(c.a[4].started, T0 + 320001);
    eng_free(e);
}

/* A group whose event is too long for its state keeps it in the alert
 * record; its next event, short again, is kept in the state: the alert
 * shows the last event either way. */
static void test_absence_long_event(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS1, hold0);
    struct event ev = ev_call(0, "t", "a");

    (void)state;
    memset(ev.session_id, 's', sizeof ev.session_id - 1);
    memset(ev.tool_name, 'x', sizeof ev.tool_name - 1);
    feed(e, ev);
    det_engine_tick(e, T0 + 70001);
    assert_int_equal(c.n, 1); /* the long event's, from the record */
    assert_string_equal(c.a[0].record_id, ev.record_id);
    ev = ev_call(70000, "t", "a"); /* resolves; short: in the state */
    feed(e, ev);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    det_engine_tick(e, T0 + 140001);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].record_id, ev.record_id);
    assert_string_equal(c.a[2].key, "a");
    eng_free(e);
}

/* The sample of the alert whose last event is abs_want's, every string
 * of it (other groups, silent again, alert too). */
static struct alert_sample abs_sample;
static const char *abs_want;
static int abs_alerts;

static void abs_on_alert(void *ud, const struct alert *a)
{
    (void)ud;
    if (a->sample != NULL && !a->resolved &&
        strcmp(a->sample->record_id, abs_want) == 0) {
        abs_alerts++;
        abs_sample = *a->sample;
    }
}

/* A group keeps its last event's strings in its 144 bytes of state when
 * they fit, else in its alert record: across that edge, one string
 * growing a byte at a time (each of the five in turn, to the most its
 * field holds), the alert of its silence carries every string whole. */
static void test_absence_sample_edge(void **state)
{
    static const struct det_engine_callbacks cb = {.on_alert =
                                                       abs_on_alert};
    struct det_engine_params p;
    struct rule_set *rs = rules_compile(ABS1);
    det_engine *e;
    int64_t t = 0;

    (void)state;
    det_engine_params_defaults(&p);
    hold0(&p);
    e = det_engine_create(&p, rs, "test", &cb, NULL);
    assert_non_null(e);
    for (int f = 0; f < 5; f++) {
        static const size_t max[5] = {EVENT_ID_MAX, EVENT_ID_MAX,
                                      EVENT_ID_MAX, EVENT_NAME_MAX,
                                      EVENT_CODE_MAX};

        for (size_t len = 1; len < max[f]; len++) {
            struct event ev = ev_call(t, "tool-1234", "agent-42");
            char *str[5] = {ev.record_id, ev.session_id, ev.agent_id,
                            ev.tool_name, ev.error_code};
            int before;

            snprintf(ev.error_code, sizeof ev.error_code, "E%d", f);
            memset(str[f], 'a' + (int)(len % 26), len);
            str[f][len] = '\0';
            if (f == 2) /* a group of its own: its values change too */
                str[f][0] = 'A';
            assert_int_equal(det_engine_feed(e, &ev, 0), DET_FEED_COUNTED);
            before = abs_alerts;
            abs_want = ev.record_id;
            det_engine_tick(e, T0 + t + 70000); /* the clock: 5 s less */
            assert_int_equal(abs_alerts, before + 1);
            assert_string_equal(abs_sample.record_id, ev.record_id);
            assert_string_equal(abs_sample.session_id, ev.session_id);
            assert_string_equal(abs_sample.agent_id, ev.agent_id);
            assert_string_equal(abs_sample.tool_name, ev.tool_name);
            assert_string_equal(abs_sample.error_code, ev.error_code);
            assert_int_equal(abs_sample.event_type, ev.type);
            /* the group's next event resolves it */
            ev.ts_ms = T0 + t + 70001;
            snprintf(ev.record_id, sizeof ev.record_id, "next-%d-%zu", f,
                     len);
            assert_int_equal(det_engine_feed(e, &ev, 0), DET_FEED_COUNTED);
            t += 70002;
        }
    }
    det_engine_destroy(e);
    rule_set_destroy(rs);
}

/* An absence rule full of firing groups runs no overflow group (a pooled
 * silence means nothing): a new agent is counted and the capacity
 * warning fires; it resolves when a group has room again. */
#define ABS2                                                               \
    "[{'name':'quiet','kind':'absence','severity':'warning',"              \
    "'group_by':['agent_id'],'threshold':60,'max_keys':2}]"

static void test_absence_full(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS2, hold0);
    struct det_rule_info ri;

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(0, "t", "b"));
    det_engine_tick(e, T0 + 70000);
    assert_int_equal(c.n, 2); /* a and b silent past 60 s */
    feed(e, ev_call(66000, "t", "c")); /* no room, no overflow group */
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].rule, "rule_capacity");
    assert_string_equal(c.a[2].key, "quiet");
    assert_string_equal(c.a[2].summary,
                        "rule quiet is full: all 2 groups (max_keys) have "
                        "open alerts; events of new groups are not tracked");
    det_engine_rule_info(e, 0, &ri);
    assert_int_equal(ri.full, 1);
    assert_int_equal(ri.overflow, 0);
    assert_int_equal(ri.groups, 2);
    assert_int_equal(ri.at_capacity, 1);
    /* a's next event resolves a: it has no open alert any more, so there
     * is room (a is evictable, though timed until its next event,
     * absence.c) and the warning resolves */
    feed(e, ev_call(67000, "t", "a"));
    assert_int_equal(c.n, 5);
    assert_string_equal(c.a[3].key, "a");
    assert_int_equal(c.a[3].resolved, 1);
    assert_string_equal(c.a[4].rule, "rule_capacity");
    assert_int_equal(c.a[4].resolved, 1);
    assert_string_equal(c.a[4].id, c.a[2].id);
    assert_string_equal(c.a[4].summary,
                        "back to normal: rule quiet has room for new groups "
                        "again");
    det_engine_rule_info(e, 0, &ri);
    assert_int_equal(ri.at_capacity, 0);
    eng_free(e);
}

/* the end of input is not an absence */
/* A group whose episode resolved has no open alert: at max_keys it is
 * evicted for a new group like any idle group (it stays pinned until its
 * next event only to be timed by its deadline).  max_keys 1: db fires at
 * 10.001 s and resolves at its event at 20 s; web at 21 s takes its slot
 * (no capacity warning) and fires at 31.001 s; db, gone, does not fire
 * again. */
static void test_absence_resolved_evictable(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'dead','kind':'absence','severity':'warning',"
        "'exclude':{'tool_name':'tick'},'group_by':['tool_name'],"
        "'threshold':10,'max_keys':1}]",
        hold0);

    (void)state;
    feed(e, ev_call(0, "db", "a"));
    feed(e, ev_call(20000, "db", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    feed(e, ev_call(21000, "web", "a"));
    for (int64_t t = 22000; t <= 40000; t += 1000)
        feed(e, ev_call(t, "tick", "a")); /* time moves on */
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].rule, "dead");
    assert_string_equal(c.a[2].key, "web");
    assert_int_equal(c.a[2].started, T0 + 31001);
    eng_free(e);
}

/* hold_s 0: a group resolved by its own event is seen then, after the
 * events of that millisecond that came before it.  max_keys 2: db fires
 * at 7.001 s; at 8 s web's event, then db's, which resolves it; at 8.5 s
 * a new group, cache, takes web's slot (web is the least recently seen),
 * and db, kept, fires again when its silence passes 2 s + 5 s. */
static void test_absence_resolved_seen_in_order(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'dead','kind':'absence','severity':'warning',"
        "'exclude':{'tool_name':'tick'},'group_by':['tool_name'],"
        "'threshold':2,'max_keys':2}]",
        hold0);

    (void)state;
    feed(e, ev_call(0, "db", "a"));
    for (int64_t t = 100; t <= 6100; t += 2000)
        feed(e, ev_call(t, "web", "a"));
    feed(e, ev_call(7100, "tick", "a"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "db");
    feed(e, ev_call(8000, "web", "a"));
    feed(e, ev_call(8000, "db", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    feed(e, ev_call(8500, "cache", "a"));
    for (int64_t t = 9000; t <= 20000; t += 1000)
        feed(e, ev_call(t, "tick", "a"));
    /* db at 15.001 s (started 10.001 s), cache at 15.501 s; web, gone,
     * never */
    assert_int_equal(c.n, 4);
    assert_string_equal(c.a[2].key, "db");
    assert_int_equal(c.a[2].started, T0 + 10001);
    assert_string_equal(c.a[3].key, "cache");
    assert_int_equal(rinfo(e, "dead").evicted, 1);
    eng_free(e);
}

/* An absence rule keeps no muted group: one takes no room, evicts no
 * watched group and never makes the rule full; in a count rule full of
 * open alerts, a muted group's events go nowhere (not to the overflow
 * group) and raise no capacity warning. */
/* A distinct rule that is full (its one group open, a new group in the
 * overflow group) still counts the values of the group it holds: the
 * values' pool has room for the overflow group's too, so a refire within
 * hold_s is seen and the episode goes on. */
static void test_distinct_full_keeps_counting(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'fan','kind':'distinct','severity':'info',"
        "'field':'agent_id','group_by':['tool_name'],'window_s':10,"
        "'threshold':1,'max_keys':1,'hold_s':60}]",
        NULL);

    (void)state;
    feed(e, ev_call(0, "a", "x"));
    feed(e, ev_call(1000, "a", "y")); /* 2 agents: fires */
    assert_int_equal(c.n, 1);
    feed(e, ev_call(20000, "b", "x")); /* a clears at 10 s; b overflows */
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].rule, "rule_capacity");
    feed(e, ev_call(21000, "a", "x"));
    feed(e, ev_call(22000, "a", "y")); /* 2 again within hold_s */
    feed(e, ev_call(70000, "b", "x"));
    assert_int_equal(c.n, 2); /* a's episode goes on */
    feed(e, ev_call(200000, "c", "z"));
    /* a cleared at 31 s (x of 21 s left), resolved 60 s later */
    for (int i = 2; i < c.n; i++)
        if (strcmp(c.a[i].key, "a") == 0) {
            assert_int_equal(c.a[i].resolved, 1);
            assert_int_equal(c.a[i].resolved_at, T0 + 31000);
            assert_int_equal(c.a[i].ts, T0 + 91000);
            assert_true(c.a[i].value == 1);
            eng_free(e);
            return;
        }
    fail_msg("a never resolved");
}

static void test_muted_groups_take_no_room(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'dead','kind':'absence','severity':'warning',"
        "'exclude':{'tool_name':'tick'},'group_by':['tool_name'],"
        "'threshold':10,'max_keys':1,"
        "'overrides':[{'match':{'tool_name':'mute-*'},'enabled':false}]}]",
        hold0);

    (void)state;
    feed(e, ev_call(0, "db", "a"));
    feed(e, ev_call(5000, "mute-1", "a")); /* would evict db */
    for (int64_t t = 6000; t <= 16000; t += 1000)
        feed(e, ev_call(t, "tick", "a"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "db");
    assert_int_equal(c.a[0].started, T0 + 10001);
    eng_free(e);

    c.n = 0;
    e = eng_json(&c,
                 "[{'name':'vol','kind':'count','severity':'warning',"
                 "'group_by':['tool_name'],'window_s':60,'threshold':0,"
                 "'max_keys':1,"
                 "'overrides':[{'match':{'tool_name':'mute-*'},"
                 "'enabled':false}]}]",
                 hold0);
    feed(e, ev_call(0, "db", "a")); /* fires: the table is full */
    feed(e, ev_call(1000, "mute-1", "a"));
    feed(e, ev_call(2000, "mute-1", "a"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "db");
    feed(e, ev_call(3000, "web", "a")); /* a group that is not muted */
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[1].key, "(overflow)");
    assert_string_equal(c.a[2].rule, "rule_capacity");
    eng_free(e);
}

/* An episode that cleared and fired again within hold_s, still open at
 * the end of the input: the drain closes it at the end (when the engine
 * stopped judging it), not at its old clear. */
static void test_absence_refire_then_drain(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'quiet','kind':'absence','severity':'warning',"
        "'group_by':['agent_id'],'threshold':2,'hold_s':10}]",
        hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(5000, "t", "a"));  /* fired at 2.001 s; clears */
    feed(e, ev_call(70000, "t", "b")); /* a quiet again from 7.001 s */
    assert_int_equal(c.n, 1);
    det_engine_drain(e);
    assert_int_equal(c.n, 2); /* a resolved (b, just seen, is not quiet) */
    assert_string_equal(c.a[1].key, "a");
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].started, T0 + 2001);
    assert_int_equal(c.a[1].resolved_at, T0 + 70000);
    eng_free(e);
}

static void test_absence_not_at_drain(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS1, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    det_engine_drain(e);
    assert_int_equal(c.n, 0);
    eng_free(e);
}

/* ---- the hot path ---- */

/* Feeding allocates nothing, whatever the kind, firing and resolving
 * included: under AddressSanitizer a malloc hook counts the allocations
 * made while events go through a rule of every kind (as test_match). */

static void test_feed_allocates_nothing(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'c','kind':'count','severity':'info',"
        "'match':{'tool_name':['a*','*b']},'group_by':['tool_name'],"
        "'window_s':10,'threshold':5},"
        "{'name':'s','kind':'sum','severity':'info','field':'cost_usd',"
        "'group_by':['agent_id','tool_name'],'window_s':10,'threshold':3},"
        "{'name':'r','kind':'ratio','severity':'info',"
        "'numerator':{'error':true},'window_s':10,'threshold':0.1},"
        "{'name':'d','kind':'distinct','severity':'info',"
        "'field':'tool_name','window_s':10,'threshold':3},"
        "{'name':'m','kind':'max','severity':'info','field':'cost_usd',"
        "'threshold':1.5,'window_s':5},"
        "{'name':'q','kind':'sequence','severity':'info',"
        "'group_by':['agent_id'],'steps':[{'tool_name':'a1'},"
        "{'tool_name':'b2'}],'within_s':5,'window_s':5},"
        "{'name':'n','kind':'new_value','severity':'info',"
        "'field':'tool_name','learn_s':1,'window_s':5},"
        "{'name':'b','kind':'baseline','severity':'info','bucket_s':1,"
        "'history':3},"
        "{'name':'a','kind':'absence','severity':'info',"
        "'group_by':['agent_id'],'threshold':2},"
        "{'name':'g','kind':'absence','severity':'info','threshold':3}]",
        hold0);
    static const char *const tools[] = {"a1", "b2", "c3", "ab", "x",
                                        "late"}; /* new after 100 s */
    char agent[8];
    struct event ev;

    (void)state;
    mallocs = 0;
    hook_on();
    for (int i = 0; i < 20000; i++) {
        snprintf(agent, sizeof agent, "g%d", (i / 7) % 5);
        const char *tool = tools[i >= 10000 && i % 5 == 4 ? 5 : i % 5];

        ev = (i % 13) ? ev_call(i * 10 + (i / 500) * 4000, tool, agent)
                      : ev_error(i * 10 + (i / 500) * 4000, tool, agent);
        ev.has |= EVENT_HAS_COST;
        ev.cost_usd = (i % 17) * 0.1;
        det_engine_feed(e, &ev, 0);
    }
    det_engine_drain(e);
    hook_off();
    assert_int_equal(mallocs, 0);
    /* every kind had something to say */
    for (const char *k = "csrdmqnbag"; *k; k++) {
        char name[2] = {*k, 0};
        if (rinfo(e, name).fired == 0)
            fail_msg("rule %s never fired", name);
    }
    eng_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_strict),
        cmocka_unit_test(test_count_window_edge),
        cmocka_unit_test(test_count_clear_threshold),
        cmocka_unit_test(test_hold_needs_fire_condition),
        cmocka_unit_test(test_hold_refire_same_episode),
        cmocka_unit_test(test_group_by_none),
        cmocka_unit_test(test_group_by_three_missing),
        cmocka_unit_test(test_group_by_one_id),
        cmocka_unit_test(test_group_by_metadata),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_exclude),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_sum),
        cmocka_unit_test(test_ratio_min_count),
        cmocka_unit_test(test_ratio_fires_at_edge),
        cmocka_unit_test(test_ratio_edge_traps),
        cmocka_unit_test(test_ratio_edge_in_drain),
        cmocka_unit_test(test_ratio_threshold_and_clear),
        cmocka_unit_test(test_distinct),
        cmocka_unit_test(test_distinct_same_field_reused_event),
        cmocka_unit_test(test_max),
        cmocka_unit_test(test_sequence_in_order),
        cmocka_unit_test(test_sequence_within_edge),
        cmocka_unit_test(test_sequence_out_of_order),
        cmocka_unit_test(test_sequence_same_steps),
        cmocka_unit_test(test_sequence_step_is_rule_match),
        cmocka_unit_test(test_sequence_shared_steps_random),
        cmocka_unit_test(test_new_value_learning),
        cmocka_unit_test(test_baseline_mad_zero),
        cmocka_unit_test(test_baseline_min_value),
        cmocka_unit_test(test_absence_groups),
        cmocka_unit_test(test_absence_override_thresholds),
        cmocka_unit_test(test_absence_long_event),
        cmocka_unit_test(test_absence_full),
        cmocka_unit_test(test_absence_sample_edge),
        cmocka_unit_test(test_absence_not_at_drain),
        cmocka_unit_test(test_absence_refire_then_drain),
        cmocka_unit_test(test_absence_resolved_evictable),
        cmocka_unit_test(test_absence_resolved_seen_in_order),
        cmocka_unit_test(test_distinct_full_keeps_counting),
        cmocka_unit_test(test_muted_groups_take_no_room),
        cmocka_unit_test(test_feed_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
