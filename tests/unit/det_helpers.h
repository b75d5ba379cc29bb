/*
 * det_helpers.h - shared by the engine and rule tests: build events, run
 * an engine over rules written as JSON with synthetic time, and capture
 * its alerts.
 *
 * Rules are written with single quotes for readability ("[{'name':'v',
 * ...}]"); eng_json() turns them into double quotes and compiles them.
 * eng_default() takes default rules (rule_defaults_json) with members
 * patched.  Each engine's rule set is kept with it and freed by
 * eng_free().
 *
 * Header-only (static functions): each test binary includes it once.
 */
#ifndef TW_TEST_DET_HELPERS_H
#define TW_TEST_DET_HELPERS_H

#include "alerts/document.h"
#include "consumer/decode.h"
#include "detectors/engine.h"
#include "detectors/kind.h"
#include "detectors/rule.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* every helper: a test binary uses some of them */
#define DH_FN static __attribute__((unused))

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */
#define SEC 1000LL

#define CAP_MAX 4096

struct cap_alert {
    int resolved;
    char rule[RULE_NAME_MAX + 1];
    char kind[16];
    char key[DET_KEY_MAX];
    char id[ALERT_ID_HEX + 1];
    char summary[ALERT_SUMMARY_MAX];
    char record_id[EVENT_ID_MAX];
    uint32_t ngroup;
    char gname[ALERT_GROUP_MAX][EVENT_META_NAME_MAX + 16];
    char gvalue[ALERT_GROUP_MAX][EVENT_NAME_MAX];
    double value, threshold;
    int64_t window_s;
    int64_t ts, started, resolved_at;
};

struct cap {
    int n;
    struct cap_alert a[CAP_MAX];
};

DH_FN void cap_on_alert(void *ud, const struct alert *a)
{
    struct cap *c = ud;
    struct cap_alert *x;

    if (c->n >= CAP_MAX)
        return;
    x = &c->a[c->n++];
    memset(x, 0, sizeof *x);
    x->resolved = a->resolved;
    snprintf(x->rule, sizeof x->rule, "%s", a->rule);
    snprintf(x->kind, sizeof x->kind, "%s", a->kind);
    snprintf(x->key, sizeof x->key, "%s", a->key);
    snprintf(x->id, sizeof x->id, "%s", a->id);
    snprintf(x->summary, sizeof x->summary, "%s", a->summary);
    snprintf(x->record_id, sizeof x->record_id, "%s",
             a->sample ? a->sample->record_id : "");
    x->ngroup = a->ngroup;
    for (uint32_t i = 0; i < a->ngroup; i++) {
        snprintf(x->gname[i], sizeof x->gname[i], "%s", a->group[i].name);
        snprintf(x->gvalue[i], sizeof x->gvalue[i], "%s", a->group[i].value);
    }
    x->value = a->value;
    x->threshold = a->threshold;
    x->window_s = a->window_s;
    x->ts = a->timestamp_ms;
    x->started = a->started_ms;
    x->resolved_at = a->resolved ? a->resolved_ms : -1;
}

static const struct det_engine_callbacks cap_cb = {.on_alert = cap_on_alert};

/* ---- engines over rules ---- */

#define ENG_MAX 16
static struct {
    det_engine *e;
    struct rule_set *rs;
} eng_sets[ENG_MAX];

/* A set compiled from JSON in single quotes; fails the test on error. */
DH_FN struct rule_set *rules_compile(const char *json)
{
    char *t = strdup(json), err[512];
    struct rule_set *rs = NULL;
    cJSON *j;

    assert_non_null(t);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    j = cJSON_Parse(t);
    if (j == NULL)
        fail_msg("not JSON: %s", t);
    if (rule_set_compile(&rs, j, "rules", err, sizeof err) != RULE_OK)
        fail_msg("rules refused: %s", err);
    cJSON_Delete(j);
    free(t);
    return rs;
}

/* An engine over rules `json` (single quotes), settings tweaked, its
 * alerts added to *c (not reset: a reload's engine shares it). */
DH_FN det_engine *eng_more(struct cap *c, const char *json,
                            void (*tweak)(struct det_engine_params *))
{
    struct det_engine_params p;
    struct rule_set *rs = rules_compile(json);
    det_engine *e;
    int i = 0;

    det_engine_params_defaults(&p);
    if (tweak != NULL)
        tweak(&p);
    e = det_engine_create(&p, rs, "test", &cap_cb, c);
    assert_non_null(e);
    while (i < ENG_MAX && eng_sets[i].e != NULL)
        i++;
    assert_true(i < ENG_MAX);
    eng_sets[i].e = e;
    eng_sets[i].rs = rs;
    return e;
}

/* eng_more() with *c reset first. */
DH_FN det_engine *eng_json(struct cap *c, const char *json,
                            void (*tweak)(struct det_engine_params *))
{
    if (c != NULL)
        memset(c, 0, sizeof *c);
    return eng_more(c, json, tweak);
}

