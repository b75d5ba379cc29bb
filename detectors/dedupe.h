/*
 * dedupe.h - "was this record id among the last N?" in fixed memory.
 *
 * After a resume the stream may send again events that were already
 * counted; they must not be counted twice.  The set remembers the 64-bit
 * keyed hashes of the last N record ids (the caller hashes: the engine
 * uses SipHash-1-3 under a random key, so input cannot force collisions):
 * a ring of N hashes (oldest overwritten) indexed by an open-addressing
 * table of ring positions, each with 32 bits of its hash as home and tag
 * (linear probing, backward-shift deletion, load <= 1/2).  Every operation
 * is O(1) expected, and touches the ring at random only to confirm a
 * duplicate; nothing is allocated after init.  Memory: 8 * N + 8 * (power
 * of two >= 2N) bytes (2.8 MB for the default N = 100000).
 */
#ifndef TW_DEDUPE_H
#define TW_DEDUPE_H

#include <stdint.h>

enum { DET_DEDUPE_OK = 0, DET_DEDUPE_ENOMEM = -1, DET_DEDUPE_EINVAL = -2 };

typedef struct det_dedupe {
    uint64_t *ring;   /* private: hashes, oldest at `pos` once full */
    uint64_t *table;  /* private: tag << 32 | ring position + 1; 0 empty */
    uint32_t n;       /* capacity (N) */
    uint32_t count;   /* hashes remembered (<= n) */
    uint32_t pos;     /* next ring position to write */
    uint32_t mask;    /* table size - 1 */
    uint32_t n_alloc; /* private: ring allocation */
} det_dedupe;

/* Room for n ids (1 <= n <= 16M).  Returns DET_DEDUPE_OK / _EINVAL /
 * _ENOMEM (det_dedupe_free is safe after a failure). */
int det_dedupe_init(det_dedupe *d, uint32_t n);
void det_dedupe_free(det_dedupe *d);

/* 1 if h is among the last n remembered (nothing changes), else remember
 * it (forgetting the oldest when full) and return 0.  When full, it also
 * starts loading the table entry that the next call will forget. */
int det_dedupe_seen(det_dedupe *d, uint64_t h);

/* The i-th oldest hash remembered, i < d->count (the checkpoint keeps
 * them in this order, and det_dedupe_seen()s them back in it). */
uint64_t det_dedupe_nth(const det_dedupe *d, uint32_t i);

/* A hint, no effect on the result: start loading the table entry that
 * det_dedupe_seen(d, h) reads first.  The table and ring are megabytes
 * read at random, so each call misses the cache; a caller that has other
 * work to do between the two hides the wait behind it. */
void det_dedupe_prefetch(const det_dedupe *d, uint64_t h);

#endif
