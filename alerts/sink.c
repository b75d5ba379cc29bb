/*
 * sink.c - routing and per-receiver request bodies.
 *
 * Rendering parses the alert document with cJSON (once per delivery
 * attempt, never per event) and builds the receiver's JSON with cJSON, so
 * every string is escaped by one well-tested writer.  Receiver limits are
 * enforced here: Slack's header text (150), section text (3000), field
 * text (2000) and field count (10); PagerDuty's payload.summary (1024
 * bytes), each cut on a UTF-8 boundary.  Text that reaches Slack's mrkdwn
 * has &, < and > escaped so an alert cannot inject links or mentions.
 */
#include "alerts/sink.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[SINK_KIND_COUNT] = {
    "webhook", "slack", "pagerduty", "file", "stdout"};

#define SLACK_HEADER_MAX 150
#define SLACK_SECTION_MAX 3000
#define SLACK_FIELD_MAX 2000

void sink_config_defaults(struct sink_config *c, enum sink_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->min_severity = SINK_DEFAULT_MIN_SEVERITY;
    c->connect_timeout_ms = SINK_DEFAULT_CONNECT_TIMEOUT_S * 1000u;
    c->timeout_ms = SINK_DEFAULT_TIMEOUT_S * 1000u;
    c->retry_base_ms = SINK_DEFAULT_RETRY_BASE_MS;
    c->retry_max_ms = SINK_DEFAULT_RETRY_MAX_MS;
    c->max_age_s = SINK_DEFAULT_MAX_AGE_S;
    c->rate_per_s = SINK_DEFAULT_RATE_PER_S;
    c->burst = SINK_DEFAULT_BURST;
    if (kind == SINK_SLACK) {
        c->rate_per_s = SINK_SLACK_RATE_PER_S;
        c->burst = SINK_SLACK_BURST;
    }
    if (kind == SINK_PAGERDUTY)
        c->url = SINK_PD_DEFAULT_URL;
}

const char *sink_kind_name(enum sink_kind k)
{
    return (unsigned)k < SINK_KIND_COUNT ? kind_names[k] : "unknown";
}

int sink_kind_parse(const char *name)
{
    for (int i = 0; i < SINK_KIND_COUNT; i++) {
        if (strcmp(name, kind_names[i]) == 0)
            return i;
    }
    return -1;
}

int sink_routes(const struct sink_config *c, const char *detector,
                const char *severity)
{
    int sev = severity_parse(severity);

    if (sev < 0 || sev < (int)c->min_severity)
        return 0;
    if (c->n_detectors == 0)
        return 1;
    for (size_t i = 0; i < c->n_detectors; i++) {
        if (strcmp(c->detectors[i], detector) == 0)
            return 1;
    }
    return 0;
}

/* Length of the longest prefix of s of at most max bytes that does not
 * split a UTF-8 sequence. */
