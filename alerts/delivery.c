/*
 * delivery.c - the outbox: journal, per-sink queues, pacing, retries,
 * dead letters.
 *
 * Invariants:
 *  - a queue entry exists for every unacknowledged journal record of a
 *    configured sink, in journal order; entries submitted since the last
 *    flush are not sendable (`ready` = 0) until the journal is fsync'd;
 *  - one transfer per sink at a time (the queue head), so a receiver sees
 *    a firing before its resolve; the head is removed only on OK, DROP or
 *    expiry, after the journal has recorded the outcome;
 *  - the webhook-id is derived from the notification and the sink, and is
 *    stored in the journal, so it is the same on every attempt and after
 *    a restart;
 *  - a stream position is put in the journal only when every notification
 *    queued so far is journaled (none is held in memory only), so that the
 *    position never claims events whose alerts a crash would lose;
 *  - secrets (signing keys, routing keys, Slack URLs) are used only to
 *    build requests; logs and the dead-letter file name the sink instead.
 */
#include "alerts/delivery.h"

#include "alerts/journal.h"
#include "model/event.h"
#include "alerts/sign.h"
#include "base/backoff.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif

#define RETRY_AFTER_MAX_MS (3600u * 1000u)
#define DEAD_LETTER_FILE "dead-letter.ndjson"
#define ACK_SYNC_MS 1000       /* delivered acks are fsync'd this late */

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

struct sink_rt {
    delivery *d;
    struct sink_config cfg;    /* string members point into `strings` */
    char *strings[8 + SINK_MAX_DETECTORS];
    size_t n_strings;
    sign_keys *keys;
    int fd;                    /* file sink */
    CURL *easy;
    struct curl_slist *hdrs;
    struct loop_xfer xfer;
    struct entry *head, *tail;
    uint64_t depth;
    int in_flight;
    int disabled;
    double tokens;
    int64_t tokens_at;
    buf body;
    buf resp;
    long status;
    int has_retry_after;
    uint64_t retry_after_ms;
    char errbuf[CURL_ERROR_SIZE];
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
    uint64_t max_pending;
    uint64_t pending;
    backoff_rng rng;
    struct sink_rt sinks[DELIVERY_MAX_SINKS];
    size_t n_sinks;
};

/* ---- classification ---------------------------------------------------- */

enum delivery_outcome delivery_classify(CURLcode rc, long status)
{
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
        return DELIVERY_DROP;
    if (rc != CURLE_OK)
        return DELIVERY_RETRY;
    if (status >= 200 && status < 300)
        return DELIVERY_OK;
    if (status == 408 || status == 429 || status >= 500 || status == 0)
        return DELIVERY_RETRY;
    if (status == 410)
        return DELIVERY_GONE;
    return DELIVERY_DROP;
}

const char *delivery_outcome_name(enum delivery_outcome o)
{
    switch (o) {
    case DELIVERY_OK:
        return "delivered";
    case DELIVERY_RETRY:
        return "retry";
    case DELIVERY_DROP:
        return "dead_lettered";
    case DELIVERY_GONE:
        return "gone";
    }
    return "unknown";
}

/* ---- queues ---------------------------------------------------------------- */

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

static void push(struct sink_rt *s, struct entry *e)
{
    if (s->tail != NULL)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
    s->depth++;
    s->d->pending++;
}

static struct entry *pop(struct sink_rt *s)
{
    struct entry *e = s->head;

    if (e == NULL)
        return NULL;
    s->head = e->next;
    if (s->head == NULL)
        s->tail = NULL;
    s->depth--;
    s->d->pending--;
    return e;
}

static struct sink_rt *sink_by_name(delivery *d, const char *name)
{
    for (size_t i = 0; i < d->n_sinks; i++) {
        if (strcmp(d->sinks[i].cfg.name, name) == 0)
            return &d->sinks[i];
    }
    return NULL;
}

/* ---- dead letters ------------------------------------------------------- */

/* Append the notification and the receiver's answer to the dead-letter
 * file and acknowledge it in the journal.  Returns 0, or -1 when the file
 * could not be written (the notification then stays queued). */
