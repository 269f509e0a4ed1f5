/* rmq_client.h - a small librabbitmq client for the tests: declare, bind, consume.
 *
 * Blocking helpers used by check_it_rabbitmq.c and rmq-tool; not part of the agent.
 */
#ifndef RMQ_CLIENT_H
#define RMQ_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <amqp.h>

struct rmq_client {
    amqp_connection_state_t conn;
    char err[512];
};

/* One consumed message, as the callbacks see it. */
struct rmq_msg {
    const char *message_id; /* NUL-terminated copies */
    const char *routing_key;
    const char *content_type;
    const char *app_id;
    int delivery_mode;
    uint64_t timestamp;
    long death_count; /* sum of x-death counts, 0 when absent */
    const void *body;
    size_t body_len;
    int64_t recv_ms; /* monotonic */
};

/* Totals of rmq_client_drain(). */
struct rmq_stats {
    size_t received;
    size_t unique;
    size_t duplicates;
    size_t not_persistent;
    size_t bad_content_type;
    size_t no_message_id;
};

int rmq_client_open(struct rmq_client *c, const char *url);
void rmq_client_close(struct rmq_client *c);
int rmq_client_declare(struct rmq_client *c, const char *queue, const char *exchange,
                       const char *key);
/* Message count of a queue (passive declare), or -1. */
long rmq_client_depth(struct rmq_client *c, const char *queue);
int rmq_client_delete_queue(struct rmq_client *c, const char *queue);
/* Consumes (ack) until idle_ms pass without a message or timeout_ms in total; expect
 * sizes the id table. Message ids are collected to count unique ones and duplicates. */
int rmq_client_drain(struct rmq_client *c, const char *queue, size_t expect, int idle_ms,
                     int timeout_ms, struct rmq_stats *st, bool print);
/* Consumes one message within timeout_ms; reject (requeue=false) or ack it. */
int rmq_client_get_one(struct rmq_client *c, const char *queue, int timeout_ms, bool reject,
                       struct rmq_msg *out, char *id_buf, size_t id_cap);
int64_t rmq_client_now_ms(void);

#endif
