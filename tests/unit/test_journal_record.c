/*
 * test_journal_record.c - the journal's pure record layer: CRC32C,
 * encoders and their refusals, the scanner (records in order, torn tails,
 * damage skipped and counted, hostile lengths, garbage), POSITION records
 * scanned back as written and refused when their contents are bad.
 *
 * No files: everything works on byte buffers on the stack.
 */
#include "alerts/journal_record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/journal_helpers.h"

/* ---- helpers ------------------------------------------------------------ */

/* Recompute both CRCs of the record b[0..n) after an edit. */
static void reseal(unsigned char *b, size_t n)
{
    uint32_t c = journal_record_crc32c(0, b, 20);

    for (int i = 0; i < 4; i++)
        b[20 + i] = (unsigned char)(c >> (8 * i));
    c = journal_record_crc32c(0, b, n - 4);
    for (int i = 0; i < 4; i++)
        b[n - 4 + i] = (unsigned char)(c >> (8 * i));
}

/* ---- tests -------------------------------------------------------------- */

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(journal_record_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(
        journal_record_crc32c(journal_record_crc32c(0, "1234", 4), "56789", 5),
        0xE3069283u);
    assert_int_equal(journal_record_crc32c(0, "", 0), 0);
}

/* A header with a valid CRC but a huge length: rejected before any
 * allocation, and never taken as a record. */
