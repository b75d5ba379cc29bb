/*
 * silence.c - one silence: parse, print, state, match (see silence.h).
 *
 * The parser is the API's contract and reads hostile JSON: cJSON parses
 * the whole span (nothing may follow the object), then every member is
 * checked by name against the keys its mode allows (an unknown key is
 * refused with "did you mean"), for duplicates (cJSON keeps both), type,
 * size and content (UTF-8, no control bytes), before anything is copied
 * into the fixed-size struct.  Messages name the key's path and quote at
 * most a few dozen bytes of a value (table_value_text).
 *
 * Invariants of a parsed silence: 1..SILENCE_MATCHERS_MAX matchers, each
 * glob and name valid UTF-8 within its array; one-off: starts_ms <
 * ends_ms; recurring: days != 0, start_min != end_min, both < 1440, zone
 * not NULL; comment and created_by non-empty.  silence_print() writes
 * what silence_parse() reads back (SILENCE_PARSE_STORED) to the same
 * value.
 */
#include "alerts/silence.h"

#include "alerts/sink.h"
#include "base/clock.h"
#include "base/table.h"
#include "model/severity.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const day_names[7] = {"sun", "mon", "tue", "wed",
                                         "thu", "fri", "sat"};

/* ---- text checks ---------------------------------------------------- */

