/*
 * history.c - the alerts' history: one JSON line per entry, two bounded
 * segments in the state directory (see history.h).
 *
 * Invariants:
 *  - pending holds whole lines only, at most max_bytes / 2 of them (an
 *    append past it is dropped and counted): one flush never makes a
 *    segment larger than that;
 *  - cur_size is the current segment's size on disk; before a write that
 *    would take it past max_bytes / 2 the segment is renamed to
 *    history.log.1 (replacing the older one) and a new one begins, so the
 *    two together stay within max_bytes;
 *  - the current segment ends with a newline (a torn last line is cut off
 *    at start-up), so every append begins a line;
 *  - every line read back goes through history_decode(), which refuses
 *    all but exactly what history_encode() writes.
 */
#include "alerts/history.h"

#include "alerts/sink.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const event_names[HISTORY_EVENT_COUNT] = {
    [HISTORY_FIRED] = "fired",
    [HISTORY_REPEATED] = "repeated",
    [HISTORY_SILENCED] = "silenced",
    [HISTORY_ACKED] = "acked",
    [HISTORY_INHIBITED] = "inhibited",
    [HISTORY_RESOLVED] = "resolved",
    [HISTORY_DELIVERED] = "delivered",
    [HISTORY_DEAD_LETTERED] = "dead_lettered",
};

const char *history_event_name(unsigned ev)
{
    return ev < HISTORY_EVENT_COUNT ? event_names[ev] : NULL;
}

/* Copy s into dst (size bytes with the NUL), cut on a UTF-8 character
 * boundary. */
