/* rabbitmq_worker.c - the connection thread: the only user of the amqp connection.
 *
 * It (re)connects with backoff and jitter across the URLs, moves records from the
 * pending ring (filled by submit()) to the broker with basic.publish, reads confirms,
 * returns and connection.blocked, and acks each record exactly once: basic.ack ->
 * LF_DELIVERED (LF_REJECTED when the broker returned it as unroutable), basic.nack ->
 * LF_RETRY, connection or channel lost -> LF_RETRY for everything in flight. It never
 * retries a record itself: the core does. Idle, it sleeps on the socket and its event fd
 * with no timeout but the heartbeats' (none with heartbeat 0) or the next reconnect.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rabbitmq.h"

#define RMQ_PUBLISH_BATCH 256
#define RMQ_NEVER         INT64_MAX

/* Returns the number of inflight records released and wakes the core when it had been
 * pushed back; also wakes flush() waiting for inflight to drain. */
static void rmq_release(struct rmq_state *st, size_t n)
{
    bool wake;

    if (n == 0) {
        return;
    }
    pthread_mutex_lock(&st->lock);
    st->inflight -= n;
    wake = st->want_wake;
    st->want_wake = false;
    pthread_cond_broadcast(&st->changed);
    pthread_mutex_unlock(&st->lock);
    if (wake) {
        lf_out_wake(st->ins);
    }
}

static void rmq_set_link(struct rmq_state *st, bool connected, bool blocked)
{
    bool wake;

    pthread_mutex_lock(&st->lock);
    wake = (connected && !blocked) && !(st->connected && !st->blocked);
    st->connected = connected;
    st->blocked = blocked;
    st->sockfd = connected && st->conn ? amqp_get_sockfd(st->conn) : -1;
    pthread_mutex_unlock(&st->lock);
    if (wake) {
        lf_out_wake(st->ins);
    }
}

static size_t rmq_finish(struct rmq_state *st, struct rmq_pub *p, enum lf_outcome outcome,
                         const char *reason)
{
    if (p->done) {
        return 0;
    }
    if (outcome == LF_DELIVERED && p->return_reason) {
        struct lf_out_error e = {
            .code = p->return_code, .reason = p->return_reason, .destination = p->return_key};
        lf_out_ack_error(st->ins, p->rec, LF_REJECTED, &e);
    } else {
        lf_out_ack(st->ins, p->rec, outcome, reason);
        if (outcome == LF_DELIVERED) {
            st->confirmed++;
        }
    }
    free(p->return_reason);
    free(p->return_key);
    p->return_reason = NULL;
    p->return_key = NULL;
    p->rec = NULL;
    p->done = true;
    return 1;
}

static void rmq_unconf_pop_done(struct rmq_state *st)
{
    while (st->unconf_len > 0 && st->unconf[st->unconf_head].done) {
        st->unconf[st->unconf_head].done = false;
        st->unconf_head = (st->unconf_head + 1) % st->max_in_flight;
        st->unconf_len--;
        st->unconf_first_tag++;
    }
}

/* basic.ack / basic.nack for tag (and all before it when multiple). */
static void rmq_confirm(struct rmq_state *st, uint64_t tag, bool multiple, enum lf_outcome outcome,
                        const char *reason)
{
    size_t released = 0;

    if (tag < st->unconf_first_tag) {
        return; /* already settled */
    }
    if (multiple) {
        for (size_t i = 0; i < st->unconf_len && st->unconf_first_tag + i <= tag; i++) {
            released += rmq_finish(st, &st->unconf[(st->unconf_head + i) % st->max_in_flight],
                                   outcome, reason);
        }
    } else if (tag - st->unconf_first_tag < st->unconf_len) {
        size_t i = (size_t)(tag - st->unconf_first_tag);
        released +=
            rmq_finish(st, &st->unconf[(st->unconf_head + i) % st->max_in_flight], outcome, reason);
    }
    rmq_unconf_pop_done(st);
    rmq_release(st, released);
}

