/*
 * server.h - serve the synthetic audit stream over SSE (libmicrohttpd).
 *
 * GET <any path> answers 200 text/event-stream with every event that is
 * due on the timeline (sim/gen.h), then paces the rest in real time,
 * starting after the request's Last-Event-ID when it has one; without
 * one, at the live edge (the first event not yet due, as a real audit
 * service does), or at event 0 with from_start (a test that replays the
 * same events needs them all).  A comment
 * heartbeat is sent when nothing was written for heartbeat_ms.  With
 * `total`, the stream ends after event total-1 (every connection sees the
 * end once it has caught up).  Other methods get 405.
 *
 * The server runs on libmicrohttpd's threads (one per connection); they
 * share only the immutable generator and atomic counters.
 */
#ifndef TW_SIM_SERVER_H
#define TW_SIM_SERVER_H

#include "sim/gen.h"

#include <stdint.h>

struct sim_server_options {
    struct sim_gen_options gen;
    const char *bind_addr;   /* default 127.0.0.1 */
    uint16_t port;           /* 0: any free port */
    uint64_t total;          /* 0: endless */
    uint32_t heartbeat_ms;   /* default 5000 */
    int unpaced;             /* send as fast as the client reads */
    int from_start;          /* a client with no Last-Event-ID starts at
                                event 0, not at the live edge */
    unsigned max_connections; /* default 16 */
};

struct sim_server_stats {
    uint64_t connections;
    uint64_t events_sent;
    uint64_t resumed;        /* requests that carried Last-Event-ID */
    uint64_t last_resume_id; /* the last Last-Event-ID received + 1 */
};

typedef struct sim_server sim_server;

void sim_server_options_defaults(struct sim_server_options *o);

/* Start listening.  Returns NULL on failure (logged). */
sim_server *sim_server_start(const struct sim_server_options *o);

/* The bound port. */
uint16_t sim_server_port(const sim_server *s);

void sim_server_get_stats(const sim_server *s, struct sim_server_stats *out);

/* Stop serving: open streams are ended, threads joined.  Accepts NULL. */
void sim_server_stop(sim_server *s);

#endif
