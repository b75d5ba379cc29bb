/*
 * test_stream.c - the stream reader (consumer/stream.h) across a reload,
 * build-then-swap: a new reader is created while the old one still exists
 * (even running, on the same loop and state directory), and the old one
 * hands its position over (stream_take_position) before it is destroyed.
 *
 * What: creating the new reader takes nothing exclusive and writes
 * nothing; a new reader dropped before the hand-over leaves the position
 * file alone; after the hand-over the new reader has the old one's last
 * event ID and generations above the old one's, and the old one is stopped,
 * writes nothing and cannot start again; wrong uses are refused and change
 * nothing.  And the wait a Retry-After asks for is capped at retry_max_ms.
 *
 * No transfer is ever driven: a started reader only has its request added
 * to a loop that never runs.  The position file itself is test_position's.
 * Every test works in its own mkdtemp directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/loop.h"
#include "consumer/stream.h"
#include "stream_helpers.h"

/* The states a reader reported, in order. */
struct seen {
    enum stream_state st[8];
    int n;
};

static void on_state(void *ud, enum stream_state st)
{
    struct seen *w = ud;

    if (w->n < 8)
        w->st[w->n++] = st;
}

static const struct stream_callbacks watch_cbs = {
    .on_event = on_event,
    .on_state = on_state,
};

/* A state directory whose position file says "ev 7", generation 41. */
static void tdir_seeded(struct tdir *t)
{
    tdir_make(t);
    write_bytes(t->pos, "ev 7\n41\n", 8);
}

/* ---- tests ------------------------------------------------------------- */

/* The old reader runs; the new one is built beside it on the same loop
 * and directory, takes its position, and the old one goes. */
static void test_build_then_swap(void **state)
{
    struct tdir t;
    struct seen w = { .n = 0 };
    loop *lp;
    stream *old, *nst;
    const char *id;
    size_t len;
    uint64_t gen;

    (void)state;
    tdir_seeded(&t);
    lp = loop_create();
    assert_non_null(lp);
    old = reader_create(lp, &t, NULL, &watch_cbs, &w);
    /* the old reader moves on (as from the journal) and runs */
    assert_int_equal(stream_position_offer(old, "ev 9", 4, 50), 1);
    assert_int_equal(stream_start(old), STREAM_OK);
    assert_int_equal(stream_state(old), STREAM_CONNECTING);
    id = stream_position_claim(old, &len, &gen);
    assert_int_equal(gen, 51);

    /* nothing exclusive, nothing written */
    nst = reader_create(lp, &t, NULL, &cbs, NULL);
    expect_id(nst, "ev 7");
    assert_int_equal(stream_position_generation(nst), 41);
    expect_file(t.pos, "ev 7\n41\n");
    assert_int_equal(stream_state(old), STREAM_CONNECTING);

    assert_int_equal(stream_take_position(nst, old), STREAM_OK);
    expect_id(nst, "ev 9");
    assert_int_equal(stream_position_generation(nst), 51);
    assert_int_equal(stream_state(old), STREAM_DONE);
    assert_int_equal(w.st[w.n - 1], STREAM_DONE);
    assert_int_equal(stream_start(old), STREAM_EINVAL);
    assert_int_equal(stream_persist(old), STREAM_OK); /* writes nothing */
    stream_destroy(old);
    expect_file(t.pos, "ev 7\n41\n");

    /* the new reader's generations are above every one the old gave */
    id = stream_position_claim(nst, &len, &gen);
    assert_int_equal(gen, 52);
    assert_int_equal(len, 4);
    assert_memory_equal(id, "ev 9", 4);
    assert_int_equal(stream_persist(nst), STREAM_OK);
    expect_file(t.pos, "ev 9\n53\n");
    assert_int_equal(stream_start(nst), STREAM_OK);
    stream_destroy(nst);
    loop_destroy(lp);
    tdir_remove(&t);
}

/* The old reader writes after the new one read the file: the new one
 * knows, and does not write the same position again. */
static void test_take_knows_last_write(void **state)
{
    struct tdir t;
    struct rig old, nst;

    (void)state;
    tdir_seeded(&t);
    rig_open(&old, &t, NULL);
    rig_open(&nst, &t, NULL);
    assert_int_equal(stream_position_offer(old.s, "ev 9", 4, 50), 1);
    assert_int_equal(stream_persist(old.s), STREAM_OK);
    expect_file(t.pos, "ev 9\n51\n");
    assert_int_equal(stream_take_position(nst.s, old.s), STREAM_OK);
    rig_close(&old);
    assert_int_equal(stream_persist(nst.s), STREAM_OK);
    expect_file(t.pos, "ev 9\n51\n");
    rig_close(&nst); /* stop persists: nothing new */
    expect_file(t.pos, "ev 9\n51\n");
    tdir_remove(&t);
}

