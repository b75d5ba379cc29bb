/*
 * request.h - one HTTP request to a receiver, and what its answer means.
 *
 * A request is the reusable half of a network sink's attempts: a libcurl
 * easy handle set up once with the sink's URL and the transfer rules every
 * sink shares (http and https only, no redirects, TLS 1.2+ with peer and
 * host verification, the sink's timeouts), the header list, the body and
 * the first REQUEST_RESPONSE_MAX bytes of the answer.  request_prepare()
 * builds one attempt for one notification: the body the receiver expects
 * (sink_render in alerts/sink.h: the document, a Slack message, a
 * PagerDuty event carrying the routing key, an Alertmanager alert whose
 * endsAt counts from the attempt's time) and the headers (JSON, no
 * 100-continue, and for the generic webhook the Standard Webhooks
 * webhook-id, webhook-timestamp and webhook-signature).  The caller runs
 * the transfer -- on the event loop (delivery) or blocking (send-test) --
 * and request_answer() says what the answer means:
 *
 *   REQUEST_OK     2xx
 *   REQUEST_RETRY  network error, timeout, no status, 408, 429, 5xx
 *                  (Retry-After read: delta-seconds or an HTTP date,
 *                  capped at REQUEST_RETRY_AFTER_MAX_MS)
 *   REQUEST_GONE   410: the receiver retired the URL
 *   REQUEST_DROP   any other status, a malformed URL, a scheme other than
 *                  http(s): sending again cannot help
 *
 * Outcomes (enum request_outcome, REQUEST_OK...) and return codes
 * (REQUEST_EOK, REQUEST_E...) are different names on purpose: an attempt
 * that the receiver refused is a successful call.
 *
 * Secrets: the body of a PagerDuty attempt holds the routing key and the
 * URL of a Slack sink is the credential; both stay inside the request and
 * are wiped when it is destroyed.  Error texts name statuses and libcurl
 * errors, never a secret.  A request is used by one thread.
 */
#ifndef TW_REQUEST_H
#define TW_REQUEST_H

#include "alerts/sign.h"
#include "alerts/sink.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/* What an attempt's answer means. */
enum request_outcome {
    REQUEST_OK = 0,
    REQUEST_RETRY,
    REQUEST_DROP,
    REQUEST_GONE
};

/* Return codes. */
enum {
    REQUEST_EOK = 0,
    REQUEST_ENOMEM = -1,  /* out of memory (curl handle, headers, body) */
    REQUEST_EINVAL = -2,  /* not a network sink, or no URL */
    REQUEST_ERENDER = -3, /* the document cannot be rendered for this
                             receiver: sending it can never work */
    REQUEST_ESIGN = -4    /* the signature could not be made */
};

#define REQUEST_RESPONSE_MAX 4096 /* bytes of a receiver's answer kept */
#define REQUEST_RETRY_AFTER_MAX_MS (3600u * 1000u)

typedef struct request request;

/* An attempt's result, filled by request_answer(). */
struct request_answer {
    enum request_outcome outcome;
    long status;              /* HTTP status, 0 when there was none */
    int has_retry_after;      /* a valid Retry-After came with it */
    uint64_t retry_after_ms;  /* its delay, when has_retry_after */
    const char *response;     /* the first REQUEST_RESPONSE_MAX bytes of the
                                 answer's body, NUL-terminated ("" when
                                 none): points into the request, valid
                                 until its next request_prepare() or
                                 request_destroy() */
    size_t response_len;
    char error[CURL_ERROR_SIZE + 32]; /* "HTTP 503", or the transfer's
                                         error; no secrets */
};

/* Create the request of network sink `c` (webhook, Slack, PagerDuty,
 * Alertmanager): a libcurl easy handle with c->url (Alertmanager: its
 * API path added, and its basic auth or bearer token), c's timeouts and
 * the shared transfer rules.  libcurl copies the URL and credentials; an
 * Alertmanager's generator_url and ends_after_s are copied too; nothing
 * else of `c` is kept.  Returns NULL with *err (may be NULL) set to
 * REQUEST_EINVAL (a file or stdout sink, no URL, both basic auth and a
 * bearer token) or REQUEST_ENOMEM. */
request *request_create(const struct sink_config *c, int *err);

/* Wipe the body (it may hold a routing key) and free.  The transfer must
 * not be running (remove it from the loop first).  Accepts NULL. */
void request_destroy(request *r);

/* Build the next attempt: the body for c->kind from the alert document
 * doc[0..len) (c->routing_key for PagerDuty), the headers, and for a
 * webhook with `keys` (may be NULL: no signature) the Standard Webhooks
 * headers for `msg_id` at `now_s` (Unix seconds).  `c` must be the
 * settings the request was created with (or the same kind); it is read
 * during the call only.  The answer of the previous attempt is forgotten.
 * Returns REQUEST_EOK, REQUEST_ERENDER (drop the notification),
 * REQUEST_ENOMEM or REQUEST_ESIGN (a local failure: try again later). */
int request_prepare(request *r, const struct sink_config *c,
                    const sign_keys *keys, const char *msg_id, int64_t now_s,
                    const char *doc, size_t len);

/* The easy handle, to hand to the loop (loop_add) or curl_easy_perform.
 * Owned by the request. */
CURL *request_handle(const request *r);

/* The transfer of the prepared attempt ended with `rc`: fill *a with what
 * the answer means (status, outcome, Retry-After, answer body, error
 * text).  May be called from a loop_xfer done callback. */
void request_answer(request *r, CURLcode rc, struct request_answer *a);

/* What a transfer's result means (pure; see the table above). */
enum request_outcome request_classify(CURLcode rc, long status);

/* "delivered", "retry", "dead_lettered" or "gone": what becomes of the
 * notification. */
const char *request_outcome_name(enum request_outcome o);

const char *request_strerror(int rc);

#endif
