/*
 * checkpointer.c - the detection checkpoint in the service: load, the
 * schedule, the writer thread, the guard against sending again (see
 * checkpointer.h).
 *
 * Memory: a checkpoint's bytes are held only while it is serialized and
 * written (one buffer, freed after the write), not between checkpoints.
 *
 * Invariants:
 *   - `out` belongs to the loop thread; `job` to the writer from the
 *     moment `have_job` is set until `done` is set, and to the loop thread
 *     otherwise; they are swapped only under the mutex while the writer
 *     holds neither (have_job, writing and done all 0);
 *   - the writer touches nothing but `job`, the file and the result fields
 *     (under the mutex);
 *   - guard_upto 0: no guard; once a notification past it is seen, or one
 *     at or under it was made later than guard_ms, it is 0 for good.
 */
#include "app/checkpointer.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "detectors/checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct checkpointer {
    char *dir;
    size_t max;
    int64_t interval_ms;
    int64_t next_due;          /* monotonic */
    buf out;                   /* the loop thread's */
    /* shared with the writer, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started;
    int stop;
    int have_job;              /* job holds a checkpoint to write */
    int writing;
    int done;                  /* a write ended: its outcome below */
    buf job;
    int job_rc;
    int job_errno;
    int64_t job_us;            /* how long the write took */
    size_t job_bytes;          /* what it wrote */
    int64_t job_serialize_us;  /* how long its serialization took */
    int64_t job_wall;          /* when it was taken */
    /* the loop thread's */
    uint64_t guard_upto;
    int64_t guard_ms;
    int catching_up;
    char until[CKPT_POSITION_MAX];
    size_t until_len;
    uint64_t records_at_tick;
    struct checkpointer_stats st;
};

static void *writer_main(void *arg)
{
    checkpointer *c = arg;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        int64_t t0;
        int rc, err;

        while (!c->have_job && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->have_job)
            break; /* stop, nothing left to write */
        c->have_job = 0;
        c->writing = 1;
        pthread_mutex_unlock(&c->mu);
        t0 = clock_mono_us();
        rc = ckpt_file_write(c->dir, c->job.data, c->job.len);
        err = errno;
        pthread_mutex_lock(&c->mu);
        c->job_rc = rc;
        c->job_errno = err;
        c->job_us = clock_mono_us() - t0;
        c->job_bytes = c->job.len;
        buf_free(&c->job); /* nothing held between checkpoints */
        c->writing = 0;
        c->done = 1;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

checkpointer *checkpointer_create(const char *dir, size_t max_bytes,
                                  int64_t interval_ms, int64_t now_mono_ms)
{
    checkpointer *c = calloc(1, sizeof *c);
    int rc = -1;

    if (c == NULL || (c->dir = strdup(dir)) == NULL)
        goto out;
    c->max = max_bytes;
    c->interval_ms = interval_ms;
    c->next_due = now_mono_ms + interval_ms;
    buf_init(&c->out, max_bytes);
    buf_init(&c->job, max_bytes);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->th, NULL, writer_main, c) != 0) {
        LOG(LOG_ERROR, "checkpoint", "cannot start the checkpoint writer "
            "thread");
        goto out;
    }
    c->started = 1;
    rc = 0;
out:
    if (rc != 0) {
        checkpointer_destroy(c);
        c = NULL;
    }
    return c;
}

void checkpointer_destroy(checkpointer *c)
{
    if (c == NULL)
        return;
    if (c->dir != NULL) { /* the mutex and thread exist */
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        if (c->started)
            pthread_join(c->th, NULL);
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
    }
    buf_free(&c->out);
    buf_free(&c->job);
    free(c->dir);
    free(c);
}

void checkpointer_configure(checkpointer *c, size_t max_bytes,
                            int64_t interval_ms, int64_t now_mono_ms)
{
    if (interval_ms != c->interval_ms)
        c->next_due = now_mono_ms + interval_ms;
    c->max = max_bytes;
    c->interval_ms = interval_ms;
}

/* ---- start-up ------------------------------------------------------------ */

int checkpointer_load(checkpointer *c, det_engine *e,
                      struct det_restore_info *info)
{
    char *data = NULL;
    size_t n = 0;
    int rc;

