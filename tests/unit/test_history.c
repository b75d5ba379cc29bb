/*
 * test_history.c - alerts/history.c: the exact line of an entry and its
 * round trip, every kind of refused line, the query parameters at their
 * bounds, the filters, the file: entries back after a restart, a torn
 * last line cut off, hostile lines skipped, rotation at the cap with the
 * oldest dropped, newest first with a limit.
 */
#include "alerts/history.h"

#include <fcntl.h>
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

#include "base/file.h"

#define NOW 1773144000000LL /* 2026-03-10T12:00:00Z */
#define ID "0123456789abcdef0123456789abcdef"

static const char line1[] =
    "{\"at\":\"2026-03-10T12:00:00.000Z\",\"event\":\"fired\",\"id\":\"" ID
    "\",\"rule\":\"shell_burst\",\"key\":\"agent-1/s1\",\"sink\":null,"
    "\"detail\":\"critical\"}";

static void test_encode_exact(void **state)
{
    struct history_entry e, d;
    buf b;

    (void)state;
    buf_init(&b, 1 << 16);
    history_entry_set(&e, NOW, HISTORY_FIRED, ID, "shell_burst",
                      "agent-1/s1", NULL, "critical");
    assert_int_equal(history_encode(&e, &b), BUF_OK);
    assert_string_equal(b.data, line1);
    memset(&d, 0x55, sizeof d);
    assert_int_equal(history_decode(b.data, b.len, &d), HISTORY_OK);
    assert_true(d.at_ms == NOW);
    assert_int_equal(d.event, HISTORY_FIRED);
    assert_string_equal(d.id, ID);
    assert_string_equal(d.rule, "shell_burst");
    assert_string_equal(d.key, "agent-1/s1");
    assert_string_equal(d.sink, "");
    assert_string_equal(d.detail, "critical");

    /* escapes survive; a delivery has no id, rule or key */
    buf_reset(&b);
    history_entry_set(&e, NOW + 1, HISTORY_DEAD_LETTERED, NULL, NULL, NULL,
                      "hook", "HTTP 400 \"bad\"\n<x>");
    assert_int_equal(history_encode(&e, &b), BUF_OK);
    assert_string_equal(b.data,
        "{\"at\":\"2026-03-10T12:00:00.001Z\",\"event\":\"dead_lettered\","
        "\"id\":null,\"rule\":null,\"key\":null,\"sink\":\"hook\","
        "\"detail\":\"HTTP 400 \\\"bad\\\"\\n<x>\"}");
    assert_int_equal(history_decode(b.data, b.len, &d), HISTORY_OK);
    assert_string_equal(d.detail, "HTTP 400 \"bad\"\n<x>");
    assert_int_equal(d.event, HISTORY_DEAD_LETTERED);
    buf_free(&b);

    for (unsigned ev = 0; ev < HISTORY_EVENT_COUNT; ev++)
        assert_non_null(history_event_name(ev));
    assert_string_equal(history_event_name(HISTORY_INHIBITED), "inhibited");
    assert_null(history_event_name(HISTORY_EVENT_COUNT));
}

static void test_truncation(void **state)
{
    struct history_entry e;
    char big[600];

    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    history_entry_set(&e, NOW, HISTORY_FIRED, ID, big, big, big, big);
    assert_int_equal(strlen(e.rule), HISTORY_RULE_MAX - 1);
    assert_int_equal(strlen(e.key), HISTORY_KEY_MAX - 1);
    assert_int_equal(strlen(e.detail), HISTORY_DETAIL_MAX - 1);
    /* a two-byte character at the cut is left out whole */
    memset(big, 'a', HISTORY_RULE_MAX - 2);
    memcpy(big + HISTORY_RULE_MAX - 2, "\xc3\xa9z", 4);
    history_entry_set(&e, NOW, HISTORY_FIRED, ID, big, "", "", "");
    assert_int_equal(strlen(e.rule), HISTORY_RULE_MAX - 2);
}

