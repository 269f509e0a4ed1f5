/* outpath_flow.c - an output path's records besides the plain send: the circuit breaker,
 * the spool during outages, and draining it in order when the output recovers.
 *
 * A record read from a log file goes straight to the output while its breaker is closed
 * and its spool is empty. Otherwise it joins the spill list, which is appended to the
 * spool at the end of each loop turn; once the spool is durable (buffer.fsync) the record
 * counts as done for that output, so checkpoints may pass it. The drainer reads the
 * spool from its head and sends a window of records; their outcomes acknowledge frames
 * in the spool, which deletes a segment when all its frames are acknowledged.
 *
 * The breaker opens after breaker.failure_threshold consecutive retriable outcomes, or
 * when records have waited breaker.stall_timeout without any outcome (a dead broker
 * often produces no outcome at all until the client's own timeout). Opening asks the
 * worker and plugin to hand back what they hold (lf_output_purge); those records come
 * back as retriable outcomes and are spooled in file order. After the open period one
 * probe batch from the spool decides: closed again, or open for twice as long.
 */
#include <stdlib.h>
#include <string.h>

#include "lf_clock.h"
#include "logferry/lf_err.h"
#include "outpath_int.h"

/* Spill order: by file, then by offset, so each file's records enter the spool in the
 * order they were read even when some came back late from the plugin. */
static int spill_cmp(const void *pa, const void *pb)
{
    const struct lf_rec *x = *(struct lf_rec *const *)pa;
    const struct lf_rec *y = *(struct lf_rec *const *)pb;
    if (x->file_key != y->file_key) {
        return x->file_key < y->file_key ? -1 : 1;
    }
    return x->start_offset < y->start_offset ? -1 : x->start_offset > y->start_offset;
}

/* ---- spool records ------------------------------------------------------------------- */

static void to_frame(const struct lf_outpath *op, const struct lf_rec *r, struct lf_spool_rec *f)
{
    uint64_t dev = 0, ino = 0;
    lf_tracker_ident(op->tracker, r->file_key, &dev, &ino);
    *f = (struct lf_spool_rec){
        .payload = r->pub.payload,
        .payload_len = r->pub.payload_len,
        .id = r->pub.id,
        .source = r->pub.source ? r->pub.source : "",
        .input = r->pub.input ? r->pub.input : "",
        .type = (int)r->pub.type,
        .timestamp_ms = r->pub.timestamp_ms,
        .attempts = r->pub.attempts,
        .first_failure_ms = r->first_failure_ms,
        .dev = dev,
        .ino = ino,
        .start_offset = r->start_offset,
        .end_offset = r->end_offset,
    };
}

/* A record made from a spool frame: one allocation with the payload, source and input.
 * It belongs to no log file (file_key 0) and only to this output. */
static struct lf_rec *rec_from_frame(const struct lf_outpath *op, const struct lf_spool_rec *f,
                                     struct lf_spool_pos pos)
{
    size_t slen = strlen(f->source), ilen = strlen(f->input);
    struct lf_rec *r = malloc(sizeof(*r) + f->payload_len + 1 + slen + 1 + ilen + 1);
    if (!r) {
        return NULL;
    }
    memset(r, 0, sizeof(*r));
    char *src = r->payload + f->payload_len + 1;
    char *in = src + slen + 1;
    memcpy(r->payload, f->payload, f->payload_len + 1);
    memcpy(src, f->source, slen + 1);
    memcpy(in, f->input, ilen + 1);
    r->pub.payload = r->payload;
    r->pub.payload_len = f->payload_len;
    r->pub.type = (enum lf_record_type)f->type;
    snprintf(r->pub.id, sizeof(r->pub.id), "%s", f->id);
    r->pub.source = src;
    r->pub.input = in;
    r->pub.timestamp_ms = f->timestamp_ms;
    r->pub.attempts = f->attempts;
    r->first_failure_ms = f->first_failure_ms;
    r->start_offset = f->start_offset;
    r->end_offset = f->end_offset;
    r->route_mask = 1u << op->index;
    r->spool_seg = pos.seg;
    r->spool_off = pos.off;
    return r;
}

/* ---- open / close ------------------------------------------------------------------- */

