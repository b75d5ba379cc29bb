/*
 * match.c - compile match objects and evaluate them against events.
 *
 * Compilation walks the JSON object twice: once to count conditions and
 * globs (one allocation holds them all), once to check and fill them.
 * Conditions keep the order written, so messages and the dump follow the
 * file.  event_type and response_status take globs like any string field,
 * but their values are a handful of names: each condition is compiled to
 * a bitmask of the enum values its globs match, and a glob that matches
 * none of them is refused (it could only be a typo).  The globs are kept
 * for the dump.
 *
 * Invariants of a compiled struct match:
 *  - cond[0..ncond) and glob[0..nglob) live in the one block at cond
 *    (NULL when ncond == 0); condition i owns glob[glob0 .. glob0 + nglob);
 *  - types_sure is a subset of types; types is never 0 (refused at
 *    compile) except in the empty exclude, which is never consulted.
 */
#include "detectors/match.h"

#include "base/table.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_ 256  /* bytes of a path in a message */
/* conditions a match can hold: one per field, one per metadata slot */
#define CONDS_MAX (MATCH_F_COUNT - 1 + EVENT_META_MAX)
#define GOT_MAX_ 80    /* a quoted value, cut */

enum cond_form {
    FORM_GLOBS = 0, /* string field: any glob matches the value */
    FORM_ENUM,      /* event_type, response_status: bit of the value */
    FORM_NUMBER,    /* every comparison holds */
    FORM_BOOL       /* completed, error: equals arg */
};

/* Comparisons of a number condition: bit i, operand v[i]. */
enum { OP_GT = 1, OP_GE = 2, OP_LT = 4, OP_LE = 8, OP_COUNT = 4 };
static const char *const op_names[OP_COUNT] = {">", ">=", "<", "<="};

struct match_cond {
    struct match_field f;
    uint8_t form;      /* enum cond_form */
    uint8_t arg;       /* NUMBER: OP_* bits; BOOL: the value */
    uint16_t glob0;    /* GLOBS, ENUM: first glob */
    uint16_t nglob;
    uint32_t mask;     /* ENUM: bit v when the value numbered v matches */
    double v[OP_COUNT];
};

static const struct {
    const char *name;
    uint8_t type; /* enum match_type */
} fields[MATCH_F_COUNT] = {
    [MATCH_F_EVENT_TYPE] = {"event_type", MATCH_T_STRING},
    [MATCH_F_TOOL_NAME] = {"tool_name", MATCH_T_STRING},
    [MATCH_F_TOOL_CATEGORY] = {"tool_category", MATCH_T_STRING},
    [MATCH_F_AGENT_ID] = {"agent_id", MATCH_T_STRING},
    [MATCH_F_SESSION_ID] = {"session_id", MATCH_T_STRING},
    [MATCH_F_DOWNSTREAM_SYSTEM] = {"downstream_system", MATCH_T_STRING},
    [MATCH_F_RESPONSE_STATUS] = {"response_status", MATCH_T_STRING},
    [MATCH_F_ERROR_CODE] = {"error_code", MATCH_T_STRING},
    [MATCH_F_META] = {"metadata", MATCH_T_STRING},
    [MATCH_F_PAYLOAD] = {"response_payload_size_bytes", MATCH_T_NUMBER},
    [MATCH_F_DURATION] = {"execution_duration_ms", MATCH_T_NUMBER},
    [MATCH_F_TOKENS] = {"tokens_consumed", MATCH_T_NUMBER},
    [MATCH_F_COST] = {"cost_usd", MATCH_T_NUMBER},
    [MATCH_F_COMPLETED] = {"completed", MATCH_T_BOOL},
    [MATCH_F_ERROR] = {"error", MATCH_T_BOOL},
};

#define STRING_FIELDS                                                      \
    "event_type, tool_name, tool_category, agent_id, session_id, "        \
    "downstream_system, response_status, error_code, metadata.<name>"
