/* outpath_dead.c - an output path's dead letters: records that failed for good.
 *
 * A record rejected by the output (or out of retries) is queued here with why it failed.
 * When the plugin has a remote dead-letter destination (Kafka <topic>.dlt, the RabbitMQ
 * failed queue) the record is offered there first; delivered there, it is done. What
 * cannot go there (too large), what fails there too, and every dead letter of a plugin
 * without one, goes to <state_dir>/dead-letter/<output>.jsonl (lf_dlq.h) and counts as
 * done for the output only once its line is durable. As with the spool, a failed write
 * or fsync makes every queued record be written again (a later fsync may report success
 * for pages that were lost), so the file may hold a record twice but never miss one.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_clock.h"
#include "logferry/lf_err.h"
#include "outpath_int.h"

/* A dead letter in flight to the remote destination: what the plugin reads
 * (rec->pub.dead_letter = &pub) and the queue entry it came from. */
struct dead_remote {
    struct lf_dead_letter pub;
    struct dead_item item;
};

int outpath_dead_reserve(struct lf_outpath *op, size_t n)
{
    return lf_vec_reserve(&op->dead, &op->cap_dead, op->ndead + op->dead_remote + n);
}

void outpath_dead_add(struct lf_outpath *op, struct lf_rec *r, const struct dead_cause *c)
{
    int64_t now = lf_wall_ms();
    op->dead[op->ndead++] = (struct dead_item){
        .rec = r,
        .reason = c->reason,
        .error = c->error ? strdup(c->error) : NULL,
        .dest = c->destination ? strdup(c->destination) : NULL,
        .code = c->code,
        .attempts = r->pub.attempts,
        .first_ms = r->first_failure_ms ? r->first_failure_ms : now,
        .last_ms = now,
        .local_only = c->reason == LF_DLQ_TOO_LARGE,
    };
}

static void dead_item_free(struct dead_item *d)
{
    free(d->error);
    free(d->dest);
}

/* A dead letter is done: the tracker (log-file record) or the spool (spool record). */
static void dead_finish(struct lf_outpath *op, struct dead_item *d, bool remote)
{
    lf_log_warn(op->log, "output %s: record %s dead-lettered: %s [%s, %s]", op->conf->name,
                d->rec->pub.id, d->error ? d->error : "", lf_dlq_reason_name(d->reason),
                remote ? "remote" : "local store");
    if (d->rec->file_key) {
        lf_tracker_finish(op->tracker, d->rec, op->index);
    } else {
        rec_list_put(&op->spool_done, d->rec);
    }
    op->stats.dead_lettered++;
    op->stats.dead_reason[d->reason < LF_DLQ_REASON_COUNT ? d->reason : 0]++;
    op->stats.dead_remote += remote;
    dead_item_free(d);
}

/* ---- the remote destination -------------------------------------------------------- */

static struct dead_remote *remote_of(struct lf_rec *r)
{
    return (struct dead_remote *)((char *)r->pub.dead_letter - offsetof(struct dead_remote, pub));
}

static struct dead_remote *remote_new(struct dead_item *d)
{
    struct dead_remote *dr = malloc(sizeof(*dr));
    if (!dr) {
        return NULL;
    }
    dr->item = *d;
    dr->pub = (struct lf_dead_letter){
        .reason = lf_dlq_reason_name(d->reason),
        .error = d->error ? d->error : "",
        .code = d->code,
        .attempts = d->attempts,
        .first_failure_ms = d->first_ms,
        .last_failure_ms = d->last_ms,
        .destination = d->dest ? d->dest : "",
    };
    d->rec->pub.dead_letter = &dr->pub;
    return dr;
}

/* Pushes the queued dead letters that may go to the remote destination; the others stay
 * queued. Without memory to push them they go to the local file instead. */
static void dead_push_remote(struct lf_outpath *op)
{
    size_t n = 0, keep = 0;
    /* Their outcomes may finish spool records: room in spool_done for every outcome that
     * can still come, so that applying one never allocates. */
    size_t room = op->inflight + op->drain_inflight + op->dead_remote + op->ndead;
    struct lf_record **recs =
        rec_list_reserve(&op->spool_done, room) == LF_OK ? malloc(op->ndead * sizeof(*recs)) : NULL;
    for (size_t i = 0; recs && i < op->ndead; i++) {
        struct dead_item *d = &op->dead[i];
        struct dead_remote *dr = d->local_only ? NULL : remote_new(d);
        if (dr) {
            recs[n++] = &d->rec->pub;
        } else {
            d->local_only = true;
        }
    }
    if (!recs || (n && lf_output_push(op->ins, recs, n) != LF_OK)) {
        for (size_t i = 0; i < n; i++) { /* undo: all to the local file */
            free(remote_of(lf_rec_of(recs[i])));
            recs[i]->dead_letter = NULL;
        }
        for (size_t i = 0; i < op->ndead; i++) {
            if (!op->dead[i].local_only) {
                op->dead[i].reason = LF_DLQ_NO_MEMORY;
            }
            op->dead[i].local_only = true;
        }
        free(recs);
        return;
    }
    for (size_t i = 0; i < op->ndead; i++) {
        if (!op->dead[i].rec->pub.dead_letter) {
            op->dead[keep++] = op->dead[i]; /* local only */
        }
    }
    op->ndead = keep;
    op->dead_remote += n;
    free(recs);
}

