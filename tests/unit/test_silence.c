/*
 * test_silence.c - alerts/silence.c: parsing (the API's shape, every
 * refusal with its message), printing and reading back, states at exact
 * instants (one-off, weekly windows in Europe/Berlin and America/New_York
 * over the spring-forward and fall-back weekends of 2026, windows past
 * midnight), expiring, and matching alerts (rule, severity, group fields,
 * labels; globs without regard to case).
 */
#include "alerts/silence.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include <cjson/cJSON.h>
#include "base/table.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define UTC(y, mo, d, h, mi) clock_civil_to_ms((y), (mo), (d), (h), (mi), 0)
#define NOW UTC(2026, 3, 10, 12, 0)

/* ---- a zone resolver over the system's database, loaded once ---- */

static tz *zones_loaded[8];
static size_t nzones;

static const tz *find_zone(void *ud, const char *name, int *rc)
{
    tz *z = NULL;

    (void)ud;
    for (size_t i = 0; i < nzones; i++)
        if (strcmp(tz_name(zones_loaded[i]), name) == 0)
            return zones_loaded[i];
    *rc = tz_load(NULL, name, &z);
    if (z != NULL && nzones < 8)
        zones_loaded[nzones++] = z;
    return z;
}

static const struct silence_zones zones = {find_zone, NULL};

static int teardown_zones(void **state)
{
    (void)state;
    for (size_t i = 0; i < nzones; i++)
        tz_destroy(zones_loaded[i]);
    nzones = 0;
    return 0;
}

/* Parse json as a request at NOW; fail the test when refused. */
static void parse_ok(struct silence *s, const char *json)
{
    char err[SILENCE_ERR_MAX] = "";

    if (silence_parse(s, json, strlen(json), SILENCE_PARSE_REQUEST, &zones,
                      NOW, err, sizeof err) != SILENCE_OK)
        fail_msg("refused: %s\n  %s", err, json);
}

/* A recurring silence over every rule. */
static void weekly(struct silence *s, const char *days, const char *start,
                   const char *end, const char *zone)
{
    char json[512];

    snprintf(json, sizeof json, "{\"matchers\": {\"rule\": \"*\"}, "
             "\"recurrence\": {\"days\": %s, \"start\": \"%s\", \"end\": "
             "\"%s\", \"tz\": \"%s\"}, \"comment\": \"window\", "
             "\"created_by\": \"ops\"}", days, start, end, zone);
    parse_ok(s, json);
}

/* s is active exactly in [from, to): checked at from - 1 ms, from,
 * to - 1 ms and to. */
static void active_in(const struct silence *s, int64_t from, int64_t to)
{
    char t[32];

    clock_format_iso8601(from, t, sizeof t);
    if (silence_state(s, from - 1) == SILENCE_ACTIVE)
        fail_msg("active just before %s", t);
    if (silence_state(s, from) != SILENCE_ACTIVE)
        fail_msg("not active at %s", t);
    clock_format_iso8601(to, t, sizeof t);
    if (silence_state(s, to - 1) != SILENCE_ACTIVE)
        fail_msg("not active just before %s", t);
    if (silence_state(s, to) == SILENCE_ACTIVE)
        fail_msg("still active at %s", t);
}

/* ---- parsing ---------------------------------------------------------- */

