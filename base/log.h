/*
 * log.h - one line per record on stderr, with level and component.
 *
 *   LOG(LOG_WARN, "stream", "HTTP %ld from %s", code, url);
 *
 * The level is checked before the arguments are evaluated, so a disabled
 * LOG costs one comparison.  Output format:
 *
 *   2026-11-22T13:20:00.123Z WARN stream: HTTP 500 from http://...
 *
 * or, with log_set_format(LOG_FORMAT_JSON), one JSON object per line with
 * these fields, always in this order:
 *
 *   {"ts":"2026-11-22T13:20:00.123Z","level":"warning","component":"stream",
 *    "msg":"HTTP 500 from http://..."}
 *
 * (level: "error", "warning", "info" or "debug").  When stderr is the
 * journal (log_detect_journal: JOURNAL_STREAM names it), each line starts
 * with its syslog priority, "<3>" error, "<4>" warning, "<6>" info, "<7>"
 * debug (sd-daemon(3)), so that journalctl -p works.
 *
 * Control characters in the message (hostile input quoted in a log line)
 * are escaped as \xNN in text so that one record is always one line; in
 * JSON the message is a JSON string, valid UTF-8 whatever its bytes
 * (bytes that are not UTF-8 become U+FFFD).  Repeats are
 * suppressed per call site (the format string): at most LOG_BURST lines per
 * LOG_PERIOD_MS, then one "N similar messages suppressed" line when the
 * period ends.  LOG_KEY gives a call site a budget per key (a sink's name),
 * so that one sink's flood of a line does not hide another sink's first
 * one.
 * Callers never pass secrets: the logger cannot know them.
 *
 * The logger is the one piece of process-wide state: stderr is process-wide
 * already, and every module logs.  It is not thread-safe for configuration
 * (log_set_level before threads start); writes take a mutex.
 */
#ifndef TW_LOG_H
#define TW_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

#define LOG_BURST 5
#define LOG_PERIOD_MS 10000
#define LOG_KEY_MAX 64 /* bytes of a LOG_KEY key that count, with the NUL */

extern int log_current_level;

#define LOG(level, component, ...)                                         \
    do {                                                                   \
        if ((level) <= log_current_level)                                  \
            log_write((level), (component), __VA_ARGS__);                  \
    } while (0)

/* LOG, with the repeats counted per (call site, key): `key` names what the
 * line is about (a sink's name); keys compare by their first
 * LOG_KEY_MAX - 1 bytes, and a NULL key is LOG's own budget. */
#define LOG_KEY(level, component, key, ...)                                \
    do {                                                                   \
        if ((level) <= log_current_level)                                  \
            log_write_key((level), (component), (key), __VA_ARGS__);       \
    } while (0)

void log_write(enum log_level level, const char *component, const char *fmt,
               ...) __attribute__((format(printf, 3, 4)));

void log_write_key(enum log_level level, const char *component,
                   const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void log_set_level(enum log_level level);

/* "error", "warn" or "warning", "info", "debug" (any case) -> level;
 * returns -1 if unknown. */
int log_parse_level(const char *name);

void log_set_format(enum log_format format);

/* "text", "json" -> format; returns -1 if unknown. */
int log_parse_format(const char *name);

/* Prefix each line with its syslog priority ("<6>") when on. */
void log_set_journal(int on);

/* Turn the priority prefix on when the environment's JOURNAL_STREAM
 * ("DEVICE:INODE", set by systemd) is the file stderr is; returns 1 if it
 * is, else 0 (and the prefix stays as it was). */
int log_detect_journal(void);

/* Write to this fd instead of stderr (tests); -1 restores stderr. */
void log_set_fd(int fd);

#endif
