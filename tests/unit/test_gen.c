/*
 * test_gen.c - the synthetic stream: determinism, timeline, phases, that
 * its traffic has the shape the detectors' defaults expect, and, for each
 * scenario of the rule kinds, the planted anomaly's exact shape and the
 * traps around it (records decoded with cJSON, measured as the example
 * rules of config/examples/rules.json would measure them).
 */
#include "app/demo.h"
#include "base/clock.h"
#include "consumer/decode.h"
#include "sim/gen.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#include <cmocka.h>

static sim_gen make(enum sim_scenario sc, double rate)
{
    struct sim_gen_options o;
    sim_gen g;

    sim_gen_options_defaults(&o);
    o.scenario = sc;
    o.rate = rate;
    assert_int_equal(sim_gen_init(&g, &o), SIM_OK);
    return g;
}

static void test_invalid_options(void **state)
{
    struct sim_gen_options o;
    sim_gen g;

    (void)state;
    sim_gen_options_defaults(&o);
    o.rate = 0;
    assert_int_equal(sim_gen_init(&g, &o), SIM_EINVAL);
    sim_gen_options_defaults(&o);
    o.phase_ms = 0;
    assert_int_equal(sim_gen_init(&g, &o), SIM_EINVAL);
    sim_gen_options_defaults(&o);
    o.scenario = SIM_SCENARIO_COUNT;
    assert_int_equal(sim_gen_init(&g, &o), SIM_EINVAL);
}

