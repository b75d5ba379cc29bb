/*
 * rule.c - compile the `rules` list into rule definitions (see rule.h).
 *
 * A rule object is walked member by member, in the order written, through
 * three settings tables: the keys every rule has before the kind's
 * (head_items, over struct rule), the kind's own (rule_kinds[k].items,
 * over struct rule_params) and those after (tail_items, over struct rule).
 * The kind is read first, since it decides which keys are allowed.
 * overrides wait until the walk is over: they name group_by fields, which
 * may come later in the object.  Then required keys and the checks that
 * span several keys.  The same tables, in the same order, print the rule
 * back (rule_dump), so the dump has one fixed key order.
 *
 * Invariants of a compiled rule: every match is compiled against the
 * set's metadata table; override matches name group_by fields only;
 * clear_threshold is NaN or at most the threshold; types is not 0.
 */
#include "detectors/rule.h"

#include "detectors/distinct.h"
#include "detectors/engine.h"
#include "model/severity.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_SIZE 256 /* a path in a message */
#define GOT_SIZE 64   /* a quoted value */
#define LIST_SIZE 512 /* a list of names in a message */

/* Is v a JSON array of min to max elements?  Else the message "path:
 * expected a list of [min to] max <what>, got ..." and RULE_EINVAL. */
static int check_list(const cJSON *v, int min, int max, const char *what,
                      const char *path, char *err, size_t errsz)
{
    char want[320];
    int n = cJSON_GetArraySize(v);

    if (cJSON_IsArray(v) && n >= min && n <= max)
        return RULE_OK;
    if (min > 0)
        snprintf(want, sizeof want, "a list of %d to %d %s", min, max, what);
    else
        snprintf(want, sizeof want, "a list of at most %d %s", max, what);
    return table_fail_expected(v, path, want, err, errsz);
}

/* The rule of a custom item's base, and its params. */
#define RULE_OF(base) ((struct rule *)(base))
#define PARAMS_OF(base) ((struct rule_params *)(base))

/* ---- custom keys of struct rule_params ---- */

static int field_apply(struct rule_params *p, const cJSON *v,
                       const char *path, enum match_type want, char *err,
                       size_t errsz)
{
    char want_s[160], name[EVENT_META_NAME_MAX + 16];
    int rc;

    snprintf(want_s, sizeof want_s, "the name of a %s field (%s)",
             want == MATCH_T_NUMBER ? "number" : "string",
             match_field_names(want));
    if (!cJSON_IsString(v))
        return table_fail_expected(v, path, want_s, err, errsz);
    rc = match_field_resolve(v->valuestring, p->meta, &p->field, path, 0,
                             err, errsz);
    if (rc != MATCH_OK)
        return rc;
    if (match_field_type(p->field) != want) {
        match_field_name(p->field, p->meta, name, sizeof name);
        table_fail(err, errsz, "%s: %s is a %s field; expected %s", path,
                   name,
                   match_field_type(p->field) == MATCH_T_NUMBER ? "number"
                   : match_field_type(p->field) == MATCH_T_BOOL ? "boolean"
                                                                : "string",
                   want_s);
        return RULE_EINVAL;
    }
    p->has_field = 1;
    return RULE_OK;
}

static int field_number_apply(void *base, const cJSON *v, const char *path,
                              char *err, size_t errsz)
{
    return field_apply(PARAMS_OF(base), v, path, MATCH_T_NUMBER, err, errsz);
}

static int field_string_apply(void *base, const cJSON *v, const char *path,
                              char *err, size_t errsz)
{
    return field_apply(PARAMS_OF(base), v, path, MATCH_T_STRING, err, errsz);
}

/* Add `v` to obj as `name`, taking it; RULE_ENOMEM when v is NULL. */
static int add(cJSON *obj, const char *name, cJSON *v)
{
    if (v == NULL || !cJSON_AddItemToObject(obj, name, v)) {
        cJSON_Delete(v);
        return RULE_ENOMEM;
    }
    return RULE_OK;
}

static int add_match(cJSON *obj, const char *name, const struct match *m,
                     const struct match_meta *meta)
{
    cJSON *v;

    if (match_dump(m, meta, &v) != MATCH_OK)
        return RULE_ENOMEM;
    return add(obj, name, v);
}

static int field_dump(const void *base, cJSON *obj, const char *name,
                      unsigned flags)
{
    const struct rule_params *p = base;
    char f[EVENT_META_NAME_MAX + 16];

    (void)flags;
    if (!p->has_field)
        return RULE_OK;
    match_field_name(p->field, p->meta, f, sizeof f);
    return add(obj, name, cJSON_CreateString(f));
}

static int numerator_apply(void *base, const cJSON *v, const char *path,
                           char *err, size_t errsz)
{
    struct rule_params *p = base;

    return match_compile(&p->numerator, v, path, p->meta, err, errsz);
}

static int numerator_dump(const void *base, cJSON *obj, const char *name,
                          unsigned flags)
{
    const struct rule_params *p = base;

    (void)flags;
    return add_match(obj, name, &p->numerator, p->meta);
}

/* Every step's errors; a refused step keeps its place (the empty match),
 * so the next one is still named steps[i]. */
static int steps_apply(void *base, const cJSON *v, const char *path,
                       struct table_errs *errs)
{
    struct rule_params *p = base;
    char sub[PATH_SIZE];
    const cJSON *e;
    int rc = table_errs_keep(errs, check_list(v, RULE_STEPS_MIN,
                                              RULE_STEPS_MAX,
                                              "match objects", path,
                                              TABLE_ERRS_SLOT(errs)));

    if (rc != RULE_OK)
        return rc;
    p->nsteps = 0;
    cJSON_ArrayForEach(e, v)
    {
        int r;

        table_path(sub, sizeof sub, path, NULL, (int)p->nsteps);
        r = match_compile_errs(&p->steps[p->nsteps], e, sub, p->meta, errs);
        if (r == MATCH_ENOMEM)
            return r;
        if (r != MATCH_OK)
            rc = RULE_EINVAL;
        p->nsteps++;
    }
    return rc;
}

static int steps_dump(const void *base, cJSON *obj, const char *name,
                      unsigned flags)
{
    const struct rule_params *p = base;
    cJSON *a = cJSON_CreateArray(), *m;

    (void)flags;
    for (uint32_t i = 0; a != NULL && i < p->nsteps; i++) {
        if (match_dump(&p->steps[i], p->meta, &m) != MATCH_OK ||
            !cJSON_AddItemToArray(a, m)) {
            cJSON_Delete(m);
            cJSON_Delete(a);
            return RULE_ENOMEM;
        }
    }
    return add(obj, name, a);
}

