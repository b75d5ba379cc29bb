/*
 * test_position.c - the stream reader's position (consumer/position.h):
 * the position file's two formats, its generation, the choice between it
 * and a position recorded elsewhere (the alert journal), and the hand-over
 * from one owner to another (position_take).
 *
 * What: an old-format file (the id alone) loads as generation 0; the new
 * format ("id LF generation LF") loads with its generation; a file that is
 * neither is ignored; a persist writes the new format with a generation
 * above every one read, offered or claimed; an offered position wins only
 * when its generation is higher (so a crash between a journal commit and
 * the position-file write resumes from the journal); after a hand-over the
 * source writes nothing and the destination's generations are above the
 * source's.
 *
 * The file tests go through the stream reader (consumer/stream.h), as the
 * service does: no transfer is started, a reader is created on a loop,
 * inspected and destroyed.  The rest call position_* directly.  Every test
 * works in its own mkdtemp directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consumer/position.h"
#include "consumer/stream.h"
#include "base/loop.h"
#include "stream_helpers.h"

/* ---- tests ------------------------------------------------------------- */

static void test_old_format_loads(void **state)
{
    struct tdir t;
    struct rig r;
    char text[128];

    (void)state;
    tdir_make(&t);
    write_bytes(t.pos, "tw-1234", 7);
    rig_open(&r, &t, "from-config");
    expect_id(r.s, "tw-1234"); /* the file wins over the configuration */
    assert_int_equal(stream_position_generation(r.s), 0);
    /* unchanged: nothing is rewritten */
    assert_int_equal(stream_persist(r.s), STREAM_OK);
    read_text(t.pos, text, sizeof text);
    assert_string_equal(text, "tw-1234");
    /* any recorded generation is newer than an old-format file */
    assert_int_equal(stream_position_offer(r.s, "tw-1240", 7, 1), 1);
    expect_id(r.s, "tw-1240");
    assert_int_equal(stream_persist(r.s), STREAM_OK);
    read_text(t.pos, text, sizeof text);
    assert_string_equal(text, "tw-1240\n2\n");
    rig_close(&r);
    tdir_remove(&t);
}

static void test_new_format(void **state)
{
    struct tdir t;
    struct rig r;
    char text[128];
    const char *id;
    size_t len;
    uint64_t gen;

    (void)state;
    tdir_make(&t);
    write_bytes(t.pos, "ev 7\n41\n", 8);
    rig_open(&r, &t, NULL);
    expect_id(r.s, "ev 7");
    assert_int_equal(stream_position_generation(r.s), 41);
    /* a claim takes the next generation and leaves the file alone */
    id = stream_position_claim(r.s, &len, &gen);
    assert_int_equal(gen, 42);
    assert_int_equal(len, 4);
    assert_memory_equal(id, "ev 7", 4);
    /* older or equal offers are not taken; gen 0 means none */
    assert_int_equal(stream_position_offer(r.s, "older", 5, 40), 0);
    assert_int_equal(stream_position_offer(r.s, "same", 4, 42), 0);
    assert_int_equal(stream_position_offer(r.s, "none", 4, 0), 0);
    expect_id(r.s, "ev 7");
    /* unusable offers */
    assert_int_equal(stream_position_offer(r.s, "a\nb", 3, 99),
                     STREAM_EINVAL);
    assert_int_equal(stream_position_offer(r.s, "a\0b", 3, 99),
                     STREAM_EINVAL);
    assert_int_equal(stream_position_offer(r.s, "x", 1, UINT64_MAX),
                     STREAM_EINVAL);
    expect_id(r.s, "ev 7");
    /* a newer one is */
    assert_int_equal(stream_position_offer(r.s, "ev 9", 4, 50), 1);
    expect_id(r.s, "ev 9");
    assert_int_equal(stream_position_generation(r.s), 50);
    assert_int_equal(stream_persist(r.s), STREAM_OK);
    read_text(t.pos, text, sizeof text);
    assert_string_equal(text, "ev 9\n51\n");
    rig_close(&r);

    /* the next reader starts above it */
    rig_open(&r, &t, NULL);
    expect_id(r.s, "ev 9");
    assert_int_equal(stream_position_generation(r.s), 51);
    assert_int_equal(stream_position_offer(r.s, "ev 8", 4, 50), 0);
    expect_id(r.s, "ev 9");
    rig_close(&r);
    tdir_remove(&t);
}

