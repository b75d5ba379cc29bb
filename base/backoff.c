/*
 * backoff.c - retry timing and the Retry-After header parser.
 *
 * Invariants: every computation saturates instead of overflowing; the
 * parser reads only [v, v + len) and accepts a value only when the whole
 * (trimmed) input matches one of the allowed forms.
 */
#include "base/backoff.h"

#include "base/clock.h"

#include <string.h>
#include <strings.h>

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

struct cursor {
    const char *p;
    const char *end;
};

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Exactly n digits. */
static int take_digits(struct cursor *c, int n, int *out)
{
    int v = 0;

    if (c->end - c->p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!is_digit((unsigned char)c->p[i]))
            return -1;
        v = v * 10 + (c->p[i] - '0');
    }
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

/* One of the three HTTP-date forms (RFC 9110 section 5.6.7). */
static int parse_http_date(struct cursor *c, int64_t *out_ms)
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
    if (y < 1970 || d < 1 || d > clock_days_in_month(y, mo) || h > 23 || mi > 59 ||
        s > 60)
        return -1;
    *out_ms = clock_civil_to_ms(y, mo, d, h, mi, s > 59 ? 59 : s);
    return 0;
}

int backoff_parse_retry_after(const char *v, size_t len, int64_t now_wall_ms,
                              uint64_t max_ms, uint64_t *delay_ms)
{
    struct cursor c = {v, v + len};
    uint64_t secs = 0;
    int64_t when = 0;
    int rc = BACKOFF_EINVAL;

    if (v == NULL)
        goto out;
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
        c.p++;
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    if (c.p == c.end)
        goto out;
    if (is_digit((unsigned char)*c.p)) {
        for (; c.p < c.end; c.p++) {
            if (!is_digit((unsigned char)*c.p))
                goto out;
            /* saturate: a number too large for 64 bits is "forever",
             * capped at max_ms below (found by fuzz_retry_after) */
            if (secs > (UINT64_MAX - 9) / 10)
                secs = UINT64_MAX;
            else
                secs = secs * 10 + (uint64_t)(*c.p - '0');
        }
        *delay_ms = secs > max_ms / 1000 ? max_ms : secs * 1000;
        rc = BACKOFF_OK;
        goto out;
    }
    if (parse_http_date(&c, &when) != 0 || c.p != c.end)
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
