/*
 * decode.c - decode one audit record (the JSON data of an SSE event) into a
 * fixed-size struct event.  Its times are read by base/clock.c (ISO 8601,
 * with a per-thread memo of the minute).
 *
 * Why: the detectors must never see cJSON.  They get a flat struct with
 * bounded strings and validated numbers, and every field that was bad is
 * counted here, once, so the service can export it as a metric.
 *
 * How: the data is parsed with its explicit length (curl's buffers are not
 * NUL-terminated).  The object's children are walked once; each key is
 * looked up in a small table by its length and first two characters and
 * confirmed by one compare (16 bytes at a time), and the node of each
 * known key is kept in a small array on the stack (a second occurrence
 * refuses the record).  The fields are then decoded from that array in a
 * fixed order, which is what lets a canonical key beat its alias no matter
 * where each appears in the object.  The tree is released before
 * event_decode() returns.
 *
 * Invariants:
 *  - no read of `data` at or past `len`; no cJSON pointer outlives a call;
 *  - every string member of struct event is NUL-terminated inside its array
 *    and, when the input was valid UTF-8, is valid UTF-8 (a value that does
 *    not fit is cut before the first character that does not fit);
 *  - a has-bit is set only when its member holds a validated value: finite,
 *    >= 0, and for payload_bytes an integer <= 2^53;
 *  - ts_ms, when set, is within [0, CLOCK_MS_MAX], so clock_format_iso8601()
 *    can always print it.
 *
 * Rules a caller may rely on:
 *  - an alias (event_id, latency_ms, token_count_input/output) and the SSE
 *    event type are consulted only when the canonical key is absent from the
 *    object.  A canonical key with a bad value makes the field missing (and
 *    is counted); it does not fall back to the alias;
 *  - keys are case-sensitive; a known key given twice (two tool_name, or
 *    two of a metadata member the rules name) refuses the record, counted
 *    under EVENT_R_DUPLICATE_KEY: a reader that takes the last value (many
 *    do) would see another record than the rules saw.  An unknown key
 *    given twice is ignored like any unknown key;
 *  - JSON null is accepted (as absent, uncounted) only for error_code and
 *    error_message; elsewhere it is a wrong type;
 *  - an unknown event_type or response_status string is not an error: it
 *    decodes to EVENT_TYPE_UNKNOWN / EVENT_STATUS_NONE, uncounted;
 *  - a leap second (":60") is read as :59.999, so time never goes backwards
 *    and the next second still sorts after it;
 *  - text after the JSON value (other than whitespace) makes the record
 *    "not JSON", although cJSON alone would accept it.
 *
 * The cJSON tree's memory is consumer/arena.c's: a per-thread arena that
 * serves cJSON's blocks only while this thread is inside event_decode()
 * (arena_begin .. arena_end) and is reset when the record has been
 * decoded.
 *
 * cJSON: 1.7.15 caps nesting at CJSON_NESTING_LIMIT (1000) for arrays and
 * objects, which bounds the recursion of both the parser and cJSON_Delete.
 * Upstream 1.7.15 reads one byte past the buffer when an object's text ends
 * right after a comma (CVE-2023-53154, fixed in Debian 1.7.15-1+deb12u3 and
 * upstream 1.7.18); such text is never valid JSON, so it is rejected here
 * before cJSON sees it.
 */
#include "consumer/decode.h"

#include "consumer/arena.h"
#include "base/clock.h"

#include <cjson/cJSON.h>
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: the largest integer a double (hence JSON via cJSON) holds exactly. */
#define EVENT_MAX_EXACT_INT 9007199254740992.0

/* The keys we know.  Order of this enum = order of field_names[]. */
enum field {
    F_RECORD_ID,
    F_EVENT_ID,
    F_TIMESTAMP,
    F_EVENT_TYPE,
    F_SESSION_ID,
    F_AGENT_ID,
    F_TOOL_NAME,
    F_TOOL_CATEGORY,
    F_RESPONSE_STATUS,
    F_PAYLOAD,
    F_DURATION,
    F_LATENCY,
    F_TOKENS,
    F_TOKENS_IN,
    F_TOKENS_OUT,
    F_COST,
    F_ERROR_CODE,
    F_ERROR_MESSAGE,
    F_DOWNSTREAM_SYSTEM,
    F_DOWNSTREAM_ENDPOINT,
    F_CORRELATION_ID,
    F_SHA256,
    F_METADATA,
    F_COUNT,
    F_NONE = F_COUNT
};

