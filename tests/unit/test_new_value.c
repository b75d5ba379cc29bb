/*
 * test_new_value.c - the new_value kind's per-group state in a rule's
 * value pool: sizes, the learning period at its edge (now - first <
 * learn_ms learns, >= reports), the least recently used value forgotten
 * first, max_values = 1, churn through a full group within its bound,
 * groups apart in one pool and their entries returned on reset, random
 * streams against a plain LRU list, and checkpoint records: a round trip
 * behaves the same afterwards, hostile records are refused.  In an
 * engine at max_keys 2: the alert group of a new value that evicts the
 * event's own group (the only one without an open alert) takes its slot
 * and returns its values to the pool; nothing is lost from the pool.
 */
#include "detectors/new_value.h"

#include "base/clock.h"

#include "det_helpers.h"
#include "rec_helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */

static const uint64_t *hv(uint32_t v)
{
    static uint64_t h[2];

    h[0] = v * 0x9e3779b97f4a7c15ULL;
    h[1] = v;
    return h;
}

/* The pool of the state last made by state_new (group 0 of it). */
static valpool *pool;

/* A spec and one group in a new pool (of 4 groups); free with
 * state_free. */
static new_value_state *state_new(new_value_spec *s, int64_t learn,
                                  uint32_t max)
{
    new_value_state *st;

    assert_int_equal(new_value_spec_init(s, learn, max), 0);
    pool = new_value_pool(s, 4);
    assert_non_null(pool);
    st = calloc(1, s->size); /* zero, as a fresh slab */
    assert_non_null(st);
    new_value_reset(pool, st);
    return st;
}

static void state_free(new_value_state *st)
{
    free(st);
    valpool_destroy(pool);
    pool = NULL;
}

/* Feed value v at T0 + t, now being its time. */
static int vfeed(const new_value_spec *s, new_value_state *st, int64_t t,
                uint32_t v)
{
    return new_value_feed(s, pool, 0, st, T0 + t, T0 + t, hv(v));
}

static void test_spec(void **state)
{
    new_value_spec s;

    (void)state;
    assert_int_equal(sizeof(new_value_state), 40);
    assert_int_equal(new_value_spec_init(&s, 0, 1), 0);
    assert_int_equal(s.size, 40);
    assert_int_equal(new_value_spec_init(&s, 1000, 1000), 0);
    assert_int_equal(s.size, 40);
    assert_int_equal(new_value_checkpoint_bytes(&s), 1 + 24 + 4 + 16000);
    assert_int_equal(new_value_spec_init(&s, 1000, NEW_VALUE_MAX_VALUES), 0);
    assert_int_equal(new_value_spec_init(&s, 1000, 0), NEW_VALUE_EINVAL);
    assert_int_equal(new_value_spec_init(&s, 1000, NEW_VALUE_MAX_VALUES + 1),
                     NEW_VALUE_EINVAL);
    assert_int_equal(new_value_spec_init(&s, -1, 10), NEW_VALUE_EINVAL);
    assert_int_equal(new_value_spec_init(&s, NEW_VALUE_MAX_LEARN_MS, 10), 0);
    assert_int_equal(new_value_spec_init(&s, NEW_VALUE_MAX_LEARN_MS + 1, 10),
                     NEW_VALUE_EINVAL);
    /* the pool: max_keys x max_values entries, within valpool's range */
    assert_int_equal(new_value_spec_init(&s, 0, 100000), 0);
    assert_null(new_value_pool(&s, 10000000));
}

/* learn 1000 ms from the first event at 0: a value first seen at 999 is
 * learned, at 1000 it is new; known values are known in both. */
static void test_learn_edge(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 1000, 100);

    (void)state;
    assert_int_equal(st->first, INT64_MIN);
    assert_int_equal(vfeed(&s, st, 0, 1), NEW_VALUE_LEARNED);
    assert_int_equal(st->first, T0);
    assert_int_equal(vfeed(&s, st, 500, 1), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 999, 2), NEW_VALUE_LEARNED);
    assert_int_equal(st->last_new, INT64_MIN);
    assert_int_equal(vfeed(&s, st, 1000, 3), NEW_VALUE_NEW);
    assert_int_equal(st->last_new, T0 + 1000);
    assert_int_equal(vfeed(&s, st, 1001, 2), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 1002, 3), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 1003, 1), NEW_VALUE_KNOWN);
    assert_int_equal(st->last_new, T0 + 1000);
    state_free(st);
}

