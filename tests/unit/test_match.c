/*
 * test_match.c - match objects: every field and its absence, the derived
 * booleans for every event type and status, glob lists, comparisons at
 * their edges, metadata slots, match + exclude, the prefilter masks
 * checked against evaluation over every type and status, the dump (and
 * that it compiles to the same match), and every error with its exact
 * message.
 */
#include "detectors/match.h"

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

#include "alloc_hook.h"

static struct match_meta meta;
static char err[512];

static int compile(struct match *m, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    int rc;

    if (j == NULL)
        fail_msg("test JSON does not parse: %s", json);
    match_init(m);
    err[0] = '\0';
    rc = match_compile(m, j, "rules[0].match", &meta, err, sizeof err);
    cJSON_Delete(j);
    return rc;
}

static void compile_ok(struct match *m, const char *json)
{
    if (compile(m, json) != MATCH_OK)
        fail_msg("%s: %s", json, err);
}

static void expect_error(const char *json, const char *msg)
{
    struct match m;

    assert_int_equal(compile(&m, json), MATCH_EINVAL);
    assert_string_equal(err, msg);
    assert_int_equal(m.ncond, 0);
    assert_null(m.cond);
    match_free(&m);
}

static void ev_init(struct event *ev, enum event_type t,
                    enum event_status st)
{
    memset(ev, 0, sizeof *ev);
    ev->type = t;
    ev->status = st;
}

static int setup(void **state)
{
    (void)state;
    memset(&meta, 0, sizeof meta);
    return 0;
}

/* ---- fields ---- */

static void test_fields(void **state)
{
    static const struct {
        const char *name;
        enum match_field_id id;
        enum match_type type;
    } rows[] = {
        {"event_type", MATCH_F_EVENT_TYPE, MATCH_T_STRING},
        {"tool_name", MATCH_F_TOOL_NAME, MATCH_T_STRING},
        {"tool_category", MATCH_F_TOOL_CATEGORY, MATCH_T_STRING},
        {"agent_id", MATCH_F_AGENT_ID, MATCH_T_STRING},
        {"session_id", MATCH_F_SESSION_ID, MATCH_T_STRING},
        {"downstream_system", MATCH_F_DOWNSTREAM_SYSTEM, MATCH_T_STRING},
        {"response_status", MATCH_F_RESPONSE_STATUS, MATCH_T_STRING},
        {"error_code", MATCH_F_ERROR_CODE, MATCH_T_STRING},
        {"response_payload_size_bytes", MATCH_F_PAYLOAD, MATCH_T_NUMBER},
        {"execution_duration_ms", MATCH_F_DURATION, MATCH_T_NUMBER},
        {"tokens_consumed", MATCH_F_TOKENS, MATCH_T_NUMBER},
        {"cost_usd", MATCH_F_COST, MATCH_T_NUMBER},
        {"completed", MATCH_F_COMPLETED, MATCH_T_BOOL},
        {"error", MATCH_F_ERROR, MATCH_T_BOOL},
    };
    struct match_field f;
    char name[96];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(match_field_resolve(rows[i].name, &meta, &f, "p", 1,
                                             err, sizeof err),
                         MATCH_OK);
        assert_int_equal(f.id, rows[i].id);
        assert_int_equal(f.slot, 0);
        assert_int_equal(match_field_type(f), rows[i].type);
        match_field_name(f, &meta, name, sizeof name);
        assert_string_equal(name, rows[i].name);
        /* the message lists name every field of its type */
        assert_non_null(strstr(match_field_names(rows[i].type),
                               rows[i].name));
    }
    assert_string_equal(match_field_names(MATCH_T_STRING),
                        "event_type, tool_name, tool_category, agent_id, "
                        "session_id, downstream_system, response_status, "
                        "error_code, metadata.<name>");
    assert_string_equal(match_field_names(MATCH_T_NUMBER),
                        "response_payload_size_bytes, execution_duration_ms, "
                        "tokens_consumed, cost_usd");
    assert_string_equal(match_field_names(MATCH_T_BOOL), "completed, error");
    assert_int_equal(meta.n, 0);
}