/* Each name padded with NULs to FIELD_NAME_PAD bytes, so that a key can be
 * compared with it 16 bytes at a time. */
#define FIELD_NAME_PAD 32
_Alignas(16) static const char field_names[F_COUNT][FIELD_NAME_PAD] = {
    [F_RECORD_ID] = "record_id",
    [F_EVENT_ID] = "event_id",
    [F_TIMESTAMP] = "timestamp",
    [F_EVENT_TYPE] = "event_type",
    [F_SESSION_ID] = "session_id",
    [F_AGENT_ID] = "agent_id",
    [F_TOOL_NAME] = "tool_name",
    [F_TOOL_CATEGORY] = "tool_category",
    [F_RESPONSE_STATUS] = "response_status",
    [F_PAYLOAD] = "response_payload_size_bytes",
    [F_DURATION] = "execution_duration_ms",
    [F_LATENCY] = "latency_ms",
    [F_TOKENS] = "tokens_consumed",
    [F_TOKENS_IN] = "token_count_input",
    [F_TOKENS_OUT] = "token_count_output",
    [F_COST] = "cost_usd",
    [F_ERROR_CODE] = "error_code",
    [F_ERROR_MESSAGE] = "error_message",
    [F_DOWNSTREAM_SYSTEM] = "downstream_system",
    [F_DOWNSTREAM_ENDPOINT] = "downstream_endpoint",
    [F_CORRELATION_ID] = "correlation_id",
    [F_SHA256] = "request_payload_sha256",
    [F_METADATA] = "metadata",
};

#define FIELD_KEY_MIN 8  /* strlen("event_id") */
#define FIELD_KEY_MAX 27 /* strlen("response_payload_size_bytes") */

/* A key's slot in field_slot[]: its length and first two characters give
 * a different slot for each known key (checked when the table is built).
 * Only called with len >= FIELD_KEY_MIN. */
#define FIELD_SLOTS 64u
static inline unsigned field_hash(const char *k, size_t len)
{
    return ((unsigned)len + 19u * (unsigned char)k[0] + (unsigned char)k[1])
           & (FIELD_SLOTS - 1u);
}

/* slot -> the known key that hashes there, or F_NONE; built once per
 * process, at the first decode (build_field_table) */
static unsigned char field_slot[FIELD_SLOTS];
static unsigned char field_len[F_COUNT];
static pthread_once_t field_once = PTHREAD_ONCE_INIT;
static _Thread_local int field_seen; /* this thread saw the table built */

/* The key lookup's table, once per process (a collision would be a bug
 * in field_hash: each known key is then still found, by the slower path,
 * and test_decode fails). */
static void build_field_table(void)
{
    memset(field_slot, F_NONE, sizeof field_slot);
    for (unsigned f = 0; f < F_COUNT; f++) {
        unsigned slot;

        field_len[f] = (unsigned char)strlen(field_names[f]);
        slot = field_hash(field_names[f], field_len[f]);
        if (field_slot[slot] == F_NONE)
            field_slot[slot] = (unsigned char)f;
    }
}

/* cJSON's type tests, inline (the library's cJSON_Is* are calls into the
 * shared object, about ten per record); the low byte of `type` is the
 * type, as in cJSON.h. */
static inline int is_type(const cJSON *v, int t)
{
    return v != NULL && (v->type & 0xFF) == t;
}

#define IS_STRING(v) is_type((v), cJSON_String)
#define IS_NUMBER(v) is_type((v), cJSON_Number)
#define IS_NULL(v) is_type((v), cJSON_NULL)
#define IS_OBJECT(v) is_type((v), cJSON_Object)

