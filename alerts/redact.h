/*
 * redact.h - remove personal data and credentials from free text before it
 * leaves the service (alert summaries, error messages, samples).
 *
 * What is replaced, and by what:
 *
 *   e-mail addresses                       [REDACTED:email]
 *   phone numbers                          [REDACTED:phone]
 *   US social security numbers             [REDACTED:ssn]
 *   payment card numbers                   [REDACTED:card]
 *   the credential after "Bearer "         Bearer [REDACTED:token]
 *   API keys of well-known shapes, and
 *   the value of key=/token=/password=...  [REDACTED:api_key]
 *   the password in scheme://user:pw@host  [REDACTED:password]
 *
 * The detectors favour precision on the numbers that fill tool logs: plain
 * digit runs (IDs, Unix timestamps, counters), dates, times, versions, IP
 * addresses and durations are kept.  Exact rules:
 *
 *  - e-mail: local part [A-Za-z0-9._%+-]+ '@' two or more DNS labels, the
 *    last alphabetic and >= 2 letters ("bob@localhost", "u@10.0.0.1" kept).
 *  - phone: "+" then 9..15 digits in groups separated by one ' ', '-' or
 *    '.', with optional "(..)" groups ("+1 (415) 555-2671",
 *    "+49 (0)30 1234567"); North American "415-555-2671", "415.555.2671",
 *    "415 555 2671", "(415) 555-2671", "1-800-555-0199" (area code and
 *    exchange start with 2-9); national numbers with a trunk 0 in >= 2
 *    groups joined by one kind of separator, ' ' or '-', 9..13 digits
 *    ("020 7946 0958", "06 12 34 56 78"; "00" prefix: up to 15).  A digit
 *    run without separators is never a phone number (unless after '+').
 *  - SSN: exactly ddd-dd-dddd, without the never-issued ranges (area 000,
 *    666, 900-999; group 00; serial 0000), not glued to more digits or
 *    dashes.
 *  - card: 13..19 digits, optionally grouped by single spaces or dashes,
 *    first digit 2-6 (the issuer ranges in use; this keeps millisecond and
 *    nanosecond timestamps), Luhn-valid.
 *  - API keys: sk-... (>= 20 characters, with a digit), sk_live_/sk_test_/
 *    pk_live_/pk_test_/rk_live_/rk_test_, AKIA/ASIA + 16, ghp_/gho_/ghu_/
 *    ghs_/ghr_, github_pat_, xoxb-/xoxa-/xoxp-/xoxr-/xoxs-/xoxe-, AIza,
 *    whsec_, glpat-, hf_, npm_, and JWTs (eyJ...'.'eyJ...'.'...).
 *  - assignments: an identifier whose last word (split at '_', '-', '.'
 *    and lower-to-upper case changes) is password, passwd, pwd, secret,
 *    token, key, apikey, credential(s) followed by '=' or ':' (optional
 *    spaces and quotes, JSON style); the value (the quoted text, or up to
 *    a space or one of ,;&()[]{}<>"'`) is replaced.  With ':' a bare "key"
 *    is not enough ("duplicate key: x" is kept) and a token/key value must
 *    have >= 6 characters.
 *
 * Modes (struct redact_opts, the `redact` configuration):
 *
 *   mask   [REDACTED:email], as above (SPEC section 3's form): two values
 *          look alike.
 *   hash   [email#3f2a91]: the kind, '#', then 6 hex digits of a keyed
 *          BLAKE2b of the matched text (the key: per install, secret), so
 *          the same value gives the same tag in every field, alert and
 *          restart, and two values differ (two given values share a tag
 *          once in 16.7 million; among 1,000 values some two share one
 *          with a chance of about 3%), while the value cannot be found
 *          from the tag without the key.
 *   off    the text is copied as it is.
 *
 * opts.mode is the mode of redact_opt()'s text.  An alert document
 * (alerts/document.c) has a mode per field, opts.field[] and
 * opts.meta_*: redact_field_mode() gives it, and the document scans each
 * field's text with opts.mode set to it.  opts.same lists matched texts
 * with the mode they take wherever they occur, whatever opts.mode says
 * (the document lists what it found in its key fields, so an agent's
 * address in the summary gets the group's tag).
 *
 * opts.kinds limits what is replaced (the other kinds stay as they are);
 * opts.keep lists texts that are numbers of the alert's own fields (its
 * value, threshold, window, a field that is only digits): a phone, SSN or
 * card match that is exactly one of them stays, so "4111111111111111
 * bytes" from a payload size is not a card.  redact() and redact_buf()
 * are mask mode, every kind, no keep.
 *
 * Guarantees: linear time in the input; the output never exceeds the
 * caller's bound; scanners only match ASCII, so non-ASCII and invalid
 * UTF-8 bytes pass through unchanged (they act as separators); the output
 * is a fixed point: redacting it again gives the same text.
 *
 * Pure: no I/O, no allocation (except through buf in redact_buf), no
 * global state; safe to call from any thread.
 */
