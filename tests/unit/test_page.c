/*
 * test_page.c - the status page and the form readers of status/render.h
 * as pure functions: escaping (exact bytes), the banner for each state,
 * alerts sorted by severity then age, forms present with the CSRF field
 * or a read-only page, no script anywhere, clamped counts; form bodies
 * and query strings decoded pair by pair at their bounds; each page form
 * turned into its exact API request.
 */
#include "status/render.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1773144000000LL /* 2026-03-10T12:00:00Z */
#define CSRF "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The text between "<p class=\"err\">" and "</p>" of the form error
 * page made for message[0..n): what the page's escaping wrote. */
static void escaped(const char *message, size_t n, char *out, size_t size)
{
    static const char open[] = "<p class=\"err\">";
    const char *p, *q;
    buf b;

    buf_init(&b, 64 * 1024);
    assert_int_equal(status_render_form_error(&b, 400, message, n), BUF_OK);
    assert_int_equal(buf_append(&b, "", 0), BUF_OK);
    assert_non_null(p = strstr(b.data, open));
    p += sizeof open - 1;
    assert_non_null(q = strstr(p, "</p>"));
    assert_true((size_t)(q - p) < size);
    snprintf(out, size, "%.*s", (int)(q - p), p);
    buf_free(&b);
}

/* The page's escaping, byte for byte: & < > " ' as references, a byte
 * that is not UTF-8 as U+FFFD, UTF-8 kept, nothing for nothing. */
static void test_escape_exact(void **state)
{
    char out[512];

    (void)state;
    escaped("<script>alert('x\"&y')</script>", 30, out, sizeof out);
    assert_string_equal(out, "&lt;script&gt;alert(&#39;x&quot;&amp;y"
                             "&#39;)&lt;/script&gt;");
    escaped("a\xff<b\xc3\xa9", 6, out, sizeof out);
    assert_string_equal(out, "a\xef\xbf\xbd&lt;b\xc3\xa9");
    escaped("", 0, out, sizeof out);
    assert_string_equal(out, "");
}

static struct status_snapshot *snap_new(void)
{
    struct status_snapshot *s = calloc(1, sizeof *s);

    assert_non_null(s);
    snprintf(s->version, sizeof s->version, "9.9.9");
    snprintf(s->detection, sizeof s->detection, "live");
    snprintf(s->stream.state, sizeof s->stream.state, "connected");
    s->stream.connected = 1;
    s->stream.last_event_ms = T0 - 4000;
    s->stream.lag_ms = 1500;
    s->journal_writable = 1;
    return s;
}

static void add_firing(struct status_snapshot *s, const char *rule,
                       const char *key, const char *sev, int64_t started)
{
    __typeof__(s->firing[0]) *f = &s->firing[s->n_firing++];

    snprintf(f->detector, sizeof f->detector, "%s", rule);
    snprintf(f->key, sizeof f->key, "%s", key);
    snprintf(f->severity, sizeof f->severity, "%s", sev);
    snprintf(f->episode, sizeof f->episode, "%032x", s->n_firing);
    f->started_ms = started;
    s->firing_total++;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;

    for (; (s = strstr(s, needle)) != NULL; s++)
        n++;
    return n;
}

static void page_of(buf *b, const struct status_snapshot *s, int writes)
{
    buf_init(b, 4u << 20);
    assert_int_equal(status_render_page(b, s, CSRF, writes, T0), BUF_OK);
    assert_int_equal(buf_append(b, "", 1), BUF_OK);
}

