/*
 * journal_record.c - the journal's records as bytes (format in
 * journal_record.h).
 *
 * Pure: works on caller-owned byte buffers, never allocates, never does
 * I/O, so the scanner the file layer uses at open is exactly what the
 * fuzzer exercises.  Invariants: a length read from a header is used only
 * after the header's CRC matched and the length was checked against
 * JOURNAL_RECORD_MAX_PAYLOAD; no read goes past `len`.
 */
#include "alerts/journal_record.h"

#include <string.h>

#define HDR JOURNAL_RECORD_HEADER_SIZE
#define TRL JOURNAL_RECORD_TRAILER_SIZE
#define ACK_PAYLOAD 9
#define CHECKPOINT_PAYLOAD 8
#define ENQ_FIXED (8 + 1 + 1 + 4) /* payload bytes besides the strings */
#define POS_FIXED (8 + 2)         /* generation, id length */

static const unsigned char magic[4] = { 'T', 'W', 'J', 0x01 };

/* ---- bytes and CRC32C --------------------------------------------------- */

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* CRC32C (reflected polynomial 0x82F63B78), four bits at a time: entry i
 * is the CRC register after shifting the 4-bit value i through. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x105ec76fu, 0x20bd8edeu, 0x30e349b1u,
    0x417b1dbcu, 0x5125dad3u, 0x61c69362u, 0x7198540du,
    0x82f63b78u, 0x92a8fc17u, 0xa24bb5a6u, 0xb21572c9u,
    0xc38d26c4u, 0xd3d3e1abu, 0xe330a81au, 0xf36e6f75u,
};

