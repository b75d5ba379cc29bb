/*
 * test_engine.c - the engine's clock, duplicates, group caps, reloads and
 * the alert lifecycle (fire, repeat, hold, resolve), all in synthetic
 * time, over count rules.
 */
#include "det_helpers.h"

/* volume: more than 5 calls in 10 s, repeat 30 s, hold 5 s */
#define SMALL                                                              \
    "[{'name':'volume','kind':'count','severity':'warning',"               \
    "'match':{'completed':true},'group_by':['tool_name'],"                 \
    "'window_s':10,'threshold':5}]"

static void small(struct det_engine_params *p)
{
    p->repeat_interval_s = 30;
    p->hold_s = 5;
}

static void test_fire_repeat_resolve(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SMALL, small);
    char id[ALERT_ID_HEX + 1];
    const char *key = "t";

    (void)state;
    /* ten calls a second for 70 s */
    feed_calls(e, 700, 0, 100, "t", "a");
    assert_int_equal(c.n, 3);
    /* the 6th call (0.5 s) fires; repeats every 30 s, at their own time */
    assert_int_equal(c.a[0].resolved, 0);
    assert_int_equal(c.a[0].started, T0 + 500);
    assert_int_equal(c.a[0].ts, T0 + 500);
    assert_int_equal(c.a[1].resolved, 0);
    assert_int_equal(c.a[1].ts, T0 + 30500);
    assert_int_equal(c.a[2].ts, T0 + 60500);
    assert_int_equal(c.a[2].started, T0 + 500);
    alert_episode_id("volume", &key, 1, T0 + 500, id);
    for (int i = 0; i < 3; i++)
        assert_string_equal(c.a[i].id, id);
    assert_int_equal(rinfo(e, "volume").repeated, 2);
    /* silence: the last 5 calls (69.5..69.9) stay until 79.4 s when the
     * call of 69.4 s leaves: cleared at 79.4, resolved after hold at 84.4 */
    feed(e, ev_call(84399, "other", "a"));
    assert_int_equal(c.n, 3);
    feed(e, ev_call(200000, "other", "a"));
    assert_int_equal(c.n, 4);
    assert_int_equal(c.a[3].resolved, 1);
    assert_int_equal(c.a[3].ts, T0 + 84400);
    assert_int_equal(c.a[3].resolved_at, T0 + 79400);
    assert_int_equal(c.a[3].started, T0 + 500);
    assert_string_equal(c.a[3].id, id);
    eng_free(e);
}

static void hold20(struct det_engine_params *p)
{
    small(p);
    p->hold_s = 20;
}

/* A reload with the same volume rule: the new engine carries the open
 * episode on (no second firing; the same id resolves later). */