static int dead_letter(delivery *d, struct sink_rt *s, struct entry *e,
                       const char *why)
{
    int rc = -1;
    char ts[32];
    buf line;
    ssize_t w;

    buf_init(&line, e->len + DELIVERY_RESPONSE_MAX * 6 + 4096);
    if (clock_format_iso8601(clock_wall_ms(), ts, sizeof ts) < 0)
        ts[0] = '\0';
    buf_append_str(&line, "{\"time\":");
    buf_append_json_string(&line, ts, strlen(ts));
    buf_append_str(&line, ",\"sink\":");
    buf_append_json_string(&line, s->cfg.name, strlen(s->cfg.name));
    buf_append_str(&line, ",\"webhook_id\":");
    buf_append_json_string(&line, e->msg_id, strlen(e->msg_id));
    buf_append_str(&line, ",\"reason\":");
    buf_append_json_string(&line, why, strlen(why));
    {
        char num[64];
        snprintf(num, sizeof num, ",\"attempts\":%u,\"status\":%ld",
                 e->attempts, s->status);
        buf_append_str(&line, num);
    }
    buf_append_str(&line, ",\"response\":");
    buf_append_json_string(&line, s->resp.data ? s->resp.data : "",
                           s->resp.len);
    buf_append_str(&line, ",\"document\":");
    buf_append(&line, e->doc, e->len);
    buf_append_str(&line, "}\n");
    w = d->dead_fd >= 0 ? write(d->dead_fd, line.data, line.len) : -1;
    if (w != (ssize_t)line.len || fsync(d->dead_fd) != 0) {
        LOG(LOG_ERROR, "delivery", "cannot write the dead-letter file: %s "
            "(notification %s for sink %s stays queued)", strerror(errno),
            e->msg_id, s->cfg.name);
        goto out;
    }
    if (e->seq != 0)
        journal_ack(d->j, e->seq, JOURNAL_RECORD_DEAD_LETTERED);
    s->st.dead_lettered++;
    LOG(LOG_ERROR, "delivery", "sink %s: notification %s dead-lettered: %s",
        s->cfg.name, e->msg_id, why);
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
    je.sink = s->cfg.name;
    je.sink_len = strlen(s->cfg.name);
    je.msg_id = e->msg_id;
    je.msg_id_len = strlen(e->msg_id);
    je.created_ms = e->created_ms;
    je.body = e->doc;
    je.body_len = e->len;
    rc = journal_append(d->j, &je, &e->seq);
    if (rc == JOURNAL_OK) {
        d->dirty = 1;
    } else {
        e->seq = 0;
        if (d->journal_ok)
            LOG(LOG_ERROR, "delivery", "journal append failed: %s; "
                "notifications are held in memory until it works again",
                journal_strerror(rc));
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
        struct sink_rt *s = &d->sinks[i];
        for (struct entry *e = s->head; e != NULL; e = e->next) {
            if (e->seq != 0)
                continue;
            if (journal_put(d, s, e) != JOURNAL_OK ||
                track_unsynced(d, e) != DELIVERY_EOK)
                return;
            d->unjournaled--;
        }
    }
}

int delivery_flush(delivery *d)
{
    int rc = DELIVERY_EOK, jrc;

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
out:
    return rc;
}

