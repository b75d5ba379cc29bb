/*
 * test_tz.c - alerts/tz.c: zone names, TZif images (the system's and
 * hand-made ones, hostile ones cut at every length), the footer's POSIX
 * rule, and the offsets and local times of Europe/Berlin and
 * America/New_York at the exact instants of their 2026 changes.
 *
 * The differential test compares tz_local() with glibc's localtime_r()
 * for several zones from 1970 to 2100 (past the last transition of the
 * files, where the footer rule decides).  It sets TZ for this test
 * process only: the service never does (tz.h says why).
 */
#include "alerts/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/clock.h"

#define H 3600000LL
#define MS(y, mo, d, h, mi) (clock_civil_to_ms((y), (mo), (d), (h), (mi), 0))

static tz *load(const char *name)
{
    tz *z = NULL;

    assert_int_equal(tz_load(NULL, name, &z), TZ_OK);
    assert_non_null(z);
    return z;
}

static void test_names(void **state)
{
    static const char *const good[] = {"UTC", "Europe/Berlin",
        "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Etc/GMT-14",
        "America/Port-au-Prince", "a.b", "x..y"};
    static const char *const bad[] = {"", "/etc/passwd", "../etc/passwd",
        "Europe/../../etc/passwd", "Europe/..", "./UTC", "Europe//Berlin",
        "Europe/", "-x", "Europe/Ber lin", "Europe/Berlin\n", "a\\b",
        "Europe/Berlin;rm", "0123456789012345678901234567890123456789"
        "012345678901234567890123"};

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(tz_name_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tz *z = (tz *)1;

        assert_false(tz_name_ok(bad[i]));
        assert_int_equal(tz_load(NULL, bad[i], &z), TZ_EINVAL);
        assert_null(z);
    }
}

static void test_load_errors(void **state)
{
    tz *z = NULL;

    (void)state;
    assert_int_equal(tz_load(NULL, "Mars/Olympus_Mons", &z), TZ_ENOENT);
    assert_null(z);
    /* a directory of the database is no zone */
    assert_int_equal(tz_load(NULL, "Europe", &z), TZ_ENOENT);
    /* a file of the database that is not TZif */
    assert_int_equal(tz_load(NULL, "zone.tab", &z), TZ_EINVAL);
    assert_int_equal(tz_load("/nonexistent", "UTC", &z), TZ_ENOENT);
    assert_string_equal(tz_strerror(TZ_ENOENT), "unknown time zone");
}

/* The offsets on either side of each 2026 change, to the millisecond. */
static void test_berlin_and_new_york_2026(void **state)
{
    tz *be = load("Europe/Berlin"), *ny = load("America/New_York");
    const int64_t be_spring = MS(2026, 3, 29, 1, 0);
    const int64_t be_fall = MS(2026, 10, 25, 1, 0);
    const int64_t ny_spring = MS(2026, 3, 8, 7, 0);
    const int64_t ny_fall = MS(2026, 11, 1, 6, 0);
    struct tz_local l;

    (void)state;
    assert_string_equal(tz_name(be), "Europe/Berlin");
    assert_int_equal(tz_utoff(be, be_spring - 1), 3600);
    assert_int_equal(tz_utoff(be, be_spring), 7200);
    assert_int_equal(tz_utoff(be, be_fall - 1), 7200);
    assert_int_equal(tz_utoff(be, be_fall), 3600);
    assert_int_equal(tz_utoff(ny, ny_spring - 1), -5 * 3600);
    assert_int_equal(tz_utoff(ny, ny_spring), -4 * 3600);
    assert_int_equal(tz_utoff(ny, ny_fall - 1), -4 * 3600);
    assert_int_equal(tz_utoff(ny, ny_fall), -5 * 3600);

    /* Berlin's wall clock jumps from 01:59:59 to 03:00:00 */
    tz_local(be, be_spring - 1000, &l);
    assert_int_equal(l.hour * 10000 + l.min * 100 + l.sec, 15959);
    tz_local(be, be_spring, &l);
    assert_int_equal(l.hour * 10000 + l.min * 100 + l.sec, 30000);
    assert_int_equal(l.wday, 0); /* a Sunday */
    assert_int_equal(l.year * 10000 + l.month * 100 + l.day, 20260329);
    /* ... and reads 02:30 twice in October */
    tz_local(be, be_fall - 30 * 60000, &l);
    assert_int_equal(l.hour * 100 + l.min, 230);
    tz_local(be, be_fall + 30 * 60000, &l);
    assert_int_equal(l.hour * 100 + l.min, 230);
    assert_int_equal(l.utoff, 3600);
    /* New York: 01:59:59 EST, then 03:00 EDT; 01:30 twice in November */
    tz_local(ny, ny_spring - 1000, &l);
    assert_int_equal(l.hour * 10000 + l.min * 100 + l.sec, 15959);
    tz_local(ny, ny_spring, &l);
    assert_int_equal(l.hour * 100 + l.min, 300);
    tz_local(ny, ny_fall - 30 * 60000, &l);
    assert_int_equal(l.hour * 100 + l.min, 130);
    tz_local(ny, ny_fall + 30 * 60000, &l);
    assert_int_equal(l.hour * 100 + l.min, 130);
    assert_int_equal(l.utoff, -5 * 3600);
    tz_destroy(be);
    tz_destroy(ny);
}

