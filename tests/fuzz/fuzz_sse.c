/*
 * fuzz_sse.c - libFuzzer target for consumer/sse.c.
 *
 * The first two input bytes choose the run (chunking pattern, cap,
 * whether on_event pauses); the rest is the stream.  The stream is fed three
 * times to fresh parsers: whole, byte by byte, and in the chosen chunks.
 * Everything the callbacks see, plus the final stats and id in force, is
 * hashed; the three hashes must be equal (chunking never changes the
 * result).  When nothing pauses, the result must also equal that of a
 * deliberately naive reference parser written here from the standard's text
 * (decode the whole stream, strip the BOM, split lines, interpret), with the
 * same size-cap rules as sse.c.
 *
 * Inside the callbacks: every string is valid UTF-8, the type is not
 * empty, the id has no U+0000, and every length is within its cap.
 * Any mismatch or broken invariant calls abort().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t size);

#define TYPE_MAX 256 /* sizeof(((sse_parser *)0)->type) */

typedef struct digest {
    uint64_t h;
    uint64_t events, oversize, invalid_utf8, ids_ignored, retry_ignored;
    uint64_t comments, retries;
} digest;

typedef struct run {
    digest d;
    size_t max;
    int pause_at; /* on_event returns 1 for this event (1-based), or 0 */
} run;

static void mix(digest *d, const void *s, size_t n)
{
    const unsigned char *b = s;
    size_t i;

    for (i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 0x100000001b3ull;
    }
}

static void mix_str(digest *d, int tag, const char *s, size_t n)
{
    uint64_t len = n;
    unsigned char t = (unsigned char)tag;

    mix(d, &t, 1);
    mix(d, &len, sizeof(len));
    mix(d, s, n);
}

