/*
 * engine.c - clock, duplicates, groups and the alert lifecycle (engine.h).
 *
 * Invariants:
 *   - now_ms never decreases; INT64_MIN until the first event or tick;
 *   - a group with state != IDLE is pinned (keys.h) and so never evicted;
 *     stream_stalled's one group is pinned for life;
 *   - every pinned group of an enabled detector has deadline_ms > now_ms
 *     after any public call returns, and next_deadline <= the smallest of
 *     them (it may be earlier: a timer that finds nothing due is harmless);
 *   - nothing on the feed path allocates, logs or reads a clock.
 */
#include "detectors/engine.h"

#include "detectors/dedupe.h"
#include "detectors/hash.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NO_TIME INT64_MIN
#define NO_KEY "(none)"
#define DRAIN_MAX_STEPS 100000000u /* safety stop of det_engine_drain */

struct det_engine {
    struct det det[DET_COUNT];
    struct det_config cfg;
    int64_t lateness_ms, skew_ms, repeat_ms, hold_ms;
    det_dedupe dd;
    int64_t now_ms;
    int64_t wall_ms;          /* last wall clock given, 0 in replay */
    int64_t next_deadline;
    int draining;
    unsigned group_mask;      /* 1 << group_by of each keyed detector */
    /* the enabled detectors to feed, in registry order: [0] for an event
     * that is not a completed call (no DET_F_CALLS ones), [1] for one */
    unsigned char feed_ix[2][DET_COUNT];
    unsigned nfeed[2];
    unsigned char hkey[DET_HASH_KEY_BYTES];
    char last_record_id[EVENT_ID_MAX];
    char pf_id[EVENT_ID_MAX]; /* det_engine_prefetch's id (pf_len bytes) */
    size_t pf_len;            /* 0: no hint pending */
    uint64_t pf_h0;           /* its hash's first half (the filter's key) */
    struct det_engine_stats st;
    const struct det_engine_callbacks *cb;
    void *ud;
    char source[128];
    char summary[ALERT_SUMMARY_MAX];
};

/* ---- keys ---- */

__attribute__((hot))
static void hash_bytes(const unsigned char *hkey, const char *s, size_t n,
                       uint64_t *h0, uint64_t *h1)
{
    uint64_t h[2];

    det_hash(hkey, s, n, h);
    *h0 = h[0];
    *h1 = h[1];
}

__attribute__((hot))
static void hash_text(const unsigned char *hkey, const char *s, uint64_t *h0,
                      uint64_t *h1)
{
    hash_bytes(hkey, s, strlen(s), h0, h1);
}

__attribute__((hot))
void det_input_hash(struct det_input *in, enum det_group g, uint64_t *h0,
                    uint64_t *h1)
{
    if (!(in->hashed & (1u << g))) {
        hash_text(in->hkey, in->text[g], &in->h[g][0], &in->h[g][1]);
        in->hashed |= 1u << g;
    }
    *h0 = in->h[g][0];
    *h1 = in->h[g][1];
}

