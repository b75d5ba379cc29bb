/*
 * test_delivery.c - the outbox against real HTTP receivers on 127.0.0.1.
 *
 * Each test drives the real delivery code (journal, pacing, retries,
 * signing) on a real event loop against tests/support/receiver, and waits
 * on conditions (requests seen by the receiver, queue drained) with a
 * bounded time, never a sleep.  Timing checks use the receiver's clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts/delivery.h"
#include "alerts/sign.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/loop.h"
#include "tests/support/receiver.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define WAIT_MS 10000

struct fx {
    struct rcv *r;
    loop *lp;
    delivery *d;
    char dir[64];
    char url[128];
    struct sink_config sink;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    snprintf(f->dir, sizeof f->dir, "/tmp/tw-delivery-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->r = rcv_start();
    f->lp = loop_create();
    if (f->r == NULL || f->lp == NULL)
        return -1;
    rcv_url(f->r, "/hook", f->url, sizeof f->url);
    sink_config_defaults(&f->sink, SINK_WEBHOOK);
    snprintf(f->sink.name, sizeof f->sink.name, "hook");
    f->sink.url = f->url;
    f->sink.secrets[0] = SECRET;
    f->sink.n_secrets = 1;
    f->sink.retry_base_ms = 50;
    f->sink.retry_max_ms = 200;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    delivery_destroy(f->d);
    loop_destroy(f->lp);
    rcv_stop(f->r);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void open_delivery(struct fx *f)
{
    struct delivery_options o = {.state_dir = f->dir, .max_pending = 0};

    f->d = delivery_create(f->lp, &o, &f->sink, 1);
    assert_non_null(f->d);
}

static void reopen_delivery(struct fx *f)
{
    delivery_destroy(f->d);
    f->d = NULL;
    open_delivery(f);
}

/* A minimal valid alert document for notification n. */
static size_t doc(char *out, size_t size, int n, const char *type)
{
    return (size_t)snprintf(
        out, size,
        "{\"type\":\"alert.%s\",\"timestamp\":\"2026-03-10T02:48:00.000Z\","
        "\"data\":{\"id\":\"ep%04d\",\"rule\":\"volume\",\"kind\":"
        "\"count\",\"group\":{\"tool_name\":\"crm_search\"},\"key\":"
        "\"crm_search\",\"state\":\"%s\",\"severity\":\"warning\","
        "\"summary\":\"n=%d\",\"value\":101,\"threshold\":100,"
        "\"window_s\":60,\"started_at\":\"2026-03-10T02:47:00.000Z\","
        "\"resolved_at\":null,\"labels\":{\"team\":\"growth\"},"
        "\"description\":null,\"runbook_url\":null,\"sample\":{},"
        "\"source\":\"test\"}}",
        type, n, type, n);
}

/* What routing knows of doc()'s notifications. */
static const char *const volume_label_names[] = {"team"};
static const char *const volume_label_values[] = {"growth"};
static const struct sink_route volume_route = {
    .rule = "volume",
    .severity = "warning",
    .nlabels = 1,
    .label_names = volume_label_names,
    .label_values = volume_label_values};

static void submit(struct fx *f, int n)
{
    char d[1024], id[16];
    size_t len = doc(d, sizeof d, n, "firing");

    snprintf(id, sizeof id, "ep%04d", n);
    assert_int_equal(delivery_submit(f->d, &volume_route, id, 0,
                                     clock_wall_ms() - 1000 + n, d, len),
                     1);
}

/* Run the loop until the receiver has seen `n` requests and nothing is in
 * flight, or `pending` reaches `want_pending` (-1: ignore). */
static void drive(struct fx *f, size_t n, long want_pending)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    for (;;) {
        loop_update_now(f->lp);
        delivery_flush(f->d);
        int64_t next = delivery_tick(f->d);
        int done = rcv_count(f->r) >= n && delivery_in_flight(f->d) == 0 &&
                   (want_pending < 0 ||
                    delivery_pending(f->d) == (uint64_t)want_pending);
        if (done)
            return;
        assert_true(clock_mono_ms() < end);
        if (next > clock_mono_ms() + 50)
            next = clock_mono_ms() + 50;
        loop_run_once(f->lp, next);
    }
}

