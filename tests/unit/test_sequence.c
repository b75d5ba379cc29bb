/*
 * test_sequence.c - the sequence kind's per-group state: sizes, steps in
 * order and out of order, repeated first steps (the newest chain is
 * kept), the within limit at its inclusive edge, an event meeting several
 * steps, five steps, starting over after firing, the times taken for
 * events after now or out of order, and a brute-force search over all
 * subsequences of thousands of random event lists.
 */
#include "detectors/sequence.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */
#define A 1u
#define B 2u
#define C 4u
#define D 8u
#define E 16u

struct seq {
    sequence_spec s;
    sequence_state *st;
    struct sequence_fire f;
};

static void seq_open(struct seq *q, unsigned steps, int64_t within)
{
    assert_int_equal(sequence_spec_init(&q->s, steps, within), SEQUENCE_OK);
    q->st = malloc(q->s.size);
    assert_non_null(q->st);
    sequence_reset(&q->s, q->st);
}

/* Feed an event at T0 + t (now = its time); 1 when it fired. */
static int feed(struct seq *q, int64_t t, unsigned mask)
{
    int rc = sequence_feed(&q->s, q->st, T0 + t, T0 + t, mask, &q->f);

    assert_true(rc == SEQUENCE_OK || rc == SEQUENCE_FIRED);
    return rc == SEQUENCE_FIRED;
}

/* The last firing's step times, relative to T0. */
static void assert_steps(const struct seq *q, const int64_t *want)
{
    assert_int_equal(q->f.steps, q->s.steps);
    assert_int_equal(q->f.first_ms, T0 + want[0]);
    for (unsigned i = 0; i < q->s.steps; i++)
        assert_int_equal(q->f.step_ms[i], T0 + want[i]);
}

static void test_spec(void **state)
{
    sequence_spec s;

    (void)state;
    assert_int_equal(sequence_spec_init(&s, 2, 0), SEQUENCE_OK);
    assert_int_equal(s.size, 24);
    assert_int_equal(sequence_spec_init(&s, 3, 1000), SEQUENCE_OK);
    assert_int_equal(s.size, 40);
    assert_int_equal(sequence_spec_init(&s, 4, 1000), SEQUENCE_OK);
    assert_int_equal(s.size, 64);
    assert_int_equal(sequence_spec_init(&s, 5, SEQUENCE_MAX_WITHIN_MS),
                     SEQUENCE_OK);
    assert_int_equal(s.size, 96);
    assert_int_equal(sequence_spec_init(&s, 1, 1000), SEQUENCE_EINVAL);
    assert_int_equal(sequence_spec_init(&s, 6, 1000), SEQUENCE_EINVAL);
    assert_int_equal(sequence_spec_init(&s, 3, -1), SEQUENCE_EINVAL);
    assert_int_equal(sequence_spec_init(&s, 3, SEQUENCE_MAX_WITHIN_MS + 1),
                     SEQUENCE_EINVAL);
}

static void test_in_order(void **state)
{
    struct seq q;
    static const int64_t want[3] = {100, 200, 300};

    (void)state;
    seq_open(&q, 3, 1000);
    assert_int_equal(q.st->fired, INT64_MIN);
    assert_false(feed(&q, 0, 0));     /* meets no step */
    assert_false(feed(&q, 100, A));
    assert_false(feed(&q, 150, C));   /* C before B: nothing */
    assert_false(feed(&q, 200, B));
    assert_true(feed(&q, 300, C));
    assert_steps(&q, want);
    assert_int_equal(q.st->fired, T0 + 300);
    free(q.st);
}

/* B A C: not in order; a later B then C completes A B C. */
static void test_out_of_order_steps(void **state)
{
    struct seq q;
    static const int64_t want[3] = {20, 40, 50};

    (void)state;
    seq_open(&q, 3, 1000);
    assert_false(feed(&q, 10, B));
    assert_false(feed(&q, 20, A));
    assert_false(feed(&q, 30, C));
    assert_false(feed(&q, 40, B));
    assert_true(feed(&q, 50, C));
    assert_steps(&q, want);
    /* C B A: nothing */
    assert_false(feed(&q, 60, C));
    assert_false(feed(&q, 70, B));
    assert_false(feed(&q, 80, A));
    free(q.st);
}