/* The learning period is judged on now; the first event time is its
 * stamp (taken at now when after it). */
static void test_learn_times(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 1000, 100);

    (void)state;
    /* first event stamped 100 before now */
    assert_int_equal(new_value_feed(&s, pool, 0, st, T0 + 100, T0, hv(1)),
                     NEW_VALUE_LEARNED);
    assert_int_equal(st->first, T0);
    /* stamped 500, but now is 1000: learning is over */
    assert_int_equal(
        new_value_feed(&s, pool, 0, st, T0 + 1000, T0 + 500, hv(2)),
        NEW_VALUE_NEW);
    assert_int_equal(st->last_new, T0 + 500);
    state_free(st);
    st = state_new(&s, 1000, 100);
    /* stamped after now: taken at now */
    assert_int_equal(new_value_feed(&s, pool, 0, st, T0, T0 + 5000, hv(1)),
                     NEW_VALUE_LEARNED);
    assert_int_equal(st->first, T0);
    assert_int_equal(
        new_value_feed(&s, pool, 0, st, T0 + 999, T0 + 5000, hv(2)),
        NEW_VALUE_LEARNED);
    assert_int_equal(
        new_value_feed(&s, pool, 0, st, T0 + 1000, T0 + 5000, hv(3)),
        NEW_VALUE_NEW);
    assert_int_equal(st->last_new, T0 + 1000);
    state_free(st);
    /* learn 0: the very first value is new */
    st = state_new(&s, 0, 100);
    assert_int_equal(vfeed(&s, st, 0, 1), NEW_VALUE_NEW);
    assert_int_equal(vfeed(&s, st, 0, 1), NEW_VALUE_KNOWN);
    state_free(st);
}

/* max 3: the least recently used is forgotten, and counts as new again. */
static void test_lru_order(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 0, 3);

    (void)state;
    assert_int_equal(vfeed(&s, st, 0, 1), NEW_VALUE_NEW);
    assert_int_equal(vfeed(&s, st, 1, 2), NEW_VALUE_NEW);
    assert_int_equal(vfeed(&s, st, 2, 3), NEW_VALUE_NEW);
    assert_int_equal(vfeed(&s, st, 3, 1), NEW_VALUE_KNOWN); /* 2 3 1 */
    assert_int_equal(vfeed(&s, st, 4, 4), NEW_VALUE_NEW);   /* 3 1 4 */
    assert_int_equal(st->forgotten, 1);
    assert_int_equal(vfeed(&s, st, 5, 1), NEW_VALUE_KNOWN); /* 3 4 1 */
    assert_int_equal(vfeed(&s, st, 6, 4), NEW_VALUE_KNOWN); /* 3 1 4 */
    assert_int_equal(vfeed(&s, st, 7, 2), NEW_VALUE_NEW);   /* 1 4 2 */
    assert_int_equal(vfeed(&s, st, 8, 3), NEW_VALUE_NEW);   /* 4 2 3 */
    assert_int_equal(st->forgotten, 3);
    assert_int_equal(vfeed(&s, st, 9, 4), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 10, 2), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 11, 3), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 12, 1), NEW_VALUE_NEW);  /* forgets 4 */
    assert_int_equal(vfeed(&s, st, 13, 4), NEW_VALUE_NEW);
    assert_int_equal(st->forgotten, 5);
    /* values forgotten while learning are learned again silently */
    state_free(st);
    st = state_new(&s, 100, 2);
    assert_int_equal(vfeed(&s, st, 0, 1), NEW_VALUE_LEARNED);
    assert_int_equal(vfeed(&s, st, 1, 2), NEW_VALUE_LEARNED);
    assert_int_equal(vfeed(&s, st, 2, 3), NEW_VALUE_LEARNED); /* forgets 1 */
    assert_int_equal(vfeed(&s, st, 3, 1), NEW_VALUE_LEARNED); /* forgets 2 */
    assert_int_equal(vfeed(&s, st, 100, 2), NEW_VALUE_NEW);   /* forgets 3 */
    assert_int_equal(vfeed(&s, st, 101, 1), NEW_VALUE_KNOWN);
    assert_int_equal(st->forgotten, 3);
    state_free(st);
}

