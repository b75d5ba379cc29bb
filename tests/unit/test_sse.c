/*
 * test_sse.c - unit tests for consumer/sse.c, the SSE push parser.
 *
 * Most tests are table rows: an input (explicit length, may hold NUL, CR,
 * invalid UTF-8), the exact events (type, data, id), retry values, comments,
 * stats and id in force it must give.  Every row is fed to a fresh parser in
 * many ways, and every feeding must give exactly the expected result:
 *   - whole, in one chunk;
 *   - in two chunks, split at every point 1..len-1;
 *   - byte by byte;
 *   - in three chunks: at every pair of points for short inputs, at a few
 *     pairs for long ones.
 * After each feeding sse_parser_finish() must not produce anything more.
 * The remaining tests cover what a table cannot: pause, reset_stream,
 * set_last_id, argument checks, and the size boundaries built at run time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consumer/sse.h"

typedef struct bytes {
    const char *s;
    size_t n;
} bytes;

#define B(lit) { (lit), sizeof(lit) - 1 }

typedef struct exp_event {
    bytes type, data, id;
} exp_event;

#define EV(t, d, i) { B(t), B(d), B(i) }
#define MSG(d) EV("message", d, "")

#define MAX_EV 8
#define MAX_RETRY 4
#define MAX_COMMENTS 4

typedef struct tcase {
    const char *name;
    bytes in;
    size_t max;                   /* max_event_bytes, 0 = default */
    exp_event ev[MAX_EV];         /* ends at the first type.s == NULL */
    size_t n_retry;
    uint64_t retry[MAX_RETRY];
    bytes comments[MAX_COMMENTS]; /* ends at the first s == NULL */
    bytes last_id;                /* id in force at the end; NULL = "" */
    uint64_t oversize;
    uint64_t invalid_utf8;
    uint64_t ids_ignored;
    uint64_t retry_ignored;
} tcase;

/* ---- recorder: what the callbacks saw ---- */

#define ARENA 200000
#define REC_EV 64
#define REC_RETRY 16
#define REC_COMMENTS 16

typedef struct span {
    size_t off, n;
} span;

typedef struct recorder {
    char arena[ARENA];
    size_t used;
    int full; /* arena or a table ran out: the test fails */
    span ev_type[REC_EV], ev_data[REC_EV], ev_id[REC_EV];
    size_t ev_len[REC_EV];   /* data length, even when not kept */
    uint64_t ev_sum[REC_EV]; /* sum of the data bytes */
    size_t n_ev;
    uint64_t retry[REC_RETRY];
    size_t n_retry;
    span comment[REC_COMMENTS];
    size_t n_comments;
    size_t n_oversize;
    size_t oversize_arg;
    int pause_at; /* on_event returns 1 for this event number (1-based) */
    const sse_parser *parser; /* for sse_parser_line() in on_event */
    uint64_t ev_line[REC_EV]; /* sse_parser_line() at each event */
    uint64_t oversize_line;   /* and at the last on_oversize */
} recorder;

static recorder rec;
static unsigned long feedings;

static span keep(recorder *r, const char *s, size_t n)
{
    span sp = {r->used, n};

    if (n > ARENA - r->used) {
        r->full = 1;
        sp.n = 0;
        return sp;
    }
    if (n > 0)
        memcpy(r->arena + r->used, s, n);
    r->used += n;
    return sp;
}

static int on_event(void *ud, const sse_event *ev)
{
    recorder *r = ud;
    size_t i;

    if (r->n_ev == REC_EV) {
        r->full = 1;
        return 0;
    }
    r->ev_type[r->n_ev] = keep(r, ev->type, ev->type_len);
    r->ev_data[r->n_ev] = keep(r, ev->data, ev->data_len);
    r->ev_id[r->n_ev] = keep(r, ev->id, ev->id_len);
    r->ev_len[r->n_ev] = ev->data_len;
    r->ev_line[r->n_ev] = r->parser ? sse_parser_line(r->parser) : 0;
    r->ev_sum[r->n_ev] = 0;
    for (i = 0; i < ev->data_len; i++)
        r->ev_sum[r->n_ev] += (unsigned char)ev->data[i];
    r->n_ev++;
    return r->pause_at > 0 && (size_t)r->pause_at == r->n_ev;
}

static void on_retry(void *ud, uint64_t ms)
{
    recorder *r = ud;

    if (r->n_retry == REC_RETRY)
        r->full = 1;
    else
        r->retry[r->n_retry++] = ms;
}

static void on_comment(void *ud, const char *text, size_t len)
{
    recorder *r = ud;

    if (r->n_comments == REC_COMMENTS)
        r->full = 1;
    else
        r->comment[r->n_comments++] = keep(r, text, len);
}

static void on_oversize(void *ud, size_t max)
{
    recorder *r = ud;

    r->n_oversize++;
    r->oversize_arg = max;
    r->oversize_line = r->parser ? sse_parser_line(r->parser) : 0;
}

static const sse_settings settings = {on_event, on_retry, on_comment,
                                      on_oversize};

static void rec_reset(recorder *r)
{
    r->used = 0;
    r->full = 0;
    r->n_ev = 0;
    r->n_retry = 0;
    r->n_comments = 0;
    r->n_oversize = 0;
    r->oversize_arg = 0;
    r->pause_at = 0;
    r->parser = NULL;
}

