/*
 * test_oncall.c - app/oncall.c: the API as the loop answers it (routes,
 * methods, status codes and bodies, ids checked, the ack's optional body),
 * the gate between the rules and the outbox (a silence made over the API
 * mutes a firing; expiring it over the API sends the held firing at
 * once), and what /status gets (silenced_by, acked_by, the counters);
 * the history of what a sink delivered, took into a storm digest (a
 * `delivered` entry saying so) and sent as the digest.
 * Time is a parameter.
 */
#include "app/oncall.h"

#include "base/clock.h"
#include "base/loop.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "tests/unit/tmpdir_helpers.h"

#define NOW 1773144000000LL /* 2026-03-10T12:00:00Z */
#define EP "00112233445566778899aabbccddeeff"

static oncall *make(void)
{
    struct oncall_options o = {.retention_s = 86400};
    oncall *oc = oncall_create(&o, NOW);

    assert_non_null(oc);
    return oc;
}

/* One request: its code; its body to out. */
static unsigned api(oncall *oc, const char *method, const char *path,
                    const char *body, buf *out, const char **allow)
{
    const char *ignored;

    return oncall_api(oc, method, path, body, body ? strlen(body) : 0, NOW,
                      out, allow ? allow : &ignored, NULL);
}

static cJSON *parse(const buf *b)
{
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);

    if (j == NULL)
        fail_msg("not JSON: %.*s", (int)b->len, b->data);
    return j;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A firing of latency for tool `tool`, episode id EP. */
static void firing(struct alert *a, const char *tool, int resolved)
{
    memset(a, 0, sizeof *a);
    memcpy(a->id, EP, sizeof a->id);
    a->resolved = resolved;
    a->rule = "latency";
    a->key = tool;
    a->severity = "warning";
    a->ngroup = 1;
    a->group[0] = (struct alert_pair){"tool_name", tool};
    a->started_ms = NOW;
    a->timestamp_ms = NOW;
}

struct sent {
    int n;
    char id[ALERT_ID_HEX + 1];
};

static void on_send(void *ud, const struct alert *a, const char *doc,
                    size_t len)
{
    struct sent *s = ud;

    (void)doc;
    (void)len;
    s->n++;
    memcpy(s->id, a->id, sizeof s->id);
}

static const char SILENCE[] =
    "{\"matchers\": {\"rule\": \"latency\", \"group.tool_name\": \"pg*\"}, "
    "\"ends_at\": \"2026-03-10T14:00:00Z\", \"comment\": \"db upgrade\", "
    "\"created_by\": \"alice\"}";

