/*
 * silence_store.c - the silences and their file (see silence_store.h).
 *
 * Invariants:
 *  - items[0 .. n) are the silences in creation order, n <=
 *    SILENCE_STORE_MAX, ids distinct;
 *  - with a state directory, the file holds exactly items[0 .. n) after
 *    every call that returned SILENCE_STORE_OK for a change (a failed
 *    write undoes the change before returning), except after a prune
 *    whose write failed (logged; the next write includes it);
 *  - every recurring silence's zone is one of zones[0 .. nzones), which
 *    live as long as the store.
 */
#include "alerts/silence_store.h"

#include "base/file.h"
#include "base/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct silence_store {
    char *dir;                 /* NULL: memory only */
    char *zone_dir;            /* NULL: TZ_DIR_DEFAULT */
    int64_t retention_ms;
    struct silence *items[SILENCE_STORE_MAX];
    size_t n;
    tz *zones[SILENCE_STORE_ZONES];
    size_t nzones;
};

/* ---- zones ------------------------------------------------------------ */

static const tz *find_zone(void *ud, const char *name, int *rc)
{
    silence_store *st = ud;
    tz *z = NULL;

    for (size_t i = 0; i < st->nzones; i++)
        if (strcmp(tz_name(st->zones[i]), name) == 0)
            return st->zones[i];
    if (st->nzones == SILENCE_STORE_ZONES) {
        *rc = TZ_ENOMEM;
        LOG(LOG_WARN, "silence", "more than %d time zones in use: %s "
            "refused", SILENCE_STORE_ZONES, name);
        return NULL;
    }
    *rc = tz_load(st->zone_dir, name, &z);
    if (z != NULL)
        st->zones[st->nzones++] = z;
    return z;
}

/* ---- the file --------------------------------------------------------- */

/* head, then silence_print() of each, comma-separated, then "]}\n": the
 * file and the API's list, written once. */
static int print_all(const silence_store *st, int64_t now_ms,
                     const char *head, buf *b)
{
    int rc = buf_append_str(b, head);

    for (size_t i = 0; i < st->n && rc == BUF_OK; i++) {
        if (i > 0)
            rc = buf_append_str(b, ",");
        if (rc == BUF_OK)
            rc = silence_print(st->items[i], now_ms, b);
    }
    if (rc == BUF_OK)
        rc = buf_append_str(b, "]}\n");
    return rc;
}

/* Write the file (nothing without a state directory).  Returns
 * SILENCE_STORE_OK, _EIO (logged) or _ENOMEM. */
static int save(const silence_store *st, int64_t now_ms)
{
    buf b;
    int rc = SILENCE_STORE_OK;

    if (st->dir == NULL)
        return SILENCE_STORE_OK;
    buf_init(&b, SILENCE_STORE_FILE_MAX);
    if (print_all(st, now_ms, "{\"version\":1,\"silences\":[", &b) !=
        BUF_OK) {
        rc = SILENCE_STORE_ENOMEM;
        goto out;
    }
    if (file_replace(st->dir, SILENCE_STORE_FILE, b.data, b.len) != FILE_OK) {
        LOG(LOG_ERROR, "silence", "cannot write %s/%s: %s", st->dir,
            SILENCE_STORE_FILE, strerror(errno));
        rc = SILENCE_STORE_EIO;
    }
out:
    buf_free(&b);
    return rc;
}

static void clear(silence_store *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->items[i]);
    st->n = 0;
}

/* What parse_file() needs. */
struct loading {
    silence_store *st;
    int64_t now_ms;
};

/* Parse the file's text into the store (empty on entry): a
 * file_parse_fn.  Returns 0, or -1 with the reason in why (the store is
 * left empty). */
