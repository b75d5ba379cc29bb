/*
 * document.h - the alert document (SPEC section 3): struct alert as JSON.
 *
 *   {"type":"alert.firing","timestamp":"...","data":{"id":"...",
 *    "rule":"error_rate","kind":"ratio",
 *    "group":{"tool_name":"postgres_query"},"key":"postgres_query",
 *    "state":"firing","severity":"error","summary":"...","value":0.35,
 *    "threshold":0.2,"window_s":60,"started_at":"...","resolved_at":null,
 *    "labels":{...},"description":null,"runbook_url":null,
 *    "sample":{...},"source":"toolwatch"}}
 *
 * value, threshold and window_s are null where the kind has none (struct
 * alert: NaN, negative window); description and runbook_url null when the
 * rule has none; labels {} when it has none.  Group values, the key, the
 * summary and the sample come from the stream and are redacted; names,
 * labels, description and runbook_url are the configuration's.
 *
 * Built once per notification (never per event) into a capped buf, with a
 * fixed key order and a deterministic number format (the shortest decimal
 * that reads back to the same double), so the same alert always gives the
 * same bytes: replay output is byte-identical run to run, and receivers
 * can compare documents.  Pure: no I/O, no clock.
 */
#ifndef TW_DOCUMENT_H
#define TW_DOCUMENT_H

#include "model/alert.h"
#include "base/buf.h"

#include <stdint.h>

/* A document is at most a few KB: the sample's fields are bounded. */
#define ALERT_DOC_MAX (64u * 1024u)

enum { ALERT_OK = 0, ALERT_EINVAL = -1, ALERT_ETOOBIG = -2,
       ALERT_ENOMEM = -3 };

/* Append the JSON document (no trailing newline) to *out.  Returns
 * ALERT_OK, ALERT_ETOOBIG (the buf's cap) or ALERT_ENOMEM; on error the
 * buf's length is back where it was. */
int alert_format(const struct alert *a, buf *out);

struct redact_opts;

/* alert_format() with the redaction `o` (alerts/redact.h; NULL: mask mode,
 * every kind, every field): each group value and sample field under its
 * field's mode (redact_field_mode()), the summary under "summary"'s, the
 * key under the strongest of its group fields'.  Every match a group value
 * or sample field holds is written the same way wherever it appears (the
 * key and the summary list them as opts.same; two modes: the stronger).
 * Numbers are kept (opts.keep): the alert's value, threshold and
 * window_s as the document writes them, and a group value or sample
 * field of digits only; the same digits in the summary or the key are
 * never taken for a card or a phone number.  o's own keep and same lists
 * are not used. */
int alert_format_opt(const struct alert *a, const struct redact_opts *o,
                     buf *out);

const char *alert_strerror(int rc);

#endif