static void test_silences_api(void **state)
{
    oncall *oc = make();
    const char *allow;
    char path[128], id[SILENCE_ID_MAX];
    buf b;
    cJSON *j;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(api(oc, "GET", "/api/v1/silences", NULL, &b, NULL),
                     200);
    assert_string_equal(b.data, "{\"silences\":[]}\n");
    assert_int_equal(api(oc, "POST", "/api/v1/silences", SILENCE, &b, NULL),
                     201);
    j = parse(&b);
    assert_int_equal(strlen(jstr(j, "id")), SILENCE_ID_LEN);
    snprintf(id, sizeof id, "%s", jstr(j, "id"));
    cJSON_Delete(j);

    assert_int_equal(api(oc, "GET", "/api/v1/silences", NULL, &b, NULL),
                     200);
    j = parse(&b);
    {
        const cJSON *s0 = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(j, "silences"), 0);
        assert_string_equal(jstr(s0, "id"), id);
        assert_string_equal(jstr(s0, "state"), "active");
        assert_string_equal(jstr(s0, "comment"), "db upgrade");
        assert_string_equal(jstr(s0, "created_by"), "alice");
        assert_string_equal(jstr(s0, "ends_at"), "2026-03-10T14:00:00.000Z");
    }
    cJSON_Delete(j);

    snprintf(path, sizeof path, "/api/v1/silences/%s", id);
    assert_int_equal(api(oc, "GET", path, NULL, &b, NULL), 200);
    j = parse(&b);
    assert_string_equal(jstr(j, "id"), id);
    cJSON_Delete(j);
    assert_int_equal(api(oc, "DELETE", path, NULL, &b, NULL), 204);
    assert_int_equal(b.len, 0);
    assert_int_equal(api(oc, "GET", path, NULL, &b, NULL), 200);
    j = parse(&b);
    assert_string_equal(jstr(j, "state"), "expired");
    cJSON_Delete(j);
    /* again: still 204, nothing changes */
    assert_int_equal(api(oc, "DELETE", path, NULL, &b, NULL), 204);

    /* refusals, with the parser's message */
    assert_int_equal(api(oc, "POST", "/api/v1/silences", "{\"matchers\": "
                         "{\"rule\": \"x\"}, \"ends_at\": \"soon\"}", &b,
                         NULL), 400);
    assert_string_equal(b.data, "{\"error\":\"ends_at: expected an ISO 8601 "
                        "time (2026-03-10T02:00:00Z), got \\\"soon\\\"\"}\n");
    assert_int_equal(api(oc, "POST", "/api/v1/silences", "", &b, NULL), 400);
    assert_int_equal(api(oc, "DELETE", "/api/v1/silences/0123456789abcdef",
                         NULL, &b, NULL), 404);
    assert_string_equal(b.data, "{\"error\":\"no such silence\"}\n");
    assert_int_equal(api(oc, "DELETE", "/api/v1/silences/../../x", NULL, &b,
                         NULL), 404);
    assert_int_equal(api(oc, "DELETE", "/api/v1/silences/ABCDEF0123456789",
                         NULL, &b, NULL), 404);
    assert_int_equal(api(oc, "PUT", "/api/v1/silences", "{}", &b, &allow),
                     405);
    assert_string_equal(allow, "GET, HEAD, POST");
    assert_int_equal(api(oc, "POST", path, "{}", &b, &allow), 405);
    assert_string_equal(allow, "GET, HEAD, DELETE");
    assert_int_equal(api(oc, "GET", "/api/v1/nope", NULL, &b, NULL), 404);
    assert_int_equal(api(oc, "GET", "/api/v2/silences", NULL, &b, NULL),
                     404);
    assert_int_equal(api(oc, "GET", "/api/v1/silences/", NULL, &b, NULL),
                     404);
    buf_free(&b);
    oncall_destroy(oc);
}

/* A silence made over the API mutes the firing; /status says so;
 * expiring it over the API sends the held firing at once (no tick). */
static void test_gate_through_the_api(void **state)
{
    oncall *oc = make();
    struct status_snapshot snap;
    struct sent sent = {0};
    struct alert a;
    char path[128];
    buf b;
    cJSON *j;
    int changed = 0;
    const char *allow;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(api(oc, "POST", "/api/v1/silences", SILENCE, &b, NULL),
                     201);
    j = parse(&b);
    snprintf(path, sizeof path, "/api/v1/silences/%s", jstr(j, "id"));
    firing(&a, "pg_query", 0);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW), GATE_SILENCED);

    memset(&snap, 0, sizeof snap);
    snap.n_firing = 1;
    memcpy(snap.firing[0].episode, EP, sizeof EP);
    oncall_fill(oc, &snap, NOW);
    assert_string_equal(snap.firing[0].silenced_by, jstr(j, "id"));
    assert_string_equal(snap.firing[0].acked_by, "");
    assert_int_equal(snap.oncall.silences_active, 1);
    assert_int_equal(snap.oncall.silenced, 1);
    cJSON_Delete(j);

    oncall_tick(oc, NOW + 1000, on_send, &sent);
    assert_int_equal(sent.n, 0);
    assert_int_equal(oncall_api(oc, "DELETE", path, NULL, 0, NOW + 2000, &b,
                                &allow, &changed), 204);
    assert_true(changed);
    /* oncall_serve() ticks after a change; here by hand */
    oncall_tick(oc, NOW + 2000, on_send, &sent);
    assert_int_equal(sent.n, 1);
    assert_string_equal(sent.id, EP);
    memset(&snap, 0, sizeof snap);
    snap.n_firing = 1;
    memcpy(snap.firing[0].episode, EP, sizeof EP);
    oncall_fill(oc, &snap, NOW + 2000);
    assert_string_equal(snap.firing[0].silenced_by, "");
    assert_int_equal(snap.oncall.released, 1);
    assert_int_equal(snap.oncall.silences_expired, 1);
    /* the resolve goes out: the firing did */
    firing(&a, "pg_query", 1);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW + 3000), GATE_SEND);
    assert_int_equal(oncall_alert(NULL, &a, "{}", 2, NOW), GATE_SEND);
    buf_free(&b);
    oncall_destroy(oc);
}

