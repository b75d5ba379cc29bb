/*
 * sink.c - routing (rule globs, labels, severity) and per-receiver request
 * bodies.
 *
 * Rendering parses the alert document with cJSON (once per delivery
 * attempt, never per event), reads it into struct doc -- the current shape
 * (rule, kind, group, labels, description, runbook_url) or an older one
 * (detector, group_by), so every renderer sees one shape -- and builds the
 * receiver's JSON with cJSON, so every string is escaped by one
 * well-tested writer.  Receiver limits are enforced here: Slack's header
 * text (150), section text (3000), field text (2000) and field count (10);
 * PagerDuty's payload.summary (1024 bytes), each cut on a UTF-8 boundary.
 * Every text that reaches Slack's mrkdwn has &, < and > escaped, so an
 * alert cannot inject links or mentions; the links made here, the
 * runbook's and a storm digest's status page, are built only from http(s)
 * URLs, with | escaped too.
 *
 * Invariant: a body is whole or not at all; an allocation failure while
 * building one is SINK_ENOMEM, never a body with a part missing.
 */
#include "alerts/sink.h"

#include "base/clock.h"
#include "base/utf8.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[SINK_KIND_COUNT] = {
    "webhook", "slack", "pagerduty", "file", "stdout", "alertmanager"};

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
    c->queue_max = SINK_DEFAULT_QUEUE_MAX;
    c->digest_after = 0; /* off unless set: the configuration file's
                            default is SINK_DEFAULT_DIGEST_AFTER */
    if (kind == SINK_SLACK) {
        c->rate_per_s = SINK_SLACK_RATE_PER_S;
        c->burst = SINK_SLACK_BURST;
    }
    if (kind == SINK_PAGERDUTY)
        c->url = SINK_PD_DEFAULT_URL;
    c->ends_after_s = SINK_AM_DEFAULT_ENDS_AFTER_S;
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

/* ---- routing ------------------------------------------------------------- */

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* s past one UTF-8 character (never past the NUL). */
static const char *next_char(const char *s)
{
    s++;
    while (((unsigned char)*s & 0xC0) == 0x80)
        s++;
    return s;
}

/* Iterative, backtracking only to the last `*` seen: O(len(glob) *
 * len(s)) at worst, no recursion, no allocation. */
int sink_glob_match(const char *glob, const char *s)
{
    const char *star = NULL, *retry = NULL;
    int matched = -1; /* not known yet */

    while (matched < 0) {
        if (*glob == '*') {
            star = ++glob;
            retry = s;
        } else if (*s == '\0') {
            matched = *glob == '\0';
        } else if (*glob == '?') {
            glob++;
            s = next_char(s);
        } else if (*glob != '\0' && ascii_lower((unsigned char)*glob) ==
                                        ascii_lower((unsigned char)*s)) {
            glob++;
            s++;
        } else if (star == NULL) {
            matched = 0;
        } else {
            /* let the last `*` take one more character */
            glob = star;
            s = retry = next_char(retry);
        }
    }
    return matched;
}

/* Does the route carry label `name` with a value `glob` matches? */
static int route_has_label(const struct sink_route *r, const char *name,
                           const char *glob)
{
    unsigned i = 0;

    while (i < r->nlabels && strcmp(r->label_names[i], name) != 0)
        i++;
    return i < r->nlabels && sink_glob_match(glob, r->label_values[i]);
}

int sink_routes(const struct sink_config *c, const struct sink_route *r)
{
    int sev = r->severity != NULL ? severity_parse(r->severity) : -1;
    int ok = sev >= (int)c->min_severity && sev >= 0;

    if (ok && c->n_rules > 0) {
        ok = 0;
        for (size_t i = 0; i < c->n_rules && !ok && r->rule != NULL; i++)
            ok = sink_glob_match(c->rules[i], r->rule);
    }
    for (size_t i = 0; i < c->n_labels && ok; i++)
        ok = route_has_label(r, c->label_names[i], c->label_values[i]);
    return ok;
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

/* The members the renderers use.  Strings and objects point into root (or
 * own_group); optional ones are NULL when absent or null. */
struct doc {
    cJSON *root;
    cJSON *own_group;          /* an older document's group, built here */
    const cJSON *data;
    const char *type, *timestamp;
    const char *id, *rule, *kind, *key, *state, *severity, *summary;
    const char *started_at, *resolved_at, *source;
    const char *description, *runbook_url;
    const char *status_url;    /* a storm digest's link to the status page */
    const cJSON *group;        /* object: field -> value, in rule order */
    const cJSON *labels;       /* object: name -> value, or NULL */
    const cJSON *value, *threshold, *window_s; /* numbers, or NULL */
    const cJSON *sample;       /* object, or NULL */
};

/* An older document's group_by names and the fields they grouped on. */
static const struct {
    const char *group_by, *field;
} old_groups[] = {
    {"tool", "tool_name"},
    {"agent", "agent_id"},
    {"session", "session_id"},
};

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v : NULL;
}

static const cJSON *obj_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsObject(v) ? v : NULL;
}

/* The group of an older document: group_by "global" is {}, another name
 * the one field it grouped on, with the key as its value. */
