/*
 * tz.c - IANA time zones from TZif files, without the process's TZ (see
 * tz.h).
 *
 * A zone is its transitions (UTC seconds, ascending) with the offset in
 * force from each, the offset before the first (time type 0, RFC 8536
 * section 3.2), and the footer's POSIX TZ rule for instants after the
 * last transition (none: the last offset stays).  The rule is evaluated
 * per year in the zone's standard time: daylight time runs from its start
 * (a local time of standard time) to its end (a local time of daylight
 * time); a start after the end in the year is the southern hemisphere's
 * daylight time across the new year, and "0/0,J365/25" (daylight time
 * all year) falls out of the same comparison.
 *
 * Invariants: every count of the image is checked against the caps of
 * tz.h and against the bytes left before anything is read or allocated
 * from it; every type index read is below the type count; transitions are
 * strictly ascending; every offset lies within +-26 h, so local times
 * never overflow.  Leap-second records ("right/" zones) are skipped, not
 * applied.
 */
#include "alerts/tz.h"

#include "base/clock.h"
#include "base/file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_UTOFF (26 * 3600)
#define HEADER_BYTES 44
#define DAY_S 86400

/* A rule's date: Jn (1..365, February 29 never counted), n (0..365) or
 * Mm.w.d, and the local time of day it happens at (seconds; may be
 * negative or past 24 h, as TZif version 3 allows). */
struct rdate {
    char kind;      /* 'J', 'D' (zero-based day) or 'M' */
    int day;        /* J: 1..365; D: 0..365; M: the weekday 0..6 */
    int month;      /* M: 1..12 */
    int week;       /* M: 1..5 (5: the last) */
    int32_t time;   /* seconds */
};

struct tz_rule {
    int32_t std_utoff;  /* seconds east of UTC */
    int32_t dst_utoff;
    int has_dst;
    struct rdate start, end;
};

struct tz {
    char name[TZ_NAME_MAX];
    uint32_t n;             /* transitions */
    int64_t *at;            /* n UTC seconds, ascending */
    int32_t *after;         /* n offsets in force from at[i] */
    int32_t before;         /* offset before at[0] (type 0) */
    int has_rule;
    struct tz_rule rule;
};

/* ---- names ----------------------------------------------------------- */

int tz_name_ok(const char *name)
{
    size_t n = strnlen(name, TZ_NAME_MAX), comp = 0;
    int dots = 0;

    if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || name[0] == '-')
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];

        if (c == '/' || c == '\0') {
            /* an empty, "." or ".." component */
            if (comp == 0 || (comp == (size_t)dots && dots <= 2))
                return 0;
            comp = 0;
            dots = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+' ||
              c == '.'))
            return 0;
        comp++;
        if (c == '.')
            dots++;
    }
    return 1;
}

/* ---- the POSIX TZ rule of the footer ----------------------------------- */

struct scan {
    const char *p, *end;
};

static int sc_peek(const struct scan *s)
{
    return s->p < s->end ? (unsigned char)*s->p : -1;
}

