/* rabbitmq.c - the RabbitMQ output plugin: ABI descriptor, options, core callbacks.
 *
 * submit() only queues records for the connection thread (rabbitmq_worker.c), which
 * owns the librabbitmq connection, publishes with confirms and reports each outcome with
 * lf_out_ack(). Nothing here blocks on the network. Retries, spool and dead letters are
 * the core's; this file never retries anything itself. With a declared topology it offers
 * the failed queue as the remote dead-letter destination (dead_letter = submit: the
 * connection thread publishes records with rec->dead_letter there).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "rabbitmq.h"

#define OFF(f)  offsetof(struct rmq_config, f)
#define TOFF(f) offsetof(struct rmq_topology, f)

static const struct lf_opt rmq_topology_options[] = {
    {
        .name = "declare",
        .type = LF_OPT_BOOL,
        .def = "false",
        .offset = TOFF(declare),
        .desc = "Declare the main queue, the per-delay retry queues and the failed queue.",
    },
    {
        .name = "queue",
        .type = LF_OPT_STR,
        .offset = TOFF(queue),
        .desc = "Main queue bound to the exchange; consumers read it. Required with declare.",
    },
    {
        .name = "binding_key",
        .type = LF_OPT_STR,
        .def = "#",
        .offset = TOFF(binding_key),
        .desc = "Binding key of the main queue on the exchange.",
    },
    {
        .name = "retry_delays",
        .type = LF_OPT_LIST,
        .item_type = LF_OPT_DURATION,
        .min = 0,
        .max = 32,
        .offset = TOFF(retry_delays),
        .desc = "Delay before each redelivery of a rejected message, e.g. [1s, 10s, 60s].",
    },
    {
        .name = "failed_queue",
        .type = LF_OPT_STR,
        .offset = TOFF(failed_queue),
        .desc = "Queue for messages rejected after the last delay (default QUEUE.failed). "
                "logferry's own dead letters (records the broker refused or that ran out of "
                "retry.attempts) are published to it too, with logferry-dlt-* headers.",
    },
    {.name = NULL},
};

static const struct lf_opt rmq_options[] = {
    {
        .name = "url",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = OFF(url),
        .desc = "Broker URL amqp[s]://user:password@host:port/vhost (vhost / is %2f).",
    },
    {
        .name = "urls",
        .type = LF_OPT_LIST,
        .flags = LF_OPT_SECRET | LF_OPT_SCALAR_OR_LIST,
        .max = 64,
        .offset = OFF(urls),
        .desc = "Several broker URLs, tried in order for failover. Use url or urls.",
    },
    {
        .name = "exchange",
        .type = LF_OPT_STR,
        .flags = LF_OPT_REQUIRED,
        .offset = OFF(exchange),
        .desc = "Exchange to publish to (\"\" is the default exchange).",
    },
    {
        .name = "exchange_type",
        .type = LF_OPT_ENUM,
        .def = "topic",
        .choices = rmq_exchange_types,
        .offset = OFF(exchange_type),
        .desc = "Type used when declaring the exchange.",
    },
    {
        .name = "exchange_durable",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = OFF(exchange_durable),
        .desc = "Declare the exchange durable.",
    },
    {
        .name = "exchange_declare",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = OFF(exchange_declare),
        .desc = "Declare the exchange; false only checks that it exists (passive).",
    },
    {
        .name = "routing_key",
        .type = LF_OPT_STR,
        .def = "{{type}}",
        .offset = OFF(routing_key),
        .desc = "Routing key template, e.g. '{{type}}.{{service.name}}'.",
    },
    {
        .name = "persistent",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = OFF(persistent),
        .desc = "Publish with delivery_mode 2 (persistent).",
    },
    {
        .name = "mandatory",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = OFF(mandatory),
        .desc = "Publish mandatory: an unroutable message is returned and dead-lettered.",
    },
    {
        .name = "headers",
        .type = LF_OPT_MAP,
        .offset = OFF(headers),
        .desc = "Message headers; values are templates ('{{service.name}}').",
    },
    {
        .name = "heartbeat",
        .type = LF_OPT_DURATION,
        .def = "30s",
        .min = 0,
        .max = 65535000,
        .offset = OFF(heartbeat_ms),
        .desc = "AMQP heartbeat interval asked of the broker (whole seconds; 0 = off).",
    },
    {
        .name = "frame_max",
        .type = LF_OPT_SIZE,
        .def = "128KiB",
        .min = 4096,
        .max = 2147483647,
        .offset = OFF(frame_max),
        .desc = "Largest AMQP frame asked of the broker.",
    },
    {
        .name = "connection_name",
        .type = LF_OPT_STR,
        .offset = OFF(connection_name),
        .desc = "Name shown in the management UI (default logferry/AGENT/OUTPUT).",
    },
    {
        .name = "ca_file",
        .type = LF_OPT_STR,
        .offset = OFF(ca_file),
        .desc = "amqps: CA bundle to verify the broker with (PEM).",
    },
    {
        .name = "cert_file",
        .type = LF_OPT_STR,
        .offset = OFF(cert_file),
        .desc = "amqps: client certificate (PEM), with key_file.",
    },
    {
        .name = "key_file",
        .type = LF_OPT_STR,
        .offset = OFF(key_file),
        .desc = "amqps: client private key (PEM), with cert_file.",
    },
    {
        .name = "verify_peer",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = OFF(verify_peer),
        .desc = "amqps: verify the broker certificate chain.",
    },
    {
        .name = "verify_hostname",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = OFF(verify_hostname),
        .desc = "amqps: verify that the certificate names the host of the URL.",
    },
    {
        .name = "connect_timeout",
        .type = LF_OPT_DURATION,
        .def = "5s",
        .min = 100,
        .max = 300000,
        .offset = OFF(connect_timeout_ms),
        .desc = "Limit for TCP connect, TLS, login and each setup call.",
    },
    {
        .name = "max_in_flight",
        .type = LF_OPT_INT,
        .def = "2048",
        .min = 1,
        .max = 1000000,
        .offset = OFF(max_in_flight),
        .desc = "Records accepted but not yet confirmed; beyond it submit() pushes back.",
    },
    {
        .name = "reconnect_backoff",
        .type = LF_OPT_DURATION,
        .def = "500ms",
        .min = 10,
        .max = 3600000,
        .offset = OFF(reconnect_backoff_ms),
        .desc = "First wait after all URLs failed; doubles per round, with jitter.",
    },
    {
        .name = "reconnect_max_backoff",
        .type = LF_OPT_DURATION,
        .def = "30s",
        .min = 10,
        .max = 3600000,
        .offset = OFF(reconnect_max_backoff_ms),
        .desc = "Cap of the reconnect wait.",
    },
    {
        .name = "topology",
        .type = LF_OPT_SECTION,
        .sub = rmq_topology_options,
        .offset = OFF(topology),
        .desc = "Retry topology for consumers: main queue, per-delay retry queues, failed queue.",
    },
    {.name = NULL},
};

static bool rmq_is_tls(const struct rmq_config *cfg)
{
    struct rmq_endpoint *eps = NULL;
    size_t n = 0;
    char err[16];
    bool tls = false;

    if (rmq_endpoints_parse(cfg, &eps, &n, err, sizeof(err)) == LF_OK) {
        for (size_t i = 0; i < n; i++) {
            tls = tls || eps[i].info.ssl;
        }
    }
    rmq_endpoints_free(eps, n);
    return tls;
}

/* librabbitmq matches a certificate's DNS names only: an IP address as the host of an
 * amqps URL always fails hostname verification. Says so before the first connect. */
