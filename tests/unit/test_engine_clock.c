/*
 * test_engine_clock.c - the engine's clock live (engine.h "Clock"), in
 * synthetic time: a lagging source and a backlog are judged in event
 * time, as replay judges the same events; a quiet stream moves on by the
 * wall clock less the observed lag; disconnected or stalled, the rules
 * are unknown, not clear, and the stall tells no events from late ones;
 * one record far ahead of the stream cannot move the clock, a whole
 * stream can.
 *
 * Times: events are stamped T0 + ms (det_helpers.h) and received at the
 * wall clock given with each call; nothing here reads a clock.
 */
#include "det_helpers.h"

/* volume (more than 5 calls of a tool in 10 s, hold 5 s) and the stall
 * (no event for 120 s) */
#define VOLUME_AND_STALL                                                   \
    "[{'name':'volume','kind':'count','severity':'warning',"               \
    "'match':{'completed':true},'group_by':['tool_name'],"                 \
    "'window_s':10,'threshold':5,'hold_s':5},"                             \
    "{'name':'stream_stalled','kind':'absence','severity':'critical',"     \
    "'group_by':[],'threshold':120}]"

/* A completed call of `tool` stamped T0 + ms, received at T0 + wall
 * (wall < 0: replay, no wall clock).  Returns what the engine says. */
static int call_at(det_engine *e, int64_t ms, int64_t wall, const char *tool)
{
    struct event ev = ev_call(ms, tool, "a");

    return det_engine_feed(e, &ev, wall < 0 ? 0 : T0 + wall);
}

#define SPIKE_MAX (60 + 150 + 120)

/* A minute of one call a second on "t", a spike of 150 calls in 30 s,
 * then a call a second for two minutes: the default volume rule (100 in
 * 60 s) fires in the spike and resolves after it.  Their times (ms after
 * T0) into t; returns how many. */
static int spike_times(int64_t t[SPIKE_MAX])
{
    int n = 0;

    for (int i = 0; i < 60; i++)
        t[n++] = i * SEC;
    for (int i = 0; i < 150; i++)
        t[n++] = 60 * SEC + i * 200;
    for (int i = 0; i < 120; i++)
        t[n++] = 90 * SEC + i * SEC;
    return n;
}

/* The spike's events, each received `lag` ms after its stamp (lag < 0:
 * replay), the engine ticked before each. */
static void spike_stream(det_engine *e, int64_t lag)
{
    int64_t t[SPIKE_MAX];
    int n = spike_times(t);

    for (int i = 0; i < n; i++) {
        if (lag >= 0)
            det_engine_tick(e, T0 + t[i] + lag);
        assert_int_equal(call_at(e, t[i], lag < 0 ? -1 : t[i] + lag, "t"),
                         DET_FEED_COUNTED);
    }
}

/* The same alerts (all but the wall clock they were sent at). */
static void same_alerts(const struct cap *a, const struct cap *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->a[i].resolved, b->a[i].resolved);
        assert_string_equal(a->a[i].rule, b->a[i].rule);
        assert_string_equal(a->a[i].key, b->a[i].key);
        assert_string_equal(a->a[i].id, b->a[i].id);
        assert_int_equal(a->a[i].started, b->a[i].started);
        assert_int_equal(a->a[i].resolved_at, b->a[i].resolved_at);
    }
}

/* A source 90 s or 10 min behind the wall clock fires what replay of the
 * same events fires, at the same event times, with no event late (the old
 * clock, wall minus 5 s, counted every one as late and fired nothing). */
static void test_lagging_source_as_replay(void **state)
{
    static struct cap rep, live;
    static const int64_t lags[] = {0, 90 * SEC, 600 * SEC};
    det_engine *e;

    (void)state;
    e = eng_default(&rep, "*", NULL, NULL);
    spike_stream(e, -1);
    assert_int_equal(rep.n, 2); /* volume on t: fired and resolved */
    assert_string_equal(rep.a[0].rule, "volume");
    eng_free(e);
    for (size_t k = 0; k < sizeof lags / sizeof lags[0]; k++) {
        struct det_clock_info ci;

        e = eng_default(&live, "*", NULL, NULL);
        spike_stream(e, lags[k]);
        same_alerts(&rep, &live);
        assert_int_equal(det_engine_stats(e)->late, 0);
        det_engine_clock(e, &ci);
        assert_true(ci.lag_known);
        assert_int_equal(ci.lag_ms, lags[k]);
        assert_false(ci.unknown);
        eng_free(e);
    }
}

