/*
 * config.h - the configuration file: one JSON object, parsed with cJSON and
 * validated strictly against tables, defaults for everything (so "{}" is a
 * valid file for replay, and {"stream": {"url": "https://..."}} a complete
 * one for the service).  docs/configuration.md documents every key.
 *
 * Tables.  A setting is a struct table_item: name, type, offset of its field
 * in the struct it fills (offsetof), default, inclusive range (numbers), the
 * allowed names (enums).  The same walker applies every table, so a section
 * is declared, not coded (fluent-bit's config_map idea).  The rule kinds
 * declare their keys this way (detectors/rule.h); the engine-wide settings
 * (detectors/engine.h) and the sections below too.
 *
 *   {"instance": "toolwatch",              source of every alert
 *    "state_dir": "./state",               position file, journal
 *    "stream": {"url": "https://...", "api_key_env": "AUDIT_API_KEY",
 *               "headers": {"X-Tenant": "acme"},
 *               "headers_env": {"X-Api-Key": "AUDIT_HEADER_KEY"},
 *               "ca_file": "...",
 *               "stall_timeout_s": 45, "retry_base_ms": 500,
 *               "retry_max_ms": 30000, "connect_timeout_s": 10,
 *               "max_event_bytes": 1048576, "max_lag_s": 300},
 *    "status": {"enabled": true, "listen": "127.0.0.1", "port": 9464,
 *               "token_env": "TOOLWATCH_STATUS_TOKEN"},
 *    "sinks": [{"name": "oncall", "type": "pagerduty",
 *               "routing_key_env": "PD_ROUTING_KEY",
 *               "min_severity": "error", "detectors": ["error_rate"]}, ...],
 *    "detectors": {"max_keys": 10000, ...},   engine-wide settings
 *    "rules": [{"name": "volume", "kind": "count", ...}, ...]}
 *
 * Rules.  `rules` is compiled by detectors/rule.h (errors name the path:
 * "rules[3].steps[1].tool_nme: unknown field; did you mean tool_name?");
 * without it the six default rules apply, and the older
 * `detectors.<name>` objects (volume, payload_size, ...) still set their
 * keys (config/legacy.h).  A file with both is refused.
 *
 * Errors name the path of the offending key and what was expected:
 *   rules[0].threshold: expected a number between 0 and 1, got "20%"
 *   sinks[1].min_severity: expected one of "info", "warning", "error",
 *   "critical", got "urgent"
 * Unknown keys are errors (a typo must not silently leave a default).
 * The loader does not stop at the first: cfg_load_errs() lists every
 * error of the file (at most TABLE_ERRS_MAX, then a count), which
 * cfg_load_report() hands to every command that loads a file (run,
 * check-config, replay, send-test, silence); cfg_load() gives the first.
 *
 * Secrets.  The file names environment variables (the *_env keys, and the
 * values of the stream.headers_env object); it never holds a secret.
 * Keys that look like secrets (api_key, token, secret,
 * password, routing_key, ..._key), a literal Slack URL and URLs with
 * user:password@ are refused anywhere in the file, with the *_env key to
 * use instead.  Secret values are read from the environment only by
 * cfg_stream_config(), cfg_sink_config() and cfg_status_token(), at the
 * moment they are called, and no message ever quotes one.
 *
 * Environment overrides.  Every scalar setting can be overridden by a
 * variable named TOOLWATCH_ + its key path upper-cased, keys separated by
 * "__", array elements by their index:
 *   TOOLWATCH_STREAM__URL, TOOLWATCH_DETECTORS__VOLUME__THRESHOLD,
 *   TOOLWATCH_SINKS__0__MIN_SEVERITY, TOOLWATCH_STATE_DIR.
 * The value is read as JSON when it is a JSON number, true, false or a
 * quoted JSON string, else taken as a string; it replaces the value in the
 * parsed file (objects created as needed, an index past the end of an array
 * is an error) before validation, so it is checked exactly like the file;
 * messages about it are prefixed with the variable's name.  A TOOLWATCH_*
 * variable that is no override is an error (typos must not pass), except
 * the names in cfg_env_not_overrides and variables the file names in a
 * *_env key (or in a *_envs list, or as a value in stream.headers_env).
 */
#ifndef TW_CONFIG_H
#define TW_CONFIG_H

#include "alerts/redact.h"
#include "alerts/silence_store.h"
#include "alerts/sink.h"
#include "base/table.h"
#include "consumer/stream.h"
#include "config/legacy.h"
#include "detectors/engine.h"
#include "detectors/rule.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Return codes of the loader (CFG_EINVAL and CFG_ENOMEM equal the table
 * walker's TABLE_EINVAL and TABLE_ENOMEM). */
