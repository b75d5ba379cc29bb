/*
 * test_index.c - the index of rules by the exact values their match
 * requires: which condition a match offers (match_exact_values), lookups
 * without regard to ASCII case, rules past the first word of the set, the
 * field limit, growth to thousands of values, soundness against
 * match_eval over seeded random matches and events (a rule the index
 * leaves out never meets its match), and the engine feeding indexed and
 * unindexed rules in the set's order with the same alerts.
 */
#include "det_helpers.h"

#include "detectors/index.h"
#include "detectors/match.h"

static struct match_meta meta;

static void compile(struct match *m, const char *json)
{
    char text[1024], err[256];
    cJSON *j;
    size_t i;

    for (i = 0; json[i] != '\0' && i + 1 < sizeof text; i++)
        text[i] = json[i] == '\'' ? '"' : json[i];
    text[i] = '\0';
    if ((j = cJSON_Parse(text)) == NULL)
        fail_msg("test JSON does not parse: %s", text);
    match_init(m);
    if (match_compile(m, j, "rules[0].match", &meta, err, sizeof err) !=
        MATCH_OK)
        fail_msg("%s: %s", text, err);
    cJSON_Delete(j);
}

static struct event ev_of(const char *tool, const char *category)
{
    struct event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = EVENT_TOOL_CALL_RESPONSE;
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", tool);
    snprintf(ev.tool_category, sizeof ev.tool_category, "%s", category);
    return ev;
}

static struct det_rset look(const det_index *x, const struct event *ev)
{
    struct det_rset s = {{0}};

    det_index_lookup(x, ev, &s);
    return s;
}

static void test_exact_values(void **state)
{
    struct match m;
    struct match_field f;
    const char *lit[8];

    (void)state;
    /* the condition with the fewest exact values is offered */
    compile(&m, "{'completed':true,'tool_name':['A','b','c'],"
                "'tool_category':['Secrets','http']}");
    assert_int_equal(match_exact_values(&m, &f, lit, 8), 2);
    assert_int_equal(f.id, MATCH_F_TOOL_CATEGORY);
    assert_string_equal(lit[0], "secrets"); /* lower-cased */
    assert_string_equal(lit[1], "http");
    /* at most `max` values */
    assert_int_equal(match_exact_values(&m, &f, lit, 1), 0);
    match_free(&m);
    /* a wildcard in a list leaves that condition out */
    compile(&m, "{'tool_name':['vault_read','http_*'],'agent_id':'bot-7'}");
    assert_int_equal(match_exact_values(&m, &f, lit, 8), 1);
    assert_int_equal(f.id, MATCH_F_AGENT_ID);
    assert_string_equal(lit[0], "bot-7");
    match_free(&m);
    compile(&m, "{'tool_name':'vault?read'}");
    assert_int_equal(match_exact_values(&m, &f, lit, 8), 0);
    match_free(&m);
    /* the type prefilter has event_type and response_status */
    compile(&m, "{'event_type':'tool_call_error','response_status':'error'}");
    assert_int_equal(match_exact_values(&m, &f, lit, 8), 0);
    match_free(&m);
    compile(&m, "{'metadata.env':'prod','cost_usd':{'>':1}}");
    assert_int_equal(match_exact_values(&m, &f, lit, 8), 1);
    assert_int_equal(f.id, MATCH_F_META);
    assert_string_equal(lit[0], "prod");
    match_free(&m);
    /* the empty match offers nothing */
    match_init(&m);
    assert_int_equal(match_exact_values(&m, &f, lit, 8), 0);
}