static void test_metadata_slots(void **state)
{
    struct match_field f;
    char name[96], path[32];

    (void)state;
    assert_int_equal(match_field_resolve("metadata.region", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_OK);
    assert_int_equal(f.id, MATCH_F_META);
    assert_int_equal(f.slot, 0);
    assert_int_equal(match_field_type(f), MATCH_T_STRING);
    match_field_name(f, &meta, name, sizeof name);
    assert_string_equal(name, "metadata.region");
    assert_int_equal(match_field_resolve("metadata.team", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_OK);
    assert_int_equal(f.slot, 1);
    /* the same name, the same slot; names are case-sensitive */
    assert_int_equal(match_field_resolve("metadata.region", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_OK);
    assert_int_equal(f.slot, 0);
    assert_int_equal(match_field_resolve("metadata.Region", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_OK);
    assert_int_equal(f.slot, 2);
    /* a name may hold dots: everything after "metadata." */
    assert_int_equal(match_field_resolve("metadata.a.b", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_OK);
    assert_int_equal(f.slot, 3);
    assert_string_equal(meta.name[3], "a.b");
    for (int i = 4; i < EVENT_META_MAX; i++) {
        snprintf(path, sizeof path, "metadata.m%d", i);
        assert_int_equal(match_field_resolve(path, &meta, &f, "p", 1, err,
                                             sizeof err),
                         MATCH_OK);
        assert_int_equal(f.slot, i);
    }
    assert_int_equal(meta.n, EVENT_META_MAX);
    assert_int_equal(match_field_resolve("metadata.one_more", &meta, &f,
                                         "rules[9].match.metadata.one_more",
                                         1, err, sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, "rules[9].match.metadata.one_more: at most 8 "
                             "metadata names in all rules (in use: region, "
                             "team, Region, a.b, m4, m5, m6, m7)");
    /* names in use still resolve */
    assert_int_equal(match_field_resolve("metadata.m7", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_OK);
    assert_int_equal(f.slot, 7);
    assert_int_equal(meta.n, EVENT_META_MAX);
}

static void test_metadata_names(void **state)
{
    static const char want[] =
        "p: expected metadata.<name>, a name of 1 to 63 bytes without "
        "control characters";
    struct match_field f;
    char name[80];

    (void)state;
    assert_int_equal(match_field_resolve("metadata.", &meta, &f, "p", 1, err,
                                         sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, want);
    assert_int_equal(match_field_resolve("metadata", &meta, &f, "p", 1, err,
                                         sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, want);
    assert_int_equal(match_field_resolve("metadata.a\tb", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, want);
    /* 63 bytes: fine; 64: refused */
    memcpy(name, "metadata.", 9);
    memset(name + 9, 'x', 63);
    name[9 + 63] = '\0';
    assert_int_equal(match_field_resolve(name, &meta, &f, "p", 1, err,
                                         sizeof err),
                     MATCH_OK);
    assert_int_equal(strlen(meta.name[0]), 63);
    name[9 + 63] = 'x';
    name[9 + 64] = '\0';
    assert_int_equal(match_field_resolve(name, &meta, &f, "p", 1, err,
                                         sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, want);
    assert_int_equal(meta.n, 1);
}

static void test_unknown_fields(void **state)
{
    struct match_field f;

    (void)state;
    assert_int_equal(match_field_resolve("tool_nme", &meta, &f,
                                         "rules[3].steps[1].tool_nme", 1, err,
                                         sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, "rules[3].steps[1].tool_nme: unknown field; "
                             "did you mean tool_name?");
    assert_int_equal(match_field_resolve("tool_nme", &meta, &f,
                                         "rules[0].group_by[1]", 0, err,
                                         sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, "rules[0].group_by[1]: unknown field "
                             "\"tool_nme\"; did you mean tool_name?");
    assert_int_equal(match_field_resolve("metdata.region", &meta, &f, "p", 1,
                                         err, sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, "p: unknown field; did you mean "
                             "metadata.region?");
    assert_int_equal(match_field_resolve("Error", &meta, &f, "p", 1, err,
                                         sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(err, "p: unknown field; did you mean error?");
    assert_int_equal(match_field_resolve("latency_ms", &meta, &f, "p", 1, err,
                                         sizeof err),
                     MATCH_EINVAL);
    assert_string_equal(
        err, "p: unknown field; expected one of event_type, tool_name, "
             "tool_category, agent_id, session_id, downstream_system, "
             "response_status, error_code, metadata.<name>, "
             "response_payload_size_bytes, execution_duration_ms, "
             "tokens_consumed, cost_usd, completed, error");
    assert_int_equal(meta.n, 0);
}

/* ---- evaluation ---- */

static void test_empty_match(void **state)
{
    struct match m;
    struct event ev;

    (void)state;
    match_init(&m);
    ev_init(&ev, EVENT_TYPE_UNKNOWN, EVENT_STATUS_NONE);
    assert_true(match_eval(&m, &ev));
    assert_int_equal(m.types, MATCH_TYPES_ALL);
    assert_int_equal(m.types_sure, MATCH_TYPES_ALL);
    compile_ok(&m, "{}");
    assert_int_equal(m.ncond, 0);
    assert_null(m.cond);
    assert_true(match_eval(&m, &ev));
    match_free(&m);
    /* NULL: an absent key */
    assert_int_equal(match_compile(&m, NULL, "p", &meta, err, sizeof err),
                     MATCH_OK);
    assert_int_equal(m.ncond, 0);
    assert_true(match_eval(&m, &ev));
    match_free(&m);
    match_free(NULL);
    assert_int_equal(MATCH_TYPES_ALL, 0x3f);
}

static void test_string_fields(void **state)
{
    static const struct {
        const char *field;
        size_t offset;
    } rows[] = {
        {"tool_name", offsetof(struct event, tool_name)},
        {"tool_category", offsetof(struct event, tool_category)},
        {"agent_id", offsetof(struct event, agent_id)},
        {"session_id", offsetof(struct event, session_id)},
        {"downstream_system", offsetof(struct event, downstream_system)},
        {"error_code", offsetof(struct event, error_code)},
    };
    struct match m;
    struct event ev;
    char json[128];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *val;
        ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_SUCCESS);
        val = (char *)&ev + rows[i].offset;
        snprintf(json, sizeof json, "{\"%s\": \"postgres_*\"}",
                 rows[i].field);
        compile_ok(&m, json);
        assert_int_equal(m.types, MATCH_TYPES_ALL);
        assert_int_equal(m.types_sure, 0);
        assert_false(match_eval(&m, &ev)); /* absent */
        snprintf(val, EVENT_CODE_MAX, "%s", "Postgres_Query");
        assert_true(match_eval(&m, &ev));
        snprintf(val, EVENT_CODE_MAX, "%s", "mysql_query");
        assert_false(match_eval(&m, &ev));
        match_free(&m);
        /* "*" needs the field to be there */
        snprintf(json, sizeof json, "{\"%s\": \"*\"}", rows[i].field);
        compile_ok(&m, json);
        assert_true(match_eval(&m, &ev));
        val[0] = '\0';
        assert_false(match_eval(&m, &ev));
        match_free(&m);
    }
}

static void test_glob_lists(void **state)
{
    struct match m;
    struct event ev;

    (void)state;
    ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_SUCCESS);
    compile_ok(&m, "{\"tool_name\": [\"*credential*\", \"*secret*\", "
                   "\"*password*\", \"*token*\", \"*apikey*\", \"*auth*\"]}");
    assert_int_equal(m.ncond, 1);
    assert_int_equal(m.nglob, 6);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "vault_get_secret");
    assert_true(match_eval(&m, &ev));
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "OAuth_refresh");
    assert_true(match_eval(&m, &ev));
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "list_tables");
    assert_false(match_eval(&m, &ev));
    match_free(&m);
    /* a list of one */
    compile_ok(&m, "{\"tool_name\": [\"list_*\"]}");
    assert_true(match_eval(&m, &ev));
    match_free(&m);
}

static void test_event_type_and_status(void **state)
{
    struct match m;
    struct event ev;

    (void)state;
    compile_ok(&m, "{\"event_type\": \"tool_call_*\"}");
    assert_int_equal(m.types, MATCH_TYPE_BIT(EVENT_TOOL_CALL_REQUEST) |
                                  MATCH_TYPE_BIT(EVENT_TOOL_CALL_RESPONSE) |
                                  MATCH_TYPE_BIT(EVENT_TOOL_CALL_ERROR));
    assert_int_equal(m.types_sure, m.types);
    for (int t = 0; t <= EVENT_SESSION_END; t++) {
        ev_init(&ev, (enum event_type)t, EVENT_STATUS_NONE);
        assert_int_equal(match_eval(&m, &ev),
                         t >= EVENT_TOOL_CALL_REQUEST &&
                             t <= EVENT_TOOL_CALL_ERROR);
    }
    /* out-of-range values meet nothing */
    ev.type = (enum event_type)99;
    assert_false(match_eval(&m, &ev));
    match_free(&m);
    compile_ok(&m, "{\"event_type\": [\"AGENT_SESSION_START\", "
                   "\"agent_session_end\"]}");
    assert_int_equal(m.types, MATCH_TYPE_BIT(EVENT_SESSION_START) |
                                  MATCH_TYPE_BIT(EVENT_SESSION_END));
    match_free(&m);
    /* "*" is every known type, never the unknown one */
    compile_ok(&m, "{\"event_type\": \"*\"}");
    assert_int_equal(m.types, MATCH_TYPES_ALL & ~1u);
    ev_init(&ev, EVENT_TYPE_UNKNOWN, EVENT_STATUS_NONE);
    assert_false(match_eval(&m, &ev));
    match_free(&m);

    compile_ok(&m, "{\"response_status\": [\"err*\", \"pending\"]}");
    assert_int_equal(m.types, MATCH_TYPES_ALL);
    assert_int_equal(m.types_sure, 0);
    for (int st = 0; st <= EVENT_STATUS_PENDING; st++) {
        ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, (enum event_status)st);
        assert_int_equal(match_eval(&m, &ev),
                         st == EVENT_STATUS_ERROR ||
                             st == EVENT_STATUS_PENDING);
    }
    ev.status = (enum event_status)77;
    assert_false(match_eval(&m, &ev));
    match_free(&m);
    compile_ok(&m, "{\"response_status\": \"*\"}");
    ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_NONE);
    assert_false(match_eval(&m, &ev));
    ev.status = EVENT_STATUS_SUCCESS;
    assert_true(match_eval(&m, &ev));
    match_free(&m);
}

static void test_booleans(void **state)
{
    /* [type][status]: completed, error */
    struct match c_true, c_false, e_true, e_false;
    struct event ev;

    (void)state;
    compile_ok(&c_true, "{\"completed\": true}");
    compile_ok(&c_false, "{\"completed\": false}");
    compile_ok(&e_true, "{\"error\": true}");
    compile_ok(&e_false, "{\"error\": false}");
    for (int t = 0; t <= EVENT_SESSION_END; t++)
        for (int st = 0; st <= EVENT_STATUS_PENDING; st++) {
            int completed = t == EVENT_TOOL_CALL_RESPONSE ||
                            t == EVENT_TOOL_CALL_ERROR;
            int error = t == EVENT_TOOL_CALL_ERROR ||
                        (t == EVENT_TOOL_CALL_RESPONSE &&
                         st == EVENT_STATUS_ERROR);
            ev_init(&ev, (enum event_type)t, (enum event_status)st);
            assert_int_equal(match_eval(&c_true, &ev), completed);
            assert_int_equal(match_eval(&c_false, &ev), !completed);
            assert_int_equal(match_eval(&e_true, &ev), error);
            assert_int_equal(match_eval(&e_false, &ev), !error);
        }
    /* a request marked "error" is not an error: only responses are */
    ev_init(&ev, EVENT_TOOL_CALL_REQUEST, EVENT_STATUS_ERROR);
    assert_false(match_eval(&e_true, &ev));
    match_free(&c_true);
    match_free(&c_false);
    match_free(&e_true);
    match_free(&e_false);
}

static void test_numbers(void **state)
{
    struct match m;
    struct event ev;

    (void)state;
    ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_SUCCESS);
    compile_ok(&m, "{\"response_payload_size_bytes\": {\">\": 1000000}}");
    ev.payload_bytes = 5000000; /* present only with its bit */
    assert_false(match_eval(&m, &ev));
    ev.has |= EVENT_HAS_PAYLOAD;
    assert_true(match_eval(&m, &ev));
    ev.payload_bytes = 1000000; /* strict */
    assert_false(match_eval(&m, &ev));
    ev.payload_bytes = 1000001;
    assert_true(match_eval(&m, &ev));
    match_free(&m);

    compile_ok(&m, "{\"execution_duration_ms\": {\">=\": 100, \"<\": 200}}");
    ev.has = EVENT_HAS_DURATION;
    ev.duration_ms = 99.999;
    assert_false(match_eval(&m, &ev));
    ev.duration_ms = 100;
    assert_true(match_eval(&m, &ev));
    ev.duration_ms = 199.999;
    assert_true(match_eval(&m, &ev));
    ev.duration_ms = 200;
    assert_false(match_eval(&m, &ev));
    ev.has = 0;
    ev.duration_ms = 150;
    assert_false(match_eval(&m, &ev));
    match_free(&m);

    compile_ok(&m, "{\"tokens_consumed\": {\"<=\": 10}}");
    ev.has = EVENT_HAS_TOKENS;
    ev.tokens = 10;
    assert_true(match_eval(&m, &ev));
    ev.tokens = 10.5;
    assert_false(match_eval(&m, &ev));
    match_free(&m);

    /* all four at once; >= and <= meet at one point */
    compile_ok(&m, "{\"cost_usd\": {\">\": 0.1, \">=\": 0.5, \"<\": 0.9, "
                   "\"<=\": 0.5}}");
    ev.has = EVENT_HAS_COST;
    ev.cost_usd = 0.5;
    assert_true(match_eval(&m, &ev));
    ev.cost_usd = 0.50001;
    assert_false(match_eval(&m, &ev));
    ev.cost_usd = 0.49999;
    assert_false(match_eval(&m, &ev));
    match_free(&m);

    /* negative and fractional operands */
    compile_ok(&m, "{\"cost_usd\": {\">\": -1.5}}");
    ev.cost_usd = 0;
    assert_true(match_eval(&m, &ev));
    match_free(&m);
}

static void test_metadata_eval(void **state)
{
    struct match m;
    struct event ev;

    (void)state;
    compile_ok(&m, "{\"metadata.team\": \"pay*\", \"metadata.region\": "
                   "\"eu-*\"}");
    assert_int_equal(meta.n, 2);
    assert_string_equal(meta.name[0], "team");
    assert_string_equal(meta.name[1], "region");
    ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_SUCCESS);
    snprintf(ev.meta[0], sizeof ev.meta[0], "%s", "payments");
    snprintf(ev.meta[1], sizeof ev.meta[1], "%s", "eu-west-1");
    assert_false(match_eval(&m, &ev)); /* present only with its bit */
    ev.meta_has = 1u;
    assert_false(match_eval(&m, &ev));
    ev.meta_has = 3u;
    assert_true(match_eval(&m, &ev));
    snprintf(ev.meta[1], sizeof ev.meta[1], "%s", "us-east-1");
    assert_false(match_eval(&m, &ev));
    /* present but empty is absent, as for every string field */
    ev.meta[0][0] = '\0';
    snprintf(ev.meta[1], sizeof ev.meta[1], "%s", "eu-central-1");
    assert_false(match_eval(&m, &ev));
    match_free(&m);
}

static void test_all_conditions(void **state)
{
    struct match m;
    struct event ev;

    (void)state;
    compile_ok(&m, "{\"completed\": true, \"tool_name\": \"db_*\", "
                   "\"execution_duration_ms\": {\">\": 5000}}");
    assert_int_equal(m.ncond, 3);
    ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_SUCCESS);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "db_query");
    ev.has = EVENT_HAS_DURATION;
    ev.duration_ms = 7000;
    assert_true(match_eval(&m, &ev));
    ev.type = EVENT_TOOL_CALL_REQUEST;
    assert_false(match_eval(&m, &ev));
    ev.type = EVENT_TOOL_CALL_ERROR;
    assert_true(match_eval(&m, &ev));
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "http_get");
    assert_false(match_eval(&m, &ev));
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "db_query");
    ev.duration_ms = 5000;
    assert_false(match_eval(&m, &ev));
    match_free(&m);
}

static void test_seen(void **state)
{
    struct match m, x, none;
    struct event ev;

    (void)state;
    compile_ok(&m, "{\"completed\": true}");
    compile_ok(&x, "{\"tool_name\": \"health_*\", \"error\": false}");
    match_init(&none);
    ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_SUCCESS);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "health_check");
    assert_false(match_seen(&m, &x, &ev)); /* excluded */
    assert_true(match_seen(&m, &none, &ev));
    assert_true(match_seen(&m, NULL, &ev));
    ev.status = EVENT_STATUS_ERROR; /* an error is not excluded */
    assert_true(match_seen(&m, &x, &ev));
    ev.status = EVENT_STATUS_SUCCESS;
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "db_query");
    assert_true(match_seen(&m, &x, &ev));
    ev.type = EVENT_TOOL_CALL_REQUEST;
    assert_false(match_seen(&m, &x, &ev));
    /* an empty match with an empty exclude sees everything */
    assert_true(match_seen(&none, &none, &ev));
    match_free(&m);
    match_free(&x);
}

