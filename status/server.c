/*
 * server.c - the status HTTP server: libmicrohttpd on one internal polling
 * thread, answering from a snapshot the main loop publishes.
 *
 * Why a snapshot: the loop owns the stream, the engine and the deliveries
 * and must never block on a client or share live state with a thread.  It
 * copies its counters into a plain struct once a second; this file copies
 * that struct out under a mutex and hands the private copy to the pure
 * renderers (render.c), which write the documents.  What lives here is
 * only the HTTP shell: threads, the token check, routing, publishing.
 *
 * Invariants:
 *  - `pub` is touched only under `mu`; `view` only on the MHD thread (the
 *    daemon runs exactly one thread: no MHD_USE_THREAD_PER_CONNECTION, no
 *    thread pool), which copies pub -> view under `mu` and renders from
 *    view without the lock;
 *  - every request but the API's is answered in its first handler call
 *    (no such endpoint takes a body), from a capped buffer
 *    (STATUS_BODY_MAX);
 *  - an API request (struct api_req, the connection's req_cls) moves
 *    BODY -> QUEUED -> TAKEN -> ANSWERED -> DONE.  Its state, the queue
 *    and the count are touched only under `mu`; while QUEUED or TAKEN its
 *    connection is suspended, so this thread does not call the handler
 *    for it and the loop reads its method, path and body without the
 *    lock; the loop writes the answer and resumes it.  The completion
 *    callback frees it, unless the loop holds it (TAKEN: it frees it when
 *    it answers).  status_destroy() answers every request still queued
 *    503 and resumes it before the daemon stops (libmicrohttpd requires
 *    no suspended connection then);
 *  - the bearer token is never stored: only BLAKE2b(key, token) under a
 *    random per-server key, wiped on destroy; a presented token is hashed
 *    under the same key and compared in constant time; has_token, the key
 *    and the hash are touched only under `mu` once the daemon runs
 *    (status_set_token() replaces them in place, on a reload);
 *  - POST /login is limited per client address (status/login_limit.h:
 *    5 wrong tokens within 60 s, then 429 with Retry-After for the rest
 *    of the minute, the token not even looked at); only the MHD thread
 *    touches the limiter (`login`);
 *  - idle connections cost a descriptor and a slot of max_connections
 *    (at most per_ip_limit per client address), never a thread; MHD
 *    closes them after request_timeout_s until their request head is in
 *    (the daemon's timeout), after timeout_s from then on (set on the
 *    connection by the first handler call).
 */
#include "status/server.h"

#include "base/clock.h"
#include "base/log.h"
#include "status/login_limit.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STATUS_BODY_MAX (512u * 1024u)
#define TOKEN_HASH_BYTES crypto_generichash_BYTES /* 32 */
#define METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define JSON_CTYPE "application/json"
#define HTML_CTYPE "text/html; charset=utf-8"
#define SESSION_COOKIE "tw_session"
#define SESSION_HEX (2 * TOKEN_HASH_BYTES) /* 64 */
#define UI_PREFIX "/ui/"

struct status_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    int mu_ok;
    struct status_snapshot pub;   /* under mu */
    struct status_snapshot view;  /* MHD thread only */
    int has_token;                /* under mu, with the key and hash */
    atomic_int probes_public;     /* /healthz, /readyz without the token */
    unsigned char token_key[crypto_generichash_KEYBYTES];
    unsigned char token_hash[TOKEN_HASH_BYTES];
    uint64_t stall_ms;
    unsigned timeout_s;         /* a connection's, once its head is in */
    uint16_t port;
    int loopback;                 /* bound to a loopback address */
    atomic_int running;           /* the daemon has started */
    void (*api_wake)(void *ud);   /* NULL: no API */
    void *api_ud;
    struct api_req *queue;        /* under mu: QUEUED, oldest first */
    unsigned queued;
    struct status_login_limit login; /* MHD thread only */
};

/* An API request (see the invariants). */
enum api_state { AR_BODY = 0, AR_QUEUED, AR_TAKEN, AR_ANSWERED, AR_DONE };

/* What the body is for: the API's JSON, the login form (answered here,
 * never queued), or a page form (turned into its API request, queued,
 * and answered with a redirect to the page or an HTML error). */
enum req_kind { RK_API = 0, RK_LOGIN, RK_FORM };

struct api_req {
    struct api_req *next;         /* the queue */
    struct MHD_Connection *conn;
    enum api_state state;
    int orphan;                   /* completed while TAKEN */
    int too_big;                  /* the body passed STATUS_API_BODY_MAX */
    enum req_kind kind;
    char method[16];
    char path[STATUS_API_PATH_MAX + STATUS_API_QUERY_MAX + 2];
    char ui[32];                  /* RK_FORM: "/ui/ack", ... */
    char *body;                   /* len bytes and a NUL */
    size_t len;
    unsigned code;                /* ANSWERED: */
    char *answer;
    size_t answer_len;
    char allow[32];
};

enum route { R_NONE = 0, R_HEALTHZ, R_READYZ, R_STATUS, R_METRICS,
             R_COUNT };

/* Each route's path and the content type of its answer. */
static const struct {
    const char *path;
    const char *ctype;
} routes[R_COUNT] = {
    [R_HEALTHZ] = {"/healthz", JSON_CTYPE},
    [R_READYZ] = {"/readyz", JSON_CTYPE},
    [R_STATUS] = {"/status", JSON_CTYPE},
    [R_METRICS] = {"/metrics", METRICS_CTYPE},
};

