/*
 * valpool.c - one rule's shared pool of per-group value lists: entries and
 * a linear-hashing table reserved once, used as values come (see
 * valpool.h for the layout and costs).
 *
 * Invariants:
 *   - an entry is in use iff it is on exactly one group's order list; each
 *     list is sorted by key (non-decreasing from head to tail) and its
 *     header counts it;
 *   - every entry in use is on exactly one hash chain, the chain of
 *     addr(h0); free entries are on the free list (through `next`) and on
 *     no chain, or at or above the high-water mark `hw` (never used,
 *     contents undefined);
 *   - buckets in use: [0, low + split), low a power of two, split < low;
 *     a bucket below `split` has been split at level low (its chain holds
 *     the hashes with bit `low` clear, bucket + low those with it set);
 *     count <= low + split after every insert, so the load is <= 1;
 *   - low + split <= nb (the buckets reserved), since count <= cap <= nb.
 */
#include "detectors/valpool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MIX 0x9e3779b97f4a7c15ULL /* odd: (gid + 1) * MIX is injective */

struct valpool {
    struct valpool_entry *e; /* cap entries, reserved */
    uint32_t *bucket;        /* nb buckets, reserved */
    size_t e_bytes, b_bytes; /* the mappings' sizes */
    uint32_t cap;            /* entries: groups * per_group */
    uint32_t per_group;
    uint32_t nb;             /* buckets reserved: power of two >= cap */
    uint32_t count;          /* entries in use */
    uint32_t hw;             /* entries [0, hw) used at least once */
    uint32_t free_head;
    uint32_t low;            /* buckets at this level (power of two) */
    uint32_t split;          /* next bucket to split */
};

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t nb = 1;

    while (nb < n)
        nb <<= 1;
    return nb;
}

static uint64_t mixed(uint32_t gid, uint64_t h0)
{
    return h0 ^ (((uint64_t)gid + 1) * MIX);
}

/* The bucket of a stored (mixed) first word. */
static uint32_t addr(const valpool *p, uint64_t h0)
{
    uint32_t a = (uint32_t)(h0 & (p->low - 1));

    if (a < p->split)
        a = (uint32_t)(h0 & ((uint64_t)p->low * 2 - 1));
    return a;
}

/* Zeroed memory, resident only once written: never charged to the
 * commit limit (a pool is sized for a worst case it rarely meets). */
static void *reserve(size_t size)
{
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    return m == MAP_FAILED ? NULL : m;
}

size_t valpool_reserved(uint32_t groups, uint32_t per_group)
{
    uint64_t cap = (uint64_t)groups * per_group;

    if (groups < 1 || per_group < 1 || cap > VALPOOL_MAX_ENTRIES)
        return 0;
    return (size_t)cap * sizeof(struct valpool_entry) +
           (size_t)pow2_at_least((uint32_t)cap) * sizeof(uint32_t);
}

valpool *valpool_create(uint32_t groups, uint32_t per_group)
{
    valpool *p = NULL;
    int rc = -1;

    if (valpool_reserved(groups, per_group) == 0)
        goto out;
    if ((p = calloc(1, sizeof *p)) == NULL)
        goto out;
    p->cap = groups * per_group;
    p->per_group = per_group;
    p->nb = pow2_at_least(p->cap);
    p->e_bytes = (size_t)p->cap * sizeof *p->e;
    p->b_bytes = (size_t)p->nb * sizeof *p->bucket;
    if ((p->e = reserve(p->e_bytes)) == NULL ||
        (p->bucket = reserve(p->b_bytes)) == NULL)
        goto out;
    p->free_head = VALPOOL_NIL;
    p->low = 1;
    p->split = 0;
    p->bucket[0] = VALPOOL_NIL;
    rc = 0;
out:
    if (rc != 0) {
        valpool_destroy(p);
        p = NULL;
    }
    return p;
}

void valpool_destroy(valpool *p)
{
    if (p == NULL)
        return;
    if (p->e != NULL)
        munmap(p->e, p->e_bytes);
    if (p->bucket != NULL)
        munmap(p->bucket, p->b_bytes);
    free(p);
}

/* Split bucket `split`: the entries whose hash has bit `low` set move to
 * bucket split + low (its first use), the others stay, both chains in
 * their order. */
