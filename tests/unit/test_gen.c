/*
 * test_gen.c - the synthetic stream: determinism, timeline, phases, and
 * that its traffic has the shape the detectors' defaults expect.
 */
#include "consumer/decode.h"
#include "sim/gen.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
