/*
 * test_silence_store.c - alerts/silence_store.c: add, expire, list,
 * match, the cap, retention and pruning at exact instants; the file:
 * a round trip through a restart, a write that fails (the change undone),
 * and every kind of unusable file (refused whole, set aside, the store
 * empty, nothing crashes).
 */
#include "alerts/silence_store.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir_helpers.h"

#include "base/clock.h"
#include "base/file.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define NOW 1773144000000LL /* 2026-03-10T12:00:00Z */


static silence_store *open_store(const char *d, int64_t retention_s,
                                 int64_t now)
{
    struct silence_store_options o = {.state_dir = d,
                                      .retention_s = retention_s};
    silence_store *st = silence_store_create(&o, now);

    assert_non_null(st);
    return st;
}

/* Add a silence over rule `rule` ending at `ends`; its id to id. */
static void add(silence_store *st, const char *rule, const char *ends,
                int64_t now, char id[SILENCE_ID_MAX])
{
    char json[256], err[SILENCE_ERR_MAX] = "";

    snprintf(json, sizeof json, "{\"matchers\": {\"rule\": \"%s\"}, "
             "\"ends_at\": \"%s\", \"comment\": \"c\", \"created_by\": "
             "\"b\"}", rule, ends);
    if (silence_store_add(st, json, strlen(json), now, id, err,
                          sizeof err) != SILENCE_STORE_OK)
        fail_msg("refused: %s", err);
}

static const char *list(const silence_store *st, int64_t now, buf *b)
{
    buf_reset(b);
    assert_int_equal(silence_store_list(st, now, b), BUF_OK);
    return b->data;
}

static void test_add_expire_match(void **state)
{
    silence_store *st = open_store(NULL, 3600, NOW);
    char a[SILENCE_ID_MAX], b2[SILENCE_ID_MAX], err[SILENCE_ERR_MAX];
    uint64_t counts[3];
    struct alert al;
    buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_string_equal(list(st, NOW, &b), "{\"silences\":[]}\n");
    add(st, "lat*", "2026-03-10T13:00:00Z", NOW, a);
    add(st, "*", "2026-03-10T14:00:00Z", NOW, b2);
    assert_int_equal(strlen(a), SILENCE_ID_LEN);
    assert_string_not_equal(a, b2);
    assert_non_null(silence_store_get(st, a));
    assert_null(silence_store_get(st, "0000000000000000"));

    memset(&al, 0, sizeof al);
    al.rule = "latency";
    al.severity = "warning";
    assert_string_equal(silence_store_match(st, &al, NOW)->id, a);
    al.rule = "volume";
    assert_string_equal(silence_store_match(st, &al, NOW)->id, b2);
    assert_int_equal(silence_store_expire(st, b2, NOW + MIN),
                     SILENCE_STORE_OK);
    assert_null(silence_store_match(st, &al, NOW + MIN));
    assert_int_equal(silence_store_expire(st, b2, NOW + 2 * MIN),
                     SILENCE_STORE_OK); /* already: no change */
    assert_int_equal(silence_store_get(st, b2)->expired_ms, NOW + MIN);
    assert_int_equal(silence_store_expire(st, "nope", NOW),
                     SILENCE_STORE_ENOENT);
    assert_int_equal(silence_store_count(st, NOW + MIN, counts), 2);
    assert_int_equal(counts[SILENCE_ACTIVE], 1);
    assert_int_equal(counts[SILENCE_EXPIRED], 1);
    assert_non_null(strstr(list(st, NOW + MIN, &b), "\"state\":\"expired\""));

    /* a refused silence: the parser's message, nothing added */
    assert_int_equal(silence_store_add(st, "{}", 2, NOW, a, err, sizeof err),
                     SILENCE_STORE_EINVAL);
    assert_string_equal(err, "matchers: missing; at least one of rule, "
                        "severity, group.<field>, labels.<name>");
    assert_int_equal(silence_store_count(st, NOW, NULL), 2);
    buf_free(&b);
    silence_store_destroy(st);
}