static int parse_file(void *ud, const char *text, size_t len, char *why,
                      size_t whysz)
{
    const struct loading *ld = ud;
    silence_store *st = ld->st;
    const struct silence_zones zones = {find_zone, st};
    const cJSON *v, *list, *e;
    cJSON *root = cJSON_ParseWithLength(text, len);
    int rc = -1, i = 0;

    if (root == NULL || !cJSON_IsObject(root)) {
        snprintf(why, whysz, "not a JSON object");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "version");
    list = cJSON_GetObjectItemCaseSensitive(root, "silences");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1 || !cJSON_IsArray(list) ||
        cJSON_GetArraySize(root) != 2) {
        snprintf(why, whysz, "not {\"version\": 1, \"silences\": [...]}");
        goto out;
    }
    cJSON_ArrayForEach(e, list) {
        char err[SILENCE_ERR_MAX];
        struct silence *s;

        if (st->n == SILENCE_STORE_MAX) {
            snprintf(why, whysz, "more than %d silences",
                     SILENCE_STORE_MAX);
            goto out;
        }
        if ((s = malloc(sizeof *s)) == NULL) {
            snprintf(why, whysz, "out of memory");
            goto out;
        }
        st->items[st->n++] = s;
        if (silence_from_json(s, e, SILENCE_PARSE_STORED, &zones,
                              ld->now_ms, err, sizeof err) != SILENCE_OK) {
            snprintf(why, whysz, "silences[%d]: %s", i, err);
            goto out;
        }
        if (silence_store_get(st, s->id) != s) {
            snprintf(why, whysz, "silences[%d]: id %s twice", i, s->id);
            goto out;
        }
        i++;
    }
    rc = 0;
out:
    if (rc != 0)
        clear(st);
    cJSON_Delete(root);
    return rc;
}

/* Load dir/silences.json; an unusable file is logged in one line and set
 * aside as silences.json.bad. */
static void load(silence_store *st, int64_t now_ms)
{
    struct loading ld = {st, now_ms};
    char why[SILENCE_ERR_MAX + 64];
    int aside = 0;

    if (st->dir == NULL)
        return;
    switch (file_load(st->dir, SILENCE_STORE_FILE, SILENCE_STORE_FILE_MAX,
                      parse_file, &ld, why, sizeof why, &aside)) {
    case FILE_OK:
        LOG(LOG_INFO, "silence", "%zu silences loaded from %s/%s", st->n,
            st->dir, SILENCE_STORE_FILE);
        break;
    case FILE_ENOENT:
        break;
    default:
        LOG(LOG_ERROR, "silence", "%s/%s refused (%s): starting with no "
            "silences; %s", st->dir, SILENCE_STORE_FILE, why,
            aside ? "the file is kept as " SILENCE_STORE_FILE ".bad"
                  : "it could not be set aside");
        break;
    }
}

/* ---- the store -------------------------------------------------------- */

silence_store *silence_store_create(const struct silence_store_options *o,
                                    int64_t now_ms)
{
    silence_store *st = calloc(1, sizeof *st);

    if (st == NULL || sodium_init() < 0)
        goto fail;
    if ((o->state_dir != NULL && (st->dir = strdup(o->state_dir)) == NULL) ||
        (o->zone_dir != NULL &&
         (st->zone_dir = strdup(o->zone_dir)) == NULL))
        goto fail;
    silence_store_set_retention(st, o->retention_s);
    load(st, now_ms);
    silence_store_prune(st, now_ms);
    return st;
fail:
    silence_store_destroy(st);
    return NULL;
}

void silence_store_destroy(silence_store *st)
{
    if (st == NULL)
        return;
    clear(st);
    for (size_t i = 0; i < st->nzones; i++)
        tz_destroy(st->zones[i]);
    free(st->dir);
    free(st->zone_dir);
    free(st);
}

void silence_store_set_retention(silence_store *st, int64_t retention_s)
{
    st->retention_ms = (retention_s > 0 ? retention_s : 0) * 1000;
}

const struct silence *silence_store_get(const silence_store *st,
                                        const char *id)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->items[i]->id, id) == 0)
            return st->items[i];
    return NULL;
}

/* A new id: 8 random bytes in hex, not in use. */
static void new_id(const silence_store *st, char id[SILENCE_ID_MAX])
{
    do {
        unsigned char r[SILENCE_ID_LEN / 2];

        randombytes_buf(r, sizeof r);
        sodium_bin2hex(id, SILENCE_ID_MAX, r, sizeof r);
    } while (silence_store_get(st, id) != NULL);
}

