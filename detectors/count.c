/*
 * count.c - exact per-group event count in a sliding window (see count.h
 * for the semantics, the value reported and the memory per group).
 *
 * Invariants of a state, after count_add() or count_level() at `now`:
 *   - the chain t holds len <= k offsets from `base`, ascending from its
 *     front; each kept time is > now - window and <= now;
 *   - the kept times are the len largest times of the events counted
 *     that are still in the window: an event not kept (older than every
 *     kept time of a full chain, or pushed out of it) is at or before
 *     every kept time, so it has left the window once any kept time has;
 *   - every kept offset fits in 32 bits: base <= now - window at the last
 *     (re)base, and a rebase happens before now - base exceeds 2^32 - 1;
 *   - events not kept are in the window only while the chain is full
 *     (a kept time leaves the window after them);
 *   - ring != 0 from the first event that finds the chain full (bucketed
 *     mode: from the first event), started from the kept times, which are
 *     then every event of the window, until it is empty at a move of
 *     `now`: so while events not kept are in the window the group has a
 *     ring, and a ring holds what a ring fed every counted event from the
 *     group's start would hold; its head is now's bucket.
 */
#include "detectors/count.h"

#include "detectors/kind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NO_TIME INT64_MIN
#define PER COUNT_PER_CHUNK

/* A chunk of kept times, after the chain's links (chunks.h). */
struct count_chunk {
    uint32_t next, prev;
    uint32_t t[PER];
};

_Static_assert(sizeof(struct count_chunk) == 64, "a chunk is 64 bytes");

/* The kept offset at a. */
static uint32_t *kept(const count_spec *s, chunks_pos a)
{
    return &((struct count_chunk *)chunks_at(&s->times, a.c))->t[a.i];
}

/* The i-th oldest kept time. */
static int64_t kept_time(const count_spec *s, const count_state *st,
                         uint32_t i)
{
    return st->base + *kept(s, chunks_nth(&s->times, &st->t, i));
}

static win_ring *ring_of(const count_spec *s, const count_state *st)
{
    return st->ring != 0 ? chunks_at(&s->rings, st->ring) : NULL;
}

int count_spec_init(count_spec *s, int64_t window_ms, double threshold,
                    double clear_threshold, uint32_t groups)
{
    size_t ring = 0;
    int rc = COUNT_EINVAL;

    memset(s, 0, sizeof *s);
    if (isnan(clear_threshold))
        clear_threshold = threshold;
    if (window_ms < 1 || window_ms > COUNT_MAX_WINDOW_MS ||
        !(threshold >= 0 && threshold <= COUNT_MAX_THRESHOLD) ||
        !(clear_threshold >= 0 && clear_threshold <= threshold) ||
        groups < 1)
        goto out;
    if (win_spec_init(&s->win, window_ms, 0, 1) != WIN_OK)
        goto out;
    s->window_ms = window_ms;
    s->fire_at = (uint64_t)floor(threshold) + 1;
    s->clear_max = (uint64_t)floor(clear_threshold);
    s->k = s->fire_at <= COUNT_EXACT_MAX ? (uint32_t)s->fire_at : 0;
    s->size = sizeof(count_state);
    ring = (win_ring_size(&s->win) + 7) & ~(size_t)7;
    rc = COUNT_ENOMEM;
    if (chunks_init(&s->times, sizeof(struct count_chunk),
                    groups * chunks_chain_max(PER, s->k), PER,
                    1) != CHUNKS_OK ||
        chunks_init(&s->rings, ring, groups, 0, 0) != CHUNKS_OK)
        goto out;
    rc = COUNT_OK;
out:
    if (rc != COUNT_OK)
        count_spec_fini(s);
    return rc;
}

void count_spec_fini(count_spec *s)
{
    chunks_fini(&s->times);
    chunks_fini(&s->rings);
}

void count_reset(count_spec *s, count_state *st)
{
    chunks_chain_free(&s->times, &st->t);
    if (st->ring != 0)
        chunks_put(&s->rings, st->ring);
    st->ring = 0;
    st->base = 0;
    st->now = NO_TIME;
}

/* Take now_ms as the newest now (never backwards), drop the kept times
 * that left the window and give the ring back once it is empty. */
