/*
 * receiver.h - a scriptable HTTP/1.1 server that plays a webhook receiver.
 *
 * What: a server on 127.0.0.1 with an ephemeral port, running in its own
 * pthread (raw sockets + poll, no dependencies).  It speaks enough
 * HTTP/1.1 for webhook, Slack and PagerDuty deliveries: keep-alive (several
 * requests per connection, pipelined ones answered in order),
 * `Connection: close`, request bodies framed by Content-Length or
 * `Transfer-Encoding: chunked`, `Expect: 100-continue`.  Every request is
 * recorded: times, method, path, headers, body bytes, and what it was
 * given.  What it is given is a script: an ordered list of actions, one
 * consumed per complete request (in the order requests complete, over all
 * connections), then a default action for every later request.  An action
 * is: ANSWER a status with headers and a body, after an optional delay;
 * DROP the connection with a reset (after an optional delay); or HANG
 * (never answer).  rcv_set_down() simulates an outage: connections are
 * refused until it is lifted, and the port stays the same.
 *
 * Why: delivery tests need a peer whose answers (statuses, Retry-After,
 * slowness, resets, outages) are exactly known, and a record of what the
 * client sent, so that tests wait on conditions (rcv_wait_*) instead of
 * sleeping, and check bodies and signatures byte for byte.
 *
 * Invariants:
 *  - every buffer is bounded: a request header block is at most
 *    RCV_MAX_HEADER_BLOCK bytes and RCV_MAX_REQ_HEADERS lines (larger: 431
 *    and close), a body at most RCV_MAX_BODY bytes (larger: 413 and close),
 *    malformed framing gets 400 and close; at most RCV_MAX_REQUESTS
 *    requests are recorded (later ones are answered and counted only), all
 *    kept bodies together at most RCV_MAX_STORED_BODY bytes; at most
 *    RCV_MAX_CONNS connections are open (more wait in the listen backlog);
 *  - requests the server rejects itself (400/413/431) are recorded with
 *    by_server set and do not consume a script action;
 *  - a delay runs on a per-connection deadline in the poll loop: it never
 *    holds up another connection;
 *  - all times are CLOCK_MONOTONIC milliseconds (rcv_now_ms());
 *  - actions are deep-copied when added: the caller's memory can go away;
 *  - every function is thread-safe (one mutex + one condition variable);
 *    there are no callbacks.  A record's strings and body stay valid until
 *    rcv_stop().
 */
#ifndef TW_TESTS_RECEIVER_H
#define TW_TESTS_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RCV_MAX_CONNS 64
#define RCV_MAX_HEADER_BLOCK (16 * 1024)
#define RCV_MAX_REQ_HEADERS 100
#define RCV_MAX_BODY (1024 * 1024)
#define RCV_MAX_REQUESTS 20000
#define RCV_MAX_STORED_BODY (256u * 1024u * 1024u)
#define RCV_MAX_RESP_HEADERS 16
#define RCV_MAX_RESP_BODY (1024 * 1024)
#define RCV_MAX_SCRIPT 100000

/* Return codes of the functions that return int. */
enum {
    RCV_OK = 0,
    RCV_EINVAL = -1, /* a bad action (status, header line, size) */
    RCV_ENOMEM = -2,
    RCV_ESOCKET = -3, /* the listening socket could not be (re)opened */
    RCV_EFULL = -4    /* the script holds RCV_MAX_SCRIPT actions */
};

/* What a request is given. */
enum rcv_kind {
    RCV_ANSWER = 0, /* send a response (after delay_ms) */
    RCV_DROP,       /* reset the connection, no response (after delay_ms) */
    RCV_HANG        /* never answer; keep the connection until the client
                       leaves, rcv_set_down() or rcv_stop() */
};

/* One scripted action.  Everything is copied by rcv_add(). */
struct rcv_action {
    enum rcv_kind kind;
    int status;        /* RCV_ANSWER: 200..999; 0 means 200 */
    unsigned delay_ms; /* counted from the moment the request is complete */
    /* Extra header lines "Name: value", NULL-terminated or full.  The
     * server writes Content-Length and Connection itself: lines naming
     * them, or Transfer-Encoding, are refused (RCV_EINVAL). */
    const char *headers[RCV_MAX_RESP_HEADERS];
    const void *body; /* may be NULL when body_len is 0 */
    size_t body_len;  /* at most RCV_MAX_RESP_BODY */
    bool close;       /* answer with `Connection: close`, then close */
};

/* One request header: a view into the record. */
struct rcv_header {
    const char *name;  /* as sent */
    const char *value; /* surrounding whitespace removed */
};

/* A request as recorded, filled by rcv_get().  The pointers are views into
 * the receiver's record: valid until rcv_stop(), never to be freed. */
