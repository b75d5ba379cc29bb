/*
 * buf.h - a growable byte buffer with a hard cap (the idea of curl's
 * dynbuf): appends past `max` fail with BUF_ETOOBIG and leave the buffer
 * as it was, so no input can grow memory without bound.
 *
 * A small value type: embed it, buf_init() it, buf_free() it.
 */
#ifndef TW_BUF_H
#define TW_BUF_H

#include <stddef.h>

enum { BUF_OK = 0, BUF_ENOMEM = -1, BUF_ETOOBIG = -2 };

typedef struct buf {
    char *data;  /* NUL-terminated when len > 0 or after any append */
    size_t len;
    /* private: */
    size_t cap;
    size_t max;
} buf;

void buf_init(buf *b, size_t max);
void buf_free(buf *b);
void buf_reset(buf *b); /* len = 0, memory kept */

int buf_append(buf *b, const void *data, size_t len);

/* Room for `extra` more bytes now, so that appends up to it do not grow
 * the buffer again (a producer that knows about how much it will write).
 * BUF_OK, BUF_ETOOBIG (past the cap: nothing reserved) or BUF_ENOMEM. */
int buf_reserve(buf *b, size_t extra);
int buf_append_str(buf *b, const char *s);

/* Append `s` (n bytes) as a JSON string literal with quotes: '"' and
 * '\\' escaped, \b \f \n \r \t, other bytes < 0x20 and 0x7f as \u00XX;
 * valid UTF-8 raw.  Bytes that are not UTF-8 become U+FFFD (one per
 * maximal subpart, base/utf8.h), so the literal is always valid UTF-8
 * whatever `s` holds. */
int buf_append_json_string(buf *b, const char *s, size_t n);

/* Append `s` (n bytes) with every spot that is not UTF-8 replaced by
 * U+FFFD (one per maximal subpart, as the SSE parser and the WHATWG
 * decoder do): the appended text is valid UTF-8.  *replaced (may be
 * NULL) gets the number of U+FFFD written.  Returns BUF_OK, BUF_ENOMEM or
 * BUF_ETOOBIG (then nothing is appended). */
int buf_append_utf8(buf *b, const char *s, size_t n, size_t *replaced);

/* A writer over a buf that keeps the first error: a document made of many
 * appends is checked once, at the end (rc), and never comes out with a
 * piece missing in the middle.  Initialise it {&b, BUF_OK}. */
typedef struct buf_writer {
    buf *b;
    int rc;    /* BUF_OK, or the first BUF_E* code (nothing appended since) */
} buf_writer;

/* Append NUL-terminated s as it is. */
void buf_w_raw(buf_writer *w, const char *s);

/* Append n bytes at s as a JSON string (buf_append_json_string). */
void buf_w_json(buf_writer *w, const char *s, size_t n);

/* Copy NUL-terminated src into dst[size] (size > 0), cut at size - 1
 * bytes; dst is always NUL-terminated. */
void buf_copy_str(char *dst, size_t size, const char *src);

/* Text of d for JSON and people: an integral value below 2^53 as an
 * integer ("1000000"), else the shortest "%.*g" that reads back as d;
 * "null" for NaN/inf.  `size` at least 32.  Returns the length. */
int buf_format_number(double d, char *dst, size_t size);

#endif
