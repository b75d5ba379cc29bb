/*
 * bench_delivery.c - the outbox's throughput and latency to a local
 * receiver: N signed webhook notifications submitted, journaled (one fsync
 * per batch), sent one at a time in order over a kept-alive connection,
 * acknowledged.  Prints notifications/s and the submit-to-receipt latency
 * (p50/p99) as seen on one CLOCK_MONOTONIC.
 *
 * Then the queues at their bounds: SPILL_N (env BENCH_SPILL_N, default
 * 200000) notifications for a receiver that refuses every connection and
 * a file sink, in batches of 1000 with a flush and a loop turn each: the
 * file gets all of them, the dead sink holds queue_max in memory, the rest
 * in the journal; peak RSS is printed.  And a burst: 20000 documents
 * queued at once for a file sink: the longest loop turn of delivery_tick
 * (each writes at most 256 with one fdatasync).
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
#include <sys/resource.h>

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

/* A dead receiver (connections refused) and a file sink, n notifications:
 * what each got and the peak RSS. */
static int bench_spill(const char *dir, long n)
{
    struct sink_config sc[2];
    struct delivery_options o = {.state_dir = dir};
    char path[256], d[1024], id[32];
    struct delivery_sink_stats st[2];
    struct rusage ru;
    loop *lp = loop_create();
    delivery *dl;
    int64_t t0 = clock_mono_ms();

    sink_config_defaults(&sc[0], SINK_WEBHOOK);
    snprintf(sc[0].name, sizeof sc[0].name, "dead");
    sc[0].url = "http://127.0.0.1:9/dead";
    sc[0].retry_base_ms = 1000;
    sink_config_defaults(&sc[1], SINK_FILE);
    snprintf(sc[1].name, sizeof sc[1].name, "file");
    snprintf(path, sizeof path, "%s/spill.ndjson", dir);
    sc[1].path = path;
    if (lp == NULL || (dl = delivery_create(lp, &o, sc, 2)) == NULL)
        return 1;
    for (long i = 0; i < n; i++) {
        snprintf(id, sizeof id, "sp%07ld", i);
        size_t len = doc(d, sizeof d, (int)i);
        delivery_submit(dl, &route, id, 0, clock_wall_ms(), d, len);
        if (i % 1000 == 999) {
            loop_update_now(lp);
            delivery_flush(dl);
            delivery_tick(dl);
            loop_run_once(lp, loop_now(lp));
        }
    }
    do {
        loop_update_now(lp);
        delivery_flush(dl);
        delivery_tick(dl);
        loop_run_once(lp, loop_now(lp));
        delivery_sink_stats(dl, 1, &st[1]);
    } while (st[1].queued > 0);
    delivery_sink_stats(dl, 0, &st[0]);
    getrusage(RUSAGE_SELF, &ru);
    printf("spill: %ld notifications in %lld ms; dead webhook: %llu queued, "
           "%llu in memory, %llu in the journal only; file sink: %llu "
           "delivered; peak RSS %ld MB\n",
           n, (long long)(clock_mono_ms() - t0),
           (unsigned long long)st[0].queued,
           (unsigned long long)st[0].in_memory,
           (unsigned long long)st[0].spilled,
           (unsigned long long)st[1].delivered, ru.ru_maxrss / 1024);
    delivery_destroy(dl);
    loop_destroy(lp);
    return 0;
}

/* 20000 documents queued at once for a file sink: the longest turn. */
static int bench_burst(const char *dir)
{
    struct sink_config sc;
    struct delivery_options o = {.state_dir = dir};
    char path[256], d[1024], id[16];
    loop *lp = loop_create();
    delivery *dl;
    int64_t worst = 0, t0 = clock_mono_ms();
    int turns = 0;

    sink_config_defaults(&sc, SINK_FILE);
    snprintf(sc.name, sizeof sc.name, "burst");
    snprintf(path, sizeof path, "%s/burst.ndjson", dir);
    sc.path = path;
    sc.queue_max = 100000;
    if (lp == NULL || (dl = delivery_create(lp, &o, &sc, 1)) == NULL)
        return 1;
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "bu%06d", i);
        size_t len = doc(d, sizeof d, i);
        delivery_submit(dl, &route, id, 0, clock_wall_ms(), d, len);
    }
    delivery_flush(dl);
    while (delivery_pending(dl) > 0) {
        int64_t a = clock_mono_ms(), b;
        loop_update_now(lp);
        delivery_flush(dl);
        delivery_tick(dl);
        b = clock_mono_ms();
        worst = b - a > worst ? b - a : worst;
        turns++;
    }
    printf("burst: 20000 documents to a file sink in %lld ms over %d loop "
           "turns, the longest %lld ms\n",
           (long long)(clock_mono_ms() - t0), turns, (long long)worst);
    delivery_destroy(dl);
    loop_destroy(lp);
    return 0;
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
    if (bench_burst(dir) != 0 ||
        bench_spill(dir, getenv("BENCH_SPILL_N") != NULL
                             ? strtol(getenv("BENCH_SPILL_N"), NULL, 10)
                             : 200000) != 0)
        return 1;
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
