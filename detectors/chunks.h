/*
 * chunks.h - a rule's pool of fixed-size chunks: the memory of the
 * per-group lists that grow and shrink with what a group holds (count's
 * kept times and overflow rings, the non-empty buckets of sum and ratio),
 * instead of a reservation at the bound in every group.
 *
 * A pool reserves cap * size bytes of address space once, at rule create
 * (mmap with MAP_NORESERVE: no memory is committed).  A chunk becomes
 * resident when it is first handed out; a chunk given back goes on a free
 * list and is handed out again before any untouched one.  So the resident
 * part of a pool is the most chunks ever in use at once (its high-water
 * mark), and the owner sizes cap for every group at its own bound, so that
 * the pool can never run out: a stream can make a rule use at most what
 * its groups may hold, never more.
 *
 * Chunks are named by a uint32 index 1 .. cap (0: none), so the lists
 * threaded through them hold no pointers.
 *
 * Chains.  Most owners keep a deque of fixed-size slots in chunks (a
 * chunks_chain, 12 bytes in the group's state): `per` slots to a chunk,
 * oldest first, pushed at the back, popped at the front.  A chunk of a
 * chain begins with its uint32 `next` (and `prev` after it, when the pool
 * was made with back links), then the owner's slots in its own layout; the
 * chain takes a chunk when its last is full and gives one back as soon as
 * its slots are all popped, so a chain of n slots holds ceil((start + n) /
 * per) chunks: at most chunks_chain_max(per, n).
 *
 * Invariants: chunks 1 .. hw have been handed out at least once, the
 * others never touched; the free list (threaded through the first 4 bytes
 * of each free chunk) holds exactly the chunks among 1 .. hw not in use;
 * used + (free list length) == hw <= cap.  A chain: len == 0 iff first ==
 * 0, and then every field is 0; else its slots are places start .. per - 1
 * of first, every place of the chunks between, and 0 .. end - 1 of last
 * (start .. end - 1 when first == last), chunks linked by next (and
 * prev); 1 <= end <= per.
 *
 * Nothing allocates after chunks_init(), reads a clock or does I/O; all
 * calls run on the engine's thread.
 */
#ifndef TW_CHUNKS_H
#define TW_CHUNKS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHUNKS_CAP_MAX (UINT32_MAX - 1u) /* chunks of one pool */

enum { CHUNKS_OK = 0, CHUNKS_EINVAL = -1, CHUNKS_ENOMEM = -2 };

#define CHUNKS_PER_MAX 15u /* slots of a chain's chunk */

typedef struct chunks_pool {
    unsigned char *mem; /* private: cap * size bytes, NULL when cap 0 */
    size_t map;         /* private: bytes mapped */
    uint32_t size;      /* bytes of a chunk (a multiple of 8) */
    uint32_t cap;       /* chunks */
    uint32_t hw;        /* chunks handed out at least once (resident) */
    uint32_t used;      /* chunks in use */
    uint32_t free_head; /* private: the free list (0: empty) */
    uint32_t per;       /* chains: slots of a chunk (0: no chains) */
    int back;           /* chains: chunks link back too (prev) */
} chunks_pool;

/* One deque of slots (see Chains above); zeroed memory is an empty chain.
 * Fields private but len. */
typedef struct chunks_chain {
    uint32_t first, last; /* chunks (0: none) */
    unsigned start : 4;   /* the oldest slot's place in first */
    unsigned end : 4;     /* the place after the newest slot in last */
    unsigned len : 24;    /* slots (< CHUNKS_LEN_MAX) */
} chunks_chain;

#define CHUNKS_LEN_MAX (1u << 24)

/* A slot of a chain: its chunk and place in it. */
typedef struct chunks_pos {
    uint32_t c, i;
} chunks_pos;

/* Reserve `cap` (0 .. CHUNKS_CAP_MAX) chunks of `size` bytes (8 ..
 * 65536, a multiple of 8); for chains, `per` (1 .. CHUNKS_PER_MAX) slots
 * to a chunk, linked back too when `back` (else per 0, back 0).  Returns
 * CHUNKS_OK, CHUNKS_EINVAL or CHUNKS_ENOMEM (no address space); *p is
 * then empty and chunks_fini() safe. */
