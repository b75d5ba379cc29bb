/*
 * sig.h - signals into the event loop through a self-pipe.
 *
 * The handlers only set a flag and write one byte to a non-blocking pipe;
 * the loop waits on the pipe's read end (loop_set_wake_fd) and then calls
 * sig_take() to see what arrived.  Handler state is process-wide by
 * nature; this module is its one owner.
 */
#ifndef TW_SIG_H
#define TW_SIG_H

enum { SIG_TERM = 1, SIG_HUP = 2 };

/* Install handlers for SIGTERM, SIGINT (-> SIG_TERM) and SIGHUP (->
 * SIG_HUP); ignore SIGPIPE.  Returns the pipe's read end, or -1. */
int sig_setup(void);

/* The signals seen since the last call (SIG_* bits), cleared. */
unsigned sig_take(void);

/* Wake the loop without a signal (one byte into the pipe; any thread,
 * async-signal-safe): the status server's thread calls it when it has
 * queued an API request.  sig_take() then returns no bits. */
void sig_wake(void);

#endif
