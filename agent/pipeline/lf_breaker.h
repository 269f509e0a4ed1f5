/* lf_breaker.h - circuit breaker of one output: closed, open, half-open.
 *
 * Closed: records flow; `failure_threshold` consecutive retriable failures (or one
 * lf_breaker_trip, e.g. a stalled output) open it. Open: nothing is sent for the open
 * period; lf_breaker_poll turns it half-open when the period has passed. Half-open: the
 * owner sends one probe batch; a success closes the breaker and resets the period, a
 * failure reopens it with the period doubled up to max_open_for. Pure state machine: the
 * caller passes the monotonic time; main thread only, no allocation.
 */
#ifndef LF_BREAKER_H
#define LF_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum lf_breaker_state {
    LF_BREAKER_CLOSED = 0,
    LF_BREAKER_OPEN = 1,
    LF_BREAKER_HALF_OPEN = 2,
};

struct lf_breaker {
    enum lf_breaker_state state;
    int64_t threshold;
    int64_t base_open_ms, max_open_ms, open_ms; /* open_ms: the current period */
    int64_t failures;                           /* consecutive, while closed */
    int64_t reopen_at_ms;                       /* when open: time to go half-open */
    uint64_t opened;                            /* times it opened (metrics) */
    uint64_t half_opened;                       /* times it turned half-open (metrics) */
    uint64_t closed;                            /* times it closed again (metrics) */
};

void lf_breaker_init(struct lf_breaker *b, int64_t failure_threshold, int64_t open_for_ms,
                     int64_t max_open_for_ms);
/* Each returns true when the state changed. */
bool lf_breaker_success(struct lf_breaker *b);
bool lf_breaker_failure(struct lf_breaker *b, int64_t now_ms);
bool lf_breaker_trip(struct lf_breaker *b, int64_t now_ms);
bool lf_breaker_poll(struct lf_breaker *b, int64_t now_ms);

const char *lf_breaker_state_name(enum lf_breaker_state s);

#endif
