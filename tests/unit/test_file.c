/*
 * test_file.c - base/file.c: whole writes and atomic replacement.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
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


static size_t slurp(const char *name, char *out, size_t size)
{
    char path[PATH_MAX];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(out, 1, size, f);
    fclose(f);
    return n;
}

static void test_replace_writes_and_replaces(void **state)
{
    char got[64], path[PATH_MAX];
    struct stat st;

    (void)state;
    assert_int_equal(file_replace(dir, "position", "abc\n1\n", 6), FILE_OK);
    assert_int_equal(slurp("position", got, sizeof got), 6);
    assert_memory_equal(got, "abc\n1\n", 6);
    assert_int_equal(file_replace(dir, "position", "x", 1), FILE_OK);
    assert_int_equal(slurp("position", got, sizeof got), 1);
    assert_int_equal(got[0], 'x');
    snprintf(path, sizeof path, "%s/position", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* no temporary file left behind */
    snprintf(path, sizeof path, "%s/position.tmp", dir);
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_replace_failure_keeps_old(void **state)
{
    char got[64], sub[PATH_MAX];

    (void)state;
    assert_int_equal(file_replace(dir, "f", "old", 3), FILE_OK);
    /* a name whose temporary file cannot be created: a missing folder */
    assert_int_equal(file_replace(dir, "missing/f", "new", 3), FILE_EIO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(slurp("f", got, sizeof got), 3);
    assert_memory_equal(got, "old", 3);
    /* rename over a directory fails: the temporary file is removed */
    snprintf(sub, sizeof sub, "%s/d", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(file_replace(dir, "d", "new", 3), FILE_EIO);
    snprintf(sub, sizeof sub, "%s/d.tmp", dir);
    assert_int_equal(access(sub, F_OK), -1);
}

static void test_replace_name_too_long(void **state)
{
    char name[PATH_MAX + 8];

    (void)state;
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(file_replace(dir, name, "x", 1), FILE_ENAMETOOLONG);
    assert_int_equal(errno, ENAMETOOLONG);
}

static void test_write_all_and_errors(void **state)
{
    int p[2];
    char got[8];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(file_write_all(p[1], "hello", 5), FILE_OK);
    assert_int_equal(read(p[0], got, sizeof got), 5);
    assert_memory_equal(got, "hello", 5);
    close(p[0]);
    close(p[1]);
    assert_int_equal(file_write_all(-1, "x", 1), FILE_EIO);
    assert_int_equal(errno, EBADF);
    assert_int_equal(file_sync_dir("/nonexistent-tw-dir"), FILE_EIO);
    assert_string_equal(file_strerror(FILE_EIO), "I/O error");
    assert_string_equal(file_strerror(99), "unknown error");
}

/* file_read_all: whole files up to the cap, one byte more refused; no
 * file, a directory, and the empty file. */
static void test_read_all(void **state)
{
    char path[PATH_MAX], *data = (char *)1;
    size_t len = 99;

    (void)state;
    assert_int_equal(file_replace(dir, "r", "0123456789", 10), FILE_OK);
    snprintf(path, sizeof path, "%s/r", dir);
    assert_int_equal(file_read_all(path, 10, &data, &len), FILE_OK);
    assert_int_equal(len, 10);
    assert_string_equal(data, "0123456789");
    free(data);
    assert_int_equal(file_read_all(path, 9, &data, &len), FILE_ETOOBIG);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(file_read_all(path, 1000000, &data, &len), FILE_OK);
    assert_int_equal(len, 10);
    free(data);
    assert_int_equal(file_replace(dir, "e", "", 0), FILE_OK);
    snprintf(path, sizeof path, "%s/e", dir);
    assert_int_equal(file_read_all(path, 10, &data, &len), FILE_OK);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    snprintf(path, sizeof path, "%s/none", dir);
    assert_int_equal(file_read_all(path, 10, &data, &len), FILE_ENOENT);
    assert_int_equal(file_read_all(dir, 10, &data, &len), FILE_EIO);
    assert_int_equal(errno, EISDIR);
    assert_string_equal(file_strerror(FILE_ETOOBIG), "file too large");
}

/* A parser that takes "good" only. */
static int parse_good(void *ud, const char *data, size_t len, char *why,
                      size_t whysz)
{
    (void)ud;
    if (len == 4 && memcmp(data, "good", 4) == 0)
        return 0;
    snprintf(why, whysz, "not good: %zu bytes", len);
    return -1;
}

/* file_load: taken, absent, refused and set aside, too large. */
static void test_load(void **state)
{
    char why[64] = "", bad[PATH_MAX];
    int aside = -1;

    (void)state;
    assert_int_equal(file_load(dir, "s", 16, parse_good, NULL, why,
                               sizeof why, &aside), FILE_ENOENT);
    assert_int_equal(aside, 0);
    assert_int_equal(file_replace(dir, "s", "good", 4), FILE_OK);
    assert_int_equal(file_load(dir, "s", 16, parse_good, NULL, why,
                               sizeof why, &aside), FILE_OK);
    assert_int_equal(file_replace(dir, "s", "bad!!", 5), FILE_OK);
    assert_int_equal(file_load(dir, "s", 16, parse_good, NULL, why,
                               sizeof why, &aside), FILE_EREFUSED);
    assert_string_equal(why, "not good: 5 bytes");
    assert_int_equal(aside, 1);
    snprintf(bad, sizeof bad, "%s/s.bad", dir);
    assert_int_equal(access(bad, F_OK), 0);
    assert_int_equal(file_load(dir, "s", 16, parse_good, NULL, why,
                               sizeof why, &aside), FILE_ENOENT);
    assert_int_equal(file_replace(dir, "s", "good", 4), FILE_OK);
    assert_int_equal(file_load(dir, "s", 3, parse_good, NULL, why,
                               sizeof why, &aside), FILE_EREFUSED);
    assert_string_equal(why, "file too large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replace_writes_and_replaces,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_failure_keeps_old,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_name_too_long, setup,
                                        teardown),
        cmocka_unit_test(test_write_all_and_errors),
        cmocka_unit_test_setup_teardown(test_read_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
