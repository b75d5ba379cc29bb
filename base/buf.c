/*
 * buf.c - capped growable buffer and JSON string escaping.
 *
 * Invariant: len < cap whenever data != NULL (room for the NUL), and
 * len <= max always.
 */
#include "base/buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int reserve(buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > b->max - b->len)
        return BUF_ETOOBIG;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return BUF_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (p == NULL)
        return BUF_ENOMEM;
    b->data = p;
    b->cap = cap;
    return BUF_OK;
}

int buf_reserve(buf *b, size_t extra)
{
    return reserve(b, extra);
}

int buf_append(buf *b, const void *data, size_t len)
{
    int rc = reserve(b, len);

    if (rc != BUF_OK)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return BUF_OK;
}

int buf_append_str(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_append_json_string(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    char *o;
    int rc;

    /* worst case: every byte becomes \u00XX (6 bytes), plus the quotes;
     * count exactly only when the worst case would not fit */
    if (b->max - b->len >= 2 && n <= (b->max - b->len - 2) / 6) {
        rc = reserve(b, n * 6 + 2);
    } else {
        size_t need = 2;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            need += c == '"' || c == '\\' || c == '\b' || c == '\f' ||
                            c == '\n' || c == '\r' || c == '\t'
                        ? 2
                        : (c < 0x20 || c == 0x7f) ? 6 : 1;
        }
        rc = reserve(b, need);
    }
    if (rc != BUF_OK)
        return rc;
    o = b->data + start;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\b': *o++ = '\\'; *o++ = 'b'; break;
        case '\f': *o++ = '\\'; *o++ = 'f'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                *o++ = '\\'; *o++ = 'u'; *o++ = '0'; *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            } else {
                *o++ = (char)c;
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return BUF_OK;
}

void buf_copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

int buf_format_number(double d, char *dst, size_t size)
{
    int n = 0;

    if (!isfinite(d))
        return snprintf(dst, size, "null");
    /* integers as integers (not 1e+06), up to 2^53 where doubles are
     * exact */
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        return snprintf(dst, size, "%.0f", d == 0 ? 0.0 : d);
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(dst, size, "%.*g", prec, d);
        if (n > 0 && (size_t)n < size && strtod(dst, NULL) == d)
            break;
    }
    return n;
}
