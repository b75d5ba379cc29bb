/*
 * test_reconfigure.c - delivery_reconfigure(): the outbox takes a new sink
 * set in place (SIGHUP), building everything first and swapping only when
 * all of it was built.
 *
 * Every test has notifications pending while the receiver (tests/support
 * receiver, 127.0.0.1) is down, makes reconfigurations fail at each step
 * of the build -- a file sink that cannot be opened (its directory
 * removed), an unusable signing secret, a request that cannot be created
 * (out of memory), the journal that cannot be read for an added sink, a
 * bad set -- and checks that nothing changed and nothing crashes; then the
 * receiver comes back and every notification must arrive exactly once per
 * webhook-id (no 2xx twice, none missing).  Notifications held in memory
 * only (the journal failing) must survive failed and successful
 * reconfigurations alike, a removed sink's included.
 *
 * Link seams (-Wl,--wrap, see the Makefile): request_create (fails on
 * demand: out of memory), journal_foreach_pending (fails on demand: the
 * journal cannot be read) and journal_append (fails while the journal is
 * "broken": disk full).  Everything else is the real code on a real loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts/delivery.h"
#include "alerts/journal.h"
#include "alerts/request.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/loop.h"
#include "tests/support/receiver.h"
#include "tests/support/twrun.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define WAIT_MS 30000

/* ---- link seams --------------------------------------------------------- */

static int fail_request_create; /* the n-th call from now fails; 0 never */
static int fail_journal_read;   /* the next walk fails */
static int journal_broken;      /* appends fail (disk full) */

request *__real_request_create(const struct sink_config *c, int *err);
request *__wrap_request_create(const struct sink_config *c, int *err);
int __real_journal_foreach_pending(journal *j, journal_pending_fn fn,
                                   void *ud);
int __wrap_journal_foreach_pending(journal *j, journal_pending_fn fn,
                                   void *ud);
int __real_journal_append(journal *j, const struct journal_record_entry *e,
                          uint64_t *seq);
int __wrap_journal_append(journal *j, const struct journal_record_entry *e,
                          uint64_t *seq);

request *__wrap_request_create(const struct sink_config *c, int *err)
{
    if (fail_request_create > 0 && --fail_request_create == 0) {
        if (err != NULL)
            *err = REQUEST_ENOMEM;
        return NULL;
    }
    return __real_request_create(c, err);
}

int __wrap_journal_foreach_pending(journal *j, journal_pending_fn fn,
                                   void *ud)
{
    if (fail_journal_read) {
        fail_journal_read = 0;
        return JOURNAL_EIO;
    }
    return __real_journal_foreach_pending(j, fn, ud);
}

int __wrap_journal_append(journal *j, const struct journal_record_entry *e,
                          uint64_t *seq)
{
    if (journal_broken)
        return JOURNAL_ENOSPC;
    return __real_journal_append(j, e, seq);
}

/* ---- fixture ------------------------------------------------------------ */