static int old_group(struct doc *d, const char *group_by)
{
    const char *field = group_by;
    int rc = SINK_ENOMEM;

    d->group = d->own_group = cJSON_CreateObject();
    if (d->own_group == NULL)
        goto out;
    rc = SINK_OK;
    if (strcmp(group_by, "global") == 0)
        goto out;
    for (size_t i = 0; i < sizeof old_groups / sizeof old_groups[0]; i++) {
        if (strcmp(group_by, old_groups[i].group_by) == 0)
            field = old_groups[i].field;
    }
    if (cJSON_AddStringToObject(d->own_group, field, d->key) == NULL)
        rc = SINK_ENOMEM;
out:
    return rc;
}

/* Parse a document, the current shape or an older one.  Returns SINK_OK,
 * SINK_EINVAL (not an alert document) or SINK_ENOMEM; doc_free() after
 * any outcome. */
static int doc_parse(struct doc *d, const char *text, size_t len)
{
    const char *group_by;
    int rc = SINK_EINVAL;

    memset(d, 0, sizeof *d);
    if ((d->root = cJSON_ParseWithLength(text, len)) == NULL)
        goto out;
    d->type = str_of(d->root, "type");
    d->timestamp = str_of(d->root, "timestamp");
    d->data = obj_of(d->root, "data");
    if (d->data == NULL || d->type == NULL)
        goto out;
    d->id = str_of(d->data, "id");
    d->rule = str_of(d->data, "rule");
    if (d->rule == NULL)
        d->rule = str_of(d->data, "detector");
    d->kind = str_of(d->data, "kind");
    d->key = str_of(d->data, "key");
    d->state = str_of(d->data, "state");
    d->severity = str_of(d->data, "severity");
    d->summary = str_of(d->data, "summary");
    d->started_at = str_of(d->data, "started_at");
    d->resolved_at = str_of(d->data, "resolved_at");
    d->source = str_of(d->data, "source");
    d->description = str_of(d->data, "description");
    d->runbook_url = str_of(d->data, "runbook_url");
    d->status_url = str_of(d->data, "status_url");
    d->labels = obj_of(d->data, "labels");
    d->value = num_of(d->data, "value");
    d->threshold = num_of(d->data, "threshold");
    d->window_s = num_of(d->data, "window_s");
    d->sample = obj_of(d->data, "sample");
    if (d->id == NULL || d->rule == NULL || d->key == NULL ||
        d->severity == NULL || d->summary == NULL)
        goto out;
    d->group = obj_of(d->data, "group");
    group_by = str_of(d->data, "group_by");
    if (d->group == NULL && group_by == NULL)
        goto out;
    if (d->group == NULL && (rc = old_group(d, group_by)) != SINK_OK)
        goto out;
    if (d->source == NULL)
        d->source = "toolwatch";
    rc = SINK_OK;
out:
    return rc;
}

static void doc_free(struct doc *d)
{
    cJSON_Delete(d->own_group);
    cJSON_Delete(d->root);
}

static int doc_resolved(const struct doc *d)
{
    return strcmp(d->type, "alert.resolved") == 0;
}

/* A group value as shown: a record that lacked the field is grouped
 * under the empty value, shown as "(none)" (SPEC section 2). */
static const char *shown(const cJSON *v)
{
    return !cJSON_IsString(v)              ? "?"
           : v->valuestring[0] != '\0' ? v->valuestring
                                         : "(none)";
}

/* Is s a link a receiver may show: http(s), no spaces or controls? */
static int web_url(const char *s)
{
    int ok = s != NULL && (strncasecmp(s, "https://", 8) == 0 ||
                           strncasecmp(s, "http://", 7) == 0);

    for (; ok && *s != '\0'; s++)
        ok = (unsigned char)*s > 0x20 && *s != 0x7f;
    return ok;
}

/* ---- building the receiver's JSON ---------------------------------------- */

/* One body under construction.  Every item goes through put(), which
 * remembers an allocation failure, so a body is never sent with a part
 * silently missing. */
struct body {
    buf raw;    /* text from the document, before escaping and cutting */
    buf text;   /* text as sent */
    int bad;    /* an allocation failed */
};

/* Every append to the body's texts (raw, text) reports here: an
 * allocation failure marks the body bad, so it is never sent with a text
 * missing; a piece that would pass the text's cap (SLACK_RAW_MAX) is left
 * out, the text being cut to the receiver's limit anyway. */
static void note(struct body *b, int rc)
{
    if (rc == BUF_ENOMEM)
        b->bad = 1;
}

static void append(struct body *b, buf *to, const char *s)
{
    note(b, buf_append_str(to, s));
}

static void raw_str(struct body *b, const char *s)
{
    append(b, &b->raw, s);
}

static void text_str(struct body *b, const char *s)
{
    append(b, &b->text, s);
}

/* Add item to parent (as member `name`, or to an array when name is
 * NULL).  Returns the item, or NULL (item freed, b->bad set). */
