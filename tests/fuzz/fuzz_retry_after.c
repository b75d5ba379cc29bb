/*
 * fuzz_retry_after.c - libFuzzer target for the Retry-After parser
 * (base/backoff.c backoff_parse_retry_after) and the HTTP-date parser under
 * it (base/clock.c clock_parse_http_date).
 *
 * Retry-After comes from any receiver or stream server, so the parser is
 * fed hostile bytes in an exactly sized heap buffer (ASan sees any read
 * past `len`).  The first byte picks the mode:
 *
 *  - even: the rest after 7 bytes of parameters (max_ms, now) is the
 *    header value.  An accepted value must be, once spaces and tabs are
 *    trimmed, either all digits -- then the delay is min(seconds * 1000,
 *    max_ms), computed here without overflow -- or one of the three
 *    HTTP-date forms: the instant the parser found (asked with now = 0 and
 *    no cap) is formatted back with gmtime()/strftime() and must give the
 *    input again (the weekday is not checked by the parser; ":60" is read
 *    as ":59").  The delay for the fuzzed now and cap must be the instant
 *    less now, at least 0, at most max_ms.  A rejected value leaves
 *    *delay_ms alone.  A value that is not digits is accepted exactly when
 *    clock_parse_http_date() accepts its trimmed span, with the same
 *    instant.
 *  - odd: a valid value is generated from the bytes (delta-seconds with
 *    leading zeros, or an instant from 1970 to 9999 in one of the three
 *    forms, with padding) and must be accepted with the exact delay; the
 *    date without its padding must be clock_parse_http_date()'s instant,
 *    and with padding it must be refused there (trimming is the caller's).
 *
 * Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENTINEL UINT64_C(0xdeadbeefcafe)
#define MAX_SECS INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static void check(int cond)
{
    if (!cond)
        abort();
}

static const uint64_t caps[8] = {0,        1,        999,      1000,
                                 3600000,  86400000, UINT64_MAX / 2,
                                 UINT64_MAX};

static const char *const day_short[7] = {"Mon", "Tue", "Wed", "Thu",
                                         "Fri", "Sat", "Sun"};
static const char *const day_long[7] = {"Monday",   "Tuesday", "Wednesday",
                                        "Thursday", "Friday",  "Saturday",
                                        "Sunday"};

static uint64_t parse(const char *v, size_t len, int64_t now, uint64_t max,
                      int *rc)
{
    char *copy = malloc(len > 0 ? len : 1);
    uint64_t d = SENTINEL;

    check(copy != NULL);
    memcpy(copy, v, len);
    *rc = backoff_parse_retry_after(copy, len, now, max, &d);
    check(*rc == BACKOFF_OK || *rc == BACKOFF_EINVAL);
    if (*rc != BACKOFF_OK)
        check(d == SENTINEL);
    free(copy);
    return d;
}

/* clock_parse_http_date() on an exactly sized copy of t[0, n): 1 when
 * accepted (*ms set), 0 when refused (*ms untouched, checked). */
static int http_date(const char *t, size_t n, int64_t *ms)
{
    char *copy = malloc(n > 0 ? n : 1);
    int64_t v = -12345;
    int rc;

    check(copy != NULL);
    memcpy(copy, t, n);
    rc = clock_parse_http_date(copy, n, &v);
    check(rc == 0 || rc == CLOCK_EINVAL);
    if (rc != 0)
        check(v == -12345);
    free(copy);
    *ms = v;
    return rc == 0;
}

static uint64_t expect_clamped(int64_t when_ms, int64_t now, uint64_t max)
{
    uint64_t d;

    if (when_ms <= now)
        return 0;
    d = (uint64_t)(when_ms - now);
    return d > max ? max : d;
}

/* t[0, tn) against the formatted e: equal, except that t may say "60"
 * where e says "59" at sec_off (a leap second read as :59). */
