/*
 * test_checkpointer.c - the service's side of the detection checkpoint
 * (app/checkpointer.h): the guard that keeps notifications made again
 * after a restart from being sent twice, the catch-up's ends, and the
 * file written (by the writer thread, and on the caller's thread), loaded
 * back, and refused (counted) when damaged or over the cap.
 */
#include "det_helpers.h"

#include "app/checkpointer.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is notification number seq, made at made_ms, held by the guard? */
static int held(checkpointer *c, uint64_t seq, int64_t made_ms)
{
    struct alert a;

    memset(&a, 0, sizeof a);
    a.seq = seq;
    a.made_ms = made_ms;
    return checkpointer_already_sent(c, &a);
}

static char *temp_dir(void)
{
    static char dir[64];

    snprintf(dir, sizeof dir, "/tmp/tw-ckw-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_dir(const char *dir)
{
    char path[128];

    snprintf(path, sizeof path, "%s/%s", dir, CKPT_FILE);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s.tmp", dir, CKPT_FILE);
    unlink(path);
    rmdir(dir);
}

/* Notifications numbered after the checkpoint's, up to the journal's mark
 * and made no later than it, are held; the first past it ends the guard,
 * and so does one made later than the mark (other events than the first
 * reading). */
static void test_guard(void **state)
{
    const char *dir = temp_dir();
    checkpointer *c = checkpointer_create(dir, 1u << 20, 1000, 0);

    (void)state;
    assert_non_null(c);
    assert_int_equal(held(c, 1, 0), 0);
    checkpointer_resend_guard(c, 10, 10, 500, 1); /* nothing after it */
    assert_int_equal(held(c, 11, 0), 0);
    checkpointer_resend_guard(c, 10, 13, 500, 0); /* rules changed */
    assert_int_equal(held(c, 11, 0), 0);
    checkpointer_resend_guard(c, 10, 13, 500, 1);
    assert_int_equal(held(c, 11, 400), 1);
    assert_int_equal(held(c, 12, 500), 1);
    assert_int_equal(held(c, 13, 500), 1);
    assert_int_equal(held(c, 14, 500), 0);
    assert_int_equal(checkpointer_stats(c)->not_resent, 3);
    /* diverged: made later than the journal's last */
    checkpointer_resend_guard(c, 20, 25, 900, 1);
    assert_int_equal(held(c, 21, 950), 0);
    assert_int_equal(held(c, 22, 100), 0);
    assert_int_equal(checkpointer_stats(c)->not_resent, 3);
    assert_int_equal(held(NULL, 1, 0), 0);
    checkpointer_destroy(c);
    remove_dir(dir);
}

/* Catch-up ends at the newest position recorded before the restart, at
 * an event as recent as the wall clock allows, or at a tick with no
 * record since the last. */
static void test_catchup(void **state)
{
    const char *dir = temp_dir();
    checkpointer *c = checkpointer_create(dir, 1u << 20, 1000, 0);

    (void)state;
    assert_int_equal(checkpointer_catching_up(c), 0);
    assert_int_equal(checkpointer_catching_up(NULL), 0);
    checkpointer_catchup_start(c, "42", 2);
    assert_int_equal(checkpointer_catching_up(c), 1);
    checkpointer_catchup_event(c, "41", 2, 1000, 5000);
    checkpointer_catchup_event(c, "4", 1, 1000, 5000);
    assert_int_equal(checkpointer_catching_up(c), 1);
    checkpointer_catchup_event(c, "42", 2, 1000, 5000);
    assert_int_equal(checkpointer_catching_up(c), 0);
    checkpointer_catchup_start(c, "42", 2);
    checkpointer_catchup_event(c, "7", 1, 5000, 5000);
    assert_int_equal(checkpointer_catching_up(c), 0);
    checkpointer_catchup_start(c, "42", 2);
    checkpointer_catchup_tick(c, 10);
    checkpointer_catchup_tick(c, 11);
    assert_int_equal(checkpointer_catching_up(c), 1);
    checkpointer_catchup_tick(c, 11);
    assert_int_equal(checkpointer_catching_up(c), 0);
    checkpointer_destroy(c);
    remove_dir(dir);
}

#define MAXR                                                               \
    "[{'name':'slow','kind':'max','severity':'warning',"                   \
    "'field':'execution_duration_ms','group_by':['tool_name'],"            \
    "'threshold':1000,'window_s':10}]"

/* Written by the writer thread when due, on this thread on demand; loaded
 * back into a new engine; a damaged file and one over the cap refused and
 * counted. */
static void test_write_and_load(void **state)
{
    static struct cap c1, c2;
    const char *dir = temp_dir();
    checkpointer *c = checkpointer_create(dir, 1u << 20, 1000, 0);
    det_engine *e = eng_json(&c1, MAXR, NULL), *f;
    struct event ev = ev_call(0, "t", "a");
    struct det_restore_info info;
    char path[128];
    FILE *fp;

    (void)state;
    ev.has |= EVENT_HAS_DURATION;
    ev.duration_ms = 3000;
    feed(e, ev);
    assert_int_equal(checkpointer_load(c, eng_more(&c2, MAXR, NULL), &info),
                     CKPT_ENOENT);
    assert_int_equal(checkpointer_due(c, 999), 0);
    assert_int_equal(checkpointer_due(c, 1000), 1);
    assert_int_equal(checkpointer_take(c, e, "p1", 2, 77, 1000), CKPT_OK);
    assert_int_equal(checkpointer_due(c, 1999), 0);
    /* the writer's write is waited for, then this one written */
    assert_int_equal(checkpointer_write_now(c, e, "p2", 2, 78), CKPT_OK);
    checkpointer_poll(c);
    assert_int_equal(checkpointer_stats(c)->writes, 2);
    assert_int_equal(checkpointer_stats(c)->last_success_ms, 78);
    assert_true(checkpointer_stats(c)->last_bytes > 0);
    f = eng_more(&c2, MAXR, NULL);
    assert_int_equal(checkpointer_load(c, f, &info), CKPT_OK);
    assert_string_equal(info.ck.position, "p2");
    assert_int_equal(info.episodes, 1);
    assert_true(det_engine_is_firing(f, "slow", "t"));
    /* damaged */
    snprintf(path, sizeof path, "%s/%s", dir, CKPT_FILE);
    fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 60, SEEK_SET);
    fputc('#', fp);
    fclose(fp);
    assert_int_equal(checkpointer_load(c, eng_more(&c2, MAXR, NULL), &info),
                     CKPT_EINVAL);
    assert_int_equal(checkpointer_stats(c)->refused, 1);
    /* over the cap, read or written */
    checkpointer_configure(c, 100, 1000, 0);
    assert_int_equal(checkpointer_load(c, eng_more(&c2, MAXR, NULL), &info),
                     CKPT_ETOOBIG);
    assert_int_equal(checkpointer_stats(c)->refused, 2);
    assert_int_equal(checkpointer_take(c, e, "p3", 2, 79, 5000),
                     CKPT_ETOOBIG);
    assert_int_equal(checkpointer_stats(c)->too_big, 1);
    assert_int_equal(checkpointer_stats(c)->failures, 1);
    checkpointer_destroy(c);
    for (int i = 0; i < ENG_MAX; i++)
        if (eng_sets[i].e != NULL)
            eng_free(eng_sets[i].e);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard),
        cmocka_unit_test(test_catchup),
        cmocka_unit_test(test_write_and_load),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
