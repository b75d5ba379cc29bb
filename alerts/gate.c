/*
 * gate.c - the notification gate (see gate.h).
 *
 * Episodes live in a chained hash table keyed by episode id (FNV-1a of
 * the id; ids are BLAKE2b hex, so chains stay short).  Each episode owns
 * one block of its strings (rule, key, severity, group and label names
 * and values), so that it can be matched against silences and routed
 * again long after the alert that opened it is gone, and, while its
 * firing is held, that firing's document.
 *
 * Invariants:
 *  - n equals the episodes in the table, n <= max;
 *  - held_bytes is the sum of the held documents' lengths, <=
 *    GATE_HELD_MAX; an episode holds a document iff its firing has not
 *    gone out (fired == 0);
 *  - dirty is set by every change the file must hold, cleared only by a
 *    write that succeeded;
 *  - everything read from the file is checked (types, sizes, counts, id
 *    format, duplicates) before an episode is made of it; a file that
 *    fails any check is refused whole.
 */
#include "alerts/gate.h"

#include "alerts/document.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 16384u /* a power of two */

struct ep {
    struct ep *next;                 /* hash chain */
    char id[ALERT_ID_HEX + 1];
    char *blob;                      /* the strings below point into it */
    const char *rule, *key, *severity;
    uint32_t ngroup, nlabels;
    struct alert_pair group[ALERT_GROUP_MAX];
    struct alert_pair labels[ALERT_LABELS_MAX];
    int64_t started_ms, last_seen_ms;
    int fired;                       /* its firing went out */
    char acked_by[GATE_BY_MAX];      /* "": not acknowledged */
    int64_t acked_ms;
    char *ack_comment;               /* NULL: none */
    char *held;                      /* the held firing (fired == 0) */
    size_t held_len;
    int64_t held_ms;                 /* when it was made */
    uint64_t src_mask, tgt_mask;     /* bit r: matches rule r's side */
    char inhibited_by[ALERT_ID_HEX + 1]; /* last inhibitor found, or "" */
    uint64_t inhibit_gen;            /* the rules it was found under */
};

struct gate {
    char *dir;                       /* NULL: memory only */
    uint32_t max;
    struct ep *buckets[BUCKETS];
    uint32_t n;
    size_t held_bytes;
    int dirty;
    struct gate_stats st;
    struct gate_inhibit *rules;      /* nrules of them */
    uint32_t nrules;
    uint64_t rules_gen;              /* bumped by gate_set_inhibit */
    uint32_t nsources;               /* episodes with a src_mask */
};

/* ---- episodes ------------------------------------------------------- */

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id != '\0'; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (BUCKETS - 1);
}

static struct ep **slot_of(gate *g, const char *id)
{
    struct ep **p = &g->buckets[hash_id(id)];

    while (*p != NULL && strcmp((*p)->id, id) != 0)
        p = &(*p)->next;
    return p;
}

static const struct ep *find(const gate *g, const char *id)
{
    return *slot_of((gate *)g, id);
}

static void ep_free(struct ep *e)
{
    if (e == NULL)
        return;
    free(e->blob);
    free(e->ack_comment);
    free(e->held);
    free(e);
}

/* Is s a text the gate keeps (not NULL, shorter than GATE_TEXT_MAX)? */
static int text_fits(const char *s)
{
    return s != NULL && strnlen(s, GATE_TEXT_MAX) < GATE_TEXT_MAX;
}

/* Append s and its NUL at *at in blob; returns where it went. */
static const char *put(char *blob, size_t *at, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = blob + *at;

    memcpy(p, s, n);
    *at += n;
    return p;
}

/* A new episode for a's id, rule, key, severity, group, labels and
 * start, its strings in one block.  NULL when a string does not fit
 * GATE_TEXT_MAX (*why "too long") or memory runs out. */