__attribute__((hot))
uint32_t det_group_of(struct det *d, struct det_input *in, int *created)
{
    uint64_t h0, h1;

    det_input_hash(in, (enum det_group)d->p.group_by, &h0, &h1);
    return det_keys_get(&d->keys, h0, h1, created);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- lifecycle ---- */

/* Send one notification; `why` (may be NULL) replaces the detector's
 * summary. */
static void notify_as(det_engine *e, struct det *d, const struct det_alert *a,
                      int resolved, const char *why)
{
    struct alert al;

    memset(&al, 0, sizeof al);
    if (why != NULL)
        copy_str(e->summary, sizeof e->summary, why);
    else
        d->ops->summary(d, a, resolved, e->summary, sizeof e->summary);
    al.resolved = resolved;
    al.timestamp_ms = e->wall_ms > 0 ? e->wall_ms : e->now_ms;
    memcpy(al.id, a->id, sizeof al.id);
    al.detector = d->ops->name;
    al.group_by = det_group_names[d->p.group_by];
    al.key = a->key;
    al.severity = severity_names[d->p.severity];
    al.summary = e->summary;
    al.value = a->value;
    al.threshold = d->p.threshold;
    al.window_s = d->p.window_s;
    al.started_ms = a->started_ms;
    al.resolved_ms = a->clear_since_ms;
    al.sample = &a->sample;
    al.source = e->source;
    e->st.notifications++;
    if (e->cb != NULL && e->cb->on_alert != NULL)
        e->cb->on_alert(e->ud, &al);
}

static void notify(det_engine *e, struct det *d, const struct det_alert *a,
                   int resolved)
{
    notify_as(e, d, a, resolved, NULL);
}

static void fire(det_engine *e, struct det *d, uint32_t s,
                 const struct det_verdict *v, const struct det_input *in)
{
    struct det_alert *a = &d->alert[s];

    d->keys.slot[s].state = DET_ST_FIRING;
    det_keys_pin(&d->keys, s);
    a->started_ms = e->now_ms;
    a->last_sent_ms = e->now_ms;
    a->clear_since_ms = 0;
    a->value = v->value;
    a->aux[0] = v->aux[0];
    a->aux[1] = v->aux[1];
    if (in != NULL) {
        copy_str(a->key, sizeof a->key, in->text[d->p.group_by]);
        alert_sample_from_event(&a->sample, in->ev);
    } else {
        /* a timer fired it: stream_stalled, the one global group; the
         * sample is the last event seen */
        copy_str(a->key, sizeof a->key, "global");
        memset(&a->sample, 0, sizeof a->sample);
        copy_str(a->sample.record_id, sizeof a->sample.record_id,
                 e->last_record_id);
    }
    alert_episode_id(d->ops->name, a->key, a->started_ms, a->id);
    d->st.fired++;
    notify(e, d, a, 0);
}

static void resolve(det_engine *e, struct det *d, uint32_t s)
{
    d->keys.slot[s].state = DET_ST_IDLE;
    d->st.resolved++;
    notify(e, d, &d->alert[s], 1);
    if (d->ops->flags & DET_F_PER_CALL)
        det_keys_remove(&d->keys, s);
    else if (!(d->ops->flags & DET_F_TIMER))
        det_keys_unpin(&d->keys, s);
}

static void schedule(det_engine *e, struct det *d, uint32_t s,
                     const struct det_verdict *v)
{
    struct det_alert *a = &d->alert[s];
    /* a detector's "may change at" in the past means "not by time" */
    int64_t dl = v->next_ms > e->now_ms ? v->next_ms : INT64_MAX, t;

    switch (d->keys.slot[s].state) {
    case DET_ST_FIRING:
        t = a->last_sent_ms + e->repeat_ms;
        dl = t < dl ? t : dl;
        break;
    case DET_ST_CLEARING:
        t = a->clear_since_ms + e->hold_ms;
        dl = t < dl ? t : dl;
        break;
    default:
        break;
    }
    if (dl <= e->now_ms) /* progress, whatever a detector says */
        dl = e->now_ms + 1;
    a->deadline_ms = dl;
    if (dl < e->next_deadline)
        e->next_deadline = dl;
}

/* Apply a verdict at now_ms.  `in` is the event (NULL for a timer). */
__attribute__((hot))
static void transition(det_engine *e, struct det *d,
                       const struct det_verdict *v,
                       const struct det_input *in)
{
    uint32_t s = v->slot;
    struct det_slot *x = &d->keys.slot[s];
    struct det_alert *a = &d->alert[s];

    switch (x->state) {
    case DET_ST_IDLE:
        if (v->level == DET_ABOVE)
            fire(e, d, s, v, in);
        else if (!x->pinned)
            return; /* an idle group: nothing to remember */
        break;
    case DET_ST_FIRING:
        a->value = v->value;
        a->aux[0] = v->aux[0];
        a->aux[1] = v->aux[1];
        if (v->level == DET_CLEAR) {
            x->state = DET_ST_CLEARING;
            a->clear_since_ms = e->now_ms;
            if (e->hold_ms == 0) {
                resolve(e, d, s);
                break;
            }
        } else if (e->now_ms >= a->last_sent_ms + e->repeat_ms) {
            a->last_sent_ms = e->now_ms;
            d->st.repeated++;
            notify(e, d, a, 0);
        }
        break;
    case DET_ST_CLEARING:
        a->value = v->value;
        a->aux[0] = v->aux[0];
        a->aux[1] = v->aux[1];
        if (v->level != DET_CLEAR)
            x->state = DET_ST_FIRING; /* back within hold_s: same episode */
        else if (e->now_ms >= a->clear_since_ms + e->hold_ms)
            resolve(e, d, s);
        break;
    }
    if (x->used && x->pinned)
        schedule(e, d, s, v);
}

static int timers_active(const det_engine *e, const struct det *d)
{
    return d->p.enabled && !(e->draining && (d->ops->flags & DET_F_TIMER));
}

/* Run every timer due at now_ms; recompute next_deadline. */
static void run_timers(det_engine *e)
{
    struct det_verdict v;

    e->next_deadline = INT64_MAX;
    e->st.timer_runs++;
    for (int i = 0; i < DET_COUNT; i++) {
        struct det *d = &e->det[i];
        uint32_t s, nxt;

        if (!timers_active(e, d))
            continue;
        for (s = d->keys.pin_head; s != DET_NIL; s = nxt) {
            nxt = d->keys.slot[s].next;
            if (d->alert[s].deadline_ms <= e->now_ms) {
                d->ops->eval(d, s, e->now_ms, &v);
                transition(e, d, &v, NULL);
            } else if (d->alert[s].deadline_ms < e->next_deadline) {
                e->next_deadline = d->alert[s].deadline_ms;
            }
        }
    }
}

/* Re-evaluate every pinned group (the clock started, or draining began). */
static void reschedule_all(det_engine *e)
{
    struct det_verdict v;

    e->next_deadline = INT64_MAX;
    for (int i = 0; i < DET_COUNT; i++) {
        struct det *d = &e->det[i];

        if (!timers_active(e, d))
            continue;
        for (uint32_t s = d->keys.pin_head; s != DET_NIL;
             s = d->keys.slot[s].next) {
            d->ops->eval(d, s, e->now_ms, &v);
            schedule(e, d, s, &v);
        }
    }
}

/* Move the clock to `target`, running the timers due on the way, each at
 * its own time. */
__attribute__((hot))
static void advance(det_engine *e, int64_t target)
{
    if (target == NO_TIME)
        return;
    if (e->now_ms == NO_TIME) {
        e->now_ms = target;
        for (int i = 0; i < DET_COUNT; i++)
            if (e->det[i].p.enabled && e->det[i].ops->clock_start != NULL)
                e->det[i].ops->clock_start(&e->det[i], target);
        reschedule_all(e);
    }
    while (e->next_deadline <= target) {
        if (e->next_deadline > e->now_ms)
            e->now_ms = e->next_deadline;
        run_timers(e);
    }
    if (target > e->now_ms)
        e->now_ms = target;
}

/* ---- public ---- */

__attribute__((hot))
void det_engine_prefetch(det_engine *e, const char *id, size_t n)
{
    uint64_t h0, h1;

    e->pf_len = 0;
    if (e->dd.n == 0 || n == 0 || n >= sizeof e->pf_id)
        return;
    hash_bytes(e->hkey, id, n, &h0, &h1);
    det_dedupe_prefetch(&e->dd, h0);
    memcpy(e->pf_id, id, n);
    e->pf_len = n;
    e->pf_h0 = h0;
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

__attribute__((hot))
int det_engine_feed(det_engine *e, const struct event *ev, int64_t wall_ms)
{
    struct det_input in;
    struct det_verdict v;
    int64_t t = NO_TIME, target, floor_ms = NO_TIME;
    uint64_t late_before = 0, late_after = 0;
    int calls;

    e->st.events++;
    if (wall_ms > 0) {
        e->wall_ms = wall_ms;
        floor_ms = wall_ms - e->lateness_ms;
    }
    if (ev->has & EVENT_HAS_TIMESTAMP) {
        t = ev->ts_ms;
        if (wall_ms > 0 && t > wall_ms + e->skew_ms) {
            t = wall_ms;
            e->st.future_clamped++;
        }
    } else if (e->now_ms == NO_TIME && floor_ms == NO_TIME) {
        e->st.untimed++;
        return DET_FEED_UNTIMED;
    } else {
        e->st.no_timestamp++;
    }
    in.text[DET_BY_TOOL] = ev->tool_name[0] ? ev->tool_name : NO_KEY;
    in.text[DET_BY_AGENT] = ev->agent_id[0] ? ev->agent_id : NO_KEY;
    in.text[DET_BY_SESSION] = ev->session_id[0] ? ev->session_id : NO_KEY;
    in.text[DET_BY_GLOBAL] = "global";
    in.hashed = 0;
    in.hkey = e->hkey;
    if (ev->record_id[0] != '\0' && e->dd.n > 0) {
        uint64_t h0, h1;
        /* the duplicate check misses the cache: unless the caller's hint
         * started the load long ago, start it now, and hash the grouping
         * keys the detectors will need while it comes (with the hint they
         * are hashed when a detector asks: a request needs none) */
        if (!take_prefetched(e, ev->record_id, &h0)) {
            hash_text(e->hkey, ev->record_id, &h0, &h1);
            det_dedupe_prefetch(&e->dd, h0);
            for (unsigned g = 0; g < DET_BY_COUNT; g++)
                if (e->group_mask & (1u << g))
                    det_input_hash(&in, (enum det_group)g, &h1, &h1);
        }
        if (det_dedupe_seen(&e->dd, h0)) {
            e->st.duplicates++;
            return DET_FEED_DUPLICATE;
        }
    }
    target = e->now_ms;
    if (t > target)
        target = t;
    if (floor_ms > target)
        target = floor_ms;
    advance(e, target);
    if (t == NO_TIME || t > e->now_ms)
        t = e->now_ms;

    in.ev = ev;
    in.t_ms = t;
    in.now_ms = e->now_ms;
    copy_str(e->last_record_id, sizeof e->last_record_id, ev->record_id);

    calls = det_is_completed(ev);
    for (unsigned k = 0; k < e->nfeed[calls]; k++) {
        struct det *d = &e->det[e->feed_ix[calls][k]];

        late_before += d->st.late;
        if (d->ops->feed(d, &in, &v))
            transition(e, d, &v, &in);
        late_after += d->st.late;
    }
    if (late_after != late_before)
        e->st.late++;
    e->st.counted++;
    return DET_FEED_COUNTED;
}

void det_engine_tick(det_engine *e, int64_t wall_ms)
{
    if (wall_ms <= 0)
        return;
    e->wall_ms = wall_ms;
    advance(e, wall_ms - e->lateness_ms);
}

void det_engine_connection(det_engine *e, int connected, int64_t wall_ms)
{
    struct det *d = &e->det[DET_STREAM_STALLED];

    det_engine_tick(e, wall_ms);
    if (d->p.enabled && d->ops->connection != NULL)
        d->ops->connection(d, connected, e->now_ms);
}

void det_engine_drain(det_engine *e)
{
    unsigned steps = 0;

    if (e->now_ms == NO_TIME)
        return;
    e->draining = 1;
    reschedule_all(e);
    while (e->next_deadline != INT64_MAX && steps++ < DRAIN_MAX_STEPS)
        advance(e, e->next_deadline);
    e->draining = 0;
    reschedule_all(e);
}

/* Resolve every open alert of d with a notification that says why. */
static void close_open(det_engine *e, struct det *d, const char *why)
{
    for (uint32_t s = d->keys.pin_head; s != DET_NIL;) {
        uint32_t next = d->keys.slot[s].next;
        if (d->keys.slot[s].state != DET_ST_IDLE) {
            struct det_alert *a = &d->alert[s];
            if (a->clear_since_ms == 0)
                a->clear_since_ms = e->now_ms;
            d->keys.slot[s].state = DET_ST_IDLE;
            d->st.resolved++;
            notify_as(e, d, a, 1, why);
        }
        s = next;
    }
}

static int same_settings(const det_engine *a, const det_engine *b, int i)
{
    return memcmp(&a->cfg.det[i], &b->cfg.det[i], sizeof a->cfg.det[i]) ==
               0 &&
           a->cfg.engine.max_keys == b->cfg.engine.max_keys;
}

int det_engine_adopt(det_engine *e, det_engine *old)
{
    static const char why[] =
        "closed by a configuration reload: this detector's settings "
        "changed; it fires again under the new settings if the condition "
        "still holds";
    int kept = 0;

    if (old == NULL || old->now_ms == NO_TIME)
        return 0;
    e->now_ms = old->now_ms;
    e->wall_ms = old->wall_ms;
    memcpy(e->hkey, old->hkey, sizeof e->hkey);
    memcpy(e->last_record_id, old->last_record_id, sizeof e->last_record_id);
    if (e->cfg.engine.dedupe_window == old->cfg.engine.dedupe_window) {
        det_dedupe t = e->dd;
        e->dd = old->dd;
        old->dd = t;
    }
    for (int i = 0; i < DET_COUNT; i++) {
        if (same_settings(e, old, i)) {
            struct det t = e->det[i];
            e->det[i] = old->det[i];
            old->det[i] = t;
            kept++;
        } else if (old->det[i].ops != NULL && old->det[i].alert != NULL) {
            close_open(old, &old->det[i], why);
        }
    }
    reschedule_all(e);
    return kept;
}

int64_t det_engine_now(const det_engine *e)
{
    return e->now_ms;
}

const struct det_engine_stats *det_engine_stats(const det_engine *e)
{
    return &e->st;
}

const struct det_stats *det_engine_det_stats(const det_engine *e,
                                             enum det_id id)
{
    if ((unsigned)id >= DET_COUNT || !e->det[id].p.enabled)
        return NULL;
    return &e->det[id].st;
}

int det_engine_groups(const det_engine *e, enum det_id id,
                      struct det_group_info *out)
{
    const struct det *d;

    memset(out, 0, sizeof *out);
    if ((unsigned)id >= DET_COUNT || !e->det[id].p.enabled)
        return -1;
    d = &e->det[id];
    out->groups = d->keys.count;
    out->alerting = d->keys.npinned;
    out->evictions = d->keys.evictions;
    out->full = d->keys.full;
    return 0;
}

int det_engine_is_firing(const det_engine *e, enum det_id id,
                         const char *key)
{
    const struct det *d;
    uint64_t h0, h1;
    uint32_t s;

    if ((unsigned)id >= DET_COUNT || !e->det[id].p.enabled)
        return 0;
    d = &e->det[id];
    if (d->ops->flags & DET_F_TIMER) {
        s = d->keys.pin_head;
    } else {
        hash_text(e->hkey, key, &h0, &h1);
        s = det_keys_find(&d->keys, h0, h1);
    }
    return s != DET_NIL && d->keys.slot[s].state != DET_ST_IDLE;
}

size_t det_group_bytes(const struct det_config *c, enum det_id id,
                       size_t *alert_bytes)
{
    const struct det_ops *ops = det_registry[id];
    size_t n = sizeof(struct det_slot) + sizeof(uint32_t);
    win_spec w;

    if ((ops->flags & DET_F_WINDOW) &&
        win_spec_init(&w, c->det[id].window_s * 1000, c->det[id].bucket_ms,
                      ops->nfields) == WIN_OK)
        n += win_ring_size(&w);
    if (alert_bytes != NULL)
        *alert_bytes = sizeof(struct det_alert);
    return n;
}

static void det_free(struct det *d)
{
    if (d->ops != NULL && d->ops->destroy != NULL)
        d->ops->destroy(d);
    det_slab_free(d->data, (size_t)d->keys.cap_alloc * d->stride);
    det_slab_free(d->alert, (size_t)d->keys.cap_alloc * sizeof *d->alert);
    det_keys_free(&d->keys);
    d->data = NULL;
    d->alert = NULL;
}

static int det_init(det_engine *e, struct det *d, enum det_id id)
{
    uint32_t cap;

    d->ops = det_registry[id];
    d->id = id;
    d->p = e->cfg.det[id];
    d->window_ms = d->p.window_s * 1000;
    if (!d->p.enabled)
        return 0;
    cap = (d->ops->flags & DET_F_TIMER) ? 1
                                         : (uint32_t)e->cfg.engine.max_keys;
    if (det_keys_init(&d->keys, cap) != DET_KEYS_OK)
        return -1;
    if ((d->alert = det_slab_alloc((size_t)cap * sizeof *d->alert)) == NULL)
        return -1;
    if (d->ops->flags & DET_F_WINDOW) {
        if (win_spec_init(&d->win, d->window_ms, d->p.bucket_ms,
                          d->ops->nfields) != WIN_OK)
            return -1;
        d->stride = win_ring_size(&d->win);
        if ((d->data = det_slab_alloc((size_t)cap * d->stride)) == NULL)
            return -1;
    }
    if (d->ops->create != NULL && d->ops->create(d) != 0)
        return -1;
    return 0;
}

det_engine *det_engine_create(const struct det_config *c, const char *source,
                              const struct det_engine_callbacks *cb,
                              void *ud)
{
    det_engine *e = NULL;
    char err[256];
    int rc = -1;

    if (c == NULL || sodium_init() < 0)
        goto out;
    if ((e = calloc(1, sizeof *e)) == NULL)
        goto out;
    e->cfg = *c;
    if (det_config_check(&e->cfg, err, sizeof err) != 0)
        goto out;
    e->cb = cb;
    e->ud = ud;
    copy_str(e->source, sizeof e->source,
             source != NULL ? source : "toolwatch");
    randombytes_buf(e->hkey, sizeof e->hkey);
    e->lateness_ms = c->engine.allowed_lateness_s * 1000;
    e->skew_ms = c->engine.max_future_skew_s * 1000;
    e->repeat_ms = c->engine.repeat_interval_s * 1000;
    e->hold_ms = c->engine.hold_s * 1000;
    e->now_ms = NO_TIME;
    e->next_deadline = INT64_MAX;
    if (c->engine.dedupe_window > 0 &&
        det_dedupe_init(&e->dd, (uint32_t)c->engine.dedupe_window) !=
            DET_DEDUPE_OK)
        goto out;
    for (int i = 0; i < DET_COUNT; i++) {
        struct det *d = &e->det[i];
        if (det_init(e, d, (enum det_id)i) != 0)
            goto out;
        /* the groups that every completed call is counted under (not
         * credential_access's: only calls to credential tools are) */
        if (d->p.enabled && (d->ops->flags & DET_F_WINDOW) &&
            i != DET_CREDENTIAL_ACCESS && d->p.group_by != DET_BY_GLOBAL)
            e->group_mask |= 1u << d->p.group_by;
        if (!d->p.enabled)
            continue;
        e->feed_ix[1][e->nfeed[1]++] = (unsigned char)i;
        if (!(d->ops->flags & DET_F_CALLS))
            e->feed_ix[0][e->nfeed[0]++] = (unsigned char)i;
    }
    rc = 0;
out:
    if (rc != 0) {
        det_engine_destroy(e);
        e = NULL;
    }
    return e;
}

void det_engine_destroy(det_engine *e)
{
    if (e == NULL)
        return;
    for (int i = 0; i < DET_COUNT; i++)
        det_free(&e->det[i]);
    det_dedupe_free(&e->dd);
    free(e);
}
