/*
 * config.c - the configuration file (config.h): the root table and its
 * sections (stream, status, sinks, detectors), loading with environment
 * overrides (override.h), the final cross-field checks.  The refusal of
 * literal secrets and the structs the service's modules take (struct
 * stream_config, struct sink_config) with secrets read from the
 * environment are in secrets.c.
 *
 * Order of work on a file: parse JSON strictly (json.h: one document, no
 * U+0000, UTF-8 only); apply overrides to the tree (their values are
 * checked alike); scan the whole tree for literal secrets (before anything
 * else, so a secret is reported as such and never quoted by a type error);
 * apply the root table (every value checked by type and range, unknown
 * keys refused); cross-field checks.  Nothing here reads a secret's value
 * (secrets.c does).
 *
 * Stream headers come from two objects: stream.headers (name to literal
 * value) and stream.headers_env (name to the variable holding a secret
 * value).  Both check names alike (header_check()); a name may appear in
 * only one of them (check_all()).
 *
 * Sinks are the one section a plain table cannot express: which keys are
 * allowed and required depends on "type", and so do some defaults (Slack
 * is paced), so each element is applied by apply_sink() around the table.
 * A sink's routing keys are rules (globs; detectors is its older name,
 * read alike and printed back as rules) and labels (name -> value glob).
 */
#include "config/config.h"

#include "alerts/journal.h"
#include "alerts/gate.h"
#include "alerts/sign.h"
#include "config/json.h"
#include "config/legacy.h"
#include "config/override.h"
#include "config/secrets.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_FILE_MAX (4u * 1024u * 1024u)

extern char **environ;

static const char *const sink_type_names[] = {
    [SINK_WEBHOOK] = "webhook", [SINK_SLACK] = "slack",
    [SINK_PAGERDUTY] = "pagerduty", [SINK_FILE] = "file",
    [SINK_STDOUT] = "stdout", [SINK_ALERTMANAGER] = "alertmanager",
    [SINK_KIND_COUNT] = NULL};

/* ---- value checks (cfg_item.check) ---- */

const char *cfg_check_http_url(const char *s)
{
    static const char want[] = "an http:// or https:// URL with a host";
    const char *host;

    if (strncasecmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return want;
    if (*host == '\0' || strchr("/?#:", *host) != NULL)
        return want;
    for (const char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return "a URL without spaces or control characters";
    return NULL;
}

static const char *check_ip(const char *s)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
        return NULL;
    return "a numeric IPv4 (or IPv6) address, e.g. \"127.0.0.1\"";
}

static const char *check_sink_name(const char *s)
{
    for (const char *p = s; *p != '\0'; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
              *p == '_' || *p == '-'))
            return "a name of 1 to 63 characters a-z, 0-9, _ and -";
    return NULL;
}

/* ---- stream.headers ---- */

static int header_name_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) &&
            strchr("!#$%&'*+-.^_`|~", *p) == NULL)
            return 0;
    return 1;
}

/* The checks of a header name common to stream.headers and
 * stream.headers_env (from_env): a token, not Accept or Last-Event-ID, not
 * Authorization or Proxy-Authorization (the stream's credentials come from
 * api_key_env), and not twice in `obj` (compared without case) before its
 * member `m`.  `sub` is the member's path.  Returns CFG_OK or CFG_EINVAL. */
static int header_check(const cJSON *obj, const cJSON *m, const char *path,
                        const char *sub, int from_env, char *err,
                        size_t errsz)
{
    const char *name = m->string;

    if (!header_name_ok(name)) {
        snprintf(err, errsz, "%s: not a valid header name (letters, "
                 "digits and !#$%%&'*+-.^_`|~ only)", sub);
        return CFG_EINVAL;
    }
    for (const cJSON *e = obj->child; e != m; e = e->next)
        if (strcasecmp(e->string, name) == 0) {
            snprintf(err, errsz, "%s: duplicate header (also %s.%s)", sub,
                     path, e->string);
            return CFG_EINVAL;
        }
    if (strcasecmp(name, "Authorization") == 0 ||
        strcasecmp(name, "Proxy-Authorization") == 0) {
        if (from_env)
            snprintf(err, errsz, "%s: not accepted here; set "
                     "stream.api_key_env to the name of the environment "
                     "variable holding the stream's bearer token (sent as "
                     "Authorization: Bearer <token>)", sub);
        else
            snprintf(err, errsz, "%s: secrets are not accepted in the "
                     "file; set stream.api_key_env to the name of an "
                     "environment variable", sub);
        return CFG_EINVAL;
    }
    if (strcasecmp(name, "Accept") == 0 ||
        strcasecmp(name, "Last-Event-ID") == 0) {
        snprintf(err, errsz, "%s: set by toolwatch itself; not "
                 "configurable", sub);
        return CFG_EINVAL;
    }
    return CFG_OK;
}

/* A header's value: a non-empty string without control characters (tab
 * is allowed), "name: value" fitting CFG_HEADER_MAX.  CFG_OK or
 * CFG_EINVAL with the message added. */
static int header_value_check(const cJSON *m, const char *sub,
                              struct table_errs *errs)
{
    char got[64];
    size_t len;

    if (!cJSON_IsString(m) || m->valuestring[0] == '\0') {
        table_value_text(m, got, sizeof got);
        return table_errs_add(errs, "%s: expected a non-empty string, got "
                              "%s", sub, got);
    }
    for (const char *p = m->valuestring; *p != '\0'; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return table_errs_add(errs, "%s: expected a value without "
                                  "control characters (CR, LF, ...)", sub);
    len = strlen(m->string) + 2 + strlen(m->valuestring);
    if (len > CFG_HEADER_MAX - 1)
        return table_errs_add(errs, "%s: expected at most %d bytes for the "
                              "name, \": \" and the value, got %zu", sub,
                              CFG_HEADER_MAX - 1, len);
    return CFG_OK;
}

/* Every header's first error (a bad name, then its value is not looked
 * at); the good ones are kept. */
static int apply_headers(void *base, const cJSON *v, const char *path,
                         struct table_errs *errs)
{
    struct cfg_stream *st = base;
    const cJSON *m;
    char sub[CFG_KEYPATH_MAX], got[64];
    size_t n = 0;
    int rc = CFG_OK;

    st->n_headers = 0;
    if (!cJSON_IsObject(v)) {
        table_value_text(v, got, sizeof got);
        return table_errs_add(errs, "%s: expected an object of header names "
                              "and values, got %s", path, got);
    }
    if (cJSON_GetArraySize(v) > CFG_MAX_HEADERS)
        return table_errs_add(errs, "%s: expected at most %d headers, got %d",
                              path, CFG_MAX_HEADERS, cJSON_GetArraySize(v));
    cJSON_ArrayForEach(m, v)
    {
        snprintf(sub, sizeof sub, "%s.%s", path, m->string);
        if (table_errs_keep(errs, header_check(v, m, path, sub, 0,
                                               TABLE_ERRS_SLOT(errs))) !=
                CFG_OK ||
            header_value_check(m, sub, errs) != CFG_OK) {
            rc = CFG_EINVAL;
            continue;
        }
        snprintf(st->headers[n++], CFG_HEADER_MAX, "%s: %s", m->string,
                 m->valuestring);
    }
    st->n_headers = n;
    return rc;
}

static void defaults_headers(void *base)
{
    struct cfg_stream *st = base;

    st->n_headers = 0;
}

static int dump_headers(const void *base, cJSON *obj, const char *name,
                        unsigned flags)
{
    const struct cfg_stream *st = base;
    cJSON *h;
    char hname[CFG_HEADER_MAX];

    (void)flags;
    if (st->n_headers == 0)
        return CFG_OK;
    if ((h = cJSON_AddObjectToObject(obj, name)) == NULL)
        return CFG_ENOMEM;
    for (size_t i = 0; i < st->n_headers; i++) {
        const char *colon = strchr(st->headers[i], ':');
        size_t n = (size_t)(colon - st->headers[i]);

        memcpy(hname, st->headers[i], n);
        hname[n] = '\0';
        if (cJSON_AddStringToObject(h, hname, colon + 2) == NULL)
            return CFG_ENOMEM;
    }
    return CFG_OK;
}

/* ---- stream.headers_env ---- */

static int apply_headers_env(void *base, const cJSON *v, const char *path,
                             struct table_errs *errs)
{
    struct cfg_stream *st = base;
    const cJSON *m;
    char sub[CFG_KEYPATH_MAX];
    size_t n = 0;
    int rc = CFG_OK;

