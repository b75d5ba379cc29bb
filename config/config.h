/*
 * config.h - the configuration file: one JSON object, parsed with cJSON and
 * validated strictly against tables, defaults for everything (so "{}" is a
 * valid file).
 *
 * Tables.  A setting is a struct cfg_item: name, type, offset of its field
 * in the struct it fills (offsetof), default, inclusive range (numbers), the
 * allowed names (enums).  The same walker applies every table, so a section
 * is declared, not coded (fluent-bit's config_map idea).  Detectors declare
 * their settings this way (detectors/detector.h); the engine-wide settings
 * too.
 *
 * The file (keys in this version; a later version adds stream, sinks,
 * status and state_dir sections and environment overrides as more entries
 * of the root table):
 *
 *   {"instance": "toolwatch",              source of every alert
 *    "detectors": {
 *       "allowed_lateness_s": 5,          engine-wide (all detectors)
 *       "max_future_skew_s": 300,
 *       "dedupe_window": 100000,          record ids remembered
 *       "max_keys": 10000,                groups per detector
 *       "repeat_interval_s": 3600,
 *       "hold_s": 60,
 *       "<detector name>": {...}}}        that detector's table
 *
 * Errors name the path of the offending key and what was expected:
 *   detectors.error_rate.threshold: expected a number between 0 and 1,
 *   got "20%"
 * Unknown keys are errors (a typo must not silently leave a default).
 */
#ifndef TW_CONFIG_H
#define TW_CONFIG_H

#include "config/table.h"
#include "detectors/detector.h"

#include <stddef.h>

#define CFG_INSTANCE_MAX 128

/* The whole configuration. */
struct cfg {
    char instance[CFG_INSTANCE_MAX];
    struct det_config det;
};

/* Defaults for everything. */
void cfg_defaults(struct cfg *c);

/* Parse and validate a JSON text into *c (defaults first).  On error *c
 * holds defaults and a partial application: do not use it. */
int cfg_parse(struct cfg *c, const char *text, size_t len, char *err,
              size_t errsz);

/* Read `path` and cfg_parse it.  Messages name the file. */
int cfg_load(struct cfg *c, const char *path, char *err, size_t errsz);

const char *cfg_strerror(int rc);

#endif
