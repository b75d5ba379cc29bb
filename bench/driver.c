/*
 * driver.c - `make bench`: end-to-end measurements of toolwatch, each run
 * several times in one session, printed as a table of medians (min - max)
 * and written as JSON.
 *
 *   driver --toolwatch BIN --baseline BIN --corpus BIN --data DIR
 *          --rules FILE [--runs N] [--rounds N] [--rounds30 N]
 *          [--events N] [--json FILE] [--only LIST]
 *
 * What it measures (BENCHMARKS.md has the why):
 *   pipeline   `toolwatch run` (six detectors, a file sink) reading a
 *              pre-rendered 1M-event corpus served over loopback HTTP by
 *              a thread of this program with sendfile(2): events / (end -
 *              start), start = the server's first byte, end = toolwatch's
 *              "server closed the stream" log line, read through a pipe
 *              (it is logged after the last byte has been parsed, decoded
 *              and fed to the detectors).  /status must then show every
 *              event received and decoded.
 *   baseline   bench/baseline_cjson on the same bytes from the same server,
 *              end = its "done" line.  Runs alternate with the pipeline's,
 *              and each pipeline / baseline ratio is taken from one pair.
 *   replay     `toolwatch replay` over the same corpus file: events / the
 *              process's lifetime.
 *   rules30    pipeline and baseline again, `run` with the rules of FILE
 *              (bench/rules30.json: 30 rules, every kind) instead of the
 *              default six, in rounds of their own (--rounds30).  The
 *              set is written for the simulator's 50 events/s; the corpus
 *              runs at CORPUS_RATE, so the thresholds that count events or
 *              add up their fields are multiplied by --scale30 (default
 *              CORPUS_RATE / 50 = 20; rule_set_scale), as the default
 *              rules' round scales volume and credential_access.  memory30
 *              uses the same scaled set.
 *   memory     VmHWM of `run` after a 10,000-key corpus and after a corpus
 *              of 1M distinct tool names (hostile cardinality).
 *   memory30   VmHWM of `run` with the rules of FILE after a corpus that
 *              gives each of them 10,000 groups (corpus.c `groups`); then,
 *              once each, with no rules and with the rules of one kind, so
 *              the table shows what each kind adds.
 *   latency    every event anomalous for `latency` (a distinct tool each
 *              time), paced at 200/s by the server, which stamps each
 *              write; a receiver thread stamps each signed webhook's arrival
 *              (CLOCK_MONOTONIC both) and checks its signature.
 *   startup    from posix_spawn to the first 200 of /readyz (polled every
 *              millisecond) against a live local stream.
 *
 * Every toolwatch instance gets a fresh state directory and status port.
 * Children are ended with SIGTERM and reaped; a failure prints the child's
 * last log lines and exits 1.
 */
#define _GNU_SOURCE /* pipe2, accept4, memmem */

#include "base/clock.h"
#include "alerts/sign.h"
#include "consumer/decode.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNS 41
#define LAT_EVENTS 1000
#define LAT_RATE 200
#define KEYS_EVENTS 200000
#define GROUPS_EVENTS 200000  /* 10 calls (request + response) per key */
#define CORPUS_RATE 1000      /* events per second of event time */
#define SIM_RATE 50           /* the simulator's default rate, that
                                 bench/rules30.json is written for */
#define CORPUS_LEAD_S 60      /* the last event this far past "now" */
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ENV "TW_BENCH_WEBHOOK_SECRET"
#define TAIL_LINES 16
#define LINE_MAX_LEN 1024

static struct {
    const char *toolwatch, *baseline, *corpus, *data, *json, *only;
    const char *rules;            /* the 30-rule set (bench/rules30.json) */
    int runs;
    int rounds;                   /* of run + baseline + replay */
    int rounds30;                 /* of run with the 30 rules + baseline */
    double scale30;               /* rate factor for the 30 rules (see
                                     rule_set_scale) */
    unsigned long long events;
} opt = {.runs = 5, .rounds = 21, .rounds30 = 9, .events = 1000000,
         .scale30 = CORPUS_RATE / SIM_RATE};

/* ---- small helpers --------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static int wanted(const char *what)
{
    const char *p;
    size_t n = strlen(what);

    if (opt.only == NULL)
        return 1;
    for (p = opt.only; (p = strstr(p, what)) != NULL; p += n) {
        if ((p == opt.only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int listen_any(uint16_t *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("listen: %s", strerror(errno));
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port that was free a moment ago (for toolwatch's status server). */
static uint16_t free_port(void)
{
    uint16_t port;
    int fd = listen_any(&port);

    close(fd);
    return port;
}

/* GET http://127.0.0.1:port/path; returns the status (0: no answer) and the
 * body in body[size]. */
static int http_get(uint16_t port, const char *path, char *body, size_t size)
{
    struct sockaddr_in a;
    char req[256], *buf = NULL, *p;
    size_t len = 0, cap = 1 << 16;
    int status = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    if (write_all(fd, req, strlen(req)) != 0 || (buf = malloc(cap)) == NULL)
        goto out;
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == cap - 1)
            break;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    if (body != NULL && size > 0) {
        p = strstr(buf, "\r\n\r\n");
        snprintf(body, size, "%s", p != NULL ? p + 4 : "");
    }
out:
    free(buf);
    close(fd);
    return status;
}

/* ---- statistics ------------------------------------------------------------ */

struct series {
    const char *key;       /* JSON key */
    const char *label;     /* table label */
    const char *unit;
    int n;
    double v[MAX_RUNS];
    double med, min, max;
    const char *target;    /* e.g. ">= 0.90", NULL: none */
    int met;               /* -1: no target */
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double percentile(double *v, int n, double p)
{
    int i;

    qsort(v, (size_t)n, sizeof *v, cmp_double);
    i = (int)ceil(p * n) - 1;
    if (i < 0)
        i = 0;
    return v[i];
}

static void summarise(struct series *s)
{
    double t[MAX_RUNS];

    if (s->n == 0)
        return;
    memcpy(t, s->v, sizeof(double) * (size_t)s->n);
    qsort(t, (size_t)s->n, sizeof *t, cmp_double);
    s->min = t[0];
    s->max = t[s->n - 1];
    s->med = s->n % 2 ? t[s->n / 2] : (t[s->n / 2 - 1] + t[s->n / 2]) / 2;
}

static void add(struct series *s, double v)
{
    if (s->n < MAX_RUNS)
        s->v[s->n++] = v;
}

/* ---- children ---------------------------------------------------------------- */

struct child {
    pid_t pid;
    int fd;                       /* read end of its stdout/stderr */
    pthread_t reader;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *mark;             /* a line containing this is the mark */
    int64_t mark_ns;              /* when the mark line was read */
    char mark_line[LINE_MAX_LEN];
    int eof;
    FILE *log;                    /* every line, for the post-mortem */
    char tail[TAIL_LINES][LINE_MAX_LEN];
    unsigned n_lines;
    int64_t spawn_ns;
};

static void *child_reader(void *arg)
{
    struct child *c = arg;
    char buf[65536], line[LINE_MAX_LEN];
    size_t ll = 0;

    for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        int64_t now = mono_ns();

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != '\n') {
                if (ll < sizeof line - 1)
                    line[ll++] = buf[i];
                continue;
            }
            line[ll] = '\0';
            if (c->log != NULL)
                fprintf(c->log, "%s\n", line);
            pthread_mutex_lock(&c->mu);
            snprintf(c->tail[c->n_lines++ % TAIL_LINES], LINE_MAX_LEN, "%s",
                     line);
            if (c->mark != NULL && c->mark_ns == 0 &&
                strstr(line, c->mark) != NULL) {
                c->mark_ns = now;
                snprintf(c->mark_line, sizeof c->mark_line, "%s", line);
                pthread_cond_broadcast(&c->cv);
            }
            pthread_mutex_unlock(&c->mu);
            ll = 0;
        }
    }
    pthread_mutex_lock(&c->mu);
    c->eof = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Start argv[0]; its stdout and stderr go to the reader (stdout to
 * /dev/null when `quiet_stdout`). */
