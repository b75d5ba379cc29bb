/*
 * test_render.c - the status documents (status/render.h) as pure
 * functions: each renderer called directly on a hand-built snapshot with
 * fixed clocks, the answer compared byte for byte or member by member.
 *
 * /status: every member's value, the member order, whole documents for a
 * known and an empty snapshot, clamped counts, strings that need JSON
 * escaping, counters at UINT64_MAX, times at the edges and the
 * configuration's reload record through a service's life.  /metrics:
 * every family described, its samples and their order, label escaping, a
 * whole empty document and, when promtool is installed, `promtool check
 * metrics`.  /healthz and /readyz: codes and bodies at each threshold and
 * for each reason.  Nothing here opens a socket or reads a clock.
 */
#include "status_helpers.h"

#include <sys/wait.h>
#include <unistd.h>

/* the clocks every document is rendered at: two hours after T0 */
#define NOW_WALL (T0 + 7200 * 1000LL)
#define NOW_MONO 5000000LL

#define U64_MAX_TEXT "18446744073709551615"

/* The /status document of s at NOW_WALL, NOW_MONO (b: buf_free it). */
static void json_of(buf *b, const struct status_snapshot *s)
{
    buf_init(b, 1u << 20);
    assert_int_equal(status_render_json(b, s, NOW_WALL, NOW_MONO), BUF_OK);
}

/* The /metrics text of s, NUL-terminated (b: buf_free it). */
static void metrics_of(buf *b, const struct status_snapshot *s)
{
    buf_init(b, 1u << 20);
    assert_int_equal(status_render_metrics(b, s), BUF_OK);
    assert_int_equal(buf_append(b, "", 1), BUF_OK);
    b->len--;
}

/* The document in b is exactly `want`. */
static void assert_bytes(const buf *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
        fail_msg("got %zu bytes:\n%.*s\nwant %zu bytes:\n%s", b->len,
                 (int)b->len, b->data, strlen(want), want);
}

/* How often `needle` occurs in b. */
static unsigned count_of(const buf *b, const char *needle)
{
    size_t n = strlen(needle);
    unsigned k = 0;

    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->data + i, needle, n) == 0)
            k++;
    return k;
}

/* Does body hold `line` as a whole line? */
static int has_line(const char *body, const char *line)
{
    size_t n = strlen(line);
    const char *p = body;

    while ((p = strstr(p, line)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[n] == '\n')
            return 1;
        p += 1;
    }
    return 0;
}

static void assert_line(const char *body, const char *line)
{
    if (!has_line(body, line))
        fail_msg("missing metrics line: %s\n---\n%s", line, body);
}

/* Every sample's family has # HELP and # TYPE before it. */
static void assert_families_described(const char *body)
{
    const char *p = body;

    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len, nlen;
        char name[128], want[160];

        assert_non_null(eol); /* every line ends with \n */
        len = (size_t)(eol - p);
        if (p[0] != '#') {
            nlen = strcspn(p, "{ ");
            assert_true(nlen < len && nlen < sizeof name);
            snprintf(name, sizeof name, "%.*s", (int)nlen, p);
            snprintf(want, sizeof want, "# TYPE %s ", name);
            if (strstr(body, want) == NULL) { /* a histogram's series? */
                char *u = strrchr(name, '_');
                if (u != NULL && (strcmp(u, "_bucket") == 0 ||
                                  strcmp(u, "_sum") == 0 ||
                                  strcmp(u, "_count") == 0))
                    *u = '\0';
            }
            snprintf(want, sizeof want, "# HELP %s ", name);
            if (strstr(body, want) == NULL || strstr(body, want) > p)
                fail_msg("no HELP before %s", name);
            snprintf(want, sizeof want, "# TYPE %s ", name);
            if (strstr(body, want) == NULL || strstr(body, want) > p)
                fail_msg("no TYPE before %s", name);
        }
        p = eol + 1;
    }
}

/* ---- /status ------------------------------------------------------------ */

static void test_status_json(void **state)
{
    struct status_snapshot s;
    const cJSON *f;
    cJSON *j;
    buf b;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    s.detectors[0].groups_full = 12;
    s.detectors[0].overflow_events = 5;
    s.detectors[0].at_capacity = 1;
    buf_init(&b, 1u << 20);
    assert_int_equal(status_render_json(&b, &s, NOW_WALL, NOW_MONO + 1234),
                     BUF_OK);
    j = parse(&b);
    jstr(j, "version", "1.2.3");
    jnum(j, "uptime_s", 3600);
    jnum(j, "last_tick_ms_ago", 1234);
    jbool(j, "ready", 1);
    jnull(j, "not_ready_reason");

    jstr(j, "stream.state", "connected");
    jstr(j, "stream.url", "https://audit.example.com/v1/stream");
    jbool(j, "stream.connected", 1);
    jstr(j, "stream.connected_since", "2026-03-10T00:00:00.000Z");
    jnull(j, "stream.disconnected_since");
    jstr(j, "stream.last_event_id", "evt-\"42\"");
    jnum(j, "stream.last_event_age_s", 2.5);
    jstr(j, "stream.last_event_at", "2026-03-10T01:59:57.500Z");
    jnum(j, "stream.connects", 3);
    jnum(j, "stream.reconnects", 2);
    jnum(j, "stream.stalls", 1);
    jnum(j, "stream.http_errors", 4);
    jnum(j, "stream.network_errors", 5);
    jnum(j, "stream.last_http_status", 200);

    jnum(j, "events.total", 12345);
    jnum(j, "events.decoded", 12300);
    jnum(j, "events.errors.not_json", 7);
    jnum(j, "events.errors.oversize", 3);
    jnum(j, "events.errors.invalid_utf8", 21);
    jnum(j, "events.errors.truncated", 9);
    jnum(j, "events.errors.bad_timestamp", 0);
    /* the decoder's reasons, then the stream reader's two */
    assert_int_equal(cJSON_GetArraySize(field(j, "events.errors")),
                     EVENT_R_COUNT + 2);
    jnum(j, "events.late", 11);
    jnum(j, "events.duplicates", 13);
    jnum(j, "events.untimed", 2);

    assert_int_equal(cJSON_GetArraySize(field(j, "rules")), 2);
    jstr(j, "rules.0.name", "error_rate");
    jbool(j, "rules.0.enabled", 1);
    jnum(j, "rules.0.keys", 40);
    jnum(j, "rules.0.firing", 1);
    jnum(j, "rules.0.evictions", 6);
    jnum(j, "rules.0.groups_full", 12);
    jnum(j, "rules.0.overflow_events", 5);
    jbool(j, "rules.0.at_capacity", 1);
    jbool(j, "rules.1.at_capacity", 0);
    jnum(j, "rules.0.alerts_fired", 8);
    jnum(j, "rules.0.alerts_resolved", 7);
    jstr(j, "rules.1.name", "volume");
    jbool(j, "rules.1.enabled", 0);

    assert_int_equal(cJSON_GetArraySize(field(j, "firing")), 1);
    jstr(j, "firing.0.rule", "error_rate");
    jstr(j, "firing.0.key", "crm.lookup");
    jstr(j, "firing.0.severity", "error");
    jstr(j, "firing.0.started_at", "2026-03-10T00:00:01.500Z");
    jstr(j, "firing.0.episode", "0123456789abcdef0123456789abcdef");
    jnum(j, "firing_total", 1);

    assert_int_equal(cJSON_GetArraySize(field(j, "sinks")), 2);
    jstr(j, "sinks.0.name", "ops-webhook");
    jstr(j, "sinks.0.kind", "webhook");
    jnum(j, "sinks.0.queue_depth", 3);
    jnum(j, "sinks.0.in_flight", 1);
    jnum(j, "sinks.0.delivered", 100);
    jnum(j, "sinks.0.retries", 4);
    jnum(j, "sinks.0.dead_lettered", 2);
    jbool(j, "sinks.0.disabled", 0);
    jnum(j, "sinks.0.last_status", 503);
    jstr(j, "sinks.0.last_success", "2026-03-10T00:01:00.000Z");
    jstr(j, "sinks.0.last_failure", "2026-03-10T00:02:00.000Z");
    jstr(j, "sinks.0.last_error", "ops-webhook: HTTP 503");
    jstr(j, "sinks.1.name", "we\"ird\\sink\nx");
    jbool(j, "sinks.1.disabled", 1);
    jnull(j, "sinks.1.last_success");
    jnull(j, "sinks.1.last_error");

    jbool(j, "journal.writable", 1);
    f = field(j, "journal");
    assert_int_equal(cJSON_GetArraySize(f), 1);

    jbool(j, "config.last_reload_ok", 0);
    jstr(j, "config.last_reload_at", "2026-03-10T01:59:00.000Z");
    jstr(j, "config.last_reload_error",
         "sinks[1].path: cannot open \"/var/log/tw/a.ndjson\"");
    jstr(j, "config.loaded_at", "2026-03-10T01:50:00.000Z");
    jnum(j, "config.reloads", 3);
    jnum(j, "config.reload_failures", 1);
    cJSON_Delete(j);
    buf_free(&b);
}

/* The whole document, to the byte: numbers as the renderer writes them
 * (ages with three decimals), no spaces, one newline at the end. */
