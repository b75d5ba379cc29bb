/*
 * oncall.c - silences, acknowledgements and their API on the main loop
 * (see oncall.h).
 *
 * Invariants:
 *  - the store and the gate are touched only here, on the loop thread;
 *  - an API write is answered after it was applied and written to the
 *    state directory (the store and the gate write their files before
 *    they return): 201/204/200 mean it survives kill -9, 500 means
 *    nothing changed;
 *  - every path segment taken from a request is checked (ids are fixed
 *    length lower-case hex) before it is used, and no answer quotes more
 *    of a request than the parsers' bounded messages.
 */
#include "app/oncall.h"

#include "alerts/silence_store.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/table.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_ANSWER_MAX (8u * 1024u * 1024u)
#define SILENCES_PATH "/api/v1/silences"
#define ALERTS_PATH "/api/v1/alerts/"
#define HISTORY_PATH "/api/v1/history"

/* A sink's outcome counters when last recorded (oncall_note_sinks). */
struct sink_seen {
    char name[HISTORY_SINK_MAX];
    uint64_t delivered, dead_lettered, digested;
};

struct oncall {
    silence_store *ss;
    gate *g;
    history *h;
    struct sink_seen sinks[DELIVERY_MAX_SINKS];
    size_t n_sinks;
};

oncall *oncall_create(const struct oncall_options *o, int64_t now_ms)
{
    struct silence_store_options so = {.state_dir = o->state_dir,
                                       .zone_dir = o->zone_dir,
                                       .retention_s = o->retention_s};
    struct gate_options go = {.state_dir = o->state_dir};
    struct history_options ho = {.state_dir = o->state_dir,
                                 .max_bytes = o->history_max_bytes};
    oncall *oc = calloc(1, sizeof *oc);

    if (oc == NULL || (oc->ss = silence_store_create(&so, now_ms)) == NULL ||
        (oc->g = gate_create(&go)) == NULL ||
        gate_set_inhibit(oc->g, o->inhibit, o->n_inhibit) != GATE_OK ||
        (oc->h = history_create(&ho)) == NULL) {
        oncall_destroy(oc);
        return NULL;
    }
    return oc;
}

void oncall_destroy(oncall *oc)
{
    if (oc == NULL)
        return;
    gate_destroy(oc->g);
    silence_store_destroy(oc->ss);
    history_destroy(oc->h);
    free(oc);
}

void oncall_set_retention(oncall *oc, int64_t retention_s)
{
    if (oc != NULL)
        silence_store_set_retention(oc->ss, retention_s);
}

void oncall_set_inhibit(oncall *oc, const struct gate_inhibit *rules,
                        size_t n)
{
    if (oc != NULL && gate_set_inhibit(oc->g, rules, n) != GATE_OK)
        LOG(LOG_ERROR, "oncall", "the %zu inhibition rules cannot be put in "
            "force (out of memory); the earlier ones stay", n);
}

/* ---- notifications ---------------------------------------------------- */

/* Record one state change of alert a in the history at now_ms, with a
 * detail (NULL: none). */
static void note(oncall *oc, enum history_event ev, const struct alert *a,
                 const char *detail, int64_t now_ms)
{
    if (oc != NULL)
        history_append(oc->h, now_ms, ev, a->id, a->rule, a->key, NULL,
                       detail);
}

/* A notification the gate kept from the sinks: logged (rate-limited per
 * verdict by the logger), counted by the gate, and in the history:
 * `silenced` (the silence's id in the detail), `acked` (a repeat not
 * sent), `inhibited` (the inhibiting episode's id in the detail), or
 * `silenced` for a resolve not sent because its firing never went out.
 * A held firing sent later (its silence ended or its inhibitor resolved)
 * passes on_release() below. */