/* tz_local() against glibc's localtime_r() for each zone, every 7 hours
 * and 13 minutes from 1970 to 2100, and at each change +-1 s. */
static void test_against_glibc(void **state)
{
    static const char *const zones[] = {"Europe/Berlin", "America/New_York",
        "Australia/Sydney", "Europe/Dublin", "Asia/Jerusalem",
        "America/Nuuk", "Asia/Kolkata", "UTC", "Pacific/Chatham",
        "America/Sao_Paulo"};
    const int64_t step = 7 * H + 13 * 60000, end = MS(2100, 1, 1, 0, 0);

    (void)state;
    for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++) {
        char env[96];
        tz *z = load(zones[k]);
        int32_t prev = tz_utoff(z, 0);
        unsigned checked = 0;

        snprintf(env, sizeof env, ":%s", zones[k]);
        setenv("TZ", env, 1);
        tzset();
        for (int64_t t = 0; t < end; t += step) {
            /* the instant of a change: check its neighbourhood */
            int64_t around[3] = {t, t, t};
            int n = 1;

            if (tz_utoff(z, t) != prev) {
                int64_t lo = (t - step) / 1000, hi = t / 1000;

                /* the first second of the new offset */
                while (hi - lo > 1) {
                    int64_t mid = lo + (hi - lo) / 2;

                    if (tz_utoff(z, mid * 1000) == prev)
                        lo = mid;
                    else
                        hi = mid;
                }
                around[1] = (hi - 1) * 1000;
                around[2] = hi * 1000;
                n = 3;
                prev = tz_utoff(z, t);
            }
            for (int i = 0; i < n; i++) {
                time_t tt = (time_t)(around[i] / 1000);
                struct tm tm;
                struct tz_local l;

                assert_non_null(localtime_r(&tt, &tm));
                tz_local(z, around[i], &l);
                if (l.year != tm.tm_year + 1900 ||
                    l.month != tm.tm_mon + 1 || l.day != tm.tm_mday ||
                    l.hour != tm.tm_hour || l.min != tm.tm_min ||
                    l.sec != tm.tm_sec || l.wday != tm.tm_wday ||
                    l.utoff != tm.tm_gmtoff)
                    fail_msg("%s at %lld: %04d-%02d-%02d %02d:%02d:%02d "
                             "%+d, glibc %04d-%02d-%02d %02d:%02d:%02d %+ld",
                             zones[k], (long long)tt, l.year, l.month,
                             l.day, l.hour, l.min, l.sec, (int)l.utoff,
                             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                             tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_gmtoff);
                checked++;
            }
        }
        assert_true(checked > 100000);
        tz_destroy(z);
    }
    unsetenv("TZ");
    tzset();
}

/* ---- hand-made images ------------------------------------------------- */

struct img {
    unsigned char b[1024];
    size_t n;
};

static void put32(struct img *m, uint32_t v)
{
    m->b[m->n++] = (unsigned char)(v >> 24);
    m->b[m->n++] = (unsigned char)(v >> 16);
    m->b[m->n++] = (unsigned char)(v >> 8);
    m->b[m->n++] = (unsigned char)v;
}

static void put64(struct img *m, int64_t v)
{
    put32(m, (uint32_t)((uint64_t)v >> 32));
    put32(m, (uint32_t)v);
}

