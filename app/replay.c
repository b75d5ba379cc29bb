/*
 * replay.c - `toolwatch replay`: a recorded stream through the event
 * pipeline in pure event time (replay.h).
 *
 * Every record goes through app/pipeline.h, the path `run` uses: decode,
 * duplicates, rules, the alert document.  What is replay's own: reading
 * the input, naming records by line in messages, --strict, and printing
 * the documents (the pipeline's sink).
 *
 * The input is read in 64 KB chunks.  SSE: each chunk goes to the SSE
 * parser in one call, as in `run` (the parser keeps the WHATWG rules: CR,
 * CRLF, BOM, comments), and the parser counts lines as it goes, so a
 * record is named by the line where its event's first field was
 * (sse_parser_line) without a second walk over the bytes.  JSONL: the
 * chunk is cut at LF and each line (up to EVENT_MAX_DATA_BYTES) is one
 * record; a line that is not UTF-8 is made so first (U+FFFD, as the SSE
 * parser does), so what reaches the pipeline is UTF-8 in both formats.
 * Lines are numbered from 1 and end at LF in both formats.
 * Memory is bounded by those caps whatever the input.
 */
#include "app/replay.h"

#include "alerts/document.h"
#include "alerts/redact.h"
#include "app/cli.h"
#include "app/pipeline.h"
#include "app/redact_key.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "consumer/decode.h"
#include "consumer/sse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64u * 1024u)

struct replay {
    pipeline *pl;
    sse_parser sse;
    buf line;            /* JSONL: the current line */
    buf fixed;           /* JSONL: the line made UTF-8, when it was not */
    buf tail_type;       /* REPLAY_TAIL: the line's event, unescaped */
    buf tail_data;       /* REPLAY_TAIL: the line's data, unescaped */
    FILE *out, *err;
    unsigned flags;
    enum replay_format fmt; /* REPLAY_SSE, _JSONL or _TAIL once known */
    uint64_t line_no;    /* JSONL: line being read (1-based) */
    int line_too_long;   /* JSONL: the current line is being skipped */
    char last;           /* the input's last byte so far */
    uint64_t stop_line;  /* SSE: the line where the run stopped */
    int stop;            /* strict failure or output error */
    int rc;
    unsigned messages;
    struct replay_stats st; /* the pipeline's counters are copied in at
                               the end */
};

