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
    FILE_ENOENT = -3,  /* file_read_all: no such file */
    FILE_ETOOBIG = -4, /* file_read_all: larger than the cap */
    FILE_ENOMEM = -5,
    FILE_EREFUSED = -6 /* file_load: unusable, set aside (see there) */
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

/* fsync the directory `dir` (after a rename or unlink in it).  Returns
 * FILE_OK or FILE_EIO with errno set. */
int file_sync_dir(const char *dir);

/* Read the whole regular file at `path`, at most `max` bytes, into a new
 * buffer (*out, with a NUL after its *len bytes; the caller frees it).
 * The file is read through one descriptor, never past max + 1 bytes, so a
 * hostile or growing file cannot make memory grow.  Returns FILE_OK,
 * FILE_ENOENT (no such file), FILE_ETOOBIG (more than max bytes),
 * FILE_ENOMEM or FILE_EIO (errno set; EISDIR or EINVAL for what is not a
 * regular file).  *out is NULL on failure. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/* Parse the bytes of a state file: 0 when they are taken, else -1 with
 * the reason in why (the parser keeps nothing of a refused file). */
typedef int (*file_parse_fn)(void *ud, const char *data, size_t len,
                             char *why, size_t whysz);

/* Load the state file dir/name whole or not at all: read it
 * (file_read_all, at most max bytes) and hand it to parse.  Returns
 * FILE_OK (taken), FILE_ENOENT (no file: nothing done, the first start),
 * or FILE_EREFUSED: it could not be read or parse refused it; the reason
 * is in why, and the file was renamed to dir/name.bad (*set_aside 1;
 * 0 when even that failed) so that the next write does not destroy the
 * evidence.  The caller logs the outcome. */
int file_load(const char *dir, const char *name, size_t max,
              file_parse_fn parse, void *ud, char *why, size_t whysz,
              int *set_aside);

const char *file_strerror(int rc);

#endif
