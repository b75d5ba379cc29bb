/*
 * table.c - apply a JSON object to a struct through a table_item table.
 *
 * Strict: an unknown key, a value of the wrong JSON type or out of range is
 * an error naming the path ("detectors.volume.threshold") and what was
 * expected, and quoting what was given (cut to a few dozen bytes).  Numbers
 * for TABLE_INT must be integral; booleans must be JSON true/false (not 0/1).
 * A bad value of a TABLE_F_ENV setting is never quoted: it may be the secret
 * itself, pasted where the variable's name belongs.
 *
 * After a bad key the walk goes on (the *_errs walkers and struct
 * table_errs): every mistake of a file is found in one run, in file
 * order, so the first error is the one a walk that stopped would give.
 *
 * table_items_dump() is the walker in reverse: the effective values as a
 * cJSON object, for check-config.
 */
#include "base/table.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOT_MAX 48 /* bytes of a bad value quoted in a message */

void table_fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* The value as JSON text, cut to GOT_MAX bytes (with "..."). */
static void got_text(const cJSON *v, char *out, size_t size)
{
    char *p = cJSON_PrintUnformatted(v);
    size_t n;

    if (p == NULL) {
        snprintf(out, size, "(unprintable)");
        return;
    }
    n = strlen(p);
    if (n > GOT_MAX) {
        /* do not cut inside a UTF-8 sequence */
        n = GOT_MAX;
        while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
            n--;
        snprintf(out, size, "%.*s...", (int)n, p);
    } else {
        snprintf(out, size, "%s", p);
    }
    cJSON_free(p);
}

void table_value_text(const cJSON *v, char *out, size_t size)
{
    got_text(v, out, size);
}

static void fmt_num(double d, char *out, size_t size)
{
    snprintf(out, size, "%.15g", d);
}

static void expected(const struct table_item *it, char *out, size_t size)
{
    char lo[32], hi[32];
    size_t len = 0;

    switch (it->type) {
    case TABLE_BOOL:
        snprintf(out, size, "true or false");
        break;
    case TABLE_INT:
    case TABLE_DOUBLE:
        fmt_num(it->min, lo, sizeof lo);
        fmt_num(it->max, hi, sizeof hi);
        snprintf(out, size, "%s between %s and %s",
                 it->type == TABLE_INT ? "an integer" : "a number", lo, hi);
        break;
    case TABLE_ENUM:
        out[0] = '\0';
        len = (size_t)snprintf(out, size, "one of");
        for (size_t i = 0; it->names[i] != NULL && len < size; i++)
            len += (size_t)snprintf(out + len, size - len, "%s \"%s\"",
                                    i ? "," : "", it->names[i]);
        break;
    case TABLE_STRING:
        if (it->flags & TABLE_F_ENV)
            snprintf(out, size, "%s", TABLE_ENV_EXPECTED);
        else
            snprintf(out, size, "a non-empty string of at most %zu bytes",
                     it->size - 1);
        break;
    case TABLE_STRLIST:
        snprintf(out, size,
                 "an array of at most %d non-empty strings of at most %d "
                 "bytes",
                 TABLE_LIST_MAX, TABLE_LIST_ITEM_MAX - 1);
        break;
    case TABLE_SECTION:
    case TABLE_CUSTOM:
        snprintf(out, size, "an object");
        break;
    }
}

int table_fail_expected(const cJSON *v, const char *path, const char *want,
                        char *err, size_t errsz)
{
    char got[GOT_MAX + 8];

    got_text(v, got, sizeof got);
    table_fail(err, errsz, "%s: expected %s, got %s", path, want, got);
    return TABLE_EINVAL;
}

static int bad(const struct table_item *it, const cJSON *v, const char *path,
               char *err, size_t errsz)
{
    char want[256];

    expected(it, want, sizeof want);
    if (it->type == TABLE_STRING && (it->flags & TABLE_F_ENV)) {
        table_fail(err, errsz, "%s: expected %s", path, want);
        return TABLE_EINVAL;
    }
    return table_fail_expected(v, path, want, err, errsz);
}

int table_env_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TABLE_ENV_NAME_MAX - 1 || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        /* ASCII only, whatever the locale */
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

static void store_str(char *dst, size_t size, const char *s, unsigned flags)
{
    size_t n = strlen(s);

    if (n > size - 1)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (flags & TABLE_F_LOWER)
                     ? (char)tolower((unsigned char)s[i])
                     : s[i];
    dst[n] = '\0';
}

