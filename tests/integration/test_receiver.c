/*
 * test_receiver.c - self-test of tests/support/receiver (the scriptable
 * webhook receiver) with libcurl as the client.
 *
 * What: each test starts a receiver on 127.0.0.1, scripts its answers,
 * sends requests with libcurl easy handles (or a raw socket, for bytes curl
 * would never send) and checks both sides: what the client got (status,
 * headers, body, error code, connection reuse) and what the receiver
 * recorded (method, path, headers, exact body bytes, the answer it gave).
 *
 * Why: the delivery tests of toolwatch will trust this receiver to tell
 * them what was sent and to misbehave exactly as scripted; it must be
 * checked on its own first.
 *
 * Invariants:
 *  - no test sleeps to wait for something: waits are rcv_wait_*
 *    (condition variables), blocking curl transfers, or poll() on a socket,
 *    each bounded;
 *  - lower bounds on time are exact (a delay is never cut short); the one
 *    ordering check between two connections relies on a fast local answer
 *    arriving well within a 300 ms delay;
 *  - the transfer helpers make no cmocka assertion, so they may run on a
 *    second thread; the test thread checks their results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/receiver.h"

#define WAIT_MS 5000          /* something that should happen promptly */
#define TRANSFER_MS 10000L    /* safety timeout of every curl transfer */
#define CURL_TIMER_SLACK_MS 10 /* curl's timeouts may fire this early */
#define REPLY_BODY_MAX 4096
#define REPLY_HEAD_MAX 8192

struct fx {
    struct rcv *r;
    char url[128]; /* http://127.0.0.1:<port>/hook */
};

/* What a client got from one transfer. */
struct reply {
    CURLcode rc;
    long status;
    long connects; /* CURLINFO_NUM_CONNECTS: connections it had to open */
    int64_t elapsed_ms;
    char body[REPLY_BODY_MAX];
    size_t body_len;
    char head[REPLY_HEAD_MAX]; /* every header line received */
    size_t head_len;
};

/* ------------------------------ helpers ------------------------------ */

static void append_bounded(char *buf, size_t cap, size_t *len, const char *p,
                           size_t n)
{
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, p, n);
    *len += n;
    buf[*len] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct reply *rep = ud;
    append_bounded(rep->body, sizeof rep->body, &rep->body_len, p, size * n);
    return size * n;
}

static size_t on_head(char *p, size_t size, size_t n, void *ud)
{
    struct reply *rep = ud;
    append_bounded(rep->head, sizeof rep->head, &rep->head_len, p, size * n);
    return size * n;
}

/* Pieces handed to curl one per read callback: a chunked upload. */
struct upload {
    const char *const *pieces; /* NULL-terminated */
    size_t next;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct upload *up = ud;
    const char *piece = up->pieces[up->next];
    size_t len;

    if (!piece)
        return 0;
    len = strlen(piece);
    if (len > size * n)
        return CURL_READFUNC_ABORT;
    memcpy(buf, piece, len);
    up->next++;
    return len;
}

/* One transfer on h (its connections are kept between calls): POST body
 * (len bytes) if body is not NULL, a chunked POST of up's pieces if up is
 * not NULL, else GET.  hdrs: NULL-terminated extra header lines (or NULL).
 * timeout_ms 0 means TRANSFER_MS.  Makes no cmocka assertion. */
static void transfer(CURL *h, const char *url, const char *const hdrs[],
                     const void *body, size_t len, struct upload *up,
                     long timeout_ms, struct reply *out)
{
    struct curl_slist *sl = NULL;
    int64_t t0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; hdrs && hdrs[i]; i++) {
        struct curl_slist *n = curl_slist_append(sl, hdrs[i]);
        if (!n) {
            curl_slist_free_all(sl);
            out->rc = CURLE_OUT_OF_MEMORY;
            return;
        }
        sl = n;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     timeout_ms ? timeout_ms : TRANSFER_MS);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, sl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (up) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, up);
    }
    t0 = rcv_now_ms();
    out->rc = curl_easy_perform(h);
    out->elapsed_ms = rcv_now_ms() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->connects);
    curl_slist_free_all(sl);
}

static CURL *client(void)
{
    CURL *h = curl_easy_init();
    assert_non_null(h);
    return h;
}

/* A POST of the string body that must succeed with status want. */
static void post_ok(CURL *h, const char *url, const char *const hdrs[],
                    const char *body, long want, struct reply *rep)
{
    transfer(h, url, hdrs, body, strlen(body), NULL, 0, rep);
    if (rep->rc != CURLE_OK)
        fail_msg("POST %s: %s", url, curl_easy_strerror(rep->rc));
    assert_int_equal(rep->status, want);
}