/* The prefilter never leaves out an event that the rule sees, and
 * types_sure never claims a type on which the match can fail.  Every
 * match below is checked against every type, status and a few variants
 * of the other fields. */
static void test_prefilter_agrees(void **state)
{
    static const char *const matches[] = {
        "{}",
        "{\"completed\": true}",
        "{\"completed\": false}",
        "{\"error\": true}",
        "{\"error\": false}",
        "{\"event_type\": \"tool_call_re*\"}",
        "{\"event_type\": [\"agent_*\", \"tool_call_error\"]}",
        "{\"event_type\": \"*\"}",
        "{\"completed\": true, \"error\": false}",
        "{\"completed\": false, \"error\": false}",
        "{\"error\": true, \"event_type\": \"tool_call_response\"}",
        "{\"completed\": true, \"tool_name\": \"db_*\"}",
        "{\"response_status\": \"error\"}",
        "{\"response_status\": \"error\", \"completed\": true}",
        "{\"tool_name\": \"*\"}",
        "{\"cost_usd\": {\">\": 1}, \"error\": true}",
    };
    static const char *const tools[] = {"", "db_query", "http_get"};
    static const double costs[] = {-1, 0.5, 2};
    struct match all[sizeof matches / sizeof matches[0]];
    size_t n = sizeof matches / sizeof matches[0];
    struct event ev;

    (void)state;
    for (size_t i = 0; i < n; i++)
        compile_ok(&all[i], matches[i]);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            uint32_t seen = match_seen_types(&all[i], &all[k]);
            for (int t = 0; t <= EVENT_SESSION_END; t++) {
                int sure_holds = 1;
                for (int st = 0; st <= EVENT_STATUS_PENDING; st++)
                    for (size_t a = 0; a < 3; a++)
                        for (size_t c = 0; c < 3; c++) {
                            ev_init(&ev, (enum event_type)t,
                                    (enum event_status)st);
                            snprintf(ev.tool_name, sizeof ev.tool_name, "%s", tools[a]);
                            if (costs[c] >= 0) {
                                ev.has |= EVENT_HAS_COST;
                                ev.cost_usd = costs[c];
                            }
                            if (match_eval(&all[i], &ev) &&
                                !(all[i].types & MATCH_TYPE_BIT(t)))
                                fail_msg("%s: type %d left out", matches[i],
                                         t);
                            if (!match_eval(&all[i], &ev))
                                sure_holds = 0;
                            if (match_seen(&all[i], &all[k], &ev) &&
                                !(seen & MATCH_TYPE_BIT(t)))
                                fail_msg("%s minus %s: type %d left out",
                                         matches[i], matches[k], t);
                        }
                if ((all[i].types_sure & MATCH_TYPE_BIT(t)) && !sure_holds)
                    fail_msg("%s: type %d is not sure", matches[i], t);
            }
        }
    /* and the masks are as tight as the type conditions allow */
    assert_int_equal(all[1].types, 0x0c);
    assert_int_equal(all[1].types_sure, 0x0c);
    assert_int_equal(all[2].types, 0x33);
    assert_int_equal(all[3].types, 0x0c);
    assert_int_equal(all[3].types_sure, 0x08);
    assert_int_equal(all[4].types, 0x37);
    assert_int_equal(all[4].types_sure, 0x33);
    assert_int_equal(all[8].types, 0x04); /* responses only */
    assert_int_equal(all[8].types_sure, 0x00);
    assert_int_equal(all[9].types_sure, 0x33);
    assert_int_equal(all[10].types, 0x04);
    assert_int_equal(all[10].types_sure, 0x00);
    /* completed calls, less errors: responses only */
    assert_int_equal(match_seen_types(&all[1], &all[3]), 0x04);
    /* a conditional exclude narrows nothing */
    assert_int_equal(match_seen_types(&all[1], &all[11]), 0x0c);
    /* an empty exclude excludes nothing */
    assert_int_equal(match_seen_types(&all[1], &all[0]), 0x0c);
    for (size_t i = 0; i < n; i++)
        match_free(&all[i]);
}

