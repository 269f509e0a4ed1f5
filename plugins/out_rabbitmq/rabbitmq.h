/* rabbitmq.h - internal types of the RabbitMQ output plugin.
 *
 * rabbitmq.c holds the ABI descriptor, the option table and the core-facing callbacks;
 * rabbitmq_conn.c opens and sets up one AMQP connection (TLS, login, confirms,
 * topology); rabbitmq_worker.c is the connection thread that owns it. Not installed.
 */
#ifndef RABBITMQ_H
#define RABBITMQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <amqp.h>

#include <logferry/lf_plugin.h>

#include "rabbitmq_deadline.h"

#define RMQ_CHANNEL 1

struct rmq_topology {
    bool declare;
    char *queue;
    char *binding_key;
    struct lf_list retry_delays; /* ms */
    char *failed_queue;
};

/* Filled by the core from the option table (rabbitmq.c: rmq_options). */
struct rmq_config {
    char *url;
    struct lf_list urls;
    char *exchange;
    int exchange_type; /* index into rmq_exchange_types */
    bool exchange_durable;
    bool exchange_declare;
    char *routing_key;
    bool persistent;
    bool mandatory;
    struct lf_kvlist headers;
    int64_t heartbeat_ms;
    uint64_t frame_max;
    char *connection_name;
    char *ca_file;
    char *cert_file;
    char *key_file;
    bool verify_peer;
    bool verify_hostname;
    int64_t connect_timeout_ms;
    int64_t max_in_flight;
    int64_t reconnect_backoff_ms;
    int64_t reconnect_max_backoff_ms;
    struct rmq_topology topology;
};

extern const char *const rmq_exchange_types[]; /* rabbitmq_conn.c */

/* One broker address from url/urls. buf is the parsed copy info points into. */
struct rmq_endpoint {
    char *buf;
    struct amqp_connection_info info;
    char *display; /* "amqp://user@host:port/vhost", never the password */
};

/* A record published and awaiting its confirm. Tag = unconf.first_tag + index. */
struct rmq_pub {
    struct lf_record *rec;
    bool done;
    char *return_reason; /* set by basic.return: the confirm then means REJECTED */
    char *return_key;    /* the routing key of that return */
    int return_code;     /* its AMQP reply code (312 NO_ROUTE...) */
};

struct rmq_header_tpl {
    char *key;
    struct lf_template *tpl;
};

struct rmq_state {
    struct lf_out_instance *ins;
    const struct rmq_config *cfg;
    struct rmq_endpoint *endpoints;
    size_t n_endpoints;
    struct lf_template *routing_key;
    struct rmq_header_tpl *headers;
    size_t n_headers;
    size_t max_in_flight;
    char failed_queue[300]; /* dead letters go here (default exchange); "" = none */

    /* Shared with submit()/flush() on the core's worker thread; under lock. */
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* inflight dropped, thread exited, stop requested; rmq_cond_init */
    struct lf_record **pending; /* ring of accepted, not yet published records */
    size_t pending_head, pending_len;
    size_t inflight; /* pending + unconfirmed: bounded by max_in_flight */
    bool connected;  /* channel open, confirms on */
    bool blocked;    /* connection.blocked from the broker */
    bool want_wake;  /* submit() took fewer than offered */
    bool stop;       /* the thread must exit */
    bool running;    /* the thread is alive */
    int sockfd;      /* of the live connection, -1: lets flush() unblock a stuck send */
    int event_fd;    /* submit() -> thread: there is work or a stop */
    pthread_t thread;

    /* Owned by the connection thread while it runs (by the caller after join). */
    amqp_connection_state_t conn;
    struct rmq_pub *unconf;
    size_t unconf_head, unconf_len;
    uint64_t unconf_first_tag;
    size_t next_endpoint;
    int64_t backoff_ms;
    int64_t next_attempt_ms; /* deadline (rabbitmq_deadline.h) of the next connect */
    int64_t hb_ms;           /* negotiated heartbeat, 0: none */
    int64_t hb_send_at;      /* librabbitmq owes the broker a heartbeat by then */
    int64_t hb_recv_at;      /* the broker owes us data by then (librabbitmq checks) */
    bool hb_data;            /* the socket was readable at the last wait */
    unsigned int rand_seed;
    char *scratch; /* rendering buffers for routing key and headers */
    size_t scratch_cap;
    uint64_t published, confirmed, nacked, returned, reconnects;
};

/* rabbitmq_conn.c */
int rmq_endpoints_parse(const struct rmq_config *cfg, struct rmq_endpoint **out, size_t *n,
                        char *err, size_t errlen);
void rmq_endpoints_free(struct rmq_endpoint *eps, size_t n);
/* Opens, logs in, opens channel 1 with confirms and declares exchange and topology.
 * Blocks up to connect_timeout per step. On failure logs why and returns LF_EBROKER
 * (or LF_ECONFIG for a refused login) with st->conn NULL. Connection thread only. */
int rmq_connect(struct rmq_state *st, const struct rmq_endpoint *ep);
/* Closes politely (bounded by a short RPC timeout) and frees st->conn. NULL-safe. */
void rmq_disconnect(struct rmq_state *st, bool polite);
/* Formats an amqp_rpc_reply_t into buf. */
void rmq_reply_str(amqp_rpc_reply_t r, char *buf, size_t cap);

/* rabbitmq_dlt.c: the AMQP headers of dead letter rec (rec->dead_letter set), whose
 * original routing key is dl->destination, into t (at most cap entries; the values point
 * into rec and into buf, which must stay alive until the publish). Returns the count. */
#define RMQ_DLT_HEADERS 9
#define RMQ_DLT_BUF     96
int rmq_dlt_headers(const struct rmq_state *st, const struct lf_record *rec, amqp_table_entry_t *t,
                    char *buf);

/* rabbitmq_worker.c */
int rmq_worker_start(struct rmq_state *st);
/* Stops the thread within grace_ms (then forces the socket closed) and joins it. */
void rmq_worker_stop(struct rmq_state *st, int grace_ms);
/* After the thread is gone: acks LF_RETRY for everything pending or unconfirmed. */
void rmq_retry_all(struct rmq_state *st, const char *reason);

#endif
