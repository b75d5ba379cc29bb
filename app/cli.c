/*
 * cli.c - option parsing helpers, and no core dumps for the subcommands
 * that hold secrets.
 */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

void cli_args_init(cli_args *a, int argc, char **argv, int first)
{
    a->argc = argc;
    a->argv = argv;
    a->i = first;
    a->inline_v = NULL;
}

int cli_next(cli_args *a, const char **name)
{
    const char *arg, *eq;
    size_t n;

    a->inline_v = NULL;
    if (a->i >= a->argc)
        return 0;
    arg = a->argv[a->i++];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
        *name = arg;
        return 2;
    }
    eq = strchr(arg, '=');
    if (eq == NULL) {
        *name = arg;
        return 1;
    }
    n = (size_t)(eq - arg);
    if (n >= sizeof a->name)
        return -1;
    memcpy(a->name, arg, n);
    a->name[n] = '\0';
    a->inline_v = eq + 1;
    *name = a->name;
    return 1;
}

const char *cli_value(cli_args *a, const char *opt)
{
    const char *v = a->inline_v;

    a->inline_v = NULL;
    if (v != NULL)
        return v;
    if (a->i < a->argc)
        return a->argv[a->i++];
    fprintf(stderr, "toolwatch: option %s needs a value\n", opt);
    return NULL;
}

int cli_u64(const char *opt, const char *text, uint64_t min, uint64_t max,
            uint64_t *out)
{
    uint64_t v = 0;
    const char *p = text;

    if (text == NULL)
        return -1;
    if (*p == '\0')
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            goto bad;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr,
            "toolwatch: %s: expected a whole number from %llu to %llu, "
            "got \"%s\"\n",
            opt, (unsigned long long)min, (unsigned long long)max, text);
    return -1;
}

int cli_no_core_dumps(const char *cmd)
{
    const struct rlimit none = {0, 0};
    const char *allow = getenv(CLI_ALLOW_CORE_ENV);
    int rc = -1;

    if (allow != NULL && strcmp(allow, "1") == 0) {
        fprintf(stderr, "toolwatch %s: core dumps allowed (%s=1): a core "
                "file holds every secret this process reads\n", cmd,
                CLI_ALLOW_CORE_ENV);
        rc = 0;
        goto out;
    }
    if (allow != NULL && allow[0] != '\0')
        fprintf(stderr, "toolwatch %s: %s: expected 1 to allow core dumps, "
                "got another value; core dumps stay off\n", cmd,
                CLI_ALLOW_CORE_ENV);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fprintf(stderr, "toolwatch %s: cannot turn core dumps off "
                "(PR_SET_DUMPABLE): %s\n", cmd, strerror(errno));
        goto out;
    }
    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        fprintf(stderr, "toolwatch %s: cannot turn core dumps off "
                "(RLIMIT_CORE): %s\n", cmd, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    return rc;
}
