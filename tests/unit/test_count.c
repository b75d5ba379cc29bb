/*
 * test_count.c - the count kind's per-group state: sizes and pools, the
 * strict threshold, window edges (now - window and one ms after), late
 * events, the clear threshold and the time it will hold, out-of-order
 * events, values past the kept times, bucketed mode, offset rebasing;
 * chunks taken on demand and given back (expiry, reset, eviction), the
 * pools' bound under a hostile stream; the checkpoint bytes (round trips
 * that behave the same afterwards, hostile and truncated bytes refused);
 * and a brute-force comparison on random event streams, several groups
 * sharing the pools.
 */
#include "detectors/count.h"

#include "kind_helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define GROUPS 4 /* groups a test's spec is sized for */

/* count_spec_init() of GROUPS groups. */
static int spec_init(count_spec *s, int64_t w, double thr, double clr)
{
    return count_spec_init(s, w, thr, clr, GROUPS);
}

static count_state *state_new(count_spec *s)
{
    count_state *st = calloc(1, s->size);

    assert_non_null(st);
    count_reset(s, st);
    return st;
}

static void state_free(count_spec *s, count_state *st)
{
    count_reset(s, st);
    free(st);
}

/* A spec of GROUPS groups and one group's state. */
static count_state *open_group(count_spec *s, int64_t w, double thr,
                               double clr)
{
    assert_int_equal(spec_init(s, w, thr, clr), COUNT_OK);
    return state_new(s);
}

/* The state freed, every chunk back, the spec freed. */
static void close_group(count_spec *s, count_state *st)
{
    state_free(s, st);
    assert_int_equal(s->times.used + s->rings.used, 0);
    count_spec_fini(s);
}

static struct count_level level(count_spec *s, count_state *st,
                                int64_t now)
{
    struct count_level l;

    count_level(s, st, now, &l);
    return l;
}

static void test_spec(void **state)
{
    count_spec s;

    (void)state;
    assert_int_equal(sizeof(count_state), 32);
    assert_int_equal(spec_init(&s, 60000, 100, NAN), COUNT_OK);
    assert_int_equal(s.fire_at, 101);
    assert_int_equal(s.clear_max, 100);
    assert_int_equal(s.k, 101);
    assert_int_equal(s.size, 32);
    /* 101 times: at most 9 chunks of 14 a group; one ring of 60 buckets */
    assert_int_equal(s.times.size, 64);
    assert_int_equal(s.times.cap, GROUPS * 9);
    assert_int_equal(s.rings.size, 24 + 4 * 60);
    assert_int_equal(s.rings.cap, GROUPS);
    assert_int_equal(s.times.hw + s.rings.hw, 0); /* nothing touched */
    count_spec_fini(&s);
    assert_int_equal(spec_init(&s, 60000, 0, NAN), COUNT_OK);
    assert_int_equal(s.k, 1);
    assert_int_equal(s.times.cap, GROUPS * 1);
    count_spec_fini(&s);
    assert_int_equal(spec_init(&s, 60000, 99999, NAN), COUNT_OK);
    assert_int_equal(s.k, COUNT_EXACT_MAX);
    assert_int_equal(s.times.cap, GROUPS * ((100000 + 26) / 14));
    count_spec_fini(&s);
    assert_int_equal(spec_init(&s, 60000, 100000, NAN), COUNT_OK);
    assert_int_equal(s.k, 0);
    assert_int_equal(s.times.cap, 0);
    assert_int_equal(s.size, 32);
    count_spec_fini(&s);
    /* 7 s: 56 buckets, a ring of 248 bytes rounded to 8 */
    assert_int_equal(spec_init(&s, 7000, 5, NAN), COUNT_OK);
    assert_int_equal(s.rings.size, 24 + 4 * 56);
    count_spec_fini(&s);
    /* a fractional threshold: 2.5 is exceeded by 3; clear at or under 1 */
    assert_int_equal(spec_init(&s, 1000, 2.5, 1.9), COUNT_OK);
    assert_int_equal(s.fire_at, 3);
    assert_int_equal(s.clear_max, 1);
    count_spec_fini(&s);
    assert_int_equal(spec_init(&s, 0, 1, NAN), COUNT_EINVAL);
    assert_int_equal(spec_init(&s, COUNT_MAX_WINDOW_MS + 1, 1, NAN),
                     COUNT_EINVAL);
    assert_int_equal(spec_init(&s, COUNT_MAX_WINDOW_MS, 1, NAN), COUNT_OK);
    count_spec_fini(&s);
    assert_int_equal(spec_init(&s, 1000, -1, NAN), COUNT_EINVAL);
    assert_int_equal(spec_init(&s, 1000, NAN, NAN), COUNT_EINVAL);
    assert_int_equal(spec_init(&s, 1000, INFINITY, NAN), COUNT_EINVAL);
    assert_int_equal(spec_init(&s, 1000, 5, 6), COUNT_EINVAL);
    assert_int_equal(spec_init(&s, 1000, 5, -1), COUNT_EINVAL);
    assert_int_equal(count_spec_init(&s, 1000, 5, 5, 0), COUNT_EINVAL);
    assert_int_equal(spec_init(&s, 1000, 5, 5), COUNT_OK);
    count_spec_fini(&s);
    assert_int_equal(spec_init(&s, 1000, 5, 0), COUNT_OK);
    count_spec_fini(&s);
    /* more than 2^32 - 2 chunks for the bound of every group: refused */
    assert_int_equal(count_spec_init(&s, 1000, 99999, NAN, 1u << 24),
                     COUNT_ENOMEM);
    count_spec_fini(&s); /* zeroed by the failure: harmless */
}

