/*
 * test_keys.c - the bounded group table: lookup, LRU eviction of unpinned
 * groups only, refusal when everything is pinned, reuse of freed slots.
 */
#include "detectors/keys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static uint32_t get(det_keys *k, uint64_t key, int *created)
{
    return det_keys_get(k, key * 0x9e3779b97f4a7c15ull, key, created);
}

static uint32_t find(det_keys *k, uint64_t key)
{
    return det_keys_find(k, key * 0x9e3779b97f4a7c15ull, key);
}

/* The most recently seen unpinned group (the LRU walk's last). */
static uint32_t lru_last(const det_keys *k)
{
    uint32_t cur = 0, s, last = DET_NIL;

    while ((s = det_keys_lru_walk(k, &cur)) != DET_NIL)
        last = s;
    return last;
}

static void test_insert_find(void **state)
{
    det_keys k;
    int c;

    (void)state;
    assert_int_equal(det_keys_init(&k, 4), DET_KEYS_OK);
    assert_int_equal(get(&k, 1, &c), 0);
    assert_int_equal(c, 1);
    assert_int_equal(get(&k, 2, &c), 1);
    assert_int_equal(get(&k, 1, &c), 0);
    assert_int_equal(c, 0);
    assert_int_equal(find(&k, 2), 1);
    assert_int_equal(find(&k, 3), DET_NIL);
    assert_int_equal(k.count, 2);
    det_keys_free(&k);
    assert_int_equal(det_keys_init(&k, 0), DET_KEYS_EINVAL);
    det_keys_free(&k);
}

static void test_lru_eviction(void **state)
{
    det_keys k;
    int c;

    (void)state;
    det_keys_init(&k, 3);
    get(&k, 1, &c);
    get(&k, 2, &c);
    get(&k, 3, &c);
    get(&k, 1, &c); /* 1 seen again: 2 is now the least recent */
    get(&k, 4, &c);
    assert_int_equal(c, 1);
    assert_int_equal(k.evictions, 1);
    assert_int_equal(find(&k, 2), DET_NIL);
    assert_true(find(&k, 1) != DET_NIL);
    assert_true(find(&k, 3) != DET_NIL);
    /* pin 3: the next eviction takes 1, then 4 */
    det_keys_pin(&k, find(&k, 3));
    get(&k, 5, &c);
    assert_int_equal(find(&k, 1), DET_NIL);
    get(&k, 6, &c);
    assert_int_equal(find(&k, 4), DET_NIL);
    assert_true(find(&k, 3) != DET_NIL);
    assert_int_equal(k.evictions, 3);
    det_keys_free(&k);
}

/* det_keys_live_at: from a position, the next unpinned group in the
 * order of sightings, the position left on it; a group seen again moves
 * past it; a compaction is counted (positions start again from 0). */
static void test_live_at(void **state)
{
    det_keys k;
    uint32_t pos = 0, s1, s2, s3, n0;
    int c;

    (void)state;
    det_keys_init(&k, 3);
    s1 = get(&k, 1, &c);
    s2 = get(&k, 2, &c);
    s3 = get(&k, 3, &c);
    assert_int_equal(det_keys_live_at(&k, &pos), s1);
    assert_int_equal(pos, 0);
    det_keys_pin(&k, s1);                 /* off the order */
    assert_int_equal(det_keys_live_at(&k, &pos), s2);
    assert_int_equal(pos, 1);
    get(&k, 2, &c);                       /* 2 is now the newest */
    assert_int_equal(det_keys_live_at(&k, &pos), s3);
    assert_int_equal(pos, 2);
    pos++;
    assert_int_equal(det_keys_live_at(&k, &pos), s2);
    pos++;
    assert_int_equal(det_keys_live_at(&k, &pos), DET_NIL);
    assert_int_equal(pos, k.log_tail);
    n0 = k.compactions;
    for (uint32_t i = 0; i < 2 * k.log_cap; i++)
        get(&k, 2 + i % 2, &c);           /* fills the log: compacted */
    assert_true(k.compactions > n0);
    pos = 0;
    assert_true(det_keys_live_at(&k, &pos) != DET_NIL);
    det_keys_free(&k);
}