/* Repeated first steps: the newest chain that can complete is kept. */
static void test_repeated_first_steps(void **state)
{
    struct seq q;
    static const int64_t want1[3] = {100, 150, 200};
    static const int64_t want2[3] = {20, 30, 40};
    static const int64_t want3[3] = {0, 10, 30};

    (void)state;
    /* A(0) A(100) B(150) C(200), within 100: from A(100), 100 <= 100 */
    seq_open(&q, 3, 100);
    feed(&q, 0, A);
    feed(&q, 100, A);
    feed(&q, 150, B);
    assert_true(feed(&q, 200, C));
    assert_steps(&q, want1);
    free(q.st);
    /* A B A B C: the second A starts the chain that fires */
    seq_open(&q, 3, 1000);
    feed(&q, 0, A);
    feed(&q, 10, B);
    feed(&q, 20, A);
    feed(&q, 30, B);
    assert_true(feed(&q, 40, C));
    assert_steps(&q, want2);
    free(q.st);
    /* A B A C: the newer A has no B yet; the older chain completes */
    seq_open(&q, 3, 1000);
    feed(&q, 0, A);
    feed(&q, 10, B);
    feed(&q, 20, A);
    assert_true(feed(&q, 30, C));
    assert_steps(&q, want3);
    free(q.st);
}

/* within is inclusive: first to last exactly `within` fires, one ms more
 * does not; a chain too old is dropped, a newer one still completes. */
static void test_within_edge(void **state)
{
    struct seq q;
    static const int64_t want[3] = {1000, 1050, 1100};
    static const int64_t want0[2] = {5000, 5000};

    (void)state;
    seq_open(&q, 3, 100);
    feed(&q, 0, A);
    feed(&q, 50, B);
    assert_true(feed(&q, 100, C));
    free(q.st);
    seq_open(&q, 3, 99);
    feed(&q, 0, A);
    feed(&q, 50, B);
    assert_false(feed(&q, 100, C));
    feed(&q, 1000, A);
    feed(&q, 1050, B);
    assert_true(feed(&q, 1099, C));
    free(q.st);
    /* a middle step exactly at the limit, then the last at the same ms */
    seq_open(&q, 3, 100);
    feed(&q, 900, A);
    feed(&q, 1000, A);
    feed(&q, 1050, B);
    assert_false(feed(&q, 1101, B)); /* chain of A(1000) now too old */
    assert_false(feed(&q, 1101, C));
    free(q.st);
    seq_open(&q, 3, 100);
    feed(&q, 1000, A);
    feed(&q, 1050, B);
    assert_true(feed(&q, 1100, C));
    assert_steps(&q, want);
    free(q.st);
    /* within 0: both steps at the same ms */
    seq_open(&q, 2, 0);
    feed(&q, 4999, A);
    assert_false(feed(&q, 5000, B));
    feed(&q, 5000, A);
    assert_true(feed(&q, 5000, B));
    assert_steps(&q, want0);
    free(q.st);
}

/* One event fills at most one step of a chain. */
static void test_event_meeting_several_steps(void **state)
{
    struct seq q;
    static const int64_t want2[2] = {0, 10};
    static const int64_t want3[3] = {0, 10, 20};

    (void)state;
    seq_open(&q, 2, 1000);
    assert_false(feed(&q, 0, A | B));
    assert_true(feed(&q, 10, A | B));
    assert_steps(&q, want2);
    /* the firing event starts nothing: the next A|B is a first step */
    assert_false(feed(&q, 20, A | B));
    free(q.st);
    seq_open(&q, 3, 1000);
    assert_false(feed(&q, 0, A | B));
    assert_false(feed(&q, 10, B | C)); /* B, or C of nothing */
    assert_true(feed(&q, 20, C));
    assert_steps(&q, want3);
    free(q.st);
    /* A, B, then an event meeting A and C: it completes, and starts no
     * chain: B C afterwards do not fire */
    seq_open(&q, 3, 1000);
    feed(&q, 0, A);
    feed(&q, 10, B);
    assert_true(feed(&q, 20, A | C));
    assert_false(feed(&q, 30, B));
    assert_false(feed(&q, 40, C));
    /* every step at once, three times: A, B, C */
    assert_false(feed(&q, 50, A | B | C));
    assert_false(feed(&q, 60, A | B | C));
    assert_true(feed(&q, 70, A | B | C));
    assert_int_equal(q.f.first_ms, T0 + 50);
    free(q.st);
}

