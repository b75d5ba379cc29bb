/*
 * checkpoint.c - the engine's detection state as bytes and back, and the
 * checkpoint file (see checkpoint.h for the format and its bounds).
 *
 * Invariants:
 *   - the encoder writes only through ckpt_put_* into a buf with a cap:
 *     a state over the cap fails (CKPT_ETOOBIG), it never grows past it;
 *   - the decoder reads only through a ckpt_reader, which never reads
 *     past its bytes; every length and count is checked against its bound
 *     and the bytes left before it is used, every value against what the
 *     engine could have written, before anything is kept;
 *   - what the decoder keeps goes into a new engine's tables through the
 *     same calls the engine uses (det_keys_get, det_keys_pin, the kind's
 *     reset), so the tables' invariants (keys.h) hold whatever the bytes
 *     say; a refused checkpoint leaves an engine that is only destroyed;
 *   - pure except the file shell at the end (ckpt_file_*): no clock, no
 *     log, no allocation but the output buffer's.
 */
#include "detectors/checkpoint.h"

#include "base/file.h"
#include "detectors/dedupe.h"
#include "detectors/engine.h"
#include "detectors/hash.h"
#include "detectors/kind.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>

static const unsigned char magic[4] = {'T', 'W', 'C', 'K'};

/* ---- appenders ---------------------------------------------------------- */

/* v as n little-endian bytes at p. */
static void le_store(unsigned char *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int put_le(buf *out, uint64_t v, unsigned n)
{
    unsigned char b[8];

    le_store(b, v, n);
    return buf_append(out, b, n) == BUF_OK ? 0 : -1;
}

int ckpt_put_u8(buf *out, unsigned v)
{
    return put_le(out, v, 1);
}

int ckpt_put_u16(buf *out, unsigned v)
{
    return put_le(out, v, 2);
}

int ckpt_put_u32(buf *out, uint32_t v)
{
    return put_le(out, v, 4);
}

int ckpt_put_u64(buf *out, uint64_t v)
{
    return put_le(out, v, 8);
}

int ckpt_put_i64(buf *out, int64_t v)
{
    return put_le(out, (uint64_t)v, 8);
}

int ckpt_put_f64(buf *out, double v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof u);
    return put_le(out, u, 8);
}

int ckpt_put_f64s(buf *out, const double *v, size_t n)
{
    unsigned char b[512];
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t u;

        memcpy(&u, &v[i], sizeof u);
        le_store(b + k, u, 8);
        k += 8;
        if (k == sizeof b || i + 1 == n) {
            if (buf_append(out, b, k) != BUF_OK)
                return -1;
            k = 0;
        }
    }
    return 0;
}

int ckpt_put_str(buf *out, const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    if (n > 0xffff)
        return -1;
    return ckpt_put_u16(out, (unsigned)n) == 0 &&
                   buf_append(out, s, n) == BUF_OK
               ? 0
               : -1;
}

/* ---- the reader --------------------------------------------------------- */

void ckpt_reader_init(struct ckpt_reader *rd, const void *p, size_t n)
{
    rd->p = p;
    rd->n = n;
    rd->off = 0;
    rd->bad = 0;
}

const unsigned char *ckpt_get_bytes(struct ckpt_reader *rd, size_t n)
{
    const unsigned char *q;

    if (rd->bad || n > rd->n - rd->off) {
        rd->bad = 1;
        return NULL;
    }
    q = rd->p + rd->off;
    rd->off += n;
    return q;
}

