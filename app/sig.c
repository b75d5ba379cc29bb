/*
 * sig.c - async-signal-safe handlers feeding a self-pipe.
 */
#include "app/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;
static int pipe_wr = -1;
static int pipe_rd = -1;

static void handler(int signo)
{
    int saved = errno;
    char c = 1;

    if (signo == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
    if (pipe_wr >= 0 && write(pipe_wr, &c, 1) < 0) {
        /* pipe full: a wake-up is already pending */
    }
    errno = saved;
}

int sig_setup(void)
{
    struct sigaction sa;
    int fds[2];

    if (pipe_rd >= 0)
        return pipe_rd;
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    pipe_rd = fds[0];
    pipe_wr = fds[1];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return pipe_rd;
}

void sig_wake(void)
{
    int saved = errno;
    char c = 1;

    if (pipe_wr >= 0 && write(pipe_wr, &c, 1) < 0) {
        /* pipe full: a wake-up is already pending */
    }
    errno = saved;
}

unsigned sig_take(void)
{
    unsigned bits = 0;

    if (got_term) {
        got_term = 0;
        bits |= SIG_TERM;
    }
    if (got_hup) {
        got_hup = 0;
        bits |= SIG_HUP;
    }
    return bits;
}
