/*
 * sse_server.c - scriptable HTTP/1.1 test server for SSE (see sse_server.h).
 *
 * One thread runs a poll() loop over: a self-pipe (API calls wake it), the
 * listening socket, and every open connection.  A connection moves through
 *   READ   collecting the request header block (bounded);
 *   SEND   writing the response: the pre-formatted head, then each body
 *          chunk once its delay has passed (delays are measured from the end
 *          of the previous piece), then, in KEEP mode, pushed bytes;
 *   IDLE   HANG/KEEP with nothing to send: only watching for the client to
 *          leave;
 *   DRAIN  our side is shut down (SHUT_WR, the client sees end of stream);
 *          reading until the client closes so the kernel never answers
 *          unread bytes with a reset, then closing.
 *
 * Invariants:
 *  - the thread holds srv->net.mu whenever it touches connections or
 *    records, and never while it sleeps in poll(); API calls take the same
 *    mutex and wake the thread through the self-pipe after changing a
 *    connection;
 *  - the condition variable (CLOCK_MONOTONIC) is broadcast whenever a
 *    request is recorded or a connection ends;
 *  - "end" of a response is the moment the server shut its sending side or
 *    saw the client leave, whichever came first; it is set once;
 *  - sockets, the thread, the lock and the self-pipe are tcp.h's: sockets
 *    are non-blocking and close-on-exec, writes never raise SIGPIPE.
 */
#include "tests/support/sse_server.h"

#include "tests/support/tcp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DRAIN_LIMIT_MS 2000 /* give up waiting for the client to close */
#define LISTEN_BACKLOG 64
#define HEAD_MAX 8192       /* formatted status line + headers */
#define PUSH_MAX (64u * 1024u * 1024u)

/* A deep copy of a scripted response, formatted once. */
struct resp {
    char *head; /* status line, headers, blank line */
    size_t head_len;
    struct rchunk {
        char *data;
        size_t len;
        unsigned delay_ms;
    } *chunks;
    size_t nchunks;
    enum tsrv_end end;
};

/* One recorded request. */
struct req {
    struct tsrv_request_info info;
    char *block; /* header lines, names and values NUL-terminated in place */
    size_t name_off[TSRV_MAX_REQ_HEADERS];
    size_t value_off[TSRV_MAX_REQ_HEADERS];
};

enum cstate { C_READ, C_SEND, C_IDLE, C_DRAIN };

struct conn {
    int fd;
    enum cstate state;
    char *in; /* TSRV_MAX_HEADER_BLOCK bytes while reading */
    size_t in_len;
    size_t req_idx; /* SIZE_MAX: not recorded */
    const struct resp *resp;
    const char *own; /* a response the conn owns (431), else NULL */
    size_t own_len;
    size_t phase; /* 0 head, 1..nchunks body chunk phase-1, then push */
    size_t off;   /* bytes of the current piece already sent */
    int64_t due_ms;
    char *pq; /* KEEP: pushed bytes not yet sent */
    size_t pq_len, pq_off;
    bool end_requested;
    int64_t drain_until;
};

struct tsrv {
    struct tcp_server net; /* thread, mu, cv, stop, listener */

    struct resp **script;
    size_t nscript, script_cap;
    enum tsrv_after after;

    struct req *reqs; /* TSRV_MAX_REQUESTS */
    size_t nreqs;     /* recorded */
    size_t nseen;     /* arrived, recorded or not */

    struct conn conns[TSRV_MAX_CONNS];
    size_t nconns;
};

int64_t tsrv_now_ms(void)
{
    return tcp_now_ms();
}

