/*
 * glob.h - compiled glob patterns for rule conditions (SPEC section 2,
 * "match / exclude"): `*` matches any run of bytes (also none), `?` exactly
 * one byte, every other byte itself, ASCII letters without regard to case.
 * There is no escape: `*` and `?` are always wildcards.  Bytes outside
 * ASCII compare as they are (`?` matches one byte of a UTF-8 sequence).
 *
 * A pattern is compiled once, at config load, into a small value (no
 * pointers, no allocation): lower-cased, runs of `*` folded into one, and
 * classified so that the common shapes match with one comparison:
 *
 *   exact     "github"          length check + compare
 *   prefix    "postgres_*"      compare the first bytes
 *   suffix    "*_admin"         compare the last bytes
 *   contains  "*secret*"        one substring search
 *   any       "*"               always (also the empty string)
 *   general   "a*b?c*d", "x?y"  anchored head and tail, then each middle
 *                               piece at its leftmost place
 *
 * Matching never allocates and never recurses: the general case places
 * each piece between stars at its leftmost occurrence, which is the
 * standard greedy argument for `*` (a later place can only leave less room
 * for the pieces after it).  Cost is at most O(pattern x string) byte
 * comparisons, bounded by GLOB_PATTERN_MAX and the length of the string.
 */
#ifndef TW_GLOB_H
#define TW_GLOB_H

#include <stddef.h>
#include <stdint.h>

#define GLOB_PATTERN_MAX 128 /* bytes of a pattern, without the NUL */

enum {
    GLOB_OK = 0,
    GLOB_ETOOLONG = -1 /* the pattern is longer than GLOB_PATTERN_MAX */
};

enum glob_class {
    GLOB_EXACT = 0, /* no wildcard */
    GLOB_PREFIX,    /* lit*   */
    GLOB_SUFFIX,    /* *lit   */
    GLOB_CONTAINS,  /* *lit*  */
    GLOB_ANY,       /* *      */
    GLOB_GENERAL    /* anything else: `?`, or stars inside */
};

/* A compiled pattern: a plain value, copy it freely.  Fields private. */
struct glob {
    uint8_t cls;      /* enum glob_class */
    uint8_t len;      /* bytes of pat */
    uint8_t lit_off;  /* the literal of PREFIX/SUFFIX/CONTAINS in pat */
    uint8_t lit_len;
    char pat[GLOB_PATTERN_MAX + 1]; /* normalised pattern, NUL-terminated */
};

/* Compile the NUL-terminated `pattern` into *g.  Returns GLOB_OK, or
 * GLOB_ETOOLONG (g is then the pattern "" matching only ""). */
int glob_compile(struct glob *g, const char *pattern);

/* Does the NUL-terminated `s` match?  1 or 0.  No allocation, no
 * recursion; safe from any thread (g is only read). */
int glob_match(const struct glob *g, const char *s);

/* The same for `n` bytes at `s` (no NUL needed; a NUL byte inside is
 * compared like any other). */
int glob_match_n(const struct glob *g, const char *s, size_t n);

/* The class of a compiled pattern (enum glob_class). */
static inline enum glob_class glob_class(const struct glob *g)
{
    return (enum glob_class)g->cls;
}

/* The normalised pattern (lower case, runs of `*` folded): what check-config
 * prints, and a pattern that compiles to the same glob. */
static inline const char *glob_text(const struct glob *g)
{
    return g->pat;
}

/* A sentence for a return code ("a glob of at most 128 bytes" ...). */
const char *glob_strerror(int rc);

#endif
