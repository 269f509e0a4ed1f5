/* lf_outpath.h - one output path per output instance: everything an output's records
 * go through between the router and the plugin.
 *
 * It owns the output instance (plugin + worker thread), the records routed to it this
 * turn, its retry schedule, its circuit breaker, its spool and the drain of it, and its
 * dead letters. Outcomes come back from the plugin through the instance's ack fd
 * (lf_outpath_ack_fd, watched by the loop); whatever is finally done for this output
 * (delivered, durably spooled, durably dead-lettered) is reported to the tracker with
 * lf_tracker_finish. It never calls back into the agent.
 *
 * Verbs, in the order the loop uses them: open; reserve + route (from the router);
 * end_turn (push this turn's records, spill to the spool); prepare_wait (before the loop
 * sleeps); on_outcomes (ack fd, or outcomes_waiting at the next turn); tick
 * (at the time next_ms gives: retries due, breaker timers, group commit, drain);
 * begin_shutdown; drain (flush the plugin, spool what is left); close.
 * Thread: main thread only (the instance's worker runs the plugin).
 */
#ifndef LF_OUTPATH_H
#define LF_OUTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_conf.h"
#include "lf_dlq.h"
#include "lf_rec.h"
#include "lf_tracker.h"
#include "logferry/lf_log.h"

struct lf_outpath;

/* Delivery latency histogram of log-file records, read to acknowledged: bucket i counts
 * latencies <= lf_outpath_latency_bounds_ms[i] (and above the previous bound); the last
 * bucket counts the rest. */
#define LF_OUTPATH_LATENCY_BUCKETS 14
extern const int64_t lf_outpath_latency_bounds_ms[LF_OUTPATH_LATENCY_BUCKETS - 1];
/* Sizes of the batches of log-file records pushed to the output's worker, the same way. */
#define LF_OUTPATH_BATCH_BUCKETS 9
extern const int64_t lf_outpath_batch_bounds[LF_OUTPATH_BATCH_BUCKETS - 1];

struct lf_outpath_stats {
    uint64_t delivered;     /* outcomes "delivered" (log-file and spool records) */
    uint64_t retried;       /* retries scheduled */
    uint64_t dead_lettered; /* durably dead-lettered */
    uint64_t spooled;       /* appended to the spool */
    uint64_t drained;       /* sent from the spool and acknowledged there */
    uint64_t breaker_opens;
    uint64_t push_failures; /* a push to the worker failed (kept and pushed again) */
    uint64_t dead_failures; /* a dead-letter write or sync failed (written again) */
    uint64_t held_outcomes; /* outcome batches held for lack of memory, applied later */

    uint64_t dead_reason[LF_DLQ_REASON_COUNT]; /* dead_lettered by enum lf_dlq_reason */
    uint64_t dead_remote; /* of dead_lettered: in the plugin's remote destination (the
                           * rest are in the local store) */
    /* gauges, filled by lf_outpath_get_stats */
    uint64_t inflight;       /* pushed to the output (log-file and spool records), no outcome */
    uint64_t retry_queue;    /* records waiting for their retry */
    int breaker_state;       /* enum lf_breaker_state: 0 closed, 1 open, 2 half-open */
    bool blocked;            /* the spool refuses records (inputs routed here wait) */
    uint64_t spool_records;  /* not yet acknowledged in the spool */
    uint64_t spool_bytes;    /* bytes of the spool's segment files */
    int64_t spool_oldest_ms; /* wall time of the oldest spooled record, 0 none */
    uint64_t spool_dropped;  /* records dropped by buffer.when_full: drop_oldest */

    uint64_t latency[LF_OUTPATH_LATENCY_BUCKETS]; /* read -> delivered, log-file records */
    uint64_t latency_sum_ms;

    uint64_t breaker_half_opens; /* breaker transitions open -> half-open */
    uint64_t breaker_closes;     /* breaker transitions half-open -> closed */

    uint64_t batch[LF_OUTPATH_BATCH_BUCKETS]; /* records per push of log-file records */
    uint64_t batch_sum;
};

/* Opens output `index` of cfg: its spool, breaker and dead-letter file, then starts its
 * instance (plugin init). cfg, tracker and log are borrowed and must outlive it.
 * LF_OK, or an error (logged). */
int lf_outpath_open(const struct lf_config *cfg, size_t index, struct lf_tracker *tracker,
                    const struct lf_log_ctx *log, struct lf_outpath **out);