void status_options_defaults(struct status_options *o)
{
    memset(o, 0, sizeof *o);
    o->bind_addr = "127.0.0.1";
    o->probes_public = 1;
    o->health_stall_ms = 5000;
    o->max_connections = 768;
    o->per_ip_limit = 256;
    o->request_timeout_s = 2;
    o->timeout_s = 10;
}

/* ---- the HTTP side ------------------------------------------------------ */

/* libmicrohttpd's own messages.  While the daemon starts they explain a
 * failure (e.g. the port is taken): errors.  Once it runs they are mostly
 * about clients (a connection closed mid-request, the connection limit
 * reached): info, rate-limited by the logger. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    status_server *srv = cls;
    char msg[256];
    size_t n;

    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (atomic_load(&srv->running))
        LOG(LOG_INFO, "status", "libmicrohttpd: %s", msg);
    else
        LOG(LOG_ERROR, "status", "libmicrohttpd: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             const char *ctype, const char *body, size_t len,
                             const char *allow, int challenge)
{
    struct MHD_Response *r;
    enum MHD_Result ret = MHD_NO;

    r = MHD_create_response_from_buffer(len, (void *)body,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        goto out;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) !=
            MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store") != MHD_YES ||
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") !=
            MHD_YES)
        goto out;
    if (allow != NULL &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)
        goto out;
    if (challenge &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"toolwatch\"") != MHD_YES)
        goto out;
    ret = MHD_queue_response(c, code, r);
out:
    if (r != NULL)
        MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned code,
                                  const char *body)
{
    return reply(c, code, JSON_CTYPE, body, strlen(body), NULL, 0);
}

static void token_hash(const status_server *srv, const char *tok, size_t n,
                       unsigned char out[TOKEN_HASH_BYTES])
{
    crypto_generichash(out, TOKEN_HASH_BYTES, (const unsigned char *)tok, n,
                       srv->token_key, sizeof srv->token_key);
}

/* Keep `token` (NULL: none; not "") as its hash under a fresh random key.
 * mu held, or the server not yet running. */
static void set_token(status_server *srv, const char *token)
{
    srv->has_token = token != NULL;
    randombytes_buf(srv->token_key, sizeof srv->token_key);
    if (token != NULL)
        token_hash(srv, token, strlen(token), srv->token_hash);
    else
        sodium_memzero(srv->token_hash, sizeof srv->token_hash);
}

/* May the request pass the token check: no token is set, or it carries
 * "Authorization: Bearer <our token>"?  The scheme is case-insensitive
 * (RFC 7235); the token is compared as keyed hashes in constant time,
 * whatever its length.  The token is read under mu (status_set_token()
 * may change it): a request sees the old one or the new one. */
static int authorized(status_server *srv, struct MHD_Connection *c)
{
    unsigned char h[TOKEN_HASH_BYTES];
    const char *v = NULL;
    size_t n = 0;
    int ok = 0;

    memset(h, 0, sizeof h);
    pthread_mutex_lock(&srv->mu);
    if (!srv->has_token) {
        ok = 1;
        goto out;
    }
    if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_AUTHORIZATION,
                                      strlen(MHD_HTTP_HEADER_AUTHORIZATION),
                                      &v, &n) != MHD_YES ||
        v == NULL)
        goto out;
    if (n < 7 || strncasecmp(v, "Bearer ", 7) != 0)
        goto out;
    v += 7;
    n -= 7;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    token_hash(srv, v, n, h);
    ok = sodium_memcmp(h, srv->token_hash, sizeof h) == 0;
out:
    pthread_mutex_unlock(&srv->mu);
    sodium_memzero(h, sizeof h);
    return ok;
}

/* label || in, keyed with the token's key, as 64 hex digits.  mu held. */
static void derive(const status_server *srv, const char *label,
                   const void *in, size_t n, char hex[SESSION_HEX + 1])
{
    crypto_generichash_state st;
    unsigned char h[TOKEN_HASH_BYTES];

    crypto_generichash_init(&st, srv->token_key, sizeof srv->token_key,
                            sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)label,
                              strlen(label));
    crypto_generichash_update(&st, in, n);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(hex, SESSION_HEX + 1, h, sizeof h);
    sodium_memzero(h, sizeof h);
    sodium_memzero(&st, sizeof st);
}

/* The session cookie's value: derived from the token's hash under the
 * server's random key, so it reveals nothing of the token and dies with
 * the server or a new token.  The page's CSRF field is derived from the
 * session in turn.  mu held; a token is set. */
static void session_of(const status_server *srv, char hex[SESSION_HEX + 1])
{
    derive(srv, "toolwatch session", srv->token_hash,
           sizeof srv->token_hash, hex);
}

static void csrf_of(const status_server *srv, char hex[SESSION_HEX + 1])
{
    char session[SESSION_HEX + 1];

    session_of(srv, session);
    derive(srv, "toolwatch csrf", session, SESSION_HEX, hex);
    sodium_memzero(session, sizeof session);
}

/* Is `v` (NULL: none) the value `which` of the token in force?  In
 * constant time.  0 when no token is set. */
static int derived_ok(status_server *srv, const char *v, int csrf)
{
    char want[SESSION_HEX + 1];
    int ok = 0;

    if (v == NULL || strlen(v) != SESSION_HEX)
        return 0;
    pthread_mutex_lock(&srv->mu);
    if (srv->has_token) {
        if (csrf)
            csrf_of(srv, want);
        else
            session_of(srv, want);
        ok = sodium_memcmp(want, v, SESSION_HEX) == 0;
    }
    pthread_mutex_unlock(&srv->mu);
    sodium_memzero(want, sizeof want);
    return ok;
}