/* 3 events do not exceed 3; the 4th does. */
static void test_strict_threshold(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    st = open_group(&s, 10000, 3, NAN);
    l = level(&s, st, T0);
    assert_int_equal(l.value, 0);
    assert_true(l.exact && !l.above && l.clear);
    for (int i = 0; i < 3; i++)
        assert_int_equal(count_add(&s, st, T0 + i, T0 + i), COUNT_OK);
    l = level(&s, st, T0 + 2);
    assert_int_equal(l.value, 3);
    assert_true(l.exact && !l.above && l.clear);
    assert_int_equal(count_add(&s, st, T0 + 3, T0 + 3), COUNT_OK);
    l = level(&s, st, T0 + 3);
    assert_int_equal(l.value, 4);
    assert_true(!l.exact && l.above && !l.clear);
    close_group(&s, st);
}

/* An event at t counts while now < t + window: at now = t + window - 1
 * it is in, at t + window it is out; an event at now - window is late,
 * one ms after it is not. */
static void test_window_edges(void **state)
{
    count_spec s;
    count_state *st;

    (void)state;
    st = open_group(&s, 1000, 0, NAN);
    assert_int_equal(count_add(&s, st, T0, T0), COUNT_OK);
    assert_true(level(&s, st, T0 + 999).above);
    assert_int_equal(count_clear_time(&s, st), T0 + 1000);
    assert_true(level(&s, st, T0 + 1000).clear);
    assert_int_equal(level(&s, st, T0 + 1000).value, 0);
    /* late: t == now - window */
    assert_int_equal(count_add(&s, st, T0 + 2000, T0 + 1000), COUNT_LATE);
    assert_int_equal(count_add(&s, st, T0 + 2000, T0 - 5000), COUNT_LATE);
    assert_int_equal(level(&s, st, T0 + 2000).value, 0);
    /* one ms after: counted, and gone one ms later */
    assert_int_equal(count_add(&s, st, T0 + 2000, T0 + 1001), COUNT_OK);
    assert_int_equal(level(&s, st, T0 + 2000).value, 1);
    assert_int_equal(level(&s, st, T0 + 2001).value, 0);
    close_group(&s, st);
}

/* An event stamped after now counts at now; a now that moves backwards
 * is taken as the newest seen. */
