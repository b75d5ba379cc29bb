/*
 * credential_access.c - a group calling credential tools too often:
 * completed calls to tools whose name contains one of `keywords`
 * (case-insensitive substring) in the window > threshold (default more
 * than 50 in 3600 s per agent).  Ring: one field (matching calls).
 *
 * Matching a tool name against the keywords costs a lower-casing pass and
 * one substring search per keyword; the answer is cached per tool in a
 * small direct-mapped table keyed by the tool name's 128-bit hash (which
 * the engine computes anyway), so the hot path usually pays one probe.
 */
#include "base/buf.h"
#include "detectors/detector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SIZE 1024 /* power of two */

struct cache_entry {
    uint64_t h0, h1;
    uint8_t valid, match;
};

struct priv {
    struct cache_entry cache[CACHE_SIZE];
};

static const struct table_item items[] = {
    DET_ITEM_ENABLED(1),
    DET_ITEM_SEVERITY(SEVERITY_CRITICAL),
    DET_ITEM_GROUP_BY(DET_BY_AGENT, det_group_names),
    DET_ITEM_WINDOW(3600, "sliding window"),
    DET_ITEM_BUCKET,
    DET_ITEM_THRESHOLD(50, 0, 1e12, "fires above this many calls"),
    DET_ITEM_CLEAR(0, 1e12),
    {.name = "keywords", .type = TABLE_STRLIST,
     .offset = offsetof(struct det_params, keywords),
     .def_str = "credential,secret,password,token,apikey,auth",
     .flags = TABLE_F_LOWER,
     .help = "a tool whose name contains one of these (any case) is a "
             "credential tool"},
};

static int check(struct det_params *p, const char *path, char *err,
                 size_t errsz)
{
    if (p->keywords.n == 0 && p->enabled) {
        snprintf(err, errsz,
                 "%s.keywords: expected at least one keyword, got []", path);
        return TABLE_EINVAL;
    }
    return det_check_window(p, path, 1, err, errsz);
}

/* Does `name` contain a keyword, ignoring case?  Keywords are stored
 * lower-cased by the config table. */
static int matches(const struct det_params *p, const char *name)
{
    char low[EVENT_NAME_MAX];
    size_t n = strnlen(name, sizeof low - 1);

    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[n] = '\0';
    for (uint32_t k = 0; k < p->keywords.n; k++)
        if (strstr(low, p->keywords.v[k]) != NULL)
            return 1;
    return 0;
}

static int cached_match(struct det *d, struct det_input *in)
{
    struct priv *pv = d->priv;
    struct cache_entry *c;
    uint64_t h0, h1;

    det_input_hash(in, DET_BY_TOOL, &h0, &h1);
    c = &pv->cache[h0 & (CACHE_SIZE - 1)];
    if (!c->valid || c->h0 != h0 || c->h1 != h1) {
        c->h0 = h0;
        c->h1 = h1;
        c->valid = 1;
        c->match = (uint8_t)matches(&d->p, in->ev->tool_name);
    }
    return c->match;
}

static int create(struct det *d)
{
    d->priv = calloc(1, sizeof(struct priv));
    return d->priv != NULL ? 0 : -1;
}

static void destroy(struct det *d)
{
    free(d->priv);
    d->priv = NULL;
}

__attribute__((hot))
static int feed(struct det *d, struct det_input *in, struct det_verdict *v)
{
    static const uint32_t one[1] = {1};

    if (!det_is_completed(in->ev) || in->ev->tool_name[0] == '\0' ||
        !cached_match(d, in))
        return 0;
    return det_window_feed(d, in, one, det_window_count_eval, v);
}

static void summary(const struct det *d, const struct det_alert *a,
                    int resolved, char *out, size_t size)
{
    char thr[32];
    char g[DET_KEY_MAX + 16];

    buf_format_number(d->p.threshold, thr, sizeof thr);
    det_describe_group(d, a->key, g, sizeof g);
    snprintf(out, size,
             "%s%llu calls to credential tools in %llds %s (threshold %s)",
             resolved ? "back to normal: " : "",
             (unsigned long long)a->aux[0], (long long)d->p.window_s, g,
             thr);
}

const struct det_ops det_credential_access_ops = {
    .name = "credential_access",
    .description = "calls to credential tools in the window above a "
                   "threshold",
    .items = items,
    .nitems = sizeof items / sizeof items[0],
    .flags = DET_F_WINDOW | DET_F_CALLS,
    .nfields = 1,
    .check = check,
    .create = create,
    .destroy = destroy,
    .feed = feed,
    .eval = det_window_count_eval,
    .summary = summary,
};
