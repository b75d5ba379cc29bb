/*
 * backoff.c - retry timing and the Retry-After header parser.
 *
 * Invariants: every computation saturates instead of overflowing; the
 * parser reads only [v, v + len) and accepts a value only when the whole
 * (trimmed) input matches one of the allowed forms.  Delta-seconds are
 * read here; an HTTP-date is base/clock.c's (clock_parse_http_date), the
 * one place dates are parsed.
 */
#include "base/backoff.h"

#include "base/clock.h"

static uint64_t grow(uint64_t base, unsigned shift, uint64_t cap)
{
    if (base == 0)
        return 0;
    for (unsigned i = 0; i < shift; i++) {
        if (base >= cap || base > UINT64_MAX / 2)
            return cap;
        base *= 2;
    }
    return base < cap ? base : cap;
}

uint64_t backoff_floor_jitter_ms(uint64_t base_ms, uint64_t cap_ms,
                                 unsigned attempt, uint64_t rnd)
{
    uint64_t hi;

    if (base_ms >= cap_ms)
        return base_ms;
    hi = grow(base_ms, attempt + 1, cap_ms);
    if (hi <= base_ms)
        return base_ms;
    return base_ms + rnd % (hi - base_ms + 1);
}

uint64_t backoff_full_jitter_ms(uint64_t base_ms, uint64_t cap_ms,
                                unsigned attempt, uint64_t rnd)
{
    uint64_t hi = grow(base_ms < cap_ms ? base_ms : cap_ms, attempt, cap_ms);

    if (hi == UINT64_MAX)
        return rnd;
    return rnd % (hi + 1);
}

void backoff_rng_seed(backoff_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t backoff_rng_next(backoff_rng *r)
{
    uint64_t x = r->s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ---- Retry-After ---------------------------------------------------- */

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

int backoff_parse_retry_after(const char *v, size_t len, int64_t now_wall_ms,
                              uint64_t max_ms, uint64_t *delay_ms)
{
    const char *p = v, *end;
    uint64_t secs = 0;
    int64_t when = 0;
    int rc = BACKOFF_EINVAL;

    if (v == NULL)
        goto out;
    end = v + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (p == end)
        goto out;
    if (is_digit((unsigned char)*p)) {
        for (; p < end; p++) {
            if (!is_digit((unsigned char)*p))
                goto out;
            /* saturate: a number too large for 64 bits is "forever",
             * capped at max_ms below (found by fuzz_retry_after) */
            if (secs > (UINT64_MAX - 9) / 10)
                secs = UINT64_MAX;
            else
                secs = secs * 10 + (uint64_t)(*p - '0');
        }
        *delay_ms = secs > max_ms / 1000 ? max_ms : secs * 1000;
        rc = BACKOFF_OK;
        goto out;
    }
    if (clock_parse_http_date(p, (size_t)(end - p), &when) != 0)
        goto out;
    if (when <= now_wall_ms)
        *delay_ms = 0;
    else if ((uint64_t)(when - now_wall_ms) > max_ms)
        *delay_ms = max_ms;
    else
        *delay_ms = (uint64_t)(when - now_wall_ms);
    rc = BACKOFF_OK;
out:
    return rc;
}