static void get_req(struct fx *f, size_t idx, struct rcv_request *out)
{
    if (!rcv_get(f->r, idx, out))
        fail_msg("request %zu was not recorded (count %zu)", idx,
                 rcv_count(f->r));
}

static void wait_requests(struct fx *f, size_t n)
{
    if (!rcv_wait_requests(f->r, n, WAIT_MS))
        fail_msg("the receiver saw %zu requests within %d ms, want %zu",
                 rcv_count(f->r), WAIT_MS, n);
}

static void expect_header(const struct rcv_request *req, const char *name,
                          const char *want)
{
    const char *got = rcv_header(req, name);
    if (!want) {
        if (got)
            fail_msg("header %s should be absent, is \"%s\"", name, got);
        return;
    }
    if (!got)
        fail_msg("header %s missing (want \"%s\")", name, want);
    assert_string_equal(got, want);
}

/* Connect to the receiver with a plain socket, send len bytes, read until
 * the receiver closes; the answer goes to buf, NUL-terminated.  Returns
 * its length. */
static size_t raw_exchange(struct fx *f, const void *data, size_t len,
                           char *buf, size_t cap)
{
    struct sockaddr_in sa;
    int64_t deadline = rcv_now_ms() + WAIT_MS;
    size_t got = 0, sent = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(rcv_port(f->r));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    while (sent < len) {
        ssize_t w = send(fd, (const char *)data + sent, len - sent,
                         MSG_NOSIGNAL);
        assert_true(w > 0);
        sent += (size_t)w;
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - rcv_now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            close(fd);
            fail_msg("no end of the answer within %d ms; got \"%.*s\"",
                     WAIT_MS, (int)got, buf);
        }
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == cap - 1)
            break;
    }
    buf[got] = '\0';
    close(fd);
    return got;
}

/* ------------------------------ fixture ------------------------------ */

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    f->r = rcv_start();
    if (!f->r || rcv_url(f->r, "/hook", f->url, sizeof f->url) != RCV_OK) {
        rcv_stop(f->r);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rcv_stop(f->r);
    free(f);
    return 0;
}

/* ------------------------------- tests ------------------------------- */

/* A POST is recorded exactly: request line, headers (case-insensitive
 * lookup, whitespace trimmed), body bytes including a NUL and high bytes;
 * the scripted answer reaches the client whole. */
static void test_post_recorded_exactly(void **state)
{
    struct fx *f = *state;
    static const char body[] = "{\"alert\":\"x\"}\0\xff\x01 end";
    const size_t len = sizeof body - 1;
    const char *const hdrs[] = {"Content-Type: application/json",
                                "webhook-id: msg_2mTq1",
                                "Webhook-Timestamp:    1700000000   ", NULL};
    char url[160], host[64];
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    assert_int_equal(rcv_add_status(f->r, 202, "X-Reply: yes", "accepted\n"),
                     RCV_OK);
    assert_int_equal(rcv_url(f->r, "/hook/a?x=1&y=%20", url, sizeof url),
                     RCV_OK);
    transfer(h, url, hdrs, body, len, NULL, 0, &rep);
    curl_easy_cleanup(h);
    assert_int_equal(rep.rc, CURLE_OK);
    assert_int_equal(rep.status, 202);
    assert_string_equal(rep.body, "accepted\n");
    assert_non_null(strstr(rep.head, "\r\nX-Reply: yes\r\n"));
    assert_non_null(strstr(rep.head, "\r\nContent-Length: 9\r\n"));

    wait_requests(f, 1);
    assert_int_equal(rcv_count(f->r), 1);
    get_req(f, 0, &q);
    assert_int_equal(q.index, 0);
    assert_int_equal(q.conn_id, 1);
    assert_int_equal(q.conn_seq, 0);
    assert_string_equal(q.method, "POST");
    assert_string_equal(q.path, "/hook/a?x=1&y=%20");
    assert_string_equal(q.version, "HTTP/1.1");
    expect_header(&q, "WEBHOOK-ID", "msg_2mTq1");
    expect_header(&q, "webhook-timestamp", "1700000000");
    expect_header(&q, "content-type", "application/json");
    snprintf(host, sizeof host, "%zu", len);
    expect_header(&q, "Content-Length", host);
    snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)rcv_port(f->r));
    expect_header(&q, "Host", host);
    expect_header(&q, "X-Absent", NULL);
    assert_int_equal(q.body_len, len);
    assert_non_null(q.body);
    assert_memory_equal(q.body, body, len);
    assert_int_equal(q.body[len], '\0');
    assert_false(q.chunked);
    assert_false(q.by_server);
    assert_false(q.body_lost);
    assert_int_equal(q.action, RCV_ANSWER);
    assert_int_equal(q.status, 202);
    assert_true(q.arrival_ms > 0);
    assert_true(q.arrival_ms <= q.complete_ms);
    assert_true(q.complete_ms <= q.end_ms);
    assert_int_equal(rcv_count_status(f->r, 202), 1);
    assert_int_equal(rcv_script_left(f->r), 0);
}