static void child_start(struct child *c, const char *const argv[],
                        const char *mark,
                        int quiet_stdout)
{
    posix_spawn_file_actions_t fa;
    char path[1024];
    const char *base = strrchr(argv[0], '/');
    int p[2];

    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/%s.%s.log", opt.data,
             base != NULL ? base + 1 : argv[0], argv[1] ? argv[1] : "");
    c->log = fopen(path, "w");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->mark = mark;
    if (pipe2(p, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    if (quiet_stdout)
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    else
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    c->spawn_ns = mono_ns();
    if (posix_spawn(&c->pid, argv[0], &fa, NULL, (char *const *)argv,
                    environ) != 0)
        die("cannot start %s", argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    c->fd = p[0];
    if (pthread_create(&c->reader, NULL, child_reader, c) != 0)
        die("pthread_create");
}

static void child_dump(struct child *c)
{
    unsigned first = c->n_lines > TAIL_LINES ? c->n_lines - TAIL_LINES : 0;

    fprintf(stderr, "bench: last lines of pid %d:\n", (int)c->pid);
    for (unsigned i = first; i < c->n_lines; i++)
        fprintf(stderr, "  | %s\n", c->tail[i % TAIL_LINES]);
}

/* Wait for the mark line (or EOF) up to timeout_ms; returns mark_ns or 0. */
static int64_t child_wait_mark(struct child *c, int timeout_ms)
{
    struct timespec dl;
    int64_t t;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->mu);
    while (c->mark_ns == 0 && !c->eof &&
           pthread_cond_timedwait(&c->cv, &c->mu, &dl) == 0)
        ;
    t = c->mark_ns;
    pthread_mutex_unlock(&c->mu);
    return t;
}

/* Peak resident set (VmHWM) of a live process, in kB. */
static long vm_hwm_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* CPU seconds (user + system, all threads) of a live process so far. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[2048], *p;
    unsigned long long ut = 0, st = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* after "pid (comm) ": state is field 3, utime 14, stime 15 */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* SIGTERM (unless already exited), reap; returns the exit status or -1. */
static int child_end(struct child *c, int term)
{
    int st = 0;

    if (term)
        kill(c->pid, SIGTERM);
    if (waitpid(c->pid, &st, 0) != c->pid)
        st = -1;
    pthread_join(c->reader, NULL);
    close(c->fd);
    if (c->log != NULL)
        fclose(c->log);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the stream server -------------------------------------------------------- */

enum srv_job { JOB_IDLE = 0, JOB_FILE, JOB_PACED };

struct server {
    int lfd;
    uint16_t port;
    pthread_t thr;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int active;                   /* connection threads running */
    int fds[64];
    /* the one-shot job, given to the first connection */
    enum srv_job job;
    int taken;
    int done;
    int file_fd;
    off_t file_size;
    int64_t start_ns, end_ns;
    unsigned n_paced;
    int64_t paced_ns[LAT_EVENTS];
};

static const char sse_head[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";

struct conn_arg {
    struct server *s;
    int fd;
};

static int read_request(int fd)
{
    char buf[8192];
    size_t len = 0;

    while (len < sizeof buf - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t r;
        if (poll(&p, 1, 5000) <= 0)
            return -1;
        r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            return 0;
    }
    return -1;
}

/* Heartbeats until the client goes or the server stops. */
static void idle(struct server *s, int fd)
{
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        char b[256];
        if (poll(&p, 1, 500) > 0 && read(fd, b, sizeof b) <= 0)
            break;
        if (write_all(fd, ": hb\n\n", 6) != 0)
            break;
    }
}

static void serve_file(struct server *s, int fd)
{
    off_t off = 0;

    pthread_mutex_lock(&s->mu);
    s->start_ns = mono_ns();
    pthread_mutex_unlock(&s->mu);
    while (off < s->file_size) {
        ssize_t w = sendfile(fd, s->file_fd, &off, (size_t)(s->file_size - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
    }
    pthread_mutex_lock(&s->mu);
    s->end_ns = mono_ns();
    pthread_mutex_unlock(&s->mu);
}

/* LAT_EVENTS events, each over the latency threshold on a tool of its own,
 * one every 1/LAT_RATE s, stamped with the wall clock when written. */
static void serve_paced(struct server *s, int fd)
{
    char frame[1024], ts[32];
    int64_t t0;
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sleep_ms(300); /* let the service settle after connecting */
    t0 = mono_ns();
    for (unsigned i = 0; i < LAT_EVENTS && !atomic_load(&s->stop); i++) {
        int64_t due = t0 + (int64_t)i * (1000000000 / LAT_RATE);
        struct timespec ts_due = {(time_t)(due / 1000000000),
                                  (long)(due % 1000000000)};
        int n;

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts_due,
                               NULL) == EINTR)
            ;
        clock_format_iso8601(wall_ms(), ts, sizeof ts);
        n = snprintf(frame, sizeof frame,
                     "id: %u\nevent: tool_call_response\ndata: {\"record_id\":"
                     "\"lat-%u\",\"timestamp\":\"%s\",\"event_type\":"
                     "\"tool_call_response\",\"session_id\":\"sess-lat\","
                     "\"agent_id\":\"agent-lat\",\"tool_name\":\"lat_%05u\","
                     "\"response_status\":\"success\","
                     "\"response_payload_size_bytes\":1200,"
                     "\"execution_duration_ms\":9000.5}\n\n",
                     i, i, ts, i);
        s->paced_ns[i] = mono_ns();
        if (write_all(fd, frame, (size_t)n) != 0)
            break;
        pthread_mutex_lock(&s->mu);
        s->n_paced = i + 1;
        pthread_mutex_unlock(&s->mu);
    }
}

static void *conn_main(void *arg)
{
    struct conn_arg *ca = arg;
    struct server *s = ca->s;
    int fd = ca->fd, slot = -1;
    enum srv_job job = JOB_IDLE;

    free(ca);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < 64; i++)
        if (s->fds[i] < 0) {
            s->fds[i] = fd;
            slot = i;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    if (read_request(fd) != 0 || write_all(fd, sse_head, sizeof sse_head - 1))
        goto out;
    pthread_mutex_lock(&s->mu);
    if (s->job != JOB_IDLE && !s->taken) {
        s->taken = 1;
        job = s->job;
    }
    pthread_mutex_unlock(&s->mu);
    if (job == JOB_FILE) {
        serve_file(s, fd);
    } else if (job == JOB_PACED) {
        serve_paced(s, fd);
        idle(s, fd);
    } else {
        idle(s, fd);
    }
out:
    shutdown(fd, SHUT_WR);
    pthread_mutex_lock(&s->mu);
    if (job != JOB_IDLE)
        s->done = 1;
    if (slot >= 0)
        s->fds[slot] = -1;
    close(fd);
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct server *s = arg;

    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->lfd, POLLIN, 0};
        struct conn_arg *ca;
        pthread_t t;
        int fd;

        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        ca = malloc(sizeof *ca);
        ca->s = s;
        ca->fd = fd;
        pthread_mutex_lock(&s->mu);
        s->active++;
        pthread_mutex_unlock(&s->mu);
        if (pthread_create(&t, NULL, conn_main, ca) != 0)
            die("pthread_create");
        pthread_detach(t);
    }
    return NULL;
}

