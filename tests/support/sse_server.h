/*
 * sse_server.h - a scriptable HTTP/1.1 server for Server-Sent Events tests.
 *
 * What: a tiny server on 127.0.0.1 with an ephemeral port, running in its
 * own pthread (raw sockets + poll, no dependencies).  A test scripts the
 * answers in order: request k gets response k; once the script is used up
 * the server either repeats the last response or closes the connection
 * without answering (tsrv_set_after_script()).  A response is a status line,
 * headers (defaults `Content-Type: text/event-stream` and
 * `Cache-Control: no-cache`, which the script can replace or extend), a body
 * made of chunks each sent after its own delay, and an end action: CLOSE,
 * HANG (keep the connection open and silent until the client leaves or the
 * server stops) or KEEP (keep it open; the test pushes more bytes with
 * tsrv_push() and ends it with tsrv_end()).
 *
 * Why: integration tests of `toolwatch tail` need a peer whose byte timing,
 * status codes and headers are exactly known, and a record of what the
 * client sent and when, so that tests wait on conditions (tsrv_wait_*)
 * instead of sleeping.
 *
 * Invariants:
 *  - every response is HTTP/1.1 with `Connection: close`; streams have no
 *    Content-Length (the body ends at close), fixed bodies may ask for one;
 *  - every buffer is bounded: a request header block is at most
 *    TSRV_MAX_HEADER_BLOCK bytes (larger: 431 and close), at most
 *    TSRV_MAX_REQUESTS requests are recorded (later ones are counted only),
 *    at most TSRV_MAX_CONNS connections are open at once;
 *  - all times are CLOCK_MONOTONIC milliseconds (tsrv_now_ms());
 *  - the script is deep-copied when added: the caller's memory can go away;
 *  - every function here is thread-safe (one mutex + one condition
 *    variable); none may be called from the server thread (there are no
 *    callbacks).
 */
#ifndef TW_TESTS_SSE_SERVER_H
#define TW_TESTS_SSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSRV_MAX_HEADER_BLOCK (16 * 1024)
#define TSRV_MAX_REQUESTS 256
#define TSRV_MAX_CONNS 64
#define TSRV_MAX_RESP_HEADERS 16
#define TSRV_MAX_REQ_HEADERS 128

/* What happens after the last body chunk has been written. */
enum tsrv_end {
    TSRV_CLOSE = 0, /* close the connection */
    TSRV_HANG,      /* stay open, send nothing, until the client leaves */
    TSRV_KEEP       /* stay open; tsrv_push() sends more, tsrv_end() closes */
};

/* What a request gets once the script is used up. */
enum tsrv_after {
    TSRV_AFTER_CLOSE = 0,   /* read the request, close without answering */
    TSRV_AFTER_REPEAT_LAST  /* answer with the last scripted response */
};

struct tsrv_chunk {
    const void *data;
    size_t len;
    unsigned delay_ms; /* wait this long (server side) before sending it */
};

/* One scripted response.  Everything is copied by tsrv_add_response(). */
struct tsrv_response {
    int status;         /* 0 means 200 */
    const char *reason; /* NULL means a standard phrase for the status */
    /* Extra header lines "Name: value", NULL-terminated or full.  A line
     * whose name matches a default header (case-insensitive) replaces it;
     * "Name:" with an empty value removes that default. */
    const char *headers[TSRV_MAX_RESP_HEADERS];
    const struct tsrv_chunk *chunks;
    size_t nchunks;
    bool content_length; /* send Content-Length: <sum of chunk lengths> */
    enum tsrv_end end;
};

/* A copy of what one request looked like, filled by tsrv_request(). */
struct tsrv_request_info {
    int64_t arrival_ms;   /* header block complete */
    int64_t last_send_ms; /* last response byte written; 0 if none */
    int64_t end_ms;       /* connection closed (either side); 0 if open */
    bool answered;        /* false: closed without a response */
    char method[16];
    char path[1024];
    size_t nheaders; /* headers recorded (at most TSRV_MAX_REQ_HEADERS) */
};

struct tsrv;

/* CLOCK_MONOTONIC in milliseconds, the clock of every time below. */
int64_t tsrv_now_ms(void);

/* Bind 127.0.0.1:0, listen and start the server thread.  Returns NULL on
 * failure.  Destroy with tsrv_destroy(). */
struct tsrv *tsrv_create(void);

/* Stop the thread, close every connection, free everything.  NULL is ok. */
void tsrv_destroy(struct tsrv *srv);

/* The port the kernel chose. */
uint16_t tsrv_port(const struct tsrv *srv);

/* Write "http://127.0.0.1:<port><path>" into buf.  Returns 0, or -1 if it
 * does not fit. */
int tsrv_url(const struct tsrv *srv, const char *path, char *buf, size_t cap);

/* Append a response to the script (deep copy).  Returns 0 or -1 (no
 * memory). */
int tsrv_add_response(struct tsrv *srv, const struct tsrv_response *resp);

/* Convenience: a 200 event stream whose body is the single string body
 * (sent at once), ending with end. */
int tsrv_add_stream(struct tsrv *srv, const char *body, enum tsrv_end end);

/* Convenience: status + reason with a fixed text/plain body and
 * Content-Length, then close.  extra_header may be NULL ("Name: value"). */
int tsrv_add_status(struct tsrv *srv, int status, const char *extra_header);

/* Choose what requests get once the script is used up (default
 * TSRV_AFTER_CLOSE). */
void tsrv_set_after_script(struct tsrv *srv, enum tsrv_after after);

/* Number of requests whose header block has arrived so far. */
size_t tsrv_request_count(struct tsrv *srv);

/* Block until at least n requests have arrived or timeout_ms passed.
 * Returns true if they did. */
bool tsrv_wait_requests(struct tsrv *srv, size_t n, int timeout_ms);

/* Block until the connection of request idx is closed.  Returns true if it
 * was within timeout_ms. */
bool tsrv_wait_closed(struct tsrv *srv, size_t idx, int timeout_ms);

/* Copy the record of request idx (0-based).  Returns false if there is no
 * such recorded request. */
bool tsrv_request(struct tsrv *srv, size_t idx, struct tsrv_request_info *out);

/* Look up request header `name` (case-insensitive; the first occurrence)
 * of request idx and copy its value, NUL-terminated, into buf (truncated to
 * cap - 1).  Returns true if the header was present. */
bool tsrv_header(struct tsrv *srv, size_t idx, const char *name, char *buf,
                 size_t cap);

/* Queue bytes to send on the KEEP connection of request idx.  Returns 0,
 * or -1 if that connection is not open in KEEP mode or memory ran out. */
int tsrv_push(struct tsrv *srv, size_t idx, const void *data, size_t len);

/* Close the connection of request idx once its queued bytes are sent.
 * Returns 0 or -1 (no such open connection). */
int tsrv_end(struct tsrv *srv, size_t idx);

#endif
