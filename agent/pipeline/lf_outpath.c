/* lf_outpath.c - the output path's front: routing, pushing to the output instance,
 * outcomes, retries and its lifecycle (see lf_outpath.h). The breaker, spool and drain are
 * in outpath_flow.c, the dead letters in outpath_dead.c.
 *
 * Nothing an outcome needs can fail for lack of memory: before records are pushed, room
 * is reserved for each possible consequence of their outcomes (a retry slot, a spill
 * slot, a dead-letter slot, a spool-ack slot). A push whose reservation or queueing fails
 * keeps its records for the next turn: backpressure, never a loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_clock.h"
#include "lf_retry.h"
#include "logferry/lf_err.h"
#include "outpath_int.h"

const int64_t lf_outpath_latency_bounds_ms[LF_OUTPATH_LATENCY_BUCKETS - 1] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
};
const int64_t lf_outpath_batch_bounds[LF_OUTPATH_BATCH_BUCKETS - 1] = {
    1, 4, 16, 64, 256, 1024, 4096, 16384,
};

/* ---- open / close ---------------------------------------------------------------------- */

static int start_instance(struct lf_outpath *op)
{
    const struct lf_config *c = op->cfg;
    int rc = lf_output_validate(op->conf, c->agent.name, c->agent.state_dir);
    if (rc == LF_OK) {
        rc = lf_output_start(op->conf, (int)op->index, c->agent.name, c->agent.state_dir,
                             (enum lf_log_level)c->agent.log_level, &op->ins);
    }
    if (rc != LF_OK) {
        lf_log_error(op->log, "output %s (%s): cannot start: %s", op->conf->name, op->conf->plugin,
                     lf_strerror(rc));
    }
    return rc;
}

int lf_outpath_open(const struct lf_config *cfg, size_t index, struct lf_tracker *tracker,
                    const struct lf_log_ctx *log, struct lf_outpath **out)
{
    return lf_outpath_open_at(cfg, index, (unsigned)index, tracker, log, out);
}

int lf_outpath_open_at(const struct lf_config *cfg, size_t index, unsigned slot,
                       struct lf_tracker *tracker, const struct lf_log_ctx *log,
                       struct lf_outpath **out)
{
    struct lf_outpath *op = calloc(1, sizeof(*op));
    if (!op) {
        return LF_ENOMEM;
    }
    op->cfg = cfg;
    op->conf = lf_conf_output(cfg, index);
    op->index = slot;
    op->tracker = tracker;
    op->log = log;
    op->dlq.fd = -1;
    op->rng = (uint64_t)lf_wall_ms() ^ ((uint64_t)index << 32) ^ (uint64_t)(uintptr_t)op;
    int rc = outpath_flow_open(op);
    if (rc == LF_OK) {
        rc = start_instance(op);
    }
    if (rc != LF_OK) {
        lf_outpath_close(op);
        return rc;
    }
    *out = op;
    return LF_OK;
}

/* Outcomes never applied (close without drain): spool records are ours to free. */
static void drop_outcomes(struct lf_outpath *op)
{
    struct lf_ack *acks;
    size_t n = lf_output_take_acks(op->ins, &acks);
    for (size_t i = 0; i < n; i++) {
        outpath_dead_forget(lf_rec_of(acks[i].rec));
        if (!lf_rec_of(acks[i].rec)->file_key) {
            free(lf_rec_of(acks[i].rec));
        }
        free(acks[i].reason);
        free(acks[i].dest);
    }
    free(acks);
}

/* Spool records waiting for a retry are ours (their frames stay in the spool). */
static void free_spool_retries(struct lf_outpath *op)
{
    for (size_t i = 0; i < op->nretries; i++) {
        if (!op->retries[i].rec->file_key) {
            free(op->retries[i].rec);
        }
    }
    op->nretries = 0;
}

void lf_outpath_close(struct lf_outpath *op)
{
    if (!op) {
        return;
    }
    if (op->ins) {
        lf_output_stop(op->ins, 0);
        drop_outcomes(op);
        lf_output_destroy(op->ins);
    }
    free_spool_retries(op);
    for (size_t i = 0; i < op->nbatch; i++) {
        if (!lf_rec_of(op->batch[i])->file_key) {
            free(lf_rec_of(op->batch[i]));
        }
    }
    outpath_dead_fini(op);
    outpath_spool_done(op); /* spool records whose outcome was final: acked, freed */
    outpath_flow_close(op);
    free(op->spool_done.v);
    free(op->batch);
    free(op->retries);
    free(op);
}

