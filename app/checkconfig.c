/*
 * checkconfig.c - `toolwatch check-config FILE` (checkconfig.h).
 *
 * Every problem is reported, not only the first one that cfg_load() finds
 * after the file is valid: the stream, the status token and each sink are
 * turned into the structs the service uses (which reads the secrets and
 * checks their form; and here, a PagerDuty routing key's length), each
 * failure on its own line.  The configuration is printed with cJSON's
 * pretty printer, its tab indentation turned into two spaces (cJSON escapes
 * tabs inside strings, so every raw tab is layout).
 */
#include "app/checkconfig.h"

#include "config/config.h"
#include "app/cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

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

int checkconfig_run(const char *path, char *const *envp, FILE *out,
                    FILE *err)
{
    struct cfg *c = NULL;
    struct stream_config sc;
    struct sink_config sk;
    cJSON *j = NULL;
    const char *token;
    char msg[1024];
    unsigned problems = 0;
    int rc = CLI_EXIT_FAIL;

    if ((c = calloc(1, sizeof *c)) == NULL) {
        fprintf(err, PREFIX "out of memory\n");
        goto out;
    }
    if (cfg_load_env(c, path, envp, msg, sizeof msg) != CFG_OK) {
        fprintf(err, PREFIX "%s\n", msg);
        goto out;
    }
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
        "usage: toolwatch check-config -c FILE\n"
        "       toolwatch check-config FILE\n"
        "\n"
        "Load FILE as `toolwatch run` would, TOOLWATCH_* environment\n"
        "overrides included, and check that every environment variable it\n"
        "names for a secret is set.  Prints the effective configuration as\n"
        "JSON on stdout (defaults filled in, the rules in force under\n"
        "\"rules\"; secrets shown as \"<set>\" or \"<unset>\", never their\n"
        "values) and any problem on stderr.\n"
        "See docs/configuration.md.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE  the configuration to check\n"
        "  -q, --quiet        print only the problems, not the\n"
        "                     configuration (systemd's ExecReload)\n"
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
        CLI_OPT_END,
    };
    const char *path = NULL, *name;
    cli_args a;
    int kind, quiet = 0, rc = CLI_EXIT_USAGE;

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
        if (kind == 1 && strcmp(name, "--quiet") == 0) {
            quiet = 1;
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
    rc = checkconfig_run(path, environ, quiet ? NULL : stdout, stderr);
out:
    return rc;
}