static int same(const char *t, size_t tn, const char *e, size_t sec_off)
{
    size_t en = strlen(e);

    if (tn != en)
        return 0;
    if (memcmp(t, e, tn) == 0)
        return 1;
    return sec_off + 2 <= en && memcmp(e + sec_off, "59", 2) == 0 &&
           memcmp(t + sec_off, "60", 2) == 0 &&
           memcmp(t, e, sec_off) == 0 &&
           memcmp(t + sec_off + 2, e + sec_off + 2, en - sec_off - 2) == 0;
}

static size_t starts_with_any(const char *t, size_t n,
                              const char *const names[7])
{
    for (int i = 0; i < 7; i++) {
        size_t k = strlen(names[i]);
        if (n >= k && memcmp(t, names[i], k) == 0)
            return k;
    }
    return 0;
}

/* Is t[0, n) the instant `secs` written in one of the three forms? */
static int is_http_date(const char *t, size_t n, int64_t secs)
{
    time_t tt = (time_t)secs;
    struct tm tm;
    char e[64];
    size_t k;

    check(gmtime_r(&tt, &tm) != NULL);
    if ((k = starts_with_any(t, n, day_short)) != 0) {
        strftime(e, sizeof e, ", %d %b %Y %H:%M:%S GMT", &tm);
        if (same(t + k, n - k, e, 20))
            return 1;
        strftime(e, sizeof e, " %b %e %H:%M:%S %Y", &tm);
        if (same(t + k, n - k, e, 14))
            return 1;
        strftime(e, sizeof e, " %b %d %H:%M:%S %Y", &tm);
        if (same(t + k, n - k, e, 14))
            return 1;
    }
    if ((k = starts_with_any(t, n, day_long)) != 0 && tm.tm_year >= 70 &&
        tm.tm_year < 170) {
        strftime(e, sizeof e, ", %d-%b-%y %H:%M:%S GMT", &tm);
        if (same(t + k, n - k, e, 18))
            return 1;
    }
    return 0;
}

static void raw(const uint8_t *data, size_t size)
{
    uint64_t max, d, secs = 0;
    int64_t now = 0, when, hd;
    const char *v, *t, *end;
    size_t len, i;
    int rc, digits = 1, big = 0;

    if (size < 8)
        return;
    max = caps[data[0] >> 1 & 7];
    for (i = 1; i < 7; i++)
        now = now << 8 | data[i];
    now &= (INT64_C(1) << 47) - 1; /* a wall clock: year 1970 to ~6400 */
    v = (const char *)data + 7;
    len = size - 7;

    d = parse(v, len, now, max, &rc);
    t = v;
    end = v + len;
    while (t < end && (*t == ' ' || *t == '\t'))
        t++;
    while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (t == end) {
        check(rc == BACKOFF_EINVAL);
        return;
    }
    if (*t >= '0' && *t <= '9') {
        for (const char *p = t; p < end; p++) {
            if (*p < '0' || *p > '9') {
                digits = 0;
                break;
            }
            if (secs > UINT64_MAX / 10 - 10)
                big = 1;
            else
                secs = secs * 10 + (uint64_t)(*p - '0');
        }
        check((rc == BACKOFF_OK) == digits);
        if (digits)
            check(d == (big || secs > UINT64_MAX / 1000 || secs * 1000 > max
                            ? max
                            : secs * 1000));
        return;
    }
    /* not digits: a date, exactly when the clock reads one */
    check((rc == BACKOFF_OK) == http_date(t, (size_t)(end - t), &hd));
    if (rc != BACKOFF_OK)
        return;
    /* a date: find its instant, then check the text and the delay */
    when = (int64_t)parse(v, len, 0, UINT64_MAX, &rc);
    check(rc == BACKOFF_OK);
    check(when == hd);
    check(when >= 0 && when % 1000 == 0 && when / 1000 <= MAX_SECS);
    check(is_http_date(t, (size_t)(end - t), when / 1000));
    check(d == expect_clamped(when, now, max));
}

/* ---- generated valid values ---- */