    memset(info, 0, sizeof *info);
    rc = ckpt_file_read(c->dir, c->max, &data, &n);
    if (rc == CKPT_ENOENT) {
        LOG(LOG_INFO, "checkpoint", "no checkpoint in %s: the detection "
            "state starts fresh", c->dir);
        goto out;
    }
    if (rc == CKPT_OK)
        rc = det_engine_restore(e, data, n, info);
    if (rc != CKPT_OK) {
        c->st.refused++;
        LOG(LOG_ERROR, "checkpoint", "%s/%s refused (%s%s%s): the detection "
            "state starts fresh and the stream resumes where it stopped",
            c->dir, CKPT_FILE, ckpt_strerror(rc),
            rc == CKPT_EIO ? ": " : "", rc == CKPT_EIO ? strerror(errno) : "");
        goto out;
    }
    LOG(LOG_INFO, "checkpoint", "loaded %s/%s (%zu bytes): %u rules kept "
        "their state, %u changed or gone, %u new; %llu groups, %llu open "
        "episodes, %llu recent record ids; the stream resumes after event "
        "id \"%s\"", c->dir, CKPT_FILE, n, info->rules_kept,
        info->rules_dropped, info->rules_new,
        (unsigned long long)info->groups, (unsigned long long)info->episodes,
        (unsigned long long)info->dedupe_ids, info->ck.position);
    if (info->groups_reset > 0)
        LOG(LOG_WARN, "checkpoint", "%llu groups had state their rule "
            "could not have made: started fresh",
            (unsigned long long)info->groups_reset);
out:
    free(data);
    return rc;
}

/* ---- writing ------------------------------------------------------------- */

int checkpointer_due(const checkpointer *c, int64_t now_mono_ms)
{
    return now_mono_ms >= c->next_due;
}

/* Serialize e into c->out; CKPT_OK or CKPT_ETOOBIG (logged, counted). */
static int serialize(checkpointer *c, det_engine *e, const char *pos,
                     size_t len, int64_t wall_ms, int64_t *us)
{
    int64_t t0 = clock_mono_us();
    size_t hint = c->st.last_bytes + c->st.last_bytes / 8;
    int rc;

    buf_free(&c->out);
    buf_init(&c->out, c->max); /* the cap in force */
    /* about the last one's size: no copies while it grows */
    if (hint > 0)
        (void)buf_reserve(&c->out, hint < c->max ? hint : c->max);
    rc = det_engine_checkpoint(e, pos, len, wall_ms, &c->out);
    *us = clock_mono_us() - t0;
    if (rc != CKPT_OK) {
        c->st.failures++;
        if (rc == CKPT_ETOOBIG)
            c->st.too_big++;
        LOG(LOG_ERROR, "checkpoint", "not written: the detection state "
            "takes more than %zu bytes (detectors.checkpoint_max_mb; raise "
            "it, or lower max_keys); the previous checkpoint stays", c->max);
        buf_free(&c->out);
    }
    return rc;
}

int checkpointer_take(checkpointer *c, det_engine *e, const char *pos,
                      size_t len, int64_t wall_ms, int64_t now_mono_ms)
{
    int64_t us;
    int rc = CKPT_EBUSY, busy;
    buf t;

    pthread_mutex_lock(&c->mu);
    busy = c->have_job || c->writing || c->done;
    pthread_mutex_unlock(&c->mu);
    if (busy) {
        c->st.skipped++; /* taken at the next call after the write ends */
        goto out;
    }
    c->next_due = now_mono_ms + c->interval_ms;
    if ((rc = serialize(c, e, pos, len, wall_ms, &us)) != CKPT_OK)
        goto out;
    pthread_mutex_lock(&c->mu);
    t = c->job;
    c->job = c->out;
    c->out = t;
    c->job_serialize_us = us;
    c->job_wall = wall_ms;
    c->have_job = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
out:
    return rc;
}

/* A write's outcome into the counters; the mutex is held. */
static void collect(checkpointer *c)
{
    if (c->job_rc == CKPT_OK) {
        c->st.writes++;
        c->st.last_success_ms = c->job_wall;
        c->st.last_bytes = c->job_bytes;
        c->st.last_serialize_us = c->job_serialize_us;
        c->st.last_write_us = c->job_us;
    } else {
        c->st.failures++;
        LOG(LOG_ERROR, "checkpoint", "cannot write %s/%s: %s; the previous "
            "checkpoint stays", c->dir, CKPT_FILE, strerror(c->job_errno));
    }
    c->done = 0;
}

void checkpointer_poll(checkpointer *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->done)
        collect(c);
    pthread_mutex_unlock(&c->mu);
}

