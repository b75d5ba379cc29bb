/*
 * test_rule.c - the rules list: the six default rules (compiled, dumped to
 * the expected JSON), a minimal rule of every kind with its defaults, every
 * required key of every kind, keys of another kind, misspelt keys, kinds
 * and fields, every range at its edges, group_by, labels, texts,
 * overrides, steps, numerator, the engine-wide settings a rule may set,
 * the prefilter, the limits of the list, and the dump (parse -> dump ->
 * parse gives the same dump), each error with its exact message.
 *
 * Rules are written with ' for " to keep them readable (q()).
 */
#include "detectors/rule.h"
#include "base/table.h"
#include "model/severity.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct rule_set *set;
static char err[1024];

/* The text with every ' turned into ", in one of a few rotating buffers. */
static const char *q(const char *s)
{
    static char bufs[4][32768];
    static int next;
    char *b = bufs[next++ % 4];
    size_t n = strlen(s);

    assert_true(n < sizeof bufs[0]);
    for (size_t i = 0; i <= n; i++)
        b[i] = s[i] == '\'' ? '"' : s[i];
    return b;
}

static int compile_json(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    int rc;

    if (j == NULL)
        fail_msg("test JSON does not parse: %s", json);
    rule_set_destroy(set);
    set = NULL;
    err[0] = '\0';
    rc = rule_set_compile(&set, j, "rules", err, sizeof err);
    cJSON_Delete(j);
    if (rc != RULE_OK)
        assert_null(set);
    return rc;
}

/* Compile the rules (with ' for "), which must be accepted. */
static void ok(const char *rules)
{
    if (compile_json(q(rules)) != RULE_OK)
        fail_msg("%s: %s", q(rules), err);
}

static void expect_error(const char *rules, const char *msg)
{
    assert_int_equal(compile_json(q(rules)), RULE_EINVAL);
    assert_string_equal(err, q(msg));
}

static char *dump_set(const struct rule_set *s)
{
    cJSON *j;
    char *t;

    assert_int_equal(rule_set_dump(s, &j), RULE_OK);
    t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return t;
}

/* parse -> dump -> parse -> dump: the same text; returns the dump. */
static char *round_trip(void)
{
    char *a = dump_set(set), *b;

    if (compile_json(a) != RULE_OK)
        fail_msg("the dump does not compile: %s\n%s", err, a);
    b = dump_set(set);
    assert_string_equal(a, b);
    cJSON_free(b);
    return a;
}

static void expect_dump(const char *rules, const char *want)
{
    char *d;

    ok(rules);
    d = round_trip();
    assert_string_equal(d, q(want));
    cJSON_free(d);
}

static int teardown(void **state)
{
    (void)state;
    rule_set_destroy(set);
    set = NULL;
    return 0;
}

/* A rule of kind k with its required keys (for the error tests). */
#define BASE "'name': 'r', 'severity': 'warning', "

/* ---- the default rules ---- */

static void test_defaults(void **state)
{
    static const char want[] =
        "["
        "{'name':'volume','kind':'count','severity':'warning',"
        "'match':{'completed':true},'group_by':['tool_name'],"
        "'window_s':60,'threshold':100},"
        "{'name':'payload_size','kind':'max','severity':'warning',"
        "'match':{'completed':true},'group_by':['tool_name'],"
        "'field':'response_payload_size_bytes','threshold':1000000,"
        "'window_s':300},"
        "{'name':'latency','kind':'max','severity':'warning',"
        "'match':{'completed':true},'group_by':['tool_name'],"
        "'field':'execution_duration_ms','threshold':5000,'window_s':300},"
        "{'name':'error_rate','kind':'ratio','severity':'error',"
        "'match':{'completed':true},'group_by':['tool_name'],"
        "'numerator':{'error':true},'window_s':60,'threshold':0.2,"
        "'min_count':10},"
        "{'name':'credential_access','kind':'count','severity':'critical',"
        "'match':{'completed':true,'tool_name':['*credential*','*secret*',"
        "'*password*','*token*','*apikey*','*auth*']},"
        "'group_by':['agent_id'],'window_s':3600,'threshold':50},"
        "{'name':'stream_stalled','kind':'absence','severity':'critical',"
        "'group_by':[],'threshold':120}"
        "]";
    const struct rule *r;
    char *d;

    (void)state;
    assert_int_equal(rule_set_defaults(&set, err, sizeof err), RULE_OK);
    assert_int_equal(set->n, 6);
    assert_int_equal(set->meta.n, 0);
    d = dump_set(set);
    assert_string_equal(d, q(want));
    cJSON_free(d);
    /* the text compiles to the same rules */
    assert_int_equal(compile_json(rule_defaults_json()), RULE_OK);
    d = round_trip();
    assert_string_equal(d, q(want));
    cJSON_free(d);

    r = rule_set_find(set, "volume");
    assert_non_null(r);
    assert_int_equal(r->kind, RULE_K_COUNT);
    assert_int_equal(r->severity, SEVERITY_WARNING);
    assert_int_equal(r->ngroup, 1);
    assert_int_equal(r->group_by[0].id, MATCH_F_TOOL_NAME);
    assert_int_equal(r->p.window_s, 60);
    assert_true(r->p.threshold == 100);
    assert_true(isnan(r->p.clear_threshold));
    assert_int_equal(r->types, MATCH_TYPE_BIT(EVENT_TOOL_CALL_RESPONSE) |
                                   MATCH_TYPE_BIT(EVENT_TOOL_CALL_ERROR));
    assert_int_equal(r->hold_s, -1);
    assert_int_equal(r->repeat_interval_s, -1);
    assert_int_equal(r->max_keys, -1);
    assert_string_equal(r->description, "");
    assert_int_equal(r->nlabels, 0);
    assert_null(r->labels);
    assert_int_equal(r->noverrides, 0);

    r = rule_set_find(set, "payload_size");
    assert_int_equal(r->kind, RULE_K_MAX);
    assert_true(r->p.has_field);
    assert_int_equal(r->p.field.id, MATCH_F_PAYLOAD);
    assert_true(r->p.threshold == 1000000);
    r = rule_set_find(set, "latency");
    assert_int_equal(r->p.field.id, MATCH_F_DURATION);
    r = rule_set_find(set, "error_rate");
    assert_int_equal(r->kind, RULE_K_RATIO);
    assert_int_equal(r->severity, SEVERITY_ERROR);
    assert_int_equal(r->p.min_count, 10);
    assert_true(r->p.threshold == 0.2);
    assert_int_equal(r->p.numerator.ncond, 1);
    r = rule_set_find(set, "credential_access");
    assert_int_equal(r->severity, SEVERITY_CRITICAL);
    assert_int_equal(r->match.nglob, 6);
    assert_int_equal(r->group_by[0].id, MATCH_F_AGENT_ID);
    assert_int_equal(r->p.window_s, 3600);
    r = rule_set_find(set, "stream_stalled");
    assert_int_equal(r->kind, RULE_K_ABSENCE);
    assert_int_equal(r->ngroup, 0);
    assert_true(r->p.threshold == 120);
    assert_int_equal(r->types, MATCH_TYPES_ALL);
    assert_null(rule_set_find(set, "nope"));
}

/* ---- every kind, minimal, with its defaults ---- */

