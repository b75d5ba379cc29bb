/*
 * tz.h - local time in a named IANA time zone, from the system's tz
 * database, without touching the process's TZ: the weekly windows of
 * recurring silences (alerts/silence.h) are kept in a zone's wall clock,
 * across its daylight-saving changes.
 *
 * Why not localtime_r: it reads the zone from the TZ variable, which is
 * process-wide; changing it (setenv + tzset) is not thread-safe and would
 * change the zone of every other caller.  A zone here is a value of its
 * own: the TZif file of /usr/share/zoneinfo/<name> (RFC 8536) parsed into
 * its transitions, and its footer's POSIX TZ rule
 * ("CET-1CEST,M3.5.0,M10.5.0/3") for instants after the last transition,
 * which is where a "slim" TZif file keeps the whole present rule.
 *
 * Pure core: tz_parse() reads a TZif image (hostile bytes: every count and
 * index is checked against the image and the caps below before it is
 * used), tz_utoff() and tz_local() are arithmetic.  Thin shell:
 * tz_load() checks the name (tz_name_ok: no absolute path, no `.` or `..`
 * component) and reads the file, at most TZ_FILE_MAX bytes.
 *
 * A tz is immutable once made: any thread may read it.
 */
#ifndef TW_TZ_H
#define TW_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 64          /* a zone name, with the NUL */
#define TZ_FILE_MAX (256u * 1024u)
#define TZ_MAX_TRANSITIONS 4096
#define TZ_MAX_TYPES 256
#define TZ_RULE_MAX 64          /* a footer's POSIX TZ string, bytes */
#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"

enum {
    TZ_OK = 0,
    TZ_EINVAL = -1,  /* not a valid zone name, or not a TZif image */
    TZ_ENOENT = -2,  /* no such zone */
    TZ_EIO = -3,     /* the file cannot be read */
    TZ_ENOMEM = -4
};

typedef struct tz tz;

/* A broken-down local time. */
struct tz_local {
    int year, month, day;   /* month 1..12, day 1..31 */
    int hour, min, sec;
    int wday;               /* 0 Sunday .. 6 Saturday */
    int32_t utoff;          /* seconds east of UTC in force */
};

/* Is `name` a zone name tz_load() may look up: 1..TZ_NAME_MAX-1 bytes of
 * letters, digits, `/`, `_`, `-`, `+` and `.`; not starting with `/` or
 * `-`; no empty, `.` or `..` component?  1 or 0. */
int tz_name_ok(const char *name);

/* Parse a TZif image (len bytes at p) as zone `name` (copied).  Version 1
 * images use their 32-bit data; later versions their 64-bit data and
 * footer rule.  Returns TZ_OK with *out set, TZ_EINVAL (not a valid
 * image: bad magic, counts past the caps or the image, an index past the
 * types, transitions out of order, an offset past +-26 h, a footer that
 * is not a POSIX TZ rule) or TZ_ENOMEM. */
int tz_parse(const char *name, const void *p, size_t len, tz **out);

/* Load zone `name` from dir/name (dir NULL: TZ_DIR_DEFAULT).  Returns
 * TZ_OK with *out set, TZ_EINVAL (a bad name, or not a TZif file),
 * TZ_ENOENT (no such file, or a directory), TZ_EIO or TZ_ENOMEM. */
int tz_load(const char *dir, const char *name, tz **out);

/* Free.  Accepts NULL. */
void tz_destroy(tz *z);

/* The zone's name as given. */
const char *tz_name(const tz *z);

/* Seconds east of UTC in force at t_ms (ms since the epoch). */
int32_t tz_utoff(const tz *z, int64_t t_ms);

/* The local time of zone z at t_ms (whole seconds; t_ms >= 0). */
void tz_local(const tz *z, int64_t t_ms, struct tz_local *out);

/* A sentence for a TZ_* code. */
const char *tz_strerror(int rc);

#endif