/* CPU pinning for the throughput rounds (BENCH_PIN, default on with two
 * CPUs or more): the corpus server's threads on CPU 0, this thread and
 * the readers it starts (toolwatch run, the baseline, replay: a child
 * inherits the mask) on CPU 1.  Unpinned, the scheduler put reader and
 * server on the same CPU in some runs and not in others, and single runs
 * of one binary took 1.2 or 1.7 CPU-s for the same events. */
static int pin_cpus;      /* 1 while the rounds run pinned */
static cpu_set_t all_cpus; /* this thread's mask before pinning */

static void pin_self(int cpu)
{
    cpu_set_t one;

    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0)
        die("sched_setaffinity: %s", strerror(errno));
}

static void pin_begin(void)
{
    const char *v = getenv("BENCH_PIN");

    pin_cpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2 &&
               (v == NULL || strcmp(v, "0") != 0);
    if (!pin_cpus)
        return;
    if (sched_getaffinity(0, sizeof all_cpus, &all_cpus) != 0 ||
        !CPU_ISSET(0, &all_cpus) || !CPU_ISSET(1, &all_cpus)) {
        pin_cpus = 0;
        return;
    }
    pin_self(1);
}

static void pin_end(void)
{
    if (pin_cpus && sched_setaffinity(0, sizeof all_cpus, &all_cpus) != 0)
        die("sched_setaffinity: %s", strerror(errno));
    pin_cpus = 0;
}

static struct server *server_start(enum srv_job job, const char *file)
{
    struct server *s = calloc(1, sizeof *s);
    struct stat st;

    if (s == NULL)
        die("out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 0; i < 64; i++)
        s->fds[i] = -1;
    s->job = job;
    s->file_fd = -1;
    if (file != NULL) {
        if ((s->file_fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 ||
            fstat(s->file_fd, &st) != 0)
            die("cannot open %s: %s", file, strerror(errno));
        s->file_size = st.st_size;
    }
    s->lfd = listen_any(&s->port);
    if (pin_cpus)
        pin_self(0); /* the server thread, and its connections', inherit */
    if (pthread_create(&s->thr, NULL, accept_main, s) != 0)
        die("pthread_create");
    if (pin_cpus)
        pin_self(1);
    return s;
}

static void server_stop(struct server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thr, NULL);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < 64; i++)
        if (s->fds[i] >= 0)
            shutdown(s->fds[i], SHUT_RDWR);
    while (s->active > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    close(s->lfd);
    if (s->file_fd >= 0)
        close(s->file_fd);
    free(s);
}

/* ---- the webhook receiver -------------------------------------------------------- */

struct receiver {
    int lfd;
    uint16_t port;
    pthread_t thr;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int active;
    int fds[16];
    sign_keys *keys;
    unsigned got;                 /* distinct alerts received */
    unsigned bad_sig;
    unsigned other;               /* requests that were not a latency alert */
    int64_t arrival_ns[LAT_EVENTS];
};

static const char *header_value(const char *head, const char *name,
                                char *out, size_t size)
{
    size_t n = strlen(name);

    for (const char *p = head; (p = strstr(p, "\r\n")) != NULL;) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            if (e == NULL || (size_t)(e - v) >= size)
                return NULL;
            memcpy(out, v, (size_t)(e - v));
            out[e - v] = '\0';
            return out;
        }
    }
    return NULL;
}

/* One complete request: head (NUL-terminated, without the blank line) and
 * body.  Returns after the answer is written. */
static void handle_webhook(struct receiver *rc, int fd, int64_t t,
                           const char *head, const char *body, size_t blen)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    char id[300], tsv[32], sig[SIGN_HEADER_MAX + 8];
    const char *k = memmem(body, blen, "\"key\":\"lat_", 11);
    int64_t ts = 0;
    unsigned idx = 0;
    int good;

    write_all(fd, ok, sizeof ok - 1);
    good = header_value(head, "webhook-id", id, sizeof id) != NULL &&
           header_value(head, "webhook-timestamp", tsv, sizeof tsv) != NULL &&
           header_value(head, "webhook-signature", sig, sizeof sig) != NULL &&
           sign_parse_timestamp(tsv, &ts) == SIGN_OK &&
           sign_verify(rc->keys, id, ts, body, blen, sig, wall_ms() / 1000,
                       300) == SIGN_OK;
    pthread_mutex_lock(&rc->mu);
    if (!good)
        rc->bad_sig++;
    if (k != NULL && sscanf(k + 11, "%5u", &idx) == 1 && idx < LAT_EVENTS &&
        strstr(body, "\"alert.firing\"") != NULL) {
        if (rc->arrival_ns[idx] == 0) {
            rc->arrival_ns[idx] = t;
            rc->got++;
            pthread_cond_broadcast(&rc->cv);
        }
    } else {
        rc->other++;
    }
    pthread_mutex_unlock(&rc->mu);
}

struct rconn_arg {
    struct receiver *r;
    int fd;
};

static void *rconn_main(void *arg)
{
    struct rconn_arg *ca = arg;
    struct receiver *rc = ca->r;
    int fd = ca->fd, slot = -1;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);

    free(ca);
    pthread_mutex_lock(&rc->mu);
    for (int i = 0; i < 16; i++)
        if (rc->fds[i] < 0) {
            rc->fds[i] = fd;
            slot = i;
            break;
        }
    pthread_mutex_unlock(&rc->mu);
    while (buf != NULL && !atomic_load(&rc->stop)) {
        ssize_t r = read(fd, buf + len, cap - len);
        int64_t t = mono_ns();
        char *hend, cl[32];
        size_t hlen, blen;

        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        /* every complete request in the buffer */
        while ((hend = strstr(buf, "\r\n\r\n")) != NULL) {
            hlen = (size_t)(hend - buf);
            hend[2] = '\0'; /* keep the last header's CRLF */
            blen = header_value(buf, "Content-Length", cl, sizeof cl) != NULL
                       ? strtoul(cl, NULL, 10)
                       : 0;
            if (hlen + 4 + blen > len) {
                hend[2] = '\r';
                break;
            }
            {
                char *body = hend + 4;
                char save = body[blen];
                body[blen] = '\0';
                handle_webhook(rc, fd, t, buf, body, blen);
                body[blen] = save;
            }
            memmove(buf, buf + hlen + 4 + blen, len - (hlen + 4 + blen));
            len -= hlen + 4 + blen;
            buf[len] = '\0';
        }
        if (len == cap)
            break;
    }
    free(buf);
    pthread_mutex_lock(&rc->mu);
    if (slot >= 0)
        rc->fds[slot] = -1;
    close(fd);
    rc->active--;
    pthread_cond_broadcast(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
    return NULL;
}

