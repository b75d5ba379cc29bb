/*
 * proc.c - child processes with captured output for tests (see proc.h).
 *
 * The parent keeps one growing capture buffer per stream (capped) and, for
 * stdout, a read position that proc_read_line() advances.  Every wait is a
 * loop of "look at what we have; if not enough, poll() the two pipes and
 * the pidfd until the deadline; read everything that is ready".  When the
 * pidfd becomes readable the child is reaped with waitpid(WNOHANG).
 *
 * Invariants:
 *  - the child, between fork and execve, calls only async-signal-safe
 *    functions (dup2, execve, write, _exit): the test process has other
 *    threads (the test server), so nothing may allocate there; argv and envp
 *    are built before fork;
 *  - every fd is close-on-exec, so the child inherits only 0, 1 and 2;
 *  - capture buffers always end with a NUL that is not counted in their
 *    length.
 */
#define _GNU_SOURCE /* pipe2 */
#include "tests/support/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct capture {
    char *buf;
    size_t len, cap;
    size_t dropped;
    int fd; /* -1 once closed */
};

struct proc {
    pid_t pid;
    int pidfd; /* -1 if unavailable or after reaping */
    bool reaped;
    int status;
    struct capture out, err;
    size_t out_pos; /* proc_read_line() position in out.buf */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t env_name_len(const char *s)
{
    const char *eq = strchr(s, '=');
    return eq ? (size_t)(eq - s) : strlen(s);
}

/* Build the child's environment: environ minus every name in changes, plus
 * the "NAME=value" entries of changes.  The strings are not copied. */
static char **build_env(const char *const changes[])
{
    size_t n = 0, nch = 0, k = 0;
    char **envp;

    while (environ[n])
        n++;
    while (changes && changes[nch])
        nch++;
    envp = calloc(n + nch + 1, sizeof *envp);
    if (!envp)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t en = env_name_len(environ[i]);
        bool drop = false;
        for (size_t j = 0; j < nch && !drop; j++) {
            size_t cn = env_name_len(changes[j]);
            drop = cn == en && memcmp(changes[j], environ[i], en) == 0;
        }
        if (!drop)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < nch; j++)
        if (strchr(changes[j], '='))
            envp[k++] = (char *)(uintptr_t)changes[j];
    envp[k] = NULL;
    return envp;
}

static void child_fail(const char *what)
{
    static const char msg[] = "proc_spawn: cannot ";
    ssize_t w = write(2, msg, sizeof msg - 1);
    w = write(2, what, strlen(what));
    w = write(2, "\n", 1);
    (void)w;
    _exit(127);
}

struct proc *proc_spawn(const char *const argv[],
                        const char *const env_changes[])
{
    struct proc *p = calloc(1, sizeof *p);
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    int devnull = -1;
    char **envp = NULL;

    if (!p)
        return NULL;
    p->pid = -1;
    p->pidfd = -1;
    p->out.fd = p->err.fd = -1;
    envp = build_env(env_changes);
    if (!envp)
        goto fail;
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0)
        goto fail;
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0)
        goto fail;
    p->pid = fork();
    if (p->pid < 0)
        goto fail;
    if (p->pid == 0) {
        if (dup2(devnull, 0) < 0 || dup2(outp[1], 1) < 0 ||
            dup2(errp[1], 2) < 0)
            child_fail("dup2");
        execve(argv[0], (char *const *)(uintptr_t)argv, envp);
        child_fail("execve");
    }
    close(outp[1]);
    close(errp[1]);
    close(devnull);
    free(envp);
    p->out.fd = outp[0];
    p->err.fd = errp[0];
    fcntl(p->out.fd, F_SETFL, O_NONBLOCK);
    fcntl(p->err.fd, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
    p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    if (p->pidfd >= 0)
        fcntl(p->pidfd, F_SETFD, FD_CLOEXEC);
#endif
    return p;
fail:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    if (devnull >= 0)
        close(devnull);
    free(envp);
    free(p);
    return NULL;
}

pid_t proc_pid(const struct proc *p)
{
    return p->pid;
}

/* Read everything ready on c->fd. */
static void drain(struct capture *c)
{
    char tmp[65536];

    while (c->fd >= 0) {
        ssize_t r = read(c->fd, tmp, sizeof tmp);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            r = 0; /* treat errors as end of stream */
        }
        if (r == 0) {
            close(c->fd);
            c->fd = -1;
            return;
        }
        size_t n = (size_t)r;
        if (c->len + n > PROC_CAPTURE_MAX) {
            size_t keep = PROC_CAPTURE_MAX - c->len;
            c->dropped += n - keep;
            n = keep;
        }
        if (c->len + n + 1 > c->cap) {
            size_t ncap = c->cap ? c->cap : 4096;
            while (ncap < c->len + n + 1)
                ncap *= 2;
            char *nb = realloc(c->buf, ncap);
            if (!nb) {
                c->dropped += n;
                continue;
            }
            c->buf = nb;
            c->cap = ncap;
        }
        memcpy(c->buf + c->len, tmp, n);
        c->len += n;
        c->buf[c->len] = '\0';
    }
}

