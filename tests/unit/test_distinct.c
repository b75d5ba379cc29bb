/*
 * test_distinct.c - the distinct kind's per-group state: sizes, the
 * strict threshold, window edges, late events, the clear threshold and the
 * time it will hold, forgetting the least recently seen value, values out
 * of time order, the list of remembered values, offset rebasing, and a
 * brute-force comparison on random streams.
 */
#include "detectors/distinct.h"

#include "base/clock.h"

#include "kind_helpers.h"
#include "rec_helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Value v as a hash: both halves vary, and values 0 and 16 share a
 * bucket in small sets. */
static const uint64_t *hv(unsigned v)
{
    static uint64_t h[64][2];

    h[v % 64][0] = (uint64_t)v;
    h[v % 64][1] = 0x9e3779b97f4a7c15ULL * (v + 1);
    return h[v % 64];
}

/* The pool of the state last made by state_new (group 0 of it). */
static valpool *pool;

/* One group in a new pool (of 4 groups); free with state_free. */
static distinct_state *state_new(const distinct_spec *s)
{
    distinct_state *st = calloc(1, s->size); /* zero, as a fresh slab */

    assert_non_null(st);
    pool = distinct_pool(s, 4);
    assert_non_null(pool);
    distinct_reset(pool, st);
    return st;
}

static void state_free(distinct_state *st)
{
    free(st);
    valpool_destroy(pool);
    pool = NULL;
}

static struct distinct_level level(const distinct_spec *s,
                                   distinct_state *st, int64_t now)
{
    struct distinct_level l;

    distinct_level(s, pool, st, now, &l);
    return l;
}

static int add(const distinct_spec *s, distinct_state *st, int64_t now,
               int64_t t, unsigned v)
{
    return distinct_add(s, pool, 0, st, now, t, hv(v));
}

/* distinct_values and distinct_clear_time of group 0 of the pool. */
static size_t values(const distinct_spec *s, distinct_state *st, int64_t now,
                     uint64_t (*out)[2], int64_t *seen, size_t max)
{
    return distinct_values(s, pool, 0, st, now, out, seen, max);
}

static int64_t clear_time(const distinct_spec *s, distinct_state *st)
{
    return distinct_clear_time(s, pool, st);
}

static void test_spec(void **state)
{
    distinct_spec s;

    (void)state;
    assert_int_equal(sizeof(distinct_state), 32);
    assert_int_equal(distinct_spec_init(&s, 60000, 0, NAN), DISTINCT_OK);
    assert_int_equal(s.fire_at, 1);
    assert_int_equal(s.size, 32);
    assert_int_equal(distinct_checkpoint_bytes(&s), 1 + 8 + 4 + 24);
    assert_int_equal(distinct_spec_init(&s, 60000, 10, NAN), DISTINCT_OK);
    assert_int_equal(s.size, 32);
    assert_int_equal(distinct_spec_init(&s, 60000, 20, 5.5), DISTINCT_OK);
    assert_int_equal(s.fire_at, 21);
    assert_int_equal(s.clear_max, 5);
    assert_int_equal(distinct_checkpoint_bytes(&s), 1 + 8 + 4 + 21 * 24);
    assert_int_equal(distinct_spec_init(&s, 60000, 100, NAN), DISTINCT_OK);
    assert_int_equal(s.clear_max, 100);
    assert_int_equal(distinct_spec_init(&s, 60000, 99999.5, NAN),
                     DISTINCT_OK);
    assert_int_equal(s.fire_at, DISTINCT_KEPT_MAX);
    assert_int_equal(s.size, 32);
    assert_null(distinct_pool(&s, 100000)); /* 10^10 values: refused */
    assert_int_equal(distinct_spec_init(&s, 60000, 100000, NAN),
                     DISTINCT_EINVAL);
    assert_int_equal(distinct_spec_init(&s, 0, 1, NAN), DISTINCT_EINVAL);
    assert_int_equal(
        distinct_spec_init(&s, DISTINCT_MAX_WINDOW_MS + 1, 1, NAN),
        DISTINCT_EINVAL);
    assert_int_equal(distinct_spec_init(&s, 1000, -0.5, NAN),
                     DISTINCT_EINVAL);
    assert_int_equal(distinct_spec_init(&s, 1000, NAN, NAN),
                     DISTINCT_EINVAL);
    assert_int_equal(distinct_spec_init(&s, 1000, 3, 3.5), DISTINCT_EINVAL);
    assert_int_equal(distinct_spec_init(&s, 1000, 3, -1), DISTINCT_EINVAL);
}

