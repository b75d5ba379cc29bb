/*
 * silence.h - one silence (SPEC section 5): which notifications it mutes
 * (matchers), when (a one-off range, or a weekly window in a named time
 * zone), who made it and why; its state at a time, whether it matches an
 * alert, and its JSON in the API's shape.
 *
 *   {"matchers": {"rule": "<glob>", "severity": "<glob>",
 *                 "group.<field>": "<glob>", "labels.<name>": "<glob>"},
 *    "starts_at": "<ISO 8601>", "ends_at": "<ISO 8601>",
 *    "comment": "...", "created_by": "..."}
 *   or, instead of the two times,
 *    "recurrence": {"days": ["mon", ...], "start": "HH:MM",
 *                   "end": "HH:MM", "tz": "<IANA zone>"}
 *
 * Matchers: at least one, at most SILENCE_MATCHERS_MAX; globs (`*` any
 * run, `?` one character, ASCII letters without regard to case:
 * sink_glob_match); every matcher must match.  `group.<field>` matches an
 * alert whose group has that field with a value the glob matches;
 * `labels.<name>` the same with the rule's labels; a field or label the
 * alert lacks matches nothing.  `severity` must match one of the severity
 * names (a typo is refused, not a silence that mutes nothing).
 *
 * Time.  One-off: active in [starts_at, ends_at); starts_at defaults to
 * the time it is made; ends_at is required, later than starts_at and than
 * that time.  Recurring: active while the zone's wall clock reads a time
 * in [start, end) on one of the days; an end at or before the start ends
 * on the next day (22:00-06:00 on Saturday runs into Sunday morning).
 * The wall clock is the zone's: on a spring-forward day a window loses
 * the hour that does not exist, on a fall-back day the repeated hour
 * counts twice (02:00-04:00 lasts 3 hours).  A recurring silence lasts
 * until it is expired.  Expiring (DELETE) makes any silence expired from
 * then on.
 *
 * Pure: no I/O, no clock (time is a parameter).  Parsing does not load
 * zones either: the caller's resolver (struct silence_zones) does.  Every
 * input is hostile: sizes are capped, unknown and duplicate keys are
 * refused, and a message never quotes more than a few dozen bytes.
 */
#ifndef TW_SILENCE_H
#define TW_SILENCE_H

#include "alerts/tz.h"
#include "base/buf.h"
#include "model/alert.h"

#include <stddef.h>
#include <stdint.h>

struct table_errs;

#define SILENCE_MATCHERS_MAX 16
#define SILENCE_ID_LEN 16         /* hex characters */
#define SILENCE_ID_MAX (SILENCE_ID_LEN + 1)
#define SILENCE_FIELD_MAX 72      /* a group field or label name, NUL */
#define SILENCE_GLOB_MAX 256      /* a glob, with the NUL */
#define SILENCE_COMMENT_MAX 1024  /* with the NUL */
#define SILENCE_BY_MAX 128        /* created_by, with the NUL */
#define SILENCE_BODY_MAX (16u * 1024u) /* an API request's JSON */
#define SILENCE_ERR_MAX 256       /* room for a parse message */

enum {
    SILENCE_OK = 0,
    SILENCE_EINVAL = -1,  /* the JSON is refused (message given) */
    SILENCE_ENOMEM = -2
};

enum silence_state {
    SILENCE_PENDING = 0,
    SILENCE_ACTIVE,
    SILENCE_EXPIRED
};

enum silence_matcher_kind {
    SILENCE_M_RULE = 0,
    SILENCE_M_SEVERITY,
    SILENCE_M_GROUP,   /* name: the group field */
    SILENCE_M_LABEL    /* name: the label */
};

struct silence_matcher {
    uint8_t kind;                    /* enum silence_matcher_kind */
    char name[SILENCE_FIELD_MAX];    /* GROUP, LABEL */
    char glob[SILENCE_GLOB_MAX];
};

struct silence_recurrence {
    uint8_t days;                    /* bit d: weekday d (0 Sunday) */
    uint16_t start_min, end_min;     /* minutes of the day, 0..1439 */
    char tz[TZ_NAME_MAX];
    const tz *zone;                  /* borrowed from the resolver */
};

/* A silence: a plain value (the zone is borrowed). */
struct silence {
    char id[SILENCE_ID_MAX];         /* "" until the store names it */
    uint32_t nmatchers;              /* 1..SILENCE_MATCHERS_MAX */
    struct silence_matcher m[SILENCE_MATCHERS_MAX]; /* as given */
    int recurring;
    int64_t starts_ms, ends_ms;      /* one-off */
    struct silence_recurrence rec;   /* recurring */
    char comment[SILENCE_COMMENT_MAX];
    char created_by[SILENCE_BY_MAX];
    int64_t created_ms;
    int64_t expired_ms;              /* 0: not expired by hand */
};

/* How a parse finds a zone by name: returns it (owned by the resolver,
 * which must outlive the silence), or NULL with a TZ_* code in *rc. */
struct silence_zones {
    const tz *(*find)(void *ud, const char *name, int *rc);
    void *ud;
};