static void *raccept_main(void *arg)
{
    struct receiver *rc = arg;

    while (!atomic_load(&rc->stop)) {
        struct pollfd p = {rc->lfd, POLLIN, 0};
        struct rconn_arg *ca;
        pthread_t t;
        int fd, one = 1;

        if (poll(&p, 1, 50) <= 0)
            continue;
        if ((fd = accept4(rc->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ca = malloc(sizeof *ca);
        ca->r = rc;
        ca->fd = fd;
        pthread_mutex_lock(&rc->mu);
        rc->active++;
        pthread_mutex_unlock(&rc->mu);
        if (pthread_create(&t, NULL, rconn_main, ca) != 0)
            die("pthread_create");
        pthread_detach(t);
    }
    return NULL;
}

static struct receiver *receiver_start(void)
{
    struct receiver *rc = calloc(1, sizeof *rc);
    const char *secrets[1] = {SECRET};

    if (rc == NULL)
        die("out of memory");
    pthread_mutex_init(&rc->mu, NULL);
    pthread_cond_init(&rc->cv, NULL);
    for (int i = 0; i < 16; i++)
        rc->fds[i] = -1;
    if ((rc->keys = sign_keys_create(secrets, 1, NULL, NULL)) == NULL)
        die("bad bench secret");
    rc->lfd = listen_any(&rc->port);
    if (pthread_create(&rc->thr, NULL, raccept_main, rc) != 0)
        die("pthread_create");
    return rc;
}

static void receiver_stop(struct receiver *rc)
{
    atomic_store(&rc->stop, 1);
    pthread_join(rc->thr, NULL);
    pthread_mutex_lock(&rc->mu);
    for (int i = 0; i < 16; i++)
        if (rc->fds[i] >= 0)
            shutdown(rc->fds[i], SHUT_RDWR);
    while (rc->active > 0)
        pthread_cond_wait(&rc->cv, &rc->mu);
    pthread_mutex_unlock(&rc->mu);
    close(rc->lfd);
    sign_keys_destroy(rc->keys);
    free(rc);
}

/* ---- toolwatch configuration ------------------------------------------------------- */

enum cfg_kind { CFG_CORPUS, CFG_LATENCY, CFG_STARTUP };

/* A fresh state directory and a config file for one toolwatch instance.
 * `rules`: a JSON array of rules for a CFG_CORPUS instance, or NULL for the
 * default rules with the bench's scaled thresholds. */
static void write_config(const char *path, enum cfg_kind kind,
                         uint16_t stream_port, uint16_t status_port,
                         uint16_t receiver_port, const char *state,
                         const char *sink_file, const char *rules)
{
    char cmd[2048];
    FILE *f;

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", state);
    if (system(cmd) != 0)
        die("cannot clear %s", state);
    if ((f = fopen(path, "w")) == NULL)
        die("cannot write %s", path);
    fprintf(f, "{\"instance\": \"bench\", \"state_dir\": \"%s\",\n", state);
    fprintf(f, " \"stream\": {\"url\": \"http://127.0.0.1:%u/events\"},\n",
            (unsigned)stream_port);
    fprintf(f, " \"status\": {\"listen\": \"127.0.0.1\", \"port\": %u},\n",
            (unsigned)status_port);
    if (kind == CFG_LATENCY)
        fprintf(f, " \"sinks\": [{\"type\": \"webhook\", \"name\": \"bench\","
                   " \"url\": \"http://127.0.0.1:%u/hook\", \"secret_envs\":"
                   " [\"" SECRET_ENV "\"], \"rate_per_s\": 0}]",
                (unsigned)receiver_port);
    else
        fprintf(f, " \"sinks\": [{\"type\": \"file\", \"name\": \"alerts\", "
                   "\"path\": \"%s\"}]",
                sink_file);
    if (kind == CFG_CORPUS && rules != NULL)
        /* a rule set as given (bench/rules30.json): only the lateness */
        fprintf(f, ",\n \"detectors\": {\"allowed_lateness_s\": 3600},\n"
                   " \"rules\": %s", rules);
    else if (kind == CFG_CORPUS)
        /* the corpus runs at CORPUS_RATE events/s of event time, 20 times
         * the simulator's default: thresholds scaled to match (see
         * BENCHMARKS.md); lateness lets a corpus rendered minutes ago count
         * as live */
        fprintf(f, ",\n \"detectors\": {\"allowed_lateness_s\": 3600,"
                   " \"volume\": {\"threshold\": 3000},"
                   " \"credential_access\": {\"threshold\": 1000}}");
    fprintf(f, "}\n");
    fclose(f);
}

/* events.total and events.decoded from /status; 0 on success. */
static int status_events(uint16_t port, double *total, double *decoded)
{
    static char body[1 << 16];
    cJSON *root, *ev;
    int rc = -1;

    if (http_get(port, "/status", body, sizeof body) != 200)
        return -1;
    if ((root = cJSON_Parse(body)) == NULL)
        return -1;
    ev = cJSON_GetObjectItemCaseSensitive(root, "events");
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ev, "total")) &&
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ev, "decoded"))) {
        *total = cJSON_GetObjectItemCaseSensitive(ev, "total")->valuedouble;
        *decoded =
            cJSON_GetObjectItemCaseSensitive(ev, "decoded")->valuedouble;
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;

    if (f == NULL)
        return 0;
    while ((ch = getc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* ---- the measurements ------------------------------------------------------------- */

struct run_result {
    double rate;        /* events/s */
    double cpu_s;       /* CPU time of the process up to the end mark */
    double rss_mb;      /* VmHWM */
    long alerts;
};

/* One `toolwatch run` over a corpus file of n events, with `rules` (a JSON
 * array) or, when NULL, the default rules (see write_config). */
static struct run_result run_corpus(const char *file, unsigned long long n,
                                    const char *tag, const char *rules)
{
    struct run_result res = {0, 0, 0, 0};
    struct server *s = server_start(JOB_FILE, file);
    uint16_t sp = free_port();
    char cfg[1024], state[1024], sink[1024];
    const char *argv[] = {opt.toolwatch, "run", "-c", cfg, NULL};
    struct child c;
    double total = 0, decoded = 0;
    int64_t end, start, give_up;
    int st;

    snprintf(cfg, sizeof cfg, "%s/%s.json", opt.data, tag);
    snprintf(state, sizeof state, "%s/%s.state", opt.data, tag);
    snprintf(sink, sizeof sink, "%s/%s.alerts.ndjson", opt.data, tag);
    unlink(sink);
    write_config(cfg, CFG_CORPUS, s->port, sp, 0, state, sink, rules);
    child_start(&c, argv, "server closed the stream", 1);
    end = child_wait_mark(&c, 120000);
    if (end == 0) {
        child_dump(&c);
        die("%s: toolwatch did not reach the end of the stream", tag);
    }
    pthread_mutex_lock(&s->mu);
    start = s->start_ns;
    pthread_mutex_unlock(&s->mu);
    /* /status is published once a second: wait for the final counts */
    give_up = mono_ns() + 5000000000LL;
    while ((status_events(sp, &total, &decoded) != 0 ||
            total < (double)n) &&
           mono_ns() < give_up)
        sleep_ms(20);
    if (total != (double)n || decoded != (double)n) {
        child_dump(&c);
        die("%s: /status shows %.0f events (%.0f decoded), expected %llu",
            tag, total, decoded, n);
    }
    res.rss_mb = (double)vm_hwm_kb(c.pid) / 1024.0;
    res.cpu_s = cpu_seconds(c.pid);
    res.rate = (double)n / ((double)(end - start) / 1e9);
    st = child_end(&c, 1);
    if (st != 0)
        die("%s: toolwatch exited with status %d", tag, st);
    res.alerts = count_lines(sink);
    server_stop(s);
    return res;
}

static double run_baseline(const char *file, unsigned long long n,
                           double *cpu_s)
{
    struct server *s = server_start(JOB_FILE, file);
    char url[128];
    const char *argv[] = {opt.baseline, url, NULL};
    struct child c;
    unsigned long long got = 0, errs = 0;
    int64_t end, start;

    snprintf(url, sizeof url, "http://127.0.0.1:%u/events", (unsigned)s->port);
    child_start(&c, argv, "done ", 0);
    end = child_wait_mark(&c, 120000);
    if (end == 0 || sscanf(c.mark_line, "done %llu %llu", &got, &errs) != 2 ||
        got != n || errs != 0) {
        child_dump(&c);
        die("baseline: %llu events, %llu parse errors, expected %llu", got,
            errs, n);
    }
    *cpu_s = cpu_seconds(c.pid); /* it exits right after "done" */
    if (child_end(&c, 0) != 0)
        die("baseline failed");
    pthread_mutex_lock(&s->mu);
    start = s->start_ns;
    pthread_mutex_unlock(&s->mu);
    server_stop(s);
    return (double)n / ((double)(end - start) / 1e9);
}

static double run_replay(const char *file, unsigned long long n)
{
    char cfg[1024], state[1024], sink[1024];
    const char *argv[] = {opt.toolwatch, "replay", "-c", cfg,
                    file, NULL};
    struct child c;
    unsigned long long records = 0;
    const char *p;
    int64_t end;

    snprintf(cfg, sizeof cfg, "%s/replay.json", opt.data);
    snprintf(state, sizeof state, "%s/replay.state", opt.data);
    snprintf(sink, sizeof sink, "%s/replay.alerts.ndjson", opt.data);
    write_config(cfg, CFG_CORPUS, 1, 1, 0, state, sink, NULL);
    child_start(&c, argv, "toolwatch replay: sse input", 1);
    if (child_end(&c, 0) != 0) {
        child_dump(&c);
        die("replay failed");
    }
    end = mono_ns();
    p = strstr(c.mark_line, "input, ");
    if (p == NULL || sscanf(p, "input, %llu records", &records) != 1 ||
        records != n)
        die("replay: read %llu records, expected %llu (%s)", records, n,
            c.mark_line);
    return (double)n / ((double)(end - c.spawn_ns) / 1e9);
}

/* p50 and p99 of one paced run, in ms. */
static void run_latency(double *p50, double *p99)
{
    struct server *s = server_start(JOB_PACED, NULL);
    struct receiver *rc = receiver_start();
    uint16_t sp = free_port();
    char cfg[1024], state[1024];
    const char *argv[] = {opt.toolwatch, "run", "-c", cfg, NULL};
    double lat[LAT_EVENTS];
    struct child c;
    struct timespec dl;
    unsigned got;

    snprintf(cfg, sizeof cfg, "%s/latency.json", opt.data);
    snprintf(state, sizeof state, "%s/latency.state", opt.data);
    write_config(cfg, CFG_LATENCY, s->port, sp, rc->port, state, NULL, NULL);
    child_start(&c, argv, NULL, 1);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&rc->mu);
    while (rc->got < LAT_EVENTS &&
           pthread_cond_timedwait(&rc->cv, &rc->mu, &dl) == 0)
        ;
    got = rc->got;
    pthread_mutex_unlock(&rc->mu);
    if (got < LAT_EVENTS || rc->bad_sig > 0) {
        child_dump(&c);
        die("latency: %u of %d alerts received, %u bad signatures", got,
            LAT_EVENTS, rc->bad_sig);
    }
    if (child_end(&c, 1) != 0)
        die("latency: toolwatch did not exit cleanly");
    {
        char path[1024];
        FILE *f;
        snprintf(path, sizeof path, "%s/latency.tsv", opt.data);
        f = fopen(path, "w");
        for (unsigned i = 0; i < LAT_EVENTS; i++) {
            lat[i] = (double)(rc->arrival_ns[i] - s->paced_ns[i]) / 1e6;
            if (f != NULL)
                fprintf(f, "%u\t%.3f\t%.3f\n", i,
                        (double)(s->paced_ns[i] - s->paced_ns[0]) / 1e6,
                        lat[i]);
        }
        if (f != NULL)
            fclose(f);
    }
    *p50 = percentile(lat, LAT_EVENTS, 0.50);
    *p99 = percentile(lat, LAT_EVENTS, 0.99);
    fprintf(stderr, "bench: latency p90 %.2f ms, p95 %.2f ms, max %.2f ms\n",
            percentile(lat, LAT_EVENTS, 0.90), percentile(lat, LAT_EVENTS, 0.95),
            percentile(lat, LAT_EVENTS, 1.0));
    receiver_stop(rc);
    server_stop(s);
}

static double run_startup(void)
{
    struct server *s = server_start(JOB_IDLE, NULL);
    uint16_t sp = free_port();
    char cfg[1024], state[1024], sink[1024];
    const char *argv[] = {opt.toolwatch, "run", "-c", cfg, NULL};
    struct child c;
    int64_t t = 0, give_up;

    snprintf(cfg, sizeof cfg, "%s/startup.json", opt.data);
    snprintf(state, sizeof state, "%s/startup.state", opt.data);
    snprintf(sink, sizeof sink, "%s/startup.alerts.ndjson", opt.data);
    write_config(cfg, CFG_STARTUP, s->port, sp, 0, state, sink, NULL);
    child_start(&c, argv, NULL, 1);
    give_up = c.spawn_ns + 10000000000LL;
    while (mono_ns() < give_up) {
        if (http_get(sp, "/readyz", NULL, 0) == 200) {
            t = mono_ns();
            break;
        }
        sleep_ms(1);
    }
    if (t == 0) {
        child_dump(&c);
        die("startup: /readyz never answered 200");
    }
    child_end(&c, 1);
    server_stop(s);
    return (double)(t - c.spawn_ns) / 1e6;
}

static void make_corpus(const char *kind, const char *file,
                        unsigned long long n)
{
    char num[32], rate[32], lead[32];
    const char *argv[] = {opt.corpus, kind, file, num, rate, lead, NULL};
    struct child c;

    snprintf(num, sizeof num, "%llu", n);
    snprintf(rate, sizeof rate, "%d", CORPUS_RATE);
    snprintf(lead, sizeof lead, "%d", CORPUS_LEAD_S);
    child_start(&c, argv, " events, ", 0);
    if (child_end(&c, 0) != 0) {
        child_dump(&c);
        die("cannot write the %s corpus", kind);
    }
    fprintf(stderr, "bench: %s corpus: %s\n", kind, c.mark_line);
}

/* ---- output ---------------------------------------------------------------------- */

static void fmt_num(char *b, size_t n, double v, const char *unit)
{
    if (strcmp(unit, "events/s") == 0)
        snprintf(b, n, "%.0fk", v / 1000);
    else if (strcmp(unit, "ratio") == 0)
        snprintf(b, n, "%.3f", v);
    else
        snprintf(b, n, "%.2f", v);
}

static void print_table(struct series *all, int n)
{
    printf("\n%-44s %10s %21s %10s %4s\n", "measurement", "median",
           "min - max", "target", "met");
    for (int i = 0; i < n; i++) {
        struct series *s = &all[i];
        char med[32], lo[32], hi[32], range[80];
        if (s->n == 0)
            continue;
        fmt_num(med, sizeof med, s->med, s->unit);
        fmt_num(lo, sizeof lo, s->min, s->unit);
        fmt_num(hi, sizeof hi, s->max, s->unit);
        snprintf(range, sizeof range, "%s - %s", lo, hi);
        printf("%-44s %10s %21s %10s %4s\n", s->label, med, range,
               s->target ? s->target : "",
               s->met < 0 ? "" : s->met ? "yes" : "NO");
    }
}

static void write_json(struct series *all, int n, const char *machine)
{
    FILE *f;

    if (opt.json == NULL)
        return;
    if ((f = fopen(opt.json, "w")) == NULL)
        die("cannot write %s", opt.json);
    fprintf(f, "{\n  \"machine\": \"%s\",\n  \"runs\": %d,\n  "
               "\"rounds\": %d,\n  \"rounds30\": %d,\n  \"rules30\": \"%s\",\n  "
               "\"events\": %llu,\n  \"date\": \"",
            machine, opt.runs, opt.rounds > opt.runs ? opt.rounds : opt.runs,
            opt.rounds30, opt.rules, opt.events);
    {
        char ts[32];
        clock_format_iso8601(wall_ms(), ts, sizeof ts);
        fprintf(f, "%s\",\n  \"results\": {", ts);
    }
    for (int i = 0, first = 1; i < n; i++) {
        struct series *s = &all[i];
        if (s->n == 0)
            continue;
        fprintf(f, "%s\n    \"%s\": {\"unit\": \"%s\", \"median\": %.6g, "
                   "\"min\": %.6g, \"max\": %.6g, \"runs\": [",
                first ? "" : ",", s->key, s->unit, s->med, s->min, s->max);
        for (int k = 0; k < s->n; k++)
            fprintf(f, "%s%.6g", k ? ", " : "", s->v[k]);
        fprintf(f, "]");
        if (s->target != NULL)
            fprintf(f, ", \"target\": \"%s\", \"met\": %s", s->target,
                    s->met ? "true" : "false");
        fprintf(f, "}");
        first = 0;
    }
    fprintf(f, "\n  }\n}\n");
    fclose(f);
}

static void machine_name(char *b, size_t n)
{
    char line[256], model[200] = "unknown CPU";
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long mem = sysconf(_SC_PHYS_PAGES) / 1024 * sysconf(_SC_PAGESIZE) / 1024;
    FILE *f = fopen("/proc/cpuinfo", "r");

    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *p = strstr(line, "model name");
        if (p != NULL && (p = strchr(p, ':')) != NULL) {
            snprintf(model, sizeof model, "%s", p + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    snprintf(b, n, "%s, %ld CPUs, %ld MB", model, cpus, mem);
}

/* ---- the rule set ---------------------------------------------------------------- */

#define MAX_KINDS 16

/* The rules of FILE (a configuration with a "rules" list), and the kinds
 * they use in order of first use. */
struct rule_set {
    cJSON *rules;
    int nkinds;
    const char *kind[MAX_KINDS];
    int nrules[MAX_KINDS];
};

/* Multiply member `name` of object o, when it is a number, by f. */
static void scale_number(cJSON *o, const char *name, double f)
{
    cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(n))
        cJSON_SetNumberValue(n, n->valuedouble * f);
}

/* Rate the rules of `rules` for a stream f times the rate they were
 * written for: the thresholds that count events or add up their fields
 * (count and sum: threshold, clear_threshold, the overrides' thresholds;
 * baseline: min_value) times f.  Ratios, distinct values, one event's
 * value, sequences, first-seen values and silences do not depend on the
 * rate and stay as written. */
static void rule_set_scale(cJSON *rules, double f)
{
    cJSON *r, *o;

    cJSON_ArrayForEach(r, rules)
    {
        const char *k =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "kind"));
        if (k == NULL)
            continue;
        if (strcmp(k, "count") == 0 || strcmp(k, "sum") == 0) {
            scale_number(r, "threshold", f);
            scale_number(r, "clear_threshold", f);
            cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(
                                      r, "overrides"))
                scale_number(o, "threshold", f);
        } else if (strcmp(k, "baseline") == 0) {
            scale_number(r, "min_value", f);
        }
    }
}

