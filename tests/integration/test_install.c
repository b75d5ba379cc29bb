/*
 * test_install.c - `make install` and what it installs, for real: the
 * exact file list under DESTDIR with PREFIX=/usr and each file's mode,
 * the installed binary's --version, both man pages rendered by man -l and
 * free of mandoc errors, the unit's ExecStart following BINDIR, its
 * `systemd-analyze security --offline=yes` score at most 2.0 ("OK"), and
 * `systemd-analyze verify` clean on a tree installed with its own
 * PREFIX.  A tool that is missing (man, mandoc, systemd-analyze) skips
 * its check with a message; tests/deps.sh installs them.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.h"

#define WAIT_MS 120000 /* make install: the man pages, the copies */

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

/* the make of the test suite must not leak its jobserver into ours */
static const char *const clean_env[] = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL",
                                        "MAKE_TERMOUT", "MAKE_TERMERR",
                                        NULL};

struct result {
    int status;
    char *out, *err;
};

static void result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

static void run(const char *const argv[], const char *const env[],
                struct result *r)
{
    struct proc *p = proc_spawn(argv, env);
    size_t n;

    assert_non_null(p);
    assert_true(proc_wait_exit(p, WAIT_MS, &r->status));
    proc_poll(p);
    r->status = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128;
    r->out = strdup(proc_stdout_all(p, &n));
    r->err = strdup(proc_stderr_all(p, &n));
    assert_non_null(r->out);
    assert_non_null(r->err);
    proc_destroy(p);
}

/* The tool's path (a static buffer, overwritten by the next call), or
 * NULL. */
static const char *which(const char *tool)
{
    static char path[256];
    static const char *const dirs[] = {"/usr/bin", "/bin", "/usr/sbin",
                                       "/usr/local/bin"};

    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dirs[i], tool);
        if (access(path, X_OK) == 0)
            return path;
    }
    return NULL;
}

static void make_install(const char *destdir, const char *prefix)
{
    char d[300], p[300], b[300];
    const char *argv[] = {which("make"), "-s", "install", d, p, b, NULL};
    struct result r;

    assert_non_null(argv[0]);
    snprintf(d, sizeof d, "DESTDIR=%s", destdir);
    snprintf(p, sizeof p, "PREFIX=%s", prefix);
    snprintf(b, sizeof b, "INSTALL_BIN=%s", tw_bin());
    run(argv, clean_env, &r);
    if (r.status != 0)
        fail_msg("make install: %d\n%s", r.status, r.err);
    result_free(&r);
}

/* every file under root, "path mode" per line, sorted */
static char listing[16384];
static size_t listing_len;
static size_t root_len;

static int collect(const char *path, const struct stat *st, int flag,
                   struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_F)
        listing_len += (size_t)snprintf(listing + listing_len,
                                        sizeof listing - listing_len,
                                        "%s %o\n", path + root_len,
                                        (unsigned)(st->st_mode & 07777));
    return listing_len < sizeof listing - 1 ? 0 : 1;
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the lines of text, sorted, joined again */
static void sort_lines(char *text)
{
    char *lines[256], *save = NULL, *l, copy[16384];
    size_t n = 0, o = 0;

    snprintf(copy, sizeof copy, "%s", text);
    for (l = strtok_r(copy, "\n", &save); l != NULL && n < 256;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof lines[0], cmp_lines);
    text[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, 16384 - o, "%s\n", lines[i]);
}