#define NUMBER_FIELDS                                                      \
    "response_payload_size_bytes, execution_duration_ms, "                \
    "tokens_consumed, cost_usd"
#define BOOL_FIELDS "completed, error"

/* response_status values by enum event_status (NONE: absent) */
static const char *const status_names[] = {
    [EVENT_STATUS_NONE] = NULL,
    [EVENT_STATUS_SUCCESS] = "success",
    [EVENT_STATUS_ERROR] = "error",
    [EVENT_STATUS_PENDING] = "pending",
};
#define STATUS_LAST EVENT_STATUS_PENDING

#define COMPLETED_TYPES                                                    \
    (MATCH_TYPE_BIT(EVENT_TOOL_CALL_RESPONSE) |                            \
     MATCH_TYPE_BIT(EVENT_TOOL_CALL_ERROR))

/* ---- fields ---- */

enum match_type match_field_type(struct match_field f)
{
    return f.id < MATCH_F_COUNT ? (enum match_type)fields[f.id].type
                                : MATCH_T_STRING;
}

const char *match_field_names(enum match_type t)
{
    switch (t) {
    case MATCH_T_NUMBER:
        return NUMBER_FIELDS;
    case MATCH_T_BOOL:
        return BOOL_FIELDS;
    default:
        return STRING_FIELDS;
    }
}

void match_field_name(struct match_field f, const struct match_meta *meta,
                      char *out, size_t size)
{
    if (f.id == MATCH_F_META)
        snprintf(out, size, "metadata.%s",
                 meta != NULL && f.slot < meta->n ? meta->name[f.slot] : "?");
    else
        snprintf(out, size, "%s",
                 f.id < MATCH_F_COUNT ? fields[f.id].name : "?");
}

/* metadata.<name>: find or give a slot to `name`. */
static int meta_resolve(const char *name, struct match_meta *meta,
                        struct match_field *f, const char *path, char *err,
                        size_t errsz)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            n = 0;
    if (n == 0 || n > EVENT_META_NAME_MAX - 1) {
        table_fail(err, errsz,
                   "%s: expected metadata.<name>, a name of 1 to %d bytes "
                   "without control characters",
                   path, EVENT_META_NAME_MAX - 1);
        return MATCH_EINVAL;
    }
    f->id = MATCH_F_META;
    for (unsigned i = 0; i < meta->n; i++)
        if (strcmp(meta->name[i], name) == 0) {
            f->slot = (uint8_t)i;
            return MATCH_OK;
        }
    if (meta->n >= EVENT_META_MAX) {
        char used[EVENT_META_MAX * EVENT_META_NAME_MAX];
        size_t k = 0;
        for (unsigned i = 0; i < meta->n && k < sizeof used; i++)
            k += (size_t)snprintf(used + k, sizeof used - k, "%s%s",
                                  i ? ", " : "", meta->name[i]);
        table_fail(err, errsz,
                   "%s: at most %d metadata names in all rules (in use: %s)",
                   path, EVENT_META_MAX, used);
        return MATCH_EINVAL;
    }
    memcpy(meta->name[meta->n], name, n + 1);
    f->slot = (uint8_t)meta->n++;
    return MATCH_OK;
}

/* The likeliest field meant by an unknown name, into alt when built. */
static const char *field_suggest(const char *name, char *alt, size_t size)
{
    struct table_suggest s;
    const char *dot = strchr(name, '.');

    table_suggest_init(&s, name);
    for (int i = 0; i < MATCH_F_COUNT; i++)
        if (i != MATCH_F_META)
            table_suggest_add(&s, fields[i].name);
    if (table_suggest_best(&s) != NULL)
        return table_suggest_best(&s);
    /* "metdata.region" -> "metadata.region" */
    if (dot != NULL && dot - name < 16 && dot[1] != '\0') {
        char pre[16];
        memcpy(pre, name, (size_t)(dot - name));
        pre[dot - name] = '\0';
        table_suggest_init(&s, pre);
        table_suggest_add(&s, "metadata");
        if (table_suggest_best(&s) != NULL) {
            snprintf(alt, size, "metadata%s", dot);
            return alt;
        }
    }
    return NULL;
}

