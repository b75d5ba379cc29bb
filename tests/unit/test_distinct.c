/*
 * test_distinct.c - the distinct kind's per-group state: sizes, the
 * strict threshold, window edges, late events, the clear threshold and the
 * time it will hold, forgetting the least recently seen value, values out
 * of time order, the list of remembered values, offset rebasing, and a
 * brute-force comparison on random streams.
 */
#include "detectors/distinct.h"

#include "kind_helpers.h"

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

static distinct_state *state_new(const distinct_spec *s)
{
    distinct_state *st = malloc(s->size);

    assert_non_null(st);
    distinct_reset(s, st);
    return st;
}

static struct distinct_level level(const distinct_spec *s,
                                   distinct_state *st, int64_t now)
{
    struct distinct_level l;

    distinct_level(s, st, now, &l);
    return l;
}

static int add(const distinct_spec *s, distinct_state *st, int64_t now,
               int64_t t, unsigned v)
{
    return distinct_add(s, st, now, t, hv(v));
}

static void test_spec(void **state)
{
    distinct_spec s;

    (void)state;
    assert_int_equal(distinct_spec_init(&s, 60000, 0, NAN), DISTINCT_OK);
    assert_int_equal(s.fire_at, 1);
    assert_int_equal(s.size, 88);
    assert_int_equal(distinct_spec_init(&s, 60000, 10, NAN), DISTINCT_OK);
    assert_int_equal(s.size, 464);
    assert_int_equal(distinct_spec_init(&s, 60000, 20, 5.5), DISTINCT_OK);
    assert_int_equal(s.fire_at, 21);
    assert_int_equal(s.clear_max, 5);
    assert_int_equal(s.size, 848);
    assert_int_equal(distinct_spec_init(&s, 60000, 100, NAN), DISTINCT_OK);
    assert_int_equal(s.size, 3792);
    assert_int_equal(s.clear_max, 100);
    assert_int_equal(distinct_spec_init(&s, 60000, 1000, NAN), DISTINCT_OK);
    assert_int_equal(s.size, 36176);
    assert_int_equal(distinct_spec_init(&s, 60000, 99999.5, NAN),
                     DISTINCT_OK);
    assert_int_equal(s.fire_at, DISTINCT_KEPT_MAX);
    assert_int_equal(s.size, 3724336);
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
    free(st);
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
    assert_int_equal(distinct_clear_time(&s, st), T0 + 1000);
    add(&s, st, T0 + 999, T0 + 500, 1);
    assert_int_equal(distinct_clear_time(&s, st), T0 + 1500);
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
    assert_int_equal(distinct_clear_time(&s, st), T0 + 3001);
    free(st);
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
    assert_int_equal(distinct_clear_time(&s, st), INT64_MIN);
    for (unsigned v = 1; v <= 4; v++)
        add(&s, st, T0 + 100 * v, T0 + 100 * v, v);
    add(&s, st, T0 + 500, T0 + 500, 1); /* 1 now last seen at 500 */
    l = level(&s, st, T0 + 500);
    assert_true(l.above && !l.clear);
    /* last seen: 2 at 200, 3 at 300, 4 at 400, 1 at 500: one left once 4
     * is forgotten at 1400 */
    assert_int_equal(distinct_clear_time(&s, st), T0 + 1400);
    l = level(&s, st, T0 + 1200); /* 2 is gone */
    assert_int_equal(l.value, 3);
    assert_true(l.exact && !l.above && !l.clear);
    l = level(&s, st, T0 + 1399);
    assert_int_equal(l.value, 2);
    l = level(&s, st, T0 + 1400);
    assert_int_equal(l.value, 1);
    assert_true(l.clear);
    assert_int_equal(distinct_clear_time(&s, st), T0 + 1400);
    free(st);
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
    n = distinct_values(&s, st, T0 + 5, out, seen, 8);
    assert_int_equal(n, 3);
    assert_memory_equal(out[0], hv(4), 16);
    assert_memory_equal(out[1], hv(1), 16);
    assert_memory_equal(out[2], hv(3), 16);
    assert_int_equal(seen[0], T0 + 5);
    assert_int_equal(seen[1], T0 + 4);
    assert_int_equal(seen[2], T0 + 3);
    assert_int_equal(distinct_values(&s, st, T0 + 5, out, NULL, 2), 2);
    assert_int_equal(distinct_values(&s, st, T0 + 5, out, NULL, 0), 0);
    add(&s, st, T0 + 6, T0 + 6, 2); /* forgets 3 */
    n = distinct_values(&s, st, T0 + 6, out, seen, 8);
    assert_int_equal(n, 3);
    assert_memory_equal(out[0], hv(2), 16);
    assert_memory_equal(out[2], hv(1), 16);
    /* the values leave with the window: 1 at 60004 */
    n = distinct_values(&s, st, T0 + 60004, out, seen, 8);
    assert_int_equal(n, 2);
    assert_memory_equal(out[1], hv(4), 16);
    assert_int_equal(distinct_clear_time(&s, st), T0 + 60006);
    free(st);
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
    assert_int_equal(distinct_values(&s, st, T0 + 900, out, seen, 4), 2);
    assert_int_equal(seen[0], T0 + 900);
    assert_int_equal(seen[1], T0 + 100);
    add(&s, st, T0 + 900, T0 + 200, 3); /* forgets 2 (100) */
    assert_int_equal(distinct_values(&s, st, T0 + 900, out, seen, 4), 2);
    assert_memory_equal(out[1], hv(3), 16);
    add(&s, st, T0 + 900, T0 + 150, 4); /* older than both: not kept */
    assert_int_equal(distinct_values(&s, st, T0 + 900, out, seen, 4), 2);
    assert_memory_equal(out[0], hv(1), 16);
    assert_memory_equal(out[1], hv(3), 16);
    l = level(&s, st, T0 + 900);
    assert_true(l.above && !l.clear);
    assert_int_equal(distinct_clear_time(&s, st), T0 + 1900);
    l = level(&s, st, T0 + 1200);
    assert_int_equal(l.value, 1);
    assert_true(l.exact && !l.above && !l.clear);
    free(st);
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
    assert_int_equal(distinct_values(&s, st, t, out, seen, 8), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(seen[i], t - i * (w / 3));
    assert_int_equal(distinct_clear_time(&s, st), t + w);
    free(st);
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
            distinct_level(&s, st, now, &l);
            assert_int_equal(l.above, c >= s.fire_at);
            assert_int_equal(l.clear, c <= s.clear_max);
            assert_int_equal(l.value, c < s.fire_at ? c : s.fire_at);
            assert_int_equal(l.exact, c < s.fire_at);
            /* the list: the newest last-seen times, exact */
            got = distinct_values(&s, st, now, out, seen, 24);
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
                int64_t ct = distinct_clear_time(&s, st);
                uint32_t before = 0, after = 0;
                for (unsigned u = 0; u < nv; u++) {
                    before += last[u] > ct - 1 - w;
                    after += last[u] > ct - w;
                }
                assert_true(ct > now);
                assert_true(before > s.clear_max);
                assert_true(after <= s.clear_max);
            } else {
                assert_int_equal(distinct_clear_time(&s, st), now);
            }
        }
        free(st);
    }
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