static void list_from_csv(struct table_strlist *l, const char *csv,
                          unsigned flags)
{
    const char *p = csv;

    memset(l, 0, sizeof *l);
    while (p != NULL && *p != '\0' && l->n < TABLE_LIST_MAX) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char tmp[TABLE_LIST_ITEM_MAX];

        if (n > sizeof tmp - 1)
            n = sizeof tmp - 1;
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        store_str(l->v[l->n++], TABLE_LIST_ITEM_MAX, tmp, flags);
        p = c ? c + 1 : NULL;
    }
}

void table_items_defaults(const struct table_item *items, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        const struct table_item *it = &items[i];
        char *f = (char *)base + it->offset;

        switch (it->type) {
        case TABLE_BOOL:
        case TABLE_ENUM:
            *(int *)(void *)f = (int)it->def;
            break;
        case TABLE_INT:
            *(int64_t *)(void *)f = (int64_t)it->def;
            break;
        case TABLE_DOUBLE:
            *(double *)(void *)f = it->def;
            break;
        case TABLE_STRING:
            store_str(f, it->size, it->def_str ? it->def_str : "",
                      it->flags);
            break;
        case TABLE_STRLIST:
            list_from_csv((struct table_strlist *)(void *)f, it->def_str,
                          it->flags);
            break;
        case TABLE_SECTION:
            table_items_defaults(it->items, it->nitems, f);
            break;
        case TABLE_CUSTOM:
            if (it->defaults != NULL)
                it->defaults(base);
            break;
        }
    }
}

const struct table_item *table_items_find(const struct table_item *items, size_t n,
                                      const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].name, name) == 0)
            return &items[i];
    return NULL;
}

int table_strlist_has(const struct table_strlist *l, const char *s)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

/* Every bad string of a list (one message each); the list is set only
 * when all are good. */
static int apply_list(const struct table_item *it, struct table_strlist *l,
                      const cJSON *v, const char *path,
                      struct table_errs *errs)
{
    struct table_strlist tmp;
    const cJSON *e;
    int i = 0, rc = TABLE_OK;

    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > TABLE_LIST_MAX)
        return table_errs_keep(errs, bad(it, v, path,
                                         TABLE_ERRS_SLOT(errs)));
    memset(&tmp, 0, sizeof tmp);
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e) || e->valuestring[0] == '\0' ||
            strlen(e->valuestring) > TABLE_LIST_ITEM_MAX - 1) {
            char got[GOT_MAX + 8];
            got_text(e, got, sizeof got);
            rc = table_errs_add(errs, "%s[%d]: expected a non-empty string "
                                "of at most %d bytes, got %s", path, i,
                                TABLE_LIST_ITEM_MAX - 1, got);
        } else {
            store_str(tmp.v[tmp.n++], TABLE_LIST_ITEM_MAX, e->valuestring,
                      it->flags);
        }
        i++;
    }
    if (rc == TABLE_OK)
        *l = tmp;
    return rc;
}

/* A value of one setting that is not a table of its own (no walk of
 * members: one message at most). */
static int leaf_apply(const struct table_item *it, void *base,
                      const cJSON *v, const char *path, char *err,
                      size_t errsz)
{
    char *f = (char *)base + it->offset;
    double d;

    switch (it->type) {
    case TABLE_BOOL:
        if (!cJSON_IsBool(v))
            return bad(it, v, path, err, errsz);
        *(int *)(void *)f = cJSON_IsTrue(v) ? 1 : 0;
        return TABLE_OK;
    case TABLE_INT:
        if (!cJSON_IsNumber(v))
            return bad(it, v, path, err, errsz);
        d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || d < it->min || d > it->max)
            return bad(it, v, path, err, errsz);
        *(int64_t *)(void *)f = (int64_t)d;
        return TABLE_OK;
    case TABLE_DOUBLE:
        if (!cJSON_IsNumber(v))
            return bad(it, v, path, err, errsz);
        d = v->valuedouble;
        if (!isfinite(d) || d < it->min || d > it->max)
            return bad(it, v, path, err, errsz);
        *(double *)(void *)f = d;
        return TABLE_OK;
    case TABLE_ENUM:
        if (cJSON_IsString(v))
            for (int i = 0; it->names[i] != NULL; i++)
                if (strcmp(it->names[i], v->valuestring) == 0) {
                    *(int *)(void *)f = i;
                    return TABLE_OK;
                }
        return bad(it, v, path, err, errsz);
    case TABLE_STRING:
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
            strlen(v->valuestring) > it->size - 1)
            return bad(it, v, path, err, errsz);
        if ((it->flags & TABLE_F_ENV) && !table_env_name_ok(v->valuestring))
            return bad(it, v, path, err, errsz);
        if (it->check != NULL) {
            const char *want = it->check(v->valuestring);
            if (want != NULL)
                return table_fail_expected(v, path, want, err, errsz);
        }
        store_str(f, it->size, v->valuestring, it->flags);
        return TABLE_OK;
    case TABLE_STRLIST: /* table_item_apply_errs() */
        break;
    case TABLE_CUSTOM:
        if (it->apply != NULL)
            return it->apply(base, v, path, err, errsz);
        break;
    case TABLE_SECTION:
        break;
    }
    return bad(it, v, path, err, errsz);
}

