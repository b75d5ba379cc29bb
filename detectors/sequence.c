/*
 * sequence.c - ordered steps within a time limit, per group (see
 * sequence.h for the semantics and the memory per group).
 *
 * Invariants after each event at time t (the group's newest):
 *   - chain m, when present, holds times at[m][0] <= ... <= at[m][m] of
 *     m + 1 distinct events, in the order fed, that met steps 1..m+1, all
 *     after the last event that fired, with at[m][0] >= t - within;
 *   - no such set of events (meeting steps 1..m+1, in order, after the
 *     last firing) has a later first time than at[m][0].
 */
#include "detectors/sequence.h"

#include "base/buf.h"
#include "detectors/checkpoint.h"
#include "detectors/kind.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define NONE INT64_MIN

static int64_t *chain(sequence_state *st, unsigned m)
{
    return st->at + m * (m + 1) / 2;
}

int sequence_spec_init(sequence_spec *s, unsigned steps, int64_t within_ms)
{
    if (steps < SEQUENCE_MIN_STEPS || steps > SEQUENCE_MAX_STEPS ||
        within_ms < 0 || within_ms > SEQUENCE_MAX_WITHIN_MS)
        return SEQUENCE_EINVAL;
    s->steps = steps;
    s->within_ms = within_ms;
    s->tag_size = 0;
    s->tag_off = sizeof(sequence_state) +
                 (size_t)steps * (steps - 1) / 2 * sizeof(int64_t);
    s->size = s->tag_off;
    return SEQUENCE_OK;
}

void sequence_spec_tag(sequence_spec *s, size_t tag_size)
{
    s->tag_size = (tag_size + 7) & ~(size_t)7;
    s->size = s->tag_off + (s->steps - 1) * s->tag_size;
}

/* Chain m's tag. */
static unsigned char *tag_of(const sequence_spec *s, sequence_state *st,
                             unsigned m)
{
    return (unsigned char *)st + s->tag_off + m * s->tag_size;
}

static void drop_chains(const sequence_spec *s, sequence_state *st)
{
    for (unsigned m = 0; m + 1 < s->steps; m++)
        chain(st, m)[0] = NONE;
}

void sequence_reset(const sequence_spec *s, sequence_state *st)
{
    st->last = NONE;
    st->fired = NONE;
    drop_chains(s, st);
}

int sequence_feed(const sequence_spec *s, sequence_state *st, int64_t now_ms,
                  int64_t t_ms, unsigned mask, struct sequence_fire *out)
{
    return sequence_feed_tagged(s, st, now_ms, t_ms, mask, NULL, out);
}

int sequence_feed_tagged(const sequence_spec *s, sequence_state *st,
                         int64_t now_ms, int64_t t_ms, unsigned mask,
                         const void *tag, struct sequence_fire *out)
{
    unsigned k = s->steps;
    int64_t *c, first;

    if (t_ms > now_ms)
        t_ms = now_ms;
    /* a chain starts at its first step's own time (late too), never
     * before the last completed sequence; the other steps in the order
     * fed */
    first = st->fired != NONE && t_ms < st->fired ? st->fired : t_ms;
    if (t_ms < st->last)
        t_ms = st->last;
    st->last = t_ms;
    mask &= (1u << k) - 1;
    if (mask == 0)
        return SEQUENCE_OK;
    for (unsigned m = 0; m + 1 < k; m++) {
        c = chain(st, m);
        if (c[0] != NONE && c[0] < t_ms - s->within_ms)
            c[0] = NONE;
    }
    /* the last step completes the newest chain that met all the others */
    c = chain(st, k - 2);
    if ((mask >> (k - 1) & 1) && c[0] != NONE) {
        out->steps = k;
        out->first_ms = c[0];
        memcpy(out->step_ms, c, (k - 1) * sizeof(int64_t));
        out->step_ms[k - 1] = t_ms;
        out->first_tag = s->tag_size > 0 ? tag_of(s, st, k - 2) : NULL;
        st->fired = t_ms;
        drop_chains(s, st);
        return SEQUENCE_FIRED;
    }
    /* later steps first: the event extends each chain by one step */
    for (unsigned m = k - 2; m >= 1; m--) {
        int64_t *from = chain(st, m - 1);
        c = chain(st, m);
        if ((mask >> m & 1) && from[0] != NONE &&
            (c[0] == NONE || from[0] >= c[0])) {
            memcpy(c, from, m * sizeof(int64_t));
            c[m] = t_ms;
            if (s->tag_size > 0)
                memcpy(tag_of(s, st, m), tag_of(s, st, m - 1), s->tag_size);
        }
    }
    /* a first step older than the newest chain's start is not newer */
    c = chain(st, 0);
    if ((mask & 1) && (c[0] == NONE || first >= c[0])) {
        c[0] = first;
        if (s->tag_size > 0) {
            if (tag != NULL)
                memcpy(tag_of(s, st, 0), tag, s->tag_size);
            else
                memset(tag_of(s, st, 0), 0, s->tag_size);
        }
    }
    return SEQUENCE_OK;
}

