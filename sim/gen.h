/*
 * gen.h - the synthetic audit stream: a pure, deterministic function from
 * (seed, scenario, rate, start time, event index) to one SSE frame.
 *
 * The stream is a timeline.  Event n is "due" at start + t(n) and carries
 * that instant as its timestamp; the server sends every due event, so a
 * client that resumes with Last-Event-ID after an outage receives the
 * backlog at once, exactly as from a real audit service.  Calls come in
 * pairs: even n is the tool_call_request of call n/2, odd n its
 * tool_call_response (or tool_call_error).
 *
 * Scenarios inject one anomaly per phase; `mixed` runs each in turn with
 * quiet phases between.  Given the same parameters, the bytes are the same
 * on every run, which is what the golden tests and benchmarks rely on.
 */
#ifndef TW_SIM_GEN_H
#define TW_SIM_GEN_H

#include <stddef.h>
#include <stdint.h>

enum sim_scenario {
    SIM_NORMAL = 0,
    SIM_VOLUME_SPIKE,
    SIM_ERROR_BURST,
    SIM_SLOW_CALLS,
    SIM_LARGE_PAYLOAD,
    SIM_CREDENTIAL_SPIKE,
    SIM_STALL,
    SIM_MIXED,
    SIM_SCENARIO_COUNT
};

/* The anomaly active at a point of the timeline (SIM_NORMAL: none). */
typedef enum sim_scenario sim_phase;

struct sim_gen_options {
    uint64_t seed;
    enum sim_scenario scenario;
    double rate;          /* events per second of the timeline; > 0 */
    int64_t start_ms;     /* timestamp of event 0 (ms since the epoch) */
    uint32_t phase_ms;    /* length of an anomaly phase (default 20000) */
    uint32_t quiet_ms;    /* normal traffic before/between phases (20000) */
};

typedef struct sim_gen {
    struct sim_gen_options o; /* private */
} sim_gen;

#define SIM_FRAME_MAX 2048 /* bytes of one SSE frame, always enough */

enum { SIM_OK = 0, SIM_EINVAL = -1 };

void sim_gen_options_defaults(struct sim_gen_options *o);

int sim_gen_init(sim_gen *g, const struct sim_gen_options *o);

/* Milliseconds after start at which event n is due. */
int64_t sim_gen_due_ms(const sim_gen *g, uint64_t n);

/* The anomaly phase at `offset_ms` after start. */
sim_phase sim_gen_phase_at(const sim_gen *g, int64_t offset_ms);

/* Write event n as an SSE frame ("id: n\nevent: <type>\ndata: {...}\n\n")
 * into out (at least SIM_FRAME_MAX bytes).  Returns its length. */
size_t sim_gen_frame(const sim_gen *g, uint64_t n, char *out, size_t size);

/* Write only the JSON record of event n (no SSE framing). */
size_t sim_gen_record(const sim_gen *g, uint64_t n, char *out, size_t size);

const char *sim_scenario_name(enum sim_scenario s);
int sim_scenario_parse(const char *name); /* -1 if unknown */

#endif