static void test_adopt_keeps_unchanged(void **state)
{
    static struct cap c;
    det_engine *old = eng_json(&c, SMALL, small), *e;
    char id[ALERT_ID_HEX + 1];
    const char *key = "t";

    (void)state;
    feed_calls(old, 10, 0, 100, "t", "a"); /* fires at the 6th call */
    assert_int_equal(c.n, 1);
    e = eng_more(&c, SMALL, hold20); /* engine-wide lifecycle may change */
    assert_int_equal(det_engine_adopt(e, old), 1);
    eng_free(old);
    assert_int_equal(c.n, 1); /* nothing sent by the reload */
    assert_true(det_engine_is_firing(e, "volume", "t"));
    assert_int_equal(det_engine_now(e), T0 + 900);
    assert_int_equal(rinfo(e, "volume").fired, 1);
    /* still above: no new firing; then silence resolves the same episode */
    feed_calls(e, 5, 1000, 100, "t", "a");
    assert_int_equal(c.n, 1);
    feed(e, ev_call(100000, "other", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    alert_episode_id("volume", &key, 1, T0 + 500, id);
    assert_string_equal(c.a[1].id, id);
    eng_free(e);
}

static void no_wait(struct det_engine_params *p)
{
    small(p);
    p->allowed_lateness_s = 0;
}

/* A reload that changes allowed_lateness_s: an absence rule kept with
 * its groups waits as the new setting says (here no more: a's silence
 * fires as it passes 60 s, not 5 s later). */
static void test_adopt_absence_wait(void **state)
{
    static struct cap c;
    static const char json[] =
        "[{'name':'quiet','kind':'absence','severity':'warning',"
        "'group_by':['agent_id'],'threshold':60}]";
    det_engine *old = eng_json(&c, json, small), *e;

    (void)state;
    feed(old, ev_call(0, "t", "a"));
    e = eng_more(&c, json, no_wait);
    assert_int_equal(det_engine_adopt(e, old), 1);
    feed(e, ev_call(60001, "t", "b"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a");
    assert_int_equal(c.a[0].started, T0 + 60001);
    eng_free(old);
    eng_free(e);
}

/* A reload that changes the volume threshold closes its open episode with
 * a resolve that says why; an unchanged rule keeps its state. */
static void test_adopt_closes_changed(void **state)
{
    static struct cap c;
    det_engine *old = eng_json(
        &c,
        "[{'name':'volume','kind':'count','severity':'warning',"
        "'group_by':['tool_name'],'window_s':10,'threshold':5},"
        "{'name':'keep','kind':'count','severity':'info',"
        "'group_by':['agent_id'],'window_s':10,'threshold':5}]",
        small);
    det_engine *e;

    (void)state;
    feed_calls(old, 10, 0, 100, "t", "a");
    assert_int_equal(c.n, 2); /* volume on t, keep on a */
    e = eng_more(&c,
                 "[{'name':'keep','kind':'count','severity':'info',"
                 "'group_by':['agent_id'],'window_s':10,'threshold':5},"
                 "{'name':'volume','kind':'count','severity':'warning',"
                 "'group_by':['tool_name'],'window_s':10,'threshold':50}]",
                 small);
    assert_int_equal(det_engine_adopt(e, old), 1);
    eng_free(old);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.a[2].resolved, 1);
    assert_string_equal(c.a[2].rule, "volume");
    assert_string_equal(c.a[2].id, c.a[0].id);
    assert_true(strncmp(c.a[2].summary, "closed by a configuration reload",
                        32) == 0);
    assert_false(det_engine_is_firing(e, "volume", "t"));
    assert_true(det_engine_is_firing(e, "keep", "a"));
    /* under the new threshold the same traffic does not fire */
    feed_calls(e, 10, 1000, 100, "t", "a");
    assert_int_equal(c.n, 3);
    eng_free(e);
}

/* A rule that a reload removes is closed too. */
static void test_adopt_closes_removed(void **state)
{
    static struct cap c;
    det_engine *old = eng_json(&c, SMALL, small), *e;

    (void)state;
    feed_calls(old, 10, 0, 100, "t", "a");
    assert_int_equal(c.n, 1);
    e = eng_more(&c,
                 "[{'name':'other','kind':'count','severity':'info',"
                 "'window_s':10,'threshold':5}]",
                 small);
    assert_int_equal(det_engine_adopt(e, old), 0);
    eng_free(old);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_string_equal(c.a[1].id, c.a[0].id);
    eng_free(e);
}

static void test_hold_suppresses_flap(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SMALL, hold20);

    (void)state;
    feed_calls(e, 10, 0, 100, "t", "a"); /* fires at 0.5 s */
    assert_int_equal(c.n, 1);
    /* clears at 10.4 s (the call of 0.4 s leaves); returns at 15 s, within
     * hold: one episode, nothing sent */
    feed_calls(e, 10, 15000, 100, "t", "a");
    assert_int_equal(c.n, 1);
    assert_true(det_engine_is_firing(e, "volume", "t"));
    /* clears again at 25.4 s and stays clear: resolved at 45.4 s */
    feed(e, ev_call(45399, "other", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(45400, "other", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 25400);
    assert_string_equal(c.a[1].id, c.a[0].id);
    /* a return after the resolve is a new episode with a new id */
    feed_calls(e, 6, 100000, 100, "t", "a");
    assert_int_equal(c.n, 3);
    assert_int_equal(c.a[2].resolved, 0);
    assert_int_equal(c.a[2].started, T0 + 100500);
    assert_string_not_equal(c.a[2].id, c.a[0].id);
    eng_free(e);
}

static void test_late_events(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, NULL);

    (void)state;
    feed(e, ev_call(100000, "t", "a"));
    feed(e, ev_call(40000, "t", "a")); /* exactly 60 s old: late */
    feed(e, ev_call(1000, "t", "a"));
    feed(e, ev_call(41000, "t", "a")); /* 59 s old: counted */
    assert_int_equal(rinfo(e, "volume").late, 2);
    assert_int_equal(rinfo(e, "volume").counted, 2);
    assert_int_equal(det_engine_stats(e)->late, 2);
    /* an old event never moves the clock back */
    assert_int_equal(det_engine_now(e), T0 + 100000);
    eng_free(e);
}

static void test_future_clamped_live(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, NULL);
    struct event ev;

    (void)state;
    /* the first event has no stream to be judged against: 299 s ahead of
     * the wall is within max_future_skew_s, kept */
    ev = ev_call(299000, "t", "a");
    det_engine_feed(e, &ev, T0);
    assert_int_equal(det_engine_now(e), T0 + 299000);
    assert_int_equal(det_engine_stats(e)->future_clamped, 0);
    assert_int_equal(det_engine_stats(e)->outliers, 0);
    eng_free(e);

    e = eng_default(&c, "volume", NULL, NULL);
    ev = ev_call(1000, "t", "a");
    det_engine_feed(e, &ev, T0 + 1000);
    ev = ev_call(300001 + 2000, "t", "a"); /* > 300 s past the wall */
    det_engine_feed(e, &ev, T0 + 2000);
    assert_int_equal(det_engine_now(e), T0 + 1000); /* counted at now */
    assert_int_equal(det_engine_stats(e)->future_clamped, 1);
    /* year 9999 cannot wipe the windows: the next normal event counts */
    ev = ev_call(0, "t", "a");
    ev.ts_ms = 253402300799000LL;
    det_engine_feed(e, &ev, T0 + 2000);
    assert_int_equal(det_engine_now(e), T0 + 1000);
    ev = ev_call(2000, "t", "a");
    det_engine_feed(e, &ev, T0 + 2000);
    assert_int_equal(det_engine_now(e), T0 + 2000);
    assert_int_equal(rinfo(e, "volume").counted, 4);
    assert_int_equal(rinfo(e, "volume").late, 0);
    assert_int_equal(det_engine_stats(e)->future_clamped, 2);
    assert_int_equal(det_engine_stats(e)->outliers, 0);
    eng_free(e);

    /* with no clock yet (just connected: waiting for a backlog), a
     * clamped event has no time to take */
    e = eng_default(&c, "volume", NULL, NULL);
    det_engine_connection(e, 1, T0);
    ev = ev_call(300001, "t", "a");
    assert_int_equal(det_engine_feed(e, &ev, T0), DET_FEED_UNTIMED);
    assert_int_equal(det_engine_now(e), INT64_MIN);
    assert_int_equal(det_engine_stats(e)->untimed, 1);
    eng_free(e);
}

static void test_live_clock_and_untimed(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, NULL);
    struct event ev;

    (void)state;
    /* replay: an event with no timestamp before any time is known */
    ev = ev_call(0, "t", "a");
    ev.has = 0;
    assert_int_equal(det_engine_feed(e, &ev, 0), DET_FEED_UNTIMED);
    assert_int_equal(det_engine_now(e), INT64_MIN);
    /* then it takes `now` */
    feed(e, ev_call(10000, "t", "a"));
    ev = ev_call(0, "t", "a");
    ev.has = 0;
    assert_int_equal(det_engine_feed(e, &ev, 0), DET_FEED_COUNTED);
    assert_int_equal(det_engine_now(e), T0 + 10000);
    assert_int_equal(det_engine_stats(e)->no_timestamp, 1);
    assert_int_equal(det_engine_stats(e)->untimed, 1);
    /* live: the wall clock less the allowed lateness, when later */
    det_engine_tick(e, T0 + 100000);
    assert_int_equal(det_engine_now(e), T0 + 95000);
    det_engine_tick(e, T0 + 50000); /* never back */
    assert_int_equal(det_engine_now(e), T0 + 95000);
    ev = ev_call(0, "t", "a");
    ev.has = 0;
    det_engine_feed(e, &ev, T0 + 200000);
    assert_int_equal(det_engine_now(e), T0 + 195000);
    eng_free(e);
}

static void dedupe3(struct det_engine_params *p)
{
    p->dedupe_window = 3;
}

static void test_duplicates(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, dedupe3);
    struct event ev[5];

    (void)state;
    for (int i = 0; i < 5; i++) {
        ev[i] = ev_call(i * 1000, "t", "a");
        snprintf(ev[i].record_id, sizeof ev[i].record_id, "id-%d", i);
    }
    assert_int_equal(det_engine_feed(e, &ev[0], 0), DET_FEED_COUNTED);
    assert_int_equal(det_engine_feed(e, &ev[0], 0), DET_FEED_DUPLICATE);
    det_engine_feed(e, &ev[1], 0);
    det_engine_feed(e, &ev[2], 0);
    assert_int_equal(det_engine_feed(e, &ev[0], 0), DET_FEED_DUPLICATE);
    det_engine_feed(e, &ev[3], 0); /* id-0 falls out of the last 3 */
    assert_int_equal(det_engine_feed(e, &ev[0], 0), DET_FEED_COUNTED);
    assert_int_equal(det_engine_stats(e)->duplicates, 2);
    assert_int_equal(rinfo(e, "volume").counted, 5);
    /* events without a record id are never duplicates */
    ev[4].record_id[0] = '\0';
    assert_int_equal(det_engine_feed(e, &ev[4], 0), DET_FEED_COUNTED);
    assert_int_equal(det_engine_feed(e, &ev[4], 0), DET_FEED_COUNTED);
    eng_free(e);
}