    st->n_headers_env = 0;
    if (!cJSON_IsObject(v)) /* not quoted: it may be a pasted secret */
        return table_errs_add(errs, "%s: expected an object of header names "
                              "and names of environment variables, got %s",
                              path, table_json_type(v));
    if (cJSON_GetArraySize(v) > CFG_MAX_HEADERS)
        return table_errs_add(errs, "%s: expected at most %d headers, got %d",
                              path, CFG_MAX_HEADERS, cJSON_GetArraySize(v));
    cJSON_ArrayForEach(m, v)
    {
        struct cfg_header_env *h = &st->headers_env[n];
        size_t nlen = strlen(m->string);

        snprintf(sub, sizeof sub, "%s.%s", path, m->string);
        if (table_errs_keep(errs, header_check(v, m, path, sub, 1,
                                               TABLE_ERRS_SLOT(errs))) !=
            CFG_OK)
            rc = CFG_EINVAL;
        else if (nlen > CFG_HEADER_NAME_MAX - 1)
            rc = table_errs_add(errs, "%s: expected a header name of at "
                                "most %d bytes, got %zu", sub,
                                CFG_HEADER_NAME_MAX - 1, nlen);
        else if (!cJSON_IsString(m) || !table_env_name_ok(m->valuestring))
            rc = table_errs_add(errs, "%s: expected %s", sub,
                                TABLE_ENV_EXPECTED);
        else {
            memcpy(h->name, m->string, nlen + 1);
            snprintf(h->env, sizeof h->env, "%s", m->valuestring);
            n++;
        }
    }
    st->n_headers_env = n;
    return rc;
}

static void defaults_headers_env(void *base)
{
    struct cfg_stream *st = base;

    st->n_headers_env = 0;
}

/* "headers_env": {name: variable}, and with TABLE_DUMP_SECRETS
 * "header_secrets": {name: "<set>" | "<unset>"} (never the value). */
static int dump_headers_env(const void *base, cJSON *obj, const char *name,
                            unsigned flags)
{
    const struct cfg_stream *st = base;
    cJSON *names, *state = NULL;

    if (st->n_headers_env == 0)
        return CFG_OK;
    if ((names = cJSON_AddObjectToObject(obj, name)) == NULL ||
        ((flags & TABLE_DUMP_SECRETS) &&
         (state = cJSON_AddObjectToObject(obj, "header_secrets")) == NULL))
        return CFG_ENOMEM;
    for (size_t i = 0; i < st->n_headers_env; i++) {
        const struct cfg_header_env *h = &st->headers_env[i];
        const char *val = getenv(h->env);

        if (cJSON_AddStringToObject(names, h->name, h->env) == NULL)
            return CFG_ENOMEM;
        if (state != NULL &&
            cJSON_AddStringToObject(state, h->name,
                                    val != NULL && val[0] != '\0'
                                        ? "<set>"
                                        : "<unset>") == NULL)
            return CFG_ENOMEM;
    }
    return CFG_OK;
}

/* ---- the stream and status sections ---- */

#define INT_ITEM(s_, n_, d_, lo_, hi_, h_)                                 \
    {.name = #n_, .type = TABLE_INT, .offset = offsetof(s_, n_), .def = (d_), \
     .min = (lo_), .max = (hi_), .help = (h_)}
#define ENV_ITEM(s_, n_, h_)                                                \
    {.name = #n_, .type = TABLE_STRING, .offset = offsetof(s_, n_),          \
     .size = TABLE_ENV_NAME_MAX, .flags = TABLE_F_ENV, .help = (h_)}

static const struct table_item stream_items[] = {
    {.name = "url", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_stream, url), .size = CFG_URL_MAX,
     .check = cfg_check_http_url,
     .help = "the audit stream (text/event-stream), http:// or https://"},
    ENV_ITEM(struct cfg_stream, api_key_env,
             "variable holding the bearer token sent as Authorization"),
    {.name = "headers", .type = TABLE_CUSTOM, .apply_errs = apply_headers,
     .defaults = defaults_headers, .dump = dump_headers,
     .help = "extra request headers, name to value (at most 32)"},
    {.name = "headers_env", .type = TABLE_CUSTOM,
     .apply_errs = apply_headers_env,
     .defaults = defaults_headers_env, .dump = dump_headers_env,
     .help = "extra request headers with secret values, name to the "
             "variable holding the value (at most 32)"},
    {.name = "ca_file", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_stream, ca_file), .size = CFG_PATH_MAX,
     .help = "PEM file of CA certificates (default: the system store)"},
    INT_ITEM(struct cfg_stream, stall_timeout_s,
             STREAM_DEFAULT_STALL_TIMEOUT_S, 1, 3600,
             "reconnect when no byte arrived for this long"),
    INT_ITEM(struct cfg_stream, retry_base_ms, STREAM_DEFAULT_RETRY_BASE_MS,
             1, 3600000,
             "first reconnect delay (the stream's retry: raises it)"),
    INT_ITEM(struct cfg_stream, retry_max_ms, STREAM_DEFAULT_RETRY_MAX_MS, 1,
             86400000, "reconnect delay cap"),
    INT_ITEM(struct cfg_stream, connect_timeout_s,
             STREAM_DEFAULT_CONNECT_TIMEOUT_S, 1, 600,
             "TCP + TLS connect timeout"),
    INT_ITEM(struct cfg_stream, max_event_bytes,
             STREAM_DEFAULT_MAX_EVENT_BYTES, 1024, 67108864,
             "larger events are skipped and counted"),
    INT_ITEM(struct cfg_stream, max_lag_s, 300, 1, 604800,
             "/readyz says 503 while events arrive later than this after "
             "their timestamps (the stream's observed lag)"),
};

static const struct table_item status_items[] = {
    {.name = "enabled", .type = TABLE_BOOL,
     .offset = offsetof(struct cfg_status, enabled), .def = 1,
     .help = "serve /healthz, /readyz, /status and /metrics"},
    {.name = "listen", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_status, listen), .size = CFG_ADDR_MAX,
     .def_str = "127.0.0.1", .check = check_ip,
     .help = "address to listen on (numeric)"},
    INT_ITEM(struct cfg_status, port, 9464, 0, 65535,
             "TCP port; 0: any free port"),
    ENV_ITEM(struct cfg_status, token_env,
             "variable holding the bearer token required by the server"),
    {.name = "probes_public", .type = TABLE_BOOL,
     .offset = offsetof(struct cfg_status, probes_public), .def = 1,
     .help = "serve /healthz and /readyz without the bearer token (false: "
             "they need it as every other path does)"},
    {.name = "public_url", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_status, public_url), .size = CFG_URL_MAX,
     .check = cfg_check_http_url,
     .help = "the status page's address as people reach it (a proxy's), "
             "linked from storm digests"},
};

/* ---- redact ---- */

#define REDACT_KINDS_TEXT                                                  \
    "\"email\", \"phone\", \"ssn\", \"card\", \"token\", \"api_key\", "       \
    "\"password\""

static int apply_redact_kinds(void *base, const cJSON *v, const char *path,
                              struct table_errs *errs)
{
    struct cfg_redact *r = base;
    const cJSON *e;
    char sub[CFG_KEYPATH_MAX];
    size_t i = 0;
    int rc = CFG_OK;

    r->kinds = 0;
    if (!cJSON_IsArray(v))
        return table_errs_keep(errs, table_fail_expected(
                                         v, path, "an array of kinds ("
                                         REDACT_KINDS_TEXT ")",
                                         TABLE_ERRS_SLOT(errs)));
    cJSON_ArrayForEach(e, v)
    {
        unsigned k = cJSON_IsString(e) ? redact_kind_parse(e->valuestring)
                                       : 0;

        table_path(sub, sizeof sub, path, NULL, (int)i++);
        if (k == 0)
            rc = table_errs_keep(errs, table_fail_expected(
                                           e, sub,
                                           "one of " REDACT_KINDS_TEXT,
                                           TABLE_ERRS_SLOT(errs)));
        r->kinds |= k;
    }
    return rc;
}

static void defaults_redact_kinds(void *base)
{
    struct cfg_redact *r = base;

    r->kinds = REDACT_KINDS_ALL;
}

static int dump_redact_kinds(const void *base, cJSON *obj, const char *name,
                             unsigned flags)
{
    const struct cfg_redact *r = base;
    cJSON *a = cJSON_AddArrayToObject(obj, name);
    int ok = a != NULL;

    (void)flags;
    for (unsigned k = 1; k <= REDACT_KINDS_ALL && ok; k <<= 1)
        if (r->kinds & k)
            ok = cJSON_AddItemToArray(a,
                                      cJSON_CreateString(redact_kind_name(k)));
    return ok ? CFG_OK : CFG_ENOMEM;
}

/* The mode of each field when neither `fields` nor `mode` gives one:
 * identity keys hash (alice@ and bob@ stay apart), the summary masks
 * (SPEC section 3's [REDACTED:<kind>]). */
static unsigned redact_field_default(int f)
{
    return f == REDACT_F_SUMMARY ? REDACT_MODE_MASK : REDACT_MODE_HASH;
}

#define REDACT_MODES_TEXT                                                  \
    "one of \"mask\" (or \"redact\"), \"hash\", \"off\" (or \"keep\")"

/* Other names operators use for two modes (the words of the runbooks). */
static const struct {
    const char *name;
    int mode;
} redact_mode_aliases[] = {
    {"redact", REDACT_MODE_MASK}, /* the field is replaced by its tag */
    {"keep", REDACT_MODE_OFF},    /* the field is kept as it is */
};
#define NALIASES (sizeof redact_mode_aliases / sizeof *redact_mode_aliases)
#define REDACT_FIELDS_TEXT                                                 \
    "tool_name, agent_id, session_id, tool_category, downstream_system, "  \
    "error_code, record_id, metadata, metadata.<name>, summary"

/* A mode's name at `path`: its enum redact_mode, or -1 with the message. */
static int redact_mode_of(const cJSON *v, const char *path, char *err,
                          size_t errsz)
{
    for (int m = 0; cJSON_IsString(v) && redact_mode_names[m] != NULL; m++)
        if (strcmp(v->valuestring, redact_mode_names[m]) == 0)
            return m;
    for (size_t i = 0; cJSON_IsString(v) && i < NALIASES; i++)
        if (strcmp(v->valuestring, redact_mode_aliases[i].name) == 0)
            return redact_mode_aliases[i].mode;
    table_fail_expected(v, path, REDACT_MODES_TEXT, err, errsz);
    return -1;
}

static int apply_redact_mode(void *base, const cJSON *v, const char *path,
                             char *err, size_t errsz)
{
    struct cfg_redact *r = base;

    r->mode = redact_mode_of(v, path, err, errsz);
    return r->mode < 0 ? CFG_EINVAL : CFG_OK;
}

static void defaults_redact_mode(void *base)
{
    struct cfg_redact *r = base;

    r->mode = -1;
}

static int dump_redact_mode(const void *base, cJSON *obj, const char *name,
                            unsigned flags)
{
    const struct cfg_redact *r = base;

    (void)flags;
    if (r->mode < 0)
        return CFG_OK;
    return cJSON_AddStringToObject(obj, name, redact_mode_names[r->mode])
               ? CFG_OK
               : CFG_ENOMEM;
}

/* fields."<name>": the field's index, or REDACT_F_COUNT + i for the i-th
 * metadata member (added to r); -1 with the message. */