static void test_parse_one_off(void **state)
{
    struct silence s;

    (void)state;
    parse_ok(&s, "{\"matchers\": {\"rule\": \"latency\", \"severity\": "
             "\"warning\", \"group.tool_name\": \"postgres_*\", "
             "\"labels.team\": \"db\"}, \"starts_at\": "
             "\"2026-03-10T13:00:00Z\", \"ends_at\": "
             "\"2026-03-10T15:00:00+01:00\", \"comment\": \"maintenance\\n"
             "of the DB\", \"created_by\": \"alice\"}");
    assert_int_equal(s.nmatchers, 4);
    assert_int_equal(s.m[0].kind, SILENCE_M_RULE);
    assert_int_equal(s.m[1].kind, SILENCE_M_SEVERITY);
    assert_int_equal(s.m[2].kind, SILENCE_M_GROUP);
    assert_string_equal(s.m[2].name, "tool_name");
    assert_string_equal(s.m[2].glob, "postgres_*");
    assert_int_equal(s.m[3].kind, SILENCE_M_LABEL);
    assert_string_equal(s.m[3].name, "team");
    assert_false(s.recurring);
    assert_int_equal(s.starts_ms, UTC(2026, 3, 10, 13, 0));
    assert_int_equal(s.ends_ms, UTC(2026, 3, 10, 14, 0));
    assert_string_equal(s.comment, "maintenance\nof the DB");
    assert_string_equal(s.created_by, "alice");
    assert_int_equal(s.created_ms, NOW);
    assert_string_equal(s.id, "");

    /* starts_at defaults to now */
    parse_ok(&s, "{\"matchers\": {\"rule\": \"x\"}, \"ends_at\": "
             "\"2026-03-10T12:00:01Z\", \"comment\": \"c\", "
             "\"created_by\": \"b\"}");
    assert_int_equal(s.starts_ms, NOW);
    assert_int_equal(silence_state(&s, NOW), SILENCE_ACTIVE);
}

static void test_parse_recurrence(void **state)
{
    struct silence s;

    (void)state;
    weekly(&s, "[\"sat\", \"SUN\"]", "22:00", "06:00", "Europe/Berlin");
    assert_true(s.recurring);
    assert_int_equal(s.rec.days, (1u << 6) | 1u);
    assert_int_equal(s.rec.start_min, 22 * 60);
    assert_int_equal(s.rec.end_min, 6 * 60);
    assert_string_equal(s.rec.tz, "Europe/Berlin");
    assert_non_null(s.rec.zone);
}