/* A replacement that is dropped (the reload failed) leaves the file and
 * the old reader as they were. */
static void test_dropped_replacement(void **state)
{
    struct tdir t;
    struct rig old, nst;

    (void)state;
    tdir_seeded(&t);
    rig_open(&old, &t, NULL);
    rig_open(&nst, &t, NULL);
    rig_close(&nst);
    expect_file(t.pos, "ev 7\n41\n");
    assert_int_equal(stream_position_offer(old.s, "ev 9", 4, 50), 1);
    rig_close(&old);
    expect_file(t.pos, "ev 9\n51\n");
    tdir_remove(&t);
}

/* No position file yet: the hand-over still carries id and generation,
 * and the old reader does not create the file on its way out. */
static void test_take_without_file(void **state)
{
    struct tdir t;
    struct rig old, nst;

    (void)state;
    tdir_make(&t);
    rig_open(&old, &t, NULL);
    rig_open(&nst, &t, NULL);
    assert_int_equal(stream_position_offer(old.s, "j-7", 3, 3), 1);
    assert_int_equal(stream_take_position(nst.s, old.s), STREAM_OK);
    rig_close(&old);
    expect_file(t.pos, "");
    expect_id(nst.s, "j-7");
    assert_int_equal(stream_position_generation(nst.s), 3);
    rig_close(&nst);
    expect_file(t.pos, "j-7\n4\n");
    tdir_remove(&t);
}

static void test_take_refused(void **state)
{
    struct tdir t;
    struct rig a, b, c;

    (void)state;
    tdir_seeded(&t);
    rig_open(&a, &t, NULL);
    rig_open(&b, &t, NULL);
    rig_open(&c, &t, NULL);
    assert_int_equal(stream_take_position(a.s, a.s), STREAM_EINVAL);
    assert_int_equal(stream_take_position(NULL, a.s), STREAM_EINVAL);
    assert_int_equal(stream_take_position(a.s, NULL), STREAM_EINVAL);
    /* into a started reader */
    assert_int_equal(stream_position_offer(b.s, "ev 9", 4, 50), 1);
    assert_int_equal(stream_start(a.s), STREAM_OK);
    assert_int_equal(stream_take_position(a.s, b.s), STREAM_EINVAL);
    expect_id(a.s, "ev 7");
    assert_int_equal(stream_state(b.s), STREAM_IDLE);
    assert_int_equal(stream_start(b.s), STREAM_OK);
    /* once handed over, neither from it nor into it again */
    assert_int_equal(stream_take_position(c.s, b.s), STREAM_OK);
    assert_int_equal(stream_take_position(c.s, b.s), STREAM_EINVAL);
    rig_close(&a);
    rig_open(&a, &t, NULL);
    assert_int_equal(stream_take_position(b.s, a.s), STREAM_EINVAL);
    assert_int_equal(stream_take_position(a.s, b.s), STREAM_EINVAL);
    expect_id(a.s, "ev 7");
    expect_id(c.s, "ev 9");
    assert_int_equal(stream_position_generation(c.s), 50);
    rig_close(&a);
    rig_close(&b);
    rig_close(&c);
    expect_file(t.pos, "ev 9\n51\n");
    tdir_remove(&t);
}

/* Retry-After never makes the reader wait past retry_max_ms: a server
 * that asks for 31 years gets the cap (and the ask is flagged, to be
 * logged once); a shorter ask is honoured; the backoff stays the floor. */
static void test_retry_after_capped(void **state)
{
    int capped = -1;

    (void)state;
    assert_int_equal(stream_retry_wait(700, 1000000000ull * 1000, 30000,
                                       &capped), 30000);
    assert_int_equal(capped, 1);
    assert_int_equal(stream_retry_wait(700, 2000, 30000, &capped), 2000);
    assert_int_equal(capped, 0);
    assert_int_equal(stream_retry_wait(700, 30000, 30000, &capped), 30000);
    assert_int_equal(capped, 0);
    assert_int_equal(stream_retry_wait(900, 100, 30000, &capped), 900);
    assert_int_equal(capped, 0);
    assert_int_equal(stream_retry_wait(300, 3600000, 300, &capped), 300);
    assert_int_equal(capped, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_then_swap),
        cmocka_unit_test(test_take_knows_last_write),
        cmocka_unit_test(test_dropped_replacement),
        cmocka_unit_test(test_take_without_file),
        cmocka_unit_test(test_take_refused),
        cmocka_unit_test(test_retry_after_capped),
    };
    return cmocka_run_group_tests(tests, stream_tests_setup,
                                  stream_tests_teardown);
}
