/*
 * test_journal.c - the durable outbox: round trips, acks, torn tails at
 * every length, damaged records, compaction, sequence numbers, hostile
 * lengths, disk full (RLIMIT_FSIZE in a child process).  Stream positions
 * (POSITION records): written and read back, the newest (highest
 * generation) wins, kept by compaction, cut with a torn tail, not trusted
 * after damage, voided with a failed sync.  The pure record layer has its
 * own tests (test_journal_record.c).
 *
 * Every test works in its own mkdtemp directory under /tmp.
 */
#include "alerts/journal.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/journal_helpers.h"

/* ---- helpers ------------------------------------------------------------ */

struct tdir {
    char path[64];
    char log[96];
};

static void tdir_make(struct tdir *t)
{
    memcpy(t->path, "/tmp/tw_journal_XXXXXX", 23);
    assert_non_null(mkdtemp(t->path));
    snprintf(t->log, sizeof(t->log), "%s/journal.log", t->path);
}

static void tdir_remove(struct tdir *t)
{
    static const char *names[] = { "journal.log", "journal.log.tmp",
                                   "journal.lock" };
    char p[128];

    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", t->path, names[i]);
        unlink(p);
    }
    rmdir(t->path);
}

static journal *jopen(const struct tdir *t, const struct journal_options *o)
{
    int err = 1;
    journal *j = journal_open(t->path, o, &err);

    assert_non_null(j);
    assert_int_equal(err, JOURNAL_OK);
    return j;
}

static uint64_t append(journal *j, const char *sink, const char *id,
                       int64_t created, const char *body)
{
    struct journal_record_entry e = mk(sink, id, created, body);
    uint64_t seq = 0;

    assert_int_equal(journal_append(j, &e, &seq), JOURNAL_OK);
    assert_true(seq > 0);
    return seq;
}

/* Pending entries copied out by journal_foreach_pending. */
struct got {
    size_t n;
    uint64_t seq[256];
    char sink[256][64];
    char id[256][64];
    int64_t created[256];
    char *body[256];
    size_t body_len[256];
};

static int collect(void *ud, uint64_t seq,
                   const struct journal_record_entry *e)
{
    struct got *g = ud;

    if (g->n >= 256)
        return 1;
    g->seq[g->n] = seq;
    snprintf(g->sink[g->n], 64, "%.*s", (int)e->sink_len, e->sink);
    snprintf(g->id[g->n], 64, "%.*s", (int)e->msg_id_len, e->msg_id);
    g->created[g->n] = e->created_ms;
    g->body[g->n] = malloc(e->body_len + 1);
    assert_non_null(g->body[g->n]);
    if (e->body_len > 0)
        memcpy(g->body[g->n], e->body, e->body_len);
    g->body[g->n][e->body_len] = '\0';
    g->body_len[g->n] = e->body_len;
    g->n++;
    return 0;
}

static struct got *pending(journal *j)
{
    struct got *g = calloc(1, sizeof(*g));

    assert_non_null(g);
    assert_int_equal(journal_foreach_pending(j, collect, g), JOURNAL_OK);
    assert_int_equal(g->n, journal_pending_count(j));
    return g;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->body[i]);
    free(g);
}

static off_t file_size(const char *path)
{
    struct stat sb;

    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    off_t n = file_size(path);

    assert_non_null(f);
    b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_file(const char *path, const void *b, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* a byte of a position record's id (header 24, generation 8, length 2) */
#define HDR_PAYLOAD_BYTE (24 + 8 + 2 + 1)

/* ---- tests -------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
    struct tdir t;
    struct journal_options o = { 0 };
    char big[5000];
    uint64_t s1, s2, s3, s4;
    struct stat sb;

    (void)state;
    tdir_make(&t);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    journal *j = jopen(&t, &o);
    assert_int_equal(journal_pending_count(j), 0);
    s1 = append(j, "webhook", "msg_a", 1000, "{\"type\":\"alert.firing\"}");
    s2 = append(j, "slack", "msg_b", -5, "");
    s3 = append(j, "", "", INT64_MAX, big);
    s4 = append(j, "pagerduty", "msg_d", 42, "line\nwith\0nul");
    assert_true(s1 < s2 && s2 < s3 && s3 < s4);
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    assert_true(journal_writable(j));
    journal_close(j);

    /* files are private */
    assert_int_equal(stat(t.log, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(t.path, &sb), 0);
    assert_int_equal(sb.st_mode & 0077, 0);

    j = jopen(&t, &o);
    struct got *g = pending(j);
    assert_int_equal(g->n, 4);
    assert_int_equal(g->seq[0], s1);
    assert_int_equal(g->seq[3], s4);
    assert_string_equal(g->sink[0], "webhook");
    assert_string_equal(g->id[0], "msg_a");
    assert_int_equal(g->created[0], 1000);
    assert_string_equal(g->body[0], "{\"type\":\"alert.firing\"}");
    assert_string_equal(g->sink[1], "slack");
    assert_int_equal(g->created[1], -5);
    assert_int_equal(g->body_len[1], 0);
    assert_string_equal(g->sink[2], "");
    assert_int_equal(g->created[2], INT64_MAX);
    assert_int_equal(g->body_len[2], sizeof(big) - 1);
    assert_memory_equal(g->body[2], big, sizeof(big) - 1);
    assert_int_equal(g->body_len[3], strlen("line\nwith")); /* strlen'd */
    got_free(g);

    {
        struct journal_stats st;
        journal_get_stats(j, &st);
        assert_int_equal(st.pending, 4);
        assert_int_equal(st.next_seq, s4 + 1);
        assert_int_equal(st.corrupt_records, 0);
        assert_int_equal(st.torn_bytes, 0);
        assert_int_equal(st.file_bytes, (uint64_t)file_size(t.log));
    }
    journal_close(j);
    tdir_remove(&t);
}

/* journal_foreach_pending_from: from the first pending entry at or after
 * the sequence number, tombstones skipped, past the end nothing; a stop
 * from the callback is returned. */
static void test_foreach_from(void **state)
{
    struct tdir t;
    uint64_t s[6];
    struct got *g;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof(id), "msg_%d", i);
        s[i] = append(j, i % 2 ? "b" : "a", id, i, id);
    }
    assert_int_equal(journal_ack(j, s[2], JOURNAL_RECORD_DELIVERED),
                     JOURNAL_OK);
    g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(journal_foreach_pending_from(j, s[2], collect, g),
                     JOURNAL_OK);
    assert_int_equal(g->n, 3);
    assert_int_equal(g->seq[0], s[3]);
    assert_int_equal(g->seq[2], s[5]);
    assert_string_equal(g->sink[0], "b");
    got_free(g);
    g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(journal_foreach_pending_from(j, 0, collect, g),
                     JOURNAL_OK);
    assert_int_equal(g->n, 5);
    got_free(g);
    g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(journal_foreach_pending_from(j, s[5] + 1, collect, g),
                     JOURNAL_OK);
    assert_int_equal(g->n, 0);
    assert_int_equal(journal_foreach_pending_from(j, s[5], collect, g),
                     JOURNAL_OK);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->seq[0], s[5]);
    got_free(g);
    assert_int_equal(journal_foreach_pending_from(NULL, 0, collect, NULL),
                     JOURNAL_EINVAL);
    journal_close(j);
    tdir_remove(&t);
}

