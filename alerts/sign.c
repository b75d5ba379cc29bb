/*
 * sign.c - Standard Webhooks HMAC-SHA256 signing and verification.
 *
 * Invariants:
 *  - key bytes exist only in sign_keys.key[] (and, transiently, in a
 *    decode scratch buffer and HMAC states on the stack); every one of those
 *    is wiped with sodium_memzero before it goes out of scope or is freed;
 *  - no function formats secret text into an error, a log line or output
 *    other than the signature itself;
 *  - candidate signatures are compared with sodium_memcmp (constant time);
 *  - the header parser in sign_verify reads only up to the NUL and never
 *    builds more than one candidate at a time on the stack.
 */
#include "alerts/sign.h"

#include <sodium.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN crypto_auth_hmacsha256_BYTES /* 32 */
#define MAC_B64_LEN 44                       /* base64 of 32 bytes */
/* Longest base64 text that can decode to SIGN_KEY_MAX bytes. */
#define SECRET_B64_MAX (((SIGN_KEY_MAX + 2) / 3) * 4)

struct sign_keys {
    size_t n;
    size_t len[SIGN_MAX_KEYS];
    unsigned char key[SIGN_MAX_KEYS][SIGN_KEY_MAX];
};

/* Domain separation for sign_new_msg_id (a BLAKE2b key, 16..64 bytes). */
static const char msg_id_domain[] = "toolwatch webhook-id v1";

static int valid_msg_id(const char *id)
{
    size_t i;

    if (id == NULL || id[0] == '\0')
        return 0;
    for (i = 0; id[i] != '\0'; i++) {
        unsigned char c = (unsigned char)id[i];
        if (i >= SIGN_MSG_ID_MAX || c <= 0x20 || c >= 0x7f || c == '.')
            return 0;
    }
    return 1;
}

/* Decode one secret into k->key[idx].  Returns SIGN_OK or SIGN_E*. */
static int decode_secret(sign_keys *k, size_t idx, const char *secret)
{
    unsigned char scratch[SIGN_KEY_MAX + 3];
    const char *b64 = secret;
    const char *end = NULL;
    size_t b64_len, bin_len = 0;
    int variant;
    int rc = SIGN_OK;

    if (secret == NULL) {
        rc = SIGN_EINVAL;
        goto out;
    }
    if (strncmp(b64, SIGN_SECRET_PREFIX, sizeof(SIGN_SECRET_PREFIX) - 1) == 0)
        b64 += sizeof(SIGN_SECRET_PREFIX) - 1;
    b64_len = strlen(b64);
    if (b64_len == 0) {
        rc = SIGN_EKEYLEN;
        goto out;
    }
    if (b64_len > SECRET_B64_MAX) {
        rc = SIGN_EKEYLEN;
        goto out;
    }
    /* Padding is optional: a length that is not a multiple of 4 can only
     * be valid unpadded base64. */
    variant = (b64_len % 4 == 0) ? sodium_base64_VARIANT_ORIGINAL
                                 : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    if (sodium_base642bin(scratch, sizeof(scratch), b64, b64_len, NULL,
                          &bin_len, &end, variant) != 0 ||
        end != b64 + b64_len) {
        rc = SIGN_EBASE64;
        goto out;
    }
    if (bin_len < SIGN_KEY_MIN || bin_len > SIGN_KEY_MAX) {
        rc = SIGN_EKEYLEN;
        goto out;
    }
    memcpy(k->key[idx], scratch, bin_len);
    k->len[idx] = bin_len;
out:
    sodium_memzero(scratch, sizeof(scratch));
    return rc;
}

