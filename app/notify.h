/*
 * notify.h - the service manager's notification protocol (sd_notify(3),
 * libsystemd) for `toolwatch run` under systemd's Type=notify, and its
 * watchdog.
 *
 * When: READY=1 once start-up is done (configuration loaded, state
 * directory and journal open, status server listening, stream request
 * started), not when the stream first connects: an audit stream that is
 * down must not fail the unit's start (TimeoutStartSec) and restart it in
 * a loop; the stream's state goes in STATUS= instead ("stream connected",
 * "stream waiting", ...), sent whenever it changes.  SIGHUP: RELOADING=1
 * with MONOTONIC_USEC before the reload, READY=1 after it, with the
 * reload's outcome in STATUS=.  SIGTERM: STOPPING=1.  WATCHDOG=1 every
 * half of WatchdogSec (sd_watchdog_enabled), from the main loop, so a
 * loop that hangs is restarted.
 *
 * Outside systemd (no NOTIFY_SOCKET) every call does nothing.  Errors of
 * the protocol are not the service's: they are logged once, never fatal.
 */
#ifndef TW_NOTIFY_H
#define TW_NOTIFY_H

#include <stdint.h>

struct notify {
    int64_t watchdog_ms;    /* half of WatchdogSec; 0: no watchdog */
    int64_t next_watchdog;  /* monotonic ms */
    int state;              /* the stream state last sent; -1 none */
    int failed;             /* a send failed (logged once) */
};

/* Read the watchdog's interval from the environment; `now` monotonic ms. */
void notify_init(struct notify *n, int64_t now);

/* READY=1 with STATUS=<status>. */
void notify_ready(struct notify *n, const char *status);

/* STATUS=stream <state name> when `state` differs from the last one sent,
 * WATCHDOG=1 when due.  Returns the monotonic time it wants to be called
 * again by (INT64_MAX: no watchdog). */
int64_t notify_tick(struct notify *n, int state, const char *state_name,
                    int64_t now);

/* RELOADING=1 and MONOTONIC_USEC=<now>. */
void notify_reloading(struct notify *n);

/* STOPPING=1 with STATUS=<status>. */
void notify_stopping(struct notify *n, const char *status);

#endif
