/*
 * secrets.c - the configuration's secrets: the refusal of literal secrets
 * in the file, and the hand-over of secrets from the environment to the
 * modules that use them (struct stream_config, struct sink_config, the
 * status token).
 *
 * Invariant: a secret's value is read (getenv) only in the functions of
 * the second half of this file, and never copied into a message: messages
 * name the key and the variable, never the value.
 */
#include "config/secrets.h"

#include "alerts/sign.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- literal secrets ---- */

static int contains(const char *s, const char *word)
{
    size_t n = strlen(word);

    for (; *s != '\0'; s++)
        if (strncasecmp(s, word, n) == 0)
            return 1;
    return 0;
}

/* Does a key name look like it holds a secret? */
static int secret_key(const char *k)
{
    size_t n = strlen(k);

    if ((n >= 4 && strcasecmp(k + n - 4, "_env") == 0) ||
        (n >= 5 && strcasecmp(k + n - 5, "_envs") == 0))
        return 0;
    return contains(k, "token") || contains(k, "secret") ||
           contains(k, "password") || contains(k, "passwd") ||
           strcasecmp(k, "apikey") == 0 || strcasecmp(k, "key") == 0 ||
           (n >= 4 && strcasecmp(k + n - 4, "_key") == 0);
}

/* "scheme://user[:password]@host..." */
static int url_has_userinfo(const char *s)
{
    const char *p = s;

    if (!isalpha((unsigned char)*p))
        return 0;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0)
        return 0;
    for (p += 3; *p != '\0' && strchr("/?#", *p) == NULL; p++)
        if (*p == '@')
            return 1;
    return 0;
}

/* The *_env key that replaces secret key `k` in the object at `parent`,
 * or NULL when there is no obvious one. */
static const char *env_key_for(const char *parent, const char *k)
{
    if (strcmp(parent, "stream") == 0)
        return "api_key_env";
    if (strcmp(parent, "status") == 0) /* public_url is no secret */
        return contains(k, "url") ? NULL : "token_env";
    if (strncmp(parent, "sinks[", 6) == 0 && strchr(parent, '.') == NULL) {
        if (contains(k, "secret"))
            return "secret_envs";
        if (contains(k, "routing") || contains(k, "integration"))
            return "routing_key_env";
        if (contains(k, "url"))
            return "url_env";
    }
    return NULL;
}

static void secret_message(const char *path, const char *parent,
                           const char *env_key, const char *what, char *err,
                           size_t errsz)
{
    if (env_key != NULL)
        snprintf(err, errsz, "%s: %s not accepted in the file; set %s%s%s "
                 "to the name of an environment variable", path, what,
                 parent, parent[0] ? "." : "", env_key);
    else
        snprintf(err, errsz, "%s: %s not accepted in the file; name an "
                 "environment variable in the matching *_env key instead "
                 "(see docs/configuration.md)", path, what);
}

/* Refuse literal secrets anywhere under `node` (at `path`): each one,
 * without looking under a refused member. */
int cfg_scan_secrets(const cJSON *node, const char *path,
                     struct table_errs *errs)
{
    const cJSON *m;
    char sub[CFG_KEYPATH_MAX];
    int i = 0, rc = CFG_OK;

    if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
        return CFG_OK;
    cJSON_ArrayForEach(m, node)
    {
        if (cJSON_IsObject(node))
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "",
                     m->string);
        else
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
        i++;
        /* header names are checked by apply_headers() and
         * apply_headers_env() */
        if (cJSON_IsObject(node) && strcmp(path, "stream.headers") != 0 &&
            strcmp(path, "stream.headers_env") != 0 &&
            secret_key(m->string)) {
            secret_message(sub, path, env_key_for(path, m->string),
                           "secrets are", TABLE_ERRS_SLOT(errs));
            rc = table_errs_keep(errs, CFG_EINVAL);
        } else if (cJSON_IsString(m) && url_has_userinfo(m->valuestring)) {
            const char *parent = cJSON_IsObject(node) ? path : "";
            secret_message(sub, parent,
                           cJSON_IsObject(node)
                               ? env_key_for(path, "url")
                               : NULL,
                           "a URL with credentials (user:password@) is",
                           TABLE_ERRS_SLOT(errs));
            rc = table_errs_keep(errs, CFG_EINVAL);
        } else if (cfg_scan_secrets(m, sub, errs) != CFG_OK) {
            rc = CFG_EINVAL;
        }
    }
    return rc;
}

