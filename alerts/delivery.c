/*
 * delivery.c - the outbox: per-sink queues over the journal, pacing,
 * retries, dead letters, and the in-place reconfiguration (delivery.h).
 * How a request is built and what an answer means is request.c's.
 *
 * Invariants:
 *  - every unacknowledged journal record of a configured sink is in its
 *    queue, in journal order: an entry in memory (at most queue_max of
 *    them), or spilled (in the journal only, counted, read back from
 *    spill_from on); entries submitted since the last flush are not
 *    sendable (`ready` = 0) until the journal is fsync'd, and a spilled
 *    one leaves memory only then;
 *  - the storm guard's digest of a window is journaled as it grows (one
 *    record, replaced: the previous one acknowledged), so what it counts
 *    is as durable as a notification; that record is never read back as
 *    part of a spill;
 *  - one attempt per sink at a time (the queue head), so a receiver sees
 *    a firing before its resolve; the head is removed only on OK, DROP or
 *    expiry, after the journal has recorded the outcome;
 *  - the webhook-id is derived from the notification and the sink, and is
 *    stored in the journal, so it is the same on every attempt and after
 *    a restart;
 *  - a stream position is put in the journal only when every notification
 *    queued so far is journaled (none is held in memory only), so that the
 *    position never claims events whose alerts a crash would lose;
 *  - every entry that is not durable in the journal (seq 0, or appended
 *    and not yet synced) is held by exactly one sink: a configured one, or
 *    a retired one (removed by a reconfiguration).  A retired sink sends
 *    nothing; it lets go of an entry once the entry is durable (it stays
 *    in the journal), and is freed when it holds none;
 *  - a sink's settings and what they need (struct sink_res: copied
 *    strings, signing keys, the file, the request) are built whole before
 *    they replace those in force; a request whose transfer is in flight is
 *    parked until that transfer ends, so its handle and buffers outlive it;
 *  - secrets (signing keys, routing keys, Slack URLs) are used only to
 *    build requests; logs and the dead-letter file name the sink instead,
 *    and the copies are wiped when freed.
 */
#include "alerts/delivery.h"

#include "alerts/journal.h"
#include "alerts/request.h"
#include "alerts/sign.h"
#include "base/backoff.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEAD_LETTER_FILE "dead-letter.ndjson"
#define ACK_SYNC_MS 1000       /* delivered acks are fsync'd this late */
#define LOCAL_BATCH 256        /* documents a file or stdout sink writes per
                                  loop turn, with one fdatasync */
#define READBACK_BATCH 1024    /* spilled entries a sink reads back from the
                                  journal per loop turn */
/* url, url_env, routing_key, path, the rule globs, the labels */
#define SINK_STRINGS (4 + SINK_MAX_RULES + 2 * SINK_MAX_LABELS)

struct entry {
    struct entry *next;
    uint64_t seq;              /* journal sequence; 0 when not journaled */
    int ready;                 /* may be sent: journal fsync'd, or the
                                  journal failed and memory is all we have */
    int synced;                /* durable in the journal */
    unsigned attempts;
    int64_t next_at;           /* monotonic ms */
    int64_t created_ms;        /* wall clock */
    char msg_id[SIGN_MSG_ID_SIZE];
    size_t len;
    char doc[];                /* the alert document */
};

/* A sink's settings and what they need, built before they are used. */
struct sink_res {
    struct sink_config cfg;    /* string members point into strings[];
                                  secrets are NULL (decoded into keys) */
    char *strings[SINK_STRINGS];
    size_t n_strings;
    sign_keys *keys;           /* webhook with signing secrets */
    int fd;                    /* file sink, else -1 */
    request *req;              /* network sinks */
};

struct sink_rt {
    delivery *d;
    char name[SINK_NAME_MAX];
    /* The queue, in order: head..tail in memory (at most the sink's
     * queue_max, sendable), then `spilled` entries in the journal only
     * (the first at or after journal sequence spill_from), then sp_head..
     * sp_tail: spilled entries not yet durable (appended since the last
     * sync, or held in memory only while the journal fails: those form
     * the list's end).  hi_seq is the highest journal sequence that has
     * been in memory here: the spill starts past it. */
    uint64_t spilled, spill_from, hi_seq;
    struct entry *sp_head, *sp_tail;
    uint64_t sp_n;
    /* storm guard: the window (wall clock), the notifications sent one by
     * one in it, the digest of the rest and its record in the journal */
    int64_t win_start;
    uint64_t win_sent;
    struct sink_digest dg;
    uint64_t dg_seq;
    struct sink_res r;         /* in force (freed when retired) */
    request *parked;           /* replaced by a reconfiguration while its
                                  transfer was in flight: freed when that
                                  transfer ends */
    struct loop_xfer xfer;
    struct entry *head, *tail;
    uint64_t depth;
    int in_flight;
    int disabled;
    int retired;               /* no longer configured */
    struct sink_rt *next_retired;
    double tokens;
    int64_t tokens_at;
    struct delivery_sink_stats st;
};

struct delivery {
    loop *lp;
    journal *j;
    char *state_dir;
    int dead_fd;
    int journal_ok;
    int dirty;                 /* appends or dead letters since the last
                                  sync: fsync at the next flush */
    int acks_dirty;            /* delivered acks written, not yet fsync'd */
    int64_t acks_sync_at;      /* monotonic: fsync them by then */
    uint64_t unjournaled;      /* entries held in memory only (seq 0) */
    struct entry **unsynced;   /* appended since the last sync */
    size_t n_unsynced, cap_unsynced;
    int64_t rejournal_at;      /* monotonic: next try to journal them */
    uint64_t max_pending;      /* a sink's queue_max when it has none */
    uint64_t pending;
    uint64_t max_journal;      /* the stream pauses at this many bytes */
    int blocked;               /* backpressure in force (hysteresis) */
    uint64_t submit_errors;    /* notifications that could not be queued */
    int64_t now_wall;          /* delivery_set_clock; 0: read the clock */
    char status_url[DELIVERY_STATUS_URL_MAX]; /* linked from digests; "" none */
    backoff_rng rng;
    struct sink_rt *sinks[DELIVERY_MAX_SINKS]; /* configured, in order */
    size_t n_sinks;
    struct sink_rt *retired;   /* removed sinks still holding entries */
};

/* ---- queues ------------------------------------------------------------- */

static struct entry *entry_new(const char *msg_id, int64_t created_ms,
                               const char *doc, size_t len)
{
    struct entry *e = malloc(sizeof *e + len + 1);

    if (e == NULL)
        return NULL;
    memset(e, 0, sizeof *e);
    snprintf(e->msg_id, sizeof e->msg_id, "%s", msg_id);
    e->created_ms = created_ms;
    e->len = len;
    memcpy(e->doc, doc, len);
    e->doc[len] = '\0';
    return e;
}

/* A list of entries: append at the tail, take from the head. */
static void list_append(struct entry **head, struct entry **tail,
                        struct entry *e)
{
    e->next = NULL;
    if (*tail != NULL)
        (*tail)->next = e;
    else
        *head = e;
    *tail = e;
}

static struct entry *list_take(struct entry **head, struct entry **tail)
{
    struct entry *e = *head;

    if (e == NULL)
        return NULL;
    *head = e->next;
    if (*head == NULL)
        *tail = NULL;
    e->next = NULL;
    return e;
}

static void push(struct sink_rt *s, struct entry *e)
{
    list_append(&s->head, &s->tail, e);
    s->depth++;
    if (e->seq > s->hi_seq)
        s->hi_seq = e->seq;
}

/* Append e to the not-yet-durable end of the spill. */
static void sp_push(struct sink_rt *s, struct entry *e)
{
    list_append(&s->sp_head, &s->sp_tail, e);
    s->sp_n++;
}