/* Expired silences stay listed for the retention, to the millisecond,
 * then are pruned; with retention 0 at once. */
static void test_retention(void **state)
{
    silence_store *st = open_store(NULL, 3600, NOW);
    char a[SILENCE_ID_MAX], b2[SILENCE_ID_MAX];

    (void)state;
    add(st, "a", "2026-03-10T13:00:00Z", NOW, a);  /* ends at NOW + 1 h */
    add(st, "b", "2026-03-11T00:00:00Z", NOW, b2);
    assert_int_equal(silence_store_expire(st, b2, NOW + 30 * MIN),
                     SILENCE_STORE_OK);
    assert_int_equal(silence_store_prune(st, NOW + 90 * MIN - 1), 0);
    assert_int_equal(silence_store_prune(st, NOW + 90 * MIN), 1);
    assert_null(silence_store_get(st, b2));
    assert_int_equal(silence_store_prune(st, NOW + 2 * HOUR - 1), 0);
    assert_int_equal(silence_store_prune(st, NOW + 2 * HOUR), 1);
    assert_int_equal(silence_store_count(st, NOW, NULL), 0);

    silence_store_set_retention(st, 0);
    add(st, "a", "2026-03-10T13:00:00Z", NOW, a);
    assert_int_equal(silence_store_prune(st, NOW + HOUR - 1), 0);
    assert_int_equal(silence_store_prune(st, NOW + HOUR), 1);
    silence_store_destroy(st);
}

static void test_full(void **state)
{
    silence_store *st = open_store(NULL, 0, NOW);
    char id[SILENCE_ID_MAX], err[SILENCE_ERR_MAX];
    const char *json = "{\"matchers\": {\"rule\": \"x\"}, \"ends_at\": "
                       "\"2026-03-10T13:00:00Z\", \"comment\": \"c\", "
                       "\"created_by\": \"b\"}";

    (void)state;
    for (int i = 0; i < SILENCE_STORE_MAX; i++)
        add(st, "x", "2026-03-10T13:00:00Z", NOW, id);
    assert_int_equal(silence_store_add(st, json, strlen(json), NOW, id, err,
                                       sizeof err), SILENCE_STORE_EFULL);
    assert_string_equal(err, "at most 1000 silences are kept (expired ones "
                        "count until they are pruned)");
    /* once they expire and are pruned, there is room again */
    assert_int_equal(silence_store_prune(st, NOW + HOUR), SILENCE_STORE_MAX);
    add(st, "x", "2026-03-10T14:00:00Z", NOW + HOUR, id);
    silence_store_destroy(st);
}