static void header(struct img *m, char version, uint32_t ntime,
                   uint32_t ntype, uint32_t nchar)
{
    memcpy(m->b + m->n, "TZif", 4);
    m->n += 4;
    m->b[m->n++] = (unsigned char)version;
    memset(m->b + m->n, 0, 15);
    m->n += 15;
    put32(m, 0);
    put32(m, 0);
    put32(m, 0);
    put32(m, ntime);
    put32(m, ntype);
    put32(m, nchar);
}

/* A version 2 image: an empty version 1 block (one type), then
 * `ntime` transitions at[] to the types idx[] of utoff[], and the footer
 * rule. */
static void image(struct img *m, uint32_t ntime, const int64_t *at,
                  const unsigned char *idx, uint32_t ntype,
                  const int32_t *utoff, const char *footer)
{
    memset(m, 0, sizeof *m);
    header(m, '2', 0, 1, 4);
    put32(m, 0);
    m->b[m->n++] = 0;
    m->b[m->n++] = 0;
    memcpy(m->b + m->n, "UTC", 4);
    m->n += 4;
    header(m, '2', ntime, ntype, 4);
    for (uint32_t i = 0; i < ntime; i++)
        put64(m, at[i]);
    for (uint32_t i = 0; i < ntime; i++)
        m->b[m->n++] = idx[i];
    for (uint32_t i = 0; i < ntype; i++) {
        put32(m, (uint32_t)utoff[i]);
        m->b[m->n++] = 0;
        m->b[m->n++] = 0;
    }
    memcpy(m->b + m->n, "ABC", 4);
    m->n += 4;
    m->n += (size_t)snprintf((char *)m->b + m->n, sizeof m->b - m->n,
                             "\n%s\n", footer);
}

/* A rule only ("slim" file): Berlin's present rule decides 2026. */
static void test_footer_rule_only(void **state)
{
    static const int32_t off[] = {3600};
    struct img m;
    tz *z = NULL;

    (void)state;
    image(&m, 0, NULL, NULL, 1, off, "CET-1CEST,M3.5.0,M10.5.0/3");
    assert_int_equal(tz_parse("Slim/Berlin", m.b, m.n, &z), TZ_OK);
    assert_int_equal(tz_utoff(z, MS(2026, 3, 29, 1, 0) - 1), 3600);
    assert_int_equal(tz_utoff(z, MS(2026, 3, 29, 1, 0)), 7200);
    assert_int_equal(tz_utoff(z, MS(2026, 10, 25, 1, 0) - 1), 7200);
    assert_int_equal(tz_utoff(z, MS(2026, 10, 25, 1, 0)), 3600);
    /* 2027: the last Sundays are March 28 and October 31 */
    assert_int_equal(tz_utoff(z, MS(2027, 3, 28, 1, 0)), 7200);
    assert_int_equal(tz_utoff(z, MS(2027, 10, 31, 1, 0) - 1), 7200);
    tz_destroy(z);

    /* daylight time all year ("0/0,J365/25") and Jn / n dates */
    image(&m, 0, NULL, NULL, 1, off, "EST5EDT,0/0,J365/25");
    assert_int_equal(tz_parse("All/Year", m.b, m.n, &z), TZ_OK);
    assert_int_equal(tz_utoff(z, MS(2026, 1, 1, 12, 0)), -4 * 3600);
    assert_int_equal(tz_utoff(z, MS(2026, 7, 1, 12, 0)), -4 * 3600);
    assert_int_equal(tz_utoff(z, MS(2028, 12, 31, 12, 0)), -4 * 3600);
    tz_destroy(z);
    image(&m, 0, NULL, NULL, 1, off, "<+0530>-5:30");
    assert_int_equal(tz_parse("Fixed", m.b, m.n, &z), TZ_OK);
    assert_int_equal(tz_utoff(z, MS(2026, 6, 1, 0, 0)), 5 * 3600 + 1800);
    tz_destroy(z);
    /* an empty footer: the last type stays */
    image(&m, 0, NULL, NULL, 1, off, "");
    assert_int_equal(tz_parse("Empty", m.b, m.n, &z), TZ_OK);
    assert_int_equal(tz_utoff(z, MS(2026, 6, 1, 0, 0)), 3600);
    tz_destroy(z);
}