static void test_ack(void **state)
{
    struct tdir t;
    uint64_t s[5];

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "msg_%d", i);
        s[i] = append(j, "webhook", id, i, id);
    }
    assert_int_equal(journal_ack(j, s[1], JOURNAL_RECORD_DELIVERED),
                     JOURNAL_OK);
    assert_int_equal(journal_ack(j, s[3], JOURNAL_RECORD_DEAD_LETTERED),
                     JOURNAL_OK);
    assert_int_equal(journal_ack(j, s[3], JOURNAL_RECORD_DELIVERED),
                     JOURNAL_ENOENT);
    assert_int_equal(journal_ack(j, 999, JOURNAL_RECORD_DELIVERED),
                     JOURNAL_ENOENT);
    assert_int_equal(journal_ack(j, 0, JOURNAL_RECORD_DELIVERED),
                     JOURNAL_ENOENT);
    assert_int_equal(journal_ack(j, s[0], (enum journal_record_outcome)7),
                     JOURNAL_EINVAL);
    assert_int_equal(journal_pending_count(j), 3);
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);

    j = jopen(&t, NULL);
    struct got *g = pending(j);
    assert_int_equal(g->n, 3);
    assert_int_equal(g->seq[0], s[0]);
    assert_int_equal(g->seq[1], s[2]);
    assert_int_equal(g->seq[2], s[4]);
    assert_string_equal(g->body[1], "msg_2");
    got_free(g);
    /* ack after reopen, reopen again */
    assert_int_equal(journal_ack(j, s[2], JOURNAL_RECORD_DELIVERED),
                     JOURNAL_OK);
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    j = jopen(&t, NULL);
    assert_int_equal(journal_pending_count(j), 2);
    journal_close(j);
    tdir_remove(&t);
}

/* Cut the last record at every length: the earlier ones survive, the file
 * is repaired, and appending works again. */
static void test_torn_tail_every_offset(void **state)
{
    struct tdir t;
    unsigned char *orig;
    size_t len, last_start;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    append(j, "webhook", "msg_1", 1, "{\"n\":1}");
    append(j, "webhook", "msg_2", 2, "{\"n\":2}");
    last_start = (size_t)file_size(t.log);
    append(j, "slack", "msg_3", 3, "{\"n\":3,\"pad\":\"0123456789\"}");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    orig = read_file(t.log, &len);

    for (size_t cut = last_start; cut < len; cut++) {
        write_file(t.log, orig, cut);
        j = jopen(&t, NULL);
        struct journal_stats st;
        journal_get_stats(j, &st);
        assert_int_equal(journal_pending_count(j), 2);
        assert_int_equal(st.torn_bytes, cut - last_start);
        assert_int_equal(st.corrupt_records, 0);
        assert_int_equal(file_size(t.log), (off_t)last_start);
        /* appending after the repair gives a readable file */
        uint64_t s = append(j, "webhook", "msg_new", 9, "new");
        assert_int_equal(journal_sync(j), JOURNAL_OK);
        journal_close(j);
        j = jopen(&t, NULL);
        struct got *g = pending(j);
        assert_int_equal(g->n, 3);
        assert_string_equal(g->body[0], "{\"n\":1}");
        assert_string_equal(g->body[1], "{\"n\":2}");
        assert_int_equal(g->seq[2], s);
        assert_string_equal(g->body[2], "new");
        got_free(g);
        journal_close(j);
    }

    /* zeros after the last record (a crash that extended the file) */
    {
        unsigned char *z = calloc(1, len + 4096);
        assert_non_null(z);
        memcpy(z, orig, len);
        write_file(t.log, z, len + 4096);
        free(z);
        j = jopen(&t, NULL);
        assert_int_equal(journal_pending_count(j), 3);
        assert_int_equal(file_size(t.log), (off_t)len);
        journal_close(j);
    }
    free(orig);
    tdir_remove(&t);
}

