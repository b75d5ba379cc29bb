/*
 * test_latency.c - the latency histogram: a bound is inclusive, buckets are
 * cumulative, +Inf is the count, negatives count as 0, nothing wraps.
 */
#include "base/latency.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_bounds(void **state)
{
    (void)state;
    assert_int_equal(latency_bounds_ms[0], 50);
    assert_int_equal(latency_bounds_ms[LATENCY_BUCKETS - 1], 1800000);
    for (unsigned i = 1; i < LATENCY_BUCKETS; i++)
        assert_true(latency_bounds_ms[i] > latency_bounds_ms[i - 1]);
}

static void test_observe_edges(void **state)
{
    struct latency_hist h;

    (void)state;
    memset(&h, 0, sizeof h);
    latency_observe(&h, 50);      /* on the first bound: in it */
    latency_observe(&h, 51);      /* just past it: the next */
    latency_observe(&h, -5);      /* a clock stepped back: 0 */
    latency_observe(&h, 1800001); /* past the last bound: +Inf only */
    assert_int_equal(h.le[0], 2);
    assert_int_equal(h.le[1], 3);
    assert_int_equal(h.le[LATENCY_BUCKETS - 1], 3);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.sum_ms, 50 + 51 + 0 + 1800001);
}

static void test_saturates(void **state)
{
    struct latency_hist h;

    (void)state;
    memset(&h, 0, sizeof h);
    h.sum_ms = UINT64_MAX - 10;
    h.count = UINT64_MAX;
    h.le[0] = UINT64_MAX;
    latency_observe(&h, 20);
    assert_true(h.sum_ms == UINT64_MAX);
    assert_true(h.count == UINT64_MAX);
    assert_true(h.le[0] == UINT64_MAX);
    assert_int_equal(h.le[1], 1);
    latency_observe(&h, INT64_MAX);
    assert_true(h.sum_ms == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_observe_edges),
        cmocka_unit_test(test_saturates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