static void verify_signed(struct fx *f, size_t i, const char *want_id)
{
    struct rcv_request q;
    sign_keys *k;
    int err;
    size_t bad;
    int64_t ts;
    const char *secret = SECRET;

    assert_true(rcv_get(f->r, i, &q));
    assert_string_equal(q.method, "POST");
    assert_string_equal(rcv_header(&q, "content-type"), "application/json");
    assert_non_null(rcv_header(&q, "webhook-id"));
    if (want_id != NULL)
        assert_string_equal(rcv_header(&q, "webhook-id"), want_id);
    assert_int_equal(sign_parse_timestamp(rcv_header(&q, "webhook-timestamp"),
                                          &ts),
                     SIGN_OK);
    k = sign_keys_create(&secret, 1, &err, &bad);
    assert_non_null(k);
    assert_int_equal(sign_verify(k, rcv_header(&q, "webhook-id"), ts, q.body,
                                 q.body_len,
                                 rcv_header(&q, "webhook-signature"),
                                 clock_wall_ms() / 1000, 300),
                     SIGN_OK);
    sign_keys_destroy(k);
}

static void test_signed_and_in_order(void **state)
{
    struct fx *f = *state;
    struct rcv_request q;
    char want[1024];

    open_delivery(f);
    for (int n = 0; n < 5; n++)
        submit(f, n);
    drive(f, 5, 0);
    assert_int_equal(rcv_count(f->r), 5);
    assert_int_equal(rcv_count_distinct(f->r, "webhook-id", 200, 299), 5);
    for (int n = 0; n < 5; n++) {
        verify_signed(f, (size_t)n, NULL);
        assert_true(rcv_get(f->r, (size_t)n, &q));
        size_t len = doc(want, sizeof want, n, "firing");
        assert_int_equal(q.body_len, len);
        assert_memory_equal(q.body, want, len);
    }
}

static void test_retry_keeps_webhook_id(void **state)
{
    struct fx *f = *state;
    struct rcv_request q0, q;
    struct delivery_sink_stats st;

    rcv_add_status(f->r, 500, NULL, NULL);
    rcv_add_status(f->r, 503, NULL, NULL);
    rcv_add_status(f->r, 408, NULL, NULL);
    open_delivery(f);
    submit(f, 1);
    drive(f, 4, 0);
    assert_int_equal(rcv_count(f->r), 4);
    assert_true(rcv_get(f->r, 0, &q0));
    for (size_t i = 1; i < 4; i++) {
        assert_true(rcv_get(f->r, i, &q));
        verify_signed(f, i, rcv_header(&q0, "webhook-id"));
    }
    delivery_sink_stats(f->d, 0, &st);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.attempts, 4);
    assert_int_equal(st.retries, 3);
    /* one notification needed retries: counted once */
    assert_int_equal(st.retried, 1);
    /* its latency spans the three retries' delays (100 ms each at least):
     * over the 0.25 s bucket, within 1800 s */
    assert_int_equal(st.latency.count, 1);
    assert_int_equal(st.latency.le[2], 0);
    assert_int_equal(st.latency.le[LATENCY_BUCKETS - 1], 1);
    assert_true(st.latency.sum_ms >= 300);
    assert_int_equal(st.last_status, 200);
}

static void test_retry_after_honoured(void **state)
{
    struct fx *f = *state;
    struct rcv_request a, b;

    rcv_add_status(f->r, 429, "Retry-After: 2", NULL);
    open_delivery(f);
    submit(f, 1);
    drive(f, 2, 0);
    assert_true(rcv_get(f->r, 0, &a));
    assert_true(rcv_get(f->r, 1, &b));
    /* the retry waits at least the 2 s asked for (retry_max is 200 ms) */
    assert_true(b.arrival_ms - a.end_ms >= 2000 - 5);
    assert_true(b.arrival_ms - a.end_ms < 2000 + 1500);
}

