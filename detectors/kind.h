/*
 * kind.h - what a rule kind is to the engine: an ops table (name, create,
 * reset, feed, tick, destroy, and the words of its alerts) over one rule
 * instance, whose per-group state the engine keeps in a slab with the
 * kind's fixed stride.  A kind's keys (its settings table, with defaults
 * and ranges) are rule.h's rule_kinds[]; its operations are det_kinds[],
 * the static registry in engine.c, indexed by the same enum
 * rule_kind_id.  One .c per kind: count, sum, ratio, distinct, max,
 * sequence, new_value, baseline, absence.
 *
 * Division of work.  A kind decides, for one group at one event time, how
 * its condition stands: ABOVE (the fire condition holds), BETWEEN (an open
 * alert stays open) or CLEAR (the clear condition holds), and when that
 * may next change with no event.  The engine does everything else:
 * matching and the per-type rule sets, groups (keys.h) and their
 * overrides, timestamps, duplicates, fire / repeat / hold / resolve,
 * episode ids and the alert.
 *
 * Per group the engine keeps (memory per group, besides the kind's own
 * stride documented in each kind's file):
 *   32 bytes  struct det_slot (keys.h) + 4 per hash bucket
 *   8 bytes   the group's threshold, only for rules whose overrides set
 *             thresholds
 *   sizeof(struct det_alert) (about 1.3 KB), touched only for groups that
 *             alert (absence groups keep their values in their own state
 *             and take a record only when they fire)
 * Slabs come from mmap (det_slab_alloc): a slot costs resident memory
 * only once a group uses it.
 *
 * Everything here runs on the engine's thread; nothing allocates after
 * create, reads a clock or does I/O.
 */
#ifndef TW_KIND_H
#define TW_KIND_H

#include "base/buf.h"
#include "detectors/baseline.h"
#include "detectors/count.h"
#include "detectors/distinct.h"
#include "detectors/keys.h"
#include "detectors/new_value.h"
#include "detectors/rule.h"
#include "detectors/sequence.h"
#include "detectors/timers.h"
#include "detectors/window.h"
#include "model/alert.h"
#include "model/event.h"

#include <stddef.h>
#include <stdint.h>

enum det_level { DET_CLEAR = 0, DET_BETWEEN, DET_ABOVE };

/* Alert state of a group (struct det_slot.state). */
enum det_state { DET_ST_IDLE = 0, DET_ST_FIRING, DET_ST_CLEARING };

/* Flags of a group (struct det_slot.spare), set when it is created. */
enum {
    DET_G_MUTED = 1u << 0, /* an override mutes it: never fed, never fires */
    DET_G_ALERT = 1u << 1, /* new_value: an alert group (group_by + value) */
    DET_G_OVERFLOW = 1u << 2, /* the rule's overflow group (keys.h) */
    DET_G_TIMED = 1u << 3     /* DET_KF_EDGE: idle, on the rule's timers
                                 (its values and an event in its alert
                                 record) */
};

/* The overflow group's values and key, as shown. */
#define DET_OVERFLOW_TEXT "(overflow)"
/* The rule-like name of the capacity warning. */
#define DET_CAPACITY_RULE "rule_capacity"

#define DET_NONE_TEXT "(none)" /* a missing group value, as shown */
/* group values of one group, each with its NUL */
#define DET_VALUES_MAX (ALERT_GROUP_MAX * EVENT_NAME_MAX)
#define DET_KEY_MAX (DET_VALUES_MAX + 8) /* the key text, with the NUL */
#define DET_TEXT_MAX 128                 /* a kind's text in an alert */

/* Per-group alert record, touched only for groups that alert. */
struct det_alert {
    int64_t started_ms;      /* episode start (event time) */
    int64_t last_sent_ms;    /* last firing notification */
    int64_t clear_since_ms;  /* CLEARING since */
    int64_t deadline_ms;     /* next timer for this group */
    double value;            /* the kind's value at the last verdict */
    double aux[2];           /* the kind's (ratio: numerator, events) */
    char id[ALERT_ID_HEX + 1];
    uint32_t nvals;          /* group values in vals */
    char vals[DET_VALUES_MAX]; /* each NUL-terminated; "" = missing */
    char text[DET_TEXT_MAX]; /* the kind's (new_value: the value) */
    struct alert_sample sample; /* the event that started the episode */
    uint8_t overflow;        /* the overflow group's: key "(overflow)" */
};

