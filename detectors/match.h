/*
 * match.h - which events a rule sees (SPEC section 2, "Fields" and
 * "match / exclude"): a match object (field -> condition) compiled once at
 * config load, then evaluated against a struct event with no allocation.
 *
 * Fields.  Strings: event_type, tool_name, tool_category, agent_id,
 * session_id, downstream_system, response_status, error_code and
 * metadata.<name>.  Numbers: response_payload_size_bytes,
 * execution_duration_ms, tokens_consumed, cost_usd.  Booleans derived from
 * the record: completed (a tool_call_response or tool_call_error) and error
 * (a tool_call_error, or a tool_call_response whose response_status is
 * "error").  A string field is absent when the record lacks it or it is
 * empty; event_type and response_status are absent when the record's value
 * is not one of the names of SPEC section 1; a number field is absent when
 * its EVENT_HAS_* bit is clear.  An absent field meets no condition.
 *
 * Conditions.  A string field takes a glob (glob.h) or a non-empty list of
 * globs (any of them); a boolean field true or false; a number field an
 * object of one to four comparisons {">": n, ">=": n, "<": n, "<=": n}
 * (all of them).  An event meets a match when it meets every condition;
 * the empty match (no conditions) is met by every event.
 *
 * metadata.<name>.  struct event has EVENT_META_MAX string slots; a
 * struct match_meta (owned by the caller, shared by every match of a rule
 * set) gives each distinct name a slot, in order of first use, so that the
 * decoder fills exactly the names that rules use.
 *
 * Prefilter.  Each compiled match carries two bitmasks over enum
 * event_type (bit 1 << type): `types`, the types an event may have and
 * still meet the match, and `types_sure`, the types for which the match
 * holds whatever the rest of the record says.  match_seen_types() combines
 * a rule's match and exclude into the types the rule can see, so that an
 * event reaches only the rules that may want it.
 *
 * Memory: sizeof(struct match) (32 bytes) in its owner, plus one block of
 * 48 bytes per condition and 133 bytes per glob, allocated by
 * match_compile() and freed by match_free().
 */
#ifndef TW_MATCH_H
#define TW_MATCH_H

#include "detectors/glob.h"
#include "model/event.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct table_errs;

/* Return codes: the values of base/table.h's TABLE_EINVAL and TABLE_ENOMEM,
 * so that a settings walker can pass them on. */
enum {
    MATCH_OK = 0,
    MATCH_EINVAL = -3, /* the match object is not accepted (message) */
    MATCH_ENOMEM = -4
};

enum match_field_id {
    MATCH_F_EVENT_TYPE = 0,
    MATCH_F_TOOL_NAME,
    MATCH_F_TOOL_CATEGORY,
    MATCH_F_AGENT_ID,
    MATCH_F_SESSION_ID,
    MATCH_F_DOWNSTREAM_SYSTEM,
    MATCH_F_RESPONSE_STATUS,
    MATCH_F_ERROR_CODE,
    MATCH_F_META,      /* metadata.<name>, slot in struct match_field */
    MATCH_F_PAYLOAD,   /* response_payload_size_bytes */
    MATCH_F_DURATION,  /* execution_duration_ms */
    MATCH_F_TOKENS,    /* tokens_consumed */
    MATCH_F_COST,      /* cost_usd */
    MATCH_F_COMPLETED,
    MATCH_F_ERROR,
    MATCH_F_COUNT
};

enum match_type { MATCH_T_STRING = 0, MATCH_T_NUMBER, MATCH_T_BOOL };

/* A field: its id, and for MATCH_F_META its slot in the event. */
struct match_field {
    uint8_t id;   /* enum match_field_id */
    uint8_t slot; /* MATCH_F_META: index into event.meta; else 0 */
};

/* The metadata names in use, slot i naming event.meta[i].  Zero it before
 * the first match_compile() of a rule set. */
struct match_meta {
    unsigned n;
    char name[EVENT_META_MAX][EVENT_META_NAME_MAX];
};

#define MATCH_GLOBS_MAX 64 /* globs in one list */

/* Bit of an event type in the prefilter masks, and all of them. */
#define MATCH_TYPE_BIT(t) (1u << (unsigned)(t))
#define MATCH_TYPES_ALL ((1u << ((unsigned)EVENT_SESSION_END + 1)) - 1)

struct match_cond; /* private to match.c */

/* A compiled match.  A value its owner embeds; fields read-only outside
 * match.c.  match_init() gives the empty match. */