/* Acks LF_RETRY for every unconfirmed record (the connection is gone) and, when
 * with_pending, for the records not yet published. Caller owns the unconf ring. */
static void rmq_retry_inflight(struct rmq_state *st, const char *reason, bool with_pending)
{
    size_t released = 0;
    struct lf_record *rec;

    for (size_t i = 0; i < st->unconf_len; i++) {
        released += rmq_finish(st, &st->unconf[(st->unconf_head + i) % st->max_in_flight], LF_RETRY,
                               reason);
        st->unconf[(st->unconf_head + i) % st->max_in_flight].done = false;
    }
    st->unconf_head = 0;
    st->unconf_len = 0;
    st->unconf_first_tag = 1;
    for (;;) {
        pthread_mutex_lock(&st->lock);
        rec = NULL;
        if (with_pending && st->pending_len > 0) {
            rec = st->pending[st->pending_head];
            st->pending_head = (st->pending_head + 1) % st->max_in_flight;
            st->pending_len--;
        }
        pthread_mutex_unlock(&st->lock);
        if (rec == NULL) {
            break;
        }
        lf_out_ack(st->ins, rec, LF_RETRY, reason);
        released++;
    }
    rmq_release(st, released);
}

void rmq_retry_all(struct rmq_state *st, const char *reason)
{
    rmq_retry_inflight(st, reason, true);
}

static void rmq_lost(struct rmq_state *st, const char *why)
{
    size_t n = st->unconf_len;

    rmq_set_link(st, false, false);
    lf_out_set_ready(st->ins, false);
    if (!st->stop) {
        lf_out_log(st->ins, LF_LOG_ERROR, "connection lost: %s; %zu unconfirmed records retried",
                   why, n);
    }
    rmq_disconnect(st, false);
    rmq_retry_inflight(st, why, true);
    st->backoff_ms = st->cfg->reconnect_backoff_ms;
    st->next_attempt_ms =
        rmq_deadline_in(st->backoff_ms / 2 +
                        (int64_t)(rand_r(&st->rand_seed) % (unsigned)(st->backoff_ms / 2 + 1)));
}

/* One connection attempt on the next URL. After a whole round of URLs failed, waits
 * backoff (x2 per round, capped) with +-25% jitter; never sleeps: the main loop waits
 * on the event fd until next_attempt_ms. */
static void rmq_try_connect(struct rmq_state *st)
{
    const struct rmq_endpoint *ep = &st->endpoints[st->next_endpoint];
    int64_t wait_ms;
    int rc;

    rc = rmq_connect(st, ep);
    if (rc == LF_OK) {
        st->unconf_head = 0;
        st->unconf_len = 0;
        st->unconf_first_tag = 1;
        st->backoff_ms = st->cfg->reconnect_backoff_ms;
        st->reconnects++;
        st->hb_ms = (int64_t)amqp_get_heartbeat(st->conn) * 1000;
        st->hb_send_at = st->hb_recv_at = RMQ_NEVER;
        st->hb_data = true;
        rmq_set_link(st, true, false);
        lf_out_set_ready(st->ins, true);
        return;
    }
    st->next_endpoint = (st->next_endpoint + 1) % st->n_endpoints;
    if (st->next_endpoint != 0) {
        st->next_attempt_ms = rmq_deadline_in(0); /* failover: next URL at once */
        return;
    }
    wait_ms = st->backoff_ms - st->backoff_ms / 4 +
              (int64_t)(rand_r(&st->rand_seed) % (unsigned)(st->backoff_ms / 2 + 1));
    st->next_attempt_ms = rmq_deadline_in(wait_ms);
    lf_out_log(st->ins, LF_LOG_WARN, "all %zu broker URL(s) failed; next attempt in %lld ms",
               st->n_endpoints, (long long)wait_ms);
    st->backoff_ms *= 2;
    if (st->backoff_ms > st->cfg->reconnect_max_backoff_ms) {
        st->backoff_ms = st->cfg->reconnect_max_backoff_ms;
    }
}