static void split_one(valpool *p)
{
    uint32_t from = p->split, to = p->split + p->low;
    uint32_t *stay = &p->bucket[from], *move = &p->bucket[to];
    uint32_t i = p->bucket[from];

    while (i != VALPOOL_NIL) {
        uint32_t next = p->e[i].hnext;
        uint32_t **tail = (p->e[i].h0 & p->low) ? &move : &stay;

        **tail = i;
        *tail = &p->e[i].hnext;
        i = next;
    }
    *stay = VALPOOL_NIL;
    *move = VALPOOL_NIL;
    if (++p->split == p->low) {
        p->low <<= 1;
        p->split = 0;
    }
}

__attribute__((hot))
uint32_t valpool_find(const valpool *p, uint32_t gid, const uint64_t h[2])
{
    uint64_t h0 = mixed(gid, h[0]);
    uint32_t i = p->bucket[addr(p, h0)];

    while (i != VALPOOL_NIL && (p->e[i].h0 != h0 || p->e[i].h1 != h[1]))
        i = p->e[i].hnext;
    return i;
}

/* Put entry i (off the list) on g's list after the last entry whose key
 * is <= its key, walking back from the tail. */
__attribute__((hot))
static void link_sorted(valpool *p, valpool_group *g, uint32_t i)
{
    struct valpool_entry *e = p->e;
    uint32_t after = g->tail;

    while (after != VALPOOL_NIL && e[after].key > e[i].key)
        after = e[after].prev;
    e[i].prev = after;
    e[i].next = after == VALPOOL_NIL ? g->head : e[after].next;
    if (e[i].next == VALPOOL_NIL)
        g->tail = i;
    else
        e[e[i].next].prev = i;
    if (after == VALPOOL_NIL)
        g->head = i;
    else
        e[after].next = i;
}

static void unlink_order(valpool *p, valpool_group *g, uint32_t i)
{
    struct valpool_entry *e = p->e;

    if (e[i].prev == VALPOOL_NIL)
        g->head = e[i].next;
    else
        e[e[i].prev].next = e[i].next;
    if (e[i].next == VALPOOL_NIL)
        g->tail = e[i].prev;
    else
        e[e[i].next].prev = e[i].prev;
}

/* Take entry i off its hash chain and put it on the free list. */
static void free_entry(valpool *p, uint32_t i)
{
    uint32_t *link = &p->bucket[addr(p, p->e[i].h0)];

    while (*link != i)
        link = &p->e[*link].hnext;
    *link = p->e[i].hnext;
    p->e[i].prev = p->e[i].hnext = VALPOOL_NIL;
    p->e[i].next = p->free_head;
    p->free_head = i;
    p->count--;
}

void valpool_group_reset(valpool *p, valpool_group *g)
{
    uint32_t i = g->head;

    for (uint32_t n = g->count; n > 0; n--) {
        uint32_t next = p->e[i].next;
        free_entry(p, i);
        i = next;
    }
    g->count = 0;
    g->head = g->tail = VALPOOL_NIL;
}

uint32_t valpool_add(valpool *p, valpool_group *g, uint32_t gid,
                     const uint64_t h[2], uint32_t key)
{
    struct valpool_entry *x;
    uint32_t i = p->free_head, b;

    if (g->count >= p->per_group)
        return VALPOOL_NIL;
    if (i != VALPOOL_NIL)
        p->free_head = p->e[i].next;
    else if (p->hw < p->cap)
        i = p->hw++;
    else
        return VALPOOL_NIL; /* cannot happen: at most groups * per_group */
    x = &p->e[i];
    x->h0 = mixed(gid, h[0]);
    x->h1 = h[1];
    x->key = key;
    b = addr(p, x->h0);
    x->hnext = p->bucket[b];
    p->bucket[b] = i;
    link_sorted(p, g, i);
    g->count++;
    if (++p->count > p->low + p->split)
        split_one(p);
    return i;
}

__attribute__((hot))
void valpool_set_key(valpool *p, valpool_group *g, uint32_t i, uint32_t key)
{
    if (g->tail == i && key >= p->e[i].key) {
        /* already the newest, and stays so: every other key is <= its old
         * one; unlinking and linking it again would put it back here, at
         * the cost of its neighbour's cache line */
        p->e[i].key = key;
        return;
    }
    unlink_order(p, g, i);
    p->e[i].key = key;
    link_sorted(p, g, i);
}

void valpool_remove(valpool *p, valpool_group *g, uint32_t i)
{
    unlink_order(p, g, i);
    free_entry(p, i);
    g->count--;
}

void valpool_shift_keys(valpool *p, const valpool_group *g, uint32_t delta)
{
    for (uint32_t i = g->head; i != VALPOOL_NIL; i = p->e[i].next)
        p->e[i].key -= delta;
}

__attribute__((hot))
const struct valpool_entry *valpool_at(const valpool *p, uint32_t i)
{
    return &p->e[i];
}