struct fx {
    void *t;                  /* struct twr_fx: the receiver, the dir */
    struct rcv *r;
    loop *lp;
    delivery *d;
    struct twr_dir dir;       /* dir.state holds the journal */
    char logdir[96];
    char logpath[128];
    char url_a[128], url_b[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    *state = f;
    if (f == NULL || twr_setup(&f->t) != 0)
        return -1;
    fail_request_create = fail_journal_read = journal_broken = 0;
    if (twr_dir_make(f->t, &f->dir, "reconf") != 0)
        return -1;
    snprintf(f->logdir, sizeof f->logdir, "%s/logs", f->dir.path);
    snprintf(f->logpath, sizeof f->logpath, "%s/alerts.ndjson", f->logdir);
    if (mkdir(f->dir.state, 0700) != 0 || mkdir(f->logdir, 0700) != 0)
        return -1;
    f->r = twr_fx_rcv(f->t);
    f->lp = loop_create();
    if (f->r == NULL || f->lp == NULL)
        return -1;
    rcv_url(f->r, "/a", f->url_a, sizeof f->url_a);
    rcv_url(f->r, "/b", f->url_b, sizeof f->url_b);
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int rc;

    delivery_destroy(f->d);
    loop_destroy(f->lp);
    rc = twr_teardown(&f->t); /* stops the receiver, removes the dir */
    free(f);
    return rc;
}

static void webhook(struct sink_config *c, const char *name, const char *url)
{
    sink_config_defaults(c, SINK_WEBHOOK);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->url = url;
    c->secrets[0] = SECRET;
    c->n_secrets = 1;
    c->retry_base_ms = 50;
    c->retry_max_ms = 200;
}

static void file_sink(struct sink_config *c, const char *name,
                      const char *path)
{
    sink_config_defaults(c, SINK_FILE);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->path = path;
}

static void open_delivery(struct fx *f, const struct sink_config *s,
                          size_t n)
{
    struct delivery_options o = {.state_dir = f->dir.state, .max_pending = 0};

    f->d = delivery_create(f->lp, &o, s, n);
    assert_non_null(f->d);
}

/* Submit notification n; returns the number of sinks it went to. */
static int submit(struct fx *f, int n)
{
    char d[1024], id[16];
    int len;

    snprintf(id, sizeof id, "ep%04d", n);
    len = snprintf(
        d, sizeof d,
        "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:48:00.000Z\""
        ",\"data\":{\"id\":\"%s\",\"rule\":\"volume\",\"kind\":"
        "\"count\",\"group\":{\"tool_name\":\"crm_search\"},\"key\":\"crm_search\",\"state\":\"firing\",\"severity\":"
        "\"warning\",\"summary\":\"n=%d\",\"value\":101,\"threshold\":100,"
        "\"window_s\":60,\"started_at\":\"2026-03-10T02:47:00.000Z\","
        "\"resolved_at\":null,\"sample\":{},\"source\":\"test\"}}",
        id, n);
    return delivery_submit(f->d,
                           &(struct sink_route){.rule = "volume",
                                                .severity = "warning"},
                           id, 0, clock_wall_ms() - 1000 + n, d,
                           (size_t)len);
}

static void spin(struct fx *f, int64_t ms)
{
    int64_t end = clock_mono_ms() + ms;

    while (clock_mono_ms() < end) {
        int64_t next;
        loop_update_now(f->lp);
        delivery_flush(f->d);
        next = delivery_tick(f->d);
        if (next > clock_mono_ms() + 20)
            next = clock_mono_ms() + 20;
        loop_run_once(f->lp, next);
    }
}

/* Run the loop until nothing is pending or in flight and the receiver has
 * acknowledged `want` requests; then check that each webhook-id was
 * acknowledged exactly once. */
static void drain(struct fx *f, size_t want)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    for (;;) {
        int64_t next;
        loop_update_now(f->lp);
        delivery_flush(f->d);
        next = delivery_tick(f->d);
        if (delivery_pending(f->d) == 0 && delivery_in_flight(f->d) == 0 &&
            rcv_count_status(f->r, 200) >= want)
            break;
        assert_true(clock_mono_ms() < end);
        if (next > clock_mono_ms() + 20)
            next = clock_mono_ms() + 20;
        loop_run_once(f->lp, next);
    }
    assert_int_equal(rcv_count_status(f->r, 200), want);
    assert_int_equal(rcv_count_distinct(f->r, "webhook-id", 200, 299), want);
}

static void expect_sinks(struct fx *f, const char *const *names, size_t n,
                         uint64_t queued_each)
{
    struct delivery_sink_stats st;

    assert_int_equal(delivery_sink_count(f->d), n);
    for (size_t i = 0; i < n; i++) {
        delivery_sink_stats(f->d, i, &st);
        assert_string_equal(st.name, names[i]);
        if (queued_each != UINT64_MAX)
            assert_int_equal(st.queued, queued_each);
    }
}

