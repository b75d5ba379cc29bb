/*
 * stream.c - libcurl shell around the SSE parser: connect, read, detect
 * stalls, reconnect with backoff; the position (where we were) is kept by
 * consumer/position.c, persisted from here at most once a second.
 *
 * Lifecycle of one connection:
 *   connect_now()        builds the request (Last-Event-ID when known) and
 *                        adds the easy handle to the loop: CONNECTING
 *   on_header()          at the end of the final response's headers decides:
 *                        200 + text/event-stream -> CONNECTED; anything else
 *                        is recorded and the transfer aborted
 *   on_body()            feeds the parser; events reach the user callback
 *   on_done() / stall    end_connection() classifies the end, logs it once
 *                        and schedules the reconnect: WAITING
 *
 * Invariants: at most one transfer at a time; the easy handle is reused
 * (connection cache, TLS session); the clock is read only through the
 * loop's cached time, except once per response for an HTTP-date
 * Retry-After; the API key is copied once, sent only in the Authorization
 * header, wiped on destroy and never logged; so is the value of each
 * secret header (stream_config.secret_headers), sent only in its header
 * (messages name its variable); once its position is handed over
 * (stream_take_position) a reader writes no position file and does not
 * start again.
 */
#include "consumer/stream.h"

#include "consumer/position.h"
#include "base/backoff.h"
#include "base/clock.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif

#define RETRY_AFTER_MAX_MS (3600u * 1000u)
#define PERSIST_INTERVAL_MS 1000
#define SAFE_URL_MAX 512
#define CT_MAX 128
#ifndef STREAM_RECV_BUFFER
#define STREAM_RECV_BUFFER (64 * 1024)
#endif

enum end_reason {
    END_NONE = 0,
    END_CLOSED,      /* server ended a good stream */
    END_BROKEN,      /* a good stream failed mid-way (network) */
    END_NETWORK,     /* could not connect / no response */
    END_STALL,       /* no byte for stall_timeout_ms */
    END_HTTP,        /* non-200 final status */
    END_AUTH,        /* 401 / 403 */
    END_NO_CONTENT,  /* 204 */
    END_BAD_TYPE,    /* 200 with the wrong Content-Type */
    END_STOPPED      /* the user callback asked to stop */
};

struct stream {
    loop *lp;
    struct loop_xfer xfer;
    CURL *easy;
    struct curl_slist *req_headers;
    const struct stream_callbacks *cb;
    void *ud;

    /* configuration (owned copies) */
    char *url;
    char *api_key;
    size_t api_key_len;
    char *api_key_env;
    char *headers[STREAM_MAX_HEADERS];
    size_t n_headers;
    char *secret_headers[STREAM_MAX_HEADERS]; /* "Name: value"; wiped */
    size_t n_secret_headers;
    char *ca_file;
    uint64_t stall_timeout_ms;
    uint64_t retry_max_ms;
    uint64_t connect_timeout_ms;
    int once;
    char safe_url[SAFE_URL_MAX];

    sse_parser parser;
    enum stream_state state;
    backoff_rng rng;
    unsigned attempt;           /* ends since the last good connection */
    uint64_t conn_events;       /* stats.events when it connected */
    int64_t streaming_at;       /* loop time the stream was accepted */
    int retry_floor_said;       /* this connection's retry: < floor logged */
    uint64_t retry_base_ms;     /* config, then the stream's retry: */
    int64_t reconnect_at;
    int in_transfer;
    int ended_ok;
    int handed_over;            /* the position went to another reader */

    /* the current response */
    long status;
    char content_type[CT_MAX];
    int has_retry_after;
    uint64_t retry_after_ms;
    int retry_after_said;       /* a Retry-After over retry_max_ms logged */
    int streaming;              /* headers accepted, body goes to parser */
    int stop_requested;
    enum end_reason fail;
    char errbuf[CURL_ERROR_SIZE];

    /* the position file and generations; the id in force is the
     * parser's (sse_parser_last_id) */
    struct position pos;
    int64_t last_persist;       /* monotonic ms of the last persist */

    struct stream_stats stats;
};

