/*
 * fuzz_silence.c - libFuzzer target for the silence parser
 * (alerts/silence.c silence_parse: the API's POST body and the store's
 * file entries), with the time zones it names loaded from the system's
 * tz database (alerts/tz.c).
 *
 * Each input is parsed in both modes (an API request and a stored
 * silence), from a heap buffer of exactly its size so that ASan sees any
 * read past the end.  Checked, abort() on failure:
 *  - the result is SILENCE_OK, SILENCE_EINVAL or SILENCE_ENOMEM; a refusal
 *    comes with a non-empty message and leaves nothing behind (the
 *    silence zeroed);
 *  - an accepted silence keeps its invariants: 1..SILENCE_MATCHERS_MAX
 *    matchers of known kinds, each glob (and group or label name) text of
 *    its array; one-off: starts before it ends; recurring: some day, a
 *    start other than its end, both within the day, a zone;
 *  - printed (silence_print) and read back as stored, it is the same
 *    silence, and prints the same bytes again;
 *  - its state and matching answer at a few instants without harm.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/silence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1773144000000LL /* 2026-03-10T12:00:00Z */
#define ZONES 16

static void check(int cond)
{
    if (!cond)
        abort();
}

/* Zones loaded once per process (at most ZONES); the rest loaded and
 * dropped at each lookup would leak, so past the cap a zone is refused
 * as out of memory, which the parser must handle too. */
static tz *zones[ZONES];
static size_t nzones;

static const tz *find_zone(void *ud, const char *name, int *rc)
{
    tz *z = NULL;

    (void)ud;
    for (size_t i = 0; i < nzones; i++)
        if (strcmp(tz_name(zones[i]), name) == 0)
            return zones[i];
    if (nzones == ZONES) {
        *rc = TZ_ENOMEM;
        return NULL;
    }
    *rc = tz_load(NULL, name, &z);
    if (z != NULL)
        zones[nzones++] = z;
    return z;
}

static const struct silence_zones resolver = {find_zone, NULL};

static void invariants(const struct silence *s)
{
    check(s->nmatchers >= 1 && s->nmatchers <= SILENCE_MATCHERS_MAX);
    for (uint32_t i = 0; i < s->nmatchers; i++) {
        const struct silence_matcher *m = &s->m[i];

        check(m->kind <= SILENCE_M_LABEL);
        check(silence_text_ok(m->glob, sizeof m->glob, 0));
        if (m->kind == SILENCE_M_GROUP || m->kind == SILENCE_M_LABEL)
            check(m->name[0] != '\0' &&
                  strnlen(m->name, sizeof m->name) < sizeof m->name);
    }
    if (s->recurring) {
        check(s->rec.days != 0 && s->rec.days < 128);
        check(s->rec.start_min < 1440 && s->rec.end_min < 1440 &&
              s->rec.start_min != s->rec.end_min);
        check(s->rec.zone != NULL);
    } else {
        check(s->starts_ms < s->ends_ms);
    }
    check(silence_text_ok(s->comment, sizeof s->comment, 1));
    check(silence_text_ok(s->created_by, sizeof s->created_by, 0));
}

/* print -> parse (stored) -> the same silence -> the same bytes */
static void round_trip(struct silence *s)
{
    struct silence back;
    char err[SILENCE_ERR_MAX];
    buf a, b;

    if (s->id[0] == '\0')
        memcpy(s->id, "0123456789abcdef", SILENCE_ID_MAX);
    buf_init(&a, 1 << 20);
    buf_init(&b, 1 << 20);
    check(silence_print(s, NOW, &a) == BUF_OK);
    check(silence_parse(&back, a.data, a.len, SILENCE_PARSE_STORED,
                        &resolver, NOW, err, sizeof err) == SILENCE_OK);
    check(memcmp(&back, s, sizeof back) == 0);
    check(silence_print(&back, NOW, &b) == BUF_OK);
    check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    buf_free(&a);
    buf_free(&b);
}

static void exercise(const struct silence *s)
{
    static const int64_t at[] = {0, NOW, NOW + 3600000, 1774746000000LL,
                                 1792890000000LL, 253402300799999LL};
    struct alert a;

    memset(&a, 0, sizeof a);
    a.rule = "latency";
    a.severity = "warning";
    a.ngroup = 1;
    a.group[0] = (struct alert_pair){"tool_name", "pg_query"};
    a.nlabels = 1;
    a.labels[0] = (struct alert_pair){"team", "db"};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        enum silence_state st = silence_state(s, at[i]);

        check(st <= SILENCE_EXPIRED);
        check(silence_matches(s, &a, at[i]) == 0 || st == SILENCE_ACTIVE);
        (void)silence_expired_at(s, at[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum silence_parse_mode modes[] = {SILENCE_PARSE_REQUEST,
                                                    SILENCE_PARSE_STORED};
    char *copy = malloc(size > 0 ? size : 1);

    check(copy != NULL);
    memcpy(copy, data, size);
    for (size_t k = 0; k < 2; k++) {
        struct silence s, zero;
        char err[SILENCE_ERR_MAX] = "";
        int rc = silence_parse(&s, copy, size, modes[k], &resolver, NOW,
                               err, sizeof err);

        check(rc == SILENCE_OK || rc == SILENCE_EINVAL ||
              rc == SILENCE_ENOMEM);
        if (rc != SILENCE_OK) {
            memset(&zero, 0, sizeof zero);
            check(err[0] != '\0' && strnlen(err, sizeof err) < sizeof err);
            check(memcmp(&s, &zero, sizeof s) == 0);
            continue;
        }
        invariants(&s);
        exercise(&s);
        round_trip(&s);
    }
    free(copy);
    return 0;
}
