/*
 * table.h - declarative settings tables and the walker that applies a JSON
 * object to a struct through one (part of the cfg_ module; config.h is the
 * file-level API).
 *
 * A setting is a struct cfg_item: name, type, offset of its field in the
 * struct it fills (offsetof), default, inclusive range (numbers), the
 * allowed names (enums).  The walker checks type and range and names the
 * path on error; it never allocates except for the short text of a bad
 * value in a message.
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
    CFG_CUSTOM    /* apply() does the work (nested sections) */
};

#define CFG_LIST_MAX 32       /* strings in a list */
#define CFG_LIST_ITEM_MAX 64  /* bytes per string, with the NUL */

struct cfg_strlist {
    uint32_t n;
    char v[CFG_LIST_MAX][CFG_LIST_ITEM_MAX];
};

/* Flags of a cfg_item. */
enum { CFG_F_LOWER = 1u << 0 /* strings are stored lower-cased */ };

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
    /* CUSTOM: apply the value `v` found at `path` to `base`; the message
     * goes to err.  Returns CFG_OK or CFG_EINVAL. */
    int (*apply)(void *base, const struct cJSON *v, const char *path,
                 char *err, size_t errsz);
    /* CUSTOM: set the defaults of the section in `base` */
    void (*defaults)(void *base);
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

/* Does the list hold `s` (exact match)? */
int cfg_strlist_has(const struct cfg_strlist *l, const char *s);

#endif
