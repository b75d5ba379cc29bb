/*
 * checkpointer.h - what `run` does with the detection checkpoint (SPEC
 * section 4 "State"; the format is detectors/checkpoint.h): load it at
 * start-up, write it every detectors.checkpoint_s and at shutdown without
 * stalling the loop, and, after a restart that reads events again, keep
 * the notifications they make again from being sent twice.
 *
 * Writing.  The state is serialized on the loop thread, between events
 * (checkpointer_take: the engine is the loop's and must not change while
 * it is read; the work is a copy of its tables, bounded by the cap and
 * measured), into a buffer that a writer thread then owns and writes with
 * file_replace (temporary file, fsync, rename, directory fsync: the slow
 * part, tens of milliseconds to seconds on a busy disk, off the loop).
 * One write at a time: a checkpoint due while the previous one is still
 * being written is skipped (counted) and taken at the next iteration
 * after it ends.  At shutdown (checkpointer_write_now) the writer's last
 * write is waited for and the last checkpoint written on the loop thread,
 * after the last event; so is the first one at a start with no
 * checkpoint to load.
 *
 * After a restart.  checkpointer_load() restores the engine and says
 * which stream position to resume from (the checkpoint's).  The events
 * after it are read and fed again; those up to the journal's newest
 * position made notifications that are in the journal already (sent, or
 * waiting there to be sent).  The journal records with each position the
 * rule engine's number of the last notification made (its mark), and the
 * engine numbers its notifications deterministically from the
 * checkpoint's number on, so a notification made again has the number it
 * had: checkpointer_resend_guard() arms a guard from the journal's mark,
 * and checkpointer_already_sent() says which notifications it covers (the
 * number at or below the mark, and not made at a later event time than
 * the mark's: events that differ from the first reading end the guard).
 * While the events are read again (catch-up: until the newest position
 * recorded before the restart comes back, an event that is no older than
 * the wall clock allows, or a second with no event) the caller feeds them
 * in event time only, with no wall-clock ticks, so that the clock, the
 * episode ids and the numbers come out as they did the first time.
 *
 * Threads: every function runs on the loop thread; the writer thread only
 * writes the file and hands its outcome back under a mutex.
 */
#ifndef TW_CHECKPOINTER_H
#define TW_CHECKPOINTER_H

#include "detectors/engine.h"
#include "model/alert.h"

#include <stddef.h>
#include <stdint.h>

typedef struct checkpointer checkpointer;

/* What /status and /metrics show of it. */
struct checkpointer_stats {
    uint64_t writes;          /* checkpoints written */
    uint64_t failures;        /* not written: an I/O error, or over the cap */
    uint64_t too_big;         /* of which over the cap */
    uint64_t skipped;         /* due while the previous write went on */
    uint64_t refused;         /* refused at start-up */
    uint64_t not_resent;      /* notifications made again from events read
                                 again after a restart, not sent: the
                                 journal holds them */
    int64_t last_success_ms;  /* wall clock of the last written; 0 none */
    uint64_t last_bytes;      /* its size */
    int64_t last_serialize_us; /* its serialization, on the loop thread */
    int64_t last_write_us;    /* its write, on the writer thread */
};

/* A checkpointer for the state directory `dir` (copied), files of at most
 * max_bytes, one every interval_ms; its writer thread started.  NULL when
 * out of memory or the thread cannot start (logged). */
checkpointer *checkpointer_create(const char *dir, size_t max_bytes,
                                  int64_t interval_ms, int64_t now_mono_ms);

/* A reload: a new cap and interval, from the next checkpoint on. */
void checkpointer_configure(checkpointer *c, size_t max_bytes,
                            int64_t interval_ms, int64_t now_mono_ms);

/* Wait for a write in progress, stop the thread, free.  Accepts NULL. */
void checkpointer_destroy(checkpointer *c);

/* Read STATE_DIR/checkpoint into `e` (just created, not fed).  Returns
 * CKPT_OK (*info says what was kept and where to resume), CKPT_ENOENT
 * (none: start fresh), or a refusal (logged in one line, counted in
 * `refused`): then `e` must be destroyed and a new engine made. */
int checkpointer_load(checkpointer *c, det_engine *e,
                      struct det_restore_info *info);

/* Is a checkpoint due at now_mono_ms? */
int checkpointer_due(const checkpointer *c, int64_t now_mono_ms);

/* Serialize `e` now, for the stream position `pos` (len bytes; every
 * event up to it fed, none after), and hand it to the writer.  Between
 * events only.  Returns CKPT_OK (handed over; the next is due
 * interval_ms later), CKPT_EBUSY (the previous write goes on: skipped,
 * counted, tried again at the next call) or CKPT_ETOOBIG (over the cap:
 * logged, counted). */
int checkpointer_take(checkpointer *c, det_engine *e, const char *pos,
                      size_t len, int64_t wall_ms, int64_t now_mono_ms);

/* Collect the outcome of a finished write (logs a failure).  Call once
 * per loop iteration. */
void checkpointer_poll(checkpointer *c);

/* Write a checkpoint of `e` now, on this thread, after waiting for the
 * writer's write in progress: at shutdown after the last event, and at
 * a fresh start before the first (the empty state at the position the
 * stream resumes from, so that a crash before the first periodic
 * checkpoint reads those events again rather than skipping them).
 * Returns CKPT_OK, CKPT_ETOOBIG or CKPT_EIO (logged). */
int checkpointer_write_now(checkpointer *c, det_engine *e, const char *pos,
                           size_t len, int64_t wall_ms);

/* After a restore whose engine numbers its notifications from
 * `engine_seq` on: guard the notifications numbered up to the journal's
 * mark (made up to made_ms) from being sent again.  `same_rules`: the
 * engine runs exactly the rules of the checkpoint (else the numbers of
 * the first reading cannot be told apart: no guard, logged). */
void checkpointer_resend_guard(checkpointer *c, uint64_t engine_seq,
                               uint64_t mark_seq, int64_t mark_made_ms,
                               int same_rules);

/* Is notification `a` one the journal holds already (made again from
 * events read again)?  1: do not send it (counted, logged); 0: send it
 * (the guard ends at the first notification past it). */
int checkpointer_already_sent(checkpointer *c, const struct alert *a);

/* Catch-up: events are being read again up to `until` (len bytes: the
 * newest stream position recorded before the restart). */
void checkpointer_catchup_start(checkpointer *c, const char *until,
                                size_t len);
int checkpointer_catching_up(const checkpointer *c);

/* An event was fed during catch-up: its SSE id (the last event ID in
 * force, len bytes), the engine's clock after it and the wall clock less
 * the allowed lateness.  Catch-up ends at `until`, or when the clock has
 * come within the lateness of the wall clock. */
void checkpointer_catchup_event(checkpointer *c, const char *id, size_t len,
                                int64_t engine_now_ms, int64_t floor_ms);

/* The engine's tick time: `records` is the count of records fed so far;
 * catch-up ends when none came since the last call (the backlog is
 * read, or the stream is not there to give it). */
void checkpointer_catchup_tick(checkpointer *c, uint64_t records);

const struct checkpointer_stats *checkpointer_stats(const checkpointer *c);

#endif