/* the list make install must produce, from the source tree */
static void expected(char *out, size_t cap)
{
    static const char *const fixed =
        "/usr/bin/toolwatch 755\n"
        "/usr/lib/systemd/system/toolwatch.service 644\n"
        "/usr/share/doc/toolwatch/README.md 644\n"
        "/usr/share/man/man1/toolwatch.1 644\n"
        "/usr/share/man/man5/toolwatch.json.5 644\n";
    glob_t g;
    size_t o = (size_t)snprintf(out, cap, "%s", fixed);

    assert_int_equal(glob("config/examples/*.json", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++)
        o += (size_t)snprintf(out + o, cap - o,
                              "/usr/share/toolwatch/examples/%s 644\n",
                              strrchr(g.gl_pathv[i], '/') + 1);
    globfree(&g);
    assert_int_equal(glob("docs/*.md", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++)
        o += (size_t)snprintf(out + o, cap - o,
                              "/usr/share/doc/toolwatch/%s 644\n",
                              strrchr(g.gl_pathv[i], '/') + 1);
    globfree(&g);
    sort_lines(out);
}

static void rm_tree(const char *dir)
{
    const char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    struct result r;

    run(argv, NULL, &r);
    result_free(&r);
}

static void test_install(void **state)
{
    char dir[] = "/tmp/tw-install-XXXXXX", want[16384], path[512],
         version[64] = "", line[96];
    struct result r;
    FILE *f;
    const char *tool;
    double score = 99;

    (void)state;
    assert_non_null(mkdtemp(dir));
    make_install(dir, "/usr");

    /* the files, exactly, and their modes */
    listing_len = 0;
    listing[0] = '\0';
    root_len = strlen(dir);
    assert_int_equal(nftw(dir, collect, 16, FTW_PHYS), 0);
    sort_lines(listing);
    expected(want, sizeof want);
    assert_string_equal(listing, want);

    /* the installed binary */
    f = fopen("VERSION", "r");
    assert_non_null(f);
    assert_non_null(fgets(version, sizeof version, f));
    fclose(f);
    version[strcspn(version, "\n")] = '\0';
    snprintf(path, sizeof path, "%s/usr/bin/toolwatch", dir);
    {
        const char *argv[] = {path, "--version", NULL};
        run(argv, NULL, &r);
        snprintf(line, sizeof line, "toolwatch %s\n", version);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, line);
        result_free(&r);
    }

    /* the unit runs the installed path */
    snprintf(path, sizeof path, "%s/usr/lib/systemd/system/toolwatch.service",
             dir);
    f = fopen(path, "r");
    assert_non_null(f);
    {
        int exec = 0, reload = 0;

        while (fgets(line, sizeof line, f) != NULL) {
            exec += strcmp(line, "ExecStart=/usr/bin/toolwatch run -c "
                                 "/etc/toolwatch/config.json\n") == 0;
            reload += strncmp(line, "ExecReload=/usr/bin/toolwatch "
                                    "check-config ", 40) == 0;
        }
        assert_int_equal(exec, 1);
        assert_int_equal(reload, 1);
    }
    fclose(f);

    /* systemd-analyze security: the score at most 2.0, "OK" */
    if ((tool = which("systemd-analyze")) == NULL) {
        fprintf(stderr, "test_install: systemd-analyze not installed: "
                "security and verify not checked (sh tests/deps.sh)\n");
    } else {
        const char *argv[] = {tool, "security", "--offline=yes", path, NULL};
        const char *p;

        run(argv, NULL, &r);
        p = strstr(r.out, "Overall exposure level for toolwatch.service: ");
        if (p == NULL)
            fail_msg("systemd-analyze security: %d\n%s%s", r.status, r.out,
                     r.err);
        assert_int_equal(sscanf(p + 46, "%lf", &score), 1);
        fprintf(stderr, "test_install: systemd-analyze security: %.1f\n",
                score);
        assert_true(score <= 2.0);
        assert_non_null(strstr(p, " OK"));
        result_free(&r);
    }

    /* the man pages render, with no mandoc error */
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/usr/share/man/%s", dir,
                 i == 0 ? "man1/toolwatch.1" : "man5/toolwatch.json.5");
        if ((tool = which("man")) == NULL) {
            fprintf(stderr, "test_install: man not installed\n");
        } else {
            const char *argv[] = {tool, "-l", path, NULL};
            static const char *const env[] = {"MANPAGER=cat", "PAGER=cat",
                                              "MANWIDTH=80", NULL};

            run(argv, env, &r);
            assert_int_equal(r.status, 0);
            assert_non_null(strstr(r.out, "NAME"));
            assert_non_null(strstr(r.out, i == 0 ? "toolwatch - real-time"
                                                 : "toolwatch.json - "));
            result_free(&r);
        }
        if ((tool = which("mandoc")) == NULL) {
            fprintf(stderr, "test_install: mandoc not installed\n");
        } else {
            const char *argv[] = {tool, "-T", "lint", "-W", "error", path,
                                  NULL};

            run(argv, NULL, &r);
            if (r.status != 0)
                fail_msg("mandoc -T lint -W error %s: %d\n%s%s", path,
                         r.status, r.out, r.err);
            result_free(&r);
        }
    }
    rm_tree(dir);
}

/* systemd-analyze verify needs ExecStart's binary and the pages named in
 * Documentation=: a tree installed under its own PREFIX has both. */
static void test_verify(void **state)
{
    char dir[] = "/tmp/tw-install-XXXXXX", unit[512], man[512], tool[256];
    const char *found = which("systemd-analyze");
    struct result r;

    (void)state;
    snprintf(tool, sizeof tool, "%s", found ? found : "");
    if (found == NULL) {
        fprintf(stderr, "test_install: systemd-analyze not installed: "
                "verify not checked (sh tests/deps.sh)\n");
        skip();
    }
    assert_non_null(mkdtemp(dir));
    make_install("", dir);
    snprintf(unit, sizeof unit, "%s/lib/systemd/system/toolwatch.service",
             dir);
    snprintf(man, sizeof man, "MANPATH=%s/share/man", dir);
    {
        const char *argv[] = {tool, "verify", unit, NULL};
        const char *env[] = {man, NULL};

        run(argv, env, &r);
        if (r.status != 0 || r.err[0] != '\0')
            fail_msg("systemd-analyze verify: %d\n%s%s", r.status, r.out,
                     r.err);
        result_free(&r);
    }
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
