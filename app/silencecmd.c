/*
 * silencecmd.c - `toolwatch silence add|list|expire` and `toolwatch ack`
 * (see silencecmd.h): one blocking libcurl request to the running
 * service's API, its answer printed.
 *
 * The client checks only what it must to build a request (option
 * syntax, durations, the presence of what a silence needs); the server
 * validates the silence itself and its message is what the user sees on
 * a refusal, so the two can never disagree.  The token is read from the
 * environment when the request is made and is never printed.
 */
#include "app/silencecmd.h"

#include "app/cli.h"
#include "base/buf.h"
#include "base/clock.h"
#include "config/config.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX (8u * 1024u * 1024u)
#define TIMEOUT_MS 10000L
#define DURATION_MAX_MS (366LL * 86400 * 1000)

static const char silence_usage[] =
    "usage: toolwatch silence add [--rule GLOB] [--severity S]\n"
    "                             [--group FIELD=GLOB]... "
    "[--label NAME=GLOB]...\n"
    "                             (--ends-at TIME | --duration D |\n"
    "                              --days mon,tue --start HH:MM --end HH:MM "
    "--tz ZONE)\n"
    "                             [--starts-at TIME] --comment TEXT "
    "[--by NAME]\n"
    "                             -c FILE [--url URL]\n"
    "       toolwatch silence list -c FILE [--url URL] [--json]\n"
    "       toolwatch silence expire ID -c FILE [--url URL]\n"
    "\n"
    "Silence alerts of the running service: their notifications are not\n"
    "sent to any sink while the silence is active (the episodes still open,\n"
    "close and show in /status).  When a silence ends while a matching\n"
    "episode is open, its firing goes out then.\n"
    "\n"
    "  add      make a silence; prints its id.  At least one matcher\n"
    "           (globs: * any run, ? one character, any case).  One-off:\n"
    "           --ends-at (ISO 8601) or --duration (90s, 15m, 2h, 1d,\n"
    "           1h30m), from --starts-at (default now).  Weekly: --days,\n"
    "           --start and --end (HH:MM; an end before the start ends the\n"
    "           next day) in the IANA time zone --tz, daylight saving\n"
    "           included; it lasts until expired.\n"
    "  list     the silences, expired ones included until they are pruned\n"
    "           (--json: the API's answer as it is)\n"
    "  expire   end a silence now\n"
    "\n"
    "  -c FILE  the service's configuration: the status server's address\n"
    "           and port, and status.token_env, the variable holding the\n"
    "           bearer token (writes need it)\n"
    "  --url URL  the status server, e.g. http://127.0.0.1:9464, instead\n"
    "           of the file's address\n"
    "  --by NAME  who made it (default: $USER)\n"
    "\n"
    "See docs/operations.md.\n";

static const char ack_usage[] =
    "usage: toolwatch ack ID -c FILE [--by NAME] [--comment TEXT] "
    "[--url URL]\n"
    "\n"
    "Acknowledge the open alert episode ID (data.id of its notification, or\n"
    "\"episode\" in /status): its repeats stop; its resolve is still sent.\n"
    "Prints who acknowledged it and when.  --by defaults to $USER.\n"
    "See docs/operations.md.\n";

/* ---- pure pieces -------------------------------------------------------- */

int silencecmd_duration(const char *text, int64_t *ms)
{
    int64_t total = 0;
    const char *p = text;

    if (text == NULL || *p == '\0')
        return -1;
    while (*p != '\0') {
        int64_t v = 0, unit;
        int digits = 0;

        for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
            v = v * 10 + (*p - '0');
        switch (*p) {
        case 's':
            unit = 1000;
            break;
        case 'm':
            unit = 60000;
            break;
        case 'h':
            unit = 3600000;
            break;
        case 'd':
            unit = 86400000;
            break;
        default:
            return -1;
        }
        if (digits == 0 || v > DURATION_MAX_MS / unit)
            return -1;
        total += v * unit;
        if (total > DURATION_MAX_MS)
            return -1;
        p++;
    }
    if (total <= 0)
        return -1;
    *ms = total;
    return 0;
}

