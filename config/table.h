/*
 * table.h - declarative settings tables and the walker that applies a JSON
 * object to a struct through one (part of the cfg_ module; config.h is the
 * file-level API).
 *
 * A setting is a struct cfg_item: name, type, offset of its field in the
 * struct it fills (offsetof), default, inclusive range (numbers), the
 * allowed names (enums).  The walker checks type and range and names the
 * path on error; it never allocates except for the short text of a bad
 * value in a message.  The same tables print the effective configuration
 * back (cfg_items_dump(), for `toolwatch check-config`).
 */
#ifndef TW_CFG_TABLE_H
#define TW_CFG_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

enum {
    CFG_OK = 0,
    CFG_EIO = -1,      /* the file cannot be read */
    CFG_ESYNTAX = -2,  /* not JSON */
    CFG_EINVAL = -3,   /* a key or value is not accepted */
    CFG_ENOMEM = -4
};

enum cfg_type {
    CFG_BOOL,     /* int: 0 or 1 */
    CFG_INT,      /* int64_t, an integer in [min, max] */
    CFG_DOUBLE,   /* double in [min, max] (NaN default = "unset") */
    CFG_ENUM,     /* int: index into names[] */
    CFG_STRING,   /* char[size], non-empty, at most size - 1 bytes */
    CFG_STRLIST,  /* struct cfg_strlist */
    CFG_SECTION,  /* a nested object: items[nitems] fill the struct at
                     offset */
    CFG_CUSTOM    /* apply() does the work (arrays, maps, mixed tables) */
};

#define CFG_LIST_MAX 32       /* strings in a list */
#define CFG_LIST_ITEM_MAX 64  /* bytes per string, with the NUL */

struct cfg_strlist {
    uint32_t n;
    char v[CFG_LIST_MAX][CFG_LIST_ITEM_MAX];
};

/* Flags of a cfg_item. */
enum {
    CFG_F_LOWER = 1u << 0, /* strings are stored lower-cased */
    /* STRING: the name of an environment variable that holds a secret
     * ([A-Za-z_][A-Za-z0-9_]*).  A bad value is never quoted in a message
     * (a pasted secret is the likeliest mistake), and cfg_items_dump()
     * shows next to it whether the variable is set, never its value. */
    CFG_F_ENV = 1u << 1
};

/* Flags of cfg_items_dump(). */
enum {
    /* next to each CFG_F_ENV item "x_env", add "x": "<set>" or "<unset>"
     * (the variable's state now, by getenv(); an empty value is unset) */
    CFG_DUMP_SECRETS = 1u << 0
};

#define CFG_ENV_NAME_MAX 128  /* an environment variable's name, with NUL */

struct cfg_item {
    const char *name;
    enum cfg_type type;
    size_t offset;             /* of the field in the struct filled */
    size_t size;               /* CFG_STRING: the char array's size */
    double def;                /* BOOL, INT, DOUBLE, ENUM (index) */
    double min, max;           /* INT, DOUBLE */
    const char *def_str;       /* STRING; STRLIST: comma-separated */
    const char *const *names;  /* ENUM: NULL-terminated */
    unsigned flags;
    const char *help;          /* one line, for docs and check-config */
    /* STRING (optional): a further check of a value of the right type and
     * length.  Returns NULL when the value is acceptable, else what was
     * expected ("an http:// or https:// URL") for the message. */
    const char *(*check)(const char *s);
    /* SECTION: the nested table */
    const struct cfg_item *items;
    size_t nitems;
    /* CUSTOM: apply the value `v` found at `path` to `base`; the message
     * goes to err.  Returns CFG_OK or CFG_EINVAL. */
    int (*apply)(void *base, const struct cJSON *v, const char *path,
                 char *err, size_t errsz);
    /* CUSTOM: set the defaults of the section in `base` */
    void (*defaults)(void *base);
    /* CUSTOM (optional; nothing is printed without it): add the effective
     * value in `base` to the JSON object `obj` as member `name` (with
     * `flags` of cfg_items_dump()).  Returns CFG_OK or CFG_ENOMEM. */
    int (*dump)(const void *base, struct cJSON *obj, const char *name,
                unsigned flags);
};

/* Write every item's default into `base`. */
void cfg_items_defaults(const struct cfg_item *items, size_t n, void *base);

/* Apply the JSON object `obj` to `base` through `items`: every member must
 * name an item (else "path.key: unknown key") and have a value of its type
 * and range.  `path` is the object's path ("" at the root).  Returns
 * CFG_OK or CFG_EINVAL with the message in err. */
int cfg_items_apply(const struct cfg_item *items, size_t n, void *base,
                    const struct cJSON *obj, const char *path, char *err,
                    size_t errsz);

/* Apply one item to one value (used by custom sections that mix tables). */
int cfg_item_apply(const struct cfg_item *it, void *base,
                   const struct cJSON *v, const char *path, char *err,
                   size_t errsz);

/* Find an item by name, or NULL. */
const struct cfg_item *cfg_items_find(const struct cfg_item *items, size_t n,
                                      const char *name);

/* Add every item's effective value in `base` to the JSON object `obj`, in
 * table order: what `toolwatch check-config` prints.  Optional strings
 * that are unset (empty) and unset numbers (NaN) are left out, so the
 * output, less the secret markers, is a valid file that means the same.
 * `flags`: CFG_DUMP_SECRETS.  Returns CFG_OK or CFG_ENOMEM. */
int cfg_items_dump(const struct cfg_item *items, size_t n, const void *base,
                   struct cJSON *obj, unsigned flags);

/* A JSON value as text for a message ("got ..."), cut to a few dozen bytes
 * on a UTF-8 boundary with "..." appended. */
void cfg_value_text(const struct cJSON *v, char *out, size_t size);

/* Is `s` a valid environment variable name for a CFG_F_ENV setting? */
int cfg_env_name_ok(const char *s);

/* What a CFG_F_ENV setting expects, for messages that must not quote. */
#define CFG_ENV_EXPECTED                                                   \
    "the name of an environment variable (letters, digits and _, not "     \
    "starting with a digit, at most 127 bytes); the value is not shown, "  \
    "in case it is a secret"

/* printf into err (when err and errsz are usable): the one way the
 * configuration code writes a message. */
void cfg_fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "an object", "an array", "a string", "a number", "a boolean" or "null",
 * for messages. */
const char *cfg_json_type(const struct cJSON *v);

/* Does the list hold `s` (exact match)? */
int cfg_strlist_has(const struct cfg_strlist *l, const char *s);

#endif
