/*
 * test_late.c - late (out-of-order) events, kind by kind, through the
 * engine in synthetic event time: an event stamped before `now` (the
 * newest event time seen) but inside the rule's window, one stamped at
 * exactly now - window_s and 1 ms either side, one whose bucket has left
 * the window or closed, and what a late event does to an episode (can it
 * fire, clear or resolve it; its started_at and the numbers in its
 * words).  docs/rules.md "Late events" says the same in words.
 *
 * Records of several agents share one audit stream, so a fleet capture is
 * slightly out of timestamp order; replay judges it in event time, and so
 * must every kind.  The rule-engine fixture delivered so
 * (tests/fixtures/late.jsonl, made by late.py from rules.jsonl: each
 * record 0 to 2 s after its stamp) must fire what it fires in order.
 *
 * Fixtures are read relative to the repository root, or $TW_FIXTURES.
 */
#include "det_helpers.h"

#include "app/replay.h"
#include "config/config.h"

#include <math.h>

static void hold0(struct det_engine_params *p)
{
    p->hold_s = 0;
}

/* A call of `tool` in session `sess` (agent "a") at T0 + ms. */
static struct event ev_sess(int64_t ms, const char *tool, const char *sess)
{
    struct event ev = ev_call(ms, tool, "a");

    snprintf(ev.session_id, sizeof ev.session_id, "%s", sess);
    return ev;
}

/* ---- count ---- */

#define COUNT10(thr)                                                       \
    "[{'name':'c','kind':'count','severity':'info',"                       \
    "'group_by':['tool_name'],'window_s':10,'threshold':" thr "}]"

/* A late event inside the window counts at its own time: it fires the
 * rule at now (started_at is now, not its stamp) and leaves the window
 * window_s after its stamp. */
static void test_count_late_in_window(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, COUNT10("2"), hold0);

    (void)state;
    feed(e, ev_call(5000, "t", "a"));
    feed(e, ev_call(9000, "t", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(1000, "t", "a")); /* 8 s late: 3 in (-1, 9] s */
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 3);
    assert_int_equal(c.a[0].started, T0 + 9000);
    assert_int_equal(rinfo(e, "c").late, 0);
    assert_int_equal(rinfo(e, "c").counted, 3);
    /* the late one leaves at 11 s: 2, resolved then */
    feed(e, ev_call(10999, "x", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(11000, "x", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 11000);
    assert_true(c.a[1].value == 2);
    eng_free(e);
}

/* now 20 s, window 10 s: stamped 10 s is late, 10.001 s counts, 9.999 s
 * is late; late events never change a group's count */
static void test_count_late_edge(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, COUNT10("1"), hold0);

    (void)state;
    feed(e, ev_call(20000, "t", "a"));
    feed(e, ev_call(10000, "t", "a"));
    feed(e, ev_call(9999, "t", "a"));
    assert_int_equal(rinfo(e, "c").late, 2);
    assert_int_equal(c.n, 0);
    feed(e, ev_call(10001, "t", "a")); /* 2: fires */
    assert_int_equal(rinfo(e, "c").late, 2);
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 2);
    /* and it leaves 10 s after its stamp: at 20.001 s */
    feed(e, ev_call(20000, "x", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(20001, "y", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 20001);
    eng_free(e);
}

/* From a threshold of 100000 a count is kept in 60 buckets (of 1 s for a
 * 60 s window), as sum's: one stamped after now - window_s but in a
 * bucket that has left the window is late too. */
static void test_count_buckets_late(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c,
                             "[{'name':'c','kind':'count','severity':'info',"
                             "'window_s':60,'threshold':100000}]",
                             hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(60500, "t", "a")); /* the window: buckets 1..60 s */
    feed(e, ev_call(500, "t", "a"));   /* = now - window_s */
    feed(e, ev_call(600, "t", "a"));   /* after it, bucket 0 s: gone */
    assert_int_equal(rinfo(e, "c").late, 2);
    feed(e, ev_call(1000, "t", "a")); /* bucket 1 s: counts */
    feed(e, ev_call(30000, "t", "a"));
    assert_int_equal(rinfo(e, "c").late, 2);
    assert_int_equal(rinfo(e, "c").counted, 4);
    eng_free(e);
}