static void test_kinds_minimal(void **state)
{
    const struct rule *r;

    (void)state;
    assert_int_equal(RULE_KINDS, 9);
    assert_int_equal(rule_kind_find("count"), RULE_K_COUNT);
    assert_int_equal(rule_kind_find("absence"), RULE_K_ABSENCE);
    assert_int_equal(rule_kind_find("Count"), -1);

    expect_dump("[{'name':'c','kind':'count','severity':'info',"
                "'window_s':10,'threshold':0}]",
                "[{'name':'c','kind':'count','severity':'info',"
                "'group_by':[],'window_s':10,'threshold':0}]");
    r = &set->rules[0];
    assert_int_equal(r->ngroup, 0);
    assert_int_equal(r->match.ncond, 0);
    assert_int_equal(r->types, MATCH_TYPES_ALL);

    expect_dump("[{'name':'s','kind':'sum','severity':'warning',"
                "'field':'cost_usd','window_s':3600,'threshold':25.5}]",
                "[{'name':'s','kind':'sum','severity':'warning',"
                "'group_by':[],'field':'cost_usd','window_s':3600,"
                "'threshold':25.5}]");

    expect_dump("[{'name':'r','kind':'ratio','severity':'error',"
                "'numerator':{'error':true},'window_s':60,'threshold':0.5}]",
                "[{'name':'r','kind':'ratio','severity':'error',"
                "'group_by':[],'numerator':{'error':true},'window_s':60,"
                "'threshold':0.5,'min_count':10}]");
    assert_int_equal(set->rules[0].p.min_count, 10);

    expect_dump("[{'name':'d','kind':'distinct','severity':'warning',"
                "'field':'tool_name','group_by':['agent_id'],"
                "'window_s':600,'threshold':20}]",
                "[{'name':'d','kind':'distinct','severity':'warning',"
                "'group_by':['agent_id'],'field':'tool_name',"
                "'window_s':600,'threshold':20}]");

    expect_dump("[{'name':'m','kind':'max','severity':'warning',"
                "'field':'tokens_consumed','threshold':100000}]",
                "[{'name':'m','kind':'max','severity':'warning',"
                "'group_by':[],'field':'tokens_consumed',"
                "'threshold':100000,'window_s':300}]");
    assert_int_equal(set->rules[0].p.window_s, 300);

    expect_dump("[{'name':'q','kind':'sequence','severity':'critical',"
                "'group_by':['session_id'],'within_s':600,"
                "'steps':[{'tool_name':'*secret*'},"
                "{'tool_name':'http_*','downstream_system':'external*'}]}]",
                "[{'name':'q','kind':'sequence','severity':'critical',"
                "'group_by':['session_id'],'steps':[{'tool_name':'*secret*'},"
                "{'tool_name':'http_*','downstream_system':'external*'}],"
                "'within_s':600,'window_s':300}]");
    r = &set->rules[0];
    assert_int_equal(r->p.nsteps, 2);
    assert_int_equal(r->p.within_s, 600);

    expect_dump("[{'name':'n','kind':'new_value','severity':'info',"
                "'field':'downstream_system','group_by':['agent_id'],"
                "'learn_s':86400}]",
                "[{'name':'n','kind':'new_value','severity':'info',"
                "'group_by':['agent_id'],'field':'downstream_system',"
                "'learn_s':86400,'max_values':1000,'window_s':300}]");
    r = &set->rules[0];
    assert_int_equal(r->p.max_values, 1000);

    expect_dump("[{'name':'b','kind':'baseline','severity':'warning',"
                "'bucket_s':300}]",
                "[{'name':'b','kind':'baseline','severity':'warning',"
                "'group_by':[],'bucket_s':300,'history':60,'deviation':6,"
                "'min_value':1}]");
    r = &set->rules[0];
    assert_false(r->p.has_field);
    assert_int_equal(r->p.history, 60);
    assert_true(r->p.deviation == 6);
    assert_true(r->p.min_value == 1);
    expect_dump("[{'name':'b','kind':'baseline','severity':'warning',"
                "'bucket_s':60,'field':'cost_usd','history':3,"
                "'deviation':0.1,'min_value':0}]",
                "[{'name':'b','kind':'baseline','severity':'warning',"
                "'group_by':[],'bucket_s':60,'history':3,'deviation':0.1,"
                "'min_value':0,'field':'cost_usd'}]");

    expect_dump("[{'name':'a','kind':'absence','severity':'critical',"
                "'group_by':['agent_id'],'threshold':900}]",
                "[{'name':'a','kind':'absence','severity':'critical',"
                "'group_by':['agent_id'],'threshold':900}]");
}

/* ---- required and foreign keys ---- */

static void test_required_keys(void **state)
{
    (void)state;
    expect_error("[{'kind':'count','severity':'info','window_s':1,"
                 "'threshold':1}]",
                 "rules[0].name: missing; every rule requires it (unique; "
                 "letters, digits, - and _)");
    expect_error("[{'name':'x','severity':'info'}]",
                 "rules[0].kind: missing; expected one of count, sum, "
                 "ratio, distinct, max, sequence, new_value, baseline, "
                 "absence");
    expect_error("[{'name':'x','kind':'count','window_s':1,'threshold':1}]",
                 "rules[0].severity: missing; every rule requires it (the "
                 "severity of its alerts)");
    expect_error("[{" BASE "'kind':'count','threshold':1}]",
                 "rules[0].window_s: missing; kind count requires it (the "
                 "sliding window, in seconds of event time)");
    expect_error("[{" BASE "'kind':'count','window_s':1}]",
                 "rules[0].threshold: missing; kind count requires it "
                 "(fires when more events than this are in the window)");
    expect_error("[{" BASE "'kind':'sum','window_s':1,'threshold':1}]",
                 "rules[0].field: missing; kind sum requires it (the number "
                 "field to add up)");
    expect_error("[{" BASE "'kind':'ratio','window_s':1,'threshold':0.1}]",
                 "rules[0].numerator: missing; kind ratio requires it (a "
                 "match object: the events counted above the line)");
    expect_error("[{" BASE "'kind':'distinct','window_s':1,'threshold':1}]",
                 "rules[0].field: missing; kind distinct requires it (the "
                 "string field whose distinct values are counted)");
    expect_error("[{" BASE "'kind':'max','threshold':1}]",
                 "rules[0].field: missing; kind max requires it (the number "
                 "field compared, event by event)");
    expect_error("[{" BASE "'kind':'max','field':'cost_usd'}]",
                 "rules[0].threshold: missing; kind max requires it (fires "
                 "when the value of one event exceeds this)");
    expect_error("[{" BASE "'kind':'sequence','within_s':5}]",
                 "rules[0].steps: missing; kind sequence requires it (2 to 5 "
                 "match objects, met by events of a group in this order)");
    expect_error("[{" BASE "'kind':'sequence','steps':[{},{}]}]",
                 "rules[0].within_s: missing; kind sequence requires it (the "
                 "last step at most this many seconds after the first)");
    expect_error("[{" BASE "'kind':'new_value','field':'tool_name'}]",
                 "rules[0].learn_s: missing; kind new_value requires it "
                 "(seconds after the first event of a group during which "
                 "values are learned silently)");
    expect_error("[{" BASE "'kind':'new_value','learn_s':0}]",
                 "rules[0].field: missing; kind new_value requires it (the "
                 "string field whose new values fire)");
    expect_error("[{" BASE "'kind':'baseline'}]",
                 "rules[0].bucket_s: missing; kind baseline requires it (the "
                 "bucket, in seconds; buckets are aligned to multiples of "
                 "it)");
    expect_error("[{" BASE "'kind':'absence'}]",
                 "rules[0].threshold: missing; kind absence requires it "
                 "(fires when a group seen before has no event for more "
                 "than this many seconds)");
}

static void test_foreign_keys(void **state)
{
    (void)state;
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'steps':[{},{}]}]",
                 "rules[0].steps: not a key of kind count");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'field':'cost_usd'}]",
                 "rules[0].field: not a key of kind count");
    expect_error("[{" BASE "'kind':'absence','threshold':1,'window_s':60}]",
                 "rules[0].window_s: not a key of kind absence");
    expect_error("[{" BASE "'kind':'max','field':'cost_usd','threshold':1,"
                 "'clear_threshold':0}]",
                 "rules[0].clear_threshold: not a key of kind max");
    expect_error("[{" BASE "'kind':'baseline','bucket_s':60,"
                 "'threshold':5}]",
                 "rules[0].threshold: not a key of kind baseline");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'min_count':5}]",
                 "rules[0].min_count: not a key of kind count");
    expect_error("[{" BASE "'kind':'sum','field':'cost_usd','window_s':1,"
                 "'threshold':1,'max_values':5}]",
                 "rules[0].max_values: not a key of kind sum");
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_error("[{" BASE "'kind':'count','window_s':1,'treshold':1}]",
                 "rules[0].treshold: unknown key; did you mean threshold?");
    expect_error("[{" BASE "'kind':'count','window':1,'threshold':1}]",
                 "rules[0].window: unknown key; did you mean window_s?");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'groupby':['tool_name']}]",
                 "rules[0].groupby: unknown key; did you mean group_by?");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'Severity':'info'}]",
                 "rules[0].Severity: unknown key; did you mean severity?");
    /* a key of another kind, misspelt */
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'stepz':[]}]",
                 "rules[0].stepz: unknown key; did you mean steps?");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'enabled':false}]",
                 "rules[0].enabled: unknown key; the keys of kind count are "
                 "name, kind, severity, description, runbook_url, labels, "
                 "match, exclude, group_by, window_s, threshold, "
                 "clear_threshold, overrides, hold_s, repeat_interval_s, "
                 "max_keys");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'threshold':2}]",
                 "rules[0].threshold: duplicate key");
    expect_error("[{" BASE "'kind':'count','kind':'sum','window_s':1,"
                 "'threshold':1}]",
                 "rules[0].kind: duplicate key");
}

