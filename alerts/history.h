/*
 * history.h - what happened to the alerts, kept bounded in the state
 * directory (SPEC section 5 "History"): every state change of an episode
 * or a notification (fired, repeated, silenced, acked, inhibited,
 * resolved, delivered, dead_lettered) as one entry {at, event, id, rule,
 * key, sink, detail}, served by GET /api/v1/history and shown on the
 * status page.
 *
 * Two layers.  The pure one (history_encode, history_decode,
 * history_query_set, history_query_match) turns an entry into one line
 * of JSON and back, and reads the API's query parameters; it does no I/O
 * and is what the unit tests and the fuzz target drive byte by byte.  The
 * shell (history_create ... history_destroy) keeps the file:
 *
 *   <state_dir>/history.log     the current segment, appended to
 *   <state_dir>/history.log.1   the previous segment
 *
 * Appends are collected in memory and written with one write and one
 * fsync by history_flush(), which the loop calls once per iteration (its
 * group commit, next to the journal's): an entry acknowledged by a flush
 * survives kill -9.  When the current segment would pass max_bytes / 2
 * it becomes history.log.1 (the older one is dropped: the oldest entries
 * go first) and a new segment starts, so the two files together never
 * hold more than max_bytes (HISTORY_MAX_BYTES, 4 MiB, by default).
 *
 * Every byte read back is hostile: a line longer than HISTORY_LINE_MAX,
 * a line that is not exactly one entry's JSON (unknown or missing keys,
 * wrong types, an unknown event, an id that is not hex, a field past its
 * size) is skipped and counted, never fatal; a last line without its
 * newline (a write torn by a crash) is cut off the file at start-up so
 * that the next append starts on a line of its own.
 *
 * Loop thread only (the shell); the pure functions anywhere.
 */
#ifndef TW_HISTORY_H
#define TW_HISTORY_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define HISTORY_MAX_BYTES (4u * 1024u * 1024u) /* both segments */
#define HISTORY_MIN_BYTES (64u * 1024u)        /* the smallest cap */
#define HISTORY_LINE_MAX 4096    /* one encoded entry, with its newline */
#define HISTORY_ID_MAX 33        /* an episode id: 32 hex + NUL; "" none */
#define HISTORY_RULE_MAX 72      /* rule names (STATUS_NAME_MAX) */
#define HISTORY_KEY_MAX 128      /* a group key (DET_KEY_MAX) */
#define HISTORY_SINK_MAX 72      /* sink names */
#define HISTORY_DETAIL_MAX 256   /* free text, with the NUL */
#define HISTORY_GLOB_MAX 256     /* the rule= filter */
#define HISTORY_LIMIT_DEFAULT 100
#define HISTORY_LIMIT_MAX 1000
#define HISTORY_TAIL 100         /* the newest entries kept in memory */
#define HISTORY_FILE "history.log"
#define HISTORY_FILE_OLD "history.log.1"

enum {
    HISTORY_OK = 0,
    HISTORY_EINVAL = -1,   /* a line or a query refused */
    HISTORY_EIO = -2,      /* the file could not be written */
    HISTORY_ENOMEM = -3,
    HISTORY_ETOOBIG = -4   /* the answer does not fit its buffer */
};

enum history_event {
    HISTORY_FIRED = 0,     /* an episode opened (its first firing) */
    HISTORY_REPEATED,      /* a firing of an open episode again */
    HISTORY_SILENCED,      /* a notification not sent: a silence */
    HISTORY_ACKED,         /* an episode acknowledged, or its repeat not
                              sent for that */
    HISTORY_INHIBITED,     /* a notification not sent: an inhibition */
    HISTORY_RESOLVED,      /* an episode closed */
    HISTORY_DELIVERED,     /* a sink took notifications */
    HISTORY_DEAD_LETTERED, /* a sink's notifications given up */
    HISTORY_EVENT_COUNT
};

/* One entry: a plain value, every string NUL-terminated ("" when the
 * event has none: a delivery has no rule, a firing no sink). */
struct history_entry {
    int64_t at_ms;                   /* wall clock, ms since the epoch */
    uint8_t event;                   /* enum history_event */
    char id[HISTORY_ID_MAX];         /* episode id, lower-case hex, or "" */
    char rule[HISTORY_RULE_MAX];
    char key[HISTORY_KEY_MAX];
    char sink[HISTORY_SINK_MAX];
    char detail[HISTORY_DETAIL_MAX];
};

