/*
 * fuzz_time.c - libFuzzer target for the audit-record timestamp parser
 * (base/clock.c clock_parse_iso8601), differential.
 *
 * fuzz_event also parses its whole input as a time, but its corpus is JSON
 * records, so the time grammar gets little attention there.  Here every
 * input is a timestamp, in an exactly sized heap buffer (ASan sees any
 * read past `len`), and the result is compared with a reference written
 * apart from clock.c: a plain scan of the documented grammar
 *
 *   YYYY-MM-DD ('T' | 't' | ' ') HH:MM:SS [('.' | ',') 1-9 digits]
 *   ['Z' | 'z' | ('+' | '-') HH [[':'] MM]]
 *
 * with the date checked and converted by timegm(), years 1970-9999, the
 * instant (after the offset) from 1970-01-01 to 9999-12-31T23:59:59.999Z,
 * a leap second :60 read as :59.999, the fraction cut to milliseconds.
 * Accept/reject and the instant must agree.  Inputs whose first byte is
 * '~' are instead turned into a valid timestamp built from the remaining
 * bytes (every form, padding of the fraction, offsets), which must be
 * accepted with the instant the generator computed.  An accepted instant
 * must format back with clock_format_iso8601() and parse to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static void check(int cond)
{
    if (!cond)
        abort();
}

/* ---- the reference ---- */

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int reference(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
    size_t p = 19, nd = 0;
    struct tm tm;
    time_t t;
    int64_t r;

    if (len < 19 || !digits(s, 4, &y) || s[4] != '-' ||
        !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
        s[16] != ':' || !digits(s + 17, 2, &sec))
        return 0;
    if (p < len && (s[p] == '.' || s[p] == ',')) {
        p++;
        while (p + nd < len && s[p + nd] >= '0' && s[p + nd] <= '9')
            nd++;
        if (nd < 1 || nd > 9)
            return 0;
        for (size_t i = 0; i < 3; i++)
            ms = ms * 10 + (i < nd ? s[p + i] - '0' : 0);
        p += nd;
    }
    if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        sign = s[p] == '+' ? 1 : -1;
        p++;
        if (len - p < 2 || !digits(s + p, 2, &oh))
            return 0;
        p += 2;
        if (len - p == 3 && s[p] == ':' && digits(s + p + 1, 2, &om))
            p += 3;
        else if (len - p == 2 && digits(s + p, 2, &om))
            p += 2;
        if (oh > 23 || om > 59)
            return 0;
    }
    if (p != len)
        return 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 ||
        sec > 60)
        return 0;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec;
    t = timegm(&tm);
    /* timegm normalises 31 April to 1 May: a changed day is a bad date */
    if (tm.tm_mday != d || tm.tm_mon != mo - 1)
        return 0;
    r = ((int64_t)t - (int64_t)sign * (oh * 3600 + om * 60)) * 1000 +
        (sec == 60 ? 999 : ms);
    if (r < 0 || r > MAX_MS)
        return 0;
    *out = r;
    return 1;
}

/* ---- parsing with the exact length ---- */

static int parse(const char *s, size_t len, int64_t *out)
{
    char *copy = malloc(len > 0 ? len : 1);
    int64_t v = -12345;
    int rc;

    check(copy != NULL);
    memcpy(copy, s, len);
    rc = clock_parse_iso8601(copy, len, &v);
    check(rc == 0 || rc == CLOCK_EINVAL);
    if (rc != 0)
        check(v == -12345); /* written only on success */
    free(copy);
    *out = v;
    return rc == 0;
}

static void roundtrip(int64_t ms)
{
    char buf[25];
    int64_t back;

    check(ms >= 0 && ms <= MAX_MS);
    check(clock_format_iso8601(ms, buf, sizeof buf) == 24);
    check(parse(buf, 24, &back) && back == ms);
}

/* ---- generated valid timestamps ---- */

static uint64_t take(const uint8_t **p, const uint8_t *end, int n)
{
    uint64_t v = 0;

    while (n-- > 0) {
        v = v << 8 | (*p < end ? **p : 0);
        if (*p < end)
            (*p)++;
    }
    return v;
}

static void generated(const uint8_t *data, size_t size)
{
    const uint8_t *p = data + 1, *end = data + size;
    int64_t local_s = (int64_t)(take(&p, end, 5) % UINT64_C(253402300800));
    unsigned form = (unsigned)take(&p, end, 1);
    unsigned frac_digits = form % 10;        /* 0: no fraction */
    unsigned off_kind = form / 10 % 5;       /* Z, z, +-HH:MM, +-HHMM, +-HH */
    unsigned sep = (unsigned)take(&p, end, 1);
    uint64_t frac = take(&p, end, 4) % 1000000000u;
    int oh = (int)(take(&p, end, 1) % 24), om = (int)(take(&p, end, 1) % 60);
    int sign = take(&p, end, 1) & 1 ? 1 : -1;
    int leap = (sep & 8) != 0;
    char text[64], fr[16];
    unsigned ms3;
    time_t tt = (time_t)local_s;
    struct tm tm;
    int64_t want, got;
    size_t n;

    check(gmtime_r(&tt, &tm) != NULL);
    if (off_kind == 4)
        om = 0;
    if (off_kind < 2)
        oh = om = 0;
    n = (size_t)snprintf(text, sizeof text, "%04d-%02d-%02d%c%02d:%02d:%02d",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         "Tt "[sep % 3], tm.tm_hour, tm.tm_min,
                         leap && tm.tm_sec == 59 ? 60 : tm.tm_sec);
    want = local_s * 1000;
    if (frac_digits > 0) {
        snprintf(fr, sizeof fr, "%09llu", (unsigned long long)frac);
        n += (size_t)snprintf(text + n, sizeof text - n, "%c%.*s",
                              ".,"[(sep >> 2) & 1], (int)frac_digits, fr);
        /* the first three digits: "5" is .500, "12" is .120 */
        ms3 = (unsigned)(frac / 1000000u);
        if (frac_digits == 1)
            ms3 = ms3 / 100 * 100;
        else if (frac_digits == 2)
            ms3 = ms3 / 10 * 10;
        want += ms3;
    }
    if (leap && tm.tm_sec == 59)
        want = local_s * 1000 + 999;
    switch (off_kind) {
    case 0:
        text[n++] = 'Z';
        break;
    case 1:
        text[n++] = 'z';
        break;
    case 2:
        n += (size_t)snprintf(text + n, sizeof text - n, "%c%02d:%02d",
                              sign > 0 ? '+' : '-', oh, om);
        break;
    case 3:
        n += (size_t)snprintf(text + n, sizeof text - n, "%c%02d%02d",
                              sign > 0 ? '+' : '-', oh, om);
        break;
    default:
        n += (size_t)snprintf(text + n, sizeof text - n, "%c%02d",
                              sign > 0 ? '+' : '-', oh);
        break;
    }
    want -= (int64_t)sign * (oh * 3600 + om * 60) * 1000;
    if (want < 0 || want > MAX_MS) {
        check(!parse(text, n, &got));
        return;
    }
    check(parse(text, n, &got));
    check(got == want);
    roundtrip(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t got = 0, want = 0;
    int ok, ref;

    if (size > 0 && data[0] == '~') {
        generated(data, size);
        return 0;
    }
    ok = parse((const char *)data, size, &got);
    ref = reference((const char *)data, size, &want);
    check(ok == ref);
    if (ok) {
        check(got == want);
        roundtrip(got);
    }
    return 0;
}
