/*
 * fuzz_journal.c - libFuzzer target for the journal reader.
 *
 * Even first byte: the rest of the input is scanned as a journal file by
 * journal_record_scan.  Checked: records lie inside the buffer, in order,
 * without overlap, and valid_end is the end of the last one; re-encoding
 * an ENQUEUE/ACK/CHECKPOINT/POSITION gives back exactly its bytes;
 * scanning only
 * [0, valid_end) -- the file as journal_open repairs it -- finds the same
 * records and the same damage.
 *
 * Odd first byte: the input is a small program that builds a journal with
 * the encoders (enqueue, ack, checkpoint, stream position) while a model
 * tracks what must be pending and which position is the newest, and may
 * then damage it (flip bytes, cut the end).  The image is scanned as
 * above, then written to journal.log in a directory under /dev/shm (or
 * /tmp) and opened with journal_open: when nothing was damaged, the
 * pending entries must be the model's, byte for byte, and the position in
 * force the model's newest (highest generation, the later on a tie); when
 * something was, the position in force must be one the program wrote (or
 * none).  In every case the repaired file must rescan with no torn tail,
 * an append must get a number above every number in the file, a newer
 * position must be taken, and both must survive a reopen and a
 * compaction.
 *
 * Memory stays bounded: libFuzzer's -max_len bounds the input, bodies are
 * at most 1 KiB, and the scanner never allocates.  Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/journal.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

/* ---- raw scanning ----------------------------------------------------- */

struct seen {
    const unsigned char *base;
    size_t len;
    size_t next_off; /* records must start at or after this */
    uint64_t records;
    size_t last_end;
    unsigned char scratch[JOURNAL_RECORD_HEADER_SIZE + 8 + 1 + 255 + 1 + 255 +
                          4 + JOURNAL_RECORD_TRAILER_SIZE + 4096];
};

static int on_record(void *ud, const struct journal_record *r)
{
    struct seen *s = ud;
    size_t n = 0;
    int rc;

    check(r->offset >= s->next_off);
    check(r->size >= JOURNAL_RECORD_HEADER_SIZE + JOURNAL_RECORD_TRAILER_SIZE);
    check(r->offset <= s->len && r->size <= s->len - r->offset);
    s->next_off = r->offset + r->size;
    s->last_end = s->next_off;
    s->records++;

    switch (r->type) {
    case JOURNAL_RECORD_ENQUEUE: {
        const struct journal_record_entry *e = &r->entry;
        const char *lo = (const char *)s->base + r->offset;
        const char *hi = lo + r->size;
        check(e->sink_len <= JOURNAL_RECORD_MAX_NAME);
        check(e->msg_id_len <= JOURNAL_RECORD_MAX_NAME);
        check(e->body_len <= JOURNAL_RECORD_MAX_BODY);
        check(e->sink >= lo && e->sink + e->sink_len <= hi);
        check(e->msg_id >= lo && e->msg_id + e->msg_id_len <= hi);
        check(e->body >= lo && e->body + e->body_len <= hi);
        check(journal_record_enqueue_size(e) == r->size);
        if (r->size <= sizeof(s->scratch)) {
            rc = journal_record_encode_enqueue(s->scratch, sizeof(s->scratch),
                                               r->seq, e, &n);
            check(rc == JOURNAL_RECORD_EOK && n == r->size);
            check(memcmp(s->scratch, s->base + r->offset, n) == 0);
        }
        break;
    }
    case JOURNAL_RECORD_ACK:
        rc = journal_record_encode_ack(s->scratch, sizeof(s->scratch), r->seq,
                                       r->acked_seq, r->outcome, &n);
        check(rc == JOURNAL_RECORD_EOK && n == r->size);
        check(memcmp(s->scratch, s->base + r->offset, n) == 0);
        break;
    case JOURNAL_RECORD_CHECKPOINT:
        rc = journal_record_encode_checkpoint(s->scratch, sizeof(s->scratch),
                                              r->next_seq, &n);
        check(rc == JOURNAL_RECORD_EOK && n == r->size);
        check(memcmp(s->scratch, s->base + r->offset, n) == 0);
        break;
    case JOURNAL_RECORD_POSITION: {
        const char *lo = (const char *)s->base + r->offset;
        check(r->seq == 0);
        check(r->gen >= 1 && r->gen <= JOURNAL_RECORD_GEN_MAX);
        check(r->pos_id_len <= JOURNAL_RECORD_MAX_POSITION);
        check(r->pos_id >= lo && r->pos_id + r->pos_id_len <= lo + r->size);
        check(journal_record_position_size(r->pos_id_len) == r->size);
        check(r->size <= sizeof(s->scratch));
        rc = journal_record_encode_position(s->scratch, sizeof(s->scratch),
                                            r->gen, r->pos_id, r->pos_id_len,
                                            &n);
        check(rc == JOURNAL_RECORD_EOK && n == r->size);
        check(memcmp(s->scratch, s->base + r->offset, n) == 0);
        break;
    }
    default:
        check(0);
    }
    return 0;
}

