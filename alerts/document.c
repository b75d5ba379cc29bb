/*
 * document.c - build the SPEC section 3 alert document.
 *
 * The writer appends to a capped buf (base/buf.h): every string goes
 * through buf_append_json_string, so hostile key text cannot break the
 * document.  On failure the buf is truncated back to its old length, so a
 * caller never sees half a document.
 */
#include "alerts/document.h"

#include "alerts/redact.h"
#include "base/clock.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static int put_str(buf *b, const char *s)
{
    return buf_append_json_string(b, s, strlen(s));
}

/* The redaction of one document: the options, with the alert's field
 * numbers as their keep list. */
struct red {
    struct redact_opts o;
    char num[3][40];
    const char *keep[3];
};

/* Free text from the stream (keys, summaries, sample fields): redacted
 * (SPEC section 3: e-mail addresses, phone numbers, SSNs, card numbers,
 * tokens and API keys become [REDACTED:<kind>...]) before it leaves. */
static int put_text(buf *b, const struct red *r, const char *s)
{
    char red[2 * ALERT_SUMMARY_MAX];
    size_t n = 0;
    int rc = redact_opt(&r->o, s, strlen(s), red, sizeof red, &n, NULL);

    if (rc != REDACT_OK && rc != REDACT_ETRUNC)
        return buf_append_str(b, "\"[REDACTED]\"");
    return buf_append_json_string(b, red, n);
}

/* a free-text member, null when empty */
static int put_opt(buf *b, const struct red *r, const char *name,
                   const char *v)
{
    int rc = buf_append_str(b, name);

    if (rc == BUF_OK)
        rc = v[0] ? put_text(b, r, v) : buf_append_str(b, "null");
    return rc;
}

static int put_time(buf *b, int64_t ms)
{
    char t[40];

    if (clock_format_iso8601(ms, t, sizeof t) < 0)
        return buf_append_str(b, "null");
    return buf_append_json_string(b, t, strlen(t));
}

static int put_num(buf *b, double d)
{
    char t[40];

    buf_format_number(d, t, sizeof t);
    return buf_append_str(b, t);
}

static int put_sample(buf *b, const struct red *r,
                      const struct alert_sample *s)
{
    int rc;

    if (s == NULL)
        return buf_append_str(b, "{}");
    rc = put_opt(b, r, "{\"record_id\":", s->record_id);
    rc = rc ? rc : put_opt(b, r, ",\"session_id\":", s->session_id);
    rc = rc ? rc : put_opt(b, r, ",\"agent_id\":", s->agent_id);
    rc = rc ? rc : put_opt(b, r, ",\"tool_name\":", s->tool_name);
    rc = rc ? rc : buf_append_str(b, ",\"event_type\":");
    if (rc == BUF_OK) {
        rc = s->event_type == EVENT_TYPE_UNKNOWN
                 ? buf_append_str(b, "null")
                 : put_str(b, event_type_name(s->event_type));
    }
    rc = rc ? rc : put_opt(b, r, ",\"error_code\":", s->error_code);
    rc = rc ? rc : buf_append_str(b, "}");
    return rc;
}

/* a number, or null (NaN: the kind has none) */
static int put_num_or_null(buf *b, double d)
{
    return isnan(d) ? buf_append_str(b, "null") : put_num(b, d);
}

/* operator text from the configuration: a string, or null when empty */
static int put_conf_opt(buf *b, const char *v)
{
    return v != NULL && v[0] ? put_str(b, v) : buf_append_str(b, "null");
}

/* {"name": value, ...}: names are the rule's (field names, label names);
 * values are redacted when they come from the stream (`stream_text`) */
static int put_pairs(buf *b, const struct red *r,
                     const struct alert_pair *p, uint32_t n, int stream_text)
{
    int rc = buf_append_str(b, "{");

    for (uint32_t i = 0; rc == BUF_OK && i < n; i++) {
        rc = i ? buf_append_str(b, ",") : BUF_OK;
        rc = rc ? rc : put_str(b, p[i].name);
        rc = rc ? rc : buf_append_str(b, ":");
        rc = rc ? rc : stream_text ? put_text(b, r, p[i].value)
                                   : put_str(b, p[i].value);
    }
    return rc ? rc : buf_append_str(b, "}");
}

int alert_format(const struct alert *a, buf *out)
{
    return alert_format_opt(a, NULL, out);
}

/* r for alert a under o: the number texts exactly as put_num() writes
 * value, threshold and window_s. */
