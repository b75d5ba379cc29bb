/*
 * legacy.c - the older detectors.<name> objects as settings of the
 * default rules (legacy.h).
 *
 * Each old detector keeps its table of keys with their old types and
 * ranges (no defaults: those are the default rules').  The keys a file
 * gives are written over the default rule's members in the JSON of the
 * default rules, which is then compiled like any `rules` list, so an old
 * file and the rules it stands for cannot mean different things.
 */
#include "config/legacy.h"

#include "model/severity.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { BY_TOOL = 0, BY_AGENT, BY_SESSION, BY_GLOBAL };

static const char *const group_names[] = {"tool", "agent", "session",
                                          "global", NULL};
static const char *const global_only[] = {"global", NULL};
/* what each old group_by value is as a rule's group_by */
static const char *const group_fields[] = {"tool_name", "agent_id",
                                           "session_id", NULL};

#define L_ITEM(n, t, lo, hi, h)                                             \
    {.name = #n, .type = (t), .offset = offsetof(struct cfg_legacy_det, n), \
     .min = (lo), .max = (hi), .help = (h)}
#define L_ENABLED L_ITEM(enabled, TABLE_BOOL, 0, 0, "run this rule")
#define L_SEVERITY                                                          \
    {.name = "severity", .type = TABLE_ENUM,                                 \
     .offset = offsetof(struct cfg_legacy_det, severity),                  \
     .names = severity_names, .help = "severity of its alerts"}
#define L_GROUP(names_)                                                     \
    {.name = "group_by", .type = TABLE_ENUM,                                 \
     .offset = offsetof(struct cfg_legacy_det, group_by), .names = (names_), \
     .help = "what a group is"}
#define L_WINDOW L_ITEM(window_s, TABLE_INT, 1, 86400, "the window, seconds")
#define L_BUCKET                                                            \
    L_ITEM(bucket_ms, TABLE_INT, 0, 86400000,                               \
           "0 or a divisor of the window (no longer used)")
#define L_THRESHOLD(lo, hi)                                                 \
    L_ITEM(threshold, TABLE_DOUBLE, lo, hi, "threshold")
#define L_CLEAR(hi)                                                         \
    L_ITEM(clear_threshold, TABLE_DOUBLE, 0, hi,                            \
           "an open alert resolves at or under this")

static const struct table_item volume_items[] = {
    L_ENABLED, L_SEVERITY, L_GROUP(group_names), L_WINDOW, L_BUCKET,
    L_THRESHOLD(0, 1e12), L_CLEAR(1e12),
};
static const struct table_item per_call_items[] = {
    L_ENABLED, L_SEVERITY, L_GROUP(group_names), L_WINDOW,
    L_THRESHOLD(0, 1e12),
};
static const struct table_item error_rate_items[] = {
    L_ENABLED, L_SEVERITY, L_GROUP(group_names), L_WINDOW, L_BUCKET,
    L_THRESHOLD(0, 1), L_CLEAR(1),
    L_ITEM(min_calls, TABLE_INT, 1, 1e9, "no verdict on fewer calls"),
};
static const struct table_item credential_items[] = {
    L_ENABLED, L_SEVERITY, L_GROUP(group_names), L_WINDOW, L_BUCKET,
    L_THRESHOLD(0, 1e12), L_CLEAR(1e12),
    {.name = "keywords", .type = TABLE_STRLIST,
     .offset = offsetof(struct cfg_legacy_det, keywords),
     .flags = TABLE_F_LOWER,
     .help = "a tool whose name contains one of these is a credential "
             "tool"},
};
static const struct table_item stalled_items[] = {
    L_ENABLED, L_SEVERITY, L_GROUP(global_only), L_THRESHOLD(1, 86400),
};

#define TABLE(items) items, sizeof items / sizeof items[0]