int chunks_init(chunks_pool *p, size_t size, uint64_t cap, unsigned per,
                int back);

/* The most chunks a chain of up to n slots holds, `per` to a chunk. */
uint64_t chunks_chain_max(unsigned per, uint64_t n);

/* Give the address space back.  Accepts a zeroed or empty pool. */
void chunks_fini(chunks_pool *p);

/* A chunk (its bytes are whatever they were: the caller sets them), or 0
 * when all cap chunks are in use. */
uint32_t chunks_get(chunks_pool *p);

/* Give chunk c (from chunks_get, not given back since) back. */
void chunks_put(chunks_pool *p, uint32_t c);

/* The bytes of chunk c (1 .. cap). */
static inline void *chunks_at(const chunks_pool *p, uint32_t c)
{
    return p->mem + (size_t)(c - 1) * p->size;
}

/* ---- chains ---- */

/* Give every chunk of ch back to p; ch is then empty. */
void chunks_chain_free(chunks_pool *p, chunks_chain *ch);

/* The i-th oldest slot (i < len): walked from the nearer end when the
 * pool links back, else from the front.  O(i / per) chunks. */
chunks_pos chunks_nth(const chunks_pool *p, const chunks_chain *ch,
                      uint32_t i);

/* Private: the slow paths of chunks_push() (a chunk for the back: 0 or
 * CHUNKS_ENOMEM) and chunks_pop() (the front chunk spent, or the chain
 * empty: it goes back). */
int chunks_grow(chunks_pool *p, chunks_chain *ch);
void chunks_shrink(chunks_pool *p, chunks_chain *ch);

/* A link of chunk c: 0 next, 1 prev (pools with back links). */
static inline uint32_t chunks_link(const chunks_pool *p, uint32_t c,
                                   unsigned which)
{
    uint32_t v;

    memcpy(&v, (const unsigned char *)chunks_at(p, c) + 4 * which,
           sizeof v);
    return v;
}

/* One more slot at the back (ch->len < CHUNKS_LEN_MAX - 1), its place in
 * *at (the slot's bytes unset).  Returns CHUNKS_OK, or CHUNKS_ENOMEM when
 * the pool is out of chunks (nothing changed). */
static inline int chunks_push(chunks_pool *p, chunks_chain *ch,
                              chunks_pos *at)
{
    int rc = CHUNKS_OK;

    if (ch->len == 0 || ch->end == p->per)
        rc = chunks_grow(p, ch);
    if (rc == CHUNKS_OK) {
        at->c = ch->last;
        at->i = ch->end++;
        ch->len++;
    }
    return rc;
}

/* Drop the oldest slot (ch not empty); its chunk goes back once empty. */
static inline void chunks_pop(chunks_pool *p, chunks_chain *ch)
{
    ch->len--;
    if (ch->len == 0 || ch->start + 1u == p->per)
        chunks_shrink(p, ch);
    else
        ch->start++;
}

/* The oldest and the newest slot (ch not empty). */
static inline chunks_pos chunks_front(const chunks_chain *ch)
{
    return (chunks_pos){ch->first, ch->start};
}

static inline chunks_pos chunks_back(const chunks_chain *ch)
{
    return (chunks_pos){ch->last, ch->end - 1u};
}

/* Step to the next newer slot (the caller knows there is one), or back
 * to the next older (pools with back links). */
static inline void chunks_next(const chunks_pool *p, chunks_pos *at)
{
    if (++at->i == p->per) {
        at->c = chunks_link(p, at->c, 0);
        at->i = 0;
    }
}

static inline void chunks_prev(const chunks_pool *p, chunks_pos *at)
{
    if (at->i == 0) {
        at->c = chunks_link(p, at->c, 1);
        at->i = p->per - 1;
    } else {
        at->i--;
    }
}

#endif
