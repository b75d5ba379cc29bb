/*
 * test_glob.c - compiled globs: normalisation and class of every shape,
 * exact answers for each class at its edges (empty string, one byte short,
 * case, bytes outside ASCII, a NUL inside), the length limit, patterns that
 * would make a backtracking matcher explode, and a differential test
 * against a dynamic-programming reference over random patterns and
 * strings.
 */
#include "detectors/glob.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int match(const char *pattern, const char *s)
{
    struct glob g;

    assert_int_equal(glob_compile(&g, pattern), GLOB_OK);
    return glob_match(&g, s);
}

static void expect_class(const char *pattern, enum glob_class cls,
                         const char *text)
{
    struct glob g;

    assert_int_equal(glob_compile(&g, pattern), GLOB_OK);
    assert_int_equal(glob_class(&g), cls);
    assert_string_equal(glob_text(&g), text);
}

static void test_classes(void **state)
{
    (void)state;
    expect_class("", GLOB_EXACT, "");
    expect_class("GitHub", GLOB_EXACT, "github");
    expect_class("*", GLOB_ANY, "*");
    expect_class("****", GLOB_ANY, "*");
    expect_class("postgres_*", GLOB_PREFIX, "postgres_*");
    expect_class("Postgres_***", GLOB_PREFIX, "postgres_*");
    expect_class("*_admin", GLOB_SUFFIX, "*_admin");
    expect_class("**_ADMIN", GLOB_SUFFIX, "*_admin");
    expect_class("*secret*", GLOB_CONTAINS, "*secret*");
    expect_class("***secret***", GLOB_CONTAINS, "*secret*");
    expect_class("?", GLOB_GENERAL, "?");
    expect_class("a?c", GLOB_GENERAL, "a?c");
    expect_class("a*b*c", GLOB_GENERAL, "a*b*c");
    expect_class("*a*b*", GLOB_GENERAL, "*a*b*");
    expect_class("a*b", GLOB_GENERAL, "a*b");
    expect_class("*a?", GLOB_GENERAL, "*a?");
    expect_class("?*", GLOB_GENERAL, "?*");
    expect_class("*?*", GLOB_GENERAL, "*?*");
}

struct row {
    const char *pattern, *s;
    int want;
};

