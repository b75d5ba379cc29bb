/*
 * silence_store.h - the set of silences (SPEC section 5): add, expire,
 * list, prune, find the one that mutes an alert; kept in the state
 * directory as one file, replaced atomically after every change.
 *
 * The file, state_dir/silences.json, is {"version": 1, "silences":
 * [<silence_print() objects>]} in creation order.  A change (add, expire,
 * prune) counts only once the file holding it has been written and
 * fsync'd (base/file.h file_replace): when that fails the change is
 * undone and the caller told, so an answer of 201 or 204 means the
 * silence survives kill -9.  At start the file is read (at most
 * SILENCE_STORE_FILE_MAX bytes) with the API's own parser in its stored
 * mode; a file that cannot be used whole (not JSON, a bad silence, a
 * duplicate id, too many, an unknown zone) is refused with one log line,
 * kept aside as silences.json.bad, and the store starts empty: never a
 * crash, never half a set.
 *
 * Expired silences stay listed for retention_s (the setting
 * silence_retention_s, declared below once with its default), then
 * silence_store_prune() drops them.  At most SILENCE_STORE_MAX silences
 * are kept, expired ones included until pruned.
 *
 * Zones: each time zone named by a recurrence is loaded once (alerts/
 * tz.h) and kept while the store lives; at most SILENCE_STORE_ZONES.
 *
 * One thread owns a store (the main loop); nothing here blocks but the
 * file's write and fsync.
 */
#ifndef TW_SILENCE_STORE_H
#define TW_SILENCE_STORE_H

#include "alerts/silence.h"
#include "base/buf.h"
#include "base/table.h"
#include "model/alert.h"

#include <stddef.h>
#include <stdint.h>

#define SILENCE_STORE_MAX 1000
#define SILENCE_STORE_ZONES 64
#define SILENCE_STORE_FILE "silences.json"
#define SILENCE_STORE_FILE_MAX (16u * 1024u * 1024u)

/* The setting, written here once: the root table of config/config.c
 * places this item (SILENCE_STORE_SETTINGS_ITEM(struct cfg, member)). */
#define SILENCE_RETENTION_S_DEFAULT 86400
#define SILENCE_RETENTION_S_MAX (30 * 86400)
#define SILENCE_STORE_SETTINGS_ITEM(type_, member_)                         \
    {.name = "silence_retention_s", .type = TABLE_INT,                      \
     .offset = offsetof(type_, member_), .def = SILENCE_RETENTION_S_DEFAULT,\
     .min = 0, .max = SILENCE_RETENTION_S_MAX,                              \
     .help = "expired silences stay listed this long, then are pruned"}

enum {
    SILENCE_STORE_OK = 0,
    SILENCE_STORE_EINVAL = -1, /* the silence is refused (message given) */
    SILENCE_STORE_EFULL = -2,  /* SILENCE_STORE_MAX silences kept */
    SILENCE_STORE_ENOENT = -3, /* no silence with that id */
    SILENCE_STORE_EIO = -4,    /* the file could not be written: the
                                  change was undone */
    SILENCE_STORE_ENOMEM = -5
};

struct silence_store_options {
    const char *state_dir;     /* NULL: kept in memory only */
    const char *zone_dir;      /* NULL: TZ_DIR_DEFAULT */
    int64_t retention_s;       /* silence_retention_s */
};

typedef struct silence_store silence_store;

/* Create a store and load state_dir/silences.json as of now_ms (see
 * above; an unusable file is logged and set aside).  NULL when out of
 * memory. */
silence_store *silence_store_create(const struct silence_store_options *o,
                                    int64_t now_ms);

/* Free.  Accepts NULL. */
void silence_store_destroy(silence_store *st);

/* A new retention (a reload); takes effect at the next prune. */
void silence_store_set_retention(silence_store *st, int64_t retention_s);

/* Add the silence of an API request (len bytes of JSON, see
 * silence_parse) made at now_ms, under a new random id (copied to id).
 * Returns SILENCE_STORE_OK, _EINVAL (message in err), _EFULL, _EIO or
 * _ENOMEM (the last three with a message in err as well). */
int silence_store_add(silence_store *st, const char *json, size_t len,
                      int64_t now_ms, char id[SILENCE_ID_MAX], char *err,
                      size_t errsz);

/* Expire silence `id` at now_ms.  Returns SILENCE_STORE_OK (also when it
 * had expired already), _ENOENT or _EIO. */
int silence_store_expire(silence_store *st, const char *id, int64_t now_ms);

/* Drop the silences expired for retention_s or longer at now_ms.
 * Returns how many were dropped (saved, or, when the write failed,
 * logged: the next change writes the file again). */
int silence_store_prune(silence_store *st, int64_t now_ms);

/* Append {"silences": [...]} (silence_print of each, in creation order)
 * and a newline.  Returns BUF_OK or a BUF_E* code. */
int silence_store_list(const silence_store *st, int64_t now_ms, buf *out);

/* Call fn(ud, s) for each silence, in creation order, expired ones
 * included until pruned.  s is borrowed for the call; fn must not change
 * the store. */
void silence_store_each(const silence_store *st,
                        void (*fn)(void *ud, const struct silence *s),
                        void *ud);

/* The first silence (in creation order) that mutes a at now_ms, or
 * NULL.  The pointer is valid until the next change. */
const struct silence *silence_store_match(const silence_store *st,
                                          const struct alert *a,
                                          int64_t now_ms);

/* The silence with id `id`, or NULL (valid until the next change). */
const struct silence *silence_store_get(const silence_store *st,
                                        const char *id);

/* Silences kept, and how many are in each state at now_ms
 * (counts[SILENCE_PENDING], ...; counts may be NULL). */
size_t silence_store_count(const silence_store *st, int64_t now_ms,
                           uint64_t counts[3]);

const char *silence_store_strerror(int rc);

#endif
