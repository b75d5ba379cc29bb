/*
 * test_backoff.c - reconnect/redelivery delays and Retry-After parsing
 * (the HTTP-date grammar itself is base/clock.c's: test_clock).
 */
#include "base/backoff.h"
#include "base/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_floor_jitter_bounds(void **state)
{
    (void)state;
    /* attempt 0: [base, 2*base] */
    assert_int_equal(backoff_floor_jitter_ms(500, 30000, 0, 0), 500);
    assert_int_equal(backoff_floor_jitter_ms(500, 30000, 0, 500), 1000);
    assert_int_equal(backoff_floor_jitter_ms(500, 30000, 0, 501), 500);
    /* attempt 2: [500, 4000] */
    assert_int_equal(backoff_floor_jitter_ms(500, 30000, 2, 3500), 4000);
    assert_int_equal(backoff_floor_jitter_ms(500, 30000, 2, 3501), 500);
    /* large attempts saturate at the cap, never overflow */
    assert_int_equal(backoff_floor_jitter_ms(500, 30000, 63, 29500), 30000);
    assert_int_equal(backoff_floor_jitter_ms(500, 30000, 1000, 29501), 500);
    /* a base at or over the cap is the delay */
    assert_int_equal(backoff_floor_jitter_ms(40000, 30000, 5, 12345), 40000);
    assert_int_equal(backoff_floor_jitter_ms(30000, 30000, 0, 7), 30000);
}

static void test_floor_jitter_sweep(void **state)
{
    backoff_rng r;

    (void)state;
    backoff_rng_seed(&r, 42);
    for (unsigned attempt = 0; attempt < 20; attempt++) {
        uint64_t hi = 1500ull << (attempt + 1);
        if (hi > 30000)
            hi = 30000;
        for (int i = 0; i < 1000; i++) {
            uint64_t d = backoff_floor_jitter_ms(1500, 30000, attempt,
                                                 backoff_rng_next(&r));
            assert_true(d >= 1500);
            assert_true(d <= hi);
        }
    }
}

static void test_full_jitter_bounds(void **state)
{
    (void)state;
    assert_int_equal(backoff_full_jitter_ms(1000, 300000, 0, 1000), 1000);
    assert_int_equal(backoff_full_jitter_ms(1000, 300000, 0, 1001), 0);
    assert_int_equal(backoff_full_jitter_ms(1000, 300000, 3, 8000), 8000);
    assert_int_equal(backoff_full_jitter_ms(1000, 300000, 3, 8001), 0);
    assert_int_equal(backoff_full_jitter_ms(1000, 300000, 60, 300000),
                     300000);
    assert_int_equal(backoff_full_jitter_ms(1000, 300000, 60, 300001), 0);
}

static void test_rng_not_constant(void **state)
{
    backoff_rng a, b;

    (void)state;
    backoff_rng_seed(&a, 1);
    backoff_rng_seed(&b, 1);
    uint64_t x = backoff_rng_next(&a);
    assert_int_equal(x, backoff_rng_next(&b));
    assert_int_not_equal(x, backoff_rng_next(&a));
    backoff_rng_seed(&a, 0); /* zero seed must not stick at zero */
    assert_int_not_equal(backoff_rng_next(&a), 0);
}

#define NOW 784111777000LL /* Sun, 06 Nov 1994 08:49:37 GMT */

static int ra(const char *s, uint64_t *out)
{
    return backoff_parse_retry_after(s, strlen(s), NOW, 3600000, out);
}

static void test_retry_after_seconds(void **state)
{
    uint64_t d = 99;

    (void)state;
    assert_int_equal(ra("2", &d), BACKOFF_OK);
    assert_int_equal(d, 2000);
    assert_int_equal(ra("  120\t", &d), BACKOFF_OK);
    assert_int_equal(d, 120000);
    assert_int_equal(ra("0", &d), BACKOFF_OK);
    assert_int_equal(d, 0);
    /* saturates at max */
    assert_int_equal(ra("99999999999999999999999999", &d), BACKOFF_OK);
    assert_int_equal(d, 3600000);
    assert_int_equal(ra("3601", &d), BACKOFF_OK);
    assert_int_equal(d, 3600000);
}