enum {
    CFG_OK = 0,
    CFG_EIO = -1,      /* the file cannot be read */
    CFG_ESYNTAX = -2,  /* not JSON */
    CFG_EINVAL = -3,   /* a key or value is not accepted */
    CFG_ENOMEM = -4
};

#define CFG_INSTANCE_MAX 128
#define CFG_PATH_MAX 1024              /* file and directory paths */
#define CFG_URL_MAX 2048
#define CFG_ADDR_MAX 64                /* numeric IP address */
#define CFG_HEADER_MAX 1024            /* "Name: value", with the NUL */
#define CFG_HEADER_NAME_MAX 256        /* a headers_env name, with the NUL */
#define CFG_HEADER_VALUE_MAX 8192      /* a headers_env value (bytes) */
#define CFG_MAX_HEADERS STREAM_MAX_HEADERS
#define CFG_MAX_SINKS 16
#define CFG_OVERRIDE_PREFIX "TOOLWATCH_"
/* sinks[i].rate_per_s: 0 (unpaced) or at least this (a token every 1000 s
 * at most), so the wait for a token always fits the loop's int64 ms */
#define CFG_RATE_PER_S_MIN 0.001

/* stream.headers_env: a request header whose value is a secret, read from
 * the variable `env` by cfg_stream_config(). */
struct cfg_header_env {
    char name[CFG_HEADER_NAME_MAX];        /* as written in the file */
    char env[TABLE_ENV_NAME_MAX];
};

/* stream: the audit stream (consumer/stream.h). */
struct cfg_stream {
    char url[CFG_URL_MAX];                 /* "" when not set */
    char api_key_env[TABLE_ENV_NAME_MAX];    /* "" when none */
    char headers[CFG_MAX_HEADERS][CFG_HEADER_MAX]; /* "Name: value" */
    size_t n_headers;
    struct cfg_header_env headers_env[CFG_MAX_HEADERS]; /* file order */
    size_t n_headers_env;
    char ca_file[CFG_PATH_MAX];            /* "": the system CA store */
    int64_t stall_timeout_s;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int64_t connect_timeout_s;
    int64_t max_event_bytes;
    int64_t max_lag_s;       /* /readyz: not ready past this lag (the
                                status server's, not the reader's) */
};

/* status: the status HTTP server. */
struct cfg_status {
    int enabled;
    char listen[CFG_ADDR_MAX];             /* numeric IPv4 (or IPv6) */
    int64_t port;                          /* 0: any free port */
    char token_env[TABLE_ENV_NAME_MAX];      /* "" when no token */
    int probes_public;                     /* /healthz, /readyz without
                                              the token (default 1) */
    char public_url[CFG_URL_MAX];          /* the status page as people
                                              reach it, linked from storm
                                              digests; "" when unset */
};

/* redact: how personal data and secrets in alert text are replaced
 * (alerts/redact.h), as the file says; cfg_redact_opts() resolves it. */
struct cfg_redact {
    int mode;                              /* enum redact_mode; -1 (not
                                              given): each field's own
                                              default */
    unsigned kinds;                        /* REDACT_KIND_* bits; all */
    char key_env[TABLE_ENV_NAME_MAX];      /* hash key from this variable;
                                              "": the state dir's key */
    /* fields: enum redact_mode, or REDACT_FIELD_INHERIT (not given) */
    unsigned char fields[REDACT_F_COUNT];
    size_t nmeta;                          /* fields."metadata.<name>" */
    char meta_name[REDACT_META_MAX][REDACT_META_NAME_MAX];
    unsigned char meta_mode[REDACT_META_MAX];
};

/* The redaction r describes, without its key, into *o: each field's mode
 * is the one `fields` gives it, else `mode`, else its default (identity
 * keys hash, so two agents stay apart; the summary masks, SPEC section
 * 3's form); kinds.  The key (o->key) is left zero: app/redact_key.c. */
void cfg_redact_opts(const struct cfg_redact *r, struct redact_opts *o);

