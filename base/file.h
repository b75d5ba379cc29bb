/*
 * file.h - whole writes and atomic file replacement.
 *
 * Every file the service keeps in its state directory (position,
 * checkpoint, silences) is replaced the same way: write a temporary file
 * beside it, fsync it, rename it over the old one, fsync the directory.  A
 * crash at any point leaves either the old file or the new one, never a
 * mix.  These are thin shells over the system calls; errno is kept from
 * the call that failed so the caller's log line can name it.
 */
#ifndef TW_FILE_H
#define TW_FILE_H

#include <stddef.h>

enum {
    FILE_OK = 0,
    FILE_EIO = -1,
    FILE_ENAMETOOLONG = -2,
    FILE_ENOENT = -3,  /* file_read_all: there is no such file */
    FILE_ETOOBIG = -4, /* file_read_all: larger than the caller's cap */
    FILE_ENOMEM = -5
};

/* Write all n bytes of p to fd, retrying on EINTR and short writes.
 * Returns FILE_OK, or FILE_EIO with errno set (a zero-byte write sets
 * EIO). */
int file_write_all(int fd, const void *p, size_t n);

/* Replace dir/name with the n bytes of data, atomically and durably:
 * dir/name.tmp is written with mode 0600, fsync'd and renamed over
 * dir/name, then dir is fsync'd.  On failure the old file is untouched
 * and the temporary file is removed.  Returns FILE_OK, FILE_EIO (errno
 * set) or FILE_ENAMETOOLONG (the path does not fit PATH_MAX). */
int file_replace(const char *dir, const char *name, const void *data,
                 size_t n);

/* Read the whole of dir/name, at most `max` bytes, into a new buffer
 * (*data, malloc'd, the caller frees it; one byte more is allocated and
 * set to NUL) of *n bytes.  The size is checked before anything is
 * allocated, and again while reading (a file that grows is refused).
 * Returns FILE_OK, FILE_ENOENT (no file), FILE_ETOOBIG (over max),
 * FILE_ENOMEM, FILE_ENAMETOOLONG or FILE_EIO (errno set); *data is NULL
 * unless FILE_OK. */
int file_read_all(const char *dir, const char *name, size_t max,
                  char **data, size_t *n);

/* fsync the directory `dir` (after a rename or unlink in it).  Returns
 * FILE_OK or FILE_EIO with errno set. */
int file_sync_dir(const char *dir);

const char *file_strerror(int rc);

#endif
