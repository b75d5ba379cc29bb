/*
 * fuzz_event.c - libFuzzer target for consumer/decode.c.
 *
 * The input is copied into a heap buffer of exactly its size (stream data
 * is not NUL-terminated, so ASan must see any read past the end), then:
 *  - decoded as an audit record, with the SSE type taken from the input's
 *    first bytes; every string member must be NUL-terminated inside its
 *    array, and valid UTF-8 whenever the input was; has-bits must agree
 *    with the values; counters must add up with the return code;
 *  - parsed as a date-time; when that succeeds, formatting the instant and
 *    parsing the text again must give the same instant, and the text must
 *    have the fixed 24-byte shape.
 * Any violated invariant aborts, which libFuzzer reports as a crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "consumer/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)            \
    do {                       \
        if (!(cond))           \
            abort();           \
    } while (0)

/* Strict UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char b = s[i];
        size_t k, need;
        uint32_t cp;

        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
            cp = b & 0x1Fu;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            cp = b & 0x0Fu;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            cp = b & 0x07u;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += need + 1;
    }
    return 1;
}

static void check_str(const char *s, size_t size, int input_utf8)
{
    const char *nul = memchr(s, '\0', size);

    CHECK(nul != NULL);
    if (input_utf8)
        CHECK(utf8_valid((const unsigned char *)s, (size_t)(nul - s)));
}

/* Every member "absent" (event_decode's state for a skipped record). */
static void check_absent(const struct event *ev)
{
    CHECK(ev->has == 0 && ev->type == EVENT_TYPE_UNKNOWN
          && ev->status == EVENT_STATUS_NONE && ev->ts_ms == 0
          && ev->payload_bytes == 0 && ev->duration_ms == 0.0
          && ev->tokens == 0.0 && ev->cost_usd == 0.0);
    CHECK(ev->record_id[0] == '\0' && ev->session_id[0] == '\0'
          && ev->agent_id[0] == '\0' && ev->correlation_id[0] == '\0'
          && ev->tool_name[0] == '\0' && ev->tool_category[0] == '\0'
          && ev->downstream_system[0] == '\0' && ev->error_code[0] == '\0'
          && ev->request_sha256[0] == '\0' && ev->error_message[0] == '\0'
          && ev->downstream_endpoint[0] == '\0');
}

static void check_event(const struct event *ev, int rc,
                        const event_counters *before,
                        const event_counters *after, int input_utf8)
{
    uint64_t fields = 0;
    int i;

    CHECK(after->decoded - before->decoded == (rc == EVENT_OK ? 1u : 0u));
    for (i = 0; i < EVENT_R_COUNT; i++)
        CHECK(after->n[i] >= before->n[i]);
    CHECK((after->n[EVENT_R_NOT_JSON] - before->n[EVENT_R_NOT_JSON])
          == (rc == EVENT_ENOTJSON ? 1u : 0u));
    CHECK((after->n[EVENT_R_NOT_OBJECT] - before->n[EVENT_R_NOT_OBJECT])
          == (rc == EVENT_ENOTOBJECT ? 1u : 0u));
    CHECK((after->n[EVENT_R_TOO_LARGE] - before->n[EVENT_R_TOO_LARGE])
          == (rc == EVENT_ETOOLARGE ? 1u : 0u));
    CHECK((after->n[EVENT_R_DUPLICATE_KEY] -
           before->n[EVENT_R_DUPLICATE_KEY]) ==
          (rc == EVENT_EDUPKEY ? 1u : 0u));
    for (i = EVENT_R_WRONG_TYPE; i < EVENT_R_COUNT; i++)
        fields += after->n[i] - before->n[i];

    if (rc != EVENT_OK) {
        CHECK(rc == EVENT_ENOTJSON || rc == EVENT_ENOTOBJECT
              || rc == EVENT_ETOOLARGE || rc == EVENT_EDUPKEY);
        CHECK(fields == 0);
        check_absent(ev);
        return;
    }

    check_str(ev->record_id, sizeof ev->record_id, input_utf8);
    check_str(ev->session_id, sizeof ev->session_id, input_utf8);
    check_str(ev->agent_id, sizeof ev->agent_id, input_utf8);
    check_str(ev->correlation_id, sizeof ev->correlation_id, input_utf8);
    check_str(ev->tool_name, sizeof ev->tool_name, input_utf8);
    check_str(ev->tool_category, sizeof ev->tool_category, input_utf8);
    check_str(ev->downstream_system, sizeof ev->downstream_system,
              input_utf8);
    check_str(ev->error_code, sizeof ev->error_code, input_utf8);
    check_str(ev->request_sha256, sizeof ev->request_sha256, input_utf8);
    check_str(ev->error_message, sizeof ev->error_message, input_utf8);
    check_str(ev->downstream_endpoint, sizeof ev->downstream_endpoint,
              input_utf8);

    CHECK((ev->has & ~(unsigned)(EVENT_HAS_TIMESTAMP | EVENT_HAS_PAYLOAD
                                 | EVENT_HAS_DURATION | EVENT_HAS_TOKENS
                                 | EVENT_HAS_COST))
          == 0);
    CHECK((unsigned)ev->type <= (unsigned)EVENT_SESSION_END);
    CHECK((unsigned)ev->status <= (unsigned)EVENT_STATUS_PENDING);
    if (ev->has & EVENT_HAS_TIMESTAMP) {
        char buf[32];
        CHECK(clock_format_iso8601(ev->ts_ms, buf, sizeof buf) == 24);
    } else {
        CHECK(ev->ts_ms == 0);
    }
    if (ev->has & EVENT_HAS_PAYLOAD)
        CHECK(ev->payload_bytes >= 0
              && ev->payload_bytes <= INT64_C(9007199254740992));
    else
        CHECK(ev->payload_bytes == 0);
    if (ev->has & EVENT_HAS_DURATION)
        CHECK(isfinite(ev->duration_ms) && ev->duration_ms >= 0.0);
    else
        CHECK(ev->duration_ms == 0.0);
    if (ev->has & EVENT_HAS_TOKENS)
        CHECK(isfinite(ev->tokens) && ev->tokens >= 0.0);
    else
        CHECK(ev->tokens == 0.0);
    if (ev->has & EVENT_HAS_COST)
        CHECK(isfinite(ev->cost_usd) && ev->cost_usd >= 0.0);
    else
        CHECK(ev->cost_usd == 0.0);
}