int match_field_resolve(const char *name, struct match_meta *meta,
                        struct match_field *f, const char *path,
                        int name_in_path, char *err, size_t errsz)
{
    char alt[EVENT_META_NAME_MAX + 16], what[GOT_MAX_ + 24];
    const char *best;

    f->id = 0;
    f->slot = 0;
    for (int i = 0; i < MATCH_F_COUNT; i++)
        if (i != MATCH_F_META && strcmp(name, fields[i].name) == 0) {
            f->id = (uint8_t)i;
            return MATCH_OK;
        }
    if (strncmp(name, "metadata.", 9) == 0 || strcmp(name, "metadata") == 0)
        return meta_resolve(name[8] ? name + 9 : "", meta, f, path, err,
                            errsz);
    if (name_in_path)
        what[0] = '\0';
    else
        snprintf(what, sizeof what, " \"%.*s\"", GOT_MAX_, name);
    best = field_suggest(name, alt, sizeof alt);
    if (best != NULL)
        table_fail(err, errsz, "%s: unknown field%s; did you mean %s?", path,
                   what, best);
    else
        table_fail(err, errsz,
                   "%s: unknown field%s; expected one of " STRING_FIELDS
                   ", " NUMBER_FIELDS ", " BOOL_FIELDS,
                   path, what);
    return MATCH_EINVAL;
}

/* Where each plain string field sits in struct event (0: not a plain
 * string field), so that the common case is a load, not a jump through a
 * table whose target changes from call to call. */
static const uint16_t string_at[MATCH_F_COUNT] = {
    [MATCH_F_TOOL_NAME] = offsetof(struct event, tool_name),
    [MATCH_F_TOOL_CATEGORY] = offsetof(struct event, tool_category),
    [MATCH_F_AGENT_ID] = offsetof(struct event, agent_id),
    [MATCH_F_SESSION_ID] = offsetof(struct event, session_id),
    [MATCH_F_DOWNSTREAM_SYSTEM] = offsetof(struct event, downstream_system),
    [MATCH_F_ERROR_CODE] = offsetof(struct event, error_code),
};

_Static_assert(offsetof(struct event, tool_name) > 0 &&
                   offsetof(struct event, tool_category) > 0 &&
                   offsetof(struct event, agent_id) > 0 &&
                   offsetof(struct event, session_id) > 0 &&
                   offsetof(struct event, downstream_system) > 0 &&
                   offsetof(struct event, error_code) > 0 &&
                   sizeof(struct event) <= UINT16_MAX,
               "string_at: 0 means not a plain string field");

/* The fields that are not plain strings: names of enums, metadata. */
static const char *string_other(const struct event *ev, struct match_field f)
{
    switch ((enum match_field_id)f.id) {
    case MATCH_F_EVENT_TYPE:
        return ev->type > EVENT_TYPE_UNKNOWN && ev->type <= EVENT_SESSION_END
                   ? event_type_name(ev->type)
                   : NULL;
    case MATCH_F_RESPONSE_STATUS:
        return ev->status > EVENT_STATUS_NONE && ev->status <= STATUS_LAST
                   ? status_names[ev->status]
                   : NULL;
    case MATCH_F_META:
        if (f.slot >= EVENT_META_MAX || !(ev->meta_has & (1u << f.slot)) ||
            ev->meta[f.slot][0] == '\0')
            return NULL;
        return ev->meta[f.slot];
    default:
        return NULL;
    }
}