/* ---- the kinds' keys ---- */

#define P_INT(n, d, lo, hi, fl, h)                                          \
    {.name = #n, .type = TABLE_INT,                                          \
     .offset = offsetof(struct rule_params, n),                             \
     .def = (d), .min = (lo), .max = (hi), .flags = (fl), .help = (h)}
#define P_DBL(n, d, lo, hi, fl, h)                                          \
    {.name = #n, .type = TABLE_DOUBLE,                                       \
     .offset = offsetof(struct rule_params, n), .def = (d), .min = (lo),    \
     .max = (hi), .flags = (fl), .help = (h)}
#define P_CUSTOM(n, ap, dp, fl, h)                                          \
    {.name = #n, .type = TABLE_CUSTOM, .apply = (ap), .dump = (dp),          \
     .flags = (fl), .help = (h)}
/* a custom key that lists every error of its value */
#define P_CUSTOM_ERRS(n, ap, dp, fl, h)                                     \
    {.name = #n, .type = TABLE_CUSTOM, .apply_errs = (ap), .dump = (dp),     \
     .flags = (fl), .help = (h)}

#define REQ TABLE_F_REQUIRED
#define WINDOW_REQ                                                          \
    P_INT(window_s, 0, 1, RULE_WINDOW_MAX_S, REQ,                           \
          "the sliding window, in seconds of event time")
#define WINDOW_QUIET                                                        \
    P_INT(window_s, 300, 1, RULE_WINDOW_MAX_S, 0,                           \
          "an open alert resolves after this many seconds without a new "   \
          "occurrence")
#define THRESHOLD(hi, h) P_DBL(threshold, NAN, 0, (hi), REQ, (h))
#define CLEAR(hi)                                                           \
    P_DBL(clear_threshold, NAN, 0, (hi), 0,                                 \
          "an open alert resolves at or under this (default: the "         \
          "threshold)")
#define FIELD_NUMBER(fl, h)                                                 \
    P_CUSTOM(field, field_number_apply, field_dump, (fl), (h))
#define FIELD_STRING(h)                                                     \
    P_CUSTOM(field, field_string_apply, field_dump, REQ, (h))

static const struct table_item count_items[] = {
    WINDOW_REQ,
    THRESHOLD(1e12, "fires when more events than this are in the window"),
    CLEAR(1e12),
};

static const struct table_item sum_items[] = {
    FIELD_NUMBER(REQ, "the number field to add up"),
    WINDOW_REQ,
    THRESHOLD(1e15, "fires when the sum in the window exceeds this"),
    CLEAR(1e15),
};

static const struct table_item ratio_items[] = {
    P_CUSTOM(numerator, numerator_apply, numerator_dump, REQ,
             "a match object: the events counted above the line"),
    WINDOW_REQ,
    THRESHOLD(1, "fires when numerator / events in the window exceeds "
                 "this (0 to 1)"),
    CLEAR(1),
    P_INT(min_count, 10, 1, 1e9, 0,
          "fewer events than this in the window are too few to judge"),
};

static const struct table_item distinct_items[] = {
    FIELD_STRING("the string field whose distinct values are counted"),
    WINDOW_REQ,
    THRESHOLD(DISTINCT_KEPT_MAX - 1,
              "fires when more distinct values than this are in the "
                   "window"),
    CLEAR(DISTINCT_KEPT_MAX - 1),
};

static const struct table_item max_items[] = {
    FIELD_NUMBER(REQ, "the number field compared, event by event"),
    THRESHOLD(1e15, "fires when the value of one event exceeds this"),
    WINDOW_QUIET,
};

static const struct table_item sequence_items[] = {
    P_CUSTOM_ERRS(steps, steps_apply, steps_dump, REQ,
             "2 to 5 match objects, met by events of a group in this order"),
    P_INT(within_s, 0, 1, RULE_WINDOW_MAX_S, REQ,
          "the last step at most this many seconds after the first"),
    WINDOW_QUIET,
};

static const struct table_item new_value_items[] = {
    FIELD_STRING("the string field whose new values fire"),
    P_INT(learn_s, 0, 0, RULE_WINDOW_MAX_S, REQ,
          "seconds after the first event of a group during which values "
          "are learned silently"),
    P_INT(max_values, 1000, 1, 100000, 0,
          "values a group remembers; the least recently seen is forgotten"),
    WINDOW_QUIET,
};

static const struct table_item baseline_items[] = {
    P_INT(bucket_s, 0, 1, 86400, REQ,
          "the bucket, in seconds; buckets are aligned to multiples of it"),
    P_INT(history, 60, 3, 1000, 0,
          "closed buckets that make the baseline"),
    P_DBL(deviation, 6, 0.1, 100, 0,
          "how many robust deviations above the median fire"),
    P_DBL(min_value, 1, 0, 1e15, 0,
          "a bucket below this never fires"),
    FIELD_NUMBER(0, "a number field: the sum per bucket instead of the "
                    "count of events"),
};

static const struct table_item absence_items[] = {
    P_DBL(threshold, NAN, 1, RULE_WINDOW_MAX_S, REQ,
          "fires when a group seen before has no event for more than this "
          "many seconds"),
};

#define KIND(n, items, fl) {n, items, sizeof items / sizeof items[0], (fl)}
#define THR_CLEAR (RULE_KF_THRESHOLD | RULE_KF_CLEAR)

const struct rule_kind rule_kinds[RULE_KINDS] = {
    [RULE_K_COUNT] = KIND("count", count_items, THR_CLEAR),
    [RULE_K_SUM] = KIND("sum", sum_items, THR_CLEAR),
    [RULE_K_RATIO] = KIND("ratio", ratio_items, THR_CLEAR),
    [RULE_K_DISTINCT] = KIND("distinct", distinct_items,
                             THR_CLEAR | RULE_KF_FIELD_KEY),
    [RULE_K_MAX] = KIND("max", max_items, RULE_KF_THRESHOLD),
    [RULE_K_SEQUENCE] = KIND("sequence", sequence_items, 0),
    [RULE_K_NEW_VALUE] = KIND("new_value", new_value_items,
                              RULE_KF_FIELD_KEY),
    [RULE_K_BASELINE] = KIND("baseline", baseline_items, 0),
    [RULE_K_ABSENCE] = KIND("absence", absence_items, RULE_KF_THRESHOLD),
};

