/*
 * test_delivery.c - the outbox's queues at their bounds, without a
 * network: file sinks (written by delivery_tick), and sinks that are never
 * ticked (their queues only fill).
 *
 *  - spill: a sink holds queue_max notifications in memory; the rest stay
 *    in the journal only (after the fsync that makes them durable), are
 *    read back in order as the sink drains, and after a reopen;
 *  - backpressure: delivery_backpressure turns on at journal_max_bytes of
 *    undelivered notifications and off below 7/8 of it;
 *  - storm guard: past digest_after notifications in a window, the rest
 *    of the window goes out as one digest counting every one of them
 *    (time is a parameter: delivery_set_clock); the digest is journaled as
 *    it grows, so a reopen mid-window sends it; PagerDuty is never
 *    digested.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/delivery.h"
#include "base/log.h"
#include "base/loop.h"
#include "tests/unit/tmpdir_helpers.h"

#define T0 INT64_C(1773100800000) /* 2026-03-10T00:00:00Z */

static loop *lp;
static delivery *d;
static char out_path[256];

static const char *const no_names[] = {NULL};
static const struct sink_route route_volume = {
    .rule = "volume", .severity = "warning", .nlabels = 0,
    .label_names = no_names, .label_values = no_names};
static const struct sink_route route_latency = {
    .rule = "latency", .severity = "warning", .nlabels = 0,
    .label_names = no_names, .label_values = no_names};

/* A file sink writing to <dir>/<name>.ndjson. */
static void file_sink(struct sink_config *c, const char *name,
                      uint64_t queue_max, uint64_t digest_after)
{
    sink_config_defaults(c, SINK_FILE);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(out_path, sizeof out_path, "%s/%s.ndjson", dir, name);
    c->path = strdup(out_path);
    c->queue_max = queue_max;
    c->digest_after = digest_after;
}

static void open_d(const struct sink_config *c, size_t n, uint64_t jmax)
{
    struct delivery_options o = {.state_dir = dir, .max_journal_bytes = jmax};

    if (lp == NULL)
        lp = loop_create();
    assert_non_null(lp);
    d = delivery_create(lp, &o, c, n);
    assert_non_null(d);
}

static void close_d(void)
{
    delivery_destroy(d);
    d = NULL;
}

static void free_sinks(struct sink_config *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)c[i].path);
}

static void submit(int n, const struct sink_route *r, int want)
{
    char doc[512], id[16];
    int len;

    snprintf(id, sizeof id, "ep%05d", n);
    len = snprintf(doc, sizeof doc,
                   "{\"type\":\"alert.firing\",\"timestamp\":"
                   "\"2026-03-10T00:00:00.000Z\",\"data\":{\"id\":\"%s\","
                   "\"rule\":\"%s\",\"kind\":\"count\",\"group\":{\"tool\":"
                   "\"t%d\"},\"key\":\"t%d\",\"state\":\"firing\","
                   "\"severity\":\"warning\",\"summary\":\"n=%d\","
                   "\"source\":\"test\"}}",
                   id, r->rule, n, n, n);
    assert_int_equal(delivery_submit(d, r, id, 0, T0 + n, doc, (size_t)len),
                     want);
}

static struct delivery_sink_stats stats(size_t i)
{
    struct delivery_sink_stats st;

    delivery_sink_stats(d, i, &st);
    return st;
}

/* Flush and tick until nothing is pending (bounded). */
static void drain(void)
{
    for (int i = 0; i < 10000 && delivery_pending(d) > 0; i++) {
        loop_update_now(lp);
        assert_int_equal(delivery_flush(d), DELIVERY_EOK);
        delivery_tick(d);
    }
    assert_int_equal(delivery_pending(d), 0);
}

/* The lines of the file at path, each parsed (cJSON_Delete each). */
static size_t read_lines(const char *path, cJSON **out, size_t max)
{
    FILE *fp = fopen(path, "r");
    char line[8192];
    size_t n = 0;

    if (fp == NULL)
        return 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        assert_true(n < max);
        out[n] = cJSON_Parse(line);
        assert_non_null(out[n]);
        n++;
    }
    fclose(fp);
    return n;
}