__attribute__((hot))
const char *match_string(const struct event *ev, struct match_field f)
{
    unsigned at = f.id < MATCH_F_COUNT ? string_at[f.id] : 0;
    const char *s;

    if (__builtin_expect(at == 0, 0))
        return string_other(ev, f);
    s = (const char *)ev + at;
    return s[0] != '\0' ? s : NULL;
}

__attribute__((hot))
int match_number(const struct event *ev, struct match_field f, double *out)
{
    switch ((enum match_field_id)f.id) {
    case MATCH_F_PAYLOAD:
        *out = (double)ev->payload_bytes;
        return (ev->has & EVENT_HAS_PAYLOAD) != 0;
    case MATCH_F_DURATION:
        *out = ev->duration_ms;
        return (ev->has & EVENT_HAS_DURATION) != 0;
    case MATCH_F_TOKENS:
        *out = ev->tokens;
        return (ev->has & EVENT_HAS_TOKENS) != 0;
    case MATCH_F_COST:
        *out = ev->cost_usd;
        return (ev->has & EVENT_HAS_COST) != 0;
    default:
        return 0;
    }
}

static int is_completed(const struct event *ev)
{
    return ev->type == EVENT_TOOL_CALL_RESPONSE ||
           ev->type == EVENT_TOOL_CALL_ERROR;
}

static int is_error(const struct event *ev)
{
    return ev->type == EVENT_TOOL_CALL_ERROR ||
           (ev->type == EVENT_TOOL_CALL_RESPONSE &&
            ev->status == EVENT_STATUS_ERROR);
}

/* ---- evaluation ---- */

static int number_holds(const struct match_cond *c, double x)
{
    return (!(c->arg & OP_GT) || x > c->v[0]) &&
           (!(c->arg & OP_GE) || x >= c->v[1]) &&
           (!(c->arg & OP_LT) || x < c->v[2]) &&
           (!(c->arg & OP_LE) || x <= c->v[3]);
}

static int cond_holds(const struct match *m, const struct match_cond *c,
                      const struct event *ev)
{
    const char *s;
    unsigned v;
    size_t n;
    double x;

    switch ((enum cond_form)c->form) {
    case FORM_ENUM:
        v = c->f.id == MATCH_F_EVENT_TYPE ? (unsigned)ev->type
                                          : (unsigned)ev->status;
        return v < 32 && ((c->mask >> v) & 1u);
    case FORM_GLOBS:
        if ((s = match_string(ev, c->f)) == NULL)
            return 0;
        n = strlen(s);
        for (unsigned i = 0; i < c->nglob; i++)
            if (glob_match_n(&m->glob[c->glob0 + i], s, n))
                return 1;
        return 0;
    case FORM_NUMBER:
        return match_number(ev, c->f, &x) && number_holds(c, x);
    case FORM_BOOL:
        return (c->f.id == MATCH_F_COMPLETED ? is_completed(ev)
                                             : is_error(ev)) == c->arg;
    }
    return 0;
}

__attribute__((hot))
int match_eval(const struct match *m, const struct event *ev)
{
    for (uint32_t i = 0; i < m->ncond; i++)
        if (!cond_holds(m, &m->cond[i], ev))
            return 0;
    return 1;
}

__attribute__((hot))
int match_seen(const struct match *match, const struct match *exclude,
               const struct event *ev)
{
    return match_eval(match, ev) &&
           !(exclude != NULL && exclude->ncond > 0 &&
             match_eval(exclude, ev));
}

uint32_t match_seen_types(const struct match *match,
                          const struct match *exclude)
{
    uint32_t t = match->types;

    if (exclude != NULL && exclude->ncond > 0)
        t &= ~exclude->types_sure;
    return t;
}

