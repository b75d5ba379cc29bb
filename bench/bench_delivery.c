/*
 * bench_delivery.c - the outbox's throughput and latency to a local
 * receiver: N signed webhook notifications submitted, journaled (one fsync
 * per batch), sent one at a time in order over a kept-alive connection,
 * acknowledged.  Prints notifications/s and the submit-to-receipt latency
 * (p50/p99) as seen on one CLOCK_MONOTONIC.
 *
 * Not part of `make test`: timings on a shared machine are for reading,
 * not asserting.
 */
#include "alerts/delivery.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/loop.h"
#include "tests/support/receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 5000
#define LAT_N 1000

static const struct sink_route route = {.rule = "latency",
                                        .severity = "warning"};

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static size_t doc(char *out, size_t size, int n)
{
    return (size_t)snprintf(
        out, size,
        "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:48:00.000Z\","
        "\"data\":{\"id\":\"ep%06d\",\"rule\":\"latency\",\"kind\":"
        "\"max\",\"group\":{\"tool_name\":\"tool_%d\"},\"key\":\"tool_%d\","
        "\"state\":\"firing\",\"severity\":\"warning\",\"summary\":"
        "\"a call for tool tool_%d took 7000 ms (threshold 5000 ms)\","
        "\"value\":7000,\"threshold\":5000,\"window_s\":300,"
        "\"started_at\":\"2026-03-10T02:47:00.000Z\",\"resolved_at\":null,"
        "\"labels\":{},\"description\":null,\"runbook_url\":null,"
        "\"sample\":{},\"source\":\"bench\"}}",
        n, n, n, n);
}

static delivery *open_outbox(loop *lp, const char *dir, const char *url)
{
    static struct sink_config sc;
    struct delivery_options o = {.state_dir = dir, .max_pending = 0};

    sink_config_defaults(&sc, SINK_WEBHOOK);
    snprintf(sc.name, sizeof sc.name, "bench");
    sc.url = url;
    sc.secrets[0] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    sc.n_secrets = 1;
    return delivery_create(lp, &o, &sc, 1);
}

static void run_until(loop *lp, delivery *d, struct rcv *r, size_t n)
{
    while (rcv_count(r) < n || delivery_pending(d) > 0) {
        loop_update_now(lp);
        delivery_flush(d);
        loop_run_once(lp, delivery_tick(d));
    }
}

int main(void)
{
    char dir[] = "/tmp/tw-bench-delivery-XXXXXX", url[128], d[1024], id[16];
    static int64_t sent_at[LAT_N], lat[LAT_N];
    struct rcv *r = rcv_start();
    loop *lp = loop_create();
    delivery *dl;
    int64_t t0, t1;
    struct rcv_request q;

    log_set_level(LOG_ERROR);
    if (r == NULL || lp == NULL || mkdtemp(dir) == NULL)
        return 1;
    rcv_url(r, "/hook", url, sizeof url);
    if ((dl = open_outbox(lp, dir, url)) == NULL)
        return 1;

    /* throughput: everything at once, one journal fsync */
    t0 = clock_mono_ms();
    for (int n = 0; n < N; n++) {
        snprintf(id, sizeof id, "ep%06d", n);
        size_t len = doc(d, sizeof d, n);
        delivery_submit(dl, &route, id, 0, clock_wall_ms(), d, len);
    }
    run_until(lp, dl, r, N);
    t1 = clock_mono_ms();
    printf("delivery: %d signed webhooks in %lld ms: %.0f notifications/s\n",
           N, (long long)(t1 - t0), N * 1000.0 / (double)(t1 - t0 + 1));

    /* latency: one notification at a time, submit -> receiver has it */
    for (int n = 0; n < LAT_N; n++) {
        size_t before = rcv_count(r), len;
        snprintf(id, sizeof id, "lt%06d", n);
        len = doc(d, sizeof d, N + n);
        sent_at[n] = rcv_now_ms();
        delivery_submit(dl, &route, id, 0, clock_wall_ms(), d, len);
        run_until(lp, dl, r, before + 1);
        rcv_get(r, before, &q);
        lat[n] = q.complete_ms - sent_at[n];
    }
    qsort(lat, LAT_N, sizeof lat[0], cmp64);
    printf("delivery latency (submit, fsync, sign, POST, receipt) over %d: "
           "p50 %lld ms, p99 %lld ms, max %lld ms\n",
           LAT_N, (long long)lat[LAT_N / 2], (long long)lat[LAT_N * 99 / 100],
           (long long)lat[LAT_N - 1]);
    delivery_destroy(dl);
    loop_destroy(lp);
    rcv_stop(r);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
