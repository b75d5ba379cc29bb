/*
 * test_request.c - one request to a receiver: what it sends (body and
 * headers for each sink kind, the Standard Webhooks signature), and what
 * an answer means (classification, Retry-After, the kept start of the
 * answer, transfer errors).
 *
 * A one-shot peer on 127.0.0.1 (a thread: accept one connection, read one
 * request, write one canned answer) stands in for the receiver, so the
 * request is checked byte for byte as it leaves.  Transfer errors that
 * need no peer use URLs libcurl refuses by itself.
 */
#include "alerts/request.h"

#include "alerts/sign.h"
#include "base/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"

static const char doc[] =
    "{\"type\":\"alert.firing\",\"timestamp\":\"2026-03-10T02:48:00.000Z\","
    "\"data\":{\"id\":\"ep0001\",\"rule\":\"volume\",\"kind\":"
    "\"count\",\"group\":{\"tool_name\":\"crm_search\"},"
    "\"key\":\"crm_search\",\"state\":\"firing\",\"severity\":"
    "\"warning\",\"summary\":\"n=1\",\"value\":101,\"threshold\":100,"
    "\"window_s\":60,\"started_at\":\"2026-03-10T02:47:00.000Z\","
    "\"resolved_at\":null,\"sample\":{},\"source\":\"test\"}}";

/* ---- the one-shot peer -------------------------------------------------- */

struct peer {
    int lfd;
    uint16_t port;
    pthread_t th;
    const char *answer;       /* written back verbatim */
    char req[64 * 1024];      /* what was received: head and body */
    size_t req_len;
    size_t head_len;          /* up to and including the blank line */
};

/* Content-Length of a request head, or 0. */
static size_t content_length(const char *head, size_t len)
{
    static const char name[] = "\r\ncontent-length:";
    size_t k = sizeof name - 1;

    for (size_t i = 0; i + k < len; i++) {
        if (strncasecmp(head + i, name, k) == 0)
            return (size_t)strtoul(head + i + k, NULL, 10);
    }
    return 0;
}

static void *peer_run(void *arg)
{
    struct peer *p = arg;
    int fd = accept(p->lfd, NULL, NULL);
    size_t want = SIZE_MAX;

    if (fd < 0)
        return NULL;
    while (p->req_len < want && p->req_len < sizeof p->req - 1) {
        ssize_t n = read(fd, p->req + p->req_len,
                         sizeof p->req - 1 - p->req_len);
        char *end;
        if (n <= 0)
            break;
        p->req_len += (size_t)n;
        p->req[p->req_len] = '\0';
        if (p->head_len == 0 && (end = strstr(p->req, "\r\n\r\n")) != NULL) {
            p->head_len = (size_t)(end - p->req) + 4;
            want = p->head_len + content_length(p->req, p->head_len);
        }
    }
    if (write(fd, p->answer, strlen(p->answer)) < 0)
        perror("peer write");
    close(fd);
    return NULL;
}

static void peer_start(struct peer *p, const char *answer)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;

    memset(p, 0, sizeof *p);
    p->answer = answer;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->lfd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->lfd, 1), 0);
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &alen), 0);
    p->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&p->th, NULL, peer_run, p), 0);
}

static void peer_join(struct peer *p)
{
    pthread_join(p->th, NULL);
    close(p->lfd);
}

/* The value of header `name` in the received head (copied), or NULL. */
static const char *peer_header(const struct peer *p, const char *name,
                               char *out, size_t size)
{
    size_t k = strlen(name);

    for (const char *l = strstr(p->req, "\r\n"); l != NULL &&
                                                 l < p->req + p->head_len;
         l = strstr(l + 2, "\r\n")) {
        const char *v = l + 2, *e;
        if (strncasecmp(v, name, k) != 0 || v[k] != ':')
            continue;
        v += k + 1;
        while (*v == ' ')
            v++;
        e = strstr(v, "\r\n");
        snprintf(out, size, "%.*s", (int)(e - v), v);
        return out;
    }
    return NULL;
}

