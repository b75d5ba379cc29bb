/*
 * fuzz_replay.c - libFuzzer target for app/replay.c's readers, most of
 * all the line reader of `toolwatch tail`'s output (its JSON string
 * decoder: escapes, \u surrogates, truncation) and format detection.
 *
 * The first input byte chooses the format (auto, sse, jsonl, tail) and
 * --strict; the rest is the input file.  The rules are the defaults.
 * Invariants checked: replay_run returns a known code, no more events (or
 * duplicates) than records, the format forced is the one used, and a second
 * run over the same bytes prints the same alerts (replay is
 * deterministic).  Any break calls abort().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/replay.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t size);

static struct cfg cfg;
static int ready;

/* One run: the alerts printed into *out (the caller frees it). */
static int run(const uint8_t *data, size_t n, enum replay_format fmt,
               unsigned flags, char **out, size_t *out_len,
               struct replay_stats *st)
{
    FILE *in = fmemopen((void *)data, n, "r");
    FILE *o = open_memstream(out, out_len);
    FILE *e = fopen("/dev/null", "w");
    int rc;

    if (in == NULL || o == NULL || e == NULL)
        abort();
    rc = replay_run(&cfg, in, o, e, fmt, flags, st);
    fclose(in);
    fclose(o);
    fclose(e);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t size)
{
    static const enum replay_format fmts[] = {REPLAY_AUTO, REPLAY_SSE,
                                              REPLAY_JSONL, REPLAY_TAIL};
    struct replay_stats a, b;
    char *out1 = NULL, *out2 = NULL;
    size_t len1 = 0, len2 = 0;
    enum replay_format fmt;
    unsigned flags;
    int rc1, rc2;

    if (!ready) {
        cfg_defaults(&cfg);
        log_set_level(LOG_ERROR);
        ready = 1;
    }
    if (size < 2)
        return 0;
    fmt = fmts[buf[0] & 3];
    flags = (buf[0] & 4) ? REPLAY_STRICT : 0;
    rc1 = run(buf + 1, size - 1, fmt, flags, &out1, &len1, &a);
    rc2 = run(buf + 1, size - 1, fmt, flags, &out2, &len2, &b);
    if (rc1 != REPLAY_OK && rc1 != REPLAY_EBADINPUT && rc1 != REPLAY_ENOMEM)
        abort();
    if (rc1 != rc2 || len1 != len2 || memcmp(out1, out2, len1) != 0)
        abort();
    if (a.events > a.records || a.duplicates > a.records)
        abort();
    if (fmt != REPLAY_AUTO && a.format != fmt)
        abort();
    free(out1);
    free(out2);
    return 0;
}
