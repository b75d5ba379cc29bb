/*
 * server.h - the status HTTP server (libmicrohttpd): /healthz, /readyz,
 * /status (JSON) and /metrics (Prometheus text format 0.0.4).  What each
 * answer says is status/render.h's (pure renderers of a snapshot); this
 * is the shell that serves them.
 *
 * The main loop owns all live state and never shares it.  About once a
 * second it fills a struct status_snapshot (status/render.h: a plain
 * value, fixed arrays, no pointers) and hands it to status_publish(),
 * which copies it under a mutex.  libmicrohttpd answers requests on its
 * own single internal polling thread (epoll on Linux), which copies the
 * published snapshot out under the same mutex and renders the answer from
 * that private copy: the loop waits at most for one memcpy, and a slow or
 * idle client costs a file descriptor, never a thread.
 *
 * /healthz judges the last tick by the server's own monotonic clock
 * against health_stall_ms; /status ages by the wall clock at the request.
 * HEAD is answered like GET without a body.  Other methods on these paths
 * get 405 with "Allow: GET, HEAD"; other paths 404.
 *
 * Authentication: with a bearer token configured, every request must
 * carry "Authorization: Bearer <token>", else 401 with "WWW-Authenticate:
 * Bearer"; with probes_public (the default) the probes /healthz and
 * /readyz are the exception (a Kubernetes probe cannot carry the token
 * without writing it into the pod spec, and they reveal only alive / ready
 * and readiness's reason).  The check runs before routing, so
 * without the token /status, /nope and a POST all get the same 401.  The
 * token is never kept: only a keyed BLAKE2b hash of it under a random
 * per-server key; a presented token is hashed the same way and the two
 * hashes compared with sodium_memcmp, so neither the token's content nor
 * its length shows in the timing.
 *
 * The API.  With an api_wake callback in the options, paths under /api/
 * are requests for the main loop (silences, acknowledgements: app/
 * oncall.h answers them).  This thread never touches the loop's state:
 * it checks the token, reads the body (at most STATUS_API_BODY_MAX bytes,
 * else 413), queues the request under the mutex (at most
 * STATUS_API_QUEUE_MAX waiting, else 503), calls api_wake and suspends
 * the connection (libmicrohttpd's suspend/resume); the loop takes the
 * request (status_api_take), does it and answers (status_api_answer),
 * which resumes the connection: the client's answer says what the loop
 * did.  Reads (GET, HEAD) follow the token rule above; writes (any other
 * method) always need the token: without one configured they get 403
 * (writes are off), without the right one 401.
 *
 * The page.  GET / is the HTML status page (status_render_page) from the
 * same snapshot.  A browser without the token is sent (303) to GET
 * /login, a form; POST /login with the right token answers 303 to / with
 * the cookie tw_session (HttpOnly, SameSite=Strict): a keyed BLAKE2b of
 * the token's hash under the server's key, never the token, void after a
 * restart or a token change.  The cookie passes the token rule for reads
 * (GET, HEAD) only; API writes still need the bearer header.  The page's
 * forms post to /ui/ack, /ui/silence and /ui/expire (with an API only):
 * writes, so a token must be set (else 403) and the bearer header or the
 * cookie given (else 401), and their csrf field must be the session's
 * (derived from the cookie's value under the same key; else 403).  Each
 * becomes its API request (status_form_action), queued like one; the
 * loop's answer becomes 303 back to / or an HTML page with its message.
 *
 * Secrets: responses contain nothing but the snapshot, which holds none,
 * the loop's API answers, and the session cookie (derived, not the
 * token) and CSRF field.
 */
#ifndef TW_STATUS_SERVER_H
#define TW_STATUS_SERVER_H

/* The snapshot type (and the renderers): who fills a snapshot to publish
 * needs only this header. */
#include "status/render.h"

#include <stdint.h>

/* Connections: while max_connections are open, libmicrohttpd stops
 * accepting; further clients wait in the kernel's listen backlog (their
 * connect succeeds, no answer comes) until a slot frees or they give up.
 * One client address holds at most per_ip_limit of them (more are closed
 * at once), so a flood from one address leaves the other slots to the
 * probes.  A connection that has not sent a whole request head is closed
 * after request_timeout_s without a byte (at most timeout_s), one past
 * its head after timeout_s: idle clients holding every slot of an address
 * delay its answers by about request_timeout_s.  The server's memory and
 * its one thread are unaffected. */
