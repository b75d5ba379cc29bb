/*
 * redact.c - hand-written scanners for personal data and credentials.
 *
 * One left-to-right pass.  A cursor `i` walks the input; at a few trigger
 * bytes a scanner looks around i and may report a match [ms, me) (ms may
 * lie before i: an e-mail's local part is found backwards from '@').  The
 * text between matches is copied lazily: `lit` is the first byte not yet
 * written, so a backward scan may reach back to `lit` but never past it.
 *
 * Triggers:
 *   a word start (alphanumeric after a non-word byte): "Bearer", API key
 *       prefixes and JWTs, and at a digit the number scanners (SSN, North
 *       American phone, card, national phone);
 *   '@' e-mail;  ':' URL password and assignments;  '=' assignments;
 *   '+' international phone;  '(' "(415) 555-2671".
 *
 * Invariants:
 *  - Linear time.  Lookahead of the number scanners is bounded by a
 *    constant (at most 20 groups of at most 20 digits); every unbounded
 *    forward scan either ends in a match (and the cursor jumps past it) or
 *    covers text that no later scan of the same kind covers again (e-mail
 *    domains stop at '@', URL userinfo at '/', and a failed JWT or API
 *    key records where its run ended in `jwt_fail` / `key_fail`).
 *    Backward scans stop at `lit` (an e-mail's local part is bounded by
 *    the previous '@'), or after at most 128 bytes.
 *  - Fixed point: the replacements begin with '[' and end with ']', bytes
 *    no scanner accepts inside a match, and every scanner treats "the
 *    previous byte was the end of a match" exactly like a ']' (prevc()), so
 *    a second pass over the output finds nothing new.
 *  - Only ASCII is ever matched; other bytes are copied unchanged.
 *  - The emitter never writes more than the caller allows, never writes a
 *    partial replacement and never cuts a UTF-8 sequence.
 */
#include "alerts/redact.h"

#include "model/event.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

typedef unsigned char u8;

_Static_assert(REDACT_META_MAX == EVENT_META_MAX &&
                   REDACT_META_NAME_MAX == EVENT_META_NAME_MAX,
               "metadata members: model/event.h's limits");

/* How the end of a replacement looks to the scanners (see prevc()). */
#define EDGE ']'

/* Longest identifier examined before '=' or ':'. */
#define NAME_MAX_LEN 64
/* Number scanners look at this many digit groups at most... */
#define MAX_GROUPS 20
/* ...each of at most this many digits (a longer run is never a match). */
#define MAX_GROUP_DIGITS 19

static const char marker[] = "[REDACTED:";
#define MARKER_LEN (sizeof(marker) - 1)

/* ---- character classes -------------------------------------------------- */