int outpath_flow_open(struct lf_outpath *op)
{
    const struct lf_config *c = op->cfg;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/spool/%s", c->agent.state_dir, op->conf->name);
    struct lf_spool_opts opts = {
        .max_size = c->buffer.max_size,
        .segment_size = c->buffer.segment_size,
        .when_full = (enum lf_spool_when_full)c->buffer.when_full,
    };
    lf_breaker_init(&op->breaker, c->breaker.failure_threshold, c->breaker.open_for_ms,
                    c->breaker.max_open_for_ms);
    int rc = lf_spool_open(dir, &opts, op->log, &op->spool);
    if (rc != LF_OK) {
        lf_log_error(op->log, "output %s: cannot open its spool %s: %s", op->conf->name, dir,
                     lf_strerror(rc));
        return rc;
    }
    struct lf_spool_stats st;
    lf_spool_get_stats(op->spool, &st);
    if (st.records) {
        lf_log_info(op->log,
                    "output %s: spool holds %llu record(s) from before; sending them first",
                    op->conf->name, (unsigned long long)st.records);
    }
    if (st.quarantined) {
        lf_log_warn(op->log, "output %s: %llu corrupt spool frame(s) quarantined in %s/quarantine",
                    op->conf->name, (unsigned long long)st.quarantined, dir);
    }
    return LF_OK;
}

void outpath_flow_close(struct lf_outpath *op)
{
    lf_spool_close(op->spool);
    op->spool = NULL;
    free(op->spill.v);
    free(op->unsynced.v);
    op->spill = op->unsynced = (struct rec_list){0};
}

/* ---- breaker transitions --------------------------------------------------------------- */

/* Retries wait in the spool while the breaker is open (if there is room to list them;
 * otherwise they stay scheduled and are spilled when they come due). A spool record
 * waiting for its retry is still in the spool: it is freed and read again later. When
 * the breaker opened (refund), the attempt that failed last is given back: the failures
 * that opened it are the output's, not the record's (an outage does not use up
 * retry.attempts). */
static void retries_to_spill(struct lf_outpath *op, bool refund)
{
    if (rec_list_reserve(&op->spill, op->nretries) != LF_OK) {
        return;
    }
    for (size_t i = 0; i < op->nretries; i++) {
        struct lf_rec *r = op->retries[i].rec;
        r->pub.attempts -= refund && r->pub.attempts > 0;
        outpath_hold(op, r);
    }
    op->nretries = 0;
}

/* Before the spool is read again from its first unacknowledged frame: spool records
 * waiting for a retry would be read a second time, so they are dropped from memory. */
static void retries_drop_spooled(struct lf_outpath *op)
{
    size_t keep = 0;
    for (size_t i = 0; i < op->nretries; i++) {
        if (op->retries[i].rec->file_key) {
            op->retries[keep++] = op->retries[i];
        } else {
            free(op->retries[i].rec);
        }
    }
    op->nretries = keep;
}

static void on_breaker_open(struct lf_outpath *op, int64_t now, const char *why)
{
    op->opened_ms = now;
    op->probe_sent = false;
    op->stats.breaker_opens++;
    lf_log_warn(op->log,
                "output %s: breaker open (%s); records go to the spool, next probe in %lld ms",
                op->conf->name, why, (long long)op->breaker.open_ms);
    lf_output_purge(op->ins);
    retries_to_spill(op, true);
}

void outpath_breaker_failed(struct lf_outpath *op, int64_t now)
{
    bool was_half = op->breaker.state == LF_BREAKER_HALF_OPEN;
    if (lf_breaker_failure(&op->breaker, now)) {
        on_breaker_open(op, now, was_half ? "the probe failed" : "consecutive failures");
    }
}

void outpath_breaker_succeeded(struct lf_outpath *op)
{
    if (lf_breaker_success(&op->breaker)) {
        op->probe_sent = false;
        lf_log_info(op->log, "output %s: breaker closed; draining the spool", op->conf->name);
    }
}

/* ---- routing and spooling ------------------------------------------------------------ */

bool outpath_spooling(const struct lf_outpath *op)
{
    return op->breaker.state != LF_BREAKER_CLOSED || op->spill.n || op->drain_inflight ||
           !lf_spool_empty(op->spool);
}

