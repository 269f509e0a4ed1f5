/* lf_ckpt_policy.c - the checkpoint policy (see lf_ckpt_policy.h). */
#include "lf_ckpt_policy.h"

#include "logferry/lf_err.h"

void lf_ckpt_policy_init(struct lf_ckpt_policy *cp, struct lf_ckpt_store *store,
                         struct lf_tracker *tracker, int64_t interval_ms,
                         const struct lf_log_ctx *log, int64_t now_ms)
{
    *cp = (struct lf_ckpt_policy){
        .store = store,
        .tracker = tracker,
        .log = log,
        .interval_ms = interval_ms,
        .next_ms = now_ms + interval_ms,
    };
}

bool lf_ckpt_policy_due(const struct lf_ckpt_policy *cp, int64_t now_ms)
{
    return now_ms >= cp->next_ms;
}

int64_t lf_ckpt_policy_next_ms(const struct lf_ckpt_policy *cp)
{
    return lf_tracker_any_moved(cp->tracker) || cp->store->dirty ? cp->next_ms : INT64_MAX;
}

int lf_ckpt_policy_save(struct lf_ckpt_policy *cp, int64_t now_ms)
{
    cp->next_ms = now_ms + cp->interval_ms;
    lf_tracker_clear_any_moved(cp->tracker); /* the caller had every live file remembered */
    int rc = lf_ckpt_save(cp->store);
    if (rc != LF_OK) {
        cp->failed_saves++;
        if (rc == LF_EIO) {
            lf_log_errno(LF_LOG_ERROR, cp->log, "cannot write checkpoints to %s", cp->store->file);
        } else {
            lf_log_error(cp->log, "cannot write checkpoints to %s: %s", cp->store->file,
                         lf_strerror(rc));
        }
        return rc;
    }
    cp->saves++;
    return LF_OK;
}

/* ---- the tail sink's file bookkeeping --------------------------------------------- */

static int sink_file_open(void *ctx, const struct lf_file_id *id, uint64_t offset, uint64_t *key)
{
    struct lf_ckpt_policy *cp = ctx;
    return lf_tracker_file_open(cp->tracker, id->dev, id->ino, offset, key);
}

static void sink_file_close(void *ctx, uint64_t key)
{
    struct lf_ckpt_policy *cp = ctx;
    lf_tracker_file_close(cp->tracker, key);
}

static size_t sink_pending(void *ctx, uint64_t key)
{
    struct lf_ckpt_policy *cp = ctx;
    return lf_tracker_pending(cp->tracker, key);
}

/* An unchanged idle file costs no store lookup (lf_tracker_take_moved). */
static int sink_remember(void *ctx, uint64_t key, const struct lf_file_id *id, const char *path,
                         bool force)
{
    struct lf_ckpt_policy *cp = ctx;
    bool moved = lf_tracker_take_moved(cp->tracker, key);
    if (!force && !moved) {
        return LF_OK;
    }
    return lf_ckpt_set(cp->store, id, path, lf_tracker_committed(cp->tracker, key));
}

static void sink_forget(void *ctx, uint64_t dev, uint64_t ino)
{
    struct lf_ckpt_policy *cp = ctx;
    lf_ckpt_remove(cp->store, dev, ino);
}

void lf_ckpt_policy_sink(struct lf_ckpt_policy *cp, struct lf_tail_sink *sink)
{
    sink->files_ctx = cp;
    sink->file_open = sink_file_open;
    sink->file_close = sink_file_close;
    sink->pending = sink_pending;
    sink->remember = sink_remember;
    sink->forget = sink_forget;
}