/* "field=glob" into the matchers as prefix + field -> glob. */
static int add_pairs(cJSON *m, const char *prefix, const char *const *pairs,
                     size_t n, const char *opt, char *err, size_t errsz)
{
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(pairs[i], '=');
        char key[SILENCE_FIELD_MAX + 16];

        if (eq == NULL || eq == pairs[i] || eq[1] == '\0' ||
            (size_t)(eq - pairs[i]) >= SILENCE_FIELD_MAX) {
            snprintf(err, errsz, "%s %.80s: expected NAME=GLOB", opt,
                     pairs[i]);
            return -1;
        }
        snprintf(key, sizeof key, "%s%.*s", prefix, (int)(eq - pairs[i]),
                 pairs[i]);
        if (cJSON_GetObjectItemCaseSensitive(m, key) != NULL) {
            snprintf(err, errsz, "%s: %s given twice", opt, key);
            return -1;
        }
        if (cJSON_AddStringToObject(m, key, eq + 1) == NULL)
            return -1;
    }
    return 0;
}

/* The days "mon,tue" as a JSON array. */
static int add_days(cJSON *rec, const char *days)
{
    cJSON *arr = cJSON_AddArrayToObject(rec, "days");
    const char *p = days;

    if (arr == NULL)
        return -1;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        char day[16];

        snprintf(day, sizeof day, "%.*s", (int)(n < 15 ? n : 15), p);
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(day)))
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* The one-off times: --ends-at, or --duration from --starts-at / now. */
static int add_times(cJSON *o, const struct silencecmd_add *a, int64_t now_ms,
                     char *err, size_t errsz)
{
    int64_t start = now_ms, dur;
    char t[32];

    if (a->starts_at != NULL) {
        if (clock_parse_iso8601(a->starts_at, strlen(a->starts_at),
                                &start) != 0) {
            snprintf(err, errsz, "--starts-at %.80s: expected an ISO 8601 "
                     "time (2026-03-10T02:00:00Z)", a->starts_at);
            return -1;
        }
        if (!cJSON_AddStringToObject(o, "starts_at", a->starts_at))
            return -1;
    }
    if (a->ends_at != NULL)
        return cJSON_AddStringToObject(o, "ends_at", a->ends_at) ? 0 : -1;
    if (silencecmd_duration(a->duration, &dur) != 0) {
        snprintf(err, errsz, "--duration %.80s: expected a duration like "
                 "90s, 15m, 2h, 1d or 1h30m (at most 366 days)", a->duration);
        return -1;
    }
    if (clock_format_iso8601(start + dur, t, sizeof t) < 0) {
        snprintf(err, errsz, "--duration: the end is out of range");
        return -1;
    }
    return cJSON_AddStringToObject(o, "ends_at", t) ? 0 : -1;
}