/* ---- the dump ---- */

static char *dump_text(const struct match *m)
{
    cJSON *j;
    char *t;

    assert_int_equal(match_dump(m, &meta, &j), MATCH_OK);
    t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return t;
}

static void test_dump(void **state)
{
    struct match m, m2;
    char *a, *b;

    (void)state;
    compile_ok(&m,
               "{\"tool_name\": [\"Postgres_**\", \"MYSQL\"], "
               "\"event_type\": \"tool_call_*\", \"completed\": true, "
               "\"cost_usd\": {\"<=\": 2, \">\": 0.25}, "
               "\"metadata.team\": \"Pay*\", \"error\": false, "
               "\"agent_id\": [\"a?\"], \"tokens_consumed\": {\">=\": 1e3}}");
    a = dump_text(&m);
    assert_string_equal(a, "{\"tool_name\":[\"postgres_*\",\"mysql\"],"
                           "\"event_type\":\"tool_call_*\","
                           "\"completed\":true,"
                           "\"cost_usd\":{\">\":0.25,\"<=\":2},"
                           "\"metadata.team\":\"pay*\",\"error\":false,"
                           "\"agent_id\":\"a?\","
                           "\"tokens_consumed\":{\">=\":1000}}");
    compile_ok(&m2, a);
    b = dump_text(&m2);
    assert_string_equal(a, b);
    assert_int_equal(m2.types, m.types);
    assert_int_equal(m2.types_sure, m.types_sure);
    assert_int_equal(m2.nglob, m.nglob);
    cJSON_free(a);
    cJSON_free(b);
    match_free(&m);
    match_free(&m2);
    match_init(&m);
    a = dump_text(&m);
    assert_string_equal(a, "{}");
    cJSON_free(a);
    /* condition fields in the written order */
    compile_ok(&m, "{\"error\": true, \"tool_name\": \"x\"}");
    assert_int_equal(match_cond_field(&m, 0).id, MATCH_F_ERROR);
    assert_int_equal(match_cond_field(&m, 1).id, MATCH_F_TOOL_NAME);
    match_free(&m);
}

