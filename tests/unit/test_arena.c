/*
 * test_arena.c - unit tests for consumer/arena.c: cJSON trees built
 * between arena_begin() and arena_end() come from the calling thread's
 * arena, aligned, and go all at once; a tree larger than the arena spills
 * into malloc and is freed; outside a begin/end pair, and on other
 * threads, cJSON allocates with malloc as usual.
 *
 * Leaks would be reported by LeakSanitizer (the test build runs under
 * AddressSanitizer), and a free() of an arena block or a use of a tree
 * after arena_end() by AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/arena.h"

static const char record[] =
    "{\"record_id\":\"rec-0001\",\"tool_name\":\"postgres_query\","
    "\"tags\":[1,2,{\"a\":null}],\"cost_usd\":0.0042}";

/* Every node and string of the tree starts ARENA_ALIGN-aligned. */
static void assert_aligned(const cJSON *n)
{
    for (; n != NULL; n = n->next) {
        assert_int_equal((uintptr_t)n % ARENA_ALIGN, 0);
        if (n->string != NULL)
            assert_int_equal((uintptr_t)n->string % ARENA_ALIGN, 0);
        if (n->valuestring != NULL)
            assert_int_equal((uintptr_t)n->valuestring % ARENA_ALIGN, 0);
        assert_aligned(n->child);
    }
}

/* A tree in the arena: aligned, and the next tree after arena_end() starts
 * where the first one did (the arena was reset, nothing freed one by
 * one). */
static void test_tree_in_arena(void **state)
{
    cJSON *a, *b;

    (void)state;
    arena_begin();
    a = cJSON_Parse(record);
    assert_non_null(a);
    assert_aligned(a);
    assert_string_equal(cJSON_GetObjectItem(a, "tool_name")->valuestring,
                        "postgres_query");
    arena_end(a);
    arena_begin();
    b = cJSON_Parse(record);
    assert_ptr_equal(a, b);
    arena_end(b);
}

/* Larger than the arena: the rest comes from malloc and is freed by
 * arena_end() (LeakSanitizer checks). */
static void test_spill(void **state)
{
    size_t n = 4 * ARENA_BYTES / 8, len = 0;
    char *text = malloc(n * 8 + 2);
    cJSON *root;

    (void)state;
    assert_non_null(text);
    text[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, 9, "%s\"%04zu\"", i ? "," : "",
                                i % 10000);
    text[len++] = ']';
    text[len] = '\0';
    arena_begin();
    root = cJSON_Parse(text);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(root), (int)n);
    assert_aligned(root->child);
    arena_end(root);
    /* a tree that failed to parse: NULL */
    arena_begin();
    assert_null(cJSON_Parse("[1,"));
    arena_end(NULL);
    free(text);
}

/* Outside a begin/end pair cJSON is malloc/free: the tree outlives
 * arena_end() and cJSON_Delete frees it. */
static void test_outside_pair(void **state)
{
    cJSON *out, *in;

    (void)state;
    out = cJSON_Parse(record);
    assert_non_null(out);
    arena_begin();
    in = cJSON_Parse(record);
    assert_non_null(in);
    assert_ptr_not_equal(in, out);
    arena_end(in);
    assert_string_equal(cJSON_GetObjectItem(out, "record_id")->valuestring,
                        "rec-0001");
    cJSON_Delete(out);
}

static void *other_thread(void *arg)
{
    cJSON *t;

    arena_begin();
    t = cJSON_Parse(record);
    *(uintptr_t *)arg = (uintptr_t)t;
    arena_end(t);
    return NULL;
}

/* Each thread has an arena of its own. */
static void test_threads(void **state)
{
    pthread_t th;
    uintptr_t theirs = 0;
    cJSON *mine;

    (void)state;
    arena_begin();
    mine = cJSON_Parse(record);
    assert_non_null(mine);
    assert_int_equal(pthread_create(&th, NULL, other_thread, &theirs), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(theirs != 0);
    assert_true(theirs != (uintptr_t)mine);
    assert_string_equal(cJSON_GetObjectItem(mine, "record_id")->valuestring,
                        "rec-0001");
    arena_end(mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_in_arena),
        cmocka_unit_test(test_spill),
        cmocka_unit_test(test_outside_pair),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