struct rcv_request {
    size_t index;        /* 0-based, in order of completion */
    uint64_t conn_id;    /* 1-based; requests on one connection share it */
    size_t conn_seq;     /* 0-based position on its connection */
    int64_t arrival_ms;  /* header block complete */
    int64_t complete_ms; /* body complete (or rejected) */
    int64_t end_ms;      /* response fully written, or connection closed
                            (either side) before that; 0 while pending */
    const char *method;  /* "" if the request line was unusable */
    const char *path;    /* the request target as sent */
    const char *version; /* "HTTP/1.1" or "HTTP/1.0" */
    const struct rcv_header *headers;
    size_t nheaders;
    const unsigned char *body; /* NUL-terminated (not counted); NULL if the
                                  body is empty or was not kept */
    size_t body_len;           /* bytes received (chunked: decoded) */
    bool body_lost;            /* RCV_MAX_STORED_BODY was reached */
    bool chunked;              /* the body came chunked */
    bool by_server;            /* rejected by the server (400/413/431) */
    enum rcv_kind action;      /* what the script said */
    unsigned delay_ms;
    int status; /* status of the response fully written; 0: none (yet) */
};

struct rcv;

/* CLOCK_MONOTONIC in milliseconds, the clock of every time here. */
int64_t rcv_now_ms(void);

/* Text for an RCV_E* code.  Never NULL. */
const char *rcv_strerror(int rc);

/* Bind 127.0.0.1:0 (SO_REUSEADDR), listen and start the server thread.
 * The default action is "200, no headers, empty body".  Returns NULL on
 * failure.  Stop with rcv_stop(). */
struct rcv *rcv_start(void);

/* Stop the thread, close every connection, free everything (records
 * included: views from rcv_get() die here).  NULL is ok. */
void rcv_stop(struct rcv *r);

/* The port the kernel chose; it stays the same across rcv_set_down(). */
uint16_t rcv_port(const struct rcv *r);

/* Write "http://127.0.0.1:<port><path>" into buf (path NULL: "/").
 * Returns 0, or RCV_EINVAL if it does not fit. */
int rcv_url(const struct rcv *r, const char *path, char *buf, size_t cap);

/* Append an action to the script (deep copy).  Returns 0, RCV_EINVAL,
 * RCV_ENOMEM or RCV_EFULL. */
int rcv_add(struct rcv *r, const struct rcv_action *a);

/* Replace the action for requests after the script (deep copy).  Returns
 * 0, RCV_EINVAL or RCV_ENOMEM (the old default then stays). */
int rcv_set_default(struct rcv *r, const struct rcv_action *a);

/* Convenience: answer status at once with an optional extra header line
 * ("Name: value") and an optional text body (both may be NULL). */
int rcv_add_status(struct rcv *r, int status, const char *header,
                   const char *body);

/* Convenience: answer status (empty body) after delay_ms. */
int rcv_add_delay(struct rcv *r, unsigned delay_ms, int status);

/* Convenience: reset the connection at once / never answer. */
int rcv_add_drop(struct rcv *r);
int rcv_add_hang(struct rcv *r);

/* Script actions not yet consumed. */
size_t rcv_script_left(struct rcv *r);

/* down true: close the listening socket (new connections are refused) and
 * every open connection, as a crashed receiver would.  down false: listen
 * again on the same port.  Returns once the server thread has done it:
 * 0, or RCV_ESOCKET if the port could not be bound again (still down). */
int rcv_set_down(struct rcv *r, bool down);

/* Requests completed so far (recorded or not, rejected ones included). */
size_t rcv_count(struct rcv *r);

/* Connections accepted so far / open now. */
uint64_t rcv_conn_count(struct rcv *r);
size_t rcv_conns_open(struct rcv *r);

/* Block until at least n requests have completed or timeout_ms passed
 * (condition variable, no polling).  Returns true if they did. */
bool rcv_wait_requests(struct rcv *r, size_t n, int timeout_ms);

/* Block until request idx has ended (end_ms set: answered, or its
 * connection closed).  Returns true if it did within timeout_ms. */
bool rcv_wait_end(struct rcv *r, size_t idx, int timeout_ms);

/* Copy the record of request idx into *out (scalars copied, strings and
 * body viewed).  Returns false if there is no such recorded request. */
bool rcv_get(struct rcv *r, size_t idx, struct rcv_request *out);

/* Value of header name (case-insensitive; first occurrence) in req, or
 * NULL if absent.  Pure: works on any filled struct rcv_request. */
const char *rcv_header(const struct rcv_request *req, const char *name);

/* Recorded requests whose response (fully written) had this status;
 * status 0 counts those not answered (yet): DROP, HANG, pending. */
size_t rcv_count_status(struct rcv *r, int status);

/* Recorded requests carrying header name with exactly value. */
size_t rcv_count_header(struct rcv *r, const char *name, const char *value);

/* The first recorded request at index >= from carrying header name with
 * exactly value; its index goes to *idx.  Returns false if none. */
bool rcv_find(struct rcv *r, size_t from, const char *name, const char *value,
              size_t *idx);

/* Distinct values of header name among recorded requests answered with a
 * status in [status_lo, status_hi] (e.g. "webhook-id", 200, 299: how many
 * different notifications were acknowledged).  Requests without the header
 * are not counted. */
size_t rcv_count_distinct(struct rcv *r, const char *name, int status_lo,
                          int status_hi);

#endif
