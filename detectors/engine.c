/*
 * engine.c - clock, duplicates, matching, groups and the alert lifecycle
 * of a rule set (engine.h), and the helpers the kinds share (kind.h).
 *
 * Invariants:
 *   - now_ms never decreases; INT64_MIN until the first event or tick;
 *   - a group with state != IDLE is pinned (keys.h) and so never evicted;
 *     nopen counts them; an absence [] rule's one group is pinned for
 *     life;
 *   - every pinned group of a running rule has deadline_ms > now_ms after
 *     any public call returns, and next_deadline <= the smallest of them
 *     and of the idle absence groups' deadlines (it may be earlier: a
 *     timer that finds nothing due is harmless);
 *   - of_type[t] is the set of the rules whose prefilter admits type t,
 *     plain[t] those of them that are not in the index (index.h): an
 *     event of type t reaches plain[t] and the rules of of_type[t] that
 *     the index finds for its values, in set order;
 *   - hc.gen_of[g] == hc.gen means hc.h[g] is the hash of this event's
 *     values of group_by field list g;
 *   - nothing on the feed path allocates, logs or reads a clock.
 */
#include "detectors/engine.h"

#include "base/buf.h"
#include "detectors/checkpoint.h"
#include "detectors/dedupe.h"
#include "detectors/hash.h"
#include "detectors/index.h"
#include "detectors/kind.h"
#include "detectors/lag.h"
#include "model/severity.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_TIME INT64_MIN
#define DRAIN_MAX_STEPS 100000000u /* safety stop of det_engine_drain */
#define NTYPES ((unsigned)EVENT_SESSION_END + 1)
#define MEMO_SIZE 512u /* a rule's memo of match results (power of two) */
/* the clock (engine.h "Clock") */
#define QUIET_MS 1000            /* no event for this long: the stream is
                                    quiet, the wall clock may move time */
#define CATCHUP_GRACE_MS 10000   /* after a (re)connection, how long the
                                    clock waits for a backlog to start */
#define STREAM_SKEW_MIN_MS 10000 /* live: ahead of the stream by more than
                                    this (or allowed_lateness_s) is a
                                    suspect */
#define REPLAY_SKEW_MS 86400000  /* replay: ahead of the newest event by
                                    more than a day (or max_future_skew_s)
                                    is a suspect */

extern const struct det_kind det_kind_count, det_kind_sum, det_kind_ratio,
    det_kind_distinct, det_kind_max, det_kind_sequence, det_kind_new_value,
    det_kind_baseline, det_kind_absence;

const struct det_kind *const det_kinds[RULE_KINDS] = {
    [RULE_K_COUNT] = &det_kind_count,
    [RULE_K_SUM] = &det_kind_sum,
    [RULE_K_RATIO] = &det_kind_ratio,
    [RULE_K_DISTINCT] = &det_kind_distinct,
    [RULE_K_MAX] = &det_kind_max,
    [RULE_K_SEQUENCE] = &det_kind_sequence,
    [RULE_K_NEW_VALUE] = &det_kind_new_value,
    [RULE_K_BASELINE] = &det_kind_baseline,
    [RULE_K_ABSENCE] = &det_kind_absence,
};

#define ENGINE_INT(n, d, lo, hi, h)                                        \
    {.name = #n, .type = TABLE_INT,                                          \
     .offset = offsetof(struct det_engine_params, n), .def = (d),         \
     .min = (lo), .max = (hi), .help = (h)}

const struct table_item det_engine_items[] = {
    ENGINE_INT(allowed_lateness_s, 5, 0, 3600,
               "live mode: the clock is at least wall clock minus this"),
    ENGINE_INT(max_future_skew_s, 300, 0, 86400,
               "live mode: later timestamps are clamped to the wall clock"),
    ENGINE_INT(dedupe_window, 100000, 0, 10000000,
               "record ids remembered to drop replayed events (0: off)"),
    ENGINE_INT(max_keys, 10000, 1, 10000000,
               "groups per rule; the least recently seen group without an "
               "open alert is evicted past this"),
    ENGINE_INT(repeat_interval_s, 3600, 1, 7 * 86400,
               "re-send a firing alert this often while it holds"),
    ENGINE_INT(hold_s, 60, 0, 86400,
               "a condition that clears and fires again within this stays "
               "one episode"),
    ENGINE_INT(checkpoint_s, 10, 1, 3600,
               "run: write the detection state to the state directory at "
               "least this often (and at shutdown)"),
    ENGINE_INT(checkpoint_max_mb, 256, 1, 4096,
               "run: a checkpoint larger than this many MiB is not written "
               "(logged and counted) nor read"),
};
const size_t det_engine_nitems =
    sizeof det_engine_items / sizeof det_engine_items[0];

void det_engine_params_defaults(struct det_engine_params *p)
{
    memset(p, 0, sizeof *p);
    table_items_defaults(det_engine_items, det_engine_nitems, p);
}

/* The clock besides now_ms (engine.h "Clock"), in one struct so that a
 * reload carries it over in one assignment. */
struct det_engine_clock {
    int64_t stream_ms;      /* the stream clock: live, the wall clock
                               less the lag; in replay, now_ms; NO_TIME
                               before it starts */
    int64_t next_stream;    /* the next timer of the rules on it */
    int64_t newest_ms;      /* newest credible event time, or NO_TIME */
    int64_t arrival_wall;   /* wall clock of the last event read live */
    int64_t connected_wall; /* wall clock of the last (re)connection */
    int connected;          /* the stream is connected (1 at create) */
    int catching_up;        /* (re)connected, no event yet, within
                               CATCHUP_GRACE_MS: a backlog may come */
    int skipped;            /* the event clock stood still while the stream
                               was not observed: its next move jumps */
    int no_wait;            /* the wall clock moved the event clock past
                               the newest event, or the input ended:
                               absence rules wait no more for late
                               records (absence_wait; -1: not set) */
    int input_ended;        /* det_engine_input_end: no record is to
                               come */
    det_lag lag;
    det_skew skew;
};

struct det_engine {
    struct det_engine_params p;
    const struct rule_set *rules;
    struct rule_set *own;      /* the default rules, when none were given */
    uint32_t n;
    struct det_rule *r;        /* n rules, in the set's order */
    det_index *ix;             /* rules by the exact values they require */
    int indexed;               /* ix has fields */
    unsigned nwords;           /* words of a det_rset that hold rules */
    struct det_rset of_type[NTYPES], plain[NTYPES];
    uint32_t gsig[2 * RULE_MAX]; /* field lists hashed per event (group_by
                                  and memo keys), by signature */
    uint32_t ngsets;
    struct det_hcache hc;
    int64_t lateness_ms, skew_ms;
    det_dedupe dd;
    int64_t now_ms;           /* the event clock */
    int64_t wall_ms;          /* last wall clock given, 0 in replay */
    int64_t next_deadline;    /* of the rules on the event clock */
    struct det_engine_clock clk; /* the rest of the clock */
    int draining;
    uint64_t seq;             /* the last notification's number (struct
                                 alert.seq): kept by checkpoints */
    int restored;             /* det_engine_restore was called */
    unsigned char hkey[DET_HASH_KEY_BYTES];
    char pf_id[EVENT_ID_MAX]; /* det_engine_prefetch's id (pf_len bytes) */
    size_t pf_len;            /* 0: no hint pending */
    uint64_t pf_h0;           /* its hash's first half (the filter's key) */
    struct det_engine_stats st;
    const struct det_engine_callbacks *cb;
    void *ud;
    char source[128];
    char summary[ALERT_SUMMARY_MAX];
    char key[DET_KEY_MAX];
};

/* ---- groups (kind.h helpers) ---- */

/* The bytes the group of `ev` is keyed by: each group_by value (missing:
 * empty) with its NUL, then `extra` with its NUL.  Returns the length. */
__attribute__((hot))
static size_t group_bytes(const struct match_field *f, uint32_t nf,
                          const struct event *ev, const char *extra,
                          char *bytes)
{
    size_t n = 0;

    for (uint32_t i = 0; i < nf; i++) {
        const char *s = match_string(ev, f[i]);
        size_t l = s != NULL ? strnlen(s, EVENT_NAME_MAX - 1) : 0;

        memcpy(bytes + n, s != NULL ? s : "", l);
        bytes[n + l] = '\0';
        n += l + 1;
    }
    if (extra != NULL) {
        size_t l = strnlen(extra, EVENT_NAME_MAX - 1);

        memcpy(bytes + n, extra, l);
        bytes[n + l] = '\0';
        n += l + 1;
    }
    return n;
}

/* values_hash() of values not in the cache (or with extra): hashed,
 * and kept when there is no extra.  Out of line: an event reaches many
 * rules of few field lists, and most of them find the hash cached. */
__attribute__((noinline))
__attribute__((hot))
static void values_hash_new(struct det_hcache *hc, uint32_t g,
                            const struct match_field *f, uint32_t nf,
                            const struct event *ev, const char *extra,
                            uint64_t h[2])
{
    char bytes[DET_VALUES_MAX];
    size_t n;

    if (nf == 1 && extra == NULL) {
        /* the usual case: the value and its NUL, where the event has
         * them (the same bytes group_bytes would write) */
        const char *s = match_string(ev, f[0]);
        if (s == NULL)
            s = "";
        det_hash(hc->hkey, s, strnlen(s, EVENT_NAME_MAX - 1) + 1, h);
    } else {
        n = group_bytes(f, nf, ev, extra, bytes);
        det_hash(hc->hkey, bytes, n, h);
    }
    if (extra == NULL) {
        hc->gen_of[g] = hc->gen;
        hc->h[g][0] = h[0];
        hc->h[g][1] = h[1];
        hc->slot[g] = DET_NIL;
    }
}

/* The hash of the event's values of field list g (f[0..nf-1]) and extra,
 * from the event's cache when there is no extra. */
static inline void values_hash(struct det_hcache *hc, uint32_t g,
                               const struct match_field *f, uint32_t nf,
                               const struct event *ev, const char *extra,
                               uint64_t h[2])
{
    if (extra == NULL && hc->gen_of[g] == hc->gen) {
        h[0] = hc->h[g][0];
        h[1] = hc->h[g][1];
        return;
    }
    values_hash_new(hc, g, f, nf, ev, extra, h);
}

/* In line in det_group (the cached hash is a few loads). */
__attribute__((always_inline))
static inline void group_hash(const struct det_rule *r, struct det_input *in,
                       const char *extra, uint64_t h[2])
{
    values_hash(in->hc, r->gset, r->gby, r->ngby, in->ev, extra, h);
}

__attribute__((hot))
void det_hash_text(const struct det_input *in, const char *s, uint64_t h[2])
{
    struct det_hcache *hc = in->hc;
    uint32_t i;

    if (hc->txt_gen != hc->gen) {
        hc->txt_gen = hc->gen;
        hc->ntxt = 0;
    }
    for (i = 0; i < hc->ntxt; i++)
        if (hc->txt_p[i] == s) {
            h[0] = hc->txt_h[i][0];
            h[1] = hc->txt_h[i][1];
            return;
        }
    det_hash(hc->hkey, s, strlen(s), h);
    if (i < DET_TXT_MEMO) {
        hc->txt_p[i] = s;
        hc->txt_h[i][0] = h[0];
        hc->txt_h[i][1] = h[1];
        hc->ntxt = i + 1;
    }
}