uint32_t match_exact_values(const struct match *m, struct match_field *f,
                            const char **lit, uint32_t max)
{
    uint32_t best = 0;

    for (uint32_t i = 0; i < m->ncond; i++) {
        const struct match_cond *c = &m->cond[i];
        uint32_t k;

        if (c->form != FORM_GLOBS || c->nglob == 0 || c->nglob > max ||
            (best > 0 && c->nglob >= best))
            continue;
        for (k = 0; k < c->nglob; k++)
            if (glob_class(&m->glob[c->glob0 + k]) != GLOB_EXACT)
                break;
        if (k < c->nglob)
            continue;
        best = c->nglob;
        *f = c->f;
        for (k = 0; k < c->nglob; k++)
            lit[k] = glob_text(&m->glob[c->glob0 + k]);
    }
    return best;
}

struct match_field match_cond_field(const struct match *m, uint32_t i)
{
    return m->cond[i].f;
}

/* ---- compilation ---- */

void match_init(struct match *m)
{
    memset(m, 0, sizeof *m);
    m->types = m->types_sure = MATCH_TYPES_ALL;
}

void match_free(struct match *m)
{
    if (m == NULL)
        return;
    free(m->cond);
    match_init(m);
}

/* Globs a condition value would hold (0 for shapes refused later). */
static size_t globs_in(const cJSON *v)
{
    int n;

    if (cJSON_IsString(v))
        return 1;
    n = cJSON_GetArraySize(v);
    return cJSON_IsArray(v) && n <= MATCH_GLOBS_MAX ? (size_t)n : 0;
}

/* The values of an enum field whose names a glob matches: bit v for the
 * value numbered v. */
static uint32_t enum_mask(uint8_t field, const struct glob *g)
{
    uint32_t mask = 0;

    if (field == MATCH_F_EVENT_TYPE) {
        for (unsigned t = EVENT_TOOL_CALL_REQUEST; t <= EVENT_SESSION_END; t++)
            if (glob_match(g, event_type_name((enum event_type)t)))
                mask |= 1u << t;
    } else {
        for (unsigned t = EVENT_STATUS_SUCCESS; t <= STATUS_LAST; t++)
            if (glob_match(g, status_names[t]))
                mask |= 1u << t;
    }
    return mask;
}

static int enum_refuse(uint8_t field, const char *glob_src,
                       const char *path, char *err, size_t errsz)
{
    struct table_suggest s;
    const char *what = field == MATCH_F_EVENT_TYPE ? "event type"
                                                   : "response status";
    const char *list =
        field == MATCH_F_EVENT_TYPE
            ? "tool_call_request, tool_call_response, tool_call_error, "
              "agent_session_start, agent_session_end"
            : "success, error, pending";

    table_suggest_init(&s, glob_src);
    if (field == MATCH_F_EVENT_TYPE)
        for (unsigned t = EVENT_TOOL_CALL_REQUEST; t <= EVENT_SESSION_END; t++)
            table_suggest_add(&s, event_type_name((enum event_type)t));
    else
        for (unsigned t = EVENT_STATUS_SUCCESS; t <= STATUS_LAST; t++)
            table_suggest_add(&s, status_names[t]);
    if (table_suggest_best(&s) != NULL)
        table_fail(err, errsz, "%s: \"%.*s\" matches no %s; did you mean %s?",
                   path, GOT_MAX_, glob_src, what, table_suggest_best(&s));
    else
        table_fail(err, errsz, "%s: \"%.*s\" matches no %s (%s)", path,
                   GOT_MAX_, glob_src, what, list);
    return MATCH_EINVAL;
}

/* One glob of a string condition, at `path`. */
static int add_glob(struct match *m, struct match_cond *c, const cJSON *v,
                    const char *path, char *err, size_t errsz)
{
    struct glob *g = &m->glob[m->nglob];

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return table_fail_expected(v, path, "a non-empty glob", err,
                                   errsz);
    if (glob_compile(g, v->valuestring) != GLOB_OK)
        return table_fail_expected(v, path, glob_strerror(GLOB_ETOOLONG),
                                   err, errsz);
    if (c->form == FORM_ENUM) {
        uint32_t mask = enum_mask(c->f.id, g);
        if (mask == 0)
            return enum_refuse(c->f.id, v->valuestring, path, err,
                               errsz);
        c->mask |= mask;
    }
    m->nglob++;
    c->nglob++;
    return MATCH_OK;
}

