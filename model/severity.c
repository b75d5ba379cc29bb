/*
 * severity.c - severity names.
 */
#include "model/severity.h"

#include <string.h>

const char *const severity_names[SEVERITY_COUNT + 1] = {
    [SEVERITY_INFO] = "info",
    [SEVERITY_WARNING] = "warning",
    [SEVERITY_ERROR] = "error",
    [SEVERITY_CRITICAL] = "critical",
    [SEVERITY_COUNT] = NULL,
};

int severity_parse(const char *name)
{
    for (int i = 0; i < SEVERITY_COUNT; i++) {
        if (strcmp(name, severity_names[i]) == 0)
            return i;
    }
    return -1;
}

const char *severity_name(enum severity s)
{
    return (unsigned)s < SEVERITY_COUNT ? severity_names[s] : "unknown";
}
