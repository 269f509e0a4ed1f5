/* lf_plugin.h - the output plugin ABI (the only header plugins need besides lf_*.h).
 *
 * A plugin is a shared object in agent.plugin_dir named out_<name>.so that exports one
 * symbol, lf_output_plugin_entry(), returning a static descriptor. The loader checks the
 * ABI version, the struct size, the name and the option table before using it.
 *
 * Threading: the core runs one worker thread per output instance. validate() runs on the
 * main thread (also for `logferry check`); init, submit, service, flush and destroy run
 * on the instance's worker thread, never concurrently. lf_out_ack() may be called from
 * any thread (librdkafka's, a connection thread...); acks are queued and applied by the
 * core's main thread.
 *
 * Delivery: every record passed to submit() (or dead_letter()) and accepted must get
 * exactly one lf_out_ack() / lf_out_ack_many() / lf_out_ack_error(). The core owns
 * retries with backoff, the circuit breaker, the spool and dead letters; a plugin only
 * reports what happened, and may offer a remote place for dead letters (dead_letter()).
 */
#ifndef LF_PLUGIN_H
#define LF_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_err.h"
#include "lf_export.h"
#include "lf_log.h"
#include "lf_opt.h"
#include "lf_record.h"

#define LF_PLUGIN_ABI_VERSION 1 /* bump on any incompatible change */

enum lf_outcome {
    LF_DELIVERED = 0, /* the destination acknowledged it durably */
    LF_RETRY = 1,     /* transient failure: the core retries, breaks, spools */
    LF_REJECTED = 2,  /* permanent failure: the core dead-letters it */
};

struct lf_out_instance; /* opaque, owned by the core */

struct lf_output_plugin {
    uint32_t abi_version; /* = LF_PLUGIN_ABI_VERSION */
    uint32_t struct_size; /* = sizeof(struct lf_output_plugin) */
    const char *name;     /* "kafka": must match the file out_kafka.so */
    const char *description;
    const struct lf_opt *options; /* plugin keys of an output section */
    size_t config_size;           /* core allocates, zeroes and fills via offsets */

    /* Return values. Every callback returns LF_OK or a negative enum lf_err (lf_err.h).
     * What the core does with them is stated at each callback; where it says "ignored",
     * the value is not even logged: a plugin reports its own problems with lf_out_log.
     * Records are never dropped because of a return value: the only way a record
     * leaves an output is its lf_out_ack(), or the core handing it back as LF_RETRY
     * when submit() never accepted it. */

    /* Optional. Cross-field checks beyond the option table (e.g. librdkafka rejecting a
     * property). Log each problem with lf_out_log and return LF_ECONFIG. No I/O.
     * Runs before init() at agent start and in `logferry check`. LF_OK: valid. Any
     * error: `check` reports the output as rejected by its plugin; at start the agent
     * logs "output NAME (PLUGIN): cannot start: <lf_strerror>" and does not start. */
    int (*validate)(struct lf_out_instance *ins, const void *config);
    /* Creates the plugin state. config stays valid (core-owned) until destroy.
     * LF_OK: *state is set and the worker starts calling submit/service. Any error
     * (LF_ENOMEM, LF_ECONFIG, LF_EBROKER...): the core neither calls destroy nor any
     * other callback of this instance (init must free what it made), and the agent
     * does not start, logging the error's lf_strerror. Connecting is better left to
     * later (a broker that is down at start is not an init error). */
    int (*init)(struct lf_out_instance *ins, const void *config, void **state);
    /* Offers n records. Sets *accepted to how many (a prefix) it took: those now await
     * lf_out_ack(). Taking fewer is backpressure; the core offers the rest again after
     * the wake fd fires or the next tick. Must not block for long.
     * Only *accepted counts (clamped to n). LF_OK and LF_EAGAIN (backpressure) are
     * silent; any other error is logged as a warning ("submit: <lf_strerror>") and the
     * records not accepted are offered again like after backpressure, so an error
     * must not be returned for a record the plugin can never take: ack it LF_REJECTED
     * (counted as accepted) instead. */
    int (*submit)(void *state, struct lf_record *const *recs, size_t n, size_t *accepted);
    /* Optional. Called when the wake fd (lf_out_set_wake_fd) is readable or lf_out_wake()
     * was called, and on a tick (every 100 ms) so the plugin can serve callbacks,
     * confirms, timers. A plugin that calls lf_out_service_in() has no tick: service()
     * then runs only on a wake and at the time it asked for (an idle worker sleeps).
     * The return value is ignored: service runs again on the next wake or tick. */
    int (*service)(void *state);
    /* Tries to finish everything in flight within timeout_ms. Whatever is still
     * unacknowledged afterwards must be acked LF_RETRY before flush returns.
     * Called once, at shutdown, before destroy (records still queued in the core then
     * go back as LF_RETRY "not sent before shutdown"). Return LF_OK, or an error such
     * as LF_EAGAIN when records had to be acked LF_RETRY (out_rabbitmq does; out_kafka
     * returns LF_OK). The core ignores the value: the acks already say what happened. */
    int (*flush)(void *state, int timeout_ms);
    /* Frees the state. NULL-safe. No acks may be sent after it returns. */
    void (*destroy)(void *state);
    /* Optional. The core's circuit breaker opened: give back soon, as LF_RETRY acks, the
     * records still waiting inside the client (e.g. librdkafka's queue), so they can go
     * to the spool instead of waiting for the client's own message timeout. A record
     * that may already be on the wire may be given back too (at-least-once). Plugins
     * whose records come back by themselves when the connection is lost leave it NULL.
     * Called on the worker thread after the core has handed back (LF_RETRY) what it had
     * not yet submitted. The return value is ignored; records a failed purge could not
     * give back come back through their normal acks. */
    int (*purge)(void *state);
    /* Optional (takes the first of the slots that were reserved; NULL in older plugins,
     * so the ABI version did not change). Stores records that failed for good in the
     * plugin's own dead-letter destination (Kafka: <topic><dead_letter.topic_suffix>;
     * RabbitMQ: the topology's failed queue). Called only after init() declared such a
     * destination with lf_out_set_dead_letter(ins, true). Every record has
     * rec->dead_letter set (core-owned, valid until the ack). Same contract as submit():
     * *accepted is a prefix, each accepted record gets exactly one ack. LF_DELIVERED
     * means the dead letter is durably stored there; any other outcome (with
     * lf_out_ack_error's err = LF_ETOOBIG when it is too large for the destination)
     * makes the core write it to the local store <state_dir>/dead-letter/<output>.jsonl
     * instead: it is never offered to the plugin twice. May be the same function as
     * submit() when the plugin tells the two apart by rec->dead_letter. */
    int (*dead_letter)(void *state, struct lf_record *const *recs, size_t n, size_t *accepted);
    void *reserved[2]; /* must be NULL */
};