static void rule_set_load(struct rule_set *rs, const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    long len;
    cJSON *root, *r;

    memset(rs, 0, sizeof *rs);
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)len + 1)) == NULL ||
        fread(text, 1, (size_t)len, f) != (size_t)len)
        die("cannot read %s", path);
    fclose(f);
    if ((root = cJSON_ParseWithLength(text, (size_t)len)) == NULL ||
        !cJSON_IsArray(rs->rules = cJSON_DetachItemFromObjectCaseSensitive(
                           root, "rules")))
        die("%s: expected an object with a \"rules\" list", path);
    cJSON_Delete(root);
    free(text);
    if (opt.scale30 != 1)
        rule_set_scale(rs->rules, opt.scale30);
    cJSON_ArrayForEach(r, rs->rules)
    {
        const char *k =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "kind"));
        int i = 0;
        if (k == NULL)
            die("%s: a rule without a kind", path);
        while (i < rs->nkinds && strcmp(rs->kind[i], k) != 0)
            i++;
        if (i == MAX_KINDS)
            die("%s: more than %d kinds", path, MAX_KINDS);
        rs->kind[i] = k;
        rs->nrules[i]++;
        if (i == rs->nkinds)
            rs->nkinds++;
    }
}

/* The rules of kind `kind` (NULL: all of them) as a JSON array; free()
 * it. */