static int is_digit(u8 c) { return c >= '0' && c <= '9'; }
static int is_upper(u8 c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(u8 c) { return c >= 'a' && c <= 'z'; }
static int is_alpha(u8 c) { return is_upper(c) || is_lower(c); }
static int is_alnum(u8 c) { return is_digit(c) || is_alpha(c); }
static int is_word(u8 c) { return is_alnum(c) || c == '_'; }
static u8 to_lower(u8 c) { return is_upper(c) ? (u8)(c + 32) : c; }

/* e-mail local part (the usual subset of RFC 5322 atext, plus '.') */
static int is_local(u8 c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
           c == '-';
}

/* identifier before '=' or ':' */
static int is_ident(u8 c)
{
    return is_alnum(c) || c == '_' || c == '-' || c == '.';
}

/* RFC 6750 b64token, without the trailing '=' */
static int is_b64token(u8 c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
           c == '+' || c == '/';
}

static int is_b64url(u8 c) { return is_alnum(c) || c == '-' || c == '_'; }

/* unquoted assignment value */
static int is_value(u8 c)
{
    if (c <= 0x20 || c == 0x7f)
        return 0;
    switch (c) {
    case '"': case '\'': case '`': case ',': case ';': case '&':
    case '(': case ')': case '[': case ']': case '{': case '}':
    case '<': case '>': case '\\':
        return 0;
    default:
        return 1;
    }
}

/* URL userinfo (RFC 3986 unreserved, sub-delims and '%') */
static int is_userinfo(u8 c)
{
    if (is_alnum(c))
        return 1;
    return c != 0 && strchr("-._~!$&'()*+,;=%", c) != NULL;
}


/* ---- output ------------------------------------------------------------- */

struct emit {
    char *out;   /* fixed mode: destination */
    size_t cap;  /* fixed mode: text bytes available (out_size - 1) */
    size_t pos;  /* fixed mode: bytes written */
    buf *b;      /* buf mode */
    int rc;      /* sticky REDACT_ETRUNC / REDACT_ENOMEM / REDACT_ETOOBIG */
    unsigned kinds;
};

/* Append p[0..n).  `whole`: all or nothing (replacement tokens). */
static void put(struct emit *em, const u8 *p, size_t n, int whole)
{
    size_t k, back;

    if (em->rc != REDACT_OK || n == 0 || (em->b == NULL && em->out == NULL))
        return; /* a sticky error, nothing, or collect mode */
    if (em->b != NULL) {
        int r = buf_append(em->b, p, n);
        if (r == BUF_ENOMEM)
            em->rc = REDACT_ENOMEM;
        else if (r != BUF_OK)
            em->rc = REDACT_ETOOBIG;
        return;
    }
    if (n <= em->cap - em->pos) {
        memcpy(em->out + em->pos, p, n);
        em->pos += n;
        return;
    }
    em->rc = REDACT_ETRUNC;
    if (whole)
        return;
    /* p[k] is the first byte left out.  If it continues a UTF-8 sequence,
     * leave out the whole sequence: back up to its lead byte (at most 3
     * bytes; further back it is not UTF-8 and is cut anywhere). */
    k = em->cap - em->pos;
    back = k;
    while (back > 0 && k - back < 3 && (p[back] & 0xC0) == 0x80)
        back--;
    if ((p[back] & 0xC0) != 0x80 && (p[back] & 0x80) != 0)
        k = back;
    memcpy(em->out + em->pos, p, k);
    em->pos += k;
}

/* ---- scanner state ------------------------------------------------------ */

#define N_KEY_SHAPES 26 /* entries in key_shapes[] */

struct scan {
    const struct redact_opts *o;
    const u8 *in;
    size_t len;
    size_t lit;      /* first input byte not yet written */
    size_t last_end; /* end of the last match; SIZE_MAX before the first */
    size_t jwt_fail; /* a JWT starting before this offset cannot match */
    size_t key_fail[N_KEY_SHAPES]; /* the same, per key shape */
    struct emit em;
    struct redact_span *spans; /* collect mode (redact_spans): matches */
    size_t max_spans, nspans;
};

struct match {
    size_t s, e;
    unsigned kind;
};

/* The byte before i as a second pass would see it: the end of a
 * replacement (']') when a match ended at i, a boundary at the start. */
static u8 prevc(const struct scan *s, size_t i)
{
    if (i == 0 || i == s->last_end)
        return EDGE;
    return s->in[i - 1];
}

static const char *const kind_text[] = {
    "email", "phone", "ssn", "card", "token", "api_key", "password",
};

#define N_KINDS (sizeof(kind_text) / sizeof(kind_text[0]))

static int is_hex(u8 c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

/* Does a replacement start at in[at]: "[REDACTED:..." (mask) or
 * "[email#3f2a91]" (hash)? */
static int has_marker(const struct scan *s, size_t at)
{
    const u8 *in = s->in + at;
    size_t left = s->len - at;

    if (left >= MARKER_LEN && memcmp(in, marker, MARKER_LEN) == 0)
        return 1;
    for (size_t k = 0; k < N_KINDS; k++) {
        size_t n = strlen(kind_text[k]), h;

        if (left < n + REDACT_HASH_HEX + 3 || in[0] != '[' ||
            memcmp(in + 1, kind_text[k], n) != 0 || in[n + 1] != '#')
            continue;
        for (h = 0; h < REDACT_HASH_HEX && is_hex(in[n + 2 + h]); h++)
            ;
        if (h == REDACT_HASH_HEX && in[n + 2 + h] == ']')
            return 1;
    }
    return 0;
}

static int found(struct match *m, size_t ms, size_t me, unsigned kind)
{
    m->s = ms;
    m->e = me;
    m->kind = kind;
    return 1;
}

/* ---- Bearer ------------------------------------------------------------- */

/* "Bearer" (any case) + 1..8 spaces/tabs + b64token.  A token of fewer than
 * 8 letters only ("bearer of") is not a credential. */
static int try_bearer(const struct scan *s, size_t i, struct match *m)
{
    static const char word[] = "bearer";
    const u8 *in = s->in;
    size_t p = i + 6, t, sp = 0;
    int nonletter = 0;

    if (s->len - i < 8)
        return 0;
    for (size_t k = 0; k < 6; k++) {
        if (to_lower(in[i + k]) != (u8)word[k])
            return 0;
    }
    while (p < s->len && (in[p] == ' ' || in[p] == '\t') && sp < 8) {
        p++;
        sp++;
    }
    if (sp == 0)
        return 0;
    for (t = p; t < s->len && is_b64token(in[t]); t++) {
        if (!is_alpha(in[t]))
            nonletter = 1;
    }
    while (t < s->len && in[t] == '=') {
        t++;
        nonletter = 1;
    }
    if (t == p || (t - p < 8 && !nonletter))
        return 0;
    return found(m, p, t, REDACT_KIND_TOKEN);
}

/* ---- API keys ----------------------------------------------------------- */

enum { SET_ALNUM = 1, SET_DASH = 2, SET_UNDER = 4, SET_B64 = 8,
       SET_UPPER_DIGIT = 16 };

struct key_shape {
    const char *prefix;
    unsigned char min;  /* characters after the prefix */
    unsigned char max;  /* 0: no limit */
    unsigned char set;
    unsigned char need_digit;
};

static const struct key_shape key_shapes[] = {
    { "sk_live_", 10, 0, SET_ALNUM, 0 },
    { "sk_test_", 10, 0, SET_ALNUM, 0 },
    { "pk_live_", 10, 0, SET_ALNUM, 0 },
    { "pk_test_", 10, 0, SET_ALNUM, 0 },
    { "rk_live_", 10, 0, SET_ALNUM, 0 },
    { "rk_test_", 10, 0, SET_ALNUM, 0 },
    { "sk-", 20, 0, SET_ALNUM | SET_DASH | SET_UNDER, 1 },
    { "AKIA", 16, 16, SET_UPPER_DIGIT, 0 },
    { "ASIA", 16, 16, SET_UPPER_DIGIT, 0 },
    { "ghp_", 30, 0, SET_ALNUM, 0 },
    { "gho_", 30, 0, SET_ALNUM, 0 },
    { "ghu_", 30, 0, SET_ALNUM, 0 },
    { "ghs_", 30, 0, SET_ALNUM, 0 },
    { "ghr_", 30, 0, SET_ALNUM, 0 },
    { "github_pat_", 22, 0, SET_ALNUM | SET_UNDER, 0 },
    { "xoxb-", 10, 0, SET_ALNUM | SET_DASH, 0 },
    { "xoxa-", 10, 0, SET_ALNUM | SET_DASH, 0 },
    { "xoxp-", 10, 0, SET_ALNUM | SET_DASH, 0 },
    { "xoxr-", 10, 0, SET_ALNUM | SET_DASH, 0 },
    { "xoxs-", 10, 0, SET_ALNUM | SET_DASH, 0 },
    { "xoxe-", 10, 0, SET_ALNUM | SET_DASH, 0 },
    { "AIza", 30, 0, SET_ALNUM | SET_DASH | SET_UNDER, 0 },
    { "whsec_", 16, 0, SET_ALNUM | SET_B64, 0 },
    { "glpat-", 20, 0, SET_ALNUM | SET_DASH | SET_UNDER, 0 },
    { "hf_", 30, 0, SET_ALNUM, 0 },
    { "npm_", 30, 0, SET_ALNUM, 0 },
};

_Static_assert(sizeof(key_shapes) / sizeof(key_shapes[0]) == N_KEY_SHAPES,
               "N_KEY_SHAPES");

static int in_set(u8 c, unsigned set)
{
    return ((set & SET_ALNUM) && is_alnum(c)) ||
           ((set & SET_DASH) && c == '-') ||
           ((set & SET_UNDER) && c == '_') ||
           ((set & SET_B64) && (c == '+' || c == '/' || c == '=')) ||
           ((set & SET_UPPER_DIGIT) && (is_upper(c) || is_digit(c)));
}

/* eyJ<b64url>.eyJ<b64url>.<b64url>  (header and payload are JSON
 * objects, so both start with "eyJ"; the signature may be empty). */
static int try_jwt(struct scan *s, size_t i, struct match *m)
{
    const u8 *in = s->in;
    size_t p, a;

    if (i < s->jwt_fail || s->len - i < 3 || memcmp(in + i, "eyJ", 3) != 0)
        return 0;
    for (p = i + 3; p < s->len && is_b64url(in[p]); p++)
        ;
    a = p;
    if (p == i + 3 || p + 4 > s->len || in[p] != '.' ||
        memcmp(in + p + 1, "eyJ", 3) != 0) {
        /* any JWT starting inside this first segment fails the same way */
        s->jwt_fail = a;
        return 0;
    }
    for (p = p + 4; p < s->len && is_b64url(in[p]); p++)
        ;
    if (p == a + 4 || p >= s->len || in[p] != '.') {
        s->jwt_fail = a;
        return 0;
    }
    for (p++; p < s->len && is_b64url(in[p]); p++)
        ;
    return found(m, i, p, REDACT_KIND_API_KEY);
}

static int try_key(struct scan *s, size_t i, struct match *m)
{
    const u8 *in = s->in;

    if (try_jwt(s, i, m))
        return 1;
    for (size_t k = 0; k < N_KEY_SHAPES; k++) {
        const struct key_shape *ks = &key_shapes[k];
        size_t plen = strlen(ks->prefix), p, n = 0;
        int digit = 0;

        if (i < s->key_fail[k] || s->len - i < plen ||
            memcmp(in + i, ks->prefix, plen) != 0)
            continue;
        for (p = i + plen; p < s->len && in_set(in[p], ks->set); p++) {
            n++;
            if (is_digit(in[p]))
                digit = 1;
            if (ks->max != 0 && n > ks->max)
                break;
        }
        if (n < ks->min || (ks->max != 0 && n > ks->max) ||
            (ks->need_digit && !digit)) {
            /* the same shape starting later inside this run sees a
             * shorter run with fewer digits: it fails too */
            s->key_fail[k] = p;
            continue;
        }
        /* An exact-length shape (AKIA + 16) must not run on into a
         * word.  The others end where their alphabet ends, even at a '_':
         * rejecting there would not be stable, as a later match may start
         * inside a run that contains '-', '=' or '/'. */
        if (ks->max != 0 && p < s->len && is_word(in[p])) {
            s->key_fail[k] = p;
            continue;
        }
        return found(m, i, p, REDACT_KIND_API_KEY);
    }
    return 0;
}

/* ---- e-mail ------------------------------------------------------------- */

static int try_email(const struct scan *s, size_t i, struct match *m)
{
    const u8 *in = s->in;
    size_t j = i, p, e = 0, labels = 0;
    int tld_ok = 0;

    while (j > s->lit && is_local(in[j - 1]))
        j--;
    while (j < i && in[j] == '.')
        j++;
    if (j == i)
        return 0;
    p = i + 1;
    while (p < s->len && is_alnum(in[p])) {
        size_t ls = p, le;
        while (p < s->len && (is_alnum(in[p]) || in[p] == '-'))
            p++;
        le = p;
        while (in[le - 1] == '-')
            le--;
        labels++;
        tld_ok = le - ls >= 2;
        for (size_t k = ls; k < le && tld_ok; k++)
            tld_ok = is_alpha(in[k]);
        e = le;
        /* A domain that runs on into a later match ("a@b.com.eyJ..",
         * "a@b.com-4111..") is rejected here as in a second pass, where the
         * match has become "[REDACTED:...]": so ".[" and "-[" reject. */
        if (p + 1 < s->len && in[p] == '.' && in[p + 1] == '[')
            return 0;
        if (le != p) {
            if (p < s->len && in[p] == '[')
                return 0;
            break; /* a label ending in '-': the address ends before it */
        }
        if (p + 1 < s->len && in[p] == '.' && is_alnum(in[p + 1]))
            p++;
        else
            break;
    }
    if (labels < 2 || !tld_ok)
        return 0;
    return found(m, j, e, REDACT_KIND_EMAIL);
}

/* ---- URL password: scheme://user:PASSWORD@host -------------------------- */

/* At the ':' of "user:". */
static int try_userinfo(const struct scan *s, size_t i, struct match *m)
{
    const u8 *in = s->in;
    size_t j = i, p, at = 0;

    while (j > s->lit && is_userinfo(in[j - 1]) && i - j < 128)
        j--;
    /* "<alpha>://" right before the user name, all not yet written */
    if (j < s->lit + 4 || memcmp(in + j - 3, "://", 3) != 0 ||
        !is_alpha(in[j - 4]))
        return 0;
    /* The password runs to the last '@' of the userinfo (an unencoded
     * '@' in a password is common).  The scan stops at anything else,
     * notably '[' (an IPv6 host, or a replacement in a second pass: a
     * failed scan must not have crossed text that a later match
     * replaces). */
    for (p = i + 1; p < s->len &&
                    (is_userinfo(in[p]) || in[p] == ':' || in[p] == '@');
         p++) {
        if (in[p] == '@')
            at = p;
    }
    if (at <= i + 1 || has_marker(s, i + 1))
        return 0;
    return found(m, i + 1, at, REDACT_KIND_PASSWORD);
}

/* ---- assignments: password=..., "api_key": "..." ------------------------ */

static const char *const secret_words[] = {
    "password", "passwd", "pwd", "passphrase", "secret", "credential",
    "credentials", "token", "key", "apikey",
};

static int try_assign(const struct scan *s, size_t i, struct match *m)
{
    const u8 *in = s->in;
    size_t j = i, name_end, k, wlen, v, vs, ve, sp = 0, min = 1;
    char word[16];
    int known = 0, multi;

    while (j > s->lit && (in[j - 1] == ' ' || in[j - 1] == '\t') && sp < 8) {
        j--;
        sp++;
    }
    if (j > s->lit && (in[j - 1] == '"' || in[j - 1] == '\''))
        j--;
    name_end = j;
    while (j > s->lit && is_ident(in[j - 1]) && name_end - j < NAME_MAX_LEN)
        j--;
    if (j == name_end)
        return 0;
    /* "[REDACTED:api_key:3f2a91c0]": a hash-mode tag, not an assignment */
    if (j >= MARKER_LEN && memcmp(in + j - MARKER_LEN, marker, MARKER_LEN) == 0)
        return 0;
    /* the last word: split at non-alphanumerics, "aB" and "ABc" */
    for (k = name_end; k > j; k--) {
        u8 c = in[k - 1];
        if (!is_alnum(c))
            break;
        if (k - 1 > j && is_upper(c) &&
            (is_lower(in[k - 2]) ||
             (k < name_end && is_lower(in[k]) && is_upper(in[k - 2])))) {
            k--;
            break;
        }
    }
    wlen = name_end - k;
    if (wlen == 0 || wlen >= sizeof(word))
        return 0;
    for (size_t n = 0; n < wlen; n++)
        word[n] = (char)to_lower(in[k + n]);
    word[wlen] = '\0';
    for (size_t n = 0; n < sizeof(secret_words) / sizeof(secret_words[0]);
         n++) {
        if (strcmp(word, secret_words[n]) == 0)
            known = 1;
    }
    if (!known)
        return 0;
    multi = k > j;
    if (in[i] == ':') {
        if (strcmp(word, "key") == 0 && !multi)
            return 0;
        if (strcmp(word, "key") == 0 || strcmp(word, "token") == 0 ||
            strcmp(word, "apikey") == 0)
            min = 6;
    }

    v = i + 1;
    sp = 0;
    while (v < s->len && (in[v] == ' ' || in[v] == '\t') && sp < 8) {
        v++;
        sp++;
    }
    if (v < s->len && (in[v] == '"' || in[v] == '\'')) {
        u8 q = in[v];
        vs = ve = v + 1;
        if (has_marker(s, vs))
            return 0;
        while (ve < s->len && in[ve] != q && in[ve] != '\n' &&
               in[ve] != '\r') {
            if (in[ve] == '\\' && ve + 1 < s->len && in[ve + 1] != '\n' &&
                in[ve + 1] != '\r')
                ve++;
            ve++;
        }
    } else {
        vs = ve = v;
        if (v < s->len && in[v] == '=')
            return 0; /* "token == x" */
        while (ve < s->len && is_value(in[ve]))
            ve++;
    }
    if (ve - vs < min)
        return 0;
    return found(m, vs, ve, REDACT_KIND_API_KEY);
}

/* ---- numbers ------------------------------------------------------------ */

struct group {
    size_t s, e; /* digits [s, e) */
    u8 sep;      /* the byte before s (0 for the first group) */
};

/* Digit groups from i joined by one ' ', '-' or '.'.  A group longer than
 * MAX_GROUP_DIGITS ends the list (it is recorded, one digit too long). */
static size_t number_groups(const struct scan *s, size_t i, struct group *g)
{
    const u8 *in = s->in;
    size_t n = 0, p = i;
    u8 sep = 0;

    while (n < MAX_GROUPS) {
        size_t e = p;
        while (e < s->len && is_digit(in[e]) && e - p <= MAX_GROUP_DIGITS)
            e++;
        g[n].s = p;
        g[n].e = e;
        g[n].sep = sep;
        n++;
        if (e - p > MAX_GROUP_DIGITS)
            break;
        if (e + 1 < s->len && (in[e] == ' ' || in[e] == '-' || in[e] == '.') &&
            is_digit(in[e + 1])) {
            sep = in[e];
            p = e + 1;
        } else {
            break;
        }
    }
    return n;
}

static size_t glen(const struct group *g) { return g->e - g->s; }

/* A digit, or what a later match starting at a digit looks like in a
 * second pass (its replacement's '[').  Lookahead rules that reject "x
 * followed by a digit" must reject "x followed by '['" too, or a second
 * pass would accept what the first rejected. */
static int digitish(u8 c) { return is_digit(c) || c == '['; }

/* May a number end at e? Not inside a word, an address, a decimal, a time
 * or a thousands-separated number. */
static int right_ok(const struct scan *s, size_t e)
{
    u8 c;

    if (e >= s->len)
        return 1;
    c = s->in[e];
    if (is_word(c) || c == '@')
        return 0;
    if ((c == '.' || c == ':' || c == ',') && e + 1 < s->len &&
        digitish(s->in[e + 1]))
        return 0;
    return 1;
}

static unsigned digits_value(const u8 *p, size_t n)
{
    unsigned v = 0;

    for (size_t k = 0; k < n; k++)
        v = v * 10 + (unsigned)(p[k] - '0');
    return v;
}

static int ssn_at(const struct scan *s, size_t i, const struct group *g,
                  size_t n, size_t *end)
{
    const u8 *in = s->in;
    unsigned area, grp, serial;
    size_t e;

    if (n < 3 || glen(&g[0]) != 3 || g[1].sep != '-' || glen(&g[1]) != 2 ||
        g[2].sep != '-' || glen(&g[2]) != 4 || prevc(s, i) == '-')
        return 0;
    e = g[2].e;
    if (!right_ok(s, e) ||
        (e + 1 < s->len && in[e] == '-' && digitish(in[e + 1])))
        return 0;
    area = digits_value(in + g[0].s, 3);
    grp = digits_value(in + g[1].s, 2);
    serial = digits_value(in + g[2].s, 4);
    if (area == 0 || area == 666 || area >= 900 || grp == 0 || serial == 0)
        return 0;
    *end = e;
    return 1;
}

/* [1 ]NXX NXX XXXX with ' ', '-' or '.' (dots only with dots). */
static int nanp_at(const struct scan *s, const struct group *g, size_t n,
                   size_t *end)
{
    const u8 *in = s->in;
    size_t k = 0;
    int dots = 0, others = 0;

    if (n >= 1 && glen(&g[0]) == 1 && in[g[0].s] == '1')
        k = 1;
    if (n < k + 3 || glen(&g[k]) != 3 || glen(&g[k + 1]) != 3 ||
        glen(&g[k + 2]) != 4 || in[g[k].s] < '2' || in[g[k + 1].s] < '2')
        return 0;
    for (size_t x = 1; x <= k + 2; x++) {
        if (g[x].sep == '.')
            dots = 1;
        else
            others = 1;
    }
    if (dots && others)
        return 0;
    if (!right_ok(s, g[k + 2].e))
        return 0;
    *end = g[k + 2].e;
    return 1;
}

static int luhn_ok(const struct scan *s, const struct group *g, size_t n)
{
    unsigned sum = 0, pos = 0;

    for (size_t k = n; k-- > 0;) {
        for (size_t p = g[k].e; p-- > g[k].s; pos++) {
            unsigned d = (unsigned)(s->in[p] - '0');
            if (pos % 2 == 1) {
                d *= 2;
                if (d > 9)
                    d -= 9;
            }
            sum += d;
        }
    }
    return sum % 10 == 0;
}

/* The longest Luhn-valid run of 13..19 digits from g[0], groups joined by
 * ' ' or '-'. */
static int card_at(const struct scan *s, const struct group *g, size_t n,
                   size_t *end)
{
    size_t total = 0, best = 0;

    if (s->in[g[0].s] < '2' || s->in[g[0].s] > '6')
        return 0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && g[k].sep == '.')
            break;
        total += glen(&g[k]);
        if (glen(&g[k]) > MAX_GROUP_DIGITS || total > 19)
            break;
        if (total >= 13 && right_ok(s, g[k].e) && luhn_ok(s, g, k + 1))
            best = g[k].e;
    }
    if (best == 0)
        return 0;
    *end = best;
    return 1;
}