/* ---- errors ---- */

static void test_errors_shape(void **state)
{
    (void)state;
    expect_error("[1]", "rules[0].match: expected an object of field -> "
                        "condition, got [1]");
    expect_error("\"completed\"", "rules[0].match: expected an object of "
                                  "field -> condition, got \"completed\"");
    expect_error("{\"tool_nme\": \"x\"}", "rules[0].match.tool_nme: unknown "
                                          "field; did you mean tool_name?");
    expect_error("{\"tool_name\": \"a\", \"tool_name\": \"b\"}",
                 "rules[0].match.tool_name: duplicate key");
    /* contradictions between type conditions */
    expect_error("{\"event_type\": \"tool_call_request\", \"completed\": "
                 "true}",
                 "rules[0].match: no event can meet every condition "
                 "(event_type, completed and error contradict)");
    expect_error("{\"completed\": false, \"error\": true}",
                 "rules[0].match: no event can meet every condition "
                 "(event_type, completed and error contradict)");
    expect_error("{\"event_type\": \"tool_call_error\", \"error\": false}",
                 "rules[0].match: no event can meet every condition "
                 "(event_type, completed and error contradict)");
}

static void test_errors_strings(void **state)
{
    char json[512];

    (void)state;
    expect_error("{\"tool_name\": 5}",
                 "rules[0].match.tool_name: expected a glob or a list of 1 "
                 "to 64 globs (a string field), got 5");
    expect_error("{\"tool_name\": true}",
                 "rules[0].match.tool_name: expected a glob or a list of 1 "
                 "to 64 globs (a string field), got true");
    expect_error("{\"tool_name\": []}",
                 "rules[0].match.tool_name: expected a glob or a list of 1 "
                 "to 64 globs (a string field), got []");
    expect_error("{\"tool_name\": {\">\": 1}}",
                 "rules[0].match.tool_name: expected a glob or a list of 1 "
                 "to 64 globs (a string field), got {\">\":1}");
    expect_error("{\"tool_name\": \"\"}",
                 "rules[0].match.tool_name: expected a non-empty glob, "
                 "got \"\"");
    expect_error("{\"agent_id\": [\"a\", 7]}",
                 "rules[0].match.agent_id[1]: expected a non-empty glob, "
                 "got 7");
    expect_error("{\"agent_id\": [\"a\", \"\"]}",
                 "rules[0].match.agent_id[1]: expected a non-empty glob, "
                 "got \"\"");
    /* 128 bytes: fine; 129: refused */
    snprintf(json, sizeof json, "{\"tool_name\": \"%0128d\"}", 0);
    {
        struct match m;
        compile_ok(&m, json);
        match_free(&m);
    }
    snprintf(json, sizeof json, "{\"tool_name\": \"%0129d\"}", 0);
    expect_error(json, "rules[0].match.tool_name: expected a glob of at most "
                       "128 bytes, got \"00000000000000000000000000000000"
                       "000000000000000...");
    /* 64 globs: fine; 65: refused */
    {
        size_t k = (size_t)snprintf(json, sizeof json, "{\"tool_name\": [");
        struct match m;
        for (int i = 0; i < 64; i++)
            k += (size_t)snprintf(json + k, sizeof json - k, "%s\"t%d\"",
                                  i ? "," : "", i);
        snprintf(json + k, sizeof json - k, "]}");
        compile_ok(&m, json);
        assert_int_equal(m.nglob, 64);
        match_free(&m);
        snprintf(json + k, sizeof json - k, ",\"x\"]}");
        expect_error(json, "rules[0].match.tool_name: expected a glob or a "
                           "list of 1 to 64 globs (a string field), got "
                           "[\"t0\",\"t1\",\"t2\",\"t3\",\"t4\",\"t5\",\"t6\","
                           "\"t7\",\"t8\",\"t...");
    }
}

