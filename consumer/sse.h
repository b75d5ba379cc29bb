/*
 * sse.h - push parser for the Server-Sent Events stream format.
 *
 * Implements the "interpreting an event stream" rules of the WHATWG HTML
 * standard's "Server-sent events" section.  The parser does no I/O and no
 * allocation after sse_parser_init(): bytes are pushed in with
 * sse_parser_execute() in chunks of any size (one byte at a time gives the
 * same events as the whole stream at once) and complete events come out
 * through the callbacks in a const settings table.
 *
 * Invariants:
 *  - every buffer has a hard cap: an event's data (its data lines joined,
 *    what on_event gets) may be max_event_bytes long, a line
 *    max_event_bytes + SSE_LINE_SLACK (so "data: " and a value of
 *    max_event_bytes fit, as the WHATWG reference client takes it); an
 *    event past either is skipped to its end (the next blank line),
 *    counted in the stats and reported once through on_oversize; the
 *    parser then resynchronises and goes on;
 *  - output is always valid UTF-8: invalid input bytes become U+FFFD;
 *  - the last event ID survives events and sse_parser_reset_stream() (a
 *    reconnect), as in browsers; only sse_parser_set_last_id() changes it
 *    from outside.
 */
#ifndef TW_SSE_H
#define TW_SSE_H

#include <stddef.h>
#include <stdint.h>

#define SSE_DEFAULT_MAX_EVENT_BYTES (1024u * 1024u)
#define SSE_LAST_ID_MAX 1024 /* longer ids are ignored (counted) */
#define SSE_LINE_SLACK 6     /* a line's room past max_event_bytes: the
                                "data: " before a data value */

enum {
    SSE_OK = 0,
    SSE_ENOMEM = -1, /* init: could not allocate the buffers */
    SSE_EINVAL = -2, /* bad argument */
    SSE_EPAUSED = -3 /* a callback returned non-zero; sticky until reset */
};

/* One dispatched event.  The pointers are valid only during the callback.
 * Strings are valid UTF-8, not NUL-terminated, and may contain 0x00 bytes:
 * always use the lengths. */
typedef struct sse_event {
    const char *type; /* "message" when the stream gave no event field */
    size_t type_len;
    const char *data; /* data lines joined with LF, trailing LF removed */
    size_t data_len;
    const char *id; /* last event ID in force ("" if none) */
    size_t id_len;
} sse_event;

/* Callbacks.  Each may be NULL.  A non-zero return from on_event stops
 * sse_parser_execute() after the current event (it returns SSE_EPAUSED and
 * stays paused until sse_parser_reset_stream()).  Callbacks must not call
 * sse_parser_execute() on the same parser. */
typedef struct sse_settings {
    int (*on_event)(void *ud, const sse_event *ev);
    /* a valid retry: field (all ASCII digits, at least one), in
     * milliseconds, reported at once (not at dispatch); a value too big for
     * uint64_t saturates to UINT64_MAX: the caller clamps to its limits */
    void (*on_retry)(void *ud, uint64_t retry_ms);
    /* a comment line (": ..."): the text after the colon, as is (a
     * leading space is NOT removed: ": hb" gives " hb"); heartbeats */
    void (*on_comment)(void *ud, const char *text, size_t len);
    /* an event was skipped because it exceeded max_event_bytes (or an
     * over-long comment line was dropped; see sse.c for the exact rule) */
    void (*on_oversize)(void *ud, size_t max_event_bytes);
} sse_settings;

typedef struct sse_stats {
    uint64_t events;         /* dispatched */
    uint64_t oversize;       /* events skipped for size */
    uint64_t invalid_utf8;   /* U+FFFD substitutions */
    uint64_t ids_ignored;    /* id fields with U+0000 or too long */
    uint64_t retry_ignored;  /* retry fields not all digits */
    uint64_t bytes;          /* bytes pushed */
    uint64_t lf;             /* LF bytes consumed (line numbers) */
} sse_stats;