static void test_decode_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "{}",
        "[]",
        "null",
        "{\"at\":\"2026-03-10T12:00:00Z\"}",
        /* a torn line */
        "{\"at\":\"2026-03-10T12:00:00.000Z\",\"event\":\"fired\",\"id\"",
        /* unknown event */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"exploded\",\"id\":null,"
        "\"rule\":null,\"key\":null,\"sink\":null,\"detail\":null}",
        /* unknown key */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":null,"
        "\"rule\":null,\"key\":null,\"sink\":null,\"detail\":null,\"x\":1}",
        /* repeated key */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":null,"
        "\"rule\":null,\"key\":null,\"sink\":null,\"detail\":null,"
        "\"rule\":null}",
        /* id not hex */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":\"xyz\","
        "\"rule\":null,\"key\":null,\"sink\":null,\"detail\":null}",
        /* upper-case hex */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":"
        "\"0123456789ABCDEF0123456789abcdef\","
        "\"rule\":null,\"key\":null,\"sink\":null,\"detail\":null}",
        /* bad time, number for a string */
        "{\"at\":\"yesterday\",\"event\":\"fired\",\"id\":null,"
        "\"rule\":null,\"key\":null,\"sink\":null,\"detail\":null}",
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":null,"
        "\"rule\":5,\"key\":null,\"sink\":null,\"detail\":null}",
        /* trailing bytes */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":null,"
        "\"rule\":null,\"key\":null,\"sink\":null,\"detail\":null} x",
        /* not UTF-8: history_encode never writes that */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":null,"
        "\"rule\":\"a\xff\",\"key\":null,\"sink\":null,\"detail\":null}",
        /* an empty string is written as null */
        "{\"at\":\"2026-03-10T12:00:00Z\",\"event\":\"fired\",\"id\":null,"
        "\"rule\":\"\",\"key\":null,\"sink\":null,\"detail\":null}",
    };
    struct history_entry e;
    char line[HISTORY_LINE_MAX + 64];
    int n;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(history_decode(bad[i], strlen(bad[i]), &e),
                         HISTORY_EINVAL);
    /* a rule past its size */
    n = snprintf(line, sizeof line, "{\"at\":\"2026-03-10T12:00:00Z\","
                 "\"event\":\"fired\",\"id\":null,\"rule\":\"%0*d\","
                 "\"key\":null,\"sink\":null,\"detail\":null}",
                 HISTORY_RULE_MAX, 0);
    assert_int_equal(history_decode(line, (size_t)n, &e), HISTORY_EINVAL);
    n = snprintf(line, sizeof line, "{\"at\":\"2026-03-10T12:00:00Z\","
                 "\"event\":\"fired\",\"id\":null,\"rule\":\"%0*d\","
                 "\"key\":null,\"sink\":null,\"detail\":null}",
                 HISTORY_RULE_MAX - 1, 0);
    assert_int_equal(history_decode(line, (size_t)n, &e), HISTORY_OK);
    /* a line at HISTORY_LINE_MAX is refused unread */
    memset(line, ' ', sizeof line);
    memcpy(line, line1, sizeof line1 - 1);
    assert_int_equal(history_decode(line, HISTORY_LINE_MAX, &e),
                     HISTORY_EINVAL);
    /* and trailing bytes, even blanks, are not one entry */
    assert_int_equal(history_decode(line, sizeof line1, &e),
                     HISTORY_EINVAL);
    assert_int_equal(history_decode(line, sizeof line1 - 1, &e),
                     HISTORY_OK);
}

static int set(struct history_query *q, const char *n, const char *v,
               char *err)
{
    return history_query_set(q, n, v, strlen(v), err, 256);
}

static void test_query_params(void **state)
{
    struct history_query q;
    struct history_entry e;
    char err[256];

    (void)state;
    history_query_init(&q);
    assert_int_equal(q.limit, 100);
    assert_int_equal(set(&q, "limit", "1000", err), HISTORY_OK);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(set(&q, "limit", "5", err), HISTORY_EINVAL);
    assert_string_equal(err, "limit: given twice");
    history_query_init(&q);
    assert_int_equal(set(&q, "limit", "1001", err), HISTORY_EINVAL);
    assert_string_equal(err, "limit: expected a whole number from 1 to "
                             "1000");
    history_query_init(&q);
    assert_int_equal(set(&q, "limit", "0", err), HISTORY_EINVAL);
    history_query_init(&q);
    assert_int_equal(set(&q, "limit", "-1", err), HISTORY_EINVAL);
    history_query_init(&q);
    assert_int_equal(set(&q, "limit", "", err), HISTORY_EINVAL);
    history_query_init(&q);
    assert_int_equal(set(&q, "limit", "1", err), HISTORY_OK);
    assert_int_equal(q.limit, 1);
    assert_int_equal(set(&q, "since", "2026-03-10T12:00:00+01:00", err),
                     HISTORY_OK);
    assert_true(q.since_ms == NOW - 3600000);
    assert_int_equal(set(&q, "rule", "shell_*", err), HISTORY_OK);
    assert_int_equal(set(&q, "sincе", "x", err), HISTORY_EINVAL);
    assert_string_equal(err, "sincе: unknown parameter (since, rule, "
                             "limit)");
    history_query_init(&q);
    assert_int_equal(set(&q, "since", "last tuesday", err), HISTORY_EINVAL);
    assert_string_equal(err, "since: expected an ISO 8601 date-time such "
                             "as 2026-03-10T02:47:23Z");
    assert_int_equal(set(&q, "rule", "", err), HISTORY_EINVAL);
    assert_int_equal(history_query_set(&q, "limit", "1\0", 2, err, 256),
                     HISTORY_EINVAL);

    history_query_init(&q);
    set(&q, "since", "2026-03-10T12:00:00Z", err);
    set(&q, "rule", "SHELL_*", err);
    history_entry_set(&e, NOW, HISTORY_FIRED, ID, "shell_burst", "k", NULL,
                      NULL);
    assert_true(history_query_match(&q, &e));
    e.at_ms = NOW - 1;
    assert_false(history_query_match(&q, &e));
    e.at_ms = NOW;
    history_entry_set(&e, NOW, HISTORY_FIRED, ID, "net_burst", "k", NULL,
                      NULL);
    assert_false(history_query_match(&q, &e));
}