static char *rule_set_json(const struct rule_set *rs, const char *kind)
{
    cJSON *a = cJSON_CreateArray(), *r;
    char *text;

    cJSON_ArrayForEach(r, rs->rules)
    {
        const char *k =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "kind"));
        if (kind == NULL || strcmp(k, kind) == 0)
            cJSON_AddItemToArray(a, cJSON_Duplicate(r, 1));
    }
    if ((text = cJSON_PrintUnformatted(a)) == NULL)
        die("out of memory");
    cJSON_Delete(a);
    return text;
}

/* ---- rounds ------------------------------------------------------------------------ */

/* The figures of one round; a reader that was not run leaves its own 0. */
struct round {
    struct run_result run;
    double base, base_cpu, replay;
};

/* One round over the corpus `file` of n events: `toolwatch run` with
 * `rules` (NULL: the bench's default rules) and the baseline, when
 * `pipeline`, and replay, when `replay`, back to back in an order that
 * rotates with r, so that the machine's slow and fast moments (a shared
 * host) fall on all of them alike. */
static struct round one_round(int r, const char *file, unsigned long long n,
                              const char *tag, const char *rules,
                              int pipeline, int replay)
{
    struct round rd;

    memset(&rd, 0, sizeof rd);
    for (int k = 0; k < 3; k++) {
        switch ((r + k) % 3) {
        case 0:
            if (pipeline)
                rd.run = run_corpus(file, n, tag, rules);
            break;
        case 1:
            if (pipeline)
                rd.base = run_baseline(file, n, &rd.base_cpu);
            break;
        default:
            if (replay)
                rd.replay = run_replay(file, n);
            break;
        }
    }
    return rd;
}

