/* rabbitmq_deadline.h - the plugin's one notion of time: deadlines on the monotonic clock.
 *
 * A deadline is an int64_t in CLOCK_MONOTONIC milliseconds (never the wall clock, which
 * may jump). Every wait of the plugin (flush, thread stop, reconnect backoff, librabbitmq
 * timeouts) is written with these helpers instead of its own clock arithmetic. Not
 * installed; any thread.
 */
#ifndef RABBITMQ_DEADLINE_H
#define RABBITMQ_DEADLINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

/* Milliseconds on the monotonic clock. */
int64_t rmq_now_ms(void);
/* The deadline ms from now (a negative ms counts as 0: already due). */
int64_t rmq_deadline_in(int64_t ms);
/* Milliseconds left until deadline; 0 once it has passed. */
int64_t rmq_deadline_left_ms(int64_t deadline);
/* Whether deadline has passed. */
bool rmq_deadline_passed(int64_t deadline);
/* A duration as the struct timeval librabbitmq takes (negative counts as 0). */
struct timeval rmq_timeval_ms(int64_t ms);

/* Initialises a condition whose timed waits use the monotonic clock, as
 * rmq_cond_wait_ms() needs. Returns 0 or an errno value. */
int rmq_cond_init(pthread_cond_t *cond);
/* Waits on cond (made by rmq_cond_init, mutex held) until signalled or at most ms. */
void rmq_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t ms);

#endif
