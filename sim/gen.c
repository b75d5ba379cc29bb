/*
 * gen.c - deterministic synthetic audit records.
 *
 * Every random choice for call c comes from a counter-based generator
 * (splitmix64 over seed and c), so event n can be produced in any order,
 * by any connection, with the same bytes.  The normal traffic is shaped to
 * stay under every default threshold at the default rate (50 events/s):
 * 48 everyday tools chosen uniformly (about 31 calls/min each), 2 % errors,
 * latencies under 3 s, payloads under 200 kB, and secret-store tools at
 * 0.1 % each (about 9 calls/hour per agent).  Up to about 160 events/s the
 * normal traffic fires nothing; above that `volume` fires on every tool.
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
#define SPIKE_AGENT 13

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

int sim_gen_init(sim_gen *g, const struct sim_gen_options *o)
{
    if (!(o->rate > 0.0) || o->rate > 1e7 || o->phase_ms == 0 ||
        o->quiet_ms == 0 || (unsigned)o->scenario >= SIM_SCENARIO_COUNT)
        return SIM_EINVAL;
    g->o = *o;
    return SIM_OK;
}

/* Anomalies of the mixed scenario, in order; stall is last. */
static const enum sim_scenario mixed_order[] = {
    SIM_VOLUME_SPIKE, SIM_ERROR_BURST,      SIM_SLOW_CALLS,
    SIM_LARGE_PAYLOAD, SIM_CREDENTIAL_SPIKE, SIM_STALL};
#define N_MIXED (sizeof mixed_order / sizeof mixed_order[0])

static int64_t cycle_ms(const sim_gen *g)
{
    int64_t p = g->o.phase_ms, q = g->o.quiet_ms;

    if (g->o.scenario == SIM_MIXED)
        return q + (int64_t)N_MIXED * (p + q);
    return q + p;
}

/* Where the stall phase starts inside a cycle, or -1 if none. */
static int64_t stall_start(const sim_gen *g)
{
    int64_t p = g->o.phase_ms, q = g->o.quiet_ms;

    if (g->o.scenario == SIM_STALL)
        return q;
    if (g->o.scenario == SIM_MIXED)
        return q + (int64_t)(N_MIXED - 1) * (p + q);
    return -1;
}

int64_t sim_gen_due_ms(const sim_gen *g, uint64_t n)
{
    /* active (non-stalled) time of event n, then skip the stall gaps */
    int64_t active = (int64_t)((double)n * 1000.0 / g->o.rate);
    int64_t cyc = cycle_ms(g), s = stall_start(g), live, k, r;

    if (s < 0)
        return active;
    live = cyc - g->o.phase_ms;
    k = active / live;
    r = active % live;
    return k * cyc + (r < s ? r : r + g->o.phase_ms);
}

sim_phase sim_gen_phase_at(const sim_gen *g, int64_t offset_ms)
{
    int64_t p = g->o.phase_ms, q = g->o.quiet_ms;
    int64_t r = offset_ms % cycle_ms(g);

    if (g->o.scenario == SIM_NORMAL || r < q)
        return SIM_NORMAL;
    r -= q;
    if (g->o.scenario != SIM_MIXED)
        return g->o.scenario;
    if (r % (p + q) >= p)
        return SIM_NORMAL;
    return mixed_order[r / (p + q)];
}

struct call {
    const char *tool;
    const char *category;
    int agent;
    unsigned session;
    int error;
    int code;
    uint64_t payload;
    double duration;
    uint64_t tokens;
};

static void make_call(const sim_gen *g, uint64_t c, sim_phase ph,
                      struct call *k)
{
    struct rnd r = {splitmix(g->o.seed * 0x2545f4914f6cdd1dull ^ c)};
    double u = rnd_unit(&r), v = rnd_unit(&r);
    size_t t = (size_t)(rnd_next(&r) % N_TOOLS);