static void note_unsent(oncall *oc, const struct alert *a,
                        const struct gate_decision *d, int64_t now_ms)
{
    char detail[HISTORY_DETAIL_MAX];

    switch (d->verdict) {
    case GATE_SILENCED:
        snprintf(detail, sizeof detail, "%s not sent: silence %s",
                 a->resolved ? "resolve" : "firing", d->silence_id);
        note(oc, HISTORY_SILENCED, a, detail, now_ms);
        LOG(LOG_INFO, "oncall", "%s %s %s not sent: silenced by %s",
            a->resolved ? "resolved" : "firing", a->rule, a->key,
            d->silence_id);
        break;
    case GATE_ACKED:
        note(oc, HISTORY_ACKED, a, "repeat not sent: acknowledged",
                    now_ms);
        LOG(LOG_INFO, "oncall", "repeat of %s %s not sent: acknowledged",
            a->rule, a->key);
        break;
    case GATE_UNFIRED:
        note(oc, HISTORY_SILENCED, a, "resolve not sent: its firing "
                    "never went out", now_ms);
        LOG(LOG_INFO, "oncall", "resolved %s %s not sent: its firing never "
            "went out", a->rule, a->key);
        break;
    case GATE_INHIBITED:
        snprintf(detail, sizeof detail, "%s not sent: inhibited by %s",
                 a->resolved ? "resolve" : "firing", d->inhibited_by);
        note(oc, HISTORY_INHIBITED, a, detail, now_ms);
        LOG(LOG_INFO, "oncall", "%s %s %s not sent: inhibited by episode %s",
            a->resolved ? "resolved" : "firing", a->rule, a->key,
            d->inhibited_by);
        break;
    case GATE_SEND:
        break;
    }
}

enum gate_verdict oncall_alert(oncall *oc, const struct alert *a,
                               const char *doc, size_t len, int64_t now_ms)
{
    struct gate_decision d;
    struct gate_info info;

    if (oc == NULL)
        return GATE_SEND;
    /* an episode the gate knows already is open: this is a repeat */
    note(oc, a->resolved ? HISTORY_RESOLVED
                : gate_info(oc->g, a->id, oc->ss, now_ms, &info) == GATE_OK
                    ? HISTORY_REPEATED : HISTORY_FIRED, a, a->severity,
                now_ms);
    if (gate_decide(oc->g, a, doc, len, oc->ss, now_ms, &d) != GATE_OK)
        LOG(LOG_ERROR, "oncall", "episode %s: out of memory; sent ungated",
            a->id);
    if (d.verdict != GATE_SEND)
        note_unsent(oc, a, &d, now_ms);
    return d.verdict;
}

/* What gate_tick() releases goes to the caller's send, logged. */
struct release_ctx {
    oncall *oc;
    oncall_send_fn send;
    void *ud;
    int64_t now_ms;
};

static void on_release(void *ud, const struct alert *a, const char *doc,
                       size_t len)
{
    const struct release_ctx *rc = ud;

    LOG(LOG_INFO, "oncall", "firing %s %s sent now: no silence or open "
        "episode keeps it any longer", a->rule, a->key);
    note(rc->oc, HISTORY_FIRED, a, "held firing sent: no silence or "
                "inhibiting episode keeps it any longer", rc->now_ms);
    rc->send(rc->ud, a, doc, len);
}

void oncall_tick(oncall *oc, int64_t now_ms, oncall_send_fn send, void *ud)
{
    struct release_ctx rc = {oc, send, ud, now_ms};

    if (oc == NULL)
        return;
    gate_tick(oc->g, oc->ss, now_ms, on_release, &rc);
    silence_store_prune(oc->ss, now_ms);
}

void oncall_flush(oncall *oc)
{
    if (oc == NULL)
        return;
    gate_flush(oc->g);
    history_flush(oc->h);
}