static void red_init(struct red *r, const struct alert *a,
                     const struct redact_opts *o)
{
    size_t n = 0;

    if (o != NULL)
        r->o = *o;
    else
        redact_opts_default(&r->o);
    if (!isnan(a->value))
        buf_format_number(a->value, r->num[n++], sizeof r->num[0]);
    if (!isnan(a->threshold))
        buf_format_number(a->threshold, r->num[n++], sizeof r->num[0]);
    if (a->window_s >= 0)
        buf_format_number((double)a->window_s, r->num[n++],
                          sizeof r->num[0]);
    for (size_t i = 0; i < n; i++)
        r->keep[i] = r->num[i];
    r->o.keep = r->keep;
    r->o.nkeep = n;
}

int alert_format_opt(const struct alert *a, const struct redact_opts *o,
                     buf *out)
{
    size_t mark = out->len;
    struct red r;
    int rc;

    if (a == NULL || a->rule == NULL || a->kind == NULL || a->key == NULL ||
        a->severity == NULL || a->summary == NULL || a->source == NULL ||
        a->ngroup > ALERT_GROUP_MAX || a->nlabels > ALERT_LABELS_MAX)
        return ALERT_EINVAL;
    red_init(&r, a, o);
    rc = buf_append_str(out, a->resolved ? "{\"type\":\"alert.resolved\""
                                         : "{\"type\":\"alert.firing\"");
    rc = rc ? rc : buf_append_str(out, ",\"timestamp\":");
    rc = rc ? rc : put_time(out, a->timestamp_ms);
    rc = rc ? rc : buf_append_str(out, ",\"data\":{\"id\":");
    rc = rc ? rc : put_str(out, a->id);
    rc = rc ? rc : buf_append_str(out, ",\"rule\":");
    rc = rc ? rc : put_str(out, a->rule);
    rc = rc ? rc : buf_append_str(out, ",\"kind\":");
    rc = rc ? rc : put_str(out, a->kind);
    rc = rc ? rc : buf_append_str(out, ",\"group\":");
    rc = rc ? rc : put_pairs(out, &r, a->group, a->ngroup, 1);
    rc = rc ? rc : buf_append_str(out, ",\"key\":");
    rc = rc ? rc : put_text(out, &r, a->key);
    rc = rc ? rc : buf_append_str(out, a->resolved
                                           ? ",\"state\":\"resolved\""
                                           : ",\"state\":\"firing\"");
    rc = rc ? rc : buf_append_str(out, ",\"severity\":");
    rc = rc ? rc : put_str(out, a->severity);
    rc = rc ? rc : buf_append_str(out, ",\"summary\":");
    rc = rc ? rc : put_text(out, &r, a->summary);
    rc = rc ? rc : buf_append_str(out, ",\"value\":");
    rc = rc ? rc : put_num_or_null(out, a->value);
    rc = rc ? rc : buf_append_str(out, ",\"threshold\":");
    rc = rc ? rc : put_num_or_null(out, a->threshold);
    rc = rc ? rc : buf_append_str(out, ",\"window_s\":");
    rc = rc ? rc : put_num_or_null(out, a->window_s < 0
                                            ? NAN
                                            : (double)a->window_s);
    rc = rc ? rc : buf_append_str(out, ",\"started_at\":");
    rc = rc ? rc : put_time(out, a->started_ms);
    rc = rc ? rc : buf_append_str(out, ",\"resolved_at\":");
    if (rc == BUF_OK)
        rc = a->resolved ? put_time(out, a->resolved_ms)
                         : buf_append_str(out, "null");
    rc = rc ? rc : buf_append_str(out, ",\"labels\":");
    rc = rc ? rc : put_pairs(out, &r, a->labels, a->nlabels, 0);
    rc = rc ? rc : buf_append_str(out, ",\"description\":");
    rc = rc ? rc : put_conf_opt(out, a->description);
    rc = rc ? rc : buf_append_str(out, ",\"runbook_url\":");
    rc = rc ? rc : put_conf_opt(out, a->runbook_url);
    rc = rc ? rc : buf_append_str(out, ",\"sample\":");
    rc = rc ? rc : put_sample(out, &r, a->sample);
    rc = rc ? rc : buf_append_str(out, ",\"source\":");
    rc = rc ? rc : put_str(out, a->source);
    rc = rc ? rc : buf_append_str(out, "}}");
    if (rc != BUF_OK) {
        out->len = mark;
        if (out->data != NULL)
            out->data[mark] = '\0';
        return rc == BUF_ETOOBIG ? ALERT_ETOOBIG : ALERT_ENOMEM;
    }
    return ALERT_OK;
}

const char *alert_strerror(int rc)
{
    switch (rc) {
    case ALERT_OK: return "ok";
    case ALERT_EINVAL: return "invalid alert";
    case ALERT_ETOOBIG: return "alert document over its size cap";
    case ALERT_ENOMEM: return "out of memory";
    default: return "unknown alert error";
    }
}
