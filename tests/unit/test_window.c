/*
 * test_window.c - the time-bucket ring: shapes, add, expiry at bucket
 * boundaries, late events, saturation, next expiry, its checkpoint bytes;
 * the sparse list: entries made and given back, out-of-order buckets,
 * bucket indexes across 2^16, the pool's bound, the same sums as a ring on
 * random streams, its checkpoint bytes (round trips, hostile and
 * truncated bytes refused); the little-endian reader.
 */
#include "detectors/window.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static win_ring *ring_new(const win_spec *s)
{
    win_ring *r = malloc(win_ring_size(s));

    assert_non_null(r);
    win_ring_reset(s, r);
    return r;
}

static void test_spec(void **state)
{
    win_spec s;

    (void)state;
    assert_int_equal(win_spec_init(&s, 60000, 0, 1), WIN_OK);
    assert_int_equal(s.nbuckets, 60);
    assert_int_equal(s.bucket_ms, 1000);
    assert_int_equal(win_ring_size(&s), 24 + 240);
    assert_int_equal(win_spec_init(&s, 3600000, 0, 2), WIN_OK);
    assert_int_equal(s.nbuckets, 60);
    assert_int_equal(s.bucket_ms, 60000);
    assert_int_equal(win_ring_size(&s), 24 + 480);
    /* 7 s does not split into 60: the largest count <= 60 that divides */
    assert_int_equal(win_spec_init(&s, 7000, 0, 1), WIN_OK);
    assert_int_equal(s.nbuckets, 56);
    assert_int_equal(s.bucket_ms, 125);
    /* explicit widths */
    assert_int_equal(win_spec_init(&s, 60000, 250, 1), WIN_OK);
    assert_int_equal(s.nbuckets, 240);
    assert_int_equal(win_spec_init(&s, 60000, 7, 1), WIN_EINVAL);
    assert_int_equal(win_spec_init(&s, 60000, 10, 1), WIN_EINVAL); /* 6000 */
    assert_int_equal(win_spec_init(&s, 60000, 0, 0), WIN_EINVAL);
    assert_int_equal(win_spec_init(&s, 60000, 0, 3), WIN_EINVAL);
    assert_int_equal(win_spec_init(&s, 0, 0, 1), WIN_EINVAL);
}

static void test_add_and_expire(void **state)
{
    static const uint32_t one[1] = {1};
    win_spec s;
    win_ring *r;

    (void)state;
    win_spec_init(&s, 60000, 0, 1);
    r = ring_new(&s);
    assert_int_equal(win_sum(&s, r, 0, 0), 0);
    assert_int_equal(win_next_expiry(&s, r), INT64_MAX);
    /* 100 events at 10.5 s */
    for (int i = 0; i < 100; i++)
        assert_int_equal(win_add(&s, r, 10500, 10500, one), WIN_OK);
    assert_int_equal(win_sum(&s, r, 10500, 0), 100);
    /* bucket 10 leaves at (10 + 60) s */
    assert_int_equal(win_next_expiry(&s, r), 70000);
    assert_int_equal(win_sum(&s, r, 69999, 0), 100);
    assert_int_equal(win_sum(&s, r, 70000, 0), 0);
    assert_int_equal(win_next_expiry(&s, r), INT64_MAX);
    /* an event counts for (W - B, W]: at 70.999 it lasts until 130 s */
    win_add(&s, r, 70999, 70999, one);
    assert_int_equal(win_sum(&s, r, 129999, 0), 1);
    assert_int_equal(win_sum(&s, r, 130000, 0), 0);
    free(r);
}