static void test_hostile_length(void **state)
{
    unsigned char rec[64];
    struct journal_record_entry e = mk("w", "m", 1, "body");
    size_t n;
    struct journal_record_scan_result res;

    (void)state;
    assert_int_equal(
        journal_record_encode_enqueue(rec, sizeof(rec), 1, &e, &n),
        JOURNAL_RECORD_EOK);
    /* length 0xfffffff0 with the header CRC recomputed */
    rec[16] = 0xf0;
    rec[17] = rec[18] = rec[19] = 0xff;
    uint32_t h = journal_record_crc32c(0, rec, 20);
    for (int i = 0; i < 4; i++)
        rec[20 + i] = (unsigned char)(h >> (8 * i));
    assert_int_equal(journal_record_scan(rec, n, NULL, NULL, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(res.records, 0);
    assert_int_equal(res.valid_end, 0);

    /* the largest legal length, in a short file: a torn record */
    uint32_t max = JOURNAL_RECORD_MAX_PAYLOAD;
    for (int i = 0; i < 4; i++)
        rec[16 + i] = (unsigned char)(max >> (8 * i));
    h = journal_record_crc32c(0, rec, 20);
    for (int i = 0; i < 4; i++)
        rec[20 + i] = (unsigned char)(h >> (8 * i));
    assert_int_equal(journal_record_scan(rec, n, NULL, NULL, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(res.records, 0);
}

static int count_records(void *ud, const struct journal_record *r)
{
    (void)r;
    (*(int *)ud)++;
    return 0;
}

static int stop_at_two(void *ud, const struct journal_record *r)
{
    (void)r;
    return ++*(int *)ud == 2 ? 77 : 0;
}

static void test_scan(void **state)
{
    unsigned char b[512];
    size_t n, pos = 0;
    struct journal_record_entry e = mk("sink", "id", 5, "{}");
    struct journal_record_scan_result res;
    int calls = 0;

    (void)state;
    assert_int_equal(journal_record_encode_checkpoint(b, sizeof(b), 40, &n),
                     JOURNAL_RECORD_EOK);
    pos += n;
    assert_int_equal(
        journal_record_encode_enqueue(b + pos, sizeof(b) - pos, 41, &e, &n),
        JOURNAL_RECORD_EOK);
    assert_int_equal(n, journal_record_enqueue_size(&e));
    pos += n;
    assert_int_equal(journal_record_encode_ack(b + pos, sizeof(b) - pos, 42,
                                               41, JOURNAL_RECORD_DELIVERED,
                                               &n),
                     JOURNAL_RECORD_EOK);
    pos += n;
    assert_int_equal(journal_record_scan(b, pos, count_records, &calls, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(calls, 3);
    assert_int_equal(res.records, 3);
    assert_int_equal(res.valid_end, pos);
    assert_int_equal(res.max_seq, 42);
    calls = 0;
    assert_int_equal(journal_record_scan(b, pos, stop_at_two, &calls, &res),
                     77);
    assert_int_equal(journal_record_scan(NULL, 0, NULL, NULL, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(res.valid_end, 0);

    /* encoders refuse bad input */
    assert_int_equal(journal_record_encode_enqueue(b, 10, 1, &e, &n),
                     JOURNAL_RECORD_ENOBUFS);
    assert_int_equal(journal_record_encode_enqueue(b, sizeof(b), 0, &e, &n),
                     JOURNAL_RECORD_EINVAL);
    assert_int_equal(journal_record_encode_ack(b, sizeof(b), 1, 1,
                                               (enum journal_record_outcome)3,
                                               &n),
                     JOURNAL_RECORD_EINVAL);
    assert_int_equal(journal_record_encode_checkpoint(b, 8, 1, &n),
                     JOURNAL_RECORD_ENOBUFS);

    /* a CRC-valid record with inconsistent contents is skipped and counted
     * (body length field one too large) */
    assert_int_equal(journal_record_encode_enqueue(b, sizeof(b), 7, &e, &n),
                     JOURNAL_RECORD_EOK);
    b[24 + 8 + 1 + 4 + 1 + 2] += 1;
    {
        uint32_t c = journal_record_crc32c(0, b, n - 4);
        for (int i = 0; i < 4; i++)
            b[n - 4 + i] = (unsigned char)(c >> (8 * i));
    }
    calls = 0;
    assert_int_equal(journal_record_scan(b, n, count_records, &calls, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(calls, 0);
    assert_int_equal(res.corrupt, 1);
    assert_int_equal(res.valid_end, n);

    /* fuzz-found: damage after the last intact record is part of the torn
     * tail, not "corruption in the middle" ([A][B bad CRC][C cut short]) */
    {
        size_t a_end;
        pos = 0;
        assert_int_equal(
            journal_record_encode_enqueue(b, sizeof(b), 1, &e, &n),
            JOURNAL_RECORD_EOK);
        pos = a_end = n;
        assert_int_equal(
            journal_record_encode_enqueue(b + pos, sizeof(b) - pos, 2, &e, &n),
            JOURNAL_RECORD_EOK);
        b[pos + 30] ^= 1;
        pos += n;
        assert_int_equal(
            journal_record_encode_enqueue(b + pos, sizeof(b) - pos, 3, &e, &n),
            JOURNAL_RECORD_EOK);
        pos += n - 5;
        assert_int_equal(journal_record_scan(b, pos, NULL, NULL, &res),
                         JOURNAL_RECORD_EOK);
        assert_int_equal(res.records, 1);
        assert_int_equal(res.corrupt, 0);
        assert_int_equal(res.valid_end, a_end);
        /* the same bad record followed by an intact one is counted */
        assert_int_equal(journal_record_encode_enqueue(b + pos - (n - 5),
                                                       sizeof(b) - pos + n - 5,
                                                       3, &e, &n),
                         JOURNAL_RECORD_EOK);
        pos += 5;
        assert_int_equal(journal_record_scan(b, pos, NULL, NULL, &res),
                         JOURNAL_RECORD_EOK);
        assert_int_equal(res.records, 2);
        assert_int_equal(res.corrupt, 1);
        assert_int_equal(res.valid_end, pos);
    }

    /* garbage: nothing, no crash */
    memset(b, 'T', sizeof(b));
    assert_int_equal(journal_record_scan(b, sizeof(b), NULL, NULL, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(res.records, 0);
}

/* The pure layer: a position record scans back as written; CRC-valid
 * records with bad contents are skipped and counted. */
static void test_position_scan(void **state)
{
    unsigned char b[256];
    size_t n;
    struct positions p;
    struct journal_record_scan_result res;

    (void)state;
    memset(&p, 0, sizeof(p));
    assert_int_equal(
        journal_record_encode_position(b, sizeof(b), 42, "id 42", 5, &n),
        JOURNAL_RECORD_EOK);
    assert_int_equal(journal_record_scan(b, n, collect_pos, &p, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.gen[0], 42);
    assert_string_equal(p.id[0], "id 42");
    assert_int_equal(res.max_seq, 0);
    assert_int_equal(res.valid_end, n);
    assert_int_equal(journal_record_encode_position(b, 10, 1, "x", 1, &n),
                     JOURNAL_RECORD_ENOBUFS);
    assert_int_equal(
        journal_record_encode_position(b, sizeof(b), 0, "x", 1, &n),
        JOURNAL_RECORD_EINVAL);
    assert_int_equal(
        journal_record_encode_position(b, sizeof(b), 1, NULL, 1, &n),
        JOURNAL_RECORD_EINVAL);
    assert_int_equal(
        journal_record_encode_position(b, sizeof(b), 1, "x",
                                       JOURNAL_RECORD_MAX_POSITION + 1, &n),
        JOURNAL_RECORD_ETOOBIG);

    /* bad contents, CRCs recomputed: generation 0, an id length that does
     * not fill the payload, a sequence number */
    for (int k = 0; k < 3; k++) {
        assert_int_equal(
            journal_record_encode_position(b, sizeof(b), 5, "abc", 3, &n),
            JOURNAL_RECORD_EOK);
        if (k == 0)
            memset(b + 24, 0, 8);
        else if (k == 1)
            b[24 + 8] = 2;
        else
            b[8] = 1;
        reseal(b, n);
        memset(&p, 0, sizeof(p));
        assert_int_equal(journal_record_scan(b, n, collect_pos, &p, &res),
                         JOURNAL_RECORD_EOK);
        assert_int_equal(p.n, 0);
        assert_int_equal(res.corrupt, 1);
        assert_int_equal(res.valid_end, n);
    }
}

static int grab_record(void *ud, const struct journal_record *r)
{
    *(struct journal_record *)ud = *r;
    return 0;
}

/* A position with a mark (the notification number and its event time)
 * reads back with it; a mark numbered 0, or a tail of another length, is
 * not one the encoder writes: skipped and counted. */
static void test_position_mark(void **state)
{
    unsigned char b[256];
    const struct journal_mark m = {.seq = 77, .made_ms = -5};
    struct journal_record r;
    struct journal_record_scan_result res;
    size_t n, plain;

    (void)state;
    assert_int_equal(journal_record_encode_position(b, sizeof(b), 3, "p", 1,
                                                    &plain),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(journal_record_encode_position_mark(
                         b, sizeof(b), 3, "p", 1, &m, &n),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(n, plain + JOURNAL_RECORD_MARK_SIZE);
    assert_int_equal(journal_record_encode_position_mark(b, n - 1, 3, "p", 1,
                                                         &m, &n),
                     JOURNAL_RECORD_ENOBUFS);
    assert_int_equal(journal_record_encode_position_mark(
                         b, sizeof(b), 3, "p", 1, &m, &n),
                     JOURNAL_RECORD_EOK);
    memset(&r, 0, sizeof(r));
    assert_int_equal(journal_record_scan(b, n, grab_record, &r, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(res.records, 1);
    assert_int_equal(r.type, JOURNAL_RECORD_POSITION);
    assert_int_equal(r.gen, 3);
    assert_int_equal(r.pos_id_len, 1);
    assert_int_equal(r.mark.seq, 77);
    assert_int_equal(r.mark.made_ms, -5);
    /* no mark: seq 0 */
    assert_int_equal(journal_record_encode_position_mark(
                         b, sizeof(b), 3, "p", 1, NULL, &n),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(n, plain);
    assert_int_equal(journal_record_scan(b, n, grab_record, &r, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(r.mark.seq, 0);
    /* a mark numbered 0 */
    assert_int_equal(journal_record_encode_position_mark(
                         b, sizeof(b), 3, "p", 1, &m, &n),
                     JOURNAL_RECORD_EOK);
    memset(b + 24 + 10 + 1, 0, 8);
    reseal(b, n);
    assert_int_equal(journal_record_scan(b, n, NULL, NULL, &res),
                     JOURNAL_RECORD_EOK);
    assert_int_equal(res.records, 0);
    assert_int_equal(res.corrupt, 1);
}

/* The entry check the file layer runs before it reserves room, and the
 * messages of the codes. */
static void test_entry_check(void **state)
{
    struct journal_record_entry e = mk("sink", "id", 1, "{}");
    static char big[JOURNAL_RECORD_MAX_BODY + 1];

    (void)state;
    assert_int_equal(journal_record_entry_check(&e), JOURNAL_RECORD_EOK);
    assert_int_equal(journal_record_entry_check(NULL), JOURNAL_RECORD_EINVAL);
    e.body = NULL;
    assert_int_equal(journal_record_entry_check(&e), JOURNAL_RECORD_EINVAL);
    e.body = big;
    e.body_len = sizeof big;
    assert_int_equal(journal_record_entry_check(&e), JOURNAL_RECORD_ETOOBIG);
    e.body_len = sizeof big - 1;
    assert_int_equal(journal_record_entry_check(&e), JOURNAL_RECORD_EOK);
    e.sink_len = JOURNAL_RECORD_MAX_NAME + 1;
    assert_int_equal(journal_record_entry_check(&e), JOURNAL_RECORD_ETOOBIG);
    assert_string_equal(journal_record_strerror(JOURNAL_RECORD_ENOBUFS),
                        "record buffer too small");
    assert_string_equal(journal_record_strerror(-100),
                        "unknown journal record error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_hostile_length),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_position_scan),
        cmocka_unit_test(test_position_mark),
        cmocka_unit_test(test_entry_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