static void test_kind_errors(void **state)
{
    (void)state;
    expect_error("[{" BASE "'kind':'cout'}]",
                 "rules[0].kind: unknown kind 'cout'; did you mean count?");
    expect_error("[{" BASE "'kind':'new-value'}]",
                 "rules[0].kind: unknown kind 'new-value'; did you mean "
                 "new_value?");
    expect_error("[{" BASE "'kind':'histogram'}]",
                 "rules[0].kind: unknown kind 'histogram'; expected one of "
                 "count, sum, ratio, distinct, max, sequence, new_value, "
                 "baseline, absence");
    expect_error("[{" BASE "'kind':3}]",
                 "rules[0].kind: expected one of count, sum, ratio, "
                 "distinct, max, sequence, new_value, baseline, absence, "
                 "got 3");
    /* the kind is read first, wherever it stands */
    expect_error("[{'window_s':1,'steps':[],'kind':'count'}]",
                 "rules[0].steps: not a key of kind count");
}

/* ---- the keys every rule has ---- */

static void test_names(void **state)
{
    char rules[512], name[80];

    (void)state;
    ok("[{'name':'Az09-_','kind':'absence','severity':'info',"
       "'threshold':1}]");
    memset(name, 'n', 64);
    name[64] = '\0';
    snprintf(rules, sizeof rules,
             "[{'name':'%s','kind':'absence','severity':'info',"
             "'threshold':1}]",
             name);
    ok(rules);
    assert_int_equal(strlen(set->rules[0].name), 64);
    name[64] = 'n';
    name[65] = '\0';
    snprintf(rules, sizeof rules,
             "[{'name':'%s','kind':'absence','severity':'info',"
             "'threshold':1}]",
             name);
    expect_error(rules, "rules[0].name: expected a non-empty string of at "
                        "most 64 bytes, got "
                        "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...");
    expect_error("[{'name':'','kind':'absence','severity':'info',"
                 "'threshold':1}]",
                 "rules[0].name: expected a non-empty string of at most 64 "
                 "bytes, got ''");
    expect_error("[{'name':'a b','kind':'absence','severity':'info',"
                 "'threshold':1}]",
                 "rules[0].name: expected a name of letters, digits, - and "
                 "_, got 'a b'");
    expect_error("[{'name':'a.b','kind':'absence','severity':'info',"
                 "'threshold':1}]",
                 "rules[0].name: expected a name of letters, digits, - and "
                 "_, got 'a.b'");
    expect_error("[{'name':7,'kind':'absence','severity':'info',"
                 "'threshold':1}]",
                 "rules[0].name: expected a non-empty string of at most 64 "
                 "bytes, got 7");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1},"
                 "{'name':'b','kind':'absence','severity':'info',"
                 "'threshold':1},"
                 "{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1}]",
                 "rules[2].name: 'a' is already the name of rules[0]");
    /* names are case-sensitive */
    ok("[{'name':'a','kind':'absence','severity':'info','threshold':1},"
       "{'name':'A','kind':'absence','severity':'info','threshold':1}]");
}

static void test_severity(void **state)
{
    static const char *const names[] = {"info", "warning", "error",
                                        "critical"};
    char rules[256];

    (void)state;
    for (int i = 0; i < 4; i++) {
        snprintf(rules, sizeof rules,
                 "[{'name':'a','kind':'absence','severity':'%s',"
                 "'threshold':1}]",
                 names[i]);
        ok(rules);
        assert_int_equal(set->rules[0].severity, i);
    }
    expect_error("[{'name':'a','kind':'absence','severity':'warn',"
                 "'threshold':1}]",
                 "rules[0].severity: expected one of 'info', 'warning', "
                 "'error', 'critical', got 'warn'");
    expect_error("[{'name':'a','kind':'absence','severity':'Critical',"
                 "'threshold':1}]",
                 "rules[0].severity: expected one of 'info', 'warning', "
                 "'error', 'critical', got 'Critical'");
}

static void test_texts(void **state)
{
    char rules[2048], text[600];

    (void)state;
    expect_dump("[{'name':'a','kind':'absence','severity':'info',"
                "'threshold':1,'description':'The stream is quiet.',"
                "'runbook_url':'https://wiki.example.com/runbooks/a#b'}]",
                "[{'name':'a','kind':'absence','severity':'info',"
                "'description':'The stream is quiet.',"
                "'runbook_url':'https://wiki.example.com/runbooks/a#b',"
                "'group_by':[],'threshold':1}]");
    ok("[{'name':'a','kind':'absence','severity':'info','threshold':1,"
       "'runbook_url':'HTTP://h'}]");
    memset(text, 'd', 512);
    text[512] = '\0';
    snprintf(rules, sizeof rules,
             "[{'name':'a','kind':'absence','severity':'info',"
             "'threshold':1,'description':'%s'}]",
             text);
    ok(rules);
    assert_int_equal(strlen(set->rules[0].description), 512);
    text[512] = 'd';
    text[513] = '\0';
    snprintf(rules, sizeof rules,
             "[{'name':'a','kind':'absence','severity':'info',"
             "'threshold':1,'description':'%s'}]",
             text);
    expect_error(rules, "rules[0].description: expected a non-empty string "
                        "of at most 512 bytes, got "
                        "'ddddddddddddddddddddddddddddddddddddddddddddddd...");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'description':''}]",
                 "rules[0].description: expected a non-empty string of at "
                 "most 512 bytes, got ''");
    static const char *const bad_urls[] = {
        "ftp://host/x", "http://", "https:///path", "https://host/a b",
        "wiki.example.com", "http:/host",
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        char want[256];
        snprintf(rules, sizeof rules,
                 "[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'runbook_url':'%s'}]",
                 bad_urls[i]);
        snprintf(want, sizeof want,
                 "rules[0].runbook_url: expected an http:// or https:// URL "
                 "with a host, without spaces, got '%s'",
                 bad_urls[i]);
        expect_error(rules, want);
    }
}

static void test_labels(void **state)
{
    (void)state;
    expect_dump("[{'name':'a','kind':'absence','severity':'info',"
                "'threshold':1,'labels':{'team':'payments',"
                "'k8s.namespace':'prod-eu','tier':'1'}}]",
                "[{'name':'a','kind':'absence','severity':'info',"
                "'labels':{'team':'payments','k8s.namespace':'prod-eu',"
                "'tier':'1'},'group_by':[],'threshold':1}]");
    assert_int_equal(set->rules[0].nlabels, 3);
    assert_string_equal(set->rules[0].labels[1].key, "k8s.namespace");
    assert_string_equal(set->rules[0].labels[1].value, "prod-eu");
    /* {} is no labels */
    expect_dump("[{'name':'a','kind':'absence','severity':'info',"
                "'threshold':1,'labels':{}}]",
                "[{'name':'a','kind':'absence','severity':'info',"
                "'group_by':[],'threshold':1}]");
    ok("[{'name':'a','kind':'absence','severity':'info','threshold':1,"
       "'labels':{'a':'1','b':'2','c':'3','d':'4','e':'5','f':'6','g':'7',"
       "'h':'8'}}]");
    assert_int_equal(set->rules[0].nlabels, 8);
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'a':'1','b':'2','c':'3','d':'4',"
                 "'e':'5','f':'6','g':'7','h':'8','i':'9'}}]",
                 "rules[0].labels: expected an object of at most 8 labels "
                 "(name -> string), got {'a':'1','b':'2','c':'3','d':'4',"
                 "'e':'5','f':'6'...");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':['team']}]",
                 "rules[0].labels: expected an object of at most 8 labels "
                 "(name -> string), got ['team']");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'a b':'x'}}]",
                 "rules[0].labels.a b: expected a label name of letters, "
                 "digits, _, - and . (1 to 63 bytes)");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'':'x'}}]",
                 "rules[0].labels.: expected a label name of letters, "
                 "digits, _, - and . (1 to 63 bytes)");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'team':5}}]",
                 "rules[0].labels.team: expected a non-empty string of at "
                 "most 255 bytes, got 5");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'team':''}}]",
                 "rules[0].labels.team: expected a non-empty string of at "
                 "most 255 bytes, got ''");
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'team':'a','team':'b'}}]",
                 "rules[0].labels.team: duplicate key");
    /* names of 63 bytes and values of 255: fine; one more: refused */
    {
        char rules[1024], key[70], value[260];
        memset(key, 'k', 64);
        key[63] = '\0';
        memset(value, 'v', 256);
        value[255] = '\0';
        snprintf(rules, sizeof rules,
                 "[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'%s':'%s'}}]",
                 key, value);
        ok(rules);
        assert_int_equal(strlen(set->rules[0].labels[0].key), 63);
        assert_int_equal(strlen(set->rules[0].labels[0].value), 255);
        key[63] = 'k';
        key[64] = '\0';
        snprintf(rules, sizeof rules,
                 "[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'%s':'v'}}]",
                 key);
        assert_int_equal(compile_json(q(rules)), RULE_EINVAL);
        assert_non_null(strstr(err, ": expected a label name of letters, "
                                    "digits, _, - and . (1 to 63 bytes)"));
        key[63] = '\0';
        value[255] = 'v';
        value[256] = '\0';
        snprintf(rules, sizeof rules,
                 "[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'labels':{'%s':'%s'}}]",
                 key, value);
        assert_int_equal(compile_json(q(rules)), RULE_EINVAL);
        assert_non_null(strstr(err, ": expected a non-empty string of at "
                                    "most 255 bytes, got \"vvvv"));
    }
}

