/*
 * secrets.h - inside config/ only: the scan for literal secrets in a
 * parsed file, and what config.c and secrets.c share.  The hand-over of secrets from the environment is declared in
 * config.h (cfg_stream_config(), cfg_sink_config(), cfg_status_token()).
 */
#ifndef TW_CFG_SECRETS_H
#define TW_CFG_SECRETS_H

#include "config/config.h"

struct cJSON;

#define CFG_KEYPATH_MAX 256 /* a key path in a message ("sinks[2].url") */

/* NULL when s is an http:// or https:// URL the service can use, else
 * what was expected (for a message).  Defined in config.c (a table's
 * value check); secrets.c applies it to URLs read from the environment. */
const char *cfg_check_http_url(const char *s);

/* Walk the tree under `node` (at key path `path`) and refuse every
 * value that looks like a literal secret: a key named like one (token,
 * secret, password, key, ...) holding a string, or a URL with user-info.
 * Each message (in errs, in file order) names the key and the *_env key
 * to use instead, never the value.  Returns CFG_OK or CFG_EINVAL. */
int cfg_scan_secrets(const struct cJSON *node, const char *path,
                     struct table_errs *errs);

#endif
