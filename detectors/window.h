/*
 * window.h - sliding windows of time buckets, in two forms that share one
 * shape (win_spec): a dense ring (win_ring) of every bucket, and a sparse
 * list (win_sparse) of the non-empty buckets only; plus the little-endian
 * reader and writer of the kinds' checkpoint bytes.
 *
 * Shape.  A window of W ms is N buckets of B = W / N ms each.  Bucket k
 * covers event times [k*B, (k+1)*B).  At time `now` the window is the N
 * newest buckets, the newest being the one holding `now`.  So an event at
 * time t is counted from t until the end of bucket floor(t/B) + N - 1: for
 * a time in (W - B, W] -- never longer than the window, at most one bucket
 * shorter.  An event whose bucket has already left the window (t at or
 * before now - W, to bucket precision) is late: it is ignored and said so.
 * An event stamped after now counts in now's bucket.
 *
 * Dense ring (count's overflow and bucketed counts).  A ring is a
 * variable-size record (win_ring_size() bytes) allocated once by its
 * owner.  Each bucket holds up to WIN_MAX_FIELDS uint32 counters, and the
 * ring keeps a running sum of each field, so adding is O(1) and reading a
 * sum is O(1) after the ring has been advanced to `now` (advancing costs
 * O(buckets that expired), at most N, amortised O(1) per add).
 * Invariants: sum[f] == the sum of b[i*nfields + f] over all buckets;
 * buckets outside the window (index <= head - N) are zero; `head` never
 * moves backwards.  Counters saturate at UINT32_MAX per bucket; sums are
 * 64-bit.
 *
 * Sparse list (sum, ratio).  Only the buckets that hold something, as
 * (bucket, value) entries sorted by bucket, oldest first, WIN_SP_PER_CHUNK
 * to a 64-byte chunk of a pool (chunks.h) shared by a rule's groups; a
 * value is sum's double or ratio's two counters (win_val).  The group's
 * part is a 24-byte head (win_sparse).  An entry is made when a bucket
 * first gets something and given back when the bucket leaves the window
 * or the group is reset (an evicted group's slot is, before its next
 * group uses it), so a group holds ceil(entries / 6) chunks (one more
 * while its oldest chunk is partly spent), about 11 bytes per non-empty
 * bucket, and at most chunks_chain_max(6, N) (N non-empty buckets: 11
 * chunks, 704 bytes, for the usual 60).  Adding to the newest bucket or
 * after it is O(1); to an older bucket O(entries).  Invariants: entries are sorted by bucket, strictly, all in
 * (head - N, head]; each entry's bucket is stored as its low 16 bits and
 * read back against head (N <= WIN_MAX_BUCKETS < 2^16); the chain holds
 * exactly them (chunks.h).
 *
 * Time is a parameter: nothing here reads a clock.  Nothing allocates but
 * win_sp_pool_create() (at rule create): rings are the owner's memory,
 * sparse entries come from the owner's pool.
 */
#ifndef TW_WINDOW_H
#define TW_WINDOW_H

#include "base/buf.h"
#include "detectors/chunks.h"

#include <stddef.h>
#include <stdint.h>

#define WIN_MAX_FIELDS 2
#define WIN_MAX_BUCKETS 3600
#define WIN_DEFAULT_BUCKETS 60

/* The times a checkpoint may hold: |t| <= 2^48 - 1 ms (past the year
 * 10000 either way), so that no arithmetic on them overflows. */
#define WIN_TIME_MAX 281474976710655LL

enum { WIN_OK = 0, WIN_EINVAL = -1, WIN_ENOMEM = -2, WIN_LATE = 1 };

/* Shape of a window, shared by every ring of one detector. */
typedef struct win_spec {
    int64_t window_ms;
    int64_t bucket_ms;
    uint32_t nbuckets;
    uint32_t nfields;
} win_spec;

/* One ring.  Variable size: win_ring_size(spec) bytes. */
typedef struct win_ring {
    int64_t head;                  /* private: index of the newest bucket */
    uint64_t sum[WIN_MAX_FIELDS];  /* private: running sums */
    uint32_t b[];                  /* private: nbuckets * nfields counters */
} win_ring;

/* Fill *s for a window of `window_ms` split into buckets of `bucket_ms`
 * (0: automatic, window/60 when that divides the window exactly, else the
 * largest bucket count <= 60 that does).  bucket_ms must divide window_ms
 * and give at most WIN_MAX_BUCKETS buckets; 1 <= nfields <= WIN_MAX_FIELDS.
 * Returns WIN_OK or WIN_EINVAL. */
