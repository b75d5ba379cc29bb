/*
 * utf8.h - validate UTF-8 text and find where it is not.
 *
 * Valid means RFC 3629 (the WHATWG "UTF-8 decode" agrees): no overlong
 * forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF, no
 * truncated sequence.  U+0000 is a valid character here: whether a NUL may
 * appear is the caller's rule.
 *
 * A bad spot is measured as the WHATWG decoder measures it: the "maximal
 * subpart" (the lead byte and the continuation bytes that were still
 * possible for it, 1 to 3 bytes), each of which a decoder replaces with one
 * U+FFFD.  So code that replaces through utf8_char() writes what
 * consumer/sse.c writes for the same bytes.
 *
 * Pure functions on spans: no allocation, no I/O, never reads s[n] or
 * beyond.
 */
#ifndef TW_UTF8_H
#define TW_UTF8_H

#include <stddef.h>

/* U+FFFD REPLACEMENT CHARACTER in UTF-8, and its length. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"
#define UTF8_REPLACEMENT_LEN 3

/* The character at s[0..n) (n > 0): its length, 1 to 4, when it is valid;
 * else 0, with *bad (may be NULL) set to the length of the maximal
 * subpart that one U+FFFD replaces (1 to 3). */
size_t utf8_char(const char *s, size_t n, size_t *bad);

/* The length of the longest valid UTF-8 prefix of s[0..n): n when the
 * whole span is valid. */
size_t utf8_valid_len(const char *s, size_t n);

/* 1 when s[0..n) is valid UTF-8, else 0. */
int utf8_valid(const char *s, size_t n);

#endif
