/*
 * dedupe.h - "was this record id among the last N?" in fixed memory.
 *
 * After a resume the stream may send again events that were already
 * counted; they must not be counted twice.  The set remembers the 64-bit
 * keyed hashes of the last N record ids (the caller hashes: the engine
 * uses SipHash-2-4 under a random key, so input cannot force collisions):
 * a ring of N hashes (oldest overwritten) indexed by an open-addressing
 * table of ring positions (linear probing, backward-shift deletion, load
 * <= 1/2).  Every operation is O(1) expected; nothing is allocated after
 * init.  Memory: 8 * N + 4 * (power of two >= 2N) bytes (1.8 MB for the
 * default N = 100000).
 */
#ifndef TW_DEDUPE_H
#define TW_DEDUPE_H

#include <stdint.h>

enum { DET_DEDUPE_OK = 0, DET_DEDUPE_ENOMEM = -1, DET_DEDUPE_EINVAL = -2 };

typedef struct det_dedupe {
    uint64_t *ring;   /* private: hashes, oldest at `pos` once full */
    uint32_t *table;  /* private: ring position + 1, 0 = empty */
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
 * it (forgetting the oldest when full) and return 0. */
int det_dedupe_seen(det_dedupe *d, uint64_t h);

#endif
