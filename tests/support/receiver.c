/*
 * receiver.c - scriptable HTTP/1.1 webhook receiver for tests (see
 * receiver.h).
 *
 * One thread runs a poll() loop over: a self-pipe (rcv_set_down() and
 * rcv_stop() wake it), the listening socket (left out while down, or while
 * RCV_MAX_CONNS connections are open so that more wait in the backlog), and
 * every open connection.  A connection moves through
 *   READ   a push parser (enum pstate) runs over the input buffer; a
 *          complete request is recorded and given the next action;
 *   WAIT   the action's delay runs on a deadline (due_us) that bounds the
 *          poll timeout; then ANSWER -> SEND, DROP -> reset, HANG -> HANG;
 *   SEND   writing the response; then READ again (keep-alive: pipelined
 *          bytes already buffered are parsed at once) or DRAIN;
 *   HANG   silent until the client leaves (or down / stop);
 *   DRAIN  our sending side is shut (SHUT_WR); reading and discarding until
 *          the client closes, so that unread bytes never make the kernel
 *          reset the connection before the client has read the response;
 *          closed after DRAIN_MS at the latest.
 *
 * Invariants:
 *  - the thread holds r->net.mu whenever it touches connections, records or
 *    the script, and never while it sleeps in poll(); API calls take the
 *    same mutex and touch only the script, the records and the down
 *    request, never a connection, so the poll set built before poll() still
 *    matches the connection array after it;
 *  - a record is filled while it belongs to its connection and published
 *    (r->recs) under the mutex; after that only end_ms and status change
 *    (under the mutex), and its strings and body never move or change
 *    until rcv_stop(), so views from rcv_get() are read without the lock;
 *  - the condition variable (CLOCK_MONOTONIC) is broadcast whenever a
 *    request completes, a request ends, or a down request has been done;
 *  - the input buffer is RCV_MAX_HEADER_BLOCK bytes; the parser consumes
 *    body bytes as they come, so only a header block, a chunk-size line or
 *    a trailer line ever has to fit in it; bytes that arrive while a request
 *    is being answered wait there (pipelining) and are parsed afterwards;
 *  - out[0..out_ready) may be sent now; out[out_ready..out_len) is a
 *    response held back by a delay;
 *  - deadlines are microseconds (no early wake-ups from rounding); public
 *    times are milliseconds of the same clock;
 *  - sockets, the thread, the lock and the self-pipe are tcp.h's: sockets
 *    are non-blocking and close-on-exec, writes never raise SIGPIPE.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "tests/support/receiver.h"

#include "tests/support/tcp.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DRAIN_MS 2000          /* give up waiting for the client to close */
#define LISTEN_BACKLOG 128
#define HEAD_MAX 8192          /* an action's status line + header lines */
#define CHUNK_LINE_MAX 1024    /* a chunk-size line with its extensions */
#define SET_DOWN_WAIT_MS 5000  /* rcv_set_down() waits this long at most */
#define DELAY_MAX_MS (3600u * 1000u)

static const char empty[] = "";
static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* A deep copy of a scripted action.  head is the status line and the
 * caller's header lines, each ending in CRLF; the framing headers and the
 * blank line are added per answer. */
struct act {
    enum rcv_kind kind;
    int status;
    unsigned delay_ms;
    bool close;
    char *head;
    size_t head_len;
    unsigned char *body;
    size_t body_len;
};

/* One request.  pub's pointers point into block, hdrs and body. */
struct rec {
    struct rcv_request pub;
    char *block; /* header block; strings NUL-terminated in place */
    struct rcv_header *hdrs;
    unsigned char *body;
    size_t body_cap; /* bytes allocated for body, counted in r->stored */
};

enum cstate { C_READ, C_WAIT, C_SEND, C_HANG, C_DRAIN };

enum pstate {
    P_HEAD,       /* collecting the header block */
    P_BODY,       /* Content-Length body: `left` bytes to go (maybe 0) */
    P_CHUNK_SIZE, /* chunked: waiting for a whole chunk-size line */
    P_CHUNK_DATA, /* chunked: `left` bytes of chunk data to go */
    P_CHUNK_CRLF, /* chunked: the line end after the chunk data */
    P_TRAILER     /* chunked: trailer lines, up to the empty line */
};

struct conn {
    int fd;
    uint64_t id;
    enum cstate state;
    enum pstate ps;
    char *in; /* RCV_MAX_HEADER_BLOCK bytes: input not yet parsed */
    size_t in_len;
    size_t scanned;  /* P_HEAD: in[0..scanned) holds no block end start */
    size_t nreq;     /* requests started on this connection */
    struct rec *cur; /* the request being parsed (owned), or NULL */
    size_t cur_idx;  /* record being answered; SIZE_MAX: none */
    uint64_t left;
    size_t trailer_len;
    bool keep;     /* keep the connection after this response */
    bool http10;   /* the request was HTTP/1.0 */
    bool head_req; /* HEAD: the response has no body */
    enum rcv_kind todo; /* WAIT: what to do when due */
    int status;         /* status of the response being sent */
    int64_t due_us;
    int64_t drain_until_us;
    char *out;
    size_t out_len, out_off, out_ready, out_cap;
};

struct rcv {
    struct tcp_server net; /* thread, mu, cv, stop; lfd -1 while down */

    bool want_down;
    uint64_t down_req, down_ack; /* rcv_set_down() calls asked / done */
    int down_rc;

