/*
 * test_detectors.c - each of the six default rules (what runs with no
 * `rules` key) through the engine with synthetic event time: below / at /
 * above threshold, min_count, groups isolated, the credential tool
 * globs, max resolves, stalls, and the words of their alerts.  Every
 * expectation is exact.
 */
#include "det_helpers.h"

/* ---- volume ---- */

static void test_volume_at_and_above(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, NULL);

    (void)state;
    /* exactly 100 completed calls in 60 s: no alert */
    feed_calls(e, 100, 0, 500, "search", "a1");
    assert_int_equal(c.n, 0);
    /* requests are not completed calls */
    struct event req = ev_call(49600, "search", "a1");
    req.type = EVENT_TOOL_CALL_REQUEST;
    det_engine_feed(e, &req, 0);
    assert_int_equal(c.n, 0);
    /* the 101st fires */
    feed(e, ev_call(50000, "search", "a1"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].rule, "volume");
    assert_string_equal(c.a[0].key, "search");
    assert_int_equal(c.a[0].resolved, 0);
    assert_true(c.a[0].value == 101);
    assert_int_equal(c.a[0].started, T0 + 50000);
    assert_int_equal(c.a[0].ts, T0 + 50000);
    assert_string_equal(c.a[0].summary, "101 completed calls in 60s for "
                                        "tool search (threshold 100)");
    /* more calls: still one episode */
    feed_calls(e, 20, 50100, 100, "search", "a1");
    assert_int_equal(c.n, 1);
    assert_true(det_engine_is_firing(e, "volume", "search"));
    eng_free(e);
}

static void test_volume_below(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, NULL);

    (void)state;
    /* 100 per minute for ten minutes, evenly: never more than 100 */
    feed_calls(e, 1000, 0, 600, "steady", "a1");
    assert_int_equal(c.n, 0);
    eng_free(e);
}

static void test_volume_groups_isolated(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume", NULL, NULL);

    (void)state;
    for (int i = 0; i < 101; i++) {
        feed(e, ev_call(i * 100, "hot", "a1"));
        if (i < 100)
            feed(e, ev_call(i * 100 + 1, "warm", "a1"));
    }
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "hot");
    assert_false(det_engine_is_firing(e, "volume", "warm"));
    eng_free(e);
}

static void test_volume_group_by_agent(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "volume",
                                "{'group_by':['agent_id']}", NULL);

    (void)state;
    feed_calls(e, 60, 0, 100, "t1", "agent-9");
    feed_calls(e, 41, 6000, 100, "t2", "agent-9");
    feed_calls(e, 100, 0, 100, "t3", "agent-8");
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "agent-9");
    assert_string_equal(c.a[0].summary, "101 completed calls in 60s by "
                                        "agent agent-9 (threshold 100)");
    eng_free(e);
}

/* ---- error_rate ---- */

static void test_error_rate_min_calls(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "error_rate", NULL, NULL);

    (void)state;
    for (int i = 0; i < 9; i++)
        feed(e, ev_error(i * 1000, "db", "a1"));
    assert_int_equal(c.n, 0); /* 100 % but only 9 calls */
    feed(e, ev_error(9000, "db", "a1"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 1.0);
    assert_string_equal(c.a[0].summary,
                        "error rate 100.0% over 60s for tool db (threshold "
                        "20%, 10 of 10 calls)");
    eng_free(e);
}

static void test_error_rate_threshold(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "error_rate", NULL, NULL);

    (void)state;
    /* 2 errors of 10: exactly 20 %, no alert */
    for (int i = 0; i < 8; i++)
        feed(e, ev_call(i * 1000, "postgres_query", "a1"));
    feed(e, ev_error(8000, "postgres_query", "a1"));
    /* an error by response_status on a tool_call_response */
    struct event r = ev_call(9000, "postgres_query", "a1");
    r.status = EVENT_STATUS_ERROR;
    det_engine_feed(e, &r, 0);
    assert_int_equal(c.n, 0);
    /* 3 of 11: 27.3 % */
    feed(e, ev_error(10000, "postgres_query", "a1"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].summary,
                        "error rate 27.3% over 60s for tool postgres_query "
                        "(threshold 20%, 3 of 11 calls)");
    assert_true(c.a[0].value == 3.0 / 11.0);
    eng_free(e);
}

static void hold0(struct det_engine_params *p)
{
    p->hold_s = 0;
}

static void test_error_rate_clear_threshold(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(
        &c, "error_rate", "{'threshold':0.2,'clear_threshold':0.1}", hold0);

    (void)state;
    /* 3 errors in 10 calls: 30 % fires */
    for (int i = 0; i < 10; i++)
        feed(e, i < 3 ? ev_error(i * 100, "x", "a")
                      : ev_call(i * 100, "x", "a"));
    assert_int_equal(c.n, 1);
    /* 3 of 20 = 15 %: between clear and threshold, stays firing */
    feed_calls(e, 10, 1000, 100, "x", "a");
    assert_int_equal(c.n, 1);
    assert_true(det_engine_is_firing(e, "error_rate", "x"));
    /* 3 of 30 = 10 %: at the clear threshold, resolves (hold 0) */
    feed_calls(e, 10, 2000, 100, "x", "a");
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].resolved_at, T0 + 2900);
    assert_string_equal(c.a[1].summary,
                        "back to normal: error rate 10.0% over 60s for tool "
                        "x (threshold 20%, 3 of 30 calls)");
    eng_free(e);
}