int delivery_record_position(delivery *d, const char *id, size_t len,
                             uint64_t gen)
{
    int jrc;

    if (d == NULL || d->j == NULL || d->unjournaled > 0)
        return DELIVERY_EJOURNAL;
    jrc = journal_put_position(d->j, gen, id, len);
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

/* ---- one attempt ----------------------------------------------------------- */

static size_t on_resp_body(char *p, size_t size, size_t n, void *ud)
{
    struct sink_rt *s = ud;
    size_t len = size * n, room = DELIVERY_RESPONSE_MAX - s->resp.len;

    buf_append(&s->resp, p, len < room ? len : room);
    return len;
}

static size_t on_resp_header(char *line, size_t size, size_t n, void *ud)
{
    static const char name[] = "retry-after:";
    struct sink_rt *s = ud;
    size_t len = size * n, k = sizeof name - 1;

    if (len > k && strncasecmp(line, name, k) == 0) {
        size_t vlen = len - k;
        const char *v = line + k;
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        s->has_retry_after =
            backoff_parse_retry_after(v, vlen, clock_wall_ms(),
                                      RETRY_AFTER_MAX_MS,
                                      &s->retry_after_ms) == BACKOFF_OK;
    }
    return len;
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
                           const char *what)
{
    uint64_t delay = backoff_full_jitter_ms(s->cfg.retry_base_ms,
                                            s->cfg.retry_max_ms,
                                            e->attempts - 1,
                                            backoff_rng_next(&d->rng));

    if (delay < 100)
        delay = 100; /* full jitter may draw 0: never spin */
    if (s->has_retry_after && s->retry_after_ms > delay)
        delay = s->retry_after_ms;
    e->next_at = loop_now(d->lp) + (int64_t)delay;
    s->st.retries++;
    LOG(LOG_WARN, "delivery", "sink %s: %s; retry %u in %llu ms%s",
        s->cfg.name, what, e->attempts, (unsigned long long)delay,
        s->has_retry_after ? " (Retry-After)" : "");
}

static int expired(const struct sink_rt *s, const struct entry *e)
{
    return clock_wall_ms() - e->created_ms >
           (int64_t)s->cfg.max_age_s * 1000;
}

/* The outcome of the head's attempt (network sinks and local files). */
static void settle(delivery *d, struct sink_rt *s, enum delivery_outcome o,
                   const char *what)
{
    struct entry *e = s->head;
    char why[CURL_ERROR_SIZE + 128];

    snprintf(s->st.last_error, sizeof s->st.last_error, "%s", what);
    if (o == DELIVERY_OK) {
        s->st.delivered++;
        s->st.last_success_ms = clock_wall_ms();
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
    if (o == DELIVERY_GONE) {
        s->disabled = 1;
        LOG(LOG_ERROR, "delivery", "sink %s answered 410 Gone: the sink is "
            "disabled until the configuration is reloaded; %llu "
            "notifications wait in the journal", s->cfg.name,
            (unsigned long long)s->depth);
        return;
    }
    if (o == DELIVERY_RETRY && !expired(s, e)) {
        schedule_retry(d, s, e, what);
        return;
    }
    if (o == DELIVERY_RETRY)
        snprintf(why, sizeof why, "gave up after %u attempts over %llu s: "
                 "%s", e->attempts, (unsigned long long)s->cfg.max_age_s,
                 what);
    else
        snprintf(why, sizeof why, "%s", what);
    if (dead_letter(d, s, e, why) != 0) {
        e->next_at = loop_now(d->lp) + 5000;
        return;
    }
    d->dirty = 1;
    finish_head(d, s);
}

static void on_http_done(void *ctx, CURL *easy, CURLcode rc)
{
    struct sink_rt *s = ctx;
    delivery *d = s->d;
    enum delivery_outcome o;
    char what[CURL_ERROR_SIZE + 32];

    s->in_flight = 0;
    s->status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &s->status);
    s->st.last_status = s->status;
    o = delivery_classify(rc, s->status);
    if (rc != CURLE_OK)
        snprintf(what, sizeof what, "%s",
                 s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
    else
        snprintf(what, sizeof what, "HTTP %ld", s->status);
    if (s->head != NULL)
        settle(d, s, o, what);
}

static int add_header(struct curl_slist **h, const char *line)
{
    struct curl_slist *t = curl_slist_append(*h, line);

    if (t == NULL)
        return -1;
    *h = t;
    return 0;
}

/* The request headers of one attempt: JSON, no 100-continue, and for
 * the generic webhook the Standard Webhooks id, timestamp and signature
 * over `body`.  Returns 0 or -1 (out of memory, signing failed). */
static int build_headers(struct curl_slist **hdrs, enum sink_kind kind,
                         const sign_keys *keys, const char *msg_id,
                         int64_t ts, const buf *body)
{
    char line[SIGN_HEADER_MAX + 64], sig[SIGN_HEADER_MAX];

    curl_slist_free_all(*hdrs);
    *hdrs = NULL;
    if (add_header(hdrs, "Content-Type: application/json") ||
        add_header(hdrs, "Expect:"))
        return -1;
    if (kind != SINK_WEBHOOK)
        return 0;
    snprintf(line, sizeof line, "webhook-id: %s", msg_id);
    if (add_header(hdrs, line))
        return -1;
    snprintf(line, sizeof line, "webhook-timestamp: %lld", (long long)ts);
    if (add_header(hdrs, line))
        return -1;
    if (keys == NULL)
        return 0;
    if (sign_header(keys, msg_id, ts, body->data, body->len, sig,
                    sizeof sig) < 0)
        return -1;
    snprintf(line, sizeof line, "webhook-signature: %s", sig);
    return add_header(hdrs, line);
}

/* Transfer options every network sink shares: no redirects, http(s)
 * only, TLS verification, timeouts, the answer kept for dead letters. */
static void base_options(CURL *e, const struct sink_config *c, void *ud,
                         char *errbuf)
{
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "toolwatch/" TW_VERSION);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_resp_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, ud);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_resp_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, ud);
}

