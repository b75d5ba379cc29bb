/*
 * sink.h - where alerts go: sink kinds, their settings, routing, and the
 * request each receiver expects.
 *
 * Pure: rendering takes the alert document (SPEC section 3, the bytes the
 * journal keeps) and produces the body one receiver wants: the document
 * itself for the generic webhook, file and stdout; an incoming-webhook
 * message for Slack; an Events API v2 event for PagerDuty; an array of
 * one alert for Alertmanager's API v2.  Secrets (the
 * PagerDuty routing key) are inserted only here, at send time, so they are
 * never written to the journal or the dead-letter file.
 *
 * The document read is SPEC section 3's: data.rule, data.kind, data.group
 * (field -> value), data.labels, data.description, data.runbook_url.  A
 * document journaled by an older version (data.detector and data.group_by,
 * a group name and one key) is read too, so what was pending across an
 * upgrade still goes out: its group_by becomes a one-field group.
 *
 * Routing (sink_routes): a notification goes to a sink when its severity
 * is at least min_severity, its rule matches one of the sink's rule globs
 * (none: every rule), and the rule's labels carry every label the sink
 * names, with a value its glob matches.  Globs are case-insensitive, `*`
 * any run of characters, `?` one character (sink_glob_match).
 */
#ifndef TW_SINK_H
#define TW_SINK_H

#include "base/buf.h"
#include "model/severity.h"

#include <stddef.h>
#include <stdint.h>

enum sink_kind {
    SINK_WEBHOOK = 0,
    SINK_SLACK,
    SINK_PAGERDUTY,
    SINK_FILE,
    SINK_STDOUT,
    SINK_ALERTMANAGER,
    SINK_KIND_COUNT
};


enum {
    SINK_OK = 0,
    SINK_EINVAL = -1,    /* the document is not an alert document */
    SINK_ETOOBIG = -2,   /* the rendered body does not fit */
    SINK_ENOMEM = -3
};

#define SINK_NAME_MAX 64
#define SINK_MAX_RULES 32        /* rule globs of a sink */
#define SINK_MAX_LABELS 8        /* labels a sink requires */
/* Sizes with the NUL, those of a rule's name (64 bytes) and labels
 * (names of 63 bytes, values of 255: SPEC section 2). */
#define SINK_RULE_GLOB_MAX 65
#define SINK_LABEL_NAME_MAX 64
#define SINK_LABEL_VALUE_MAX 256
#define SINK_MAX_SECRETS 4
#define SINK_BODY_MAX (256u * 1024u)
/* PagerDuty's payload.summary limit, in bytes of UTF-8. */
#define SINK_PD_SUMMARY_MAX 1024
#define SINK_PD_DEFAULT_URL "https://events.pagerduty.com/v2/enqueue"

/* The defaults of a sink's settings, written here once: both
 * sink_config_defaults() and the sinks table of config/config.c (which
 * check-config prints and the file overrides) take them from here. */
#define SINK_DEFAULT_MIN_SEVERITY SEVERITY_INFO
#define SINK_DEFAULT_CONNECT_TIMEOUT_S 5
#define SINK_DEFAULT_TIMEOUT_S 15
#define SINK_DEFAULT_RETRY_BASE_MS 1000
#define SINK_DEFAULT_RETRY_MAX_MS 300000
#define SINK_DEFAULT_MAX_AGE_S 86400  /* then dead-lettered */
#define SINK_DEFAULT_RATE_PER_S 0     /* unpaced */
#define SINK_DEFAULT_BURST 1
/* Notifications a sink holds in memory (queue_max); the rest of its queue
 * stays in the journal only and is read back as the sink drains. */
#define SINK_DEFAULT_QUEUE_MAX 10000
/* Storm guard: past this many notifications in a window, the rest of the
 * window goes out as one digest (digest_after; 0: never digest). */
#define SINK_DEFAULT_DIGEST_AFTER 20
/* The storm window (digest_window_s): a minute unless set. */
#define SINK_DEFAULT_DIGEST_WINDOW_S 60
/* Alertmanager: a firing alert is posted with endsAt = the attempt's time
 * + ends_after_s.  toolwatch re-sends a firing episode every
 * repeat_interval_s (3600 by default), each re-send moving endsAt on, so
 * the horizon must exceed the longest repeat_interval_s of the rules the
 * sink receives, with room for retries: 3 x the default.  An episode whose
 * resolve never arrives (toolwatch gone for good) expires in Alertmanager
 * after the horizon. */