static void test_five_steps(void **state)
{
    struct seq q;
    static const int64_t want[5] = {30, 40, 60, 70, 90};

    (void)state;
    seq_open(&q, 5, 60);
    feed(&q, 0, A);
    feed(&q, 10, B);
    feed(&q, 20, C);
    feed(&q, 30, A);
    feed(&q, 40, B);
    feed(&q, 50, D); /* the chain of A(0) reaches D */
    feed(&q, 60, C);
    feed(&q, 70, D);
    /* the chain of A(0) was dropped at 70 (older than 70 - 60); the chain
     * of A(30) reached D at 70 and E completes it 60 after A */
    assert_false(feed(&q, 89, 0));
    assert_true(feed(&q, 90, E));
    assert_steps(&q, want);
    assert_false(feed(&q, 91, E));
    free(q.st);
    seq_open(&q, 5, 60);
    feed(&q, 0, A);
    feed(&q, 10, B);
    feed(&q, 20, C);
    feed(&q, 30, D);
    assert_false(feed(&q, 61, E)); /* 61 > 60 */
    free(q.st);
    /* steps past the last are ignored in the mask */
    seq_open(&q, 2, 60);
    feed(&q, 0, A | 0x80);
    assert_false(feed(&q, 1, 0x40));
    assert_true(feed(&q, 2, B));
    free(q.st);
}

/* After firing the chain starts over: every step again. */
static void test_restart_after_firing(void **state)
{
    struct seq q;
    static const int64_t want[3] = {40, 50, 60};

    (void)state;
    seq_open(&q, 3, 1000);
    feed(&q, 0, A);
    feed(&q, 5, A);
    feed(&q, 10, B);
    feed(&q, 15, B);
    assert_true(feed(&q, 20, C));
    assert_int_equal(q.st->fired, T0 + 20);
    assert_false(feed(&q, 30, C)); /* A and B were consumed */
    assert_false(feed(&q, 35, B));
    assert_false(feed(&q, 36, C));
    feed(&q, 40, A);
    feed(&q, 50, B);
    assert_true(feed(&q, 60, C));
    assert_steps(&q, want);
    assert_int_equal(q.st->fired, T0 + 60);
    free(q.st);
}

/* An event after now is taken at now; one older than the group's last is
 * taken at that time, which counts against `within`. */
static void test_times(void **state)
{
    struct seq q;
    int rc;

    (void)state;
    seq_open(&q, 2, 100);
    rc = sequence_feed(&q.s, q.st, T0, T0 + 5000, A, &q.f);
    assert_int_equal(rc, SEQUENCE_OK);
    assert_int_equal(q.st->last, T0);
    rc = sequence_feed(&q.s, q.st, T0 + 100, T0 - 9000, B, &q.f);
    assert_int_equal(rc, SEQUENCE_FIRED);
    assert_int_equal(q.f.first_ms, T0);
    assert_int_equal(q.f.step_ms[1], T0);
    rc = sequence_feed(&q.s, q.st, T0 + 300, T0 + 200, A, &q.f);
    assert_int_equal(rc, SEQUENCE_OK);
    /* stamped 150, taken at 200 */
    rc = sequence_feed(&q.s, q.st, T0 + 300, T0 + 150, B, &q.f);
    assert_int_equal(rc, SEQUENCE_FIRED);
    assert_int_equal(q.f.step_ms[1], T0 + 200);
    rc = sequence_feed(&q.s, q.st, T0 + 301, T0 + 201, A, &q.f);
    assert_int_equal(rc, SEQUENCE_OK);
    rc = sequence_feed(&q.s, q.st, T0 + 400, T0 + 301, B, &q.f);
    assert_int_equal(rc, SEQUENCE_FIRED); /* 100 after A: inclusive */
    rc = sequence_feed(&q.s, q.st, T0 + 400, T0 + 302, A, &q.f);
    assert_int_equal(rc, SEQUENCE_OK);
    /* an event meeting no step moves the time to 403; B stamped 250 is
     * taken at 403, 101 after A: too late */
    rc = sequence_feed(&q.s, q.st, T0 + 403, T0 + 403, 0, &q.f);
    assert_int_equal(rc, SEQUENCE_OK);
    rc = sequence_feed(&q.s, q.st, T0 + 500, T0 + 250, B, &q.f);
    assert_int_equal(rc, SEQUENCE_OK);
    free(q.st);
}