DH_FN void eng_free(det_engine *e)
{
    for (int i = 0; i < ENG_MAX; i++)
        if (eng_sets[i].e == e && e != NULL) {
            det_engine_destroy(e);
            rule_set_destroy(eng_sets[i].rs);
            eng_sets[i].e = NULL;
            eng_sets[i].rs = NULL;
        }
}

/* The default rule `name` ("*": all six) with the members of `patch` (a
 * JSON object in single quotes, or NULL) set, as JSON text in *out. */
DH_FN void default_rules(const char *name, const char *patch, char *out,
                          size_t size)
{
    cJSON *all = cJSON_Parse(rule_defaults_json()), *r, *next, *p = NULL;
    char *t;

    assert_non_null(all);
    if (patch != NULL) {
        char *q = strdup(patch);
        for (char *x = q; *x; x++)
            if (*x == '\'')
                *x = '"';
        p = cJSON_Parse(q);
        free(q);
        assert_non_null(p);
    }
    for (r = all->child; r != NULL; r = next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "name");
        next = r->next;
        if (strcmp(name, "*") != 0 && strcmp(n->valuestring, name) != 0) {
            cJSON_Delete(cJSON_DetachItemViaPointer(all, r));
            continue;
        }
        for (cJSON *m = p != NULL ? p->child : NULL; m != NULL; m = m->next) {
            cJSON *v = cJSON_Duplicate(m, 1);
            if (cJSON_GetObjectItemCaseSensitive(r, m->string) != NULL)
                cJSON_ReplaceItemInObjectCaseSensitive(r, m->string, v);
            else
                cJSON_AddItemToObject(r, m->string, v);
        }
    }
    t = cJSON_PrintUnformatted(all);
    snprintf(out, size, "%s", t);
    cJSON_free(t);
    cJSON_Delete(all);
    cJSON_Delete(p);
}

DH_FN det_engine *eng_default(struct cap *c, const char *name,
                               const char *patch,
                               void (*tweak)(struct det_engine_params *))
{
    static char json[16384];

    default_rules(name, patch, json, sizeof json);
    return eng_json(c, json, tweak);
}

/* A rule's counters (by name). */
DH_FN struct det_rule_info rinfo(const det_engine *e, const char *name)
{
    struct det_rule_info ri;

    for (uint32_t i = 0; det_engine_rule_info(e, i, &ri) == 0; i++)
        if (strcmp(ri.name, name) == 0)
            return ri;
    fail_msg("no rule %s", name);
    memset(&ri, 0, sizeof ri);
    return ri;
}

/* ---- events ---- */

DH_FN unsigned long long ev_seq;

/* A completed call (tool_call_response) at T0 + ms. */
DH_FN struct event ev_call(int64_t ms, const char *tool, const char *agent)
{
    struct event ev;

    memset(&ev, 0, sizeof ev);
    ev.has = EVENT_HAS_TIMESTAMP;
    ev.type = EVENT_TOOL_CALL_RESPONSE;
    ev.status = EVENT_STATUS_SUCCESS;
    ev.ts_ms = T0 + ms;
    snprintf(ev.record_id, sizeof ev.record_id, "r-%llu", ++ev_seq);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", tool);
    snprintf(ev.agent_id, sizeof ev.agent_id, "%s", agent);
    snprintf(ev.session_id, sizeof ev.session_id, "s-%s", agent);
    return ev;
}

DH_FN struct event ev_error(int64_t ms, const char *tool, const char *agent)
{
    struct event ev = ev_call(ms, tool, agent);

    ev.type = EVENT_TOOL_CALL_ERROR;
    ev.status = EVENT_STATUS_ERROR;
    snprintf(ev.error_code, sizeof ev.error_code, "E_FAIL");
    return ev;
}

/* A completed call of tool "llm" by `agent` at T0 + ms costing usd. */
DH_FN struct event ev_cost(int64_t ms, const char *agent, double usd)
{
    struct event ev = ev_call(ms, "llm", agent);

    ev.has |= EVENT_HAS_COST;
    ev.cost_usd = usd;
    return ev;
}

/* A completed call of `tool` by agent "a" at T0 + ms that took d ms. */
DH_FN struct event ev_slow(int64_t ms, const char *tool, double d)
{
    struct event ev = ev_call(ms, tool, "a");

    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = d;
    return ev;
}

DH_FN int feed(det_engine *e, struct event ev)
{
    return det_engine_feed(e, &ev, 0);
}

/* n calls of `tool` evenly from T0 + from_ms, step_ms apart. */
DH_FN void feed_calls(det_engine *e, int n, int64_t from_ms, int64_t step_ms,
                       const char *tool, const char *agent)
{
    for (int i = 0; i < n; i++)
        feed(e, ev_call(from_ms + i * step_ms, tool, agent));
}

#endif