static struct ep *ep_new(const struct alert *a)
{
    uint32_t ng = a->ngroup < ALERT_GROUP_MAX ? a->ngroup : ALERT_GROUP_MAX;
    uint32_t nl = a->nlabels < ALERT_LABELS_MAX ? a->nlabels
                                                : ALERT_LABELS_MAX;
    size_t need = 0, at = 0;
    struct ep *e = NULL;

    if (!text_fits(a->rule) || !text_fits(a->key) ||
        !text_fits(a->severity) || strlen(a->id) != ALERT_ID_HEX)
        return NULL;
    need = strlen(a->rule) + strlen(a->key) + strlen(a->severity) + 3;
    for (uint32_t i = 0; i < ng; i++) {
        if (!text_fits(a->group[i].name) || !text_fits(a->group[i].value))
            return NULL;
        need += strlen(a->group[i].name) + strlen(a->group[i].value) + 2;
    }
    for (uint32_t i = 0; i < nl; i++) {
        if (!text_fits(a->labels[i].name) || !text_fits(a->labels[i].value))
            return NULL;
        need += strlen(a->labels[i].name) + strlen(a->labels[i].value) + 2;
    }
    if ((e = calloc(1, sizeof *e)) == NULL ||
        (e->blob = malloc(need)) == NULL) {
        ep_free(e);
        return NULL;
    }
    memcpy(e->id, a->id, sizeof e->id);
    e->rule = put(e->blob, &at, a->rule);
    e->key = put(e->blob, &at, a->key);
    e->severity = put(e->blob, &at, a->severity);
    for (uint32_t i = 0; i < ng; i++) {
        e->group[i].name = put(e->blob, &at, a->group[i].name);
        e->group[i].value = put(e->blob, &at, a->group[i].value);
    }
    for (uint32_t i = 0; i < nl; i++) {
        e->labels[i].name = put(e->blob, &at, a->labels[i].name);
        e->labels[i].value = put(e->blob, &at, a->labels[i].value);
    }
    e->ngroup = ng;
    e->nlabels = nl;
    e->started_ms = a->started_ms;
    return e;
}

/* The alert an episode stands for (a firing), for matching and routing. */
static void ep_alert(const struct ep *e, struct alert *a)
{
    memset(a, 0, sizeof *a);
    memcpy(a->id, e->id, sizeof a->id);
    a->rule = e->rule;
    a->key = e->key;
    a->severity = e->severity;
    a->ngroup = e->ngroup;
    memcpy(a->group, e->group, sizeof a->group);
    a->nlabels = e->nlabels;
    memcpy(a->labels, e->labels, sizeof a->labels);
    a->started_ms = e->started_ms;
    a->timestamp_ms = e->held_ms;
}

/* Which rules' source and target sides alert a matches. */
static void masks_of(const gate *g, const struct alert *a, uint64_t *src,
                     uint64_t *tgt)
{
    *src = *tgt = 0;
    for (uint32_t r = 0; r < g->nrules; r++) {
        const struct gate_inhibit *ir = &g->rules[r];

        if (silence_matchers_match(ir->source, ir->nsource, a))
            *src |= 1ull << r;
        if (silence_matchers_match(ir->target, ir->ntarget, a))
            *tgt |= 1ull << r;
    }
}

static void ep_masks(const gate *g, struct ep *e)
{
    struct alert a;

    ep_alert(e, &a);
    masks_of(g, &a, &e->src_mask, &e->tgt_mask);
    e->inhibited_by[0] = '\0';
}

static void insert(gate *g, struct ep *e)
{
    struct ep **head = &g->buckets[hash_id(e->id)];

    ep_masks(g, e);
    e->next = *head;
    *head = e;
    g->n++;
    g->held_bytes += e->held_len;
    g->nsources += e->src_mask != 0;
}

/* Unlink the episode at *p and free it. */
static void remove_at(gate *g, struct ep **p)
{
    struct ep *e = *p;

    *p = e->next;
    g->n--;
    g->held_bytes -= e->held_len;
    g->nsources -= e->src_mask != 0;
    ep_free(e);
    g->dirty = 1;
}