static void test_future_and_backwards_now(void **state)
{
    count_spec s;
    count_state *st;

    (void)state;
    st = open_group(&s, 1000, 5, NAN);
    assert_int_equal(count_add(&s, st, T0, T0 + 60000), COUNT_OK);
    assert_int_equal(count_clear_time(&s, st), T0); /* 1 <= 5: clear */
    assert_int_equal(level(&s, st, T0 + 999).value, 1);
    /* now goes back to T0: still judged at T0 + 999 */
    assert_int_equal(count_add(&s, st, T0, T0 - 1), COUNT_LATE);
    assert_int_equal(count_add(&s, st, T0, T0), COUNT_OK);
    assert_int_equal(count_add(&s, st, T0, T0 + 500), COUNT_OK);
    assert_int_equal(level(&s, st, T0).value, 3);
    assert_int_equal(level(&s, st, T0 + 1000).value, 1);
    assert_int_equal(level(&s, st, T0 + 1500).value, 0);
    close_group(&s, st);
}

/* Threshold 5, clear 2: above at 6, not clear until 2 remain, and the
 * time it clears is that of the 4th newest event plus the window. */
static void test_clear_threshold(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    st = open_group(&s, 1000, 5, 2);
    assert_int_equal(count_clear_time(&s, st), INT64_MIN);
    for (int i = 0; i < 6; i++)
        count_add(&s, st, T0 + 100 * i, T0 + 100 * i);
    l = level(&s, st, T0 + 500);
    assert_true(l.above && !l.clear);
    /* events at 0..500 by 100: 3 remain at 1300 (300, 400, 500) */
    assert_int_equal(count_clear_time(&s, st), T0 + 1300);
    l = level(&s, st, T0 + 1299);
    assert_int_equal(l.value, 3);
    assert_true(!l.above && !l.clear);
    assert_int_equal(count_clear_time(&s, st), T0 + 1300);
    l = level(&s, st, T0 + 1300);
    assert_int_equal(l.value, 2);
    assert_true(l.exact && l.clear);
    assert_int_equal(count_clear_time(&s, st), T0 + 1300);
    assert_int_equal(level(&s, st, T0 + 1500).value, 0);
    close_group(&s, st);
}

/* More events than kept times: above, value a lower bound from the
 * buckets, and the clear time still exact (the events not kept are the
 * oldest). */
static void test_value_past_kept(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    /* 60 s window, 1 s buckets, threshold 10 */
    st = open_group(&s, 60000, 10, NAN);
    for (int i = 0; i < 50; i++)
        count_add(&s, st, T0 + 1000 * i + 500, T0 + 1000 * i + 500);
    l = level(&s, st, T0 + 49500);
    assert_int_equal(l.value, 50);
    assert_true(!l.exact && l.above && !l.clear);
    /* at 60 s the event at 0.5 s is still in (0, 60 s], but its bucket
     * has left: 49 of 50 */
    l = level(&s, st, T0 + 60000);
    assert_int_equal(l.value, 49);
    /* 10 remain once the event at 39.5 s leaves: at 99.5 s */
    assert_int_equal(count_clear_time(&s, st), T0 + 99500);
    l = level(&s, st, T0 + 99499);
    assert_int_equal(l.value, 11);
    assert_true(!l.exact && l.above);
    l = level(&s, st, T0 + 99500);
    assert_int_equal(l.value, 10);
    assert_true(l.exact && !l.above && l.clear);
    close_group(&s, st);
}

/* Events out of time order are kept in order; an event older than every
 * kept time of a full ring is not kept, and decisions stay exact. */
static void test_out_of_order(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    st = open_group(&s, 1000, 2, 0);
    count_add(&s, st, T0 + 900, T0 + 900);
    count_add(&s, st, T0 + 900, T0 + 100);
    count_add(&s, st, T0 + 900, T0 + 500);
    l = level(&s, st, T0 + 900);
    assert_int_equal(l.value, 3);
    assert_true(l.above);
    /* kept: 100, 500, 900; 0 remain once 900 leaves */
    assert_int_equal(count_clear_time(&s, st), T0 + 1900);
    assert_int_equal(level(&s, st, T0 + 1100).value, 2);
    assert_int_equal(level(&s, st, T0 + 1500).value, 1);
    /* full again with 1950, 1960, 1970 (900 left at 1900) */
    count_add(&s, st, T0 + 1950, T0 + 1950);
    count_add(&s, st, T0 + 1960, T0 + 1960);
    count_add(&s, st, T0 + 1970, T0 + 1970);
    /* older than all three kept, in the window: not kept, still above */
    assert_int_equal(count_add(&s, st, T0 + 1970, T0 + 1000), COUNT_OK);
    l = level(&s, st, T0 + 1970);
    assert_true(l.above && !l.clear);
    assert_int_equal(l.value, 4);
    assert_int_equal(count_clear_time(&s, st), T0 + 2970);
    assert_int_equal(level(&s, st, T0 + 2000).value, 3);
    l = level(&s, st, T0 + 2969);
    assert_int_equal(l.value, 1);
    assert_true(!l.above && !l.clear);
    assert_true(level(&s, st, T0 + 2970).clear);
    close_group(&s, st);
}