/* Through a restart: the same silences, the same ids, the same list. */
static void test_round_trip(void **state)
{
    silence_store *st = open_store(dir, 86400, NOW);
    char a[SILENCE_ID_MAX], r[SILENCE_ID_MAX], err[SILENCE_ERR_MAX];
    const char *weekly = "{\"matchers\": {\"group.tool_name\": \"pg_*\", "
        "\"severity\": \"critical\"}, \"recurrence\": {\"days\": [\"sat\", "
        "\"sun\"], \"start\": \"22:00\", \"end\": \"06:00\", \"tz\": "
        "\"Europe/Berlin\"}, \"comment\": \"weekend \\\"maintenance\\\"\", "
        "\"created_by\": \"\xc3\xa9lodie\"}";
    buf before, after;
    struct stat sb;
    char path[PATH_MAX];

    (void)state;
    buf_init(&before, 1 << 20);
    buf_init(&after, 1 << 20);
    add(st, "a", "2026-03-10T13:00:00Z", NOW, a);
    assert_int_equal(silence_store_add(st, weekly, strlen(weekly), NOW, r,
                                       err, sizeof err), SILENCE_STORE_OK);
    assert_int_equal(silence_store_expire(st, a, NOW + MIN),
                     SILENCE_STORE_OK);
    list(st, NOW + 2 * MIN, &before);
    silence_store_destroy(st);

    snprintf(path, sizeof path, "%s/" SILENCE_STORE_FILE, dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    st = open_store(dir, 86400, NOW + 2 * MIN);
    assert_string_equal(list(st, NOW + 2 * MIN, &after), before.data);
    assert_non_null(silence_store_get(st, r)->rec.zone);
    silence_store_destroy(st);
    /* a day after it expired, the next start prunes it */
    st = open_store(dir, 86400, NOW + MIN + 24 * HOUR);
    assert_null(silence_store_get(st, a));
    assert_non_null(silence_store_get(st, r));
    silence_store_destroy(st);
    buf_free(&before);
    buf_free(&after);
}

/* A write that fails undoes the change. */
static void test_write_fails(void **state)
{
    char sub[PATH_MAX], file[PATH_MAX + 32], id[SILENCE_ID_MAX], a[SILENCE_ID_MAX];
    char err[SILENCE_ERR_MAX];
    const char *json = "{\"matchers\": {\"rule\": \"x\"}, \"ends_at\": "
                       "\"2026-03-10T13:00:00Z\", \"comment\": \"c\", "
                       "\"created_by\": \"b\"}";
    silence_store *st;

    (void)state;
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    st = open_store(sub, 86400, NOW);
    add(st, "x", "2026-03-10T13:00:00Z", NOW, a);
    /* the directory goes away: nothing can be written */
    snprintf(file, sizeof file, "%s/" SILENCE_STORE_FILE, sub);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(silence_store_add(st, json, strlen(json), NOW, id, err,
                                       sizeof err), SILENCE_STORE_EIO);
    assert_string_equal(err, "the silence cannot be kept: the silences file "
                        "cannot be written");
    assert_int_equal(silence_store_count(st, NOW, NULL), 1);
    assert_int_equal(silence_store_expire(st, a, NOW), SILENCE_STORE_EIO);
    assert_int_equal(silence_state(silence_store_get(st, a), NOW),
                     SILENCE_ACTIVE);
    silence_store_destroy(st);
}

/* Unusable files: refused whole, set aside as .bad, the store empty. */
static void test_unusable_files(void **state)
{
    static const char good[] =
        "{\"id\":\"0123456789abcdef\",\"matchers\":{\"rule\":\"x\"},"
        "\"starts_at\":\"2026-03-10T12:00:00Z\",\"ends_at\":"
        "\"2026-03-10T13:00:00Z\",\"comment\":\"c\",\"created_by\":\"b\","
        "\"created_at\":\"2026-03-10T12:00:00Z\",\"expired_at\":null}";
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"version\":2,\"silences\":[]}",
        "{\"version\":1}",
        "{\"version\":1,\"silences\":{}}",
        "{\"version\":1,\"silences\":[],\"extra\":1}",
        "{\"version\":1,\"silences\":[5]}",
        "{\"version\":1,\"silences\":[{\"matchers\":{\"rule\":\"x\"}}]}",
        "{\"version\":1,\"silences\":[@,@]}",               /* same id */
        "{\"version\":1,\"silences\":[@",                   /* cut */
        "{\"version\":1,\"silences\":[{\"id\":\"0123456789abcdef\","
        "\"matchers\":{\"rule\":\"x\"},\"recurrence\":{\"days\":[\"mon\"],"
        "\"start\":\"01:00\",\"end\":\"02:00\",\"tz\":\"Mars/Base\"},"
        "\"comment\":\"c\",\"created_by\":\"b\",\"created_at\":"
        "\"2026-03-10T12:00:00Z\"}]}",
        "{\"version\":1,\"silences\":[{\"id\":\"../../../etc/passwd\","
        "\"matchers\":{\"rule\":\"x\"},\"ends_at\":\"2026-03-10T13:00:00Z\","
        "\"comment\":\"c\",\"created_by\":\"b\",\"created_at\":"
        "\"2026-03-10T12:00:00Z\"}]}",
    };
    char path[PATH_MAX], badpath[PATH_MAX + 8], text[4096];
    silence_store *st;

    (void)state;
    snprintf(path, sizeof path, "%s/" SILENCE_STORE_FILE, dir);
    snprintf(badpath, sizeof badpath, "%s.bad", path);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* each @ stands for the good silence */
        size_t n = 0;
        for (const char *c = bad[i]; *c != '\0' && n < sizeof text - 512;
             c++) {
            if (*c == '@') {
                memcpy(text + n, good, sizeof good - 1);
                n += sizeof good - 1;
            } else {
                text[n++] = *c;
            }
        }
        text[n] = '\0';
        assert_int_equal(file_replace(dir, SILENCE_STORE_FILE, text,
                                      strlen(text)), FILE_OK);
        unlink(badpath);
        st = open_store(dir, 86400, NOW);
        if (silence_store_count(st, NOW, NULL) != 0)
            fail_msg("file %zu accepted: %s", i, text);
        assert_int_equal(access(badpath, F_OK), 0);
        assert_int_not_equal(access(path, F_OK), 0);
        silence_store_destroy(st);
    }
    /* the good one alone is taken */
    snprintf(text, sizeof text, "{\"version\":1,\"silences\":[%s]}", good);
    assert_int_equal(file_replace(dir, SILENCE_STORE_FILE, text,
                                  strlen(text)), FILE_OK);
    st = open_store(dir, 86400, NOW);
    assert_int_equal(silence_store_count(st, NOW, NULL), 1);
    assert_non_null(silence_store_get(st, "0123456789abcdef"));
    silence_store_destroy(st);

    /* more silences than the cap */
    {
        buf b;
        buf_init(&b, SILENCE_STORE_FILE_MAX);
        buf_append_str(&b, "{\"version\":1,\"silences\":[");
        for (int i = 0; i <= SILENCE_STORE_MAX; i++) {
            char one[sizeof good + 8];
            memcpy(one, good, sizeof good);
            snprintf(one + 7, 17, "%016x", (unsigned)i);
            one[23] = '"';
            buf_append_str(&b, i ? "," : "");
            buf_append_str(&b, one);
        }
        buf_append_str(&b, "]}");
        assert_int_equal(file_replace(dir, SILENCE_STORE_FILE, b.data, b.len),
                         FILE_OK);
        buf_free(&b);
    }
    st = open_store(dir, 86400, NOW);
    assert_int_equal(silence_store_count(st, NOW, NULL), 0);
    silence_store_destroy(st);
}