static void test_ack_api(void **state)
{
    oncall *oc = make();
    struct status_snapshot snap;
    struct alert a;
    const char *allow;
    const char *path = "/api/v1/alerts/" EP "/ack";
    buf b;
    cJSON *j;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(api(oc, "POST", path, NULL, &b, NULL), 404);
    assert_string_equal(b.data, "{\"error\":\"no open episode with that "
                        "id\"}\n");
    firing(&a, "http_get", 0);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW), GATE_SEND);
    /* bad bodies */
    assert_int_equal(api(oc, "POST", path, "{\"byy\": \"x\"}", &b, NULL),
                     400);
    assert_string_equal(b.data, "{\"error\":\"byy: unknown key (by, comment); "
                        "did you mean by?\"}\n");
    assert_int_equal(api(oc, "POST", path, "{\"by\": 5}", &b, NULL), 400);
    assert_string_equal(b.data, "{\"error\":\"by: expected a name of 1 to "
                        "127 bytes, got 5\"}\n");
    assert_int_equal(api(oc, "POST", path, "{\"by\": \"a\", \"by\": \"b\"}",
                         &b, NULL), 400);
    assert_string_equal(b.data, "{\"error\":\"by: duplicate key\"}\n");
    assert_int_equal(api(oc, "POST", path, "[1]", &b, NULL), 400);
    assert_int_equal(api(oc, "POST", path, "{} x", &b, NULL), 400);
    assert_int_equal(api(oc, "GET", path, NULL, &b, &allow), 405);
    assert_string_equal(allow, "POST");
    /* no body: acked by "anonymous" */
    assert_int_equal(api(oc, "POST", path, " \n", &b, NULL), 200);
    assert_string_equal(b.data, "{\"id\":\"" EP "\",\"acked_by\":"
                        "\"anonymous\",\"acked_at\":"
                        "\"2026-03-10T12:00:00.000Z\",\"comment\":null}\n");
    /* a second ack keeps the first */
    assert_int_equal(api(oc, "POST", path, "{\"by\": \"bob\", \"comment\": "
                         "\"mine\"}", &b, NULL), 200);
    j = parse(&b);
    assert_string_equal(jstr(j, "acked_by"), "anonymous");
    cJSON_Delete(j);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW + 1), GATE_ACKED);
    memset(&snap, 0, sizeof snap);
    snap.n_firing = 1;
    memcpy(snap.firing[0].episode, EP, sizeof EP);
    oncall_fill(oc, &snap, NOW);
    assert_string_equal(snap.firing[0].acked_by, "anonymous");
    assert_int_equal(snap.firing[0].acked_ms, NOW);
    assert_int_equal(snap.oncall.acked, 1);
    /* ids are checked */
    assert_int_equal(api(oc, "POST", "/api/v1/alerts/xyz/ack", NULL, &b,
                         NULL), 404);
    assert_int_equal(api(oc, "POST", "/api/v1/alerts/" EP "/acknowledge",
                         NULL, &b, NULL), 404);
    assert_int_equal(api(oc, "POST", "/api/v1/alerts/" EP "0/ack", NULL, &b,
                         NULL), 404);
    firing(&a, "http_get", 1);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW + 2), GATE_SEND);
    assert_int_equal(api(oc, "POST", path, NULL, &b, NULL), 404);
    buf_free(&b);
    oncall_destroy(oc);
}

/* A named ack with a comment. */
static void test_ack_named(void **state)
{
    oncall *oc = make();
    struct alert a;
    buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    firing(&a, "x", 0);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW), GATE_SEND);
    assert_int_equal(api(oc, "POST", "/api/v1/alerts/" EP "/ack",
                         "{\"by\": \"carol\", \"comment\": \"on it\\n\"}",
                         &b, NULL), 200);
    assert_string_equal(b.data, "{\"id\":\"" EP "\",\"acked_by\":\"carol\","
                        "\"acked_at\":\"2026-03-10T12:00:00.000Z\","
                        "\"comment\":\"on it\\n\"}\n");
    buf_free(&b);
    oncall_destroy(oc);
}

/* The history: the rules' notifications, what the gate kept back and
 * the acks, served by GET /api/v1/history with its parameters checked;
 * the page's lists in the snapshot. */