/* The held firing goes: it went out, or gave way to a newer one. */
static void drop_held(gate *g, struct ep *e)
{
    g->held_bytes -= e->held_len;
    free(e->held);
    e->held = NULL;
    e->held_len = 0;
    e->fired = 1;
    g->dirty = 1;
}

/* ---- inhibition ----------------------------------------------------- */

/* Do a and b have the same values of rule ir's `equal` fields (a field
 * missing counts as "", as Alertmanager counts a missing label)? */
static int equal_ok(const struct gate_inhibit *ir, const struct alert *a,
                    const struct alert *b)
{
    for (uint32_t i = 0; i < ir->nequal; i++) {
        const char *va = silence_field_value(&ir->equal[i], a);
        const char *vb = silence_field_value(&ir->equal[i], b);

        if (strcmp(va != NULL ? va : "", vb != NULL ? vb : "") != 0)
            return 0;
    }
    return 1;
}

/* Does open episode s inhibit alert a (matching the rules' sides in src
 * and tgt)? */
static int inhibits(const gate *g, const struct ep *s, const struct alert *a,
                    uint64_t src, uint64_t tgt)
{
    uint64_t m = tgt & s->src_mask;
    struct alert sa;
    int built = 0;

    if (m == 0 || strcmp(s->id, a->id) == 0)
        return 0;
    for (uint32_t r = 0; r < g->nrules; r++) {
        if (!(m >> r & 1))
            continue;
        /* both match both sides: they would mute each other */
        if ((src >> r & 1) && (s->tgt_mask >> r & 1))
            continue;
        if (!built) {
            ep_alert(s, &sa);
            built = 1;
        }
        if (equal_ok(&g->rules[r], a, &sa))
            return 1;
    }
    return 0;
}

/* The open episode inhibiting alert a now, or NULL. */
static const struct ep *inhibitor(const gate *g, const struct alert *a)
{
    uint64_t src, tgt;

    if (g->nsources == 0)
        return NULL;
    masks_of(g, a, &src, &tgt);
    if (tgt == 0)
        return NULL;
    for (uint32_t b = 0; b < BUCKETS; b++)
        for (const struct ep *s = g->buckets[b]; s != NULL; s = s->next)
            if (inhibits(g, s, a, src, tgt))
                return s;
    return NULL;
}

/* The same for open episode e, the last one found kept: it inhibits as
 * long as it is open and the rules are the same. */
static const struct ep *ep_inhibitor(gate *g, struct ep *e)
{
    const struct ep *s;
    struct alert a;

    if (e->inhibited_by[0] != '\0' && e->inhibit_gen == g->rules_gen &&
        (s = find(g, e->inhibited_by)) != NULL)
        return s;
    e->inhibited_by[0] = '\0';
    if (e->tgt_mask == 0 || g->nsources == 0)
        return NULL;
    ep_alert(e, &a);
    if ((s = inhibitor(g, &a)) != NULL) {
        memcpy(e->inhibited_by, s->id, sizeof e->inhibited_by);
        e->inhibit_gen = g->rules_gen;
    }
    return s;
}

int gate_set_inhibit(gate *g, const struct gate_inhibit *rules, size_t n)
{
    struct gate_inhibit *copy = NULL;

    if (n > GATE_INHIBIT_MAX)
        return GATE_EINVAL;
    if (n > 0 && (copy = malloc(n * sizeof *copy)) == NULL)
        return GATE_ENOMEM;
    if (n > 0)
        memcpy(copy, rules, n * sizeof *copy);
    free(g->rules);
    g->rules = copy;
    g->nrules = (uint32_t)n;
    g->rules_gen++;
    g->nsources = 0;
    for (uint32_t b = 0; b < BUCKETS; b++)
        for (struct ep *e = g->buckets[b]; e != NULL; e = e->next) {
            ep_masks(g, e);
            g->nsources += e->src_mask != 0;
        }
    return GATE_OK;
}

