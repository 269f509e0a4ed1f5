/* lf_agent_int.h - the agent's state, shared by its two source files: lf_agent.c (setup,
 * loop, shutdown) and lf_agent_reload.c (SIGHUP). Not an API: nothing else includes it.
 * Thread: the main thread owns all of it.
 */
#ifndef LF_AGENT_INT_H
#define LF_AGENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_agent.h"
#include "lf_alert.h"
#include "lf_ckpt_policy.h"
#include "lf_http.h"
#include "lf_notify.h"
#include "lf_outpath.h"
#include "lf_reload.h"
#include "lf_router.h"
#include "lf_snapshot.h"
#include "lf_tracker.h"
#include "tail.h"

#define LF_AGENT_MAX_OUTPUTS 32
#define LF_AGENT_EV_OUTPUT   16 /* epoll tag of output o: LF_AGENT_EV_OUTPUT + o */

struct lf_agent {
    const struct lf_config *cfg; /* the running configuration */
    struct lf_config **owned;    /* configurations loaded by reloads (cfg may be one); the
                                    running pieces borrow from any of them until destroy */
    size_t nowned;
    struct lf_log_ctx log;
    int epfd, sigfd, inofd, lockfd, stop_efd;
    int64_t last_tick_ms; /* the tick's last run */
    int64_t tick_at_ms;   /* the tick's next run (lf_agent.c: tick_due), INT64_MAX none */
    struct lf_ckpt_store *ckpt;
    struct lf_ckpt_policy ckpt_policy;
    struct lf_rec_budget budget;
    struct lf_tracker *tracker;
    struct lf_outpath *outs[LF_AGENT_MAX_OUTPUTS];
    size_t nouts;
    uint64_t out_started; /* output instances started so far (reloads included) */
    struct lf_router *router;
    const struct lf_config *router_cfg; /* the configuration the router was built from */
    struct lf_tail **tails;
    size_t ntails;
    bool paused;
    bool stopping;
    int stop_requests; /* signals received */
    int64_t stop_deadline_ms;
    int64_t start_wall_ms;
    struct lf_obs *obs;     /* snapshot exchange with the HTTP thread; NULL: no endpoint */
    struct lf_http *http;   /* agent.http */
    struct lf_alert *alert; /* alerts.webhook; NULL: no alerts */
    struct lf_alert_prev alert_prev[LF_AGENT_MAX_OUTPUTS]; /* by output slot */
    char pid_path[4096]; /* state_dir/logferry.pid, "" if not written */
    /* systemd */
    struct lf_watchdog watchdog;
    bool notify_on;
    bool status_dirty; /* something happened since the last STATUS= */
    int64_t next_status_ms;
    char status_sent[400]; /* the last STATUS= line */
    /* a reload waiting for the records in flight (lf_agent_reload.c) */
    struct lf_config *next_cfg;
    struct lf_reload_plan plan;
    struct lf_router *next_router; /* built from next_cfg over outs[] (placed at the swap) */
    bool fatal;                    /* a reload could not start an output: exit (run) */
    bool reload_again;             /* SIGHUP during a reload: read the file again after it */
    int64_t reload_log_ms;
    uint64_t reloads;
    uint64_t read_before_reloads, filtered_before_reloads; /* counts of replaced routers */
};

/* lf_agent.c */
int lf_agent_add_fd(struct lf_agent *a, int fd, uint32_t tag);
void lf_agent_save_checkpoints(struct lf_agent *a, int64_t now);
/* Opens output `index` of cfg as outs[slot] (bit `slot`) and watches its ack fd. */
int lf_agent_open_output(struct lf_agent *a, const struct lf_config *cfg, size_t index,
                         size_t slot);
/* Creates input `index` of cfg as tails[index]. */
int lf_agent_create_tail(struct lf_agent *a, const struct lf_config *cfg, size_t index);
/* "read N, delivered N, spooled N, ..." for STATUS= and the reload log line. */
void lf_agent_status_line(const struct lf_agent *a, char *buf, size_t len);

/* lf_agent_reload.c */
/* SIGHUP: reads the configuration file again and starts the reload (or logs why not). */
void lf_agent_reload_begin(struct lf_agent *a);
/* While a reload waits: applies it once nothing is in flight. Every loop turn. */
void lf_agent_reload_poll(struct lf_agent *a);
/* Frees the configurations the reloads loaded (destroy). */
void lf_agent_reload_fini(struct lf_agent *a);

#endif