static void test_status_json_bytes(void **state)
{
    struct status_snapshot s;
    buf b;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    json_of(&b, &s);
    assert_bytes(&b,
    "{\"version\":\"1.2.3\",\"started_at\":\"2026-03-10T01:00:00.000Z\","
    "\"detection\":\"live\",\"uptime_s\":3600,\"last_tick_ms_ago\":0,\"ready\":true,"
    "\"not_ready_reason\":null,\"stream\":{\"state\":\"connected\","
    "\"url\":\"https://audit.example.com/v1/stream\",\"connected\":true,"
    "\"connected_since\":\"2026-03-10T00:00:00.000Z\","
    "\"disconnected_since\":null,\"last_event_id\":\"evt-\\\"42\\\"\","
    "\"last_event_at\":\"2026-03-10T01:59:57.500Z\","
    "\"last_event_age_s\":2.500,\"lag_s\":1.500,\"max_lag_s\":300.000,"
    "\"clock_jumps\":1,\"connects\":3,\"reconnects\":2,"
    "\"stalls\":1,\"http_errors\":4,\"network_errors\":5,"
    "\"last_http_status\":200},\"events\":{\"total\":12345,"
    "\"decoded\":12300,\"errors\":{\"not_json\":7,\"not_object\":0,"
    "\"too_large\":0,\"duplicate_key\":0,\"wrong_type\":0,"
    "\"bad_timestamp\":0,\"bad_value\":0,\"truncated\":9,"
    "\"oversize\":3,\"invalid_utf8\":21},\"late\":11,"
    "\"duplicates\":13,\"untimed\":2,\"clamped\":4},"
    "\"rules\":[{\"name\":\"error_rate\",\"enabled\":true,\"keys\":40,"
    "\"firing\":1,\"evictions\":6,\"groups_full\":0,"
    "\"overflow_events\":0,\"at_capacity\":false,\"alerts_fired\":8,"
    "\"alerts_resolved\":7,\"detection\":\"live\"},{\"name\":\"volume\","
    "\"enabled\":false,\"keys\":0,\"firing\":0,\"evictions\":0,"
    "\"groups_full\":0,\"overflow_events\":0,\"at_capacity\":false,"
    "\"alerts_fired\":0,\"alerts_resolved\":0,\"detection\":\"live\"}],\"firing\":[{\"rule\":\"error_rate\","
    "\"key\":\"crm.lookup\",\"severity\":\"error\","
    "\"started_at\":\"2026-03-10T00:00:01.500Z\","
    "\"episode\":\"0123456789abcdef0123456789abcdef\","
    "\"silenced_by\":null,\"inhibited_by\":null,\"acked_by\":null,"
    "\"acked_at\":null}],"
    "\"firing_total\":1,"
    "\"sinks\":[{\"name\":\"ops-webhook\",\"kind\":\"webhook\","
    "\"queue_depth\":3,\"in_flight\":1,\"delivered\":100,\"retries\":4,"
    "\"retried\":3,\"requests\":106,"
    "\"dead_lettered\":2,\"digested\":0,\"dropped\":0,\"spilled\":0,"
    "\"disabled\":false,\"last_status\":503,"
    "\"last_success\":\"2026-03-10T00:01:00.000Z\","
    "\"last_failure\":\"2026-03-10T00:02:00.000Z\","
    "\"last_error\":\"ops-webhook: HTTP 503\"},"
    "{\"name\":\"we\\\"ird\\\\sink\\nx\",\"kind\":\"file\","
    "\"queue_depth\":0,\"in_flight\":0,\"delivered\":0,\"retries\":0,"
    "\"retried\":0,\"requests\":0,"
    "\"dead_lettered\":0,\"digested\":0,\"dropped\":0,\"spilled\":0,"
    "\"disabled\":true,\"last_status\":0,"
    "\"last_success\":null,\"last_failure\":null,\"last_error\":null}],"
    "\"journal\":{\"writable\":true},"
    "\"oncall\":{\"silences_active\":0,\"silences_pending\":0,"
    "\"silences_expired\":0,\"silenced\":0,\"acked\":0,\"unfired\":0,"
    "\"inhibited\":0,\"released\":0,\"untracked\":0},"
    "\"config\":{\"last_reload_ok\":false,"
    "\"last_reload_at\":\"2026-03-10T01:59:00.000Z\","
    "\"last_reload_error\":\"sinks[1].path: cannot open "
    "\\\"/var/log/tw/a.ndjson\\\"\","
    "\"loaded_at\":\"2026-03-10T01:50:00.000Z\",\"reloads\":3,"
    "\"reload_failures\":1},"
    "\"checkpoint\":{\"last_success\":\"2026-03-10T01:59:57.500Z\","
    "\"bytes\":123456,\"write_s\":0.002500,\"serialize_s\":1.000800,"
    "\"writes\":7,\"failures\":1,\"refused\":0,\"not_resent\":3}}\n");
    buf_free(&b);
}

/* A zeroed snapshot, to the byte.  /status: every member still there,
 * times null, arrays empty, not ready for the two reasons a zero implies.
 * /metrics: every family described, the arrays' families without samples,
 * every counter 0. */