/* A new group: its overrides (the first that its values meet), then the
 * kind's fresh state. */
__attribute__((cold, noinline))
static void group_created(struct det_rule *r, uint32_t s,
                          const struct event *ev)
{
    const struct rule *rule = r->rule;
    struct det_slot *x = &r->keys.slot[s];

    /* the slot of an evicted group: its timer goes with it */
    if (r->kind->flags & DET_KF_EDGE)
        det_timers_remove(&r->timers, s);
    if (r->thr != NULL)
        r->thr[s] = r->threshold;
    for (uint32_t i = 0; i < rule->noverrides; i++) {
        const struct rule_override *o = &rule->overrides[i];

        if (!match_eval(&o->match, ev))
            continue;
        if (!o->enabled)
            x->spare |= DET_G_MUTED;
        else if (r->thr != NULL)
            r->thr[s] = o->threshold;
        break;
    }
    if (!(x->spare & DET_G_MUTED))
        r->kind->reset(r, s);
}

/* Would the group of `ev` be muted (its first matching override has
 * "enabled": false)?  For a group there is no room for: a muted group's
 * events count nowhere, not in the overflow group, and do not make the
 * rule full. */
__attribute__((cold, noinline))
static int group_muted(const struct det_rule *r, const struct event *ev)
{
    const struct rule *rule = r->rule;

    for (uint32_t i = 0; i < rule->noverrides; i++)
        if (match_eval(&rule->overrides[i].match, ev))
            return !rule->overrides[i].enabled;
    return 0;
}

/* The rule's overflow group (keys.h), for an event whose own group could
 * not be made because every group has an open alert: it takes the event
 * as a group of its own would, with the rule's threshold, so that an
 * anomaly of a group that has no room still fires (as the group
 * "(overflow)").  The rule's capacity warning is due either way.  DET_NIL
 * for the kinds that run none (r->ovf_ok, rule_init). */
__attribute__((cold, noinline))
static uint32_t overflow_group(struct det_rule *r)
{
    uint32_t s;
    int created;

    r->cap_want = 1;
    if (!r->ovf_ok || (s = det_keys_overflow(&r->keys, &created)) == DET_NIL)
        return DET_NIL;
    if (created) {
        r->keys.slot[s].spare = DET_G_OVERFLOW;
        if (r->thr != NULL)
            r->thr[s] = r->threshold;
        r->alert[s].deadline_ms = INT64_MAX;
        r->kind->reset(r, s);
    }
    r->ovf_events++;
    return s;
}

/* An absence group whose episode resolved stays pinned until its next
 * event (timed by its deadline, absence.c), but it has no open alert: it
 * is evictable like any idle group.  Does r hold such groups? */
static int absence_idle_pinned(const struct det_rule *r)
{
    return (r->kind->flags & DET_KF_ABSENCE) && r->fixed_slot == DET_NIL &&
           r->keys.npinned > r->nopen;
}

/* Room for the group (h0, h1) of an absence rule whose table is full:
 * when the least recently seen group without an open alert is one of its
 * pinned idle groups, remove it, so that det_keys_get takes its slot
 * instead of evicting a group seen later, or finding the table full of
 * "open" groups.  A group is seen at its events and when an episode of
 * it resolves (as det_keys_unpin makes it for the other kinds): a pinned
 * idle group was last seen at its resolve, its clear + hold_s; an
 * unpinned one at its last event. */
__attribute__((cold, noinline))
static void absence_make_room(struct det_rule *r, const uint64_t h[2])
{
    det_keys *k = &r->keys;
    uint32_t c = DET_NIL, u;
    int64_t cl = INT64_MAX;

    if (det_keys_find(k, h[0], h[1]) != DET_NIL)
        return;
    for (uint32_t s = k->pin_head; s != DET_NIL; s = k->slot[s].next) {
        int64_t l;
        if (k->slot[s].state != DET_ST_IDLE)
            continue;
        l = r->alert[s].clear_since_ms + r->hold_ms; /* its resolve */
        if (l < cl) {
            cl = l;
            c = s;
        }
    }
    if (c == DET_NIL)
        return;
    u = det_keys_oldest(k);
    /* an unpinned group seen before that resolve is older: det_keys_get
     * evicts it; one seen in its millisecond came after it (a hold timer
     * runs before the events of its millisecond, and a resolve with no
     * hold came with the event that ended the silence) */
    if (u != DET_NIL && det_absence_last(r, u) < cl)
        return;
    det_keys_remove(k, c);
    k->evictions++;
}

/* det_group of an event whose group is not at the hinted slot: hash
 * (unless cached), look up or create. */
__attribute__((noinline))
static uint32_t group_lookup(struct det_rule *r, struct det_input *in)
{
    uint64_t h[2];
    uint32_t s;
    int created;

    group_hash(r, in, NULL, h);
    if ((r->kind->flags & DET_KF_ABSENCE) && r->rule->noverrides > 0 &&
        det_keys_find(&r->keys, h[0], h[1]) == DET_NIL &&
        group_muted(r, in->ev))
        return DET_NIL; /* an absence rule keeps no muted group: no room */
    if (__builtin_expect(det_keys_groups(&r->keys) >= r->keys.cap, 0) &&
        absence_idle_pinned(r))
        absence_make_room(r, h);
    s = det_keys_get_near(&r->keys, h[0], h[1], in->hc->slot[r->gset],
                          &created);
    if (s == DET_NIL)
        return group_muted(r, in->ev) ? DET_NIL : overflow_group(r);
    in->hc->slot[r->gset] = s;
    if (created)
        group_created(r, s, in->ev);
    return (r->keys.slot[s].spare & DET_G_MUTED) ? DET_NIL : s;
}

/* The usual case in line, with no locals in memory: this event's hash of
 * the rule's group_by is cached and the previous rule of the same fields
 * found its group at the slot where this rule keeps it. */
__attribute__((hot))
uint32_t det_group(struct det_rule *r, struct det_input *in)
{
    const struct det_hcache *hc = in->hc;
    uint32_t g = r->gset, s;

    if (hc->gen_of[g] == hc->gen &&
        (s = det_keys_at_hint(&r->keys, hc->h[g][0], hc->h[g][1],
                              hc->slot[g])) != DET_NIL)
        return (r->keys.slot[s].spare & DET_G_MUTED) ? DET_NIL : s;
    return group_lookup(r, in);
}

uint32_t det_group_extra(struct det_rule *r, struct det_input *in,
                         const char *extra, unsigned gflags)
{
    uint64_t h[2];
    uint32_t s;
    int created;

    group_hash(r, in, extra, h);
    s = det_keys_get(&r->keys, h[0], h[1], &created);
    if (s == DET_NIL)
        r->cap_want = 1; /* full: the capacity warning is due */
    else if (created)
        r->keys.slot[s].spare = (uint8_t)gflags;
    return s;
}

double det_thr(const struct det_rule *r, uint32_t slot)
{
    return r->thr != NULL ? r->thr[slot] : r->threshold;
}

double det_clear(const struct det_rule *r, uint32_t slot)
{
    double t = det_thr(r, slot);

    return r->clear < t ? r->clear : t;
}

__attribute__((hot))
enum det_level det_level_of(const struct det_rule *r, uint32_t slot,
                            double value)
{
    if (value > det_thr(r, slot))
        return DET_ABOVE;
    return value <= det_clear(r, slot) ? DET_CLEAR : DET_BETWEEN;
}

__attribute__((hot))
void det_verdict_level(const struct det_rule *r, uint32_t slot, double value,
                       struct det_verdict *v)
{
    v->slot = slot;
    v->value = value;
    v->aux[0] = v->aux[1] = 0;
    v->extra = v->text = NULL;
    v->level = det_level_of(r, slot, value);
    v->next_ms = INT64_MAX;
}

void det_verdict_until(uint32_t slot, double value, int64_t now,
                       int64_t until, struct det_verdict *v)
{
    v->slot = slot;
    v->value = value;
    v->aux[0] = v->aux[1] = 0;
    v->extra = v->text = NULL;
    v->level = now < until ? DET_ABOVE : DET_CLEAR;
    v->next_ms = v->level == DET_ABOVE ? until : INT64_MAX;
}

/* The group values of `ev` (and extra) into an alert record. */
static void keep_values(const struct det_rule *r, struct det_alert *a,
                        const struct event *ev, const char *extra)
{
    /* straight into the record: vals has room for every group field */
    (void)group_bytes(r->rule->group_by, r->rule->ngroup, ev, extra, a->vals);
    a->nvals = r->rule->ngroup + (extra != NULL);
    a->overflow = 0;
}

/* The overflow group's values: "(overflow)" for every group field. */
static void overflow_values(const struct det_rule *r, struct det_alert *a)
{
    static const char t[] = DET_OVERFLOW_TEXT;

    for (uint32_t i = 0; i < r->rule->ngroup; i++)
        memcpy(a->vals + i * sizeof t, t, sizeof t);
    a->nvals = r->rule->ngroup;
    a->overflow = 1;
}

size_t det_group_values(const struct det_rule *r, const struct event *ev,
                        char *out)
{
    return group_bytes(r->rule->group_by, r->rule->ngroup, ev, NULL, out);
}

void det_keep(struct det_rule *r, uint32_t slot, const struct event *ev)
{
    struct det_alert *a = &r->alert[slot];

    keep_values(r, a, ev, NULL);
    alert_sample_from_event(&a->sample, ev);
}

const char *det_value(const struct det_alert *a, uint32_t i)
{
    const char *s = a->vals;

    if (i >= a->nvals)
        return "";
    while (i-- > 0)
        s += strlen(s) + 1;
    return s;
}

/* ---- the episode id (kind.h) ---- */

static void shown_values(const struct det_alert *a, const char **v,
                         char *key, size_t keysz);

void det_episode_id(const struct det_rule *r, const struct det_alert *a,
                    char out[ALERT_ID_HEX + 1])
{
    const char *v[ALERT_GROUP_MAX];
    char key[DET_KEY_MAX];

    shown_values(a, v, key, sizeof key);
    alert_episode_id(r->rule->name, v, a->nvals, a->started_ms, out);
}

/* The words of a group field: "tool", "agent", ... and its preposition. */
static void field_words(const char *name, const char **word,
                        const char **prep)
{
    static const struct {
        const char *name, *word, *prep;
    } w[] = {
        {"tool_name", "tool", "for"},
        {"agent_id", "agent", "by"},
        {"session_id", "session", "in"},
        {"tool_category", "category", "for"},
        {"downstream_system", "system", "for"},
        {"event_type", "event type", "for"},
        {"response_status", "status", "for"},
        {"error_code", "error code", "for"},
    };

    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (strcmp(name, w[i].name) == 0) {
            *word = w[i].word;
            *prep = w[i].prep;
            return;
        }
    *word = strncmp(name, "metadata.", 9) == 0 ? name + 9 : name;
    *prep = "for";
}

