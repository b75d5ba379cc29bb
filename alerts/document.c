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

/* Matched texts of the key fields one document lists (opts.same). */
#define RED_SAME_MAX 32
/* Matches taken from one field's value for that list. */
#define RED_SPANS_MAX 8
/* The alert's numbers, and the group values and sample fields that are
 * only digits. */
#define RED_KEEP_MAX (3 + ALERT_GROUP_MAX + 5)

/* The redaction of one document: the options, with the alert's numbers
 * as their keep list and what its key fields hold as the same list. */
struct red {
    struct redact_opts o;
    char num[3][40];
    const char *keep[RED_KEEP_MAX];
    struct redact_same same[RED_SAME_MAX];
    size_t nsame;
};

/* Text from the stream (group values, the key, the summary, sample
 * fields): redacted under `mode` (SPEC section 3: e-mail addresses, phone
 * numbers, SSNs, card numbers, tokens and API keys become
 * [REDACTED:<kind>], or [email#3f2a91] in hash mode) before it leaves.
 * `same`: a match that a key field holds takes that field's form. */
static int put_text(buf *b, struct red *r, const char *s,
                    enum redact_mode mode, int same)
{
    char red[2 * ALERT_SUMMARY_MAX];
    enum redact_mode base = r->o.mode;
    size_t n = 0;
    int rc;

    r->o.mode = mode;
    r->o.same = same ? r->same : NULL;
    r->o.nsame = same ? r->nsame : 0;
    rc = redact_opt(&r->o, s, strlen(s), red, sizeof red, &n, NULL);
    r->o.mode = base; /* the mode of fields without one of their own */
    if (rc != REDACT_OK && rc != REDACT_ETRUNC)
        return buf_append_str(b, "\"[REDACTED]\"");
    return buf_append_json_string(b, red, n);
}

/* a sample field ("record_id", ...) as member ,"name": (first: no
 * comma), null when empty */