static void test_frame_format_and_determinism(void **state)
{
    sim_gen g = make(SIM_MIXED, 50);
    char a[SIM_FRAME_MAX], b[SIM_FRAME_MAX];
    size_t la, lb;

    (void)state;
    la = sim_gen_frame(&g, 7, a, sizeof a);
    lb = sim_gen_frame(&g, 7, b, sizeof b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_true(strncmp(a, "id: 7\nevent: tool_call_", 23) == 0);
    assert_true(la > 4 && memcmp(a + la - 2, "\n\n", 2) == 0);
    /* the data line is the record, and no other newline is inside */
    {
        char rec[SIM_FRAME_MAX];
        size_t rl = sim_gen_record(&g, 7, rec, sizeof rec);
        const char *data = strstr(a, "data: ");
        assert_non_null(data);
        assert_int_equal((size_t)(a + la - 2 - (data + 6)), rl);
        assert_memory_equal(data + 6, rec, rl);
        assert_null(memchr(rec, '\n', rl));
    }
    /* another seed gives other bytes */
    {
        struct sim_gen_options o;
        sim_gen h;
        sim_gen_options_defaults(&o);
        o.scenario = SIM_MIXED;
        o.seed = 2;
        sim_gen_init(&h, &o);
        lb = sim_gen_frame(&h, 7, b, sizeof b);
        assert_false(la == lb && memcmp(a, b, la) == 0);
    }
}

static void test_records_decode(void **state)
{
    sim_gen g = make(SIM_MIXED, 50);
    char rec[SIM_FRAME_MAX];
    struct event ev;
    event_counters c;

    (void)state;
    memset(&c, 0, sizeof c);
    for (uint64_t n = 0; n < 20000; n++) {
        size_t rl = sim_gen_record(&g, n, rec, sizeof rec);
        assert_int_equal(event_decode(&ev, rec, rl, NULL, 0, &c), EVENT_OK);
        assert_true(ev.has & EVENT_HAS_TIMESTAMP);
        assert_int_equal(ev.ts_ms, 1767225600000LL + sim_gen_due_ms(&g, n));
        if (n % 2 == 0) {
            assert_int_equal(ev.type, EVENT_TOOL_CALL_REQUEST);
            assert_int_equal(ev.status, EVENT_STATUS_PENDING);
        } else {
            assert_true(ev.type == EVENT_TOOL_CALL_RESPONSE ||
                        ev.type == EVENT_TOOL_CALL_ERROR);
            assert_true(ev.has & EVENT_HAS_DURATION);
            assert_true(ev.has & EVENT_HAS_PAYLOAD);
        }
        assert_true(ev.tool_name[0] != '\0');
        assert_true(ev.agent_id[0] != '\0');
    }
    assert_int_equal(c.decoded, 20000);
    for (int r = 0; r < EVENT_R_COUNT; r++)
        assert_int_equal(c.n[r], 0);
}

static void test_timeline_and_stall(void **state)
{
    sim_gen g = make(SIM_STALL, 10); /* 100 ms apart, quiet 20 s, stall 20 s */

    (void)state;
    assert_int_equal(sim_gen_due_ms(&g, 0), 0);
    assert_int_equal(sim_gen_due_ms(&g, 1), 100);
    assert_int_equal(sim_gen_due_ms(&g, 199), 19900);
    /* the stall: nothing is due in [20 s, 40 s) */
    assert_int_equal(sim_gen_due_ms(&g, 200), 40000);
    assert_int_equal(sim_gen_due_ms(&g, 201), 40100);
    assert_int_equal(sim_gen_phase_at(&g, 19999), SIM_NORMAL);
    assert_int_equal(sim_gen_phase_at(&g, 20000), SIM_STALL);
    assert_int_equal(sim_gen_phase_at(&g, 40000), SIM_NORMAL);
    /* monotonic everywhere */
    for (uint64_t n = 1; n < 5000; n++)
        assert_true(sim_gen_due_ms(&g, n) > sim_gen_due_ms(&g, n - 1));
}

static void test_mixed_phases(void **state)
{
    sim_gen g = make(SIM_MIXED, 50);
    static const enum sim_scenario order[] = {
        SIM_VOLUME_SPIKE,  SIM_ERROR_BURST,      SIM_SLOW_CALLS,
        SIM_LARGE_PAYLOAD, SIM_CREDENTIAL_SPIKE, SIM_STALL};

    (void)state;
    assert_int_equal(sim_gen_phase_at(&g, 0), SIM_NORMAL);
    for (int k = 0; k < 6; k++) {
        int64_t start = 20000 + (int64_t)k * 40000;
        assert_int_equal(sim_gen_phase_at(&g, start - 1), SIM_NORMAL);
        assert_int_equal(sim_gen_phase_at(&g, start), order[k]);
        assert_int_equal(sim_gen_phase_at(&g, start + 19999), order[k]);
        assert_int_equal(sim_gen_phase_at(&g, start + 20000), SIM_NORMAL);
    }
    /* the cycle repeats after 260 s */
    assert_int_equal(sim_gen_phase_at(&g, 260000 + 20000), SIM_VOLUME_SPIKE);
}

/* Count completed calls per tool in a 60 s window starting at `from_ms`. */
static unsigned max_tool_calls(const sim_gen *g, int64_t from_ms,
                               int64_t to_ms, const char *only_tool)
{
    char rec[SIM_FRAME_MAX];
    static const char *names[64];
    static unsigned counts[64];
    unsigned best = 0;
    int used = 0;
    struct event ev;

    memset(counts, 0, sizeof counts);
    for (uint64_t n = 1;; n += 2) {
        int64_t t = sim_gen_due_ms(g, n);
        if (t < from_ms)
            continue;
        if (t >= to_ms)
            break;
        size_t rl = sim_gen_record(g, n, rec, sizeof rec);
        assert_int_equal(event_decode(&ev, rec, rl, NULL, 0, NULL), 0);
        if (only_tool && strcmp(ev.tool_name, only_tool) != 0)
            continue;
        int i;
        for (i = 0; i < used; i++)
            if (strcmp(names[i], ev.tool_name) == 0)
                break;
        if (i == used) {
            assert_true(used < 64);
            names[used++] = strdup(ev.tool_name);
        }
        if (++counts[i] > best)
            best = counts[i];
    }
    for (int i = 0; i < used; i++)
        free((void *)names[i]);
    return best;
}

static void test_traffic_shape(void **state)
{
    sim_gen normal = make(SIM_NORMAL, 50);
    sim_gen spike = make(SIM_VOLUME_SPIKE, 50);

    (void)state;
    /* normal traffic: no tool above the default 100 calls per 60 s */
    assert_true(max_tool_calls(&normal, 0, 60000, NULL) <= 100);
    assert_true(max_tool_calls(&normal, 600000, 660000, NULL) <= 100);
    /* the spike phase (20 s..40 s): crm_search_contacts well above it */
    assert_true(max_tool_calls(&spike, 10000, 70000,
                               "crm_search_contacts") > 150);
}

static void test_scenario_names(void **state)
{
    (void)state;
    for (int i = 0; i < SIM_SCENARIO_COUNT; i++)
        assert_int_equal(
            sim_scenario_parse(sim_scenario_name((enum sim_scenario)i)), i);
    assert_int_equal(sim_scenario_parse("chaos"), -1);
    assert_string_equal(sim_scenario_name(SIM_MIXED), "mixed");
    /* '_' for '-' */
    assert_int_equal(sim_scenario_parse("secret_then_egress"),
                     SIM_SECRET_EGRESS);
    assert_int_equal(sim_scenario_parse("mixed_rules"), SIM_MIXED_RULES);
    assert_int_equal(sim_scenario_parse("new-tool"), SIM_NEW_TOOL);
    assert_int_equal(sim_scenario_parse("new-tools"), -1);
    assert_int_equal(sim_scenario_parse("new"), -1);
    assert_int_equal(sim_scenario_parse(""), -1);
}

/* ------------------------------------------------------------------ */
/* The scenarios of the rule kinds: records decoded with cJSON.        */

#define START_MS 1767225600000LL /* sim_gen_options_defaults' start */
#define MAX_TOOLS 64
#define N_AGENTS 20
#define N_SESSIONS 65536

/* One record, as a rule sees it. */
struct rec {
    uint64_t n;
    int64_t t;          /* ms after the start */
    int completed;
    unsigned session;   /* the hex number of "sess-XXXX" */
    int agent;          /* the number of "agent-NN" */
    int tool;           /* tool_id() of its tool_name */
    char tool_name[64];
    char category[32];
    char downstream[32];
    double tokens;      /* responses only */
    double cost;
};

/* Tool names seen by the tests, interned: an index fits a bitmask. */
static char tool_names[MAX_TOOLS][64];
static int n_tool_names;

static int tool_id(const char *name)
{
    for (int i = 0; i < n_tool_names; i++)
        if (strcmp(tool_names[i], name) == 0)
            return i;
    assert_true(n_tool_names < MAX_TOOLS);
    snprintf(tool_names[n_tool_names], sizeof tool_names[0], "%s", name);
    return n_tool_names++;
}

static void copy_str(const cJSON *o, const char *key, char *out, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    out[0] = '\0';
    if (cJSON_IsString(v))
        snprintf(out, size, "%s", v->valuestring);
}

static void read_rec(const sim_gen *g, uint64_t n, struct rec *r)
{
    char buf[SIM_FRAME_MAX], s[64];
    size_t len = sim_gen_record(g, n, buf, sizeof buf);
    cJSON *j = cJSON_ParseWithLength(buf, len);
    const cJSON *v;
    int64_t ms;

    assert_non_null(j);
    memset(r, 0, sizeof *r);
    r->n = n;
    copy_str(j, "timestamp", s, sizeof s);
    assert_int_equal(clock_parse_iso8601(s, strlen(s), &ms), 0);
    r->t = ms - START_MS;
    copy_str(j, "event_type", s, sizeof s);
    r->completed = strcmp(s, "tool_call_request") != 0;
    copy_str(j, "session_id", s, sizeof s);
    assert_true(strncmp(s, "sess-", 5) == 0 && strlen(s) == 9);
    r->session = (unsigned)strtoul(s + 5, NULL, 16);
    copy_str(j, "agent_id", s, sizeof s);
    assert_true(strncmp(s, "agent-", 6) == 0);
    r->agent = (int)strtol(s + 6, NULL, 10);
    assert_true(r->agent >= 1 && r->agent <= N_AGENTS);
    copy_str(j, "tool_name", r->tool_name, sizeof r->tool_name);
    r->tool = tool_id(r->tool_name);
    copy_str(j, "tool_category", r->category, sizeof r->category);
    copy_str(j, "downstream_system", r->downstream, sizeof r->downstream);
    v = cJSON_GetObjectItemCaseSensitive(j, "tokens_consumed");
    r->tokens = cJSON_IsNumber(v) ? v->valuedouble : 0;
    v = cJSON_GetObjectItemCaseSensitive(j, "cost_usd");
    r->cost = cJSON_IsNumber(v) ? v->valuedouble : 0;
    cJSON_Delete(j);
}

static sim_gen make_at(enum sim_scenario sc)
{
    return make(sc, 50);
}

/* A zeroed context for a scan. */
static void *zalloc(size_t size)
{
    void *p = calloc(1, size);

    assert_non_null(p);
    return p;
}

/* The first phase of `what`: it starts at start_ms and lasts len_ms
 * (asserted); returns start_ms. */
static int64_t expect_phase(const sim_gen *g, enum sim_scenario what,
                            int64_t start_ms, int64_t len_ms)
{
    int64_t len;

    assert_int_equal(sim_gen_first_phase(g, what, &len), start_ms);
    assert_int_equal(len, len_ms);
    return start_ms;
}

/* The first event due at or after t. */
static uint64_t first_event(const sim_gen *g, int64_t t)
{
    uint64_t lo = 0, hi = 1;

    while (sim_gen_due_ms(g, hi) < t)
        hi *= 2;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (sim_gen_due_ms(g, mid) < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef void (*rec_fn)(const struct rec *r, void *ctx);

/* Every event due in [from, to), completed calls only unless `all`. */
static void scan(const sim_gen *g, int64_t from, int64_t to, int all,
                 rec_fn fn, void *ctx)
{
    struct rec r;

    for (uint64_t n = first_event(g, from); sim_gen_due_ms(g, n) < to; n++) {
        if (!all && n % 2 == 0)
            continue;
        read_rec(g, n, &r);
        fn(&r, ctx);
    }
}

static int popcount64(uint64_t x)
{
    int n = 0;

    for (; x; x &= x - 1)
        n++;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The baseline kind's band (SPEC section 2) over n closed buckets:
 * median + dev * max(1.4826 * MAD, 0.1 * median, 1). */
static double band_of(const double *h, int n, double dev)
{
    double v[64], m, mad, w;

    assert_true(n <= 64);
    memcpy(v, h, sizeof *v * (size_t)n);
    m = median(v, n);
    for (int i = 0; i < n; i++)
        v[i] = fabs(h[i] - m);
    mad = median(v, n);
    w = 1.4826 * mad;
    if (w < 0.1 * m)
        w = 0.1 * m;
    if (w < 1)
        w = 1;
    return m + dev * w;
}

/* The tools of an agent's role (gen.h: agent a has role (a - 1) % 4 and
 * the role's 12 tools), as a bitmask of tool_id()s, from a normal run. */
struct fleet {
    uint64_t tools[N_AGENTS + 1];    /* every tool an agent used */
    int64_t last[N_AGENTS + 1];      /* its last completed call */
    int64_t max_gap[N_AGENTS + 1];
    double spend[N_AGENTS + 1];      /* cost_usd in [0, spend_to) */
    int64_t spend_to;
    int owner[N_SESSIONS];           /* the session's first agent */
    uint64_t session_tools[N_SESSIONS];
    int external;                    /* responses to "external" */
    int64_t buckets;                 /* one-minute buckets counted */
    double per_min[MAX_TOOLS][80];   /* completed calls per minute */
};

static void fleet_add(const struct rec *r, void *ctx)
{
    struct fleet *f = ctx;
    int64_t b = r->t / 60000;

    f->tools[r->agent] |= 1ull << r->tool;
    if (f->last[r->agent] > 0 && r->t - f->last[r->agent] >
                                     f->max_gap[r->agent])
        f->max_gap[r->agent] = r->t - f->last[r->agent];
    f->last[r->agent] = r->t;
    if (r->t < f->spend_to)
        f->spend[r->agent] += r->cost;
    if (f->owner[r->session] == 0)
        f->owner[r->session] = r->agent;
    assert_int_equal(f->owner[r->session], r->agent);
    f->session_tools[r->session] |= 1ull << r->tool;
    if (strcmp(r->downstream, "external") == 0)
        f->external++;
    if (b < 80)
        f->per_min[r->tool][b]++;
}

/* Normal traffic trips none of the example rules: 70 minutes at the
 * default rate, measured as each rule measures it. */
static void test_normal_traps(void **state)
{
    sim_gen g = make_at(SIM_NORMAL);
    struct fleet *f = zalloc(sizeof *f), *early = zalloc(sizeof *f);

    (void)state;
    f->spend_to = 3600000;
    scan(&g, 0, 1800000, 0, fleet_add, early);
    scan(&g, 0, 4200000, 0, fleet_add, f);
    for (int a = 1; a <= N_AGENTS; a++) {
        /* new_value tool_name by agent_id, learn_s 1800: nothing new */
        assert_int_equal(f->tools[a] & ~early->tools[a], 0);
        /* each agent keeps to its role's 12 tools and its secret tool */
        assert_int_equal(popcount64(f->tools[a]), 13);
        assert_int_equal(f->tools[a], f->tools[(a - 1) % 4 + 1]);
        /* absence by agent_id, 120 s: never silent for 20 s */
        assert_true(f->max_gap[a] > 0 && f->max_gap[a] < 20000);
        /* sum cost_usd by agent_id, 3600 s, 50: about $9 an hour */
        assert_true(f->spend[a] > 5 && f->spend[a] < 15);
    }
    /* distinct agent_id by session_id, 1 (checked in fleet_add: one
     * agent per session); distinct tool_name by session_id, 20 */
    for (unsigned s = 0; s < N_SESSIONS; s++) {
        assert_true(popcount64(f->session_tools[s]) <= 13);
        if (f->owner[s] != 0)
            assert_true(s < 0x8000); /* planted sessions only above */
    }
    /* sequence secrets -> external http: no egress at all */
    assert_int_equal(f->external, 0);
    /* baseline count by tool_name, bucket_s 60, history 30: every
     * bucket with a band stays at or under it */
    for (int t = 0; t < n_tool_names; t++) {
        if (f->per_min[t][0] == 0)
            continue;
        for (int b = 30; b < 70; b++)
            assert_true(f->per_min[t][b] <= band_of(&f->per_min[t][b - 30],
                                                     30, 6));
    }
    free(early);
    free(f);
}

/* secret-then-egress: per session, the last secrets read; and the
 * sessions where an external http call followed one within 60 s. */
struct egress {
    int64_t secret_at[N_SESSIONS];     /* 0: none (times are > 0) */
    int64_t agent_secret_at[N_AGENTS + 1];
    unsigned fired[16];
    int nfired;
    int by_agent;                      /* fires if grouped by agent */
    struct rec planted[32];            /* sessions >= 0x8000 */
    int nplanted;
};

static void egress_add(const struct rec *r, void *ctx)
{
    struct egress *e = ctx;

    if (r->session >= 0x8000 && e->nplanted < 32)
        e->planted[e->nplanted++] = *r;
    if (strcmp(r->category, "secrets") == 0) {
        e->secret_at[r->session] = r->t;
        e->agent_secret_at[r->agent] = r->t;
    }
    if (strcmp(r->category, "http") == 0 &&
        strcmp(r->downstream, "external") == 0) {
        int64_t s = e->secret_at[r->session];
        if (s > 0 && r->t - s <= 60000) {
            assert_true(e->nfired < 16);
            e->fired[e->nfired++] = r->session;
        }
        s = e->agent_secret_at[r->agent];
        if (s > 0 && r->t - s <= 60000)
            e->by_agent++;
    }
}

static void expect_planted(const struct rec *r, int64_t at_ms, int agent,
                           unsigned session, const char *tool,
                           const char *downstream)
{
    assert_true(r->t >= at_ms && r->t < at_ms + 100);
    assert_int_equal(r->agent, agent);
    assert_int_equal(r->session, session);
    assert_string_equal(r->tool_name, tool);
    assert_string_equal(r->downstream, downstream);
}

/* The secret-then-egress script in order of time: P0 = sess-8000
 * (agent-02), the real sequence; P1/P2 (agent-06): the two calls in two
 * sessions; P3 (agent-10): the two calls in the wrong order. */
static const struct {
    int64_t at_ms;
    int agent;
    unsigned session;
    const char *tool, *downstream;
} egress_want[] = {
    {1000, 2, 0x8000, "vault_read_secret", "vault"},
    {5000, 6, 0x8001, "vault_read_secret", "vault"},
    {12000, 2, 0x8000, "salesforce_query", "salesforce"},
    {15000, 6, 0x8002, "http_post", "external"},
    {20000, 10, 0x8003, "http_post", "external"},
    {25000, 2, 0x8000, "crm_search_contacts", "crm"},
    {30000, 10, 0x8003, "vault_read_secret", "vault"},
    {39000, 2, 0x8000, "http_post", "external"},
};
#define N_EGRESS (sizeof egress_want / sizeof egress_want[0])

/* The script's eight calls from ps on, at `pace` times its speed, and
 * only P0 completing the sequence (grouped by session_id). */
static void expect_egress_script(const struct egress *e, int64_t ps,
                                 int64_t pace)
{
    assert_int_equal(e->nplanted, (int)N_EGRESS);
    for (size_t i = 0; i < N_EGRESS; i++)
        expect_planted(&e->planted[i], ps + egress_want[i].at_ms / pace,
                       egress_want[i].agent, egress_want[i].session,
                       egress_want[i].tool, egress_want[i].downstream);
    assert_string_equal(e->planted[0].category, "secrets");
    assert_string_equal(e->planted[N_EGRESS - 1].category, "http");
    assert_int_equal(e->planted[N_EGRESS - 1].t - e->planted[0].t,
                     38000 / pace);
    assert_int_equal(e->nfired, 1);
    assert_int_equal(e->fired[0], 0x8000);
}

static void test_secret_then_egress(void **state)
{
    sim_gen g = make_at(SIM_SECRET_EGRESS);
    struct egress *e = zalloc(sizeof *e);
    /* the phase is at least 45 s */
    int64_t ps = expect_phase(&g, SIM_SECRET_EGRESS, 20000, 45000);
    int64_t cyc = sim_gen_cycle_ms(&g);

    (void)state;
    assert_int_equal(cyc, 65000);
    scan(&g, 0, ps + cyc, 0, egress_add, e);
    /* secret to egress 38 s apart: within_s 60 holds, 30 would not */
    expect_egress_script(e, ps, 1);
    /* grouped by agent_id, the split pair (agent-06) would fire too */
    assert_int_equal(e->by_agent, 2);
    /* the next occurrence plays the script again in sessions P0..P3 of
     * occurrence 1 */
    memset(e, 0, sizeof *e);
    scan(&g, ps + cyc, ps + 2 * cyc, 0, egress_add, e);
    assert_int_equal(e->nplanted, 8);
    expect_planted(&e->planted[0], ps + cyc + 1000, 2, 0x8004,
                   "vault_read_secret", "vault");
    assert_int_equal(e->nfired, 1);
    assert_int_equal(e->fired[0], 0x8004);
    free(e);
}

/* new-tool: every agent's tools before and after the learn period. */
struct learn {
    int64_t learn_ms;
    uint64_t before[N_AGENTS + 1];
    int64_t first[N_AGENTS + 1], last[N_AGENTS + 1], max_gap[N_AGENTS + 1];
    unsigned calls[N_AGENTS + 1];
    struct rec fresh[8];                 /* tools new after learning */
    int nfresh;
};

static void learn_add(const struct rec *r, void *ctx)
{
    struct learn *l = ctx;
    int a = r->agent;

    if (l->calls[a]++ == 0)
        l->first[a] = r->t;
    else if (r->t - l->last[a] > l->max_gap[a])
        l->max_gap[a] = r->t - l->last[a];
    l->last[a] = r->t;
    if (r->t < l->learn_ms) {
        l->before[a] |= 1ull << r->tool;
    } else if (!(l->before[a] & (1ull << r->tool))) {
        assert_true(l->nfresh < 8);
        l->fresh[l->nfresh++] = *r;
    }
}

static void test_new_tool(void **state)
{
    sim_gen g = make_at(SIM_NEW_TOOL);
    struct learn *l = zalloc(sizeof *l);
    /* 32 min of steady history: past a 30 min learn period */
    int64_t len = 20000, ps = expect_phase(&g, SIM_NEW_TOOL, 1920000, len);

    (void)state;
    assert_int_equal(sim_gen_phase_at(&g, ps - 1), SIM_NORMAL);
    l->learn_ms = 1800000;
    scan(&g, 0, ps + len + 20000, 0, learn_add, l);
    /* agent-05 was steady from the first second to the phase */
    assert_true(l->first[5] < 5000);
    assert_true(l->calls[5] > 2000);
    assert_true(l->max_gap[5] < 20000);
    /* the only tools new after learning: delete_customer_records, by
     * agent-05 in its own session, at +2 s, +6 s and +11 s */
    assert_int_equal(l->nfresh, 3);
    for (int i = 0; i < 3; i++) {
        static const int64_t at[] = {2000, 6000, 11000};
        const struct rec *r = &l->fresh[i];
        assert_string_equal(r->tool_name, "delete_customer_records");
        assert_string_equal(r->category, "crm");
        assert_int_equal(r->agent, 5);
        assert_true(r->session < 0x8000);
        assert_true(r->t >= ps + at[i] && r->t < ps + at[i] + 100);
    }
    /* the same session as agent-05's other calls then */
    {
        struct rec before;
        uint64_t n = first_event(&g, ps + 1500);
        do {
            read_rec(&g, n, &before);
            n--;
        } while (before.agent != 5);
        assert_int_equal(before.session, l->fresh[0].session);
    }
    /* no agent but agent-05 ever used it */
    for (int a = 1; a <= N_AGENTS; a++)
        assert_int_equal(l->before[a] &
                             (1ull << tool_id("delete_customer_records")),
                         0);
    free(l);
}

/* shared-session: the agents of every session. */
struct sharing {
    int agents[N_SESSIONS][3];   /* distinct agents, up to three */
    int64_t phase_from, phase_to;
    unsigned intruder_sessions[8];
    int nintruder;
};

static void sharing_add(const struct rec *r, void *ctx)
{
    struct sharing *sh = ctx;
    int *a = sh->agents[r->session], i;

    for (i = 0; i < 3 && a[i] != 0 && a[i] != r->agent; i++)
        ;
    assert_true(i < 3);
    a[i] = r->agent;
    if (r->agent == 8 && r->t >= sh->phase_from && r->t < sh->phase_to) {
        int k;
        for (k = 0; k < sh->nintruder; k++)
            if (sh->intruder_sessions[k] == r->session)
                break;
        if (k == sh->nintruder) {
            assert_true(k < 8);
            sh->intruder_sessions[sh->nintruder++] = r->session;
        }
    }
}

static void test_shared_session(void **state)
{
    sim_gen g = make_at(SIM_SHARED_SESSION);
    struct sharing *sh = zalloc(sizeof *sh);
    int64_t len = 20000;
    int64_t ps = expect_phase(&g, SIM_SHARED_SESSION, 20000, len);
    int shared = 0;

    (void)state;
    /* the first phase: agent-08 calls only in one session, agent-04's */
    sh->phase_from = ps + 1000; /* responses of calls made before */
    sh->phase_to = ps + len;
    scan(&g, 0, ps + len + 20000, 0, sharing_add, sh);
    assert_int_equal(sh->nintruder, 1);
    for (unsigned s = 0; s < N_SESSIONS; s++) {
        const int *a = sh->agents[s];
        if (a[1] == 0)
            continue;
        /* the only session with two agents: agent-04's, with agent-08 */
        shared++;
        assert_int_equal(a[0], 4);
        assert_int_equal(a[1], 8);
        assert_int_equal(a[2], 0);
        assert_int_equal(s, sh->intruder_sessions[0]);
    }
    assert_int_equal(shared, 1);
    free(sh);
}

/* fan-out: the distinct tools of every session. */
struct fan {
    uint64_t tools[N_SESSIONS];
    int agent[N_SESSIONS];
};

static void fan_add(const struct rec *r, void *ctx)
{
    struct fan *f = ctx;

    f->tools[r->session] |= 1ull << r->tool;
    f->agent[r->session] = r->agent;
}

static void test_fan_out(void **state)
{
    sim_gen g = make_at(SIM_FAN_OUT);
    struct fan *f = zalloc(sizeof *f);
    /* the phase is at least 50 s */
    int64_t len = 50000, ps = expect_phase(&g, SIM_FAN_OUT, 20000, len);
    uint64_t planted = 0, kit = 0;
    unsigned session = 0;
    int64_t prev_t = 0;

    (void)state;
    /* agent-11's first call of every 2 s slot: 25 distinct tools, 2 s
     * apart, in its one session */
    for (int k = 0; k < 25; k++) {
        struct rec r;
        uint64_t n = first_event(&g, ps + 2000 * k);
        read_rec(&g, n + 1, &r); /* the response */
        assert_int_equal(r.agent, 11);
        if (k == 0)
            session = r.session;
        else
            assert_int_equal(r.t - prev_t, 2000);
        assert_int_equal(r.session, session);
        assert_int_equal(planted & (1ull << r.tool), 0);
        planted |= 1ull << r.tool;
        prev_t = r.t;
    }
    assert_true(session < 0x8000);
    /* before the phase, agent-11 kept to its 12 tools (and a secret) */
    scan(&g, 0, ps, 0, fan_add, f);
    kit = f->tools[session];
    assert_true(popcount64(kit) <= 13);
    assert_true(popcount64(planted & ~kit) >= 13);
    /* distinct tool_name by session_id over the phase: 25 and more for
     * agent-11's session, at most 13 for every other */
    memset(f, 0, sizeof *f);
    scan(&g, ps, ps + len, 0, fan_add, f);
    for (unsigned s = 0; s < N_SESSIONS; s++) {
        if (s == session) {
            assert_true(popcount64(f->tools[s]) >= 25);
            assert_int_equal(f->agent[s], 11);
        } else {
            assert_true(popcount64(f->tools[s]) <= 13);
        }
    }
    free(f);
}

/* cost-runaway: spend per agent, calls per session, and agent-07's big
 * calls. */
struct spend {
    double by_agent[N_AGENTS + 1];
    unsigned calls[N_SESSIONS];
    int64_t calls_from;
    struct rec big[256];
    int nbig;
};

static void spend_add(const struct rec *r, void *ctx)
{
    struct spend *s = ctx;

    s->by_agent[r->agent] += r->cost;
    if (r->t >= s->calls_from)
        s->calls[r->session]++;
    if (r->tokens > 2000) {
        assert_true(s->nbig < 256);
        s->big[s->nbig++] = *r;
    }
}

static void test_cost_runaway(void **state)
{
    sim_gen g = make_at(SIM_COST_RUNAWAY);
    struct spend *s = zalloc(sizeof *s);
    int64_t len = 20000;
    int64_t ps = expect_phase(&g, SIM_COST_RUNAWAY, 20000, len);

    (void)state;
    s->calls_from = ps + len - 30000;
    scan(&g, 0, ps + len + 20000, 0, spend_add, s);
    /* one big call of agent-07 every 100 ms of the phase: 200, in its
     * one session */
    assert_int_equal(s->nbig, 200);
    for (int i = 0; i < s->nbig; i++) {
        const struct rec *r = &s->big[i];
        assert_int_equal(r->agent, 7);
        assert_true(r->tokens >= 80000 && r->tokens <= 160000);
        assert_true(fabs(r->cost - r->tokens * 0.000015) < 1e-6);
        assert_true(r->t >= ps + 100 * i && r->t < ps + 100 * i + 50);
        assert_int_equal(r->session, s->big[0].session);
    }
    /* sum cost_usd by agent_id: agent-07 far past a $50 budget, every
     * other agent under a dollar in the minute */
    assert_true(s->by_agent[7] > 250 && s->by_agent[7] < 500);
    for (int a = 1; a <= N_AGENTS; a++)
        if (a != 7)
            assert_true(s->by_agent[a] < 1);
    /* count by session_id over the 30 s to the phase's end: the loop's
     * session past 180, every other under 80 */
    for (unsigned k = 0; k < N_SESSIONS; k++) {
        if (k == s->big[0].session)
            assert_true(s->calls[k] > 210);
        else
            assert_true(s->calls[k] < 80);
    }
    free(s);
}

/* rate-spike: completed calls per tool per minute, and per agent. */
struct rates {
    double per_min[MAX_TOOLS][40];
    int64_t phase_from, phase_to;
    double in_phase;           /* jira_search calls in the phase */
    uint32_t callers;          /* agents calling jira_search */
};

static void rates_add(const struct rec *r, void *ctx)
{
    struct rates *x = ctx;
    int64_t b = r->t / 60000;

    if (b < 40)
        x->per_min[r->tool][b]++;
    if (strcmp(r->tool_name, "jira_search") == 0) {
        x->callers |= 1u << r->agent;
        if (r->t >= x->phase_from && r->t < x->phase_to)
            x->in_phase++;
    }
}

static void test_rate_spike(void **state)
{
    sim_gen g = make_at(SIM_RATE_SPIKE);
    struct rates *x = zalloc(sizeof *x);
    /* warm-up: 32 min, so that the one-minute bucket of the spike has 30
     * closed buckets behind it (bucket 32; the first is bucket 0) */
    int64_t len = 20000, ps = expect_phase(&g, SIM_RATE_SPIKE, 1920000, len);
    double steady, h[30];
    int jira;

    (void)state;
    x->phase_from = ps;
    x->phase_to = ps + len;
    scan(&g, 0, 34 * 60000, 0, rates_add, x);
    jira = tool_id("jira_search");
    memcpy(h, &x->per_min[jira][2], sizeof h);
    steady = median(h, 30); /* about 31 a minute */
    assert_true(steady > 20 && steady < 45);
    /* ten times its steady rate in the phase */
    assert_true(x->in_phase / (steady / 3) > 8 &&
                x->in_phase / (steady / 3) < 12);
    /* only the sales agents (2, 6, 10, 14, 18) call it */
    assert_int_equal(x->callers, (1u << 2) | (1u << 6) | (1u << 10) |
                                     (1u << 14) | (1u << 18));
    /* the baseline: the spike's bucket (32) over its band, the buckets
     * before it at or under theirs, and every other tool's too (bucket
     * 33 holds the next occurrence, 40 s later) */
    for (int t = 0; t < n_tool_names; t++) {
        if (x->per_min[t][0] == 0)
            continue;
        for (int b = 30; b < 34; b++) {
            double band = band_of(&x->per_min[t][b - 30], 30, 6);
            if (t != jira)
                assert_true(x->per_min[t][b] <= band);
            else if (b == 32)
                assert_true(x->per_min[t][b] > band);
            else if (b < 32)
                assert_true(x->per_min[t][b] <= band);
        }
    }
    free(x);
}

/* dead-agent: every agent's gaps. */
struct gaps {
    int64_t last[N_AGENTS + 1];
    int64_t max_gap[N_AGENTS + 1];
    int64_t phase_from, phase_to;
    int in_phase;               /* agent-17 events in the phase */
    unsigned events;
};

static void gaps_add(const struct rec *r, void *ctx)
{
    struct gaps *x = ctx;

    if (x->last[r->agent] > 0 &&
        r->t - x->last[r->agent] > x->max_gap[r->agent])
        x->max_gap[r->agent] = r->t - x->last[r->agent];
    x->last[r->agent] = r->t;
    if (r->t >= x->phase_from && r->t < x->phase_to) {
        x->events++;
        if (r->agent == 17)
            x->in_phase++;
    }
}

static void test_dead_agent(void **state)
{
    sim_gen g = make_at(SIM_DEAD_AGENT);
    struct gaps *x = zalloc(sizeof *x);
    /* 5 min of steady history, then 5 min of silence */
    int64_t len = 300000, ps = expect_phase(&g, SIM_DEAD_AGENT, 300000, len);

    (void)state;
    x->phase_from = ps + 100; /* the response of a call made before */
    x->phase_to = ps + len;
    scan(&g, 0, ps + len + 20000, 1, gaps_add, x);
    assert_int_equal(x->in_phase, 0);
    /* the stream goes on at its rate: 50 events/s */
    assert_true(x->events >= 50 * 300 - 10);
    for (int a = 1; a <= N_AGENTS; a++) {
        if (a == 17)
            /* silent for the phase, and about as long as its usual
             * gaps on either side of it */
            assert_true(x->max_gap[a] >= len && x->max_gap[a] < len + 20000);
        else
            /* absence by agent_id, 120 s: the others never come near */
            assert_true(x->max_gap[a] < 20000);
    }
    /* agent-17 was steady before: no gap over 20 s in the history */
    memset(x, 0, sizeof *x);
    scan(&g, 0, ps, 1, gaps_add, x);
    assert_true(x->max_gap[17] > 0 && x->max_gap[17] < 20000);
    free(x);
}

static void test_mixed_rules_phases(void **state)
{
    sim_gen g = make_at(SIM_MIXED_RULES);
    static const struct {
        enum sim_scenario what;
        int64_t len;
    } order[] = {
        {SIM_VOLUME_SPIKE, 20000},   {SIM_ERROR_BURST, 20000},
        {SIM_SLOW_CALLS, 20000},     {SIM_LARGE_PAYLOAD, 20000},
        {SIM_CREDENTIAL_SPIKE, 20000}, {SIM_SECRET_EGRESS, 45000},
        {SIM_NEW_TOOL, 20000},       {SIM_SHARED_SESSION, 20000},
        {SIM_FAN_OUT, 50000},        {SIM_COST_RUNAWAY, 20000},
        {SIM_RATE_SPIKE, 20000},     {SIM_DEAD_AGENT, 300000},
    };
    int64_t at = 1920000, len;
    struct rec r;

    (void)state;
    assert_int_equal(sim_gen_phase_at(&g, at - 1), SIM_NORMAL);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        assert_int_equal(sim_gen_first_phase(&g, order[i].what, &len), at);
        assert_int_equal(len, order[i].len);
        assert_int_equal(sim_gen_phase_at(&g, at), order[i].what);
        assert_int_equal(sim_gen_phase_at(&g, at + len - 1), order[i].what);
        assert_int_equal(sim_gen_phase_at(&g, at + len), SIM_NORMAL);
        at += len + 20000;
    }
    assert_int_equal(sim_gen_cycle_ms(&g), at - 1920000);
    assert_int_equal(sim_gen_first_phase(&g, SIM_STALL, NULL), -1);
    /* a phase plays as in its own scenario: the secret read of P0 */
    read_rec(&g, first_event(&g, sim_gen_first_phase(&g, SIM_SECRET_EGRESS,
                                                     NULL) + 1000) + 1, &r);
    assert_int_equal(r.agent, 2);
    assert_int_equal(r.session, 0x8000);
    assert_string_equal(r.tool_name, "vault_read_secret");
    /* no time is skipped: no stall */
    assert_int_equal(sim_gen_due_ms(&g, 500000), 10000000);
}

/* The timelines of `mixed` and `stall` as they were first written: the
 * lead repeats in every cycle of `mixed`. */
static int64_t old_due(enum sim_scenario sc, int64_t active)
{
    int64_t p = 20000, q = 20000, cyc, s, live, k, r;

    cyc = sc == SIM_MIXED ? q + 6 * (p + q) : q + p;
    s = sc == SIM_MIXED ? q + 5 * (p + q) : q;
    live = cyc - p;
    k = active / live;
    r = active % live;
    return k * cyc + (r < s ? r : r + p);
}

static void test_mixed_timeline_unchanged(void **state)
{
    sim_gen m = make(SIM_MIXED, 50), st = make(SIM_STALL, 50);

    (void)state;
    for (uint64_t n = 0; n < 200000; n += 7) {
        int64_t active = (int64_t)((double)n * 1000.0 / 50);
        assert_int_equal(sim_gen_due_ms(&m, n), old_due(SIM_MIXED, active));
        assert_int_equal(sim_gen_due_ms(&st, n), old_due(SIM_STALL, active));
    }
    for (int64_t t = 0; t < 800000; t += 500) {
        int64_t r = t % 260000;
        sim_phase want = SIM_NORMAL;
        if (r >= 20000 && (r - 20000) % 40000 < 20000) {
            static const enum sim_scenario order[] = {
                SIM_VOLUME_SPIKE,  SIM_ERROR_BURST,      SIM_SLOW_CALLS,
                SIM_LARGE_PAYLOAD, SIM_CREDENTIAL_SPIKE, SIM_STALL};
            want = order[(r - 20000) / 40000];
        }
        assert_int_equal(sim_gen_phase_at(&m, t), want);
    }
}

/* demo: the stream of `toolwatch demo` (app/demo.h's pace), measured as
 * the demo's rules (app/demo.c) measure it: each phase trips its own rule
 * and nothing else does. */
#define DEMO_CYCLE_MS 125000
#define DEMO_EVENTS 8192

struct demo_call {
    int64_t t;
    int tool;
    int agent;
    int secret; /* a credential_access tool */
};

struct demo_calls {
    struct demo_call c[DEMO_EVENTS];
    int n;
    uint64_t learned;           /* tools seen in the learning period */
    int64_t learn_ms;
    struct rec fresh[8];        /* tools new after it */
    int nfresh;
};

static void demo_add(const struct rec *r, void *ctx)
{
    struct demo_calls *d = ctx;
    struct demo_call *c = &d->c[d->n];

    assert_true(d->n < DEMO_EVENTS);
    d->n++;
    c->t = r->t;
    c->tool = r->tool;
    c->agent = r->agent;
    c->secret = strcmp(r->category, "secrets") == 0;
    if (r->t < d->learn_ms) {
        d->learned |= 1ull << r->tool;
    } else if (!(d->learned & (1ull << r->tool))) {
        assert_true(d->nfresh < 8);
        d->fresh[d->nfresh++] = *r;
    }
}

/* The largest count of calls i with same(i, j) in the 20 s window
 * (t_j - 20 s, t_j], over calls j with key(j) == k; *at_ms: when it
 * first went past `over` (-1: never). */
static int demo_window_max(const struct demo_calls *d, int by_agent, int k,
                           int secrets_only, int over, int64_t *at_ms)
{
    int best = 0;

    *at_ms = -1;
    for (int j = 0; j < d->n; j++) {
        const struct demo_call *cj = &d->c[j];
        int n = 0;
        if ((by_agent ? cj->agent : cj->tool) != k ||
            (secrets_only && !cj->secret))
            continue;
        for (int i = j; i >= 0 && d->c[i].t > cj->t - 20000; i--)
            n += (by_agent ? d->c[i].agent : d->c[i].tool) == k &&
                 (!secrets_only || d->c[i].secret);
        if (n > over && *at_ms < 0)
            *at_ms = cj->t;
        if (n > best)
            best = n;
    }
    return best;
}

/* rate_anomaly (baseline, bucket_s 5, history 6, deviation 3, min_value
 * 20) with buckets starting `shift` ms into the stream: asserts that it
 * fires only for jira_search, only in buckets of the rate-spike phase,
 * and clears within two buckets of its last one (the first after it may
 * hold the spike's tail, under min_value but over a band not yet widened
 * by the spike). */
static void demo_baseline(const struct demo_calls *d, int64_t shift,
                          int jira, int64_t spike_ms)
{
    enum { NB = DEMO_CYCLE_MS / 5000 + 2 };
    static double per[MAX_TOOLS][NB];
    int first[MAX_TOOLS], fired = 0, last = -1;

    memset(per, 0, sizeof per);
    for (int t = 0; t < MAX_TOOLS; t++)
        first[t] = -1;
    for (int i = 0; i < d->n; i++) {
        int b = (int)((d->c[i].t + shift) / 5000);
        if (first[d->c[i].tool] < 0)
            first[d->c[i].tool] = b;
        per[d->c[i].tool][b]++;
    }
    for (int t = 0; t < n_tool_names; t++) {
        for (int b = first[t] + 6; first[t] >= 0 && b < NB - 1; b++) {
            double band = band_of(&per[t][b - 6], 6, 3);
            if (per[t][b] < 20 || per[t][b] <= band)
                continue;
            assert_int_equal(t, jira);
            assert_true(b * 5000 - shift < spike_ms + DEMO_PHASE_MS &&
                        (b + 1) * 5000 - shift > spike_ms);
            fired++;
            last = b;
        }
    }
    assert_true(fired >= 1);
    assert_true(per[jira][last + 1] <= band_of(&per[jira][last - 5], 6, 3) ||
                per[jira][last + 2] <= band_of(&per[jira][last - 4], 6, 3));
}

static void test_demo(void **state)
{
    static const struct {
        enum sim_scenario what;
        int64_t start, len;
    } phases[] = {
        {SIM_VOLUME_SPIKE, 4000, 8000},      {SIM_ERROR_BURST, 16000, 8000},
        {SIM_SLOW_CALLS, 28000, 8000},       {SIM_LARGE_PAYLOAD, 40000, 8000},
        {SIM_CREDENTIAL_SPIKE, 52000, 8000}, {SIM_SECRET_EGRESS, 64000, 9000},
        {SIM_NEW_TOOL, 77000, 8000},         {SIM_RATE_SPIKE, 89000, 8000},
        {SIM_STALL, 101000, 8000},
    };
    struct sim_gen_options o;
    struct demo_calls *d = zalloc(sizeof *d);
    struct egress *e = zalloc(sizeof *e);
    int64_t at;
    sim_gen g;

    (void)state;
    sim_gen_options_defaults(&o);
    o.scenario = SIM_DEMO;
    o.rate = DEMO_RATE;
    o.phase_ms = DEMO_PHASE_MS;
    o.quiet_ms = DEMO_QUIET_MS;
    assert_int_equal(sim_gen_init(&g, &o), SIM_OK);
    /* no warm-up but quiet_ms; secret-then-egress at least 45 s / 5; the
     * cycle ends with 16 s of normal traffic: the next volume spike
     * starts at 129 s, past the demo's duration */
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
        expect_phase(&g, phases[i].what, phases[i].start, phases[i].len);
    assert_int_equal(sim_gen_cycle_ms(&g), DEMO_CYCLE_MS);
    assert_true(4000 + DEMO_CYCLE_MS > DEMO_DURATION_S * 1000);
    assert_int_equal(sim_gen_phase_at(&g, 4000 + DEMO_CYCLE_MS),
                     SIM_VOLUME_SPIKE);
    /* the stall: nothing is due in [101 s, 109 s) */
    assert_true(sim_gen_due_ms(&g, first_event(&g, 101000)) >= 109000);

    /* secret_then_egress (sequence by session_id, within_s 60): the
     * script five times faster, the post 7.6 s after the read, in
     * sess-8000 only */
    scan(&g, 0, DEMO_CYCLE_MS, 0, egress_add, e);
    expect_egress_script(e, 64000, SIM_DEMO_PACE);

    d->learn_ms = 70000;
    scan(&g, 0, DEMO_CYCLE_MS, 0, demo_add, d);
    /* new_tool (new_value of tool_name, group_by [], learn_s 70): the
     * credential spike's tools are learned, and the only tool new after
     * is delete_customer_records, agent-05's, at +0.4, +1.2 and +2.2 s */
    assert_int_equal(d->nfresh, 3);
    for (int i = 0; i < 3; i++) {
        static const int64_t off[] = {400, 1200, 2200};
        assert_string_equal(d->fresh[i].tool_name,
                            "delete_customer_records");
        assert_int_equal(d->fresh[i].agent, 5);
        assert_true(d->fresh[i].t >= 77000 + off[i] &&
                    d->fresh[i].t < 77000 + off[i] + 100);
    }
    /* volume (count by tool_name, 20 s, threshold 120): only
     * crm_search_contacts, within 7 s of its spike; jira_search's rate
     * spike stays far under it, as every other tool */
    for (int t = 0; t < n_tool_names; t++) {
        int crm = strcmp(tool_names[t], "crm_search_contacts") == 0;
        int jira = strcmp(tool_names[t], "jira_search") == 0;
        int max = demo_window_max(d, 0, t, 0, 120, &at);
        if (crm)
            assert_true(at >= 4000 && at < 11000);
        else
            assert_true(max <= (jira ? 100 : 40));
    }
    /* credential_access (count of secret tools by agent_id, 20 s,
     * threshold 25): agent-13 within 6 s of its spike, the others read a
     * secret now and then */
    for (int a = 1; a <= N_AGENTS; a++) {
        int max = demo_window_max(d, 1, a, 1, 25, &at);
        if (a == 13)
            assert_true(at >= 52000 && at < 58000);
        else
            assert_true(max <= 2);
    }
    /* rate_anomaly, wherever the 5 s buckets fall */
    for (int64_t shift = 0; shift < 5000; shift += 250)
        demo_baseline(d, shift, tool_id("jira_search"), 89000);
    free(e);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_options),
        cmocka_unit_test(test_frame_format_and_determinism),
        cmocka_unit_test(test_records_decode),
        cmocka_unit_test(test_timeline_and_stall),
        cmocka_unit_test(test_mixed_phases),
        cmocka_unit_test(test_traffic_shape),
        cmocka_unit_test(test_scenario_names),
        cmocka_unit_test(test_normal_traps),
        cmocka_unit_test(test_secret_then_egress),
        cmocka_unit_test(test_new_tool),
        cmocka_unit_test(test_shared_session),
        cmocka_unit_test(test_fan_out),
        cmocka_unit_test(test_cost_runaway),
        cmocka_unit_test(test_rate_spike),
        cmocka_unit_test(test_dead_agent),
        cmocka_unit_test(test_mixed_rules_phases),
        cmocka_unit_test(test_mixed_timeline_unchanged),
        cmocka_unit_test(test_demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