__attribute__((hot))
static int64_t move_now(count_spec *s, count_state *st, int64_t now_ms)
{
    win_ring *r = ring_of(s, st);

    if (now_ms > st->now)
        st->now = now_ms;
    while (st->t.len > 0 && st->base + *kept(s, chunks_front(&st->t)) <=
                                st->now - s->window_ms)
        chunks_pop(&s->times, &st->t);
    if (r != NULL && win_sum(&s->win, r, st->now, 0) == 0) {
        chunks_put(&s->rings, st->ring);
        st->ring = 0;
    }
    return st->now;
}

/* A ring for the group, holding its kept times (every event of its
 * window, count.h).  Returns COUNT_OK or COUNT_ENOMEM. */
static int ring_start(count_spec *s, count_state *st, int64_t now)
{
    static const uint32_t one[1] = {1};
    chunks_pos a = chunks_front(&st->t);
    win_ring *r;
    int rc = COUNT_ENOMEM;

    if ((st->ring = chunks_get(&s->rings)) == 0)
        goto out;
    r = ring_of(s, st);
    win_ring_reset(&s->win, r);
    for (uint32_t i = 0; i < st->t.len; i++) {
        /* a kept time whose bucket has left is late for the ring too */
        (void)win_add(&s->win, r, now, st->base + *kept(s, a), one);
        if (i + 1 < st->t.len)
            chunks_next(&s->times, &a);
    }
    rc = COUNT_OK;
out:
    return rc;
}

/* Make room for offsets up to now - base (see the invariants). */
static void rebase(count_spec *s, count_state *st, int64_t now)
{
    int64_t nb = now - s->window_ms;
    chunks_pos a = chunks_front(&st->t);
    uint32_t d;

    if (st->t.len == 0) {
        st->base = nb;
    } else if (now - st->base > (int64_t)UINT32_MAX) {
        /* kept times are > nb, so every offset stays positive */
        d = (uint32_t)(nb - st->base);
        for (uint32_t i = 0; i < st->t.len; i++) {
            *kept(s, a) -= d;
            if (i + 1 < st->t.len)
                chunks_next(&s->times, &a);
        }
        st->base = nb;
    }
}

/* Keep time t (in the window) among the k largest.  Returns COUNT_OK or
 * COUNT_ENOMEM. */
static int keep(count_spec *s, count_state *st, int64_t now, int64_t t)
{
    chunks_pos a, b;
    uint32_t off, pos;
    int rc = COUNT_OK;

    rebase(s, st, now);
    off = (uint32_t)(t - st->base);
    if (st->t.len == s->k) {
        if (off < *kept(s, chunks_front(&st->t)))
            goto out;
        chunks_pop(&s->times, &st->t);
    }
    if (chunks_push(&s->times, &st->t, &a) != CHUNKS_OK) {
        rc = COUNT_ENOMEM;
        goto out;
    }
    /* move the later times up one place, newest first */
    for (pos = st->t.len - 1; pos > 0; pos--) {
        b = a;
        chunks_prev(&s->times, &b);
        if (*kept(s, b) <= off)
            break;
        *kept(s, a) = *kept(s, b);
        a = b;
    }
    *kept(s, a) = off;
out:
    return rc;
}

__attribute__((hot))
int count_add(count_spec *s, count_state *st, int64_t now_ms, int64_t t_ms)
{
    static const uint32_t one[1] = {1};
    int64_t now = move_now(s, st, now_ms);
    int rc = COUNT_OK, rc2 = COUNT_OK;

    if (t_ms > now)
        t_ms = now;
    if (t_ms <= now - s->window_ms) {
        rc = COUNT_LATE;
        goto out;
    }
    /* a ring before a time is dropped (exact mode) or counted (bucketed) */
    if (st->ring == 0 && st->t.len == s->k)
        rc = ring_start(s, st, now);
    if (s->k > 0)
        rc2 = keep(s, st, now, t_ms);
    /* at bucket precision the ring may find it late: its count is a
     * lower bound anyway */
    if (st->ring != 0)
        (void)win_add(&s->win, ring_of(s, st), now, t_ms, one);
    if (rc == COUNT_OK)
        rc = rc2;
out:
    return rc;
}

