/*
 * journal_record.h - the journal's records as bytes: encoding, the CRC32C
 * that guards them, and the scanner that reads a file image back.
 *
 * Pure: no I/O, no allocation, no state; every function is thread-safe.
 * The file layer (alerts/journal.h) writes what the encoders produce and
 * reads its file back with journal_record_scan(), so the reader a restart
 * uses is exactly the one the fuzzer (tests/fuzz/fuzz_journal.c) exercises.
 *
 * Record format (little-endian), version 1:
 *
 *   off size
 *     0    4  magic "TWJ\x01" (the last byte is the format version)
 *     4    1  type: 1 ENQUEUE, 2 ACK, 3 CHECKPOINT, 4 POSITION
 *     5    3  zero
 *     8    8  sequence number of this record (CHECKPOINT, POSITION: 0)
 *    16    4  payload length (<= JOURNAL_RECORD_MAX_PAYLOAD)
 *    20    4  CRC32C of bytes 0..19  (a length can be trusted before the
 *             payload is read, and a damaged header is told from a
 *             damaged payload)
 *    24    n  payload
 *  24+n    4  CRC32C of bytes 0..24+n-1 (header and payload)
 *
 *   ENQUEUE payload: created_ms i64, sink_len u8, sink, id_len u8, id,
 *                    body_len u32, body (exactly filling the payload)
 *   ACK payload:     acked sequence number u64, outcome u8 (1 delivered,
 *                    2 dead-lettered)
 *   CHECKPOINT:      next sequence number u64 (written first by a
 *                    compaction, so numbers never go back even when no
 *                    record survives)
 *   POSITION:        generation u64 (1..JOURNAL_RECORD_GEN_MAX), id_len
 *                    u16 (<= JOURNAL_RECORD_MAX_POSITION), id: the
 *                    stream's last event ID in force; then either nothing
 *                    or a mark of 16 bytes (exactly filling the payload):
 *                    seq u64 (>= 1) and made_ms i64, the rule engine's
 *                    number for the last notification made up to that
 *                    position and its event-time clock then (struct
 *                    journal_mark; app/run.c uses it not to send again
 *                    what events read again after a restart make again)
 *
 * A POSITION record does not take a sequence number (the generation
 * orders positions).  A version of toolwatch that predates the type counts
 * such a record as damaged and skips it.
 *
 * Scanning: whatever follows the last intact record -- a record cut short
 * by a crash during the write, a bad last record, zeros -- is a torn tail
 * (bytes from journal_record_scan_result.valid_end on).  Before that, a
 * record with a bad payload CRC is skipped by its (header-checked) length,
 * and a bad header makes the scanner look for the next valid header; both
 * are counted (corrupt), never fatal.  Lengths are checked against
 * JOURNAL_RECORD_MAX_PAYLOAD before they are used.
 *
 * Return codes: the values of JOURNAL_RECORD_EINVAL and
 * JOURNAL_RECORD_ETOOBIG are those of JOURNAL_EINVAL and JOURNAL_ETOOBIG
 * (alerts/journal.h), so the file layer passes them on as its own.
 */
#ifndef TW_JOURNAL_RECORD_H
#define TW_JOURNAL_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum {
    JOURNAL_RECORD_EOK = 0,
    JOURNAL_RECORD_EINVAL = -1,  /* bad argument or entry */
    JOURNAL_RECORD_ETOOBIG = -6, /* a field longer than its maximum */
    JOURNAL_RECORD_ENOBUFS = -9  /* the output buffer is too small */
};

#define JOURNAL_RECORD_MAX_BODY (1024u * 1024u)
#define JOURNAL_RECORD_MAX_NAME 255 /* sink name and message id */
#define JOURNAL_RECORD_MAX_POSITION 1024 /* bytes of a stream position */
#define JOURNAL_RECORD_HEADER_SIZE 24
#define JOURNAL_RECORD_TRAILER_SIZE 4
#define JOURNAL_RECORD_MAX_PAYLOAD                                         \
    (8u + 1u + JOURNAL_RECORD_MAX_NAME + 1u + JOURNAL_RECORD_MAX_NAME +    \
     4u + JOURNAL_RECORD_MAX_BODY)
#define JOURNAL_RECORD_MAX_SIZE                                            \
    (JOURNAL_RECORD_HEADER_SIZE + JOURNAL_RECORD_MAX_PAYLOAD +             \
     JOURNAL_RECORD_TRAILER_SIZE)
/* The fixed sizes of an ACK and a CHECKPOINT record, and the largest
 * POSITION record (for buffers on the stack). */
#define JOURNAL_RECORD_ACK_SIZE                                            \
    (JOURNAL_RECORD_HEADER_SIZE + 9 + JOURNAL_RECORD_TRAILER_SIZE)
#define JOURNAL_RECORD_CHECKPOINT_SIZE                                     \
    (JOURNAL_RECORD_HEADER_SIZE + 8 + JOURNAL_RECORD_TRAILER_SIZE)
#define JOURNAL_RECORD_MARK_SIZE 16
#define JOURNAL_RECORD_POSITION_MAX_SIZE                                   \
    (JOURNAL_RECORD_HEADER_SIZE + 10 + JOURNAL_RECORD_MAX_POSITION +       \
     JOURNAL_RECORD_MARK_SIZE + JOURNAL_RECORD_TRAILER_SIZE)
/* Sequence numbers are 1..JOURNAL_RECORD_SEQ_MAX; larger ones in a file
 * are treated as corruption. */
#define JOURNAL_RECORD_SEQ_MAX (UINT64_C(1) << 62)
/* Position generations are 1..JOURNAL_RECORD_GEN_MAX. */
#define JOURNAL_RECORD_GEN_MAX (UINT64_C(1) << 62)