/* The page's session cookie, from POST /login. */
static int cookie_ok(status_server *srv, struct MHD_Connection *c)
{
    return derived_ok(srv, MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
                                                       SESSION_COOKIE), 0);
}

/* May it read: the bearer token, or the page's session cookie (a read
 * cannot change anything, so a cookie a browser sends by itself is
 * enough; writes need more: see api_begin and form_begin). */
static int reader_ok(status_server *srv, struct MHD_Connection *c)
{
    return authorized(srv, c) || cookie_ok(srv, c);
}

static int has_token(status_server *srv)
{
    int t;

    pthread_mutex_lock(&srv->mu);
    t = srv->has_token;
    pthread_mutex_unlock(&srv->mu);
    return t;
}

/* An HTML answer (body NULL: none), with Location, Set-Cookie and
 * Retry-After when given. */
static enum MHD_Result reply_html_with(struct MHD_Connection *c,
                                       unsigned code, const buf *body,
                                       const char *location,
                                       const char *cookie,
                                       const char *retry_after)
{
    struct MHD_Response *r;
    enum MHD_Result ret = MHD_NO;

    r = MHD_create_response_from_buffer(body != NULL ? body->len : 0,
                                        body != NULL && body->data != NULL
                                            ? body->data : (void *)"",
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        goto out;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                HTML_CTYPE) != MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store") != MHD_YES ||
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") !=
            MHD_YES ||
        MHD_add_response_header(r, "X-Frame-Options", "DENY") != MHD_YES ||
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer") !=
            MHD_YES ||
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; style-src "
                                "'unsafe-inline'; form-action 'self'; "
                                "frame-ancestors 'none'") != MHD_YES)
        goto out;
    if (location != NULL &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location) !=
            MHD_YES)
        goto out;
    if (cookie != NULL &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie) !=
            MHD_YES)
        goto out;
    if (retry_after != NULL &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER,
                                retry_after) != MHD_YES)
        goto out;
    ret = MHD_queue_response(c, code, r);
out:
    if (r != NULL)
        MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_html(struct MHD_Connection *c, unsigned code,
                                  const buf *body, const char *location,
                                  const char *cookie)
{
    return reply_html_with(c, code, body, location, cookie, NULL);
}

/* A page that says why a form was not done. */
static enum MHD_Result reply_form_error(struct MHD_Connection *c,
                                        unsigned code, const char *msg,
                                        size_t len)
{
    enum MHD_Result ret;
    buf b;

    buf_init(&b, 64 * 1024);
    if (status_render_form_error(&b, code, msg, len) != BUF_OK)
        buf_reset(&b);
    ret = reply_html(c, code, &b, NULL, NULL);
    buf_free(&b);
    return ret;
}

/* The login form with `msg` (NULL: none); retry_after (NULL: none) its
 * Retry-After. */
static enum MHD_Result reply_login_with(struct MHD_Connection *c,
                                        unsigned code, const char *msg,
                                        const char *retry_after)
{
    enum MHD_Result ret;
    buf b;

    buf_init(&b, 64 * 1024);
    if (status_render_login(&b, msg) != BUF_OK)
        buf_reset(&b);
    ret = reply_html_with(c, code, &b, NULL, NULL, retry_after);
    buf_free(&b);
    return ret;
}

static enum MHD_Result reply_login(struct MHD_Connection *c, unsigned code,
                                   const char *msg)
{
    return reply_login_with(c, code, msg, NULL);
}

/* 429: too many wrong tokens from this address; wait_s more seconds. */
static enum MHD_Result reply_login_wait(struct MHD_Connection *c,
                                        unsigned wait_s)
{
    char msg[128], secs[16];

    snprintf(msg, sizeof msg, "Too many wrong tokens from your address: "
             "try again in %u s.", wait_s);
    snprintf(secs, sizeof secs, "%u", wait_s);
    return reply_login_with(c, MHD_HTTP_TOO_MANY_REQUESTS, msg, secs);
}

/* GET /: the page from the snapshot copied to srv->view; a browser
 * without the token is sent to the login form. */
static enum MHD_Result answer_page(status_server *srv,
                                   struct MHD_Connection *c)
{
    char csrf[SESSION_HEX + 1] = "";
    enum MHD_Result ret;
    int writes;
    buf b;

    if (!reader_ok(srv, c))
        return reply_html(c, MHD_HTTP_SEE_OTHER, NULL, "/login", NULL);
    pthread_mutex_lock(&srv->mu);
    memcpy(&srv->view, &srv->pub, sizeof srv->view);
    writes = srv->has_token && srv->api_wake != NULL;
    if (srv->has_token)
        csrf_of(srv, csrf);
    pthread_mutex_unlock(&srv->mu);
    buf_init(&b, STATUS_PAGE_MAX);
    if (status_render_page(&b, &srv->view, csrf, writes, clock_wall_ms()) !=
        BUF_OK) {
        LOG(LOG_ERROR, "status", "cannot render the status page");
        ret = reply_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "{\"error\":\"internal error\"}\n");
    } else {
        ret = reply_html(c, MHD_HTTP_OK, &b, NULL, NULL);
    }
    buf_free(&b);
    sodium_memzero(csrf, sizeof csrf);
    return ret;
}

/* Exact paths only: "/healthz/" or "/STATUS" are other paths (the query
 * string never reaches us: libmicrohttpd strips it). */
static enum route route_of(const char *url)
{
    for (int rt = R_NONE + 1; rt < R_COUNT; rt++)
        if (strcmp(url, routes[rt].path) == 0)
            return (enum route)rt;
    return R_NONE;
}

