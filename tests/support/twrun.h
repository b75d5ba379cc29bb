/*
 * twrun.h - the real toolwatch binary as a child of an integration test:
 * a per-test fixture that ends whatever the test started, a directory with
 * a generated config.json and a state/ beside it, `toolwatch run` and
 * `toolwatch simulate` started, stopped (SIGTERM, exit 0) or killed (-9)
 * with their stderr checked for sanitizer reports, a scripted audit
 * stream and its tool-call events, the status server polled, and the
 * webhook signatures a receiver recorded checked.
 *
 * Why: test_run.c and test_faults.c drive the binary the same way; the
 * way it is started, waited for and judged is written once here.
 *
 * Invariants:
 *  - no cmocka in here (bench/soak.c links every tests/support source
 *    without it): a check that fails prints what went wrong, with the
 *    child's stderr when there is one, on stderr and returns false, NULL
 *    or -1; the test asserts on that (assert_true(twr_stop("run", p)));
 *  - every wait has a deadline; nothing sleeps to wait for something it
 *    can wait on, except the status server, polled every TWR_POLL_MS;
 *  - whatever twr_fx_* registered is ended by twr_teardown even when an
 *    assertion jumped out of the test: children killed (SIGKILL) and
 *    reaped, receivers and stream servers stopped, file systems detached,
 *    directories removed;
 *  - one thread: none of this is thread-safe.
 */
#ifndef TW_TESTS_TWRUN_H
#define TW_TESTS_TWRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tests/support/httpget.h"
#include "tests/support/proc.h"
#include "tests/support/receiver.h"
#include "tests/support/sse_server.h"

#define TWR_START_WAIT_MS 10000 /* a child is up and has logged its start */
#define TWR_EXIT_WAIT_MS 10000  /* SIGTERM: the drain is bounded at 5 s */
#define TWR_POLL_MS 100         /* status server polling interval */

/* ------------------------------ fixture ------------------------------ */

/* Everything a test started, for twr_teardown to end. */
struct twr_fx {
    struct proc *procs[64];
    size_t nprocs;
    struct rcv *rcvs[8];
    size_t nrcvs;
    struct tsrv *srvs[4];
    size_t nsrvs;
    char dirs[8][64];
    size_t ndirs;
    char mounts[2][128];
    size_t nmounts;
};

/* cmocka fixtures (CMFixtureFunction): *state becomes a new struct twr_fx,
 * ended and freed by twr_teardown, which returns -1 when a mount or a
 * directory could not be removed. */
int twr_setup(void **state);
int twr_teardown(void **state);

/* cmocka group fixtures: curl_global_init / curl_global_cleanup (hget). */
int twr_group_setup(void **state);
int twr_group_teardown(void **state);

/* Register p (the fixture owns it from here).  Returns p; NULL when p is
 * NULL or the fixture is full (then p is destroyed). */
struct proc *twr_fx_proc(struct twr_fx *f, struct proc *p);

/* A receiver / a stream server owned by the fixture, or NULL. */
struct rcv *twr_fx_rcv(struct twr_fx *f);
struct tsrv *twr_fx_tsrv(struct twr_fx *f);

/* A stream server owned by the fixture, its URL (path /events) in
 * url[cap].  When frames is not NULL its first connection is answered
 * 200 with frames and then kept open (TSRV_HANG).  NULL on failure. */
struct tsrv *twr_fx_stream(struct twr_fx *f, const char *frames, char *url,
                           size_t cap);

/* The test mounted a file system on path: detach it at teardown, before
 * the directories are removed.  Returns 0, or -1 when the fixture is
 * full. */
int twr_fx_mount(struct twr_fx *f, const char *path);

/* ------------------------------ children ----------------------------- */

/* TOOLWATCH_BIN, else build/asan/toolwatch. */
const char *twr_bin(void);

/* The whole of p's stderr on stderr, framed, headed with what. */
void twr_dump_stderr(const char *what, const struct proc *p);

/* false (after a dump) if p's stderr holds an ASan, LSan or UBSan
 * report. */
bool twr_sanitizers_clean(const char *what, struct proc *p);

/* SIGTERM: true when p exits 0 within TWR_EXIT_WAIT_MS with no sanitizer
 * report.  With ITEST_VERBOSE set its stderr is printed either way.  Its
 * output stays readable (the fixture frees it). */
bool twr_stop(const char *what, struct proc *p);

/* kill -9 and reap: true when p died of that signal (not of anything
 * before) with no sanitizer report. */
bool twr_kill9(const char *what, struct proc *p);

/* The bytes of stderr captured so far (a `from` for twr_stderr_after). */
size_t twr_stderr_len(const struct proc *p);

/* Wait until needle occurs on p's stderr at or after byte `from`; false
 * (after a dump) when it does not within timeout_ms. */
bool twr_stderr_after(const char *what, struct proc *p, size_t from,
                      const char *needle, int timeout_ms);

