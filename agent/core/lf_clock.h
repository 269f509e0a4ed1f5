/* lf_clock.h - millisecond clocks for the core: monotonic for deadlines and timers, wall
 * clock for timestamps shown to people. Thread-safe (clock_gettime). */
#ifndef LF_CLOCK_H
#define LF_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t lf_clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t lf_mono_ms(void)
{
    return lf_clock_ms(CLOCK_MONOTONIC);
}

static inline int64_t lf_wall_ms(void)
{
    return lf_clock_ms(CLOCK_REALTIME);
}

#endif