static void try_reap(struct proc *p)
{
    if (p->reaped)
        return;
    pid_t r = waitpid(p->pid, &p->status, WNOHANG);
    if (r == p->pid) {
        p->reaped = true;
        if (p->pidfd >= 0) {
            close(p->pidfd);
            p->pidfd = -1;
        }
    }
}

/* One round: wait up to timeout_ms for anything, then read all that is
 * ready.  With nothing left to watch, returns at once. */
static void pump(struct proc *p, int timeout_ms)
{
    struct pollfd pfd[3];
    nfds_t n = 0;

    if (p->out.fd >= 0)
        pfd[n++] = (struct pollfd){.fd = p->out.fd, .events = POLLIN};
    if (p->err.fd >= 0)
        pfd[n++] = (struct pollfd){.fd = p->err.fd, .events = POLLIN};
    if (!p->reaped && p->pidfd >= 0)
        pfd[n++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
    if (n == 0 && !p->reaped) {
        /* no pidfd (old kernel) and both pipes closed: the child is
         * exiting; a short poll tick is the only option left */
        pfd[n++] = (struct pollfd){.fd = -1};
        if (timeout_ms > 10)
            timeout_ms = 10;
    }
    if (n > 0 && timeout_ms > 0)
        poll(pfd, n, timeout_ms);
    drain(&p->out);
    drain(&p->err);
    try_reap(p);
}

void proc_poll(struct proc *p)
{
    pump(p, 0);
}

static int remaining(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    return left > 0 ? (int)left : 0;
}

int proc_read_line(struct proc *p, char *buf, size_t cap, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    bool last_look = false;

    for (;;) {
        const char *start = p->out.buf ? p->out.buf + p->out_pos : NULL;
        size_t avail = p->out.len - p->out_pos;
        const char *nl = avail ? memchr(start, '\n', avail) : NULL;
        size_t len;
        if (nl) {
            len = (size_t)(nl - start);
            p->out_pos += len + 1;
        } else if (p->out.fd < 0 && avail > 0) {
            len = avail;
            p->out_pos += avail;
        } else if (p->out.fd < 0) {
            return PROC_EOF;
        } else {
            if (remaining(deadline) == 0) {
                if (last_look)
                    return PROC_TIMEOUT;
                last_look = true; /* one last non-blocking read */
            }
            pump(p, remaining(deadline));
            continue;
        }
        if (len >= cap || len > (size_t)INT32_MAX)
            return PROC_TOOLONG;
        memcpy(buf, start, len);
        buf[len] = '\0';
        return (int)len;
    }
}

/* Does needle occur in the captured stderr at or after byte `from`? */
static bool err_has(const struct proc *p, size_t from, const char *needle,
                    size_t nlen)
{
    return p->err.buf != NULL && p->err.len >= from &&
           p->err.len - from >= nlen &&
           memmem(p->err.buf + from, p->err.len - from, needle, nlen) != NULL;
}

bool proc_wait_stderr_after(struct proc *p, size_t from, const char *needle,
                            int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    size_t nlen = strlen(needle);

    for (;;) {
        if (err_has(p, from, needle, nlen))
            return true;
        if (p->err.fd < 0 || remaining(deadline) == 0) {
            pump(p, 0);
            return err_has(p, from, needle, nlen);
        }
        pump(p, remaining(deadline));
    }
}

bool proc_wait_stderr(struct proc *p, const char *needle, int timeout_ms)
{
    return proc_wait_stderr_after(p, 0, needle, timeout_ms);
}

bool proc_wait_exit(struct proc *p, int timeout_ms, int *status)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        try_reap(p);
        if (p->reaped) {
            drain(&p->out);
            drain(&p->err);
            if (status)
                *status = p->status;
            return true;
        }
        if (remaining(deadline) == 0)
            return false;
        pump(p, remaining(deadline));
    }
}

int proc_signal(struct proc *p, int sig)
{
    if (p->reaped)
        return -1;
    return kill(p->pid, sig);
}

const char *proc_stdout_all(const struct proc *p, size_t *len)
{
    *len = p->out.len;
    return p->out.buf ? p->out.buf : "";
}

const char *proc_stderr_all(const struct proc *p, size_t *len)
{
    *len = p->err.len;
    return p->err.buf ? p->err.buf : "";
}

bool proc_output_contains(const struct proc *p, const char *needle)
{
    size_t n = strlen(needle);
    if (p->out.len >= n && memmem(p->out.buf, p->out.len, needle, n))
        return true;
    return p->err.len >= n && memmem(p->err.buf, p->err.len, needle, n);
}

void proc_destroy(struct proc *p)
{
    if (!p)
        return;
    if (p->pid > 0 && !p->reaped) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
            ;
        p->reaped = true;
    }
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->out.fd >= 0)
        close(p->out.fd);
    if (p->err.fd >= 0)
        close(p->err.fd);
    free(p->out.buf);
    free(p->err.buf);
    free(p);
}
