/*
 * keys.h - a detector's table of groups: at most `cap` keys, O(1) lookup,
 * O(1) eviction of the least recently seen group that is not pinned.
 *
 * A group is identified by a 128-bit keyed hash of its key text (the
 * engine computes it with SipHash-1-3-128 under a random per-engine key,
 * so distinct keys colliding is a 2^-128 event that input cannot force);
 * the text itself is kept only for groups that alert (kind.h), which
 * keeps an idle group at 32 bytes here plus the detector's own data.
 *
 * Slots are indices into one array allocated at init (calloc: untouched
 * slots cost no resident memory).  Every used slot is either pinned or
 * on the LRU order:
 *   - the pinned list (groups with an open alert, or a detector's timer
 *     group), an intrusive doubly linked list through prev/next: never
 *     evicted; walked by the engine to run alert timers;
 *   - the LRU order (unpinned groups): a log of slot numbers, appended to
 *     each time a group is seen, with each slot's newest position in the
 *     slot (lpos).  An entry is live when its slot is used, unpinned and
 *     its lpos is that entry; the live entries, front to back, are the
 *     groups from the least to the most recently seen.  Seeing a group
 *     writes one log entry (the log is written in order: one new cache
 *     line per 16 sightings) and the group's own slot, where a linked
 *     list would relink it between two other groups' slots.  Stale
 *     entries are skipped at the front; when the log is full its live
 *     entries are moved to its start (at most cap + 1 of 2 (cap + 1) +
 *     64: O(1) a sighting).  An insert into a full table evicts the
 *     front's group.
 * Free slots are on a singly linked free list through `next`.
 *
 * One slot more than `cap` is kept for the table's overflow group
 * (det_keys_overflow): the group that takes the events of groups that
 * could not be created because every one of the `cap` groups is pinned.
 * It is not in the hash (it has no key), is counted in `count`, is
 * pinned from its creation and never evicted; the `cap` limit applies to
 * the other groups.
 *
 * Memory: sizeof(struct det_slot) (32 bytes) per slot (cap + 1), 8 bytes
 * per slot for the LRU log (2 (cap + 1) + 64 entries), plus 4 bytes per
 * hash bucket (buckets = cap rounded up to a power of two,
 * reserved at init; in use: 64, doubled, with every group chained again,
 * whenever the groups outnumber them, so that a table of few groups
 * reads few cache lines).
 */
#ifndef TW_KEYS_H
#define TW_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define DET_NIL UINT32_MAX

enum { DET_KEYS_OK = 0, DET_KEYS_ENOMEM = -1, DET_KEYS_EINVAL = -2 };

struct det_slot {
    uint64_t h0, h1;   /* the key's 128-bit hash */
    uint32_t hnext;    /* next slot in the same hash bucket */
    union {
        uint32_t prev; /* pinned: the pinned list's previous */
        uint32_t lpos; /* unpinned: its newest entry in the LRU log */
    };
    uint32_t next;     /* pinned list, or free list */
    uint8_t used;
    uint8_t pinned;
    uint8_t state;     /* alert state, owned by the engine (DET_ST_*) */
    uint8_t spare;
};

typedef struct det_keys {
    /* what a lookup and a sighting read, first */
    struct det_slot *slot;
    uint32_t *bucket;
    uint32_t *log;       /* the LRU log (private: det_keys_oldest) */
    uint32_t mask;       /* buckets in use - 1 */
    uint32_t hw;         /* slots [0, hw) have been used at least once */
    uint32_t ovf;        /* the overflow group's slot, or DET_NIL */
    uint32_t log_tail;   /* log entries [log_head, log_tail) */
    uint32_t log_cap;
    uint32_t cap;        /* max groups */
    uint32_t count;      /* used slots */
    uint32_t free_head;
    /* the rest */
    uint32_t log_head;
    uint32_t nbuckets;   /* private: allocation sizes */
    uint32_t cap_alloc;
    uint32_t pin_head, pin_tail;
    uint32_t npinned;
    uint64_t evictions;  /* groups evicted to make room */
    uint64_t full;       /* inserts refused: every group pinned */
    uint32_t compactions; /* times the LRU log was compacted: log positions
                             from before one are void (det_keys_live_at) */
} det_keys;

/* Zeroed memory for a per-group slab, straight from mmap so that pages
 * stay untouched (no resident memory) until a group uses them, even when
 * the heap has freed memory to reuse (calloc would then zero, and so
 * touch, all of it).  Returns NULL on failure.  det_slab_free() takes the
 * same size; NULL is accepted. */
void *det_slab_alloc(size_t size);
void det_slab_free(void *p, size_t size);

/* det_slab_alloc for a table read at random on every event (the
 * duplicate filter): the mapping starts on a 2 MB boundary and asks for
 * transparent huge pages, so that a lookup needs no page walk.  Same
 * contract: free with det_slab_free(p, size). */
void *det_slab_alloc_huge(size_t size);

