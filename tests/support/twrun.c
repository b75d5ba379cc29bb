/*
 * twrun.c - toolwatch as a child of an integration test (see twrun.h).
 *
 * Every check reports on stderr and returns; the test decides that it
 * failed.  The child's whole stderr is dumped with fprintf, not cmocka's
 * print_message, which cuts long messages.
 *
 * Invariants:
 *  - the fixture never leaves alive what it could not register: a proc
 *    that does not fit is destroyed at once, a receiver or stream server
 *    is not started;
 *  - teardown ends the children before the servers they talk to and
 *    detaches the mounts before removing the directories under them.
 */
#include "tests/support/twrun.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alerts/sign.h"
#include "consumer/decode.h"
#include "base/clock.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------ fixture ------------------------------ */

int twr_setup(void **state)
{
    struct twr_fx *f = calloc(1, sizeof *f);

    *state = f;
    return f != NULL ? 0 : -1;
}

int twr_teardown(void **state)
{
    struct twr_fx *f = *state;
    char cmd[96];
    int rc = 0;

    if (f == NULL)
        return 0;
    for (size_t i = 0; i < f->nprocs; i++)
        proc_destroy(f->procs[i]);
    for (size_t i = 0; i < f->nrcvs; i++)
        rcv_stop(f->rcvs[i]);
    for (size_t i = 0; i < f->nsrvs; i++)
        tsrv_destroy(f->srvs[i]);
    for (size_t i = 0; i < f->nmounts; i++)
        rc |= umount2(f->mounts[i], MNT_DETACH);
    for (size_t i = 0; i < f->ndirs; i++) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", f->dirs[i]);
        rc |= system(cmd) != 0 ? -1 : 0;
    }
    free(f);
    *state = NULL;
    return rc != 0 ? -1 : 0;
}

int twr_group_setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int twr_group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

struct proc *twr_fx_proc(struct twr_fx *f, struct proc *p)
{
    if (p != NULL && f->nprocs == COUNT(f->procs)) {
        fprintf(stderr, "twrun: more than %zu children\n", COUNT(f->procs));
        proc_destroy(p);
        p = NULL;
    }
    if (p != NULL)
        f->procs[f->nprocs++] = p;
    return p;
}

struct rcv *twr_fx_rcv(struct twr_fx *f)
{
    struct rcv *r = f->nrcvs < COUNT(f->rcvs) ? rcv_start() : NULL;

    if (r != NULL)
        f->rcvs[f->nrcvs++] = r;
    return r;
}

struct tsrv *twr_fx_tsrv(struct twr_fx *f)
{
    struct tsrv *s = f->nsrvs < COUNT(f->srvs) ? tsrv_create() : NULL;

    if (s != NULL)
        f->srvs[f->nsrvs++] = s;
    return s;
}

struct tsrv *twr_fx_stream(struct twr_fx *f, const char *frames, char *url,
                           size_t cap)
{
    struct tsrv *s = twr_fx_tsrv(f);

    if (s == NULL ||
        (frames != NULL && tsrv_add_stream(s, frames, TSRV_HANG) != 0) ||
        tsrv_url(s, "/events", url, cap) != 0)
        return NULL;
    return s;
}

int twr_fx_mount(struct twr_fx *f, const char *path)
{
    if (f->nmounts == COUNT(f->mounts) ||
        strlen(path) >= sizeof f->mounts[0])
        return -1;
    snprintf(f->mounts[f->nmounts++], sizeof f->mounts[0], "%s", path);
    return 0;
}

/* ------------------------------ children ----------------------------- */

const char *twr_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");

    return b != NULL && *b != '\0' ? b : "build/asan/toolwatch";
}

void twr_dump_stderr(const char *what, const struct proc *p)
{
    size_t len;
    const char *e = proc_stderr_all(p, &len);

    fflush(stdout);
    fprintf(stderr, "---- %s stderr (%zu bytes) ----\n", what, len);
    fwrite(e, 1, len, stderr);
    fprintf(stderr, "\n----\n");
}

bool twr_sanitizers_clean(const char *what, struct proc *p)
{
    static const char *const bad[] = {"AddressSanitizer", "LeakSanitizer",
                                      "runtime error:", "UndefinedBehavior"};

    for (size_t i = 0; i < COUNT(bad); i++) {
        if (proc_wait_stderr(p, bad[i], 0)) {
            twr_dump_stderr(what, p);
            fprintf(stderr, "%s: sanitizer report on stderr (%s)\n", what,
                    bad[i]);
            return false;
        }
    }
    return true;
}