__attribute__((hot))
void count_level(count_spec *s, count_state *st, int64_t now_ms,
                 struct count_level *out)
{
    int64_t now = move_now(s, st, now_ms);
    win_ring *r = ring_of(s, st);
    uint64_t b = r != NULL ? win_sum(&s->win, r, now, 0) : 0;

    if (s->k > 0 && st->t.len < s->k) {
        out->value = st->t.len;
        out->exact = 1;
    } else {
        out->value = b > st->t.len ? b : st->t.len;
        out->exact = 0;
    }
    out->above = out->value >= s->fire_at;
    out->clear = out->value <= s->clear_max;
}

int64_t count_clear_time(count_spec *s, count_state *st)
{
    return count_clear_time_at(s, st, s->clear_max);
}

int64_t count_clear_time_at(count_spec *s, count_state *st,
                            uint64_t clear_max)
{
    int64_t now, t = NO_TIME;
    win_ring *r;

    if (st->now == NO_TIME)
        goto out;
    t = now = move_now(s, st, st->now);
    r = ring_of(s, st);
    if (s->k == 0) {
        if (r != NULL && win_sum(&s->win, r, now, 0) > clear_max)
            t = win_next_expiry(&s->win, r);
    } else if (st->t.len > clear_max) {
        /* the events not kept are older than every kept one: gone by
         * then */
        t = kept_time(s, st, (uint32_t)(st->t.len - clear_max - 1)) +
            s->window_ms;
        t = t > now ? t : now;
    }
out:
    return t;
}

/* ---- checkpoint bytes (count.h) ---- */

#define SAVE_VERSION 1
#define SAVE_RING 1u /* flags: a ring follows */

size_t count_save_bytes(const count_spec *s)
{
    return 1 + 1 + 8 + 4 + (s->k > 0 ? 8 + 4 * ((size_t)s->k - 1) : 0) +
           4 * (size_t)s->win.nbuckets;
}

int count_save(const count_spec *s, const count_state *st, buf *out)
{
    const win_ring *r = ring_of(s, st);
    chunks_pos a = chunks_front(&st->t);
    uint32_t prev = 0;
    int rc;

    rc = win_put(out, SAVE_VERSION, 1);
    if (rc == 0)
        rc = win_put(out, r != NULL ? SAVE_RING : 0, 1);
    if (rc == 0)
        rc = win_put(out, (uint64_t)st->now, 8);
    if (rc == 0)
        rc = win_put(out, st->t.len, 4);
    for (uint32_t i = 0; i < st->t.len && rc == 0; i++) {
        uint32_t off = *kept(s, a);
        rc = i == 0 ? win_put(out, (uint64_t)(st->base + off), 8)
                    : win_put(out, off - prev, 4);
        prev = off;
        if (i + 1 < st->t.len)
            chunks_next(&s->times, &a);
    }
    if (rc == 0 && r != NULL)
        rc = win_ring_save(&s->win, r, out);
    return rc;
}

int count_load(count_spec *s, count_state *st, const unsigned char *p,
               size_t n)
{
    win_rd rd = {p, n, 0};
    unsigned flags;
    int64_t now, t = 0;
    uint32_t len;
    chunks_pos a;
    int rc = -1;

    count_reset(s, st);
    if (win_get(&rd, 1) != SAVE_VERSION)
        goto out;
    flags = (unsigned)win_get(&rd, 1);
    now = (int64_t)win_get(&rd, 8);
    len = (uint32_t)win_get(&rd, 4);
    if (rd.bad || (flags & ~SAVE_RING) != 0)
        goto out;
    if (now == NO_TIME) {
        rc = flags == 0 && len == 0 && rd.left == 0 ? 0 : -1;
        goto out;
    }
    if (now < -WIN_TIME_MAX || now > WIN_TIME_MAX || len > s->k)
        goto out;
    st->now = now;
    st->base = now - s->window_ms;
    for (uint32_t i = 0; i < len; i++) {
        t = i == 0 ? (int64_t)win_get(&rd, 8) : t + (int64_t)win_get(&rd, 4);
        if (rd.bad || t <= st->base || t > now ||
            chunks_push(&s->times, &st->t, &a) != CHUNKS_OK)
            goto out;
        *kept(s, a) = (uint32_t)(t - st->base);
    }
    if (flags & SAVE_RING) {
        if ((st->ring = chunks_get(&s->rings)) == 0 ||
            win_ring_load(&s->win, ring_of(s, st), win_bucket(&s->win, now),
                          &rd) != 0)
            goto out;
    }
    rc = rd.left == 0 && !rd.bad ? 0 : -1;
out:
    if (rc != 0)
        count_reset(s, st);
    return rc;
}