static void test_max_values_one(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 10, 1);

    (void)state;
    assert_int_equal(vfeed(&s, st, 0, 1), NEW_VALUE_LEARNED);
    assert_int_equal(vfeed(&s, st, 10, 1), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 11, 2), NEW_VALUE_NEW);
    assert_int_equal(vfeed(&s, st, 12, 2), NEW_VALUE_KNOWN);
    assert_int_equal(vfeed(&s, st, 13, 1), NEW_VALUE_NEW);
    assert_int_equal(vfeed(&s, st, 14, 2), NEW_VALUE_NEW);
    assert_int_equal(st->forgotten, 3);
    state_free(st);
}

/* 100 000 values through a set of 1000, twice: each is new when seen, the
 * last 1000 are known, and the first 1000 new again. */
static void test_full_churn(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 0, 1000);

    (void)state;
    for (uint32_t v = 0; v < 100000; v++)
        assert_int_equal(vfeed(&s, st, v, v), NEW_VALUE_NEW);
    assert_int_equal(st->forgotten, 99000);
    assert_int_equal(st->set.count, 1000);
    /* the forgotten values' entries were reused: no more than it holds */
    assert_int_equal(valpool_hw(pool), 1000);
    assert_int_equal(valpool_buckets(pool), 1000);
    for (uint32_t v = 99000; v < 100000; v++)
        assert_int_equal(vfeed(&s, st, 100000, v), NEW_VALUE_KNOWN);
    for (uint32_t v = 0; v < 1000; v++)
        assert_int_equal(vfeed(&s, st, 100001, v), NEW_VALUE_NEW);
    for (uint32_t v = 0; v < 1000; v++)
        assert_int_equal(vfeed(&s, st, 100002, v), NEW_VALUE_KNOWN);
    assert_int_equal(st->forgotten, 100000);
    state_free(st);
}

/* Random values against a plain array kept in order of use. */
static void test_random_against_list(void **state)
{
    (void)state;
    srand(9);
    for (int run = 0; run < 500; run++) {
        uint32_t max = 1 + (uint32_t)(rand() % 16);
        int64_t learn = rand() % 50;
        uint32_t nv = 1 + (uint32_t)(rand() % 40);
        uint32_t list[16]; /* least recently used first */
        uint32_t n = 0;
        int64_t t = 0, first = -1;
        new_value_spec s;
        new_value_state *st = state_new(&s, learn, max);

        for (int e = 0; e < 300; e++) {
            uint32_t v = (uint32_t)rand() % nv;
            uint32_t j = 0;
            int want;

            t += rand() % 3;
            if (first < 0)
                first = t;
            while (j < n && list[j] != v)
                j++;
            if (j < n) {
                memmove(&list[j], &list[j + 1], (n - j - 1) * sizeof *list);
                n--;
                want = NEW_VALUE_KNOWN;
            } else {
                if (n == max) {
                    memmove(&list[0], &list[1], (n - 1) * sizeof *list);
                    n--;
                }
                want = t - first < learn ? NEW_VALUE_LEARNED : NEW_VALUE_NEW;
            }
            list[n++] = v;
            assert_int_equal(vfeed(&s, st, t, v), want);
            assert_int_equal(st->set.count, n);
        }
        state_free(st);
    }
}

/* Two groups of one pool: the same value is one of each, learned on each
 * group's own clock; a reset returns only that group's entries, and the
 * slot's next group does not see them; an alert group in a slot that
 * held values returns them too. */