static void test_client_error_is_dead_lettered(void **state)
{
    struct fx *f = *state;
    struct delivery_sink_stats st;
    char path[128], line[8192];
    FILE *fp;

    rcv_add_status(f->r, 400, NULL, "bad payload: field x");
    open_delivery(f);
    submit(f, 7);
    submit(f, 8);
    drive(f, 2, 0);
    delivery_sink_stats(f->d, 0, &st);
    assert_int_equal(st.dead_lettered, 1);
    assert_int_equal(st.delivered, 1);
    snprintf(path, sizeof path, "%s/dead-letter.ndjson", f->dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_non_null(strstr(line, "\"sink\":\"hook\""));
    assert_non_null(strstr(line, "\"status\":400"));
    assert_non_null(strstr(line, "\"response\":\"bad payload: field x\""));
    assert_non_null(strstr(line, "\"id\":\"ep0007\""));
    assert_null(fgets(line, sizeof line, fp));
    fclose(fp);
    /* nothing is sent again after a restart: both were acknowledged */
    reopen_delivery(f);
    assert_int_equal(delivery_pending(f->d), 0);
}

static void test_gone_disables_sink_and_keeps_queue(void **state)
{
    struct fx *f = *state;
    struct delivery_sink_stats st;

    rcv_add_status(f->r, 410, NULL, NULL);
    open_delivery(f);
    submit(f, 1);
    submit(f, 2);
    drive(f, 1, 2);
    delivery_sink_stats(f->d, 0, &st);
    assert_int_equal(st.disabled, 1);
    assert_int_equal(st.queued, 2);
    /* more ticks send nothing */
    for (int i = 0; i < 5; i++) {
        delivery_tick(f->d);
        loop_run_once(f->lp, clock_mono_ms() + 20);
    }
    assert_int_equal(rcv_count(f->r), 1);
    /* a reload (new delivery) re-enables it and sends both */
    reopen_delivery(f);
    assert_int_equal(delivery_pending(f->d), 2);
    drive(f, 3, 0);
    assert_int_equal(rcv_count_status(f->r, 200), 2);
}

static void test_restart_resends_with_same_ids(void **state)
{
    struct fx *f = *state;
    struct rcv_request q;
    char ids[3][64];

    rcv_set_default(f->r, &(struct rcv_action){.kind = RCV_ANSWER,
                                                .status = 503});
    open_delivery(f);
    for (int n = 0; n < 3; n++)
        submit(f, n);
    /* every notification tried (and refused) once */
    drive(f, 3, -1);
    for (size_t i = 0; i < 3; i++) {
        assert_true(rcv_get(f->r, i, &q));
        snprintf(ids[i], sizeof ids[i], "%s", rcv_header(&q, "webhook-id"));
    }
    /* "restart": the receiver recovers, a new process opens the journal */
    reopen_delivery(f);
    assert_int_equal(delivery_pending(f->d), 3);
    rcv_set_default(f->r, &(struct rcv_action){.kind = RCV_ANSWER,
                                                .status = 200});
    size_t before = rcv_count(f->r);
    drive(f, before + 3, 0);
    for (size_t i = 0; i < 3; i++) {
        size_t idx;
        assert_true(rcv_find(f->r, before, "webhook-id", ids[i], &idx));
        assert_true(rcv_get(f->r, idx, &q));
        assert_int_equal(q.status, 200);
    }
    reopen_delivery(f);
    assert_int_equal(delivery_pending(f->d), 0);
}

static void test_timeout_is_retried(void **state)
{
    struct fx *f = *state;
    struct delivery_sink_stats st;

    rcv_add_hang(f->r);
    f->sink.timeout_ms = 300;
    open_delivery(f);
    submit(f, 1);
    drive(f, 2, 0);
    delivery_sink_stats(f->d, 0, &st);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.attempts, 2);
}

static void test_receiver_down_then_up(void **state)
{
    struct fx *f = *state;
    struct delivery_sink_stats st;
    int64_t end;

    assert_int_equal(rcv_set_down(f->r, true), 0);
    open_delivery(f);
    for (int n = 0; n < 4; n++)
        submit(f, n);
    /* a few failed attempts while it is down */
    end = clock_mono_ms() + WAIT_MS;
    do {
        delivery_flush(f->d);
        delivery_tick(f->d);
        loop_run_once(f->lp, clock_mono_ms() + 20);
        delivery_sink_stats(f->d, 0, &st);
        assert_true(clock_mono_ms() < end);
    } while (st.retries < 3);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(rcv_set_down(f->r, false), 0);
    drive(f, 4, 0);
    assert_int_equal(rcv_count_distinct(f->r, "webhook-id", 200, 299), 4);
}

