/*
 * rule.h - the `rules` list (SPEC section 2) compiled into rule
 * definitions: checked once at config load, with every error naming its
 * JSON path, what was expected and, for a misspelt key, field or kind,
 * what was probably meant.  The first layer of the rule engine: the
 * engine and the kinds read these definitions; nothing here runs per
 * event except what match.h evaluates.
 *
 * A rule: name (unique; letters, digits, `-`, `_`; 1 to 64 bytes), kind,
 * severity, optional match / exclude (match.h), group_by (0 to 3 string
 * fields; absent: []), optional labels (at most 8), description,
 * runbook_url, overrides, and hold_s / repeat_interval_s / max_keys (unset:
 * the engine-wide setting of the same name, whose range they share).  The
 * other keys belong to the kind; a key the kind does not use is refused.
 *
 * A kind is a struct rule_kind in the static registry rule_kinds[]: its
 * name, its keys as a settings table (base/table.h) over struct
 * rule_params, with their defaults and ranges (written only there), and
 * flags.  The engine will add the kind's operations (create, feed, tick,
 * destroy) to the same descriptor.
 *
 *   kind       keys (* required)                         defaults
 *   count      window_s* threshold* clear_threshold
 *   sum        field* (number) window_s* threshold* clear_threshold
 *   ratio      numerator* window_s* threshold* clear_threshold min_count  10
 *   distinct   field* (string) window_s* threshold* clear_threshold
 *   max        field* (number) threshold* window_s           300
 *   sequence   steps* (2-5 match objects) within_s* window_s 300
 *   new_value  field* (string) learn_s* max_values window_s  1000, 300
 *   baseline   bucket_s* history deviation min_value field   60, 6, 1
 *              (number, optional: sum instead of count)
 *   absence    threshold* (seconds)
 *
 * clear_threshold unset (NaN) means the group's threshold, which an
 * override may change; an override's threshold also caps the clear
 * threshold of its groups (the engine applies min(clear_threshold,
 * threshold)).
 *
 * Memory per compiled rule (measured by test_rule, x86-64):
 *   sizeof(struct rule)                       1552 bytes, in the set's
 *                                             array of n rules
 *   + each non-empty match object (match, exclude, numerator, every step,
 *     every override's match): one block of 48 bytes per condition + 133
 *     per glob
 *   + labels: 320 bytes each (one block, only when present)
 *   + overrides: 48 bytes each (one block, only when present)
 * plus 536 bytes for the struct rule_set.  E.g. the six default rules
 * take 6 x 1552 + 7 conditions (336) + 6 globs (798) = 10446 bytes, and
 * 256 rules without labels, overrides or matches about 400 KB.
 */
#ifndef TW_RULE_H
#define TW_RULE_H

#include "base/table.h"
#include "detectors/match.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct table_errs;

/* Return codes: the values of base/table.h's, so that the configuration
 * loader can pass them on. */
enum {
    RULE_OK = 0,
    RULE_EINVAL = -3, /* the rules are not accepted (message) */
    RULE_ENOMEM = -4
};

#define RULE_MAX 256            /* rules in a set */
#define RULE_NAME_MAX 64        /* bytes of a name */
#define RULE_GROUP_MAX 3        /* group_by fields */
#define RULE_LABELS_MAX 8
#define RULE_LABEL_KEY_MAX 64   /* bytes of a label name, with the NUL */
#define RULE_LABEL_VALUE_MAX 256 /* bytes of a label value, with the NUL */
#define RULE_TEXT_MAX 512       /* bytes of description and runbook_url */
#define RULE_STEPS_MIN 2
#define RULE_STEPS_MAX 5
#define RULE_OVERRIDES_MAX 64
#define RULE_WINDOW_MAX_S (24 * 86400) /* window_s, within_s, learn_s: the
                                          count and distinct states hold
                                          32-bit offsets (2^31 ms) */

enum rule_kind_id {
    RULE_K_COUNT = 0,
    RULE_K_SUM,
    RULE_K_RATIO,
    RULE_K_DISTINCT,
    RULE_K_MAX,
    RULE_K_SEQUENCE,
    RULE_K_NEW_VALUE,
    RULE_K_BASELINE,
    RULE_K_ABSENCE,
    RULE_KINDS
};

/* Flags of a kind. */
enum {
    RULE_KF_THRESHOLD = 1u << 0, /* fires above a threshold: overrides may
                                    set a group's */
    RULE_KF_CLEAR = 1u << 1,     /* has clear_threshold (<= threshold) */
    RULE_KF_FIELD_KEY = 1u << 2  /* counts values of a string field: the
                                    field may not also be in group_by */
};

/* The keys of every kind, one struct: each kind's table says which it
 * takes, with its own defaults and ranges.  Keys a kind does not take keep
 * 0 (NaN for thresholds, empty matches). */
struct rule_params {
    int64_t window_s;
    double threshold;        /* NaN: the kind has none */
    double clear_threshold;  /* NaN: the group's threshold */
    int64_t min_count;       /* ratio */
    int64_t within_s;        /* sequence */
    int64_t learn_s;         /* new_value */
    int64_t max_values;      /* new_value */
    int64_t bucket_s;        /* baseline */
    int64_t history;         /* baseline */
    double deviation;        /* baseline */
    double min_value;        /* baseline */
    int has_field;           /* field is set */
    struct match_field field;
    struct match numerator;  /* ratio */
    uint32_t nsteps;         /* sequence */
    struct match steps[RULE_STEPS_MAX];
    struct match_meta *meta; /* private: the set's metadata names */
};