static void test_group_by(void **state)
{
    (void)state;
    expect_dump("[{'name':'a','kind':'absence','severity':'info',"
                "'threshold':1,'group_by':['agent_id','tool_name',"
                "'metadata.region']}]",
                "[{'name':'a','kind':'absence','severity':'info',"
                "'group_by':['agent_id','tool_name','metadata.region'],"
                "'threshold':1}]");
    assert_int_equal(set->rules[0].ngroup, 3);
    assert_int_equal(set->rules[0].group_by[2].id, MATCH_F_META);
    assert_int_equal(set->meta.n, 1);
    assert_string_equal(set->meta.name[0], "region");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':['agent_id','tool_name','session_id',"
                 "'error_code']}]",
                 "rules[0].group_by: expected a list of at most 3 string "
                 "fields (event_type, tool_name, tool_category, agent_id, "
                 "session_id, downstream_system, response_status, "
                 "error_code, metadata.<name>), got ['agent_id','tool_name',"
                 "'session_id','error_code...");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':'tool_name'}]",
                 "rules[0].group_by: expected a list of at most 3 string "
                 "fields (event_type, tool_name, tool_category, agent_id, "
                 "session_id, downstream_system, response_status, "
                 "error_code, metadata.<name>), got 'tool_name'");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':['tool_nme']}]",
                 "rules[0].group_by[0]: unknown field 'tool_nme'; did you "
                 "mean tool_name?");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':['tool_name','cost_usd']}]",
                 "rules[0].group_by[1]: cost_usd is not a string field; "
                 "expected one of event_type, tool_name, tool_category, "
                 "agent_id, session_id, downstream_system, response_status, "
                 "error_code, metadata.<name>");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':['error']}]",
                 "rules[0].group_by[0]: error is not a string field; "
                 "expected one of event_type, tool_name, tool_category, "
                 "agent_id, session_id, downstream_system, response_status, "
                 "error_code, metadata.<name>");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':['tool_name','tool_name']}]",
                 "rules[0].group_by[1]: tool_name is already in group_by");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':['metadata.x','metadata.x']}]",
                 "rules[0].group_by[1]: metadata.x is already in group_by");
    expect_error("[{" BASE "'kind':'absence','threshold':1,"
                 "'group_by':[1]}]",
                 "rules[0].group_by[0]: expected the name of a string "
                 "field, got 1");
}

/* ---- ranges ---- */

struct range_row {
    const char *rule; /* a rule with %s where the value goes */
    const char *value;
    const char *msg;  /* NULL: accepted */
};

static void test_ranges(void **state)
{
#define COUNT "[{" BASE "'kind':'count','window_s':%s,'threshold':1}]"
#define COUNT_T "[{" BASE "'kind':'count','window_s':1,'threshold':%s}]"
#define RATIO                                                             \
    "[{" BASE "'kind':'ratio','numerator':{'error':true},'window_s':1,"   \
    "'threshold':%s}]"
#define RATIO_MIN                                                         \
    "[{" BASE "'kind':'ratio','numerator':{'error':true},'window_s':1,"   \
    "'threshold':0.5,'min_count':%s}]"
#define NEWV                                                              \
    "[{" BASE "'kind':'new_value','field':'tool_name','learn_s':%s}]"
#define NEWV_MAX                                                          \
    "[{" BASE "'kind':'new_value','field':'tool_name','learn_s':0,"       \
    "'max_values':%s}]"
#define BASEL "[{" BASE "'kind':'baseline','bucket_s':%s}]"
#define BASEL_H "[{" BASE "'kind':'baseline','bucket_s':60,'history':%s}]"
#define BASEL_D "[{" BASE "'kind':'baseline','bucket_s':60,'deviation':%s}]"
#define SEQ                                                               \
    "[{" BASE "'kind':'sequence','steps':[{},{}],'within_s':%s}]"
#define ABS "[{" BASE "'kind':'absence','threshold':%s}]"
#define HOLD "[{" BASE "'kind':'absence','threshold':1,'hold_s':%s}]"
#define REPEAT                                                            \
    "[{" BASE "'kind':'absence','threshold':1,'repeat_interval_s':%s}]"
#define KEYS "[{" BASE "'kind':'absence','threshold':1,'max_keys':%s}]"
    static const struct range_row rows[] = {
        {COUNT, "1", NULL},
        {COUNT, "2073600", NULL},
        {COUNT, "0", "rules[0].window_s: expected an integer between 1 and "
                     "2073600, got 0"},
        {COUNT, "2073601", "rules[0].window_s: expected an integer between 1 "
                           "and 2073600, got 2073601"},
        {COUNT, "1.5", "rules[0].window_s: expected an integer between 1 "
                       "and 2073600, got 1.5"},
        {COUNT, "'60'", "rules[0].window_s: expected an integer between 1 "
                        "and 2073600, got '60'"},
        {COUNT_T, "0", NULL},
        {COUNT_T, "2.5", NULL},
        {COUNT_T, "1000000000000", NULL},
        {COUNT_T, "-1", "rules[0].threshold: expected a number between 0 "
                        "and 1000000000000, got -1"},
        {COUNT_T, "1e999", "rules[0].threshold: expected a number between 0 "
                           "and 1000000000000, got null"},
        {RATIO, "0", NULL},
        {RATIO, "1", NULL},
        {RATIO, "1.01", "rules[0].threshold: expected a number between 0 "
                        "and 1, got 1.01"},
        {RATIO_MIN, "1", NULL},
        {RATIO_MIN, "0", "rules[0].min_count: expected an integer between 1 "
                         "and 1000000000, got 0"},
        {NEWV, "0", NULL},
        {NEWV, "-1", "rules[0].learn_s: expected an integer between 0 and "
                     "2073600, got -1"},
        {NEWV_MAX, "100000", NULL},
        {NEWV_MAX, "100001", "rules[0].max_values: expected an integer "
                             "between 1 and 100000, got 100001"},
        {BASEL, "86400", NULL},
        {BASEL, "0", "rules[0].bucket_s: expected an integer between 1 and "
                     "86400, got 0"},
        {BASEL_H, "3", NULL},
        {BASEL_H, "1000", NULL},
        {BASEL_H, "2", "rules[0].history: expected an integer between 3 and "
                       "1000, got 2"},
        {BASEL_D, "100", NULL},
        {BASEL_D, "0", "rules[0].deviation: expected a number between 0.1 "
                       "and 100, got 0"},
        {SEQ, "1", NULL},
        {SEQ, "0", "rules[0].within_s: expected an integer between 1 and "
                   "2073600, got 0"},
        {ABS, "1", NULL},
        {ABS, "0.5", "rules[0].threshold: expected a number between 1 and "
                     "2073600, got 0.5"},
        {HOLD, "0", NULL},
        {HOLD, "86400", NULL},
        {HOLD, "-1", "rules[0].hold_s: expected an integer between 0 and "
                     "86400, got -1"},
        {REPEAT, "1", NULL},
        {REPEAT, "0", "rules[0].repeat_interval_s: expected an integer "
                      "between 1 and 604800, got 0"},
        {KEYS, "10000000", NULL},
        {KEYS, "0", "rules[0].max_keys: expected an integer between 1 and "
                    "10000000, got 0"},
    };
    char rules[512];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *at = strstr(rows[i].rule, "%s");
        snprintf(rules, sizeof rules, "%.*s%s%s", (int)(at - rows[i].rule),
                 rows[i].rule, rows[i].value, at + 2);
        if (rows[i].msg == NULL)
            ok(rules);
        else
            expect_error(rules, rows[i].msg);
    }
}