/* ---- the `sequence` rule kind (kind.h) ---------------------------------
 * Each event the rule sees (its match applies to every step too) gives
 * the bitmask of the steps it meets; a completed sequence fires, with
 * value = seconds from the first step to the last, threshold = within_s;
 * the group clears window_s after its last completed sequence.  Each
 * chain carries the tool name (or event type) of its first step's event
 * as its tag, for the alert's words.  Memory per group: sequence_spec.size
 * with a 64-byte tag: 88 bytes for 2 steps, 168 for 3, 256 for 4, 352 for
 * 5 (sequence.h).
 */

#define SEQ_TAG 64 /* a chain's tag: a NUL-terminated name */
#define SEQ_EVAL_SEEN 0xff /* a step whose match is the rule's */

/* The match as text (match_dump), or NULL when out of memory. */
static char *match_text(const struct match *m, const struct match_meta *meta)
{
    cJSON *j = NULL;
    char *text = NULL;

    if (match_dump(m, meta, &j) == MATCH_OK)
        text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

/* Each step's match is evaluated once an event: a step whose match is
 * the same as an earlier step's (match_dump's text: it compiles to the
 * same match) takes that step's result, and a step whose match is the
 * rule's own is met by every event the rule sees.  Out of memory, a step
 * is evaluated on its own. */
static void plan_steps(struct det_rule *r)
{
    const struct rule_params *p = &r->rule->p;
    char *text[SEQUENCE_MAX_STEPS], *seen;

    seen = match_text(&r->rule->match, p->meta);
    for (uint32_t i = 0; i < p->nsteps; i++) {
        text[i] = match_text(&p->steps[i], p->meta);
        r->spec.seq_eval[i] = (uint8_t)i;
        if (text[i] == NULL)
            continue;
        if (seen != NULL && strcmp(text[i], seen) == 0) {
            r->spec.seq_eval[i] = SEQ_EVAL_SEEN;
            continue;
        }
        for (uint32_t j = 0; j < i; j++)
            if (text[j] != NULL && strcmp(text[i], text[j]) == 0) {
                r->spec.seq_eval[i] = r->spec.seq_eval[j];
                break;
            }
    }
    for (uint32_t i = 0; i < p->nsteps; i++)
        cJSON_free(text[i]);
    cJSON_free(seen);
}

static int kind_create(struct det_rule *r)
{
    if (sequence_spec_init(&r->spec.sequence, r->rule->p.nsteps,
                           r->rule->p.within_s * 1000) != SEQUENCE_OK)
        return -1;
    sequence_spec_tag(&r->spec.sequence, SEQ_TAG);
    r->stride = r->spec.sequence.size;
    plan_steps(r);
    return 0;
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    sequence_reset(&r->spec.sequence, det_state(r, slot));
}

/* The group's level: above while its last completed sequence is in (now -
 * window_s, now]. */
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    const sequence_state *st = det_state(r, slot);

    det_verdict_until(slot, r->alert[slot].value, now,
                      st->fired == INT64_MIN ? INT64_MIN
                                             : st->fired + r->window_ms,
                      v);
}

/* The name an event is known by in the alert: its tool, else its type. */
static const char *event_words(const struct event *ev)
{
    return ev->tool_name[0] ? ev->tool_name : event_type_name(ev->type);
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    const struct rule_params *p = &r->rule->p;
    struct sequence_fire f;
    char tag[SEQ_TAG];
    unsigned mask = 0;
    uint32_t slot;
    size_t n;

    for (uint32_t i = 0; i < p->nsteps; i++) {
        unsigned e = r->spec.seq_eval[i];

        if (e == SEQ_EVAL_SEEN ||
            (e < i ? (mask >> e & 1) != 0
                   : match_eval(&p->steps[i], in->ev) != 0))
            mask |= 1u << i;
    }
    if (mask == 0 || (slot = det_group(r, in)) == DET_NIL)
        return 0;
    r->counted++;
    if (mask & 1) { /* only a first-step event starts a chain: its tag */
        const char *w = event_words(in->ev);

        n = strnlen(w, sizeof tag - 1);
        memcpy(tag, w, n);
        memset(tag + n, 0, sizeof tag - n);
    }
    if (sequence_feed_tagged(&r->spec.sequence, det_state(r, slot),
                             in->now_ms, in->t_ms, mask,
                             (mask & 1) ? tag : NULL, &f) !=
        SEQUENCE_FIRED)
        return det_pinned(r, slot) ? (kind_tick(r, slot, in->now_ms, v), 1)
                                   : 0;
    kind_tick(r, slot, in->now_ms, v);
    v->value = (double)(f.step_ms[f.steps - 1] - f.first_ms) / 1000.0;
    v->text = f.first_tag;
    return 1;
}