static void msg(struct replay *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void msg(struct replay *r, const char *fmt, ...)
{
    va_list ap;

    if (r->messages >= REPLAY_MAX_MESSAGES) {
        if (r->messages++ == REPLAY_MAX_MESSAGES)
            fprintf(r->err, "toolwatch replay: further messages "
                            "suppressed (see the counts below)\n");
        return;
    }
    r->messages++;
    fputs("toolwatch replay: ", r->err);
    va_start(ap, fmt);
    vfprintf(r->err, fmt, ap);
    va_end(ap);
    fputc('\n', r->err);
}

/* The line that names the record being read. */
static uint64_t line_now(const struct replay *r)
{
    return r->fmt != REPLAY_SSE ? r->line_no : sse_parser_line(&r->sse);
}

/* A record was skipped (the pipeline counted it): --strict stops here. */
static void skipped(struct replay *r)
{
    if (r->flags & REPLAY_STRICT) {
        r->stop = 1;
        r->rc = REPLAY_EBADINPUT;
    }
}

/* ---- the pipeline's sink: alerts to the output, problems to messages ---- */

static void on_alert(void *ud, const struct alert *a, const char *doc,
                     size_t doc_len, int rc)
{
    struct replay *r = ud;
    const det_engine *e = pipeline_engine(r->pl);
    struct det_rule_info ri;
    int id = -1;

    for (uint32_t i = 0; id < 0 && det_engine_rule_info(e, i, &ri) == 0;
         i++)
        if (strcmp(ri.name, a->rule) == 0)
            id = (int)i;
    if (rc != ALERT_OK) {
        msg(r, "cannot format an alert of %s", a->rule);
        return;
    }
    if (fwrite(doc, 1, doc_len, r->out) != doc_len) {
        if (!r->stop)
            msg(r, "cannot write the output: %s", strerror(errno));
        r->stop = 1;
        r->rc = REPLAY_EIO;
        return;
    }
    if (id >= 0)
        r->st.alerts[id]++;
    r->st.alerts_total++;
}

static void on_skip(void *ud, enum pipeline_skip why)
{
    struct replay *r = ud;
    unsigned long long ln = (unsigned long long)line_now(r);

    switch (why) {
    case PIPELINE_SKIP_TOO_LARGE:
        msg(r, "line %llu: record over %u bytes; skipped", ln,
            EVENT_MAX_DATA_BYTES);
        break;
    case PIPELINE_SKIP_UNTIMED:
        msg(r, "line %llu: no timestamp, and no event time yet to give "
               "it; skipped", ln);
        break;
    case PIPELINE_SKIP_DUPLICATE_KEY:
        msg(r, "line %llu: a field is given twice (readers differ on which "
               "counts); skipped", ln);
        break;
    default:
        msg(r, "line %llu: %s; skipped", ln,
            why == PIPELINE_SKIP_NOT_OBJECT ? "not a JSON object"
                                            : "not JSON");
        break;
    }
    skipped(r);
}

static void on_warning(void *ud, unsigned reasons)
{
    struct replay *r = ud;
    unsigned long long ln = (unsigned long long)line_now(r);

    if (reasons & (1u << EVENT_R_BAD_TIMESTAMP))
        msg(r, "line %llu: timestamp is not ISO 8601; the record takes the "
               "current event time", ln);
    if (reasons & (1u << EVENT_R_WRONG_TYPE))
        msg(r, "line %llu: a field has the wrong type and was ignored", ln);
    if (reasons & (1u << EVENT_R_BAD_VALUE))
        msg(r, "line %llu: a number is out of range and was ignored", ln);
    if (reasons & (1u << EVENT_R_TRUNCATED))
        msg(r, "line %llu: a string was cut to its maximum length", ln);
}

static const struct pipeline_callbacks pipeline_cb = {
    .on_alert = on_alert,
    .on_skip = on_skip,
    .on_warning = on_warning,
};

/* ---- SSE ---- */

/* After a strict failure or an output error nothing more is read: the
 * parser pauses at the next event (an oversize one cannot pause it, so it
 * is ignored here too). */
__attribute__((hot))
static int on_sse_event(void *ud, const sse_event *e)
{
    struct replay *r = ud;

    if (!r->stop) {
        pipeline_feed(r->pl, e->data, e->data_len, e->type, e->type_len, 0);
        if (r->stop) /* the blank line that ended the event */
            r->stop_line = r->sse.stats.lf + 1;
    }
    return r->stop;
}

static void sse_oversize(void *ud, size_t max)
{
    struct replay *r = ud;

    if (r->stop)
        return;
    msg(r, "line %llu: event over %zu bytes; skipped",
        (unsigned long long)sse_parser_line(&r->sse), max);
    pipeline_drop(r->pl, PIPELINE_DROP_OVERSIZE);
    skipped(r);
    if (r->stop) /* the line that went over */
        r->stop_line = r->sse.stats.lf + 1;
}

static const sse_settings sse_cb = {
    .on_event = on_sse_event,
    .on_oversize = sse_oversize,
};

/* ---- JSONL, and tail's NDJSON ---- */

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static int put_utf8(buf *out, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(out, u, n);
}

/* The JSON string literal at p[0..n) (p[0] is '"') unescaped into out;
 * returns the bytes it took, quotes included, or 0 when it is not one.
 * A lone surrogate becomes U+FFFD. */
static size_t json_string(const char *p, size_t n, buf *out)
{
    size_t i = 1, start;
    unsigned cp, lo;

    buf_reset(out);
    if (n == 0 || p[0] != '"')
        return 0;
    for (;;) {
        for (start = i; i < n && p[i] != '"' && p[i] != '\\' &&
                        (unsigned char)p[i] >= 0x20; i++)
            ;
        if (i > start && buf_append(out, p + start, i - start) != BUF_OK)
            return 0;
        if (i >= n || (unsigned char)p[i] < 0x20)
            return 0;
        if (p[i] == '"')
            return i + 1;
        if (++i >= n)
            return 0;
        switch (p[i++]) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (n - i < 4 || hex4(p + i, &cp) != 0)
                return 0;
            i += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && n - i >= 6 && p[i] == '\\' &&
                p[i + 1] == 'u' && hex4(p + i + 2, &lo) == 0 &&
                lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            break;
        default:
            return 0;
        }
        if (put_utf8(out, cp) != BUF_OK)
            return 0;
    }
}