/* Printable form of bytes, for failure messages. */
static const char *show(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0, i;

    for (i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", c);
    }
    if (i < n && o + 4 < cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static int same(const recorder *r, span sp, bytes b)
{
    const char *s = b.s ? b.s : "";

    return sp.n == b.n && (b.n == 0 || memcmp(r->arena + sp.off, s, b.n) == 0);
}

static void check_field(const tcase *tc, const char *how, size_t i,
                        const char *what, span got, bytes want)
{
    char g[200], w[200];

    if (!same(&rec, got, want))
        fail_msg("%s [%s]: event %zu %s is \"%s\", expected \"%s\"", tc->name,
                 how, i, what, show(rec.arena + got.off, got.n, g, sizeof(g)),
                 show(want.s ? want.s : "", want.n, w, sizeof(w)));
}

static void check_u64(const tcase *tc, const char *how, const char *what,
                      uint64_t got, uint64_t want)
{
    if (got != want)
        fail_msg("%s [%s]: %s is %llu, expected %llu", tc->name, how, what,
                 (unsigned long long)got, (unsigned long long)want);
}

/* Compare what the parser did with the row. */
static uint64_t whole_line[REC_EV]; /* event lines of the "whole" feeding */

static void check(const tcase *tc, const sse_parser *p, const char *how)
{
    size_t n_ev = 0, n_com = 0, i, id_len;
    uint64_t lf;
    const char *id;
    span idsp;

    if (rec.full)
        fail_msg("%s [%s]: recorder overflow", tc->name, how);
    while (n_ev < MAX_EV && tc->ev[n_ev].type.s != NULL)
        n_ev++;
    while (n_com < MAX_COMMENTS && tc->comments[n_com].s != NULL)
        n_com++;
    check_u64(tc, how, "number of events", rec.n_ev, n_ev);
    for (i = 0; i < n_ev; i++) {
        check_field(tc, how, i, "type", rec.ev_type[i], tc->ev[i].type);
        check_field(tc, how, i, "data", rec.ev_data[i], tc->ev[i].data);
        check_field(tc, how, i, "id", rec.ev_id[i], tc->ev[i].id);
    }
    check_u64(tc, how, "number of retries", rec.n_retry, tc->n_retry);
    for (i = 0; i < tc->n_retry; i++)
        check_u64(tc, how, "retry", rec.retry[i], tc->retry[i]);
    check_u64(tc, how, "number of comments", rec.n_comments, n_com);
    for (i = 0; i < n_com; i++)
        check_field(tc, how, i, "comment", rec.comment[i], tc->comments[i]);
    id = sse_parser_last_id(p, &id_len);
    /* keep the id in the arena so that check_field can compare it */
    idsp = keep(&rec, id, id_len);
    check_field(tc, how, 0, "last id", idsp, tc->last_id);
    check_u64(tc, how, "id NUL-terminated", (uint64_t)(id[id_len] == '\0'),
              1);
    check_u64(tc, how, "stats.events", p->stats.events, n_ev);
    check_u64(tc, how, "stats.oversize", p->stats.oversize, tc->oversize);
    check_u64(tc, how, "on_oversize calls", rec.n_oversize, tc->oversize);
    if (rec.n_oversize > 0)
        check_u64(tc, how, "on_oversize argument", rec.oversize_arg,
                  tc->max ? tc->max : SSE_DEFAULT_MAX_EVENT_BYTES);
    check_u64(tc, how, "stats.invalid_utf8", p->stats.invalid_utf8,
              tc->invalid_utf8);
    check_u64(tc, how, "stats.ids_ignored", p->stats.ids_ignored,
              tc->ids_ignored);
    check_u64(tc, how, "stats.retry_ignored", p->stats.retry_ignored,
              tc->retry_ignored);
    check_u64(tc, how, "stats.bytes", p->stats.bytes, tc->in.n);
    for (i = 0, lf = 0; i < tc->in.n; i++)
        lf += tc->in.s[i] == '\n';
    check_u64(tc, how, "stats.lf", p->stats.lf, lf);
    /* each event's line is the same however the input was cut */
    if (strcmp(how, "whole") == 0)
        memcpy(whole_line, rec.ev_line, sizeof whole_line);
    for (i = 0; i < rec.n_ev; i++)
        check_u64(tc, how, "line of an event", rec.ev_line[i],
                  whole_line[i]);
}

/* Feed the row's input cut at cuts[0..ncuts) (increasing, inside the
 * input), check the result, then finish and check nothing changed. */
static void feed(const tcase *tc, const size_t *cuts, size_t ncuts,
                 const char *how)
{
    sse_parser p;
    size_t start = 0, i;
    uint64_t events;

    rec_reset(&rec);
    assert_int_equal(sse_parser_init(&p, &settings, &rec, tc->max), SSE_OK);
    rec.parser = &p;
    for (i = 0; i <= ncuts; i++) {
        size_t stop = i < ncuts ? cuts[i] : tc->in.n;
        int rc = sse_parser_execute(&p, tc->in.s + start, stop - start);
        if (rc != SSE_OK)
            fail_msg("%s [%s]: execute returned %d", tc->name, how, rc);
        start = stop;
    }
    check(tc, &p, how);
    events = p.stats.events;
    sse_parser_finish(&p);
    check_u64(tc, how, "events after finish", p.stats.events, events);
    check_u64(tc, how, "callbacks after finish", rec.n_ev, events);
    sse_parser_free(&p);
    feedings++;
}

static void run_case(const tcase *tc)
{
    size_t n = tc->in.n, i, j;
    size_t cut[2];
    size_t *all;
    char how[64];

    feed(tc, NULL, 0, "whole");
    for (i = 1; i < n; i++) {
        cut[0] = i;
        snprintf(how, sizeof(how), "split at %zu", i);
        feed(tc, cut, 1, how);
    }
    if (n > 1) {
        all = malloc((n - 1) * sizeof(*all));
        assert_non_null(all);
        for (i = 1; i < n; i++)
            all[i - 1] = i;
        feed(tc, all, n - 1, "byte by byte");
        free(all);
    }
    if (n <= 48) {
        for (i = 1; i + 1 < n; i++) {
            for (j = i + 1; j < n; j++) {
                cut[0] = i;
                cut[1] = j;
                snprintf(how, sizeof(how), "3 chunks at %zu,%zu", i, j);
                feed(tc, cut, 2, how);
            }
        }
    } else {
        const size_t pts[][2] = {{1, n - 1}, {n / 3, 2 * n / 3},
                                 {n / 2, n / 2 + 1}, {n - 2, n - 1}};
        for (i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
            snprintf(how, sizeof(how), "3 chunks at %zu,%zu", pts[i][0],
                     pts[i][1]);
            feed(tc, pts[i], 2, how);
        }
    }
}

static void run_table(const tcase *t, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        run_case(&t[i]);
}

#define RUN_TABLE(t) run_table((t), sizeof(t) / sizeof((t)[0]))

/* ---- tables ---- */

static const tcase line_end_cases[] = {
    {.name = "lf", .in = B("data: a\n\n"), .ev = {MSG("a")}},
    {.name = "crlf", .in = B("data: a\r\n\r\n"), .ev = {MSG("a")}},
    {.name = "cr", .in = B("data: a\r\r"), .ev = {MSG("a")}},
    {.name = "mixed endings",
     .in = B("data: a\r\ndata: b\rdata: c\n\r\n"),
     .ev = {MSG("a\nb\nc")}},
    {.name = "cr cr lf: the lf belongs to the second cr",
     .in = B("data: a\r\r\ndata: b\n\n"),
     .ev = {MSG("a"), MSG("b")}},
    {.name = "lf cr: two line ends",
     .in = B("data: a\n\rdata: b\r\n\r\n"),
     .ev = {MSG("a"), MSG("b")}},
    {.name = "runs of blank lines",
     .in = B("\n\n\r\n\r\r\r\ndata: x\n\n\n\n\r"),
     .ev = {MSG("x")}},
    {.name = "crlf with all fields",
     .in = B("event: e\r\nid: 1\r\nretry: 9\r\ndata: d\r\n\r\n"),
     .ev = {EV("e", "d", "1")},
     .n_retry = 1,
     .retry = {9},
     .last_id = B("1")},
    {.name = "cr only stream, many events",
     .in = B("data: 1\r\rdata: 2\r\revent: t\rdata: 3\r\r"),
     .ev = {MSG("1"), MSG("2"), EV("t", "3", "")}},
    {.name = "blank line ended by cr at end of input",
     .in = B("data: a\n\r"),
     .ev = {MSG("a")}},
};

static const tcase bom_cases[] = {
    {.name = "bom stripped",
     .in = B("\xEF\xBB\xBF"
             "data: a\n\n"),
     .ev = {MSG("a")}},
    {.name = "second bom is data (unknown field)",
     .in = B("\xEF\xBB\xBF\xEF\xBB\xBF"
             "data: a\n\ndata: b\n\n"),
     .ev = {MSG("b")}},
    {.name = "bom inside data kept",
     .in = B("\xEF\xBB\xBF"
             "data: \xEF\xBB\xBF\n\n"),
     .ev = {MSG("\xEF\xBB\xBF")}},
    {.name = "bom after first line is data",
     .in = B("\n\xEF\xBB\xBF"
             "data: a\n\ndata: b\n\n"),
     .ev = {MSG("b")}},
    {.name = "bom then comment",
     .in = B("\xEF\xBB\xBF:c\ndata:x\n\n"),
     .ev = {MSG("x")},
     .comments = {B("c")}},
    {.name = "bom alone",
     .in = B("\xEF\xBB\xBF"),
    },
    {.name = "truncated bom is one U+FFFD",
     .in = B("\xEF\xBB:x\ndata: b\n\n"),
     .ev = {MSG("b")},
     .invalid_utf8 = 1},
    {.name = "bom then bom-like text in first field",
     .in = B("\xEF\xBB\xBF"
             "\xEF\xBB"
             "data: a\n\n"),
     .invalid_utf8 = 1},
};

static const tcase comment_cases[] = {
    {.name = "comments, no space stripping",
     .in = B(":hello\n: world\n:\ndata: a\n\n"),
     .ev = {MSG("a")},
     .comments = {B("hello"), B(" world"), B("")}},
    {.name = "heartbeats only",
     .in = B(": hb\n\n: hb\r\n"),
     .comments = {B(" hb"), B(" hb")}},
    {.name = "comment inside an event",
     .in = B("data: a\n:c\ndata: b\n\n"),
     .ev = {MSG("a\nb")},
     .comments = {B("c")}},
    {.name = "comment with colons, NUL and cr end",
     .in = B("::x:\0y\r\r"),
     .comments = {B(":x:\0y")}},
};

static const tcase field_cases[] = {
    {.name = "data alone dispatches empty data",
     .in = B("data\n\n"),
     .ev = {MSG("")}},
    {.name = "data: with empty value dispatches",
     .in = B("data:\n\n"),
     .ev = {MSG("")}},
    {.name = "no data: no dispatch, type reset",
     .in = B("event: x\n\ndata: y\n\n"),
     .ev = {MSG("y")}},
    {.name = "one space stripped only",
     .in = B("data:a\n\ndata:  b\n\ndata: \n\ndata:\tc\n\n"),
     .ev = {MSG("a"), MSG(" b"), MSG(""), MSG("\tc")}},
    {.name = "multiline join",
     .in = B("data: a\ndata:\ndata: b\ndata\n\n"),
     .ev = {MSG("a\n\nb\n")}},
    {.name = "only one trailing lf removed",
     .in = B("data\ndata\n\n"),
     .ev = {MSG("\n")}},
    {.name = "event type and its reset",
     .in = B("event: add\ndata: 1\n\ndata: 2\n\n"),
     .ev = {EV("add", "1", ""), MSG("2")}},
    {.name = "empty event type means message",
     .in = B("event:\ndata: 1\n\nevent: a\nevent\ndata: 2\n\n"),
     .ev = {MSG("1"), MSG("2")}},
    {.name = "last event field wins",
     .in = B("event: a\nevent: b\ndata: x\n\n"),
     .ev = {EV("b", "x", "")}},
    {.name = "unknown and near-miss field names ignored",
     .in = B("foo: bar\nDATA: x\nData: y\n data: z\ndata : w\ndat: v\n"
             "datas: u\n\ndata: ok\n\n"),
     .ev = {MSG("ok")}},
    {.name = "colons in value",
     .in = B("data: a:b: c\n\n"),
     .ev = {MSG("a:b: c")}},
    {.name = "NUL in data",
     .in = B("data: a\0b\n\n"),
     .ev = {MSG("a\0b")}},
    {.name = "NUL in field name",
     .in = B("data\0: x\n\n"),
    },
    {.name = "event type with space and NUL kept",
     .in = B("event:  t\0 \ndata: x\n\n"),
     .ev = {EV(" t\0 ", "x", "")}},
};

static const tcase id_cases[] = {
    {.name = "id persists across events",
     .in = B("id: 1\ndata: a\n\ndata: b\n\n"),
     .ev = {EV("message", "a", "1"), EV("message", "b", "1")},
     .last_id = B("1")},
    {.name = "id with NUL ignored",
     .in = B("id: 1\n\nid: 2\0x\ndata: a\n\n"),
     .ev = {EV("message", "a", "1")},
     .last_id = B("1"),
     .ids_ignored = 1},
    {.name = "id-only event sets the id in force",
     .in = B("id: 42\n\n"),
     .last_id = B("42")},
    {.name = "empty id resets",
     .in = B("id: 7\ndata: a\n\nid\ndata: b\n\nid: 8\ndata: c\n\nid:\n"
             "data: d\n\n"),
     .ev = {EV("message", "a", "7"), MSG("b"), EV("message", "c", "8"),
            MSG("d")}},
    {.name = "id of an unfinished event not in force",
     .in = B("id: 5\ndata: a\n\nid: 6\ndata: b\n"),
     .ev = {EV("message", "a", "5")},
     .last_id = B("5")},
    {.name = "id keeps spaces after the first",
     .in = B("id:  x \ndata: a\n\n"),
     .ev = {EV("message", "a", " x ")},
     .last_id = B(" x ")},
    {.name = "id after data in the same event",
     .in = B("data: a\nid: 3\n\n"),
     .ev = {EV("message", "a", "3")},
     .last_id = B("3")},
    {.name = "id with non-ASCII and invalid bytes",
     .in = B("id: \xC3\xA9\xFF\ndata: a\n\n"),
     .ev = {EV("message", "a", "\xC3\xA9\xEF\xBF\xBD")},
     .last_id = B("\xC3\xA9\xEF\xBF\xBD"),
     .invalid_utf8 = 1},
};

static const tcase retry_cases[] = {
    {.name = "retry valid",
     .in = B("retry: 1000\nretry:0\nretry: 007\n"),
     .n_retry = 3,
     .retry = {1000, 0, 7}},
    {.name = "retry invalid",
     .in = B("retry: 1a\nretry:\nretry:  100\nretry: -1\nretry: 1.5\nretry\n"
             "retry: +1\nretry: 1 \n"),
     .retry_ignored = 8},
    {.name = "retry huge saturates",
     .in = B("retry: 18446744073709551615\nretry: 18446744073709551616\n"
             "retry: 99999999999999999999999999999999\n"),
     .n_retry = 3,
     .retry = {UINT64_MAX, UINT64_MAX, UINT64_MAX}},
    {.name = "retry inside an event",
     .in = B("data: a\nretry: 5\n\n"),
     .ev = {MSG("a")},
     .n_retry = 1,
     .retry = {5}},
    {.name = "retry with non-ASCII digits",
     .in = B("retry: \xEF\xBC\x91\nretry: \xD9\xA1\n"),
     .retry_ignored = 2},
};

static const tcase eof_cases[] = {
    {.name = "partial event discarded",
     .in = B("data: a\n\ndata: b\n"),
     .ev = {MSG("a")}},
    {.name = "unterminated line discarded",
     .in = B("data: a\n\ndata: b"),
     .ev = {MSG("a")}},
    {.name = "cr-ended line without blank line",
     .in = B("data: a\r"),
    },
    {.name = "empty input", .in = B("")},
    {.name = "incomplete UTF-8 at end of stream",
     .in = B("data: a\n\ndata: \xE2"),
     .ev = {MSG("a")}},
};

static const tcase utf8_cases[] = {
    {.name = "valid multibyte, split everywhere",
     .in = B("data: \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n\n"),
     .ev = {MSG("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80")}},
    {.name = "boundary code points valid",
     .in = B("data: \xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
             "\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBD\n\n"),
     .ev = {MSG("\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                "\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBD")}},
    {.name = "lone continuations",
     .in = B("data: \x80"
             "a\xBF\n\n"),
     .ev = {MSG("\xEF\xBF\xBD"
                "a\xEF\xBF\xBD")},
     .invalid_utf8 = 2},
    {.name = "truncated 2-byte",
     .in = B("data: \xC3"
             "a\n\n"),
     .ev = {MSG("\xEF\xBF\xBD"
                "a")},
     .invalid_utf8 = 1},
    {.name = "truncated 3-byte",
     .in = B("data: \xE2\x82"
             "a\n\n"),
     .ev = {MSG("\xEF\xBF\xBD"
                "a")},
     .invalid_utf8 = 1},
    {.name = "truncated 4-byte",
     .in = B("data: \xF0\x9F\x98"
             "A\n\n"),
     .ev = {MSG("\xEF\xBF\xBD"
                "A")},
     .invalid_utf8 = 1},
    {.name = "overlong C0 80",
     .in = B("data: \xC0\x80\n\n"),
     .ev = {MSG("\xEF\xBF\xBD\xEF\xBF\xBD")},
     .invalid_utf8 = 2},
    {.name = "overlong E0 80 80",
     .in = B("data: \xE0\x80\x80\n\n"),
     .ev = {MSG("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")},
     .invalid_utf8 = 3},
    {.name = "overlong F0 80 80 80",
     .in = B("data: \xF0\x80\x80\x80\n\n"),
     .ev = {MSG("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")},
     .invalid_utf8 = 4},
    {.name = "surrogate ED A0 80",
     .in = B("data: \xED\xA0\x80\n\n"),
     .ev = {MSG("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")},
     .invalid_utf8 = 3},
    {.name = "above U+10FFFF F4 90 80 80",
     .in = B("data: \xF4\x90\x80\x80\n\n"),
     .ev = {MSG("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")},
     .invalid_utf8 = 4},
    {.name = "bytes never valid",
     .in = B("data: \xFF\xF5\xFE\xC1\n\n"),
     .ev = {MSG("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")},
     .invalid_utf8 = 4},
    {.name = "truncated sequences at line ends",
     .in = B("data: \xE2\x82\ndata: \xF0\x9F\r\n\r"),
     .ev = {MSG("\xEF\xBF\xBD\n\xEF\xBF\xBD")},
     .invalid_utf8 = 2},
    {.name = "lead byte after lead byte",
     .in = B("data: \xE2\xC3\xA9\xF0\xE2\x82\xAC\n\n"),
     .ev = {MSG("\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD\xE2\x82\xAC")},
     .invalid_utf8 = 2},
    {.name = "invalid byte in field name",
     .in = B("d\xFFta: x\n\n"),
     .invalid_utf8 = 1},
    {.name = "invalid bytes in type and id",
     .in = B("event: \xFF\nid: \xC3\ndata: x\n\n"),
     .ev = {EV("\xEF\xBF\xBD", "x", "\xEF\xBF\xBD")},
     .last_id = B("\xEF\xBF\xBD"),
     .invalid_utf8 = 2},
    {.name = "truncated sequence before colon",
     .in = B("data\xE2\x82: x\n\ndata\n\n"),
     .ev = {MSG("")},
     .invalid_utf8 = 1},
};

static const tcase oversize_cases[] = {
    {.name = "long line skipped, next event parsed",
     .in = B("data: 0123456789abcdefg\n\ndata: ok\n\n"),
     .max = 16,
     .ev = {MSG("ok")},
     .oversize = 1},
    {.name = "line of exactly max bytes fits",
     .in = B("data: 0123456789\n\n"),
     .max = 16,
     .ev = {MSG("0123456789")}},
    {.name = "data line of max bytes of data fits (the line is longer)",
     .in = B("data: 0123456789abcdef\n\n"),
     .max = 16,
     .ev = {MSG("0123456789abcdef")}},
    {.name = "data of max + 1 bytes skipped (line within its slack)",
     .in = B("data:0123456789abcdefg\n\ndata: ok\n\n"),
     .max = 16,
     .ev = {MSG("ok")},
     .oversize = 1},
    {.name = "data over many lines skipped, resync",
     .in = B("data: 1234\ndata: 5678\ndata: 9abc\ndata: d\ndata: e\n\n"
             "data: ok\n\n"),
     .max = 16,
     .ev = {MSG("ok")},
     .oversize = 1},
    {.name = "data buffer of exactly max bytes fits",
     .in = B("data: 1234\ndata: 5678\ndata: 9abcd\n\n"),
     .max = 16,
     .ev = {MSG("1234\n5678\n9abcd")}},
    {.name = "skipped event's ids ignored",
     .in = B("id: 1\ndata: a\n\nid: 2\ndata: 0123456789abcdefg\nid: 3\n\n"
             "data: b\n\n"),
     .max = 16,
     .ev = {EV("message", "a", "1"), EV("message", "b", "1")},
     .last_id = B("1"),
     .oversize = 1},
    {.name = "oversize with crlf",
     .in = B("data: a\r\n\r\ndata: 0123456789abcdefgh\r\ndata: x\r\n\r\n"
             "data: ok\r\n\r\n"),
     .max = 16,
     .ev = {MSG("a"), MSG("ok")},
     .oversize = 1},
    {.name = "oversize ended by cr blank line",
     .in = B("data: 0123456789abcdefgh\r\rdata: ok\r\r"),
     .max = 16,
     .ev = {MSG("ok")},
     .oversize = 1},
    {.name = "over-long comment dropped alone",
     .in = B("data: a\n:0123456789abcdefghijklm\ndata: b\n\n"),
     .max = 16,
     .ev = {MSG("a\nb")},
     .oversize = 1},
    {.name = "everything in a skipped event ignored",
     .in = B("data: 0123456789abcdefg\nretry: 5\n:c\nid\0\ndata: y\n\n"
             "data: x\n\n"),
     .max = 16,
     .ev = {MSG("x")},
     .oversize = 1},
    {.name = "retry before the overflow applied",
     .in = B("retry: 5\ndata: 0123456789abcdefg\n\ndata: x\n\n"),
     .max = 16,
     .ev = {MSG("x")},
     .n_retry = 1,
     .retry = {5},
     .oversize = 1},
    {.name = "overflow on a multibyte character",
     .in = B("data:\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\n\n"
             "data:ok\n\n"),
     .max = 8,
     .ev = {MSG("ok")},
     .oversize = 1},
    {.name = "invalid UTF-8 in skipped bytes not counted",
     .in = B("data: 0123456789\xFF\n\ndata:\xFF\n\n"),
     .max = 8,
     .ev = {MSG("\xEF\xBF\xBD")},
     .oversize = 1,
     .invalid_utf8 = 1},
    {.name = "overflow by U+FFFD at the line end",
     .in = B("data:abcdefg\xE2\n\ndata:c\n\n"),
     .max = 8,
     .ev = {MSG("c")},
     .oversize = 1,
     .invalid_utf8 = 1},
    {.name = "two oversize events in a row",
     .in = B("data:0123456789\n\nevent:0123456789\n\ndata:x\n\n"),
     .max = 8,
     .ev = {MSG("x")},
     .oversize = 2},
    {.name = "oversize then stream ends",
     .in = B("data: a\n\ndata: 0123456789abcdefgh"),
     .max = 16,
     .ev = {MSG("a")},
     .oversize = 1},
    {.name = "fuzz: unterminated line over a 1-byte cap counted at once",
     .in = B("\x07"
             "e\x07:0vexx"),
     .max = 1,
     .oversize = 1},
    {.name = "1-byte cap: blank lines and lines of 7 bytes at most fit",
     .in = B("\n:\nd\n\n\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\n\n"),
     .max = 1,
     .comments = {B("")},
     .oversize = 1},
    {.name = "event type and data kept before overflow are dropped",
     .in = B("event: t\ndata: a\ndata: 0123456789ab\n\ndata: b\n\n"),
     .max = 12,
     .ev = {MSG("b")},
     .oversize = 1},
};

/* ---- table tests ---- */

static void test_line_endings(void **state)
{
    (void)state;
    RUN_TABLE(line_end_cases);
}

static void test_bom(void **state)
{
    (void)state;
    RUN_TABLE(bom_cases);
}

static void test_comments(void **state)
{
    (void)state;
    RUN_TABLE(comment_cases);
}

static void test_fields(void **state)
{
    (void)state;
    RUN_TABLE(field_cases);
}

static void test_ids(void **state)
{
    (void)state;
    RUN_TABLE(id_cases);
}

static void test_retry(void **state)
{
    (void)state;
    RUN_TABLE(retry_cases);
}

static void test_end_of_stream(void **state)
{
    (void)state;
    RUN_TABLE(eof_cases);
}

static void test_utf8(void **state)
{
    (void)state;
    RUN_TABLE(utf8_cases);
}

static void test_oversize(void **state)
{
    (void)state;
    RUN_TABLE(oversize_cases);
}

/* ---- rows built at run time (sizes at the caps) ---- */

/* Append s[0..n) to buf at *o (caller sized buf). */
static void put(char *buf, size_t *o, const char *s, size_t n)
{
    memcpy(buf + *o, s, n);
    *o += n;
}

static void put_fill(char *buf, size_t *o, char c, size_t n)
{
    memset(buf + *o, c, n);
    *o += n;
}

/* An id of SSE_LAST_ID_MAX-1 bytes is kept, one of SSE_LAST_ID_MAX is
 * ignored and counted. */
static void test_id_length_cap(void **state)
{
    size_t cap = 2 * SSE_LAST_ID_MAX + 64, o = 0;
    char *in = malloc(cap);
    char *id = malloc(SSE_LAST_ID_MAX);
    tcase tc;

    (void)state;
    assert_non_null(in);
    assert_non_null(id);
    memset(id, 'x', SSE_LAST_ID_MAX);
    put(in, &o, "id: ", 4);
    put(in, &o, id, SSE_LAST_ID_MAX - 1);
    put(in, &o, "\ndata: a\n\nid: ", 14);
    put_fill(in, &o, 'y', SSE_LAST_ID_MAX);
    put(in, &o, "\ndata: b\n\n", 10);
    memset(&tc, 0, sizeof(tc));
    tc.name = "id length cap";
    tc.in.s = in;
    tc.in.n = o;
    tc.ev[0] = (exp_event)EV("message", "a", "");
    tc.ev[0].id.s = id;
    tc.ev[0].id.n = SSE_LAST_ID_MAX - 1;
    tc.ev[1] = tc.ev[0];
    tc.ev[1].data = (bytes)B("b");
    tc.last_id = tc.ev[0].id;
    tc.ids_ignored = 1;
    run_case(&tc);
    free(in);
    free(id);
}

/* The event type buffer holds 256 bytes; 257 skips the event. */
static void test_event_type_cap(void **state)
{
    char in[700], type[257];
    size_t o = 0;
    tcase tc;

    (void)state;
    memset(type, 'e', sizeof(type));
    put(in, &o, "event: ", 7);
    put(in, &o, type, 256);
    put(in, &o, "\ndata: a\n\nevent: ", 17);
    put_fill(in, &o, 'f', 257);
    put(in, &o, "\ndata: b\n\ndata: c\n\n", 19);
    memset(&tc, 0, sizeof(tc));
    tc.name = "event type cap";
    tc.in.s = in;
    tc.in.n = o;
    tc.ev[0].type.s = type;
    tc.ev[0].type.n = 256;
    tc.ev[0].data = (bytes)B("a");
    tc.ev[0].id = (bytes)B("");
    tc.ev[1] = (exp_event)MSG("c");
    tc.oversize = 1;
    run_case(&tc);
}

/* The default cap (1 MiB) counts the data: a data line of exactly the cap
 * fits ("data: " and 1 MiB, as the WHATWG reference client takes it), as
 * do data lines joined to exactly the cap; one byte more skips the event.
 * Too long to feed at every split (and its event is larger than the
 * recorder's arena): fed whole and in a few chunk sizes, with the big
 * events checked by length and content. */
static void test_default_cap(void **state)
{
    static const size_t chunks[] = {0, 1, 4093, 16384};
    size_t max = SSE_DEFAULT_MAX_EVENT_BYTES, o = 0, i;
    char *in = malloc(4 * max + 64);

    (void)state;
    assert_non_null(in);
    put(in, &o, "data: ", 6);
    put_fill(in, &o, 'a', max); /* max bytes of data */
    put(in, &o, "\n\ndata: ", 8);
    put_fill(in, &o, 'b', max + 1); /* one byte too many */
    put(in, &o, "\n\ndata:", 7);
    put_fill(in, &o, 'c', max / 2); /* two lines joined: max bytes */
    put(in, &o, "\ndata:", 6);
    put_fill(in, &o, 'c', max - max / 2 - 1);
    put(in, &o, "\n\ndata: z\n\n", 11);
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        sse_parser p;
        size_t off = 0;

        rec_reset(&rec);
        assert_int_equal(sse_parser_init(&p, &settings, &rec, 0), SSE_OK);
        while (off < o) {
            size_t n = chunks[i] && chunks[i] < o - off ? chunks[i] : o - off;
            assert_int_equal(sse_parser_execute(&p, in + off, n), SSE_OK);
            off += n;
        }
        assert_int_equal(p.stats.events, 3);
        assert_int_equal(p.stats.oversize, 1);
        assert_int_equal(rec.n_oversize, 1);
        assert_int_equal(rec.oversize_arg, max);
        assert_int_equal(rec.n_ev, 3);
        assert_int_equal(rec.ev_len[0], max);
        assert_int_equal(rec.ev_sum[0], (uint64_t)'a' * max);
        assert_int_equal(rec.ev_len[1], max);
        assert_int_equal(rec.ev_sum[1], (uint64_t)'c' * (max - 1) + '\n');
        assert_true(same(&rec, rec.ev_data[2], (bytes)B("z")));
        sse_parser_free(&p);
        feedings++;
    }
    free(in);
}

/* ---- behaviour outside the tables ---- */

static void test_pause_and_resume(void **state)
{
    static const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    size_t n = sizeof(in) - 1, split;

    (void)state;
    /* the pause must land at the same place whatever the chunking */
    for (split = 0; split <= n; split++) {
        sse_parser p;
        size_t consumed;
        int rc;

        rec_reset(&rec);
        rec.pause_at = 1;
        assert_int_equal(sse_parser_init(&p, &settings, &rec, 0), SSE_OK);
        rc = sse_parser_execute(&p, in, split);
        if (rc == SSE_OK)
            rc = sse_parser_execute(&p, in + split, n - split);
        assert_int_equal(rc, SSE_EPAUSED);
        assert_int_equal(rec.n_ev, 1);
        assert_int_equal(p.stats.events, 1);
        consumed = (size_t)p.stats.bytes;
        assert_int_equal(consumed, 9); /* up to the end of the blank line */
        /* sticky: nothing consumed, nothing dispatched */
        assert_int_equal(sse_parser_execute(&p, in + consumed, n - consumed),
                         SSE_EPAUSED);
        assert_int_equal(sse_parser_execute(&p, "", 0), SSE_EPAUSED);
        assert_int_equal(p.stats.bytes, 9);
        assert_int_equal(rec.n_ev, 1);
        /* reset resumes */
        sse_parser_reset_stream(&p);
        assert_int_equal(sse_parser_execute(&p, in + consumed, n - consumed),
                         SSE_OK);
        assert_int_equal(rec.n_ev, 3);
        assert_true(same(&rec, rec.ev_data[1], (bytes)B("2")));
        assert_true(same(&rec, rec.ev_data[2], (bytes)B("3")));
        sse_parser_free(&p);
        feedings++;
    }
}

static void test_pause_on_cr(void **state)
{
    static const char in[] = "data: 1\r\r\ndata: 2\r\r";
    sse_parser p;

    (void)state;
    rec_reset(&rec);
    rec.pause_at = 2;
    assert_int_equal(sse_parser_init(&p, &settings, &rec, 0), SSE_OK);
    assert_int_equal(sse_parser_execute(&p, in, sizeof(in) - 1), SSE_EPAUSED);
    assert_int_equal(rec.n_ev, 2);
    assert_int_equal(p.stats.bytes, sizeof(in) - 1);
    sse_parser_free(&p);
}

static void test_reset_stream(void **state)
{
    sse_parser p;
    const char *id;
    size_t len;

    (void)state;
    rec_reset(&rec);
    assert_int_equal(sse_parser_init(&p, &settings, &rec, 0), SSE_OK);
    /* a partial event with a new id, cut by a reconnect */
    assert_int_equal(
        sse_parser_execute(&p, "id: 1\ndata: a\n\nid: 2\ndata: partial\n", 35),
        SSE_OK);
    assert_int_equal(rec.n_ev, 1);
    sse_parser_reset_stream(&p);
    id = sse_parser_last_id(&p, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(id, "1", 1);
    /* BOM handled again; the id in force is still 1 */
    assert_int_equal(sse_parser_execute(&p, "\xEF\xBB\xBF"
                                            "data: b\n\n",
                                        12),
                     SSE_OK);
    assert_int_equal(rec.n_ev, 2);
    assert_true(same(&rec, rec.ev_data[1], (bytes)B("b")));
    assert_true(same(&rec, rec.ev_id[1], (bytes)B("1")));
    /* a pending UTF-8 sequence does not survive a reset */
    assert_int_equal(sse_parser_execute(&p, "data: \xE2\x82", 8), SSE_OK);
    sse_parser_reset_stream(&p);
    assert_int_equal(sse_parser_execute(&p, "data: c\n\n", 9), SSE_OK);
    assert_int_equal(rec.n_ev, 3);
    assert_true(same(&rec, rec.ev_data[2], (bytes)B("c")));
    assert_int_equal(p.stats.invalid_utf8, 0);
    /* nor a CR waiting for its LF: the LF is a blank line of the new
     * stream, and the pending data is gone */
    assert_int_equal(sse_parser_execute(&p, "data: d\r", 8), SSE_OK);
    sse_parser_reset_stream(&p);
    assert_int_equal(sse_parser_execute(&p, "\ndata: e\n\n", 10), SSE_OK);
    assert_int_equal(rec.n_ev, 4);
    assert_true(same(&rec, rec.ev_data[3], (bytes)B("e")));
    /* nor an oversize skip */
    sse_parser_free(&p);
    assert_int_equal(sse_parser_init(&p, &settings, &rec, 8), SSE_OK);
    assert_int_equal(sse_parser_execute(&p, "data: 0123456789\n", 17), SSE_OK);
    assert_int_equal(p.stats.oversize, 1);
    sse_parser_reset_stream(&p);
    assert_int_equal(sse_parser_execute(&p, "data:f\n\n", 8), SSE_OK);
    assert_int_equal(rec.n_ev, 5);
    assert_true(same(&rec, rec.ev_data[4], (bytes)B("f")));
    /* stats survive */
    assert_int_equal(p.stats.oversize, 1);
    sse_parser_free(&p);
}

static void test_finish(void **state)
{
    sse_parser p;

    (void)state;
    rec_reset(&rec);
    assert_int_equal(sse_parser_init(&p, &settings, &rec, 0), SSE_OK);
    assert_int_equal(sse_parser_execute(&p, "id: 9\ndata: a\n", 14), SSE_OK);
    sse_parser_finish(&p);
    assert_int_equal(rec.n_ev, 0);
    /* the blank line after finish ends nothing: the event is gone */
    assert_int_equal(sse_parser_execute(&p, "\n", 1), SSE_OK);
    assert_int_equal(rec.n_ev, 0);
    assert_int_equal(p.stats.events, 0);
    assert_string_equal(sse_parser_last_id(&p, NULL), "");
    sse_parser_free(&p);
    sse_parser_free(&p); /* twice is harmless */
}

static void test_set_last_id(void **state)
{
    sse_parser p;
    size_t len = 99;
    char big[SSE_LAST_ID_MAX + 1];

    (void)state;
    rec_reset(&rec);
    assert_int_equal(sse_parser_init(&p, &settings, &rec, 0), SSE_OK);
    assert_string_equal(sse_parser_last_id(&p, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(sse_parser_set_last_id(&p, "abc", 3), SSE_OK);
    assert_string_equal(sse_parser_last_id(&p, &len), "abc");
    assert_int_equal(len, 3);
    /* NUL rejected, the id unchanged */
    assert_int_equal(sse_parser_set_last_id(&p, "a\0c", 3), SSE_EINVAL);
    assert_string_equal(sse_parser_last_id(&p, &len), "abc");
    /* too long rejected; the longest accepted */
    memset(big, 'q', sizeof(big));
    assert_int_equal(sse_parser_set_last_id(&p, big, SSE_LAST_ID_MAX),
                     SSE_EINVAL);
    assert_int_equal(sse_parser_set_last_id(&p, NULL, 3), SSE_EINVAL);
    assert_string_equal(sse_parser_last_id(&p, &len), "abc");
    /* used by the next event, and by the next stream */
    assert_int_equal(sse_parser_execute(&p, "data: a\n\n", 9), SSE_OK);
    assert_true(same(&rec, rec.ev_id[0], (bytes)B("abc")));
    sse_parser_reset_stream(&p);
    assert_int_equal(sse_parser_execute(&p, "data: b\n\n", 9), SSE_OK);
    assert_true(same(&rec, rec.ev_id[1], (bytes)B("abc")));
    assert_int_equal(sse_parser_set_last_id(&p, big, SSE_LAST_ID_MAX - 1),
                     SSE_OK);
    sse_parser_last_id(&p, &len);
    assert_int_equal(len, SSE_LAST_ID_MAX - 1);
    /* the empty id */
    assert_int_equal(sse_parser_set_last_id(&p, NULL, 0), SSE_OK);
    assert_string_equal(sse_parser_last_id(&p, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(sse_parser_execute(&p, "data: c\n\n", 9), SSE_OK);
    assert_true(same(&rec, rec.ev_id[2], (bytes)B("")));
    sse_parser_free(&p);
}

/* sse_parser_line() names the line of an event's first field (comments and
 * blank lines before it do not count), numbered at LF only: CR-ended lines
 * share a number.  An oversize event is named by its first line too, and
 * sse_parser_finish() returns the line of the event it discards.  Fed
 * whole, byte by byte, and cut at every point. */
static void test_line_numbers(void **state)
{
    static const char in[] =
        ": hello\n"                    /* 1 */
        "\n"                           /* 2 */
        "id: 1\n"                      /* 3: event A */
        "data: a\n"                    /* 4 */
        "\n"                           /* 5 */
        "data: b\r\n"                  /* 6: event B */
        "\r\n"                         /* 7 */
        ": c\n"                        /* 8 */
        "data: c\rdata: d\r\r\n"       /* 9: event C, ended by CR */
        "event: x\ndata: 0123456789abcdefgh\n" /* 10, 11: oversize */
        "\n"                           /* 12 */
        "data: e";                     /* 13: discarded at the end */
    const size_t n = sizeof in - 1;

    (void)state;
    for (size_t cut = 0; cut <= n + 1; cut++) {
        sse_parser p;

        rec_reset(&rec);
        assert_int_equal(sse_parser_init(&p, &settings, &rec, 16), SSE_OK);
        rec.parser = &p;
        if (cut == n + 1) { /* byte by byte */
            for (size_t i = 0; i < n; i++)
                assert_int_equal(sse_parser_execute(&p, in + i, 1), SSE_OK);
        } else {
            assert_int_equal(sse_parser_execute(&p, in, cut), SSE_OK);
            assert_int_equal(sse_parser_execute(&p, in + cut, n - cut),
                             SSE_OK);
        }
        assert_int_equal(rec.n_ev, 3);
        assert_int_equal(rec.ev_line[0], 3);
        assert_int_equal(rec.ev_line[1], 6);
        assert_int_equal(rec.ev_line[2], 9);
        assert_int_equal(rec.n_oversize, 1);
        assert_int_equal(rec.oversize_line, 10);
        assert_int_equal(p.stats.lf, 12);
        assert_int_equal(sse_parser_line(&p), 13);
        assert_int_equal(sse_parser_finish(&p), 13);
        assert_int_equal(sse_parser_finish(&p), 0);
        sse_parser_free(&p);
    }
    /* nothing pending: a comment, or a blank line, at the end */
    {
        sse_parser p;

        rec_reset(&rec);
        assert_int_equal(sse_parser_init(&p, &settings, &rec, 0), SSE_OK);
        assert_int_equal(sse_parser_execute(&p, "data: a\n\n: tail", 15),
                         SSE_OK);
        assert_int_equal(sse_parser_finish(&p), 0);
        /* the count goes on across streams, as stats.bytes does */
        assert_int_equal(sse_parser_execute(&p, "data: a\n", 8), SSE_OK);
        assert_int_equal(sse_parser_finish(&p), 3);
        sse_parser_free(&p);
    }
}

static void test_arguments(void **state)
{
    sse_parser p;

    (void)state;
    assert_int_equal(sse_parser_init(NULL, &settings, NULL, 0), SSE_EINVAL);
    /* no callbacks at all is fine */
    assert_int_equal(sse_parser_init(&p, NULL, NULL, 0), SSE_OK);
    assert_int_equal(sse_parser_execute(&p, "retry: 1\n:c\ndata: a\n\n", 21),
                     SSE_OK);
    assert_int_equal(p.stats.events, 1);
    assert_int_equal(sse_parser_execute(&p, NULL, 0), SSE_OK);
    assert_int_equal(sse_parser_execute(&p, NULL, 1), SSE_EINVAL);
    assert_int_equal(sse_parser_execute(NULL, "x", 1), SSE_EINVAL);
    assert_int_equal(sse_parser_set_last_id(NULL, "x", 1), SSE_EINVAL);
    sse_parser_free(&p);
    /* a freed parser refuses input */
    assert_int_equal(sse_parser_execute(&p, "x", 1), SSE_EINVAL);
    sse_parser_free(NULL);
    sse_parser_reset_stream(NULL);
    assert_string_equal(sse_strerror(SSE_OK), "ok");
    assert_string_equal(sse_strerror(SSE_ENOMEM), "out of memory");
    assert_string_equal(sse_strerror(SSE_EINVAL), "invalid argument");
    assert_string_equal(sse_strerror(SSE_EPAUSED), "paused by a callback");
    assert_string_equal(sse_strerror(12345), "unknown error");
}

static void test_many_events(void **state)
{
    /* a long stream in odd chunk sizes: count and content of every event */
    char *in = malloc(1 << 20);
    size_t o = 0, i, chunk;

    (void)state;
    assert_non_null(in);
    for (i = 0; i < 2000; i++) {
        int k = snprintf(in + o, 200, "id: %zu\r\nevent: e%zu\ndata: {\"n\":%zu}"
                                      "\n%s\n",
                         i, i % 3, i, i % 100 == 0 ? ": hb\n" : "");
        o += (size_t)k;
    }
    for (chunk = 1; chunk < 40; chunk += 7) {
        sse_parser p;
        size_t off = 0;

        rec_reset(&rec);
        assert_int_equal(sse_parser_init(&p, NULL, NULL, 0), SSE_OK);
        while (off < o) {
            size_t n = chunk < o - off ? chunk : o - off;
            assert_int_equal(sse_parser_execute(&p, in + off, n), SSE_OK);
            off += n;
        }
        assert_int_equal(p.stats.events, 2000);
        assert_string_equal(sse_parser_last_id(&p, NULL), "1999");
        sse_parser_free(&p);
        feedings++;
    }
    free(in);
}

static int report(void **state)
{
    (void)state;
    print_message("sse: %lu feedings\n", feedings);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_end_of_stream),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_id_length_cap),
        cmocka_unit_test(test_event_type_cap),
        cmocka_unit_test(test_default_cap),
        cmocka_unit_test(test_pause_and_resume),
        cmocka_unit_test(test_pause_on_cr),
        cmocka_unit_test(test_reset_stream),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_set_last_id),
        cmocka_unit_test(test_line_numbers),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_many_events),
    };

    return cmocka_run_group_tests(tests, NULL, report);
}