/* National format with a trunk 0: "020 7946 0958", "06 12 34 56 78". */
static int national_at(const struct scan *s, const struct group *g,
                       size_t n, size_t *end)
{
    const u8 *in = s->in;
    size_t total, best = 0, maxd;
    u8 sep;

    if (n < 2 || in[g[0].s] != '0' || glen(&g[0]) < 2 || glen(&g[0]) > 8)
        return 0;
    sep = g[1].sep;
    if (sep != ' ' && sep != '-')
        return 0;
    maxd = in[g[0].s + 1] == '0' ? 15 : 13;
    total = glen(&g[0]);
    for (size_t k = 1; k < n; k++) {
        size_t l = glen(&g[k]);
        if (g[k].sep != sep || l < 2 || l > 8)
            break;
        total += l;
        if (total > maxd)
            break;
        /* ddd-dd-dddd is an SSN's shape, valid or not: never a phone */
        if (k == 2 && sep == '-' && glen(&g[0]) == 3 && glen(&g[1]) == 2 &&
            l == 4)
            continue;
        if (total >= 9 && right_ok(s, g[k].e))
            best = g[k].e;
    }
    if (best == 0)
        return 0;
    *end = best;
    return 1;
}

static int try_number(const struct scan *s, size_t i, struct match *m)
{
    struct group g[MAX_GROUPS];
    size_t n, end;

    if (prevc(s, i) == '.')
        return 0; /* a decimal fraction or a version component */
    n = number_groups(s, i, g);
    if (ssn_at(s, i, g, n, &end))
        return found(m, i, end, REDACT_KIND_SSN);
    if (nanp_at(s, g, n, &end))
        return found(m, i, end, REDACT_KIND_PHONE);
    if (card_at(s, g, n, &end))
        return found(m, i, end, REDACT_KIND_CARD);
    if (national_at(s, g, n, &end))
        return found(m, i, end, REDACT_KIND_PHONE);
    return 0;
}