static void test_history(void **state)
{
    oncall *oc = make();
    struct status_snapshot *snap = calloc(1, sizeof *snap);
    struct alert a;
    const char *allow = NULL;
    char path[128];
    buf b;

    (void)state;
    assert_non_null(snap);
    buf_init(&b, 1 << 20);
    firing(&a, "pg-main", 0);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW), GATE_SEND);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW + 1000), GATE_SEND);
    snprintf(path, sizeof path, "/api/v1/alerts/%s/ack", EP);
    assert_int_equal(api(oc, "POST", path, "{\"by\": \"amy\"}", &b, NULL),
                     200);
    assert_int_equal(oncall_api(oc, "POST", "/api/v1/silences", SILENCE,
                                strlen(SILENCE), NOW + 1500, &b, &allow,
                                NULL), 201);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW + 2000),
                     GATE_SILENCED);
    firing(&a, "pg-main", 1);
    /* its firing went out: the resolve does too */
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW + 3000), GATE_SEND);
    oncall_flush(oc);

    assert_int_equal(api(oc, "GET", "/api/v1/history?limit=1", NULL, &b,
                         NULL), 200);
    assert_string_equal(b.data,
        "{\"entries\":["
        "{\"at\":\"2026-03-10T12:00:03.000Z\",\"event\":\"resolved\",\"id\":"
        "\"" EP "\",\"rule\":\"latency\",\"key\":\"pg-main\",\"sink\":null,"
        "\"detail\":\"warning\"}]}\n");
    assert_int_equal(api(oc, "GET", "/api/v1/history", NULL, &b, NULL), 200);
    {
        static const char *const order[] = {
            "\"resolved\"", "\"silenced\"", "\"repeated\"", "\"acked\"",
            "\"repeated\"", "\"fired\""};
        const char *p = b.data;

        for (size_t i = 0; i < 6; i++) {
            p = strstr(p, order[i]);
            if (p == NULL)
                fail_msg("%s missing in order: %s", order[i], b.data);
            p++;
        }
    }
    assert_non_null(strstr(b.data, "\"detail\":\"acknowledged by amy\""));
    assert_non_null(strstr(b.data, "\"detail\":\"firing not sent: "
                                   "silence "));
    assert_int_equal(api(oc, "GET", "/api/v1/history?rule=lat*&since="
                         "2026-03-10T12:00:02.9Z", NULL, &b, NULL), 200);
    assert_non_null(strstr(b.data, "\"resolved\""));
    assert_null(strstr(b.data, "\"silenced\""));
    assert_int_equal(api(oc, "GET", "/api/v1/history?rule=other", NULL, &b,
                         NULL), 200);
    assert_string_equal(b.data, "{\"entries\":[]}\n");
    assert_int_equal(api(oc, "GET", "/api/v1/history?limit=0", NULL, &b,
                         NULL), 400);
    assert_string_equal(b.data, "{\"error\":\"limit: expected a whole number "
                                "from 1 to 1000\"}\n");
    assert_int_equal(api(oc, "GET", "/api/v1/history?limit=5&limit=6", NULL,
                         &b, NULL), 400);
    assert_string_equal(b.data, "{\"error\":\"limit: given twice\"}\n");
    assert_int_equal(api(oc, "GET", "/api/v1/history?since=%zz", NULL, &b,
                         NULL), 400);
    assert_int_equal(api(oc, "DELETE", "/api/v1/history", NULL, &b, &allow),
                     405);
    assert_string_equal(allow, "GET, HEAD");
    /* a query string does not change the other routes */
    assert_int_equal(api(oc, "GET", "/api/v1/silences?x=1", NULL, &b, NULL),
                     200);

    /* the page's lists */
    snap->n_firing = 0;
    oncall_fill(oc, snap, NOW + 4000);
    assert_int_equal(snap->n_history, 6);
    assert_string_equal(snap->history[0].event, "resolved");
    assert_string_equal(snap->history[5].event, "fired");
    assert_string_equal(snap->history[5].detail, "warning");
    assert_int_equal(snap->n_silences, 1);
    assert_string_equal(snap->silences[0].state, "active");
    assert_string_equal(snap->silences[0].matchers,
                        "rule=latency group.tool_name=pg*");
    assert_string_equal(snap->silences[0].when, "2026-03-10T12:00:01.500Z "
                        "to 2026-03-10T14:00:00.000Z");
    assert_string_equal(snap->silences[0].created_by, "alice");
    assert_string_equal(snap->silences[0].comment, "db upgrade");
    buf_free(&b);
    free(snap);
    oncall_destroy(oc);
}