static void generated(const uint8_t *data, size_t size)
{
    char text[96], body[64];
    const char *pad = " \t";
    uint64_t x = 0, d;
    size_t i, n = 0, lead, trail;
    int rc, form;

    for (i = 1; i < size && i < 9; i++)
        x = x << 8 | data[i];
    form = size > 9 ? data[9] % 5 : 0;
    lead = size > 10 ? data[10] % 4 : 0;
    trail = size > 10 ? data[10] / 4 % 4 : 0;

    for (i = 0; i < lead; i++)
        text[n++] = pad[(data[0] >> (i + 1)) & 1];
    if (form == 0) {
        /* delta-seconds, up to 3 leading zeros */
        uint64_t secs = x % UINT64_C(100000000000);
        int zeros = size > 11 ? data[11] % 4 : 0;
        snprintf(body, sizeof body, "%.*s%llu", zeros, "000",
                 (unsigned long long)secs);
        memcpy(text + n, body, strlen(body));
        n += strlen(body);
        for (i = 0; i < trail; i++)
            text[n++] = pad[(data[0] >> (i + 4)) & 1];
        d = parse(text, n, 0, UINT64_MAX, &rc);
        check(rc == BACKOFF_OK && d == secs * 1000);
        d = parse(text, n, 0, 3600000, &rc);
        check(rc == BACKOFF_OK && d == (secs > 3600 ? 3600000 : secs * 1000));
        return;
    } else {
        int64_t secs = (int64_t)(x % (uint64_t)(MAX_SECS + 1)), hd;
        int leap = size > 11 && data[11] & 1;
        int wday = size > 11 ? data[11] / 2 % 7 : 0;
        time_t tt;
        struct tm tm;
        char tail[64];
        size_t sec_off;

        if (form == 3) /* RFC 850: two-digit years 1970..2069 only */
            secs %= INT64_C(3155760000);
        tt = (time_t)secs;
        check(gmtime_r(&tt, &tm) != NULL);
        if (form == 1) {
            strftime(tail, sizeof tail, ", %d %b %Y %H:%M:%S GMT", &tm);
            snprintf(body, sizeof body, "%s%s", day_short[wday], tail);
            sec_off = 3 + 20;
        } else if (form == 2) {
            strftime(tail, sizeof tail, " %b %e %H:%M:%S %Y", &tm);
            snprintf(body, sizeof body, "%s%s", day_short[wday], tail);
            sec_off = 3 + 14;
        } else if (form == 3) {
            strftime(tail, sizeof tail, ", %d-%b-%y %H:%M:%S GMT", &tm);
            snprintf(body, sizeof body, "%s%s", day_long[wday], tail);
            sec_off = strlen(day_long[wday]) + 18;
        } else {
            strftime(tail, sizeof tail, " %b %d %H:%M:%S %Y", &tm);
            snprintf(body, sizeof body, "%s%s", day_short[wday], tail);
            sec_off = 3 + 14;
        }
        if (leap && tm.tm_sec == 59)
            memcpy(body + sec_off, "60", 2);
        check(http_date(body, strlen(body), &hd) && hd == secs * 1000);
        memcpy(text + n, body, strlen(body));
        n += strlen(body);
        for (i = 0; i < trail; i++)
            text[n++] = pad[(data[0] >> (i + 4)) & 1];
        check(http_date(text, n, &hd) == (lead == 0 && trail == 0));
        d = parse(text, n, 0, UINT64_MAX, &rc);
        check(rc == BACKOFF_OK && d == (uint64_t)secs * 1000);
        /* from a later now: 0; from an earlier one: the difference */
        d = parse(text, n, secs * 1000 + 1, UINT64_MAX, &rc);
        check(rc == BACKOFF_OK && d == 0);
        if (secs > 0) {
            d = parse(text, n, secs * 1000 - 1, 5, &rc);
            check(rc == BACKOFF_OK && d == 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        generated(data, size);
    else
        raw(data, size);
    return 0;
}