/* ---- sum ---- */

#define SUM60                                                              \
    "[{'name':'spend','kind':'sum','severity':'warning','field':"          \
    "'cost_usd','group_by':['agent_id'],'window_s':60,'threshold':10}]"

/* A late amount in an older bucket still in the window adds there: it
 * fires at now with the true sum, and leaves with its bucket. */
static void test_sum_late_older_bucket(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SUM60, hold0);

    (void)state;
    feed(e, ev_cost(30000, "a", 6));
    feed(e, ev_cost(10200, "a", 5)); /* bucket 10 s */
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 11);
    assert_int_equal(c.a[0].started, T0 + 30000);
    assert_string_equal(c.a[0].summary, "sum of cost_usd 11 in 60s by "
                                        "agent a (threshold 10)");
    /* bucket 10 s leaves the window at 70 s */
    feed(e, ev_cost(69999, "b", 1));
    assert_int_equal(c.n, 1);
    feed(e, ev_cost(70000, "b", 1));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 70000);
    assert_true(c.a[1].value == 6);
    eng_free(e);
}

/* The edge is exact to the 1 s bucket: at now 60.5 s the window is the
 * buckets of 1..60 s; 0.5 s (now - window_s) and 0.501 s (bucket 0) are
 * late, 1 s counts. */
static void test_sum_late_edge(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SUM60, hold0);

    (void)state;
    feed(e, ev_cost(60500, "a", 1));
    feed(e, ev_cost(500, "a", 20));
    feed(e, ev_cost(501, "a", 20));
    assert_int_equal(rinfo(e, "spend").late, 2);
    assert_int_equal(c.n, 0);
    feed(e, ev_cost(1000, "a", 10)); /* 11 */
    assert_int_equal(rinfo(e, "spend").late, 2);
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 11);
    /* and leaves at 61 s */
    feed(e, ev_cost(61000, "b", 1));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 61000);
    eng_free(e);
}

/* ---- ratio ---- */

#define RATIO60                                                            \
    "[{'name':'errs','kind':'ratio','severity':'error',"                   \
    "'match':{'completed':true},'group_by':['tool_name'],"                 \
    "'numerator':{'error':true},'window_s':60,'threshold':0.5,"            \
    "'min_count':4}]"

/* Late errors in older buckets count in the window: 3 of 5 fires at now;
 * when their buckets leave, 1 of 3 is too few calls: resolved. */
static void test_ratio_late_older_buckets(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, RATIO60, hold0);

    (void)state;
    feed(e, ev_call(20000, "pg", "a"));
    feed(e, ev_call(21000, "pg", "a"));
    feed(e, ev_error(22000, "pg", "a"));
    feed(e, ev_error(5000, "pg", "a")); /* 2 of 4: not above 0.5 */
    assert_int_equal(c.n, 0);
    feed(e, ev_error(6000, "pg", "a")); /* 3 of 5 */
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 0.6);
    assert_int_equal(c.a[0].started, T0 + 22000);
    assert_int_equal(rinfo(e, "errs").late, 0);
    /* bucket 5 s leaves at 65 s: 2 of 4, not above: resolved */
    feed(e, ev_call(64999, "other", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(65000, "other", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 65000);
    assert_true(c.a[1].value == 0.5);
    /* late by more than the window: nothing, counted as late */
    feed(e, ev_error(5000, "pg", "a"));
    assert_int_equal(rinfo(e, "errs").late, 1);
    assert_int_equal(c.n, 2);
    eng_free(e);
}

/* A late event can clear an episode too: late successes in the window
 * bring the ratio down to its true value. */
static void test_ratio_late_clears(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, RATIO60, hold0);

    (void)state;
    feed(e, ev_error(20000, "pg", "a"));
    feed(e, ev_error(21000, "pg", "a"));
    feed(e, ev_error(22000, "pg", "a"));
    feed(e, ev_call(23000, "pg", "a")); /* 3 of 4 */
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 0.75);
    feed(e, ev_call(10000, "pg", "a")); /* 3 of 5: still above */
    assert_int_equal(c.n, 1);
    feed(e, ev_call(11000, "pg", "a")); /* 3 of 6: not above */
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 23000);
    assert_true(c.a[1].value == 0.5);
    eng_free(e);
}