/* ---- deciding ------------------------------------------------------- */

static int decide_new(gate *g, const struct alert *a, const char *doc,
                      size_t len, const struct silence *sil,
                      const struct ep *inh, int64_t now_ms,
                      struct gate_decision *d)
{
    struct ep *e;
    char *held = NULL;
    int hold = sil != NULL || inh != NULL;

    if (g->n >= g->max ||
        (hold && (doc == NULL || len > GATE_HELD_MAX - g->held_bytes)) ||
        (e = ep_new(a)) == NULL) {
        g->st.untracked++;
        LOG(LOG_WARN, "gate", "episode %s of %s is not tracked (%u open, "
            "%zu bytes held): its notifications go out ungated", a->id,
            a->rule, (unsigned)g->n, g->held_bytes);
        return GATE_OK;
    }
    e->last_seen_ms = now_ms;
    if (hold) {
        if ((held = malloc(len > 0 ? len : 1)) == NULL) {
            ep_free(e);
            return GATE_ENOMEM;
        }
        memcpy(held, doc, len);
        e->held = held;
        e->held_len = len;
        e->held_ms = a->timestamp_ms;
        if (sil != NULL) {
            d->verdict = GATE_SILENCED;
            memcpy(d->silence_id, sil->id, sizeof d->silence_id);
        } else {
            d->verdict = GATE_INHIBITED;
            memcpy(d->inhibited_by, inh->id, sizeof d->inhibited_by);
        }
    } else {
        e->fired = 1;
    }
    insert(g, e);
    if (inh != NULL) {
        memcpy(e->inhibited_by, inh->id, sizeof e->inhibited_by);
        e->inhibit_gen = g->rules_gen;
    }
    g->dirty = 1;
    return GATE_OK;
}

int gate_decide(gate *g, const struct alert *a, const char *doc, size_t len,
                const silence_store *ss, int64_t now_ms,
                struct gate_decision *d)
{
    struct ep **p = slot_of(g, a->id), *e = *p;
    const struct silence *sil;
    const struct ep *inh = NULL;
    int rc = GATE_OK;

    memset(d, 0, sizeof *d);
    d->verdict = GATE_SEND;
    if (a->resolved) {
        /* unknown: its firing went out before the gate knew it */
        if (e != NULL) {
            if (!e->fired)
                d->verdict = GATE_UNFIRED;
            remove_at(g, p);
        }
        goto out;
    }
    sil = ss != NULL ? silence_store_match(ss, a, now_ms) : NULL;
    if (e == NULL) {
        if (sil == NULL)
            inh = inhibitor(g, a);
        rc = decide_new(g, a, doc, len, sil, inh, now_ms, d);
        goto out;
    }
    e->last_seen_ms = now_ms;
    g->dirty = 1;
    if (sil == NULL)
        inh = ep_inhibitor(g, e);
    if (sil != NULL) {
        d->verdict = GATE_SILENCED;
        memcpy(d->silence_id, sil->id, sizeof d->silence_id);
    } else if (inh != NULL) {
        d->verdict = GATE_INHIBITED;
        memcpy(d->inhibited_by, inh->id, sizeof d->inhibited_by);
    } else if (!e->fired) {
        /* the silence ended before gate_tick() saw it: this repeat goes
         * out as the firing */
        drop_held(g, e);
        g->st.released++;
    } else if (e->acked_by[0] != '\0') {
        d->verdict = GATE_ACKED;
    }
out:
    if (d->verdict == GATE_SILENCED)
        g->st.silenced++;
    else if (d->verdict == GATE_ACKED)
        g->st.acked++;
    else if (d->verdict == GATE_UNFIRED)
        g->st.unfired++;
    else if (d->verdict == GATE_INHIBITED)
        g->st.inhibited++;
    return rc;
}