/* ---- payload_size and latency ---- */

static void test_payload_size(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "payload_size", NULL, NULL);
    struct event ev;

    (void)state;
    ev = ev_call(1000, "export", "a1");
    ev.has |= EVENT_HAS_PAYLOAD;
    ev.payload_bytes = 1000000;
    det_engine_feed(e, &ev, 0);
    assert_int_equal(c.n, 0);
    ev = ev_call(2000, "export", "a1");
    ev.has |= EVENT_HAS_PAYLOAD;
    ev.payload_bytes = 1000001;
    ev.type = EVENT_TOOL_CALL_REQUEST; /* not a completed call */
    det_engine_feed(e, &ev, 0);
    assert_int_equal(c.n, 0);
    ev.type = EVENT_TOOL_CALL_RESPONSE;
    snprintf(ev.record_id, sizeof ev.record_id, "big-1");
    det_engine_feed(e, &ev, 0);
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 1000001);
    assert_string_equal(c.a[0].record_id, "big-1");
    assert_string_equal(c.a[0].summary,
                        "a call for tool export returned 1000001 bytes "
                        "(threshold 1000000 bytes)");
    /* quiet for window_s (300) + hold_s (60): resolved at 362 s,
     * resolved_at 302 s */
    feed(e, ev_call(361999, "other", "a1"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(400000, "other", "a1"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].ts, T0 + 362000);
    assert_int_equal(c.a[1].resolved_at, T0 + 302000);
    assert_string_equal(c.a[1].id, c.a[0].id);
    assert_string_equal(c.a[1].summary,
                        "back to normal: no call over 1000000 bytes for tool "
                        "export for 300s (last one: 1000001 bytes)");
    /* timers ran at 302 s (clear) and 362 s (resolve), not every ms in
     * between */
    assert_true(det_engine_stats(e)->timer_runs <= 4);
    /* the group is gone once resolved */
    assert_int_equal(rinfo(e, "payload_size").groups, 0);
    eng_free(e);
}

static void test_latency(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "latency", NULL, NULL);
    struct event ev;

    (void)state;
    ev = ev_call(0, "slow", "a1");
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 5000.0;
    det_engine_feed(e, &ev, 0);
    ev = ev_call(0, "slow", "a1"); /* no duration: nothing to say */
    ev.duration_ms = 9000.0;
    det_engine_feed(e, &ev, 0);
    assert_int_equal(c.n, 0);
    ev = ev_error(1000, "slow", "a1");
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 5000.5;
    det_engine_feed(e, &ev, 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].summary, "a call for tool slow took 5000.5 "
                                        "ms (threshold 5000 ms)");
    /* another slow call at 200 s pushes the resolve to 200+300+60 */
    ev = ev_call(200000, "slow", "a1");
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 7300.0;
    det_engine_feed(e, &ev, 0);
    assert_int_equal(c.n, 1);
    feed(e, ev_call(1000000, "other", "a1"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].ts, T0 + 560000);
    assert_int_equal(c.a[1].resolved_at, T0 + 500000);
    assert_string_equal(c.a[1].summary,
                        "back to normal: no call over 5000 ms for tool slow "
                        "for 300s (last one: 7300 ms)");
    eng_free(e);
}

/* ---- credential_access ---- */