void outpath_pushed(struct lf_outpath *op, size_t n, size_t nspool, int64_t now)
{
    if (op->inflight + op->drain_inflight == 0) {
        op->last_outcome_ms = now;
    }
    op->inflight += n;
    op->drain_inflight += nspool;
}

/* While the breaker has just opened, records handed back by the plugin are still
 * arriving: hold the spill so that each file's records enter the spool in order. */
static bool spill_held(const struct lf_outpath *op, int64_t now)
{
    return !op->stopping && op->breaker.state == LF_BREAKER_OPEN && op->inflight > 0 &&
           now - op->opened_ms < op->cfg->breaker.stall_timeout_ms;
}

/* Only drop_oldest drops; lf_spool_get_stats reads a frame header from disk, so the
 * other mode does not pay it on every append. */
static void note_dropped(struct lf_outpath *op)
{
    if (op->cfg->buffer.when_full != LF_SPOOL_DROP_OLDEST) {
        return;
    }
    struct lf_spool_stats st;
    lf_spool_get_stats(op->spool, &st);
    if (st.dropped_records > op->dropped_seen) {
        lf_log_error(op->log,
                     "output %s: spool full: dropped the %llu oldest spooled record(s) "
                     "(buffer.when_full: drop_oldest), %llu in total",
                     op->conf->name, (unsigned long long)(st.dropped_records - op->dropped_seen),
                     (unsigned long long)st.dropped_records);
        op->dropped_seen = st.dropped_records;
    }
}

static void set_blocked(struct lf_outpath *op, bool blocked, int rc)
{
    if (blocked && !op->blocked) {
        lf_log_error(op->log,
                     "output %s: spool refuses records (%s); reading the inputs routed to it "
                     "stops until it accepts them again",
                     op->conf->name,
                     rc == LF_ETOOBIG ? "buffer.max_size reached" : lf_strerror(rc));
    } else if (!blocked && op->blocked) {
        lf_log_info(op->log, "output %s: spool accepts records again", op->conf->name);
    }
    op->blocked = blocked;
}

static void spill_append(struct lf_outpath *op)
{
    size_t done = 0;
    int rc = rec_list_reserve(&op->unsynced, op->spill.n);
    qsort(op->spill.v, op->spill.n, sizeof(*op->spill.v), spill_cmp);
    for (; rc == LF_OK && done < op->spill.n; done++) {
        struct lf_spool_rec f;
        to_frame(op, op->spill.v[done], &f);
        rc = lf_spool_append(op->spool, &f);
        if (rc != LF_OK) {
            break;
        }
        rec_list_put(&op->unsynced, op->spill.v[done]);
        op->stats.spooled++;
    }
    memmove(op->spill.v, op->spill.v + done, (op->spill.n - done) * sizeof(*op->spill.v));
    op->spill.n -= done;
    set_blocked(op, op->spill.n > 0, rc);
    note_dropped(op);
}

/* After a failed sync the unsynced records are written again: a later fsync may report
 * success although these pages were lost (the spool may then hold some twice). Without
 * memory to list them they stay unsynced and this is tried again at the next commit. */
static void unsynced_to_spill(struct lf_outpath *op)
{
    if (rec_list_reserve(&op->spill, op->unsynced.n) != LF_OK) {
        return;
    }
    for (size_t i = 0; i < op->unsynced.n; i++) {
        rec_list_put(&op->spill, op->unsynced.v[i]);
    }
    op->unsynced.n = 0;
}

static void finish_unsynced(struct lf_outpath *op)
{
    for (size_t i = 0; i < op->unsynced.n; i++) {
        lf_tracker_finish(op->tracker, op->unsynced.v[i], op->index);
    }
    op->unsynced.n = 0;
}

static void spool_sync(struct lf_outpath *op)
{
    int rc = lf_spool_sync(op->spool);
    if (rc != LF_OK) {
        lf_log_error(op->log, "output %s: spool sync failed: %s; writing %zu record(s) again",
                     op->conf->name, lf_strerror(rc), op->unsynced.n);
        unsynced_to_spill(op);
        return;
    }
    op->drained_synced = op->stats.drained; /* the acks so far are durable too */
    finish_unsynced(op);
}

