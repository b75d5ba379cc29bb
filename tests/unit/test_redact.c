/*
 * test_redact.c - what is redacted, what is kept, output bounds, and the
 * fixed-point property, with exact expected output for every case.
 */
#include "alerts/redact.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

struct tcase {
    const char *in;
    const char *out;
    unsigned kinds;
};

#define E REDACT_KIND_EMAIL
#define P REDACT_KIND_PHONE
#define S REDACT_KIND_SSN
#define C REDACT_KIND_CARD
#define T REDACT_KIND_TOKEN
#define K REDACT_KIND_API_KEY
#define W REDACT_KIND_PASSWORD

static const struct tcase cases[] = {
    /* e-mail */
    { "contact bob@example.com now", "contact [REDACTED:email] now", E },
    { "Bob.Smith+tag@mail.Example.CO.uk.", "[REDACTED:email].", E },
    { "<alice_1@x-y.io>", "<[REDACTED:email]>", E },
    { "mailto:carol@example.org?x", "mailto:[REDACTED:email]?x", E },
    { "..dave@example.com", "..[REDACTED:email]", E },
    { "u@localhost", "u@localhost", 0 },
    { "u@10.0.0.1", "u@10.0.0.1", 0 },
    { "@example.com", "@example.com", 0 },
    { "a@b.c", "a@b.c", 0 },
    { "npm i @scope/pkg@1.2.3", "npm i @scope/pkg@1.2.3", 0 },
    /* phone */
    { "call +1 415 555 2671 now", "call [REDACTED:phone] now", P },
    { "+44 20 7946 0958", "[REDACTED:phone]", P },
    { "+49 (0)30 1234567", "[REDACTED:phone]", P },
    { "+1 (415) 555-2671", "[REDACTED:phone]", P },
    { "+14155552671", "[REDACTED:phone]", P },
    { "(415) 555-2671", "[REDACTED:phone]", P },
    { "415-555-2671", "[REDACTED:phone]", P },
    { "415.555.2671", "[REDACTED:phone]", P },
    { "tel 415 555 2671.", "tel [REDACTED:phone].", P },
    { "1-800-555-0199", "[REDACTED:phone]", P },
    { "020 7946 0958", "[REDACTED:phone]", P },
    { "06 12 34 56 78", "[REDACTED:phone]", P },
    { "0049-30-1234567", "[REDACTED:phone]", P },
    { "+5000 ms", "+5000 ms", 0 },
    { "100 200 3000", "100 200 3000", 0 },          /* area code 1xx */
    { "415.555-2671", "415.555-2671", 0 },          /* mixed with dots */
    { "4155552671", "4155552671", 0 },              /* bare digit run */
    { "UTC+05:30", "UTC+05:30", 0 },
    { "x1+4155552671", "x1+4155552671", 0 },
    /* SSN */
    { "ssn 123-45-6789.", "ssn [REDACTED:ssn].", S },
    { "000-12-3456", "000-12-3456", 0 },
    { "666-12-3456", "666-12-3456", 0 },
    { "900-12-3456", "900-12-3456", 0 },
    { "999-12-3456", "999-12-3456", 0 },
    { "123-00-4567", "123-00-4567", 0 },
    { "123-45-0000", "123-45-0000", 0 },
    { "123-45-6789-1", "123-45-6789-1", 0 },
    { "9-123-45-6789", "9-123-45-6789", 0 },
    { "123 45 6789", "123 45 6789", 0 },
    /* card */
    { "4111 1111 1111 1111", "[REDACTED:card]", C },
    { "4111 1111 1111 1112", "4111 1111 1111 1112", 0 },
    { "card 4111-1111-1111-1111 exp", "card [REDACTED:card] exp", C },
    { "4111111111111111", "[REDACTED:card]", C },
    { "3782 822463 10005", "[REDACTED:card]", C },
    { "5500 0000 0000 0004", "[REDACTED:card]", C },
    { "qty 2 4111111111111111", "qty 2 [REDACTED:card]", C },
    { "4111111111111111abc", "4111111111111111abc", 0 },
    { "1.4111111111111111", "1.4111111111111111", 0 },
    /* a Luhn-valid 13-digit millisecond timestamp: first digit 1 */
    { "at 1614265330008", "at 1614265330008", 0 },
    /* numbers that stay */
    { "order 12345", "order 12345", 0 },
    { "2026-03-10 02:47:23", "2026-03-10 02:47:23", 0 },
    { "2026-03-10T02:47:23.123Z", "2026-03-10T02:47:23.123Z", 0 },
    { "v1.2.3", "v1.2.3", 0 },
    { "127.0.0.1", "127.0.0.1", 0 },
    { "192.168.100.200:8080", "192.168.100.200:8080", 0 },
    { "took 5000 ms", "took 5000 ms", 0 },
    { "ts 1614265330", "ts 1614265330", 0 },
    { "1,234,567 rows", "1,234,567 rows", 0 },
    { "3.14159265358979", "3.14159265358979", 0 },
    { "uuid 123e4567-e89b-12d3-a456-426614174000",
      "uuid 123e4567-e89b-12d3-a456-426614174000", 0 },
    /* bearer */
    { "Authorization: Bearer abc.def-ghi",
      "Authorization: Bearer [REDACTED:token]", T },
    { "authorization: bearer AbCdEfGhIj",
      "authorization: bearer [REDACTED:token]", T },
    { "Bearer dG9rZW4=", "Bearer [REDACTED:token]", T },
    { "the bearer of bad news", "the bearer of bad news", 0 },
    { "\"token_type\":\"Bearer\"", "\"token_type\":\"Bearer\"", 0 },
    /* API key shapes */
    { "key sk-proj-abcdefghij1234567890XYZ end",
      "key [REDACTED:api_key] end", K },
    { "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "[REDACTED:api_key]", K },
    { "pk_live_abcdefghij", "[REDACTED:api_key]", K },
    { "AKIAIOSFODNN7EXAMPLE", "[REDACTED:api_key]", K },
    { "AKIAIOSFODNN7EXAMPLEX", "AKIAIOSFODNN7EXAMPLEX", 0 },
    { "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED:api_key]", K },
    { "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[REDACTED:api_key]",
      K },
    { "xoxb-1234567890-abcdefghij", "[REDACTED:api_key]", K },
    { "AIzaSyA-1234567890abcdefghijklmnopqrstu", "[REDACTED:api_key]", K },
    { "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "[REDACTED:api_key]", K },
    { "glpat-abcdefghij0123456789", "[REDACTED:api_key]", K },
    { "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc_DEF-123 ok",
      "jwt [REDACTED:api_key] ok", K },
    { "sk-learn-is-a-python-library-name", "sk-learn-is-a-python-library-name",
      0 },
    { "task-abcdefghijklmnopqrstuvwxyz012345",
      "task-abcdefghijklmnopqrstuvwxyz012345", 0 },
    { "eyJhbGciOiJIUzI1NiJ9 only", "eyJhbGciOiJIUzI1NiJ9 only", 0 },
    /* assignments */
    { "password=hunter2 next", "password=[REDACTED:api_key] next", K },
    { "db_password = 's3 cr3t'", "db_password = '[REDACTED:api_key]'", K },
    { "{\"api_key\": \"abc123xyz\"}",
      "{\"api_key\": \"[REDACTED:api_key]\"}", K },
    { "?key=AIzaXX&x=1", "?key=[REDACTED:api_key]&x=1", K },
    { "apiKey=xyz X-Api-Key: abcdef1234",
      "apiKey=[REDACTED:api_key] X-Api-Key: [REDACTED:api_key]", K },
    { "client_secret: sh", "client_secret: [REDACTED:api_key]", K },
    { "accessToken=\"a\\\"b\" x", "accessToken=\"[REDACTED:api_key]\" x", K },
    { "monkey=banana", "monkey=banana", 0 },
    { "duplicate key: users_pkey", "duplicate key: users_pkey", 0 },
    { "Unexpected token: }", "Unexpected token: }", 0 },
    { "token: abc", "token: abc", 0 },
    { "token == null", "token == null", 0 },
    { "token != null", "token != null", 0 },
    { "password=", "password=", 0 },
    /* URL credentials */
    { "postgres://admin:s3cr3t@db.internal:5432/app",
      "postgres://admin:[REDACTED:password]@db.internal:5432/app", W },
    { "https://u:p@ss@host/x", "https://u:[REDACTED:password]@host/x", W },
    { "http://host:8080/path", "http://host:8080/path", 0 },
    { "redis://:pw@cache", "redis://:[REDACTED:password]@cache", W },
    { "http://u:p@[::1]:80/", "http://u:[REDACTED:password]@[::1]:80/", W },
    /* several in one string */
    { "bob@example.com 4111111111111111 123-45-6789 +33 6 12 34 56 78",
      "[REDACTED:email] [REDACTED:card] [REDACTED:ssn] [REDACTED:phone]",
      E | C | S | P },
    { "x=1 password=a,token=abcdef user=bob@example.com",
      "x=1 password=[REDACTED:api_key],token=[REDACTED:api_key] "
      "user=[REDACTED:email]",
      K | E },
    /* non-ASCII around matches passes through */
    { "é bob@example.com ü", "é [REDACTED:email] ü", E },
    { "日本 415-555-2671", "日本 [REDACTED:phone]", P },
    /* fuzz-found: a later match must not change an earlier decision */
    { "553-45-6788-06 12 34 576 8", "553-45-6788-[REDACTED:phone] 8", P },
    { "a@db.in+3 782 022463 10005et@db.inte(",
      "[REDACTED:email][REDACTED:phone] [REDACTED:email](", E | P },
    { "s://p:i-Key:2-\x8f" "33eX)-K6ey:2i@d5b",
      "s://p:i-Key:[REDACTED:api_key])-K6ey:2i@d5b", K },
    { "=whsec_=====================whsec_=====================do",
      "=[REDACTED:api_key]_=====================do", K },
    { "", "", 0 },
};

static void test_cases(void **state)
{
    char out[512], again[512];
    size_t n, n2;
    unsigned kinds, k2;
    int failed = 0;

    (void)state;
    assert_true(sizeof(cases) / sizeof(cases[0]) >= 40);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct tcase *c = &cases[i];
        int rc = redact(c->in, strlen(c->in), out, sizeof(out), &n, &kinds);
        if (rc != REDACT_OK || strcmp(out, c->out) != 0 ||
            kinds != c->kinds || n != strlen(out)) {
            print_error("case %zu: \"%s\"\n  got  \"%s\" kinds %#x rc %d\n"
                        "  want \"%s\" kinds %#x\n",
                        i, c->in, out, kinds, rc, c->out, c->kinds);
            failed++;
            continue;
        }
        /* fixed point */
        rc = redact(out, n, again, sizeof(again), &n2, &k2);
        if (rc != REDACT_OK || strcmp(out, again) != 0 || k2 != 0) {
            print_error("case %zu not stable: \"%s\" -> \"%s\"\n", i, out,
                        again);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_exactly_full(void **state)
{
    const char *in = "mail bob@example.com";
    const char *want = "mail [REDACTED:email]";
    size_t wl = strlen(want), n;
    char out[64];
    unsigned kinds;

    (void)state;
    /* exactly enough: text + NUL */
    assert_int_equal(redact(in, strlen(in), out, wl + 1, &n, &kinds),
                     REDACT_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, wl);
    assert_int_equal(kinds, REDACT_KIND_EMAIL);
    /* one byte short: the token is left out whole, nothing half-written */
    assert_int_equal(redact(in, strlen(in), out, wl, &n, &kinds),
                     REDACT_ETRUNC);
    assert_string_equal(out, "mail ");
    assert_int_equal(n, 5);
    assert_int_equal(kinds, 0);
    /* literal text is cut anywhere (ASCII) */
    assert_int_equal(redact("hello world", 11, out, 6, &n, NULL),
                     REDACT_ETRUNC);
    assert_string_equal(out, "hello");
    /* out_size 1: only the NUL */
    assert_int_equal(redact("abc", 3, out, 1, &n, NULL), REDACT_ETRUNC);
    assert_string_equal(out, "");
}

static void test_utf8_cut(void **state)
{
    /* "aé€𝄞" = 61 c3a9 e282ac f09d849e */
    const char *in = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";
    char out[16];
    size_t n;

    (void)state;
    static const struct { size_t size, len; } cut[] = {
        { 2, 1 }, { 3, 1 }, { 4, 3 }, { 5, 3 }, { 6, 3 }, { 7, 6 },
        { 8, 6 }, { 9, 6 }, { 10, 6 }, { 11, 10 },
    };
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        int rc = redact(in, strlen(in), out, cut[i].size, &n, NULL);
        assert_int_equal(rc, cut[i].len == 10 ? REDACT_OK : REDACT_ETRUNC);
        assert_int_equal(n, cut[i].len);
        assert_memory_equal(out, in, n);
        assert_int_equal(out[n], '\0');
    }
}

static void test_invalid_utf8_and_nul(void **state)
{
    const char in[] = "\xff\xfe bob@example.com \x80\x80\x80\x80 \0 x";
    const char want[] = "\xff\xfe [REDACTED:email] \x80\x80\x80\x80 \0 x";
    char out[64];
    size_t n;

    (void)state;
    assert_int_equal(redact(in, sizeof(in) - 1, out, sizeof(out), &n, NULL),
                     REDACT_OK);
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
    /* a run of continuation bytes is cut where it must be */
    assert_int_equal(redact("\x80\x80\x80\x80\x80", 5, out, 3, &n, NULL),
                     REDACT_ETRUNC);
    assert_int_equal(n, 2);
}

static void test_empty_and_args(void **state)
{
    char out[8] = "zzz";
    size_t n = 9;
    unsigned kinds = 9;

    (void)state;
    assert_int_equal(redact("", 0, out, sizeof(out), &n, &kinds), REDACT_OK);
    assert_string_equal(out, "");
    assert_int_equal(n, 0);
    assert_int_equal(kinds, 0);
    assert_int_equal(redact(NULL, 0, out, sizeof(out), NULL, NULL),
                     REDACT_OK);
    assert_int_equal(redact(NULL, 1, out, sizeof(out), NULL, NULL),
                     REDACT_EINVAL);
    assert_int_equal(redact("a", 1, NULL, 4, NULL, NULL), REDACT_EINVAL);
    assert_int_equal(redact("a", 1, out, 0, NULL, NULL), REDACT_EINVAL);
    assert_string_equal(redact_kind_name(REDACT_KIND_CARD), "card");
    assert_string_equal(redact_kind_name(REDACT_KIND_PASSWORD), "password");
    assert_string_equal(redact_kind_name(3), "?");
    assert_string_equal(redact_strerror(REDACT_ETRUNC),
                        "redacted text truncated");
    assert_string_equal(redact_strerror(42), "unknown redaction error");
}

static void test_buf_variant(void **state)
{
    buf b;
    unsigned kinds;
    const char *in = "x 4111 1111 1111 1111 y";

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "pre:"), BUF_OK);
    assert_int_equal(redact_buf(&b, in, strlen(in), &kinds), REDACT_OK);
    assert_string_equal(b.data, "pre:x [REDACTED:card] y");
    assert_int_equal(kinds, REDACT_KIND_CARD);
    buf_free(&b);

    /* over the cap: the buf is left as it was */
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "pre:"), BUF_OK);
    assert_int_equal(redact_buf(&b, in, strlen(in), &kinds), REDACT_ETOOBIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "pre:");
    assert_int_equal(kinds, 0);
    buf_free(&b);
}

