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
 *
 * Every error, not just the first: the *_errs walkers add each message to
 * a struct table_errs and go on with the next key, so `toolwatch
 * check-config` lists every mistake of a file in one run.  The err/errsz
 * walkers are the same walk keeping the first message only.
 */
#ifndef TW_TABLE_H
#define TW_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct table_errs;

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
    /* CUSTOM, instead of apply (for a value that holds many settings: a
     * list of sinks, of rules): every error goes to errs, the walk goes
     * on after each.  Returns TABLE_OK, TABLE_EINVAL or TABLE_ENOMEM. */
    int (*apply_errs)(void *base, const struct cJSON *v, const char *path,
                      struct table_errs *errs);
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

/* ---- every error: the error list ---- */

#define TABLE_ERR_MAX 1024  /* bytes of one message, with the NUL */
#define TABLE_ERRS_MAX 50   /* messages a full list keeps, then a count */

/* The errors of a walk, in the order found.  A plain value (no
 * allocation): the caller gives the storage of `cap` messages; errors past
 * the cap are counted, not kept.  Fields are private: use the functions. */
struct table_errs {
    char (*msg)[TABLE_ERR_MAX];  /* cap messages, the caller's */
    unsigned cap;
    unsigned n;                  /* errors added, kept or not */
    char spare[TABLE_ERR_MAX];   /* where a message past the cap goes */
};

/* An empty list keeping at most `cap` messages in msg[0 .. cap - 1]. */
void table_errs_init(struct table_errs *e, char (*msg)[TABLE_ERR_MAX],
                     unsigned cap);

/* Add one message (printf).  Returns TABLE_EINVAL, for
 * `return table_errs_add(...)`. */
int table_errs_add(struct table_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For the functions that write one message into (err, errsz): the buffer
 * the next message goes to (emptied), TABLE_ERR_MAX bytes.  After the
 * call, table_errs_keep() counts what it wrote when it failed.
 *
 *   rc = table_errs_keep(e, f(..., TABLE_ERRS_SLOT(e)));
 */
char *table_errs_slot(struct table_errs *e);
#define TABLE_ERRS_SLOT(e) table_errs_slot(e), (size_t)TABLE_ERR_MAX

/* rc != TABLE_OK with a message in the slot: the message is added.
 * Returns rc. */
int table_errs_keep(struct table_errs *e, int rc);

/* Errors added, and of them the ones kept (at most the cap). */
unsigned table_errs_count(const struct table_errs *e);
unsigned table_errs_kept(const struct table_errs *e);

/* Message i (i < table_errs_kept()), writable (TABLE_ERR_MAX bytes) for
 * a prefix the caller adds. */
char *table_errs_at(struct table_errs *e, unsigned i);

/* The first message into err (nothing when there is none). */
void table_errs_first(const struct table_errs *e, char *err, size_t errsz);

/* A list that keeps the first message only: the functions that give one
 * message in (err, errsz) are their *_errs twins with one of these.
 *
 *   struct table_errs1 one;
 *   struct table_errs *errs = table_errs1_init(&one);
 *   int rc = f_errs(..., errs);
 *
 *   return table_errs1_done(&one, rc, err, errsz);
 */
struct table_errs1 {
    struct table_errs errs;
    char msg[1][TABLE_ERR_MAX];
};

/* Make *o an empty list; returns it as a struct table_errs. */
struct table_errs *table_errs1_init(struct table_errs1 *o);

/* rc != TABLE_OK: the first message into err.  Returns rc. */
int table_errs1_done(const struct table_errs1 *o, int rc, char *err,
                     size_t errsz);

/* table_items_apply() and table_item_apply() with every error in errs:
 * after a bad key the walk goes on with the next (a duplicate key is
 * reported and not applied), and every missing required key is
 * reported.  Returns TABLE_OK, TABLE_EINVAL (errors added) or
 * TABLE_ENOMEM (the walk stopped). */
int table_items_apply_errs(const struct table_item *items, size_t n,
                           void *base, const struct cJSON *obj,
                           const char *path, struct table_errs *errs);
int table_item_apply_errs(const struct table_item *it, void *base,
                          const struct cJSON *v, const char *path,
                          struct table_errs *errs);

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