static void bump(event_counters *c, enum event_reason r)
{
    if (c != NULL)
        c->n[r]++;
}

/* ---- the tree's strings, 16 bytes at a time ------------------------------
 * Every string in a cJSON tree (a key or a string value) starts a block of
 * its own, and blocks start 16-byte aligned: the arena's (ARENA_ALIGN) and,
 * on x86-64, malloc's.  An aligned 16-byte load that holds the first byte
 * of a string, or a byte the string continues into, stays on a page the
 * string is on, so it cannot fault: the key lookup and the copies below
 * load whole 16-byte blocks and use only the bytes up to the NUL (the
 * bytes past it are at most copied behind the NUL of the destination).
 * Those bytes may be another block's or an AddressSanitizer red zone,
 * hence NO_ASAN.  A string that is not aligned (never seen from cJSON)
 * takes the plain path; so does every string where SSE2 is missing. */
#if defined(__SSE2__)
#define STR16 1
#define NO_ASAN ARENA_NO_ASAN

static inline int aligned16(const char *s)
{
    return ((uintptr_t)s & 15u) == 0;
}

NO_ASAN static inline __m128i load16(const char *p)
{
    return _mm_load_si128((const __m128i *)(const void *)p);
}

/* bit i set: byte i of v is 0 */
static inline unsigned nul16(__m128i v)
{
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
}

/* bit i set: byte i of a equals byte i of b */
NO_ASAN static inline unsigned eq16(__m128i a, const char *b)
{
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, load16(b)));
}
#else
#define STR16 0
#define NO_ASAN
#endif

/* Which known key is `k` (NUL-terminated)?  Its length and first two
 * characters pick the only possible candidate (field_slot); comparing the
 * key with it, NUL included, confirms it.  No branch depends on which key
 * it is, so a record's keys in any order cost the same. */
__attribute__((hot)) NO_ASAN
static enum field field_lookup(const char *k)
{
    enum field f;
    size_t len;

#if STR16
    if (aligned16(k)) {
        __m128i lo = load16(k), hi = _mm_setzero_si128();
        unsigned z = nul16(lo), want, eq;

        if (z == 0) {
            hi = load16(k + 16);
            if ((z = nul16(hi)) == 0)
                return F_NONE; /* 32 bytes or more: longer than any key */
            z <<= 16;
        }
        len = (size_t)__builtin_ctz(z);
        if (len < FIELD_KEY_MIN)
            return F_NONE;
        f = (enum field)field_slot[field_hash(k, len)];
        if (f == F_NONE || field_len[f] != len)
            return F_NONE;
        /* bytes 0..len (the NUL) must match; len <= 27 */
        want = (2u << len) - 1u;
        eq = eq16(lo, field_names[f]) | eq16(hi, field_names[f] + 16) << 16;
        return (eq & want) == want ? f : F_NONE;
    }
#endif
    len = strnlen(k, FIELD_KEY_MAX + 1);
    if (len < FIELD_KEY_MIN || len > FIELD_KEY_MAX)
        return F_NONE;
    f = (enum field)field_slot[field_hash(k, len)];
    if (f == F_NONE || field_len[f] != len || memcmp(k, field_names[f], len))
        return F_NONE;
    return f;
}

/* Copy NUL-terminated `s` into dst[size].  When it does not fit, cut before
 * the UTF-8 character that would cross the end (if s is not UTF-8 there,
 * cut at size - 1) and count it.  dst's bytes past the NUL are undefined. */