int rule_kind_find(const char *name)
{
    for (int k = 0; k < RULE_KINDS; k++)
        if (strcmp(rule_kinds[k].name, name) == 0)
            return k;
    return -1;
}

/* "count, sum, ..., absence" */
static void kind_list(char *out, size_t size)
{
    size_t len = 0;

    out[0] = '\0';
    for (int k = 0; k < RULE_KINDS && len < size; k++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", k ? ", " : "",
                                rule_kinds[k].name);
}

/* ---- custom keys of struct rule ---- */

static int kind_apply(void *base, const cJSON *v, const char *path,
                      char *err, size_t errsz)
{
    struct table_suggest s;
    char list[LIST_SIZE], want[LIST_SIZE + 16];
    int k;

    kind_list(list, sizeof list);
    if (!cJSON_IsString(v)) {
        snprintf(want, sizeof want, "one of %s", list);
        return table_fail_expected(v, path, want, err, errsz);
    }
    if ((k = rule_kind_find(v->valuestring)) >= 0) {
        RULE_OF(base)->kind = k;
        return RULE_OK;
    }
    table_suggest_init(&s, v->valuestring);
    for (k = 0; k < RULE_KINDS; k++)
        table_suggest_add(&s, rule_kinds[k].name);
    if (table_suggest_best(&s) != NULL)
        table_fail(err, errsz, "%s: unknown kind \"%.*s\"; did you mean %s?",
                   path, GOT_SIZE, v->valuestring, table_suggest_best(&s));
    else
        table_fail(err, errsz, "%s: unknown kind \"%.*s\"; expected one of %s",
                   path, GOT_SIZE, v->valuestring, list);
    return RULE_EINVAL;
}

static int kind_dump(const void *base, cJSON *obj, const char *name,
                     unsigned flags)
{
    (void)flags;
    return add(obj, name,
               cJSON_CreateString(rule_kinds[RULE_OF(base)->kind].name));
}

static const char *name_check(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return "a name of letters, digits, - and _";
    return NULL;
}

static const char *url_check(const char *s)
{
    size_t n = strncasecmp(s, "https://", 8) == 0   ? 8
               : strncasecmp(s, "http://", 7) == 0 ? 7
                                                   : 0;

    if (n == 0 || s[n] == '\0' || s[n] == '/')
        return "an http:// or https:// URL with a host, without spaces";
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return "an http:// or https:// URL with a host, without spaces";
    return NULL;
}

static int label_key_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > RULE_LABEL_KEY_MAX - 1)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-.") == n;
}

/* Every label's first error; the good ones are kept. */
static int labels_apply(void *base, const cJSON *v, const char *path,
                        struct table_errs *errs)
{
    struct rule *r = base;
    char sub[PATH_SIZE], want[96];
    const cJSON *e;
    int n = cJSON_GetArraySize(v), rc = RULE_OK;

    if (!cJSON_IsObject(v) || n > RULE_LABELS_MAX) {
        snprintf(want, sizeof want,
                 "an object of at most %d labels (name -> string)",
                 RULE_LABELS_MAX);
        return table_errs_keep(errs, table_fail_expected(
                                         v, path, want,
                                         TABLE_ERRS_SLOT(errs)));
    }
    free(r->labels);
    r->labels = NULL;
    r->nlabels = 0;
    if (n == 0)
        return RULE_OK;
    if ((r->labels = calloc((size_t)n, sizeof *r->labels)) == NULL)
        return RULE_ENOMEM;
    snprintf(want, sizeof want, "a non-empty string of at most %d bytes",
             RULE_LABEL_VALUE_MAX - 1);
    cJSON_ArrayForEach(e, v)
    {
        table_path(sub, sizeof sub, path, e->string, 0);
        if (table_errs_keep(errs, table_duplicate(v, e, sub,
                                                  TABLE_ERRS_SLOT(errs))) !=
            TABLE_OK) {
            rc = RULE_EINVAL;
        } else if (!label_key_ok(e->string)) {
            rc = table_errs_add(errs, "%s: expected a label name of "
                                "letters, digits, _, - and . (1 to %d "
                                "bytes)", sub, RULE_LABEL_KEY_MAX - 1);
        } else if (!cJSON_IsString(e) || e->valuestring[0] == '\0' ||
                   strlen(e->valuestring) > RULE_LABEL_VALUE_MAX - 1) {
            rc = table_errs_keep(errs, table_fail_expected(
                                           e, sub, want,
                                           TABLE_ERRS_SLOT(errs)));
        } else {
            memcpy(r->labels[r->nlabels].key, e->string,
                   strlen(e->string) + 1);
            memcpy(r->labels[r->nlabels].value, e->valuestring,
                   strlen(e->valuestring) + 1);
            r->nlabels++;
        }
    }
    return rc;
}

static int labels_dump(const void *base, cJSON *obj, const char *name,
                       unsigned flags)
{
    const struct rule *r = base;
    cJSON *o;

    (void)flags;
    if (r->nlabels == 0)
        return RULE_OK;
    if ((o = cJSON_CreateObject()) == NULL)
        return RULE_ENOMEM;
    for (uint32_t i = 0; i < r->nlabels; i++)
        if (add(o, r->labels[i].key,
                cJSON_CreateString(r->labels[i].value)) != RULE_OK) {
            cJSON_Delete(o);
            return RULE_ENOMEM;
        }
    return add(obj, name, o);
}

static int match_apply(void *base, const cJSON *v, const char *path,
                       struct table_errs *errs)
{
    struct rule *r = base;

    return match_compile_errs(&r->match, v, path, r->p.meta, errs);
}

static int exclude_apply(void *base, const cJSON *v, const char *path,
                         struct table_errs *errs)
{
    struct rule *r = base;

    return match_compile_errs(&r->exclude, v, path, r->p.meta, errs);
}

/* match and exclude: left out when empty */
static int match_dump_item(const void *base, cJSON *obj, const char *name,
                           unsigned flags)
{
    const struct rule *r = base;
    const struct match *m =
        strcmp(name, "match") == 0 ? &r->match : &r->exclude;

    (void)flags;
    return m->ncond ? add_match(obj, name, m, r->p.meta) : RULE_OK;
}

