/*
 * decode.h - decode one audit record (the JSON data of an SSE event) into a
 * fixed-size struct event.
 *
 * The only allocation per call is the cJSON tree, which is parsed with the
 * explicit length (stream data is not NUL-terminated) and freed before
 * event_decode() returns: no cJSON node outlives the call.  Strings are
 * copied into fixed arrays; a longer value is truncated on a UTF-8 boundary
 * and counted.  A field of the wrong type is treated as missing and
 * counted.  Unknown fields are ignored.  A known key given twice refuses
 * the record: readers differ on which of the two counts.
 */
#ifndef TW_DECODE_H
#define TW_DECODE_H

#include "model/event.h"

#include <stddef.h>
#include <stdint.h>


enum {
    EVENT_OK = 0,
    EVENT_ENOTJSON = -1,
    EVENT_ENOTOBJECT = -2,
    EVENT_ETOOLARGE = -3,
    EVENT_EINVAL = -4,
    EVENT_EDUPKEY = -5
};

/* Largest data the decoder accepts (the SSE layer already caps events). */
#define EVENT_MAX_DATA_BYTES (4u * 1024u * 1024u)

/* Decode `len` bytes of JSON into *ev.  Every member is set: the numbers
 * and `has` to 0 and each string to "" unless the record has the field
 * (bytes after a string's NUL are unspecified).
 * `sse_type` (may be NULL) is the SSE event type, used when the record has
 * no event_type field.  Counters in *c (may be NULL) are incremented.
 * Returns EVENT_OK, or EVENT_ENOTJSON / EVENT_ENOTOBJECT / EVENT_ETOOLARGE /
 * EVENT_EDUPKEY (a known key twice, EVENT_R_DUPLICATE_KEY) when the record
 * must be skipped. */
int event_decode(struct event *ev, const char *data, size_t len,
                 const char *sse_type, size_t sse_type_len,
                 event_counters *c);

/* The metadata members to decode: name[i] (NUL-terminated, borrowed)
 * fills ev->meta[i] and bit i of ev->meta_has when the record's
 * `metadata` object has a string member of that name (a member of
 * another type is counted as a wrong type; one of these names given twice
 * in `metadata` refuses the record as a duplicated known key).  The rules' names
 * (detectors/match.h struct match_meta), handed over as plain strings. */
struct event_meta_names {
    unsigned n; /* <= EVENT_META_MAX */
    const char *name[EVENT_META_MAX];
};

/* event_decode(), with the metadata members in `meta` decoded too (NULL
 * or n = 0: none, and no extra work). */
int event_decode_meta(struct event *ev, const char *data, size_t len,
                      const char *sse_type, size_t sse_type_len,
                      const struct event_meta_names *meta,
                      event_counters *c);

/* A hint for work that can start before decoding (the duplicate filter's
 * cache miss): when the record's first key is "record_id" and its value is
 * a string of 1..EVENT_ID_MAX-1 bytes with no escape, sets *id / *n to
 * those bytes inside `data` and returns 1; otherwise returns 0.  Reads at
 * most the first EVENT_ID_MAX + 32 bytes and never past len.  Not a
 * parse: what it finds in a record that is not JSON means nothing. */
int event_peek_record_id(const char *data, size_t len, const char **id,
                         size_t *n);

const char *event_strerror(int rc);

#endif
