/*
 * fuzz_config.c - libFuzzer target for the configuration loader
 * (config/config.c, base/table.c, config/override.c).
 *
 * Input: the configuration text, then optionally a NUL byte and an
 * environment: NUL-separated "NAME=value" entries (at most ENV_MAX; an
 * entry without '=' is passed as it stands, as execve() would).  The text
 * is copied into a heap buffer of exactly its size and each entry into its
 * own, so ASan sees any read past an end.  Checked, abort() on failure:
 *  - cfg_parse_env() returns CFG_OK, CFG_ESYNTAX, CFG_EINVAL or
 *    CFG_ENOMEM, with a non-empty NUL-terminated message on error;
 *  - the environment's order does not matter: the reversed list gives the
 *    same code, message and effective configuration (docs: "The result
 *    does not depend on the order of the environment");
 *  - on success the effective configuration (cfg_to_json, no secrets)
 *    is a valid file with the same meaning: parsed again without any
 *    environment it loads, and prints the same text; and it is UTF-8
 *    (the loader refuses U+0000 and bytes that are not UTF-8, in the file
 *    and in overrides, so no name it copies into an alert can hold them);
 *  - no message quotes a value that may be a secret: a string containing
 *    the marker "S3CR3T-" (never a valid variable name) given to a key
 *    that looks like a secret or names a variable (*_env, *_envs), in the
 *    file or through an override, never appears in the message.
 */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "base/utf8.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENV_MAX 64
#define ERR_SIZE 1024
#define MARKER "S3CR3T-"
#define SECRETS_MAX 64

static void check(int cond)
{
    if (!cond)
        abort();
}

/* ---- the values that must never be quoted ---- */

struct secrets {
    const char *v[SECRETS_MAX];
    size_t len[SECRETS_MAX];
    size_t n;
};

static int has_word(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);

    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(s + i, w, k) == 0)
            return 1;
    return 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* A key under which a value may be a secret, or the name of the variable
 * holding one (a secret pasted in the wrong place). */
static int sensitive_key(const char *k, size_t n)
{
    return ends_with(k, n, "_env") || ends_with(k, n, "_envs") ||
           has_word(k, n, "token") || has_word(k, n, "secret") ||
           has_word(k, n, "password") || has_word(k, n, "passwd") ||
           has_word(k, n, "apikey") || ends_with(k, n, "_key") ||
           (n == 3 && strncasecmp(k, "key", 3) == 0);
}

static void add_secret(struct secrets *s, const char *v, size_t len)
{
    if (s->n < SECRETS_MAX && memmem(v, len, MARKER, strlen(MARKER))) {
        s->v[s->n] = v;
        s->len[s->n] = len;
        s->n++;
    }
}

static void collect_file(const cJSON *node, int under_sensitive,
                         struct secrets *s)
{
    const cJSON *m;

    if (cJSON_IsString(node) && under_sensitive)
        add_secret(s, node->valuestring, strlen(node->valuestring));
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
        return;
    cJSON_ArrayForEach(m, node)
    {
        int sens = under_sensitive && cJSON_IsArray(node);
        if (m->string != NULL && sensitive_key(m->string, strlen(m->string)))
            sens = 1;
        collect_file(m, sens, s);
    }
}

/* TOOLWATCH_A__B__API_KEY=...: the last segment names the key. */
static void collect_env(char *const *env, size_t n, struct secrets *s)
{
    for (size_t i = 0; i < n; i++) {
        const char *e = env[i], *eq = strchr(e, '='), *last = e, *p;
        if (eq == NULL || strncmp(e, CFG_OVERRIDE_PREFIX, 10) != 0)
            continue;
        for (p = e; p + 1 < eq; p++)
            if (p[0] == '_' && p[1] == '_')
                last = p + 2;
        if (last == e)
            last = e + 10;
        if (sensitive_key(last, (size_t)(eq - last)))
            add_secret(s, eq + 1, strlen(eq + 1));
    }
}

/* A secret value that occurs only once in the whole input (so that a
 * message naming a key or a variable cannot quote it by coincidence). */
