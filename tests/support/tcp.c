/*
 * tcp.c - listener, connection I/O and server thread shared by the test
 * servers (see tcp.h).
 *
 * Invariants:
 *  - sockets and the pipe are non-blocking and close-on-exec from birth
 *    (SOCK_NONBLOCK | SOCK_CLOEXEC, accept4, pipe2): no fork in another
 *    test thread can leak them into a child;
 *  - tcp_server_fini() undoes exactly what tcp_server_init() did, so it
 *    takes a half-initialised struct.
 */
#define _GNU_SOURCE /* accept4, pipe2: close-on-exec with no fork race */
#include "tests/support/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DISCARD_READS 64 /* recv() calls of 4 KiB per tcp_discard() */

int64_t tcp_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tcp_now_ms(void)
{
    return tcp_now_us() / 1000;
}

int tcp_listen(uint16_t *port, int backlog, bool reuse_addr)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(*port);
    if ((reuse_addr &&
         setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int tcp_accept(int lfd)
{
    int one = 1;
    int fd;

    do
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

ssize_t tcp_read(int fd, void *buf, size_t cap)
{
    ssize_t n;

    do
        n = recv(fd, buf, cap, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return -1;
}

bool tcp_discard(int fd)
{
    char scratch[4096];

    for (int k = 0; k < DISCARD_READS; k++) {
        ssize_t n = tcp_read(fd, scratch, sizeof scratch);
        if (n == 0)
            return true;
        if (n < 0)
            return false;
    }
    return true;
}

ssize_t tcp_write(int fd, const void *data, size_t len)
{
    ssize_t w;

    do
        w = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return w;
}

int tcp_url(uint16_t port, const char *path, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "http://127.0.0.1:%u%s", (unsigned)port,
                     path ? path : "/");
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

size_t tcp_head_end(const char *b, size_t n, size_t *scanned)
{
    for (size_t i = scanned ? *scanned : 0; i + 1 < n; i++) {
        if (b[i] != '\n')
            continue;
        if (b[i + 1] == '\n')
            return i + 2;
        if (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n')
            return i + 3;
    }
    if (scanned) /* a line end may start in the last two bytes */
        *scanned = n >= 2 ? n - 2 : 0;
    return 0;
}

/* ---------------------------- server thread ---------------------------- */

int tcp_server_init(struct tcp_server *t, int backlog, bool reuse_addr)
{
    pthread_condattr_t ca;

    memset(t, 0, sizeof *t);
    t->inited = true;
    t->lfd = -1;
    t->wake[0] = t->wake[1] = -1;
    if (pthread_mutex_init(&t->mu, NULL) != 0)
        return -1;
    t->mu_ok = true;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    t->cv_ok = pthread_cond_init(&t->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!t->cv_ok || pipe2(t->wake, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    t->lfd = tcp_listen(&t->port, backlog, reuse_addr);
    return t->lfd >= 0 ? 0 : -1;
}

int tcp_server_start(struct tcp_server *t, void *(*fn)(void *), void *arg)
{
    if (pthread_create(&t->thread, NULL, fn, arg) != 0)
        return -1;
    t->thread_started = true;
    return 0;
}

void tcp_server_stop(struct tcp_server *t)
{
    if (!t->thread_started)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    tcp_server_wake(t);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    t->thread_started = false;
}

void tcp_server_fini(struct tcp_server *t)
{
    if (!t->inited)
        return;
    if (t->lfd >= 0)
        close(t->lfd);
    if (t->wake[0] >= 0) {
        close(t->wake[0]);
        close(t->wake[1]);
    }
    if (t->cv_ok)
        pthread_cond_destroy(&t->cv);
    if (t->mu_ok)
        pthread_mutex_destroy(&t->mu);
    t->inited = false;
}

void tcp_server_wake(struct tcp_server *t)
{
    ssize_t w;

    do
        w = write(t->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
}

size_t tcp_server_pollfds(const struct tcp_server *t, struct pollfd *pfd,
                          bool accepting)
{
    pfd[0] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = accepting && t->lfd >= 0 ? t->lfd : -1,
                             .events = POLLIN};
    return 2;
}

int tcp_server_poll(struct tcp_server *t, struct pollfd *pfd, size_t n,
                    int timeout_ms)
{
    int pr, err;

    pthread_mutex_unlock(&t->mu);
    pr = poll(pfd, n, timeout_ms);
    err = errno;
    pthread_mutex_lock(&t->mu);
    if (pr > 0 && pfd[0].revents) {
        char tmp[64];
        while (read(t->wake[0], tmp, sizeof tmp) > 0)
            ;
    }
    errno = err;
    return pr;
}

size_t tcp_server_get(struct tcp_server *t, const size_t *p)
{
    size_t v;

    pthread_mutex_lock(&t->mu);
    v = *p;
    pthread_mutex_unlock(&t->mu);
    return v;
}

bool tcp_server_wait_held(struct tcp_server *t, int timeout_ms,
                          tcp_done_fn *done, const void *owner, uint64_t n)
{
    struct timespec dl;

    if (timeout_ms < 0)
        timeout_ms = 0;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (!done(owner, n)) {
        /* a last look after a time-out: the broadcast may have come with it */
        if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
            return done(owner, n);
    }
    return true;
}

bool tcp_server_wait(struct tcp_server *t, int timeout_ms, tcp_done_fn *done,
                     const void *owner, uint64_t n)
{
    bool ok;

    pthread_mutex_lock(&t->mu);
    ok = tcp_server_wait_held(t, timeout_ms, done, owner, n);
    pthread_mutex_unlock(&t->mu);
    return ok;
}