/* "<error>; dead-letter destination: <why>" into a new string (NULL: no memory). */
static char *remote_error(const struct dead_item *d, const struct lf_ack *ack)
{
    char *s = NULL;
    if (asprintf(&s, "%s; dead-letter destination: %s", d->error ? d->error : "",
                 ack->reason ? ack->reason : "failed") < 0) {
        return NULL;
    }
    return s;
}

void outpath_dead_outcome(struct lf_outpath *op, struct lf_rec *r, const struct lf_ack *ack)
{
    struct dead_remote *dr = remote_of(r);
    struct dead_item d = dr->item;
    r->pub.dead_letter = NULL;
    free(dr);
    if (op->dead_remote) {
        op->dead_remote--;
    }
    if (ack->outcome == LF_DELIVERED) {
        dead_finish(op, &d, true);
        return;
    }
    char *err = remote_error(&d, ack);
    if (err) {
        free(d.error);
        d.error = err;
    }
    d.reason = ack->err == LF_ETOOBIG ? LF_DLQ_TOO_LARGE : LF_DLQ_DLT_FAILED;
    d.local_only = true;
    d.written = false;
    op->dead[op->ndead++] = d; /* room: outpath_dead_reserve counts dead_remote */
}

void outpath_dead_forget(struct lf_rec *r)
{
    if (r->pub.dead_letter) {
        struct dead_remote *dr = remote_of(r);
        dead_item_free(&dr->item);
        free(dr);
        r->pub.dead_letter = NULL;
    }
}

/* ---- the local file ------------------------------------------------------------------ */

/* Writes the queued records not written since the last failure. LF_OK or the error. */
static int dead_write_all(struct lf_outpath *op)
{
    const struct lf_config *c = op->cfg;
    if (op->dlq.fd < 0) {
        int rc = lf_dlq_open(c->agent.state_dir, op->conf->name, &op->dlq);
        if (rc != LF_OK) {
            return rc;
        }
    }
    for (size_t i = 0; i < op->ndead; i++) {
        struct dead_item *d = &op->dead[i];
        if (!d->written) {
            struct lf_dlq_entry e = {
                .rec = &d->rec->pub,
                .reason = d->reason,
                .error = d->error,
                .code = d->code,
                .attempts = d->attempts,
                .first_failure_ms = d->first_ms,
                .last_failure_ms = d->last_ms,
                .destination = d->dest,
            };
            int rc = lf_dlq_write(&op->dlq, &e);
            if (rc != LF_OK) {
                return rc;
            }
            d->written = true;
        }
    }
    return lf_dlq_sync(&op->dlq);
}

void outpath_dead_flush(struct lf_outpath *op)
{
    if (op->ndead && !op->stopping && lf_output_has_dead_letter(op->ins)) {
        dead_push_remote(op);
    }
    if (op->ndead == 0 || rec_list_reserve(&op->spool_done, op->ndead) != LF_OK) {
        return; /* no memory to finish them: tried again at the next tick */
    }
    int rc = dead_write_all(op);
    if (rc == LF_OK) {
        for (size_t i = 0; i < op->ndead; i++) {
            dead_finish(op, &op->dead[i], false);
        }
        op->ndead = 0;
        return;
    }
    if (op->stats.dead_failures++ == 0 || op->stats.dead_failures % 100 == 0) {
        lf_log_errno(LF_LOG_ERROR, op->log,
                     "output %s: cannot make %zu dead letter(s) durable in %s (%s); "
                     "they stay unacknowledged and are written again",
                     op->conf->name, op->ndead, op->dlq.path ? op->dlq.path : "dead-letter/",
                     lf_strerror(rc));
    }
    for (size_t i = 0; i < op->ndead; i++) {
        op->dead[i].written = false;
    }
}

void outpath_dead_fini(struct lf_outpath *op)
{
    for (size_t i = 0; i < op->ndead; i++) {
        if (!op->dead[i].rec->file_key) {
            free(op->dead[i].rec);
        }
        dead_item_free(&op->dead[i]);
    }
    free(op->dead);
    op->dead = NULL;
    op->ndead = op->cap_dead = 0;
    lf_dlq_close(&op->dlq);
}