/* Each refusal and the message it gives. */
static void test_parse_refusals(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"", "not a JSON object (at byte 0)"},
        {"{\"matchers\": ", "not a JSON object"},
        {"{} {}", "not a JSON object (at byte 3)"},
        {"[]", "silence: expected a JSON object"},
        {"{\"comment\": \"c\", \"created_by\": \"b\", \"ends_at\": "
         "\"2027-01-01T00:00:00Z\"}",
         "matchers: missing; at least one of rule"},
        {"{\"matchers\": {}, \"ends_at\": \"2027-01-01T00:00:00Z\"}",
         "matchers: expected an object of 1 to 16 matchers"},
        {"{\"matchers\": {\"rules\": \"x\"}}",
         "matchers.rules: unknown key; did you mean rule?"},
        {"{\"matchers\": {\"group.\": \"x\"}}",
         "matchers.group.: expected a field name"},
        {"{\"matchers\": {\"group.a b\": \"x\"}}",
         "matchers.group.a b: expected a field name"},
        {"{\"matchers\": {\"rule\": \"\"}}",
         "matchers.rule: expected a glob of 1 to 255 bytes"},
        {"{\"matchers\": {\"rule\": 5}}",
         "matchers.rule: expected a glob of 1 to 255 bytes of UTF-8 text, "
         "got 5"},
        {"{\"matchers\": {\"rule\": \"a\\u0001\"}}",
         "matchers.rule: expected a glob"},
        {"{\"matchers\": {\"rule\": \"\xff\"}}",
         "matchers.rule: expected a glob"},
        {"{\"matchers\": {\"rule\": \"a\", \"rule\": \"b\"}}",
         "matchers.rule: duplicate key"},
        {"{\"matchers\": {\"severity\": \"urgent\"}}",
         "matchers.severity: expected a severity (info, warning, error, "
         "critical) or a glob matching one, got \"urgent\""},
        {"{\"matchers\": {\"rule\": \"a\"}, \"comment\": \"c\", "
         "\"created_by\": \"b\"}",
         "ends_at: missing; a silence needs ends_at, or a recurrence"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"ends_at\": \"tomorrow\"}",
         "ends_at: expected an ISO 8601 time (2026-03-10T02:00:00Z), got "
         "\"tomorrow\""},
        {"{\"matchers\": {\"rule\": \"a\"}, \"ends_at\": "
         "\"2026-03-10T11:00:00Z\"}", "ends_at: in the past"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"starts_at\": "
         "\"2026-03-12T00:00:00Z\", \"ends_at\": \"2026-03-11T00:00:00Z\"}",
         "ends_at: not after starts_at"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"ends_at\": "
         "\"2027-01-01T00:00:00Z\", \"comment\": \"\", \"created_by\": "
         "\"b\"}", "comment: expected a text of 1 to 1023 bytes"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"ends_at\": "
         "\"2027-01-01T00:00:00Z\", \"comment\": \"c\"}",
         "created_by: missing"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"ends_at\": "
         "\"2027-01-01T00:00:00Z\", \"comment\": \"c\", \"created_by\": "
         "\"b\\nc\"}", "created_by: expected a name of 1 to 127 bytes"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"id\": \"0123456789abcdef\"}",
         "id: unknown key"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"comment\": \"c\", "
         "\"coment\": \"c\"}", "coment: unknown key; did you mean comment?"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"comment\": \"c\", "
         "\"comment\": \"d\"}", "comment: duplicate key"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"ends_at\": "
         "\"2027-01-01T00:00:00Z\", \"recurrence\": {}}",
         "ends_at: a recurring silence has no starts_at or ends_at"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"01:00\", \"end\": \"02:00\"}}",
         "recurrence.tz: missing"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"01:00\", \"end\": \"02:00\", \"tz\": "
         "\"UTC\", \"every\": 2}}",
         "recurrence.every: unknown key"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[], \"start\": \"01:00\", \"end\": \"02:00\", \"tz\": \"UTC\"}}",
         "recurrence.days: expected an array of 1 to 7 distinct days"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"monday\"], \"start\": \"01:00\", \"end\": \"02:00\", \"tz\": "
         "\"UTC\"}}", "recurrence.days[0]: expected a day"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\", \"tue\", \"Mon\"], \"start\": \"01:00\", \"end\": "
         "\"02:00\", \"tz\": \"UTC\"}}",
         "recurrence.days[2]: mon is listed twice"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"24:00\", \"end\": \"02:00\", \"tz\": "
         "\"UTC\"}}", "recurrence.start: expected a time \"HH:MM\""},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"1:00\", \"end\": \"02:00\", \"tz\": "
         "\"UTC\"}}", "recurrence.start: expected a time \"HH:MM\""},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"01:00\", \"end\": \"01:60\", \"tz\": "
         "\"UTC\"}}", "recurrence.end: expected a time \"HH:MM\""},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"01:00\", \"end\": \"01:00\", \"tz\": "
         "\"UTC\"}}", "recurrence.end: the same time as start"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"01:00\", \"end\": \"02:00\", \"tz\": "
         "\"../../etc/passwd\"}}",
         "recurrence.tz: expected an IANA time zone name (Europe/Berlin)"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"01:00\", \"end\": \"02:00\", \"tz\": "
         "\"/etc/localtime\"}}", "recurrence.tz: expected an IANA"},
        {"{\"matchers\": {\"rule\": \"a\"}, \"recurrence\": {\"days\": "
         "[\"mon\"], \"start\": \"01:00\", \"end\": \"02:00\", \"tz\": "
         "\"Mars/Olympus_Mons\"}}",
         "recurrence.tz: unknown time zone \"Mars/Olympus_Mons\""},
    };
    struct silence s;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[SILENCE_ERR_MAX] = "";
        int rc = silence_parse(&s, cases[i].json, strlen(cases[i].json),
                               SILENCE_PARSE_REQUEST, &zones, NOW, err,
                               sizeof err);

        if (rc != SILENCE_EINVAL || strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: rc %d, message \"%s\", want \"%s\"", i, rc,
                     err, cases[i].msg);
        assert_int_equal(s.nmatchers, 0); /* nothing half-filled */
    }
}