static void test_lookup_case_and_words(void **state)
{
    det_index *x = det_index_create();
    struct match_field tool = {MATCH_F_TOOL_NAME, 0};
    struct match_field cat = {MATCH_F_TOOL_CATEGORY, 0};
    const char *a[] = {"Postgres_Query", "vault"}, *b[] = {"vault"},
               *c[] = {"secrets"};
    struct event ev;
    struct det_rset s;

    (void)state;
    assert_non_null(x);
    assert_int_equal(det_index_fields(x), 0);
    assert_int_equal(det_index_add(x, tool, a, 2, 3), DET_INDEX_OK);
    assert_int_equal(det_index_add(x, tool, b, 1, 200), DET_INDEX_OK);
    assert_int_equal(det_index_add(x, cat, c, 1, 64), DET_INDEX_OK);
    assert_int_equal(det_index_fields(x), 2);
    assert_int_equal(det_index_add(x, tool, b, 0, 1), DET_INDEX_EINVAL);
    assert_int_equal(det_index_add(x, tool, b, 1, DET_RULES_MAX),
                     DET_INDEX_EINVAL);

    ev = ev_of("POSTGRES_query", "");
    s = look(x, &ev);
    assert_true(det_rset_has(&s, 3));
    assert_false(det_rset_has(&s, 200));
    assert_int_equal(s.w[0], 1u << 3);
    assert_int_equal(s.w[1] | s.w[2] | s.w[3], 0);

    ev = ev_of("Vault", "SECRETS");
    s = look(x, &ev);
    assert_int_equal(s.w[0], 1u << 3);
    assert_int_equal(s.w[1], 1); /* rule 64 */
    assert_int_equal(s.w[2], 0);
    assert_int_equal(s.w[3], (uint64_t)1 << (200 - 192));

    /* a prefix, a longer value, a missing field: nothing */
    ev = ev_of("postgres_quer", "");
    assert_int_equal(look(x, &ev).w[0], 0);
    ev = ev_of("vaults", "secret");
    s = look(x, &ev);
    assert_int_equal(s.w[0] | s.w[1] | s.w[2] | s.w[3], 0);
    ev = ev_of("", "");
    s = look(x, &ev);
    assert_int_equal(s.w[0] | s.w[1] | s.w[2] | s.w[3], 0);
    /* bytes outside ASCII compare as they are */
    {
        const char *u[] = {"caf\xc3\xa9"};
        assert_int_equal(det_index_add(x, tool, u, 1, 9), DET_INDEX_OK);
        ev = ev_of("CAF\xc3\xa9", "");
        assert_int_equal(look(x, &ev).w[0], 1u << 9);
        ev = ev_of("caf\xc3\x89", "");
        assert_int_equal(look(x, &ev).w[0], 0);
    }
    det_index_destroy(x);
    det_index_destroy(NULL);
}

static void test_field_limit(void **state)
{
    det_index *x = det_index_create();
    const char *v[] = {"v"};
    struct match_field f;

    (void)state;
    for (unsigned i = 0; i < DET_INDEX_FIELDS; i++) {
        f.id = MATCH_F_META;
        f.slot = (uint8_t)i;
        assert_int_equal(det_index_add(x, f, v, 1, i), DET_INDEX_OK);
    }
    f.id = MATCH_F_TOOL_NAME;
    f.slot = 0;
    assert_int_equal(det_index_add(x, f, v, 1, 20), DET_INDEX_EFULL);
    assert_int_equal(det_index_fields(x), DET_INDEX_FIELDS);
    /* a field already in takes more values */
    f.id = MATCH_F_META;
    f.slot = 2;
    assert_int_equal(det_index_add(x, f, v, 1, 21), DET_INDEX_OK);
    {
        struct event ev = ev_of("", "");
        struct det_rset s = {{0}};

        ev.meta_has = 1u << 2;
        snprintf(ev.meta[2], sizeof ev.meta[2], "V");
        det_index_lookup(x, &ev, &s);
        assert_int_equal(s.w[0], (1u << 2) | (1u << 21));
    }
    det_index_destroy(x);
}

/* 5000 values under one field (the table grows and rehashes): each finds
 * exactly its own rule. */
