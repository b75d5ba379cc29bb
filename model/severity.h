/*
 * severity.h - the four severities of an alert, in rising order, and their
 * names: one enum and one name list for the rules that set a severity and
 * the sinks that filter on one.
 */
#ifndef TW_MODEL_SEVERITY_H
#define TW_MODEL_SEVERITY_H

enum severity {
    SEVERITY_INFO = 0,
    SEVERITY_WARNING,
    SEVERITY_ERROR,
    SEVERITY_CRITICAL,
    SEVERITY_COUNT
};

/* "info", "warning", "error", "critical", NULL: indexed by enum severity,
 * NULL-terminated for settings tables (base/table.h TABLE_ENUM). */
extern const char *const severity_names[SEVERITY_COUNT + 1];

/* The severity named `name` (exact, lower case), or -1. */
int severity_parse(const char *name);

/* The name of s, or "unknown" when out of range. */
const char *severity_name(enum severity s);

#endif