int silence_text_ok(const char *s, size_t max, int lines)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max);

    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], need, min;
        uint32_t cp;

        if (c < 0x80) {
            if ((c < 0x20 && !(lines && (c == '\n' || c == '\t'))) ||
                c == 0x7f)
                return 0;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            min = 0x80;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            min = 0x800;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            min = 0x10000;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* A group field or label name: letters, digits, `_`, `-`, `.`. */
static int field_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= SILENCE_FIELD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* ---- messages ------------------------------------------------------- */

/* "path: expected <want>, got <value>" */
static int expected(const cJSON *v, const char *path, const char *want,
                    char *err, size_t errsz)
{
    table_fail_expected(v, path, want, err, errsz);
    return SILENCE_EINVAL;
}

/* A member name for a message: at most 40 bytes, printable ASCII. */
static void key_text(const char *k, char *out, size_t size)
{
    size_t n = 0;

    for (; *k != '\0' && n + 1 < size && n < 40; k++)
        out[n++] = (*k >= 0x20 && *k < 0x7f) ? *k : '?';
    out[n] = '\0';
}

/* The member m of obj at `path` is unknown: say so, with the closest of
 * `keys` (NULL-terminated). */
static int unknown_key(const cJSON *m, const char *path,
                       const char *const *keys, char *err, size_t errsz)
{
    struct table_suggest sg;
    char k[48];
    const char *best;

    key_text(m->string, k, sizeof k);
    table_suggest_init(&sg, m->string);
    for (size_t i = 0; keys[i] != NULL; i++)
        table_suggest_add(&sg, keys[i]);
    best = table_suggest_best(&sg);
    table_fail(err, errsz, "%s%s%s: unknown key%s%s%s", path,
               path[0] != '\0' ? "." : "", k,
               best != NULL ? "; did you mean " : "",
               best != NULL ? best : "", best != NULL ? "?" : "");
    return SILENCE_EINVAL;
}

/* Is member m's name used by an earlier member of obj? */
static int duplicate(const cJSON *obj, const cJSON *m, const char *path,
                     char *err, size_t errsz)
{
    char k[48];

    for (const cJSON *o = obj->child; o != m; o = o->next)
        if (strcmp(o->string, m->string) == 0) {
            key_text(m->string, k, sizeof k);
            table_fail(err, errsz, "%s%s%s: duplicate key", path,
                       path[0] != '\0' ? "." : "", k);
            return 1;
        }
    return 0;
}

/* A string member v at path, checked with silence_text_ok, into
 * out[size]. */
static int get_text(const cJSON *v, const char *path, char *out, size_t size,
                    int lines, const char *want, char *err, size_t errsz)
{
    if (!cJSON_IsString(v) || !silence_text_ok(v->valuestring, size, lines))
        return expected(v, path, want, err, errsz);
    snprintf(out, size, "%s", v->valuestring);
    return SILENCE_OK;
}

/* An ISO 8601 time, or null when nullable. */
static int get_time(const cJSON *v, const char *path, int nullable,
                    int64_t *out, char *err, size_t errsz)
{
    if (nullable && cJSON_IsNull(v)) {
        *out = 0;
        return SILENCE_OK;
    }
    if (!cJSON_IsString(v) ||
        clock_parse_iso8601(v->valuestring, strlen(v->valuestring), out) !=
            0)
        return expected(v, path, nullable ? "an ISO 8601 time or null"
                                          : "an ISO 8601 time "
                                            "(2026-03-10T02:00:00Z)",
                        err, errsz);
    return SILENCE_OK;
}

/* ---- matchers ------------------------------------------------------- */

#define GLOB_WANT "a glob of 1 to 255 bytes of UTF-8 text"

/* Does glob g match at least one severity name? */
static int severity_glob_ok(const char *g)
{
    for (int i = 0; i < SEVERITY_COUNT; i++)
        if (sink_glob_match(g, severity_names[i]))
            return 1;
    return 0;
}

int silence_field_parse(const char *s, struct silence_matcher *out)
{
    const char *name = NULL;

    memset(out, 0, sizeof *out);
    if (strcmp(s, "rule") == 0) {
        out->kind = SILENCE_M_RULE;
    } else if (strcmp(s, "severity") == 0) {
        out->kind = SILENCE_M_SEVERITY;
    } else if (strncmp(s, "group.", 6) == 0) {
        out->kind = SILENCE_M_GROUP;
        name = s + 6;
    } else if (strncmp(s, "labels.", 7) == 0) {
        out->kind = SILENCE_M_LABEL;
        name = s + 7;
    } else {
        return -1;
    }
    if (name != NULL) {
        if (!field_ok(name))
            return -2;
        snprintf(out->name, sizeof out->name, "%s", name);
    }
    return 0;
}

int silence_matchers_parse_errs(struct silence_matcher *out, uint32_t *nout,
                                const cJSON *v, const char *path,
                                struct table_errs *errs)
{
    static const char *const keys[] = {"rule", "severity", "group.",
                                       "labels.", NULL};
    char mpath[160], k[48];
    int n = 0, rc = SILENCE_OK;

    *nout = 0;
    if (!cJSON_IsObject(v) || v->child == NULL)
        return table_errs_keep(errs, expected(v, path, "an object of 1 to "
                                              "16 matchers (rule, severity, "
                                              "group.<field>, "
                                              "labels.<name>)",
                                              TABLE_ERRS_SLOT(errs)));
    for (const cJSON *m = v->child; m != NULL; m = m->next) {
        struct silence_matcher *sm;
        int f;

        if (duplicate(v, m, path, TABLE_ERRS_SLOT(errs))) {
            rc = table_errs_keep(errs, SILENCE_EINVAL);
            continue; /* the first of the name stands */
        }
        if (++n > SILENCE_MATCHERS_MAX) {
            table_errs_add(errs, "%s: at most %d matchers", path,
                           SILENCE_MATCHERS_MAX);
            rc = SILENCE_EINVAL;
            break; /* one message for all the rest */
        }
        sm = &out[*nout];
        key_text(m->string, k, sizeof k);
        snprintf(mpath, sizeof mpath, "%s.%s", path, k);
        f = silence_field_parse(m->string, sm);
        if (f == -1) {
            rc = table_errs_keep(errs, unknown_key(m, path, keys,
                                                   TABLE_ERRS_SLOT(errs)));
            continue;
        }
        if (f == -2) {
            table_errs_add(errs, "%s: expected a field name of 1 to 71 "
                           "letters, digits, _, - or . after \"%s\"",
                           mpath, sm->kind == SILENCE_M_GROUP ? "group."
                                                             : "labels.");
            rc = SILENCE_EINVAL;
            continue;
        }
        if (get_text(m, mpath, sm->glob, sizeof sm->glob, 0, GLOB_WANT,
                     TABLE_ERRS_SLOT(errs)) != SILENCE_OK) {
            rc = table_errs_keep(errs, SILENCE_EINVAL);
            continue;
        }
        if (sm->kind == SILENCE_M_SEVERITY && !severity_glob_ok(sm->glob)) {
            rc = table_errs_keep(errs, expected(m, mpath, "a severity (info, "
                                                "warning, error, critical) "
                                                "or a glob matching one",
                                                TABLE_ERRS_SLOT(errs)));
            continue;
        }
        (*nout)++;
    }
    return rc;
}

int silence_matchers_parse(struct silence_matcher *out, uint32_t *nout,
                           const cJSON *v, const char *path, char *err,
                           size_t errsz)
{
    struct table_errs1 one;
    struct table_errs *errs = table_errs1_init(&one);
    int rc = silence_matchers_parse_errs(out, nout, v, path, errs);

    return table_errs1_done(&one, rc, err, errsz);
}

/* ---- recurrence ----------------------------------------------------- */

/* "HH:MM" as minutes of the day, or -1. */
static int hhmm(const cJSON *v)
{
    const char *t;
    int h, m;

    if (!cJSON_IsString(v) || strlen(v->valuestring) != 5)
        return -1;
    t = v->valuestring;
    if (t[0] < '0' || t[0] > '2' || t[1] < '0' || t[1] > '9' ||
        t[2] != ':' || t[3] < '0' || t[3] > '5' || t[4] < '0' || t[4] > '9')
        return -1;
    h = (t[0] - '0') * 10 + t[1] - '0';
    m = (t[3] - '0') * 10 + t[4] - '0';
    return h < 24 ? h * 60 + m : -1;
}

static int parse_days(struct silence_recurrence *r, const cJSON *v,
                      char *err, size_t errsz)
{
    static const char want[] = "an array of 1 to 7 distinct days (\"mon\", "
                               "\"tue\", ..., \"sun\")";
    int n = 0;

    if (!cJSON_IsArray(v) || v->child == NULL)
        return expected(v, "recurrence.days", want, err, errsz);
    for (const cJSON *d = v->child; d != NULL; d = d->next) {
        char path[40];
        int k = 7;

        snprintf(path, sizeof path, "recurrence.days[%d]", n);
        if (++n > 7)
            return expected(v, "recurrence.days", want, err, errsz);
        if (cJSON_IsString(d))
            for (k = 0; k < 7; k++)
                if (strcasecmp(d->valuestring, day_names[k]) == 0)
                    break;
        if (k == 7)
            return expected(d, path, "a day: \"mon\", \"tue\", \"wed\", "
                            "\"thu\", \"fri\", \"sat\" or \"sun\"", err,
                            errsz);
        if (r->days & (1u << k)) {
            table_fail(err, errsz, "%s: %s is listed twice", path,
                       day_names[k]);
            return SILENCE_EINVAL;
        }
        r->days |= (uint8_t)(1u << k);
    }
    return SILENCE_OK;
}

static int parse_recurrence(struct silence *s, const cJSON *v,
                            const struct silence_zones *zones, char *err,
                            size_t errsz)
{
    static const char *const keys[] = {"days", "start", "end", "tz", NULL};
    struct silence_recurrence *r = &s->rec;
    const cJSON *start = NULL, *end = NULL, *zone = NULL, *days = NULL;
    int rc = TZ_ENOENT;

    if (!cJSON_IsObject(v))
        return expected(v, "recurrence", "an object with days, start, end "
                        "and tz", err, errsz);
    for (const cJSON *m = v->child; m != NULL; m = m->next) {
        if (duplicate(v, m, "recurrence", err, errsz))
            return SILENCE_EINVAL;
        if (strcmp(m->string, "days") == 0)
            days = m;
        else if (strcmp(m->string, "start") == 0)
            start = m;
        else if (strcmp(m->string, "end") == 0)
            end = m;
        else if (strcmp(m->string, "tz") == 0)
            zone = m;
        else
            return unknown_key(m, "recurrence", keys, err, errsz);
    }
    if (days == NULL || start == NULL || end == NULL || zone == NULL) {
        table_fail(err, errsz, "recurrence.%s: missing; a recurrence needs "
                   "days, start, end and tz", days == NULL ? "days"
                   : start == NULL ? "start" : end == NULL ? "end" : "tz");
        return SILENCE_EINVAL;
    }
    if (parse_days(r, days, err, errsz) != SILENCE_OK)
        return SILENCE_EINVAL;
    if (hhmm(start) < 0)
        return expected(start, "recurrence.start", "a time \"HH:MM\" "
                        "(00:00 to 23:59)", err, errsz);
    if (hhmm(end) < 0)
        return expected(end, "recurrence.end", "a time \"HH:MM\" "
                        "(00:00 to 23:59)", err, errsz);
    r->start_min = (uint16_t)hhmm(start);
    r->end_min = (uint16_t)hhmm(end);
    if (r->start_min == r->end_min) {
        table_fail(err, errsz, "recurrence.end: the same time as start; an "
                   "end before the start ends on the next day");
        return SILENCE_EINVAL;
    }
    if (!cJSON_IsString(zone) || !tz_name_ok(zone->valuestring))
        return expected(zone, "recurrence.tz", "an IANA time zone name "
                        "(Europe/Berlin)", err, errsz);
    snprintf(r->tz, sizeof r->tz, "%s", zone->valuestring);
    if (zones != NULL && zones->find != NULL)
        r->zone = zones->find(zones->ud, r->tz, &rc);
    if (r->zone == NULL) {
        char got[48];

        table_value_text(zone, got, sizeof got);
        table_fail(err, errsz, "recurrence.tz: %s %s",
                   rc == TZ_ENOMEM ? "out of memory loading" : tz_strerror(rc),
                   got);
        return rc == TZ_ENOMEM ? SILENCE_ENOMEM : SILENCE_EINVAL;
    }
    s->recurring = 1;
    return SILENCE_OK;
}

/* ---- the object ----------------------------------------------------- */

/* The members of a silence object, by name. */
struct members {
    const cJSON *matchers, *starts, *ends, *recurrence, *comment, *by;
    const cJSON *id, *created, *expired;
};

static int collect(const cJSON *o, enum silence_parse_mode mode,
                   struct members *mb, char *err, size_t errsz)
{
    static const char *const req_keys[] = {"matchers", "starts_at",
        "ends_at", "recurrence", "comment", "created_by", NULL};
    static const char *const stored_keys[] = {"matchers", "starts_at",
        "ends_at", "recurrence", "comment", "created_by", "id", "state",
        "created_at", "expired_at", NULL};
    const char *const *keys = mode == SILENCE_PARSE_STORED ? stored_keys
                                                           : req_keys;

    memset(mb, 0, sizeof *mb);
    for (const cJSON *m = o->child; m != NULL; m = m->next) {
        const cJSON **slot = NULL;
        const char *k = m->string;

        if (duplicate(o, m, "", err, errsz))
            return SILENCE_EINVAL;
        if (strcmp(k, "matchers") == 0)
            slot = &mb->matchers;
        else if (strcmp(k, "starts_at") == 0)
            slot = &mb->starts;
        else if (strcmp(k, "ends_at") == 0)
            slot = &mb->ends;
        else if (strcmp(k, "recurrence") == 0)
            slot = &mb->recurrence;
        else if (strcmp(k, "comment") == 0)
            slot = &mb->comment;
        else if (strcmp(k, "created_by") == 0)
            slot = &mb->by;
        else if (mode == SILENCE_PARSE_STORED && strcmp(k, "id") == 0)
            slot = &mb->id;
        else if (mode == SILENCE_PARSE_STORED && strcmp(k, "created_at") == 0)
            slot = &mb->created;
        else if (mode == SILENCE_PARSE_STORED && strcmp(k, "expired_at") == 0)
            slot = &mb->expired;
        else if (mode == SILENCE_PARSE_STORED && strcmp(k, "state") == 0)
            continue; /* written for people; recomputed */
        else
            return unknown_key(m, "", keys, err, errsz);
        *slot = m;
    }
    return SILENCE_OK;
}

int silence_hex_ok(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* starts_at / ends_at, or the recurrence instead. */
static int parse_when(struct silence *s, const struct members *mb,
                      enum silence_parse_mode mode,
                      const struct silence_zones *zones, int64_t now_ms,
                      char *err, size_t errsz)
{
    if (mb->recurrence != NULL) {
        if (mb->starts != NULL || mb->ends != NULL) {
            table_fail(err, errsz, "%s: a recurring silence has no "
                       "starts_at or ends_at (it lasts until it is expired)",
                       mb->starts != NULL ? "starts_at" : "ends_at");
            return SILENCE_EINVAL;
        }
        return parse_recurrence(s, mb->recurrence, zones, err, errsz);
    }
    if (mb->ends == NULL) {
        table_fail(err, errsz, "ends_at: missing; a silence needs ends_at, "
                   "or a recurrence instead of starts_at and ends_at");
        return SILENCE_EINVAL;
    }
    s->starts_ms = now_ms;
    if (mb->starts != NULL &&
        get_time(mb->starts, "starts_at", 0, &s->starts_ms, err, errsz) != 0)
        return SILENCE_EINVAL;
    if (get_time(mb->ends, "ends_at", 0, &s->ends_ms, err, errsz) != 0)
        return SILENCE_EINVAL;
    if (mode == SILENCE_PARSE_REQUEST && s->ends_ms <= now_ms) {
        table_fail(err, errsz, "ends_at: in the past");
        return SILENCE_EINVAL;
    }
    if (s->ends_ms <= s->starts_ms) {
        table_fail(err, errsz, "ends_at: not after starts_at");
        return SILENCE_EINVAL;
    }
    return SILENCE_OK;
}

int silence_from_json(struct silence *s, const cJSON *o,
                      enum silence_parse_mode mode,
                      const struct silence_zones *zones, int64_t now_ms,
                      char *err, size_t errsz)
{
    struct members mb;
    int rc = SILENCE_EINVAL;

    memset(s, 0, sizeof *s);
    if (!cJSON_IsObject(o)) {
        rc = expected(o, "silence", "a JSON object", err, errsz);
        goto out;
    }
    if (collect(o, mode, &mb, err, errsz) != SILENCE_OK)
        goto out;
    if (mb.matchers == NULL) {
        table_fail(err, errsz, "matchers: missing; at least one of rule, "
                   "severity, group.<field>, labels.<name>");
        goto out;
    }
    if (silence_matchers_parse(s->m, &s->nmatchers, mb.matchers, "matchers", err,
                               errsz) != SILENCE_OK)
        goto out;
    if ((rc = parse_when(s, &mb, mode, zones, now_ms, err, errsz)) !=
        SILENCE_OK)
        goto out;
    rc = SILENCE_EINVAL;
    if (mb.comment == NULL || mb.by == NULL) {
        table_fail(err, errsz, "%s: missing", mb.comment == NULL
                                                  ? "comment" : "created_by");
        goto out;
    }
    if (get_text(mb.comment, "comment", s->comment, sizeof s->comment, 1,
                 "a text of 1 to 1023 bytes", err, errsz) != SILENCE_OK ||
        get_text(mb.by, "created_by", s->created_by, sizeof s->created_by,
                 0, "a name of 1 to 127 bytes", err, errsz) != SILENCE_OK)
        goto out;
    s->created_ms = now_ms;
    if (mode == SILENCE_PARSE_STORED) {
        if (mb.id == NULL) {
            table_fail(err, errsz, "id: missing");
            goto out;
        }
        if (!cJSON_IsString(mb.id) ||
            !silence_hex_ok(mb.id->valuestring, SILENCE_ID_LEN)) {
            expected(mb.id, "id", "16 lower-case hex digits", err, errsz);
            goto out;
        }
        snprintf(s->id, sizeof s->id, "%s", mb.id->valuestring);
        if (mb.created == NULL) {
            table_fail(err, errsz, "created_at: missing");
            goto out;
        }
        if (get_time(mb.created, "created_at", 0, &s->created_ms, err,
                     errsz) != SILENCE_OK ||
            (mb.expired != NULL &&
             get_time(mb.expired, "expired_at", 1, &s->expired_ms, err,
                      errsz) != SILENCE_OK))
            goto out;
    }
    rc = SILENCE_OK;
out:
    if (rc != SILENCE_OK)
        memset(s, 0, sizeof *s);
    return rc;
}

int silence_parse(struct silence *s, const char *json, size_t len,
                  enum silence_parse_mode mode,
                  const struct silence_zones *zones, int64_t now_ms,
                  char *err, size_t errsz)
{
    const char *end = NULL;
    cJSON *o = NULL;
    int rc = SILENCE_EINVAL;

    memset(s, 0, sizeof *s);
    if (len > SILENCE_BODY_MAX) {
        table_fail(err, errsz, "the silence is over %u bytes",
                   SILENCE_BODY_MAX);
        goto out;
    }
    o = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (o != NULL)
        while (end < json + len && (*end == ' ' || *end == '\t' ||
                                    *end == '\n' || *end == '\r'))
            end++;
    if (o == NULL || end != json + len) {
        /* cJSON points end at the error, or past the object */
        table_fail(err, errsz, "not a JSON object (at byte %zu)",
                   end != NULL && end >= json && end <= json + len
                       ? (size_t)(end - json) : (size_t)0);
        goto out;
    }
    rc = silence_from_json(s, o, mode, zones, now_ms, err, errsz);
out:
    cJSON_Delete(o);
    return rc;
}

/* ---- state and matching --------------------------------------------- */

/* Inside one of the weekly windows at t? */
static int in_window(const struct silence_recurrence *r, int64_t t)
{
    struct tz_local l;
    int sod, start, end, today, yesterday;

    if (r->zone == NULL)
        return 0;
    tz_local(r->zone, t, &l);
    sod = l.hour * 3600 + l.min * 60 + l.sec;
    start = r->start_min * 60;
    end = r->end_min * 60;
    today = (r->days >> l.wday) & 1;
    yesterday = (r->days >> ((l.wday + 6) % 7)) & 1;
    if (start < end)
        return today && sod >= start && sod < end;
    /* the window runs past midnight into the next day */
    return (today && sod >= start) || (yesterday && sod < end);
}

int64_t silence_expired_at(const struct silence *s, int64_t now_ms)
{
    int64_t at = 0;

    if (s->expired_ms != 0 && s->expired_ms <= now_ms)
        at = s->expired_ms;
    if (!s->recurring && s->ends_ms <= now_ms && (at == 0 || s->ends_ms < at))
        at = s->ends_ms;
    return at;
}

enum silence_state silence_state(const struct silence *s, int64_t now_ms)
{
    if (silence_expired_at(s, now_ms) != 0)
        return SILENCE_EXPIRED;
    if (s->recurring)
        return in_window(&s->rec, now_ms) ? SILENCE_ACTIVE : SILENCE_PENDING;
    return now_ms < s->starts_ms ? SILENCE_PENDING : SILENCE_ACTIVE;
}

int silence_expire(struct silence *s, int64_t now_ms)
{
    if (silence_expired_at(s, now_ms) != 0)
        return 0;
    s->expired_ms = now_ms;
    return 1;
}

/* The value of `name` among n pairs, or NULL. */
static const char *pair_value(const struct alert_pair *p, uint32_t n,
                              const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i].name != NULL && strcasecmp(p[i].name, name) == 0)
            return p[i].value;
    return NULL;
}