static uint64_t get_le(struct ckpt_reader *rd, unsigned n)
{
    const unsigned char *q = ckpt_get_bytes(rd, n);
    uint64_t v = 0;

    for (unsigned i = 0; q != NULL && i < n; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}

unsigned ckpt_get_u8(struct ckpt_reader *rd)
{
    return (unsigned)get_le(rd, 1);
}

unsigned ckpt_get_u16(struct ckpt_reader *rd)
{
    return (unsigned)get_le(rd, 2);
}

uint32_t ckpt_get_u32(struct ckpt_reader *rd)
{
    return (uint32_t)get_le(rd, 4);
}

uint64_t ckpt_get_u64(struct ckpt_reader *rd)
{
    return get_le(rd, 8);
}

int64_t ckpt_get_i64(struct ckpt_reader *rd)
{
    return (int64_t)get_le(rd, 8);
}

double ckpt_get_f64(struct ckpt_reader *rd)
{
    uint64_t u = get_le(rd, 8);
    double d;

    memcpy(&d, &u, sizeof d);
    return d;
}

void ckpt_get_str(struct ckpt_reader *rd, char *out, size_t size)
{
    size_t n = ckpt_get_u16(rd);
    const unsigned char *q;

    out[0] = '\0';
    if (!ckpt_check(rd, n < size))
        return;
    q = ckpt_get_bytes(rd, n);
    if (q == NULL || !ckpt_check(rd, memchr(q, '\0', n) == NULL))
        return;
    memcpy(out, q, n);
    out[n] = '\0';
}

int ckpt_check(struct ckpt_reader *rd, int ok)
{
    if (!ok)
        rd->bad = 1;
    return ok;
}

int ckpt_reader_done(const struct ckpt_reader *rd)
{
    return !rd->bad && rd->off == rd->n;
}

int ckpt_time_ok(int64_t t, int none_ok)
{
    if (t == INT64_MIN)
        return none_ok;
    return t > -CKPT_TIME_LIMIT && t < CKPT_TIME_LIMIT;
}

/* ---- the frame ---------------------------------------------------------- */

/* The digest of the frame's first 16 bytes and the payload. */
static void frame_digest(const unsigned char *head, const unsigned char *pl,
                         size_t n, unsigned char out[32])
{
    crypto_generichash_state h;

    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, head, 16);
    crypto_generichash_update(&h, pl, n);
    crypto_generichash_final(&h, out, 32);
}

/* Check the frame of p[0..n): returns CKPT_OK with the payload's reader
 * in *rd, CKPT_EINVAL or CKPT_EVERSION (*version set when known). */
static int frame_open(const void *p, size_t n, struct ckpt_reader *rd,
                      uint32_t *version)
{
    struct ckpt_reader h;
    unsigned char want[32];
    const unsigned char *b = p, *dig;
    uint64_t len;

    *version = 0;
    if (p == NULL || n < CKPT_HEADER_SIZE || memcmp(b, magic, 4) != 0)
        return CKPT_EINVAL;
    ckpt_reader_init(&h, b + 4, 12);
    *version = ckpt_get_u32(&h);
    len = ckpt_get_u64(&h);
    if (*version != CKPT_VERSION)
        return CKPT_EVERSION;
    if (len != n - CKPT_HEADER_SIZE)
        return CKPT_EINVAL; /* truncated, or something after it */
    dig = b + 16;
    frame_digest(b, b + CKPT_HEADER_SIZE, (size_t)len, want);
    if (sodium_memcmp(want, dig, 32) != 0)
        return CKPT_EINVAL;
    ckpt_reader_init(rd, b + CKPT_HEADER_SIZE, (size_t)len);
    return CKPT_OK;
}

/* The fields before the rules (peek and decode read them alike). */
static void read_head(struct ckpt_reader *rd, struct ckpt_info *ck)
{
    const unsigned char *q;

    ckpt_get_str(rd, ck->instance, sizeof ck->instance);
    ck->position_len = ckpt_get_u16(rd);
    if (ckpt_check(rd, ck->position_len <= CKPT_POSITION_MAX) &&
        (q = ckpt_get_bytes(rd, ck->position_len)) != NULL) {
        memcpy(ck->position, q, ck->position_len);
        ck->position[ck->position_len] = '\0';
    }
    ck->now_ms = ckpt_get_i64(rd);
    ck->seq = ckpt_get_u64(rd);
    ck->written_ms = ckpt_get_i64(rd);
    ckpt_check(rd, ckpt_time_ok(ck->now_ms, 1));
}

int ckpt_peek(const void *p, size_t n, struct ckpt_info *out)
{
    struct ckpt_reader rd;
    int rc;

    memset(out, 0, sizeof *out);
    rc = frame_open(p, n, &rd, &out->version);
    if (rc != CKPT_OK)
        return rc;
    read_head(&rd, out);
    return rd.bad ? CKPT_EINVAL : CKPT_OK;
}

/* ---- encoding ----------------------------------------------------------- */

/* Patch a u32 / u64 at byte `at` of out (reserved by a put). */
static void patch_le(buf *out, size_t at, uint64_t v, unsigned n)
{
    le_store((unsigned char *)out->data + at, v, n);
}

/* Does group s of r need its alert record in the checkpoint? */
static int keeps_alert(const struct det_rule *r, uint32_t s)
{
    return r->keys.slot[s].state != DET_ST_IDLE || s == r->fixed_slot ||
           (r->kind->flags & DET_KF_KEEP);
}

/* The alert record to write for group s: its own, or, for a group whose
 * kind keeps its values itself (recall), one made from them (the group's
 * own record is not touched: 1.3 KB a group).  Valid until the next
 * call. */
