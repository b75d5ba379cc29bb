/*
 * test_count.c - the count kind's per-group state: sizes, the strict
 * threshold, window edges (now - window and one ms after), late events,
 * the clear threshold and the time it will hold, out-of-order events,
 * values past the kept times, bucketed mode, offset rebasing, and a
 * brute-force comparison on random event streams.
 */
#include "detectors/count.h"

#include "kind_helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static count_state *state_new(const count_spec *s)
{
    count_state *st = malloc(s->size);

    assert_non_null(st);
    count_reset(s, st);
    return st;
}

static struct count_level level(const count_spec *s, count_state *st,
                                int64_t now)
{
    struct count_level l;

    count_level(s, st, now, &l);
    return l;
}

static void test_spec(void **state)
{
    count_spec s;

    (void)state;
    assert_int_equal(count_spec_init(&s, 60000, 100, NAN), COUNT_OK);
    assert_int_equal(s.fire_at, 101);
    assert_int_equal(s.clear_max, 100);
    assert_int_equal(s.k, 101);
    assert_int_equal(s.size, 696);
    assert_int_equal(count_spec_init(&s, 60000, 0, NAN), COUNT_OK);
    assert_int_equal(s.k, 1);
    assert_int_equal(s.size, 296);
    assert_int_equal(count_spec_init(&s, 3600000, 50, NAN), COUNT_OK);
    assert_int_equal(s.size, 496);
    assert_int_equal(count_spec_init(&s, 300000, 1000, NAN), COUNT_OK);
    assert_int_equal(s.size, 4296);
    assert_int_equal(count_spec_init(&s, 60000, 99999, NAN), COUNT_OK);
    assert_int_equal(s.k, COUNT_EXACT_MAX);
    assert_int_equal(s.size, 400288);
    assert_int_equal(count_spec_init(&s, 60000, 100000, NAN), COUNT_OK);
    assert_int_equal(s.k, 0);
    assert_int_equal(s.size, 288);
    /* a fractional threshold: 2.5 is exceeded by 3; clear at or under 1 */
    assert_int_equal(count_spec_init(&s, 1000, 2.5, 1.9), COUNT_OK);
    assert_int_equal(s.fire_at, 3);
    assert_int_equal(s.clear_max, 1);
    assert_int_equal(count_spec_init(&s, 0, 1, NAN), COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, COUNT_MAX_WINDOW_MS + 1, 1, NAN),
                     COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, COUNT_MAX_WINDOW_MS, 1, NAN),
                     COUNT_OK);
    assert_int_equal(count_spec_init(&s, 1000, -1, NAN), COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, 1000, NAN, NAN), COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, 1000, INFINITY, NAN), COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, 1000, 5, 6), COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, 1000, 5, -1), COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, 1000, 5, 5), COUNT_OK);
    assert_int_equal(count_spec_init(&s, 1000, 5, 0), COUNT_OK);
}

/* 3 events do not exceed 3; the 4th does. */
static void test_strict_threshold(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    assert_int_equal(count_spec_init(&s, 10000, 3, NAN), COUNT_OK);
    st = state_new(&s);
    l = level(&s, st, T0);
    assert_int_equal(l.value, 0);
    assert_true(l.exact && !l.above && l.clear);
    for (int i = 0; i < 3; i++)
        assert_int_equal(count_add(&s, st, T0 + i, T0 + i), COUNT_OK);
    l = level(&s, st, T0 + 2);
    assert_int_equal(l.value, 3);
    assert_true(l.exact && !l.above && l.clear);
    assert_int_equal(count_add(&s, st, T0 + 3, T0 + 3), COUNT_OK);
    l = level(&s, st, T0 + 3);
    assert_int_equal(l.value, 4);
    assert_true(!l.exact && l.above && !l.clear);
    free(st);
}

/* An event at t counts while now < t + window: at now = t + window - 1
 * it is in, at t + window it is out; an event at now - window is late,
 * one ms after it is not. */
static void test_window_edges(void **state)
{
    count_spec s;
    count_state *st;

    (void)state;
    assert_int_equal(count_spec_init(&s, 1000, 0, NAN), COUNT_OK);
    st = state_new(&s);
    assert_int_equal(count_add(&s, st, T0, T0), COUNT_OK);
    assert_true(level(&s, st, T0 + 999).above);
    assert_int_equal(count_clear_time(&s, st), T0 + 1000);
    assert_true(level(&s, st, T0 + 1000).clear);
    assert_int_equal(level(&s, st, T0 + 1000).value, 0);
    /* late: t == now - window */
    assert_int_equal(count_add(&s, st, T0 + 2000, T0 + 1000), COUNT_LATE);
    assert_int_equal(count_add(&s, st, T0 + 2000, T0 - 5000), COUNT_LATE);
    assert_int_equal(level(&s, st, T0 + 2000).value, 0);
    /* one ms after: counted, and gone one ms later */
    assert_int_equal(count_add(&s, st, T0 + 2000, T0 + 1001), COUNT_OK);
    assert_int_equal(level(&s, st, T0 + 2000).value, 1);
    assert_int_equal(level(&s, st, T0 + 2001).value, 0);
    free(st);
}