/* '+' then 9..15 digits: groups joined by at most one ' ', '-' or '.',
 * "(..)" groups of at most 4 digits after the first group.  Like the
 * number scanners, the longest acceptable run of whole groups wins. */
static int try_plus_phone(const struct scan *s, size_t i, struct match *m)
{
    const u8 *in = s->in;
    size_t p = i + 1, total = 0, best = 0, groups = 0;

    if (is_alnum(prevc(s, i)))
        return 0;
    while (p < s->len) {
        size_t q = p, d;
        if (is_digit(in[p])) {
            while (q < s->len && is_digit(in[q]) && q - p <= 15)
                q++;
            d = q - p;
        } else if (in[p] == '(' && groups > 0) {
            q = p + 1;
            while (q < s->len && is_digit(in[q]) && q - p <= 5)
                q++;
            d = q - p - 1;
            if (d == 0 || d > 4 || q >= s->len || in[q] != ')')
                break;
            q++;
        } else {
            break;
        }
        if (total + d > 15)
            break;
        total += d;
        groups++;
        p = q;
        if (total >= 9 && right_ok(s, q))
            best = q;
        if (p + 1 < s->len && (in[p] == ' ' || in[p] == '-' || in[p] == '.') &&
            (is_digit(in[p + 1]) || in[p + 1] == '('))
            p++;
        else if (p < s->len && in[p] == '(')
            ;
        else if (p < s->len && in[p - 1] == ')' && is_digit(in[p]))
            ;
        else
            break;
    }
    if (best == 0)
        return 0;
    return found(m, i, best, REDACT_KIND_PHONE);
}