static void test_expired_notification_dead_lettered(void **state)
{
    struct fx *f = *state;
    struct delivery_sink_stats st;
    char d[1024];
    size_t len = doc(d, sizeof d, 9, "firing");

    rcv_set_default(f->r, &(struct rcv_action){.kind = RCV_ANSWER,
                                                .status = 500});
    f->sink.max_age_s = 60;
    open_delivery(f);
    /* created two minutes ago: the first failure is past max_age */
    assert_int_equal(delivery_submit(f->d, &volume_route, "ep0009", 0,
                                     clock_wall_ms() - 120000, d, len),
                     1);
    drive(f, 1, 0);
    delivery_sink_stats(f->d, 0, &st);
    assert_int_equal(st.dead_lettered, 1);
    assert_int_equal(st.attempts, 1);
}

static void test_pacing(void **state)
{
    struct fx *f = *state;
    struct rcv_request b;
    int64_t t0, prev = 0;
    char want[32], body[2048];

    f->sink.rate_per_s = 4.0; /* 250 ms apart after the burst */
    f->sink.burst = 1;
    open_delivery(f);
    /* What pacing promises is when requests leave: the i-th no sooner than
     * i x 250 ms after the first, by the loop's clock, which is never
     * ahead of the real one, and the first no sooner than the loop's
     * clock now.  A request arrives after it leaves, so the i-th arrives
     * no sooner than t0 + i x 250 ms with t0 the earlier of the two
     * clocks read now, however busy the machine is (the receiver and the
     * loop read the same monotonic clock, in whole ms; 1 ms allows for
     * their roundings).  Nothing bounds arrivals from above or the gaps
     * between them (a late first arrival shortens the next gap): the test
     * waits for all four (drive), then checks their order and these
     * lower bounds.  With no pacing all four arrive within a few ms. */
    t0 = clock_mono_ms();
    if (loop_now(f->lp) < t0)
        t0 = loop_now(f->lp);
    for (int n = 0; n < 4; n++)
        submit(f, n);
    drive(f, 4, 0);
    assert_int_equal(rcv_count(f->r), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(rcv_get(f->r, i, &b));
        snprintf(want, sizeof want, "\"id\":\"ep%04zu\"", i);
        assert_non_null(b.body);
        snprintf(body, sizeof body, "%.*s", (int)b.body_len,
                 (const char *)b.body);
        assert_non_null(strstr(body, want));
        assert_true(b.arrival_ms >= prev);
        assert_true(b.arrival_ms - t0 >= (int64_t)(250 * i) - 1);
        prev = b.arrival_ms;
    }
}

/* Rule globs, labels and severity pick the sinks: the webhook wants
 * criticals only, "log" volume-like rules of a growth team, "errors" the
 * error_rate rule only. */