static void test_all_pinned(void **state)
{
    det_keys k;
    int c;

    (void)state;
    det_keys_init(&k, 2);
    det_keys_pin(&k, get(&k, 1, &c));
    det_keys_pin(&k, get(&k, 2, &c));
    assert_int_equal(get(&k, 3, &c), DET_NIL);
    assert_int_equal(k.full, 1);
    assert_int_equal(k.npinned, 2);
    /* unpinned, a group becomes evictable again */
    det_keys_unpin(&k, find(&k, 1));
    assert_true(get(&k, 3, &c) != DET_NIL);
    assert_int_equal(find(&k, 1), DET_NIL);
    assert_true(find(&k, 2) != DET_NIL);
    det_keys_free(&k);
}

/* The overflow group: in the one slot kept beyond cap, pinned, not in the
 * hash, never evicted; cap still bounds the other groups. */
static void test_overflow_slot(void **state)
{
    det_keys k;
    uint32_t o, s1, s2;
    int c;

    (void)state;
    assert_int_equal(det_keys_init(&k, 2), DET_KEYS_OK);
    assert_int_equal(k.cap, 2);
    assert_int_equal(k.cap_alloc, 3);
    assert_int_equal(k.ovf, DET_NIL);
    s1 = get(&k, 1, &c);
    s2 = get(&k, 2, &c);
    det_keys_pin(&k, s1);
    det_keys_pin(&k, s2);
    assert_false(det_keys_room(&k));
    assert_int_equal(get(&k, 3, &c), DET_NIL);
    assert_int_equal(k.full, 1);
    o = det_keys_overflow(&k, &c);
    assert_int_equal(c, 1);
    assert_int_equal(o, 2); /* the slot past cap */
    assert_int_equal(k.ovf, 2);
    assert_int_equal(det_keys_overflow(&k, &c), o);
    assert_int_equal(c, 0);
    assert_int_equal(k.count, 3);
    assert_int_equal(det_keys_groups(&k), 2);
    assert_int_equal(k.npinned, 3);
    assert_true(k.slot[o].pinned);
    det_keys_unpin(&k, o); /* stays pinned */
    assert_true(k.slot[o].pinned);
    assert_int_equal(find(&k, 3), DET_NIL);
    /* a group unpinned: room again; a new group evicts it, not the
     * overflow group, and the table holds cap groups besides it */
    det_keys_unpin(&k, s1);
    assert_true(det_keys_room(&k));
    assert_true(get(&k, 3, &c) != DET_NIL);
    assert_int_equal(c, 1);
    assert_int_equal(k.evictions, 1);
    assert_int_equal(find(&k, 1), DET_NIL);
    assert_int_equal(k.ovf, o);
    assert_int_equal(det_keys_groups(&k), 2);
    assert_true(get(&k, 4, &c) != DET_NIL); /* evicts 3 */
    assert_int_equal(k.evictions, 2);
    assert_int_equal(det_keys_groups(&k), 2);
    det_keys_remove(&k, o);
    assert_int_equal(k.ovf, DET_NIL);
    assert_int_equal(k.count, 2);
    assert_int_equal(k.npinned, 1);
    det_keys_free(&k);
}

/* The buckets in use start at 64 and double, every group chained again,
 * when the groups outnumber them; every group stays found. */