void det_describe(const struct det_rule *r, const struct det_alert *a,
                  int prep, char *out, size_t size)
{
    uint32_t n = r->rule->ngroup < a->nvals ? r->rule->ngroup : a->nvals;
    size_t len = 0;

    out[0] = '\0';
    if (n == 0) {
        if (prep)
            snprintf(out, size, "overall");
        return;
    }
    for (uint32_t i = 0; i < n && len < size; i++) {
        const char *word, *p, *v = det_value(a, i);

        field_words(r->gname[i], &word, &p);
        len += (size_t)snprintf(out + len, size - len, "%s%s%s%s %s",
                                i ? ", " : "", i == 0 && prep ? p : "",
                                i == 0 && prep ? " " : "", word,
                                v[0] ? v : DET_NONE_TEXT);
    }
}

const char *det_noun(const struct det_rule *r, int plural)
{
    switch (r->noun) {
    case DET_NOUN_CALLS:
        return plural ? "completed calls" : "completed call";
    case DET_NOUN_REQUESTS:
        return plural ? "call requests" : "call request";
    default:
        return plural ? "events" : "event";
    }
}

/* ---- matching ---- */

/* A rule's match results by the value of the one string field its match
 * and exclude test beyond the event's type and status (e.g. tool_name
 * globs), and that type and status: a direct-mapped table, so a glob
 * list is evaluated once per tool, not once per event. */
struct det_memo {
    uint64_t h0, h1;
    uint8_t type, status, seen, valid;
};

/* Does the rule see the event (match_seen)? */
__attribute__((always_inline))
static inline int rule_sees(struct det_rule *r, struct det_input *in)
{
    const struct event *ev = in->ev;
    struct det_memo *m;
    uint64_t h[2];

    if (r->sure & MATCH_TYPE_BIT(ev->type))
        return 1;
    if (r->memo == NULL)
        return match_seen(&r->rule->match, &r->rule->exclude, ev);
    values_hash(in->hc, r->memo_gset, &r->memo_f, 1, ev, NULL, h);
    m = &r->memo[h[0] & (MEMO_SIZE - 1)];
    if (!m->valid || m->h0 != h[0] || m->h1 != h[1] ||
        m->type != (uint8_t)ev->type || m->status != (uint8_t)ev->status) {
        m->h0 = h[0];
        m->h1 = h[1];
        m->type = (uint8_t)ev->type;
        m->status = (uint8_t)ev->status;
        m->seen = (uint8_t)match_seen(&r->rule->match, &r->rule->exclude, ev);
        m->valid = 1;
    }
    return m->seen;
}

/* The one string field F that the rule's match and exclude test besides
 * fields of the event's type and status, if there is exactly one: then
 * their result is a function of (F, type, status). */
static int memo_field(const struct rule *rule, struct match_field *f)
{
    const struct match *ms[2] = {&rule->match, &rule->exclude};
    int found = 0;

    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < ms[k]->ncond; i++) {
            struct match_field cf = match_cond_field(ms[k], i);

            switch ((enum match_field_id)cf.id) {
            case MATCH_F_EVENT_TYPE:
            case MATCH_F_RESPONSE_STATUS:
            case MATCH_F_COMPLETED:
            case MATCH_F_ERROR:
                continue;
            default:
                break;
            }
            if (match_field_type(cf) != MATCH_T_STRING ||
                (found && !match_field_equal(*f, cf)))
                return 0;
            *f = cf;
            found = 1;
        }
    return found;
}

/* ---- notifications ---- */

/* The values as shown ("(none)" for a missing one) and the key. */
static void shown_values(const struct det_alert *a, const char **v,
                         char *key, size_t keysz)
{
    size_t len = 0;
    const char *s = a->vals;

    if (a->nvals == 0)
        buf_copy_str(key, keysz, "global");
    else if (a->overflow)
        buf_copy_str(key, keysz, DET_OVERFLOW_TEXT);
    else
        key[0] = '\0';
    for (uint32_t i = 0; i < a->nvals; i++) {
        v[i] = s[0] ? s : DET_NONE_TEXT;
        if (len < keysz && !a->overflow)
            len += (size_t)snprintf(key + len, keysz - len, "%s%s",
                                    i ? "/" : "", v[i]);
        s += strlen(s) + 1;
    }
}

/* The notification of group s of rule r into *al (its strings in the
 * engine's buffers and the rule: valid until the next call); `why` (may
 * be NULL) replaces the summary. */
static void alert_of(det_engine *e, const struct det_rule *r, uint32_t s,
                     int resolved, const char *why, struct alert *al,
                     const char **v)
{
    const struct rule *rule = r->rule;
    const struct det_alert *a = &r->alert[s];

    memset(al, 0, sizeof *al);
    shown_values(a, v, e->key, sizeof e->key);
    if (why != NULL)
        buf_copy_str(e->summary, sizeof e->summary, why);
    else
        r->kind->summary(r, a, resolved, e->summary, sizeof e->summary);
    if (a->overflow) {
        size_t n = strlen(e->summary);
        snprintf(e->summary + n, sizeof e->summary - n,
                 "; the overflow group: %llu events of groups this rule "
                 "had no room for (all %u groups had open alerts)",
                 (unsigned long long)r->ovf_events, r->keys.cap);
    }
    al->resolved = resolved;
    al->timestamp_ms = e->wall_ms > 0 ? e->wall_ms : e->now_ms;
    memcpy(al->id, a->id, sizeof al->id);
    al->rule = rule->name;
    al->kind = r->kind->name;
    al->ngroup = a->nvals;
    for (uint32_t i = 0; i < a->nvals; i++) {
        al->group[i].name = r->gname[i];
        al->group[i].value = v[i];
    }
    al->key = e->key;
    al->severity = severity_names[rule->severity];
    al->summary = e->summary;
    al->value = a->value;
    al->threshold = det_thr(r, s);
    al->window_s = r->window_ms > 0 ? r->window_ms / 1000 : -1;
    if (r->kind->fill != NULL)
        r->kind->fill(r, a, al);
    al->started_ms = a->started_ms;
    al->resolved_ms = a->clear_since_ms;
    for (uint32_t i = 0; i < rule->nlabels && i < ALERT_LABELS_MAX; i++) {
        al->labels[i].name = rule->labels[i].key;
        al->labels[i].value = rule->labels[i].value;
        al->nlabels = i + 1;
    }
    al->description = rule->description;
    al->runbook_url = rule->runbook_url;
    al->sample = &a->sample;
    al->source = e->source;
    al->seq = e->seq;
    al->made_ms = e->now_ms;
}

/* Send one notification; `why` (may be NULL) replaces the summary. */
static void notify_as(det_engine *e, struct det_rule *r, uint32_t s,
                      int resolved, const char *why)
{
    const char *v[ALERT_GROUP_MAX];
    struct alert al;

    e->seq++;
    alert_of(e, r, s, resolved, why, &al, v);
    e->st.notifications++;
    if (e->cb != NULL && e->cb->on_alert != NULL)
        e->cb->on_alert(e->ud, &al);
}

__attribute__((cold, noinline))
static void notify(det_engine *e, struct det_rule *r, uint32_t s,
                   int resolved)
{
    notify_as(e, r, s, resolved, NULL);
}

/* ---- capacity ---- */

/* The rule_capacity warning of rule r (fired while every one of its
 * max_keys groups has an open alert and events of new groups came; see
 * engine.h "Groups"), as a notification: its own rule-like name, the
 * group {rule: r's name}, the rule's labels (it goes where the rule's
 * alerts go), value and threshold: max_keys. */
static void capacity_notify(det_engine *e, struct det_rule *r, int resolved)
{
    struct alert al;
    const char *name = r->rule->name;

    e->seq++;
    memset(&al, 0, sizeof al);
    if (resolved)
        snprintf(e->summary, sizeof e->summary,
                 "back to normal: rule %s has room for new groups again",
                 name);
    else
        snprintf(e->summary, sizeof e->summary,
                 "rule %s is full: all %u groups (max_keys) have open "
                 "alerts; events of new groups %s",
                 name, r->keys.cap,
                 r->ovf_ok ? "go to its (overflow) group"
                           : "are not tracked");
    buf_copy_str(e->key, sizeof e->key, name);
    al.resolved = resolved;
    al.timestamp_ms = e->wall_ms > 0 ? e->wall_ms : e->now_ms;
    memcpy(al.id, r->cap_id, sizeof al.id);
    al.rule = DET_CAPACITY_RULE;
    al.kind = "capacity";
    al.ngroup = 1;
    al.group[0].name = "rule";
    al.group[0].value = name;
    al.key = e->key;
    al.severity = "warning";
    al.summary = e->summary;
    al.value = (double)r->keys.cap; /* groups, each with an open alert */
    al.threshold = (double)r->keys.cap;
    al.window_s = -1;
    al.started_ms = r->cap_started_ms;
    al.resolved_ms = resolved ? e->now_ms : 0;
    for (uint32_t i = 0; i < r->rule->nlabels && i < ALERT_LABELS_MAX; i++) {
        al.labels[i].name = r->rule->labels[i].key;
        al.labels[i].value = r->rule->labels[i].value;
        al.nlabels = i + 1;
    }
    al.source = e->source;
    al.seq = e->seq;
    al.made_ms = e->now_ms;
    e->st.notifications++;
    if (e->cb != NULL && e->cb->on_alert != NULL)
        e->cb->on_alert(e->ud, &al);
}

/* After r took an event or ran its timers: fire its capacity warning when
 * it was found full, resolve it when it has room again (a group's alert
 * resolved); then an idle overflow group goes. */
__attribute__((cold, noinline))
static void capacity_check(det_engine *e, struct det_rule *r)
{
    const char *v[1];

    if (r->cap_want && !r->cap_open) {
        r->cap_open = 1;
        r->cap_started_ms = e->now_ms;
        v[0] = r->rule->name;
        alert_episode_id(DET_CAPACITY_RULE, v, 1, r->cap_started_ms,
                         r->cap_id);
        capacity_notify(e, r, 0);
    }
    r->cap_want = 0;
    if (!r->cap_open ||
        !(det_keys_room(&r->keys) || absence_idle_pinned(r)))
        return;
    r->cap_open = 0;
    capacity_notify(e, r, 1);
    if (r->keys.ovf != DET_NIL &&
        r->keys.slot[r->keys.ovf].state == DET_ST_IDLE) {
        det_keys_remove(&r->keys, r->keys.ovf);
        r->ovf_events = 0;
    }
}

/* ---- lifecycle ---- */

/* Is r on the stream clock?  An absence rule over [] that sees every
 * event: the stream's own absence (stream_stalled).  Every other rule is
 * on the event clock. */
static int on_stream(const struct det_rule *r)
{
    return r->on_stream; /* set at rule_init */
}

/* The time of r's clock. */
static int64_t clock_of(const det_engine *e, const struct det_rule *r)
{
    return on_stream(r) ? e->clk.stream_ms : e->now_ms;
}

/* The next timer of r's clock. */
static int64_t *next_of(det_engine *e, const struct det_rule *r)
{
    return on_stream(r) ? &e->clk.next_stream : &e->next_deadline;
}

/* Is the stream stalled: a rule on the stream clock firing? */
static int stalled(const det_engine *e)
{
    for (uint32_t i = 0; i < e->n; i++) {
        const struct det_rule *r = &e->r[i];

        if (on_stream(r) &&
            r->keys.slot[r->fixed_slot].state == DET_ST_FIRING)
            return 1;
    }
    return 0;
}