const char *silence_field_value(const struct silence_matcher *m,
                                const struct alert *a)
{
    const char *v = NULL;

    switch (m->kind) {
    case SILENCE_M_RULE:
        v = a->rule;
        break;
    case SILENCE_M_SEVERITY:
        v = a->severity;
        break;
    case SILENCE_M_GROUP:
        v = pair_value(a->group, a->ngroup < ALERT_GROUP_MAX
                                     ? a->ngroup : ALERT_GROUP_MAX, m->name);
        break;
    case SILENCE_M_LABEL:
        v = pair_value(a->labels, a->nlabels < ALERT_LABELS_MAX
                                      ? a->nlabels : ALERT_LABELS_MAX,
                       m->name);
        break;
    }
    return v;
}

int silence_matchers_match(const struct silence_matcher *m, uint32_t n,
                           const struct alert *a)
{
    for (uint32_t i = 0; i < n; i++) {
        const char *v = silence_field_value(&m[i], a);

        if (v == NULL || !sink_glob_match(m[i].glob, v))
            return 0;
    }
    return 1;
}

int silence_matches(const struct silence *s, const struct alert *a,
                    int64_t now_ms)
{
    if (s->nmatchers == 0 || silence_state(s, now_ms) != SILENCE_ACTIVE)
        return 0;
    return silence_matchers_match(s->m, s->nmatchers, a);
}