/* ---- what the sinks did, in the history ---- */

static void note_submit(delivery *dl, int n)
{
    static const char *const none[] = {NULL};
    const struct sink_route r = {.rule = "latency", .severity = "warning",
                                 .label_names = none, .label_values = none};
    char doc[512], id[16];
    int len;

    snprintf(id, sizeof id, "ep%05d", n);
    len = snprintf(doc, sizeof doc,
                   "{\"type\":\"alert.firing\",\"timestamp\":"
                   "\"2026-03-10T12:00:00.000Z\",\"data\":{\"id\":\"%s\","
                   "\"rule\":\"latency\",\"kind\":\"max\",\"group\":"
                   "{\"tool_name\":\"t%d\"},\"key\":\"t%d\",\"state\":"
                   "\"firing\",\"severity\":\"warning\",\"summary\":\"n\","
                   "\"source\":\"test\"}}",
                   id, n, n);
    assert_int_equal(delivery_submit(dl, &r, id, 0, NOW + n, doc,
                                     (size_t)len),
                     1);
}

static void note_drain(loop *lp, delivery *dl)
{
    for (int i = 0; i < 1000 && delivery_pending(dl) > 0; i++) {
        loop_update_now(lp);
        assert_int_equal(delivery_flush(dl), DELIVERY_EOK);
        delivery_tick(dl);
    }
    assert_int_equal(delivery_pending(dl), 0);
}

/* The history's entries (newest first) as "event sink detail" lines. */
static void history_lines(oncall *oc, char *out, size_t size)
{
    const cJSON *e;
    cJSON *j;
    size_t k = 0;
    buf b;

    buf_init(&b, 1 << 20);
    assert_int_equal(api(oc, "GET", "/api/v1/history", NULL, &b, NULL), 200);
    j = parse(&b);
    out[0] = '\0';
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "entries"))
    {
        int n = snprintf(out + k, size - k, "%s %s %s\n", jstr(e, "event"),
                         jstr(e, "sink"), jstr(e, "detail"));
        assert_true(n > 0 && (size_t)n < size - k);
        k += (size_t)n;
    }
    cJSON_Delete(j);
    buf_free(&b);
}

/* An inhibited notification is in the history as the gate decided it:
 * the inhibiting episode's id in the detail. */
static void test_history_of_an_inhibition(void **state)
{
    static const char src_id[] = "ffeeddccbbaa99887766554433221100";
    oncall *oc = make();
    struct gate_inhibit in;
    struct alert src, a;
    buf b;

    (void)state;
    buf_init(&b, 1 << 16);
    memset(&in, 0, sizeof in);
    in.nsource = 1;
    in.source[0].kind = SILENCE_M_RULE;
    snprintf(in.source[0].glob, sizeof in.source[0].glob, "stream_stalled");
    in.ntarget = 1;
    in.target[0].kind = SILENCE_M_RULE;
    snprintf(in.target[0].glob, sizeof in.target[0].glob, "latency");
    oncall_set_inhibit(oc, &in, 1);
    memset(&src, 0, sizeof src);
    memcpy(src.id, src_id, sizeof src.id);
    src.rule = "stream_stalled";
    src.key = "global";
    src.severity = "critical";
    src.started_ms = src.timestamp_ms = NOW;
    assert_int_equal(oncall_alert(oc, &src, "{}", 2, NOW), GATE_SEND);
    firing(&a, "pg-main", 0);
    assert_int_equal(oncall_alert(oc, &a, "{}", 2, NOW + 500),
                     GATE_INHIBITED);
    oncall_flush(oc);
    assert_int_equal(api(oc, "GET", "/api/v1/history?limit=1", NULL, &b,
                         NULL), 200);
    assert_string_equal(b.data,
        "{\"entries\":["
        "{\"at\":\"2026-03-10T12:00:00.500Z\",\"event\":\"inhibited\",\"id\":"
        "\"" EP "\",\"rule\":\"latency\",\"key\":\"pg-main\",\"sink\":null,"
        "\"detail\":\"firing not sent: inhibited by ffeeddccbbaa99887766554433221100"
        "\"}]}\n");
    buf_free(&b);
    oncall_destroy(oc);
}

/* A file sink with digest_after 2 gets 5 notifications in a minute: 2 go
 * out alone and 3 into the digest, each recorded when the sinks are
 * next looked at; the digest itself is delivered when the minute ends.
 * Nothing recorded for a sink the first time it is seen, nor when its
 * counters did not move. */