void valpool_hash(const valpool *p, uint32_t gid, uint32_t i, uint64_t h[2])
{
    h[0] = mixed(gid, p->e[i].h0);
    h[1] = p->e[i].h1;
}

uint32_t valpool_count(const valpool *p)
{
    return p->count;
}

uint32_t valpool_buckets(const valpool *p)
{
    return p->low + p->split;
}

uint32_t valpool_hw(const valpool *p)
{
    return p->hw;
}

/* ---- checkpoint records ---- */

/* Append v as a little-endian number of `size` bytes. */
static int put_le(buf *out, uint64_t v, int size)
{
    unsigned char b[8];

    for (int k = 0; k < size; k++)
        b[k] = (unsigned char)(v >> (8 * k));
    return buf_append(out, b, (size_t)size);
}

/* A little-endian number of `size` bytes. */
static uint64_t get_le(const unsigned char *in, int size)
{
    uint64_t v = 0;

    for (int k = size - 1; k >= 0; k--)
        v = v << 8 | in[k];
    return v;
}

size_t valpool_rec_bytes(uint32_t nfield, int timed, uint32_t max)
{
    return 1 + 8 * (size_t)nfield + 4 + (size_t)max * (timed ? 24 : 16);
}

int valpool_save(const valpool *p, uint32_t gid, const valpool_group *g,
                 const struct valpool_rec *rec, buf *out)
{
    size_t len = out->len;
    int rc = -1;

    if (put_le(out, rec->tag, 1) != BUF_OK)
        goto out;
    for (uint32_t k = 0; k < rec->nfield; k++)
        if (put_le(out, (uint64_t)rec->field[k], 8) != BUF_OK)
            goto out;
    if (put_le(out, g->count, 4) != BUF_OK)
        goto out;
    for (uint32_t i = g->head; i != VALPOOL_NIL; i = p->e[i].next) {
        uint64_t h[2];

        valpool_hash(p, gid, i, h);
        if (put_le(out, h[0], 8) != BUF_OK || put_le(out, h[1], 8) != BUF_OK ||
            (rec->timed &&
             put_le(out, (uint64_t)(rec->base + p->e[i].key), 8) != BUF_OK))
            goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        out->len = len; /* as it was */
        if (out->data != NULL)
            out->data[len] = '\0';
    }
    return rc;
}

/* Is `in` (n bytes) long enough for rec's head and count, with its tag? */
static int head_ok(const struct valpool_rec *rec, const unsigned char *in,
                   size_t n)
{
    return rec->nfield <= VALPOOL_REC_FIELDS &&
           n >= valpool_rec_bytes(rec->nfield, rec->timed, 0) &&
           in[0] == rec->tag;
}

int valpool_load_head(struct valpool_rec *rec, const unsigned char *in,
                      size_t n)
{
    if (!head_ok(rec, in, n))
        return -1;
    for (uint32_t k = 0; k < rec->nfield; k++)
        rec->field[k] = (int64_t)get_le(in + 1 + 8 * k, 8);
    return 0;
}

int valpool_load(valpool *p, uint32_t gid, valpool_group *g,
                 const struct valpool_rec *rec, const unsigned char *in,
                 size_t n)
{
    size_t off = valpool_rec_bytes(rec->nfield, rec->timed, 0);
    size_t each = rec->timed ? 24 : 16;
    int64_t prev = INT64_MIN;
    uint32_t count;
    int mine = g->count == 0; /* g is ours to fill, and to empty again */
    int rc = -1;

    if (!mine || !head_ok(rec, in, n))
        goto out;
    count = (uint32_t)get_le(in + off - 4, 4);
    if (count > rec->max || count > p->per_group ||
        (n - off) % each != 0 || (n - off) / each != count)
        goto out;
    for (uint32_t k = 0; k < count; k++, off += each) {
        uint64_t h[2] = {get_le(in + off, 8), get_le(in + off + 8, 8)};
        int64_t t = rec->timed ? (int64_t)get_le(in + off + 16, 8) : 0;
        uint32_t key = 0;

        if (rec->timed) {
            if (t < rec->lo || t > rec->hi || t < prev || t < rec->base ||
                (uint64_t)t - (uint64_t)rec->base > UINT32_MAX)
                goto out;
            key = (uint32_t)((uint64_t)t - (uint64_t)rec->base);
            prev = t;
        }
        if (valpool_find(p, gid, h) != VALPOOL_NIL ||
            valpool_add(p, g, gid, h, key) == VALPOOL_NIL)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0 && mine)
        valpool_group_reset(p, g);
    return rc;
}