static void test_routing_and_file_sink(void **state)
{
    static const char *const secops[] = {"secops"};
    struct fx *f = *state;
    struct sink_config sinks[3];
    struct delivery_options o = {.state_dir = f->dir, .max_pending = 0};
    struct sink_route other = volume_route;
    char path[128], path2[128], line[2048], d[1024];
    struct stat st;
    size_t len;
    FILE *fp;

    sinks[0] = f->sink;
    sinks[0].min_severity = SEVERITY_CRITICAL; /* the webhook gets none */
    sink_config_defaults(&sinks[1], SINK_FILE);
    snprintf(sinks[1].name, sizeof sinks[1].name, "log");
    snprintf(path, sizeof path, "%s/alerts.ndjson", f->dir);
    sinks[1].path = path;
    sinks[1].rules[0] = "latency";
    sinks[1].rules[1] = "VOL*";
    sinks[1].n_rules = 2;
    sinks[1].label_names[0] = "team";
    sinks[1].label_values[0] = "gr*";
    sinks[1].n_labels = 1;
    sink_config_defaults(&sinks[2], SINK_FILE);
    snprintf(sinks[2].name, sizeof sinks[2].name, "errors");
    snprintf(path2, sizeof path2, "%s/errors.ndjson", f->dir);
    sinks[2].path = path2;
    sinks[2].rules[0] = "error_rate";
    sinks[2].n_rules = 1;
    f->d = delivery_create(f->lp, &o, sinks, 3);
    assert_non_null(f->d);
    len = doc(d, sizeof d, 3, "firing");
    assert_int_equal(delivery_submit(f->d, &volume_route, "ep0003", 0,
                                     clock_wall_ms(), d, len),
                     1);
    /* another team's rule: no sink takes it */
    other.label_values = secops;
    assert_int_equal(delivery_submit(f->d, &other, "ep0004", 0,
                                     clock_wall_ms(), d, len),
                     0);
    /* a rule without labels: no sink takes it either */
    other.nlabels = 0;
    assert_int_equal(delivery_submit(f->d, &other, "ep0005", 0,
                                     clock_wall_ms(), d, len),
                     0);
    /* error_rate, critical: the webhook and "errors" */
    other.rule = "error_rate";
    other.severity = "critical";
    assert_int_equal(delivery_submit(f->d, &other, "ep0006", 0,
                                     clock_wall_ms(), d, len),
                     2);
    assert_int_equal(delivery_submit(f->d, NULL, "ep0007", 0,
                                     clock_wall_ms(), d, len),
                     DELIVERY_EINVAL);
    drive(f, 1, 0);
    assert_int_equal(rcv_count(f->r), 1);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_int_equal(strlen(line), len + 1);
    assert_memory_equal(line, d, len);
    assert_null(fgets(line, sizeof line, fp));
    fclose(fp);
    assert_int_equal(stat(path2, &st), 0);
    assert_int_equal(st.st_size, (off_t)len + 1);
}

/* One sink's retries do not use up another's log lines: each sink's
 * "retry" line has a repeat budget of its own (LOG_KEY, by sink name), so
 * after sink flood has logged LOG_BURST retries and more were suppressed,
 * sink quiet's first 429 is still logged (it used to be suppressed with
 * flood's, for 10 s). */
static void test_retry_log_per_sink(void **state)
{
    struct fx *f = *state;
    struct delivery_options o = {.state_dir = f->dir, .max_pending = 0};
    struct sink_route other = volume_route;
    struct sink_config sinks[2];
    struct rcv *r1 = f->r, *r2 = rcv_start();
    char url2[128], path[128], d[1024], out[16384];
    const char *p;
    size_t len;
    ssize_t n;
    int fd, a_lines = 0;

    assert_non_null(r2);
    rcv_url(r2, "/hook", url2, sizeof url2);
    sinks[0] = f->sink;
    snprintf(sinks[0].name, sizeof sinks[0].name, "flood");
    sinks[0].rules[0] = "volume";
    sinks[0].n_rules = 1;
    sinks[1] = f->sink;
    snprintf(sinks[1].name, sizeof sinks[1].name, "quiet");
    sinks[1].url = url2;
    sinks[1].rules[0] = "other";
    sinks[1].n_rules = 1;
    for (int i = 0; i < LOG_BURST + 2; i++)
        assert_int_equal(rcv_add_status(r1, 429, NULL, NULL), 0);
    assert_int_equal(rcv_add_status(r2, 429, NULL, NULL), 0);
    snprintf(path, sizeof path, "%s/log", f->dir);
    assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
    log_set_fd(fd);
    f->d = delivery_create(f->lp, &o, sinks, 2);
    assert_non_null(f->d);
    len = doc(d, sizeof d, 1, "firing");
    assert_int_equal(delivery_submit(f->d, &volume_route, "ep0001", 0,
                                     clock_wall_ms(), d, len),
                     1);
    drive(f, LOG_BURST + 3, 0); /* flood: every 429, then 200 */
    other.rule = "other";
    assert_int_equal(delivery_submit(f->d, &other, "ep0002", 0,
                                     clock_wall_ms(), d, len),
                     1);
    f->r = r2; /* drive() watches f->r */
    drive(f, 2, 0); /* quiet: one 429, then 200 */
    f->r = r1;
    log_set_fd(-1);
    n = pread(fd, out, sizeof out - 1, 0);
    close(fd);
    rcv_stop(r2);
    assert_true(n > 0);
    out[n] = '\0';
    for (p = out; (p = strstr(p, "sink flood: ")) != NULL; p++)
        a_lines++;
    assert_int_equal(a_lines, LOG_BURST);
    assert_non_null(strstr(out, "sink quiet: "));
}