void lf_outpath_set_slot(struct lf_outpath *op, unsigned slot)
{
    op->index = slot;
}

const struct lf_config *lf_outpath_config(const struct lf_outpath *op)
{
    return op->cfg;
}

int lf_outpath_ack_fd(const struct lf_outpath *op)
{
    return op->ins->ack_efd;
}

const char *lf_outpath_name(const struct lf_outpath *op)
{
    return op->conf->name;
}

/* ---- routing and pushing ---------------------------------------------------------------- */

int lf_outpath_reserve(struct lf_outpath *op, size_t n)
{
    /* A routed record goes to the batch, or to the spill while spooling; the spill also
     * keeps room for every record in flight (a retriable outcome while the breaker is
     * open lands there). */
    if (lf_vec_reserve(&op->batch, &op->cap_batch, op->nbatch + n) != LF_OK ||
        rec_list_reserve(&op->spill, op->inflight + n) != LF_OK) {
        return LF_ENOMEM;
    }
    return LF_OK;
}

void lf_outpath_route(struct lf_outpath *op, struct lf_rec *r)
{
    if (outpath_spooling(op)) {
        rec_list_put(&op->spill, r);
    } else {
        op->batch[op->nbatch++] = &r->pub;
    }
}

/* The histogram bucket of v: the first bound v does not exceed, or the last (+Inf). */
static size_t bucket_of(const int64_t *bounds, size_t nbounds, int64_t v)
{
    size_t b = 0;
    while (b < nbounds && v > bounds[b]) {
        b++;
    }
    return b;
}

static void observe_batch(struct lf_outpath_stats *st, size_t n)
{
    st->batch[bucket_of(lf_outpath_batch_bounds, LF_OUTPATH_BATCH_BUCKETS - 1, (int64_t)n)]++;
    st->batch_sum += n;
}

static void push_batch(struct lf_outpath *op, int64_t now)
{
    size_t n = op->nbatch;
    if (outpath_reserve_outcomes(op, n) != LF_OK ||
        lf_output_push(op->ins, op->batch, n) != LF_OK) {
        if (op->stats.push_failures++ % 1000 == 0) {
            lf_log_error(op->log,
                         "output %s: out of memory queueing %zu record(s); kept, pushed "
                         "again at the next turn",
                         op->conf->name, n);
        }
        return;
    }
    outpath_pushed(op, n - op->nbatch_spool, op->nbatch_spool, now);
    observe_batch(&op->stats, n);
    op->nbatch = 0;
    op->nbatch_spool = 0;
}

void lf_outpath_end_turn(struct lf_outpath *op, int64_t now_ms)
{
    if (op->nbatch) {
        push_batch(op, now_ms);
    }
    outpath_commit(op, false);
}

/* ---- outcomes and retries ----------------------------------------------------------------- */

/* The dead-letter cause of a failed outcome. */
static struct dead_cause cause_of(const struct lf_ack *ack, int reason)
{
    return (struct dead_cause){
        .reason = reason,
        .error = ack->reason                   ? ack->reason
                 : ack->outcome == LF_REJECTED ? "rejected"
                                               : "retriable failure",
        .code = ack->code,
        .destination = ack->dest,
    };
}

/* A retriable outcome with the breaker closed: try again after the retry schedule's wait,
 * or dead-letter it when retry.attempts are used up. Room was reserved at push time. */
static void schedule_retry(struct lf_outpath *op, struct lf_rec *r, const struct lf_ack *ack,
                           int64_t now)
{
    const struct lf_retry_conf *rc = &op->conf->retry;
    r->pub.attempts++;
    if (lf_retry_exhausted(rc, r->pub.attempts)) {
        struct dead_cause c = cause_of(ack, LF_DLQ_RETRIES_EXHAUSTED);
        outpath_dead_add(op, r, &c);
        return;
    }
    op->retries[op->nretries++] = (struct retry_item){
        .rec = r, .due_ms = now + lf_retry_delay_ms(rc, r->pub.attempts, &op->rng)};
    op->stats.retried++;
}