/* Threshold past COUNT_EXACT_MAX: the bucketed count decides. */
static void test_bucketed_mode(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    assert_int_equal(spec_init(&s, 60000, 100000, 99999), COUNT_OK);
    assert_int_equal(s.k, 0);
    st = state_new(&s);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(count_add(&s, st, T0 + 5000, T0 + 5000), COUNT_OK);
    l = level(&s, st, T0 + 5000);
    assert_int_equal(l.value, 100000);
    assert_true(!l.exact && !l.above && !l.clear);
    count_add(&s, st, T0 + 6000, T0 + 6000);
    l = level(&s, st, T0 + 6000);
    assert_int_equal(l.value, 100001);
    assert_true(l.above);
    /* the bucket of 5 s leaves at 65 s */
    assert_int_equal(count_clear_time(&s, st), T0 + 65000);
    l = level(&s, st, T0 + 65000);
    assert_int_equal(l.value, 1);
    assert_true(l.clear);
    assert_int_equal(count_clear_time(&s, st), T0 + 65000);
    assert_int_equal(count_add(&s, st, T0 + 65000, T0 + 5000), COUNT_LATE);
    close_group(&s, st);
}

/* The largest window, over times far apart: offsets are rebased and the
 * kept times survive it. */
static void test_rebase(void **state)
{
    const int64_t w = COUNT_MAX_WINDOW_MS;
    count_spec s;
    count_state *st;
    int64_t t = T0;

    (void)state;
    st = open_group(&s, w, 3, 1);
    for (int i = 0; i < 20; i++) {
        t += w / 3;
        assert_int_equal(count_add(&s, st, t, t), COUNT_OK);
        /* in (t - w, t]: the events at t, t - w/3, t - 2w/3 (w/3 is
         * rounded down, so 3 * (w/3) < w: the 4th is in too) */
        assert_int_equal(level(&s, st, t).value, i < 3 ? i + 1 : 4);
    }
    assert_int_equal(count_clear_time(&s, st), t - w / 3 + w);
    assert_int_equal(level(&s, st, t - w / 3 + w - 1).value, 2);
    assert_int_equal(level(&s, st, t - w / 3 + w).value, 1);
    close_group(&s, st);
}

/* ---- chunks on demand ---- */

/* A group takes a chunk per 14 kept times as its events come and gives
 * them back as they leave; no ring below K. */