/* More matchers than allowed, and a body over the cap. */
static void test_parse_bounds(void **state)
{
    char json[SILENCE_BODY_MAX + 64], err[SILENCE_ERR_MAX];
    struct silence s;
    size_t n;

    (void)state;
    n = (size_t)snprintf(json, sizeof json, "{\"matchers\": {");
    for (int i = 0; i <= SILENCE_MATCHERS_MAX; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s\"labels.l%d\": "
                              "\"v\"", i ? ", " : "", i);
    snprintf(json + n, sizeof json - n, "}}");
    assert_int_equal(silence_parse(&s, json, strlen(json),
                                   SILENCE_PARSE_REQUEST, &zones, NOW, err,
                                   sizeof err), SILENCE_EINVAL);
    assert_string_equal(err, "matchers: at most 16 matchers");
    memset(json, ' ', sizeof json);
    assert_int_equal(silence_parse(&s, json, SILENCE_BODY_MAX + 1,
                                   SILENCE_PARSE_REQUEST, &zones, NOW, err,
                                   sizeof err), SILENCE_EINVAL);
    assert_string_equal(err, "the silence is over 16384 bytes");
}

/* What silence_print writes, silence_parse(STORED) reads back. */
static void test_print_and_read_back(void **state)
{
    struct silence s, back;
    char err[SILENCE_ERR_MAX] = "";
    buf b;

    (void)state;
    weekly(&s, "[\"sun\", \"mon\"]", "22:00", "06:30", "America/New_York");
    memcpy(s.id, "00112233aabbccdd", SILENCE_ID_MAX);
    buf_init(&b, 1 << 16);
    assert_int_equal(silence_print(&s, NOW, &b), BUF_OK);
    assert_string_equal(b.data,
        "{\"id\":\"00112233aabbccdd\",\"state\":\"pending\",\"matchers\":"
        "{\"rule\":\"*\"},\"recurrence\":{\"days\":[\"mon\",\"sun\"],"
        "\"start\":\"22:00\",\"end\":\"06:30\",\"tz\":\"America/New_York\"},"
        "\"comment\":\"window\",\"created_by\":\"ops\",\"created_at\":"
        "\"2026-03-10T12:00:00.000Z\",\"expired_at\":null}");
    assert_int_equal(silence_parse(&back, b.data, b.len,
                                   SILENCE_PARSE_STORED, &zones, NOW + HOUR,
                                   err, sizeof err), SILENCE_OK);
    assert_memory_equal(&back, &s, sizeof s);

    buf_reset(&b);
    parse_ok(&s, "{\"matchers\": {\"group.tool_name\": \"a\\\"b\", "
             "\"labels.team\": \"\xc3\xa9quipe\"}, \"ends_at\": "
             "\"2026-03-11T00:00:00Z\", \"comment\": \"tab\\there\", "
             "\"created_by\": \"bob\"}");
    memcpy(s.id, "ffffffffffffffff", SILENCE_ID_MAX);
    assert_int_equal(silence_expire(&s, NOW + MIN), 1);
    assert_int_equal(silence_expire(&s, NOW + 2 * MIN), 0);
    assert_int_equal(silence_print(&s, NOW + 2 * MIN, &b), BUF_OK);
    assert_string_equal(b.data,
        "{\"id\":\"ffffffffffffffff\",\"state\":\"expired\",\"matchers\":"
        "{\"group.tool_name\":\"a\\\"b\",\"labels.team\":\"\xc3\xa9quipe\"},"
        "\"starts_at\":\"2026-03-10T12:00:00.000Z\",\"ends_at\":"
        "\"2026-03-11T00:00:00.000Z\",\"comment\":\"tab\\there\","
        "\"created_by\":\"bob\",\"created_at\":\"2026-03-10T12:00:00.000Z\","
        "\"expired_at\":\"2026-03-10T12:01:00.000Z\"}");
    assert_int_equal(silence_parse(&back, b.data, b.len,
                                   SILENCE_PARSE_STORED, &zones, NOW, err,
                                   sizeof err), SILENCE_OK);
    assert_memory_equal(&back, &s, sizeof s);
    /* the stored form needs its id */
    buf_reset(&b);
    buf_append_str(&b, "{\"matchers\": {\"rule\": \"a\"}, \"ends_at\": "
                   "\"2026-03-11T00:00:00Z\", \"comment\": \"c\", "
                   "\"created_by\": \"b\"}");
    assert_int_equal(silence_parse(&back, b.data, b.len,
                                   SILENCE_PARSE_STORED, &zones, NOW, err,
                                   sizeof err), SILENCE_EINVAL);
    assert_string_equal(err, "id: missing");
    buf_free(&b);
}