static void test_corrupt_middle(void **state)
{
    struct tdir t;
    unsigned char *orig, *b;
    size_t len, r2, r3;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    append(j, "webhook", "msg_1", 1, "first body");
    r2 = (size_t)file_size(t.log);
    append(j, "webhook", "msg_2", 2, "second body");
    r3 = (size_t)file_size(t.log);
    append(j, "webhook", "msg_3", 3, "third body");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    orig = read_file(t.log, &len);
    b = malloc(len);
    assert_non_null(b);

    /* every byte of the middle record, flipped in turn */
    for (size_t at = r2; at < r3; at++) {
        memcpy(b, orig, len);
        b[at] ^= 0x20;
        write_file(t.log, b, len);
        j = jopen(&t, NULL);
        struct journal_stats st;
        journal_get_stats(j, &st);
        struct got *g = pending(j);
        assert_int_equal(g->n, 2);
        assert_string_equal(g->body[0], "first body");
        assert_string_equal(g->body[1], "third body");
        got_free(g);
        assert_int_equal(st.corrupt_records, 1);
        assert_int_equal(st.torn_bytes, 0);
        journal_close(j);
    }
    free(b);
    free(orig);
    tdir_remove(&t);
}

static void test_compaction(void **state)
{
    struct tdir t;
    uint64_t s[100], last;
    off_t before, after;
    char body[200];

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    for (int i = 0; i < 100; i++) {
        snprintf(body, sizeof(body), "{\"i\":%d,\"pad\":\"%0100d\"}", i, i);
        s[i] = append(j, "webhook", "msg", i, body);
    }
    for (int i = 0; i < 100; i++) {
        if (i % 10 != 3)
            assert_int_equal(journal_ack(j, s[i], JOURNAL_RECORD_DELIVERED),
                             JOURNAL_OK);
    }
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    before = file_size(t.log);
    assert_int_equal(journal_compact(j), JOURNAL_OK);
    after = file_size(t.log);
    assert_true(after < before / 5);
    {
        struct journal_stats st;
        journal_get_stats(j, &st);
        assert_int_equal(st.compactions, 1);
        assert_int_equal(st.file_bytes, (uint64_t)after);
    }
    struct got *g = pending(j);
    assert_int_equal(g->n, 10);
    for (int k = 0; k < 10; k++) {
        snprintf(body, sizeof(body), "{\"i\":%d,\"pad\":\"%0100d\"}",
                 k * 10 + 3, k * 10 + 3);
        assert_int_equal(g->seq[k], s[k * 10 + 3]);
        assert_string_equal(g->body[k], body);
    }
    got_free(g);
    /* acks and appends after compaction land in the new file */
    assert_int_equal(journal_ack(j, s[3], JOURNAL_RECORD_DELIVERED),
                     JOURNAL_OK);
    last = append(j, "slack", "msg_z", 7, "after");
    assert_true(last > s[99]);
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);

    j = jopen(&t, NULL);
    g = pending(j);
    assert_int_equal(g->n, 10);
    assert_int_equal(g->seq[0], s[13]);
    assert_int_equal(g->seq[9], last);
    assert_string_equal(g->body[9], "after");
    got_free(g);

    /* everything acked: the compacted file keeps the sequence going */
    g = pending(j);
    for (size_t k = 0; k < g->n; k++)
        assert_int_equal(journal_ack(j, g->seq[k], JOURNAL_RECORD_DELIVERED),
                         JOURNAL_OK);
    got_free(g);
    assert_int_equal(journal_compact(j), JOURNAL_OK);
    assert_int_equal(journal_pending_count(j), 0);
    journal_close(j);
    assert_true(file_size(t.log) <= 64);
    j = jopen(&t, NULL);
    assert_int_equal(journal_pending_count(j), 0);
    assert_true(append(j, "w", "m", 0, "x") == last + 1 + 10);
    journal_close(j);
    tdir_remove(&t);
}

