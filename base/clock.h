/*
 * clock.h - the two clocks the shells read.  Pure cores (parser, detectors)
 * never call these: they take `now_ms` as a parameter, so tests control time.
 */
#ifndef TW_CLOCK_H
#define TW_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: for timeouts, backoff, stall checks. */
int64_t clock_mono_ms(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for event time. */
int64_t clock_wall_ms(void);



/* Calendar arithmetic for the parsers and formatters (proleptic Gregorian,
 * UTC).  Pure: no clock, no locale, no timegm. */

/* 28..31; month 1..12. */
int clock_days_in_month(int year, int month);

/* Days from 1970-01-01 to year-month-day (negative before it). */
int64_t clock_days_from_civil(int64_t year, int month, int day);

/* Inverse of clock_days_from_civil. */
void clock_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Milliseconds since the epoch of a proleptic Gregorian UTC date-time.
 * Pure (no clock, no locale, no timegm).  Fields are not range-checked
 * here: callers validate them. */
int64_t clock_civil_to_ms(int year, int month, int day, int hour, int min,
                          int sec);
#endif
