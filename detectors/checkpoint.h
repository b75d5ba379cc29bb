/*
 * checkpoint.h - the rule engine's detection state as bytes, and the file
 * that keeps them in the state directory (SPEC section 4 "State").
 *
 * Two layers.  The pure core encodes an engine's state (engine.h
 * det_engine_checkpoint) and decodes it back into a new engine
 * (det_engine_restore): no I/O, no clock, no allocation beyond the output
 * buffer; every byte read is hostile (the file may be corrupt, truncated,
 * from another version or another instance, or written by someone else).
 * The thin shell reads and replaces the file (base/file.h: temporary
 * file, fsync, rename, directory fsync).
 *
 * What a checkpoint holds: the instance name; the stream position (last
 * event ID) whose events are all in the state; the engine's event-time
 * clock and the number of its last notification; the key of its keyed
 * hashes (group keys and record ids are kept as hashes under it, so it is
 * kept with them); the recent record ids of the duplicate filter (their
 * hashes, oldest first); then per rule its name and fingerprint (engine.h:
 * a rule whose fingerprint is unchanged keeps its state, the others start
 * fresh, as on a reload) and its groups: in LRU order then pinned order,
 * each with its key hash, flags, threshold (rules with threshold
 * overrides), alert record (open episodes, and the kept values of absence
 * groups: id, start, last notification, CLEARING time, value, group
 * values, text, sample) and the kind's own state through the kind's save
 * op (kind.h).  A kind without a save op keeps only the groups with an
 * open episode, with their alert record: the episode survives, its window
 * starts empty.
 *
 * File format (little-endian), version 2 (version 1, before the
 * overflow group and the capacity warning, is refused as another
 * version: the service starts fresh):
 *
 *   off size
 *     0    4  magic "TWCK"
 *     4    4  version (1)
 *     8    8  payload length n (the file is 48 + n bytes)
 *    16   32  BLAKE2b-256 of bytes 0..15 and the payload
 *    48    n  payload:
 *               instance   u16 len + bytes (< CKPT_INSTANCE_MAX)
 *               position   u16 len + bytes (<= CKPT_POSITION_MAX)
 *               now_ms     i64 (INT64_MIN: the clock was not known)
 *               seq        u64 (the engine's last notification number)
 *               written_ms i64 (wall clock when written; informational)
 *               hash key   16 bytes
 *               dedupe     u32 count (<= CKPT_DEDUPE_MAX) + count x u64
 *               rules      u32 count (<= RULE_MAX), each:
 *                 name u8 len + bytes, fingerprint 32 bytes, kind u8,
 *                 body length u64, body: u32 groups (<= the rule's
 *                 max_keys + 1: its overflow group), the groups, then
 *                 capacity u8 (1: its rule_capacity warning is open),
 *                 its start i64 (0 when not open), overflow events u64;
 *                 each group:
 *                   h0 u64, h1 u64, flags u8 (CKPT_G_*), state u8
 *                   [threshold f64]              CKPT_G_THR
 *                   [alert record]               CKPT_G_ALERT
 *                   kind state u32 len + bytes   (<= checkpoint_bytes)
 *   alert record: started_ms, last_sent_ms, clear_since_ms i64; value,
 *     aux[0], aux[1] f64; id u8 len (0 or 32) + lower-case hex; nvals u8,
 *     values u16 len + bytes (each value with its NUL); text, then the
 *     sample's record_id, session_id, agent_id, tool_name, error_code as
 *     strings (u16 len + bytes, no NUL); the sample's event type u8
 *
 * Bytes per group: 22 (hash, flags, state, the kind's length), 8 more
 * with threshold overrides, the kind's own (kind.h checkpoint_bytes:
 * max 16; sequence 16 + 66 (k - 1) + 4 k (k - 1), 360 at 5 steps;
 * baseline 28 + 8 x history, 508 at the default 60; absence 8; kinds
 * without a save op 0, and their idle groups are not written at all) and,
 * for an open episode or an absence group, its
 * alert record: 97 bytes plus the lengths of its group values, text and
 * sample strings (about 150 to 250 in practice, 1307 at most).
 * Plus 8 bytes per remembered record id (800 KB at the default
 * dedupe_window of 100000) and 48 + a few hundred bytes of headers.  The
 * whole file is capped (detectors.checkpoint_max_mb): an engine whose
 * state would be larger is not written (CKPT_ETOOBIG), and a larger file
 * is not read.
 *
 * Reading: the header, the length and the digest first (a truncated or
 * damaged file is refused before any of it is used); then every length
 * and count against its bound and the bytes left, every group against
 * the rule (flags, state, threshold, values, the episode id against its
 * rule, values and start, the key hash against its values), every kind
 * state through the kind's load op.  Anything refused refuses the whole
 * checkpoint (the service starts fresh), except a kind's load that
 * refuses a group's own state: that group is reset and counted.
 */