/* One group_by entry: its field, or RULE_EINVAL with the message in
 * err. */
static int group_field(const struct rule *r, const cJSON *e,
                       const char *sub, struct match_field *f, char *err,
                       size_t errsz)
{
    char name[EVENT_META_NAME_MAX + 16];
    int rc;

    if (!cJSON_IsString(e))
        return table_fail_expected(e, sub, "the name of a string field",
                                   err, errsz);
    rc = match_field_resolve(e->valuestring, r->p.meta, f, sub, 0, err,
                             errsz);
    if (rc != MATCH_OK)
        return rc;
    match_field_name(*f, r->p.meta, name, sizeof name);
    if (match_field_type(*f) != MATCH_T_STRING) {
        table_fail(err, errsz, "%s: %s is not a string field; expected one "
                   "of %s", sub, name, match_field_names(MATCH_T_STRING));
        return RULE_EINVAL;
    }
    for (uint32_t i = 0; i < r->ngroup; i++)
        if (match_field_equal(r->group_by[i], *f)) {
            table_fail(err, errsz, "%s: %s is already in group_by", sub,
                       name);
            return RULE_EINVAL;
        }
    return RULE_OK;
}

/* Every entry's error; the good ones are kept. */
static int group_apply(void *base, const cJSON *v, const char *path,
                       struct table_errs *errs)
{
    struct rule *r = base;
    char sub[PATH_SIZE], what[256];
    const cJSON *e;
    int i = 0, rc, x;

    snprintf(what, sizeof what, "string fields (%s)",
             match_field_names(MATCH_T_STRING));
    if ((rc = table_errs_keep(errs, check_list(v, 0, RULE_GROUP_MAX, what,
                                               path,
                                               TABLE_ERRS_SLOT(errs)))) !=
        RULE_OK)
        return rc;
    r->ngroup = 0;
    cJSON_ArrayForEach(e, v)
    {
        struct match_field f;

        table_path(sub, sizeof sub, path, NULL, i++);
        x = table_errs_keep(errs, group_field(r, e, sub, &f,
                                              TABLE_ERRS_SLOT(errs)));
        if (x == RULE_ENOMEM)
            return x;
        if (x != RULE_OK)
            rc = RULE_EINVAL;
        else
            r->group_by[r->ngroup++] = f;
    }
    return rc;
}

static int group_dump(const void *base, cJSON *obj, const char *name,
                      unsigned flags)
{
    const struct rule *r = base;
    char f[EVENT_META_NAME_MAX + 16];
    cJSON *a = cJSON_CreateArray();

    (void)flags;
    for (uint32_t i = 0; a != NULL && i < r->ngroup; i++) {
        cJSON *s;
        match_field_name(r->group_by[i], r->p.meta, f, sizeof f);
        s = cJSON_CreateString(f);
        if (s == NULL || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            cJSON_Delete(a);
            return RULE_ENOMEM;
        }
    }
    return add(obj, name, a);
}

/* ---- overrides ---- */

/* The group_by fields of r, for a message: "tool_name, agent_id" or
 * "none". */
static void group_list(const struct rule *r, char *out, size_t size)
{
    char f[EVENT_META_NAME_MAX + 16];
    size_t len = 0;

    snprintf(out, size, "none");
    for (uint32_t i = 0; i < r->ngroup && len < size; i++) {
        match_field_name(r->group_by[i], r->p.meta, f, sizeof f);
        len += (size_t)snprintf(out + len, size - len, "%s%s",
                                i ? ", " : "", f);
    }
}

/* The override's match names group_by fields only: each other field's
 * message. */
static int override_fields(const struct rule *r, const struct match *m,
                           const char *path, struct table_errs *errs)
{
    char f[EVENT_META_NAME_MAX + 16], sub[PATH_SIZE], groups[LIST_SIZE];
    int rc = RULE_OK;

    for (uint32_t i = 0; i < m->ncond; i++) {
        struct match_field cf = match_cond_field(m, i);
        uint32_t g = 0;

        while (g < r->ngroup && !match_field_equal(r->group_by[g], cf))
            g++;
        if (g < r->ngroup)
            continue;
        match_field_name(cf, r->p.meta, f, sizeof f);
        table_path(sub, sizeof sub, path, f, 0);
        group_list(r, groups, sizeof groups);
        rc = table_errs_add(errs, "%s: not a group_by field of this rule "
                            "(group_by: %s)", sub, groups);
    }
    return rc;
}

/* An override's keys: each unknown or repeated one.  RULE_OK or
 * RULE_EINVAL. */
static int override_keys(const cJSON *v, const char *path,
                         struct table_errs *errs)
{
    static const char *const keys[] = {"match", "threshold", "enabled"};
    char sub[PATH_SIZE];
    const cJSON *e;
    int rc = RULE_OK;

    cJSON_ArrayForEach(e, v)
    {
        struct table_suggest s;
        size_t i = 0;

        table_path(sub, sizeof sub, path, e->string, 0);
        while (i < 3 && strcmp(keys[i], e->string) != 0)
            i++;
        if (i == 3) {
            table_suggest_init(&s, e->string);
            for (i = 0; i < 3; i++)
                table_suggest_add(&s, keys[i]);
            if (table_suggest_best(&s) != NULL)
                rc = table_errs_add(errs, "%s: unknown key; did you mean "
                                    "%s?", sub, table_suggest_best(&s));
            else
                rc = table_errs_add(errs, "%s: unknown key; expected match, "
                                    "threshold or enabled", sub);
        } else if (table_errs_keep(errs, table_duplicate(
                                             v, e, sub,
                                             TABLE_ERRS_SLOT(errs))) !=
                   TABLE_OK) {
            rc = RULE_EINVAL;
        }
    }
    return rc;
}

/* An override's threshold, with the kind's own threshold item: the same
 * type, range and message. */
static int override_threshold(const struct rule *r, struct rule_override *o,
                              const cJSON *t, const char *path,
                              struct table_errs *errs)
{
    const struct rule_kind *k = &rule_kinds[r->kind];
    const struct table_item *thr =
        table_items_find(k->items, k->nitems, "threshold");
    struct rule_params tmp;
    int rc;