/* ---- small helpers --------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int has_crlf_or_nul(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return 1;
    }
    return 0;
}

static void set_state(stream *s, enum stream_state st)
{
    if (s->state == st)
        return;
    s->state = st;
    if (st == STREAM_CONNECTED)
        s->stats.connected_since_ms = loop_now(s->lp);
    else
        s->stats.connected_since_ms = 0;
    if (s->cb->on_state != NULL)
        s->cb->on_state(s->ud, st);
}

const char *stream_safe_url(const char *url, char *buf, size_t size)
{
    CURLU *u = curl_url();
    char *out = NULL;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (u == NULL)
        return buf;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        if (curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
            snprintf(buf, size, "%s", out);
    } else {
        snprintf(buf, size, "(unparsable URL)");
    }
    curl_free(out);
    curl_url_cleanup(u);
    return buf;
}

/* ---- position ------------------------------------------------------- */

int stream_persist(stream *s)
{
    size_t len;
    const char *id = sse_parser_last_id(&s->parser, &len);
    int rc = position_persist(&s->pos, id, len);

    s->last_persist = loop_now(s->lp);
    return rc == POSITION_OK ? STREAM_OK : STREAM_EIO;
}

const char *stream_position_claim(stream *s, size_t *len, uint64_t *gen)
{
    *gen = position_claim(&s->pos);
    return sse_parser_last_id(&s->parser, len);
}

int stream_position_offer(stream *s, const char *id, size_t len,
                          uint64_t gen)
{
    int rc = position_offer(&s->pos, id, len, gen);

    if (rc == 1)
        sse_parser_set_last_id(&s->parser, len > 0 ? id : "", len);
    return rc == POSITION_EINVAL ? STREAM_EINVAL : rc;
}

int stream_position_rewind(stream *s, const char *id, size_t len)
{
    if (s == NULL || s->state != STREAM_IDLE || s->handed_over ||
        (id == NULL && len > 0) || !position_id_ok(len > 0 ? id : "", len))
        return STREAM_EINVAL;
    sse_parser_set_last_id(&s->parser, len > 0 ? id : "", len);
    return STREAM_OK;
}

uint64_t stream_position_generation(const stream *s)
{
    return position_generation(&s->pos);
}

int stream_take_position(stream *dst, stream *src)
{
    const char *id;
    size_t len;
    int rc = STREAM_EINVAL;

    if (dst == NULL || src == NULL || dst == src ||
        dst->state != STREAM_IDLE || dst->handed_over || src->handed_over)
        goto out;
    /* first: src gives up the file, so that ending it writes nothing */
    position_take(&dst->pos, &src->pos);
    src->handed_over = 1;
    if (src->state != STREAM_IDLE)
        stream_stop(src);
    id = sse_parser_last_id(&src->parser, &len);
    /* cannot fail: src's parser took the same id */
    sse_parser_set_last_id(&dst->parser, id, len);
    rc = STREAM_OK;
out:
    return rc;
}

/* ---- parser callbacks -------------------------------------------------- */

__attribute__((hot))
static int on_sse_event(void *ud, const sse_event *ev)
{
    stream *s = ud;

    s->stats.events++;
    if (s->cb->on_event != NULL && s->cb->on_event(s->ud, ev) != 0) {
        s->stop_requested = 1;
        return 1;
    }
    return 0;
}

static void on_sse_retry(void *ud, uint64_t ms)
{
    stream *s = ud;

    if (ms < STREAM_RETRY_FLOOR_MS) {
        if (!s->retry_floor_said) {
            s->retry_floor_said = 1;
            LOG(LOG_WARN, "stream", "%s asks to reconnect after %llu ms "
                "(retry:); waiting at least %d ms instead", s->safe_url,
                (unsigned long long)ms, STREAM_RETRY_FLOOR_MS);
        }
        ms = STREAM_RETRY_FLOOR_MS;
    }
    s->retry_base_ms = ms < s->retry_max_ms ? ms : s->retry_max_ms;
}

static void on_sse_oversize(void *ud, size_t max)
{
    stream *s = ud;

    s->stats.oversize++;
    LOG(LOG_WARN, "sse", "event larger than %zu bytes skipped", max);
}