struct status_options {
    const char *bind_addr;     /* numeric IPv4 or IPv6; NULL: "127.0.0.1" */
    uint16_t port;             /* 0: any free port (see status_port()) */
    const char *token;         /* bearer token, or NULL for none; "" is
                                  refused (a token variable set empty) */
    int probes_public;         /* 1 (default): /healthz and /readyz need
                                  no token; 0: they need it as every
                                  other path does */
    uint64_t health_stall_ms;  /* /healthz threshold; 0: 5000 */
    unsigned max_connections;  /* 0: 768; see above */
    unsigned per_ip_limit;     /* per client address; 0: 256 */
    unsigned request_timeout_s; /* idle before a request head; 0: 2 */
    unsigned timeout_s;        /* idle connection timeout; 0: 10 */
    /* The API: called on the server's thread each time a request is
     * queued, to wake the loop (it must only signal, e.g. write to a
     * pipe).  NULL: no API, /api/ paths get 404. */
    void (*api_wake)(void *ud);
    void *api_ud;
};

#define STATUS_API_PREFIX "/api/"
#define STATUS_API_BODY_MAX (16u * 1024u)
#define STATUS_API_QUEUE_MAX 32
#define STATUS_API_PATH_MAX 256
#define STATUS_API_QUERY_MAX 1024  /* the query string, escaped again */

/* An API request taken by the loop.  Its strings are valid, and the
 * request must be answered, before the next status_api_take(). */
struct status_api_request {
    const char *method;        /* "GET", "POST", "DELETE", ... */
    const char *path;          /* "/api/v1/silences", then "?" and the
                                  query string when there is one (its
                                  values escaped again: status_form_next
                                  reads it) */
    const char *body;          /* body_len bytes, then a NUL */
    size_t body_len;
    void *priv;                /* the server's */
};

enum {
    STATUS_OK = 0,
    STATUS_ENOMEM = -1,
    STATUS_EINVAL = -2,
    STATUS_ELISTEN = -3
};

typedef struct status_server status_server;

/* Fill o with the defaults above (bind 127.0.0.1, port 0, no token). */
void status_options_defaults(struct status_options *o);

/* Start listening and serving on a new internal thread.  Strings in o are
 * not kept (the token only as a keyed hash).  Until the first
 * status_publish() the snapshot is empty with not_ready_reason "starting"
 * and the creation time as the last tick.  Returns NULL on failure
 * (logged, without the token); *err (may be NULL) gets a STATUS_E* code.
 * Call from the loop thread, before or after the loop runs. */
status_server *status_create(const struct status_options *o, int *err);

/* Copy *snap for the server to show.  Loop thread; takes the mutex for one
 * memcpy (never waits for a request to be rendered).  srv NULL (no status
 * server configured) does nothing. */
void status_publish(status_server *srv, const struct status_snapshot *snap);

/* Replace the bearer token of a running server in place (a reload that
 * changes the token only: a second server cannot bind the port this one
 * holds).  token NULL: none from now on; "" is refused.  Kept as a keyed
 * hash under a new random key, as status_create() does; a request being
 * checked sees the old token or the new one, never a mix.  Returns
 * STATUS_OK, or STATUS_EINVAL (srv NULL, token "": nothing changes).
 * Loop thread. */
int status_set_token(status_server *srv, const char *token);

/* Whether /healthz and /readyz answer without the token from now on (a
 * reload of status.probes_public).  srv NULL: nothing.  Any thread. */
void status_set_probes_public(status_server *srv, int on);

/* The oldest API request waiting, into *out: 1, or 0 when none (srv
 * NULL: none).  Loop thread. */
int status_api_take(status_server *srv, struct status_api_request *out);

/* Answer the request taken: HTTP `code` with `len` bytes of JSON at body
 * (copied; NULL or 0 for no body, as 204 has), and an Allow header when
 * allow is not NULL (405).  Resumes its connection.  Loop thread. */
void status_api_answer(status_server *srv, struct status_api_request *req,
                       unsigned code, const char *body, size_t len,
                       const char *allow);

/* The TCP port bound (useful with port 0).  srv not NULL; any thread. */
uint16_t status_port(const status_server *srv);

/* Stop the server thread (requests in progress finish or are dropped;
 * API requests waiting are answered 503 or their connections closed,
 * never left suspended), wipe the token hash, free.  Accepts NULL.  Loop thread, never from a
 * request handler. */
void status_destroy(status_server *srv);

/* A static text for a STATUS_* code (unknown codes too); any thread. */
const char *status_strerror(int rc);

#endif