/* Render route rt from srv->view (MHD thread, after the copy) and queue
 * it; 500 when the document does not fit or memory runs out. */
static enum MHD_Result answer(status_server *srv, struct MHD_Connection *c,
                              enum route rt)
{
    const struct status_snapshot *s = &srv->view;
    unsigned code = MHD_HTTP_OK;
    enum MHD_Result ret;
    buf b;
    int rc;

    buf_init(&b, STATUS_BODY_MAX);
    switch (rt) {
    case R_HEALTHZ:
        rc = status_render_healthz(&b, s, clock_mono_ms(), srv->stall_ms,
                                   &code);
        break;
    case R_READYZ:
        rc = status_render_readyz(&b, s, &code);
        break;
    case R_STATUS:
        rc = status_render_json(&b, s, clock_wall_ms(), clock_mono_ms());
        break;
    default:
        rc = status_render_metrics(&b, s);
        break;
    }
    if (rc != BUF_OK) {
        LOG(LOG_ERROR, "status", "cannot render %s: %s", routes[rt].path,
            rc == BUF_ETOOBIG ? "too big" : "out of memory");
        ret = reply_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "{\"error\":\"internal error\"}\n");
        goto out;
    }
    ret = reply(c, code, routes[rt].ctype, b.data, b.len, NULL, 0);
out:
    buf_free(&b);
    return ret;
}

/* ---- the API ------------------------------------------------------------ */

static void api_free(struct api_req *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->answer);
    free(r);
}

/* A JSON error answer {"error": msg} with `code`, in the first handler
 * call (the connection's req_cls becomes srv: what follows is dropped). */
static enum MHD_Result api_refuse(status_server *srv, struct MHD_Connection *c,
                                  void **req_cls, unsigned code,
                                  const char *msg, int challenge)
{
    buf b;
    enum MHD_Result ret;

    *req_cls = srv;
    buf_init(&b, 1024);
    if (buf_append_str(&b, "{\"error\":") != BUF_OK ||
        buf_append_json_string(&b, msg, strlen(msg)) != BUF_OK ||
        buf_append_str(&b, "}\n") != BUF_OK)
        ret = reply_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "{\"error\":\"internal error\"}\n");
    else
        ret = reply(c, code, JSON_CTYPE, b.data, b.len, NULL, challenge);
    buf_free(&b);
    return ret;
}

/* Does the request declare a body longer than the API takes? */
static int declared_too_big(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t n = 0;

    if (v == NULL)
        return 0;
    for (; *v >= '0' && *v <= '9'; v++) {
        if (n > STATUS_API_BODY_MAX)
            return 1;
        n = n * 10 + (size_t)(*v - '0');
    }
    return n > STATUS_API_BODY_MAX;
}

/* The query string of an API request, rebuilt from libmicrohttpd's
 * decoded arguments with every byte but [A-Za-z0-9-._~:] escaped (the
 * loop decodes it again: status_form_next()). */
struct query {
    char s[STATUS_API_QUERY_MAX + 1];
    size_t n;
    int over;
};

static void query_put(struct query *q, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; v != NULL && *v != '\0'; v++) {
        unsigned char ch = (unsigned char)*v;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
                    ch == '_' || ch == '~' || ch == ':';

        if (q->n + (plain ? 1 : 3) > STATUS_API_QUERY_MAX) {
            q->over = 1;
            return;
        }
        if (plain) {
            q->s[q->n++] = (char)ch;
        } else {
            q->s[q->n++] = '%';
            q->s[q->n++] = hex[ch >> 4];
            q->s[q->n++] = hex[ch & 15];
        }
    }
}

static void query_lit(struct query *q, char ch)
{
    if (q->n + 1 > STATUS_API_QUERY_MAX)
        q->over = 1;
    else
        q->s[q->n++] = ch;
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value)
{
    struct query *q = cls;

    (void)kind;
    if (q->n > 0)
        query_lit(q, '&');
    query_put(q, key);
    if (value != NULL) {
        query_lit(q, '=');
        query_put(q, value);
    }
    q->s[q->n < sizeof q->s ? q->n : sizeof q->s - 1] = '\0';
    return q->over ? MHD_NO : MHD_YES;
}

/* The first call for an API request: the token, the size; then its
 * struct api_req becomes the connection's req_cls. */
static enum MHD_Result api_begin(status_server *srv, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 void **req_cls)
{
    int read = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
               strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    struct query q;
    struct api_req *r;
    int has_token;

    pthread_mutex_lock(&srv->mu);
    has_token = srv->has_token;
    pthread_mutex_unlock(&srv->mu);
    if (!read && !has_token)
        return api_refuse(srv, c, req_cls, MHD_HTTP_FORBIDDEN,
                          "API writes need a bearer token: set "
                          "status.token_env", 0);
    if (read ? !reader_ok(srv, c) : !authorized(srv, c))
        return api_refuse(srv, c, req_cls, MHD_HTTP_UNAUTHORIZED,
                          "unauthorized", 1);
    if (strlen(url) >= STATUS_API_PATH_MAX || strlen(method) >= 16)
        return api_refuse(srv, c, req_cls, MHD_HTTP_NOT_FOUND, "not found",
                          0);
    q.n = 0;
    q.over = 0;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
    if (q.over)
        return api_refuse(srv, c, req_cls, MHD_HTTP_URI_TOO_LONG,
                          "the query string is over 1024 bytes", 0);
    if (declared_too_big(c))
        return api_refuse(srv, c, req_cls, MHD_HTTP_CONTENT_TOO_LARGE,
                          "the request body is over 16384 bytes", 0);
    if ((r = calloc(1, sizeof *r)) == NULL)
        return api_refuse(srv, c, req_cls, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "out of memory", 0);
    r->conn = c;
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s%s%.*s", url, q.n > 0 ? "?" : "",
             (int)q.n, q.s);
    *req_cls = r;
    return MHD_YES;
}

