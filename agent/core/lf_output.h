/* lf_output.h - one output instance: its plugin, its worker thread and two queues.
 *
 * The main thread pushes records into the instance's send queue (lf_output_push); the
 * worker thread offers them to the plugin's submit(), serves the plugin (service on its
 * wake fd and a 100 ms tick), and on stop calls flush() and destroy(). Outcomes reported
 * with lf_out_ack() from any thread are queued and an eventfd wakes the main thread,
 * which takes them with lf_output_take_acks() (while "lazy", successes wake nobody: the
 * loop polls lf_output_acks_waiting() each turn instead). The queues are unbounded by count; the
 * agent bounds them through agent.memory_limit.
 */
#ifndef LF_OUTPUT_H
#define LF_OUTPUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "lf_conf.h"
#include "lf_plugin_loader.h" /* where the outputs' plugins come from */
#include "logferry/lf_plugin.h"

struct lf_ack {
    struct lf_record *rec;
    enum lf_outcome outcome;
    char *reason; /* owned; may be NULL */
    int err;      /* lf_out_error.err (0 unless given) */
    int code;     /* lf_out_error.code (0 unless given) */
    char *dest;   /* lf_out_error.destination, owned; may be NULL */
};

struct lf_ptrq {
    void **v;
    size_t head, len, cap;
};

struct lf_out_instance {
    const struct lf_output_conf *conf; /* borrowed from the config */
    const struct lf_output_plugin *plugin;
    const char *agent_name;
    const char *state_dir;
    struct lf_log_ctx log;
    char prefix[96];
    void *state; /* plugin state, worker thread only */
    int index;   /* bit in route masks */

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct lf_ptrq sendq; /* main -> worker */
    int worker_efd;       /* wakes the worker */
    int plugin_fd;        /* lf_out_set_wake_fd, -1 if none */
    int init_rc;          /* result of plugin init, valid once init_done */
    bool init_done;
    bool stop;      /* main asks the worker to flush and exit */
    bool purge_req; /* main asks the worker to give back everything not yet sent */
    int flush_timeout_ms;

    pthread_mutex_t ack_mu;
    struct lf_ack *acks; /* worker/plugin threads -> main */
    size_t nacks, cap_acks;
    int ack_efd;        /* main thread epoll watches it */
    bool ack_signalled; /* ack_efd signalled since the last take (ack_mu) */
    bool ack_lazy;      /* lf_output_set_ack_lazy (written by main under ack_mu) */
    bool acks_waiting;  /* outcomes queued, not taken yet (atomic) */

    bool svc_adaptive; /* lf_out_service_in called: no tick (worker thread only) */
    bool wake_req;     /* lf_out_wake called (atomic) */
    int64_t svc_at_ms; /* adaptive: when service() is due, INT64_MAX none (worker only) */

    bool ready;
    bool stopping_flag; /* lf_out_is_stopping */
    bool dead_letter;   /* lf_out_set_dead_letter: the plugin stores dead letters remotely */
    uint64_t delivered, retried, rejected;
};

/* Creates the instance and starts its worker, which runs plugin init; waits for init.
 * Returns LF_OK or the plugin's error (the instance is destroyed then). */
int lf_output_start(const struct lf_output_conf *conf, int index, const char *agent_name,
                    const char *state_dir, enum lf_log_level level, struct lf_out_instance **out);
/* Hands n records to the worker (main thread): all of them, or none on LF_ENOMEM (then
 * the caller still holds them and must push them again later). The records stay owned
 * by the core. */
int lf_output_push(struct lf_out_instance *o, struct lf_record *const *recs, size_t n);
/* Whether the plugin stores dead letters remotely (lf_out_set_dead_letter): then records
 * with rec->dead_letter set may be pushed, and go to its dead_letter() callback. Valid
 * once lf_output_start returned. */
bool lf_output_has_dead_letter(const struct lf_out_instance *o);
/* Moves queued acks into *acks (caller frees the array, each reason and dest). */
size_t lf_output_take_acks(struct lf_out_instance *o, struct lf_ack **acks);
/* Lazy outcomes (main thread). While lazy, an outcome "delivered" does not signal the ack
 * fd: it waits until the main thread, which wakes anyway for the next input, polls
 * lf_output_acks_waiting(). Any other outcome still signals at once, and turning lazy
 * off signals if outcomes wait, so a caller that must see every outcome promptly
 * (memory limit reached, shutdown, spool or retries active) turns it off first. */
void lf_output_set_ack_lazy(struct lf_out_instance *o, bool lazy);
/* True if outcomes are queued and not yet taken (any thread; a hint, no lock). */
bool lf_output_acks_waiting(const struct lf_out_instance *o);
/* Records waiting in the send queue (not yet accepted by the plugin). */
size_t lf_output_queued(struct lf_out_instance *o);
/* Asks the worker (asynchronously) to hand back, as LF_RETRY acks, every record it has
 * not given to the plugin, and the plugin to do the same with what its client holds
 * (lf_output_plugin.purge). Used when the output's breaker opens. */
void lf_output_purge(struct lf_out_instance *o);
/* Tells the worker to flush within timeout_ms and exit; joins it; destroys the plugin
 * state. Acks produced by the flush remain takeable. */
void lf_output_stop(struct lf_out_instance *o, int timeout_ms);
/* Frees the instance (after stop). Records still queued are not freed (core-owned). */
void lf_output_destroy(struct lf_out_instance *o);

/* Runs the plugin's validate() on the main thread (for `check` and startup). */
int lf_output_validate(const struct lf_output_conf *conf, const char *agent_name,
                       const char *state_dir);

#endif
