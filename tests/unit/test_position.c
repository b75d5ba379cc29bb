/*
 * test_stream.c - the stream reader's position (consumer/stream.h): the
 * position file's two formats, its generation, and the choice between it
 * and a position recorded elsewhere (the alert journal).
 *
 * What: an old-format file (the id alone) loads as generation 0; the new
 * format ("id LF generation LF") loads with its generation; a file that is
 * neither is ignored; stream_persist writes the new format with a
 * generation above every one read, offered or claimed; an offered position
 * wins only when its generation is higher (so a crash between a journal
 * commit and the position-file write resumes from the journal).
 *
 * No transfer is started: a reader is created on a loop, inspected and
 * destroyed.  Every test works in its own mkdtemp directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consumer/stream.h"
#include "base/log.h"
#include "base/loop.h"

struct tdir {
    char path[64];
    char pos[96];
};

static void tdir_make(struct tdir *t)
{
    memcpy(t->path, "/tmp/tw_stream_XXXXXX", 22);
    assert_non_null(mkdtemp(t->path));
    snprintf(t->pos, sizeof t->pos, "%s/position", t->path);
}

static void tdir_remove(struct tdir *t)
{
    char p[128];

    unlink(t->pos);
    snprintf(p, sizeof p, "%s/position.tmp", t->path);
    unlink(p);
    rmdir(t->path);
}

static void write_bytes(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The whole file as a string ("" when missing). */
static void read_text(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    if (f != NULL) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

static int on_event(void *ud, const sse_event *ev)
{
    (void)ud;
    (void)ev;
    return 0;
}

static const struct stream_callbacks cbs = { .on_event = on_event };

struct rig {
    loop *lp;
    stream *s;
};

static void rig_open(struct rig *r, const struct tdir *t, const char *lei)
{
    struct stream_config c;

    stream_config_defaults(&c);
    c.url = "http://127.0.0.1:9/events";
    c.state_dir = t->path;
    c.last_event_id = lei;
    r->lp = loop_create();
    assert_non_null(r->lp);
    r->s = stream_create(r->lp, &c, &cbs, NULL);
    assert_non_null(r->s);
}

static void rig_close(struct rig *r)
{
    stream_destroy(r->s);
    loop_destroy(r->lp);
}

static void expect_id(const stream *s, const char *want)
{
    size_t len = 99;
    const char *id = stream_last_event_id(s, &len);

    assert_int_equal(len, strlen(want));
    assert_memory_equal(id, want, len);
}

/* ---- tests ---------------------------------------------------------------- */

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

static void test_unusable_files_ignored(void **state)
{
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

static int setup(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR); /* "ignoring unusable position file" */
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_format_loads),
        cmocka_unit_test(test_new_format),
        cmocka_unit_test(test_unusable_files_ignored),
        cmocka_unit_test(test_no_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
