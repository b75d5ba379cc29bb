/*
 * checkconfig.c - `toolwatch check-config FILE` (checkconfig.h).
 *
 * What "every problem" covers: a file that does not load gives every
 * error the loader finds in it (cfg_load_report(), as every command that
 * loads a file: each bad key, sink and rule, each bad element of a
 * value, one line each, at most TABLE_ERRS_MAX and then how many more; a
 * syntax error or a bad TOOLWATCH_* override alone, since nothing past it
 * can be read).  A file that loads gives every other problem in one run:
 * the stream, the status token and each sink are
 * turned into the structs the service uses (which reads the secrets and
 * checks their form; and here, a PagerDuty routing key's length), each
 * failure on its own line.  The configuration is printed with cJSON's
 * pretty printer, its tab indentation turned into two spaces (cJSON escapes
 * tabs inside strings, so every raw tab is layout).
 */
#include "app/checkconfig.h"

#include "config/config.h"
#include "app/cli.h"
#include "app/redact_key.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "toolwatch check-config: "
#define PD_ROUTING_KEY_LEN 32

/* cJSON_Print's text with tabs as two spaces (indentation) or one (after
 * a colon). */
static int print_json(FILE *out, const cJSON *j)
{
    char *text = cJSON_Print(j);
    int line_start = 1, rc = -1;

    if (text == NULL)
        goto out;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\t') {
            fputs(line_start ? "  " : " ", out);
            continue;
        }
        line_start = *p == '\n';
        fputc(*p, out);
    }
    fputc('\n', out);
    rc = ferror(out) ? -1 : 0;
out:
    cJSON_free(text);
    return rc;
}

/* A PagerDuty sink's routing key (an integration key) is 32 characters;
 * Events API v2 refuses any other with 400, which drops every alert.  The
 * service sends what it is given; here, before it starts, the length is
 * checked (never the value shown: it is a secret).  0 or -1 with the
 * message in msg. */
static int routing_key_check(const struct cfg *c, size_t i,
                             const struct sink_config *sk, char *msg,
                             size_t size)
{
    size_t n;

    if (sk->kind != SINK_PAGERDUTY || sk->routing_key == NULL ||
        (n = strlen(sk->routing_key)) == PD_ROUTING_KEY_LEN)
        return 0;
    snprintf(msg, size, "sinks[%zu].routing_key_env: the environment "
             "variable %s holds %zu bytes; a PagerDuty routing key "
             "(integration key) is %d characters (a space or newline "
             "copied with it counts)", i, c->sinks[i].routing_key_env, n,
             PD_ROUTING_KEY_LEN);
    return -1;
}

/* The nearest directory that exists on the way up from `path` (itself
 * included), into dir[size]: where `path` would be created.  0, or -1
 * (errno) when none can be looked at. */