static void copy_text(char *dst, size_t size, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    if (n > 0)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

void history_entry_set(struct history_entry *e, int64_t at_ms,
                       enum history_event ev, const char *id,
                       const char *rule, const char *key, const char *sink,
                       const char *detail)
{
    e->at_ms = at_ms;
    e->event = (uint8_t)ev;
    copy_text(e->id, sizeof e->id, id);
    copy_text(e->rule, sizeof e->rule, rule);
    copy_text(e->key, sizeof e->key, key);
    copy_text(e->sink, sizeof e->sink, sink);
    copy_text(e->detail, sizeof e->detail, detail);
}

/* ---- encode / decode --------------------------------------------------- */

enum field { F_AT = 0, F_EVENT, F_ID, F_RULE, F_KEY, F_SINK, F_DETAIL,
             F_COUNT };

static const char *const field_names[F_COUNT] = {
    "at", "event", "id", "rule", "key", "sink", "detail"};

static void w_text(buf_writer *w, const char *s)
{
    if (s[0] == '\0')
        buf_w_raw(w, "null");
    else
        buf_w_json(w, s, strlen(s));
}

int history_encode(const struct history_entry *e, buf *out)
{
    const char *texts[F_COUNT] = {NULL, NULL, e->id, e->rule, e->key,
                                  e->sink, e->detail};
    const char *ev = history_event_name(e->event);
    buf_writer w = {out, BUF_OK};
    char at[32];

    if (ev == NULL || clock_format_iso8601(e->at_ms, at, sizeof at) < 0)
        return BUF_ETOOBIG;
    buf_w_raw(&w, "{\"at\":\"");
    buf_w_raw(&w, at);
    buf_w_raw(&w, "\",\"event\":\"");
    buf_w_raw(&w, ev);
    buf_w_raw(&w, "\"");
    for (int f = F_ID; f < F_COUNT; f++) {
        buf_w_raw(&w, ",\"");
        buf_w_raw(&w, field_names[f]);
        buf_w_raw(&w, "\":");
        w_text(&w, texts[f]);
    }
    buf_w_raw(&w, "}");
    return w.rc;
}

static int is_hex32(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return i == HISTORY_ID_MAX - 1;
}

/* One member of a line into e: 0, or -1. */
static int decode_field(const cJSON *m, int f, struct history_entry *e)
{
    char *dst[F_COUNT] = {NULL, NULL, e->id, e->rule, e->key, e->sink,
                          e->detail};
    const size_t size[F_COUNT] = {0, 0, sizeof e->id, sizeof e->rule,
                                  sizeof e->key, sizeof e->sink,
                                  sizeof e->detail};
    const char *s;
    size_t n;

    if (f >= F_ID && cJSON_IsNull(m)) {
        dst[f][0] = '\0';
        return 0;
    }
    if (!cJSON_IsString(m) || m->valuestring == NULL)
        return -1;
    s = m->valuestring;
    n = strlen(s);
    if (f == F_AT)
        return clock_parse_iso8601(s, n, &e->at_ms) == 0 ? 0 : -1;
    if (f == F_EVENT) {
        for (unsigned ev = 0; ev < HISTORY_EVENT_COUNT; ev++) {
            if (strcmp(s, event_names[ev]) == 0) {
                e->event = (uint8_t)ev;
                return 0;
            }
        }
        return -1;
    }
    /* what history_encode writes: valid UTF-8, within its array */
    if (n == 0 || n >= size[f] || (f == F_ID && !is_hex32(s)) ||
        !utf8_valid(s, n))
        return -1;
    memcpy(dst[f], s, n + 1);
    return 0;
}

int history_decode(const char *line, size_t len, struct history_entry *e)
{
    const char *end = NULL;
    const cJSON *m;
    cJSON *root = NULL;
    unsigned seen = 0;
    int rc = HISTORY_EINVAL;

    if (line == NULL || len == 0 || len >= HISTORY_LINE_MAX)
        goto out;
    root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!cJSON_IsObject(root) || end != line + len)
        goto out;
    cJSON_ArrayForEach(m, root) {
        int f;

        for (f = 0; f < F_COUNT; f++) {
            if (m->string != NULL && strcmp(m->string, field_names[f]) == 0)
                break;
        }
        if (f == F_COUNT || (seen & (1u << f)) != 0 ||
            decode_field(m, f, e) != 0)
            goto out;
        seen |= 1u << f;
    }
    if (seen == (1u << F_COUNT) - 1)
        rc = HISTORY_OK;
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- the query --------------------------------------------------------- */

void history_query_init(struct history_query *q)
{
    memset(q, 0, sizeof *q);
    q->limit = HISTORY_LIMIT_DEFAULT;
}

int history_query_set(struct history_query *q, const char *name,
                      const char *value, size_t vlen, char *err,
                      size_t errsz)
{
    static const char *const names[] = {"since", "rule", "limit"};
    unsigned p;

    for (p = 0; p < 3; p++) {
        if (strcmp(name, names[p]) == 0)
            break;
    }
    if (p == 3) {
        snprintf(err, errsz, "%.40s: unknown parameter (since, rule, "
                 "limit)", name);
        return HISTORY_EINVAL;
    }
    if (q->seen & (1u << p)) {
        snprintf(err, errsz, "%s: given twice", names[p]);
        return HISTORY_EINVAL;
    }
    q->seen |= 1u << p;
    if (memchr(value, '\0', vlen) != NULL) {
        snprintf(err, errsz, "%s: a NUL byte in the value", names[p]);
        return HISTORY_EINVAL;
    }
    if (p == 0) {
        if (clock_parse_iso8601(value, vlen, &q->since_ms) != 0) {
            snprintf(err, errsz, "since: expected an ISO 8601 date-time "
                     "such as 2026-03-10T02:47:23Z");
            return HISTORY_EINVAL;
        }
        return HISTORY_OK;
    }
    if (p == 1) {
        if (vlen == 0 || vlen >= sizeof q->rule) {
            snprintf(err, errsz, "rule: expected a rule name or glob of 1 "
                     "to %u bytes", (unsigned)sizeof q->rule - 1);
            return HISTORY_EINVAL;
        }
        memcpy(q->rule, value, vlen);
        q->rule[vlen] = '\0';
        return HISTORY_OK;
    }
    {
        unsigned long n = 0;
        size_t i;

        for (i = 0; i < vlen && i < 5 && value[i] >= '0' &&
                    value[i] <= '9'; i++)
            n = n * 10 + (unsigned long)(value[i] - '0');
        if (vlen == 0 || i != vlen || n < 1 || n > HISTORY_LIMIT_MAX) {
            snprintf(err, errsz, "limit: expected a whole number from 1 "
                     "to %u", HISTORY_LIMIT_MAX);
            return HISTORY_EINVAL;
        }
        q->limit = (unsigned)n;
    }
    return HISTORY_OK;
}

int history_query_match(const struct history_query *q,
                        const struct history_entry *e)
{
    if (e->at_ms < q->since_ms)
        return 0;
    return q->rule[0] == '\0' || sink_glob_match(q->rule, e->rule);
}

/* ---- the file ---------------------------------------------------------- */

struct history {
    char *dir;                        /* NULL: memory only */
    int fd;                           /* the current segment, or -1 */
    uint64_t max_bytes;
    uint64_t cur_size;
    buf pending;                      /* whole lines, capped */
    uint64_t pending_n;
    struct history_entry tail[HISTORY_TAIL]; /* a ring */
    size_t tail_n, tail_next;
    struct history_stats st;
};

static void tail_push(history *h, const struct history_entry *e)
{
    h->tail[h->tail_next] = *e;
    h->tail_next = (h->tail_next + 1) % HISTORY_TAIL;
    if (h->tail_n < HISTORY_TAIL)
        h->tail_n++;
}

/* Call fn on each entry of data, oldest first; returns the length of the
 * data up to its last newline. */
static size_t each_line(history *h, const char *data, size_t len,
                        void (*fn)(void *ud, const struct history_entry *e),
                        void *ud)
{
    size_t at = 0, whole = 0;
    struct history_entry e;

    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t n;

        if (nl == NULL)
            break; /* torn */
        n = (size_t)(nl - (data + at));
        if (history_decode(data + at, n, &e) == HISTORY_OK)
            fn(ud, &e);
        else if (h != NULL)
            h->st.skipped++;
        at += n + 1;
        whole = at;
    }
    return whole;
}