    if (thr == NULL)
        return table_errs_add(errs, "%s: kind %s has no threshold", path,
                              k->name);
    memset(&tmp, 0, sizeof tmp);
    rc = table_errs_keep(errs, table_item_apply(thr, &tmp, t, path,
                                                TABLE_ERRS_SLOT(errs)));
    if (rc == TABLE_OK)
        o->threshold = tmp.threshold;
    return rc;
}

/* One override whose keys are good: each value's errors (every error of
 * its match, each field that is not a group_by field, then threshold or
 * enabled), in that order. */
static int override_apply(struct rule *r, struct rule_override *o,
                          const cJSON *v, const char *path,
                          struct table_errs *errs)
{
    const cJSON *m, *t, *en;
    char sub[PATH_SIZE];
    int rc = RULE_OK;

    if (!cJSON_IsObject(v))
        return table_errs_keep(errs, table_fail_expected(
            v, path,
            "an object {\"match\": {...}, \"threshold\": n} or "
            "{\"match\": {...}, \"enabled\": false}",
            TABLE_ERRS_SLOT(errs)));
    m = cJSON_GetObjectItemCaseSensitive(v, "match");
    t = cJSON_GetObjectItemCaseSensitive(v, "threshold");
    en = cJSON_GetObjectItemCaseSensitive(v, "enabled");
    table_path(sub, sizeof sub, path, "match", 0);
    o->threshold = NAN;
    o->enabled = 1;
    if (m == NULL) {
        rc = table_errs_add(errs, "%s: missing; an override names the "
                            "group_by values it applies to", sub);
    } else if ((rc = match_compile_errs(&o->match, m, sub, r->p.meta,
                                        errs)) == MATCH_OK) {
        rc = override_fields(r, &o->match, sub, errs);
    } else if (rc == MATCH_ENOMEM) {
        return rc;
    }
    if (t != NULL && en != NULL)
        return table_errs_add(errs, "%s: threshold and enabled exclude "
                              "each other (an override sets a threshold "
                              "or mutes)", path);
    if (en != NULL) {
        table_path(sub, sizeof sub, path, "enabled", 0);
        if (!cJSON_IsFalse(en))
            return table_errs_keep(errs, table_fail_expected(
                en, sub,
                "false (an override that does not mute sets a threshold)",
                TABLE_ERRS_SLOT(errs)));
        o->enabled = 0;
        return rc;
    }
    if (t == NULL)
        return table_errs_add(errs, "%s: expected threshold or enabled: "
                              "false", path);
    table_path(sub, sizeof sub, path, "threshold", 0);
    if (override_threshold(r, o, t, sub, errs) != TABLE_OK)
        rc = RULE_EINVAL;
    return rc;
}

/* override_apply() after every key's error (override_keys()). */
static int override_apply_errs(struct rule *r, struct rule_override *o,
                               const cJSON *v, const char *path,
                               struct table_errs *errs)
{
    if (cJSON_IsObject(v) && override_keys(v, path, errs) != RULE_OK)
        return RULE_EINVAL;
    return override_apply(r, o, v, path, errs);
}

/* Every override's errors (each unknown key; else each bad value). */
static int overrides_apply(struct rule *r, const cJSON *v, const char *path,
                           struct table_errs *errs)
{
    char sub[PATH_SIZE];
    const cJSON *e;
    int n = cJSON_GetArraySize(v),
        rc = table_errs_keep(errs, check_list(v, 0, RULE_OVERRIDES_MAX,
                                              "overrides", path,
                                              TABLE_ERRS_SLOT(errs)));

    if (rc != RULE_OK)
        return rc;
    if (n == 0)
        return RULE_OK;
    if ((r->overrides = calloc((size_t)n, sizeof *r->overrides)) == NULL)
        return RULE_ENOMEM;
    cJSON_ArrayForEach(e, v)
    {
        struct rule_override *o = &r->overrides[r->noverrides];
        int x;

        match_init(&o->match);
        r->noverrides++; /* freed by rule_free() even when refused */
        table_path(sub, sizeof sub, path, NULL, (int)r->noverrides - 1);
        x = override_apply_errs(r, o, e, sub, errs);
        if (x == RULE_ENOMEM)
            return x;
        if (x != RULE_OK)
            rc = RULE_EINVAL;
    }
    return rc;
}

static int overrides_dump(const void *base, cJSON *obj, const char *name,
                          unsigned flags)
{
    const struct rule *r = base;
    cJSON *a, *o = NULL;

    (void)flags;
    if (r->noverrides == 0)
        return RULE_OK;
    if ((a = cJSON_CreateArray()) == NULL)
        return RULE_ENOMEM;
    for (uint32_t i = 0; i < r->noverrides; i++) {
        const struct rule_override *ov = &r->overrides[i];
        if ((o = cJSON_CreateObject()) == NULL ||
            !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            goto nomem;
        }
        if (add_match(o, "match", &ov->match, r->p.meta) != RULE_OK ||
            add(o, ov->enabled ? "threshold" : "enabled",
                ov->enabled ? cJSON_CreateNumber(ov->threshold)
                            : cJSON_CreateFalse()) != RULE_OK)
            goto nomem;
    }
    return add(obj, name, a);
nomem:
    cJSON_Delete(a);
    return RULE_ENOMEM;
}

/* ---- every rule's keys ---- */

#define R_STRING(n, sz, chk, fl, h)                                         \
    {.name = #n, .type = TABLE_STRING, .offset = offsetof(struct rule, n),   \
     .size = (sz), .check = (chk), .flags = (fl), .help = (h)}
#define R_CUSTOM(n, ap, dp, fl, h)                                          \
    {.name = #n, .type = TABLE_CUSTOM, .apply = (ap), .dump = (dp),          \
     .flags = (fl), .help = (h)}
#define R_CUSTOM_ERRS(n, ap, dp, fl, h)                                     \
    {.name = #n, .type = TABLE_CUSTOM, .apply_errs = (ap), .dump = (dp),     \
     .flags = (fl), .help = (h)}
/* unset (-1): the engine-wide setting; the range is the engine's (below) */
#define R_ENGINE(n, h)                                                      \
    {.name = #n, .type = TABLE_INT, .offset = offsetof(struct rule, n),      \
     .def = -1, .flags = TABLE_F_UNSET, .help = (h)}