static int rmq_scratch_render(struct rmq_state *st, size_t off, const struct lf_template *t,
                              const struct lf_record *rec, size_t *len)
{
    for (;;) {
        size_t need = lf_template_render(t, rec, st->scratch + off, st->scratch_cap - off);
        if (off + need < st->scratch_cap) {
            *len = need;
            return LF_OK;
        }
        size_t cap = (off + need + 1) * 2;
        char *p = realloc(st->scratch, cap);
        if (p == NULL) {
            return LF_ENOMEM;
        }
        st->scratch = p;
        st->scratch_cap = cap;
    }
}

/* The templated headers of rec into hdrs (at most cap), rendered into scratch after the
 * routing key (rk_len bytes). Returns the count, or -1 without memory. */
static int rmq_render_headers(struct rmq_state *st, const struct lf_record *rec, size_t rk_len,
                              amqp_table_entry_t *hdrs, size_t cap)
{
    size_t lens[32], off = rk_len + 1;
    size_t nh = st->n_headers < cap ? st->n_headers : cap;

    for (size_t i = 0; i < nh; i++) {
        if (rmq_scratch_render(st, off, st->headers[i].tpl, rec, &lens[i]) != LF_OK) {
            return -1;
        }
        off += lens[i] + 1;
    }
    off = rk_len + 1; /* scratch may have moved: take pointers only now */
    for (size_t i = 0; i < nh; i++) {
        hdrs[i].key = amqp_cstring_bytes(st->headers[i].key);
        hdrs[i].value.kind = AMQP_FIELD_KIND_UTF8;
        hdrs[i].value.value.bytes.bytes = st->scratch + off;
        hdrs[i].value.value.bytes.len = lens[i];
        off += lens[i] + 1;
    }
    return (int)nh;
}

/* Publishes one record; the caller has put it at the end of the unconf ring. A dead letter
 * (rec->dead_letter) goes to the failed queue through the default exchange, mandatory,
 * with the logferry-dlt-* headers instead of the templated ones. */
static int rmq_publish(struct rmq_state *st, const struct lf_record *rec)
{
    const struct rmq_config *cfg = st->cfg;
    amqp_basic_properties_t props;
    amqp_table_entry_t hdrs[32 + RMQ_DLT_HEADERS];
    char dlt_buf[RMQ_DLT_BUF];
    size_t rk_len;
    bool dead = rec->dead_letter != NULL;
    int nh;

    if (rmq_scratch_render(st, 0, st->routing_key, rec, &rk_len) != LF_OK) {
        return LF_ENOMEM;
    }
    nh = dead ? rmq_dlt_headers(st, rec, hdrs, dlt_buf)
              : rmq_render_headers(st, rec, rk_len, hdrs, 32);
    if (nh < 0) {
        return LF_ENOMEM;
    }
    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                   AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_APP_ID_FLAG |
                   AMQP_BASIC_TYPE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = cfg->persistent ? 2 : 1;
    props.message_id = amqp_cstring_bytes(rec->id);
    props.timestamp = rec->timestamp_ms > 0 ? (uint64_t)(rec->timestamp_ms / 1000) : 0;
    props.app_id = amqp_cstring_bytes(lf_out_agent_name(st->ins));
    props.type = amqp_cstring_bytes(lf_record_type_name(rec->type));
    if (nh > 0) {
        props._flags |= AMQP_BASIC_HEADERS_FLAG;
        props.headers.num_entries = nh;
        props.headers.entries = hdrs;
    }
    amqp_bytes_t body = {.len = rec->payload_len, .bytes = (void *)rec->payload};
    int rc = dead ? amqp_basic_publish(st->conn, RMQ_CHANNEL, amqp_empty_bytes,
                                       amqp_cstring_bytes(st->failed_queue), 1, 0, &props, body)
                  : amqp_basic_publish(st->conn, RMQ_CHANNEL, amqp_cstring_bytes(cfg->exchange),
                                       (amqp_bytes_t){.len = rk_len, .bytes = st->scratch},
                                       cfg->mandatory, 0, &props, body);
    if (rc != AMQP_STATUS_OK) {
        return LF_EBROKER;
    }
    st->published++;
    return LF_OK;
}

