/*
 * test_simulate.c - `toolwatch simulate` served to `toolwatch tail`: both
 * real binaries, over 127.0.0.1.
 *
 * Checks the simulator's contract: it prints its URL, serves every event
 * with consecutive ids, resumes after Last-Event-ID, ends after --total,
 * answers other methods with 405, and stops on SIGTERM with exit 0.  The
 * records it serves are checked byte for byte against the pure generator
 * (sim/gen.h) with the same options, for the rule kinds' scenarios too,
 * and so is the capture --output writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "consumer/decode.h"
#include "base/buf.h"
#include "sim/gen.h"
#include "tests/support/proc.h"

#define WAIT_MS 10000
#define LINE_MAX_BYTES (64 * 1024)
#define START "2026-03-10T00:00:00Z"

static const char *tw_bin(void)
{
    const char *b = getenv("TOOLWATCH_BIN");
    return b && *b ? b : "build/asan/toolwatch";
}

struct fx {
    struct proc *sim;
    char url[128];
};

static struct fx *start_sim(const char *const extra[])
{
    const char *argv[32] = {tw_bin(), "simulate", "--port", "0",
                            "--start-time", START, "--seed", "7"};
    struct fx *f = calloc(1, sizeof *f);
    int n = 8, len;

    assert_non_null(f);
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    f->sim = proc_spawn(argv, NULL);
    assert_non_null(f->sim);
    len = proc_read_line(f->sim, f->url, sizeof f->url, WAIT_MS);
    assert_true(len > 0);
    assert_true(strncmp(f->url, "http://127.0.0.1:", 17) == 0);
    return f;
}

/* The port of "http://127.0.0.1:<port>/stream". */
static long url_port(const char *url)
{
    return strtol(url + 17, NULL, 10);
}