static int redact_field_of(struct cfg_redact *r, const char *name,
                           const char *path, char *err, size_t errsz)
{
    static const char meta[] = "metadata.";
    size_t n = strlen(meta);
    int f = redact_field_parse(name);

    if (f >= 0)
        return f;
    if (strncmp(name, meta, n) == 0 && name[n] != '\0') {
        if (strlen(name + n) >= REDACT_META_NAME_MAX) {
            table_fail(err, errsz, "%s: a metadata member's name has at "
                       "most %d bytes", path, REDACT_META_NAME_MAX - 1);
            return -1;
        }
        if (r->nmeta >= REDACT_META_MAX) {
            table_fail(err, errsz, "%s: at most %d metadata members have a "
                       "mode of their own", path, REDACT_META_MAX);
            return -1;
        }
        snprintf(r->meta_name[r->nmeta], sizeof r->meta_name[0], "%s",
                 name + n);
        return REDACT_F_COUNT + (int)r->nmeta++;
    }
    if (strcmp(name, "error_message") == 0) {
        table_fail(err, errsz, "%s: not a field of the alert document "
                   "(error messages are not sent); expected one of "
                   REDACT_FIELDS_TEXT, path);
    } else {
        struct table_suggest sg;

        table_suggest_init(&sg, name);
        for (int k = 0; k < REDACT_F_COUNT; k++)
            table_suggest_add(&sg, redact_field_names[k]);
        table_fail(err, errsz, "%s: unknown field; expected one of "
                   REDACT_FIELDS_TEXT "%s%s%s", path,
                   table_suggest_best(&sg) ? "; did you mean " : "",
                   table_suggest_best(&sg) ? table_suggest_best(&sg) : "",
                   table_suggest_best(&sg) ? "?" : "");
    }
    return -1;
}

static int apply_redact_fields(void *base, const cJSON *v, const char *path,
                               struct table_errs *errs)
{
    struct cfg_redact *r = base;
    const cJSON *m;
    char sub[CFG_KEYPATH_MAX];
    int rc = CFG_OK;

    memset(r->fields, REDACT_FIELD_INHERIT, sizeof r->fields);
    r->nmeta = 0;
    if (!cJSON_IsObject(v))
        return table_errs_keep(errs, table_fail_expected(
                                         v, path, "an object of field names "
                                         "and modes (\"agent_id\": "
                                         "\"hash\")",
                                         TABLE_ERRS_SLOT(errs)));
    cJSON_ArrayForEach(m, v)
    {
        char *err = table_errs_slot(errs);
        int f, mode;

        table_path(sub, sizeof sub, path, m->string, 0);
        if (table_duplicate(v, m, sub, err, TABLE_ERR_MAX) != TABLE_OK ||
            (f = redact_field_of(r, m->string, sub, err, TABLE_ERR_MAX)) <
                0 ||
            (mode = redact_mode_of(m, sub, err, TABLE_ERR_MAX)) < 0) {
            rc = table_errs_keep(errs, CFG_EINVAL);
            continue;
        }
        if (f < REDACT_F_COUNT)
            r->fields[f] = (unsigned char)mode;
        else
            r->meta_mode[f - REDACT_F_COUNT] = (unsigned char)mode;
    }
    return rc;
}

static void defaults_redact_fields(void *base)
{
    struct cfg_redact *r = base;

    memset(r->fields, REDACT_FIELD_INHERIT, sizeof r->fields);
    r->nmeta = 0;
}

/* Every field with the mode it takes (not only those the file gives), so
 * check-config --print shows what is in force. */
static int dump_redact_fields(const void *base, cJSON *obj, const char *name,
                              unsigned flags)
{
    const struct cfg_redact *r = base;
    struct redact_opts o;
    char key[sizeof "metadata." + REDACT_META_NAME_MAX];
    cJSON *f = cJSON_AddObjectToObject(obj, name);
    int ok = f != NULL;

    (void)flags;
    cfg_redact_opts(r, &o);
    for (int k = 0; k < REDACT_F_COUNT && ok; k++)
        ok = cJSON_AddStringToObject(f, redact_field_names[k],
                                     redact_mode_names[o.field[k]]) != NULL;
    for (size_t k = 0; k < o.nmeta && ok; k++) {
        snprintf(key, sizeof key, "metadata.%s", o.meta_name[k]);
        ok = cJSON_AddStringToObject(f, key,
                                     redact_mode_names[o.meta_mode[k]]) !=
             NULL;
    }
    return ok ? CFG_OK : CFG_ENOMEM;
}

void cfg_redact_opts(const struct cfg_redact *r, struct redact_opts *o)
{
    redact_opts_default(o);
    o->kinds = r->kinds;
    if (r->mode >= 0)
        o->mode = (enum redact_mode)r->mode;
    for (int f = 0; f < REDACT_F_COUNT; f++)
        o->field[f] = (unsigned char)(r->fields[f] != REDACT_FIELD_INHERIT
                                          ? r->fields[f]
                                      : r->mode >= 0
                                          ? (unsigned)r->mode
                                          : redact_field_default(f));
    o->nmeta = r->nmeta;
    memcpy(o->meta_name, r->meta_name, sizeof o->meta_name);
    memcpy(o->meta_mode, r->meta_mode, sizeof o->meta_mode);
}

static const struct table_item redact_items[] = {
    {.name = "mode", .type = TABLE_CUSTOM, .apply = apply_redact_mode,
     .defaults = defaults_redact_mode, .dump = dump_redact_mode,
     .help = "the mode of every field `fields` does not name: mask "
             "([REDACTED:email]), hash ([email#3f2a91], a keyed hash that "
             "tells values apart) or off; default: identity keys hash, the "
             "summary masks"},
    {.name = "fields", .type = TABLE_CUSTOM,
     .apply_errs = apply_redact_fields,
     .defaults = defaults_redact_fields, .dump = dump_redact_fields,
     .help = "a mode per field: tool_name, agent_id, session_id, "
             "tool_category, downstream_system, error_code, record_id, "
             "metadata, metadata.<name>, summary"},
    {.name = "kinds", .type = TABLE_CUSTOM,
     .apply_errs = apply_redact_kinds,
     .defaults = defaults_redact_kinds, .dump = dump_redact_kinds,
     .help = "what is replaced (default: all seven kinds)"},
    ENV_ITEM(struct cfg_redact, key_env,
             "variable holding the hash key (at least 16 bytes; default: a "
             "random key kept in state_dir/redact.key)"),
};

/* ---- sinks ---- */

static const char *const sink_type_list =
    "\"webhook\", \"slack\", \"pagerduty\", \"file\", \"stdout\"";

static int apply_secret_envs(void *base, const cJSON *v, const char *path,
                             struct table_errs *errs)
{
    struct cfg_sink *s = base;
    const cJSON *e;
    int i = 0, n = 0, rc = CFG_OK;

    s->n_secret_envs = 0;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 ||
        cJSON_GetArraySize(v) > SINK_MAX_SECRETS) {
        /* not quoted: a pasted secret is the likeliest mistake */
        if (cJSON_IsArray(v))
            return table_errs_add(errs, "%s: expected an array of 1 to %d "
                                  "names of environment variables, got %d",
                                  path, SINK_MAX_SECRETS,
                                  cJSON_GetArraySize(v));
        return table_errs_add(errs, "%s: expected an array of 1 to %d names "
                              "of environment variables, got %s", path,
                              SINK_MAX_SECRETS, table_json_type(v));
    }
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e) || !table_env_name_ok(e->valuestring))
            rc = table_errs_add(errs, "%s[%d]: expected %s", path, i,
                                TABLE_ENV_EXPECTED);
        else
            snprintf(s->secret_envs[n++], TABLE_ENV_NAME_MAX, "%s",
                     e->valuestring);
        i++;
    }
    s->n_secret_envs = (size_t)n;
    return rc;
}

static int dump_secret_envs(const void *base, cJSON *obj, const char *name,
                            unsigned flags)
{
    const struct cfg_sink *s = base;
    cJSON *names, *state = NULL;

    (void)name;
    if (s->n_secret_envs == 0)
        return CFG_OK;
    if ((names = cJSON_AddArrayToObject(obj, "secret_envs")) == NULL ||
        ((flags & TABLE_DUMP_SECRETS) &&
         (state = cJSON_AddArrayToObject(obj, "secrets")) == NULL))
        return CFG_ENOMEM;
    for (size_t i = 0; i < s->n_secret_envs; i++) {
        const char *val = getenv(s->secret_envs[i]);
        if (!cJSON_AddItemToArray(names,
                                  cJSON_CreateString(s->secret_envs[i])))
            return CFG_ENOMEM;
        if (state != NULL &&
            !cJSON_AddItemToArray(
                state, cJSON_CreateString(val != NULL && val[0] != '\0'
                                              ? "<set>"
                                              : "<unset>")))
            return CFG_ENOMEM;
    }
    return CFG_OK;
}

/* Is s 1 to size - 1 bytes of ASCII letters, digits and bytes of
 * `others`?  (A sink's rule globs and label names.) */
static int word_ok(const char *s, size_t size, const char *others)
{
    size_t n = 0;

    while (s[n] != '\0' && (isalnum((unsigned char)s[n]) ||
                             strchr(others, s[n]) != NULL))
        n++;
    return s[n] == '\0' && n > 0 && n < size;
}

/* sinks[i].rules (and its older name, detectors): rule names or globs. */

static int apply_sink_rules(void *base, const cJSON *v, const char *path,
                            struct table_errs *errs)
{
    struct cfg_sink *s = base;
    const cJSON *e;
    char sub[CFG_KEYPATH_MAX], want[128];
    size_t i = 0, n = 0;
    int rc = CFG_OK;

