/*
 * lag.h - two judgements the engine's clock (engine.h) makes about the
 * audit stream, as small value types with no clock, no I/O and no
 * allocation: how far behind its own timestamps the stream arrives
 * (det_lag), and whether an event stamped ahead of the stream's time is
 * an outlier or the first of a stream whose clock really moved
 * (det_skew).  Apart from the engine so that each can be tested alone
 * with synthetic times.
 *
 * Lag (det_lag).  A sample is taken at each credible event read live: the
 * wall clock at that moment minus the newest credible event time.  The
 * newest time is a maximum, so an old straggler does not make the stream
 * look slow.  Samples go into one-second buckets by wall clock, each
 * keeping its smallest sample; the estimate is the smallest sample of the
 * last DET_LAG_WINDOW_S seconds that have any, and while none has (the
 * stream is quiet or down) it stays where it was: quiet is not lag.  So
 * the estimate falls at once (a backlog draining, a source catching up:
 * the clock may follow the stream as soon as it is fresher) and rises
 * only once a larger lag has lasted DET_LAG_WINDOW_S (a slow batch or a
 * pause does not hold the clock back); a bursty source is judged by its
 * freshest deliveries.  det_lag_forget() drops the samples and keeps the
 * estimate until the next sample replaces it (a reconnect: the backlog
 * that follows is judged by its own lag, not by the one before it; a
 * reconnect with nothing to read keeps the old one).
 *
 * Skew (det_skew).  An event is a suspect when it is stamped more than
 * `tol` ahead of the stream's time (the caller's reference: the newest
 * credible event time, or the lag-adjusted wall clock when later).  A
 * suspect is an outlier (the caller clamps it: its time is not trusted)
 * unless it is the DET_SKEW_EVENTS-th of consecutive suspects each in
 * step with the one before (no earlier than it less tol, no later than it
 * plus tol plus the wall time in between): then the stream itself moved
 * ahead (a source whose clock was fixed) and its time is accepted.  One
 * event, or a few, cannot move the clock; a whole stream can, after
 * DET_SKEW_EVENTS events.  Any event in step with the stream ends a run.
 */
#ifndef TW_LAG_H
#define TW_LAG_H

#include <stdint.h>

#define DET_LAG_WINDOW_S 30 /* seconds of samples the estimate looks at */
#define DET_LAG_SLOTS 32    /* one-second buckets (> DET_LAG_WINDOW_S) */
#define DET_SKEW_EVENTS 4   /* consecutive suspects that move the clock */

/* A one-second bucket: private. */
struct det_lag_slot {
    int64_t sec;    /* wall clock second; 0: empty */
    int64_t min_ms; /* smallest sample in it */
};

typedef struct det_lag {
    struct det_lag_slot slot[DET_LAG_SLOTS]; /* private */
    int64_t est_ms; /* the estimate, when known */
    int known;      /* a sample was ever taken */
    int forgot;     /* private: the next sample replaces the estimate */
} det_lag;

/* Nothing known. */
void det_lag_init(det_lag *l);

/* A sample: at wall_ms (> 0) the stream's newest event was lag_ms old
 * (negative when the source's clock is ahead of ours). */
void det_lag_sample(det_lag *l, int64_t wall_ms, int64_t lag_ms);

/* Let the buckets older than DET_LAG_WINDOW_S at wall_ms go and recompute
 * the estimate from those left (unchanged when none is left).  Call about
 * once a second. */
void det_lag_update(det_lag *l, int64_t wall_ms);

/* Drop the samples; the estimate stays until the next sample, which
 * replaces it (larger or not). */
void det_lag_forget(det_lag *l);

/* The estimate into *ms; returns 1, or 0 (and *ms 0) when nothing is
 * known. */
int det_lag_get(const det_lag *l, int64_t *ms);

enum det_skew_verdict {
    DET_SKEW_OK = 0,  /* in step with the stream: trusted */
    DET_SKEW_OUTLIER, /* too far ahead: clamp it */
    DET_SKEW_JUMP     /* the stream moved ahead: trust it from here */
};

typedef struct det_skew {
    uint32_t run;      /* consecutive suspects so far */
    int64_t last_t;    /* the last suspect's time */
    int64_t last_wall; /* and the wall clock it came at (0 in replay) */
} det_skew;

void det_skew_init(det_skew *s);

/* Judge an event stamped t_ms against the stream's time ref_ms (INT64_MIN:
 * none yet, so nothing is a suspect), tol_ms ahead still in step,
 * received at wall_ms (0 in replay).  Returns an enum
 * det_skew_verdict. */
int det_skew_judge(det_skew *s, int64_t t_ms, int64_t ref_ms, int64_t tol_ms,
                   int64_t wall_ms);

#endif
