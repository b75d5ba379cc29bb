/*
 * json.c - the configuration's JSON, read strictly (json.h).
 *
 * How: cJSON parses first (it finds every syntax error, with a position);
 * then one pass over the text, which is now known to be JSON, walks it
 * token by token: outside strings it refuses control characters cJSON
 * took for whitespace; inside a string it looks for a \u0000 escape, a raw
 * NUL and bytes that are not UTF-8 (base/utf8.h), and numbers the strings
 * (keys and values) in the order they appear.  The first bad string's
 * number is then found in the tree, which keeps that order (a member's key
 * comes before its value), to name its key path.  Then the text after the
 * document is checked to be whitespace.
 *
 * Invariant: the pass over the text never reads past len, whatever the
 * text (it does not rely on cJSON having checked it).
 */
#include "config/json.h"

#include "base/table.h"
#include "base/utf8.h"
#include "config/config.h"
#include "config/secrets.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* What is wrong with a string. */
enum bad {
    BAD_NONE = 0,
    BAD_NUL,  /* \u0000 or a raw NUL */
    BAD_UTF8  /* bytes that are not UTF-8 */
};

static int json_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Line and column (from 1) of text[off]. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int syntax(const char *text, size_t off, const char *why, char *err,
                  size_t errsz)
{
    size_t line, col;

    line_col(text, off, &line, &col);
    table_fail(err, errsz, "not valid JSON near line %zu, column %zu%s",
               line, col, why);
    return CFG_ESYNTAX;
}

/* The string that starts after the quote at text[*i]: what is wrong with
 * it (the first problem), *i moved past its closing quote. */
static enum bad scan_string(const char *text, size_t len, size_t *i)
{
    enum bad bad = BAD_NONE;
    size_t p = *i + 1, k, sub;

    while (p < len && text[p] != '"') {
        unsigned char c = (unsigned char)text[p];

        if (c == '\\') {
            if (bad == BAD_NONE && len - p >= 6 &&
                memcmp(text + p + 1, "u0000", 5) == 0)
                bad = BAD_NUL;
            p += 2; /* the escaped character is never a quote to stop at */
        } else if (c == '\0') {
            bad = bad == BAD_NONE ? BAD_NUL : bad;
            p++;
        } else if (c >= 0x80) {
            if ((k = utf8_char(text + p, len - p, &sub)) == 0) {
                bad = bad == BAD_NONE ? BAD_UTF8 : bad;
                k = sub;
            }
            p += k;
        } else {
            p++;
        }
    }
    *i = p + 1;
    return bad;
}

/* Walk text[0..end) (a JSON value cJSON accepted): 0, or the first problem:
 * CFG_ESYNTAX (message written) or CFG_EINVAL with the string's number in
 * *nth and the problem in *what. */
static int scan(const char *text, size_t end, size_t *nth, enum bad *what,
                char *err, size_t errsz)
{
    size_t i = 0, n = 0;

    if (end >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        i = 3; /* the BOM cJSON skips */
    while (i < end) {
        unsigned char c = (unsigned char)text[i];

        if (c == '"') {
            if ((*what = scan_string(text, end, &i)) != BAD_NONE) {
                *nth = n;
                return CFG_EINVAL;
            }
            n++;
        } else if (c < 0x20 && !json_space(c)) {
            return syntax(text, i, ": a control character outside a string",
                          err, errsz);
        } else {
            i++;
        }
    }
    return CFG_OK;
}

/* The string number *nth (counted down) under v, in text order: its node
 * and whether it is the node's key; the path to it in path[size]. */
static const cJSON *find_string(const cJSON *v, size_t *nth, int *is_key,
                                char *path, size_t size)
{
    const cJSON *m, *hit;
    char sub[CFG_KEYPATH_MAX];
    int i = 0;

    if (cJSON_IsString(v)) {
        if (*nth == 0) {
            *is_key = 0;
            return v;
        }
        (*nth)--;
        return NULL;
    }
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return NULL;
    cJSON_ArrayForEach(m, v)
    {
        if (cJSON_IsObject(v)) {
            table_path(sub, sizeof sub, path, m->string, 0);
            if (*nth == 0) {
                *is_key = 1;
                snprintf(path, size, "%s", sub);
                return m;
            }
            (*nth)--;
        } else {
            table_path(sub, sizeof sub, path, NULL, i++);
        }
        if ((hit = find_string(m, nth, is_key, sub, sizeof sub)) != NULL) {
            snprintf(path, size, "%s", sub);
            return hit;
        }
    }
    return NULL;
}

void cfg_json_utf8_error(const char *path, size_t at, unsigned char byte,
                         char *err, size_t errsz)
{
    table_fail(err, errsz, "%s: expected UTF-8 text, got the byte 0x%02x "
               "at byte %zu, which is not UTF-8", path, byte, at);
}

/* The message for the bad string number nth of the tree. */
static void string_error(const cJSON *root, size_t nth, enum bad what,
                         const char *path, char *err, size_t errsz)
{
    char at[CFG_KEYPATH_MAX];
    const cJSON *v;
    const char *s;
    size_t n;
    int is_key = 0;

    snprintf(at, sizeof at, "%s", path);
    if ((v = find_string(root, &nth, &is_key, at, sizeof at)) == NULL) {
        table_fail(err, errsz, "%s: a string holds U+0000 or bytes that "
                   "are not UTF-8", path[0] ? path : "(top level)");
        return;
    }
    s = is_key ? v->string : v->valuestring;
    n = strlen(s);
    if (at[0] == '\0')
        snprintf(at, sizeof at, "(top level)");
    if (what == BAD_NUL) {
        /* the C string ends at the NUL: the key's path shows the part
         * before it */
        table_fail(err, errsz, "%s: expected a %s without U+0000 (\\u0000), "
                   "got one at byte %zu", at, is_key ? "key" : "string", n);
        return;
    }
    n = utf8_valid_len(s, n);
    if (is_key) {
        /* the path ends with the key: show the part before the bad byte
         * (and never a bad byte, should the path have been cut short) */
        size_t al = strlen(at), sl = strlen(s);
        if (al >= sl)
            at[al - sl + n] = '\0';
        at[utf8_valid_len(at, strlen(at))] = '\0';
        table_fail(err, errsz, "%s: expected a key of UTF-8 text, got the "
                   "byte 0x%02x at byte %zu, which is not UTF-8", at,
                   (unsigned char)s[n], n);
        return;
    }
    cfg_json_utf8_error(at, n, (unsigned char)s[n], err, errsz);
}

int cfg_json_parse(const char *text, size_t len, const char *path,
                   cJSON **out, char *err, size_t errsz)
{
    const char *end = NULL;
    cJSON *root = NULL;
    enum bad what = BAD_NONE;
    size_t nth = 0, off;
    int rc;

    *out = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        off = at != NULL && at >= text && at <= text + len
                  ? (size_t)(at - text)
                  : len;
        rc = syntax(text, off, "", err, errsz);
        goto out;
    }
    off = end != NULL && end >= text && end <= text + len
              ? (size_t)(end - text)
              : len;
    if ((rc = scan(text, off, &nth, &what, err, errsz)) == CFG_EINVAL)
        string_error(root, nth, what, path, err, errsz);
    if (rc != CFG_OK)
        goto out;
    while (off < len && json_space((unsigned char)text[off]))
        off++;
    if (off < len) {
        rc = syntax(text, off, ": text after the end of the document (one "
                    "JSON object per file)", err, errsz);
        goto out;
    }
    *out = root;
    root = NULL;
out:
    cJSON_Delete(root);
    return rc;
}