/* ---- states ----------------------------------------------------------- */

static void test_one_off_states(void **state)
{
    struct silence s;

    (void)state;
    parse_ok(&s, "{\"matchers\": {\"rule\": \"x\"}, \"starts_at\": "
             "\"2026-03-10T13:00:00Z\", \"ends_at\": "
             "\"2026-03-10T14:00:00Z\", \"comment\": \"c\", "
             "\"created_by\": \"b\"}");
    assert_int_equal(silence_state(&s, NOW), SILENCE_PENDING);
    active_in(&s, UTC(2026, 3, 10, 13, 0), UTC(2026, 3, 10, 14, 0));
    assert_int_equal(silence_state(&s, UTC(2026, 3, 10, 14, 0)),
                     SILENCE_EXPIRED);
    assert_int_equal(silence_expired_at(&s, UTC(2026, 3, 11, 0, 0)),
                     UTC(2026, 3, 10, 14, 0));
    assert_int_equal(silence_expired_at(&s, UTC(2026, 3, 10, 13, 59)), 0);
    /* expired by hand while pending, then while active */
    assert_int_equal(silence_expire(&s, NOW), 1);
    assert_int_equal(silence_state(&s, NOW), SILENCE_EXPIRED);
    assert_int_equal(silence_state(&s, UTC(2026, 3, 10, 13, 30)),
                     SILENCE_EXPIRED);
    assert_int_equal(silence_expired_at(&s, NOW + 1), NOW);
    assert_string_equal(silence_state_name(SILENCE_PENDING), "pending");
    assert_string_equal(silence_state_name(SILENCE_ACTIVE), "active");
}

/* Berlin, spring forward on Sunday 2026-03-29 at 01:00Z (02:00 CET ->
 * 03:00 CEST): 01:30-03:30 lasts one hour; 02:15-02:45 does not happen
 * that day; the week's daily windows move by an hour in UTC. */
static void test_berlin_spring_forward(void **state)
{
    struct silence s;

    (void)state;
    weekly(&s, "[\"sun\"]", "01:30", "03:30", "Europe/Berlin");
    active_in(&s, UTC(2026, 3, 29, 0, 30), UTC(2026, 3, 29, 1, 30));
    active_in(&s, UTC(2026, 3, 22, 0, 30), UTC(2026, 3, 22, 2, 30));
    active_in(&s, UTC(2026, 4, 4, 23, 30), UTC(2026, 4, 5, 1, 30));

    weekly(&s, "[\"sun\"]", "02:15", "02:45", "Europe/Berlin");
    for (int64_t t = UTC(2026, 3, 28, 12, 0); t < UTC(2026, 3, 30, 0, 0);
         t += MIN)
        assert_int_not_equal(silence_state(&s, t), SILENCE_ACTIVE);
    active_in(&s, UTC(2026, 4, 5, 0, 15), UTC(2026, 4, 5, 0, 45));

    weekly(&s, "[\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", "
           "\"sun\"]", "09:00", "17:00", "Europe/Berlin");
    active_in(&s, UTC(2026, 3, 28, 8, 0), UTC(2026, 3, 28, 16, 0));
    active_in(&s, UTC(2026, 3, 29, 7, 0), UTC(2026, 3, 29, 15, 0));
    active_in(&s, UTC(2026, 3, 30, 7, 0), UTC(2026, 3, 30, 15, 0));

    /* Saturday 22:00 CET to Sunday 06:00 CEST: 7 hours */
    weekly(&s, "[\"sat\"]", "22:00", "06:00", "Europe/Berlin");
    active_in(&s, UTC(2026, 3, 28, 21, 0), UTC(2026, 3, 29, 4, 0));
    assert_int_equal(silence_state(&s, UTC(2026, 3, 30, 2, 0)),
                     SILENCE_PENDING); /* Monday: Sunday is not a day */
}