/* A line of `toolwatch tail`: exactly {"id":S,"event":S,"data":S} (S a
 * JSON string), as tail writes it; event and data unescaped into
 * r->tail_type and r->tail_data.  0, or -1 when the line is not one. */
static int tail_line(struct replay *r, const char *p, size_t n)
{
    static const char *const keys[] = {"{\"id\":", ",\"event\":",
                                       ",\"data\":"};
    buf *const into[] = {&r->tail_data, &r->tail_type, &r->tail_data};
    size_t i = 0, k, used;

    for (k = 0; k < 3; k++) {
        size_t kl = strlen(keys[k]);

        if (n - i < kl || memcmp(p + i, keys[k], kl) != 0)
            return -1;
        i += kl;
        if ((used = json_string(p + i, n - i, into[k])) == 0)
            return -1;
        i += used;
    }
    return n - i == 1 && p[i] == '}' ? 0 : -1;
}

static void jsonl_line(struct replay *r)
{
    const char *p = r->line.data;
    size_t n = r->line.len, i = 0;

    if (r->line_too_long) { /* as the decoder would have said */
        pipeline_drop(r->pl, PIPELINE_DROP_RECORD);
        on_skip(r, PIPELINE_SKIP_TOO_LARGE);
        return;
    }
    if (n > 0 && p[n - 1] == '\n')
        n--;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
        i++;
    if (i == n)
        return; /* blank */
    if (!utf8_valid(p, n)) {
        /* as the SSE parser does for `run` and SSE input: each bad spot
         * becomes U+FFFD, so no alert or message carries invalid UTF-8 */
        buf_reset(&r->fixed);
        if (buf_append_utf8(&r->fixed, p, n, NULL) != BUF_OK) {
            pipeline_drop(r->pl, PIPELINE_DROP_RECORD);
            on_skip(r, PIPELINE_SKIP_TOO_LARGE);
            return;
        }
        msg(r, "line %llu: bytes that are not UTF-8 replaced by U+FFFD",
            (unsigned long long)r->line_no);
        p = r->fixed.data;
        n = r->fixed.len;
    }
    if (r->fmt == REPLAY_TAIL) {
        if (tail_line(r, p + i, n - i) != 0) {
            msg(r, "line %llu: not a line of toolwatch tail's output "
                   "({\"id\":...,\"event\":...,\"data\":...}); skipped",
                (unsigned long long)r->line_no);
            pipeline_drop(r->pl, PIPELINE_DROP_RECORD);
            skipped(r);
            return;
        }
        pipeline_feed(r->pl, r->tail_data.data ? r->tail_data.data : "",
                      r->tail_data.len, r->tail_type.data, r->tail_type.len,
                      0);
        return;
    }
    pipeline_feed(r->pl, p, n, NULL, 0, 0);
}

static void jsonl_piece(struct replay *r, const char *p, size_t n, int eol)
{
    if (!r->line_too_long && n > 0 &&
        buf_append(&r->line, p, n) != BUF_OK) {
        r->line_too_long = 1;
        buf_reset(&r->line);
    }
    if (eol) {
        jsonl_line(r);
        buf_reset(&r->line);
        r->line_too_long = 0;
        r->line_no++;
        r->st.lines++;
    }
}

