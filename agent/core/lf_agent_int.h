/* lf_agent_int.h - the agent's internal state, shared by lf_agent.c (read, route, acks,
 * checkpoints, loop) and lf_outflow.c (per-output breaker, spool and drain). Main thread
 * only. Not a public API.
 */
#ifndef LF_AGENT_INT_H
#define LF_AGENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_agent.h"
#include "lf_breaker.h"
#include "lf_buf.h"
#include "lf_dlq.h"
#include "lf_output.h"
#include "lf_rec.h"
#include "lf_spool.h"

#define TICK_MS     100
#define READ_BUDGET (1u << 20) /* bytes read per loop turn before serving acks */
#define MAX_OUTPUTS 32

enum ev_tag {
    EV_SIGNAL = 1,
    EV_TIMER,
    EV_INOTIFY,
    EV_STOP,
    EV_OUTPUT_BASE = 16, /* + output index */
};

struct retry_item {
    struct lf_rec *rec;
    int64_t due_ms;
};

/* A list of records in order (spill, unsynced). The records are not owned by it. */
struct rec_list {
    struct lf_rec **v;
    size_t n, cap;
};

struct out_slot {
    struct lf_out_instance *ins;
    const struct lf_output_conf *conf;
    struct lf_dlq dlq;
    struct lf_record **batch; /* records routed this turn, pushed at the end of it */
    size_t nbatch, cap_batch;
    struct retry_item *retries;
    size_t nretries, cap_retries;

    /* lf_outflow.c */
    struct lf_breaker breaker;
    struct lf_spool *spool;
    struct rec_list spill;    /* bound for the spool, in order, not yet appended */
    struct rec_list unsynced; /* appended to the spool, not yet durable */
    size_t inflight;          /* log-file records pushed to the output, no outcome yet */
    size_t drain_inflight;    /* spool records pushed to the output, no outcome yet */
    int64_t last_outcome_ms;  /* last outcome, or when inflight rose from 0 */
    int64_t opened_ms;        /* when the breaker last opened */
    bool need_rewind;         /* a spool record failed: resend from the first unacked */
    bool probe_sent;          /* half-open: the probe batch is out */
    bool blocked;             /* the spool refuses appends (full in block mode, ENOSPC) */
    int64_t retry_append_ms;  /* while blocked: next append attempt */
    uint64_t dropped_seen;    /* spool drop_oldest count already reported */
};

struct input_slot {
    struct lf_tail *tail;
    struct lf_parser *parser;
    unsigned route_by_type[LF_TYPE_COUNT]; /* output mask per record type */
    unsigned route_any;                    /* union of route_by_type */
};

struct lf_agent {
    const struct lf_config *cfg;
    struct lf_log_ctx log;
    int epfd, sigfd, timerfd, inofd, lockfd;
    struct lf_ckpt_store *ckpt;
    struct out_slot outs[MAX_OUTPUTS];
    size_t nouts;
    struct input_slot *ins;
    size_t nins;
    struct lf_buf enc;
    char host[256];
    size_t live_bytes;
    bool paused;
    bool stopping;
    int stop_requests; /* signals received */
    int64_t stop_deadline_ms;
    int64_t next_ckpt_ms;
    int64_t turn_wall_ms; /* wall clock at the start of this loop turn: records' read time */
    int stop_efd;
    struct lf_agent_stats stats;
};

struct lf_tail_file;

/* The tail file a log-file record belongs to (track is its first member); NULL for a
 * record read back from a spool. */
static inline struct lf_tail_file *rec_tail_file(const struct lf_rec *r)
{
    return (struct lf_tail_file *)r->file;
}

/* lf_agent.c */
int agent_batch_add(struct out_slot *s, struct lf_rec *r);
void agent_finish_for_output(struct lf_agent *a, struct lf_rec *r, size_t o);
/* Writes r to the output's dead-letter file; true when it is durable-pending (the caller
 * syncs the file before acting on it). */
bool agent_dead_letter(struct lf_agent *a, size_t o, struct lf_rec *r, const char *reason);
void agent_schedule_retry(struct lf_agent *a, size_t o, struct lf_rec *r);

/* lf_outflow.c: everything an output's records do besides the plain send. */
int flow_open(struct lf_agent *a, size_t o);
void flow_close(struct lf_agent *a, size_t o);
/* Routes a record read from a log file to output o: straight to the send batch, or to
 * the spool while the breaker is not closed or the spool still holds older records. */
int flow_route(struct lf_agent *a, size_t o, struct lf_rec *r);
/* Counts records pushed to the output (for the stall detector). */
void flow_pushed(struct lf_agent *a, size_t o, size_t n, int64_t now);
/* Applies one outcome. Spool records may be queued in *spool_done to be acknowledged in
 * the spool once the dead-letter file is durable (flow_spool_done). */
void flow_on_ack(struct lf_agent *a, size_t o, struct lf_ack *ack, int64_t now,
                 struct rec_list *spool_done);
void flow_spool_done(struct lf_agent *a, size_t o, struct rec_list *done);
/* Tick: stall detection, breaker timers, spill to the spool, group commit, drain. */
void flow_tick(struct lf_agent *a, size_t o, int64_t now);
/* After acks: keep the drain window full. */
void flow_drain(struct lf_agent *a, size_t o);
/* Appends spill to the spool and, per buffer.fsync, makes it durable (end of a turn). */
void flow_commit(struct lf_agent *a, size_t o, bool force_sync);
/* True when output o refuses more records for now (its spool is blocked). */
bool flow_blocked(const struct lf_agent *a, size_t o);
/* Shutdown: everything still owed to output o goes to its spool. */
void flow_shutdown(struct lf_agent *a, size_t o);

#endif
