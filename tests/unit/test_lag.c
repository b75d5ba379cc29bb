/*
 * test_lag.c - the stream's observed lag (the smallest per-second sample
 * of the last 30 s, held while quiet) and the judgement of events stamped
 * ahead of the stream (outliers clamped, four in step move the clock), in
 * synthetic wall time.
 */
#include "detectors/lag.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define W0 1773108000000LL /* 2026-03-10T02:00:00Z */
#define SEC 1000LL

static int64_t lag_of(const det_lag *l)
{
    int64_t ms;

    assert_true(det_lag_get(l, &ms));
    return ms;
}

static void test_lag_unknown_then_sampled(void **state)
{
    det_lag l;
    int64_t ms = -1;

    (void)state;
    det_lag_init(&l);
    assert_false(det_lag_get(&l, &ms));
    assert_int_equal(ms, 0);
    det_lag_update(&l, W0); /* nothing to forget */
    assert_false(det_lag_get(&l, &ms));
    det_lag_sample(&l, W0, 90 * SEC);
    assert_int_equal(lag_of(&l), 90 * SEC);
    det_lag_sample(&l, 0, 1); /* no wall clock: no sample */
    assert_int_equal(lag_of(&l), 90 * SEC);
}

/* Bursty deliveries: the freshest one of the window is the estimate. */
static void test_lag_smallest_of_window(void **state)
{
    det_lag l;

    (void)state;
    det_lag_init(&l);
    for (int s = 0; s < 10; s++) {
        /* each second: a fresh delivery (90 s) and stragglers (95-100) */
        det_lag_sample(&l, W0 + s * SEC, 95 * SEC + s * 500);
        det_lag_sample(&l, W0 + s * SEC + 300, 90 * SEC + s);
        det_lag_sample(&l, W0 + s * SEC + 600, 100 * SEC);
    }
    det_lag_update(&l, W0 + 10 * SEC);
    assert_int_equal(lag_of(&l), 90 * SEC);
}

/* A backlog draining: the estimate falls with each sample. */
static void test_lag_falls_at_once(void **state)
{
    det_lag l;

    (void)state;
    det_lag_init(&l);
    for (int i = 0; i <= 95; i++) {
        det_lag_sample(&l, W0 + i * 10, (95 - i) * SEC);
        assert_int_equal(lag_of(&l), (95 - i) * SEC);
    }
    det_lag_update(&l, W0 + SEC);
    assert_int_equal(lag_of(&l), 0);
}

/* A source that falls behind: the estimate rises once the smaller samples
 * are 30 s old. */
static void test_lag_rises_after_window(void **state)
{
    det_lag l;

    (void)state;
    det_lag_init(&l);
    det_lag_sample(&l, W0, 2 * SEC);
    for (int s = 1; s <= 40; s++) {
        det_lag_sample(&l, W0 + s * SEC, 60 * SEC);
        det_lag_update(&l, W0 + s * SEC);
        /* the 2 s sample of second 0 counts until second 29 */
        assert_int_equal(lag_of(&l), s < DET_LAG_WINDOW_S ? 2 * SEC
                                                          : 60 * SEC);
    }
}

/* Quiet is not lag: with no sample in the window the estimate stays;
 * forgetting drops the samples and keeps the estimate. */
static void test_lag_held_while_quiet(void **state)
{
    det_lag l;

    (void)state;
    det_lag_init(&l);
    det_lag_sample(&l, W0, 7 * SEC);
    det_lag_update(&l, W0 + 3600 * SEC);
    assert_int_equal(lag_of(&l), 7 * SEC);
    det_lag_sample(&l, W0 + 3600 * SEC, 9 * SEC);
    det_lag_update(&l, W0 + 3601 * SEC);
    assert_int_equal(lag_of(&l), 9 * SEC);
    det_lag_sample(&l, W0 + 3601 * SEC, 3 * SEC);
    det_lag_forget(&l);
    det_lag_update(&l, W0 + 3602 * SEC);
    assert_int_equal(lag_of(&l), 3 * SEC);
    /* after forgetting, the next sample is the estimate, even a larger
     * one (a backlog read after a reconnect) */
    det_lag_sample(&l, W0 + 3602 * SEC, 95 * SEC);
    assert_int_equal(lag_of(&l), 95 * SEC);
    det_lag_sample(&l, W0 + 3602 * SEC, 3 * SEC);
    /* a wall clock set back: its future buckets are dropped */
    det_lag_sample(&l, W0 + 3602 * SEC, 1 * SEC);
    det_lag_update(&l, W0 + 100 * SEC);
    assert_int_equal(lag_of(&l), 1 * SEC);
    det_lag_sample(&l, W0 + 100 * SEC, 4 * SEC);
    det_lag_update(&l, W0 + 101 * SEC);
    assert_int_equal(lag_of(&l), 4 * SEC);
}

