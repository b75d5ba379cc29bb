/*
 * test_login.c - POST /login's limit on wrong tokens, against the real
 * binary (TOOLWATCH_BIN, default build/asan/toolwatch) with a status
 * token, from several client addresses of 127.0.0.0/8 (curl bound to
 * 127.0.0.N before connecting).
 *
 * What:
 *  - four wrong tokens from 127.0.0.1 are answered 401, the fifth too;
 *    from then on that address is answered 429 with Retry-After (1 to 60
 *    s) and the login form saying so, even with the right token, while
 *    127.0.0.2 still logs in with the right token (303 and the session
 *    cookie) and gets 401 for a wrong one;
 *  - the limiter's table is bounded: 255 more addresses failing once keep
 *    127.0.0.1 refused, the 256th makes room by forgetting it (its
 *    last failure is the oldest): the right token logs it in again.
 *
 * Invariants: no sleeping; each request has a timeout; the child ends
 * with SIGTERM and its stderr is checked for sanitizer reports; the
 * token never reaches its log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "tests/support/twrun.h"

#define TOKEN_ENV "TW_ITEST_STATUS_TOKEN"
#define TOKEN "itest-login-token-5c19a7e2"

#define CFG_FMT                                                           \
    "{\"state_dir\": \"%s\","                                             \
    " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 3600},"          \
    " \"status\": {\"port\": 0, \"token_env\": \"" TOKEN_ENV "\"}}"

static const char *const env[] = {TOKEN_ENV "=" TOKEN, NULL};

struct answer {
    long code;
    long retry_after;  /* -1: no Retry-After */
    bool cookie;       /* a Set-Cookie came */
    buf body;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct answer *a = ud;

    return buf_append(&a->body, p, sz * n) == BUF_OK ? sz * n : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t len = sz * n;
    char line[256];

    snprintf(line, sizeof line, "%.*s", (int)(len < 255 ? len : 255), p);
    if (strncasecmp(line, "Retry-After:", 12) == 0)
        a->retry_after = strtol(line + 12, NULL, 10);
    if (strncasecmp(line, "Set-Cookie:", 11) == 0)
        a->cookie = true;
    return len;
}

/* POST token=<token> to /login from 127.0.0.<from> (or 127.0.<from>
 * >> 8>.<from & 255> past 255). */
static void login(unsigned port, unsigned from, const char *token,
                  struct answer *a)
{
    char url[128], iface[64], body[128];
    CURL *e = curl_easy_init();

    assert_non_null(e);
    buf_reset(&a->body);
    a->code = 0;
    a->retry_after = -1;
    a->cookie = false;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/login", port);
    snprintf(iface, sizeof iface, "host!127.0.%u.%u", from >> 8, from & 255);
    snprintf(body, sizeof body, "token=%s", token);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_INTERFACE, iface);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a->code);
    curl_easy_cleanup(e);
    buf_append(&a->body, "", 0);
}

static void test_wrong_tokens_are_limited(void **state)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv;
    struct proc *run;
    struct answer a;
    unsigned port = 0;
    char surl[128];

    buf_init(&a.body, 256 * 1024);
    assert_int_equal(twr_dir_make(f, &d, "login"), 0);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_int_equal(twr_write_config(d.cfg, CFG_FMT, d.state, surl), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &port));

    for (int i = 0; i < 5; i++) {
        login(port, 1, "not-the-token", &a);
        assert_int_equal(a.code, 401);
        assert_int_equal(a.retry_after, -1);
        assert_non_null(strstr(a.body.data, "Wrong token."));
    }
    login(port, 1, "not-the-token", &a);
    assert_int_equal(a.code, 429);
    assert_true(a.retry_after >= 1 && a.retry_after <= 60);
    assert_non_null(strstr(a.body.data, "Too many wrong tokens from your "
                                        "address: try again in "));
    login(port, 1, TOKEN, &a); /* refused, the token not looked at */
    assert_int_equal(a.code, 429);
    assert_false(a.cookie);
    /* another address: its own count */
    login(port, 2, "not-the-token", &a);
    assert_int_equal(a.code, 401);
    login(port, 2, TOKEN, &a);
    assert_int_equal(a.code, 303);
    assert_true(a.cookie);

    /* 127.0.0.2's right token forgot it: 127.0.0.1 and 255 others fill
     * the table, 127.0.0.1 still refused */
    for (unsigned k = 0; k < 255; k++) {
        login(port, 256 + k, "not-the-token", &a);
        assert_int_equal(a.code, 401);
    }
    login(port, 1, TOKEN, &a);
    assert_int_equal(a.code, 429);
    /* one more address: the oldest failure, 127.0.0.1's, makes room */
    login(port, 256 + 255, "not-the-token", &a);
    assert_int_equal(a.code, 401);
    login(port, 1, TOKEN, &a);
    assert_int_equal(a.code, 303);
    assert_true(a.cookie);

    assert_true(twr_stderr_after("run", run, 0, "5 wrong login tokens from "
                                 "::ffff:127.0.0.1: its logins are refused "
                                 "for the rest of 60 s", 5000));
    assert_false(proc_output_contains(run, TOKEN));
    assert_true(twr_stop("run", run));
    buf_free(&a.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrong_tokens_are_limited,
                                        twr_setup, twr_teardown),
    };

    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