static const struct det_alert *record_of(const struct det_rule *r,
                                         uint32_t s)
{
    static _Thread_local struct det_alert tmp;

    if (r->kind->recall == NULL || s == r->fixed_slot ||
        r->keys.slot[s].state != DET_ST_IDLE)
        return &r->alert[s];
    memset(&tmp, 0, sizeof tmp);
    r->kind->recall(r, s, &tmp);
    return &tmp;
}

static int put_alert(buf *out, const struct det_alert *a)
{
    const struct alert_sample *sm = &a->sample;
    size_t vlen = 0, idlen = strnlen(a->id, ALERT_ID_HEX);

    for (uint32_t i = 0; i < a->nvals && i < ALERT_GROUP_MAX; i++)
        vlen += strnlen(a->vals + vlen, DET_VALUES_MAX - vlen) + 1;
    if (vlen > DET_VALUES_MAX)
        vlen = DET_VALUES_MAX;
    return ckpt_put_i64(out, a->started_ms) || ckpt_put_i64(out, a->last_sent_ms) ||
           ckpt_put_i64(out, a->clear_since_ms) || ckpt_put_f64(out, a->value) ||
           ckpt_put_f64(out, a->aux[0]) || ckpt_put_f64(out, a->aux[1]) ||
           ckpt_put_u8(out, (unsigned)idlen) ||
           buf_append(out, a->id, idlen) != BUF_OK ||
           ckpt_put_u8(out, a->nvals) || ckpt_put_u16(out, (unsigned)vlen) ||
           buf_append(out, a->vals, vlen) != BUF_OK ||
           ckpt_put_str(out, a->text, sizeof a->text) ||
           ckpt_put_str(out, sm->record_id, sizeof sm->record_id) ||
           ckpt_put_str(out, sm->session_id, sizeof sm->session_id) ||
           ckpt_put_str(out, sm->agent_id, sizeof sm->agent_id) ||
           ckpt_put_str(out, sm->tool_name, sizeof sm->tool_name) ||
           ckpt_put_str(out, sm->error_code, sizeof sm->error_code) ||
           ckpt_put_u8(out, (unsigned)sm->event_type)
               ? -1
               : 0;
}

/* Is group s of r written at all?  Not a muted group, nor an idle one of a
 * kind that keeps nothing: its next event makes it again as it was. */
static int group_written(const struct det_rule *r, uint32_t s)
{
    const struct det_slot *x = &r->keys.slot[s];

    return !(x->spare & DET_G_MUTED) &&
           (r->kind->save != NULL || x->state != DET_ST_IDLE ||
            s == r->fixed_slot);
}

static int put_group(buf *out, const struct det_rule *r, uint32_t s)
{
    const struct det_slot *x = &r->keys.slot[s];
    unsigned flags = (x->spare & DET_G_ALERT ? CKPT_G_EXTRA : 0) |
                     (s == r->keys.ovf ? CKPT_G_OVERFLOW : 0) |
                     (x->pinned ? CKPT_G_PINNED : 0) |
                     (r->thr != NULL ? CKPT_G_THR : 0) |
                     (keeps_alert(r, s) ? CKPT_G_ALERT : 0);
    unsigned char h[26]; /* h0, h1, flags, state[, threshold]: one append */
    size_t n = 18, at;
    uint64_t t;
    int rc = -1;

    le_store(h, x->h0, 8);
    le_store(h + 8, x->h1, 8);
    h[16] = (unsigned char)flags;
    h[17] = x->state;
    if (flags & CKPT_G_THR) {
        memcpy(&t, &r->thr[s], sizeof t);
        le_store(h + 18, t, 8);
        n = 26;
    }
    if (buf_append(out, h, n) != BUF_OK ||
        ((flags & CKPT_G_ALERT) && put_alert(out, record_of(r, s))))
        goto out;
    at = out->len;
    if (ckpt_put_u32(out, 0) ||
        (r->kind->save != NULL && r->kind->save(r, s, out) != 0))
        goto out;
    patch_le(out, at, out->len - at - 4, 4);
    rc = 0;
out:
    return rc;
}

/* Group s, when it is written. */
static int put_one(buf *out, const struct det_rule *r, uint32_t s,
                   uint32_t *count)
{
    if (!group_written(r, s))
        return 0;
    (*count)++;
    return put_group(out, r, s);
}

/* The written groups: the unpinned from the least to the most recently
 * seen (a restore that creates them in this order has their LRU order),
 * then the pinned list. */
