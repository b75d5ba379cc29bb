/*
 * test_timers.c - a rule's timers for idle groups: the earliest first,
 * set / move / remove at any place, against a plain array over seeded
 * random operations.
 */
#include "detectors/timers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_basic(void **state)
{
    det_timers t;

    (void)state;
    assert_int_equal(det_timers_init(&t, 8), DET_TIMERS_OK);
    assert_int_equal(det_timers_next(&t), INT64_MAX);
    det_timers_set(&t, 3, 300);
    det_timers_set(&t, 5, 100);
    det_timers_set(&t, 1, 200);
    assert_int_equal(t.n, 3);
    assert_int_equal(det_timers_next(&t), 100);
    assert_int_equal(det_timers_first(&t), 5);
    det_timers_set(&t, 5, 400); /* moved later: 1 is first */
    assert_int_equal(det_timers_first(&t), 1);
    det_timers_set(&t, 3, 50);  /* moved earlier */
    assert_int_equal(det_timers_first(&t), 3);
    assert_true(det_timers_has(&t, 5));
    assert_false(det_timers_has(&t, 0));
    assert_false(det_timers_has(&t, 8)); /* out of range */
    det_timers_set(&t, 8, 1);            /* out of range: ignored */
    assert_int_equal(t.n, 3);
    det_timers_remove(&t, 3);
    det_timers_remove(&t, 3); /* twice: nothing */
    assert_int_equal(t.n, 2);
    assert_int_equal(det_timers_next(&t), 200);
    det_timers_remove(&t, 1);
    det_timers_remove(&t, 5);
    assert_int_equal(t.n, 0);
    assert_int_equal(det_timers_next(&t), INT64_MAX);
    det_timers_free(&t);
    det_timers_free(&t); /* freed twice: zeroed */
    assert_int_equal(det_timers_init(&t, 0), DET_TIMERS_EINVAL);
    det_timers_free(&t);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* 200,000 random sets, moves and removes over 97 slots, times with many
 * ties; after each, the earliest and the count are the plain array's, and
 * removing the earliest repeatedly gives the times in order. */
static void test_random_model(void **state)
{
    enum { CAP = 97 };
    int64_t model[CAP];
    det_timers t;

    (void)state;
    for (int i = 0; i < CAP; i++)
        model[i] = -1;
    assert_int_equal(det_timers_init(&t, CAP), DET_TIMERS_OK);
    for (int step = 0; step < 200000; step++) {
        uint32_t s = next_rand() % CAP, op = next_rand() % 3, n = 0;
        int64_t want = INT64_MAX;

        if (op < 2) {
            int64_t at = (int64_t)(next_rand() % 1000);
            det_timers_set(&t, s, at);
            model[s] = at;
        } else {
            det_timers_remove(&t, s);
            model[s] = -1;
        }
        for (int i = 0; i < CAP; i++)
            if (model[i] >= 0) {
                n++;
                if (model[i] < want)
                    want = model[i];
            }
        assert_int_equal(t.n, n);
        assert_int_equal(det_timers_next(&t), want);
        if (n > 0)
            assert_int_equal(model[det_timers_first(&t)], want);
        assert_int_equal(det_timers_has(&t, s), model[s] >= 0);
    }
    {
        int64_t last = -1;
        while (t.n > 0) {
            uint32_t s = det_timers_first(&t);
            assert_true(det_timers_next(&t) >= last);
            last = det_timers_next(&t);
            assert_int_equal(model[s], last);
            det_timers_remove(&t, s);
            model[s] = -1;
        }
        for (int i = 0; i < CAP; i++)
            assert_int_equal(model[i], -1);
    }
    det_timers_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_random_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
