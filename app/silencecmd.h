/*
 * silencecmd.h - `toolwatch silence add|list|expire` and `toolwatch ack`:
 * the command line of the running service's API (app/oncall.h, SPEC
 * section 5).  They talk to the service's status server: its address and
 * port from the configuration file (-c FILE; --url overrides them), the
 * bearer token from the variable the file names in status.token_env.
 * Results go to stdout; an error (the server's message, or why it could
 * not be reached) to stderr with exit status 1; a usage error exits 2.
 *
 * The pieces that need no server (durations, the request body) are
 * exported for the tests.
 */
#ifndef TW_SILENCECMD_H
#define TW_SILENCECMD_H

#include "alerts/silence.h"

#include <stddef.h>
#include <stdint.h>

#define SILENCECMD_MAX_GROUPS 8
#define SILENCECMD_MAX_LABELS 8

/* `silence add` as given on the command line (strings borrowed). */
struct silencecmd_add {
    const char *rule, *severity;
    const char *groups[SILENCECMD_MAX_GROUPS];  /* "field=glob" */
    size_t ngroups;
    const char *labels[SILENCECMD_MAX_LABELS];  /* "name=glob" */
    size_t nlabels;
    const char *starts_at, *ends_at, *duration;
    const char *days, *start, *end, *tz;        /* "mon,tue" ... */
    const char *comment, *by;
};

/* `toolwatch silence ...` (argv[0] is "silence"). */
int silencecmd_main(int argc, char **argv);

/* `toolwatch ack ID ...` (argv[0] is "ack"). */
int silencecmd_ack_main(int argc, char **argv);

/* A duration: one or more of <digits><unit>, unit s, m, h or d ("90s",
 * "2h", "1h30m"), in ms, more than 0 and at most 366 days.  0, or -1. */
int silencecmd_duration(const char *text, int64_t *ms);

/* The POST /api/v1/silences body for a (now_ms: the clock for
 * --duration without --starts-at) into a new string (*json, free()).
 * Returns 0, or -1 with a message in err (what is missing or bad). */
int silencecmd_body(const struct silencecmd_add *a, int64_t now_ms,
                    char **json, char *err, size_t errsz);

#endif
