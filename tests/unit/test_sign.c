/*
 * test_sign.c - Standard Webhooks signing: the specification's published
 * vector, rotation, verification, secret decoding and key wiping.
 *
 * Key wiping is observed through a link seam: this file defines
 * sodium_memzero(), which the linker prefers over libsodium's for the
 * library objects linked into this binary.  Our version zeroes exactly like
 * the real one and, while a "watched" key is set, records whether a wiped
 * region held that key's bytes.
 */
#include "alerts/sign.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

/* ---- the sodium_memzero seam ------------------------------------------ */

static const unsigned char *watch_key;
static size_t watch_len;
static int watch_hits;

static int contains(const unsigned char *hay, size_t n,
                    const unsigned char *needle, size_t m)
{
    if (m == 0 || n < m)
        return 0;
    for (size_t i = 0; i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    }
    return 0;
}

void sodium_memzero(void *const pnt, const size_t len)
{
    volatile unsigned char *p = pnt;

    if (watch_key != NULL && contains(pnt, len, watch_key, watch_len))
        watch_hits++;
    for (size_t i = 0; i < len; i++)
        p[i] = 0;
}

/* ---- helpers ------------------------------------------------------------ */

#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* bytes 1..32, and the vector's message signed with it (computed with an
 * independent HMAC implementation) */
#define SECOND_SECRET "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define SECOND_SIG "v1,frM35V2Z51bxs4v81I6TpLnscXkhXtKLP/7WPYVyj3A="

static sign_keys *keys1(const char *secret)
{
    const char *s[1] = { secret };
    int err = 1;
    sign_keys *k = sign_keys_create(s, 1, &err, NULL);

    assert_non_null(k);
    assert_int_equal(err, SIGN_OK);
    return k;
}

static int create_err(const char *secret)
{
    const char *s[1] = { secret };
    int err = 0;
    size_t bad = 99;
    sign_keys *k = sign_keys_create(s, 1, &err, &bad);

    assert_null(k);
    assert_int_equal(bad, 0);
    return err;
}

static int verify(const sign_keys *k, const char *id, int64_t ts,
                  const char *body, const char *hdr, int64_t now)
{
    return sign_verify(k, id, ts, body, strlen(body), hdr, now, 300);
}

/* ---- tests -------------------------------------------------------------- */

static void test_spec_vector(void **state)
{
    char out[SIGN_HEADER_MAX];
    sign_keys *k = keys1(VEC_SECRET);

    (void)state;
    assert_int_equal(sign_header(k, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), out, sizeof(out)),
                     (int)strlen(VEC_SIG));
    assert_string_equal(out, VEC_SIG);
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, VEC_SIG, VEC_TS),
                     SIGN_OK);
    sign_keys_destroy(k);
}

static void test_secret_forms(void **state)
{
    char out[SIGN_HEADER_MAX];
    /* without the prefix, and with a second key that needs padding */
    const char *forms[] = { "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", VEC_SECRET };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        sign_keys *k = keys1(forms[i]);
        assert_int_equal(sign_keys_count(k), 1);
        assert_true(sign_header(k, VEC_ID, VEC_TS, VEC_BODY,
                                strlen(VEC_BODY), out, sizeof(out)) > 0);
        assert_string_equal(out, VEC_SIG);
        sign_keys_destroy(k);
    }
    /* padded and unpadded base64 of the same 32 bytes */
    {
        sign_keys *a = keys1(SECOND_SECRET);
        sign_keys *b =
            keys1("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA");
        char o2[SIGN_HEADER_MAX];
        assert_true(sign_header(a, VEC_ID, VEC_TS, VEC_BODY,
                                strlen(VEC_BODY), out, sizeof(out)) > 0);
        assert_true(sign_header(b, VEC_ID, VEC_TS, VEC_BODY,
                                strlen(VEC_BODY), o2, sizeof(o2)) > 0);
        assert_string_equal(out, SECOND_SIG);
        assert_string_equal(o2, SECOND_SIG);
        sign_keys_destroy(a);
        sign_keys_destroy(b);
    }
}