/* det_engine_prefetch is a hint: right, wrong, stale or unused, the
 * verdicts are those of test_duplicates */
static void test_prefetch_hint_changes_nothing(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, dedupe3);
    struct event ev[4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        ev[i] = ev_call(i * 1000, "t", "a");
        snprintf(ev[i].record_id, sizeof ev[i].record_id, "id-%d", i);
    }
    det_engine_prefetch(e, "id-0", 4); /* right */
    assert_int_equal(det_engine_feed(e, &ev[0], 0), DET_FEED_COUNTED);
    det_engine_prefetch(e, "id-0", 4); /* right, a duplicate */
    assert_int_equal(det_engine_feed(e, &ev[0], 0), DET_FEED_DUPLICATE);
    det_engine_prefetch(e, "id-0", 4); /* wrong: another id is fed */
    assert_int_equal(det_engine_feed(e, &ev[1], 0), DET_FEED_COUNTED);
    det_engine_prefetch(e, "id-", 3); /* a prefix of the id fed */
    assert_int_equal(det_engine_feed(e, &ev[2], 0), DET_FEED_COUNTED);
    det_engine_prefetch(e, "id-22", 5); /* the id fed is a prefix of it */
    assert_int_equal(det_engine_feed(e, &ev[2], 0), DET_FEED_DUPLICATE);
    /* a hint is used up by one feed: the next feed hashes its own id */
    det_engine_prefetch(e, "id-1", 4);
    assert_int_equal(det_engine_feed(e, &ev[1], 0), DET_FEED_DUPLICATE);
    assert_int_equal(det_engine_feed(e, &ev[3], 0), DET_FEED_COUNTED);
    /* too long for a record id, and empty: ignored */
    char big[EVENT_ID_MAX + 1];
    memset(big, 'x', sizeof big);
    det_engine_prefetch(e, big, sizeof big);
    det_engine_prefetch(e, "", 0);
    assert_int_equal(det_engine_feed(e, &ev[0], 0), DET_FEED_COUNTED);
    assert_int_equal(det_engine_stats(e)->duplicates, 3);
    assert_int_equal(rinfo(e, "volume").counted, 5);
    eng_free(e);
}