/* Moves up to one batch from pending to the broker. Returns false if the link broke. */
static bool rmq_publish_batch(struct rmq_state *st, size_t *moved)
{
    struct lf_record *batch[RMQ_PUBLISH_BATCH];
    size_t n = 0;

    /* Confirms may come out of order (a message routed to several queues is confirmed
     * when all have it): settled entries behind an unsettled head still hold ring
     * slots, so the ring's free space, not inflight, bounds what we publish. */
    size_t room = st->max_in_flight - st->unconf_len;

    pthread_mutex_lock(&st->lock);
    while (n < RMQ_PUBLISH_BATCH && n < room && st->pending_len > 0 && !st->blocked) {
        batch[n++] = st->pending[st->pending_head];
        st->pending_head = (st->pending_head + 1) % st->max_in_flight;
        st->pending_len--;
    }
    pthread_mutex_unlock(&st->lock);
    *moved = n;
    for (size_t i = 0; i < n; i++) {
        struct rmq_pub *p = &st->unconf[(st->unconf_head + st->unconf_len) % st->max_in_flight];

        p->rec = batch[i];
        p->done = false;
        p->return_reason = NULL;
        p->return_key = NULL;
        st->unconf_len++;
        if (rmq_publish(st, batch[i]) != LF_OK) {
            /* The rest of the batch goes into unconf too, so rmq_lost() retries it. */
            for (size_t j = i + 1; j < n; j++) {
                p = &st->unconf[(st->unconf_head + st->unconf_len) % st->max_in_flight];
                p->rec = batch[j];
                p->done = false;
                p->return_reason = NULL;
                p->return_key = NULL;
                st->unconf_len++;
            }
            rmq_lost(st, "publish failed");
            return false;
        }
    }
    return true;
}

/* basic.return: the next confirm of the matching message means REJECTED. */
static int rmq_on_return(struct rmq_state *st, const amqp_frame_t *frame)
{
    const amqp_basic_return_t *r = frame->payload.method.decoded;
    amqp_message_t msg;
    amqp_rpc_reply_t rr;
    char reason[512];

    snprintf(reason, sizeof(reason), "unroutable: %u %.*s (exchange '%.*s', routing key '%.*s')",
             r->reply_code, (int)r->reply_text.len, (const char *)r->reply_text.bytes,
             (int)r->exchange.len, (const char *)r->exchange.bytes, (int)r->routing_key.len,
             (const char *)r->routing_key.bytes);
    rr = amqp_read_message(st->conn, frame->channel, &msg, 0);
    if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
        return LF_EBROKER;
    }
    st->returned++;
    for (size_t i = 0; i < st->unconf_len; i++) {
        struct rmq_pub *p = &st->unconf[(st->unconf_head + i) % st->max_in_flight];

        if (!p->done && p->return_reason == NULL && p->rec &&
            msg.properties.message_id.len == strlen(p->rec->id) &&
            memcmp(msg.properties.message_id.bytes, p->rec->id, msg.properties.message_id.len) ==
                0) {
            p->return_reason = strdup(reason);
            p->return_key = strndup(r->routing_key.bytes, r->routing_key.len);
            p->return_code = r->reply_code;
            break;
        }
    }
    amqp_destroy_message(&msg);
    return LF_OK;
}

