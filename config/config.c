/*
 * config.c - the configuration file (config.h): the root table, the
 * "detectors" section (engine-wide scalars next to one object per
 * detector), loading and the final cross-field checks.
 *
 * Adding a section later (stream, sinks, status, state_dir) is one more
 * entry in root_items, with its own table or a custom apply function.
 */
#include "config/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_FILE_MAX (4u * 1024u * 1024u)

static int apply_detectors(void *base, const cJSON *v, const char *path,
                           char *err, size_t errsz)
{
    struct cfg *c = base;
    const cJSON *m;
    char sub[256];
    int rc = CFG_OK;

    if (!cJSON_IsObject(v)) {
        snprintf(err, errsz, "%s: expected an object", path);
        return CFG_EINVAL;
    }
    cJSON_ArrayForEach(m, v)
    {
        const struct cfg_item *it =
            cfg_items_find(det_engine_items, det_engine_nitems, m->string);
        int id = det_find(m->string);

        snprintf(sub, sizeof sub, "%s.%s", path, m->string);
        for (const cJSON *e = v->child; e != m; e = e->next)
            if (strcmp(e->string, m->string) == 0) {
                snprintf(err, errsz, "%s: duplicate key", sub);
                rc = CFG_EINVAL;
                goto out;
            }
        if (it != NULL) {
            rc = cfg_item_apply(it, &c->det, m, sub, err, errsz);
        } else if (id >= 0) {
            rc = cfg_items_apply(det_registry[id]->items,
                                 det_registry[id]->nitems, &c->det.det[id],
                                 m, sub, err, errsz);
        } else {
            snprintf(err, errsz, "%s: unknown key (not a detector: %s", sub,
                     "volume, payload_size, latency, error_rate, "
                     "credential_access, stream_stalled; nor an engine "
                     "setting)");
            rc = CFG_EINVAL;
        }
        if (rc != CFG_OK)
            goto out;
    }
out:
    return rc;
}

static void defaults_detectors(void *base)
{
    struct cfg *c = base;

    det_config_defaults(&c->det);
}

static const struct cfg_item root_items[] = {
    {.name = "instance", .type = CFG_STRING,
     .offset = offsetof(struct cfg, instance), .size = CFG_INSTANCE_MAX,
     .def_str = "toolwatch",
     .help = "this instance's name: the source of every alert"},
    {.name = "detectors", .type = CFG_CUSTOM, .apply = apply_detectors,
     .defaults = defaults_detectors,
     .help = "engine-wide settings and one object per detector"},
};

void cfg_defaults(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    cfg_items_defaults(root_items, sizeof root_items / sizeof root_items[0],
                       c);
}

int cfg_parse(struct cfg *c, const char *text, size_t len, char *err,
              size_t errsz)
{
    cJSON *root = NULL;
    int rc;

    cfg_defaults(c);
    root = cJSON_ParseWithLength(text, len);
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at != NULL && at >= text && at <= text + len
                         ? (size_t)(at - text)
                         : len;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        snprintf(err, errsz, "not valid JSON near line %zu, column %zu",
                 line, col);
        rc = CFG_ESYNTAX;
        goto out;
    }
    rc = cfg_items_apply(root_items, sizeof root_items / sizeof root_items[0],
                         c, root, "", err, errsz);
    if (rc == CFG_OK)
        rc = det_config_check(&c->det, err, errsz);
out:
    cJSON_Delete(root);
    return rc;
}

int cfg_load(struct cfg *c, const char *path, char *err, size_t errsz)
{
    FILE *f = NULL;
    char *text = NULL, msg[512];
    size_t len = 0, n;
    int rc = CFG_EIO;

    cfg_defaults(c);
    if ((f = fopen(path, "rb")) == NULL) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((text = malloc(CFG_FILE_MAX + 1)) == NULL) {
        rc = CFG_ENOMEM;
        snprintf(err, errsz, "%s: out of memory", path);
        goto out;
    }
    while ((n = fread(text + len, 1, CFG_FILE_MAX + 1 - len, f)) > 0)
        len += n;
    if (ferror(f)) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (len > CFG_FILE_MAX) {
        snprintf(err, errsz, "%s: larger than %u bytes", path, CFG_FILE_MAX);
        rc = CFG_EINVAL;
        goto out;
    }
    rc = cfg_parse(c, text, len, msg, sizeof msg);
    if (rc != CFG_OK)
        snprintf(err, errsz, "%s: %s", path, msg);
out:
    if (f != NULL)
        fclose(f);
    free(text);
    return rc;
}

const char *cfg_strerror(int rc)
{
    switch (rc) {
    case CFG_OK: return "ok";
    case CFG_EIO: return "cannot read the configuration file";
    case CFG_ESYNTAX: return "the configuration is not valid JSON";
    case CFG_EINVAL: return "invalid configuration";
    case CFG_ENOMEM: return "out of memory";
    default: return "unknown configuration error";
    }
}
