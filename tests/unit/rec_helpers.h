/*
 * rec_helpers.h - shared by the tests of the value pool and of the kinds
 * that keep their values in it (valpool, distinct, new_value): writing a
 * field of a checkpoint record, damaging a record at random, and a rule
 * instance of a kind set up as the engine sets one up, to call its ops.
 *
 * Header-only (static functions): each test binary includes it once.
 */
#ifndef TW_TEST_REC_HELPERS_H
#define TW_TEST_REC_HELPERS_H

#include "detectors/kind.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* every helper: a test binary uses some of them */
#define RH_FN static __attribute__((unused))

#define RH_GROUPS 4 /* groups of a test rule instance */

/* Write v at `at` as a record writes an i64: little-endian. */
RH_FN void put64(unsigned char *at, int64_t v)
{
    for (int k = 0; k < 8; k++)
        at[k] = (unsigned char)((uint64_t)v >> (8 * k));
}

/* Call try(ud, bytes, m) `runs` times with copies of rec (n bytes)
 * damaged at random (srand(seed) first): a length from 0 to n + 1, a
 * random byte after the record, 1 to 3 bits flipped.  try must refuse or
 * load each without a crash. */
RH_FN void rec_damage(const unsigned char *rec, size_t n, int runs,
                      unsigned seed,
                      void (*try)(void *ud, const unsigned char *p,
                                  size_t m),
                      void *ud)
{
    unsigned char *r = malloc(n + 1);

    assert_non_null(r);
    srand(seed);
    for (int i = 0; i < runs; i++) {
        size_t m = (size_t)rand() % (n + 2);

        memcpy(r, rec, n);
        r[n] = (unsigned char)rand();
        for (int k = rand() % 3; k >= 0; k--)
            r[(size_t)rand() % (n + 1)] ^=
                (unsigned char)(1u << (rand() % 8));
        try(ud, r, m);
    }
    free(r);
}

/* A rule instance of `kind` with RH_GROUPS groups, the kind's keys *p
 * (NULL: none), window_ms and threshold `thr`, created with its slab as
 * the engine sets one up; *rule is its rule. */
RH_FN void inst_new(struct det_rule *r, struct rule *rule, int kind,
                    const struct rule_params *p, int64_t window_ms,
                    double thr)
{
    memset(rule, 0, sizeof *rule);
    rule->kind = kind;
    if (p != NULL)
        rule->p = *p;
    memset(r, 0, sizeof *r);
    r->rule = rule;
    r->kind = det_kinds[kind];
    r->window_ms = window_ms;
    r->threshold = r->clear = r->thr_min = r->thr_max = thr;
    assert_int_equal(det_keys_init(&r->keys, RH_GROUPS), DET_KEYS_OK);
    assert_int_equal(r->kind->create(r), 0);
    r->state = det_slab_alloc(RH_GROUPS * r->stride);
    assert_non_null(r->state);
}

RH_FN void inst_free(struct det_rule *r)
{
    r->kind->destroy(r);
    det_slab_free(r->state, RH_GROUPS * r->stride);
    det_keys_free(&r->keys);
}

/* A new group of r with key k and flags fl (DET_G_*), reset unless it is
 * an alert group or muted (as the engine does). */
RH_FN uint32_t inst_group(struct det_rule *r, uint64_t k, unsigned fl)
{
    int created;
    uint32_t s = det_keys_get(&r->keys, k, k, &created);

    assert_int_equal(created, 1);
    r->keys.slot[s].spare = (uint8_t)fl;
    if (fl == 0)
        r->kind->reset(r, s);
    return s;
}

/* A record loaded into group `slot` of rule instance r, reset first:
 * refused, with the group reset and the pool as it was, or loaded with
 * at most `max` values; a try of rec_damage. */
struct inst_try {
    struct det_rule *r;
    uint32_t slot;
    uint32_t max;
    unsigned loaded; /* records loaded */
};

RH_FN void inst_try_load(void *ud, const unsigned char *p, size_t m)
{
    struct inst_try *t = ud;
    const valpool *pool = t->r->priv;
    uint32_t before;

    t->r->kind->reset(t->r, t->slot);
    before = valpool_count(pool);
    if (t->r->kind->load(t->r, t->slot, p, m) == 0) {
        assert_true(valpool_count(pool) - before <= t->max);
        t->r->kind->reset(t->r, t->slot);
        t->loaded++;
    }
    assert_int_equal(valpool_count(pool), before);
}

#endif