/* Each failing step of a reconfiguration leaves the old set working. */
static void refuse_all(struct fx *f, const struct sink_config *good,
                       size_t n_good)
{
    struct sink_config s[DELIVERY_MAX_SINKS + 1];
    char err[512];
    int rc, calls = 1;

    memset(s, 0, sizeof s);
    for (size_t i = 0; i < n_good; i++)
        calls += good[i].kind != SINK_FILE && good[i].kind != SINK_STDOUT;

    /* a file sink whose directory is gone */
    memcpy(s, good, n_good * sizeof *s);
    file_sink(&s[n_good], "lost", "/nonexistent-tw-dir/alerts.ndjson");
    rc = delivery_reconfigure(f->d, s, n_good + 1, err, sizeof err);
    assert_int_equal(rc, DELIVERY_EINVAL);
    assert_non_null(strstr(err, "sink lost: cannot open"));

    /* an unusable signing secret: named by its position, never quoted */
    memcpy(s, good, n_good * sizeof *s);
    webhook(&s[n_good], "bad", f->url_b);
    s[n_good].secrets[0] = "whsec_!!not-base64!!";
    rc = delivery_reconfigure(f->d, s, n_good + 1, err, sizeof err);
    assert_int_equal(rc, DELIVERY_EINVAL);
    assert_non_null(strstr(err, "sink bad: signing secret #1 is unusable"));
    assert_null(strstr(err, "not-base64"));

    /* out of memory setting up the last sink's request */
    memcpy(s, good, n_good * sizeof *s);
    webhook(&s[n_good], "late", f->url_b);
    fail_request_create = calls; /* the new sink's */
    rc = delivery_reconfigure(f->d, s, n_good + 1, err, sizeof err);
    assert_int_equal(rc, DELIVERY_ENOMEM);
    assert_non_null(strstr(err, "sink late"));
    fail_request_create = 0;

    /* the journal cannot be read for the added sink */
    fail_journal_read = 1;
    rc = delivery_reconfigure(f->d, s, n_good + 1, err, sizeof err);
    assert_int_equal(rc, DELIVERY_EJOURNAL);
    assert_non_null(strstr(err, "cannot read the journal"));
    fail_journal_read = 0;

    /* a bad set: two sinks of one name, too many sinks */
    memcpy(s, good, n_good * sizeof *s);
    s[n_good] = good[0];
    rc = delivery_reconfigure(f->d, s, n_good + 1, err, sizeof err);
    assert_int_equal(rc, DELIVERY_EINVAL);
    assert_non_null(strstr(err, "two sinks named"));
    rc = delivery_reconfigure(f->d, s, DELIVERY_MAX_SINKS + 1, err,
                              sizeof err);
    assert_int_equal(rc, DELIVERY_EINVAL);
}

/* ---- tests -------------------------------------------------------------- */

/* Pending notifications, the receiver down, every kind of failed
 * reconfiguration (a kept file sink whose directory was removed too): the
 * old sinks still deliver, and every notification arrives once. */
static void test_failures_leave_old_sinks(void **state)
{
    static const char *const names[] = {"a", "log"};
    struct fx *f = *state;
    struct sink_config s[2];
    struct delivery_sink_stats st;
    char err[512], cmd[160];
    FILE *fp;
    char line[2048];
    int lines = 0;

    webhook(&s[0], "a", f->url_a);
    file_sink(&s[1], "log", f->logpath);
    assert_int_equal(rcv_set_down(f->r, true), 0);
    open_delivery(f, s, 2);
    for (int n = 0; n < 40; n++)
        assert_int_equal(submit(f, n), 2);
    spin(f, 300); /* the file is written, the webhook retries */
    delivery_sink_stats(f->d, 0, &st);
    assert_true(st.attempts >= 1);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(delivery_pending(f->d), 40);

    refuse_all(f, s, 2);
    expect_sinks(f, names, 2, UINT64_MAX);
    assert_int_equal(delivery_pending(f->d), 40);

    /* the file sink's directory disappears: the same set cannot be built
     * again (its file cannot be reopened); the running one stays */
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->logdir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(delivery_reconfigure(f->d, s, 2, err, sizeof err),
                     DELIVERY_EINVAL);
    assert_non_null(strstr(err, "sink log: cannot open"));
    expect_sinks(f, names, 2, UINT64_MAX);
    assert_int_equal(delivery_flush(f->d), DELIVERY_EOK);
    delivery_tick(f->d);

    assert_int_equal(rcv_set_down(f->r, false), 0);
    drain(f, 40);
    delivery_sink_stats(f->d, 0, &st);
    assert_int_equal(st.delivered, 40);
    delivery_sink_stats(f->d, 1, &st);
    assert_int_equal(st.delivered, 40);

    /* a successful reconfiguration after the failures: kept sinks keep
     * their statistics */
    assert_int_equal(mkdir(f->logdir, 0700), 0);
    assert_int_equal(delivery_reconfigure(f->d, s, 2, err, sizeof err),
                     DELIVERY_EOK);
    delivery_sink_stats(f->d, 0, &st);
    assert_int_equal(st.delivered, 40);
    assert_int_equal(submit(f, 99), 2);
    drain(f, 41);
    fp = fopen(f->logpath, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp) != NULL)
        lines++;
    fclose(fp);
    assert_int_equal(lines, 1); /* the new file: only the last one */
}

/* Two webhooks a and b, the receiver down, the journal failing: n
 * notifications to each are held in memory only. */