/* 2 distinct values do not exceed 2, however often seen; a 3rd does. */
static void test_strict_threshold(void **state)
{
    distinct_spec s;
    distinct_state *st;
    struct distinct_level l;

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 10000, 2, NAN), DISTINCT_OK);
    st = state_new(&s);
    l = level(&s, st, T0);
    assert_int_equal(l.value, 0);
    assert_true(l.exact && !l.above && l.clear);
    for (int i = 0; i < 10; i++)
        assert_int_equal(add(&s, st, T0 + i, T0 + i, (unsigned)i % 2),
                         DISTINCT_OK);
    l = level(&s, st, T0 + 9);
    assert_int_equal(l.value, 2);
    assert_true(l.exact && !l.above && l.clear);
    add(&s, st, T0 + 10, T0 + 10, 16); /* same bucket as 0 */
    l = level(&s, st, T0 + 10);
    assert_int_equal(l.value, 3);
    assert_true(!l.exact && l.above && !l.clear);
    state_free(st);
}

/* A value seen at t counts while now < t + window; seeing it again moves
 * that on; t = now - window is late, one ms after is not. */
static void test_window_edges(void **state)
{
    distinct_spec s;
    distinct_state *st;

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 1000, 0, NAN), DISTINCT_OK);
    st = state_new(&s);
    add(&s, st, T0, T0, 1);
    assert_true(level(&s, st, T0 + 999).above);
    assert_int_equal(clear_time(&s, st), T0 + 1000);
    add(&s, st, T0 + 999, T0 + 500, 1);
    assert_int_equal(clear_time(&s, st), T0 + 1500);
    assert_int_equal(level(&s, st, T0 + 1499).value, 1);
    assert_int_equal(level(&s, st, T0 + 1500).value, 0);
    assert_true(level(&s, st, T0 + 1500).clear);
    assert_int_equal(add(&s, st, T0 + 2000, T0 + 1000, 2), DISTINCT_LATE);
    assert_int_equal(level(&s, st, T0 + 2000).value, 0);
    assert_int_equal(add(&s, st, T0 + 2000, T0 + 1001, 2), DISTINCT_OK);
    assert_int_equal(level(&s, st, T0 + 2000).value, 1);
    assert_int_equal(level(&s, st, T0 + 2001).value, 0);
    /* after now, counted at now; now going back is the newest seen */
    assert_int_equal(add(&s, st, T0 + 2001, T0 + 9000, 3), DISTINCT_OK);
    assert_int_equal(add(&s, st, T0, T0 + 1001, 4), DISTINCT_LATE);
    assert_int_equal(clear_time(&s, st), T0 + 3001);
    state_free(st);
}

/* Threshold 3, clear 1: the clear time follows the last-seen times. */
static void test_clear_threshold(void **state)
{
    distinct_spec s;
    distinct_state *st;
    struct distinct_level l;

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 1000, 3, 1), DISTINCT_OK);
    st = state_new(&s);
    assert_int_equal(clear_time(&s, st), INT64_MIN);
    for (unsigned v = 1; v <= 4; v++)
        add(&s, st, T0 + 100 * v, T0 + 100 * v, v);
    add(&s, st, T0 + 500, T0 + 500, 1); /* 1 now last seen at 500 */
    l = level(&s, st, T0 + 500);
    assert_true(l.above && !l.clear);
    /* last seen: 2 at 200, 3 at 300, 4 at 400, 1 at 500: one left once 4
     * is forgotten at 1400 */
    assert_int_equal(clear_time(&s, st), T0 + 1400);
    l = level(&s, st, T0 + 1200); /* 2 is gone */
    assert_int_equal(l.value, 3);
    assert_true(l.exact && !l.above && !l.clear);
    l = level(&s, st, T0 + 1399);
    assert_int_equal(l.value, 2);
    l = level(&s, st, T0 + 1400);
    assert_int_equal(l.value, 1);
    assert_true(l.clear);
    assert_int_equal(clear_time(&s, st), T0 + 1400);
    state_free(st);
}

