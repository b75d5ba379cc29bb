/*
 * journal.h - the durable outbox: an append-only file of notifications
 * waiting for delivery.
 *
 * Every notification is appended (ENQUEUE record) and fsync'd before it
 * counts as queued; when it is delivered or dead-lettered an ACK record is
 * appended.  On start the file is read back and every ENQUEUE without an
 * ACK is pending again, with its original sink, message id (webhook-id /
 * dedup_key), creation time and body bytes, so a restart re-sends exactly
 * what was not acknowledged.  When the acknowledged part of the file is
 * large, the file is rewritten with only the pending records and the
 * newest stream position (temp file, fsync, rename, fsync of the
 * directory).
 *
 * The journal also records where in the audit stream the notifications
 * were made (POSITION records: the last event ID in force and a
 * generation number that orders it against the position file, see
 * consumer/position.h).  A position appended after a batch of ENQUEUEs
 * becomes durable in the same fsync, so after a crash the service never
 * finds its notifications without the position that says their events
 * were read, and does not read those events (and make those alerts)
 * again.
 *
 * Files, in the directory given to journal_open (created 0700):
 *   journal.log      the records (0600)
 *   journal.log.tmp  a compaction in progress (removed at open)
 *   journal.lock     flock'd while a process has the journal open
 *
 * The records' format is alerts/journal_record.h's (the pure layer: it
 * encodes them, and scans a file image back).  A POSITION record does not
 * take a sequence number (the generation orders positions); the newest
 * position is the one with the highest generation (on a tie the later in
 * the file).
 *
 * Reading back: whatever follows the last intact record -- a record cut
 * short by a crash during the write, a bad last record, zeros -- is a torn
 * tail: dropped, and the file truncated after the last intact record
 * (journal_stats.torn_bytes).  Before that, a record with a bad payload
 * CRC is skipped by its (header-checked) length, and a bad header makes
 * the reader look for the next valid header; both are counted
 * (journal_stats.corrupt_records), never fatal.  Lengths are checked
 * against JOURNAL_RECORD_MAX_PAYLOAD before anything is allocated.  A
 * POSITION record that comes after damage (anywhere before it in the
 * file) is not trusted: the damage may be a notification the position
 * claims is journaled (a write lost out of order in a power cut), so the
 * newest position before the damage stays in force.  A file with damage in the
 * middle is rewritten (compacted) at the first journal_sync after
 * journal_open, so the positions put from then on are trusted again.
 *
 * Durability contract: journal_append() writes the record (no fsync);
 * journal_sync() makes every append and ack so far durable, so a caller
 * can group-commit a loop iteration's appends with one fsync.  An entry
 * counts as queued only after journal_sync() returned JOURNAL_OK.  If
 * journal_sync() fails, every append and position since the last
 * successful sync is void (the journal forgets those sequence numbers and
 * goes back to the last durable position): the caller still has the
 * entries and appends them again later.  Acks never fail for I/O
 * reasons: an ack that cannot be written is kept and written by the next
 * append/sync (at worst a crash re-sends a delivered notification, which
 * receivers dedupe by id).
 *
 * Disk full (ENOSPC, EDQUOT, EFBIG) gives JOURNAL_ENOSPC, other I/O errors
 * JOURNAL_EIO; the file is cut back to its last intact record,
 * journal_writable() turns false, and the next append/sync tries again
 * (and turns it true when it succeeds).
 *
 * Threads: a journal is used by one thread (the event loop).
 */
#ifndef TW_JOURNAL_H
#define TW_JOURNAL_H

#include "alerts/journal_record.h"

#include <stddef.h>
#include <stdint.h>

/* Return codes.  JOURNAL_EINVAL and JOURNAL_ETOOBIG equal the record
 * layer's JOURNAL_RECORD_EINVAL and JOURNAL_RECORD_ETOOBIG. */
enum {
    JOURNAL_OK = 0,
    JOURNAL_EINVAL = -1,   /* bad argument, or called from a callback */
    JOURNAL_ENOMEM = -2,
    JOURNAL_EIO = -3,      /* read, write, fsync, rename... failed */
    JOURNAL_ENOSPC = -4,   /* no space left (or file size limit) */
    JOURNAL_EFULL = -5,    /* max_pending_bytes reached */
    JOURNAL_ETOOBIG = -6,  /* a field longer than its maximum */
    JOURNAL_ENOENT = -7,   /* ack of a sequence number not pending */
    JOURNAL_ELOCKED = -8   /* another process has this journal open */
};

/* The default cap on pending bytes, written once here: the journal's own
 * default and the service's journal_max_bytes (config/config.c), where
 * the stream pauses (alerts/delivery.h). */
#define JOURNAL_DEFAULT_MAX_PENDING_BYTES (64u * 1024u * 1024u)

struct journal_options {
    /* Cap on the bytes of pending records; journal_append fails with
     * JOURNAL_EFULL beyond it.  0: 64 MiB. */
    uint64_t max_pending_bytes;
    /* Compact in journal_sync when the acknowledged bytes exceed
     * max(compact_min_dead, 2 x the pending bytes).  0: 1 MiB; values
     * below 4096 are raised to 4096. */
    uint64_t compact_min_dead;
};

struct journal_stats {
    uint64_t next_seq;
    uint64_t pending;         /* entries */
    uint64_t pending_bytes;   /* bytes of their records */
    uint64_t file_bytes;
    uint64_t corrupt_records; /* skipped since open */
    uint64_t torn_bytes;      /* cut from the end of the file at open */
    uint64_t compactions;
    uint64_t write_errors;
};