/* ---- driver ---- */

static enum replay_format detect(const char *p, size_t n)
{
    size_t i = 0;

    if (n >= 3 && (unsigned char)p[0] == 0xef &&
        (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
                     p[i] == '\n'))
        i++;
    if (n - i >= 6 && memcmp(p + i, "{\"id\":", 6) == 0)
        return REPLAY_TAIL;
    return i < n && p[i] == '{' ? REPLAY_JSONL : REPLAY_SSE;
}

static void print_summary(const struct replay *r)
{
    const struct replay_stats *s = &r->st;

    fprintf(r->err,
            "toolwatch replay: %s input, %llu records, %llu events, %llu "
            "skipped, %llu duplicates, %llu late, %llu warnings; %llu "
            "alerts:",
            s->format == REPLAY_JSONL  ? "jsonl"
            : s->format == REPLAY_TAIL ? "tail"
                                       : "sse",
            (unsigned long long)s->records, (unsigned long long)s->events,
            (unsigned long long)s->skipped,
            (unsigned long long)s->duplicates, (unsigned long long)s->late,
            (unsigned long long)s->warnings,
            (unsigned long long)s->alerts_total);
    for (uint32_t i = 0; i < det_engine_nrules(pipeline_engine(r->pl)) &&
                         i < RULE_MAX; i++) {
        struct det_rule_info ri;
        det_engine_rule_info(pipeline_engine(r->pl), i, &ri);
        fprintf(r->err, "%s %s %llu", i ? "," : "", ri.name,
                (unsigned long long)s->alerts[i]);
    }
    fputc('\n', r->err);
}

int replay_run(const struct cfg *c, FILE *in, FILE *out, FILE *err,
               enum replay_format fmt, unsigned flags,
               struct replay_stats *st)
{
    return replay_run_redact(c, NULL, in, out, err, fmt, flags, st);
}

