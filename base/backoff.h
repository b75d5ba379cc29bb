/*
 * backoff.h - when to try again: exponential backoff with jitter, and the
 * HTTP Retry-After header.
 *
 * Pure functions: the caller passes the random number and the wall clock,
 * so every bound is unit-testable.  Retry-After is untrusted input from the
 * network: the parser never reads past `len` and rejects anything that is
 * not exactly delta-seconds or an HTTP-date.
 */
#ifndef TW_BACKOFF_H
#define TW_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

enum { BACKOFF_OK = 0, BACKOFF_EINVAL = -1 };

/* Delay before retry number `attempt` (0 = the first retry after a
 * failure), uniform in [base, min(cap, base * 2^(attempt+1))] using `rnd`.
 * The floor is `base` so a server's `retry:` request is always honoured;
 * when base >= cap the delay is base.  Never overflows. */
uint64_t backoff_floor_jitter_ms(uint64_t base_ms, uint64_t cap_ms,
                                 unsigned attempt, uint64_t rnd);

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
uint64_t backoff_full_jitter_ms(uint64_t base_ms, uint64_t cap_ms,
                                unsigned attempt, uint64_t rnd);

/* Parse a Retry-After value: delta-seconds ("120") or an HTTP-date as
 * clock_parse_http_date() (base/clock.h) reads it (IMF-fixdate
 * "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994"
 * forms).  Surrounding spaces and tabs are ignored.  *delay_ms receives the
 * delay from `now_wall_ms` (0 for a date in the past), saturated at
 * `max_ms`.  Returns BACKOFF_OK or BACKOFF_EINVAL. */
int backoff_parse_retry_after(const char *v, size_t len, int64_t now_wall_ms,
                              uint64_t max_ms, uint64_t *delay_ms);

/* A small, fast PRNG for jitter (xorshift64*), seeded by the caller. */
typedef struct backoff_rng {
    uint64_t s; /* private */
} backoff_rng;

void backoff_rng_seed(backoff_rng *r, uint64_t seed);
uint64_t backoff_rng_next(backoff_rng *r);

#endif