/* The events of test_ratio_late_older_edge below in timestamp order: the
 * group is timed at its oldest bucket (5 s) and fires when it leaves. */
static void test_ratio_edge_in_order(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, RATIO60, hold0);

    (void)state;
    feed(e, ev_call(5000, "pg", "a"));
    for (int i = 0; i < 3; i++)
        feed(e, ev_call(10000 + i, "pg", "a"));
    for (int i = 0; i < 3; i++)
        feed(e, ev_error(10010 + i, "pg", "a"));
    feed(e, ev_call(20000, "pg", "a"));
    feed(e, ev_error(40000, "pg", "a"));
    feed(e, ev_error(40001, "pg", "a")); /* 5 of 10: not above */
    assert_int_equal(c.n, 0);
    feed(e, ev_call(64999, "other", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(65000, "other", "a")); /* bucket 5 s left: 5 of 9 */
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 65000);
    assert_true(fabs(c.a[0].value - 5.0 / 9.0) < 1e-9);
    eng_free(e);
}

/* A ratio group the window's edge may fire is timed at its oldest
 * bucket's departure; a late event can make an older bucket, whose edge
 * comes first, and the group is timed again then.  Here the group is
 * timed at 70 s (bucket 10 s: 3 calls, 3 errors; bucket 20 s: a call); a
 * late success makes bucket 5 s, and two errors at 40 s make 5 of 10.
 * When bucket 5 s leaves at 65 s the ratio is 5 of 9 (55.6 %) and the
 * rule fires (at 70 s bucket 10 s has left too: 2 of 3, too few calls). */
static void test_ratio_late_older_edge(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, RATIO60, hold0);

    (void)state;
    for (int i = 0; i < 3; i++)
        feed(e, ev_call(10000 + i, "pg", "a"));
    for (int i = 0; i < 3; i++)
        feed(e, ev_error(10010 + i, "pg", "a"));
    feed(e, ev_call(20000, "pg", "a")); /* 3 of 7 */
    feed(e, ev_call(5000, "pg", "a"));  /* late: 3 of 8 */
    feed(e, ev_error(40000, "pg", "a"));
    feed(e, ev_error(40001, "pg", "a")); /* 5 of 10: not above */
    assert_int_equal(c.n, 0);
    feed(e, ev_call(64999, "other", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(65000, "other", "a")); /* bucket 5 s left: 5 of 9 */
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 65000);
    assert_true(fabs(c.a[0].value - 5.0 / 9.0) < 1e-9);
    eng_free(e);
}

/* ---- distinct ---- */

#define DISTINCT10                                                         \
    "[{'name':'fan','kind':'distinct','severity':'warning',"               \
    "'field':'tool_name','group_by':['agent_id'],'window_s':10,"           \
    "'threshold':2}]"

/* A value already seen at a newer time keeps its newer time: the late
 * sighting does not make it leave sooner. */