/* The only symbol a plugin exports. */
typedef const struct lf_output_plugin *lf_output_plugin_entry_fn(void);
#define LF_OUTPUT_PLUGIN_ENTRY "lf_output_plugin_entry"

/* Reports the outcome of one submitted record. reason (may be NULL) is copied and shown
 * in logs and dead letters. Any thread. */
LF_EXPORT void lf_out_ack(struct lf_out_instance *ins, struct lf_record *rec,
                          enum lf_outcome outcome, const char *reason);
/* What went wrong with one record, for lf_out_ack_error(). Borrowed for the call only. */
struct lf_out_error {
    int err;                 /* class, an enum lf_err: LF_ETOOBIG when the record is over a
                              * size limit (it then skips a remote dead-letter destination);
                              * LF_OK (0) when nothing more specific is known */
    int code;                /* the client's or broker's own code (a librdkafka error, an
                              * AMQP reply code), 0 if none: recorded in dead letters */
    const char *reason;      /* text, may be NULL; copied */
    const char *destination; /* topic or routing key the record was for, may be NULL; copied */
};

/* lf_out_ack() with the details of a failure (e may be NULL: same as lf_out_ack with no
 * reason). For a delivered record e is ignored. Any thread. */
LF_EXPORT void lf_out_ack_error(struct lf_out_instance *ins, struct lf_record *rec,
                                enum lf_outcome outcome, const struct lf_out_error *e);
/* The same outcome, with no reason, for n records: like n calls of lf_out_ack() but taking
 * the core's lock once (a batch of delivery reports). Any thread. */
LF_EXPORT void lf_out_ack_many(struct lf_out_instance *ins, struct lf_record *const *recs, size_t n,
                               enum lf_outcome outcome);
/* Asks the worker to also wait on fd (readable) and call service() when it fires. */
LF_EXPORT void lf_out_set_wake_fd(struct lf_out_instance *ins, int fd);
/* Readiness shown by `logferry status` (connected and authorised). Any thread. */
LF_EXPORT void lf_out_set_ready(struct lf_out_instance *ins, bool ready);
/* Declares (from init(), or any time before the first record) that the plugin has a
 * remote dead-letter destination: records that fail for good are then offered to its
 * dead_letter() callback before the local store. Default: false. */
LF_EXPORT void lf_out_set_dead_letter(struct lf_out_instance *ins, bool enabled);
/* The output's dead_letter.topic_suffix, or NULL when not set. */
LF_EXPORT const char *lf_out_dead_letter_suffix(const struct lf_out_instance *ins);
/* Wakes the worker from any thread (e.g. a connection thread has news). */
LF_EXPORT void lf_out_wake(struct lf_out_instance *ins);
/* Adaptive service (worker thread: from init, submit, service or dead_letter). The first
 * call ends the instance's 100 ms tick for good: from then on service() runs when the
 * wake fd fires, after lf_out_wake(), and once at (or soon after) the earliest time asked
 * for since the last service() call: ms >= 0 asks for a call within ms milliseconds,
 * ms < 0 asks for none (only switches the tick off). Each service() call forgets what
 * was asked before it, so a plugin that still waits for a timer (a reconnect backoff)
 * asks again from service(). Records a submit() did not take are offered again every
 * 100 ms whatever the plugin asked. */
LF_EXPORT void lf_out_service_in(struct lf_out_instance *ins, int ms);

/* Read-only facts about the instance, valid from validate() to destroy(). */
LF_EXPORT const char *lf_out_name(const struct lf_out_instance *ins);       /* output name */
LF_EXPORT const char *lf_out_agent_name(const struct lf_out_instance *ins); /* agent.name */
LF_EXPORT const char *lf_out_state_dir(const struct lf_out_instance *ins);  /* agent.state_dir */
LF_EXPORT const struct lf_log_ctx *lf_out_log_ctx(const struct lf_out_instance *ins);
/* Whether the agent is shutting down (plugins stop reconnect loops). Any thread. */
LF_EXPORT bool lf_out_is_stopping(const struct lf_out_instance *ins);

#define lf_out_log(ins, lvl, ...) lf_log_write((lvl), lf_out_log_ctx(ins), __VA_ARGS__)

#endif