static void rmq_warn_ip_hosts(struct lf_out_instance *ins, const struct rmq_config *cfg,
                              const struct rmq_endpoint *eps, size_t n)
{
    unsigned char addr[16];

    for (size_t i = 0; cfg->verify_hostname && i < n; i++) {
        const char *host = eps[i].info.host;
        if (eps[i].info.ssl &&
            (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)) {
            lf_out_log(ins, LF_LOG_WARN,
                       "%s: an IP address cannot pass hostname verification (librabbitmq "
                       "checks DNS names only): use the host name in the broker's certificate",
                       eps[i].display);
        }
    }
}

static int rmq_check_template(struct lf_out_instance *ins, const char *what, const char *src)
{
    struct lf_template *t = NULL;
    char err[256] = "";

    if (lf_template_compile(src, &t, err, sizeof(err)) != LF_OK) {
        lf_out_log(ins, LF_LOG_ERROR, "%s: bad template: %s", what, err);
        return LF_ECONFIG;
    }
    lf_template_destroy(t);
    return LF_OK;
}

/* Cross-field rules the option table cannot express. No I/O. */
static int rmq_validate(struct lf_out_instance *ins, const void *config)
{
    const struct rmq_config *cfg = config;
    const struct rmq_topology *tp = &cfg->topology;
    struct rmq_endpoint *eps = NULL;
    size_t n = 0;
    char err[256];
    int rc = LF_OK;

    if (rmq_endpoints_parse(cfg, &eps, &n, err, sizeof(err)) != LF_OK) {
        lf_out_log(ins, LF_LOG_ERROR, "%s", err);
        rc = LF_ECONFIG;
    }
    rmq_warn_ip_hosts(ins, cfg, eps, n);
    rmq_endpoints_free(eps, n);
    if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
        lf_out_log(ins, LF_LOG_ERROR, "cert_file and key_file go together");
        rc = LF_ECONFIG;
    }
    if (rc == LF_OK && !rmq_is_tls(cfg) && (cfg->ca_file || cfg->cert_file)) {
        lf_out_log(ins, LF_LOG_WARN, "ca_file/cert_file are ignored: no amqps:// URL");
    }
    if (rc == LF_OK && rmq_is_tls(cfg) && (!cfg->verify_peer || !cfg->verify_hostname)) {
        lf_out_log(ins, LF_LOG_WARN,
                   "%s: false: the broker's certificate is not fully verified, so anyone on "
                   "the network path can impersonate it (give the broker's CA in ca_file)",
                   cfg->verify_peer ? "verify_hostname" : "verify_peer");
    }
    if (cfg->routing_key && rmq_check_template(ins, "routing_key", cfg->routing_key) != LF_OK) {
        rc = LF_ECONFIG;
    }
    for (size_t i = 0; i < cfg->headers.n; i++) {
        if (rmq_check_template(ins, "headers", cfg->headers.v[i].value) != LF_OK) {
            rc = LF_ECONFIG;
        }
    }
    if (cfg->heartbeat_ms % 1000 != 0) {
        lf_out_log(ins, LF_LOG_ERROR, "heartbeat: AMQP heartbeats are whole seconds");
        rc = LF_ECONFIG;
    }
    if (cfg->reconnect_max_backoff_ms < cfg->reconnect_backoff_ms) {
        lf_out_log(ins, LF_LOG_ERROR, "reconnect_max_backoff is below reconnect_backoff");
        rc = LF_ECONFIG;
    }
    if (tp->declare) {
        if (tp->queue == NULL || tp->queue[0] == '\0') {
            lf_out_log(ins, LF_LOG_ERROR, "topology.declare needs topology.queue");
            rc = LF_ECONFIG;
        }
        if (cfg->exchange == NULL || cfg->exchange[0] == '\0') {
            lf_out_log(ins, LF_LOG_ERROR,
                       "topology.declare needs a named exchange (the default one has no "
                       "bindings)");
            rc = LF_ECONFIG;
        }
        for (size_t i = 0; i < tp->retry_delays.n; i++) {
            if (tp->retry_delays.num[i] <= 0) {
                lf_out_log(ins, LF_LOG_ERROR, "topology.retry_delays[%zu] must be above 0", i);
                rc = LF_ECONFIG;
            }
        }
    } else if (tp->queue || tp->retry_delays.n || tp->failed_queue) {
        lf_out_log(ins, LF_LOG_WARN, "topology: ignored without declare: true");
    }
    if (lf_out_dead_letter_suffix(ins)) {
        lf_out_log(ins, LF_LOG_WARN,
                   "dead_letter.topic_suffix is for Kafka and ignored here: dead letters go "
                   "to the topology's failed queue (topology.declare), else to the local "
                   "store");
    }
    return rc;
}