static int occurs_once(const uint8_t *data, size_t size, const char *v,
                       size_t len)
{
    const uint8_t *p = memmem(data, size, v, len);

    return p != NULL &&
           memmem(p + 1, size - (size_t)(p + 1 - data), v, len) == NULL;
}

static void check_no_secret(const char *err, const uint8_t *data,
                            size_t size, const char *text, size_t text_len,
                            char *const *env, size_t n_env)
{
    struct secrets s = {.n = 0};
    cJSON *root = cJSON_ParseWithLength(text, text_len);

    if (root != NULL)
        collect_file(root, 0, &s);
    collect_env(env, n_env, &s);
    for (size_t i = 0; i < s.n; i++) {
        if (s.len[i] > 0 && occurs_once(data, size, s.v[i], s.len[i]))
            check(strstr(err, s.v[i]) == NULL);
    }
    cJSON_Delete(root);
}

/* ---- helpers ---- */

static char *dump(const struct cfg *c)
{
    cJSON *j = cfg_to_json(c, 0);
    char *t;

    check(j != NULL);
    t = cJSON_PrintUnformatted(j);
    check(t != NULL);
    cJSON_Delete(j);
    return t;
}

static void check_rc(int rc, const char *err)
{
    check(rc == CFG_OK || rc == CFG_ESYNTAX || rc == CFG_EINVAL ||
          rc == CFG_ENOMEM);
    check(memchr(err, '\0', ERR_SIZE) != NULL);
    if (rc != CFG_OK)
        check(err[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cfg c1, c2;
    static char err1[ERR_SIZE], err2[ERR_SIZE];
    char *env[ENV_MAX + 1], *rev[ENV_MAX + 1];
    const uint8_t *nul = memchr(data, '\0', size);
    size_t text_len = nul != NULL ? (size_t)(nul - data) : size;
    size_t n_env = 0;
    char *text = malloc(text_len > 0 ? text_len : 1);
    int rc1, rc2;

    check(text != NULL);
    memcpy(text, data, text_len);
    if (nul != NULL) {
        const uint8_t *p = nul + 1, *end = data + size;
        while (p < end && n_env < ENV_MAX) {
            const uint8_t *q = memchr(p, '\0', (size_t)(end - p));
            size_t n = q != NULL ? (size_t)(q - p) : (size_t)(end - p);
            env[n_env] = malloc(n + 1);
            check(env[n_env] != NULL);
            memcpy(env[n_env], p, n);
            env[n_env][n] = '\0';
            n_env++;
            p += n + 1;
        }
    }
    env[n_env] = NULL;
    for (size_t i = 0; i < n_env; i++)
        rev[i] = env[n_env - 1 - i];
    rev[n_env] = NULL;

    memset(err1, 0x5a, sizeof err1);
    err1[sizeof err1 - 1] = '\0';
    memset(err2, 0, sizeof err2);
    cfg_release(&c1); /* the rules of the last input */
    cfg_release(&c2);
    rc1 = cfg_parse_env(&c1, text, text_len, nul != NULL ? env : NULL, err1,
                        sizeof err1);
    check_rc(rc1, err1);
    rc2 = cfg_parse_env(&c2, text, text_len, nul != NULL ? rev : NULL, err2,
                        sizeof err2);
    check_rc(rc2, err2);
    check(rc1 == rc2);

    if (rc1 != CFG_OK) {
        check(strcmp(err1, err2) == 0);
        check_no_secret(err1, data, size, text, text_len, env, n_env);
    } else {
        char *j1 = dump(&c1), *j2 = dump(&c2), *j3;
        check(strcmp(j1, j2) == 0);
        check(utf8_valid(j1, strlen(j1)));
        /* the effective configuration is a file with the same meaning */
        cfg_release(&c2);
        rc2 = cfg_parse(&c2, j1, strlen(j1), err2, sizeof err2);
        check(rc2 == CFG_OK);
        j3 = dump(&c2);
        check(strcmp(j1, j3) == 0);
        cJSON_free(j1);
        cJSON_free(j2);
        cJSON_free(j3);
    }

    for (size_t i = 0; i < n_env; i++)
        free(env[i]);
    free(text);
    return 0;
}