static const char *reason_for(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
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

static int apps(char *buf, size_t cap, size_t *len, const char *s)
{
    return app(buf, cap, len, s, strlen(s));
}

static size_t name_len(const char *line)
{
    const char *c = strchr(line, ':');
    return c ? (size_t)(c - line) : strlen(line);
}

static bool value_empty(const char *line)
{
    const char *c = strchr(line, ':');
    if (!c)
        return true;
    for (c++; *c; c++)
        if (*c != ' ' && *c != '\t')
            return false;
    return true;
}

/* Format the head of r into a new heap buffer. */
static int format_head(const struct tsrv_response *r, size_t body_len,
                       char **out, size_t *out_len)
{
    static const char *const defaults[] = {
        "Content-Type: text/event-stream", "Cache-Control: no-cache"};
    char *buf = NULL;
    size_t len = 0;
    char line[64];
    int status = r->status ? r->status : 200;
    int rc = -1;
    size_t nextra = 0;

    buf = malloc(HEAD_MAX);
    if (!buf)
        goto out;
    while (nextra < TSRV_MAX_RESP_HEADERS && r->headers[nextra])
        nextra++;
    snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
    if (apps(buf, HEAD_MAX, &len, line) ||
        apps(buf, HEAD_MAX, &len, r->reason ? r->reason : reason_for(status)) ||
        apps(buf, HEAD_MAX, &len, "\r\n"))
        goto out;
    for (size_t d = 0; d < 2; d++) {
        const char *use = defaults[d];
        size_t dn = name_len(defaults[d]);
        for (size_t i = 0; i < nextra; i++) {
            if (name_len(r->headers[i]) == dn &&
                strncasecmp(r->headers[i], defaults[d], dn) == 0)
                use = value_empty(r->headers[i]) ? NULL : r->headers[i];
        }
        if (use && (apps(buf, HEAD_MAX, &len, use) ||
                    apps(buf, HEAD_MAX, &len, "\r\n")))
            goto out;
    }
    for (size_t i = 0; i < nextra; i++) {
        bool is_default = false;
        size_t n = name_len(r->headers[i]);
        for (size_t d = 0; d < 2; d++)
            if (n == name_len(defaults[d]) &&
                strncasecmp(r->headers[i], defaults[d], n) == 0)
                is_default = true;
        if (is_default)
            continue;
        if (apps(buf, HEAD_MAX, &len, r->headers[i]) ||
            apps(buf, HEAD_MAX, &len, "\r\n"))
            goto out;
    }
    if (r->content_length) {
        char cl[64];
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", body_len);
        if (apps(buf, HEAD_MAX, &len, cl))
            goto out;
    }
    if (apps(buf, HEAD_MAX, &len, "Connection: close\r\n\r\n"))
        goto out;
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    return rc;
}

static void resp_free(struct resp *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nchunks; i++)
        free(r->chunks[i].data);
    free(r->chunks);
    free(r->head);
    free(r);
}

/* -- connections (called with srv->net.mu held, from the server thread) -- */

static void mark_end(struct tsrv *srv, struct conn *c, int64_t now)
{
    if (c->req_idx != SIZE_MAX && srv->reqs[c->req_idx].info.end_ms == 0) {
        srv->reqs[c->req_idx].info.end_ms = now;
        pthread_cond_broadcast(&srv->net.cv);
    }
}

static void conn_free(struct tsrv *srv, size_t i)
{
    struct conn *c = &srv->conns[i];
    mark_end(srv, c, tsrv_now_ms());
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->pq);
    srv->conns[i] = srv->conns[srv->nconns - 1];
    srv->nconns--;
}

/* Our side is done: shut down sending, then wait for the client to close. */
static void conn_finish(struct tsrv *srv, struct conn *c, int64_t now)
{
    shutdown(c->fd, SHUT_WR);
    mark_end(srv, c, now);
    c->state = C_DRAIN;
    c->drain_until = now + DRAIN_LIMIT_MS;
}