/* A notification journaled by an older version (detector, group_by) and
 * still pending after the upgrade goes out, rendered for its receiver. */
static void test_old_document_pending_after_upgrade(void **state)
{
    static const char old[] =
        "{\"type\":\"alert.firing\",\"timestamp\":"
        "\"2026-03-10T02:48:00.000Z\",\"data\":{\"id\":\"ep0042\","
        "\"detector\":\"latency\",\"group_by\":\"tool\",\"key\":"
        "\"s3_get_object\",\"state\":\"firing\",\"severity\":\"warning\","
        "\"summary\":\"slow\",\"value\":7000,\"threshold\":5000,"
        "\"window_s\":300,\"started_at\":\"2026-03-10T02:47:00.000Z\","
        "\"resolved_at\":null,\"sample\":{\"agent_id\":\"agent-3\"},"
        "\"source\":\"old\"}}";
    struct fx *f = *state;
    struct rcv_request q;
    struct sink_route r = {.rule = "latency", .severity = "warning"};

    sink_config_defaults(&f->sink, SINK_PAGERDUTY);
    snprintf(f->sink.name, sizeof f->sink.name, "pd");
    f->sink.url = f->url;
    f->sink.routing_key = "k";
    assert_int_equal(rcv_set_down(f->r, true), 0);
    open_delivery(f);
    assert_int_equal(delivery_submit(f->d, &r, "ep0042", 0, clock_wall_ms(),
                                     old, strlen(old)),
                     1);
    assert_int_equal(delivery_flush(f->d), DELIVERY_EOK);
    reopen_delivery(f);
    assert_int_equal(rcv_set_down(f->r, false), 0);
    drive(f, 1, 0);
    assert_true(rcv_get(f->r, 0, &q));
    assert_non_null(strstr((const char *)q.body, "\"class\":\"latency\""));
    assert_non_null(strstr((const char *)q.body,
                           "\"component\":\"s3_get_object\""));
    assert_non_null(strstr((const char *)q.body, "\"group\":\"agent-3\""));
    assert_non_null(strstr((const char *)q.body,
                           "\"group\":{\"tool_name\":\"s3_get_object\"}"));
}

static int contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    }
    return 0;
}

static void test_pagerduty_key_not_in_journal(void **state)
{
    struct fx *f = *state;
    struct rcv_request q;
    char path[128];
    static char jbuf[1 << 16];
    ssize_t n;
    int fd;

    sink_config_defaults(&f->sink, SINK_PAGERDUTY);
    snprintf(f->sink.name, sizeof f->sink.name, "pd");
    f->sink.url = f->url;
    f->sink.routing_key = "R0UT1NG-KEY-9f3b2";
    rcv_set_default(f->r, &(struct rcv_action){.kind = RCV_ANSWER,
                                                .status = 500});
    open_delivery(f);
    submit(f, 1);
    drive(f, 1, -1);
    assert_true(rcv_get(f->r, 0, &q));
    assert_non_null(strstr((const char *)q.body,
                           "\"routing_key\":\"R0UT1NG-KEY-9f3b2\""));
    assert_non_null(strstr((const char *)q.body, "\"dedup_key\":\"ep0001\""));
    snprintf(path, sizeof path, "%s/journal.log", f->dir);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, jbuf, sizeof jbuf);
    close(fd);
    assert_true(n > 0);
    assert_false(contains(jbuf, (size_t)n, "R0UT1NG"));
    assert_true(contains(jbuf, (size_t)n, "ep0001"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_and_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_keeps_webhook_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_honoured, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_error_is_dead_lettered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_gone_disables_sink_and_keeps_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resends_with_same_ids,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_is_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_receiver_down_then_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_expired_notification_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_log_per_sink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_routing_and_file_sink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_old_document_pending_after_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pagerduty_key_not_in_journal,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
