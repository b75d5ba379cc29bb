/*
 * table.h - declarative settings tables and the walker that applies a JSON
 * object to a struct through one.  Ground floor: every module that has
 * settings declares them once, with their defaults, as a table_item array;
 * config/ walks the file through those tables.
 *
 * A setting is a struct table_item: name, type, offset of its field in the
 * struct it fills (offsetof), default, inclusive range (numbers), the
 * allowed names (enums).  The walker checks type and range and names the
 * path on error; it never allocates except for the short text of a bad
 * value in a message.  The same tables print the effective configuration
 * back (table_items_dump(), for `toolwatch check-config`).
 */
#ifndef TW_TABLE_H
#define TW_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* Return codes.  The values are those of config.h's TABLE_EINVAL and
 * TABLE_ENOMEM, so the file loader can pass a walker's answer on as its own. */
enum {
    TABLE_OK = 0,
    TABLE_EINVAL = -3, /* a key or value is not accepted */
    TABLE_ENOMEM = -4
};

enum table_type {
    TABLE_BOOL,     /* int: 0 or 1 */
    TABLE_INT,      /* int64_t, an integer in [min, max] */
    TABLE_DOUBLE,   /* double in [min, max] (NaN default = "unset") */
    TABLE_ENUM,     /* int: index into names[] */
    TABLE_STRING,   /* char[size], non-empty, at most size - 1 bytes */
    TABLE_STRLIST,  /* struct table_strlist */
    TABLE_SECTION,  /* a nested object: items[nitems] fill the struct at
                     offset */
    TABLE_CUSTOM    /* apply() does the work (arrays, maps, mixed tables) */
};

#define TABLE_LIST_MAX 32       /* strings in a list */
#define TABLE_LIST_ITEM_MAX 64  /* bytes per string, with the NUL */

struct table_strlist {
    uint32_t n;
    char v[TABLE_LIST_MAX][TABLE_LIST_ITEM_MAX];
};

/* Flags of a table_item. */
enum {
    TABLE_F_LOWER = 1u << 0, /* strings are stored lower-cased */
    /* STRING: the name of an environment variable that holds a secret
     * ([A-Za-z_][A-Za-z0-9_]*).  A bad value is never quoted in a message
     * (a pasted secret is the likeliest mistake), and table_items_dump()
     * shows next to it whether the variable is set, never its value. */
    TABLE_F_ENV = 1u << 1,
    /* the key must be present: table_items_apply() refuses an object
     * without it ("path.key: missing; expected ..."), and
     * table_items_missing() finds it for walkers of their own */
    TABLE_F_REQUIRED = 1u << 2,
    /* INT: the default lies outside [min, max] and means "unset" (the
     * owner fills it in later, e.g. from an engine-wide setting);
     * table_items_dump() leaves the item out while it holds the default */
    TABLE_F_UNSET = 1u << 3
};

/* Flags of table_items_dump(). */
enum {
    /* next to each TABLE_F_ENV item "x_env", add "x": "<set>" or "<unset>"
     * (the variable's state now, by getenv(); an empty value is unset) */
    TABLE_DUMP_SECRETS = 1u << 0
};

#define TABLE_ENV_NAME_MAX 128  /* an environment variable's name, with NUL */

struct table_item {
    const char *name;
    enum table_type type;
    size_t offset;             /* of the field in the struct filled */
    size_t size;               /* TABLE_STRING: the char array's size */
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
    const struct table_item *items;
    size_t nitems;
    /* CUSTOM: apply the value `v` found at `path` to `base`; the message
     * goes to err.  Returns TABLE_OK or TABLE_EINVAL. */
    int (*apply)(void *base, const struct cJSON *v, const char *path,
                 char *err, size_t errsz);
    /* CUSTOM: set the defaults of the section in `base` */
    void (*defaults)(void *base);
    /* CUSTOM (optional; nothing is printed without it): add the effective
     * value in `base` to the JSON object `obj` as member `name` (with
     * `flags` of table_items_dump()).  Returns TABLE_OK or TABLE_ENOMEM. */
    int (*dump)(const void *base, struct cJSON *obj, const char *name,
                unsigned flags);
};

/* Write every item's default into `base`. */
void table_items_defaults(const struct table_item *items, size_t n, void *base);