/* What a parse takes. */
enum silence_parse_mode {
    /* an API request (POST): no id, created_at, expired_at or state;
     * starts_at defaults to now, ends_at must be later than now */
    SILENCE_PARSE_REQUEST = 0,
    /* the store's file: id and created_at required, expired_at allowed,
     * state ignored; times in the past are fine */
    SILENCE_PARSE_STORED
};

/* Parse one silence from `len` bytes of JSON at `json` (not
 * NUL-terminated; at most SILENCE_BODY_MAX bytes) into *out, as of
 * now_ms.  Returns SILENCE_OK, SILENCE_EINVAL with a message naming the
 * key in err ("matchers.group.tool_name: expected a glob of 1 to 255
 * bytes"), or SILENCE_ENOMEM. */
int silence_parse(struct silence *out, const char *json, size_t len,
                  enum silence_parse_mode mode,
                  const struct silence_zones *zones, int64_t now_ms,
                  char *err, size_t errsz);

/* The same from a parsed cJSON object (the store's file holds a list). */
struct cJSON;
int silence_from_json(struct silence *out, const struct cJSON *o,
                      enum silence_parse_mode mode,
                      const struct silence_zones *zones, int64_t now_ms,
                      char *err, size_t errsz);

/* The state at now_ms. */
enum silence_state silence_state(const struct silence *s, int64_t now_ms);

/* When it expired (0: it has not, as of now_ms): the earlier of ends_at
 * (one-off) and the time it was expired by hand. */
int64_t silence_expired_at(const struct silence *s, int64_t now_ms);

/* Expire it at now_ms (DELETE).  Returns 1 when that changed it, 0 when
 * it had expired already. */
int silence_expire(struct silence *s, int64_t now_ms);

/* Does it mute alert a at now_ms: active, and every matcher matches a's
 * rule, severity, group and labels?  1 or 0. */
int silence_matches(const struct silence *s, const struct alert *a,
                    int64_t now_ms);

/* Matchers alone (inhibition rules reuse them, SPEC section 5): parse
 * the JSON object v ({"rule": "<glob>", "group.<field>": "<glob>", ...})
 * at `path` (messages say "path.rule: ...") into out[SILENCE_MATCHERS_MAX]
 * and *n.  Returns SILENCE_OK or SILENCE_EINVAL with the message (the
 * first of silence_matchers_parse_errs()'s list). */
int silence_matchers_parse(struct silence_matcher *out, uint32_t *n,
                           const struct cJSON *v, const char *path,
                           char *err, size_t errsz);

/* silence_matchers_parse() with every error in errs: each bad matcher's
 * message (an unknown or repeated key, a bad field name, glob or
 * severity), in order; the good ones are kept in out and *n.  Past
 * SILENCE_MATCHERS_MAX members one message ends the list.  Returns
 * SILENCE_OK or SILENCE_EINVAL (errors added). */
int silence_matchers_parse_errs(struct silence_matcher *out, uint32_t *n,
                                const struct cJSON *v, const char *path,
                                struct table_errs *errs);

/* Does every one of the n matchers match alert a?  1 or 0 (n == 0: 1). */
int silence_matchers_match(const struct silence_matcher *m, uint32_t n,
                           const struct alert *a);

/* A field name as matchers name it ("rule", "severity", "group.<field>",
 * "labels.<name>") into out's kind and name (glob left empty).  Returns
 * 0, -1 (not one of those forms) or -2 (a bad field name). */
int silence_field_parse(const char *s, struct silence_matcher *out);

/* The value of m's field in alert a (m's glob is not used), or NULL when
 * a lacks that group field or label. */
const char *silence_field_value(const struct silence_matcher *m,
                                const struct alert *a);

/* Append s as the API's JSON object (with "id" and "state" as of now_ms;
 * "created_at"; "expired_at" when expired by hand, else null).  Returns
 * BUF_OK or a BUF_E* code. */
int silence_print(const struct silence *s, int64_t now_ms, buf *out);

/* Is s (at most max - 1 bytes before its NUL) 1 or more bytes of valid
 * UTF-8 without control bytes (lines: newline and tab allowed)?  Every
 * text a person gives the API (comments, names, globs) is checked so,
 * since the answers carry it back as JSON.  1 or 0. */
int silence_text_ok(const char *s, size_t max, int lines);

/* Is s exactly n lower-case hex digits (a silence id, n =
 * SILENCE_ID_LEN; an episode id, n = ALERT_ID_HEX)?  1 or 0. */
int silence_hex_ok(const char *s, size_t n);

/* "pending", "active", "expired". */
const char *silence_state_name(enum silence_state st);

/* A matcher's key as the JSON names it ("rule", "severity",
 * "group.<field>", "labels.<name>"), into out (size bytes, cut to fit). */
void silence_matcher_key(const struct silence_matcher *m, char *out,
                         size_t size);

/* "sun", "mon", ... "sat" for weekday d (0 Sunday, as rec.days's bits);
 * NULL out of range. */
const char *silence_day_name(int d);

#endif