static void take_verdict(struct det_alert *a, const struct det_verdict *v)
{
    a->value = v->value;
    a->aux[0] = v->aux[0];
    a->aux[1] = v->aux[1];
}

__attribute__((cold, noinline))
static void fire(det_engine *e, struct det_rule *r, uint32_t s,
                 const struct det_verdict *v, const struct det_input *in)
{
    struct det_alert *a = &r->alert[s];
    const char *vals[ALERT_GROUP_MAX];
    int64_t now = clock_of(e, r);

    r->keys.slot[s].state = DET_ST_FIRING;
    det_keys_pin(&r->keys, s);
    if (r->keys.slot[s].spare & DET_G_TIMED) {
        /* pinned: timed by its deadline from now on; its values and
         * event are in the record when no event fires it */
        det_timers_remove(&r->timers, s);
        r->keys.slot[s].spare &= (uint8_t)~DET_G_TIMED;
    }
    r->nopen++;
    /* an absence episode starts when its silence passed the threshold,
     * though the kind waited for late records before it fired */
    a->started_ms = (r->kind->flags & DET_KF_ABSENCE) && v->since_ms < now
                        ? v->since_ms
                        : now;
    a->last_sent_ms = now;
    a->clear_since_ms = 0;
    take_verdict(a, v);
    if (v->text != NULL)
        buf_copy_str(a->text, sizeof a->text, v->text);
    /* absence kinds keep their values as events come; the others take
     * them from the event that fires */
    if (r->keys.slot[s].spare & DET_G_OVERFLOW) {
        overflow_values(r, a);
        if (in != NULL)
            alert_sample_from_event(&a->sample, in->ev);
    } else if (in != NULL && !(r->kind->flags & DET_KF_KEEP)) {
        keep_values(r, a, in->ev, v->extra);
        alert_sample_from_event(&a->sample, in->ev);
    } else if ((r->kind->flags & DET_KF_KEEP) && r->kind->recall != NULL) {
        r->kind->recall(r, s, a);
    }
    shown_values(a, vals, e->key, sizeof e->key);
    alert_episode_id(r->rule->name, vals, a->nvals, a->started_ms, a->id);
    r->st.fired++;
    notify(e, r, s, 0);
}

__attribute__((cold, noinline))
static void resolve(det_engine *e, struct det_rule *r, uint32_t s)
{
    r->keys.slot[s].state = DET_ST_IDLE;
    r->nopen--;
    r->st.resolved++;
    notify(e, r, s, 1);
    /* an absence group stays watched by its deadline until its next event
     * (absence.c); an absence [] group for life.  One resolved by its own
     * event (hold_s 0) is seen now, and its deadline comes after those
     * of the idle groups: back in their order, as its next event would
     * put it. */
    if (s == r->fixed_slot)
        return;
    if (r->kind->flags & DET_KF_ABSENCE) {
        if (det_absence_last(r, s) == clock_of(e, r))
            det_keys_unpin(&r->keys, s);
        return;
    }
    if (s == r->keys.ovf)
        r->ovf_events = 0; /* the next overflow group counts afresh */
    if ((r->kind->flags & DET_KF_REMOVE) || s == r->keys.ovf)
        det_keys_remove(&r->keys, s);
    else
        det_keys_unpin(&r->keys, s);
}

/* A timer of r at dl: after now (progress, whatever a kind says), and
 * r's clock's next timer no later than it.  Returns the time it is at. */
static inline int64_t arm(det_engine *e, const struct det_rule *r,
                          int64_t dl)
{
    int64_t now = clock_of(e, r), *next = next_of(e, r);

    if (dl <= now)
        dl = now + 1;
    if (dl < *next)
        *next = dl;
    return dl;
}

/* An idle group that time alone may fire (absence): its clock's next
 * timer no later than its deadline. */
__attribute__((hot))
static void watch(det_engine *e, const struct det_rule *r,
                  const struct det_verdict *v)
{
    if ((r->kind->flags & DET_KF_ABSENCE) && v->next_ms != INT64_MAX)
        (void)arm(e, r, v->next_ms);
}

/* A DET_KF_EDGE group without an open episode: timed at its verdict's
 * next_ms (when the window's edge may take it over its threshold), or
 * not timed (INT64_MAX).  A group newly timed keeps its values and the
 * event `in` in its alert record, for the alert a timer may fire (fire()
 * takes them from there); with no event (a timer, a resolve) the record
 * already holds them. */
__attribute__((noinline))
static void time_idle(det_engine *e, struct det_rule *r,
                      const struct det_verdict *v,
                      const struct det_input *in)
{
    uint32_t s = v->slot;
    struct det_slot *x = &r->keys.slot[s];

    if (v->next_ms == INT64_MAX) {
        if (x->spare & DET_G_TIMED) {
            det_timers_remove(&r->timers, s);
            x->spare &= (uint8_t)~DET_G_TIMED;
        }
        return;
    }
    if (!(x->spare & DET_G_TIMED)) {
        if (in != NULL)
            det_keep(r, s, in->ev);
        x->spare |= DET_G_TIMED;
    }
    det_timers_set(&r->timers, s, arm(e, r, v->next_ms));
}

__attribute__((hot))
static void schedule(det_engine *e, struct det_rule *r, uint32_t s,
                     const struct det_verdict *v)
{
    struct det_alert *a = &r->alert[s];
    int64_t now = clock_of(e, r);
    /* a kind's "may change at" in the past means "not by time" */
    int64_t dl = v->next_ms > now ? v->next_ms : INT64_MAX, t;

    switch (r->keys.slot[s].state) {
    case DET_ST_FIRING:
        t = a->last_sent_ms + r->repeat_ms;
        dl = t < dl ? t : dl;
        break;
    case DET_ST_CLEARING:
        t = a->clear_since_ms + r->hold_ms;
        dl = t < dl ? t : dl;
        break;
    default:
        break;
    }
    a->deadline_ms = arm(e, r, dl);
}

/* Apply a verdict at the rule's clock.  `in` is the event (NULL for a
 * timer). */
__attribute__((hot))
static void transition(det_engine *e, struct det_rule *r,
                       const struct det_verdict *v,
                       const struct det_input *in)
{
    uint32_t s = v->slot;
    struct det_slot *x = &r->keys.slot[s];
    struct det_alert *a = &r->alert[s];
    int64_t now = clock_of(e, r);

    switch (x->state) {
    case DET_ST_IDLE:
        if (v->level == DET_ABOVE) {
            fire(e, r, s, v, in);
        } else if (!x->pinned) {
            watch(e, r, v); /* an idle group: nothing to remember */
            if (r->kind->flags & DET_KF_EDGE)
                time_idle(e, r, v, in);
            return;
        }
        break;
    case DET_ST_FIRING:
        take_verdict(a, v);
        if (v->level == DET_CLEAR) {
            x->state = DET_ST_CLEARING;
            a->clear_since_ms = now;
            if (r->hold_ms == 0) {
                resolve(e, r, s);
                break;
            }
        } else if (now >= a->last_sent_ms + r->repeat_ms) {
            a->last_sent_ms = now;
            r->st.repeated++;
            notify(e, r, s, 0);
        }
        break;
    case DET_ST_CLEARING:
        /* the resolve shows the value that cleared the episode, not one
         * the events of the hold made; firing again takes them again */
        if (v->level == DET_ABOVE) {
            take_verdict(a, v);
            x->state = DET_ST_FIRING; /* fires again within hold_s */
            a->clear_since_ms = 0;    /* no longer clear since then */
        }
        else if (now >= a->clear_since_ms + r->hold_ms)
            resolve(e, r, s);
        break;
    }
    if (x->used && x->pinned)
        schedule(e, r, s, v);
    else if (x->used && (r->kind->flags & DET_KF_EDGE))
        time_idle(e, r, v, in); /* resolved: idle again */
    else if (x->used)
        watch(e, r, v);
}

/* transition() of a verdict that leaves its group as it is (an idle,
 * unpinned group that does not fire: only watch()), in line; 0 when the
 * verdict needs transition().  Most events' verdicts: the call is
 * saved. */
static inline int idle_stays(det_engine *e, struct det_rule *r,
                             const struct det_verdict *v,
                             const struct det_input *in)
{
    const struct det_slot *x = &r->keys.slot[v->slot];

    if (x->state != DET_ST_IDLE || v->level == DET_ABOVE || x->pinned)
        return 0;
    if (r->kind->flags & DET_KF_ABSENCE)
        watch(e, r, v);
    else if ((r->kind->flags & DET_KF_EDGE) && v->next_ms != INT64_MAX &&
             (!(x->spare & DET_G_TIMED) ||
              v->next_ms < det_timers_at(&r->timers, v->slot)))
        time_idle(e, r, v, in);
    /* a group already timed stays so: an event in order adds to its
     * newest bucket, so the edge it is timed at has not moved, and its
     * timer looks at it again then (and lets it go when it is no longer
     * one the edge can fire); a late event may make an older bucket,
     * whose edge comes first */
    return 1;
}

/* Does r run its timers (its clock known; absence rules sleep while
 * draining)? */
static int timers_active(const det_engine *e, const struct det_rule *r)
{
    return clock_of(e, r) != NO_TIME &&
           !(e->draining && (r->kind->flags & DET_KF_ABSENCE));
}

/* ---- absence: the idle groups, by deadline ----
 *
 * An absence group's deadline is its last event plus its threshold, and
 * its idle groups are in the order of their last events (keys.h's LRU
 * order): with one threshold, the oldest is the first due, and it is the
 * only one the engine looks at.  Overrides give some groups other
 * thresholds; within one threshold the order still holds, so a rule with
 * them (r->watch) follows each threshold's part of the order with a
 * position of its own in the LRU log: the oldest group of that threshold
 * is at or after it.  A position passes each log entry once (between two
 * compactions of the log, after which they start again), so keeping them
 * costs O(thresholds) per sighting, amortised. */
struct det_watch {
    uint32_t n;                             /* thresholds */
    uint32_t compactions;                   /* the log's, when pos was */
    int valid;                              /* pos may be used */
    double thr[RULE_OVERRIDES_MAX + 1];     /* the rule's, then overrides' */
    uint32_t pos[RULE_OVERRIDES_MAX + 1];   /* each one's position */
};

/* The thresholds of an absence rule whose overrides set some (its own
 * first), or NULL when out of memory.  Free with free(). */
static struct det_watch *watch_create(const struct rule *rule, double thr)
{
    struct det_watch *w = calloc(1, sizeof *w);

    if (w == NULL)
        return NULL;
    w->thr[w->n++] = thr;
    for (uint32_t i = 0; i < rule->noverrides; i++) {
        const struct rule_override *o = &rule->overrides[i];
        uint32_t j = 0;

        if (!o->enabled || isnan(o->threshold))
            continue;
        while (j < w->n && w->thr[j] != o->threshold)
            j++;
        if (j == w->n)
            w->thr[w->n++] = o->threshold;
    }
    return w;
}

