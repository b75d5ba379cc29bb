/*
 * legacy.h - the older `detectors.<name>` objects (volume, payload_size,
 * latency, error_rate, credential_access, stream_stalled) as settings of
 * the default rules of the same names (SPEC section 2, "Default rules").
 *
 * Before rules, each of the six detectors had an object of its own in
 * `detectors`; a file that still has them keeps working: each object is
 * checked against its old table (keys, types and ranges as before, paths
 * "detectors.volume.threshold"), and the keys it gives are written into
 * the default rules' JSON (rule_defaults_json()) before that is compiled:
 *
 *   enabled: false        the rule is dropped
 *   severity, window_s, threshold, clear_threshold   the rule's key
 *   group_by tool | agent | session | global   ["tool_name"] |
 *                         ["agent_id"] | ["session_id"] | []
 *   min_calls (error_rate)  min_count
 *   keywords (credential_access)  match.tool_name: ["*kw*", ...]
 *   bucket_ms             checked as before (0 or a divisor of the window
 *                         giving at most 3600 buckets), no longer used:
 *                         count windows are exact, ratio windows take
 *                         window / 60
 *
 * Defaults are the default rules' (written once, in detectors/rule.c);
 * these tables only check what a file gives.  A file with a `rules` list
 * and a per-detector object is refused (config.c).
 */
#ifndef TW_CFG_LEGACY_H
#define TW_CFG_LEGACY_H

#include "base/table.h"
#include "detectors/rule.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define CFG_LEGACY_N 6

/* One detector's object: the keys given (bit i: item i of its table). */
struct cfg_legacy_det {
    unsigned given;
    int enabled;
    int severity;
    int group_by;
    int64_t window_s;
    int64_t bucket_ms;
    double threshold;
    double clear_threshold;
    int64_t min_calls;
    struct table_strlist keywords;
};

struct cfg_legacy {
    unsigned any; /* bit i: detector i's object was given */
    struct cfg_legacy_det d[CFG_LEGACY_N];
};

/* The index of an old detector name, or -1. */
int cfg_legacy_find(const char *name);

/* Its name. */
const char *cfg_legacy_name(int i);

/* Apply the JSON object `obj` (found at `path`, "detectors.volume") to
 * detector i's settings, every bad key's message added to errs.  Returns
 * TABLE_OK, TABLE_EINVAL or TABLE_ENOMEM. */
int cfg_legacy_apply(struct cfg_legacy *l, int i, const struct cJSON *obj,
                     const char *path, struct table_errs *errs);

/* The default rules with the objects given applied, compiled into *out
 * (the caller's: rule_set_destroy).  Returns RULE_OK, RULE_EINVAL (each
 * detector's settings that the rules refuse, each message with its
 * detectors.<name> path, added to errs) or RULE_ENOMEM. */
int cfg_legacy_rules(const struct cfg_legacy *l, struct rule_set **out,
                     struct table_errs *errs);

#endif
