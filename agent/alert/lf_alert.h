/* lf_alert.h - webhook alerts (config `alerts:`): dead letters, breaker open and close,
 * a spool past 80% of buffer.max_size, records dropped by drop_oldest.
 *
 * The main thread derives events from the output paths' counters at its tick
 * (lf_alert_watch, no outpath code involved) and posts them, never blocking, into the
 * alert thread's bounded queue (lf_alert_post; a full queue counts the event as lost).
 * The alert thread groups events per kind (lf_alert_groups): the first event of a kind
 * opens a group, sent LF_ALERT_GROUP_WAIT_MS later (or after min_interval if shorter), then
 * at most one POST per kind per min_interval, carrying the counts per output. A failed
 * POST is retried quietly (3 tries), then logged and counted; its counts stay for the next
 * POST. The webhook URL is a secret: only its scheme and host are ever logged.
 */
#ifndef LF_ALERT_H
#define LF_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_buf.h"
#include "lf_conf.h"
#include "logferry/lf_log.h"

#define LF_ALERT_GROUP_WAIT_MS 5000
#define LF_ALERT_MAX_OUTPUTS   32
#define LF_ALERT_QUEUE         1024 /* events the queue holds */

enum lf_alert_kind {
    LF_ALERT_DEAD_LETTER = 0,
    LF_ALERT_BREAKER_OPEN,
    LF_ALERT_BREAKER_CLOSE,
    LF_ALERT_SPOOL_HIGH,
    LF_ALERT_SPOOL_DROP,
    LF_ALERT_KINDS
};

/* "dead_letter", "breaker_open", ... */
const char *lf_alert_kind_name(enum lf_alert_kind k);

/* ---- events from counters (lf_alert_watch.c), main thread ---------------------- */

/* What the watch remembers of one output between two ticks; zeroed at start, as the
 * output path's counters are. */
struct lf_alert_prev {
    bool spool_high; /* above 80% of max_size (re-armed below 70%) */
    uint64_t dead_lettered, breaker_opens, breaker_closes, spool_dropped;
};

/* The counters of one output the events are derived from (a subset of the outpath's). */
struct lf_alert_counters {
    uint64_t dead_lettered, breaker_opens, breaker_closes, spool_dropped;
    uint64_t spool_bytes;
};

struct lf_alert_event {
    enum lf_alert_kind kind;
    uint32_t output; /* index in the config */
    uint64_t count;
};

/* Compares c with prev (then updates prev); writes up to LF_ALERT_KINDS events into ev.
 * max_size 0: no spool alert.
 * Returns the number of events. */
size_t lf_alert_watch(struct lf_alert_prev *prev, uint32_t output,
                      const struct lf_alert_counters *c, uint64_t max_size,
                      struct lf_alert_event *ev);

/* ---- grouping and rate limit (lf_alert_group.c), alert thread ------------------- */

struct lf_alert_group {
    uint64_t count; /* events since the last POST */
    uint64_t per_output[LF_ALERT_MAX_OUTPUTS];
    int64_t opened_ms; /* first event of the group, 0: empty */
    int64_t sent_ms;   /* last POST attempt, 0: never */
};

struct lf_alert_groups {
    struct lf_alert_group g[LF_ALERT_KINDS];
    int64_t min_interval_ms;
};

void lf_alert_groups_init(struct lf_alert_groups *gs, int64_t min_interval_ms);
void lf_alert_groups_add(struct lf_alert_groups *gs, const struct lf_alert_event *ev,
                         int64_t now_ms);
/* When the group of kind k is due (ms, monotonic), or -1 when it is empty. */
int64_t lf_alert_groups_due(const struct lf_alert_groups *gs, enum lf_alert_kind k);
/* The POST was made (ok or failed for good); ok empties the group. */
void lf_alert_groups_sent(struct lf_alert_groups *gs, enum lf_alert_kind k, bool ok,
                          int64_t now_ms);
/* The body for group k into b: the template with {{kind}}, {{agent}}, {{count}},
 * {{outputs}}, {{text}} replaced by JSON-escaped values (tmpl NULL: {"text": ...}).
 * names[i] is the name of output i (n of them). LF_OK or LF_ENOMEM. */
int lf_alert_render(const struct lf_alert_groups *gs, enum lf_alert_kind k, const char *tmpl,
                    const char *agent, const char *const *names, size_t n, struct lf_buf *b);
/* Checks a template: what it renders must be one JSON object. NULL or an error text. */
const char *lf_alert_check_template(const char *tmpl);
/* Checks cfg->alerts (webhook scheme, template): NULL or an error text. */
const char *lf_alert_check_conf(const struct lf_alerts_conf *c);
/* "https://hooks.example.com/…" : scheme and host of url, never its path or query. */
void lf_alert_redact(const char *url, char *buf, size_t cap);

/* ---- the alert thread (lf_alert.c) ----------------------------------------------- */

struct lf_alert;

struct lf_alert_stats {
    uint64_t posted, failed, retried, lost; /* POSTs ok / failed for good / retries / events
                                               lost to a full queue */
};

/* Starts the thread for cfg->alerts (webhook set). Output names are copied. LF_OK,
 * LF_EINVAL (bad template, logged), LF_ENOMEM, LF_EIO. */
int lf_alert_start(const struct lf_config *cfg, const struct lf_log_ctx *log,
                   struct lf_alert **out);
/* Queues events (main thread); never blocks on the network. */
void lf_alert_post(struct lf_alert *al, const struct lf_alert_event *ev, size_t n);
void lf_alert_get_stats(struct lf_alert *al, struct lf_alert_stats *st);
/* Sends what is pending (bounded by alerts.timeout), stops and frees. NULL-safe. */
void lf_alert_stop(struct lf_alert *al);

#endif
