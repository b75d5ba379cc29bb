/*
 * hash.h - the keyed 128-bit hash of grouping keys and record ids.
 *
 * Groups and the duplicate filter are keyed by a 128-bit hash of the text
 * under a random per-process key, never by the text itself, so input
 * cannot choose collisions (HashDoS) and a table entry is fixed-size.  The
 * function is SipHash with 128-bit output (the construction of
 * libsodium's crypto_shorthash_siphashx24) with 1 compression and 3
 * finalisation rounds, SipHash-1-3, the round counts that hash tables
 * commonly use: it runs for three strings per event.  det_siphash128()
 * takes any round counts so that the tests can check the construction
 * against libsodium's SipHash-2-4.  Pure: no state, no I/O.
 */
#ifndef TW_DET_HASH_H
#define TW_DET_HASH_H

#include <stddef.h>
#include <stdint.h>

#define DET_HASH_KEY_BYTES 16

/* SipHash-c-d with 128-bit output of n bytes at `data` under `key`: h[0]
 * and h[1] are the little-endian halves of the 16 output bytes. */
void det_siphash128(const unsigned char key[DET_HASH_KEY_BYTES],
                    const void *data, size_t n, unsigned c, unsigned d,
                    uint64_t h[2]);

/* det_siphash128 with c = 1, d = 3: the hash the engine uses. */
void det_hash(const unsigned char key[DET_HASH_KEY_BYTES], const void *data,
              size_t n, uint64_t h[2]);

#endif
