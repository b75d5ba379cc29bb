/*
 * file.c - whole writes and atomic file replacement (see file.h).
 *
 * Invariant of file_replace(): dir/name is only ever changed by rename(2)
 * of a complete, fsync'd temporary file, so a reader (or a restart after
 * kill -9 or a power cut) sees the old bytes or the new bytes.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return FILE_EIO;
        }
        c += w;
        n -= (size_t)w;
    }
    return FILE_OK;
}

int file_sync_dir(const char *dir)
{
    int rc = FILE_OK, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) != 0)
        rc = FILE_EIO;
    if (fd >= 0) {
        int saved = errno;

        close(fd);
        errno = saved;
    }
    return rc;
}

int file_replace(const char *dir, const char *name, const void *data,
                 size_t n)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int fd = -1, rc = FILE_EIO, saved;
    int np = snprintf(path, sizeof path, "%s/%s", dir, name);
    int nt = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);

    if (np < 0 || (size_t)np >= sizeof path || nt < 0 ||
        (size_t)nt >= sizeof tmp) {
        errno = ENAMETOOLONG;
        rc = FILE_ENAMETOOLONG;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || file_write_all(fd, data, n) != FILE_OK || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    /* the rename is durable only once the directory is */
    rc = file_sync_dir(dir);
    goto out;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(tmp);
    errno = saved;
out:
    return rc;
}

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
    struct stat st;
    char *p = NULL;
    size_t n = 0, cap;
    int fd, rc = FILE_EIO, saved;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? FILE_ENOENT : FILE_EIO;
        goto out;
    }
    if (fstat(fd, &st) != 0)
        goto out;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto out;
    }
    /* sized by the file, never past max + 1 bytes: one byte past max
     * tells a file of max bytes from a larger one (it may grow meanwhile) */
    if (max == SIZE_MAX) {
        rc = FILE_ENOMEM;
        goto out;
    }
    cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
    for (;;) {
        ssize_t r;

        if (n == cap) {
            char *q;

            if (cap == max + 1)
                break;
            cap = cap < (max + 1) / 2 ? 2 * cap : max + 1;
            if ((q = realloc(p, cap)) == NULL) {
                rc = FILE_ENOMEM;
                goto out;
            }
            p = q;
        } else if (p == NULL && (p = malloc(cap)) == NULL) {
            rc = FILE_ENOMEM;
            goto out;
        }
        r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        rc = FILE_ETOOBIG;
        goto out;
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    p = NULL;
    rc = FILE_OK;
out:
    saved = errno;
    free(p);
    if (fd >= 0)
        close(fd);
    errno = saved;
    return rc;
}

int file_load(const char *dir, const char *name, size_t max,
              file_parse_fn parse, void *ud, char *why, size_t whysz,
              int *set_aside)
{
    char path[PATH_MAX], bad[PATH_MAX + 8], *data = NULL;
    size_t len = 0;
    int rc, n = snprintf(path, sizeof path, "%s/%s", dir, name);

    *set_aside = 0;
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(why, whysz, "%s", file_strerror(FILE_ENAMETOOLONG));
        return FILE_EREFUSED;
    }
    rc = file_read_all(path, max, &data, &len);
    if (rc == FILE_ENOENT)
        return FILE_ENOENT;
    if (rc != FILE_OK)
        snprintf(why, whysz, "%s",
                 rc == FILE_EIO ? strerror(errno) : file_strerror(rc));
    else if (parse(ud, data, len, why, whysz) == 0)
        goto out;
    rc = FILE_EREFUSED;
    snprintf(bad, sizeof bad, "%s.bad", path);
    *set_aside = rename(path, bad) == 0;
out:
    free(data);
    return rc;
}

const char *file_strerror(int rc)
{
    switch (rc) {
    case FILE_OK:
        return "ok";
    case FILE_EIO:
        return "I/O error";
    case FILE_ENAMETOOLONG:
        return "path too long";
    case FILE_ENOENT:
        return "no such file";
    case FILE_ETOOBIG:
        return "file too large";
    case FILE_ENOMEM:
        return "out of memory";
    case FILE_EREFUSED:
        return "unusable file";
    }
    return "unknown error";
}
