/*
 * test_window_kinds.c - the windowed kinds count, sum and ratio with
 * their state in per-rule pools: their checkpoint ops through det_kinds[]
 * (a group saved and loaded into another gives the same verdicts for the
 * same following events; truncated bytes refused; checkpoint_bytes a
 * bound), and through the engine: groups evicted and made again over and
 * over (the slot's chunks go back at each reset) while the thresholds,
 * the window edge and late events stay exact.
 */
#include "det_helpers.h"

#include <math.h>

/* ---- a rule instance by hand, for the kind ops ---- */

struct kr {
    struct rule_set *rs;
    struct det_rule r;
    unsigned char hkey[16];
    uint32_t gen_of[1];
    uint64_t h[1][2];
    uint32_t slot[1];
    struct det_hcache hc;
};

static void kr_open(struct kr *k, const char *json, uint32_t cap)
{
    const struct rule *rule;

    memset(k, 0, sizeof *k);
    k->rs = rules_compile(json);
    rule = &k->rs->rules[0];
    k->r.rule = rule;
    k->r.kind = det_kinds[rule->kind];
    k->r.ngby = (uint8_t)rule->ngroup;
    memcpy(k->r.gby, rule->group_by, rule->ngroup * sizeof *k->r.gby);
    k->r.window_ms = rule->p.window_s * 1000;
    k->r.threshold = k->r.thr_min = k->r.thr_max = rule->p.threshold;
    k->r.clear = isnan(rule->p.clear_threshold) ? rule->p.threshold
                                                : rule->p.clear_threshold;
    assert_int_equal(det_keys_init(&k->r.keys, cap), DET_KEYS_OK);
    assert_int_equal(k->r.kind->create(&k->r), 0);
    k->r.state = calloc(k->r.keys.cap_alloc, k->r.stride);
    assert_non_null(k->r.state);
    memset(&k->hc, 0, sizeof k->hc);
    k->hc.hkey = k->hkey;
    k->hc.gen_of = k->gen_of;
    k->hc.h = k->h;
    k->hc.slot = k->slot;
}

static void kr_close(struct kr *k)
{
    k->r.kind->destroy(&k->r);
    free(k->r.state);
    det_keys_free(&k->r.keys);
    rule_set_destroy(k->rs);
}

/* The input of event ev at now (its group's hash computed afresh). */
static struct det_input kr_input(struct kr *k, const struct event *ev,
                                 int64_t now)
{
    k->hc.gen++;
    return (struct det_input){ev, ev->ts_ms < now ? ev->ts_ms : now, now,
                              &k->hc};
}

/* Feed ev at now through the kind's feed; its group's verdict then. */
static struct det_verdict kr_feed(struct kr *k, const struct event *ev,
                                  int64_t now)
{
    struct det_input in = kr_input(k, ev, now);
    struct det_verdict v;

    k->r.kind->feed(&k->r, &in, &v);
    in = kr_input(k, ev, now);
    k->r.kind->tick(&k->r, det_group(&k->r, &in), now, &v);
    return v;
}

static void same(const struct det_verdict *a, const struct det_verdict *b)
{
    assert_int_equal(a->level, b->level);
    assert_true(a->value == b->value);
    assert_true(a->aux[0] == b->aux[0] && a->aux[1] == b->aux[1]);
    assert_int_equal(a->next_ms, b->next_ms);
}

/* A random event of group "g" (and, one time in 8, of group "other"):
 * now and then an error, a cost, out of order. */
static struct event kr_event(int64_t *now, const char *tool)
{
    struct event ev;

    *now += rand() % 5 == 0 ? rand() % 3000 : rand() % 60;
    ev = rand() % 3 == 0 ? ev_error(*now - T0 - rand() % 12000, tool, "a")
                         : ev_call(*now - T0 - rand() % 12000, tool, "a");
    if (rand() % 4 != 0) {
        ev.has |= EVENT_HAS_COST;
        ev.cost_usd = rand() % 4;
    }
    return ev;
}

