/*
 * gen.c - deterministic synthetic audit records.
 *
 * Every random choice for call c comes from a counter-based generator
 * (splitmix64 over seed and c), so event n can be produced in any order,
 * by any connection, with the same bytes.  The normal traffic is shaped to
 * stay under every default threshold at the default rate (50 events/s):
 * 48 everyday tools with the same share each (about 31 calls/min), 1 %
 * errors (at 2 %, six errors in 30 calls of a minute came by chance about
 * once an hour and `error_rate` fired), latencies under 3 s, payloads
 * under 200 kB, and secret-store reads about 9 times an hour per agent.
 * Up to about 100 events/s the normal traffic fires nothing; from about
 * 110 `volume` fires now and then, and at 150 on every tool.
 * The fleet's shape (roles, tool kits, sessions) is described in gen.h.
 *
 * An anomaly is decided per call from where the call falls on the
 * timeline, in one of three ways: a share of the phase's calls (u above a
 * cut), the first call of every time slot of the phase (a pace that does
 * not depend on the stream's rate), or a script of calls at fixed offsets
 * into the phase (each is the first call due at or after its offset,
 * which the previous call's due time tells; `demo` divides the offsets by
 * its pace).  None needs state, so a call stays a pure function of its
 * index.  When a stream is too slow for a script (two offsets falling to
 * one call, under about 2 events/s, or 10 at demo pace), the later step
 * is lost.
 */
#include "sim/gen.h"

#include "base/clock.h"
#include "model/event.h"

#include <stdio.h>
#include <string.h>

static const char *const tools[] = {
    "postgres_query",      "postgres_execute",      "mysql_query",
    "redis_get",           "redis_set",             "mongo_find",
    "elastic_search",      "snowflake_query",       "bigquery_run",
    "s3_get_object",       "s3_put_object",         "gcs_read",
    "http_fetch",          "http_post",             "graphql_query",
    "crm_search_contacts", "crm_update_deal",       "crm_create_lead",
    "salesforce_query",    "hubspot_get_company",   "zendesk_create_ticket",
    "zendesk_search",      "jira_create_issue",     "jira_search",
    "jira_transition",     "linear_create_issue",   "github_get_file",
    "github_create_pr",    "github_search_code",    "gitlab_pipeline_status",
    "slack_post_message",  "slack_search",          "email_send",
    "calendar_list_events", "docs_read",            "docs_write",
    "sheets_read",         "sheets_append",         "notion_query",
    "confluence_search",   "stripe_get_invoice",    "stripe_list_charges",
    "pagerduty_list_incidents", "datadog_query_metrics", "sentry_list_issues",
    "kubernetes_get_pods", "terraform_plan",        "weather_lookup",
};
#define N_TOOLS (sizeof tools / sizeof tools[0])

/* category of each tool above, by index range */
static const char *tool_category(size_t i)
{
    if (i < 9)
        return "database";
    if (i < 12)
        return "storage";
    if (i < 15)
        return "http";
    if (i < 20)
        return "crm";
    if (i < 26)
        return "ticketing";
    if (i < 30)
        return "code";
    if (i < 33)
        return "messaging";
    if (i < 40)
        return "docs";
    if (i < 42)
        return "billing";
    if (i < 45)
        return "observability";
    return "infrastructure";
}

static const char *const secret_tools[] = {
    "vault_read_secret", "get_api_credentials", "rotate_db_password",
    "oauth_refresh_token"};

#define N_AGENTS 20
#define N_ROLES 4
#define KIT 12               /* tools of a role: tools[role * KIT ..] */
#define SECRET_EVERY 512     /* a secret read every 512 calls of the fleet */
#define SESSION_CALLS 4000   /* calls of the fleet per session of an agent */
#define SESSION_MASK 0x7fffu /* normal session ids: 15 bits */
#define PLANTED 0x8000u      /* the bit of the planted sessions' ids */

/* Tools the anomalies name (indexes into tools[]). */
enum {
    T_POSTGRES_QUERY = 0,
    T_S3_GET_OBJECT = 9,
    T_HTTP_FETCH = 12,
    T_CRM_SEARCH_CONTACTS = 15,
    T_JIRA_SEARCH = 23,
};