int gate_tick(gate *g, const silence_store *ss, int64_t now_ms,
              gate_release_fn release, void *ud)
{
    int released = 0;

    for (uint32_t b = 0; b < BUCKETS; b++) {
        struct ep **p = &g->buckets[b];

        while (*p != NULL) {
            struct ep *e = *p;
            struct alert a;

            if (now_ms - e->last_seen_ms > GATE_STALE_MS) {
                LOG(LOG_INFO, "gate", "episode %s of %s forgotten: no "
                    "notification for %lld days", e->id, e->rule,
                    (long long)(GATE_STALE_MS / 86400000));
                g->st.stale++;
                remove_at(g, p);
                continue;
            }
            if (!e->fired) {
                ep_alert(e, &a);
                if ((ss == NULL ||
                     silence_store_match(ss, &a, now_ms) == NULL) &&
                    ep_inhibitor(g, e) == NULL) {
                    release(ud, &a, e->held, e->held_len);
                    drop_held(g, e);
                    g->st.released++;
                    released++;
                }
            }
            p = &e->next;
        }
    }
    return released;
}

/* ---- acknowledgement and what /status shows ------------------------- */

static void fill_info(const struct ep *e, struct gate_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->acked_by, e->acked_by, sizeof out->acked_by);
    out->acked_ms = e->acked_ms;
    if (e->ack_comment != NULL)
        snprintf(out->ack_comment, sizeof out->ack_comment, "%s",
                 e->ack_comment);
    out->fired = e->fired;
}

int gate_ack(gate *g, const char *id, const char *by, const char *comment,
             int64_t now_ms, struct gate_info *out)
{
    struct ep *e = *slot_of(g, id);
    char *c = NULL;
    int rc = GATE_OK;

    if (e == NULL)
        return GATE_ENOENT;
    if (e->acked_by[0] != '\0')
        goto out;
    if (by == NULL || !silence_text_ok(by, GATE_BY_MAX, 0) ||
        (comment != NULL && comment[0] != '\0' &&
         !silence_text_ok(comment, GATE_COMMENT_MAX, 1)))
        return GATE_EINVAL;
    if (comment != NULL && comment[0] != '\0' &&
        (c = strdup(comment)) == NULL)
        return GATE_ENOMEM;
    snprintf(e->acked_by, sizeof e->acked_by, "%s", by);
    e->acked_ms = now_ms;
    e->ack_comment = c;
    g->dirty = 1;
    if ((rc = gate_flush(g)) != GATE_OK) {
        e->acked_by[0] = '\0';
        e->acked_ms = 0;
        e->ack_comment = NULL;
        free(c);
        return rc;
    }
out:
    if (out != NULL)
        fill_info(e, out);
    return rc;
}

int gate_info(const gate *g, const char *id, const silence_store *ss,
              int64_t now_ms, struct gate_info *out)
{
    const struct ep *e = find(g, id), *inh;
    const struct silence *sil;
    struct alert a;

    if (e == NULL)
        return GATE_ENOENT;
    fill_info(e, out);
    ep_alert(e, &a);
    if (ss != NULL && (sil = silence_store_match(ss, &a, now_ms)) != NULL)
        memcpy(out->silenced_by, sil->id, sizeof out->silenced_by);
    if ((inh = inhibitor(g, &a)) != NULL)
        memcpy(out->inhibited_by, inh->id, sizeof out->inhibited_by);
    return GATE_OK;
}

void gate_stats(const gate *g, struct gate_stats *out)
{
    *out = g->st;
    out->open = g->n;
    out->held = 0;
    out->acks = 0;
    for (uint32_t b = 0; b < BUCKETS; b++)
        for (const struct ep *e = g->buckets[b]; e != NULL; e = e->next) {
            out->held += !e->fired;
            out->acks += e->acked_by[0] != '\0';
        }
}

/* ---- the file ------------------------------------------------------- */

static void w_num(buf_writer *w, const char *key, int64_t v)
{
    char t[48];

    snprintf(t, sizeof t, ",\"%s\":%lld", key, (long long)v);
    buf_w_raw(w, t);
}

