/*
 * test_page.c - the status page in a real browser, and the history API:
 * the real binary (TOOLWATCH_BIN, default build/asan/toolwatch) run
 * against a scripted audit stream (tests/support/sse_server) and a
 * webhook receiver, with a status token.
 *
 * What:
 *  - two rules fire: `slow` (warning, grouped by tool) and `hostile`
 *    (critical, grouped by agent), the latter for the agent id
 *    `<script>alert(1)</script>`;
 *  - a silence is created over the API (bearer token);
 *  - GET /api/v1/history answers the firings and deliveries newest first,
 *    filters by rule and since, refuses bad parameters with 400 and a
 *    clear message, and needs the token (401);
 *  - headless Chromium (Debian's `chromium`, tests/deps.sh) logs in the
 *    way a person does: a page on another port of 127.0.0.1 (same site)
 *    posts the token to /login, whose session cookie (HttpOnly,
 *    SameSite=Strict) carries the browser to /; --dump-dom of that page
 *    must show both alerts (critical first), the hostile agent id as
 *    escaped text and no <script> element at all, the ack and silence
 *    forms with their CSRF field, the silence listed with its expire
 *    form, the sink, and history rows; then a screenshot goes to
 *    build/page.png (--screenshot, --window-size=1280,1600).
 *
 * Chromium is started by PID and killed by PID when it overruns its
 * bound; a machine without chromium fails this test, loudly.
 *
 * Invariants: time is the stream's (allowed_lateness_s 3600, events
 * stamped 200 s in the past), every wait has a deadline and waits on a
 * condition; every child is ended and its stderr checked for sanitizer
 * reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "tests/support/twrun.h"

#define WAIT_MS 15000
#define CHROMIUM "/usr/bin/chromium"
#define CHROMIUM_MS 60000
#define HOSTILE "<script>alert(1)</script>"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_ITEST_WEBHOOK_SECRET"
#define TOKEN_ENV "TW_ITEST_STATUS_TOKEN"
#define TOKEN "itest-page-token-8d2e41"

#define CFG                                                                \
    "{\"state_dir\": \"%s\","                                              \
    " \"stream\": {\"url\": \"%s\", \"stall_timeout_s\": 3600},"           \
    " \"status\": {\"port\": 0, \"token_env\": \"" TOKEN_ENV "\"},"        \
    " \"detectors\": {\"allowed_lateness_s\": 3600},"                      \
    " \"sinks\": [{\"type\": \"webhook\", \"name\": \"ops-hook\","         \
    " \"url\": \"%s\", \"secret_envs\": [\"" SECRET_ENV "\"]}],"           \
    " \"rules\": ["                                                        \
    "  {\"name\": \"slow\", \"kind\": \"max\", \"severity\": \"warning\"," \
    "   \"field\": \"execution_duration_ms\", \"threshold\": 5000,"        \
    "   \"window_s\": 600, \"match\": {\"tool_name\": \"tool-a\"},"        \
    "   \"group_by\": [\"tool_name\"]},"                                   \
    "  {\"name\": \"hostile\", \"kind\": \"max\", \"severity\":"           \
    "   \"critical\", \"field\": \"execution_duration_ms\","               \
    "   \"threshold\": 5000, \"window_s\": 600,"                           \
    "   \"match\": {\"tool_name\": \"tool-x\"},"                           \
    "   \"group_by\": [\"agent_id\"]}]}"

static const char *const env[] = {TOKEN_ENV "=" TOKEN,
                                  SECRET_ENV "=" SECRET, NULL};

/* ------------------------------ HTTP --------------------------------- */

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    return buf_append(ud, p, sz * n) == BUF_OK ? sz * n : 0;
}

/* `method` http://127.0.0.1:port<path> with body (NULL: none) and the
 * bearer token when auth; the answer's body into out (headers too when
 * head).  Returns the HTTP status, 0 when none came. */
static long req(unsigned port, const char *method, const char *path,
                const char *body, int auth, int head, buf *out)
{
    char url[512];
    struct curl_slist *hl = NULL;
    CURL *e = curl_easy_init();
    long code = 0;

    assert_non_null(e);
    buf_reset(out);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    if (head) {
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, out);
    }
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    if (auth)
        hl = curl_slist_append(hl, "Authorization: Bearer " TOKEN);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    buf_append(out, "", 0);
    return code;
}

/* ------------------------------ the stream --------------------------- */

static void push_call(struct tsrv *srv, const char *id, const char *tool,
                      const char *agent, int64_t ts_ms, double dur_ms)
{
    char frame[2048] = "", rec[64];
    const struct twr_call c = {.id = id, .rec = rec, .tool = tool,
                               .agent = agent, .ts_ms = ts_ms,
                               .dur_ms = dur_ms, .payload = 512};

    snprintf(rec, sizeof rec, "rec-%s", id);
    assert_true(twr_add_call(frame, sizeof frame, &c));
    assert_int_equal(tsrv_push(srv, 0, frame, strlen(frame)), 0);
}