static const sse_settings parser_settings = {
    .on_event = on_sse_event,
    .on_retry = on_sse_retry,
    .on_comment = NULL,
    .on_oversize = on_sse_oversize,
};

/* ---- libcurl callbacks ------------------------------------------------- */

static int header_is(const char *line, size_t n, const char *name,
                     const char **value, size_t *vlen)
{
    size_t k = strlen(name);

    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return 0;
    line += k + 1;
    n -= k + 1;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
                     line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    *value = line;
    *vlen = n;
    return 1;
}

static int content_type_ok(const char *ct)
{
    static const char want[] = "text/event-stream";
    size_t k = sizeof want - 1;

    return strncasecmp(ct, want, k) == 0 &&
           (ct[k] == '\0' || ct[k] == ';' || ct[k] == ' ' || ct[k] == '\t');
}

/* End of the final response's headers: accept the stream or refuse it. */
static int accept_response(stream *s)
{
    long code = 0;

    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    s->status = code;
    s->stats.last_status = code;
    if (code >= 100 && code < 200)
        return 1; /* interim response: more headers follow */
    if (code >= 300 && code < 400)
        return 1; /* followed by libcurl, or refused at done */
    if (code == 200 && content_type_ok(s->content_type)) {
        s->streaming = 1;
        s->streaming_at = loop_now(s->lp);
        s->conn_events = s->stats.events;
        s->stats.connects++;
        sse_parser_reset_stream(&s->parser);
        set_state(s, STREAM_CONNECTED);
        LOG(LOG_INFO, "stream", "connected to %s", s->safe_url);
        return 1;
    }
    if (code == 401 || code == 403)
        s->fail = END_AUTH;
    else if (code == 204)
        s->fail = END_NO_CONTENT;
    else if (code == 200)
        s->fail = END_BAD_TYPE;
    else
        s->fail = END_HTTP;
    return 0;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
    stream *s = ud;
    size_t n = size * nitems;
    const char *v;
    size_t vlen;

    s->stats.last_byte_ms = loop_now(s->lp);
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        s->content_type[0] = '\0';
        s->has_retry_after = 0;
        return n;
    }
    if (header_is(line, n, "Content-Type", &v, &vlen)) {
        if (vlen >= sizeof s->content_type)
            vlen = sizeof s->content_type - 1;
        memcpy(s->content_type, v, vlen);
        s->content_type[vlen] = '\0';
    } else if (header_is(line, n, "Retry-After", &v, &vlen)) {
        s->has_retry_after =
            backoff_parse_retry_after(v, vlen, clock_wall_ms(),
                                      RETRY_AFTER_MAX_MS,
                                      &s->retry_after_ms) == BACKOFF_OK;
    } else if ((n == 2 && line[0] == '\r' && line[1] == '\n') ||
               (n == 1 && line[0] == '\n')) {
        if (!accept_response(s))
            return 0; /* abort the transfer: classified in on_done */
    }
    return n;
}

__attribute__((hot))
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    stream *s = ud;
    size_t n = size * nmemb;
    int rc;

    s->stats.last_byte_ms = loop_now(s->lp);
    if (!s->streaming)
        return n; /* body of a response we do not read (e.g. 3xx) */
    s->stats.bytes += n;
    rc = sse_parser_execute(&s->parser, data, n);
    s->stats.invalid_utf8 = s->parser.stats.invalid_utf8;
    if (rc != SSE_OK)
        return 0; /* the user asked to stop */
    return n;
}

/* ---- connection lifecycle --------------------------------------------- */

/* Free the request headers, wiping them first: the API key and the secret
 * headers are among them. */
static void free_req_headers(struct curl_slist *h)
{
    for (struct curl_slist *n = h; n != NULL; n = n->next)
        explicit_bzero(n->data, strlen(n->data));
    curl_slist_free_all(h);
}