#define SINK_AM_DEFAULT_ENDS_AFTER_S 10800
#define SINK_AM_API_PATH "/api/v2/alerts"
#define SINK_AM_LABEL_NAME_MAX 128   /* bytes of a label name sent */
#define SINK_AM_VALUE_MAX 1024       /* bytes of a label value sent */
/* Slack is paced: its incoming webhooks take about one message a second. */
#define SINK_SLACK_RATE_PER_S 1
#define SINK_SLACK_BURST 3

/* A sink's settings.  Strings are owned by whoever fills the struct (the
 * config module); secrets are the values read from the environment. */
struct sink_config {
    char name[SINK_NAME_MAX];
    enum sink_kind kind;
    const char *url;              /* webhook/slack/pagerduty; a secret for
                                     slack (the URL is the credential) */
    const char *url_env;          /* its variable, for messages */
    const char *secrets[SINK_MAX_SECRETS]; /* webhook signing secrets */
    size_t n_secrets;
    const char *routing_key;      /* pagerduty */
    const char *path;             /* file */
    enum severity min_severity;
    const char *rules[SINK_MAX_RULES];   /* globs; none: every rule */
    size_t n_rules;
    const char *label_names[SINK_MAX_LABELS];  /* the rule must carry */
    const char *label_values[SINK_MAX_LABELS]; /* globs */
    size_t n_labels;
    double rate_per_s;            /* pacing; 0: unpaced */
    unsigned burst;
    uint64_t connect_timeout_ms;
    uint64_t timeout_ms;
    uint64_t retry_base_ms;
    uint64_t retry_max_ms;
    uint64_t max_age_s;           /* then dead-lettered */
    uint64_t queue_max;           /* held in memory; 0: the default */
    uint64_t digest_after;        /* storm guard; 0: off (pagerduty never
                                     digests: one event per episode) */
    uint64_t digest_window_s;     /* its window; 0: the default */
    /* alertmanager: url is the base URL (the API path is added); at most
     * one of basic auth (username + password) and a bearer token, both
     * secrets but the username; ends_after_s the firing horizon. */
    const char *username;
    const char *password;
    const char *bearer_token;
    const char *generator_url;    /* linked from each alert; NULL: none */
    uint64_t ends_after_s;
};

/* Defaults for a kind: the SINK_DEFAULT_* values (but digest_after 0:
 * the storm guard is the configuration file's, on by default there), Slack paced
 * (SINK_SLACK_RATE_PER_S, SINK_SLACK_BURST), PagerDuty's URL
 * (SINK_PD_DEFAULT_URL), Alertmanager's horizon
 * (SINK_AM_DEFAULT_ENDS_AFTER_S); no name, no secrets. */
void sink_config_defaults(struct sink_config *c, enum sink_kind kind);

/* What routing needs to know of one notification: its rule's name, its
 * severity's name and the rule's labels (label_names[i] = label_values[i],
 * i < nlabels).  Pointers are borrowed for the call. */
struct sink_route {
    const char *rule;
    const char *severity;
    unsigned nlabels;
    const char *const *label_names;
    const char *const *label_values;
};

/* Does the notification go to sink c?  1: yes, 0: no (an unknown severity
 * or a missing rule name never routes). */
int sink_routes(const struct sink_config *c, const struct sink_route *r);

/* Does the glob match all of s?  ASCII letters without regard to case;
 * `*` matches any run of characters (none too), `?` one UTF-8 character,
 * every other byte itself.  1 or 0. */
int sink_glob_match(const char *glob, const char *s);

/* The request body for the sink, appended to *out.  `doc` is the alert
 * document; `routing_key` is used by PagerDuty only.  Returns SINK_OK or a
 * SINK_E* code (out unchanged). */
int sink_render(enum sink_kind kind, const char *doc, size_t len,
                const char *routing_key, buf *out);

/* What an Alertmanager body depends on besides the document: the
 * attempt's wall-clock time (ms; 0: the document's timestamp), the firing
 * horizon (seconds; 0: SINK_AM_DEFAULT_ENDS_AFTER_S) and the alert's
 * generatorURL (NULL or not an http(s) URL: none). */