void oncall_note_sinks(oncall *oc, const delivery *dl, int64_t now_ms)
{
    size_t n = dl != NULL ? delivery_sink_count(dl) : 0;

    if (oc == NULL)
        return;
    for (size_t i = 0; i < n && i < DELIVERY_MAX_SINKS; i++) {
        struct delivery_sink_stats st;
        struct sink_seen *k = NULL;
        char detail[HISTORY_DETAIL_MAX];

        delivery_sink_stats(dl, i, &st);
        if (st.name == NULL)
            continue;
        for (size_t j = 0; j < oc->n_sinks; j++)
            if (strcmp(oc->sinks[j].name, st.name) == 0)
                k = &oc->sinks[j];
        if (k == NULL) {
            /* new (a start or a reload): counted from now on */
            if (oc->n_sinks == DELIVERY_MAX_SINKS)
                oc->n_sinks = 0; /* names of sinks gone: start over */
            k = &oc->sinks[oc->n_sinks++];
            snprintf(k->name, sizeof k->name, "%s", st.name);
            k->delivered = st.delivered;
            k->dead_lettered = st.dead_lettered;
            k->digested = st.digested;
            continue;
        }
        if (st.delivered > k->delivered) {
            snprintf(detail, sizeof detail, "%llu notification%s",
                     (unsigned long long)(st.delivered - k->delivered),
                     st.delivered - k->delivered == 1 ? "" : "s");
            history_append(oc->h, now_ms, HISTORY_DELIVERED, NULL, NULL,
                           NULL, st.name, detail);
        }
        /* taken into the sink's storm digest: not sent alone, never
         * dropped (SPEC's events have no word of their own for it) */
        if (st.digested > k->digested) {
            snprintf(detail, sizeof detail,
                     "%llu notification%s in a storm digest",
                     (unsigned long long)(st.digested - k->digested),
                     st.digested - k->digested == 1 ? "" : "s");
            history_append(oc->h, now_ms, HISTORY_DELIVERED, NULL, NULL,
                           NULL, st.name, detail);
        }
        if (st.dead_lettered > k->dead_lettered) {
            snprintf(detail, sizeof detail, "%llu notification%s: %s",
                     (unsigned long long)(st.dead_lettered -
                                          k->dead_lettered),
                     st.dead_lettered - k->dead_lettered == 1 ? "" : "s",
                     st.last_dead_letter);
            history_append(oc->h, now_ms, HISTORY_DEAD_LETTERED, NULL, NULL,
                           NULL, st.name, detail);
        }
        k->delivered = st.delivered;
        k->dead_lettered = st.dead_lettered;
        k->digested = st.digested;
    }
}

/* ---- the API ---------------------------------------------------------- */

/* {"error": msg} and the code. */
static unsigned fail(buf *out, unsigned code, const char *msg)
{
    buf_writer w = {out, BUF_OK};

    buf_reset(out);
    buf_w_raw(&w, "{\"error\":");
    buf_w_json(&w, msg, strlen(msg));
    buf_w_raw(&w, "}\n");
    return w.rc == BUF_OK ? code : 500;
}

static int is(const char *method, const char *m)
{
    return strcmp(method, m) == 0;
}

static int is_read(const char *method)
{
    return is(method, "GET") || is(method, "HEAD");
}

/* /api/v1/silences */
static unsigned api_silences(oncall *oc, const char *method,
                             const char *body, size_t len, int64_t now_ms,
                             buf *out, const char **allow, int *changed)
{
    char id[SILENCE_ID_MAX], err[SILENCE_ERR_MAX + 64];
    int rc;

    if (is_read(method))
        return silence_store_list(oc->ss, now_ms, out) == BUF_OK
                   ? 200 : fail(out, 500, "the list does not fit");
    if (!is(method, "POST")) {
        *allow = "GET, HEAD, POST";
        return fail(out, 405, "method not allowed");
    }
    rc = silence_store_add(oc->ss, body, len, now_ms, id, err, sizeof err);
    if (rc == SILENCE_STORE_EINVAL)
        return fail(out, 400, err);
    if (rc == SILENCE_STORE_EFULL)
        return fail(out, 409, err);
    if (rc != SILENCE_STORE_OK)
        return fail(out, 500, err);
    *changed = 1;
    LOG(LOG_INFO, "oncall", "silence %s added by %s",
        id, silence_store_get(oc->ss, id)->created_by);
    buf_reset(out);
    buf_append_str(out, "{\"id\":\"");
    buf_append_str(out, id);
    return buf_append_str(out, "\"}\n") == BUF_OK ? 201 : 500;
}