enum journal_record_type {
    JOURNAL_RECORD_ENQUEUE = 1,
    JOURNAL_RECORD_ACK = 2,
    JOURNAL_RECORD_CHECKPOINT = 3,
    JOURNAL_RECORD_POSITION = 4
};

/* What became of an acknowledged notification (an ACK record's outcome). */
enum journal_record_outcome {
    JOURNAL_RECORD_DELIVERED = 1,
    JOURNAL_RECORD_DEAD_LETTERED = 2
};

/* The mark a POSITION record may carry: the number of the last
 * notification made up to that position (1.., 0: no mark) and the event
 * time it was made at. */
struct journal_mark {
    uint64_t seq;
    int64_t made_ms;
};

/* One notification.  Strings are (pointer, length), not NUL-terminated;
 * a pointer may be NULL when its length is 0. */
struct journal_record_entry {
    const char *sink;     /* sink name, <= JOURNAL_RECORD_MAX_NAME bytes */
    size_t sink_len;
    const char *msg_id;   /* webhook-id / dedup_key, <= ..._MAX_NAME */
    size_t msg_id_len;
    int64_t created_ms;   /* when the notification was made */
    const char *body;     /* the JSON document, <= ..._MAX_BODY */
    size_t body_len;
};

/* One intact record found by journal_record_scan.  Pointers point into
 * the scanned buffer. */
struct journal_record {
    enum journal_record_type type;
    uint64_t seq;                       /* the record's own number */
    size_t offset;                      /* where it starts in the buffer */
    size_t size;                        /* header + payload + trailer */
    struct journal_record_entry entry;  /* ENQUEUE */
    uint64_t acked_seq;                 /* ACK */
    enum journal_record_outcome outcome; /* ACK */
    uint64_t next_seq;                  /* CHECKPOINT */
    uint64_t gen;                       /* POSITION: its generation */
    const char *pos_id;                 /* POSITION: the event id */
    size_t pos_id_len;
    struct journal_mark mark;           /* POSITION: its mark (seq 0:
                                           none) */
    int after_damage;                   /* damaged bytes were skipped
                                           between the previous record
                                           passed to fn (or the start) and
                                           this one */
};

struct journal_record_scan_result {
    size_t valid_end;   /* end of the last intact record (0: none) */
    uint64_t records;   /* intact records passed to fn */
    uint64_t corrupt;   /* damaged records/regions skipped before
                           valid_end, and well-framed records whose
                           contents are invalid */
    uint64_t max_seq;   /* highest record seq, or checkpoint next_seq - 1 */
};

/* Called for each intact record; `r` and what it points to are valid only
 * during the call.  A non-zero return stops the scan. */
typedef int (*journal_record_fn)(void *ud, const struct journal_record *r);

/* Parse records from data[0..len) (data may be NULL when len is 0).
 * Calls fn (may be NULL) for each intact record in file order; a non-zero
 * return stops the scan and is returned.  *res (may be NULL) receives the
 * totals; bytes from res->valid_end on are a torn tail or garbage.  Never
 * reads outside the buffer, never allocates, linear time.  Returns
 * JOURNAL_RECORD_EOK or fn's value. */
int journal_record_scan(const void *data, size_t len, journal_record_fn fn,
                        void *ud, struct journal_record_scan_result *res);

/* Is `e` an entry an ENQUEUE record can hold?  Returns JOURNAL_RECORD_EOK,
 * JOURNAL_RECORD_EINVAL (NULL, or a NULL pointer with a length) or
 * JOURNAL_RECORD_ETOOBIG (a field over its maximum). */
int journal_record_entry_check(const struct journal_record_entry *e);

/* Bytes of the ENQUEUE record of a valid `e` / of the POSITION record of
 * an id of id_len bytes. */
size_t journal_record_enqueue_size(const struct journal_record_entry *e);
size_t journal_record_position_size(size_t id_len);

/* Encoders: write one record into out[0..cap); *n (may be NULL) receives
 * its size.  Return JOURNAL_RECORD_EOK, JOURNAL_RECORD_EINVAL /
 * JOURNAL_RECORD_ETOOBIG (bad arguments: seq outside 1..SEQ_MAX, gen
 * outside 1..GEN_MAX, an unknown outcome, a bad entry) or
 * JOURNAL_RECORD_ENOBUFS (cap too small); out is then unspecified. */
int journal_record_encode_enqueue(void *out, size_t cap, uint64_t seq,
                                  const struct journal_record_entry *e,
                                  size_t *n);
int journal_record_encode_ack(void *out, size_t cap, uint64_t seq,
                              uint64_t acked_seq,
                              enum journal_record_outcome outcome, size_t *n);
int journal_record_encode_checkpoint(void *out, size_t cap,
                                     uint64_t next_seq, size_t *n);
int journal_record_encode_position(void *out, size_t cap, uint64_t gen,
                                   const char *id, size_t len, size_t *n);
/* The same with a mark (NULL, or mark->seq 0: none; else the record is
 * JOURNAL_RECORD_MARK_SIZE bytes longer than
 * journal_record_position_size(len)). */
int journal_record_encode_position_mark(void *out, size_t cap, uint64_t gen,
                                        const char *id, size_t len,
                                        const struct journal_mark *mark,
                                        size_t *n);

/* CRC32C (Castagnoli) of p[0..n), continuing from `crc` (0 to start). */
uint32_t journal_record_crc32c(uint32_t crc, const void *p, size_t n);

const char *journal_record_strerror(int rc);

#endif