int win_spec_init(win_spec *s, int64_t window_ms, int64_t bucket_ms,
                  unsigned nfields);

/* The index of the bucket holding time t: floor(t / bucket_ms), negative
 * times too. */
int64_t win_bucket(const win_spec *s, int64_t t);

/* The ring position of bucket index idx: idx mod nbuckets, in [0, N). */
uint32_t win_pos(const win_spec *s, int64_t idx);

/* Bytes of one ring of this shape (header + counters). */
size_t win_ring_size(const win_spec *s);

/* Make the ring empty (any memory of win_ring_size() bytes). */
void win_ring_reset(const win_spec *s, win_ring *r);

/* Expire the buckets that left the window at `now_ms`. */
void win_advance(const win_spec *s, win_ring *r, int64_t now_ms);

/* Count `vals[0..nfields-1]` for an event at time t_ms (t_ms <= now_ms is
 * the caller's business; a later t is counted in the newest bucket).
 * Advances the ring to now_ms first.  Returns WIN_OK, or WIN_LATE when the
 * event's bucket has already left the window (nothing counted). */
int win_add(const win_spec *s, win_ring *r, int64_t now_ms, int64_t t_ms,
            const uint32_t *vals);

/* Sum of field f over the window at now_ms (advances the ring). */
uint64_t win_sum(const win_spec *s, win_ring *r, int64_t now_ms, unsigned f);

/* The earliest time after the ring's head at which a non-empty bucket
 * leaves the window (when a sum next decreases), or INT64_MAX when the
 * ring is empty.  O(nbuckets); meant for alerting groups only. */
int64_t win_next_expiry(const win_spec *s, const win_ring *r);

/* ---- checkpoint bytes: little-endian fields ---- */

/* A reader over hostile bytes: a read past the end gives 0 and sets bad,
 * which stays set. */
typedef struct win_rd {
    const unsigned char *p;
    size_t left;
    int bad;
} win_rd;

/* Append the low `bytes` (1 .. 8) bytes of v, least significant first.
 * Returns 0, or -1 when `out` is full. */
int win_put(buf *out, uint64_t v, unsigned bytes);

/* Read `bytes` (1 .. 8) bytes written by win_put(). */
uint64_t win_get(win_rd *rd, unsigned bytes);

/* Append the ring's counters to `out` (checkpoint bytes): N buckets of
 * nfields uint32 each, oldest bucket first, the newest being the ring's
 * head.  The ring must have had an add (its head is known).  Returns 0, or
 * -1 when `out` is full. */
int win_ring_save(const win_spec *s, const win_ring *r, buf *out);

/* Read back what win_ring_save() wrote into `r` (any memory of
 * win_ring_size() bytes), the newest bucket being index `head`.  The
 * counters are any uint32; the sums are recomputed.  Returns 0, or -1 when
 * the bytes run out (r is then not usable: reset it). */
int win_ring_load(const win_spec *s, win_ring *r, int64_t head,
                  win_rd *rd);

/* ---- sparse windows ---- */

#define WIN_SP_PER_CHUNK 6 /* entries of a 64-byte chunk */
#define WIN_SP_CHUNK 64    /* bytes of a chunk (the pool's size) */

/* A bucket's value: sum's total, or ratio's counters (events,
 * numerator). */
typedef union win_val {
    double d;
    uint32_t n[2];
} win_val;

/* What the values of a sparse window are, for its checkpoint bytes and
 * their checks. */
enum win_val_kind {
    WIN_VAL_SUM = 0, /* d > 0, +inf included: the fields are never
                        negative, and a zero makes no entry */
    WIN_VAL_COUNTS   /* 1 <= n[0], n[1] <= n[0] */
};

/* One group's sparse window: 24 bytes in the group's state, the entries in
 * the rule's pool.  All fields private but ch.len. */
typedef struct win_sparse {
    int64_t head;    /* the newest bucket index seen (INT64_MIN: none) */
    chunks_chain ch; /* the entries (ch.len of them), oldest first */
} win_sparse;

/* Reading a sparse window's entries, oldest first (private fields). */
typedef struct win_sp_iter {
    const chunks_pool *p;
    int64_t head;
    chunks_pos at;
    uint32_t left;
} win_sp_iter;