/* The series of a group of rounds, in the order of the table. */
enum { R_RUN, R_BASE, R_RATIO, R_CPU_RATIO, R_RSS, R_COUNT };

static void add_round(struct series *s[R_COUNT], const struct round *rd)
{
    if (rd->run.rate <= 0)
        return;
    add(s[R_RUN], rd->run.rate);
    add(s[R_BASE], rd->base);
    add(s[R_RATIO], rd->run.rate / rd->base);
    add(s[R_RSS], rd->run.rss_mb);
    if (rd->run.cpu_s > 0 && rd->base_cpu > 0)
        add(s[R_CPU_RATIO], rd->base_cpu / rd->run.cpu_s);
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
    fputs("usage: driver --toolwatch BIN --baseline BIN --corpus BIN --data "
          "DIR --rules FILE [--runs N] [--rounds N] [--rounds30 N] [--scale30 F] "
          "[--events N] [--json FILE] [--only LIST]\n"
          "LIST: comma-separated of pipeline (with baseline), replay, "
          "memory, latency, startup, rules30, memory30\n",
          stderr);
    exit(2);
}

/* met from the target ("<= 64", ">= 0.90") and the median */
static void judge(struct series *s)
{
    char op[3];
    double goal;

    if (s->target == NULL || s->n == 0) {
        s->met = -1;
        return;
    }
    if (sscanf(s->target, "%2s %lf", op, &goal) != 2)
        die("bad target %s", s->target);
    s->met = strcmp(op, ">=") == 0 ? s->med >= goal : s->med <= goal;
}

enum {
    S_PIPE, S_BASE, S_RATIO, S_CPU_RATIO, S_REPLAY, S_REPLAY_RATIO,
    S_PIPE30, S_BASE30, S_RATIO30, S_CPU_RATIO30, S_RSS_PIPE,
    S_RSS_PIPE30, S_RSS_KEYS, S_RSS_TABLES, S_RSS_HOSTILE, S_HOSTILE_RATE,
    S_RSS_GROUPS30, S_RSS_GROUPS0, S_KIND0,
    S_LAT50 = S_KIND0 + MAX_KINDS, S_LAT99, S_STARTUP, S_COUNT
};