sign_keys *sign_keys_create(const char *const *secrets, size_t n, int *err,
                            size_t *bad_index)
{
    sign_keys *k = NULL;
    size_t i = 0;
    int rc = SIGN_OK;

    if (sodium_init() < 0) {
        rc = SIGN_ECRYPTO;
        goto out;
    }
    if (secrets == NULL || n == 0) {
        rc = SIGN_EINVAL;
        goto out;
    }
    if (n > SIGN_MAX_KEYS) {
        rc = SIGN_ETOOMANY;
        goto out;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        rc = SIGN_ENOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        rc = decode_secret(k, i, secrets[i]);
        if (rc != SIGN_OK)
            goto out;
        k->n++;
    }
out:
    if (rc != SIGN_OK) {
        sign_keys_destroy(k);
        k = NULL;
        if (bad_index != NULL)
            *bad_index = i;
    }
    if (err != NULL)
        *err = rc;
    return k;
}

void sign_keys_destroy(sign_keys *k)
{
    if (k == NULL)
        return;
    sodium_memzero(k, sizeof(*k));
    free(k);
}

size_t sign_keys_count(const sign_keys *k)
{
    return k != NULL ? k->n : 0;
}

/* HMAC-SHA256 of "<id>.<ts>.<body>" under key i. */
static void mac_one(const sign_keys *k, size_t i, const char *msg_id,
                    const char *ts_text, size_t ts_len, const void *body,
                    size_t body_len, unsigned char mac[MAC_LEN])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, k->key[i], k->len[i]);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg_id,
                                  strlen(msg_id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts_text,
                                  ts_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    if (body_len > 0)
        crypto_auth_hmacsha256_update(&st, body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
}

static int ts_to_text(int64_t ts, char *out, size_t size)
{
    int n = snprintf(out, size, "%" PRId64, ts);

    return (n > 0 && (size_t)n < size) ? n : -1;
}

int sign_header(const sign_keys *k, const char *msg_id, int64_t ts,
                const void *body, size_t body_len, char *out,
                size_t out_size)
{
    unsigned char mac[MAC_LEN];
    char b64[MAC_B64_LEN + 1];
    char ts_text[24];
    size_t pos = 0, i;
    int ts_len;
    int rc = SIGN_OK;

    if (out != NULL && out_size > 0)
        out[0] = '\0';
    if (k == NULL || k->n == 0 || out == NULL || !valid_msg_id(msg_id) ||
        ts < 0 || (body == NULL && body_len > 0)) {
        rc = SIGN_EINVAL;
        goto out;
    }
    ts_len = ts_to_text(ts, ts_text, sizeof(ts_text));
    if (ts_len < 0) {
        rc = SIGN_EINVAL;
        goto out;
    }
    if (out_size < k->n * (SIGN_ONE_SIG_LEN + 1)) {
        rc = SIGN_ENOSPC;
        goto out;
    }
    for (i = 0; i < k->n; i++) {
        mac_one(k, i, msg_id, ts_text, (size_t)ts_len, body, body_len, mac);
        sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
                          sodium_base64_VARIANT_ORIGINAL);
        if (i > 0)
            out[pos++] = ' ';
        memcpy(out + pos, "v1,", 3);
        pos += 3;
        memcpy(out + pos, b64, MAC_B64_LEN);
        pos += MAC_B64_LEN;
    }
    out[pos] = '\0';
    rc = (int)pos;
out:
    sodium_memzero(mac, sizeof(mac));
    return rc;
}

