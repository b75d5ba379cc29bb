/*
 * proc.h - run a child process for integration tests and watch its output.
 *
 * What: fork/execve a program with an argv and changes to the environment,
 * stdin from /dev/null, stdout and stderr captured through non-blocking
 * pipes.  Helpers wait, each with a timeout, for the next stdout line, for
 * a substring on stderr, or for the exit; all waiting is poll() on the
 * pipes and on a pidfd for the child (no sleeping, no SIGCHLD handler).
 *
 * Why: tests of `toolwatch tail` must read its NDJSON output line by line
 * as it appears, look for log lines, and bound every wait.
 *
 * Invariants:
 *  - everything the child writes is kept (stdout and stderr, each capped at
 *    PROC_CAPTURE_MAX bytes; more is counted and dropped), so a test can
 *    search the whole output afterwards (e.g. for a leaked secret);
 *  - the pipes are drained by every wait, so the child never blocks on a
 *    full pipe while the test waits for something else;
 *  - proc_destroy() kills (SIGKILL) and reaps a child that is still alive:
 *    no zombies, no orphans;
 *  - not thread-safe: use one struct proc from one thread.
 */
#ifndef TW_TESTS_PROC_H
#define TW_TESTS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROC_CAPTURE_MAX (16u * 1024u * 1024u)

enum {
    PROC_TIMEOUT = -1, /* nothing within the timeout */
    PROC_EOF = -2,     /* stdout closed and no line left */
    PROC_TOOLONG = -3  /* the line did not fit; it was consumed */
};

struct proc;

/* Start argv[0] (a path; no PATH search) with argv (NULL-terminated).
 * env_changes (may be NULL) is a NULL-terminated list applied over the
 * current environment: "NAME=value" sets, "NAME" (no '=') unsets.
 * Returns NULL if the pipes or fork failed; an execve failure shows as exit
 * status 127 with a message on the captured stderr. */
struct proc *proc_spawn(const char *const argv[],
                        const char *const env_changes[]);

pid_t proc_pid(const struct proc *p);

/* Next stdout line, without its '\n', NUL-terminated into buf.  Returns the
 * line length (the line may contain NUL bytes), PROC_TIMEOUT, PROC_EOF, or
 * PROC_TOOLONG.  A last line without '\n' is returned once stdout closes. */
int proc_read_line(struct proc *p, char *buf, size_t cap, int timeout_ms);

/* Wait until the stderr captured so far contains needle.  Returns true if
 * it does within timeout_ms (false also if stderr closed without it). */
bool proc_wait_stderr(struct proc *p, const char *needle, int timeout_ms);

/* Like proc_wait_stderr(), but only an occurrence that starts at or after
 * byte `from` of the captured stderr counts (take `from` from
 * proc_stderr_all()'s length to wait for a line logged after that point,
 * e.g. the second occurrence of the same message). */
bool proc_wait_stderr_after(struct proc *p, size_t from, const char *needle,
                            int timeout_ms);

/* Wait for the child to exit; *status gets the waitpid() status.  Returns
 * false on timeout (the child is left running). */
bool proc_wait_exit(struct proc *p, int timeout_ms, int *status);

/* Send sig to the child if it has not been reaped.  Returns 0 or -1. */
int proc_signal(struct proc *p, int sig);

/* Read whatever output is ready without waiting. */
void proc_poll(struct proc *p);

/* All stdout / stderr captured so far (NUL-terminated, may hold NULs:
 * use *len).  Valid until the next call on p. */
const char *proc_stdout_all(const struct proc *p, size_t *len);
const char *proc_stderr_all(const struct proc *p, size_t *len);

/* true if needle occurs in the captured stdout or stderr. */
bool proc_output_contains(const struct proc *p, const char *needle);

/* Kill (SIGKILL) and reap if still running, close, free.  NULL is ok. */
void proc_destroy(struct proc *p);

#endif