__attribute__((hot)) NO_ASAN
static void copy_str(char *dst, size_t size, const char *s,
                     event_counters *c)
{
    size_t cut;

#if STR16
    if (aligned16(s) && size >= 16) {
        size_t off;

        for (off = 0; off + 16 <= size; off += 16) {
            __m128i v = load16(s + off);

            _mm_storeu_si128((__m128i *)(void *)(dst + off), v);
            if (nul16(v) != 0)
                return;
        }
        /* the last size - off (< 16) bytes: when the NUL is among them,
         * s[size - 16, size) spans the blocks at off - 16 and off, which
         * the string reaches, so it is one more 16-byte move */
        if (off < size && (nul16(load16(s + off)) &
                           ((1u << (size - off)) - 1u)) != 0) {
            _mm_storeu_si128((__m128i *)(void *)(dst + size - 16),
                             _mm_loadu_si128((const __m128i *)(const void *)
                                             (s + size - 16)));
            return;
        }
        /* no NUL in s[0, size): it is cut below */
    }
#endif
    /* one libc call that stops at the NUL (strnlen + memcpy would have
     * the compiler inline the copy as `rep movs`, slow for short strings) */
    if (memccpy(dst, s, '\0', size) != NULL)
        return;
    /* s[size - 1] exists and is the first byte that does not fit.  If it is
     * a continuation byte, step back to the lead byte of its character
     * (at most 3 bytes back in UTF-8). */
    cut = size - 1;
    while (cut > 0 && cut + 3 > size - 1
           && ((unsigned char)s[cut] & 0xC0u) == 0x80u)
        cut--;
    if (((unsigned char)s[cut] & 0xC0u) == 0x80u)
        cut = size - 1;
    memset(dst + cut, 0, size - cut); /* dst holds s[0..size) */
    bump(c, EVENT_R_TRUNCATED);
}

/* A string field: copy, or count a wrong type.  Null is a wrong type unless
 * `nullable`, in which case it means absent. */
__attribute__((hot))
static void take_str(char *dst, size_t size, const cJSON *v, int nullable,
                     event_counters *c)
{
    if (IS_STRING(v) && v->valuestring != NULL)
        copy_str(dst, size, v->valuestring, c);
    else if (!(nullable && IS_NULL(v)))
        bump(c, EVENT_R_WRONG_TYPE);
}

/* A number field that must be finite and >= 0.  Returns 0 and sets *out, or
 * -1 (counted; *out untouched). */
__attribute__((hot))
static int take_num(const cJSON *v, double *out, event_counters *c)
{
    int rc = -1;
    double d;

    if (!IS_NUMBER(v)) {
        bump(c, EVENT_R_WRONG_TYPE);
        goto out;
    }
    d = v->valuedouble;
    if (!isfinite(d) || !(d >= 0.0)) {
        bump(c, EVENT_R_BAD_VALUE);
        goto out;
    }
    *out = d + 0.0; /* -0 becomes +0 */
    rc = 0;
out:
    return rc;
}

/* An integer in [0, 2^53] written as a JSON number. */
__attribute__((hot))
static int take_size(const cJSON *v, int64_t *out, event_counters *c)
{
    int rc = -1;
    double d;

    if (!IS_NUMBER(v)) {
        bump(c, EVENT_R_WRONG_TYPE);
        goto out;
    }
    d = v->valuedouble;
    /* The range test also rejects NaN and the infinities, and makes the
     * cast below defined. */
    if (!(d >= 0.0 && d <= EVENT_MAX_EXACT_INT) || (double)(int64_t)d != d) {
        bump(c, EVENT_R_BAD_VALUE);
        goto out;
    }
    *out = (int64_t)d;
    rc = 0;
out:
    return rc;
}

__attribute__((hot))
static enum event_type type_from(const char *s, size_t n)
{
    static const unsigned char lens[] = {
        [EVENT_TOOL_CALL_REQUEST] = sizeof "tool_call_request" - 1,
        [EVENT_TOOL_CALL_RESPONSE] = sizeof "tool_call_response" - 1,
        [EVENT_TOOL_CALL_ERROR] = sizeof "tool_call_error" - 1,
        [EVENT_SESSION_START] = sizeof "agent_session_start" - 1,
        [EVENT_SESSION_END] = sizeof "agent_session_end" - 1,
    };
    enum event_type t;

    for (t = EVENT_TOOL_CALL_REQUEST; t <= EVENT_SESSION_END; t++) {
        if (lens[t] == n && memcmp(event_type_name(t), s, n) == 0)
            return t;
    }
    return EVENT_TYPE_UNKNOWN;
}

