/* outpath_int.h - the output path's state, shared by its three files, one layer each:
 * lf_outpath.c (route, push, outcomes, retries, lifecycle) uses outpath_flow.c (breaker,
 * spool, drain), which uses outpath_dead.c (dead letters). No file calls a layer above
 * it. Not for use outside agent/pipeline/.
 */
#ifndef OUTPATH_INT_H
#define OUTPATH_INT_H

#include "lf_breaker.h"
#include "lf_dlq.h"
#include "lf_outpath.h"
#include "lf_output.h"
#include "lf_spool.h"
#include "lf_vec.h"

#define OUTPATH_DRAIN_WINDOW 4096 /* spool records in flight to one output */
#define OUTPATH_PROBE_BATCH  16   /* spool records sent by a half-open breaker */
#define OUTPATH_BLOCKED_MS   1000 /* a refusing spool is offered records again this often */
#define OUTPATH_HEAD_SYNC_MS 1000 /* a draining spool persists its acks this often */

struct retry_item {
    struct lf_rec *rec;
    int64_t due_ms;
};

/* Records in order; the list does not own them. */
struct rec_list {
    struct lf_rec **v;
    size_t n, cap;
};

/* Why a record failed for good (borrowed for outpath_dead_add). */
struct dead_cause {
    int reason;              /* enum lf_dlq_reason */
    const char *error;       /* may be NULL */
    int code;                /* client or broker code, 0 if none */
    const char *destination; /* may be NULL */
};

/* A record waiting to be durably dead-lettered. */
struct dead_item {
    struct lf_rec *rec;
    int reason;  /* enum lf_dlq_reason */
    char *error; /* owned; may be NULL (no memory for the copy) */
    char *dest;  /* owned; may be NULL */
    int code;
    uint32_t attempts;
    int64_t first_ms, last_ms; /* wall clock */
    bool local_only;           /* not to the remote destination (too large, or it failed there) */
    bool written;              /* written to the file since its last failed sync */
};

struct lf_outpath {
    const struct lf_config *cfg;       /* borrowed */
    const struct lf_output_conf *conf; /* borrowed */
    unsigned index;                    /* bit in route masks and done masks */
    struct lf_tracker *tracker;        /* borrowed */
    const struct lf_log_ctx *log;      /* borrowed */
    struct lf_out_instance *ins;

    struct lf_record **batch; /* routed this turn (or read from the spool), not yet pushed */
    size_t nbatch, cap_batch;
    struct retry_item *retries;
    size_t nretries, cap_retries;
    struct lf_ack *held; /* outcomes taken but not applied yet (no memory to apply them) */
    size_t nheld;

    struct lf_breaker breaker;
    struct lf_spool *spool;
    struct rec_list spill;      /* bound for the spool, in order, not yet appended */
    struct rec_list unsynced;   /* appended to the spool, not yet durable */
    struct rec_list spool_done; /* spool records whose outcome is final, to ack in the spool */
    size_t inflight;            /* log-file records pushed to the output, no outcome yet */
    size_t drain_inflight;      /* spool records pushed to the output, no outcome yet */
    int64_t last_outcome_ms;    /* last outcome, or when inflight rose from 0 */
    int64_t opened_ms;          /* when the breaker last opened */
    bool need_rewind;           /* a spool record failed: resend from the first unacked */
    bool probe_sent;            /* half-open: the probe batch is out */
    bool blocked;               /* the spool refuses appends (full in block mode, ENOSPC) */
    bool stopping;
    bool ack_lazy;           /* lf_outpath_prepare_wait: outcomes "delivered" wake nobody */
    int64_t retry_append_ms; /* while blocked: next append attempt */
    uint64_t dropped_seen;   /* spool drop_oldest count already reported */
    uint64_t drained_synced; /* stats.drained at the last successful spool sync */
    int64_t head_synced_ms;  /* when the tick last synced the spool */

    struct lf_dlq dlq;
    struct dead_item *dead; /* waiting for a durable dead letter */
    size_t ndead, cap_dead;
    size_t dead_remote;  /* dead letters at the plugin's remote destination, no outcome */
    size_t nbatch_spool; /* of batch: spool records being retried (count as drain) */
    uint64_t rng;        /* retry jitter */

    struct lf_outpath_stats stats;
    char last_error[160];  /* reason of the last failed outcome (lf_outpath_last_error) */
    int64_t last_error_ms; /* its wall time, 0 none */
};