static void test_chunks_on_demand(void **state)
{
    count_spec s;
    count_state *st;

    (void)state;
    st = open_group(&s, 60000, 1000, NAN);
    assert_int_equal(s.times.used, 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(count_add(&s, st, T0 + 1000 * i, T0 + 1000 * i),
                         COUNT_OK);
    assert_int_equal(s.times.used, 2);
    assert_int_equal(s.rings.used, 0);
    /* 14 have left at 73.5 s: the first chunk goes back */
    assert_int_equal(level(&s, st, T0 + 73500).value, 6);
    assert_int_equal(s.times.used, 1);
    assert_int_equal(level(&s, st, T0 + 79000).value, 0);
    assert_int_equal(s.times.used, 0);
    /* the chunks are reused, not new ones touched */
    for (int i = 0; i < 20; i++)
        count_add(&s, st, T0 + 80000 + i, T0 + 80000 + i);
    assert_int_equal(s.times.used, 2);
    assert_int_equal(s.times.hw, 2);
    state_free(&s, st);
    assert_int_equal(s.times.used, 0);
    count_spec_fini(&s);
}

/* Threshold 10: 11 events (K) are kept with no ring; the 12th starts the
 * ring, from the kept times, and the ring goes back once empty. */
static void test_ring_only_past_k(void **state)
{
    count_spec s;
    count_state *st;
    struct count_level l;

    (void)state;
    st = open_group(&s, 60000, 10, NAN);
    for (int i = 0; i < 11; i++)
        count_add(&s, st, T0 + 1000 * i, T0 + 1000 * i);
    l = level(&s, st, T0 + 10000);
    assert_int_equal(l.value, 11);
    assert_true(l.above && !l.exact);
    assert_int_equal(s.rings.used, 0);
    count_add(&s, st, T0 + 11000, T0 + 11000);
    assert_int_equal(s.rings.used, 1);
    assert_int_equal(level(&s, st, T0 + 11000).value, 12);
    /* 2 of the 12 (0 s, 1 s) have left at 61 s; 10 kept remain */
    l = level(&s, st, T0 + 61000);
    assert_int_equal(l.value, 10);
    assert_true(l.exact && l.clear);
    assert_int_equal(s.rings.used, 1); /* not empty yet */
    /* the last bucket (11 s) leaves at 71 s */
    assert_int_equal(level(&s, st, T0 + 71000).value, 0);
    assert_int_equal(s.rings.used, 0);
    assert_int_equal(s.times.used, 0);
    close_group(&s, st);
}

/* Reset (what the engine does to an evicted group's slot before its next
 * group) gives every chunk and the ring back. */
static void test_reset_gives_back(void **state)
{
    count_spec s;
    count_state *a, *b;

    (void)state;
    assert_int_equal(spec_init(&s, 1000, 30, NAN), COUNT_OK);
    a = state_new(&s);
    b = state_new(&s);
    for (int i = 0; i < 40; i++)
        count_add(&s, a, T0 + i, T0 + i);
    assert_int_equal(s.times.used, 3); /* 31 times kept */
    assert_int_equal(s.rings.used, 1);
    count_reset(&s, a); /* evicted: a new group in the slot */
    assert_int_equal(s.times.used, 0);
    assert_int_equal(s.rings.used, 0);
    assert_int_equal(level(&s, a, T0 + 40).value, 0);
    for (int i = 0; i < 40; i++)
        count_add(&s, b, T0 + i, T0 + i);
    assert_int_equal(s.times.hw, 3); /* the same chunks again */
    assert_int_equal(s.rings.hw, 1);
    state_free(&s, a);
    state_free(&s, b);
    assert_int_equal(s.times.used + s.rings.used, 0);
    count_spec_fini(&s);
}

/* A hostile stream over every group (bursts, out of order, far ahead,
 * resets as evictions): the pools never run out and never hold more than
 * every group at its bound. */
static void test_hostile_bound(void **state)
{
    count_spec s;
    count_state *st[GROUPS];
    int64_t now = T0;
    uint64_t bound;

    (void)state;
    srand(11);
    assert_int_equal(spec_init(&s, 5000, 49, 10), COUNT_OK);
    bound = GROUPS * chunks_chain_max(COUNT_PER_CHUNK, s.k);
    assert_int_equal(s.times.cap, bound);
    for (int g = 0; g < GROUPS; g++)
        st[g] = state_new(&s);
    for (int i = 0; i < 200000; i++) {
        int g = rand() % GROUPS;
        int64_t t = now - rand() % 6000;

        if (rand() % 3 == 0)
            now += rand() % 50;
        if (rand() % 5000 == 0)
            count_reset(&s, st[g]);
        assert_true(count_add(&s, st[g], now, t) >= 0);
        assert_true(s.times.used <= bound);
        assert_true(s.rings.used <= GROUPS);
    }
    assert_true(s.times.hw <= bound);
    for (int g = 0; g < GROUPS; g++)
        state_free(&s, st[g]);
    assert_int_equal(s.times.used + s.rings.used, 0);
    count_spec_fini(&s);
}

/* ---- checkpoint bytes ---- */

/* count_save() into a fresh buffer. */
static void save(const count_spec *s, const count_state *st, buf *b)
{
    buf_init(b, 1u << 22);
    assert_int_equal(count_save(s, st, b), 0);
    assert_true(b->len <= count_save_bytes(s));
}

/* The level and the clear time of a and b agree at now. */
static void same_level(count_spec *s, count_state *a, count_state *b,
                       int64_t now)
{
    struct count_level la, lb;

    count_level(s, a, now, &la);
    count_level(s, b, now, &lb);
    assert_int_equal(la.value, lb.value);
    assert_int_equal(la.exact, lb.exact);
    assert_int_equal(la.above, lb.above);
    assert_int_equal(la.clear, lb.clear);
    assert_int_equal(count_clear_time(s, a), count_clear_time(s, b));
}

/* Saved and loaded into another state, a group behaves as the original
 * for the same following events, kept times, ring and all. */
static void test_save_round_trip(void **state)
{
    static const double thr[] = {0, 3, 10, 150000};
    (void)state;
    for (size_t k = 0; k < sizeof thr / sizeof thr[0]; k++) {
        count_spec s;
        count_state *a, *b;
        buf x, y;
        int64_t now = T0;

        assert_int_equal(spec_init(&s, 10000, thr[k], NAN), COUNT_OK);
        a = state_new(&s);
        b = state_new(&s);
        /* nothing yet */
        save(&s, a, &x);
        assert_int_equal(x.len, 14);
        assert_int_equal(count_load(&s, b, (unsigned char *)x.data, x.len),
                         0);
        assert_int_equal(count_clear_time(&s, b), INT64_MIN);
        buf_free(&x);
        for (int i = 0; i < 30; i++) {
            now += 300;
            count_add(&s, a, now, now - (i % 4) * 900); /* out of order */
        }
        save(&s, a, &x);
        assert_int_equal(count_load(&s, b, (unsigned char *)x.data, x.len),
                         0);
        save(&s, b, &y); /* the same bytes again */
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        same_level(&s, a, b, now);
        for (int i = 0; i < 60; i++) {
            int64_t t = now - (i % 5) * 700;
            now += i % 3 == 0 ? 1000 : 1;
            assert_int_equal(count_add(&s, a, now, t),
                             count_add(&s, b, now, t));
            same_level(&s, a, b, now);
        }
        same_level(&s, a, b, now + 9999);
        same_level(&s, a, b, now + 20000);
        buf_free(&x);
        buf_free(&y);
        state_free(&s, a);
        state_free(&s, b);
        count_spec_fini(&s);
    }
}

/* Bytes written by hand: version, flags, now, n, the times as given
 * (first absolute, then gaps), ring counters (nring of them). */
static void bytes(buf *b, unsigned version, unsigned flags, int64_t now,
                  uint32_t n, const int64_t *t, uint32_t nring)
{
    buf_init(b, 1u << 20);
    win_put(b, version, 1);
    win_put(b, flags, 1);
    win_put(b, (uint64_t)now, 8);
    win_put(b, n, 4);
    for (uint32_t i = 0; i < n; i++)
        win_put(b, (uint64_t)t[i], i == 0 ? 8 : 4);
    for (uint32_t i = 0; i < nring; i++)
        win_put(b, 1, 4);
}

/* load() of b refused, the state left empty, no chunk held. */
static void refused(count_spec *s, count_state *st, buf *b)
{
    assert_int_equal(count_load(s, st, (unsigned char *)b->data, b->len),
                     -1);
    assert_int_equal(count_clear_time(s, st), INT64_MIN);
    assert_int_equal(s->times.used + s->rings.used, 0);
    buf_free(b);
}

static void test_load_hostile(void **state)
{
    const int64_t ok[3] = {T0 - 5000, 1000, 2000}; /* -5 s, -4 s, -2 s */
    count_spec s;
    count_state *st;
    buf b;

    (void)state;
    assert_int_equal(spec_init(&s, 10000, 2, NAN), COUNT_OK); /* K 3 */
    st = state_new(&s);
    /* the good one: three times, a ring (50 buckets of 200 ms), each
     * bucket 1 */
    assert_int_equal(s.win.nbuckets, 50);
    bytes(&b, 1, 1, T0, 3, ok, 50);
    assert_int_equal(count_load(&s, st, (unsigned char *)b.data, b.len), 0);
    assert_int_equal(level(&s, st, T0).value, 50);
    assert_int_equal(s.times.used, 1);
    assert_int_equal(s.rings.used, 1);
    /* every truncation of it, and one byte more */
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(count_load(&s, st, (unsigned char *)b.data, n), -1);
    assert_int_equal(s.times.used + s.rings.used, 0);
    buf_append(&b, "", 1);
    refused(&s, st, &b);
    bytes(&b, 2, 0, T0, 0, NULL, 0); /* version */
    refused(&s, st, &b);
    bytes(&b, 1, 2, T0, 0, NULL, 0); /* flags */
    refused(&s, st, &b);
    bytes(&b, 1, 0, INT64_MIN, 1, ok, 0); /* times before any event */
    refused(&s, st, &b);
    bytes(&b, 1, 1, INT64_MIN, 0, NULL, 50); /* a ring before any event */
    refused(&s, st, &b);
    bytes(&b, 1, 0, WIN_TIME_MAX + 1, 0, NULL, 0); /* now out of range */
    refused(&s, st, &b);
    bytes(&b, 1, 0, -WIN_TIME_MAX - 1, 0, NULL, 0);
    refused(&s, st, &b);
    {
        const int64_t four[4] = {T0 - 5000, 1, 1, 1};
        bytes(&b, 1, 0, T0, 4, four, 0); /* more than K */
        refused(&s, st, &b);
    }
    {
        const int64_t old[2] = {T0 - 10000, 5}; /* now - window: out */
        bytes(&b, 1, 0, T0, 2, old, 0);
        refused(&s, st, &b);
    }
    {
        const int64_t future[2] = {T0 - 100, 101}; /* past now */
        bytes(&b, 1, 0, T0, 2, future, 0);
        refused(&s, st, &b);
    }
    {
        const int64_t wrap[2] = {T0 - 100, 0xffffffffLL}; /* a huge gap */
        bytes(&b, 1, 0, T0, 2, wrap, 0);
        refused(&s, st, &b);
    }
    /* the edges are in: one ms after now - window, and now */
    {
        const int64_t edge[2] = {T0 - 9999, 9999};
        bytes(&b, 1, 0, T0, 2, edge, 0);
        assert_int_equal(count_load(&s, st, (unsigned char *)b.data, b.len),
                         0);
        assert_int_equal(level(&s, st, T0).value, 2);
        assert_int_equal(level(&s, st, T0 + 1).value, 1);
        buf_free(&b);
    }
    close_group(&s, st);
    /* bucketed mode keeps no times */
    st = open_group(&s, 10000, 200000, NAN);
    bytes(&b, 1, 0, T0, 1, ok, 0);
    refused(&s, st, &b);
    bytes(&b, 1, 1, T0, 0, NULL, 50);
    assert_int_equal(count_load(&s, st, (unsigned char *)b.data, b.len), 0);
    assert_int_equal(level(&s, st, T0).value, 50);
    buf_free(&b);
    close_group(&s, st);
}

/* Random bytes and random changes to good bytes: refused or loaded, never
 * a crash, and what loads saves and loads again. */
static void test_load_fuzz(void **state)
{
    count_spec s;
    count_state *a, *b;
    buf x, y;
    int64_t now = T0;

    (void)state;
    srand(13);
    assert_int_equal(spec_init(&s, 3000, 20, 5), COUNT_OK);
    a = state_new(&s);
    b = state_new(&s);
    for (int i = 0; i < 40; i++) {
        now += rand() % 100;
        count_add(&s, a, now, now - rand() % 3000);
    }
    save(&s, a, &x);
    for (int i = 0; i < 20000; i++) {
        unsigned char m[512];
        size_t n = x.len;

        memcpy(m, x.data, n);
        for (int k = 1 + rand() % 3; k > 0; k--)
            m[rand() % n] = (unsigned char)rand();
        if (count_load(&s, b, m, n) == 0) {
            save(&s, b, &y);
            assert_int_equal(count_load(&s, b, (unsigned char *)y.data,
                                        y.len),
                             0);
            buf_free(&y);
        }
    }
    buf_free(&x);
    state_free(&s, a);
    state_free(&s, b);
    assert_int_equal(s.times.used + s.rings.used, 0);
    count_spec_fini(&s);
}

/* ---- against a brute force ---- */

/* Brute force: keep every event and count. */
struct ref {
    int n;
    int64_t t[400];
};

static uint64_t ref_count(const struct ref *r, int64_t now, int64_t w)
{
    uint64_t c = 0;

    for (int i = 0; i < r->n; i++)
        if (r->t[i] > now - w && r->t[i] <= now)
            c++;
    return c;
}

#define NG 3 /* groups of one run, sharing the pools */

/* Several groups at once on random streams: exact decisions, the value of
 * a ring kept all along, clear times, and now and then a group saved and
 * loaded in place. */
static void test_random_against_reference(void **state)
{
    static const uint32_t one[1] = {1};

    (void)state;
    srand(7);
    for (int run = 0; run < 1000; run++) {
        struct rand_rule rr;
        int64_t w, now;
        count_spec s;
        count_state *st[NG];
        struct ref r[NG];
        win_ring *ring[NG];
        int n = 1 + rand() % 300;

        rand_rule(&rr, 3000, 12, 0.5);
        if (run % 10 == 0) /* bucketed mode now and then */
            rr.thr += COUNT_EXACT_MAX;
        w = rr.w;
        now = rr.now;
        assert_int_equal(count_spec_init(&s, w, rr.thr, rr.clr, NG),
                         COUNT_OK);
        for (int g = 0; g < NG; g++) {
            st[g] = state_new(&s);
            r[g].n = 0;
            ring[g] = malloc(win_ring_size(&s.win));
            assert_non_null(ring[g]);
            win_ring_reset(&s.win, ring[g]);
        }
        for (int i = 0; i < n; i++) {
            int g = rand() % NG;
            int64_t t = rand_stamp(&now, w, 50), ct;
            struct count_level l;
            uint64_t c, b;
            int rc;

            rc = count_add(&s, st[g], now, t);
            if (t > now)
                t = now;
            assert_int_equal(rc, t <= now - w ? COUNT_LATE : COUNT_OK);
            if (rc == COUNT_OK) {
                r[g].t[r[g].n++] = t;
                (void)win_add(&s.win, ring[g], now, t, one);
            }
            if (rand() % 50 == 0) {
                buf x;
                save(&s, st[g], &x);
                assert_int_equal(
                    count_load(&s, st[g], (unsigned char *)x.data, x.len), 0);
                buf_free(&x);
            }
            count_level(&s, st[g], now, &l);
            c = ref_count(&r[g], now, w);
            b = win_sum(&s.win, ring[g], now, 0);
            if (s.k == 0) {
                assert_int_equal(l.value, b);
                assert_false(l.exact);
                continue;
            }
            assert_int_equal(l.above, c >= s.fire_at);
            assert_int_equal(l.clear, c <= s.clear_max);
            assert_true(l.value <= c);
            if (l.exact)
                assert_int_equal(l.value, c);
            else
                assert_int_equal(l.value, b > s.k ? b : s.k);
            if (c > s.clear_max) {
                ct = count_clear_time(&s, st[g]);
                assert_true(ct > now);
                assert_true(ref_count(&r[g], ct - 1, w) > s.clear_max);
                assert_true(ref_count(&r[g], ct, w) <= s.clear_max);
            } else {
                assert_int_equal(count_clear_time(&s, st[g]), now);
            }
        }
        for (int g = 0; g < NG; g++) {
            state_free(&s, st[g]);
            free(ring[g]);
        }
        assert_int_equal(s.times.used + s.rings.used, 0);
        count_spec_fini(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_strict_threshold),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_future_and_backwards_now),
        cmocka_unit_test(test_clear_threshold),
        cmocka_unit_test(test_value_past_kept),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_bucketed_mode),
        cmocka_unit_test(test_rebase),
        cmocka_unit_test(test_chunks_on_demand),
        cmocka_unit_test(test_ring_only_past_k),
        cmocka_unit_test(test_reset_gives_back),
        cmocka_unit_test(test_hostile_bound),
        cmocka_unit_test(test_save_round_trip),
        cmocka_unit_test(test_load_hostile),
        cmocka_unit_test(test_load_fuzz),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