static void test_distinct_late_seen_value(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, DISTINCT10, hold0);

    (void)state;
    feed(e, ev_call(9000, "a", "x"));
    feed(e, ev_call(9500, "b", "x"));
    feed(e, ev_call(1000, "a", "x")); /* "a" again, 8 s late */
    assert_int_equal(c.n, 0);
    feed(e, ev_call(10500, "c", "x"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 3);
    /* "a" leaves at 19 s (its 9 s sighting), not at 11 s */
    feed(e, ev_call(18999, "q", "other"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(19000, "q", "other"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 19000);
    eng_free(e);
}

/* A late new value counts at its own time and leaves window_s after it;
 * at exactly now - window_s it is late. */
static void test_distinct_late_new_value(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, DISTINCT10, hold0);

    (void)state;
    feed(e, ev_call(10000, "a", "x"));
    feed(e, ev_call(10000, "b", "x"));
    feed(e, ev_call(0, "c", "x")); /* now - window_s: late */
    assert_int_equal(rinfo(e, "fan").late, 1);
    assert_int_equal(c.n, 0);
    feed(e, ev_call(2000, "c", "x"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 3);
    assert_int_equal(c.a[0].started, T0 + 10000);
    feed(e, ev_call(11999, "q", "other"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(12000, "q", "other"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 12000);
    eng_free(e);
}

/* ---- max ---- */

#define MAX10                                                              \
    "[{'name':'slow','kind':'max','severity':'warning',"                   \
    "'field':'execution_duration_ms','group_by':['tool_name'],"            \
    "'window_s':10,'threshold':1000}]"

/* A late violation fires at now and clears window_s after its own stamp:
 * one 6 s late makes an episode of 4 s. */
static void test_max_late_violation(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, MAX10, hold0);

    (void)state;
    feed(e, ev_call(8000, "x", "a"));
    feed(e, ev_slow(2000, "t", 3000));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 8000);
    assert_true(c.a[0].value == 3000);
    feed(e, ev_call(11999, "x", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(12000, "x", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 12000);
    eng_free(e);
}

/* now 20 s, window 10 s: a violation stamped 10 s is late (an episode it
 * opened would be over already); 10.001 s fires and resolves 1 ms after
 * now. */
static void test_max_late_edge(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, MAX10, hold0);

    (void)state;
    feed(e, ev_call(20000, "x", "a"));
    feed(e, ev_slow(10000, "t", 3000));
    feed(e, ev_slow(9999, "t", 3000));
    assert_int_equal(rinfo(e, "slow").late, 2);
    assert_int_equal(c.n, 0);
    feed(e, ev_slow(10001, "t", 3000));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 20000);
    feed(e, ev_call(20001, "x", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 20001);
    eng_free(e);
}

/* A late violation older than the group's latest does not move its clear
 * time back, nor become "the last one" of the resolve's words. */
static void test_max_late_older_violation(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, MAX10, hold0);

    (void)state;
    feed(e, ev_slow(5000, "t", 3000));
    assert_int_equal(c.n, 1);
    feed(e, ev_slow(4000, "t", 2000)); /* older, smaller */
    feed(e, ev_call(14999, "x", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(15000, "x", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 15000);
    assert_true(c.a[1].value == 3000);
    assert_string_equal(c.a[1].summary,
                        "back to normal: no event over 1000 ms for tool t "
                        "for 10s (last one: 3000 ms)");
    eng_free(e);
}

/* ---- sequence ---- */

#define SEQ60                                                              \
    "[{'name':'exfil','kind':'sequence','severity':'critical',"            \
    "'group_by':['session_id'],'steps':[{'tool_name':'vault_*'},"          \
    "{'tool_name':'http_post'}],'within_s':60,'window_s':100}]"

/* A later step stamped before the group's newest event is taken at that
 * newest time (arrival order): a vault read at 20 s, then an http_post
 * stamped 15 s fed after it, is "0 s later".  The episode clears
 * window_s after that time. */
static void test_sequence_late_later_step(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SEQ60, hold0);

    (void)state;
    feed(e, ev_sess(20000, "vault_read", "s1"));
    feed(e, ev_sess(15000, "http_post", "s1"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 0);
    assert_int_equal(c.a[0].started, T0 + 20000);
    assert_string_equal(c.a[0].summary, "session s1 called vault_read and "
                                        "then http_post 0 s later");
    feed(e, ev_sess(119999, "x", "other"));
    assert_int_equal(c.n, 1);
    feed(e, ev_sess(120000, "x", "other"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 120000);
    eng_free(e);
}

/* A late first step starts its chain at its own stamp, not at the
 * group's newest time: a vault read stamped 20 s, fed after an http_post
 * of 50 s, and an http_post at 80 s are 60 s apart (within_s, inclusive;
 * taken at 50 s it said "30 s later"); one at 80.001 s is not a sequence
 * (taken at 50 s it paged).  An older first step does not replace a
 * newer chain, nor lend it its name. */
static void test_sequence_late_first_step(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SEQ60, hold0);

    (void)state;
    feed(e, ev_sess(50000, "http_post", "s1"));
    feed(e, ev_sess(20000, "vault_read", "s1"));
    feed(e, ev_sess(80000, "http_post", "s1"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 60);
    assert_string_equal(c.a[0].summary, "session s1 called vault_read and "
                                        "then http_post 60 s later");
    feed(e, ev_sess(50000, "http_post", "s2"));
    feed(e, ev_sess(20000, "vault_read", "s2"));
    feed(e, ev_sess(80001, "http_post", "s2"));
    assert_int_equal(c.n, 1);
    /* an older first step does not replace a newer chain */
    feed(e, ev_sess(50000, "vault_new", "s3"));
    feed(e, ev_sess(10000, "vault_old", "s3"));
    feed(e, ev_sess(90000, "http_post", "s3"));
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].value == 40);
    assert_string_equal(c.a[1].summary, "session s3 called vault_new and "
                                        "then http_post 40 s later");
    eng_free(e);
}

/* ---- new_value ---- */

#define NEW60                                                              \
    "[{'name':'newtool','kind':'new_value','severity':'warning',"          \
    "'field':'tool_name','group_by':['agent_id'],'learn_s':60,"            \
    "'window_s':100}]"

/* Learning ends when now - the group's first event >= learn_s, whatever
 * the stamp of the value: a value stamped inside the learning period that
 * arrives after it is new.  Its episode starts at now and clears
 * window_s after its own stamp. */
static void test_new_value_late_after_learning(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, NEW60, hold0);

    (void)state;
    feed(e, ev_call(0, "search", "a"));
    feed(e, ev_call(59999, "crm", "a")); /* learned */
    feed(e, ev_call(50000, "mail", "a")); /* learning: learned */
    assert_int_equal(c.n, 0);
    feed(e, ev_call(60000, "search", "a"));
    feed(e, ev_call(59000, "drop_table", "a"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a/drop_table");
    assert_int_equal(c.a[0].started, T0 + 60000);
    feed(e, ev_call(158999, "search", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(159000, "search", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 159000);
    /* known values stay known, whenever stamped */
    feed(e, ev_call(100000, "mail", "a"));
    assert_int_equal(c.n, 2);
    eng_free(e);
}

/* After learning, a new value stamped at or before now - window_s is
 * late: counted as such, not remembered (its next use in the window
 * fires), never learned silently. */
static void test_new_value_late_past_window(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, NEW60, hold0);

    (void)state;
    feed(e, ev_call(0, "search", "a"));
    feed(e, ev_call(200000, "search", "a"));
    feed(e, ev_call(100000, "drop_table", "a")); /* now - window_s */
    assert_int_equal(c.n, 0);
    assert_int_equal(rinfo(e, "newtool").late, 1);
    feed(e, ev_call(200000, "drop_table", "a"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a/drop_table");
    /* 1 ms younger: new, and its episode lasts 1 ms */
    feed(e, ev_call(100001, "rm_rf", "a"));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].key, "a/rm_rf");
    assert_int_equal(rinfo(e, "newtool").late, 1);
    eng_free(e);
}

/* ---- baseline ---- */

#define BASE60                                                             \
    "[{'name':'spike','kind':'baseline','severity':'warning',"             \
    "'group_by':['tool_name'],'bucket_s':60,'history':3}]"

/* An event stamped earlier in the current bucket counts there; one whose
 * bucket has closed (its history) is late, even 1 ms before the bucket's
 * start. */
static void test_baseline_late(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, BASE60, hold0);

    (void)state;
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < 10; i++)
            feed(e, ev_call(b * 60000 + i * 10, "pg", "a"));
    /* band 16 (median 10, MAD 0); bucket 3 starts at 180 s */
    for (int i = 0; i < 16; i++)
        feed(e, ev_call(200000 + i, "pg", "a"));
    feed(e, ev_call(179999, "pg", "a")); /* bucket 2: closed, late */
    assert_int_equal(rinfo(e, "spike").late, 1);
    assert_int_equal(c.n, 0);
    feed(e, ev_call(180000, "pg", "a")); /* bucket 3: 17 */
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 17);
    assert_true(c.a[0].threshold == 16);
    assert_int_equal(c.a[0].started, T0 + 200015);
    assert_int_equal(rinfo(e, "spike").late, 1);
    eng_free(e);
}

/* ---- absence ---- */

#define ABS60                                                              \
    "[{'name':'quiet','kind':'absence','severity':'warning',"              \
    "'group_by':['agent_id'],'threshold':60}]"

/* absence measures from an event's arrival on the clock (the group was
 * heard from when its event came): a late event resolves a firing group
 * and puts a quiet group's deadline off, whatever its stamp. */
static void test_absence_late(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS60, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(0, "t", "b"));
    feed(e, ev_call(70000, "t", "c"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[0].started, T0 + 60001);
    feed(e, ev_call(5000, "t", "a")); /* stamped before it fired */
    assert_int_equal(c.n, 3);
    assert_int_equal(c.a[2].resolved, 1);
    assert_string_equal(c.a[2].key, "a");
    assert_int_equal(c.a[2].resolved_at, T0 + 70000);
    eng_free(e);
}

/* ... and puts a quiet group's deadline off: a at 0 s, then a record of
 * a stamped 1 s that arrives at 50 s: a's silence passes 60 s at
 * 110.001 s (60 s after the arrival), not at 61.001 s, and it fires
 * allowed_lateness_s (5 s) later. */
static void test_absence_late_puts_off(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS60, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(50000, "t", "b"));
    feed(e, ev_call(1000, "t", "a"));
    feed(e, ev_call(100000, "t", "b"));
    feed(e, ev_call(115000, "t", "c"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(115001, "t", "c"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a");
    assert_int_equal(c.a[0].started, T0 + 110001);
    assert_int_equal(c.a[0].ts, T0 + 115001);
    eng_free(e);
}

/* The stream's own absence (group_by []): a record that comes, however
 * old its stamp, shows the stream delivering: it resolves the stall. */
static void test_absence_stream_late(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c,
                             "[{'name':'stalled','kind':'absence',"
                             "'severity':'critical','group_by':[],"
                             "'threshold':120}]",
                             hold0);
    struct event ev;

    (void)state;
    det_engine_connection(e, 1, T0);
    ev = ev_call(0, "t", "a");
    det_engine_feed(e, &ev, T0);
    /* the stream clock follows the wall (no lag seen) */
    det_engine_tick(e, T0 + 120000);
    assert_int_equal(c.n, 0);
    det_engine_tick(e, T0 + 120001);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 120001);
    ev = ev_call(-60000, "t", "a"); /* stamped a minute before the first */
    det_engine_feed(e, &ev, T0 + 130000);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 130000);
    eng_free(e);
}

/* absence at its boundary: a gap of exactly the threshold in event time
 * is not an absence, though another group's newer record moves the clock
 * past the deadline before the group's own record, stamped earlier,
 * arrives: the rule waits allowed_lateness_s (5 s) past a deadline. */
static void test_absence_boundary_out_of_order(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS60, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(60500, "t", "b"));
    feed(e, ev_call(60000, "t", "a")); /* a gap of exactly 60 s */
    feed(e, ev_call(65001, "t", "c")); /* a's deadline + 5 s has passed */
    assert_int_equal(c.n, 0);
    /* a's record counts when it came (60.5 s), as b's: their deadline
     * is 120.5 s, and they fire 5 s after it, least recently seen
     * first */
    feed(e, ev_call(125500, "t", "d"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(125501, "t", "e"));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[0].key, "b");
    assert_string_equal(c.a[1].key, "a");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(c.a[i].resolved, 0);
        assert_int_equal(c.a[i].started, T0 + 120501);
        assert_int_equal(c.a[i].ts, T0 + 125501);
        assert_true(c.a[i].value == 65.001);
    }
    eng_free(e);
}