/* Three requests on one curl handle share one connection; all recorded. */
static void test_keep_alive_three_requests(void **state)
{
    struct fx *f = *state;
    static const char *const bodies[] = {"one", "two", "three"};
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    for (size_t i = 0; i < 3; i++) {
        post_ok(h, f->url, NULL, bodies[i], 200, &rep);
        assert_int_equal(rep.connects, i == 0 ? 1 : 0);
    }
    assert_int_equal(rcv_count(f->r), 3);
    assert_int_equal(rcv_conn_count(f->r), 1);
    assert_int_equal(rcv_conns_open(f->r), 1);
    for (size_t i = 0; i < 3; i++) {
        get_req(f, i, &q);
        assert_int_equal(q.index, i);
        assert_int_equal(q.conn_id, 1);
        assert_int_equal(q.conn_seq, i);
        assert_int_equal(q.body_len, strlen(bodies[i]));
        assert_string_equal((const char *)q.body, bodies[i]);
        assert_int_equal(q.status, 200);
    }
    curl_easy_cleanup(h);
    assert_int_equal(rcv_count_status(f->r, 200), 3);
}

/* The script is consumed one action per request, then the default. */
static void test_script_500_500_200_then_default(void **state)
{
    struct fx *f = *state;
    static const long want[] = {500, 500, 200, 204, 204};
    struct rcv_action dflt = {.kind = RCV_ANSWER, .status = 204};
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    assert_int_equal(rcv_add_status(f->r, 500, NULL, "boom"), RCV_OK);
    assert_int_equal(rcv_add_status(f->r, 500, NULL, NULL), RCV_OK);
    assert_int_equal(rcv_add_status(f->r, 200, NULL, "ok"), RCV_OK);
    assert_int_equal(rcv_set_default(f->r, &dflt), RCV_OK);
    assert_int_equal(rcv_script_left(f->r), 3);
    for (size_t i = 0; i < 5; i++) {
        post_ok(h, f->url, NULL, "{}", want[i], &rep);
        get_req(f, i, &q);
        assert_int_equal(q.status, want[i]);
    }
    curl_easy_cleanup(h);
    assert_int_equal(rcv_script_left(f->r), 0);
    assert_int_equal(rcv_count_status(f->r, 500), 2);
    assert_int_equal(rcv_count_status(f->r, 200), 1);
    assert_int_equal(rcv_count_status(f->r, 204), 2);
    assert_int_equal(rcv_conn_count(f->r), 1); /* 5xx kept the connection */
}

/* 429 with Retry-After reaches the client, header and body. */
static void test_429_retry_after(void **state)
{
    struct fx *f = *state;
    struct reply rep;
    curl_off_t retry_after = -1;
    CURL *h = client();

    assert_int_equal(rcv_add_status(f->r, 429, "Retry-After: 2", "slow down"),
                     RCV_OK);
    post_ok(h, f->url, NULL, "{}", 429, &rep);
    assert_non_null(strstr(rep.head, "HTTP/1.1 429 Too Many Requests\r\n"));
    assert_non_null(strstr(rep.head, "\r\nRetry-After: 2\r\n"));
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after),
                     CURLE_OK);
    assert_int_equal(retry_after, 2);
    assert_string_equal(rep.body, "slow down");
    curl_easy_cleanup(h);
    assert_int_equal(rcv_count_status(f->r, 429), 1);
}

struct bg_post {
    const char *url;
    struct reply rep;
};

static void *bg_post_main(void *arg)
{
    struct bg_post *b = arg;
    CURL *h = curl_easy_init();

    if (!h) {
        b->rep.rc = CURLE_FAILED_INIT;
        return NULL;
    }
    transfer(h, b->url, NULL, "slow", 4, NULL, 0, &b->rep);
    curl_easy_cleanup(h);
    return NULL;
}

/* DELAY 300 ms: the client waits >= 300 ms, and meanwhile a second
 * connection is answered at once. */