/* 100 firing tools, then 20000 more tools through a 10000-group table */
static void test_eviction_keeps_firing(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, NULL);
    struct det_rule_info gi;
    char tool[32];

    (void)state;
    for (int t = 0; t < 100; t++) {
        snprintf(tool, sizeof tool, "hot-%d", t);
        feed_calls(e, 101, 0, 1, tool, "a");
    }
    assert_int_equal(c.n, 100);
    for (int t = 0; t < 20000; t++) {
        snprintf(tool, sizeof tool, "cold-%d", t);
        feed(e, ev_call(1000 + t / 100, tool, "a"));
    }
    gi = rinfo(e, "volume");
    assert_int_equal(gi.groups, 10000);
    assert_int_equal(gi.open, 100);
    assert_int_equal(gi.evicted, 10100);
    assert_int_equal(gi.full, 0);
    for (int t = 0; t < 100; t++) {
        snprintf(tool, sizeof tool, "hot-%d", t);
        assert_true(det_engine_is_firing(e, "volume", tool));
    }
    assert_false(det_engine_is_firing(e, "volume", "cold-0"));
    /* a hot tool keeps its episode: no second firing */
    feed(e, ev_call(2000, "hot-7", "a"));
    assert_int_equal(c.n, 100);
    /* and every one of them resolves later */
    feed(e, ev_call(1000000, "x", "a"));
    assert_int_equal(c.n, 200);
    for (int i = 100; i < 200; i++)
        assert_int_equal(c.a[i].resolved, 1);
    eng_free(e);
}

