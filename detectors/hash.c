/*
 * hash.c - SipHash with 128-bit output (hash.h).
 *
 * Written from the SipHash paper's description (Aumasson and Bernstein,
 * 2012) and its 128-bit output mode: four 64-bit state words initialised
 * from the key and four constants, v1 ^= 0xee for 128-bit output; each
 * 8-byte little-endian block m is absorbed as v3 ^= m, c rounds,
 * v0 ^= m; the last block holds the remaining bytes and the length mod
 * 256 in its top byte; then v2 ^= 0xee, d rounds, first half; v1 ^= 0xdd,
 * d rounds, second half.  det_hash() inlines it with constant round
 * counts, so the rounds unroll.
 */
#include "detectors/hash.h"


#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound on the four state words. */
#define SIPROUND                                                           \
    do {                                                                   \
        v0 += v1;                                                          \
        v1 = ROTL(v1, 13);                                                 \
        v1 ^= v0;                                                          \
        v0 = ROTL(v0, 32);                                                 \
        v2 += v3;                                                          \
        v3 = ROTL(v3, 16);                                                 \
        v3 ^= v2;                                                          \
        v0 += v3;                                                          \
        v3 = ROTL(v3, 21);                                                 \
        v3 ^= v0;                                                          \
        v2 += v1;                                                          \
        v1 = ROTL(v1, 17);                                                 \
        v1 ^= v2;                                                          \
        v2 = ROTL(v2, 32);                                                 \
    } while (0)

static inline uint64_t load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16
           | (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32
           | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48
           | (uint64_t)p[7] << 56;
}

static inline uint64_t load_le32(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16
           | (uint64_t)p[3] << 24;
}

/* The last block: the r = n % 8 remaining bytes at `p` (of the n at
 * `in`), little-endian, and n mod 256 in the top byte.  No branch on r
 * itself, which varies from call to call (a jump table on it mispredicts
 * about every other key): with a whole block before them, the 8 bytes
 * ending at the input's end shifted down; else overlapping loads inside
 * the r bytes (two of 4 bytes, or the first, middle and last byte), whose
 * shared bytes OR together harmlessly. */
static inline uint64_t last_block(const unsigned char *in,
                                  const unsigned char *p, size_t n)
{
    uint64_t m = (uint64_t)(n & 0xff) << 56;
    unsigned r = (unsigned)(n & 7);

    if (n >= 8) {
        uint64_t w = load_le64(in + n - 8);
        m |= r != 0 ? w >> (64 - 8 * r) : 0;
    } else if (r >= 4) {
        m |= load_le32(p) | load_le32(p + r - 4) << (8 * (r - 4));
    } else if (r > 0) {
        m |= (uint64_t)p[0] | (uint64_t)p[r / 2] << (8 * (r / 2))
             | (uint64_t)p[r - 1] << (8 * (r - 1));
    }
    return m;
}

/* Always inlined, so that det_hash's constant round counts unroll. */
__attribute__((always_inline)) static inline void
siphash128(const unsigned char key[DET_HASH_KEY_BYTES],
           const unsigned char *in, size_t n, unsigned c, unsigned d,
           uint64_t h[2])
{
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8), m;
    uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
    uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1 ^ 0xee;
    uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
    uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
    size_t full = n & ~(size_t)7;

    for (size_t i = 0; i < full; i += 8) {
        m = load_le64(in + i);
        v3 ^= m;
        for (unsigned r = 0; r < c; r++)
            SIPROUND;
        v0 ^= m;
    }
    m = last_block(in, in + full, n);
    v3 ^= m;
    for (unsigned r = 0; r < c; r++)
        SIPROUND;
    v0 ^= m;
    v2 ^= 0xee;
    for (unsigned r = 0; r < d; r++)
        SIPROUND;
    h[0] = v0 ^ v1 ^ v2 ^ v3;
    v1 ^= 0xdd;
    for (unsigned r = 0; r < d; r++)
        SIPROUND;
    h[1] = v0 ^ v1 ^ v2 ^ v3;
}

void det_siphash128(const unsigned char key[DET_HASH_KEY_BYTES],
                    const void *data, size_t n, unsigned c, unsigned d,
                    uint64_t h[2])
{
    siphash128(key, data, n, c, d, h);
}

__attribute__((hot))
void det_hash(const unsigned char key[DET_HASH_KEY_BYTES], const void *data,
              size_t n, uint64_t h[2])
{
    siphash128(key, data, n, 1, 3, h);
}
