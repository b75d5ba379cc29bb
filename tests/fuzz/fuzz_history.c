/*
 * fuzz_history.c - libFuzzer target for what the history and the status
 * page read from outside: a history line read back from the state
 * directory (alerts/history.c history_decode), a query string of
 * GET /api/v1/history (status/render.c status_form_next, then
 * history_query_set), and a page form's body (status_form_action).
 *
 * Each input is read from a heap buffer of exactly its size so that ASan
 * sees any read past the end.  Checked, abort() on failure:
 *  - a decoded entry has a known event, NUL-terminated fields within
 *    their arrays, an id of "" or 32 lower-case hex digits; encoded again
 *    and decoded, it is the same entry, and encodes to the same bytes;
 *  - the query reader always ends (0 or -1), never returns a name or
 *    value past its buffer, and a query it takes has a limit of 1..1000;
 *  - a form it turns into an API request has a method of POST or DELETE,
 *    a path under /api/v1/, and a JSON body cJSON can parse (or none).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alerts/history.h"
#include "status/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1773144000000LL /* 2026-03-10T12:00:00Z */

static void check(int cond)
{
    if (!cond)
        abort();
}

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void line(const char *p, size_t n)
{
    struct history_entry e, e2;
    buf b, b2;

    if (history_decode(p, n, &e) != HISTORY_OK)
        return;
    check(history_event_name(e.event) != NULL);
    check(terminated(e.id, sizeof e.id) && terminated(e.rule, sizeof e.rule)
          && terminated(e.key, sizeof e.key) &&
          terminated(e.sink, sizeof e.sink) &&
          terminated(e.detail, sizeof e.detail));
    check(e.id[0] == '\0' || strspn(e.id, "0123456789abcdef") == 32);
    buf_init(&b, HISTORY_LINE_MAX * 2);
    buf_init(&b2, HISTORY_LINE_MAX * 2);
    check(history_encode(&e, &b) == BUF_OK);
    check(history_decode(b.data, b.len, &e2) == HISTORY_OK);
    check(e2.at_ms == e.at_ms && e2.event == e.event &&
          strcmp(e2.id, e.id) == 0 && strcmp(e2.rule, e.rule) == 0 &&
          strcmp(e2.key, e.key) == 0 && strcmp(e2.sink, e.sink) == 0 &&
          strcmp(e2.detail, e.detail) == 0);
    check(history_encode(&e2, &b2) == BUF_OK);
    check(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
    buf_free(&b);
    buf_free(&b2);
}

static void query(const char *p, size_t n)
{
    struct history_query q;
    struct status_form f;
    char name[32], value[HISTORY_GLOB_MAX + 1], err[256];
    size_t vlen;
    int rc, ok = 1;

    history_query_init(&q);
    status_form_init(&f, p, n);
    while ((rc = status_form_next(&f, name, sizeof name, value, sizeof value,
                                  &vlen)) > 0) {
        check(vlen < sizeof value && strlen(name) < sizeof name);
        if (ok && history_query_set(&q, name, value, vlen, err, sizeof err)
                      != HISTORY_OK) {
            check(err[0] != '\0');
            ok = 0;
        }
    }
    check(rc == 0 || rc == -1);
    check(q.limit >= 1 && q.limit <= HISTORY_LIMIT_MAX);
    check(terminated(q.rule, sizeof q.rule));
}

static void form(const char *p, size_t n)
{
    static const char *const paths[] = {"/ui/ack", "/ui/silence",
                                        "/ui/expire"};
    struct status_form_action a;
    char err[256];
    buf json;

    for (size_t i = 0; i < 3; i++) {
        buf_init(&json, 1 << 16);
        err[0] = '\0';
        if (status_form_action(paths[i], p, n, NOW, &a, &json, err,
                               sizeof err) == 0) {
            check(strcmp(a.method, "POST") == 0 ||
                  strcmp(a.method, "DELETE") == 0);
            check(strncmp(a.path, "/api/v1/", 8) == 0);
            check(strstr(a.path, "..") == NULL);
            if (json.len > 0) {
                cJSON *j = cJSON_ParseWithLength(json.data, json.len);

                check(j != NULL);
                cJSON_Delete(j);
            }
        } else {
            check(err[0] != '\0');
        }
        buf_free(&json);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);

    if (p == NULL)
        return 0;
    if (size > 0)
        memcpy(p, data, size);
    line(p, size);
    query(p, size);
    form(p, size);
    free(p);
    return 0;
}