/* Berlin, fall back on Sunday 2026-10-25 at 01:00Z (03:00 CEST -> 02:00
 * CET): 01:30-03:30 lasts three hours, 02:15-02:45 happens twice. */
static void test_berlin_fall_back(void **state)
{
    struct silence s;

    (void)state;
    weekly(&s, "[\"sun\"]", "01:30", "03:30", "Europe/Berlin");
    active_in(&s, UTC(2026, 10, 24, 23, 30), UTC(2026, 10, 25, 2, 30));
    for (int64_t t = UTC(2026, 10, 24, 23, 30); t < UTC(2026, 10, 25, 2, 30);
         t += MIN)
        assert_int_equal(silence_state(&s, t), SILENCE_ACTIVE);

    weekly(&s, "[\"sun\"]", "02:15", "02:45", "Europe/Berlin");
    active_in(&s, UTC(2026, 10, 25, 0, 15), UTC(2026, 10, 25, 0, 45));
    active_in(&s, UTC(2026, 10, 25, 1, 15), UTC(2026, 10, 25, 1, 45));
    assert_int_equal(silence_state(&s, UTC(2026, 10, 25, 1, 0)),
                     SILENCE_PENDING);
    /* the week after: once, in CET */
    active_in(&s, UTC(2026, 11, 1, 1, 15), UTC(2026, 11, 1, 1, 45));
}

/* New York: spring forward Sunday 2026-03-08 at 07:00Z (02:00 EST ->
 * 03:00 EDT), fall back Sunday 2026-11-01 at 06:00Z (02:00 EDT -> 01:00
 * EST). */
static void test_new_york_both_changes(void **state)
{
    struct silence s;

    (void)state;
    weekly(&s, "[\"sun\"]", "01:00", "04:00", "America/New_York");
    active_in(&s, UTC(2026, 3, 8, 6, 0), UTC(2026, 3, 8, 8, 0));
    active_in(&s, UTC(2026, 3, 1, 6, 0), UTC(2026, 3, 1, 9, 0));
    active_in(&s, UTC(2026, 11, 1, 5, 0), UTC(2026, 11, 1, 9, 0));

    weekly(&s, "[\"sun\"]", "00:30", "01:30", "America/New_York");
    active_in(&s, UTC(2026, 11, 1, 4, 30), UTC(2026, 11, 1, 5, 30));
    active_in(&s, UTC(2026, 11, 1, 6, 0), UTC(2026, 11, 1, 6, 30));

    /* Saturday 22:00 EDT to Sunday 06:00 EST: 9 hours */
    weekly(&s, "[\"sat\"]", "22:00", "06:00", "America/New_York");
    active_in(&s, UTC(2026, 11, 1, 2, 0), UTC(2026, 11, 1, 11, 0));
    /* Saturday 22:00 EST to Sunday 06:00 EDT: 7 hours */
    active_in(&s, UTC(2026, 3, 8, 3, 0), UTC(2026, 3, 8, 10, 0));
}

static void test_recurring_expired_by_hand(void **state)
{
    struct silence s;
    int64_t in = UTC(2026, 3, 14, 23, 0); /* Saturday 23:00 UTC */

    (void)state;
    weekly(&s, "[\"sat\"]", "22:00", "06:00", "UTC");
    assert_int_equal(silence_state(&s, in), SILENCE_ACTIVE);
    assert_int_equal(silence_expired_at(&s, in), 0);
    assert_int_equal(silence_expire(&s, in), 1);
    assert_int_equal(silence_state(&s, in), SILENCE_EXPIRED);
    assert_int_equal(silence_state(&s, in + 7 * 24 * HOUR), SILENCE_EXPIRED);
    assert_int_equal(silence_expired_at(&s, in + 1), in);
}