#define A40 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void test_bad_secrets(void **state)
{
    (void)state;
    assert_int_equal(create_err("whsec_"), SIGN_EKEYLEN);
    assert_int_equal(create_err(""), SIGN_EKEYLEN);
    /* 18 bytes: below the specification's 24 */
    assert_int_equal(create_err("whsec_AAECAwQFBgcICQoLDA0ODxAR"),
                     SIGN_EKEYLEN);
    /* 66 bytes: too long */
    assert_int_equal(create_err("whsec_" A40 A40 "AAAAAAAA"), SIGN_EKEYLEN);
    /* 69 bytes: rejected on length before decoding */
    assert_int_equal(create_err("whsec_" A40 A40 "AAAAAAAAAAAA"),
                     SIGN_EKEYLEN);
    /* 63 and 64 bytes: the longest keys accepted */
    sign_keys_destroy(keys1("whsec_" A40 A40 "AAAA"));
    sign_keys_destroy(keys1("whsec_" A40 A40 "AAAAAA=="));
    assert_int_equal(create_err("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w"),
                     SIGN_EBASE64);
    assert_int_equal(create_err("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS w"),
                     SIGN_EBASE64);
    assert_int_equal(create_err("whsec_MfKQ9r8GKYqrTwjU=D8ILPZIo2LaLaSw"),
                     SIGN_EBASE64);
    /* URL-safe alphabet is not the specification's */
    assert_int_equal(create_err("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa_w"),
                     SIGN_EBASE64);
    assert_int_equal(create_err(NULL), SIGN_EINVAL);

    /* counts, and which secret was bad */
    {
        const char *s[5] = { VEC_SECRET, VEC_SECRET, VEC_SECRET, VEC_SECRET,
                             VEC_SECRET };
        const char *two[2] = { VEC_SECRET, "whsec_%%%%" };
        int err = 0;
        size_t bad = 0;
        assert_null(sign_keys_create(s, 5, &err, NULL));
        assert_int_equal(err, SIGN_ETOOMANY);
        assert_null(sign_keys_create(s, 0, &err, NULL));
        assert_int_equal(err, SIGN_EINVAL);
        assert_null(sign_keys_create(NULL, 1, &err, NULL));
        assert_int_equal(err, SIGN_EINVAL);
        assert_null(sign_keys_create(two, 2, &err, &bad));
        assert_int_equal(err, SIGN_EBASE64);
        assert_int_equal(bad, 1);
        sign_keys *k = sign_keys_create(s, 4, &err, NULL);
        assert_non_null(k);
        assert_int_equal(sign_keys_count(k), 4);
        sign_keys_destroy(k);
    }
    /* error text never quotes the secret */
    for (int rc = 0; rc >= -12; rc--)
        assert_null(strstr(sign_strerror(rc), "MfKQ"));
    sign_keys_destroy(NULL);
}

static void test_rotation(void **state)
{
    const char *s[2] = { VEC_SECRET, SECOND_SECRET };
    const char *r[2] = { SECOND_SECRET, VEC_SECRET };
    char out[SIGN_HEADER_MAX];
    int err;
    sign_keys *k = sign_keys_create(s, 2, &err, NULL);
    sign_keys *kr = sign_keys_create(r, 2, &err, NULL);
    sign_keys *only2 = keys1(SECOND_SECRET);

    (void)state;
    assert_non_null(k);
    assert_non_null(kr);
    assert_int_equal(sign_header(k, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), out, sizeof(out)),
                     (int)strlen(VEC_SIG " " SECOND_SIG));
    assert_string_equal(out, VEC_SIG " " SECOND_SIG);
    assert_true(sign_header(kr, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY),
                            out, sizeof(out)) > 0);
    assert_string_equal(out, SECOND_SIG " " VEC_SIG);

    /* a receiver with either key accepts; a receiver with both accepts
     * each signature alone */
    assert_int_equal(verify(only2, VEC_ID, VEC_TS, VEC_BODY,
                            VEC_SIG " " SECOND_SIG, VEC_TS),
                     SIGN_OK);
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, VEC_SIG, VEC_TS),
                     SIGN_OK);
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, SECOND_SIG, VEC_TS),
                     SIGN_OK);
    assert_int_equal(verify(only2, VEC_ID, VEC_TS, VEC_BODY, VEC_SIG, VEC_TS),
                     SIGN_ENOMATCH);
    sign_keys_destroy(k);
    sign_keys_destroy(kr);
    sign_keys_destroy(only2);
}