static void test_auto_compaction(void **state)
{
    struct tdir t;
    struct journal_options o = { 0, 4096 };
    char body[512];
    struct journal_stats st;

    (void)state;
    memset(body, 'b', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    tdir_make(&t);
    journal *j = jopen(&t, &o);
    for (int i = 0; i < 200; i++) {
        uint64_t s = append(j, "webhook", "msg", i, body);
        if (i % 50 != 0)
            assert_int_equal(journal_ack(j, s, JOURNAL_RECORD_DELIVERED),
                             JOURNAL_OK);
        assert_int_equal(journal_sync(j), JOURNAL_OK);
    }
    journal_get_stats(j, &st);
    assert_true(st.compactions > 0);
    assert_int_equal(st.pending, 4);
    /* dead bytes stay bounded by the rule */
    assert_true(st.file_bytes - st.pending_bytes <=
                4096 + 2 * st.pending_bytes + 1024);
    journal_close(j);
    j = jopen(&t, &o);
    assert_int_equal(journal_pending_count(j), 4);
    journal_close(j);
    tdir_remove(&t);
}

static void test_seq_monotonic(void **state)
{
    struct tdir t;
    uint64_t a, b, c;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    a = append(j, "w", "m", 0, "1");
    b = append(j, "w", "m", 0, "2");
    assert_int_equal(journal_ack(j, b, JOURNAL_RECORD_DELIVERED), JOURNAL_OK);
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    j = jopen(&t, NULL);
    /* the ack record had its own number too */
    c = append(j, "w", "m", 0, "3");
    assert_true(c > b + 1);
    assert_int_equal(journal_ack(j, a, JOURNAL_RECORD_DELIVERED), JOURNAL_OK);
    assert_int_equal(journal_ack(j, c, JOURNAL_RECORD_DELIVERED), JOURNAL_OK);
    assert_int_equal(journal_compact(j), JOURNAL_OK);
    journal_close(j);
    j = jopen(&t, NULL);
    assert_true(append(j, "w", "m", 0, "4") > c);
    journal_close(j);
    tdir_remove(&t);
}

/* A header with a valid CRC but a huge length, in a short file: the
 * journal opens empty and cuts it (the scanner's side is in
 * test_journal_record.c). */
static void test_hostile_length(void **state)
{
    struct tdir t;
    unsigned char rec[64];
    struct journal_record_entry e = mk("w", "m", 1, "body");
    uint32_t max = JOURNAL_RECORD_MAX_PAYLOAD;
    size_t n;

    (void)state;
    assert_int_equal(
        journal_record_encode_enqueue(rec, sizeof(rec), 1, &e, &n),
        JOURNAL_RECORD_EOK);
    for (int i = 0; i < 4; i++)
        rec[16 + i] = (unsigned char)(max >> (8 * i));
    max = journal_record_crc32c(0, rec, 20); /* the header's CRC */
    for (int i = 0; i < 4; i++)
        rec[20 + i] = (unsigned char)(max >> (8 * i));
    tdir_make(&t);
    write_file(t.log, rec, n);
    journal *j = jopen(&t, NULL);
    assert_int_equal(journal_pending_count(j), 0);
    assert_int_equal(file_size(t.log), 0);
    journal_close(j);
    tdir_remove(&t);
}

static void test_limits(void **state)
{
    struct tdir t;
    struct journal_options o = { 8 * 45, 0 };
    struct journal_record_entry e = mk("w", "m", 0, "x");
    char *big;
    char name[300];
    uint64_t s;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, &o);
    /* the pending cap: 8 records of 45 bytes */
    for (int i = 0; i < 7; i++)
        append(j, "w", "m", 0, "x");
    assert_int_equal(journal_append(j, &e, &s), JOURNAL_OK);
    assert_int_equal(journal_append(j, &e, &s), JOURNAL_EFULL);
    assert_int_equal(journal_ack(j, s, JOURNAL_RECORD_DELIVERED), JOURNAL_OK);
    assert_int_equal(journal_append(j, &e, &s), JOURNAL_OK);

    /* field limits */
    memset(name, 'n', sizeof(name));
    e.sink = name;
    e.sink_len = 256;
    assert_int_equal(journal_append(j, &e, &s), JOURNAL_ETOOBIG);
    e.sink_len = 1;
    e.msg_id = name;
    e.msg_id_len = 256;
    assert_int_equal(journal_append(j, &e, &s), JOURNAL_ETOOBIG);
    e.msg_id_len = 1;
    big = calloc(1, JOURNAL_RECORD_MAX_BODY + 1);
    assert_non_null(big);
    e.body = big;
    e.body_len = JOURNAL_RECORD_MAX_BODY + 1;
    assert_int_equal(journal_append(j, &e, &s), JOURNAL_ETOOBIG);
    e.body = NULL;
    e.body_len = 3;
    assert_int_equal(journal_append(j, &e, &s), JOURNAL_EINVAL);
    assert_int_equal(journal_append(j, NULL, &s), JOURNAL_EINVAL);
    journal_close(j);

    /* the largest body fits */
    {
        struct journal_options big_o = { UINT64_C(4) << 20, 0 };
        j = jopen(&t, &big_o);
        e = mk("w", "m", 0, "");
        memset(big, 'b', JOURNAL_RECORD_MAX_BODY);
        e.body = big;
        e.body_len = JOURNAL_RECORD_MAX_BODY;
        assert_int_equal(journal_append(j, &e, &s), JOURNAL_OK);
        assert_int_equal(journal_sync(j), JOURNAL_OK);
        journal_close(j);
        j = jopen(&t, &big_o);
        struct got *g = pending(j);
        assert_int_equal(g->body_len[g->n - 1], JOURNAL_RECORD_MAX_BODY);
        assert_memory_equal(g->body[g->n - 1], big, JOURNAL_RECORD_MAX_BODY);
        got_free(g);
        journal_close(j);
    }
    free(big);
    assert_null(journal_open(NULL, NULL, NULL));
    assert_int_equal(journal_append(NULL, &e, &s), JOURNAL_EINVAL);
    assert_int_equal(journal_sync(NULL), JOURNAL_EINVAL);
    assert_int_equal(journal_pending_count(NULL), 0);
    assert_false(journal_writable(NULL));
    journal_close(NULL);
    assert_string_equal(journal_strerror(JOURNAL_ENOSPC),
                        "no space left for the journal");
    tdir_remove(&t);
}

static void test_lock_and_tmp(void **state)
{
    struct tdir t;
    char tmp[128];
    int err = 0;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    assert_null(journal_open(t.path, NULL, &err));
    assert_int_equal(err, JOURNAL_ELOCKED);
    journal_close(j);
    /* a leftover compaction file is removed at open */
    snprintf(tmp, sizeof(tmp), "%s/journal.log.tmp", t.path);
    write_file(tmp, "junk", 4);
    j = jopen(&t, NULL);
    assert_int_equal(access(tmp, F_OK), -1);
    journal_close(j);
    /* a path that is a file, not a directory */
    assert_null(journal_open(t.log, NULL, &err));
    assert_int_equal(err, JOURNAL_EIO);
    tdir_remove(&t);
}

static int reenter(void *ud, uint64_t seq,
                   const struct journal_record_entry *e)
{
    journal *j = ud;
    (void)e;
    if (journal_ack(j, seq, JOURNAL_RECORD_DELIVERED) != JOURNAL_EINVAL ||
        journal_append(j, e, NULL) != JOURNAL_EINVAL ||
        journal_sync(j) != JOURNAL_EINVAL ||
        journal_compact(j) != JOURNAL_EINVAL ||
        journal_foreach_pending(j, reenter, j) != JOURNAL_EINVAL)
        return 1;
    return 5;
}

static void test_foreach_rules(void **state)
{
    struct tdir t;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    append(j, "w", "m", 0, "a");
    append(j, "w", "m", 0, "b");
    assert_int_equal(journal_foreach_pending(j, reenter, j), 5);
    assert_int_equal(journal_foreach_pending(j, NULL, NULL), JOURNAL_EINVAL);
    journal_close(j);
    tdir_remove(&t);
}

/* Disk full, simulated with RLIMIT_FSIZE in a child (SIGXFSZ ignored, so
 * write() fails with EFBIG).  The child reports the first failed step as
 * its exit status. */
