/*
 * loop.c - curl_multi_poll based event loop.
 *
 * Invariant: loop_now() only advances in loop_run_once(), so everything a
 * single iteration does (write callbacks, done callbacks, ticks) sees one
 * consistent "now" and no callback reads the clock.
 */
#include "base/loop.h"

#include "base/clock.h"
#include "base/log.h"

#include <stdlib.h>
#include <unistd.h>

#define MAX_WAIT_MS 1000 /* wake at least once a second */

struct loop {
    CURLM *multi;
    int64_t now;
    int wake_fd;
    int active;
};

loop *loop_create(void)
{
    loop *lp = calloc(1, sizeof *lp);

    if (lp == NULL)
        return NULL;
    lp->wake_fd = -1;
    lp->multi = curl_multi_init();
    if (lp->multi == NULL) {
        free(lp);
        return NULL;
    }
    lp->now = clock_mono_ms();
    return lp;
}

void loop_destroy(loop *lp)
{
    if (lp == NULL)
        return;
    if (lp->multi != NULL)
        curl_multi_cleanup(lp->multi);
    free(lp);
}

int loop_add(loop *lp, CURL *easy, struct loop_xfer *x)
{
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(lp->multi, easy) != CURLM_OK)
        return LOOP_ECURL;
    lp->active++;
    return LOOP_OK;
}

int loop_remove(loop *lp, CURL *easy)
{
    if (curl_multi_remove_handle(lp->multi, easy) != CURLM_OK)
        return LOOP_ECURL;
    lp->active--;
    return LOOP_OK;
}

static void dispatch_done(loop *lp)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(lp->multi, &left)) != NULL) {
        struct loop_xfer *x = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(lp->multi, easy);
        lp->active--;
        if (x != NULL && x->done != NULL)
            x->done(x->ctx, easy, result);
    }
}

int loop_run_once(loop *lp, int64_t deadline_ms)
{
    struct curl_waitfd wfd;
    int64_t wait = deadline_ms - clock_mono_ms();
    int running = 0, rc = LOOP_OK;
    CURLMcode mc;

    if (wait < 0)
        wait = 0;
    if (wait > MAX_WAIT_MS)
        wait = MAX_WAIT_MS;
    wfd.fd = lp->wake_fd;
    wfd.events = CURL_WAIT_POLLIN;
    wfd.revents = 0;
    mc = curl_multi_poll(lp->multi, lp->wake_fd >= 0 ? &wfd : NULL,
                         lp->wake_fd >= 0 ? 1 : 0, (int)wait, NULL);
    if (mc != CURLM_OK) {
        LOG(LOG_ERROR, "loop", "curl_multi_poll: %s", curl_multi_strerror(mc));
        rc = LOOP_ECURL;
        goto out;
    }
    if (lp->wake_fd >= 0 && (wfd.revents & CURL_WAIT_POLLIN)) {
        char buf[64];
        while (read(lp->wake_fd, buf, sizeof buf) > 0)
            ;
        rc = LOOP_WOKEN;
    }
    lp->now = clock_mono_ms();
    mc = curl_multi_perform(lp->multi, &running);
    if (mc != CURLM_OK) {
        LOG(LOG_ERROR, "loop", "curl_multi_perform: %s",
            curl_multi_strerror(mc));
        rc = LOOP_ECURL;
        goto out;
    }
    dispatch_done(lp);
out:
    return rc;
}

int64_t loop_now(const loop *lp)
{
    return lp->now;
}

void loop_update_now(loop *lp)
{
    lp->now = clock_mono_ms();
}

void loop_set_wake_fd(loop *lp, int fd)
{
    lp->wake_fd = fd;
}

int loop_active(const loop *lp)
{
    return lp->active;
}
