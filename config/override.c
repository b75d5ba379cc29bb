/*
 * override.c - TOOLWATCH_* environment variables applied to the parsed
 * configuration file (override.h).
 *
 * Name to path: after the prefix, the name is cut at every "__" into
 * segments.  Walking down from the root, a segment under an array must be
 * an index (decimal, no leading zero) below the array's length; under an
 * object it names a member, matched without regard to case and with '-'
 * equal to '_' (so TOOLWATCH_STREAM__HEADERS__X_TENANT finds "X-Tenant"); a
 * missing member is created, lower-cased: an object on the way, the value
 * at the end.  A missing member followed by an index is an error (arrays
 * are never created: "index past the end").  Nothing is validated here:
 * a created key that the tables do not know is reported by the walker as
 * "unknown key", which cfg_overrides_blame() pins on the variable.
 *
 * Not overrides: the variables the file names -- the value of a key
 * ending in "_env", an element of one ending in "_envs", a member's value
 * of an object ending in "_env" (stream.headers_env) -- and
 * cfg_env_not_overrides.
 *
 * Order: variables are applied sorted by name, so TOOLWATCH_STREAM comes
 * before TOOLWATCH_STREAM__URL whatever the order of the environment.
 */
#include "config/override.h"

#include "base/utf8.h"
#include "config/config.h"
#include "config/json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_LEN (sizeof CFG_OVERRIDE_PREFIX - 1)
#define NAME_SHOWN_MAX 128 /* bytes of a variable name in a message */
#define REFS_MAX 256       /* *_env names collected from the file */

const char *const cfg_env_not_overrides[] = {
    "TOOLWATCH_BIN", "TOOLWATCH_ALLOW_CORE_DUMPS", "TOOLWATCH_LOG_LEVEL",
    "TOOLWATCH_LOG_FORMAT", NULL};

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');

    return eq != NULL ? (size_t)(eq - entry) : strlen(entry);
}

/* ---- names the file gives in *_env keys ---- */

struct refs {
    const char *v[REFS_MAX];
    size_t n;
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void collect_refs(const cJSON *node, struct refs *r)
{
    const cJSON *m, *e;

    if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
        return;
    cJSON_ArrayForEach(m, node)
    {
        if (m->string != NULL && ends_with(m->string, "_env") &&
            cJSON_IsString(m) && r->n < REFS_MAX)
            r->v[r->n++] = m->valuestring;
        if (m->string != NULL && ends_with(m->string, "_envs") &&
            cJSON_IsArray(m))
            cJSON_ArrayForEach(e, m)
            {
                if (cJSON_IsString(e) && r->n < REFS_MAX)
                    r->v[r->n++] = e->valuestring;
            }
        /* an object of names: stream.headers_env */
        if (m->string != NULL && ends_with(m->string, "_env") &&
            cJSON_IsObject(m))
            cJSON_ArrayForEach(e, m)
            {
                if (cJSON_IsString(e) && r->n < REFS_MAX)
                    r->v[r->n++] = e->valuestring;
            }
        collect_refs(m, r);
    }
}

static int skipped(const char *entry, size_t len, const struct refs *r)
{
    for (size_t i = 0; cfg_env_not_overrides[i] != NULL; i++)
        if (strlen(cfg_env_not_overrides[i]) == len &&
            memcmp(cfg_env_not_overrides[i], entry, len) == 0)
            return 1;
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->v[i]) == len && memcmp(r->v[i], entry, len) == 0)
            return 1;
    return 0;
}

/* ---- applying one variable ---- */

/* Segment equal to key: case-insensitive, '-' and '_' alike. */
static int seg_matches(const char *seg, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n && key[i] != '\0'; i++) {
        int a = toupper((unsigned char)seg[i]);
        int b = toupper((unsigned char)key[i]);
        if (a == '-')
            a = '_';
        if (b == '-')
            b = '_';
        if (a != b)
            return 0;
    }
    return i == n && key[i] == '\0';
}

/* A decimal index without leading zeros; -1 if seg is none. */
static long seg_index(const char *seg, size_t n)
{
    long v = 0;

    if (n == 0 || n > 6 || (n > 1 && seg[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)seg[i]))
            return -1;
        v = v * 10 + (seg[i] - '0');
    }
    return v;
}

/* The override's value into *out: JSON when it is a number, true, false
 * or a quoted string; otherwise the text itself.  Checked as the file is
 * (json.h): a quoted string with \u0000, or text that is not UTF-8, is
 * CFG_EINVAL with "path: expected ..." in err.  CFG_ENOMEM. */