static int put_groups(buf *out, const struct det_rule *r, uint32_t *count)
{
    uint32_t cur = 0, s;
    int rc = 0;

    while (rc == 0 && (s = det_keys_lru_walk(&r->keys, &cur)) != DET_NIL)
        rc = put_one(out, r, s, count);
    for (s = r->keys.pin_head; s != DET_NIL && rc == 0;
         s = r->keys.slot[s].next)
        rc = put_one(out, r, s, count);
    return rc;
}

static int put_rule(buf *out, const struct det_rule *r)
{
    size_t nlen = strlen(r->rule->name), len_at;
    uint32_t count = 0;
    int rc = -1;

    if (ckpt_put_u8(out, (unsigned)nlen) ||
        buf_append(out, r->rule->name, nlen) != BUF_OK ||
        buf_append(out, r->fp, sizeof r->fp) != BUF_OK ||
        ckpt_put_u8(out, (unsigned)r->rule->kind))
        goto out;
    len_at = out->len; /* the body's length, then its count: patched */
    if (ckpt_put_u64(out, 0) || ckpt_put_u32(out, 0) ||
        put_groups(out, r, &count) != 0 ||
        /* the capacity warning and the overflow group's count */
        ckpt_put_u8(out, (unsigned)r->cap_open) ||
        ckpt_put_i64(out, r->cap_open ? r->cap_started_ms : 0) ||
        ckpt_put_u64(out, r->ovf_events))
        goto out;
    patch_le(out, len_at + 8, count, 4);
    patch_le(out, len_at, out->len - len_at - 8, 8);
    rc = 0;
out:
    return rc;
}

int ckpt_encode(const struct ckpt_engine *e, const char *position,
                size_t len, int64_t wall_ms, buf *out)
{
    const det_dedupe *dd = e->dd;
    size_t start = out->len;
    unsigned char dig[32];
    int rc = CKPT_ETOOBIG;

    memset(dig, 0, sizeof dig);
    if (len > CKPT_POSITION_MAX || (position == NULL && len > 0))
        return CKPT_EINVAL;
    if (buf_append(out, magic, sizeof magic) != BUF_OK ||
        ckpt_put_u32(out, CKPT_VERSION) || ckpt_put_u64(out, 0) ||
        buf_append(out, dig, sizeof dig) != BUF_OK) /* patched below */
        goto out;
    if (ckpt_put_str(out, e->source, CKPT_INSTANCE_MAX - 1) ||
        ckpt_put_u16(out, (unsigned)len) ||
        (len > 0 && buf_append(out, position, len) != BUF_OK) ||
        ckpt_put_i64(out, *e->now_ms) || ckpt_put_u64(out, *e->seq) ||
        ckpt_put_i64(out, wall_ms) ||
        buf_append(out, e->hkey, DET_HASH_KEY_BYTES) != BUF_OK ||
        ckpt_put_u32(out, dd->n > 0 ? dd->count : 0))
        goto out;
    for (uint32_t i = 0; dd->n > 0 && i < dd->count; i++)
        if (ckpt_put_u64(out, det_dedupe_nth(dd, i)))
            goto out;
    if (ckpt_put_u32(out, e->n))
        goto out;
    for (uint32_t i = 0; i < e->n; i++)
        if (put_rule(out, &e->r[i]) != 0)
            goto out;
    patch_le(out, start + 8, out->len - start - CKPT_HEADER_SIZE, 8);
    frame_digest((const unsigned char *)out->data + start,
                 (const unsigned char *)out->data + start + CKPT_HEADER_SIZE,
                 out->len - start - CKPT_HEADER_SIZE, dig);
    memcpy(out->data + start + 16, dig, sizeof dig);
    rc = CKPT_OK;
out:
    return rc;
}

/* ---- decoding ----------------------------------------------------------- */

/* Is id[0..n) an episode id (lower-case hex)? */
static int hex_id(const unsigned char *id, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return n == ALERT_ID_HEX;
}

/* Are v[0..n) exactly `nvals` NUL-terminated values, each as long as the
 * engine keeps one? */
static int values_ok(const unsigned char *v, size_t n, uint32_t nvals)
{
    uint32_t k = 0;
    size_t from = 0;

    if (nvals == 0)
        return n == 0;
    if (n == 0 || v[n - 1] != '\0')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] == '\0') {
            if (i - from > EVENT_NAME_MAX - 1)
                return 0;
            from = i + 1;
            k++;
        }
    return k == nvals;
}