/* Quiet: the clock moves on by the wall clock less the lag and the
 * allowed lateness (5 s), never past it. */
static void test_quiet_follows_wall_less_lag(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, VOLUME_AND_STALL, NULL);

    (void)state;
    for (int i = 0; i < 6; i++) /* fires at the 6th, stamped 0.5 s */
        call_at(e, i * 100, 90 * SEC + i * 100, "t");
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 500);
    /* not quiet for a second yet: nothing moves */
    det_engine_tick(e, T0 + 90 * SEC + 1499);
    assert_int_equal(det_engine_now(e), T0 + 500);
    /* quiet: wall - 90 s - 5 s, once that is later */
    det_engine_tick(e, T0 + 100 * SEC);
    assert_int_equal(det_engine_now(e), T0 + 5 * SEC);
    /* the call of 0 s leaves the window at 10 s, the rest at 10.5 s:
     * cleared at 10 s, resolved after the 5 s hold at wall 110 s */
    det_engine_tick(e, T0 + 109999);
    assert_int_equal(c.n, 1);
    det_engine_tick(e, T0 + 110 * SEC);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 10 * SEC);
    assert_int_equal(c.a[1].ts, T0 + 110 * SEC);
    eng_free(e);
}

/* Stopped during a spike and started again (no checkpoint): the service
 * starts disconnected, connects, and reads the backlog of the 95 s it
 * was down at once.  The backlog is judged in event time: the spike
 * fires, at its own time, as in replay; nothing is late. */
static void test_backlog_after_restart(void **state)
{
    static struct cap rep, live;
    const int64_t up = 200 * SEC; /* restarted at wall T0 + 200 s */
    struct det_clock_info ci;
    det_engine *e;
    int64_t wall = up + 50;

    (void)state;
    e = eng_default(&rep, "*", NULL, NULL);
    spike_stream(e, -1);
    eng_free(e);

    e = eng_default(&live, "*", NULL, NULL);
    det_engine_connection(e, 0, T0 + up);
    det_engine_tick(e, T0 + up + 20);
    det_engine_connection(e, 1, T0 + up + 40);
    det_engine_tick(e, T0 + up + 45);
    det_engine_clock(e, &ci);
    assert_true(ci.catching_up);
    assert_int_equal(ci.now_ms, INT64_MIN); /* waiting for the backlog */
    /* the events of 0..210 s, as fast as they can be read */
    for (int i = 0; i < 60; i++)
        call_at(e, i * SEC, wall++, "t");
    det_engine_clock(e, &ci);
    assert_false(ci.catching_up);
    assert_int_equal(ci.lag_ms, wall - 1 - 59 * SEC);
    for (int i = 0; i < 150; i++) {
        if (i % 50 == 0)
            det_engine_tick(e, T0 + wall);
        call_at(e, 60 * SEC + i * 200, wall++, "t");
    }
    for (int i = 0; i < 120; i++) {
        int64_t t = 90 * SEC + i * SEC;
        /* the live edge is reached at 200 s: from there, in real time */
        wall = t + 50 > wall ? t + 50 : wall + 1;
        det_engine_tick(e, T0 + wall);
        call_at(e, t, wall, "t");
    }
    same_alerts(&rep, &live);
    assert_int_equal(det_engine_stats(e)->late, 0);
    eng_free(e);
}

/* Cut for 70 s, from 60 s (as the spike starts) to 130 s; the server
 * then sends what was missed at once, but pauses 2 s half-way through.
 * The backlog, its pause included, is judged in event time by its own
 * lag (not the lag before the cut): the same alerts as replay. */