/* "(NXX) NXX-XXXX", "(NXX)NXX-XXXX" */
static int try_paren_phone(const struct scan *s, size_t i, struct match *m)
{
    const u8 *in = s->in;
    size_t p = i + 1, q;

    if (is_alnum(prevc(s, i)) || s->len - i < 13)
        return 0;
    for (size_t k = 0; k < 3; k++) {
        if (!is_digit(in[p + k]))
            return 0;
    }
    if (in[p] < '2' || in[p + 3] != ')')
        return 0;
    q = p + 4;
    if (in[q] == ' ')
        q++;
    if (s->len - q < 8)
        return 0;
    for (size_t k = 0; k < 8; k++) {
        if (k == 3) {
            if (in[q + k] != '-' && in[q + k] != ' ' && in[q + k] != '.')
                return 0;
        } else if (!is_digit(in[q + k])) {
            return 0;
        }
    }
    if (in[q] < '2' || !right_ok(s, q + 8))
        return 0;
    return found(m, i, q + 8, REDACT_KIND_PHONE);
}

/* ---- driver ------------------------------------------------------------- */

const char *redact_kind_name(unsigned kind)
{
    for (size_t k = 0; k < N_KINDS; k++) {
        if (kind == 1u << k)
            return kind_text[k];
    }
    return "?";
}