static void test_exact_answers(void **state)
{
    static const struct row rows[] = {
        /* exact */
        {"", "", 1},
        {"", "a", 0},
        {"github", "github", 1},
        {"github", "GitHub", 1},
        {"GITHUB", "github", 1},
        {"github", "githu", 0},
        {"github", "githubs", 0},
        {"github", "", 0},
        /* any */
        {"*", "", 1},
        {"*", "anything at all", 1},
        /* prefix */
        {"postgres_*", "postgres_", 1},
        {"postgres_*", "postgres_query", 1},
        {"postgres_*", "POSTGRES_QUERY", 1},
        {"postgres_*", "postgres", 0},
        {"postgres_*", "mypostgres_query", 0},
        /* suffix */
        {"*_admin", "_admin", 1},
        {"*_admin", "db_ADMIN", 1},
        {"*_admin", "_admin_", 0},
        {"*_admin", "admin", 0},
        /* contains */
        {"*secret*", "secret", 1},
        {"*secret*", "get_secret_value", 1},
        {"*secret*", "GetSecretValue", 1},
        {"*secret*", "secre", 0},
        {"*secret*", "s-e-c-r-e-t", 0},
        {"*secrets*", "secret", 0},
        /* question marks */
        {"?", "a", 1},
        {"?", "", 0},
        {"?", "ab", 0},
        {"a?c", "abc", 1},
        {"a?c", "aXc", 1},
        {"a?c", "ac", 0},
        {"a?c", "abbc", 0},
        {"?*", "", 0},
        {"?*", "x", 1},
        {"*?", "xyz", 1},
        {"*?*", "", 0},
        {"??", "\xc3\xa9", 1}, /* one UTF-8 character is two bytes */
        /* general */
        {"a*b", "ab", 1},
        {"a*b", "axxxb", 1},
        {"a*b", "axxxbx", 0},
        {"a*b", "b", 0},
        {"a*b*c", "abc", 1},
        {"a*b*c", "aXbYc", 1},
        {"a*b*c", "acb", 0},
        {"*a*b*", "xxaxxbxx", 1},
        {"*a*b*", "ba", 0},
        {"a*a", "a", 0}, /* head and tail may not overlap */
        {"a*a", "aa", 1},
        {"ab*ba", "aba", 0},
        {"ab*ba", "abba", 1},
        {"*ab*ab*", "abab", 1},
        {"*ab*ab*", "aab", 0},
        {"*a?c*", "xxabcxx", 1},
        {"*a?c*", "xxacxx", 0},
        {"tool_*_v?", "tool_read_v2", 1},
        {"tool_*_v?", "tool__v2", 1},
        {"tool_*_v?", "tool_read_v", 0},
        /* non-ASCII bytes compare exactly: no case folding */
        {"\xc3\x89t\xc3\xa9", "\xc3\x89T\xc3\xa9", 1},
        {"\xc3\xa9", "\xc3\x89", 0},
        /* `[` and `\` are ordinary */
        {"a[b]\\", "A[B]\\", 1},
        {"a[b]", "ab", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int got = match(rows[i].pattern, rows[i].s);
        if (got != rows[i].want)
            fail_msg("\"%s\" ~ \"%s\": got %d, want %d", rows[i].pattern,
                     rows[i].s, got, rows[i].want);
    }
}

static void test_length_limit(void **state)
{
    char p[GLOB_PATTERN_MAX + 2];
    struct glob g;

    (void)state;
    memset(p, 'a', GLOB_PATTERN_MAX);
    p[GLOB_PATTERN_MAX] = '\0';
    assert_int_equal(glob_compile(&g, p), GLOB_OK);
    assert_int_equal(glob_class(&g), GLOB_EXACT);
    assert_true(glob_match(&g, p));
    p[GLOB_PATTERN_MAX - 1] = '*';
    assert_int_equal(glob_compile(&g, p), GLOB_OK);
    assert_int_equal(glob_class(&g), GLOB_PREFIX);
    p[GLOB_PATTERN_MAX] = 'a';
    p[GLOB_PATTERN_MAX + 1] = '\0';
    assert_int_equal(glob_compile(&g, p), GLOB_ETOOLONG);
    /* a refused pattern leaves the glob that matches only "" */
    assert_true(glob_match(&g, ""));
    assert_false(glob_match(&g, "a"));
    /* the raw length counts, before stars are folded */
    memset(p, '*', GLOB_PATTERN_MAX + 1);
    p[GLOB_PATTERN_MAX + 1] = '\0';
    assert_int_equal(glob_compile(&g, p), GLOB_ETOOLONG);
    assert_string_equal(glob_strerror(GLOB_ETOOLONG),
                        "a glob of at most 128 bytes");
    assert_string_equal(glob_strerror(GLOB_OK), "ok");
    assert_string_equal(glob_strerror(-99), "unknown glob error");
}

static void test_match_n(void **state)
{
    struct glob g;

    (void)state;
    assert_int_equal(glob_compile(&g, "a?c"), GLOB_OK);
    assert_true(glob_match_n(&g, "a\0c", 3));
    assert_false(glob_match_n(&g, "abcd", 2));
    assert_true(glob_match_n(&g, "abcd", 3));
    assert_int_equal(glob_compile(&g, "*b"), GLOB_OK);
    assert_true(glob_match_n(&g, "abc", 2));
    assert_false(glob_match_n(&g, "abc", 3));
}

/* Patterns that take a naive backtracking matcher exponential time: here
 * each is a handful of linear scans over a long string. */
static void test_no_blowup(void **state)
{
    enum { N = 200000 };
    char *s = malloc(N + 1);
    char p[GLOB_PATTERN_MAX + 1];
    struct glob g;

    (void)state;
    assert_non_null(s);
    memset(s, 'a', N);
    s[N] = '\0';
    assert_false(match("*a*a*a*a*a*a*a*a*a*a*b", s));
    assert_true(match("*a*a*a*a*a*a*a*a*a*a*", s));
    assert_false(match("*aaaaaaaaaaaaaaaaaab*", s));
    /* head and tail hold, the middle piece "b" is nowhere */
    assert_false(match("a*a*a*a*a*a*a*a*a*b*a*a*a", s));
    assert_false(match("*a?a?a?a?a?a?a?a?a?b?*", s));
    /* the longest pattern of alternating pieces */
    for (size_t i = 0; i < GLOB_PATTERN_MAX; i++)
        p[i] = (i % 2) ? '*' : 'a';
    p[GLOB_PATTERN_MAX - 1] = 'b';
    p[GLOB_PATTERN_MAX] = '\0';
    assert_int_equal(glob_compile(&g, p), GLOB_OK);
    assert_false(glob_match(&g, s));
    s[N - 1] = 'b';
    assert_true(glob_match(&g, s));
    free(s);
}

/* ---- differential test ---- */

static int ref_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* The textbook dynamic programme: m[i][j] = p[i..] matches s[j..]. */
static int ref_match(const char *p, const char *s)
{
    size_t np = strlen(p), ns = strlen(s);
    unsigned char m[24][24];

    assert_true(np < 24 && ns < 24);
    memset(m, 0, sizeof m);
    m[np][ns] = 1;
    for (size_t i = np; i-- > 0;)
        for (size_t j = ns + 1; j-- > 0;) {
            if (p[i] == '*')
                m[i][j] = m[i + 1][j] || (j < ns && m[i][j + 1]);
            else
                m[i][j] = j < ns &&
                          (p[i] == '?' ||
                           ref_lower(p[i]) == ref_lower(s[j])) &&
                          m[i + 1][j + 1];
        }
    return m[0][0];
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void random_text(char *out, size_t maxlen, const char *alphabet)
{
    size_t n = rnd((uint32_t)maxlen + 1), k = strlen(alphabet);

    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[rnd((uint32_t)k)];
    out[n] = '\0';
}

static void test_differential(void **state)
{
    char p[16], s[24];
    unsigned long matched = 0, total = 300000;
    struct glob g;

    (void)state;
    for (unsigned long i = 0; i < total; i++) {
        random_text(p, 10, "ab*?A*");
        random_text(s, 14, "abAB");
        assert_int_equal(glob_compile(&g, p), GLOB_OK);
        if (glob_match(&g, s) != ref_match(p, s))
            fail_msg("\"%s\" ~ \"%s\": got %d, reference %d", p, s,
                     glob_match(&g, s), ref_match(p, s));
        matched += (unsigned long)ref_match(p, s);
        /* the normalised text is the same pattern */
        if (i % 16 == 0) {
            struct glob g2;
            assert_int_equal(glob_compile(&g2, glob_text(&g)), GLOB_OK);
            assert_memory_equal(&g, &g2, sizeof g);
        }
    }
    /* both answers were exercised, not just "no match" */
    assert_true(matched > total / 20);
    assert_true(matched < total - total / 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_exact_answers),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_match_n),
        cmocka_unit_test(test_no_blowup),
        cmocka_unit_test(test_differential),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