__attribute__((hot))
int replay_run_redact(const struct cfg *c, const struct redact_opts *red,
                      FILE *in, FILE *out, FILE *err, enum replay_format fmt,
                      unsigned flags, struct replay_stats *st)
{
    struct replay *r = NULL;
    char *chunk = NULL;
    size_t n;
    int rc = REPLAY_ENOMEM, first = 1;

    if ((r = calloc(1, sizeof *r)) == NULL ||
        (chunk = malloc(CHUNK)) == NULL)
        goto out;
    r->out = out;
    r->err = err;
    r->flags = flags;
    r->line_no = 1;
    r->last = '\n';
    buf_init(&r->line, EVENT_MAX_DATA_BYTES);
    buf_init(&r->fixed, EVENT_MAX_DATA_BYTES);
    buf_init(&r->tail_type, EVENT_MAX_DATA_BYTES);
    buf_init(&r->tail_data, EVENT_MAX_DATA_BYTES);
    if (sse_parser_init(&r->sse, &sse_cb, r, 0) != SSE_OK)
        goto out;
    if ((r->pl = pipeline_create(&c->det, c->rules, c->instance,
                                 PIPELINE_NDJSON, &pipeline_cb, r)) == NULL)
        goto out;
    pipeline_set_redact(r->pl, red);
    rc = REPLAY_OK;
    while (!r->stop && (n = fread(chunk, 1, CHUNK, in)) > 0) {
        const char *p = chunk, *end = chunk + n;
        if (first) {
            if (fmt == REPLAY_AUTO)
                fmt = detect(chunk, n);
            if (fmt == REPLAY_AUTO)
                fmt = REPLAY_SSE;
            r->fmt = fmt;
            first = 0;
        }
        r->last = chunk[n - 1];
        if (fmt == REPLAY_SSE) {
            sse_parser_execute(&r->sse, chunk, n);
            continue;
        }
        while (p < end && !r->stop) {
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            size_t len = lf ? (size_t)(lf - p) + 1 : (size_t)(end - p);
            jsonl_piece(r, p, len, lf != NULL);
            p += len;
        }
    }
    if (ferror(in)) {
        msg(r, "cannot read the input: %s", strerror(errno));
        rc = REPLAY_EIO;
        goto out;
    }
    if (fmt == REPLAY_SSE) /* the lines read, up to a stop */
        r->st.lines = r->stop ? r->stop_line : r->sse.stats.lf;
    if (!r->stop) {
        uint64_t ln;

        if (fmt != REPLAY_SSE && (r->line.len > 0 || r->line_too_long)) {
            jsonl_line(r); /* a last line without LF */
            r->st.lines++;
        } else if (fmt == REPLAY_SSE && r->last != '\n') {
            r->st.lines++;
        }
        if (fmt == REPLAY_SSE && (ln = sse_parser_finish(&r->sse)) != 0) {
            msg(r, "line %llu: incomplete event at end of input (no blank "
                   "line after it); skipped", (unsigned long long)ln);
            pipeline_drop(r->pl, PIPELINE_DROP_RECORD);
            skipped(r);
        }
    }
    if (!r->stop)
        pipeline_input_end(r->pl);
    if (!r->stop && (flags & REPLAY_DRAIN))
        pipeline_drain(r->pl);
    if (r->rc != REPLAY_OK)
        rc = r->rc;
    if (fflush(out) != 0 && rc == REPLAY_OK) {
        msg(r, "cannot write the output: %s", strerror(errno));
        rc = REPLAY_EIO;
    }
out:
    if (r != NULL) {
        r->st.format = fmt == REPLAY_AUTO ? REPLAY_SSE : fmt;
        if (r->pl != NULL) {
            struct pipeline_stats ps;

            pipeline_stats(r->pl, &ps);
            r->st.records = ps.records;
            r->st.events = ps.events;
            r->st.skipped = ps.skipped;
            r->st.duplicates = ps.duplicates;
            r->st.warnings = ps.warnings;
            r->st.late = ps.late;
            print_summary(r);
        }
        if (st != NULL)
            *st = r->st;
        pipeline_destroy(r->pl);
        sse_parser_free(&r->sse);
        buf_free(&r->line);
        buf_free(&r->fixed);
        buf_free(&r->tail_type);
        buf_free(&r->tail_data);
    }
    free(r);
    free(chunk);
    return rc;
}

void replay_usage(FILE *f)
{
    fputs(
        "usage: toolwatch replay FILE|- [options]\n"
        "\n"
        "Run the rules over a recorded audit stream in event time and\n"
        "print every alert document as one NDJSON line on stdout; a summary\n"
        "goes to stderr.  The same input, config and redaction key always\n"
        "give the same bytes.  Bad records are reported with their line\n"
        "number and skipped.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE   rules and settings, redaction included\n"
        "                      (default: the defaults, every field masked)\n"
        "  -h, --help          this text\n"
        "  --format F          input format: sse, jsonl, or tail (the\n"
        "                      NDJSON toolwatch tail prints); default: tail\n"
        "                      when the input starts with {\"id\":, jsonl\n"
        "                      with another '{', else sse\n"
        "  --drain             at end of input, let event time run on as if\n"
        "                      the stream went quiet (stream_stalled aside)\n"
        "                      until every open alert has resolved\n"
        "  --strict            stop with status 1 at the first bad record\n"
        "\n"
        "exit status: 0 ok, 1 unreadable input or config, no event decoded\n"
        "(every record skipped, or none), or --strict and a bad record;\n"
        "2 usage error\n",
        f);
}

/* The redaction of the file's `redact` section.  A hash mode needs the
 * key of the service that made the alerts: its state directory's
 * redact.key or key_env; replay never makes one, so without it (or when
 * it cannot be read) the hashed fields are masked, and the reason is
 * printed. */
static void redaction(const struct cfg *c, struct redact_opts *o)
{
    char msg[CFG_PATH_MAX + 256];
    int fell_back = 0;

    if (redact_key_opts(c, 0, o, &fell_back, msg, sizeof msg) != 0) {
        fprintf(stderr, "toolwatch replay: %s; hashed fields are masked "
                "instead\n", msg);
        redact_opts_default(o);
    } else if (fell_back) {
        fprintf(stderr, "toolwatch replay: no redaction key in %s (made by "
                "the service's first run): hashed fields are masked "
                "instead\n", c->state_dir);
    }
}