static void test_backlog_after_reconnect(void **state)
{
    static struct cap rep, live;
    int64_t t[SPIKE_MAX], wall = 0;
    int n = spike_times(t), first = -1, last = -1;
    det_engine *e;

    (void)state;
    e = eng_default(&rep, "*", NULL, NULL);
    spike_stream(e, -1);
    eng_free(e);

    e = eng_default(&live, "*", NULL, NULL);
    for (int i = 0; i < n; i++) {
        if (t[i] < 60 * SEC) {
            wall = t[i]; /* live, before the cut */
        } else if (t[i] < 130 * SEC) {
            if (first < 0) { /* the cut, then the reconnection */
                first = i;
                det_engine_connection(e, 0, T0 + 60 * SEC);
                for (int64_t w = 61 * SEC; w < 130 * SEC; w += SEC)
                    det_engine_tick(e, T0 + w);
                det_engine_connection(e, 1, T0 + 130 * SEC);
                wall = 130 * SEC;
            }
            wall += 2;
            if (i - first == 80) /* the server pauses: two quiet ticks */
                for (int k = 0; k < 2; k++)
                    det_engine_tick(e, T0 + (wall += SEC));
            last = i;
        } else {
            wall = t[i] + 500 > wall ? t[i] + 500 : wall + 1;
        }
        det_engine_tick(e, T0 + wall);
        assert_int_equal(call_at(e, t[i], wall, "t"), DET_FEED_COUNTED);
    }
    assert_true(first > 0 && last - first > 100);
    same_alerts(&rep, &live);
    assert_int_equal(det_engine_stats(e)->late, 0);
    assert_int_equal(det_engine_stats(e)->outliers, 0);
    eng_free(e);
}

/* Connected with nothing to read: after 10 s the clock goes live. */
static void test_no_backlog_goes_live(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, VOLUME_AND_STALL, NULL);
    struct det_clock_info ci;

    (void)state;
    det_engine_connection(e, 0, T0);
    det_engine_connection(e, 1, T0 + 1000);
    det_engine_tick(e, T0 + 10999);
    det_engine_clock(e, &ci);
    assert_true(ci.catching_up);
    assert_int_equal(ci.now_ms, INT64_MIN);
    det_engine_tick(e, T0 + 11000);
    det_engine_clock(e, &ci);
    assert_false(ci.catching_up);
    assert_int_equal(ci.stream_ms, T0 + 11000);
    assert_int_equal(ci.now_ms, INT64_MIN); /* starts with an event */
    /* the stall counts from the start (the stream clock, the wall clock
     * less the lag, none known, started then) */
    det_engine_tick(e, T0 + 120 * SEC);
    assert_int_equal(c.n, 0);
    det_engine_tick(e, T0 + 120001);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].rule, "stream_stalled");
    assert_int_equal(c.a[0].started, T0 + 120001);
    eng_free(e);
}

/* The stream cut mid-episode: nothing resolves while it is down, however
 * long; the rules are unknown; the stall fires and says so.  When it is
 * back, judging resumes: the gap is skipped, the episode clears at the
 * first event after it and resolves after the hold. */
static void test_disconnected_is_unknown(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, VOLUME_AND_STALL, NULL);
    struct det_clock_info ci;
    int64_t w;

    (void)state;
    for (int i = 0; i < 10; i++)
        call_at(e, i * 100, i * 100, "t");
    assert_int_equal(c.n, 1);
    det_engine_connection(e, 0, T0 + 1000);
    for (w = 2 * SEC; w <= 600 * SEC; w += SEC)
        det_engine_tick(e, T0 + w);
    /* the stall: the stream clock (the wall, no lag) 120 s past the last
     * event (0.9 s) */
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].rule, "stream_stalled");
    assert_int_equal(c.a[1].started, T0 + 120901);
    assert_string_equal(c.a[1].summary,
                        "the audit stream is disconnected and has delivered "
                        "no event for 120s (threshold 120s)");
    assert_false(c.a[1].resolved);
    assert_true(det_engine_is_firing(e, "volume", "t"));
    assert_true(rinfo(e, "volume").unknown);
    assert_false(rinfo(e, "stream_stalled").unknown);
    det_engine_clock(e, &ci);
    assert_true(ci.unknown);
    assert_false(ci.connected);
    assert_int_equal(ci.now_ms, T0 + 900); /* stood still */
    assert_int_equal(ci.stream_ms, T0 + 600 * SEC);
    /* back, no backlog: the first event jumps the clock over the gap */
    det_engine_connection(e, 1, T0 + 600 * SEC);
    assert_true(rinfo(e, "volume").unknown); /* stalled until an event */
    call_at(e, 600500, 600500, "u");
    assert_false(rinfo(e, "volume").unknown);
    assert_int_equal(c.n, 2);
    det_engine_tick(e, T0 + 610499);
    assert_int_equal(c.n, 2);
    det_engine_tick(e, T0 + 610500);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].rule, "volume");
    assert_true(c.a[2].resolved);
    assert_int_equal(c.a[2].resolved_at, T0 + 600500); /* not in the gap */
    eng_free(e);
}