void outpath_commit(struct lf_outpath *op, bool force_sync)
{
    if (op->spill.n) {
        int64_t now = lf_mono_ms();
        bool retry_due = !op->blocked || now >= op->retry_append_ms || op->stopping;
        if (retry_due && !spill_held(op, now)) {
            spill_append(op);
            op->retry_append_ms = now + OUTPATH_BLOCKED_MS;
        }
    }
    int policy = op->cfg->buffer.fsync;
    if (op->unsynced.n && (force_sync || policy != LF_FSYNC_BATCH)) {
        if (policy == LF_FSYNC_NEVER && !force_sync) {
            finish_unsynced(op);
        } else {
            spool_sync(op);
        }
    }
}

/* ---- outcomes of spool records ----------------------------------------------------------- */

void outpath_spool_delivered(struct lf_outpath *op, struct lf_rec *r)
{
    op->stats.delivered++;
    rec_list_put(&op->spool_done, r);
}

void outpath_hold(struct lf_outpath *op, struct lf_rec *r)
{
    if (r->file_key) {
        rec_list_put(&op->spill, r);
        return;
    }
    /* The frame stays in the spool and is read again from the first unacknowledged one
     * once the window is empty. */
    op->need_rewind = true;
    free(r);
}

void outpath_spool_done(struct lf_outpath *op)
{
    for (size_t i = 0; i < op->spool_done.n; i++) {
        struct lf_rec *r = op->spool_done.v[i];
        lf_spool_ack(op->spool, (struct lf_spool_pos){.seg = r->spool_seg, .off = r->spool_off});
        op->stats.drained++;
        free(r);
    }
    op->spool_done.n = 0;
}

bool outpath_spool_sync_pending(const struct lf_outpath *op)
{
    return op->stats.drained != op->drained_synced;
}

void outpath_spool_checkpoint(struct lf_outpath *op, int64_t now)
{
    if (!outpath_spool_sync_pending(op) || now - op->head_synced_ms < OUTPATH_HEAD_SYNC_MS) {
        return;
    }
    if (lf_spool_sync(op->spool) == LF_OK) { /* unsynced appends, if any, are finished later */
        op->drained_synced = op->stats.drained;
        op->head_synced_ms = now;
    }
}

/* ---- pushing ------------------------------------------------------------------------------ */

int outpath_reserve_outcomes(struct lf_outpath *op, size_t n)
{
    size_t out = op->inflight + op->drain_inflight + n;
    if (lf_vec_reserve(&op->retries, &op->cap_retries, op->nretries + out) != LF_OK ||
        rec_list_reserve(&op->spill, out) != LF_OK || outpath_dead_reserve(op, out) != LF_OK ||
        rec_list_reserve(&op->spool_done, out + op->dead_remote) != LF_OK) {
        return LF_ENOMEM;
    }
    return LF_OK;
}

/* ---- drain ------------------------------------------------------------------------------- */

/* Reads up to max records from the spool into the (empty) batch and pushes them. On any
 * failure the records read are dropped from memory and the spool is read again from its
 * first unacknowledged frame later: drain_inflight counts only what the worker has. */
static bool push_from_spool(struct lf_outpath *op, size_t max)
{
    if (lf_vec_reserve(&op->batch, &op->cap_batch, max) != LF_OK) {
        return false;
    }
    while (op->nbatch < max) {
        struct lf_spool_rec f;
        struct lf_spool_pos pos;
        if (lf_spool_read(op->spool, &f, &pos) != LF_OK) {
            break;
        }
        struct lf_rec *r = rec_from_frame(op, &f, pos);
        lf_spool_rec_free(&f);
        if (!r) {
            op->need_rewind = true;
            break;
        }
        op->batch[op->nbatch++] = &r->pub;
    }
    size_t n = op->nbatch;
    if (n && (outpath_reserve_outcomes(op, n) != LF_OK ||
              lf_output_push(op->ins, op->batch, n) != LF_OK)) {
        op->stats.push_failures++;
        for (size_t i = 0; i < n; i++) {
            free(lf_rec_of(op->batch[i]));
        }
        n = 0;
        op->need_rewind = true;
    }
    op->nbatch = 0;
    if (n) {
        if (op->inflight + op->drain_inflight == 0) {
            op->last_outcome_ms = lf_mono_ms();
        }
        op->drain_inflight += n;
    }
    return n > 0;
}