#ifndef TW_CHECKPOINT_H
#define TW_CHECKPOINT_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define CKPT_FILE "checkpoint"      /* in the state directory */
#define CKPT_VERSION 2
#define CKPT_HEADER_SIZE 48
#define CKPT_INSTANCE_MAX 128       /* bytes of the instance name, with NUL */
#define CKPT_POSITION_MAX 1024      /* bytes of a stream position */
#define CKPT_DEDUPE_MAX (1u << 24)  /* record ids (dedupe.h's cap) */
#define CKPT_FP_BYTES 32            /* a rule's fingerprint */
/* Times in a checkpoint are event-time ms within +-2^52 (INT64_MIN where
 * "none"): far from overflow in any sum the engine makes. */
#define CKPT_TIME_LIMIT (INT64_C(1) << 52)

/* Flags of a group in the file (a muted group is not written: its next
 * event makes it again, muted).  An EXTRA group is not reset before its
 * kind's load (det_group_extra does not reset one either). */
enum {
    CKPT_G_EXTRA = 1u << 1,  /* new_value: an alert group (values + value) */
    CKPT_G_PINNED = 1u << 2, /* on the pinned list */
    CKPT_G_THR = 1u << 3,    /* its threshold follows */
    CKPT_G_ALERT = 1u << 4,  /* its alert record follows */
    CKPT_G_OVERFLOW = 1u << 5 /* the rule's overflow group: no key (h0,
                                 h1 0), "(overflow)" values, pinned */
};

/* Return codes. */
enum {
    CKPT_OK = 0,
    CKPT_EINVAL = -1,    /* not a checkpoint, corrupt or truncated */
    CKPT_EVERSION = -2,  /* another format version */
    CKPT_EINSTANCE = -3, /* written by another instance */
    CKPT_ETOOBIG = -4,   /* over the cap */
    CKPT_ENOMEM = -5,
    CKPT_EIO = -6,       /* the file could not be read or written */
    CKPT_ENOENT = -7,    /* no checkpoint file */
    CKPT_EBUSY = -8      /* det_engine_restore: the engine was fed */
};

/* What a checkpoint's header and first fields say (ckpt_peek). */
struct ckpt_info {
    uint32_t version;
    char instance[CKPT_INSTANCE_MAX];
    char position[CKPT_POSITION_MAX + 1]; /* NUL-terminated */
    size_t position_len;
    int64_t now_ms;      /* INT64_MIN: not known */
    uint64_t seq;
    int64_t written_ms;
};

/* Check the frame of a checkpoint image (magic, version, length, digest)
 * and read its first fields into *out.  Pure.  Returns CKPT_OK,
 * CKPT_EINVAL (not a checkpoint, truncated, damaged) or CKPT_EVERSION. */
int ckpt_peek(const void *p, size_t n, struct ckpt_info *out);

/* The file shell.  Write n bytes as STATE_DIR/checkpoint, atomically and
 * durably (file_replace); may run on any thread (it touches nothing but
 * the file).  Returns CKPT_OK or CKPT_EIO (errno set). */
int ckpt_file_write(const char *dir, const void *p, size_t n);