/* Group "g" of rule A, fed random events, saved and loaded into the
 * group "g" of another instance B: then for the same events both give
 * the same verdicts. */
static void round_trip(const char *json)
{
    struct kr a, b;
    struct det_verdict va, vb;
    struct det_input in;
    struct event ev;
    buf x;
    int64_t now = T0;
    uint32_t ga, gb;

    srand(21);
    kr_open(&a, json, 4);
    kr_open(&b, json, 4);
    for (int i = 0; i < 300; i++) {
        ev = kr_event(&now, rand() % 8 ? "g" : "other");
        kr_feed(&a, &ev, now);
    }
    ev = ev_call(0, "g", "a");
    in = kr_input(&a, &ev, now);
    ga = det_group(&a.r, &in);
    in = kr_input(&b, &ev, now);
    gb = det_group(&b.r, &in); /* made and reset */
    buf_init(&x, 1u << 20);
    assert_int_equal(a.r.kind->save(&a.r, ga, &x), 0);
    assert_true(x.len > 11 && x.len <= a.r.kind->checkpoint_bytes(&a.r));
    /* every truncation refused, the group left empty */
    for (size_t n = 0; n < x.len; n++)
        assert_int_equal(b.r.kind->load(&b.r, gb, (unsigned char *)x.data, n),
                         -1);
    assert_int_equal(b.r.kind->load(&b.r, gb, (unsigned char *)x.data, x.len),
                     0);
    a.r.kind->tick(&a.r, ga, now, &va);
    b.r.kind->tick(&b.r, gb, now, &vb);
    same(&va, &vb);
    for (int i = 0; i < 400; i++) {
        ev = kr_event(&now, "g");
        va = kr_feed(&a, &ev, now);
        vb = kr_feed(&b, &ev, now);
        same(&va, &vb);
    }
    a.r.kind->tick(&a.r, ga, now + 30000, &va);
    b.r.kind->tick(&b.r, gb, now + 30000, &vb);
    same(&va, &vb);
    buf_free(&x);
    kr_close(&a);
    kr_close(&b);
}

static void test_count_ops(void **state)
{
    (void)state;
    round_trip("[{'name':'c','kind':'count','severity':'info',"
               "'group_by':['tool_name'],'window_s':10,'threshold':20,"
               "'clear_threshold':5}]");
    round_trip("[{'name':'c','kind':'count','severity':'info',"
               "'group_by':['tool_name'],'window_s':10,"
               "'threshold':200000}]");
}

static void test_sum_ops(void **state)
{
    (void)state;
    round_trip("[{'name':'s','kind':'sum','severity':'info',"
               "'group_by':['tool_name'],'field':'cost_usd','window_s':10,"
               "'threshold':60,'clear_threshold':30}]");
}

/* ---- sum: the kept sum of the older buckets ---- */

#define SUM_RULE(w)                                                        \
    "[{'name':'s','kind':'sum','severity':'info','group_by':['tool_name']," \
    "'field':'cost_usd','window_s':" #w ",'threshold':1e15}]"

/* The group "g" of k (made, and reset, at its first use). */
static uint32_t kr_slot(struct kr *k, int64_t now)
{
    struct event ev = ev_call(0, "g", "a");
    struct det_input in = kr_input(k, &ev, now);

    return det_group(&k->r, &in);
}

/* Feed a cost x of group "g" stamped `at` (ms after T0) at now. */
static double sum_feed(struct kr *k, int64_t at, int64_t now, double x)
{
    struct event ev = ev_call(at, "g", "a");

    ev.has |= EVENT_HAS_COST;
    ev.cost_usd = x;
    return kr_feed(k, &ev, T0 + now).value;
}

static double sum_look(struct kr *k, int64_t now)
{
    struct det_verdict v;

    k->r.kind->tick(&k->r, kr_slot(k, T0 + now), T0 + now, &v);
    return v.value;
}