static void test_page_alerts(void **state)
{
    struct status_snapshot *s = snap_new();
    const char *p[5];
    buf b;

    (void)state;
    add_firing(s, "r-info", "k1", "info", T0 - 1000);
    add_firing(s, "r-warn-new", "k2", "warning", T0 - 1000);
    add_firing(s, "r-crit", "<script>alert(1)</script>", "critical",
               T0 - 7200000);
    add_firing(s, "r-warn-old", "k4", "warning", T0 - 5000);
    add_firing(s, "r-err", "k5", "error", T0 - 1000);
    snprintf(s->firing[1].acked_by, sizeof s->firing[1].acked_by, "amy<b>");
    s->firing[1].acked_ms = T0 - 500;
    snprintf(s->firing[0].silenced_by, sizeof s->firing[0].silenced_by,
             "00112233aabbccdd");
    page_of(&b, s, 1);
    assert_int_equal(strncmp(b.data, "<!DOCTYPE html>\n<html lang=\"en\">", 31),
                     0);
    assert_non_null(strstr(b.data, "<title>toolwatch: 5 firing</title>"));
    assert_non_null(strstr(b.data, "<div class=\"banner crit\" id=\"banner\">5 "
                                   "FIRING &mdash; 1 critical</div>"));
    assert_non_null(strstr(b.data, "stream <b>connected</b> (connected) "
                                   "&middot; detection <b>live</b> &middot; "
                                   "lag 1.500 s &middot; last event 4 s "
                                   "ago"));
    /* critical, error, the older warning, the newer, info */
    p[0] = strstr(b.data, ">r-crit<");
    p[1] = strstr(b.data, ">r-err<");
    p[2] = strstr(b.data, ">r-warn-old<");
    p[3] = strstr(b.data, ">r-warn-new<");
    p[4] = strstr(b.data, ">r-info<");
    for (int i = 0; i < 5; i++)
        assert_non_null(p[i]);
    for (int i = 0; i < 4; i++)
        assert_true(p[i] < p[i + 1]);
    assert_non_null(strstr(b.data, "<td class=\"key\">&lt;script&gt;"
                                   "alert(1)&lt;/script&gt;</td>"));
    assert_non_null(strstr(b.data, "2 h 0 min ago"));
    assert_non_null(strstr(b.data, "amy&lt;b&gt;<br><span class=\"muted\">"
                                   "2026-03-10 11:59:59Z</span>"));
    assert_non_null(strstr(b.data, "<td>00112233aabbccdd</td>"));
    assert_null(strstr(b.data, "<script"));
    assert_int_equal(count(b.data, "action=\"/ui/ack\""), 5);
    assert_int_equal(count(b.data, "action=\"/ui/silence\""), 6);
    assert_int_equal(count(b.data, "<input type=\"hidden\" name=\"csrf\" "
                                   "value=\"" CSRF "\">"), 11);
    assert_int_equal(count(b.data, "<input type=\"hidden\" name=\"id\" "
                                   "value=\"00000000000000000000000000000003"
                                   "\">"), 1);
    buf_free(&b);

    /* read only: no forms at all */
    page_of(&b, s, 0);
    assert_null(strstr(b.data, "<form"));
    assert_null(strstr(b.data, CSRF));
    assert_non_null(strstr(b.data, "Read only"));
    buf_free(&b);

    /* more than the array: clamped, said */
    s->n_firing = STATUS_MAX_FIRING + 5;
    s->firing_total = 1000;
    page_of(&b, s, 0);
    assert_non_null(strstr(b.data, "The first 64 are shown."));
    buf_free(&b);
    free(s);
}

static void test_page_banners_and_lists(void **state)
{
    struct status_snapshot *s = snap_new();
    buf b;

    (void)state;
    page_of(&b, s, 1);
    assert_non_null(strstr(b.data, "banner ok\" id=\"banner\">ALL CLEAR"));
    assert_non_null(strstr(b.data, "Nothing is firing."));
    assert_non_null(strstr(b.data, "No silences."));
    assert_non_null(strstr(b.data, "No sinks configured."));
    assert_non_null(strstr(b.data, "<h2 id=\"history\">History (newest "
                                   "first)</h2>\n<p class=\"muted\">Nothing "
                                   "yet.</p>"));
    buf_free(&b);

    s->stream.connected = 0;
    s->stream.disconnected_since_ms = T0 - 60000;
    s->detection_unknown = 1;
    add_firing(s, "r", "k", "warning", T0);
    page_of(&b, s, 1);
    assert_non_null(strstr(b.data, "banner down\" id=\"banner\">STREAM DOWN"));
    assert_non_null(strstr(b.data, "down since 2026-03-10 11:59:00Z"));
    buf_free(&b);

    s->stream.connected = 1;
    s->detection_unknown = 0;
    s->oncall.silences_active = 2;
    s->n_silences = 2;
    snprintf(s->silences[0].id, sizeof s->silences[0].id, "aaaa");
    snprintf(s->silences[0].state, sizeof s->silences[0].state, "active");
    snprintf(s->silences[0].matchers, sizeof s->silences[0].matchers,
             "rule=<x>");
    snprintf(s->silences[1].id, sizeof s->silences[1].id, "bbbb");
    snprintf(s->silences[1].state, sizeof s->silences[1].state, "expired");
    s->n_sinks = 1;
    snprintf(s->sinks[0].name, sizeof s->sinks[0].name, "hook");
    snprintf(s->sinks[0].last_error, sizeof s->sinks[0].last_error,
             "HTTP 500 <oops>");
    s->sinks[0].last_failure_ms = T0;
    s->sinks[0].queue_depth = 7;
    s->n_history = 1;
    s->history[0].at_ms = T0;
    snprintf(s->history[0].event, sizeof s->history[0].event, "fired");
    snprintf(s->history[0].detail, sizeof s->history[0].detail, "a&b");
    page_of(&b, s, 1);
    assert_non_null(strstr(b.data, "banner warn\" id=\"banner\">1 FIRING "
                                   "&mdash; 0 critical &middot; 2 silences "
                                   "active</div>"));
    assert_non_null(strstr(b.data, "<td>rule=&lt;x&gt;</td>"));
    /* an expired silence has no expire form */
    assert_int_equal(count(b.data, "action=\"/ui/expire\""), 1);
    assert_non_null(strstr(b.data, "<td class=\"err\">HTTP 500 &lt;oops&gt; "
                                   "(2026-03-10 12:00:00Z)</td>"));
    assert_non_null(strstr(b.data, "<td>7</td>"));
    assert_non_null(strstr(b.data, "<tr class=\"history-row\"><td>2026-03-10 "
                                   "12:00:00Z</td><td>fired</td>"));
    assert_non_null(strstr(b.data, "<td>a&amp;b</td>"));
    buf_free(&b);
    free(s);

    buf_init(&b, 65536);
    assert_int_equal(status_render_login(&b, "Wrong <token>."), BUF_OK);
    assert_non_null(strstr(b.data, "<p class=\"err\">Wrong &lt;token&gt;."
                                   "</p>"));
    assert_non_null(strstr(b.data, "<form method=\"post\" action=\"/login\">"));
    buf_reset(&b);
    assert_int_equal(status_render_form_error(&b, 404, "{\"error\":\"<x>\"}",
                                              15), BUF_OK);
    assert_non_null(strstr(b.data, "Not done (HTTP 404)</h2>\n<p class=\"err"
                                   "\">{&quot;error&quot;:&quot;&lt;x&gt;"
                                   "&quot;}</p>"));
    buf_free(&b);

    /* a page that does not fit its buffer says so */
    s = snap_new();
    buf_init(&b, 100);
    assert_int_equal(status_render_page(&b, s, CSRF, 1, T0), BUF_ETOOBIG);
    buf_free(&b);
    free(s);
}