int sign_verify(const sign_keys *k, const char *msg_id, int64_t ts,
                const void *body, size_t body_len, const char *header_value,
                int64_t now, int64_t tolerance_s)
{
    unsigned char macs[SIGN_MAX_KEYS][MAC_LEN];
    unsigned char cand[MAC_LEN];
    char ts_text[24];
    const char *p;
    size_t i;
    int ts_len;
    int rc = SIGN_ENOMATCH;

    if (k == NULL || k->n == 0 || header_value == NULL ||
        !valid_msg_id(msg_id) || ts < 0 || tolerance_s < 0 ||
        (body == NULL && body_len > 0)) {
        rc = SIGN_EINVAL;
        goto out_nomac;
    }
    /* |now - ts| without overflow: both are bounded by the caller's
     * clock and a parsed header of at most 18 digits, but be careful. */
    if ((now >= ts && (uint64_t)now - (uint64_t)ts > (uint64_t)tolerance_s) ||
        (now < ts && (uint64_t)ts - (uint64_t)now > (uint64_t)tolerance_s)) {
        rc = SIGN_ETIMESTAMP;
        goto out_nomac;
    }
    ts_len = ts_to_text(ts, ts_text, sizeof(ts_text));
    if (ts_len < 0) {
        rc = SIGN_EINVAL;
        goto out_nomac;
    }
    for (i = 0; i < k->n; i++)
        mac_one(k, i, msg_id, ts_text, (size_t)ts_len, body, body_len,
                macs[i]);

    p = header_value;
    while (*p != '\0' && rc != SIGN_OK) {
        const char *tok, *b64_end = NULL;
        size_t tok_len, bin_len = 0;

        while (*p == ' ')
            p++;
        tok = p;
        while (*p != '\0' && *p != ' ')
            p++;
        tok_len = (size_t)(p - tok);
        if (tok_len != 3 + MAC_B64_LEN || memcmp(tok, "v1,", 3) != 0)
            continue;
        if (sodium_base642bin(cand, sizeof(cand), tok + 3, MAC_B64_LEN, NULL,
                              &bin_len, &b64_end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            b64_end != tok + tok_len || bin_len != MAC_LEN)
            continue;
        for (i = 0; i < k->n; i++) {
            if (sodium_memcmp(cand, macs[i], MAC_LEN) == 0)
                rc = SIGN_OK;
        }
    }
    sodium_memzero(macs, sizeof(macs));
    sodium_memzero(cand, sizeof(cand));
out_nomac:
    return rc;
}

int sign_parse_timestamp(const char *s, int64_t *ts)
{
    int64_t v = 0;
    size_t i;
    int rc = SIGN_OK;

    if (s == NULL || ts == NULL || s[0] == '\0') {
        rc = SIGN_EINVAL;
        goto out;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if (i >= 18 || s[i] < '0' || s[i] > '9') {
            rc = SIGN_EINVAL;
            goto out;
        }
        v = v * 10 + (s[i] - '0');
    }
    *ts = v;
out:
    return rc;
}

int sign_new_msg_id(char out[SIGN_MSG_ID_SIZE], const void *seed, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char h[16];
    size_t pos = 4, bit;
    int rc = SIGN_OK;

    if (out == NULL || (seed == NULL && n > 0)) {
        rc = SIGN_EINVAL;
        goto out;
    }
    if (sodium_init() < 0) {
        rc = SIGN_ECRYPTO;
        goto out;
    }
    crypto_generichash(h, sizeof(h), seed, n,
                       (const unsigned char *)msg_id_domain,
                       sizeof(msg_id_domain) - 1);
    memcpy(out, "msg_", 4);
    /* 128 bits, 5 at a time, the last group padded with zero bits. */
    for (bit = 0; bit < 128; bit += 5) {
        unsigned v = 0;
        for (unsigned b = 0; b < 5; b++) {
            size_t at = bit + b;
            v <<= 1;
            if (at < 128)
                v |= (h[at / 8] >> (7 - at % 8)) & 1u;
        }
        out[pos++] = alphabet[v];
    }
    out[pos] = '\0';
out:
    return rc;
}

const char *sign_strerror(int rc)
{
    switch (rc) {
    case SIGN_OK: return "ok";
    case SIGN_EINVAL: return "invalid argument";
    case SIGN_EBASE64: return "signing secret is not valid base64";
    case SIGN_EKEYLEN:
        return "signing secret must decode to 24..64 bytes";
    case SIGN_ETOOMANY: return "too many signing secrets (at most 4)";
    case SIGN_ENOSPC: return "signature buffer too small";
    case SIGN_ETIMESTAMP: return "webhook timestamp outside the tolerance";
    case SIGN_ENOMATCH: return "no webhook signature matched";
    case SIGN_ENOMEM: return "out of memory";
    case SIGN_ECRYPTO: return "libsodium initialisation failed";
    default: return "unknown signing error";
    }
}