/* Brute force: every increasing choice of events after `after` for steps
 * 1..k-1 before event j, which meets step k; `best` is the latest first
 * time of a choice within the limit (INT64_MIN: none).  t: the times the
 * events are taken at; f: the time a chain an event starts starts at. */
struct ref {
    const int64_t *t;
    const int64_t *f;
    const unsigned *mask;
    int j;
    unsigned steps;
    int64_t within;
    int64_t best;
};

static void ref_search(struct ref *r, unsigned m, int lo, int64_t start)
{
    if (m == r->steps - 1) {
        if (r->t[r->j] - start <= r->within && start > r->best)
            r->best = start;
        return;
    }
    for (int i = lo; i < r->j; i++)
        if (r->mask[i] >> m & 1)
            ref_search(r, m + 1, i + 1, m == 0 ? r->f[i] : start);
}

static int64_t ref_best_start(const int64_t *t, const int64_t *f,
                              const unsigned *mask, int j, int after,
                              unsigned steps, int64_t within)
{
    struct ref r = {t, f, mask, j, steps, within, INT64_MIN};

    if (mask[j] >> (steps - 1) & 1)
        ref_search(&r, 0, after + 1, 0);
    return r.best;
}

/* Do the reported step times name events after `after`, in order, each
 * meeting its step, the last being j?  Taking for each step the earliest
 * event that fits leaves the most room for the next, so a greedy scan
 * decides. */
static int ref_chain_ok(const int64_t *t, const int64_t *first,
                        const unsigned *mask, int j, int after,
                        unsigned steps, const struct sequence_fire *f)
{
    int i = after + 1;

    for (unsigned m = 0; m + 1 < steps; m++) {
        while (i < j && !((m == 0 ? first[i] : t[i]) == f->step_ms[m] &&
                          (mask[i] >> m & 1)))
            i++;
        if (i >= j)
            return 0;
        i++;
    }
    return f->step_ms[steps - 1] == t[j];
}

static void test_random_against_brute_force(void **state)
{
    (void)state;
    srand(5);
    for (int run = 0; run < 20000; run++) {
        unsigned steps = 2 + (unsigned)(rand() % 4);
        int64_t within = rand() % 40;
        int n = 1 + rand() % 12;
        int64_t t[12], first[12];
        unsigned mask[12];
        int64_t now = T0;
        int after = -1;
        sequence_spec s;
        sequence_state *st;

        assert_int_equal(sequence_spec_init(&s, steps, within), SEQUENCE_OK);
        st = malloc(s.size);
        assert_non_null(st);
        sequence_reset(&s, st);
        for (int j = 0; j < n; j++) {
            struct sequence_fire f;
            int64_t stamp, best;
            int rc;

            now += rand() % 12;
            /* mostly in order, sometimes stamped late or in the future */
            stamp = now - (rand() % 5 == 0 ? rand() % 30 : 0) +
                    (rand() % 15 == 0 ? 7 : 0);
            mask[j] = (unsigned)rand() % (1u << steps);
            if (rand() % 3 == 0)
                mask[j] = 1u << (rand() % (int)steps);
            /* the time the state takes it at */
            t[j] = stamp > now ? now : stamp;
            /* a chain it starts starts at its own time, not before the
             * last completed sequence */
            first[j] = after >= 0 && t[j] < t[after] ? t[after] : t[j];
            if (j > 0 && t[j] < t[j - 1])
                t[j] = t[j - 1];
            rc = sequence_feed(&s, st, now, stamp, mask[j], &f);
            best = ref_best_start(t, first, mask, j, after, steps, within);
            assert_int_equal(rc == SEQUENCE_FIRED, best != INT64_MIN);
            assert_int_equal(st->last, t[j]);
            if (rc == SEQUENCE_FIRED) {
                assert_int_equal(f.first_ms, best);
                assert_int_equal(f.steps, steps);
                assert_int_equal(f.step_ms[0], best);
                assert_true(
                    ref_chain_ok(t, first, mask, j, after, steps, &f));
                assert_int_equal(st->fired, t[j]);
                after = j;
            }
        }
        free(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order_steps),
        cmocka_unit_test(test_repeated_first_steps),
        cmocka_unit_test(test_within_edge),
        cmocka_unit_test(test_event_meeting_several_steps),
        cmocka_unit_test(test_five_steps),
        cmocka_unit_test(test_restart_after_firing),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_random_against_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