/* Is the NUL-terminated `s` exactly the literal `lit` (n = its length)?
 * Stops at the first difference, so s is never read past its NUL. */
static int str_is(const char *s, const char *lit, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] == lit[i])
        i++;
    return i == n && s[n] == '\0';
}

__attribute__((hot))
static enum event_status status_from(const char *s)
{
    switch (s[0]) {
    case 's':
        return str_is(s, "success", 7) ? EVENT_STATUS_SUCCESS
                                       : EVENT_STATUS_NONE;
    case 'e':
        return str_is(s, "error", 5) ? EVENT_STATUS_ERROR : EVENT_STATUS_NONE;
    case 'p':
        return str_is(s, "pending", 7) ? EVENT_STATUS_PENDING
                                       : EVENT_STATUS_NONE;
    default:
        return EVENT_STATUS_NONE;
    }
}

static int is_json_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int parse_record_time(const char *s, size_t len, int64_t *out_ms);

/* Fill *ev from the known keys found in the record (f[i] NULL = absent). */
__attribute__((hot))
static void decode_fields(struct event *ev, const cJSON *const f[F_COUNT],
                          const char *sse_type, size_t sse_type_len,
                          event_counters *c)
{
    const cJSON *v;

    if ((v = f[F_RECORD_ID]) != NULL || (v = f[F_EVENT_ID]) != NULL)
        take_str(ev->record_id, sizeof ev->record_id, v, 0, c);

    if ((v = f[F_TIMESTAMP]) != NULL) {
        if (!IS_STRING(v) || v->valuestring == NULL)
            bump(c, EVENT_R_WRONG_TYPE);
        else if (parse_record_time(v->valuestring, strlen(v->valuestring),
                                   &ev->ts_ms) != 0)
            bump(c, EVENT_R_BAD_TIMESTAMP);
        else
            ev->has |= EVENT_HAS_TIMESTAMP;
    }

    if ((v = f[F_EVENT_TYPE]) != NULL) {
        if (IS_STRING(v) && v->valuestring != NULL)
            ev->type = type_from(v->valuestring, strlen(v->valuestring));
        else
            bump(c, EVENT_R_WRONG_TYPE);
    } else if (sse_type != NULL) {
        ev->type = type_from(sse_type, sse_type_len);
    }

    if ((v = f[F_SESSION_ID]) != NULL)
        take_str(ev->session_id, sizeof ev->session_id, v, 0, c);
    if ((v = f[F_AGENT_ID]) != NULL)
        take_str(ev->agent_id, sizeof ev->agent_id, v, 0, c);
    if ((v = f[F_TOOL_NAME]) != NULL)
        take_str(ev->tool_name, sizeof ev->tool_name, v, 0, c);
    if ((v = f[F_TOOL_CATEGORY]) != NULL)
        take_str(ev->tool_category, sizeof ev->tool_category, v, 0, c);

    if ((v = f[F_RESPONSE_STATUS]) != NULL) {
        if (IS_STRING(v) && v->valuestring != NULL)
            ev->status = status_from(v->valuestring);
        else
            bump(c, EVENT_R_WRONG_TYPE);
    }

    if ((v = f[F_PAYLOAD]) != NULL
        && take_size(v, &ev->payload_bytes, c) == 0)
        ev->has |= EVENT_HAS_PAYLOAD;

    if (((v = f[F_DURATION]) != NULL || (v = f[F_LATENCY]) != NULL)
        && take_num(v, &ev->duration_ms, c) == 0)
        ev->has |= EVENT_HAS_DURATION;

    if ((v = f[F_TOKENS]) != NULL) {
        if (take_num(v, &ev->tokens, c) == 0)
            ev->has |= EVENT_HAS_TOKENS;
    } else if (f[F_TOKENS_IN] != NULL || f[F_TOKENS_OUT] != NULL) {
        double in = 0.0, outn = 0.0, sum;
        int ok = 0;

        if (f[F_TOKENS_IN] != NULL && take_num(f[F_TOKENS_IN], &in, c) == 0)
            ok = 1;
        if (f[F_TOKENS_OUT] != NULL
            && take_num(f[F_TOKENS_OUT], &outn, c) == 0)
            ok = 1;
        sum = in + outn;
        if (ok && !isfinite(sum)) {
            bump(c, EVENT_R_BAD_VALUE);
        } else if (ok) {
            ev->tokens = sum;
            ev->has |= EVENT_HAS_TOKENS;
        }
    }

    if ((v = f[F_COST]) != NULL && take_num(v, &ev->cost_usd, c) == 0)
        ev->has |= EVENT_HAS_COST;

    if ((v = f[F_ERROR_CODE]) != NULL)
        take_str(ev->error_code, sizeof ev->error_code, v, 1, c);
    if ((v = f[F_ERROR_MESSAGE]) != NULL)
        take_str(ev->error_message, sizeof ev->error_message, v, 1, c);
    if ((v = f[F_DOWNSTREAM_SYSTEM]) != NULL)
        take_str(ev->downstream_system, sizeof ev->downstream_system, v, 0,
                 c);
    if ((v = f[F_DOWNSTREAM_ENDPOINT]) != NULL)
        take_str(ev->downstream_endpoint, sizeof ev->downstream_endpoint, v,
                 0, c);
    if ((v = f[F_CORRELATION_ID]) != NULL)
        take_str(ev->correlation_id, sizeof ev->correlation_id, v, 0, c);
    if ((v = f[F_SHA256]) != NULL)
        take_str(ev->request_sha256, sizeof ev->request_sha256, v, 0, c);
}