/* The group's buckets added up now, oldest first, the way a look did
 * before it kept the older buckets' sum. */
static double sum_pass(struct kr *k, int64_t now)
{
    const win_sparse *w = det_state(&k->r, kr_slot(k, now));
    const win_val *b;
    win_sp_iter it;
    double sum = 0;

    win_sp_iter_init(&it, k->r.priv, w);
    while ((b = win_sp_next(&it, NULL)) != NULL)
        sum += b->d;
    return sum;
}

/* Save group "g", reset it and load the bytes back. */
static void sum_reload(struct kr *k, int64_t now)
{
    uint32_t g = kr_slot(k, now);
    buf x;

    buf_init(&x, 1u << 16);
    assert_int_equal(k->r.kind->save(&k->r, g, &x), 0);
    k->r.kind->reset(&k->r, g);
    assert_int_equal(
        k->r.kind->load(&k->r, g, (unsigned char *)x.data, x.len), 0);
    buf_free(&x);
}

/* 60 buckets of 100 ms; values whose sums depend on the order they are
 * added in, so that each look must be the oldest-first double exactly. */
static void test_sum_older_edges(void **state)
{
    volatile double a = 0.1, b = 0.2, c = 0.3, d = 0.5, e = 0.7;
    struct kr k;

    (void)state;
    kr_open(&k, SUM_RULE(6), 4);
    assert_true(sum_feed(&k, 0, 0, a) == a);
    assert_true(sum_feed(&k, 200, 200, b) == a + b);
    assert_true(sum_feed(&k, 300, 300, c) == (a + b) + c);
    assert_true((a + b) + c != a + (b + c)); /* the order shows */
    /* into the newest bucket: older unchanged */
    assert_true(sum_feed(&k, 350, 350, d) == (a + b) + (c + d));
    /* late, into the oldest bucket */
    assert_true(sum_feed(&k, 50, 360, e) == ((a + e) + b) + (c + d));
    /* a bucket made between two, older than the newest */
    assert_true(sum_feed(&k, 150, 370, a) == (((a + e) + a) + b) + (c + d));
    /* a new newest, then the oldest leaves at 6000 (bucket 60) */
    assert_true(sum_feed(&k, 5999, 5999, e) ==
                ((((a + e) + a) + b) + (c + d)) + e);
    assert_true(sum_look(&k, 6000) == ((a + b) + (c + d)) + e);
    assert_true(sum_look(&k, 6099) == ((a + b) + (c + d)) + e);
    assert_true(sum_look(&k, 6100) == (b + (c + d)) + e);
    /* every bucket gone, then a first one again */
    assert_true(sum_look(&k, 20000) == 0);
    assert_true(sum_feed(&k, 20000, 20000, c) == c);
    assert_true(sum_feed(&k, 20100, 20100, a) == c + a);
    /* reset: from nothing */
    k.r.kind->reset(&k.r, kr_slot(&k, T0 + 20100));
    assert_true(sum_look(&k, 20100) == 0);
    assert_true(sum_feed(&k, 20100, 20100, b) == b);
    assert_true(sum_feed(&k, 20200, 20200, c) == b + c);
    assert_true(sum_feed(&k, 20300, 20300, a) == (b + c) + a);
    /* a load, then the newest bucket, a new one and an older one */
    sum_reload(&k, T0 + 20300);
    assert_true(sum_look(&k, 20300) == (b + c) + a);
    assert_true(sum_feed(&k, 20300, 20300, d) == (b + c) + (a + d));
    sum_reload(&k, T0 + 20300);
    assert_true(sum_feed(&k, 20400, 20400, e) == ((b + c) + (a + d)) + e);
    sum_reload(&k, T0 + 20400);
    assert_true(sum_feed(&k, 20100, 20400, d) ==
                (((b + d) + c) + (a + d)) + e);
    /* a zero makes no bucket; a late event changes nothing */
    assert_true(sum_feed(&k, 20500, 20500, 0) ==
                (((b + d) + c) + (a + d)) + e);
    assert_true(sum_feed(&k, 14000, 20500, a) ==
                (((b + d) + c) + (a + d)) + e);
    assert_int_equal(k.r.late, 1);
    kr_close(&k);
}