static void test_clear_threshold(void **state)
{
    (void)state;
    expect_dump("[{" BASE "'kind':'count','window_s':60,'threshold':100,"
                "'clear_threshold':80}]",
                "[{'name':'r','kind':'count','severity':'warning',"
                "'group_by':[],'window_s':60,'threshold':100,"
                "'clear_threshold':80}]");
    assert_true(set->rules[0].p.clear_threshold == 80);
    ok("[{" BASE "'kind':'count','window_s':60,'threshold':100,"
       "'clear_threshold':100}]");
    expect_error("[{" BASE "'kind':'count','window_s':60,'threshold':100,"
                 "'clear_threshold':100.5}]",
                 "rules[0].clear_threshold: expected a number at most the "
                 "threshold (100), got 100.5");
    expect_error("[{" BASE "'kind':'ratio','numerator':{'error':true},"
                 "'window_s':60,'threshold':0.2,'clear_threshold':0.25}]",
                 "rules[0].clear_threshold: expected a number at most the "
                 "threshold (0.2), got 0.25");
}

/* ---- fields of the kinds ---- */

static void test_kind_fields(void **state)
{
    (void)state;
    expect_error("[{" BASE "'kind':'sum','field':'tool_name','window_s':1,"
                 "'threshold':1}]",
                 "rules[0].field: tool_name is a string field; expected the "
                 "name of a number field (response_payload_size_bytes, "
                 "execution_duration_ms, tokens_consumed, cost_usd)");
    expect_error("[{" BASE "'kind':'max','field':'completed',"
                 "'threshold':1}]",
                 "rules[0].field: completed is a boolean field; expected the "
                 "name of a number field (response_payload_size_bytes, "
                 "execution_duration_ms, tokens_consumed, cost_usd)");
    expect_error("[{" BASE "'kind':'baseline','bucket_s':60,"
                 "'field':'metadata.x'}]",
                 "rules[0].field: metadata.x is a string field; expected the "
                 "name of a number field (response_payload_size_bytes, "
                 "execution_duration_ms, tokens_consumed, cost_usd)");
    expect_error("[{" BASE "'kind':'distinct','field':'cost_usd',"
                 "'window_s':1,'threshold':1}]",
                 "rules[0].field: cost_usd is a number field; expected the "
                 "name of a string field (event_type, tool_name, "
                 "tool_category, agent_id, session_id, downstream_system, "
                 "response_status, error_code, metadata.<name>)");
    expect_error("[{" BASE "'kind':'sum','field':'cost','window_s':1,"
                 "'threshold':1}]",
                 "rules[0].field: unknown field 'cost'; expected one of "
                 "event_type, tool_name, tool_category, agent_id, "
                 "session_id, downstream_system, response_status, "
                 "error_code, metadata.<name>, response_payload_size_bytes, "
                 "execution_duration_ms, tokens_consumed, cost_usd, "
                 "completed, error");
    expect_error("[{" BASE "'kind':'sum','field':'cost_usb','window_s':1,"
                 "'threshold':1}]",
                 "rules[0].field: unknown field 'cost_usb'; did you mean "
                 "cost_usd?");
    expect_error("[{" BASE "'kind':'sum','field':['cost_usd'],'window_s':1,"
                 "'threshold':1}]",
                 "rules[0].field: expected the name of a number field "
                 "(response_payload_size_bytes, execution_duration_ms, "
                 "tokens_consumed, cost_usd), got ['cost_usd']");
    /* a string field may be metadata */
    expect_dump("[{" BASE "'kind':'distinct','field':'metadata.customer',"
                "'group_by':['agent_id'],'window_s':60,'threshold':5}]",
                "[{'name':'r','kind':'distinct','severity':'warning',"
                "'group_by':['agent_id'],'field':'metadata.customer',"
                "'window_s':60,'threshold':5}]");
    /* counting the values of a group_by field cannot work */
    expect_error("[{" BASE "'kind':'distinct','field':'agent_id',"
                 "'group_by':['agent_id'],'window_s':60,'threshold':5}]",
                 "rules[0].field: agent_id is also in group_by, so every "
                 "group would hold one value");
    expect_error("[{" BASE "'kind':'new_value','field':'metadata.m',"
                 "'group_by':['tool_name','metadata.m'],'learn_s':0}]",
                 "rules[0].field: metadata.m is also in group_by, so every "
                 "group would hold one value");
}

static void test_numerator_and_steps(void **state)
{
    const struct rule *r;

    (void)state;
    expect_error("[{" BASE "'kind':'ratio','numerator':{'eror':true},"
                 "'window_s':1,'threshold':0.1}]",
                 "rules[0].numerator.eror: unknown field; did you mean "
                 "error?");
    expect_error("[{" BASE "'kind':'ratio','numerator':true,'window_s':1,"
                 "'threshold':0.1}]",
                 "rules[0].numerator: expected an object of field -> "
                 "condition, got true");
    expect_error("[{" BASE "'kind':'sequence','within_s':60,"
                 "'steps':[{'tool_name':'a'},{'tool_nme':'b'}]}]",
                 "rules[0].steps[1].tool_nme: unknown field; did you mean "
                 "tool_name?");
    expect_error("[{" BASE "'kind':'sequence','within_s':60,"
                 "'steps':[{}]}]",
                 "rules[0].steps: expected a list of 2 to 5 match objects, "
                 "got [{}]");
    expect_error("[{" BASE "'kind':'sequence','within_s':60,"
                 "'steps':[{},{},{},{},{},{}]}]",
                 "rules[0].steps: expected a list of 2 to 5 match objects, "
                 "got [{},{},{},{},{},{}]");
    expect_error("[{" BASE "'kind':'sequence','within_s':60,"
                 "'steps':{'a':{}}}]",
                 "rules[0].steps: expected a list of 2 to 5 match objects, "
                 "got {'a':{}}");
    expect_error("[{" BASE "'kind':'sequence','within_s':60,"
                 "'steps':[{},[]]}]",
                 "rules[0].steps[1]: expected an object of field -> "
                 "condition, got []");
    ok("[{" BASE "'kind':'sequence','within_s':60,"
       "'steps':[{},{},{},{},{'error':true}]}]");
    assert_int_equal(set->rules[0].p.nsteps, 5);
    /* the rule's match applies to every step: a step it rules out is an
     * error, and the prefilter is what the steps can use */
    expect_error("[{" BASE "'kind':'sequence','within_s':60,"
                 "'match':{'completed':true},"
                 "'steps':[{'tool_name':'a'},"
                 "{'event_type':'agent_session_end'}]}]",
                 "rules[0].steps[1]: no event the rule sees can meet this "
                 "step");
    ok("[{" BASE "'kind':'sequence','within_s':60,"
       "'steps':[{'event_type':'tool_call_request'},{'error':true}]}]");
    r = &set->rules[0];
    assert_int_equal(r->types, MATCH_TYPE_BIT(EVENT_TOOL_CALL_REQUEST) |
                                   MATCH_TYPE_BIT(EVENT_TOOL_CALL_RESPONSE) |
                                   MATCH_TYPE_BIT(EVENT_TOOL_CALL_ERROR));
}

/* ---- match and exclude ---- */