struct sink_am_params {
    int64_t now_ms;
    uint64_t ends_after_s;
    const char *generator_url;
};

/* The body of POST /api/v2/alerts for the alert document `doc`: an array
 * of one postableAlert, appended to *out.
 *
 *   labels       alertname (the rule), severity, instance (the source),
 *                then the group's fields, then the rule's labels; names
 *                made valid ([a-zA-Z_][a-zA-Z0-9_]*: every other byte
 *                becomes _, a leading digit gets a _ before it, cut to
 *                SINK_AM_LABEL_NAME_MAX); a group field whose name is
 *                taken gets _ appended until it is unique (the group is
 *                the alert's identity), a rule label whose name is taken
 *                is left out; values made valid UTF-8 (U+FFFD) and cut to
 *                SINK_AM_VALUE_MAX bytes on a character boundary; empty
 *                values left out (Alertmanager reads them as absent)
 *   annotations  summary, description, runbook_url (when set), episode_id,
 *                key
 *   startsAt     data.started_at (else the timestamp; neither: left out,
 *                Alertmanager then takes the time it receives it)
 *   endsAt       resolved: data.resolved_at (else the timestamp);
 *                firing: max(now, timestamp) + ends_after_s
 *   generatorURL p->generator_url
 *
 * Returns SINK_OK or a SINK_E* code (out unchanged): SINK_EINVAL also for
 * an empty rule name (no alertname) and for a firing with no time to
 * count endsAt from. */
int sink_render_alertmanager(const char *doc, size_t len,
                             const struct sink_am_params *p, buf *out);

/* The API URL of an Alertmanager at `base` (its external URL, with or
 * without a trailing /): base + SINK_AM_API_PATH, appended to out.
 * Returns BUF_OK or a BUF_E* code. */
int sink_am_url(const char *base, buf *out);

/* Append at most `max` bytes of s (NUL-terminated) to out, cut on a UTF-8
 * character boundary.  Returns the bytes appended or a BUF_E* code. */
int sink_append_utf8_prefix(buf *out, const char *s, size_t max);

/* ---- storm digests ----
 *
 * A digest stands for the notifications a sink did not send one by one in
 * a storm window: how many, per rule (the first SINK_DIGEST_RULES rules by
 * name, the rest counted together), and the first SINK_DIGEST_KEYS keys.
 * Its document has the shape of an alert document (type "alert.digest",
 * data.rule "digest", data.summary saying what it holds, data.digest the
 * counts), so every sink renders it. */
#define SINK_DIGEST_RULES 16
#define SINK_DIGEST_KEYS 10
#define SINK_DIGEST_KEY_MAX 160
#define SINK_DIGEST_TYPE "alert.digest"

struct sink_digest {
    int64_t start_ms;             /* wall clock: the window's start */
    int64_t window_ms;            /* its length; 0: the default minute */
    uint64_t count;               /* notifications digested */
    struct {
        char rule[SINK_RULE_GLOB_MAX];
        uint64_t count;
    } rules[SINK_DIGEST_RULES];
    size_t n_rules;
    uint64_t other;               /* of rules past the first ones */
    char keys[SINK_DIGEST_KEYS][SINK_DIGEST_KEY_MAX]; /* "rule: key" */
    size_t n_keys;
    char source[SINK_NAME_MAX];   /* the first notification's source */
};

/* Empty digest of the window starting at start_ms, of the default length
 * (set window_ms after the call for another). */
void sink_digest_reset(struct sink_digest *g, int64_t start_ms);

/* A sink's storm window in ms: digest_window_s, or the default. */
int64_t sink_digest_window_ms(const struct sink_config *c);

/* Count the notification `doc` (an alert document; anything else counts
 * under rule "(unreadable)") in g. */
void sink_digest_add(struct sink_digest *g, const char *doc, size_t len);

/* The digest's document for sink `sink`, appended to out: `status_url`
 * (NULL: none) is linked.  Returns SINK_OK or SINK_ENOMEM / SINK_ETOOBIG
 * (out unchanged). */
int sink_digest_document(const struct sink_digest *g, const char *sink,
                         const char *status_url, buf *out);

const char *sink_kind_name(enum sink_kind k);
int sink_kind_parse(const char *name);     /* -1 if unknown */

#endif