/* Before the kind's keys. */
static const struct table_item head_items[] = {
    R_STRING(name, RULE_NAME_MAX + 1, name_check, REQ,
             "unique; letters, digits, - and _"),
    R_CUSTOM(kind, kind_apply, kind_dump, REQ, "what the rule measures"),
    {.name = "severity", .type = TABLE_ENUM,
     .offset = offsetof(struct rule, severity), .names = severity_names,
     .flags = REQ, .help = "the severity of its alerts"},
    R_STRING(description, RULE_TEXT_MAX + 1, NULL, 0,
             "travels in every alert of the rule"),
    R_STRING(runbook_url, RULE_TEXT_MAX + 1, url_check, 0,
             "travels in every alert of the rule"),
    R_CUSTOM_ERRS(labels, labels_apply, labels_dump, 0,
             "name -> string, at most 8; travel in every alert"),
    R_CUSTOM_ERRS(match, match_apply, match_dump_item, 0,
             "the events the rule sees (default: every event)"),
    R_CUSTOM_ERRS(exclude, exclude_apply, match_dump_item, 0,
             "events the rule does not see (default: none)"),
    R_CUSTOM_ERRS(group_by, group_apply, group_dump, 0,
             "0 to 3 string fields (default: [], one group)"),
};

/* After the kind's keys. */
static const struct table_item tail_items[] = {
    /* applied by rule_compile() once the walk is over */
    R_CUSTOM(overrides, NULL, overrides_dump, 0,
             "per group: another threshold, or muted"),
    R_ENGINE(hold_s, "a condition that clears and returns within this "
                     "stays one episode"),
    R_ENGINE(repeat_interval_s, "re-send a firing alert this often"),
    R_ENGINE(max_keys, "groups the rule keeps"),
};

#define NHEAD (sizeof head_items / sizeof head_items[0])
#define NTAIL (sizeof tail_items / sizeof tail_items[0])

/* Apply one item.  hold_s, repeat_interval_s and max_keys take the range
 * of the engine-wide setting of the same name (detectors/engine.h): one
 * range, written once. */
static int apply_item(const struct table_item *it, void *base,
                      const cJSON *v, const char *path,
                      struct table_errs *errs)
{
    const struct table_item *eng =
        table_items_find(det_engine_items, det_engine_nitems, it->name);
    struct table_item tmp;

    if ((it->flags & TABLE_F_UNSET) && eng != NULL) {
        tmp = *eng;
        tmp.offset = it->offset;
        tmp.flags = it->flags;
        it = &tmp;
    }
    return table_item_apply_errs(it, base, v, path, errs);
}

/* ---- one rule ---- */

static void rule_init(struct rule *r, struct match_meta *meta)
{
    memset(r, 0, sizeof *r);
    match_init(&r->match);
    match_init(&r->exclude);
    match_init(&r->p.numerator);
    for (int i = 0; i < RULE_STEPS_MAX; i++)
        match_init(&r->p.steps[i]);
    r->p.threshold = NAN;
    r->p.clear_threshold = NAN;
    r->p.meta = meta;
    table_items_defaults(head_items, NHEAD, r);
    table_items_defaults(tail_items, NTAIL, r);
}

void rule_free(struct rule *r)
{
    if (r == NULL)
        return;
    match_free(&r->match);
    match_free(&r->exclude);
    match_free(&r->p.numerator);
    for (int i = 0; i < RULE_STEPS_MAX; i++)
        match_free(&r->p.steps[i]);
    for (uint32_t i = 0; i < r->noverrides; i++)
        match_free(&r->overrides[i].match);
    free(r->overrides);
    free(r->labels);
    r->overrides = NULL;
    r->labels = NULL;
    r->noverrides = r->nlabels = 0;
    r->p.nsteps = 0;
}

/* The message for a key the rule's kind does not take. */
static int unknown_key(const struct rule_kind *k, const char *key,
                       const char *path, char *err, size_t errsz)
{
    struct table_suggest s;
    char list[LIST_SIZE];
    size_t len = 0;

    for (int o = 0; o < RULE_KINDS; o++)
        if (table_items_find(rule_kinds[o].items, rule_kinds[o].nitems,
                             key) != NULL) {
            table_fail(err, errsz, "%s: not a key of kind %s", path,
                       k->name);
            return RULE_EINVAL;
        }
    /* the keys of this rule first, then of the other kinds */
    table_suggest_init(&s, key);
    table_suggest_items(&s, head_items, NHEAD);
    table_suggest_items(&s, k->items, k->nitems);
    table_suggest_items(&s, tail_items, NTAIL);
    for (int o = 0; o < RULE_KINDS && table_suggest_best(&s) == NULL; o++)
        table_suggest_items(&s, rule_kinds[o].items, rule_kinds[o].nitems);
    if (table_suggest_best(&s) != NULL) {
        table_fail(err, errsz, "%s: unknown key; did you mean %s?", path,
                   table_suggest_best(&s));
        return RULE_EINVAL;
    }
    list[0] = '\0';
    for (size_t i = 0; i < NHEAD + k->nitems + NTAIL && len < sizeof list;
         i++) {
        const struct table_item *it =
            i < NHEAD ? &head_items[i]
            : i < NHEAD + k->nitems ? &k->items[i - NHEAD]
                                    : &tail_items[i - NHEAD - k->nitems];
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                i ? ", " : "", it->name);
    }
    table_fail(err, errsz, "%s: unknown key; the keys of kind %s are %s",
               path, k->name, list);
    return RULE_EINVAL;
}

/* Required keys: the rule's own, then the kind's; each one missing. */
static int missing_keys(const struct rule *r, const cJSON *obj,
                        const char *path, struct table_errs *errs)
{
    const struct rule_kind *k = &rule_kinds[r->kind];
    char sub[PATH_SIZE];
    int rc = RULE_OK;

    for (size_t i = 0; i < NHEAD + k->nitems; i++) {
        const struct table_item *it =
            i < NHEAD ? &head_items[i] : &k->items[i - NHEAD];

        if (!(it->flags & TABLE_F_REQUIRED) ||
            cJSON_GetObjectItemCaseSensitive(obj, it->name) != NULL)
            continue;
        table_path(sub, sizeof sub, path, it->name, 0);
        if (i < NHEAD)
            rc = table_errs_add(errs, "%s: missing; every rule requires it "
                                "(%s)", sub, it->help);
        else
            rc = table_errs_add(errs, "%s: missing; kind %s requires it "
                                "(%s)", sub, k->name, it->help);
    }
    return rc;
}