static void test_match_exclude(void **state)
{
    const struct rule *r;
    struct event ev;

    (void)state;
    expect_dump("[{" BASE "'kind':'count','window_s':60,'threshold':10,"
                "'match':{'completed':true,'tool_name':'DB_*'},"
                "'exclude':{'error':true}}]",
                "[{'name':'r','kind':'count','severity':'warning',"
                "'match':{'completed':true,'tool_name':'db_*'},"
                "'exclude':{'error':true},'group_by':[],'window_s':60,"
                "'threshold':10}]");
    r = &set->rules[0];
    assert_int_equal(r->types, MATCH_TYPE_BIT(EVENT_TOOL_CALL_RESPONSE));
    memset(&ev, 0, sizeof ev);
    ev.type = EVENT_TOOL_CALL_RESPONSE;
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "db_query");
    assert_true(match_seen(&r->match, &r->exclude, &ev));
    ev.status = EVENT_STATUS_ERROR;
    assert_false(match_seen(&r->match, &r->exclude, &ev));
    /* {} is the empty match, left out of the dump */
    expect_dump("[{" BASE "'kind':'count','window_s':60,'threshold':10,"
                "'match':{},'exclude':{}}]",
                "[{'name':'r','kind':'count','severity':'warning',"
                "'group_by':[],'window_s':60,'threshold':10}]");
    expect_error("[{" BASE "'kind':'count','window_s':60,'threshold':10,"
                 "'match':{'completed':true},'exclude':{'completed':true}}]",
                 "rules[0].exclude: excludes every event that match "
                 "accepts");
    expect_error("[{" BASE "'kind':'count','window_s':60,'threshold':10,"
                 "'exclude':{'tool_name':5}}]",
                 "rules[0].exclude.tool_name: expected a glob or a list of 1 "
                 "to 64 globs (a string field), got 5");
    expect_error("[{" BASE "'kind':'count','window_s':60,'threshold':10,"
                 "'match':[]}]",
                 "rules[0].match: expected an object of field -> condition, "
                 "got []");
}

/* ---- overrides ---- */

static void test_overrides(void **state)
{
    const struct rule *r;
    struct event ev;

    (void)state;
    expect_dump("[{" BASE "'kind':'count','window_s':60,'threshold':100,"
                "'group_by':['tool_name','agent_id'],"
                "'overrides':[{'match':{'tool_name':'postgres_*'},"
                "'threshold':1000},"
                "{'enabled':false,'match':{'agent_id':['ci-*','test-*'],"
                "'tool_name':'*'}},"
                "{'match':{},'threshold':50}]}]",
                "[{'name':'r','kind':'count','severity':'warning',"
                "'group_by':['tool_name','agent_id'],'window_s':60,"
                "'threshold':100,"
                "'overrides':[{'match':{'tool_name':'postgres_*'},"
                "'threshold':1000},"
                "{'match':{'agent_id':['ci-*','test-*'],'tool_name':'*'},"
                "'enabled':false},"
                "{'match':{},'threshold':50}]}]");
    r = &set->rules[0];
    assert_int_equal(r->noverrides, 3);
    assert_true(r->overrides[0].enabled);
    assert_true(r->overrides[0].threshold == 1000);
    assert_false(r->overrides[1].enabled);
    assert_true(isnan(r->overrides[1].threshold));
    memset(&ev, 0, sizeof ev);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "postgres_query");
    snprintf(ev.agent_id, sizeof ev.agent_id, "%s", "ci-42");
    assert_true(match_eval(&r->overrides[0].match, &ev));
    assert_true(match_eval(&r->overrides[1].match, &ev));
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", "mysql");
    assert_false(match_eval(&r->overrides[0].match, &ev));
    /* overrides may come before group_by */
    ok("[{'overrides':[{'match':{'metadata.t':'x'},'enabled':false}],"
       "'group_by':['metadata.t']," BASE
       "'kind':'absence','threshold':60}]");
    /* the threshold takes the kind's range */
    ok("[{" BASE "'kind':'ratio','numerator':{'error':true},'window_s':1,"
       "'threshold':0.5,'group_by':['tool_name'],"
       "'overrides':[{'match':{'tool_name':'x'},'threshold':0.9}]}]");
    expect_error("[{" BASE "'kind':'ratio','numerator':{'error':true},"
                 "'window_s':1,'threshold':0.5,'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'threshold':2}]}]",
                 "rules[0].overrides[0].threshold: expected a number between "
                 "0 and 1, got 2");
    expect_error("[{" BASE "'kind':'sequence','steps':[{},{}],'within_s':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'threshold':2}]}]",
                 "rules[0].overrides[0].threshold: kind sequence has no "
                 "threshold");
    /* any kind can mute */
    ok("[{" BASE "'kind':'sequence','steps':[{},{}],'within_s':1,"
       "'group_by':['tool_name'],"
       "'overrides':[{'match':{'tool_name':'x'},'enabled':false}]}]");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'agent_id':'x'},'threshold':2}]}]",
                 "rules[0].overrides[0].match.agent_id: not a group_by field "
                 "of this rule (group_by: tool_name)");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'overrides':[{'match':{'completed':true},'threshold':2}]}]",
                 "rules[0].overrides[0].match.completed: not a group_by "
                 "field of this rule (group_by: none)");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'}}]}]",
                 "rules[0].overrides[0]: expected threshold or enabled: "
                 "false");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'threshold':2,"
                 "'enabled':false}]}]",
                 "rules[0].overrides[0]: threshold and enabled exclude each "
                 "other (an override sets a threshold or mutes)");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'enabled':true}]}]",
                 "rules[0].overrides[0].enabled: expected false (an override "
                 "that does not mute sets a threshold), got true");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'threshold':2}]}]",
                 "rules[0].overrides[0].match: missing; an override names "
                 "the group_by values it applies to");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'treshold':2}]}]",
                 "rules[0].overrides[0].treshold: unknown key; did you mean "
                 "threshold?");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'limit':2}]}]",
                 "rules[0].overrides[0].limit: unknown key; expected match, "
                 "threshold or enabled");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'threshold':2,"
                 "'threshold':3}]}]",
                 "rules[0].overrides[0].threshold: duplicate key");
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'threshold':2},"
                 "'x']}]",
                 "rules[0].overrides[1]: expected an object "
                 "{'match': {...}, 'threshold': n} or {'match': {...}, "
                 "'enabled': false}, got 'x'");
}

static void test_overrides_limits(void **state)
{
    char rules[8192];
    size_t k;

    (void)state;
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'overrides':{}}]",
                 "rules[0].overrides: expected a list of at most 64 "
                 "overrides, got {}");
    k = (size_t)snprintf(rules, sizeof rules,
                         "[{" BASE "'kind':'count','window_s':1,"
                         "'threshold':1,'group_by':['tool_name'],"
                         "'overrides':[");
    for (int i = 0; i < 64; i++)
        k += (size_t)snprintf(rules + k, sizeof rules - k,
                              "%s{'match':{'tool_name':'t%d'},"
                              "'threshold':%d}",
                              i ? "," : "", i, i);
    snprintf(rules + k, sizeof rules - k, "]}]");
    ok(rules);
    assert_int_equal(set->rules[0].noverrides, 64);
    snprintf(rules + k, sizeof rules - k,
             ",{'match':{'tool_name':'x'},'threshold':1}]}]");
    assert_int_equal(compile_json(q(rules)), RULE_EINVAL);
    assert_non_null(strstr(err, "rules[0].overrides: expected a list of at "
                                "most 64 overrides, got [{"));
    /* a refused override in the middle frees what was built */
    expect_error("[{" BASE "'kind':'count','window_s':1,'threshold':1,"
                 "'group_by':['tool_name'],"
                 "'overrides':[{'match':{'tool_name':'x'},'threshold':2},"
                 "{'match':{'tool_name':['a','b']},'threshold':-1}]}]",
                 "rules[0].overrides[1].threshold: expected a number "
                 "between 0 and 1000000000000, got -1");
}

/* ---- engine-wide settings ---- */

static void test_engine_settings(void **state)
{
    const struct rule *r;

    (void)state;
    expect_dump("[{" BASE "'kind':'absence','threshold':60,'max_keys':5,"
                "'hold_s':0,'repeat_interval_s':600}]",
                "[{'name':'r','kind':'absence','severity':'warning',"
                "'group_by':[],'threshold':60,'hold_s':0,"
                "'repeat_interval_s':600,'max_keys':5}]");
    r = &set->rules[0];
    assert_int_equal(r->hold_s, 0);
    assert_int_equal(r->repeat_interval_s, 600);
    assert_int_equal(r->max_keys, 5);
    expect_error("[{" BASE "'kind':'absence','threshold':60,"
                 "'hold_s':true}]",
                 "rules[0].hold_s: expected an integer between 0 and 86400, "
                 "got true");
}

