/*
 * journal_helpers.h - shared by the journal tests (test_journal,
 * test_journal_record): build an entry, collect the POSITION records a
 * scan finds.
 *
 * Header-only (static inline functions): each test binary includes it
 * once, and uses what it needs.
 */
#ifndef TW_TEST_JOURNAL_HELPERS_H
#define TW_TEST_JOURNAL_HELPERS_H

#include "alerts/journal_record.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline struct journal_record_entry mk(const char *sink, const char *id,
                                             int64_t created, const char *body)
{
    struct journal_record_entry e;

    e.sink = sink;
    e.sink_len = strlen(sink);
    e.msg_id = id;
    e.msg_id_len = strlen(id);
    e.created_ms = created;
    e.body = body;
    e.body_len = strlen(body);
    return e;
}

/* The positions a file holds, in file order. */
struct positions {
    size_t n;
    uint64_t gen[64];
    char id[64][64];
    int after_damage[64];
};

static inline int collect_pos(void *ud, const struct journal_record *r)
{
    struct positions *p = ud;

    if (r->type != JOURNAL_RECORD_POSITION || p->n >= 64)
        return 0;
    p->gen[p->n] = r->gen;
    snprintf(p->id[p->n], 64, "%.*s", (int)r->pos_id_len, r->pos_id);
    p->after_damage[p->n] = r->after_damage;
    p->n++;
    return 0;
}

#endif