static void rmq_state_free(struct rmq_state *st)
{
    if (st == NULL) {
        return;
    }
    rmq_endpoints_free(st->endpoints, st->n_endpoints);
    lf_template_destroy(st->routing_key);
    for (size_t i = 0; i < st->n_headers; i++) {
        lf_template_destroy(st->headers[i].tpl);
    }
    free(st->headers);
    free(st->pending);
    free(st->unconf);
    free(st->scratch);
    if (st->event_fd >= 0) {
        close(st->event_fd);
    }
    pthread_cond_destroy(&st->changed);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static int rmq_compile_templates(struct rmq_state *st)
{
    const struct rmq_config *cfg = st->cfg;
    char err[256];

    if (lf_template_compile(cfg->routing_key ? cfg->routing_key : "{{type}}", &st->routing_key, err,
                            sizeof(err)) != LF_OK) {
        lf_out_log(st->ins, LF_LOG_ERROR, "routing_key: %s", err);
        return LF_ECONFIG;
    }
    st->headers = calloc(cfg->headers.n ? cfg->headers.n : 1, sizeof(*st->headers));
    if (st->headers == NULL) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < cfg->headers.n; i++) {
        st->headers[i].key = cfg->headers.v[i].key;
        if (lf_template_compile(cfg->headers.v[i].value, &st->headers[i].tpl, err, sizeof(err)) !=
            LF_OK) {
            lf_out_log(st->ins, LF_LOG_ERROR, "headers.%s: %s", st->headers[i].key, err);
            return LF_ECONFIG;
        }
        st->n_headers++;
    }
    return LF_OK;
}