static void on_retriable(struct lf_outpath *op, struct lf_rec *r, const struct lf_ack *ack,
                         int64_t now)
{
    if (!r->first_failure_ms) {
        r->first_failure_ms = lf_wall_ms();
    }
    if (!op->stopping) {
        outpath_breaker_failed(op, now);
    }
    if (op->stopping || op->breaker.state != LF_BREAKER_CLOSED) {
        outpath_hold(op, r);
    } else {
        schedule_retry(op, r, ack, now);
    }
}

static void on_rejected(struct lf_outpath *op, struct lf_rec *r, const struct lf_ack *ack)
{
    if (!r->first_failure_ms) {
        r->first_failure_ms = lf_wall_ms();
    }
    r->pub.attempts++;
    struct dead_cause c =
        cause_of(ack, ack->err == LF_ETOOBIG ? LF_DLQ_TOO_LARGE : LF_DLQ_REJECTED);
    outpath_dead_add(op, r, &c);
}

/* One delivery's read-to-ack latency into the histogram (a dozen compares). */
static void observe_latency(struct lf_outpath_stats *st, int64_t ms)
{
    ms = ms < 0 ? 0 : ms;
    st->latency[bucket_of(lf_outpath_latency_bounds_ms, LF_OUTPATH_LATENCY_BUCKETS - 1, ms)]++;
    st->latency_sum_ms += (uint64_t)ms;
}

/* Remembers a failed outcome's reason for `logferry status` (copied only when it
 * changes: during an outage every outcome fails, mostly with the same reason). */
static void note_error(struct lf_outpath *op, const struct lf_ack *ack)
{
    const char *why = ack->reason                   ? ack->reason
                      : ack->outcome == LF_REJECTED ? "rejected"
                                                    : "retriable failure";
    if (strncmp(op->last_error, why, sizeof(op->last_error) - 1) != 0) {
        snprintf(op->last_error, sizeof(op->last_error), "%s", why);
    }
    op->last_error_ms = lf_wall_ms();
}

static void on_delivered(struct lf_outpath *op, struct lf_rec *r, int64_t now)
{
    outpath_breaker_succeeded(op);
    if (!r->file_key) {
        outpath_spool_delivered(op, r);
        return;
    }
    op->stats.delivered++;
    observe_latency(&op->stats, now - r->read_mono_ms);
    lf_tracker_finish(op->tracker, r, op->index);
}

/* One outcome. Log-file records and records read back from the spool follow the same
 * policy; they differ in where they end (tracker / spool ack) and wait (spill / spool). */
static void apply_outcome(struct lf_outpath *op, const struct lf_ack *ack, int64_t now)
{
    struct lf_rec *r = lf_rec_of(ack->rec);
    op->last_outcome_ms = now;
    if (r->pub.dead_letter) {
        outpath_dead_outcome(op, r, ack); /* from the remote dead-letter destination */
        return;
    }
    if (ack->outcome != LF_DELIVERED) {
        note_error(op, ack);
    }
    if (!r->file_key) {
        op->drain_inflight -= op->drain_inflight > 0;
    } else {
        op->inflight -= op->inflight > 0;
        if (r->done_mask & (1u << op->index)) {
            return; /* a second outcome for the same record: ignore */
        }
    }
    if (ack->outcome == LF_DELIVERED) {
        on_delivered(op, r, now);
    } else if (ack->outcome == LF_REJECTED) {
        on_rejected(op, r, ack);
    } else {
        on_retriable(op, r, ack, now);
    }
}

void lf_outpath_on_outcomes(struct lf_outpath *op, int64_t now_ms)
{
    struct lf_ack *acks;
    size_t n = lf_output_take_acks(op->ins, &acks);
    for (size_t i = 0; i < n; i++) {
        apply_outcome(op, &acks[i], now_ms);
    }
    /* Dead letters must be durable before checkpoints or the spool can pass them. */
    outpath_dead_flush(op);
    outpath_spool_done(op);
    outpath_drain_spool(op);
    for (size_t i = 0; i < n; i++) {
        free(acks[i].reason);
        free(acks[i].dest);
    }
    free(acks);
}