static size_t utf8_prefix_len(const char *s, size_t len, size_t max)
{
    size_t n;

    if (len <= max)
        return len;
    n = max;
    /* back up over continuation bytes to the start of a character */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int sink_append_utf8_prefix(buf *out, const char *s, size_t max)
{
    size_t n = utf8_prefix_len(s, strlen(s), max);
    int rc = buf_append(out, s, n);

    return rc != BUF_OK ? rc : (int)n;
}

/* ---- reading the alert document ---------------------------------------- */

struct doc {
    cJSON *root;
    const cJSON *data;
    const char *type;
    const char *timestamp;
    const char *id, *detector, *group_by, *key, *state, *severity, *summary;
    const char *started_at, *resolved_at, *source;
    double value, threshold, window_s;
    const cJSON *sample;
};

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static int doc_parse(struct doc *d, const char *text, size_t len)
{
    const cJSON *group;

    memset(d, 0, sizeof *d);
    d->root = cJSON_ParseWithLength(text, len);
    if (d->root == NULL)
        return SINK_EINVAL;
    d->type = str_of(d->root, "type");
    d->timestamp = str_of(d->root, "timestamp");
    d->data = cJSON_GetObjectItemCaseSensitive(d->root, "data");
    if (!cJSON_IsObject(d->data) || d->type == NULL)
        return SINK_EINVAL;
    d->id = str_of(d->data, "id");
    d->detector = str_of(d->data, "rule");
    /* what the key is: the first group field (tool_name: "tool",
     * agent_id: "agent", session_id: "session"), or "global" */
    group = cJSON_GetObjectItemCaseSensitive(d->data, "group");
    d->group_by = "global";
    if (cJSON_IsObject(group) && group->child != NULL &&
        group->child->string != NULL) {
        static const char *const words[][2] = {{"tool_name", "tool"},
                                               {"agent_id", "agent"},
                                               {"session_id", "session"}};
        d->group_by = group->child->string;
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            if (strcmp(d->group_by, words[i][0]) == 0)
                d->group_by = words[i][1];
    }
    d->key = str_of(d->data, "key");
    d->state = str_of(d->data, "state");
    d->severity = str_of(d->data, "severity");
    d->summary = str_of(d->data, "summary");
    d->started_at = str_of(d->data, "started_at");
    d->resolved_at = str_of(d->data, "resolved_at");
    d->source = str_of(d->data, "source");
    d->value = num_of(d->data, "value");
    d->threshold = num_of(d->data, "threshold");
    d->window_s = num_of(d->data, "window_s");
    d->sample = cJSON_GetObjectItemCaseSensitive(d->data, "sample");
    if (d->id == NULL || d->detector == NULL || d->key == NULL ||
        d->severity == NULL || d->summary == NULL || d->group_by == NULL)
        return SINK_EINVAL;
    if (d->source == NULL)
        d->source = "toolwatch";
    return SINK_OK;
}

static int doc_resolved(const struct doc *d)
{
    return strcmp(d->type, "alert.resolved") == 0;
}

/* Finish: print `obj` into out; frees obj. */
static int emit(cJSON *obj, buf *out)
{
    char *text;
    int rc;

    if (obj == NULL)
        return SINK_ENOMEM;
    text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (text == NULL)
        return SINK_ENOMEM;
    rc = buf_append_str(out, text);
    cJSON_free(text);
    return rc == BUF_OK ? SINK_OK
                        : rc == BUF_ETOOBIG ? SINK_ETOOBIG : SINK_ENOMEM;
}

/* ---- Slack ---------------------------------------------------------------- */

/* s with &, <, > escaped for mrkdwn, cut to max bytes on a UTF-8 boundary
 * (the escape of a character is never split). */
static void mrkdwn(buf *b, const char *s, size_t max)
{
    buf_reset(b);
    for (; *s; s++) {
        const char *rep = NULL;
        size_t n = 1;
        if (*s == '&')
            rep = "&amp;";
        else if (*s == '<')
            rep = "&lt;";
        else if (*s == '>')
            rep = "&gt;";
        if (rep != NULL) {
            n = strlen(rep);
            if (b->len + n > max)
                break;
            buf_append(b, rep, n);
            continue;
        }
        /* one whole UTF-8 character, never a part of one */
        while ((((unsigned char)s[n]) & 0xC0) == 0x80)
            n++;
        if (b->len + n > max)
            break;
        buf_append(b, s, n);
        s += n - 1;
    }
    if (b->data == NULL)
        buf_append(b, "", 0);
}

static cJSON *text_obj(const char *type, const char *text)
{
    cJSON *t = cJSON_CreateObject();

    cJSON_AddStringToObject(t, "type", type);
    cJSON_AddStringToObject(t, "text", text);
    if (strcmp(type, "plain_text") == 0)
        cJSON_AddBoolToObject(t, "emoji", 1);
    return t;
}

static void add_field(cJSON *fields, buf *tmp, const char *label,
                      const char *value)
{
    char head[64];
    buf esc;

    if (cJSON_GetArraySize(fields) >= 10 || value == NULL)
        return;
    buf_init(&esc, SLACK_FIELD_MAX);
    snprintf(head, sizeof head, "*%s*\n", label);
    buf_reset(tmp);
    buf_append_str(tmp, head);
    mrkdwn(&esc, value, SLACK_FIELD_MAX - strlen(head));
    buf_append(tmp, esc.data, esc.len);
    cJSON_AddItemToArray(fields, text_obj("mrkdwn", tmp->data));
    buf_free(&esc);
}

static const char *severity_emoji(const char *sev)
{
    if (strcmp(sev, "critical") == 0)
        return ":red_circle:";
    if (strcmp(sev, "error") == 0)
        return ":large_orange_circle:";
    if (strcmp(sev, "warning") == 0)
        return ":large_yellow_circle:";
    return ":large_blue_circle:";
}

static int render_slack(const struct doc *d, buf *out)
{
    cJSON *msg = cJSON_CreateObject(), *blocks, *block, *fields, *elems;
    char line[512], num[64];
    buf tmp, cut;
    const cJSON *v;
    int resolved = doc_resolved(d);
    int rc;

    buf_init(&tmp, 8192);
    buf_init(&cut, 8192);
    /* fallback text: notifications and clients without blocks */
    snprintf(line, sizeof line, "[%s] %s %s: ",
             resolved ? "RESOLVED" : "FIRING", d->severity, d->detector);
    buf_append_str(&tmp, line);
    mrkdwn(&cut, d->summary, SLACK_SECTION_MAX - tmp.len);
    buf_append(&tmp, cut.data, cut.len);
    cJSON_AddStringToObject(msg, "text", tmp.data);
    blocks = cJSON_AddArrayToObject(msg, "blocks");

    snprintf(line, sizeof line, "%s %s: %s on %s %s",
             resolved ? ":white_check_mark:" : severity_emoji(d->severity),
             resolved ? "Resolved" : "Firing", d->detector, d->group_by,
             d->key);
    buf_reset(&cut);
    sink_append_utf8_prefix(&cut, line, SLACK_HEADER_MAX);
    block = cJSON_CreateObject();
    cJSON_AddStringToObject(block, "type", "header");
    cJSON_AddItemToObject(block, "text", text_obj("plain_text", cut.data));
    cJSON_AddItemToArray(blocks, block);

    mrkdwn(&cut, d->summary, SLACK_SECTION_MAX);
    block = cJSON_CreateObject();
    cJSON_AddStringToObject(block, "type", "section");
    cJSON_AddItemToObject(block, "text", text_obj("mrkdwn", cut.data));
    cJSON_AddItemToArray(blocks, block);

    block = cJSON_CreateObject();
    cJSON_AddStringToObject(block, "type", "section");
    fields = cJSON_AddArrayToObject(block, "fields");
    add_field(fields, &tmp, "Detector", d->detector);
    snprintf(line, sizeof line, "%s %s", d->group_by, d->key);
    add_field(fields, &tmp, "Key", line);
    add_field(fields, &tmp, "Severity", d->severity);
    v = cJSON_GetObjectItemCaseSensitive(d->data, "value");
    if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof num, "%.6g (threshold %.6g)", d->value,
                 d->threshold);
        add_field(fields, &tmp, "Value", num);
    }
    snprintf(num, sizeof num, "%.0f s", d->window_s);
    add_field(fields, &tmp, "Window", num);
    add_field(fields, &tmp, "Started", d->started_at);
    if (resolved)
        add_field(fields, &tmp, "Resolved", d->resolved_at);
    if (cJSON_IsObject(d->sample)) {
        const char *rid = str_of(d->sample, "record_id");
        const char *sid = str_of(d->sample, "session_id");
        const char *aid = str_of(d->sample, "agent_id");
        snprintf(line, sizeof line, "record %s\nsession %s\nagent %s",
                 rid && *rid ? rid : "-", sid && *sid ? sid : "-",
                 aid && *aid ? aid : "-");
        add_field(fields, &tmp, "Sample", line);
    }
    cJSON_AddItemToArray(blocks, block);

    block = cJSON_CreateObject();
    cJSON_AddStringToObject(block, "type", "context");
    elems = cJSON_AddArrayToObject(block, "elements");
    snprintf(line, sizeof line, "episode %.64s · source %.128s", d->id,
             d->source);
    mrkdwn(&cut, line, SLACK_FIELD_MAX);
    cJSON_AddItemToArray(elems, text_obj("mrkdwn", cut.data));
    cJSON_AddItemToArray(blocks, block);

    rc = emit(msg, out);
    buf_free(&tmp);
    buf_free(&cut);
    return rc;
}