static int rmq_init(struct lf_out_instance *ins, const void *config, void **state)
{
    const struct rmq_config *cfg = config;
    struct rmq_state *st;
    char err[256];
    int rc;

    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return LF_ENOMEM;
    }
    pthread_mutex_init(&st->lock, NULL);
    rc = rmq_cond_init(&st->changed);
    if (rc != 0) {
        pthread_mutex_destroy(&st->lock);
        free(st);
        return LF_ENOMEM;
    }
    st->ins = ins;
    st->cfg = cfg;
    st->sockfd = -1;
    st->max_in_flight = (size_t)cfg->max_in_flight;
    st->backoff_ms = cfg->reconnect_backoff_ms;
    st->rand_seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
    st->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->event_fd < 0) {
        lf_log_errno(LF_LOG_ERROR, lf_out_log_ctx(ins), "eventfd");
        rc = LF_EIO;
        goto out_free;
    }
    rc = rmq_endpoints_parse(cfg, &st->endpoints, &st->n_endpoints, err, sizeof(err));
    if (rc != LF_OK) {
        lf_out_log(ins, LF_LOG_ERROR, "%s", err);
        goto out_free;
    }
    rc = rmq_compile_templates(st);
    if (rc != LF_OK) {
        goto out_free;
    }
    st->pending = calloc(st->max_in_flight, sizeof(*st->pending));
    st->unconf = calloc(st->max_in_flight, sizeof(*st->unconf));
    if (st->pending == NULL || st->unconf == NULL) {
        rc = LF_ENOMEM;
        goto out_free;
    }
    lf_out_set_ready(ins, false);
    if (cfg->topology.declare && cfg->topology.queue) {
        const char *fq = cfg->topology.failed_queue;
        if (fq && fq[0]) {
            snprintf(st->failed_queue, sizeof(st->failed_queue), "%s", fq);
        } else {
            snprintf(st->failed_queue, sizeof(st->failed_queue), "%s.failed", cfg->topology.queue);
        }
        lf_out_set_dead_letter(ins, true); /* dead letters to the failed queue */
    }
    rc = rmq_worker_start(st);
    if (rc != LF_OK) {
        goto out_free;
    }
    *state = st;
    return LF_OK;