static void test_empty_snapshot(void **state)
{
    struct status_snapshot s;
    buf b;

    (void)state;
    memset(&s, 0, sizeof s);
    json_of(&b, &s);
    assert_bytes(&b,
    "{\"version\":\"\",\"started_at\":null,\"detection\":\"\","
    "\"uptime_s\":0,"
    "\"last_tick_ms_ago\":5000000,\"ready\":false,"
    "\"not_ready_reason\":\"stream not connected; journal not writable\","
    "\"stream\":{\"state\":\"\",\"url\":\"\",\"connected\":false,"
    "\"connected_since\":null,\"disconnected_since\":null,"
    "\"last_event_id\":null,\"last_event_at\":null,"
    "\"last_event_age_s\":null,\"lag_s\":0.000,\"max_lag_s\":0.000,"
    "\"clock_jumps\":0,\"connects\":0,\"reconnects\":0,"
    "\"stalls\":0,\"http_errors\":0,\"network_errors\":0,"
    "\"last_http_status\":0},\"events\":{\"total\":0,\"decoded\":0,"
    "\"errors\":{\"not_json\":0,\"not_object\":0,\"too_large\":0,"
    "\"duplicate_key\":0,\"wrong_type\":0,\"bad_timestamp\":0,\"bad_value\":0,\"truncated\":0,"
    "\"oversize\":0,\"invalid_utf8\":0},\"late\":0,\"duplicates\":0,"
    "\"untimed\":0,\"clamped\":0},\"rules\":[],\"firing\":[],\"firing_total\":0,"
    "\"sinks\":[],\"journal\":{\"writable\":false},"
    "\"oncall\":{\"silences_active\":0,\"silences_pending\":0,"
    "\"silences_expired\":0,\"silenced\":0,\"acked\":0,\"unfired\":0,"
    "\"inhibited\":0,\"released\":0,\"untracked\":0},"
    "\"config\":{\"last_reload_ok\":true,\"last_reload_at\":null,"
    "\"last_reload_error\":null,\"loaded_at\":null,\"reloads\":0,"
    "\"reload_failures\":0},"
    "\"checkpoint\":{\"last_success\":null,\"bytes\":0,"
    "\"write_s\":0.000000,\"serialize_s\":0.000000,\"writes\":0,"
    "\"failures\":0,\"refused\":0,\"not_resent\":0}}\n");
    buf_free(&b);

    metrics_of(&b, &s);
    assert_bytes(&b,
    "# HELP toolwatch_build_info Always 1; the version is in the label.\n"
    "# TYPE toolwatch_build_info gauge\n"
    "toolwatch_build_info{version=\"\"} 1\n"
    "# HELP toolwatch_start_time_seconds Unix time the service started.\n"
    "# TYPE toolwatch_start_time_seconds gauge\n"
    "toolwatch_start_time_seconds 0.000\n"
    "# HELP toolwatch_detection_unknown 1 while the audit stream is "
    "disconnected or stalled: the rules are not judged, their state is "
    "unknown (nothing resolves).\n"
    "# TYPE toolwatch_detection_unknown gauge\n"
    "toolwatch_detection_unknown 0\n"
    "# HELP toolwatch_events_total Audit stream events received.\n"
    "# TYPE toolwatch_events_total counter\n"
    "toolwatch_events_total 0\n"
    "# HELP toolwatch_events_decoded_total Audit records decoded and "
    "accepted.\n"
    "# TYPE toolwatch_events_decoded_total counter\n"
    "toolwatch_events_decoded_total 0\n"
    "# HELP toolwatch_event_errors_total Audit records or fields rejected, "
    "by reason (oversize: events over stream.max_event_bytes, skipped; "
    "invalid_utf8: bytes replaced by U+FFFD).\n"
    "# TYPE toolwatch_event_errors_total counter\n"
    "toolwatch_event_errors_total{reason=\"not_json\"} 0\n"
    "toolwatch_event_errors_total{reason=\"not_object\"} 0\n"
    "toolwatch_event_errors_total{reason=\"too_large\"} 0\n"
    "toolwatch_event_errors_total{reason=\"duplicate_key\"} 0\n"
    "toolwatch_event_errors_total{reason=\"wrong_type\"} 0\n"
    "toolwatch_event_errors_total{reason=\"bad_timestamp\"} 0\n"
    "toolwatch_event_errors_total{reason=\"bad_value\"} 0\n"
    "toolwatch_event_errors_total{reason=\"truncated\"} 0\n"
    "toolwatch_event_errors_total{reason=\"oversize\"} 0\n"
    "toolwatch_event_errors_total{reason=\"invalid_utf8\"} 0\n"
    "# HELP toolwatch_events_late_total Events older than a rule's "
    "window.\n"
    "# TYPE toolwatch_events_late_total counter\n"
    "toolwatch_events_late_total 0\n"
    "# HELP toolwatch_events_duplicate_total Events ignored as duplicate "
    "record ids.\n"
    "# TYPE toolwatch_events_duplicate_total counter\n"
    "toolwatch_events_duplicate_total 0\n"
    "# HELP toolwatch_events_untimed_total Events ignored for want of a "
    "timestamp and a clock.\n"
    "# TYPE toolwatch_events_untimed_total counter\n"
    "toolwatch_events_untimed_total 0\n"
    "# HELP toolwatch_events_clamped_total Events stamped too far ahead "
    "(of the wall clock, or of the stream's own time), counted at the "
    "stream's time instead.\n"
    "# TYPE toolwatch_events_clamped_total counter\n"
    "toolwatch_events_clamped_total 0\n"
    "# HELP toolwatch_stream_connected 1 while the audit stream is "
    "connected.\n"
    "# TYPE toolwatch_stream_connected gauge\n"
    "toolwatch_stream_connected 0\n"
    "# HELP toolwatch_stream_connects_total Successful audit stream "
    "connections.\n"
    "# TYPE toolwatch_stream_connects_total counter\n"
    "toolwatch_stream_connects_total 0\n"
    "# HELP toolwatch_stream_reconnects_total Audit stream requests after "
    "the first.\n"
    "# TYPE toolwatch_stream_reconnects_total counter\n"
    "toolwatch_stream_reconnects_total 0\n"
    "# HELP toolwatch_stream_stalls_total Audit stream connections dropped "
    "for silence.\n"
    "# TYPE toolwatch_stream_stalls_total counter\n"
    "toolwatch_stream_stalls_total 0\n"
    "# HELP toolwatch_stream_errors_total Audit stream failures, by kind.\n"
    "# TYPE toolwatch_stream_errors_total counter\n"
    "toolwatch_stream_errors_total{kind=\"http\"} 0\n"
    "toolwatch_stream_errors_total{kind=\"network\"} 0\n"
    "# HELP toolwatch_last_event_timestamp_seconds Unix time the last "
    "audit event was received (0: none).\n"
    "# TYPE toolwatch_last_event_timestamp_seconds gauge\n"
    "toolwatch_last_event_timestamp_seconds 0.000\n"
    "# HELP toolwatch_stream_lag_seconds How long after their timestamps "
    "the audit stream's events arrive: the smallest lag of the last 30 s, "
    "held while the stream is quiet.\n"
    "# TYPE toolwatch_stream_lag_seconds gauge\n"
    "toolwatch_stream_lag_seconds 0.000\n"
    "# HELP toolwatch_stream_clock_jumps_total Times the stream's own time "
    "moved ahead: events stamped far ahead of it, in step with each "
    "other, taken as its new time.\n"
    "# TYPE toolwatch_stream_clock_jumps_total counter\n"
    "toolwatch_stream_clock_jumps_total 0\n"
    "# HELP toolwatch_alerts_total Alert episodes started (firing) and "
    "ended (resolved).\n"
    "# TYPE toolwatch_alerts_total counter\n"
    "# HELP toolwatch_alerts_firing Alert episodes open now, per rule.\n"
    "# TYPE toolwatch_alerts_firing gauge\n"
    "# HELP toolwatch_rule_enabled 1 when the rule is in force.\n"
    "# TYPE toolwatch_rule_enabled gauge\n"
    "# HELP toolwatch_rule_keys Groups (keys) tracked by the rule.\n"
    "# TYPE toolwatch_rule_keys gauge\n"
    "# HELP toolwatch_rule_unknown 1 while the rule is not judged (the "
    "stream disconnected or stalled): its state is unknown, not clear.\n"
    "# TYPE toolwatch_rule_unknown gauge\n"
    "# HELP toolwatch_rule_evictions_total Groups evicted from a rule's "
    "full table.\n"
    "# TYPE toolwatch_rule_evictions_total counter\n"
    "# HELP toolwatch_rule_groups_full_total Events of new groups a rule "
    "had no room for, every group having an open alert (its overflow "
    "group took them, for the kinds that run one).\n"
    "# TYPE toolwatch_rule_groups_full_total counter\n"
    "# HELP toolwatch_rule_overflow_events Events the rule's overflow "
    "group has taken since it was made (0: no overflow group now).\n"
    "# TYPE toolwatch_rule_overflow_events gauge\n"
    "# HELP toolwatch_rule_at_capacity 1 while the rule's rule_capacity "
    "warning is open: every group it may keep has an open alert.\n"
    "# TYPE toolwatch_rule_at_capacity gauge\n"
    "# HELP toolwatch_notifications_total Notifications per sink by "
    "outcome; result=\"retry\" counts those that needed a retry, once "
    "each, and they count again in their final outcome.\n"
    "# TYPE toolwatch_notifications_total counter\n"
    "# HELP toolwatch_notification_requests_total Requests (or file "
    "writes) made, per sink: the first attempts and the retries.\n"
    "# TYPE toolwatch_notification_requests_total counter\n"
    "# HELP toolwatch_notification_latency_seconds Time from a "
    "notification's creation to the receiver's 2xx (or the file's fsync), "
    "per sink; retries included.\n"
    "# TYPE toolwatch_notification_latency_seconds histogram\n"
    "# HELP toolwatch_journal_pending Notifications not yet acknowledged, "
    "per sink.\n"
    "# TYPE toolwatch_journal_pending gauge\n"
    "# HELP toolwatch_journal_spilled Notifications of the queue held in "
    "the journal only, per sink.\n"
    "# TYPE toolwatch_journal_spilled gauge\n"
    "# HELP toolwatch_notifications_in_flight Requests in flight, per "
    "sink.\n"
    "# TYPE toolwatch_notifications_in_flight gauge\n"
    "# HELP toolwatch_sink_disabled 1 when the sink answered 410 and is "
    "disabled.\n"
    "# TYPE toolwatch_sink_disabled gauge\n"
    "# HELP toolwatch_sink_last_success_timestamp_seconds Unix time of the "
    "sink's last delivery (0: none).\n"
    "# TYPE toolwatch_sink_last_success_timestamp_seconds gauge\n"
    "# HELP toolwatch_journal_writable 1 when the delivery journal's last "
    "write succeeded.\n"
    "# TYPE toolwatch_journal_writable gauge\n"
    "toolwatch_journal_writable 0\n"
    "# HELP toolwatch_silences Silences kept, by state (expired ones until "
    "pruned).\n"
    "# TYPE toolwatch_silences gauge\n"
    "toolwatch_silences{state=\"active\"} 0\n"
    "toolwatch_silences{state=\"pending\"} 0\n"
    "toolwatch_silences{state=\"expired\"} 0\n"
    "# HELP toolwatch_notifications_suppressed_total Notifications not sent "
    "to any sink, by reason (silenced; acked: a repeat of an acknowledged "
    "episode; unfired: a resolve whose firing never went out).\n"
    "# TYPE toolwatch_notifications_suppressed_total counter\n"
    "toolwatch_notifications_suppressed_total{reason=\"silenced\"} 0\n"
    "toolwatch_notifications_suppressed_total{reason=\"acked\"} 0\n"
    "toolwatch_notifications_suppressed_total{reason=\"unfired\"} 0\n"
    "# HELP toolwatch_notifications_inhibited_total Notifications not sent "
    "because an open episode inhibits them (the config's inhibit rules).\n"
    "# TYPE toolwatch_notifications_inhibited_total counter\n"
    "toolwatch_notifications_inhibited_total 0\n"
    "# HELP toolwatch_notifications_released_total Held firings sent when "
    "the silence muting them ended.\n"
    "# TYPE toolwatch_notifications_released_total counter\n"
    "toolwatch_notifications_released_total 0\n"
    "# HELP toolwatch_episodes_untracked_total Episodes past the "
    "notification gate's caps, sent as if no silence or acknowledgement "
    "existed.\n"
    "# TYPE toolwatch_episodes_untracked_total counter\n"
    "toolwatch_episodes_untracked_total 0\n"
    "# HELP toolwatch_config_last_reload_successful 1 when the last "
    "configuration reload was taken (or none was tried), 0 when it was "
    "refused.\n"
    "# TYPE toolwatch_config_last_reload_successful gauge\n"
    "toolwatch_config_last_reload_successful 1\n"
    "# HELP toolwatch_config_last_reload_success_timestamp_seconds Unix "
    "time the configuration in force was loaded (the start, or the last "
    "reload taken).\n"
    "# TYPE toolwatch_config_last_reload_success_timestamp_seconds gauge\n"
    "toolwatch_config_last_reload_success_timestamp_seconds 0.000\n"
    "# HELP toolwatch_config_reloads_total Configuration reloads tried "
    "(SIGHUP).\n"
    "# TYPE toolwatch_config_reloads_total counter\n"
    "toolwatch_config_reloads_total 0\n"
    "# HELP toolwatch_config_reload_failures_total Configuration reloads "
    "refused; the running configuration stayed.\n"
    "# TYPE toolwatch_config_reload_failures_total counter\n"
    "toolwatch_config_reload_failures_total 0\n"
    "# HELP toolwatch_checkpoint_last_success_timestamp_seconds Unix time "
    "the last detection checkpoint was written (0: none yet).\n"
    "# TYPE toolwatch_checkpoint_last_success_timestamp_seconds gauge\n"
    "toolwatch_checkpoint_last_success_timestamp_seconds 0.000\n"
    "# HELP toolwatch_checkpoint_size_bytes Size of the last detection "
    "checkpoint written.\n"
    "# TYPE toolwatch_checkpoint_size_bytes gauge\n"
    "toolwatch_checkpoint_size_bytes 0\n"
    "# HELP toolwatch_checkpoint_write_duration_seconds How long the last "
    "checkpoint took to write (temporary file, fsync, rename, directory "
    "fsync; off the event loop).\n"
    "# TYPE toolwatch_checkpoint_write_duration_seconds gauge\n"
    "toolwatch_checkpoint_write_duration_seconds 0.000000\n"
    "# HELP toolwatch_checkpoint_serialize_duration_seconds How long the "
    "last checkpoint took to serialize (on the event loop, between "
    "events).\n"
    "# TYPE toolwatch_checkpoint_serialize_duration_seconds gauge\n"
    "toolwatch_checkpoint_serialize_duration_seconds 0.000000\n"
    "# HELP toolwatch_checkpoint_writes_total Detection checkpoints "
    "written.\n"
    "# TYPE toolwatch_checkpoint_writes_total counter\n"
    "toolwatch_checkpoint_writes_total 0\n"
    "# HELP toolwatch_checkpoint_failures_total Detection checkpoints not "
    "written (an I/O error, or over detectors.checkpoint_max_mb); the "
    "previous one stays.\n"
    "# TYPE toolwatch_checkpoint_failures_total counter\n"
    "toolwatch_checkpoint_failures_total 0\n"
    "# HELP toolwatch_checkpoint_refused_total Checkpoints refused at "
    "start-up (damaged, truncated, another version or instance): the state "
    "started fresh.\n"
    "# TYPE toolwatch_checkpoint_refused_total counter\n"
    "toolwatch_checkpoint_refused_total 0\n"
    "# HELP toolwatch_checkpoint_not_resent_total Notifications made again "
    "from events read again after a restart and not sent: the journal held "
    "them already.\n"
    "# TYPE toolwatch_checkpoint_not_resent_total counter\n"
    "toolwatch_checkpoint_not_resent_total 0\n");
    buf_free(&b);
}