/* "session sess-9f2 called vault_read_secret and then http_post 41 s
 * later" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    char g[DET_KEY_MAX + 64], secs[32];
    const char *last = a->sample.tool_name[0]
                           ? a->sample.tool_name
                           : event_type_name(a->sample.event_type);

    det_describe(r, a, 0, g, sizeof g);
    buf_format_number(a->value, secs, sizeof secs);
    if (resolved)
        snprintf(out, size,
                 "back to normal: %s%sno new completed sequence for %llds "
                 "(the last: %s and then %s %s s later)",
                 g, g[0] ? ": " : "", (long long)(r->window_ms / 1000),
                 a->text, last, secs);
    else if (r->rule->p.nsteps == 2)
        snprintf(out, size, "%s%scalled %s and then %s %s s later",
                 g[0] ? g : "", g[0] ? " " : "", a->text, last, secs);
    else
        snprintf(out, size,
                 "%s%scalled %s and then, in %u steps, %s %s s later",
                 g[0] ? g : "", g[0] ? " " : "", a->text,
                 (unsigned)r->rule->p.nsteps - 1, last, secs);
}

/* value: seconds from the first step to the last; threshold and window:
 * within_s */
static void kind_fill(const struct det_rule *r, const struct det_alert *a,
                      struct alert *al)
{
    (void)a;
    al->threshold = (double)r->rule->p.within_s;
    al->window_s = r->rule->p.within_s;
}

static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    const sequence_spec *sp = &r->spec.sequence;
    sequence_state *st = det_state(r, slot);

    if (ckpt_put_i64(out, st->last) || ckpt_put_i64(out, st->fired))
        return -1;
    for (unsigned m = 0; m + 1 < sp->steps; m++) {
        const int64_t *c = chain(st, m);
        if (ckpt_put_u8(out, c[0] != NONE))
            return -1;
        if (c[0] == NONE)
            continue;
        for (unsigned i = 0; i <= m; i++)
            if (ckpt_put_i64(out, c[i]))
                return -1;
        if (ckpt_put_str(out, (const char *)tag_of(sp, st, m), SEQ_TAG - 1))
            return -1;
    }
    return 0;
}

/* Is chain m, as read, one the feed could have made: times in order, at
 * or after the last firing, none after the group's newest event? */
static int chain_ok(const sequence_state *st, const int64_t *c, unsigned m)
{
    for (unsigned i = 0; i <= m; i++)
        if (!ckpt_time_ok(c[i], 0) || (i > 0 && c[i] < c[i - 1]) ||
            c[i] > st->last || (st->fired != NONE && c[i] < st->fired))
            return 0;
    return 1;
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    const sequence_spec *sp = &r->spec.sequence;
    sequence_state *st = det_state(r, slot);
    struct ckpt_reader rd;
    char tag[SEQ_TAG];

    ckpt_reader_init(&rd, p, n);
    st->last = ckpt_get_i64(&rd);
    st->fired = ckpt_get_i64(&rd);
    ckpt_check(&rd, ckpt_time_ok(st->last, 1) && ckpt_time_ok(st->fired, 1) &&
                        (st->fired == NONE ||
                         (st->last != NONE && st->fired <= st->last)));
    for (unsigned m = 0; m + 1 < sp->steps && !rd.bad; m++) {
        int64_t *c = chain(st, m);
        unsigned present = ckpt_get_u8(&rd);

        c[0] = NONE;
        if (!ckpt_check(&rd, present <= 1 && (!present || st->last != NONE)) ||
            !present)
            continue;
        for (unsigned i = 0; i <= m; i++)
            c[i] = ckpt_get_i64(&rd);
        ckpt_get_str(&rd, tag, sizeof tag);
        if (rd.bad || !ckpt_check(&rd, chain_ok(st, c, m)))
            break;
        memset(tag_of(sp, st, m), 0, sp->tag_size);
        memcpy(tag_of(sp, st, m), tag, strlen(tag));
    }
    return ckpt_reader_done(&rd) ? 0 : -1;
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    size_t k = r->spec.sequence.steps;

    return 16 + (k - 1) * (1 + 2 + (SEQ_TAG - 1)) + 4 * k * (k - 1);
}

const struct det_kind det_kind_sequence = {
    .name = "sequence",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .summary = kind_summary,
    .fill = kind_fill,
    .save = kind_save,
    .load = kind_load,
    .checkpoint_bytes = kind_checkpoint_bytes,
};
