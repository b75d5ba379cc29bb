/*
 * json.h - the configuration's JSON, read strictly (part of the cfg_
 * module; internal to config/).
 *
 * cJSON alone takes texts that are not one JSON document, or reads them as
 * something else than they say, and a configuration must mean exactly
 * what it shows.  Refused here, on top of what cJSON refuses:
 *  - text after the document other than JSON whitespace (a second
 *    document, garbage): cJSON stops at the end of the first value;
 *  - U+0000 in a string or a key, escaped (\u0000) or raw: cJSON's C
 *    strings end there, so "ab\u0000cd" would read as "ab";
 *  - bytes that are not UTF-8 inside a string or key (a name like
 *    `instance` is copied into every alert, whose JSON must be UTF-8);
 *  - control characters other than space, TAB, LF and CR between tokens
 *    (cJSON skips every byte up to 0x20 there).
 * Messages give the line and column of a syntax problem, and the key path
 * of a string ("stream.headers.X-Tenant", or a key's path) for the others,
 * with the byte offset in the string; they never quote the string's text
 * (it may be a pasted secret).
 */
#ifndef TW_CFG_JSON_H
#define TW_CFG_JSON_H

#include <stddef.h>

struct cJSON;

/* Parse text[0..len) (need not be NUL-terminated) into *out (the caller
 * deletes it).  `path` names the document's root in messages ("" for a
 * file: then "(top level)"; an override's key path for its value).
 * Returns CFG_OK; CFG_ESYNTAX (not one JSON document; "not valid JSON near
 * line L, column C..." in err); CFG_EINVAL (a string or key with U+0000 or
 * bytes that are not UTF-8: "path: expected ..." in err); CFG_ENOMEM.
 * *out is NULL on every error. */
int cfg_json_parse(const char *text, size_t len, const char *path,
                   struct cJSON **out, char *err, size_t errsz);

/* The message for a string value at `path` (a file's or an override's)
 * that is not valid UTF-8, the first bad byte at offset `at` being `byte`
 * (no quote of the text). */
void cfg_json_utf8_error(const char *path, size_t at, unsigned char byte,
                         char *err, size_t errsz);

#endif