    s->n_rules = 0;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 ||
        cJSON_GetArraySize(v) > SINK_MAX_RULES) {
        snprintf(want, sizeof want, "an array of 1 to %d rule names or "
                 "globs (leave it out for every rule)", SINK_MAX_RULES);
        return table_errs_keep(errs, table_fail_expected(
                                         v, path, want,
                                         TABLE_ERRS_SLOT(errs)));
    }
    snprintf(want, sizeof want, "a rule name or glob (letters, digits, -, "
             "_, * and ?; 1 to %d bytes)", SINK_RULE_GLOB_MAX - 1);
    cJSON_ArrayForEach(e, v)
    {
        table_path(sub, sizeof sub, path, NULL, (int)i++);
        if (!cJSON_IsString(e) ||
            !word_ok(e->valuestring, SINK_RULE_GLOB_MAX, "-_*?"))
            rc = table_errs_keep(errs, table_fail_expected(
                                           e, sub, want,
                                           TABLE_ERRS_SLOT(errs)));
        else
            snprintf(s->rules[n++], SINK_RULE_GLOB_MAX, "%s",
                     e->valuestring);
    }
    s->n_rules = n;
    return rc;
}

/* sinks[i].labels: the labels a rule must carry, name -> value glob. */
static int apply_sink_labels(void *base, const cJSON *v, const char *path,
                             struct table_errs *errs)
{
    struct cfg_sink *s = base;
    const cJSON *m;
    char sub[CFG_KEYPATH_MAX], want[128];
    size_t i = 0;
    int rc = CFG_OK;

    s->n_labels = 0;
    if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) > SINK_MAX_LABELS) {
        snprintf(want, sizeof want, "an object of at most %d labels the "
                 "rule must carry (name -> value or glob)", SINK_MAX_LABELS);
        return table_errs_keep(errs, table_fail_expected(
                                         v, path, want,
                                         TABLE_ERRS_SLOT(errs)));
    }
    snprintf(want, sizeof want, "a non-empty string of at most %d bytes (a "
             "glob: * and ? match)", SINK_LABEL_VALUE_MAX - 1);
    cJSON_ArrayForEach(m, v)
    {
        table_path(sub, sizeof sub, path, m->string, 0);
        if (table_errs_keep(errs, table_duplicate(v, m, sub,
                                                  TABLE_ERRS_SLOT(errs))) !=
            TABLE_OK) {
            rc = CFG_EINVAL;
        } else if (!word_ok(m->string, SINK_LABEL_NAME_MAX, "_-.")) {
            rc = table_errs_add(errs, "%s: expected a label name of "
                                "letters, digits, _, - and . (1 to %d "
                                "bytes)", sub, SINK_LABEL_NAME_MAX - 1);
        } else if (!cJSON_IsString(m) || m->valuestring[0] == '\0' ||
                   strlen(m->valuestring) > SINK_LABEL_VALUE_MAX - 1) {
            rc = table_errs_keep(errs, table_fail_expected(
                                           m, sub, want,
                                           TABLE_ERRS_SLOT(errs)));
        } else {
            snprintf(s->label_names[i], SINK_LABEL_NAME_MAX, "%s",
                     m->string);
            snprintf(s->label_values[i], SINK_LABEL_VALUE_MAX, "%s",
                     m->valuestring);
            i++;
        }
    }
    s->n_labels = i;
    return rc;
}

/* A sink's routing as check-config prints it: "rules" (also when the file
 * said "detectors") and "labels", each left out when not set. */
static int dump_sink_routing(const void *base, cJSON *obj, const char *name,
                             unsigned flags)
{
    const struct cfg_sink *s = base;
    cJSON *rules = NULL, *labels = NULL;
    int ok = 1;

    (void)name;
    (void)flags;
    if (s->n_rules > 0)
        ok = (rules = cJSON_AddArrayToObject(obj, "rules")) != NULL;
    for (size_t i = 0; i < s->n_rules && ok; i++)
        ok = cJSON_AddItemToArray(rules, cJSON_CreateString(s->rules[i]));
    if (s->n_labels > 0 && ok)
        ok = (labels = cJSON_AddObjectToObject(obj, "labels")) != NULL;
    for (size_t i = 0; i < s->n_labels && ok; i++)
        ok = cJSON_AddStringToObject(labels, s->label_names[i],
                                     s->label_values[i]) != NULL;
    return ok ? CFG_OK : CFG_ENOMEM;
}

#define SINK_INT(n_, d_, lo_, hi_, h_)                                     \
    INT_ITEM(struct cfg_sink, n_, d_, lo_, hi_, h_)
#define SINK_STR_(x_) #x_
#define SINK_STR(x_) SINK_STR_(x_)

/* Every default comes from alerts/sink.h (SINK_DEFAULT_*, written there
 * once); those that depend on the kind (Slack is paced) are put in by
 * sink_defaults() from sink_config_defaults(). */
static const struct table_item sink_items[] = {
    {.name = "name", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_sink, name), .size = SINK_NAME_MAX,
     .check = check_sink_name,
     .help = "unique name (default: the type), in logs and /status"},
    {.name = "type", .type = TABLE_ENUM,
     .offset = offsetof(struct cfg_sink, type), .names = sink_type_names,
     .help = "webhook, slack, pagerduty, file, stdout or alertmanager "
             "(required)"},
    {.name = "url", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_sink, url), .size = CFG_URL_MAX,
     .check = cfg_check_http_url,
     .help = "webhook, pagerduty: the receiver's URL, when not secret; "
             "alertmanager: its base URL (" SINK_AM_API_PATH " is added)"},
    ENV_ITEM(struct cfg_sink, url_env,
             "variable holding the receiver's URL (slack: required)"),
    {.name = "secret_envs", .type = TABLE_CUSTOM,
     .apply_errs = apply_secret_envs,
     .dump = dump_secret_envs,
     .help = "webhook: 1 to 4 variables holding whsec_ signing secrets"},
    ENV_ITEM(struct cfg_sink, routing_key_env,
             "pagerduty: variable holding the integration's routing key"),
    {.name = "path", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_sink, path), .size = CFG_PATH_MAX,
     .help = "file: the NDJSON file alerts are appended to"},
    {.name = "min_severity", .type = TABLE_ENUM,
     .offset = offsetof(struct cfg_sink, min_severity),
     .def = SINK_DEFAULT_MIN_SEVERITY, .names = severity_names,
     .help = "alerts below this severity are not sent here"},
    {.name = "rules", .type = TABLE_CUSTOM, .apply_errs = apply_sink_rules,
     .dump = dump_sink_routing,
     .help = "only alerts of rules matching one of these globs (default: "
             "every rule)"},
    {.name = "detectors", .type = TABLE_CUSTOM,
     .apply_errs = apply_sink_rules,
     .help = "the older name of rules, with the same meaning"},
    {.name = "labels", .type = TABLE_CUSTOM, .apply_errs = apply_sink_labels,
     .help = "only alerts of rules carrying these labels (value globs)"},
    {.name = "rate_per_s", .type = TABLE_DOUBLE,
     .offset = offsetof(struct cfg_sink, rate_per_s),
     .def = SINK_DEFAULT_RATE_PER_S, .min = 0, .max = 1000,
     .help = "pacing, notifications per second (0: unpaced, else at least "
             SINK_STR(CFG_RATE_PER_S_MIN) "; slack: "
             SINK_STR(SINK_SLACK_RATE_PER_S) ")"},
    SINK_INT(burst, SINK_DEFAULT_BURST, 1, 10000,
             "notifications sent at once before pacing (slack: "
             SINK_STR(SINK_SLACK_BURST) ")"),
    SINK_INT(connect_timeout_s, SINK_DEFAULT_CONNECT_TIMEOUT_S, 1, 600,
             "connect timeout"),
    SINK_INT(timeout_s, SINK_DEFAULT_TIMEOUT_S, 1, 3600,
             "whole request timeout"),
    SINK_INT(retry_base_ms, SINK_DEFAULT_RETRY_BASE_MS, 1, 3600000,
             "first retry delay"),
    SINK_INT(retry_max_ms, SINK_DEFAULT_RETRY_MAX_MS, 1, 86400000,
             "retry delay cap"),
    SINK_INT(max_age_s, SINK_DEFAULT_MAX_AGE_S, 1, 31536000,
             "a notification undelivered for this long is dead-lettered"),
    SINK_INT(queue_max, SINK_DEFAULT_QUEUE_MAX, 1, 10000000,
             "notifications held in memory; the rest wait in the journal "
             "only and are read back as the sink drains"),
    SINK_INT(digest_after, SINK_DEFAULT_DIGEST_AFTER, 0, 1000000,
             "storm guard: past this many notifications in a minute the "
             "rest of the minute goes out as one digest (0: off; "
             "pagerduty: never, one event per episode; alertmanager: "
             "never, it groups alerts itself)"),
    SINK_INT(digest_window_s, SINK_DEFAULT_DIGEST_WINDOW_S, 1, 86400,
             "the storm guard's window, in seconds"),
    {.name = "basic_auth_user", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_sink, basic_auth_user),
     .size = CFG_AM_USER_MAX,
     .help = "alertmanager: the basic-auth username (with "
             "basic_auth_password_env)"},
    ENV_ITEM(struct cfg_sink, basic_auth_password_env,
             "alertmanager: variable holding the basic-auth password"),
    ENV_ITEM(struct cfg_sink, bearer_token_env,
             "alertmanager: variable holding a bearer token (instead of "
             "basic auth)"),
    {.name = "generator_url", .type = TABLE_STRING,
     .offset = offsetof(struct cfg_sink, generator_url), .size = CFG_URL_MAX,
     .check = cfg_check_http_url,
     .help = "alertmanager: each alert's generatorURL, e.g. the status "
             "page"},
    SINK_INT(ends_after_s, SINK_AM_DEFAULT_ENDS_AFTER_S, 60, 31536000,
             "alertmanager: a firing alert's endsAt is the send time plus "
             "this; above every routed rule's repeat_interval_s, which "
             "re-sends it"),
};
#define N_SINK_ITEMS (sizeof sink_items / sizeof sink_items[0])

