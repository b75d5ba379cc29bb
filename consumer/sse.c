/*
 * sse.c - push parser for the Server-Sent Events stream format.
 *
 * What: turns the bytes of a text/event-stream into events, retry values and
 * comments, following the WHATWG HTML standard, "Server-sent events",
 * section "Interpreting an event stream".  Bytes arrive in chunks of any
 * size through sse_parser_execute(); the parser keeps all its state in the
 * struct, so a chunk boundary may fall anywhere (inside a UTF-8 sequence,
 * inside the BOM, between the CR and the LF of a CRLF).
 *
 * Why a push state machine: the stream layer gets bytes from libcurl's
 * write callback and must not block or allocate per event.  This file does
 * no I/O and allocates only in sse_parser_init() (a line buffer and a data
 * buffer of max_event_bytes each).
 *
 * How the bytes flow:
 *   raw bytes -> UTF-8 decoder (invalid input becomes U+FFFD, the
 *   WHATWG "maximal subpart" rule) -> BOM removal (the stream's first code
 *   point only) -> line buffer -> at a line end, the line is interpreted
 *   (blank: dispatch; ':' comment; field/value).
 *   The hot loop finds runs of plain ASCII bytes (no CR, LF or high bit)
 *   sixteen at a time; a line that is such a run and ends inside the chunk
 *   is interpreted where it lies, any other is copied to the line buffer,
 *   and only non-ASCII bytes go through the byte-wise decoder.
 *   CR and LF are ASCII, so they end a line whatever the decoder state is (a
 *   pending incomplete sequence becomes one U+FFFD first).
 *
 * Invariants:
 *   - line_len <= line_max (max_event_bytes + SSE_LINE_SLACK), data_len <=
 *     max_event_bytes + 1 (the data and the LF every field appends),
 *     type_len <= sizeof(type), last_id_len and id_in_force_len <
 *     SSE_LAST_ID_MAX (id_in_force is kept NUL-terminated);
 *   - the line, data, type and id buffers hold valid UTF-8 only;
 *   - data_ext != NULL only inside sse_parser_execute() and only while
 *     data_len == 0: the event's data so far is one data field whose value
 *     lies in the chunk being executed (a whole line interpreted in
 *     place), so an event of one data line is dispatched without copying
 *     it; a second data field, or the end of the chunk, copies it into the
 *     data buffer first (materialize());
 *   - every data field appends value + LF, so data_len > 0 means the data
 *     buffer ends with LF;
 *   - at the start of every event (after a blank line, at a new stream, after
 *     sse_parser_set_last_id) last_id equals id_in_force: that is what lets
 *     a skipped oversize event be undone by copying id_in_force back;
 *   - utf8_need > 0 only in ST_LINE (skip states reset the decoder);
 *   - stats.lf is the number of LF bytes consumed, counted where each line
 *     terminator is consumed (after the line is interpreted), so lf + 1 is
 *     the line being read; event_line is lf + 1 of the pending event's
 *     first field line, 0 after a dispatch, a drop or a reset.
 *
 * Oversize events (the only deviation from the standard, which has no
 * limits): an event is skipped when one of its lines decodes to more than
 * line_max bytes, when a data field would make the event's data (its
 * values joined with LF, what on_event gets) longer than max_event_bytes,
 * or when an event field is longer than the event type buffer.  Then on_oversize is called once, stats.oversize is incremented,
 * the event's data, event type and id fields are dropped (the last event ID
 * buffer goes back to the id in force), and everything up to and including
 * the next blank line is discarded without interpretation (fields, comments
 * and retry fields alike).  A retry field that came before the point of
 * overflow has already been reported, as the standard applies retry at
 * once.  An over-long comment line (its first byte is ':') is different: it
 * is not part of any event, so only that line is dropped (counted in
 * stats.oversize and reported through on_oversize) and the event around it
 * goes on.  Bytes discarded while skipping are not decoded, so invalid UTF-8
 * in them is not counted.
 */