static void scan_checked(const unsigned char *b, size_t len,
                         struct journal_record_scan_result *out)
{
    static struct seen s1, s2;
    struct journal_record_scan_result r1, r2;

    memset(&s1, 0, offsetof(struct seen, scratch));
    s1.base = b;
    s1.len = len;
    check(journal_record_scan(b, len, on_record, &s1, &r1) ==
          JOURNAL_RECORD_EOK);
    check(r1.records == s1.records);
    check(r1.valid_end == s1.last_end);
    check(r1.valid_end <= len);

    /* the repaired file reads the same */
    memset(&s2, 0, offsetof(struct seen, scratch));
    s2.base = b;
    s2.len = r1.valid_end;
    check(journal_record_scan(b, r1.valid_end, on_record, &s2, &r2) ==
          JOURNAL_RECORD_EOK);
    check(r2.records == r1.records && r2.valid_end == r1.valid_end &&
          r2.corrupt == r1.corrupt && r2.max_seq == r1.max_seq);
    if (out != NULL)
        *out = r1;
}

/* ---- building journals ------------------------------------------------ */

#define MAX_IMAGE (64 * 1024)
#define MAX_MODEL 256

#define MAX_POS_ID 40

struct model_entry {
    uint64_t seq;
    size_t off, size; /* the record in the image */
    int acked;
};

struct model_pos {
    uint64_t gen;
    size_t len;
    char id[MAX_POS_ID];
};

struct builder {
    unsigned char img[MAX_IMAGE];
    size_t len;
    struct model_entry m[MAX_MODEL];
    size_t n;
    struct model_pos pos[MAX_MODEL]; /* every position written */
    size_t npos;
    size_t newest;                   /* index in pos[]: the one in force */
    uint64_t next_seq;
    int damaged;
};

struct reader {
    const uint8_t *p;
    size_t left;
};

static unsigned take(struct reader *r)
{
    if (r->left == 0)
        return 0;
    r->left--;
    return *r->p++;
}