/* `toolwatch run -c cfg` with the environment changes env (may be NULL,
 * see proc_spawn), registered in f; waits for its " running: " line and,
 * when status_port is not NULL, reads the status server's port from its
 * "status on http://127.0.0.1:PORT/status" line.  NULL (after a dump) when
 * it did not start. */
struct proc *twr_start_run(struct twr_fx *f, const char *cfg,
                           const char *const env[], unsigned *status_port);

/* `toolwatch simulate --port <port> extra...` (extra NULL-terminated, may
 * be NULL; port 0: any), registered in f; the URL it prints goes to
 * url[cap].  NULL (after a dump) when it printed none. */
struct proc *twr_start_sim(struct twr_fx *f, const char *const extra[],
                           unsigned port, char *url, size_t cap);

/* The port of "http://127.0.0.1:PORT/...". */
unsigned twr_url_port(const char *url);

/* Sleep ms milliseconds, through signals. */
void twr_pause_ms(long ms);

/* ------------------------------- files ------------------------------- */

/* A test's directory, removed at teardown: the configuration and the
 * state directory (not created) live in it. */
struct twr_dir {
    char path[64];  /* /tmp/tw-<tag>-XXXXXX */
    char cfg[128];  /* path/config.json */
    char state[128]; /* path/state */
};

/* mkdtemp /tmp/tw-<tag>-XXXXXX (tag at most 16 bytes) into d, registered
 * in f.  Returns 0, or -1. */
int twr_dir_make(struct twr_fx *f, struct twr_dir *d, const char *tag);

/* Write data into path (created or truncated).  Returns 0 or -1. */
int twr_write_file(const char *path, const char *data);

/* The same with a printf format (a configuration; at most 16 KiB). */
int twr_write_config(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------- the status server ------------------------- */

/* Poll GET path every TWR_POLL_MS until it answers `want` with `needle`
 * (may be NULL) in its body; false on timeout (b then holds the last
 * answer). */
bool twr_wait_http(unsigned port, const char *path, long want,
                   const char *needle, int timeout_ms, struct hget_body *b);

/* GET /status, parsed (the caller deletes it); NULL (said on stderr) when
 * it is not a 200 with a JSON body. */
cJSON *twr_status(unsigned port);

/* Accessors for documents the service wrote.  twr_jstr: the string member,
 * or NULL (absent is an answer).  twr_jobj: the member, or NULL; twr_jnum:
 * the number, or NAN (which no comparison accepts); both say on stderr
 * when the member is missing or not a number, as these are members the
 * service must write.  o may be NULL. */
const char *twr_jstr(const cJSON *o, const char *name);
const cJSON *twr_jobj(const cJSON *o, const char *name);
double twr_jnum(const cJSON *o, const char *name);

/* strcmp() == 0, where a missing string (NULL) equals nothing. */
bool twr_streq(const char *a, const char *b);

/* /status .sinks[0].<field> (configurations with one sink); -1 before the
 * service's first snapshot lists the sink. */
double twr_sink0(const cJSON *st, const char *field);

/* /status .sinks[name=sink].<field> and .rules[name=rule].<field>; -1
 * when not listed (before the first snapshot, or not configured). */
double twr_sink(const cJSON *st, const char *sink, const char *field);
double twr_detector(const cJSON *st, const char *det, const char *field);

/* Poll /status until .sinks[0].<field> == want; false (after a dump of
 * run's stderr) when it is not within timeout_ms. */
bool twr_wait_sink0(unsigned port, const char *field, double want,
                    int timeout_ms, struct proc *run);

/* ---------------------------- audit events --------------------------- */

/* The members of a configuration's "detectors" object that leave only the
 * latency detector on (per call, one episode per tool). */
#define TWR_ONLY_LATENCY                                                   \
    "\"volume\": {\"enabled\": false},"                                    \
    " \"error_rate\": {\"enabled\": false},"                               \
    " \"payload_size\": {\"enabled\": false},"                             \
    " \"credential_access\": {\"enabled\": false},"                        \
    " \"stream_stalled\": {\"enabled\": false}"


/* One completed tool call, as the audit stream sends it. */
struct twr_call {
    const char *id;    /* the SSE id */
    const char *rec;   /* record_id */
    const char *tool;  /* tool_name */
    const char *agent; /* agent_id */
    int64_t ts_ms;     /* timestamp, wall clock milliseconds */
    double dur_ms;     /* execution_duration_ms */
    long long payload; /* response_payload_size_bytes */
    const char *session; /* session_id (NULL: "sess-1") */
    bool error;        /* a tool_call_error (response_status error) */
};

/* Append c to out (NUL-terminated, cap bytes in all) as an SSE frame of a
 * successful tool_call_response (c->error: a tool_call_error).  false when
 * it does not fit (out is then unchanged). */
bool twr_add_call(char *out, size_t cap, const struct twr_call *c);

/* ----------------------------- the receiver -------------------------- */

/* Every request r recorded is a POST of application/json with a valid
 * Standard Webhooks signature under `secret`, stamped within the last 5
 * minutes.  false (the first bad request said on stderr) otherwise. */
bool twr_all_signed(struct rcv *r, const char *secret);

#endif