static void test_delay_does_not_block_others(void **state)
{
    struct fx *f = *state;
    struct bg_post slow = {.url = NULL};
    char slow_url[160], fast_url[160];
    struct rcv_request q0, q1;
    struct reply rep;
    pthread_t t;
    CURL *h = client();

    assert_int_equal(rcv_add_delay(f->r, 300, 200), RCV_OK);
    assert_int_equal(rcv_url(f->r, "/slow", slow_url, sizeof slow_url), 0);
    assert_int_equal(rcv_url(f->r, "/fast", fast_url, sizeof fast_url), 0);
    slow.url = slow_url;
    assert_int_equal(pthread_create(&t, NULL, bg_post_main, &slow), 0);
    if (!rcv_wait_requests(f->r, 1, WAIT_MS)) {
        pthread_join(t, NULL);
        fail_msg("the delayed request never arrived");
    }
    post_ok(h, fast_url, NULL, "fast", 200, &rep);
    curl_easy_cleanup(h);
    get_req(f, 0, &q0);
    get_req(f, 1, &q1);
    assert_string_equal(q0.path, "/slow");
    assert_string_equal(q1.path, "/fast");
    assert_int_not_equal(q0.conn_id, q1.conn_id);
    assert_int_equal(q1.status, 200);
    /* the fast answer went out while the slow one was still pending */
    assert_int_equal(q0.end_ms, 0);
    assert_int_equal(q0.status, 0);
    pthread_join(t, NULL);

    assert_int_equal(slow.rep.rc, CURLE_OK);
    assert_int_equal(slow.rep.status, 200);
    print_message("    delayed answer after %lld ms (client side)\n",
                  (long long)slow.rep.elapsed_ms);
    assert_true(slow.rep.elapsed_ms >= 300);
    get_req(f, 0, &q0);
    assert_int_equal(q0.action, RCV_ANSWER);
    assert_int_equal(q0.delay_ms, 300);
    assert_int_equal(q0.status, 200);
    assert_true(q0.end_ms - q0.complete_ms >= 300);
    assert_true(q1.end_ms < q0.end_ms);
}

/* DROP resets the connection: the client gets a receive error, the
 * receiver records the request with no status, and keeps serving. */
static void test_drop_gives_connection_error(void **state)
{
    struct fx *f = *state;
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    assert_int_equal(rcv_add_drop(f->r), RCV_OK);
    transfer(h, f->url, NULL, "{}", 2, NULL, 0, &rep);
    /* a reset (SO_LINGER 0), not an orderly close (CURLE_GOT_NOTHING) */
    assert_int_equal(rep.rc, CURLE_RECV_ERROR);
    assert_true(rcv_wait_end(f->r, 0, WAIT_MS));
    get_req(f, 0, &q);
    assert_int_equal(q.action, RCV_DROP);
    assert_int_equal(q.status, 0);
    assert_int_equal(rcv_count(f->r), 1);

    post_ok(h, f->url, NULL, "{}", 200, &rep); /* the default again */
    assert_int_equal(rep.connects, 1);
    curl_easy_cleanup(h);
    assert_int_equal(rcv_count(f->r), 2);
    assert_int_equal(rcv_conn_count(f->r), 2);
}

/* HANG never answers: a client with a 300 ms timeout times out; the
 * request ends when the client closes. */
static void test_hang_client_times_out(void **state)
{
    struct fx *f = *state;
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    assert_int_equal(rcv_add_hang(f->r), RCV_OK);
    transfer(h, f->url, NULL, "{}", 2, NULL, 300, &rep);
    assert_int_equal(rep.rc, CURLE_OPERATION_TIMEDOUT);
    print_message("    client timed out after %lld ms\n",
                  (long long)rep.elapsed_ms);
    /* curl's timer (not the receiver) may fire a little early */
    assert_true(rep.elapsed_ms >= 300 - CURL_TIMER_SLACK_MS);
    assert_int_equal(rep.head_len, 0);
    curl_easy_cleanup(h);
    assert_true(rcv_wait_end(f->r, 0, WAIT_MS));
    get_req(f, 0, &q);
    assert_int_equal(q.action, RCV_HANG);
    assert_int_equal(q.status, 0);
    assert_int_equal(rcv_conns_open(f->r), 0);
}

/* Down: connections are refused and open ones closed; up: the same port
 * accepts again, and a handle whose connection died reconnects. */
