/*
 * log.c - leveled, rate-limited, single-line logging to stderr.
 *
 * Rate limiting is keyed by the format string's address (one per call
 * site) and, for LOG_KEY, a key string, in a small fixed table; a site
 * that is not in the table replaces the oldest entry, so memory is
 * constant whatever the input.  A record is
 * formatted into a fixed buffer (long messages are cut) and written with one
 * write(2), so concurrent writers never interleave within a line.
 */
#include "base/log.h"

#include "base/buf.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int log_current_level = LOG_INFO;

#define SITES 128 /* call sites, times keys (sinks: at most 16 each) */
#define LINE_MAX_BYTES 2048

struct site {
    const char *fmt;
    char key[LOG_KEY_MAX]; /* "" for LOG */
    long long period_start;
    unsigned count;
    unsigned suppressed;
};

static struct site sites[SITES];
static int log_fd = 2;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static enum log_format log_format = LOG_FORMAT_TEXT;
static int log_journal;
static buf json_line; /* a JSON record, kept between records */

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const json_levels[] = {"error", "warning", "info",
                                          "debug"};
static const char journal_prio[] = {'3', '4', '6', '7'};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-11-22T13:20:00.123Z" into ts[96] (room for any int) */
static void put_time(char *ts96)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(ts96, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static size_t put_prefix(char *out, size_t size, enum log_level level,
                         const char *component)
{
    char ts[96], prio[4] = {'<', journal_prio[level], '>', '\0'};
    int n;

    put_time(ts);
    n = snprintf(out, size, "%s%s %s %s: ", log_journal ? prio : "", ts,
                 level_names[level], component);
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* Copy msg into out, escaping control bytes; returns bytes written. */
static size_t put_escaped(char *out, size_t size, const char *msg)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (const unsigned char *s = (const unsigned char *)msg; *s; s++) {
        if (*s < 0x20 || *s == 0x7f) {
            if (o + 4 >= size)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*s >> 4];
            out[o++] = hex[*s & 15];
        } else {
            if (o + 1 >= size)
                break;
            out[o++] = (char)*s;
        }
    }
    return o;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(log_fd, p, n);
        if (w <= 0)
            break;
        p += w;
        n -= (size_t)w;
    }
}

/* The record as one JSON object; 0, or -1 when it cannot be built (out of
 * memory: then the text line is written instead). */
static int emit_json(enum log_level level, const char *component,
                     const char *msg)
{
    buf_writer w = {&json_line, BUF_OK};
    char ts[96];

    if (json_line.max == 0)
        buf_init(&json_line, 8 * LINE_MAX_BYTES);
    buf_reset(&json_line);
    put_time(ts);
    if (log_journal) {
        char prio[4] = {'<', journal_prio[level], '>', '\0'};
        buf_w_raw(&w, prio);
    }
    buf_w_raw(&w, "{\"ts\":\"");
    buf_w_raw(&w, ts);
    buf_w_raw(&w, "\",\"level\":\"");
    buf_w_raw(&w, json_levels[level]);
    buf_w_raw(&w, "\",\"component\":");
    buf_w_json(&w, component, strlen(component));
    buf_w_raw(&w, ",\"msg\":");
    buf_w_json(&w, msg, strlen(msg));
    buf_w_raw(&w, "}\n");
    if (w.rc != BUF_OK)
        return -1;
    write_all(json_line.data, json_line.len);
    return 0;
}

static void emit(enum log_level level, const char *component, const char *msg)
{
    char line[LINE_MAX_BYTES];
    size_t n;

    if (log_format == LOG_FORMAT_JSON && emit_json(level, component, msg) == 0)
        return;
    n = put_prefix(line, sizeof line, level, component);
    n += put_escaped(line + n, sizeof line - n - 1, msg);
    line[n++] = '\n';
    write_all(line, n);
}

/* Decide whether this call site (and key) may log now; reports what was
 * held back. */
static int site_admit(const char *fmt, const char *key, unsigned *flushed)
{
    long long now = mono_ms();
    struct site *s = NULL, *oldest = &sites[0];

    *flushed = 0;
    for (int i = 0; i < SITES; i++) {
        if (sites[i].fmt == fmt &&
            strncmp(sites[i].key, key, sizeof sites[i].key - 1) == 0) {
            s = &sites[i];
            break;
        }
        if (sites[i].period_start < oldest->period_start)
            oldest = &sites[i];
    }
    if (s == NULL) {
        s = oldest;
        memset(s, 0, sizeof *s);
        s->fmt = fmt;
        snprintf(s->key, sizeof s->key, "%s", key);
        s->period_start = now;
    }
    if (now - s->period_start >= LOG_PERIOD_MS) {
        *flushed = s->suppressed;
        s->period_start = now;
        s->count = 0;
        s->suppressed = 0;
    }
    if (s->count >= LOG_BURST) {
        s->suppressed++;
        return 0;
    }
    s->count++;
    return 1;
}

static void vlog(enum log_level level, const char *component,
                 const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vlog(enum log_level level, const char *component,
                 const char *key, const char *fmt, va_list ap)
{
    char msg[LINE_MAX_BYTES];
    unsigned flushed;

    if (level < LOG_ERROR || level > LOG_DEBUG)
        level = LOG_ERROR;
    pthread_mutex_lock(&log_lock);
    if (site_admit(fmt, key, &flushed)) {
        if (flushed > 0) {
            snprintf(msg, sizeof msg, "%u similar messages suppressed",
                     flushed);
            emit(level, component, msg);
        }
        vsnprintf(msg, sizeof msg, fmt, ap);
        emit(level, component, msg);
    }
    pthread_mutex_unlock(&log_lock);
}

void log_write(enum log_level level, const char *component, const char *fmt,
               ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, component, "", fmt, ap);
    va_end(ap);
}

void log_write_key(enum log_level level, const char *component,
                   const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, component, key != NULL ? key : "", fmt, ap);
    va_end(ap);
}

void log_set_level(enum log_level level)
{
    log_current_level = level;
}

int log_parse_level(const char *name)
{
    for (int i = 0; i <= LOG_DEBUG; i++) {
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    }
    if (strcasecmp(name, "warning") == 0)
        return LOG_WARN;
    return -1;
}

void log_set_format(enum log_format format)
{
    log_format = format == LOG_FORMAT_JSON ? LOG_FORMAT_JSON
                                           : LOG_FORMAT_TEXT;
}

int log_parse_format(const char *name)
{
    if (strcmp(name, "text") == 0)
        return LOG_FORMAT_TEXT;
    if (strcmp(name, "json") == 0)
        return LOG_FORMAT_JSON;
    return -1;
}

void log_set_journal(int on)
{
    log_journal = on != 0;
}

int log_detect_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    char *end;

    if (env == NULL || fstat(log_fd, &st) != 0)
        return 0;
    errno = 0;
    dev = strtoull(env, &end, 10);
    if (errno != 0 || end == env || *end != ':')
        return 0;
    env = end + 1;
    ino = strtoull(env, &end, 10);
    if (errno != 0 || end == env || *end != '\0')
        return 0;
    if ((unsigned long long)st.st_dev != dev ||
        (unsigned long long)st.st_ino != ino)
        return 0;
    log_journal = 1;
    return 1;
}

void log_set_fd(int fd)
{
    log_fd = fd < 0 ? 2 : fd;
}