void outpath_drain_spool(struct lf_outpath *op)
{
    if (op->stopping || op->nbatch) {
        return; /* nbatch: log-file records of this turn are pushed first */
    }
    if (op->need_rewind) {
        if (op->drain_inflight || op->dead_remote || op->ndead) {
            return; /* spool records may still wait for their outcome or dead letter */
        }
        retries_drop_spooled(op);
        lf_spool_rewind(op->spool);
        op->need_rewind = false;
    }
    if (op->breaker.state == LF_BREAKER_HALF_OPEN) {
        if (op->probe_sent) {
            return;
        }
        if (lf_spool_empty(op->spool) && !op->spill.n) {
            outpath_breaker_succeeded(op); /* nothing to probe with: try the live records */
            return;
        }
        op->probe_sent = push_from_spool(op, OUTPATH_PROBE_BATCH);
        return;
    }
    if (op->breaker.state == LF_BREAKER_CLOSED && op->drain_inflight < OUTPATH_DRAIN_WINDOW) {
        push_from_spool(op, OUTPATH_DRAIN_WINDOW - op->drain_inflight);
    }
}

void outpath_flow_tick(struct lf_outpath *op, int64_t now)
{
    int64_t stall = op->cfg->breaker.stall_timeout_ms;
    if (!op->stopping && op->inflight + op->drain_inflight > 0 &&
        now - op->last_outcome_ms > stall && lf_breaker_trip(&op->breaker, now)) {
        on_breaker_open(op, now, "no outcome from the output for breaker.stall_timeout");
        op->last_outcome_ms = now;
    }
    if (lf_breaker_poll(&op->breaker, now)) {
        lf_log_info(op->log, "output %s: breaker half-open; sending a probe", op->conf->name);
    }
}

static int64_t min_ms(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The spill waits for the spool to accept records again, or for the records handed back
 * when the breaker opened; otherwise it is appended at the next tick. */
static int64_t spill_next_ms(const struct lf_outpath *op, int64_t now)
{
    if (op->stopping) {
        return now;
    }
    int64_t next = op->blocked ? op->retry_append_ms : now;
    return spill_held(op, now) ? op->opened_ms + op->cfg->breaker.stall_timeout_ms : next;
}

/* Work the tick does without an outcome to start it: a rewind once nothing is in flight,
 * the half-open probe, an empty drain window over a spool that holds records. */
static bool drain_due(const struct lf_outpath *op)
{
    if (op->stopping || op->nbatch) {
        return false;
    }
    if (op->need_rewind) {
        return !op->drain_inflight && !op->dead_remote && !op->ndead;
    }
    if (op->breaker.state == LF_BREAKER_HALF_OPEN) {
        return !op->probe_sent;
    }
    return op->breaker.state == LF_BREAKER_CLOSED && op->drain_inflight == 0 &&
           !lf_spool_empty(op->spool);
}

int64_t outpath_flow_next_ms(const struct lf_outpath *op, int64_t now)
{
    bool open = op->breaker.state == LF_BREAKER_OPEN;
    int64_t next = open ? op->breaker.reopen_at_ms : INT64_MAX;
    if (!op->stopping && !open && op->inflight + op->drain_inflight > 0) {
        next = min_ms(next, op->last_outcome_ms + op->cfg->breaker.stall_timeout_ms + 1);
    }
    if (op->spill.n) {
        next = min_ms(next, spill_next_ms(op, now));
    }
    if (op->unsynced.n || op->spool_done.n || op->ndead || drain_due(op)) {
        next = now;
    }
    if (outpath_spool_sync_pending(op)) { /* the spool head moved, not yet synced */
        next = min_ms(next, op->head_synced_ms + OUTPATH_HEAD_SYNC_MS);
    }
    return next;
}

void outpath_flow_shutdown(struct lf_outpath *op)
{
    retries_to_spill(op, false);
    if (op->spill.n) {
        lf_log_info(op->log, "output %s: %zu unacknowledged record(s) go to the spool",
                    op->conf->name, op->spill.n);
    }
    outpath_commit(op, true);
    if (op->unsynced.n == 0 && lf_spool_sync(op->spool) != LF_OK) { /* persists the head */
        lf_log_warn(op->log,
                    "output %s: cannot sync its spool at shutdown; records acked "
                    "since the last sync may be sent again after restart",
                    op->conf->name);
    }
}