static const struct legacy {
    const char *name;
    const struct table_item *items;
    size_t nitems;
} legacy[CFG_LEGACY_N] = {
    {"volume", TABLE(volume_items)},
    {"payload_size", TABLE(per_call_items)},
    {"latency", TABLE(per_call_items)},
    {"error_rate", TABLE(error_rate_items)},
    {"credential_access", TABLE(credential_items)},
    {"stream_stalled", TABLE(stalled_items)},
};

int cfg_legacy_find(const char *name)
{
    for (int i = 0; i < CFG_LEGACY_N; i++)
        if (strcmp(legacy[i].name, name) == 0)
            return i;
    return -1;
}

const char *cfg_legacy_name(int i)
{
    return i >= 0 && i < CFG_LEGACY_N ? legacy[i].name : "?";
}

/* The index of item `name` in detector i's table, or -1. */
static int item_index(int i, const char *name)
{
    for (size_t k = 0; k < legacy[i].nitems; k++)
        if (strcmp(legacy[i].items[k].name, name) == 0)
            return (int)k;
    return -1;
}

static int given(const struct cfg_legacy *l, int i, const char *name)
{
    int k = item_index(i, name);

    return k >= 0 && (l->d[i].given & (1u << k));
}

int cfg_legacy_apply(struct cfg_legacy *l, int i, const cJSON *obj,
                     const char *path, struct table_errs *errs)
{
    struct cfg_legacy_det *d = &l->d[i];
    const cJSON *m;
    int rc;

    if (!cJSON_IsObject(obj))
        return table_errs_keep(errs, table_fail_expected(
                                         obj, path, "an object",
                                         TABLE_ERRS_SLOT(errs)));
    rc = table_items_apply_errs(legacy[i].items, legacy[i].nitems, d, obj,
                                path, errs);
    if (rc != TABLE_OK)
        return rc;
    cJSON_ArrayForEach(m, obj)
    {
        int k = item_index(i, m->string);
        if (k >= 0)
            d->given |= 1u << k;
    }
    if (given(l, i, "keywords") && d->keywords.n == 0)
        return table_errs_add(errs, "%s.keywords: expected at least one "
                              "keyword, got []", path);
    l->any |= 1u << i;
    return TABLE_OK;
}

/* ---- the default rules' JSON, edited ---- */

/* Set obj.name to v (taking it), replacing a member of that name. */
static int set(cJSON *obj, const char *name, cJSON *v)
{
    int ok;

    if (v == NULL)
        return RULE_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL)
        ok = cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
    else
        ok = cJSON_AddItemToObject(obj, name, v);
    if (!ok)
        cJSON_Delete(v);
    return ok ? RULE_OK : RULE_ENOMEM;
}

static cJSON *group_json(int g)
{
    cJSON *a = cJSON_CreateArray();

    if (a != NULL && g >= BY_TOOL && g < BY_GLOBAL &&
        !cJSON_AddItemToArray(a, cJSON_CreateString(group_fields[g]))) {
        cJSON_Delete(a);
        a = NULL;
    }
    return a;
}

/* match.tool_name: ["*kw*", ...] */
static int keywords_json(cJSON *rule, const struct table_strlist *k)
{
    cJSON *match = cJSON_GetObjectItemCaseSensitive(rule, "match");
    cJSON *a = cJSON_CreateArray();
    char glob[TABLE_LIST_ITEM_MAX + 2];

    for (uint32_t i = 0; a != NULL && i < k->n; i++) {
        snprintf(glob, sizeof glob, "*%s*", k->v[i]);
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(glob))) {
            cJSON_Delete(a);
            a = NULL;
        }
    }
    if (a == NULL || match == NULL)
        return (cJSON_Delete(a), RULE_ENOMEM);
    return set(match, "tool_name", a);
}

/* Checks that span keys, with the old paths: clear_threshold at most the
 * threshold; bucket_ms 0 or a divisor of the window.  Each one's message
 * in errs. */