/* opts with key 00 01 .. 1f (the tags below are BLAKE2b-128 under it,
 * cut to 6 hex digits, as Python's hashlib.blake2b gives them). */
static void opts_with_key(struct redact_opts *o, enum redact_mode mode)
{
    redact_opts_default(o);
    o->mode = mode;
    for (size_t i = 0; i < sizeof o->key; i++)
        o->key[i] = (unsigned char)i;
}

static void expect_opt(const struct redact_opts *o, const char *in,
                       const char *want, unsigned want_kinds)
{
    char out[512], again[512];
    size_t n = 0, n2 = 0;
    unsigned k = 0, k2 = 0;

    assert_int_equal(redact_opt(o, in, strlen(in), out, sizeof out, &n, &k),
                     REDACT_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(k, want_kinds);
    /* a fixed point under the same options */
    assert_int_equal(redact_opt(o, out, n, again, sizeof again, &n2, &k2),
                     REDACT_OK);
    assert_string_equal(again, out);
    assert_int_equal(k2, 0);
}

/* hash mode: the same value gives the same tag, two values differ, and the
 * tag does not hold the value; another key gives other tags. */
static void test_hash_mode(void **state)
{
    struct redact_opts o;

    (void)state;
    opts_with_key(&o, REDACT_MODE_HASH);
    expect_opt(&o, "agent alice@example.com and bob@example.com, again "
                   "alice@example.com",
               "agent [email#5e6c9d] and [email#54d3cb], again "
               "[email#5e6c9d]",
               REDACT_KIND_EMAIL);
    expect_opt(&o, "password=s3cretpassw0rd", "password=[api_key#fc4b17]",
               REDACT_KIND_API_KEY);
    /* the tag is of the value alone: the same secret, another kind */
    expect_opt(&o, "https://u:s3cretpassw0rd@db.example.com/x",
               "https://u:[password#fc4b17]@db.example.com/x",
               REDACT_KIND_PASSWORD);
    expect_opt(&o, "card 4111111111111111", "card [card#7b4975]",
               REDACT_KIND_CARD);
    expect_opt(&o, "call +1 415 555 2671 now", "call [phone#38b599] now",
               REDACT_KIND_PHONE);
    /* a tag in quotes is not a secret's value (fixed point) */
    expect_opt(&o, "\"password\": \"[api_key#fc4b17]\"",
               "\"password\": \"[api_key#fc4b17]\"", 0);
    expect_opt(&o, "token=\"[email#5e6c9d] x\"", "token=\"[email#5e6c9d] x\"",
               0);
    /* something like a tag that is not one is a value like any other */
    expect_opt(&o, "\"password\": \"[email#5e6c9]\"",
               "\"password\": \"[api_key#9703a7]\"", REDACT_KIND_API_KEY);
    /* the longest replacement fits REDACT_TOKEN_MAX exactly */
    assert_int_equal(strlen("[REDACTED:password]"), REDACT_TOKEN_MAX);
    assert_true(strlen("[password#fc4b17]") < REDACT_TOKEN_MAX);
    o.key[0] ^= 1;
    {
        char out[128];
        const char *in = "alice@example.com";

        assert_int_equal(redact_opt(&o, in, strlen(in), out, sizeof out,
                                    NULL, NULL),
                         REDACT_OK);
        assert_string_not_equal(out, "[email#5e6c9d]");
        assert_int_equal(strlen(out), strlen("[email#5e6c9d]"));
    }
}

/* mask mode is the old behaviour; off copies; kinds limits what is
 * replaced. */
static void test_mask_off_and_kinds(void **state)
{
    struct redact_opts o;

    (void)state;
    opts_with_key(&o, REDACT_MODE_MASK);
    expect_opt(&o, "alice@example.com bob@example.com",
               "[REDACTED:email] [REDACTED:email]", REDACT_KIND_EMAIL);
    opts_with_key(&o, REDACT_MODE_OFF);
    expect_opt(&o, "alice@example.com 4111111111111111 password=hunter22",
               "alice@example.com 4111111111111111 password=hunter22", 0);
    opts_with_key(&o, REDACT_MODE_MASK);
    o.kinds = REDACT_KIND_CARD | REDACT_KIND_API_KEY;
    expect_opt(&o, "alice@example.com 4111111111111111 +1 415 555 2671",
               "alice@example.com [REDACTED:card] +1 415 555 2671",
               REDACT_KIND_CARD);
    assert_int_equal(redact_kind_parse("email"), REDACT_KIND_EMAIL);
    assert_int_equal(redact_kind_parse("password"), REDACT_KIND_PASSWORD);
    assert_int_equal(redact_kind_parse("Email"), 0);
    assert_int_equal(redact_kind_parse(NULL), 0);
    assert_string_equal(redact_mode_names[REDACT_MODE_HASH], "hash");
}

/* keep: a number that is one of the alert's fields is not a card or a
 * phone; the same digits in other text still are. */
static void test_keep_field_numbers(void **state)
{
    static const char *const keep[] = {"4111111111111111", "300"};
    struct redact_opts o;

    (void)state;
    opts_with_key(&o, REDACT_MODE_MASK);
    o.keep = keep;
    o.nkeep = 2;
    expect_opt(&o, "a call returned 4111111111111111 bytes (threshold "
                   "1000000 bytes)",
               "a call returned 4111111111111111 bytes (threshold 1000000 "
               "bytes)", 0);
    /* grouped digits are other text: still a card */
    expect_opt(&o, "card 4111 1111 1111 1111", "card [REDACTED:card]",
               REDACT_KIND_CARD);
    /* keep never spares an e-mail or a secret */
    static const char *const keep2[] = {"bob@example.com"};
    o.keep = keep2;
    o.nkeep = 1;
    expect_opt(&o, "bob@example.com", "[REDACTED:email]", REDACT_KIND_EMAIL);
}

/* Each document field's mode: its own, else opts.mode; metadata members
 * by name, else the "metadata" field's. */
static void test_field_modes(void **state)
{
    struct redact_opts o;

    (void)state;
    redact_opts_default(&o);
    assert_int_equal(redact_field_mode(&o, "agent_id"), REDACT_MODE_MASK);
    assert_int_equal(redact_field_mode(&o, "summary"), REDACT_MODE_MASK);
    assert_int_equal(redact_field_mode(&o, "metadata.team"),
                     REDACT_MODE_MASK);
    assert_int_equal(redact_field_mode(&o, NULL), REDACT_MODE_MASK);
    assert_false(redact_opts_need_key(&o));
    o.mode = REDACT_MODE_OFF;
    o.field[REDACT_F_AGENT_ID] = REDACT_MODE_HASH;
    o.field[REDACT_F_METADATA] = REDACT_MODE_MASK;
    o.nmeta = 1;
    snprintf(o.meta_name[0], sizeof o.meta_name[0], "team");
    o.meta_mode[0] = REDACT_MODE_OFF;
    assert_int_equal(redact_field_mode(&o, "agent_id"), REDACT_MODE_HASH);
    assert_int_equal(redact_field_mode(&o, "session_id"), REDACT_MODE_OFF);
    assert_int_equal(redact_field_mode(&o, "metadata.team"), REDACT_MODE_OFF);
    assert_int_equal(redact_field_mode(&o, "metadata.owner"),
                     REDACT_MODE_MASK);
    assert_int_equal(redact_field_mode(&o, "metadata"), REDACT_MODE_OFF);
    assert_int_equal(redact_field_mode(&o, "rule"), REDACT_MODE_OFF);
    assert_int_equal(redact_field_mode(&o, "agent_idx"), REDACT_MODE_OFF);
    assert_true(redact_opts_need_key(&o));
    redact_opts_without_hash(&o);
    assert_int_equal(redact_field_mode(&o, "agent_id"), REDACT_MODE_MASK);
    assert_false(redact_opts_need_key(&o));
    o.meta_mode[0] = REDACT_MODE_HASH;
    assert_true(redact_opts_need_key(&o));

    assert_int_equal(redact_field_parse("tool_name"), REDACT_F_TOOL_NAME);
    assert_int_equal(redact_field_parse("summary"), REDACT_F_SUMMARY);
    assert_int_equal(redact_field_parse("error_message"), -1);
    assert_int_equal(redact_field_parse(NULL), -1);
    assert_null(redact_field_names[REDACT_F_COUNT]);
}

/* opts.same: a listed match takes its listed mode whatever opts.mode
 * says; the rest follows opts.mode. */
static void test_same_list(void **state)
{
    static const char alice[] = "alice@example.com";
    static const char card[] = "4111111111111111";
    struct redact_same same[2] = {
        {alice, sizeof alice - 1, REDACT_MODE_HASH},
        {card, sizeof card - 1, REDACT_MODE_OFF},
    };
    struct redact_opts o;

    (void)state;
    opts_with_key(&o, REDACT_MODE_MASK);
    o.same = same;
    o.nsame = 2;
    expect_opt(&o, "agent alice@example.com, not bob@example.com",
               "agent [email#5e6c9d], not [REDACTED:email]",
               REDACT_KIND_EMAIL);
    /* listed as off: left as it is; another card is masked */
    expect_opt(&o, "4111111111111111 and 5555555555554444",
               "4111111111111111 and [REDACTED:card]", REDACT_KIND_CARD);
    /* opts.mode off: only the listed match is replaced */
    o.mode = REDACT_MODE_OFF;
    expect_opt(&o, "alice@example.com bob@example.com",
               "[email#5e6c9d] bob@example.com", REDACT_KIND_EMAIL);
    /* kinds still rule: a kind not replaced stays, listed or not */
    o.mode = REDACT_MODE_MASK;
    o.kinds = REDACT_KIND_CARD;
    expect_opt(&o, "alice@example.com", "alice@example.com", 0);
}

/* redact_spans: what mask mode would replace, nothing written. */
static void test_spans(void **state)
{
    static const char *const keep[] = {"4111111111111111"};
    const char *in = "a@example.com 4111111111111111 5555555555554444";
    struct redact_span sp[1];
    struct redact_opts o;

    (void)state;
    redact_opts_default(&o);
    o.mode = REDACT_MODE_OFF; /* ignored: spans are mask mode's */
    o.keep = keep;
    o.nkeep = 1;
    assert_int_equal(redact_spans(&o, in, strlen(in), sp, 1), 2);
    assert_int_equal(sp[0].start, 0);
    assert_int_equal(sp[0].len, 13);
    assert_int_equal(sp[0].kind, REDACT_KIND_EMAIL);
    assert_int_equal(redact_spans(&o, in, strlen(in), NULL, 0), 2);
    assert_int_equal(redact_spans(NULL, in, strlen(in), NULL, 0), 3);
    assert_int_equal(redact_spans(NULL, "plain text 12", 13, sp, 1), 0);
    assert_int_equal(redact_spans(NULL, NULL, 0, sp, 1), 0);
}

/* Inputs that would be quadratic for a naive scanner finish quickly. */
static void test_linear(void **state)
{
    static const char *units[] = {
        "a.", "eyJa-", "a@", "x://a:", "k=", "1 ", "+1 ", "sk-a-",
        "\"token\":\"", "a.a@b-", "1-", "Bearer ", "x://a:b", "@a.", "(2",
        "Bearer a ", "a_password=", "AKIA", "ghp_a-", "whsec_=", "0 1",
    };
    size_t len = 200000;
    char *in = malloc(len), *out = malloc(len * 5 + 64);

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t ul = strlen(units[u]);
        clock_t t0 = clock();
        for (size_t i = 0; i < len; i++)
            in[i] = units[u][i % ul];
        assert_true(redact(in, len, out, len * 5 + 64, NULL, NULL) ==
                    REDACT_OK);
        /* generous: a quadratic scan would take minutes */
        if ((double)(clock() - t0) / CLOCKS_PER_SEC >= 2.0)
            fail_msg("slow on \"%s\" repeated", units[u]);
    }
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_exactly_full),
        cmocka_unit_test(test_utf8_cut),
        cmocka_unit_test(test_invalid_utf8_and_nul),
        cmocka_unit_test(test_empty_and_args),
        cmocka_unit_test(test_buf_variant),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_hash_mode),
        cmocka_unit_test(test_mask_off_and_kinds),
        cmocka_unit_test(test_keep_field_numbers),
        cmocka_unit_test(test_field_modes),
        cmocka_unit_test(test_same_list),
        cmocka_unit_test(test_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