/* Position files that are not usable. */
static const struct {
    const char *b;
    size_t n;
} bad[] = {
    { "id\n", 3 },                          /* no generation */
    { "id\n7", 4 },                         /* no final LF */
    { "id\n7\n\n", 6 },                     /* more after it */
    { "id\nx\n", 5 },                       /* not digits */
    { "id\n0\n", 5 },                       /* 0 is "none" */
    { "id\n-1\n", 6 },
    { "id\n 7\n", 6 },
    { "id\n4611686018427387905\n", 23 },    /* over 2^62 */
    { "id\n000000000000000000001\n", 25 },  /* 21 digits */
    { "a\rb", 3 },
    { "a\0b", 3 },
    { "a\rb\n7\n", 6 },
};

static void test_unusable_files_ignored(void **state)
{
    struct tdir t;
    struct rig r;

    (void)state;
    tdir_make(&t);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_bytes(t.pos, bad[i].b, bad[i].n);
        rig_open(&r, &t, "cfg-id");
        expect_id(r.s, "cfg-id");
        assert_int_equal(stream_position_generation(r.s), 0);
        stream_destroy(r.s); /* persists cfg-id: the file is replaced */
        loop_destroy(r.lp);
    }
    /* the largest generation loads */
    write_bytes(t.pos, "id\n4611686018427387904\n", 23);
    rig_open(&r, &t, NULL);
    expect_id(r.s, "id");
    assert_int_equal(stream_position_generation(r.s), UINT64_C(1) << 62);
    rig_close(&r);
    /* an empty id with a generation (a stream without ids) */
    write_bytes(t.pos, "\n3\n", 3);
    rig_open(&r, &t, "cfg-id");
    expect_id(r.s, "");
    assert_int_equal(stream_position_generation(r.s), 3);
    rig_close(&r);
    tdir_remove(&t);
}

/* No file: an offered position is taken, and the file written later has a
 * higher generation; stop persists it. */