static void test_late_and_old_buckets(void **state)
{
    static const uint32_t one[1] = {1};
    win_spec s;
    win_ring *r;

    (void)state;
    win_spec_init(&s, 60000, 0, 1);
    r = ring_new(&s);
    assert_int_equal(win_add(&s, r, 100000, 100000, one), WIN_OK);
    /* 59 s old: bucket 41 is still in (41..100] */
    assert_int_equal(win_add(&s, r, 100000, 41000, one), WIN_OK);
    /* bucket 40 has left the window */
    assert_int_equal(win_add(&s, r, 100000, 40999, one), WIN_LATE);
    assert_int_equal(win_add(&s, r, 100000, 1000, one), WIN_LATE);
    assert_int_equal(win_sum(&s, r, 100000, 0), 2);
    assert_int_equal(win_next_expiry(&s, r), 101000);
    /* a time after now counts in the newest bucket */
    assert_int_equal(win_add(&s, r, 100000, 500000, one), WIN_OK);
    assert_int_equal(win_sum(&s, r, 100999, 0), 3);
    /* a jump of more than a window clears everything */
    assert_int_equal(win_sum(&s, r, 1000000, 0), 0);
    free(r);
}

static void test_two_fields_and_step(void **state)
{
    win_spec s;
    win_ring *r;
    uint32_t v[2];

    (void)state;
    win_spec_init(&s, 10000, 1000, 2);
    r = ring_new(&s);
    for (int t = 0; t < 20; t++) {
        v[0] = 1;
        v[1] = (uint32_t)(t % 2);
        win_add(&s, r, t * 1000, t * 1000, v);
        /* the last 10 seconds: t-9..t */
        uint64_t want = t < 9 ? (uint64_t)t + 1 : 10;
        assert_int_equal(win_sum(&s, r, t * 1000, 0), want);
    }
    assert_int_equal(win_sum(&s, r, 19000, 1), 5);
    assert_int_equal(win_sum(&s, r, 19000, 2), 0); /* no such field */
    /* expire one bucket at a time */
    assert_int_equal(win_next_expiry(&s, r), 20000);
    assert_int_equal(win_sum(&s, r, 20000, 0), 9);
    assert_int_equal(win_sum(&s, r, 25000, 0), 4);
    assert_int_equal(win_sum(&s, r, 25000, 1), 2);
    free(r);
}

static void test_saturation(void **state)
{
    win_spec s;
    win_ring *r;
    uint32_t big[1] = {UINT32_MAX - 1}, two[1] = {2};

    (void)state;
    win_spec_init(&s, 2000, 1000, 1);
    r = ring_new(&s);
    win_add(&s, r, 0, 0, big);
    win_add(&s, r, 0, 0, two); /* saturates the bucket */
    assert_int_equal(win_sum(&s, r, 0, 0), UINT32_MAX);
    win_add(&s, r, 1000, 1000, two);
    assert_int_equal(win_sum(&s, r, 1000, 0), (uint64_t)UINT32_MAX + 2);
    assert_int_equal(win_sum(&s, r, 2000, 0), 2);
    free(r);
}

static void test_negative_times(void **state)
{
    static const uint32_t one[1] = {1};
    win_spec s;
    win_ring *r;

    (void)state;
    win_spec_init(&s, 3000, 1000, 1);
    r = ring_new(&s);
    win_add(&s, r, -1500, -1500, one); /* bucket -2 */
    assert_int_equal(win_next_expiry(&s, r), 1000);
    assert_int_equal(win_sum(&s, r, 999, 0), 1);
    assert_int_equal(win_sum(&s, r, 1000, 0), 0);
    free(r);
}