static void build(struct builder *b, struct reader *r)
{
    static char text[1024];

    b->len = 0;
    b->n = 0;
    b->npos = 0;
    b->newest = 0;
    b->next_seq = 1;
    b->damaged = 0;
    while (r->left > 0) {
        unsigned op = take(r) % 6;
        size_t n = 0;

        if (op == 0 || op == 1) { /* enqueue */
            struct journal_record_entry e;
            size_t sl = take(r) % 12, il = take(r) % 12;
            size_t bl = (take(r) | (take(r) << 8)) % sizeof(text);
            for (size_t k = 0; k < bl; k++)
                text[k] = (char)('a' + (k * 7 + bl) % 26);
            for (size_t k = 0; k < bl && r->left > 0 && k < 16; k++)
                text[k] = (char)take(r);
            e.sink = text;
            e.sink_len = sl;
            e.msg_id = text + 1;
            e.msg_id_len = il;
            e.created_ms = (int64_t)take(r) - 128;
            e.body = text;
            e.body_len = bl;
            if (b->n == MAX_MODEL ||
                journal_record_encode_enqueue(b->img + b->len,
                                              MAX_IMAGE - b->len, b->next_seq,
                                              &e, &n) != JOURNAL_RECORD_EOK)
                return;
            b->m[b->n].seq = b->next_seq;
            b->m[b->n].off = b->len;
            b->m[b->n].size = n;
            b->m[b->n].acked = 0;
            b->n++;
        } else if (op == 2) { /* ack */
            size_t k;
            if (b->n == 0)
                continue;
            k = take(r) % b->n;
            if (journal_record_encode_ack(b->img + b->len, MAX_IMAGE - b->len,
                                          b->next_seq, b->m[k].seq,
                                          take(r) % 2
                                              ? JOURNAL_RECORD_DELIVERED
                                              : JOURNAL_RECORD_DEAD_LETTERED,
                                          &n) != JOURNAL_RECORD_EOK)
                return;
            b->m[k].acked = 1;
        } else if (op == 3) { /* checkpoint, as a compaction writes */
            uint64_t next = b->next_seq + take(r);
            if (journal_record_encode_checkpoint(b->img + b->len,
                                                 MAX_IMAGE - b->len, next,
                                                 &n) != JOURNAL_RECORD_EOK)
                return;
            b->len += n;
            b->next_seq = next;
            continue;
        } else if (op == 5) { /* stream position: any generation order */
            struct model_pos *p;
            if (b->npos == MAX_MODEL)
                return;
            p = &b->pos[b->npos];
            p->gen = 1 + take(r) % 64;
            p->len = take(r) % MAX_POS_ID;
            for (size_t k = 0; k < p->len; k++)
                p->id[k] = (char)take(r);
            if (journal_record_encode_position(
                    b->img + b->len, MAX_IMAGE - b->len, p->gen, p->id, p->len,
                    &n) != JOURNAL_RECORD_EOK)
                return;
            b->len += n;
            if (b->npos == 0 || p->gen >= b->pos[b->newest].gen)
                b->newest = b->npos;
            b->npos++;
            continue; /* no sequence number */
        } else { /* damage: flip a byte or cut the end */
            unsigned what = take(r);
            size_t at = (take(r) | (take(r) << 8));
            if (b->len == 0)
                continue;
            at %= b->len;
            if (what % 4 == 0)
                b->len = at;
            else
                b->img[at] ^= (unsigned char)(what | 1);
            b->damaged = 1;
            continue;
        }
        b->len += n;
        b->next_seq++;
    }
}

/* ---- the file layer --------------------------------------------------- */

static char dir[64];
static char path[96];