/* Walks members (a section, a list, a custom item that lists its
 * errors)? */
static int walks(const struct table_item *it)
{
    return it->type == TABLE_SECTION || it->type == TABLE_STRLIST ||
           (it->type == TABLE_CUSTOM && it->apply_errs != NULL);
}

int table_item_apply_errs(const struct table_item *it, void *base,
                          const cJSON *v, const char *path,
                          struct table_errs *errs)
{
    if (it->type == TABLE_SECTION)
        return table_items_apply_errs(it->items, it->nitems,
                                      (char *)base + it->offset, v, path,
                                      errs);
    if (it->type == TABLE_CUSTOM && it->apply_errs != NULL)
        return it->apply_errs(base, v, path, errs);
    if (it->type == TABLE_STRLIST)
        return apply_list(it,
                          (struct table_strlist *)(void *)((char *)base +
                                                           it->offset),
                          v, path, errs);
    return table_errs_keep(errs, leaf_apply(it, base, v, path,
                                            TABLE_ERRS_SLOT(errs)));
}

int table_item_apply(const struct table_item *it, void *base, const cJSON *v,
                   const char *path, char *err, size_t errsz)
{
    struct table_errs1 one;

    if (!walks(it))
        return leaf_apply(it, base, v, path, err, errsz);
    return table_errs1_done(
        &one, table_item_apply_errs(it, base, v, path, table_errs1_init(&one)),
        err, errsz);
}

int table_items_apply_errs(const struct table_item *items, size_t n,
                           void *base, const cJSON *obj, const char *path,
                           struct table_errs *errs)
{
    const cJSON *m;
    char sub[256];
    int rc = TABLE_OK;

    if (!cJSON_IsObject(obj)) {
        char got[GOT_MAX + 8];
        got_text(obj, got, sizeof got);
        return table_errs_add(errs, "%s: expected an object, got %s",
                              path[0] ? path : "(top level)", got);
    }
    cJSON_ArrayForEach(m, obj)
    {
        const struct table_item *it = table_items_find(items, n, m->string);
        int r;

        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "",
                 m->string);
        if (it == NULL)
            r = table_errs_add(errs, "%s: unknown key", sub);
        else if ((r = table_errs_keep(errs, table_duplicate(
                                                obj, m, sub,
                                                TABLE_ERRS_SLOT(errs)))) ==
                 TABLE_OK)
            r = table_item_apply_errs(it, base, m, sub, errs);
        if (r == TABLE_ENOMEM) {
            rc = r;
            goto out;
        }
        if (r != TABLE_OK)
            rc = TABLE_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if ((items[i].flags & TABLE_F_REQUIRED) &&
            cJSON_GetObjectItemCaseSensitive(obj, items[i].name) == NULL) {
            char want[256];
            expected(&items[i], want, sizeof want);
            rc = table_errs_add(errs, "%s%s%s: missing; expected %s", path,
                                path[0] ? "." : "", items[i].name, want);
        }
out:
    return rc;
}

int table_items_apply(const struct table_item *items, size_t n, void *base,
                    const cJSON *obj, const char *path, char *err,
                    size_t errsz)
{
    struct table_errs1 one;
    struct table_errs *errs = table_errs1_init(&one);
    int rc = table_items_apply_errs(items, n, base, obj, path, errs);

    return table_errs1_done(&one, rc, err, errsz);
}

/* ---- the error list ---- */

void table_errs_init(struct table_errs *e, char (*msg)[TABLE_ERR_MAX],
                     unsigned cap)
{
    e->msg = msg;
    e->cap = msg != NULL ? cap : 0;
    e->n = 0;
    table_errs_slot(e);
}