/* Does `metadata` give one of the names rules read twice? */
static int meta_duplicate(const cJSON *obj,
                          const struct event_meta_names *meta)
{
    unsigned seen = 0;

    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        if (it->string == NULL)
            continue;
        for (unsigned i = 0; i < meta->n && i < EVENT_META_MAX; i++) {
            if (strcmp(it->string, meta->name[i]) != 0)
                continue;
            if (seen & (1u << i))
                return 1;
            seen |= 1u << i;
            break;
        }
    }
    return 0;
}

/* The metadata members rules name (each at most once: meta_duplicate):
 * a member fills its slot when it is a string (another type is counted as
 * wrong). */
static void decode_meta(struct event *ev, const cJSON *obj,
                        const struct event_meta_names *meta,
                        event_counters *c)
{
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        if (it->string == NULL)
            continue;
        for (unsigned i = 0; i < meta->n && i < EVENT_META_MAX; i++) {
            if ((ev->meta_has & (1u << i)) ||
                strcmp(it->string, meta->name[i]) != 0)
                continue;
            if (IS_STRING(it) && it->valuestring != NULL) {
                copy_str(ev->meta[i], sizeof ev->meta[i], it->valuestring,
                         c);
                ev->meta_has |= 1u << i;
            } else {
                bump(c, EVENT_R_WRONG_TYPE);
            }
            break;
        }
    }
}

/* The bytes cJSON takes but JSON (RFC 8259) does not, and that would
 * change what a record says: a raw control character (U+0000-U+001F other
 * than the whitespace TAB, LF and CR; cJSON takes them inside strings, and
 * a raw NUL ends the C string there: "db\0x" would read as "db"), and the
 * escape \u0000 (cJSON writes a NUL and the string is cut the same way).
 * Raw TAB, LF and CR inside a string are still taken, as cJSON does.
 * Returns 1 when none is present.  SSE2 checks 16 or 32 bytes per step for a
 * control byte or a backslash; only those are looked at one by one. */
/* One byte of json_bytes_ok's scan at data[*i]: 0 if it is refused, else
 * 1 with *i past it (and past the character a backslash escapes). */
static int json_byte_ok(const char *data, size_t len, size_t *i)
{
    unsigned char ch = (unsigned char)data[*i];

    if (ch == '\\') {
        if (*i + 5 < len && memcmp(data + *i + 1, "u0000", 5) == 0)
            return 0;
        *i += 2; /* an escaped backslash is not the start of an escape */
        return 1;
    }
    *i += 1;
    return ch >= 0x20 || ch == '\t' || ch == '\n' || ch == '\r';
}