static void test_form_pairs(void **state)
{
    static const char text[] = "a=1&&b=x+y%21&c&=v&d=%e2%82%AC";
    struct status_form f;
    char n[8], v[8];
    size_t vl;

    (void)state;
    status_form_init(&f, text, strlen(text));
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 1);
    assert_string_equal(n, "a");
    assert_string_equal(v, "1");
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 1);
    assert_string_equal(n, "b");
    assert_string_equal(v, "x y!");
    assert_int_equal(vl, 4);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 1);
    assert_string_equal(n, "c");
    assert_int_equal(vl, 0);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 1);
    assert_string_equal(n, "");
    assert_string_equal(v, "v");
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 1);
    assert_string_equal(v, "\xe2\x82\xac");
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 0);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 0);

    /* bounds: 7 bytes fit a value of 8, 8 do not */
    status_form_init(&f, "k=1234567", 9);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 1);
    assert_int_equal(vl, 7);
    status_form_init(&f, "k=12345678", 10);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), -1);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 0);
    /* bad escapes, a NUL in a name, a NUL in a value (kept, counted) */
    status_form_init(&f, "k=%4", 4);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), -1);
    status_form_init(&f, "k=%zz", 5);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), -1);
    status_form_init(&f, "k%00=1", 6);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), -1);
    status_form_init(&f, "k=a%00b", 7);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 1);
    assert_int_equal(vl, 3);
    status_form_init(&f, NULL, 0);
    assert_int_equal(status_form_next(&f, n, sizeof n, v, sizeof v, &vl), 0);

    assert_int_equal(status_form_get("a=1&b=2", 7, "b", v, sizeof v, &vl), 1);
    assert_string_equal(v, "2");
    assert_int_equal(status_form_get("a=1&b=2", 7, "c", v, sizeof v, &vl), 0);
    assert_int_equal(status_form_get("b=1&b=2", 7, "b", v, sizeof v, &vl), -1);
    assert_int_equal(status_form_get("b=12", 4, "b", v, 2, &vl), -1);
    assert_int_equal(status_form_get("a=%&b=2", 7, "b", v, sizeof v, &vl),
                     -1);
}

static void action_is(const char *path, const char *body, const char *method,
                      const char *api, const char *json)
{
    struct status_form_action a;
    char err[256] = "";
    buf b;

    buf_init(&b, 1 << 16);
    if (status_form_action(path, body, strlen(body), T0, &a, &b, err,
                           sizeof err) != 0)
        fail_msg("%s refused: %s", body, err);
    assert_string_equal(a.method, method);
    assert_string_equal(a.path, api);
    assert_string_equal(a.csrf, "c1");
    assert_string_equal(b.len > 0 ? b.data : "", json);
    buf_free(&b);
}