/* The table's defaults, and those that depend on the kind (pacing) as
 * alerts/sink.h's sink_config_defaults() gives them. */
static void sink_defaults(struct cfg_sink *s, enum sink_kind kind)
{
    struct sink_config d;

    memset(s, 0, sizeof *s);
    table_items_defaults(sink_items, N_SINK_ITEMS, s);
    sink_config_defaults(&d, kind);
    s->type = (int)kind;
    s->rate_per_s = d.rate_per_s;
    s->burst = (int64_t)d.burst;
    if (kind == SINK_PAGERDUTY)
        s->digest_after = 0; /* one event per episode: never digested */
    if (kind == SINK_ALERTMANAGER)
        s->digest_after = 0; /* Alertmanager groups alerts itself */
}

/* Keys that only some kinds take. */
static const struct {
    const char *key;
    unsigned kinds; /* bit per enum sink_kind */
} sink_kind_keys[] = {
    {"url", 1u << SINK_WEBHOOK | 1u << SINK_PAGERDUTY |
                1u << SINK_ALERTMANAGER},
    {"url_env", 1u << SINK_WEBHOOK | 1u << SINK_SLACK |
                    1u << SINK_PAGERDUTY | 1u << SINK_ALERTMANAGER},
    {"secret_envs", 1u << SINK_WEBHOOK},
    {"routing_key_env", 1u << SINK_PAGERDUTY},
    {"path", 1u << SINK_FILE},
    {"basic_auth_user", 1u << SINK_ALERTMANAGER},
    {"basic_auth_password_env", 1u << SINK_ALERTMANAGER},
    {"bearer_token_env", 1u << SINK_ALERTMANAGER},
    {"generator_url", 1u << SINK_ALERTMANAGER},
    {"ends_after_s", 1u << SINK_ALERTMANAGER},
};

/* An alertmanager sink's own rules: a URL, at most one kind of
 * credentials and each whole, no storm digests. */
static int check_am_sink(const struct cfg_sink *s, const cJSON *o,
                         const char *path, char *err, size_t errsz)
{
    int rc = CFG_EINVAL;

    if (s->url[0] == '\0' && s->url_env[0] == '\0')
        snprintf(err, errsz, "%s.url: required for an alertmanager sink "
                 "(or url_env): Alertmanager's base URL, e.g. "
                 "http://127.0.0.1:9093", path);
    else if (s->bearer_token_env[0] != '\0' &&
             (s->basic_auth_user[0] != '\0' ||
              s->basic_auth_password_env[0] != '\0'))
        snprintf(err, errsz, "%s.bearer_token_env: set either a bearer "
                 "token or basic auth, not both", path);
    else if ((s->basic_auth_user[0] != '\0') !=
             (s->basic_auth_password_env[0] != '\0'))
        snprintf(err, errsz, "%s.%s: basic auth needs both "
                 "basic_auth_user and basic_auth_password_env", path,
                 s->basic_auth_user[0] != '\0' ? "basic_auth_password_env"
                                               : "basic_auth_user");
    else if (cJSON_GetObjectItemCaseSensitive(o, "digest_after") != NULL &&
             s->digest_after != 0)
        snprintf(err, errsz, "%s.digest_after: an alertmanager sink is "
                 "never digested (Alertmanager groups alerts itself); "
                 "leave it out or set 0", path);
    else
        rc = CFG_OK;
    return rc;
}

/* The checks of a sink that span keys, once each key is good. */
static int check_sink(struct cfg_sink *s, const cJSON *o, const char *path,
                      char *err, size_t errsz)
{
    char sub[CFG_KEYPATH_MAX];
    int rc = CFG_EINVAL;

    if (s->rate_per_s > 0 && s->rate_per_s < CFG_RATE_PER_S_MIN) {
        /* pacing waits 1 / rate seconds for a token: bounded this way */
        char want[96];

        snprintf(sub, sizeof sub, "%s.rate_per_s", path);
        snprintf(want, sizeof want, "0 (unpaced) or a number between %g "
                 "and %g", CFG_RATE_PER_S_MIN,
                 table_items_find(sink_items, N_SINK_ITEMS, "rate_per_s")
                     ->max);
        table_fail_expected(cJSON_GetObjectItemCaseSensitive(o,
                                                             "rate_per_s"),
                            sub, want, err, errsz);
        goto out;
    }
    if (s->url[0] != '\0' && s->url_env[0] != '\0') {
        snprintf(err, errsz, "%s.url: set either url or url_env, not both",
                 path);
        goto out;
    }
    switch (s->type) {
    case SINK_WEBHOOK:
        if (s->url[0] == '\0' && s->url_env[0] == '\0') {
            snprintf(err, errsz, "%s.url_env: required for a webhook sink "
                     "(or url): the receiver's URL", path);
            goto out;
        }
        if (s->n_secret_envs == 0) {
            snprintf(err, errsz, "%s.secret_envs: required for a webhook "
                     "sink: 1 to %d names of environment variables holding "
                     "whsec_ signing secrets", path, SINK_MAX_SECRETS);
            goto out;
        }
        break;
    case SINK_SLACK:
        if (s->url_env[0] == '\0') {
            snprintf(err, errsz, "%s.url_env: required for a slack sink: "
                     "the name of the environment variable holding the "
                     "incoming-webhook URL", path);
            goto out;
        }
        break;
    case SINK_PAGERDUTY:
        if (s->routing_key_env[0] == '\0') {
            snprintf(err, errsz, "%s.routing_key_env: required for a "
                     "pagerduty sink: the name of the environment variable "
                     "holding the integration's routing key", path);
            goto out;
        }
        if (s->url[0] == '\0' && s->url_env[0] == '\0')
            snprintf(s->url, sizeof s->url, "%s", SINK_PD_DEFAULT_URL);
        break;
    case SINK_ALERTMANAGER:
        if (check_am_sink(s, o, path, err, errsz) != CFG_OK)
            goto out;
        break;
    case SINK_FILE:
        if (s->path[0] == '\0') {
            snprintf(err, errsz, "%s.path: required for a file sink: the "
                     "file alerts are appended to", path);
            goto out;
        }
        break;
    default:
        break;
    }
    if (s->retry_max_ms < s->retry_base_ms) {
        snprintf(err, errsz, "%s.retry_max_ms: expected at least "
                 "retry_base_ms (%lld), got %lld", path,
                 (long long)s->retry_base_ms, (long long)s->retry_max_ms);
        goto out;
    }
    rc = CFG_OK;
out:
    return rc;
}

/* One sink: every key's error, then (when the keys are good) the checks
 * that span keys.  Without a good type, nothing else can be checked. */
static int apply_sink(struct cfg_sink *s, const cJSON *o, const char *path,
                      struct table_errs *errs)
{
    const struct table_item *type_item =
        table_items_find(sink_items, N_SINK_ITEMS, "type");
    const cJSON *t;
    char sub[CFG_KEYPATH_MAX];
    const char *kname;
    unsigned before = table_errs_count(errs);
    int rc, kind;

    if (!cJSON_IsObject(o))
        return table_errs_add(errs, "%s: expected an object, got %s", path,
                              table_json_type(o));
    snprintf(sub, sizeof sub, "%s.type", path);
    if ((t = cJSON_GetObjectItemCaseSensitive(o, "type")) == NULL)
        return table_errs_add(errs, "%s: required: one of %s", sub,
                              sink_type_list);
    memset(s, 0, sizeof *s);
    if ((rc = table_item_apply_errs(type_item, s, t, sub, errs)) != CFG_OK)
        return rc;
    kind = s->type;
    kname = sink_type_names[kind];
    sink_defaults(s, (enum sink_kind)kind);
    if (kind == SINK_SLACK && cJSON_GetObjectItemCaseSensitive(o, "url"))
        table_errs_add(errs, "%s.url: a Slack incoming-webhook URL is a "
                       "secret and is not accepted in the file; set "
                       "%s.url_env to the name of an environment variable",
                       path, path);
    for (size_t i = 0; i < sizeof sink_kind_keys / sizeof sink_kind_keys[0];
         i++)
        if (!(sink_kind_keys[i].kinds & (1u << kind)) &&
            cJSON_GetObjectItemCaseSensitive(o, sink_kind_keys[i].key))
            table_errs_add(errs, "%s.%s: not used by a%s %s sink", path,
                           sink_kind_keys[i].key, kname[0] == 'a' ? "n" : "",
                           kname);
    if (cJSON_GetObjectItemCaseSensitive(o, "rules") != NULL &&
        cJSON_GetObjectItemCaseSensitive(o, "detectors") != NULL)
        table_errs_add(errs, "%s.detectors: the older name of %s.rules; set "
                       "one of them", path, path);
    if ((rc = table_items_apply_errs(sink_items, N_SINK_ITEMS, s, o, path,
                                     errs)) == CFG_ENOMEM)
        return rc;
    if (table_errs_count(errs) != before)
        return CFG_EINVAL; /* the checks below would repeat a mistake */
    if ((rc = table_errs_keep(errs, check_sink(s, o, path,
                                               TABLE_ERRS_SLOT(errs)))) !=
        CFG_OK)
        return rc;
    if (s->name[0] == '\0')
        snprintf(s->name, sizeof s->name, "%s", kname);
    return CFG_OK;
}

/* Every sink's errors; names are compared among the good sinks. */
static int apply_sinks(void *base, const cJSON *v, const char *path,
                       struct table_errs *errs)
{
    struct cfg *c = base;
    const cJSON *e;
    char sub[32];
    unsigned good = 0; /* bit i: sinks[i] is good */
    size_t i = 0;
    int rc = CFG_OK, r;

