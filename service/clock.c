/*
 * clock.c - thin wrappers over clock_gettime, one place to read time.
 */
#include "service/clock.h"

#include <time.h>

static int64_t read_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t clock_wall_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

/* Days from 1970-01-01 to year-month-day: the era-based computation for the
 * proleptic Gregorian calendar (400-year eras of 146097 days). */
static int64_t days_from_civil(int64_t y, int m, int d)
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
    int64_t days = days_from_civil(year, month, day);

    return ((days * 24 + hour) * 60 + min) * 60000 + (int64_t)sec * 1000;
}
