/*
 * position.h - where the stream reader is: the position file in the state
 * directory, and the generations that tell which of two recorded positions
 * is the newer.
 *
 * A position is the last event ID in force.  The live one belongs to the
 * stream's SSE parser (it changes with every event); a `struct position`
 * holds what goes around it: the state directory, what the file holds and
 * the generation counter.  The owner passes the live id in when it
 * persists.
 *
 * Generations: every position handed out -- written to the file by
 * position_persist, or claimed by position_claim for another record (the
 * alert journal) -- gets a generation one above every generation read,
 * offered, taken or handed out before.  Of two recorded positions, the one
 * with the higher generation is the newer; at start-up the owner offers
 * the journal's (position_offer) and the newer of it and the file's is
 * resumed from.  Generations are 1..POSITION_GEN_MAX, as in the journal
 * (alerts/journal_record.h JOURNAL_RECORD_GEN_MAX); 0 means none.
 *
 * The position file, STATE_DIR/position (0600), replaced atomically
 * (base/file.h file_replace: temp file, fsync, rename, directory fsync):
 *   <last event id> LF <generation, decimal> LF
 * A file of the older format -- the id alone, no line break -- still
 * loads, as generation 0 (older than any recorded generation).  A file
 * that is neither is ignored (logged).
 *
 * One writer: a position with a state directory writes its file; after
 * position_take() the source has none and writes nothing, so when a reload
 * builds a new reader while the old one still runs, the file keeps one
 * writer at a time and generations keep rising.
 *
 * A value type: embed it in its owner (the stream reader); fields are
 * private.  position_init() before use, position_reset() to free.  Not
 * thread-safe: one owner, on the loop's thread.  Log lines carry the
 * stream's component ("stream"): this is the stream's position.
 */
#ifndef TW_POSITION_H
#define TW_POSITION_H

#include "consumer/sse.h"

#include <stddef.h>
#include <stdint.h>

/* A last event ID is shorter than this (the SSE parser's limit). */
#define POSITION_ID_MAX SSE_LAST_ID_MAX
#define POSITION_GEN_MAX (UINT64_C(1) << 62)

enum {
    POSITION_OK = 0,
    POSITION_ENOMEM = -1,
    POSITION_EINVAL = -2,
    POSITION_EIO = -3
};

struct position {
    /* private: */
    char *dir;                  /* the state directory (owned); NULL: no
                                   file, nothing is read or written */
    uint64_t gen;               /* newest generation read, offered, taken
                                   or handed out; the next is gen + 1 */
    int saved_valid;            /* the file holds saved_id[0..saved_len) */
    size_t saved_len;
    char saved_id[POSITION_ID_MAX];
};

/* No directory, generation 0. */
void position_init(struct position *p);

/* Free the directory's name; back to the position_init() state.  Writes
 * nothing (persist first).  Accepts a zeroed position. */
void position_reset(struct position *p);

/* Keep the position in `dir` (copied): create it (0700) when missing, then
 * read its position file.  When the file is usable, its id is copied to
 * `id` (POSITION_ID_MAX bytes, NUL-terminated), *len set, the generation
 * taken and 1 returned ("resuming after event id from ..." is logged).
 * Returns 0 when there is no file or it is unusable (logged), POSITION_EIO
 * when the directory cannot be created or is not one (logged),
 * POSITION_ENOMEM, or POSITION_EINVAL (a directory is already set). */
int position_open(struct position *p, const char *dir, char *id,
                  size_t *len);

/* The bytes of a position file: 0 when usable, with the id in
 * buf[0..*idlen) and its generation in *gen (0: the older format, the id
 * alone); POSITION_EINVAL when not.  Pure. */
int position_parse(const char *buf, size_t n, size_t *idlen, uint64_t *gen);

/* Can `id` (len bytes) be a last event ID: shorter than POSITION_ID_MAX,
 * no CR, LF or NUL?  1 or 0. */
int position_id_ok(const char *id, size_t len);

/* Write `id` (len bytes, position_id_ok) with a new generation, unless
 * the file already holds it or there is no directory.  A generation lost
 * to a failed write is skipped.  Returns POSITION_OK or POSITION_EIO
 * (logged; the file is unchanged, the next call tries again). */
int position_persist(struct position *p, const char *id, size_t len);

/* A new generation for the position in force, to record elsewhere now
 * (the alert journal): higher than any read, offered, taken or handed out
 * before.  The file is not touched.  May be called from the stream's
 * on_event. */
uint64_t position_claim(struct position *p);

/* A position recorded elsewhere (the journal's newest), with generation
 * `gen`.  Returns 1 when it is newer than every generation seen: it is
 * adopted (the caller makes `id` the id in force; the file is brought up
 * to date at the next persist) and logged; 0 when not newer, or gen is 0;
 * POSITION_EINVAL for an id that cannot be a last event ID
 * (position_id_ok) or a generation over POSITION_GEN_MAX (logged; nothing
 * changes).  After 0 or 1, later generations are above `gen`. */
int position_offer(struct position *p, const char *id, size_t len,
                   uint64_t gen);

/* Generation of the newest position read, offered, taken or handed out
 * (0: none). */
uint64_t position_generation(const struct position *p);

/* The state directory, or NULL when there is no file (none was opened,
 * or the position was handed over). */
const char *position_dir(const struct position *p);

/* Hand src's position over to dst (a reload's new reader): dst's
 * generation becomes the higher of the two, and when both use the same
 * directory dst knows what src last wrote there.  src gives up its file:
 * it writes nothing from now on and its directory is NULL.  The id in
 * force is the owners' to copy.  dst and src must differ. */
void position_take(struct position *dst, struct position *src);

const char *position_strerror(int rc);

#endif