static void test_ring_save_load(void **state)
{
    static const uint32_t v[2] = {3, 1};
    win_spec s;
    win_ring *r, *q;
    buf b;
    win_rd rd;

    (void)state;
    win_spec_init(&s, 10000, 1000, 2);
    r = ring_new(&s);
    q = ring_new(&s);
    win_add(&s, r, 5000, 5000, v);
    win_add(&s, r, 12000, 9000, v);
    win_add(&s, r, 12000, 12000, v);
    buf_init(&b, 1024);
    assert_int_equal(win_ring_save(&s, r, &b), 0);
    assert_int_equal(b.len, 10 * 2 * 4);
    rd = (win_rd){(unsigned char *)b.data, b.len, 0};
    assert_int_equal(win_ring_load(&s, q, win_bucket(&s, 12000), &rd), 0);
    assert_int_equal(rd.left, 0);
    for (int64_t t = 12000; t < 23000; t += 500) {
        assert_int_equal(win_sum(&s, q, t, 0), win_sum(&s, r, t, 0));
        assert_int_equal(win_sum(&s, q, t, 1), win_sum(&s, r, t, 1));
        assert_int_equal(win_next_expiry(&s, q), win_next_expiry(&s, r));
    }
    rd = (win_rd){(unsigned char *)b.data, b.len - 1, 0};
    assert_int_equal(win_ring_load(&s, q, 12, &rd), -1);
    buf_free(&b);
    free(r);
    free(q);
}

static void test_reader(void **state)
{
    static const unsigned char in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    win_rd rd = {in, sizeof in, 0};
    buf b;

    (void)state;
    assert_int_equal(win_get(&rd, 1), 1);
    assert_int_equal(win_get(&rd, 2), 0x0302);
    assert_int_equal(win_get(&rd, 4), 0x07060504);
    assert_int_equal(win_get(&rd, 4), 0); /* 2 left */
    assert_true(rd.bad);
    assert_int_equal(win_get(&rd, 1), 0); /* bad stays */
    buf_init(&b, 3);
    assert_int_equal(win_put(&b, 0x0102, 2), 0);
    assert_memory_equal(b.data, "\x02\x01", 2);
    assert_int_equal(win_put(&b, 0x0102, 2), -1); /* full */
    buf_free(&b);
}

/* ---- sparse windows ---- */

/* The values of w, oldest first, as "idx:value" text. */
static void sp_text(const chunks_pool *p, const win_sparse *w, char *out,
                    size_t size)
{
    win_sp_iter it;
    const win_val *v;
    int64_t idx;
    size_t n = 0;

    out[0] = '\0';
    win_sp_iter_init(&it, p, w);
    while ((v = win_sp_next(&it, &idx)) != NULL && n < size)
        n += (size_t)snprintf(out + n, size - n, "%s%lld:%g",
                              n ? " " : "", (long long)idx, v->d);
}

/* win_sp_add() of x at t, now. */
static int sp_add(const win_spec *s, chunks_pool *p, win_sparse *w,
                  int64_t now, int64_t t, double x)
{
    win_val *v = NULL;
    int rc = win_sp_add(s, p, w, now, t, &v);

    if (rc == WIN_OK)
        v->d += x;
    return rc;
}

/* A pool of `groups` windows of 60 s in buckets of 1 s, and one window
 * of it, empty. */
static chunks_pool *sp_open(win_spec *s, win_sparse *w, uint32_t groups)
{
    chunks_pool *p;

    assert_int_equal(win_spec_init(s, 60000, 0, 1), WIN_OK);
    p = win_sp_pool_create(s, groups);
    assert_non_null(p);
    win_sp_init(w);
    return p;
}

