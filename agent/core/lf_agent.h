/* lf_agent.h - the running agent: inputs, pipeline, outputs, checkpoints, main loop.
 *
 * lf_agent_create builds everything from a loaded config (state dir lock, checkpoint
 * store, output workers, tails); lf_agent_run runs the epoll loop on the calling
 * thread until SIGTERM/SIGINT (or lf_agent_stop) and the shutdown order of
 * docs/lifecycle.md; SIGHUP reloads the configuration file (cfg->path) in between;
 * lf_agent_destroy frees it.
 * The signal mask must block SIGTERM, SIGINT and SIGHUP in every thread (lf_agent_create
 * does it for the calling thread before starting output threads).
 */
#ifndef LF_AGENT_H
#define LF_AGENT_H

#include <stdint.h>

#include "lf_conf.h"

struct lf_agent;

/* Exit codes of `logferry run` (documented in `logferry help`). */
#define LF_EXIT_OK          0
#define LF_EXIT_FAILURE     1
#define LF_EXIT_USAGE       64
#define LF_EXIT_UNAVAILABLE 69
#define LF_EXIT_LOCKED      73 /* another agent holds the lock of agent.state_dir */
#define LF_EXIT_FORCED      75 /* second signal: exited before in-flight records were acked */
#define LF_EXIT_CONFIG      78

struct lf_agent_stats {
    uint64_t records_read;
    uint64_t records_filtered;
    uint64_t records_delivered; /* per output delivery, summed */
    uint64_t records_retried;
    uint64_t records_dead_lettered;
    uint64_t records_spooled; /* appended to a spool, all outputs */
    uint64_t records_drained; /* sent from a spool and acknowledged there */
    uint64_t breaker_opens;
    uint64_t bytes_read;
    size_t live_bytes;
};

/* cfg stays owned by the caller and must outlive the agent (configurations loaded by a
 * reload are the agent's). On failure a message has been logged; LF_EAGAIN means another
 * agent holds the lock of agent.state_dir. */
int lf_agent_create(const struct lf_config *cfg, struct lf_agent **out);
/* Runs until shutdown. Returns an LF_EXIT_* code. */
int lf_agent_run(struct lf_agent *a);
/* Asks the loop to shut down as on SIGTERM (any thread; for tests). */
void lf_agent_stop(struct lf_agent *a);
void lf_agent_get_stats(const struct lf_agent *a, struct lf_agent_stats *st);
void lf_agent_destroy(struct lf_agent *a);

#endif