struct match {
    uint32_t ncond;
    uint32_t nglob;
    uint32_t types;           /* prefilter: see above */
    uint32_t types_sure;
    struct match_cond *cond;  /* one allocation: conditions, then globs */
    struct glob *glob;
};

/* The empty match (no conditions, no memory). */
void match_init(struct match *m);

/* Compile the JSON object `obj` (field -> condition) into *m, which must
 * be initialised (match_init) and is replaced; NULL (an absent key) gives
 * the empty match.  `path` names the object in
 * messages ("rules[2].match"); metadata names are given slots in `meta`.
 * On error *m is the empty match, with nothing allocated, and err says
 * what and where: "rules[3].match.tool_nme: unknown field; did you mean
 * tool_name?", "rules[0].match.cost_usd: expected an object of
 * comparisons ...".  A match that no event can meet (contradictory
 * conditions) is refused.  Returns MATCH_OK, MATCH_EINVAL or
 * MATCH_ENOMEM. */
int match_compile(struct match *m, const struct cJSON *obj, const char *path,
                  struct match_meta *meta, char *err, size_t errsz);

/* match_compile() with every error in errs: after a bad condition the
 * next is compiled, and inside one each bad glob of a list and each bad
 * comparison of a number condition is reported (the contradiction checks
 * need them all good). */
int match_compile_errs(struct match *m, const struct cJSON *obj,
                       const char *path, struct match_meta *meta,
                       struct table_errs *errs);

/* Free what match_compile() allocated; *m becomes the empty match.  NULL,
 * empty and half-built matches are fine. */
void match_free(struct match *m);

/* Does the event meet every condition?  1 or 0 (the empty match: 1).  No
 * allocation; may be called from any thread that owns `ev`. */
int match_eval(const struct match *m, const struct event *ev);

/* Does a rule with this match and exclude see the event?  The match holds
 * and the exclude does not; an empty exclude excludes nothing. */
int match_seen(const struct match *match, const struct match *exclude,
               const struct event *ev);

/* The prefilter of a rule: the event types it can see (a superset: an
 * event of another type is never seen). */
uint32_t match_seen_types(const struct match *match,
                          const struct match *exclude);

/* The exact values of the match's most selective string condition whose
 * globs are all exact (no `*`, no `?`), for an index of rules by value
 * (detectors/index.h): an event whose field f, lower-cased, is none of
 * them cannot meet the match.  Sets *f and lit[0..n-1] (lower-cased,
 * NUL-terminated, owned by m) and returns n; 0 when no condition has
 * only exact globs, or each has more than `max`.  event_type and
 * response_status are not among them (the type prefilter has those). */
uint32_t match_exact_values(const struct match *m, struct match_field *f,
                            const char **lit, uint32_t max);

/* The field of condition i (i < m->ncond), in the order written. */
struct match_field match_cond_field(const struct match *m, uint32_t i);

/* The match as a JSON object, what check-config prints: conditions in the
 * order written, globs normalised (glob_text), one glob as a string.  It
 * compiles to the same match.  *out is the caller's (cJSON_Delete).
 * Returns MATCH_OK or MATCH_ENOMEM. */
int match_dump(const struct match *m, const struct match_meta *meta,
               struct cJSON **out);

/* ---- fields, for the rule compiler and the engine ---- */

/* Resolve a field name into *f (metadata.<name>: a slot in `meta`).  On
 * error the message names `path`; when name_in_path is 0 the name is
 * quoted after it ("rules[0].group_by[1]: unknown field tool_nme; did you
 * mean tool_name?"), else the path ends with it ("rules[0].match.tool_nme:
 * unknown field; did you mean tool_name?").  Returns MATCH_OK or
 * MATCH_EINVAL. */
int match_field_resolve(const char *name, struct match_meta *meta,
                        struct match_field *f, const char *path,
                        int name_in_path, char *err, size_t errsz);

enum match_type match_field_type(struct match_field f);

/* The field's name ("tool_name", "metadata.region") into out. */
void match_field_name(struct match_field f, const struct match_meta *meta,
                      char *out, size_t size);

/* The names of the fields of a type, for messages: "tool_name, ..." */
const char *match_field_names(enum match_type t);

static inline int match_field_equal(struct match_field a,
                                    struct match_field b)
{
    return a.id == b.id && a.slot == b.slot;
}

/* A string field's value, or NULL when the record lacks it. */
const char *match_string(const struct event *ev, struct match_field f);

/* A number field's value into *out: 1, or 0 when the record lacks it. */
int match_number(const struct event *ev, struct match_field f, double *out);

#endif