/* Counts beyond the arrays are clamped; the firing total still shows. */
static void test_status_json_clamps(void **state)
{
    struct status_snapshot s;
    buf b;
    cJSON *j;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    s.n_detectors = 1000;
    s.n_sinks = 1000;
    s.n_firing = 1000;
    s.firing_total = 5000;
    for (unsigned i = 0; i < STATUS_MAX_FIRING; i++)
        memset(s.firing[i].key, 'k', sizeof s.firing[i].key); /* no NUL */
    buf_init(&b, 1u << 20);
    assert_int_equal(status_render_json(&b, &s, NOW_WALL, NOW_MONO), BUF_OK);
    j = parse(&b);
    assert_int_equal(cJSON_GetArraySize(field(j, "rules")),
                     STATUS_MAX_DETECTORS);
    assert_int_equal(cJSON_GetArraySize(field(j, "sinks")),
                     STATUS_MAX_SINKS);
    assert_int_equal(cJSON_GetArraySize(field(j, "firing")),
                     STATUS_MAX_FIRING);
    assert_int_equal(strlen(field(j, "firing.0.key")->valuestring),
                     STATUS_KEY_MAX);
    jnum(j, "firing_total", 5000);
    cJSON_Delete(j);
    buf_free(&b);

    /* a cap too small fails cleanly */
    buf_init(&b, 100);
    assert_int_equal(status_render_json(&b, &s, 0, 0), BUF_ETOOBIG);
    buf_free(&b);
    buf_init(&b, 100);
    assert_int_equal(status_render_metrics(&b, &s), BUF_ETOOBIG);
    buf_free(&b);
}

/* "k1,k2,..." of o's members, in document order. */
static void keys_of(const cJSON *o, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (const cJSON *c = o->child; c != NULL; c = c->next) {
        int n = snprintf(out + len, cap - len, "%s%s", len ? "," : "",
                         c->string);
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
}

/* The members of every object come in a fixed order (the renderer walks
 * one table for /status and /metrics: this pins the /status side). */
static void test_status_json_order(void **state)
{
    struct status_snapshot s;
    char keys[1024];
    buf b;
    cJSON *j;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    buf_init(&b, 1u << 20);
    assert_int_equal(status_render_json(&b, &s, T0, 0), BUF_OK);
    j = parse(&b);
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "version,started_at,detection,uptime_s,"
                              "last_tick_ms_ago,ready,not_ready_reason,"
                              "stream,events,"
                              "rules,firing,firing_total,sinks,journal,"
                              "oncall,config,checkpoint");
    keys_of(field(j, "stream"), keys, sizeof keys);
    assert_string_equal(keys, "state,url,connected,connected_since,"
                              "disconnected_since,last_event_id,"
                              "last_event_at,last_event_age_s,lag_s,"
                              "max_lag_s,clock_jumps,connects,"
                              "reconnects,stalls,http_errors,network_errors,"
                              "last_http_status");
    keys_of(field(j, "events"), keys, sizeof keys);
    assert_string_equal(keys,
                        "total,decoded,errors,late,duplicates,untimed,"
                        "clamped");
    keys_of(field(j, "events.errors"), keys, sizeof keys);
    assert_string_equal(keys, "not_json,not_object,too_large,"
                              "duplicate_key,wrong_type,"
                              "bad_timestamp,bad_value,truncated,oversize,"
                              "invalid_utf8");
    keys_of(field(j, "rules.1"), keys, sizeof keys);
    assert_string_equal(keys, "name,enabled,keys,firing,evictions,"
                              "groups_full,overflow_events,at_capacity,"
                              "alerts_fired,alerts_resolved,detection");
    keys_of(field(j, "firing.0"), keys, sizeof keys);
    assert_string_equal(keys, "rule,key,severity,started_at,episode,"
                              "silenced_by,inhibited_by,acked_by,"
                              "acked_at");
    keys_of(field(j, "sinks.1"), keys, sizeof keys);
    assert_string_equal(keys, "name,kind,queue_depth,in_flight,delivered,"
                              "retries,retried,requests,dead_lettered,digested,dropped,"
                              "spilled,disabled,last_status,"
                              "last_success,last_failure,last_error");
    keys_of(field(j, "journal"), keys, sizeof keys);
    assert_string_equal(keys, "writable");
    keys_of(field(j, "config"), keys, sizeof keys);
    assert_string_equal(keys, "last_reload_ok,last_reload_at,"
                              "last_reload_error,loaded_at,reloads,"
                              "reload_failures");
    keys_of(field(j, "checkpoint"), keys, sizeof keys);
    assert_string_equal(keys, "last_success,bytes,write_s,serialize_s,"
                              "writes,failures,refused,not_resent");
    assert_int_equal(b.data[b.len - 1], '\n');
    cJSON_Delete(j);
    buf_free(&b);
}

/* Strings that need escaping, in /status and in /metrics labels: where
 * each goes (a /status path), its bytes and its JSON text. */
static const struct {
    const char *path;
    const char *value;
    const char *escaped;
} hostile[] = {
    {"version", "v\"1\\\n\t\001</", "\"v\\\"1\\\\\\n\\t\\u0001</\""},
    {"stream.state", "st\"\n", "\"st\\\"\\n\""},
    {"stream.url", "http://x/\"\\\b\f\n\r\t\002\303\251\342\200\250",
     "\"http://x/\\\"\\\\\\b\\f\\n\\r\\t\\u0002\303\251\342\200\250\""},
    {"stream.last_event_id", "id\n\"\\{}", "\"id\\n\\\"\\\\{}\""},
    {"rules.0.name", "d\\\"\n}{=,\t\303\251",
     "\"d\\\\\\\"\\n}{=,\\t\303\251\""},
    {"firing.0.key", "k\\\033[31m", "\"k\\\\\\u001b[31m\""},
    {"firing.0.episode", "</script>", "\"</script>\""},
    {"sinks.0.name", "s\\n\"\n\\", "\"s\\\\n\\\"\\n\\\\\""},
    {"sinks.0.last_error", "err \"x\"\n\\y\001",
     "\"err \\\"x\\\"\\n\\\\y\\u0001\""},
    {"firing.0.acked_by", "<b>\"o\\k\"</b>", "\"<b>\\\"o\\\\k\\\"</b>\""},
};

/* A snapshot carrying every hostile string, one detector, one firing
 * alert and one sink, and a not_ready_reason that needs escaping too. */
static void fill_hostile(struct status_snapshot *s)
{
    memset(s, 0, sizeof *s);
    copy(s->version, sizeof s->version, hostile[0].value);
    copy(s->stream.state, sizeof s->stream.state, hostile[1].value);
    copy(s->stream.url, sizeof s->stream.url, hostile[2].value);
    copy(s->stream.last_event_id, sizeof s->stream.last_event_id,
         hostile[3].value);
    s->n_detectors = 1;
    copy(s->detectors[0].name, sizeof s->detectors[0].name,
         hostile[4].value);
    s->n_firing = 1;
    copy(s->firing[0].key, sizeof s->firing[0].key, hostile[5].value);
    copy(s->firing[0].episode, sizeof s->firing[0].episode,
         hostile[6].value);
    s->n_sinks = 1;
    copy(s->sinks[0].name, sizeof s->sinks[0].name, hostile[7].value);
    copy(s->sinks[0].last_error, sizeof s->sinks[0].last_error,
         hostile[8].value);
    copy(s->firing[0].acked_by, sizeof s->firing[0].acked_by,
         hostile[9].value);
    copy(s->not_ready_reason, sizeof s->not_ready_reason,
         "a\"b\\c\nd\re\177\037");
}

/* Every string member goes through JSON escaping: quotes, backslashes,
 * control bytes (DEL included) come out escaped, other UTF-8 as it is,
 * and each parses back to the bytes that went in. */