static int cross_checks(const struct cfg_legacy *l, int i, const cJSON *rule,
                        struct table_errs *errs)
{
    const struct cfg_legacy_det *d = &l->d[i];
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rule, "threshold");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(rule, "window_s");
    double thr = given(l, i, "threshold") ? d->threshold
                 : cJSON_IsNumber(t)      ? t->valuedouble
                                          : NAN;
    int64_t win_ms = (given(l, i, "window_s") ? d->window_s
                      : cJSON_IsNumber(w)     ? (int64_t)w->valuedouble
                                              : 0) *
                     1000;
    int rc = RULE_OK;

    if (given(l, i, "clear_threshold") && d->clear_threshold > thr)
        rc = table_errs_add(errs,
                            "detectors.%s.clear_threshold: expected a number "
                            "at most the threshold (%.15g), got %.15g",
                            legacy[i].name, thr, d->clear_threshold);
    if (given(l, i, "bucket_ms") && d->bucket_ms != 0 &&
        (win_ms % d->bucket_ms != 0 || win_ms / d->bucket_ms > 3600))
        rc = table_errs_add(errs,
                            "detectors.%s.bucket_ms: expected 0 or a divisor "
                            "of the window (%lld ms) giving at most 3600 "
                            "buckets, got %lld",
                            legacy[i].name, (long long)win_ms,
                            (long long)d->bucket_ms);
    return rc;
}

/* Write detector i's keys over its rule. */
static int edit_rule(const struct cfg_legacy *l, int i, cJSON *rule)
{
    const struct cfg_legacy_det *d = &l->d[i];
    int rc = RULE_OK;

    if (given(l, i, "severity"))
        rc = set(rule, "severity", cJSON_CreateString(
                                       severity_names[d->severity]));
    if (rc == RULE_OK && given(l, i, "group_by") &&
        legacy[i].items != stalled_items)
        rc = set(rule, "group_by", group_json(d->group_by));
    if (rc == RULE_OK && given(l, i, "window_s"))
        rc = set(rule, "window_s", cJSON_CreateNumber((double)d->window_s));
    if (rc == RULE_OK && given(l, i, "threshold"))
        rc = set(rule, "threshold", cJSON_CreateNumber(d->threshold));
    if (rc == RULE_OK && given(l, i, "clear_threshold"))
        rc = set(rule, "clear_threshold",
                 cJSON_CreateNumber(d->clear_threshold));
    if (rc == RULE_OK && given(l, i, "min_calls"))
        rc = set(rule, "min_count", cJSON_CreateNumber((double)d->min_calls));
    if (rc == RULE_OK && given(l, i, "keywords"))
        rc = keywords_json(rule, &d->keywords);
    return rc;
}

int cfg_legacy_rules(const struct cfg_legacy *l, struct rule_set **out,
                     struct table_errs *errs)
{
    cJSON *rules = cJSON_Parse(rule_defaults_json()), *r, *next;
    int rc = RULE_OK;

    *out = NULL;
    if (rules == NULL) {
        table_errs_add(errs, "rules: out of memory");
        return RULE_ENOMEM;
    }
    for (r = rules->child; r != NULL; r = next) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
        int i = cJSON_IsString(name) ? cfg_legacy_find(name->valuestring)
                                     : -1;

        next = r->next;
        if (i < 0 || !(l->any & (1u << i)))
            continue;
        if (given(l, i, "enabled") && !l->d[i].enabled) {
            cJSON_Delete(cJSON_DetachItemViaPointer(rules, r));
            continue;
        }
        if (cross_checks(l, i, r, errs) != RULE_OK) {
            rc = RULE_EINVAL; /* on with the next detector */
        } else if (edit_rule(l, i, r) == RULE_ENOMEM) {
            table_errs_add(errs, "detectors.%s: out of memory",
                           legacy[i].name);
            rc = RULE_ENOMEM;
            break;
        }
    }
    /* compiled only when every detector's keys are good: a bad one would
     * be refused again as its rule */
    if (rc == RULE_OK)
        rc = rule_set_compile_errs(out, rules, "rules", errs);
    cJSON_Delete(rules);
    return rc;
}
