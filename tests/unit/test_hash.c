/*
 * test_hash.c - unit tests for detectors/hash.c.
 *
 * det_siphash128 with 2 and 4 rounds must equal libsodium's
 * crypto_shorthash_siphashx24 (SipHash-2-4, 128-bit output) on every
 * length from 0 to 100 bytes under several keys: that pins the
 * construction (state set-up, block order, length byte, both finalisation
 * halves).  det_hash must be det_siphash128 with 1 and 3 rounds, differ
 * from 2-4, and depend on the key and on every input byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/hash.h"

static void test_matches_libsodium_siphash24(void **state)
{
    unsigned char key[DET_HASH_KEY_BYTES], msg[100];
    unsigned char want[crypto_shorthash_siphashx24_BYTES];
    uint64_t h[2], w[2];

    (void)state;
    assert_true(sodium_init() >= 0);
    for (int k = 0; k < 8; k++) {
        if (k == 0)
            memset(key, 0, sizeof key);
        else if (k == 1)
            for (int i = 0; i < DET_HASH_KEY_BYTES; i++)
                key[i] = (unsigned char)i;
        else
            randombytes_buf(key, sizeof key);
        randombytes_buf(msg, sizeof msg);
        for (size_t n = 0; n <= sizeof msg; n++) {
            /* the input alone in a heap block of exactly n bytes, so
             * that AddressSanitizer sees a read past its end */
            unsigned char *exact = malloc(n > 0 ? n : 1);
            assert_non_null(exact);
            memcpy(exact, msg, n);
            crypto_shorthash_siphashx24(want, msg, n, key);
            memcpy(&w[0], want, 8);
            memcpy(&w[1], want + 8, 8);
            det_siphash128(key, exact, n, 2, 4, h);
            assert_int_equal(h[0], w[0]);
            assert_int_equal(h[1], w[1]);
            det_hash(key, exact, n, h);
            det_siphash128(key, msg, n, 1, 3, w);
            assert_memory_equal(h, w, sizeof h);
            free(exact);
        }
    }
}

static void test_det_hash_is_siphash13(void **state)
{
    unsigned char key[DET_HASH_KEY_BYTES], msg[40];
    uint64_t a[2], b[2], c[2];

    (void)state;
    for (int i = 0; i < DET_HASH_KEY_BYTES; i++)
        key[i] = (unsigned char)(0x40 + i);
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7 + 1);
    for (size_t n = 0; n <= sizeof msg; n++) {
        det_hash(key, msg, n, a);
        det_siphash128(key, msg, n, 1, 3, b);
        det_siphash128(key, msg, n, 2, 4, c);
        assert_memory_equal(a, b, sizeof a);
        assert_true(a[0] != c[0] && a[1] != c[1]);
    }
}

/* One flipped bit of the key or of any input byte changes both halves
 * (a weak avalanche check: a miswired round would fail it). */
static void test_every_bit_counts(void **state)
{
    unsigned char key[DET_HASH_KEY_BYTES] = {0}, msg[24] = {0};
    uint64_t base[2], h[2];

    (void)state;
    det_hash(key, msg, sizeof msg, base);
    for (size_t i = 0; i < sizeof msg * 8; i++) {
        msg[i / 8] ^= (unsigned char)(1u << (i % 8));
        det_hash(key, msg, sizeof msg, h);
        assert_true(h[0] != base[0] && h[1] != base[1]);
        msg[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    for (size_t i = 0; i < sizeof key * 8; i++) {
        key[i / 8] ^= (unsigned char)(1u << (i % 8));
        det_hash(key, msg, sizeof msg, h);
        assert_true(h[0] != base[0] && h[1] != base[1]);
        key[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    /* the length is hashed: "" and "\0" differ */
    det_hash(key, msg, 0, base);
    det_hash(key, msg, 1, h);
    assert_true(h[0] != base[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_libsodium_siphash24),
        cmocka_unit_test(test_det_hash_is_siphash13),
        cmocka_unit_test(test_every_bit_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