static void test_verify_rejects(void **state)
{
    sign_keys *k = keys1(VEC_SECRET);

    (void)state;
    /* tampering */
    assert_int_equal(verify(k, VEC_ID, VEC_TS, "{\"test\": 2432232315}",
                            VEC_SIG, VEC_TS),
                     SIGN_ENOMATCH);
    assert_int_equal(verify(k, "msg_p5jXN8AQM9LWM0D4loKWxJeK", VEC_TS,
                            VEC_BODY, VEC_SIG, VEC_TS),
                     SIGN_ENOMATCH);
    assert_int_equal(verify(k, VEC_ID, VEC_TS + 1, VEC_BODY, VEC_SIG,
                            VEC_TS),
                     SIGN_ENOMATCH);
    /* tolerance: inside at both edges, outside beyond */
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, VEC_SIG,
                            VEC_TS + 300),
                     SIGN_OK);
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, VEC_SIG,
                            VEC_TS - 300),
                     SIGN_OK);
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, VEC_SIG,
                            VEC_TS + 301),
                     SIGN_ETIMESTAMP);
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, VEC_SIG,
                            VEC_TS - 301),
                     SIGN_ETIMESTAMP);
    assert_int_equal(sign_verify(k, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), VEC_SIG, INT64_MIN, 300),
                     SIGN_ETIMESTAMP);
    assert_int_equal(sign_verify(k, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), VEC_SIG, INT64_MAX, 300),
                     SIGN_ETIMESTAMP);
    /* garbage and other versions */
    static const char *bad[] = {
        "",
        " ",
        "v1,",
        "v1",
        "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE==",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=",
        "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "v1,!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=",
        "xv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=x",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=,",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\t",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY, bad[i], VEC_TS),
                         SIGN_ENOMATCH);
    /* the good one among junk, with extra spaces */
    assert_int_equal(verify(k, VEC_ID, VEC_TS, VEC_BODY,
                            "  v1a,xyz v2,abc   " VEC_SIG "  ", VEC_TS),
                     SIGN_OK);
    /* bad arguments */
    assert_int_equal(verify(k, "msg.1", VEC_TS, VEC_BODY, VEC_SIG, VEC_TS),
                     SIGN_EINVAL);
    assert_int_equal(verify(k, VEC_ID, -1, VEC_BODY, VEC_SIG, -1),
                     SIGN_EINVAL);
    assert_int_equal(sign_verify(k, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), NULL, VEC_TS, 300),
                     SIGN_EINVAL);
    assert_int_equal(sign_verify(NULL, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), VEC_SIG, VEC_TS, 300),
                     SIGN_EINVAL);
    sign_keys_destroy(k);
}

static void test_header_bounds(void **state)
{
    const char *s[2] = { VEC_SECRET, SECOND_SECRET };
    char out[SIGN_HEADER_MAX];
    int err;
    sign_keys *k = sign_keys_create(s, 2, &err, NULL);
    size_t need = strlen(VEC_SIG " " SECOND_SIG) + 1;

    (void)state;
    assert_non_null(k);
    memset(out, 'x', sizeof(out));
    assert_int_equal(sign_header(k, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), out, need - 1),
                     SIGN_ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(sign_header(k, VEC_ID, VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), out, need),
                     (int)need - 1);
    assert_int_equal(sign_header(k, "", VEC_TS, VEC_BODY, strlen(VEC_BODY),
                                 out, sizeof(out)),
                     SIGN_EINVAL);
    assert_int_equal(sign_header(k, "msg_a.b", VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), out, sizeof(out)),
                     SIGN_EINVAL);
    assert_int_equal(sign_header(k, "msg a", VEC_TS, VEC_BODY,
                                 strlen(VEC_BODY), out, sizeof(out)),
                     SIGN_EINVAL);
    assert_int_equal(sign_header(k, VEC_ID, -5, VEC_BODY, strlen(VEC_BODY),
                                 out, sizeof(out)),
                     SIGN_EINVAL);
    /* an empty body is fine, and verifies */
    assert_true(sign_header(k, VEC_ID, 0, NULL, 0, out, sizeof(out)) > 0);
    assert_int_equal(sign_verify(k, VEC_ID, 0, NULL, 0, out, 10, 300),
                     SIGN_OK);
    sign_keys_destroy(k);
}