/* The first call for POST /login or a page form (/ui/...): a form body
 * to read.  A page form is a write: it needs a token set, and the bearer
 * token or the session cookie (and, once its body is read, the CSRF
 * field of that session). */
static enum MHD_Result form_begin(status_server *srv,
                                  struct MHD_Connection *c, const char *url,
                                  const char *method, enum req_kind kind,
                                  void **req_cls)
{
    struct api_req *r;

    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        *req_cls = srv;
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, JSON_CTYPE,
                     "{\"error\":\"method not allowed\"}\n", 31, "POST",
                     0);
    }
    if (kind == RK_FORM) {
        if (!has_token(srv)) {
            static const char msg[] = "Changes from this page need a "
                                      "token: set status.token_env.";
            *req_cls = srv;
            return reply_form_error(c, MHD_HTTP_FORBIDDEN, msg,
                                    sizeof msg - 1);
        }
        if (!reader_ok(srv, c)) {
            *req_cls = srv;
            return reply_login(c, MHD_HTTP_UNAUTHORIZED,
                               "Log in to change anything.");
        }
    }
    if (declared_too_big(c) || strlen(url) >= sizeof r->ui) {
        *req_cls = srv;
        return reply_form_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                "The form is too large.", 22);
    }
    if ((r = calloc(1, sizeof *r)) == NULL)
        return api_refuse(srv, c, req_cls, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "out of memory", 0);
    r->conn = c;
    r->kind = kind;
    snprintf(r->ui, sizeof r->ui, "%s", url);
    *req_cls = r;
    return MHD_YES;
}

/* The connection's client address as 16 bytes (IPv4 v4-mapped; another
 * family: all zeros). */
static void client_addr(struct MHD_Connection *c, unsigned char out[16])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    memset(out, 0, 16);
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        out[10] = out[11] = 0xff;
        memcpy(out + 12, &in->sin_addr, 4);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

/* POST /login, its body read: the token right sets the session cookie
 * and goes to the page; wrong, the form again. */
static enum MHD_Result login_done(status_server *srv,
                                  struct MHD_Connection *c,
                                  struct api_req *r)
{
    char tok[1024], session[SESSION_HEX + 1],
        cookie[SESSION_HEX + sizeof SESSION_COOKIE + 64];
    unsigned char h[TOKEN_HASH_BYTES], addr[16];
    size_t n = 0;
    int ok = 0, got;
    unsigned wait;
    int64_t now = clock_mono_ms();
    enum MHD_Result ret;

    r->state = AR_DONE;
    client_addr(c, addr);
    if ((wait = status_login_wait_s(&srv->login, addr, now)) > 0)
        return reply_login_wait(c, wait);
    got = status_form_get(r->body, r->len, "token", tok, sizeof tok, &n);
    pthread_mutex_lock(&srv->mu);
    if (!srv->has_token) {
        pthread_mutex_unlock(&srv->mu);
        sodium_memzero(tok, sizeof tok);
        return reply_html(c, MHD_HTTP_SEE_OTHER, NULL, "/", NULL);
    }
    if (got == 1) {
        token_hash(srv, tok, n, h);
        ok = sodium_memcmp(h, srv->token_hash, sizeof h) == 0;
    }
    session_of(srv, session);
    pthread_mutex_unlock(&srv->mu);
    sodium_memzero(tok, sizeof tok);
    sodium_memzero(h, sizeof h);
    if (!ok) {
        char ip[INET6_ADDRSTRLEN];

        sodium_memzero(session, sizeof session);
        if (status_login_failed(&srv->login, addr, now) !=
            STATUS_LOGIN_FAILS_MAX) {
            LOG(LOG_INFO, "status", "a login with a wrong token");
        } else {
            if (inet_ntop(AF_INET6, addr, ip, sizeof ip) == NULL)
                snprintf(ip, sizeof ip, "?");
            LOG(LOG_WARN, "status", "%d wrong login tokens from %s: its "
                "logins are refused for the rest of %d s",
                STATUS_LOGIN_FAILS_MAX, ip, STATUS_LOGIN_WINDOW_MS / 1000);
        }
        return reply_login(c, MHD_HTTP_UNAUTHORIZED, "Wrong token.");
    }
    status_login_forget(&srv->login, addr);
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s; Path=/; HttpOnly; "
             "SameSite=Strict", session);
    ret = reply_html(c, MHD_HTTP_SEE_OTHER, NULL, "/", cookie);
    sodium_memzero(session, sizeof session);
    sodium_memzero(cookie, sizeof cookie);
    return ret;
}

/* A page form, its body read: into its API request (r's method, path and
 * body replaced), or answered here: 400 a bad form, 403 a CSRF field
 * that is not this session's.  Returns 1 when r is to be queued. */
static int form_done(status_server *srv, struct MHD_Connection *c,
                     struct api_req *r, enum MHD_Result *ret)
{
    struct status_form_action a;
    char err[256];
    buf json;
    int queue = 0;