static int build_request_headers(stream *s)
{
    struct curl_slist *h = NULL, *t;
    char line[SSE_LAST_ID_MAX + 64];
    const char *id;
    size_t idlen;
    int rc = STREAM_ENOMEM;

    free_req_headers(s->req_headers);
    s->req_headers = NULL;
    if ((t = curl_slist_append(h, "Accept: text/event-stream")) == NULL)
        goto out;
    h = t;
    if ((t = curl_slist_append(h, "Cache-Control: no-cache")) == NULL)
        goto out;
    h = t;
    if (s->api_key != NULL) {
        size_t need = sizeof "Authorization: Bearer " + s->api_key_len;
        char *auth = malloc(need);
        if (auth == NULL)
            goto out;
        snprintf(auth, need, "Authorization: Bearer %s", s->api_key);
        t = curl_slist_append(h, auth);
        explicit_bzero(auth, need);
        free(auth);
        if (t == NULL)
            goto out;
        h = t;
    }
    for (size_t i = 0; i < s->n_headers; i++) {
        if ((t = curl_slist_append(h, s->headers[i])) == NULL)
            goto out;
        h = t;
    }
    for (size_t i = 0; i < s->n_secret_headers; i++) {
        if ((t = curl_slist_append(h, s->secret_headers[i])) == NULL)
            goto out;
        h = t;
    }
    id = sse_parser_last_id(&s->parser, &idlen);
    if (idlen > 0) {
        snprintf(line, sizeof line, "Last-Event-ID: %.*s", (int)idlen, id);
        if ((t = curl_slist_append(h, line)) == NULL)
            goto out;
        h = t;
    }
    s->req_headers = h;
    h = NULL;
    rc = STREAM_OK;
out:
    free_req_headers(h);
    return rc;
}

static void on_done(void *ctx, CURL *easy, CURLcode result);

static int connect_now(stream *s)
{
    int rc = build_request_headers(s);

    if (rc != STREAM_OK)
        goto out;
    s->status = 0;
    s->content_type[0] = '\0';
    s->has_retry_after = 0;
    s->streaming = 0;
    s->retry_floor_said = 0;
    s->fail = END_NONE;
    s->errbuf[0] = '\0';
    sse_parser_reset_stream(&s->parser);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->req_headers);
    s->xfer.done = on_done;
    s->xfer.ctx = s;
    if (loop_add(s->lp, s->easy, &s->xfer) != LOOP_OK) {
        rc = STREAM_ECURL;
        goto out;
    }
    s->in_transfer = 1;
    if (s->stats.connects + s->stats.http_errors + s->stats.network_errors +
            s->stats.stalls > 0)
        s->stats.reconnects++;
    s->stats.last_byte_ms = loop_now(s->lp);
    set_state(s, STREAM_CONNECTING);
out:
    return rc;
}

/* base x 2^attempt, at most cap. */
static uint64_t attempt_floor(uint64_t base, uint64_t cap, unsigned attempt)
{
    uint64_t f = base;

    for (unsigned i = 0; i < attempt && f < cap; i++)
        f = f > cap / 2 ? cap : f * 2;
    return f < cap ? f : cap;
}

/* The delay before the next connection (stream.h "Reconnecting"). */
static uint64_t next_delay(stream *s, enum end_reason why)
{
    uint64_t d;

    /* a good connection: events, or streaming for a while */
    if (s->streaming &&
        (s->stats.events > s->conn_events ||
         loop_now(s->lp) - s->streaming_at >= STREAM_STABLE_MS))
        s->attempt = 0;

    switch (why) {
    case END_AUTH:
    case END_NO_CONTENT:
    case END_BAD_TYPE:
        d = s->retry_max_ms;
        break;
    default:
        d = backoff_floor_jitter_ms(attempt_floor(s->retry_base_ms,
                                                  s->retry_max_ms,
                                                  s->attempt),
                                    s->retry_max_ms, 0,
                                    backoff_rng_next(&s->rng));
        if (s->has_retry_after && (s->status == 429 || s->status == 503)) {
            int capped;
            d = stream_retry_wait(d, s->retry_after_ms, s->retry_max_ms,
                                  &capped);
            if (capped && !s->retry_after_said) {
                s->retry_after_said = 1;
                LOG(LOG_WARN, "stream", "%s asks to wait %s%llu s before "
                    "reconnecting (Retry-After); waiting at most "
                    "retry_max_ms (%llu ms) instead, so that the stream is "
                    "not read late (said once)", s->safe_url,
                    s->retry_after_ms >= RETRY_AFTER_MAX_MS ? "at least "
                                                            : "",
                    (unsigned long long)(s->retry_after_ms / 1000),
                    (unsigned long long)s->retry_max_ms);
            }
        }
        break;
    }
    if (s->attempt < 64)
        s->attempt++;
    return d;
}