/* sinks[i]: one receiver (alerts/sink.h). */
#define CFG_AM_USER_MAX 128
struct cfg_sink {
    char name[SINK_NAME_MAX];              /* default: the type's name */
    int type;                              /* enum sink_kind */
    char url[CFG_URL_MAX];                 /* literal URL: webhook, and
                                              pagerduty (default filled) */
    char url_env[TABLE_ENV_NAME_MAX];
    char secret_envs[SINK_MAX_SECRETS][TABLE_ENV_NAME_MAX]; /* webhook */
    size_t n_secret_envs;
    char routing_key_env[TABLE_ENV_NAME_MAX]; /* pagerduty */
    char path[CFG_PATH_MAX];               /* file */
    int min_severity;                      /* enum severity */
    char rules[SINK_MAX_RULES][SINK_RULE_GLOB_MAX]; /* globs; none: all */
    size_t n_rules;
    char label_names[SINK_MAX_LABELS][SINK_LABEL_NAME_MAX];
    char label_values[SINK_MAX_LABELS][SINK_LABEL_VALUE_MAX]; /* globs */
    size_t n_labels;                       /* file order */
    double rate_per_s;                     /* 0: unpaced */
    int64_t burst;
    int64_t connect_timeout_s;
    int64_t timeout_s;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int64_t max_age_s;
    int64_t queue_max;                     /* held in memory, then spilled */
    int64_t digest_after;                  /* storm guard; 0: off */
    int64_t digest_window_s;               /* its window, seconds */
    /* alertmanager */
    char basic_auth_user[CFG_AM_USER_MAX];
    char basic_auth_password_env[TABLE_ENV_NAME_MAX];
    char bearer_token_env[TABLE_ENV_NAME_MAX];
    char generator_url[CFG_URL_MAX];
    int64_t ends_after_s;
};

/* The whole configuration: fixed arrays (about 160 KB) and one pointer,
 * the compiled rules, which the struct owns: release them with
 * cfg_release() (or cfg_free() for a cfg from malloc) before the struct
 * is freed or parsed into again; a copy of the struct shares them. */
struct cfg {
    char instance[CFG_INSTANCE_MAX];
    char state_dir[CFG_PATH_MAX];
    struct cfg_stream stream;
    struct cfg_status status;
    struct cfg_sink sinks[CFG_MAX_SINKS];
    size_t n_sinks;
    struct det_engine_params det;  /* engine-wide settings */
    int64_t silence_retention_s;   /* expired silences listed this long */
    int64_t journal_max_bytes;     /* undelivered bytes: the stream pauses */
    struct cfg_redact redact;      /* alert text redaction */
    struct cfg_legacy legacy;      /* private: detectors.<name> objects */
    int rules_given;               /* private: the file has `rules` */
    /* The rules in force after a successful parse or load (never NULL
     * then); NULL after cfg_defaults(), meaning the default rules. */
    struct rule_set *rules;
    /* The inhibition rules in force (SPEC section 5), owned like rules
     * (cfg_release frees them): the `inhibit` list, else the default
     * (stream_stalled inhibits each absence rule with a group_by).  NULL
     * with n_inhibit 0: none. */
    struct gate_inhibit *inhibit;
    size_t n_inhibit;
    int inhibit_given;             /* private: the file has `inhibit` */
};

/* TOOLWATCH_* variables that are not overrides (NULL-terminated):
 * TOOLWATCH_BIN, which the test suite uses to name the binary, and
 * TOOLWATCH_ALLOW_CORE_DUMPS (app/cli.h: core dumps for debugging). */
extern const char *const cfg_env_not_overrides[];

#define CFG_INHIBIT_MAX 32         /* rules in the `inhibit` list */

struct gate_inhibit;

/* Defaults for everything (rules NULL: the default rules). */
void cfg_defaults(struct cfg *c);

/* Free the compiled rules (rules = NULL); the rest stays.  NULL is fine. */
void cfg_release(struct cfg *c);

/* cfg_release(), then free(c).  NULL is fine. */
void cfg_free(struct cfg *c);

/* Parse and validate a JSON text into *c (defaults first), without
 * environment overrides.  On error *c holds defaults and a partial
 * application, without rules: do not use it.  Returns CFG_OK, CFG_ESYNTAX
 * or CFG_EINVAL
 * (CFG_ENOMEM) with the message in err. */
int cfg_parse(struct cfg *c, const char *text, size_t len, char *err,
              size_t errsz);

/* cfg_parse(), then the TOOLWATCH_* overrides found in envp (a
 * NULL-terminated "NAME=value" list like environ; NULL: none).  The
 * message of an error caused by an override starts with its variable's
 * name.  envp is read only during the call. */
int cfg_parse_env(struct cfg *c, const char *text, size_t len,
                  char *const *envp, char *err, size_t errsz);

/* Read `path` and cfg_parse_env() it with envp.  Messages name the file,
 * except those about an override (they name the variable). */
int cfg_load_env(struct cfg *c, const char *path, char *const *envp,
                 char *err, size_t errsz);

/* cfg_load_env() with the process environment (environ). */
int cfg_load(struct cfg *c, const char *path, char *err, size_t errsz);