static void test_history_of_sinks(void **state)
{
    oncall *oc = make();
    loop *lp = loop_create();
    struct delivery_options o = {.state_dir = dir};
    struct sink_config c;
    delivery *dl;
    char path[256], lines[1024];

    (void)state;
    assert_non_null(lp);
    sink_config_defaults(&c, SINK_FILE);
    snprintf(c.name, sizeof c.name, "archive");
    snprintf(path, sizeof path, "%s/archive.ndjson", dir);
    c.path = path;
    c.digest_after = 2;
    dl = delivery_create(lp, &o, &c, 1);
    assert_non_null(dl);
    delivery_set_clock(dl, NOW);
    oncall_note_sinks(oc, dl, NOW);
    for (int i = 0; i < 5; i++)
        note_submit(dl, i);
    note_drain(lp, dl);
    oncall_note_sinks(oc, dl, NOW + 1000);
    oncall_note_sinks(oc, dl, NOW + 1500); /* nothing new */
    history_lines(oc, lines, sizeof lines);
    assert_string_equal(lines,
                        "delivered archive 3 notifications in a storm "
                        "digest\n"
                        "delivered archive 2 notifications\n");
    /* the minute ends: the digest goes out, one more delivered */
    delivery_set_clock(dl, NOW + 60000);
    delivery_tick(dl);
    note_drain(lp, dl);
    oncall_note_sinks(oc, dl, NOW + 61000);
    /* one more into a new window's digest: "1 notification" */
    for (int i = 5; i < 8; i++)
        note_submit(dl, i);
    note_drain(lp, dl);
    oncall_note_sinks(oc, dl, NOW + 62000);
    history_lines(oc, lines, sizeof lines);
    assert_string_equal(lines,
                        "delivered archive 1 notification in a storm "
                        "digest\n"
                        "delivered archive 2 notifications\n"
                        "delivered archive 1 notification\n"
                        "delivered archive 3 notifications in a storm "
                        "digest\n"
                        "delivered archive 2 notifications\n");
    delivery_destroy(dl);
    loop_destroy(lp);
    oncall_destroy(oc);
}

/* A dead letter's history entry gives the answer that dead-lettered it,
 * not what a later attempt of the sink said: a Slack notification that
 * cannot be rendered is dead-lettered at once, the next one fails to
 * connect (and stays queued, retrying) before the sinks are looked at. */
static void test_dead_letter_detail_is_its_answer(void **state)
{
    static const char *const none[] = {NULL};
    const struct sink_route r = {.rule = "latency", .severity = "warning",
                                 .label_names = none, .label_values = none};
    oncall *oc = make();
    loop *lp = loop_create();
    struct delivery_options o = {.state_dir = dir};
    struct delivery_sink_stats st;
    struct sink_config c;
    delivery *dl;
    char doc[512], lines[1024];
    int len;

    (void)state;
    assert_non_null(lp);
    sink_config_defaults(&c, SINK_SLACK);
    snprintf(c.name, sizeof c.name, "chat");
    c.url = "http://127.0.0.1:1/services/T0/B0/x"; /* nothing listens */
    c.rate_per_s = 0;
    c.retry_base_ms = 60000;
    dl = delivery_create(lp, &o, &c, 1);
    assert_non_null(dl);
    oncall_note_sinks(oc, dl, NOW);
    assert_int_equal(delivery_submit(dl, &r, "ep00000", 0, NOW, "not json",
                                     8), 1);
    len = snprintf(doc, sizeof doc,
                   "{\"type\":\"alert.firing\",\"timestamp\":"
                   "\"2026-03-10T12:00:00.000Z\",\"data\":{\"id\":"
                   "\"ep00001\",\"rule\":\"latency\",\"kind\":\"max\","
                   "\"group\":{},\"key\":\"global\",\"state\":\"firing\","
                   "\"severity\":\"warning\",\"summary\":\"n\",\"source\":"
                   "\"test\"}}");
    assert_int_equal(delivery_submit(dl, &r, "ep00001", 0, clock_wall_ms(),
                                     doc, (size_t)len), 1);
    for (int i = 0; i < 500; i++) {
        loop_update_now(lp);
        assert_int_equal(delivery_flush(dl), DELIVERY_EOK);
        delivery_tick(dl);
        delivery_sink_stats(dl, 0, &st);
        if (st.dead_lettered == 1 && st.attempts == 2 && !st.in_flight)
            break;
        loop_run_once(lp, loop_now(lp) + 20);
    }
    assert_int_equal(st.dead_lettered, 1);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(st.in_flight, 0);
    /* the sink's last error is the later attempt's */
    assert_string_not_equal(st.last_error, "cannot render the notification");
    assert_true(st.last_error[0] != '\0');
    oncall_note_sinks(oc, dl, NOW + 1000);
    history_lines(oc, lines, sizeof lines);
    assert_string_equal(lines, "dead_lettered chat 1 notification: cannot "
                               "render the notification\n");
    delivery_destroy(dl);
    loop_destroy(lp);
    oncall_destroy(oc);
}