static void cap2(struct det_engine_params *p)
{
    p->max_keys = 2;
}

/* Every group alerting: a new group's events go to the rule's overflow
 * group, which fires as "(overflow)"; the rule_capacity warning fires at
 * the first of them and resolves when the rule has room again. */
static void test_table_full_of_alerts(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, cap2);
    struct det_rule_info gi;
    char id[ALERT_ID_HEX + 1];
    const char *rn = "volume";

    (void)state;
    feed_calls(e, 101, 0, 1, "a", "x");
    feed_calls(e, 101, 0, 1, "b", "x");
    assert_int_equal(c.n, 2);
    feed_calls(e, 100, 0, 1, "c", "x"); /* no room: the overflow group */
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].rule, "rule_capacity");
    assert_string_equal(c.a[2].kind, "capacity");
    assert_string_equal(c.a[2].key, "volume");
    assert_int_equal(c.a[2].ngroup, 1);
    assert_string_equal(c.a[2].gname[0], "rule");
    assert_string_equal(c.a[2].gvalue[0], "volume");
    assert_int_equal(c.a[2].resolved, 0);
    assert_true(c.a[2].value == 2);
    assert_true(c.a[2].threshold == 2);
    alert_episode_id("rule_capacity", &rn, 1, c.a[2].started, id);
    assert_string_equal(c.a[2].id, id);
    assert_string_equal(c.a[2].summary,
                        "rule volume is full: all 2 groups (max_keys) have "
                        "open alerts; events of new groups go to its "
                        "(overflow) group");
    gi = rinfo(e, "volume");
    assert_int_equal(gi.full, 100);
    assert_int_equal(gi.overflow, 100);
    assert_int_equal(gi.at_capacity, 1);
    assert_int_equal(gi.groups, 3);
    assert_int_equal(gi.evicted, 0);
    /* the 101st event of c: above the threshold in the overflow group */
    feed(e, ev_call(100, "c", "x"));
    assert_int_equal(c.n, 4);
    assert_string_equal(c.a[3].rule, "volume");
    assert_string_equal(c.a[3].key, "(overflow)");
    assert_string_equal(c.a[3].gname[0], "tool_name");
    assert_string_equal(c.a[3].gvalue[0], "(overflow)");
    assert_true(c.a[3].value == 101);
    assert_non_null(strstr(c.a[3].summary,
                           "the overflow group: 101 events of groups this "
                           "rule had no room for (all 2 groups had open "
                           "alerts)"));
    assert_true(det_engine_is_firing(e, "volume", "(overflow)"));
    assert_false(det_engine_is_firing(e, "volume", "c"));
    /* silence: a, b and the overflow group resolve, and with room again
     * the warning resolves, with the same id */
    feed(e, ev_call(1000000, "d", "x"));
    assert_int_equal(c.n, 8);
    for (int i = 4; i < 8; i++)
        assert_int_equal(c.a[i].resolved, 1);
    assert_string_equal(c.a[6].key, "(overflow)");
    assert_string_equal(c.a[7].rule, "rule_capacity"); /* after its rule's */
    assert_string_equal(c.a[7].id, id);
    assert_int_equal(c.a[7].resolved_at, c.a[7].ts);
    assert_false(det_engine_is_firing(e, "volume", "(overflow)"));
    gi = rinfo(e, "volume");
    assert_int_equal(gi.at_capacity, 0);
    assert_int_equal(gi.overflow, 0);
    assert_int_equal(gi.groups, 2); /* b and d; a evicted by d */
    eng_free(e);
}