static void test_groups_apart(void **state)
{
    new_value_spec s;
    new_value_state *a = state_new(&s, 100, 10), b, c;

    (void)state;
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    new_value_reset(pool, &b);
    new_value_reset(pool, &c);
    assert_int_equal(vfeed(&s, a, 0, 1), NEW_VALUE_LEARNED);
    assert_int_equal(vfeed(&s, a, 1, 2), NEW_VALUE_LEARNED);
    assert_int_equal(new_value_feed(&s, pool, 1, &b, T0 + 100, T0 + 100,
                                    hv(1)),
                     NEW_VALUE_LEARNED);
    assert_int_equal(new_value_feed(&s, pool, 1, &b, T0 + 200, T0 + 200,
                                    hv(3)),
                     NEW_VALUE_NEW);
    assert_int_equal(vfeed(&s, a, 200, 3), NEW_VALUE_NEW);
    assert_int_equal(valpool_count(pool), 5);
    new_value_reset(pool, &b); /* b's slot taken by a new group */
    assert_int_equal(valpool_count(pool), 3);
    assert_int_equal(new_value_feed(&s, pool, 1, &b, T0 + 300, T0 + 300,
                                    hv(3)),
                     NEW_VALUE_LEARNED);
    assert_int_equal(vfeed(&s, a, 300, 1), NEW_VALUE_KNOWN);
    /* a's slot becomes an alert group: its 3 values go back */
    new_value_alert(pool, a, T0 + 400);
    assert_int_equal(a->last_new, T0 + 400);
    assert_int_equal(a->set.count, 0);
    assert_int_equal(valpool_count(pool), 1);
    new_value_alert(pool, &c, T0 + 500); /* never held any */
    assert_int_equal(c.last_new, T0 + 500);
    assert_int_equal(valpool_count(pool), 1);
    state_free(a);
}

/* A hostile stream (a new value in every event, over every group) keeps
 * the pool within max_keys x max_values entries, and within the values
 * held at once. */
static void test_hostile_bound(void **state)
{
    enum { G = 4, MAX = 50 };
    new_value_spec s;
    new_value_state *st = state_new(&s, 0, MAX), g[G];

    (void)state;
    memset(g, 0, sizeof g);
    for (uint32_t i = 0; i < G; i++)
        new_value_reset(pool, &g[i]);
    for (uint32_t v = 0; v < 20000; v++) {
        uint32_t gid = v % G;
        assert_int_equal(new_value_feed(&s, pool, gid, &g[gid], T0 + v,
                                        T0 + v, hv(v)),
                         NEW_VALUE_NEW);
        assert_true(valpool_count(pool) <= G * MAX);
        /* a group's slot reused now and then */
        if (v % 997 == 0)
            new_value_reset(pool, &g[(v / 997) % G]);
    }
    assert_true(valpool_hw(pool) <= G * MAX);
    assert_true(valpool_buckets(pool) <= G * MAX);
    state_free(st);
}

/* ---- checkpoint ---- */

/* The record of group gid (state st) in *out (reset first). */
static void save(const new_value_state *st, uint32_t gid, int alert,
                 buf *out)
{
    buf_reset(out);
    assert_int_equal(new_value_save(pool, gid, st, alert, out), 0);
}

/* Save a group after a random stream, load it into another group of
 * another pool: the same record again, then the same answers for the
 * same events. */
static void test_save_load_round_trip(void **state)
{
    buf out, again;

    (void)state;
    buf_init(&out, 1 << 20);
    buf_init(&again, 1 << 20);
    srand(17);
    for (int run = 0; run < 400; run++) {
        uint32_t max = 1 + (uint32_t)(rand() % 16);
        int64_t learn = rand() % 50, t = 0;
        uint32_t nv = 1 + (uint32_t)(rand() % 40);
        int before = rand() % 60;
        new_value_spec s;
        new_value_state *a = state_new(&s, learn, max), b;
        valpool *pa = pool, *pb = new_value_pool(&s, 4);

        assert_non_null(pb);
        for (int e = 0; e < before; e++) {
            t += rand() % 3;
            vfeed(&s, a, t, (uint32_t)rand() % nv);
        }
        save(a, 0, 0, &out);
        assert_true(out.len <= new_value_checkpoint_bytes(&s));
        memset(&b, 0, sizeof b);
        new_value_reset(pb, &b);
        assert_int_equal(new_value_load(&s, pb, 3, &b, 0,
                                        (unsigned char *)out.data, out.len),
                         0);
        assert_int_equal(b.first, a->first);
        assert_int_equal(b.last_new, a->last_new);
        assert_int_equal(b.forgotten, a->forgotten);
        pool = pb;
        save(&b, 3, 0, &again);
        assert_int_equal(again.len, out.len);
        assert_memory_equal(again.data, out.data, out.len);
        for (int e = 0; e < 200; e++) {
            uint32_t v = (uint32_t)rand() % (nv + 5);
            int64_t now, ts;

            t += rand() % 3;
            now = T0 + t;
            ts = now - rand() % 5;
            assert_int_equal(new_value_feed(&s, pa, 0, a, now, ts, hv(v)),
                             new_value_feed(&s, pb, 3, &b, now, ts, hv(v)));
            assert_int_equal(a->last_new, b.last_new);
            assert_int_equal(a->forgotten, b.forgotten);
            assert_int_equal(a->set.count, b.set.count);
        }
        pool = pa;
        valpool_destroy(pb);
        state_free(a);
    }
    buf_free(&out);
    buf_free(&again);
}