    c->n_sinks = 0;
    if (!cJSON_IsArray(v))
        return table_errs_add(errs, "%s: expected an array of sink objects, "
                              "got %s", path, table_json_type(v));
    if (cJSON_GetArraySize(v) > CFG_MAX_SINKS)
        return table_errs_add(errs, "%s: expected at most %d sinks, got %d",
                              path, CFG_MAX_SINKS, cJSON_GetArraySize(v));
    cJSON_ArrayForEach(e, v)
    {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if ((r = apply_sink(&c->sinks[i], e, sub, errs)) == CFG_ENOMEM)
            return r;
        if (r == CFG_OK)
            for (size_t j = 0; j < i; j++)
                if ((good & (1u << j)) &&
                    strcmp(c->sinks[j].name, c->sinks[i].name) == 0) {
                    r = table_errs_add(errs, "%s.name: duplicate sink name "
                                       "\"%s\" (also %s[%zu]); give each "
                                       "sink its own name", sub,
                                       c->sinks[i].name, path, j);
                    break;
                }
        if (r == CFG_OK)
            good |= 1u << i;
        else
            rc = CFG_EINVAL;
        i++;
    }
    c->n_sinks = rc == CFG_OK ? i : 0;
    return rc;
}

static void defaults_sinks(void *base)
{
    struct cfg *c = base;

    c->n_sinks = 0;
}

static int dump_sinks(const void *base, cJSON *obj, const char *name,
                      unsigned flags)
{
    const struct cfg *c = base;
    cJSON *a, *o;
    int rc;

    if ((a = cJSON_AddArrayToObject(obj, name)) == NULL)
        return CFG_ENOMEM;
    for (size_t i = 0; i < c->n_sinks; i++) {
        if ((o = cJSON_CreateObject()) == NULL ||
            !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            return CFG_ENOMEM;
        }
        if ((rc = table_items_dump(sink_items, N_SINK_ITEMS, &c->sinks[i], o,
                                 flags)) != CFG_OK)
            return rc;
        /* a number with a default (ends_after_s) is dumped for every
         * kind: leave it out where the kind does not take it */
        for (size_t k = 0;
             k < sizeof sink_kind_keys / sizeof sink_kind_keys[0]; k++)
            if (!(sink_kind_keys[k].kinds & (1u << c->sinks[i].type)) &&
                cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
                    o, sink_kind_keys[k].key)))
                cJSON_DeleteItemFromObjectCaseSensitive(
                    o, sink_kind_keys[k].key);
    }
    return CFG_OK;
}

/* ---- detectors ---- */

/* "detectors": the engine-wide settings, and the older per-detector
 * objects (legacy.h) */
static int apply_detectors(void *base, const cJSON *v, const char *path,
                           struct table_errs *errs)
{
    struct cfg *c = base;
    const cJSON *m;
    char sub[CFG_KEYPATH_MAX];
    int rc = CFG_OK;

    if (!cJSON_IsObject(v))
        return table_errs_add(errs, "%s: expected an object", path);
    cJSON_ArrayForEach(m, v)
    {
        const struct table_item *it =
            table_items_find(det_engine_items, det_engine_nitems, m->string);
        int id = cfg_legacy_find(m->string), r;

        snprintf(sub, sizeof sub, "%s.%s", path, m->string);
        r = table_errs_keep(errs, table_duplicate(v, m, sub,
                                                  TABLE_ERRS_SLOT(errs)));
        if (r == CFG_OK && it != NULL)
            r = table_item_apply_errs(it, &c->det, m, sub, errs);
        else if (r == CFG_OK && id >= 0)
            r = cfg_legacy_apply(&c->legacy, id, m, sub, errs);
        else if (r == CFG_OK)
            r = table_errs_add(errs, "%s: unknown key (not an engine "
                               "setting; the older per-detector objects are "
                               "volume, payload_size, latency, error_rate, "
                               "credential_access and stream_stalled; rules "
                               "go in the `rules` list)", sub);
        if (r == CFG_ENOMEM)
            return r;
        if (r != CFG_OK)
            rc = CFG_EINVAL;
    }
    return rc;
}

static void defaults_detectors(void *base)
{
    struct cfg *c = base;

    det_engine_params_defaults(&c->det);
    memset(&c->legacy, 0, sizeof c->legacy);
}

static int dump_detectors(const void *base, cJSON *obj, const char *name,
                          unsigned flags)
{
    const struct cfg *c = base;
    cJSON *d;

    if ((d = cJSON_AddObjectToObject(obj, name)) == NULL)
        return CFG_ENOMEM;
    return table_items_dump(det_engine_items, det_engine_nitems, &c->det, d,
                            flags);
}

/* ---- rules ---- */

static int apply_rules(void *base, const cJSON *v, const char *path,
                       struct table_errs *errs)
{
    struct cfg *c = base;
    int rc;

    rule_set_destroy(c->rules);
    c->rules = NULL;
    rc = rule_set_compile_errs(&c->rules, v, path, errs);
    c->rules_given = rc == RULE_OK;
    return rc;
}

static int dump_rules(const void *base, cJSON *obj, const char *name,
                      unsigned flags)
{
    const struct cfg *c = base;
    struct rule_set *defaults = NULL;
    const struct rule_set *rs = c->rules;
    char err[256];
    cJSON *a = NULL;
    int rc = CFG_ENOMEM;

    (void)flags;
    if (rs == NULL && rule_set_defaults(&defaults, err, sizeof err) ==
                          RULE_OK)
        rs = defaults;
    if (rs != NULL && rule_set_dump(rs, &a) == RULE_OK)
        rc = cJSON_AddItemToObject(obj, name, a) ? CFG_OK
                                                 : (cJSON_Delete(a),
                                                    CFG_ENOMEM);
    rule_set_destroy(defaults);
    return rc;
}

/* The rules in force: the `rules` list, else the default rules with the
 * older per-detector objects applied (each detector's error); both at
 * once are refused. */
static int check_rules(struct cfg *c, struct table_errs *errs)
{
    if (c->rules_given && c->legacy.any) {
        int i = 0;
        while (!(c->legacy.any & (1u << i)))
            i++;
        return table_errs_add(errs,
                 "detectors.%s: a per-detector object cannot be used with a "
                 "`rules` list; put its settings in the rule named %s (or "
                 "remove the `rules` list)",
                 cfg_legacy_name(i), cfg_legacy_name(i));
    }
    if (!c->rules_given) {
        int rc;
        rule_set_destroy(c->rules);
        c->rules = NULL;
        if ((rc = cfg_legacy_rules(&c->legacy, &c->rules, errs)) != CFG_OK)
            return rc;
    }
    /* a rule its kind cannot set up for max_keys groups is refused here,
     * with its name, rather than when the service starts */
    return det_engine_check(&c->det, c->rules, TABLE_ERRS_SLOT(errs)) == 0
               ? CFG_OK
               : table_errs_keep(errs, CFG_EINVAL);
}

/* ---- inhibit ---- */

/* One `inhibit` entry: {"source": {matchers}, "target": {matchers},
 * "equal": ["session_id", "labels.team", ...]}.  An `equal` name is a
 * matcher key (rule, severity, group.<field>, labels.<name>) or a bare
 * group field name. */
/* The unknown and duplicate keys of an entry, each. */
static int inhibit_keys(const cJSON *o, const char *path,
                        struct table_errs *errs)
{
    static const char *const keys[] = {"source", "target", "equal"};
    const cJSON *m;
    int rc = CFG_OK;

    cJSON_ArrayForEach(m, o) {
        struct table_suggest sg;

        if (table_errs_keep(errs, table_duplicate(o, m, path,
                                                  TABLE_ERRS_SLOT(errs))) !=
            TABLE_OK) {
            rc = CFG_EINVAL;
            continue;
        }
        if (strcmp(m->string, keys[0]) == 0 ||
            strcmp(m->string, keys[1]) == 0 ||
            strcmp(m->string, keys[2]) == 0)
            continue;
        table_suggest_init(&sg, m->string);
        for (size_t i = 0; i < 3; i++)
            table_suggest_add(&sg, keys[i]);
        rc = table_errs_add(errs, "%s.%.40s: unknown key (source, target, "
                            "equal)%s%s%s", path, m->string,
                            table_suggest_best(&sg) ? "; did you mean " : "",
                            table_suggest_best(&sg) ? table_suggest_best(&sg)
                                                    : "",
                            table_suggest_best(&sg) ? "?" : "");
    }
    return rc;
}

/* An entry's `equal` list: each bad or repeated name. */
static int inhibit_equal(struct gate_inhibit *ir, const cJSON *m,
                         const char *sub, struct table_errs *errs)
{
    unsigned i = 0, at[GATE_EQUAL_MAX]; /* the index of each name kept */
    int rc = CFG_OK;

    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) > GATE_EQUAL_MAX)
        return table_errs_keep(errs, table_fail_expected(
                                         m, sub, "an array of at most 8 "
                                         "field names",
                                         TABLE_ERRS_SLOT(errs)));
    for (const cJSON *e = m->child; e != NULL; e = e->next, i++) {
        struct silence_matcher *f = &ir->equal[ir->nequal];
        char one[112];
        int prc = -1, dup = 0;

        snprintf(one, sizeof one, "%s[%u]", sub, i);
        if (cJSON_IsString(e) && e->valuestring[0] != '\0' &&
            strnlen(e->valuestring, SILENCE_FIELD_MAX + 8) <
                SILENCE_FIELD_MAX + 8) {
            prc = silence_field_parse(e->valuestring, f);
            if (prc == -1 && strchr(e->valuestring, '.') == NULL) {
                /* a bare name: a group field */
                char g[SILENCE_FIELD_MAX + 8];

                snprintf(g, sizeof g, "group.%s", e->valuestring);
                prc = silence_field_parse(g, f);
            }
        }
        if (prc != 0) {
            rc = table_errs_keep(errs, table_fail_expected(
                                           e, one, "a field name "
                                           "(session_id, group.<field>, "
                                           "labels.<name>, rule or "
                                           "severity)",
                                           TABLE_ERRS_SLOT(errs)));
            continue;
        }
        for (uint32_t k = 0; k < ir->nequal && !dup; k++)
            if (ir->equal[k].kind == f->kind &&
                strcmp(ir->equal[k].name, f->name) == 0) {
                rc = table_errs_add(errs, "%s: \"%s\" is in the list "
                                    "already (%s[%u])", one, e->valuestring,
                                    sub, at[k]);
                dup = 1;
            }
        if (!dup)
            at[ir->nequal++] = i;
    }
    return rc;
}