/* Start the head's request.  Returns 0 when started, 1 when the head was
 * settled without a request (it cannot be rendered), -1 on a local error
 * (out of memory): the head stays and is tried again later. */
static int start_http(delivery *d, struct sink_rt *s, struct entry *e)
{
    int rc;

    buf_reset(&s->body);
    rc = sink_render(s->cfg.kind, e->doc, e->len, s->cfg.routing_key,
                     &s->body);
    if (rc != SINK_OK) {
        s->status = 0;
        settle(d, s, DELIVERY_DROP, "cannot render the notification");
        return 1;
    }
    if (build_headers(&s->hdrs, s->cfg.kind, s->keys, e->msg_id,
                      clock_wall_ms() / 1000, &s->body) != 0)
        return -1;
    buf_reset(&s->resp);
    s->has_retry_after = 0;
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)s->body.len);
    s->xfer.done = on_http_done;
    s->xfer.ctx = s;
    if (loop_add(d->lp, s->easy, &s->xfer) != LOOP_OK)
        return -1;
    s->in_flight = 1;
    return 0;
}

/* File and stdout sinks: one write (and fsync for files) per document. */
static void write_local(delivery *d, struct sink_rt *s, struct entry *e)
{
    int fd = s->cfg.kind == SINK_STDOUT ? 1 : s->fd;
    const char *part[2] = {e->doc, "\n"};
    size_t part_len[2] = {e->len, 1};
    int ok = fd >= 0;

    for (int i = 0; ok && i < 2; i++) {
        const char *p = part[i];
        size_t n = part_len[i];
        while (n > 0) {
            ssize_t w = write(fd, p, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                ok = 0;
                break;
            }
            p += w;
            n -= (size_t)w;
        }
    }
    if (ok && s->cfg.kind == SINK_FILE && fdatasync(fd) != 0)
        ok = 0;
    s->status = 0;
    settle(d, s, ok ? DELIVERY_OK : DELIVERY_RETRY,
           ok ? "" : "cannot write the file");
}

/* Token bucket: may a request start now? */
static int paced(struct sink_rt *s, int64_t now, int64_t *next)
{
    double burst = s->cfg.burst ? (double)s->cfg.burst : 1.0;

    if (s->cfg.rate_per_s <= 0.0)
        return 1;
    s->tokens += (double)(now - s->tokens_at) * s->cfg.rate_per_s / 1000.0;
    if (s->tokens > burst)
        s->tokens = burst;
    s->tokens_at = now;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return 1;
    }
    *next = now + (int64_t)((1.0 - s->tokens) * 1000.0 / s->cfg.rate_per_s) +
            1;
    return 0;
}

int64_t delivery_tick(delivery *d)
{
    int64_t now = loop_now(d->lp), next = now + 1000;

    if (d->acks_dirty && d->acks_sync_at < next)
        next = d->acks_sync_at; /* delivery_flush() syncs them then */

    for (size_t i = 0; i < d->n_sinks; i++) {
        struct sink_rt *s = &d->sinks[i];
        /* local sinks drain their whole ready queue at once */
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
            if (s->cfg.kind == SINK_FILE || s->cfg.kind == SINK_STDOUT) {
                write_local(d, s, e);
                continue;
            }
            if (start_http(d, s, e) < 0)
                e->next_at = now + 1000; /* out of memory: try later */
            break;
        }
    }
    return next;
}