/* ,"key":"s" or ,"key":null */
static void w_member(buf_writer *w, const char *key, const char *s, size_t n)
{
    buf_w_raw(w, ",\"");
    buf_w_raw(w, key);
    buf_w_raw(w, "\":");
    if (s == NULL)
        buf_w_raw(w, "null");
    else
        buf_w_json(w, s, n);
}

static void w_pairs(buf_writer *w, const char *key, const struct alert_pair *p,
                    uint32_t n)
{
    buf_w_raw(w, ",\"");
    buf_w_raw(w, key);
    buf_w_raw(w, "\":[");
    for (uint32_t i = 0; i < n; i++) {
        buf_w_raw(w, i ? ",[" : "[");
        buf_w_json(w, p[i].name, strlen(p[i].name));
        buf_w_raw(w, ",");
        buf_w_json(w, p[i].value, strlen(p[i].value));
        buf_w_raw(w, "]");
    }
    buf_w_raw(w, "]");
}

static void w_episode(buf_writer *w, const struct ep *e)
{
    buf_w_raw(w, "{\"id\":");
    buf_w_json(w, e->id, strlen(e->id));
    w_member(w, "rule", e->rule, strlen(e->rule));
    w_member(w, "key", e->key, strlen(e->key));
    w_member(w, "severity", e->severity, strlen(e->severity));
    w_num(w, "started_ms", e->started_ms);
    w_num(w, "last_seen_ms", e->last_seen_ms);
    w_pairs(w, "group", e->group, e->ngroup);
    w_pairs(w, "labels", e->labels, e->nlabels);
    buf_w_raw(w, e->fired ? ",\"fired\":true" : ",\"fired\":false");
    w_member(w, "acked_by", e->acked_by[0] ? e->acked_by : NULL,
             strlen(e->acked_by));
    w_num(w, "acked_ms", e->acked_ms);
    w_member(w, "ack_comment", e->ack_comment,
             e->ack_comment ? strlen(e->ack_comment) : 0);
    w_num(w, "held_ms", e->held_ms);
    w_member(w, "doc", e->held, e->held_len);
    buf_w_raw(w, "}");
}

int gate_flush(gate *g)
{
    buf_writer w;
    buf b;
    int rc = GATE_OK, first = 1;

    if (!g->dirty || g->dir == NULL) {
        g->dirty = 0;
        return GATE_OK;
    }
    buf_init(&b, GATE_FILE_MAX);
    w.b = &b;
    w.rc = BUF_OK;
    buf_w_raw(&w, "{\"version\":1,\"episodes\":[");
    for (uint32_t k = 0; k < BUCKETS; k++)
        for (const struct ep *e = g->buckets[k]; e != NULL; e = e->next) {
            buf_w_raw(&w, first ? "\n" : ",\n");
            w_episode(&w, e);
            first = 0;
        }
    buf_w_raw(&w, "]}\n");
    if (w.rc != BUF_OK) {
        LOG(LOG_ERROR, "gate", "cannot write %s/%s: %s", g->dir, GATE_FILE,
            w.rc == BUF_ETOOBIG ? "too large" : "out of memory");
        rc = GATE_EIO;
    } else if (file_replace(g->dir, GATE_FILE, b.data, b.len) != FILE_OK) {
        LOG(LOG_ERROR, "gate", "cannot write %s/%s: %s", g->dir, GATE_FILE,
            strerror(errno));
        rc = GATE_EIO;
    } else {
        g->dirty = 0;
    }
    buf_free(&b);
    return rc;
}

/* ---- loading -------------------------------------------------------- */

/* A string member `key` of o of 0 < length < max (nullable: may be
 * null, then NULL); *ok cleared otherwise. */
static const char *j_str(const cJSON *o, const char *key, size_t max,
                         int nullable, int *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (nullable && cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v) || strnlen(v->valuestring, max) >= max) {
        *ok = 0;
        return NULL;
    }
    return v->valuestring;
}