/* ---- PagerDuty ------------------------------------------------------------ */

static int render_pagerduty(const struct doc *d, const char *routing_key,
                            buf *out)
{
    cJSON *ev = cJSON_CreateObject(), *payload;
    buf cut;
    const char *component = NULL, *group = NULL;
    int rc;

    cJSON_AddStringToObject(ev, "routing_key", routing_key ? routing_key
                                                           : "");
    cJSON_AddStringToObject(ev, "event_action",
                            doc_resolved(d) ? "resolve" : "trigger");
    cJSON_AddStringToObject(ev, "dedup_key", d->id);
    if (doc_resolved(d))
        return emit(ev, out);
    cJSON_AddStringToObject(ev, "client", "toolwatch");
    buf_init(&cut, SINK_PD_SUMMARY_MAX + 1);
    sink_append_utf8_prefix(&cut, d->summary, SINK_PD_SUMMARY_MAX);
    if (cut.data == NULL)
        buf_append(&cut, "", 0);
    payload = cJSON_AddObjectToObject(ev, "payload");
    cJSON_AddStringToObject(payload, "summary", cut.data);
    buf_free(&cut);
    cJSON_AddStringToObject(payload, "source", d->source);
    cJSON_AddStringToObject(payload, "severity", d->severity);
    if (d->timestamp != NULL)
        cJSON_AddStringToObject(payload, "timestamp", d->timestamp);
    if (strcmp(d->group_by, "tool") == 0)
        component = d->key;
    else if (cJSON_IsObject(d->sample))
        component = str_of(d->sample, "tool_name");
    if (strcmp(d->group_by, "agent") == 0)
        group = d->key;
    else if (cJSON_IsObject(d->sample))
        group = str_of(d->sample, "agent_id");
    if (component != NULL && *component)
        cJSON_AddStringToObject(payload, "component", component);
    if (group != NULL && *group)
        cJSON_AddStringToObject(payload, "group", group);
    cJSON_AddStringToObject(payload, "class", d->detector);
    cJSON_AddItemToObject(payload, "custom_details",
                          cJSON_Duplicate(d->data, 1));
    rc = emit(ev, out);
    return rc;
}

int sink_render(enum sink_kind kind, const char *doc, size_t len,
                const char *routing_key, buf *out)
{
    struct doc d;
    size_t start = out->len;
    int rc;

    rc = doc_parse(&d, doc, len);
    if (rc != SINK_OK)
        goto out;
    switch (kind) {
    case SINK_SLACK:
        rc = render_slack(&d, out);
        break;
    case SINK_PAGERDUTY:
        rc = render_pagerduty(&d, routing_key, out);
        break;
    case SINK_WEBHOOK:
    case SINK_FILE:
    case SINK_STDOUT:
        rc = buf_append(out, doc, len) == BUF_OK ? SINK_OK : SINK_ETOOBIG;
        break;
    default:
        rc = SINK_EINVAL;
        break;
    }
out:
    cJSON_Delete(d.root);
    if (rc != SINK_OK) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return rc;
}
