/*
 * window.c - fixed-memory time-bucket ring (see window.h for semantics).
 *
 * Bucket index of time t is floor(t / bucket_ms) (floor also for negative
 * times); its position in the ring is index mod nbuckets.  An empty ring
 * has head == WIN_EMPTY and all counters zero.
 */
#include "detectors/window.h"

#include <string.h>

#define WIN_EMPTY INT64_MIN

int64_t win_bucket(const win_spec *s, int64_t t)
{
    int64_t q = t / s->bucket_ms;

    return (t % s->bucket_ms != 0 && t < 0) ? q - 1 : q;
}

uint32_t win_pos(const win_spec *s, int64_t idx)
{
    int64_t m = idx % (int64_t)s->nbuckets;

    return (uint32_t)(m < 0 ? m + s->nbuckets : m);
}

int win_spec_init(win_spec *s, int64_t window_ms, int64_t bucket_ms,
                  unsigned nfields)
{
    int64_t n;

    if (window_ms <= 0 || nfields < 1 || nfields > WIN_MAX_FIELDS ||
        bucket_ms < 0)
        return WIN_EINVAL;
    if (bucket_ms == 0) {
        n = WIN_DEFAULT_BUCKETS;
        while (n > 1 && window_ms % n != 0)
            n--;
        bucket_ms = window_ms / n;
    }
    if (window_ms % bucket_ms != 0)
        return WIN_EINVAL;
    n = window_ms / bucket_ms;
    if (n < 1 || n > WIN_MAX_BUCKETS)
        return WIN_EINVAL;
    s->window_ms = window_ms;
    s->bucket_ms = bucket_ms;
    s->nbuckets = (uint32_t)n;
    s->nfields = nfields;
    return WIN_OK;
}

size_t win_ring_size(const win_spec *s)
{
    return sizeof(win_ring) +
           (size_t)s->nbuckets * s->nfields * sizeof(uint32_t);
}

void win_ring_reset(const win_spec *s, win_ring *r)
{
    memset(r, 0, win_ring_size(s));
    r->head = WIN_EMPTY;
}

/* Move head to bucket index `idx` (> head), zeroing what expires. */
static void move_head(const win_spec *s, win_ring *r, int64_t idx)
{
    unsigned nf = s->nfields;

    if (r->head == WIN_EMPTY) {
        r->head = idx;
        return;
    }
    if (idx - r->head >= (int64_t)s->nbuckets) {
        memset(r->b, 0, (size_t)s->nbuckets * nf * sizeof(uint32_t));
        memset(r->sum, 0, sizeof r->sum);
    } else {
        for (int64_t k = r->head + 1; k <= idx; k++) {
            uint32_t *c = r->b + (size_t)win_pos(s, k) * nf;
            for (unsigned f = 0; f < nf; f++) {
                r->sum[f] -= c[f];
                c[f] = 0;
            }
        }
    }
    r->head = idx;
}

__attribute__((hot))
void win_advance(const win_spec *s, win_ring *r, int64_t now_ms)
{
    int64_t idx = win_bucket(s, now_ms);

    if (r->head != WIN_EMPTY && idx > r->head)
        move_head(s, r, idx);
}

__attribute__((hot))
int win_add(const win_spec *s, win_ring *r, int64_t now_ms, int64_t t_ms,
            const uint32_t *vals)
{
    int64_t idx;
    uint32_t *c;

    if (t_ms > now_ms)
        t_ms = now_ms;
    idx = win_bucket(s, now_ms);
    if (r->head == WIN_EMPTY || idx > r->head)
        move_head(s, r, idx);
    idx = win_bucket(s, t_ms);
    if (idx <= r->head - (int64_t)s->nbuckets)
        return WIN_LATE;
    if (idx > r->head) /* now_ms behind the ring: count in the newest */
        idx = r->head;
    c = r->b + (size_t)win_pos(s, idx) * s->nfields;
    for (unsigned f = 0; f < s->nfields; f++) {
        uint32_t v = vals[f];
        if (v > UINT32_MAX - c[f])
            v = UINT32_MAX - c[f];
        c[f] += v;
        r->sum[f] += v;
    }
    return WIN_OK;
}

__attribute__((hot))
uint64_t win_sum(const win_spec *s, win_ring *r, int64_t now_ms, unsigned f)
{
    if (f >= s->nfields)
        return 0;
    win_advance(s, r, now_ms);
    return r->sum[f];
}

__attribute__((hot))
int64_t win_next_expiry(const win_spec *s, const win_ring *r)
{
    int64_t n = (int64_t)s->nbuckets;

    if (r->head == WIN_EMPTY)
        return INT64_MAX;
    /* oldest bucket in the window first */
    for (int64_t k = r->head - n + 1; k <= r->head; k++) {
        const uint32_t *c = r->b + (size_t)win_pos(s, k) * s->nfields;
        for (unsigned f = 0; f < s->nfields; f++)
            if (c[f] != 0)
                return (k + n) * s->bucket_ms;
    }
    return INT64_MAX;
}
