/*
 * test_window.c - the time-bucket ring: shapes, add, expiry at bucket
 * boundaries, late events, saturation, next expiry.
 */
#include "detectors/window.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static win_ring *ring_new(const win_spec *s)
{
    win_ring *r = malloc(win_ring_size(s));

    assert_non_null(r);
    win_ring_reset(s, r);
    return r;
}

static void test_spec(void **state)
{
    win_spec s;

    (void)state;
    assert_int_equal(win_spec_init(&s, 60000, 0, 1), WIN_OK);
    assert_int_equal(s.nbuckets, 60);
    assert_int_equal(s.bucket_ms, 1000);
    assert_int_equal(win_ring_size(&s), 24 + 240);
    assert_int_equal(win_spec_init(&s, 3600000, 0, 2), WIN_OK);
    assert_int_equal(s.nbuckets, 60);
    assert_int_equal(s.bucket_ms, 60000);
    assert_int_equal(win_ring_size(&s), 24 + 480);
    /* 7 s does not split into 60: the largest count <= 60 that divides */
    assert_int_equal(win_spec_init(&s, 7000, 0, 1), WIN_OK);
    assert_int_equal(s.nbuckets, 56);
    assert_int_equal(s.bucket_ms, 125);
    /* explicit widths */
    assert_int_equal(win_spec_init(&s, 60000, 250, 1), WIN_OK);
    assert_int_equal(s.nbuckets, 240);
    assert_int_equal(win_spec_init(&s, 60000, 7, 1), WIN_EINVAL);
    assert_int_equal(win_spec_init(&s, 60000, 10, 1), WIN_EINVAL); /* 6000 */
    assert_int_equal(win_spec_init(&s, 60000, 0, 0), WIN_EINVAL);
    assert_int_equal(win_spec_init(&s, 60000, 0, 3), WIN_EINVAL);
    assert_int_equal(win_spec_init(&s, 0, 0, 1), WIN_EINVAL);
}

static void test_add_and_expire(void **state)
{
    static const uint32_t one[1] = {1};
    win_spec s;
    win_ring *r;

    (void)state;
    win_spec_init(&s, 60000, 0, 1);
    r = ring_new(&s);
    assert_int_equal(win_sum(&s, r, 0, 0), 0);
    assert_int_equal(win_next_expiry(&s, r), INT64_MAX);
    /* 100 events at 10.5 s */
    for (int i = 0; i < 100; i++)
        assert_int_equal(win_add(&s, r, 10500, 10500, one), WIN_OK);
    assert_int_equal(win_sum(&s, r, 10500, 0), 100);
    /* bucket 10 leaves at (10 + 60) s */
    assert_int_equal(win_next_expiry(&s, r), 70000);
    assert_int_equal(win_sum(&s, r, 69999, 0), 100);
    assert_int_equal(win_sum(&s, r, 70000, 0), 0);
    assert_int_equal(win_next_expiry(&s, r), INT64_MAX);
    /* an event counts for (W - B, W]: at 70.999 it lasts until 130 s */
    win_add(&s, r, 70999, 70999, one);
    assert_int_equal(win_sum(&s, r, 129999, 0), 1);
    assert_int_equal(win_sum(&s, r, 130000, 0), 0);
    free(r);
}

static void test_late_and_old_buckets(void **state)
{
    static const uint32_t one[1] = {1};
    win_spec s;
    win_ring *r;

    (void)state;
    win_spec_init(&s, 60000, 0, 1);
    r = ring_new(&s);
    assert_int_equal(win_add(&s, r, 100000, 100000, one), WIN_OK);
    /* 59 s old: bucket 41 is still in (41..100] */
    assert_int_equal(win_add(&s, r, 100000, 41000, one), WIN_OK);
    /* bucket 40 has left the window */
    assert_int_equal(win_add(&s, r, 100000, 40999, one), WIN_LATE);
    assert_int_equal(win_add(&s, r, 100000, 1000, one), WIN_LATE);
    assert_int_equal(win_sum(&s, r, 100000, 0), 2);
    assert_int_equal(win_next_expiry(&s, r), 101000);
    /* a time after now counts in the newest bucket */
    assert_int_equal(win_add(&s, r, 100000, 500000, one), WIN_OK);
    assert_int_equal(win_sum(&s, r, 100999, 0), 3);
    /* a jump of more than a window clears everything */
    assert_int_equal(win_sum(&s, r, 1000000, 0), 0);
    free(r);
}

static void test_two_fields_and_step(void **state)
{
    win_spec s;
    win_ring *r;
    uint32_t v[2];

    (void)state;
    win_spec_init(&s, 10000, 1000, 2);
    r = ring_new(&s);
    for (int t = 0; t < 20; t++) {
        v[0] = 1;
        v[1] = (uint32_t)(t % 2);
        win_add(&s, r, t * 1000, t * 1000, v);
        /* the last 10 seconds: t-9..t */
        uint64_t want = t < 9 ? (uint64_t)t + 1 : 10;
        assert_int_equal(win_sum(&s, r, t * 1000, 0), want);
    }
    assert_int_equal(win_sum(&s, r, 19000, 1), 5);
    assert_int_equal(win_sum(&s, r, 19000, 2), 0); /* no such field */
    /* expire one bucket at a time */
    assert_int_equal(win_next_expiry(&s, r), 20000);
    assert_int_equal(win_sum(&s, r, 20000, 0), 9);
    assert_int_equal(win_sum(&s, r, 25000, 0), 4);
    assert_int_equal(win_sum(&s, r, 25000, 1), 2);
    free(r);
}

static void test_saturation(void **state)
{
    win_spec s;
    win_ring *r;
    uint32_t big[1] = {UINT32_MAX - 1}, two[1] = {2};

    (void)state;
    win_spec_init(&s, 2000, 1000, 1);
    r = ring_new(&s);
    win_add(&s, r, 0, 0, big);
    win_add(&s, r, 0, 0, two); /* saturates the bucket */
    assert_int_equal(win_sum(&s, r, 0, 0), UINT32_MAX);
    win_add(&s, r, 1000, 1000, two);
    assert_int_equal(win_sum(&s, r, 1000, 0), (uint64_t)UINT32_MAX + 2);
    assert_int_equal(win_sum(&s, r, 2000, 0), 2);
    free(r);
}

static void test_negative_times(void **state)
{
    static const uint32_t one[1] = {1};
    win_spec s;
    win_ring *r;

    (void)state;
    win_spec_init(&s, 3000, 1000, 1);
    r = ring_new(&s);
    win_add(&s, r, -1500, -1500, one); /* bucket -2 */
    assert_int_equal(win_next_expiry(&s, r), 1000);
    assert_int_equal(win_sum(&s, r, 999, 0), 1);
    assert_int_equal(win_sum(&s, r, 1000, 0), 0);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_add_and_expire),
        cmocka_unit_test(test_late_and_old_buckets),
        cmocka_unit_test(test_two_fields_and_step),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_negative_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