/* Load in[0..n) into a reset group 1 of the current pool: refused, the
 * group left reset and the pool as it was. */
static void refused(const new_value_spec *s, int alert,
                    const unsigned char *in, size_t n)
{
    new_value_state b;
    uint32_t before = valpool_count(pool);

    memset(&b, 0, sizeof b);
    new_value_reset(pool, &b);
    assert_int_equal(new_value_load(s, pool, 1, &b, alert, in, n), -1);
    assert_int_equal(b.set.count, 0);
    assert_int_equal(b.first, INT64_MIN);
    assert_int_equal(b.last_new, INT64_MIN);
    assert_int_equal(b.forgotten, 0);
    assert_int_equal(valpool_count(pool), before);
}

/* Record offsets: tag, last_new, first, forgotten, count, values. */
enum { R_LAST = 1, R_FIRST = 9, R_FORGOT = 17, R_COUNT = 25, R_VAL = 29 };

static void test_load_refused(void **state)
{
    new_value_spec s, s2;
    new_value_state *a = state_new(&s, 0, 3), e, al;
    unsigned char r[256];
    size_t n;
    buf out;

    (void)state;
    buf_init(&out, 4096);
    for (uint32_t v = 1; v <= 5; v++) /* full: 3 held, 2 forgotten */
        assert_int_equal(vfeed(&s, a, v, v), NEW_VALUE_NEW);
    save(a, 0, 0, &out);
    n = out.len;
    assert_int_equal(n, R_VAL + 3 * 16);
    memcpy(r, out.data, n);
    /* truncated anywhere, a byte too many, the other kind of group */
    for (size_t m = 0; m < n; m++)
        refused(&s, 0, r, m);
    r[n] = 0;
    refused(&s, 0, r, n + 1);
    refused(&s, 1, r, n);
    r[0] = NEW_VALUE_REC_ALERT;
    refused(&s, 0, r, n);
    memcpy(r, out.data, n);
    /* times out of range */
    put64(r + R_FIRST, -1);
    refused(&s, 0, r, n);
    put64(r + R_FIRST, CLOCK_MS_MAX + 1);
    refused(&s, 0, r, n);
    put64(r + R_FIRST, CLOCK_MS_MAX);
    put64(r + R_LAST, -5);
    refused(&s, 0, r, n);
    put64(r + R_LAST, INT64_MAX);
    refused(&s, 0, r, n);
    memcpy(r, out.data, n);
    /* values with no first event */
    put64(r + R_FIRST, INT64_MIN);
    refused(&s, 0, r, n);
    memcpy(r, out.data, n);
    /* more than max_values, for a rule of 2 */
    assert_int_equal(new_value_spec_init(&s2, 0, 2), 0);
    refused(&s2, 0, r, n);
    /* forgotten values with room left: one value fewer */
    r[R_COUNT] = 2;
    refused(&s, 0, r, n - 16);
    /* a hash twice */
    r[R_COUNT] = 3;
    memcpy(r + R_VAL + 32, r + R_VAL, 16);
    refused(&s, 0, r, n);
    /* a group with a first event holds its value */
    memcpy(r, out.data, n);
    put64(r + R_FORGOT, 0);
    r[R_COUNT] = 0;
    refused(&s, 0, r, R_VAL);
    /* an empty group: no first, no last_new, nothing forgotten */
    memset(&e, 0, sizeof e);
    new_value_reset(pool, &e);
    save(&e, 2, 0, &out);
    assert_int_equal(out.len, R_VAL);
    memcpy(r, out.data, R_VAL);
    put64(r + R_LAST, T0);
    refused(&s, 0, r, R_VAL);
    put64(r + R_LAST, INT64_MIN);
    put64(r + R_FORGOT, 1);
    refused(&s, 0, r, R_VAL);
    /* an alert group: its last_new, nothing else */
    memset(&al, 0, sizeof al);
    new_value_alert(pool, &al, T0 + 9);
    save(&al, 2, 1, &out);
    assert_int_equal(out.len, 1 + 8 + 4);
    memcpy(r, out.data, out.len);
    refused(&s, 0, r, out.len);
    {
        new_value_state b;
        memset(&b, 0, sizeof b);
        new_value_reset(pool, &b);
        assert_int_equal(new_value_load(&s, pool, 1, &b, 1, r, out.len), 0);
        assert_int_equal(b.last_new, T0 + 9);
        assert_int_equal(b.first, INT64_MIN);
        assert_int_equal(b.set.count, 0);
    }
    put64(r + 1, INT64_MIN);
    refused(&s, 1, r, 13);
    put64(r + 1, -1);
    refused(&s, 1, r, 13);
    put64(r + 1, T0);
    r[9] = 1; /* one value */
    memset(r + 13, 7, 16);
    refused(&s, 1, r, 29);
    /* a group that was not reset is refused, and reset */
    save(a, 0, 0, &out);
    assert_int_equal(new_value_load(&s, pool, 0, a, 0,
                                    (unsigned char *)out.data, out.len),
                     -1);
    assert_int_equal(a->set.count, 0);
    assert_int_equal(valpool_count(pool), 0);
    buf_free(&out);
    state_free(a);
}

