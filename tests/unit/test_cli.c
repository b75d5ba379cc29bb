/*
 * test_cli.c - option splitting and strict number parsing.
 */
#include "app/cli.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_options_and_positionals(void **state)
{
    char a0[] = "tail", a1[] = "--once", a2[] = "--max-events=5",
         a3[] = "URL", a4[] = "--header", a5[] = "X-A: 1", a6[] = "--";
    char *argv[] = {a0, a1, a2, a3, a4, a5, a6, NULL};
    cli_args a;
    const char *name;

    (void)state;
    cli_args_init(&a, 7, argv, 1);
    assert_int_equal(cli_next(&a, &name), 1);
    assert_string_equal(name, "--once");
    assert_int_equal(cli_next(&a, &name), 1);
    assert_string_equal(name, "--max-events");
    assert_string_equal(cli_value(&a, name), "5");
    assert_int_equal(cli_next(&a, &name), 2);
    assert_string_equal(name, "URL");
    assert_int_equal(cli_next(&a, &name), 1);
    assert_string_equal(name, "--header");
    assert_string_equal(cli_value(&a, name), "X-A: 1");
    assert_int_equal(cli_next(&a, &name), 2);
    assert_string_equal(name, "--");
    assert_int_equal(cli_next(&a, &name), 0);
    assert_null(cli_value(&a, "--x"));
}

static void test_u64(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_int_equal(cli_u64("--n", "0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(cli_u64("--n", "10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(cli_u64("--n", "18446744073709551615", 0, UINT64_MAX,
                             &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(cli_u64("--n", "11", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", "18446744073709551616", 0, UINT64_MAX,
                             &v), -1);
    assert_int_equal(cli_u64("--n", "", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", "-1", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", "1e3", 0, 10000, &v), -1);
    assert_int_equal(cli_u64("--n", " 5", 0, 10, &v), -1);
    assert_int_equal(cli_u64("--n", NULL, 0, 10, &v), -1);
    assert_int_equal(v, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_and_positionals),
        cmocka_unit_test(test_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