/* K = 3: a 4th value forgets the least recently seen; the list is newest
 * first; a forgotten value seen again is remembered again. */
static void test_forget_least_recent(void **state)
{
    distinct_spec s;
    distinct_state *st;
    uint64_t out[8][2];
    int64_t seen[8];
    size_t n;

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 60000, 2, 0), DISTINCT_OK);
    st = state_new(&s);
    add(&s, st, T0 + 1, T0 + 1, 1);
    add(&s, st, T0 + 2, T0 + 2, 2);
    add(&s, st, T0 + 3, T0 + 3, 3);
    add(&s, st, T0 + 4, T0 + 4, 1); /* 1 is now the newest */
    add(&s, st, T0 + 5, T0 + 5, 4); /* forgets 2 */
    n = values(&s, st, T0 + 5, out, seen, 8);
    assert_int_equal(n, 3);
    assert_memory_equal(out[0], hv(4), 16);
    assert_memory_equal(out[1], hv(1), 16);
    assert_memory_equal(out[2], hv(3), 16);
    assert_int_equal(seen[0], T0 + 5);
    assert_int_equal(seen[1], T0 + 4);
    assert_int_equal(seen[2], T0 + 3);
    assert_int_equal(values(&s, st, T0 + 5, out, NULL, 2), 2);
    assert_int_equal(values(&s, st, T0 + 5, out, NULL, 0), 0);
    add(&s, st, T0 + 6, T0 + 6, 2); /* forgets 3 */
    n = values(&s, st, T0 + 6, out, seen, 8);
    assert_int_equal(n, 3);
    assert_memory_equal(out[0], hv(2), 16);
    assert_memory_equal(out[2], hv(1), 16);
    /* the values leave with the window: 1 at 60004 */
    n = values(&s, st, T0 + 60004, out, seen, 8);
    assert_int_equal(n, 2);
    assert_memory_equal(out[1], hv(4), 16);
    assert_int_equal(clear_time(&s, st), T0 + 60006);
    state_free(st);
}

/* Out of time order: an older time never moves a last-seen time back; a
 * new value older than all K remembered is not remembered, and the
 * decisions stay exact. */
static void test_out_of_order(void **state)
{
    distinct_spec s;
    distinct_state *st;
    uint64_t out[4][2];
    int64_t seen[4];
    struct distinct_level l;

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 1000, 1, 0), DISTINCT_OK);
    st = state_new(&s);
    add(&s, st, T0 + 900, T0 + 900, 1);
    add(&s, st, T0 + 900, T0 + 100, 2);
    add(&s, st, T0 + 900, T0 + 50, 1); /* 1 stays at 900 */
    assert_int_equal(values(&s, st, T0 + 900, out, seen, 4), 2);
    assert_int_equal(seen[0], T0 + 900);
    assert_int_equal(seen[1], T0 + 100);
    add(&s, st, T0 + 900, T0 + 200, 3); /* forgets 2 (100) */
    assert_int_equal(values(&s, st, T0 + 900, out, seen, 4), 2);
    assert_memory_equal(out[1], hv(3), 16);
    add(&s, st, T0 + 900, T0 + 150, 4); /* older than both: not kept */
    assert_int_equal(values(&s, st, T0 + 900, out, seen, 4), 2);
    assert_memory_equal(out[0], hv(1), 16);
    assert_memory_equal(out[1], hv(3), 16);
    l = level(&s, st, T0 + 900);
    assert_true(l.above && !l.clear);
    assert_int_equal(clear_time(&s, st), T0 + 1900);
    l = level(&s, st, T0 + 1200);
    assert_int_equal(l.value, 1);
    assert_true(l.exact && !l.above && !l.clear);
    state_free(st);
}