/* Agents the anomalies name; see gen.h for their roles. */
enum {
    A_EGRESS = 2,       /* secret-then-egress: the real sequence */
    A_EGRESS_SPLIT = 6, /* its trap: the two calls in two sessions */
    A_EGRESS_ORDER = 10, /* its trap: the two calls in the wrong order */
    A_OWNER = 4,        /* shared-session: the session's own agent */
    A_INTRUDER = 8,     /* shared-session: the second agent */
    A_NEW_TOOL = 5,
    A_COST = 7,
    A_FAN_OUT = 11,
    A_SPIKE = 13,       /* credential-spike */
    A_DEAD = 17,
};

/* An agent's role, 0 to 3: data, sales, dev, ops. */
static int agent_role(int agent)
{
    return (agent - 1) % N_ROLES;
}

/* The k-th agent (k < 5) of a role. */
static int role_agent(int role, uint64_t k)
{
    return role + 1 + N_ROLES * (int)k;
}

static const char *const error_codes[] = {"E_TIMEOUT", "E_UPSTREAM_500",
                                          "E_PERMISSION", "E_RATE_LIMITED"};
static const char *const error_messages[] = {
    "upstream timed out after 30s",
    "upstream returned HTTP 500 for request 7731",
    "permission denied for user alice@example.com",
    "rate limited by downstream, retry later",
};

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A stream of random numbers for one call. */
struct rnd {
    uint64_t s;
};

static uint64_t rnd_next(struct rnd *r)
{
    r->s = splitmix(r->s);
    return r->s;
}