/* The oldest idle group whose threshold is threshold c, or DET_NIL. */
static uint32_t watched_oldest(struct det_rule *r, uint32_t c)
{
    struct det_watch *w = r->watch;
    uint32_t s;

    if (!w->valid || w->compactions != r->keys.compactions) {
        memset(w->pos, 0, sizeof w->pos);
        w->compactions = r->keys.compactions;
        w->valid = 1;
    }
    while ((s = det_keys_live_at(&r->keys, &w->pos[c])) != DET_NIL &&
           det_thr(r, s) != w->thr[c])
        w->pos[c]++;
    return s;
}

/* The parts of an absence rule's order (one per threshold), and the
 * oldest idle group of part c, or DET_NIL. */
static uint32_t watched_parts(const struct det_rule *r)
{
    return r->watch != NULL ? r->watch->n : 1;
}

static uint32_t watched_first(struct det_rule *r, uint32_t c)
{
    return r->watch != NULL ? watched_oldest(r, c)
                            : det_keys_oldest(&r->keys);
}

/* The oldest idle group of r's part c: those due fire (pinned, off the
 * order); the first not due is watched. */
static void run_watched_part(det_engine *e, struct det_rule *r, uint32_t c)
{
    struct det_verdict v;
    uint32_t s;

    for (;;) {
        if ((s = watched_first(r, c)) == DET_NIL)
            return;
        r->kind->tick(r, s, clock_of(e, r), &v);
        if (v.level != DET_ABOVE) {
            watch(e, r, &v);
            return;
        }
        transition(e, r, &v, NULL);
    }
}

/* An absence rule's idle groups, oldest first: those due fire. */
static void run_watched(det_engine *e, struct det_rule *r)
{
    if (!(r->kind->flags & DET_KF_ABSENCE))
        return;
    for (uint32_t c = 0; c < watched_parts(r); c++)
        run_watched_part(e, r, c);
}

/* A DET_KF_EDGE rule's idle groups whose timers are due: looked at again
 * (fire, or timed again, or not any more). */
static void run_timed(det_engine *e, struct det_rule *r)
{
    struct det_verdict v;
    int64_t now = clock_of(e, r), *next = next_of(e, r);

    if (!(r->kind->flags & DET_KF_EDGE))
        return;
    while (det_timers_next(&r->timers) <= now) {
        uint32_t s = det_timers_first(&r->timers);

        det_timers_remove(&r->timers, s); /* still DET_G_TIMED: values kept */
        r->kind->tick(r, s, now, &v);
        transition(e, r, &v, NULL);
    }
    if (det_timers_next(&r->timers) < *next)
        *next = det_timers_next(&r->timers);
}

/* Run every timer due at its rule's clock; recompute both clocks' next
 * timers. */
static void run_timers(det_engine *e)
{
    struct det_verdict v;

    e->next_deadline = INT64_MAX;
    e->clk.next_stream = INT64_MAX;
    e->st.timer_runs++;
    for (uint32_t i = 0; i < e->n; i++) {
        struct det_rule *r = &e->r[i];
        int64_t now = clock_of(e, r), *next = next_of(e, r);
        uint32_t s, nxt;

        if (!timers_active(e, r))
            continue;
        for (s = r->keys.pin_head; s != DET_NIL; s = nxt) {
            nxt = r->keys.slot[s].next;
            if (r->alert[s].deadline_ms <= now) {
                r->kind->tick(r, s, now, &v);
                transition(e, r, &v, NULL);
            } else if (r->alert[s].deadline_ms < *next) {
                *next = r->alert[s].deadline_ms;
            }
        }
        run_watched(e, r);
        run_timed(e, r);
        if (r->cap_open)
            capacity_check(e, r);
    }
}

/* How long the event-clock absence rules wait past a deadline for late
 * records (absence.c): allowed_lateness_s while events drive the clock;
 * none once the wall clock has moved it past the newest event, since it
 * moves it to the wall less the lag less allowed_lateness_s, a time by
 * which the late records have come, nor once the input has ended.  When
 * the wait ends, their groups are looked at again: those due fire now,
 * the others are timed by their deadline. */
static void absence_wait(det_engine *e)
{
    int no_wait = e->clk.input_ended ||
                  (e->now_ms != NO_TIME && e->clk.newest_ms != NO_TIME &&
                   e->now_ms > e->clk.newest_ms);
    struct det_verdict v;

    if (no_wait == e->clk.no_wait)
        return;
    e->clk.no_wait = no_wait;
    for (uint32_t i = 0; i < e->n; i++) {
        struct det_rule *r = &e->r[i];

        if (!(r->kind->flags & DET_KF_ABSENCE) || on_stream(r))
            continue;
        r->spec.absence.lateness_ms = no_wait ? 0 : e->lateness_ms;
        if (!no_wait || !timers_active(e, r))
            continue;
        for (uint32_t s = r->keys.pin_head, nxt; s != DET_NIL; s = nxt) {
            nxt = r->keys.slot[s].next;
            /* a firing group does not wait (absence.c): its timers
             * stand (a repeat due now is sent by its own timer) */
            if (r->keys.slot[s].state == DET_ST_FIRING)
                continue;
            r->kind->tick(r, s, e->now_ms, &v);
            transition(e, r, &v, NULL);
        }
        run_watched(e, r);
    }
}

/* Re-evaluate every pinned group (a clock started, draining began or
 * ended, a reload). */
static void reschedule_all(det_engine *e)
{
    struct det_verdict v;

    e->next_deadline = INT64_MAX;
    e->clk.next_stream = INT64_MAX;
    for (uint32_t i = 0; i < e->n; i++) {
        struct det_rule *r = &e->r[i];
        int64_t now = clock_of(e, r);
        uint32_t s;

        if (!timers_active(e, r))
            continue;
        for (s = r->keys.pin_head; s != DET_NIL; s = r->keys.slot[s].next) {
            r->kind->tick(r, s, now, &v);
            schedule(e, r, s, &v);
        }
        if (det_timers_next(&r->timers) < *next_of(e, r))
            *next_of(e, r) = det_timers_next(&r->timers);
        for (uint32_t c = 0; (r->kind->flags & DET_KF_ABSENCE) &&
                             c < watched_parts(r);
             c++) {
            if ((s = watched_first(r, c)) == DET_NIL)
                continue;
            r->kind->tick(r, s, now, &v);
            watch(e, r, &v);
        }
    }
}

/* Start the clocks that are still unknown at `target` (the event clock)
 * and `starget` (the stream clock): each rule's clock_start op when its
 * own clock starts. */
static void start_clocks(det_engine *e, int64_t target, int64_t starget)
{
    int ev = e->now_ms == NO_TIME && target != NO_TIME;
    int st = e->clk.stream_ms == NO_TIME && starget != NO_TIME;

    if (!ev && !st)
        return;
    if (ev)
        e->now_ms = target;
    if (st)
        e->clk.stream_ms = starget;
    for (uint32_t i = 0; i < e->n; i++) {
        struct det_rule *r = &e->r[i];

        if (r->kind->clock_start != NULL && (on_stream(r) ? st : ev))
            r->kind->clock_start(r, clock_of(e, r));
    }
    reschedule_all(e);
}

/* The event clock jumps from now_ms to `target` over a time the stream
 * was not observed (disconnected or stalled): nothing is known of it, so
 * the kinds may discount it (their skip op), and every timer it passed
 * runs once at target (advance() runs them next), rather than each at its
 * own time in the dark. */
static void jump(det_engine *e, int64_t target)
{
    for (uint32_t i = 0; i < e->n; i++) {
        struct det_rule *r = &e->r[i];

        if (!on_stream(r) && r->kind->skip != NULL)
            r->kind->skip(r, e->now_ms, target);
    }
    e->now_ms = target;
    e->clk.skipped = 0;
    /* advance() runs the timers due by target, now all at target */
}

/* Move the event clock to `target` and the stream clock to `starget`
 * (NO_TIME: leave it), running the timers due on the way in time order,
 * each at its own time.  by_wall: the wall clock moves them, and a stall
 * that fires on the way stops the event clock there. */
__attribute__((hot))
static void advance(det_engine *e, int64_t target, int64_t starget,
                    int by_wall)
{
    start_clocks(e, target, starget);
    if (e->clk.skipped && e->now_ms != NO_TIME && target > e->now_ms)
        jump(e, target);
    for (;;) {
        int64_t d = INT64_MAX;

        if (target != NO_TIME && e->next_deadline <= target)
            d = e->next_deadline;
        if (starget != NO_TIME && e->clk.next_stream <= starget &&
            e->clk.next_stream < d)
            d = e->clk.next_stream;
        if (d == INT64_MAX)
            break;
        if (target != NO_TIME && d <= target && d > e->now_ms)
            e->now_ms = d;
        if (starget != NO_TIME && d <= starget && d > e->clk.stream_ms)
            e->clk.stream_ms = d;
        run_timers(e);
        if (by_wall && target > e->now_ms && stalled(e)) {
            target = e->now_ms; /* not observed from here */
            e->clk.skipped = 1;
        }
    }
    if (target > e->now_ms)
        e->now_ms = target;
    if (starget > e->clk.stream_ms)
        e->clk.stream_ms = starget;
}

/* The stream's time, to judge how far ahead an event is: its newest
 * credible event time or, live, the lag-adjusted wall clock when later;
 * INT64_MIN while it has none. */
static int64_t stream_ref(const det_engine *e, int64_t wall)
{
    int64_t lag, w;

    if (e->clk.newest_ms == NO_TIME)
        return INT64_MIN;
    if (wall <= 0 || !det_lag_get(&e->clk.lag, &lag))
        return e->clk.newest_ms;
    w = wall - lag;
    return w > e->clk.newest_ms ? w : e->clk.newest_ms;
}

/* How far ahead of the stream's time an event is still in step: live,
 * allowed_lateness_s, at least STREAM_SKEW_MIN_MS; in replay, where a
 * quiet night or weekend is a gap in event time and nothing tells it
 * from an outlier but what follows, max_future_skew_s, at least
 * REPLAY_SKEW_MS. */
static int64_t stream_tolerance(const det_engine *e, int64_t wall)
{
    if (wall > 0)
        return e->lateness_ms > STREAM_SKEW_MIN_MS ? e->lateness_ms
                                                   : STREAM_SKEW_MIN_MS;
    return e->skew_ms > REPLAY_SKEW_MS ? e->skew_ms : REPLAY_SKEW_MS;
}

/* The wall clock's part of the clock (live mode, wall > 0).  The stream
 * clock is the wall clock less the observed lag, always: it measures how
 * long no event has arrived.  The event clock moves on to that less
 * allowed_lateness_s only while the stream is connected, not stalled,
 * quiet (no event for QUIET_MS) and not catching up after a
 * (re)connection; else it stands still (disconnected or stalled: unknown,
 * not clear).  It never starts from the wall: a lagging source's first
 * events would be late. */