static void test_errors_enums(void **state)
{
    (void)state;
    expect_error("{\"event_type\": \"tool_call_requests\"}",
                 "rules[0].match.event_type: \"tool_call_requests\" matches "
                 "no event type; did you mean tool_call_request?");
    expect_error("{\"event_type\": [\"tool_call_error\", \"session_*\"]}",
                 "rules[0].match.event_type[1]: \"session_*\" matches no "
                 "event type (tool_call_request, tool_call_response, "
                 "tool_call_error, agent_session_start, agent_session_end)");
    expect_error("{\"response_status\": \"sucess\"}",
                 "rules[0].match.response_status: \"sucess\" matches no "
                 "response status; did you mean success?");
    expect_error("{\"response_status\": \"failed\"}",
                 "rules[0].match.response_status: \"failed\" matches no "
                 "response status (success, error, pending)");
    expect_error("{\"event_type\": 1}",
                 "rules[0].match.event_type: expected a glob or a list of 1 "
                 "to 64 globs (a string field), got 1");
}

static void test_errors_numbers(void **state)
{
    static const char want[] =
        "rules[0].match.cost_usd: expected an object of comparisons such "
        "as {\">\": 100} (\">\", \">=\", \"<\", \"<=\"; all must hold), got ";
    char msg[512];

    (void)state;
    snprintf(msg, sizeof msg, "%s5", want);
    expect_error("{\"cost_usd\": 5}", msg);
    snprintf(msg, sizeof msg, "%s{}", want);
    expect_error("{\"cost_usd\": {}}", msg);
    snprintf(msg, sizeof msg, "%s\">5\"", want);
    expect_error("{\"cost_usd\": \">5\"}", msg);
    snprintf(msg, sizeof msg, "%s[1]", want);
    expect_error("{\"cost_usd\": [1]}", msg);
    expect_error("{\"cost_usd\": {\"=>\": 5}}",
                 "rules[0].match.cost_usd.=>: unknown comparison; expected "
                 "\">\", \">=\", \"<\" or \"<=\"");
    expect_error("{\"cost_usd\": {\"==\": 5}}",
                 "rules[0].match.cost_usd.==: unknown comparison; expected "
                 "\">\", \">=\", \"<\" or \"<=\"");
    expect_error("{\"cost_usd\": {\">\": 1, \">\": 2}}",
                 "rules[0].match.cost_usd.>: duplicate key");
    expect_error("{\"cost_usd\": {\">\": \"5\"}}",
                 "rules[0].match.cost_usd.>: expected a number, got \"5\"");
    expect_error("{\"cost_usd\": {\">\": null}}",
                 "rules[0].match.cost_usd.>: expected a number, got null");
    expect_error("{\"cost_usd\": {\"<\": 1e999}}",
                 "rules[0].match.cost_usd.<: expected a number, got null");
    expect_error("{\"cost_usd\": {\">\": 10, \"<\": 5}}",
                 "rules[0].match.cost_usd: no number meets every comparison");
    expect_error("{\"cost_usd\": {\">\": 5, \"<=\": 5}}",
                 "rules[0].match.cost_usd: no number meets every comparison");
    expect_error("{\"cost_usd\": {\">=\": 5, \"<\": 5}}",
                 "rules[0].match.cost_usd: no number meets every comparison");
    expect_error("{\"cost_usd\": {\">=\": 5, \">\": 5, \"<=\": 5}}",
                 "rules[0].match.cost_usd: no number meets every comparison");
    expect_error("{\"execution_duration_ms\": true}",
                 "rules[0].match.execution_duration_ms: expected an object "
                 "of comparisons such as {\">\": 100} (\">\", \">=\", \"<\", "
                 "\"<=\"; all must hold), got true");
}