/* The largest window over times far apart: keys are rebased. */
static void test_rebase(void **state)
{
    const int64_t w = DISTINCT_MAX_WINDOW_MS;
    distinct_spec s;
    distinct_state *st;
    int64_t t = T0;
    int64_t seen[8];
    uint64_t out[8][2];

    (void)state;
    assert_int_equal(distinct_spec_init(&s, w, 5, 0), DISTINCT_OK);
    st = state_new(&s);
    for (unsigned i = 0; i < 20; i++) {
        t += w / 3;
        assert_int_equal(add(&s, st, t, t, i % 5), DISTINCT_OK);
        assert_int_equal(level(&s, st, t).value, i < 3 ? i + 1 : 4);
    }
    assert_int_equal(values(&s, st, t, out, seen, 8), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(seen[i], t - i * (w / 3));
    assert_int_equal(clear_time(&s, st), t + w);
    state_free(st);
}

/* Brute force: the last time each of 24 values was seen. */
static void test_random_against_reference(void **state)
{
    (void)state;
    srand(11);
    for (int run = 0; run < 3000; run++) {
        struct rand_rule rr;
        int64_t w, now;
        int64_t last[24];
        unsigned nv = 1 + (unsigned)(rand() % 24);
        int n = 1 + rand() % 200;
        distinct_spec s;
        distinct_state *st;

        rand_rule(&rr, 2000, 8, 0.25);
        w = rr.w;
        now = rr.now;
        for (int v = 0; v < 24; v++)
            last[v] = INT64_MIN;
        assert_int_equal(distinct_spec_init(&s, w, rr.thr, rr.clr),
                         DISTINCT_OK);
        st = state_new(&s);
        for (int i = 0; i < n; i++) {
            int64_t t = rand_stamp(&now, w, 9);
            unsigned v = (unsigned)rand() % nv;
            uint64_t out[24][2];
            int64_t seen[24];
            struct distinct_level l;
            uint32_t c = 0;
            size_t got;
            int rc;

            rc = add(&s, st, now, t, v);
            if (t > now)
                t = now;
            assert_int_equal(rc,
                             t <= now - w ? DISTINCT_LATE : DISTINCT_OK);
            if (rc == DISTINCT_OK && t > last[v])
                last[v] = t;
            for (unsigned u = 0; u < nv; u++)
                c += last[u] > now - w;
            distinct_level(&s, pool, st, now, &l);
            assert_int_equal(l.above, c >= s.fire_at);
            assert_int_equal(l.clear, c <= s.clear_max);
            assert_int_equal(l.value, c < s.fire_at ? c : s.fire_at);
            assert_int_equal(l.exact, c < s.fire_at);
            /* the list: the newest last-seen times, exact */
            got = values(&s, st, now, out, seen, 24);
            assert_int_equal(got, l.value);
            for (size_t j = 0; j < got; j++) {
                unsigned u = (unsigned)out[j][0];
                uint32_t newer = 0;
                assert_true(u < nv);
                assert_int_equal(seen[j], last[u]);
                if (j > 0)
                    assert_true(seen[j] <= seen[j - 1]);
                for (unsigned x = 0; x < nv; x++)
                    newer += last[x] > last[u];
                assert_true(newer < s.fire_at);
            }
            if (c > s.clear_max) {
                int64_t ct = clear_time(&s, st);
                uint32_t before = 0, after = 0;
                for (unsigned u = 0; u < nv; u++) {
                    before += last[u] > ct - 1 - w;
                    after += last[u] > ct - w;
                }
                assert_true(ct > now);
                assert_true(before > s.clear_max);
                assert_true(after <= s.clear_max);
            } else {
                assert_int_equal(clear_time(&s, st), now);
            }
        }
        state_free(st);
    }
}

/* Two groups of one pool count apart; a value leaving the window returns
 * its entry; a reset returns the rest, and the slot's next group starts
 * empty. */
static void test_groups_apart(void **state)
{
    distinct_spec s;
    distinct_state *st, b;
    uint64_t out[4][2];

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 1000, 2, NAN), DISTINCT_OK);
    st = state_new(&s);
    memset(&b, 0, sizeof b);
    distinct_reset(pool, &b);
    add(&s, st, T0, T0, 1);
    add(&s, st, T0 + 10, T0 + 10, 2);
    assert_int_equal(distinct_add(&s, pool, 1, &b, T0 + 10, T0 + 10, hv(1)),
                     DISTINCT_OK);
    assert_int_equal(valpool_count(pool), 3);
    assert_int_equal(level(&s, st, T0 + 10).value, 2);
    assert_int_equal(distinct_values(&s, pool, 1, &b, T0 + 10, out, NULL, 4),
                     1);
    assert_memory_equal(out[0], hv(1), 16);
    assert_int_equal(level(&s, st, T0 + 1000).value, 1); /* 1 left */
    assert_int_equal(valpool_count(pool), 2);
    distinct_reset(pool, &b);
    assert_int_equal(valpool_count(pool), 1);
    assert_int_equal(distinct_values(&s, pool, 1, &b, T0 + 1000, out, NULL,
                                     4),
                     0);
    assert_int_equal(level(&s, st, T0 + 1000).value, 1);
    state_free(st);
}