static void follow_wall(det_engine *e, int64_t wall)
{
    struct det_engine_clock *c = &e->clk;
    int64_t lag, s, target = e->now_ms;

    if (wall <= 0)
        return;
    e->wall_ms = wall;
    if (c->catching_up && wall - c->connected_wall >= CATCHUP_GRACE_MS)
        c->catching_up = 0; /* no backlog came: live from here */
    (void)det_lag_get(&c->lag, &lag);
    s = wall - lag;
    if (e->now_ms != NO_TIME && s - e->lateness_ms > e->now_ms) {
        /* the cheap conditions first: stalled() looks at every rule */
        if (!c->connected)
            c->skipped = 1;
        else if (c->catching_up || wall - c->arrival_wall < QUIET_MS)
            ; /* events drive it, or a backlog may come */
        else if (stalled(e))
            c->skipped = 1;
        else
            target = s - e->lateness_ms;
    }
    advance(e, target, s, 1);
    absence_wait(e);
}

/* ---- public ---- */

__attribute__((hot))
void det_engine_prefetch(det_engine *e, const char *id, size_t n)
{
    uint64_t h[2];

    e->pf_len = 0;
    if (e->dd.n == 0 || n == 0 || n >= sizeof e->pf_id)
        return;
    det_hash(e->hkey, id, n, h);
    det_dedupe_prefetch(&e->dd, h[0]);
    memcpy(e->pf_id, id, n);
    e->pf_len = n;
    e->pf_h0 = h[0];
}

/* The hash of `id` (NUL-terminated, in an EVENT_ID_MAX array) if the
 * pending hint was for the same bytes; the hint is used up either way. */
__attribute__((hot))
static int take_prefetched(det_engine *e, const char *id, uint64_t *h0)
{
    size_t n = e->pf_len;
    int hit = n > 0 && memcmp(id, e->pf_id, n) == 0 && id[n] == '\0';

    e->pf_len = 0;
    if (hit)
        *h0 = e->pf_h0;
    return hit;
}

/* A new event for the group hash cache. */
static void next_generation(det_engine *e)
{
    if (++e->hc.gen == 0) {
        memset(e->hc.gen_of, 0, e->ngsets * sizeof *e->hc.gen_of);
        e->hc.txt_gen = 0;
        e->hc.pack_gen = 0;
        e->hc.gen = 1;
    }
}

/* The time an event stamped t counts at: t, or now_ms (NO_TIME before
 * the event clock is known) when it is clamped: stamped more than
 * max_future_skew_s past the wall clock, or an outlier ahead of the
 * stream's own time (lag.h).  *credible: t is trusted. */
static int64_t event_time(det_engine *e, int64_t t, int64_t wall,
                          int *credible)
{
    *credible = 0;
    if (wall > 0 && t > wall + e->skew_ms) {
        e->st.future_clamped++;
        return e->now_ms;
    }
    switch (det_skew_judge(&e->clk.skew, t, stream_ref(e, wall),
                           stream_tolerance(e, wall), wall)) {
    case DET_SKEW_OUTLIER:
        e->st.outliers++;
        return e->now_ms;
    case DET_SKEW_JUMP:
        e->st.clock_jumps++;
        det_lag_forget(&e->clk.lag); /* the lag before it is history */
        break;
    default:
        break;
    }
    *credible = 1;
    return t;
}

/* Feed rule r the event, if it sees it.  Returns 1 when the event was
 * late for the rule. */
__attribute__((always_inline))
static inline int feed_rule(det_engine *e, struct det_rule *r,
                            struct det_input *in, struct det_verdict *v)
{
    uint64_t late_before = r->late;
    int f;

    if (!rule_sees(r, in))
        return 0;
    in->now_ms = clock_of(e, r);
    f = r->kind->feed(r, in, v);
    if (f && !idle_stays(e, r, v, in))
        transition(e, r, v, in);
    if (__builtin_expect(f == DET_FEED_AGAIN, 0) &&
        r->kind->feed(r, in, v) && !idle_stays(e, r, v, in))
        transition(e, r, v, in);
    if (__builtin_expect(r->cap_want | r->cap_open, 0))
        capacity_check(e, r);
    return r->late != late_before;
}

__attribute__((hot))
int det_engine_feed(det_engine *e, const struct event *ev, int64_t wall_ms)
{
    struct det_input in;
    struct det_verdict v;
    int64_t t = NO_TIME, target;
    int late = 0, credible = 0;

    e->st.events++;
    follow_wall(e, wall_ms); /* the time that passed before it came */
    if (!(ev->has & EVENT_HAS_TIMESTAMP) && e->now_ms == NO_TIME &&
        wall_ms <= 0) {
        e->st.untimed++;
        return DET_FEED_UNTIMED;
    }
    if (ev->record_id[0] != '\0' && e->dd.n > 0) {
        uint64_t h[2];
        /* the duplicate check misses the cache: unless the caller's hint
         * started the load long ago, start it now */
        if (!take_prefetched(e, ev->record_id, &h[0])) {
            det_hash(e->hkey, ev->record_id, strlen(ev->record_id), h);
            det_dedupe_prefetch(&e->dd, h[0]);
        }
        if (det_dedupe_seen(&e->dd, h[0])) {
            e->st.duplicates++;
            return DET_FEED_DUPLICATE;
        }
    }
    if (ev->has & EVENT_HAS_TIMESTAMP) {
        t = event_time(e, ev->ts_ms, wall_ms, &credible);
        if (t == NO_TIME) { /* clamped, and no clock to clamp it to */
            e->st.untimed++;
            return DET_FEED_UNTIMED;
        }
    } else {
        e->st.no_timestamp++;
        if (wall_ms > 0) {
            /* live: it happened about when it came (the stream clock
             * less allowed_lateness_s), or at now when later */
            int64_t at = e->clk.stream_ms - e->lateness_ms;
            t = at > e->now_ms ? at : e->now_ms;
        }
    }
    if (wall_ms > 0) {
        e->clk.arrival_wall = wall_ms;
        e->clk.catching_up = 0;
    }
    if (credible) {
        if (t > e->clk.newest_ms)
            e->clk.newest_ms = t;
        if (wall_ms > 0)
            det_lag_sample(&e->clk.lag, wall_ms, wall_ms - e->clk.newest_ms);
    }
    target = t > e->now_ms ? t : e->now_ms;
    /* live, the stream clock is the wall's (follow_wall above) */
    advance(e, target, wall_ms > 0 ? e->clk.stream_ms : target, 0);
    absence_wait(e);
    if (t == NO_TIME || t > e->now_ms)
        t = e->now_ms;

    next_generation(e);
    in.ev = ev;
    in.t_ms = t;
    in.hc = &e->hc;
    if ((unsigned)ev->type < NTYPES) {
        struct det_rset hit = {{0}};

        if (e->indexed)
            det_index_lookup(e->ix, ev, &hit);
        for (unsigned w = 0; w < e->nwords; w++) {
            uint64_t bits = e->plain[ev->type].w[w] |
                            (hit.w[w] & e->of_type[ev->type].w[w]);

            while (bits != 0) {
                uint32_t k = w * 64 + (uint32_t)__builtin_ctzll(bits);

                bits &= bits - 1;
                late |= feed_rule(e, &e->r[k], &in, &v);
            }
        }
    }
    if (late)
        e->st.late++;
    e->st.counted++;
    return DET_FEED_COUNTED;
}

/* The stream's lag, for the words of the rules on the stream clock. */
static void tell_lag(det_engine *e)
{
    int64_t lag;

    if (!det_lag_get(&e->clk.lag, &lag))
        lag = 0;
    for (uint32_t i = 0; i < e->n; i++)
        e->r[i].stream_lag_ms = lag;
}

void det_engine_tick(det_engine *e, int64_t wall_ms)
{
    if (wall_ms <= 0)
        return;
    det_lag_update(&e->clk.lag, wall_ms);
    tell_lag(e);
    follow_wall(e, wall_ms);
}

void det_engine_connection(det_engine *e, int connected, int64_t wall_ms)
{
    struct det_engine_clock *c = &e->clk;

    if (e->wall_ms > 0) /* a new engine has no "as it was" */
        det_engine_tick(e, wall_ms); /* up to now, as it was */
    c->connected = connected;
    c->catching_up = connected && wall_ms > 0;
    if (connected) {
        /* a backlog may follow: judged by its own lag, in event time */
        c->connected_wall = wall_ms;
        det_lag_forget(&c->lag);
    }
    for (uint32_t i = 0; i < e->n; i++)
        if (e->r[i].kind->connection != NULL)
            e->r[i].kind->connection(&e->r[i], connected,
                                     clock_of(e, &e->r[i]));
    det_engine_tick(e, wall_ms); /* from now, as it is */
}

static void close_open(det_engine *e, struct det_rule *r, const char *why,
                       int64_t end);

/* Is an alert the drain waits for still open: an episode of a rule that
 * runs while draining, or a capacity warning? */
static int drain_due(const det_engine *e)
{
    for (uint32_t i = 0; i < e->n; i++) {
        const struct det_rule *r = &e->r[i];
        if (r->cap_open ||
            (r->nopen > 0 && !(r->kind->flags & DET_KF_ABSENCE)))
            return 1;
    }
    return 0;
}

void det_engine_input_end(det_engine *e)
{
    e->clk.input_ended = 1;
    absence_wait(e);
}

void det_engine_drain(det_engine *e)
{
    static const char why[] =
        "closed at the end of the input: no event time is left to judge "
        "this absence rule's episode";
    unsigned steps = 0;
    int64_t end = e->now_ms; /* the input's last event time */

    if (e->now_ms == NO_TIME)
        return;
    e->draining = 1;
    reschedule_all(e);
    /* until every open alert has resolved: idle groups' timers (a ratio's
     * window edge) run meanwhile but do not keep the drain going */
    while (e->next_deadline != INT64_MAX && drain_due(e) &&
           steps++ < DRAIN_MAX_STEPS)
        advance(e, e->next_deadline, e->next_deadline, 0);
    /* the absence rules slept: their open episodes (stream_stalled back
     * within hold_s of the end, a key still quiet) resolve now, at the
     * time their condition cleared when it did */
    for (uint32_t i = 0; i < e->n; i++)
        if ((e->r[i].kind->flags & DET_KF_ABSENCE) && e->r[i].nopen > 0)
            close_open(e, &e->r[i], why, end);
    e->draining = 0;
    reschedule_all(e);
}

/* Resolve every open alert of r now, with a notification that says why.  end: the input's
 * last event time (the drain), up to which a firing absence episode's
 * silence is measured for its value; NO_TIME: its value as it is. */
static void close_open(det_engine *e, struct det_rule *r, const char *why,
                       int64_t end)
{
    for (uint32_t s = r->keys.pin_head; s != DET_NIL;) {
        uint32_t next = r->keys.slot[s].next;

        if (r->keys.slot[s].state != DET_ST_IDLE) {
            struct det_alert *a = &r->alert[s];
            struct det_verdict v;

            if (end != NO_TIME && (r->kind->flags & DET_KF_ABSENCE) &&
                r->keys.slot[s].state == DET_ST_FIRING) {
                r->kind->tick(r, s, end, &v);
                if (v.level == DET_ABOVE)
                    take_verdict(a, &v);
            }
            if (a->clear_since_ms == 0)
                a->clear_since_ms = clock_of(e, r);
            r->keys.slot[s].state = DET_ST_IDLE;
            r->nopen--;
            r->st.resolved++;
            notify_as(e, r, s, 1, why);
        }
        s = next;
    }
    if (r->cap_open) {
        r->cap_open = 0;
        capacity_notify(e, r, 1);
    }
}

