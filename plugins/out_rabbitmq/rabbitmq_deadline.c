/* rabbitmq_deadline.c - monotonic deadlines and their timeval/timespec forms. */
#include "rabbitmq_deadline.h"

#include <time.h>

#define MS_PER_S  1000
#define NS_PER_MS 1000000L
#define NS_PER_S  1000000000L

int64_t rmq_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / NS_PER_MS;
}

int64_t rmq_deadline_in(int64_t ms)
{
    return rmq_now_ms() + (ms > 0 ? ms : 0);
}

int64_t rmq_deadline_left_ms(int64_t deadline)
{
    int64_t left = deadline - rmq_now_ms();

    return left > 0 ? left : 0;
}

bool rmq_deadline_passed(int64_t deadline)
{
    return rmq_now_ms() >= deadline;
}

struct timeval rmq_timeval_ms(int64_t ms)
{
    if (ms < 0) {
        ms = 0;
    }
    struct timeval tv = {.tv_sec = ms / MS_PER_S, .tv_usec = (ms % MS_PER_S) * 1000};
    return tv;
}

int rmq_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);

    if (rc != 0) {
        return rc;
    }
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(cond, &attr);
    }
    pthread_condattr_destroy(&attr);
    return rc;
}

void rmq_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t ms)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    if (ms > 0) {
        until.tv_sec += ms / MS_PER_S;
        until.tv_nsec += (ms % MS_PER_S) * NS_PER_MS;
    }
    if (until.tv_nsec >= NS_PER_S) {
        until.tv_sec++;
        until.tv_nsec -= NS_PER_S;
    }
    pthread_cond_timedwait(cond, mutex, &until);
}
