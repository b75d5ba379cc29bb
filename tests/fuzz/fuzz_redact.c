/*
 * fuzz_redact.c - libFuzzer target for alerts/redact.c.
 *
 * The first input byte chooses a small output size for a second, truncated
 * run, and the mode (mask, hash under a fixed key, off; every fourth
 * input also keeps the digit run "4111111111111111" as a field number;
 * one in three lists the first matches redact_spans() finds, with modes
 * of their own, as an alert document lists its key fields' matches); the
 * rest is the text.  Checked, with abort() on any failure:
 *  - redact_spans() reports matches inside the text, in order, apart;
 *    in mask mode without a list it finds some exactly when redact_opt()
 *    replaces some;
 *  - with room for the worst expansion the result is REDACT_OK, NUL-
 *    terminated, and its length is what was reported;
 *  - fixed point: redacting the output again gives the same bytes and
 *    finds nothing (no e-mail, card, ... survives, and no replacement is
 *    itself redacted);
 *  - redact_buf gives the same bytes and kinds as redact;
 *  - a truncated run writes a prefix of the full output, at most
 *    out_size - 1 bytes, reports REDACT_ETRUNC exactly when it is shorter
 *    than the full output, and never ends inside a UTF-8 sequence that was
 *    complete in the full output.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest growth: "pwd=x " (6 bytes) -> "pwd=[REDACTED:api_key] "
 * (23). */
#define ROOM(n) ((n) * 6 + 64)

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in;
    size_t len, size1, size2, small_size, n3;
    char *out1, *out2, *out3;
    unsigned k1, k2, k3;
    buf b;

    static const char *const keep[] = {"4111111111111111"};
    struct redact_span sp[4];
    struct redact_same same[4];
    struct redact_opts o;
    size_t nsp;

    if (size == 0)
        return 0;
    small_size = 1 + data[0] % 48;
    redact_opts_default(&o);
    o.mode = (enum redact_mode)((data[0] / 48) % 3);
    for (size_t i = 0; i < sizeof o.key; i++)
        o.key[i] = (unsigned char)(i * 7 + 1);
    if (data[0] % 4 == 0) {
        o.keep = keep;
        o.nkeep = 1;
    }
    in = (const char *)data + 1;
    len = size - 1;

    /* the matches, without output */
    nsp = redact_spans(&o, in, len, sp, 4);
    for (size_t i = 0; i < nsp && i < 4; i++) {
        check(sp[i].len > 0 && sp[i].start + sp[i].len <= len);
        check(i == 0 || sp[i].start >= sp[i - 1].start + sp[i - 1].len);
        check((sp[i].kind & o.kinds) == sp[i].kind && sp[i].kind != 0);
    }
    if (data[0] % 3 == 1) {
        for (size_t i = 0; i < nsp && i < 4; i++) {
            same[i].text = in + sp[i].start;
            same[i].len = sp[i].len;
            same[i].mode = (unsigned char)(i % 3);
        }
        o.same = same;
        o.nsame = nsp < 4 ? nsp : 4;
    }

    out1 = malloc(ROOM(len));
    check(out1 != NULL);
    check(redact_opt(&o, in, len, out1, ROOM(len), &size1, &k1) == REDACT_OK);
    check(size1 < ROOM(len) && out1[size1] == '\0');
    if (o.mode == REDACT_MODE_MASK && o.nsame == 0)
        check((nsp == 0) == (k1 == 0));

    /* fixed point */
    out2 = malloc(ROOM(size1));
    check(out2 != NULL);
    check(redact_opt(&o, out1, size1, out2, ROOM(size1), &size2, &k2) == REDACT_OK);
    check(size2 == size1 && memcmp(out1, out2, size1) == 0 && k2 == 0);

    /* the buf variant */
    buf_init(&b, ROOM(len));
    check(redact_buf_opt(&o, &b, in, len, &k3) == REDACT_OK);
    check(b.len == size1 && k3 == k1);
    check(size1 == 0 || memcmp(b.data, out1, size1) == 0);
    buf_free(&b);

    /* truncated */
    out3 = malloc(small_size);
    check(out3 != NULL);
    {
        int rc = redact_opt(&o, in, len, out3, small_size, &n3, &k3);
        check(n3 < small_size && out3[n3] == '\0');
        check(n3 <= size1 && memcmp(out3, out1, n3) == 0);
        check((rc == REDACT_ETRUNC) == (n3 < size1));
        check(rc == REDACT_OK || rc == REDACT_ETRUNC);
        check((k3 & ~k1) == 0);
        if (rc == REDACT_ETRUNC) {
            /* never stops early by more than a token or a UTF-8 tail */
            check(n3 + REDACT_TOKEN_MAX >= small_size - 1);
            /* the cut is not inside a sequence: the next full-output byte
             * is not a continuation byte, unless what precedes it within
             * 3 bytes is not a lead byte at all (invalid input) */
            if ((out1[n3] & 0xC0) == 0x80) {
                size_t back = n3;
                while (back > 0 && n3 - back < 3 &&
                       ((unsigned char)out1[back] & 0xC0) == 0x80)
                    back--;
                check(((unsigned char)out1[back] & 0xC0) != 0xC0 ||
                      back == n3);
            }
        }
    }

    free(out1);
    free(out2);
    free(out3);
    return 0;
}
