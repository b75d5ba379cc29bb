/*
 * request.c - one HTTP request to a receiver and what its answer means
 * (request.h).
 *
 * Invariants:
 *  - the easy handle's options that never change (URL, protocols, TLS,
 *    timeouts, callbacks) are set once in request_create(); an attempt
 *    only replaces the header list and the body (request_prepare());
 *  - `resp` never holds more than REQUEST_RESPONSE_MAX bytes: the rest of
 *    an answer is read and thrown away, so a hostile receiver cannot grow
 *    it;
 *  - `body` is wiped before it is reused or freed: a PagerDuty body holds
 *    the routing key;
 *  - an Alertmanager sink's credentials live in the easy handle only
 *    (libcurl's copies), never in a header list or a message.
 */
#include "alerts/request.h"

#include "base/backoff.h"
#include "base/buf.h"
#include "base/clock.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif

struct request {
    CURL *easy;
    struct curl_slist *hdrs;
    buf body;                    /* what the attempt sends */
    buf resp;                    /* the start of the answer */
    int has_retry_after;
    uint64_t retry_after_ms;
    char errbuf[CURL_ERROR_SIZE];
    /* alertmanager: what its bodies depend on, copied at create time */
    char *generator_url;
    uint64_t ends_after_s;
};

/* ---- the answer --------------------------------------------------------- */

static size_t on_resp_body(char *p, size_t size, size_t n, void *ud)
{
    request *r = ud;
    size_t len = size * n, room = REQUEST_RESPONSE_MAX - r->resp.len;

    buf_append(&r->resp, p, len < room ? len : room);
    return len;
}

static size_t on_resp_header(char *line, size_t size, size_t n, void *ud)
{
    static const char name[] = "retry-after:";
    request *r = ud;
    size_t len = size * n, k = sizeof name - 1;

    if (len > k && strncasecmp(line, name, k) == 0) {
        size_t vlen = len - k;
        const char *v = line + k;
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        r->has_retry_after =
            backoff_parse_retry_after(v, vlen, clock_wall_ms(),
                                      REQUEST_RETRY_AFTER_MAX_MS,
                                      &r->retry_after_ms) == BACKOFF_OK;
    }
    return len;
}

enum request_outcome request_classify(CURLcode rc, long status)
{
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
        return REQUEST_DROP;
    if (rc != CURLE_OK)
        return REQUEST_RETRY;
    if (status >= 200 && status < 300)
        return REQUEST_OK;
    if (status == 408 || status == 429 || status >= 500 || status == 0)
        return REQUEST_RETRY;
    if (status == 410)
        return REQUEST_GONE;
    return REQUEST_DROP;
}

const char *request_outcome_name(enum request_outcome o)
{
    switch (o) {
    case REQUEST_OK:
        return "delivered";
    case REQUEST_RETRY:
        return "retry";
    case REQUEST_DROP:
        return "dead_lettered";
    case REQUEST_GONE:
        return "gone";
    }
    return "unknown";
}

void request_answer(request *r, CURLcode rc, struct request_answer *a)
{
    memset(a, 0, sizeof *a);
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &a->status);
    a->outcome = request_classify(rc, a->status);
    a->has_retry_after = r->has_retry_after;
    a->retry_after_ms = r->retry_after_ms;
    a->response = r->resp.data != NULL ? r->resp.data : "";
    a->response_len = r->resp.len;
    if (rc != CURLE_OK)
        snprintf(a->error, sizeof a->error, "%s",
                 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
    else
        snprintf(a->error, sizeof a->error, "HTTP %ld", a->status);
}

/* ---- the request -------------------------------------------------------- */

/* An Alertmanager sink's URL (its API path added), its credentials (at
 * most one kind: basic auth or a bearer token, sent from the first
 * request; libcurl keeps copies) and what its bodies depend on.  Returns
 * REQUEST_EOK, REQUEST_EINVAL (both kinds of credentials) or
 * REQUEST_ENOMEM. */
static int am_setup(request *r, const struct sink_config *c)
{
    buf url;
    int rc = REQUEST_EINVAL;

    buf_init(&url, 8192);
    if (c->password != NULL && c->bearer_token != NULL)
        goto out;
    rc = REQUEST_ENOMEM;
    if (sink_am_url(c->url, &url) != BUF_OK ||
        buf_append(&url, "", 0) != BUF_OK)
        goto out;
    if (c->generator_url != NULL &&
        (r->generator_url = strdup(c->generator_url)) == NULL)
        goto out;
    r->ends_after_s = c->ends_after_s;
    if (curl_easy_setopt(r->easy, CURLOPT_URL, url.data) != CURLE_OK)
        goto out;
    if (c->password != NULL &&
        (curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH,
                          (long)CURLAUTH_BASIC) != CURLE_OK ||
         curl_easy_setopt(r->easy, CURLOPT_USERNAME,
                          c->username != NULL ? c->username : "") !=
             CURLE_OK ||
         curl_easy_setopt(r->easy, CURLOPT_PASSWORD, c->password) !=
             CURLE_OK))
        goto out;
    if (c->bearer_token != NULL &&
        (curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH,
                          (long)CURLAUTH_BEARER) != CURLE_OK ||
         curl_easy_setopt(r->easy, CURLOPT_XOAUTH2_BEARER,
                          c->bearer_token) != CURLE_OK))
        goto out;
    rc = REQUEST_EOK;