/* max_keys 10 with 10 tools whose calls were slow (each firing): the
 * victim's 9 s call on an 11th tool still fires, as "(overflow)". */
#define SLOW10                                                             \
    "[{'name':'slow','kind':'max','severity':'warning',"                   \
    "'field':'execution_duration_ms','group_by':['tool_name'],"            \
    "'threshold':5000,'window_s':60,'max_keys':10}]"

static void test_overflow_max_keys_10(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, SLOW10, NULL);
    struct det_rule_info gi;
    char tool[32];

    (void)state;
    for (int i = 0; i < 10; i++) {
        snprintf(tool, sizeof tool, "hostile-%d", i);
        feed(e, ev_slow(i, tool, 6000));
    }
    assert_int_equal(c.n, 10);
    gi = rinfo(e, "slow");
    assert_int_equal(gi.groups, 10);
    assert_int_equal(gi.open, 10);
    /* not above: max needs no group for it */
    feed(e, ev_slow(20, "victim", 100));
    assert_int_equal(c.n, 10);
    feed(e, ev_slow(30, "victim", 9000));
    assert_int_equal(c.n, 12);
    /* the anomaly, then the warning the event found */
    assert_string_equal(c.a[10].rule, "slow");
    assert_string_equal(c.a[10].key, "(overflow)");
    assert_true(c.a[10].value == 9000);
    assert_true(c.a[10].threshold == 5000);
    assert_true(c.a[10].record_id[0] != '\0'); /* the victim's call */
    assert_string_equal(c.a[11].rule, "rule_capacity");
    assert_string_equal(c.a[11].key, "slow");
    assert_string_equal(c.a[11].record_id, ""); /* the warning: no sample */
    gi = rinfo(e, "slow");
    assert_int_equal(gi.full, 1);
    assert_int_equal(gi.overflow, 1);
    assert_int_equal(gi.open, 11);
    assert_int_equal(gi.groups, 11);
    eng_free(e);
}

static void test_deterministic(void **state)
{
    static struct cap c1, c2;
    det_engine *e1, *e2;

    (void)state;
    /* two engines (two random hash keys), the same events */
    e1 = eng_default(&c1, "*", NULL, NULL);
    e2 = eng_default(&c2, "*", NULL, NULL);
    for (int i = 0; i < 3000; i++) {
        char tool[16];
        snprintf(tool, sizeof tool, "t%d", i % 7);
        struct event ev = i % 3 ? ev_call(i * 50, tool, "a")
                                : ev_error(i * 50, tool, "b");
        det_engine_feed(e1, &ev, 0);
        det_engine_feed(e2, &ev, 0);
    }
    det_engine_drain(e1);
    det_engine_drain(e2);
    assert_true(c1.n > 0);
    assert_int_equal(c1.n, c2.n);
    assert_memory_equal(c1.a, c2.a, sizeof c1.a[0] * (size_t)c1.n);
    eng_free(e1);
    eng_free(e2);
}

static void test_drain(void **state)
{
    static struct cap c;
    det_engine *e;

    (void)state;
    e = eng_default(&c, "*", NULL, NULL);
    feed_calls(e, 101, 0, 100, "t", "a");
    assert_int_equal(c.n, 1);
    det_engine_drain(e);
    /* resolved; no stall invented by the quiet end */
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_string_equal(c.a[1].rule, "volume");
    /* calls at 0..10 s: the call of 0 s leaves at 60 s, leaving 100:
     * cleared at 60 s, resolved after hold at 120 s */
    assert_int_equal(c.a[1].resolved_at, T0 + 60000);
    assert_int_equal(c.a[1].ts, T0 + 120000);
    eng_free(e);
}

