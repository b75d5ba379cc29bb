/*
 * redact_key.c - load or make the redaction key (redact_key.h).
 *
 * The key never reaches a log or an error message; copies are wiped.  A
 * key file of another length is refused, not replaced: a new key would
 * silently change every tag on-call has learnt.
 */
#include "app/redact_key.h"

#include "base/file.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key from the variable: BLAKE2b-256 of its value. */
static int key_from_env(const char *var, unsigned char *key, char *err,
                        size_t errsz)
{
    const char *v = getenv(var);

    if (v == NULL || strlen(v) < REDACT_KEY_ENV_MIN) {
        snprintf(err, errsz, "redact.key_env: %s is %s (the hash key needs "
                 "at least %d bytes)", var, v == NULL ? "not set" : "too short",
                 REDACT_KEY_ENV_MIN);
        return -1;
    }
    crypto_generichash(key, REDACT_KEY_BYTES, (const unsigned char *)v,
                       strlen(v), NULL, 0);
    return 0;
}

/* 0: *key read from dir/redact.key; 1: there is none; -1: error. */
static int key_from_file(const char *dir, unsigned char *key, char *err,
                         size_t errsz)
{
    char path[CFG_PATH_MAX + sizeof REDACT_KEY_FILE + 1];
    char *data = NULL;
    size_t len = 0;
    int rc;

    snprintf(path, sizeof path, "%s/%s", dir, REDACT_KEY_FILE);
    rc = file_read_all(path, REDACT_KEY_BYTES, &data, &len);
    if (rc == FILE_ENOENT)
        return 1;
    if (rc == FILE_OK && len == REDACT_KEY_BYTES) {
        memcpy(key, data, REDACT_KEY_BYTES);
        sodium_memzero(data, len);
        free(data);
        return 0;
    }
    if (data != NULL) {
        sodium_memzero(data, len);
        free(data);
    }
    snprintf(err, errsz, "%s: %s (expected the %d bytes of the redaction "
             "key; remove it to make a new one: every hash tag changes)",
             path, rc == FILE_OK || rc == FILE_ETOOBIG ? "wrong length"
                                                       : file_strerror(rc),
             REDACT_KEY_BYTES);
    return -1;
}

int redact_key_opts(const struct cfg *c, int create, struct redact_opts *o,
                    int *fell_back, char *err, size_t errsz)
{
    int rc;

    cfg_redact_opts(&c->redact, o);
    if (fell_back != NULL)
        *fell_back = 0;
    if (!redact_opts_need_key(o))
        return 0;
    if (c->redact.key_env[0] != '\0')
        return key_from_env(c->redact.key_env, o->key, err, errsz);
    rc = key_from_file(c->state_dir, o->key, err, errsz);
    if (rc <= 0)
        return rc;
    if (!create) {
        redact_opts_without_hash(o);
        if (fell_back != NULL)
            *fell_back = 1;
        return 0;
    }
    randombytes_buf(o->key, sizeof o->key);
    if (file_replace(c->state_dir, REDACT_KEY_FILE, o->key,
                     sizeof o->key) != FILE_OK) {
        snprintf(err, errsz, "%s/%s: cannot write the redaction key: %s",
                 c->state_dir, REDACT_KEY_FILE, strerror(errno));
        sodium_memzero(o->key, sizeof o->key);
        return -1;
    }
    return 0;
}