    struct act **script;
    size_t nscript, script_cap, script_pos;
    struct act *dflt;

    struct rec **recs; /* RCV_MAX_REQUESTS slots */
    size_t nrecs;      /* recorded */
    size_t nseen;      /* completed, recorded or not */
    size_t stored;     /* body bytes allocated by records */

    struct conn conns[RCV_MAX_CONNS];
    size_t nconns;
    uint64_t conns_total;
};

/* ------------------------------ helpers ------------------------------ */

int64_t rcv_now_ms(void)
{
    return tcp_now_ms();
}

const char *rcv_strerror(int rc)
{
    switch (rc) {
    case RCV_OK: return "ok";
    case RCV_EINVAL: return "invalid argument";
    case RCV_ENOMEM: return "out of memory";
    case RCV_ESOCKET: return "cannot open the listening socket";
    case RCV_EFULL: return "script full";
    default: return "unknown error";
    }
}

static const char *reason_for(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

/* RFC 9110 tchar: the characters of a method or a header name. */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Bounded append to a fixed buffer; returns -1 when it does not fit. */
static int app(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n > cap - *len)
        return -1;
    memcpy(buf + *len, s, n);
    *len += n;
    return 0;
}

/* Does the comma-separated list v hold token tok (case-insensitive)? */
static bool has_token(const char *v, const char *tok)
{
    size_t tn = strlen(tok);

    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *s = v;
        while (*v && *v != ',')
            v++;
        const char *e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tn && strncasecmp(s, tok, tn) == 0)
            return true;
    }
    return false;
}

/* Digits only, at least one; values above RCV_MAX_BODY are clamped to
 * RCV_MAX_BODY + 1 (no overflow).  Returns false if v is not a number. */
static bool parse_length(const char *v, uint64_t *out)
{
    uint64_t x = 0;

    if (*v == '\0')
        return false;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return false;
        x = x * 10 + (uint64_t)(*v - '0');
        if (x > RCV_MAX_BODY)
            x = (uint64_t)RCV_MAX_BODY + 1;
    }
    *out = x;
    return true;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* ------------------------------ actions ------------------------------ */

/* Length of the name of a caller's header line, or 0 if the line is not
 * "token: value" without CR/LF or names a header the server writes. */
static size_t check_header_line(const char *line)
{
    static const char *const owned[] = {"content-length", "transfer-encoding",
                                        "connection"};
    size_t n = 0;

    while (is_tchar((unsigned char)line[n]))
        n++;
    if (n == 0 || line[n] != ':' || strpbrk(line, "\r\n"))
        return 0;
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strlen(owned[i]) == n && strncasecmp(line, owned[i], n) == 0)
            return 0;
    return n;
}

/* Format the status line and a->headers into a new heap buffer. */
static int format_head(const struct rcv_action *a, int status, char **out,
                       size_t *out_len)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = RCV_ENOMEM;
    int n;

    buf = malloc(HEAD_MAX);
    if (!buf)
        goto out;
    rc = RCV_EINVAL;
    n = snprintf(buf, HEAD_MAX, "HTTP/1.1 %d %s\r\n", status,
                 reason_for(status));
    if (n < 0 || n >= HEAD_MAX)
        goto out;
    len = (size_t)n;
    for (size_t i = 0; i < RCV_MAX_RESP_HEADERS && a->headers[i]; i++) {
        const char *h = a->headers[i];
        if (check_header_line(h) == 0 ||
            app(buf, HEAD_MAX, &len, h, strlen(h)) ||
            app(buf, HEAD_MAX, &len, "\r\n", 2))
            goto out;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = RCV_OK;
out:
    free(buf);
    return rc;
}

static void act_free(struct act *x)
{
    if (!x)
        return;
    free(x->head);
    free(x->body);
    free(x);
}

/* Validate a and deep-copy it into *out. */
static int act_copy(const struct rcv_action *a, struct act **out)
{
    struct act *x = NULL;
    int status = a->status ? a->status : 200;
    int rc = RCV_EINVAL;

    if (a->kind != RCV_ANSWER && a->kind != RCV_DROP && a->kind != RCV_HANG)
        goto out;
    if (a->kind == RCV_ANSWER && (status < 200 || status > 999))
        goto out;
    if (a->body_len > RCV_MAX_RESP_BODY || (a->body_len > 0 && !a->body) ||
        a->delay_ms > DELAY_MAX_MS)
        goto out;
    rc = RCV_ENOMEM;
    x = calloc(1, sizeof *x);
    if (!x)
        goto out;
    x->kind = a->kind;
    x->status = status;
    x->delay_ms = a->delay_ms;
    x->close = a->close;
    if (a->kind == RCV_ANSWER) {
        rc = format_head(a, status, &x->head, &x->head_len);
        if (rc != RCV_OK)
            goto out;
        rc = RCV_ENOMEM;
        if (a->body_len > 0) {
            x->body = malloc(a->body_len);
            if (!x->body)
                goto out;
            memcpy(x->body, a->body, a->body_len);
            x->body_len = a->body_len;
        }
    }
    *out = x;
    x = NULL;
    rc = RCV_OK;
out:
    act_free(x);
    return rc;
}

/* ------------------------------ records ------------------------------ */

static struct rec *rec_new(struct conn *c, int64_t now_us)
{
    struct rec *rec = calloc(1, sizeof *rec);