static void test_memory_per_group(void **state)
{
    det_engine *e = eng_default(NULL, "*", NULL, NULL);

    (void)state;
    assert_int_equal(sizeof(struct det_slot), 32);
    /* slot + bucket + state (count.h, ratio.c, max.c, absence.c); count
     * and ratio keep their times and buckets in their rule's pool, by
     * what a group holds */
    assert_int_equal(rinfo(e, "volume").group_bytes, 32 + 4 + 32);
    assert_int_equal(rinfo(e, "error_rate").group_bytes, 32 + 4 + 32);
    assert_int_equal(rinfo(e, "credential_access").group_bytes,
                     32 + 4 + 32);
    assert_int_equal(rinfo(e, "latency").group_bytes, 32 + 4 + 16);
    assert_int_equal(rinfo(e, "stream_stalled").group_bytes, 32 + 4 + 160);
    assert_int_equal(rinfo(e, "volume").alert_bytes,
                     sizeof(struct det_alert));
    assert_true(sizeof(struct det_alert) < 1536);
    eng_free(e);
}

/* Two absence rules take the same event: its strings are packed once and
 * copied after each group's values where they fit (tool "t": 2 bytes of
 * values), and kept in the alert record where they do not (a 60-byte
 * agent: 61 + 132 > 144); both alerts show the group's last event. */
static void test_absence_same_event_two_rules(void **state)
{
    static struct cap c;
    static const char json[] =
        "[{'name':'bytool','kind':'absence','severity':'warning',"
        "'group_by':['tool_name'],'threshold':60},"
        "{'name':'byagent','kind':'absence','severity':'warning',"
        "'group_by':['agent_id'],'threshold':60}]";
    char agent[61];
    struct event a, b;
    det_engine *e = eng_json(&c, json, small);

    (void)state;
    memset(agent, 'g', sizeof agent - 1);
    agent[sizeof agent - 1] = '\0';
    a = ev_call(0, "t", agent);
    feed(e, a);
    b = ev_call(1000, "t", agent); /* the next event's, not a's */
    feed(e, b);
    feed(e, ev_call(66000, "u", "other"));
    assert_int_equal(c.n, 0);
    /* 60.001 s since b, and allowed_lateness_s (5 s) waited */
    feed(e, ev_call(66001, "u", "other"));
    assert_int_equal(c.n, 2);
    for (int i = 0; i < 2; i++) {
        const struct cap_alert *x = &c.a[i];

        assert_string_equal(x->key, strcmp(x->rule, "bytool") == 0 ? "t"
                                                                   : agent);
        assert_string_equal(x->record_id, b.record_id);
        assert_int_equal(x->started, T0 + 61001);
    }
    assert_string_not_equal(c.a[0].rule, c.a[1].rule);
    eng_free(e);
}

static void test_create_refused(void **state)
{
    (void)state;
    assert_null(det_engine_create(NULL, NULL, "x", &cap_cb, NULL));
    det_engine_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fire_repeat_resolve),
        cmocka_unit_test(test_hold_suppresses_flap),
        cmocka_unit_test(test_adopt_keeps_unchanged),
        cmocka_unit_test(test_adopt_absence_wait),
        cmocka_unit_test(test_adopt_closes_changed),
        cmocka_unit_test(test_adopt_closes_removed),
        cmocka_unit_test(test_late_events),
        cmocka_unit_test(test_future_clamped_live),
        cmocka_unit_test(test_live_clock_and_untimed),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_prefetch_hint_changes_nothing),
        cmocka_unit_test(test_eviction_keeps_firing),
        cmocka_unit_test(test_table_full_of_alerts),
        cmocka_unit_test(test_overflow_max_keys_10),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_memory_per_group),
        cmocka_unit_test(test_absence_same_event_two_rules),
        cmocka_unit_test(test_create_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
