/*
 * chunks.c - a pool of fixed-size chunks in one MAP_NORESERVE mapping,
 * handed out from a free list first, then from the untouched tail, and
 * the chains of slots kept in them (see chunks.h for the invariants).
 *
 * A chain's chunk begins with two uint32 links, read and written here
 * with memcpy: `next` at byte 0, `prev` at byte 4 in pools with back
 * links.
 */
#include "detectors/chunks.h"

#include <string.h>
#include <sys/mman.h>

int chunks_init(chunks_pool *p, size_t size, uint64_t cap, unsigned per,
                int back)
{
    int rc = CHUNKS_EINVAL;
    void *m;

    memset(p, 0, sizeof *p);
    if (size < 8 || size > 65536 || size % 8 != 0 || cap > CHUNKS_CAP_MAX ||
        per > CHUNKS_PER_MAX || (back && per == 0))
        goto out;
    p->size = (uint32_t)size;
    p->per = per;
    p->back = back != 0;
    rc = CHUNKS_OK;
    if (cap == 0)
        goto out;
    m = mmap(NULL, (size_t)cap * size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        rc = CHUNKS_ENOMEM;
        goto out;
    }
    p->mem = m;
    p->map = (size_t)cap * size;
    p->cap = (uint32_t)cap;
out:
    return rc;
}

void chunks_fini(chunks_pool *p)
{
    if (p->mem != NULL)
        munmap(p->mem, p->map);
    memset(p, 0, sizeof *p);
}

__attribute__((hot))
uint32_t chunks_get(chunks_pool *p)
{
    uint32_t c = p->free_head;

    if (c != 0)
        memcpy(&p->free_head, chunks_at(p, c), sizeof p->free_head);
    else if (p->hw < p->cap)
        c = ++p->hw;
    if (c != 0)
        p->used++;
    return c;
}

__attribute__((hot))
void chunks_put(chunks_pool *p, uint32_t c)
{
    memcpy(chunks_at(p, c), &p->free_head, sizeof p->free_head);
    p->free_head = c;
    p->used--;
}

uint64_t chunks_chain_max(unsigned per, uint64_t n)
{
    /* n slots from any start in the first chunk */
    return n == 0 ? 0 : (n + 2 * (uint64_t)per - 2) / per;
}

/* ---- chains ---- */

enum { NEXT = 0, PREV = 1 };

static void link_set(chunks_pool *p, uint32_t c, unsigned which, uint32_t v)
{
    memcpy((unsigned char *)chunks_at(p, c) + 4 * which, &v, sizeof v);
}

void chunks_chain_free(chunks_pool *p, chunks_chain *ch)
{
    uint32_t c = ch->first;

    while (c != 0) {
        uint32_t next = c == ch->last ? 0 : chunks_link(p, c, NEXT);
        chunks_put(p, c);
        c = next;
    }
    memset(ch, 0, sizeof *ch);
}

int chunks_grow(chunks_pool *p, chunks_chain *ch)
{
    uint32_t c = chunks_get(p);
    int rc = CHUNKS_OK;

    if (c == 0) {
        rc = CHUNKS_ENOMEM;
        goto out;
    }
    link_set(p, c, NEXT, 0);
    if (p->back)
        link_set(p, c, PREV, ch->last);
    if (ch->len == 0) {
        ch->first = c;
        ch->start = 0;
    } else {
        link_set(p, ch->last, NEXT, c);
    }
    ch->last = c;
    ch->end = 0;
out:
    return rc;
}

void chunks_shrink(chunks_pool *p, chunks_chain *ch)
{
    uint32_t first = ch->first;

    if (ch->len == 0) {
        memset(ch, 0, sizeof *ch);
    } else {
        ch->first = chunks_link(p, first, NEXT);
        ch->start = 0;
        if (p->back)
            link_set(p, ch->first, PREV, 0);
    }
    chunks_put(p, first);
}

chunks_pos chunks_nth(const chunks_pool *p, const chunks_chain *ch,
                      uint32_t i)
{
    chunks_pos at;
    uint32_t hops, j = ch->len - 1 - i, b;

    if (!p->back || i <= j) {
        uint32_t pos = ch->start + i;
        at.c = ch->first;
        for (hops = pos / p->per; hops > 0; hops--)
            at.c = chunks_link(p, at.c, NEXT);
        at.i = pos % p->per;
    } else {
        at = chunks_back(ch);
        b = at.i;
        if (j > b) {
            /* past the newest chunk's slots: whole chunks back, then a
             * place counted from the end of one */
            j -= b + 1;
            at.c = chunks_link(p, at.c, PREV);
            for (hops = j / p->per; hops > 0; hops--)
                at.c = chunks_link(p, at.c, PREV);
            at.i = p->per - 1 - j % p->per;
        } else {
            at.i = b - j;
        }
    }
    return at;
}