/* GET /api/v1/history's parameters. */
struct history_query {
    int64_t since_ms;                /* entries at or after it; 0: all */
    char rule[HISTORY_GLOB_MAX];     /* a rule name or glob; "": all */
    unsigned limit;                  /* 1..HISTORY_LIMIT_MAX */
    unsigned seen;                   /* private: parameters given */
};

/* ---- the pure layer ---------------------------------------------------- */

/* "fired", ..., "dead_lettered"; NULL for a value out of range. */
const char *history_event_name(unsigned ev);

/* Fill *e: strings copied, each cut at its size on a UTF-8 character
 * boundary (NULL: ""). */
void history_entry_set(struct history_entry *e, int64_t at_ms,
                       enum history_event ev, const char *id,
                       const char *rule, const char *key, const char *sink,
                       const char *detail);

/* Append e as one JSON object {"at", "event", "id", "rule", "key",
 * "sink", "detail"} (empty strings as null), without a newline.  Returns
 * BUF_OK or a BUF_E* code. */
int history_encode(const struct history_entry *e, buf *out);

/* Decode one line (len bytes, no newline; not NUL-terminated) written by
 * history_encode into *e.  Returns HISTORY_OK, or HISTORY_EINVAL (*e
 * then unspecified) for anything else: more than HISTORY_LINE_MAX bytes,
 * not one JSON object, an unknown, missing or repeated key, a value of
 * the wrong type, past its size or not UTF-8, an unknown event, a time
 * that is not ISO 8601, an id that is not 32 lower-case hex digits.
 * Pure; allocates
 * only the parse tree, freed before it returns. */
int history_decode(const char *line, size_t len, struct history_entry *e);

/* Defaults: everything, the newest HISTORY_LIMIT_DEFAULT. */
void history_query_init(struct history_query *q);

/* Take one query parameter (value decoded, vlen bytes): since (ISO 8601),
 * rule (a name or a glob, 1 to 255 bytes), limit (1 to 1000).  Returns
 * HISTORY_OK, or HISTORY_EINVAL with a message for the client in err
 * (an unknown or repeated parameter, a bad value). */
int history_query_set(struct history_query *q, const char *name,
                      const char *value, size_t vlen, char *err,
                      size_t errsz);

/* Does e pass q's filters (since, rule)? */
int history_query_match(const struct history_query *q,
                        const struct history_entry *e);

/* ---- the file ---------------------------------------------------------- */

struct history_options {
    const char *state_dir;   /* NULL: kept in memory only (the tail) */
    uint64_t max_bytes;      /* both segments; 0: HISTORY_MAX_BYTES;
                                raised to HISTORY_MIN_BYTES */
};

struct history_stats {
    uint64_t appended;       /* entries taken since the start */
    uint64_t written;        /* of which on disk */
    uint64_t skipped;        /* lines read back and refused */
    uint64_t write_errors;   /* flushes that failed (entries lost) */
    uint64_t rotations;
};

typedef struct history history;

/* Open (creating) the segments in o->state_dir and read them back: the
 * newest HISTORY_TAIL entries are kept in memory for the status page; a
 * torn last line is cut off.  A directory that cannot be written leaves
 * a history in memory only (logged).  NULL when out of memory. */
history *history_create(const struct history_options *o);

/* Write what is pending (history_flush), close, free.  Accepts NULL. */
void history_destroy(history *h);

/* Append one entry (history_entry_set's arguments): kept in memory and
 * written at the next history_flush().  h NULL: nothing.  Returns
 * HISTORY_OK, or HISTORY_ENOMEM (the entry is dropped and counted). */
int history_append(history *h, int64_t at_ms, enum history_event ev,
                   const char *id, const char *rule, const char *key,
                   const char *sink, const char *detail);

/* Write the pending entries with one write and one fsync, rotating the
 * segments first when the current one would pass max_bytes / 2.
 * Returns HISTORY_OK (also with nothing pending) or HISTORY_EIO (logged;
 * the entries are dropped and counted, the next flush tries again). */
int history_flush(history *h);

/* Append {"entries": [...]} and a newline to out: the entries passing q,
 * newest first, at most q->limit, read from both segments (after a
 * flush).  Returns HISTORY_OK, HISTORY_ENOMEM or HISTORY_ETOOBIG. */
int history_query(history *h, const struct history_query *q, buf *out);

/* The newest entries, newest first, at most max (and HISTORY_TAIL), into
 * out.  Returns how many. */
size_t history_tail(const history *h, struct history_entry *out,
                    size_t max);

void history_stats(const history *h, struct history_stats *out);

const char *history_strerror(int rc);

#endif