/* ---- submit ------------------------------------------------------------- */

int delivery_submit(delivery *d, const char *detector, const char *severity,
                    const char *id, int resolved, int64_t timestamp_ms,
                    const char *doc, size_t len)
{
    char seed[256], msg_id[SIGN_MSG_ID_SIZE];
    int queued = 0;

    if (len > JOURNAL_RECORD_MAX_BODY)
        return DELIVERY_EINVAL;
    for (size_t i = 0; i < d->n_sinks; i++) {
        struct sink_rt *s = &d->sinks[i];
        struct entry *e;
        int n;
        if (!sink_routes(&s->cfg, detector, severity))
            continue;
        if (d->pending >= d->max_pending) {
            LOG(LOG_ERROR, "delivery", "sink %s: %llu notifications "
                "pending, the cap; notification %s for this sink is only "
                "in the log", s->cfg.name,
                (unsigned long long)d->pending, id);
            continue;
        }
        /* the id names the notification and the sink: stable across
         * attempts and restarts, distinct per receiver */
        n = snprintf(seed, sizeof seed, "%s|%s|%lld|%s", id,
                     resolved ? "resolved" : "firing",
                     (long long)timestamp_ms, s->cfg.name);
        if (n < 0 || sign_new_msg_id(msg_id, seed, (size_t)n) != SIGN_OK)
            return DELIVERY_EINVAL;
        e = entry_new(msg_id, timestamp_ms, doc, len);
        if (e == NULL)
            return DELIVERY_ENOMEM;
        e->next_at = loop_now(d->lp);
        if (journal_put(d, s, e) == JOURNAL_OK &&
            track_unsynced(d, e) == DELIVERY_EOK) {
            e->ready = 0;
        } else {
            if (e->seq != 0) {
                /* appended but cannot be tracked: treat as memory-only */
                e->seq = 0;
            }
            e->ready = 1;
            d->unjournaled++;
        }
        push(s, e);
        queued++;
    }
    return queued;
}

/* ---- life cycle ------------------------------------------------------- */

static char *keep(struct sink_rt *s, const char *v)
{
    char *c;

    if (v == NULL || s->n_strings >= sizeof s->strings / sizeof s->strings[0])
        return NULL;
    c = strdup(v);
    if (c != NULL)
        s->strings[s->n_strings++] = c;
    return c;
}