static void test_down_then_up_same_port(void **state)
{
    struct fx *f = *state;
    uint16_t port = rcv_port(f->r);
    struct reply rep;
    CURL *kept = client();
    CURL *h = client();

    post_ok(kept, f->url, NULL, "before", 200, &rep);
    assert_int_equal(rcv_conns_open(f->r), 1);

    assert_int_equal(rcv_set_down(f->r, true), RCV_OK);
    assert_int_equal(rcv_conns_open(f->r), 0);
    transfer(h, f->url, NULL, "{}", 2, NULL, 0, &rep);
    assert_int_equal(rep.rc, CURLE_COULDNT_CONNECT);
    assert_int_equal(rcv_set_down(f->r, true), RCV_OK); /* twice is fine */
    transfer(h, f->url, NULL, "{}", 2, NULL, 0, &rep);
    assert_int_equal(rep.rc, CURLE_COULDNT_CONNECT);
    assert_int_equal(rcv_count(f->r), 1);

    assert_int_equal(rcv_set_down(f->r, false), RCV_OK);
    assert_int_equal(rcv_port(f->r), port);
    post_ok(h, f->url, NULL, "after", 200, &rep);
    post_ok(kept, f->url, NULL, "after, reused handle", 200, &rep);
    assert_int_equal(rep.connects, 1);
    curl_easy_cleanup(h);
    curl_easy_cleanup(kept);
    assert_int_equal(rcv_count(f->r), 3);
    assert_int_equal(rcv_count_status(f->r, 200), 3);
}

/* A chunked request body is decoded and recorded whole. */
static void test_chunked_request_body(void **state)
{
    struct fx *f = *state;
    static const char *const pieces[] = {"hello ", "chunked ", "world", NULL};
    const char *const hdrs[] = {"Transfer-Encoding: chunked", NULL};
    struct upload up = {.pieces = pieces};
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    transfer(h, f->url, hdrs, NULL, 0, &up, 0, &rep);
    curl_easy_cleanup(h);
    assert_int_equal(rep.rc, CURLE_OK);
    assert_int_equal(rep.status, 200);
    /* curl asks for 100-continue on a chunked upload: the receiver says so
     * at once (curl would otherwise wait a second and send anyway) */
    assert_non_null(strstr(rep.head, "HTTP/1.1 100 Continue\r\n"));
    get_req(f, 0, &q);
    expect_header(&q, "Expect", "100-continue");
    assert_true(q.chunked);
    expect_header(&q, "transfer-encoding", "chunked");
    expect_header(&q, "content-length", NULL);
    assert_int_equal(q.body_len, 19);
    assert_string_equal((const char *)q.body, "hello chunked world");
}

/* A body over RCV_MAX_BODY gets 413 from the server itself (the script is
 * not consumed); a body of exactly RCV_MAX_BODY is accepted whole. */