typedef struct journal journal;

/* Open (creating if needed) the journal in `dir` and read it back.
 * Returns NULL on failure with *err (if not NULL) set: JOURNAL_EIO (cannot
 * create/open/read/lock the files), JOURNAL_ELOCKED, JOURNAL_ENOMEM.
 * `opt` may be NULL (defaults).  A torn tail is cut off here.  Pending
 * entries over max_pending_bytes are still loaded (nothing is dropped);
 * appends then fail with JOURNAL_EFULL until acks bring it down. */
journal *journal_open(const char *dir, const struct journal_options *opt,
                      int *err);

/* Close the files and free.  Does not sync: call journal_sync first if
 * the last appends matter.  Accepts NULL. */
void journal_close(journal *j);

/* Write one ENQUEUE record; *seq (if not NULL) receives its sequence
 * number, the handle for journal_ack.  The entry's bytes are copied; the
 * caller keeps ownership.  Not durable until journal_sync().  Returns
 * JOURNAL_OK, JOURNAL_EINVAL, JOURNAL_ETOOBIG, JOURNAL_EFULL,
 * JOURNAL_ENOMEM, JOURNAL_ENOSPC or JOURNAL_EIO (then nothing was added). */
int journal_append(journal *j, const struct journal_record_entry *e,
                   uint64_t *seq);

/* Make all appends and acks durable (fdatasync), compacting first when
 * the dead part is large.  Returns JOURNAL_OK, JOURNAL_ENOSPC or
 * JOURNAL_EIO; on error the appends since the last successful sync are
 * void (see the contract above). */
int journal_sync(journal *j);

/* The notification `seq` was delivered or dead-lettered: it is no longer
 * pending.  Returns JOURNAL_OK, JOURNAL_ENOENT (not pending),
 * JOURNAL_EINVAL or JOURNAL_ENOMEM; never an I/O error (see above). */
int journal_ack(journal *j, uint64_t seq,
                enum journal_record_outcome outcome);

/* Record the stream position: `id` (the last event ID in force, `len` <=
 * JOURNAL_RECORD_MAX_POSITION bytes, NULL when len is 0) with its
 * generation `gen` (1..JOURNAL_RECORD_GEN_MAX; the caller draws it from
 * the same counter as the position file's).  Written now, after every
 * append so far; durable with the next journal_sync (and in the same
 * fsync as those appends), void if that sync fails.  Returns JOURNAL_OK,
 * JOURNAL_EINVAL, JOURNAL_ETOOBIG, JOURNAL_ENOMEM, JOURNAL_ENOSPC or
 * JOURNAL_EIO (then nothing was written and the position in force is
 * unchanged). */
int journal_put_position(journal *j, uint64_t gen, const char *id,
                         size_t len);

/* journal_put_position with a mark (alerts/journal_record.h; NULL or
 * seq 0: none): the number of the last notification made up to this
 * position and the event time it was made at.  The mark goes with its
 * position: read back, voided and compacted with it. */
int journal_put_position_mark(journal *j, uint64_t gen, const char *id,
                              size_t len, const struct journal_mark *mark);

/* The mark of the newest position (seq 0: none, or no journal). */
void journal_position_mark(const journal *j, struct journal_mark *out);

/* The newest position recorded (read back at open, or put since and not
 * voided): returns its generation, 0 when the journal has none.  *id (may
 * be NULL) points into the journal, valid until the next call that
 * writes; *len (may be NULL) is its length. */
uint64_t journal_position(const journal *j, const char **id, size_t *len);

/* Pending entries, in sequence order.  `fn` gets each entry; the entry's
 * pointers are valid only during the call, and `fn` must not call journal
 * functions (they return JOURNAL_EINVAL).  A non-zero return from `fn`
 * stops the walk and is returned.  An entry whose record can no longer be
 * read intact is skipped, counted and forgotten.  Returns JOURNAL_OK,
 * JOURNAL_EIO, JOURNAL_ENOMEM or fn's value. */
typedef int (*journal_pending_fn)(void *ud, uint64_t seq,
                                  const struct journal_record_entry *e);
int journal_foreach_pending(journal *j, journal_pending_fn fn, void *ud);

/* journal_foreach_pending from the first pending entry whose sequence
 * number is at least from_seq (found by bisection, so a reader that
 * resumes where it stopped does not walk what it read before). */
int journal_foreach_pending_from(journal *j, uint64_t from_seq,
                                 journal_pending_fn fn, void *ud);

size_t journal_pending_count(const journal *j);

/* Rewrite the file with only the pending records and the newest position
 * now (journal_sync does this by itself when the dead part is large, and
 * after an open that found damage in the middle).  On success everything is
 * durable, as after journal_sync.  Returns JOURNAL_OK, JOURNAL_ENOSPC,
 * JOURNAL_EIO or JOURNAL_ENOMEM; on failure the old file is in use as
 * before and nothing is voided (call journal_sync as usual). */
int journal_compact(journal *j);

/* 1 when the last write or sync succeeded (or none failed yet), 0 after a
 * failure until one succeeds again. */
int journal_writable(const journal *j);

void journal_get_stats(const journal *j, struct journal_stats *st);

const char *journal_strerror(int rc);

#endif