/* ---- checkpoint ---- */

/* Save a group at a random point of a random stream, load it into another
 * group of another pool: the same record again, then the same answers
 * (late or not, level, values, clear time) for the same events. */
static void test_save_load_round_trip(void **state)
{
    buf out, again;

    (void)state;
    buf_init(&out, 1 << 20);
    buf_init(&again, 1 << 20);
    srand(19);
    for (int run = 0; run < 1500; run++) {
        struct rand_rule rr;
        distinct_spec s;
        distinct_state *a, b;
        valpool *pa, *pb;
        unsigned nv = 1 + (unsigned)(rand() % 24);
        int before = rand() % 100;
        int64_t now;

        rand_rule(&rr, 2000, 8, 0.25);
        now = T0 + rand() % 100;
        assert_int_equal(distinct_spec_init(&s, rr.w, rr.thr, rr.clr),
                         DISTINCT_OK);
        a = state_new(&s);
        pa = pool;
        for (int i = 0; i < before; i++) {
            int64_t t = rand_stamp(&now, rr.w, 9);
            add(&s, a, now, t, (unsigned)rand() % nv);
        }
        if (rand() % 2)
            level(&s, a, now + rand() % (2 * rr.w));
        buf_reset(&out);
        assert_int_equal(distinct_save(pa, 0, a, &out), 0);
        assert_true(out.len <= distinct_checkpoint_bytes(&s));
        pb = distinct_pool(&s, 4);
        assert_non_null(pb);
        memset(&b, 0, sizeof b);
        distinct_reset(pb, &b);
        assert_int_equal(distinct_load(&s, pb, 2, &b,
                                       (unsigned char *)out.data, out.len),
                         0);
        buf_reset(&again);
        assert_int_equal(distinct_save(pb, 2, &b, &again), 0);
        assert_int_equal(again.len, out.len);
        assert_memory_equal(again.data, out.data, out.len);
        for (int i = 0; i < 100; i++) {
            int64_t t = rand_stamp(&now, rr.w, 9);
            unsigned v = (unsigned)rand() % (nv + 3);
            struct distinct_level la, lb;
            uint64_t oa[24][2], ob[24][2];
            int64_t sa[24], sb[24];
            size_t na, nb;

            assert_int_equal(distinct_add(&s, pa, 0, a, now, t, hv(v)),
                             distinct_add(&s, pb, 2, &b, now, t, hv(v)));
            distinct_level(&s, pa, a, now, &la);
            distinct_level(&s, pb, &b, now, &lb);
            assert_memory_equal(&la, &lb, sizeof la);
            na = distinct_values(&s, pa, 0, a, now, oa, sa, 24);
            nb = distinct_values(&s, pb, 2, &b, now, ob, sb, 24);
            assert_int_equal(na, nb);
            assert_memory_equal(oa, ob, na * sizeof oa[0]);
            assert_memory_equal(sa, sb, na * sizeof sa[0]);
            assert_int_equal(distinct_clear_time(&s, pa, a),
                             distinct_clear_time(&s, pb, &b));
        }
        valpool_destroy(pb);
        state_free(a);
    }
    buf_free(&out);
    buf_free(&again);
}

