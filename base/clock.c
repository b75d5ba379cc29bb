/*
 * clock.c - one place to read time (thin wrappers over clock_gettime), the
 * proleptic Gregorian calendar, and the date texts: ISO 8601 parse and
 * format, HTTP-date parse.
 *
 * Invariants: the parsers read only [s, s + len), accept a span only when
 * the whole of it matches one of the documented forms, and write their
 * result only on success; they and the formatter use no locale, no libc
 * time conversion and no clock, so they are pure and safe on any thread.
 */
#include "base/clock.h"

#include <string.h>

#include <time.h>

static int64_t read_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t read_ms(clockid_t id)
{
    return read_us(id) / 1000;
}

int64_t clock_mono_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t clock_mono_us(void)
{
    return read_us(CLOCK_MONOTONIC);
}

int64_t clock_wall_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

__attribute__((hot))
int clock_days_in_month(int y, int m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

/* The year is counted from March, so the leap day is the last day of its
 * year; a 400-year era has 146097 days; 719468 is the day number of
 * 1970-01-01 counted from 0000-03-01. */
__attribute__((hot))
int64_t clock_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t clock_civil_to_ms(int year, int month, int day, int hour, int min,
                          int sec)
{
    int64_t days = clock_days_from_civil(year, month, day);

    return ((days * 24 + hour) * 60 + min) * 60000 + (int64_t)sec * 1000;
}

void clock_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;                                /* [0, 146096] */
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);         /* [0, 365] */
    mp = (5 * doy + 2) / 153;                              /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ---- ISO 8601 ------------------------------------------------------------ */

/* Exactly n ASCII digits at s (locale-free).  Returns the value or -1. */
__attribute__((hot))
static int num(const char *s, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return -1;
        v = v * 10 + (int)d;
    }
    return v;
}

/* The first 16 bytes of a time, YYYY-MM-DD, 'T' ('t', ' '), HH:MM, as
 * seconds since the epoch before any offset (year >= 1970), or -1.  s has
 * at least 16 bytes. */
__attribute__((hot))
static int64_t time_head(const char *s)
{
    int y, mo, d, h, mi;

    if (s[4] != '-' || s[7] != '-' || s[13] != ':')
        return -1;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return -1;
    y = num(s, 4);
    mo = num(s + 5, 2);
    d = num(s + 8, 2);
    h = num(s + 11, 2);
    mi = num(s + 14, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > clock_days_in_month(y, mo)
        || h < 0 || h > 23 || mi < 0 || mi > 59)
        return -1;
    return clock_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* The rest of a time from byte 16 (":SS", fraction, offset) on top of its
 * head's seconds (time_head); len >= 19.  See clock_parse_iso8601(). */
__attribute__((hot))
static int time_tail(const char *s, size_t len, int64_t head,
                     int64_t *out_ms)
{
    int rc = CLOCK_EINVAL;
    int sec, frac = 0, ndig = 0, oh = 0, om = 0, sign = 0;
    int64_t t;
    size_t p;

    if (s[16] != ':' || (sec = num(s + 17, 2)) < 0 || sec > 60)
        goto out;
    p = 19;

    if (p < len && (s[p] == '.' || s[p] == ',')) {
        p++;
        while (p < len && (unsigned char)s[p] - (unsigned)'0' <= 9) {
            if (++ndig > 9)
                goto out;
            if (ndig <= 3)
                frac = frac * 10 + (s[p] - '0');
            p++;
        }
        if (ndig == 0)
            goto out;
        for (; ndig < 3; ndig++)
            frac *= 10;
    }

    if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        sign = s[p] == '-' ? -1 : 1;
        p++;
        if (len - p < 2 || (oh = num(s + p, 2)) < 0 || oh > 23)
            goto out;
        p += 2;
        if (p < len && s[p] == ':')
            p++;
        if (p < len) {
            if (len - p < 2 || (om = num(s + p, 2)) < 0 || om > 59)
                goto out;
            p += 2;
        } else if (s[p - 1] == ':') {
            goto out; /* "+05:" */
        }
    }
    if (p != len)
        goto out;

    if (sec == 60) { /* leap second: the last ms of the previous second */
        sec = 59;
        frac = 999;
    }
    t = head + sec;
    t -= (int64_t)sign * (oh * 3600 + om * 60);
    t = t * 1000 + frac;
    if (t < 0 || t > CLOCK_MS_MAX)
        goto out;
    *out_ms = t;
    rc = 0;
out:
    return rc;
}

/* Accepted: YYYY-MM-DD, then 'T', 't' or ' ', then HH:MM:SS, then an
 * optional fraction ('.' or ',', 1 to 9 digits, cut to ms), then 'Z', 'z',
 * +-HH:MM, +-HHMM, +-HH or nothing (UTC), then the end of the span.  Years
 * 1970-9999; an instant that the offset moves before 1970 or past 9999 is
 * refused too, so every accepted time can be formatted back.  *out_ms is
 * written only on success. */
int clock_parse_iso8601(const char *s, size_t len, int64_t *out_ms)
{
    int64_t head;

    /* YYYY-MM-DDTHH:MM:SS is 19 bytes, the shortest accepted form. */
    if (s == NULL || out_ms == NULL || len < 19 || (head = time_head(s)) < 0)
        return CLOCK_EINVAL;
    return time_tail(s, len, head, out_ms);
}

int clock_parse_iso8601_memo(struct clock_iso_memo *m, const char *s,
                             size_t len, int64_t *out_ms)
{
    if (s == NULL || out_ms == NULL || len < 19)
        return CLOCK_EINVAL;
    if (m->secs < 0 || memcmp(s, m->head, 16) != 0) {
        int64_t head = time_head(s);

        if (head < 0)
            return CLOCK_EINVAL;
        memcpy(m->head, s, 16);
        m->secs = head;
    }
    return time_tail(s, len, m->secs, out_ms);
}