/* A silence its own record shows, before the rule's wait for late
 * records is over, fires then, from its deadline, with the gap the
 * record ends, and clears at once.  Stamped 1 ms later, it shows none. */
static void test_absence_record_shows_silence(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS60, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(60001, "t", "b"));
    feed(e, ev_call(62000, "t", "b"));
    feed(e, ev_call(60001, "t", "a")); /* late, and a gap of 60.001 s */
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[0].key, "a");
    assert_int_equal(c.a[0].resolved, 0);
    assert_int_equal(c.a[0].started, T0 + 60001);
    assert_true(c.a[0].value == 60.001);
    assert_int_equal(c.a[0].ts, T0 + 62000); /* when it was seen */
    assert_int_equal(c.a[1].resolved, 1);
    assert_true(c.a[1].value == 60.001);
    assert_int_equal(c.a[1].resolved_at, T0 + 62000);
    /* the same, 1 ms less: no silence */
    feed(e, ev_call(122000, "t", "b"));
    feed(e, ev_call(120001, "t", "a")); /* 60 s after a's last arrival */
    assert_int_equal(c.n, 2);
    eng_free(e);
}

/* Live, once the stream is quiet, the wall clock moves the event clock
 * to the wall less the lag less allowed_lateness_s: late records have
 * come by then, so a group fires as soon as that clock passes its
 * deadline, not allowed_lateness_s after it. */