#include "consumer/sse.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* States of the byte loop in sse_parser_execute(). */
enum sse_state {
    ST_LINE = 0,      /* inside a line (possibly at its start), decoding */
    ST_AFTER_CR,      /* a CR ended the last line; an LF right after is eaten */
    ST_SKIP_BOL,      /* skipping an oversize event, at the start of a line */
    ST_SKIP_LINE,     /* skipping an oversize event, inside a non-empty line */
    ST_SKIP_AFTER_CR, /* skipping; a CR ended a non-empty line; eat an LF */
    ST_SKIP_COMMENT   /* dropping the rest of an over-long comment line */
};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static const char MESSAGE[] = "message";
static const unsigned char REPLACEMENT[3] = {0xEF, 0xBF, 0xBD};

/* Non-zero if some byte of v is zero (exact, no false positives). */
static inline uint64_t has_zero_byte(uint64_t v)
{
    return (v - ONES) & ~v & HIGHS;
}

/* Length of the leading run of s[0..n) made of ASCII bytes other than CR
 * and LF: the bytes that can be copied to the line buffer as they are. */
__attribute__((hot))
static size_t plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;

#if defined(__SSE2__)
    /* 16 bytes per step: one mask of the bytes that are LF, CR or >= 0x80
     * (movemask reads the top bit of each byte, which the compares set and
     * which a non-ASCII byte has already) */
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');

    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
            v, _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr))));
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (n - i >= 16) {
        uint64_t a, b;
        memcpy(&a, s + i, 8);
        memcpy(&b, s + i + 8, 8);
        if (((a | b) & HIGHS) | has_zero_byte(a ^ (ONES * '\n')) |
            has_zero_byte(a ^ (ONES * '\r')) |
            has_zero_byte(b ^ (ONES * '\n')) |
            has_zero_byte(b ^ (ONES * '\r')))
            break;
        i += 16;
    }
    while (i < n && s[i] < 0x80 && s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

/* Index of the first CR or LF in s[0..n), or n. */
static size_t find_eol(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (n - i >= 8) {
        uint64_t a;
        memcpy(&a, s + i, 8);
        if (has_zero_byte(a ^ (ONES * '\n')) |
            has_zero_byte(a ^ (ONES * '\r')))
            break;
        i += 8;
    }
    while (i < n && s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

static void utf8_reset(sse_parser *p)
{
    p->utf8_need = 0;
    p->utf8_len = 0;
    p->utf8_lo = 0x80;
    p->utf8_hi = 0xBF;
}

/* The data value held in the caller's chunk goes to the data buffer (the
 * chunk is going away, or more data follows). */
__attribute__((hot))
static void materialize(sse_parser *p)
{
    if (p->data_ext != NULL) {
        memcpy(p->data, p->data_ext, p->data_ext_len);
        p->data_len = p->data_ext_len;
        p->data[p->data_len++] = '\n';
        p->data_ext = NULL;
    }
}

/* Drop the current event: its data and type, and any id it set. */
static void drop_event(sse_parser *p)
{
    p->event_line = 0;
    p->data_ext = NULL;
    p->data_len = 0;
    p->type_len = 0;
    memcpy(p->last_id, p->id_in_force, p->id_in_force_len);
    p->last_id_len = p->id_in_force_len;
}

static void report_oversize(sse_parser *p)
{
    p->stats.oversize++;
    if (p->settings->on_oversize)
        p->settings->on_oversize(p->ud, p->max_event_bytes);
}

/* The current line grew past line_max: drop it, and with it the
 * event unless the line is a comment.  The byte being processed is left to
 * the new skip state (it is not consumed by the caller). */
static void line_overflow(sse_parser *p)
{
    int comment = p->line_len > 0 && p->line[0] == ':';

    utf8_reset(p);
    p->line_len = 0;
    report_oversize(p);
    if (comment) {
        p->state = ST_SKIP_COMMENT;
    } else {
        drop_event(p);
        p->state = ST_SKIP_LINE;
    }
}

/* Append one decoded code point (n bytes of UTF-8) to the line.  Removes
 * the stream's leading BOM.  Returns 1 if done, 0 if the line overflowed
 * (the state is now a skip state and the current byte is not consumed). */
static int emit(sse_parser *p, const unsigned char *cp, size_t n)
{
    int done = 1;

    if (!p->bom_checked) {
        p->bom_checked = 1;
        if (n == 3 && cp[0] == 0xEF && cp[1] == 0xBB && cp[2] == 0xBF)
            goto out;
    }
    if (n > p->line_max - p->line_len) {
        line_overflow(p);
        done = 0;
        goto out;
    }
    memcpy(p->line + p->line_len, cp, n);
    p->line_len += n;
out:
    return done;
}

/* Emit U+FFFD for an invalid or incomplete sequence; same result as emit. */
static int emit_replacement(sse_parser *p)
{
    p->stats.invalid_utf8++;
    utf8_reset(p);
    return emit(p, REPLACEMENT, sizeof(REPLACEMENT));
}

/* One non-ASCII-run byte in ST_LINE that is not CR or LF, through the
 * WHATWG UTF-8 decoder.  Returns 1 if the byte was consumed, 0 if it must
 * be looked at again (after an error that ended a pending sequence, or
 * after an overflow changed the state). */
static int decode_byte(sse_parser *p, unsigned char c)
{
    int done = 1;

    if (p->utf8_need == 0) {
        if (c < 0x80) {
            done = emit(p, &c, 1);
        } else if (c >= 0xC2 && c <= 0xDF) {
            p->utf8_need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (c == 0xE0)
                p->utf8_lo = 0xA0; /* no overlong forms */
            else if (c == 0xED)
                p->utf8_hi = 0x9F; /* no surrogates */
            p->utf8_need = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (c == 0xF0)
                p->utf8_lo = 0x90; /* no overlong forms */
            else if (c == 0xF4)
                p->utf8_hi = 0x8F; /* nothing above U+10FFFF */
            p->utf8_need = 3;
        } else {
            /* 80..C1 (continuation or overlong lead), F5..FF */
            done = emit_replacement(p);
        }
        if (p->utf8_need > 0) {
            p->utf8_buf[0] = c;
            p->utf8_len = 1;
        }
    } else if (c < p->utf8_lo || c > p->utf8_hi) {
        /* The pending bytes are a maximal subpart: one U+FFFD, then this
         * byte is looked at again, as the start of a sequence. */
        (void)emit_replacement(p);
        done = 0;
    } else {
        p->utf8_buf[p->utf8_len++] = c;
        p->utf8_lo = 0x80;
        p->utf8_hi = 0xBF;
        if (--p->utf8_need == 0) {
            size_t n = (size_t)p->utf8_len;
            utf8_reset(p);
            done = emit(p, p->utf8_buf, n);
        }
    }
    return done;
}

/* A blank line: dispatch the event, as the standard says.  Returns SSE_OK
 * or SSE_EPAUSED. */
__attribute__((hot))
static int dispatch(sse_parser *p)
{
    int rc = SSE_OK;
    sse_event ev;

    memcpy(p->id_in_force, p->last_id, p->last_id_len);
    p->id_in_force_len = p->last_id_len;
    p->id_in_force[p->id_in_force_len] = '\0';
    if (p->data_ext != NULL) {
        ev.data = p->data_ext;
        ev.data_len = p->data_ext_len;
    } else if (p->data_len == 0) {
        p->type_len = 0;
        p->event_line = 0;
        goto out;
    } else {
        ev.data = p->data;
        ev.data_len = p->data_len - 1; /* the trailing LF */
    }
    if (p->type_len > 0) {
        ev.type = p->type;
        ev.type_len = p->type_len;
    } else {
        ev.type = MESSAGE;
        ev.type_len = sizeof(MESSAGE) - 1;
    }
    ev.id = p->id_in_force;
    ev.id_len = p->id_in_force_len;
    p->stats.events++;
    if (p->settings->on_event && p->settings->on_event(p->ud, &ev) != 0) {
        p->paused = 1;
        rc = SSE_EPAUSED;
    }
    p->data_ext = NULL;
    p->data_len = 0;
    p->type_len = 0;
    p->event_line = 0;
out:
    return rc;
}

/* retry: all ASCII digits (at least one), base ten, saturating at
 * UINT64_MAX. */
static void field_retry(sse_parser *p, const char *v, size_t n)
{
    uint64_t ms = 0;
    int ok = n > 0;
    size_t i;

    for (i = 0; ok && i < n; i++) {
        unsigned d = (unsigned)(unsigned char)v[i] - (unsigned)'0';
        if (d > 9)
            ok = 0;
        else if (ms > (UINT64_MAX - d) / 10)
            ms = UINT64_MAX;
        else
            ms = ms * 10 + d;
    }
    if (!ok)
        p->stats.retry_ignored++;
    else if (p->settings->on_retry)
        p->settings->on_retry(p->ud, ms);
}

/* Process one field.  Returns 1 if the event must be skipped (oversize). */
__attribute__((hot))
static int field(sse_parser *p, const char *f, size_t fn, const char *v,
                 size_t vn, int in_chunk)
{
    int skip = 0;

    switch (fn) {
    case 2:
        if (memcmp(f, "id", 2) != 0)
            break;
        if (vn >= SSE_LAST_ID_MAX || memchr(v, '\0', vn) != NULL) {
            p->stats.ids_ignored++;
            break;
        }
        memcpy(p->last_id, v, vn);
        p->last_id_len = vn;
        break;
    case 4:
        if (memcmp(f, "data", 4) != 0)
            break;
        if (in_chunk && p->data_len == 0 && p->data_ext == NULL &&
            vn <= p->max_event_bytes) {
            p->data_ext = v; /* no copy unless needed (see the top) */
            p->data_ext_len = vn;
            break;
        }
        materialize(p);
        /* the data so far (data_len, LF-ended) and this value: past the
         * cap when longer than max_event_bytes without the last LF */
        if (p->data_len > p->max_event_bytes ||
            vn > p->max_event_bytes - p->data_len) {
            skip = 1;
            break;
        }
        memcpy(p->data + p->data_len, v, vn);
        p->data_len += vn;
        p->data[p->data_len++] = '\n';
        break;
    case 5:
        if (memcmp(f, "event", 5) == 0) {
            if (vn > sizeof(p->type)) {
                skip = 1;
                break;
            }
            memcpy(p->type, v, vn);
            p->type_len = vn;
        } else if (memcmp(f, "retry", 5) == 0) {
            field_retry(p, v, vn);
        }
        break;
    default:
        break;
    }
    return skip;
}

/* A line (decoded, without its CR or LF) ended with CR (cr != 0) or LF:
 * interpret it and set the next state.  `line` is the line buffer, or the
 * caller's chunk when the whole line was there (see sse_parser_execute).
 * Returns SSE_OK or SSE_EPAUSED. */
__attribute__((hot))
static int interpret_line(sse_parser *p, const char *line, size_t n, int cr,
                          int in_chunk)
{
    int rc = SSE_OK;
    int skip = 0;

    if (n == 0) {
        rc = dispatch(p);
    } else if (line[0] == ':') {
        if (p->settings->on_comment)
            p->settings->on_comment(p->ud, line + 1, n - 1);
    } else {
        /* field names are a few bytes: a byte loop, not a call */
        size_t fn = 0;
        if (p->event_line == 0)
            p->event_line = p->stats.lf + 1;
        while (fn < n && line[fn] != ':')
            fn++;
        if (fn == n) {
            skip = field(p, line, n, "", 0, 0);
        } else {
            const char *v = line + fn + 1;
            size_t vn = n - fn - 1;
            if (vn > 0 && v[0] == ' ') {
                v++;
                vn--;
            }
            skip = field(p, line, fn, v, vn, in_chunk);
        }
        if (skip) {
            report_oversize(p);
            drop_event(p);
        }
    }
    if (skip)
        p->state = cr ? ST_SKIP_AFTER_CR : ST_SKIP_BOL;
    else
        p->state = cr ? ST_AFTER_CR : ST_LINE;
    return rc;
}

/* The line in the line buffer ended with CR (cr != 0) or LF. */
static int end_line(sse_parser *p, int cr)
{
    size_t n = p->line_len;

    p->line_len = 0;
    return interpret_line(p, p->line, n, cr, 0);
}

int sse_parser_init(sse_parser *p, const sse_settings *settings, void *ud,
                    size_t max_event_bytes)
{
    static const sse_settings no_callbacks = {0};
    int rc = SSE_OK;

    if (p == NULL) {
        rc = SSE_EINVAL;
        goto out;
    }
    memset(p, 0, sizeof(*p));
    p->settings = settings ? settings : &no_callbacks;
    p->ud = ud;
    p->max_event_bytes =
        max_event_bytes ? max_event_bytes : SSE_DEFAULT_MAX_EVENT_BYTES;
    if (p->max_event_bytes > SIZE_MAX / 2) {
        rc = SSE_EINVAL;
        goto out;
    }
    p->line_max = p->max_event_bytes + SSE_LINE_SLACK;
    p->line = malloc(p->line_max);
    p->data = malloc(p->max_event_bytes + 1);
    if (p->line == NULL || p->data == NULL) {
        rc = SSE_ENOMEM;
        goto out;
    }
    sse_parser_reset_stream(p);
out:
    if (rc == SSE_ENOMEM)
        sse_parser_free(p);
    return rc;
}

void sse_parser_free(sse_parser *p)
{
    if (p != NULL) {
        free(p->line);
        free(p->data);
        p->line = NULL;
        p->data = NULL;
        p->line_len = 0;
        p->data_len = 0;
        p->data_ext = NULL;
    }
}

void sse_parser_reset_stream(sse_parser *p)
{
    if (p != NULL) {
        p->state = ST_LINE;
        p->paused = 0;
        p->bom_checked = 0;
        utf8_reset(p);
        p->line_len = 0;
        p->data_len = 0;
        p->data_ext = NULL;
        p->type_len = 0;
        p->event_line = 0;
        memcpy(p->last_id, p->id_in_force, p->id_in_force_len);
        p->last_id_len = p->id_in_force_len;
    }
}

uint64_t sse_parser_finish(sse_parser *p)
{
    uint64_t ln = 0;

    if (p == NULL)
        return 0;
    if (p->event_line != 0 ||
        (p->state == ST_LINE && p->line_len > 0 && p->line[0] != ':'))
        ln = sse_parser_line(p);
    sse_parser_reset_stream(p);
    return ln;
}

__attribute__((hot))
int sse_parser_execute(sse_parser *p, const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    const unsigned char *end;
    int rc = SSE_OK;

    if (p == NULL || p->line == NULL || (data == NULL && len > 0)) {
        rc = SSE_EINVAL;
        goto out;
    }
    if (p->paused) {
        rc = SSE_EPAUSED;
        goto out;
    }
    end = s + len;
    while (s < end && rc == SSE_OK) {
        unsigned char c;
        size_t k;

        switch ((enum sse_state)p->state) {
        case ST_LINE:
            if (p->utf8_need == 0 && p->bom_checked) {
                size_t run = plain_run(s, (size_t)(end - s));
                size_t room = p->line_max - p->line_len;
                if (p->line_len == 0 && run < (size_t)(end - s) &&
                    run <= room && (s[run] == '\n' || s[run] == '\r')) {
                    /* the whole line is plain ASCII in this chunk: it is
                     * what decoding would give, so interpret it in place
                     * instead of copying it to the line buffer first */
                    const char *line = (const char *)s;
                    c = s[run];
                    s += run + 1;
                    rc = interpret_line(p, line, run, c == '\r', 1);
                    p->stats.lf += c == '\n';
                    break;
                }
                if (run > room) {
                    memcpy(p->line + p->line_len, s, room);
                    p->line_len += room;
                    s += room;
                    line_overflow(p);
                    break;
                }
                memcpy(p->line + p->line_len, s, run);
                p->line_len += run;
                s += run;
                if (s == end)
                    break;
            }
            c = *s;
            if (c == '\n' || c == '\r') {
                if (p->utf8_need > 0 && !emit_replacement(p))
                    break; /* overflowed: the skip state takes the CR/LF */
                p->bom_checked = 1;
                s++;
                rc = end_line(p, c == '\r');
                p->stats.lf += c == '\n';
            } else if (decode_byte(p, c)) {
                s++;
            }
            break;
        case ST_AFTER_CR:
            if (*s == '\n') {
                s++;
                p->stats.lf++;
            }
            p->state = ST_LINE;
            break;
        case ST_SKIP_BOL:
            c = *s;
            if (c == '\n' || c == '\r') {
                /* the blank line that ends the skipped event */
                s++;
                p->stats.lf += c == '\n';
                p->state = c == '\r' ? ST_AFTER_CR : ST_LINE;
            } else {
                p->state = ST_SKIP_LINE;
            }
            break;
        case ST_SKIP_LINE:
            k = find_eol(s, (size_t)(end - s));
            s += k;
            if (s < end) {
                p->state = *s == '\r' ? ST_SKIP_AFTER_CR : ST_SKIP_BOL;
                p->stats.lf += *s == '\n';
                s++;
            }
            break;
        case ST_SKIP_AFTER_CR:
            if (*s == '\n') {
                s++;
                p->stats.lf++;
            }
            p->state = ST_SKIP_BOL;
            break;
        case ST_SKIP_COMMENT:
            k = find_eol(s, (size_t)(end - s));
            s += k;
            if (s < end) {
                p->state = *s == '\r' ? ST_AFTER_CR : ST_LINE;
                p->stats.lf += *s == '\n';
                s++;
            }
            break;
        }
    }
    materialize(p); /* the chunk is the caller's again */
    p->stats.bytes += (uint64_t)(s - (const unsigned char *)data);
out:
    return rc;
}

uint64_t sse_parser_line(const sse_parser *p)
{
    return p->event_line != 0 ? p->event_line : p->stats.lf + 1;
}

int sse_parser_set_last_id(sse_parser *p, const char *id, size_t len)
{
    int rc = SSE_OK;

    if (p == NULL || (id == NULL && len > 0) || len >= SSE_LAST_ID_MAX ||
        (len > 0 && memchr(id, '\0', len) != NULL)) {
        rc = SSE_EINVAL;
        goto out;
    }
    if (len > 0) {
        memcpy(p->id_in_force, id, len);
        memcpy(p->last_id, id, len);
    }
    p->id_in_force[len] = '\0';
    p->id_in_force_len = len;
    p->last_id_len = len;
out:
    return rc;
}

const char *sse_parser_last_id(const sse_parser *p, size_t *len)
{
    const char *id = p ? p->id_in_force : "";

    if (len)
        *len = p ? p->id_in_force_len : 0;
    return id;
}

const char *sse_strerror(int rc)
{
    switch (rc) {
    case SSE_OK:
        return "ok";
    case SSE_ENOMEM:
        return "out of memory";
    case SSE_EINVAL:
        return "invalid argument";
    case SSE_EPAUSED:
        return "paused by a callback";
    default:
        return "unknown error";
    }
}