/* An integer member in [0, 2^53]; *ok cleared otherwise. */
static int64_t j_int(const cJSON *o, const char *key, int *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
        v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != floor(v->valuedouble)) {
        *ok = 0;
        return 0;
    }
    return (int64_t)v->valuedouble;
}

/* A list of [name, value] pairs, at most max, into p. */
static uint32_t j_pairs(const cJSON *o, const char *key, struct alert_pair *p,
                        uint32_t max, int *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;
    uint32_t n = 0;

    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > (int)max) {
        *ok = 0;
        return 0;
    }
    cJSON_ArrayForEach(e, v) {
        const cJSON *name = cJSON_GetArrayItem(e, 0);
        const cJSON *value = cJSON_GetArrayItem(e, 1);

        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 ||
            !cJSON_IsString(name) || !cJSON_IsString(value)) {
            *ok = 0;
            return 0;
        }
        p[n].name = name->valuestring;
        p[n].value = value->valuestring;
        n++;
    }
    return n;
}

/* One episode of the file, checked whole; NULL with *why. */
static struct ep *load_episode(gate *g, const cJSON *o, const char **why)
{
    static const char *const keys[] = {"id", "rule", "key", "severity",
        "started_ms", "last_seen_ms", "group", "labels", "fired",
        "acked_by", "acked_ms", "ack_comment", "held_ms", "doc"};
    const cJSON *fired = cJSON_GetObjectItemCaseSensitive(o, "fired");
    const char *id, *by, *comment, *doc;
    struct alert a;
    struct ep *e = NULL;
    int ok = 1;

    *why = "a bad episode";
    if (!cJSON_IsObject(o) ||
        cJSON_GetArraySize(o) != (int)(sizeof keys / sizeof keys[0]))
        return NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!cJSON_HasObjectItem(o, keys[i]))
            return NULL;
    memset(&a, 0, sizeof a);
    id = j_str(o, "id", ALERT_ID_HEX + 1, 0, &ok);
    a.rule = j_str(o, "rule", GATE_TEXT_MAX, 0, &ok);
    a.key = j_str(o, "key", GATE_TEXT_MAX, 0, &ok);
    a.severity = j_str(o, "severity", GATE_TEXT_MAX, 0, &ok);
    a.started_ms = j_int(o, "started_ms", &ok);
    a.ngroup = j_pairs(o, "group", a.group, ALERT_GROUP_MAX, &ok);
    a.nlabels = j_pairs(o, "labels", a.labels, ALERT_LABELS_MAX, &ok);
    by = j_str(o, "acked_by", GATE_BY_MAX, 1, &ok);
    comment = j_str(o, "ack_comment", GATE_COMMENT_MAX, 1, &ok);
    doc = j_str(o, "doc", ALERT_DOC_MAX + 1, 1, &ok);
    if (!ok || !cJSON_IsBool(fired) || !silence_hex_ok(id, ALERT_ID_HEX) ||
        cJSON_IsTrue(fired) != (doc == NULL) ||
        (doc != NULL && doc[0] == '\0') ||
        (by != NULL && !silence_text_ok(by, GATE_BY_MAX, 0)) ||
        (comment != NULL && (by == NULL ||
                             !silence_text_ok(comment, GATE_COMMENT_MAX, 1))))
        return NULL;
    memcpy(a.id, id, sizeof a.id);
    if (find(g, id) != NULL) {
        *why = "an episode id twice";
        return NULL;
    }
    if ((e = ep_new(&a)) == NULL) {
        *why = "a bad episode (or out of memory)";
        return NULL;
    }
    e->last_seen_ms = j_int(o, "last_seen_ms", &ok);
    e->acked_ms = j_int(o, "acked_ms", &ok);
    e->held_ms = j_int(o, "held_ms", &ok);
    e->fired = doc == NULL;
    if (by != NULL)
        snprintf(e->acked_by, sizeof e->acked_by, "%s", by);
    if ((comment != NULL && (e->ack_comment = strdup(comment)) == NULL) ||
        (doc != NULL && (e->held = strdup(doc)) == NULL)) {
        *why = "out of memory";
        ep_free(e);
        return NULL;
    }
    e->held_len = doc != NULL ? strlen(doc) : 0;
    if (e->held_len > GATE_HELD_MAX - g->held_bytes) {
        *why = "more held documents than the gate holds";
        ep_free(e);
        return NULL;
    }
    return e;
}