/* Found by tests/fuzz/fuzz_retry_after.c: a delta too large for 64 bits
 * stopped growing at about 1.8e15 s instead of saturating, so with a cap
 * above that the delay came out as an arbitrary smaller number. */
static void test_retry_after_huge_saturates(void **state)
{
    const char *v = "66666666666666666666666666666666666";
    uint64_t d = 99;

    (void)state;
    assert_int_equal(backoff_parse_retry_after(v, strlen(v), NOW, UINT64_MAX,
                                               &d),
                     BACKOFF_OK);
    assert_true(d == UINT64_MAX);
    assert_int_equal(backoff_parse_retry_after(v, strlen(v), NOW,
                                               UINT64_MAX / 2, &d),
                     BACKOFF_OK);
    assert_true(d == UINT64_MAX / 2);
    /* the largest exact value still converts */
    assert_int_equal(backoff_parse_retry_after("18446744073709551", 17, NOW,
                                               UINT64_MAX, &d),
                     BACKOFF_OK);
    assert_true(d == UINT64_C(18446744073709551000));
    assert_int_equal(backoff_parse_retry_after("18446744073709552", 17, NOW,
                                               UINT64_MAX, &d),
                     BACKOFF_OK);
    assert_true(d == UINT64_MAX);
}

static void test_retry_after_invalid(void **state)
{
    static const char *bad[] = {"",        " ",      "-1",    "1.5",
                                "2s",      "0x10",   "+3",    "1 2",
                                "Sun, 06 Nov 1994 08:49:37 UTC",
                                "Sun, 06 Nov 1994 08:49:37",
                                "Sun, 32 Nov 1994 08:49:37 GMT",
                                "Sun, 29 Feb 1993 08:49:37 GMT",
                                "Sun, 06 Foo 1994 08:49:37 GMT",
                                "Sun, 06 Nov 1994 24:00:00 GMT",
                                "Sun, 06 Nov 1969 08:49:37 GMT",
                                "Sun, 06 Nov 1994 08:49:37 GMT x"};
    uint64_t d = 77;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ra(bad[i], &d), BACKOFF_EINVAL);
        assert_int_equal(d, 77);
    }
    assert_int_equal(backoff_parse_retry_after(NULL, 0, NOW, 1000, &d),
                     BACKOFF_EINVAL);
}

static void test_retry_after_dates(void **state)
{
    uint64_t d = 0;

    (void)state;
    /* the three HTTP-date forms, 30 s in the future */
    assert_int_equal(ra("Sun, 06 Nov 1994 08:50:07 GMT", &d), BACKOFF_OK);
    assert_int_equal(d, 30000);
    assert_int_equal(ra("Sunday, 06-Nov-94 08:50:07 GMT", &d), BACKOFF_OK);
    assert_int_equal(d, 30000);
    assert_int_equal(ra("Sun Nov  6 08:50:07 1994", &d), BACKOFF_OK);
    assert_int_equal(d, 30000);
    /* in the past: retry now */
    assert_int_equal(ra("Sat, 05 Nov 1994 08:49:37 GMT", &d), BACKOFF_OK);
    assert_int_equal(d, 0);
    /* far future: capped */
    assert_int_equal(ra("Fri, 31 Dec 9999 23:59:59 GMT", &d), BACKOFF_OK);
    assert_int_equal(d, 3600000);
    /* leap day */
    assert_int_equal(backoff_parse_retry_after(
                         "Thu, 29 Feb 2024 00:00:10 GMT", 29,
                         clock_civil_to_ms(2024, 2, 29, 0, 0, 0), 3600000,
                         &d),
                     BACKOFF_OK);
    assert_int_equal(d, 10000);
    /* length is honoured: no read past len */
    assert_int_equal(backoff_parse_retry_after("12345", 2, NOW, 3600000, &d),
                     BACKOFF_OK);
    assert_int_equal(d, 12000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floor_jitter_bounds),
        cmocka_unit_test(test_floor_jitter_sweep),
        cmocka_unit_test(test_full_jitter_bounds),
        cmocka_unit_test(test_rng_not_constant),
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_huge_saturates),
        cmocka_unit_test(test_retry_after_invalid),
        cmocka_unit_test(test_retry_after_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