static void log_end(stream *s, enum end_reason why, CURLcode result,
                    uint64_t delay)
{
    const char *env = s->api_key_env != NULL ? s->api_key_env
                                             : "the stream's API key setting";
    const char *cerr = s->errbuf[0] ? s->errbuf : curl_easy_strerror(result);
    unsigned long long ms = (unsigned long long)delay;

    switch (why) {
    case END_AUTH:
        LOG(LOG_ERROR, "stream",
            "authentication failed for %s: check %s (HTTP %ld); retrying in "
            "%llu ms", s->safe_url, env, s->status, ms);
        break;
    case END_NO_CONTENT:
        LOG(LOG_WARN, "stream",
            "HTTP 204 No Content from %s (server asks not to reconnect); "
            "retrying in %llu ms", s->safe_url, ms);
        break;
    case END_BAD_TYPE:
        LOG(LOG_WARN, "stream",
            "unexpected Content-Type \"%s\" from %s (want text/event-stream); "
            "retrying in %llu ms", s->content_type, s->safe_url, ms);
        break;
    case END_HTTP:
        LOG(LOG_WARN, "stream", "HTTP %ld from %s; retrying in %llu ms%s%s",
            s->status, s->safe_url, ms,
            s->has_retry_after ? " (Retry-After)" : "",
            s->status >= 300 && s->status < 400 && s->n_secret_headers > 0
                ? " (redirects are not followed while headers come from "
                  "the environment: they would go to the new host; set "
                  "the stream's URL to where it redirects)"
                : "");
        break;
    case END_STALL:
        LOG(LOG_WARN, "stream", "no data for %llu s from %s, reconnecting in "
            "%llu ms", (unsigned long long)(s->stall_timeout_ms / 1000),
            s->safe_url, ms);
        break;
    case END_CLOSED:
        LOG(LOG_INFO, "stream", "server closed the stream; reconnecting in "
            "%llu ms", ms);
        break;
    case END_BROKEN:
        LOG(LOG_WARN, "stream", "stream from %s broke: %s; reconnecting in "
            "%llu ms", s->safe_url, cerr, ms);
        break;
    default:
        LOG(LOG_WARN, "stream", "cannot reach %s: %s; retrying in %llu ms",
            s->safe_url, cerr, ms);
        break;
    }
}

/* The transfer is over (removed from the loop): classify and reschedule. */
static void end_connection(stream *s, enum end_reason why, CURLcode result)
{
    uint64_t delay;

    s->in_transfer = 0;
    sse_parser_finish(&s->parser);
    s->stats.invalid_utf8 = s->parser.stats.invalid_utf8;
    if (why == END_STALL)
        s->stats.stalls++;
    else if (why == END_NETWORK || why == END_BROKEN)
        s->stats.network_errors++;
    else if (why != END_CLOSED && why != END_STOPPED)
        s->stats.http_errors++;
    if (why == END_STOPPED || s->once) {
        s->ended_ok = why == END_STOPPED || why == END_CLOSED;
        if (why != END_STOPPED && why != END_CLOSED)
            log_end(s, why, result, 0);
        set_state(s, STREAM_DONE);
        stream_persist(s);
        return;
    }
    delay = next_delay(s, why);
    log_end(s, why, result, delay);
    s->reconnect_at = loop_now(s->lp) + (int64_t)delay;
    set_state(s, STREAM_WAITING);
}

