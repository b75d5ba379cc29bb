/*
 * glob.c - compile and match glob patterns (see glob.h for the language).
 *
 * Invariants of a compiled struct glob:
 *  - pat is lower case (ASCII), holds no "**", and is len bytes long;
 *  - EXACT, PREFIX, SUFFIX, CONTAINS: pat[lit_off .. lit_off + lit_len) is
 *    the literal, with no wildcard in it;
 *  - GENERAL: lit_off is the index of the first `*` (len when there is
 *    none: a pattern of `?` and literals), lit_len the bytes after the last
 *    `*` (the anchored tail; 0 when there is no star).
 */
#include "detectors/glob.h"

#include <string.h>

#define GLOB_STR_(x) #x
#define GLOB_STR(x) GLOB_STR_(x)

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Does the piece p[0..k) (no `*`; `?` matches any byte) match s[0..k)? */
static int piece_at(const char *p, size_t k, const char *s)
{
    for (size_t i = 0; i < k; i++)
        if (p[i] != '?' && (unsigned char)p[i] != lower((unsigned char)s[i]))
            return 0;
    return 1;
}

/* The leftmost offset in s[0..n) where the piece p[0..k) matches, or -1. */
static long piece_find(const char *p, size_t k, const char *s, size_t n)
{
    for (size_t i = 0; i + k <= n; i++)
        if (piece_at(p, k, s + i))
            return (long)i;
    return -1;
}

static void classify(struct glob *g)
{
    size_t stars = 0, qs = 0, last = 0, n = g->len;

    for (size_t i = 0; i < n; i++) {
        if (g->pat[i] == '*') {
            if (stars++ == 0)
                g->lit_off = (uint8_t)i;
            last = i;
        } else if (g->pat[i] == '?') {
            qs++;
        }
    }
    if (stars == 0 && qs == 0) {
        g->cls = GLOB_EXACT;
        g->lit_off = 0;
        g->lit_len = (uint8_t)n;
    } else if (qs == 0 && n == 1) {
        g->cls = GLOB_ANY;
        g->lit_off = g->lit_len = 0;
    } else if (qs == 0 && stars == 1 && last == n - 1) {
        g->cls = GLOB_PREFIX;
        g->lit_off = 0;
        g->lit_len = (uint8_t)(n - 1);
    } else if (qs == 0 && stars == 1 && last == 0) {
        g->cls = GLOB_SUFFIX;
        g->lit_off = 1;
        g->lit_len = (uint8_t)(n - 1);
    } else if (qs == 0 && stars == 2 && g->pat[0] == '*' && last == n - 1) {
        g->cls = GLOB_CONTAINS;
        g->lit_off = 1;
        g->lit_len = (uint8_t)(n - 2);
    } else {
        g->cls = GLOB_GENERAL;
        if (stars == 0)
            g->lit_off = (uint8_t)n;
        g->lit_len = stars ? (uint8_t)(n - 1 - last) : 0;
    }
}

int glob_compile(struct glob *g, const char *pattern)
{
    size_t n = strlen(pattern), k = 0;

    memset(g, 0, sizeof *g);
    if (n > GLOB_PATTERN_MAX)
        return GLOB_ETOOLONG;
    for (size_t i = 0; i < n; i++) {
        if (pattern[i] == '*' && k > 0 && g->pat[k - 1] == '*')
            continue;
        g->pat[k++] = (char)lower((unsigned char)pattern[i]);
    }
    g->pat[k] = '\0';
    g->len = (uint8_t)k;
    classify(g);
    return GLOB_OK;
}

/* The general case: anchored head, anchored tail, then every piece between
 * stars at its leftmost place in what lies between. */
static int match_general(const struct glob *g, const char *s, size_t n)
{
    const char *p = g->pat;
    size_t m = g->len, head = g->lit_off, tail = g->lit_len;
    size_t pos, end, i;

    if (head == m)
        return n == m && piece_at(p, m, s);
    if (n < head + tail || !piece_at(p, head, s) ||
        !piece_at(p + m - tail, tail, s + n - tail))
        return 0;
    pos = head;
    end = n - tail;
    /* pieces between the first star (at head) and the last (m - tail - 1) */
    for (i = head + 1; i < m - tail; i++) {
        size_t j = i;
        long at;

        while (p[j] != '*')
            j++;
        at = piece_find(p + i, j - i, s + pos, end - pos);
        if (at < 0)
            return 0;
        pos += (size_t)at + (j - i);
        i = j;
    }
    return 1;
}

int glob_match_n(const struct glob *g, const char *s, size_t n)
{
    const char *lit = g->pat + g->lit_off;
    size_t k = g->lit_len;

    switch ((enum glob_class)g->cls) {
    case GLOB_EXACT:
        return n == k && piece_at(lit, k, s);
    case GLOB_PREFIX:
        return n >= k && piece_at(lit, k, s);
    case GLOB_SUFFIX:
        return n >= k && piece_at(lit, k, s + n - k);
    case GLOB_CONTAINS:
        return piece_find(lit, k, s, n) >= 0;
    case GLOB_ANY:
        return 1;
    case GLOB_GENERAL:
        return match_general(g, s, n);
    }
    return 0;
}

int glob_match(const struct glob *g, const char *s)
{
    return glob_match_n(g, s, strlen(s));
}

const char *glob_strerror(int rc)
{
    switch (rc) {
    case GLOB_OK:
        return "ok";
    case GLOB_ETOOLONG:
        return "a glob of at most " GLOB_STR(GLOB_PATTERN_MAX) " bytes";
    default:
        return "unknown glob error";
    }
}
