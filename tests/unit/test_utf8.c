/*
 * test_utf8.c - UTF-8 validation (base/utf8.h) and the writer built on it
 * (base/buf.h buf_append_utf8; the JSON string writer's use of it is in
 * test_buf.c): valid text passes unchanged, every bad spot becomes one
 * U+FFFD per maximal subpart, exactly as the SSE parser (consumer/sse.c,
 * the WHATWG decoder) replaces the same bytes, and the output is always
 * valid UTF-8.
 */
#include "base/buf.h"
#include "base/utf8.h"
#include "consumer/sse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define R UTF8_REPLACEMENT

static void test_char(void **state)
{
    static const struct {
        const char *s;
        size_t n, len, bad;
    } cases[] = {
        {"a", 1, 1, 0},
        {"\0", 1, 1, 0},              /* U+0000 is a character */
        {"\xc2\x80", 2, 2, 0},        /* U+0080 */
        {"\xdf\xbf", 2, 2, 0},        /* U+07FF */
        {"\xe0\xa0\x80", 3, 3, 0},    /* U+0800 */
        {"\xed\x9f\xbf", 3, 3, 0},    /* U+D7FF */
        {"\xee\x80\x80", 3, 3, 0},    /* U+E000 */
        {"\xef\xbf\xbf", 3, 3, 0},    /* U+FFFF */
        {"\xf0\x90\x80\x80", 4, 4, 0}, /* U+10000 */
        {"\xf4\x8f\xbf\xbf", 4, 4, 0}, /* U+10FFFF */
        {"\x80", 1, 0, 1},            /* a lone continuation byte */
        {"\xbf", 1, 0, 1},
        {"\xc0\xaf", 2, 0, 1},        /* overlong '/' */
        {"\xc1\xbf", 2, 0, 1},
        {"\xe0\x80\xaf", 3, 0, 1},    /* overlong: E0 takes A0-BF only */
        {"\xed\xa0\x80", 3, 0, 1},    /* U+D800, a surrogate */
        {"\xf0\x80\x80\xaf", 4, 0, 1}, /* overlong */
        {"\xf4\x90\x80\x80", 4, 0, 1}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 4, 0, 1},
        {"\xff", 1, 0, 1},
        {"\xfe", 1, 0, 1},
        {"\xc3", 1, 0, 1},            /* truncated by the end */
        {"\xe2\x82", 2, 0, 2},
        {"\xf0\x9f\x98", 3, 0, 3},
        {"\xc3(", 2, 0, 1},           /* cut by an ASCII byte */
        {"\xe2\x82(", 3, 0, 2},
        {"\xf0\x9f\x98(", 4, 0, 3},
        {"\xe2\xc3\xa9", 3, 0, 1},    /* cut by a new lead byte */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t bad = 99, len = utf8_char(cases[i].s, cases[i].n, &bad);

        if (len != cases[i].len ||
            (len == 0 && bad != cases[i].bad) || (len != 0 && bad != 99))
            fail_msg("case %zu: len %zu bad %zu, want len %zu bad %zu", i,
                     len, bad, cases[i].len, cases[i].bad);
        assert_int_equal(utf8_valid(cases[i].s, cases[i].n),
                         cases[i].len == cases[i].n);
    }
    assert_int_equal(utf8_char("\xff", 1, NULL), 0); /* bad may be NULL */
}

static void test_valid_len(void **state)
{
    (void)state;
    assert_int_equal(utf8_valid_len("", 0), 0);
    assert_int_equal(utf8_valid_len("0123456789abcdef", 16), 16);
    assert_int_equal(utf8_valid_len("0123456789\xff", 11), 10);
    assert_int_equal(utf8_valid_len("01234567\xc3\xa9z\xe2\x82", 13), 11);
    assert_int_equal(utf8_valid_len("caf\xc3\xa9 ok", 8), 8);
    /* never past n: the valid character at the end is cut by n */
    assert_int_equal(utf8_valid_len("ab\xc3\xa9", 3), 2);
}

static void utf8_is(const char *in, size_t n, const char *want,
                    size_t want_replaced)
{
    size_t replaced = 99;
    buf b;

    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_utf8(&b, in, n, &replaced), BUF_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_int_equal(replaced, want_replaced);
    assert_true(utf8_valid(b.data, b.len));
    buf_free(&b);
}

static void test_append_utf8(void **state)
{
    buf b;

    (void)state;
    utf8_is("", 0, "", 0);
    utf8_is("caf\xc3\xa9", 5, "caf\xc3\xa9", 0);
    utf8_is("\xff\xfe", 2, R R, 2);
    utf8_is("db\xff" "x", 4, "db" R "x", 1);
    /* maximal subparts: one U+FFFD each */
    utf8_is("\xf0\x9f\x98(", 4, R "(", 1);
    utf8_is("\xe2\x82\xe2\x82\xac", 5, R "\xe2\x82\xac", 1);
    utf8_is("\xed\xa0\x80", 3, R R R, 3);
    utf8_is("\xc0\xaf", 2, R R, 2);
    /* exact size near the cap: 1 byte in, 3 out */
    buf_init(&b, 4);
    assert_int_equal(buf_append_utf8(&b, "a\xff", 2, NULL), BUF_OK);
    assert_int_equal(b.len, 4);
    assert_int_equal(buf_append_utf8(&b, "b", 1, NULL), BUF_ETOOBIG);
    buf_free(&b);
    buf_init(&b, 3);
    assert_int_equal(buf_append_utf8(&b, "a\xff", 2, NULL), BUF_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* ---- the same replacement as the SSE parser ---- */

struct got {
    char data[512];
    size_t len;
};

static int on_event(void *ud, const sse_event *e)
{
    struct got *g = ud;

    assert_true(e->data_len < sizeof g->data);
    memcpy(g->data, e->data, e->data_len);
    g->len = e->data_len;
    return 0;
}

static const sse_settings sse_cb = {.on_event = on_event};

/* Random bytes (biased to lead and continuation bytes, no CR or LF) as
 * one data: line through the SSE parser, and through buf_append_utf8:
 * the same text. */
static void test_same_as_sse(void **state)
{
    static const unsigned char pick[] = {
        'a', 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0,
        0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xfe, 0xff};
    uint32_t x = 12345;

    (void)state;
    for (int round = 0; round < 3000; round++) {
        char in[64], frame[128];
        size_t n = 1 + (size_t)(x % 12), fl;
        struct got g = {{0}, 0};
        sse_parser p;
        buf b;

        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            in[i] = (char)pick[(x >> 16) % sizeof pick];
        }
        memcpy(frame, "data:x", 6); /* x: the BOM check sees ASCII */
        fl = 6;
        memcpy(frame + fl, in, n);
        fl += n;
        memcpy(frame + fl, "\n\n", 2);
        fl += 2;
        assert_int_equal(sse_parser_init(&p, &sse_cb, &g, 0), SSE_OK);
        assert_int_equal(sse_parser_execute(&p, frame, fl), SSE_OK);
        sse_parser_free(&p);
        buf_init(&b, 1 << 16);
        assert_int_equal(buf_append_utf8(&b, in, n, NULL), BUF_OK);
        assert_true(g.len >= 1 && g.data[0] == 'x');
        assert_int_equal(b.len, g.len - 1);
        assert_memory_equal(b.data, g.data + 1, b.len);
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_char),
        cmocka_unit_test(test_valid_len),
        cmocka_unit_test(test_append_utf8),
        cmocka_unit_test(test_same_as_sse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
