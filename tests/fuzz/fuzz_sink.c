/*
 * fuzz_sink.c - libFuzzer target for the receivers' bodies (alerts/sink.c)
 * built from an alert document, which comes back from the journal in the
 * state directory and so is hostile.
 *
 * Checked, with abort() on any failure:
 *  - every kind renders SINK_OK or a SINK_E* code; on an error nothing is
 *    appended; the bodies built here (Slack, PagerDuty, Alertmanager) are
 *    JSON that parses;
 *  - an Alertmanager body is an array of one alert whose labels all have
 *    valid names ([a-zA-Z_][a-zA-Z0-9_]*, at most SINK_AM_LABEL_NAME_MAX
 *    bytes) and non-empty values of valid UTF-8 of at most
 *    SINK_AM_VALUE_MAX bytes, alertname among them, and whose endsAt is
 *    set;
 *  - rendering is deterministic: the same input gives the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alerts/sink.h"
#include "base/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SINK_AM_LABEL_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static void check_am(const char *body, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *a, *labels, *m;

    check(cJSON_IsArray(root) && cJSON_GetArraySize(root) == 1);
    a = cJSON_GetArrayItem(root, 0);
    labels = cJSON_GetObjectItemCaseSensitive(a, "labels");
    check(cJSON_IsObject(labels));
    check(cJSON_GetObjectItemCaseSensitive(labels, "alertname") != NULL);
    cJSON_ArrayForEach(m, labels)
    {
        size_t n;

        check(name_ok(m->string) && cJSON_IsString(m));
        n = strlen(m->valuestring);
        check(n > 0 && n <= SINK_AM_VALUE_MAX &&
              utf8_valid(m->valuestring, n));
    }
    check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "endsAt")));
    cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    struct sink_am_params p = {.now_ms = 1773110885000,
                               .ends_after_s = 3600,
                               .generator_url = "http://tw.example/status"};
    buf b, again;
    int rc;

    buf_init(&b, SINK_BODY_MAX);
    buf_init(&again, SINK_BODY_MAX);
    for (int k = 0; k < SINK_KIND_COUNT; k++) {
        buf_reset(&b);
        rc = sink_render((enum sink_kind)k, doc, size, "RK", &b);
        check(rc == SINK_OK || rc == SINK_EINVAL || rc == SINK_ETOOBIG ||
              rc == SINK_ENOMEM);
        check(rc == SINK_OK || b.len == 0);
        if (rc == SINK_OK &&
            (k == SINK_SLACK || k == SINK_PAGERDUTY)) {
            cJSON *j = cJSON_ParseWithLength(b.data, b.len);

            check(j != NULL);
            cJSON_Delete(j);
        }
    }
    buf_reset(&b);
    rc = sink_render_alertmanager(doc, size, &p, &b);
    check(rc == SINK_OK || b.len == 0);
    if (rc == SINK_OK) {
        check_am(b.data, b.len);
        check(sink_render_alertmanager(doc, size, &p, &again) == SINK_OK);
        check(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
    }
    buf_free(&b);
    buf_free(&again);
    return 0;
}