static void hold_in_memory(struct fx *f, struct sink_config s[2], int n)
{
    webhook(&s[0], "a", f->url_a);
    webhook(&s[1], "b", f->url_b);
    assert_int_equal(rcv_set_down(f->r, true), 0);
    open_delivery(f, s, 2);
    journal_broken = 1;
    for (int i = 0; i < n; i++)
        assert_int_equal(submit(f, i), 2);
    spin(f, 100);
    assert_false(delivery_journal_ok(f->d));
    assert_int_equal(delivery_pending(f->d), 2 * (uint64_t)n);
}

/* The journal fails (disk full), the receiver is down: 200 notifications
 * to each of two sinks are held in memory only.  Failed reconfigurations,
 * one that removes sink b, and one that brings it back must not lose any
 * of them: each of the 400 arrives exactly once. */
static void test_memory_only_kept_when_removed(void **state)
{
    static const char *const ab[] = {"a", "b"};
    static const char *const a_only[] = {"a"};
    struct fx *f = *state;
    struct sink_config s[2];
    char err[512];

    hold_in_memory(f, s, 200);

    refuse_all(f, s, 2);
    assert_int_equal(delivery_pending(f->d), 400);
    expect_sinks(f, ab, 2, 200);

    /* b removed: its 200 cannot be journaled, so they are kept */
    assert_int_equal(delivery_reconfigure(f->d, s, 1, err, sizeof err),
                     DELIVERY_EOK);
    expect_sinks(f, a_only, 1, 200);
    spin(f, 1200); /* rejournal tries, and fails */
    assert_int_equal(delivery_pending(f->d), 400);
    refuse_all(f, s, 1);
    assert_int_equal(delivery_pending(f->d), 400);

    /* b comes back before the journal does: it gets its 200 again */
    assert_int_equal(delivery_reconfigure(f->d, s, 2, err, sizeof err),
                     DELIVERY_EOK);
    expect_sinks(f, ab, 2, 200);

    journal_broken = 0;
    assert_int_equal(rcv_set_down(f->r, false), 0);
    drain(f, 400);
    delivery_destroy(f->d);
    f->d = NULL;
    open_delivery(f, s, 2); /* a restart finds nothing left to send */
    assert_int_equal(delivery_pending(f->d), 0);
}

/* A removed sink whose notifications could not be journaled lets go of
 * them once the journal takes them; added again, it finds them in the
 * journal.  Exactly once each. */
static void test_removed_then_journaled_then_added(void **state)
{
    static const char *const a_only[] = {"a"};
    struct fx *f = *state;
    struct sink_config s[2];
    char err[512];
    int64_t end;

    hold_in_memory(f, s, 100);
    assert_int_equal(delivery_reconfigure(f->d, s, 1, err, sizeof err),
                     DELIVERY_EOK);
    expect_sinks(f, a_only, 1, 100);
    assert_int_equal(delivery_pending(f->d), 200);

    /* the journal works again: everything is journaled within a second or
     * two, and b's notifications leave memory (they wait in the journal) */
    journal_broken = 0;
    end = clock_mono_ms() + WAIT_MS;
    while (delivery_pending(f->d) != 100) {
        assert_true(clock_mono_ms() < end);
        spin(f, 50);
    }
    assert_true(delivery_journal_ok(f->d));

    /* b again: its 100 come back from the journal, with their ids */
    assert_int_equal(delivery_reconfigure(f->d, s, 2, err, sizeof err),
                     DELIVERY_EOK);
    assert_int_equal(delivery_pending(f->d), 200);
    assert_int_equal(rcv_set_down(f->r, false), 0);
    drain(f, 200);
}

/* A kept sink's transfer in flight finishes with the settings it started
 * with; the new settings apply from the next attempt.  A sink removed
 * while its transfer hangs abandons it; added again, the notification is
 * sent with the same webhook-id. */