static bool header_name_is(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* Parse the header block in c->in[0..end) into a new record. */
static void record_request(struct tsrv *srv, struct conn *c, size_t end,
                           int64_t now)
{
    struct req *r;
    char *p, *lim;
    size_t n;

    srv->nseen++;
    if (srv->nreqs >= TSRV_MAX_REQUESTS) {
        c->req_idx = SIZE_MAX;
        pthread_cond_broadcast(&srv->net.cv);
        return;
    }
    r = &srv->reqs[srv->nreqs];
    memset(r, 0, sizeof *r);
    r->info.arrival_ms = now;
    r->block = malloc(end + 1);
    if (r->block) {
        memcpy(r->block, c->in, end);
        r->block[end] = '\0';
        p = r->block;
        lim = r->block + end;
        /* request line: METHOD SP PATH SP VERSION */
        char *eol = memchr(p, '\n', (size_t)(lim - p));
        char *line_end = eol ? eol : lim;
        char *sp = memchr(p, ' ', (size_t)(line_end - p));
        if (sp) {
            n = (size_t)(sp - p);
            if (n >= sizeof r->info.method)
                n = sizeof r->info.method - 1;
            memcpy(r->info.method, p, n);
            char *path = sp + 1;
            char *sp2 = memchr(path, ' ', (size_t)(line_end - path));
            n = (size_t)((sp2 ? sp2 : line_end) - path);
            if (n >= sizeof r->info.path)
                n = sizeof r->info.path - 1;
            memcpy(r->info.path, path, n);
        }
        p = eol ? eol + 1 : lim;
        while (p < lim && r->info.nheaders < TSRV_MAX_REQ_HEADERS) {
            eol = memchr(p, '\n', (size_t)(lim - p));
            line_end = eol ? eol : lim;
            char *next = eol ? eol + 1 : lim;
            if (line_end > p && line_end[-1] == '\r')
                line_end--;
            *line_end = '\0';
            char *colon = strchr(p, ':');
            if (colon && colon > p) {
                *colon = '\0';
                char *v = colon + 1;
                while (*v == ' ' || *v == '\t')
                    v++;
                char *ve = line_end;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    *--ve = '\0';
                r->name_off[r->info.nheaders] = (size_t)(p - r->block);
                r->value_off[r->info.nheaders] = (size_t)(v - r->block);
                r->info.nheaders++;
            }
            p = next;
        }
    }
    c->req_idx = srv->nreqs++;
    pthread_cond_broadcast(&srv->net.cv);
}

/* Returns the request's response, or NULL for "close without answering". */
static const struct resp *pick_response(struct tsrv *srv, size_t k)
{
    if (k < srv->nscript)
        return srv->script[k];
    if (srv->after == TSRV_AFTER_REPEAT_LAST && srv->nscript > 0)
        return srv->script[srv->nscript - 1];
    return NULL;
}

static void start_response(struct tsrv *srv, struct conn *c, int64_t now)
{
    size_t k = srv->nseen - 1;
    c->resp = pick_response(srv, k);
    free(c->in);
    c->in = NULL;
    if (!c->resp) {
        conn_finish(srv, c, now);
        return;
    }
    if (c->req_idx != SIZE_MAX)
        srv->reqs[c->req_idx].info.answered = true;
    c->state = C_SEND;
    c->phase = 0;
    c->off = 0;
    c->due_ms = now;
}

/* Send what is due, in order: head, body chunks (each once due), pushed
 * bytes.  Returns false if the connection was freed. */
static bool pump(struct tsrv *srv, size_t i, int64_t now)
{
    struct conn *c = &srv->conns[i];

    while (c->state == C_SEND) {
        const char *piece;
        size_t len;
        size_t *off = &c->off;
        bool in_body = !c->own && c->phase >= 1 && c->phase <= c->resp->nchunks;
        bool after_body = !c->own && c->phase > c->resp->nchunks;

        if (in_body && c->due_ms > now)
            return true;
        if (c->own) {
            piece = c->own;
            len = c->own_len;
        } else if (c->phase == 0) {
            piece = c->resp->head;
            len = c->resp->head_len;
        } else if (in_body) {
            piece = c->resp->chunks[c->phase - 1].data;
            len = c->resp->chunks[c->phase - 1].len;
        } else {
            piece = c->pq;
            len = c->pq_len;
            off = &c->pq_off;
        }
        if (*off < len) {
            ssize_t w = tcp_write(c->fd, piece + *off, len - *off);
            if (w < 0) {
                conn_free(srv, i);
                return false;
            }
            if (w == 0)
                return true; /* wait for POLLOUT */
            *off += (size_t)w;
            if (c->req_idx != SIZE_MAX)
                srv->reqs[c->req_idx].info.last_send_ms = now;
            continue;
        }
        /* the current piece is complete */
        if (c->own) {
            conn_finish(srv, c, now);
            return true;
        }
        if (after_body) {
            c->pq_off = c->pq_len = 0;
            if (c->resp->end == TSRV_CLOSE || c->end_requested)
                conn_finish(srv, c, now);
            else
                c->state = C_IDLE;
            return true;
        }
        c->off = 0;
        c->phase++;
        if (c->phase <= c->resp->nchunks)
            c->due_ms = now + c->resp->chunks[c->phase - 1].delay_ms;
    }
    return true;
}

static bool wants_pollout(const struct conn *c, int64_t now)
{
    if (c->state != C_SEND)
        return false;
    if (c->own || c->phase == 0)
        return true;
    if (c->phase <= c->resp->nchunks)
        return c->due_ms <= now;
    return true;
}

static void accept_new(struct tsrv *srv)
{
    for (;;) {
        int fd = tcp_accept(srv->net.lfd);
        if (fd < 0)
            return;
        if (srv->nconns >= TSRV_MAX_CONNS) {
            close(fd);
            continue;
        }
        struct conn *c = &srv->conns[srv->nconns];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->state = C_READ;
        c->req_idx = SIZE_MAX;
        c->in = malloc(TSRV_MAX_HEADER_BLOCK);
        if (!c->in) {
            close(fd);
            continue;
        }
        srv->nconns++;
    }
}

/* Readable (or hung up).  Returns false if the connection was freed. */
static bool on_readable(struct tsrv *srv, size_t i, int64_t now)
{
    struct conn *c = &srv->conns[i];

    if (c->state == C_READ) {
        ssize_t r = tcp_read(c->fd, c->in + c->in_len,
                             TSRV_MAX_HEADER_BLOCK - c->in_len);
        if (r < 0) {
            conn_free(srv, i);
            return false;
        }
        if (r == 0)
            return true;
        c->in_len += (size_t)r;
        size_t end = tcp_head_end(c->in, c->in_len, NULL);
        if (end) {
            record_request(srv, c, end, now);
            start_response(srv, c, now);
        } else if (c->in_len == TSRV_MAX_HEADER_BLOCK) {
            static const char too_big[] =
                "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n";
            free(c->in);
            c->in = NULL;
            c->own = too_big;
            c->own_len = sizeof too_big - 1;
            c->state = C_SEND;
        }
        return true;
    }
    if (tcp_discard(c->fd))
        return true;
    conn_free(srv, i); /* the client left (or an error) */
    return false;
}

static void *server_main(void *arg)
{
    struct tsrv *srv = arg;
    struct pollfd pfd[2 + TSRV_MAX_CONNS];

    pthread_mutex_lock(&srv->net.mu);
    while (!srv->net.stop) {
        int64_t now = tsrv_now_ms();
        int timeout = -1;
        size_t n = tcp_server_pollfds(&srv->net, pfd, true);
        int nconn_fds;

        for (size_t i = 0; i < srv->nconns; i++) {
            struct conn *c = &srv->conns[i];
            short ev = POLLIN;
            if (wants_pollout(c, now))
                ev |= POLLOUT;
            pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
            int64_t due = -1;
            if (c->state == C_SEND && !c->own && c->phase >= 1 &&
                c->phase <= c->resp->nchunks && c->due_ms > now)
                due = c->due_ms - now;
            if (c->state == C_DRAIN)
                due = c->drain_until > now ? c->drain_until - now : 0;
            if (due >= 0 && (timeout < 0 || due < timeout))
                timeout = (int)due;
        }
        nconn_fds = (int)srv->nconns;
        if (tcp_server_poll(&srv->net, pfd, n, timeout) < 0 && errno != EINTR)
            break;
        now = tsrv_now_ms();
        /* Connections: handle in reverse so conn_free's swap-with-last never
         * moves an unvisited entry; accept afterwards so indexes match. */
        for (int k = nconn_fds - 1; k >= 0; k--) {
            size_t i = (size_t)k;
            short re = pfd[2 + i].revents;
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                if (!on_readable(srv, i, now))
                    continue;
            }
            struct conn *c = &srv->conns[i];
            if (c->state == C_SEND) {
                if (!pump(srv, i, now))
                    continue;
                c = &srv->conns[i];
            }
            if (c->state == C_DRAIN && now >= c->drain_until)
                conn_free(srv, i);
        }
        /* KEEP connections that were given bytes or told to end while idle */
        for (size_t i = srv->nconns; i-- > 0;) {
            struct conn *c = &srv->conns[i];
            if (c->state == C_IDLE && (c->pq_len > c->pq_off || c->end_requested)) {
                c->state = C_SEND;
                pump(srv, i, now);
            }
        }
        if (pfd[1].revents & POLLIN)
            accept_new(srv);
    }
    pthread_mutex_unlock(&srv->net.mu);
    return NULL;
}