/* Poll the history (with the token) until it holds `needle`. */
static void wait_history(unsigned port, const char *path,
                         const char *needle, buf *b, struct proc *run)
{
    int64_t end = clock_mono_ms() + WAIT_MS;

    while (req(port, "GET", path, NULL, 1, 0, b) != 200 ||
           strstr(b->data, needle) == NULL) {
        if (clock_mono_ms() > end) {
            proc_poll(run);
            twr_dump_stderr("run", run);
            fail_msg("%s never held %s; last: %.500s", path, needle,
                     b->data);
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* ------------------------------ chromium ----------------------------- */

/* Run chromium with args (NULL-terminated, after the fixed flags) within
 * CHROMIUM_MS; killed by its PID past that.  Its stdout into out.  Fails
 * the test when it cannot run or does not exit 0. */
static void chromium(struct twr_fx *f, const char *profile,
                     const char *const args[], buf *out)
{
    const char *argv[24] = {CHROMIUM, "--headless", "--no-sandbox",
                            "--disable-gpu", "--no-first-run",
                            "--disable-dev-shm-usage",
                            "--disable-extensions", "--mute-audio",
                            "--disable-background-networking",
                            "--no-proxy-server"};
    char udd[256], home[256];
    const char *cenv[] = {home, NULL};
    size_t n = 10, len;
    struct proc *p;
    int status = -1;
    const char *o;

    snprintf(udd, sizeof udd, "--user-data-dir=%s", profile);
    snprintf(home, sizeof home, "HOME=%s", profile);
    argv[n++] = udd;
    for (size_t i = 0; args[i] != NULL && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (access(CHROMIUM, X_OK) != 0)
        fail_msg("%s is not installed: run tests/deps.sh (Debian package "
                 "chromium); the status page cannot be tested without it",
                 CHROMIUM);
    p = twr_fx_proc(f, proc_spawn(argv, cenv));
    assert_non_null(p);
    if (!proc_wait_exit(p, CHROMIUM_MS, &status)) {
        kill(proc_pid(p), SIGKILL);
        proc_wait_exit(p, 5000, &status);
        twr_dump_stderr("chromium", p);
        fail_msg("chromium did not finish within %d ms (killed, pid %d)",
                 CHROMIUM_MS, (int)proc_pid(p));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        twr_dump_stderr("chromium", p);
        fail_msg("chromium exited with status %d", status);
    }
    o = proc_stdout_all(p, &len);
    buf_reset(out);
    buf_append(out, o, len);
    buf_append(out, "", 0);
}

/* How many times needle occurs in s. */
static size_t count(const char *s, const char *needle)
{
    size_t n = 0;

    for (; (s = strstr(s, needle)) != NULL; s++)
        n++;
    return n;
}

/* ------------------------------ the test ----------------------------- */

static void test_page_in_chromium(void **state)
{
    static const struct tsrv_response keep = {.status = 200,
                                              .end = TSRV_KEEP};
    struct twr_fx *f = *state;
    struct twr_dir d;
    struct tsrv *srv, *login;
    struct rcv *r;
    struct proc *run;
    unsigned port;
    char surl[128], hook[128], page[1024], lurl[128], url[128], sid[32];
    char profile[160], path[256];
    const int64_t t = clock_wall_ms() - 200000;
    const char *p, *crit, *warn;
    struct stat sb;
    buf b, dom;

    buf_init(&b, 8u << 20);
    buf_init(&dom, 16u << 20);
    assert_int_equal(twr_dir_make(f, &d, "page"), 0);
    assert_non_null(r = twr_fx_rcv(f));
    rcv_url(r, "/hook", hook, sizeof hook);
    assert_non_null(srv = twr_fx_stream(f, NULL, surl, sizeof surl));
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_int_equal(tsrv_add_response(srv, &keep), 0);
    assert_int_equal(twr_write_config(d.cfg, CFG, d.state, surl, hook), 0);
    assert_non_null(run = twr_start_run(f, d.cfg, env, &port));
    assert_true(tsrv_wait_requests(srv, 1, WAIT_MS));

    /* two alerts, one of them for a hostile agent id */
    push_call(srv, "1", "tool-a", "agent-1", t, 9000);
    push_call(srv, "2", "tool-x", HOSTILE, t + 1, 9000);
    assert_true(rcv_wait_requests(r, 2, WAIT_MS));

    /* a silence over the API */
    assert_int_equal(req(port, "POST", "/api/v1/silences",
                         "{\"matchers\": {\"rule\": \"slow\"}, \"ends_at\":"
                         " \"2099-01-01T00:00:00Z\", \"comment\": \"disk "
                         "swap <b>tonight</b>\", \"created_by\": \"itest\"}",
                         1, 0, &b), 201);
    assert_int_equal(sscanf(b.data, "{\"id\":\"%16[0-9a-f]\"}", sid), 1);

    /* the history: newest first, filtered, bounded, guarded */
    wait_history(port, "/api/v1/history", "\"event\":\"delivered\"", &b,
                 run);
    wait_history(port, "/api/v1/history?rule=hostile",
                 "\"key\":\"" HOSTILE "\"", &b, run);
    assert_null(strstr(b.data, "\"rule\":\"slow\""));
    assert_non_null(strstr(b.data, "{\"entries\":[{\"at\":"));
    assert_non_null(strstr(b.data, "\"event\":\"fired\",\"id\":\""));
    assert_non_null(strstr(b.data, "\"detail\":\"critical\""));
    assert_int_equal(req(port, "GET", "/api/v1/history?rule=sl*&limit=1",
                         NULL, 1, 0, &b), 200);
    assert_int_equal(count(b.data, "\"at\":"), 1);
    assert_non_null(strstr(b.data, "\"rule\":\"slow\""));
    assert_int_equal(req(port, "GET", "/api/v1/history?since=2099-01-01T00:"
                         "00:00Z", NULL, 1, 0, &b), 200);
    assert_string_equal(b.data, "{\"entries\":[]}\n");
    assert_int_equal(req(port, "GET", "/api/v1/history?limit=1001", NULL, 1,
                         0, &b), 400);
    assert_string_equal(b.data, "{\"error\":\"limit: expected a whole "
                                "number from 1 to 1000\"}\n");
    assert_int_equal(req(port, "GET", "/api/v1/history?since=soon", NULL, 1,
                         0, &b), 400);
    assert_non_null(strstr(b.data, "since: expected an ISO 8601"));
    assert_int_equal(req(port, "GET", "/api/v1/history?colour=red", NULL, 1,
                         0, &b), 400);
    assert_string_equal(b.data, "{\"error\":\"colour: unknown parameter "
                                "(since, rule, limit)\"}\n");
    assert_int_equal(req(port, "GET", "/api/v1/history", NULL, 0, 0, &b),
                     401);
    assert_int_equal(req(port, "POST", "/api/v1/history", "{}", 1, 0, &b),
                     405);
    /* the page wants the token: a browser without it goes to /login */
    assert_int_equal(req(port, "GET", "/", NULL, 0, 0, &b), 303);

    /* the page shows the silence once published (about once a second) */
    {
        int64_t end = clock_mono_ms() + WAIT_MS;

        while (req(port, "GET", "/", NULL, 1, 0, &b) != 200 ||
               strstr(b.data, sid) == NULL || strstr(b.data, "ops-hook") ==
               NULL || strstr(b.data, "delivered") == NULL) {
            if (clock_mono_ms() > end)
                fail_msg("the page never listed silence %s", sid);
            twr_pause_ms(TWR_POLL_MS);
        }
    }

    /* the browser logs in like a person: a page of the same site (another
     * port of 127.0.0.1) posts the token to /login */
    snprintf(page, sizeof page,
             "<!DOCTYPE html><html><body><form method=\"post\" action="
             "\"http://127.0.0.1:%u/login\"><input name=\"token\" value=\""
             TOKEN "\"></form><script>document.forms[0].submit()</script>"
             "</body></html>", port);
    {
        const struct tsrv_chunk ch = {page, strlen(page), 0};
        const struct tsrv_response lr = {
            .status = 200,
            .headers = {"Content-Type: text/html; charset=utf-8"},
            .chunks = &ch, .nchunks = 1, .content_length = true,
            .end = TSRV_CLOSE};

        assert_non_null(login = twr_fx_tsrv(f));
        assert_int_equal(tsrv_add_response(login, &lr), 0);
        tsrv_set_after_script(login, TSRV_AFTER_REPEAT_LAST);
        tsrv_url(login, "/", lurl, sizeof lurl);
    }
    snprintf(profile, sizeof profile, "%s/chromium", d.path);
    chromium(f, profile, (const char *const[]){
                 "--virtual-time-budget=10000", "--dump-dom", lurl, NULL},
             &dom);
    if (getenv("ITEST_VERBOSE") != NULL)
        fprintf(stderr, "%s\n", dom.data);

    /* logged in, on the page */
    if (strstr(dom.data, "id=\"banner\"") == NULL)
        fail_msg("not the status page: %.2000s", dom.data);
    assert_non_null(strstr(dom.data, "2 FIRING"));
    assert_non_null(strstr(dom.data, "1 critical"));
    assert_null(strstr(dom.data, TOKEN));
    /* both alerts, critical first */
    crit = strstr(dom.data, "<td class=\"rule\">hostile</td>");
    warn = strstr(dom.data, "<td class=\"rule\">slow</td>");
    assert_non_null(crit);
    assert_non_null(warn);
    assert_true(crit < warn);
    assert_non_null(strstr(dom.data, "<td class=\"key\">tool-a</td>"));
    /* the hostile agent id is text, and there is no script element */
    assert_non_null(strstr(dom.data, "<td class=\"key\">&lt;script&gt;"
                                     "alert(1)&lt;/script&gt;</td>"));
    assert_null(strstr(dom.data, "<script"));
    /* the forms: ack and silence per alert, with the CSRF field */
    assert_int_equal(count(dom.data, "action=\"/ui/ack\""), 2);
    assert_int_equal(count(dom.data, "action=\"/ui/silence\""), 3);
    assert_non_null(p = strstr(dom.data, "name=\"csrf\" value=\""));
    assert_int_equal(strspn(p + 19, "0123456789abcdef"), 64);
    /* the silence, its comment escaped, with its expire form; the alert
     * it mutes says so */
    assert_non_null(strstr(dom.data, sid));
    assert_non_null(strstr(dom.data, "rule=slow"));
    assert_non_null(strstr(dom.data, "disk swap &lt;b&gt;tonight&lt;/b&gt;"));
    assert_int_equal(count(dom.data, "action=\"/ui/expire\""), 1);
    assert_non_null(strstr(dom.data, "<td>active</td>"));
    /* the sink and the history */
    assert_non_null(strstr(dom.data, "ops-hook"));
    assert_true(count(dom.data, "class=\"history-row\"") >= 3);
    assert_non_null(strstr(dom.data, "<td>fired</td>"));
    assert_non_null(strstr(dom.data, "<td>delivered</td>"));

    /* a screenshot for the notes */
    snprintf(path, sizeof path, "--screenshot=%s/build/page.png",
             getenv("PWD") != NULL ? getenv("PWD") : ".");
    remove(path + strlen("--screenshot="));
    chromium(f, profile, (const char *const[]){
                 "--virtual-time-budget=10000", path,
                 "--window-size=1280,1600", "--hide-scrollbars", lurl, NULL},
             &b);
    assert_int_equal(stat(path + strlen("--screenshot="), &sb), 0);
    assert_true(sb.st_size > 10000);

    /* the ack form as a browser posts it: the session cookie and the
     * page's CSRF field; the answer goes back to the page */
    {
        char cookie[128], csrf[65], body[256], id[40];
        const char *c;

        assert_int_equal(req(port, "POST", "/login", "token=" TOKEN, 0, 1,
                             &b), 303);
        assert_non_null(c = strstr(b.data, "tw_session="));
        assert_int_equal(sscanf(c, "tw_session=%64[0-9a-f]", csrf), 1);
        snprintf(cookie, sizeof cookie, "tw_session=%s", csrf);
        assert_non_null(p = strstr(dom.data, "name=\"id\" value=\""));
        assert_int_equal(sscanf(p, "name=\"id\" value=\"%32[0-9a-f]", id),
                         1);
        assert_non_null(p = strstr(dom.data, "name=\"csrf\" value=\""));
        snprintf(csrf, sizeof csrf, "%.64s", p + 19);
        snprintf(body, sizeof body, "csrf=%s&id=%s&by=night+shift", csrf, id);
        {
            CURL *e = curl_easy_init();
            long code = 0;

            snprintf(path, sizeof path, "http://127.0.0.1:%u/ui/ack", port);
            curl_easy_setopt(e, CURLOPT_URL, path);
            curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
            curl_easy_setopt(e, CURLOPT_COOKIE, cookie);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
            assert_int_equal(curl_easy_perform(e), CURLE_OK);
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            curl_easy_cleanup(e);
            assert_int_equal(code, 303);
        }
        wait_history(port, "/api/v1/history?limit=5",
                     "acknowledged by night shift", &b, run);
        assert_non_null(strstr(b.data, id));
    }

    /* kill -9: the history flushed before it is all there after */
    assert_true(twr_kill9("run", run));
    assert_non_null(run = twr_start_run(f, d.cfg, env, &port));
    assert_int_equal(req(port, "GET", "/api/v1/history?limit=1000", NULL, 1,
                         0, &b), 200);
    assert_int_equal(count(b.data, "\"event\":\"fired\""), 2);
    assert_int_equal(count(b.data, "\"event\":\"acked\""), 1);
    assert_true(count(b.data, "\"event\":\"delivered\"") >= 1);
    snprintf(url, sizeof url, "%u", port);
    assert_true(twr_stop("run", run));
    buf_free(&b);
    buf_free(&dom);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, twr_setup, twr_teardown)
    const struct CMUnitTest tests[] = {
        T(test_page_in_chromium),
    };
#undef T
    return cmocka_run_group_tests(tests, twr_group_setup,
                                  twr_group_teardown);
}
