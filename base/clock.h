/*
 * clock.h - the two clocks the shells read, and every date text the
 * service reads or writes: ISO 8601 (audit records, alerts) and HTTP dates
 * (Retry-After).
 *
 * Pure cores (parser, detectors) never call clock_mono_ms/clock_wall_ms:
 * they take `now_ms` as a parameter, so tests control time.  The parsers
 * and the formatter are pure (no clock, no locale, no timegm) and read
 * only the span they are given: input from the network need not be
 * NUL-terminated.
 */
#ifndef TW_CLOCK_H
#define TW_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: for timeouts, backoff, stall checks. */
int64_t clock_mono_ms(void);

/* Microseconds on CLOCK_MONOTONIC: for measuring short work (a
 * checkpoint's serialization and write). */
int64_t clock_mono_us(void);

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

/* ---- ISO 8601 / RFC 3339 date-times ---- */

enum { CLOCK_EINVAL = -1 };

/* The last instant formattable with a four-digit year:
 * 9999-12-31T23:59:59.999Z. */
#define CLOCK_MS_MAX INT64_C(253402300799999)

/* Parse a date-time ("2026-03-10T02:47:23.123456+00:00", "...Z", "+05:30",
 * "-0800", "+05", a space or 't' instead of T) to ms since the epoch,
 * fraction truncated to ms.  A missing offset means UTC.  Years 1970-9999;
 * an instant that the offset moves out of [0, CLOCK_MS_MAX] is refused, so
 * every accepted time can be formatted back.  The span must hold the time
 * and nothing else.  *out_ms is written only on success.  Returns 0 or
 * CLOCK_EINVAL.  Pure; never reads the clock. */
int clock_parse_iso8601(const char *s, size_t len, int64_t *out_ms);

/* A memo for parsing a run of times that share their first 16 bytes (the
 * minute), as consecutive records do: the prefix's value is kept with its
 * bytes.  A plain value; CLOCK_ISO_MEMO_INIT or clock_iso_memo_init(). */
struct clock_iso_memo {
    char head[16];  /* private */
    int64_t secs;   /* private: the head's seconds; -1: nothing kept */
};
#define CLOCK_ISO_MEMO_INIT {{0}, -1}

void clock_iso_memo_init(struct clock_iso_memo *m);

/* clock_parse_iso8601() through memo m: same answers, same bytes read. */
int clock_parse_iso8601_memo(struct clock_iso_memo *m, const char *s,
                             size_t len, int64_t *out_ms);

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at
 * least 25 bytes).  Returns the length written (24), or CLOCK_EINVAL. */
int clock_format_iso8601(int64_t ms, char *buf, size_t size);

/* ---- HTTP dates (RFC 9110 section 5.6.7) ---- */

/* Parse an HTTP-date in any of its three forms: IMF-fixdate
 * "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete RFC 850 form
 * "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year is 1970-2069) and
 * asctime "Sun Nov  6 08:49:37 1994" (the day padded with a space, or two
 * digits), to ms since the epoch.  Names are case-sensitive; the weekday
 * must be a weekday name but is not checked against the date; years from
 * 1970; the day must exist in its month; ":60" (a leap second) reads as
 * ":59".  The span must hold the date and nothing else (no surrounding
 * space).  *out_ms is written only on success.  Returns 0 or CLOCK_EINVAL.
 * Pure; never reads the clock. */
int clock_parse_http_date(const char *s, size_t len, int64_t *out_ms);

#endif