#if defined(__SSE2__)
/* The mask of the bytes of p[0..16) that json_byte_ok must look at: a
 * byte <= 0x1F (unsigned) or a backslash. */
static inline int hit16(const char *p)
{
    const __m128i c1f = _mm_set1_epi8(0x1F), bs = _mm_set1_epi8('\\');
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)p);

    return _mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(b, c1f), c1f),
                     _mm_cmpeq_epi8(b, bs)));
}
#endif

static int json_bytes_ok(const char *data, size_t len)
{
    size_t i = 0;

#if defined(__SSE2__)
    while (i + 16 <= len) {
        size_t stop = i + 32 <= len ? i + 32 : i + 16;

        if ((hit16(data + i) | (stop - i == 32 ? hit16(data + i + 16) : 0))
            == 0) {
            i = stop;
            continue;
        }
        /* this block byte by byte; an escape may end past it */
        while (i < stop)
            if (!json_byte_ok(data, len, &i))
                return 0;
    }
    /* the tail, when it is all inside the last 16 bytes: one step (bytes
     * before i in that window were already seen and cannot be hits that
     * matter: only a hit at or after i is looked at byte by byte) */
    if (i < len && len >= 16 && hit16(data + len - 16) == 0)
        return 1;
#endif
    while (i < len)
        if (!json_byte_ok(data, len, &i))
            return 0;
    return 1;
}

/* Every member "absent": the scalars zeroed, each string "".  Not a
 * memset of the whole struct (2 KB per record, most of it never read). */
static void event_clear(struct event *ev)
{
    memset(ev, 0, offsetof(struct event, record_id));
    ev->record_id[0] = '\0';
    ev->session_id[0] = '\0';
    ev->agent_id[0] = '\0';
    ev->correlation_id[0] = '\0';
    ev->tool_name[0] = '\0';
    ev->tool_category[0] = '\0';
    ev->downstream_system[0] = '\0';
    ev->error_code[0] = '\0';
    ev->request_sha256[0] = '\0';
    ev->error_message[0] = '\0';
    ev->downstream_endpoint[0] = '\0';
    ev->meta_has = 0; /* metadata slots: only members rules name (unset) */
}

/* Past JSON whitespace from *i, the byte ch: 1 with *i after it, or 0. */
static int skip_to(const char *data, size_t lim, size_t *i, char ch)
{
    while (*i < lim && is_json_space(data[*i]))
        (*i)++;
    if (*i >= lim || data[*i] != ch)
        return 0;
    (*i)++;
    return 1;
}

__attribute__((hot))
int event_peek_record_id(const char *data, size_t len, const char **id,
                         size_t *n)
{
    static const char key[] = "\"record_id\"";
    static const char tight[] = "{\"record_id\":\"";
    size_t i = 0, start;
    size_t lim = len < EVENT_ID_MAX + 32 ? len : EVENT_ID_MAX + 32;

    /* the usual layout, compared as two words */
    if (lim > sizeof tight - 1 && memcmp(data, tight, sizeof tight - 1) == 0) {
        i = sizeof tight - 1;
        goto value;
    }
    if (!skip_to(data, lim, &i, '{'))
        return 0;
    while (i < lim && is_json_space(data[i]))
        i++;
    if (lim - i < sizeof key - 1 || memcmp(data + i, key, sizeof key - 1) != 0)
        return 0;
    i += sizeof key - 1;
    if (!skip_to(data, lim, &i, ':') || !skip_to(data, lim, &i, '"'))
        return 0;
value:
    /* to the closing quote, in one byte loop (ids are short): an escape
     * or no quote before lim, and there is no hint */
    start = i;
    while (i < lim && data[i] != '"' && data[i] != '\\')
        i++;
    if (i >= lim || data[i] != '"' || i == start ||
        i - start >= EVENT_ID_MAX)
        return 0;
    *id = data + start;
    *n = i - start;
    return 1;
}

int event_decode(struct event *ev, const char *data, size_t len,
                 const char *sse_type, size_t sse_type_len,
                 event_counters *c)
{
    return event_decode_meta(ev, data, len, sse_type, sse_type_len, NULL, c);
}

