/*
 * test_checkconfig.c - `toolwatch check-config FILE`, the real binary.
 *
 * Checks the command's contract: a good file prints nothing and exits 0;
 * with --print it prints the effective configuration with "<set>" where
 * secrets are, and no secret value appears anywhere in its output; a bad
 * file prints each of its errors naming the key's path, one per line on
 * stderr, nothing on stdout, and exits 1; a file that loads but cannot run lists every
 * problem (secrets unset, this machine) in one run; an override error
 * names the variable; every example under config/examples/ passes given
 * fake values for the variables it names; replay -c, send-test and
 * silence print every error of a file as check-config does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.h"

#define WAIT_MS 20000

#define SECRET_KEY "sk-itest-STREAMKEY-7f3a"
#define SECRET_SLACK "https://hooks.slack.com/services/T1/B1/ITESTSLACK9"
/* 32 characters, as a PagerDuty routing key is */
#define SECRET_PD "pd-itest-ROUTING-55aa-0123456789"
#define SECRET_WH "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

struct result {
    int status;
    char *out, *err;
};

/* Run toolwatch with argv[1..] and env changes; wait for it. */
static void run_argv(const char *const argv[], const char *const env[],
                     struct result *r)
{
    struct proc *p = proc_spawn(argv, env);
    const char *o, *e;
    size_t olen, elen;

    assert_non_null(p);
    assert_true(proc_wait_exit(p, WAIT_MS, &r->status));
    proc_poll(p);
    o = proc_stdout_all(p, &olen);
    e = proc_stderr_all(p, &elen);
    r->out = strdup(o);
    r->err = strdup(e);
    assert_non_null(r->out);
    assert_non_null(r->err);
    proc_destroy(p);
    assert_true(WIFEXITED(r->status));
    assert_null(strstr(r->err, "Sanitizer"));
}

/* `toolwatch check-config --print --offline <path>`: the file and its
 * secrets, whatever this machine has (test_machine checks the rest), and
 * the effective configuration printed. */
static void run(const char *path, const char *const env[], struct result *r)
{
    const char *argv[] = {tw_bin(), "check-config", "--print", "--offline",
                          path, NULL};

    run_argv(argv, env, r);
}

/* The same without --print: quiet, the problems only. */
static void run_quiet(const char *path, const char *const env[],
                      struct result *r)
{
    const char *argv[] = {tw_bin(), "check-config", "--offline", path, NULL};

    run_argv(argv, env, r);
}

static void result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

static void write_tmp(char *path, const char *text)
{
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void assert_no_secret(const struct result *r)
{
    const char *s[] = {SECRET_KEY, SECRET_SLACK, SECRET_PD, SECRET_WH,
                       "ITEST"};

    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        assert_null(strstr(r->out, s[i]));
        assert_null(strstr(r->err, s[i]));
    }
}

static void test_good_file(void **state)
{
    char path[] = "/tmp/tw_icc_XXXXXX";
    const char *env[] = {"TWI_KEY=" SECRET_KEY, "TWI_SLACK=" SECRET_SLACK,
                         "TWI_PD=" SECRET_PD, "TWI_WH=" SECRET_WH,
                         "TOOLWATCH_STATUS__PORT=0", NULL};
    struct result r;

    (void)state;
    write_tmp(path,
              "{\"stream\": {\"url\": \"https://audit.example/s\","
              " \"api_key_env\": \"TWI_KEY\"},"
              " \"sinks\": [{\"type\": \"slack\", \"url_env\": "
              "\"TWI_SLACK\"},"
              "  {\"type\": \"pagerduty\", \"routing_key_env\": "
              "\"TWI_PD\"},"
              "  {\"type\": \"webhook\", \"url\": \"https://h.example/in\","
              "   \"secret_envs\": [\"TWI_WH\"]}]}");
    run(path, env, &r);
    if (WEXITSTATUS(r.status) != 0)
        fail_msg("exit %d: %s", WEXITSTATUS(r.status), r.err);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "\"<set>\""));
    assert_non_null(strstr(r.out, "\"api_key_env\": \"TWI_KEY\""));
    assert_non_null(strstr(r.out, "\"port\": 0"));
    assert_non_null(strstr(r.out, "\"stall_timeout_s\": 45"));
    assert_no_secret(&r);
    result_free(&r);
    unlink(path);
}

