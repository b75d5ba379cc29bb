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
 * Authentication: with a bearer token configured, every request except
 * those for /healthz (left open for liveness probes, and it reveals nothing
 * but "the loop is alive") must carry "Authorization: Bearer <token>", else
 * 401 with "WWW-Authenticate: Bearer".  The check runs before routing, so
 * without the token /status, /nope and a POST all get the same 401.  The
 * token is never kept: only a keyed BLAKE2b hash of it under a random
 * per-server key; a presented token is hashed the same way and the two
 * hashes compared with sodium_memcmp, so neither the token's content nor
 * its length shows in the timing.
 *
 * Secrets: responses contain nothing but the snapshot, which holds none.
 */
#ifndef TW_STATUS_SERVER_H
#define TW_STATUS_SERVER_H

/* The snapshot type (and the renderers): who fills a snapshot to publish
 * needs only this header. */
#include "status/render.h"

#include <stdint.h>

/* Connection limit: while max_connections are open, libmicrohttpd stops
 * accepting; further clients wait in the kernel's listen backlog (their
 * connect succeeds, no answer comes) until a slot frees or they give up.
 * A connection that sends nothing for timeout_s is closed, so clients
 * holding every slot delay answers by at most about timeout_s.  The
 * server's memory and its one thread are unaffected. */
struct status_options {
    const char *bind_addr;     /* numeric IPv4 or IPv6; NULL: "127.0.0.1" */
    uint16_t port;             /* 0: any free port (see status_port()) */
    const char *token;         /* bearer token, or NULL for none; "" is
                                  refused (a token variable set empty) */
    uint64_t health_stall_ms;  /* /healthz threshold; 0: 5000 */
    unsigned max_connections;  /* 0: 64; see above */
    unsigned timeout_s;        /* idle connection timeout; 0: 10 */
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

/* The TCP port bound (useful with port 0).  srv not NULL; any thread. */
uint16_t status_port(const status_server *srv);

/* Stop the server thread (requests in progress finish or are dropped),
 * wipe the token hash, free.  Accepts NULL.  Loop thread, never from a
 * request handler. */
void status_destroy(status_server *srv);

/* A static text for a STATUS_* code (unknown codes too); any thread. */
const char *status_strerror(int rc);

#endif