static inline int rec_list_reserve(struct rec_list *l, size_t extra)
{
    return lf_vec_reserve(&l->v, &l->cap, l->n + extra);
}

/* Appends r; the caller reserved room. */
static inline void rec_list_put(struct rec_list *l, struct lf_rec *r)
{
    l->v[l->n++] = r;
}

/* outpath_dead.c: dead letters, durable before they count. */
/* Makes room for n more dead letters. LF_OK or LF_ENOMEM. */
int outpath_dead_reserve(struct lf_outpath *op, size_t n);
/* Queues r as a dead letter: attempts and failure times from r, texts copied (on no
 * memory for a copy that text is left out). The caller reserved room. */
void outpath_dead_add(struct lf_outpath *op, struct lf_rec *r, const struct dead_cause *c);
/* The outcome of a dead letter offered to the plugin's remote destination
 * (r->pub.dead_letter set): delivered there, it is finished; otherwise it is queued for
 * the local file. Room was reserved when it was pushed. */
void outpath_dead_outcome(struct lf_outpath *op, struct lf_rec *r, const struct lf_ack *ack);
/* Frees what a dead letter in flight to the remote destination holds (an outcome that is
 * never applied: close without drain). */
void outpath_dead_forget(struct lf_rec *r);
/* Offers what is queued to the remote destination when the plugin has one (not while
 * stopping); writes the rest to the local file, syncs it, and on success finishes each
 * record: a log-file record for the tracker, a spool record into spool_done. On a failed
 * write or sync everything queued stays and is written again at the next call. */
void outpath_dead_flush(struct lf_outpath *op);
/* Frees what is queued (close): spool records and texts; log-file records stay the
 * tracker's. */
void outpath_dead_fini(struct lf_outpath *op);

/* outpath_flow.c: breaker, spool and drain. */
int outpath_flow_open(struct lf_outpath *op);
void outpath_flow_close(struct lf_outpath *op);
/* True while records must go to the spool rather than straight to the output. */
bool outpath_spooling(const struct lf_outpath *op);
/* Room for every consequence of the outcomes of n more records in flight (a retry, a
 * spill, a dead letter, a spool ack), so that applying an outcome never allocates.
 * LF_OK or LF_ENOMEM (then the records are not pushed). */
int outpath_reserve_outcomes(struct lf_outpath *op, size_t n);
/* Counts records pushed to the output (for the stall detector): n log-file records and
 * nspool spool records (retried ones; the drain counts its own). */
void outpath_pushed(struct lf_outpath *op, size_t n, size_t nspool, int64_t now);
/* A retriable outcome while closed / any success: the breaker's bookkeeping. */
void outpath_breaker_failed(struct lf_outpath *op, int64_t now);
void outpath_breaker_succeeded(struct lf_outpath *op);
/* A record read back from the spool was delivered: acked in the spool (room reserved). */
void outpath_spool_delivered(struct lf_outpath *op, struct lf_rec *r);
/* A retriable outcome that is not retried now (breaker not closed, or stopping): a
 * log-file record joins the spill; a spool record stays in the spool, is freed and read
 * again later. */
void outpath_hold(struct lf_outpath *op, struct lf_rec *r);
/* Acks spool_done in the spool and frees those records. */
void outpath_spool_done(struct lf_outpath *op);
/* Persists the spool's head and out-of-order acks when records were drained since the
 * last time and OUTPATH_HEAD_SYNC_MS passed: a crash re-sends at most about that much of
 * a drain. Pending while outpath_spool_sync_pending() (a timer must stay armed). */
void outpath_spool_checkpoint(struct lf_outpath *op, int64_t now);
bool outpath_spool_sync_pending(const struct lf_outpath *op);
/* Appends the spill to the spool and makes it durable per buffer.fsync (force: now). */
void outpath_commit(struct lf_outpath *op, bool force_sync);
/* Keeps the drain window full (or sends the half-open probe). */
void outpath_drain_spool(struct lf_outpath *op);
/* Stall detection and breaker timers. */
void outpath_flow_tick(struct lf_outpath *op, int64_t now);
/* When the flow's part of the tick has work (see lf_outpath_next_ms): the breaker's
 * reopen time, the stall deadline while records are in flight, the spill, the group
 * commit, dead letters to write again, the drain, the periodic spool sync. */
int64_t outpath_flow_next_ms(const struct lf_outpath *op, int64_t now);
/* Shutdown: everything still owed goes to the spool, durably. */
void outpath_flow_shutdown(struct lf_outpath *op);

#endif