/* Checks that span keys. */
static int cross_checks(struct rule *r, const char *path, char *err,
                        size_t errsz)
{
    const struct rule_kind *k = &rule_kinds[r->kind];
    const struct rule_params *p = &r->p;
    char sub[PATH_SIZE], name[EVENT_META_NAME_MAX + 16];

    if ((k->flags & RULE_KF_CLEAR) && !isnan(p->clear_threshold) &&
        p->clear_threshold > p->threshold) {
        table_path(sub, sizeof sub, path, "clear_threshold", 0);
        table_fail(err, errsz,
                   "%s: expected a number at most the threshold (%.15g), "
                   "got %.15g",
                   sub, p->threshold, p->clear_threshold);
        return RULE_EINVAL;
    }
    if ((k->flags & RULE_KF_FIELD_KEY) && p->has_field)
        for (uint32_t i = 0; i < r->ngroup; i++)
            if (match_field_equal(r->group_by[i], p->field)) {
                match_field_name(p->field, p->meta, name, sizeof name);
                table_path(sub, sizeof sub, path, "field", 0);
                table_fail(err, errsz,
                           "%s: %s is also in group_by, so every group "
                           "would hold one value",
                           sub, name);
                return RULE_EINVAL;
            }
    r->types = match_seen_types(&r->match, &r->exclude);
    if (r->types == 0) {
        table_path(sub, sizeof sub, path, "exclude", 0);
        table_fail(err, errsz, "%s: excludes every event that match accepts",
                   sub);
        return RULE_EINVAL;
    }
    if (r->kind == RULE_K_SEQUENCE) {
        uint32_t steps = 0;
        for (uint32_t i = 0; i < p->nsteps; i++)
            steps |= p->steps[i].types;
        r->types &= steps;
        /* each step alone must be reachable */
        for (uint32_t i = 0; i < p->nsteps; i++)
            if ((p->steps[i].types & match_seen_types(&r->match,
                                                      &r->exclude)) == 0) {
                char step[PATH_SIZE];
                table_path(sub, sizeof sub, path, "steps", 0);
                table_path(step, sizeof step, sub, NULL, (int)i);
                table_fail(err, errsz,
                           "%s: no event the rule sees can meet this step",
                           step);
                return RULE_EINVAL;
            }
    }
    return RULE_OK;
}

/* One member of a rule object, at `path`; overrides wait (below). */
static int apply_key(struct rule *r, const struct rule_kind *k,
                     const cJSON *m, const char *path,
                     struct table_errs *errs)
{
    const struct table_item *it;

    if ((it = table_items_find(head_items, NHEAD, m->string)) != NULL)
        return apply_item(it, r, m, path, errs);
    if ((it = table_items_find(k->items, k->nitems, m->string)) != NULL)
        return apply_item(it, &r->p, m, path, errs);
    if (strcmp(m->string, "overrides") == 0)
        return RULE_OK; /* after group_by is known */
    if ((it = table_items_find(tail_items, NTAIL, m->string)) != NULL)
        return apply_item(it, r, m, path, errs);
    return table_errs_keep(errs, unknown_key(k, m->string, path,
                                             TABLE_ERRS_SLOT(errs)));
}

/* One rule, every error in errs: each key's, each missing key; the
 * overrides and the checks that span keys only when the keys are good
 * (they read them).  Without a good kind nothing else can be checked. */
static int rule_compile_errs(struct rule *r, const cJSON *obj,
                             const char *path, struct match_meta *meta,
                             struct table_errs *errs)
{
    const struct rule_kind *k;
    const cJSON *m;
    char sub[PATH_SIZE];
    int rc, bad = 0;

    rule_init(r, meta);
    if (!cJSON_IsObject(obj)) {
        rc = table_errs_keep(errs, table_fail_expected(
                                       obj, path, "a rule object",
                                       TABLE_ERRS_SLOT(errs)));
        goto out;
    }
    /* the kind first: it decides which keys the rule takes */
    table_path(sub, sizeof sub, path, "kind", 0);
    if ((m = cJSON_GetObjectItemCaseSensitive(obj, "kind")) == NULL) {
        char list[LIST_SIZE];
        kind_list(list, sizeof list);
        rc = table_errs_add(errs, "%s: missing; expected one of %s", sub,
                            list);
        goto out;
    }
    if ((rc = table_errs_keep(errs, kind_apply(r, m, sub,
                                               TABLE_ERRS_SLOT(errs)))) !=
        RULE_OK)
        goto out;
    k = &rule_kinds[r->kind];
    table_items_defaults(k->items, k->nitems, &r->p);
    cJSON_ArrayForEach(m, obj)
    {
        table_path(sub, sizeof sub, path, m->string, 0);
        rc = table_errs_keep(errs, table_duplicate(obj, m, sub,
                                                   TABLE_ERRS_SLOT(errs)));
        if (rc == RULE_OK)
            rc = apply_key(r, k, m, sub, errs);
        if (rc == RULE_ENOMEM)
            goto out;
        bad |= rc != RULE_OK;
    }
    if (missing_keys(r, obj, path, errs) != RULE_OK)
        bad = 1;
    if (bad) {
        rc = RULE_EINVAL;
        goto out;
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(obj, "overrides")) != NULL) {
        table_path(sub, sizeof sub, path, "overrides", 0);
        if ((rc = overrides_apply(r, m, sub, errs)) != RULE_OK)
            goto out;
    }
    rc = table_errs_keep(errs, cross_checks(r, path, TABLE_ERRS_SLOT(errs)));
out:
    if (rc == RULE_ENOMEM)
        table_errs_add(errs, "%s: out of memory", path);
    if (rc != RULE_OK)
        rule_free(r);
    return rc;
}

int rule_compile(struct rule *r, const cJSON *obj, const char *path,
                 struct match_meta *meta, char *err, size_t errsz)
{
    struct table_errs1 one;
    struct table_errs *errs = table_errs1_init(&one);
    int rc = rule_compile_errs(r, obj, path, meta, errs);

    return table_errs1_done(&one, rc, err, errsz);
}

int rule_dump(const struct rule *r, cJSON **out)
{
    const struct rule_kind *k = &rule_kinds[r->kind];
    cJSON *o = cJSON_CreateObject();
    int rc = RULE_ENOMEM;

    *out = NULL;
    if (o != NULL &&
        table_items_dump(head_items, NHEAD, r, o, 0) == TABLE_OK &&
        table_items_dump(k->items, k->nitems, &r->p, o, 0) == TABLE_OK &&
        table_items_dump(tail_items, NTAIL, r, o, 0) == TABLE_OK) {
        *out = o;
        return RULE_OK;
    }
    cJSON_Delete(o);
    return rc;
}