/* The pool of a rule's sparse windows of this shape, reserved for
 * `groups` windows of N entries each, so that it never runs out (malloc
 * and mmap: call at rule create).  NULL when that cannot be reserved.
 * win_sp_pool_destroy() accepts NULL. */
chunks_pool *win_sp_pool_create(const win_spec *s, uint32_t groups);
void win_sp_pool_destroy(chunks_pool *p);

/* Make fresh memory (any bytes) an empty window. */
void win_sp_init(win_sparse *w);

/* Give the entries of w back to p and make w empty.  w is zeroed memory
 * (an empty window) or a window whose entries came from p. */
void win_sp_reset(chunks_pool *p, win_sparse *w);

/* Move the window to now_ms (never backwards): the entries whose bucket
 * left are given back.  With `gone` not NULL (WIN_VAL_COUNTS windows),
 * their counters are added to it: gone[0] += n[0], gone[1] += n[1]; an
 * owner that keeps totals advances so before it adds.  In line while
 * now_ms is in the head bucket (or before it: nothing moves), the usual
 * case, which win_sp_move() (the rest) needs no division to see: now_ms -
 * head * B, taken mod 2^64, is under B just then (for times less than
 * 2^63 ms apart). */
void win_sp_move(const win_spec *s, chunks_pool *p, win_sparse *w,
                 int64_t now_ms, uint64_t *gone);

static inline void win_sp_advance(const win_spec *s, chunks_pool *p,
                                  win_sparse *w, int64_t now_ms,
                                  uint64_t *gone)
{
    if (w->head != INT64_MIN &&
        (uint64_t)now_ms - (uint64_t)w->head * (uint64_t)s->bucket_ms <
            (uint64_t)s->bucket_ms)
        return;
    win_sp_move(s, p, w, now_ms, gone);
}

/* For an event at t_ms (t_ms > now_ms counts at now_ms), after advancing
 * to now_ms (gone NULL): its bucket's value in *v, made (zero) if the
 * bucket had none.  With v NULL nothing is made: only the lateness is told.  The
 * pointer is valid until the next call on this pool.  Returns WIN_OK,
 * WIN_LATE (the bucket has left the window; nothing made) or WIN_ENOMEM
 * (the pool is out of chunks: cannot happen in a pool that
 * win_sp_pool_create() sized for every group). */
int win_sp_add(const win_spec *s, chunks_pool *p, win_sparse *w,
               int64_t now_ms, int64_t t_ms, win_val **v);

/* Read the entries oldest first: win_sp_next() returns the next value and
 * its bucket index in *idx (may be NULL), or NULL after the last. */
void win_sp_iter_init(win_sp_iter *it, const chunks_pool *p,
                      const win_sparse *w);
const win_val *win_sp_next(win_sp_iter *it, int64_t *idx);

/* The newest entry's value (the one win_sp_add() gave for an event in
 * the newest bucket), or NULL when the window is empty.  Valid until the
 * next call on this pool. */
win_val *win_sp_newest(const chunks_pool *p, const win_sparse *w);

/* When the oldest entry leaves the window (a value next changes with no
 * event), or INT64_MAX when the window is empty.  O(1). */
int64_t win_sp_next_expiry(const win_spec *s, const chunks_pool *p,
                           const win_sparse *w);

/* Checkpoint bytes of a sparse window, version 1, little-endian:
 *   u8  1
 *   i64 head bucket's start, ms (head * B; INT64_MIN: no event yet)
 *   u16 n, the entries (<= N; 0 when no event yet)
 *   n times: u16 age (head - bucket: < N, strictly decreasing) and the
 *     value: WIN_VAL_SUM the double's IEEE 754 bits (u64), WIN_VAL_COUNTS
 *     n[0] and n[1] (u32 each)
 * win_sp_save_bytes() is the most that win_sp_save() appends. */
size_t win_sp_save_bytes(const win_spec *s);
int win_sp_save(const win_spec *s, const chunks_pool *p, const win_sparse *w,
                enum win_val_kind k, buf *out);

/* Read back what win_sp_save() wrote (n bytes, hostile: from disk) into
 * w, an empty window of pool p, checking every field against the shape
 * and the values against `k`.  Returns 0, or -1 (anything save could not
 * have written, truncated or with bytes left over); w is then empty
 * again. */
int win_sp_load(const win_spec *s, chunks_pool *p, win_sparse *w,
                enum win_val_kind k, const unsigned char *in, size_t n);

#endif