__attribute__((hot))
int event_decode_meta(struct event *ev, const char *data, size_t len,
                      const char *sse_type, size_t sse_type_len,
                      const struct event_meta_names *meta,
                      event_counters *c)
{
    const cJSON *f[F_COUNT] = { NULL };
    const cJSON *it;
    cJSON *root = NULL;
    const char *end = NULL;
    int rc = EVENT_OK, in_tree = 0;

    if (ev == NULL || (data == NULL && len > 0)) {
        rc = EVENT_EINVAL;
        goto out;
    }
    event_clear(ev);
    if (len > EVENT_MAX_DATA_BYTES) {
        bump(c, EVENT_R_TOO_LARGE);
        rc = EVENT_ETOOLARGE;
        goto out;
    }
    /* Trailing whitespace is allowed; after it is trimmed, the value must
     * end exactly at len.  A last byte ',' is never JSON (and trips
     * CVE-2023-53154 in unpatched cJSON 1.7.15). */
    while (len > 0 && is_json_space(data[len - 1]))
        len--;
    if (len == 0 || data[len - 1] == ',' || !json_bytes_ok(data, len)) {
        bump(c, EVENT_R_NOT_JSON);
        rc = EVENT_ENOTJSON;
        goto out;
    }
    if (!field_seen) { /* no call into libc per record */
        pthread_once(&field_once, build_field_table);
        field_seen = 1;
    }
    arena_begin();
    in_tree = 1;
    root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (root == NULL || end != data + len) {
        bump(c, EVENT_R_NOT_JSON);
        rc = EVENT_ENOTJSON;
        goto out;
    }
    if (!IS_OBJECT(root)) {
        bump(c, EVENT_R_NOT_OBJECT);
        rc = EVENT_ENOTOBJECT;
        goto out;
    }
    for (it = root->child; it != NULL; it = it->next) {
        enum field id;

        if (it->string == NULL ||
            (id = field_lookup(it->string)) == F_NONE)
            continue;
        if (f[id] != NULL) {
            rc = EVENT_EDUPKEY;
            break;
        }
        f[id] = it;
    }
    if (rc == EVENT_OK && meta != NULL && meta->n > 0 &&
        IS_OBJECT(f[F_METADATA]) && meta_duplicate(f[F_METADATA], meta))
        rc = EVENT_EDUPKEY;
    if (rc == EVENT_EDUPKEY) {
        bump(c, EVENT_R_DUPLICATE_KEY);
        goto out;
    }
    decode_fields(ev, f, sse_type, sse_type_len, c);
    if (meta != NULL && meta->n > 0 && IS_OBJECT(f[F_METADATA]))
        decode_meta(ev, f[F_METADATA], meta, c);
    if (c != NULL)
        c->decoded++;
out:
    if (in_tree)
        arena_end(root);
    return rc;
}

/* ---- time ---------------------------------------------------------------- */

/* clock_parse_iso8601() for the records of one thread: consecutive
 * records' times nearly always share their first 16 bytes (the minute);
 * the memo keeps that prefix's value. */
static _Thread_local struct clock_iso_memo time_memo = CLOCK_ISO_MEMO_INIT;

__attribute__((hot))
static int parse_record_time(const char *s, size_t len, int64_t *out_ms)
{
    return clock_parse_iso8601_memo(&time_memo, s, len, out_ms) == 0
               ? 0 : EVENT_EINVAL;
}

/* ---- names --------------------------------------------------------------- */

const char *event_strerror(int rc)
{
    switch (rc) {
    case EVENT_OK:
        return "success";
    case EVENT_ENOTJSON:
        return "event data is not JSON";
    case EVENT_ENOTOBJECT:
        return "event data is JSON but not an object";
    case EVENT_ETOOLARGE:
        return "event data is larger than the decoder accepts";
    case EVENT_EINVAL:
        return "invalid argument";
    case EVENT_EDUPKEY:
        return "event data gives a known key twice";
    default:
        return "unknown event error";
    }
}
