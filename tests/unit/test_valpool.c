/*
 * test_valpool.c - a rule's shared value pool: sizes and range, lookup by
 * (group, hash) with shared buckets, key order with ties, moving and
 * shifting keys, a full group, freed entries reused first, a group reset
 * returning its entries, the hash table growing by linear hashing with the
 * values held, random operations on several groups against plain arrays,
 * and checkpoint records: round trips and every refusal.
 */
#include "detectors/valpool.h"

#include "rec_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static valpool *pool_new(uint32_t groups, uint32_t per_group)
{
    valpool *p = valpool_create(groups, per_group);

    assert_non_null(p);
    return p;
}

/* An empty header as a fresh slab gives it: zero bytes. */
static void group_zero(valpool *p, valpool_group *g)
{
    memset(g, 0, sizeof *g);
    valpool_group_reset(p, g);
}

/* g's list from head to tail as h1 values; checks the links and order. */
static int walk(const valpool *p, const valpool_group *g, uint64_t *out,
                int max)
{
    uint32_t prev = VALPOOL_NIL;
    int n = 0;

    for (uint32_t i = g->head; i != VALPOOL_NIL; i = valpool_at(p, i)->next) {
        const struct valpool_entry *e = valpool_at(p, i);
        assert_int_equal(e->prev, prev);
        if (prev != VALPOOL_NIL)
            assert_true(valpool_at(p, prev)->key <= e->key);
        assert_true(n < max);
        out[n++] = e->h1;
        prev = i;
    }
    assert_int_equal(g->tail, prev);
    assert_int_equal((uint32_t)n, g->count);
    return n;
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(sizeof(struct valpool_entry), 32);
    assert_int_equal(sizeof(valpool_group), 12);
    assert_int_equal(valpool_reserved(1, 1), 32 + 4);
    assert_int_equal(valpool_reserved(3, 1), 96 + 16);
    assert_int_equal(valpool_reserved(10000, 1000),
                     320000000 + 4 * (size_t)16777216);
    assert_int_equal(valpool_reserved(10000, 21), 6720000 + 4 * 262144);
    assert_int_equal(valpool_reserved(0, 5), 0);
    assert_int_equal(valpool_reserved(5, 0), 0);
    assert_int_equal(valpool_reserved(1u << 16, 1u << 15),
                     ((size_t)1 << 31) * 36);
    assert_int_equal(valpool_reserved(1u << 16, (1u << 15) + 1), 0);
    assert_int_equal(valpool_reserved(10000000, 100000), 0);
    assert_null(valpool_create(0, 1));
    assert_null(valpool_create(10000000, 100000));
    valpool_destroy(NULL);
}

/* Hashes with the same first word share a bucket; the second word tells
 * them apart; the same hash in two groups is two values. */
static void test_find_shared_bucket(void **state)
{
    valpool *p = pool_new(2, 4);
    valpool_group g, k;
    uint64_t a[2] = {7, 1}, b[2] = {7, 2}, c[2] = {15, 3}, d[2] = {7, 4};
    uint32_t ia, ib, ic, ka;

    (void)state;
    group_zero(p, &g);
    group_zero(p, &k);
    assert_int_equal(valpool_find(p, 0, a), VALPOOL_NIL);
    ia = valpool_add(p, &g, 0, a, 0);
    ib = valpool_add(p, &g, 0, b, 0);
    ic = valpool_add(p, &g, 0, c, 0);
    assert_int_equal(valpool_find(p, 0, a), ia);
    assert_int_equal(valpool_find(p, 0, b), ib);
    assert_int_equal(valpool_find(p, 0, c), ic);
    assert_int_equal(valpool_find(p, 0, d), VALPOOL_NIL);
    assert_int_equal(valpool_find(p, 1, a), VALPOOL_NIL);
    ka = valpool_add(p, &k, 1, a, 0);
    assert_true(ka != ia);
    assert_int_equal(valpool_find(p, 1, a), ka);
    assert_int_equal(valpool_find(p, 0, a), ia);
    {
        uint64_t h[2];
        valpool_hash(p, 1, ka, h);
        assert_memory_equal(h, a, sizeof h);
        valpool_hash(p, 0, ic, h);
        assert_memory_equal(h, c, sizeof h);
    }
    valpool_remove(p, &g, ib); /* the middle of the order list */
    assert_int_equal(valpool_find(p, 0, a), ia);
    assert_int_equal(valpool_find(p, 0, b), VALPOOL_NIL);
    assert_int_equal(valpool_find(p, 0, c), ic);
    valpool_remove(p, &g, ic);
    valpool_remove(p, &g, ia);
    assert_int_equal(g.count, 0);
    assert_int_equal(g.head, VALPOOL_NIL);
    assert_int_equal(g.tail, VALPOOL_NIL);
    assert_int_equal(valpool_find(p, 1, a), ka);
    assert_int_equal(valpool_count(p), 1);
    valpool_destroy(p);
}

