/*
 * cli.c - option parsing on getopt_long, the common options, and no core
 * dumps for the subcommands that hold secrets.
 */
#include "app/cli.h"

#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

enum { OPT_LOG_LEVEL = 0x100, OPT_LOG_FORMAT };

static const struct option common_opts[] = {
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
};

static int is_short(int val)
{
    return (val >= 'a' && val <= 'z') || (val >= 'A' && val <= 'Z');
}

int cli_args_init(cli_args *a, const char *cmd, int argc, char **argv,
                  const struct option *opts)
{
    size_t n = 0, s = 0;

    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    a->cmd = cmd;
    a->shorts[s++] = ':'; /* a missing value returns ':' */
    for (; opts[n].name != NULL; n++) {
        if (n >= CLI_MAX_OPTS - 2)
            goto too_many;
        a->opts[n] = opts[n];
        if (is_short(opts[n].val)) {
            a->shorts[s++] = (char)opts[n].val;
            if (opts[n].has_arg == required_argument)
                a->shorts[s++] = ':';
        }
    }
    for (size_t i = 0; i < 2; i++)
        a->opts[n++] = common_opts[i];
    a->shorts[s] = '\0';
    optind = 0; /* glibc: start over, whatever a previous parse left */
    opterr = 0;
    return 0;
too_many:
    fprintf(stderr, "toolwatch %s: too many options\n", cmd);
    return -1;
}

/* The table entry of an option getopt_long returned. */
static const struct option *find(const cli_args *a, int c, int idx)
{
    if (c == 0)
        return idx >= 0 ? &a->opts[idx] : NULL;
    for (const struct option *o = a->opts; o->name != NULL; o++) {
        if (o->val == c && o->flag == NULL)
            return o;
    }
    return NULL;
}

int cli_next(cli_args *a, const char **name)
{
    const struct option *o;
    int c, idx;

    a->value = NULL;
    for (;;) {
        if (a->positional) {
            if (optind >= a->argc)
                return 0;
            *name = a->argv[optind++];
            return 2;
        }
        idx = -1;
        c = getopt_long(a->argc, a->argv, a->shorts, a->opts, &idx);
        if (c == -1) {
            a->positional = 1;
            continue;
        }
        if (c == '?' || c == ':') {
            const char *arg = a->argv[optind - 1];
            const char *what = c == '?' ? "unknown option" :
                               "option needs a value:";

            if (optopt != 0 && is_short(optopt))
                fprintf(stderr, "toolwatch %s: %s -%c\n", a->cmd,
                        what, optopt);
            else
                fprintf(stderr, "toolwatch %s: %s %s\n", a->cmd, what,
                        arg);
            fprintf(stderr, "toolwatch %s: see toolwatch %s --help\n",
                    a->cmd, a->cmd);
            return -1;
        }
        if ((o = find(a, c, idx)) == NULL) {
            fprintf(stderr, "toolwatch %s: unknown option\n", a->cmd);
            return -1;
        }
        snprintf(a->name, sizeof a->name, "--%s", o->name);
        a->value = optarg;
        if (o->val == OPT_LOG_LEVEL) {
            if (cli_log_level(a->cmd, a->name, optarg) != 0)
                return -1;
            continue;
        }
        if (o->val == OPT_LOG_FORMAT) {
            if (cli_log_format(a->cmd, a->name, optarg) != 0)
                return -1;
            continue;
        }
        *name = a->name;
        return 1;
    }
}

const char *cli_value(cli_args *a, const char *opt)
{
    const char *v = a->value;

    a->value = NULL;
    if (v == NULL)
        fprintf(stderr, "toolwatch %s: option %s takes no value\n", a->cmd,
                opt);
    return v;
}

int cli_log_level(const char *cmd, const char *what, const char *v)
{
    int lvl = log_parse_level(v);

    if (lvl < 0) {
        fprintf(stderr, "toolwatch%s%s: %s: expected debug, info, warning "
                "or error, got \"%s\"\n", cmd ? " " : "", cmd ? cmd : "",
                what, v);
        return -1;
    }
    log_set_level((enum log_level)lvl);
    return 0;
}

int cli_log_format(const char *cmd, const char *what, const char *v)
{
    int f = log_parse_format(v);

    if (f < 0) {
        fprintf(stderr, "toolwatch%s%s: %s: expected text or json, got "
                "\"%s\"\n", cmd ? " " : "", cmd ? cmd : "", what, v);
        return -1;
    }
    log_set_format((enum log_format)f);
    return 0;
}

int cli_log_env(void)
{
    const char *v;

    if ((v = getenv(CLI_LOG_LEVEL_ENV)) != NULL && v[0] != '\0' &&
        cli_log_level(NULL, CLI_LOG_LEVEL_ENV, v) != 0)
        return -1;
    if ((v = getenv(CLI_LOG_FORMAT_ENV)) != NULL && v[0] != '\0' &&
        cli_log_format(NULL, CLI_LOG_FORMAT_ENV, v) != 0)
        return -1;
    return 0;
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