static void test_buckets_grow(void **state)
{
    det_keys k;
    int c;

    (void)state;
    assert_int_equal(det_keys_init(&k, 1000), DET_KEYS_OK);
    assert_int_equal(k.nbuckets, 1024);
    assert_int_equal(k.mask, 63);
    for (uint64_t i = 1; i <= 64; i++)
        assert_int_equal(get(&k, i, &c), i - 1);
    assert_int_equal(k.mask, 63);
    get(&k, 65, &c);
    assert_int_equal(k.mask, 127);
    for (uint64_t i = 66; i <= 1000; i++)
        get(&k, i, &c);
    assert_int_equal(k.mask, 1023);
    for (uint64_t i = 1; i <= 1000; i++)
        assert_int_equal(find(&k, i), i - 1);
    /* at cap: an insert evicts the least recently seen, the table no
     * longer grows */
    get(&k, 1001, &c);
    assert_int_equal(find(&k, 1), DET_NIL);
    assert_int_equal(find(&k, 1001), 0);
    assert_int_equal(k.mask, 1023);
    det_keys_free(&k);
    /* a table smaller than 64 uses all its buckets from the start */
    assert_int_equal(det_keys_init(&k, 5), DET_KEYS_OK);
    assert_int_equal(k.mask, 7);
    det_keys_free(&k);
}

/* det_keys_get_near: a hint that holds the key is taken (and seen: the
 * LRU order moves), any other falls back to the hash. */
static void test_get_near(void **state)
{
    det_keys k;
    uint64_t h = 2 * 0x9e3779b97f4a7c15ull;
    int c;

    (void)state;
    det_keys_init(&k, 3);
    get(&k, 1, &c);
    get(&k, 2, &c);
    get(&k, 3, &c);
    assert_int_equal(det_keys_oldest(&k), 0);
    assert_int_equal(det_keys_get_near(&k, h, 2, 1, &c), 1);
    assert_int_equal(c, 0);
    assert_int_equal(lru_last(&k), 1);
    assert_int_equal(det_keys_get_near(&k, h, 2, 0, &c), 1); /* wrong */
    assert_int_equal(det_keys_get_near(&k, h, 2, DET_NIL, &c), 1);
    assert_int_equal(det_keys_get_near(&k, h, 2, 77, &c), 1);
    /* the hint alone: the slot when it holds the key (seen), else none */
    assert_int_equal(det_keys_at_hint(&k, 3 * 0x9e3779b97f4a7c15ull, 3, 2),
                     2);
    assert_int_equal(lru_last(&k), 2);
    assert_int_equal(det_keys_at_hint(&k, h, 2, 0), DET_NIL);
    assert_int_equal(det_keys_at_hint(&k, h, 2, 3), DET_NIL); /* >= hw */
    assert_int_equal(det_keys_at_hint(&k, h, 2, DET_NIL), DET_NIL);
    assert_int_equal(det_keys_at_hint(&k, h, 3, 1), DET_NIL); /* h1 */
    assert_int_equal(lru_last(&k), 2);
    /* a new key through a wrong hint: inserted, evicting key 1 */
    assert_int_equal(det_keys_get_near(&k, 4 * 0x9e3779b97f4a7c15ull, 4, 1,
                                       &c),
                     0);
    assert_int_equal(c, 1);
    assert_int_equal(find(&k, 1), DET_NIL);
    det_keys_free(&k);
}

static void test_remove_reuse(void **state)
{
    det_keys k;
    int c;

    (void)state;
    det_keys_init(&k, 3);
    get(&k, 1, &c);
    get(&k, 2, &c);
    det_keys_remove(&k, find(&k, 1));
    assert_int_equal(k.count, 1);
    assert_int_equal(find(&k, 1), DET_NIL);
    assert_int_equal(get(&k, 7, &c), 0); /* the freed slot */
    assert_int_equal(get(&k, 8, &c), 2); /* then a fresh one */
    /* a pinned slot can be removed too */
    det_keys_pin(&k, find(&k, 8));
    det_keys_remove(&k, find(&k, 8));
    assert_int_equal(k.npinned, 0);
    assert_int_equal(k.pin_head, DET_NIL);
    det_keys_free(&k);
}