/* ---- helpers ------------------------------------------------------------ */

/* The defaults of `kind`, with a URL nobody listens on (exchange() puts
 * its peer's instead). */
static void sink(struct sink_config *c, enum sink_kind kind)
{
    sink_config_defaults(c, kind);
    snprintf(c->name, sizeof c->name, "%s", sink_kind_name(kind));
    c->url = "http://127.0.0.1:1/hook";
}

/* Prepare and perform one attempt of `c` against a peer answering
 * `answer`; *a gets the answer, *p what the peer received. */
static void exchange(struct peer *p, struct sink_config *c,
                     const sign_keys *keys, const char *answer,
                     struct request_answer *a, request **keep)
{
    char url[64];
    request *r;
    CURLcode cc;

    peer_start(p, answer);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", (unsigned)p->port);
    c->url = url;
    r = request_create(c, NULL);
    assert_non_null(r);
    assert_int_equal(request_prepare(r, c, keys, MSG_ID,
                                     clock_wall_ms() / 1000, doc,
                                     strlen(doc)),
                     REQUEST_EOK);
    cc = curl_easy_perform(request_handle(r));
    request_answer(r, cc, a);
    peer_join(p);
    c->url = NULL;
    *keep = r; /* a->response points into it */
}

/* ---- tests -------------------------------------------------------------- */