/* Is in[m->s, m->e) one of the caller's field numbers (opts.keep), and
 * the match a number kind? */
static int kept(const struct scan *s, const struct match *m)
{
    size_t n = m->e - m->s;

    if (!(m->kind & (REDACT_KIND_PHONE | REDACT_KIND_SSN | REDACT_KIND_CARD)))
        return 0;
    for (size_t k = 0; k < s->o->nkeep; k++) {
        const char *t = s->o->keep[k];

        if (t != NULL && strlen(t) == n && memcmp(t, s->in + m->s, n) == 0)
            return 1;
    }
    return 0;
}

/* The mode of match m: that of the same text in opts.same, else opts'. */
static enum redact_mode match_mode(const struct scan *s,
                                   const struct match *m)
{
    size_t n = m->e - m->s;

    for (size_t k = 0; k < s->o->nsame; k++) {
        const struct redact_same *e = &s->o->same[k];

        if (e->len == n && memcmp(e->text, s->in + m->s, n) == 0)
            return (enum redact_mode)e->mode;
    }
    return s->o->mode;
}

/* REDACT_HASH_HEX hex digits of BLAKE2b(key, value) into out. */
static size_t hash_tag(const struct scan *s, const struct match *m,
                       char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char h[crypto_generichash_BYTES_MIN];

    crypto_generichash(h, sizeof h, s->in + m->s, m->e - m->s, s->o->key,
                       sizeof s->o->key);
    for (size_t i = 0; i < REDACT_HASH_HEX; i++) {
        unsigned char byte = h[i / 2];
        out[i] = hex[i % 2 == 0 ? byte >> 4 : byte & 15];
    }
    sodium_memzero(h, sizeof h);
    return REDACT_HASH_HEX;
}