static void get_alert(struct ckpt_reader *rd, struct det_alert *a)
{
    struct alert_sample *sm = &a->sample;
    const unsigned char *q;
    size_t idlen, vlen;
    unsigned type;

    memset(a, 0, sizeof *a); /* overflow: set by the overflow group's reader */
    a->started_ms = ckpt_get_i64(rd);
    a->last_sent_ms = ckpt_get_i64(rd);
    a->clear_since_ms = ckpt_get_i64(rd);
    ckpt_check(rd, ckpt_time_ok(a->started_ms, 0) &&
                       ckpt_time_ok(a->last_sent_ms, 0) &&
                       ckpt_time_ok(a->clear_since_ms, 0));
    a->value = ckpt_get_f64(rd);
    a->aux[0] = ckpt_get_f64(rd);
    a->aux[1] = ckpt_get_f64(rd);
    idlen = ckpt_get_u8(rd);
    q = ckpt_get_bytes(rd, idlen);
    if (q != NULL && ckpt_check(rd, idlen == 0 || hex_id(q, idlen)))
        memcpy(a->id, q, idlen);
    a->nvals = ckpt_get_u8(rd);
    vlen = ckpt_get_u16(rd);
    if (!ckpt_check(rd, a->nvals <= ALERT_GROUP_MAX && vlen <= DET_VALUES_MAX))
        return;
    q = ckpt_get_bytes(rd, vlen);
    if (q != NULL && ckpt_check(rd, values_ok(q, vlen, a->nvals)))
        memcpy(a->vals, q, vlen);
    ckpt_get_str(rd, a->text, sizeof a->text);
    ckpt_get_str(rd, sm->record_id, sizeof sm->record_id);
    ckpt_get_str(rd, sm->session_id, sizeof sm->session_id);
    ckpt_get_str(rd, sm->agent_id, sizeof sm->agent_id);
    ckpt_get_str(rd, sm->tool_name, sizeof sm->tool_name);
    ckpt_get_str(rd, sm->error_code, sizeof sm->error_code);
    type = ckpt_get_u8(rd);
    if (ckpt_check(rd, type <= (unsigned)EVENT_SESSION_END))
        sm->event_type = (enum event_type)type;
}

/* The bytes a group's key hash is made of, from its alert record's
 * values (the engine keeps exactly those bytes there). */
static size_t values_len(const struct det_alert *a)
{
    size_t n = 0;

    for (uint32_t i = 0; i < a->nvals; i++)
        n += strlen(a->vals + n) + 1;
    return n;
}

/* Is t a threshold the rule gives a group (its own or an override's)? */
static int threshold_ok(const struct det_rule *r, double t)
{
    if (t == r->threshold)
        return 1;
    for (uint32_t i = 0; i < r->rule->noverrides; i++)
        if (r->rule->overrides[i].enabled &&
            t == r->rule->overrides[i].threshold)
            return 1;
    return 0;
}

/* A decoding in progress. */
struct dec {
    struct ckpt_reader rd;
    struct ckpt_engine *e;
    struct det_restore_info *out;
    int64_t now_ms;
};

/* Check a group's alert record against its rule and key. */
static int alert_ok(const struct dec *d, const struct det_rule *r,
                    uint32_t s, const struct det_alert *a, unsigned flags,
                    unsigned state, uint64_t h0, uint64_t h1)
{
    uint32_t want = r->rule->ngroup + ((flags & CKPT_G_EXTRA) ? 1 : 0);
    char id[ALERT_ID_HEX + 1];
    uint64_t h[2];

    if (s == r->fixed_slot) {
        if (a->nvals != 0 || h0 != 0 || h1 != 0)
            return 0;
    } else if (flags & CKPT_G_OVERFLOW) {
        /* no key: "(overflow)" for every field */
        static const char t[] = DET_OVERFLOW_TEXT;
        if (a->nvals != want || h0 != 0 || h1 != 0 ||
            values_len(a) != want * sizeof t)
            return 0;
        for (uint32_t i = 0; i < want; i++)
            if (memcmp(a->vals + i * sizeof t, t, sizeof t) != 0)
                return 0;
    } else {
        if (a->nvals != want)
            return 0;
        det_hash(d->e->hkey, a->vals, values_len(a), h);
        if (h[0] != h0 || h[1] != h1)
            return 0; /* not the values of this group */
    }
    if (state == DET_ST_IDLE)
        return 1;
    /* an open episode: its id is its rule's, values' and start's */
    det_episode_id(r, a, id);
    return memcmp(id, a->id, sizeof id) == 0 &&
           a->started_ms <= d->now_ms && a->last_sent_ms <= d->now_ms &&
           a->clear_since_ms <= d->now_ms;
}

