/* lf_retry.c - the retry schedule of an output (see lf_retry.h). */
#include "lf_retry.h"

bool lf_retry_exhausted(const struct lf_retry_conf *rc, uint32_t attempts)
{
    return rc->attempts > 0 && attempts >= (uint64_t)rc->attempts;
}

/* xorshift64*: small, fast, good enough to spread retries; never stuck at 0. */
static uint64_t retry_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

int64_t lf_retry_delay_ms(const struct lf_retry_conf *rc, uint32_t attempts, uint64_t *rng)
{
    int64_t cap = rc->max_backoff_ms > 0 ? rc->max_backoff_ms : 1;
    int64_t wait = rc->backoff_ms > 0 ? rc->backoff_ms : 1;
    for (uint32_t i = 1; i < attempts && wait < cap; i++) {
        wait *= rc->multiplier > 1 ? rc->multiplier : 1;
        if (rc->multiplier <= 1) {
            break;
        }
    }
    wait = wait < cap ? wait : cap;
    if (rc->jitter > 0) {
        int64_t span = wait * rc->jitter / 100; /* +- span */
        if (span > 0) {
            wait += (int64_t)(retry_rand(rng) % (uint64_t)(2 * span + 1)) - span;
        }
    }
    wait = wait < cap ? wait : cap;
    return wait > 0 ? wait : 1;
}