/* ---- matching --------------------------------------------------------- */

static void test_matches(void **state)
{
    struct alert a;
    struct silence s;

    (void)state;
    memset(&a, 0, sizeof a);
    a.rule = "Latency";
    a.severity = "warning";
    a.ngroup = 2;
    a.group[0] = (struct alert_pair){"tool_name", "postgres_query"};
    a.group[1] = (struct alert_pair){"agent_id", "agent-7"};
    a.nlabels = 1;
    a.labels[0] = (struct alert_pair){"team", "DB"};

    parse_ok(&s, "{\"matchers\": {\"rule\": \"lat*\", \"group.tool_name\":"
             " \"POSTGRES_?uery\"}, \"ends_at\": \"2026-03-10T13:00:00Z\", "
             "\"comment\": \"c\", \"created_by\": \"b\"}");
    assert_true(silence_matches(&s, &a, NOW));
    assert_false(silence_matches(&s, &a, UTC(2026, 3, 10, 13, 0)));
    a.group[0].value = "mysql_query";
    assert_false(silence_matches(&s, &a, NOW));
    a.group[0].value = "postgres_query";

    /* a field the alert's group lacks matches nothing, even "*" */
    parse_ok(&s, "{\"matchers\": {\"group.session_id\": \"*\"}, "
             "\"ends_at\": \"2026-03-10T13:00:00Z\", \"comment\": \"c\", "
             "\"created_by\": \"b\"}");
    assert_false(silence_matches(&s, &a, NOW));

    parse_ok(&s, "{\"matchers\": {\"labels.team\": \"db\", \"severity\": "
             "\"warn*\"}, \"ends_at\": \"2026-03-10T13:00:00Z\", "
             "\"comment\": \"c\", \"created_by\": \"b\"}");
    assert_true(silence_matches(&s, &a, NOW));
    a.severity = "critical";
    assert_false(silence_matches(&s, &a, NOW));
    a.severity = "warning";
    a.nlabels = 0;
    assert_false(silence_matches(&s, &a, NOW));

    /* pending: no match yet */
    parse_ok(&s, "{\"matchers\": {\"rule\": \"*\"}, \"starts_at\": "
             "\"2026-03-10T12:30:00Z\", \"ends_at\": "
             "\"2026-03-10T13:00:00Z\", \"comment\": \"c\", "
             "\"created_by\": \"b\"}");
    assert_false(silence_matches(&s, &a, NOW));
    assert_true(silence_matches(&s, &a, NOW + 30 * MIN));
}

static void test_text_ok(void **state)
{
    (void)state;
    assert_true(silence_text_ok("a", 2, 0));
    assert_false(silence_text_ok("ab", 2, 0));
    assert_false(silence_text_ok("", 8, 0));
    assert_true(silence_text_ok("a\nb", 8, 1));
    assert_false(silence_text_ok("a\nb", 8, 0));
    assert_false(silence_text_ok("a\rb", 8, 1));
    assert_true(silence_text_ok("\xe2\x82\xac", 8, 0));   /* euro */
    assert_false(silence_text_ok("\xe2\x82", 8, 0));      /* cut */
    assert_false(silence_text_ok("\xc0\xaf", 8, 0));      /* overlong */
    assert_false(silence_text_ok("\xed\xa0\x80", 8, 0));  /* surrogate */
    assert_false(silence_text_ok("\xf4\x90\x80\x80", 8, 0));
    assert_true(silence_text_ok("\xf0\x9f\x98\x80", 8, 0));
    assert_false(silence_text_ok("\x7f", 8, 0));
}

/* silence_matchers_parse_errs(): each bad matcher's message in order, the
 * good ones kept; silence_matchers_parse() gives the first of them, as
 * the silence API answers it. */