static void test_sparse_add_and_expire(void **state)
{
    win_spec s;
    chunks_pool *p;
    win_sparse w;
    char text[512];

    (void)state;
    p = sp_open(&s, &w, 2);
    /* 60 entries from any start: 11 chunks a group */
    assert_int_equal(p->cap, 2 * 11);
    assert_int_equal(p->size, 64);
    assert_int_equal(win_sp_next_expiry(&s, p, &w), INT64_MAX);
    for (int i = 0; i < 7; i++) /* buckets 10, 12, .. 22 */
        assert_int_equal(sp_add(&s, p, &w, 10500 + 2000 * i,
                                10500 + 2000 * i, i + 1),
                         WIN_OK);
    assert_int_equal(sp_add(&s, p, &w, 22500, 22000, 0.5), WIN_OK);
    assert_int_equal(w.ch.len, 7);
    assert_int_equal(p->used, 2);
    sp_text(p, &w, text, sizeof text);
    assert_string_equal(text, "10:1 12:2 14:3 16:4 18:5 20:6 22:7.5");
    /* bucket 10 leaves at 70 s */
    assert_int_equal(win_sp_next_expiry(&s, p, &w), 70000);
    win_sp_advance(&s, p, &w, 69999, NULL);
    assert_int_equal(w.ch.len, 7);
    win_sp_advance(&s, p, &w, 70000, NULL);
    assert_int_equal(w.ch.len, 6);
    assert_int_equal(win_sp_next_expiry(&s, p, &w), 72000);
    /* late: bucket 10 has left; only the lateness when v is NULL */
    assert_int_equal(sp_add(&s, p, &w, 70000, 10999, 1), WIN_LATE);
    assert_int_equal(win_sp_add(&s, p, &w, 70000, 11000, NULL), WIN_OK);
    assert_int_equal(w.ch.len, 6);
    /* a time after now counts in now's bucket */
    assert_int_equal(sp_add(&s, p, &w, 70000, 99000, 1), WIN_OK);
    sp_text(p, &w, text, sizeof text);
    assert_string_equal(text, "12:2 14:3 16:4 18:5 20:6 22:7.5 70:1");
    /* the first chunk (10 .. 20) goes back when its last entry leaves, at
     * 80 s */
    win_sp_advance(&s, p, &w, 79999, NULL);
    assert_int_equal(p->used, 2);
    win_sp_advance(&s, p, &w, 80000, NULL);
    assert_int_equal(w.ch.len, 2);
    assert_int_equal(p->used, 1);
    win_sp_advance(&s, p, &w, 82000, NULL);
    assert_int_equal(w.ch.len, 1);
    /* a jump past the window empties it */
    win_sp_advance(&s, p, &w, 1000000, NULL);
    assert_int_equal(w.ch.len, 0);
    assert_int_equal(p->used, 0);
    assert_int_equal(win_sp_next_expiry(&s, p, &w), INT64_MAX);
    win_sp_pool_destroy(p);
    win_sp_pool_destroy(NULL);
}

/* Buckets older than the newest: found, or made in their place, across
 * chunks. */
static void test_sparse_out_of_order(void **state)
{
    win_spec s;
    chunks_pool *p;
    win_sparse w;
    char text[512];

    (void)state;
    p = sp_open(&s, &w, 1);
    for (int i = 0; i < 7; i++) /* buckets 0, 2, .. 12 */
        sp_add(&s, p, &w, 20000, 2000 * i, 1);
    sp_add(&s, p, &w, 20000, 1000, 10); /* new, second place */
    sp_add(&s, p, &w, 20000, 11999, 10); /* new, before the last */
    sp_add(&s, p, &w, 20000, 4500, 10);  /* there */
    sp_add(&s, p, &w, 20000, 0, 10);     /* there, the oldest */
    sp_add(&s, p, &w, 20000, 20000, 10); /* the newest */
    sp_text(p, &w, text, sizeof text);
    assert_string_equal(text,
                        "0:11 1:10 2:1 4:11 6:1 8:1 10:1 11:10 12:1 20:10");
    assert_int_equal(w.ch.len, 10);
    assert_int_equal(p->used, 2);
    win_sp_reset(p, &w);
    assert_int_equal(p->used, 0);
    assert_int_equal(w.ch.len, 0);
    win_sp_pool_destroy(p);
}

/* Advancing in line (now in the head bucket) and out of line agree with
 * the bucket arithmetic: the head becomes max(head, floor(now / B)), and
 * an entry leaves exactly when its bucket is N behind, for times either
 * side of 0 and out to the largest a checkpoint holds; an event then
 * lands in floor(min(t, now) / B), or is late. */
