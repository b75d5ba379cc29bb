/*
 * oncall.h - silences and acknowledgements in the running service (SPEC
 * section 5): the silence store (alerts/silence_store.h), the
 * notification gate (alerts/gate.h) and the API that changes them, all
 * on the main loop.
 *
 * Where it sits: run's on_alert asks oncall_alert() whether each
 * notification of the rules goes to the outbox; oncall_tick() (about once
 * a second) and oncall_serve() (every loop iteration) hand held firings
 * whose silence ended to a send callback, which submits them like any
 * notification; oncall_serve() answers the API requests the status
 * server queued (status/server.h); oncall_fill() puts silenced_by,
 * inhibited_by, acked_by and the counters into the status snapshot.
 *
 * Why on the loop: the store and the gate are the loop's state; the
 * status server's thread only queues requests and waits for their
 * answers (suspended connections), so every change is made by the one
 * thread that reads them, and a write is answered only once it is done
 * and on disk.
 *
 * The API (paths under /api/v1/; JSON in and out; errors
 * {"error": "<message>"}):
 *   GET    /api/v1/silences           200 {"silences": [...]}
 *   POST   /api/v1/silences           201 {"id": "..."}; 400 a refused
 *                                      silence; 409 the store is full
 *   GET    /api/v1/silences/<id>      200 the silence; 404
 *   DELETE /api/v1/silences/<id>      204 (expired from now on); 404
 *   POST   /api/v1/alerts/<id>/ack    body {"by", "comment"} optional;
 *                                      200 {"id", "acked_by", "acked_at",
 *                                      "comment"}; 404 no open episode
 *   GET    /api/v1/history?since=&rule=&limit=
 *                                      200 {"entries": [...]} newest
 *                                      first (alerts/history.h); 400 a
 *                                      bad parameter
 * Other methods on these paths: 405 with Allow; other paths: 404; a
 * write that cannot be saved: 500 (nothing changed).  HEAD is GET's
 * answer without its body.
 *
 * The history (alerts/history.h) is kept here too: every notification
 * the rules make is recorded (fired, repeated, resolved), so is every
 * one the gate keeps back (silenced, acked, inhibited) and every
 * acknowledgement; oncall_note_sinks() records what the sinks delivered
 * and dead-lettered.  The entries
 * reach the disk at oncall_flush(), the loop's group commit.
 *
 * Loop thread only.
 */
#ifndef TW_ONCALL_H
#define TW_ONCALL_H

#include "alerts/delivery.h"
#include "alerts/gate.h"
#include "alerts/history.h"
#include "base/buf.h"
#include "model/alert.h"
#include "status/server.h"

#include <stddef.h>
#include <stdint.h>

#define ONCALL_ACK_BY_DEFAULT "anonymous"

typedef struct oncall oncall;

struct oncall_options {
    const char *state_dir;     /* NULL: nothing kept on disk */
    const char *zone_dir;      /* NULL: the system's tz database */
    int64_t retention_s;       /* silence_retention_s */
    uint64_t history_max_bytes; /* 0: HISTORY_MAX_BYTES */
    const struct gate_inhibit *inhibit; /* the inhibition rules in force */
    size_t n_inhibit;          /* <= GATE_INHIBIT_MAX */
};

/* Send a held firing now (its silence ended): the alert (id, rule,
 * severity, group, labels) and its document, valid during the call. */
typedef void (*oncall_send_fn)(void *ud, const struct alert *a,
                               const char *doc, size_t len);

/* Create: load the silences and the gate's bookkeeping from state_dir
 * (an unusable file is logged and set aside, never fatal).  NULL when
 * out of memory. */
oncall *oncall_create(const struct oncall_options *o, int64_t now_ms);

/* Free.  Accepts NULL. */
void oncall_destroy(oncall *oc);

/* A reload's new silence_retention_s. */
void oncall_set_retention(oncall *oc, int64_t retention_s);

/* A reload's new inhibition rules (n <= GATE_INHIBIT_MAX, copied):
 * held firings no longer inhibited go out at the next oncall_tick(). */
void oncall_set_inhibit(oncall *oc, const struct gate_inhibit *rules,
                        size_t n);

/* A notification of the rules at now_ms (its document: len bytes at
 * doc): whether it goes to the sinks (GATE_SEND) or not, and why.  A
 * notification not sent is logged and counted; oc NULL sends all. */
enum gate_verdict oncall_alert(oncall *oc, const struct alert *a,
                               const char *doc, size_t len, int64_t now_ms);

/* Send the held firings whose silence has ended, prune expired
 * silences past their retention.  About once a second. */
void oncall_tick(oncall *oc, int64_t now_ms, oncall_send_fn send, void *ud);

/* Answer every API request waiting in srv (NULL: none), then, when one
 * changed anything, oncall_tick().  Returns the requests answered. */
int oncall_serve(oncall *oc, status_server *srv, int64_t now_ms,
                 oncall_send_fn send, void *ud);

/* One API request (`path` may end in "?" and a query string, as
 * status_api_request's does): its answer's body into out (empty for 204), its
 * status code returned, *allow set for 405 (else NULL).  `body` is
 * body_len bytes.  *changed (may be NULL) is set when it changed
 * something. */
unsigned oncall_api(oncall *oc, const char *method, const char *path,
                    const char *body, size_t body_len, int64_t now_ms,
                    buf *out, const char **allow, int *changed);

/* Write the gate's file if it changed and the history's new entries
 * (once per loop iteration). */
void oncall_flush(oncall *oc);

/* Record what each sink of dl delivered, took into a storm digest and
 * dead-lettered since the last call (from its counters: one entry per
 * sink and outcome, with the count and, for dead letters, the answer
 * that dead-lettered the last of them, not a later attempt's error; the digested are `delivered` entries whose detail says
 * "N notifications in a storm digest").  A sink seen the
 * first time is only counted from.  Once per loop iteration; dl NULL:
 * nothing. */
void oncall_note_sinks(oncall *oc, const delivery *dl, int64_t now_ms);

/* silenced_by / acked_by / acked_at of every listed open episode, and
 * the oncall counters, into snap as of now_ms.  oc NULL leaves them. */
void oncall_fill(const oncall *oc, struct status_snapshot *snap,
                 int64_t now_ms);

#endif