/* Handles one method frame. Returns false when the connection must be dropped. */
static bool rmq_on_method(struct rmq_state *st, const amqp_frame_t *frame, char *why, size_t cap)
{
    void *d = frame->payload.method.decoded;

    switch (frame->payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *a = d;
        rmq_confirm(st, a->delivery_tag, a->multiple, LF_DELIVERED, NULL);
        return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *a = d;
        st->nacked++;
        rmq_confirm(st, a->delivery_tag, a->multiple, LF_RETRY, "nacked by the broker");
        return true;
    }
    case AMQP_BASIC_RETURN_METHOD:
        if (rmq_on_return(st, frame) != LF_OK) {
            snprintf(why, cap, "cannot read returned message");
            return false;
        }
        return true;
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        amqp_connection_blocked_t *b = d;
        lf_out_log(st->ins, LF_LOG_WARN, "broker blocked publishing (%.*s); holding records",
                   (int)b->reason.len, (const char *)b->reason.bytes);
        rmq_set_link(st, true, true);
        return true;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        lf_out_log(st->ins, LF_LOG_INFO, "broker unblocked publishing; resuming");
        rmq_set_link(st, true, false);
        return true;
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *c = d;
        amqp_channel_close_ok_t ok = {0};
        snprintf(why, cap, "channel closed by broker: %u %.*s", c->reply_code,
                 (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        amqp_send_method(st->conn, frame->channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        return false;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *c = d;
        amqp_connection_close_ok_t ok = {0};
        snprintf(why, cap, "connection closed by broker: %u %.*s", c->reply_code,
                 (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        amqp_send_method(st->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        return false;
    }
    default:
        return true; /* e.g. channel.flow: not used by RabbitMQ for publishers */
    }
}

/* Reads every frame already available (timeout 0; also serves heartbeats). */
static bool rmq_read_frames(struct rmq_state *st)
{
    struct timeval zero = rmq_timeval_ms(0);
    amqp_frame_t frame;
    char why[512];
    int rc;

    for (;;) {
        rc = amqp_simple_wait_frame_noblock(st->conn, &frame, &zero);
        if (rc == AMQP_STATUS_TIMEOUT) {
            break;
        }
        if (rc != AMQP_STATUS_OK) {
            rmq_lost(st, amqp_error_string2(rc));
            return false;
        }
        if (frame.frame_type != AMQP_FRAME_METHOD) {
            continue;
        }
        if (!rmq_on_method(st, &frame, why, sizeof(why))) {
            rmq_lost(st, why);
            return false;
        }
    }
    amqp_maybe_release_buffers(st->conn);
    return true;
}

/* Sleeps until the event fd or the socket is readable, or until deadline (RMQ_NEVER: no
 * timeout). Returns true if the socket was readable (or failed). */
static bool rmq_wait(struct rmq_state *st, int64_t deadline)
{
    struct pollfd pfd[2] = {{.fd = st->event_fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    int timeout = deadline == RMQ_NEVER ? -1 : (int)rmq_deadline_left_ms(deadline);
    uint64_t v;

    if (st->conn != NULL) {
        pfd[1].fd = amqp_get_sockfd(st->conn);
    }
    if (poll(pfd, 2, timeout) <= 0) {
        return false;
    }
    if ((pfd[0].revents & POLLIN) && read(st->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
        lf_log_errno(LF_LOG_WARN, lf_out_log_ctx(st->ins), "eventfd read");
    }
    return pfd[1].revents != 0;
}

/* After a step (every frame librabbitmq sends, heartbeats included, is sent in a step):
 * the next heartbeat is due one interval later; the broker's data, two intervals after
 * the step that read it (librabbitmq closes the connection when it is late). A step at
 * that deadline re-arms it, so a wait never has a deadline in the past. The +1 keeps
 * our millisecond deadlines at or after librabbitmq's. */
static void rmq_heartbeat_after_step(struct rmq_state *st)
{
    int64_t now = rmq_now_ms();

    if (st->hb_ms == 0) {
        return;
    }
    st->hb_send_at = now + st->hb_ms + 1;
    if (st->hb_data || now >= st->hb_recv_at) {
        st->hb_recv_at = now + 2 * st->hb_ms + 1;
    }
    st->hb_data = false;
}

static bool rmq_should_stop(struct rmq_state *st)
{
    bool stop;

    pthread_mutex_lock(&st->lock);
    stop = st->stop;
    pthread_mutex_unlock(&st->lock);
    return stop;
}

static void rmq_step_connected(struct rmq_state *st)
{
    size_t moved = 0;
    bool more;

    if (!rmq_publish_batch(st, &moved) || !rmq_read_frames(st)) {
        return;
    }
    rmq_heartbeat_after_step(st);
    pthread_mutex_lock(&st->lock);
    more = st->pending_len > 0 && !st->blocked && st->unconf_len < st->max_in_flight;
    pthread_mutex_unlock(&st->lock);
    if (!more) {
        int64_t due = st->hb_send_at < st->hb_recv_at ? st->hb_send_at : st->hb_recv_at;
        st->hb_data = rmq_wait(st, due);
    }
}

static void *rmq_thread_main(void *arg)
{
    struct rmq_state *st = arg;
    char name[16];

    snprintf(name, sizeof(name), "rmq:%s", lf_out_name(st->ins));
    pthread_setname_np(pthread_self(), name);
    while (!rmq_should_stop(st)) {
        if (st->conn != NULL) {
            rmq_step_connected(st);
            continue;
        }
        if (rmq_deadline_passed(st->next_attempt_ms)) {
            rmq_try_connect(st);
        } else {
            rmq_wait(st, st->next_attempt_ms);
        }
    }
    if (st->conn != NULL) {
        /* Confirms that already arrived settle their records before we close. */
        rmq_read_frames(st);
    }
    rmq_set_link(st, false, false);
    lf_out_set_ready(st->ins, false);
    rmq_disconnect(st, true);
    pthread_mutex_lock(&st->lock);
    st->running = false;
    pthread_cond_broadcast(&st->changed);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

int rmq_worker_start(struct rmq_state *st)
{
    int rc;

    pthread_mutex_lock(&st->lock);
    st->stop = false;
    st->running = true;
    pthread_mutex_unlock(&st->lock);
    st->next_attempt_ms = 0;
    st->next_endpoint = 0;
    rc = pthread_create(&st->thread, NULL, rmq_thread_main, st);
    if (rc != 0) {
        pthread_mutex_lock(&st->lock);
        st->running = false;
        pthread_mutex_unlock(&st->lock);
        errno = rc;
        lf_log_errno(LF_LOG_ERROR, lf_out_log_ctx(st->ins), "pthread_create");
        return LF_EIO;
    }
    return LF_OK;
}

void rmq_worker_stop(struct rmq_state *st, int grace_ms)
{
    int64_t deadline = rmq_deadline_in(grace_ms);
    uint64_t one = 1;
    bool forced = false;
    bool joinable;

    pthread_mutex_lock(&st->lock);
    joinable = st->running || st->thread != 0;
    st->stop = true;
    pthread_mutex_unlock(&st->lock);
    if (!joinable) {
        return;
    }
    if (write(st->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        lf_log_errno(LF_LOG_WARN, lf_out_log_ctx(st->ins), "eventfd write");
    }
    pthread_mutex_lock(&st->lock);
    while (st->running) {
        if (!forced && rmq_deadline_passed(deadline)) {
            /* Stuck in a blocking send (e.g. the broker stopped reading while blocked):
             * shutting the socket down makes librabbitmq return an error. */
            if (st->sockfd >= 0) {
                shutdown(st->sockfd, SHUT_RDWR);
            }
            forced = true;
        }
        rmq_cond_wait_ms(&st->changed, &st->lock, 20);
    }
    pthread_mutex_unlock(&st->lock);
    pthread_join(st->thread, NULL);
    st->thread = 0;
}