/* Counters of one rule, besides counted and late (struct det_rule). */
struct det_rule_stats {
    uint64_t fired;     /* episodes started */
    uint64_t repeated;
    uint64_t resolved;
};

/* The bytes of struct det_hcache's pack (absence.c's state buffer). */
#define DET_PACK_MAX 144
#define DET_PACK_NONE UINT16_MAX

/* The engine's per-event cache of group hashes (private). */
/* Strings of one event det_hash_text remembers the hash of. */
#define DET_TXT_MEMO 4

struct det_hcache {
    const unsigned char *hkey;
    uint32_t gen;          /* this event's generation */
    uint32_t *gen_of;      /* per group_by field set: generation hashed */
    uint64_t (*h)[2];      /* per group_by field set: its hash */
    uint32_t *slot;        /* per group_by field set: the slot a rule
                              found its group at, this event (a hint for
                              the next rule: det_keys_get_near) */
    /* det_hash_text's hashes of this event's strings, by address (the
     * event does not change while the rules take it): valid while
     * txt_gen == gen; rules counting the same field hash it once */
    uint32_t txt_gen;
    uint32_t ntxt;
    const char *txt_p[DET_TXT_MEMO];
    uint64_t txt_h[DET_TXT_MEMO][2];
    /* absence.c's: the event's strings an absence group keeps, packed
     * once an event for every absence rule it reaches; valid while
     * pack_gen == gen; pack_len DET_PACK_NONE when they do not fit */
    uint32_t pack_gen;
    uint16_t pack_len;
    char pack[DET_PACK_MAX];
};

/* One event as the engine hands it to a rule. */
struct det_input {
    const struct event *ev;
    int64_t t_ms;     /* the event's time (clamped; `now` when untimed) */
    int64_t now_ms;
    struct det_hcache *hc; /* private */
};

/* A kind's verdict for one group. */
struct det_verdict {
    uint32_t slot;
    enum det_level level;
    double value;
    double aux[2];
    int64_t next_ms;     /* when the level may change with no event */
    int64_t since_ms;    /* absence, DET_ABOVE: when the silence passed
                            its threshold, the episode's start (earlier
                            than now when the kind waited for late
                            records: absence.c); other kinds leave it */
    const char *extra;   /* new_value: the value, the group's last field
                            (NULL: none) */
    const char *text;    /* copied to the alert record's text when it
                            fires (NULL: left as it is) */
};

struct det_rule;

/* Flags of a kind. */
enum {
    DET_KF_REMOVE = 1u << 0,  /* a group is removed when its alert
                                 resolves (it keeps nothing else) */
    DET_KF_ABSENCE = 1u << 1, /* fires with no event: idle groups are
                                 watched (the oldest first, from the LRU
                                 list); asleep while draining */
    DET_KF_KEEP = 1u << 2,    /* the group keeps its values and last event
                                 for alerts that time fires (in the kind's
                                 state: recall / retain; else in its alert
                                 record) */
    DET_KF_EDGE = 1u << 3     /* its value may cross the threshold with no
                                 event, as the window's edge passes: an
                                 idle group whose verdict gives a next_ms
                                 is timed then (r->timers, engine.c
                                 time_idle) */
};

/* A feed's answer (besides 0 and 1): apply the verdict, then feed the
 * event again. */
#define DET_FEED_AGAIN 2