/* Allocate for `cap` groups (1 <= cap <= 16M).  Returns DET_KEYS_OK,
 * DET_KEYS_EINVAL or DET_KEYS_ENOMEM (then det_keys_free is still safe). */
int det_keys_init(det_keys *k, uint32_t cap);

/* Free the arrays.  Accepts a zeroed or half-initialised table. */
void det_keys_free(det_keys *k);

/* The slot of key (h0, h1), or DET_NIL.  Does not touch the LRU order. */
uint32_t det_keys_find(const det_keys *k, uint64_t h0, uint64_t h1);

/* Find or insert key (h0, h1) and mark it most recently seen.  On insert
 * *created is set to 1 (the caller must reset the slot's data); when the
 * table was full the least recently seen unpinned group was evicted to
 * make room (counted).  Returns DET_NIL when every group is pinned (the
 * key is not tracked; counted in `full`). */
uint32_t det_keys_get(det_keys *k, uint64_t h0, uint64_t h1, int *created);

/* det_keys_get, trying slot `hint` first (any number; DET_NIL: none):
 * when it holds key (h0, h1) no hash chain is walked.  The engine's
 * rules that group by the same fields mostly place a group at the same
 * slot, so the slot one of them found for an event is the hint for the
 * next: its hash bucket, one more cache line per rule, is not read. */
static inline uint32_t det_keys_get_near(det_keys *k, uint64_t h0,
                                         uint64_t h1, uint32_t hint,
                                         int *created);

/* Private (det_keys_get_near): unpinned used slot s is the most recently
 * seen. */
void det_keys_log_append(det_keys *k, uint32_t s);

/* Private: used slot s was seen (a log entry, unless pinned or already
 * the newest). */
static inline void det_keys_seen(det_keys *k, uint32_t s)
{
    const struct det_slot *x = &k->slot[s];

    if (!x->pinned && x->lpos + 1 != k->log_tail)
        det_keys_log_append(k, s);
}

/* Slot `hint` when it holds key (h0, h1) (then seen, as det_keys_get
 * would), else DET_NIL: det_keys_get_near's first try, in line (the hint
 * holds the key for most of the rules an event reaches). */
static inline uint32_t det_keys_at_hint(det_keys *k, uint64_t h0,
                                        uint64_t h1, uint32_t hint)
{
    if (hint < k->hw && hint != k->ovf) {
        const struct det_slot *x = &k->slot[hint];

        if (x->used && x->h0 == h0 && x->h1 == h1) {
            det_keys_seen(k, hint);
            return hint;
        }
    }
    return DET_NIL;
}

static inline uint32_t det_keys_get_near(det_keys *k, uint64_t h0,
                                         uint64_t h1, uint32_t hint,
                                         int *created)
{
    uint32_t s = det_keys_at_hint(k, h0, h1, hint);

    if (s != DET_NIL) {
        *created = 0;
        return s;
    }
    return det_keys_get(k, h0, h1, created);
}

/* The overflow group: found, or created (*created = 1) in the slot kept
 * for it, pinned.  Always succeeds on an initialised table.  Removed
 * like any group (det_keys_remove); det_keys_unpin leaves it pinned. */
uint32_t det_keys_overflow(det_keys *k, int *created);

/* Groups other than the overflow group. */
static inline uint32_t det_keys_groups(const det_keys *k)
{
    return k->count - (k->ovf != DET_NIL);
}

/* Can a new group be made without evicting one?  (Not when the table is
 * at cap: then only by evicting an unpinned group.) */
static inline int det_keys_room(const det_keys *k)
{
    return det_keys_groups(k) < k->cap || k->count > k->npinned;
}

/* The least recently seen unpinned group, or DET_NIL (O(1) amortised:
 * drops stale log entries from the front). */
uint32_t det_keys_oldest(det_keys *k);

/* The first unpinned group at or after LRU log position *pos (any
 * number: it starts no earlier than the oldest), in order from the least
 * to the most recently seen; *pos is set to its position, or past the
 * newest when there is none (DET_NIL).  For a caller that follows a part
 * of the order (absence's groups of one threshold) with its own position:
 * positions hold until the log is compacted (`compactions` changes), when
 * it starts again from 0. */
uint32_t det_keys_live_at(const det_keys *k, uint32_t *pos);

/* The unpinned groups from the least to the most recently seen: start
 * with *cursor = 0; each call returns the next group and moves *cursor,
 * DET_NIL at the end.  The table must not change during the walk. */
uint32_t det_keys_lru_walk(const det_keys *k, uint32_t *cursor);

/* Move a used slot to the pinned list / back to the LRU list (as most
 * recently seen).  Idempotent. */
void det_keys_pin(det_keys *k, uint32_t s);
void det_keys_unpin(det_keys *k, uint32_t s);

/* Remove a used slot (pinned or not) and free it. */
void det_keys_remove(det_keys *k, uint32_t s);

#endif