/* A model of the window (the non-empty buckets, each the sum of its
 * values in the order fed) against the kind through a few thousand
 * random feeds, looks, resets and reloads: every look is exactly the
 * model's oldest-first sum, and the kind's buckets added up afresh. */
static void test_sum_older_model(void **state)
{
    static const int wins[] = {1, 6, 60, 7};
    (void)state;
    srand(1313);
    for (size_t wi = 0; wi < sizeof wins / sizeof wins[0]; wi++) {
        char json[256];
        struct kr k;
        win_spec sp;
        int64_t mb[WIN_DEFAULT_BUCKETS], head = INT64_MIN, now = 0;
        double md[WIN_DEFAULT_BUCKETS];
        uint32_t n = 0;

        snprintf(json, sizeof json, SUM_RULE(%d), wins[wi]);
        kr_open(&k, json, 4);
        assert_int_equal(win_spec_init(&sp, wins[wi] * 1000LL, 0, 1), 0);
        for (int i = 0; i < 4000; i++) {
            int op = rand() % 100;
            int64_t w = sp.window_ms, nb;
            double want = 0, got;

            now += rand() % 8 == 0 ? rand() % (w + w / 2) : rand() % 40;
            /* the model moves to now: the buckets that left go */
            nb = win_bucket(&sp, now);
            if (head == INT64_MIN || nb > head) {
                uint32_t drop = 0;

                head = nb;
                while (drop < n && mb[drop] <= head - (int64_t)sp.nbuckets)
                    drop++;
                memmove(mb, mb + drop, (n - drop) * sizeof *mb);
                memmove(md, md + drop, (n - drop) * sizeof *md);
                n -= drop;
            }
            if (op < 75) {
                int64_t t = now - rand() % (w + w / 4 + 2);
                double x = rand() % 5 == 0 ? 0
                           : (double)(rand() % 100000) / 7.0 *
                                 pow(10.0, rand() % 9 - 4);
                int64_t b;
                uint32_t j = 0;

                if (rand() % 20 == 0)
                    t = now + rand() % 500; /* counts at now */
                b = win_bucket(&sp, t < now ? t : now);
                if (b > head - (int64_t)sp.nbuckets && x != 0) {
                    while (j < n && mb[j] < b)
                        j++;
                    if (j == n || mb[j] != b) {
                        memmove(mb + j + 1, mb + j, (n - j) * sizeof *mb);
                        memmove(md + j + 1, md + j, (n - j) * sizeof *md);
                        mb[j] = b;
                        md[j] = 0;
                        n++;
                    }
                    md[j] += x;
                }
                got = sum_feed(&k, t, now, x);
            } else if (op < 90) {
                got = sum_look(&k, now);
            } else if (op < 93) {
                k.r.kind->reset(&k.r, kr_slot(&k, T0 + now));
                n = 0;
                head = INT64_MIN;
                got = sum_look(&k, now);
                head = win_bucket(&sp, now);
            } else {
                sum_reload(&k, T0 + now);
                got = sum_look(&k, now);
            }
            for (uint32_t j = 0; j < n; j++)
                want += md[j];
            assert_true(got == want);
            assert_true(got == sum_pass(&k, T0 + now));
        }
        kr_close(&k);
    }
}

static void test_ratio_ops(void **state)
{
    (void)state;
    round_trip("[{'name':'r','kind':'ratio','severity':'info',"
               "'group_by':['tool_name'],'numerator':{'error':true},"
               "'window_s':10,'threshold':0.5,'min_count':5}]");
}

/* ---- through the engine ---- */

/* 40 tools through a table of 4 groups, each time 30 events (threshold
 * 30: not above), so every group is evicted and made again many times;
 * then a fresh group still fires on its 31st event, not its 30th, and
 * resolves when the first leaves the window to the ms. */
