/*
 * gate.h - the notification gate: the open episodes as the notification
 * layer sees them, and for each notification the rules make whether it
 * goes to the sinks (SPEC section 5, silences and acknowledgement).
 *
 * The rules (detectors/) know nothing of silences: episodes open, repeat
 * and resolve as they always do.  Between them and the outbox, every
 * notification passes gate_decide():
 *
 *   firing, new episode    a silence matches: not sent; the document is
 *                          held (GATE_SILENCED); else sent, and the
 *                          episode's firing counts as gone out
 *   firing, repeat         a silence matches: not sent (GATE_SILENCED);
 *                          the firing is still held: this one goes out as
 *                          the firing (the silence has ended); acked: not
 *                          sent (GATE_ACKED); else sent
 *   resolve                sent only when the episode's firing went out
 *                          (else GATE_UNFIRED), whatever silences say, so
 *                          a receiver never keeps an incident open; the
 *                          episode is forgotten
 *
 * Inhibition (SPEC section 5): rules (gate_set_inhibit) of source
 * matchers, target matchers and `equal` fields.  While an open episode
 * matching a rule's source exists (it fired and has not resolved; a
 * silenced or held source inhibits all the same, as in Alertmanager), a
 * firing or repeat of another episode matching the rule's target whose
 * `equal` fields have the same values is not sent (GATE_INHIBITED), the
 * firing held as for a silence.  A field an alert lacks counts as the
 * empty value, as Alertmanager counts a missing label: missing on both
 * sides is equal.  An episode never inhibits itself, and an alert that
 * matches both sides of a rule is not inhibited through that rule by an
 * episode that also matches both (Alertmanager's rule: two such alerts
 * would mute each other).  Silences are looked at first: a notification
 * both silenced and inhibited counts as silenced.
 *
 * gate_tick() sends the held firing of every episode no silence matches
 * and no episode inhibits any longer (the silence expired, ended, or its
 * window closed; the source resolved, or the rules changed).  An
 * acknowledgement (gate_ack) stops repeats only: a held firing still goes
 * out when its silence ends, and the resolve after it.  "Not sent" is
 * every sink: the gate decides before routing.
 *
 * Episodes the gate does not know (past GATE_MAX_EPISODES, or opened
 * before this bookkeeping existed) are sent as if no silence or ack
 * existed: the gate fails open, counted in gate_stats.untracked.  So does
 * a firing that cannot be held (held documents over GATE_HELD_MAX
 * bytes).  An episode not notified for GATE_STALE_MS (longer than the
 * longest repeat interval: the rules no longer have it) is forgotten.
 *
 * Persistence: state_dir/episodes.json, {"version": 1, "episodes":
 * [...]}, replaced atomically by gate_flush() when something changed
 * (the loop calls it once per iteration, and the ack handler before it
 * answers), so the bookkeeping, acks and held firings survive kill -9.
 * It is the gate's own file, apart from the detection checkpoint.  At
 * start it is read with the same bounds as any hostile input; a file that
 * cannot be used whole is refused with one log line, set aside as
 * episodes.json.bad, and the gate starts empty (failing open).
 *
 * Time is a parameter.  One thread owns a gate (the main loop).
 */
#ifndef TW_GATE_H
#define TW_GATE_H

#include "alerts/silence_store.h"
#include "model/alert.h"

#include <stddef.h>
#include <stdint.h>

#define GATE_MAX_EPISODES 10000
#define GATE_HELD_MAX (16u * 1024u * 1024u)  /* held documents, bytes */
#define GATE_FILE "episodes.json"
#define GATE_FILE_MAX (64u * 1024u * 1024u)
#define GATE_STALE_MS (8LL * 86400 * 1000)   /* repeat_interval_s <= 7 d */
#define GATE_TEXT_MAX 1024     /* a name, key or value kept, with the NUL */
#define GATE_BY_MAX 128        /* acked_by, with the NUL */
#define GATE_COMMENT_MAX 1024  /* an ack's comment, with the NUL */
#define GATE_INHIBIT_MAX 64    /* inhibition rules */
#define GATE_EQUAL_MAX 8       /* `equal` fields of a rule */

enum {
    GATE_OK = 0,
    GATE_ENOENT = -1,  /* no open episode with that id */
    GATE_EINVAL = -2,  /* a bad `by` or comment */
    GATE_EIO = -3,     /* the file could not be written */
    GATE_ENOMEM = -4
};

enum gate_verdict {
    GATE_SEND = 0,   /* to the sinks */
    GATE_SILENCED,   /* a silence mutes it: not sent */
    GATE_ACKED,      /* a repeat of an acknowledged episode: not sent */
    GATE_UNFIRED,    /* a resolve whose firing never went out: not sent */
    GATE_INHIBITED   /* an open episode inhibits it: not sent */
};