/* A string condition's globs, each bad one's message in errs. */
static int compile_globs(struct match *m, struct match_cond *c,
                         const cJSON *v, const char *path,
                         struct table_errs *errs)
{
    char sub[PATH_MAX_];
    const cJSON *e;
    int i = 0, rc = MATCH_OK;

    c->form = (c->f.id == MATCH_F_EVENT_TYPE ||
               c->f.id == MATCH_F_RESPONSE_STATUS)
                  ? FORM_ENUM
                  : FORM_GLOBS;
    c->glob0 = (uint16_t)m->nglob;
    if (cJSON_IsString(v))
        return table_errs_keep(errs, add_glob(m, c, v, path,
                                              TABLE_ERRS_SLOT(errs)));
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 ||
        cJSON_GetArraySize(v) > MATCH_GLOBS_MAX) {
        char want[128];
        snprintf(want, sizeof want,
                 "a glob or a list of 1 to %d globs (a string field)",
                 MATCH_GLOBS_MAX);
        return table_errs_keep(errs, table_fail_expected(
                                         v, path, want,
                                         TABLE_ERRS_SLOT(errs)));
    }
    cJSON_ArrayForEach(e, v)
    {
        table_path(sub, sizeof sub, path, NULL, i++);
        if (table_errs_keep(errs, add_glob(m, c, e, sub,
                                           TABLE_ERRS_SLOT(errs))) !=
            MATCH_OK)
            rc = MATCH_EINVAL; /* on with the next glob */
    }
    return rc;
}

/* A number condition's comparisons, each bad one's message in errs; the
 * comparisons are checked against each other only when all are good. */
static int compile_number(struct match_cond *c, const cJSON *v,
                          const char *path, struct table_errs *errs)
{
    char sub[PATH_MAX_];
    const cJSON *e;
    double lo = -INFINITY, hi = INFINITY;
    int lo_strict = 0, hi_strict = 0, rc = MATCH_OK;

    c->form = FORM_NUMBER;
    if (!cJSON_IsObject(v) || v->child == NULL)
        return table_errs_keep(errs, table_fail_expected(
            v, path,
            "an object of comparisons such as {\">\": 100} (\">\", \">=\", "
            "\"<\", \"<=\"; all must hold)",
            TABLE_ERRS_SLOT(errs)));
    cJSON_ArrayForEach(e, v)
    {
        int op = 0;

        table_path(sub, sizeof sub, path, e->string, 0);
        while (op < OP_COUNT && strcmp(op_names[op], e->string) != 0)
            op++;
        if (op == OP_COUNT) {
            table_errs_add(errs,
                           "%s: unknown comparison; expected \">\", \">=\", "
                           "\"<\" or \"<=\"",
                           sub);
            rc = MATCH_EINVAL;
            continue; /* on with the next comparison */
        }
        if (table_errs_keep(errs, table_duplicate(v, e, sub,
                                                  TABLE_ERRS_SLOT(errs))) !=
            TABLE_OK) {
            rc = MATCH_EINVAL;
            continue;
        }
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
            rc = table_errs_keep(errs, table_fail_expected(
                                           e, sub, "a number",
                                           TABLE_ERRS_SLOT(errs)));
            continue;
        }
        c->arg |= (uint8_t)(1u << op);
        c->v[op] = e->valuedouble;
    }
    if (rc != MATCH_OK)
        return rc;
    if (c->arg & OP_GT) {
        lo = c->v[0];
        lo_strict = 1;
    }
    if ((c->arg & OP_GE) && c->v[1] > lo) {
        lo = c->v[1];
        lo_strict = 0;
    }
    if (c->arg & OP_LT) {
        hi = c->v[2];
        hi_strict = 1;
    }
    if ((c->arg & OP_LE) && c->v[3] < hi) {
        hi = c->v[3];
        hi_strict = 0;
    }
    if (lo > hi || (lo == hi && (lo_strict || hi_strict)))
        return table_errs_add(errs, "%s: no number meets every comparison",
                              path);
    return MATCH_OK;
}