static void test_count_churn(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'c','kind':'count','severity':'info',"
        "'group_by':['tool_name'],'window_s':10,'threshold':30,"
        "'max_keys':4,'hold_s':0}]",
        NULL);
    char tool[16];
    int64_t t = 0;

    (void)state;
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 40; i++) {
            snprintf(tool, sizeof tool, "t%d", i);
            feed_calls(e, 30, t, 1, tool, "a");
            t += 30;
        }
    assert_int_equal(c.n, 0);
    assert_true(rinfo(e, "c").evicted >= 190);
    /* out of order within the window: 30, not above */
    for (int i = 0; i < 30; i++)
        feed(e, ev_call(t + (i * 7919) % 1000, "fresh", "a"));
    assert_int_equal(c.n, 0);
    feed(e, ev_call(t + 1000, "fresh", "a"));
    assert_int_equal(c.n, 1);
    assert_true(c.a[0].value == 31);
    /* the event at t leaves at t + 10 s: 30, clear */
    feed(e, ev_call(t + 9999, "other", "a"));
    assert_int_equal(c.n, 1);
    feed(e, ev_call(t + 10000, "other", "a"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[1].resolved_at, T0 + t + 10000);
    /* an event window_s old is late: not counted */
    feed(e, ev_call(t, "fresh", "a"));
    assert_int_equal(rinfo(e, "c").late, 1);
    eng_free(e);
}

/* sum and ratio over a churning table: evicted groups start from
 * nothing, and the thresholds stay strict. */
static void test_sum_ratio_churn(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(
        &c,
        "[{'name':'s','kind':'sum','severity':'info','field':'cost_usd',"
        "'group_by':['agent_id'],'window_s':60,'threshold':10,"
        "'max_keys':3,'hold_s':0},"
        "{'name':'r','kind':'ratio','severity':'info',"
        "'group_by':['agent_id'],'numerator':{'error':true},"
        "'window_s':60,'threshold':0.5,'min_count':4,'max_keys':3,"
        "'hold_s':0}]",
        NULL);
    char agent[16];
    int64_t t = 0;

    (void)state;
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 30; i++) {
            snprintf(agent, sizeof agent, "a%d", i);
            for (int k = 0; k < 10; k++) /* 9.5 USD, 2 errors of 10 */
                feed(e, k < 2 ? ev_error(t + 700 * k, "llm", agent)
                              : ev_cost(t + 700 * k, agent,
                                        k == 2 ? 1.5 : 1));
            t += 7000;
        }
    assert_int_equal(c.n, 0);
    assert_true(rinfo(e, "s").evicted >= 110);
    assert_true(rinfo(e, "r").evicted >= 110);
    /* exactly 10 is not above; 10.25 is */
    feed(e, ev_cost(t, "new", 4));
    feed(e, ev_cost(t + 1, "new", 6));
    assert_int_equal(c.n, 0);
    feed(e, ev_cost(t + 2, "new", 0.25));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].rule, "s");
    assert_true(c.a[0].value == 10.25);
    /* 2 errors of 4 calls: 50 %, not above; a third error is */
    feed(e, ev_error(t + 3, "llm", "new2"));
    feed(e, ev_error(t + 4, "llm", "new2"));
    feed(e, ev_call(t + 5, "llm", "new2"));
    feed(e, ev_call(t + 6, "llm", "new2"));
    assert_int_equal(c.n, 1);
    feed(e, ev_error(t + 7, "llm", "new2"));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].rule, "r");
    assert_true(c.a[1].value == 3.0 / 5.0);
    eng_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_ops),
        cmocka_unit_test(test_sum_ops),
        cmocka_unit_test(test_ratio_ops),
        cmocka_unit_test(test_sum_older_edges),
        cmocka_unit_test(test_sum_older_model),
        cmocka_unit_test(test_count_churn),
        cmocka_unit_test(test_sum_ratio_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