/* Load in[0..n) into a reset group 1 of the pool: refused, the group
 * left reset and the pool as it was. */
static void refused(const distinct_spec *s, const unsigned char *in,
                    size_t n)
{
    distinct_state b;
    uint32_t before = valpool_count(pool);

    memset(&b, 0, sizeof b);
    distinct_reset(pool, &b);
    assert_int_equal(distinct_load(s, pool, 1, &b, in, n), -1);
    assert_int_equal(b.set.count, 0);
    assert_int_equal(b.now, INT64_MIN);
    assert_int_equal(valpool_count(pool), before);
}

/* Record offsets: tag, now, count, values (hash, then time at +16). */
enum { R_NOW = 1, R_COUNT = 9, R_VAL = 13, R_EACH = 24 };

static void test_load_refused(void **state)
{
    distinct_spec s, s2;
    distinct_state *a, e;
    unsigned char r[256];
    size_t n;
    buf out;

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 1000, 3, NAN), DISTINCT_OK);
    a = state_new(&s);
    buf_init(&out, 4096);
    for (unsigned v = 1; v <= 3; v++)
        add(&s, a, T0 + 100 * v, T0 + 100 * v, v);
    assert_int_equal(distinct_save(pool, 0, a, &out), 0);
    n = out.len;
    assert_int_equal(n, R_VAL + 3 * R_EACH);
    memcpy(r, out.data, n);
    for (size_t m = 0; m < n; m++)
        refused(&s, r, m);
    r[n] = 0;
    refused(&s, r, n + 1);
    r[0] = DISTINCT_REC + 1;
    refused(&s, r, n);
    memcpy(r, out.data, n);
    /* now out of range, or none with values */
    put64(r + R_NOW, -1);
    refused(&s, r, n);
    put64(r + R_NOW, CLOCK_MS_MAX + 1);
    refused(&s, r, n);
    put64(r + R_NOW, INT64_MIN);
    refused(&s, r, n);
    memcpy(r, out.data, n);
    /* more than K values, for a rule of threshold 1 */
    assert_int_equal(distinct_spec_init(&s2, 1000, 1, NAN), DISTINCT_OK);
    refused(&s2, r, n);
    /* a last-seen time out of the window, after now, or out of order */
    put64(r + R_VAL + 16, T0 + 300 - 1000);
    refused(&s, r, n);
    put64(r + R_VAL + 16, T0 + 300 - 999);
    {
        distinct_state b;
        memset(&b, 0, sizeof b);
        distinct_reset(pool, &b);
        assert_int_equal(distinct_load(&s, pool, 1, &b, r, n), 0);
        assert_int_equal(level(&s, &b, T0 + 300).value, 3);
        distinct_reset(pool, &b);
    }
    put64(r + R_VAL + 2 * R_EACH + 16, T0 + 301);
    refused(&s, r, n);
    put64(r + R_VAL + 2 * R_EACH + 16, T0 + 150);
    refused(&s, r, n);
    memcpy(r, out.data, n);
    /* a hash twice */
    memcpy(r + R_VAL + R_EACH, r + R_VAL, 16);
    refused(&s, r, n);
    /* an empty group: no now, no values; values with no now refused */
    memset(&e, 0, sizeof e);
    distinct_reset(pool, &e);
    assert_int_equal(distinct_save(pool, 2, &e, &out), 0);
    memcpy(r, out.data + n, R_VAL);
    assert_int_equal(out.len, n + R_VAL);
    {
        distinct_state b;
        memset(&b, 0, sizeof b);
        distinct_reset(pool, &b);
        assert_int_equal(distinct_load(&s, pool, 1, &b, r, R_VAL), 0);
        assert_int_equal(b.now, INT64_MIN);
    }
    buf_free(&out);
    state_free(a);
}

