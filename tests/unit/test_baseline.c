/*
 * test_baseline.c - the baseline kind's per-group state: sizes, median
 * and MAD by selection against sorting (odd and even counts, runs of equal
 * values, orders that defeat naive pivots), a flat history (MAD = 0: the
 * 0.1 * median and 1 floors), the band edge (strict >), min_value, the
 * history not yet full, gaps of empty buckets, late events, sums, the
 * clear condition on closed buckets, and random streams against a brute
 * force that keeps every bucket.
 */
#include "detectors/baseline.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z, a whole minute */
#define SEC 1000LL

struct bl {
    baseline_spec s;
    baseline_state *st;
    double *scratch;
    struct baseline_closed c;
    struct baseline_level l;
};

static void bl_open(struct bl *b, int64_t bucket_ms, uint32_t history,
                    double deviation, double min_value)
{
    assert_int_equal(baseline_spec_init(&b->s, bucket_ms, history,
                                        deviation, min_value),
                     BASELINE_OK);
    b->st = malloc(b->s.size);
    b->scratch = malloc(b->s.scratch_size);
    assert_non_null(b->st);
    assert_non_null(b->scratch);
    baseline_reset(&b->s, b->st);
}

static void bl_close(struct bl *b)
{
    free(b->st);
    free(b->scratch);
}

static void advance(struct bl *b, int64_t t)
{
    baseline_advance(&b->s, b->st, T0 + t, b->scratch, &b->c);
    baseline_level(&b->s, b->st, &b->l);
}

/* n events of amount 1 at T0 + t (now = that time), or none and only the
 * move to that time when n is 0; returns the level.  b->c is what the
 * first of them closed. */
static const struct baseline_level *events(struct bl *b, int64_t t, int n)
{
    struct baseline_closed later;

    if (n == 0)
        advance(b, t);
    for (int i = 0; i < n; i++)
        assert_int_equal(baseline_add(&b->s, b->st, T0 + t, T0 + t, 1,
                                      b->scratch, i == 0 ? &b->c : &later),
                         BASELINE_OK);
    baseline_level(&b->s, b->st, &b->l);
    return &b->l;
}

/* One event of `amount` at T0 + t. */
static void add_amount(struct bl *b, int64_t t, double amount)
{
    assert_int_equal(baseline_add(&b->s, b->st, T0 + t, T0 + t, amount,
                                  b->scratch, &b->c),
                     BASELINE_OK);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;

    return (a > c) - (a < c);
}

