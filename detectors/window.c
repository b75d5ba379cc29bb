/*
 * window.c - time-bucket windows: the dense ring, the sparse list and the
 * checkpoint bytes of both (see window.h for semantics and invariants).
 *
 * Bucket index of time t is floor(t / bucket_ms) (floor also for negative
 * times); its position in a ring is index mod nbuckets.  An empty ring
 * has head == WIN_EMPTY and all counters zero; so has an empty sparse
 * window (and no chunks).
 */
#include "detectors/window.h"

#include <stdlib.h>
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

/* ---- checkpoint bytes ---- */

int win_put(buf *out, uint64_t v, unsigned bytes)
{
    unsigned char b[8];

    for (unsigned i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return buf_append(out, b, bytes) == BUF_OK ? 0 : -1;
}

uint64_t win_get(win_rd *rd, unsigned bytes)
{
    uint64_t v = 0;

    if (rd->bad || rd->left < bytes) {
        rd->bad = 1;
    } else {
        for (unsigned i = 0; i < bytes; i++)
            v |= (uint64_t)rd->p[i] << (8 * i);
        rd->p += bytes;
        rd->left -= bytes;
    }
    return v;
}

int win_ring_save(const win_spec *s, const win_ring *r, buf *out)
{
    int rc = 0;

    for (int64_t k = r->head - s->nbuckets + 1; k <= r->head && rc == 0; k++)
        for (unsigned f = 0; f < s->nfields && rc == 0; f++)
            rc = win_put(out, r->b[(size_t)win_pos(s, k) * s->nfields + f],
                         4);
    return rc;
}

int win_ring_load(const win_spec *s, win_ring *r, int64_t head, win_rd *rd)
{
    win_ring_reset(s, r);
    r->head = head;
    for (int64_t k = head - s->nbuckets + 1; k <= head; k++)
        for (unsigned f = 0; f < s->nfields; f++) {
            uint32_t v = (uint32_t)win_get(rd, 4);
            r->b[(size_t)win_pos(s, k) * s->nfields + f] = v;
            r->sum[f] += v;
        }
    return rd->bad ? -1 : 0;
}

/* ---- sparse windows ---- */

#define PER WIN_SP_PER_CHUNK

/* A chunk of entries: bucket index (low 16 bits) and value, after the
 * chain's link (chunks.h). */
struct sp_chunk {
    uint32_t next;
    uint16_t idx[PER];
    win_val v[PER];
};

_Static_assert(sizeof(struct sp_chunk) == WIN_SP_CHUNK,
               "a sparse chunk is WIN_SP_CHUNK bytes");

static struct sp_chunk *sp_chunk(const chunks_pool *p, uint32_t c)
{
    return chunks_at(p, c);
}

/* The full bucket index of a stored low half, against head (the entry is
 * within N < 2^16 buckets of it). */
static int64_t sp_index(int64_t head, uint16_t lo)
{
    return head - (uint16_t)((uint16_t)head - lo);
}

/* The bucket index of the entry at a. */
static int64_t sp_idx_at(const chunks_pool *p, const win_sparse *w,
                         chunks_pos a)
{
    return sp_index(w->head, sp_chunk(p, a.c)->idx[a.i]);
}

chunks_pool *win_sp_pool_create(const win_spec *s, uint32_t groups)
{
    chunks_pool *p = malloc(sizeof *p);

    if (p != NULL &&
        chunks_init(p, WIN_SP_CHUNK,
                    (uint64_t)groups * chunks_chain_max(PER, s->nbuckets),
                    PER, 0) != CHUNKS_OK) {
        free(p);
        p = NULL;
    }
    return p;
}

void win_sp_pool_destroy(chunks_pool *p)
{
    if (p != NULL)
        chunks_fini(p);
    free(p);
}

void win_sp_init(win_sparse *w)
{
    memset(w, 0, sizeof *w);
    w->head = WIN_EMPTY;
}

void win_sp_reset(chunks_pool *p, win_sparse *w)
{
    chunks_chain_free(p, &w->ch);
    win_sp_init(w);
}

void win_sp_move(const win_spec *s, chunks_pool *p, win_sparse *w,
                 int64_t now_ms, uint64_t *gone)
{
    int64_t nb = win_bucket(s, now_ms);
    chunks_pos a;

    if (w->head != WIN_EMPTY && nb <= w->head)
        goto out;
    /* indexes are read against the old head, before it moves */
    while (w->ch.len > 0 &&
           sp_idx_at(p, w, a = chunks_front(&w->ch)) <=
               nb - (int64_t)s->nbuckets) {
        if (gone != NULL) {
            gone[0] += sp_chunk(p, a.c)->v[a.i].n[0];
            gone[1] += sp_chunk(p, a.c)->v[a.i].n[1];
        }
        chunks_pop(p, &w->ch);
    }
    w->head = nb;
out:
    return;
}

/* Bucket b, older than the newest entry: found, or made in its place
 * (the newer entries move up one). */
static int sp_insert(chunks_pool *p, win_sparse *w, int64_t b, win_val **v)
{
    chunks_pos a = chunks_front(&w->ch), end, at;
    uint32_t k = 0;
    uint16_t ci = (uint16_t)b;
    win_val cv = {0};
    int rc = WIN_OK;

    while (sp_idx_at(p, w, a) < b) {
        chunks_next(p, &a);
        k++;
    }
    if (sp_idx_at(p, w, a) != b) {
        if (chunks_push(p, &w->ch, &end) != CHUNKS_OK) {
            rc = WIN_ENOMEM;
            goto out;
        }
        /* carry each entry from a on one place up */
        at = a;
        for (uint32_t j = k; j + 1 < w->ch.len; j++) {
            struct sp_chunk *c = sp_chunk(p, at.c);
            uint16_t ti = c->idx[at.i];
            win_val tv = c->v[at.i];

            c->idx[at.i] = ci;
            c->v[at.i] = cv;
            ci = ti;
            cv = tv;
            chunks_next(p, &at);
        }
        sp_chunk(p, end.c)->idx[end.i] = ci;
        sp_chunk(p, end.c)->v[end.i] = cv;
    }
    *v = &sp_chunk(p, a.c)->v[a.i];
out:
    return rc;
}

__attribute__((hot))
int win_sp_add(const win_spec *s, chunks_pool *p, win_sparse *w,
               int64_t now_ms, int64_t t_ms, win_val **v)
{
    chunks_pos a;
    int64_t b, newest = WIN_EMPTY;
    int rc = WIN_OK;

    win_sp_advance(s, p, w, now_ms, NULL);
    /* at or before the head: the head holds the newest now seen; the
     * usual time, in the head bucket, seen as win_sp_advance() does */
    if (t_ms > now_ms)
        t_ms = now_ms;
    if ((uint64_t)t_ms - (uint64_t)w->head * (uint64_t)s->bucket_ms <
        (uint64_t)s->bucket_ms)
        b = w->head;
    else
        b = win_bucket(s, t_ms);
    if (b <= w->head - (int64_t)s->nbuckets) {
        rc = WIN_LATE;
        goto out;
    }
    if (v == NULL)
        goto out;
    if (w->ch.len > 0) {
        a = chunks_back(&w->ch);
        newest = sp_idx_at(p, w, a);
    }
    if (w->ch.len > 0 && b < newest) {
        rc = sp_insert(p, w, b, v);
    } else {
        if (w->ch.len == 0 || b > newest) {
            if (chunks_push(p, &w->ch, &a) != CHUNKS_OK) {
                rc = WIN_ENOMEM;
                goto out;
            }
            sp_chunk(p, a.c)->idx[a.i] = (uint16_t)b;
            memset(&sp_chunk(p, a.c)->v[a.i], 0, sizeof(win_val));
        }
        *v = &sp_chunk(p, a.c)->v[a.i];
    }
out:
    return rc;
}

void win_sp_iter_init(win_sp_iter *it, const chunks_pool *p,
                      const win_sparse *w)
{
    it->p = p;
    it->head = w->head;
    it->at = chunks_front(&w->ch);
    it->left = w->ch.len;
}

__attribute__((hot))
const win_val *win_sp_next(win_sp_iter *it, int64_t *idx)
{
    const win_val *v = NULL;
    const struct sp_chunk *c;

    if (it->left == 0)
        goto out;
    c = sp_chunk(it->p, it->at.c);
    v = &c->v[it->at.i];
    if (idx != NULL)
        *idx = sp_index(it->head, c->idx[it->at.i]);
    if (--it->left > 0)
        chunks_next(it->p, &it->at);
out:
    return v;
}

__attribute__((hot))
win_val *win_sp_newest(const chunks_pool *p, const win_sparse *w)
{
    chunks_pos a;

    if (w->ch.len == 0)
        return NULL;
    a = chunks_back(&w->ch);
    return &sp_chunk(p, a.c)->v[a.i];
}

int64_t win_sp_next_expiry(const win_spec *s, const chunks_pool *p,
                           const win_sparse *w)
{
    int64_t t = INT64_MAX;

    if (w->ch.len > 0)
        t = (sp_idx_at(p, w, chunks_front(&w->ch)) +
             s->nbuckets) * s->bucket_ms;
    return t;
}

size_t win_sp_save_bytes(const win_spec *s)
{
    return 1 + 8 + 2 + (size_t)s->nbuckets * (2 + 8);
}

int win_sp_save(const win_spec *s, const chunks_pool *p, const win_sparse *w,
                enum win_val_kind k, buf *out)
{
    win_sp_iter it;
    const win_val *v;
    int64_t idx;
    uint64_t bits;
    int rc;

    rc = win_put(out, 1, 1);
    if (rc == 0)
        rc = win_put(out,
                     (uint64_t)(w->head == WIN_EMPTY ? WIN_EMPTY
                                                     : w->head * s->bucket_ms),
                     8);
    if (rc == 0)
        rc = win_put(out, w->ch.len, 2);
    win_sp_iter_init(&it, p, w);
    while (rc == 0 && (v = win_sp_next(&it, &idx)) != NULL) {
        if (k == WIN_VAL_SUM)
            memcpy(&bits, &v->d, sizeof bits);
        else
            bits = v->n[0] | (uint64_t)v->n[1] << 32;
        rc = win_put(out, (uint64_t)(w->head - idx), 2);
        if (rc == 0)
            rc = win_put(out, bits, 8);
    }
    return rc;
}

/* Is v a value save could have written for kind k? */
static int sp_valid(enum win_val_kind k, const win_val *v)
{
    if (k == WIN_VAL_SUM)
        return v->d > 0; /* NaN, zero and negative fail */
    return v->n[0] >= 1 && v->n[1] <= v->n[0];
}

int win_sp_load(const win_spec *s, chunks_pool *p, win_sparse *w,
                enum win_val_kind k, const unsigned char *in, size_t n)
{
    win_rd rd = {in, n, 0};
    int64_t head_ms;
    uint32_t cnt, prev = s->nbuckets;
    int rc = -1;

    win_sp_reset(p, w);
    if (win_get(&rd, 1) != 1)
        goto out;
    head_ms = (int64_t)win_get(&rd, 8);
    cnt = (uint32_t)win_get(&rd, 2);
    if (rd.bad)
        goto out;
    if (head_ms == WIN_EMPTY) {
        rc = cnt == 0 && rd.left == 0 ? 0 : -1;
        goto out;
    }
    if (head_ms < -WIN_TIME_MAX || head_ms > WIN_TIME_MAX ||
        head_ms % s->bucket_ms != 0 || cnt > s->nbuckets)
        goto out;
    w->head = head_ms / s->bucket_ms;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t age = (uint32_t)win_get(&rd, 2);
        uint64_t bits = win_get(&rd, 8);
        chunks_pos a;
        win_val v;

        if (k == WIN_VAL_SUM) {
            memcpy(&v.d, &bits, sizeof v.d);
        } else {
            v.n[0] = (uint32_t)bits;
            v.n[1] = (uint32_t)(bits >> 32);
        }
        /* ages strictly decreasing from under N: sorted, in the window */
        if (rd.bad || age >= prev || !sp_valid(k, &v) ||
            chunks_push(p, &w->ch, &a) != CHUNKS_OK)
            goto out;
        prev = age;
        sp_chunk(p, a.c)->idx[a.i] = (uint16_t)(w->head - age);
        sp_chunk(p, a.c)->v[a.i] = v;
    }
    rc = rd.left == 0 ? 0 : -1;
out:
    if (rc != 0)
        win_sp_reset(p, w);
    return rc;
}