/* Strict UTF-8 check (RFC 3629), written apart from the parser's decoder. */
static int valid_utf8(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        uint32_t cp;
        size_t k, len;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((s[i] & 0xE0) == 0xC0) {
            len = 2;
            cp = s[i] & 0x1Fu;
        } else if ((s[i] & 0xF0) == 0xE0) {
            len = 3;
            cp = s[i] & 0x0Fu;
        } else if ((s[i] & 0xF8) == 0xF0) {
            len = 4;
            cp = s[i] & 0x07u;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static void check(int ok)
{
    if (!ok)
        abort();
}

/* ---- callbacks shared by the parser runs and the reference ---- */

static int on_event(void *ud, const sse_event *ev)
{
    run *r = ud;

    check(ev->type_len > 0 && ev->type_len <= TYPE_MAX);
    check(ev->data_len <= r->max);
    check(ev->id_len < SSE_LAST_ID_MAX);
    check(valid_utf8(ev->type, ev->type_len));
    check(valid_utf8(ev->data, ev->data_len));
    check(valid_utf8(ev->id, ev->id_len));
    check(ev->id_len == 0 || memchr(ev->id, '\0', ev->id_len) == NULL);
    r->d.events++;
    mix_str(&r->d, 'T', ev->type, ev->type_len);
    mix_str(&r->d, 'D', ev->data, ev->data_len);
    mix_str(&r->d, 'I', ev->id, ev->id_len);
    return r->pause_at > 0 && r->d.events == (uint64_t)r->pause_at;
}

static void on_retry(void *ud, uint64_t ms)
{
    run *r = ud;

    r->d.retries++;
    mix(&r->d, "R", 1);
    mix(&r->d, &ms, sizeof(ms));
}

static void on_comment(void *ud, const char *text, size_t len)
{
    run *r = ud;

    check(len < r->max + SSE_LINE_SLACK);
    check(valid_utf8(text, len));
    r->d.comments++;
    mix_str(&r->d, 'C', text, len);
}

static void on_oversize(void *ud, size_t max)
{
    run *r = ud;

    check(max == r->max);
    r->d.oversize++;
    mix(&r->d, "O", 1);
}

static const sse_settings settings = {on_event, on_retry, on_comment,
                                      on_oversize};

/* ---- the parser, fed in chunks ---- */

enum { FEED_WHOLE, FEED_BYTES, FEED_FIXED, FEED_RANDOM, FEED_TWO, FEED_GROW };

static size_t next_chunk(int how, unsigned seed, size_t i, uint32_t *rng,
                         size_t left, size_t n)
{
    size_t c;

    switch (how) {
    case FEED_WHOLE:
        c = left;
        break;
    case FEED_BYTES:
        c = 1;
        break;
    case FEED_FIXED:
        c = 1 + seed % 61;
        break;
    case FEED_RANDOM:
        *rng = *rng * 1103515245u + 12345u;
        c = 1 + (*rng >> 16) % 17;
        break;
    case FEED_TWO:
        c = i == 0 ? (size_t)seed * n / 256 : left;
        if (c == 0)
            c = left;
        break;
    default: /* FEED_GROW */
        c = 1 + i % 9;
        break;
    }
    return c < left ? c : left;
}

/* Feed; on a pause, reset the stream and feed the rest (a reconnect that
 * resumes where the parser stopped), with the same chunk pattern. */
static void feed(run *r, const char *s, size_t n, int how, unsigned seed)
{
    sse_parser p;
    size_t off = 0, i = 0, id_len;
    uint32_t rng = seed;
    uint64_t consumed = 0;
    const char *id;

    if (sse_parser_init(&p, &settings, r, r->max) != SSE_OK)
        abort();
    while (off < n) {
        size_t c = next_chunk(how, seed, i++, &rng, n - off, n);
        int rc = sse_parser_execute(&p, s + off, c);
        if (rc == SSE_EPAUSED) {
            consumed = p.stats.bytes; /* stats survive the reset */
            check(consumed >= off && consumed <= off + c);
            off = (size_t)consumed;
            mix(&r->d, "P", 1);
            mix(&r->d, &consumed, sizeof(consumed));
            sse_parser_reset_stream(&p);
            continue;
        }
        check(rc == SSE_OK);
        off += c;
        consumed = p.stats.bytes;
        check(consumed == off);
    }
    /* lines: every LF consumed is counted, once */
    for (size_t k = 0, lf = 0; k <= n; k++) {
        if (k == n)
            check(p.stats.lf == lf);
        else
            lf += s[k] == '\n';
    }
    check(p.stats.events == r->d.events);
    check(p.stats.oversize == r->d.oversize);
    r->d.invalid_utf8 = p.stats.invalid_utf8;
    r->d.ids_ignored = p.stats.ids_ignored;
    r->d.retry_ignored = p.stats.retry_ignored;
    id = sse_parser_last_id(&p, &id_len);
    check(id[id_len] == '\0');
    mix_str(&r->d, 'L', id, id_len);
    sse_parser_finish(&p);
    check(p.stats.events == r->d.events);
    sse_parser_free(&p);
}

/* ---- the naive reference ---- */

/* Decode the whole input per the WHATWG UTF-8 decoder, U+FFFD for each
 * maximal subpart; an incomplete sequence at the very end is dropped (the
 * line it is in can never end).  out must hold 3 * n bytes. */
static size_t ref_decode(const unsigned char *s, size_t n, char *out,
                         uint64_t *invalid)
{
    size_t i = 0, o = 0;

    while (i < n) {
        unsigned char b = s[i];
        size_t need, k;
        unsigned char lo = 0x80, hi = 0xBF;

        if (b < 0x80) {
            out[o++] = (char)b;
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF)
            need = 1;
        else if (b >= 0xE0 && b <= 0xEF)
            need = 2;
        else if (b >= 0xF0 && b <= 0xF4)
            need = 3;
        else
            need = 0;
        if (b == 0xE0)
            lo = 0xA0;
        if (b == 0xED)
            hi = 0x9F;
        if (b == 0xF0)
            lo = 0x90;
        if (b == 0xF4)
            hi = 0x8F;
        /* count the continuation bytes that fit */
        for (k = 0; k < need && i + 1 + k < n; k++) {
            unsigned char c = s[i + 1 + k];
            if (c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xBF))
                break;
        }
        if (need > 0 && k == need) {
            memcpy(out + o, s + i, need + 1);
            o += need + 1;
            i += need + 1;
            continue;
        }
        if (need > 0 && i + 1 + k == n)
            break; /* incomplete at the end of the stream */
        memcpy(out + o, "\xEF\xBF\xBD", 3);
        o += 3;
        (*invalid)++;
        i += 1 + k;
    }
    return o;
}

typedef struct ref_state {
    char *data;
    size_t data_len;
    char type[TYPE_MAX];
    size_t type_len;
    char last_id[SSE_LAST_ID_MAX];
    size_t last_id_len;
    char in_force[SSE_LAST_ID_MAX];
    size_t in_force_len;
} ref_state;

static void ref_drop(ref_state *st)
{
    st->data_len = 0;
    st->type_len = 0;
    memcpy(st->last_id, st->in_force, st->in_force_len);
    st->last_id_len = st->in_force_len;
}

static void reference(run *r, const unsigned char *s, size_t n)
{
    char *text = malloc(3 * n + 1);
    ref_state *st = calloc(1, sizeof(*st));
    uint64_t invalid = 0;
    size_t len, pos = 0, max = r->max;
    size_t lmax = max + SSE_LINE_SLACK; /* a line's cap */
    int skipping = 0;

    check(text != NULL && st != NULL);
    st->data = malloc(max + 1);
    check(st->data != NULL);
    len = ref_decode(s, n, text, &invalid);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    for (;;) {
        size_t e = pos, ll;
        const char *line = text + pos;
        const char *colon;
        const char *f, *v;
        size_t fn, vn;

        while (e < len && text[e] != '\r' && text[e] != '\n')
            e++;
        if (e == len) {
            /* no line end: discarded; sse.c reports an over-long line as
             * soon as it passes the cap, line end or not */
            if (!skipping && e - pos > lmax) {
                r->d.oversize++;
                mix(&r->d, "O", 1);
            }
            break;
        }
        ll = e - pos;
        pos = e + 1;
        if (text[e] == '\r' && pos < len && text[pos] == '\n')
            pos++;
        if (skipping) {
            if (ll == 0)
                skipping = 0;
            continue;
        }
        if (ll > lmax) {
            r->d.oversize++;
            mix(&r->d, "O", 1);
            if (line[0] != ':') {
                ref_drop(st);
                skipping = 1;
            }
            continue;
        }
        if (ll == 0) {
            sse_event ev;
            memcpy(st->in_force, st->last_id, st->last_id_len);
            st->in_force_len = st->last_id_len;
            if (st->data_len == 0) {
                st->type_len = 0;
                continue;
            }
            ev.type = st->type_len ? st->type : "message";
            ev.type_len = st->type_len ? st->type_len : 7;
            ev.data = st->data;
            ev.data_len = st->data_len - 1;
            ev.id = st->in_force;
            ev.id_len = st->in_force_len;
            (void)on_event(r, &ev);
            st->data_len = 0;
            st->type_len = 0;
            continue;
        }
        if (line[0] == ':') {
            on_comment(r, line + 1, ll - 1);
            continue;
        }
        colon = memchr(line, ':', ll);
        f = line;
        if (colon) {
            fn = (size_t)(colon - line);
            v = colon + 1;
            vn = ll - fn - 1;
            if (vn > 0 && v[0] == ' ') {
                v++;
                vn--;
            }
        } else {
            fn = ll;
            v = "";
            vn = 0;
        }
        if (fn == 4 && memcmp(f, "data", 4) == 0) {
            /* the data joined (what on_event gets) past max */
            if (st->data_len + vn > max) {
                r->d.oversize++;
                mix(&r->d, "O", 1);
                ref_drop(st);
                skipping = 1;
            } else {
                memcpy(st->data + st->data_len, v, vn);
                st->data_len += vn;
                st->data[st->data_len++] = '\n';
            }
        } else if (fn == 5 && memcmp(f, "event", 5) == 0) {
            if (vn > TYPE_MAX) {
                r->d.oversize++;
                mix(&r->d, "O", 1);
                ref_drop(st);
                skipping = 1;
            } else {
                memcpy(st->type, v, vn);
                st->type_len = vn;
            }
        } else if (fn == 2 && memcmp(f, "id", 2) == 0) {
            if (vn >= SSE_LAST_ID_MAX || memchr(v, '\0', vn) != NULL) {
                r->d.ids_ignored++;
            } else {
                memcpy(st->last_id, v, vn);
                st->last_id_len = vn;
            }
        } else if (fn == 5 && memcmp(f, "retry", 5) == 0) {
            uint64_t ms = 0;
            size_t i;
            int ok = vn > 0;
            for (i = 0; i < vn; i++) {
                unsigned d = (unsigned)(unsigned char)v[i] - '0';
                if (d > 9) {
                    ok = 0;
                    break;
                }
                /* saturating: compare in a wider sense by division */
                if (ms > (UINT64_MAX - d) / 10)
                    ms = UINT64_MAX;
                else
                    ms = ms * 10 + d;
            }
            if (ok)
                on_retry(r, ms);
            else
                r->d.retry_ignored++;
        }
    }
    r->d.invalid_utf8 = invalid;
    mix_str(&r->d, 'L', st->in_force, st->in_force_len);
    free(st->data);
    free(st);
    free(text);
}

static int same_digest(const digest *a, const digest *b, int with_invalid)
{
    return a->h == b->h && a->events == b->events &&
           a->oversize == b->oversize && a->ids_ignored == b->ids_ignored &&
           a->retry_ignored == b->retry_ignored &&
           a->comments == b->comments && a->retries == b->retries &&
           (!with_invalid || a->invalid_utf8 == b->invalid_utf8);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t size)
{
    unsigned mode = size > 0 ? buf[0] : 0;
    unsigned seed = size > 1 ? buf[1] : 0;
    const char *s = size > 2 ? (const char *)buf + 2 : "";
    size_t n = size > 2 ? size - 2 : 0;
    static const int hows[] = {FEED_FIXED, FEED_RANDOM, FEED_TWO, FEED_GROW};
    run a, b, c, ref;
    size_t max;

    switch ((mode >> 2) & 3) {
    case 0:
        max = 1u << 16; /* larger than any input: only the type cap */
        break;
    case 1:
        max = 1 + seed % 32;
        break;
    case 2:
        max = 16 + seed;
        break;
    default:
        max = 300;
        break;
    }
    memset(&a, 0, sizeof(a));
    a.max = max;
    a.pause_at = (mode & 0x10) ? (int)(1 + ((mode >> 5) & 3)) : 0;
    b = a;
    c = a;
    ref = a;
    feed(&a, s, n, FEED_WHOLE, seed);
    feed(&b, s, n, FEED_BYTES, seed);
    feed(&c, s, n, hows[mode & 3], seed);
    check(same_digest(&a.d, &b.d, 1));
    check(same_digest(&a.d, &c.d, 1));
    if (a.pause_at == 0) {
        reference(&ref, (const unsigned char *)s, n);
        /* bytes skipped in an oversize event are not decoded by sse.c, so
         * invalid_utf8 may differ there */
        check(same_digest(&a.d, &ref.d, a.d.oversize == 0));
    }
    return 0;
}