char *table_errs_slot(struct table_errs *e)
{
    char *s = e->n < e->cap ? e->msg[e->n] : e->spare;

    s[0] = '\0';
    return s;
}

/* Count the message in the slot; the next slot starts empty. */
static void commit(struct table_errs *e)
{
    if (e->n < UINT_MAX)
        e->n++;
    table_errs_slot(e);
}

int table_errs_keep(struct table_errs *e, int rc)
{
    const char *s = e->n < e->cap ? e->msg[e->n] : e->spare;

    if (rc != TABLE_OK && s[0] != '\0')
        commit(e);
    return rc;
}

int table_errs_add(struct table_errs *e, const char *fmt, ...)
{
    char *s = table_errs_slot(e);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s, TABLE_ERR_MAX, fmt, ap);
    va_end(ap);
    commit(e);
    return TABLE_EINVAL;
}

unsigned table_errs_count(const struct table_errs *e)
{
    return e->n;
}

unsigned table_errs_kept(const struct table_errs *e)
{
    return e->n < e->cap ? e->n : e->cap;
}

char *table_errs_at(struct table_errs *e, unsigned i)
{
    return e->msg[i];
}

void table_errs_first(const struct table_errs *e, char *err, size_t errsz)
{
    if (e->n > 0 && e->cap > 0)
        table_fail(err, errsz, "%s", e->msg[0]);
}

struct table_errs *table_errs1_init(struct table_errs1 *o)
{
    table_errs_init(&o->errs, o->msg, 1);
    return &o->errs;
}

int table_errs1_done(const struct table_errs1 *o, int rc, char *err,
                     size_t errsz)
{
    if (rc != TABLE_OK)
        table_errs_first(&o->errs, err, errsz);
    return rc;
}

int table_duplicate(const cJSON *obj, const cJSON *m, const char *path,
                    char *err, size_t errsz)
{
    for (const cJSON *e = obj->child; e != NULL && e != m; e = e->next)
        if (strcmp(e->string, m->string) == 0) {
            table_fail(err, errsz, "%s: duplicate key", path);
            return TABLE_EINVAL;
        }
    return TABLE_OK;
}

const struct table_item *table_items_missing(const struct table_item *items,
                                             size_t n, const cJSON *obj)
{
    for (size_t i = 0; i < n; i++)
        if ((items[i].flags & TABLE_F_REQUIRED) &&
            cJSON_GetObjectItemCaseSensitive(obj, items[i].name) == NULL)
            return &items[i];
    return NULL;
}

/* ---- the effective configuration as JSON ---- */

/* "x_env" -> "x" into out; 0 if the name does not end in "_env". */
static int secret_name(const char *env_key, char *out, size_t size)
{
    size_t n = strlen(env_key);

    if (n < 5 || strcmp(env_key + n - 4, "_env") != 0 || n - 4 >= size)
        return 0;
    memcpy(out, env_key, n - 4);
    out[n - 4] = '\0';
    return 1;
}

static int add(cJSON *obj, const char *name, cJSON *v)
{
    if (v == NULL)
        return TABLE_ENOMEM;
    if (!cJSON_AddItemToObject(obj, name, v)) {
        cJSON_Delete(v);
        return TABLE_ENOMEM;
    }
    return TABLE_OK;
}