/* ---------------------------- public API ---------------------------- */

struct tsrv *tsrv_create(void)
{
    struct tsrv *srv = calloc(1, sizeof *srv);

    if (!srv)
        return NULL;
    if (tcp_server_init(&srv->net, LISTEN_BACKLOG, false) != 0)
        goto fail;
    srv->reqs = calloc(TSRV_MAX_REQUESTS, sizeof *srv->reqs);
    if (!srv->reqs || tcp_server_start(&srv->net, server_main, srv) != 0)
        goto fail;
    return srv;
fail:
    tcp_server_fini(&srv->net);
    free(srv->reqs);
    free(srv);
    return NULL;
}

void tsrv_destroy(struct tsrv *srv)
{
    if (!srv)
        return;
    tcp_server_stop(&srv->net);
    while (srv->nconns > 0)
        conn_free(srv, srv->nconns - 1);
    for (size_t i = 0; i < srv->nscript; i++)
        resp_free(srv->script[i]);
    free(srv->script);
    for (size_t i = 0; i < srv->nreqs; i++)
        free(srv->reqs[i].block);
    free(srv->reqs);
    tcp_server_fini(&srv->net);
    free(srv);
}

uint16_t tsrv_port(const struct tsrv *srv)
{
    return srv->net.port;
}