static void refused(const char *path, const char *body, const char *why)
{
    struct status_form_action a;
    char err[256] = "";
    buf b;

    buf_init(&b, 1 << 16);
    assert_int_equal(status_form_action(path, body, strlen(body), T0, &a, &b,
                                        err, sizeof err), -1);
    assert_string_equal(err, why);
    buf_free(&b);
}

static void test_form_actions(void **state)
{
    (void)state;
    action_is("/ui/ack", "csrf=c1&id=0a1b&by=night+shift", "POST",
              "/api/v1/alerts/0a1b/ack", "{\"by\":\"night shift\"}");
    action_is("/ui/expire", "id=00ff&csrf=c1", "DELETE",
              "/api/v1/silences/00ff", "");
    action_is("/ui/silence", "csrf=c1&rule=db_*&duration=4h&created_by=amy"
              "&comment=%22swap%22", "POST", "/api/v1/silences",
              "{\"matchers\":{\"rule\":\"db_*\"},\"ends_at\":"
              "\"2026-03-10T16:00:00.000Z\",\"created_by\":\"amy\","
              "\"comment\":\"\\\"swap\\\"\"}");
    action_is("/ui/silence", "csrf=c1&rule=r&duration=7d&created_by=a"
              "&comment=c", "POST", "/api/v1/silences",
              "{\"matchers\":{\"rule\":\"r\"},\"ends_at\":"
              "\"2026-03-17T12:00:00.000Z\",\"created_by\":\"a\","
              "\"comment\":\"c\"}");
    refused("/ui/ack", "id=0a1b&by=x", "csrf: missing");
    refused("/ui/ack", "csrf=c1&csrf=c1&id=0a1b&by=x",
            "csrf: malformed, too long or given twice");
    refused("/ui/ack", "csrf=c1&id=../x&by=x", "id: not valid here");
    refused("/ui/ack", "csrf=c1&id=0A1B&by=x", "id: not valid here");
    refused("/ui/ack", "csrf=c1&id=0a1b", "by: missing");
    refused("/ui/ack", "csrf=c1&id=0a1b&by=", "by: missing");
    refused("/ui/expire", "csrf=c1&id=a%00b", "id: not valid here");
    refused("/ui/silence", "csrf=c1&rule=r&duration=2h&created_by=a&"
            "comment=c", "duration: expected 1h, 4h, 24h or 7d");
    refused("/ui/silence", "csrf=c1&duration=1h&created_by=a&comment=c",
            "rule: missing");
    refused("/ui/nope", "csrf=c1", "no such form");
}

/* Every array full and every byte of every string escaped: the page
 * still fits STATUS_PAGE_MAX. */
static void test_page_at_its_largest(void **state)
{
    struct status_snapshot *s = snap_new();
    buf b;

    (void)state;
    memset(s, '&', sizeof *s);
    s->n_firing = STATUS_MAX_FIRING;
    s->firing_total = UINT64_MAX;
    s->n_silences = STATUS_MAX_SILENCES;
    s->n_sinks = STATUS_MAX_SINKS;
    s->n_history = STATUS_MAX_HISTORY;
    s->start_ms = s->stream.last_event_ms = T0;
    s->stream.lag_ms = INT64_MIN;
    for (unsigned i = 0; i < STATUS_MAX_FIRING; i++) {
        s->firing[i].started_ms = INT64_MIN;
        s->firing[i].acked_ms = INT64_MAX;
    }
    for (unsigned i = 0; i < STATUS_MAX_HISTORY; i++)
        s->history[i].at_ms = INT64_MAX;
    for (unsigned i = 0; i < STATUS_MAX_SINKS; i++)
        s->sinks[i].last_success_ms = s->sinks[i].last_failure_ms = -1;
    buf_init(&b, STATUS_PAGE_MAX);
    assert_int_equal(status_render_page(&b, s, CSRF, 1, T0), BUF_OK);
    /* measured: 710,783 bytes */
    assert_true(b.len > 700000 && b.len < STATUS_PAGE_MAX);
    assert_null(strstr(b.data, "<script"));
    buf_free(&b);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_exact),
        cmocka_unit_test(test_page_alerts),
        cmocka_unit_test(test_page_banners_and_lists),
        cmocka_unit_test(test_page_at_its_largest),
        cmocka_unit_test(test_form_pairs),
        cmocka_unit_test(test_form_actions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