static void on_done(void *ctx, CURL *easy, CURLcode result)
{
    stream *s = ctx;
    enum end_reason why;

    (void)easy;
    if (s->stop_requested)
        why = END_STOPPED;
    else if (s->fail != END_NONE)
        why = s->fail;
    else if (s->streaming)
        why = result == CURLE_OK ? END_CLOSED : END_BROKEN;
    else if (s->status >= 300)
        why = END_HTTP; /* e.g. a redirect that was not followed */
    else
        why = END_NETWORK;
    end_connection(s, why, result);
}

/* ---- public API ---------------------------------------------------------- */

uint64_t stream_retry_wait(uint64_t backoff_ms, uint64_t retry_after_ms,
                           uint64_t retry_max_ms, int *capped)
{
    uint64_t d = retry_after_ms;

    *capped = d > retry_max_ms;
    if (*capped)
        d = retry_max_ms;
    return d > backoff_ms ? d : backoff_ms;
}

void stream_config_defaults(struct stream_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stall_timeout_ms = STREAM_DEFAULT_STALL_TIMEOUT_S * 1000u;
    cfg->retry_base_ms = STREAM_DEFAULT_RETRY_BASE_MS;
    cfg->retry_max_ms = STREAM_DEFAULT_RETRY_MAX_MS;
    cfg->connect_timeout_ms = STREAM_DEFAULT_CONNECT_TIMEOUT_S * 1000u;
    cfg->max_event_bytes = STREAM_DEFAULT_MAX_EVENT_BYTES;
}

/* A header name: visible ASCII, no ':' (the full token check is the
 * configuration's). */
static int header_name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return 0;
    for (const char *p = name; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
            *p == ':')
            return 0;
    return 1;
}

/* Copy cfg->secret_headers as "Name: value" lines.  Messages name the
 * header and its variable, never the value. */
static int copy_secret_headers(stream *s, const struct stream_config *cfg)
{
    for (size_t i = 0; i < cfg->n_secret_headers; i++) {
        const struct stream_secret_header *h = &cfg->secret_headers[i];
        const char *env = h->env != NULL ? h->env : "(unnamed)";
        size_t nlen, vlen;
        char *line;

        if (!header_name_ok(h->name)) {
            LOG(LOG_ERROR, "stream", "invalid name for the secret header "
                "#%zu (from %s): want a header name", i + 1, env);
            return STREAM_EINVAL;
        }
        if (h->value == NULL || h->value[0] == '\0' ||
            has_crlf_or_nul(h->value, strlen(h->value))) {
            LOG(LOG_ERROR, "stream", "the value of header %s in %s is "
                "empty or contains a line break", h->name, env);
            return STREAM_EINVAL;
        }
        nlen = strlen(h->name);
        vlen = strlen(h->value);
        if ((line = malloc(nlen + 2 + vlen + 1)) == NULL)
            return STREAM_ENOMEM;
        memcpy(line, h->name, nlen);
        memcpy(line + nlen, ": ", 2);
        memcpy(line + nlen + 2, h->value, vlen + 1);
        s->secret_headers[s->n_secret_headers++] = line;
    }
    return STREAM_OK;
}