/* ---- the list ---- */

static void test_list(void **state)
{
    char *rules;
    size_t k = 0, size = 256 * 96 + 64;

    (void)state;
    expect_error("{}", "rules: expected a list of at most 256 rules, got {}");
    expect_error("'volume'",
                 "rules: expected a list of at most 256 rules, got 'volume'");
    ok("[]");
    assert_int_equal(set->n, 0);
    {
        char *d = round_trip();
        assert_string_equal(d, "[]");
        cJSON_free(d);
    }
    expect_error("[{" BASE "'kind':'absence','threshold':1}, 5]",
                 "rules[1]: expected a rule object, got 5");
    expect_error("[[]]", "rules[0]: expected a rule object, got []");
    rules = malloc(size);
    assert_non_null(rules);
    k += (size_t)snprintf(rules + k, size - k, "[");
    for (int i = 0; i < 256; i++)
        k += (size_t)snprintf(rules + k, size - k,
                              "%s{'name':'r%d','kind':'absence',"
                              "'severity':'info','threshold':%d}",
                              i ? "," : "", i, i + 1);
    snprintf(rules + k, size - k, "]");
    ok(rules);
    assert_int_equal(set->n, 256);
    assert_true(set->rules[255].p.threshold == 256);
    snprintf(rules + k, size - k,
             ",{'name':'x','kind':'absence','severity':'info',"
             "'threshold':1}]");
    assert_int_equal(compile_json(q(rules)), RULE_EINVAL);
    assert_non_null(strstr(err, "rules: expected a list of at most 256 "
                                "rules, got [{"));
    free(rules);
    /* the first error wins; later rules are not read */
    expect_error("[{'name':'a'},{'name':'b','kind':'x'}]",
                 "rules[0].kind: missing; expected one of count, sum, ratio, "
                 "distinct, max, sequence, new_value, baseline, absence");
}

/* metadata names are shared by the rules of a set, at most 8 in all */
static void test_metadata_across_rules(void **state)
{
    (void)state;
    ok("[{'name':'a','kind':'absence','severity':'info','threshold':1,"
       "'group_by':['metadata.region'],"
       "'match':{'metadata.team':'x*'}},"
       "{'name':'b','kind':'count','severity':'info','window_s':1,"
       "'threshold':1,'group_by':['metadata.team','metadata.env']}]");
    assert_int_equal(set->meta.n, 3);
    assert_string_equal(set->meta.name[0], "region");
    assert_string_equal(set->meta.name[1], "team");
    assert_string_equal(set->meta.name[2], "env");
    assert_int_equal(set->rules[1].group_by[0].slot, 1);
    assert_int_equal(set->rules[1].group_by[1].slot, 2);
    expect_error("[{'name':'a','kind':'absence','severity':'info',"
                 "'threshold':1,'group_by':['metadata.a','metadata.b',"
                 "'metadata.c'],'match':{'metadata.d':'x','metadata.e':'x'}},"
                 "{'name':'b','kind':'absence','severity':'info',"
                 "'threshold':1,'group_by':['metadata.f','metadata.g',"
                 "'metadata.h']},"
                 "{'name':'c','kind':'absence','severity':'info',"
                 "'threshold':1,'group_by':['metadata.a','metadata.i']}]",
                 "rules[2].group_by[1]: at most 8 metadata names in all "
                 "rules (in use: a, b, c, d, e, f, g, h)");
}

/* Every key of every kind, dumped, compiled again: the same dump. */
static void test_round_trip_everything(void **state)
{
    static const char rules[] =
        "[{'name':'all-keys','kind':'count','severity':'error',"
        "'description':'d','runbook_url':'https://r.example/x',"
        "'labels':{'team':'t'},"
        "'match':{'completed':true,'cost_usd':{'>=':0.5,'<':9},"
        "'event_type':['tool_call_response','tool_call_error']},"
        "'exclude':{'agent_id':['a?','b*'],'metadata.env':'dev'},"
        "'group_by':['tool_name','metadata.env'],'window_s':60,"
        "'threshold':100,'clear_threshold':90,"
        "'overrides':[{'match':{'tool_name':'x'},'threshold':5},"
        "{'match':{'metadata.env':'prod'},'enabled':false}],"
        "'hold_s':10,'repeat_interval_s':20,'max_keys':30},"
        "{'name':'s','kind':'sum','severity':'info','field':'tokens_consumed',"
        "'window_s':3600,'threshold':1e6,'clear_threshold':5e5},"
        "{'name':'r','kind':'ratio','severity':'info',"
        "'numerator':{'response_status':'error','error_code':'E*'},"
        "'window_s':60,'threshold':0.05,'clear_threshold':0.01,"
        "'min_count':100},"
        "{'name':'d','kind':'distinct','severity':'info',"
        "'field':'session_id','group_by':['agent_id'],'window_s':60,"
        "'threshold':3,'clear_threshold':1},"
        "{'name':'m','kind':'max','severity':'info',"
        "'field':'response_payload_size_bytes','threshold':10,"
        "'window_s':5},"
        "{'name':'q','kind':'sequence','severity':'info',"
        "'steps':[{'tool_name':'a'},{'tool_name':'b'},{'error':true}],"
        "'within_s':30,'window_s':40},"
        "{'name':'n','kind':'new_value','severity':'info',"
        "'field':'tool_category','learn_s':5,'max_values':6,'window_s':7},"
        "{'name':'b','kind':'baseline','severity':'info','bucket_s':60,"
        "'history':24,'deviation':3.5,'min_value':2,"
        "'field':'execution_duration_ms'},"
        "{'name':'a','kind':'absence','severity':'info','threshold':30}]";
    static const char want_first[] =
        "{'name':'all-keys','kind':'count','severity':'error',"
        "'description':'d','runbook_url':'https://r.example/x',"
        "'labels':{'team':'t'},"
        "'match':{'completed':true,'cost_usd':{'>=':0.5,'<':9},"
        "'event_type':['tool_call_response','tool_call_error']},"
        "'exclude':{'agent_id':['a?','b*'],'metadata.env':'dev'},"
        "'group_by':['tool_name','metadata.env'],'window_s':60,"
        "'threshold':100,'clear_threshold':90,"
        "'overrides':[{'match':{'tool_name':'x'},'threshold':5},"
        "{'match':{'metadata.env':'prod'},'enabled':false}],"
        "'hold_s':10,'repeat_interval_s':20,'max_keys':30}";
    char *d;

    (void)state;
    ok(rules);
    assert_int_equal(set->n, 9);
    d = round_trip();
    assert_int_equal(strncmp(d + 1, q(want_first), strlen(want_first)), 0);
    cJSON_free(d);
}

static void test_misc(void **state)
{
    (void)state;
    rule_set_destroy(NULL);
    rule_free(NULL);
    assert_string_equal(rule_strerror(RULE_OK), "ok");
    assert_string_equal(rule_strerror(RULE_EINVAL),
                        "the rules are not valid");
    assert_string_equal(rule_strerror(RULE_ENOMEM), "out of memory");
    assert_string_equal(rule_strerror(1), "unknown rule error");
    /* the figures of rule.h's memory note */
    assert_int_equal(sizeof(struct rule), 1552);
    assert_int_equal(sizeof(struct rule_override), 48);
    assert_int_equal(sizeof(struct rule_label), 320);
    assert_int_equal(sizeof(struct rule_set), 536);
}

/* rule_compile alone: a refused rule holds nothing, and can be freed
 * again. */
static void test_rule_compile(void **state)
{
    struct match_meta meta;
    struct rule r;
    cJSON *j = cJSON_Parse(q("{'name':'a','kind':'count','severity':'info',"
                             "'window_s':1,'threshold':1,"
                             "'labels':{'x':'y'},'match':{'tool_name':'a'},"
                             "'group_by':['tool_name'],'overrides':"
                             "[{'match':{'tool_name':'b'},'threshold':2}],"
                             "'clear_threshold':5}"));

    (void)state;
    memset(&meta, 0, sizeof meta);
    assert_int_equal(rule_compile(&r, j, "x", &meta, err, sizeof err),
                     RULE_EINVAL);
    assert_string_equal(err, "x.clear_threshold: expected a number at most "
                             "the threshold (1), got 5");
    assert_null(r.labels);
    assert_null(r.overrides);
    assert_null(r.match.cond);
    rule_free(&r);
    cJSON_DeleteItemFromObject(j, "clear_threshold");
    assert_int_equal(rule_compile(&r, j, "x", &meta, err, sizeof err),
                     RULE_OK);
    {
        cJSON *d;
        char *t;
        assert_int_equal(rule_dump(&r, &d), RULE_OK);
        t = cJSON_PrintUnformatted(d);
        assert_string_equal(t, q("{'name':'a','kind':'count',"
                                 "'severity':'info','labels':{'x':'y'},"
                                 "'match':{'tool_name':'a'},"
                                 "'group_by':['tool_name'],'window_s':1,"
                                 "'threshold':1,'overrides':[{'match':"
                                 "{'tool_name':'b'},'threshold':2}]}"));
        cJSON_free(t);
        cJSON_Delete(d);
    }
    rule_free(&r);
    rule_free(&r);
    cJSON_Delete(j);
}