static void clear(gate *g)
{
    for (uint32_t b = 0; b < BUCKETS; b++)
        while (g->buckets[b] != NULL)
            remove_at(g, &g->buckets[b]);
    g->dirty = 0;
}

/* Parse the file's text into the gate (empty on entry): a
 * file_parse_fn.  Returns 0, or -1 with the reason in why (the gate is
 * left empty). */
static int parse_file(void *ud, const char *text, size_t len, char *why,
                      size_t whysz)
{
    gate *g = ud;
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *v, *list, *o;
    const char *reason = "not {\"version\": 1, \"episodes\": [...]}";
    int rc = -1;

    if (!cJSON_IsObject(root) || cJSON_GetArraySize(root) != 2)
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "version");
    list = cJSON_GetObjectItemCaseSensitive(root, "episodes");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1 || !cJSON_IsArray(list))
        goto out;
    cJSON_ArrayForEach(o, list) {
        struct ep *e;

        if (g->n >= g->max) {
            reason = "more episodes than the gate keeps";
            goto out;
        }
        if ((e = load_episode(g, o, &reason)) == NULL)
            goto out;
        insert(g, e);
    }
    rc = 0;
out:
    if (rc != 0) {
        snprintf(why, whysz, "%s", reason);
        clear(g);
    }
    cJSON_Delete(root);
    return rc;
}

static void load(gate *g)
{
    char why[256];
    int aside = 0;

    if (g->dir == NULL)
        return;
    switch (file_load(g->dir, GATE_FILE, GATE_FILE_MAX, parse_file, g, why,
                      sizeof why, &aside)) {
    case FILE_OK:
        LOG(LOG_INFO, "gate", "%u open episodes loaded from %s/%s",
            (unsigned)g->n, g->dir, GATE_FILE);
        break;
    case FILE_ENOENT:
        break;
    default:
        LOG(LOG_ERROR, "gate", "%s/%s refused (%s): starting with no "
            "episode bookkeeping (silences and acks do not apply to the "
            "episodes open now); %s", g->dir, GATE_FILE, why,
            aside ? "the file is kept as " GATE_FILE ".bad"
                  : "it could not be set aside");
        break;
    }
}

/* ---- life cycle ----------------------------------------------------- */

gate *gate_create(const struct gate_options *o)
{
    gate *g = calloc(1, sizeof *g);

    if (g == NULL)
        return NULL;
    g->max = o->max_episodes ? o->max_episodes : GATE_MAX_EPISODES;
    if (o->state_dir != NULL && (g->dir = strdup(o->state_dir)) == NULL) {
        free(g);
        return NULL;
    }
    load(g);
    return g;
}

void gate_destroy(gate *g)
{
    if (g == NULL)
        return;
    clear(g);
    free(g->rules);
    free(g->dir);
    free(g);
}

const char *gate_verdict_name(enum gate_verdict v)
{
    switch (v) {
    case GATE_SEND:
        return "sent";
    case GATE_SILENCED:
        return "silenced";
    case GATE_ACKED:
        return "acked";
    case GATE_UNFIRED:
        return "unfired";
    case GATE_INHIBITED:
        return "inhibited";
    }
    return "unknown";
}

const char *gate_strerror(int rc)
{
    switch (rc) {
    case GATE_OK:
        return "ok";
    case GATE_ENOENT:
        return "no open episode with that id";
    case GATE_EINVAL:
        return "a bad name or comment";
    case GATE_EIO:
        return "the episodes file cannot be written";
    case GATE_ENOMEM:
        return "out of memory";
    }
    return "unknown gate error";
}