static struct entry *sp_pop(struct sink_rt *s)
{
    struct entry *e = list_take(&s->sp_head, &s->sp_tail);

    if (e != NULL)
        s->sp_n--;
    return e;
}

/* The notifications sink s holds in memory at most. */
static uint64_t mem_bound(const delivery *d, const struct sink_rt *s)
{
    return s->r.cfg.queue_max ? s->r.cfg.queue_max : d->max_pending;
}

/* Does new work for s go to the spill (its memory part is full, or
 * the spill has begun)? */
static int spilling(const delivery *d, const struct sink_rt *s)
{
    return s->spilled > 0 || s->sp_head != NULL || s->depth >= mem_bound(d, s);
}

static int64_t wall(const delivery *d)
{
    return d->now_wall != 0 ? d->now_wall : clock_wall_ms();
}

static struct entry *pop(struct sink_rt *s)
{
    struct entry *e = list_take(&s->head, &s->tail);

    if (e != NULL) {
        s->depth--;
        s->d->pending--;
    }
    return e;
}

static struct sink_rt *sink_by_name(struct sink_rt *const *sinks, size_t n,
                                    const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sinks[i]->name, name) == 0)
            return sinks[i];
    }
    return NULL;
}

static struct sink_rt *retired_by_name(const delivery *d, const char *name)
{
    for (struct sink_rt *s = d->retired; s != NULL; s = s->next_retired) {
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

/* ---- dead letters ------------------------------------------------------- */

/* Append the notification and the receiver's answer `a` to the dead-letter
 * file and acknowledge it in the journal.  Returns 0, or -1 when the file
 * could not be written (the notification then stays queued). */
static int dead_letter(delivery *d, struct sink_rt *s, struct entry *e,
                       const struct request_answer *a, const char *why)
{
    int rc = -1;
    char ts[32], num[64];
    buf line;

    buf_init(&line, e->len + REQUEST_RESPONSE_MAX * 6 + 4096);
    if (clock_format_iso8601(clock_wall_ms(), ts, sizeof ts) < 0)
        ts[0] = '\0';
    buf_append_str(&line, "{\"time\":");
    buf_append_json_string(&line, ts, strlen(ts));
    buf_append_str(&line, ",\"sink\":");
    buf_append_json_string(&line, s->name, strlen(s->name));
    buf_append_str(&line, ",\"webhook_id\":");
    buf_append_json_string(&line, e->msg_id, strlen(e->msg_id));
    buf_append_str(&line, ",\"reason\":");
    buf_append_json_string(&line, why, strlen(why));
    snprintf(num, sizeof num, ",\"attempts\":%u,\"status\":%ld", e->attempts,
             a->status);
    buf_append_str(&line, num);
    buf_append_str(&line, ",\"response\":");
    buf_append_json_string(&line, a->response, a->response_len);
    buf_append_str(&line, ",\"document\":");
    buf_append(&line, e->doc, e->len);
    buf_append_str(&line, "}\n");
    if (d->dead_fd < 0 ||
        file_write_all(d->dead_fd, line.data, line.len) != FILE_OK ||
        fsync(d->dead_fd) != 0) {
        LOG(LOG_ERROR, "delivery", "cannot write the dead-letter file: %s "
            "(notification %s for sink %s stays queued)", strerror(errno),
            e->msg_id, s->name);
        goto out;
    }
    if (e->seq != 0)
        journal_ack(d->j, e->seq, JOURNAL_RECORD_DEAD_LETTERED);
    s->st.dead_lettered++;
    snprintf(s->st.last_dead_letter, sizeof s->st.last_dead_letter, "%.*s",
             (int)sizeof s->st.last_dead_letter - 1, why);
    LOG_KEY(LOG_ERROR, "delivery", s->name,
        "sink %s: notification %s dead-lettered: %s", s->name, e->msg_id,
        why);
    rc = 0;
out:
    buf_free(&line);
    return rc;
}

/* ---- journal ------------------------------------------------------------ */

static int journal_put(delivery *d, struct sink_rt *s, struct entry *e)
{
    struct journal_record_entry je;
    int rc;

    if (d->j == NULL)
        return JOURNAL_EIO;
    je.sink = s->name;
    je.sink_len = strlen(s->name);
    je.msg_id = e->msg_id;
    je.msg_id_len = strlen(e->msg_id);
    je.created_ms = e->created_ms;
    je.body = e->doc;
    je.body_len = e->len;
    rc = journal_append(d->j, &je, &e->seq);
    if (rc == JOURNAL_OK) {
        d->dirty = 1;
    } else {
        int en = errno;

        e->seq = 0;
        if (d->journal_ok)
            LOG(LOG_ERROR, "delivery", "journal append failed: %s%s%s; "
                "notifications are held in memory until it works again",
                journal_strerror(rc), rc == JOURNAL_EIO ? ": " : "",
                rc == JOURNAL_EIO ? strerror(en) : "");
        d->journal_ok = 0;
    }
    return rc;
}

/* Remember an entry appended since the last sync. */
static int track_unsynced(delivery *d, struct entry *e)
{
    if (d->n_unsynced == d->cap_unsynced) {
        size_t cap = d->cap_unsynced ? d->cap_unsynced * 2 : 64;
        struct entry **p = realloc(d->unsynced, cap * sizeof *p);
        if (p == NULL)
            return DELIVERY_ENOMEM;
        d->unsynced = p;
        d->cap_unsynced = cap;
    }
    d->unsynced[d->n_unsynced++] = e;
    return DELIVERY_EOK;
}

/* Journal the entries of `s` held in memory only.  Returns 0, or -1 when
 * the journal failed again (stop for now). */
static int rejournal_list(delivery *d, struct sink_rt *s, struct entry *e)
{
    for (; e != NULL; e = e->next) {
        if (e->seq != 0)
            continue;
        if (journal_put(d, s, e) != JOURNAL_OK ||
            track_unsynced(d, e) != DELIVERY_EOK)
            return -1;
        d->unjournaled--;
    }
    return 0;
}

static int rejournal_sink(delivery *d, struct sink_rt *s)
{
    /* the spill's memory-only entries are its last: journaled in order,
     * they stay behind the spilled ones */
    if (rejournal_list(d, s, s->head) != 0)
        return -1;
    return rejournal_list(d, s, s->sp_head);
}

/* The spill's entries now durable in the journal leave memory: they are
 * read back from there as the sink drains.  Only a prefix of entries past
 * everything the sink has had in memory (hi_seq) goes: the rest keep
 * their order behind it. */
static void trim_spill(struct sink_rt *s)
{
    while (s->sp_head != NULL && s->sp_head->synced &&
           s->sp_head->seq > s->hi_seq) {
        struct entry *e = sp_pop(s);
        if (s->spilled == 0)
            s->spill_from = e->seq;
        s->spilled++;
        free(e);
    }
}

/* Notifications that could not be journaled: try again (once a second at
 * most, so a full disk is not hammered).  With none left but the journal
 * still marked failed, probe it the same way. */
static void rejournal(delivery *d)
{
    int64_t now = loop_now(d->lp);

    if (now < d->rejournal_at)
        return;
    if (d->unjournaled == 0) {
        /* Nothing is held in memory any more (it was delivered), but the
         * last write failed: until one succeeds the journal counts as not
         * writable (/readyz 503), and with no notification to journal none
         * would be tried.  Try a write that leaves every notification as it
         * is: a compaction (temp file, fsync, rename). */
        if (!d->journal_ok && d->j != NULL) {
            d->rejournal_at = now + 1000;
            if (journal_compact(d->j) == JOURNAL_OK) {
                LOG(LOG_INFO, "delivery", "journal writable again");
                d->journal_ok = 1;
            }
        }
        return;
    }
    d->rejournal_at = now + 1000;
    for (size_t i = 0; i < d->n_sinks; i++) {
        if (rejournal_sink(d, d->sinks[i]) != 0)
            return;
    }
    for (struct sink_rt *s = d->retired; s != NULL; s = s->next_retired) {
        if (rejournal_sink(d, s) != 0)
            return;
    }
}

/* Retired sinks let go of what is durable in the journal (it stays there,
 * unacknowledged) and are freed when they hold nothing more. */
static void prune_retired(delivery *d)
{
    struct sink_rt **pp = &d->retired;

    while (*pp != NULL) {
        struct sink_rt *s = *pp;
        struct entry **ep = &s->head, *last = NULL;

        while (*ep != NULL) {
            struct entry *e = *ep;
            if (e->seq != 0 && e->synced) {
                *ep = e->next;
                s->depth--;
                d->pending--;
                free(e);
            } else {
                last = e;
                ep = &e->next;
            }
        }
        s->tail = last;
        if (s->head == NULL) {
            *pp = s->next_retired;
            free(s);
        } else {
            pp = &s->next_retired;
        }
    }
}

int delivery_flush(delivery *d)
{
    int rc = DELIVERY_EOK, jrc;

    if (d == NULL)
        return DELIVERY_EINVAL;
    rejournal(d);
    if (!d->dirty &&
        !(d->acks_dirty && loop_now(d->lp) >= d->acks_sync_at))
        goto out;
    jrc = d->j != NULL ? journal_sync(d->j) : JOURNAL_EIO;
    d->dirty = 0;
    d->acks_dirty = 0;
    for (size_t i = 0; i < d->n_unsynced; i++) {
        struct entry *e = d->unsynced[i];
        if (jrc == JOURNAL_OK && e->seq != 0) {
            e->synced = 1;
        } else if (!e->synced) {
            /* the failed sync voided this append: memory only for now */
            e->seq = 0;
            d->unjournaled++;
        }
        e->ready = 1;
    }
    d->n_unsynced = 0;
    for (size_t i = 0; i < d->n_sinks; i++)
        trim_spill(d->sinks[i]);
    if (jrc != JOURNAL_OK) {
        if (d->journal_ok)
            LOG(LOG_ERROR, "delivery", "journal sync failed: %s; "
                "notifications are held in memory until it works again",
                journal_strerror(jrc));
        d->journal_ok = 0;
        rc = DELIVERY_EJOURNAL;
    } else if (!d->journal_ok && d->unjournaled == 0) {
        LOG(LOG_INFO, "delivery", "journal writable again");
        d->journal_ok = 1;
    }
    if (d->retired != NULL)
        prune_retired(d);
out:
    return rc;
}

int delivery_record_position(delivery *d, const char *id, size_t len,
                             uint64_t gen)
{
    return delivery_record_position_mark(d, id, len, gen, NULL);
}

int delivery_record_position_mark(delivery *d, const char *id, size_t len,
                                  uint64_t gen,
                                  const struct journal_mark *mark)
{
    int jrc;

    if (d == NULL || d->j == NULL || d->unjournaled > 0)
        return DELIVERY_EJOURNAL;
    jrc = journal_put_position_mark(d->j, gen, id, len, mark);
    if (jrc == JOURNAL_EINVAL || jrc == JOURNAL_ETOOBIG)
        return DELIVERY_EINVAL;
    if (jrc != JOURNAL_OK) {
        /* nothing was written; the notifications' own appends report a
         * failing journal, and the next flush finds out for certain */
        return DELIVERY_EJOURNAL;
    }
    d->dirty = 1;
    return DELIVERY_EOK;
}

uint64_t delivery_position(const delivery *d, const char **id, size_t *len)
{
    return journal_position(d != NULL ? d->j : NULL, id, len);
}

void delivery_position_mark(const delivery *d, struct journal_mark *out)
{
    journal_position_mark(d != NULL ? d->j : NULL, out);
}

/* ---- one attempt -------------------------------------------------------- */

/* An answer for an attempt that made no request (file and stdout sinks, a
 * notification that cannot be rendered). */
static void local_answer(struct request_answer *a, enum request_outcome o,
                         const char *what)
{
    memset(a, 0, sizeof *a);
    a->outcome = o;
    a->response = "";
    snprintf(a->error, sizeof a->error, "%s", what);
}

/* Remove the head: delivered or dead-lettered. */
static void finish_head(delivery *d, struct sink_rt *s)
{
    struct entry *e = pop(s);

    if (e == NULL)
        return;
    if (e->seq == 0 && e->ready)
        d->unjournaled -= d->unjournaled > 0;
    free(e);
}

static void schedule_retry(delivery *d, struct sink_rt *s, struct entry *e,
                           const struct request_answer *a)
{
    uint64_t delay = backoff_full_jitter_ms(s->r.cfg.retry_base_ms,
                                            s->r.cfg.retry_max_ms,
                                            e->attempts - 1,
                                            backoff_rng_next(&d->rng));

    if (delay < 100)
        delay = 100; /* full jitter may draw 0: never spin */
    if (a->has_retry_after && a->retry_after_ms > delay)
        delay = a->retry_after_ms;
    e->next_at = loop_now(d->lp) + (int64_t)delay;
    s->st.retries++;
    if (e->attempts == 1)
        s->st.retried++;
    LOG_KEY(LOG_WARN, "delivery", s->name,
        "sink %s: %s; retry %u in %llu ms%s", s->name, a->error,
        e->attempts, (unsigned long long)delay,
        a->has_retry_after ? " (Retry-After)" : "");
}

static int expired(const struct sink_rt *s, const struct entry *e)
{
    return clock_wall_ms() - e->created_ms >
           (int64_t)s->r.cfg.max_age_s * 1000;
}

/* The outcome of the head's attempt (network sinks and local files). */
static void settle(delivery *d, struct sink_rt *s,
                   const struct request_answer *a)
{
    struct entry *e = s->head;
    char why[sizeof a->error + 128];

    snprintf(s->st.last_error, sizeof s->st.last_error, "%.*s",
             (int)sizeof s->st.last_error - 1, a->error);
    if (a->outcome == REQUEST_OK) {
        s->st.delivered++;
        s->st.last_success_ms = clock_wall_ms();
        latency_observe(&s->st.latency,
                        s->st.last_success_ms - e->created_ms);
        s->st.last_error[0] = '\0';
        if (e->seq != 0) {
            /* written now, fsync'd with the next append or within
             * ACK_SYNC_MS: a lost ack only re-sends (same webhook-id), so
             * it does not cost each delivery an fsync of its own */
            journal_ack(d->j, e->seq, JOURNAL_RECORD_DELIVERED);
            if (!d->acks_dirty)
                d->acks_sync_at = loop_now(d->lp) + ACK_SYNC_MS;
            d->acks_dirty = 1;
        }
        finish_head(d, s);
        return;
    }
    s->st.last_failure_ms = clock_wall_ms();
    if (a->outcome == REQUEST_GONE) {
        s->disabled = 1;
        LOG_KEY(LOG_ERROR, "delivery", s->name,
            "sink %s answered 410 Gone: the sink is "
            "disabled until the configuration is reloaded; %llu "
            "notifications wait in the journal", s->name,
            (unsigned long long)s->depth);
        return;
    }
    if (a->outcome == REQUEST_RETRY && !expired(s, e)) {
        schedule_retry(d, s, e, a);
        return;
    }
    if (a->outcome == REQUEST_RETRY)
        snprintf(why, sizeof why, "gave up after %u attempts over %llu s: "
                 "%s", e->attempts, (unsigned long long)s->r.cfg.max_age_s,
                 a->error);
    else
        snprintf(why, sizeof why, "%s", a->error);
    if (dead_letter(d, s, e, a, why) != 0) {
        e->next_at = loop_now(d->lp) + 5000;
        return;
    }
    d->dirty = 1;
    finish_head(d, s);
}

static void on_http_done(void *ctx, CURL *easy, CURLcode rc)
{
    struct sink_rt *s = ctx;
    /* the request the transfer was made with: parked if a reconfiguration
     * replaced it meanwhile */
    request *req = s->parked != NULL ? s->parked : s->r.req;
    struct request_answer a;

    (void)easy;
    s->in_flight = 0;
    request_answer(req, rc, &a);
    s->st.last_status = a.status;
    if (s->head != NULL)
        settle(s->d, s, &a); /* a.response points into req */
    request_destroy(s->parked);
    s->parked = NULL;
}

/* Start the head's request.  Returns 0 when started, 1 when the head was
 * settled without a request (it cannot be rendered), -1 on a local error
 * (out of memory): the head stays and is tried again later. */
static int start_http(delivery *d, struct sink_rt *s, struct entry *e)
{
    struct request_answer a;
    int rc;

    rc = request_prepare(s->r.req, &s->r.cfg, s->r.keys, e->msg_id,
                         clock_wall_ms() / 1000, e->doc, e->len);
    if (rc == REQUEST_ERENDER) {
        local_answer(&a, REQUEST_DROP, "cannot render the notification");
        settle(d, s, &a);
        return 1;
    }
    if (rc != REQUEST_EOK)
        return -1;
    s->xfer.done = on_http_done;
    s->xfer.ctx = s;
    if (loop_add(d->lp, request_handle(s->r.req), &s->xfer) != LOOP_OK)
        return -1;
    s->in_flight = 1;
    return 0;
}

/* Token bucket: may a request start now? */
static int paced(struct sink_rt *s, int64_t now, int64_t *next)
{
    const struct sink_config *c = &s->r.cfg;
    double burst = c->burst ? (double)c->burst : 1.0;

    if (c->rate_per_s <= 0.0)
        return 1;
    s->tokens += (double)(now - s->tokens_at) * c->rate_per_s / 1000.0;
    if (s->tokens > burst)
        s->tokens = burst;
    s->tokens_at = now;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return 1;
    }
    *next = now + (int64_t)((1.0 - s->tokens) * 1000.0 / c->rate_per_s) + 1;
    return 0;
}

/* File and stdout sinks: the ready head of the queue, up to LOCAL_BATCH
 * documents, written and then made durable with one fdatasync (group
 * commit), so a burst neither costs an fsync per document nor holds the
 * loop for the whole queue.  A write that fails is retried (from the
 * document that failed); a failed fdatasync retries the whole batch (the
 * file may then hold a document twice, as after a crash).  Returns the
 * documents settled. */
static size_t write_local(delivery *d, struct sink_rt *s, int64_t now,
                          int64_t *next)
{
    int fd = s->r.cfg.kind == SINK_STDOUT ? 1 : s->r.fd;
    struct entry *e = s->head;
    struct request_answer a;
    size_t k = 0;
    int failed = 0;

    while (k < LOCAL_BATCH && e != NULL && e->ready) {
        int64_t when = now;
        if (e->next_at > now) {
            if (e->next_at < *next)
                *next = e->next_at;
            break;
        }
        if (!paced(s, now, &when)) {
            if (when < *next)
                *next = when;
            break;
        }
        e->attempts++;
        s->st.attempts++;
        if (fd < 0 || file_write_all(fd, e->doc, e->len) != FILE_OK ||
            file_write_all(fd, "\n", 1) != FILE_OK) {
            failed = 1;
            break;
        }
        k++;
        e = e->next;
    }
    if (k > 0 && s->r.cfg.kind == SINK_FILE && fdatasync(fd) != 0) {
        k = 0;
        failed = 1;
    }
    local_answer(&a, REQUEST_OK, "");
    for (size_t i = 0; i < k; i++)
        settle(d, s, &a);
    if (failed) {
        local_answer(&a, REQUEST_RETRY, "cannot write the file");
        settle(d, s, &a);
    }
    if (k == LOCAL_BATCH && s->head != NULL && s->head->ready)
        *next = now; /* more to write: at the next turn */
    return k + (size_t)failed;
}

/* ---- the spill: reading back ------------------------------------------- */

struct readback {
    delivery *d;
    struct sink_rt *s;
    uint64_t want, got;
    int oom;
};

/* journal_foreach_pending_from: the next spilled entry of r->s. */
static int readback_one(void *ud, uint64_t seq,
                        const struct journal_record_entry *je)
{
    struct readback *r = ud;
    struct sink_rt *s = r->s;
    char id[SIGN_MSG_ID_SIZE];
    struct entry *e;

    if (seq == s->dg_seq || je->sink_len != strlen(s->name) ||
        memcmp(je->sink, s->name, je->sink_len) != 0)
        return 0;
    snprintf(id, sizeof id, "%.*s", (int)je->msg_id_len, je->msg_id);
    e = entry_new(id, je->created_ms, je->body, je->body_len);
    if (e == NULL) {
        r->oom = 1;
        return 1;
    }
    e->seq = seq;
    e->ready = 1;
    e->synced = 1;
    e->next_at = loop_now(r->d->lp);
    push(s, e);
    s->spilled--;
    s->spill_from = seq + 1;
    r->got++;
    return r->got == r->want || s->spilled == 0;
}

/* Fill the memory part of s's queue up to its bound: from the journal
 * while entries are spilled there (at most READBACK_BATCH a turn), then
 * from the spill's not-yet-durable end. */
static void refill(delivery *d, struct sink_rt *s)
{
    uint64_t bound = mem_bound(d, s);
    int jrc;

    if (s->depth >= bound)
        return;
    if (s->spilled > 0 && d->j != NULL) {
        struct readback r = {.d = d, .s = s, .want = bound - s->depth};
        if (r.want > READBACK_BATCH)
            r.want = READBACK_BATCH; /* bounded work per loop turn */
        jrc = journal_foreach_pending_from(d->j, s->spill_from, readback_one,
                                           &r);
        if (jrc == JOURNAL_OK && s->spilled > 0) {
            /* the journal dropped them as damaged (logged there) */
            LOG_KEY(LOG_ERROR, "delivery", s->name, "sink %s: %llu "
                    "notifications spilled to the journal cannot be read "
                    "back (damaged): lost", s->name,
                    (unsigned long long)s->spilled);
            s->st.lost += s->spilled;
            d->pending -= s->spilled;
            s->spilled = 0;
        } else if (jrc < 0 || r.oom) {
            LOG_KEY(LOG_ERROR, "delivery", s->name, "sink %s: cannot read "
                    "its spilled notifications back from the journal: %s; "
                    "trying again", s->name,
                    r.oom ? "out of memory" : journal_strerror(jrc));
            return;
        }
    }
    while (s->spilled == 0 && s->sp_head != NULL && s->depth < bound)
        push(s, sp_pop(s));
}

/* ---- the storm guard ------------------------------------------------------ */

static int digest_msg_id(const struct sink_rt *s, char *out)
{
    char seed[128];
    int n = snprintf(seed, sizeof seed, "digest|%s|%lld", s->name,
                     (long long)s->win_start);

    if (n < 0 || sign_new_msg_id(out, seed, (size_t)n) != SIGN_OK)
        return -1;
    return 0;
}

/* The digest so far, as a document in *doc.  Returns 0 or -1. */
static int digest_doc(const delivery *d, const struct sink_rt *s, buf *doc,
                      char *msg_id)
{
    buf_init(doc, JOURNAL_RECORD_MAX_BODY);
    if (digest_msg_id(s, msg_id) != 0 ||
        sink_digest_document(&s->dg, s->name, d->status_url, doc) !=
            SINK_OK)
        return -1;
    return 0;
}

/* Journal the digest so far, replacing its previous record: the
 * notifications it counts are durable with it (same group commit). */
static void digest_journal(delivery *d, struct sink_rt *s)
{
    struct journal_record_entry je;
    char msg_id[SIGN_MSG_ID_SIZE];
    uint64_t seq = 0;
    buf doc;
    int rc = JOURNAL_EIO;

    if (digest_doc(d, s, &doc, msg_id) == 0 && d->j != NULL) {
        je.sink = s->name;
        je.sink_len = strlen(s->name);
        je.msg_id = msg_id;
        je.msg_id_len = strlen(msg_id);
        je.created_ms = wall(d);
        je.body = doc.data;
        je.body_len = doc.len;
        rc = journal_append(d->j, &je, &seq);
    }
    if (rc == JOURNAL_OK) {
        if (s->dg_seq != 0)
            journal_ack(d->j, s->dg_seq, JOURNAL_RECORD_DELIVERED);
        s->dg_seq = seq;
        d->dirty = 1;
    } else {
        LOG_KEY(LOG_ERROR, "delivery", s->name, "sink %s: the storm "
                "digest cannot be journaled (%s); it is held in memory "
                "until its window ends", s->name, journal_strerror(rc));
    }
    buf_free(&doc);
}

static void queue_entry(delivery *d, struct sink_rt *s, struct entry *e);

/* The window is over: its digest goes out as one notification. */
static void digest_close(delivery *d, struct sink_rt *s)
{
    char msg_id[SIGN_MSG_ID_SIZE];
    struct entry *e = NULL;
    buf doc;

    if (s->dg.count == 0)
        return;
    if (digest_doc(d, s, &doc, msg_id) == 0)
        e = entry_new(msg_id, wall(d), doc.data, doc.len);
    buf_free(&doc);
    if (e == NULL) {
        LOG_KEY(LOG_ERROR, "delivery", s->name, "sink %s: cannot build the "
                "storm digest of %llu notifications; trying again",
                s->name, (unsigned long long)s->dg.count);
        return;
    }
    queue_entry(d, s, e);
    /* its record so far gives way to the digest's own, unless that one is
     * held in memory only (then a restart sends the record, with the
     * same webhook-id) */
    if (e->seq != 0 && s->dg_seq != 0)
        journal_ack(d->j, s->dg_seq, JOURNAL_RECORD_DELIVERED);
    s->dg_seq = 0;
    s->st.digests++;
    LOG_KEY(LOG_WARN, "delivery", s->name, "sink %s: storm guard: %llu "
            "notifications past %llu in a minute go out as one digest",
            s->name, (unsigned long long)s->dg.count,
            (unsigned long long)s->r.cfg.digest_after);
    sink_digest_reset(&s->dg, 0);
}

/* Is the notification `doc` for s digested (counted in the window's
 * digest instead of sent alone)?  PagerDuty never is: one event per
 * episode, paced. */
static int digest_take(delivery *d, struct sink_rt *s, const char *doc,
                       size_t len)
{
    int64_t now = wall(d);

    if (s->r.cfg.digest_after == 0 || s->r.cfg.kind == SINK_PAGERDUTY)
        return 0;
    if (s->win_start == 0 || now >= s->win_start + sink_digest_window_ms(&s->r.cfg) ||
        now < s->win_start) {
        digest_close(d, s);
        s->win_start = now;
        s->win_sent = 0;
    }
    if (s->win_sent < s->r.cfg.digest_after) {
        s->win_sent++;
        return 0;
    }
    if (s->dg.count == 0) {
        sink_digest_reset(&s->dg, s->win_start);
        s->dg.window_ms = sink_digest_window_ms(&s->r.cfg);
    }
    sink_digest_add(&s->dg, doc, len);
    s->st.digested++;
    digest_journal(d, s);
    return 1;
}

/* ---- tick ----------------------------------------------------------------- */

int64_t delivery_tick(delivery *d)
{
    int64_t now, next, w;

    if (d == NULL)
        return INT64_MAX;
    now = loop_now(d->lp);
    next = now + 1000;
    w = wall(d);

    if (d->acks_dirty && d->acks_sync_at < next)
        next = d->acks_sync_at; /* delivery_flush() syncs them then */

    for (size_t i = 0; i < d->n_sinks; i++) {
        struct sink_rt *s = d->sinks[i];

        if (s->dg.count > 0) {
            int64_t end = s->win_start + s->dg.window_ms;
            if (w >= end)
                digest_close(d, s);
            else if (now + (end - w) < next)
                next = now + (end - w);
        }
        refill(d, s);
        if (s->r.cfg.kind == SINK_FILE || s->r.cfg.kind == SINK_STDOUT) {
            if (!s->disabled)
                write_local(d, s, now, &next);
            refill(d, s);
            continue;
        }
        while (!s->in_flight && !s->disabled && s->head != NULL &&
               s->head->ready) {
            struct entry *e = s->head;
            int64_t when = now;
            if (e->next_at > now) {
                if (e->next_at < next)
                    next = e->next_at;
                break;
            }
            if (!paced(s, now, &when)) {
                if (when < next)
                    next = when;
                break;
            }
            e->attempts++;
            s->st.attempts++;
            if (start_http(d, s, e) < 0)
                e->next_at = now + 1000; /* out of memory: try later */
            break;
        }
    }
    return next;
}

/* ---- submit ------------------------------------------------------------- */

/* Queue e (not yet journaled) for s: journaled (durable at the next
 * flush), in memory or spilled past the sink's bound; held in memory when
 * the journal fails. */
static void queue_entry(delivery *d, struct sink_rt *s, struct entry *e)
{
    int spill = spilling(d, s);

    e->next_at = loop_now(d->lp);
    if (spill && s->sp_tail != NULL && s->sp_tail->seq == 0) {
        /* memory-only entries end the spill: this one joins them, to be
         * journaled after them, in order */
        e->ready = 1;
        d->unjournaled++;
    } else if (journal_put(d, s, e) == JOURNAL_OK &&
               track_unsynced(d, e) == DELIVERY_EOK) {
        e->ready = 0;
    } else {
        e->seq = 0; /* appended but cannot be tracked: memory-only */
        e->ready = 1;
        d->unjournaled++;
    }
    if (spill)
        sp_push(s, e);
    else
        push(s, e);
    d->pending++;
}

int delivery_submit(delivery *d, const struct sink_route *route,
                    const char *id, int resolved, int64_t timestamp_ms,
                    const char *doc, size_t len)
{
    char seed[256], msg_id[SIGN_MSG_ID_SIZE];
    int queued = 0, rc = DELIVERY_EOK;

    if (d == NULL || route == NULL || len > JOURNAL_RECORD_MAX_BODY)
        return DELIVERY_EINVAL;
    for (size_t i = 0; i < d->n_sinks; i++) {
        struct sink_rt *s = d->sinks[i];
        struct entry *e;
        int n;
        if (!sink_routes(&s->r.cfg, route))
            continue;
        if (digest_take(d, s, doc, len)) {
            queued++;
            continue;
        }
        /* the id names the notification and the sink: stable across
         * attempts and restarts, distinct per receiver */
        n = snprintf(seed, sizeof seed, "%s|%s|%lld|%s", id,
                     resolved ? "resolved" : "firing",
                     (long long)timestamp_ms, s->name);
        e = NULL;
        if (n >= 0 && sign_new_msg_id(msg_id, seed, (size_t)n) == SIGN_OK)
            e = entry_new(msg_id, timestamp_ms, doc, len);
        if (e == NULL) {
            /* the one drop left: counted (/metrics) and logged */
            d->submit_errors++;
            s->st.submit_errors++;
            LOG_KEY(LOG_ERROR, "delivery", s->name, "sink %s: notification "
                    "%s cannot be queued (out of memory): dropped", s->name,
                    id);
            rc = DELIVERY_ENOMEM;
            continue;
        }
        queue_entry(d, s, e);
        queued++;
    }
    return rc != DELIVERY_EOK ? rc : queued;
}

/* ---- a sink's settings and resources ------------------------------------ */

static void sink_res_free(struct sink_res *r)
{
    request_destroy(r->req);
    sign_keys_destroy(r->keys);
    if (r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; i < r->n_strings; i++) {
        sodium_memzero(r->strings[i], strlen(r->strings[i]));
        free(r->strings[i]);
    }
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* Copy v (may be NULL) into r's strings; *out gets the copy.  Returns
 * DELIVERY_EOK or DELIVERY_ENOMEM. */
static int keep(struct sink_res *r, const char *v, const char **out)
{
    char *c;

    *out = NULL;
    if (v == NULL)
        return DELIVERY_EOK;
    if (r->n_strings == SINK_STRINGS || (c = strdup(v)) == NULL)
        return DELIVERY_ENOMEM;
    r->strings[r->n_strings++] = c;
    *out = c;
    return DELIVERY_EOK;
}

/* Build everything sink `c` needs into *r (all or nothing: on failure *r
 * is empty).  Returns DELIVERY_EOK, DELIVERY_EINVAL or DELIVERY_ENOMEM
 * with the reason in err (not NULL, errsz > 0). */
static int sink_res_build(struct sink_res *r, const struct sink_config *c,
                          char *err, size_t errsz)
{
    int rc = DELIVERY_ENOMEM, serr = 0;
    size_t bad = 0;

    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->cfg = *c;
    for (size_t i = 0; i < SINK_MAX_SECRETS; i++)
        r->cfg.secrets[i] = NULL; /* decoded below, never kept as text */
    r->cfg.n_secrets = 0;
    rc = keep(r, c->url, &r->cfg.url);
    rc = rc ? rc : keep(r, c->url_env, &r->cfg.url_env);
    rc = rc ? rc : keep(r, c->routing_key, &r->cfg.routing_key);
    rc = rc ? rc : keep(r, c->path, &r->cfg.path);
    for (size_t i = 0; i < c->n_rules && rc == DELIVERY_EOK; i++)
        rc = keep(r, c->rules[i], &r->cfg.rules[i]);
    for (size_t i = 0; i < c->n_labels && rc == DELIVERY_EOK; i++) {
        rc = keep(r, c->label_names[i], &r->cfg.label_names[i]);
        rc = rc ? rc : keep(r, c->label_values[i], &r->cfg.label_values[i]);
    }
    if (rc != DELIVERY_EOK) {
        snprintf(err, errsz, "sink %s: out of memory", c->name);
        goto out;
    }
    rc = DELIVERY_EINVAL;
    if (c->kind == SINK_FILE) {
        if (c->path == NULL) {
            snprintf(err, errsz, "sink %s: no path", c->name);
            goto out;
        }
        r->fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                     0600);
        if (r->fd < 0) {
            snprintf(err, errsz, "sink %s: cannot open %s: %s", c->name,
                     c->path, strerror(errno));
            goto out;
        }
    } else if (c->kind != SINK_STDOUT) {
        if (c->url == NULL) {
            snprintf(err, errsz, "sink %s: no URL", c->name);
            goto out;
        }
        if (c->kind == SINK_WEBHOOK && c->n_secrets > 0) {
            r->keys = sign_keys_create(c->secrets, c->n_secrets, &serr, &bad);
            if (r->keys == NULL) {
                snprintf(err, errsz, "sink %s: signing secret #%zu is "
                         "unusable: %s", c->name, bad + 1,
                         sign_strerror(serr));
                goto out;
            }
        }
        r->req = request_create(&r->cfg, &serr);
        if (r->req == NULL) {
            rc = serr == REQUEST_ENOMEM ? DELIVERY_ENOMEM : DELIVERY_EINVAL;
            snprintf(err, errsz, "sink %s: cannot set up its requests: %s",
                     c->name, request_strerror(serr));
            goto out;
        }
    }
    rc = DELIVERY_EOK;
out:
    if (rc != DELIVERY_EOK)
        sink_res_free(r);
    return rc;
}

/* Free a sink and everything it holds (a transfer in flight is removed
 * from the loop first). */
static void free_sink(delivery *d, struct sink_rt *s)
{
    struct entry *e;

    if (s == NULL)
        return;
    if (s->in_flight)
        loop_remove(d->lp, request_handle(s->parked != NULL ? s->parked
                                                            : s->r.req));
    request_destroy(s->parked);
    sink_res_free(&s->r);
    while ((e = s->head) != NULL) {
        s->head = e->next;
        free(e);
    }
    while ((e = sp_pop(s)) != NULL)
        free(e);
    free(s);
}

/* ---- the sink set: delivery_create and delivery_reconfigure ------------- */

/* What a reconfiguration builds before it swaps. */
struct plan {
    delivery *d;
    size_t n;
    const struct sink_config *cfg;       /* the new set */
    struct sink_res res[DELIVERY_MAX_SINKS];
    size_t n_res;                        /* res[0 .. n_res) are built */
    struct sink_rt *rt[DELIVERY_MAX_SINKS];    /* where sink i goes */
    struct sink_rt *fresh[DELIVERY_MAX_SINKS]; /* allocated for it */
    int added[DELIVERY_MAX_SINKS];       /* not configured now */
    struct entry *head[DELIVERY_MAX_SINKS], *tail[DELIVERY_MAX_SINKS];
    uint64_t loaded[DELIVERY_MAX_SINKS]; /* entries read from the journal */
    uint64_t spilled[DELIVERY_MAX_SINKS]; /* past the bound: left there */
    uint64_t spill_from[DELIVERY_MAX_SINKS];
    int at_start;                        /* delivery_create */
    int oom;
};

static int in_plan(const struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->cfg[i].name, name) == 0)
            return 1;
    }
    return 0;
}

