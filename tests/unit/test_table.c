/*
 * test_table.c - the parts of the settings walker that test_config does
 * not reach through the configuration file: required items, "unset"
 * integers left out of the dump, the "did you mean" helper, and the walk
 * that lists every error (struct table_errs).
 */
#include "base/table.h"

#include <cjson/cJSON.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct demo {
    int64_t need;
    int64_t maybe;
};

static const struct table_item items[] = {
    {.name = "need", .type = TABLE_INT, .offset = offsetof(struct demo, need),
     .min = 0, .max = 10, .flags = TABLE_F_REQUIRED},
    {.name = "maybe", .type = TABLE_INT,
     .offset = offsetof(struct demo, maybe), .def = -1, .min = 0, .max = 10,
     .flags = TABLE_F_UNSET},
};
#define NITEMS (sizeof items / sizeof items[0])

static int apply(const char *text, struct demo *d, char *err, size_t errsz)
{
    cJSON *j = cJSON_Parse(text);
    int rc;

    assert_non_null(j);
    table_items_defaults(items, NITEMS, d);
    rc = table_items_apply(items, NITEMS, d, j, "x", err, errsz);
    cJSON_Delete(j);
    return rc;
}

static char *dump(const struct demo *d)
{
    cJSON *o = cJSON_CreateObject();
    char *t;

    assert_int_equal(table_items_dump(items, NITEMS, d, o, 0), TABLE_OK);
    t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

static void test_required_and_unset(void **state)
{
    struct demo d;
    char err[256];
    char *t;
    cJSON *j;

    (void)state;
    assert_int_equal(apply("{\"maybe\": 3}", &d, err, sizeof err),
                     TABLE_EINVAL);
    assert_string_equal(err,
                        "x.need: missing; expected an integer between 0 "
                        "and 10");
    assert_int_equal(apply("{\"need\": 3}", &d, err, sizeof err), TABLE_OK);
    assert_int_equal(d.maybe, -1);
    t = dump(&d);
    assert_string_equal(t, "{\"need\":3}");
    cJSON_free(t);
    assert_int_equal(apply("{\"need\": 3, \"maybe\": 0}", &d, err, sizeof err),
                     TABLE_OK);
    t = dump(&d);
    assert_string_equal(t, "{\"need\":3,\"maybe\":0}");
    cJSON_free(t);

    j = cJSON_Parse("{\"maybe\": 1, \"need\": 2}");
    assert_null(table_items_missing(items, NITEMS, j));
    cJSON_DeleteItemFromObject(j, "need");
    assert_ptr_equal(table_items_missing(items, NITEMS, j), &items[0]);
    cJSON_Delete(j);
}

static const char *suggest(const char *word, const char *const *cands)
{
    struct table_suggest s;

    table_suggest_init(&s, word);
    for (size_t i = 0; cands[i] != NULL; i++)
        table_suggest_add(&s, cands[i]);
    return table_suggest_best(&s);
}

static void test_suggest(void **state)
{
    static const char *const fields[] = {
        "tool_name", "tool_category", "agent_id", "session_id",
        "error_code", "error", "cost_usd", "window_s", "threshold", NULL};
    static const char *const kinds[] = {
        "count", "sum", "ratio", "distinct", "max", "sequence",
        "new_value", "baseline", "absence", NULL};
    struct table_suggest s;

    (void)state;
    assert_string_equal(suggest("tool_nme", fields), "tool_name");
    assert_string_equal(suggest("Tool_Name", fields), "tool_name");
    assert_string_equal(suggest("toolname", fields), "tool_name");
    assert_string_equal(suggest("treshold", fields), "threshold");
    assert_string_equal(suggest("thresohld", fields), "threshold"); /* swap */
    assert_string_equal(suggest("window", fields), "window_s");
    assert_string_equal(suggest("windows", fields), "window_s");
    assert_string_equal(suggest("agentid", fields), "agent_id");
    assert_string_equal(suggest("eror", fields), "error");
    assert_null(suggest("cost", fields)); /* 4 edits */
    assert_null(suggest("latency", fields));
    assert_null(suggest("", fields));
    assert_null(suggest("x", fields));
    assert_string_equal(suggest("cout", kinds), "count");
    assert_string_equal(suggest("ration", kinds), "ratio");
    assert_string_equal(suggest("ratoi", kinds), "ratio");
    assert_string_equal(suggest("absense", kinds), "absence");
    assert_string_equal(suggest("new-value", kinds), "new_value");
    assert_string_equal(suggest("newvalue", kinds), "new_value");
    assert_null(suggest("min", kinds)); /* 2 edits from max: too far */
    assert_null(suggest("histogram", kinds));
    /* the first of equally close candidates */
    assert_string_equal(suggest("errr", fields), "error");
    /* words longer than 64 bytes are not compared */
    {
        char w[66];
        memset(w, 'a', 65);
        w[65] = '\0';
        table_suggest_init(&s, w);
        table_suggest_add(&s, w);
    }
    assert_null(table_suggest_best(&s));
    table_suggest_init(&s, "mabye");
    table_suggest_items(&s, items, NITEMS);
    assert_string_equal(table_suggest_best(&s), "maybe");
}

/* The walker that goes on: every unknown key, wrong value, duplicate
 * and missing key of an object, in order; a nested section's too. */
struct outer {
    int64_t a;
    struct demo in;
};

static const struct table_item outer_items[] = {
    {.name = "a", .type = TABLE_INT, .offset = offsetof(struct outer, a),
     .min = 0, .max = 1, .flags = TABLE_F_REQUIRED},
    {.name = "in", .type = TABLE_SECTION, .offset = offsetof(struct outer, in),
     .items = items, .nitems = NITEMS},
};

static void test_every_error(void **state)
{
    char msgs[4][TABLE_ERR_MAX], err[256];
    struct table_errs e;
    struct outer o;
    cJSON *j = cJSON_Parse("{\"in\": {\"maybe\": 11, \"x\": 1, \"maybe\": 2},"
                           " \"b\": true, \"in\": 3}");

    (void)state;
    assert_non_null(j);
    table_items_defaults(outer_items, 2, &o);
    table_errs_init(&e, msgs, 4);
    assert_int_equal(table_items_apply_errs(outer_items, 2, &o, j, "", &e),
                     TABLE_EINVAL);
    /* 7 errors, the first 4 kept */
    assert_int_equal(table_errs_count(&e), 7);
    assert_int_equal(table_errs_kept(&e), 4);
    assert_string_equal(table_errs_at(&e, 0),
                        "in.maybe: expected an integer between 0 and 10, "
                        "got 11");
    assert_string_equal(table_errs_at(&e, 1), "in.x: unknown key");
    assert_string_equal(table_errs_at(&e, 2), "in.maybe: duplicate key");
    assert_string_equal(table_errs_at(&e, 3),
                        "in.need: missing; expected an integer between 0 "
                        "and 10");
    /* then "b: unknown key", "in: duplicate key", "a: missing; ...":
     * counted, not kept */
    /* the err/errsz walker: the first of them */
    table_items_defaults(outer_items, 2, &o);
    assert_int_equal(table_items_apply(outer_items, 2, &o, j, "", err,
                                       sizeof err),
                     TABLE_EINVAL);
    assert_string_equal(err, "in.maybe: expected an integer between 0 and "
                             "10, got 11");
    assert_int_equal(table_item_apply(&outer_items[1], &o,
                                      cJSON_GetObjectItem(j, "in"), "p", err,
                                      sizeof err),
                     TABLE_EINVAL);
    assert_string_equal(err, "p.maybe: expected an integer between 0 and "
                             "10, got 11");
    cJSON_Delete(j);
}

/* The list itself: the slot of a message past the cap, a failure without
 * a message (out of memory) not counted, an empty list's first. */
static void test_errs(void **state)
{
    char msgs[1][TABLE_ERR_MAX], err[16] = "untouched";
    struct table_errs e;

    (void)state;
    table_errs_init(&e, msgs, 1);
    table_errs_first(&e, err, sizeof err);
    assert_string_equal(err, "untouched");
    assert_int_equal(table_errs_keep(&e, TABLE_ENOMEM), TABLE_ENOMEM);
    table_errs_slot(&e);
    assert_int_equal(table_errs_keep(&e, TABLE_ENOMEM), TABLE_ENOMEM);
    assert_int_equal(table_errs_count(&e), 0);
    snprintf(table_errs_slot(&e), TABLE_ERR_MAX, "one");
    assert_int_equal(table_errs_keep(&e, TABLE_OK), TABLE_OK);
    assert_int_equal(table_errs_count(&e), 0);
    assert_int_equal(table_errs_keep(&e, TABLE_EINVAL), TABLE_EINVAL);
    snprintf(table_errs_slot(&e), TABLE_ERR_MAX, "two");
    assert_int_equal(table_errs_keep(&e, TABLE_EINVAL), TABLE_EINVAL);
    assert_int_equal(table_errs_add(&e, "%s", "three"), TABLE_EINVAL);
    assert_int_equal(table_errs_count(&e), 3);
    assert_int_equal(table_errs_kept(&e), 1);
    assert_string_equal(table_errs_at(&e, 0), "one");
    table_errs_first(&e, err, sizeof err);
    assert_string_equal(err, "one");
    /* no storage: counted only */
    table_errs_init(&e, NULL, 5);
    table_errs_add(&e, "x");
    assert_int_equal(table_errs_count(&e), 1);
    assert_int_equal(table_errs_kept(&e), 0);
}

struct words {
    struct table_strlist w;
};

static const struct table_item list_items[] = {
    {.name = "w", .type = TABLE_STRLIST, .offset = offsetof(struct words, w),
     .def_str = "a,b", .flags = TABLE_F_LOWER},
};

/* A string list: each bad string (one message each, its index in the
 * file); the list is kept only when all are good; the err/errsz walker
 * gives the first. */
static void test_list_every_error(void **state)
{
    static char msgs[8][TABLE_ERR_MAX];
    char long_item[TABLE_LIST_ITEM_MAX + 16], text[256], err[TABLE_ERR_MAX];
    struct table_errs e;
    struct words d;
    cJSON *j;

    (void)state;
    memset(long_item, 'x', TABLE_LIST_ITEM_MAX); /* 64 bytes: one too many */
    long_item[TABLE_LIST_ITEM_MAX] = '\0';
    snprintf(text, sizeof text, "{\"w\": [\"Ok\", \"\", 7, \"%s\", \"Z\"]}",
             long_item);
    assert_non_null(j = cJSON_Parse(text));
    table_items_defaults(list_items, 1, &d);
    table_errs_init(&e, msgs, 8);
    assert_int_equal(table_items_apply_errs(list_items, 1, &d, j, "x", &e),
                     TABLE_EINVAL);
    assert_int_equal(table_errs_count(&e), 3);
    assert_string_equal(table_errs_at(&e, 0), "x.w[1]: expected a non-empty "
                        "string of at most 63 bytes, got \"\"");
    assert_string_equal(table_errs_at(&e, 1), "x.w[2]: expected a non-empty "
                        "string of at most 63 bytes, got 7");
    assert_string_equal(table_errs_at(&e, 2), "x.w[3]: expected a non-empty "
                        "string of at most 63 bytes, got \"xxxxxxxxxxxxxxxx"
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...");
    assert_int_equal(d.w.n, 2); /* the defaults stay */
    assert_string_equal(d.w.v[0], "a");
    err[0] = '\0';
    assert_int_equal(table_items_apply(list_items, 1, &d, j, "x", err,
                                       sizeof err),
                     TABLE_EINVAL);
    assert_string_equal(err, table_errs_at(&e, 0));
    cJSON_Delete(j);

    /* 63 bytes is the longest string; all good: stored lower-cased */
    long_item[TABLE_LIST_ITEM_MAX - 1] = '\0';
    snprintf(text, sizeof text, "{\"w\": [\"Ok\", \"%s\"]}", long_item);
    assert_non_null(j = cJSON_Parse(text));
    table_errs_init(&e, msgs, 8);
    assert_int_equal(table_items_apply_errs(list_items, 1, &d, j, "x", &e),
                     TABLE_OK);
    assert_int_equal(table_errs_count(&e), 0);
    assert_int_equal(d.w.n, 2);
    assert_string_equal(d.w.v[0], "ok");
    assert_int_equal(strlen(d.w.v[1]), TABLE_LIST_ITEM_MAX - 1);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_and_unset),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_every_error),
        cmocka_unit_test(test_errs),
        cmocka_unit_test(test_list_every_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
