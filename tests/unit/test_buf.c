/*
 * test_buf.c - capped buffer and JSON string escaping (always UTF-8 out).
 */
#include "base/buf.h"
#include "base/utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_append_and_cap(void **state)
{
    buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "hello"), BUF_OK);
    assert_int_equal(buf_append_str(&b, "world"), BUF_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    /* one byte over the cap fails and changes nothing */
    assert_int_equal(buf_append(&b, "!", 1), BUF_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append(&b, "", 0), BUF_OK);
    buf_free(&b);
    buf_free(&b); /* twice is fine */
}

static void json_is(const char *in, size_t n, const char *want)
{
    buf b;

    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_json_string(&b, in, n), BUF_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_true(utf8_valid(b.data, b.len));
    buf_free(&b);
}

static void test_json_escapes(void **state)
{
    (void)state;
    json_is("", 0, "\"\"");
    json_is("plain", 5, "\"plain\"");
    json_is("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    json_is("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
    json_is("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
    json_is("nul\0x", 5, "\"nul\\u0000x\"");
    /* UTF-8 passes through raw, including U+2028 */
    json_is("caf\xc3\xa9 \xe2\x80\xa8", 9, "\"caf\xc3\xa9 \xe2\x80\xa8\"");
    json_is("/", 1, "\"/\"");
}

#define R UTF8_REPLACEMENT

/* Bytes that are not UTF-8 become U+FFFD, one per maximal subpart: the
 * literal is valid UTF-8 whatever it is given. */
static void test_json_not_utf8(void **state)
{
    buf b;

    (void)state;
    json_is("\xff\xfe", 2, "\"" R R "\"");
    json_is("a\"\xc3", 3, "\"a\\\"" R "\"");
    json_is("\xe2\x82\n", 3, "\"" R "\\n\"");
    json_is("\xed\xa0\x80", 3, "\"" R R R "\""); /* a surrogate */
    /* the exact count near the cap: 2 bad bytes -> 6 + 2 quotes */
    buf_init(&b, 8);
    assert_int_equal(buf_append_json_string(&b, "\xff\xfe", 2), BUF_OK);
    assert_string_equal(b.data, "\"" R R "\"");
    buf_free(&b);
    buf_init(&b, 7);
    assert_int_equal(buf_append_json_string(&b, "\xff\xfe", 2),
                     BUF_ETOOBIG);
    buf_free(&b);
}

static void test_json_exact_fit(void **state)
{
    buf b;

    (void)state;
    /* "abcd" needs 6 bytes: fits a cap of 6 exactly, not 5 */
    buf_init(&b, 6);
    assert_int_equal(buf_append_json_string(&b, "abcd", 4), BUF_OK);
    assert_string_equal(b.data, "\"abcd\"");
    buf_free(&b);
    buf_init(&b, 5);
    assert_int_equal(buf_append_json_string(&b, "abcd", 4), BUF_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    /* escapes counted exactly near the cap: "\n" -> 4 bytes */
    buf_init(&b, 4);
    assert_int_equal(buf_append_json_string(&b, "\n", 1), BUF_OK);
    assert_string_equal(b.data, "\"\\n\"");
    assert_int_equal(buf_append_json_string(&b, "", 0), BUF_ETOOBIG);
    buf_free(&b);
}

static void test_growth(void **state)
{
    buf b;
    char chunk[1000];

    (void)state;
    memset(chunk, 'x', sizeof chunk);
    buf_init(&b, 100000);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof chunk), BUF_OK);
    assert_int_equal(b.len, 100000);
    assert_int_equal(buf_append(&b, chunk, 1), BUF_ETOOBIG);
    assert_int_equal(b.data[99999], 'x');
    assert_int_equal(b.data[100000], '\0');
    buf_free(&b);
}

static void test_copy_str(void **state)
{
    char d[4];

    (void)state;
    buf_copy_str(d, sizeof d, "ab");
    assert_string_equal(d, "ab");
    buf_copy_str(d, sizeof d, "abcdef");
    assert_string_equal(d, "abc");
    buf_copy_str(d, 1, "x");
    assert_string_equal(d, "");
}

/* The writer keeps the first error: nothing after it is appended. */
static void test_writer_sticky(void **state)
{
    buf b;
    buf_writer w = {&b, BUF_OK};

    (void)state;
    buf_init(&b, 8);
    buf_w_raw(&w, "ab");
    buf_w_json(&w, "c\"", 2);
    assert_int_equal(w.rc, BUF_OK);
    assert_string_equal(b.data, "ab\"c\\\"\"");
    buf_w_raw(&w, "toolong");
    assert_int_equal(w.rc, BUF_ETOOBIG);
    buf_w_raw(&w, "");
    buf_w_json(&w, "", 0);
    assert_int_equal(w.rc, BUF_ETOOBIG);
    assert_string_equal(b.data, "ab\"c\\\"\"");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_not_utf8),
        cmocka_unit_test(test_json_exact_fit),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_copy_str),
        cmocka_unit_test(test_writer_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