static int enospc_child(const struct tdir *t)
{
    struct rlimit rl;
    char body[4096];
    struct journal_record_entry e;
    uint64_t s1, s2, s3, before;
    struct journal_stats st;
    journal *j;
    int err;

    memset(body, 'z', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    signal(SIGXFSZ, SIG_IGN);
    j = journal_open(t->path, NULL, &err);
    if (j == NULL)
        return 2;
    e = mk("webhook", "msg_1", 1, "small");
    if (journal_append(j, &e, &s1) != JOURNAL_OK ||
        journal_sync(j) != JOURNAL_OK)
        return 3;
    before = (uint64_t)file_size(t->log);

    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 4;
    rl.rlim_cur = (rlim_t)before + 10; /* less than any record */
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 5;
    e = mk("webhook", "msg_2", 2, body);
    if (journal_append(j, &e, &s2) != JOURNAL_ENOSPC)
        return 6;
    if (journal_writable(j))
        return 7;
    if ((uint64_t)file_size(t->log) != before)
        return 8; /* the partial record was cut off */
    /* an ack while the disk is full is accepted and kept for later */
    if (journal_ack(j, s1, JOURNAL_RECORD_DELIVERED) != JOURNAL_OK)
        return 9;
    /* still full: a retry fails the same way */
    if (journal_append(j, &e, &s2) != JOURNAL_ENOSPC)
        return 10;
    /* space comes back */
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 11;
    if (journal_append(j, &e, &s2) != JOURNAL_OK || !journal_writable(j))
        return 12;
    if (journal_sync(j) != JOURNAL_OK)
        return 13;
    journal_get_stats(j, &st);
    if (st.write_errors < 2)
        return 14;
    journal_close(j);

    j = journal_open(t->path, NULL, &err);
    if (j == NULL || journal_pending_count(j) != 1)
        return 15;
    e = mk("webhook", "msg_3", 3, "x");
    if (journal_append(j, &e, &s3) != JOURNAL_OK || s3 <= s2)
        return 16;
    journal_close(j);
    return 0;
}

static void test_enospc(void **state)
{
    struct tdir t;
    int status = 0;
    pid_t pid;

    (void)state;
    tdir_make(&t);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(enospc_child(&t));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* and the parent sees the same journal */
    journal *j = jopen(&t, NULL);
    struct got *g = pending(j);
    assert_int_equal(g->n, 2);
    assert_string_equal(g->id[0], "msg_2");
    assert_int_equal(g->body_len[0], 4095);
    assert_string_equal(g->id[1], "msg_3");
    got_free(g);
    journal_close(j);
    tdir_remove(&t);
}

/* A failed sync voids the appends since the last good sync: they are cut
 * from the file and forgotten (the caller appends them again), while acks
 * are kept and written later. */
static int void_child(const struct tdir *t)
{
    struct rlimit rl;
    struct journal_record_entry e;
    uint64_t x, a, b, synced_size;
    journal *j;
    int err;

    signal(SIGXFSZ, SIG_IGN);
    j = journal_open(t->path, NULL, &err);
    if (j == NULL)
        return 2;
    e = mk("webhook", "msg_x", 1, "x");
    if (journal_append(j, &e, &x) != JOURNAL_OK ||
        journal_sync(j) != JOURNAL_OK)
        return 3;
    synced_size = (uint64_t)file_size(t->log);
    e = mk("webhook", "msg_a", 2, "a");
    if (journal_append(j, &e, &a) != JOURNAL_OK)
        return 4;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 5;
    rl.rlim_cur = (rlim_t)file_size(t->log) + 10;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 6;
    if (journal_ack(j, x, JOURNAL_RECORD_DELIVERED) != JOURNAL_OK)
        return 7;
    if (journal_sync(j) != JOURNAL_ENOSPC || journal_writable(j))
        return 8;
    /* A is void: gone from memory and from the file */
    if (journal_pending_count(j) != 0 ||
        journal_ack(j, a, JOURNAL_RECORD_DELIVERED) != JOURNAL_ENOENT ||
        (uint64_t)file_size(t->log) != synced_size)
        return 9;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 10;
    if (journal_sync(j) != JOURNAL_OK || !journal_writable(j))
        return 11;
    journal_close(j);
    j = journal_open(t->path, NULL, &err);
    if (j == NULL || journal_pending_count(j) != 0)
        return 12; /* X's ack was written after all; A was never queued */
    e = mk("webhook", "msg_b", 3, "b");
    if (journal_append(j, &e, &b) != JOURNAL_OK || b <= a)
        return 13;
    journal_close(j);
    return 0;
}

/* Run `child` in a forked process (it changes its file-size limit) in a
 * fresh directory; it must exit 0 (a non-zero status names its step). */
static void in_child(int (*child)(const struct tdir *))
{
    struct tdir t;
    int status = 0;
    pid_t pid;

    tdir_make(&t);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child(&t));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tdir_remove(&t);
}

static void test_sync_failure_voids(void **state)
{
    (void)state;
    in_child(void_child);
}

/* ---- stream positions --------------------------------------------------- */

static void put_pos(journal *j, uint64_t gen, const char *id)
{
    assert_int_equal(journal_put_position(j, gen, id, strlen(id)),
                     JOURNAL_OK);
}

static void expect_pos(const journal *j, uint64_t gen, const char *want)
{
    const char *id = NULL;
    size_t len = 99;

    assert_int_equal(journal_position(j, &id, &len), gen);
    assert_non_null(id);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(id, want, len);
}

struct record_types {
    size_t n;
    enum journal_record_type type[8];
};

static int collect_types(void *ud, const struct journal_record *r)
{
    struct record_types *rt = ud;

    if (rt->n < 8)
        rt->type[rt->n] = r->type;
    rt->n++;
    return 0;
}

