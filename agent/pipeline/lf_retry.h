/* lf_retry.h - an output's retry schedule (retry: attempts, backoff, multiplier,
 * max_backoff, jitter): when the next attempt of a failed record is due, and when its
 * attempts are used up. Pure functions; the caller keeps the random state.
 */
#ifndef LF_RETRY_H
#define LF_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_conf.h"

/* True when a record that made `attempts` delivery attempts (the first one included) may
 * not be tried again: retry.attempts > 0 and reached. retry.attempts 0 never runs out. */
bool lf_retry_exhausted(const struct lf_retry_conf *rc, uint32_t attempts);

/* The wait after the attempts-th failed attempt (attempts >= 1), in ms:
 * backoff * multiplier^(attempts-1), capped at max_backoff, then spread uniformly over
 * +-jitter percent of itself and capped at max_backoff again. *rng is the caller's
 * random state (any value; updated). Always >= 1. */
int64_t lf_retry_delay_ms(const struct lf_retry_conf *rc, uint32_t attempts, uint64_t *rng);

#endif