/* ---- printing ------------------------------------------------------- */

/* A JSON string of NUL-terminated s. */
static void w_str(buf_writer *w, const char *s)
{
    buf_w_json(w, s, strlen(s));
}

/* ,"key":"<time>" or null when ms is 0 */
static void w_time(buf_writer *w, const char *key, int64_t ms)
{
    char t[32];

    buf_w_raw(w, key);
    if (ms == 0 || clock_format_iso8601(ms, t, sizeof t) < 0)
        buf_w_raw(w, "null");
    else
        w_str(w, t);
}

void silence_matcher_key(const struct silence_matcher *m, char *out,
                         size_t size)
{
    switch (m->kind) {
    case SILENCE_M_RULE:
        snprintf(out, size, "rule");
        return;
    case SILENCE_M_SEVERITY:
        snprintf(out, size, "severity");
        return;
    case SILENCE_M_GROUP:
        snprintf(out, size, "group.%s", m->name);
        return;
    default:
        snprintf(out, size, "labels.%s", m->name);
        return;
    }
}

const char *silence_day_name(int d)
{
    return d >= 0 && d < 7 ? day_names[d] : NULL;
}

static void w_matcher_key(buf_writer *w, const struct silence_matcher *m)
{
    char k[SILENCE_FIELD_MAX + 8];

    silence_matcher_key(m, k, sizeof k);
    w_str(w, k);
}