bool twr_stop(const char *what, struct proc *p)
{
    int st = -1;

    proc_signal(p, SIGTERM);
    if (!proc_wait_exit(p, TWR_EXIT_WAIT_MS, &st)) {
        twr_dump_stderr(what, p);
        fprintf(stderr, "%s did not exit within %d ms of SIGTERM\n", what,
                TWR_EXIT_WAIT_MS);
        return false;
    }
    if (!twr_sanitizers_clean(what, p))
        return false;
    if (getenv("ITEST_VERBOSE") != NULL)
        twr_dump_stderr(what, p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        twr_dump_stderr(what, p);
        fprintf(stderr, "%s: exit status %d (signal %d), want 0\n", what,
                WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        return false;
    }
    return true;
}

bool twr_kill9(const char *what, struct proc *p)
{
    int st = -1;

    if (proc_signal(p, SIGKILL) != 0 ||
        !proc_wait_exit(p, TWR_EXIT_WAIT_MS, &st)) {
        twr_dump_stderr(what, p);
        fprintf(stderr, "%s: could not be killed and reaped\n", what);
        return false;
    }
    if (!twr_sanitizers_clean(what, p))
        return false;
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
        twr_dump_stderr(what, p);
        fprintf(stderr, "%s died before the kill (status %d)\n", what, st);
        return false;
    }
    return true;
}

size_t twr_stderr_len(const struct proc *p)
{
    size_t len;

    proc_stderr_all(p, &len);
    return len;
}

bool twr_stderr_after(const char *what, struct proc *p, size_t from,
                      const char *needle, int timeout_ms)
{
    if (proc_wait_stderr_after(p, from, needle, timeout_ms))
        return true;
    twr_dump_stderr(what, p);
    fprintf(stderr, "%s: stderr never showed \"%s\"\n", what, needle);
    return false;
}

struct proc *twr_start_run(struct twr_fx *f, const char *cfg,
                           const char *const env[], unsigned *status_port)
{
    static const char tag[] = "status on http://127.0.0.1:";
    const char *argv[] = {twr_bin(), "run", "-c", cfg, NULL};
    struct proc *p = twr_fx_proc(f, proc_spawn(argv, env));
    const char *e, *at;
    unsigned long port;
    size_t len;

    if (p == NULL ||
        !twr_stderr_after("run", p, 0, " running: ", TWR_START_WAIT_MS))
        return NULL;
    if (status_port == NULL)
        return p;
    e = proc_stderr_all(p, &len);
    at = strstr(e, tag);
    port = at != NULL ? strtoul(at + sizeof tag - 1, NULL, 10) : 0;
    if (port == 0 || port > 65535) {
        twr_dump_stderr("run", p);
        fprintf(stderr, "run: no status port logged\n");
        return NULL;
    }
    *status_port = (unsigned)port;
    return p;
}

struct proc *twr_start_sim(struct twr_fx *f, const char *const extra[],
                           unsigned port, char *url, size_t cap)
{
    const char *argv[32] = {twr_bin(), "simulate", "--port"};
    char ports[16];
    struct proc *p;
    int n = 3, len;

    snprintf(ports, sizeof ports, "%u", port);
    argv[n++] = ports;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    p = twr_fx_proc(f, proc_spawn(argv, NULL));
    if (p == NULL)
        return NULL;
    len = proc_read_line(p, url, cap, TWR_START_WAIT_MS);
    if (len <= 0 || strncmp(url, "http://127.0.0.1:", 17) != 0) {
        twr_dump_stderr("simulate", p);
        fprintf(stderr, "simulate printed no URL (%d)\n", len);
        return NULL;
    }
    return p;
}

unsigned twr_url_port(const char *url)
{
    return (unsigned)strtoul(url + strlen("http://127.0.0.1:"), NULL, 10);
}

void twr_pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------- files ------------------------------- */

int twr_dir_make(struct twr_fx *f, struct twr_dir *d, const char *tag)
{
    if (f->ndirs == COUNT(f->dirs) || strlen(tag) > 16)
        return -1;
    snprintf(d->path, sizeof d->path, "/tmp/tw-%s-XXXXXX", tag);
    if (mkdtemp(d->path) == NULL)
        return -1;
    snprintf(f->dirs[f->ndirs++], sizeof f->dirs[0], "%s", d->path);
    snprintf(d->cfg, sizeof d->cfg, "%s/config.json", d->path);
    snprintf(d->state, sizeof d->state, "%s/state", d->path);
    return 0;
}

int twr_write_file(const char *path, const char *data)
{
    FILE *fp = fopen(path, "w");
    int rc;

    if (fp == NULL)
        return -1;
    rc = fputs(data, fp) >= 0 ? 0 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

int twr_write_config(const char *path, const char *fmt, ...)
{
    static char text[16384];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n <= 0 || (size_t)n >= sizeof text)
        return -1;
    return twr_write_file(path, text);
}

/* ------------------------- the status server ------------------------- */

bool twr_wait_http(unsigned port, const char *path, long want,
                   const char *needle, int timeout_ms, struct hget_body *b)
{
    int64_t end = clock_mono_ms() + timeout_ms;

    for (;;) {
        if (hget(port, path, b) == want &&
            (needle == NULL || strstr(b->data, needle) != NULL))
            return true;
        if (clock_mono_ms() >= end)
            return false;
        twr_pause_ms(TWR_POLL_MS);
    }
}

cJSON *twr_status(unsigned port)
{
    struct hget_body *b = malloc(sizeof *b); /* 256 KiB: not on the stack */
    cJSON *j = NULL;
    long code;

    if (b == NULL)
        return NULL;
    code = hget(port, "/status", b);
    if (code == 200)
        j = cJSON_ParseWithLength(b->data, b->len);
    if (j == NULL)
        fprintf(stderr, "GET /status: %ld, %.200s\n", code, b->data);
    free(b);
    return j;
}