/* Moves the retries that are due to the send batch (those without room stay). */
static void resend_due(struct lf_outpath *op, int64_t now)
{
    if (op->stopping || op->nretries == 0 ||
        lf_vec_reserve(&op->batch, &op->cap_batch, op->nbatch + op->nretries) != LF_OK) {
        return;
    }
    size_t keep = 0;
    for (size_t i = 0; i < op->nretries; i++) {
        if (op->retries[i].due_ms <= now) {
            op->batch[op->nbatch++] = &op->retries[i].rec->pub;
            op->nbatch_spool += !op->retries[i].rec->file_key;
        } else {
            op->retries[keep++] = op->retries[i];
        }
    }
    op->nretries = keep;
}

/* ---- lazy outcomes ----------------------------------------------------------------------- */

/* The plain state: nothing but log-file records in flight and a closed breaker, so an
 * outcome "delivered" only frees memory and moves a checkpoint, and may wait for the
 * loop's next turn. Any spool, retry, held outcome or dead letter wants every outcome
 * at once. */
static bool calm(const struct lf_outpath *op)
{
    return !op->stopping && !outpath_spooling(op) && op->nretries == 0 && op->nheld == 0 &&
           op->ndead == 0 && op->dead_remote == 0 && op->unsynced.n == 0 && op->spool_done.n == 0;
}

bool lf_outpath_prepare_wait(struct lf_outpath *op, bool lazy_ok)
{
    op->ack_lazy = lazy_ok && calm(op);
    lf_output_set_ack_lazy(op->ins, op->ack_lazy);
    return op->ack_lazy && op->inflight > 0;
}

bool lf_outpath_outcomes_waiting(const struct lf_outpath *op)
{
    return lf_output_acks_waiting(op->ins);
}

/* ---- tick ------------------------------------------------------------------------------ */

void lf_outpath_tick(struct lf_outpath *op, int64_t now_ms)
{
    if (lf_output_acks_waiting(op->ins)) {
        lf_outpath_on_outcomes(op, now_ms); /* lazy ones */
    }
    resend_due(op, now_ms);
    if (op->nbatch) {
        push_batch(op, now_ms);
    }
    outpath_flow_tick(op, now_ms);
    outpath_commit(op, true);
    outpath_dead_flush(op); /* a failed dead-letter write is tried again */
    outpath_spool_done(op);
    outpath_spool_checkpoint(op, now_ms);
    outpath_drain_spool(op);
}

int64_t lf_outpath_next_ms(const struct lf_outpath *op, int64_t now_ms)
{
    int64_t next = op->nbatch ? now_ms : outpath_flow_next_ms(op, now_ms);
    for (size_t i = 0; i < op->nretries && !op->stopping; i++) {
        next = op->retries[i].due_ms < next ? op->retries[i].due_ms : next;
    }
    return next;
}

bool lf_outpath_blocked(const struct lf_outpath *op)
{
    return op->blocked;
}

/* ---- shutdown ---------------------------------------------------------------------------- */

void lf_outpath_begin_shutdown(struct lf_outpath *op)
{
    op->stopping = true;
    lf_outpath_prepare_wait(op, false);
}

void lf_outpath_drain(struct lf_outpath *op, int flush_ms)
{
    lf_outpath_begin_shutdown(op);
    lf_output_stop(op->ins, flush_ms);
    lf_outpath_on_outcomes(op, lf_mono_ms());
    outpath_flow_shutdown(op);
}

void lf_outpath_get_stats(const struct lf_outpath *op, struct lf_outpath_stats *st)
{
    *st = op->stats;
    st->inflight = op->inflight + op->drain_inflight;
    st->retry_queue = op->nretries;
    st->breaker_state = (int)op->breaker.state;
    st->breaker_half_opens = op->breaker.half_opened;
    st->breaker_closes = op->breaker.closed;
    st->blocked = op->blocked;
    if (op->spool) {
        struct lf_spool_stats ss;
        lf_spool_get_stats(op->spool, &ss);
        st->spool_records = ss.records;
        st->spool_bytes = ss.bytes;
        st->spool_oldest_ms = ss.oldest_ms;
        st->spool_dropped = ss.dropped_records;
    }
}

const char *lf_outpath_last_error(const struct lf_outpath *op, int64_t *at_ms)
{
    *at_ms = op->last_error_ms;
    return op->last_error;
}

const char *lf_outpath_plugin(const struct lf_outpath *op)
{
    return op->conf->plugin;
}