uint32_t journal_record_crc32c(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;

    crc = ~crc;
    while (n-- > 0) {
        crc ^= *b++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

/* ---- encoding ----------------------------------------------------------- */

int journal_record_entry_check(const struct journal_record_entry *e)
{
    if (e == NULL || (e->sink == NULL && e->sink_len > 0) ||
        (e->msg_id == NULL && e->msg_id_len > 0) ||
        (e->body == NULL && e->body_len > 0))
        return JOURNAL_RECORD_EINVAL;
    if (e->sink_len > JOURNAL_RECORD_MAX_NAME ||
        e->msg_id_len > JOURNAL_RECORD_MAX_NAME ||
        e->body_len > JOURNAL_RECORD_MAX_BODY)
        return JOURNAL_RECORD_ETOOBIG;
    return JOURNAL_RECORD_EOK;
}

size_t journal_record_enqueue_size(const struct journal_record_entry *e)
{
    return HDR + ENQ_FIXED + e->sink_len + e->msg_id_len + e->body_len + TRL;
}

static void put_header(unsigned char *h, unsigned type, uint64_t seq,
                       uint32_t plen)
{
    memcpy(h, magic, 4);
    h[4] = (unsigned char)type;
    h[5] = h[6] = h[7] = 0;
    wr64(h + 8, seq);
    wr32(h + 16, plen);
    wr32(h + 20, journal_record_crc32c(0, h, 20));
}

static void put_trailer(unsigned char *rec, size_t plen)
{
    wr32(rec + HDR + plen, journal_record_crc32c(0, rec, HDR + plen));
}

int journal_record_encode_enqueue(void *out, size_t cap, uint64_t seq,
                                  const struct journal_record_entry *e,
                                  size_t *n)
{
    unsigned char *rec = out, *p;
    size_t size, plen;
    int rc = journal_record_entry_check(e);

    if (rc != JOURNAL_RECORD_EOK)
        goto out;
    if (out == NULL || seq == 0 || seq > JOURNAL_RECORD_SEQ_MAX) {
        rc = JOURNAL_RECORD_EINVAL;
        goto out;
    }
    size = journal_record_enqueue_size(e);
    if (cap < size) {
        rc = JOURNAL_RECORD_ENOBUFS;
        goto out;
    }
    plen = size - HDR - TRL;
    put_header(rec, JOURNAL_RECORD_ENQUEUE, seq, (uint32_t)plen);
    p = rec + HDR;
    wr64(p, (uint64_t)e->created_ms);
    p += 8;
    *p++ = (unsigned char)e->sink_len;
    if (e->sink_len > 0)
        memcpy(p, e->sink, e->sink_len);
    p += e->sink_len;
    *p++ = (unsigned char)e->msg_id_len;
    if (e->msg_id_len > 0)
        memcpy(p, e->msg_id, e->msg_id_len);
    p += e->msg_id_len;
    wr32(p, (uint32_t)e->body_len);
    p += 4;
    if (e->body_len > 0)
        memcpy(p, e->body, e->body_len);
    put_trailer(rec, plen);
    if (n != NULL)
        *n = size;
out:
    return rc;
}

int journal_record_encode_ack(void *out, size_t cap, uint64_t seq,
                              uint64_t acked_seq,
                              enum journal_record_outcome outcome, size_t *n)
{
    unsigned char *rec = out;

    if (out == NULL || seq == 0 || seq > JOURNAL_RECORD_SEQ_MAX ||
        acked_seq == 0 || acked_seq > JOURNAL_RECORD_SEQ_MAX ||
        (outcome != JOURNAL_RECORD_DELIVERED &&
         outcome != JOURNAL_RECORD_DEAD_LETTERED))
        return JOURNAL_RECORD_EINVAL;
    if (cap < HDR + ACK_PAYLOAD + TRL)
        return JOURNAL_RECORD_ENOBUFS;
    put_header(rec, JOURNAL_RECORD_ACK, seq, ACK_PAYLOAD);
    wr64(rec + HDR, acked_seq);
    rec[HDR + 8] = (unsigned char)outcome;
    put_trailer(rec, ACK_PAYLOAD);
    if (n != NULL)
        *n = HDR + ACK_PAYLOAD + TRL;
    return JOURNAL_RECORD_EOK;
}

int journal_record_encode_checkpoint(void *out, size_t cap, uint64_t next_seq,
                                     size_t *n)
{
    unsigned char *rec = out;

    if (out == NULL || next_seq == 0 || next_seq > JOURNAL_RECORD_SEQ_MAX + 1)
        return JOURNAL_RECORD_EINVAL;
    if (cap < HDR + CHECKPOINT_PAYLOAD + TRL)
        return JOURNAL_RECORD_ENOBUFS;
    put_header(rec, JOURNAL_RECORD_CHECKPOINT, 0, CHECKPOINT_PAYLOAD);
    wr64(rec + HDR, next_seq);
    put_trailer(rec, CHECKPOINT_PAYLOAD);
    if (n != NULL)
        *n = HDR + CHECKPOINT_PAYLOAD + TRL;
    return JOURNAL_RECORD_EOK;
}

size_t journal_record_position_size(size_t id_len)
{
    return HDR + POS_FIXED + id_len + TRL;
}

int journal_record_encode_position(void *out, size_t cap, uint64_t gen,
                                   const char *id, size_t len, size_t *n)
{
    return journal_record_encode_position_mark(out, cap, gen, id, len, NULL,
                                               n);
}

int journal_record_encode_position_mark(void *out, size_t cap, uint64_t gen,
                                        const char *id, size_t len,
                                        const struct journal_mark *mark,
                                        size_t *n)
{
    unsigned char *rec = out;
    size_t size, mk = mark != NULL && mark->seq > 0
                          ? JOURNAL_RECORD_MARK_SIZE
                          : 0;

    if (out == NULL || gen == 0 || gen > JOURNAL_RECORD_GEN_MAX ||
        (id == NULL && len > 0))
        return JOURNAL_RECORD_EINVAL;
    if (len > JOURNAL_RECORD_MAX_POSITION)
        return JOURNAL_RECORD_ETOOBIG;
    size = journal_record_position_size(len) + mk;
    if (cap < size)
        return JOURNAL_RECORD_ENOBUFS;
    put_header(rec, JOURNAL_RECORD_POSITION, 0,
               (uint32_t)(POS_FIXED + len + mk));
    wr64(rec + HDR, gen);
    rec[HDR + 8] = (unsigned char)(len & 0xff);
    rec[HDR + 9] = (unsigned char)(len >> 8);
    if (len > 0)
        memcpy(rec + HDR + POS_FIXED, id, len);
    if (mk > 0) {
        wr64(rec + HDR + POS_FIXED + len, mark->seq);
        wr64(rec + HDR + POS_FIXED + len + 8, (uint64_t)mark->made_ms);
    }
    put_trailer(rec, POS_FIXED + len + mk);
    if (n != NULL)
        *n = size;
    return JOURNAL_RECORD_EOK;
}

/* ---- scanning ----------------------------------------------------------- */

/* A header that can be trusted: magic, CRC, and a length in bounds. */
static int header_ok(const unsigned char *h)
{
    return memcmp(h, magic, 4) == 0 &&
           rd32(h + 20) == journal_record_crc32c(0, h, 20) &&
           rd32(h + 16) <= JOURNAL_RECORD_MAX_PAYLOAD;
}

static size_t next_header(const unsigned char *b, size_t from, size_t len)
{
    size_t p = from;

    while (p + HDR <= len) {
        const unsigned char *hit = memchr(b + p, magic[0], len - HDR + 1 - p);
        if (hit == NULL)
            break;
        p = (size_t)(hit - b);
        if (header_ok(hit))
            return p;
        p++;
    }
    return SIZE_MAX;
}

static int seq_ok(uint64_t s)
{
    return s >= 1 && s <= JOURNAL_RECORD_SEQ_MAX;
}

/* Decode a CRC-checked record's contents.  0: not a valid record. */
static int decode(const unsigned char *rec, size_t plen,
                  struct journal_record *r)
{
    const unsigned char *pl = rec + HDR;
    size_t p = 0, sl, il, bl;

    memset(r, 0, sizeof(*r));
    if (rec[5] != 0 || rec[6] != 0 || rec[7] != 0)
        return 0;
    r->seq = rd64(rec + 8);
    switch (rec[4]) {
    case JOURNAL_RECORD_ENQUEUE:
        if (!seq_ok(r->seq) || plen < ENQ_FIXED)
            return 0;
        r->type = JOURNAL_RECORD_ENQUEUE;
        r->entry.created_ms = (int64_t)rd64(pl);
        p = 8;
        sl = pl[p++];
        if (plen - p < sl + 1)
            return 0;
        r->entry.sink = (const char *)pl + p;
        r->entry.sink_len = sl;
        p += sl;
        il = pl[p++];
        if (plen - p < il + 4)
            return 0;
        r->entry.msg_id = (const char *)pl + p;
        r->entry.msg_id_len = il;
        p += il;
        bl = rd32(pl + p);
        p += 4;
        if (bl > JOURNAL_RECORD_MAX_BODY || plen - p != bl)
            return 0;
        r->entry.body = (const char *)pl + p;
        r->entry.body_len = bl;
        return 1;
    case JOURNAL_RECORD_ACK:
        if (!seq_ok(r->seq) || plen != ACK_PAYLOAD)
            return 0;
        r->type = JOURNAL_RECORD_ACK;
        r->acked_seq = rd64(pl);
        r->outcome = (enum journal_record_outcome)pl[8];
        return seq_ok(r->acked_seq) && (pl[8] == JOURNAL_RECORD_DELIVERED ||
                                        pl[8] == JOURNAL_RECORD_DEAD_LETTERED);
    case JOURNAL_RECORD_CHECKPOINT:
        if (r->seq != 0 || plen != CHECKPOINT_PAYLOAD)
            return 0;
        r->type = JOURNAL_RECORD_CHECKPOINT;
        r->next_seq = rd64(pl);
        return r->next_seq >= 1 && r->next_seq <= JOURNAL_RECORD_SEQ_MAX + 1;
    case JOURNAL_RECORD_POSITION:
        if (r->seq != 0 || plen < POS_FIXED)
            return 0;
        r->type = JOURNAL_RECORD_POSITION;
        r->gen = rd64(pl);
        il = (size_t)pl[8] | ((size_t)pl[9] << 8);
        if (il > JOURNAL_RECORD_MAX_POSITION ||
            (plen - POS_FIXED != il &&
             plen - POS_FIXED != il + JOURNAL_RECORD_MARK_SIZE))
            return 0;
        r->pos_id = (const char *)pl + POS_FIXED;
        r->pos_id_len = il;
        if (plen - POS_FIXED > il) {
            r->mark.seq = rd64(pl + POS_FIXED + il);
            r->mark.made_ms = (int64_t)rd64(pl + POS_FIXED + il + 8);
            if (r->mark.seq == 0)
                return 0;
        }
        return r->gen >= 1 && r->gen <= JOURNAL_RECORD_GEN_MAX;
    default:
        return 0;
    }
}

int journal_record_scan(const void *data, size_t len, journal_record_fn fn,
                        void *ud, struct journal_record_scan_result *res)
{
    const unsigned char *b = data;
    struct journal_record_scan_result r;
    size_t off = 0;
    uint64_t skipped = 0; /* damage not yet followed by an intact record */
    int damaged = 0;      /* damage since the last record passed to fn */
    int rc = JOURNAL_RECORD_EOK;

    memset(&r, 0, sizeof(r));
    if (b == NULL)
        len = 0;
    while (off < len && rc == JOURNAL_RECORD_EOK) {
        struct journal_record rec;
        size_t plen, size;

        if (len - off < HDR)
            break; /* torn header */
        if (!header_ok(b + off)) {
            size_t p = next_header(b, off + 1, len);
            if (p == SIZE_MAX)
                break; /* garbage to the end */
            skipped++;
            off = p;
            continue;
        }
        plen = rd32(b + off + 16);
        size = HDR + plen + TRL;
        if (len - off < size)
            break; /* torn record */
        if (rd32(b + off + HDR + plen) !=
            journal_record_crc32c(0, b + off, HDR + plen)) {
            if (off + size == len)
                break; /* a bad last record is a torn one */
            skipped++;
            off += size;
            continue;
        }
        /* damage followed by an intact record was in the middle */
        r.corrupt += skipped;
        damaged |= skipped > 0;
        skipped = 0;
        if (decode(b + off, plen, &rec)) {
            rec.offset = off;
            rec.size = size;
            rec.after_damage = damaged;
            damaged = 0;
            if (rec.type == JOURNAL_RECORD_CHECKPOINT) {
                if (rec.next_seq - 1 > r.max_seq)
                    r.max_seq = rec.next_seq - 1;
            } else if (rec.seq > r.max_seq) {
                r.max_seq = rec.seq;
            }
            r.records++;
            if (fn != NULL)
                rc = fn(ud, &rec);
        } else {
            r.corrupt++;
        }
        off += size;
        r.valid_end = off;
    }
    if (res != NULL)
        *res = r;
    return rc;
}

const char *journal_record_strerror(int rc)
{
    switch (rc) {
    case JOURNAL_RECORD_EOK: return "ok";
    case JOURNAL_RECORD_EINVAL: return "invalid journal record argument";
    case JOURNAL_RECORD_ETOOBIG: return "journal entry too large";
    case JOURNAL_RECORD_ENOBUFS: return "record buffer too small";
    default: return "unknown journal record error";
    }
}
