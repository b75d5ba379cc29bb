/*
 * notify.c - sd_notify for `toolwatch run`: readiness, reload, stop,
 * status and watchdog (notify.h).
 */
#include "app/notify.h"

#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static void send_msg(struct notify *n, const char *msg)
{
    int rc = sd_notify(0, msg);

    if (rc < 0 && !n->failed) {
        n->failed = 1;
        LOG(LOG_WARN, "notify", "cannot notify the service manager: %s",
            strerror(-rc));
    }
}

void notify_init(struct notify *n, int64_t now)
{
    uint64_t usec = 0;

    memset(n, 0, sizeof *n);
    n->state = -1;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        n->watchdog_ms = (int64_t)(usec / 2000);
        if (n->watchdog_ms < 1)
            n->watchdog_ms = 1;
        n->next_watchdog = now;
    }
}

void notify_ready(struct notify *n, const char *status)
{
    char msg[256];

    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    send_msg(n, msg);
}

int64_t notify_tick(struct notify *n, int state, const char *state_name,
                    int64_t now)
{
    char msg[128];

    if (state != n->state) {
        n->state = state;
        snprintf(msg, sizeof msg, "STATUS=stream %s", state_name);
        send_msg(n, msg);
    }
    if (n->watchdog_ms == 0)
        return INT64_MAX;
    if (now >= n->next_watchdog) {
        send_msg(n, "WATCHDOG=1");
        n->next_watchdog = now + n->watchdog_ms;
    }
    return n->next_watchdog;
}

void notify_reloading(struct notify *n)
{
    struct timespec ts;
    char msg[96];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull +
                 (unsigned long long)ts.tv_nsec / 1000ull);
    send_msg(n, msg);
}

void notify_stopping(struct notify *n, const char *status)
{
    char msg[256];

    snprintf(msg, sizeof msg, "STOPPING=1\nSTATUS=%s", status);
    send_msg(n, msg);
}