out:
    buf_free(&url);
    return rc;
}

request *request_create(const struct sink_config *c, int *err)
{
    request *r = NULL;
    int rc = REQUEST_EINVAL;

    if (c == NULL || c->url == NULL ||
        (c->kind != SINK_WEBHOOK && c->kind != SINK_SLACK &&
         c->kind != SINK_PAGERDUTY && c->kind != SINK_ALERTMANAGER))
        goto out;
    rc = REQUEST_ENOMEM;
    if ((r = calloc(1, sizeof *r)) == NULL)
        goto out;
    buf_init(&r->body, SINK_BODY_MAX);
    buf_init(&r->resp, REQUEST_RESPONSE_MAX);
    if ((r->easy = curl_easy_init()) == NULL)
        goto out;
    curl_easy_setopt(r->easy, CURLOPT_URL, c->url);
    if (c->kind == SINK_ALERTMANAGER && (rc = am_setup(r, c)) != REQUEST_EOK)
        goto out;
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)c->connect_timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(r->easy, CURLOPT_SSLVERSION,
                     (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "toolwatch/" TW_VERSION);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_resp_body);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_resp_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    rc = REQUEST_EOK;
out:
    if (rc != REQUEST_EOK) {
        request_destroy(r);
        r = NULL;
    }
    if (err != NULL)
        *err = rc;
    return r;
}

void request_destroy(request *r)
{
    if (r == NULL)
        return;
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    if (r->body.data != NULL)
        sodium_memzero(r->body.data, r->body.len); /* a routing key */
    buf_free(&r->body);
    buf_free(&r->resp);
    free(r->generator_url);
    free(r);
}

CURL *request_handle(const request *r)
{
    return r->easy;
}

static int add_header(struct curl_slist **h, const char *line)
{
    struct curl_slist *t = curl_slist_append(*h, line);

    if (t == NULL)
        return REQUEST_ENOMEM;
    *h = t;
    return REQUEST_EOK;
}

/* The headers of one attempt: JSON, no 100-continue, and for the generic
 * webhook the Standard Webhooks id, timestamp and signature over the
 * body. */
static int build_headers(request *r, enum sink_kind kind,
                         const sign_keys *keys, const char *msg_id,
                         int64_t ts)
{
    char line[SIGN_HEADER_MAX + 64], sig[SIGN_HEADER_MAX];
    int rc;

    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    if ((rc = add_header(&r->hdrs, "Content-Type: application/json")) !=
            REQUEST_EOK ||
        (rc = add_header(&r->hdrs, "Expect:")) != REQUEST_EOK)
        goto out;
    if (kind != SINK_WEBHOOK)
        goto out;
    snprintf(line, sizeof line, "webhook-id: %s", msg_id);
    if ((rc = add_header(&r->hdrs, line)) != REQUEST_EOK)
        goto out;
    snprintf(line, sizeof line, "webhook-timestamp: %lld", (long long)ts);
    if ((rc = add_header(&r->hdrs, line)) != REQUEST_EOK || keys == NULL)
        goto out;
    if (sign_header(keys, msg_id, ts, r->body.data, r->body.len, sig,
                    sizeof sig) < 0) {
        rc = REQUEST_ESIGN;
        goto out;
    }
    snprintf(line, sizeof line, "webhook-signature: %s", sig);
    rc = add_header(&r->hdrs, line);
out:
    return rc;
}

int request_prepare(request *r, const struct sink_config *c,
                    const sign_keys *keys, const char *msg_id, int64_t now_s,
                    const char *doc, size_t len)
{
    int rc;

    if (r->body.data != NULL)
        sodium_memzero(r->body.data, r->body.len);
    buf_reset(&r->body);
    buf_reset(&r->resp);
    r->has_retry_after = 0;
    r->retry_after_ms = 0;
    r->errbuf[0] = '\0';
    if (c->kind == SINK_ALERTMANAGER) {
        struct sink_am_params p = {.now_ms = now_s * 1000,
                                   .ends_after_s = r->ends_after_s,
                                   .generator_url = r->generator_url};

        rc = sink_render_alertmanager(doc, len, &p, &r->body);
    } else {
        rc = sink_render(c->kind, doc, len, c->routing_key, &r->body);
    }
    if (rc != SINK_OK) {
        rc = rc == SINK_ENOMEM ? REQUEST_ENOMEM : REQUEST_ERENDER;
        goto out;
    }
    rc = build_headers(r, c->kind, keys, msg_id, now_s);
    if (rc != REQUEST_EOK)
        goto out;
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body.data);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)r->body.len);
out:
    return rc;
}

const char *request_strerror(int rc)
{
    switch (rc) {
    case REQUEST_EOK:
        return "ok";
    case REQUEST_ENOMEM:
        return "out of memory";
    case REQUEST_EINVAL:
        return "not a network sink, or no URL";
    case REQUEST_ERENDER:
        return "the notification cannot be rendered for this receiver";
    case REQUEST_ESIGN:
        return "the request cannot be signed";
    }
    return "unknown request error";
}