/* A source whose clock is ahead of ours: a negative lag. */
static void test_lag_negative(void **state)
{
    det_lag l;

    (void)state;
    det_lag_init(&l);
    det_lag_sample(&l, W0, -120 * SEC);
    det_lag_update(&l, W0 + 500);
    assert_int_equal(lag_of(&l), -120 * SEC);
}

#define TOL (10 * SEC)

static void test_skew_in_step(void **state)
{
    det_skew s;

    (void)state;
    det_skew_init(&s);
    /* no stream time yet: nothing is a suspect */
    assert_int_equal(det_skew_judge(&s, W0 + 3600 * SEC, INT64_MIN, TOL, W0),
                     DET_SKEW_OK);
    /* up to the tolerance ahead, or behind: in step */
    assert_int_equal(det_skew_judge(&s, W0 + TOL, W0, TOL, W0), DET_SKEW_OK);
    assert_int_equal(det_skew_judge(&s, W0 - 600 * SEC, W0, TOL, W0),
                     DET_SKEW_OK);
    assert_int_equal(det_skew_judge(&s, W0 + TOL + 1, W0, TOL, W0),
                     DET_SKEW_OUTLIER);
}

/* One record 290 s ahead, then the stream as it was: an outlier, and the
 * run ends; a few more, each alone: outliers too. */
static void test_skew_outliers(void **state)
{
    det_skew s;

    (void)state;
    det_skew_init(&s);
    for (int k = 0; k < 10; k++) {
        int64_t w = W0 + k * SEC;

        assert_int_equal(det_skew_judge(&s, w + 290 * SEC, w, TOL, w),
                         DET_SKEW_OUTLIER);
        assert_int_equal(det_skew_judge(&s, w, w, TOL, w), DET_SKEW_OK);
    }
    /* three in a row in step: still outliers */
    for (int k = 0; k < DET_SKEW_EVENTS - 1; k++)
        assert_int_equal(det_skew_judge(&s, W0 + 290 * SEC + k, W0, TOL, W0),
                         DET_SKEW_OUTLIER);
    assert_int_equal(det_skew_judge(&s, W0, W0, TOL, W0), DET_SKEW_OK);
    /* scattered suspects, not in step with each other, never add up */
    for (int k = 0; k < 20; k++)
        assert_int_equal(det_skew_judge(&s, W0 + (k % 2 ? 290 : 5000) * SEC,
                                        W0, TOL, W0),
                         DET_SKEW_OUTLIER);
}

/* A whole stream moved ahead (its clock was fixed): the 4th event in step
 * is trusted, in live mode also when they come slowly (the wall time in
 * between counts), and in replay (no wall clock). */
static void test_skew_jump(void **state)
{
    det_skew s;
    int k;

    (void)state;
    det_skew_init(&s);
    for (k = 0; k < DET_SKEW_EVENTS - 1; k++)
        assert_int_equal(det_skew_judge(&s, W0 + 120 * SEC + k * 20, W0, TOL,
                                        W0 + k * 20),
                         DET_SKEW_OUTLIER);
    assert_int_equal(det_skew_judge(&s, W0 + 120 * SEC + k * 20, W0, TOL,
                                    W0 + k * 20),
                     DET_SKEW_JUMP);
    /* slow: one event a minute, 120 s ahead of a reference that does not
     * move (say the lag estimate trails) */
    for (k = 0; k < DET_SKEW_EVENTS - 1; k++)
        assert_int_equal(det_skew_judge(&s, W0 + (120 + 60 * k) * SEC, W0,
                                        TOL, W0 + 60 * k * SEC),
                         DET_SKEW_OUTLIER);
    assert_int_equal(det_skew_judge(&s, W0 + (120 + 60 * k) * SEC, W0, TOL,
                                    W0 + 60 * k * SEC),
                     DET_SKEW_JUMP);
    /* replay: in step within the tolerance of each other */
    for (k = 0; k < DET_SKEW_EVENTS - 1; k++)
        assert_int_equal(det_skew_judge(&s, W0 + 86400 * SEC * 2 + k * SEC,
                                        W0, 86400 * SEC, 0),
                         DET_SKEW_OUTLIER);
    assert_int_equal(det_skew_judge(&s, W0 + 86400 * SEC * 2 + k * SEC, W0,
                                    86400 * SEC, 0),
                     DET_SKEW_JUMP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lag_unknown_then_sampled),
        cmocka_unit_test(test_lag_smallest_of_window),
        cmocka_unit_test(test_lag_falls_at_once),
        cmocka_unit_test(test_lag_rises_after_window),
        cmocka_unit_test(test_lag_held_while_quiet),
        cmocka_unit_test(test_lag_negative),
        cmocka_unit_test(test_skew_in_step),
        cmocka_unit_test(test_skew_outliers),
        cmocka_unit_test(test_skew_jump),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