static void test_parse_timestamp(void **state)
{
    int64_t ts = 0;

    (void)state;
    assert_int_equal(sign_parse_timestamp("1614265330", &ts), SIGN_OK);
    assert_int_equal(ts, 1614265330);
    assert_int_equal(sign_parse_timestamp("0", &ts), SIGN_OK);
    assert_int_equal(ts, 0);
    assert_int_equal(sign_parse_timestamp("999999999999999999", &ts),
                     SIGN_OK);
    assert_int_equal(sign_parse_timestamp("1999999999999999999", &ts),
                     SIGN_EINVAL);
    assert_int_equal(sign_parse_timestamp("", &ts), SIGN_EINVAL);
    assert_int_equal(sign_parse_timestamp(" 1", &ts), SIGN_EINVAL);
    assert_int_equal(sign_parse_timestamp("1 ", &ts), SIGN_EINVAL);
    assert_int_equal(sign_parse_timestamp("-1", &ts), SIGN_EINVAL);
    assert_int_equal(sign_parse_timestamp("+1", &ts), SIGN_EINVAL);
    assert_int_equal(sign_parse_timestamp("1e9", &ts), SIGN_EINVAL);
    assert_int_equal(sign_parse_timestamp(NULL, &ts), SIGN_EINVAL);
}

static void test_msg_id(void **state)
{
    char a[SIGN_MSG_ID_SIZE], b[SIGN_MSG_ID_SIZE], c[SIGN_MSG_ID_SIZE];

    (void)state;
    assert_int_equal(sign_new_msg_id(a, "episode-1/0", 11), SIGN_OK);
    assert_int_equal(sign_new_msg_id(b, "episode-1/0", 11), SIGN_OK);
    assert_int_equal(sign_new_msg_id(c, "episode-1/1", 11), SIGN_OK);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), SIGN_MSG_ID_SIZE - 1);
    assert_memory_equal(a, "msg_", 4);
    for (size_t i = 4; a[i] != '\0'; i++)
        assert_true((a[i] >= 'a' && a[i] <= 'z') ||
                    (a[i] >= '2' && a[i] <= '7'));
    /* usable as a webhook-id */
    {
        sign_keys *k = keys1(VEC_SECRET);
        char hdr[SIGN_HEADER_MAX];
        assert_true(sign_header(k, a, 1, "x", 1, hdr, sizeof(hdr)) > 0);
        assert_int_equal(sign_verify(k, a, 1, "x", 1, hdr, 1, 0), SIGN_OK);
        sign_keys_destroy(k);
    }
    assert_int_equal(sign_new_msg_id(a, NULL, 0), SIGN_OK);
    assert_int_equal(sign_new_msg_id(a, NULL, 3), SIGN_EINVAL);
}

static void test_keys_wiped(void **state)
{
    unsigned char raw[24];
    size_t raw_len = 0;
    const char *b64 = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    (void)state;
    assert_int_equal(sodium_base642bin(raw, sizeof(raw), b64, strlen(b64),
                                       NULL, &raw_len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(raw_len, 24);

    sign_keys *k = keys1(VEC_SECRET);
    watch_key = raw;
    watch_len = raw_len;
    watch_hits = 0;
    sign_keys_destroy(k);
    watch_key = NULL;
    assert_int_equal(watch_hits, 1);

    /* a failed create wipes what it decoded too */
    {
        const char *two[2] = { VEC_SECRET, "whsec_short" };
        int err;
        watch_key = raw;
        watch_hits = 0;
        assert_null(sign_keys_create(two, 2, &err, NULL));
        watch_key = NULL;
        assert_true(watch_hits >= 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector),
        cmocka_unit_test(test_secret_forms),
        cmocka_unit_test(test_bad_secrets),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_verify_rejects),
        cmocka_unit_test(test_header_bounds),
        cmocka_unit_test(test_parse_timestamp),
        cmocka_unit_test(test_msg_id),
        cmocka_unit_test(test_keys_wiped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