/* Does retired sink s hold the journal record seq in memory? */
static int holds(const struct sink_rt *s, uint64_t seq)
{
    for (const struct entry *e = s->head; e != NULL; e = e->next) {
        if (e->seq == seq)
            return 1;
    }
    return 0;
}

/* journal_foreach_pending: queue a journaled notification for an added
 * sink. */
static int load_pending(void *ud, uint64_t seq,
                        const struct journal_record_entry *je)
{
    struct plan *p = ud;
    char id[SIGN_MSG_ID_SIZE];
    struct entry *e;
    size_t i;

    for (i = 0; i < p->n; i++) {
        if (strlen(p->cfg[i].name) == je->sink_len &&
            memcmp(p->cfg[i].name, je->sink, je->sink_len) == 0)
            break;
    }
    snprintf(id, sizeof id, "%.*s", (int)je->msg_id_len, je->msg_id);
    if (i == p->n) {
        if (p->at_start)
            LOG(LOG_WARN, "delivery", "journal holds notification %s for "
                "sink %.*s, which is no longer configured: it stays in the "
                "journal", id, (int)(je->sink_len < SINK_NAME_MAX
                                         ? je->sink_len
                                         : SINK_NAME_MAX - 1),
                je->sink);
        return 0;
    }
    if (!p->added[i] || (p->fresh[i] == NULL && holds(p->rt[i], seq)))
        return 0; /* already queued, or held in memory */
    if (p->spilled[i] > 0 ||
        p->loaded[i] >= (p->cfg[i].queue_max ? p->cfg[i].queue_max
                                             : p->d->max_pending)) {
        /* past the sink's bound: stays in the journal, read back later */
        if (p->spilled[i]++ == 0)
            p->spill_from[i] = seq;
        return 0;
    }
    e = entry_new(id, je->created_ms, je->body, je->body_len);
    if (e == NULL) {
        p->oom = 1;
        return 1;
    }
    e->seq = seq;
    e->ready = 1;
    e->synced = 1;
    e->next_at = loop_now(p->d->lp);
    if (p->tail[i] != NULL)
        p->tail[i]->next = e;
    else
        p->head[i] = e;
    p->tail[i] = e;
    p->loaded[i]++;
    return 0;
}