int tsrv_url(const struct tsrv *srv, const char *path, char *buf, size_t cap)
{
    return tcp_url(srv->net.port, path, buf, cap);
}

int tsrv_add_response(struct tsrv *srv, const struct tsrv_response *in)
{
    struct resp *r = calloc(1, sizeof *r);
    size_t body_len = 0;
    int rc = -1;

    if (!r)
        goto out;
    r->end = in->end;
    if (in->nchunks) {
        r->chunks = calloc(in->nchunks, sizeof *r->chunks);
        if (!r->chunks)
            goto out;
    }
    for (size_t i = 0; i < in->nchunks; i++) {
        r->chunks[i].data = malloc(in->chunks[i].len ? in->chunks[i].len : 1);
        if (!r->chunks[i].data)
            goto out;
        r->nchunks = i + 1;
        if (in->chunks[i].len)
            memcpy(r->chunks[i].data, in->chunks[i].data, in->chunks[i].len);
        r->chunks[i].len = in->chunks[i].len;
        r->chunks[i].delay_ms = in->chunks[i].delay_ms;
        body_len += in->chunks[i].len;
    }
    if (format_head(in, body_len, &r->head, &r->head_len) != 0)
        goto out;
    pthread_mutex_lock(&srv->net.mu);
    if (srv->nscript == srv->script_cap) {
        size_t ncap = srv->script_cap ? srv->script_cap * 2 : 8;
        struct resp **ns = realloc(srv->script, ncap * sizeof *ns);
        if (!ns) {
            pthread_mutex_unlock(&srv->net.mu);
            goto out;
        }
        srv->script = ns;
        srv->script_cap = ncap;
    }
    srv->script[srv->nscript++] = r;
    r = NULL;
    pthread_mutex_unlock(&srv->net.mu);
    rc = 0;
out:
    resp_free(r);
    return rc;
}

int tsrv_add_stream(struct tsrv *srv, const char *body, enum tsrv_end end)
{
    struct tsrv_chunk ch = {body, strlen(body), 0};
    struct tsrv_response r = {.status = 200, .chunks = &ch, .nchunks = 1,
                              .end = end};
    return tsrv_add_response(srv, &r);
}