/* One `inhibit` entry: {"source": {matchers}, "target": {matchers},
 * "equal": ["session_id", "labels.team", ...]}.  An `equal` name is a
 * matcher key (rule, severity, group.<field>, labels.<name>) or a bare
 * group field name.  Every key's errors: its unknown keys, each bad
 * matcher of source and target, and each bad name of equal. */
static int apply_inhibit_one(struct gate_inhibit *ir, const cJSON *o,
                             const char *path, struct table_errs *errs)
{
    static const char *const sides[] = {"source", "target"};
    char sub[96];
    const cJSON *m;
    int rc;

    memset(ir, 0, sizeof *ir);
    if (!cJSON_IsObject(o))
        return table_errs_keep(errs, table_fail_expected(
                                         o, path, "an object {\"source\": "
                                         "{...}, \"target\": {...}, "
                                         "\"equal\": [...]}",
                                         TABLE_ERRS_SLOT(errs)));
    rc = inhibit_keys(o, path, errs);
    for (int side = 0; side < 2; side++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, sides[side]);

        snprintf(sub, sizeof sub, "%s.%s", path, sides[side]);
        if (v == NULL && rc != CFG_OK)
            continue; /* a misspelt key said so already */
        if (v == NULL)
            rc = table_errs_add(errs, "%s: missing; an object of matchers "
                                "(rule, severity, group.<field>, "
                                "labels.<name>)", sub);
        else if (silence_matchers_parse_errs(
                     side == 0 ? ir->source : ir->target,
                     side == 0 ? &ir->nsource : &ir->ntarget, v, sub,
                     errs) != SILENCE_OK)
            rc = CFG_EINVAL;
    }
    m = cJSON_GetObjectItemCaseSensitive(o, "equal");
    if (m != NULL) {
        snprintf(sub, sizeof sub, "%s.equal", path);
        if (inhibit_equal(ir, m, sub, errs) != CFG_OK)
            rc = CFG_EINVAL;
    }
    return rc;
}

/* Every entry's errors. */
static int apply_inhibit(void *base, const cJSON *v, const char *path,
                         struct table_errs *errs)
{
    struct cfg *c = base;
    const cJSON *e;
    char sub[32];
    size_t i = 0;
    int n, rc = CFG_OK;

    free(c->inhibit);
    c->inhibit = NULL;
    c->n_inhibit = 0;
    if (!cJSON_IsArray(v))
        return table_errs_keep(errs, table_fail_expected(
                                         v, path, "an array of inhibition "
                                         "rules (at most 32; [] for none)",
                                         TABLE_ERRS_SLOT(errs)));
    n = cJSON_GetArraySize(v);
    if (n > CFG_INHIBIT_MAX)
        return table_errs_add(errs, "%s: expected at most %d inhibition "
                              "rules, got %d", path, CFG_INHIBIT_MAX, n);
    c->inhibit_given = 1;
    if (n == 0)
        return CFG_OK;
    if ((c->inhibit = calloc((size_t)n, sizeof *c->inhibit)) == NULL) {
        table_errs_add(errs, "%s: out of memory", path);
        return CFG_ENOMEM;
    }
    cJSON_ArrayForEach(e, v) {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (apply_inhibit_one(&c->inhibit[i], e, sub, errs) != CFG_OK)
            rc = CFG_EINVAL;
        c->n_inhibit = ++i;
    }
    return rc;
}

/* The default when the file has no `inhibit`: stream_stalled inhibits
 * each absence rule grouped by a key (an absence per key means nothing
 * while the whole stream is quiet), at most GATE_INHIBIT_MAX of them. */
static int default_inhibit(struct cfg *c, char *err, size_t errsz)
{
    size_t n = 0;

    if (c->inhibit_given || c->rules == NULL)
        return CFG_OK;
    free(c->inhibit);
    c->inhibit = NULL;
    c->n_inhibit = 0;
    for (uint32_t i = 0; i < c->rules->n; i++)
        n += c->rules->rules[i].kind == RULE_K_ABSENCE &&
             c->rules->rules[i].ngroup > 0;
    if (n > GATE_INHIBIT_MAX)
        n = GATE_INHIBIT_MAX;
    if (n == 0)
        return CFG_OK;
    if ((c->inhibit = calloc(n, sizeof *c->inhibit)) == NULL) {
        snprintf(err, errsz, "inhibit: out of memory");
        return CFG_ENOMEM;
    }
    for (uint32_t i = 0; i < c->rules->n && c->n_inhibit < n; i++) {
        const struct rule *r = &c->rules->rules[i];
        struct gate_inhibit *ir = &c->inhibit[c->n_inhibit];

        if (r->kind != RULE_K_ABSENCE || r->ngroup == 0)
            continue;
        ir->nsource = ir->ntarget = 1;
        ir->source[0].kind = SILENCE_M_RULE;
        snprintf(ir->source[0].glob, sizeof ir->source[0].glob,
                 "stream_stalled");
        ir->target[0].kind = SILENCE_M_RULE;
        snprintf(ir->target[0].glob, sizeof ir->target[0].glob, "%s",
                 r->name);
        c->n_inhibit++;
    }
    return CFG_OK;
}

/* A matcher's key as the config names it: rule, group.<field>, ... */
static void matcher_key(const struct silence_matcher *m, char *out,
                        size_t size)
{
    switch (m->kind) {
    case SILENCE_M_RULE:
        snprintf(out, size, "rule");
        break;
    case SILENCE_M_SEVERITY:
        snprintf(out, size, "severity");
        break;
    case SILENCE_M_GROUP:
        snprintf(out, size, "group.%s", m->name);
        break;
    default:
        snprintf(out, size, "labels.%s", m->name);
        break;
    }
}

static int dump_inhibit(const void *base, cJSON *obj, const char *name,
                        unsigned flags)
{
    const struct cfg *c = base;
    char k[SILENCE_FIELD_MAX + 16];
    cJSON *a;

    (void)flags;
    if ((a = cJSON_AddArrayToObject(obj, name)) == NULL)
        return CFG_ENOMEM;
    for (size_t i = 0; i < c->n_inhibit; i++) {
        const struct gate_inhibit *ir = &c->inhibit[i];
        cJSON *o = cJSON_CreateObject(), *src, *tgt, *eq;

        if (o == NULL || !cJSON_AddItemToArray(a, o))
            return cJSON_Delete(o), CFG_ENOMEM;
        if ((src = cJSON_AddObjectToObject(o, "source")) == NULL ||
            (tgt = cJSON_AddObjectToObject(o, "target")) == NULL ||
            (eq = cJSON_AddArrayToObject(o, "equal")) == NULL)
            return CFG_ENOMEM;
        for (uint32_t j = 0; j < ir->nsource; j++) {
            matcher_key(&ir->source[j], k, sizeof k);
            if (cJSON_AddStringToObject(src, k, ir->source[j].glob) == NULL)
                return CFG_ENOMEM;
        }
        for (uint32_t j = 0; j < ir->ntarget; j++) {
            matcher_key(&ir->target[j], k, sizeof k);
            if (cJSON_AddStringToObject(tgt, k, ir->target[j].glob) == NULL)
                return CFG_ENOMEM;
        }
        for (uint32_t j = 0; j < ir->nequal; j++) {
            cJSON *s;

            matcher_key(&ir->equal[j], k, sizeof k);
            if ((s = cJSON_CreateString(k)) == NULL ||
                !cJSON_AddItemToArray(eq, s))
                return cJSON_Delete(s), CFG_ENOMEM;
        }
    }
    return CFG_OK;
}

/* ---- the root ---- */

static const struct table_item root_items[] = {
    {.name = "instance", .type = TABLE_STRING,
     .offset = offsetof(struct cfg, instance), .size = CFG_INSTANCE_MAX,
     .def_str = "toolwatch",
     .help = "this instance's name: the source of every alert"},
    {.name = "state_dir", .type = TABLE_STRING,
     .offset = offsetof(struct cfg, state_dir), .size = CFG_PATH_MAX,
     .def_str = "./state",
     .help = "directory of the stream position and the alert journal"},
    {.name = "stream", .type = TABLE_SECTION,
     .offset = offsetof(struct cfg, stream), .items = stream_items,
     .nitems = sizeof stream_items / sizeof stream_items[0],
     .help = "the audit stream"},
    {.name = "status", .type = TABLE_SECTION,
     .offset = offsetof(struct cfg, status), .items = status_items,
     .nitems = sizeof status_items / sizeof status_items[0],
     .help = "the status HTTP server"},
    {.name = "sinks", .type = TABLE_CUSTOM, .apply_errs = apply_sinks,
     .defaults = defaults_sinks, .dump = dump_sinks,
     .help = "where alerts are sent (none: alerts are only logged)"},
    {.name = "detectors", .type = TABLE_CUSTOM,
     .apply_errs = apply_detectors,
     .defaults = defaults_detectors, .dump = dump_detectors,
     .help = "engine-wide settings (and the older per-detector objects)"},
    {.name = "rules", .type = TABLE_CUSTOM, .apply_errs = apply_rules,
     .dump = dump_rules,
     .help = "the detection rules (default: the six default rules)"},
    {.name = "inhibit", .type = TABLE_CUSTOM, .apply_errs = apply_inhibit,
     .dump = dump_inhibit,
     .help = "inhibition rules: while a source alert fires, target alerts "
             "with equal fields are not sent (default: stream_stalled "
             "inhibits absence rules with a group_by; [] for none)"},
    {.name = "redact", .type = TABLE_SECTION,
     .offset = offsetof(struct cfg, redact), .items = redact_items,
     .nitems = sizeof redact_items / sizeof redact_items[0],
     .help = "how personal data and secrets in alert text are replaced"},
    SILENCE_STORE_SETTINGS_ITEM(struct cfg, silence_retention_s),
    INT_ITEM(struct cfg, journal_max_bytes, JOURNAL_DEFAULT_MAX_PENDING_BYTES,
             65536,
             INT64_C(1) << 40,
             "undelivered notifications the journal holds, in bytes, "
             "before the stream pauses (backpressure)"),
};

