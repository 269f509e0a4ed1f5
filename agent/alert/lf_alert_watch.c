/* lf_alert_watch.c - alert events derived from an output's counters between two ticks:
 * new dead letters, breaker opens and closes, records dropped by drop_oldest (deltas), and
 * the spool crossing 80% of buffer.max_size (an edge, re-armed below 70%). */
#include "lf_alert.h"

static void watch_delta(struct lf_alert_event *ev, size_t *n, enum lf_alert_kind k, uint32_t output,
                        uint64_t now, uint64_t *prev)
{
    if (now > *prev) {
        ev[(*n)++] = (struct lf_alert_event){.kind = k, .output = output, .count = now - *prev};
    }
    *prev = now;
}

size_t lf_alert_watch(struct lf_alert_prev *prev, uint32_t output,
                      const struct lf_alert_counters *c, uint64_t max_size,
                      struct lf_alert_event *ev)
{
    size_t n = 0;
    watch_delta(ev, &n, LF_ALERT_DEAD_LETTER, output, c->dead_lettered, &prev->dead_lettered);
    watch_delta(ev, &n, LF_ALERT_BREAKER_OPEN, output, c->breaker_opens, &prev->breaker_opens);
    watch_delta(ev, &n, LF_ALERT_BREAKER_CLOSE, output, c->breaker_closes, &prev->breaker_closes);
    watch_delta(ev, &n, LF_ALERT_SPOOL_DROP, output, c->spool_dropped, &prev->spool_dropped);
    if (max_size && !prev->spool_high && c->spool_bytes * 10 >= max_size * 8) {
        prev->spool_high = true;
        ev[n++] =
            (struct lf_alert_event){.kind = LF_ALERT_SPOOL_HIGH, .output = output, .count = 1};
    } else if (max_size && prev->spool_high && c->spool_bytes * 10 < max_size * 7) {
        prev->spool_high = false;
    }
    return n;
}
