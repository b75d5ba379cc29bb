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
 * The fleet.  20 agents (agent-01 .. agent-20) in four roles, agent a
 * having role (a - 1) % 4; each role uses its own 12 of the 48 everyday
 * tools (data: databases and storage; sales: http, crm, ticketing; dev:
 * ticketing, code, messaging, docs; ops: docs, billing, observability,
 * infrastructure), so that every tool has five callers and the same share
 * of the traffic.  An agent also reads its secret-store tool on a fixed
 * schedule (call c when c % 512 == 0, by agent (c / 512) % 20 + 1: every
 * 10240 calls per agent, about 9 times an hour at 50 events/s): data and
 * sales agents vault_read_secret, dev and ops agents get_api_credentials.
 * A session is one agent's run of 4000 calls of the fleet (about 200 of
 * its own); session ids are unique per (agent, run) for 1638 runs (72 h
 * at 50 events/s), so no two agents ever share one in normal traffic.
 * Normal traffic keeps every agent within its 13 tools, every session
 * within 13 distinct tools and one agent, every agent's spend near $9 an
 * hour at 50 events/s, every tool near 31 completed calls a minute, and no
 * agent silent for more than a few seconds.
 *
 * The timeline: normal traffic for a lead (quiet_ms, or the scenario's
 * warm-up when longer), then cycles of the scenario's anomaly phases, each
 * phase (phase_ms, or the anomaly's minimum when longer) followed by
 * quiet_ms of normal traffic.  `mixed` keeps its original shape: every
 * cycle starts with quiet_ms.
 *
 * Anomalies (agents and tools are fixed, so that a test or a reader can
 * name them):
 *   volume-spike      half the calls go to crm_search_contacts
 *   error-burst       5 % of calls go to postgres_query and fail
 *   slow-calls        5 % of calls go to http_fetch and take 6-9 s
 *   large-payload     2 % of calls read 2-5 MB from s3_get_object
 *   credential-spike  16 % of calls are agent-13's, over four secret tools
 *   stall             no events at all for the phase
 *   secret-then-egress  (phase at least 45 s) in session P0 (below)
 *                     agent-02 calls vault_read_secret at +1 s,
 *                     salesforce_query at +12 s, crm_search_contacts at
 *                     +25 s and http_post to downstream_system "external"
 *                     at +39 s.  Traps: agent-06 reads the vault in
 *                     session P1 at +5 s and posts externally in P2 at
 *                     +15 s (two sessions); agent-10 posts externally at
 *                     +20 s and reads the vault at +30 s in session P3
 *                     (wrong order).  Pk is "sess-%04x" of 0x8000 | ((4 i
 *                     + k) & 0x7fff), i the phase's occurrence (0, 1, ...):
 *                     normal session ids stay under 0x8000.
 *   new-tool          (warm-up 32 min) agent-05 calls
 *                     delete_customer_records, a tool no agent has used, at
 *                     +2 s, +6 s and +11 s of the phase
 *   shared-session    every call of agent-08 carries agent-04's current
 *                     session id (both are ops agents: same tools)
 *   fan-out           (phase at least 50 s) agent-11's first call of every
 *                     2 s slot goes to another tool: 25 distinct tools in
 *                     50 s, in its current session
 *   cost-runaway      agent-07, in a loop in its session: its first call
 *                     of every 100 ms slot (200 in a 20 s phase, eight
 *                     times its usual pace) consumes 80k-160k tokens at
 *                     $15 per million: about $360 in the phase
 *   rate-spike        (warm-up 32 min, for 30 one-minute buckets of
 *                     history) 9/47 of calls go to jira_search: ten times
 *                     its steady share
 *   dead-agent        (warm-up 5 min, phase at least 5 min) agent-17
 *                     makes no calls; the other data agents take them over
 *   mixed             the first six in turn, stall last
 *   mixed-rules       volume-spike .. credential-spike, then the seven
 *                     above, in turn (warm-up 32 min, no stall)
 *   demo              `toolwatch demo`'s stream: volume-spike ..
 *                     credential-spike, secret-then-egress, new-tool,
 *                     rate-spike and stall, in turn, at demo pace: no
 *                     warm-up beyond quiet_ms (the demo's rules learn in
 *                     seconds), the scripts played SIM_DEMO_PACE times
 *                     faster (the secret read at +0.2 s, the post at
 *                     +7.8 s; delete_customer_records at +0.4 s) and
 *                     their phase minimums divided alike, and each cycle
 *                     ending with 4 quiet_ms more of normal traffic, so
 *                     that the alerts of a cycle resolve before the next
 *                     begins
 *
 * Given the same parameters, the bytes are the same on every run, which is
 * what the golden tests and benchmarks rely on.  Producing one frame takes
 * about 11,000 instructions (1 to 2 us), nearly all of them formatting;
 * the anomalies add under 3 %.  Nothing is allocated or kept between
 * calls.
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
    SIM_SECRET_EGRESS,
    SIM_NEW_TOOL,
    SIM_SHARED_SESSION,
    SIM_FAN_OUT,
    SIM_COST_RUNAWAY,
    SIM_RATE_SPIKE,
    SIM_DEAD_AGENT,
    SIM_MIXED_RULES,
    SIM_DEMO,
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

#define SIM_PLAN_MAX 12 /* anomaly phases in one cycle */
#define SIM_DEMO_PACE 5  /* `demo` plays scripts this many times faster */

/* One phase of the cycle: private. */
struct sim_plan_phase {
    int64_t start_ms; /* from the start of the cycle */
    int64_t len_ms;
    enum sim_scenario what;
};

typedef struct sim_gen {
    struct sim_gen_options o; /* private */
    int64_t lead_ms;          /* private: normal traffic before cycle 0 */
    int64_t cycle_ms;         /* private */
    int64_t stall_at_ms;      /* private: stall phase in the cycle */
    int64_t stall_ms;         /* private: its length, 0 when none */
    int32_t pace;             /* private: scripts' speed-up, 1 or more */
    unsigned nphases;         /* private */
    struct sim_plan_phase phase[SIM_PLAN_MAX]; /* private */
} sim_gen;

#define SIM_FRAME_MAX 2048 /* bytes of one SSE frame, always enough */

enum { SIM_OK = 0, SIM_EINVAL = -1 };

void sim_gen_options_defaults(struct sim_gen_options *o);

int sim_gen_init(sim_gen *g, const struct sim_gen_options *o);

/* Milliseconds after start at which event n is due. */
int64_t sim_gen_due_ms(const sim_gen *g, uint64_t n);

/* The anomaly phase at `offset_ms` after start. */
sim_phase sim_gen_phase_at(const sim_gen *g, int64_t offset_ms);

/* Where the first phase of anomaly `what` starts, in ms after start, and
 * (when len_ms is not NULL) how long it lasts; -1 when the scenario has
 * no such phase.  Later occurrences follow every sim_gen_cycle_ms(). */
int64_t sim_gen_first_phase(const sim_gen *g, enum sim_scenario what,
                            int64_t *len_ms);

/* The length of one cycle of anomaly phases, in ms. */
int64_t sim_gen_cycle_ms(const sim_gen *g);

/* Write event n as an SSE frame ("id: n\nevent: <type>\ndata: {...}\n\n")
 * into out (at least SIM_FRAME_MAX bytes).  Returns its length. */
size_t sim_gen_frame(const sim_gen *g, uint64_t n, char *out, size_t size);

/* Write only the JSON record of event n (no SSE framing). */
size_t sim_gen_record(const sim_gen *g, uint64_t n, char *out, size_t size);

/* A scenario's name ("new-tool"), and back; parsing also takes '_' for
 * '-' ("new_tool").  sim_scenario_parse() returns -1 if unknown. */
const char *sim_scenario_name(enum sim_scenario s);
int sim_scenario_parse(const char *name);

#endif