/* Read STATE_DIR/checkpoint (at most `max` bytes) into a new buffer
 * (*data, the caller frees it; *n bytes).  Returns CKPT_OK, CKPT_ENOENT,
 * CKPT_ETOOBIG, CKPT_ENOMEM or CKPT_EIO (errno set). */
int ckpt_file_read(const char *dir, size_t max, char **data, size_t *n);

const char *ckpt_strerror(int rc);

/* ---- the bytes, for the engine and the kinds' save and load ops -------- */

/* Appenders: 0, or -1 when `out` is full (its cap). */
int ckpt_put_u8(buf *out, unsigned v);
int ckpt_put_u16(buf *out, unsigned v);
int ckpt_put_u32(buf *out, uint32_t v);
int ckpt_put_u64(buf *out, uint64_t v);
int ckpt_put_i64(buf *out, int64_t v);
int ckpt_put_f64(buf *out, double v); /* its IEEE 754 bits */
/* n doubles, as n ckpt_put_f64 would (in a few appends, not n). */
int ckpt_put_f64s(buf *out, const double *v, size_t n);
/* A string: u16 length, then its bytes (no NUL); at most `max` bytes of
 * s are taken. */
int ckpt_put_str(buf *out, const char *s, size_t max);

/* A reader over hostile bytes: every get checks what is left; the first
 * short read sets `bad`, after which every get returns 0 and the caller
 * refuses at its end (one check instead of one per field). */
struct ckpt_reader {
    const unsigned char *p;
    size_t n;   /* bytes */
    size_t off; /* read so far */
    int bad;    /* a read went past the end, or a check failed */
};

void ckpt_reader_init(struct ckpt_reader *rd, const void *p, size_t n);
unsigned ckpt_get_u8(struct ckpt_reader *rd);
unsigned ckpt_get_u16(struct ckpt_reader *rd);
uint32_t ckpt_get_u32(struct ckpt_reader *rd);
uint64_t ckpt_get_u64(struct ckpt_reader *rd);
int64_t ckpt_get_i64(struct ckpt_reader *rd);
double ckpt_get_f64(struct ckpt_reader *rd);
/* n bytes in place (valid while the buffer is), or NULL (bad set). */
const unsigned char *ckpt_get_bytes(struct ckpt_reader *rd, size_t n);
/* A string ckpt_put_str wrote into out[size] (NUL-terminated): refused
 * (bad set) when it is size bytes or longer or holds a NUL. */
void ckpt_get_str(struct ckpt_reader *rd, char *out, size_t size);
/* Mark the reader bad when `ok` is false (a check of a value read).
 * Returns ok. */
int ckpt_check(struct ckpt_reader *rd, int ok);
/* Has it read all its bytes, and nothing failed? */
int ckpt_reader_done(const struct ckpt_reader *rd);

/* ---- the engine's side: engine.c's det_engine_checkpoint and
 * det_engine_restore call these with a view of the engine ---- */

struct det_rule;
struct det_dedupe;
struct det_restore_info;

/* What of an engine a checkpoint reads or writes (engine.c fills it). */
struct ckpt_engine {
    struct det_rule *r;     /* n rules */
    uint32_t n;
    struct det_dedupe *dd;  /* the duplicate filter (dd->n 0: off) */
    unsigned char *hkey;    /* DET_HASH_KEY_BYTES */
    int64_t *now_ms;
    uint64_t *seq;
    const char *source;     /* the instance name */
};

/* det_engine_checkpoint's work (engine.h). */
int ckpt_encode(const struct ckpt_engine *e, const char *position,
                size_t len, int64_t wall_ms, buf *out);

/* det_engine_restore's work (engine.h), into a new engine. */
int ckpt_decode(struct ckpt_engine *e, const void *p, size_t n,
                struct det_restore_info *out);

/* Is t a time a checkpoint may hold (within CKPT_TIME_LIMIT; `none_ok`:
 * INT64_MIN too)? */
int ckpt_time_ok(int64_t t, int none_ok);

#endif
