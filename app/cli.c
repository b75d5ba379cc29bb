/*
 * cli.c - option parsing helpers.
 */
#include "app/cli.h"

#include <stdio.h>
#include <string.h>

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
