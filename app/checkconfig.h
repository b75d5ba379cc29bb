/*
 * checkconfig.h - `toolwatch check-config FILE`: load a configuration file
 * as `toolwatch run` would (environment overrides included), check that
 * every secret it names is set and well-formed and (unless --offline) that
 * this machine has what `run` needs; with --print, print the effective
 * configuration.
 *
 * Output: problems on stderr, one per line, all of them once the file
 * loads (the loader itself stops at the file's first error: then that is
 * the one line); nothing else unless --print.  With --print, the
 * effective configuration as pretty JSON on stdout, every default filled
 * in; next to each *_env key the state of its variable, "<set>" or
 * "<unset>", never its value.  A file that does not load prints nothing
 * on stdout; a file that loads but cannot run prints the configuration
 * (with --print) and then the problems.
 */
#ifndef TW_CHECKCONFIG_H
#define TW_CHECKCONFIG_H

#include <stdio.h>

/* Check `path` with overrides from envp (NULL-terminated, like environ;
 * secrets are read with getenv()); the configuration is printed on out
 * unless it is NULL, the problems on err.  Returns the exit status:
 * CLI_EXIT_OK when the service could start with it, CLI_EXIT_FAIL
 * otherwise. */
int checkconfig_run(const char *path, char *const *envp, FILE *out,
                    FILE *err);

/* checkconfig_run checks the file and its secrets only (offline).  This
 * one, unless `offline`, also checks what `run` needs from this machine,
 * each problem listed: state_dir a writable directory or creatable (under
 * its nearest existing parent), every file sink's file writable or
 * creatable, the status server's address and port free to bind. */
int checkconfig_run_opts(const char *path, char *const *envp, FILE *out,
                         FILE *err, int offline);

/* argv[0] is "check-config".  Returns the process exit status (cli.h). */
int checkconfig_main(int argc, char **argv);

void checkconfig_usage(FILE *f);

#endif
