/*
 * index.c - rules indexed by the exact values their match requires (see
 * index.h).
 *
 * Invariants: each field's table has a power-of-two capacity at least
 * twice its values, so every probe sequence ends at an empty slot; a
 * value is in a field's table once, with the set of every rule added
 * under it; the tables are only read after the engine is built.
 */
#include "detectors/index.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define VALUE_MAX 128 /* bytes of an event's string field, with the NUL */

struct ix_slot {
    uint64_t h;
    char *text;   /* lower-cased value (NULL: empty slot) */
    uint32_t len;
    struct det_rset set;
};

struct ix_field {
    struct match_field f;
    uint32_t n, cap;
    struct ix_slot *slot;
};

struct det_index {
    uint32_t nf;
    struct ix_field fld[DET_INDEX_FIELDS];
};

static inline unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* FNV-1a of the lower-cased bytes of s (at most max of them, to a NUL),
 * written to out when out is not NULL; the length into *len. */
static uint64_t hash_lower(const char *s, size_t max, char *out,
                           uint32_t *len)
{
    uint64_t h = FNV_OFFSET;
    size_t i;

    for (i = 0; i < max && s[i] != '\0'; i++) {
        unsigned char c = lower((unsigned char)s[i]);

        if (out != NULL)
            out[i] = (char)c;
        h = (h ^ c) * FNV_PRIME;
    }
    *len = (uint32_t)i;
    return h;
}

det_index *det_index_create(void)
{
    return calloc(1, sizeof(det_index));
}

/* The slot of (h, text, len) in fl: its own, or the empty one where it
 * would go. */
static struct ix_slot *find(const struct ix_field *fl, uint64_t h,
                            const char *text, uint32_t len)
{
    uint32_t mask = fl->cap - 1, i = (uint32_t)h & mask;

    for (;;) {
        struct ix_slot *s = &fl->slot[i];

        if (s->text == NULL ||
            (s->h == h && s->len == len && memcmp(s->text, text, len) == 0))
            return s;
        i = (i + 1) & mask;
    }
}

/* Room for one more value in fl (twice the values, a power of two). */
static int reserve(struct ix_field *fl)
{
    struct ix_slot *old = fl->slot, *slot;
    uint32_t cap = fl->cap > 0 ? fl->cap : 8, ocap = fl->cap;

    while ((fl->n + 1) * 2 > cap)
        cap *= 2;
    if (cap == ocap)
        return DET_INDEX_OK;
    if ((slot = calloc(cap, sizeof *slot)) == NULL)
        return DET_INDEX_ENOMEM;
    fl->slot = slot;
    fl->cap = cap;
    for (uint32_t i = 0; i < ocap; i++)
        if (old[i].text != NULL)
            *find(fl, old[i].h, old[i].text, old[i].len) = old[i];
    free(old);
    return DET_INDEX_OK;
}

/* fl's slot of the value `lit`, made when new. */
static struct ix_slot *value_slot(struct ix_field *fl, const char *lit)
{
    struct ix_slot *s;
    uint32_t len;
    uint64_t h = hash_lower(lit, GLOB_PATTERN_MAX, NULL, &len);
    char *text;

    if (reserve(fl) != DET_INDEX_OK || (text = malloc(len + 1)) == NULL)
        return NULL;
    hash_lower(lit, len, text, &len);
    text[len] = '\0';
    s = find(fl, h, text, len);
    if (s->text != NULL) {
        free(text);
        return s;
    }
    s->h = h;
    s->text = text;
    s->len = len;
    fl->n++;
    return s;
}

int det_index_add(det_index *x, struct match_field f, const char *const *lit,
                  uint32_t n, uint32_t rule)
{
    struct ix_field *fl = NULL;

    if (x == NULL || n == 0 || rule >= DET_RULES_MAX)
        return DET_INDEX_EINVAL;
    for (uint32_t i = 0; i < x->nf; i++)
        if (match_field_equal(x->fld[i].f, f))
            fl = &x->fld[i];
    if (fl == NULL) {
        if (x->nf == DET_INDEX_FIELDS)
            return DET_INDEX_EFULL;
        fl = &x->fld[x->nf++];
        fl->f = f;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct ix_slot *s = value_slot(fl, lit[i]);

        if (s == NULL)
            return DET_INDEX_ENOMEM;
        det_rset_add(&s->set, rule);
    }
    return DET_INDEX_OK;
}

uint32_t det_index_fields(const det_index *x)
{
    return x != NULL ? x->nf : 0;
}

void det_index_lookup(const det_index *x, const struct event *ev,
                      struct det_rset *out)
{
    char buf[VALUE_MAX];

    for (uint32_t k = 0; k < x->nf; k++) {
        const struct ix_field *fl = &x->fld[k];
        const char *v = match_string(ev, fl->f);
        const struct ix_slot *s;
        uint32_t len;
        uint64_t h;

        if (v == NULL || fl->n == 0)
            continue;
        h = hash_lower(v, sizeof buf, buf, &len);
        s = find(fl, h, buf, len);
        if (s->text == NULL)
            continue;
        for (unsigned w = 0; w < DET_RSET_WORDS; w++)
            out->w[w] |= s->set.w[w];
    }
}

void det_index_destroy(det_index *x)
{
    if (x == NULL)
        return;
    for (uint32_t k = 0; k < x->nf; k++) {
        for (uint32_t i = 0; i < x->fld[k].cap; i++)
            free(x->fld[k].slot[i].text);
        free(x->fld[k].slot);
    }
    free(x);
}