/* A kind: name, keys (a settings table over struct rule_params), flags. */
struct rule_kind {
    const char *name;
    const struct table_item *items;
    size_t nitems;
    unsigned flags;
};

/* The registry, indexed by enum rule_kind_id. */
extern const struct rule_kind rule_kinds[RULE_KINDS];

/* The kind named `name`, or -1. */
int rule_kind_find(const char *name);

struct rule_label {
    char key[RULE_LABEL_KEY_MAX];
    char value[RULE_LABEL_VALUE_MAX];
};

/* An override: groups whose values meet `match` (conditions on group_by
 * fields only) take `threshold`, or are muted. */
struct rule_override {
    struct match match;
    double threshold;  /* NaN when muting */
    int enabled;       /* 0: the group is muted */
};

/* A compiled rule.  Read-only outside rule.c. */
struct rule {
    char name[RULE_NAME_MAX + 1];
    int kind;                      /* enum rule_kind_id */
    int severity;                  /* enum severity (model/severity.h) */
    char description[RULE_TEXT_MAX + 1];  /* "" when absent */
    char runbook_url[RULE_TEXT_MAX + 1];  /* "" when absent */
    uint32_t nlabels;
    struct rule_label *labels;     /* nlabels, allocated; NULL when none */
    struct match match;            /* empty: every event */
    struct match exclude;          /* empty: nothing excluded */
    uint32_t ngroup;               /* 0: one group, "global" */
    struct match_field group_by[RULE_GROUP_MAX];
    struct rule_params p;          /* the kind's keys */
    uint32_t noverrides;
    struct rule_override *overrides; /* allocated; NULL when none */
    int64_t hold_s;                /* -1: the engine-wide setting */
    int64_t repeat_interval_s;     /* -1: the engine-wide setting */
    int64_t max_keys;              /* -1: the engine-wide setting */
    uint32_t types;  /* prefilter: the event types the rule can see
                        (match.h MATCH_TYPE_BIT); an event of another type
                        need not reach it */
};

/* A compiled `rules` list.  meta names the metadata members the rules
 * use: the decoder fills event.meta[i] with metadata[meta.name[i]]. */
struct rule_set {
    uint32_t n;
    struct rule *rules;        /* n, allocated */
    struct match_meta meta;
};

/* Compile the JSON array `rules` (found at `path`, e.g. "rules") into a
 * new set: *out, the caller's, freed with rule_set_destroy().  On error
 * *out is NULL and err holds one line: "rules[3].steps[1].tool_nme:
 * unknown field; did you mean tool_name?".  Returns RULE_OK, RULE_EINVAL
 * or RULE_ENOMEM.  Not for the hot path: it allocates. */
int rule_set_compile(struct rule_set **out, const struct cJSON *rules,
                     const char *path, char *err, size_t errsz);

/* rule_set_compile() with every error in errs, in file order (the first
 * is rule_set_compile()'s): after a bad key the rule's next key is
 * checked, after a bad rule the next rule; a rule's overrides and the
 * checks that span its keys only when its keys are good, and names are
 * compared among the rules that compiled (no error repeats another). */
int rule_set_compile_errs(struct rule_set **out, const struct cJSON *rules,
                          const char *path, struct table_errs *errs);

/* The six default rules (SPEC section 2, "Default rules"), compiled. */
int rule_set_defaults(struct rule_set **out, char *err, size_t errsz);

/* Free a set and everything its rules hold.  NULL and half-built sets are
 * fine. */
void rule_set_destroy(struct rule_set *s);

/* The rule named `name`, or NULL. */
const struct rule *rule_set_find(const struct rule_set *s, const char *name);

/* The effective rules as a JSON array, what check-config prints: every
 * key with its effective value (defaults filled in, globs normalised),
 * unset engine settings and clear thresholds left out, in a fixed key
 * order.  It compiles to the same set.  *out is the caller's
 * (cJSON_Delete).  Returns RULE_OK or RULE_ENOMEM. */
int rule_set_dump(const struct rule_set *s, struct cJSON **out);

/* One rule, compiled into *r with metadata names given slots in `meta`
 * (shared by the rules of a set), `path` naming it ("rules[3]").  On
 * error *r holds nothing (rule_free() is still fine).  Returns RULE_OK,
 * RULE_EINVAL or RULE_ENOMEM. */
int rule_compile(struct rule *r, const struct cJSON *obj, const char *path,
                 struct match_meta *meta, char *err, size_t errsz);

/* Free what a rule holds; *r keeps no memory.  NULL is fine. */
void rule_free(struct rule *r);

/* One rule as a JSON object (see rule_set_dump). */
int rule_dump(const struct rule *r, struct cJSON **out);

/* The default rules as JSON text (a `rules` array): volume, payload_size,
 * latency, error_rate, credential_access, stream_stalled. */
const char *rule_defaults_json(void);

/* A sentence for a return code. */
const char *rule_strerror(int rc);

#endif