/* A stream that is connected but goes silent: once the stall fires the
 * event clock stands still (a long window does not resolve in the dark);
 * when events return they are judged from there. */
static void test_stall_is_unknown(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'slow','kind':'max','severity':'warning',"
        "'field':'execution_duration_ms','threshold':5000,"
        "'group_by':['tool_name'],'window_s':300},"
        "{'name':'stream_stalled','kind':'absence','severity':'critical',"
        "'group_by':[],'threshold':120}]",
        NULL);
    struct event ev = ev_call(0, "t", "a");
    int64_t w;

    (void)state;
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 9000;
    det_engine_feed(e, &ev, T0);
    assert_int_equal(c.n, 1);
    for (w = SEC; w <= 1000 * SEC; w += SEC)
        det_engine_tick(e, T0 + w);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].rule, "stream_stalled");
    assert_int_equal(c.a[1].started, T0 + 120001);
    assert_string_equal(c.a[1].summary,
                        "the audit stream has delivered no event for 120s "
                        "(threshold 120s)");
    /* the max rule would have cleared at 300 s: the event clock stands
     * where the stall found it, 5 s (the allowed lateness) behind, as of
     * the last tick */
    assert_int_equal(det_engine_now(e), T0 + 115 * SEC);
    assert_true(det_engine_is_firing(e, "slow", "t"));
    assert_true(rinfo(e, "slow").unknown);
    /* events again: the stall clears; the slow call is 300 s old in event
     * time from 1000 s on: cleared there, resolved after the 60 s hold */
    call_at(e, 1000 * SEC, 1000 * SEC, "u");
    assert_int_equal(c.n, 2);
    assert_false(rinfo(e, "slow").unknown);
    for (w = 1001 * SEC; w <= 1070 * SEC; w += SEC)
        det_engine_tick(e, T0 + w);
    /* the stall first: its clock is 5 s ahead */
    assert_int_equal(c.n, 4);
    assert_string_equal(c.a[2].rule, "stream_stalled");
    assert_true(c.a[2].resolved);
    assert_string_equal(c.a[3].rule, "slow");
    assert_true(c.a[3].resolved);
    assert_int_equal(c.a[3].resolved_at, T0 + 1000 * SEC);
    eng_free(e);
}

/* Events arriving 200 s late keep arriving: that is lag, not a stall.
 * When they stop, the stall fires 120 s of their own time later (the
 * wall clock less lag and lateness), and says how late they were. */
static void test_lag_is_not_a_stall(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "stream_stalled", NULL, NULL);
    const int64_t lag = 200 * SEC;
    int64_t w;

    (void)state;
    for (int64_t t = 0; t <= 400 * SEC; t += 500) {
        det_engine_tick(e, T0 + t + lag);
        call_at(e, t, t + lag, "t");
    }
    assert_int_equal(c.n, 0);
    /* the last one, stamped 400 s, came at 600 s: the stream clock, the
     * wall less 200 s, passes 520 s at 720 s */
    for (w = 601 * SEC; w <= 720 * SEC; w += SEC)
        det_engine_tick(e, T0 + w);
    assert_int_equal(c.n, 0);
    det_engine_tick(e, T0 + 720001);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 520001);
    assert_string_equal(c.a[0].summary,
                        "the audit stream has delivered no event for 120s "
                        "(threshold 120s); before that, events were "
                        "arriving 200s after their timestamps");
    eng_free(e);
}

/* The case: on a healthy stream, one record stamped 290 s ahead,
 * then a real anomaly.  The record is clamped (counted at the stream's
 * time) and the anomaly fires; no stall fires. */
