/*
 * sign.h - Standard Webhooks signatures (symmetric scheme, "v1").
 *
 * A generic-webhook notification carries three headers:
 *
 *   webhook-id:        msg_<...>   (stable across retries of one notification)
 *   webhook-timestamp: 1614265330  (Unix seconds of this attempt)
 *   webhook-signature: v1,<b64> [v1,<b64> ...]
 *
 * where each <b64> is standard base64 (with padding) of
 * HMAC-SHA256(key, "<id>.<timestamp>.<body>").  One signature per secret,
 * in the order the secrets were configured, so that a receiver can rotate
 * secrets without downtime.
 *
 * Secrets: "whsec_<base64>" as the specification serialises them; the HMAC
 * key is the decoded bytes after the prefix.  Like the specification's
 * reference libraries, a secret without the prefix is accepted and read as
 * base64 too.  Padding is optional.  The decoded key must be 24..64 bytes
 * (the specification: "at least 24 bytes", 512 bits maximum).
 *
 * Key material lives only inside a sign_keys object: it is wiped
 * (sodium_memzero) when the object is destroyed, never logged, and error
 * values never carry secret text.  Signature comparison is constant time.
 *
 * Pure: no I/O, no clock (the caller passes the timestamp and "now").
 * sign_keys_create() and sign_new_msg_id() call sodium_init() themselves
 * (it is idempotent and thread-safe); the other functions need a sign_keys,
 * so sodium is always initialised before they run.
 */
#ifndef TW_SIGN_H
#define TW_SIGN_H

#include <stddef.h>
#include <stdint.h>

enum {
    SIGN_OK = 0,
    SIGN_EINVAL = -1,    /* bad argument (NULL, no secrets, bad id) */
    SIGN_EBASE64 = -2,   /* a secret is not valid base64 */
    SIGN_EKEYLEN = -3,   /* a decoded secret is shorter/longer than allowed */
    SIGN_ETOOMANY = -4,  /* more than SIGN_MAX_KEYS secrets */
    SIGN_ENOSPC = -5,    /* output buffer too small */
    SIGN_ETIMESTAMP = -6,/* verify: timestamp outside the tolerance */
    SIGN_ENOMATCH = -7,  /* verify: no signature matched */
    SIGN_ENOMEM = -8,
    SIGN_ECRYPTO = -9    /* sodium_init() failed */
};

#define SIGN_MAX_KEYS 4
#define SIGN_KEY_MIN 24 /* bytes, after base64 decoding */
#define SIGN_KEY_MAX 64
#define SIGN_SECRET_PREFIX "whsec_"

/* One "v1,<44 base64 chars>" is 47 characters; signatures are separated by
 * one space; plus the NUL. */
#define SIGN_ONE_SIG_LEN 47
#define SIGN_HEADER_MAX (SIGN_MAX_KEYS * (SIGN_ONE_SIG_LEN + 1))

/* "msg_" + 26 base32 characters + NUL. */
#define SIGN_MSG_ID_SIZE 31

/* A message id or timestamp text longer than this is rejected. */
#define SIGN_MSG_ID_MAX 255

typedef struct sign_keys sign_keys;

/* Decode `n` secrets (1..SIGN_MAX_KEYS, NUL-terminated, "whsec_<b64>" or
 * plain base64).  Signing uses them in this order.  On failure returns NULL
 * and, when `err` is not NULL, stores the SIGN_E* code there; when
 * `bad_index` is not NULL it receives the index of the offending secret (so
 * the caller can say "secret #2 is not valid base64" without quoting it).
 * The caller still owns `secrets` and may wipe them after the call. */
sign_keys *sign_keys_create(const char *const *secrets, size_t n, int *err,
                            size_t *bad_index);

/* Wipe the key bytes and free.  Accepts NULL. */
void sign_keys_destroy(sign_keys *k);

/* Number of keys (1..SIGN_MAX_KEYS). */
size_t sign_keys_count(const sign_keys *k);

/* Write the webhook-signature header value for (msg_id, ts, body) into
 * out[out_size] as "v1,<b64>" per key, space-separated, NUL-terminated.
 * `msg_id` must be 1..SIGN_MSG_ID_MAX printable ASCII characters other
 * than space and '.' (the specification forbids '.'); `ts` >= 0.
 * Returns the length written (> 0), or SIGN_EINVAL / SIGN_ENOSPC (out is
 * then the empty string when out_size > 0).  SIGN_HEADER_MAX is always
 * enough. */
int sign_header(const sign_keys *k, const char *msg_id, int64_t ts,
                const void *body, size_t body_len, char *out,
                size_t out_size);

/* Verify a received webhook-signature header value (NUL-terminated).
 * First |now - ts| <= tolerance_s is checked (SIGN_ETIMESTAMP otherwise);
 * then each space-separated "v1,<b64>" candidate is compared, in constant
 * time, with the HMAC under each key.  Candidates with another version
 * ("v1a,", "v2,") or that are not valid base64 of 32 bytes are ignored.
 * Returns SIGN_OK when one matches, SIGN_ENOMATCH when none does,
 * SIGN_EINVAL for a bad msg_id / negative ts / NULL argument. */
int sign_verify(const sign_keys *k, const char *msg_id, int64_t ts,
                const void *body, size_t body_len, const char *header_value,
                int64_t now, int64_t tolerance_s);

/* Parse a webhook-timestamp header value: 1..18 ASCII digits, nothing
 * else.  Returns SIGN_OK or SIGN_EINVAL. */
int sign_parse_timestamp(const char *s, int64_t *ts);

/* A deterministic message id: "msg_" followed by 26 lower-case base32
 * characters of a 128-bit BLAKE2b hash of `seed` (domain-separated).  The
 * same seed gives the same id, so a notification keeps its webhook-id
 * across retries and restarts: callers pass the episode id and the
 * notification's sequence within the episode.  `out` receives
 * SIGN_MSG_ID_SIZE bytes including the NUL.  Returns SIGN_OK, or
 * SIGN_EINVAL / SIGN_ECRYPTO. */
int sign_new_msg_id(char out[SIGN_MSG_ID_SIZE], const void *seed, size_t n);

const char *sign_strerror(int rc);

#endif
