/*
 * alert.c - the alert's sample and its episode id.
 */
#include "model/alert.h"

#include "base/buf.h"

#include <sodium.h>
#include <string.h>

void alert_sample_from_event(struct alert_sample *s, const struct event *ev)
{
    buf_copy_str(s->record_id, sizeof s->record_id, ev->record_id);
    buf_copy_str(s->session_id, sizeof s->session_id, ev->session_id);
    buf_copy_str(s->agent_id, sizeof s->agent_id, ev->agent_id);
    buf_copy_str(s->tool_name, sizeof s->tool_name, ev->tool_name);
    buf_copy_str(s->error_code, sizeof s->error_code, ev->error_code);
    s->event_type = ev->type;
}

void alert_episode_id(const char *rule, const char *const *values,
                      uint32_t n, int64_t started_ms,
                      char out[ALERT_ID_HEX + 1])
{
    static const char global[] = "global";
    crypto_generichash_state st;
    unsigned char h[ALERT_ID_BYTES], be[8];
    uint64_t u = (uint64_t)started_ms;

    for (int i = 7; i >= 0; i--) {
        be[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)rule,
                              strlen(rule) + 1);
    if (n == 0)
        crypto_generichash_update(&st, (const unsigned char *)global,
                                  sizeof global);
    for (uint32_t i = 0; i < n; i++)
        crypto_generichash_update(&st, (const unsigned char *)values[i],
                                  strlen(values[i]) + 1);
    crypto_generichash_update(&st, be, sizeof be);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, ALERT_ID_HEX + 1, h, sizeof h);
}