static void test_sparse_advance_edges(void **state)
{
    static const int64_t bms[] = {1, 7, 1000, 60000};
    win_spec s;
    chunks_pool *p;
    win_sparse w;
    win_val *v;

    (void)state;
    srand(4242);
    for (size_t k = 0; k < sizeof bms / sizeof bms[0]; k++) {
        assert_int_equal(win_spec_init(&s, bms[k] * 60, bms[k], 1), WIN_OK);
        p = win_sp_pool_create(&s, 1);
        assert_non_null(p);
        for (int i = 0; i < 20000; i++) {
            int64_t base = rand() % 3 == 0   ? 0
                           : rand() % 2 == 0 ? WIN_TIME_MAX
                                             : -WIN_TIME_MAX;
            int64_t t0 = base + (rand() % 2 ? 1 : -1) * (rand() % 100000);
            int64_t t1 = t0 + rand() % (3 * bms[k]) - bms[k];
            int64_t b0, b1;

            if (rand() % 50 == 0)
                t1 = -t0; /* far, either way */
            win_sp_init(&w);
            assert_int_equal(win_sp_add(&s, p, &w, t0, t0, &v), WIN_OK);
            v->d = 1;
            b0 = win_bucket(&s, t0);
            b1 = win_bucket(&s, t1);
            win_sp_advance(&s, p, &w, t1, NULL);
            assert_int_equal(w.head, b1 > b0 ? b1 : b0);
            assert_int_equal(w.ch.len, b1 - b0 >= 60 ? 0 : 1);
            /* an event near the head: its bucket, or late */
            {
                int64_t now = t1 > t0 ? t1 : t0;
                int64_t t2 = now + rand() % (3 * bms[k]) - 2 * bms[k];
                int64_t b2 = win_bucket(&s, t2 < now ? t2 : now), idx = 0;
                int rc = win_sp_add(&s, p, &w, now, t2, &v);
                const win_val *x;
                win_sp_iter it;

                if (b2 <= w.head - 60) {
                    assert_int_equal(rc, WIN_LATE);
                } else {
                    assert_int_equal(rc, WIN_OK);
                    v->d += 2;
                    win_sp_iter_init(&it, p, &w);
                    while ((x = win_sp_next(&it, &idx)) != NULL &&
                           idx != b2)
                        ;
                    assert_non_null(x);
                    assert_true(x->d == 2 || x->d == 3);
                }
            }
            win_sp_reset(p, &w);
        }
        assert_int_equal(p->used, 0);
        win_sp_pool_destroy(p);
    }
}

/* The newest entry: none in an empty window; the one an event in the
 * newest bucket gets, not one an older bucket gets; across a chunk's
 * end, and after the older ones leave. */
static void test_sparse_newest(void **state)
{
    win_spec s;
    chunks_pool *p;
    win_sparse w;
    win_val *v;

    (void)state;
    p = sp_open(&s, &w, 1);
    assert_null(win_sp_newest(p, &w));
    for (int i = 0; i < 7; i++) { /* buckets 0 .. 6: two chunks */
        assert_int_equal(win_sp_add(&s, p, &w, 1000 * i, 1000 * i, &v),
                         WIN_OK);
        v->d = i + 1;
        assert_ptr_equal(win_sp_newest(p, &w), v);
    }
    assert_int_equal(win_sp_add(&s, p, &w, 6500, 6999, &v), WIN_OK);
    assert_ptr_equal(win_sp_newest(p, &w), v);
    assert_int_equal(win_sp_add(&s, p, &w, 6500, 5000, &v), WIN_OK);
    assert_true(win_sp_newest(p, &w) != v);
    assert_true(win_sp_newest(p, &w)->d == 7);
    win_sp_advance(&s, p, &w, 65000, NULL); /* 6 stays */
    assert_int_equal(w.ch.len, 1);
    assert_true(win_sp_newest(p, &w)->d == 7);
    win_sp_advance(&s, p, &w, 66000, NULL);
    assert_null(win_sp_newest(p, &w));
    win_sp_pool_destroy(p);
}