static void check_time(const char *s, size_t len)
{
    int64_t ms = -1, back = -1;
    char buf[25];
    int i;

    if (clock_parse_iso8601(s, len, &ms) != 0)
        return;
    CHECK(ms >= 0 && ms <= INT64_C(253402300799999));
    CHECK(clock_format_iso8601(ms, buf, sizeof buf) == 24);
    CHECK(buf[24] == '\0');
    for (i = 0; i < 24; i++) {
        if (i == 4 || i == 7)
            CHECK(buf[i] == '-');
        else if (i == 10)
            CHECK(buf[i] == 'T');
        else if (i == 13 || i == 16)
            CHECK(buf[i] == ':');
        else if (i == 19)
            CHECK(buf[i] == '.');
        else if (i == 23)
            CHECK(buf[i] == 'Z');
        else
            CHECK(buf[i] >= '0' && buf[i] <= '9');
    }
    CHECK(clock_parse_iso8601(buf, 24, &back) == 0);
    CHECK(back == ms);
    /* Milliseconds are the only precision kept: the same instant without
     * its fraction is the same second. */
    CHECK(clock_parse_iso8601(buf, 19, &back) == 0);
    CHECK(back == ms - ms % 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct event ev;
    event_counters c = { 0 }, before;
    char *buf = malloc(size > 0 ? size : 1);
    size_t sse_len;
    int rc, utf8;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    utf8 = utf8_valid(data, size);

    /* Whole input as a record, no SSE type.  The struct starts dirty:
     * nothing of it may show through. */
    memset(&ev, 0xA5, sizeof ev);
    c.n[EVENT_R_TRUNCATED] = 7; /* counters only ever go up */
    before = c;
    rc = event_decode(&ev, buf, size, NULL, 0, &c);
    check_event(&ev, rc, &before, &c, utf8);

    /* The record-id hint lies inside the input, and when the record
     * decodes, it is exactly the decoded record_id (first key wins). */
    {
        const char *id;
        size_t n;
        if (event_peek_record_id(buf, size, &id, &n)) {
            CHECK(n > 0 && n < EVENT_ID_MAX && id > buf
                  && id + n < buf + size);
            if (rc == EVENT_OK)
                CHECK(strlen(ev.record_id) == n
                      && memcmp(ev.record_id, id, n) == 0);
        }
    }

    /* First bytes up to a newline as the SSE type, the rest as the record
     * (the type is not NUL-terminated either). */
    {
        const char *nl = memchr(buf, '\n', size < 32 ? size : 32);
        if (nl != NULL) {
            sse_len = (size_t)(nl - buf);
            before = c;
            rc = event_decode(&ev, nl + 1, size - sse_len - 1, buf, sse_len,
                              &c);
            check_event(&ev, rc, &before, &c,
                        utf8_valid((const uint8_t *)nl + 1,
                                   size - sse_len - 1));
        }
    }

    /* Counters may be NULL on every path. */
    (void)event_decode(&ev, buf, size, NULL, 0, NULL);

    check_time(buf, size);
    free(buf);
    return 0;
}