int silencecmd_body(const struct silencecmd_add *a, int64_t now_ms,
                    char **json, char *err, size_t errsz)
{
    int weekly = a->days || a->start || a->end || a->tz;
    int ntimes = (a->ends_at != NULL) + (a->duration != NULL) + (weekly != 0);
    cJSON *o = cJSON_CreateObject(), *m, *rec;
    int rc = -1;

    *json = NULL;
    snprintf(err, errsz, "out of memory");
    if (o == NULL || (m = cJSON_AddObjectToObject(o, "matchers")) == NULL)
        goto out;
    if ((a->rule && !cJSON_AddStringToObject(m, "rule", a->rule)) ||
        (a->severity && !cJSON_AddStringToObject(m, "severity",
                                                 a->severity)) ||
        add_pairs(m, "group.", a->groups, a->ngroups, "--group", err,
                  errsz) != 0 ||
        add_pairs(m, "labels.", a->labels, a->nlabels, "--label", err,
                  errsz) != 0)
        goto out;
    if (m->child == NULL) {
        snprintf(err, errsz, "give at least one of --rule, --severity, "
                 "--group, --label");
        goto out;
    }
    if (ntimes != 1) {
        snprintf(err, errsz, "give one of --ends-at, --duration, or --days "
                 "with --start, --end and --tz");
        goto out;
    }
    if (weekly) {
        if (!a->days || !a->start || !a->end || !a->tz || a->starts_at) {
            snprintf(err, errsz, "a weekly silence takes --days, --start, "
                     "--end and --tz (and no --starts-at)");
            goto out;
        }
        if ((rec = cJSON_AddObjectToObject(o, "recurrence")) == NULL ||
            add_days(rec, a->days) != 0 ||
            !cJSON_AddStringToObject(rec, "start", a->start) ||
            !cJSON_AddStringToObject(rec, "end", a->end) ||
            !cJSON_AddStringToObject(rec, "tz", a->tz))
            goto out;
    } else if (add_times(o, a, now_ms, err, errsz) != 0) {
        goto out;
    }
    if (a->comment == NULL) {
        snprintf(err, errsz, "--comment is required (why the silence)");
        goto out;
    }
    if (!cJSON_AddStringToObject(o, "comment", a->comment) ||
        !cJSON_AddStringToObject(o, "created_by", a->by))
        goto out;
    if ((*json = cJSON_PrintUnformatted(o)) != NULL)
        rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

/* ---- the server ------------------------------------------------------- */

/* Where the API is and its token. */
struct target {
    char base[CFG_ADDR_MAX + 32];  /* "http://127.0.0.1:9464", or --url */
    char *token;                   /* a copy, wiped and freed at the end */
};

static void target_free(struct target *t)
{
    if (t->token != NULL) {
        memset(t->token, 0, strlen(t->token));
        free(t->token);
        t->token = NULL;
    }
}

/* The status server of the file at path (NULL: none, url required) and
 * --url.  0, or -1 with a message in err; a file that does not load has
 * each of its errors printed on stderr after "toolwatch <cmd>: " and err
 * left empty. */
static int target_of(const char *cmd, const char *path, const char *url,
                     struct target *t, char *err, size_t errsz)
{
    struct cfg *c = NULL;
    const char *token = NULL, *host;
    char prefix[64];
    struct cfg_report_file report = {stderr, prefix};
    int rc = -1;

    memset(t->base, 0, sizeof t->base);
    t->token = NULL;
    err[0] = '\0';
    if (path != NULL) {
        snprintf(prefix, sizeof prefix, "toolwatch %s: ", cmd);
        if ((c = calloc(1, sizeof *c)) == NULL) {
            snprintf(err, errsz, "out of memory");
            goto out;
        }
        if (cfg_load_report(c, path, environ, cfg_report_print, &report,
                            NULL, 0) != CFG_OK ||
            cfg_status_token(c, &token, err, errsz) != CFG_OK)
            goto out;
        if (token != NULL && (t->token = strdup(token)) == NULL)
            goto out;
        if (url == NULL && !c->status.enabled) {
            snprintf(err, errsz, "%s: status.enabled is false: the service "
                     "has no API", path);
            goto out;
        }
        if (url == NULL && c->status.port == 0) {
            snprintf(err, errsz, "%s: status.port is 0 (any free port): "
                     "give --url with the port the service logged", path);
            goto out;
        }
        host = c->status.listen;
        if (strcmp(host, "0.0.0.0") == 0)
            host = "127.0.0.1";
        else if (strcmp(host, "::") == 0)
            host = "::1";
        snprintf(t->base, sizeof t->base, strchr(host, ':') != NULL
                 ? "http://[%s]:%lld" : "http://%s:%lld", host,
                 (long long)c->status.port);
    }
    if (url != NULL) {
        size_t n = strlen(url);

        while (n > 0 && url[n - 1] == '/')
            n--;
        if (n >= sizeof t->base || (strncmp(url, "http://", 7) != 0 &&
                                    strncmp(url, "https://", 8) != 0)) {
            snprintf(err, errsz, "--url %.80s: expected http://HOST:PORT",
                     url);
            goto out;
        }
        snprintf(t->base, sizeof t->base, "%.*s", (int)n, url);
    }
    rc = 0;
out:
    cfg_free(c);
    if (rc != 0)
        target_free(t);
    return rc;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == BUF_OK ? size * n : 0;
}

/* One request: method path (under t->base) with a JSON body (NULL:
 * none).  Returns the HTTP status (its body in *answer), or 0 with the
 * reason in err. */
static long call(const struct target *t, const char *method,
                 const char *path, const char *body, buf *answer, char *err,
                 size_t errsz)
{
    char url[sizeof t->base + 256], cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hl = NULL;
    CURL *e = curl_easy_init();
    buf auth;
    long code = 0;
    CURLcode cc;

    buf_init(&auth, 8192);
    if (e == NULL) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    snprintf(url, sizeof url, "%s%s", t->base, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        hl = curl_slist_append(hl, "Content-Type: application/json");
    }
    if (t->token != NULL &&
        (buf_append_str(&auth, "Authorization: Bearer ") != BUF_OK ||
         buf_append_str(&auth, t->token) != BUF_OK ||
         (hl = curl_slist_append(hl, auth.data)) == NULL)) {
        snprintf(err, errsz, "the token does not fit a header");
        goto out;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    cc = curl_easy_perform(e);
    if (cc != CURLE_OK) {
        snprintf(err, errsz, "cannot reach the service at %s: %s", t->base,
                 cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    if (answer->data == NULL)
        buf_append(answer, "", 0);
out:
    if (auth.data != NULL)
        memset(auth.data, 0, auth.len);
    buf_free(&auth);
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    return code;
}

/* Say why a request failed: the server's {"error"} message, or its
 * status. */
static void say_refused(const char *cmd, long code, const buf *answer)
{
    cJSON *j = cJSON_ParseWithLength(answer->data, answer->len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "error");

    if (cJSON_IsString(m))
        fprintf(stderr, "toolwatch %s: %s (HTTP %ld)\n", cmd, m->valuestring,
                code);
    else
        fprintf(stderr, "toolwatch %s: the service answered HTTP %ld\n", cmd,
                code);
    cJSON_Delete(j);
}

/* Make the request and judge it: CLI_EXIT_OK when the status is `want`
 * (the answer in *answer), else the failure said on stderr. */
static int request(const char *cmd, const struct target *t,
                   const char *method, const char *path, const char *body,
                   long want, buf *answer)
{
    char err[512];
    long code = call(t, method, path, body, answer, err, sizeof err);

    if (code == 0) {
        fprintf(stderr, "toolwatch %s: %s\n", cmd, err);
        return CLI_EXIT_FAIL;
    }
    if (code != want) {
        say_refused(cmd, code, answer);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* ---- printing ---------------------------------------------------------- */

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* One silence as a line: id, state, matchers, when, who, why. */
static void print_silence(const cJSON *s, FILE *out)
{
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(s, "recurrence");
    const cJSON *m;
    buf line;

    buf_init(&line, 64 * 1024);
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(s, "matchers")) {
        if (line.len > 0)
            buf_append_str(&line, ",");
        buf_append_str(&line, m->string);
        buf_append_str(&line, "=");
        buf_append_str(&line, cJSON_IsString(m) ? m->valuestring : "?");
    }
    fprintf(out, "%-16s  %-8s  %-32s  ", str_of(s, "id"), str_of(s, "state"),
            line.data != NULL ? line.data : "");
    if (cJSON_IsObject(rec)) {
        const cJSON *d;
        int first = 1;

        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(rec, "days")) {
            fprintf(out, "%s%s", first ? "" : ",",
                    cJSON_IsString(d) ? d->valuestring : "?");
            first = 0;
        }
        fprintf(out, " %s-%s %s", str_of(rec, "start"), str_of(rec, "end"),
                str_of(rec, "tz"));
    } else {
        fprintf(out, "%s .. %s", str_of(s, "starts_at"), str_of(s, "ends_at"));
    }
    fprintf(out, "  by %s: %s\n", str_of(s, "created_by"),
            str_of(s, "comment"));
    buf_free(&line);
}

static int print_list(const buf *answer, FILE *out)
{
    cJSON *j = cJSON_ParseWithLength(answer->data, answer->len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "silences"), *s;

    if (!cJSON_IsArray(list)) {
        cJSON_Delete(j);
        fprintf(stderr, "toolwatch silence list: the service's answer is "
                "not a list of silences\n");
        return CLI_EXIT_FAIL;
    }
    if (cJSON_GetArraySize(list) == 0)
        fprintf(out, "no silences\n");
    cJSON_ArrayForEach(s, list)
        print_silence(s, out);
    cJSON_Delete(j);
    return CLI_EXIT_OK;
}

/* ---- the commands ------------------------------------------------------- */

/* Who: --by, else $USER, else "cli". */
static const char *by_default(const char *by)
{
    const char *u = getenv("USER");

    return by != NULL ? by : u != NULL && u[0] != '\0' ? u : "cli";
}

/* The options of silence add, list, expire and ack. */
#define OPT_V(name) {name, required_argument, NULL, 0}
static const struct option add_opts[] = {
    CLI_OPT_HELP, CLI_OPT_CONFIG, OPT_V("url"), OPT_V("rule"),
    OPT_V("severity"), OPT_V("starts-at"), OPT_V("ends-at"),
    OPT_V("duration"), OPT_V("days"), OPT_V("start"), OPT_V("end"),
    OPT_V("tz"), OPT_V("comment"), OPT_V("by"), OPT_V("group"),
    OPT_V("label"), CLI_OPT_END,
};
static const struct option list_opts[] = {
    CLI_OPT_HELP, CLI_OPT_CONFIG, OPT_V("url"),
    {"json", no_argument, NULL, 0}, CLI_OPT_END,
};
static const struct option expire_opts[] = {
    CLI_OPT_HELP, CLI_OPT_CONFIG, OPT_V("url"), CLI_OPT_END,
};
static const struct option ack_opts[] = {
    CLI_OPT_HELP, CLI_OPT_CONFIG, OPT_V("url"), OPT_V("by"),
    OPT_V("comment"), CLI_OPT_END,
};

/* -c FILE, --config FILE, --url URL: 1 taken, 0 not this, -1 a value is
 * missing or the option was bad (said). */
static int common_option(cli_args *ar, int kind, const char *name,
                         const char **path, const char **url)
{
    if (kind < 0)
        return -1;
    if (kind == 1 && strcmp(name, "--config") == 0)
        return (*path = cli_value(ar, name)) != NULL ? 1 : -1;
    if (kind == 1 && strcmp(name, "--url") == 0)
        return (*url = cli_value(ar, name)) != NULL ? 1 : -1;
    return 0;
}

/* The value of option `name` if it is `opt` into *slot: 1 taken, 0 not
 * this, -1 missing. */
static int value_option(cli_args *ar, const char *name, const char *opt,
                        const char **slot)
{
    if (strcmp(name, opt) != 0)
        return 0;
    return (*slot = cli_value(ar, name)) != NULL ? 1 : -1;
}

/* Parse `silence add` options into *a.  0, or -1 (said). */
static int add_options(cli_args *ar, struct silencecmd_add *a,
                       const char **path, const char **url)
{
    const char *name, *g = NULL;
    int kind;

    while ((kind = cli_next(ar, &name)) != 0) {
        int r = common_option(ar, kind, name, path, url);
        static const struct {
            const char *opt;
            size_t off;
        } opts[] = {
            {"--rule", offsetof(struct silencecmd_add, rule)},
            {"--severity", offsetof(struct silencecmd_add, severity)},
            {"--starts-at", offsetof(struct silencecmd_add, starts_at)},
            {"--ends-at", offsetof(struct silencecmd_add, ends_at)},
            {"--duration", offsetof(struct silencecmd_add, duration)},
            {"--days", offsetof(struct silencecmd_add, days)},
            {"--start", offsetof(struct silencecmd_add, start)},
            {"--end", offsetof(struct silencecmd_add, end)},
            {"--tz", offsetof(struct silencecmd_add, tz)},
            {"--comment", offsetof(struct silencecmd_add, comment)},
            {"--by", offsetof(struct silencecmd_add, by)},
        };

        for (size_t i = 0; r == 0 && kind == 1 &&
                           i < sizeof opts / sizeof opts[0]; i++)
            r = value_option(ar, name, opts[i].opt,
                             (const char **)(void *)((char *)a +
                                                     opts[i].off));
        if (r == 0 && kind == 1 && (r = value_option(ar, name, "--group",
                                                     &g)) == 1) {
            if (a->ngroups == SILENCECMD_MAX_GROUPS)
                r = -1;
            else
                a->groups[a->ngroups++] = g;
        }
        if (r == 0 && kind == 1 && (r = value_option(ar, name, "--label",
                                                     &g)) == 1) {
            if (a->nlabels == SILENCECMD_MAX_LABELS)
                r = -1;
            else
                a->labels[a->nlabels++] = g;
        }
        if (r == 1)
            continue;
        if (r == 0)
            fprintf(stderr, "toolwatch silence add: unexpected argument "
                    "%s\n", name);
        return -1;
    }
    return 0;
}

static int cmd_add(int argc, char **argv)
{
    struct silencecmd_add a;
    struct target t = {{0}, NULL};
    const char *path = NULL, *url = NULL;
    char *body = NULL, err[512];
    cli_args ar;
    buf answer;
    int rc = CLI_EXIT_USAGE;
    cJSON *j = NULL;

    memset(&a, 0, sizeof a);
    buf_init(&answer, ANSWER_MAX);
    if (cli_args_init(&ar, "silence add", argc - 1, argv + 1, add_opts) !=
            0 ||
        add_options(&ar, &a, &path, &url) != 0) {
        fputs(silence_usage, stderr);
        goto out;
    }
    if (path == NULL && url == NULL) {
        fprintf(stderr, "toolwatch silence add: give -c FILE (the "
                "service's configuration)\n");
        goto out;
    }
    a.by = by_default(a.by);
    if (silencecmd_body(&a, clock_wall_ms(), &body, err, sizeof err) != 0) {
        fprintf(stderr, "toolwatch silence add: %s\n", err);
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    if (target_of("silence add", path, url, &t, err, sizeof err) != 0) {
        if (err[0] != '\0')
            fprintf(stderr, "toolwatch silence add: %s\n", err);
        goto out;
    }
    if ((rc = request("silence add", &t, "POST", "/api/v1/silences", body,
                      201, &answer)) != CLI_EXIT_OK)
        goto out;
    j = cJSON_ParseWithLength(answer.data, answer.len);
    printf("%s\n", str_of(j, "id"));
out:
    cJSON_Delete(j);
    free(body);
    target_free(&t);
    buf_free(&answer);
    return rc;
}

/* list and expire: -c, --url, an optional --json (list) or ID (expire). */
static int cmd_list_or_expire(int argc, char **argv, int expire)
{
    const char *path = NULL, *url = NULL, *id = NULL, *name;
    struct target t = {{0}, NULL};
    char err[512], api[128];
    int kind, json = 0, rc = CLI_EXIT_USAGE;
    const char *cmd = expire ? "silence expire" : "silence list";
    cli_args ar;
    buf answer;

    buf_init(&answer, ANSWER_MAX);
    if (cli_args_init(&ar, cmd, argc - 1, argv + 1,
                      expire ? expire_opts : list_opts) != 0)
        goto out;
    while ((kind = cli_next(&ar, &name)) != 0) {
        int r = common_option(&ar, kind, name, &path, &url);

        if (r == 1)
            continue;
        if (r == 0 && !expire && kind == 1 && strcmp(name, "--json") == 0)
            json = 1;
        else if (r == 0 && expire && kind == 2 && id == NULL)
            id = name;
        else {
            if (r == 0)
                fprintf(stderr, "toolwatch %s: unexpected argument %s\n",
                        cmd, name);
            fputs(silence_usage, stderr);
            goto out;
        }
    }
    if ((expire && id == NULL) || (path == NULL && url == NULL)) {
        fprintf(stderr, "toolwatch %s: %s\n", cmd, path == NULL && url == NULL
                ? "give -c FILE (the service's configuration)"
                : "which silence? (ID)");
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    if (target_of(cmd, path, url, &t, err, sizeof err) != 0) {
        if (err[0] != '\0')
            fprintf(stderr, "toolwatch %s: %s\n", cmd, err);
        goto out;
    }
    if (expire) {
        if (!silence_hex_ok(id, SILENCE_ID_LEN)) {
            fprintf(stderr, "toolwatch silence expire: %.80s is not a "
                    "silence id (16 hex digits)\n", id);
            goto out;
        }
        snprintf(api, sizeof api, "/api/v1/silences/%s", id);
        if ((rc = request(cmd, &t, "DELETE", api, NULL, 204, &answer)) ==
            CLI_EXIT_OK)
            printf("expired %s\n", id);
        goto out;
    }
    if ((rc = request(cmd, &t, "GET", "/api/v1/silences", NULL, 200,
                      &answer)) != CLI_EXIT_OK)
        goto out;
    if (json)
        fwrite(answer.data, 1, answer.len, stdout);
    else
        rc = print_list(&answer, stdout);
out:
    target_free(&t);
    buf_free(&answer);
    return rc;
}

int silencecmd_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(silence_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(silence_usage, stdout);
        return CLI_EXIT_OK;
    }
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(silence_usage, stdout);
            return CLI_EXIT_OK;
        }
    if (strcmp(argv[1], "add") == 0)
        return cmd_add(argc, argv);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list_or_expire(argc, argv, 0);
    if (strcmp(argv[1], "expire") == 0)
        return cmd_list_or_expire(argc, argv, 1);
    fprintf(stderr, "toolwatch silence: unknown command \"%s\"\n", argv[1]);
    fputs(silence_usage, stderr);
    return CLI_EXIT_USAGE;
}

int silencecmd_ack_main(int argc, char **argv)
{
    const char *path = NULL, *url = NULL, *id = NULL, *by = NULL;
    const char *comment = NULL, *name;
    struct target t = {{0}, NULL};
    char err[512], api[128];
    cJSON *body = NULL, *j = NULL;
    char *text = NULL;
    int kind, rc = CLI_EXIT_USAGE;
    cli_args ar;
    buf answer;

    buf_init(&answer, ANSWER_MAX);
    if (cli_args_init(&ar, "ack", argc, argv, ack_opts) != 0)
        goto out;
    while ((kind = cli_next(&ar, &name)) != 0) {
        int r = common_option(&ar, kind, name, &path, &url);

        if (r == 0 && kind == 1 && strcmp(name, "--help") == 0) {
            fputs(ack_usage, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        }
        if (r == 0 && kind == 1)
            r = value_option(&ar, name, "--by", &by);
        if (r == 0 && kind == 1)
            r = value_option(&ar, name, "--comment", &comment);
        if (r == 0 && kind == 2 && id == NULL) {
            id = name;
            r = 1;
        }
        if (r != 1) {
            if (r == 0)
                fprintf(stderr, "toolwatch ack: unexpected argument %s\n",
                        name);
            fputs(ack_usage, stderr);
            goto out;
        }
    }
    if (id == NULL || (path == NULL && url == NULL)) {
        fprintf(stderr, "toolwatch ack: %s\n", id == NULL
                ? "which episode? (ID)"
                : "give -c FILE (the service's configuration)");
        fputs(ack_usage, stderr);
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    if (!silence_hex_ok(id, ALERT_ID_HEX)) {
        fprintf(stderr, "toolwatch ack: %.80s is not an episode id (32 hex "
                "digits)\n", id);
        goto out;
    }
    if ((body = cJSON_CreateObject()) == NULL ||
        !cJSON_AddStringToObject(body, "by", by_default(by)) ||
        (comment != NULL &&
         !cJSON_AddStringToObject(body, "comment", comment)) ||
        (text = cJSON_PrintUnformatted(body)) == NULL)
        goto out;
    if (target_of("ack", path, url, &t, err, sizeof err) != 0) {
        if (err[0] != '\0')
            fprintf(stderr, "toolwatch ack: %s\n", err);
        goto out;
    }
    snprintf(api, sizeof api, "/api/v1/alerts/%s/ack", id);
    if ((rc = request("ack", &t, "POST", api, text, 200, &answer)) !=
        CLI_EXIT_OK)
        goto out;
    j = cJSON_ParseWithLength(answer.data, answer.len);
    printf("acked %s by %s at %s\n", id, str_of(j, "acked_by"),
           str_of(j, "acked_at"));
out:
    cJSON_Delete(j);
    cJSON_Delete(body);
    cJSON_free(text);
    target_free(&t);
    buf_free(&answer);
    return rc;
}