/* ---- the kind's checkpoint ops (kind.h) ---- */

/* Save a counting group, an alert group and a muted group that sits on a
 * slot whose values were never returned; load each into a rule of its
 * own: the same answers after, the muted group saved empty, a record of
 * the other kind of group refused. */
static void test_kind_ops(void **state)
{
    struct rule_params p = {.max_values = 3};
    struct rule ra, rb;
    struct det_rule a, b;
    uint32_t g, al, mu, g2, al2, mu2;
    buf out;
    size_t len[3];
    unsigned char rec[3][256];

    (void)state;
    inst_new(&a, &ra, RULE_K_NEW_VALUE, &p, 100000, NAN);
    inst_new(&b, &rb, RULE_K_NEW_VALUE, &p, 100000, NAN);
    buf_init(&out, 4096);
    g = inst_group(&a, 1, 0);
    for (uint32_t v = 1; v <= 4; v++)
        new_value_feed(&a.spec.new_value, a.priv, g, det_state(&a, g),
                       T0 + v, T0 + v, hv(v));
    al = inst_group(&a, 2, DET_G_ALERT);
    new_value_alert(a.priv, det_state(&a, al), T0 + 4);
    mu = inst_group(&a, 3, 0);
    new_value_feed(&a.spec.new_value, a.priv, mu, det_state(&a, mu), T0,
                   T0, hv(9));
    a.keys.slot[mu].spare = DET_G_MUTED; /* as if the slot went muted */
    for (int i = 0; i < 3; i++) {
        uint32_t s = i == 0 ? g : i == 1 ? al : mu;
        buf_reset(&out);
        assert_int_equal(a.kind->save(&a, s, &out), 0);
        assert_true(out.len <= a.kind->checkpoint_bytes(&a));
        len[i] = out.len;
        memcpy(rec[i], out.data, out.len);
    }
    assert_int_equal(len[0], R_VAL + 3 * 16);
    assert_int_equal(len[1], 13);
    assert_int_equal(len[2], R_VAL); /* muted: nothing */
    assert_int_equal(a.kind->checkpoint_bytes(&a), R_VAL + 3 * 16);
    g2 = inst_group(&b, 1, 0);
    al2 = inst_group(&b, 2, DET_G_ALERT);
    mu2 = inst_group(&b, 3, 0);
    assert_int_equal(b.kind->load(&b, al2, rec[0], len[0]), -1);
    assert_int_equal(b.kind->load(&b, g2, rec[1], len[1]), -1);
    assert_int_equal(b.kind->load(&b, g2, rec[0], len[0]), 0);
    assert_int_equal(b.kind->load(&b, al2, rec[1], len[1]), 0);
    assert_int_equal(b.kind->load(&b, mu2, rec[2], len[2]), 0);
    assert_int_equal(valpool_count(b.priv), 3);
    assert_int_equal(((new_value_state *)det_state(&b, al2))->last_new,
                     T0 + 4);
    for (uint32_t v = 0; v <= 6; v++)
        assert_int_equal(
            new_value_feed(&a.spec.new_value, a.priv, g, det_state(&a, g),
                           T0 + 10 + v, T0 + 10 + v, hv(v)),
            new_value_feed(&b.spec.new_value, b.priv, g2, det_state(&b, g2),
                           T0 + 10 + v, T0 + 10 + v, hv(v)));
    buf_free(&out);
    inst_free(&a);
    inst_free(&b);
}