/* cfg_parse_env() and cfg_load_env() with every error of the file in
 * errs, in file order, each message as the err/errsz functions give the
 * first (those give exactly the first of these).  After a bad key the
 * loader goes on with the next key, after a bad sink or rule with the
 * next one, after a bad element of a value (a header, a label, a glob of
 * a list, a routing name) with the next element; it stops at a syntax
 * error, a bad TOOLWATCH_* override, and after the literal secrets (each
 * listed); the checks that span sections (stream.retry_max_ms against
 * retry_base_ms, the rules against `detectors`, ...) are made only when
 * every key is good, since they would repeat a mistake already listed. */
int cfg_parse_errs(struct cfg *c, const char *text, size_t len,
                   char *const *envp, struct table_errs *errs);
int cfg_load_errs(struct cfg *c, const char *path, char *const *envp,
                  struct table_errs *errs);

/* Where cfg_load_report() sends each line: an error message as
 * cfg_load_errs() gives it (no prefix, no newline), or the closing
 * "... and N more errors"; `total` is how many errors the file has.  The
 * line is valid during the call only. */
typedef void cfg_report_fn(void *ctx, const char *line, unsigned total);

/* cfg_load_errs() with every error reported: the one way the commands
 * that load a file (run at start-up and on SIGHUP, check-config, replay,
 * send-test, silence) tell what is wrong with it.  On failure emit(ctx,
 * line, total) is called for each message kept, in file order (at most
 * TABLE_ERRS_MAX), then once more with "... and N more errors" when more
 * were found; a failure without a message is reported as "<path>:
 * <cfg_strerror()>".  When `first` is not NULL it gets a one-line summary:
 * the first message, with " (and N more)" when there are N more (a
 * refusal's reason, /status).  emit may be NULL.  Returns what
 * cfg_load_errs() returns (with one message kept if the list cannot be
 * allocated). */
int cfg_load_report(struct cfg *c, const char *path, char *const *envp,
                    cfg_report_fn *emit, void *ctx, char *first,
                    size_t firstsz);

/* A cfg_report_fn that prints each line on its own to ctx->f, after
 * ctx->prefix ("toolwatch replay: "): what the commands that write to
 * stderr pass to cfg_load_report(). */
struct cfg_report_file {
    FILE *f;
    const char *prefix;
};
void cfg_report_print(void *ctx, const char *line, unsigned total);

/* Fill *out (consumer/stream.h) for the service: the strings point into
 * *c, so c must outlive every use of *out (stream_create() copies them);
 * the API key is getenv(api_key_env) and each headers_env value
 * getenv(its variable) at the moment of the call (pointers into the
 * environment: valid until that variable changes); the headers_env
 * headers go to out->secret_headers, in file order.  state_dir is set,
 * last_event_id and once are left to the caller.  Errors (CFG_EINVAL, the
 * message in err): stream.url not set; api_key_env or a headers_env value
 * naming a variable that is unset or empty; a headers_env variable whose
 * value holds a control character other than tab (CR, LF, ...) or more
 * than CFG_HEADER_VALUE_MAX bytes.  Messages name the key path and the
 * variable, never a value. */
int cfg_stream_config(const struct cfg *c, struct stream_config *out,
                      char *err, size_t errsz);

/* Fill *out (alerts/sink.h) for sinks[i], secrets read from the
 * environment now: url (slack, or url_env), the webhook signing secrets,
 * the PagerDuty routing key.  Pointers go into *c and the environment as
 * for cfg_stream_config().  Errors (CFG_EINVAL): a named variable unset or
 * empty, a URL variable not holding an http(s) URL, a signing secret that
 * is not "whsec_" + base64 of 24..64 bytes; the message names the key path
 * and the variable, never the value. */
int cfg_sink_config(const struct cfg *c, size_t i, struct sink_config *out,
                    char *err, size_t errsz);

/* cfg_sink_config() for every sink into out[0 .. *n - 1].  More sinks than
 * `max` is an error.  Returns CFG_OK or the first error. */
int cfg_sink_configs(const struct cfg *c, struct sink_config *out,
                     size_t max, size_t *n, char *err, size_t errsz);

/* The status server's bearer token: *token = getenv(status.token_env) now,
 * or NULL when token_env is not set.  A named variable that is unset or
 * empty is an error (CFG_EINVAL): refusing to start is safer than serving
 * without the token that was meant to be required. */
int cfg_status_token(const struct cfg *c, const char **token, char *err,
                     size_t errsz);

/* The effective configuration as a new cJSON object (the caller deletes
 * it): every setting with its value or default, in file order; with
 * TABLE_DUMP_SECRETS, next to each *_env key the state of its variable as
 * "<set>" / "<unset>", never its value (for stream.headers_env: the object
 * "header_secrets", header name to state).  NULL when out of memory. */
struct cJSON *cfg_to_json(const struct cfg *c, unsigned flags);

const char *cfg_strerror(int rc);

#endif