struct det_kind {
    const char *name;
    unsigned flags;
    /* Set up r: the kind's spec, r->stride (bytes of state per group),
     * r->priv.  Called once the engine has filled r's rule fields.
     * Returns 0 or -1 (the rule cannot run: out of memory). */
    int (*create)(struct det_rule *r);
    /* A new group's state (r->stride bytes at det_state(r, slot)). */
    void (*reset)(struct det_rule *r, uint32_t slot);
    /* One event the rule sees: return 1 and fill *v when a group's
     * condition must be looked at, 0 when nothing changed for an idle
     * group; DET_FEED_AGAIN when *v must be applied before the event
     * counts, and the event fed again then (absence: a silence its own
     * record shows, which fires and clears at once). */
    int (*feed)(struct det_rule *r, struct det_input *in,
                struct det_verdict *v);
    /* Re-evaluate a group at now_ms (timers). */
    void (*tick)(struct det_rule *r, uint32_t slot, int64_t now_ms,
                 struct det_verdict *v);
    void (*destroy)(struct det_rule *r); /* may be NULL */
    /* One sentence for the alert. */
    void (*summary)(const struct det_rule *r, const struct det_alert *a,
                    int resolved, char *out, size_t size);
    /* value / threshold / window_s of the alert, when not the engine's
     * (a->value, the group's threshold, the rule's window_s).  May be
     * NULL. */
    void (*fill)(const struct det_rule *r, const struct det_alert *a,
                 struct alert *al);
    /* The event-time clock became known (may be NULL). */
    void (*clock_start)(struct det_rule *r, int64_t now_ms);
    /* The audit stream connected (1) or lost its connection (0) (may be
     * NULL). */
    void (*connection)(struct det_rule *r, int connected, int64_t now_ms);
    /* The event clock jumps from from_ms to to_ms over a time the stream
     * was not observed (engine.h "Clock": disconnected or stalled): the
     * kind may discount it (absence: a group's silence does not count
     * it).  May be NULL. */
    void (*skip)(struct det_rule *r, int64_t from_ms, int64_t to_ms);
    /* Checkpoint (SPEC section 4 "State"; detectors/checkpoint.h).  Append
     * group `slot`'s state to `out` as position-independent bytes in the
     * kind's own format (no pointers, no slot numbers of other groups;
     * times as event-time ms).  Returns 0, or -1 when `out` is full (the
     * checkpoint is then not written).  Bounded: at most
     * checkpoint_bytes(r) bytes per group. */
    int (*save)(const struct det_rule *r, uint32_t slot, buf *out);
    /* Read back `n` bytes that save wrote into `slot`, a group just
     * created and reset (its values and threshold already set).  The
     * bytes come from disk: hostile.  Check every field against the
     * rule's spec; anything save could not have written is refused (-1,
     * the engine resets the group and counts it).  Returns 0 or -1. */
    int (*load)(struct det_rule *r, uint32_t slot, const unsigned char *p,
                size_t n);
    /* The most bytes save appends for one group of rule r (for the
     * documented bound and the reader's checks). */
    size_t (*checkpoint_bytes)(const struct det_rule *r);
    /* DET_KF_KEEP kinds that keep a group's values and last event in
     * their own state rather than in its alert record (which would cost
     * every group about 1.3 KB): fill a's nvals, vals and sample from
     * them (the engine calls it as the group fires, and for the
     * checkpoint with a record of its own); take them from `a` (a record
     * read from a checkpoint, its values checked against the group's
     * key).  Both NULL: the alert record holds them (det_keep). */
    void (*recall)(const struct det_rule *r, uint32_t slot,
                   struct det_alert *a);
    void (*retain)(struct det_rule *r, uint32_t slot,
                   const struct det_alert *a);
};

/* The kinds' specs: each kind's shape of a group, shared by its groups. */
union det_spec {
    count_spec count;
    distinct_spec distinct;
    struct {
        sequence_spec sequence;
        /* where step i's match is evaluated, once an event: at step
         * seq_eval[i] (the first step with the same match: i itself when
         * none before), or SEQ_EVAL_SEEN, the rule's own match, which
         * every event it sees meets (sequence.c) */
        uint8_t seq_eval[SEQUENCE_MAX_STEPS];
    };
    new_value_spec new_value;
    baseline_spec baseline;
    win_spec win; /* sum */
    struct {
        win_spec win;
        int error_rate; /* the numerator is {"error": true} */
    } ratio;
    struct {
        int64_t threshold_ms;
        int64_t lateness_ms; /* waited for late records before a group
                                fires: allowed_lateness_s on the event
                                clock, 0 on the stream clock */
        int connected;  /* [] : the stream's connection */
    } absence;
};

/* One rule instance, owned by the engine.  The members an event reads
 * come first, together (a few cache lines per rule: an event reaches
 * every rule of its type); what only alerts, reloads and checkpoints
 * read comes after the kind's spec. */