/* Random damage to the records of a counting group and of an alert
 * group, loaded through the ops into either kind of group: refused or
 * loaded within max_values; never a crash, never a value lost. */
static void test_kind_load_damaged(void **state)
{
    struct rule_params p = {.max_values = 6, .learn_s = 0};
    struct rule ra;
    struct det_rule a;
    struct inst_try t = {&a, 0, 6, 0};
    uint32_t g, al;
    buf out;

    (void)state;
    inst_new(&a, &ra, RULE_K_NEW_VALUE, &p, 100000, NAN);
    buf_init(&out, 4096);
    g = inst_group(&a, 1, 0);
    for (uint32_t v = 1; v <= 9; v++)
        new_value_feed(&a.spec.new_value, a.priv, g, det_state(&a, g),
                       T0 + 3 * v, T0 + 3 * v, hv(v));
    al = inst_group(&a, 2, DET_G_ALERT);
    new_value_alert(a.priv, det_state(&a, al), T0 + 4);
    for (int i = 0; i < 4; i++) {
        buf_reset(&out);
        assert_int_equal(a.kind->save(&a, i < 2 ? g : al, &out), 0);
        t.slot = inst_group(&a, 10 + (uint64_t)i,
                            i % 2 ? DET_G_ALERT : 0);
        rec_damage((unsigned char *)out.data, out.len, 20000,
                   23 + (unsigned)i, inst_try_load, &t);
        det_keys_remove(&a.keys, t.slot);
    }
    assert_true(t.loaded > 0);
    assert_int_equal(valpool_count(a.priv), 6);
    buf_free(&out);
    inst_free(&a);
}

/* What det_group_extra does when making an alert group evicts a counting
 * group (keys.c: the evicted slot is the next one taken): the slot comes
 * back with the old group's state, not reset (an alert group is made
 * without a reset); new_value_alert returns its values to the pool, and
 * the slot then saves as an alert group. */
static void test_alert_on_evicted_slot(void **state)
{
    struct rule_params p = {.max_values = 3, .learn_s = 0};
    struct rule ra;
    struct det_rule a;
    new_value_state *st;
    uint32_t g, al;
    buf out;

    (void)state;
    inst_new(&a, &ra, RULE_K_NEW_VALUE, &p, 60000, NAN);
    buf_init(&out, 4096);
    g = inst_group(&a, 1, 0);
    for (uint32_t v = 1; v <= 3; v++)
        new_value_feed(&a.spec.new_value, a.priv, g, det_state(&a, g),
                       T0 + v, T0 + v, hv(v));
    assert_int_equal(valpool_count(a.priv), 3);
    det_keys_remove(&a.keys, g); /* evicted */
    al = inst_group(&a, 2, DET_G_ALERT);
    assert_int_equal(al, g);
    st = det_state(&a, al);
    assert_int_equal(st->set.count, 3); /* as the old group left it */
    new_value_alert(a.priv, st, T0 + 4);
    assert_int_equal(st->set.count, 0);
    assert_int_equal(valpool_count(a.priv), 0);
    assert_int_equal(valpool_find(a.priv, al, hv(1)), VALPOOL_NIL);
    assert_int_equal(st->last_new, T0 + 4);
    assert_int_equal(a.kind->save(&a, al, &out), 0);
    assert_int_equal(out.len, 13);
    buf_free(&out);
    inst_free(&a);
}