    buf_init(&json, STATUS_API_BODY_MAX);
    if (status_form_action(r->ui, r->body, r->len, clock_wall_ms(), &a,
                           &json, err, sizeof err) != 0) {
        r->state = AR_DONE;
        *ret = reply_form_error(c, MHD_HTTP_BAD_REQUEST, err, strlen(err));
        goto out;
    }
    if (!derived_ok(srv, a.csrf, 1)) {
        static const char msg[] = "This form is stale or did not come "
                                  "from the status page: reload the page "
                                  "and try again.";
        r->state = AR_DONE;
        *ret = reply_form_error(c, MHD_HTTP_FORBIDDEN, msg, sizeof msg - 1);
        goto out;
    }
    free(r->body);
    r->body = NULL;
    r->len = 0;
    if ((r->body = malloc(json.len + 1)) == NULL) {
        r->state = AR_DONE;
        *ret = reply_form_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "out of memory", 13);
        goto out;
    }
    if (json.len > 0)
        memcpy(r->body, json.data, json.len);
    r->body[json.len] = '\0';
    r->len = json.len;
    snprintf(r->method, sizeof r->method, "%s", a.method);
    snprintf(r->path, sizeof r->path, "%s", a.path);
    queue = 1;
out:
    buf_free(&json);
    return queue;
}