static void test_transitions_then_rule(void **state)
{
    static const int64_t at[] = {1000, 2000};
    static const unsigned char idx[] = {1, 0};
    static const int32_t off[] = {3600, 7200};
    struct img m;
    tz *z = NULL;

    (void)state;
    image(&m, 2, at, idx, 2, off, "<+05>-5");
    assert_int_equal(tz_parse("T", m.b, m.n, &z), TZ_OK);
    assert_int_equal(tz_utoff(z, 999999), 3600);   /* before: type 0 */
    assert_int_equal(tz_utoff(z, 1000000), 7200);
    assert_int_equal(tz_utoff(z, 1999999), 7200);
    assert_int_equal(tz_utoff(z, 2000000), 5 * 3600); /* the rule */
    tz_destroy(z);
}

static void test_bad_images(void **state)
{
    static const int64_t at[] = {2000, 1000}, ordered[] = {1000, 2000};
    static const unsigned char idx[] = {0, 0}, bad_idx[] = {0, 5};
    static const int32_t off[] = {3600}, big[] = {27 * 3600};
    static const char *const bad_rules[] = {"CET", "C-1", "CET-1CEST",
        "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
        "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0",
        "CET-1CEST,J0,J365", "CET-25", "CET-1CEST,M3.5.0,M10.5.0/168",
        "<AB>1", "CET-1 ", "CET-1CEST,M3.5.0,M10.5.0,"};
    struct img m;
    tz *z = (tz *)1;

    (void)state;
    image(&m, 2, at, idx, 1, off, "");
    assert_int_equal(tz_parse("X", m.b, m.n, &z), TZ_EINVAL); /* order */
    assert_null(z);
    image(&m, 2, ordered, bad_idx, 1, off, ""); /* index past the types */
    assert_int_equal(tz_parse("X", m.b, m.n, &z), TZ_EINVAL);
    image(&m, 0, NULL, NULL, 1, big, "");
    assert_int_equal(tz_parse("X", m.b, m.n, &z), TZ_EINVAL);
    for (size_t i = 0; i < sizeof bad_rules / sizeof bad_rules[0]; i++) {
        image(&m, 0, NULL, NULL, 1, off, bad_rules[i]);
        if (tz_parse("X", m.b, m.n, &z) != TZ_EINVAL)
            fail_msg("footer %s accepted", bad_rules[i]);
    }
    image(&m, 0, NULL, NULL, 1, off, "CET-1CEST,M3.5.0,M10.5.0/3");
    m.b[0] = 'X';
    assert_int_equal(tz_parse("X", m.b, m.n, &z), TZ_EINVAL);
    m.b[0] = 'T';
    m.b[4] = '9';
    assert_int_equal(tz_parse("X", m.b, m.n, &z), TZ_EINVAL);
}

/* Every prefix of a real file, and every byte changed: refused or
 * parsed, never read past (ASan), and a parsed zone answers. */
static void test_hostile_prefixes_and_flips(void **state)
{
    FILE *f = fopen(TZ_DIR_DEFAULT "/Europe/Berlin", "rb");
    static unsigned char data[TZ_FILE_MAX];
    size_t n;

    (void)state;
    assert_non_null(f);
    n = fread(data, 1, sizeof data, f);
    fclose(f);
    assert_true(n > 100);
    for (size_t len = 0; len < n; len++) {
        unsigned char *copy = malloc(len + 1);
        tz *z = NULL;

        assert_non_null(copy);
        memcpy(copy, data, len);
        /* the footer's last newline is the last byte: every cut is bad */
        assert_int_equal(tz_parse("B", copy, len, &z), TZ_EINVAL);
        free(copy);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *copy = malloc(n);
        tz *z = NULL;

        assert_non_null(copy);
        memcpy(copy, data, n);
        copy[i] ^= 0xA5;
        if (tz_parse("B", copy, n, &z) == TZ_OK) {
            struct tz_local l;
            tz_local(z, MS(2026, 3, 29, 1, 0), &l);
            tz_local(z, MS(2090, 3, 29, 1, 0), &l);
            tz_destroy(z);
        }
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_berlin_and_new_york_2026),
        cmocka_unit_test(test_against_glibc),
        cmocka_unit_test(test_footer_rule_only),
        cmocka_unit_test(test_transitions_then_rule),
        cmocka_unit_test(test_bad_images),
        cmocka_unit_test(test_hostile_prefixes_and_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