static void test_oversized_body_413(void **state)
{
    struct fx *f = *state;
    const char *const no_expect[] = {"Expect:", NULL};
    char *big = malloc((size_t)RCV_MAX_BODY + 1);
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    assert_non_null(big);
    for (size_t i = 0; i <= RCV_MAX_BODY; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(rcv_add_status(f->r, 201, NULL, NULL), RCV_OK);

    /* without Expect: the body is on its way while the 413 goes out */
    transfer(h, f->url, no_expect, big, (size_t)RCV_MAX_BODY + 1, NULL, 0,
             &rep);
    assert_int_equal(rep.rc, CURLE_OK);
    assert_int_equal(rep.status, 413);
    assert_non_null(strstr(rep.head, "\r\nConnection: close\r\n"));
    /* with curl's Expect: 100-continue, refused before the body */
    transfer(h, f->url, NULL, big, (size_t)RCV_MAX_BODY + 1, NULL, 0, &rep);
    assert_int_equal(rep.rc, CURLE_OK);
    assert_int_equal(rep.status, 413);
    assert_int_equal(rcv_script_left(f->r), 1);
    for (size_t i = 0; i < 2; i++) {
        get_req(f, i, &q);
        assert_true(q.by_server);
        assert_int_equal(q.status, 413);
        assert_string_equal(q.method, "POST");
    }

    transfer(h, f->url, NULL, big, RCV_MAX_BODY, NULL, 0, &rep);
    curl_easy_cleanup(h);
    assert_int_equal(rep.rc, CURLE_OK);
    assert_int_equal(rep.status, 201);
    get_req(f, 2, &q);
    assert_false(q.by_server);
    assert_int_equal(q.body_len, RCV_MAX_BODY);
    assert_memory_equal(q.body, big, RCV_MAX_BODY);
    assert_int_equal(rcv_count_status(f->r, 413), 2);
    assert_int_equal(rcv_script_left(f->r), 0);
    free(big);
}

/* A header block over RCV_MAX_HEADER_BLOCK gets 431. */
static void test_oversized_headers_431(void **state)
{
    struct fx *f = *state;
    size_t n = RCV_MAX_HEADER_BLOCK + 100;
    char *line = malloc(n + 8);
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    assert_non_null(line);
    memcpy(line, "X-Big: ", 7);
    memset(line + 7, 'b', n);
    line[7 + n] = '\0';
    const char *const hdrs[] = {line, NULL};
    transfer(h, f->url, hdrs, "{}", 2, NULL, 0, &rep);
    free(line);
    assert_int_equal(rep.rc, CURLE_OK);
    assert_int_equal(rep.status, 431);
    post_ok(h, f->url, NULL, "{}", 200, &rep);
    curl_easy_cleanup(h);
    get_req(f, 0, &q);
    assert_true(q.by_server);
    assert_int_equal(q.status, 431);
    assert_int_equal(rcv_count(f->r), 2);
}

/* `Connection: close` from the client, and an action with close set: the
 * answer says so, and the next request needs a new connection. */
static void test_connection_close_honoured(void **state)
{
    struct fx *f = *state;
    const char *const close_hdr[] = {"Connection: close", NULL};
    struct rcv_action closing = {.kind = RCV_ANSWER, .status = 200,
                                 .close = true};
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    assert_int_equal(rcv_add_status(f->r, 200, NULL, NULL), RCV_OK);
    assert_int_equal(rcv_add(f->r, &closing), RCV_OK);
    post_ok(h, f->url, close_hdr, "a", 200, &rep);
    assert_non_null(strstr(rep.head, "\r\nConnection: close\r\n"));
    post_ok(h, f->url, NULL, "b", 200, &rep);
    assert_int_equal(rep.connects, 1);
    assert_non_null(strstr(rep.head, "\r\nConnection: close\r\n"));
    post_ok(h, f->url, NULL, "c", 200, &rep);
    assert_int_equal(rep.connects, 1);
    assert_null(strstr(rep.head, "Connection:"));
    post_ok(h, f->url, NULL, "d", 200, &rep);
    assert_int_equal(rep.connects, 0);
    curl_easy_cleanup(h);
    for (size_t i = 0; i < 4; i++) {
        get_req(f, i, &q);
        assert_int_equal(q.conn_id, i < 3 ? i + 1 : 3);
    }
    assert_int_equal(rcv_conn_count(f->r), 3);
}

/* Finding requests by header: retries of one webhook-id count once among
 * the acknowledged ones. */
static void test_distinct_webhook_ids(void **state)
{
    struct fx *f = *state;
    static const char *const ids[] = {"msg_a", "msg_a", "msg_b", "msg_b",
                                      "msg_c", NULL};
    char hdr[64];
    struct reply rep;
    size_t idx = 99;
    CURL *h = client();

    assert_int_equal(rcv_add_status(f->r, 503, "Retry-After: 1", NULL), 0);
    assert_int_equal(rcv_add_status(f->r, 200, NULL, NULL), 0);
    assert_int_equal(rcv_add_status(f->r, 200, NULL, NULL), 0);
    assert_int_equal(rcv_add_status(f->r, 200, NULL, NULL), 0);
    assert_int_equal(rcv_add_status(f->r, 500, NULL, NULL), 0);
    for (size_t i = 0; i < 6; i++) {
        const char *const hdrs[] = {hdr, NULL};
        snprintf(hdr, sizeof hdr, "webhook-id: %s", ids[i] ? ids[i] : "");
        transfer(h, f->url, ids[i] ? hdrs : NULL, "{}", 2, NULL, 0, &rep);
        assert_int_equal(rep.rc, CURLE_OK);
    }
    curl_easy_cleanup(h);
    /* answered: a 503, a 200, b 200, b 200, c 500, (none) 200 */
    assert_int_equal(rcv_count_distinct(f->r, "webhook-id", 200, 299), 2);
    assert_int_equal(rcv_count_distinct(f->r, "Webhook-Id", 500, 599), 2);
    assert_int_equal(rcv_count_distinct(f->r, "webhook-id", 0, 999), 3);
    assert_int_equal(rcv_count_distinct(f->r, "no-such-header", 0, 999), 0);
    assert_int_equal(rcv_count_header(f->r, "webhook-id", "msg_a"), 2);
    assert_int_equal(rcv_count_header(f->r, "webhook-id", "msg_z"), 0);
    assert_true(rcv_find(f->r, 0, "webhook-id", "msg_b", &idx));
    assert_int_equal(idx, 2);
    assert_true(rcv_find(f->r, 3, "webhook-id", "msg_b", &idx));
    assert_int_equal(idx, 3);
    assert_false(rcv_find(f->r, 4, "webhook-id", "msg_b", &idx));
}

/* Three pipelined requests in one write are answered in order on one
 * connection (the first is HTTP/1.0 asking for keep-alive); a chunked body
 * with an extension and a trailer decodes. */
static void test_pipelined_and_raw_chunked(void **state)
{
    struct fx *f = *state;
    static const char pipelined[] =
        "GET /p1 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
        "POST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        "POST /p3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
        "3;name=value\r\nxyz\r\n1\r\n!\r\n0\r\nX-Trailer: t\r\n\r\n";
    char buf[4096];
    struct rcv_request q;
    char *a, *b, *c;

    assert_int_equal(rcv_add_status(f->r, 201, NULL, "one"), 0);
    assert_int_equal(rcv_add_status(f->r, 202, NULL, "two"), 0);
    assert_int_equal(rcv_add_status(f->r, 203, NULL, "three"), 0);
    raw_exchange(f, pipelined, sizeof pipelined - 1, buf, sizeof buf);
    a = strstr(buf, "HTTP/1.1 201 ");
    b = strstr(buf, "HTTP/1.1 202 ");
    c = strstr(buf, "HTTP/1.1 203 ");
    assert_true(a == buf && b > a && c > b);
    assert_non_null(strstr(a, "\r\nConnection: keep-alive\r\n\r\none"));
    assert_non_null(strstr(c, "\r\nConnection: close\r\n\r\nthree"));
    assert_int_equal(rcv_count(f->r), 3);
    for (size_t i = 0; i < 3; i++) {
        get_req(f, i, &q);
        assert_int_equal(q.conn_id, 1);
        assert_int_equal(q.conn_seq, i);
    }
    get_req(f, 0, &q);
    assert_string_equal(q.method, "GET");
    assert_string_equal(q.version, "HTTP/1.0");
    assert_int_equal(q.body_len, 0);
    assert_null(q.body);
    get_req(f, 1, &q);
    assert_string_equal(q.path, "/p2");
    assert_string_equal((const char *)q.body, "abc");
    get_req(f, 2, &q);
    assert_true(q.chunked);
    assert_string_equal((const char *)q.body, "xyz!");
    expect_header(&q, "X-Trailer", NULL); /* trailers are not recorded */
}

/* Malformed requests get 400 (or 431/501/505) and a close, are recorded
 * as the server's own answers, and leave the receiver serving. */
static void test_malformed_requests(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *bytes;
        size_t len;
        const char *want;
    } cases[] = {
#define C(s, w) {s, sizeof s - 1, w}
        C("GARBAGE\r\n\r\n", "HTTP/1.1 400 "),
        C("GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 "),
        C("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
          "HTTP/1.1 400 "),
        C("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "HTTP/1.1 400 "),
        C("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
          "HTTP/1.1 413 "),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
          "HTTP/1.1 501 "),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
          "Content-Length: 3\r\n\r\n",
          "HTTP/1.1 400 "),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          "HTTP/1.1 400 "),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3\r\nabcX",
          "HTTP/1.1 400 "),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
          "FFFFFFFFFFFFFFFFFFFFFFFF\r\n",
          "HTTP/1.1 413 "),
        C("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", "HTTP/1.1 400 "),
        C("GET / HTTP/1.1\r\n folded: x\r\n\r\n", "HTTP/1.1 400 "),
        C("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", "HTTP/1.1 400 "),