/* Replace match m: "[REDACTED:email]" (mask) or "[email#3f2a91]" (hash);
 * in collect mode, record it instead. */
static void emit_match(struct scan *s, const struct match *m,
                       enum redact_mode mode)
{
    char tok[REDACT_TOKEN_MAX + 1];
    const char *name = redact_kind_name(m->kind);
    size_t nlen = strlen(name), n;

    if (s->spans != NULL) {
        if (s->nspans < s->max_spans) {
            s->spans[s->nspans].start = m->s;
            s->spans[s->nspans].len = m->e - m->s;
            s->spans[s->nspans].kind = m->kind;
        }
        s->nspans++;
        s->em.kinds |= m->kind;
    } else {
        put(&s->em, s->in + s->lit, m->s - s->lit, 0);
        if (mode == REDACT_MODE_HASH) {
            tok[0] = '[';
            memcpy(tok + 1, name, nlen);
            tok[1 + nlen] = '#';
            n = 2 + nlen;
            n += hash_tag(s, m, tok + n);
        } else {
            memcpy(tok, marker, MARKER_LEN);
            memcpy(tok + MARKER_LEN, name, nlen);
            n = MARKER_LEN + nlen;
        }
        tok[n++] = ']';
        put(&s->em, (const u8 *)tok, n, 1);
        if (s->em.rc == REDACT_OK)
            s->em.kinds |= m->kind;
    }
    s->lit = m->e;
    s->last_end = m->e;
}

static void run(struct scan *s)
{
    const u8 *in = s->in;
    size_t i = 0;

    if (s->o->mode == REDACT_MODE_OFF && s->o->nsame == 0 &&
        s->spans == NULL) {
        put(&s->em, in, s->len, 0);
        return;
    }
    while (i < s->len && s->em.rc == REDACT_OK) {
        u8 c = in[i];
        struct match m;
        enum redact_mode mode = REDACT_MODE_MASK;
        int hit = 0;

        if (is_alnum(c) && !is_word(prevc(s, i))) {
            hit = (to_lower(c) == 'b' && try_bearer(s, i, &m)) ||
                  try_key(s, i, &m) ||
                  (is_digit(c) && try_number(s, i, &m));
        } else if (c == '@') {
            hit = try_email(s, i, &m);
        } else if (c == ':') {
            hit = try_userinfo(s, i, &m) || try_assign(s, i, &m);
        } else if (c == '=') {
            hit = try_assign(s, i, &m);
        } else if (c == '+') {
            hit = try_plus_phone(s, i, &m);
        } else if (c == '(') {
            hit = try_paren_phone(s, i, &m);
        }
        if (hit && s->spans == NULL)
            mode = match_mode(s, &m);
        if (hit && (!(m.kind & s->o->kinds) || kept(s, &m) ||
                    mode == REDACT_MODE_OFF)) {
            i = m.e > i ? m.e : i + 1; /* left as it is */
        } else if (hit) {
            emit_match(s, &m, mode);
            i = m.e;
        } else {
            i++;
        }
    }
    if (s->lit < s->len)
        put(&s->em, in + s->lit, s->len - s->lit, 0);
}

const char *const redact_mode_names[] = {"mask", "hash", "off", NULL};

const char *const redact_field_names[] = {
    "tool_name", "agent_id", "session_id", "tool_category",
    "downstream_system", "error_code", "record_id", "metadata", "summary",
    NULL};

_Static_assert(sizeof(redact_field_names) / sizeof(redact_field_names[0]) ==
                   REDACT_F_COUNT + 1,
               "redact_field_names");

void redact_opts_default(struct redact_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mode = REDACT_MODE_MASK;
    o->kinds = REDACT_KINDS_ALL;
    memset(o->field, REDACT_FIELD_INHERIT, sizeof o->field);
}

int redact_field_parse(const char *name)
{
    for (int f = 0; name != NULL && f < REDACT_F_COUNT; f++) {
        if (strcmp(name, redact_field_names[f]) == 0)
            return f;
    }
    return -1;
}

static enum redact_mode own_or(const struct redact_opts *o, unsigned m)
{
    return m == REDACT_FIELD_INHERIT ? o->mode : (enum redact_mode)m;
}