/* match_compile_errs() on json: its list must be exactly want[0 .. n-1];
 * match_compile() gives the first. */
static void expect_errors(const char *json, const char *const *want,
                          unsigned n)
{
    static char msgs[TABLE_ERRS_MAX][TABLE_ERR_MAX];
    struct table_errs errs;
    struct match m;
    cJSON *j = cJSON_Parse(json);

    assert_non_null(j);
    match_init(&m);
    table_errs_init(&errs, msgs, TABLE_ERRS_MAX);
    assert_int_equal(match_compile_errs(&m, j, "rules[0].match", &meta,
                                        &errs),
                     MATCH_EINVAL);
    cJSON_Delete(j);
    assert_null(m.cond);
    if (table_errs_count(&errs) != n)
        for (unsigned i = 0; i < table_errs_kept(&errs); i++)
            print_message("got [%u] %s\n", i, table_errs_at(&errs, i));
    assert_int_equal(table_errs_count(&errs), n);
    for (unsigned i = 0; i < n; i++)
        assert_string_equal(table_errs_at(&errs, i), want[i]);
    expect_error(json, want[0]);
}

#define EXPECT_ERRORS(json, ...)                                            \
    do {                                                                    \
        static const char *const w_[] = {__VA_ARGS__};                      \
        expect_errors(json, w_, sizeof w_ / sizeof w_[0]);                  \
    } while (0)

/* Each bad comparison of a number condition; the comparisons are not
 * checked against each other while one is bad (no cascade). */