struct det_rule {
    /* line 0: what every event reads first */
    _Alignas(64) const struct det_kind *kind;
    const struct rule *rule;      /* borrowed from the engine's rule set */
    struct det_memo *memo;        /* match results by (F, type, status), or
                                     NULL (engine.c) */
    uint32_t sure;                /* event types it sees whatever else the
                                     record says (no match_seen needed) */
    uint16_t gset;                /* the engine's index of its group_by */
    uint16_t memo_gset;           /* memo: the field list [F] it is keyed
                                     by */
    struct match_field memo_f;
    uint8_t on_stream;            /* on the stream clock (engine.c
                                     on_stream) */
    uint8_t ngby;                 /* rule->group_by, copied */
    struct match_field gby[RULE_GROUP_MAX];
    uint8_t cap_want;             /* found full: the warning is due */
    uint8_t cap_open;             /* its rule_capacity alert is open */
    uint32_t fixed_slot;          /* absence []: its one group, pinned for
                                     life; else DET_NIL */
    uint64_t counted;             /* events the rule took into account */
    uint64_t late;                /* older than its window: ignored */
    /* line 1: where its groups' state is, and its thresholds */
    unsigned char *state;         /* stride bytes per slot */
    size_t stride;
    void *priv;                   /* the kind's own (NULL if none) */
    double *thr;                  /* per-slot threshold, or NULL */
    struct det_alert *alert;      /* per-slot alert record */
    int64_t window_ms;            /* window_s, when the kind has one */
    double threshold;             /* NaN: the kind has none */
    double clear;                 /* clear_threshold or the threshold */
    /* line 2: its groups (keys.h puts the members a lookup reads first) */
    det_keys keys;
    union det_spec spec;          /* the kinds' sizes differ (count's is
                                     the largest) */
    struct det_rule_stats st;     /* the rest of its counters */
    /* the rest: set-up, alerts, reloads, checkpoints */
    double thr_min, thr_max;      /* over the threshold and overrides */
    struct det_watch *watch;      /* absence with overrides' thresholds:
                                     its idle groups by threshold (engine.c
                                     run_watched); else NULL */
    det_timers timers;            /* DET_KF_EDGE: its idle groups' timers
                                     (engine.c time_idle) */
    int64_t hold_ms, repeat_ms;
    uint32_t max_keys;
    uint32_t nopen;               /* groups with an open episode */
    int64_t stream_lag_ms;        /* the stream's observed lag (engine.h
                                     "Clock"), for a kind's words */
    unsigned noun;                /* DET_NOUN_* of its events */
    /* capacity (engine.c "overflow") */
    int ovf_ok;                   /* the kind runs an overflow group */
    uint64_t ovf_events;          /* events its overflow group took */
    int64_t cap_started_ms;
    char cap_id[ALERT_ID_HEX + 1];
    char *dump;                   /* the rule as JSON text (adopt) */
    unsigned char fp[32];         /* its fingerprint: the rule is unchanged
                                     (a reload or a checkpoint keeps its
                                     state) when this is (engine.c
                                     rule_fingerprint) */
    uint32_t ngroup;              /* fields of an alert's group */
    char gname[ALERT_GROUP_MAX][EVENT_META_NAME_MAX + 16]; /* their names */
};

/* What a rule's events are, for summaries: its prefilter admits only
 * completed calls, only call requests, or anything. */
enum { DET_NOUN_EVENTS = 0, DET_NOUN_CALLS, DET_NOUN_REQUESTS };

/* The registry: det_kinds[k] for every enum rule_kind_id. */
extern const struct det_kind *const det_kinds[RULE_KINDS];

/* ---- helpers for the kinds (engine.c) ---- */

static inline void *det_state(const struct det_rule *r, uint32_t slot)
{
    return r->state + (size_t)slot * r->stride;
}

/* The group of this event (its group_by values), found or created (the
 * kind's reset op runs for a new one, overrides are applied); DET_NIL when
 * the group is muted or the table is full of groups with open alerts. */
uint32_t det_group(struct det_rule *r, struct det_input *in);

/* The group of this event's group_by values and one more value `extra`
 * (new_value's alert groups), found or created with flags `gflags`; no
 * reset, no overrides.  DET_NIL when the table is full. */