/* Sorted by key, ties in insertion order; set_key moves an entry to the
 * newest end of its new ties; shift_keys keeps the order. */
static void test_order(void **state)
{
    valpool *p = pool_new(1, 8);
    valpool_group g;
    uint64_t out[8];
    uint64_t h[2] = {0, 0};
    uint32_t idx[8];

    (void)state;
    group_zero(p, &g);
    static const uint32_t keys[6] = {50, 10, 30, 30, 10, 60};
    for (int i = 0; i < 6; i++) {
        h[0] = (uint64_t)i * 8;
        h[1] = (uint64_t)i;
        idx[i] = valpool_add(p, &g, 0, h, keys[i]);
    }
    assert_int_equal(walk(p, &g, out, 8), 6);
    {
        static const uint64_t want[6] = {1, 4, 2, 3, 0, 5};
        assert_memory_equal(out, want, sizeof want);
    }
    valpool_set_key(p, &g, idx[1], 30); /* after 2 and 3 */
    valpool_set_key(p, &g, idx[5], 0);  /* to the head */
    valpool_set_key(p, &g, idx[0], 50); /* same key: stays last of ties */
    assert_int_equal(walk(p, &g, out, 8), 6);
    {
        static const uint64_t want[6] = {5, 4, 2, 3, 1, 0};
        assert_memory_equal(out, want, sizeof want);
    }
    valpool_set_key(p, &g, idx[2], 30); /* to the newest end of the 30s */
    valpool_shift_keys(p, &g, 0);
    assert_int_equal(walk(p, &g, out, 8), 6);
    {
        static const uint64_t want[6] = {5, 4, 3, 1, 2, 0};
        assert_memory_equal(out, want, sizeof want);
    }
    valpool_set_key(p, &g, idx[5], 10);
    valpool_shift_keys(p, &g, 10);
    assert_int_equal(valpool_at(p, g.head)->key, 0);
    assert_int_equal(valpool_at(p, g.tail)->key, 40);
    valpool_destroy(p);
}

/* The newest entry given a key >= its own stays in place (set_key's short
 * way); given a smaller one it moves back past the larger keys. */
static void test_order_tail(void **state)
{
    valpool *p = pool_new(1, 4);
    valpool_group g;
    uint64_t out[4];
    uint64_t h[2];
    uint32_t idx[3];
    static const uint32_t keys[3] = {10, 20, 20};

    (void)state;
    group_zero(p, &g);
    for (int i = 0; i < 3; i++) {
        h[0] = (uint64_t)i * 8;
        h[1] = (uint64_t)i;
        idx[i] = valpool_add(p, &g, 0, h, keys[i]);
    }
    valpool_set_key(p, &g, idx[2], 25); /* the tail, a larger key */
    assert_int_equal(g.tail, idx[2]);
    assert_int_equal(valpool_at(p, idx[2])->key, 25);
    assert_int_equal(valpool_at(p, idx[2])->prev, idx[1]);
    valpool_set_key(p, &g, idx[2], 20); /* smaller, still >= its tie */
    assert_int_equal(g.tail, idx[2]);
    valpool_set_key(p, &g, idx[2], 15); /* back past the 20 */
    assert_int_equal(walk(p, &g, out, 4), 3);
    {
        static const uint64_t want[3] = {0, 2, 1};
        assert_memory_equal(out, want, sizeof want);
    }
    assert_int_equal(g.tail, idx[1]);
    valpool_set_key(p, &g, idx[1], 20); /* the tail, the same key */
    assert_int_equal(walk(p, &g, out, 4), 3);
    {
        static const uint64_t want[3] = {0, 2, 1};
        assert_memory_equal(out, want, sizeof want);
    }
    assert_int_equal(valpool_at(p, g.head)->prev, VALPOOL_NIL);
    assert_int_equal(valpool_at(p, g.tail)->next, VALPOOL_NIL);
    valpool_destroy(p);
}