const char *twr_jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *twr_jobj(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (v == NULL)
        fprintf(stderr, "\"%s\" is missing\n", name);
    return v;
}

double twr_jnum(const cJSON *o, const char *name)
{
    const cJSON *v = twr_jobj(o, name);

    if (v == NULL)
        return NAN;
    if (!cJSON_IsNumber(v)) {
        fprintf(stderr, "\"%s\" is not a number\n", name);
        return NAN;
    }
    return v->valuedouble;
}

bool twr_streq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

double twr_sink0(const cJSON *st, const char *field)
{
    const cJSON *sinks = twr_jobj(st, "sinks");

    if (cJSON_GetArraySize(sinks) != 1)
        return -1; /* not yet published (the first second) */
    return twr_jnum(cJSON_GetArrayItem(sinks, 0), field);
}

/* The member `field` of the item of array `array` of st named `name`. */
static double named_item(const cJSON *st, const char *array, const char *name,
                         const char *field)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, twr_jobj(st, array))
    {
        if (twr_streq(twr_jstr(it, "name"), name))
            return twr_jnum(it, field);
    }
    return -1;
}

double twr_sink(const cJSON *st, const char *sink, const char *field)
{
    return named_item(st, "sinks", sink, field);
}

double twr_detector(const cJSON *st, const char *det, const char *field)
{
    return named_item(st, "rules", det, field);
}

bool twr_wait_sink0(unsigned port, const char *field, double want,
                    int timeout_ms, struct proc *run)
{
    int64_t end = clock_mono_ms() + timeout_ms;
    double got = -1;

    for (;;) {
        cJSON *st = twr_status(port);
        if (st != NULL)
            got = twr_sink0(st, field);
        cJSON_Delete(st);
        if (got == want)
            return true;
        if (clock_mono_ms() >= end) {
            twr_dump_stderr("run", run);
            fprintf(stderr, "/status sinks[0].%s is %g, want %g\n", field,
                    got, want);
            return false;
        }
        twr_pause_ms(TWR_POLL_MS);
    }
}

/* ---------------------------- audit events --------------------------- */

bool twr_add_call(char *out, size_t cap, const struct twr_call *c)
{
    const char *type = c->error ? "tool_call_error" : "tool_call_response";
    char ts[40];
    size_t used = strlen(out);
    int n;

    if (clock_format_iso8601(c->ts_ms, ts, sizeof ts) <= 0)
        return false;
    n = snprintf(out + used, cap - used,
                 "id: %s\nevent: %s\ndata: {\"record_id\":"
                 "\"%s\",\"timestamp\":\"%s\",\"event_type\":"
                 "\"%s\",\"session_id\":\"%s\","
                 "\"agent_id\":\"%s\",\"tool_name\":\"%s\","
                 "\"response_status\":\"%s\","
                 "\"response_payload_size_bytes\":%lld,"
                 "\"execution_duration_ms\":%g}\n\n",
                 c->id, type, c->rec, ts, type,
                 c->session != NULL ? c->session : "sess-1", c->agent,
                 c->tool, c->error ? "error" : "success", c->payload,
                 c->dur_ms);
    if (n <= 0 || (size_t)n >= cap - used) {
        out[used] = '\0';
        return false;
    }
    return true;
}

/* ----------------------------- the receiver -------------------------- */

/* Why request q is not a signed webhook, or NULL when it is. */
static const char *unsigned_why(const sign_keys *k,
                                const struct rcv_request *q)
{
    const char *ctype = rcv_header(q, "content-type");
    const char *id = rcv_header(q, "webhook-id");
    const char *sig = rcv_header(q, "webhook-signature");
    int64_t ts;

    if (!twr_streq(q->method, "POST"))
        return "not a POST";
    if (!twr_streq(ctype, "application/json"))
        return "not application/json";
    if (id == NULL || sig == NULL)
        return "no webhook-id or webhook-signature";
    if (sign_parse_timestamp(rcv_header(q, "webhook-timestamp"), &ts) !=
        SIGN_OK)
        return "no valid webhook-timestamp";
    if (sign_verify(k, id, ts, q->body, q->body_len, sig,
                    clock_wall_ms() / 1000, 300) != SIGN_OK)
        return "the signature does not verify";
    return NULL;
}

bool twr_all_signed(struct rcv *r, const char *secret)
{
    size_t bad, n = rcv_count(r);
    int err;
    sign_keys *k = sign_keys_create(&secret, 1, &err, &bad);
    bool ok = k != NULL;

    for (size_t i = 0; ok && i < n; i++) {
        struct rcv_request q;
        const char *why = rcv_get(r, i, &q) ? unsigned_why(k, &q)
                                             : "not recorded";
        if (why != NULL) {
            fprintf(stderr, "request %zu: %s\n", i, why);
            ok = false;
        }
    }
    sign_keys_destroy(k);
    return ok;
}