/* ---- the kind's checkpoint ops (kind.h) ---- */

/* A group's record through the ops loads into another rule and gives the
 * same levels after; a muted group (its slot's old values never
 * returned) is saved empty. */
static void test_kind_ops(void **state)
{
    struct rule ra, rb;
    struct det_rule a, b;
    uint32_t g, mu, g2;
    struct distinct_level la, lb;
    buf out;

    (void)state;
    inst_new(&a, &ra, RULE_K_DISTINCT, NULL, 1000, 2);
    inst_new(&b, &rb, RULE_K_DISTINCT, NULL, 1000, 2);
    buf_init(&out, 4096);
    g = inst_group(&a, 1, 0);
    mu = inst_group(&a, 2, 0);
    for (unsigned v = 1; v <= 4; v++) {
        distinct_add(&a.spec.distinct, a.priv, g, det_state(&a, g),
                     T0 + 100 * v, T0 + 100 * v, hv(v));
        distinct_add(&a.spec.distinct, a.priv, mu, det_state(&a, mu),
                     T0 + 100 * v, T0 + 100 * v, hv(v));
    }
    a.keys.slot[mu].spare = DET_G_MUTED;
    assert_int_equal(a.kind->save(&a, mu, &out), 0);
    assert_int_equal(out.len, R_VAL);
    buf_reset(&out);
    assert_int_equal(a.kind->save(&a, g, &out), 0);
    assert_int_equal(out.len, R_VAL + 3 * R_EACH);
    assert_int_equal(a.kind->checkpoint_bytes(&a), R_VAL + 3 * R_EACH);
    g2 = inst_group(&b, 7, 0);
    assert_int_equal(
        b.kind->load(&b, g2, (unsigned char *)out.data, out.len), 0);
    for (int64_t t = T0 + 400; t <= T0 + 1500; t += 50) {
        distinct_level(&a.spec.distinct, a.priv, det_state(&a, g), t, &la);
        distinct_level(&b.spec.distinct, b.priv, det_state(&b, g2), t, &lb);
        assert_memory_equal(&la, &lb, sizeof la);
    }
    assert_int_equal(valpool_count(b.priv), 0);
    buf_free(&out);
    inst_free(&a);
    inst_free(&b);
}

/* Random damage to a group's record, loaded through the ops: refused or
 * loaded within K values; never a crash, never a value lost. */
static void test_kind_load_damaged(void **state)
{
    struct rule ra;
    struct det_rule a;
    struct inst_try t = {&a, 0, 6, 0};
    uint32_t g;
    buf out;

    (void)state;
    inst_new(&a, &ra, RULE_K_DISTINCT, NULL, 5000, 5);
    buf_init(&out, 4096);
    g = inst_group(&a, 1, 0);
    for (unsigned v = 1; v <= 9; v++)
        distinct_add(&a.spec.distinct, a.priv, g, det_state(&a, g),
                     T0 + 300 * v, T0 + 300 * v - 7 * v, hv(v));
    assert_int_equal(a.kind->save(&a, g, &out), 0);
    t.slot = inst_group(&a, 2, 0);
    rec_damage((unsigned char *)out.data, out.len, 50000, 29, inst_try_load,
               &t);
    assert_true(t.loaded > 0);
    assert_int_equal(valpool_count(a.priv), 6);
    buf_free(&out);
    inst_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_strict_threshold),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_clear_threshold),
        cmocka_unit_test(test_forget_least_recent),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_rebase),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_groups_apart),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_load_refused),
        cmocka_unit_test(test_kind_ops),
        cmocka_unit_test(test_kind_load_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