static const char *data_str(const cJSON *doc, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "data"), name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double digest_num(const cJSON *doc, const char *name)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "data"), "digest");

    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(g, name));
}

static double digest_rule(const cJSON *doc, const char *rule)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "data"), "digest");

    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(g, "rules"), rule));
}

static void free_lines(cJSON **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(v[i]);
}

static int teardown_all(void **state)
{
    close_d();
    loop_destroy(lp);
    lp = NULL;
    return teardown(state);
}

/* ---- spill ---------------------------------------------------------------- */

static void test_spill_at_exact_bound(void **state)
{
    struct sink_config c;
    cJSON *v[64];
    size_t n;
    char want[32];

    (void)state;
    file_sink(&c, "file", 10, 0);
    open_d(&c, 1, 0);
    for (int i = 0; i < 10; i++)
        submit(i, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).queued, 10);
    assert_int_equal(stats(0).in_memory, 10);
    assert_int_equal(stats(0).spilled, 0);

    /* the 11th: past the bound, in the journal only once durable */
    submit(10, &route_volume, 1);
    assert_int_equal(stats(0).in_memory, 11);
    assert_int_equal(stats(0).spilled, 0);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).queued, 11);
    assert_int_equal(stats(0).in_memory, 10);
    assert_int_equal(stats(0).spilled, 1);
    for (int i = 11; i < 16; i++)
        submit(i, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).queued, 16);
    assert_int_equal(stats(0).in_memory, 10);
    assert_int_equal(stats(0).spilled, 6);
    assert_int_equal(delivery_pending(d), 16);

    /* one turn writes the ten, then reads the six back */
    loop_update_now(lp);
    delivery_tick(d);
    assert_int_equal(stats(0).delivered, 10);
    assert_int_equal(stats(0).in_memory, 6);
    assert_int_equal(stats(0).spilled, 0);
    /* new work goes behind them, in memory again */
    submit(16, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).in_memory, 7);
    assert_int_equal(stats(0).spilled, 0);
    drain();
    assert_int_equal(stats(0).delivered, 17);
    n = read_lines(c.path, v, 64);
    assert_int_equal(n, 17);
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof want, "ep%05zu", i);
        assert_string_equal(data_str(v[i], "id"), want);
    }
    free_lines(v, n);
    free_sinks(&c, 1);
}

static void test_spill_read_back_after_reopen(void **state)
{
    struct sink_config c;
    cJSON *v[64];
    size_t n;
    char want[32];

    (void)state;
    file_sink(&c, "file", 3, 0);
    open_d(&c, 1, 0);
    for (int i = 0; i < 8; i++)
        submit(i, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).spilled, 5);
    close_d();

    /* the journal's eight: three in memory, five left there */
    open_d(&c, 1, 0);
    assert_int_equal(delivery_pending(d), 8);
    assert_int_equal(stats(0).queued, 8);
    assert_int_equal(stats(0).in_memory, 3);
    assert_int_equal(stats(0).spilled, 5);
    /* new work goes behind the spill */
    submit(8, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).spilled, 6);
    drain();
    n = read_lines(c.path, v, 64);
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof want, "ep%05zu", i);
        assert_string_equal(data_str(v[i], "id"), want);
    }
    free_lines(v, n);
    free_sinks(&c, 1);
}

/* A sink that never drains (never ticked here: a dead receiver) holds its
 * bound in memory, whatever it is sent; a healthy one gets everything. */