/* Build every part of the new set; nothing visible changes.  Returns
 * DELIVERY_EOK or an error with the reason in err; plan_free() frees what
 * was built either way. */
static int plan_build(struct plan *p, char *err, size_t errsz)
{
    delivery *d = p->d;
    int rc = DELIVERY_EINVAL, any_added = 0, jrc;

    if (p->n > DELIVERY_MAX_SINKS || (p->cfg == NULL && p->n > 0)) {
        snprintf(err, errsz, "at most %d sinks, got %zu", DELIVERY_MAX_SINKS,
                 p->n);
        goto out;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->cfg[i].name[0] == '\0') {
            snprintf(err, errsz, "sinks[%zu]: no name", i);
            goto out;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->cfg[k].name, p->cfg[i].name) == 0) {
                snprintf(err, errsz, "two sinks named %s", p->cfg[i].name);
                goto out;
            }
        }
    }
    for (; p->n_res < p->n; p->n_res++) {
        rc = sink_res_build(&p->res[p->n_res], &p->cfg[p->n_res], err,
                            errsz);
        if (rc != DELIVERY_EOK)
            goto out;
    }
    rc = DELIVERY_ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        const char *name = p->cfg[i].name;
        p->rt[i] = sink_by_name(d->sinks, d->n_sinks, name);
        if (p->rt[i] != NULL)
            continue;
        p->added[i] = any_added = 1;
        p->rt[i] = retired_by_name(d, name);
        if (p->rt[i] == NULL) {
            p->rt[i] = p->fresh[i] = calloc(1, sizeof *p->fresh[i]);
            if (p->fresh[i] == NULL) {
                snprintf(err, errsz, "sink %s: out of memory", name);
                goto out;
            }
        }
    }
    if (any_added) {
        jrc = journal_foreach_pending(d->j, load_pending, p);
        if (p->oom) {
            snprintf(err, errsz, "out of memory reading the journal");
            goto out;
        }
        if (jrc != JOURNAL_OK) {
            rc = DELIVERY_EJOURNAL;
            snprintf(err, errsz, "cannot read the journal: %s",
                     journal_strerror(jrc));
            goto out;
        }
    }
    rc = DELIVERY_EOK;