static void test_absence_quiet_live(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS60, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(50000, "t", "b"));
    det_engine_tick(e, T0 + 64999); /* the clock at 59.999 s */
    assert_int_equal(c.n, 0);
    det_engine_tick(e, T0 + 65500); /* at 60.5 s: a's deadline passed */
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a");
    assert_int_equal(c.a[0].started, T0 + 60001);
    assert_int_equal(c.a[0].ts, T0 + 65500); /* live: the wall clock */
    det_engine_tick(e, T0 + 115002); /* b: at its deadline, 110.001 s */
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].key, "b");
    assert_int_equal(c.a[1].started, T0 + 110001);
    assert_int_equal(c.a[1].ts, T0 + 115002);
    /* events drive the clock again: c waits for late records again */
    feed(e, ev_call(120000, "t", "c"));
    feed(e, ev_call(185000, "t", "d"));
    assert_int_equal(c.n, 2);
    feed(e, ev_call(185001, "t", "d"));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].key, "c");
    assert_int_equal(c.a[2].started, T0 + 180001);
    eng_free(e);
}

/* A group that fired while the wall clock drove the clock (no wait)
 * stays firing when events drive it again (a wait of 5 s): its silence
 * was already waited for.  Its repeats, every 2 s, go on; it does not
 * resolve without a record. */