#ifndef TW_REDACT_H
#define TW_REDACT_H

#include "base/buf.h"

#include <stddef.h>

enum {
    REDACT_OK = 0,
    REDACT_ETRUNC = -1, /* output cut to fit (on a UTF-8 boundary) */
    REDACT_EINVAL = -2, /* NULL pointer or out_size == 0 */
    REDACT_ENOMEM = -3, /* redact_buf: allocation failed */
    REDACT_ETOOBIG = -4 /* redact_buf: the buf's cap was reached */
};

/* Bits of *kinds_found. */
enum redact_kind {
    REDACT_KIND_EMAIL = 1u << 0,
    REDACT_KIND_PHONE = 1u << 1,
    REDACT_KIND_SSN = 1u << 2,
    REDACT_KIND_CARD = 1u << 3,
    REDACT_KIND_TOKEN = 1u << 4,
    REDACT_KIND_API_KEY = 1u << 5,
    REDACT_KIND_PASSWORD = 1u << 6
};

#define REDACT_KINDS_ALL 0x7fu

/* Longest replacement text ("[REDACTED:password]"; hash mode's longest,
 * "[password#0123ab]", is shorter). */
#define REDACT_TOKEN_MAX 19
/* Hex digits of the keyed hash in a hash-mode tag. */
#define REDACT_HASH_HEX 6
#define REDACT_KEY_BYTES 32

enum redact_mode {
    REDACT_MODE_MASK = 0,
    REDACT_MODE_HASH,
    REDACT_MODE_OFF
};

/* "mask", "hash", "off", NULL: indexed by enum redact_mode.  A mode is
 * also an order of strength: mask protects most, off least. */
extern const char *const redact_mode_names[];

/* The alert document's text fields whose mode can be set on its own: the
 * group values (by field name) and the sample's fields of that name,
 * "metadata" for metadata.<name> members not listed by name, and the
 * summary. */
enum redact_field {
    REDACT_F_TOOL_NAME = 0,
    REDACT_F_AGENT_ID,
    REDACT_F_SESSION_ID,
    REDACT_F_TOOL_CATEGORY,
    REDACT_F_DOWNSTREAM_SYSTEM,
    REDACT_F_ERROR_CODE,
    REDACT_F_RECORD_ID,
    REDACT_F_METADATA,
    REDACT_F_SUMMARY,
    REDACT_F_COUNT
};

/* "tool_name", ..., "summary", NULL: indexed by enum redact_field. */
extern const char *const redact_field_names[];

/* opts.field[] value: the field takes opts.mode. */
#define REDACT_FIELD_INHERIT 0xffu
/* metadata.<name> members with a mode of their own, and a name's bytes
 * (with the NUL): model/event.h's EVENT_META_MAX, EVENT_META_NAME_MAX */
#define REDACT_META_MAX 8
#define REDACT_META_NAME_MAX 64