static void test_credential_keywords(void **state)
{
    static struct cap c;
    static const char *const hits[] = {"Get_SECRET", "vault_Password_read",
                                       "OAuthRefresh", "ApiKey_rotate",
                                       "TOKEN", "credentialStore"};
    det_engine *e = eng_default(&c, "credential_access", NULL, NULL);

    (void)state;
    for (int i = 0; i < 50; i++) {
        feed(e, ev_call(i * 10000, hits[i % 6], "agent-7"));
        feed(e, ev_call(i * 10000 + 1, "search_docs", "agent-7"));
        feed(e, ev_call(i * 10000 + 2, "api_key", "agent-7")); /* no */
    }
    assert_int_equal(c.n, 0);
    /* another agent's calls do not count for agent-7 */
    feed(e, ev_call(500000, "get_secret", "agent-8"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(500001, "get_secret", "agent-7"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "agent-7");
    assert_string_equal(c.a[0].summary,
                        "51 completed calls in 3600s by agent agent-7 "
                        "(threshold 50)");
    eng_free(e);
}

static void test_credential_custom_keywords(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(
        &c, "credential_access",
        "{'match':{'completed':true,'tool_name':'*vault*'},'threshold':2}",
        NULL);

    (void)state;
    feed(e, ev_call(0, "get_secret", "a"));
    feed(e, ev_call(1, "VAULT_read", "a"));
    feed(e, ev_call(2, "get_secret", "a"));
    feed(e, ev_call(3, "hashicorp_vault", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(4, "Vault", "a"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 3);
    eng_free(e);
}

/* ---- stream_stalled ---- */

static void test_stall_replay(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "stream_stalled", NULL, NULL);

    (void)state;
    feed(e, ev_call(0, "t", "a"));
    feed(e, ev_call(119999, "t", "a")); /* a gap of 119.999 s */
    assert_int_equal(c.n, 0);
    /* 180.001 s of silence: the stall starts when the gap is more than
     * 120 s, 1 ms after 119.999 + 120 */
    feed(e, ev_call(300000, "t", "a"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].rule, "stream_stalled");
    assert_string_equal(c.a[0].key, "global");
    assert_int_equal(c.a[0].started, T0 + 240000);
    assert_true(c.a[0].value == 120.001);
    assert_string_equal(c.a[0].record_id, c.a[0].record_id);
    assert_string_equal(c.a[0].summary,
                        "the audit stream has delivered no event for 120s "
                        "(threshold 120s)");
    /* events flow again from 300 s: resolved at 360 s */
    feed_calls(e, 10, 310000, 10000, "t", "a");
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved, 1);
    assert_int_equal(c.a[1].ts, T0 + 360000);
    assert_int_equal(c.a[1].resolved_at, T0 + 300000);
    assert_true(c.a[1].value == 180.001);
    assert_string_equal(c.a[1].summary,
                        "back to normal: the audit stream is delivering "
                        "events again after 180s without one (threshold "
                        "120s)");
    eng_free(e);
}

/* Any event keeps the stream alive, not only completed calls: requests
 * and session events reach stream_stalled (the engine skips only the
 * rules whose match admits completed calls alone), with every default
 * rule on. */
static void test_stall_any_event_counts(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "*", NULL, NULL);

    (void)state;
    for (int i = 0; i <= 10; i++) { /* every 100 s for 1000 s */
        struct event ev = ev_call(i * 100000, "t", "a");

        ev.type = i % 2 ? EVENT_TOOL_CALL_REQUEST : EVENT_SESSION_START;
        snprintf(ev.record_id, sizeof ev.record_id, "r%d", i);
        assert_int_equal(det_engine_feed(e, &ev, 0), DET_FEED_COUNTED);
    }
    assert_int_equal(c.n, 0);
    /* then 121 s without one: the stall fires 120 s after the last */
    {
        struct event ev = ev_call(1121000, "t", "a");

        ev.type = EVENT_TOOL_CALL_REQUEST;
        snprintf(ev.record_id, sizeof ev.record_id, "r-last");
        det_engine_feed(e, &ev, 0);
    }
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].rule, "stream_stalled");
    assert_int_equal(c.a[0].started, T0 + 1120001);
    eng_free(e);
}

static void test_stall_live_disconnected(void **state)
{
    static struct cap c;
    det_engine *e = eng_default(&c, "stream_stalled", NULL, NULL);

    (void)state;
    /* start disconnected at wall T0: the stall's clock (the stream clock,
     * the wall less the stream's lag, none known) starts at T0 */
    det_engine_connection(e, 0, T0);
    det_engine_tick(e, T0 + 120000);
    assert_int_equal(c.n, 0);
    /* more than 120 s later: fires */
    det_engine_tick(e, T0 + 120001);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.a[0].started, T0 + 120001);
    assert_int_equal(c.a[0].ts, T0 + 120001); /* live: the wall clock */
    assert_string_equal(c.a[0].summary,
                        "the audit stream is disconnected and has delivered "
                        "no event for 120s (threshold 120s)");
    /* connected, and an event: resolved after hold */
    det_engine_connection(e, 1, T0 + 130000);
    struct event ev = ev_call(130000, "t", "a");
    det_engine_feed(e, &ev, T0 + 130000);
    det_engine_tick(e, T0 + 189999);
    assert_int_equal(c.n, 1);
    det_engine_tick(e, T0 + 190000);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + 130000);
    eng_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volume_at_and_above),
        cmocka_unit_test(test_volume_below),
        cmocka_unit_test(test_volume_groups_isolated),
        cmocka_unit_test(test_volume_group_by_agent),
        cmocka_unit_test(test_error_rate_min_calls),
        cmocka_unit_test(test_error_rate_threshold),
        cmocka_unit_test(test_error_rate_clear_threshold),
        cmocka_unit_test(test_payload_size),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_credential_keywords),
        cmocka_unit_test(test_credential_custom_keywords),
        cmocka_unit_test(test_stall_replay),
        cmocka_unit_test(test_stall_live_disconnected),
        cmocka_unit_test(test_stall_any_event_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
