/* rabbitmq_conn.c - opens and sets up one AMQP connection for the connection thread.
 *
 * URL parsing (with passwords kept out of every message), TCP or TLS socket, login with
 * client properties (connection_name, connection.blocked capability), channel 1 in
 * confirm mode, the exchange and the optional retry topology. Every step is bounded by
 * connect_timeout. It does not publish or read confirms: rabbitmq_worker.c does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "rabbitmq.h"

/* The option table (rabbitmq.c) lists them as choices; the connection declares them. */
const char *const rmq_exchange_types[] = {"direct", "fanout", "topic", "headers", NULL};

#define RMQ_CLOSE_TIMEOUT_MS 1000 /* a polite close waits no longer for the broker */

static char *rmq_display_url(const struct amqp_connection_info *ci)
{
    /* vhost "/" is written %2f as in the URL; other vhosts as they are. */
    const char *vhost = strcmp(ci->vhost, "/") == 0 ? "%2f" : ci->vhost;
    int len = snprintf(NULL, 0, "%s://%s@%s:%d/%s", ci->ssl ? "amqps" : "amqp", ci->user, ci->host,
                       ci->port, vhost);
    char *s = malloc((size_t)len + 1);

    if (s != NULL) {
        snprintf(s, (size_t)len + 1, "%s://%s@%s:%d/%s", ci->ssl ? "amqps" : "amqp", ci->user,
                 ci->host, ci->port, vhost);
    }
    return s;
}

void rmq_endpoints_free(struct rmq_endpoint *eps, size_t n)
{
    if (eps == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(eps[i].buf);
        free(eps[i].display);
    }
    free(eps);
}

/* Parses url or urls into endpoints. Error messages name the URL by position only:
 * a URL that does not parse cannot be redacted safely. */
int rmq_endpoints_parse(const struct rmq_config *cfg, struct rmq_endpoint **out, size_t *n,
                        char *err, size_t errlen)
{
    size_t count = cfg->urls.n + (cfg->url ? 1 : 0);
    struct rmq_endpoint *eps;

    *out = NULL;
    *n = 0;
    if (cfg->url && cfg->urls.n) {
        snprintf(err, errlen, "use either url or urls, not both");
        return LF_ECONFIG;
    }
    if (count == 0) {
        snprintf(err, errlen, "url (or urls) is required");
        return LF_ECONFIG;
    }
    eps = calloc(count, sizeof(*eps));
    if (eps == NULL) {
        snprintf(err, errlen, "out of memory");
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const char *src = cfg->url ? cfg->url : cfg->urls.str[i];

        eps[i].buf = strdup(src);
        if (eps[i].buf == NULL) {
            snprintf(err, errlen, "out of memory");
            rmq_endpoints_free(eps, i + 1);
            return LF_ENOMEM;
        }
        amqp_default_connection_info(&eps[i].info);
        if (strncmp(src, "amqp://", 7) != 0 && strncmp(src, "amqps://", 8) != 0) {
            snprintf(err, errlen, "url #%zu: must start with amqp:// or amqps://", i + 1);
            rmq_endpoints_free(eps, i + 1);
            return LF_ECONFIG;
        }
        if (amqp_parse_url(eps[i].buf, &eps[i].info) != AMQP_STATUS_OK) {
            snprintf(err, errlen,
                     "url #%zu: not a valid AMQP URL (amqp[s]://user:pass@host:port/vhost, "
                     "percent-encode / in the vhost as %%2f)",
                     i + 1);
            rmq_endpoints_free(eps, i + 1);
            return LF_ECONFIG;
        }
        eps[i].display = rmq_display_url(&eps[i].info);
        if (eps[i].display == NULL) {
            snprintf(err, errlen, "out of memory");
            rmq_endpoints_free(eps, i + 1);
            return LF_ENOMEM;
        }
    }
    *out = eps;
    *n = count;
    return LF_OK;
}

void rmq_reply_str(amqp_rpc_reply_t r, char *buf, size_t cap)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buf, cap, "ok");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(buf, cap, "missing RPC reply");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buf, cap, "%s", amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *c = r.reply.decoded;
            snprintf(buf, cap, "connection closed by broker: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *c = r.reply.decoded;
            snprintf(buf, cap, "channel closed by broker: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else {
            snprintf(buf, cap, "unexpected broker method 0x%08" PRIx32, r.reply.id);
        }
        break;
    default:
        snprintf(buf, cap, "unknown reply type %d", (int)r.reply_type);
        break;
    }
}

