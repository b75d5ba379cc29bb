/*
 * loop.h - the one event loop: a libcurl multi handle, a cached clock and
 * an optional wake-up descriptor (signals arrive through a self-pipe).
 *
 * One thread owns the loop and everything driven by it (the stream reader
 * now, webhook deliveries later).  Each transfer carries a struct loop_xfer
 * (owned by the caller, embedded in its own state) whose `done` callback
 * runs when the transfer finishes; it may add or remove transfers.
 */
#ifndef TW_LOOP_H
#define TW_LOOP_H

#include <curl/curl.h>
#include <stdint.h>

typedef struct loop loop;

struct loop_xfer {
    /* Called from loop_run_once() when the transfer ends, after it has been
     * removed from the multi handle; the easy handle is the caller's. */
    void (*done)(void *ctx, CURL *easy, CURLcode result);
    void *ctx;
};

enum {
    LOOP_OK = 0,
    LOOP_ENOMEM = -1,
    LOOP_ECURL = -2,
    LOOP_WOKEN = 1 /* loop_run_once: the wake descriptor was readable */
};

/* Create the loop (calls curl_global_init once per process first: the
 * caller does that).  Returns NULL on failure. */
loop *loop_create(void);

/* Destroy; transfers still added are removed (their done is not called). */
void loop_destroy(loop *lp);

/* Add a transfer.  `x` must stay valid until `done` runs or loop_remove. */
int loop_add(loop *lp, CURL *easy, struct loop_xfer *x);

/* Remove a transfer without calling its done callback. */
int loop_remove(loop *lp, CURL *easy);

/* Wait for network activity, the wake descriptor, or until `deadline_ms`
 * (monotonic ms; <= now means do not wait), then run transfers and their
 * done callbacks.  Returns LOOP_OK, LOOP_WOKEN or LOOP_ECURL. */
int loop_run_once(loop *lp, int64_t deadline_ms);

/* Monotonic ms, read once per loop_run_once (and at create). */
int64_t loop_now(const loop *lp);

/* Read the clock into loop_now() (the owner calls it once per iteration,
 * before its timers, like libuv's uv_update_time). */
void loop_update_now(loop *lp);

/* Read end of a pipe to wait on as well (e.g. a signal self-pipe); -1 for
 * none.  It is drained when readable. */
void loop_set_wake_fd(loop *lp, int fd);

/* Number of transfers in progress. */
int loop_active(const loop *lp);

#endif