static int seg_path(const history *h, const char *name, char *out,
                    size_t size)
{
    int n = snprintf(out, size, "%s/%s", h->dir, name);

    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Read segment `name` (NULL data when there is none or it cannot be
 * read; logged). */
static void read_seg(const history *h, const char *name, char **data,
                     size_t *len)
{
    char path[PATH_MAX];
    int rc;

    *data = NULL;
    *len = 0;
    if (h->dir == NULL || seg_path(h, name, path, sizeof path) != 0)
        return;
    rc = file_read_all(path, (size_t)h->max_bytes, data, len);
    if (rc != FILE_OK && rc != FILE_ENOENT)
        LOG(LOG_WARN, "history", "%s: not read: %s", path,
            file_strerror(rc));
}

static void load_push(void *ud, const struct history_entry *e)
{
    tail_push(ud, e);
}

/* Start a new current segment: the old one becomes history.log.1. */
static int rotate(history *h)
{
    char cur[PATH_MAX], old[PATH_MAX];
    int rc = HISTORY_EIO;

    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    if (seg_path(h, HISTORY_FILE, cur, sizeof cur) != 0 ||
        seg_path(h, HISTORY_FILE_OLD, old, sizeof old) != 0)
        goto out;
    if (rename(cur, old) != 0 && errno != ENOENT)
        goto out;
    h->fd = open(cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (h->fd < 0 || file_sync_dir(h->dir) != FILE_OK)
        goto out;
    h->cur_size = 0;
    h->st.rotations++;
    rc = HISTORY_OK;
out:
    if (rc != HISTORY_OK)
        LOG(LOG_ERROR, "history", "cannot start a new segment in %s: %s",
            h->dir, strerror(errno));
    return rc;
}

/* Open the current segment and read both back into the tail. */
static void open_file(history *h)
{
    char path[PATH_MAX], *data = NULL;
    size_t len, whole;
    struct stat sb;

    read_seg(h, HISTORY_FILE_OLD, &data, &len);
    each_line(h, data, len, load_push, h);
    free(data);
    if (seg_path(h, HISTORY_FILE, path, sizeof path) != 0)
        goto fail;
    h->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (h->fd < 0 || fstat(h->fd, &sb) != 0)
        goto fail;
    if ((uint64_t)sb.st_size > h->max_bytes) {
        /* from a larger cap, or not ours: set aside where nothing reads
         * it (as history.log.1 it could never be read back whole, and
         * every query would log that), and a new segment begins */
        char bad[PATH_MAX];

        LOG(LOG_WARN, "history", "%s is larger than %llu bytes: kept as "
            "%s.bad, a new segment begins", path,
            (unsigned long long)h->max_bytes, HISTORY_FILE);
        close(h->fd);
        h->fd = -1;
        if (seg_path(h, HISTORY_FILE ".bad", bad, sizeof bad) != 0 ||
            rename(path, bad) != 0)
            goto fail;
        h->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (h->fd < 0 || file_sync_dir(h->dir) != FILE_OK)
            goto fail;
        h->cur_size = 0;
        return;
    }
    read_seg(h, HISTORY_FILE, &data, &len);
    whole = each_line(h, data, len, load_push, h);
    free(data);
    if (whole < len) {
        LOG(LOG_WARN, "history", "%s: a torn last line (%zu bytes) cut "
            "off", path, len - whole);
        if (ftruncate(h->fd, (off_t)whole) != 0 || fsync(h->fd) != 0)
            goto fail;
    }
    h->cur_size = whole;
    if (h->st.skipped > 0)
        LOG(LOG_WARN, "history", "%llu unreadable lines skipped in %s",
            (unsigned long long)h->st.skipped, h->dir);
    return;
fail:
    LOG(LOG_ERROR, "history", "cannot open the history in %s (%s): kept "
        "in memory only", h->dir, strerror(errno));
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
}

history *history_create(const struct history_options *o)
{
    history *h = calloc(1, sizeof *h);

    if (h == NULL)
        return NULL;
    h->fd = -1;
    h->max_bytes = o->max_bytes ? o->max_bytes : HISTORY_MAX_BYTES;
    if (h->max_bytes < HISTORY_MIN_BYTES)
        h->max_bytes = HISTORY_MIN_BYTES;
    buf_init(&h->pending, (size_t)(h->max_bytes / 2));
    if (o->state_dir != NULL) {
        if ((h->dir = strdup(o->state_dir)) == NULL) {
            history_destroy(h);
            return NULL;
        }
        open_file(h);
    }
    return h;
}

void history_destroy(history *h)
{
    if (h == NULL)
        return;
    history_flush(h);
    if (h->fd >= 0)
        close(h->fd);
    buf_free(&h->pending);
    free(h->dir);
    free(h);
}

int history_append(history *h, int64_t at_ms, enum history_event ev,
                   const char *id, const char *rule, const char *key,
                   const char *sink, const char *detail)
{
    struct history_entry e;
    size_t mark;

    if (h == NULL)
        return HISTORY_OK;
    history_entry_set(&e, at_ms, ev, id, rule, key, sink, detail);
    tail_push(h, &e);
    h->st.appended++;
    if (h->dir == NULL)
        return HISTORY_OK;
    mark = h->pending.len;
    if (history_encode(&e, &h->pending) != BUF_OK ||
        buf_append(&h->pending, "\n", 1) != BUF_OK) {
        h->pending.len = mark;
        if (h->pending.data != NULL)
            h->pending.data[mark] = '\0';
        h->st.write_errors++;
        LOG(LOG_ERROR, "history", "an entry dropped: too many waiting");
        return HISTORY_ENOMEM;
    }
    h->pending_n++;
    return HISTORY_OK;
}

int history_flush(history *h)
{
    int rc = HISTORY_OK;

    if (h == NULL || h->pending.len == 0)
        return HISTORY_OK;
    if (h->fd < 0 && h->cur_size == 0 && rotate(h) != HISTORY_OK) {
        rc = HISTORY_EIO;
        goto out;
    }
    if (h->cur_size > 0 &&
        h->cur_size + h->pending.len > h->max_bytes / 2 &&
        rotate(h) != HISTORY_OK) {
        rc = HISTORY_EIO;
        goto out;
    }
    if (h->fd < 0 ||
        file_write_all(h->fd, h->pending.data, h->pending.len) != FILE_OK ||
        fsync(h->fd) != 0) {
        LOG(LOG_ERROR, "history", "cannot write the history in %s: %s",
            h->dir, strerror(errno));
        rc = HISTORY_EIO;
        goto out;
    }
    h->cur_size += h->pending.len;
    h->st.written += h->pending_n;
out:
    if (rc != HISTORY_OK)
        h->st.write_errors += h->pending_n;
    buf_reset(&h->pending);
    h->pending_n = 0;
    return rc;
}

/* The newest `limit` matches, in a ring. */
struct pick {
    const struct history_query *q;
    struct history_entry *ring;
    size_t n, next;
};

static void pick_one(void *ud, const struct history_entry *e)
{
    struct pick *p = ud;

    if (!history_query_match(p->q, e))
        return;
    p->ring[p->next] = *e;
    p->next = (p->next + 1) % p->q->limit;
    if (p->n < p->q->limit)
        p->n++;
}

static int write_entries(buf *out, const struct history_entry *ring,
                         size_t n, size_t next, size_t size)
{
    buf_writer w = {out, BUF_OK};

    buf_w_raw(&w, "{\"entries\":[");
    for (size_t i = 0; i < n && w.rc == BUF_OK; i++) {
        const struct history_entry *e = &ring[(next + size - 1 - i) % size];

        if (i > 0)
            buf_w_raw(&w, ",");
        if (w.rc == BUF_OK)
            w.rc = history_encode(e, out);
    }
    buf_w_raw(&w, "]}\n");
    return w.rc;
}

int history_query(history *h, const struct history_query *q, buf *out)
{
    struct pick p = {q, NULL, 0, 0};
    char *data = NULL;
    size_t len;
    int rc;

    if (q->limit < 1 || q->limit > HISTORY_LIMIT_MAX)
        return HISTORY_EINVAL;
    if (h->dir == NULL) {
        /* memory only: the tail is all there is */
        if ((p.ring = calloc(q->limit, sizeof *p.ring)) == NULL)
            return HISTORY_ENOMEM;
        for (size_t i = h->tail_n; i > 0; i--)
            pick_one(&p, &h->tail[(h->tail_next + HISTORY_TAIL - i) %
                                  HISTORY_TAIL]);
        goto write;
    }
    if ((p.ring = calloc(q->limit, sizeof *p.ring)) == NULL)
        return HISTORY_ENOMEM;
    read_seg(h, HISTORY_FILE_OLD, &data, &len);
    each_line(NULL, data, len, pick_one, &p);
    free(data);
    read_seg(h, HISTORY_FILE, &data, &len);
    each_line(NULL, data, len, pick_one, &p);
    free(data);
    /* the entries not yet written: read from memory, no fsync per query */
    each_line(NULL, h->pending.data, h->pending.len, pick_one, &p);
write:
    rc = write_entries(out, p.ring, p.n, p.next, q->limit);
    free(p.ring);
    return rc == BUF_OK ? HISTORY_OK
         : rc == BUF_ENOMEM ? HISTORY_ENOMEM : HISTORY_ETOOBIG;
}

size_t history_tail(const history *h, struct history_entry *out,
                    size_t max)
{
    size_t n = h->tail_n < max ? h->tail_n : max;

    for (size_t i = 0; i < n; i++)
        out[i] = h->tail[(h->tail_next + HISTORY_TAIL - 1 - i) %
                         HISTORY_TAIL];
    return n;
}

void history_stats(const history *h, struct history_stats *out)
{
    *out = h->st;
}

const char *history_strerror(int rc)
{
    switch (rc) {
    case HISTORY_OK:
        return "success";
    case HISTORY_EINVAL:
        return "invalid history line or query";
    case HISTORY_EIO:
        return "the history could not be written";
    case HISTORY_ENOMEM:
        return "out of memory";
    case HISTORY_ETOOBIG:
        return "the history answer does not fit";
    default:
        return "unknown history error";
    }
}