static void stop_sim(struct fx *f)
{
    int status = -1;
    size_t elen;

    assert_int_equal(proc_signal(f->sim, SIGTERM), 0);
    assert_true(proc_wait_exit(f->sim, WAIT_MS, &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_null(strstr(proc_stderr_all(f->sim, &elen), "Sanitizer"));
    proc_destroy(f->sim);
    free(f);
}

/* The NDJSON line tail prints for event n of the generator. */
static void expected_line(const sim_gen *g, uint64_t n, buf *b)
{
    char rec[SIM_FRAME_MAX], id[32];
    size_t rl = sim_gen_record(g, n, rec, sizeof rec);
    const char *type = n % 2 ? (strstr(rec, "tool_call_error")
                                    ? "tool_call_error"
                                    : "tool_call_response")
                             : "tool_call_request";

    snprintf(id, sizeof id, "%llu", (unsigned long long)n);
    buf_reset(b);
    buf_append_str(b, "{\"id\":");
    buf_append_json_string(b, id, strlen(id));
    buf_append_str(b, ",\"event\":");
    buf_append_json_string(b, type, strlen(type));
    buf_append_str(b, ",\"data\":");
    buf_append_json_string(b, rec, rl);
    buf_append_str(b, "}");
}

static void make_gen_of(sim_gen *g, double rate, enum sim_scenario sc)
{
    struct sim_gen_options o;

    sim_gen_options_defaults(&o);
    o.seed = 7;
    o.rate = rate;
    o.scenario = sc;
    assert_int_equal(clock_parse_iso8601(START, strlen(START), &o.start_ms), 0);
    assert_int_equal(sim_gen_init(g, &o), SIM_OK);
}

static void make_gen(sim_gen *g, double rate)
{
    make_gen_of(g, rate, SIM_NORMAL);
}

static void test_total_unpaced_exact_bytes(void **state)
{
    const char *extra[] = {"--unpaced", "--total", "500", NULL};
    struct fx *f;
    struct proc *t;
    char *line = malloc(LINE_MAX_BYTES);
    sim_gen g;
    buf want;
    int status = -1;

    (void)state;
    f = start_sim(extra);
    make_gen(&g, 50);
    buf_init(&want, LINE_MAX_BYTES);
    t = proc_spawn((const char *const[]){tw_bin(), "tail", f->url, "--once",
                                         NULL},
                   NULL);
    for (uint64_t n = 0; n < 500; n++) {
        int len = proc_read_line(t, line, LINE_MAX_BYTES, WAIT_MS);
        expected_line(&g, n, &want);
        assert_int_equal(len, (int)want.len);
        assert_memory_equal(line, want.data, want.len);
    }
    assert_int_equal(proc_read_line(t, line, LINE_MAX_BYTES, WAIT_MS),
                     PROC_EOF);
    assert_true(proc_wait_exit(t, WAIT_MS, &status));
    assert_int_equal(WEXITSTATUS(status), 0);
    proc_destroy(t);
    buf_free(&want);
    free(line);
    stop_sim(f);
}

/* The scenarios of the rule kinds are served as the generator makes them,
 * under either spelling of their names: secret-then-egress's first phase
 * (20 s to 65 s at 50 events/s) is in the first 3300 events. */
static void test_rule_scenarios_served(void **state)
{
    static const struct {
        const char *name;
        enum sim_scenario sc;
    } cases[] = {
        {"secret_then_egress", SIM_SECRET_EGRESS},
        {"fan-out", SIM_FAN_OUT},
        {"mixed_rules", SIM_MIXED_RULES},
    };
    char *line = malloc(LINE_MAX_BYTES);
    buf want;

    (void)state;
    buf_init(&want, LINE_MAX_BYTES);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *extra[] = {"--scenario", cases[i].name, "--unpaced",
                               "--total", "3300", NULL};
        struct fx *f = start_sim(extra);
        struct proc *t;
        sim_gen g;
        uint64_t n = 0;
        int len;

        make_gen_of(&g, 50, cases[i].sc);
        t = proc_spawn((const char *const[]){tw_bin(), "tail", f->url,
                                             "--once", NULL},
                       NULL);
        while ((len = proc_read_line(t, line, LINE_MAX_BYTES, WAIT_MS)) >=
               0) {
            expected_line(&g, n++, &want);
            assert_int_equal(len, (int)want.len);
            assert_memory_equal(line, want.data, want.len);
        }
        assert_int_equal(len, PROC_EOF);
        assert_int_equal(n, 3300);
        proc_destroy(t);
        stop_sim(f);
    }
    buf_free(&want);
    free(line);
}

static void test_resume_after_last_event_id(void **state)
{
    const char *extra[] = {"--unpaced", "--total", "100", NULL};
    struct fx *f;
    struct proc *t;
    char *line = malloc(LINE_MAX_BYTES);
    sim_gen g;
    buf want;
    int count = 0, len;

    (void)state;
    f = start_sim(extra);
    make_gen(&g, 50);
    buf_init(&want, LINE_MAX_BYTES);
    t = proc_spawn((const char *const[]){tw_bin(), "tail", f->url, "--once",
                                         "--last-event-id", "41", NULL},
                   NULL);
    while ((len = proc_read_line(t, line, LINE_MAX_BYTES, WAIT_MS)) >= 0) {
        expected_line(&g, 42 + (uint64_t)count, &want);
        assert_int_equal(len, (int)want.len);
        assert_memory_equal(line, want.data, want.len);
        count++;
    }
    assert_int_equal(len, PROC_EOF);
    assert_int_equal(count, 100 - 42);
    proc_destroy(t);
    buf_free(&want);
    free(line);
    stop_sim(f);
}

static void test_paced_stream_is_live(void **state)
{
    const char *extra[] = {"--rate", "200", NULL};
    struct fx *f;
    struct proc *t;
    char line[LINE_MAX_BYTES];
    long prev = -1;

    (void)state;
    f = start_sim(extra);
    t = proc_spawn((const char *const[]){tw_bin(), "tail", f->url,
                                         "--max-events", "20", NULL},
                   NULL);
    /* ids are consecutive from wherever the live edge was */
    for (int i = 0; i < 20; i++) {
        assert_true(proc_read_line(t, line, sizeof line, WAIT_MS) > 0);
        assert_true(strncmp(line, "{\"id\":\"", 7) == 0);
        long id = strtol(line + 7, NULL, 10);
        if (prev >= 0)
            assert_int_equal(id, prev + 1);
        prev = id;
    }
    proc_destroy(t);
    stop_sim(f);
}

/* A raw request: anything but GET gets 405 with Allow: GET. */
static void test_post_is_405(void **state)
{
    const char *extra[] = {"--total", "10", NULL};
    static const char req[] = "POST /stream HTTP/1.1\r\nHost: t\r\n"
                              "Content-Length: 0\r\nConnection: close"
                              "\r\n\r\n";
    struct sockaddr_in a;
    char resp[1024];
    size_t got = 0;
    ssize_t n;
    struct fx *f;
    int fd;

    (void)state;
    f = start_sim(extra);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)url_port(f->url));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    while (got < sizeof resp - 1 &&
           (n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)n;
    resp[got] = '\0';
    close(fd);
    assert_true(strncmp(resp, "HTTP/1.1 405", 12) == 0);
    assert_non_null(strstr(resp, "Allow: GET\r\n"));
    stop_sim(f);
}

