/*
 * cli.h - the subcommands' option parsing, on getopt_long, and what every
 * subcommand that holds secrets does first: no core dumps.
 *
 * Each subcommand has a table of its options (struct option, getopt_long's
 * own): a `val` that is a letter gives the option its short form too
 * ("-c" for "--config"), and `has_arg` says whether it takes a value.  The
 * options every subcommand accepts are added to each table by cli itself
 * and handled there (CLI_COMMON_OPTS: --log-level, --log-format); every
 * subcommand lists -h/--help.  Options take "--name value",
 * "--name=value", "-c value" or "-cvalue"; "--" ends the options;
 * positional arguments may come before or after the options.  Numbers are
 * parsed strictly (all digits, in range), never with atoi.
 */
#ifndef TW_CLI_H
#define TW_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

/* The process environment (POSIX declares it in no header): what the
 * commands pass to the config loader for its TOOLWATCH_* overrides. */
extern char **environ;

/* Exit statuses of every subcommand. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* The options shared by every command, long form. */
#define CLI_OPT_HELP {"help", no_argument, NULL, 'h'}
#define CLI_OPT_CONFIG {"config", required_argument, NULL, 'c'}
#define CLI_OPT_END {NULL, 0, NULL, 0}

#define CLI_MAX_OPTS 40 /* a table's options, the common ones included */

typedef struct cli_args {
    int argc;
    char **argv;
    const char *cmd;  /* "tail": names the command in messages */
    /* private: */
    struct option opts[CLI_MAX_OPTS + 1];
    char shorts[2 * CLI_MAX_OPTS + 2];
    int positional;   /* getopt is done: the rest are positional */
    const char *value;  /* the last option's value */
    char name[64];      /* the last option's name, "--x" */
} cli_args;

/* Start parsing argv[1..argc-1] (argv[0] is the command's name) against
 * `opts` (ended by CLI_OPT_END).  Returns 0, or -1 when the table does not
 * fit CLI_MAX_OPTS (a programming error, said on stderr). */
int cli_args_init(cli_args *a, const char *cmd, int argc, char **argv,
                  const struct option *opts);

/* Next argument: returns 0 at the end, 1 for an option (*name is its long
 * form "--config", whichever form was given), 2 for a positional argument
 * (*name), -1 for a usage error (an unknown option, a missing value, a bad
 * common option: said on stderr as "toolwatch CMD: ...").  The common
 * options are applied here and never returned. */
int cli_next(cli_args *a, const char **name);

/* The value of the option just returned; NULL (said on stderr) when the
 * option takes none. */
const char *cli_value(cli_args *a, const char *opt);

/* Parse a decimal integer in [min, max]; prints an error naming `opt` and
 * returns -1 when it is not. */
int cli_u64(const char *opt, const char *text, uint64_t min, uint64_t max,
            uint64_t *out);

/* The common options, for the toolwatch command itself ("toolwatch
 * --log-level debug run ..."): --log-level debug|info|warning|error and
 * --log-format text|json.  Apply one; returns 0, or -1 with the reason on
 * stderr. */
int cli_log_level(const char *cmd, const char *what, const char *v);
int cli_log_format(const char *cmd, const char *what, const char *v);

/* The environment's TOOLWATCH_LOG_LEVEL and TOOLWATCH_LOG_FORMAT, when
 * set; returns 0, or -1 with the reason on stderr. */
#define CLI_LOG_LEVEL_ENV "TOOLWATCH_LOG_LEVEL"
#define CLI_LOG_FORMAT_ENV "TOOLWATCH_LOG_FORMAT"
int cli_log_env(void);

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