/* Apply the JSON object `obj` to `base` through `items`: every member must
 * name an item (else "path.key: unknown key") and have a value of its type
 * and range; every TABLE_F_REQUIRED item must be there.  `path` is the
 * object's path ("" at the root).  Returns TABLE_OK or TABLE_EINVAL with
 * the message in err. */
int table_items_apply(const struct table_item *items, size_t n, void *base,
                    const struct cJSON *obj, const char *path, char *err,
                    size_t errsz);

/* Apply one item to one value (used by custom sections that mix tables). */
int table_item_apply(const struct table_item *it, void *base,
                   const struct cJSON *v, const char *path, char *err,
                   size_t errsz);

/* Find an item by name, or NULL. */
const struct table_item *table_items_find(const struct table_item *items, size_t n,
                                      const char *name);

/* Add every item's effective value in `base` to the JSON object `obj`, in
 * table order: what `toolwatch check-config` prints.  Optional strings
 * that are unset (empty) and unset numbers (NaN) are left out, so the
 * output, less the secret markers, is a valid file that means the same.
 * `flags`: TABLE_DUMP_SECRETS.  Returns TABLE_OK or TABLE_ENOMEM. */
int table_items_dump(const struct table_item *items, size_t n, const void *base,
                   struct cJSON *obj, unsigned flags);

/* A JSON value as text for a message ("got ..."), cut to a few dozen bytes
 * on a UTF-8 boundary with "..." appended. */
void table_value_text(const struct cJSON *v, char *out, size_t size);

/* Is `s` a valid environment variable name for a TABLE_F_ENV setting? */
int table_env_name_ok(const char *s);

/* What a TABLE_F_ENV setting expects, for messages that must not quote. */
#define TABLE_ENV_EXPECTED                                                   \
    "the name of an environment variable (letters, digits and _, not "     \
    "starting with a digit, at most 127 bytes); the value is not shown, "  \
    "in case it is a secret"

/* printf into err (when err and errsz are usable): the one way the
 * configuration code writes a message. */
void table_fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The path of a member for messages: "path.key" ("key" at the root) when
 * key is not NULL, else "path[index]"; cut to size. */
void table_path(char *out, size_t size, const char *path, const char *key,
                int index);

/* The message "path: expected <want>, got <v as JSON, cut>" into err.
 * Returns TABLE_EINVAL, for `return table_fail_expected(...)`. */
int table_fail_expected(const struct cJSON *v, const char *path,
                        const char *want, char *err, size_t errsz);

/* "an object", "an array", "a string", "a number", "a boolean" or "null",
 * for messages. */
const char *table_json_type(const struct cJSON *v);

/* Does the list hold `s` (exact match)? */
int table_strlist_has(const struct table_strlist *l, const char *s);

/* Does a member before `m` in the JSON object `obj` have m's name?  Then
 * "path: duplicate key" goes to err and TABLE_EINVAL is returned, else
 * TABLE_OK. */
int table_duplicate(const struct cJSON *obj, const struct cJSON *m,
                    const char *path, char *err, size_t errsz);

/* The first TABLE_F_REQUIRED item of the table that is not a member of
 * the JSON object `obj`, or NULL when every one is there. */
const struct table_item *table_items_missing(const struct table_item *items,
                                             size_t n,
                                             const struct cJSON *obj);

/* ---- "did you mean ...?" ---- */

/* The closest of a set of names to a word that named none of them, for a
 * message about an unknown key, field or kind.  Distance: edits of one
 * byte (insert, delete, replace, swap two neighbours), ASCII letters
 * without regard to case; a candidate is offered only when it is close
 * enough to be a misspelling (at most 2 edits, and at most a third of the
 * longer word's length).  A plain value: no allocation.
 *
 *   struct table_suggest s;
 *   table_suggest_init(&s, "tool_nme");
 *   table_suggest_add(&s, "tool_name"); ...
 *   table_suggest_best(&s)  ->  "tool_name"
 */
struct table_suggest {
    const char *word;  /* borrowed */
    const char *best;  /* borrowed: one of the candidates, or NULL */
    unsigned dist;
};

void table_suggest_init(struct table_suggest *s, const char *word);

/* Consider `candidate` (borrowed until table_suggest_best() is done). */
void table_suggest_add(struct table_suggest *s, const char *candidate);

/* Every item name of a table. */
void table_suggest_items(struct table_suggest *s,
                         const struct table_item *items, size_t n);

/* The closest candidate when close enough, else NULL. */
const char *table_suggest_best(const struct table_suggest *s);

#endif
