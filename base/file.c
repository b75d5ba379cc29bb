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

int file_read_all(const char *dir, const char *name, size_t max,
                  char **data, size_t *n)
{
    char path[PATH_MAX];
    struct stat st;
    char *p = NULL;
    size_t got = 0;
    int fd = -1, rc = FILE_EIO, saved;
    int np = snprintf(path, sizeof path, "%s/%s", dir, name);

    *data = NULL;
    *n = 0;
    if (np < 0 || (size_t)np >= sizeof path) {
        errno = ENAMETOOLONG;
        rc = FILE_ENAMETOOLONG;
        goto out;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = errno == ENOENT ? FILE_ENOENT : FILE_EIO;
        goto out;
    }
    if (fstat(fd, &st) != 0)
        goto out;
    if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
        rc = FILE_ETOOBIG;
        goto out;
    }
    if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
        rc = FILE_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size + 1 - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > (size_t)st.st_size) { /* it grew while read */
            rc = FILE_ETOOBIG;
            goto out;
        }
    }
    p[got] = '\0';
    *data = p;
    *n = got;
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
    }
    return "unknown error";
}