/* Are a group's flags and state what the encoder writes for rule r? */
static int group_flags_ok(const struct det_rule *r, unsigned flags,
                          unsigned state)
{
    const unsigned known = CKPT_G_EXTRA | CKPT_G_PINNED | CKPT_G_THR |
                           CKPT_G_ALERT | CKPT_G_OVERFLOW;
    int open = state != DET_ST_IDLE, pinned = (flags & CKPT_G_PINNED) != 0;
    int ovf = (flags & CKPT_G_OVERFLOW) != 0;
    int keeps = open || (r->kind->flags & DET_KF_KEEP) ||
                r->fixed_slot != DET_NIL;

    return (flags & ~known) == 0 && state <= DET_ST_CLEARING &&
           ((flags & CKPT_G_THR) != 0) == (r->thr != NULL) &&
           ((flags & CKPT_G_ALERT) != 0) == keeps &&
           (!(flags & CKPT_G_EXTRA) || r->rule->kind == RULE_K_NEW_VALUE) &&
           /* the overflow group: of a kind that runs one, pinned */
           (!ovf || (r->ovf_ok && pinned && !(flags & CKPT_G_EXTRA))) &&
           /* an open episode is pinned; pinned while idle: only an
            * absence group between its alert and its next event, the
            * absence [] group, or the overflow group */
           (!open || pinned) &&
           (!pinned || open || ovf || (r->kind->flags & DET_KF_ABSENCE)) &&
           /* a kind that keeps nothing: its open episodes only */
           (r->kind->save != NULL || open || r->fixed_slot != DET_NIL);
}

/* The group (h0, h1) of rule r, made for a checkpoint's group: a new
 * slot, or the absence [] group's own.  DET_NIL when refused. */
static uint32_t group_slot(struct det_rule *r, uint64_t h0, uint64_t h1,
                           unsigned flags)
{
    int created;
    uint32_t s;

    if (flags & CKPT_G_OVERFLOW) { /* one, made here */
        s = det_keys_overflow(&r->keys, &created);
        if (s != DET_NIL && created)
            r->keys.slot[s].spare = DET_G_OVERFLOW;
        return s != DET_NIL && created ? s : DET_NIL;
    }
    /* no more ordinary groups than the table holds (the overflow group is
     * the one past max_keys: a file with more is refused, never loaded by
     * evicting the groups read before; a rule with one fixed group has
     * it from the start) */
    if (r->fixed_slot == DET_NIL && det_keys_groups(&r->keys) >= r->keys.cap)
        return DET_NIL;
    s = det_keys_get(&r->keys, h0, h1, &created);
    if (r->fixed_slot != DET_NIL) /* its one group, there from the start */
        return s == r->fixed_slot && !created && (flags & CKPT_G_PINNED)
                   ? s
                   : DET_NIL;
    /* not twice the same group, nor more than the table */
    return s != DET_NIL && created ? s : DET_NIL;
}

/* One group into rule r.  Returns 0, or -1 (refused: rd.bad set). */
static int get_group(struct dec *d, struct det_rule *r)
{
    struct ckpt_reader *rd = &d->rd;
    uint64_t h0 = ckpt_get_u64(rd), h1 = ckpt_get_u64(rd);
    unsigned flags = ckpt_get_u8(rd), state = ckpt_get_u8(rd);
    const unsigned char *ks;
    static _Thread_local struct det_alert tmp;
    struct det_alert *rec = NULL;
    double thr = NAN;
    uint32_t s, klen;
    int rc = -1;

    if (!ckpt_check(rd, group_flags_ok(r, flags, state)))
        goto out;
    if (flags & CKPT_G_THR) {
        thr = ckpt_get_f64(rd);
        if (!ckpt_check(rd, threshold_ok(r, thr)))
            goto out;
    }
    if (rd->bad ||
        !ckpt_check(rd, (s = group_slot(r, h0, h1, flags)) != DET_NIL))
        goto out;
    if (flags & CKPT_G_EXTRA)
        r->keys.slot[s].spare = DET_G_ALERT;
    if (r->thr != NULL)
        r->thr[s] = thr;
    if (!(flags & CKPT_G_EXTRA))
        r->kind->reset(r, s); /* an alert group has no state of its own */
    if (flags & CKPT_G_ALERT) {
        /* a group whose kind keeps its values itself takes them from the
         * record (retain), and a record only for an open episode */
        rec = r->kind->retain != NULL && s != r->fixed_slot ? &tmp
                                                            : &r->alert[s];
        get_alert(rd, rec);
        rec->overflow = (flags & CKPT_G_OVERFLOW) != 0;
        if (rd->bad ||
            !ckpt_check(rd, alert_ok(d, r, s, rec, flags, state, h0, h1)))
            goto out;
        if (rec == &tmp) {
            if (state != DET_ST_IDLE)
                r->alert[s] = tmp;
            r->kind->retain(r, s, &tmp);
        }
    }
    klen = ckpt_get_u32(rd);
    if (!ckpt_check(rd, klen == 0 || (r->kind->save != NULL &&
                                      klen <= r->kind->checkpoint_bytes(r))) ||
        (ks = ckpt_get_bytes(rd, klen)) == NULL)
        goto out;
    if (klen > 0 && r->kind->load(r, s, ks, klen) != 0) {
        /* its own state refused: start it fresh, keeping its record (a
         * kind's reset may clear it: absence []) and the values it keeps */
        if (rec == &r->alert[s])
            tmp = r->alert[s];
        r->kind->reset(r, s);
        if (rec == &r->alert[s])
            r->alert[s] = tmp;
        else if (rec == &tmp)
            r->kind->retain(r, s, &tmp);
        d->out->groups_reset++;
    }
    if (flags & CKPT_G_PINNED)
        det_keys_pin(&r->keys, s);
    r->keys.slot[s].state = (uint8_t)state;
    if (state != DET_ST_IDLE) {
        r->nopen++;
        d->out->episodes++;
    }
    d->out->groups++;
    rc = 0;
out:
    return rc;
}