/* silence_store_each: every silence once, in creation order, expired ones
 * included; nothing for an empty store. */
struct seen {
    size_t n;
    char ids[4][SILENCE_ID_MAX];
};

static void on_each(void *ud, const struct silence *s)
{
    struct seen *v = ud;

    if (v->n < 4)
        memcpy(v->ids[v->n], s->id, SILENCE_ID_MAX);
    v->n++;
}

static void test_each(void **state)
{
    silence_store *st = open_store(NULL, 86400, NOW);
    char a[SILENCE_ID_MAX], b[SILENCE_ID_MAX], c[SILENCE_ID_MAX];
    struct seen v = {0};

    (void)state;
    silence_store_each(st, on_each, &v);
    assert_int_equal(v.n, 0);
    add(st, "a", "2026-03-10T13:00:00Z", NOW, a);
    add(st, "b", "2026-03-10T13:00:00Z", NOW, b);
    add(st, "c", "2026-03-10T13:00:00Z", NOW, c);
    assert_int_equal(silence_store_expire(st, a, NOW + 1), SILENCE_STORE_OK);
    silence_store_each(st, on_each, &v);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.ids[0], a);
    assert_string_equal(v.ids[1], b);
    assert_string_equal(v.ids[2], c);
    silence_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_expire_match),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_each),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_files, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