int tsrv_add_status(struct tsrv *srv, int status, const char *extra_header)
{
    static const char body[] = "test server says no\n";
    struct tsrv_chunk ch = {body, sizeof body - 1, 0};
    struct tsrv_response r = {.status = status, .chunks = &ch, .nchunks = 1,
                              .content_length = true, .end = TSRV_CLOSE};
    r.headers[0] = "Content-Type: text/plain";
    r.headers[1] = extra_header;
    return tsrv_add_response(srv, &r);
}

void tsrv_set_after_script(struct tsrv *srv, enum tsrv_after after)
{
    pthread_mutex_lock(&srv->net.mu);
    srv->after = after;
    pthread_mutex_unlock(&srv->net.mu);
}

size_t tsrv_request_count(struct tsrv *srv)
{
    return tcp_server_get(&srv->net, &srv->nseen);
}

/* tcp_server_wait() conditions: n requests have arrived / the connection
 * of request n is closed. */
static bool arrived(const void *owner, uint64_t n)
{
    return ((const struct tsrv *)owner)->nseen >= n;
}

static bool closed(const void *owner, uint64_t n)
{
    const struct tsrv *srv = owner;
    return n < srv->nreqs && srv->reqs[n].info.end_ms != 0;
}

bool tsrv_wait_requests(struct tsrv *srv, size_t n, int timeout_ms)
{
    return tcp_server_wait(&srv->net, timeout_ms, arrived, srv, n);
}

bool tsrv_wait_closed(struct tsrv *srv, size_t idx, int timeout_ms)
{
    return tcp_server_wait(&srv->net, timeout_ms, closed, srv, idx);
}

bool tsrv_request(struct tsrv *srv, size_t idx, struct tsrv_request_info *out)
{
    bool ok;
    pthread_mutex_lock(&srv->net.mu);
    ok = idx < srv->nreqs;
    if (ok)
        *out = srv->reqs[idx].info;
    pthread_mutex_unlock(&srv->net.mu);
    return ok;
}

bool tsrv_header(struct tsrv *srv, size_t idx, const char *name, char *buf,
                 size_t cap)
{
    bool found = false;
    pthread_mutex_lock(&srv->net.mu);
    if (idx < srv->nreqs && srv->reqs[idx].block) {
        const struct req *r = &srv->reqs[idx];
        for (size_t i = 0; i < r->info.nheaders; i++) {
            if (!header_name_is(r->block + r->name_off[i], name))
                continue;
            const char *v = r->block + r->value_off[i];
            if (cap > 0) {
                size_t n = strlen(v);
                if (n >= cap)
                    n = cap - 1;
                memcpy(buf, v, n);
                buf[n] = '\0';
            }
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&srv->net.mu);
    return found;
}

static struct conn *find_keep_conn(struct tsrv *srv, size_t idx)
{
    for (size_t i = 0; i < srv->nconns; i++) {
        struct conn *c = &srv->conns[i];
        if (c->req_idx == idx && c->resp && c->resp->end == TSRV_KEEP &&
            (c->state == C_SEND || c->state == C_IDLE))
            return c;
    }
    return NULL;
}

int tsrv_push(struct tsrv *srv, size_t idx, const void *data, size_t len)
{
    int rc = -1;
    pthread_mutex_lock(&srv->net.mu);
    struct conn *c = find_keep_conn(srv, idx);
    if (c && !c->end_requested && len <= PUSH_MAX - (c->pq_len - c->pq_off)) {
        /* compact, then grow */
        if (c->pq_off) {
            memmove(c->pq, c->pq + c->pq_off, c->pq_len - c->pq_off);
            c->pq_len -= c->pq_off;
            c->pq_off = 0;
        }
        char *np = realloc(c->pq, c->pq_len + len + 1);
        if (np) {
            memcpy(np + c->pq_len, data, len);
            c->pq = np;
            c->pq_len += len;
            rc = 0;
            tcp_server_wake(&srv->net);
        }
    }
    pthread_mutex_unlock(&srv->net.mu);
    return rc;
}

int tsrv_end(struct tsrv *srv, size_t idx)
{
    int rc = -1;
    pthread_mutex_lock(&srv->net.mu);
    struct conn *c = find_keep_conn(srv, idx);
    if (c) {
        c->end_requested = true;
        rc = 0;
        tcp_server_wake(&srv->net);
    }
    pthread_mutex_unlock(&srv->net.mu);
    return rc;
}