int silence_store_add(silence_store *st, const char *json, size_t len,
                      int64_t now_ms, char id[SILENCE_ID_MAX], char *err,
                      size_t errsz)
{
    const struct silence_zones zones = {find_zone, st};
    struct silence *s = NULL;
    int rc;

    if (st->n == SILENCE_STORE_MAX) {
        snprintf(err, errsz, "at most %d silences are kept (expired ones "
                 "count until they are pruned)", SILENCE_STORE_MAX);
        return SILENCE_STORE_EFULL;
    }
    if ((s = malloc(sizeof *s)) == NULL) {
        rc = SILENCE_STORE_ENOMEM;
        goto fail;
    }
    rc = silence_parse(s, json, len, SILENCE_PARSE_REQUEST, &zones, now_ms,
                       err, errsz);
    if (rc != SILENCE_OK) {
        rc = rc == SILENCE_ENOMEM ? SILENCE_STORE_ENOMEM
                                  : SILENCE_STORE_EINVAL;
        goto fail;
    }
    new_id(st, s->id);
    st->items[st->n++] = s;
    if ((rc = save(st, now_ms)) != SILENCE_STORE_OK) {
        st->n--;
        goto fail;
    }
    memcpy(id, s->id, SILENCE_ID_MAX);
    return SILENCE_STORE_OK;
fail:
    free(s);
    if (rc != SILENCE_STORE_EINVAL)
        snprintf(err, errsz, "the silence cannot be kept: %s",
                 silence_store_strerror(rc));
    return rc;
}

int silence_store_expire(silence_store *st, const char *id, int64_t now_ms)
{
    struct silence *s = (struct silence *)silence_store_get(st, id);
    int64_t was;
    int rc;

    if (s == NULL)
        return SILENCE_STORE_ENOENT;
    was = s->expired_ms;
    if (!silence_expire(s, now_ms))
        return SILENCE_STORE_OK;
    if ((rc = save(st, now_ms)) != SILENCE_STORE_OK)
        s->expired_ms = was;
    return rc;
}

int silence_store_prune(silence_store *st, int64_t now_ms)
{
    size_t kept = 0, n = st->n;

    for (size_t i = 0; i < n; i++) {
        struct silence *s = st->items[i];
        int64_t at = silence_expired_at(s, now_ms);

        if (at != 0 && now_ms - at >= st->retention_ms)
            free(s);
        else
            st->items[kept++] = s;
    }
    st->n = kept;
    if (kept < n && save(st, now_ms) != SILENCE_STORE_OK)
        LOG(LOG_WARN, "silence", "%zu expired silences pruned; the file "
            "still lists them until the next write", n - kept);
    return (int)(n - kept);
}

int silence_store_list(const silence_store *st, int64_t now_ms, buf *out)
{
    return print_all(st, now_ms, "{\"silences\":[", out);
}

void silence_store_each(const silence_store *st,
                        void (*fn)(void *ud, const struct silence *s),
                        void *ud)
{
    for (size_t i = 0; i < st->n; i++)
        fn(ud, st->items[i]);
}

const struct silence *silence_store_match(const silence_store *st,
                                          const struct alert *a,
                                          int64_t now_ms)
{
    for (size_t i = 0; i < st->n; i++)
        if (silence_matches(st->items[i], a, now_ms))
            return st->items[i];
    return NULL;
}

size_t silence_store_count(const silence_store *st, int64_t now_ms,
                           uint64_t counts[3])
{
    if (counts != NULL) {
        memset(counts, 0, 3 * sizeof counts[0]);
        for (size_t i = 0; i < st->n; i++)
            counts[silence_state(st->items[i], now_ms)]++;
    }
    return st->n;
}

const char *silence_store_strerror(int rc)
{
    switch (rc) {
    case SILENCE_STORE_OK:
        return "ok";
    case SILENCE_STORE_EINVAL:
        return "the silence is refused";
    case SILENCE_STORE_EFULL:
        return "too many silences";
    case SILENCE_STORE_ENOENT:
        return "no such silence";
    case SILENCE_STORE_EIO:
        return "the silences file cannot be written";
    case SILENCE_STORE_ENOMEM:
        return "out of memory";
    }
    return "unknown silence store error";
}
