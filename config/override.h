/*
 * override.h - environment overrides of the configuration (part of the
 * cfg_ module; config.h states the rule users see).  Internal to config/.
 *
 * The overrides are applied to the parsed file (a cJSON tree) before it is
 * validated, so an override is checked by the same tables, with the same
 * messages, as the file.  Each applied override remembers the key path it
 * set ("sinks[0].min_severity"); when validation then fails on that path
 * (or on one above or below it), cfg_overrides_blame() prefixes the message
 * with the variable's name.
 */
#ifndef TW_CFG_OVERRIDE_H
#define TW_CFG_OVERRIDE_H

#include <stddef.h>

struct cJSON;

#define CFG_OVERRIDE_PATH_MAX 256

struct cfg_override {
    const char *entry;              /* "NAME=value" in envp (not owned) */
    size_t name_len;
    char path[CFG_OVERRIDE_PATH_MAX]; /* the key path it set */
};

/* The overrides applied by one cfg_overrides_apply(), in the order they
 * were applied (by variable name). */
struct cfg_overrides {
    struct cfg_override *v;         /* malloc'd; cfg_overrides_free() */
    size_t n;
};

/* Apply every TOOLWATCH_* variable of envp (NULL-terminated "NAME=value";
 * entries are read, not kept beyond *ov's lifetime) to the object `root`,
 * in the order of their names.  Skipped: cfg_env_not_overrides, and names
 * that `root` gives as the value of a key ending in "_env" (or an element
 * of one ending in "_envs", or a member of an object ending in "_env").
 * *ov must be zeroed; it is filled even on error.  Returns CFG_OK, CFG_ENOMEM, or CFG_EINVAL with
 * "NAME: path: why" in err (a malformed name, an index past the end of an
 * array, a key under a value that is not an object). */
int cfg_overrides_apply(struct cJSON *root, char *const *envp,
                        struct cfg_overrides *ov, char *err, size_t errsz);

/* If the message in err ("path: ...") concerns a path an override set,
 * prefix it with that variable's name ("NAME: path: ...") and return 1;
 * else leave it and return 0. */
int cfg_overrides_blame(const struct cfg_overrides *ov, char *err,
                        size_t errsz);

void cfg_overrides_free(struct cfg_overrides *ov);

#endif
