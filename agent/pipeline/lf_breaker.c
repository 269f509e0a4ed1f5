/* lf_breaker.c - the circuit breaker state machine (see lf_breaker.h). */
#include "lf_breaker.h"

void lf_breaker_init(struct lf_breaker *b, int64_t failure_threshold, int64_t open_for_ms,
                     int64_t max_open_for_ms)
{
    *b = (struct lf_breaker){
        .state = LF_BREAKER_CLOSED,
        .threshold = failure_threshold > 0 ? failure_threshold : 1,
        .base_open_ms = open_for_ms,
        .max_open_ms = max_open_for_ms > open_for_ms ? max_open_for_ms : open_for_ms,
        .open_ms = open_for_ms,
    };
}

static void breaker_open(struct lf_breaker *b, int64_t now_ms)
{
    b->state = LF_BREAKER_OPEN;
    b->reopen_at_ms = now_ms + b->open_ms;
    b->failures = 0;
    b->opened++;
}

bool lf_breaker_success(struct lf_breaker *b)
{
    b->failures = 0;
    if (b->state != LF_BREAKER_HALF_OPEN) {
        return false; /* a late success while open does not close it: the probe decides */
    }
    b->state = LF_BREAKER_CLOSED;
    b->open_ms = b->base_open_ms;
    b->closed++;
    return true;
}

bool lf_breaker_failure(struct lf_breaker *b, int64_t now_ms)
{
    switch (b->state) {
    case LF_BREAKER_CLOSED:
        if (++b->failures < b->threshold) {
            return false;
        }
        breaker_open(b, now_ms);
        return true;
    case LF_BREAKER_HALF_OPEN:
        b->open_ms = b->open_ms > b->max_open_ms / 2 ? b->max_open_ms : b->open_ms * 2;
        breaker_open(b, now_ms);
        return true;
    default:
        return false; /* late outcomes of records sent before it opened */
    }
}

bool lf_breaker_trip(struct lf_breaker *b, int64_t now_ms)
{
    if (b->state == LF_BREAKER_OPEN) {
        return false;
    }
    if (b->state == LF_BREAKER_HALF_OPEN) {
        return lf_breaker_failure(b, now_ms);
    }
    breaker_open(b, now_ms);
    return true;
}

bool lf_breaker_poll(struct lf_breaker *b, int64_t now_ms)
{
    if (b->state != LF_BREAKER_OPEN || now_ms < b->reopen_at_ms) {
        return false;
    }
    b->state = LF_BREAKER_HALF_OPEN;
    b->half_opened++;
    return true;
}

const char *lf_breaker_state_name(enum lf_breaker_state s)
{
    switch (s) {
    case LF_BREAKER_CLOSED:
        return "closed";
    case LF_BREAKER_OPEN:
        return "open";
    case LF_BREAKER_HALF_OPEN:
        return "half-open";
    }
    return "?";
}