static void test_no_file(void **state)
{
    struct tdir t;
    struct rig r;
    char text[128];
    struct stat sb;

    (void)state;
    tdir_make(&t);
    rig_open(&r, &t, NULL);
    expect_id(r.s, "");
    assert_int_equal(stream_position_generation(r.s), 0);
    assert_int_equal(stream_position_offer(r.s, "j-7", 3, 3), 1);
    expect_id(r.s, "j-7");
    rig_close(&r); /* stop persists */
    read_text(t.pos, text, sizeof text);
    assert_string_equal(text, "j-7\n4\n");
    assert_int_equal(stat(t.pos, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    tdir_remove(&t);
}

/* ---- position_* on their own ------------------------------------------- */

static void test_parse(void **state)
{
    char big[POSITION_ID_MAX + 2];
    size_t idlen = 99;
    uint64_t gen = 99;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(position_parse(bad[i].b, bad[i].n, &idlen, &gen),
                         POSITION_EINVAL);
    assert_int_equal(position_parse("tw-1234", 7, &idlen, &gen), 0);
    assert_int_equal(idlen, 7);
    assert_int_equal(gen, 0);
    assert_int_equal(position_parse("ev 7\n41\n", 8, &idlen, &gen), 0);
    assert_int_equal(idlen, 4);
    assert_int_equal(gen, 41);
    assert_int_equal(position_parse("\n3\n", 3, &idlen, &gen), 0);
    assert_int_equal(idlen, 0);
    assert_int_equal(gen, 3);
    assert_int_equal(position_parse("id\n4611686018427387904\n", 23, &idlen,
                                    &gen), 0);
    assert_int_equal(gen, POSITION_GEN_MAX);
    /* the id's length: below POSITION_ID_MAX, in either format */
    memset(big, 'i', sizeof big);
    assert_int_equal(position_parse(big, POSITION_ID_MAX - 1, &idlen, &gen),
                     0);
    assert_int_equal(idlen, POSITION_ID_MAX - 1);
    assert_int_equal(position_parse(big, POSITION_ID_MAX, &idlen, &gen),
                     POSITION_EINVAL);
    memcpy(big + POSITION_ID_MAX - 1, "\n1\n", 3);
    assert_int_equal(position_parse(big, POSITION_ID_MAX + 2, &idlen, &gen),
                     0);
    assert_int_equal(gen, 1);
}

static void test_id_ok(void **state)
{
    static char big[POSITION_ID_MAX];

    (void)state;
    memset(big, 'i', sizeof big);
    assert_int_equal(position_id_ok(NULL, 0), 1);
    assert_int_equal(position_id_ok("", 0), 1);
    assert_int_equal(position_id_ok("ev 7", 4), 1);
    assert_int_equal(position_id_ok(big, POSITION_ID_MAX - 1), 1);
    assert_int_equal(position_id_ok(big, POSITION_ID_MAX), 0);
    assert_int_equal(position_id_ok(NULL, 1), 0);
    assert_int_equal(position_id_ok("a\nb", 3), 0);
    assert_int_equal(position_id_ok("a\rb", 3), 0);
    assert_int_equal(position_id_ok("a\0b", 3), 0);
}

/* Open, persist, claim, reopen; without a directory nothing is written. */
static void test_persist_and_reopen(void **state)
{
    struct tdir t;
    struct position p;
    char id[POSITION_ID_MAX];
    size_t len = 99;

    (void)state;
    tdir_make(&t);
    position_init(&p);
    assert_int_equal(position_persist(&p, "a", 1), POSITION_OK);
    assert_null(position_dir(&p));
    assert_int_equal(position_generation(&p), 0);
    assert_int_equal(position_open(&p, t.path, id, &len), 0);
    assert_string_equal(position_dir(&p), t.path);
    assert_int_equal(position_open(&p, t.path, id, &len), POSITION_EINVAL);
    assert_int_equal(position_persist(&p, "a", 1), POSITION_OK);
    expect_file(t.pos, "a\n1\n");
    /* unchanged: no write, no generation */
    assert_int_equal(position_persist(&p, "a", 1), POSITION_OK);
    assert_int_equal(position_generation(&p), 1);
    assert_int_equal(position_claim(&p), 2);
    assert_int_equal(position_persist(&p, "b", 1), POSITION_OK);
    expect_file(t.pos, "b\n3\n");
    /* an id that cannot be one is not written */
    assert_int_equal(position_persist(&p, "c\nd", 3), POSITION_EIO);
    expect_file(t.pos, "b\n3\n");
    position_reset(&p);
    assert_null(position_dir(&p));

    position_init(&p);
    assert_int_equal(position_open(&p, t.path, id, &len), 1);
    assert_int_equal(len, 1);
    assert_string_equal(id, "b");
    assert_int_equal(position_generation(&p), 3);
    position_reset(&p);
    tdir_remove(&t);
}

/* An offer that cannot be adopted changes nothing, its generation
 * included. */
static void test_offer_unusable(void **state)
{
    static char big[POSITION_ID_MAX];
    struct position p;

    (void)state;
    memset(big, 'i', sizeof big);
    position_init(&p);
    assert_int_equal(position_offer(&p, big, POSITION_ID_MAX, 9),
                     POSITION_EINVAL);
    assert_int_equal(position_offer(&p, NULL, 1, 9), POSITION_EINVAL);
    assert_int_equal(position_offer(&p, "x", 1, POSITION_GEN_MAX + 1),
                     POSITION_EINVAL);
    assert_int_equal(position_generation(&p), 0);
    assert_int_equal(position_offer(&p, NULL, 0, 4), 1);
    assert_int_equal(position_offer(&p, big, POSITION_ID_MAX - 1,
                                    POSITION_GEN_MAX), 1);
    assert_int_equal(position_generation(&p), POSITION_GEN_MAX);
    position_reset(&p);
}

static void test_open_errors(void **state)
{
    struct tdir t;
    struct position p;
    char id[POSITION_ID_MAX], dir[128];
    size_t len = 0;

    (void)state;
    tdir_make(&t);
    position_init(&p);
    /* a file where the directory should be */
    write_bytes(t.pos, "x", 1);
    assert_int_equal(position_open(&p, t.pos, id, &len), POSITION_EIO);
    assert_null(position_dir(&p));
    assert_int_equal(position_open(&p, NULL, id, &len), POSITION_EINVAL);
    /* a missing directory is created, 0700 */
    snprintf(dir, sizeof dir, "%s/sub", t.path);
    assert_int_equal(position_open(&p, dir, id, &len), 0);
    {
        struct stat sb;

        assert_int_equal(stat(dir, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0700);
    }
    position_reset(&p);
    assert_int_equal(rmdir(dir), 0);
    tdir_remove(&t);
}

/* Same directory: the destination knows what the source last wrote, its
 * generations are above the source's, and the source writes no more. */
static void test_take_same_dir(void **state)
{
    struct tdir t;
    struct position src, dst;
    char id[POSITION_ID_MAX];
    size_t len = 0;

    (void)state;
    tdir_make(&t);
    write_bytes(t.pos, "x\n5\n", 4);
    position_init(&src);
    position_init(&dst);
    assert_int_equal(position_open(&src, t.path, id, &len), 1);
    assert_int_equal(position_open(&dst, t.path, id, &len), 1);
    assert_int_equal(position_generation(&dst), 5);
    /* the source goes on after the destination read the file */
    assert_int_equal(position_persist(&src, "y", 1), POSITION_OK);
    assert_int_equal(position_claim(&src), 7);
    position_take(&dst, &src);
    assert_int_equal(position_generation(&dst), 7);
    assert_null(position_dir(&src));
    assert_string_equal(position_dir(&dst), t.path);
    assert_int_equal(position_persist(&src, "z", 1), POSITION_OK);
    expect_file(t.pos, "y\n6\n");
    /* "y" is in the file already */
    assert_int_equal(position_persist(&dst, "y", 1), POSITION_OK);
    expect_file(t.pos, "y\n6\n");
    assert_int_equal(position_persist(&dst, "w", 1), POSITION_OK);
    expect_file(t.pos, "w\n8\n");
    position_reset(&src);
    position_reset(&dst);
    tdir_remove(&t);
}

/* Other directories: the destination keeps its own file's record and
 * takes the higher generation; the source's file stays as it was. */
static void test_take_other_dir(void **state)
{
    struct tdir ts, td;
    struct position src, dst;
    char id[POSITION_ID_MAX];
    size_t len = 0;

    (void)state;
    tdir_make(&ts);
    tdir_make(&td);
    write_bytes(ts.pos, "s\n4\n", 4);
    write_bytes(td.pos, "d\n9\n", 4);
    position_init(&src);
    position_init(&dst);
    assert_int_equal(position_open(&src, ts.path, id, &len), 1);
    assert_int_equal(position_open(&dst, td.path, id, &len), 1);
    position_take(&dst, &src);
    assert_int_equal(position_generation(&dst), 9);
    assert_null(position_dir(&src));
    position_reset(&src); /* writes nothing */
    assert_int_equal(position_persist(&dst, "d", 1), POSITION_OK);
    expect_file(td.pos, "d\n9\n");
    assert_int_equal(position_persist(&dst, "s", 1), POSITION_OK);
    expect_file(td.pos, "s\n10\n");
    expect_file(ts.pos, "s\n4\n");
    position_reset(&dst);
    tdir_remove(&ts);
    tdir_remove(&td);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(position_strerror(POSITION_OK), "ok");
    assert_string_equal(position_strerror(POSITION_EIO),
                        "I/O error in the state directory");
    assert_string_equal(position_strerror(12345), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_format_loads),
        cmocka_unit_test(test_new_format),
        cmocka_unit_test(test_unusable_files_ignored),
        cmocka_unit_test(test_no_file),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_id_ok),
        cmocka_unit_test(test_persist_and_reopen),
        cmocka_unit_test(test_offer_unusable),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_take_same_dir),
        cmocka_unit_test(test_take_other_dir),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, stream_tests_setup,
                                  stream_tests_teardown);
}