/* /api/v1/silences/<id> */
static unsigned api_silence(oncall *oc, const char *method, const char *id,
                            int64_t now_ms, buf *out, const char **allow,
                            int *changed)
{
    const struct silence *s = silence_hex_ok(id, SILENCE_ID_LEN)
                                  ? silence_store_get(oc->ss, id) : NULL;
    int rc;

    if (!is_read(method) && !is(method, "DELETE")) {
        *allow = "GET, HEAD, DELETE";
        return fail(out, 405, "method not allowed");
    }
    if (s == NULL)
        return fail(out, 404, "no such silence");
    if (is_read(method)) {
        if (silence_print(s, now_ms, out) != BUF_OK ||
            buf_append_str(out, "\n") != BUF_OK)
            return fail(out, 500, "the silence does not fit");
        return 200;
    }
    rc = silence_store_expire(oc->ss, id, now_ms);
    if (rc != SILENCE_STORE_OK)
        return fail(out, 500, silence_store_strerror(rc));
    *changed = 1;
    LOG(LOG_INFO, "oncall", "silence %s expired", id);
    buf_reset(out);
    return 204;
}

/* The optional ack body {"by": "...", "comment": "..."}: 0, or -1 with
 * the message in err.  *by and *comment point into *root (the caller
 * deletes it). */