int main(int argc, char **argv)
{
    static struct series all[S_COUNT] = {
        [S_PIPE] = {"pipeline_events_per_s", "pipeline: toolwatch run, events/s",
                    "events/s", .met = -1},
        [S_BASE] = {"baseline_events_per_s", "baseline: SSE split + cJSON, events/s",
                    "events/s", .met = -1},
        [S_RATIO] = {"pipeline_over_baseline", "pipeline / baseline", "ratio",
                     .target = ">= 0.90"},
        [S_CPU_RATIO] = {"pipeline_over_baseline_cpu",
                         "same, per CPU-second (baseline CPU / run CPU)",
                         "ratio", .met = -1},
        [S_REPLAY] = {"replay_events_per_s", "replay, events/s", "events/s",
                      .met = -1},
        [S_REPLAY_RATIO] = {"replay_over_pipeline", "replay / pipeline",
                            "ratio", .target = ">= 1.00"},
        [S_PIPE30] = {"rules30_events_per_s",
                      "30 rules: toolwatch run, events/s", "events/s"},
        [S_BASE30] = {"rules30_baseline_events_per_s",
                      "30 rules: baseline, events/s",
                      "events/s"},
        [S_RATIO30] = {"rules30_over_baseline", "30 rules: run / baseline",
                       "ratio", .target = ">= 0.70"},
        [S_CPU_RATIO30] = {"rules30_over_baseline_cpu",
                           "same, per CPU-second (baseline CPU / run CPU)",
                           "ratio"},
        [S_RSS_PIPE] = {"rss_mb_pipeline", "RSS of run, 1M-event corpus, MB",
                        "MB", .met = -1},
        [S_RSS_PIPE30] = {"rss_mb_rules30_pipeline",
                          "RSS of run, 30 rules, 1M-event corpus, MB", "MB"},
        [S_RSS_KEYS] = {"rss_mb_10k_tool_agent_keys",
                        "RSS of run, 10,000 tool x agent keys, MB", "MB",
                        .target = "<= 16"},
        [S_RSS_TABLES] = {"rss_mb_full_tables",
                          "RSS of run, every table at 10,000 keys, MB", "MB",
                          .met = -1},
        [S_RSS_HOSTILE] = {"rss_mb_1m_hostile_keys",
                           "RSS of run, 1M hostile tool names, MB", "MB",
                           .target = "<= 64"},
        [S_HOSTILE_RATE] = {"hostile_events_per_s",
                            "run, 1M hostile tool names, events/s",
                            "events/s", .met = -1},
        [S_RSS_GROUPS30] = {"rss_mb_rules30_10k_groups",
                            "RSS of run, 30 rules, 10,000 groups each, MB",
                            "MB", .target = "<= 64"},
        [S_RSS_GROUPS0] = {"rss_mb_no_rules_10k_groups",
                           "  same corpus, no rules, MB", "MB"},
        [S_LAT50] = {"alert_latency_p50_ms", "alert latency p50, ms", "ms",
                     .met = -1},
        [S_LAT99] = {"alert_latency_p99_ms", "alert latency p99, ms", "ms",
                     .target = "<= 5"},
        [S_STARTUP] = {"startup_to_ready_ms", "start-up to /readyz 200, ms",
                       "ms", .target = "<= 100"},
    };
    struct series *pipe[R_COUNT] = {&all[S_PIPE], &all[S_BASE], &all[S_RATIO],
                                    &all[S_CPU_RATIO], &all[S_RSS_PIPE]};
    struct series *pipe30[R_COUNT] = {&all[S_PIPE30], &all[S_BASE30],
                                      &all[S_RATIO30], &all[S_CPU_RATIO30],
                                      &all[S_RSS_PIPE30]};
    static char kind_key[MAX_KINDS][64], kind_label[MAX_KINDS][64];
    char mixed[1024], keys[1024], tables[1024], hostile[1024], groups[1024];
    char machine[300], *rules30 = NULL;
    struct rule_set rs;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (strcmp(a, "--toolwatch") == 0)
            opt.toolwatch = v;
        else if (strcmp(a, "--baseline") == 0)
            opt.baseline = v;
        else if (strcmp(a, "--corpus") == 0)
            opt.corpus = v;
        else if (strcmp(a, "--data") == 0)
            opt.data = v;
        else if (strcmp(a, "--rules") == 0)
            opt.rules = v;
        else if (strcmp(a, "--json") == 0)
            opt.json = v;
        else if (strcmp(a, "--only") == 0)
            opt.only = v;
        else if (strcmp(a, "--runs") == 0)
            opt.runs = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--rounds") == 0)
            opt.rounds = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--rounds30") == 0)
            opt.rounds30 = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--scale30") == 0)
            opt.scale30 = strtod(v, NULL);
        else if (strcmp(a, "--events") == 0)
            opt.events = strtoull(v, NULL, 10);
        else
            usage();
        i++;
    }
    if (opt.toolwatch == NULL || opt.baseline == NULL || opt.corpus == NULL ||
        opt.data == NULL || opt.rules == NULL || opt.runs < 1 ||
        opt.runs > MAX_RUNS || opt.rounds > MAX_RUNS || opt.rounds30 < 1 ||
        opt.rounds30 > MAX_RUNS || opt.events == 0 || !(opt.scale30 > 0))
        usage();
    signal(SIGPIPE, SIG_IGN);
    setenv(SECRET_ENV, SECRET, 1);
    mkdir(opt.data, 0700);
    machine_name(machine, sizeof machine);
    rule_set_load(&rs, opt.rules);
    rules30 = rule_set_json(&rs, NULL);
    fprintf(stderr, "bench: %s; %d rounds of run + baseline + replay, %d "
                    "rounds of run with %s + baseline, %d runs of each "
                    "other measurement\n",
            machine, opt.rounds > opt.runs ? opt.rounds : opt.runs,
            opt.rounds30, opt.rules, opt.runs);
    snprintf(mixed, sizeof mixed, "%s/mixed.sse", opt.data);
    snprintf(keys, sizeof keys, "%s/keys.sse", opt.data);
    snprintf(tables, sizeof tables, "%s/tables.sse", opt.data);
    snprintf(hostile, sizeof hostile, "%s/hostile.sse", opt.data);
    snprintf(groups, sizeof groups, "%s/groups.sse", opt.data);

    if (wanted("pipeline") || wanted("replay") || wanted("rules30"))
        make_corpus("mixed", mixed, opt.events);
    if (wanted("pipeline") || wanted("replay")) {
        /* each ratio is taken within one round and the table shows the
         * median of the rounds' ratios */
        int rounds = opt.runs > opt.rounds ? opt.runs : opt.rounds;
        pin_begin();
        for (int r = 0; r < rounds; r++) {
            struct round rd = one_round(r, mixed, opt.events, "pipeline", NULL,
                                        wanted("pipeline"), wanted("replay"));
            add_round(pipe, &rd);
            if (rd.replay > 0) {
                add(&all[S_REPLAY], rd.replay);
                if (rd.run.rate > 0)
                    add(&all[S_REPLAY_RATIO], rd.replay / rd.run.rate);
            }
            fprintf(stderr, "bench: round %d: run %.0f events/s (%ld "
                            "alerts, %.1f MB, %.2f CPU s), baseline %.0f "
                            "events/s (%.2f CPU s), replay %.0f events/s; "
                            "run/baseline %.3f, replay/run %.3f\n",
                    r + 1, rd.run.rate, rd.run.alerts, rd.run.rss_mb,
                    rd.run.cpu_s, rd.base, rd.base_cpu, rd.replay,
                    rd.base > 0 ? rd.run.rate / rd.base : 0,
                    rd.run.rate > 0 ? rd.replay / rd.run.rate : 0);
        }
        pin_end();
    }
    if (wanted("rules30")) {
        /* the same corpus and rounds with the 30-rule set */
        pin_begin();
        for (int r = 0; r < opt.rounds30; r++) {
            struct round rd =
                one_round(r, mixed, opt.events, "rules30", rules30, 1, 0);
            add_round(pipe30, &rd);
            fprintf(stderr, "bench: 30-rule round %d: run %.0f events/s (%ld "
                            "alerts, %.1f MB, %.2f CPU s), baseline %.0f "
                            "events/s (%.2f CPU s); run/baseline %.3f\n",
                    r + 1, rd.run.rate, rd.run.alerts, rd.run.rss_mb,
                    rd.run.cpu_s, rd.base, rd.base_cpu,
                    rd.run.rate / rd.base);
        }
        pin_end();
    }
    if (wanted("memory")) {
        make_corpus("keys", keys, KEYS_EVENTS);
        make_corpus("tables", tables, KEYS_EVENTS);
        make_corpus("hostile", hostile, opt.events);
        for (int r = 0; r < opt.runs; r++) {
            struct run_result k = run_corpus(keys, KEYS_EVENTS, "keys", NULL);
            struct run_result t =
                run_corpus(tables, KEYS_EVENTS, "tables", NULL);
            struct run_result h =
                run_corpus(hostile, opt.events, "hostile", NULL);
            add(&all[S_RSS_KEYS], k.rss_mb);
            add(&all[S_RSS_TABLES], t.rss_mb);
            add(&all[S_RSS_HOSTILE], h.rss_mb);
            add(&all[S_HOSTILE_RATE], h.rate);
            fprintf(stderr, "bench: RSS %.1f MB at 10k tool x agent keys, "
                            "%.1f MB with every table full, %.1f MB with 1M "
                            "hostile keys (%.0f events/s)\n",
                    k.rss_mb, t.rss_mb, h.rss_mb, h.rate);
        }
    }
    if (wanted("memory30")) {
        /* every rule of the set at 10,000 groups; then, once, the same
         * corpus with no rules and with the rules of each kind alone: the
         * part of the RSS that each kind adds */
        make_corpus("groups", groups, GROUPS_EVENTS);
        for (int r = 0; r < opt.runs; r++) {
            struct run_result g =
                run_corpus(groups, GROUPS_EVENTS, "groups30", rules30);
            add(&all[S_RSS_GROUPS30], g.rss_mb);
            fprintf(stderr, "bench: RSS %.1f MB with 30 rules at 10k groups "
                            "each (%ld alerts)\n",
                    g.rss_mb, g.alerts);
        }
        add(&all[S_RSS_GROUPS0],
            run_corpus(groups, GROUPS_EVENTS, "groups0", "[]").rss_mb);
        for (int i = 0; i < rs.nkinds; i++) {
            struct series *s = &all[S_KIND0 + i];
            char *one = rule_set_json(&rs, rs.kind[i]);
            struct run_result g =
                run_corpus(groups, GROUPS_EVENTS, "groups1", one);
            snprintf(kind_key[i], sizeof kind_key[i],
                     "rss_mb_rules30_10k_groups_added_by_%s", rs.kind[i]);
            snprintf(kind_label[i], sizeof kind_label[i],
                     "  + %s (%d rule%s), MB", rs.kind[i], rs.nrules[i],
                     rs.nrules[i] > 1 ? "s" : "");
            s->key = kind_key[i];
            s->label = kind_label[i];
            s->unit = "MB";
            add(s, g.rss_mb - all[S_RSS_GROUPS0].v[0]);
            fprintf(stderr, "bench: RSS %.1f MB with the %s rules alone at "
                            "10k groups each\n",
                    g.rss_mb, rs.kind[i]);
            free(one);
        }
    }
    if (wanted("latency")) {
        for (int r = 0; r < opt.runs; r++) {
            double p50, p99;
            run_latency(&p50, &p99);
            add(&all[S_LAT50], p50);
            add(&all[S_LAT99], p99);
            fprintf(stderr, "bench: alert latency p50 %.2f ms, p99 %.2f ms\n",
                    p50, p99);
        }
    }
    if (wanted("startup")) {
        for (int r = 0; r < opt.runs; r++) {
            double t = run_startup();
            add(&all[S_STARTUP], t);
            fprintf(stderr, "bench: start-up %.1f ms\n", t);
        }
    }
    for (int i = 0; i < S_COUNT; i++) {
        summarise(&all[i]);
        judge(&all[i]);
    }
    print_table(all, S_COUNT);
    write_json(all, S_COUNT, machine);
    free(rules30);
    cJSON_Delete(rs.rules);
    return 0;
}