/* The rule of e a checkpoint's rule continues (same name, fingerprint and
 * kind, not taken yet), or NULL. */
static struct det_rule *rule_for(struct ckpt_engine *e, const char *name,
                                 const unsigned char *fp, unsigned kind,
                                 const unsigned char *taken)
{
    for (uint32_t i = 0; i < e->n; i++) {
        struct det_rule *r = &e->r[i];

        if (!taken[i] && strcmp(r->rule->name, name) == 0 &&
            memcmp(r->fp, fp, sizeof r->fp) == 0 &&
            (unsigned)r->rule->kind == kind)
            return r;
    }
    return NULL;
}

/* The rule's capacity warning and its overflow group's count, after its
 * groups: a warning open since a time the clock has seen (it resolves at
 * the rule's next event or timer if the rule has room); a count only with
 * an overflow group. */
static void get_capacity(struct dec *d, struct det_rule *r)
{
    struct ckpt_reader *rd = &d->rd;
    unsigned open = ckpt_get_u8(rd);
    int64_t started = ckpt_get_i64(rd);
    uint64_t events = ckpt_get_u64(rd);
    const char *v[1];

    if (rd->bad ||
        !ckpt_check(rd, open <= 1 &&
                            (open ? started >= -CKPT_TIME_LIMIT &&
                                        started <= d->now_ms
                                  : started == 0) &&
                            (events == 0 || r->keys.ovf != DET_NIL)))
        return;
    r->cap_open = (int)open;
    r->cap_started_ms = started;
    r->ovf_events = events;
    if (open) {
        v[0] = r->rule->name;
        alert_episode_id(DET_CAPACITY_RULE, v, 1, started, r->cap_id);
    }
}

static int get_rule(struct dec *d, unsigned char *taken)
{
    struct ckpt_reader *rd = &d->rd, outer;
    char name[RULE_NAME_MAX + 1];
    const unsigned char *fp, *q;
    struct det_rule *r;
    unsigned nlen, kind;
    uint64_t blen;
    uint32_t ng;
    int rc = -1;

    nlen = ckpt_get_u8(rd);
    if (!ckpt_check(rd, nlen >= 1 && nlen <= RULE_NAME_MAX) ||
        (q = ckpt_get_bytes(rd, nlen)) == NULL ||
        !ckpt_check(rd, memchr(q, '\0', nlen) == NULL))
        goto out;
    memcpy(name, q, nlen);
    name[nlen] = '\0';
    fp = ckpt_get_bytes(rd, CKPT_FP_BYTES);
    kind = ckpt_get_u8(rd);
    blen = ckpt_get_u64(rd);
    if (rd->bad ||
        !ckpt_check(rd, kind < RULE_KINDS && blen <= rd->n - rd->off))
        goto out;
    q = ckpt_get_bytes(rd, (size_t)blen);
    rc = 0;
    if ((r = rule_for(d->e, name, fp, kind, taken)) == NULL) {
        d->out->rules_dropped++; /* changed or removed: skipped */
        goto out;
    }
    taken[r - d->e->r] = 1;
    d->out->rules_kept++;
    /* the body: its own reader, which must end exactly at its end */
    outer = *rd;
    ckpt_reader_init(&d->rd, q, (size_t)blen);
    ng = ckpt_get_u32(&d->rd);
    /* groups come from events: none while the clock was not known, but
     * the absence [] group, there from the start */
    /* at most max_keys groups and the overflow group */
    if (ckpt_check(&d->rd, ng <= r->max_keys + 1 &&
                               (r->fixed_slot == DET_NIL
                                    ? ng == 0 || d->now_ms != INT64_MIN
                                    : ng == 1)))
        for (uint32_t i = 0; i < ng && get_group(d, r) == 0; i++)
            ;
    if (!d->rd.bad)
        get_capacity(d, r);
    if (!ckpt_reader_done(&d->rd))
        rc = -1;
    *rd = outer;
    rd->bad = rc != 0;
out:
    return rc;
}