/* Bucket indexes are kept as their low 16 bits: across a multiple of
 * 2^16, and below 0, they read back whole. */
static void test_sparse_index_wrap(void **state)
{
    static const int64_t base[] = {65530, -3, -65540, 131066};
    win_spec s;
    chunks_pool *p;
    win_sparse w;

    (void)state;
    win_spec_init(&s, 10000, 1000, 1);
    p = win_sp_pool_create(&s, 1);
    for (size_t k = 0; k < sizeof base / sizeof base[0]; k++) {
        win_sp_iter it;
        int64_t idx, want = base[k];

        win_sp_init(&w);
        for (int i = 0; i < 10; i++)
            sp_add(&s, p, &w, (base[k] + 9) * 1000, (base[k] + i) * 1000, 1);
        win_sp_iter_init(&it, p, &w);
        while (win_sp_next(&it, &idx) != NULL)
            assert_int_equal(idx, want++);
        assert_int_equal(want, base[k] + 10);
        assert_int_equal(win_sp_next_expiry(&s, p, &w),
                         (base[k] + 10) * 1000);
        win_sp_reset(p, &w);
    }
    win_sp_pool_destroy(p);
}

#define SG 3 /* groups sharing a pool */

/* Random streams over groups sharing a pool: the same sums and next
 * expiry as a two-field ring, running totals kept from what advancing
 * tells has left, the pool within its bound, every chunk back after the
 * resets. */
static void test_sparse_against_ring(void **state)
{
    (void)state;
    srand(5);
    for (int run = 0; run < 300; run++) {
        int64_t w = 1000 * (1 + rand() % 120), now = rand() % 2 ? 0 : -7000;
        win_spec s;
        chunks_pool *p;
        win_sparse sp[SG];
        win_ring *ring[SG];
        uint64_t tot[SG][2] = {{0}}, gone[2];

        if (rand() % 3 == 0)
            w = 1 + rand() % 5000;
        assert_int_equal(win_spec_init(&s, w, 0, 2), WIN_OK);
        p = win_sp_pool_create(&s, SG);
        assert_non_null(p);
        for (int g = 0; g < SG; g++) {
            win_sp_init(&sp[g]);
            ring[g] = ring_new(&s);
        }
        for (int i = 0; i < 400; i++) {
            int g = rand() % SG;
            int64_t t;
            uint32_t v[2];
            win_val *b = NULL;
            win_sp_iter it;
            const win_val *x;
            uint64_t ev = 0, num = 0;
            int rc;

            now += rand() % 4 == 0 ? rand() % (w + 1) : rand() % 3;
            t = now - rand() % (w + w / 4 + 2);
            v[0] = 1;
            v[1] = (uint32_t)(rand() % 2);
            /* running totals: what leaves is told */
            gone[0] = gone[1] = 0;
            win_sp_advance(&s, p, &sp[g], now, gone);
            tot[g][0] -= gone[0];
            tot[g][1] -= gone[1];
            rc = win_sp_add(&s, p, &sp[g], now, t, &b);
            assert_int_equal(rc, win_add(&s, ring[g], now, t, v));
            if (rc == WIN_OK) {
                b->n[0] += v[0];
                b->n[1] += v[1];
                tot[g][0] += v[0];
                tot[g][1] += v[1];
            }
            win_sp_iter_init(&it, p, &sp[g]);
            while ((x = win_sp_next(&it, NULL)) != NULL) {
                ev += x->n[0];
                num += x->n[1];
            }
            assert_int_equal(ev, win_sum(&s, ring[g], now, 0));
            assert_int_equal(num, win_sum(&s, ring[g], now, 1));
            assert_int_equal(ev, tot[g][0]);
            assert_int_equal(num, tot[g][1]);
            assert_int_equal(win_sp_next_expiry(&s, p, &sp[g]),
                             win_next_expiry(&s, ring[g]));
            assert_true(p->used <= SG * chunks_chain_max(6, s.nbuckets));
        }
        for (int g = 0; g < SG; g++) {
            win_sp_reset(p, &sp[g]);
            free(ring[g]);
        }
        assert_int_equal(p->used, 0);
        win_sp_pool_destroy(p);
    }
}