static void test_status_json_hostile_strings(void **state)
{
    struct status_snapshot s;
    char want[256];
    cJSON *j;
    buf b;

    (void)state;
    fill_hostile(&s);
    json_of(&b, &s);
    j = parse(&b);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        const char *key = strrchr(hostile[i].path, '.');

        jstr(j, hostile[i].path, hostile[i].value);
        snprintf(want, sizeof want, "\"%s\":%s",
                 key != NULL ? key + 1 : hostile[i].path, hostile[i].escaped);
        if (count_of(&b, want) != 1)
            fail_msg("%s: no %s in\n%.*s", hostile[i].path, want,
                     (int)b.len, b.data);
    }
    /* the reason text carries the state's bytes too, escaped once */
    jstr(j, "not_ready_reason",
         "a\"b\\c\nd\re\177\037; stream not connected (st\"\n); "
         "journal not writable");
    assert_int_equal(count_of(&b, "\"not_ready_reason\":\"a\\\"b\\\\c\\nd"
                                  "\\re\\u007f\\u001f; stream not connected"
                                  " (st\\\"\\n); journal not writable\""),
                     1);
    cJSON_Delete(j);
    buf_free(&b);
}

/* Every uint64_t counter at UINT64_MAX: all its digits in both documents,
 * no wrap, no sign, no exponent. */
static void set_counters_max(struct status_snapshot *s)
{
    s->stream.connects = UINT64_MAX;
    s->stream.reconnects = UINT64_MAX;
    s->stream.stalls = UINT64_MAX;
    s->stream.http_errors = UINT64_MAX;
    s->stream.network_errors = UINT64_MAX;
    s->stream.clock_jumps = UINT64_MAX;
    s->events.total = UINT64_MAX;
    s->events.decoded = UINT64_MAX;
    for (unsigned i = 0; i < EVENT_R_COUNT; i++)
        s->events.errors[i] = UINT64_MAX;
    s->events.oversize = UINT64_MAX;
    s->events.invalid_utf8 = UINT64_MAX;
    s->events.late = UINT64_MAX;
    s->events.duplicates = UINT64_MAX;
    s->events.untimed = UINT64_MAX;
    s->events.clamped = UINT64_MAX;
    for (unsigned i = 0; i < s->n_detectors; i++) {
        s->detectors[i].keys = UINT64_MAX;
        s->detectors[i].firing = UINT64_MAX;
        s->detectors[i].evictions = UINT64_MAX;
        s->detectors[i].groups_full = UINT64_MAX;
        s->detectors[i].overflow_events = UINT64_MAX;
        s->detectors[i].alerts_fired = UINT64_MAX;
        s->detectors[i].alerts_resolved = UINT64_MAX;
    }
    s->firing_total = UINT64_MAX;
    for (unsigned i = 0; i < s->n_sinks; i++) {
        s->sinks[i].queue_depth = UINT64_MAX;
        s->sinks[i].in_flight = UINT64_MAX;
        s->sinks[i].delivered = UINT64_MAX;
        s->sinks[i].retries = UINT64_MAX;
        s->sinks[i].retried = UINT64_MAX;
        s->sinks[i].requests = UINT64_MAX;
        s->sinks[i].dead_lettered = UINT64_MAX;
    }
    s->config.reloads = UINT64_MAX;
    s->config.reload_failures = UINT64_MAX;
    s->checkpoint.bytes = UINT64_MAX;
    s->checkpoint.writes = UINT64_MAX;
    s->checkpoint.failures = UINT64_MAX;
    s->checkpoint.refused = UINT64_MAX;
    s->checkpoint.not_resent = UINT64_MAX;
}

static void test_counters_at_max(void **state)
{
    /* stream 6, events 2 + reasons + 4, detectors 7 each, sinks 7 each
     * in /status (retries, retried, requests, delivered, dead_lettered,
     * digested, dropped) and 6 in /metrics (retries is /status only),
     * config 2, checkpoint 5 */
    const unsigned per_doc =
        6 + 2 + (EVENT_R_COUNT + 2) + 4 + 2 * 7 + 2 * 7 + 2 + 5;
    const unsigned per_metrics = per_doc - 2;
    struct status_snapshot s;
    buf b;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    set_counters_max(&s);
    json_of(&b, &s);
    /* and firing_total, which is no metric */
    assert_int_equal(count_of(&b, ":" U64_MAX_TEXT), per_doc + 1);
    assert_int_equal(count_of(&b, "\"firing_total\":" U64_MAX_TEXT ","), 1);
    assert_int_equal(count_of(&b, "\"total\":" U64_MAX_TEXT ","), 1);
    assert_int_equal(count_of(&b, "\"alerts_resolved\":" U64_MAX_TEXT ","),
                     2);
    assert_int_equal(count_of(&b, "\"invalid_utf8\":" U64_MAX_TEXT "}"), 1);
    cJSON_Delete(parse(&b));
    buf_free(&b);

    metrics_of(&b, &s);
    /* every sample but up, build_info, the gauges and the times */
    assert_int_equal(count_of(&b, " " U64_MAX_TEXT "\n"), per_metrics);
    assert_line(b.data, "toolwatch_events_total " U64_MAX_TEXT);
    assert_line(b.data, "toolwatch_event_errors_total{reason=\"not_json\"} "
                        U64_MAX_TEXT);
    assert_line(b.data, "toolwatch_event_errors_total"
                        "{reason=\"invalid_utf8\"} " U64_MAX_TEXT);
    assert_line(b.data, "toolwatch_alerts_total{rule=\"volume\","
                        "state=\"resolved\"} " U64_MAX_TEXT);
    assert_line(b.data, "toolwatch_notifications_total{sink=\"ops-webhook\","
                        "result=\"dead_lettered\"} " U64_MAX_TEXT);
    assert_line(b.data, "toolwatch_journal_pending{sink=\"ops-webhook\"} "
                        U64_MAX_TEXT);
    assert_line(b.data, "toolwatch_config_reloads_total " U64_MAX_TEXT);
    assert_line(b.data,
                "toolwatch_config_reload_failures_total " U64_MAX_TEXT);
    buf_free(&b);
}

/* Times at the edges: a tick, start or event in the future is 0 old, not
 * negative; a negative time is "never" (null) in /status and 0 in
 * /metrics; the latest representable time still renders in /metrics. */
static void test_times_at_the_edges(void **state)
{
    struct status_snapshot s;
    cJSON *j;
    buf b;

    (void)state;
    memset(&s, 0, sizeof s);
    s.start_ms = INT64_MAX;
    s.last_tick_mono_ms = INT64_MAX;
    s.stream.connected_since_ms = -5;
    s.stream.last_event_ms = NOW_WALL + 10000;
    s.stream.last_http_status = -1;
    s.n_sinks = 1;
    s.sinks[0].last_success_ms = INT64_MAX;
    s.sinks[0].last_failure_ms = -1;
    s.sinks[0].last_status = 2147483647L;
    json_of(&b, &s);
    j = parse(&b);
    jnull(j, "started_at");
    jnum(j, "uptime_s", 0);
    jnum(j, "last_tick_ms_ago", 0);
    jnull(j, "stream.connected_since");
    jstr(j, "stream.last_event_at", "2026-03-10T02:00:10.000Z");
    jnum(j, "stream.last_event_age_s", 0);
    assert_int_equal(count_of(&b, "\"last_event_age_s\":0.000,"), 1);
    jnum(j, "stream.last_http_status", -1);
    jnull(j, "sinks.0.last_success");
    jnull(j, "sinks.0.last_failure");
    jnum(j, "sinks.0.last_status", 2147483647.0);
    cJSON_Delete(j);
    buf_free(&b);

    metrics_of(&b, &s);
    assert_line(b.data, "toolwatch_start_time_seconds 9223372036854775.807");
    assert_line(b.data, "toolwatch_last_event_timestamp_seconds "
                        "1773108010.000");
    assert_line(b.data, "toolwatch_sink_last_success_timestamp_seconds"
                        "{sink=\"\"} 9223372036854775.807");
    buf_free(&b);

    s.start_ms = -1;
    s.sinks[0].last_success_ms = -1;
    metrics_of(&b, &s);
    assert_line(b.data, "toolwatch_start_time_seconds 0.000");
    assert_line(b.data, "toolwatch_sink_last_success_timestamp_seconds"
                        "{sink=\"\"} 0.000");
    buf_free(&b);
}

/* The /status "config" object and the /metrics config families of s, to
 * the byte: the document from "config" up to the "checkpoint" object that
 * follows it (`json` ends as if "config" were the last: "}}\n"), and the
 * metrics text from the first config family up to the first checkpoint
 * family. */
static void config_is(const struct status_snapshot *s, const char *json,
                      const char *metrics)
{
    char *at, *end;
    buf b;

    json_of(&b, s);
    cJSON_Delete(parse(&b));
    assert_int_equal(buf_append(&b, "", 1), BUF_OK);
    at = strstr(b.data, ",\"config\":");
    assert_non_null(at);
    assert_non_null(end = strstr(at, ",\"checkpoint\":"));
    memcpy(end, "}\n", 3);
    assert_string_equal(at, json);
    buf_free(&b);
    metrics_of(&b, s);
    at = strstr(b.data, "# HELP toolwatch_config_");
    assert_non_null(at);
    assert_non_null(end = strstr(at, "# HELP toolwatch_checkpoint_"));
    *end = '\0';
    assert_string_equal(at, metrics);
    buf_free(&b);
}

#define CONFIG_HELP_OK                                                     \
    "# HELP toolwatch_config_last_reload_successful 1 when the last "      \
    "configuration reload was taken (or none was tried), 0 when it was "  \
    "refused.\n"                                                           \
    "# TYPE toolwatch_config_last_reload_successful gauge\n"
