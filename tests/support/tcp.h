/*
 * tcp.h - the plumbing the scripted test servers share (sse_server.c,
 * receiver.c): a listener on 127.0.0.1, non-blocking reads and writes on a
 * connection, finding where an HTTP request head ends, and a server thread
 * that sleeps in poll() with a self-pipe to wake it, one mutex and one
 * condition variable.
 *
 * Why: both servers are a poll() loop on their own pthread over a wake-up
 * pipe, the listening socket and their connections, driven by API calls
 * that take the loop's mutex, change something, wake the loop, and wait on
 * the condition variable for the loop to report back.  This is that part,
 * written once; what connections do (parsers, scripts, records) stays in
 * each server.
 *
 * Invariants:
 *  - every descriptor is non-blocking and close-on-exec; writes use
 *    MSG_NOSIGNAL, so a client that leaves never raises SIGPIPE in the test
 *    process;
 *  - all times are CLOCK_MONOTONIC, the clock of the condition variable;
 *  - the server thread holds mu except while it sleeps in
 *    tcp_server_poll(); what mu guards besides `stop` is the owner's to
 *    say.
 */
#ifndef TW_TESTS_TCP_H
#define TW_TESTS_TCP_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in microseconds / milliseconds. */
int64_t tcp_now_us(void);
int64_t tcp_now_ms(void);

/* Listen on 127.0.0.1:*port (0: a port the kernel chooses) with the given
 * backlog, after SO_REUSEADDR when reuse_addr (to bind a port again that
 * was just closed).  *port gets the bound port.  Returns the socket, or -1
 * (nothing left open). */
int tcp_listen(uint16_t *port, int backlog, bool reuse_addr);

/* Accept one pending connection from listening socket lfd, with
 * TCP_NODELAY set.  Returns its descriptor, or -1 when none is pending (or
 * accepting failed). */
int tcp_accept(int lfd);

/* One recv() of at most cap (> 0) bytes, retried on EINTR.  Returns the
 * bytes read (> 0), 0 when nothing is there now, or -1 when the peer closed
 * the connection or it failed. */
ssize_t tcp_read(int fd, void *buf, size_t cap);

/* Read and drop what has arrived (at most 256 KiB a call).  Returns false
 * when the peer has closed the connection or it failed. */
bool tcp_discard(int fd);

/* One send() of data[0..len), retried on EINTR.  Returns the bytes sent
 * (0: the socket buffer is full), or -1 when the connection failed. */
ssize_t tcp_write(int fd, const void *data, size_t len);

/* Write "http://127.0.0.1:<port><path>" (path NULL: "/") into buf.
 * Returns 0, or -1 if it does not fit. */
int tcp_url(uint16_t port, const char *path, char *buf, size_t cap);

/* The end of the HTTP/1.1 request head at the start of b[0..n): the index
 * just past its blank line (LF LF or LF CR LF), or 0 if it has not all
 * arrived.  scanned (may be NULL: scan from the start) is kept by the
 * caller across calls on a growing buffer, so that bytes already looked at
 * are not looked at again; 0 before the first call of a head. */
size_t tcp_head_end(const char *b, size_t n, size_t *scanned);

/* A server's thread, lock, wake-up pipe and listening socket; embedded in
 * the server's own struct. */
struct tcp_server {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stop;         /* under mu: the thread is to return */
    int lfd;           /* the listening socket; -1 when closed */
    uint16_t port;     /* the port it was bound to */
    /* private: */
    bool inited, mu_ok, cv_ok, thread_started;
    int wake[2];
    pthread_t thread;
};

/* Set up t: mutex, condition variable, wake-up pipe, and a listener on
 * 127.0.0.1 with an ephemeral port (tcp_listen()).  Returns 0 or -1; either
 * way t is then given to tcp_server_fini() in the end. */
int tcp_server_init(struct tcp_server *t, int backlog, bool reuse_addr);

/* Run fn(arg) on the server thread.  Returns 0 or -1. */
int tcp_server_start(struct tcp_server *t, void *(*fn)(void *), void *arg);

/* Set stop, wake the thread and join it (if it was started).  Not from the
 * server thread; mu not held. */
void tcp_server_stop(struct tcp_server *t);

/* Close the listener and the pipe, destroy the mutex and the condition
 * variable.  After tcp_server_stop(); t as tcp_server_init() left it, or
 * zeroed. */
void tcp_server_fini(struct tcp_server *t);

/* Make the server thread's poll() return.  Any thread; safe with mu held. */
void tcp_server_wake(struct tcp_server *t);

/* Server thread: fill pfd[0] with the wake-up pipe and pfd[1] with the
 * listener (fd -1, which poll() skips, unless accepting and open).
 * Returns 2, the number of entries used. */
size_t tcp_server_pollfds(const struct tcp_server *t, struct pollfd *pfd,
                          bool accepting);

/* Server thread, mu held: poll(pfd, n, timeout_ms) with mu released, then
 * take mu again and empty the wake-up pipe.  Returns poll()'s result, with
 * its errno. */
int tcp_server_poll(struct tcp_server *t, struct pollfd *pfd, size_t n,
                    int timeout_ms);

/* *p, read under mu.  Not from the server thread. */
size_t tcp_server_get(struct tcp_server *t, const size_t *p);

/* What a caller waits for: true once it has happened.  owner is the
 * server (its fields guarded by mu), n the caller's argument (a count, an
 * index). */
typedef bool tcp_done_fn(const void *owner, uint64_t n);

/* mu held: wait on cv until done(owner, n) is true or timeout_ms (< 0: 0)
 * have passed.  Returns done(owner, n) as last seen. */
bool tcp_server_wait_held(struct tcp_server *t, int timeout_ms,
                          tcp_done_fn *done, const void *owner, uint64_t n);

/* The same, taking and releasing mu itself.  Not from the server thread. */
bool tcp_server_wait(struct tcp_server *t, int timeout_ms, tcp_done_fn *done,
                     const void *owner, uint64_t n);

#endif