/* A matched text and the mode it takes (opts.same). */
struct redact_same {
    const char *text;      /* borrowed */
    size_t len;
    unsigned char mode;    /* enum redact_mode */
};

/* A match found by redact_spans(): in[start, start + len) of a kind. */
struct redact_span {
    size_t start, len;
    unsigned kind;         /* one REDACT_KIND_* bit */
};

struct redact_opts {
    enum redact_mode mode;
    unsigned kinds;                       /* REDACT_KIND_* replaced */
    unsigned char key[REDACT_KEY_BYTES];  /* hash mode's key */
    const char *const *keep;              /* texts never taken for a
                                             phone, SSN or card */
    size_t nkeep;
    /* alert documents: each field's mode (enum redact_mode), or
     * REDACT_FIELD_INHERIT */
    unsigned char field[REDACT_F_COUNT];
    size_t nmeta;
    char meta_name[REDACT_META_MAX][REDACT_META_NAME_MAX];
    unsigned char meta_mode[REDACT_META_MAX];
    const struct redact_same *same;       /* borrowed; may be NULL */
    size_t nsame;
};

/* Mask mode, every kind, no keep list, a zero key, every field
 * REDACT_FIELD_INHERIT, no metadata member, no same list. */
void redact_opts_default(struct redact_opts *o);

/* The enum redact_field named `name`, or -1. */
int redact_field_parse(const char *name);

/* The mode of the document field `name`: a group field's name
 * ("agent_id", "metadata.team"; a sample field's name is the same) or
 * "summary": its own mode, else for a metadata member the "metadata"
 * field's, else opts.mode; any other name ("rule"): opts.mode. */
enum redact_mode redact_field_mode(const struct redact_opts *o,
                                   const char *name);

/* Does any mode of *o (opts.mode, a field's, a member's) hash? */
int redact_opts_need_key(const struct redact_opts *o);

/* Every hash mode of *o becomes mask (no key to hash with). */
void redact_opts_without_hash(struct redact_opts *o);

/* The matches that mask mode would replace in in[0..len) under o's kinds
 * and keep list (NULL: the defaults), without writing anything: the first
 * `max` go to spans[] (may be NULL when max is 0).  Returns how many
 * there are (which may exceed max). */
size_t redact_spans(const struct redact_opts *o, const char *in, size_t len,
                    struct redact_span *spans, size_t max);

/* The REDACT_KIND_* bit named `name` ("email", ...), or 0. */
unsigned redact_kind_parse(const char *name);

/* redact() and redact_buf() under `o` (NULL: redact_opts_default()). */
int redact_opt(const struct redact_opts *o, const char *in, size_t len,
               char *out, size_t out_size, size_t *out_len,
               unsigned *kinds_found);
int redact_buf_opt(const struct redact_opts *o, buf *b, const char *in,
                   size_t len, unsigned *kinds_found);

/* Redact in[0..len) into out[out_size] (NUL-terminated; out_size >= 1).
 * *out_len (optional) receives the length written, without the NUL.
 * *kinds_found (optional) receives the REDACT_KIND_* bits of what was
 * replaced in the written part.  When the redacted text does not fit it is
 * cut: never inside a replacement token (a token that does not fit is
 * left out whole) and never inside a UTF-8 sequence; returns REDACT_ETRUNC.
 * `in` may contain NUL bytes (copied as they are).  `in` and `out` must
 * not overlap.  Returns REDACT_OK, REDACT_ETRUNC or REDACT_EINVAL. */
int redact(const char *in, size_t len, char *out, size_t out_size,
           size_t *out_len, unsigned *kinds_found);

/* Same, appending to *b.  Returns REDACT_OK, REDACT_ENOMEM or
 * REDACT_ETOOBIG (b's cap); on error b is as it was before the call. */
int redact_buf(buf *b, const char *in, size_t len, unsigned *kinds_found);

/* "email", "phone", ... for one REDACT_KIND_* bit; "?" otherwise. */
const char *redact_kind_name(unsigned kind);

const char *redact_strerror(int rc);

#endif