/* What a rule instance is by configuration (the rest is its state). */
static void take_config(struct det_rule *dst, const struct det_rule *cfg)
{
    dst->rule = cfg->rule;
    dst->kind = cfg->kind;
    dst->gset = cfg->gset;
    dst->window_ms = cfg->window_ms;
    dst->hold_ms = cfg->hold_ms;
    dst->repeat_ms = cfg->repeat_ms;
    dst->max_keys = cfg->max_keys;
    dst->threshold = cfg->threshold;
    dst->clear = cfg->clear;
    dst->thr_min = cfg->thr_min;
    dst->thr_max = cfg->thr_max;
    dst->noun = cfg->noun;
    dst->dump = cfg->dump;
    memcpy(dst->fp, cfg->fp, sizeof dst->fp);
    dst->ngroup = cfg->ngroup;
    memcpy(dst->gname, cfg->gname, sizeof dst->gname);
    dst->sure = cfg->sure;
    dst->on_stream = cfg->on_stream;
    dst->ngby = cfg->ngby;
    memcpy(dst->gby, cfg->gby, sizeof dst->gby);
    dst->memo_gset = cfg->memo_gset;
    dst->memo_f = cfg->memo_f;
}

/* The rule of `old` that rule i of e continues, or -1. */
static int same_rule(const det_engine *e, uint32_t i, const det_engine *old,
                     const unsigned char *taken)
{
    const struct det_rule *r = &e->r[i];

    for (uint32_t j = 0; j < old->n; j++) {
        const struct det_rule *o = &old->r[j];
        if (!taken[j] && memcmp(o->fp, r->fp, sizeof r->fp) == 0)
            return (int)j;
    }
    return -1;
}

int det_engine_adopt(det_engine *e, det_engine *old)
{
    static const char why[] =
        "closed by a configuration reload: this rule's settings changed "
        "or it was removed; it fires again under the new settings if the "
        "condition still holds";
    unsigned char taken[RULE_MAX];
    int kept = 0;

    if (old != NULL && old->seq > e->seq)
        e->seq = old->seq; /* notification numbers never go back */
    if (old == NULL)
        return 0;
    e->now_ms = old->now_ms;
    e->wall_ms = old->wall_ms;
    e->clk = old->clk;
    if (old->now_ms == NO_TIME && old->clk.stream_ms == NO_TIME)
        return 0;
    memset(taken, 0, sizeof taken);
    memcpy(e->hkey, old->hkey, sizeof e->hkey);
    if (e->p.dedupe_window == old->p.dedupe_window) {
        det_dedupe t = e->dd;
        e->dd = old->dd;
        old->dd = t;
    }
    for (uint32_t i = 0; i < e->n; i++) {
        int j = same_rule(e, i, old, taken);
        struct det_rule a, b;

        if (j < 0) {
            /* a new rule: its clock may be running already */
            struct det_rule *r = &e->r[i];
            if (r->kind->clock_start != NULL && clock_of(e, r) != NO_TIME)
                r->kind->clock_start(r, clock_of(e, r));
            continue;
        }
        taken[j] = 1;
        a = e->r[i];
        b = old->r[j];
        e->r[i] = b;
        take_config(&e->r[i], &a);
        old->r[j] = a;
        take_config(&old->r[j], &b);
        kept++;
    }
    for (uint32_t j = 0; j < old->n; j++)
        if (!taken[j])
            close_open(old, &old->r[j], why, NO_TIME);
    e->seq = old->seq; /* with the resolves close_open made */
    /* the absence rules' wait as the clock now is: the kept rules' is
     * the old engine's, with its allowed_lateness_s */
    e->clk.no_wait = -1;
    absence_wait(e);
    reschedule_all(e);
    return kept;
}

int64_t det_engine_now(const det_engine *e)
{
    return e->now_ms;
}

/* Live, and the stream is not observed: the event clock stands still. */
static int unknown(const det_engine *e)
{
    return e->wall_ms > 0 && (!e->clk.connected || stalled(e));
}

void det_engine_clock(const det_engine *e, struct det_clock_info *out)
{
    const struct det_engine_clock *c = &e->clk;

    memset(out, 0, sizeof *out);
    out->now_ms = e->now_ms;
    out->stream_ms = c->stream_ms;
    out->newest_ms = c->newest_ms;
    out->lag_known = det_lag_get(&c->lag, &out->lag_ms);
    out->live = e->wall_ms > 0;
    out->connected = c->connected;
    out->catching_up = c->catching_up;
    out->stalled = stalled(e);
    out->unknown = unknown(e);
}

const struct det_engine_stats *det_engine_stats(const det_engine *e)
{
    return &e->st;
}

uint32_t det_engine_nrules(const det_engine *e)
{
    return e->n;
}

int det_engine_rule_info(const det_engine *e, uint32_t i,
                         struct det_rule_info *out)
{
    const struct det_rule *r;

    memset(out, 0, sizeof *out);
    if (i >= e->n)
        return -1;
    r = &e->r[i];
    out->name = r->rule->name;
    out->kind = r->kind->name;
    out->groups = r->keys.count;
    out->open = r->nopen;
    out->counted = r->counted;
    out->late = r->late;
    out->fired = r->st.fired;
    out->repeated = r->st.repeated;
    out->resolved = r->st.resolved;
    out->evicted = r->keys.evictions;
    out->full = r->keys.full;
    out->overflow = r->ovf_events;
    out->at_capacity = r->cap_open;
    out->unknown = !on_stream(r) && unknown(e);
    out->group_bytes = sizeof(struct det_slot) + sizeof(uint32_t) +
                       r->stride + (r->thr != NULL ? sizeof(double) : 0);
    out->alert_bytes = sizeof(struct det_alert);
    return 0;
}

int det_engine_is_firing(const det_engine *e, const char *rule,
                         const char *key)
{
    char k[DET_KEY_MAX];
    const char *v[ALERT_GROUP_MAX];

    for (uint32_t i = 0; i < e->n; i++) {
        const struct det_rule *r = &e->r[i];

        if (strcmp(r->rule->name, rule) != 0)
            continue;
        for (uint32_t s = r->keys.pin_head; s != DET_NIL;
             s = r->keys.slot[s].next) {
            if (r->keys.slot[s].state == DET_ST_IDLE)
                continue;
            shown_values(&r->alert[s], v, k, sizeof k);
            if (strcmp(k, key) == 0)
                return 1;
        }
    }
    return 0;
}

void det_engine_foreach_open(det_engine *e,
                             void (*fn)(void *ud, const struct alert *a),
                             void *ud)
{
    const char *v[ALERT_GROUP_MAX];
    struct alert al;

    for (uint32_t i = 0; i < e->n; i++) {
        const struct det_rule *r = &e->r[i];

        for (uint32_t s = r->keys.pin_head; s != DET_NIL;
             s = r->keys.slot[s].next)
            if (r->keys.slot[s].state != DET_ST_IDLE) {
                alert_of(e, r, s, 0, NULL, &al, v);
                fn(ud, &al);
            }
    }
}

/* ---- checkpoint (the format and its checks are checkpoint.c's) ---- */

uint64_t det_engine_seq(const det_engine *e)
{
    return e->seq;
}

void det_engine_set_seq(det_engine *e, uint64_t seq)
{
    if (seq > e->seq)
        e->seq = seq;
}

static void checkpoint_view(det_engine *e, struct ckpt_engine *v)
{
    v->r = e->r;
    v->n = e->n;
    v->dd = &e->dd;
    v->hkey = e->hkey;
    v->now_ms = &e->now_ms;
    v->seq = &e->seq;
    v->source = e->source;
}

int det_engine_checkpoint(det_engine *e, const char *position, size_t len,
                          int64_t wall_ms, buf *out)
{
    struct ckpt_engine v;

    checkpoint_view(e, &v);
    return ckpt_encode(&v, position, len, wall_ms, out);
}

int det_engine_restore(det_engine *e, const void *p, size_t n,
                       struct det_restore_info *out)
{
    struct ckpt_engine v;
    int rc;

    memset(out, 0, sizeof *out);
    if (e->restored || e->now_ms != NO_TIME || e->st.events > 0)
        return CKPT_EBUSY;
    e->restored = 1;
    checkpoint_view(e, &v);
    rc = ckpt_decode(&v, p, n, out);
    if (rc == CKPT_OK && e->now_ms != NO_TIME)
        reschedule_all(e); /* every restored group's next deadline */
    return rc;
}

/* ---- set-up ---- */

/* A field list as a number: one byte per field. */
static uint32_t fields_signature(const struct match_field *f, uint32_t nf)
{
    uint32_t sig = 0;

    for (uint32_t i = 0; i < nf; i++)
        sig = sig << 8 |
              (uint32_t)(f[i].id * EVENT_META_MAX + f[i].slot + 1);
    return sig;
}

/* The index of a field list in the event's hash cache. */
static uint32_t gset_of(det_engine *e, const struct match_field *f,
                        uint32_t nf)
{
    uint32_t sig = fields_signature(f, nf);

    for (uint32_t g = 0; g < e->ngsets; g++)
        if (e->gsig[g] == sig)
            return g;
    e->gsig[e->ngsets] = sig;
    return e->ngsets++;
}

static unsigned noun_of(uint32_t types)
{
    const uint32_t calls = MATCH_TYPE_BIT(EVENT_TOOL_CALL_RESPONSE) |
                           MATCH_TYPE_BIT(EVENT_TOOL_CALL_ERROR);

    if ((types & ~calls) == 0)
        return DET_NOUN_CALLS;
    if (types == MATCH_TYPE_BIT(EVENT_TOOL_CALL_REQUEST))
        return DET_NOUN_REQUESTS;
    return DET_NOUN_EVENTS;
}

static int rule_dump_text(const struct rule *rule, char **out)
{
    cJSON *j = NULL;
    int rc = -1;

    *out = NULL;
    if (rule_dump(rule, &j) == RULE_OK &&
        (*out = cJSON_PrintUnformatted(j)) != NULL)
        rc = 0;
    cJSON_Delete(j);
    return rc;
}

/* A rule's fingerprint: BLAKE2b-256 of its name, its definition as JSON
 * (rule_dump: every key, defaults included) and its max_keys.  Two rules
 * with the same fingerprint are the same rule with the same settings: a
 * reload (det_engine_adopt) and a checkpoint (det_engine_restore) keep
 * its state; hold_s and repeat_interval_s may differ (they shape how
 * episodes go on, not what the state means). */
static void rule_fingerprint(struct det_rule *r)
{
    crypto_generichash_state h;
    unsigned char mk[4];

    mk[0] = (unsigned char)r->max_keys;
    mk[1] = (unsigned char)(r->max_keys >> 8);
    mk[2] = (unsigned char)(r->max_keys >> 16);
    mk[3] = (unsigned char)(r->max_keys >> 24);
    crypto_generichash_init(&h, NULL, 0, sizeof r->fp);
    crypto_generichash_update(&h, (const unsigned char *)r->rule->name,
                              strlen(r->rule->name) + 1);
    crypto_generichash_update(&h, (const unsigned char *)r->dump,
                              strlen(r->dump) + 1);
    crypto_generichash_update(&h, mk, sizeof mk);
    crypto_generichash_final(&h, r->fp, sizeof r->fp);
}