static double sorted_median(double *a, uint32_t n)
{
    qsort(a, n, sizeof *a, cmp_double);
    return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

/* Median and MAD by sorting copies. */
static void ref_median_mad(const double *x, uint32_t n, double *med,
                           double *mad)
{
    double *a = malloc(n * sizeof *a);

    assert_non_null(a);
    memcpy(a, x, n * sizeof *a);
    *med = sorted_median(a, n);
    for (uint32_t i = 0; i < n; i++)
        a[i] = fabs(x[i] - *med);
    *mad = sorted_median(a, n);
    free(a);
}

static void check_median_mad(const double *x, uint32_t n)
{
    double *scratch = malloc(n * sizeof *scratch);
    double *copy = malloc(n * sizeof *copy);
    double m, d, rm, rd;

    assert_non_null(scratch);
    assert_non_null(copy);
    memcpy(copy, x, n * sizeof *x);
    baseline_median_mad(x, n, scratch, &m, &d);
    assert_memory_equal(copy, x, n * sizeof *x); /* x untouched */
    ref_median_mad(x, n, &rm, &rd);
    assert_true(m == rm);
    assert_true(d == rd);
    free(scratch);
    free(copy);
}

static void test_spec(void **state)
{
    baseline_spec s;

    (void)state;
    assert_int_equal(baseline_spec_init(&s, 60000, 1, 6, 1), BASELINE_OK);
    assert_int_equal(s.size, 56);
    assert_int_equal(s.scratch_size, 8);
    assert_int_equal(baseline_spec_init(&s, 60000, 60, 6, 1), BASELINE_OK);
    assert_int_equal(s.size, 528);
    assert_int_equal(baseline_spec_init(&s, 60000, 1440, 6, 1), BASELINE_OK);
    assert_int_equal(s.size, 11568);
    assert_int_equal(baseline_spec_init(&s, 60000, 10080, 6, 1),
                     BASELINE_OK);
    assert_int_equal(s.size, 80688);
    assert_int_equal(s.scratch_size, 80640);
    assert_int_equal(baseline_spec_init(&s, 60000, 10081, 6, 1),
                     BASELINE_EINVAL);
    assert_int_equal(baseline_spec_init(&s, 60000, 0, 6, 1),
                     BASELINE_EINVAL);
    assert_int_equal(baseline_spec_init(&s, 0, 60, 6, 1), BASELINE_EINVAL);
    assert_int_equal(baseline_spec_init(&s, BASELINE_MAX_BUCKET_MS + 1, 60,
                                        6, 1),
                     BASELINE_EINVAL);
    assert_int_equal(baseline_spec_init(&s, 60000, 60, -1, 1),
                     BASELINE_EINVAL);
    assert_int_equal(baseline_spec_init(&s, 60000, 60, NAN, 1),
                     BASELINE_EINVAL);
    assert_int_equal(baseline_spec_init(&s, 60000, 60, 6, INFINITY),
                     BASELINE_EINVAL);
    assert_int_equal(baseline_spec_init(&s, 60000, 60, 0, -5), BASELINE_OK);
}

static void test_median_mad(void **state)
{
    static const double odd[5] = {20, 1, 10, 3, 2};
    static const double even[4] = {10, 3, 1, 2};
    double scratch[10080], x[10080], m, d;

    (void)state;
    baseline_median_mad(odd, 5, scratch, &m, &d);
    assert_true(m == 3 && d == 2); /* deviations 17 2 7 0 1 */
    baseline_median_mad(even, 4, scratch, &m, &d);
    assert_true(m == 2.5 && d == 1); /* deviations 7.5 .5 1.5 .5 */
    baseline_median_mad(odd, 1, scratch, &m, &d);
    assert_true(m == 20 && d == 0);
    baseline_median_mad(even, 2, scratch, &m, &d);
    assert_true(m == 6.5 && d == 3.5);
    /* random, with many repeats, odd and even */
    srand(1);
    for (int run = 0; run < 3000; run++) {
        uint32_t n = 1 + (uint32_t)(rand() % 64);
        int range = 1 + rand() % 20;
        for (uint32_t i = 0; i < n; i++)
            x[i] = (double)(rand() % range) * (rand() % 7 ? 1 : 0.5);
        check_median_mad(x, n);
    }
    /* large histories in orders that defeat simple pivots */
    for (int shape = 0; shape < 7; shape++) {
        uint32_t n = shape % 2 ? 10080 : 10079;
        for (uint32_t i = 0; i < n; i++) {
            switch (shape) {
            case 0: x[i] = i; break;                          /* sorted */
            case 1: x[i] = n - i; break;                      /* reversed */
            case 2: x[i] = 7; break;                          /* flat */
            case 3: x[i] = i < n / 2 ? i : n - i; break;      /* organ */
            case 4: x[i] = i % 2 ? i : n + i; break;          /* zigzag */
            case 5: x[i] = (double)((i * 7919u) % 1000); break;
            default: x[i] = i % 3 == 0 ? 0 : 1e9; break;
            }
        }
        check_median_mad(x, n);
    }
}

/* Selection with few partition rounds (0: heapsort at once) or the
 * default: a[k] is the k-th smallest, nothing larger before it and nothing
 * smaller after it. */
static void test_select_rounds(void **state)
{
    double a[300], sorted[300];

    (void)state;
    srand(17);
    for (int run = 0; run < 2000; run++) {
        uint32_t n = 1 + (uint32_t)(rand() % 300);
        uint32_t k = (uint32_t)rand() % n;
        int rounds = rand() % 5 - 1;
        int range = 1 + rand() % 1000;
        double v;

        for (uint32_t i = 0; i < n; i++)
            a[i] = sorted[i] = (double)(rand() % range);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        v = baseline_select(a, n, k, rounds);
        assert_true(v == sorted[k] && a[k] == v);
        for (uint32_t i = 0; i < n; i++)
            assert_true(i < k ? a[i] <= v : i > k ? a[i] >= v : 1);
        qsort(a, n, sizeof *a, cmp_double);
        assert_memory_equal(a, sorted, n * sizeof *a); /* a permutation */
    }
}

/* Flat history, MAD = 0: the band is median + deviation * max(0.1 *
 * median, 1).  History 5, deviation 6, 1 s buckets. */
static void test_flat_history(void **state)
{
    struct bl b;
    const struct baseline_level *l;

    (void)state;
    /* 10 per bucket: band 10 + 6 * max(0, 1, 1) = 16 */
    bl_open(&b, SEC, 5, 6, 1);
    for (int i = 0; i < 5; i++)
        events(&b, i * SEC, 10);
    l = events(&b, 5 * SEC, 16);
    assert_true(l->ready);
    assert_true(l->median == 10 && l->mad == 0 && l->band == 16);
    assert_true(l->value == 16);
    assert_false(l->above); /* exactly at the band: not above */
    l = events(&b, 5 * SEC + 999, 1);
    assert_true(l->above);
    bl_close(&b);
    /* 100 per bucket: band 100 + 6 * max(0, 10, 1) = 160 */
    bl_open(&b, SEC, 5, 6, 1);
    for (int i = 0; i < 5; i++)
        events(&b, i * SEC, 100);
    l = events(&b, 5 * SEC, 160);
    assert_true(l->band == 160);
    assert_false(l->above);
    l = events(&b, 5 * SEC, 1);
    assert_true(l->above);
    bl_close(&b);
    /* 15 per bucket: 0.1 * 15 = 1.5 beats the floor of 1: band 24 */
    bl_open(&b, SEC, 5, 6, 1);
    for (int i = 0; i < 5; i++)
        events(&b, i * SEC, 15);
    l = events(&b, 5 * SEC, 24);
    assert_true(l->band == 24);
    assert_false(l->above);
    assert_true(events(&b, 5 * SEC, 1)->above);
    bl_close(&b);
}

/* Band from an odd and an even history, MAD above both floors. */
static void test_band_median_odd_even(void **state)
{
    static const int odd[5] = {20, 1, 10, 3, 2};
    static const int even[4] = {10, 3, 1, 2};
    struct bl b;
    const struct baseline_level *l;

    (void)state;
    bl_open(&b, SEC, 5, 6, 1);
    for (int i = 0; i < 5; i++)
        events(&b, i * SEC, odd[i]);
    l = events(&b, 5 * SEC, 0); /* moves to bucket 5 */
    assert_true(l->median == 3 && l->mad == 2);
    assert_true(l->band == 3 + 6 * (1.4826 * 2));
    assert_false(events(&b, 5 * SEC, 20)->above); /* 20 < 20.79 */
    assert_true(events(&b, 5 * SEC, 1)->above);
    bl_close(&b);
    bl_open(&b, SEC, 4, 2, 1);
    for (int i = 0; i < 4; i++)
        events(&b, i * SEC, even[i]);
    l = events(&b, 4 * SEC, 0);
    assert_true(l->median == 2.5 && l->mad == 1);
    assert_true(l->band == 2.5 + 2 * 1.4826);
    assert_false(events(&b, 4 * SEC, 5)->above); /* 5 < 5.4652 */
    assert_true(events(&b, 4 * SEC, 1)->above);
    bl_close(&b);
}

/* Not ready until `history` buckets have closed since the first event's
 * bucket (an event late in its bucket still makes that bucket first). */
static void test_history_not_full(void **state)
{
    struct bl b;
    const struct baseline_level *l;

    (void)state;
    bl_open(&b, SEC, 3, 6, 1);
    assert_int_equal(baseline_next_close(&b.s, b.st), INT64_MAX);
    advance(&b, 0); /* before any event: nothing happens */
    assert_int_equal(b.c.buckets, 0);
    l = events(&b, 999, 100); /* first bucket: 0 */
    assert_false(l->ready);
    assert_false(l->above);
    assert_true(isnan(l->band));
    assert_int_equal(baseline_next_close(&b.s, b.st), T0 + SEC);
    l = events(&b, 1 * SEC, 100);
    assert_false(l->ready);
    assert_int_equal(b.c.buckets, 1);
    assert_false(b.c.judged);
    assert_false(b.c.clear);
    l = events(&b, 2 * SEC + 999, 100);
    assert_false(l->ready);
    /* bucket 3: buckets 0, 1, 2 have closed */
    l = events(&b, 3 * SEC, 100);
    assert_true(l->ready);
    assert_true(l->band == 100 + 6 * 10);
    assert_false(l->above);
    assert_int_equal(l->bucket, T0 / SEC + 3);
    bl_close(&b);
}

/* min_value: a value over the band but under min_value does not fire. */
static void test_min_value(void **state)
{
    struct bl b;

    (void)state;
    bl_open(&b, SEC, 3, 6, 10);
    add_amount(&b, 0, 0);   /* the group's first bucket, value 0 */
    advance(&b, 3 * SEC);   /* three empty buckets: band 0 + 6 = 6 */
    assert_true(b.l.ready && b.l.band == 6);
    assert_false(events(&b, 3 * SEC, 9)->above);  /* 9 > 6, 9 < 10 */
    assert_true(events(&b, 3 * SEC, 1)->above);   /* 10 >= 10, 10 > 6 */
    bl_close(&b);
    /* min_value under the band: the band decides */
    bl_open(&b, SEC, 3, 6, 1);
    add_amount(&b, 0, 0);
    advance(&b, 3 * SEC);
    assert_false(events(&b, 3 * SEC, 6)->above);
    assert_true(events(&b, 3 * SEC, 1)->above);
    bl_close(&b);
}

/* The clear condition is judged when a bucket closes, on the band it had;
 * a gap closes the buckets it skipped as empty, and the newest of them is
 * judged on its own band. */
static void test_close_and_gaps(void **state)
{
    struct bl b;
    const struct baseline_level *l;

    (void)state;
    bl_open(&b, SEC, 3, 1, 1);
    for (int i = 0; i < 3; i++)
        events(&b, i * SEC, 10);
    l = events(&b, 3 * SEC, 12); /* band 10 + 1 * 1 = 11 */
    assert_true(l->above);
    /* bucket 3 closes at 12 > 11: not clear; bucket 4 has the band of
     * 10 10 12: median 10, MAD 0, band 11 */
    l = events(&b, 4 * SEC, 11);
    assert_int_equal(b.c.buckets, 1);
    assert_int_equal(b.c.bucket, T0 / SEC + 3);
    assert_true(b.c.judged && !b.c.clear);
    assert_true(b.c.value == 12 && b.c.band == 11);
    assert_true(l->band == 11 && !l->above);
    /* bucket 4 closes at 11 <= 11: clear */
    advance(&b, 5 * SEC);
    assert_true(b.c.judged && b.c.clear);
    assert_true(b.c.value == 11);
    /* history now 10 12 11: median 11, MAD 1, band 11 + 1.4826 */
    assert_true(b.l.median == 11 && b.l.mad == 1);
    assert_true(b.l.band == 11 + 1.4826);
    assert_int_equal(baseline_next_close(&b.s, b.st), T0 + 6 * SEC);
    /* bucket 5 gets 30, then a gap: 6 and 7 empty, now in 8.  Bucket 7
     * is judged on 11 30 0 (bucket 4, 5, 6): median 11, MAD 11 */
    events(&b, 5 * SEC, 30);
    advance(&b, 8 * SEC + 500);
    assert_int_equal(b.c.buckets, 3);
    assert_int_equal(b.c.bucket, T0 / SEC + 7);
    assert_true(b.c.value == 0);
    assert_true(b.c.band == 11 + 1.4826 * 11);
    assert_true(b.c.clear);
    /* bucket 8: 30 0 0: median 0, MAD 0, band 1 */
    assert_true(b.l.median == 0 && b.l.mad == 0 && b.l.band == 1);
    assert_true(b.l.value == 0);
    /* a gap longer than the history: all zeros */
    events(&b, 8 * SEC, 50);
    advance(&b, 1000 * SEC);
    assert_int_equal(b.c.buckets, 992);
    assert_true(b.c.judged && b.c.clear && b.c.band == 1);
    assert_true(b.l.median == 0 && b.l.band == 1);
    for (uint32_t i = 0; i < 3; i++)
        assert_true(b.st->ring[i] == 0);
    /* a gap of exactly the history: 1001..1003 skipped; bucket 1003 is
     * judged on 5 0 0, bucket 1004 has 0 0 0 */
    events(&b, 1000 * SEC, 5);
    advance(&b, 1004 * SEC);
    assert_int_equal(b.c.buckets, 4);
    assert_true(b.c.judged && b.c.clear && b.c.band == 1);
    assert_true(b.l.band == 1);
    bl_close(&b);
}

/* Late events, events after now, sums and bad amounts. */
static void test_late_and_sums(void **state)
{
    struct bl b;
    int rc;

    (void)state;
    bl_open(&b, 60 * SEC, 2, 6, 1);
    rc = baseline_add(&b.s, b.st, T0 + 500, T0 + 90 * SEC, 2.5, b.scratch,
                      &b.c);
    assert_int_equal(rc, BASELINE_OK); /* after now: taken at now */
    rc = baseline_add(&b.s, b.st, T0 + 61 * SEC, T0 + 59 * SEC, 1,
                      b.scratch, &b.c);
    assert_int_equal(rc, BASELINE_LATE); /* its bucket has closed */
    assert_int_equal(b.c.buckets, 1);
    assert_true(b.c.value == 2.5);
    rc = baseline_add(&b.s, b.st, T0 + 61 * SEC, T0 + 60 * SEC, 0.25,
                      b.scratch, &b.c);
    assert_int_equal(rc, BASELINE_OK);
    assert_int_equal(b.c.buckets, 0);
    rc = baseline_add(&b.s, b.st, T0 + 61 * SEC, T0 + 61 * SEC, NAN,
                      b.scratch, &b.c);
    assert_int_equal(rc, BASELINE_EINVAL);
    rc = baseline_add(&b.s, b.st, T0 + 61 * SEC, T0 + 61 * SEC, INFINITY,
                      b.scratch, &b.c);
    assert_int_equal(rc, BASELINE_EINVAL);
    /* a now that goes back changes nothing; its event is late */
    rc = baseline_add(&b.s, b.st, T0, T0, 1, b.scratch, &b.c);
    assert_int_equal(rc, BASELINE_LATE);
    assert_int_equal(b.c.buckets, 0);
    baseline_level(&b.s, b.st, &b.l);
    assert_true(b.l.value == 0.25);
    /* bucket 2: history 2.5, 0.25: median 1.375 */
    advance(&b, 120 * SEC);
    assert_true(b.l.ready && b.l.median == 1.375);
    /* the group's first event late: first bucket is now's */
    bl_close(&b);
    bl_open(&b, 60 * SEC, 2, 6, 1);
    rc = baseline_add(&b.s, b.st, T0 + 60 * SEC, T0, 1, b.scratch, &b.c);
    assert_int_equal(rc, BASELINE_LATE);
    advance(&b, 180 * SEC);
    assert_true(b.l.ready);
    bl_close(&b);
}

/* Negative times: buckets are floor(t / bucket). */
static void test_negative_times(void **state)
{
    struct bl b;

    (void)state;
    bl_open(&b, SEC, 2, 6, 1);
    events(&b, -T0 - 1500, 4); /* bucket -2 */
    assert_int_equal(b.l.bucket, -2);
    assert_int_equal(baseline_next_close(&b.s, b.st), -1000);
    events(&b, -T0 - 1, 2);    /* bucket -1 */
    events(&b, -T0, 1);        /* bucket 0 */
    assert_true(b.l.ready && b.l.median == 3);
    bl_close(&b);
}

/* Brute force: every bucket's value since the first, bands by sorting. */
#define REF_MAX 600

static void test_random_against_reference(void **state)
{
    double vals[REF_MAX], hist[64], med, mad;

    (void)state;
    srand(13);
    for (int run = 0; run < 400; run++) {
        uint32_t h = 1 + (uint32_t)(rand() % 12);
        double dev = (double)(rand() % 5);
        double minv = (double)(rand() % 4);
        int64_t bms = 1 + rand() % 50;
        int64_t now = 1000 + rand() % 1000, first = -1;
        struct bl b;

        bl_open(&b, bms, h, dev, minv);
        memset(vals, 0, sizeof vals);
        for (int e = 0; e < 400; e++) {
            int64_t t, cur;
            double amount = (double)(rand() % 4);
            int rc;

            now += rand() % 8 == 0 ? rand() % (bms * 6) : rand() % 3;
            if (first < 0)
                first = now / bms;
            if (now / bms - first >= REF_MAX)
                break;
            t = now - (rand() % 4 == 0 ? rand() % (bms + 1) : 0);
            rc = baseline_add(&b.s, b.st, now, t, amount, b.scratch, &b.c);
            cur = now / bms;
            assert_int_equal(rc, t / bms < cur ? BASELINE_LATE
                                               : BASELINE_OK);
            if (rc == BASELINE_OK)
                vals[cur - first] += amount;
            baseline_level(&b.s, b.st, &b.l);
            assert_int_equal(b.l.bucket, cur);
            assert_true(b.l.value == vals[cur - first]);
            assert_int_equal(b.l.ready, cur - first >= (int64_t)h);
            if (b.l.ready) {
                double band;
                for (uint32_t i = 0; i < h; i++)
                    hist[i] = vals[cur - first - h + i];
                ref_median_mad(hist, h, &med, &mad);
                band = med + dev * fmax(fmax(1.4826 * mad, 0.1 * med), 1);
                assert_true(b.l.median == med && b.l.mad == mad);
                assert_true(b.l.band == band);
                assert_int_equal(b.l.above, b.l.value >= minv &&
                                                b.l.value > band);
            }
            if (b.c.buckets > 0) {
                int64_t nb = b.c.bucket - first;
                assert_int_equal(b.c.bucket, cur - 1);
                assert_true(b.c.value == vals[nb]);
                assert_int_equal(b.c.judged, nb >= (int64_t)h);
                if (b.c.judged) {
                    for (uint32_t i = 0; i < h; i++)
                        hist[i] = vals[nb - h + i];
                    ref_median_mad(hist, h, &med, &mad);
                    assert_true(b.c.band ==
                                med + dev * fmax(fmax(1.4826 * mad,
                                                      0.1 * med), 1));
                    assert_int_equal(b.c.clear, b.c.value <= b.c.band);
                }
            }
        }
        bl_close(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_median_mad),
        cmocka_unit_test(test_select_rounds),
        cmocka_unit_test(test_flat_history),
        cmocka_unit_test(test_band_median_odd_even),
        cmocka_unit_test(test_history_not_full),
        cmocka_unit_test(test_min_value),
        cmocka_unit_test(test_close_and_gaps),
        cmocka_unit_test(test_late_and_sums),
        cmocka_unit_test(test_negative_times),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
