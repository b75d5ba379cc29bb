/*
 * test_valset.c - the fixed-capacity value set: sizes, lookup with shared
 * buckets, key order with ties, moving and shifting keys, a full set,
 * reuse of removed entries, and random operations against a plain array.
 */
#include "detectors/valset.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static valset *set_new(uint32_t cap)
{
    valset *v = malloc(valset_size(cap));

    assert_non_null(v);
    memset(v, 0xa5, valset_size(cap)); /* reset must not rely on zeros */
    valset_reset(v, cap);
    return v;
}

/* The list from head to tail as h1 values; checks the links and order. */
static int walk(const valset *v, uint64_t *out, int max)
{
    uint32_t prev = VALSET_NIL;
    int n = 0;

    for (uint32_t i = v->head; i != VALSET_NIL; i = valset_at(v, i)->next) {
        const struct valset_entry *e = valset_at(v, i);
        assert_int_equal(e->prev, prev);
        if (prev != VALSET_NIL)
            assert_true(valset_at(v, prev)->key <= e->key);
        assert_true(n < max);
        out[n++] = e->h1;
        prev = i;
    }
    assert_int_equal(v->tail, prev);
    assert_int_equal((uint32_t)n, v->count);
    return n;
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(sizeof(valset), 32);
    assert_int_equal(sizeof(struct valset_entry), 32);
    assert_int_equal(valset_size(1), 72);
    assert_int_equal(valset_size(21), 832);
    assert_int_equal(valset_size(101), 3776);
    assert_int_equal(valset_size(1000), 36128);
    assert_int_equal(valset_size(100000), 3724320);
    for (uint32_t c = 1; c < 70; c++)
        assert_int_equal(valset_size(c) % 8, 0);
}

/* Hashes with the same first word share a bucket; the second word tells
 * them apart. */
static void test_find_shared_bucket(void **state)
{
    valset *v = set_new(4);
    uint64_t a[2] = {7, 1}, b[2] = {7, 2}, c[2] = {15, 3}, d[2] = {7, 4};
    uint32_t ia, ib, ic;

    (void)state;
    assert_int_equal(valset_find(v, a), VALSET_NIL);
    ia = valset_add(v, a, 0);
    ib = valset_add(v, b, 0);
    ic = valset_add(v, c, 0);
    assert_int_equal(valset_find(v, a), ia);
    assert_int_equal(valset_find(v, b), ib);
    assert_int_equal(valset_find(v, c), ic);
    assert_int_equal(valset_find(v, d), VALSET_NIL);
    valset_remove(v, ib); /* the middle of a chain */
    assert_int_equal(valset_find(v, a), ia);
    assert_int_equal(valset_find(v, b), VALSET_NIL);
    assert_int_equal(valset_find(v, c), ic);
    valset_remove(v, ic); /* the head of a chain */
    valset_remove(v, ia);
    assert_int_equal(v->count, 0);
    assert_int_equal(v->head, VALSET_NIL);
    assert_int_equal(v->tail, VALSET_NIL);
    free(v);
}

/* Sorted by key, ties in insertion order; set_key moves an entry to the
 * newest end of its new ties; shift_keys keeps the order. */
static void test_order(void **state)
{
    valset *v = set_new(8);
    uint64_t out[8];
    uint64_t h[2] = {0, 0};
    uint32_t idx[8];

    (void)state;
    static const uint32_t keys[6] = {50, 10, 30, 30, 10, 60};
    for (int i = 0; i < 6; i++) {
        h[0] = (uint64_t)i * 8;
        h[1] = (uint64_t)i;
        idx[i] = valset_add(v, h, keys[i]);
    }
    assert_int_equal(walk(v, out, 8), 6);
    {
        static const uint64_t want[6] = {1, 4, 2, 3, 0, 5};
        assert_memory_equal(out, want, sizeof want);
    }
    valset_set_key(v, idx[1], 30); /* after 2 and 3 */
    valset_set_key(v, idx[5], 0);  /* to the head */
    valset_set_key(v, idx[0], 50); /* same key: stays last of its ties */
    assert_int_equal(walk(v, out, 8), 6);
    {
        static const uint64_t want[6] = {5, 4, 2, 3, 1, 0};
        assert_memory_equal(out, want, sizeof want);
    }
    valset_set_key(v, idx[2], 30); /* to the newest end of the 30s */
    valset_shift_keys(v, 0);
    assert_int_equal(walk(v, out, 8), 6);
    {
        static const uint64_t want[6] = {5, 4, 3, 1, 2, 0};
        assert_memory_equal(out, want, sizeof want);
    }
    valset_set_key(v, idx[5], 10);
    valset_shift_keys(v, 10);
    assert_int_equal(valset_at(v, v->head)->key, 0);
    assert_int_equal(valset_at(v, v->tail)->key, 40);
    free(v);
}

/* A full set refuses an insert; a removed entry is reused, and the set
 * fills again to exactly its capacity. */
static void test_full_and_reuse(void **state)
{
    valset *v = set_new(3);
    uint64_t h[2] = {0, 0};
    uint32_t a, b;

    (void)state;
    for (uint64_t i = 1; i <= 3; i++) {
        h[0] = h[1] = i;
        assert_true(valset_add(v, h, (uint32_t)i) < 3);
    }
    h[0] = h[1] = 4;
    assert_int_equal(valset_add(v, h, 4), VALSET_NIL);
    assert_int_equal(v->count, 3);
    a = v->head;
    valset_remove(v, a);
    b = valset_add(v, h, 4);
    assert_int_equal(b, a);
    assert_int_equal(valset_find(v, h), b);
    h[0] = h[1] = 5;
    assert_int_equal(valset_add(v, h, 5), VALSET_NIL);
    /* reset empties it */
    valset_reset(v, 3);
    assert_int_equal(v->count, 0);
    h[0] = h[1] = 4;
    assert_int_equal(valset_find(v, h), VALSET_NIL);
    free(v);
}

/* Random adds, removes and key changes against an array model. */
static void test_random_against_array(void **state)
{
    (void)state;
    srand(3);
    for (int run = 0; run < 300; run++) {
        uint32_t cap = 1 + (uint32_t)(rand() % 40);
        valset *v = set_new(cap);
        uint32_t key[64];
        int in[64] = {0};
        uint64_t out[64];

        for (int op = 0; op < 400; op++) {
            unsigned x = (unsigned)rand() % 64;
            uint64_t h[2] = {x % 5, x}; /* long chains */
            uint32_t i = valset_find(v, h);
            uint32_t k = (uint32_t)(rand() % 20);

            assert_int_equal(i != VALSET_NIL, in[x]);
            if (i == VALSET_NIL) {
                i = valset_add(v, h, k);
                if (v->count == cap && i == VALSET_NIL)
                    continue;
                assert_true(i != VALSET_NIL);
                in[x] = 1;
                key[x] = k;
            } else if (rand() % 2) {
                valset_remove(v, i);
                in[x] = 0;
            } else {
                valset_set_key(v, i, k);
                key[x] = k;
                assert_int_equal(v->tail == i,
                                 valset_at(v, v->tail)->key == k);
            }
            {
                int n = walk(v, out, 64), m = 0;
                for (int j = 0; j < n; j++)
                    assert_int_equal(valset_at(v, valset_find(v,
                        (uint64_t[2]){out[j] % 5, out[j]}))->key,
                        key[out[j]]);
                for (int y = 0; y < 64; y++)
                    m += in[y];
                assert_int_equal(m, n);
            }
        }
        free(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_find_shared_bucket),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_full_and_reuse),
        cmocka_unit_test(test_random_against_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