int ckpt_decode(struct ckpt_engine *e, const void *p, size_t n,
                struct det_restore_info *out)
{
    unsigned char taken[RULE_MAX];
    struct dec d;
    const unsigned char *key;
    uint32_t nd, nr;
    int rc;

    memset(taken, 0, sizeof taken);
    memset(&d, 0, sizeof d);
    d.e = e;
    d.out = out;
    rc = frame_open(p, n, &d.rd, &out->ck.version);
    if (rc != CKPT_OK)
        return rc;
    rc = CKPT_EINVAL;
    read_head(&d.rd, &out->ck);
    if (d.rd.bad)
        goto out;
    if (strcmp(out->ck.instance, e->source) != 0) {
        rc = CKPT_EINSTANCE;
        goto out;
    }
    d.now_ms = out->ck.now_ms;
    key = ckpt_get_bytes(&d.rd, DET_HASH_KEY_BYTES);
    nd = ckpt_get_u32(&d.rd);
    if (key == NULL || !ckpt_check(&d.rd, nd <= CKPT_DEDUPE_MAX &&
                                              nd <= (d.rd.n - d.rd.off) / 8))
        goto out;
    /* the keyed hashes below are under this key */
    memcpy(e->hkey, key, DET_HASH_KEY_BYTES);
    for (uint32_t i = 0; i < nd; i++) {
        uint64_t h = ckpt_get_u64(&d.rd);
        if (e->dd->n > 0 && !det_dedupe_seen(e->dd, h))
            out->dedupe_ids++;
    }
    nr = ckpt_get_u32(&d.rd);
    if (!ckpt_check(&d.rd, nr <= RULE_MAX))
        goto out;
    for (uint32_t i = 0; i < nr; i++)
        if (get_rule(&d, taken) != 0)
            goto out;
    if (!ckpt_reader_done(&d.rd))
        goto out;
    *e->now_ms = out->ck.now_ms;
    *e->seq = out->ck.seq;
    out->rules_new = e->n - out->rules_kept;
    rc = CKPT_OK;
out:
    return rc;
}

/* ---- the file ----------------------------------------------------------- */

int ckpt_file_write(const char *dir, const void *p, size_t n)
{
    return file_replace(dir, CKPT_FILE, p, n) == FILE_OK ? CKPT_OK
                                                         : CKPT_EIO;
}

int ckpt_file_read(const char *dir, size_t max, char **data, size_t *n)
{
    char path[PATH_MAX];
    int np = snprintf(path, sizeof path, "%s/%s", dir, CKPT_FILE);

    *data = NULL;
    *n = 0;
    if (np < 0 || (size_t)np >= sizeof path)
        return CKPT_EIO;
    switch (file_read_all(path, max, data, n)) {
    case FILE_OK:
        return CKPT_OK;
    case FILE_ENOENT:
        return CKPT_ENOENT;
    case FILE_ETOOBIG:
        return CKPT_ETOOBIG;
    case FILE_ENOMEM:
        return CKPT_ENOMEM;
    default:
        return CKPT_EIO;
    }
}

const char *ckpt_strerror(int rc)
{
    switch (rc) {
    case CKPT_OK:
        return "ok";
    case CKPT_EINVAL:
        return "not a checkpoint, or damaged or truncated";
    case CKPT_EVERSION:
        return "another format version";
    case CKPT_EINSTANCE:
        return "written by another instance";
    case CKPT_ETOOBIG:
        return "larger than the cap (detectors.checkpoint_max_mb)";
    case CKPT_ENOMEM:
        return "out of memory";
    case CKPT_EIO:
        return "I/O error";
    case CKPT_ENOENT:
        return "no checkpoint";
    case CKPT_EBUSY:
        return "the engine was already in use";
    }
    return "unknown error";
}