static int copy_config(stream *s, const struct stream_config *cfg)
{
    int rc;

    if (cfg->url == NULL || cfg->n_headers > STREAM_MAX_HEADERS ||
        cfg->n_secret_headers > STREAM_MAX_HEADERS ||
        cfg->retry_base_ms == 0 || cfg->retry_max_ms < cfg->retry_base_ms ||
        cfg->stall_timeout_ms == 0)
        return STREAM_EINVAL;
    for (size_t i = 0; i < cfg->n_headers; i++) {
        const char *colon = strchr(cfg->headers[i], ':');
        if (colon == NULL || colon == cfg->headers[i] ||
            has_crlf_or_nul(cfg->headers[i], strlen(cfg->headers[i]))) {
            LOG(LOG_ERROR, "stream", "invalid header #%zu: want \"Name: "
                "value\" on one line", i + 1);
            return STREAM_EINVAL;
        }
        if ((s->headers[i] = strdup(cfg->headers[i])) == NULL)
            return STREAM_ENOMEM;
        s->n_headers++;
    }
    if ((rc = copy_secret_headers(s, cfg)) != STREAM_OK)
        return rc;
    if (cfg->api_key != NULL) {
        s->api_key_len = strlen(cfg->api_key);
        if (has_crlf_or_nul(cfg->api_key, s->api_key_len)) {
            LOG(LOG_ERROR, "stream", "the API key in %s contains a line "
                "break", cfg->api_key_env ? cfg->api_key_env : "(unnamed)");
            return STREAM_EINVAL;
        }
    }
    s->url = strdup(cfg->url);
    s->api_key = dup_or_null(cfg->api_key);
    s->api_key_env = dup_or_null(cfg->api_key_env);
    s->ca_file = dup_or_null(cfg->ca_file);
    if (s->url == NULL || (cfg->api_key && !s->api_key) ||
        (cfg->api_key_env && !s->api_key_env) ||
        (cfg->ca_file && !s->ca_file))
        return STREAM_ENOMEM;
    s->stall_timeout_ms = cfg->stall_timeout_ms;
    s->retry_base_ms = cfg->retry_base_ms;
    s->retry_max_ms = cfg->retry_max_ms;
    s->connect_timeout_ms = cfg->connect_timeout_ms;
    s->once = cfg->once;
    stream_safe_url(s->url, s->safe_url, sizeof s->safe_url);
    return STREAM_OK;
}

static int setup_easy(stream *s)
{
    CURL *e = curl_easy_init();
    const char *redir;

    if (e == NULL)
        return STREAM_ECURL;
    s->easy = e;
    /* An https stream follows redirects to https only: a downgrade would
     * let anyone on the path forge audit records. */
    redir = strncasecmp(s->url, "https://", 8) == 0 ? "https" : "http,https";
    if (curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
            CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, redir) !=
            CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSLVERSION,
                         (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK)
        return STREAM_ECURL;
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    /* libcurl sends custom headers on to whatever host a redirect names
     * (it drops only Authorization): with headers whose values are
     * secrets (stream.headers_env), a 3xx is not followed but reported */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
                     s->n_secret_headers > 0 ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)s->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "toolwatch/" TW_VERSION);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    /* one recv(2) and one pass of the parser per STREAM_RECV_BUFFER bytes
     * (a backlog arrives in big reads, not one syscall per 16 KB) */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)STREAM_RECV_BUFFER);
    return STREAM_OK;
}

stream *stream_create(loop *lp, const struct stream_config *cfg,
                      const struct stream_callbacks *cb, void *ud)
{
    stream *s = calloc(1, sizeof *s);
    char id[POSITION_ID_MAX];
    size_t idlen = 0;
    int rc = STREAM_ENOMEM;

    if (s == NULL)
        goto out;
    position_init(&s->pos);
    s->lp = lp;
    s->cb = cb;
    s->ud = ud;
    if ((rc = copy_config(s, cfg)) != STREAM_OK)
        goto out;
    if (sse_parser_init(&s->parser, &parser_settings, s,
                        cfg->max_event_bytes) != SSE_OK) {
        rc = STREAM_ENOMEM;
        goto out;
    }
    if (cfg->last_event_id != NULL &&
        (!position_id_ok(cfg->last_event_id, strlen(cfg->last_event_id)) ||
         sse_parser_set_last_id(&s->parser, cfg->last_event_id,
                                strlen(cfg->last_event_id)) != SSE_OK)) {
        LOG(LOG_ERROR, "stream", "invalid Last-Event-ID (line break, NUL or "
            "longer than %d bytes)", POSITION_ID_MAX - 1);
        rc = STREAM_EINVAL;
        goto out;
    }
    if (cfg->state_dir != NULL) {
        /* a usable position file wins over cfg->last_event_id */
        rc = position_open(&s->pos, cfg->state_dir, id, &idlen);
        if (rc < 0) {
            rc = rc == POSITION_ENOMEM ? STREAM_ENOMEM : STREAM_EIO;
            goto out;
        }
        if (rc == 1)
            sse_parser_set_last_id(&s->parser, id, idlen);
    }
    backoff_rng_seed(&s->rng, (uint64_t)clock_wall_ms() ^
                                  ((uint64_t)getpid() << 32) ^
                                  (uint64_t)(uintptr_t)s);
    rc = setup_easy(s);
out:
    if (rc != STREAM_OK && s != NULL) {
        LOG(LOG_ERROR, "stream", "cannot create the stream reader: %s",
            stream_strerror(rc));
        stream_destroy(s);
        s = NULL;
    }
    return s;
}