/* The event types that may meet a condition, and those that surely do. */
static void cond_types(const struct match_cond *c, uint32_t *possible,
                       uint32_t *sure)
{
    *possible = MATCH_TYPES_ALL;
    *sure = 0;
    if (c->form == FORM_ENUM && c->f.id == MATCH_F_EVENT_TYPE) {
        *possible = *sure = c->mask & MATCH_TYPES_ALL;
    } else if (c->form == FORM_BOOL && c->f.id == MATCH_F_COMPLETED) {
        *possible = *sure = c->arg ? COMPLETED_TYPES
                                   : MATCH_TYPES_ALL & ~COMPLETED_TYPES;
    } else if (c->form == FORM_BOOL) { /* error */
        *possible = c->arg ? COMPLETED_TYPES
                           : MATCH_TYPES_ALL &
                                 ~MATCH_TYPE_BIT(EVENT_TOOL_CALL_ERROR);
        *sure = c->arg ? MATCH_TYPE_BIT(EVENT_TOOL_CALL_ERROR)
                       : MATCH_TYPES_ALL & ~COMPLETED_TYPES;
    }
}

/* One condition; its errors in errs (each bad glob of a list, each bad
 * comparison). */
static int compile_cond(struct match *m, const cJSON *v, const char *path,
                        struct match_meta *meta, struct table_errs *errs)
{
    struct match_cond *c;
    struct match_field f;
    uint32_t possible, sure;
    int rc;

    rc = table_errs_keep(errs, match_field_resolve(v->string, meta, &f, path,
                                                   1, TABLE_ERRS_SLOT(errs)));
    if (rc != MATCH_OK)
        return rc;
    /* distinct names resolve to distinct fields: at most CONDS_MAX get
     * here (duplicates were refused before) */
    c = &m->cond[m->ncond];
    memset(c, 0, sizeof *c);
    c->f = f;
    switch (match_field_type(c->f)) {
    case MATCH_T_STRING:
        rc = compile_globs(m, c, v, path, errs);
        break;
    case MATCH_T_NUMBER:
        rc = compile_number(c, v, path, errs);
        break;
    case MATCH_T_BOOL:
        c->form = FORM_BOOL;
        if (!cJSON_IsBool(v))
            return table_errs_keep(errs, table_fail_expected(
                                             v, path, "true or false",
                                             TABLE_ERRS_SLOT(errs)));
        c->arg = cJSON_IsTrue(v) ? 1 : 0;
        break;
    }
    if (rc != MATCH_OK)
        return rc;
    m->ncond++;
    cond_types(c, &possible, &sure);
    m->types &= possible;
    m->types_sure &= sure;
    return MATCH_OK;
}

int match_compile_errs(struct match *m, const cJSON *obj, const char *path,
                       struct match_meta *meta, struct table_errs *errs)
{
    char sub[PATH_MAX_];
    size_t ncond = 0, nglob = 0;
    const cJSON *v;
    int rc = MATCH_OK;