/* --output writes the first --total events as the server would send them
 * (the generator's frames, byte for byte) and exits 0 without listening. */
static void test_output_capture_exact_bytes(void **state)
{
    char path[] = "/tmp/tw_sim_capture_XXXXXX";
    char frame[SIM_FRAME_MAX];
    sim_gen g;
    buf want;
    FILE *f;
    char *got;
    long size;
    int fd, status = -1;
    struct proc *p;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    p = proc_spawn((const char *const[]){tw_bin(), "simulate", "--scenario",
                                         "fan-out", "--start-time", START,
                                         "--seed", "7", "--total", "300",
                                         "--output", path, NULL},
                   NULL);
    assert_true(proc_wait_exit(p, WAIT_MS, &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    proc_destroy(p);
    make_gen_of(&g, 50, SIM_FAN_OUT);
    buf_init(&want, 1024 * 1024);
    for (uint64_t n = 0; n < 300; n++) {
        size_t len = sim_gen_frame(&g, n, frame, sizeof frame);
        assert_int_equal(buf_append(&want, frame, len), 0);
    }
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_int_equal(size, (long)want.len);
    rewind(f);
    got = malloc((size_t)size);
    assert_non_null(got);
    assert_int_equal(fread(got, 1, (size_t)size, f), (size_t)size);
    assert_memory_equal(got, want.data, want.len);
    fclose(f);
    free(got);
    buf_free(&want);
    unlink(path);
}

static void test_usage_errors(void **state)
{
    static const char *const bad[][4] = {
        {"--output", "/tmp/tw_sim_never", NULL, NULL}, /* needs --total */
        {"--scenario", "chaos", NULL, NULL},
        {"--scenario", "fan_outs", NULL, NULL},
        {"--rate", "0", NULL, NULL},
        {"--start-time", "yesterday", NULL, NULL},
        {"--bogus", NULL, NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[8] = {tw_bin(), "simulate"};
        int status = -1;
        for (int k = 0; k < 4 && bad[i][k]; k++)
            argv[2 + k] = bad[i][k];
        struct proc *p = proc_spawn(argv, NULL);
        assert_true(proc_wait_exit(p, WAIT_MS, &status));
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 2);
        proc_destroy(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_unpaced_exact_bytes),
        cmocka_unit_test(test_rule_scenarios_served),
        cmocka_unit_test(test_resume_after_last_event_id),
        cmocka_unit_test(test_paced_stream_is_live),
        cmocka_unit_test(test_post_is_405),
        cmocka_unit_test(test_output_capture_exact_bytes),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
