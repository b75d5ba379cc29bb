/*
 * test_dedupe.c - the fixed-memory set of recent record ids, checked
 * against a brute-force model through heavy churn.
 */
#include "detectors/dedupe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_basic(void **state)
{
    det_dedupe d;

    (void)state;
    assert_int_equal(det_dedupe_init(&d, 3), DET_DEDUPE_OK);
    assert_int_equal(det_dedupe_seen(&d, 10), 0);
    assert_int_equal(det_dedupe_seen(&d, 10), 1);
    assert_int_equal(det_dedupe_seen(&d, 11), 0);
    assert_int_equal(det_dedupe_seen(&d, 12), 0);
    assert_int_equal(det_dedupe_seen(&d, 10), 1);
    assert_int_equal(det_dedupe_seen(&d, 13), 0); /* forgets 10 */
    assert_int_equal(det_dedupe_seen(&d, 10), 0); /* counted again */
    assert_int_equal(det_dedupe_seen(&d, 12), 1);
    det_dedupe_free(&d);
    assert_int_equal(det_dedupe_init(&d, 0), DET_DEDUPE_EINVAL);
    det_dedupe_free(&d);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Hashes from a small range (so repeats and colliding home buckets are
 * frequent) against a plain array of the last N. */
static void test_model(void **state)
{
    enum { N = 257 };
    uint64_t model[N], s = 42;
    uint32_t count = 0, pos = 0;
    det_dedupe d;

    (void)state;
    det_dedupe_init(&d, N);
    for (int i = 0; i < 200000; i++) {
        uint64_t h = rng(&s) % 1000;
        int in = 0;
        if (i % 3 == 0)
            h <<= 40; /* same low bits: long probe clusters */
        for (uint32_t j = 0; j < count; j++)
            if (model[j] == h)
                in = 1;
        assert_int_equal(det_dedupe_seen(&d, h), in);
        if (!in) {
            model[pos] = h;
            pos = (pos + 1) % N;
            if (count < N)
                count++;
        }
    }
    det_dedupe_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