static int dump_item(const struct table_item *it, const void *base,
                     cJSON *obj, unsigned flags)
{
    const char *f = (const char *)base + it->offset;
    const struct table_strlist *l;
    cJSON *v = NULL;
    char sname[TABLE_ENV_NAME_MAX];
    int rc, idx, count = 0;

    switch (it->type) {
    case TABLE_BOOL:
        return add(obj, it->name,
                   cJSON_CreateBool(*(const int *)(const void *)f));
    case TABLE_INT:
        if ((it->flags & TABLE_F_UNSET) &&
            *(const int64_t *)(const void *)f == (int64_t)it->def)
            return TABLE_OK;
        return add(obj, it->name,
                   cJSON_CreateNumber(
                       (double)*(const int64_t *)(const void *)f));
    case TABLE_DOUBLE:
        if (isnan(*(const double *)(const void *)f))
            return TABLE_OK;
        return add(obj, it->name,
                   cJSON_CreateNumber(*(const double *)(const void *)f));
    case TABLE_ENUM:
        /* a check() may store another enum's value after parsing (e.g.
         * stream_stalled's one-choice group_by): a one-name table can only
         * mean that name; any other index out of the table is left out */
        idx = *(const int *)(const void *)f;
        while (it->names[count] != NULL)
            count++;
        if (count == 1)
            idx = 0;
        if (idx < 0 || idx >= count)
            return TABLE_OK;
        return add(obj, it->name, cJSON_CreateString(it->names[idx]));
    case TABLE_STRING:
        if (f[0] == '\0')
            return TABLE_OK;
        rc = add(obj, it->name, cJSON_CreateString(f));
        if (rc == TABLE_OK && (it->flags & TABLE_F_ENV) &&
            (flags & TABLE_DUMP_SECRETS) &&
            secret_name(it->name, sname, sizeof sname)) {
            const char *val = getenv(f);
            rc = add(obj, sname,
                     cJSON_CreateString(val != NULL && val[0] != '\0'
                                            ? "<set>"
                                            : "<unset>"));
        }
        return rc;
    case TABLE_STRLIST:
        l = (const struct table_strlist *)(const void *)f;
        if ((v = cJSON_CreateArray()) == NULL)
            return TABLE_ENOMEM;
        for (uint32_t i = 0; i < l->n; i++) {
            cJSON *s = cJSON_CreateString(l->v[i]);
            if (s == NULL || !cJSON_AddItemToArray(v, s)) {
                cJSON_Delete(s);
                cJSON_Delete(v);
                return TABLE_ENOMEM;
            }
        }
        return add(obj, it->name, v);
    case TABLE_SECTION:
        if ((v = cJSON_CreateObject()) == NULL)
            return TABLE_ENOMEM;
        rc = table_items_dump(it->items, it->nitems, f, v, flags);
        if (rc != TABLE_OK) {
            cJSON_Delete(v);
            return rc;
        }
        return add(obj, it->name, v);
    case TABLE_CUSTOM:
        return it->dump != NULL ? it->dump(base, obj, it->name, flags)
                                : TABLE_OK;
    }
    return TABLE_OK;
}

int table_items_dump(const struct table_item *items, size_t n, const void *base,
                   cJSON *obj, unsigned flags)
{
    int rc = TABLE_OK;

    for (size_t i = 0; i < n && rc == TABLE_OK; i++)
        rc = dump_item(&items[i], base, obj, flags);
    return rc;
}

void table_path(char *out, size_t size, const char *path, const char *key,
                int index)
{
    int n;

    if (key != NULL)
        n = snprintf(out, size, "%s%s%s", path, path[0] ? "." : "", key);
    else
        n = snprintf(out, size, "%s[%d]", path, index);
    (void)n; /* a longer path is cut: messages only */
}

const char *table_json_type(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    return "null";
}

/* ---- "did you mean ...?" ---- */

#define SUGGEST_MAX 64 /* longer words get no suggestion */

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Optimal string alignment distance (Levenshtein plus swaps of two
 * neighbours), three rows on the stack. */
static unsigned edit_distance(const char *a, size_t na, const char *b,
                              size_t nb)
{
    unsigned rows[3][SUGGEST_MAX + 1];
    unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

    for (size_t j = 0; j <= nb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= nb; j++) {
            unsigned cost = fold((unsigned char)a[i - 1]) !=
                            fold((unsigned char)b[j - 1]);
            unsigned d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 &&
                fold((unsigned char)a[i - 1]) ==
                    fold((unsigned char)b[j - 2]) &&
                fold((unsigned char)a[i - 2]) ==
                    fold((unsigned char)b[j - 1]) &&
                prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
        {
            unsigned *t = prev2;
            prev2 = prev;
            prev = cur;
            cur = t;
        }
    }
    return prev[nb];
}

void table_suggest_init(struct table_suggest *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->dist = UINT_MAX;
}

void table_suggest_add(struct table_suggest *s, const char *candidate)
{
    size_t nw = strlen(s->word), nc = strlen(candidate);
    size_t longer = nw > nc ? nw : nc;
    unsigned d;

    if (nw > SUGGEST_MAX || nc > SUGGEST_MAX)
        return;
    d = edit_distance(s->word, nw, candidate, nc);
    if (d <= 2 && 3 * (size_t)d <= longer && d < s->dist) {
        s->best = candidate;
        s->dist = d;
    }
}

void table_suggest_items(struct table_suggest *s,
                         const struct table_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        table_suggest_add(s, items[i].name);
}

const char *table_suggest_best(const struct table_suggest *s)
{
    return s->best;
}