out:
    return rc;
}

/* Free what a plan still owns (after a failure: everything built). */
static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n_res; i++)
        sink_res_free(&p->res[i]);
    for (size_t i = 0; i < p->n && i < DELIVERY_MAX_SINKS; i++) {
        struct entry *e;
        while ((e = p->head[i]) != NULL) {
            p->head[i] = e->next;
            free(e);
        }
        free(p->fresh[i]);
    }
}

/* A sink the new set does not have: stop sending to it, free its
 * settings; what it holds that is not durable in the journal stays until
 * it is (prune_retired). */
static void retire(delivery *d, struct sink_rt *s)
{
    uint64_t memory = 0;
    struct entry *e;

    if (s->in_flight) {
        loop_remove(d->lp, request_handle(s->parked != NULL ? s->parked
                                                            : s->r.req));
        s->in_flight = 0;
    }
    request_destroy(s->parked);
    s->parked = NULL;
    sink_res_free(&s->r);
    s->retired = 1;
    s->disabled = 0;
    /* what it spilled stays in the journal; the spill's end, not yet
     * durable, is held like the rest until it is */
    d->pending -= s->spilled;
    s->spilled = 0;
    while ((e = sp_pop(s)) != NULL) {
        list_append(&s->head, &s->tail, e);
        s->depth++;
    }
    if (s->dg.count > 0)
        LOG(LOG_WARN, "delivery", "sink %s removed during a storm: its "
            "digest of %llu notifications stays in the journal", s->name,
            (unsigned long long)s->dg.count);
    sink_digest_reset(&s->dg, 0);
    s->dg_seq = 0;
    s->win_start = 0;
    s->next_retired = d->retired;
    d->retired = s;
    for (const struct entry *x = s->head; x != NULL; x = x->next)
        memory += x->seq == 0;
    LOG(LOG_INFO, "delivery", "sink %s removed: %llu unacknowledged "
        "notification(s) stay in the journal (sent if the sink is "
        "configured again), %llu held in memory until the journal takes "
        "them", s->name, (unsigned long long)(s->depth - memory),
        (unsigned long long)memory);
}