struct gate_decision {
    enum gate_verdict verdict;
    char silence_id[SILENCE_ID_MAX]; /* GATE_SILENCED: the silence */
    char inhibited_by[ALERT_ID_HEX + 1]; /* GATE_INHIBITED: the episode */
};

/* One inhibition rule: matchers as a silence's (rule, severity,
 * group.<field>, labels.<name>; globs) for each side, 0 matchers
 * matching every alert; `equal` fields named the same way (glob
 * unused). */
struct gate_inhibit {
    uint32_t nsource, ntarget, nequal;
    struct silence_matcher source[SILENCE_MATCHERS_MAX];
    struct silence_matcher target[SILENCE_MATCHERS_MAX];
    struct silence_matcher equal[GATE_EQUAL_MAX];
};

/* What /status shows of an open episode. */
struct gate_info {
    char silenced_by[SILENCE_ID_MAX]; /* a silence muting it now, or "" */
    char inhibited_by[ALERT_ID_HEX + 1]; /* the episode inhibiting it, or "" */
    char acked_by[GATE_BY_MAX];       /* "" when not acknowledged */
    int64_t acked_ms;                 /* 0 when not acknowledged */
    char ack_comment[GATE_COMMENT_MAX];
    int fired;                        /* its firing went out */
};

struct gate_stats {
    uint64_t silenced;   /* notifications not sent: silenced */
    uint64_t acked;      /* repeats not sent: acknowledged */
    uint64_t unfired;    /* resolves not sent: the firing never went out */
    uint64_t inhibited;  /* notifications not sent: inhibited */
    uint64_t released;   /* held firings sent when their silence ended */
    uint64_t untracked;  /* sent ungated: past the caps */
    uint64_t stale;      /* episodes forgotten after GATE_STALE_MS */
    uint64_t open;       /* episodes known now */
    uint64_t held;       /* of which firings held */
    uint64_t acks;       /* of which acknowledged */
};

struct gate_options {
    const char *state_dir;     /* NULL: memory only */
    uint32_t max_episodes;     /* 0: GATE_MAX_EPISODES */
};

typedef struct gate gate;

/* Create a gate and load state_dir/episodes.json.  NULL when out of
 * memory. */
gate *gate_create(const struct gate_options *o);

/* Free (nothing is written: gate_flush first).  Accepts NULL. */
void gate_destroy(gate *g);

/* Put n inhibition rules (at most GATE_INHIBIT_MAX; copied) in force,
 * in place of the earlier ones.  Held firings no longer inhibited go out
 * at the next gate_tick().  Returns GATE_OK or GATE_EINVAL (n too
 * large: the earlier rules stay). */
int gate_set_inhibit(gate *g, const struct gate_inhibit *rules, size_t n);

/* Decide notification a (its document: len bytes at doc, kept when a
 * firing is held) at now_ms against the silences of ss (NULL: none).
 * Fills *d.  Returns GATE_OK, or GATE_ENOMEM (then d says GATE_SEND). */
int gate_decide(gate *g, const struct alert *a, const char *doc, size_t len,
                const silence_store *ss, int64_t now_ms,
                struct gate_decision *d);

/* A held firing to send now: its alert (id, rule, severity, group,
 * labels, started_ms, timestamp_ms when it was made), its document.  All
 * valid only during the call; the callback must not call into the
 * gate. */
typedef void (*gate_release_fn)(void *ud, const struct alert *a,
                                const char *doc, size_t len);

/* Send (through release) the held firing of every episode no silence of
 * ss matches at now_ms, and forget stale episodes.  Returns the number
 * released. */
int gate_tick(gate *g, const silence_store *ss, int64_t now_ms,
              gate_release_fn release, void *ud);

/* Acknowledge open episode `id` by `by` (1 to 127 bytes of text) with
 * `comment` (NULL or "" for none; at most 1023 bytes) at now_ms, and
 * write the file.  An episode acknowledged already keeps its first
 * acknowledgement.  Fills *out (may be NULL) with what is in force.
 * Returns GATE_OK, GATE_ENOENT, GATE_EINVAL, or GATE_EIO (the file could
 * not be written: the acknowledgement was undone). */
int gate_ack(gate *g, const char *id, const char *by, const char *comment,
             int64_t now_ms, struct gate_info *out);

/* What is known of open episode `id` at now_ms (silenced_by: the silence
 * of ss muting it now; inhibited_by: the episode inhibiting it now).  Returns GATE_OK or GATE_ENOENT. */
int gate_info(const gate *g, const char *id, const silence_store *ss,
              int64_t now_ms, struct gate_info *out);

/* Write the file when something changed since the last write.  Returns
 * GATE_OK or GATE_EIO (logged; retried at the next call). */
int gate_flush(gate *g);

void gate_stats(const gate *g, struct gate_stats *out);

/* "silenced", "acked", "unfired", "inhibited" ("sent" for GATE_SEND). */
const char *gate_verdict_name(enum gate_verdict v);

const char *gate_strerror(int rc);

#endif
