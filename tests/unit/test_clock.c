/*
 * test_clock.c - unit tests for base/clock.c: the calendar, ISO 8601
 * date-times (parse and format) and HTTP dates (the three forms of RFC 9110
 * section 5.6.7).
 *
 * Every text is parsed from a heap buffer of exactly its length, so
 * AddressSanitizer reports any read past `len` (the texts come from the
 * network and are not NUL-terminated).  Expected instants were computed
 * independently (Python's datetime), not with the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "iso8601_cases.h"

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define HTTP_NOW INT64_C(784111777000)

/* Parse `s` with `parse` (not NUL-terminated: exact-size heap copy). */
static int parse_with(int (*parse)(const char *, size_t, int64_t *),
                      const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    char *buf = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(buf);
    memcpy(buf, s, len);
    rc = parse(buf, len, ms);
    free(buf);
    return rc;
}

static int parse_time(const char *s, int64_t *ms)
{
    return parse_with(clock_parse_iso8601, s, ms);
}

static int parse_http(const char *s, int64_t *ms)
{
    return parse_with(clock_parse_http_date, s, ms);
}

/* ---- the calendar ------------------------------------------------------- */

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(clock_civil_to_ms(1970, 1, 1, 0, 0, 0), 0);
    assert_int_equal(clock_civil_to_ms(1994, 11, 6, 8, 49, 37), HTTP_NOW);
    assert_int_equal(clock_civil_to_ms(2000, 3, 1, 0, 0, 0),
                     951868800000LL);
    assert_int_equal(clock_civil_to_ms(2026, 3, 10, 2, 47, 23),
                     1773110843000LL);
}

/* ---- clock_parse_iso8601: the shared lists ------------------------------ */

static void test_equal_instants(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ISO_CASES(iso_same_instant); i++) {
        int64_t ms = -1;

        assert_int_equal(parse_time(iso_same_instant[i], &ms), 0);
        assert_int_equal(ms, TS_SPEC);
    }
}

static void test_bad_times(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ISO_CASES(iso_bad); i++) {
        int64_t ms = 12345;

        assert_int_equal(parse_time(iso_bad[i], &ms), CLOCK_EINVAL);
        assert_int_equal(ms, 12345); /* untouched on failure */
    }
}

/* ---- clock_parse_iso8601 ------------------------------------------------ */

static void test_fraction_digits(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        { "2026-03-10T02:47:23Z", TS_SPEC - 123 },
        { "2026-03-10T02:47:23.9Z", TS_SPEC - 123 + 900 },
        { "2026-03-10T02:47:23.12Z", TS_SPEC - 3 },
        { "2026-03-10T02:47:23.123Z", TS_SPEC },
        { "2026-03-10T02:47:23.1239Z", TS_SPEC },
        { "2026-03-10T02:47:23.12399Z", TS_SPEC },
        { "2026-03-10T02:47:23.123999Z", TS_SPEC },
        { "2026-03-10T02:47:23.1239999Z", TS_SPEC },
        { "2026-03-10T02:47:23.12399999Z", TS_SPEC },
        { "2026-03-10T02:47:23.123999999Z", TS_SPEC },
        { "2026-03-10T02:47:23.999999999Z", TS_SPEC - 123 + 999 },
        { "2026-03-10T02:47:23.000000000", TS_SPEC - 123 },
        { "2026-03-10T02:47:23,5+01:00", TS_SPEC - 123 + 500 - 3600000 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -1;

        assert_int_equal(parse_time(cases[i].s, &ms), 0);
        assert_int_equal(ms, cases[i].ms);
    }
}