    match_free(m);
    if (obj == NULL)
        goto out;
    if (!cJSON_IsObject(obj)) {
        rc = table_errs_keep(errs, table_fail_expected(
                                       obj, path,
                                       "an object of field -> condition",
                                       TABLE_ERRS_SLOT(errs)));
        goto out;
    }
    cJSON_ArrayForEach(v, obj)
    {
        ncond++;
        nglob += globs_in(v);
    }
    if (ncond == 0)
        goto out;
    /* more members than fields: some will be refused; allocate no more
     * than a valid match can use.  A refused condition may leave globs
     * behind it: still within nglob, since only distinct fields (at most
     * CONDS_MAX) get as far as their globs. */
    if (ncond > CONDS_MAX)
        ncond = CONDS_MAX;
    if (nglob > CONDS_MAX * MATCH_GLOBS_MAX)
        nglob = CONDS_MAX * MATCH_GLOBS_MAX;
    m->cond = malloc(ncond * sizeof *m->cond + nglob * sizeof *m->glob);
    if (m->cond == NULL) {
        rc = MATCH_ENOMEM;
        table_errs_add(errs, "%s: out of memory", path);
        goto out;
    }
    m->glob = (struct glob *)(void *)(m->cond + ncond);
    cJSON_ArrayForEach(v, obj)
    {
        int r;

        table_path(sub, sizeof sub, path, v->string, 0);
        r = table_errs_keep(errs, table_duplicate(obj, v, sub,
                                                  TABLE_ERRS_SLOT(errs)));
        if (r == TABLE_OK)
            r = compile_cond(m, v, sub, meta, errs);
        if (r == MATCH_ENOMEM) {
            rc = r;
            goto out;
        }
        if (r != MATCH_OK)
            rc = MATCH_EINVAL; /* on with the next condition */
    }
    if (rc == MATCH_OK && m->types == 0)
        rc = table_errs_add(errs,
                            "%s: no event can meet every condition "
                            "(event_type, completed and error contradict)",
                            path);
out:
    if (rc != MATCH_OK)
        match_free(m);
    return rc;
}

int match_compile(struct match *m, const cJSON *obj, const char *path,
                  struct match_meta *meta, char *err, size_t errsz)
{
    struct table_errs1 one;
    struct table_errs *errs = table_errs1_init(&one);
    int rc = match_compile_errs(m, obj, path, meta, errs);

    return table_errs1_done(&one, rc, err, errsz);
}

/* ---- the dump ---- */

static cJSON *cond_json(const struct match *m, const struct match_cond *c)
{
    cJSON *v = NULL;

    switch ((enum cond_form)c->form) {
    case FORM_GLOBS:
    case FORM_ENUM:
        if (c->nglob == 1)
            return cJSON_CreateString(glob_text(&m->glob[c->glob0]));
        if ((v = cJSON_CreateArray()) == NULL)
            return NULL;
        for (unsigned i = 0; i < c->nglob; i++) {
            cJSON *s = cJSON_CreateString(glob_text(&m->glob[c->glob0 + i]));
            if (s == NULL || !cJSON_AddItemToArray(v, s)) {
                cJSON_Delete(s);
                cJSON_Delete(v);
                return NULL;
            }
        }
        return v;
    case FORM_NUMBER:
        if ((v = cJSON_CreateObject()) == NULL)
            return NULL;
        for (int op = 0; op < OP_COUNT; op++)
            if ((c->arg & (1u << op)) &&
                cJSON_AddNumberToObject(v, op_names[op], c->v[op]) == NULL) {
                cJSON_Delete(v);
                return NULL;
            }
        return v;
    case FORM_BOOL:
        return cJSON_CreateBool(c->arg);
    }
    return NULL;
}

int match_dump(const struct match *m, const struct match_meta *meta,
               cJSON **out)
{
    char name[EVENT_META_NAME_MAX + 16];
    cJSON *o = cJSON_CreateObject();

    *out = NULL;
    if (o == NULL)
        return MATCH_ENOMEM;
    for (uint32_t i = 0; i < m->ncond; i++) {
        cJSON *v = cond_json(m, &m->cond[i]);
        match_field_name(m->cond[i].f, meta, name, sizeof name);
        if (v == NULL || !cJSON_AddItemToObject(o, name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return MATCH_ENOMEM;
        }
    }
    *out = o;
    return MATCH_OK;
}