/* An event stamped after now counts at now; a now that moves backwards
 * is taken as the newest seen. */
static void test_future_and_backwards_now(void **state)
{
    count_spec s;
    count_state *st;

    (void)state;
    assert_int_equal(count_spec_init(&s, 1000, 5, NAN), COUNT_OK);
    st = state_new(&s);
    assert_int_equal(count_add(&s, st, T0, T0 + 60000), COUNT_OK);
    assert_int_equal(count_clear_time(&s, st), T0); /* 1 <= 5: clear */
    assert_int_equal(level(&s, st, T0 + 999).value, 1);
    /* now goes back to T0: still judged at T0 + 999 */
    assert_int_equal(count_add(&s, st, T0, T0 - 1), COUNT_LATE);
    assert_int_equal(count_add(&s, st, T0, T0), COUNT_OK);
    assert_int_equal(count_add(&s, st, T0, T0 + 500), COUNT_OK);
    assert_int_equal(level(&s, st, T0).value, 3);
    assert_int_equal(level(&s, st, T0 + 1000).value, 1);
    assert_int_equal(level(&s, st, T0 + 1500).value, 0);
    free(st);
}

/* Threshold 5, clear 2: above at 6, not clear until 2 remain, and the
 * time it clears is that of the 4th newest event plus the window. */
static void test_clear_threshold(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    assert_int_equal(count_spec_init(&s, 1000, 5, 2), COUNT_OK);
    st = state_new(&s);
    assert_int_equal(count_clear_time(&s, st), INT64_MIN);
    for (int i = 0; i < 6; i++)
        count_add(&s, st, T0 + 100 * i, T0 + 100 * i);
    l = level(&s, st, T0 + 500);
    assert_true(l.above && !l.clear);
    /* events at 0..500 by 100: 3 remain at 1300 (300, 400, 500) */
    assert_int_equal(count_clear_time(&s, st), T0 + 1300);
    l = level(&s, st, T0 + 1299);
    assert_int_equal(l.value, 3);
    assert_true(!l.above && !l.clear);
    assert_int_equal(count_clear_time(&s, st), T0 + 1300);
    l = level(&s, st, T0 + 1300);
    assert_int_equal(l.value, 2);
    assert_true(l.exact && l.clear);
    assert_int_equal(count_clear_time(&s, st), T0 + 1300);
    assert_int_equal(level(&s, st, T0 + 1500).value, 0);
    free(st);
}

/* More events than kept times: above, value a lower bound from the
 * buckets, and the clear time still exact (the events not kept are the
 * oldest). */
static void test_value_past_kept(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    /* 60 s window, 1 s buckets, threshold 10 */
    assert_int_equal(count_spec_init(&s, 60000, 10, NAN), COUNT_OK);
    st = state_new(&s);
    for (int i = 0; i < 50; i++)
        count_add(&s, st, T0 + 1000 * i + 500, T0 + 1000 * i + 500);
    l = level(&s, st, T0 + 49500);
    assert_int_equal(l.value, 50);
    assert_true(!l.exact && l.above && !l.clear);
    /* at 60 s the event at 0.5 s is still in (0, 60 s], but its bucket
     * has left: 49 of 50 */
    l = level(&s, st, T0 + 60000);
    assert_int_equal(l.value, 49);
    /* 10 remain once the event at 39.5 s leaves: at 99.5 s */
    assert_int_equal(count_clear_time(&s, st), T0 + 99500);
    l = level(&s, st, T0 + 99499);
    assert_int_equal(l.value, 11);
    assert_true(!l.exact && l.above);
    l = level(&s, st, T0 + 99500);
    assert_int_equal(l.value, 10);
    assert_true(l.exact && !l.above && l.clear);
    free(st);
}

/* Events out of time order are kept in order; an event older than every
 * kept time of a full ring is not kept, and decisions stay exact. */
static void test_out_of_order(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    assert_int_equal(count_spec_init(&s, 1000, 2, 0), COUNT_OK);
    st = state_new(&s);
    count_add(&s, st, T0 + 900, T0 + 900);
    count_add(&s, st, T0 + 900, T0 + 100);
    count_add(&s, st, T0 + 900, T0 + 500);
    l = level(&s, st, T0 + 900);
    assert_int_equal(l.value, 3);
    assert_true(l.above);
    /* kept: 100, 500, 900; 0 remain once 900 leaves */
    assert_int_equal(count_clear_time(&s, st), T0 + 1900);
    assert_int_equal(level(&s, st, T0 + 1100).value, 2);
    assert_int_equal(level(&s, st, T0 + 1500).value, 1);
    /* full again with 1950, 1960, 1970 (900 left at 1900) */
    count_add(&s, st, T0 + 1950, T0 + 1950);
    count_add(&s, st, T0 + 1960, T0 + 1960);
    count_add(&s, st, T0 + 1970, T0 + 1970);
    /* older than all three kept, in the window: not kept, still above */
    assert_int_equal(count_add(&s, st, T0 + 1970, T0 + 1000), COUNT_OK);
    l = level(&s, st, T0 + 1970);
    assert_true(l.above && !l.clear);
    assert_int_equal(l.value, 4);
    assert_int_equal(count_clear_time(&s, st), T0 + 2970);
    assert_int_equal(level(&s, st, T0 + 2000).value, 3);
    l = level(&s, st, T0 + 2969);
    assert_int_equal(l.value, 1);
    assert_true(!l.above && !l.clear);
    assert_true(level(&s, st, T0 + 2970).clear);
    free(st);
}