static int existing_ancestor(const char *path, char *dir, size_t size)
{
    struct stat st;
    char *slash;

    if (snprintf(dir, size, "%s", path) >= (int)size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (;;) {
        if (stat(dir, &st) == 0)
            return 0;
        if (errno != ENOENT)
            return -1;
        if ((slash = strrchr(dir, '/')) == NULL) {
            snprintf(dir, size, ".");
            continue;
        }
        if (slash == dir) {
            dir[1] = '\0';
            continue;
        }
        *slash = '\0';
    }
}

/* The state directory: a writable directory, or creatable under the
 * nearest one that exists.  0, or -1 with the reason in msg. */
static int check_state_dir(const char *dir, char *msg, size_t size)
{
    char at[CFG_PATH_MAX];
    struct stat st;

    if (existing_ancestor(dir, at, sizeof at) != 0) {
        snprintf(msg, size, "state_dir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(at, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, size, "state_dir %s: %s is not a directory", dir, at);
        return -1;
    }
    if (access(at, W_OK | X_OK) != 0) {
        snprintf(msg, size, "state_dir %s: %s %s: %s", dir,
                 strcmp(at, dir) == 0 ? "cannot write in" : "cannot create "
                 "it in", at, strerror(errno));
        return -1;
    }
    return 0;
}

/* A file sink's file: writable if it exists, else creatable in its
 * directory (which must exist: the service does not create it). */
static int check_sink_file(const struct cfg_sink *s, size_t i, char *msg,
                           size_t size)
{
    char dir[CFG_PATH_MAX];
    char *slash;

    if (access(s->path, F_OK) == 0) {
        if (access(s->path, W_OK) == 0)
            return 0;
        snprintf(msg, size, "sinks[%zu].path: cannot write %s: %s", i,
                 s->path, strerror(errno));
        return -1;
    }
    snprintf(dir, sizeof dir, "%s", s->path);
    if ((slash = strrchr(dir, '/')) == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(msg, size, "sinks[%zu].path: cannot create %s in %s: %s", i,
                 s->path, dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* The status server's address and port can be bound now (port 0, any
 * free port, always can). */
static int check_status_port(const struct cfg_status *st, char *msg,
                             size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1, rc = -1;

    if (!st->enabled || st->port == 0)
        return 0;
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, st->listen,
                  &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)st->port);
        len = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, st->listen,
                         &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)st->port);
        len = sizeof(struct sockaddr_in6);
    } else {
        return 0; /* the loader refuses it already */
    }
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(msg, size, "status: cannot open a socket: %s",
                 strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        snprintf(msg, size, "status: cannot listen on %s port %lld: %s",
                 st->listen, (long long)st->port, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

/* What `run` needs from this machine: each problem on its own line;
 * returns how many. */
static unsigned check_machine(const struct cfg *c, FILE *err)
{
    char msg[4 * CFG_PATH_MAX];
    unsigned problems = 0;

    if (check_state_dir(c->state_dir, msg, sizeof msg) != 0) {
        fprintf(err, PREFIX "%s\n", msg);
        problems++;
    }
    for (size_t i = 0; i < c->n_sinks; i++)
        if (c->sinks[i].type == SINK_FILE &&
            check_sink_file(&c->sinks[i], i, msg, sizeof msg) != 0) {
            fprintf(err, PREFIX "%s\n", msg);
            problems++;
        }
    if (check_status_port(&c->status, msg, sizeof msg) != 0) {
        fprintf(err, PREFIX "%s\n", msg);
        problems++;
    }
    return problems;
}

int checkconfig_run(const char *path, char *const *envp, FILE *out,
                    FILE *err)
{
    return checkconfig_run_opts(path, envp, out, err, 1);
}

int checkconfig_run_opts(const char *path, char *const *envp, FILE *out,
                         FILE *err, int offline)
{
    struct cfg *c = NULL;
    struct stream_config sc;
    struct sink_config sk;
    struct cfg_report_file report = {err, PREFIX};
    cJSON *j = NULL;
    const char *token;
    char msg[1024];
    unsigned problems = 0;
    int rc = CLI_EXIT_FAIL;

    if ((c = calloc(1, sizeof *c)) == NULL) {
        fprintf(err, PREFIX "out of memory\n");
        goto out;
    }
    if (cfg_load_report(c, path, envp, cfg_report_print, &report, NULL,
                        0) != CFG_OK)
        goto out;
    if ((j = cfg_to_json(c, TABLE_DUMP_SECRETS)) == NULL) {
        fprintf(err, PREFIX "out of memory\n");
        goto out;
    }
    if (out != NULL && print_json(out, j) != 0) {
        fprintf(err, PREFIX "cannot write the output\n");
        goto out;
    }
    if (cfg_stream_config(c, &sc, msg, sizeof msg) != CFG_OK) {
        fprintf(err, PREFIX "%s\n", msg);
        problems++;
    }
    if (cfg_status_token(c, &token, msg, sizeof msg) != CFG_OK) {
        fprintf(err, PREFIX "%s\n", msg);
        problems++;
    }
    for (size_t i = 0; i < c->n_sinks; i++)
        if (cfg_sink_config(c, i, &sk, msg, sizeof msg) != CFG_OK ||
            routing_key_check(c, i, &sk, msg, sizeof msg) != 0) {
            fprintf(err, PREFIX "%s\n", msg);
            problems++;
        }
    if (c->redact.key_env[0] != '\0') {
        /* the hash key's variable: set and long enough */
        struct redact_opts ro;

        if (redact_key_opts(c, 0, &ro, NULL, msg, sizeof msg) != 0) {
            fprintf(err, PREFIX "%s\n", msg);
            problems++;
        }
        sodium_memzero(&ro, sizeof ro);
    }
    if (!offline)
        problems += check_machine(c, err);
    if (problems == 0)
        rc = CLI_EXIT_OK;
out:
    cJSON_Delete(j);
    cfg_free(c);
    return rc;
}

void checkconfig_usage(FILE *f)
{
    fputs(
        "usage: toolwatch check-config [--print] [--offline] -c FILE\n"
        "       toolwatch check-config [--print] [--offline] FILE\n"
        "\n"
        "Load FILE as `toolwatch run` would, TOOLWATCH_* environment\n"
        "overrides included, check that every environment variable it\n"
        "names for a secret is set and well-formed, and (unless --offline)\n"
        "that this machine has what the service needs.  Prints nothing but\n"
        "the problems, one per line on stderr, all of them.\n"
        "See docs/configuration.md.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE  the configuration to check\n"
        "  -p, --print        also print the effective configuration as\n"
        "                     JSON on stdout (defaults filled in, the rules\n"
        "                     in force under \"rules\"; secrets shown as\n"
        "                     \"<set>\" or \"<unset>\", never their values)\n"
        "  --offline          check the file and the secrets only, not\n"
        "                     this machine (state_dir writable or\n"
        "                     creatable, file sinks writable, the status\n"
        "                     port free)\n"
        "  -q, --quiet        accepted and ignored (quiet is the default)\n"
        "  -h, --help         this text\n"
        "\n"
        "exit status: 0 the service can start with it, 1 it cannot, 2 usage\n"
        "error\n",
        f);
}

int checkconfig_main(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_OPT_HELP, CLI_OPT_CONFIG, {"quiet", no_argument, NULL, 'q'},
        {"print", no_argument, NULL, 'p'}, {"offline", no_argument, NULL, 0},
        CLI_OPT_END,
    };
    const char *path = NULL, *name;
    cli_args a;
    int kind, print = 0, offline = 0, rc = CLI_EXIT_USAGE;

    if (cli_args_init(&a, "check-config", argc, argv, opts) != 0)
        goto out;
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind < 0)
            goto out;
        if (kind == 1 && strcmp(name, "--help") == 0) {
            checkconfig_usage(stdout);
            rc = CLI_EXIT_OK;
            goto out;
        }
        if (kind == 1 && strcmp(name, "--quiet") == 0)
            continue; /* the default; kept for older ExecReload lines */
        if (kind == 1 && strcmp(name, "--print") == 0) {
            print = 1;
            continue;
        }
        if (kind == 1 && strcmp(name, "--offline") == 0) {
            offline = 1;
            continue;
        }
        if (path != NULL) {
            fprintf(stderr, PREFIX "one configuration file only\n");
            checkconfig_usage(stderr);
            goto out;
        }
        path = kind == 1 ? cli_value(&a, name) : name;
    }
    if (path == NULL) {
        checkconfig_usage(stderr);
        goto out;
    }
    rc = checkconfig_run_opts(path, environ, print ? stdout : NULL, stderr,
                              offline);
out:
    return rc;
}