/* The page's silences come from the store as the API lists them: the
 * pending and active ones first (creation order), then the expired; a
 * weekly window as "weekly <days, Monday first> HH:MM-HH:MM <zone>",
 * text in full UTF-8. */
static void test_page_silences(void **state)
{
    static const char weekly[] =
        "{\"matchers\": {\"group.tool_name\": \"pg_*\", \"severity\": "
        "\"critical\", \"labels.team\": \"db\"}, \"recurrence\": "
        "{\"days\": [\"sun\", \"sat\", \"mon\"], \"start\": \"22:00\", "
        "\"end\": \"06:05\", \"tz\": \"Europe/Berlin\"}, \"comment\": "
        "\"weekend \\\"maintenance\\\"\", \"created_by\": "
        "\"\xc3\xa9lodie\"}";
    static const char later[] =
        "{\"matchers\": {\"rule\": \"disk_*\"}, \"starts_at\": "
        "\"2026-03-10T13:00:00Z\", \"ends_at\": \"2026-03-10T15:30:00Z\","
        " \"comment\": \"later\", \"created_by\": \"bob\"}";
    oncall *oc = make();
    struct status_snapshot *snap = calloc(1, sizeof *snap);
    const char *allow;
    char path[128];
    buf b;
    cJSON *j;

    (void)state;
    assert_non_null(snap);
    buf_init(&b, 1 << 20);
    assert_int_equal(api(oc, "POST", "/api/v1/silences", SILENCE, &b, NULL),
                     201);
    j = parse(&b);
    snprintf(path, sizeof path, "/api/v1/silences/%s",
             cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
    assert_int_equal(oncall_api(oc, "DELETE", path, NULL, 0, NOW + 1000, &b,
                                &allow, NULL), 204);
    assert_int_equal(api(oc, "POST", "/api/v1/silences", weekly, &b, NULL),
                     201);
    assert_int_equal(api(oc, "POST", "/api/v1/silences", later, &b, NULL),
                     201);
    oncall_fill(oc, snap, NOW + 2000);
    assert_int_equal(snap->n_silences, 3);
    assert_string_equal(snap->silences[0].state, "pending");
    assert_string_equal(snap->silences[0].matchers,
                        "group.tool_name=pg_* severity=critical "
                        "labels.team=db");
    assert_string_equal(snap->silences[0].when,
                        "weekly mon,sat,sun 22:00-06:05 Europe/Berlin");
    assert_string_equal(snap->silences[0].comment,
                        "weekend \"maintenance\"");
    assert_string_equal(snap->silences[0].created_by, "\xc3\xa9lodie");
    assert_string_equal(snap->silences[1].state, "pending");
    assert_string_equal(snap->silences[1].matchers, "rule=disk_*");
    assert_string_equal(snap->silences[1].when, "2026-03-10T13:00:00.000Z "
                        "to 2026-03-10T15:30:00.000Z");
    assert_string_equal(snap->silences[2].state, "expired");
    assert_string_equal(snap->silences[2].id, path + strlen(path) - 16);
    assert_string_equal(snap->silences[2].matchers,
                        "rule=latency group.tool_name=pg*");
    assert_string_equal(snap->silences[2].created_by, "alice");
    buf_free(&b);
    free(snap);
    oncall_destroy(oc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silences_api),
        cmocka_unit_test(test_gate_through_the_api),
        cmocka_unit_test(test_ack_api),
        cmocka_unit_test(test_ack_named),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_page_silences),
        cmocka_unit_test(test_history_of_an_inhibition),
        cmocka_unit_test_setup_teardown(test_history_of_sinks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_dead_letter_detail_is_its_answer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