void stream_destroy(stream *s)
{
    if (s == NULL)
        return;
    if (s->lp != NULL && s->parser.line != NULL)
        stream_stop(s);
    if (s->easy != NULL)
        curl_easy_cleanup(s->easy);
    free_req_headers(s->req_headers);
    sse_parser_free(&s->parser);
    for (size_t i = 0; i < s->n_headers; i++)
        free(s->headers[i]);
    for (size_t i = 0; i < s->n_secret_headers; i++) {
        explicit_bzero(s->secret_headers[i], strlen(s->secret_headers[i]));
        free(s->secret_headers[i]);
    }
    if (s->api_key != NULL) {
        explicit_bzero(s->api_key, s->api_key_len);
        free(s->api_key);
    }
    free(s->url);
    free(s->api_key_env);
    free(s->ca_file);
    position_reset(&s->pos);
    free(s);
}

int stream_start(stream *s)
{
    if (s->handed_over)
        return STREAM_EINVAL;
    return connect_now(s);
}

int64_t stream_tick(stream *s)
{
    int64_t now = loop_now(s->lp);
    int64_t next = now + PERSIST_INTERVAL_MS;
    int64_t stall_at;

    if (s->in_transfer) {
        stall_at = s->stats.last_byte_ms + (int64_t)s->stall_timeout_ms;
        if (now >= stall_at) {
            loop_remove(s->lp, s->easy);
            end_connection(s, END_STALL, CURLE_OK);
        } else if (stall_at < next) {
            next = stall_at;
        }
    }
    if (s->state == STREAM_WAITING) {
        if (now >= s->reconnect_at) {
            if (connect_now(s) != STREAM_OK) {
                s->reconnect_at = now + (int64_t)s->retry_max_ms;
                LOG(LOG_ERROR, "stream", "cannot start a request to %s",
                    s->safe_url);
            }
        }
        if (s->state == STREAM_WAITING && s->reconnect_at < next)
            next = s->reconnect_at;
    }
    if (position_dir(&s->pos) != NULL &&
        now - s->last_persist >= PERSIST_INTERVAL_MS)
        stream_persist(s);
    return next;
}

void stream_stop(stream *s)
{
    if (s->in_transfer) {
        loop_remove(s->lp, s->easy);
        s->in_transfer = 0;
        sse_parser_finish(&s->parser);
        s->stats.invalid_utf8 = s->parser.stats.invalid_utf8;
    }
    if (s->state != STREAM_DONE) {
        s->ended_ok = 1;
        set_state(s, STREAM_DONE);
    }
    stream_persist(s);
}

enum stream_state stream_state(const stream *s)
{
    return s->state;
}

const struct stream_stats *stream_stats(const stream *s)
{
    return &s->stats;
}

int stream_ended_ok(const stream *s)
{
    return s->ended_ok;
}

const char *stream_last_event_id(const stream *s, size_t *len)
{
    return sse_parser_last_id(&s->parser, len);
}

const char *stream_state_name(enum stream_state st)
{
    switch (st) {
    case STREAM_IDLE:
        return "idle";
    case STREAM_CONNECTING:
        return "connecting";
    case STREAM_CONNECTED:
        return "connected";
    case STREAM_WAITING:
        return "waiting";
    case STREAM_DONE:
        return "done";
    }
    return "unknown";
}

const char *stream_strerror(int rc)
{
    switch (rc) {
    case STREAM_OK:
        return "ok";
    case STREAM_ENOMEM:
        return "out of memory";
    case STREAM_EINVAL:
        return "invalid configuration";
    case STREAM_ECURL:
        return "libcurl error";
    case STREAM_EIO:
        return "I/O error in the state directory";
    }
    return "unknown error";
}