/* Write v as exactly n decimal digits (v >= 0 and < 10^n). */
static void put_digits(char *b, int n, int v)
{
    while (n-- > 0) {
        b[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

int clock_format_iso8601(int64_t ms, char *buf, size_t size)
{
    int rc = CLOCK_EINVAL;
    int64_t days, secs;
    int y, mo, d;

    if (buf == NULL || size < 25 || ms < 0 || ms > CLOCK_MS_MAX)
        goto out;
    days = ms / 86400000;
    secs = (ms % 86400000) / 1000;
    clock_civil_from_days(days, &y, &mo, &d);
    put_digits(buf, 4, y);
    buf[4] = '-';
    put_digits(buf + 5, 2, mo);
    buf[7] = '-';
    put_digits(buf + 8, 2, d);
    buf[10] = 'T';
    put_digits(buf + 11, 2, (int)(secs / 3600));
    buf[13] = ':';
    put_digits(buf + 14, 2, (int)(secs / 60 % 60));
    buf[16] = ':';
    put_digits(buf + 17, 2, (int)(secs % 60));
    buf[19] = '.';
    put_digits(buf + 20, 3, (int)(ms % 1000));
    buf[23] = 'Z';
    buf[24] = '\0';
    rc = 24;
out:
    return rc;
}

void clock_iso_memo_init(struct clock_iso_memo *m)
{
    memset(m->head, 0, sizeof m->head);
    m->secs = -1;
}

/* ---- HTTP dates --------------------------------------------------------- */

/* The unread rest of an HTTP-date: [p, end). */
struct cursor {
    const char *p;
    const char *end;
};

/* Exactly n digits. */
static int take_digits(struct cursor *c, int n, int *out)
{
    int v;

    if (c->end - c->p < n || (v = num(c->p, (size_t)n)) < 0)
        return -1;
    c->p += n;
    *out = v;
    return 0;
}

static int take_lit(struct cursor *c, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return -1;
    c->p += n;
    return 0;
}

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
static const char *const day_short[7] = {"Mon", "Tue", "Wed", "Thu",
                                         "Fri", "Sat", "Sun"};
static const char *const day_long[7] = {"Monday",   "Tuesday", "Wednesday",
                                        "Thursday", "Friday",  "Saturday",
                                        "Sunday"};

static int take_month(struct cursor *c, int *month)
{
    for (int i = 0; i < 12; i++) {
        if (take_lit(c, month_names[i]) == 0) {
            *month = i + 1;
            return 0;
        }
    }
    return -1;
}

static int take_day_name(struct cursor *c, const char *const *names)
{
    for (int i = 0; i < 7; i++) {
        if (take_lit(c, names[i]) == 0)
            return 0;
    }
    return -1;
}

/* "HH:MM:SS" */
static int take_clock(struct cursor *c, int *h, int *m, int *s)
{
    if (take_digits(c, 2, h) || take_lit(c, ":") || take_digits(c, 2, m) ||
        take_lit(c, ":") || take_digits(c, 2, s))
        return -1;
    return 0;
}

/* One of the three forms, tried in turn from the start of the span; the
 * caller checks that the form ended where the span does. */
static int take_http_date(struct cursor *c, int64_t *out_ms)
{
    struct cursor save = *c;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;

    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    if (take_day_name(c, day_short) == 0 && take_lit(c, ", ") == 0 &&
        take_digits(c, 2, &d) == 0 && take_lit(c, " ") == 0 &&
        take_month(c, &mo) == 0 && take_lit(c, " ") == 0 &&
        take_digits(c, 4, &y) == 0 && take_lit(c, " ") == 0 &&
        take_clock(c, &h, &mi, &s) == 0 && take_lit(c, " GMT") == 0)
        goto check;
    /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit year: 1970-2069) */
    *c = save;
    if (take_day_name(c, day_long) == 0 && take_lit(c, ", ") == 0 &&
        take_digits(c, 2, &d) == 0 && take_lit(c, "-") == 0 &&
        take_month(c, &mo) == 0 && take_lit(c, "-") == 0 &&
        take_digits(c, 2, &y) == 0 && take_lit(c, " ") == 0 &&
        take_clock(c, &h, &mi, &s) == 0 && take_lit(c, " GMT") == 0) {
        y += y < 70 ? 2000 : 1900;
        goto check;
    }
    /* asctime: Sun Nov  6 08:49:37 1994 */
    *c = save;
    if (take_day_name(c, day_short) == 0 && take_lit(c, " ") == 0 &&
        take_month(c, &mo) == 0 && take_lit(c, " ") == 0) {
        if (c->p < c->end && *c->p == ' ') {
            c->p++;
            if (take_digits(c, 1, &d))
                return -1;
        } else if (take_digits(c, 2, &d)) {
            return -1;
        }
        if (take_lit(c, " ") == 0 && take_clock(c, &h, &mi, &s) == 0 &&
            take_lit(c, " ") == 0 && take_digits(c, 4, &y) == 0)
            goto check;
    }
    return -1;
check:
    if (y < 1970 || d < 1 || d > clock_days_in_month(y, mo) || h > 23 ||
        mi > 59 || s > 60)
        return -1;
    *out_ms = clock_civil_to_ms(y, mo, d, h, mi, s > 59 ? 59 : s);
    return 0;
}

int clock_parse_http_date(const char *s, size_t len, int64_t *out_ms)
{
    struct cursor c = {s, s + len};
    int64_t when = 0;

    if (s == NULL || out_ms == NULL || take_http_date(&c, &when) != 0 ||
        c.p != c.end)
        return CLOCK_EINVAL;
    *out_ms = when;
    return 0;
}