static void test_outlier_then_anomaly(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, VOLUME_AND_STALL, NULL);
    int64_t t;

    (void)state;
    for (t = 0; t < 30 * SEC; t += 3 * SEC) /* a call of `a` every 3 s */
        call_at(e, t, t, "a");
    call_at(e, 30 * SEC + 290 * SEC, 30500, "a");
    assert_int_equal(det_engine_stats(e)->outliers, 1);
    assert_int_equal(det_engine_now(e), T0 + 27 * SEC);
    for (int i = 0; i < 8; i++)
        call_at(e, 31 * SEC + i * 100, 31 * SEC + i * 100, "x");
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].rule, "volume");
    assert_string_equal(c.a[0].key, "x");
    assert_int_equal(c.a[0].started, T0 + 31500);
    for (t = 32 * SEC; t < 400 * SEC; t += SEC) {
        det_engine_tick(e, T0 + t);
        if (t % (3 * SEC) == 0)
            call_at(e, t, t, "a");
    }
    for (int i = 0; i < c.n; i++)
        assert_string_not_equal(c.a[i].rule, "stream_stalled");
    assert_int_equal(det_engine_stats(e)->late, 0);
    assert_int_equal(det_engine_stats(e)->outliers, 1);
    assert_int_equal(det_engine_stats(e)->clock_jumps, 0);
    assert_int_equal(rinfo(e, "stream_stalled").open, 0);
    eng_free(e);
}

/* The whole stream moves 120 s ahead (its source's clock was fixed): the
 * first three events are clamped, the fourth moves the clock, the rest
 * are in step; the lag becomes what it is now, -120 s. */
static void test_whole_stream_jumps(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, VOLUME_AND_STALL, NULL);
    struct det_clock_info ci;
    int64_t t;

    (void)state;
    for (t = 0; t < 10 * SEC; t += SEC)
        call_at(e, t, t, "a");
    for (t = 10 * SEC; t < 20 * SEC; t += SEC)
        call_at(e, t + 120 * SEC, t, "a");
    assert_int_equal(det_engine_stats(e)->outliers, 3);
    assert_int_equal(det_engine_stats(e)->clock_jumps, 1);
    assert_int_equal(det_engine_now(e), T0 + 139 * SEC);
    det_engine_tick(e, T0 + 20 * SEC);
    det_engine_clock(e, &ci);
    assert_int_equal(ci.lag_ms, -120 * SEC);
    assert_int_equal(det_engine_stats(e)->late, 0);
    eng_free(e);
}

/* Replay has no wall clock: a record more than a day ahead of the newest
 * is an outlier there (a quiet night is not). */
static void test_replay_outlier(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, VOLUME_AND_STALL, NULL);

    (void)state;
    call_at(e, 0, -1, "a");
    call_at(e, 12 * 3600 * SEC, -1, "a"); /* half a day later: in step */
    call_at(e, 12 * 3600 * SEC + 25 * 3600 * SEC, -1, "a"); /* 25 h: no */
    call_at(e, 12 * 3600 * SEC + SEC, -1, "a");
    assert_int_equal(det_engine_stats(e)->outliers, 1);
    assert_int_equal(det_engine_now(e), T0 + 12 * 3600 * SEC + SEC);
    eng_free(e);
}

/* Per-agent absence while the stream is stalled: nothing fires in the
 * dark, and the dark does not count as silence afterwards. */
static void test_absence_skips_the_dark(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'quiet','kind':'absence','severity':'warning',"
        "'group_by':['agent_id'],'threshold':60,'hold_s':0},"
        "{'name':'stream_stalled','kind':'absence','severity':'critical',"
        "'group_by':[],'threshold':30}]",
        NULL);
    struct event ev;
    int64_t w;

    (void)state;
    ev = ev_call(0, "t", "a");
    det_engine_feed(e, &ev, T0);
    ev = ev_call(0, "t", "b");
    det_engine_feed(e, &ev, T0);
    for (w = SEC; w <= 600 * SEC; w += SEC)
        det_engine_tick(e, T0 + w);
    /* the stall at 30 s; the agents' absences (60 s) never, in the dark,
     * which began at 25 s of event time (the event clock is 5 s, the
     * allowed lateness, behind the stall's; as of the last tick) */
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].rule, "stream_stalled");
    assert_int_equal(det_engine_now(e), T0 + 25 * SEC);
    /* agent a is back at 600 s: b's silence is the 25 s before the dark
     * and what follows it, so it fires 35 s later, at 635 s of event
     * time */
    for (w = 600 * SEC; w <= 665 * SEC; w += SEC) {
        det_engine_tick(e, T0 + w);
        if (w % (10 * SEC) == 0) { /* a, every 10 s from 600 s on */
            ev = ev_call(w, "t", "a");
            det_engine_feed(e, &ev, T0 + w);
        }
        if (w == 634 * SEC)
            assert_int_equal(c.n, 1);
    }
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[1].rule, "quiet");
    assert_string_equal(c.a[1].key, "b");
    assert_int_equal(c.a[1].started, T0 + 635 * SEC + 1);
    /* the stall resolves 60 s (its hold) after a's first event */
    assert_string_equal(c.a[2].rule, "stream_stalled");
    assert_int_equal(c.a[2].resolved_at, T0 + 600 * SEC);
    eng_free(e);
}