/* A number of at most `maxd` digits, at most max. */
static int sc_num(struct scan *s, int maxd, int max, int *out)
{
    int v = 0, d = 0;

    while (d < maxd && s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        v = v * 10 + (*s->p++ - '0');
        d++;
    }
    if (d == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A zone abbreviation: 3+ letters, or <3+ of letters, digits, + and ->. */
static int sc_abbr(struct scan *s)
{
    const char *start = s->p;

    if (sc_peek(s) == '<') {
        s->p++;
        start = s->p;
        while (s->p < s->end &&
               ((*s->p >= 'a' && *s->p <= 'z') ||
                (*s->p >= 'A' && *s->p <= 'Z') ||
                (*s->p >= '0' && *s->p <= '9') || *s->p == '+' ||
                *s->p == '-'))
            s->p++;
        if (s->p - start < 3 || sc_peek(s) != '>')
            return -1;
        s->p++;
        return 0;
    }
    while (s->p < s->end && ((*s->p >= 'a' && *s->p <= 'z') ||
                             (*s->p >= 'A' && *s->p <= 'Z')))
        s->p++;
    return s->p - start >= 3 ? 0 : -1;
}

/* [+-]hh[:mm[:ss]] with hh at most max_h, as seconds. */
static int sc_hms(struct scan *s, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, sec = 0;

    if (sc_peek(s) == '+' || sc_peek(s) == '-')
        sign = *s->p++ == '-' ? -1 : 1;
    if (sc_num(s, 3, max_h, &h) != 0)
        return -1;
    if (sc_peek(s) == ':') {
        s->p++;
        if (sc_num(s, 2, 59, &m) != 0)
            return -1;
        if (sc_peek(s) == ':') {
            s->p++;
            if (sc_num(s, 2, 59, &sec) != 0)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return 0;
}

/* ",date[/time]" of a rule; the time defaults to 02:00. */
static int sc_rdate(struct scan *s, struct rdate *d)
{
    int c;

    if (sc_peek(s) != ',')
        return -1;
    s->p++;
    memset(d, 0, sizeof *d);
    c = sc_peek(s);
    if (c == 'J') {
        s->p++;
        d->kind = 'J';
        if (sc_num(s, 3, 365, &d->day) != 0 || d->day < 1)
            return -1;
    } else if (c == 'M') {
        s->p++;
        d->kind = 'M';
        if (sc_num(s, 2, 12, &d->month) != 0 || d->month < 1 ||
            sc_peek(s) != '.')
            return -1;
        s->p++;
        if (sc_num(s, 1, 5, &d->week) != 0 || d->week < 1 ||
            sc_peek(s) != '.')
            return -1;
        s->p++;
        if (sc_num(s, 1, 6, &d->day) != 0)
            return -1;
    } else {
        d->kind = 'D';
        if (sc_num(s, 3, 365, &d->day) != 0)
            return -1;
    }
    d->time = 2 * 3600;
    if (sc_peek(s) == '/') {
        s->p++;
        if (sc_hms(s, 167, &d->time) != 0)
            return -1;
    }
    return 0;
}

/* Parse a footer rule ("CET-1CEST,M3.5.0,M10.5.0/3"): std offset, and
 * optionally dst [offset] and its two dates (required with dst: every
 * footer of the tz database gives them).  0 or -1. */
static int parse_rule(const char *p, size_t len, struct tz_rule *r)
{
    struct scan s = {p, p + len};
    int32_t off;

    memset(r, 0, sizeof *r);
    if (sc_abbr(&s) != 0 || sc_hms(&s, 24, &off) != 0)
        return -1;
    r->std_utoff = -off;
    if (s.p == s.end)
        return 0;
    if (sc_abbr(&s) != 0)
        return -1;
    r->has_dst = 1;
    r->dst_utoff = r->std_utoff + 3600;
    if (sc_peek(&s) != ',' && sc_peek(&s) != -1) {
        if (sc_hms(&s, 24, &off) != 0)
            return -1;
        r->dst_utoff = -off;
    }
    if (sc_rdate(&s, &r->start) != 0 || sc_rdate(&s, &r->end) != 0 ||
        s.p != s.end)
        return -1;
    if (r->std_utoff < -MAX_UTOFF || r->std_utoff > MAX_UTOFF ||
        r->dst_utoff < -MAX_UTOFF || r->dst_utoff > MAX_UTOFF)
        return -1;
    return 0;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Local seconds since the epoch of date d in year y (at its time). */
static int64_t rdate_local(const struct rdate *d, int64_t y)
{
    int64_t day0 = clock_days_from_civil(y, 1, 1), days;

    if (d->kind == 'J') {
        days = day0 + d->day - 1 + (is_leap(y) && d->day >= 60 ? 1 : 0);
    } else if (d->kind == 'D') {
        days = day0 + d->day;
    } else {
        int64_t first = clock_days_from_civil(y, d->month, 1);
        int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01: Thu */
        int mday = 1 + (d->day - wd + 7) % 7 + (d->week - 1) * 7;

        while (mday > clock_days_in_month((int)y, d->month))
            mday -= 7;
        days = first + mday - 1;
    }
    return days * DAY_S + d->time;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

/* The offset the rule puts in force at UTC second t. */
static int32_t rule_utoff(const struct tz_rule *r, int64_t t)
{
    int64_t days, start, end;
    int y, m, d;
    int in;

    if (!r->has_dst)
        return r->std_utoff;
    days = floor_div(t + r->std_utoff, DAY_S);
    clock_civil_from_days(days, &y, &m, &d);
    /* start: a local time of standard time; end: of daylight time */
    start = rdate_local(&r->start, y) - r->std_utoff;
    end = rdate_local(&r->end, y) - r->dst_utoff;
    if (start < end)
        in = t >= start && t < end;
    else
        in = !(t >= end && t < start);
    return in ? r->dst_utoff : r->std_utoff;
}

/* ---- TZif ------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

/* The header at p (len bytes left): counts checked against the caps and
 * RFC 8536's rules; the size of its data block (times of tsize bytes) in
 * *block, checked against len.  0 or -1. */
static int read_header(const unsigned char *p, size_t len, size_t tsize,
                       struct counts *c, size_t *block)
{
    uint64_t need;

    if (len < HEADER_BYTES || memcmp(p, "TZif", 4) != 0)
        return -1;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    if (c->type == 0 || c->type > TZ_MAX_TYPES ||
        c->time > TZ_MAX_TRANSITIONS || c->chars == 0 ||
        c->chars > 4096 || c->leap > 4096 ||
        (c->isut != 0 && c->isut != c->type) ||
        (c->isstd != 0 && c->isstd != c->type))
        return -1;
    need = (uint64_t)c->time * (tsize + 1) + (uint64_t)c->type * 6 +
           c->chars + (uint64_t)c->leap * (tsize + 4) + c->isstd + c->isut;
    if (need > len - HEADER_BYTES)
        return -1;
    *block = (size_t)need;
    return 0;
}

/* Fill z's transitions from the data block at p (counts c, times of
 * tsize bytes).  0, -1 (invalid) or -2 (out of memory). */
static int read_block(tz *z, const unsigned char *p, const struct counts *c,
                      size_t tsize)
{
    const unsigned char *idx = p + (size_t)c->time * tsize;
    const unsigned char *types = idx + c->time;
    int32_t utoff[TZ_MAX_TYPES];

    for (uint32_t i = 0; i < c->type; i++) {
        const unsigned char *t = types + (size_t)i * 6;
        int32_t off = (int32_t)be32(t);

        if (off < -MAX_UTOFF || off > MAX_UTOFF || t[4] > 1 ||
            t[5] >= c->chars)
            return -1;
        utoff[i] = off;
    }
    z->before = utoff[0];
    if (c->time == 0)
        return 0;
    z->at = malloc((size_t)c->time * sizeof *z->at);
    z->after = malloc((size_t)c->time * sizeof *z->after);
    if (z->at == NULL || z->after == NULL)
        return -2;
    for (uint32_t i = 0; i < c->time; i++) {
        int64_t t = tsize == 8 ? be64(p + (size_t)i * 8)
                               : (int64_t)(int32_t)be32(p + (size_t)i * 4);

        if (idx[i] >= c->type || (i > 0 && t <= z->at[i - 1]))
            return -1;
        z->at[i] = t;
        z->after[i] = utoff[idx[i]];
    }
    z->n = c->time;
    return 0;
}

int tz_parse(const char *name, const void *data, size_t len, tz **out)
{
    const unsigned char *p = data;
    struct counts c;
    size_t block, tsize = 4;
    tz *z = NULL;
    int rc = TZ_EINVAL, r;

    *out = NULL;
    if (name == NULL || strlen(name) >= TZ_NAME_MAX ||
        read_header(p, len, 4, &c, &block) != 0)
        goto out;
    if (p[4] != 0 && (p[4] < '2' || p[4] > '4'))
        goto out;
    if (p[4] != 0) {
        /* version 2+: skip the 32-bit block, read the 64-bit one */
        size_t skip = HEADER_BYTES + block;

        p += skip;
        len -= skip;
        tsize = 8;
        if (read_header(p, len, 8, &c, &block) != 0)
            goto out;
    }
    if ((z = calloc(1, sizeof *z)) == NULL) {
        rc = TZ_ENOMEM;
        goto out;
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    if ((r = read_block(z, p + HEADER_BYTES, &c, tsize)) != 0) {
        rc = r == -2 ? TZ_ENOMEM : TZ_EINVAL;
        goto out;
    }
    if (tsize == 8) {
        /* the footer: "\n" rule "\n" (an empty rule: none) */
        const char *f = (const char *)p + HEADER_BYTES + block;
        size_t flen = len - HEADER_BYTES - block;
        const char *nl;

        if (flen < 2 || f[0] != '\n' ||
            (nl = memchr(f + 1, '\n', flen - 1)) == NULL ||
            (size_t)(nl - f - 1) > TZ_RULE_MAX)
            goto out;
        if (nl > f + 1) {
            if (parse_rule(f + 1, (size_t)(nl - f - 1), &z->rule) != 0)
                goto out;
            z->has_rule = 1;
        }
    }
    *out = z;
    z = NULL;
    rc = TZ_OK;
out:
    tz_destroy(z);
    return rc;
}

int tz_load(const char *dir, const char *name, tz **out)
{
    char path[512], *data = NULL;
    size_t len = 0;
    int n, rc;

    *out = NULL;
    if (!tz_name_ok(name))
        return TZ_EINVAL;
    n = snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : TZ_DIR_DEFAULT,
                 name);
    if (n < 0 || (size_t)n >= sizeof path)
        return TZ_EINVAL;
    switch (file_read_all(path, TZ_FILE_MAX, &data, &len)) {
    case FILE_OK:
        rc = tz_parse(name, data, len, out);
        break;
    case FILE_ENOENT:
        rc = TZ_ENOENT;
        break;
    case FILE_ETOOBIG:
        rc = TZ_EINVAL;
        break;
    case FILE_ENOMEM:
        rc = TZ_ENOMEM;
        break;
    default:
        /* a directory ("Europe") is no zone either */
        rc = errno == EISDIR ? TZ_ENOENT : TZ_EIO;
        break;
    }
    free(data);
    return rc;
}

void tz_destroy(tz *z)
{
    if (z == NULL)
        return;
    free(z->at);
    free(z->after);
    free(z);
}

const char *tz_name(const tz *z)
{
    return z->name;
}

/* ---- local time ------------------------------------------------------- */

int32_t tz_utoff(const tz *z, int64_t t_ms)
{
    int64_t t = floor_div(t_ms, 1000);
    uint32_t lo = 0, hi = z->n;

    if (z->n == 0 || t >= z->at[z->n - 1]) {
        if (z->has_rule)
            return rule_utoff(&z->rule, t);
        return z->n == 0 ? z->before : z->after[z->n - 1];
    }
    if (t < z->at[0])
        return z->before;
    /* the last transition at or before t */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->after[lo];
}

void tz_local(const tz *z, int64_t t_ms, struct tz_local *out)
{
    int32_t off = tz_utoff(z, t_ms);
    int64_t s = floor_div(t_ms, 1000) + off;
    int64_t days = floor_div(s, DAY_S), sod = s - days * DAY_S;

    clock_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(sod / 3600);
    out->min = (int)(sod / 60 % 60);
    out->sec = (int)(sod % 60);
    out->wday = (int)(((days + 4) % 7 + 7) % 7);
    out->utoff = off;
}

const char *tz_strerror(int rc)
{
    switch (rc) {
    case TZ_OK:
        return "ok";
    case TZ_EINVAL:
        return "not a valid time zone";
    case TZ_ENOENT:
        return "unknown time zone";
    case TZ_EIO:
        return "the time zone file cannot be read";
    case TZ_ENOMEM:
        return "out of memory";
    }
    return "unknown time zone error";
}