static void test_dead_sink_does_not_starve_healthy(void **state)
{
    struct sink_config c[2];
    uint64_t got = 0;
    char line[1024];
    FILE *fp;

    (void)state;
    sink_config_defaults(&c[0], SINK_WEBHOOK);
    snprintf(c[0].name, sizeof c[0].name, "dead");
    c[0].url = "http://127.0.0.1:9/never-ticked";
    c[0].queue_max = 100;
    c[0].path = NULL;
    file_sink(&c[1], "healthy", 100, 0);
    open_d(c, 2, 0);
    for (int i = 0; i < 20000; i++) {
        submit(i, &route_volume, 2);
        if (i % 500 == 499) {
            /* the dead sink's head is started and never answers: the
             * loop is not run */
            loop_update_now(lp);
            assert_int_equal(delivery_flush(d), DELIVERY_EOK);
            delivery_tick(d);
            assert_true(stats(0).in_memory <= 100);
            assert_true(stats(1).in_memory <= 100);
        }
    }
    for (int i = 0; i < 1000 && stats(1).queued > 0; i++) {
        assert_int_equal(delivery_flush(d), DELIVERY_EOK);
        delivery_tick(d);
    }
    assert_int_equal(stats(0).queued, 20000);
    assert_int_equal(stats(0).in_memory, 100);
    assert_int_equal(stats(0).spilled, 19900);
    assert_int_equal(stats(0).delivered, 0);
    assert_int_equal(stats(1).queued, 0);
    assert_int_equal(stats(1).delivered, 20000);
    assert_int_equal(delivery_pending(d), 20000);
    fp = fopen(c[1].path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp) != NULL)
        got++;
    fclose(fp);
    assert_int_equal(got, 20000);
    free((char *)c[1].path);
}

/* ---- backpressure --------------------------------------------------------- */

static void test_backpressure_on_and_off(void **state)
{
    struct sink_config c;
    char why[256];
    int k = 0;

    (void)state;
    file_sink(&c, "file", 1000, 0);
    open_d(&c, 1, 65536);
    assert_int_equal(delivery_backpressure(d, why, sizeof why), 0);
    assert_string_equal(why, "");
    while (delivery_backpressure(d, why, sizeof why) == 0) {
        assert_true(k < 10000);
        submit(k++, &route_volume, 1);
        assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    }
    assert_non_null(strstr(why, "backpressure: the alert journal is full"));
    assert_true(k > 1);
    /* not a hard cap: what comes meanwhile is still journaled */
    submit(k++, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).queued, (uint64_t)k);
    assert_int_equal(delivery_backpressure(d, why, sizeof why), 1);
    drain();
    assert_int_equal(delivery_backpressure(d, why, sizeof why), 0);
    assert_string_equal(why, "");
    assert_int_equal(stats(0).delivered, (uint64_t)k);
    assert_int_equal(delivery_backpressure(NULL, why, sizeof why), 0);
    free_sinks(&c, 1);
}

/* ---- storm guard ---------------------------------------------------------- */

static void test_storm_digest_counts_every_alert(void **state)
{
    static char long_url[DELIVERY_STATUS_URL_MAX + 1];
    struct sink_config c;
    cJSON *v[128];
    size_t n;
    double total = 0;

    (void)state;
    file_sink(&c, "file", 10000, 20);
    open_d(&c, 1, 0);
    /* a status URL too long to link whole is not linked */
    memset(long_url, 'a', sizeof long_url - 1);
    memcpy(long_url, "https://", 8);
    long_url[DELIVERY_STATUS_URL_MAX] = '\0';
    delivery_set_status_url(d, long_url);
    /* 500 alerts in 50 s: 20 alone, 480 in the first digest */
    for (int i = 0; i < 500; i++) {
        delivery_set_clock(d, T0 + i * 100);
        submit(i, i % 5 == 0 ? &route_latency : &route_volume, 1);
        if (i % 50 == 0) {
            loop_update_now(lp);
            assert_int_equal(delivery_flush(d), DELIVERY_EOK);
            delivery_tick(d);
        }
    }
    assert_int_equal(stats(0).digested, 480);
    drain();
    assert_int_equal(stats(0).delivered, 20);
    /* the minute ends: one digest */
    delivery_set_clock(d, T0 + 59999);
    loop_update_now(lp);
    delivery_tick(d);
    assert_int_equal(delivery_pending(d), 0);
    delivery_set_clock(d, T0 + 60000);
    delivery_tick(d);
    assert_int_equal(stats(0).digests, 1);
    drain();
    /* a second storm, 100 in the next window: 20 + a digest of 80, which
     * links the status page set meanwhile (a reload) */
    delivery_set_status_url(d, "https://tw.example/status");
    for (int i = 500; i < 600; i++) {
        delivery_set_clock(d, T0 + 70000 + i);
        submit(i, &route_volume, 1);
    }
    delivery_set_clock(d, T0 + 70000 + 500 + 60000);
    drain();
    loop_update_now(lp);
    delivery_tick(d);
    drain();
    assert_int_equal(stats(0).digests, 2);
    assert_int_equal(stats(0).digested, 560);

    n = read_lines(c.path, v, 128);
    assert_int_equal(n, 20 + 1 + 20 + 1);
    for (size_t i = 0; i < n; i++) {
        int is_digest = strcmp(cJSON_GetObjectItem(v[i], "type")->valuestring,
                               "alert.digest") == 0;
        assert_int_equal(is_digest, i == 20 || i == 41);
        if (is_digest)
            total += digest_num(v[i], "count");
    }
    assert_true(total == 560.0);
    assert_true(digest_num(v[20], "count") == 480.0);
    /* i % 5 == 0 are latency: 100 of 500, 4 of them among the first 20 */
    assert_true(digest_rule(v[20], "latency") == 96.0);
    assert_true(digest_rule(v[20], "volume") == 384.0);
    assert_true(digest_num(v[41], "count") == 80.0);
    assert_true(digest_rule(v[41], "volume") == 80.0);
    assert_string_equal(data_str(v[20], "rule"), "digest");
    assert_null(data_str(v[20], "status_url"));
    assert_string_equal(data_str(v[41], "status_url"),
                        "https://tw.example/status");
    assert_null(data_str(v[19], "status_url"));
    {
        const cJSON *keys = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(v[20], "data"),
                                "digest"),
            "first_keys");
        assert_int_equal(cJSON_GetArraySize(keys), 10);
        assert_string_equal(cJSON_GetArrayItem(keys, 0)->valuestring,
                            "latency: t20");
    }
    free_lines(v, n);
    free_sinks(&c, 1);
}