/* ---- the `count` rule kind (kind.h) ------------------------------------
 * Matching events of a group in (now - window_s, now] against the group's
 * threshold (strict) and clear threshold.  The state is sized for the
 * largest threshold of the rule (its own or an override's): K = floor of
 * it + 1 kept times at most, so every group decides exactly against its
 * own, lower or equal, threshold (a full chain means at least K events,
 * above any of them).  Memory per group: count.h's table; the pools are
 * reserved for max_keys groups and given back at destroy.
 */

static int kind_create(struct det_rule *r)
{
    int rc = -1;

    if (count_spec_init(&r->spec.count, r->window_ms, r->thr_max,
                        r->thr_max, r->keys.cap_alloc) != COUNT_OK)
        goto out;
    r->stride = r->spec.count.size;
    rc = 0;
out:
    return rc;
}

static void kind_destroy(struct det_rule *r)
{
    count_spec_fini(&r->spec.count);
}

static void kind_reset(struct det_rule *r, uint32_t slot)
{
    count_reset(&r->spec.count, det_state(r, slot));
}

__attribute__((hot))
static void kind_tick(struct det_rule *r, uint32_t slot, int64_t now,
                      struct det_verdict *v)
{
    count_state *st = det_state(r, slot);
    struct count_level l;

    count_level(&r->spec.count, st, now, &l);
    det_verdict_level(r, slot, (double)l.value, v);
    if (det_watched(r, slot, v))
        v->next_ms = count_clear_time_at(
            &r->spec.count, st, (uint64_t)floor(det_clear(r, slot)));
}

/* Bucketed mode: is time t in a bucket that has left the window at now?
 * count_add() counts such an event (a lower bound there) but its ring,
 * all the group has, drops it: for the rule it is late, as sum's. */
static int bucket_late(const count_spec *s, int64_t now, int64_t t)
{
    return s->k == 0 && win_bucket(&s->win, t) <=
                            win_bucket(&s->win, now) - (int64_t)s->win.nbuckets;
}

__attribute__((hot))
static int kind_feed(struct det_rule *r, struct det_input *in,
                     struct det_verdict *v)
{
    uint32_t slot = det_group(r, in);
    count_spec *s = &r->spec.count;

    if (slot == DET_NIL)
        return 0;
    return det_fed(r,
                   bucket_late(s, in->now_ms, in->t_ms) ||
                       count_add(s, det_state(r, slot), in->now_ms,
                                 in->t_ms) == COUNT_LATE,
                   slot, in, kind_tick, v);
}

/* "101 completed calls in 60s for tool search_web (threshold 100)" */
static void kind_summary(const struct det_rule *r, const struct det_alert *a,
                         int resolved, char *out, size_t size)
{
    char thr[32], g[DET_KEY_MAX + 64];

    buf_format_number(det_alert_thr(r, a), thr, sizeof thr);
    det_describe(r, a, 1, g, sizeof g);
    snprintf(out, size, "%s%.0f %s in %llds %s (threshold %s)",
             resolved ? "back to normal: " : "", a->value, det_noun(r, 1),
             (long long)(r->window_ms / 1000), g, thr);
}

static int kind_save(const struct det_rule *r, uint32_t slot, buf *out)
{
    return count_save(&r->spec.count, det_state(r, slot), out);
}

static int kind_load(struct det_rule *r, uint32_t slot,
                     const unsigned char *p, size_t n)
{
    return count_load(&r->spec.count, det_state(r, slot), p, n);
}

static size_t kind_checkpoint_bytes(const struct det_rule *r)
{
    return count_save_bytes(&r->spec.count);
}

const struct det_kind det_kind_count = {
    .name = "count",
    .create = kind_create,
    .reset = kind_reset,
    .feed = kind_feed,
    .tick = kind_tick,
    .destroy = kind_destroy,
    .summary = kind_summary,
    .save = kind_save,
    .load = kind_load,
    .checkpoint_bytes = kind_checkpoint_bytes,
};