static int ack_body(const char *body, size_t len, cJSON **root,
                    const char **by, const char **comment, char *err,
                    size_t errsz)
{
    static const char *const keys[] = {"by", "comment"};
    const char *end = NULL;
    const cJSON *m;
    size_t i = 0;

    *by = ONCALL_ACK_BY_DEFAULT;
    *comment = NULL;
    while (i < len && (body[i] == ' ' || body[i] == '\t' ||
                       body[i] == '\n' || body[i] == '\r'))
        i++;
    if (i == len)
        return 0;
    *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    while (*root != NULL && end < body + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (!cJSON_IsObject(*root) || end != body + len) {
        snprintf(err, errsz, "the body is not a JSON object");
        return -1;
    }
    cJSON_ArrayForEach(m, *root) {
        int k = strcmp(m->string, "by") == 0 ? 0
              : strcmp(m->string, "comment") == 0 ? 1 : -1;

        if (k < 0) {
            struct table_suggest sg;

            table_suggest_init(&sg, m->string);
            table_suggest_add(&sg, keys[0]);
            table_suggest_add(&sg, keys[1]);
            snprintf(err, errsz, "%.40s: unknown key (by, comment)%s%s%s",
                     m->string, table_suggest_best(&sg) ? "; did you mean "
                                                        : "",
                     table_suggest_best(&sg) ? table_suggest_best(&sg) : "",
                     table_suggest_best(&sg) ? "?" : "");
            return -1;
        }
        if (table_duplicate(*root, m, keys[k], err, errsz) != TABLE_OK)
            return -1;
        if (!cJSON_IsString(m) ||
            !silence_text_ok(m->valuestring, k == 0 ? GATE_BY_MAX
                                                    : GATE_COMMENT_MAX,
                             k == 1)) {
            table_fail_expected(m, keys[k], k == 0
                                ? "a name of 1 to 127 bytes"
                                : "a text of 1 to 1023 bytes", err, errsz);
            return -1;
        }
        if (k == 0)
            *by = m->valuestring;
        else
            *comment = m->valuestring;
    }
    return 0;
}

/* /api/v1/alerts/<id>/ack */
static unsigned api_ack(oncall *oc, const char *method, const char *id,
                        const char *body, size_t len, int64_t now_ms,
                        buf *out, const char **allow, int *changed)
{
    struct gate_info info;
    const char *by, *comment;
    cJSON *root = NULL;
    char err[256], t[32];
    buf_writer w = {out, BUF_OK};
    unsigned code;
    int rc;

    if (!is(method, "POST")) {
        *allow = "POST";
        return fail(out, 405, "method not allowed");
    }
    if (!silence_hex_ok(id, ALERT_ID_HEX)) {
        code = fail(out, 404, "no open episode with that id");
        goto out;
    }
    if (ack_body(body, len, &root, &by, &comment, err, sizeof err) != 0) {
        code = fail(out, 400, err);
        goto out;
    }
    rc = gate_ack(oc->g, id, by, comment, now_ms, &info);
    if (rc != GATE_OK) {
        code = fail(out, rc == GATE_ENOENT ? 404 : rc == GATE_EINVAL ? 400
                    : 500, gate_strerror(rc));
        goto out;
    }
    *changed = 1;
    LOG(LOG_INFO, "oncall", "episode %s acknowledged by %s", id,
        info.acked_by);
    {
        char detail[HISTORY_DETAIL_MAX];

        snprintf(detail, sizeof detail, "acknowledged by %s%s%s",
                 info.acked_by, comment != NULL ? ": " : "",
                 comment != NULL ? comment : "");
        history_append(oc->h, now_ms, HISTORY_ACKED, id, NULL, NULL, NULL,
                       detail);
    }
    clock_format_iso8601(info.acked_ms, t, sizeof t);
    buf_reset(out);
    buf_w_raw(&w, "{\"id\":");
    buf_w_json(&w, id, strlen(id));
    buf_w_raw(&w, ",\"acked_by\":");
    buf_w_json(&w, info.acked_by, strlen(info.acked_by));
    buf_w_raw(&w, ",\"acked_at\":");
    buf_w_json(&w, t, strlen(t));
    buf_w_raw(&w, ",\"comment\":");
    if (info.ack_comment[0] == '\0')
        buf_w_raw(&w, "null");
    else
        buf_w_json(&w, info.ack_comment, strlen(info.ack_comment));
    buf_w_raw(&w, "}\n");
    code = w.rc == BUF_OK ? 200 : 500;
out:
    cJSON_Delete(root);
    return code;
}

/* GET /api/v1/history?query */
static unsigned api_history(oncall *oc, const char *method,
                            const char *query, buf *out, const char **allow)
{
    struct history_query q;
    struct status_form f;
    char name[32], value[HISTORY_GLOB_MAX + 1], err[256];
    size_t vlen;
    int rc;

    if (!is_read(method)) {
        *allow = "GET, HEAD";
        return fail(out, 405, "method not allowed");
    }
    history_query_init(&q);
    status_form_init(&f, query, query != NULL ? strlen(query) : 0);
    while ((rc = status_form_next(&f, name, sizeof name, value,
                                  sizeof value, &vlen)) > 0) {
        if (history_query_set(&q, name, value, vlen, err, sizeof err) !=
            HISTORY_OK)
            return fail(out, 400, err);
    }
    if (rc < 0)
        return fail(out, 400, "the query string is malformed or a "
                    "parameter too long (rule: 255 bytes)");
    rc = history_query(oc->h, &q, out);
    if (rc != HISTORY_OK)
        return fail(out, 500, history_strerror(rc));
    return 200;
}

unsigned oncall_api(oncall *oc, const char *method, const char *full,
                    const char *body, size_t body_len, int64_t now_ms,
                    buf *out, const char **allow, int *changed)
{
    const size_t ns = strlen(SILENCES_PATH), na = strlen(ALERTS_PATH);
    const char *qm = strchr(full, '?');
    char path[STATUS_API_PATH_MAX];
    int ignored = 0;

    *allow = NULL;
    if (changed == NULL)
        changed = &ignored;
    *changed = 0;
    buf_reset(out);
    if ((qm != NULL ? (size_t)(qm - full) : strlen(full)) >= sizeof path)
        return fail(out, 404, "not found");
    snprintf(path, sizeof path, "%.*s",
             (int)(qm != NULL ? (size_t)(qm - full) : strlen(full)), full);
    if (strcmp(path, HISTORY_PATH) == 0)
        return api_history(oc, method, qm != NULL ? qm + 1 : NULL, out,
                           allow);
    if (strcmp(path, SILENCES_PATH) == 0)
        return api_silences(oc, method, body, body_len, now_ms, out, allow,
                            changed);
    if (strncmp(path, SILENCES_PATH "/", ns + 1) == 0 &&
        strchr(path + ns + 1, '/') == NULL)
        return api_silence(oc, method, path + ns + 1, now_ms, out, allow,
                           changed);
    if (strncmp(path, ALERTS_PATH, na) == 0) {
        const char *id = path + na, *slash = strchr(id, '/');
        char copy[ALERT_ID_HEX + 2];

        if (slash != NULL && strcmp(slash, "/ack") == 0 &&
            (size_t)(slash - id) < sizeof copy) {
            snprintf(copy, sizeof copy, "%.*s", (int)(slash - id), id);
            return api_ack(oc, method, copy, body, body_len, now_ms, out,
                           allow, changed);
        }
    }
    return fail(out, 404, "not found");
}

int oncall_serve(oncall *oc, status_server *srv, int64_t now_ms,
                 oncall_send_fn send, void *ud)
{
    struct status_api_request q;
    int n = 0, any = 0;
    buf out;

    if (oc == NULL || srv == NULL)
        return 0;
    buf_init(&out, API_ANSWER_MAX);
    while (status_api_take(srv, &q)) {
        const char *allow = NULL;
        int changed = 0;
        unsigned code = oncall_api(oc, q.method, q.path, q.body, q.body_len,
                                   now_ms, &out, &allow, &changed);

        status_api_answer(srv, &q, code, out.data, out.len, allow);
        any |= changed;
        n++;
    }
    buf_free(&out);
    /* an expired silence sends its held firings at once */
    if (any)
        oncall_tick(oc, now_ms, send, ud);
    return n;
}

/* ---- /status ---------------------------------------------------------- */

/* "rule=shell_* severity=critical" from a silence's matchers. */
static void matchers_text(const struct silence *si, char *out, size_t size)
{
    char key[SILENCE_FIELD_MAX + 8];
    size_t n = 0;

    out[0] = '\0';
    for (uint32_t i = 0; i < si->nmatchers && n < size; i++) {
        int k;

        silence_matcher_key(&si->m[i], key, sizeof key);
        k = snprintf(out + n, size - n, "%s%s=%s", n > 0 ? " " : "", key,
                     si->m[i].glob);
        n = k < 0 ? size : n + (size_t)k;
    }
}

/* A time as ISO 8601, "?" when none. */
static void time_text(int64_t ms, char *out, size_t size)
{
    if (ms == 0 || clock_format_iso8601(ms, out, size) < 0)
        snprintf(out, size, "?");
}

/* "mon,tue 02:00-04:00 Europe/Berlin" or "<start> to <end>". */
static void when_text(const struct silence *si, char *out, size_t size)
{
    const struct silence_recurrence *r = &si->rec;
    char a[40], b[40];

    if (si->recurring) {
        char list[64] = "";
        size_t n = 0;

        /* Monday first, as the API lists them */
        for (int k = 1; k <= 7; k++)
            if ((r->days & (1u << (k % 7))) && n + 5 < sizeof list)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%.3s",
                                      n > 0 ? "," : "",
                                      silence_day_name(k % 7));
        snprintf(out, size, "weekly %s %02u:%02u-%02u:%02u %s", list,
                 r->start_min / 60u, r->start_min % 60u, r->end_min / 60u,
                 r->end_min % 60u, r->tz);
        return;
    }
    time_text(si->starts_ms, a, sizeof a);
    time_text(si->ends_ms, b, sizeof b);
    snprintf(out, size, "%s to %s", a, b);
}