static void test_errors_numbers_every(void **state)
{
    (void)state;
    EXPECT_ERRORS("{\"cost_usd\": {\">\": \"x\", \"<\": true}}",
                  "rules[0].match.cost_usd.>: expected a number, got \"x\"",
                  "rules[0].match.cost_usd.<: expected a number, got true");
    EXPECT_ERRORS("{\"cost_usd\": {\"=>\": 5, \">\": 1, \">\": 2, "
                  "\"<\": null, \"<=\": 0},"
                  " \"execution_duration_ms\": {\"==\": 1, \"<\": 10}}",
                  "rules[0].match.cost_usd.=>: unknown comparison; expected "
                  "\">\", \">=\", \"<\" or \"<=\"",
                  "rules[0].match.cost_usd.>: duplicate key",
                  "rules[0].match.cost_usd.<: expected a number, got null",
                  "rules[0].match.execution_duration_ms.==: unknown "
                  "comparison; expected \">\", \">=\", \"<\" or \"<=\"");
    /* good comparisons beside a bad one: no "no number meets" */
    EXPECT_ERRORS("{\"cost_usd\": {\">\": 10, \"<\": 5, \">=\": \"1\"}}",
                  "rules[0].match.cost_usd.>=: expected a number, got "
                  "\"1\"");
}

static void test_errors_booleans(void **state)
{
    (void)state;
    expect_error("{\"completed\": \"true\"}",
                 "rules[0].match.completed: expected true or false, got "
                 "\"true\"");
    expect_error("{\"error\": 1}",
                 "rules[0].match.error: expected true or false, got 1");
    expect_error("{\"completed\": [true]}",
                 "rules[0].match.completed: expected true or false, got "
                 "[true]");
}

/* A refused match leaves no memory behind and its later conditions
 * unread; more members than a match can hold are refused without a
 * larger allocation (ASan would see an overrun). */
static void test_errors_many_members(void **state)
{
    char json[4096];
    size_t k = 0;

    (void)state;
    k += (size_t)snprintf(json + k, sizeof json - k, "{");
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(json + k, sizeof json - k,
                              "%s\"metadata.k%d\": [\"a\", \"b\"]",
                              i ? ", " : "", i);
    snprintf(json + k, sizeof json - k, "}");
    expect_error(json, "rules[0].match.metadata.k8: at most 8 metadata "
                       "names in all rules (in use: k0, k1, k2, k3, k4, "
                       "k5, k6, k7)");
}

/* Evaluation allocates nothing: under AddressSanitizer a malloc hook
 * (alloc_hook.h) counts the allocations made while every kind of
 * condition is evaluated (the memcheck build has no hook and only runs the
 * evaluations). */
static void test_no_allocation(void **state)
{
    struct match m, x;
    struct event ev;
    unsigned long seen = 0;

    (void)state;
    compile_ok(&m, "{\"completed\": true, \"tool_name\": [\"db_*\", "
                   "\"*a?c*\"], \"event_type\": \"tool_call_*\", "
                   "\"metadata.env\": \"p*\", "
                   "\"cost_usd\": {\">\": 0.1, \"<=\": 9}, \"error\": false}");
    compile_ok(&x, "{\"agent_id\": \"ci-*\"}");
    ev_init(&ev, EVENT_TOOL_CALL_RESPONSE, EVENT_STATUS_SUCCESS);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "xxabcxx");
    snprintf(ev.agent_id, sizeof ev.agent_id, "%s", "agent-1");
    snprintf(ev.meta[0], sizeof ev.meta[0], "%s", "prod");
    ev.meta_has = 1;
    ev.has = EVENT_HAS_COST;
    ev.cost_usd = 1;
    mallocs = 0;
    hook_on();
    for (int i = 0; i < 10000; i++) {
        ev.cost_usd = (i % 20) * 0.5;
        seen += (unsigned long)match_seen(&m, &x, &ev);
    }
    hook_off();
    assert_int_equal(mallocs, 0);
    assert_int_equal(seen, 9000);
#if defined(__SANITIZE_ADDRESS__)
    /* and the hook does see an allocation */
    {
        void *volatile p;
        hook_on();
        p = malloc(16);
        hook_off();
        free(p);
    }
    assert_int_equal(mallocs, 1);
#endif /* cost 0 and > 9 are out */
    match_free(&m);
    match_free(&x);
}

static void test_sizes(void **state)
{
    (void)state;
    /* the figures in match.h's memory note */
    assert_int_equal(sizeof(struct match), 32);
    assert_int_equal(sizeof(struct glob), 133);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
    const struct CMUnitTest tests[] = {
        T(test_fields),
        T(test_metadata_slots),
        T(test_metadata_names),
        T(test_unknown_fields),
        T(test_empty_match),
        T(test_string_fields),
        T(test_glob_lists),
        T(test_event_type_and_status),
        T(test_booleans),
        T(test_numbers),
        T(test_metadata_eval),
        T(test_all_conditions),
        T(test_seen),
        T(test_prefilter_agrees),
        T(test_dump),
        T(test_errors_shape),
        T(test_errors_strings),
        T(test_errors_enums),
        T(test_errors_numbers),
        T(test_errors_numbers_every),
        T(test_errors_booleans),
        T(test_errors_many_members),
        T(test_no_allocation),
        T(test_sizes),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