static void test_leap_days(void **state)
{
    int64_t ms = -1;

    (void)state;
    assert_int_equal(parse_time("2024-02-29T12:00:00Z", &ms), 0);
    assert_int_equal(ms, INT64_C(1709208000000));
    assert_int_equal(parse_time("2000-02-29T23:59:59Z", &ms), 0);
    assert_int_equal(ms, INT64_C(951868799000));
    assert_int_equal(parse_time("2023-02-29T12:00:00Z", &ms), CLOCK_EINVAL);
    assert_int_equal(parse_time("2100-02-29T12:00:00Z", &ms), CLOCK_EINVAL);
    assert_int_equal(parse_time("2023-02-28T23:59:59.999Z", &ms), 0);
    assert_int_equal(parse_time("2100-03-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, INT64_C(4107542400000));
}

static void test_time_known_instants(void **state)
{
    int64_t ms = -1;

    (void)state;
    assert_int_equal(parse_time("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(parse_time("1970-01-01T01:00:00+01:00", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(parse_time("2000-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, INT64_C(946684800000));
    assert_int_equal(parse_time("2038-01-19T03:14:08Z", &ms), 0);
    assert_int_equal(ms, INT64_C(2147483648000));
    assert_int_equal(parse_time("9999-12-31T23:59:59.999Z", &ms), 0);
    assert_int_equal(ms, INT64_C(253402300799999));
    assert_int_equal(parse_time("9999-12-31T23:59:59.999+23:59", &ms), 0);
    assert_int_equal(ms, INT64_C(253402300799999) - 86340000);
    assert_int_equal(parse_time("1970-01-02T00:00:00+23:59", &ms), 0);
    assert_int_equal(ms, 60000);
}

static void test_leap_second(void **state)
{
    int64_t ms = -1;

    (void)state;
    /* :60 reads as :59.999 whatever its fraction. */
    assert_int_equal(parse_time("2016-12-31T23:59:60Z", &ms), 0);
    assert_int_equal(ms, INT64_C(1483228799999));
    assert_int_equal(parse_time("2016-12-31T23:59:60.5Z", &ms), 0);
    assert_int_equal(ms, INT64_C(1483228799999));
    assert_int_equal(parse_time("2017-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, INT64_C(1483228800000));
}

static void test_parse_time_length_bound(void **state)
{
    static const char s[] = "2026-03-10T02:47:23.123+05:30trailing";
    int64_t ms = -1;

    (void)state;
    /* Only `len` bytes count: every prefix is judged on its own. */
    assert_int_equal(clock_parse_iso8601(s, 19, &ms), 0);
    assert_int_equal(ms, TS_SPEC - 123);
    assert_int_equal(clock_parse_iso8601(s, 23, &ms), 0);
    assert_int_equal(ms, TS_SPEC);
    assert_int_equal(clock_parse_iso8601(s, 26, &ms), 0);
    assert_int_equal(ms, TS_SPEC - 5 * 3600000);
    assert_int_equal(clock_parse_iso8601(s, 29, &ms), 0);
    assert_int_equal(ms, TS_SPEC - 5 * 3600000 - 30 * 60000);
    assert_int_equal(clock_parse_iso8601(s, 18, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_iso8601(s, 20, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_iso8601(s, 27, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_iso8601(s, 28, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_iso8601(s, sizeof s - 1, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_iso8601(NULL, 20, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_iso8601(s, 23, NULL), CLOCK_EINVAL);
}

/* ---- clock_format_iso8601 ----------------------------------------------- */

static void test_format_time_round_trip(void **state)
{
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1, "1970-01-01T00:00:00.001Z" },
        { TS_SPEC, "2026-03-10T02:47:23.123Z" },
        { INT64_C(951868799000), "2000-02-29T23:59:59.000Z" },
        { INT64_C(1709208000000), "2024-02-29T12:00:00.000Z" },
        { INT64_C(2147483648000), "2038-01-19T03:14:08.000Z" },
        { INT64_C(4107542400000), "2100-03-01T00:00:00.000Z" },
        { INT64_C(253402300799999), "9999-12-31T23:59:59.999Z" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[25];
        int64_t back = -1;

        memset(buf, 'x', sizeof buf);
        assert_int_equal(clock_format_iso8601(cases[i].ms, buf, sizeof buf), 24);
        assert_string_equal(buf, cases[i].s);
        assert_int_equal(clock_parse_iso8601(buf, 24, &back), 0);
        assert_int_equal(back, cases[i].ms);
    }
}

static void test_format_time_every_day(void **state)
{
    int64_t day;

    (void)state;
    /* Every day from 1970 to 9999 (2932897 days), at a varying time of
     * day: format then parse gives the same instant, and the date moves
     * forward by exactly one day each step. */
    for (day = 0; day < 2932897; day++) {
        int64_t ms = day * 86400000 + (day * 7919) % 86400000;
        int64_t back = -1;
        char buf[32];

        assert_int_equal(clock_format_iso8601(ms, buf, sizeof buf), 24);
        if (clock_parse_iso8601(buf, 24, &back) != 0 || back != ms)
            fail_msg("day %lld: %s -> %lld", (long long)day, buf,
                     (long long)back);
    }
}

static void test_format_time_errors(void **state)
{
    char buf[64];

    (void)state;
    memset(buf, 0, sizeof buf);
    assert_int_equal(clock_format_iso8601(0, buf, 24), CLOCK_EINVAL);
    assert_int_equal(clock_format_iso8601(0, buf, 0), CLOCK_EINVAL);
    assert_int_equal(clock_format_iso8601(0, NULL, 25), CLOCK_EINVAL);
    assert_int_equal(clock_format_iso8601(-1, buf, sizeof buf), CLOCK_EINVAL);
    assert_int_equal(clock_format_iso8601(INT64_MIN, buf, sizeof buf),
                     CLOCK_EINVAL);
    assert_int_equal(clock_format_iso8601(INT64_C(253402300800000), buf,
                                       sizeof buf),
                     CLOCK_EINVAL);
    assert_int_equal(clock_format_iso8601(INT64_MAX, buf, sizeof buf),
                     CLOCK_EINVAL);
    assert_int_equal(buf[0], '\0'); /* nothing written on error */
    assert_int_equal(clock_format_iso8601(0, buf, 25), 24);
}

/* ---- clock_parse_http_date ---------------------------------------------- */

static void test_http_date_forms(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        /* the same instant in the three forms */
        { "Sun, 06 Nov 1994 08:49:37 GMT", HTTP_NOW },
        { "Sunday, 06-Nov-94 08:49:37 GMT", HTTP_NOW },
        { "Sun Nov  6 08:49:37 1994", HTTP_NOW },
        /* asctime with a two-digit day */
        { "Sun Nov 06 08:49:37 1994", HTTP_NOW },
        { "Thu Feb 29 00:00:10 2024", INT64_C(1709164810000) },
        /* RFC 850: 70..99 are 19xx, 00..69 are 20xx */
        { "Thursday, 01-Jan-70 00:00:00 GMT", 0 },
        { "Friday, 31-Dec-99 23:59:59 GMT", INT64_C(946684799000) },
        { "Thursday, 31-Dec-69 23:59:59 GMT", INT64_C(3155759999000) },
        { "Thu, 29 Feb 2024 00:00:10 GMT", INT64_C(1709164810000) },
        { "Fri, 31 Dec 9999 23:59:59 GMT", INT64_C(253402300799000) },
        /* a leap second reads as :59 */
        { "Sat, 31 Dec 2016 23:59:60 GMT", INT64_C(1483228799000) },
        /* the weekday is a name, not checked against the date */
        { "Mon, 06 Nov 1994 08:49:37 GMT", HTTP_NOW },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -1;

        if (parse_http(cases[i].s, &ms) != 0 || ms != cases[i].ms)
            fail_msg("\"%s\": %lld, want %lld", cases[i].s, (long long)ms,
                     (long long)cases[i].ms);
    }
}

static void test_http_date_invalid(void **state)
{
    static const char *const bad[] = {
        "", "Sun", "784111777",
        /* spaces are the caller's to trim */
        " Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
        "Sun, 06 Nov 1994 08:49:37 GMT\t",
        /* zone, case, names */
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 gmt",
        "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT", "Sund Nov  6 08:49:37 1994",
        /* digits and fields */
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 08:49:37", "Sun Nov 6 08:49:37 1994",
        "Sun Nov   6 08:49:37 1994", "Sun Nov  6 08:49:37 94",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        /* ranges */
        "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1993 08:49:37 GMT", "Sun, 29 Feb 2100 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1969 08:49:37 GMT",
        "Sun Nov  0 08:49:37 1994",
        /* more after the date */
        "Sun, 06 Nov 1994 08:49:37 GMT x", "Sun Nov  6 08:49:37 19945",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 77;

        if (parse_http(bad[i], &ms) != CLOCK_EINVAL || ms != 77)
            fail_msg("\"%s\" accepted (%lld)", bad[i], (long long)ms);
    }
}

static void test_http_date_length_bound(void **state)
{
    static const char s[] = "Sun, 06 Nov 1994 08:49:37 GMTSun Nov  6";
    int64_t ms = -1;

    (void)state;
    /* only `len` bytes count */
    assert_int_equal(clock_parse_http_date(s, 29, &ms), 0);
    assert_int_equal(ms, HTTP_NOW);
    assert_int_equal(clock_parse_http_date(s, 28, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_http_date(s, 30, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_http_date(s, 0, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_http_date(NULL, 29, &ms), CLOCK_EINVAL);
    assert_int_equal(clock_parse_http_date(s, 29, NULL), CLOCK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_equal_instants),
        cmocka_unit_test(test_bad_times),
        cmocka_unit_test(test_fraction_digits),
        cmocka_unit_test(test_leap_days),
        cmocka_unit_test(test_time_known_instants),
        cmocka_unit_test(test_leap_second),
        cmocka_unit_test(test_parse_time_length_bound),
        cmocka_unit_test(test_format_time_round_trip),
        cmocka_unit_test(test_format_time_every_day),
        cmocka_unit_test(test_format_time_errors),
        cmocka_unit_test(test_http_date_forms),
        cmocka_unit_test(test_http_date_invalid),
        cmocka_unit_test(test_http_date_length_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