/* Killed mid-window: the digest so far is in the journal and goes out
 * after the restart, with every alert it counted. */
static void test_storm_digest_survives_reopen(void **state)
{
    struct sink_config c;
    cJSON *v[64];
    size_t n;

    (void)state;
    file_sink(&c, "file", 10000, 20);
    open_d(&c, 1, 0);
    delivery_set_clock(d, T0);
    for (int i = 0; i < 30; i++)
        submit(i, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).digested, 10);
    assert_int_equal(stats(0).queued, 20);
    close_d();
    open_d(&c, 1, 0);
    assert_int_equal(stats(0).queued, 21);
    drain();
    n = read_lines(c.path, v, 64);
    assert_int_equal(n, 21);
    assert_string_equal(cJSON_GetObjectItem(v[20], "type")->valuestring,
                        "alert.digest");
    assert_true(digest_num(v[20], "count") == 10.0);
    free_lines(v, n);
    free_sinks(&c, 1);
}

/* PagerDuty keeps one event per episode: never digested. */
static void test_pagerduty_not_digested(void **state)
{
    struct sink_config c;

    (void)state;
    sink_config_defaults(&c, SINK_PAGERDUTY);
    snprintf(c.name, sizeof c.name, "pd");
    c.routing_key = "0123456789abcdef0123456789abcdef";
    c.digest_after = 20;
    open_d(&c, 1, 0);
    delivery_set_clock(d, T0);
    for (int i = 0; i < 30; i++)
        submit(i, &route_volume, 1);
    assert_int_equal(delivery_flush(d), DELIVERY_EOK);
    assert_int_equal(stats(0).queued, 30);
    assert_int_equal(stats(0).digested, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spill_at_exact_bound, setup,
                                        teardown_all),
        cmocka_unit_test_setup_teardown(test_spill_read_back_after_reopen,
                                        setup, teardown_all),
        cmocka_unit_test_setup_teardown(
            test_dead_sink_does_not_starve_healthy, setup, teardown_all),
        cmocka_unit_test_setup_teardown(test_backpressure_on_and_off, setup,
                                        teardown_all),
        cmocka_unit_test_setup_teardown(test_storm_digest_counts_every_alert,
                                        setup, teardown_all),
        cmocka_unit_test_setup_teardown(test_storm_digest_survives_reopen,
                                        setup, teardown_all),
        cmocka_unit_test_setup_teardown(test_pagerduty_not_digested, setup,
                                        teardown_all),
    };

    log_set_level(LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