/* A full group refuses an insert while another group still takes one; a
 * freed entry is reused first (the high-water mark stays); a reset
 * returns every entry, and the group's old values are gone. */
static void test_full_reuse_reset(void **state)
{
    valpool *p = pool_new(2, 3);
    valpool_group g, k;
    uint64_t h[2] = {0, 0};
    uint32_t a, b;

    (void)state;
    group_zero(p, &g);
    group_zero(p, &k);
    for (uint64_t i = 1; i <= 3; i++) {
        h[0] = h[1] = i;
        assert_true(valpool_add(p, &g, 0, h, (uint32_t)i) < 6);
    }
    h[0] = h[1] = 4;
    assert_int_equal(valpool_add(p, &g, 0, h, 4), VALPOOL_NIL);
    assert_int_equal(g.count, 3);
    assert_true(valpool_add(p, &k, 1, h, 4) != VALPOOL_NIL);
    assert_int_equal(valpool_hw(p), 4);
    a = g.head;
    valpool_remove(p, &g, a);
    b = valpool_add(p, &g, 0, h, 4);
    assert_int_equal(b, a);
    assert_int_equal(valpool_hw(p), 4);
    assert_int_equal(valpool_find(p, 0, h), b);
    h[0] = h[1] = 5;
    assert_int_equal(valpool_add(p, &g, 0, h, 5), VALPOOL_NIL);
    /* reset returns g's three entries; k keeps its one */
    valpool_group_reset(p, &g);
    assert_int_equal(g.count, 0);
    assert_int_equal(valpool_count(p), 1);
    for (uint64_t i = 1; i <= 4; i++) {
        h[0] = h[1] = i;
        assert_int_equal(valpool_find(p, 0, h), VALPOOL_NIL);
    }
    assert_true(valpool_find(p, 1, h) != VALPOOL_NIL);
    /* the slot's next group refills from the freed entries */
    for (uint64_t i = 10; i < 13; i++) {
        h[0] = h[1] = i;
        assert_true(valpool_add(p, &g, 0, h, 0) < 4);
    }
    assert_int_equal(valpool_hw(p), 4);
    valpool_group_reset(p, &k);
    valpool_group_reset(p, &k); /* an empty group: nothing */
    assert_int_equal(valpool_count(p), 3);
    valpool_destroy(p);
}

/* Buckets grow one at a time with the values held (load <= 1), never
 * past them; removing values keeps the buckets, and refilling uses the
 * freed entries. */