static int rmq_socket_open(struct rmq_state *st, const struct rmq_endpoint *ep)
{
    const struct rmq_config *cfg = st->cfg;
    struct timeval tv = rmq_timeval_ms(cfg->connect_timeout_ms);
    amqp_socket_t *sock;
    int rc;

    if (ep->info.ssl) {
        sock = amqp_ssl_socket_new(st->conn);
        if (sock == NULL) {
            lf_out_log(st->ins, LF_LOG_ERROR, "%s: cannot create TLS socket", ep->display);
            return LF_EBROKER;
        }
        amqp_ssl_socket_set_verify_peer(sock, cfg->verify_peer);
        amqp_ssl_socket_set_verify_hostname(sock, cfg->verify_hostname);
        if (cfg->ca_file && amqp_ssl_socket_set_cacert(sock, cfg->ca_file) != AMQP_STATUS_OK) {
            lf_out_log(st->ins, LF_LOG_ERROR, "ca_file %s: cannot load", cfg->ca_file);
            return LF_ECONFIG;
        }
        if (cfg->cert_file &&
            amqp_ssl_socket_set_key(sock, cfg->cert_file, cfg->key_file) != AMQP_STATUS_OK) {
            lf_out_log(st->ins, LF_LOG_ERROR, "cert_file %s / key_file %s: cannot load",
                       cfg->cert_file, cfg->key_file);
            return LF_ECONFIG;
        }
    } else {
        sock = amqp_tcp_socket_new(st->conn);
        if (sock == NULL) {
            lf_out_log(st->ins, LF_LOG_ERROR, "%s: cannot create socket", ep->display);
            return LF_EBROKER;
        }
    }
    rc = amqp_socket_open_noblock(sock, ep->info.host, ep->info.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        lf_out_log(st->ins, LF_LOG_ERROR, "%s: connect failed: %s", ep->display,
                   amqp_error_string2(rc));
        return LF_EBROKER;
    }
    return LF_OK;
}

static int rmq_login(struct rmq_state *st, const struct rmq_endpoint *ep)
{
    const struct rmq_config *cfg = st->cfg;
    char name[256];
    char why[512];
    amqp_table_entry_t caps[2];
    amqp_table_entry_t props[2];
    amqp_table_t props_table;
    amqp_rpc_reply_t r;

    if (cfg->connection_name) {
        snprintf(name, sizeof(name), "%s", cfg->connection_name);
    } else {
        snprintf(name, sizeof(name), "logferry/%s/%s", lf_out_agent_name(st->ins),
                 lf_out_name(st->ins));
    }
    caps[0].key = amqp_cstring_bytes("connection.blocked");
    caps[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    caps[0].value.value.boolean = 1;
    caps[1].key = amqp_cstring_bytes("authentication_failure_close");
    caps[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    caps[1].value.value.boolean = 1;
    props[0].key = amqp_cstring_bytes("connection_name");
    props[0].value.kind = AMQP_FIELD_KIND_UTF8;
    props[0].value.value.bytes = amqp_cstring_bytes(name);
    props[1].key = amqp_cstring_bytes("capabilities");
    props[1].value.kind = AMQP_FIELD_KIND_TABLE;
    props[1].value.value.table.num_entries = 2;
    props[1].value.value.table.entries = caps;
    props_table.num_entries = 2;
    props_table.entries = props;

    r = amqp_login_with_properties(st->conn, ep->info.vhost, 1, (int)cfg->frame_max,
                                   (int)(cfg->heartbeat_ms / 1000), &props_table,
                                   AMQP_SASL_METHOD_PLAIN, ep->info.user, ep->info.password);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        return LF_OK;
    }
    rmq_reply_str(r, why, sizeof(why));
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CONNECTION_CLOSE_METHOD &&
        ((amqp_connection_close_t *)r.reply.decoded)->reply_code == AMQP_ACCESS_REFUSED) {
        lf_out_log(st->ins, LF_LOG_ERROR,
                   "%s: login refused (wrong user or password, or no access to the vhost): %s",
                   ep->display, why);
        return LF_ECONFIG;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
        lf_out_log(st->ins, LF_LOG_ERROR,
                   "%s: broker closed the connection during login (wrong credentials?)",
                   ep->display);
        return LF_ECONFIG;
    }
    lf_out_log(st->ins, LF_LOG_ERROR, "%s: login failed: %s", ep->display, why);
    return LF_EBROKER;
}