static int setup_sink(delivery *d, struct sink_rt *s,
                      const struct sink_config *c)
{
    int err = 0;
    size_t bad = 0;

    s->d = d;
    s->fd = -1;
    s->cfg = *c;
    s->cfg.url = keep(s, c->url);
    s->cfg.url_env = keep(s, c->url_env);
    s->cfg.routing_key = keep(s, c->routing_key);
    s->cfg.path = keep(s, c->path);
    for (size_t i = 0; i < c->n_detectors; i++)
        s->cfg.detectors[i] = keep(s, c->detectors[i]);
    for (size_t i = 0; i < SINK_MAX_SECRETS; i++)
        s->cfg.secrets[i] = NULL; /* decoded below, never kept as text */
    s->cfg.n_secrets = 0;
    s->st.name = s->cfg.name;
    s->st.kind = c->kind;
    s->tokens = c->burst ? (double)c->burst : 1.0;
    s->tokens_at = loop_now(d->lp);
    buf_init(&s->body, SINK_BODY_MAX);
    buf_init(&s->resp, DELIVERY_RESPONSE_MAX);
    if (c->kind == SINK_FILE) {
        if (c->path == NULL)
            return -1;
        s->fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                     0600);
        if (s->fd < 0) {
            LOG(LOG_ERROR, "delivery", "sink %s: cannot open %s: %s",
                c->name, c->path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (c->kind == SINK_STDOUT)
        return 0;
    if (s->cfg.url == NULL) {
        LOG(LOG_ERROR, "delivery", "sink %s: no URL", c->name);
        return -1;
    }
    if (c->kind == SINK_WEBHOOK && c->n_secrets > 0) {
        s->keys = sign_keys_create(c->secrets, c->n_secrets, &err, &bad);
        if (s->keys == NULL) {
            LOG(LOG_ERROR, "delivery", "sink %s: signing secret #%zu is "
                "unusable: %s", c->name, bad + 1, sign_strerror(err));
            return -1;
        }
    }
    s->easy = curl_easy_init();
    if (s->easy == NULL)
        return -1;
    base_options(s->easy, &s->cfg, s, s->errbuf);
    return 0;
}

static void free_sink(delivery *d, struct sink_rt *s)
{
    struct entry *e;

    if (s->in_flight && s->easy != NULL)
        loop_remove(d->lp, s->easy);
    if (s->easy != NULL)
        curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->hdrs);
    sign_keys_destroy(s->keys);
    if (s->fd >= 0)
        close(s->fd);
    while ((e = s->head) != NULL) {
        s->head = e->next;
        free(e);
    }
    for (size_t i = 0; i < s->n_strings; i++) {
        explicit_bzero(s->strings[i], strlen(s->strings[i]));
        free(s->strings[i]);
    }
    /* the last PagerDuty body holds the routing key */
    if (s->body.data != NULL)
        explicit_bzero(s->body.data, s->body.len);
    buf_free(&s->body);
    buf_free(&s->resp);
}

/* Queue one journaled notification found at start-up. */
static int requeue(void *ud, uint64_t seq,
                   const struct journal_record_entry *je)
{
    delivery *d = ud;
    char name[SINK_NAME_MAX], id[SIGN_MSG_ID_SIZE];
    struct sink_rt *s;
    struct entry *e;

    snprintf(name, sizeof name, "%.*s", (int)je->sink_len, je->sink);
    snprintf(id, sizeof id, "%.*s", (int)je->msg_id_len, je->msg_id);
    s = sink_by_name(d, name);
    if (s == NULL) {
        LOG(LOG_WARN, "delivery", "journal holds notification %s for sink "
            "%s, which is no longer configured: it stays in the journal",
            id, name);
        return 0;
    }
    e = entry_new(id, je->created_ms, je->body, je->body_len);
    if (e == NULL)
        return DELIVERY_ENOMEM;
    e->seq = seq;
    e->ready = 1;
    e->synced = 1;
    e->next_at = loop_now(d->lp);
    push(s, e);
    return 0;
}

delivery *delivery_create(loop *lp, const struct delivery_options *opts,
                          const struct sink_config *sinks, size_t n_sinks)
{
    delivery *d = calloc(1, sizeof *d);
    struct journal_options jo;
    char path[4096];
    int err = 0;

    if (d == NULL || opts->state_dir == NULL ||
        n_sinks > DELIVERY_MAX_SINKS)
        goto fail;
    d->lp = lp;
    d->dead_fd = -1;
    d->journal_ok = 1;
    d->max_pending = opts->max_pending ? opts->max_pending : 100000;
    backoff_rng_seed(&d->rng, (uint64_t)clock_wall_ms() ^
                                  ((uint64_t)getpid() << 20));
    d->state_dir = strdup(opts->state_dir);
    if (d->state_dir == NULL)
        goto fail;
    for (size_t i = 0; i < n_sinks; i++) {
        d->n_sinks++;
        if (setup_sink(d, &d->sinks[i], &sinks[i]) != 0)
            goto fail;
    }
    memset(&jo, 0, sizeof jo);
    d->j = journal_open(d->state_dir, &jo, &err);
    if (d->j == NULL) {
        LOG(LOG_ERROR, "delivery", "cannot open the journal in %s: %s",
            d->state_dir, journal_strerror(err));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/" DEAD_LETTER_FILE, d->state_dir);
    d->dead_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (d->dead_fd < 0) {
        LOG(LOG_ERROR, "delivery", "cannot open %s: %s", path,
            strerror(errno));
        goto fail;
    }
    if (journal_foreach_pending(d->j, requeue, d) != JOURNAL_OK)
        goto fail;
    if (d->pending > 0)
        LOG(LOG_INFO, "delivery", "%llu unacknowledged notifications from "
            "the journal queued again", (unsigned long long)d->pending);
    return d;
fail:
    delivery_destroy(d);
    return NULL;
}

void delivery_destroy(delivery *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_sinks; i++)
        free_sink(d, &d->sinks[i]);
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

/* ---- introspection ------------------------------------------------------- */

uint64_t delivery_pending(const delivery *d)
{
    return d->pending;
}

int delivery_in_flight(const delivery *d)
{
    int n = 0;

    for (size_t i = 0; i < d->n_sinks; i++)
        n += d->sinks[i].in_flight;
    return n;
}

int delivery_journal_ok(const delivery *d)
{
    return d->journal_ok && d->j != NULL && journal_writable(d->j);
}

size_t delivery_sink_count(const delivery *d)
{
    return d->n_sinks;
}

void delivery_sink_stats(const delivery *d, size_t i,
                         struct delivery_sink_stats *out)
{
    const struct sink_rt *s = &d->sinks[i];

    *out = s->st;
    out->queued = s->depth;
    out->in_flight = s->in_flight;
    out->disabled = s->disabled;
}

/* ---- one test notification (toolwatch send-test) ------------------------- */

int delivery_send_test(const struct sink_config *c, const char *doc,
                       size_t len, struct delivery_test_result *out)
{
    struct sink_rt *s = calloc(1, sizeof *s);
    char msg_id[SIGN_MSG_ID_SIZE], seed[64];
    unsigned char rnd[16];
    int err = 0, rc = DELIVERY_EINVAL;
    size_t bad = 0;
    CURLcode cc;

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return DELIVERY_ENOMEM;
    s->cfg = *c;
    s->fd = -1;
    buf_init(&s->body, SINK_BODY_MAX);
    buf_init(&s->resp, DELIVERY_RESPONSE_MAX);
    if (c->kind == SINK_FILE || c->kind == SINK_STDOUT) {
        int fd = c->kind == SINK_STDOUT
                     ? 1
                     : open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                            0600);
        int ok = fd >= 0 && write(fd, doc, len) == (ssize_t)len &&
                 write(fd, "\n", 1) == 1;
        if (fd > 2)
            close(fd);
        out->outcome = ok ? DELIVERY_OK : DELIVERY_RETRY;
        snprintf(out->error, sizeof out->error, "%s",
                 ok ? "" : strerror(errno));
        rc = DELIVERY_EOK;
        goto out;
    }
    if (c->kind == SINK_WEBHOOK && c->n_secrets > 0 &&
        (s->keys = sign_keys_create(c->secrets, c->n_secrets, &err,
                                    &bad)) == NULL) {
        snprintf(out->error, sizeof out->error,
                 "signing secret #%zu is unusable: %s", bad + 1,
                 sign_strerror(err));
        goto out;
    }
    /* a fresh id: a test must never be deduplicated against another */
    randombytes_buf(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(seed + 2 * i, 3, "%02x", rnd[i]);
    if (sign_new_msg_id(msg_id, seed, 2 * sizeof rnd) != SIGN_OK ||
        sink_render(c->kind, doc, len, c->routing_key, &s->body) != SINK_OK ||
        build_headers(&s->hdrs, c->kind, s->keys, msg_id,
                      clock_wall_ms() / 1000, &s->body) != 0 ||
        (s->easy = curl_easy_init()) == NULL) {
        snprintf(out->error, sizeof out->error,
                 "cannot build the request");
        goto out;
    }
    base_options(s->easy, &s->cfg, s, s->errbuf);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)s->body.len);
    cc = curl_easy_perform(s->easy);
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &out->status);
    out->outcome = delivery_classify(cc, out->status);
    snprintf(out->webhook_id, sizeof out->webhook_id, "%s", msg_id);
    snprintf(out->response, sizeof out->response, "%s",
             s->resp.data ? s->resp.data : "");
    if (cc != CURLE_OK)
        snprintf(out->error, sizeof out->error, "%s",
                 s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
    rc = DELIVERY_EOK;
out:
    if (s->easy != NULL)
        curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->hdrs);
    sign_keys_destroy(s->keys);
    if (s->body.data != NULL)
        explicit_bzero(s->body.data, s->body.len); /* a routing key */
    buf_free(&s->body);
    buf_free(&s->resp);
    free(s);
    return rc;
}