static void test_linear_growth(void **state)
{
    enum { G = 100, P = 50 };
    valpool *p = pool_new(G, P);
    static valpool_group g[G];
    uint64_t h[2];

    (void)state;
    for (int i = 0; i < G; i++)
        group_zero(p, &g[i]);
    assert_int_equal(valpool_buckets(p), 1);
    for (uint32_t n = 0; n < 3000; n++) {
        uint32_t gid = n % G;
        h[0] = 0x9e3779b97f4a7c15ULL * (n + 1);
        h[1] = n;
        assert_true(valpool_add(p, &g[gid], gid, h, 0) != VALPOOL_NIL);
        assert_int_equal(valpool_count(p), n + 1);
        assert_int_equal(valpool_buckets(p), n + 1);
    }
    for (uint32_t n = 0; n < 3000; n++) {
        h[0] = 0x9e3779b97f4a7c15ULL * (n + 1);
        h[1] = n;
        assert_true(valpool_find(p, n % G, h) != VALPOOL_NIL);
        assert_int_equal(valpool_find(p, (n + 1) % G, h), VALPOOL_NIL);
    }
    for (int i = 0; i < G; i++)
        valpool_group_reset(p, &g[i]);
    assert_int_equal(valpool_count(p), 0);
    assert_int_equal(valpool_buckets(p), 3000);
    for (uint32_t n = 0; n < 2000; n++) {
        h[0] = n;
        h[1] = n;
        assert_true(valpool_add(p, &g[n % G], n % G, h, 0) < 3000);
    }
    assert_int_equal(valpool_hw(p), 3000);
    assert_int_equal(valpool_buckets(p), 3000);
    valpool_destroy(p);
}

/* Random adds, removes, key changes and resets on 6 groups against
 * arrays: lookups, order, counts and the pool's totals. */
static void test_random_against_arrays(void **state)
{
    enum { G = 6, V = 64 };

    (void)state;
    srand(3);
    for (int run = 0; run < 200; run++) {
        uint32_t per = 1 + (uint32_t)(rand() % 30);
        valpool *p = pool_new(G, per);
        valpool_group g[G];
        uint32_t key[G][V];
        int in[G][V];
        uint64_t out[V];
        uint32_t hw_max = 0;

        memset(in, 0, sizeof in);
        for (int i = 0; i < G; i++)
            group_zero(p, &g[i]);
        for (int op = 0; op < 600; op++) {
            uint32_t gid = (uint32_t)rand() % G;
            unsigned x = (unsigned)rand() % V;
            uint64_t h[2] = {x % 5, x}; /* long chains */
            uint32_t i = valpool_find(p, gid, h);
            uint32_t k = (uint32_t)(rand() % 20);
            uint32_t total = 0;

            assert_int_equal(i != VALPOOL_NIL, in[gid][x]);
            if (rand() % 100 == 0) {
                valpool_group_reset(p, &g[gid]);
                memset(in[gid], 0, sizeof in[gid]);
            } else if (i == VALPOOL_NIL) {
                i = valpool_add(p, &g[gid], gid, h, k);
                if (g[gid].count == per && i == VALPOOL_NIL)
                    continue;
                assert_true(i != VALPOOL_NIL);
                in[gid][x] = 1;
                key[gid][x] = k;
            } else if (rand() % 2) {
                valpool_remove(p, &g[gid], i);
                in[gid][x] = 0;
            } else {
                valpool_set_key(p, &g[gid], i, k);
                key[gid][x] = k;
            }
            for (uint32_t j = 0; j < G; j++) {
                int n = walk(p, &g[j], out, V), m = 0;
                for (int y = 0; y < n; y++) {
                    uint64_t hy[2] = {out[y] % 5, out[y]};
                    assert_int_equal(
                        valpool_at(p, valpool_find(p, j, hy))->key,
                        key[j][out[y]]);
                }
                for (int y = 0; y < V; y++)
                    m += in[j][y];
                assert_int_equal(m, n);
                total += (uint32_t)n;
            }
            assert_int_equal(valpool_count(p), total);
            if (total > hw_max)
                hw_max = total;
            /* freed entries first: the mark is the most held at once */
            assert_int_equal(valpool_hw(p), hw_max);
            assert_int_equal(valpool_buckets(p), hw_max > 1 ? hw_max : 1);
        }
        valpool_destroy(p);
    }
}

/* ---- checkpoint records ---- */

#define TAG 0x5a
#define T0 1773108000000LL

static void rec_of(struct valpool_rec *r, int timed)
{
    memset(r, 0, sizeof *r);
    r->tag = TAG;
    r->nfield = 2;
    r->timed = timed;
    r->field[0] = -7;
    r->field[1] = T0;
    r->base = T0 - 1000;
    r->lo = T0 - 999;
    r->hi = T0;
    r->max = 8;
}

