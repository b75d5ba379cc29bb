/*
 * test_login_limit.c - the per-address limit on wrong login tokens: the
 * fifth wrong token within 60 s starts a refusal that lasts exactly to the
 * end of the window (Retry-After rounded up), addresses are counted apart,
 * a right token forgets, a window that has ended starts afresh, and the
 * table of 256 addresses gives up the least recently failed one.
 */
#include "status/login_limit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define T0 1000000LL

/* 127.0.x.y as v4-mapped. */
static void v4(unsigned char out[16], unsigned x, unsigned y)
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    out[12] = 127;
    out[14] = (unsigned char)x;
    out[15] = (unsigned char)y;
}

static struct status_login_limit *make(void)
{
    struct status_login_limit *l = malloc(sizeof *l);

    assert_non_null(l);
    status_login_limit_init(l);
    return l;
}

static void test_fifth_failure_refuses_to_the_window_end(void **state)
{
    struct status_login_limit *l = make();
    unsigned char a[16], b[16];

    (void)state;
    v4(a, 0, 1);
    v4(b, 0, 2);
    for (unsigned i = 1; i < STATUS_LOGIN_FAILS_MAX; i++) {
        assert_int_equal(status_login_failed(l, a, T0 + i * 1000), i);
        assert_int_equal(status_login_wait_s(l, a, T0 + i * 1000), 0);
    }
    assert_int_equal(status_login_failed(l, a, T0 + 10500), 5);
    /* the window started at T0 + 1000: it ends at T0 + 61000 */
    assert_int_equal(status_login_wait_s(l, a, T0 + 10500), 51);
    assert_int_equal(status_login_wait_s(l, a, T0 + 59001), 2);
    assert_int_equal(status_login_wait_s(l, a, T0 + 60000), 1);
    assert_int_equal(status_login_wait_s(l, a, T0 + 60999), 1);
    assert_int_equal(status_login_wait_s(l, a, T0 + 61000), 0);
    /* another address is not held back */
    assert_int_equal(status_login_wait_s(l, b, T0 + 10500), 0);
    assert_int_equal(status_login_failed(l, b, T0 + 10500), 1);
    /* after the window, a wrong token starts a new one */
    assert_int_equal(status_login_failed(l, a, T0 + 61000), 1);
    assert_int_equal(status_login_wait_s(l, a, T0 + 61000), 0);
    free(l);
}

static void test_failures_spread_past_the_window_never_refuse(void **state)
{
    struct status_login_limit *l = make();
    unsigned char a[16];

    (void)state;
    v4(a, 0, 1);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(status_login_failed(l, a, T0 + i), i + 1);
    /* the fifth 60 s after the first: a new window, counted 1 */
    assert_int_equal(status_login_failed(l, a, T0 + 60000), 1);
    assert_int_equal(status_login_wait_s(l, a, T0 + 60000), 0);
    /* 59.999 s after the window's start: the fifth of that window */
    for (unsigned i = 2; i <= 4; i++)
        assert_int_equal(status_login_failed(l, a, T0 + 60000 + i), i);
    assert_int_equal(status_login_failed(l, a, T0 + 119999), 5);
    assert_int_equal(status_login_wait_s(l, a, T0 + 119999), 1);
    free(l);
}

static void test_right_token_forgets(void **state)
{
    struct status_login_limit *l = make();
    unsigned char a[16];

    (void)state;
    v4(a, 0, 1);
    for (unsigned i = 0; i < 4; i++)
        status_login_failed(l, a, T0);
    status_login_forget(l, a);
    assert_int_equal(status_login_failed(l, a, T0 + 1), 1);
    for (unsigned i = 0; i < 4; i++)
        status_login_failed(l, a, T0 + 2);
    assert_int_equal(status_login_wait_s(l, a, T0 + 2), 60);
    status_login_forget(l, a); /* the server never calls it then */
    assert_int_equal(status_login_wait_s(l, a, T0 + 2), 0);
    free(l);
}

/* 256 addresses fit; the 257th takes the slot of the least recently
 * failed, which is then forgotten (its refusal too). */
static void test_table_is_bounded_lru(void **state)
{
    struct status_login_limit *l = make();
    unsigned char a[16], o[16];

    (void)state;
    v4(a, 0, 1);
    for (unsigned i = 0; i < STATUS_LOGIN_FAILS_MAX; i++)
        status_login_failed(l, a, T0);
    assert_int_equal(status_login_wait_s(l, a, T0), 60);
    for (unsigned k = 0; k < STATUS_LOGIN_CLIENTS - 1; k++) {
        v4(o, 1, k);
        assert_int_equal(status_login_failed(l, o, T0 + 1), 1);
    }
    assert_int_equal(status_login_wait_s(l, a, T0 + 1), 60); /* kept */
    /* refailing one of the others makes 127.0.1.0 the oldest after a */
    v4(o, 1, 0);
    assert_int_equal(status_login_failed(l, o, T0 + 2), 2);
    v4(o, 2, 0);
    assert_int_equal(status_login_failed(l, o, T0 + 2), 1); /* evicts a */
    assert_int_equal(status_login_wait_s(l, a, T0 + 2), 0);
    v4(o, 1, 0);
    assert_int_equal(status_login_failed(l, o, T0 + 3), 3); /* kept */
    v4(o, 2, 1);
    assert_int_equal(status_login_failed(l, o, T0 + 3), 1); /* evicts
                                                                1.1 */
    v4(o, 1, 1);
    assert_int_equal(status_login_failed(l, o, T0 + 3), 1); /* forgotten */
    free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifth_failure_refuses_to_the_window_end),
        cmocka_unit_test(test_failures_spread_past_the_window_never_refuse),
        cmocka_unit_test(test_right_token_forgets),
        cmocka_unit_test(test_table_is_bounded_lru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