/* ---- the rule in an engine at max_keys ---- */

static void hold0(struct det_engine_params *p)
{
    p->hold_s = 0;
}

#define NV_CAP2                                                            \
    "[{'name':'nv','kind':'new_value','severity':'warning',"              \
    "'field':'tool_name','group_by':['agent_id'],'learn_s':10,"           \
    "'max_values':2,'max_keys':2,'window_s':60}]"

/* max_keys 2: agent a learns t1, then t2 is new and its alert group takes
 * the second slot; t3 is new too, and making its alert group evicts the
 * only unpinned group: a's own, the group that has just remembered t3.
 * Its slot becomes the alert group a/t3 and its values are returned to
 * the pool then (new_value_alert), not left on the slot: once both
 * alerts resolve, two agents remember max_values each, which needs every
 * entry of the pool (max_keys x max_values = 4); a lost entry would make
 * a learned value new again. */
static void test_engine_evicts_own_group(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, NV_CAP2, hold0);
    struct det_rule_info ri;

    (void)state;
    feed(e, ev_call(0, "t1", "a"));     /* learned */
    feed(e, ev_call(10000, "t2", "a")); /* new: a/t2 */
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].key, "a/t2");
    assert_int_equal(rinfo(e, "nv").evicted, 0);
    feed(e, ev_call(11000, "t3", "a")); /* new: a/t3 evicts a */
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].key, "a/t3");
    ri = rinfo(e, "nv");
    assert_int_equal(ri.evicted, 1);
    assert_int_equal(ri.groups, 2);
    assert_int_equal(ri.open, 2);
    assert_int_equal(ri.full, 0);
    /* a's group is gone and both groups alert: a's next call is counted
     * as full, no group of its own, and the capacity warning fires */
    feed(e, ev_call(12000, "t1", "a"));
    ri = rinfo(e, "nv");
    assert_int_equal(ri.full, 1);
    assert_int_equal(ri.at_capacity, 1);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].rule, "rule_capacity");
    /* both resolve 60 s after their value; the warning with them */
    feed(e, ev_call(200000, "v1", "b"));
    ri = rinfo(e, "nv");
    assert_int_equal(ri.open, 0);
    assert_int_equal(ri.at_capacity, 0);
    assert_int_equal(c.n, 6);
    for (int i = 3; i < 6; i++)
        assert_int_equal(c.a[i].resolved, 1);
    feed(e, ev_call(200001, "v2", "b"));
    feed(e, ev_call(200002, "v1", "x"));
    feed(e, ev_call(200003, "v2", "x"));
    assert_int_equal(rinfo(e, "nv").groups, 2);
    /* every value learned was kept: known, nothing fires */
    for (int64_t t = 215000; t < 215004; t++) {
        feed(e, ev_call(t, t % 2 ? "v1" : "v2", "b"));
        feed(e, ev_call(t, t % 2 ? "v1" : "v2", "x"));
    }
    assert_int_equal(c.n, 6);
    /* and a value neither has is new for each */
    feed(e, ev_call(216000, "v3", "b"));
    assert_int_equal(c.n, 7);
    assert_string_equal(c.a[6].key, "b/v3");
    eng_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_learn_edge),
        cmocka_unit_test(test_learn_times),
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_max_values_one),
        cmocka_unit_test(test_full_churn),
        cmocka_unit_test(test_random_against_list),
        cmocka_unit_test(test_groups_apart),
        cmocka_unit_test(test_hostile_bound),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_load_refused),
        cmocka_unit_test(test_kind_ops),
        cmocka_unit_test(test_kind_load_damaged),
        cmocka_unit_test(test_alert_on_evicted_slot),
        cmocka_unit_test(test_engine_evicts_own_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
