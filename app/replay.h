/*
 * replay.h - `toolwatch replay FILE|-`: run the rules over a recorded
 * audit stream in pure event time and print every alert document as one
 * NDJSON line.
 *
 * Input: an SSE capture (the bytes of a text/event-stream) or JSONL (one
 * audit record per line) or `toolwatch tail`'s output (REPLAY_TAIL);
 * detected from the first bytes that are not whitespace or a BOM
 * ('{"id":' means tail's, another '{' JSONL, else SSE), or forced.  Bad input is reported
 * on the error stream naming its line ("line 17: not a JSON object;
 * skipped"), counted and skipped; with REPLAY_STRICT the first skipped
 * record stops the run.  Lines are counted by LF.
 *
 * Output: only alert documents go to the output stream, so the same input
 * and config give byte-identical output.  A one-line summary goes to the
 * error stream at the end.
 *
 * End of input: by default the run stops at the last event's time, so
 * alerts still open then have no alert.resolved.  With REPLAY_DRAIN event
 * time runs on as if the stream had gone quiet (stream_stalled excepted)
 * until every open alert has resolved (det_engine_drain()).
 */
#ifndef TW_REPLAY_H
#define TW_REPLAY_H

#include "config/config.h"
#include "detectors/rule.h"

struct redact_opts;

#include <stdint.h>
#include <stdio.h>

/* REPLAY_TAIL: the NDJSON `toolwatch tail` prints, one
 * {"id":"...","event":"...","data":"..."} per line; each line's data is the
 * event's data and its event the event's type, as the stream sent them. */
enum replay_format { REPLAY_AUTO = 0, REPLAY_SSE, REPLAY_JSONL, REPLAY_TAIL };

enum { REPLAY_DRAIN = 1u << 0, REPLAY_STRICT = 1u << 1 };

enum {
    REPLAY_OK = 0,
    REPLAY_EIO = -1,       /* the input cannot be read / output written */
    REPLAY_EBADINPUT = -2, /* strict mode: a record was skipped */
    REPLAY_ENOMEM = -3
};

#define REPLAY_MAX_MESSAGES 100 /* per run; then only counted */

struct replay_stats {
    uint64_t lines;       /* LF-terminated lines read (+1 for a last one) */
    uint64_t records;     /* SSE events / non-blank JSONL lines */
    uint64_t events;      /* handed to the rules */
    uint64_t skipped;     /* bad records (and untimed ones) */
    uint64_t duplicates;
    uint64_t warnings;    /* records kept with a field ignored or cut */
    uint64_t late;
    uint64_t alerts[RULE_MAX]; /* documents printed, per rule (in the
                                  set's order) */
    uint64_t alerts_total;
    enum replay_format format;  /* as detected */
};

/* Run over `in`, alerts to `out`, messages and the summary to `err`.
 * `flags`: REPLAY_DRAIN, REPLAY_STRICT.  *st (may be NULL) receives the
 * counts.  Alert text is masked (alerts/redact.h's defaults).  Returns
 * REPLAY_OK or a negative REPLAY_E*. */
int replay_run(const struct cfg *c, FILE *in, FILE *out, FILE *err,
               enum replay_format fmt, unsigned flags,
               struct replay_stats *st);

/* replay_run() with the redaction `red` (NULL: masked), as `toolwatch
 * replay -c FILE` gives it: the file's `redact` section, hashed with the
 * key of its state directory when there is one (redact_key.h). */
int replay_run_redact(const struct cfg *c, const struct redact_opts *red,
                      FILE *in, FILE *out, FILE *err, enum replay_format fmt,
                      unsigned flags, struct replay_stats *st);

/* argv[0] is "replay".  Returns the process exit status (cli.h). */
int replay_main(int argc, char **argv);

void replay_usage(FILE *f);

const char *replay_strerror(int rc);

#endif