/* toolwatch_alerts_firing counts open episodes: on a healthy stream the
 * stall's group (pinned for life, for its timer) is not one. */
static void test_open_counts_episodes(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "*", NULL, NULL);

    (void)state;
    for (int64_t t = 0; t < 300 * SEC; t += 250) {
        det_engine_tick(e, T0 + t);
        call_at(e, t, t, "t");
        assert_int_equal(rinfo(e, "stream_stalled").open, 0);
    }
    assert_int_equal(rinfo(e, "stream_stalled").groups, 1);
    for (uint32_t i = 0; i < det_engine_nrules(e); i++) {
        struct det_rule_info ri;
        assert_int_equal(det_engine_rule_info(e, i, &ri), 0);
        assert_int_equal(ri.open, ri.fired - ri.resolved);
    }
    eng_free(e);
}

/* A live stream whose records have no timestamp: each takes the time it
 * arrived (less the allowed lateness), so windows still slide. */
static void test_untimed_live(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, VOLUME_AND_STALL, NULL);
    struct event ev;

    (void)state;
    for (int i = 0; i < 8; i++) {
        ev = ev_call(0, "t", "a");
        ev.has = 0;
        assert_int_equal(det_engine_feed(e, &ev, T0 + i * 100),
                         DET_FEED_COUNTED);
    }
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 500 - 5000);
    assert_int_equal(det_engine_stats(e)->no_timestamp, 8);
    assert_int_equal(det_engine_stats(e)->untimed, 0);
    /* ten seconds on, one more: the window has emptied, then the hold */
    ev = ev_call(0, "t", "a");
    ev.has = 0;
    det_engine_feed(e, &ev, T0 + 20 * SEC);
    det_engine_tick(e, T0 + 21 * SEC);
    assert_int_equal(c.n, 2);
    assert_true(c.a[1].resolved);
    eng_free(e);
}

/* A reload carries the whole clock over: lag, connection, catching up. */
static void test_adopt_keeps_clock(void **state)
{
    static struct cap c;
    det_engine *old = eng_json(&c, VOLUME_AND_STALL, NULL), *e;
    struct det_clock_info a, b;

    (void)state;
    call_at(old, 0, 90 * SEC, "t");
    det_engine_connection(old, 0, T0 + 91 * SEC);
    e = eng_more(&c, VOLUME_AND_STALL, NULL);
    assert_int_equal(det_engine_adopt(e, old), 2);
    det_engine_clock(old, &a);
    det_engine_clock(e, &b);
    eng_free(old);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(b.lag_ms, 90 * SEC);
    assert_false(b.connected);
    eng_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lagging_source_as_replay),
        cmocka_unit_test(test_quiet_follows_wall_less_lag),
        cmocka_unit_test(test_backlog_after_restart),
        cmocka_unit_test(test_backlog_after_reconnect),
        cmocka_unit_test(test_no_backlog_goes_live),
        cmocka_unit_test(test_disconnected_is_unknown),
        cmocka_unit_test(test_stall_is_unknown),
        cmocka_unit_test(test_lag_is_not_a_stall),
        cmocka_unit_test(test_outlier_then_anomaly),
        cmocka_unit_test(test_whole_stream_jumps),
        cmocka_unit_test(test_replay_outlier),
        cmocka_unit_test(test_absence_skips_the_dark),
        cmocka_unit_test(test_open_counts_episodes),
        cmocka_unit_test(test_untimed_live),
        cmocka_unit_test(test_adopt_keeps_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