/* The parser.  Embed it in its owner; fields after `private:` are private
 * (their meaning is documented in sse.c). */
typedef struct sse_parser {
    sse_stats stats;         /* read-only for users */
    /* private: */
    const sse_settings *settings;
    void *ud;
    size_t max_event_bytes;  /* the data's cap */
    size_t line_max;         /* the line's: max_event_bytes + slack */
    int state;               /* enum sse_state in sse.c */
    int paused;              /* on_event asked to stop; sticky until reset */
    int bom_checked;         /* the stream's first code point was seen */
    int utf8_need;           /* UTF-8 decoder: continuation bytes expected */
    int utf8_len;            /* bytes of the pending sequence in utf8_buf */
    unsigned char utf8_buf[4]; /* the pending sequence's bytes so far */
    unsigned char utf8_lo;   /* range allowed for the next continuation */
    unsigned char utf8_hi;
    char *line;              /* current line, decoded UTF-8 */
    size_t line_len;
    char *data;              /* data buffer */
    size_t data_len;
    const char *data_ext;    /* or the event's one data value, still in the
                                chunk being executed (see sse.c) */
    size_t data_ext_len;
    char type[256];          /* event type buffer */
    size_t type_len;
    char last_id[SSE_LAST_ID_MAX]; /* last event ID buffer */
    size_t last_id_len;
    char id_in_force[SSE_LAST_ID_MAX]; /* last event ID string, NUL-ended */
    size_t id_in_force_len;
    uint64_t event_line;     /* line of the pending event's first field */
} sse_parser;

/* Allocate the line and data buffers (max_event_bytes + SSE_LINE_SLACK and
 * max_event_bytes + 1; max_event_bytes 0 = default, at most SIZE_MAX / 2).
 * Returns SSE_OK, SSE_ENOMEM, or SSE_EINVAL if p is NULL.  `settings` (NULL:
 * no callbacks) and `ud` must outlive the parser. */
int sse_parser_init(sse_parser *p, const sse_settings *settings, void *ud,
                    size_t max_event_bytes);

/* Free the buffers.  Accepts a zeroed or half-initialised parser. */
void sse_parser_free(sse_parser *p);

/* Start a new stream (a reconnect): clears the line, data and event type
 * buffers, the BOM and UTF-8 state and a pause; keeps the last event ID and
 * the stats.  A partial event from the old stream is discarded. */
void sse_parser_reset_stream(sse_parser *p);

/* Push `len` bytes.  Returns SSE_OK, or SSE_EPAUSED when a callback asked
 * to stop (the rest of the chunk is not consumed). */
int sse_parser_execute(sse_parser *p, const char *data, size_t len);

/* The stream ended: discards any partial line or event (never dispatched),
 * exactly as the standard says.  Same effect as sse_parser_reset_stream.
 * Returns the line (as sse_parser_line) of the event it discarded, or 0
 * when none had begun: no field line was read since the last blank line,
 * and the partial line, if any, is empty or a comment. */
uint64_t sse_parser_finish(sse_parser *p);

/* The line that names what the parser reports right now (for messages
 * such as replay's "line N: ..."): the line where the pending event's first
 * field was, or with no event pending the line being read.  Lines are
 * numbered from 1 and end at LF (a CR alone does not start a new number).
 * May be called from a callback. */
uint64_t sse_parser_line(const sse_parser *p);

/* Set the last event ID (e.g. read back from the state directory).
 * Returns SSE_EINVAL if it contains U+0000 or is too long. */
int sse_parser_set_last_id(sse_parser *p, const char *id, size_t len);

/* The last event ID in force (the value of the last dispatch, or set);
 * NUL-terminated (it cannot contain U+0000); valid until the next call into
 * the parser. */
const char *sse_parser_last_id(const sse_parser *p, size_t *len);

const char *sse_strerror(int rc);

#endif
