/*
 * snapshot.h - what `run` publishes on /status and /metrics: a struct
 * status_snapshot (status/server.h) filled from the parts in force, plus
 * what no part keeps by itself.
 *
 * The snapshot keeps, across the life of the service:
 *   - the alerts made per rule (fired, resolved) and the open
 *     episodes (the first STATUS_MAX_FIRING of them, and how many);
 *   - when the stream was last disconnected;
 *   - the counters of a stream reader a reload replaced, so that what
 *     /status and /metrics show as counters never goes back.  The event
 *     path's counters are carried by pipeline_adopt(); the outbox is never
 *     replaced (delivery_reconfigure() changes its sinks in place, and a
 *     kept sink keeps its counters);
 *   - when the configuration in force was loaded, and the outcome of the
 *     last reload (snapshot_reload()).
 *
 * From the engine's clock (det_engine_clock) it shows whether detection
 * is live, catching up or unknown (the stream disconnected or stalled:
 * the rules are not judged), per rule too, and the stream's observed lag,
 * which makes the service not ready past stream.max_lag_s.
 *
 * Loop thread only.  snapshot_alert() and snapshot_stream_state() are
 * meant for the pipeline's and the stream's callbacks; publishing copies
 * the result to the status server under its mutex (status_publish()).
 */
#ifndef TW_SNAPSHOT_H
#define TW_SNAPSHOT_H

#include "alerts/delivery.h"
#include "app/checkpointer.h"
#include "app/oncall.h"
#include "app/pipeline.h"
#include "consumer/stream.h"
#include "model/alert.h"
#include "status/server.h"

#include <stdint.h>

typedef struct snapshot snapshot;

/* The parts in force, borrowed for one snapshot_publish(). */
struct snapshot_parts {
    const char *stream_url;   /* as configured; shown without credentials */
    const stream *st;
    const pipeline *pl;
    const delivery *dl;       /* NULL: no outbox (no sinks shown) */
    const struct checkpointer_stats *ckpt; /* NULL: no checkpoints */
    int64_t wall_ms;          /* this loop iteration's wall clock */
    int64_t mono_ms;          /* loop_now() when wall_ms was read */
    int64_t max_lag_ms;       /* stream.max_lag_s: not ready past it */
    const char *not_ready_reason; /* NULL: none ("shutting down") */
    const oncall *oc;         /* NULL: no silences or acks shown */
};

/* A snapshot for a service started at start_wall_ms, with its
 * configuration loaded then.  Returns NULL when out of memory. */
snapshot *snapshot_create(int64_t start_wall_ms);

/* Free.  Accepts NULL. */
void snapshot_destroy(snapshot *s);

/* One notification made (its document built): counted under its
 * rule; a firing one opens an episode (a repeat changes nothing), a
 * resolved one closes it.  `a` is not kept. */
void snapshot_alert(snapshot *s, const struct alert *a);

/* An episode open in a restored checkpoint (det_engine_foreach_open): it
 * is shown open, as its firing was before the restart; nothing is
 * counted (its firing was, then). */
void snapshot_restored(snapshot *s, const struct alert *a);

/* The stream reader's state changed at wall_ms: the time it got
 * disconnected is kept until it connects again. */
void snapshot_stream_state(snapshot *s, enum stream_state st,
                           int64_t wall_ms);

/* A reload is about to destroy the stream reader `st`: keep its counters.
 * When `st` had connected or failed to, the next reader's first request
 * counts as a reconnect. */
void snapshot_retire_stream(snapshot *s, const stream *st);

/* A reload (SIGHUP) at wall_ms: taken (`why` NULL: the configuration in
 * force was loaded then) or refused for `why` (one line, no secrets;
 * copied, truncated to STATUS_CONFIG_ERROR_MAX).  Counted either way. */
void snapshot_reload(snapshot *s, const char *why, int64_t wall_ms);

/* Fill the snapshot from `parts` and publish it to srv (NULL: no status
 * server; the snapshot is still filled). */
void snapshot_publish(snapshot *s, const struct snapshot_parts *parts,
                      status_server *srv);

#endif