    if (!rec)
        return NULL;
    rec->pub.conn_id = c->id;
    rec->pub.conn_seq = c->nreq++;
    rec->pub.arrival_ms = now_us / 1000;
    rec->pub.method = rec->pub.path = rec->pub.version = empty;
    return rec;
}

static void rec_free(struct rcv *r, struct rec *rec)
{
    if (!rec)
        return;
    r->stored -= rec->body_cap;
    free(rec->body);
    free(rec->hdrs);
    free(rec->block);
    free(rec);
}

/* Give up keeping rec's body (the length is still counted). */
static void body_lose(struct rcv *r, struct rec *rec)
{
    r->stored -= rec->body_cap;
    free(rec->body);
    rec->body = NULL;
    rec->body_cap = 0;
    rec->pub.body_lost = true;
}

/* Make rec's body buffer hold at least need bytes; past
 * RCV_MAX_STORED_BODY or out of memory the body is lost instead. */
static void body_reserve(struct rcv *r, struct rec *rec, size_t need)
{
    size_t ncap;
    unsigned char *nb;

    if (rec->pub.body_lost || need <= rec->body_cap)
        return;
    ncap = rec->body_cap ? rec->body_cap : 4096;
    while (ncap < need)
        ncap *= 2;
    if (ncap > (size_t)RCV_MAX_BODY + 1)
        ncap = (size_t)RCV_MAX_BODY + 1;
    if (ncap < need ||
        r->stored - rec->body_cap + ncap > (size_t)RCV_MAX_STORED_BODY) {
        body_lose(r, rec);
        return;
    }
    nb = realloc(rec->body, ncap);
    if (!nb) {
        body_lose(r, rec);
        return;
    }
    r->stored += ncap - rec->body_cap;
    rec->body = nb;
    rec->body_cap = ncap;
}

/* Append n decoded body bytes (the parser keeps the total within
 * RCV_MAX_BODY); the body stays NUL-terminated. */
static void body_store(struct rcv *r, struct rec *rec, const char *data,
                       size_t n)
{
    body_reserve(r, rec, rec->pub.body_len + n + 1);
    if (!rec->pub.body_lost) {
        memcpy(rec->body + rec->pub.body_len, data, n);
        rec->body[rec->pub.body_len + n] = '\0';
    }
    rec->pub.body_len += n;
}

/* --- connections (called with r->net.mu held, from the server thread) --- */

/* The exchange for the connection's current record is over. */
static void mark_end(struct rcv *r, struct conn *c, int64_t now_us)
{
    if (c->cur_idx == SIZE_MAX)
        return;
    struct rcv_request *p = &r->recs[c->cur_idx]->pub;
    if (p->end_ms == 0) {
        p->end_ms = now_us / 1000;
        pthread_cond_broadcast(&r->net.cv);
    }
    c->cur_idx = SIZE_MAX;
}

static void conn_free(struct rcv *r, size_t i, int64_t now_us)
{
    struct conn *c = &r->conns[i];

    mark_end(r, c, now_us);
    rec_free(r, c->cur);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out);
    r->conns[i] = r->conns[r->nconns - 1];
    r->nconns--;
}

