/*
 * stream_helpers.h - shared by test_position and test_stream: a temporary
 * state directory, its position file, and a stream reader created on a
 * loop of its own (never started unless a test starts it, so no transfer
 * runs).
 *
 * Header-only (static functions): each test binary includes it once, after
 * cmocka.h.
 */
#ifndef TW_TEST_STREAM_HELPERS_H
#define TW_TEST_STREAM_HELPERS_H

#include "base/log.h"
#include "base/loop.h"
#include "consumer/stream.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The file at `path` holds exactly `want` ("" when missing). */
static void expect_file(const char *path, const char *want)
{
    char text[128];

    read_text(path, text, sizeof text);
    assert_string_equal(text, want);
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

/* A reader on lp keeping its position in t, Last-Event-ID `lei` (or
 * NULL) configured; its URL is a port where nothing listens. */
static stream *reader_create(loop *lp, const struct tdir *t, const char *lei,
                             const struct stream_callbacks *cb, void *ud)
{
    struct stream_config c;
    stream *s;

    stream_config_defaults(&c);
    c.url = "http://127.0.0.1:9/events";
    c.state_dir = t->path;
    c.last_event_id = lei;
    s = stream_create(lp, &c, cb, ud);
    assert_non_null(s);
    return s;
}

static void rig_open(struct rig *r, const struct tdir *t, const char *lei)
{
    r->lp = loop_create();
    assert_non_null(r->lp);
    r->s = reader_create(r->lp, t, lei, &cbs, NULL);
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

/* Group setup and teardown: libcurl for the readers, and only errors
 * logged (a test's unusable files and refused calls log warnings). */
static int stream_tests_setup(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int stream_tests_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

#endif