/* Body bytes; at the end, queue the request and suspend, or answer. */
static enum MHD_Result api_continue(status_server *srv,
                                    struct MHD_Connection *c,
                                    struct api_req *r, const char *upload,
                                    size_t *upload_size)
{
    struct MHD_Response *resp;
    enum MHD_Result ret = MHD_NO;
    enum api_state st;

    pthread_mutex_lock(&srv->mu);
    st = r->state;
    pthread_mutex_unlock(&srv->mu);
    if (st == AR_BODY && *upload_size > 0) {
        size_t n = *upload_size;
        char *p;

        *upload_size = 0;
        if (r->too_big || n > STATUS_API_BODY_MAX - r->len) {
            r->too_big = 1;
            return MHD_YES;
        }
        if ((p = realloc(r->body, r->len + n + 1)) == NULL) {
            r->too_big = 1;
            return MHD_YES;
        }
        memcpy(p + r->len, upload, n);
        r->body = p;
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    if (st == AR_BODY) {
        if (r->too_big) {
            r->state = AR_DONE;
            return reply_json(c, MHD_HTTP_CONTENT_TOO_LARGE,
                              "{\"error\":\"the request body is over 16384 "
                              "bytes\"}\n");
        }
        if (r->body == NULL && (r->body = calloc(1, 1)) == NULL) {
            r->state = AR_DONE;
            return reply_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                              "{\"error\":\"out of memory\"}\n");
        }
        if (r->kind == RK_LOGIN)
            return login_done(srv, c, r);
        if (r->kind == RK_FORM && !form_done(srv, c, r, &ret))
            return ret;
        pthread_mutex_lock(&srv->mu);
        if (srv->queued >= STATUS_API_QUEUE_MAX) {
            r->state = AR_DONE;
            pthread_mutex_unlock(&srv->mu);
            return reply_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                              "{\"error\":\"too many API requests "
                              "waiting; try again\"}\n");
        }
        {
            struct api_req **tail = &srv->queue;

            while (*tail != NULL)
                tail = &(*tail)->next;
            *tail = r;
        }
        r->state = AR_QUEUED;
        srv->queued++;
        MHD_suspend_connection(c);
        pthread_mutex_unlock(&srv->mu);
        srv->api_wake(srv->api_ud);
        return MHD_YES;
    }
    if (st != AR_ANSWERED)
        return MHD_YES;
    r->state = AR_DONE;
    if (r->kind == RK_FORM) {
        /* done: back to the page, which shows it; else why not */
        if (r->code >= 200 && r->code < 300)
            return reply_html(c, MHD_HTTP_SEE_OTHER, NULL, "/", NULL);
        return reply_form_error(c, r->code,
                                r->answer != NULL ? r->answer : "",
                                r->answer_len);
    }
    resp = MHD_create_response_from_buffer(r->answer_len,
                                           r->answer != NULL ? r->answer
                                                             : (void *)"",
                                           MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    if ((r->answer_len == 0 ||
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                 JSON_CTYPE) == MHD_YES) &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store") == MHD_YES &&
        MHD_add_response_header(resp, "X-Content-Type-Options",
                                "nosniff") == MHD_YES &&
        (r->allow[0] == '\0' ||
         MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) ==
             MHD_YES))
        ret = MHD_queue_response(c, r->code, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* libmicrohttpd is done with a connection's request: free an API
 * request, unless the loop holds it. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    status_server *srv = cls;
    struct api_req *r = *req_cls;

    (void)c;
    (void)toe;
    if (r == NULL || (void *)r == (void *)srv)
        return;
    *req_cls = NULL;
    pthread_mutex_lock(&srv->mu);
    if (r->state == AR_TAKEN) {
        r->orphan = 1;
        r = NULL;
    } else if (r->state == AR_QUEUED) {
        struct api_req **p = &srv->queue;

        while (*p != NULL && *p != r)
            p = &(*p)->next;
        if (*p == r) {
            *p = r->next;
            srv->queued--;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    api_free(r);
}

int status_api_take(status_server *srv, struct status_api_request *out)
{
    struct api_req *r;

    if (srv == NULL)
        return 0;
    pthread_mutex_lock(&srv->mu);
    r = srv->queue;
    if (r != NULL) {
        srv->queue = r->next;
        srv->queued--;
        r->next = NULL;
        r->state = AR_TAKEN;
    }
    pthread_mutex_unlock(&srv->mu);
    if (r == NULL)
        return 0;
    out->method = r->method;
    out->path = r->path;
    out->body = r->body;
    out->body_len = r->len;
    out->priv = r;
    return 1;
}

/* Set r's answer (copied; on failure a 503 without a body).  r is not
 * queued, and its connection is suspended. */
static void set_answer(struct api_req *r, unsigned code, const char *body,
                       size_t len, const char *allow)
{
    free(r->answer);
    r->answer = NULL;
    r->answer_len = 0;
    r->code = code;
    if (len > 0 && (r->answer = malloc(len)) == NULL) {
        r->code = MHD_HTTP_SERVICE_UNAVAILABLE;
        len = 0;
    }
    if (len > 0)
        memcpy(r->answer, body, len);
    r->answer_len = len;
    snprintf(r->allow, sizeof r->allow, "%s", allow != NULL ? allow : "");
}

void status_api_answer(status_server *srv, struct status_api_request *req,
                       unsigned code, const char *body, size_t len,
                       const char *allow)
{
    struct api_req *r = req->priv;
    struct MHD_Connection *c;
    int orphan;

    set_answer(r, code, body, body != NULL ? len : 0, allow);
    pthread_mutex_lock(&srv->mu);
    orphan = r->orphan;
    r->state = AR_ANSWERED;
    c = r->conn;
    pthread_mutex_unlock(&srv->mu);
    req->priv = NULL;
    if (orphan)
        api_free(r);
    else
        MHD_resume_connection(c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    status_server *srv = cls;
    enum route rt = route_of(url);

    (void)version;
    (void)upload;
    if (*req_cls == NULL)
        /* the head is in: the connection's own timeout from now on */
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  srv->timeout_s);
    if (*req_cls == srv) {
        /* A body after we answered: discard it. */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*req_cls != NULL)
        return api_continue(srv, c, *req_cls, upload, upload_size);
    if (srv->api_wake != NULL &&
        strncmp(url, STATUS_API_PREFIX, strlen(STATUS_API_PREFIX)) == 0)
        return api_begin(srv, c, url, method, req_cls);
    if (srv->api_wake != NULL &&
        strncmp(url, UI_PREFIX, strlen(UI_PREFIX)) == 0)
        return form_begin(srv, c, url, method, RK_FORM, req_cls);
    if (strcmp(url, "/login") == 0 &&
        strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return form_begin(srv, c, url, method, RK_LOGIN, req_cls);
    *req_cls = srv;
    if (strcmp(url, "/") == 0 || strcmp(url, "/login") == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
            strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            static const char msg[] = "{\"error\":\"method not allowed\"}\n";
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, JSON_CTYPE, msg,
                         sizeof msg - 1, url[1] == '\0' ? "GET, HEAD"
                                                        : "GET, HEAD, POST",
                         0);
        }
        if (url[1] == '\0')
            return answer_page(srv, c);
        return has_token(srv) ? reply_login(c, MHD_HTTP_OK, NULL)
                              : reply_html(c, MHD_HTTP_SEE_OTHER, NULL, "/",
                                           NULL);
    }
    /* The probes are public unless probes_public is off: a Kubernetes
     * probe cannot carry the token without writing it into the pod spec,
     * and they reveal only alive / ready and readiness's reason (no event,
     * rule or secret). */
    if (!((rt == R_HEALTHZ || rt == R_READYZ) &&
          atomic_load(&srv->probes_public)) &&
        !reader_ok(srv, c)) {
        static const char msg[] = "{\"error\":\"unauthorized\"}\n";
        return reply(c, MHD_HTTP_UNAUTHORIZED, JSON_CTYPE, msg,
                     sizeof msg - 1, NULL, 1);
    }
    if (rt == R_NONE)
        return reply_json(c, MHD_HTTP_NOT_FOUND,
                          "{\"error\":\"not found\"}\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char msg[] = "{\"error\":\"method not allowed\"}\n";
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, JSON_CTYPE, msg,
                     sizeof msg - 1, "GET, HEAD", 0);
    }
    pthread_mutex_lock(&srv->mu);
    memcpy(&srv->view, &srv->pub, sizeof srv->view);
    pthread_mutex_unlock(&srv->mu);
    return answer(srv, c, rt);
}

/* ---- life cycle --------------------------------------------------------- */

/* No token on an address others can reach: say so (host NULL: not
 * known here). */
static void warn_open(const status_server *srv, const char *host)
{
    if (srv->loopback)
        return;
    LOG(LOG_WARN, "status", "%s is not a loopback address and no token is "
        "set: anyone who can reach port %u can read /status and /metrics "
        "(set status.token_env)", host != NULL ? host : "the status address",
        (unsigned)srv->port);
}

status_server *status_create(const struct status_options *o, int *err)
{
    struct status_options d;
    status_server *srv = NULL;
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    const union MHD_DaemonInfo *info;
    const char *host;
    unsigned req_timeout;
    int rc = STATUS_OK;

    status_options_defaults(&d);
    if (o == NULL)
        o = &d;
    host = o->bind_addr != NULL ? o->bind_addr : d.bind_addr;
    memset(&addr, 0, sizeof addr);
    if (inet_pton(AF_INET, host, &addr.in4.sin_addr) == 1) {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons(o->port);
    } else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(o->port);
        flags |= MHD_USE_IPv6;
    } else {
        LOG(LOG_ERROR, "status", "bind address %s is not a numeric IP",
            host);
        rc = STATUS_EINVAL;
        goto out;
    }
    if (o->token != NULL && o->token[0] == '\0') {
        LOG(LOG_ERROR, "status", "the status token is set but empty");
        rc = STATUS_EINVAL;
        goto out;
    }
    if (sodium_init() < 0) {
        rc = STATUS_ENOMEM;
        goto out;
    }
    srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        rc = STATUS_ENOMEM;
        goto out;
    }
    status_login_limit_init(&srv->login);
    if (pthread_mutex_init(&srv->mu, NULL) != 0) {
        rc = STATUS_ENOMEM;
        goto out;
    }
    srv->mu_ok = 1;
    srv->stall_ms = o->health_stall_ms ? o->health_stall_ms
                                       : d.health_stall_ms;
    srv->timeout_s = o->timeout_s ? o->timeout_s : d.timeout_s;
    req_timeout = o->request_timeout_s ? o->request_timeout_s
                                       : d.request_timeout_s;
    if (req_timeout > srv->timeout_s)
        req_timeout = srv->timeout_s;
    srv->pub.last_tick_mono_ms = clock_mono_ms();
    snprintf(srv->pub.not_ready_reason, sizeof srv->pub.not_ready_reason,
             "starting");
    set_token(srv, o->token);
    atomic_init(&srv->probes_public, o->probes_public != 0);
    srv->api_wake = o->api_wake;
    srv->api_ud = o->api_ud;
    srv->daemon = MHD_start_daemon(
        flags, o->port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)srv,
        MHD_OPTION_SOCK_ADDR, &addr.sa,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(o->max_connections ? o->max_connections
                                      : d.max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(o->per_ip_limit ? o->per_ip_limit : d.per_ip_limit),
        MHD_OPTION_CONNECTION_TIMEOUT, req_timeout,
        MHD_OPTION_END);
    if (srv->daemon == NULL) {
        LOG(LOG_ERROR, "status", "cannot listen on %s port %u", host,
            (unsigned)o->port);
        rc = STATUS_ELISTEN;
        goto out;
    }
    atomic_store(&srv->running, 1);
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : o->port;
    LOG(LOG_INFO, "status", "listening on http://%s%s%s:%u/ (%s)",
        (flags & MHD_USE_IPv6) ? "[" : "", host,
        (flags & MHD_USE_IPv6) ? "]" : "", (unsigned)srv->port,
        !srv->has_token ? "no token"
        : o->probes_public ? "bearer token required except for /healthz "
                             "and /readyz"
                           : "bearer token required on every path");
    srv->loopback = (flags & MHD_USE_IPv6)
                        ? IN6_IS_ADDR_LOOPBACK(&addr.in6.sin6_addr)
                        : (ntohl(addr.in4.sin_addr.s_addr) >> 24) == 127;
    if (!srv->has_token)
        warn_open(srv, host);