static void test_absence_firing_holds_when_events_resume(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c,
                             "[{'name':'q','kind':'absence','severity':"
                             "'info','group_by':['agent_id'],'threshold':60,"
                             "'repeat_interval_s':2}]",
                             hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(50000, "t", "b"));
    det_engine_tick(e, T0 + 65500); /* the clock at 60.5 s */
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a");
    feed(e, ev_call(61000, "t", "c")); /* events drive it again */
    feed(e, ev_call(63000, "t", "c"));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].key, "a");
    assert_int_equal(c.a[1].resolved, 0); /* the repeat of 62.5 s */
    assert_int_equal(c.a[1].started, T0 + 60001);
    eng_free(e);
}

/* The end of the input (replay) ends the wait: no record is to come.
 * a's deadline (60.001 s) passed 2 s before the last record, within
 * the wait: it fires then, from its deadline; b's (62.001 s) has not
 * passed: the end of input is not an absence. */
static void test_absence_input_end(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, ABS60, hold0);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(2000, "t", "b"));
    feed(e, ev_call(62000, "t", "c"));
    assert_int_equal(c.n, 0);
    det_engine_input_end(e);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a");
    assert_int_equal(c.a[0].started, T0 + 60001);
    assert_int_equal(c.a[0].ts, T0 + 62000);
    assert_true(c.a[0].value == 62);
    det_engine_drain(e); /* closes it, at the end of the input */
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_string_equal(c.a[1].key, "a");
    eng_free(e);
}

/* ---- the rule-engine fixture, out of order ---- */

static void fixture(const char *name, char *path, size_t size)
{
    const char *dir = getenv("TW_FIXTURES");

    snprintf(path, size, "%s/%s", dir ? dir : "tests/fixtures", name);
}

/* Replay fixture `name` with rules.json, drained: its alerts in *out
 * (NDJSON), its summary in *err. */
static void replay_fixture(const char *name, char **out, char **err,
                           struct replay_stats *st)
{
    char path[512], msg[512];
    size_t out_len, err_len;
    FILE *in, *o, *e;
    struct cfg c;

    fixture("rules.json", path, sizeof path);
    memset(&c, 0, sizeof c);
    assert_int_equal(cfg_load(&c, path, msg, sizeof msg), CFG_OK);
    fixture(name, path, sizeof path);
    in = fopen(path, "rb");
    assert_non_null(in);
    o = open_memstream(out, &out_len);
    e = open_memstream(err, &err_len);
    assert_non_null(o);
    assert_non_null(e);
    assert_int_equal(replay_run(&c, in, o, e, REPLAY_AUTO, REPLAY_DRAIN, st),
                     REPLAY_OK);
    fclose(o);
    fclose(e);
    fclose(in);
    cfg_release(&c);
}