/* Group 3 of a pool holding 5 values with keys 100 .. 900 (two tied). */
static void fill(valpool *p, valpool_group *g)
{
    static const uint32_t keys[5] = {100, 300, 300, 700, 900};

    group_zero(p, g);
    for (uint32_t i = 0; i < 5; i++) {
        uint64_t h[2] = {0x1111ULL * (i + 1), 0x2222ULL * (i + 1)};
        assert_true(valpool_add(p, g, 3, h, keys[i]) != VALPOOL_NIL);
    }
}

static void test_record_round_trip(void **state)
{
    (void)state;
    for (int timed = 0; timed < 2; timed++) {
        valpool *p = pool_new(8, 8), *q = pool_new(8, 8);
        valpool_group g, k;
        struct valpool_rec r, back;
        uint64_t a[8], b[8];
        buf out, again;

        rec_of(&r, timed);
        fill(p, &g);
        buf_init(&out, 4096);
        buf_init(&again, 4096);
        assert_int_equal(valpool_save(p, 3, &g, &r, &out), 0);
        assert_int_equal(out.len, valpool_rec_bytes(2, timed, 5));
        assert_true(out.len <= valpool_rec_bytes(2, timed, r.max));
        /* into another pool and group number */
        memset(&back, 0, sizeof back);
        back.tag = TAG;
        back.nfield = 2;
        back.timed = timed;
        assert_int_equal(valpool_load_head(&back, (unsigned char *)out.data,
                                           out.len), 0);
        assert_int_equal(back.field[0], -7);
        assert_int_equal(back.field[1], T0);
        back.base = r.base;
        back.lo = r.lo;
        back.hi = r.hi;
        back.max = r.max;
        group_zero(q, &k);
        assert_int_equal(valpool_load(q, 5, &k, &back,
                                      (unsigned char *)out.data, out.len),
                         0);
        assert_int_equal(walk(p, &g, a, 8), 5);
        assert_int_equal(walk(q, &k, b, 8), 5);
        assert_memory_equal(a, b, sizeof(uint64_t) * 5);
        for (uint32_t i = g.head, j = k.head; i != VALPOOL_NIL;
             i = valpool_at(p, i)->next, j = valpool_at(q, j)->next) {
            uint64_t hi[2], hj[2];
            valpool_hash(p, 3, i, hi);
            valpool_hash(q, 5, j, hj);
            assert_memory_equal(hi, hj, sizeof hi);
            assert_true(valpool_find(q, 5, hj) == j);
            assert_int_equal(valpool_at(q, j)->key,
                             timed ? valpool_at(p, i)->key : 0);
        }
        assert_int_equal(valpool_save(q, 5, &k, &back, &again), 0);
        assert_int_equal(again.len, out.len);
        assert_memory_equal(again.data, out.data, out.len);
        buf_free(&out);
        buf_free(&again);
        valpool_destroy(p);
        valpool_destroy(q);
    }
}

/* A full buffer: -1, the buffer as it was. */
static void test_record_full_buffer(void **state)
{
    valpool *p = pool_new(8, 8);
    valpool_group g;
    struct valpool_rec r;
    buf out;

    (void)state;
    rec_of(&r, 1);
    fill(p, &g);
    buf_init(&out, 60);
    assert_int_equal(buf_append_str(&out, "ab"), 0);
    assert_int_equal(valpool_save(p, 3, &g, &r, &out), -1);
    assert_int_equal(out.len, 2);
    assert_string_equal(out.data, "ab");
    buf_free(&out);
    valpool_destroy(p);
}

/* Load `in` (n bytes) into an empty group 4 of p with rec r: the result,
 * and the pool as it was when refused. */
static int load(valpool *p, const struct valpool_rec *r,
                const unsigned char *in, size_t n)
{
    valpool_group g;
    uint32_t before = valpool_count(p);
    int rc;

    group_zero(p, &g);
    rc = valpool_load(p, 4, &g, r, in, n);
    if (rc != 0) {
        assert_int_equal(g.count, 0);
        assert_int_equal(valpool_count(p), before);
    } else {
        valpool_group_reset(p, &g);
    }
    return rc;
}