/* ---- the service's structs, secrets from the environment ---- */

/* getenv(name), or NULL with a message when unset or empty. */
static const char *secret(const char *path, const char *name, char *err,
                          size_t errsz)
{
    const char *v = getenv(name);

    if (v == NULL)
        snprintf(err, errsz, "%s: the environment variable %s is not set",
                 path, name);
    else if (v[0] == '\0')
        snprintf(err, errsz, "%s: the environment variable %s is empty",
                 path, name);
    else
        return v;
    return NULL;
}

int cfg_stream_config(const struct cfg *c, struct stream_config *out,
                      char *err, size_t errsz)
{
    const struct cfg_stream *s = &c->stream;
    int rc = CFG_EINVAL;

    stream_config_defaults(out);
    if (s->url[0] == '\0') {
        snprintf(err, errsz, "stream.url: not set: the URL of the audit "
                 "stream is required to run (in the file, or "
                 "TOOLWATCH_STREAM__URL)");
        goto out;
    }
    out->url = s->url;
    if (s->api_key_env[0] != '\0') {
        out->api_key_env = s->api_key_env;
        if ((out->api_key = secret("stream.api_key_env", s->api_key_env,
                                   err, errsz)) == NULL)
            goto out;
    }
    for (size_t i = 0; i < s->n_headers; i++)
        out->headers[i] = s->headers[i];
    out->n_headers = s->n_headers;
    for (size_t i = 0; i < s->n_headers_env; i++) {
        const struct cfg_header_env *h = &s->headers_env[i];
        struct stream_secret_header *o = &out->secret_headers[i];
        char path[CFG_KEYPATH_MAX];
        size_t vlen;

        snprintf(path, sizeof path, "stream.headers_env.%s", h->name);
        o->name = h->name;
        o->env = h->env;
        if ((o->value = secret(path, h->env, err, errsz)) == NULL)
            goto out;
        vlen = strlen(o->value);
        for (size_t k = 0; k < vlen; k++)
            if (((unsigned char)o->value[k] < 0x20 && o->value[k] != '\t') ||
                o->value[k] == 0x7f) {
                snprintf(err, errsz, "%s: the environment variable %s holds "
                         "a control character (CR, LF, ...); a header value "
                         "must be one line", path, h->env);
                goto out;
            }
        if (vlen > CFG_HEADER_VALUE_MAX) {
            snprintf(err, errsz, "%s: the environment variable %s holds "
                     "more than %d bytes", path, h->env,
                     CFG_HEADER_VALUE_MAX);
            goto out;
        }
    }
    out->n_secret_headers = s->n_headers_env;
    out->ca_file = s->ca_file[0] != '\0' ? s->ca_file : NULL;
    out->state_dir = c->state_dir;
    out->stall_timeout_ms = (uint64_t)s->stall_timeout_s * 1000u;
    out->retry_base_ms = (uint64_t)s->retry_base_ms;
    out->retry_max_ms = (uint64_t)s->retry_max_ms;
    out->connect_timeout_ms = (uint64_t)s->connect_timeout_s * 1000u;
    out->max_event_bytes = (size_t)s->max_event_bytes;
    rc = CFG_OK;
out:
    return rc;
}

