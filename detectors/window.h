/*
 * window.h - a fixed-memory sliding window of time buckets (one per group).
 *
 * A window of W ms is a ring of N buckets of B = W / N ms each, allocated
 * once by its owner (the ring is a variable-size record: win_ring_size()
 * bytes, usually one slot of a detector's slab).  Each bucket holds up to
 * WIN_MAX_FIELDS uint32 counters (a volume window uses one: calls; the
 * error-rate window two: calls and errors), and the ring keeps a running
 * sum of each field, so adding is O(1) and reading a sum is O(1) after the
 * ring has been advanced to `now` (advancing costs O(buckets that expired),
 * at most N, amortised O(1) per add).
 *
 * Semantics.  Bucket k covers event times [k*B, (k+1)*B).  At time `now`
 * the window is the N newest buckets, the newest being the one holding
 * `now`.  So an event at time t is counted from t until the end of bucket
 * floor(t/B) + N - 1: for a time in (W - B, W] -- never longer than the
 * window, at most one bucket shorter.  An event whose bucket has already
 * left the window (t at or before now - W, to bucket precision) is late:
 * win_add() ignores it and says so.
 *
 * Invariants: sum[f] == the sum of b[i*nfields + f] over all buckets;
 * buckets outside the window (index <= head - N) are zero; `head` never
 * moves backwards.  Counters saturate at UINT32_MAX per bucket (a bucket
 * would need 4e9 events); sums are 64-bit.
 *
 * Time is a parameter: nothing here reads a clock.
 */
#ifndef TW_WINDOW_H
#define TW_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define WIN_MAX_FIELDS 2
#define WIN_MAX_BUCKETS 3600
#define WIN_DEFAULT_BUCKETS 60

enum { WIN_OK = 0, WIN_EINVAL = -1, WIN_LATE = 1 };

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

#endif