static cJSON *put(struct body *b, cJSON *parent, const char *name,
                  cJSON *item)
{
    int ok = item != NULL && parent != NULL &&
             (name != NULL ? cJSON_AddItemToObject(parent, name, item)
                           : cJSON_AddItemToArray(parent, item));

    if (!ok) {
        cJSON_Delete(item);
        b->bad = 1;
        return NULL;
    }
    return item;
}

/* A string member; s == NULL (a text that could not be built) is an
 * allocation failure. */
static cJSON *put_str(struct body *b, cJSON *parent, const char *name,
                      const char *s)
{
    return put(b, parent, name, s != NULL ? cJSON_CreateString(s) : NULL);
}

/* s as a JSON string, or null. */
static cJSON *str_or_null(const char *s)
{
    return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* A copy of v, or `otherwise` (a new object, or null) when v is NULL. */
static cJSON *copy_or(const cJSON *v, int otherwise_object)
{
    return v != NULL           ? cJSON_Duplicate(v, 1)
           : otherwise_object ? cJSON_CreateObject()
                              : cJSON_CreateNull();
}

/* Print root into out and free it.  Returns SINK_OK, SINK_ETOOBIG or
 * SINK_ENOMEM (also when b->bad). */
static int emit(struct body *b, cJSON *root, buf *out)
{
    char *text = NULL;
    int rc = SINK_ENOMEM;

    if (root == NULL || b->bad)
        goto out;
    if ((text = cJSON_PrintUnformatted(root)) == NULL)
        goto out;
    rc = buf_append_str(out, text);
    rc = rc == BUF_OK ? SINK_OK
                      : rc == BUF_ETOOBIG ? SINK_ETOOBIG : SINK_ENOMEM;
out:
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

/* Append the members of obj to b->raw as "name: value" separated by sep
 * (string values only). */
static void raw_pairs(struct body *b, const cJSON *obj, const char *sep)
{
    const cJSON *m;
    int first = 1;

    cJSON_ArrayForEach(m, obj)
    {
        if (!cJSON_IsString(m))
            continue;
        if (!first)
            raw_str(b, sep);
        raw_str(b, m->string);
        raw_str(b, ": ");
        raw_str(b, shown(m));
        first = 0;
    }
}

/* ---- Slack ---------------------------------------------------------------- */

#define SLACK_HEADER_MAX 150
#define SLACK_SECTION_MAX 3000
#define SLACK_FIELD_MAX 2000
#define SLACK_FIELDS_MAX 10
#define SLACK_RAW_MAX (16u * 1024u)

/* The escape of one of mrkdwn's control characters, or NULL. */
static const char *mrkdwn_escape(char c)
{
    return c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : NULL;
}

/* Append s to b->text with &, < and > escaped for mrkdwn, stopping
 * before b->text would pass max bytes; never cuts a character or an
 * escape. */
static void mrkdwn(struct body *b, const char *s, size_t max)
{
    buf *out = &b->text;
    int rc = BUF_OK;

    while (*s != '\0' && rc == BUF_OK) {
        const char *rep = mrkdwn_escape(*s);
        size_t n = rep != NULL ? strlen(rep) : (size_t)(next_char(s) - s);

        if (out->len + n > max)
            break;
        rc = buf_append(out, rep != NULL ? rep : s, n);
        s += rep != NULL ? 1 : n;
    }
    note(b, rc);
}

/* A Slack text object: {"type": type, "text": text}. */
static cJSON *text_obj(struct body *b, const char *type, const char *text)
{
    cJSON *t = cJSON_CreateObject();

    put_str(b, t, "type", type);
    put_str(b, t, "text", text);
    if (strcmp(type, "plain_text") == 0)
        put(b, t, "emoji", cJSON_CreateTrue());
    return t;
}

/* A block of `type` appended to blocks; returns it. */
static cJSON *block(struct body *b, cJSON *blocks, const char *type)
{
    cJSON *k = put(b, blocks, NULL, cJSON_CreateObject());

    put_str(b, k, "type", type);
    return k;
}

/* b->raw escaped into b->text, cut to max; b->raw is then reset. */
static const char *escaped(struct body *b, size_t max)
{
    buf_reset(&b->text);
    note(b, buf_append(&b->text, "", 0));
    mrkdwn(b, b->raw.data != NULL ? b->raw.data : "", max);
    buf_reset(&b->raw);
    return b->text.data;
}

/* A field "*label*\nvalue": b->raw is the value (nothing is added when it
 * is empty, or when the section has SLACK_FIELDS_MAX fields). */
static void field(struct body *b, cJSON *fields, const char *label)
{
    if (b->raw.len > 0 && cJSON_GetArraySize(fields) < SLACK_FIELDS_MAX) {
        buf_reset(&b->text);
        text_str(b, "*");
        text_str(b, label);
        text_str(b, "*\n");
        mrkdwn(b, b->raw.data, SLACK_FIELD_MAX);
        put(b, fields, NULL, text_obj(b, "mrkdwn", b->text.data));
    }
    buf_reset(&b->raw);
}

static void raw_number(struct body *b, const cJSON *v)
{
    char n[40];

    buf_format_number(v->valuedouble, n, sizeof n);
    raw_str(b, n);
}

static const char *severity_emoji(const char *sev)
{
    switch (severity_parse(sev)) {
    case SEVERITY_CRITICAL: return ":red_circle:";
    case SEVERITY_ERROR: return ":large_orange_circle:";
    case SEVERITY_WARNING: return ":large_yellow_circle:";
    default: return ":large_blue_circle:";
    }
}

/* The fields section: rule, group, severity, value, window, times,
 * labels, sample ids; at most SLACK_FIELDS_MAX (there are 9). */
static void slack_fields(struct body *b, const struct doc *d, cJSON *fields)
{
    raw_str(b, d->rule);
    if (d->kind != NULL) {
        raw_str(b, " (");
        raw_str(b, d->kind);
        raw_str(b, ")");
    }
    field(b, fields, "Rule");
    raw_pairs(b, d->group, "\n");
    if (b->raw.len == 0)
        raw_str(b, "all events");
    field(b, fields, "Group");
    raw_str(b, d->severity);
    field(b, fields, "Severity");
    if (d->value != NULL) {
        raw_number(b, d->value);
        if (d->threshold != NULL) {
            raw_str(b, " (threshold ");
            raw_number(b, d->threshold);
            raw_str(b, ")");
        }
    }
    field(b, fields, "Value");
    if (d->window_s != NULL) {
        raw_number(b, d->window_s);
        raw_str(b, " s");
    }
    field(b, fields, "Window");
    if (d->started_at != NULL)
        raw_str(b, d->started_at);
    field(b, fields, "Started");
    if (doc_resolved(d) && d->resolved_at != NULL)
        raw_str(b, d->resolved_at);
    field(b, fields, "Resolved");
    if (d->labels != NULL)
        raw_pairs(b, d->labels, "\n");
    field(b, fields, "Labels");
    if (d->sample != NULL) {
        const char *rid = str_of(d->sample, "record_id");
        const char *sid = str_of(d->sample, "session_id");
        const char *aid = str_of(d->sample, "agent_id");

        raw_str(b, "record ");
        raw_str(b, rid != NULL && *rid ? rid : "-");
        raw_str(b, "\nsession ");
        raw_str(b, sid != NULL && *sid ? sid : "-");
        raw_str(b, "\nagent ");
        raw_str(b, aid != NULL && *aid ? aid : "-");
    }
    field(b, fields, "Sample");
}

/* "<url|label>" into b->text, the URL's &, < and > escaped and | as
 * %7C, so the link cannot be bent into another. */
static const char *slack_link(struct body *b, const char *url,
                              const char *label)
{
    buf_reset(&b->text);
    text_str(b, "<");
    for (const char *p = url; *p != '\0'; p++) {
        const char *rep = *p == '|' ? "%7C" : mrkdwn_escape(*p);

        if (rep != NULL)
            text_str(b, rep);
        else
            note(b, buf_append(&b->text, p, 1));
    }
    text_str(b, "|");
    text_str(b, label);
    text_str(b, ">");
    return b->text.data;
}

/* text: the fallback ("[FIRING] severity rule: summary"); blocks: a
 * header (a circle coloured by severity when firing, a check mark when
 * resolved; the rule and the group), the summary, the description, the
 * fields, and a context line with the runbook link, the episode id and
 * the source. */
static int render_slack(const struct doc *d, buf *out)
{
    struct body b = {.bad = 0};
    cJSON *msg = cJSON_CreateObject(), *blocks, *k, *elems;
    int resolved = doc_resolved(d);
    int rc;

    buf_init(&b.raw, SLACK_RAW_MAX);
    buf_init(&b.text, SLACK_RAW_MAX);

    raw_str(&b, resolved ? "[RESOLVED] "
                : strcmp(d->type, SINK_DIGEST_TYPE) == 0 ? "[DIGEST] "
                                                         : "[FIRING] ");
    raw_str(&b, d->severity);
    raw_str(&b, " ");
    raw_str(&b, d->rule);
    raw_str(&b, ": ");
    raw_str(&b, d->summary);
    put_str(&b, msg, "text", escaped(&b, SLACK_SECTION_MAX));
    blocks = put(&b, msg, "blocks", cJSON_CreateArray());

    /* plain text: nothing to escape, only to cut */
    raw_str(&b, resolved ? ":white_check_mark: Resolved: "
                                    : severity_emoji(d->severity));
    raw_str(&b, resolved ? "" : " Firing: ");
    raw_str(&b, d->rule);
    if (cJSON_GetArraySize(d->group) > 0) {
        raw_str(&b, " on ");
        raw_pairs(&b, d->group, ", ");
    }
    buf_reset(&b.text);
    note(&b, sink_append_utf8_prefix(&b.text,
                                     b.raw.data != NULL ? b.raw.data : "",
                                     SLACK_HEADER_MAX));
    buf_reset(&b.raw);
    k = block(&b, blocks, "header");
    put(&b, k, "text", text_obj(&b, "plain_text", b.text.data));

    raw_str(&b, d->summary);
    k = block(&b, blocks, "section");
    put(&b, k, "text", text_obj(&b, "mrkdwn", escaped(&b, SLACK_SECTION_MAX)));

    if (d->description != NULL && d->description[0] != '\0') {
        raw_str(&b, d->description);
        k = block(&b, blocks, "section");
        put(&b, k, "text",
            text_obj(&b, "mrkdwn", escaped(&b, SLACK_SECTION_MAX)));
    }

    k = block(&b, blocks, "section");
    slack_fields(&b, d, put(&b, k, "fields", cJSON_CreateArray()));

    k = block(&b, blocks, "context");
    elems = put(&b, k, "elements", cJSON_CreateArray());
    if (web_url(d->runbook_url))
        put(&b, elems, NULL,
            text_obj(&b, "mrkdwn",
                     slack_link(&b, d->runbook_url, "Runbook")));
    if (web_url(d->status_url))
        put(&b, elems, NULL,
            text_obj(&b, "mrkdwn",
                     slack_link(&b, d->status_url, "Status page")));
    raw_str(&b, "episode ");
    raw_str(&b, d->id);
    raw_str(&b, " \xc2\xb7 source ");
    raw_str(&b, d->source);
    put(&b, elems, NULL, text_obj(&b, "mrkdwn", escaped(&b, SLACK_FIELD_MAX)));

    rc = emit(&b, msg, out);
    buf_free(&b.raw);
    buf_free(&b.text);
    return rc;
}

/* ---- PagerDuty ------------------------------------------------------------ */

/* The Events API v2 severities are toolwatch's. */
static const char *pd_severity(const char *sev)
{
    int s = severity_parse(sev);

    return s >= 0 ? severity_name((enum severity)s) : "error";
}

/* A group field's value, else the sample's (component: the tool, group:
 * the agent); NULL when neither is there. */
static const char *pd_context(const struct doc *d, const char *field)
{
    const char *v = str_of(d->group, field);

    if (v == NULL || *v == '\0')
        v = d->sample != NULL ? str_of(d->sample, field) : NULL;
    return v != NULL && *v != '\0' ? v : NULL;
}

/* custom_details: the alert's data in one shape whatever the document's
 * version, so a receiver's rules see the same keys. */
static void pd_details(struct body *b, const struct doc *d, cJSON *cd)
{
    put_str(b, cd, "id", d->id);
    put_str(b, cd, "rule", d->rule);
    put(b, cd, "kind", str_or_null(d->kind));
    put(b, cd, "group", cJSON_Duplicate(d->group, 1));
    put_str(b, cd, "key", d->key);
    put(b, cd, "state", str_or_null(d->state));
    put_str(b, cd, "severity", d->severity);
    put(b, cd, "value", copy_or(d->value, 0));
    put(b, cd, "threshold", copy_or(d->threshold, 0));
    put(b, cd, "window_s", copy_or(d->window_s, 0));
    put(b, cd, "started_at", str_or_null(d->started_at));
    put(b, cd, "labels", copy_or(d->labels, 1));
    put(b, cd, "description", str_or_null(d->description));
    put(b, cd, "runbook_url", str_or_null(d->runbook_url));
    put(b, cd, "sample", copy_or(d->sample, 1));
}

/* trigger: summary (cut to SINK_PD_SUMMARY_MAX bytes on a character
 * boundary), source, severity, timestamp, component (tool), group
 * (agent), class (rule), custom_details, and links: the runbook.
 * resolve: the routing key, the action and the dedup_key only. */
static int render_pagerduty(const struct doc *d, const char *routing_key,
                            buf *out)
{
    struct body b = {.bad = 0};
    cJSON *ev = cJSON_CreateObject(), *payload, *link;
    const char *component = pd_context(d, "tool_name");
    const char *group = pd_context(d, "agent_id");
    int rc;

    buf_init(&b.raw, SINK_PD_SUMMARY_MAX + 1);
    buf_init(&b.text, 0);
    put_str(&b, ev, "routing_key", routing_key != NULL ? routing_key : "");
    put_str(&b, ev, "event_action", doc_resolved(d) ? "resolve" : "trigger");
    put_str(&b, ev, "dedup_key", d->id);
    if (doc_resolved(d))
        goto out;
    put_str(&b, ev, "client", "toolwatch");
    payload = put(&b, ev, "payload", cJSON_CreateObject());
    note(&b, sink_append_utf8_prefix(&b.raw, d->summary,
                                     SINK_PD_SUMMARY_MAX));
    note(&b, buf_append(&b.raw, "", 0));
    put_str(&b, payload, "summary", b.raw.data);
    put_str(&b, payload, "source", d->source);
    put_str(&b, payload, "severity", pd_severity(d->severity));
    if (d->timestamp != NULL)
        put_str(&b, payload, "timestamp", d->timestamp);
    if (component != NULL)
        put_str(&b, payload, "component", component);
    if (group != NULL)
        put_str(&b, payload, "group", group);
    put_str(&b, payload, "class", d->rule);
    pd_details(&b, d, put(&b, payload, "custom_details",
                          cJSON_CreateObject()));
    if (web_url(d->runbook_url)) {
        link = put(&b, put(&b, ev, "links", cJSON_CreateArray()), NULL,
                   cJSON_CreateObject());
        put_str(&b, link, "href", d->runbook_url);
        put_str(&b, link, "text", "Runbook");
    }
out:
    rc = emit(&b, ev, out);
    buf_free(&b.raw);
    buf_free(&b.text);
    return rc;
}

/* ---- Alertmanager ---------------------------------------------------------- */

/* name made a valid label name into dst (size > 1): [a-zA-Z_][a-zA-Z0-9_]*,
 * every other byte _, a _ before a leading digit, cut to size - 1. */
static void am_label_name(const char *name, char *dst, size_t size)
{
    size_t n = 0;

    if (*name >= '0' && *name <= '9')
        dst[n++] = '_';
    for (const char *p = name; *p != '\0' && n + 1 < size; p++) {
        int c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_';

        dst[n++] = ok ? (char)c : '_';
    }
    dst[n] = '\0';
}

/* s made valid UTF-8 and cut to SINK_AM_VALUE_MAX bytes on a character
 * boundary, in b->text; returns it (NULL when the body went bad). */
static const char *am_value(struct body *b, const char *s)
{
    buf_reset(&b->raw);
    buf_reset(&b->text);
    note(b, buf_append_utf8(&b->raw, s, strlen(s), NULL));
    note(b, buf_append(&b->raw, "", 0));
    note(b, sink_append_utf8_prefix(&b->text,
                                    b->raw.data != NULL ? b->raw.data : "",
                                    SINK_AM_VALUE_MAX));
    note(b, buf_append(&b->text, "", 0));
    buf_reset(&b->raw);
    return b->bad ? NULL : b->text.data;
}

/* Add label name=value to labels (see sink_render_alertmanager): an
 * empty value or name is left out; a taken name is left out, or made
 * unique with trailing _ when `unique`. */
static void am_label(struct body *b, cJSON *labels, const char *name,
                     const char *value, int unique)
{
    char ln[SINK_AM_LABEL_NAME_MAX + 1];
    size_t n;

    if (value == NULL || value[0] == '\0' || labels == NULL)
        return;
    am_label_name(name, ln, sizeof ln);
    n = strlen(ln);
    while (n > 0 && cJSON_GetObjectItemCaseSensitive(labels, ln) != NULL) {
        if (!unique || n + 1 >= sizeof ln)
            return;
        ln[n++] = '_';
        ln[n] = '\0';
    }
    if (n > 0)
        put_str(b, labels, ln, am_value(b, value));
}

static void am_annotation(struct body *b, cJSON *ann, const char *name,
                          const char *value)
{
    if (value != NULL && value[0] != '\0')
        put_str(b, ann, name, am_value(b, value));
}

/* The ISO 8601 text of ms into dst, or NULL (b->bad set). */
static const char *am_time(struct body *b, int64_t ms, char *dst,
                           size_t size)
{
    if (clock_format_iso8601(ms, dst, size) < 0) {
        b->bad = 1;
        return NULL;
    }
    return dst;
}

static int render_alertmanager(const struct doc *d,
                               const struct sink_am_params *p, buf *out)
{
    struct body b = {.bad = 0};
    cJSON *arr = cJSON_CreateArray(), *a, *labels, *ann;
    const cJSON *m;
    const char *ts = d->timestamp != NULL ? d->timestamp : "";
    const char *starts = d->started_at != NULL ? d->started_at : ts;
    char ends[40];
    int64_t ts_ms = 0, now_ms = p != NULL ? p->now_ms : 0;
    uint64_t horizon = p != NULL && p->ends_after_s > 0
                           ? p->ends_after_s
                           : SINK_AM_DEFAULT_ENDS_AFTER_S;
    int rc;

    buf_init(&b.raw, SINK_BODY_MAX);
    buf_init(&b.text, SINK_BODY_MAX);
    if (d->rule[0] == '\0') {
        rc = SINK_EINVAL; /* no alertname: nothing Alertmanager can route */
        goto out;
    }
    a = put(&b, arr, NULL, cJSON_CreateObject());
    labels = put(&b, a, "labels", cJSON_CreateObject());
    am_label(&b, labels, "alertname", d->rule, 0);
    am_label(&b, labels, "severity", d->severity, 0);
    am_label(&b, labels, "instance", d->source, 0);
    cJSON_ArrayForEach(m, d->group)
    {
        if (cJSON_IsString(m))
            am_label(&b, labels, m->string, m->valuestring, 1);
    }
    cJSON_ArrayForEach(m, d->labels)
    {
        if (cJSON_IsString(m))
            am_label(&b, labels, m->string, m->valuestring, 0);
    }
    ann = put(&b, a, "annotations", cJSON_CreateObject());
    am_annotation(&b, ann, "summary", d->summary);
    am_annotation(&b, ann, "description", d->description);
    if (web_url(d->runbook_url))
        am_annotation(&b, ann, "runbook_url", d->runbook_url);
    am_annotation(&b, ann, "episode_id", d->id);
    am_annotation(&b, ann, "key", d->key);
    if (starts[0] != '\0') /* else Alertmanager's receipt time */
        put_str(&b, a, "startsAt", am_value(&b, starts));
    if (doc_resolved(d)) {
        put_str(&b, a, "endsAt",
                am_value(&b, d->resolved_at != NULL ? d->resolved_at : ts));
    } else {
        if (clock_parse_iso8601(ts, strlen(ts), &ts_ms) < 0)
            ts_ms = 0;
        if (now_ms < ts_ms)
            now_ms = ts_ms;
        if (now_ms <= 0 || horizon > (uint64_t)INT64_MAX / 2000u) {
            rc = SINK_EINVAL; /* no time to count the horizon from */
            goto out;
        }
        put_str(&b, a, "endsAt",
                am_time(&b, now_ms + (int64_t)horizon * 1000, ends,
                        sizeof ends));
    }
    if (p != NULL && web_url(p->generator_url))
        put_str(&b, a, "generatorURL", am_value(&b, p->generator_url));
    rc = emit(&b, arr, out);
    arr = NULL;
out:
    cJSON_Delete(arr);
    buf_free(&b.raw);
    buf_free(&b.text);
    return rc;
}

int sink_am_url(const char *base, buf *out)
{
    size_t n = strlen(base);
    int rc;

    while (n > 0 && base[n - 1] == '/')
        n--;
    rc = buf_append(out, base, n);
    return rc != BUF_OK ? rc : buf_append_str(out, SINK_AM_API_PATH);
}

/* The renderers' shared ending: SINK_OK, or out back as it was. */
static int render_end(int rc, buf *out, size_t start)
{
    if (rc != SINK_OK) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return rc;
}

int sink_render_alertmanager(const char *doc, size_t len,
                             const struct sink_am_params *p, buf *out)
{
    struct doc d;
    size_t start = out->len;
    int rc = doc_parse(&d, doc, len);

    if (rc == SINK_OK)
        rc = render_alertmanager(&d, p, out);
    doc_free(&d);
    return render_end(rc, out, start);
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
    case SINK_ALERTMANAGER:
        rc = render_alertmanager(&d, NULL, out);
        break;
    case SINK_WEBHOOK:
    case SINK_FILE:
    case SINK_STDOUT:
        rc = buf_append(out, doc, len);
        rc = rc == BUF_OK ? SINK_OK
                          : rc == BUF_ETOOBIG ? SINK_ETOOBIG : SINK_ENOMEM;
        break;
    default:
        rc = SINK_EINVAL;
        break;
    }
out:
    doc_free(&d);
    return render_end(rc, out, start);
}

/* ---- storm digests ------------------------------------------------------ */

/* dst (size bytes) = prefix + as much of s as fits, cut on a UTF-8
 * character boundary. */
static void copy_utf8(char *dst, size_t size, const char *prefix,
                      const char *s)
{
    buf b;

    buf_init(&b, size - 1);
    buf_append_str(&b, prefix);
    if (b.len < size - 1)
        sink_append_utf8_prefix(&b, s, size - 1 - b.len);
    snprintf(dst, size, "%s", b.data != NULL ? b.data : "");
    buf_free(&b);
}

void sink_digest_reset(struct sink_digest *g, int64_t start_ms)
{
    memset(g, 0, sizeof *g);
    g->start_ms = start_ms;
    g->window_ms = (int64_t)SINK_DEFAULT_DIGEST_WINDOW_S * 1000;
}

int64_t sink_digest_window_ms(const struct sink_config *c)
{
    uint64_t s = c->digest_window_s ? c->digest_window_s
                                    : SINK_DEFAULT_DIGEST_WINDOW_S;

    return (int64_t)(s > 86400 ? 86400 : s) * 1000;
}

void sink_digest_add(struct sink_digest *g, const char *doc, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(doc, len);
    const cJSON *data = root != NULL ? obj_of(root, "data") : NULL;
    const char *rule = data != NULL ? str_of(data, "rule") : NULL;
    const char *key = data != NULL ? str_of(data, "key") : NULL;
    const char *source = data != NULL ? str_of(data, "source") : NULL;
    size_t i;

    if (rule == NULL || rule[0] == '\0' ||
        strlen(rule) >= SINK_RULE_GLOB_MAX)
        rule = "(unreadable)";
    g->count++;
    for (i = 0; i < g->n_rules; i++) {
        if (strcmp(g->rules[i].rule, rule) == 0)
            break;
    }
    if (i == g->n_rules && i < SINK_DIGEST_RULES) {
        snprintf(g->rules[i].rule, sizeof g->rules[i].rule, "%s", rule);
        g->n_rules++;
    }
    if (i < g->n_rules)
        g->rules[i].count++;
    else
        g->other++;
    if (g->n_keys < SINK_DIGEST_KEYS && key != NULL) {
        char r[SINK_RULE_GLOB_MAX + 2];
        snprintf(r, sizeof r, "%s: ", rule);
        copy_utf8(g->keys[g->n_keys++], SINK_DIGEST_KEY_MAX, r, key);
    }
    if (g->source[0] == '\0' && source != NULL)
        copy_utf8(g->source, sizeof g->source, "", source);
    cJSON_Delete(root);
}

int sink_digest_document(const struct sink_digest *g, const char *sink,
                         const char *status_url, buf *out)
{
    size_t start = out->len;
    char num[96], ts[32], te[32];
    buf sum;
    int rc;

    if (clock_format_iso8601(g->start_ms, ts, sizeof ts) < 0)
        ts[0] = '\0';
    if (clock_format_iso8601(g->start_ms + g->window_ms, te, sizeof te) < 0)
        te[0] = '\0';
    buf_init(&sum, SINK_PD_SUMMARY_MAX);
    if (g->window_ms == (int64_t)SINK_DEFAULT_DIGEST_WINDOW_S * 1000)
        snprintf(num, sizeof num, "%llu more notifications within a "
                 "minute: ", (unsigned long long)g->count);
    else
        snprintf(num, sizeof num, "%llu more notifications within %lld s: ",
                 (unsigned long long)g->count,
                 (long long)(g->window_ms / 1000));
    buf_append_str(&sum, num);
    for (size_t i = 0; i < g->n_rules; i++) {
        snprintf(num, sizeof num, "%s%llu ", i ? ", " : "",
                 (unsigned long long)g->rules[i].count);
        buf_append_str(&sum, num);
        buf_append_str(&sum, g->rules[i].rule);
    }
    if (g->other > 0) {
        snprintf(num, sizeof num, ", %llu of other rules",
                 (unsigned long long)g->other);
        buf_append_str(&sum, num);
    }
    rc = buf_append_str(out, "{\"type\":\"" SINK_DIGEST_TYPE
                             "\",\"timestamp\":");
    rc = rc ? rc : buf_append_json_string(out, te, strlen(te));
    rc = rc ? rc : buf_append_str(out, ",\"data\":{\"id\":");
    snprintf(num, sizeof num, "digest-%lld", (long long)g->start_ms);
    rc = rc ? rc : buf_append_json_string(out, num, strlen(num));
    rc = rc ? rc : buf_append_str(out, ",\"rule\":\"digest\",\"kind\":"
                                       "\"digest\",\"group\":{\"sink\":");
    rc = rc ? rc : buf_append_json_string(out, sink, strlen(sink));
    rc = rc ? rc : buf_append_str(out, "},\"key\":");
    rc = rc ? rc : buf_append_json_string(out, sink, strlen(sink));
    rc = rc ? rc : buf_append_str(out, ",\"state\":\"firing\",\"severity\":"
                                       "\"warning\",\"summary\":");
    rc = rc ? rc : buf_append_json_string(out, sum.data ? sum.data : "",
                                          sum.len);
    rc = rc ? rc : buf_append_str(out, ",\"started_at\":");
    rc = rc ? rc : buf_append_json_string(out, ts, strlen(ts));
    rc = rc ? rc : buf_append_str(out, ",\"digest\":{\"count\":");
    snprintf(num, sizeof num, "%llu", (unsigned long long)g->count);
    rc = rc ? rc : buf_append_str(out, num);
    rc = rc ? rc : buf_append_str(out, ",\"window_start\":");
    rc = rc ? rc : buf_append_json_string(out, ts, strlen(ts));
    rc = rc ? rc : buf_append_str(out, ",\"window_end\":");
    rc = rc ? rc : buf_append_json_string(out, te, strlen(te));
    rc = rc ? rc : buf_append_str(out, ",\"rules\":{");
    for (size_t i = 0; i < g->n_rules && rc == BUF_OK; i++) {
        rc = i ? buf_append_str(out, ",") : BUF_OK;
        rc = rc ? rc : buf_append_json_string(out, g->rules[i].rule,
                                              strlen(g->rules[i].rule));
        snprintf(num, sizeof num, ":%llu",
                 (unsigned long long)g->rules[i].count);
        rc = rc ? rc : buf_append_str(out, num);
    }
    snprintf(num, sizeof num, "},\"other_rules\":%llu,\"first_keys\":[",
             (unsigned long long)g->other);
    rc = rc ? rc : buf_append_str(out, num);
    for (size_t i = 0; i < g->n_keys && rc == BUF_OK; i++) {
        rc = i ? buf_append_str(out, ",") : BUF_OK;
        rc = rc ? rc : buf_append_json_string(out, g->keys[i],
                                              strlen(g->keys[i]));
    }
    rc = rc ? rc : buf_append_str(out, "]}");
    if (status_url != NULL && status_url[0] != '\0') {
        rc = rc ? rc : buf_append_str(out, ",\"status_url\":");
        rc = rc ? rc : buf_append_json_string(out, status_url,
                                              strlen(status_url));
    }
    rc = rc ? rc : buf_append_str(out, ",\"source\":");
    rc = rc ? rc : buf_append_json_string(out, g->source[0] ? g->source
                                                            : "toolwatch",
                                          strlen(g->source[0] ? g->source
                                                              : "toolwatch"));
    rc = rc ? rc : buf_append_str(out, "}}");
    buf_free(&sum);
    if (rc != BUF_OK) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
        return rc == BUF_ETOOBIG ? SINK_ETOOBIG : SINK_ENOMEM;
    }
    return SINK_OK;
}