#undef C
    };
    const size_t ncases = sizeof cases / sizeof cases[0];
    char buf[4096];
    struct reply rep;
    struct rcv_request q;
    CURL *h = client();

    for (size_t i = 0; i < ncases; i++) {
        raw_exchange(f, cases[i].bytes, cases[i].len, buf, sizeof buf);
        if (strncmp(buf, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: want \"%s...\", got \"%s\"", i, cases[i].want,
                     buf);
        assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
        get_req(f, i, &q);
        assert_true(q.by_server);
    }
    assert_int_equal(rcv_count(f->r), ncases);
    post_ok(h, f->url, NULL, "still fine", 200, &rep);
    curl_easy_cleanup(h);
    get_req(f, ncases, &q);
    assert_string_equal((const char *)q.body, "still fine");
}

/* RCV_MAX_CONNS clients held open at once by HANG; each request ends when
 * its client goes. */
static void test_64_concurrent_connections(void **state)
{
    struct fx *f = *state;
    CURL *hs[RCV_MAX_CONNS];
    CURLM *m = curl_multi_init();
    int64_t deadline = rcv_now_ms() + WAIT_MS;
    int running = 0;

    assert_non_null(m);
    for (size_t i = 0; i < RCV_MAX_CONNS; i++) {
        assert_int_equal(rcv_add_hang(f->r), RCV_OK);
        hs[i] = client();
        curl_easy_setopt(hs[i], CURLOPT_URL, f->url);
        curl_easy_setopt(hs[i], CURLOPT_PROXY, "");
        curl_easy_setopt(hs[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(hs[i], CURLOPT_TIMEOUT_MS, TRANSFER_MS);
        curl_easy_setopt(hs[i], CURLOPT_POSTFIELDS, "{}");
        assert_int_equal(curl_multi_add_handle(m, hs[i]), CURLM_OK);
    }
    /* drive the clients until the receiver holds every request */
    while (rcv_count(f->r) < RCV_MAX_CONNS && rcv_now_ms() < deadline) {
        assert_int_equal(curl_multi_perform(m, &running), CURLM_OK);
        assert_int_equal(curl_multi_poll(m, NULL, 0, 50, NULL), CURLM_OK);
    }
    assert_int_equal(rcv_count(f->r), RCV_MAX_CONNS);
    assert_int_equal(rcv_conns_open(f->r), RCV_MAX_CONNS);
    assert_int_equal(rcv_conn_count(f->r), RCV_MAX_CONNS);
    assert_int_equal(running, RCV_MAX_CONNS);
    for (size_t i = 0; i < RCV_MAX_CONNS; i++) {
        curl_multi_remove_handle(m, hs[i]);
        curl_easy_cleanup(hs[i]);
    }
    curl_multi_cleanup(m);
    for (size_t i = 0; i < RCV_MAX_CONNS; i++)
        assert_true(rcv_wait_end(f->r, i, WAIT_MS));
    assert_int_equal(rcv_count_status(f->r, 0), RCV_MAX_CONNS);
}

/* Waits time out with false; nothing is invented. */
static void test_wait_timeouts(void **state)
{
    struct fx *f = *state;
    struct rcv_request q;
    int64_t t0 = rcv_now_ms();

    assert_false(rcv_wait_requests(f->r, 1, 100));
    assert_true(rcv_now_ms() - t0 >= 100);
    assert_true(rcv_wait_requests(f->r, 0, 0));
    assert_false(rcv_wait_end(f->r, 0, 20));
    assert_int_equal(rcv_count(f->r), 0);
    assert_false(rcv_get(f->r, 0, &q));
    assert_int_equal(rcv_count_distinct(f->r, "webhook-id", 200, 299), 0);
    rcv_stop(NULL);
}

/* Bad actions are refused and change nothing. */
static void test_bad_actions_refused(void **state)
{
    struct fx *f = *state;
    struct rcv_action a = {.kind = RCV_ANSWER, .status = 200};
    char small[8];

    a.headers[0] = "Content-Length: 3";
    assert_int_equal(rcv_add(f->r, &a), RCV_EINVAL);
    a.headers[0] = "connection: keep-alive";
    assert_int_equal(rcv_add(f->r, &a), RCV_EINVAL);
    a.headers[0] = "X-Split: a\r\nX-Injected: b";
    assert_int_equal(rcv_add(f->r, &a), RCV_EINVAL);
    a.headers[0] = "no colon";
    assert_int_equal(rcv_add(f->r, &a), RCV_EINVAL);
    a.headers[0] = NULL;
    a.status = 199;
    assert_int_equal(rcv_add(f->r, &a), RCV_EINVAL);
    a.status = 200;
    a.body_len = RCV_MAX_RESP_BODY + 1;
    a.body = "x";
    assert_int_equal(rcv_add(f->r, &a), RCV_EINVAL);
    assert_int_equal(rcv_set_default(f->r, &a), RCV_EINVAL);
    assert_int_equal(rcv_script_left(f->r), 0);
    assert_int_equal(rcv_url(f->r, "/x", small, sizeof small), RCV_EINVAL);
    assert_string_equal(rcv_strerror(RCV_EINVAL), "invalid argument");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_post_recorded_exactly),
        T(test_keep_alive_three_requests),
        T(test_script_500_500_200_then_default),
        T(test_429_retry_after),
        T(test_delay_does_not_block_others),
        T(test_drop_gives_connection_error),
        T(test_hang_client_times_out),
        T(test_down_then_up_same_port),
        T(test_chunked_request_body),
        T(test_oversized_body_413),
        T(test_oversized_headers_431),
        T(test_connection_close_honoured),
        T(test_distinct_webhook_ids),
        T(test_pipelined_and_raw_chunked),
        T(test_malformed_requests),
        T(test_64_concurrent_connections),
        T(test_wait_timeouts),
        T(test_bad_actions_refused),
    };
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    rc = cmocka_run_group_tests_name("receiver", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