#define CONFIG_HELP_AT                                                     \
    "# HELP toolwatch_config_last_reload_success_timestamp_seconds Unix "  \
    "time the configuration in force was loaded (the start, or the last "  \
    "reload taken).\n"                                                     \
    "# TYPE toolwatch_config_last_reload_success_timestamp_seconds gauge\n"
#define CONFIG_HELP_COUNTS                                                 \
    "# HELP toolwatch_config_reloads_total Configuration reloads tried "   \
    "(SIGHUP).\n"                                                          \
    "# TYPE toolwatch_config_reloads_total counter\n"
#define CONFIG_HELP_FAILURES                                               \
    "# HELP toolwatch_config_reload_failures_total Configuration reloads " \
    "refused; the running configuration stayed.\n"                        \
    "# TYPE toolwatch_config_reload_failures_total counter\n"

/* The configuration's reload record, to the byte, through a service's
 * life: started (no reload yet: ok, loaded at the start), a reload
 * refused (ok false, its time and reason; the load time stays), then one
 * taken (ok again, no reason, the load time is the reload's).  A reason
 * that needs escaping is escaped. */
static void test_config_reload(void **state)
{
    struct status_snapshot s;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    memset(&s.config, 0, sizeof s.config);
    s.config.loaded_ms = T0 + 1000;
    config_is(&s,
              ",\"config\":{\"last_reload_ok\":true,\"last_reload_at\":null,"
              "\"last_reload_error\":null,"
              "\"loaded_at\":\"2026-03-10T00:00:01.000Z\",\"reloads\":0,"
              "\"reload_failures\":0}}\n",
              CONFIG_HELP_OK
              "toolwatch_config_last_reload_successful 1\n"
              CONFIG_HELP_AT
              "toolwatch_config_last_reload_success_timestamp_seconds "
              "1773100801.000\n"
              CONFIG_HELP_COUNTS
              "toolwatch_config_reloads_total 0\n"
              CONFIG_HELP_FAILURES
              "toolwatch_config_reload_failures_total 0\n");

    s.config.reloads = 1;
    s.config.reload_failures = 1;
    s.config.last_reload_failed = 1;
    s.config.last_reload_ms = T0 + 60000;
    copy(s.config.last_reload_error, sizeof s.config.last_reload_error,
         "/etc/tw.json: stream: expected \"}\"\nline 2\t\\");
    config_is(&s,
              ",\"config\":{\"last_reload_ok\":false,"
              "\"last_reload_at\":\"2026-03-10T00:01:00.000Z\","
              "\"last_reload_error\":\"/etc/tw.json: stream: expected "
              "\\\"}\\\"\\nline 2\\t\\\\\","
              "\"loaded_at\":\"2026-03-10T00:00:01.000Z\",\"reloads\":1,"
              "\"reload_failures\":1}}\n",
              CONFIG_HELP_OK
              "toolwatch_config_last_reload_successful 0\n"
              CONFIG_HELP_AT
              "toolwatch_config_last_reload_success_timestamp_seconds "
              "1773100801.000\n"
              CONFIG_HELP_COUNTS
              "toolwatch_config_reloads_total 1\n"
              CONFIG_HELP_FAILURES
              "toolwatch_config_reload_failures_total 1\n");

    s.config.reloads = 2;
    s.config.last_reload_failed = 0;
    s.config.last_reload_ms = T0 + 120500;
    s.config.loaded_ms = T0 + 120500;
    s.config.last_reload_error[0] = '\0';
    config_is(&s,
              ",\"config\":{\"last_reload_ok\":true,"
              "\"last_reload_at\":\"2026-03-10T00:02:00.500Z\","
              "\"last_reload_error\":null,"
              "\"loaded_at\":\"2026-03-10T00:02:00.500Z\",\"reloads\":2,"
              "\"reload_failures\":1}}\n",
              CONFIG_HELP_OK
              "toolwatch_config_last_reload_successful 1\n"
              CONFIG_HELP_AT
              "toolwatch_config_last_reload_success_timestamp_seconds "
              "1773100920.500\n"
              CONFIG_HELP_COUNTS
              "toolwatch_config_reloads_total 2\n"
              CONFIG_HELP_FAILURES
              "toolwatch_config_reload_failures_total 1\n");
}

/* ---- /metrics ----------------------------------------------------------- */

static void test_metrics(void **state)
{
    struct status_snapshot s;
    char line[256];
    buf b;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    s.stream.last_event_ms = T0 + 1234;
    s.start_ms = T0 - 1000;
    s.detectors[0].groups_full = 12;
    s.detectors[0].overflow_events = 5;
    s.detectors[0].at_capacity = 1;
    metrics_of(&b, &s);
    assert_families_described(b.data);
    assert_line(b.data, "# HELP toolwatch_events_total Audit stream events received.");
    assert_line(b.data, "# TYPE toolwatch_events_total counter");
    assert_line(b.data, "toolwatch_events_total 12345");
    assert_line(b.data, "toolwatch_events_decoded_total 12300");
    assert_line(b.data, "# TYPE toolwatch_event_errors_total counter");
    assert_line(b.data, "toolwatch_event_errors_total{reason=\"not_json\"} 7");
    assert_line(b.data, "toolwatch_event_errors_total{reason=\"truncated\"} 9");
    assert_line(b.data, "toolwatch_event_errors_total{reason=\"bad_value\"} 0");
    assert_line(b.data, "toolwatch_event_errors_total{reason=\"oversize\"} 3");
    assert_line(b.data, "toolwatch_event_errors_total{reason=\"invalid_utf8\"} 21");
    assert_line(b.data, "toolwatch_events_late_total 11");
    assert_line(b.data, "toolwatch_events_duplicate_total 13");
    assert_line(b.data, "# TYPE toolwatch_stream_connected gauge");
    assert_line(b.data, "toolwatch_stream_connected 1");
    assert_line(b.data, "toolwatch_stream_connects_total 3");
    assert_line(b.data, "toolwatch_stream_reconnects_total 2");
    assert_line(b.data, "toolwatch_stream_stalls_total 1");
    assert_line(b.data, "toolwatch_stream_errors_total{kind=\"http\"} 4");
    assert_line(b.data, "toolwatch_stream_errors_total{kind=\"network\"} 5");
    assert_line(b.data, "# TYPE toolwatch_last_event_timestamp_seconds gauge");
    assert_line(b.data, "toolwatch_last_event_timestamp_seconds 1773100801.234");
    assert_line(b.data, "toolwatch_start_time_seconds 1773100799.000");
    assert_null(strstr(b.data, "toolwatch_up")); /* Prometheus has up */
    assert_line(b.data, "toolwatch_build_info{version=\"1.2.3\"} 1");
    assert_line(b.data, "# TYPE toolwatch_alerts_total counter");
    assert_line(b.data, "toolwatch_alerts_total{rule=\"error_rate\",state=\"firing\"} 8");
    assert_line(b.data, "toolwatch_alerts_total{rule=\"error_rate\",state=\"resolved\"} 7");
    assert_line(b.data, "toolwatch_alerts_total{rule=\"volume\",state=\"firing\"} 0");
    assert_line(b.data, "# TYPE toolwatch_alerts_firing gauge");
    assert_line(b.data, "toolwatch_alerts_firing{rule=\"error_rate\"} 1");
    assert_line(b.data, "toolwatch_rule_enabled{rule=\"volume\"} 0");
    assert_line(b.data, "toolwatch_rule_keys{rule=\"error_rate\"} 40");
    assert_line(b.data, "# TYPE toolwatch_rule_evictions_total counter");
    assert_line(b.data, "toolwatch_rule_evictions_total{rule=\"error_rate\"} 6");
    assert_line(b.data, "# TYPE toolwatch_rule_groups_full_total counter");
    assert_line(b.data, "toolwatch_rule_groups_full_total{rule=\"error_rate\"} 12");
    assert_line(b.data, "toolwatch_rule_groups_full_total{rule=\"volume\"} 0");
    assert_line(b.data, "# TYPE toolwatch_rule_overflow_events gauge");
    assert_line(b.data, "toolwatch_rule_overflow_events{rule=\"error_rate\"} 5");
    assert_line(b.data, "# TYPE toolwatch_rule_at_capacity gauge");
    assert_line(b.data, "toolwatch_rule_at_capacity{rule=\"error_rate\"} 1");
    assert_line(b.data, "toolwatch_rule_at_capacity{rule=\"volume\"} 0");
    assert_line(b.data, "# TYPE toolwatch_notifications_total counter");
    assert_line(b.data, "toolwatch_notifications_total{sink=\"ops-webhook\",result=\"delivered\"} 100");
    assert_line(b.data, "toolwatch_notifications_total{sink=\"ops-webhook\",result=\"retry\"} 3");
    assert_line(b.data, "toolwatch_notification_requests_total{sink=\"ops-webhook\"} 106");
    /* the histogram: cumulative buckets, a bound is inclusive, +Inf is the
     * count, the sum in seconds */
    assert_line(b.data, "# TYPE toolwatch_notification_latency_seconds histogram");
    assert_non_null(strstr(b.data,
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"0.05\"} 1\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"0.1\"} 2\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"0.25\"} 3\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"0.5\"} 3\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"1\"} 3\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"2.5\"} 4\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"5\"} 4\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"10\"} 4\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"30\"} 4\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"60\"} 4\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"300\"} 4\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"1800\"} 4\n"
        "toolwatch_notification_latency_seconds_bucket{sink=\"ops-webhook\",le=\"+Inf\"} 5\n"
        "toolwatch_notification_latency_seconds_sum{sink=\"ops-webhook\"} 1802.722\n"
        "toolwatch_notification_latency_seconds_count{sink=\"ops-webhook\"} 5\n"));
    assert_line(b.data, "toolwatch_notification_latency_seconds_count{sink=\"we\\\"ird\\\\sink\\nx\"} 0");
    assert_line(b.data, "toolwatch_notifications_total{sink=\"ops-webhook\",result=\"dead_lettered\"} 2");
    assert_line(b.data, "# TYPE toolwatch_journal_pending gauge");
    assert_line(b.data, "toolwatch_journal_pending{sink=\"ops-webhook\"} 3");
    assert_line(b.data, "toolwatch_notifications_in_flight{sink=\"ops-webhook\"} 1");
    assert_line(b.data, "toolwatch_sink_last_success_timestamp_seconds{sink=\"ops-webhook\"} 1773100860.000");
    assert_line(b.data, "toolwatch_journal_writable 1");
    assert_line(b.data, "# TYPE toolwatch_config_last_reload_successful "
                        "gauge");
    assert_line(b.data, "toolwatch_config_last_reload_successful 0");
    assert_line(b.data, "toolwatch_config_last_reload_success_timestamp_"
                        "seconds 1773107400.000");
    assert_line(b.data, "toolwatch_config_reloads_total 3");
    assert_line(b.data, "toolwatch_config_reload_failures_total 1");
    /* label escaping: " -> \", \ -> \\, newline -> \n */
    snprintf(line, sizeof line, "%s",
             "toolwatch_journal_pending{sink=\"we\\\"ird\\\\sink\\nx\"} 0");
    assert_line(b.data, line);
    assert_line(b.data, "toolwatch_sink_disabled{sink=\"we\\\"ird\\\\sink\\nx\"} 1");
    buf_free(&b);
}

