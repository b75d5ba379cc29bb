/*
 * test_new_value.c - the new_value kind's per-group state: sizes, the
 * learning period at its edge (now - first < learn_ms learns, >= reports),
 * the least recently used value forgotten first, max_values = 1, churn
 * through a full set, and random streams against a plain LRU list.
 */
#include "detectors/new_value.h"

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

static new_value_state *state_new(new_value_spec *s, int64_t learn,
                                  uint32_t max)
{
    new_value_state *st;

    assert_int_equal(new_value_spec_init(s, learn, max), 0);
    st = malloc(s->size);
    assert_non_null(st);
    new_value_reset(s, st);
    return st;
}

/* Feed value v at T0 + t, now being its time. */
static int feed(const new_value_spec *s, new_value_state *st, int64_t t,
                uint32_t v)
{
    return new_value_feed(s, st, T0 + t, T0 + t, hv(v));
}

static void test_spec(void **state)
{
    new_value_spec s;

    (void)state;
    assert_int_equal(new_value_spec_init(&s, 0, 1), 0);
    assert_int_equal(s.size, 96);
    assert_int_equal(new_value_spec_init(&s, 1000, 10), 0);
    assert_int_equal(s.size, 440);
    assert_int_equal(new_value_spec_init(&s, 1000, 100), 0);
    assert_int_equal(s.size, 3768);
    assert_int_equal(new_value_spec_init(&s, 1000, 1000), 0);
    assert_int_equal(s.size, 36152);
    assert_int_equal(new_value_spec_init(&s, 1000, 10000), 0);
    assert_int_equal(s.size, 385592);
    assert_int_equal(new_value_spec_init(&s, 1000, NEW_VALUE_MAX_VALUES), 0);
    assert_int_equal(new_value_spec_init(&s, 1000, 0), NEW_VALUE_EINVAL);
    assert_int_equal(new_value_spec_init(&s, 1000, NEW_VALUE_MAX_VALUES + 1),
                     NEW_VALUE_EINVAL);
    assert_int_equal(new_value_spec_init(&s, -1, 10), NEW_VALUE_EINVAL);
    assert_int_equal(new_value_spec_init(&s, NEW_VALUE_MAX_LEARN_MS, 10), 0);
    assert_int_equal(new_value_spec_init(&s, NEW_VALUE_MAX_LEARN_MS + 1, 10),
                     NEW_VALUE_EINVAL);
}

/* learn 1000 ms from the first event at 0: a value first seen at 999 is
 * learned, at 1000 it is new; known values are known in both. */
static void test_learn_edge(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 1000, 100);

    (void)state;
    assert_int_equal(st->first, INT64_MIN);
    assert_int_equal(feed(&s, st, 0, 1), NEW_VALUE_LEARNED);
    assert_int_equal(st->first, T0);
    assert_int_equal(feed(&s, st, 500, 1), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 999, 2), NEW_VALUE_LEARNED);
    assert_int_equal(st->last_new, INT64_MIN);
    assert_int_equal(feed(&s, st, 1000, 3), NEW_VALUE_NEW);
    assert_int_equal(st->last_new, T0 + 1000);
    assert_int_equal(feed(&s, st, 1001, 2), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 1002, 3), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 1003, 1), NEW_VALUE_KNOWN);
    assert_int_equal(st->last_new, T0 + 1000);
    free(st);
}

/* The learning period is judged on now; the first event time is its
 * stamp (taken at now when after it). */
static void test_learn_times(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 1000, 100);

    (void)state;
    /* first event stamped 100 before now */
    assert_int_equal(new_value_feed(&s, st, T0 + 100, T0, hv(1)),
                     NEW_VALUE_LEARNED);
    assert_int_equal(st->first, T0);
    /* stamped 500, but now is 1000: learning is over */
    assert_int_equal(new_value_feed(&s, st, T0 + 1000, T0 + 500, hv(2)),
                     NEW_VALUE_NEW);
    assert_int_equal(st->last_new, T0 + 500);
    free(st);
    st = state_new(&s, 1000, 100);
    /* stamped after now: taken at now */
    assert_int_equal(new_value_feed(&s, st, T0, T0 + 5000, hv(1)),
                     NEW_VALUE_LEARNED);
    assert_int_equal(st->first, T0);
    assert_int_equal(new_value_feed(&s, st, T0 + 999, T0 + 5000, hv(2)),
                     NEW_VALUE_LEARNED);
    assert_int_equal(new_value_feed(&s, st, T0 + 1000, T0 + 5000, hv(3)),
                     NEW_VALUE_NEW);
    assert_int_equal(st->last_new, T0 + 1000);
    free(st);
    /* learn 0: the very first value is new */
    st = state_new(&s, 0, 100);
    assert_int_equal(feed(&s, st, 0, 1), NEW_VALUE_NEW);
    assert_int_equal(feed(&s, st, 0, 1), NEW_VALUE_KNOWN);
    free(st);
}

