/* outpath_dead.c - an output path's dead letters: records that failed for good.
 *
 * A record rejected by the output (or out of retries) is queued here and counts as done
 * for the output only once its line in <state_dir>/dead-letter/<output>.jsonl is durable.
 * As with the spool, a failed write or fsync makes every queued record be written again
 * (a later fsync may report success for pages that were lost), so the file may hold a
 * record twice but never miss one.
 */
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"
#include "outpath_int.h"

int outpath_dead_reserve(struct lf_outpath *op, size_t n)
{
    return lf_vec_reserve(&op->dead, &op->cap_dead, op->ndead + n);
}

void outpath_dead_add(struct lf_outpath *op, struct lf_rec *r, const char *reason)
{
    op->dead[op->ndead++] = (struct dead_item){
        .rec = r,
        .reason = reason ? strdup(reason) : NULL,
    };
}

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
            int rc = lf_dlq_write(&op->dlq, &d->rec->pub, d->reason ? d->reason : "rejected");
            if (rc != LF_OK) {
                return rc;
            }
            d->written = true;
        }
    }
    return lf_dlq_sync(&op->dlq);
}

static void dead_finish_all(struct lf_outpath *op)
{
    for (size_t i = 0; i < op->ndead; i++) {
        struct dead_item *d = &op->dead[i];
        lf_log_warn(op->log, "output %s: record %s dead-lettered: %s", op->conf->name,
                    d->rec->pub.id, d->reason ? d->reason : "rejected");
        if (d->rec->file_key) {
            lf_tracker_finish(op->tracker, d->rec, op->index);
        } else {
            rec_list_put(&op->spool_done, d->rec);
        }
        if (d->reason && strcmp(d->reason, "retries exhausted") == 0) {
            op->stats.dead_exhausted++;
        }
        free(d->reason);
        op->stats.dead_lettered++;
    }
    op->ndead = 0;
}

void outpath_dead_flush(struct lf_outpath *op)
{
    if (op->ndead == 0 || rec_list_reserve(&op->spool_done, op->ndead) != LF_OK) {
        return; /* no memory to finish them: tried again at the next tick */
    }
    int rc = dead_write_all(op);
    if (rc == LF_OK) {
        dead_finish_all(op);
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
        free(op->dead[i].reason);
    }
    free(op->dead);
    op->dead = NULL;
    op->ndead = op->cap_dead = 0;
    lf_dlq_close(&op->dlq);
}