int replay_main(int argc, char **argv)
{
    enum replay_format fmt = REPLAY_AUTO;
    const char *path = NULL, *config = NULL, *name, *v;
    unsigned flags = 0;
    struct replay_stats st;
    struct redact_opts red;
    struct cfg *c = NULL;
    FILE *in = NULL;
    static const struct option opts[] = {
        CLI_OPT_HELP,
        CLI_OPT_CONFIG,
        {"format", required_argument, NULL, 0},
        {"drain", no_argument, NULL, 0},
        {"strict", no_argument, NULL, 0},
        CLI_OPT_END,
    };
    cli_args a;
    int kind, rc = CLI_EXIT_USAGE;

    if (cli_args_init(&a, "replay", argc, argv, opts) != 0)
        goto out;
    while ((kind = cli_next(&a, &name)) != 0) {
        if (kind < 0)
            goto out;
        if (kind == 2) {
            if (path != NULL) {
                fprintf(stderr, "toolwatch replay: one input only\n");
                goto out;
            }
            path = name;
        } else if (strcmp(name, "--help") == 0) {
            replay_usage(stdout);
            rc = CLI_EXIT_OK;
            goto out;
        } else if (strcmp(name, "--drain") == 0) {
            flags |= REPLAY_DRAIN;
        } else if (strcmp(name, "--strict") == 0) {
            flags |= REPLAY_STRICT;
        } else if (strcmp(name, "--config") == 0) {
            if ((config = cli_value(&a, name)) == NULL)
                goto out;
        } else if (strcmp(name, "--format") == 0) {
            if ((v = cli_value(&a, name)) == NULL)
                goto out;
            if (strcmp(v, "sse") == 0) {
                fmt = REPLAY_SSE;
            } else if (strcmp(v, "jsonl") == 0) {
                fmt = REPLAY_JSONL;
            } else if (strcmp(v, "tail") == 0) {
                fmt = REPLAY_TAIL;
            } else {
                fprintf(stderr, "toolwatch replay: --format: expected sse, "
                                "jsonl or tail, got \"%s\"\n", v);
                goto out;
            }
        } else {
            fprintf(stderr, "toolwatch replay: unknown option %s\n", name);
            goto out;
        }
    }
    if (path == NULL) {
        replay_usage(stderr);
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    if ((c = calloc(1, sizeof *c)) == NULL)
        goto out;
    if (config != NULL) {
        struct cfg_report_file report = {stderr, "toolwatch replay: "};

        if (cfg_load_report(c, config, environ, cfg_report_print, &report,
                            NULL, 0) != CFG_OK)
            goto out;
    } else {
        cfg_defaults(c);
    }
    if (strcmp(path, "-") == 0) {
        in = stdin;
    } else if ((in = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "toolwatch replay: %s: %s\n", path, strerror(errno));
        goto out;
    }
    if (config != NULL)
        redaction(c, &red);
    if (replay_run_redact(c, config != NULL ? &red : NULL, in, stdout,
                          stderr, fmt, flags, &st) != REPLAY_OK)
        goto out;
    /* nothing reached the rules: a wrong file or format, not a quiet
     * stream */
    if (st.events == 0) {
        fprintf(stderr, "toolwatch replay: no event decoded from %llu "
                "records\n", (unsigned long long)st.records);
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    if (in != NULL && in != stdin)
        fclose(in);
    cfg_free(c);
    return rc;
}

const char *replay_strerror(int rc)
{
    switch (rc) {
    case REPLAY_OK: return "ok";
    case REPLAY_EIO: return "input/output error";
    case REPLAY_EBADINPUT: return "bad record (strict mode)";
    case REPLAY_ENOMEM: return "out of memory";
    default: return "unknown replay error";
    }
}