uint32_t det_group_extra(struct det_rule *r, struct det_input *in,
                         const char *extra, unsigned gflags);

/* The 128-bit keyed hash of a string (a value a kind counts). */
void det_hash_text(const struct det_input *in, const char *s, uint64_t h[2]);

/* The group's threshold (its override's, else the rule's) and clear
 * threshold (the rule's, at most the group's threshold). */
double det_thr(const struct det_rule *r, uint32_t slot);
double det_clear(const struct det_rule *r, uint32_t slot);

/* absence: the time of the last event of group `slot` (absence.c). */
int64_t det_absence_last(const struct det_rule *r, uint32_t slot);

/* The threshold of the group whose alert record is `a`. */
static inline double det_alert_thr(const struct det_rule *r,
                                   const struct det_alert *a)
{
    return det_thr(r, (uint32_t)(a - r->alert));
}

/* The level of a value against the group's thresholds: > threshold ABOVE,
 * <= clear DET_CLEAR, else BETWEEN. */
enum det_level det_level_of(const struct det_rule *r, uint32_t slot,
                            double value);

/* Is the group watched by time (its alert open, or about to fire)? */
static inline int det_pinned(const struct det_rule *r, uint32_t slot)
{
    return r->keys.slot[slot].pinned;
}

/* Does a verdict need its next_ms: is the group watched by time, or about
 * to fire?  (Nearly every event's verdict does not: finding when a level
 * would change costs more than the level.) */
static inline int det_watched(const struct det_rule *r, uint32_t slot,
                              const struct det_verdict *v)
{
    return det_pinned(r, slot) || v->level == DET_ABOVE;
}

/* The end of a kind's feed once the event is in the group's state: a late
 * event is counted as such (0: nothing to look at); else it is counted
 * and the group's verdict comes from the kind's tick at now.  Returns
 * what the feed op returns. */
static inline int det_fed(struct det_rule *r, int late, uint32_t slot,
                          const struct det_input *in,
                          void (*tick)(struct det_rule *, uint32_t, int64_t,
                                       struct det_verdict *),
                          struct det_verdict *v)
{
    if (late) {
        r->late++;
        return 0;
    }
    r->counted++;
    tick(r, slot, in->now_ms, v);
    return 1;
}

/* A verdict for `slot` with `value`, no aux, extra or text, the level of
 * the value against the group's thresholds (det_level_of) and next_ms
 * INT64_MAX (the kind sets it when it knows better). */
void det_verdict_level(const struct det_rule *r, uint32_t slot, double value,
                       struct det_verdict *v);

/* A verdict for a condition that holds while now < until (an occurrence
 * at t holds until t + window_s): ABOVE with next_ms = until, else CLEAR
 * with next_ms INT64_MAX.  until INT64_MIN: no occurrence. */
void det_verdict_until(uint32_t slot, double value, int64_t now,
                       int64_t until, struct det_verdict *v);

/* Keep the event's group values and sample in the group's alert record
 * (DET_KF_KEEP kinds). */
void det_keep(struct det_rule *r, uint32_t slot, const struct event *ev);

/* The event's group_by values of rule r, each with its NUL ("" for a
 * missing one), into out[DET_VALUES_MAX]: the bytes its group's key is
 * hashed from.  Returns their length. */
size_t det_group_values(const struct det_rule *r, const struct event *ev,
                        char *out);

/* The group as words: "tool X", "agent X, session Y" ("" for []).  With
 * `prep`, the first field takes its preposition ("for tool X", "by agent
 * X", "in session X"; [] gives "overall"). */
void det_describe(const struct det_rule *r, const struct det_alert *a,
                  int prep, char *out, size_t size);

/* "completed calls" / "call requests" / "events" (or the singular). */
const char *det_noun(const struct det_rule *r, int plural);

/* The i-th group value of an alert record ("" when missing). */
const char *det_value(const struct det_alert *a, uint32_t i);

/* The episode id of the alert record `a` of rule r: the hash of its rule
 * name, shown group values and started_ms (model/alert.h), as fire()
 * makes it. */
void det_episode_id(const struct det_rule *r, const struct det_alert *a,
                    char out[ALERT_ID_HEX + 1]);

#endif
