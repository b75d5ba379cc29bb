/*
 * position.c - the stream reader's position file and generations (see
 * position.h for the format and the rules).
 *
 * Why apart from stream.c: the transfer (libcurl, reconnects) and the
 * record of where it got to change for different reasons, and the record
 * must outlive a reader: a reload builds a new reader while the old one
 * still exists and hands the position over (position_take).
 *
 * Invariants:
 *  - gen only rises, and every generation handed out (persist, claim) is
 *    gen + 1 at that moment, so no two positions this process records
 *    share a generation;
 *  - the file is only ever replaced whole (base/file.h file_replace), so
 *    a reader sees the old position or the new one, never a mix;
 *  - saved_id is what the file holds as far as this process knows: set
 *    when the file was read or written, or taken from the position that
 *    wrote it last (same directory);
 *  - a position without a directory reads and writes nothing.
 */
#include "consumer/position.h"

#include "base/file.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_NAME "position"
#define GEN_DIGITS_MAX 20
/* the file: id, LF, generation, LF */
#define FILE_MAX (POSITION_ID_MAX + 1 + GEN_DIGITS_MAX + 1)

void position_init(struct position *p)
{
    p->dir = NULL;
    p->gen = 0;
    p->saved_valid = 0;
    p->saved_len = 0;
    p->saved_id[0] = '\0';
}

void position_reset(struct position *p)
{
    free(p->dir);
    position_init(p);
}

int position_id_ok(const char *id, size_t len)
{
    return len == 0 ||
           (id != NULL && len < POSITION_ID_MAX &&
            memchr(id, '\n', len) == NULL && memchr(id, '\r', len) == NULL &&
            memchr(id, '\0', len) == NULL);
}

int position_parse(const char *buf, size_t n, size_t *idlen, uint64_t *gen)
{
    const char *lf = memchr(buf, '\n', n);
    size_t i, digits = 0;
    uint64_t g = 0;
    int rc = POSITION_EINVAL;

    *gen = 0;
    *idlen = lf != NULL ? (size_t)(lf - buf) : n;
    if (!position_id_ok(buf, *idlen))
        goto out;
    if (lf == NULL) { /* the older format: the id alone */
        rc = POSITION_OK;
        goto out;
    }
    for (i = *idlen + 1; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (++digits > GEN_DIGITS_MAX ||
            g > (POSITION_GEN_MAX - (uint64_t)(buf[i] - '0')) / 10)
            goto out;
        g = g * 10 + (uint64_t)(buf[i] - '0');
    }
    if (digits == 0 || g == 0 || i + 1 != n || buf[i] != '\n')
        goto out;
    *gen = g;
    rc = POSITION_OK;
out:
    return rc;
}

static int ensure_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Read dir/position into id (see position_open).  1, or 0 when absent or
 * unusable. */
static int read_file(struct position *p, char *id, size_t *len)
{
    char path[4096], buf[FILE_MAX + 1];
    size_t idlen = 0;
    uint64_t gen = 0;
    ssize_t n;
    int fd, rc = 0;

    snprintf(path, sizeof path, "%s/" FILE_NAME, p->dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            LOG(LOG_WARN, "stream", "cannot read %s: %s", path,
                strerror(errno));
        goto out;
    }
    n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0 || (size_t)n >= sizeof buf ||
        position_parse(buf, (size_t)n, &idlen, &gen) != POSITION_OK) {
        LOG(LOG_WARN, "stream", "ignoring unusable position file %s", path);
        goto out;
    }
    memcpy(p->saved_id, buf, idlen);
    p->saved_len = idlen;
    p->saved_valid = 1;
    p->gen = gen;
    memcpy(id, buf, idlen);
    id[idlen] = '\0';
    *len = idlen;
    LOG(LOG_INFO, "stream", "resuming after event id from %s", path);
    rc = 1;
out:
    return rc;
}

int position_open(struct position *p, const char *dir, char *id,
                  size_t *len)
{
    int rc;

    if (p->dir != NULL || dir == NULL) {
        rc = POSITION_EINVAL;
        goto out;
    }
    if (ensure_dir(dir) != 0) {
        LOG(LOG_ERROR, "stream", "cannot create state directory %s: %s",
            dir, strerror(errno));
        rc = POSITION_EIO;
        goto out;
    }
    if ((p->dir = strdup(dir)) == NULL) {
        rc = POSITION_ENOMEM;
        goto out;
    }
    rc = read_file(p, id, len);
out:
    return rc;
}

int position_persist(struct position *p, const char *id, size_t len)
{
    char text[FILE_MAX + 1];
    int n, rc = POSITION_OK;

    if (p->dir == NULL)
        goto out;
    if (p->saved_valid && len == p->saved_len &&
        memcmp(id, p->saved_id, len) == 0)
        goto out;
    if (!position_id_ok(id, len)) {
        errno = EINVAL;
        rc = POSITION_EIO;
        goto out;
    }
    /* a generation above every one handed out (the journal's too); one
     * that is lost to a failed write is simply skipped */
    n = snprintf(text, sizeof text, "%.*s\n%llu\n", (int)len, id,
                 (unsigned long long)++p->gen);
    if (n < 0 || (size_t)n >= sizeof text) {
        errno = ENAMETOOLONG;
        rc = POSITION_EIO;
        goto out;
    }
    if (file_replace(p->dir, FILE_NAME, text, (size_t)n) != FILE_OK) {
        rc = POSITION_EIO;
        goto out;
    }
    memcpy(p->saved_id, id, len);
    p->saved_len = len;
    p->saved_valid = 1;
out:
    if (rc != POSITION_OK)
        LOG(LOG_ERROR, "stream", "cannot write position file in %s: %s",
            p->dir, strerror(errno));
    return rc;
}

uint64_t position_claim(struct position *p)
{
    return ++p->gen;
}

int position_offer(struct position *p, const char *id, size_t len,
                   uint64_t gen)
{
    uint64_t had = p->gen;
    int rc = 0;

    if (gen == 0)
        goto out;
    if (gen > POSITION_GEN_MAX || !position_id_ok(id, len)) {
        LOG(LOG_WARN, "stream", "ignoring an unusable recorded position");
        rc = POSITION_EINVAL;
        goto out;
    }
    if (gen <= had)
        goto out;
    p->gen = gen;
    LOG(LOG_INFO, "stream", "resuming after event id from the alert "
        "journal (position generation %llu; the position file's: %llu)",
        (unsigned long long)gen, (unsigned long long)had);
    rc = 1;
out:
    return rc;
}

uint64_t position_generation(const struct position *p)
{
    return p->gen;
}

const char *position_dir(const struct position *p)
{
    return p->dir;
}

void position_take(struct position *dst, struct position *src)
{
    if (src->gen > dst->gen)
        dst->gen = src->gen;
    if (dst->dir != NULL && src->dir != NULL &&
        strcmp(dst->dir, src->dir) == 0) {
        memcpy(dst->saved_id, src->saved_id, src->saved_len);
        dst->saved_len = src->saved_len;
        dst->saved_valid = src->saved_valid;
    }
    free(src->dir);
    src->dir = NULL;
}

const char *position_strerror(int rc)
{
    switch (rc) {
    case POSITION_OK:
        return "ok";
    case POSITION_ENOMEM:
        return "out of memory";
    case POSITION_EINVAL:
        return "invalid argument";
    case POSITION_EIO:
        return "I/O error in the state directory";
    }
    return "unknown error";
}