int cfg_sink_config(const struct cfg *c, size_t i, struct sink_config *out,
                    char *err, size_t errsz)
{
    const struct cfg_sink *s;
    char path[CFG_KEYPATH_MAX];
    int rc = CFG_EINVAL;

    if (i >= c->n_sinks) {
        snprintf(err, errsz, "sinks[%zu]: no such sink", i);
        return CFG_EINVAL;
    }
    s = &c->sinks[i];
    sink_config_defaults(out, (enum sink_kind)s->type);
    snprintf(out->name, sizeof out->name, "%s", s->name);
    if (s->url[0] != '\0')
        out->url = s->url;
    if (s->url_env[0] != '\0') {
        snprintf(path, sizeof path, "sinks[%zu].url_env", i);
        out->url_env = s->url_env;
        if ((out->url = secret(path, s->url_env, err, errsz)) == NULL)
            goto out;
        if (cfg_check_http_url(out->url) != NULL) {
            snprintf(err, errsz, "%s: the environment variable %s does not "
                     "hold an http:// or https:// URL", path, s->url_env);
            goto out;
        }
    }
    for (size_t k = 0; k < s->n_secret_envs; k++) {
        sign_keys *keys;
        int serr = 0;

        snprintf(path, sizeof path, "sinks[%zu].secret_envs[%zu]", i, k);
        if ((out->secrets[k] = secret(path, s->secret_envs[k], err,
                                      errsz)) == NULL)
            goto out;
        keys = sign_keys_create(&out->secrets[k], 1, &serr, NULL);
        sign_keys_destroy(keys);
        if (keys == NULL &&
            (serr == SIGN_EBASE64 || serr == SIGN_EKEYLEN)) {
            snprintf(err, errsz, "%s: the environment variable %s does not "
                     "hold a signing secret (whsec_ and the base64 of %d to "
                     "%d bytes)", path, s->secret_envs[k], SIGN_KEY_MIN,
                     SIGN_KEY_MAX);
            goto out;
        }
        if (keys == NULL) {
            rc = serr == SIGN_ENOMEM ? CFG_ENOMEM : CFG_EINVAL;
            snprintf(err, errsz, "%s: cannot check the signing secret in "
                     "%s (error %d)", path, s->secret_envs[k], serr);
            goto out;
        }
    }
    out->n_secrets = s->n_secret_envs;
    if (s->routing_key_env[0] != '\0') {
        snprintf(path, sizeof path, "sinks[%zu].routing_key_env", i);
        if ((out->routing_key = secret(path, s->routing_key_env, err,
                                       errsz)) == NULL)
            goto out;
    }
    if (s->basic_auth_password_env[0] != '\0') {
        snprintf(path, sizeof path, "sinks[%zu].basic_auth_password_env", i);
        out->username = s->basic_auth_user;
        if ((out->password = secret(path, s->basic_auth_password_env, err,
                                    errsz)) == NULL)
            goto out;
    }
    if (s->bearer_token_env[0] != '\0') {
        snprintf(path, sizeof path, "sinks[%zu].bearer_token_env", i);
        if ((out->bearer_token = secret(path, s->bearer_token_env, err,
                                        errsz)) == NULL)
            goto out;
    }
    out->generator_url = s->generator_url[0] != '\0' ? s->generator_url
                                                      : NULL;
    out->ends_after_s = (uint64_t)s->ends_after_s;
    out->path = s->path[0] != '\0' ? s->path : NULL;
    out->min_severity = (enum severity)s->min_severity;
    for (size_t k = 0; k < s->n_rules; k++)
        out->rules[k] = s->rules[k];
    out->n_rules = s->n_rules;
    for (size_t k = 0; k < s->n_labels; k++) {
        out->label_names[k] = s->label_names[k];
        out->label_values[k] = s->label_values[k];
    }
    out->n_labels = s->n_labels;
    out->rate_per_s = s->rate_per_s;
    out->burst = (unsigned)s->burst;
    out->connect_timeout_ms = (uint64_t)s->connect_timeout_s * 1000u;
    out->timeout_ms = (uint64_t)s->timeout_s * 1000u;
    out->retry_base_ms = (uint64_t)s->retry_base_ms;
    out->retry_max_ms = (uint64_t)s->retry_max_ms;
    out->max_age_s = (uint64_t)s->max_age_s;
    out->queue_max = (uint64_t)s->queue_max;
    out->digest_after = (uint64_t)s->digest_after;
    out->digest_window_s = (uint64_t)s->digest_window_s;
    rc = CFG_OK;
out:
    return rc;
}

int cfg_sink_configs(const struct cfg *c, struct sink_config *out,
                     size_t max, size_t *n, char *err, size_t errsz)
{
    int rc = CFG_OK;

    *n = 0;
    if (c->n_sinks > max) {
        snprintf(err, errsz, "sinks: %zu sinks configured, at most %zu "
                 "supported here", c->n_sinks, max);
        return CFG_EINVAL;
    }
    for (size_t i = 0; i < c->n_sinks && rc == CFG_OK; i++)
        if ((rc = cfg_sink_config(c, i, &out[i], err, errsz)) == CFG_OK)
            *n = i + 1;
    return rc;
}

int cfg_status_token(const struct cfg *c, const char **token, char *err,
                     size_t errsz)
{
    *token = NULL;
    if (c->status.token_env[0] == '\0')
        return CFG_OK;
    *token = secret("status.token_env", c->status.token_env, err, errsz);
    return *token != NULL ? CFG_OK : CFG_EINVAL;
}