/* max 3: the least recently used is forgotten, and counts as new again. */
static void test_lru_order(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 0, 3);

    (void)state;
    assert_int_equal(feed(&s, st, 0, 1), NEW_VALUE_NEW);
    assert_int_equal(feed(&s, st, 1, 2), NEW_VALUE_NEW);
    assert_int_equal(feed(&s, st, 2, 3), NEW_VALUE_NEW);
    assert_int_equal(feed(&s, st, 3, 1), NEW_VALUE_KNOWN); /* 2 3 1 */
    assert_int_equal(feed(&s, st, 4, 4), NEW_VALUE_NEW);   /* 3 1 4 */
    assert_int_equal(st->forgotten, 1);
    assert_int_equal(feed(&s, st, 5, 1), NEW_VALUE_KNOWN); /* 3 4 1 */
    assert_int_equal(feed(&s, st, 6, 4), NEW_VALUE_KNOWN); /* 3 1 4 */
    assert_int_equal(feed(&s, st, 7, 2), NEW_VALUE_NEW);   /* 1 4 2 */
    assert_int_equal(feed(&s, st, 8, 3), NEW_VALUE_NEW);   /* 4 2 3 */
    assert_int_equal(st->forgotten, 3);
    assert_int_equal(feed(&s, st, 9, 4), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 10, 2), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 11, 3), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 12, 1), NEW_VALUE_NEW);  /* forgets 4 */
    assert_int_equal(feed(&s, st, 13, 4), NEW_VALUE_NEW);
    assert_int_equal(st->forgotten, 5);
    /* values forgotten while learning are learned again silently */
    free(st);
    st = state_new(&s, 100, 2);
    assert_int_equal(feed(&s, st, 0, 1), NEW_VALUE_LEARNED);
    assert_int_equal(feed(&s, st, 1, 2), NEW_VALUE_LEARNED);
    assert_int_equal(feed(&s, st, 2, 3), NEW_VALUE_LEARNED); /* forgets 1 */
    assert_int_equal(feed(&s, st, 3, 1), NEW_VALUE_LEARNED); /* forgets 2 */
    assert_int_equal(feed(&s, st, 100, 2), NEW_VALUE_NEW);   /* forgets 3 */
    assert_int_equal(feed(&s, st, 101, 1), NEW_VALUE_KNOWN);
    assert_int_equal(st->forgotten, 3);
    free(st);
}

static void test_max_values_one(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 10, 1);

    (void)state;
    assert_int_equal(feed(&s, st, 0, 1), NEW_VALUE_LEARNED);
    assert_int_equal(feed(&s, st, 10, 1), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 11, 2), NEW_VALUE_NEW);
    assert_int_equal(feed(&s, st, 12, 2), NEW_VALUE_KNOWN);
    assert_int_equal(feed(&s, st, 13, 1), NEW_VALUE_NEW);
    assert_int_equal(feed(&s, st, 14, 2), NEW_VALUE_NEW);
    assert_int_equal(st->forgotten, 3);
    free(st);
}

/* 100 000 values through a set of 1000, twice: each is new when seen, the
 * last 1000 are known, and the first 1000 new again. */
static void test_full_churn(void **state)
{
    new_value_spec s;
    new_value_state *st = state_new(&s, 0, 1000);

    (void)state;
    for (uint32_t v = 0; v < 100000; v++)
        assert_int_equal(feed(&s, st, v, v), NEW_VALUE_NEW);
    assert_int_equal(st->forgotten, 99000);
    assert_int_equal(st->set.count, 1000);
    for (uint32_t v = 99000; v < 100000; v++)
        assert_int_equal(feed(&s, st, 100000, v), NEW_VALUE_KNOWN);
    for (uint32_t v = 0; v < 1000; v++)
        assert_int_equal(feed(&s, st, 100001, v), NEW_VALUE_NEW);
    for (uint32_t v = 0; v < 1000; v++)
        assert_int_equal(feed(&s, st, 100002, v), NEW_VALUE_KNOWN);
    assert_int_equal(st->forgotten, 100000);
    free(st);
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
            assert_int_equal(feed(&s, st, t, v), want);
            assert_int_equal(st->set.count, n);
        }
        free(st);
    }
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