int checkpointer_write_now(checkpointer *c, det_engine *e, const char *pos,
                           size_t len, int64_t wall_ms)
{
    int64_t us, t0;
    int rc;

    pthread_mutex_lock(&c->mu);
    while (c->have_job || c->writing)
        pthread_cond_wait(&c->cv, &c->mu);
    if (c->done)
        collect(c);
    pthread_mutex_unlock(&c->mu);
    if ((rc = serialize(c, e, pos, len, wall_ms, &us)) != CKPT_OK)
        goto out;
    t0 = clock_mono_us();
    if ((rc = ckpt_file_write(c->dir, c->out.data, c->out.len)) != CKPT_OK) {
        c->st.failures++;
        LOG(LOG_ERROR, "checkpoint", "cannot write %s/%s: %s", c->dir,
            CKPT_FILE, strerror(errno));
        goto out;
    }
    c->st.writes++;
    c->st.last_success_ms = wall_ms;
    c->st.last_bytes = c->out.len;
    c->st.last_serialize_us = us;
    c->st.last_write_us = clock_mono_us() - t0;
    LOG(LOG_INFO, "checkpoint", "detection state written to %s/%s (%zu "
        "bytes, serialized in %lld us, written in %lld us)", c->dir,
        CKPT_FILE, c->out.len, (long long)us,
        (long long)c->st.last_write_us);
out:
    buf_free(&c->out);
    return rc;
}

/* ---- after a restart ------------------------------------------------------ */

void checkpointer_resend_guard(checkpointer *c, uint64_t engine_seq,
                               uint64_t mark_seq, int64_t mark_made_ms,
                               int same_rules)
{
    if (mark_seq <= engine_seq) {
        /* nothing journaled after the checkpoint */
    } else if (!same_rules) {
        LOG(LOG_WARN, "checkpoint", "the journal holds %llu notifications "
            "made after the checkpoint, but the rules changed since: those "
            "that the events read again make again may be sent twice (same "
            "episode ids)", (unsigned long long)(mark_seq - engine_seq));
    } else {
        c->guard_upto = mark_seq;
        c->guard_ms = mark_made_ms;
        LOG(LOG_INFO, "checkpoint", "notifications %llu to %llu are in the "
            "journal already: made again from the events read again, they "
            "are not sent again", (unsigned long long)engine_seq + 1,
            (unsigned long long)mark_seq);
    }
}

int checkpointer_already_sent(checkpointer *c, const struct alert *a)
{
    int held = 0;

    if (c == NULL || c->guard_upto == 0) {
        /* no guard */
    } else if (a->seq <= c->guard_upto && a->made_ms <= c->guard_ms) {
        held = 1;
        c->st.not_resent++;
        if (a->seq == c->guard_upto)
            c->guard_upto = 0; /* the last one it covers */
    } else {
        if (a->seq <= c->guard_upto)
            LOG(LOG_WARN, "checkpoint", "the events read again made other "
                "notifications than the first time (number %llu at %lld, "
                "the journal's last at %lld): sending from here on",
                (unsigned long long)a->seq, (long long)a->made_ms,
                (long long)c->guard_ms);
        c->guard_upto = 0;
    }
    return held;
}

void checkpointer_catchup_start(checkpointer *c, const char *until,
                                size_t len)
{
    if (len > sizeof c->until)
        len = sizeof c->until;
    memcpy(c->until, until, len);
    c->until_len = len;
    c->catching_up = 1;
    c->records_at_tick = UINT64_MAX;
}

int checkpointer_catching_up(const checkpointer *c)
{
    return c != NULL && c->catching_up;
}

static void catchup_end(checkpointer *c, const char *why)
{
    c->catching_up = 0;
    LOG(LOG_INFO, "checkpoint", "caught up (%s): the clock follows the "
        "wall clock again", why);
}

void checkpointer_catchup_event(checkpointer *c, const char *id, size_t len,
                                int64_t engine_now_ms, int64_t floor_ms)
{
    if (!c->catching_up)
        return;
    if (len == c->until_len && memcmp(id, c->until, len) == 0)
        catchup_end(c, "the events read before the restart are read again");
    else if (engine_now_ms >= floor_ms)
        catchup_end(c, "the events are as recent as the wall clock allows");
}

void checkpointer_catchup_tick(checkpointer *c, uint64_t records)
{
    if (!c->catching_up)
        return;
    if (records == c->records_at_tick)
        catchup_end(c, "no event for a second");
    else
        c->records_at_tick = records;
}

const struct checkpointer_stats *checkpointer_stats(const checkpointer *c)
{
    return &c->st;
}