static void test_in_flight(void **state)
{
    struct fx *f = *state;
    struct sink_config s[2];
    struct rcv_request q0, q;
    char err[512];
    size_t idx;
    int64_t end;

    webhook(&s[0], "a", f->url_a);
    webhook(&s[1], "b", f->url_b);
    open_delivery(f, s, 1);
    assert_int_equal(rcv_add_delay(f->r, 400, 200), 0);
    assert_int_equal(submit(f, 1), 1);
    assert_int_equal(submit(f, 2), 1);
    end = clock_mono_ms() + WAIT_MS;
    while (delivery_in_flight(f->d) == 0) {
        assert_true(clock_mono_ms() < end);
        spin(f, 10);
    }
    /* a's URL changes to /b: the transfer in flight still goes to /a */
    s[0].url = f->url_b;
    assert_int_equal(delivery_reconfigure(f->d, s, 1, err, sizeof err),
                     DELIVERY_EOK);
    assert_int_equal(delivery_in_flight(f->d), 1);
    drain(f, 2);
    assert_true(rcv_get(f->r, 0, &q));
    assert_string_equal(q.path, "/a");
    assert_true(rcv_get(f->r, 1, &q));
    assert_string_equal(q.path, "/b");

    /* b hangs; b is removed while in flight, then comes back */
    assert_int_equal(delivery_reconfigure(f->d, s, 2, err, sizeof err),
                     DELIVERY_EOK);
    assert_int_equal(rcv_add_hang(f->r), 0);
    assert_int_equal(submit(f, 3), 2);
    end = clock_mono_ms() + WAIT_MS;
    while (rcv_count(f->r) < 3 || delivery_in_flight(f->d) < 1 ||
           delivery_pending(f->d) > 1) {
        assert_true(clock_mono_ms() < end);
        spin(f, 10);
    }
    /* the hung request: which sink's it is does not matter */
    assert_true(rcv_get(f->r, 2, &q0));
    assert_int_equal(delivery_reconfigure(f->d, s, 0, err, sizeof err),
                     DELIVERY_EOK);
    assert_int_equal(delivery_in_flight(f->d), 0);
    assert_int_equal(delivery_sink_count(f->d), 0);
    assert_int_equal(delivery_reconfigure(f->d, s, 2, err, sizeof err),
                     DELIVERY_EOK);
    drain(f, 4);
    assert_true(rcv_find(f->r, 3, "webhook-id",
                         rcv_header(&q0, "webhook-id"), &idx));
    assert_true(rcv_get(f->r, idx, &q));
    assert_int_equal(q.status, 200);
}

/* A sink disabled by 410 is enabled again by a reconfiguration, and its
 * queue is sent (what a reload promised before: README, 410 Gone). */
static void test_gone_enabled_again(void **state)
{
    struct fx *f = *state;
    struct sink_config s[1];
    struct delivery_sink_stats st;
    char err[512];
    int64_t end;

    webhook(&s[0], "a", f->url_a);
    assert_int_equal(rcv_add_status(f->r, 410, NULL, NULL), 0);
    open_delivery(f, s, 1);
    assert_int_equal(submit(f, 1), 1);
    assert_int_equal(submit(f, 2), 1);
    end = clock_mono_ms() + WAIT_MS;
    do {
        assert_true(clock_mono_ms() < end);
        spin(f, 10);
        delivery_sink_stats(f->d, 0, &st);
    } while (!st.disabled);
    assert_int_equal(st.queued, 2);
    assert_int_equal(delivery_reconfigure(f->d, s, 1, err, sizeof err),
                     DELIVERY_EOK);
    delivery_sink_stats(f->d, 0, &st);
    assert_false(st.disabled);
    drain(f, 2);
}

/* No outbox at all (a caller whose outbox could not be built): every
 * call is harmless. */
static void test_no_outbox(void **state)
{
    struct sink_config s[1];
    char err[64];

    (void)state;
    file_sink(&s[0], "log", "/dev/null");
    assert_int_equal(delivery_flush(NULL), DELIVERY_EINVAL);
    assert_int_equal(delivery_tick(NULL), INT64_MAX);
    assert_int_equal(delivery_submit(NULL,
                                     &(struct sink_route){.rule = "volume",
                                                          .severity = "info"},
                                     "ep", 0, 1, "{}", 2),
                     DELIVERY_EINVAL);
    assert_int_equal(delivery_reconfigure(NULL, s, 1, err, sizeof err),
                     DELIVERY_EINVAL);
    assert_string_equal(err, "no outbox");
    assert_int_equal(delivery_record_position(NULL, "1", 1, 1),
                     DELIVERY_EJOURNAL);
    assert_int_equal(delivery_position(NULL, NULL, NULL), 0);
    assert_int_equal(delivery_pending(NULL), 0);
    assert_int_equal(delivery_in_flight(NULL), 0);
    assert_int_equal(delivery_journal_ok(NULL), 0);
    assert_int_equal(delivery_sink_count(NULL), 0);
    delivery_destroy(NULL);
}

static int group_setup(void **state)
{
    log_set_level(LOG_ERROR); /* the refusals are expected */
    return twr_group_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failures_leave_old_sinks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_only_kept_when_removed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_removed_then_journaled_then_added, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_enabled_again, setup,
                                        teardown),
        cmocka_unit_test(test_no_outbox),
    };
    return cmocka_run_group_tests(tests, group_setup, twr_group_teardown);
}