/* Close with a reset (SO_LINGER 0): the client sees ECONNRESET. */
static void conn_reset(struct rcv *r, size_t i, int64_t now_us)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    setsockopt(r->conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    conn_free(r, i, now_us);
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

static int out_append(struct conn *c, const void *data, size_t n)
{
    if (n > c->out_cap - c->out_len) {
        size_t ncap = c->out_cap ? c->out_cap : 1024;
        while (ncap - c->out_len < n)
            ncap *= 2;
        char *nb = realloc(c->out, ncap);
        if (!nb)
            return -1;
        c->out = nb;
        c->out_cap = ncap;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

/* Send out[out_off..out_ready).  Returns 0 (maybe partly sent: EAGAIN), or
 * -1 if the connection failed. */
static int flush(struct conn *c)
{
    while (c->out_off < c->out_ready) {
        ssize_t w = tcp_write(c->fd, c->out + c->out_off,
                              c->out_ready - c->out_off);
        if (w < 0)
            return -1;
        if (w == 0)
            return 0;
        c->out_off += (size_t)w;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = c->out_ready = 0;
    return 0;
}

/* Publish c->cur as the next completed request; c->cur_idx then names its
 * record (SIZE_MAX past RCV_MAX_REQUESTS: the record is dropped). */
static void publish(struct rcv *r, struct conn *c, int64_t now_us)
{
    struct rec *rec = c->cur;

    c->cur = NULL;
    rec->pub.complete_ms = now_us / 1000;
    rec->pub.index = r->nseen++;
    rec->pub.body = rec->body;
    rec->pub.headers = rec->hdrs;
    if (r->nrecs < RCV_MAX_REQUESTS) {
        r->recs[r->nrecs] = rec;
        c->cur_idx = r->nrecs++;
    } else {
        rec_free(r, rec);
        c->cur_idx = SIZE_MAX;
    }
    pthread_cond_broadcast(&r->net.cv);
}

/* Queue the response for action a behind whatever out holds. */
static int build_answer(struct conn *c, const struct act *a)
{
    bool no_body = a->status == 204 || a->status == 304;
    char line[64];
    int n;

    if (out_append(c, a->head, a->head_len))
        return -1;
    if (!no_body) {
        n = snprintf(line, sizeof line, "Content-Length: %zu\r\n",
                     a->body_len);
        if (n < 0 || (size_t)n >= sizeof line ||
            out_append(c, line, (size_t)n))
            return -1;
    }
    if (!c->keep && out_append(c, "Connection: close\r\n", 19))
        return -1;
    if (c->keep && c->http10 && out_append(c, "Connection: keep-alive\r\n", 24))
        return -1;
    if (out_append(c, "\r\n", 2))
        return -1;
    if (!no_body && !c->head_req && a->body_len > 0 &&
        out_append(c, a->body, a->body_len))
        return -1;
    return 0;
}

/* A request is complete: record it and start its action (WAIT; a zero
 * delay is due at once).  Returns 0 or -1 (out of memory). */
static int finish_request(struct rcv *r, struct conn *c, int64_t now_us)
{
    const struct act *a = r->script_pos < r->nscript
                              ? r->script[r->script_pos++]
                              : r->dflt;

    c->cur->pub.action = a->kind;
    c->cur->pub.delay_ms = a->delay_ms;
    publish(r, c, now_us);
    c->todo = a->kind;
    c->due_us = now_us + (int64_t)a->delay_ms * 1000;
    c->state = C_WAIT;
    if (a->kind == RCV_ANSWER) {
        c->keep = c->keep && !a->close;
        c->status = a->status;
        if (build_answer(c, a) != 0)
            return -1;
    }
    return 0;
}

/* The server refuses the request itself: record it (by_server), answer
 * status with `Connection: close`, discard any further input.  Returns 0
 * or -1 (out of memory). */
static int reject(struct rcv *r, struct conn *c, int status, int64_t now_us)
{
    char line[160];
    int n;

    if (!c->cur) {
        c->cur = rec_new(c, now_us);
        if (!c->cur)
            return -1;
    }
    c->cur->pub.by_server = true;
    c->cur->pub.action = RCV_ANSWER;
    publish(r, c, now_us);
    c->keep = false;
    c->status = status;
    c->in_len = 0;
    n = snprintf(line, sizeof line,
                 "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n",
                 status, reason_for(status));
    if (n < 0 || (size_t)n >= sizeof line || out_append(c, line, (size_t)n))
        return -1;
    c->out_ready = c->out_len;
    c->state = C_SEND;
    return 0;
}

/* Cut the line starting at p in a block ending at lim (lim[0] is a NUL):
 * NUL-terminate it, without its CR LF.  Returns the start of the next. */
static char *cut_line(char *p, char *lim)
{
    char *nl = memchr(p, '\n', (size_t)(lim - p));
    char *e = nl ? nl : lim;

    if (e > p && e[-1] == '\r')
        e--;
    *e = '\0';
    return nl ? nl + 1 : lim;
}

/* Parse the complete header block c->in[0..end) into a new c->cur, consume
 * it and set up the body parser (P_BODY or P_CHUNK_SIZE).  Returns 0, a
 * status to reject the request with, or -1 (out of memory). */
static int parse_head(struct rcv *r, struct conn *c, size_t end,
                      int64_t now_us)
{
    struct rcv_header tmp[RCV_MAX_REQ_HEADERS];
    size_t nh = 0;
    struct rec *rec;
    char *p, *lim, *next, *sp, *method, *target, *version;
    bool chunked = false, has_cl = false, conn_close = false;
    bool conn_keep = false, expect = false;
    uint64_t cl = 0;
    int nte = 0;
    int rc = -1;

    rec = rec_new(c, now_us);
    if (!rec)
        goto out;
    c->cur = rec;
    rec->block = malloc(end + 1);
    if (!rec->block)
        goto out;
    memcpy(rec->block, c->in, end);
    rec->block[end] = '\0';
    rc = 400;
    if (memchr(rec->block, '\0', end))
        goto out;
    p = rec->block;
    lim = rec->block + end;

    /* request line: METHOD SP request-target SP HTTP-version */
    next = cut_line(p, lim);
    sp = strchr(p, ' ');
    if (!sp)
        goto out;
    *sp = '\0';
    method = p;
    target = sp + 1;
    sp = strchr(target, ' ');
    if (!sp)
        goto out;
    *sp = '\0';
    version = sp + 1;
    for (const char *m = method; *m; m++)
        if (!is_tchar((unsigned char)*m))
            goto out;
    if (*method == '\0' || *target == '\0')
        goto out;
    if (strcmp(version, "HTTP/1.1") == 0) {
        c->http10 = false;
    } else if (strcmp(version, "HTTP/1.0") == 0) {
        c->http10 = true;
    } else {
        rc = strncmp(version, "HTTP/", 5) == 0 ? 505 : 400;
        goto out;
    }
    rec->pub.method = method;
    rec->pub.path = target;
    rec->pub.version = version;

    /* header lines, up to the empty line */
    for (p = next; p < lim; p = next) {
        next = cut_line(p, lim);
        if (*p == '\0')
            break;
        if (*p == ' ' || *p == '\t') /* obsolete line folding */
            goto out;
        char *colon = p;
        while (is_tchar((unsigned char)*colon))
            colon++;
        if (colon == p || *colon != ':')
            goto out;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = v + strlen(v);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';
        if (nh == RCV_MAX_REQ_HEADERS) {
            rc = 431;
            goto out;
        }
        tmp[nh].name = p;
        tmp[nh].value = v;
        nh++;
    }

    /* framing and connection handling */
    for (size_t i = 0; i < nh; i++) {
        const char *n = tmp[i].name, *v = tmp[i].value;
        if (strcasecmp(n, "content-length") == 0) {
            uint64_t x;
            if (!parse_length(v, &x) || (has_cl && x != cl))
                goto out;
            has_cl = true;
            cl = x;
        } else if (strcasecmp(n, "transfer-encoding") == 0) {
            if (nte++ > 0)
                goto out;
            if (strcasecmp(v, "chunked") != 0) {
                rc = 501;
                goto out;
            }
            chunked = true;
        } else if (strcasecmp(n, "connection") == 0) {
            conn_close = conn_close || has_token(v, "close");
            conn_keep = conn_keep || has_token(v, "keep-alive");
        } else if (strcasecmp(n, "expect") == 0) {
            expect = strcasecmp(v, "100-continue") == 0;
        }
    }
    if (chunked && has_cl)
        goto out;
    if (cl > RCV_MAX_BODY) {
        rc = 413;
        goto out;
    }
    c->keep = c->http10 ? conn_keep && !conn_close : !conn_close;
    c->head_req = strcmp(method, "HEAD") == 0;
    rec->pub.chunked = chunked;
    consume(c, end);
    c->left = cl;
    c->ps = chunked ? P_CHUNK_SIZE : P_BODY;
    if (cl > 0)
        body_reserve(r, rec, (size_t)cl + 1);
    if (expect && !c->http10 && (chunked || cl > 0) && c->in_len == 0) {
        if (out_append(c, continue_100, sizeof continue_100 - 1)) {
            rc = -1;
            goto out;
        }
        c->out_ready = c->out_len;
    }
    rc = 0;
out:
    if (rec && nh > 0 && !rec->hdrs) {
        rec->hdrs = malloc(nh * sizeof *rec->hdrs);
        if (rec->hdrs) {
            memcpy(rec->hdrs, tmp, nh * sizeof *rec->hdrs);
            rec->pub.nheaders = nh;
        } else {
            rc = -1;
        }
    }
    return rc;
}

enum { PARSE_MORE, PARSE_DONE, PARSE_FAIL };

/* Run the parser over c->in.  Returns PARSE_MORE (it needs more bytes),
 * PARSE_DONE (a request completed or was rejected: c->state changed) or
 * PARSE_FAIL (out of memory: the caller drops the connection). */
static int parse(struct rcv *r, struct conn *c, int64_t now_us)
{
    int status = 0;

    for (;;) {
        switch (c->ps) {
        case P_HEAD: {
            size_t skip = 0, end;
            /* empty lines before a request line are ignored (RFC 9112) */
            while (skip < c->in_len &&
                   (c->in[skip] == '\r' || c->in[skip] == '\n'))
                skip++;
            if (skip > 0) {
                consume(c, skip);
                c->scanned = 0;
            }
            end = tcp_head_end(c->in, c->in_len, &c->scanned);
            if (end == 0) {
                if (c->in_len < RCV_MAX_HEADER_BLOCK)
                    return PARSE_MORE;
                status = 431;
                goto rejected;
            }
            c->scanned = 0;
            status = parse_head(r, c, end, now_us);
            if (status < 0)
                return PARSE_FAIL;
            if (status > 0)
                goto rejected;
            break;
        }
        case P_BODY:
        case P_CHUNK_DATA: {
            size_t n = c->left < c->in_len ? (size_t)c->left : c->in_len;
            if (n > 0) {
                body_store(r, c->cur, c->in, n);
                consume(c, n);
                c->left -= n;
            }
            if (c->left > 0)
                return PARSE_MORE;
            if (c->ps == P_BODY)
                goto complete;
            c->ps = P_CHUNK_CRLF;
            break;
        }
        case P_CHUNK_SIZE: {
            char *nl = memchr(c->in, '\n', c->in_len);
            size_t k = 0, line;
            uint64_t size = 0;
            if (!nl) {
                if (c->in_len < CHUNK_LINE_MAX)
                    return PARSE_MORE;
                status = 400;
                goto rejected;
            }
            line = (size_t)(nl - c->in) + 1;
            status = 400;
            if (line > CHUNK_LINE_MAX)
                goto rejected;
            for (; k < line && hex_value(c->in[k]) >= 0; k++) {
                size = size * 16 + (uint64_t)hex_value(c->in[k]);
                if (size > RCV_MAX_BODY)
                    size = (uint64_t)RCV_MAX_BODY + 1;
            }
            /* then chunk extensions (ignored), optional whitespace, CRLF */
            if (k == 0 || c->in[k] == '\0' ||
                !strchr("; \t\r\n", c->in[k]))
                goto rejected;
            status = 0;
            consume(c, line);
            if (size == 0) {
                c->trailer_len = 0;
                c->ps = P_TRAILER;
            } else if (size > RCV_MAX_BODY - c->cur->pub.body_len) {
                status = 413;
                goto rejected;
            } else {
                c->left = size;
                c->ps = P_CHUNK_DATA;
            }
            break;
        }
        case P_CHUNK_CRLF:
            if (c->in_len == 0)
                return PARSE_MORE;
            if (c->in[0] == '\n') {
                consume(c, 1);
            } else if (c->in[0] == '\r') {
                if (c->in_len < 2)
                    return PARSE_MORE;
                if (c->in[1] != '\n') {
                    status = 400;
                    goto rejected;
                }
                consume(c, 2);
            } else {
                status = 400;
                goto rejected;
            }
            c->ps = P_CHUNK_SIZE;
            break;
        case P_TRAILER: {
            char *nl = memchr(c->in, '\n', c->in_len);
            size_t line;
            if (!nl) {
                if (c->in_len < RCV_MAX_HEADER_BLOCK)
                    return PARSE_MORE;
                status = 431;
                goto rejected;
            }
            line = (size_t)(nl - c->in) + 1;
            c->trailer_len += line;
            if (c->trailer_len > RCV_MAX_HEADER_BLOCK) {
                status = 431;
                goto rejected;
            }
            bool last = line == 1 || (line == 2 && c->in[0] == '\r');
            consume(c, line);
            if (last)
                goto complete;
            break;
        }
        }
    }
complete:
    c->ps = P_HEAD;
    return finish_request(r, c, now_us) == 0 ? PARSE_DONE : PARSE_FAIL;
rejected:
    c->ps = P_HEAD;
    return reject(r, c, status, now_us) == 0 ? PARSE_DONE : PARSE_FAIL;
}

/* The response has been written completely. */
static void answer_sent(struct rcv *r, struct conn *c, int64_t now_us)
{
    if (c->cur_idx != SIZE_MAX) {
        r->recs[c->cur_idx]->pub.status = c->status;
        mark_end(r, c, now_us);
    }
    if (c->keep) {
        c->state = C_READ;
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->state = C_DRAIN;
    c->drain_until_us = now_us + (int64_t)DRAIN_MS * 1000;
}

/* Advance connection i as far as it goes without blocking: send what may
 * be sent, parse buffered input, run due actions.  Returns false if the
 * connection was freed. */
static bool service(struct rcv *r, size_t i, int64_t now_us)
{
    struct conn *c = &r->conns[i];

    for (;;) {
        if (c->out_off < c->out_ready && flush(c) != 0) {
            conn_free(r, i, now_us);
            return false;
        }
        switch (c->state) {
        case C_READ:
            switch (parse(r, c, now_us)) {
            case PARSE_MORE:
                return true;
            case PARSE_FAIL:
                conn_reset(r, i, now_us);
                return false;
            default:
                continue;
            }
        case C_WAIT:
            if (c->due_us > now_us)
                return true;
            if (c->todo == RCV_DROP) {
                conn_reset(r, i, now_us);
                return false;
            }
            if (c->todo == RCV_HANG) {
                c->state = C_HANG;
                continue;
            }
            c->out_ready = c->out_len;
            c->state = C_SEND;
            continue;
        case C_SEND:
            if (c->out_len > 0)
                return true; /* flush() resets out once all is sent */
            answer_sent(r, c, now_us);
            if (c->state == C_READ)
                continue;
            return true;
        case C_HANG:
            return true;
        case C_DRAIN:
            if (now_us >= c->drain_until_us) {
                conn_free(r, i, now_us);
                return false;
            }
            return true;
        }
    }
}

/* States whose input is kept for the parser (others discard it). */
static bool keeps_input(const struct conn *c)
{
    return c->state == C_READ || c->state == C_WAIT || c->state == C_SEND;
}

/* Readable, hung up or failed.  Returns false if the connection was freed
 * (the client left or an error). */
static bool on_readable(struct rcv *r, size_t i, short revents, int64_t now_us)
{
    struct conn *c = &r->conns[i];
    ssize_t n;

    if (keeps_input(c)) {
        size_t space = RCV_MAX_HEADER_BLOCK - c->in_len;
        if (space == 0) {
            /* full while answering: only a hang-up can be handled now */
            if (!(revents & (POLLRDHUP | POLLHUP | POLLERR)))
                return true;
            conn_free(r, i, now_us);
            return false;
        }
        n = tcp_read(c->fd, c->in + c->in_len, space);
        if (n >= 0) {
            c->in_len += (size_t)n;
            return true;
        }
    } else if (tcp_discard(c->fd)) {
        return true;
    }
    conn_free(r, i, now_us);
    return false;
}

static void accept_new(struct rcv *r)
{
    while (r->nconns < RCV_MAX_CONNS) {
        int fd = tcp_accept(r->net.lfd);
        if (fd < 0)
            return;
        struct conn *c = &r->conns[r->nconns];
        memset(c, 0, sizeof *c);
        c->in = malloc(RCV_MAX_HEADER_BLOCK);
        if (!c->in) {
            close(fd);
            return;
        }
        c->fd = fd;
        c->id = ++r->conns_total;
        c->state = C_READ;
        c->ps = P_HEAD;
        c->cur_idx = SIZE_MAX;
        r->nconns++;
    }
}

/* Carry out the latest rcv_set_down() request, if any is pending. */
static void apply_down(struct rcv *r, int64_t now_us)
{
    if (r->down_ack == r->down_req)
        return;
    r->down_rc = RCV_OK;
    if (r->want_down && r->net.lfd >= 0) {
        close(r->net.lfd);
        r->net.lfd = -1;
        while (r->nconns > 0)
            conn_free(r, r->nconns - 1, now_us);
    } else if (!r->want_down && r->net.lfd < 0) {
        uint16_t port = r->net.port;
        r->net.lfd = tcp_listen(&port, LISTEN_BACKLOG, true);
        if (r->net.lfd < 0)
            r->down_rc = RCV_ESOCKET;
    }
    r->down_ack = r->down_req;
    pthread_cond_broadcast(&r->net.cv);
}

static void *server_main(void *arg)
{
    struct rcv *r = arg;
    struct pollfd pfd[2 + RCV_MAX_CONNS];

    pthread_mutex_lock(&r->net.mu);
    while (!r->net.stop) {
        int64_t now = tcp_now_us();
        int64_t next = -1; /* earliest deadline */
        int timeout = -1;
        size_t n, nc;

        apply_down(r, now);
        n = tcp_server_pollfds(&r->net, pfd, r->nconns < RCV_MAX_CONNS);
        for (size_t i = 0; i < r->nconns; i++) {
            const struct conn *c = &r->conns[i];
            short ev = 0;
            if (!keeps_input(c) || c->in_len < RCV_MAX_HEADER_BLOCK)
                ev |= POLLIN;
            else
                ev |= POLLRDHUP;
            if (c->out_off < c->out_ready)
                ev |= POLLOUT;
            pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
            int64_t due = c->state == C_WAIT    ? c->due_us
                          : c->state == C_DRAIN ? c->drain_until_us
                                                : -1;
            if (due >= 0 && (next < 0 || due < next))
                next = due;
        }
        if (next >= 0) {
            int64_t ms = next > now ? (next - now + 999) / 1000 : 0;
            timeout = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        nc = r->nconns;
        if (tcp_server_poll(&r->net, pfd, n, timeout) < 0 && errno != EINTR)
            break;
        now = tcp_now_us();
        /* in reverse, so conn_free's swap-with-last never moves a
         * connection not yet visited; accept afterwards so indexes match */
        for (size_t k = nc; k-- > 0;) {
            short re = pfd[2 + k].revents;
            if ((re & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)) &&
                !on_readable(r, k, re, now))
                continue;
            service(r, k, now);
        }
        if (pfd[1].revents & POLLIN)
            accept_new(r);
    }
    pthread_mutex_unlock(&r->net.mu);
    return NULL;
}

/* ----------------------------- public API ----------------------------- */

struct rcv *rcv_start(void)
{
    struct rcv *r = calloc(1, sizeof *r);
    static const struct rcv_action ok = {.kind = RCV_ANSWER, .status = 200};

    if (!r)
        return NULL;
    if (tcp_server_init(&r->net, LISTEN_BACKLOG, true) != 0)
        goto fail;
    r->recs = calloc(RCV_MAX_REQUESTS, sizeof *r->recs);
    if (!r->recs || act_copy(&ok, &r->dflt) != RCV_OK ||
        tcp_server_start(&r->net, server_main, r) != 0)
        goto fail;
    return r;
fail:
    tcp_server_fini(&r->net);
    act_free(r->dflt);
    free(r->recs);
    free(r);
    return NULL;
}

void rcv_stop(struct rcv *r)
{
    int64_t now;

    if (!r)
        return;
    tcp_server_stop(&r->net);
    now = tcp_now_us();
    while (r->nconns > 0)
        conn_free(r, r->nconns - 1, now);
    for (size_t i = 0; i < r->nscript; i++)
        act_free(r->script[i]);
    free(r->script);
    act_free(r->dflt);
    for (size_t i = 0; i < r->nrecs; i++)
        rec_free(r, r->recs[i]);
    free(r->recs);
    tcp_server_fini(&r->net);
    free(r);
}

uint16_t rcv_port(const struct rcv *r)
{
    return r->net.port;
}

int rcv_url(const struct rcv *r, const char *path, char *buf, size_t cap)
{
    return tcp_url(r->net.port, path, buf, cap) == 0 ? RCV_OK : RCV_EINVAL;
}

int rcv_add(struct rcv *r, const struct rcv_action *a)
{
    struct act *x = NULL;
    int rc = act_copy(a, &x);

    if (rc != RCV_OK)
        return rc;
    pthread_mutex_lock(&r->net.mu);
    if (r->nscript == RCV_MAX_SCRIPT) {
        rc = RCV_EFULL;
    } else if (r->nscript == r->script_cap) {
        size_t ncap = r->script_cap ? r->script_cap * 2 : 16;
        struct act **ns = realloc(r->script, ncap * sizeof *ns);
        if (ns) {
            r->script = ns;
            r->script_cap = ncap;
        } else {
            rc = RCV_ENOMEM;
        }
    }
    if (rc == RCV_OK) {
        r->script[r->nscript++] = x;
        x = NULL;
    }
    pthread_mutex_unlock(&r->net.mu);
    act_free(x);
    return rc;
}

int rcv_set_default(struct rcv *r, const struct rcv_action *a)
{
    struct act *x = NULL;
    int rc = act_copy(a, &x);

    if (rc != RCV_OK)
        return rc;
    pthread_mutex_lock(&r->net.mu);
    struct act *old = r->dflt;
    r->dflt = x; /* connections never keep a pointer to an action */
    pthread_mutex_unlock(&r->net.mu);
    act_free(old);
    return RCV_OK;
}

int rcv_add_status(struct rcv *r, int status, const char *header,
                   const char *body)
{
    struct rcv_action a = {.kind = RCV_ANSWER, .status = status,
                           .body = body, .body_len = body ? strlen(body) : 0};
    a.headers[0] = header;
    return rcv_add(r, &a);
}

int rcv_add_delay(struct rcv *r, unsigned delay_ms, int status)
{
    struct rcv_action a = {.kind = RCV_ANSWER, .status = status,
                           .delay_ms = delay_ms};
    return rcv_add(r, &a);
}

int rcv_add_drop(struct rcv *r)
{
    struct rcv_action a = {.kind = RCV_DROP};
    return rcv_add(r, &a);
}

int rcv_add_hang(struct rcv *r)
{
    struct rcv_action a = {.kind = RCV_HANG};
    return rcv_add(r, &a);
}

size_t rcv_script_left(struct rcv *r)
{
    pthread_mutex_lock(&r->net.mu);
    size_t n = r->nscript - r->script_pos;
    pthread_mutex_unlock(&r->net.mu);
    return n;
}

/* tcp_server_wait() conditions: rcv_set_down() call n has been carried
 * out / n requests have completed / request n has ended. */
static bool down_done(const void *owner, uint64_t n)
{
    return ((const struct rcv *)owner)->down_ack >= n;
}

static bool completed(const void *owner, uint64_t n)
{
    return ((const struct rcv *)owner)->nseen >= n;
}

static bool ended(const void *owner, uint64_t n)
{
    const struct rcv *r = owner;
    return n < r->nrecs && r->recs[n]->pub.end_ms != 0;
}

int rcv_set_down(struct rcv *r, bool down)
{
    int rc = RCV_ESOCKET;

    pthread_mutex_lock(&r->net.mu);
    r->want_down = down;
    uint64_t seq = ++r->down_req;
    tcp_server_wake(&r->net);
    if (tcp_server_wait_held(&r->net, SET_DOWN_WAIT_MS, down_done, r, seq))
        rc = r->down_rc;
    pthread_mutex_unlock(&r->net.mu);
    return rc;
}

size_t rcv_count(struct rcv *r)
{
    return tcp_server_get(&r->net, &r->nseen);
}

uint64_t rcv_conn_count(struct rcv *r)
{
    pthread_mutex_lock(&r->net.mu);
    uint64_t n = r->conns_total;
    pthread_mutex_unlock(&r->net.mu);
    return n;
}

size_t rcv_conns_open(struct rcv *r)
{
    return tcp_server_get(&r->net, &r->nconns);
}

bool rcv_wait_requests(struct rcv *r, size_t n, int timeout_ms)
{
    return tcp_server_wait(&r->net, timeout_ms, completed, r, n);
}

bool rcv_wait_end(struct rcv *r, size_t idx, int timeout_ms)
{
    return tcp_server_wait(&r->net, timeout_ms, ended, r, idx);
}

bool rcv_get(struct rcv *r, size_t idx, struct rcv_request *out)
{
    bool ok;

    pthread_mutex_lock(&r->net.mu);
    ok = idx < r->nrecs;
    if (ok)
        *out = r->recs[idx]->pub;
    pthread_mutex_unlock(&r->net.mu);
    return ok;
}

const char *rcv_header(const struct rcv_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

size_t rcv_count_status(struct rcv *r, int status)
{
    size_t n = 0;

    pthread_mutex_lock(&r->net.mu);
    for (size_t i = 0; i < r->nrecs; i++)
        if (r->recs[i]->pub.status == status)
            n++;
    pthread_mutex_unlock(&r->net.mu);
    return n;
}

static bool header_is(const struct rcv_request *req, const char *name,
                      const char *value)
{
    const char *v = rcv_header(req, name);
    return v && strcmp(v, value) == 0;
}

size_t rcv_count_header(struct rcv *r, const char *name, const char *value)
{
    size_t n = 0;

    pthread_mutex_lock(&r->net.mu);
    for (size_t i = 0; i < r->nrecs; i++)
        if (header_is(&r->recs[i]->pub, name, value))
            n++;
    pthread_mutex_unlock(&r->net.mu);
    return n;
}

bool rcv_find(struct rcv *r, size_t from, const char *name, const char *value,
              size_t *idx)
{
    bool found = false;

    pthread_mutex_lock(&r->net.mu);
    for (size_t i = from; i < r->nrecs && !found; i++) {
        if (header_is(&r->recs[i]->pub, name, value)) {
            *idx = i;
            found = true;
        }
    }
    pthread_mutex_unlock(&r->net.mu);
    return found;
}

/* The value of header name in record rec if its status is in [lo, hi]. */
static const char *distinct_candidate(const struct rec *rec, const char *name,
                                      int lo, int hi)
{
    if (rec->pub.status < lo || rec->pub.status > hi || rec->pub.status == 0)
        return NULL;
    return rcv_header(&rec->pub, name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t rcv_count_distinct(struct rcv *r, const char *name, int status_lo,
                          int status_hi)
{
    const char **vals;
    size_t n = 0, distinct = 0;

    pthread_mutex_lock(&r->net.mu);
    vals = malloc((r->nrecs ? r->nrecs : 1) * sizeof *vals);
    for (size_t i = 0; i < r->nrecs; i++) {
        const char *v = distinct_candidate(r->recs[i], name, status_lo,
                                           status_hi);
        if (!v)
            continue;
        if (vals) {
            vals[n++] = v;
            continue;
        }
        /* no memory for sorting: compare with every earlier candidate */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *w = distinct_candidate(r->recs[j], name, status_lo,
                                               status_hi);
            seen = w && strcmp(v, w) == 0;
        }
        if (!seen)
            distinct++;
    }
    pthread_mutex_unlock(&r->net.mu);
    if (vals) {
        qsort(vals, n, sizeof *vals, cmp_str);
        for (size_t i = 0; i < n; i++)
            if (i == 0 || strcmp(vals[i], vals[i - 1]) != 0)
                distinct++;
        free(vals);
    }
    return distinct;
}