static int put_opt(buf *b, struct red *r, const char *field, int first,
                   const char *v)
{
    int rc = buf_append_str(b, first ? "\"" : ",\"");

    rc = rc ? rc : buf_append_str(b, field);
    rc = rc ? rc : buf_append_str(b, "\":");
    if (rc == BUF_OK)
        rc = v[0] ? put_text(b, r, v, redact_field_mode(&r->o, field), 0)
                  : buf_append_str(b, "null");
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

static int put_sample(buf *b, struct red *r, const struct alert_sample *s)
{
    int rc;

    if (s == NULL)
        return buf_append_str(b, "{}");
    rc = buf_append_str(b, "{");
    rc = rc ? rc : put_opt(b, r, "record_id", 1, s->record_id);
    rc = rc ? rc : put_opt(b, r, "session_id", 0, s->session_id);
    rc = rc ? rc : put_opt(b, r, "agent_id", 0, s->agent_id);
    rc = rc ? rc : put_opt(b, r, "tool_name", 0, s->tool_name);
    rc = rc ? rc : buf_append_str(b, ",\"event_type\":");
    if (rc == BUF_OK) {
        rc = s->event_type == EVENT_TYPE_UNKNOWN
                 ? buf_append_str(b, "null")
                 : put_str(b, event_type_name(s->event_type));
    }
    rc = rc ? rc : put_opt(b, r, "error_code", 0, s->error_code);
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
 * values are redacted under their field's mode when they come from the
 * stream (r not NULL) */
static int put_pairs(buf *b, struct red *r, const struct alert_pair *p,
                     uint32_t n)
{
    int rc = buf_append_str(b, "{");

    for (uint32_t i = 0; rc == BUF_OK && i < n; i++) {
        rc = i ? buf_append_str(b, ",") : BUF_OK;
        rc = rc ? rc : put_str(b, p[i].name);
        rc = rc ? rc : buf_append_str(b, ":");
        if (rc == BUF_OK)
            rc = r != NULL ? put_text(b, r, p[i].value,
                                      redact_field_mode(&r->o, p[i].name),
                                      0)
                           : put_str(b, p[i].value);
    }
    return rc ? rc : buf_append_str(b, "}");
}

int alert_format(const struct alert *a, buf *out)
{
    return alert_format_opt(a, NULL, out);
}

/* A value of only digits is a number (an id, a count): never a card. */
static int digits_only(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Key field `v` (a group value, a sample field) under `mode`: a number
 * joins the keep list; each match it holds joins the same list with the
 * mode (a text two fields hold under two modes takes the stronger). */
static void red_key_field(struct red *r, const char *v, enum redact_mode mode)
{
    struct redact_span sp[RED_SPANS_MAX];
    size_t n;

    if (v == NULL || v[0] == '\0')
        return;
    if (digits_only(v)) {
        if (r->o.nkeep < RED_KEEP_MAX)
            r->keep[r->o.nkeep++] = v;
        return;
    }
    n = redact_spans(&r->o, v, strlen(v), sp, RED_SPANS_MAX);
    for (size_t i = 0; i < n && i < RED_SPANS_MAX; i++) {
        size_t k = 0;

        while (k < r->nsame &&
               (r->same[k].len != sp[i].len ||
                memcmp(r->same[k].text, v + sp[i].start, sp[i].len) != 0))
            k++;
        if (k < r->nsame) {
            if ((unsigned)mode < r->same[k].mode)
                r->same[k].mode = (unsigned char)mode;
        } else if (r->nsame < RED_SAME_MAX) {
            r->same[r->nsame].text = v + sp[i].start;
            r->same[r->nsame].len = sp[i].len;
            r->same[r->nsame].mode = (unsigned char)mode;
            r->nsame++;
        }
    }
}

/* r for alert a under o: the number texts exactly as put_num() writes
 * value, threshold and window_s, and what the key fields hold.  Key
 * fields are read whole before anything is written, so a value looks the
 * same in the group, the key, the summary and the sample. */
static void red_init(struct red *r, const struct alert *a,
                     const struct redact_opts *o)
{
    const struct alert_sample *s = a->sample;
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
    r->o.same = NULL;
    r->o.nsame = 0;
    r->nsame = 0;
    for (uint32_t i = 0; i < a->ngroup; i++)
        red_key_field(r, a->group[i].value,
                      redact_field_mode(&r->o, a->group[i].name));
    if (s != NULL) {
        red_key_field(r, s->record_id, redact_field_mode(&r->o, "record_id"));
        red_key_field(r, s->session_id,
                      redact_field_mode(&r->o, "session_id"));
        red_key_field(r, s->agent_id, redact_field_mode(&r->o, "agent_id"));
        red_key_field(r, s->tool_name, redact_field_mode(&r->o, "tool_name"));
        red_key_field(r, s->error_code,
                      redact_field_mode(&r->o, "error_code"));
    }
}

/* The key's own mode: the strongest of the group fields' (it is their
 * values joined); opts.mode without a group. */
static enum redact_mode key_mode(const struct red *r, const struct alert *a)
{
    enum redact_mode m = a->ngroup > 0 ? REDACT_MODE_OFF : r->o.mode;

    for (uint32_t i = 0; i < a->ngroup; i++) {
        enum redact_mode g = redact_field_mode(&r->o, a->group[i].name);
        if (g < m)
            m = g;
    }
    return m;
}

int alert_format_opt(const struct alert *a, const struct redact_opts *o,
                     buf *out)
{
    size_t mark = out->len;
    enum redact_mode key, summary;
    struct red r;
    int rc;

    if (a == NULL || a->rule == NULL || a->kind == NULL || a->key == NULL ||
        a->severity == NULL || a->summary == NULL || a->source == NULL ||
        a->ngroup > ALERT_GROUP_MAX || a->nlabels > ALERT_LABELS_MAX)
        return ALERT_EINVAL;
    red_init(&r, a, o);
    key = key_mode(&r, a);
    summary = redact_field_mode(&r.o, "summary");
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
    rc = rc ? rc : put_pairs(out, &r, a->group, a->ngroup);
    rc = rc ? rc : buf_append_str(out, ",\"key\":");
    rc = rc ? rc : put_text(out, &r, a->key, key, 1);
    rc = rc ? rc : buf_append_str(out, a->resolved
                                           ? ",\"state\":\"resolved\""
                                           : ",\"state\":\"firing\"");
    rc = rc ? rc : buf_append_str(out, ",\"severity\":");
    rc = rc ? rc : put_str(out, a->severity);
    rc = rc ? rc : buf_append_str(out, ",\"summary\":");
    rc = rc ? rc : put_text(out, &r, a->summary, summary, 1);
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
    rc = rc ? rc : put_pairs(out, NULL, a->labels, a->nlabels);
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