/* Many keys through a small table: lists and hash stay consistent. */
static void test_churn(void **state)
{
    det_keys k;
    int c;

    (void)state;
    det_keys_init(&k, 1000);
    for (uint64_t i = 0; i < 100000; i++) {
        uint32_t s = get(&k, i, &c);
        assert_int_equal(c, 1);
        if (i % 97 == 0 && k.npinned < 500)
            det_keys_pin(&k, s);
    }
    assert_int_equal(k.count, 1000);
    assert_int_equal(k.evictions, 100000 - 1000);
    /* every pinned key survived */
    for (uint64_t i = 0; i < 100000; i += 97)
        if (i / 97 < 500)
            assert_true(find(&k, i) != DET_NIL);
    /* the newest keys are there */
    assert_true(find(&k, 99999) != DET_NIL);
    det_keys_free(&k);
}

/* Random sightings, pins, unpins and removals on a table of 8 against a
 * model of last-seen times: every eviction takes the least recently seen
 * unpinned key, and the LRU walk lists the unpinned keys oldest first,
 * through many compactions of the log (18 + 64 entries). */
static void test_lru_model(void **state)
{
    enum { CAP = 8, KEYS = 24 };
    det_keys k;
    uint64_t seen_at[KEYS] = {0}, clock = 0, rnd = 12345;
    int present[KEYS] = {0}, pinned[KEYS] = {0}, c;

    (void)state;
    assert_int_equal(det_keys_init(&k, CAP), DET_KEYS_OK);
    for (int step = 0; step < 200000; step++) {
        uint64_t key;
        int op, n = 0, victim = -1;

        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        key = (rnd >> 33) % KEYS;
        op = (int)((rnd >> 20) % 16);
        for (int i = 0; i < KEYS; i++)
            n += present[i];
        if (op < 12) { /* a sighting, maybe an insert */
            if (!present[key] && n == CAP)
                for (int i = 0; i < KEYS; i++)
                    if (present[i] && !pinned[i] &&
                        (victim < 0 || seen_at[i] < seen_at[victim]))
                        victim = i;
            uint32_t got = get(&k, key + 1, &c);
            if (!present[key] && n == CAP && victim < 0) {
                assert_int_equal(got, DET_NIL); /* all pinned */
                continue;
            }
            if (victim >= 0) {
                present[victim] = 0;
                assert_int_equal(find(&k, (uint64_t)victim + 1), DET_NIL);
            }
            assert_int_equal(c, !present[key]);
            present[key] = 1;
            if (!pinned[key])
                seen_at[key] = ++clock;
        } else if (op < 14 && present[key]) {
            uint32_t s = find(&k, key + 1);
            if (pinned[key]) {
                det_keys_unpin(&k, s);
                seen_at[key] = ++clock;
            } else {
                det_keys_pin(&k, s);
            }
            pinned[key] = !pinned[key];
        } else if (op == 15 && present[key]) {
            det_keys_remove(&k, find(&k, key + 1));
            present[key] = pinned[key] = 0;
        }
        /* the walk: every unpinned key, by last sighting */
        uint32_t cur = 0, sl, nwalk = 0;
        uint64_t last = 0;
        while ((sl = det_keys_lru_walk(&k, &cur)) != DET_NIL) {
            uint64_t h1 = k.slot[sl].h1;
            assert_true(h1 >= 1 && h1 <= KEYS);
            assert_true(present[h1 - 1] && !pinned[h1 - 1]);
            assert_true(seen_at[h1 - 1] > last);
            last = seen_at[h1 - 1];
            nwalk++;
        }
        n = 0;
        for (int i = 0; i < KEYS; i++)
            n += present[i] && !pinned[i];
        assert_int_equal(nwalk, (uint32_t)n);
        assert_true(k.log_tail <= k.log_cap);
    }
    det_keys_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_find),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_live_at),
        cmocka_unit_test(test_all_pinned),
        cmocka_unit_test(test_overflow_slot),
        cmocka_unit_test(test_buckets_grow),
        cmocka_unit_test(test_get_near),
        cmocka_unit_test(test_remove_reuse),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_lru_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