static void file_positions(const struct tdir *t, struct positions *p)
{
    size_t len;
    unsigned char *b = read_file(t->log, &len);
    struct journal_record_scan_result res;

    memset(p, 0, sizeof(*p));
    assert_int_equal(journal_record_scan(b, len, collect_pos, p, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(res.valid_end, len);
    free(b);
}

/* Written, read back after a reopen, with the entries around it intact;
 * positions take no sequence number; bad calls change nothing. */
static void test_position_roundtrip(void **state)
{
    struct tdir t;
    char big[JOURNAL_RECORD_MAX_POSITION + 1];
    uint64_t s1, s2;

    (void)state;
    memset(big, 'p', sizeof(big));
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    expect_pos(j, 0, "");
    s1 = append(j, "webhook", "msg_1", 1, "{\"n\":1}");
    put_pos(j, 1, "evt-17");
    expect_pos(j, 1, "evt-17"); /* in force before the sync */
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);

    j = jopen(&t, NULL);
    expect_pos(j, 1, "evt-17");
    assert_int_equal(journal_pending_count(j), 1);
    s2 = append(j, "webhook", "msg_2", 2, "{\"n\":2}");
    assert_int_equal(s2, s1 + 1); /* the position took no number */
    /* refused: an older generation, 0, too high, too long, NULL id */
    assert_int_equal(journal_put_position(j, 0, "x", 1), JOURNAL_EINVAL);
    assert_int_equal(
        journal_put_position(j, JOURNAL_RECORD_GEN_MAX + 1, "x", 1),
        JOURNAL_EINVAL);
    assert_int_equal(journal_put_position(j, 2, NULL, 1), JOURNAL_EINVAL);
    assert_int_equal(journal_put_position(j, 2, big, sizeof(big)),
                     JOURNAL_ETOOBIG);
    /* the longest id, then the empty id (a stream without ids) */
    assert_int_equal(
        journal_put_position(j, 3, big, JOURNAL_RECORD_MAX_POSITION),
        JOURNAL_OK);
    assert_int_equal(journal_put_position(j, 2, "older", 5), JOURNAL_EINVAL);
    assert_int_equal(journal_put_position(j, 4, NULL, 0), JOURNAL_OK);
    expect_pos(j, 4, "");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);

    j = jopen(&t, NULL);
    expect_pos(j, 4, "");
    {
        struct got *g = pending(j);
        assert_int_equal(g->n, 2);
        assert_string_equal(g->body[0], "{\"n\":1}");
        assert_string_equal(g->body[1], "{\"n\":2}");
        got_free(g);
        struct journal_stats st;
        journal_get_stats(j, &st);
        assert_int_equal(st.corrupt_records, 0);
        assert_int_equal(st.next_seq, s2 + 1);
    }
    journal_close(j);
    journal_close(NULL);
    expect_pos(NULL, 0, "");
    tdir_remove(&t);
}

/* The highest generation wins, wherever it is in the file; on a tie the
 * later record. */