enum redact_mode redact_field_mode(const struct redact_opts *o,
                                   const char *name)
{
    static const char meta[] = "metadata.";
    int f;

    if (name == NULL)
        return o->mode;
    if (strncmp(name, meta, sizeof meta - 1) == 0) {
        for (size_t k = 0; k < o->nmeta && k < REDACT_META_MAX; k++) {
            if (strcmp(name + sizeof meta - 1, o->meta_name[k]) == 0)
                return own_or(o, o->meta_mode[k]);
        }
        return own_or(o, o->field[REDACT_F_METADATA]);
    }
    f = redact_field_parse(name);
    if (f < 0 || f == REDACT_F_METADATA)
        return o->mode;
    return own_or(o, o->field[f]);
}

int redact_opts_need_key(const struct redact_opts *o)
{
    int need = o->mode == REDACT_MODE_HASH;

    for (size_t f = 0; f < REDACT_F_COUNT; f++)
        need |= o->field[f] == REDACT_MODE_HASH;
    for (size_t k = 0; k < o->nmeta && k < REDACT_META_MAX; k++)
        need |= o->meta_mode[k] == REDACT_MODE_HASH;
    return need;
}

void redact_opts_without_hash(struct redact_opts *o)
{
    if (o->mode == REDACT_MODE_HASH)
        o->mode = REDACT_MODE_MASK;
    for (size_t f = 0; f < REDACT_F_COUNT; f++)
        if (o->field[f] == REDACT_MODE_HASH)
            o->field[f] = REDACT_MODE_MASK;
    for (size_t k = 0; k < o->nmeta && k < REDACT_META_MAX; k++)
        if (o->meta_mode[k] == REDACT_MODE_HASH)
            o->meta_mode[k] = REDACT_MODE_MASK;
}

unsigned redact_kind_parse(const char *name)
{
    for (size_t k = 0; k < N_KINDS; k++) {
        if (name != NULL && strcmp(name, kind_text[k]) == 0)
            return 1u << k;
    }
    return 0;
}

/* *s ready to scan in[0..len) under o (NULL: the defaults, kept in *d). */
static void scan_init(struct scan *s, const struct redact_opts *o,
                      struct redact_opts *d, const char *in, size_t len)
{
    if (o == NULL) {
        redact_opts_default(d);
        o = d;
    }
    memset(s, 0, sizeof(*s));
    s->o = o;
    s->in = (const u8 *)in;
    s->len = len;
    s->last_end = SIZE_MAX;
}

int redact(const char *in, size_t len, char *out, size_t out_size,
           size_t *out_len, unsigned *kinds_found)
{
    return redact_opt(NULL, in, len, out, out_size, out_len, kinds_found);
}

int redact_buf(buf *b, const char *in, size_t len, unsigned *kinds_found)
{
    return redact_buf_opt(NULL, b, in, len, kinds_found);
}

int redact_opt(const struct redact_opts *o, const char *in, size_t len,
               char *out, size_t out_size, size_t *out_len,
               unsigned *kinds_found)
{
    struct redact_opts d;
    struct scan s;
    int rc;

    if (out_len != NULL)
        *out_len = 0;
    if (kinds_found != NULL)
        *kinds_found = 0;
    if (out == NULL || out_size == 0 || (in == NULL && len > 0)) {
        rc = REDACT_EINVAL;
        goto out;
    }
    scan_init(&s, o, &d, in, len);
    s.em.out = out;
    s.em.cap = out_size - 1;
    run(&s);
    out[s.em.pos] = '\0';
    if (out_len != NULL)
        *out_len = s.em.pos;
    if (kinds_found != NULL)
        *kinds_found = s.em.kinds;
    rc = s.em.rc;
out:
    return rc;
}

int redact_buf_opt(const struct redact_opts *o, buf *b, const char *in,
                   size_t len, unsigned *kinds_found)
{
    struct redact_opts d;
    struct scan s;
    size_t orig;
    int rc;

    if (kinds_found != NULL)
        *kinds_found = 0;
    if (b == NULL || (in == NULL && len > 0)) {
        rc = REDACT_EINVAL;
        goto out;
    }
    orig = b->len;
    scan_init(&s, o, &d, in, len);
    s.em.b = b;
    run(&s);
    rc = s.em.rc;
    if (rc != REDACT_OK) {
        b->len = orig;
        if (b->data != NULL)
            b->data[orig] = '\0';
        goto out;
    }
    if (kinds_found != NULL)
        *kinds_found = s.em.kinds;
out:
    return rc;
}

size_t redact_spans(const struct redact_opts *o, const char *in, size_t len,
                    struct redact_span *spans, size_t max)
{
    struct redact_opts d;
    struct redact_span none;
    struct scan s;

    if (in == NULL)
        return 0;
    scan_init(&s, o, &d, in, len);
    s.spans = spans != NULL ? spans : &none;
    s.max_spans = spans != NULL ? max : 0;
    run(&s);
    return s.nspans;
}

const char *redact_strerror(int rc)
{
    switch (rc) {
    case REDACT_OK: return "ok";
    case REDACT_ETRUNC: return "redacted text truncated";
    case REDACT_EINVAL: return "invalid argument";
    case REDACT_ENOMEM: return "out of memory";
    case REDACT_ETOOBIG: return "redacted text exceeds the buffer cap";
    default: return "unknown redaction error";
    }
}