static int value_of(const char *text, const char *path, cJSON **out,
                    char *err, size_t errsz)
{
    size_t n = strlen(text), ok;
    cJSON *v = NULL;
    int rc = cfg_json_parse(text, n, path, &v, err, errsz);

    *out = NULL;
    if (rc == CFG_ENOMEM ||
        (rc == CFG_EINVAL && text[strspn(text, " \t\r\n")] == '"'))
        goto out;
    if (v != NULL &&
        (cJSON_IsNumber(v) || cJSON_IsBool(v) || cJSON_IsString(v))) {
        *out = v;
        v = NULL;
        rc = CFG_OK;
        goto out;
    }
    rc = CFG_EINVAL;
    if ((ok = utf8_valid_len(text, n)) < n) {
        cfg_json_utf8_error(path, ok, (unsigned char)text[ok], err, errsz);
        goto out;
    }
    rc = (*out = cJSON_CreateString(text)) != NULL ? CFG_OK : CFG_ENOMEM;
out:
    cJSON_Delete(v);
    return rc;
}

/* Append to path: ".key" (or "key" at the root) or "[i]".  0 if it does
 * not fit. */
static int path_add(char *path, const char *key, long index)
{
    size_t len = strlen(path);
    int n;

    if (key != NULL)
        n = snprintf(path + len, CFG_OVERRIDE_PATH_MAX - len, "%s%s",
                     len ? "." : "", key);
    else
        n = snprintf(path + len, CFG_OVERRIDE_PATH_MAX - len, "[%ld]",
                     index);
    return n >= 0 && (size_t)n < CFG_OVERRIDE_PATH_MAX - len;
}

/* Set the path named by entry (after the prefix) to its value. */
static int apply_one(cJSON *root, struct cfg_override *o, char *err,
                     size_t errsz)
{
    const char *name = o->entry + PREFIX_LEN;
    const char *end = o->entry + o->name_len;
    const char *value = o->entry[o->name_len] == '=' ? end + 1 : "";
    int shown = o->name_len > NAME_SHOWN_MAX ? NAME_SHOWN_MAX
                                             : (int)o->name_len;
    cJSON *node = root, *v = NULL;
    char key[CFG_OVERRIDE_PATH_MAX];
    int rc = CFG_EINVAL;

    o->path[0] = '\0';
    for (const char *seg = name; seg <= end;) {
        const char *sep = strstr(seg, "__");
        size_t n;
        int last;
        cJSON *child = NULL;
        long idx = -1;

        if (sep == NULL || sep > end)
            sep = end;
        n = (size_t)(sep - seg);
        last = sep == end;
        if (n == 0 || n >= sizeof key) {
            table_fail(err, errsz,
                 "%.*s: not a valid override name (TOOLWATCH_ then the key "
                 "path in upper case, keys separated by __, e.g. "
                 "TOOLWATCH_STREAM__URL)",
                 shown, o->entry);
            goto out;
        }
        if (cJSON_IsArray(node)) {
            int size = cJSON_GetArraySize(node);
            char at[CFG_OVERRIDE_PATH_MAX];
            if ((idx = seg_index(seg, n)) < 0) {
                table_fail(err, errsz, "%.*s: %s: expected an array index, got "
                                 "\"%.*s\"",
                     shown, o->entry, o->path[0] ? o->path : "(top level)",
                     (int)n, seg);
                goto out;
            }
            snprintf(at, sizeof at, "%s", o->path);
            if (!path_add(o->path, NULL, idx))
                goto toolong;
            if (idx >= size) {
                table_fail(err, errsz,
                     "%.*s: %s: index past the end of the array (%s has %d "
                     "element%s)",
                     shown, o->entry, o->path, at, size,
                     size == 1 ? "" : "s");
                goto out;
            }
            child = cJSON_GetArrayItem(node, (int)idx);
        } else if (cJSON_IsObject(node)) {
            cJSON *m;
            cJSON_ArrayForEach(m, node)
            {
                if (m->string != NULL && seg_matches(seg, n, m->string)) {
                    child = m;
                    break;
                }
            }
            if (child != NULL) {
                snprintf(key, sizeof key, "%s", child->string);
            } else {
                for (size_t i = 0; i < n; i++)
                    key[i] = (char)tolower((unsigned char)seg[i]);
                key[n] = '\0';
            }
            if (!path_add(o->path, key, -1))
                goto toolong;
        } else {
            table_fail(err, errsz, "%.*s: %s: is %s, so it has no key \"%.*s\"",
                 shown, o->entry, o->path, table_json_type(node), (int)n, seg);
            goto out;
        }
        if (last) {
            char why[512];

            if ((rc = value_of(value, o->path, &v, why, sizeof why)) !=
                CFG_OK) {
                table_fail(err, errsz, "%.*s: %s", shown, o->entry,
                           rc == CFG_ENOMEM ? "out of memory" : why);
                goto out;
            }
            rc = CFG_EINVAL;
            if (cJSON_IsArray(node)) {
                if (!cJSON_ReplaceItemInArray(node, (int)idx, v))
                    goto nomem;
            } else {
                if (!cJSON_AddItemToObject(node, key, v))
                    goto nomem;
                if (child != NULL)
                    cJSON_Delete(cJSON_DetachItemViaPointer(node, child));
            }
            v = NULL;
            rc = CFG_OK;
            goto out;
        }
        if (child == NULL) {
            const char *next = sep + 2;
            const char *nsep = strstr(next, "__");
            size_t nn = (nsep != NULL && nsep < end ? nsep : end) - next;
            if (seg_index(next, nn) >= 0) {
                table_fail(err, errsz,
                     "%.*s: %s[%.*s]: index past the end of the array (the "
                     "file has no %s)",
                     shown, o->entry, o->path, (int)nn, next, o->path);
                goto out;
            }
            if ((child = cJSON_CreateObject()) == NULL)
                goto nomem;
            if (!cJSON_AddItemToObject(node, key, child)) {
                cJSON_Delete(child);
                goto nomem;
            }
        }
        node = child;
        seg = sep + 2;
    }
    /* not reached: the loop ends at the last segment */
    goto out;
toolong:
    table_fail(err, errsz, "%.*s: the key path is too long", shown, o->entry);
    goto out;
nomem:
    rc = CFG_ENOMEM;
    table_fail(err, errsz, "out of memory");
out:
    cJSON_Delete(v);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    const char *x = ((const struct cfg_override *)a)->entry;
    const char *y = ((const struct cfg_override *)b)->entry;
    size_t nx = ((const struct cfg_override *)a)->name_len;
    size_t ny = ((const struct cfg_override *)b)->name_len;
    int c = memcmp(x, y, nx < ny ? nx : ny);

    if (c != 0)
        return c;
    return nx < ny ? -1 : nx > ny;
}

