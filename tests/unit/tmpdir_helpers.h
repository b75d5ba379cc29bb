/*
 * tmpdir_helpers.h - a fresh directory per test for the tests of modules
 * that keep files (test_file, test_gate, test_silence_store): cmocka
 * setup/teardown functions that make /tmp/tw-test-XXXXXX into `dir` and
 * remove it with everything in it.
 *
 * Header-only (static functions): each test binary includes it once and
 * uses every function in it.
 */
#ifndef TW_TEST_TMPDIR_HELPERS_H
#define TW_TEST_TMPDIR_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPDIR_TEMPLATE "/tmp/tw-test-XXXXXX"

static char dir[sizeof TMPDIR_TEMPLATE];

static int setup(void **state)
{
    (void)state;
    memcpy(dir, TMPDIR_TEMPLATE, sizeof dir);
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
