/*
 * cli.h - small helpers shared by the subcommands' option parsers.
 *
 * Options are "--name value" or "--name=value".  Numbers are parsed
 * strictly (all digits, in range), never with atoi.  And what every
 * subcommand that holds secrets does first: no core dumps.
 */
#ifndef TW_CLI_H
#define TW_CLI_H

#include <stdint.h>

/* Exit statuses of every subcommand. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_args {
    int argc;
    char **argv;
    /* private: */
    int i;                 /* next argument */
    const char *inline_v;  /* "=value" of the last option */
    char name[64];         /* the last option's name without "=value" */
} cli_args;

void cli_args_init(cli_args *a, int argc, char **argv, int first);

/* Next argument: returns 0 at the end, 1 for an option (*name is "--x",
 * without any "=value"), 2 for a positional argument (*name).  -1 if an
 * option's inline value cannot be stored. */
int cli_next(cli_args *a, const char **name);

/* The value of the option just returned (inline "=v" or the next
 * argument); NULL when missing (an error message is printed). */
const char *cli_value(cli_args *a, const char *opt);

/* Parse a decimal integer in [min, max]; prints an error naming `opt` and
 * returns -1 when it is not. */
int cli_u64(const char *opt, const char *text, uint64_t min, uint64_t max,
            uint64_t *out);

/* The variable that lets a process that holds secrets dump core (for
 * debugging): "1" allows it. */
#define CLI_ALLOW_CORE_ENV "TOOLWATCH_ALLOW_CORE_DUMPS"

/* Keep the secrets out of core dumps, for the subcommands that read them
 * (run, tail, send-test, check-config), before any is read: the process
 * is made not dumpable (prctl PR_SET_DUMPABLE 0: with fs.suid_dumpable 0,
 * the default, no core at all, a core_pattern pipe included;
 * /proc/<pid>/mem, environ and the like owned by root; no ptrace by the
 * same user) and RLIMIT_CORE is set to 0, soft and hard (no core file
 * written directly, in this process or its children; the kernel ignores
 * it for a core_pattern pipe, hence the flag).  With CLI_ALLOW_CORE_ENV=1
 * nothing is changed, and one line says so on stderr.  `cmd` names the
 * subcommand in messages.  Returns 0, or -1 (said on stderr): the
 * subcommand must not start. */
int cli_no_core_dumps(const char *cmd);

#endif
