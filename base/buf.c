/*
 * buf.c - capped growable buffer, JSON string escaping, and the one place
 * where text that may not be UTF-8 is made so (base/utf8.h decides what is
 * a bad spot; each becomes one U+FFFD, as the SSE parser does).
 *
 * Invariant: len < cap whenever data != NULL (room for the NUL), and
 * len <= max always.
 */
#include "base/buf.h"

#include "base/utf8.h"

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

void buf_w_raw(buf_writer *w, const char *s)
{
    if (w->rc == BUF_OK)
        w->rc = buf_append_str(w->b, s);
}

void buf_w_json(buf_writer *w, const char *s, size_t n)
{
    if (w->rc == BUF_OK)
        w->rc = buf_append_json_string(w->b, s, n);
}

/* Bytes the JSON string writer needs for s[0..n), quotes included. */
static size_t json_string_len(const char *s, size_t n)
{
    size_t need = 2, k, bad;

    for (size_t i = 0; i < n; i += k) {
        unsigned char c = (unsigned char)s[i];

        k = 1;
        if (c >= 0x80) {
            if ((k = utf8_char(s + i, n - i, &bad)) == 0) {
                k = bad;
                need += UTF8_REPLACEMENT_LEN;
            } else {
                need += k;
            }
        } else {
            need += c == '"' || c == '\\' || c == '\b' || c == '\f' ||
                            c == '\n' || c == '\r' || c == '\t'
                        ? 2
                        : (c < 0x20 || c == 0x7f) ? 6 : 1;
        }
    }
    return need;
}

int buf_append_json_string(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len, k, bad;
    char *o;
    int rc;

    /* worst case: every byte becomes \u00XX (6 bytes; a byte that is not
     * UTF-8 becomes 3), plus the quotes; count exactly only when the
     * worst case would not fit */
    if (b->max - b->len >= 2 && n <= (b->max - b->len - 2) / 6)
        rc = reserve(b, n * 6 + 2);
    else
        rc = reserve(b, json_string_len(s, n));
    if (rc != BUF_OK)
        return rc;
    o = b->data + start;
    *o++ = '"';
    for (size_t i = 0; i < n; i += k) {
        unsigned char c = (unsigned char)s[i];

        k = 1;
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
            } else if (c < 0x80) {
                *o++ = (char)c;
            } else if ((k = utf8_char(s + i, n - i, &bad)) != 0) {
                memcpy(o, s + i, k);
                o += k;
            } else {
                memcpy(o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
                o += UTF8_REPLACEMENT_LEN;
                k = bad;
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return BUF_OK;
}

int buf_append_utf8(buf *b, const char *s, size_t n, size_t *replaced)
{
    size_t start = b->len, need = n, count = 0, i, k, bad;
    char *o;
    int rc;

    /* worst case: every byte is a U+FFFD of 3 bytes */
    if (n <= (b->max - b->len) / UTF8_REPLACEMENT_LEN) {
        need = n * UTF8_REPLACEMENT_LEN;
    } else {
        for (i = utf8_valid_len(s, n); i < n; i += k)
            if ((k = utf8_char(s + i, n - i, &bad)) == 0) {
                k = bad;
                need += UTF8_REPLACEMENT_LEN - bad;
            }
    }
    if ((rc = reserve(b, need)) != BUF_OK)
        return rc;
    o = b->data + start;
    for (i = 0; i < n; i += k) {
        size_t ok = utf8_valid_len(s + i, n - i);

        memcpy(o, s + i, ok);
        o += ok;
        i += ok;
        k = 0;
        if (i < n) {
            (void)utf8_char(s + i, n - i, &k);
            memcpy(o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
            o += UTF8_REPLACEMENT_LEN;
            count++;
        }
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    if (replaced != NULL)
        *replaced = count;
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