static void make_dir(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    if (dir[0] != '\0')
        return;
    snprintf(dir, sizeof(dir), "%s/tw_fuzz_journal_XXXXXX", base);
    check(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/journal.log", dir);
    log_set_level(LOG_ERROR);
}

struct expect {
    const struct builder *b;
    size_t k;    /* next model entry to match */
    int exact;   /* undamaged: must match the model */
    uint64_t count, max_seq;
};

static int on_pending(void *ud, uint64_t seq,
                      const struct journal_record_entry *e)
{
    struct expect *x = ud;

    check(e->sink_len <= JOURNAL_RECORD_MAX_NAME &&
          e->body_len <= JOURNAL_RECORD_MAX_BODY);
    if (seq > x->max_seq)
        x->max_seq = seq;
    x->count++;
    if (x->exact) {
        const struct builder *b = x->b;
        unsigned char rec[2048];
        size_t n;
        while (x->k < b->n && b->m[x->k].acked)
            x->k++;
        check(x->k < b->n && b->m[x->k].seq == seq);
        /* the bytes the journal hands out re-encode to the original */
        check(journal_record_encode_enqueue(rec, sizeof(rec), seq, e, &n) ==
              JOURNAL_RECORD_EOK);
        check(n == b->m[x->k].size &&
              memcmp(rec, b->img + b->m[x->k].off, n) == 0);
        x->k++;
    }
    return 0;
}

/* The position in force is the model's newest (exact), or one of the
 * positions written (damaged), or none. */
static void check_position(const struct builder *b, const journal *j,
                           int exact)
{
    const char *id = NULL;
    size_t len = 0;
    uint64_t gen = journal_position(j, &id, &len);
    int found = 0;

    check(id != NULL && len <= JOURNAL_RECORD_MAX_POSITION);
    if (exact) {
        if (b->npos == 0) {
            check(gen == 0 && len == 0);
            return;
        }
        check(gen == b->pos[b->newest].gen && len == b->pos[b->newest].len &&
              memcmp(id, b->pos[b->newest].id, len) == 0);
        return;
    }
    if (gen == 0)
        return;
    for (size_t k = 0; k < b->npos && !found; k++)
        found = b->pos[k].gen == gen && b->pos[k].len == len &&
                memcmp(b->pos[k].id, id, len) == 0;
    check(found);
}

static void file_roundtrip(const struct builder *b,
                           const struct journal_record_scan_result *res)
{
    struct expect x;
    struct journal_record_entry e;
    uint64_t seq = 0, gen;
    const char *pid;
    size_t plen, pending;
    journal *j;
    FILE *f;
    int err = 0;

    make_dir();
    f = fopen(path, "wb");
    check(f != NULL);
    check(fwrite(b->img, 1, b->len, f) == b->len);
    check(fclose(f) == 0);

    j = journal_open(dir, NULL, &err);
    check(j != NULL);
    check_position(b, j, !b->damaged);
    memset(&x, 0, sizeof(x));
    x.b = b;
    x.exact = !b->damaged;
    check(journal_foreach_pending(j, on_pending, &x) == JOURNAL_OK);
    check(x.count == journal_pending_count(j));
    if (x.exact) {
        size_t want = 0;
        for (size_t k = 0; k < b->n; k++)
            want += !b->m[k].acked;
        check(x.count == want);
    }

    /* the repaired file has no torn tail */
    {
        FILE *g = fopen(path, "rb");
        static unsigned char again[MAX_IMAGE];
        size_t n;
        struct journal_record_scan_result r2;
        check(g != NULL);
        n = fread(again, 1, sizeof(again), g);
        fclose(g);
        check(n == res->valid_end);
        check(journal_record_scan(again, n, NULL, NULL, &r2) ==
              JOURNAL_RECORD_EOK);
        check(r2.valid_end == n);
    }

    /* an append gets a fresh number and survives a reopen */
    e.sink = "s";
    e.sink_len = 1;
    e.msg_id = "m";
    e.msg_id_len = 1;
    e.created_ms = 1;
    e.body = "{}";
    e.body_len = 2;
    check(journal_append(j, &e, &seq) == JOURNAL_OK);
    check(seq > res->max_seq && seq > x.max_seq);
    /* and a newer position after it, in the same sync */
    gen = journal_position(j, NULL, NULL);
    if (gen >= 2) /* an older generation is refused */
        check(journal_put_position(j, gen - 1, "old", 3) == JOURNAL_EINVAL);
    gen++;
    check(journal_put_position(j, gen, "fz", 2) == JOURNAL_OK);
    check(journal_sync(j) == JOURNAL_OK);
    pending = journal_pending_count(j);
    journal_close(j);

    j = journal_open(dir, NULL, &err);
    check(j != NULL);
    memset(&x, 0, sizeof(x));
    check(journal_foreach_pending(j, on_pending, &x) == JOURNAL_OK);
    check(x.max_seq == seq);
    check(journal_position(j, &pid, &plen) == gen && plen == 2 &&
          memcmp(pid, "fz", 2) == 0);
    /* a compaction keeps the pending entries and the position */
    check(journal_compact(j) == JOURNAL_OK);
    journal_close(j);
    j = journal_open(dir, NULL, &err);
    check(j != NULL);
    check(journal_pending_count(j) == pending);
    check(journal_position(j, &pid, &plen) == gen && plen == 2 &&
          memcmp(pid, "fz", 2) == 0);
    journal_close(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct builder b;
    struct journal_record_scan_result res;
    struct reader r;

    if (size == 0)
        return 0;
    if (data[0] % 2 == 0) {
        scan_checked(data + 1, size - 1, NULL);
        return 0;
    }
    r.p = data + 1;
    r.left = size - 1;
    build(&b, &r);
    scan_checked(b.img, b.len, &res);
    if (!b.damaged) {
        check(res.corrupt == 0 && res.valid_end == b.len);
    }
    file_roundtrip(&b, &res);
    return 0;
}