/* fill_silences' walk over the store: one pass of two. */
struct silence_fill {
    struct status_snapshot *snap;
    int64_t now_ms;
    int expired;                 /* this pass takes the expired ones */
};

static void fill_one(void *ud, const struct silence *si)
{
    struct silence_fill *f = ud;
    struct status_snapshot *snap = f->snap;
    enum silence_state st = silence_state(si, f->now_ms);

    if ((st == SILENCE_EXPIRED) != f->expired ||
        snap->n_silences >= STATUS_MAX_SILENCES)
        return;
    __typeof__(snap->silences[0]) *s = &snap->silences[snap->n_silences++];
    /* cut to the snapshot's sizes, as the page shows them */
    snprintf(s->id, sizeof s->id, "%.*s", (int)sizeof s->id - 1, si->id);
    snprintf(s->state, sizeof s->state, "%s", silence_state_name(st));
    matchers_text(si, s->matchers, sizeof s->matchers);
    when_text(si, s->when, sizeof s->when);
    snprintf(s->created_by, sizeof s->created_by, "%.*s",
             (int)sizeof s->created_by - 1, si->created_by);
    snprintf(s->comment, sizeof s->comment, "%.*s",
             (int)sizeof s->comment - 1, si->comment);
}

/* The silences for the page, straight from the store: pending and active
 * first, then the expired, each in creation order.  Once a second; not
 * on the event path. */