/* Checks the reply of the last synchronous call; logs what failed. */
static int rmq_check_rpc(struct rmq_state *st, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(st->conn);
    char why[512];

    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        return LF_OK;
    }
    rmq_reply_str(r, why, sizeof(why));
    lf_out_log(st->ins, LF_LOG_ERROR, "%s: %s", what, why);
    return LF_EBROKER;
}

static void rmq_arg_str(amqp_table_entry_t *e, const char *key, const char *value)
{
    e->key = amqp_cstring_bytes(key);
    e->value.kind = AMQP_FIELD_KIND_UTF8;
    e->value.value.bytes = amqp_cstring_bytes(value);
}

static void rmq_arg_i64(amqp_table_entry_t *e, const char *key, int64_t value)
{
    e->key = amqp_cstring_bytes(key);
    e->value.kind = AMQP_FIELD_KIND_I64;
    e->value.value.i64 = value;
}

static int rmq_declare_exchange(struct rmq_state *st, const char *name, const char *type,
                                const char *alternate)
{
    amqp_table_entry_t args[1];
    amqp_table_t table = {.num_entries = 0, .entries = args};
    char what[320];

    if (alternate) {
        rmq_arg_str(&args[0], "alternate-exchange", alternate);
        table.num_entries = 1;
    }
    amqp_exchange_declare(st->conn, RMQ_CHANNEL, amqp_cstring_bytes(name), amqp_cstring_bytes(type),
                          0, 1, 0, 0, table);
    snprintf(what, sizeof(what), "declare exchange '%s'", name);
    return rmq_check_rpc(st, what);
}

static int rmq_declare_queue(struct rmq_state *st, const char *name, amqp_table_t args)
{
    char what[320];

    amqp_queue_declare(st->conn, RMQ_CHANNEL, amqp_cstring_bytes(name), 0, 1, 0, 0, args);
    snprintf(what, sizeof(what), "declare queue '%s'", name);
    return rmq_check_rpc(st, what);
}

static int rmq_bind(struct rmq_state *st, const char *queue, const char *exchange, const char *key)
{
    char what[512];

    amqp_queue_bind(st->conn, RMQ_CHANNEL, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(key), amqp_empty_table);
    snprintf(what, sizeof(what), "bind queue '%s' to '%s' with '%s'", queue, exchange, key);
    return rmq_check_rpc(st, what);
}

/* The retry topology, for queue Q on exchange E with delays d1..dN (docs/rabbitmq.md):
 *   Q            bound to E (binding_key); rejected messages -> exchange Q.retry
 *   Q.retry      direct, alternate-exchange Q.retry.first: the first rejection (any key)
 *                goes to Q.retry.first -> Q.retry.1; key Q.after.i -> Q.retry.(i+1);
 *                key Q.after.N -> the failed queue
 *   Q.retry.i    x-message-ttl di, dead-letters to Q.return with key Q.after.i
 *   Q.return     direct; Q bound with every Q.after.i
 * A message that expired from Q.retry.i carries routing key Q.after.i, so its next
 * rejection picks the next delay. Consumers only reject (requeue=false). */
