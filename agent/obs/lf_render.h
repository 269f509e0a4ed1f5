/* lf_render.h - what the HTTP endpoint says, made from a snapshot: Prometheus (and
 * OpenMetrics) text, the /status JSON, the human table of `logferry status`, and the
 * readiness verdict.
 *
 * Pure functions of their arguments (no clock, no I/O), so tests build a snapshot by hand
 * and compare exact lines. Metric names and meanings are documented in docs/metrics.md.
 */
#ifndef LF_RENDER_H
#define LF_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_buf.h"
#include "lf_snapshot.h"

/* The process's own numbers (read by lf_proc_read from /proc/self). */
struct lf_proc_stats {
    double cpu_seconds; /* user + system */
    uint64_t rss_bytes;
    uint64_t open_fds;
    uint64_t threads;
    double start_time_seconds; /* since the epoch */
};

/* Versions for logferry_build_info. */
struct lf_build_info {
    const char *version;
    const char *microhttpd;
};

/* Reads /proc/self/{stat,status,fd}; fields it cannot read stay 0. */
void lf_proc_read(struct lf_proc_stats *p);

/* Appends the metrics of s in Prometheus text format 0.0.4, or OpenMetrics 1.0 text
 * (counter families named without _total, "# EOF" at the end). now_wall_ms is used only
 * for ages (spool oldest record). LF_OK or LF_ENOMEM. */
int lf_render_metrics(const struct lf_snapshot *s, const struct lf_proc_stats *p,
                      const struct lf_build_info *bi, bool openmetrics, struct lf_buf *out);

/* Readiness: false, with the reason in out (one line), when there is no snapshot yet, the
 * agent is shutting down, or an output's breaker is not closed or its spool refuses
 * records; true with "ready" otherwise. */
bool lf_render_ready(const struct lf_snapshot *s, struct lf_buf *out);

/* The /status JSON object (one line). heartbeat_age_ms: time since the main loop's last
 * tick. LF_OK or LF_ENOMEM. */
int lf_render_status_json(const struct lf_snapshot *s, int64_t heartbeat_age_ms,
                          struct lf_buf *out);
/* The same as the human table printed by `logferry status`. */
int lf_render_status_text(const struct lf_snapshot *s, int64_t heartbeat_age_ms,
                          struct lf_buf *out);

#endif