out_free:
    rmq_state_free(st);
    return rc;
}

/* Takes a prefix of recs into the pending ring for the connection thread. Accepts
 * nothing while disconnected or blocked by the broker, and at most what keeps
 * pending + unconfirmed within max_in_flight: the core keeps the rest (backpressure). */
static int rmq_submit(void *state, struct lf_record *const *recs, size_t n, size_t *accepted)
{
    struct rmq_state *st = state;
    size_t take = 0;
    uint64_t one = 1;

    pthread_mutex_lock(&st->lock);
    if (st->connected && !st->blocked && st->running && !st->stop) {
        take = st->max_in_flight - st->inflight;
        take = take < n ? take : n;
    }
    for (size_t i = 0; i < take; i++) {
        size_t slot = (st->pending_head + st->pending_len) % st->max_in_flight;
        st->pending[slot] = recs[i];
        st->pending_len++;
    }
    st->inflight += take;
    st->want_wake = take < n;
    pthread_mutex_unlock(&st->lock);
    if (take > 0 && write(st->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        lf_log_errno(LF_LOG_WARN, lf_out_log_ctx(st->ins), "eventfd write");
    }
    *accepted = take;
    return LF_OK;
}

/* Waits for confirms up to timeout_ms, then stops the connection thread and acks
 * LF_RETRY for whatever is still unconfirmed. The thread restarts unless the agent is
 * stopping, so a flush outside shutdown leaves a working output. */
static int rmq_flush(void *state, int timeout_ms)
{
    struct rmq_state *st = state;
    int64_t deadline = rmq_deadline_in(timeout_ms);
    size_t left;

    pthread_mutex_lock(&st->lock);
    while (st->inflight > 0 && st->running && !rmq_deadline_passed(deadline)) {
        int64_t wait_ms = rmq_deadline_left_ms(deadline);
        rmq_cond_wait_ms(&st->changed, &st->lock, wait_ms < 50 ? wait_ms : 50);
    }
    left = st->inflight;
    pthread_mutex_unlock(&st->lock);

    rmq_worker_stop(st, 500);
    if (left > 0) {
        lf_out_log(st->ins, LF_LOG_WARN, "flush: %zu records unconfirmed after %d ms, retrying",
                   left, timeout_ms);
    }
    rmq_retry_all(st, "not confirmed before flush deadline");
    lf_out_log(st->ins, LF_LOG_INFO,
               "published %llu, confirmed %llu, nacked %llu, returned %llu, reconnects %llu",
               (unsigned long long)st->published, (unsigned long long)st->confirmed,
               (unsigned long long)st->nacked, (unsigned long long)st->returned,
               (unsigned long long)st->reconnects);
    if (!lf_out_is_stopping(st->ins)) {
        return rmq_worker_start(st);
    }
    return left > 0 ? LF_EAGAIN : LF_OK;
}

static void rmq_destroy(void *state)
{
    struct rmq_state *st = state;

    if (st == NULL) {
        return;
    }
    rmq_worker_stop(st, 500);
    rmq_retry_all(st, "output destroyed before confirm");
    rmq_state_free(st);
}

static const struct lf_output_plugin rmq_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "rabbitmq",
    .description = "RabbitMQ (AMQP 0-9-1) with publisher confirms, mandatory publishing and "
                   "a retry topology",
    .options = rmq_options,
    .config_size = sizeof(struct rmq_config),
    .validate = rmq_validate,
    .init = rmq_init,
    .submit = rmq_submit,
    .dead_letter = rmq_submit, /* rmq_publish tells dead letters apart */
    .service = NULL,
    .flush = rmq_flush,
    .destroy = rmq_destroy,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void);

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &rmq_plugin;
}
