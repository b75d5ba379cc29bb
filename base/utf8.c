/*
 * utf8.c - UTF-8 validation (utf8.h).
 *
 * One character at a time by the WHATWG decoder's table: the lead byte
 * gives how many continuation bytes follow and the range the first of
 * them must be in (which is what excludes overlong forms, surrogates and
 * code points above U+10FFFF); the others are 0x80-0xBF.  ASCII, the
 * common case, is skipped 8 bytes at a time.
 */
#include "base/utf8.h"

#include <stdint.h>
#include <string.h>

size_t utf8_char(const char *s, size_t n, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0], lo = 0x80, hi = 0xBF;
    size_t need, k, len = 0, sub = 1;

    if (c < 0x80) {
        len = 1;
        goto out;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* no overlong forms */
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        goto out; /* a continuation byte, C0, C1 or F5-FF: alone */
    }
    for (k = 1; k <= need; k++) {
        if (k >= n || u[k] < lo || u[k] > hi) {
            sub = k; /* the lead and the continuations that fitted */
            goto out;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    len = need + 1;
out:
    if (len == 0 && bad != NULL)
        *bad = sub;
    return len;
}

size_t utf8_valid_len(const char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        uint64_t w;

        if (i + 8 <= n) {
            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if ((k = utf8_char(s + i, n - i, NULL)) == 0)
            break;
        i += k;
    }
    return i;
}

int utf8_valid(const char *s, size_t n)
{
    return utf8_valid_len(s, n) == n;
}