    k->tool = tools[t];
    k->category = tool_category(t);
    if (u < 0.002) {
        k->tool = secret_tools[u < 0.001 ? 0 : 1];
        k->category = "secrets";
    }
    k->agent = (int)(rnd_next(&r) % N_AGENTS) + 1;
    k->error = v < 0.02;
    k->code = (int)(rnd_next(&r) % 4);
    k->duration = (double)rnd_range(&r, 20000, 900000) / 1000.0;
    if (rnd_unit(&r) < 0.05)
        k->duration = (double)rnd_range(&r, 900000, 3000000) / 1000.0;
    k->payload = rnd_range(&r, 200, 50000);
    if (rnd_unit(&r) < 0.05)
        k->payload = rnd_range(&r, 50000, 200000);
    k->tokens = rnd_range(&r, 50, 2000);

    switch (ph) {
    case SIM_VOLUME_SPIKE:
        if (u >= 0.5) {
            k->tool = "crm_search_contacts";
            k->category = "crm";
        }
        break;
    case SIM_ERROR_BURST:
        /* 5 % of calls, all failing: over a 60 s window holding the
         * 20 s phase, about 56 calls of which 46 % errors, under the
         * volume threshold */
        if (u >= 0.95) {
            k->tool = "postgres_query";
            k->category = "database";
            k->error = 1;
        }
        break;
    case SIM_SLOW_CALLS:
        if (u >= 0.95) {
            k->tool = "http_fetch";
            k->category = "http";
            k->duration = (double)rnd_range(&r, 6000000, 9000000) / 1000.0;
        }
        break;
    case SIM_LARGE_PAYLOAD:
        if (u >= 0.98) {
            k->tool = "s3_get_object";
            k->category = "storage";
            k->payload = rnd_range(&r, 2000000, 5000000);
        }
        break;
    case SIM_CREDENTIAL_SPIKE:
        /* 16 % of calls (about 80 in a 20 s phase), spread over four
         * secret-store tools so that none reaches the volume threshold */
        if (u >= 0.84) {
            k->tool = secret_tools[c % 4];
            k->category = "secrets";
            k->agent = SPIKE_AGENT;
        }
        break;
    default:
        break;
    }
    /* a session is one agent's run of about 200 calls */
    k->session = (unsigned)(splitmix((uint64_t)k->agent ^ (c / 4000)) &
                            0xffff);
}

size_t sim_gen_record(const sim_gen *g, uint64_t n, char *out, size_t size)
{
    int64_t due = sim_gen_due_ms(g, n);
    uint64_t c = n / 2;
    struct call k;
    char ts[32];
    uint64_t h[4];
    int len;

    make_call(g, c, sim_gen_phase_at(g, sim_gen_due_ms(g, c * 2)), &k);
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
            "\"downstream_endpoint\":\"https://%.*s.internal/api\","
            "\"correlation_id\":\"corr-%llx\"}",
            (unsigned long long)g->o.seed, (unsigned long long)n, ts,
            k.error ? "tool_call_error" : "tool_call_response", k.session,
            k.agent, k.tool, k.category, k.error ? "error" : "success",
            (unsigned long long)(k.error ? 0 : k.payload), k.duration,
            (unsigned long long)k.tokens, (double)k.tokens * 0.000002, err,
            (int)strcspn(k.tool, "_"), k.tool, (int)strcspn(k.tool, "_"),
            k.tool, (unsigned long long)c);
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

static const char *const scenario_names[SIM_SCENARIO_COUNT] = {
    "normal",      "volume-spike", "error-burst", "slow-calls",
    "large-payload", "credential-spike", "stall", "mixed"};

const char *sim_scenario_name(enum sim_scenario s)
{
    return (unsigned)s < SIM_SCENARIO_COUNT ? scenario_names[s] : "unknown";
}

int sim_scenario_parse(const char *name)
{
    for (int i = 0; i < SIM_SCENARIO_COUNT; i++) {
        if (strcmp(name, scenario_names[i]) == 0)
            return i;
    }
    return -1;
}