static void test_matchers_every_error(void **state)
{
    static char msgs[TABLE_ERRS_MAX][TABLE_ERR_MAX];
    struct silence_matcher m[SILENCE_MATCHERS_MAX];
    struct table_errs errs;
    char err[256], text[1024];
    uint32_t n = 99;
    size_t at;
    cJSON *v = cJSON_Parse(
        "{\"rules\": \"x\", \"severity\": \"urgent\", \"rule\": \"db*\","
        " \"group.a b\": \"x\", \"labels.team\": 5, \"rule\": \"y\","
        " \"labels.env\": \"prod\"}");

    (void)state;
    assert_non_null(v);
    table_errs_init(&errs, msgs, TABLE_ERRS_MAX);
    assert_int_equal(silence_matchers_parse_errs(m, &n, v, "inhibit[0].source",
                                                 &errs),
                     SILENCE_EINVAL);
    assert_int_equal(table_errs_count(&errs), 5);
    assert_string_equal(table_errs_at(&errs, 0),
                        "inhibit[0].source.rules: unknown key; did you "
                        "mean rule?");
    assert_string_equal(table_errs_at(&errs, 1),
                        "inhibit[0].source.severity: expected a severity "
                        "(info, warning, error, critical) or a glob "
                        "matching one, got \"urgent\"");
    assert_string_equal(table_errs_at(&errs, 2),
                        "inhibit[0].source.group.a b: expected a field name "
                        "of 1 to 71 letters, digits, _, - or . after "
                        "\"group.\"");
    assert_string_equal(table_errs_at(&errs, 3),
                        "inhibit[0].source.labels.team: expected a glob of 1 "
                        "to 255 bytes of UTF-8 text, got 5");
    assert_string_equal(table_errs_at(&errs, 4),
                        "inhibit[0].source.rule: duplicate key");
    /* the good ones: rule (the first of its name) and labels.env */
    assert_int_equal(n, 2);
    assert_int_equal(m[0].kind, SILENCE_M_RULE);
    assert_string_equal(m[0].glob, "db*");
    assert_int_equal(m[1].kind, SILENCE_M_LABEL);
    assert_string_equal(m[1].name, "env");
    assert_string_equal(m[1].glob, "prod");
    /* one message: the first of the list */
    assert_int_equal(silence_matchers_parse(m, &n, v, "matchers", err,
                                            sizeof err),
                     SILENCE_EINVAL);
    assert_string_equal(err, "matchers.rules: unknown key; did you mean "
                             "rule?");
    cJSON_Delete(v);

    /* 17 matchers, the first bad: its message, then the cap's, once */
    at = (size_t)snprintf(text, sizeof text, "{\"severity\": \"x\"");
    for (int i = 1; i < 18; i++)
        at += (size_t)snprintf(text + at, sizeof text - at,
                               ", \"labels.l%d\": \"v\"", i);
    snprintf(text + at, sizeof text - at, "}");
    assert_non_null(v = cJSON_Parse(text));
    table_errs_init(&errs, msgs, TABLE_ERRS_MAX);
    assert_int_equal(silence_matchers_parse_errs(m, &n, v, "m", &errs),
                     SILENCE_EINVAL);
    assert_int_equal(table_errs_count(&errs), 2);
    assert_string_equal(table_errs_at(&errs, 0),
                        "m.severity: expected a severity (info, warning, "
                        "error, critical) or a glob matching one, got \"x\"");
    assert_string_equal(table_errs_at(&errs, 1), "m: at most 16 matchers");
    assert_int_equal(n, 15);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_one_off),
        cmocka_unit_test(test_parse_recurrence),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_print_and_read_back),
        cmocka_unit_test(test_one_off_states),
        cmocka_unit_test(test_berlin_spring_forward),
        cmocka_unit_test(test_berlin_fall_back),
        cmocka_unit_test(test_new_york_both_changes),
        cmocka_unit_test(test_recurring_expired_by_hand),
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_text_ok),
        cmocka_unit_test(test_matchers_every_error),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_zones);
}