out:
    if (rc != STATUS_OK) {
        status_destroy(srv);
        srv = NULL;
    }
    if (err != NULL)
        *err = rc;
    return srv;
}

void status_publish(status_server *srv, const struct status_snapshot *snap)
{
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->mu);
    memcpy(&srv->pub, snap, sizeof srv->pub);
    pthread_mutex_unlock(&srv->mu);
}

int status_set_token(status_server *srv, const char *token)
{
    int had;

    if (srv == NULL || (token != NULL && token[0] == '\0'))
        return STATUS_EINVAL;
    pthread_mutex_lock(&srv->mu);
    had = srv->has_token;
    set_token(srv, token);
    pthread_mutex_unlock(&srv->mu);
    LOG(LOG_INFO, "status", "%s", token == NULL ? (had ? "the bearer token "
        "is no longer required" : "still no bearer token") : had ?
        "the bearer token was changed" : "a bearer token is now required");
    if (token == NULL)
        warn_open(srv, NULL);
    return STATUS_OK;
}

void status_set_probes_public(status_server *srv, int on)
{
    if (srv != NULL && atomic_exchange(&srv->probes_public, on != 0) !=
                           (on != 0))
        LOG(LOG_INFO, "status", "/healthz and /readyz %s",
            on ? "no longer need the bearer token"
               : "now need the bearer token");
}

uint16_t status_port(const status_server *srv)
{
    return srv->port;
}

void status_destroy(status_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->daemon != NULL) {
        /* no connection may stay suspended: answer what waits, and
         * resume outside the lock (libmicrohttpd takes its own) */
        struct MHD_Connection *conns[STATUS_API_QUEUE_MAX];
        struct api_req *r;
        unsigned n = 0;

        pthread_mutex_lock(&srv->mu);
        for (r = srv->queue; r != NULL && n < STATUS_API_QUEUE_MAX;
             r = r->next) {
            static const char msg[] = "{\"error\":\"shutting down\"}\n";

            set_answer(r, MHD_HTTP_SERVICE_UNAVAILABLE, msg, sizeof msg - 1,
                       NULL);
            r->state = AR_ANSWERED;
            conns[n++] = r->conn;
        }
        srv->queue = NULL;
        srv->queued = 0;
        pthread_mutex_unlock(&srv->mu);
        for (unsigned i = 0; i < n; i++)
            MHD_resume_connection(conns[i]);
        MHD_stop_daemon(srv->daemon);
    }
    if (srv->mu_ok)
        pthread_mutex_destroy(&srv->mu);
    sodium_memzero(srv->token_key, sizeof srv->token_key);
    sodium_memzero(srv->token_hash, sizeof srv->token_hash);
    free(srv);
}

const char *status_strerror(int rc)
{
    switch (rc) {
    case STATUS_OK:
        return "success";
    case STATUS_ENOMEM:
        return "out of memory";
    case STATUS_EINVAL:
        return "invalid status server options";
    case STATUS_ELISTEN:
        return "cannot listen on the status address";
    default:
        return "unknown status error";
    }
}