/* A damaged record (rec_damage): refused with the pool as it was, or
 * loaded. */
struct damage {
    valpool *p;
    const struct valpool_rec *r;
};

static void try_load(void *ud, const unsigned char *in, size_t m)
{
    const struct damage *d = ud;

    (void)load(d->p, d->r, in, m);
}

static void test_record_refused(void **state)
{
    valpool *p = pool_new(8, 8);
    valpool_group g;
    struct valpool_rec r;
    unsigned char bad[512];
    size_t v0, n;
    buf out;

    (void)state;
    rec_of(&r, 1);
    fill(p, &g);
    buf_init(&out, 4096);
    assert_int_equal(valpool_save(p, 3, &g, &r, &out), 0);
    n = out.len;
    v0 = valpool_rec_bytes(2, 1, 0); /* the first value */
    memcpy(bad, out.data, n);
    assert_int_equal(load(p, &r, bad, n), 0);
    /* truncated anywhere, or a byte too many */
    for (size_t m = 0; m < n; m++)
        assert_int_equal(load(p, &r, bad, m), -1);
    bad[n] = 0;
    assert_int_equal(load(p, &r, bad, n + 1), -1);
    /* another tag */
    bad[0] = TAG + 1;
    assert_int_equal(load(p, &r, bad, n), -1);
    {
        struct valpool_rec h = r;
        assert_int_equal(valpool_load_head(&h, bad, n), -1);
    }
    bad[0] = TAG;
    /* more values than allowed */
    r.max = 4;
    assert_int_equal(load(p, &r, bad, n), -1);
    r.max = 8;
    /* a count that does not match the bytes */
    bad[v0 - 4] = 4;
    assert_int_equal(load(p, &r, bad, n), -1);
    bad[v0 - 4] = 0xff;
    bad[v0 - 1] = 0xff;
    assert_int_equal(load(p, &r, bad, n), -1);
    memcpy(bad, out.data, n);
    /* a hash twice (second value = first) */
    memcpy(bad + v0 + 24, bad + v0, 16);
    put64(bad + v0 + 40, T0 - 900);
    assert_int_equal(load(p, &r, bad, n), -1);
    memcpy(bad, out.data, n);
    /* times: out of [lo, hi], older than the one before */
    put64(bad + v0 + 16, T0 - 1000);
    assert_int_equal(load(p, &r, bad, n), -1);
    put64(bad + v0 + 16, T0 - 999);
    assert_int_equal(load(p, &r, bad, n), 0);
    put64(bad + v0 + 4 * 24 + 16, T0 + 1);
    assert_int_equal(load(p, &r, bad, n), -1);
    put64(bad + v0 + 4 * 24 + 16, INT64_MIN);
    assert_int_equal(load(p, &r, bad, n), -1);
    memcpy(bad, out.data, n);
    put64(bad + v0 + 3 * 24 + 16, T0 - 750);
    assert_int_equal(load(p, &r, bad, n), -1);
    memcpy(bad, out.data, n);
    /* bounds that would not fit a key: refused, not wrapped */
    r.lo = INT64_MIN;
    r.base = INT64_MIN;
    assert_int_equal(load(p, &r, bad, n), -1);
    rec_of(&r, 1);
    /* a group that is not empty is left as it is */
    {
        uint32_t c = g.count;
        assert_int_equal(valpool_load(p, 3, &g, &r, bad, n), -1);
        assert_int_equal(g.count, c);
    }
    /* random damage: refused or loaded, never more than allowed */
    {
        struct damage d = {p, &r};
        rec_damage((unsigned char *)out.data, n, 20000, 5, try_load, &d);
    }
    buf_free(&out);
    valpool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_find_shared_bucket),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_order_tail),
        cmocka_unit_test(test_full_reuse_reset),
        cmocka_unit_test(test_linear_growth),
        cmocka_unit_test(test_random_against_arrays),
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_full_buffer),
        cmocka_unit_test(test_record_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