static void fill_silences(const oncall *oc, struct status_snapshot *snap,
                          int64_t now_ms)
{
    struct silence_fill f = {snap, now_ms, 0};

    snap->n_silences = 0;
    silence_store_each(oc->ss, fill_one, &f);
    f.expired = 1;
    silence_store_each(oc->ss, fill_one, &f);
}

/* The newest history entries for the page. */
static void fill_history(const oncall *oc, struct status_snapshot *snap)
{
    struct history_entry tail[STATUS_MAX_HISTORY];
    size_t n = history_tail(oc->h, tail, STATUS_MAX_HISTORY);

    snap->n_history = (unsigned)n;
    for (size_t i = 0; i < n; i++) {
        __typeof__(snap->history[0]) *h = &snap->history[i];
        const char *ev = history_event_name(tail[i].event);

        h->at_ms = tail[i].at_ms;
        snprintf(h->event, sizeof h->event, "%s", ev != NULL ? ev : "");
        snprintf(h->id, sizeof h->id, "%s", tail[i].id);
        snprintf(h->rule, sizeof h->rule, "%s", tail[i].rule);
        snprintf(h->key, sizeof h->key, "%s", tail[i].key);
        snprintf(h->sink, sizeof h->sink, "%s", tail[i].sink);
        snprintf(h->detail, sizeof h->detail, "%s", tail[i].detail);
    }
}

void oncall_fill(const oncall *oc, struct status_snapshot *snap,
                 int64_t now_ms)
{
    uint64_t counts[3];
    struct gate_stats st;
    unsigned n = snap->n_firing < STATUS_MAX_FIRING ? snap->n_firing
                                                    : STATUS_MAX_FIRING;

    if (oc == NULL)
        return;
    for (unsigned i = 0; i < n; i++) {
        struct gate_info info;

        if (gate_info(oc->g, snap->firing[i].episode, oc->ss, now_ms,
                      &info) != GATE_OK)
            continue;
        snprintf(snap->firing[i].silenced_by,
                 sizeof snap->firing[i].silenced_by, "%s", info.silenced_by);
        snprintf(snap->firing[i].inhibited_by,
                 sizeof snap->firing[i].inhibited_by, "%s",
                 info.inhibited_by);
        snprintf(snap->firing[i].acked_by, sizeof snap->firing[i].acked_by,
                 "%s", info.acked_by);
        snap->firing[i].acked_ms = info.acked_ms;
    }
    fill_silences(oc, snap, now_ms);
    fill_history(oc, snap);
    silence_store_count(oc->ss, now_ms, counts);
    gate_stats(oc->g, &st);
    snap->oncall.silences_pending = counts[SILENCE_PENDING];
    snap->oncall.silences_active = counts[SILENCE_ACTIVE];
    snap->oncall.silences_expired = counts[SILENCE_EXPIRED];
    snap->oncall.silenced = st.silenced;
    snap->oncall.inhibited = st.inhibited;
    snap->oncall.acked = st.acked;
    snap->oncall.unfired = st.unfired;
    snap->oncall.released = st.released;
    snap->oncall.untracked = st.untracked;
}