static void test_growth(void **state)
{
    det_index *x = det_index_create();
    struct match_field f = {MATCH_F_TOOL_NAME, 0};
    char name[32];
    const char *p = name;

    (void)state;
    for (unsigned i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "Tool-%u", i);
        assert_int_equal(det_index_add(x, f, &p, 1, i % DET_RULES_MAX),
                         DET_INDEX_OK);
    }
    for (unsigned i = 0; i < 5000; i++) {
        struct event ev;
        struct det_rset s;
        unsigned set = 0;

        snprintf(name, sizeof name, "TOOL-%u", i);
        ev = ev_of(name, "");
        s = look(x, &ev);
        for (unsigned r = 0; r < DET_RULES_MAX; r++)
            set += (unsigned)det_rset_has(&s, r);
        /* the values i, i + 256, ... share rule i % 256 */
        assert_int_equal(set, 1);
        assert_true(det_rset_has(&s, i % DET_RULES_MAX));
    }
    det_index_destroy(x);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned pick(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Seeded random matches over a small alphabet of values, written in
 * mixed case, with globs or exact values; every random event the match
 * accepts is let through by the index, and an event the index leaves
 * out is refused by the match. */
static void test_sound_against_match(void **state)
{
    static const char *vals[] = {"db", "DB", "http", "Http_Post", "vault",
                                 "x", "db*", "*ttp*", "v?ult", "http_post"};
    static const char *fields[] = {"tool_name", "tool_category"};
    enum { RULES = 100, EVENTS = 4000 };
    struct match m[RULES];
    det_index *x = det_index_create();
    int indexed = 0, admitted = 0, met = 0;

    (void)state;
    for (int i = 0; i < RULES; i++) {
        char json[512];
        size_t n = 0;
        const char *lit[MATCH_GLOBS_MAX];
        struct match_field f;
        uint32_t nlit;

        n += (size_t)snprintf(json + n, sizeof json - n, "{");
        for (int k = 0; k < 2; k++) {
            unsigned nv = pick(4);

            if (nv == 0)
                continue;
            n += (size_t)snprintf(json + n, sizeof json - n, "%s'%s':[",
                                  n > 1 ? "," : "", fields[k]);
            for (unsigned j = 0; j < nv; j++)
                n += (size_t)snprintf(json + n, sizeof json - n, "%s'%s'",
                                      j ? "," : "", vals[pick(10)]);
            n += (size_t)snprintf(json + n, sizeof json - n, "]");
        }
        snprintf(json + n, sizeof json - n, "}");
        compile(&m[i], json);
        nlit = match_exact_values(&m[i], &f, lit, MATCH_GLOBS_MAX);
        if (nlit > 0) {
            assert_int_equal(det_index_add(x, f, lit, nlit, (uint32_t)i),
                             DET_INDEX_OK);
            indexed++;
        }
    }
    for (int k = 0; k < EVENTS; k++) {
        static const char *ev_vals[] = {"db", "Db", "DB", "http", "HTTP",
                                        "http_post", "HTTP_POST", "vault",
                                        "vAult", "x", "dbx", ""};
        struct event ev = ev_of(ev_vals[pick(12)], ev_vals[pick(12)]);
        struct det_rset s = look(x, &ev);

        for (int i = 0; i < RULES; i++) {
            struct match_field f;
            const char *lit[MATCH_GLOBS_MAX];
            int in_ix = match_exact_values(&m[i], &f, lit, MATCH_GLOBS_MAX) > 0;
            int ok = match_eval(&m[i], &ev);

            if (ok)
                met++;
            if (!in_ix)
                continue;
            if (ok)
                assert_true(det_rset_has(&s, (uint32_t)i));
            admitted += det_rset_has(&s, (uint32_t)i);
        }
    }
    /* the case is not empty: many rules indexed, the index lets through
     * far fewer events than it is offered, and matches were met */
    assert_true(indexed > RULES / 3);
    assert_true(met > EVENTS);
    assert_true(admitted < indexed * EVENTS / 2);
    for (int i = 0; i < RULES; i++)
        match_free(&m[i]);
    det_index_destroy(x);
}

/* The engine with indexed rules (exact tool names or categories) among
 * unindexed ones: each sees exactly its events, and alerts come in the
 * rule set's order for one event. */
#define MIXED                                                              \
    "[{'name':'glob','kind':'count','severity':'warning',"                 \
    "'match':{'tool_name':'del_*'},'group_by':['tool_name'],"              \
    "'window_s':60,'threshold':2},"                                        \
    "{'name':'exact','kind':'count','severity':'warning',"                 \
    "'match':{'tool_name':['DEL_RECORDS','drop_table']},"                  \
    "'group_by':['tool_name'],'window_s':60,'threshold':2},"               \
    "{'name':'cat','kind':'count','severity':'warning',"                   \
    "'match':{'tool_category':'Database','completed':true},"               \
    "'exclude':{'tool_name':'drop_table'},'group_by':[],"                  \
    "'window_s':60,'threshold':2},"                                        \
    "{'name':'all','kind':'count','severity':'warning',"                   \
    "'group_by':['tool_name'],'window_s':60,'threshold':2}]"

static struct event call(int64_t ms, const char *tool, const char *cat)
{
    struct event ev = ev_call(ms, tool, "a");

    snprintf(ev.tool_category, sizeof ev.tool_category, "%s", cat);
    return ev;
}

static void test_engine_order_and_scope(void **state)
{
    static struct cap c;
    det_engine *e = eng_json(&c, MIXED, NULL);

    (void)state;
    /* three calls of del_records (database): every rule fires at the 3rd,
     * in the set's order */
    for (int i = 0; i < 3; i++)
        feed(e, call(i * SEC, "del_records", "database"));
    assert_int_equal(c.n, 4);
    assert_string_equal(c.a[0].rule, "glob");
    assert_string_equal(c.a[1].rule, "exact");
    assert_string_equal(c.a[2].rule, "cat");
    assert_string_equal(c.a[3].rule, "all");
    /* drop_table: `exact` and `all` count it, `cat` excludes it, `glob`
     * does not match */
    for (int i = 0; i < 3; i++)
        feed(e, call((3 + i) * SEC, "Drop_Table", "DATABASE"));
    assert_int_equal(c.n, 6);
    assert_string_equal(c.a[4].rule, "exact");
    assert_string_equal(c.a[4].key, "Drop_Table");
    assert_string_equal(c.a[5].rule, "all");
    /* another category and tool: only `all` */
    for (int i = 0; i < 3; i++)
        feed(e, call((6 + i) * SEC, "http_post", "http"));
    assert_int_equal(c.n, 7);
    assert_string_equal(c.a[6].rule, "all");
    assert_int_equal(rinfo(e, "exact").open, 2);
    assert_int_equal(rinfo(e, "cat").open, 1);
    eng_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_values),
        cmocka_unit_test(test_lookup_case_and_words),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_sound_against_match),
        cmocka_unit_test(test_engine_order_and_scope),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