void cfg_defaults(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    table_items_defaults(root_items, sizeof root_items / sizeof root_items[0],
                       c);
}

void cfg_release(struct cfg *c)
{
    if (c == NULL)
        return;
    rule_set_destroy(c->rules);
    c->rules = NULL;
    c->rules_given = 0;
    free(c->inhibit);
    c->inhibit = NULL;
    c->n_inhibit = 0;
    c->inhibit_given = 0;
}

void cfg_free(struct cfg *c)
{
    cfg_release(c);
    free(c);
}

/* ---- parsing ---- */

/* A header in both stream.headers and stream.headers_env. */
static int check_header_sources(const struct cfg_stream *st, char *err,
                                size_t errsz)
{
    for (size_t i = 0; i < st->n_headers_env; i++) {
        const char *name = st->headers_env[i].name;
        size_t nlen = strlen(name);

        for (size_t k = 0; k < st->n_headers; k++)
            if (strncasecmp(st->headers[k], name, nlen) == 0 &&
                st->headers[k][nlen] == ':') {
                snprintf(err, errsz, "stream.headers_env.%s: also in "
                         "stream.headers (%.*s); give a header in one of "
                         "them only", name, (int)nlen, st->headers[k]);
                return CFG_EINVAL;
            }
    }
    return CFG_OK;
}

/* The checks that span sections, once every key is good: each one's
 * error; the default inhibition rules only over good rules. */
static int check_all(struct cfg *c, struct table_errs *errs)
{
    int rc = table_errs_keep(errs, check_header_sources(
                                       &c->stream, TABLE_ERRS_SLOT(errs)));

    if (c->stream.retry_max_ms < c->stream.retry_base_ms)
        rc = table_errs_add(errs, "stream.retry_max_ms: expected at least "
                            "stream.retry_base_ms (%lld), got %lld",
                            (long long)c->stream.retry_base_ms,
                            (long long)c->stream.retry_max_ms);
    int r = check_rules(c, errs);

    if (r == CFG_OK)
        r = table_errs_keep(errs, default_inhibit(c, TABLE_ERRS_SLOT(errs)));
    return r != CFG_OK ? r : rc;
}

/* Messages [from, kept) of errs as the loader gives them: one about a key
 * an override set names the variable first; the others name `file` first
 * (when not NULL). */
static void name_messages(const struct cfg_overrides *ov, const char *file,
                          struct table_errs *errs, unsigned from)
{
    size_t flen = file != NULL ? strlen(file) + 2 : 0; /* "file: " */

    if (flen > TABLE_ERR_MAX / 2)
        flen = TABLE_ERR_MAX / 2; /* a path that long is cut */
    for (unsigned i = from; i < table_errs_kept(errs); i++) {
        char *msg = table_errs_at(errs, i);
        size_t mlen;

        if (cfg_overrides_blame(ov, msg, TABLE_ERR_MAX) || file == NULL)
            continue;
        mlen = strlen(msg);
        if (mlen > TABLE_ERR_MAX - 1 - flen)
            mlen = TABLE_ERR_MAX - 1 - flen;
        memmove(msg + flen, msg, mlen);
        msg[flen + mlen] = '\0';
        memcpy(msg, file, flen - 2);
        memcpy(msg + flen - 2, ": ", 2);
    }
}

/* Parse and validate, every error in errs named as name_messages() does.
 * Past a syntax error or a bad override nothing can be checked; past a
 * literal secret nothing else is (the walk would refuse the same key
 * again); past a bad key the checks that span sections are skipped (they
 * would repeat the mistake). */
static int parse(struct cfg *c, const char *text, size_t len,
                 char *const *envp, const char *file,
                 struct table_errs *errs)
{
    struct cfg_overrides ov = {0};
    unsigned from = table_errs_kept(errs);
    cJSON *root = NULL;
    int rc;

    cfg_defaults(c);
    rc = table_errs_keep(errs, cfg_json_parse(text, len, "", &root,
                                              TABLE_ERRS_SLOT(errs)));
    if (rc != CFG_OK)
        goto named;
    rc = table_errs_keep(errs, cfg_overrides_apply(root, envp, &ov,
                                                   TABLE_ERRS_SLOT(errs)));
    if (rc == CFG_EINVAL)
        goto out; /* the message names the variable */
    if (rc == CFG_OK)
        rc = cfg_scan_secrets(root, "", errs);
    if (rc == CFG_OK)
        rc = table_items_apply_errs(root_items,
                                    sizeof root_items / sizeof root_items[0],
                                    c, root, "", errs);
    if (rc == CFG_OK)
        rc = check_all(c, errs);
named:
    if (rc != CFG_OK)
        name_messages(&ov, file, errs, from);
out:
    if (rc != CFG_OK)
        cfg_release(c);
    cfg_overrides_free(&ov);
    cJSON_Delete(root);
    return rc;
}

int cfg_parse(struct cfg *c, const char *text, size_t len, char *err,
              size_t errsz)
{
    return cfg_parse_env(c, text, len, NULL, err, errsz);
}

int cfg_parse_env(struct cfg *c, const char *text, size_t len,
                  char *const *envp, char *err, size_t errsz)
{
    struct table_errs1 one;
    struct table_errs *errs = table_errs1_init(&one);
    int rc = parse(c, text, len, envp, NULL, errs);

    return table_errs1_done(&one, rc, err, errsz);
}

int cfg_parse_errs(struct cfg *c, const char *text, size_t len,
                   char *const *envp, struct table_errs *errs)
{
    return parse(c, text, len, envp, NULL, errs);
}

int cfg_load_errs(struct cfg *c, const char *path, char *const *envp,
                  struct table_errs *errs)
{
    FILE *f = NULL;
    char *text = NULL;
    size_t len = 0, n;
    int rc = CFG_EIO;

    cfg_defaults(c);
    if ((f = fopen(path, "rb")) == NULL) {
        table_errs_add(errs, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((text = malloc(CFG_FILE_MAX + 1)) == NULL) {
        rc = CFG_ENOMEM;
        table_errs_add(errs, "%s: out of memory", path);
        goto out;
    }
    while ((n = fread(text + len, 1, CFG_FILE_MAX + 1 - len, f)) > 0)
        len += n;
    if (ferror(f)) {
        table_errs_add(errs, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (len > CFG_FILE_MAX) {
        table_errs_add(errs, "%s: larger than %u bytes", path,
                       CFG_FILE_MAX);
        rc = CFG_EINVAL;
        goto out;
    }
    rc = parse(c, text, len, envp, path, errs);
out:
    if (f != NULL)
        fclose(f);
    free(text);
    return rc;
}

int cfg_load_env(struct cfg *c, const char *path, char *const *envp,
                 char *err, size_t errsz)
{
    struct table_errs1 one;
    struct table_errs *errs = table_errs1_init(&one);
    int rc = cfg_load_errs(c, path, envp, errs);

    return table_errs1_done(&one, rc, err, errsz);
}

int cfg_load(struct cfg *c, const char *path, char *err, size_t errsz)
{
    return cfg_load_env(c, path, environ, err, errsz);
}

void cfg_report_print(void *ctx, const char *line, unsigned total)
{
    const struct cfg_report_file *rf = ctx;

    (void)total;
    fprintf(rf->f, "%s%s\n", rf->prefix, line);
}

int cfg_load_report(struct cfg *c, const char *path, char *const *envp,
                    cfg_report_fn *emit, void *ctx, char *first,
                    size_t firstsz)
{
    char (*msgs)[TABLE_ERR_MAX] = malloc(TABLE_ERRS_MAX * sizeof *msgs);
    char line[TABLE_ERR_MAX];
    struct table_errs1 one; /* when the list cannot be had: the first */
    struct table_errs list, *errs = &list;
    unsigned total, kept;
    int rc;

    if (msgs != NULL)
        table_errs_init(&list, msgs, TABLE_ERRS_MAX);
    else
        errs = table_errs1_init(&one);
    if ((rc = cfg_load_errs(c, path, envp, errs)) == CFG_OK)
        goto out;
    if (table_errs_count(errs) == 0) /* every failure has a message */
        table_errs_add(errs, "%s: %s", path, cfg_strerror(rc));
    total = table_errs_count(errs);
    kept = table_errs_kept(errs);
    for (unsigned i = 0; i < kept && emit != NULL; i++)
        emit(ctx, table_errs_at(errs, i), total);
    if (total > kept && emit != NULL) {
        snprintf(line, sizeof line, "... and %u more errors", total - kept);
        emit(ctx, line, total);
    }
    if (first != NULL && firstsz > 0) {
        if (total > 1)
            snprintf(first, firstsz, "%s (and %u more)",
                     table_errs_at(errs, 0), total - 1);
        else
            snprintf(first, firstsz, "%s", table_errs_at(errs, 0));
    }
out:
    free(msgs);
    return rc;
}

cJSON *cfg_to_json(const struct cfg *c, unsigned flags)
{
    cJSON *root = cJSON_CreateObject();

    if (root != NULL &&
        table_items_dump(root_items, sizeof root_items / sizeof root_items[0],
                       c, root, flags) != CFG_OK) {
        cJSON_Delete(root);
        root = NULL;
    }
    return root;
}

const char *cfg_strerror(int rc)
{
    switch (rc) {
    case CFG_OK: return "ok";
    case CFG_EIO: return "cannot read the configuration file";
    case CFG_ESYNTAX: return "the configuration is not valid JSON";
    case CFG_EINVAL: return "invalid configuration";
    case CFG_ENOMEM: return "out of memory";
    default: return "unknown configuration error";
    }
}