/* ---- every error ---- */

/* rule_set_compile_errs() on rules (with ' for "): its list, which must
 * be exactly want[] (with ' for "); rule_set_compile() gives the first. */
static void expect_errors(const char *rules, const char *const *want,
                          unsigned n)
{
    static char msgs[TABLE_ERRS_MAX][TABLE_ERR_MAX];
    struct table_errs errs;
    cJSON *j = cJSON_Parse(q(rules));
    struct rule_set *s = NULL;

    assert_non_null(j);
    table_errs_init(&errs, msgs, TABLE_ERRS_MAX);
    assert_int_equal(rule_set_compile_errs(&s, j, "rules", &errs),
                     RULE_EINVAL);
    assert_null(s);
    cJSON_Delete(j);
    if (table_errs_count(&errs) != n)
        for (unsigned i = 0; i < table_errs_kept(&errs); i++)
            print_message("got [%u] %s\n", i, table_errs_at(&errs, i));
    assert_int_equal(table_errs_count(&errs), n);
    for (unsigned i = 0; i < n; i++)
        assert_string_equal(table_errs_at(&errs, i), q(want[i]));
    assert_int_equal(compile_json(q(rules)), RULE_EINVAL);
    assert_string_equal(err, q(want[0]));
}

#define EXPECT_ERRORS(rules, ...)                                           \
    do {                                                                    \
        static const char *const w_[] = {__VA_ARGS__};                      \
        expect_errors(rules, w_, sizeof w_ / sizeof w_[0]);                 \
    } while (0)

static void test_every_error(void **state)
{
    (void)state;
    /* every key of a rule, every condition of a match, every step */
    EXPECT_ERRORS(
        "[{'name':'a b','kind':'sequence','severity':'urgent',"
        "'match':{'tool_nme':'x','agent_id':'','cost_usd':{'>':1}},"
        "'steps':[{'error':1},{'tool_name':'a'},{'event_typ':'x'}],"
        "'within_s':0,'windw_s':5,'group_by':['tool_nam']}]",
        "rules[0].name: expected a name of letters, digits, - and _, got "
        "'a b'",
        "rules[0].severity: expected one of 'info', 'warning', 'error', "
        "'critical', got 'urgent'",
        "rules[0].match.tool_nme: unknown field; did you mean tool_name?",
        "rules[0].match.agent_id: expected a non-empty glob, got ''",
        "rules[0].steps[0].error: expected true or false, got 1",
        "rules[0].steps[2].event_typ: unknown field; did you mean "
        "event_type?",
        "rules[0].within_s: expected an integer between 1 and 2073600, got 0",
        "rules[0].windw_s: unknown key; did you mean window_s?",
        "rules[0].group_by[0]: unknown field 'tool_nam'; did you mean "
        "tool_name?");
    /* every override, once the rule's keys are good; duplicate keys */
    EXPECT_ERRORS(
        "[{" BASE "'kind':'count','window_s':1,'threshold':1,"
        "'group_by':['tool_name'],'threshold':2,"
        "'overrides':[{'match':{'agent_id':'x'},'threshold':2},"
        "{'match':{'tool_name':'x'},'threshold':-1},"
        "{'match':{'tool_name':'y'},'enabled':false}]}]",
        "rules[0].threshold: duplicate key");
    EXPECT_ERRORS(
        "[{" BASE "'kind':'count','window_s':1,'threshold':1,"
        "'group_by':['tool_name'],"
        "'overrides':[{'match':{'agent_id':'x'},'threshold':2},"
        "{'match':{'tool_name':'x'},'threshold':-1},"
        "{'match':{'tool_name':'y'},'enabled':false}]}]",
        "rules[0].overrides[0].match.agent_id: not a group_by field of this "
        "rule (group_by: tool_name)",
        "rules[0].overrides[1].threshold: expected a number between 0 and "
        "1000000000000, got -1");
    /* every bad value of each override: each error of its match, each
     * field not in group_by, then threshold or enabled */
    EXPECT_ERRORS(
        "[{" BASE "'kind':'count','window_s':1,'threshold':1,"
        "'group_by':['tool_name'],"
        "'overrides':[{'match':{'agent_id':'x','tool_nme':'y'},"
        "'threshold':-1},"
        "{'match':{'agent_id':'x','session_id':'y'},'enabled':true},"
        "{'match':{'tool_name':'','error':1},'threshold':2,"
        "'enabled':false},"
        "{'threshold':'x'},"
        "{'match':{'tool_name':'x'},'threshold':3}]}]",
        "rules[0].overrides[0].match.tool_nme: unknown field; did you mean "
        "tool_name?",
        "rules[0].overrides[0].threshold: expected a number between 0 and "
        "1000000000000, got -1",
        "rules[0].overrides[1].match.agent_id: not a group_by field of this "
        "rule (group_by: tool_name)",
        "rules[0].overrides[1].match.session_id: not a group_by field of "
        "this rule (group_by: tool_name)",
        "rules[0].overrides[1].enabled: expected false (an override that "
        "does not mute sets a threshold), got true",
        "rules[0].overrides[2].match.tool_name: expected a non-empty glob, "
        "got ''",
        "rules[0].overrides[2].match.error: expected true or false, got 1",
        "rules[0].overrides[2]: threshold and enabled exclude each other (an "
        "override sets a threshold or mutes)",
        "rules[0].overrides[3].match: missing; an override names the "
        "group_by values it applies to",
        "rules[0].overrides[3].threshold: expected a number between 0 and "
        "1000000000000, got 'x'");
    /* a kind without a threshold, and a match that is good */
    EXPECT_ERRORS(
        "[{" BASE "'kind':'sequence','steps':[{},{}],'within_s':1,"
        "'group_by':['tool_name'],"
        "'overrides':[{'match':{'agent_id':'x'},'threshold':2}]}]",
        "rules[0].overrides[0].match.agent_id: not a group_by field of this "
        "rule (group_by: tool_name)",
        "rules[0].overrides[0].threshold: kind sequence has no threshold");
    /* every rule; a refused rule's name is no duplicate; a kind that
     * is not known: nothing else of that rule */
    EXPECT_ERRORS(
        "[{'name':'a','kind':'cuont','severity':'x','bogus':1},"
        "{" BASE "'kind':'count','window_s':1,'threshold':1,'bogus':1},"
        "{'name':'a','kind':'count','severity':'info','window_s':1,"
        "'threshold':1},"
        "{'name':'a','kind':'absence','severity':'info','threshold':0}]",
        "rules[0].kind: unknown kind 'cuont'; did you mean count?",
        "rules[1].bogus: unknown key; the keys of kind count are name, kind, "
        "severity, description, runbook_url, labels, match, exclude, "
        "group_by, window_s, threshold, clear_threshold, overrides, hold_s, "
        "repeat_interval_s, max_keys",
        "rules[3].threshold: expected a number between 1 and 2073600, got 0");
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_kinds_minimal),
        T(test_required_keys),
        T(test_foreign_keys),
        T(test_unknown_keys),
        T(test_kind_errors),
        T(test_names),
        T(test_severity),
        T(test_texts),
        T(test_labels),
        T(test_group_by),
        T(test_ranges),
        T(test_clear_threshold),
        T(test_kind_fields),
        T(test_numerator_and_steps),
        T(test_match_exclude),
        T(test_overrides),
        T(test_overrides_limits),
        T(test_engine_settings),
        T(test_list),
        T(test_metadata_across_rules),
        T(test_round_trip_everything),
        T(test_misc),
        T(test_rule_compile),
        T(test_every_error),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