/* Uniform in [0, 1). */
static double rnd_unit(struct rnd *r)
{
    return (double)(rnd_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t rnd_range(struct rnd *r, uint64_t lo, uint64_t hi)
{
    return lo + rnd_next(r) % (hi - lo + 1);
}


/* Each scenario's name, and what its anomaly needs of the timeline. */
static const struct scen {
    const char *name;
    int32_t min_phase_s; /* the anomaly's shortest phase */
    int32_t warmup_s;    /* normal traffic it needs before the first */
} scen[SIM_SCENARIO_COUNT] = {
    [SIM_NORMAL] = {"normal", 0, 0},
    [SIM_VOLUME_SPIKE] = {"volume-spike", 0, 0},
    [SIM_ERROR_BURST] = {"error-burst", 0, 0},
    [SIM_SLOW_CALLS] = {"slow-calls", 0, 0},
    [SIM_LARGE_PAYLOAD] = {"large-payload", 0, 0},
    [SIM_CREDENTIAL_SPIKE] = {"credential-spike", 0, 0},
    [SIM_STALL] = {"stall", 0, 0},
    [SIM_MIXED] = {"mixed", 0, 0},
    /* the script runs to +39 s */
    [SIM_SECRET_EGRESS] = {"secret-then-egress", 45, 0},
    /* past a learn period of 30 min */
    [SIM_NEW_TOOL] = {"new-tool", 0, 1920},
    [SIM_SHARED_SESSION] = {"shared-session", 0, 0},
    /* 25 tools, one every 2 s */
    [SIM_FAN_OUT] = {"fan-out", 50, 0},
    [SIM_COST_RUNAWAY] = {"cost-runaway", 0, 0},
    /* 30 closed one-minute buckets after the first */
    [SIM_RATE_SPIKE] = {"rate-spike", 0, 1920},
    /* a steady history first, then a silence past a 2 min threshold */
    [SIM_DEAD_AGENT] = {"dead-agent", 300, 300},
    [SIM_MIXED_RULES] = {"mixed-rules", 0, 0},
    [SIM_DEMO] = {"demo", 0, 0},
};

/* Anomalies of the mixed scenario, in order; stall is last. */
static const enum sim_scenario mixed_order[] = {
    SIM_VOLUME_SPIKE, SIM_ERROR_BURST,      SIM_SLOW_CALLS,
    SIM_LARGE_PAYLOAD, SIM_CREDENTIAL_SPIKE, SIM_STALL};
#define N_MIXED (sizeof mixed_order / sizeof mixed_order[0])

/* Anomalies of mixed-rules, in order. */
static const enum sim_scenario rules_order[] = {
    SIM_VOLUME_SPIKE,   SIM_ERROR_BURST,  SIM_SLOW_CALLS,
    SIM_LARGE_PAYLOAD,  SIM_CREDENTIAL_SPIKE, SIM_SECRET_EGRESS,
    SIM_NEW_TOOL,       SIM_SHARED_SESSION, SIM_FAN_OUT,
    SIM_COST_RUNAWAY,   SIM_RATE_SPIKE,   SIM_DEAD_AGENT};
#define N_RULES_ORDER (sizeof rules_order / sizeof rules_order[0])

/* Anomalies of demo, in order: those of the default rules first (they
 * need no history), then those of the demo's sequence, new_value and
 * baseline rules (once these have learned), stall last. */
static const enum sim_scenario demo_order[] = {
    SIM_VOLUME_SPIKE,  SIM_ERROR_BURST,      SIM_SLOW_CALLS,
    SIM_LARGE_PAYLOAD, SIM_CREDENTIAL_SPIKE, SIM_SECRET_EGRESS,
    SIM_NEW_TOOL,      SIM_RATE_SPIKE,       SIM_STALL};
#define N_DEMO (sizeof demo_order / sizeof demo_order[0])

void sim_gen_options_defaults(struct sim_gen_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->scenario = SIM_NORMAL;
    o->rate = 50.0;
    o->start_ms = 1767225600000LL; /* 2026-01-01T00:00:00Z */
    o->phase_ms = 20000;
    o->quiet_ms = 20000;
}

/* Lay out the timeline: the lead, then the cycle's phases, each followed
 * by quiet_ms; `mixed` adds quiet_ms at the end of its cycle, so that
 * every cycle of it starts with quiet_ms as it always has, and `demo`
 * four times quiet_ms.  `demo` takes no warm-up from its anomalies and
 * divides their minimum phases by its pace. */
static void plan(sim_gen *g)
{
    const enum sim_scenario *list = &g->o.scenario;
    int64_t q = g->o.quiet_ms, off = 0, extra = 0;
    size_t n = 1;
    int warm = 1;

    g->pace = 1;
    if (g->o.scenario == SIM_NORMAL) {
        n = 0;
    } else if (g->o.scenario == SIM_MIXED) {
        list = mixed_order;
        n = N_MIXED;
        extra = q;
    } else if (g->o.scenario == SIM_MIXED_RULES) {
        list = rules_order;
        n = N_RULES_ORDER;
    } else if (g->o.scenario == SIM_DEMO) {
        list = demo_order;
        n = N_DEMO;
        extra = 4 * q;
        warm = 0;
        g->pace = SIM_DEMO_PACE;
    }
    g->lead_ms = q;
    g->stall_at_ms = 0;
    g->stall_ms = 0;
    for (size_t i = 0; i < n; i++) {
        const struct scen *s = &scen[list[i]];
        int64_t len = g->o.phase_ms;
        if (len < (int64_t)s->min_phase_s * 1000 / g->pace)
            len = (int64_t)s->min_phase_s * 1000 / g->pace;
        if (warm && g->lead_ms < (int64_t)s->warmup_s * 1000)
            g->lead_ms = (int64_t)s->warmup_s * 1000;
        g->phase[i].start_ms = off;
        g->phase[i].len_ms = len;
        g->phase[i].what = list[i];
        if (list[i] == SIM_STALL) {
            g->stall_at_ms = off;
            g->stall_ms = len;
        }
        off += len + q;
    }
    g->nphases = (unsigned)n;
    g->cycle_ms = n > 0 ? off + extra : q + g->o.phase_ms;
}

int sim_gen_init(sim_gen *g, const struct sim_gen_options *o)
{
    if (!(o->rate > 0.0) || o->rate > 1e7 || o->phase_ms == 0 ||
        o->quiet_ms == 0 || (unsigned)o->scenario >= SIM_SCENARIO_COUNT)
        return SIM_EINVAL;
    memset(g, 0, sizeof *g);
    g->o = *o;
    plan(g);
    return SIM_OK;
}

int64_t sim_gen_due_ms(const sim_gen *g, uint64_t n)
{
    /* active (non-stalled) time of event n, then skip the stall gaps */
    int64_t active = (int64_t)((double)n * 1000.0 / g->o.rate);
    int64_t a, live, k, r;

    if (g->stall_ms == 0 || active < g->lead_ms)
        return active;
    a = active - g->lead_ms;
    live = g->cycle_ms - g->stall_ms;
    k = a / live;
    r = a % live;
    return g->lead_ms + k * g->cycle_ms +
           (r < g->stall_at_ms ? r : r + g->stall_ms);
}

/* Where a call due at t falls: its phase (SIM_NORMAL outside one), the
 * phase's start and length, and which occurrence of it this is. */
struct where {
    sim_phase what;
    int64_t t;
    int64_t start;
    int64_t len;
    uint64_t nth;
};

static void locate(const sim_gen *g, int64_t t, struct where *w)
{
    int64_t r;

    w->what = SIM_NORMAL;
    w->t = t;
    w->start = 0;
    w->len = 0;
    w->nth = 0;
    if (t < g->lead_ms)
        return;
    r = (t - g->lead_ms) % g->cycle_ms;
    for (unsigned i = 0; i < g->nphases; i++) {
        const struct sim_plan_phase *p = &g->phase[i];
        if (r < p->start_ms)
            break;
        if (r < p->start_ms + p->len_ms) {
            w->what = p->what;
            w->start = t - (r - p->start_ms);
            w->len = p->len_ms;
            w->nth = (uint64_t)((t - g->lead_ms) / g->cycle_ms);
            return;
        }
    }
}

sim_phase sim_gen_phase_at(const sim_gen *g, int64_t offset_ms)
{
    struct where w;

    locate(g, offset_ms, &w);
    return w.what;
}

int64_t sim_gen_first_phase(const sim_gen *g, enum sim_scenario what,
                            int64_t *len_ms)
{
    for (unsigned i = 0; i < g->nphases; i++) {
        if (g->phase[i].what == what) {
            if (len_ms != NULL)
                *len_ms = g->phase[i].len_ms;
            return g->lead_ms + g->phase[i].start_ms;
        }
    }
    return -1;
}

int64_t sim_gen_cycle_ms(const sim_gen *g)
{
    return g->cycle_ms;
}

/* One planted call of a script, at `at_ms` into its phase. */
struct step {
    int32_t at_ms;
    int8_t agent;
    int8_t session;          /* planted session P0..P3; -1: the agent's */
    const char *tool;
    const char *category;
    const char *downstream;  /* NULL: the tool's own, internal */
    const char *endpoint;    /* NULL: https://<downstream>.internal/api */
};

#define EXTERNAL "external", "https://paste.example.net/api/v1/documents"

static const struct step egress_script[] = {
    {1000, A_EGRESS, 0, "vault_read_secret", "secrets", NULL, NULL},
    {5000, A_EGRESS_SPLIT, 1, "vault_read_secret", "secrets", NULL, NULL},
    {12000, A_EGRESS, 0, "salesforce_query", "crm", NULL, NULL},
    {15000, A_EGRESS_SPLIT, 2, "http_post", "http", EXTERNAL},
    {20000, A_EGRESS_ORDER, 3, "http_post", "http", EXTERNAL},
    {25000, A_EGRESS, 0, "crm_search_contacts", "crm", NULL, NULL},
    {30000, A_EGRESS_ORDER, 3, "vault_read_secret", "secrets", NULL, NULL},
    {39000, A_EGRESS, 0, "http_post", "http", EXTERNAL},
};

static const struct step new_tool_script[] = {
    {2000, A_NEW_TOOL, -1, "delete_customer_records", "crm", "crm", NULL},
    {6000, A_NEW_TOOL, -1, "delete_customer_records", "crm", "crm", NULL},
    {11000, A_NEW_TOOL, -1, "delete_customer_records", "crm", "crm", NULL},
};

struct call {
    const char *tool;
    const char *category;
    const char *downstream; /* NULL: the tool's prefix */
    const char *endpoint;   /* NULL: https://<prefix>.internal/api */
    int agent;
    int session_agent;      /* whose session the call is in */
    int planted;            /* planted session P0..P3, or -1 */
    unsigned session;
    int error;
    int code;
    uint64_t payload;
    double duration;
    uint64_t tokens;
    double cost;
};

static void set_tool(struct call *k, size_t t)
{
    k->tool = tools[t];
    k->category = tool_category(t);
}

/* Send call k to tool t, made by one of the agents whose tool it is. */
static void use_tool(struct call *k, size_t t, struct rnd *r)
{
    set_tool(k, t);
    k->agent = role_agent((int)(t / KIT), rnd_next(r) % 5);
}

/* The due time of the call before c (before the timeline: INT64_MIN). */
static int64_t prev_due(const sim_gen *g, uint64_t c)
{
    return c == 0 ? INT64_MIN : sim_gen_due_ms(g, c * 2 - 2);
}

/* The slot (of slot_ms from the phase's start) whose first call c is, or
 * -1 when an earlier call of the phase is in the same slot. */
static int64_t slot_first(const struct where *w, int64_t prev,
                          int64_t slot_ms)
{
    int64_t s = (w->t - w->start) / slot_ms;

    return prev < w->start + s * slot_ms ? s : -1;
}

/* Play the step of a script that call c is, if any, at `pace` times the
 * script's speed. */
static void play(const struct step *steps, size_t n, int32_t pace,
                 const struct where *w, int64_t prev, struct call *k)
{
    for (size_t i = 0; i < n; i++) {
        int64_t at = w->start + steps[i].at_ms / pace;
        if (w->t >= at && prev < at) {
            k->agent = steps[i].agent;
            k->planted = steps[i].session;
            k->tool = steps[i].tool;
            k->category = steps[i].category;
            k->downstream = steps[i].downstream;
            k->endpoint = steps[i].endpoint;
            k->error = 0;
            return;
        }
    }
}

/* Session ids: a bijection of 15 bits over (run of the fleet, agent), so
 * that ids repeat only after 32768 / N_AGENTS runs. */
static unsigned session_id(int agent, uint64_t c)
{
    uint32_t x = (uint32_t)(((c / SESSION_CALLS) * N_AGENTS +
                             (uint64_t)(agent - 1)) & SESSION_MASK);

    x = ((x ^ 0x51edu) * 0x6a5du) & SESSION_MASK;
    x ^= x >> 7;
    x = (x * 0x2c1bu) & SESSION_MASK;
    x ^= x >> 8;
    return x;
}

static void make_call(const sim_gen *g, uint64_t c, const struct where *w,
                      struct call *k)
{
    struct rnd r = {splitmix(g->o.seed * 0x2545f4914f6cdd1dull ^ c)};
    double u = rnd_unit(&r), v = rnd_unit(&r);
    int64_t s;

    k->agent = (int)(rnd_next(&r) % N_AGENTS) + 1;
    set_tool(k, (size_t)agent_role(k->agent) * KIT +
                    (size_t)(rnd_next(&r) % KIT));
    if (c % SECRET_EVERY == 0) {
        k->agent = (int)((c / SECRET_EVERY) % N_AGENTS) + 1;
        k->tool = secret_tools[agent_role(k->agent) / 2];
        k->category = "secrets";
    }
    k->downstream = NULL;
    k->endpoint = NULL;
    k->session_agent = 0;
    k->planted = -1;
    k->error = v < 0.01;
    k->code = (int)(rnd_next(&r) % 4);
    k->duration = (double)rnd_range(&r, 20000, 900000) / 1000.0;
    if (rnd_unit(&r) < 0.05)
        k->duration = (double)rnd_range(&r, 900000, 3000000) / 1000.0;
    k->payload = rnd_range(&r, 200, 50000);
    if (rnd_unit(&r) < 0.05)
        k->payload = rnd_range(&r, 50000, 200000);
    k->tokens = rnd_range(&r, 50, 2000);
    k->cost = (double)k->tokens * 0.000002;

    switch (w->what) {
    case SIM_VOLUME_SPIKE:
        if (u >= 0.5)
            use_tool(k, T_CRM_SEARCH_CONTACTS, &r);
        break;
    case SIM_ERROR_BURST:
        /* 5 % of calls, all failing: over a 60 s window holding the
         * 20 s phase, about 56 calls of which 46 % errors, under the
         * volume threshold */
        if (u >= 0.95) {
            use_tool(k, T_POSTGRES_QUERY, &r);
            k->error = 1;
        }
        break;
    case SIM_SLOW_CALLS:
        if (u >= 0.95) {
            use_tool(k, T_HTTP_FETCH, &r);
            k->duration = (double)rnd_range(&r, 6000000, 9000000) / 1000.0;
        }
        break;
    case SIM_LARGE_PAYLOAD:
        if (u >= 0.98) {
            use_tool(k, T_S3_GET_OBJECT, &r);
            k->payload = rnd_range(&r, 2000000, 5000000);
        }
        break;
    case SIM_CREDENTIAL_SPIKE:
        /* 16 % of calls (about 80 in a 20 s phase), spread over four
         * secret-store tools so that none reaches the volume threshold */
        if (u >= 0.84) {
            k->tool = secret_tools[c % 4];
            k->category = "secrets";
            k->agent = A_SPIKE;
        }
        break;
    case SIM_SECRET_EGRESS:
        play(egress_script, sizeof egress_script / sizeof egress_script[0],
             g->pace, w, prev_due(g, c), k);
        break;
    case SIM_NEW_TOOL:
        play(new_tool_script,
             sizeof new_tool_script / sizeof new_tool_script[0], g->pace,
             w, prev_due(g, c), k);
        break;
    case SIM_SHARED_SESSION:
        if (k->agent == A_INTRUDER)
            k->session_agent = A_OWNER;
        break;
    case SIM_FAN_OUT:
        /* one tool after another, 25 distinct (5 is prime to 48) */
        if ((s = slot_first(w, prev_due(g, c), 2000)) >= 0) {
            k->agent = A_FAN_OUT;
            set_tool(k, (size_t)(KIT * 2 + 5 * (s % 25)) % N_TOOLS);
            k->error = 0;
        }
        break;
    case SIM_COST_RUNAWAY:
        if (slot_first(w, prev_due(g, c), 100) >= 0) {
            k->agent = A_COST;
            set_tool(k, (size_t)agent_role(A_COST) * KIT +
                            (size_t)(rnd_next(&r) % KIT));
            k->tokens = rnd_range(&r, 80000, 160000);
            k->cost = (double)k->tokens * 0.000015;
        }
        break;
    case SIM_RATE_SPIKE:
        /* share 9/47 + (38/47)/48 = 10/48: ten times the steady 1/48 */
        if (u >= 38.0 / 47.0)
            use_tool(k, T_JIRA_SEARCH, &r);
        break;
    case SIM_DEAD_AGENT:
        if (k->agent == A_DEAD)
            k->agent = role_agent(agent_role(A_DEAD), rnd_next(&r) % 4);
        break;
    default:
        break;
    }
    if (k->planted >= 0)
        k->session = PLANTED | (unsigned)((w->nth * 4 +
                                            (uint64_t)k->planted) &
                                           SESSION_MASK);
    else
        k->session = session_id(k->session_agent ? k->session_agent
                                                 : k->agent, c);
}

size_t sim_gen_record(const sim_gen *g, uint64_t n, char *out, size_t size)
{
    int64_t due = sim_gen_due_ms(g, n);
    uint64_t c = n / 2;
    struct where w;
    struct call k;
    char ts[32];
    uint64_t h[4];
    int len;

    locate(g, n % 2 ? sim_gen_due_ms(g, c * 2) : due, &w);
    make_call(g, c, &w, &k);
    if (clock_format_iso8601(g->o.start_ms + due, ts, sizeof ts) < 0)
        ts[0] = '\0';
    for (int i = 0; i < 4; i++)
        h[i] = splitmix(g->o.seed ^ (c * 4 + (uint64_t)i + 0x51ed));
    if (n % 2 == 0) {
        len = snprintf(
            out, size,
            "{\"record_id\":\"rec-%llu-%llu\",\"timestamp\":\"%s\","
            "\"event_type\":\"tool_call_request\",\"session_id\":"
            "\"sess-%04x\",\"agent_id\":\"agent-%02d\",\"tool_name\":\"%s\","
            "\"tool_category\":\"%s\",\"response_status\":\"pending\","
            "\"correlation_id\":\"corr-%llx\",\"request_payload_sha256\":"
            "\"%016llx%016llx%016llx%016llx\",\"metadata\":{\"sim\":true}}",
            (unsigned long long)g->o.seed, (unsigned long long)n, ts,
            k.session, k.agent, k.tool, k.category, (unsigned long long)c,
            (unsigned long long)h[0], (unsigned long long)h[1],
            (unsigned long long)h[2], (unsigned long long)h[3]);
    } else {
        const char *ds = k.downstream ? k.downstream : k.tool;
        int dl = (int)(k.downstream ? strlen(ds) : strcspn(ds, "_"));
        char err[160];

        if (k.error)
            snprintf(err, sizeof err,
                     "\"error_code\":\"%s\",\"error_message\":\"%s\"",
                     error_codes[k.code], error_messages[k.code]);
        else
            snprintf(err, sizeof err,
                     "\"error_code\":null,\"error_message\":null");
        len = snprintf(
            out, size,
            "{\"record_id\":\"rec-%llu-%llu\",\"timestamp\":\"%s\","
            "\"event_type\":\"%s\",\"session_id\":\"sess-%04x\","
            "\"agent_id\":\"agent-%02d\",\"tool_name\":\"%s\","
            "\"tool_category\":\"%s\",\"response_status\":\"%s\","
            "\"response_payload_size_bytes\":%llu,"
            "\"execution_duration_ms\":%.3f,\"tokens_consumed\":%llu,"
            "\"cost_usd\":%.6f,%s,\"downstream_system\":\"%.*s\","
            "\"downstream_endpoint\":\"%s%.*s%s\","
            "\"correlation_id\":\"corr-%llx\"}",
            (unsigned long long)g->o.seed, (unsigned long long)n, ts,
            k.error ? "tool_call_error" : "tool_call_response", k.session,
            k.agent, k.tool, k.category, k.error ? "error" : "success",
            (unsigned long long)(k.error ? 0 : k.payload), k.duration,
            (unsigned long long)k.tokens, k.cost, err, dl, ds,
            k.endpoint ? k.endpoint : "https://", k.endpoint ? 0 : dl, ds,
            k.endpoint ? "" : ".internal/api", (unsigned long long)c);
    }
    if (len < 0)
        return 0;
    return (size_t)len < size ? (size_t)len : size - 1;
}

size_t sim_gen_frame(const sim_gen *g, uint64_t n, char *out, size_t size)
{
    char rec[SIM_FRAME_MAX];
    size_t rl = sim_gen_record(g, n, rec, sizeof rec);
    const char *type = strstr(rec, "\"event_type\":\"");
    int tl = 0, len;

    if (type != NULL) {
        type += 14;
        tl = (int)strcspn(type, "\"");
    }
    len = snprintf(out, size, "id: %llu\nevent: %.*s\ndata: %.*s\n\n",
                   (unsigned long long)n, tl, type ? type : "", (int)rl, rec);
    if (len < 0)
        return 0;
    return (size_t)len < size ? (size_t)len : size - 1;
}

const char *sim_scenario_name(enum sim_scenario s)
{
    return (unsigned)s < SIM_SCENARIO_COUNT ? scen[s].name : "unknown";
}

int sim_scenario_parse(const char *name)
{
    for (int i = 0; i < SIM_SCENARIO_COUNT; i++) {
        const char *a = name, *b = scen[i].name;
        while (*a != '\0' && (*a == *b || (*a == '_' && *b == '-'))) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return i;
    }
    return -1;
}