/* ---- sparse checkpoint bytes ---- */

static void sp_save(const win_spec *s, const chunks_pool *p,
                    const win_sparse *w, enum win_val_kind k, buf *b)
{
    buf_init(b, 1u << 16);
    assert_int_equal(win_sp_save(s, p, w, k, b), 0);
    assert_true(b->len <= win_sp_save_bytes(s));
}

/* Saved and loaded, a window gives the same sums and expiry for the same
 * following events; the bytes read back are the bytes written. */
static void test_sparse_round_trip(void **state)
{
    win_spec s;
    chunks_pool *p;
    win_sparse a, b;
    buf x, y;
    int64_t now = 5000;

    (void)state;
    srand(9);
    p = sp_open(&s, &a, 2);
    win_sp_init(&b);
    sp_save(&s, p, &a, WIN_VAL_SUM, &x); /* nothing yet */
    assert_int_equal(x.len, 11);
    assert_int_equal(win_sp_load(&s, p, &b, WIN_VAL_SUM,
                                 (unsigned char *)x.data, x.len),
                     0);
    assert_int_equal(b.head, INT64_MIN);
    buf_free(&x);
    for (int i = 0; i < 50; i++) {
        now += rand() % 2000;
        sp_add(&s, p, &a, now, now - rand() % 70000, 0.25 + rand() % 7);
    }
    sp_save(&s, p, &a, WIN_VAL_SUM, &x);
    assert_int_equal(x.len, 11 + 10 * a.ch.len);
    assert_int_equal(win_sp_load(&s, p, &b, WIN_VAL_SUM,
                                 (unsigned char *)x.data, x.len),
                     0);
    sp_save(&s, p, &b, WIN_VAL_SUM, &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.data, y.data, x.len);
    for (int i = 0; i < 100; i++) {
        char ta[1024], tb[1024];
        int64_t t = now - rand() % 70000;
        double v = rand() % 5;

        now += rand() % 3000;
        assert_int_equal(sp_add(&s, p, &a, now, t, v),
                         sp_add(&s, p, &b, now, t, v));
        sp_text(p, &a, ta, sizeof ta);
        sp_text(p, &b, tb, sizeof tb);
        assert_string_equal(ta, tb);
        assert_int_equal(win_sp_next_expiry(&s, p, &a),
                         win_sp_next_expiry(&s, p, &b));
    }
    buf_free(&x);
    buf_free(&y);
    win_sp_reset(p, &a);
    win_sp_reset(p, &b);
    assert_int_equal(p->used, 0);
    win_sp_pool_destroy(p);
}

/* Sparse bytes by hand: head (ms), then (age, value bits) pairs. */
static void sp_bytes(buf *b, unsigned version, int64_t head_ms, uint32_t n,
                     const uint32_t *age, const uint64_t *bits)
{
    buf_init(b, 1u << 16);
    win_put(b, version, 1);
    win_put(b, (uint64_t)head_ms, 8);
    win_put(b, n, 2);
    for (uint32_t i = 0; i < n; i++) {
        win_put(b, age[i], 2);
        win_put(b, bits[i], 8);
    }
}

static uint64_t dbits(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof u);
    return u;
}

static uint64_t counts(uint32_t events, uint32_t num)
{
    return events | (uint64_t)num << 32;
}

/* Refused, the window left empty, no chunk held. */
static void sp_refused(const win_spec *s, chunks_pool *p,
                       enum win_val_kind k, buf *b)
{
    win_sparse w;