int silence_print(const struct silence *s, int64_t now_ms, buf *out)
{
    buf_writer w = {out, BUF_OK};
    char hm[8];

    buf_w_raw(&w, "{\"id\":");
    w_str(&w, s->id);
    buf_w_raw(&w, ",\"state\":");
    w_str(&w, silence_state_name(silence_state(s, now_ms)));
    buf_w_raw(&w, ",\"matchers\":{");
    for (uint32_t i = 0; i < s->nmatchers; i++) {
        if (i > 0)
            buf_w_raw(&w, ",");
        w_matcher_key(&w, &s->m[i]);
        buf_w_raw(&w, ":");
        w_str(&w, s->m[i].glob);
    }
    buf_w_raw(&w, "}");
    if (s->recurring) {
        int first = 1;

        buf_w_raw(&w, ",\"recurrence\":{\"days\":[");
        /* Monday first, as people write a week */
        for (int k = 1; k <= 7; k++)
            if (s->rec.days & (1u << (k % 7))) {
                buf_w_raw(&w, first ? "" : ",");
                w_str(&w, day_names[k % 7]);
                first = 0;
            }
        snprintf(hm, sizeof hm, "%02u:%02u", s->rec.start_min / 60u,
                 s->rec.start_min % 60u);
        buf_w_raw(&w, "],\"start\":");
        w_str(&w, hm);
        snprintf(hm, sizeof hm, "%02u:%02u", s->rec.end_min / 60u,
                 s->rec.end_min % 60u);
        buf_w_raw(&w, ",\"end\":");
        w_str(&w, hm);
        buf_w_raw(&w, ",\"tz\":");
        w_str(&w, s->rec.tz);
        buf_w_raw(&w, "}");
    } else {
        w_time(&w, ",\"starts_at\":", s->starts_ms);
        w_time(&w, ",\"ends_at\":", s->ends_ms);
    }
    buf_w_raw(&w, ",\"comment\":");
    w_str(&w, s->comment);
    buf_w_raw(&w, ",\"created_by\":");
    w_str(&w, s->created_by);
    w_time(&w, ",\"created_at\":", s->created_ms);
    w_time(&w, ",\"expired_at\":", s->expired_ms);
    buf_w_raw(&w, "}");
    return w.rc;
}

const char *silence_state_name(enum silence_state st)
{
    switch (st) {
    case SILENCE_PENDING:
        return "pending";
    case SILENCE_ACTIVE:
        return "active";
    case SILENCE_EXPIRED:
        return "expired";
    }
    return "unknown";
}