/* ---- the set ---- */

void rule_set_destroy(struct rule_set *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < s->n; i++)
        rule_free(&s->rules[i]);
    free(s->rules);
    free(s);
}

int rule_set_compile_errs(struct rule_set **out, const cJSON *rules,
                          const char *path, struct table_errs *errs)
{
    struct rule_set *s = NULL;
    const cJSON *e;
    char sub[PATH_SIZE];
    uint8_t *good = NULL; /* good[i]: rules[i] compiled */
    int n = cJSON_GetArraySize(rules),
        rc = table_errs_keep(errs, check_list(rules, 0, RULE_MAX, "rules",
                                              path, TABLE_ERRS_SLOT(errs)));

    *out = NULL;
    if (rc != RULE_OK)
        return rc;
    if ((s = calloc(1, sizeof *s)) == NULL ||
        (s->rules = calloc(n > 0 ? (size_t)n : 1, sizeof *s->rules)) ==
            NULL ||
        (good = calloc(n > 0 ? (size_t)n : 1, 1)) == NULL) {
        table_errs_add(errs, "%s: out of memory", path);
        rc = RULE_ENOMEM;
        goto out;
    }
    cJSON_ArrayForEach(e, rules)
    {
        struct rule *r = &s->rules[s->n];
        int x;

        table_path(sub, sizeof sub, path, NULL, (int)s->n);
        s->n++; /* destroyed with the set even when refused */
        x = rule_compile_errs(r, e, sub, &s->meta, errs);
        if (x == RULE_ENOMEM) {
            rc = x;
            goto out;
        }
        /* names are compared among the rules that compiled */
        for (uint32_t j = 0; x == RULE_OK && j + 1 < s->n; j++)
            if (good[j] && strcmp(s->rules[j].name, r->name) == 0)
                x = table_errs_add(errs, "%s.name: \"%s\" is already the "
                                   "name of %s[%u]", sub, r->name, path,
                                   (unsigned)j);
        if (x == RULE_OK)
            good[s->n - 1] = 1;
        else
            rc = RULE_EINVAL;
    }
out:
    free(good);
    if (rc != RULE_OK)
        rule_set_destroy(s);
    else
        *out = s;
    return rc;
}

int rule_set_compile(struct rule_set **out, const cJSON *rules,
                     const char *path, char *err, size_t errsz)
{
    struct table_errs1 one;
    struct table_errs *errs = table_errs1_init(&one);
    int rc = rule_set_compile_errs(out, rules, path, errs);

    return table_errs1_done(&one, rc, err, errsz);
}

const struct rule *rule_set_find(const struct rule_set *s, const char *name)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->rules[i].name, name) == 0)
            return &s->rules[i];
    return NULL;
}

int rule_set_dump(const struct rule_set *s, cJSON **out)
{
    cJSON *a = cJSON_CreateArray(), *r = NULL;

    *out = NULL;
    for (uint32_t i = 0; a != NULL && i < s->n; i++)
        if (rule_dump(&s->rules[i], &r) != RULE_OK ||
            !cJSON_AddItemToArray(a, r)) {
            cJSON_Delete(r);
            cJSON_Delete(a);
            return RULE_ENOMEM;
        }
    if (a == NULL)
        return RULE_ENOMEM;
    *out = a;
    return RULE_OK;
}

/* ---- the default rules (SPEC section 2, "Default rules") ---- */

static const char defaults_json[] =
    "[\n"
    " {\"name\": \"volume\", \"kind\": \"count\", \"severity\": \"warning\",\n"
    "  \"match\": {\"completed\": true}, \"group_by\": [\"tool_name\"],\n"
    "  \"window_s\": 60, \"threshold\": 100},\n"
    " {\"name\": \"payload_size\", \"kind\": \"max\", \"severity\": "
    "\"warning\",\n"
    "  \"match\": {\"completed\": true}, \"group_by\": [\"tool_name\"],\n"
    "  \"field\": \"response_payload_size_bytes\", \"window_s\": 300,\n"
    "  \"threshold\": 1000000},\n"
    " {\"name\": \"latency\", \"kind\": \"max\", \"severity\": \"warning\",\n"
    "  \"match\": {\"completed\": true}, \"group_by\": [\"tool_name\"],\n"
    "  \"field\": \"execution_duration_ms\", \"window_s\": 300,\n"
    "  \"threshold\": 5000},\n"
    " {\"name\": \"error_rate\", \"kind\": \"ratio\", \"severity\": "
    "\"error\",\n"
    "  \"match\": {\"completed\": true}, \"group_by\": [\"tool_name\"],\n"
    "  \"numerator\": {\"error\": true}, \"window_s\": 60,\n"
    "  \"threshold\": 0.2, \"min_count\": 10},\n"
    " {\"name\": \"credential_access\", \"kind\": \"count\", \"severity\": "
    "\"critical\",\n"
    "  \"match\": {\"completed\": true, \"tool_name\": [\"*credential*\",\n"
    "   \"*secret*\", \"*password*\", \"*token*\", \"*apikey*\", "
    "\"*auth*\"]},\n"
    "  \"group_by\": [\"agent_id\"], \"window_s\": 3600, \"threshold\": 50},\n"
    " {\"name\": \"stream_stalled\", \"kind\": \"absence\", \"severity\": "
    "\"critical\",\n"
    "  \"group_by\": [], \"threshold\": 120}\n"
    "]\n";

const char *rule_defaults_json(void)
{
    return defaults_json;
}

int rule_set_defaults(struct rule_set **out, char *err, size_t errsz)
{
    cJSON *j = cJSON_Parse(defaults_json);
    int rc;

    *out = NULL;
    if (j == NULL) {
        table_fail(err, errsz, "rules: out of memory");
        return RULE_ENOMEM;
    }
    rc = rule_set_compile(out, j, "rules", err, errsz);
    cJSON_Delete(j);
    return rc;
}

const char *rule_strerror(int rc)
{
    switch (rc) {
    case RULE_OK:
        return "ok";
    case RULE_EINVAL:
        return "the rules are not valid";
    case RULE_ENOMEM:
        return "out of memory";
    default:
        return "unknown rule error";
    }
}