/* Threshold past COUNT_EXACT_MAX: the bucketed count decides. */
static void test_bucketed_mode(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    assert_int_equal(count_spec_init(&s, 60000, 100000, 99999), COUNT_OK);
    assert_int_equal(s.k, 0);
    st = state_new(&s);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(count_add(&s, st, T0 + 5000, T0 + 5000), COUNT_OK);
    l = level(&s, st, T0 + 5000);
    assert_int_equal(l.value, 100000);
    assert_true(!l.exact && !l.above && !l.clear);
    count_add(&s, st, T0 + 6000, T0 + 6000);
    l = level(&s, st, T0 + 6000);
    assert_int_equal(l.value, 100001);
    assert_true(l.above);
    /* the bucket of 5 s leaves at 65 s */
    assert_int_equal(count_clear_time(&s, st), T0 + 65000);
    l = level(&s, st, T0 + 65000);
    assert_int_equal(l.value, 1);
    assert_true(l.clear);
    assert_int_equal(count_clear_time(&s, st), T0 + 65000);
    assert_int_equal(count_add(&s, st, T0 + 65000, T0 + 5000), COUNT_LATE);
    free(st);
}

/* The largest window, over times far apart: offsets are rebased and the
 * kept times survive it. */
static void test_rebase(void **state)
{
    const int64_t w = COUNT_MAX_WINDOW_MS;
    count_spec s;
    count_state *st;
    int64_t t = T0;

    (void)state;
    assert_int_equal(count_spec_init(&s, w, 3, 1), COUNT_OK);
    st = state_new(&s);
    for (int i = 0; i < 20; i++) {
        t += w / 3;
        assert_int_equal(count_add(&s, st, t, t), COUNT_OK);
        /* in (t - w, t]: the events at t, t - w/3, t - 2w/3 (w/3 is
         * rounded down, so 3 * (w/3) < w: the 4th is in too) */
        assert_int_equal(level(&s, st, t).value, i < 3 ? i + 1 : 4);
    }
    assert_int_equal(count_clear_time(&s, st), t - w / 3 + w);
    assert_int_equal(level(&s, st, t - w / 3 + w - 1).value, 2);
    assert_int_equal(level(&s, st, t - w / 3 + w).value, 1);
    free(st);
}

/* Brute force: keep every event and count. */
struct ref {
    int n;
    int64_t t[400];
};

static uint64_t ref_count(const struct ref *r, int64_t now, int64_t w)
{
    uint64_t c = 0;

    for (int i = 0; i < r->n; i++)
        if (r->t[i] > now - w && r->t[i] <= now)
            c++;
    return c;
}

static void test_random_against_reference(void **state)
{
    (void)state;
    srand(7);
    for (int run = 0; run < 3000; run++) {
        struct rand_rule rr;
        int64_t w, now;
        count_spec s;
        count_state *st;
        struct ref r = {0};
        int n = 1 + rand() % 300;

        rand_rule(&rr, 3000, 12, 0.5);
        w = rr.w;
        now = rr.now;
        assert_int_equal(count_spec_init(&s, w, rr.thr, rr.clr), COUNT_OK);
        st = state_new(&s);
        for (int i = 0; i < n; i++) {
            int64_t t = rand_stamp(&now, w, 50);
            struct count_level l;
            uint64_t c;
            int rc;

            rc = count_add(&s, st, now, t);
            if (t > now)
                t = now;
            assert_int_equal(rc, t <= now - w ? COUNT_LATE : COUNT_OK);
            if (rc == COUNT_OK)
                r.t[r.n++] = t;
            count_level(&s, st, now, &l);
            c = ref_count(&r, now, w);
            assert_int_equal(l.above, c >= s.fire_at);
            assert_int_equal(l.clear, c <= s.clear_max);
            assert_true(l.value <= c);
            if (l.exact)
                assert_int_equal(l.value, c);
            else
                assert_true(l.value >= s.fire_at);
            if (c > s.clear_max) {
                int64_t ct = count_clear_time(&s, st);
                assert_true(ct > now);
                assert_true(ref_count(&r, ct - 1, w) > s.clear_max);
                assert_true(ref_count(&r, ct, w) <= s.clear_max);
            } else {
                assert_int_equal(count_clear_time(&s, st), now);
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
        cmocka_unit_test(test_future_and_backwards_now),
        cmocka_unit_test(test_clear_threshold),
        cmocka_unit_test(test_value_past_kept),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_bucketed_mode),
        cmocka_unit_test(test_rebase),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
