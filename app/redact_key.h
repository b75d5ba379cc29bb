/*
 * redact_key.h - the key of hash-mode redaction (alerts/redact.h): from
 * the variable named by redact.key_env, else the state directory's
 * redact.key (32 random bytes, mode 0600, made at the first start with an
 * atomic replace, so it survives restarts and a kill -9 while it is
 * written leaves no half key).
 */
#ifndef TW_REDACT_KEY_H
#define TW_REDACT_KEY_H

#include "alerts/redact.h"
#include "config/config.h"

#include <stddef.h>

#define REDACT_KEY_FILE "redact.key"
#define REDACT_KEY_ENV_MIN 16 /* bytes of a key_env value, at least */

/* Fill *o from c->redact (cfg_redact_opts: each field's mode, kinds)
 * and, when a mode hashes (by default the identity keys do), its key.
 * `create`: make the state directory's key when there is none (run);
 * else, without one, every hash mode falls back to mask (*fell_back 1).
 * Returns 0, or -1 with the reason in err (the variable unset or short,
 * the key file unreadable or not 32 bytes, the key not writable). */
int redact_key_opts(const struct cfg *c, int create, struct redact_opts *o,
                    int *fell_back, char *err, size_t errsz);

#endif