static void test_position_newest_wins(void **state)
{
    struct tdir t;
    unsigned char b[1024];
    size_t pos = 0, n;
    struct journal_record_entry e = mk("webhook", "msg", 1, "{}");

    (void)state;
    tdir_make(&t);
    assert_int_equal(
        journal_record_encode_enqueue(b + pos, sizeof(b) - pos, 1, &e, &n),
        JOURNAL_RECORD_EOK);
    pos += n;
    assert_int_equal(journal_record_encode_position(b + pos, sizeof(b) - pos,
                                                    9, "nine", 4, &n),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(n, journal_record_position_size(4));
    pos += n;
    assert_int_equal(journal_record_encode_position(b + pos, sizeof(b) - pos,
                                                    5, "five", 4, &n),
                     JOURNAL_RECORD_EOK);
    pos += n;
    write_file(t.log, b, pos);
    journal *j = jopen(&t, NULL);
    expect_pos(j, 9, "nine");
    /* the journal takes the caller's order, not the file's */
    put_pos(j, 9, "nine-again");
    put_pos(j, 12, "twelve");
    assert_int_equal(journal_put_position(j, 11, "x", 1), JOURNAL_EINVAL);
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    j = jopen(&t, NULL);
    expect_pos(j, 12, "twelve");
    journal_close(j);

    /* a tie: the later record */
    pos = 0;
    assert_int_equal(
        journal_record_encode_position(b, sizeof(b), 7, "a", 1, &n),
        JOURNAL_RECORD_EOK);
    pos += n;
    assert_int_equal(journal_record_encode_position(b + pos, sizeof(b) - pos,
                                                    7, "b", 1, &n),
                     JOURNAL_RECORD_EOK);
    pos += n;
    write_file(t.log, b, pos);
    j = jopen(&t, NULL);
    expect_pos(j, 7, "b");
    assert_int_equal(journal_pending_count(j), 0);
    journal_close(j);
    tdir_remove(&t);
}

/* Compaction (asked for, and automatic) keeps exactly one position: the
 * newest, after the pending records; and none when there is none. */
/* A position's mark is read back at open, voided with it, and kept by a
 * compaction. */
static void test_position_mark_kept(void **state)
{
    const struct journal_mark m1 = {.seq = 5, .made_ms = 1000},
                              m2 = {.seq = 9, .made_ms = 2000};
    struct journal_mark got;
    struct tdir t;
    uint64_t s;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    journal_position_mark(j, &got);
    assert_int_equal(got.seq, 0);
    s = append(j, "w", "m", 0, "x");
    assert_int_equal(journal_put_position_mark(j, 1, "a", 1, &m1),
                     JOURNAL_OK);
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    assert_int_equal(journal_ack(j, s, JOURNAL_RECORD_DELIVERED), JOURNAL_OK);
    assert_int_equal(journal_put_position_mark(j, 2, "b", 1, &m2),
                     JOURNAL_OK);
    journal_position_mark(j, &got);
    assert_int_equal(got.seq, 9);
    assert_int_equal(journal_compact(j), JOURNAL_OK);
    journal_close(j);
    j = jopen(&t, NULL);
    expect_pos(j, 2, "b");
    journal_position_mark(j, &got);
    assert_int_equal(got.seq, 9);
    assert_int_equal(got.made_ms, 2000);
    /* a position without a mark has none */
    assert_int_equal(journal_put_position(j, 3, "c", 1), JOURNAL_OK);
    journal_position_mark(j, &got);
    assert_int_equal(got.seq, 0);
    journal_close(j);
    journal_position_mark(NULL, &got);
    assert_int_equal(got.seq, 0);
    tdir_remove(&t);
}

static void test_position_compaction(void **state)
{
    struct tdir t;
    struct journal_options o = { 0, 4096 };
    struct positions p;
    char body[512];
    uint64_t s, keep = 0, gen = 0;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    s = append(j, "w", "m", 0, "x");
    assert_int_equal(journal_ack(j, s, JOURNAL_RECORD_DELIVERED), JOURNAL_OK);
    assert_int_equal(journal_compact(j), JOURNAL_OK);
    journal_close(j);
    file_positions(&t, &p);
    assert_int_equal(p.n, 0);

    j = jopen(&t, NULL);
    for (int i = 0; i < 50; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i);
        s = append(j, "webhook", id, i, "{\"pad\":\"0123456789\"}");
        if (i == 20)
            keep = s;
        else
            assert_int_equal(journal_ack(j, s, JOURNAL_RECORD_DELIVERED),
                             JOURNAL_OK);
        put_pos(j, ++gen, id);
    }
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    file_positions(&t, &p);
    assert_int_equal(p.n, 50);
    assert_int_equal(journal_compact(j), JOURNAL_OK);
    expect_pos(j, 50, "e49");
    file_positions(&t, &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.gen[0], 50);
    assert_string_equal(p.id[0], "e49");
    {
        /* the order: checkpoint, the pending entry, the position */
        size_t len;
        unsigned char *b = read_file(t.log, &len);
        struct record_types rt;
        struct journal_record_scan_result res;
        memset(&rt, 0, sizeof(rt));
        assert_int_equal(journal_record_scan(b, len, collect_types, &rt, &res),
                         JOURNAL_RECORD_EOK);
        assert_int_equal(rt.n, 3);
        assert_int_equal(rt.type[0], JOURNAL_RECORD_CHECKPOINT);
        assert_int_equal(rt.type[1], JOURNAL_RECORD_ENQUEUE);
        assert_int_equal(rt.type[2], JOURNAL_RECORD_POSITION);
        free(b);
    }
    journal_close(j);
    j = jopen(&t, NULL);
    expect_pos(j, 50, "e49");
    assert_int_equal(journal_pending_count(j), 1);
    assert_int_equal(journal_ack(j, keep, JOURNAL_RECORD_DELIVERED),
                     JOURNAL_OK);
    /* nothing pending: the compacted file still has the position */
    assert_int_equal(journal_compact(j), JOURNAL_OK);
    assert_int_equal(journal_pending_count(j), 0);
    journal_close(j);
    file_positions(&t, &p);
    assert_int_equal(p.n, 1);
    assert_true(file_size(t.log) <=
                36 + (off_t)journal_record_position_size(strlen("e49")));
    j = jopen(&t, NULL);
    expect_pos(j, 50, "e49");
    journal_close(j);

    /* automatic compaction in journal_sync */
    memset(body, 'b', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    j = jopen(&t, &o);
    for (int i = 0; i < 200; i++) {
        char id[24];
        snprintf(id, sizeof(id), "auto-%d", i);
        s = append(j, "webhook", "msg", i, body);
        assert_int_equal(journal_ack(j, s, JOURNAL_RECORD_DELIVERED),
                         JOURNAL_OK);
        put_pos(j, ++gen, id);
        assert_int_equal(journal_sync(j), JOURNAL_OK);
        expect_pos(j, gen, id);
    }
    {
        struct journal_stats st;
        journal_get_stats(j, &st);
        assert_true(st.compactions > 0);
    }
    journal_close(j);
    j = jopen(&t, &o);
    expect_pos(j, gen, "auto-199");
    journal_close(j);
    file_positions(&t, &p);
    assert_true(p.n >= 1 && p.n < 200);
    tdir_remove(&t);
}

/* [A][P1] synced, then [B][P2]: a cut anywhere in P2 leaves P1 in force
 * and B pending; a cut in B leaves P1 and only A. */
static void test_position_torn_tail(void **state)
{
    struct tdir t;
    unsigned char *orig;
    size_t len, b_start, p2_start;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    append(j, "webhook", "msg_a", 1, "{\"a\":1}");
    put_pos(j, 1, "evt-1");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    b_start = (size_t)file_size(t.log);
    append(j, "webhook", "msg_b", 2, "{\"b\":2}");
    p2_start = (size_t)file_size(t.log);
    put_pos(j, 2, "evt-2");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    orig = read_file(t.log, &len);
    assert_int_equal(len - p2_start, journal_record_position_size(5));

    for (size_t cut = b_start; cut < len; cut++) {
        struct journal_stats st;
        write_file(t.log, orig, cut);
        j = jopen(&t, NULL);
        journal_get_stats(j, &st);
        expect_pos(j, 1, "evt-1");
        assert_int_equal(journal_pending_count(j), cut >= p2_start ? 2 : 1);
        assert_int_equal(st.corrupt_records, 0);
        assert_int_equal(st.torn_bytes,
                         cut - (cut >= p2_start ? p2_start : b_start));
        /* the repaired file takes a new position */
        put_pos(j, 3, "evt-3");
        assert_int_equal(journal_sync(j), JOURNAL_OK);
        journal_close(j);
        j = jopen(&t, NULL);
        expect_pos(j, 3, "evt-3");
        journal_close(j);
    }
    /* the whole file: P2 */
    write_file(t.log, orig, len);
    j = jopen(&t, NULL);
    expect_pos(j, 2, "evt-2");
    journal_close(j);
    free(orig);
    tdir_remove(&t);
}

/* Damage before a position (a record of its batch lost out of order): the
 * position is not trusted, the one before stays in force; the next sync
 * rewrites the file and positions after it count again.  A damaged
 * position record itself is skipped like any other. */
static void test_position_after_damage(void **state)
{
    struct tdir t;
    unsigned char *orig, *b;
    size_t len, b_start, p2_start;
    struct positions p;
    struct journal_stats st;

    (void)state;
    tdir_make(&t);
    journal *j = jopen(&t, NULL);
    append(j, "webhook", "msg_a", 1, "{\"a\":1}");
    put_pos(j, 1, "evt-1");
    b_start = (size_t)file_size(t.log);
    append(j, "webhook", "msg_b", 2, "{\"b\":2}");
    p2_start = (size_t)file_size(t.log);
    put_pos(j, 2, "evt-2");
    append(j, "webhook", "msg_c", 3, "{\"c\":3}");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    orig = read_file(t.log, &len);
    b = malloc(len);
    assert_non_null(b);

    /* B damaged: P2 is not used */
    memcpy(b, orig, len);
    b[b_start + 30] ^= 0x40;
    write_file(t.log, b, len);
    file_positions(&t, &p);
    assert_int_equal(p.n, 2);
    assert_false(p.after_damage[0]);
    assert_true(p.after_damage[1]);
    j = jopen(&t, NULL);
    journal_get_stats(j, &st);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(journal_pending_count(j), 2);
    expect_pos(j, 1, "evt-1");
    /* the next sync rewrites the file without the damage */
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_get_stats(j, &st);
    assert_int_equal(st.compactions, 1);
    put_pos(j, 3, "evt-3");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_get_stats(j, &st);
    assert_int_equal(st.compactions, 1);
    journal_close(j);
    j = jopen(&t, NULL);
    journal_get_stats(j, &st);
    assert_int_equal(st.corrupt_records, 0);
    expect_pos(j, 3, "evt-3");
    journal_close(j);

    /* P2 itself damaged: skipped, P1 in force, C still pending */
    memcpy(b, orig, len);
    b[p2_start + HDR_PAYLOAD_BYTE] ^= 0x01;
    write_file(t.log, b, len);
    j = jopen(&t, NULL);
    journal_get_stats(j, &st);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(journal_pending_count(j), 3);
    expect_pos(j, 1, "evt-1");
    journal_close(j);

    /* [A damaged][P1]: no trusted position.  A position put after the
     * open is trusted at the next one (fuzz-found), because the first
     * sync rewrote the file without the damage */
    memcpy(b, orig, b_start);
    b[30] ^= 0x40;
    write_file(t.log, b, b_start);
    j = jopen(&t, NULL);
    expect_pos(j, 0, "");
    put_pos(j, 5, "evt-5");
    assert_int_equal(journal_sync(j), JOURNAL_OK);
    journal_close(j);
    j = jopen(&t, NULL);
    expect_pos(j, 5, "evt-5");
    journal_get_stats(j, &st);
    assert_int_equal(st.corrupt_records, 0);
    journal_close(j);
    free(b);
    free(orig);
    tdir_remove(&t);
}

/* A failed sync voids a position put since the last good sync. */
static int pos_void_child(const struct tdir *t)
{
    struct rlimit rl;
    struct journal_record_entry e;
    uint64_t x;
    const char *id;
    size_t len;
    journal *j;
    int err;

    signal(SIGXFSZ, SIG_IGN);
    j = journal_open(t->path, NULL, &err);
    if (j == NULL)
        return 2;
    e = mk("webhook", "msg_x", 1, "x");
    if (journal_append(j, &e, &x) != JOURNAL_OK ||
        journal_put_position(j, 1, "one", 3) != JOURNAL_OK ||
        journal_sync(j) != JOURNAL_OK)
        return 3;
    if (journal_put_position(j, 2, "two", 3) != JOURNAL_OK ||
        journal_position(j, NULL, NULL) != 2)
        return 4;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 5;
    rl.rlim_cur = (rlim_t)file_size(t->log) + 10;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 6;
    if (journal_ack(j, x, JOURNAL_RECORD_DELIVERED) != JOURNAL_OK)
        return 7;
    if (journal_sync(j) != JOURNAL_ENOSPC)
        return 8;
    if (journal_position(j, &id, &len) != 1 || len != 3 ||
        memcmp(id, "one", 3) != 0)
        return 9;
    /* the position write itself fails: nothing changes */
    if (journal_put_position(j, 3, "three-is-a-longer-id", 20) ==
            JOURNAL_OK ||
        journal_position(j, NULL, NULL) != 1)
        return 10;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 11;
    if (journal_put_position(j, 4, "four", 4) != JOURNAL_OK ||
        journal_sync(j) != JOURNAL_OK)
        return 12;
    journal_close(j);
    j = journal_open(t->path, NULL, &err);
    if (j == NULL || journal_position(j, &id, &len) != 4 || len != 4 ||
        memcmp(id, "four", 4) != 0)
        return 13;
    journal_close(j);
    return 0;
}

static void test_position_void(void **state)
{
    (void)state;
    in_child(pos_void_child);
}

static int setup(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR); /* torn-tail warnings are expected here */
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_foreach_from),
        cmocka_unit_test(test_torn_tail_every_offset),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_auto_compaction),
        cmocka_unit_test(test_seq_monotonic),
        cmocka_unit_test(test_hostile_length),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_lock_and_tmp),
        cmocka_unit_test(test_foreach_rules),
        cmocka_unit_test(test_enospc),
        cmocka_unit_test(test_sync_failure_voids),
        cmocka_unit_test(test_position_roundtrip),
        cmocka_unit_test(test_position_newest_wins),
        cmocka_unit_test(test_position_compaction),
        cmocka_unit_test(test_position_mark_kept),
        cmocka_unit_test(test_position_torn_tail),
        cmocka_unit_test(test_position_after_damage),
        cmocka_unit_test(test_position_void),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