/* The families come in a fixed order, each sample right after its own
 * family's header, and a family with two labels goes item by item (the
 * renderer walks one table for /status and /metrics: this pins the
 * /metrics side). */
static void test_metrics_order(void **state)
{
    static const char *const want[] = {
        "toolwatch_build_info",
        "toolwatch_start_time_seconds", "toolwatch_detection_unknown",
        "toolwatch_events_total",
        "toolwatch_events_decoded_total", "toolwatch_event_errors_total",
        "toolwatch_events_late_total", "toolwatch_events_duplicate_total",
        "toolwatch_events_untimed_total", "toolwatch_events_clamped_total",
        "toolwatch_stream_connected",
        "toolwatch_stream_connects_total",
        "toolwatch_stream_reconnects_total", "toolwatch_stream_stalls_total",
        "toolwatch_stream_errors_total",
        "toolwatch_last_event_timestamp_seconds",
        "toolwatch_stream_lag_seconds", "toolwatch_stream_clock_jumps_total",
        "toolwatch_alerts_total",
        "toolwatch_alerts_firing", "toolwatch_rule_enabled",
        "toolwatch_rule_keys", "toolwatch_rule_unknown",
        "toolwatch_rule_evictions_total",
        "toolwatch_rule_groups_full_total", "toolwatch_rule_overflow_events",
        "toolwatch_rule_at_capacity",
        "toolwatch_notifications_total",
        "toolwatch_notification_requests_total",
        "toolwatch_notification_latency_seconds",
        "toolwatch_journal_pending",
        "toolwatch_journal_spilled",
        "toolwatch_notifications_in_flight", "toolwatch_sink_disabled",
        "toolwatch_sink_last_success_timestamp_seconds",
        "toolwatch_journal_writable", "toolwatch_silences",
        "toolwatch_notifications_suppressed_total",
        "toolwatch_notifications_inhibited_total",
        "toolwatch_notifications_released_total",
        "toolwatch_episodes_untracked_total",
        "toolwatch_config_last_reload_successful",
        "toolwatch_config_last_reload_success_timestamp_seconds",
        "toolwatch_config_reloads_total",
        "toolwatch_config_reload_failures_total",
        "toolwatch_checkpoint_last_success_timestamp_seconds",
        "toolwatch_checkpoint_size_bytes",
        "toolwatch_checkpoint_write_duration_seconds",
        "toolwatch_checkpoint_serialize_duration_seconds",
        "toolwatch_checkpoint_writes_total",
        "toolwatch_checkpoint_failures_total",
        "toolwatch_checkpoint_refused_total",
        "toolwatch_checkpoint_not_resent_total"};
    struct status_snapshot s;
    const char *p;
    size_t k = 0;
    buf b;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    buf_init(&b, 1u << 20);
    assert_int_equal(status_render_metrics(&b, &s), BUF_OK);
    assert_int_equal(b.data[b.len - 1], '\n');
    for (p = b.data; p < b.data + b.len; p = strchr(p, '\n') + 1) {
        size_t n = strcspn(p, "{ \n");

        if (strncmp(p, "# HELP ", 7) == 0) {
            assert_true(k < sizeof want / sizeof want[0]);
            n = strlen(want[k]);
            if (strncmp(p + 7, want[k], n) != 0 || p[7 + n] != ' ')
                fail_msg("family %zu is not %s: %.60s", k, want[k], p);
            k++;
        } else if (p[0] != '#') {
            assert_true(k > 0);
            size_t f = strlen(want[k - 1]);

            if (strncmp(p, want[k - 1], f) == 0 && n > f &&
                (strncmp(p + f, "_bucket", n - f) == 0 ||
                 strncmp(p + f, "_sum", n - f) == 0 ||
                 strncmp(p + f, "_count", n - f) == 0))
                n = f; /* a histogram's series */
            if (n != f || strncmp(p, want[k - 1], n) != 0)
                fail_msg("sample outside its family %s: %.60s", want[k - 1],
                         p);
        }
    }
    assert_int_equal(k, sizeof want / sizeof want[0]);
    /* item by item: a detector's firing then resolved, then the next */
    assert_non_null(strstr(
        b.data, "# TYPE toolwatch_alerts_total counter\n"
                "toolwatch_alerts_total{rule=\"error_rate\","
                "state=\"firing\"} 8\n"
                "toolwatch_alerts_total{rule=\"error_rate\","
                "state=\"resolved\"} 7\n"
                "toolwatch_alerts_total{rule=\"volume\","
                "state=\"firing\"} 0\n"));
    assert_non_null(strstr(
        b.data, "# TYPE toolwatch_notifications_total counter\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"delivered\"} 100\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"retry\"} 3\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"dead_lettered\"} 2\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"digested\"} 0\n"
                "toolwatch_notifications_total{sink=\"ops-webhook\","
                "result=\"dropped\"} 0\n"
                "toolwatch_notifications_total{sink=\"we"));
    buf_free(&b);
}

/* Label values escape exactly backslash, double quote and newline (the
 * exposition format's three); every other byte, tab and control bytes
 * and UTF-8 included, goes through as it is. */
static void test_metrics_label_escaping(void **state)
{
    struct status_snapshot s;
    buf b;

    (void)state;
    fill_hostile(&s); /* version, detector and sink names to escape */
    metrics_of(&b, &s);
    assert_families_described(b.data);
    assert_line(b.data, "toolwatch_build_info{version=\"v\\\"1\\\\\\n\t\001"
                        "</\"} 1");
    assert_line(b.data, "toolwatch_alerts_total{rule=\"d\\\\\\\"\\n}{=,"
                        "\t\303\251\",state=\"firing\"} 0");
    assert_line(b.data, "toolwatch_alerts_total{rule=\"d\\\\\\\"\\n}{=,"
                        "\t\303\251\",state=\"resolved\"} 0");
    assert_line(b.data, "toolwatch_rule_keys{rule=\"d\\\\\\\"\\n}{=,"
                        "\t\303\251\"} 0");
    assert_line(b.data, "toolwatch_notifications_total{sink=\"s\\\\n\\\"\\n"
                        "\\\\\",result=\"delivered\"} 0");
    assert_line(b.data, "toolwatch_sink_disabled{sink=\"s\\\\n\\\"\\n"
                        "\\\\\"} 0");
    /* one sample per line (a raw newline would split one): 26 for the
     * one sink (11 counters and gauges, 15 of the latency histogram) */
    assert_int_equal(count_of(&b, "{sink="), 26);
    buf_free(&b);
}

/* promtool: $PROMTOOL, else build/tools/promtool (tests/deps.sh takes it
 * out of the prometheus package there, installing nothing), else one on
 * PATH.  NULL: none. */
static const char *promtool(void)
{
    const char *env = getenv("PROMTOOL");

    if (env != NULL && env[0] != '\0')
        return access(env, X_OK) == 0 ? env : NULL;
    if (access("build/tools/promtool", X_OK) == 0)
        return "build/tools/promtool";
    if (system("command -v promtool >/dev/null 2>&1") == 0)
        return "promtool";
    return NULL;
}

static int have_promtool(void)
{
    return promtool() != NULL;
}

/* `promtool check metrics` (format and lint) must accept the body. */
static void promtool_accepts(const buf *body)
{
    char path[] = "/tmp/tw-metrics-XXXXXX";
    char cmd[256], out[4096];
    size_t n;
    FILE *p;
    int fd, st;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body->data, body->len), (ssize_t)body->len);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s check metrics < %s 2>&1", promtool(),
             path);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    st = pclose(p);
    unlink(path);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        fail_msg("promtool check metrics: status %d\n%s\n---\n%s", st, out,
                 body->data);
}

