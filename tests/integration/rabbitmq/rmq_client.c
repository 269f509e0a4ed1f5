/* rmq_client.c - test-side librabbitmq helpers (see rmq_client.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <amqp_tcp_socket.h>

#include "rmq_client.h"

#define CH 1

int64_t rmq_client_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rpc_ok(struct rmq_client *c, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c->conn);

    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        return 0;
    }
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = r.reply.decoded;
        snprintf(c->err, sizeof(c->err), "%s: %u %.*s", what, m->reply_code, (int)m->reply_text.len,
                 (char *)m->reply_text.bytes);
    } else {
        snprintf(c->err, sizeof(c->err), "%s: failed (%d/%s)", what, (int)r.reply_type,
                 amqp_error_string2(r.library_error));
    }
    return -1;
}

int rmq_client_open(struct rmq_client *c, const char *url)
{
    struct amqp_connection_info ci;
    char *buf = strdup(url);
    struct timeval tv = {5, 0};
    amqp_socket_t *s;
    amqp_rpc_reply_t r;

    memset(c, 0, sizeof(*c));
    if (buf == NULL || amqp_parse_url(buf, &ci) != AMQP_STATUS_OK) {
        snprintf(c->err, sizeof(c->err), "bad url");
        free(buf);
        return -1;
    }
    c->conn = amqp_new_connection();
    s = amqp_tcp_socket_new(c->conn);
    if (amqp_socket_open_noblock(s, ci.host, ci.port, &tv) != AMQP_STATUS_OK) {
        snprintf(c->err, sizeof(c->err), "connect %s:%d failed", ci.host, ci.port);
        goto out_fail;
    }
    amqp_set_rpc_timeout(c->conn, &tv);
    r = amqp_login(c->conn, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(c->err, sizeof(c->err), "login failed");
        goto out_fail;
    }
    amqp_channel_open(c->conn, CH);
    if (rpc_ok(c, "channel.open") != 0) {
        goto out_fail;
    }
    free(buf);
    return 0;

out_fail:
    amqp_destroy_connection(c->conn);
    c->conn = NULL;
    free(buf);
    return -1;
}

void rmq_client_close(struct rmq_client *c)
{
    if (c->conn == NULL) {
        return;
    }
    amqp_channel_close(c->conn, CH, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c->conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c->conn);
    c->conn = NULL;
}

int rmq_client_declare(struct rmq_client *c, const char *queue, const char *exchange,
                       const char *key)
{
    if (exchange && exchange[0]) {
        amqp_exchange_declare(c->conn, CH, amqp_cstring_bytes(exchange),
                              amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
        if (rpc_ok(c, "exchange.declare") != 0) {
            return -1;
        }
    }
    amqp_queue_declare(c->conn, CH, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
    if (rpc_ok(c, "queue.declare") != 0) {
        return -1;
    }
    if (exchange && exchange[0]) {
        amqp_queue_bind(c->conn, CH, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                        amqp_cstring_bytes(key), amqp_empty_table);
        return rpc_ok(c, "queue.bind");
    }
    return 0;
}

long rmq_client_depth(struct rmq_client *c, const char *queue)
{
    amqp_queue_declare_ok_t *ok;

    ok = amqp_queue_declare(c->conn, CH, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    if (rpc_ok(c, "queue.declare passive") != 0 || ok == NULL) {
        return -1;
    }
    return (long)ok->message_count;
}

int rmq_client_delete_queue(struct rmq_client *c, const char *queue)
{
    amqp_queue_delete(c->conn, CH, amqp_cstring_bytes(queue), 0, 0);
    return rpc_ok(c, "queue.delete");
}

static char *dup_bytes(amqp_bytes_t b)
{
    char *s = malloc(b.len + 1);

    if (s != NULL) {
        memcpy(s, b.bytes, b.len);
        s[b.len] = '\0';
    }
    return s;
}

static long death_count(const amqp_basic_properties_t *p)
{
    long total = 0;

    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG)) {
        return 0;
    }
    for (int i = 0; i < p->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &p->headers.entries[i];
        if (e->key.len != 7 || memcmp(e->key.bytes, "x-death", 7) != 0 ||
            e->value.kind != AMQP_FIELD_KIND_ARRAY) {
            continue;
        }
        for (int j = 0; j < e->value.value.array.num_entries; j++) {
            const amqp_field_value_t *v = &e->value.value.array.entries[j];
            if (v->kind != AMQP_FIELD_KIND_TABLE) {
                continue;
            }
            for (int k = 0; k < v->value.table.num_entries; k++) {
                const amqp_table_entry_t *f = &v->value.table.entries[k];
                if (f->key.len == 5 && memcmp(f->key.bytes, "count", 5) == 0) {
                    total += f->value.kind == AMQP_FIELD_KIND_I64 ? (long)f->value.value.i64
                                                                  : (long)f->value.value.i32;
                }
            }
        }
    }
    return total;
}

static int start_consume(struct rmq_client *c, const char *queue, bool no_ack, uint16_t prefetch)
{
    amqp_basic_qos(c->conn, CH, 0, prefetch, 0);
    if (rpc_ok(c, "basic.qos") != 0) {
        return -1;
    }
    amqp_basic_consume(c->conn, CH, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, no_ack, 0,
                       amqp_empty_table);
    return rpc_ok(c, "basic.consume");
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int rmq_client_drain(struct rmq_client *c, const char *queue, size_t expect, int idle_ms,
                     int timeout_ms, struct rmq_stats *st, bool print)
{
    int64_t end = rmq_client_now_ms() + timeout_ms;
    size_t cap = expect ? expect * 2 : 1024, n = 0;
    char **ids = calloc(cap, sizeof(*ids));

    memset(st, 0, sizeof(*st));
    if (ids == NULL || start_consume(c, queue, false, 1000) != 0) {
        free(ids);
        return -1;
    }
    while (rmq_client_now_ms() < end) {
        amqp_envelope_t env;
        struct timeval tv = {idle_ms / 1000, (idle_ms % 1000) * 1000};
        amqp_rpc_reply_t r;

        amqp_maybe_release_buffers(c->conn);
        r = amqp_consume_message(c->conn, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT) {
            break; /* idle: nothing more is coming */
        }
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            snprintf(c->err, sizeof(c->err), "consume failed");
            break;
        }
        const amqp_basic_properties_t *p = &env.message.properties;
        st->received++;
        if (!(p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG) || p->delivery_mode != 2) {
            st->not_persistent++;
        }
        if (!(p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) ||
            p->content_type.len != strlen("application/json") ||
            memcmp(p->content_type.bytes, "application/json", p->content_type.len) != 0) {
            st->bad_content_type++;
        }
        if (!(p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) || p->message_id.len == 0) {
            st->no_message_id++;
        } else {
            if (n == cap) {
                cap *= 2;
                ids = realloc(ids, cap * sizeof(*ids));
            }
            ids[n++] = dup_bytes(p->message_id);
        }
        if (print) {
            printf("%.*s\t%.*s\t%d\t%.*s\t%ld\n", (int)p->message_id.len,
                   (char *)p->message_id.bytes, (int)env.routing_key.len,
                   (char *)env.routing_key.bytes, p->delivery_mode, (int)p->content_type.len,
                   (char *)p->content_type.bytes, death_count(p));
        }
        amqp_basic_ack(c->conn, CH, env.delivery_tag, 0);
        amqp_destroy_envelope(&env);
    }
    qsort(ids, n, sizeof(*ids), cmp_id);
    st->unique = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        st->unique += strcmp(ids[i], ids[i - 1]) != 0;
    }
    st->duplicates = n - st->unique;
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
    }
    free(ids);
    return 0;
}