/* "firing rule key value" (the value of a firing) or "resolved rule key"
 * of each alert in `out`, one a line, into *lines (n at most max). */
static int alert_lines(char *out, char lines[][160], int max)
{
    int n = 0;

    for (char *line = out, *nl; *line != '\0'; line = nl + 1) {
        cJSON *j, *d;
        const char *type, *rule, *key;

        nl = strchr(line, '\n');
        assert_non_null(nl);
        j = cJSON_ParseWithLength(line, (size_t)(nl - line));
        assert_non_null(j);
        d = cJSON_GetObjectItemCaseSensitive(j, "data");
        type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
        rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "rule"));
        key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "key"));
        assert_true(type != NULL && rule != NULL && key != NULL);
        assert_true(n < max);
        if (strcmp(type, "alert.firing") == 0)
            snprintf(lines[n++], 160, "firing %s %s %g", rule, key,
                     cJSON_GetNumberValue(
                         cJSON_GetObjectItemCaseSensitive(d, "value")));
        else
            snprintf(lines[n++], 160, "resolved %s %s", rule, key);
        cJSON_Delete(j);
    }
    return n;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The fixture with 142 of its 1032 records after one stamped later (by up
 * to 1.655 s): every kind fires and resolves what it does in order, with
 * the same values; none of it is late.  The absence trap w-breath (gaps
 * of exactly 300 s) stays quiet: the rule waits allowed_lateness_s for
 * its records. */
static void test_fixture_out_of_order(void **state)
{
    static char in_order[64][160], late[64][160];
    struct replay_stats st1, st2;
    char *out1, *err1, *out2, *err2;
    int n1, n2;

    (void)state;
    replay_fixture("rules.jsonl", &out1, &err1, &st1);
    replay_fixture("late.jsonl", &out2, &err2, &st2);
    assert_int_equal(st2.events, 1032);
    assert_int_equal(st2.late, 0);
    n1 = alert_lines(out1, in_order, 64);
    n2 = alert_lines(out2, late, 64);
    assert_int_equal(n1, 20);
    assert_int_equal(n2, n1);
    qsort(in_order, (size_t)n1, sizeof in_order[0], cmp_line);
    qsort(late, (size_t)n2, sizeof late[0], cmp_line);
    for (int i = 0; i < n2; i++)
        assert_string_equal(late[i], in_order[i]);
    free(out1);
    free(err1);
    free(out2);
    free(err2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_late_in_window),
        cmocka_unit_test(test_count_late_edge),
        cmocka_unit_test(test_count_buckets_late),
        cmocka_unit_test(test_sum_late_older_bucket),
        cmocka_unit_test(test_sum_late_edge),
        cmocka_unit_test(test_ratio_late_older_buckets),
        cmocka_unit_test(test_ratio_late_clears),
        cmocka_unit_test(test_ratio_edge_in_order),
        cmocka_unit_test(test_ratio_late_older_edge),
        cmocka_unit_test(test_distinct_late_seen_value),
        cmocka_unit_test(test_distinct_late_new_value),
        cmocka_unit_test(test_max_late_violation),
        cmocka_unit_test(test_max_late_edge),
        cmocka_unit_test(test_max_late_older_violation),
        cmocka_unit_test(test_sequence_late_later_step),
        cmocka_unit_test(test_sequence_late_first_step),
        cmocka_unit_test(test_new_value_late_after_learning),
        cmocka_unit_test(test_new_value_late_past_window),
        cmocka_unit_test(test_baseline_late),
        cmocka_unit_test(test_absence_late),
        cmocka_unit_test(test_absence_late_puts_off),
        cmocka_unit_test(test_absence_stream_late),
        cmocka_unit_test(test_absence_boundary_out_of_order),
        cmocka_unit_test(test_absence_record_shows_silence),
        cmocka_unit_test(test_absence_quiet_live),
        cmocka_unit_test(test_absence_firing_holds_when_events_resume),
        cmocka_unit_test(test_absence_input_end),
#if 0 /* not fixed: see the test */
        cmocka_unit_test(test_absence_boundary_out_of_order),
#endif
        cmocka_unit_test(test_fixture_out_of_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