static int rmq_declare_topology(struct rmq_state *st)
{
    const struct rmq_topology *tp = &st->cfg->topology;
    const char *q = tp->queue;
    size_t n = tp->retry_delays.n;
    char retry_x[300], first_x[300], return_x[300], failed[300], name[300], key[300];
    char next_name[300];
    amqp_table_entry_t args[3];
    amqp_table_t table = {.num_entries = 0, .entries = args};
    int rc;

    snprintf(retry_x, sizeof(retry_x), "%s.retry", q);
    snprintf(first_x, sizeof(first_x), "%s.retry.first", q);
    snprintf(return_x, sizeof(return_x), "%s.return", q);
    snprintf(failed, sizeof(failed), "%s", tp->failed_queue ? tp->failed_queue : "");
    if (failed[0] == '\0') {
        snprintf(failed, sizeof(failed), "%s.failed", q);
    }
    rc = rmq_declare_exchange(st, retry_x, "direct", first_x);
    rc = rc ? rc : rmq_declare_exchange(st, first_x, "fanout", NULL);
    rc = rc ? rc : rmq_declare_exchange(st, return_x, "direct", NULL);
    rc = rc ? rc : rmq_declare_queue(st, failed, amqp_empty_table);
    if (rc != LF_OK) {
        return rc;
    }
    rmq_arg_str(&args[0], "x-dead-letter-exchange", retry_x);
    table.num_entries = 1;
    rc = rmq_declare_queue(st, q, table);
    rc = rc ? rc : rmq_bind(st, q, st->cfg->exchange, tp->binding_key ? tp->binding_key : "#");
    if (rc != LF_OK) {
        return rc;
    }
    /* The first rejection: to the first delay, or straight to failed without delays. */
    if (n > 0) {
        snprintf(next_name, sizeof(next_name), "%s.retry.1", q);
    } else {
        snprintf(next_name, sizeof(next_name), "%s", failed);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s.retry.%zu", q, i + 1);
        snprintf(key, sizeof(key), "%s.after.%zu", q, i + 1);
        rmq_arg_i64(&args[0], "x-message-ttl", tp->retry_delays.num[i]);
        rmq_arg_str(&args[1], "x-dead-letter-exchange", return_x);
        rmq_arg_str(&args[2], "x-dead-letter-routing-key", key);
        table.num_entries = 3;
        rc = rmq_declare_queue(st, name, table);
        rc = rc ? rc : rmq_bind(st, q, return_x, key);
        if (rc != LF_OK) {
            return rc;
        }
    }
    rc = rmq_bind(st, next_name, first_x, "");
    for (size_t i = 0; rc == LF_OK && i < n; i++) {
        snprintf(key, sizeof(key), "%s.after.%zu", q, i + 1);
        if (i + 1 < n) {
            snprintf(name, sizeof(name), "%s.retry.%zu", q, i + 2);
        } else {
            snprintf(name, sizeof(name), "%s", failed);
        }
        rc = rmq_bind(st, name, retry_x, key);
    }
    return rc;
}

static int rmq_setup_channel(struct rmq_state *st)
{
    const struct rmq_config *cfg = st->cfg;
    char what[320];
    int rc;

    amqp_channel_open(st->conn, RMQ_CHANNEL);
    rc = rmq_check_rpc(st, "open channel");
    if (rc != LF_OK) {
        return rc;
    }
    amqp_confirm_select(st->conn, RMQ_CHANNEL);
    rc = rmq_check_rpc(st, "enable publisher confirms");
    if (rc != LF_OK) {
        return rc;
    }
    if (cfg->exchange[0] != '\0') {
        amqp_exchange_declare(st->conn, RMQ_CHANNEL, amqp_cstring_bytes(cfg->exchange),
                              amqp_cstring_bytes(rmq_exchange_types[cfg->exchange_type]),
                              !cfg->exchange_declare, cfg->exchange_durable, 0, 0,
                              amqp_empty_table);
        snprintf(what, sizeof(what), "%s exchange '%s'",
                 cfg->exchange_declare ? "declare" : "check (passive)", cfg->exchange);
        rc = rmq_check_rpc(st, what);
        if (rc != LF_OK) {
            return rc;
        }
    }
    if (cfg->topology.declare) {
        rc = rmq_declare_topology(st);
    }
    return rc;
}

int rmq_connect(struct rmq_state *st, const struct rmq_endpoint *ep)
{
    struct timeval tv = rmq_timeval_ms(st->cfg->connect_timeout_ms);
    int rc;

    st->conn = amqp_new_connection();
    if (st->conn == NULL) {
        return LF_ENOMEM;
    }
    amqp_set_handshake_timeout(st->conn, &tv);
    amqp_set_rpc_timeout(st->conn, &tv);
    rc = rmq_socket_open(st, ep);
    rc = rc ? rc : rmq_login(st, ep);
    rc = rc ? rc : rmq_setup_channel(st);
    if (rc != LF_OK) {
        rmq_disconnect(st, false);
        return rc;
    }
    lf_out_log(st->ins, LF_LOG_INFO, "connected to %s, exchange '%s', confirms on", ep->display,
               st->cfg->exchange);
    return LF_OK;
}

void rmq_disconnect(struct rmq_state *st, bool polite)
{
    struct timeval tv = rmq_timeval_ms(RMQ_CLOSE_TIMEOUT_MS);

    if (st->conn == NULL) {
        return;
    }
    if (polite) {
        amqp_set_rpc_timeout(st->conn, &tv);
        amqp_channel_close(st->conn, RMQ_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(st->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(st->conn);
    st->conn = NULL;
}
