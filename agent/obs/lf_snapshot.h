/* lf_snapshot.h - a copy of the agent's counters and gauges, for the HTTP endpoint.
 *
 * The main thread owns every counter of the pipeline (plain fields, no atomics, no locks
 * per record). When the endpoint wants fresh numbers, it asks through the exchange's
 * wake fd (lf_obs_wake_fd, in the main loop's epoll set: an idle loop has no tick to
 * wait for); the main loop fills a snapshot (lf_snapshot_reset + lf_snapshot_add_*) and
 * publishes it with lf_obs_publish; the HTTP thread copies the published one under the
 * exchange's mutex (lf_obs_copy) and renders from its copy. Neither thread ever reads the
 * other's objects: the exchange is the only shared state.
 *
 * A snapshot is plain data: fixed fields, three arrays (inputs, files, outputs) and one
 * string arena (names and paths are offsets into it), so copying it is a few memcpy.
 */
#ifndef LF_SNAPSHOT_H
#define LF_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_buf.h"
#include "lf_logsetup.h"
#include "lf_outpath.h"
#include "lf_router.h"
#include "tail.h"

struct lf_snap_input {
    size_t name; /* offset in strings */
    struct lf_tail_stats tail;
    struct lf_router_input_stats router;
    uint64_t files;      /* files followed */
    uint64_t open_files; /* of which with an fd */
};

struct lf_snap_file {
    size_t input; /* index in inputs */
    size_t path;  /* offset in strings */
    uint64_t dev, ino;
    uint64_t size;           /* bytes in the file (fstat/stat when the snapshot was made) */
    uint64_t read_offset;    /* next byte the tail reads */
    uint64_t committed;      /* acknowledged offset (what the checkpoint saves) */
    uint64_t unacked_age_ms; /* age of its oldest record read but not acknowledged, 0 none */
    bool open;               /* has an fd */
};

struct lf_snap_output {
    size_t name, plugin; /* offsets in strings */
    struct lf_outpath_stats st;
    size_t last_error;     /* offset in strings ("" none) */
    int64_t last_error_ms; /* wall time, 0 none */
};

struct lf_snapshot {
    uint64_t seq;          /* 0: never filled */
    int64_t wall_ms;       /* when it was made (wall clock, ms since the epoch) */
    int64_t mono_ms;       /* the same instant, monotonic */
    int64_t start_wall_ms; /* when the agent started */
    size_t agent_name;     /* offset in strings */
    uint64_t live_bytes;   /* record bytes held between reading and acknowledgement */
    uint64_t memory_limit;
    uint64_t alerts_posted, alerts_failed, alerts_lost; /* webhook alerts (lf_alert.h) */
    bool paused;                                        /* reading paused at memory_limit */
    bool stopping;                                      /* shutting down */
    struct lf_snap_input *inputs;
    size_t ninputs, cap_inputs;
    struct lf_snap_file *files;
    size_t nfiles, cap_files;
    struct lf_snap_output *outputs;
    size_t noutputs, cap_outputs;
    struct lf_buf strings;
    /* filled by the HTTP thread from the log (lf_log_get_recent), not by the main loop */
    struct lf_log_recent recent[LF_LOG_RECENT];
    size_t nrecent;
};

void lf_snapshot_init(struct lf_snapshot *s);
void lf_snapshot_fini(struct lf_snapshot *s);
/* Empties the arrays and strings (keeps the allocations). */
void lf_snapshot_reset(struct lf_snapshot *s);
/* Copies src into dst (dst's allocations are reused). LF_OK or LF_ENOMEM (dst is then
 * emptied). */
int lf_snapshot_copy(struct lf_snapshot *dst, const struct lf_snapshot *src);
/* The string at offset off. */
const char *lf_snapshot_str(const struct lf_snapshot *s, size_t off);
/* Adds a string; returns its offset (0, the empty string, on no memory). */
size_t lf_snapshot_intern(struct lf_snapshot *s, const char *str);

/* Appends an input / file / output; NULL on no memory. Names are copied. */
struct lf_snap_input *lf_snapshot_add_input(struct lf_snapshot *s, const char *name);
struct lf_snap_file *lf_snapshot_add_file(struct lf_snapshot *s, size_t input, const char *path);
struct lf_snap_output *lf_snapshot_add_output(struct lf_snapshot *s, const char *name,
                                              const char *plugin);

/* Adds an output path: names, stats, last error. Main thread. LF_OK or LF_ENOMEM. */
int lf_snapshot_add_outpath(struct lf_snapshot *s, const struct lf_outpath *op);
/* Adds one tail's input and its files (size by fstat, or stat of the path while closed;
 * committed offsets from the tracker). Main thread. LF_OK or LF_ENOMEM. */
int lf_snapshot_add_tail(struct lf_snapshot *s, const struct lf_tail *t, const struct lf_router *rt,
                         const struct lf_tracker *tr);

/* ---- the exchange between the main thread and the HTTP thread ---------------------- */

struct lf_obs {
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* signalled on each publish */
    struct lf_snapshot pub;   /* the published snapshot (mu) */
    int64_t turn_since;       /* atomic: -1 the loop never waited yet, 0 it waits for
                                 events, else the monotonic time its current turn began */
    bool wanted;              /* a reader asked for a fresh snapshot (mu) */
    int wake_fd;              /* eventfd: a reader wants something of the main loop */
    struct lf_snapshot build; /* the main thread's scratch snapshot (main thread only) */
};

/* LF_OK, LF_ENOMEM or LF_EIO (no eventfd). */
int lf_obs_init(struct lf_obs *o);
void lf_obs_fini(struct lf_obs *o);
/* The fd that becomes readable when a reader wants a snapshot: the main loop watches it
 * and then calls lf_obs_tick. Owned by the exchange. */
int lf_obs_wake_fd(const struct lf_obs *o);
/* Main thread, on its wake fd and on its ticks: returns true if a reader wants a fresh
 * snapshot (then fill o->build and call lf_obs_publish). */
bool lf_obs_tick(struct lf_obs *o, int64_t now_mono);
/* Main thread, around its wait for events: waiting (true) or turning since now_mono. */
void lf_obs_loop_state(struct lf_obs *o, bool waiting, int64_t now_mono);
/* Main thread: publishes o->build (swapped, no copy) and wakes waiting readers. */
void lf_obs_publish(struct lf_obs *o);
/* Any thread: when the main loop was last known alive (0: not yet): now while it waits
 * for events (an idle loop is a live one), else the start of its current turn. */
int64_t lf_obs_heartbeat(struct lf_obs *o);
/* HTTP thread: copies the published snapshot into dst. If it is older than max_age_ms,
 * asks the main loop for a fresh one and waits for it up to wait_ms (a stuck loop then
 * yields the old one). *last_turn_mono gets the heartbeat. LF_OK or LF_ENOMEM. */
int lf_obs_copy(struct lf_obs *o, struct lf_snapshot *dst, int64_t max_age_ms, int wait_ms,
                int64_t *last_turn_mono);

#endif