int cfg_overrides_apply(cJSON *root, char *const *envp,
                        struct cfg_overrides *ov, char *err, size_t errsz)
{
    struct refs *refs = NULL;
    size_t count = 0, keep;
    int rc = CFG_OK;

    if (envp == NULL || !cJSON_IsObject(root))
        goto out;
    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], CFG_OVERRIDE_PREFIX, PREFIX_LEN) == 0)
            count++;
    if (count == 0)
        goto out;
    rc = CFG_ENOMEM;
    if ((refs = calloc(1, sizeof *refs)) == NULL ||
        (ov->v = calloc(count, sizeof *ov->v)) == NULL) {
        table_fail(err, errsz, "out of memory");
        goto out;
    }
    collect_refs(root, refs);
    for (size_t i = 0; envp[i] != NULL; i++) {
        size_t len;
        if (strncmp(envp[i], CFG_OVERRIDE_PREFIX, PREFIX_LEN) != 0)
            continue;
        len = name_len(envp[i]);
        if (skipped(envp[i], len, refs))
            continue;
        ov->v[ov->n].entry = envp[i];
        ov->v[ov->n].name_len = len;
        ov->n++;
    }
    qsort(ov->v, ov->n, sizeof *ov->v, by_name);
    /* The same name twice (execve() allows it): with different values the
     * result would depend on the order of the environment, so refuse it;
     * an exact repeat is dropped.  Found by tests/fuzz/fuzz_config.c. */
    keep = 0;
    for (size_t i = 0; i < ov->n; i++) {
        const struct cfg_override *o = &ov->v[i];
        if (keep > 0 && by_name(&ov->v[keep - 1], o) == 0) {
            if (strcmp(ov->v[keep - 1].entry, o->entry) != 0) {
                rc = CFG_EINVAL;
                table_fail(err, errsz, "%.*s: set more than once in the "
                     "environment, with different values",
                     o->name_len > NAME_SHOWN_MAX ? NAME_SHOWN_MAX
                                                  : (int)o->name_len,
                     o->entry);
                goto out;
            }
            continue;
        }
        ov->v[keep++] = *o;
    }
    ov->n = keep;
    rc = CFG_OK;
    for (size_t i = 0; i < ov->n && rc == CFG_OK; i++)
        rc = apply_one(root, &ov->v[i], err, errsz);
out:
    free(refs);
    return rc;
}

/* Is `a` equal to `b`, or one of them a path under the other? */
static int related(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b), n = na < nb ? na : nb;

    if (memcmp(a, b, n) != 0)
        return 0;
    if (na == nb)
        return 1;
    if (na > nb)
        return a[nb] == '.' || a[nb] == '[';
    return b[na] == '.' || b[na] == '[';
}

int cfg_overrides_blame(const struct cfg_overrides *ov, char *err,
                        size_t errsz)
{
    const char *colon;
    char *copy = NULL;
    int blamed = 0;

    if (err == NULL || errsz == 0 || ov->n == 0 ||
        (colon = strstr(err, ": ")) == NULL)
        return 0;
    for (size_t i = ov->n; i-- > 0;) {
        const struct cfg_override *o = &ov->v[i];
        if (o->path[0] == '\0' ||
            !related(err, (size_t)(colon - err), o->path))
            continue;
        if ((copy = strdup(err)) == NULL)
            return 0;
        snprintf(err, errsz, "%.*s: %s",
                 o->name_len > NAME_SHOWN_MAX ? NAME_SHOWN_MAX
                                              : (int)o->name_len,
                 o->entry, copy);
        blamed = 1;
        break;
    }
    free(copy);
    return blamed;
}

void cfg_overrides_free(struct cfg_overrides *ov)
{
    free(ov->v);
    ov->v = NULL;
    ov->n = 0;
}