static void test_metrics_promtool(void **state)
{
    struct status_snapshot s;
    buf b;

    (void)state;
    if (!have_promtool()) {
        print_message("no promtool ($PROMTOOL, build/tools/promtool from "
                      "tests/deps.sh, or PATH): skipping the "
                      "exposition-format check\n");
        skip();
    }
    fill(&s, NOW_WALL, NOW_MONO);
    metrics_of(&b, &s);
    promtool_accepts(&b);
    buf_free(&b);

    /* an empty snapshot: families without samples */
    memset(&s, 0, sizeof s);
    metrics_of(&b, &s);
    promtool_accepts(&b);
    buf_free(&b);

    /* every counter at its maximum */
    fill(&s, NOW_WALL, NOW_MONO);
    set_counters_max(&s);
    metrics_of(&b, &s);
    promtool_accepts(&b);
    buf_free(&b);
}

/* ---- /healthz ----------------------------------------------------------- */

/* The /healthz answer for a tick `age` ms before NOW_MONO. */
static unsigned healthz_at(int64_t age, uint64_t stall_ms, buf *b)
{
    struct status_snapshot s;
    unsigned code = 0;

    memset(&s, 0, sizeof s);
    s.last_tick_mono_ms = NOW_MONO - age;
    buf_init(b, 1024);
    assert_int_equal(status_render_healthz(b, &s, NOW_MONO, stall_ms, &code),
                     BUF_OK);
    return code;
}

static void test_healthz(void **state)
{
    buf b;

    (void)state;
    assert_int_equal(healthz_at(0, 5000, &b), 200);
    assert_bytes(&b, "{\"status\":\"ok\"}\n");
    buf_free(&b);
    /* at the threshold: still alive */
    assert_int_equal(healthz_at(5000, 5000, &b), 200);
    assert_bytes(&b, "{\"status\":\"ok\"}\n");
    buf_free(&b);
    /* one ms past it: stalled, with the age */
    assert_int_equal(healthz_at(5001, 5000, &b), 503);
    assert_bytes(&b, "{\"status\":\"stalled\",\"last_tick_ms_ago\":5001}\n");
    buf_free(&b);
    assert_int_equal(healthz_at(60000, 5000, &b), 503);
    assert_bytes(&b, "{\"status\":\"stalled\",\"last_tick_ms_ago\":60000}\n");
    buf_free(&b);
    /* a tick ahead of the clock counts as 0 old */
    assert_int_equal(healthz_at(-60000, 0, &b), 200);
    assert_bytes(&b, "{\"status\":\"ok\"}\n");
    buf_free(&b);
    /* stall_ms 0: only a tick at this very ms is alive */
    assert_int_equal(healthz_at(1, 0, &b), 503);
    assert_bytes(&b, "{\"status\":\"stalled\",\"last_tick_ms_ago\":1}\n");
    buf_free(&b);
    /* a cap too small fails cleanly */
    {
        struct status_snapshot s;
        unsigned code;

        memset(&s, 0, sizeof s);
        buf_init(&b, 8);
        assert_int_equal(status_render_healthz(&b, &s, 0, 0, &code),
                         BUF_ETOOBIG);
        buf_free(&b);
    }
}

/* ---- /readyz ------------------------------------------------------------ */

/* The /readyz answer for s is `code` with reason `reason` (NULL: ready),
 * to the byte, and status_ready() agrees. */
static void readyz_is(const struct status_snapshot *s, unsigned code,
                      const char *reason)
{
    char text[512], want[600];
    unsigned got = 0;
    buf b, r;

    buf_init(&b, 4096);
    assert_int_equal(status_render_readyz(&b, s, &got), BUF_OK);
    assert_int_equal(got, code);
    assert_int_equal(status_ready(s, text, sizeof text), reason == NULL);
    if (reason == NULL) {
        assert_bytes(&b, "{\"ready\":true}\n");
        assert_string_equal(text, "");
    } else {
        assert_string_equal(text, reason);
        buf_init(&r, sizeof want);
        assert_int_equal(buf_append_json_string(&r, reason, strlen(reason)),
                         BUF_OK);
        snprintf(want, sizeof want, "{\"ready\":false,\"reason\":%.*s}\n",
                 (int)r.len, r.data);
        buf_free(&r);
        assert_bytes(&b, want);
    }
    buf_free(&b);
}

static void test_readyz(void **state)
{
    struct status_snapshot s;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    readyz_is(&s, 200, NULL);

    s.stream.connected = 0;
    copy(s.stream.state, sizeof s.stream.state, "waiting");
    s.stream.disconnected_since_ms = T0 + 5000;
    readyz_is(&s, 503, "stream disconnected since 2026-03-10T00:00:05.000Z");

    s.stream.disconnected_since_ms = 0;
    readyz_is(&s, 503, "stream not connected (waiting)");

    s.stream.state[0] = '\0';
    readyz_is(&s, 503, "stream not connected");

    s.stream.connected = 1;
    s.journal_writable = 0;
    readyz_is(&s, 503, "journal not writable");

    s.stream.connected = 0;
    s.stream.disconnected_since_ms = T0;
    readyz_is(&s, 503,
              "stream disconnected since 2026-03-10T00:00:00.000Z; "
              "journal not writable");

    fill(&s, NOW_WALL, NOW_MONO);
    copy(s.not_ready_reason, sizeof s.not_ready_reason, "shutting down");
    readyz_is(&s, 503, "shutting down");

    /* every reason at once, in order; quotes in them escaped in the body */
    copy(s.not_ready_reason, sizeof s.not_ready_reason, "say \"when\"");
    s.stream.connected = 0;
    s.journal_writable = 0;
    readyz_is(&s, 503, "say \"when\"; stream not connected (connected); "
                       "journal not writable");

    /* events arriving later than stream.max_lag_s: up to it, ready */
    fill(&s, NOW_WALL, NOW_MONO);
    s.stream.lag_ms = s.stream.max_lag_ms;
    readyz_is(&s, 200, NULL);
    s.stream.lag_ms = 612345;
    readyz_is(&s, 503, "stream lag 612 s over stream.max_lag_s (300 s)");
    s.journal_writable = 0;
    readyz_is(&s, 503, "stream lag 612 s over stream.max_lag_s (300 s); "
                       "journal not writable");
    s.stream.max_lag_ms = 0; /* no bound */
    s.journal_writable = 1;
    readyz_is(&s, 200, NULL);

    /* the zeroed snapshot */
    memset(&s, 0, sizeof s);
    readyz_is(&s, 503, "stream not connected; journal not writable");

    fill(&s, NOW_WALL, NOW_MONO);
    readyz_is(&s, 200, NULL);
}

/* Detection unknown (the stream disconnected or stalled): said at the top
 * and per rule in /status, as gauges in /metrics; the lag, negative when
 * the source's clock is ahead, in seconds in both. */
static void test_detection_unknown(void **state)
{
    struct status_snapshot s;
    cJSON *j;
    buf b;

    (void)state;
    fill(&s, NOW_WALL, NOW_MONO);
    copy(s.detection, sizeof s.detection, STATUS_DETECTION_UNKNOWN);
    s.detection_unknown = 1;
    copy(s.detectors[1].detection, sizeof s.detectors[1].detection,
         STATUS_DETECTION_UNKNOWN);
    s.detectors[1].unknown = 1;
    s.stream.lag_ms = -120250;
    json_of(&b, &s);
    j = parse(&b);
    jstr(j, "detection", "unknown");
    jstr(j, "rules.0.detection", "live");
    jstr(j, "rules.1.detection", "unknown");
    jnum(j, "stream.lag_s", -120.25);
    jnum(j, "stream.max_lag_s", 300);
    jnum(j, "stream.clock_jumps", 1);
    jnum(j, "events.clamped", 4);
    assert_int_equal(count_of(&b, "\"lag_s\":-120.250,"), 1);
    cJSON_Delete(j);
    buf_free(&b);
    metrics_of(&b, &s);
    assert_line(b.data, "toolwatch_detection_unknown 1");
    assert_line(b.data, "toolwatch_rule_unknown{rule=\"error_rate\"} 0");
    assert_line(b.data, "toolwatch_rule_unknown{rule=\"volume\"} 1");
    assert_line(b.data, "toolwatch_stream_lag_seconds -120.250");
    assert_line(b.data, "toolwatch_stream_clock_jumps_total 1");
    assert_line(b.data, "toolwatch_events_clamped_total 4");
    buf_free(&b);
}

/* status_ready() truncates to the caller's size and always terminates. */
static void test_ready_reason_truncated(void **state)
{
    struct status_snapshot s;
    char small[12];
    char one[1] = {'x'};

    (void)state;
    memset(&s, 0, sizeof s);
    memset(small, 'x', sizeof small);
    assert_int_equal(status_ready(&s, small, sizeof small), 0);
    assert_string_equal(small, "stream not ");
    assert_int_equal(status_ready(&s, one, sizeof one), 0);
    assert_int_equal(one[0], '\0');
    /* a not_ready_reason without its NUL stops at its array's end */
    memset(s.not_ready_reason, 'r', sizeof s.not_ready_reason);
    s.stream.connected = 1;
    s.journal_writable = 1;
    {
        char text[512];

        assert_int_equal(status_ready(&s, text, sizeof text), 0);
        assert_int_equal(strlen(text), STATUS_REASON_MAX);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_status_json_bytes),
        cmocka_unit_test(test_empty_snapshot),
        cmocka_unit_test(test_status_json_clamps),
        cmocka_unit_test(test_status_json_order),
        cmocka_unit_test(test_status_json_hostile_strings),
        cmocka_unit_test(test_counters_at_max),
        cmocka_unit_test(test_times_at_the_edges),
        cmocka_unit_test(test_config_reload),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_order),
        cmocka_unit_test(test_metrics_label_escaping),
        cmocka_unit_test(test_metrics_promtool),
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_ready_reason_truncated),
        cmocka_unit_test(test_detection_unknown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