/* The same as bit `slot` of the route and done masks rather than bit `index` (a reload
 * places outputs by the new configuration's order). */
int lf_outpath_open_at(const struct lf_config *cfg, size_t index, unsigned slot,
                       struct lf_tracker *tracker, const struct lf_log_ctx *log,
                       struct lf_outpath **out);
/* Moves the output to bit `slot`. Only while no record routed to it is unfinished (a
 * reload does it with the tracker empty). */
void lf_outpath_set_slot(struct lf_outpath *op, unsigned slot);
/* Frees everything (after lf_outpath_drain, or on a failed start). Records it still holds
 * from a spool are freed; log-file records stay the tracker's. NULL-safe. */
void lf_outpath_close(struct lf_outpath *op);

/* The configuration the output was opened from (borrowed). */
const struct lf_config *lf_outpath_config(const struct lf_outpath *op);
/* The fd that becomes readable when outcomes wait (epoll). */
int lf_outpath_ack_fd(const struct lf_outpath *op);
/* The output's name, for logs. */
const char *lf_outpath_name(const struct lf_outpath *op);

/* Makes room for n more records routed this turn, so that lf_outpath_route cannot fail.
 * LF_OK or LF_ENOMEM (nothing changed). */
int lf_outpath_reserve(struct lf_outpath *op, size_t n);
/* Takes a log-file record (lent by the tracker): to this turn's send batch, or to the
 * spill list while the breaker is not closed or the spool holds older records. The
 * caller reserved room. */
void lf_outpath_route(struct lf_outpath *op, struct lf_rec *r);
/* End of a loop turn: pushes this turn's records to the worker (kept for the next turn
 * if that fails), appends the spill to the spool and syncs it per buffer.fsync. */
void lf_outpath_end_turn(struct lf_outpath *op, int64_t now_ms);
/* Applies the outcomes waiting on the ack fd. */
void lf_outpath_on_outcomes(struct lf_outpath *op, int64_t now_ms);
/* Before the loop sleeps: whether outcomes "delivered" may skip waking it (lazy_ok: the
 * agent is not at its memory limit, stopping or reloading). Lazy only in the plain state
 * (breaker closed, no spool, retries or dead letters); then the loop takes them at a
 * later turn, when lf_outpath_outcomes_waiting() says so. Failures always wake it.
 * Returns true if records are in flight whose outcomes will not wake the loop: it must
 * then look again within a bounded time (the agent ticks within 100 ms). */
bool lf_outpath_prepare_wait(struct lf_outpath *op, bool lazy_ok);
/* True if outcomes wait to be applied (lf_outpath_on_outcomes). */
bool lf_outpath_outcomes_waiting(const struct lf_outpath *op);
/* Periodic work: applies lazy outcomes, resends retries that are due, outcomes held
 * back, stall detection, breaker timers, the group commit of the spool, dead letters to
 * write again, the drain. */
void lf_outpath_tick(struct lf_outpath *op, int64_t now_ms);
/* When lf_outpath_tick next has work: a value <= now_ms for work due now (a push kept for
 * lack of memory, the group commit, the drain...), a deadline (a retry, the breaker's
 * reopen, the stall timeout while records are in flight, the spool sync while draining),
 * or INT64_MAX for none: an idle output asks for no wake-up. Outcomes bring their own. */
int64_t lf_outpath_next_ms(const struct lf_outpath *op, int64_t now_ms);
/* True while the spool refuses records: the inputs routed here should not read. */
bool lf_outpath_blocked(const struct lf_outpath *op);

/* Shutdown begins: no more retries or drain; failures go to the spool. */
void lf_outpath_begin_shutdown(struct lf_outpath *op);
/* Shutdown: lets the plugin flush for up to flush_ms, applies the last outcomes, and
 * writes whatever is still owed to the spool (durably). */
void lf_outpath_drain(struct lf_outpath *op, int flush_ms);

/* Counters and gauges (breaker, in flight, spool) of the output path. */
void lf_outpath_get_stats(const struct lf_outpath *op, struct lf_outpath_stats *st);
/* The reason of the last retriable or permanent outcome ("" if none yet); *at_ms gets
 * its wall time (0 none). Borrowed until the next outcome. */
const char *lf_outpath_last_error(const struct lf_outpath *op, int64_t *at_ms);
/* The output's plugin name ("kafka"), for metrics. */
const char *lf_outpath_plugin(const struct lf_outpath *op);

#endif