/* Put the built settings *res in force on s (kept, revived or new). */
static void install(delivery *d, struct sink_rt *s, struct sink_res *res)
{
    struct sink_res old = s->r;

    if (s->in_flight && s->parked == NULL) {
        s->parked = old.req; /* its transfer ends with the old settings */
        old.req = NULL;
    }
    s->r = *res;
    res->req = NULL;
    res->keys = NULL;
    res->fd = -1;
    res->n_strings = 0;
    sink_res_free(&old);
    snprintf(s->name, sizeof s->name, "%s", s->r.cfg.name);
    s->st.kind = s->r.cfg.kind;
    s->disabled = 0;
    if (s->head != NULL && !s->in_flight)
        s->head->next_at = loop_now(d->lp);
}

/* The swap: cannot fail. */
static void plan_commit(struct plan *p)
{
    delivery *d = p->d;
    size_t kept = 0, added = 0, removed = 0;

    for (size_t k = 0; k < d->n_sinks; k++) {
        if (!in_plan(p, d->sinks[k]->name)) {
            retire(d, d->sinks[k]);
            removed++;
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        struct sink_rt *s = p->rt[i];
        struct entry *held;

        if (p->fresh[i] != NULL) {
            s->d = d;
            s->r.fd = -1; /* nothing to free in install() */
            s->tokens = p->res[i].cfg.burst ? (double)p->res[i].cfg.burst
                                            : 1.0;
            s->tokens_at = loop_now(d->lp);
            p->fresh[i] = NULL;
        } else if (s->retired) {
            struct sink_rt **pp = &d->retired;
            while (*pp != s)
                pp = &(*pp)->next_retired;
            *pp = s->next_retired;
            s->next_retired = NULL;
            s->retired = 0;
        }
        kept += !p->added[i];
        added += p->added[i];
        install(d, s, &p->res[i]);
        /* the journal's notifications first, then what was held in memory
         * (a sink that comes back) */
        held = s->head;
        if (p->spilled[i] > 0 && held != NULL) {
            /* behind the spill: they keep their place after it */
            s->head = s->tail = NULL;
            s->depth = 0;
            while (held != NULL) {
                struct entry *nx = held->next;
                held->next = NULL;
                sp_push(s, held);
                held = nx;
            }
        }
        s->head = p->head[i];
        if (p->tail[i] != NULL)
            p->tail[i]->next = held;
        else
            s->head = held;
        if (held == NULL)
            s->tail = p->tail[i];
        s->depth += p->loaded[i];
        for (struct entry *e = p->head[i]; e != NULL && e != held;
             e = e->next)
            s->hi_seq = e->seq > s->hi_seq ? e->seq : s->hi_seq;
        if (p->spilled[i] > 0) {
            s->spilled = p->spilled[i];
            s->spill_from = p->spill_from[i];
        }
        d->pending += p->loaded[i] + p->spilled[i];
        p->head[i] = p->tail[i] = NULL;
        d->sinks[i] = s;
    }
    d->n_sinks = p->n;
    p->n_res = 0; /* every res is in force now */
    if (!p->at_start)
        LOG(LOG_INFO, "delivery", "sinks reconfigured: %zu kept, %zu "
            "added, %zu removed", kept, added, removed);
    prune_retired(d);
}

static int reconfigure(delivery *d, const struct sink_config *sinks,
                       size_t n, int at_start, char *err, size_t errsz)
{
    struct plan *p = calloc(1, sizeof *p);
    int rc = DELIVERY_ENOMEM;

    err[0] = '\0';
    if (p == NULL) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    p->d = d;
    p->n = n;
    p->cfg = sinks;
    p->at_start = at_start;
    rc = plan_build(p, err, errsz);
    if (rc == DELIVERY_EOK)
        plan_commit(p);
out:
    if (p != NULL)
        plan_free(p);
    free(p);
    return rc;
}

int delivery_reconfigure(delivery *d, const struct sink_config *sinks,
                         size_t n, char *err, size_t errsz)
{
    char why[512];
    int rc;

    if (d == NULL) {
        rc = DELIVERY_EINVAL;
        snprintf(why, sizeof why, "no outbox");
    } else {
        rc = reconfigure(d, sinks, n, 0, why, sizeof why);
    }
    if (rc != DELIVERY_EOK)
        LOG(LOG_ERROR, "delivery", "the new sinks cannot be set up (%s); "
            "the sinks in force stay", why);
    if (err != NULL && errsz > 0)
        snprintf(err, errsz, "%s", rc == DELIVERY_EOK ? "" : why);
    return rc;
}

delivery *delivery_create(loop *lp, const struct delivery_options *opts,
                          const struct sink_config *sinks, size_t n_sinks)
{
    delivery *d = calloc(1, sizeof *d);
    struct journal_options jo;
    char path[4096], err[512];
    int jerr = 0;

    if (d == NULL || opts->state_dir == NULL ||
        n_sinks > DELIVERY_MAX_SINKS)
        goto fail;
    d->lp = lp;
    d->dead_fd = -1;
    d->journal_ok = 1;
    d->max_pending = opts->max_pending ? opts->max_pending
                                       : SINK_DEFAULT_QUEUE_MAX;
    d->max_journal = opts->max_journal_bytes ? opts->max_journal_bytes
                                             : JOURNAL_DEFAULT_MAX_PENDING_BYTES;
    backoff_rng_seed(&d->rng, (uint64_t)clock_wall_ms() ^
                                  ((uint64_t)getpid() << 20));
    d->state_dir = strdup(opts->state_dir);
    if (d->state_dir == NULL)
        goto fail;
    delivery_set_status_url(d, opts->status_url);
    memset(&jo, 0, sizeof jo);
    /* the journal takes what it is given: the limit is enforced before,
     * by pausing the stream (delivery_backpressure), so the event in
     * progress still has its notifications journaled */
    jo.max_pending_bytes = UINT64_MAX / 4;
    d->j = journal_open(d->state_dir, &jo, &jerr);
    if (d->j == NULL) {
        int e = errno;

        LOG(LOG_ERROR, "delivery", "cannot open the journal in %s: %s%s%s",
            d->state_dir, journal_strerror(jerr),
            jerr == JOURNAL_EIO ? ": " : "",
            jerr == JOURNAL_EIO ? strerror(e) : "");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/" DEAD_LETTER_FILE, d->state_dir);
    d->dead_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (d->dead_fd < 0) {
        LOG(LOG_ERROR, "delivery", "cannot open %s: %s", path,
            strerror(errno));
        goto fail;
    }
    /* the sinks, and the journal's notifications for them */
    if (reconfigure(d, sinks, n_sinks, 1, err, sizeof err) != DELIVERY_EOK) {
        LOG(LOG_ERROR, "delivery", "%s", err);
        goto fail;
    }
    if (d->pending > 0)
        LOG(LOG_INFO, "delivery", "%llu unacknowledged notifications from "
            "the journal queued again", (unsigned long long)d->pending);
    return d;
fail:
    delivery_destroy(d);
    return NULL;
}

void delivery_set_status_url(delivery *d, const char *url)
{
    size_t n = url != NULL ? strlen(url) : 0;

    if (n >= sizeof d->status_url)
        n = 0; /* too long to link whole: no link */
    memcpy(d->status_url, url != NULL ? url : "", n);
    d->status_url[n] = '\0';
}

void delivery_destroy(delivery *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_sinks; i++)
        free_sink(d, d->sinks[i]);
    while (d->retired != NULL) {
        struct sink_rt *s = d->retired;
        d->retired = s->next_retired;
        free_sink(d, s);
    }
    if (d->j != NULL) {
        journal_sync(d->j);
        journal_close(d->j);
    }
    if (d->dead_fd >= 0)
        close(d->dead_fd);
    free(d->unsynced);
    free(d->state_dir);
    free(d);
}

/* ---- introspection ------------------------------------------------------ */

uint64_t delivery_pending(const delivery *d)
{
    return d != NULL ? d->pending : 0;
}

int delivery_in_flight(const delivery *d)
{
    int n = 0;

    for (size_t i = 0; d != NULL && i < d->n_sinks; i++)
        n += d->sinks[i]->in_flight;
    return n;
}

int delivery_journal_ok(const delivery *d)
{
    return d != NULL && d->journal_ok && d->j != NULL &&
           journal_writable(d->j);
}

size_t delivery_sink_count(const delivery *d)
{
    return d != NULL ? d->n_sinks : 0;
}

void delivery_sink_stats(const delivery *d, size_t i,
                         struct delivery_sink_stats *out)
{
    const struct sink_rt *s = d->sinks[i];

    *out = s->st;
    out->name = s->name;
    out->kind = s->r.cfg.kind;
    out->queued = s->depth + s->sp_n + s->spilled;
    out->in_memory = s->depth + s->sp_n;
    out->spilled = s->spilled;
    out->in_flight = s->in_flight;
    out->disabled = s->disabled;
}

void delivery_set_clock(delivery *d, int64_t wall_ms)
{
    if (d != NULL)
        d->now_wall = wall_ms;
}

uint64_t delivery_submit_errors(const delivery *d)
{
    return d != NULL ? d->submit_errors : 0;
}

int delivery_backpressure(delivery *d, char *why, size_t whysz)
{
    struct journal_stats st;

    if (why != NULL && whysz > 0)
        why[0] = '\0';
    if (d == NULL || d->j == NULL)
        return 0;
    journal_get_stats(d->j, &st);
    if (!d->blocked && st.pending_bytes >= d->max_journal) {
        d->blocked = 1;
        LOG(LOG_ERROR, "delivery", "the journal holds %llu bytes of "
            "undelivered notifications, its limit (%llu): the stream "
            "pauses until the sinks drain it", (unsigned long long)
            st.pending_bytes, (unsigned long long)d->max_journal);
    } else if (d->blocked &&
               st.pending_bytes < d->max_journal - d->max_journal / 8) {
        d->blocked = 0;
        LOG(LOG_INFO, "delivery", "the journal holds %llu bytes of "
            "undelivered notifications: the stream resumes",
            (unsigned long long)st.pending_bytes);
    }
    if (d->blocked && why != NULL && whysz > 0)
        snprintf(why, whysz, "backpressure: the alert journal is full "
                 "(%llu of %llu bytes undelivered); the stream is paused "
                 "until the sinks drain it", (unsigned long long)
                 st.pending_bytes, (unsigned long long)d->max_journal);
    return d->blocked;
}

const char *delivery_strerror(int rc)
{
    switch (rc) {
    case DELIVERY_EOK:
        return "ok";
    case DELIVERY_ENOMEM:
        return "out of memory";
    case DELIVERY_EINVAL:
        return "invalid argument or sink settings";
    case DELIVERY_EJOURNAL:
        return "the journal cannot be written or read";
    }
    return "unknown delivery error";
}