    win_sp_init(&w);
    assert_int_equal(
        win_sp_load(s, p, &w, k, (unsigned char *)b->data, b->len), -1);
    assert_int_equal(w.ch.len, 0);
    assert_int_equal(w.head, INT64_MIN);
    assert_int_equal(p->used, 0);
    buf_free(b);
}

static void test_sparse_load_hostile(void **state)
{
    const uint32_t age[3] = {50, 20, 0}, same[2] = {20, 20},
                   up[2] = {10, 20}, old[1] = {60};
    const uint64_t sums[3] = {dbits(1.5), dbits(2), dbits(INFINITY)};
    win_spec s;
    chunks_pool *p;
    win_sparse w;
    buf b;
    char text[256];

    (void)state;
    p = sp_open(&s, &w, 1);
    /* the good one */
    sp_bytes(&b, 1, 100000, 3, age, sums);
    assert_int_equal(win_sp_load(&s, p, &w, WIN_VAL_SUM,
                                 (unsigned char *)b.data, b.len),
                     0);
    sp_text(p, &w, text, sizeof text);
    assert_string_equal(text, "50:1.5 80:2 100:inf");
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(win_sp_load(&s, p, &w, WIN_VAL_SUM,
                                     (unsigned char *)b.data, n),
                         -1);
    assert_int_equal(p->used, 0);
    buf_append(&b, "", 1); /* a byte too many */
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 2, 100000, 0, NULL, NULL); /* version */
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, INT64_MIN, 1, age, sums); /* entries, no head */
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, 100500, 0, NULL, NULL); /* not a bucket's start */
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, (WIN_TIME_MAX / 1000 + 1) * 1000, 0, NULL, NULL);
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, -(WIN_TIME_MAX / 1000 + 1) * 1000, 0, NULL, NULL);
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, 100000, 0, NULL, NULL); /* more than N entries */
    b.data[9] = 61;
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, 100000, 2, same, sums); /* one bucket twice */
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, 100000, 2, up, sums); /* unsorted */
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    sp_bytes(&b, 1, 100000, 1, old, sums); /* left the window */
    sp_refused(&s, p, WIN_VAL_SUM, &b);
    {
        const uint64_t bad[4] = {dbits(NAN), dbits(0), dbits(-0.0),
                                 dbits(-1)};
        for (int i = 0; i < 4; i++) {
            sp_bytes(&b, 1, 100000, 1, &age[2], &bad[i]);
            sp_refused(&s, p, WIN_VAL_SUM, &b);
        }
    }
    {
        const uint64_t good = counts(5, 5), none = counts(0, 0),
                       more = counts(3, 4);
        sp_bytes(&b, 1, 100000, 1, &age[2], &good);
        assert_int_equal(win_sp_load(&s, p, &w, WIN_VAL_COUNTS,
                                     (unsigned char *)b.data, b.len),
                         0);
        buf_free(&b);
        win_sp_reset(p, &w);
        sp_bytes(&b, 1, 100000, 1, &age[2], &none);
        sp_refused(&s, p, WIN_VAL_COUNTS, &b);
        sp_bytes(&b, 1, 100000, 1, &age[2], &more);
        sp_refused(&s, p, WIN_VAL_COUNTS, &b);
    }
    win_sp_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_add_and_expire),
        cmocka_unit_test(test_late_and_old_buckets),
        cmocka_unit_test(test_two_fields_and_step),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_negative_times),
        cmocka_unit_test(test_ring_save_load),
        cmocka_unit_test(test_reader),
        cmocka_unit_test(test_sparse_add_and_expire),
        cmocka_unit_test(test_sparse_out_of_order),
        cmocka_unit_test(test_sparse_newest),
        cmocka_unit_test(test_sparse_advance_edges),
        cmocka_unit_test(test_sparse_index_wrap),
        cmocka_unit_test(test_sparse_against_ring),
        cmocka_unit_test(test_sparse_round_trip),
        cmocka_unit_test(test_sparse_load_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