/* check-config of a file with one PagerDuty sink whose key is in TWI_PD,
 * under env: exit 1, the key's marker in the output, want_err on
 * stderr, and no secret anywhere. */
static void pd_check(const char *const env[], const char *marker,
                     const char *want_err)
{
    char path[] = "/tmp/tw_icc_XXXXXX";
    struct result r;

    write_tmp(path, "{\"stream\": {\"url\": \"http://127.0.0.1:1/s\"},"
                    " \"sinks\": [{\"type\": \"pagerduty\","
                    " \"routing_key_env\": \"TWI_PD\"}]}");
    run(path, env, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_non_null(strstr(r.out, marker));
    assert_string_equal(r.err, want_err);
    assert_no_secret(&r);
    assert_null(strstr(r.out, "ROUTING-55aa"));
    assert_null(strstr(r.err, "ROUTING-55aa"));
    result_free(&r);
    unlink(path);
}

static void test_unset_secret(void **state)
{
    const char *env[] = {"TWI_PD", NULL};

    (void)state;
    pd_check(env, "\"routing_key\": \"<unset>\"",
             "toolwatch check-config: sinks[0].routing_key_env: the "
             "environment variable TWI_PD is not set\n");
}

/* A PagerDuty routing key that is not 32 characters: refused before the
 * service would send it (PagerDuty answers 400: every alert dropped), and
 * never printed. */
static void test_short_routing_key(void **state)
{
    const char *env[] = {"TWI_PD=pd-itest-ROUTING-55aa", NULL};

    (void)state;
    pd_check(env, "\"routing_key\": \"<set>\"",
             "toolwatch check-config: sinks[0].routing_key_env: the "
             "environment variable TWI_PD holds 21 bytes; a PagerDuty "
             "routing key (integration key) is 32 characters (a space or "
             "newline copied with it counts)\n");
}

static void test_bad_file(void **state)
{
    char path[] = "/tmp/tw_icc_XXXXXX", path2[] = "/tmp/tw_icc_XXXXXX";
    char want[256];
    struct result r;

    (void)state;
    write_tmp(path, "{\"stream\": {\"url\": \"http://127.0.0.1:1/s\"},"
                    " \"sinks\": [{\"type\": \"stdout\"},"
                    " {\"type\": \"file\", \"path\": \"/tmp/a\","
                    " \"min_severity\": \"urgent\"}]}");
    run(path, NULL, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_string_equal(r.out, "");
    snprintf(want, sizeof want,
             "toolwatch check-config: %s: sinks[1].min_severity: expected "
             "one of \"info\", \"warning\", \"error\", \"critical\", got "
             "\"urgent\"\n",
             path);
    assert_string_equal(r.err, want);
    result_free(&r);

    /* a literal secret: refused, not echoed */
    unlink(path);
    write_tmp(path2, "{\"stream\": {\"url\": \"http://127.0.0.1:1/s\", "
                     "\"api_key\": \"" SECRET_KEY "\"}}");
    run(path2, NULL, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_non_null(strstr(r.err, "stream.api_key: secrets are not accepted "
                                  "in the file; set stream.api_key_env"));
    assert_no_secret(&r);
    result_free(&r);
    unlink(path2);

    run("/nonexistent/tw.json", NULL, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_string_equal(r.err, "toolwatch check-config: /nonexistent/tw.json: "
                               "No such file or directory\n");
    result_free(&r);
}

/* A file with a mistake in several sections: every error on its own
 * line, in file order, each as a file with that mistake alone gives it;
 * nothing on stdout (even with --print), exit 1. */
static void test_every_error(void **state)
{
    char path[] = "/tmp/tw_icc_XXXXXX";
    char want[2048];
    struct result r;

    (void)state;
    write_tmp(path,
              "{\"stream\": {\"url\": \"https://audit.example/s\","
              "  \"stall_timeout_s\": \"45\"},\n"
              " \"sinks\": [{\"type\": \"stdout\"},\n"
              "  {\"type\": \"file\", \"path\": \"/tmp/a\","
              "   \"min_severity\": \"urgent\"}],\n"
              " \"rules\": [\n"
              "  {\"name\": \"a\", \"kind\": \"count\", \"severity\": "
              "\"error\", \"window_s\": 60, \"threshold\": 5,"
              "   \"match\": {\"tool_nme\": \"psql\"}},\n"
              "  {\"name\": \"b\", \"kind\": \"count\", \"severity\": "
              "\"error\", \"window_s\": 60, \"threshold\": 5},\n"
              "  {\"name\": \"c\", \"kind\": \"sequence\", \"severity\": "
              "\"error\", \"within_s\": 60,"
              "   \"steps\": [{\"tool_name\": \"read_*\"},"
              "     {\"event_typ\": \"tool_call_request\"}]}]}\n");
    run(path, NULL, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_string_equal(r.out, "");
    snprintf(want, sizeof want,
             "toolwatch check-config: %s: stream.stall_timeout_s: expected "
             "an integer between 1 and 3600, got \"45\"\n"
             "toolwatch check-config: %s: sinks[1].min_severity: expected "
             "one of \"info\", \"warning\", \"error\", \"critical\", got "
             "\"urgent\"\n"
             "toolwatch check-config: %s: rules[0].match.tool_nme: unknown "
             "field; did you mean tool_name?\n"
             "toolwatch check-config: %s: rules[2].steps[1].event_typ: "
             "unknown field; did you mean event_type?\n",
             path, path, path, path);
    assert_string_equal(r.err, want);
    result_free(&r);
    unlink(path);
}

/* Several mistakes inside single values (a headers object, a sink's
 * routing list): check-config and every other command that loads a file
 * (replay -c, send-test, silence) print each on its own line after the
 * command's name, in file order, nothing on stdout, and exit 1. */
static void test_every_error_every_command(void **state)
{
    static const struct {
        const char *prefix;
        const char *argv[6]; /* after the binary; "@": the file */
    } cmds[] = {
        {"check-config", {"check-config", "--offline", "@", NULL}},
        {"replay", {"replay", "-c", "@", "/dev/null", NULL}},
        {"send-test", {"send-test", "-c", "@", "stdout", NULL}},
        {"silence list", {"silence", "list", "-c", "@", NULL}},
    };
    char path[] = "/tmp/tw_icc_XXXXXX";
    char want[4096];
    struct result r;

    (void)state;
    write_tmp(path,
              "{\"stream\": {\"url\": \"https://audit.example/s\","
              "  \"headers\": {\"X-A\": \"\", \"Accept\": \"x\"}},\n"
              " \"sinks\": [{\"type\": \"stdout\","
              "  \"rules\": [\"ok\", \"no good\", 7]}]}\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *argv[8] = {tw_bin()};
        size_t n = 1;

        for (size_t k = 0; cmds[i].argv[k] != NULL; k++)
            argv[n++] = strcmp(cmds[i].argv[k], "@") == 0 ? path
                                                          : cmds[i].argv[k];
        argv[n] = NULL;
        run_argv(argv, NULL, &r);
        snprintf(want, sizeof want,
                 "toolwatch %s: %s: stream.headers.X-A: expected a non-empty "
                 "string, got \"\"\n"
                 "toolwatch %s: %s: stream.headers.Accept: set by toolwatch "
                 "itself; not configurable\n"
                 "toolwatch %s: %s: sinks[0].rules[1]: expected a rule name "
                 "or glob (letters, digits, -, _, * and ?; 1 to 64 bytes), "
                 "got \"no good\"\n"
                 "toolwatch %s: %s: sinks[0].rules[2]: expected a rule name "
                 "or glob (letters, digits, -, _, * and ?; 1 to 64 bytes), "
                 "got 7\n",
                 cmds[i].prefix, path, cmds[i].prefix, path, cmds[i].prefix,
                 path, cmds[i].prefix, path);
        if (strcmp(r.err, want) != 0) {
            print_error("%s: stderr\n%s\nwanted\n%s", cmds[i].prefix,
                        r.err, want);
            result_free(&r);
            fail();
        }
        assert_string_equal(r.out, "");
        assert_int_equal(WEXITSTATUS(r.status), 1);
        result_free(&r);
    }
    unlink(path);
}

static void test_bad_override(void **state)
{
    const char *env[] = {"TOOLWATCH_DETECTORS__VOLUME__TRESHOLD=5", NULL};
    struct result r;

    (void)state;
    run("config/examples/minimal.json", env, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "toolwatch check-config: "
                               "TOOLWATCH_DETECTORS__VOLUME__TRESHOLD: "
                               "detectors.volume.treshold: unknown key\n");
    result_free(&r);
}

static void test_examples(void **state)
{
    static const struct {
        const char *file;
        const char *env[8];
    } ex[] = {
        {"config/examples/minimal.json", {NULL}},
        {"config/examples/slack.json",
         {"AUDIT_STREAM_API_KEY=ITEST-k", "SLACK_WEBHOOK_URL=" SECRET_SLACK,
          NULL}},
        {"config/examples/pagerduty.json",
         {"AUDIT_STREAM_API_KEY=ITEST-k", "PAGERDUTY_ROUTING_KEY=" SECRET_PD,
          NULL}},
        {"config/examples/webhook.json",
         {"AUDIT_STREAM_API_KEY=ITEST-k", "WEBHOOK_SECRET=" SECRET_WH,
          "WEBHOOK_SECRET_PREVIOUS=" SECRET_WH, NULL}},
        {"config/examples/header-key.json",
         {"AUDIT_STREAM_API_KEY=" SECRET_WH, NULL}},
        {"config/examples/all.json",
         {"AUDIT_STREAM_API_KEY=ITEST-k", "STATUS_TOKEN=ITEST-t",
          "SLACK_WEBHOOK_URL=" SECRET_SLACK,
          "PAGERDUTY_ROUTING_KEY=" SECRET_PD, "WEBHOOK_SECRET=" SECRET_WH,
          NULL}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        struct result r;
        run(ex[i].file, ex[i].env, &r);
        if (WEXITSTATUS(r.status) != 0)
            fail_msg("%s: exit %d: %s", ex[i].file, WEXITSTATUS(r.status),
                     r.err);
        assert_no_secret(&r);
        assert_non_null(strstr(r.out, "\"stream\": {"));
        result_free(&r);
    }
}

/* Quiet by default: a good file, nothing on stdout or stderr, exit 0;
 * -q (the older spelling) is the same; --print adds the configuration;
 * with the secret's variable unset, one line and exit 1. */
static void test_quiet_success(void **state)
{
    const char *env[] = {"TWI_KEY=" SECRET_KEY, NULL};
    const char *unset[] = {"TWI_KEY", NULL};
    char path[] = "/tmp/tw_icc_XXXXXX";
    const char *q[] = {tw_bin(), "check-config", "-q", "--offline", "-c",
                       path, NULL};
    struct result r;

    (void)state;
    write_tmp(path, "{\"stream\": {\"url\": \"https://audit.example/s\","
                    " \"api_key_env\": \"TWI_KEY\"}}");
    run_quiet(path, env, &r);
    assert_int_equal(WEXITSTATUS(r.status), 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    result_free(&r);
    run_argv(q, env, &r);
    assert_int_equal(WEXITSTATUS(r.status), 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    result_free(&r);
    /* --print: the configuration, with the rule set in force */
    run(path, env, &r);
    assert_int_equal(WEXITSTATUS(r.status), 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "\n  \"instance\": \"toolwatch\",\n"));
    assert_non_null(strstr(r.out, "\n  \"rules\": ["));
    assert_non_null(strstr(r.out, "\"name\": \"volume\""));
    assert_non_null(strstr(r.out, "\"probes_public\": true"));
    assert_no_secret(&r);
    result_free(&r);
    /* its secret variable unset: exactly that line, exit 1 */
    run_quiet(path, unset, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "toolwatch check-config: stream.api_key_env: "
                               "the environment variable TWI_KEY is not "
                               "set\n");
    result_free(&r);
    unlink(path);
}

/* A file that loads but cannot run: every problem in one run, in order
 * (stream, status token, each sink, the redaction key), quiet; exit 1. */
static void test_several_errors(void **state)
{
    const char *env[] = {"TWI_KEY", "TWI_TOKEN", "TWI_SLACK", "TWI_PD",
                         "TWI_RK=short", NULL};
    char path[] = "/tmp/tw_icc_XXXXXX";
    struct result r;

    (void)state;
    write_tmp(path,
              "{\"stream\": {\"url\": \"https://audit.example/s\","
              " \"api_key_env\": \"TWI_KEY\"},"
              " \"status\": {\"token_env\": \"TWI_TOKEN\","
              " \"probes_public\": false},"
              " \"redact\": {\"mode\": \"hash\", \"key_env\": \"TWI_RK\"},"
              " \"sinks\": [{\"type\": \"slack\", \"url_env\": "
              "\"TWI_SLACK\"}, {\"type\": \"stdout\"},"
              "  {\"type\": \"pagerduty\", \"routing_key_env\": "
              "\"TWI_PD\"}]}");
    run_quiet(path, env, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_string_equal(r.out, "");
    assert_string_equal(
        r.err,
        "toolwatch check-config: stream.api_key_env: the environment "
        "variable TWI_KEY is not set\n"
        "toolwatch check-config: status.token_env: the environment "
        "variable TWI_TOKEN is not set\n"
        "toolwatch check-config: sinks[0].url_env: the environment "
        "variable TWI_SLACK is not set\n"
        "toolwatch check-config: sinks[2].routing_key_env: the environment "
        "variable TWI_PD is not set\n"
        "toolwatch check-config: redact.key_env: TWI_RK is too short (the "
        "hash key needs at least 16 bytes)\n");
    result_free(&r);
    unlink(path);
}

static void test_usage(void **state)
{
    const char *argv[] = {tw_bin(), "check-config", NULL};
    const char *help[] = {tw_bin(), "check-config", "--help", NULL};
    struct proc *p;
    int status = -1;

    (void)state;
    p = proc_spawn(argv, NULL);
    assert_non_null(p);
    assert_true(proc_wait_exit(p, WAIT_MS, &status));
    assert_int_equal(WEXITSTATUS(status), 2);
    proc_destroy(p);
    p = proc_spawn(help, NULL);
    assert_non_null(p);
    assert_true(proc_wait_exit(p, WAIT_MS, &status));
    assert_int_equal(WEXITSTATUS(status), 0);
    proc_poll(p);
    assert_true(proc_output_contains(p, "usage: toolwatch check-config"));
    proc_destroy(p);
}

/* What `run` needs from this machine, every problem in one run: a
 * state_dir under a regular file, a file sink in a directory that does
 * not exist, a status port that is taken; --offline skips them. */
static void test_machine(void **state)
{
    char dir[] = "/tmp/tw-cc-XXXXXX", cfg[128], file[128], text[1024];
    const char *argv[] = {tw_bin(), "check-config", "-q", "-c", cfg, NULL};
    const char *off[] = {tw_bin(), "check-config", "-q", "--offline", "-c",
                         cfg, NULL};
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    struct result r;
    int lfd, fd;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/file", dir);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "{\"state_dir\": \"%s/state/deep\","
            " \"stream\": {\"url\": \"http://127.0.0.1:9/e\"},"
            " \"status\": {\"port\": %u},"
            " \"sinks\": [{\"type\": \"stdout\"},"
            " {\"name\": \"f\", \"type\": \"file\","
            " \"path\": \"%s/no-such-dir/alerts.ndjson\"}]}",
            file, (unsigned)ntohs(sa.sin_port), dir);
    fclose(f);

    run_argv(argv, NULL, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_string_equal(r.out, "");
    snprintf(text, sizeof text,
             "toolwatch check-config: state_dir %s/state/deep: Not a "
             "directory\n"
             "toolwatch check-config: sinks[1].path: cannot create "
             "%s/no-such-dir/alerts.ndjson in %s/no-such-dir: No such file "
             "or directory\n"
             "toolwatch check-config: status: cannot listen on 127.0.0.1 "
             "port %u: Address already in use\n",
             file, dir, dir, (unsigned)ntohs(sa.sin_port));
    assert_string_equal(r.err, text);
    result_free(&r);

    run_argv(off, NULL, &r);
    assert_int_equal(WEXITSTATUS(r.status), 0);
    assert_string_equal(r.err, "");
    result_free(&r);
    close(lfd);

    /* a state_dir whose parents do not exist yet is fine: it is created */
    unlink(file);
    run_argv(argv, NULL, &r);
    assert_int_equal(WEXITSTATUS(r.status), 1);
    assert_null(strstr(r.err, "state_dir"));
    assert_null(strstr(r.err, "status:"));
    assert_non_null(strstr(r.err, "sinks[1].path"));
    result_free(&r);
    unlink(cfg);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_unset_secret),
        cmocka_unit_test(test_short_routing_key),
        cmocka_unit_test(test_bad_file),
        cmocka_unit_test(test_every_error),
        cmocka_unit_test(test_every_error_every_command),
        cmocka_unit_test(test_bad_override),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_quiet_success),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