static history *open_h(uint64_t max)
{
    struct history_options o = {.state_dir = dir, .max_bytes = max};
    history *h = history_create(&o);

    assert_non_null(h);
    return h;
}

static char path_buf[512];

static const char *path(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

static void test_file_round_trip(void **state)
{
    struct history_entry t[HISTORY_TAIL];
    struct history_query q;
    struct history_stats st;
    char *data, err[256];
    size_t len;
    history *h;
    buf b;
    int fd;

    (void)state;
    h = open_h(0);
    assert_int_equal(history_append(h, NOW, HISTORY_FIRED, ID, "r1", "k1",
                                    NULL, "critical"), HISTORY_OK);
    assert_int_equal(history_append(h, NOW + 1000, HISTORY_SILENCED, ID,
                                    "r1", "k1", NULL, "silence 00"),
                     HISTORY_OK);
    assert_int_equal(history_append(h, NOW + 2000, HISTORY_DELIVERED, NULL,
                                    NULL, NULL, "hook", "1 notification"),
                     HISTORY_OK);
    assert_int_equal(history_flush(h), HISTORY_OK);
    history_stats(h, &st);
    assert_int_equal(st.appended, 3);
    assert_int_equal(st.written, 3);
    history_destroy(h);

    /* a torn line and a hostile one behind them */
    fd = open(path(HISTORY_FILE), O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(file_write_all(fd, "garbage\n{\"at\":\"20", 18),
                     FILE_OK);
    close(fd);
    h = open_h(0);
    history_stats(h, &st);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(history_tail(h, t, HISTORY_TAIL), 3);
    assert_int_equal(t[0].event, HISTORY_DELIVERED);
    assert_string_equal(t[0].sink, "hook");
    assert_int_equal(t[2].event, HISTORY_FIRED);
    /* the torn bytes are gone: the next line starts on its own */
    assert_int_equal(history_append(h, NOW + 3000, HISTORY_RESOLVED, ID,
                                    "r1", "k1", NULL, NULL), HISTORY_OK);
    assert_int_equal(history_flush(h), HISTORY_OK);
    assert_int_equal(file_read_all(path(HISTORY_FILE), 1 << 20, &data,
                                   &len), FILE_OK);
    assert_int_equal(data[len - 1], '\n');
    assert_non_null(strstr(data, "garbage\n{\"at\":\"2026-03-10T12:00:03"));
    free(data);

    /* newest first, filtered, limited */
    buf_init(&b, 1 << 20);
    history_query_init(&q);
    assert_int_equal(set(&q, "rule", "r1", err), HISTORY_OK);
    assert_int_equal(set(&q, "limit", "2", err), HISTORY_OK);
    assert_int_equal(history_query(h, &q, &b), HISTORY_OK);
    assert_string_equal(b.data,
        "{\"entries\":[{\"at\":\"2026-03-10T12:00:03.000Z\",\"event\":"
        "\"resolved\",\"id\":\"" ID "\",\"rule\":\"r1\",\"key\":\"k1\","
        "\"sink\":null,\"detail\":null},{\"at\":\"2026-03-10T12:00:01.000Z\","
        "\"event\":\"silenced\",\"id\":\"" ID "\",\"rule\":\"r1\",\"key\":"
        "\"k1\",\"sink\":null,\"detail\":\"silence 00\"}]}\n");
    buf_reset(&b);
    history_query_init(&q);
    assert_int_equal(set(&q, "since", "2026-03-10T12:00:02Z", err),
                     HISTORY_OK);
    assert_int_equal(history_query(h, &q, &b), HISTORY_OK);
    assert_non_null(strstr(b.data, "\"resolved\""));
    assert_non_null(strstr(b.data, "\"delivered\""));
    assert_null(strstr(b.data, "\"fired\""));
    buf_reset(&b);
    history_query_init(&q);
    assert_int_equal(set(&q, "rule", "nothing", err), HISTORY_OK);
    assert_int_equal(history_query(h, &q, &b), HISTORY_OK);
    assert_string_equal(b.data, "{\"entries\":[]}\n");
    buf_free(&b);
    history_destroy(h);
}

static void test_rotation(void **state)
{
    struct history_entry t[HISTORY_TAIL];
    struct history_query q;
    struct stat sb, sb1;
    char err[256];
    history *h;
    buf b;
    int i, n = 0;

    (void)state;
    /* 64 KiB in all: segments of at most 32 KiB; ~200-byte lines */
    h = open_h(1);
    for (i = 0; i < 1000; i++) {
        char detail[32];

        snprintf(detail, sizeof detail, "n=%04d", i);
        assert_int_equal(history_append(h, NOW + i, HISTORY_FIRED, ID,
                                        "rule_x", "key", NULL, detail),
                         HISTORY_OK);
        if (i % 10 == 9)
            assert_int_equal(history_flush(h), HISTORY_OK);
    }
    assert_int_equal(stat(path(HISTORY_FILE), &sb), 0);
    assert_int_equal(stat(path(HISTORY_FILE_OLD), &sb1), 0);
    assert_true(sb.st_size <= HISTORY_MIN_BYTES / 2);
    assert_true(sb1.st_size <= HISTORY_MIN_BYTES / 2);
    assert_true(sb.st_size + sb1.st_size > HISTORY_MIN_BYTES / 2);
    history_destroy(h);

    /* the newest are kept, the oldest dropped */
    h = open_h(1);
    assert_int_equal(history_tail(h, t, HISTORY_TAIL), HISTORY_TAIL);
    assert_string_equal(t[0].detail, "n=0999");
    assert_string_equal(t[99].detail, "n=0900");
    buf_init(&b, 1 << 20);
    history_query_init(&q);
    assert_int_equal(set(&q, "limit", "1000", err), HISTORY_OK);
    assert_int_equal(history_query(h, &q, &b), HISTORY_OK);
    assert_null(strstr(b.data, "\"n=0000\""));
    assert_non_null(strstr(b.data, "\"n=0999\""));
    for (const char *p = b.data; (p = strstr(p, "\"fired\"")) != NULL; p++)
        n++;
    /* 175-byte lines: one segment of 32 KiB holds 187 of them; the two
     * hold the newest 187 to 374 */
    assert_true(n >= 187 && n <= 374);
    assert_true(strstr(b.data, "\"n=0999\"") < strstr(b.data, "\"n=0998\""));
    buf_free(&b);
    history_destroy(h);
}

static void test_memory_only(void **state)
{
    struct history_options o = {0};
    struct history_entry t[3];
    struct history_query q;
    history *h = history_create(&o);
    buf b;

    (void)state;
    assert_non_null(h);
    for (int i = 0; i < 150; i++)
        history_append(h, NOW + i, HISTORY_ACKED, ID, "r", "k", NULL, "by x");
    assert_int_equal(history_flush(h), HISTORY_OK);
    assert_int_equal(history_tail(h, t, 3), 3);
    assert_true(t[0].at_ms == NOW + 149);
    assert_true(t[2].at_ms == NOW + 147);
    buf_init(&b, 1 << 20);
    history_query_init(&q);
    q.limit = 1;
    assert_int_equal(history_query(h, &q, &b), HISTORY_OK);
    assert_non_null(strstr(b.data, "2026-03-10T12:00:00.149Z"));
    buf_free(&b);
    assert_int_equal(history_append(NULL, NOW, HISTORY_FIRED, NULL, NULL,
                                    NULL, NULL, NULL), HISTORY_OK);
    history_destroy(h);
    history_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_decode_refused),
        cmocka_unit_test(test_query_params),
        cmocka_unit_test_setup_teardown(test_file_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test(test_memory_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