static int rule_init(det_engine *e, struct det_rule *r,
                     const struct rule *rule)
{
    const struct rule_params *p = &rule->p;
    size_t cap;
    int thr_overrides = 0;

    r->rule = rule;
    r->kind = det_kinds[rule->kind];
    r->fixed_slot = DET_NIL;
    r->gset = gset_of(e, rule->group_by, rule->ngroup);
    r->ngby = (uint8_t)rule->ngroup;
    memcpy(r->gby, rule->group_by, rule->ngroup * sizeof *r->gby);
    r->window_ms = p->window_s * 1000;
    r->hold_ms = (rule->hold_s >= 0 ? rule->hold_s : e->p.hold_s) * 1000;
    r->repeat_ms = (rule->repeat_interval_s >= 0 ? rule->repeat_interval_s
                                                  : e->p.repeat_interval_s) *
                   1000;
    r->max_keys = (uint32_t)(rule->max_keys >= 0 ? rule->max_keys
                                                 : e->p.max_keys);
    r->threshold = p->threshold;
    r->clear = isnan(p->clear_threshold) ? p->threshold : p->clear_threshold;
    r->thr_min = r->thr_max = p->threshold;
    for (uint32_t i = 0; i < rule->noverrides; i++) {
        double t = rule->overrides[i].threshold;
        if (!rule->overrides[i].enabled || isnan(t))
            continue;
        thr_overrides = 1;
        r->thr_min = t < r->thr_min ? t : r->thr_min;
        r->thr_max = t > r->thr_max ? t : r->thr_max;
    }
    r->noun = noun_of(rule->types);
    r->sure = rule->exclude.ncond == 0 ? rule->match.types_sure : 0;
    if (memo_field(rule, &r->memo_f)) {
        r->memo_gset = gset_of(e, &r->memo_f, 1);
        if ((r->memo = calloc(MEMO_SIZE, sizeof *r->memo)) == NULL)
            return -1;
    }
    r->ngroup = rule->ngroup;
    for (uint32_t i = 0; i < rule->ngroup; i++)
        match_field_name(rule->group_by[i], p->meta, r->gname[i],
                         sizeof r->gname[i]);
    if (rule->kind == RULE_K_NEW_VALUE) {
        match_field_name(p->field, p->meta, r->gname[rule->ngroup],
                         sizeof r->gname[0]);
        r->ngroup++;
    }
    if (rule_dump_text(rule, &r->dump) != 0)
        return -1;
    /* an overflow group for the kinds whose groups are judged by their
     * events alone (not absence, new_value's first-seen values, or a
     * kind that keeps a group's values in its state) */
    r->ovf_ok = !(r->kind->flags & (DET_KF_ABSENCE | DET_KF_KEEP)) &&
                rule->kind != RULE_K_NEW_VALUE && rule->ngroup > 0;
    /* an absence rule over [] has one group, watched for life */
    if ((r->kind->flags & DET_KF_ABSENCE) && rule->ngroup == 0)
        r->max_keys = 1;
    rule_fingerprint(r);
    if (det_keys_init(&r->keys, r->max_keys) != DET_KEYS_OK)
        return -1;
    cap = r->keys.cap_alloc;
    if (r->kind->create(r) != 0)
        return -1;
    if (r->stride > 0 &&
        (r->state = det_slab_alloc(cap * r->stride)) == NULL)
        return -1;
    if ((r->alert = det_slab_alloc(cap * sizeof *r->alert)) == NULL)
        return -1;
    if (thr_overrides &&
        (r->thr = det_slab_alloc(cap * sizeof *r->thr)) == NULL)
        return -1;
    if (thr_overrides && (r->kind->flags & DET_KF_ABSENCE) &&
        (r->watch = watch_create(rule, r->threshold)) == NULL)
        return -1;
    if ((r->kind->flags & DET_KF_EDGE) &&
        det_timers_init(&r->timers, cap) != DET_TIMERS_OK)
        return -1;
    if ((r->kind->flags & DET_KF_ABSENCE) && rule->ngroup == 0) {
        int created;
        r->fixed_slot = det_keys_get(&r->keys, 0, 0, &created);
        det_keys_pin(&r->keys, r->fixed_slot);
        r->kind->reset(r, r->fixed_slot);
        r->alert[r->fixed_slot].deadline_ms = INT64_MAX;
    }
    /* an absence rule over [] that sees every event: the stream's own */
    r->on_stream = r->fixed_slot != DET_NIL && rule->match.ncond == 0 &&
                   rule->exclude.ncond == 0;
    /* the stream clock measures arrivals: nothing to wait for there */
    if (r->kind->flags & DET_KF_ABSENCE)
        r->spec.absence.lateness_ms = r->on_stream ? 0 : e->lateness_ms;
    return 0;
}

static void rule_fini(struct det_rule *r)
{
    size_t cap = r->keys.cap_alloc;

    if (r->kind != NULL && r->kind->destroy != NULL)
        r->kind->destroy(r);
    det_slab_free(r->state, cap * r->stride);
    det_slab_free(r->alert, cap * sizeof *r->alert);
    det_slab_free(r->thr, cap * sizeof *r->thr);
    free(r->watch);
    r->watch = NULL;
    det_timers_free(&r->timers);
    det_keys_free(&r->keys);
    free(r->memo);
    r->memo = NULL;
    cJSON_free(r->dump);
    r->state = NULL;
    r->alert = NULL;
    r->thr = NULL;
    r->dump = NULL;
}

/* The sets of rules per event type, and the index of rules by the exact
 * values their match requires with the per-type sets of rules not in
 * it. */
static int build_lists(det_engine *e)
{
    const char *lit[MATCH_GLOBS_MAX];

    if ((e->ix = det_index_create()) == NULL)
        return -1;
    for (uint32_t i = 0; i < e->n; i++) {
        struct match_field f;
        uint32_t nlit = match_exact_values(&e->r[i].rule->match, &f, lit,
                                           MATCH_GLOBS_MAX);
        int rc = nlit > 0 ? det_index_add(e->ix, f, lit, nlit, i)
                          : DET_INDEX_EFULL;

        if (rc == DET_INDEX_ENOMEM)
            return -1;
        for (unsigned t = 0; t < NTYPES; t++) {
            if (!(e->r[i].rule->types & MATCH_TYPE_BIT(t)))
                continue;
            det_rset_add(&e->of_type[t], i);
            if (rc != DET_INDEX_OK)
                det_rset_add(&e->plain[t], i);
        }
    }
    e->indexed = det_index_fields(e->ix) > 0;
    e->nwords = (e->n + 63) / 64;
    return 0;
}

det_engine *det_engine_create(const struct det_engine_params *p,
                              const struct rule_set *rules,
                              const char *source,
                              const struct det_engine_callbacks *cb,
                              void *ud)
{
    det_engine *e = NULL;
    char err[256];
    int rc = -1;

    if (p == NULL || sodium_init() < 0)
        goto out;
    if ((e = calloc(1, sizeof *e)) == NULL)
        goto out;
    e->p = *p;
    if (rules == NULL) {
        if (rule_set_defaults(&e->own, err, sizeof err) != RULE_OK)
            goto out;
        rules = e->own;
    }
    e->rules = rules;
    e->cb = cb;
    e->ud = ud;
    buf_copy_str(e->source, sizeof e->source,
             source != NULL ? source : "toolwatch");
    randombytes_buf(e->hkey, sizeof e->hkey);
    e->hc.hkey = e->hkey;
    e->hc.gen = 1;
    e->lateness_ms = p->allowed_lateness_s * 1000;
    e->skew_ms = p->max_future_skew_s * 1000;
    e->now_ms = NO_TIME;
    e->next_deadline = INT64_MAX;
    e->clk.stream_ms = NO_TIME;
    e->clk.next_stream = INT64_MAX;
    e->clk.newest_ms = NO_TIME;
    e->clk.connected = 1;
    det_lag_init(&e->clk.lag);
    det_skew_init(&e->clk.skew);
    if (p->dedupe_window > 0 &&
        det_dedupe_init(&e->dd, (uint32_t)p->dedupe_window) !=
            DET_DEDUPE_OK)
        goto out;
    if (rules->n > RULE_MAX ||
        (e->r = aligned_alloc(_Alignof(struct det_rule),
                              (rules->n > 0 ? rules->n : 1) * sizeof *e->r)) ==
            NULL)
        goto out;
    memset(e->r, 0, (rules->n > 0 ? rules->n : 1) * sizeof *e->r);
    for (uint32_t i = 0; i < rules->n; i++) {
        e->n = i + 1; /* freed with the engine even when half built */
        if (rule_init(e, &e->r[i], &rules->rules[i]) != 0)
            goto out;
    }
    if ((e->hc.gen_of = calloc(e->ngsets + 1, sizeof *e->hc.gen_of)) ==
            NULL ||
        (e->hc.h = calloc(e->ngsets + 1, sizeof *e->hc.h)) == NULL ||
        (e->hc.slot = calloc(e->ngsets + 1, sizeof *e->hc.slot)) == NULL)
        goto out;
    if (build_lists(e) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0) {
        det_engine_destroy(e);
        e = NULL;
    }
    return e;
}

static void check_on_alert(void *ud, const struct alert *a)
{
    (void)ud;
    (void)a;
}

int det_engine_check(const struct det_engine_params *p,
                     const struct rule_set *rules, char *err, size_t errsz)
{
    static const struct det_engine_callbacks cb = {.on_alert = check_on_alert};
    struct det_engine_params one_p;

    if (p == NULL || rules == NULL)
        return 0;
    one_p = *p;
    one_p.dedupe_window = 0; /* the rule alone, not the filter */
    for (uint32_t i = 0; i < rules->n; i++) {
        struct rule_set one = {.n = 1, .rules = &rules->rules[i],
                               .meta = rules->meta};
        const struct rule *r = &rules->rules[i];
        det_engine *e = det_engine_create(&one_p, &one, NULL, &cb, NULL);

        if (e == NULL) {
            long long keys = r->max_keys >= 0 ? r->max_keys : p->max_keys;
            snprintf(err, errsz,
                     "rules[%u] (%s): cannot be set up: room for %lld groups "
                     "at their most (max_keys) takes more than this machine "
                     "or a %s rule can reserve; lower max_keys%s",
                     i, r->name, keys, rule_kinds[r->kind].name,
                     r->kind == RULE_K_NEW_VALUE ? " or max_values"
                     : r->kind == RULE_K_COUNT || r->kind == RULE_K_DISTINCT
                         ? " or the threshold"
                         : "");
            return -1;
        }
        det_engine_destroy(e);
    }
    return 0;
}

void det_engine_destroy(det_engine *e)
{
    if (e == NULL)
        return;
    for (uint32_t i = 0; i < e->n; i++)
        rule_fini(&e->r[i]);
    free(e->r);
    det_index_destroy(e->ix);
    free(e->hc.gen_of);
    free(e->hc.h);
    free(e->hc.slot);
    det_dedupe_free(&e->dd);
    rule_set_destroy(e->own);
    free(e);
}