int rmq_client_get_one(struct rmq_client *c, const char *queue, int timeout_ms, bool reject,
                       struct rmq_msg *out, char *id_buf, size_t id_cap)
{
    amqp_envelope_t env;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    amqp_rpc_reply_t r;
    static int consuming_tag;
    char tag[32];

    /* A fresh consumer per call keeps the prefetch at one message. */
    snprintf(tag, sizeof(tag), "get-%d", ++consuming_tag);
    amqp_basic_qos(c->conn, CH, 0, 1, 0);
    amqp_basic_consume(c->conn, CH, amqp_cstring_bytes(queue), amqp_cstring_bytes(tag), 0, 0, 0,
                       amqp_empty_table);
    if (rpc_ok(c, "basic.consume") != 0) {
        return -1;
    }
    r = amqp_consume_message(c->conn, &env, &tv, 0);
    amqp_basic_cancel(c->conn, CH, amqp_cstring_bytes(tag));
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(c->err, sizeof(c->err), "no message in %s within %d ms", queue, timeout_ms);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->recv_ms = rmq_client_now_ms();
    out->death_count = death_count(&env.message.properties);
    snprintf(id_buf, id_cap, "%.*s", (int)env.message.properties.message_id.len,
             (char *)env.message.properties.message_id.bytes);
    out->message_id = id_buf;
    if (reject) {
        amqp_basic_reject(c->conn, CH, env.delivery_tag, 0);
    } else {
        amqp_basic_ack(c->conn, CH, env.delivery_tag, 0);
    }
    amqp_destroy_envelope(&env);
    return 0;
}