static void test_classify(void **state)
{
    static const struct {
        CURLcode rc;
        long status;
        enum request_outcome want;
    } cases[] = {
        {CURLE_OK, 200, REQUEST_OK},
        {CURLE_OK, 204, REQUEST_OK},
        {CURLE_OK, 299, REQUEST_OK},
        {CURLE_OK, 408, REQUEST_RETRY},
        {CURLE_OK, 429, REQUEST_RETRY},
        {CURLE_OK, 500, REQUEST_RETRY},
        {CURLE_OK, 503, REQUEST_RETRY},
        {CURLE_OK, 599, REQUEST_RETRY},
        {CURLE_OK, 410, REQUEST_GONE},
        {CURLE_OK, 400, REQUEST_DROP},
        {CURLE_OK, 401, REQUEST_DROP},
        {CURLE_OK, 404, REQUEST_DROP},
        {CURLE_OK, 301, REQUEST_DROP},
        {CURLE_COULDNT_CONNECT, 0, REQUEST_RETRY},
        {CURLE_OPERATION_TIMEDOUT, 0, REQUEST_RETRY},
        {CURLE_RECV_ERROR, 0, REQUEST_RETRY},
        {CURLE_URL_MALFORMAT, 0, REQUEST_DROP},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(request_classify(cases[i].rc, cases[i].status),
                         cases[i].want);
    assert_string_equal(request_outcome_name(REQUEST_OK), "delivered");
    assert_string_equal(request_outcome_name(REQUEST_RETRY), "retry");
    assert_string_equal(request_outcome_name(REQUEST_DROP), "dead_lettered");
    assert_string_equal(request_outcome_name(REQUEST_GONE), "gone");
}

static void test_create_refuses(void **state)
{
    struct sink_config c;
    int err = 0;

    (void)state;
    sink_config_defaults(&c, SINK_FILE);
    c.path = "/tmp/x";
    assert_null(request_create(&c, &err));
    assert_int_equal(err, REQUEST_EINVAL);
    sink_config_defaults(&c, SINK_WEBHOOK); /* no URL */
    err = 0;
    assert_null(request_create(&c, &err));
    assert_int_equal(err, REQUEST_EINVAL);
    assert_null(request_create(NULL, NULL));
    request_destroy(NULL);
    assert_string_equal(request_strerror(REQUEST_ERENDER),
                        "the notification cannot be rendered for this "
                        "receiver");
}

/* The generic webhook: POST, JSON, the document as the body, the Standard
 * Webhooks headers with a signature any verifier accepts; 2xx is OK. */
static void test_webhook_request(void **state)
{
    const char *secret = SECRET;
    struct sink_config c;
    struct request_answer a;
    struct peer p;
    char v[512];
    sign_keys *k;
    request *r;
    int64_t ts;
    int err;
    size_t bad;

    (void)state;
    sink(&c, SINK_WEBHOOK);
    k = sign_keys_create(&secret, 1, &err, &bad);
    assert_non_null(k);
    exchange(&p, &c, k,
             "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", &a, &r);
    assert_int_equal(a.outcome, REQUEST_OK);
    assert_int_equal(a.status, 204);
    assert_string_equal(a.error, "HTTP 204");
    assert_memory_equal(p.req, "POST /hook HTTP/1.1\r\n", 21);
    assert_string_equal(peer_header(&p, "content-type", v, sizeof v),
                        "application/json");
    assert_null(peer_header(&p, "expect", v, sizeof v));
    assert_string_equal(peer_header(&p, "webhook-id", v, sizeof v), MSG_ID);
    assert_non_null(peer_header(&p, "user-agent", v, sizeof v));
    assert_memory_equal(v, "toolwatch/", 10);
    assert_int_equal(p.req_len - p.head_len, strlen(doc));
    assert_memory_equal(p.req + p.head_len, doc, strlen(doc));
    assert_int_equal(sign_parse_timestamp(
                         peer_header(&p, "webhook-timestamp", v, sizeof v),
                         &ts),
                     SIGN_OK);
    assert_non_null(peer_header(&p, "webhook-signature", v, sizeof v));
    assert_int_equal(sign_verify(k, MSG_ID, ts, p.req + p.head_len,
                                 p.req_len - p.head_len, v,
                                 clock_wall_ms() / 1000, 300),
                     SIGN_OK);
    request_destroy(r);
    sign_keys_destroy(k);
}

/* Without keys, a webhook is sent unsigned (id and timestamp only). */
static void test_webhook_unsigned(void **state)
{
    struct sink_config c;
    struct request_answer a;
    struct peer p;
    char v[512];
    request *r;

    (void)state;
    sink(&c, SINK_WEBHOOK);
    exchange(&p, &c, NULL,
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &a, &r);
    assert_int_equal(a.outcome, REQUEST_OK);
    assert_string_equal(a.response, "ok");
    assert_non_null(peer_header(&p, "webhook-id", v, sizeof v));
    assert_non_null(peer_header(&p, "webhook-timestamp", v, sizeof v));
    assert_null(peer_header(&p, "webhook-signature", v, sizeof v));
    request_destroy(r);
}

/* PagerDuty and Slack get their own bodies and no webhook headers; the
 * routing key travels only in the PagerDuty body. */
static void test_other_kinds(void **state)
{
    struct sink_config c;
    struct request_answer a;
    struct peer p;
    char v[512];
    request *r;

    (void)state;
    sink(&c, SINK_PAGERDUTY);
    c.routing_key = "R0UT1NG-KEY-9f3b2";
    exchange(&p, &c, NULL,
             "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", &a, &r);
    assert_int_equal(a.outcome, REQUEST_OK);
    assert_null(peer_header(&p, "webhook-id", v, sizeof v));
    assert_non_null(strstr(p.req + p.head_len,
                           "\"routing_key\":\"R0UT1NG-KEY-9f3b2\""));
    assert_non_null(strstr(p.req + p.head_len,
                           "\"event_action\":\"trigger\""));
    assert_non_null(strstr(p.req + p.head_len, "\"dedup_key\":\"ep0001\""));
    request_destroy(r);

    sink(&c, SINK_SLACK);
    exchange(&p, &c, NULL, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
             &a, &r);
    assert_int_equal(a.outcome, REQUEST_OK);
    assert_null(peer_header(&p, "webhook-id", v, sizeof v));
    assert_non_null(strstr(p.req + p.head_len, "\"blocks\":["));
    request_destroy(r);
}

/* 429 with Retry-After: RETRY, the delay read; the start of the answer's
 * body is kept, at most REQUEST_RESPONSE_MAX bytes. */
static void test_answer_retry_after_and_body(void **state)
{
    static char answer[8192];
    struct sink_config c;
    struct request_answer a;
    struct peer p;
    request *r;
    int n;

    (void)state;
    n = snprintf(answer, sizeof answer,
                 "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
                 "Content-Length: 5000\r\nConnection: close\r\n\r\n");
    memset(answer + n, 'x', 5000);
    answer[n + 5000] = '\0';
    sink(&c, SINK_WEBHOOK);
    exchange(&p, &c, NULL, answer, &a, &r);
    assert_int_equal(a.outcome, REQUEST_RETRY);
    assert_int_equal(a.status, 429);
    assert_true(a.has_retry_after);
    assert_int_equal(a.retry_after_ms, 7000);
    assert_int_equal(a.response_len, REQUEST_RESPONSE_MAX);
    assert_int_equal(strlen(a.response), REQUEST_RESPONSE_MAX);
    request_destroy(r);

    sink(&c, SINK_WEBHOOK);
    exchange(&p, &c, NULL,
             "HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone", &a, &r);
    assert_int_equal(a.outcome, REQUEST_GONE);
    assert_false(a.has_retry_after);
    assert_string_equal(a.response, "gone");
    request_destroy(r);

    sink(&c, SINK_WEBHOOK);
    exchange(&p, &c, NULL,
             "HTTP/1.1 400 Bad Request\r\nContent-Length: 20\r\n\r\n"
             "bad payload: field x",
             &a, &r);
    assert_int_equal(a.outcome, REQUEST_DROP);
    assert_string_equal(a.response, "bad payload: field x");
    assert_string_equal(a.error, "HTTP 400");
    request_destroy(r);
}

/* A scheme other than http(s) and a malformed URL are refused by libcurl
 * before any connection: DROP, no status, the error text kept. */
static void test_answer_transfer_errors(void **state)
{
    static const char *const urls[] = {"file:///etc/hostname", "http://[x"};
    struct sink_config c;
    struct request_answer a;
    request *r;
    CURLcode cc;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        sink_config_defaults(&c, SINK_WEBHOOK);
        c.url = urls[i];
        r = request_create(&c, NULL);
        assert_non_null(r);
        assert_int_equal(request_prepare(r, &c, NULL, MSG_ID, 1, doc,
                                         strlen(doc)),
                         REQUEST_EOK);
        cc = curl_easy_perform(request_handle(r));
        assert_int_not_equal(cc, CURLE_OK);
        request_answer(r, cc, &a);
        assert_int_equal(a.outcome, REQUEST_DROP);
        assert_int_equal(a.status, 0);
        assert_true(a.error[0] != '\0');
        assert_string_equal(a.response, "");
        request_destroy(r);
    }
}

/* What cannot be rendered for the receiver is REQUEST_ERENDER: the outbox
 * dead-letters it instead of retrying. */
static void test_prepare_refuses_a_non_document(void **state)
{
    struct sink_config c;
    request *r;

    (void)state;
    sink(&c, SINK_SLACK);
    r = request_create(&c, NULL);
    assert_non_null(r);
    assert_int_equal(request_prepare(r, &c, NULL, MSG_ID, 1, "[1,2]", 5),
                     REQUEST_ERENDER);
    assert_int_equal(request_prepare(r, &c, NULL, MSG_ID, 1, doc,
                                     strlen(doc)),
                     REQUEST_EOK);
    request_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_create_refuses),
        cmocka_unit_test(test_webhook_request),
        cmocka_unit_test(test_webhook_unsigned),
        cmocka_unit_test(test_other_kinds),
        cmocka_unit_test(test_answer_retry_after_and_body),
        cmocka_unit_test(test_answer_transfer_errors),
        cmocka_unit_test(test_prepare_refuses_a_non_document),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
