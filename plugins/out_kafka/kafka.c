/* kafka.c - the Kafka output plugin: ABI descriptor and worker-thread callbacks.
 *
 * A record is acknowledged only from its delivery report, never on enqueue. Records are
 * produced without copy (the core keeps them alive until acked) and delivery reports run
 * on the output's worker thread: librdkafka's main queue writes to a pipe the core watches
 * (rd_kafka_queue_io_event_enable), and service() then calls rd_kafka_poll(rk, 0). The
 * CreateTopics results queue writes to the same pipe, so service() needs no tick
 * (lf_out_service_in): only a client being rebuilt asks for one.
 * QUEUE_FULL is backpressure (submit takes fewer records), never a sleep. A fatal client
 * error rebuilds the client; whatever was in flight goes back to the core as retriable.
 *
 * IMPORTANT NOTE on threading: librdkafka runs its own broker threads. Everything in this
 * file except log_cb runs on the instance's worker thread, so the state needs no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka.h"

#define KAFKA_TOPIC_MAX          250 /* Kafka allows 249 characters */
#define KAFKA_KEY_MAX            4096
#define KAFKA_HEADER_MAX         4096
#define KAFKA_KNOWN_TOPICS       256 /* topics remembered for create_topics / missing warnings */
#define KAFKA_PURGE_WAIT_MS      2000
#define KAFKA_BATCH              1024 /* messages per rd_kafka_produce_batch() call */
#define KAFKA_NUDGE_MAX_INFLIGHT 64   /* adaptive linger: "nearly idle" */
#define KAFKA_DR_BATCH           512  /* deliveries acked with one lf_out_ack_many() */
#define KAFKA_NUDGE_MS           1    /* adaptive linger: longest wait in rd_kafka_flush() */
#define KAFKA_REBUILD_MS         100  /* a client that could not be rebuilt: next try */

struct kafka_header_tpl {
    const char *name;
    struct lf_template *tpl;
};

struct kafka_known_topic {
    char *name;
    rd_kafka_topic_t *rkt; /* NULL while there is no client */
    bool create_requested;
    int64_t missing_logged_ms; /* last "topic does not exist" error, 0 = never */
};

struct kafka_out {
    struct lf_out_instance *ins;
    const struct kafka_config *cfg;
    rd_kafka_t *rk;
    rd_kafka_queue_t *adminq; /* CreateTopics results */
    int wake_pipe[2];         /* librdkafka writes here when its main queue gets events */
    atomic_bool fatal;        /* set by error_cb (worker thread, inside poll) */
    bool ready;
    struct lf_template *topic_tpl;
    struct kafka_known_topic *fixed; /* the topic when topic_tpl is constant, else NULL */
    struct lf_template *key_tpl;     /* NULL: default partitioner */
    struct kafka_header_tpl *headers;
    size_t nheaders;
    struct kafka_inflight inflight;
    rd_kafka_message_t *batch; /* KAFKA_BATCH messages for produce_batch() */
    uint32_t *batch_idx;       /* their index in the submitted array */
    struct kafka_known_topic topics[KAFKA_KNOWN_TOPICS];
    size_t ntopics;
    uint64_t delivered, retried, rejected;
    unsigned maybe_stored; /* handed back, but sent before: a broker may have stored them */
    struct lf_record *dr_ok[KAFKA_DR_BATCH]; /* deliveries reported, not yet acked */
    unsigned ndr_ok;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Acks rec as failed with librdkafka's code and the topic it was for. */
static void ack_failed(struct kafka_out *ko, struct lf_record *rec, enum lf_outcome outcome,
                       rd_kafka_resp_err_t err, const char *topic, const char *reason)
{
    struct lf_out_error e = {
        .err = kafka_err_is_too_large(err) ? LF_ETOOBIG : LF_OK,
        .code = (int)err,
        .reason = reason,
        .destination = topic,
    };
    lf_out_ack_error(ko->ins, rec, outcome, &e);
}

static struct kafka_known_topic *known_topic(struct kafka_out *ko, const char *name)
{
    for (size_t i = 0; i < ko->ntopics; i++) {
        if (strcmp(ko->topics[i].name, name) == 0) {
            return &ko->topics[i];
        }
    }
    if (ko->ntopics == KAFKA_KNOWN_TOPICS) {
        return NULL;
    }
    char *copy = strdup(name);
    if (!copy) {
        return NULL;
    }
    ko->topics[ko->ntopics] = (struct kafka_known_topic){.name = copy};
    return &ko->topics[ko->ntopics++];
}

/* The operator must see which topic is missing; once a minute per topic is enough. */
static void report_missing_topic(struct kafka_out *ko, const char *topic)
{
    struct kafka_known_topic *kt = known_topic(ko, topic);
    int64_t now = now_ms();

    if (kt && kt->missing_logged_ms && now - kt->missing_logged_ms < 60000) {
        return;
    }
    if (kt) {
        kt->missing_logged_ms = now;
    }
    lf_out_log(ko->ins, LF_LOG_ERROR,
               "topic '%s' does not exist and create_topics is false: create the topic or "
               "set create_topics: true; its records go to the dead-letter path",
               topic);
}

/* Acks the deliveries collected by dr_msg_cb. Every call that can run delivery reports
 * (kafka_poll, kafka_flush_wait) ends with it, so none waits past its poll. */
static void dr_flush(struct kafka_out *ko)
{
    lf_out_ack_many(ko->ins, ko->dr_ok, ko->ndr_ok, LF_DELIVERED);
    ko->ndr_ok = 0;
}

static void kafka_poll(struct kafka_out *ko, int timeout_ms)
{
    rd_kafka_poll(ko->rk, timeout_ms);
    dr_flush(ko);
}

static void kafka_flush_wait(struct kafka_out *ko, int timeout_ms)
{
    rd_kafka_flush(ko->rk, timeout_ms);
    dr_flush(ko);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct kafka_out *ko = opaque;
    struct lf_record *rec = kafka_inflight_take(&ko->inflight, msg->_private);
    enum lf_outcome outcome;
    char reason[384];

    if (!rec) {
        return; /* already settled (purged and acked at shutdown or rebuild) */
    }
    outcome = kafka_outcome(msg->err, ko->cfg->create_topics);
    if (outcome == LF_DELIVERED) {
        ko->delivered++;
        if (!ko->ready) {
            ko->ready = true;
            lf_out_set_ready(ko->ins, true);
        }
        ko->dr_ok[ko->ndr_ok++] = rec;
        if (ko->ndr_ok == KAFKA_DR_BATCH) {
            dr_flush(ko);
        }
        return;
    }
    const char *topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : "?";
    if (outcome == LF_REJECTED && kafka_err_is_unknown_topic(msg->err)) {
        report_missing_topic(ko, topic);
        snprintf(reason, sizeof(reason), "topic '%s' does not exist (create_topics is false)",
                 topic);
    } else {
        snprintf(reason, sizeof(reason), "kafka: topic %s: %s (%s)", topic,
                 rd_kafka_err2str(msg->err), rd_kafka_err2name(msg->err));
    }
    if (outcome == LF_REJECTED) {
        ko->rejected++;
    } else {
        ko->retried++;
        ko->maybe_stored += rd_kafka_message_status(msg) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
    }
    ack_failed(ko, rec, outcome, msg->err, topic, reason);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_out *ko = opaque;

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        lf_out_log(ko->ins, LF_LOG_ERROR, "fatal producer error %s: %s; rebuilding the client",
                   rd_kafka_err2name(ferr), fatal);
        atomic_store(&ko->fatal, true);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (ko->ready) {
            ko->ready = false;
            lf_out_set_ready(ko->ins, false);
        }
        lf_out_log(ko->ins, LF_LOG_WARN, "all brokers are down: %s", reason);
        return;
    }
    /* Other errors are informational: librdkafka retries by itself. */
    lf_out_log(ko->ins, LF_LOG_DEBUG, "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
               reason);
}

/* librdkafka's threads log here; lf_log_write is thread-safe. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct kafka_out *ko = rd_kafka_opaque(rk);
    enum lf_log_level lvl = level <= 3 ? LF_LOG_WARN : level <= 6 ? LF_LOG_INFO : LF_LOG_DEBUG;

    /* Connection failures are expected during outages; error_cb reports the summary. */
    if (lvl == LF_LOG_WARN && strcmp(fac, "FAIL") == 0) {
        lvl = LF_LOG_INFO;
    }
    lf_out_log(ko->ins, lvl, "librdkafka %s: %s", fac, buf);
}

/* Creates the handle of a topic. rd_kafka_topic_new() asks for the topic's metadata at
 * once (or when the first broker comes up); a topic first named by rd_kafka_producev()
 * waits for librdkafka's 1 s topic scan instead, which made startup take ~1.0 s. The
 * handle also saves librdkafka's topic lookup on every produce. */
static void topic_open(struct kafka_out *ko, struct kafka_known_topic *kt)
{
    if (kt->rkt || !ko->rk) {
        return;
    }
    kt->rkt = rd_kafka_topic_new(ko->rk, kt->name, NULL);
    if (!kt->rkt) {
        lf_out_log(ko->ins, LF_LOG_WARN, "topic '%s': %s", kt->name,
                   rd_kafka_err2str(rd_kafka_last_error()));
    }
}

/* librdkafka writes to the wake pipe only when a queue goes from empty to one event, and
 * its threads may queue events (an error, the first delivery reports) between
 * rd_kafka_new() and rd_kafka_queue_io_event_enable(): no byte would ever announce those,
 * nor any event after them. One byte of our own makes the next service() empty the
 * queues, after which every event is announced. */
static void wake_self(struct kafka_out *ko)
{
    char one = '1';
    ssize_t w = write(ko->wake_pipe[1], &one, 1);
    (void)w; /* EAGAIN: the pipe is full of wake-ups already */
}

/* Creates the producer and hooks its main queue to the wake pipe. */
static int client_open(struct kafka_out *ko)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_queue_t *mainq;
    char errstr[512];
    int rc;

    rc = kafka_conf_build(ko->ins, ko->cfg, &conf);
    if (rc != LF_OK) {
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, ko);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    ko->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!ko->rk) {
        lf_out_log(ko->ins, LF_LOG_ERROR, "cannot create the producer: %s", errstr);
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        return LF_ECONFIG;
    }
    /* conf now belongs to ko->rk */
    mainq = rd_kafka_queue_get_main(ko->rk);
    rd_kafka_queue_io_event_enable(mainq, ko->wake_pipe[1], "1", 1);
    rd_kafka_queue_destroy(mainq);
    ko->adminq = rd_kafka_queue_new(ko->rk);
    rd_kafka_queue_io_event_enable(ko->adminq, ko->wake_pipe[1], "1", 1);
    wake_self(ko);
    /* Handles for the topics known so far (the fixed topic from init on): the metadata of
     * each is asked for as soon as a broker is up, so the first records go straight out. */
    for (size_t i = 0; i < ko->ntopics; i++) {
        topic_open(ko, &ko->topics[i]);
    }
    atomic_store(&ko->fatal, false);
    return LF_OK;
}

/* Purges what librdkafka still holds (flags: RD_KAFKA_PURGE_F_QUEUE, optionally
 * RD_KAFKA_PURGE_F_INFLIGHT) and serves the resulting delivery reports (purged records are
 * acked LF_RETRY from dr_msg_cb) for up to KAFKA_PURGE_WAIT_MS. A record without a report
 * yet stays ours to settle: librdkafka may still read its value (values are not copied), so
 * it must not be handed back before the handle is destroyed. */
static void purge_and_serve(struct kafka_out *ko, int flags)
{
    if (ko->rk && ko->inflight.used) {
        int64_t deadline = now_ms() + KAFKA_PURGE_WAIT_MS;
        rd_kafka_purge(ko->rk, flags | RD_KAFKA_PURGE_F_NON_BLOCKING);
        while (ko->inflight.used && now_ms() < deadline) {
            kafka_poll(ko, 10);
        }
    }
}

/* Acks LF_RETRY for every record still in flight. Only after rd_kafka_destroy, or from
 * flush() (the core takes those acks after destroy() has returned). */
static void settle_inflight(struct kafka_out *ko, const char *reason)
{
    dr_flush(ko);
    size_t n = kafka_inflight_settle_all(&ko->inflight, ko->ins, LF_RETRY, reason);
    ko->retried += n;
}

static void client_close(struct kafka_out *ko)
{
    if (!ko->rk) {
        return;
    }
    purge_and_serve(ko, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (ko->adminq) {
        rd_kafka_queue_destroy(ko->adminq);
        ko->adminq = NULL;
    }
    for (size_t i = 0; i < ko->ntopics; i++) {
        if (ko->topics[i].rkt) {
            rd_kafka_topic_destroy(ko->topics[i].rkt);
            ko->topics[i].rkt = NULL;
        }
    }
    rd_kafka_destroy(ko->rk);
    ko->rk = NULL;
    settle_inflight(ko, "kafka: client closed with the record in flight");
}

static void kafka_destroy(void *state)
{
    struct kafka_out *ko = state;

    if (!ko) {
        return;
    }
    client_close(ko);
    lf_out_log(ko->ins, LF_LOG_INFO, "delivered %llu, retriable %llu, rejected %llu",
               (unsigned long long)ko->delivered, (unsigned long long)ko->retried,
               (unsigned long long)ko->rejected);
    kafka_inflight_fini(&ko->inflight);
    free(ko->batch);
    free(ko->batch_idx);
    for (size_t i = 0; i < ko->nheaders; i++) {
        lf_template_destroy(ko->headers[i].tpl);
    }
    free(ko->headers);
    lf_template_destroy(ko->topic_tpl);
    lf_template_destroy(ko->key_tpl);
    for (size_t i = 0; i < ko->ntopics; i++) {
        free(ko->topics[i].name);
    }
    for (int i = 0; i < 2; i++) {
        if (ko->wake_pipe[i] >= 0) {
            close(ko->wake_pipe[i]);
        }
    }
    free(ko);
}

static int compile_templates(struct kafka_out *ko)
{
    const struct kafka_config *cfg = ko->cfg;
    char err[256];

    if (lf_template_compile(cfg->topic, &ko->topic_tpl, err, sizeof(err)) != LF_OK) {
        lf_out_log(ko->ins, LF_LOG_ERROR, "topic: %s", err);
        return LF_ECONFIG;
    }
    if (lf_template_is_constant(ko->topic_tpl)) {
        char topic[KAFKA_TOPIC_MAX + 1];
        size_t len = lf_template_render(ko->topic_tpl, NULL, topic, sizeof(topic));
        /* an invalid name is rejected per record by produce_one, with the reason */
        if (len > 0 && len < KAFKA_TOPIC_MAX) {
            ko->fixed = known_topic(ko, topic);
            if (!ko->fixed) {
                return LF_ENOMEM;
            }
        }
    }
    if (cfg->key && cfg->key[0] &&
        lf_template_compile(cfg->key, &ko->key_tpl, err, sizeof(err)) != LF_OK) {
        lf_out_log(ko->ins, LF_LOG_ERROR, "key: %s", err);
        return LF_ECONFIG;
    }
    if (cfg->headers.n) {
        ko->headers = calloc(cfg->headers.n, sizeof(*ko->headers));
        if (!ko->headers) {
            return LF_ENOMEM;
        }
    }
    for (size_t i = 0; i < cfg->headers.n; i++) {
        ko->headers[i].name = cfg->headers.v[i].key;
        if (lf_template_compile(cfg->headers.v[i].value, &ko->headers[i].tpl, err, sizeof(err)) !=
            LF_OK) {
            lf_out_log(ko->ins, LF_LOG_ERROR, "headers.%s: %s", cfg->headers.v[i].key, err);
            return LF_ECONFIG;
        }
        ko->nheaders++;
    }
    return LF_OK;
}

static int kafka_init(struct lf_out_instance *ins, const void *config, void **state)
{
    struct kafka_out *ko = calloc(1, sizeof(*ko));
    int rc;

    if (!ko) {
        return LF_ENOMEM;
    }
    ko->ins = ins;
    ko->cfg = config;
    ko->wake_pipe[0] = ko->wake_pipe[1] = -1;
    kafka_inflight_init(&ko->inflight);
    ko->batch = calloc(KAFKA_BATCH, sizeof(*ko->batch));
    ko->batch_idx = calloc(KAFKA_BATCH, sizeof(*ko->batch_idx));
    if (!ko->batch || !ko->batch_idx) {
        kafka_destroy(ko);
        return LF_ENOMEM;
    }
    if (pipe2(ko->wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        lf_log_errno(LF_LOG_ERROR, lf_out_log_ctx(ins), "pipe");
        kafka_destroy(ko);
        return LF_EIO;
    }
    rc = compile_templates(ko);
    if (rc == LF_OK) {
        rc = client_open(ko);
    }
    if (rc != LF_OK) {
        kafka_destroy(ko);
        return rc;
    }
    if (kafka_brokers_embedded(ko->cfg)) {
        lf_out_log(ins, LF_LOG_WARN,
                   "brokers: embedded: records go to an IN-PROCESS MOCK Kafka cluster and are "
                   "LOST when the agent exits. For demos and tries only, never production.");
    }
    lf_out_set_wake_fd(ins, ko->wake_pipe[0]);
    lf_out_service_in(ins, -1); /* no tick: the pipe says when there is something to serve */
    lf_out_set_dead_letter(ins, lf_out_dead_letter_suffix(ins) != NULL);
    *state = ko;
    return LF_OK;
}

/* Asks the cluster once per topic to create it (create_topics: true). Brokers that do not
 * support CreateTopics still auto-create on first produce (allow.auto.create.topics). */
static void request_topic(struct kafka_out *ko, const char *topic)
{
    struct kafka_known_topic *kt;
    rd_kafka_NewTopic_t *nt;
    char errstr[256];

    if (!ko->cfg->create_topics || kafka_brokers_embedded(ko->cfg)) {
        return;
    }
    kt = known_topic(ko, topic);
    if (!kt || kt->create_requested) {
        return;
    }
    kt->create_requested = true;
    nt = rd_kafka_NewTopic_new(topic, (int)ko->cfg->partitions, (int)ko->cfg->replication_factor,
                               errstr, sizeof(errstr));
    if (!nt) {
        lf_out_log(ko->ins, LF_LOG_WARN, "cannot create topic '%s': %s", topic, errstr);
        return;
    }
    rd_kafka_CreateTopics(ko->rk, &nt, 1, NULL, ko->adminq);
    rd_kafka_NewTopic_destroy(nt);
}

static void serve_admin(struct kafka_out *ko)
{
    rd_kafka_event_t *ev;

    while (ko->adminq && (ev = rd_kafka_queue_poll(ko->adminq, 0)) != NULL) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;

        if (rd_kafka_event_error(ev)) {
            lf_out_log(ko->ins, LF_LOG_WARN, "CreateTopics: %s (relying on auto-creation)",
                       rd_kafka_event_error_string(ev));
        }
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
            const char *name = rd_kafka_topic_result_name(tr[i]);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                lf_out_log(ko->ins, LF_LOG_INFO, "created topic '%s'", name);
            } else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                lf_out_log(ko->ins, LF_LOG_WARN, "cannot create topic '%s': %s", name,
                           rd_kafka_topic_result_error_string(tr[i]));
            }
        }
        rd_kafka_event_destroy(ev);
    }
}

static int add_header(rd_kafka_headers_t *hdrs, const char *name, const char *value, size_t len)
{
    return rd_kafka_header_add(hdrs, name, -1, value, (ssize_t)len) ? -1 : 0;
}

/* Builds the headers of rec; *bytes gets their wire size estimate. *out is NULL when there
 * are none to send. Returns -1 on ENOMEM. Each header is a malloc in librdkafka (and a free
 * in the delivery report), so record_headers can leave the logferry ones out. */
static int build_headers(struct kafka_out *ko, const struct lf_record *rec,
                         rd_kafka_headers_t **out, size_t *bytes)
{
    int mode = ko->cfg->record_headers;
    size_t nrec = mode == KAFKA_RECHDR_ALL ? 3 : mode == KAFKA_RECHDR_ID ? 1 : 0;
    rd_kafka_headers_t *hdrs;
    char buf[KAFKA_HEADER_MAX];
    int bad = 0;

    *out = NULL;
    *bytes = 0;
    if (nrec + ko->nheaders == 0) {
        return 0;
    }
    hdrs = rd_kafka_headers_new(nrec + ko->nheaders);
    if (nrec) {
        bad |= add_header(hdrs, "logferry-id", rec->id, strlen(rec->id));
        *bytes += 32 + strlen(rec->id);
    }
    if (nrec > 1) {
        const char *type = lf_record_type_name(rec->type);
        const char *source = rec->source ? rec->source : "";
        bad |= add_header(hdrs, "logferry-type", type, strlen(type));
        bad |= add_header(hdrs, "logferry-source", source, strlen(source));
        *bytes += 32 + strlen(type) + strlen(source);
    }
    for (size_t i = 0; i < ko->nheaders; i++) {
        size_t len = lf_template_render(ko->headers[i].tpl, rec, buf, sizeof(buf));
        if (len >= sizeof(buf)) {
            len = sizeof(buf) - 1;
        }
        bad |= add_header(hdrs, ko->headers[i].name, buf, len);
        *bytes += 16 + strlen(ko->headers[i].name) + len;
    }
    if (bad) {
        rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    *out = hdrs;
    return 0;
}

enum produce_result { PRODUCED, SETTLED, BACKPRESSURE };

static void nudge_if_idle(struct kafka_out *ko, size_t produced);

static void reject_oversize(struct kafka_out *ko, struct lf_record *rec, const char *topic,
                            size_t bytes)
{
    char reason[160];

    snprintf(reason, sizeof(reason),
             "record of %zu bytes (with key and headers) is over max_message_bytes %llu", bytes,
             (unsigned long long)ko->cfg->max_message_bytes);
    ko->rejected++;
    ack_failed(ko, rec, LF_REJECTED, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, topic, reason);
}

/* Acks rec after librdkafka refused it with err (not QUEUE_FULL, not FATAL). */
static void settle_produce_error(struct kafka_out *ko, struct lf_record *rec, const char *topic,
                                 rd_kafka_resp_err_t err)
{
    enum lf_outcome outcome = kafka_outcome(err, ko->cfg->create_topics);
    char reason[512];

    if (outcome == LF_DELIVERED) {
        outcome = LF_RETRY; /* cannot happen; never claim a delivery we did not see */
    }
    snprintf(reason, sizeof(reason), "kafka: produce to %s: %s (%s)", topic, rd_kafka_err2str(err),
             rd_kafka_err2name(err));
    if (outcome == LF_REJECTED) {
        ko->rejected++;
    } else {
        ko->retried++;
    }
    ack_failed(ko, rec, outcome, err, topic, reason);
}

/* The topic of rec: the fixed one, or its rendering into buf (KAFKA_TOPIC_MAX + 1 bytes)
 * with the handle opened when the known-topic table has room (*kt NULL otherwise:
 * librdkafka looks the name up). False when the rendered name is invalid: rec is then
 * rejected here. */
static bool record_topic(struct kafka_out *ko, struct lf_record *rec, char *buf, const char **topic,
                         struct kafka_known_topic **kt)
{
    char reason[512];

    *kt = ko->fixed;
    if (*kt) {
        *topic = (*kt)->name;
        return true;
    }
    size_t topic_len = lf_template_render(ko->topic_tpl, rec, buf, KAFKA_TOPIC_MAX + 1);
    if (topic_len == 0 || topic_len > KAFKA_TOPIC_MAX - 1) {
        snprintf(reason, sizeof(reason), "invalid topic name (%zu characters) from template '%s'",
                 topic_len, ko->cfg->topic);
        ko->rejected++;
        ack_failed(ko, rec, LF_REJECTED, RD_KAFKA_RESP_ERR__INVALID_ARG, buf, reason);
        return false;
    }
    *topic = buf;
    *kt = known_topic(ko, buf);
    if (*kt) {
        topic_open(ko, *kt);
    }
    return true;
}

/* Renders the key of rec into key (KAFKA_KEY_MAX bytes, cut to fit); 0 without key. */
static size_t record_key(const struct kafka_out *ko, const struct lf_record *rec, char *key)
{
    if (!ko->key_tpl) {
        return 0;
    }
    size_t key_len = lf_template_render(ko->key_tpl, rec, key, KAFKA_KEY_MAX);
    return key_len < KAFKA_KEY_MAX ? key_len : KAFKA_KEY_MAX - 1;
}

/* One message to librdkafka, by topic handle when there is one. No copy: the core keeps
 * the payload alive until the delivery report acks it. On success hdrs belong to the
 * message. */
static rd_kafka_resp_err_t send_one(struct kafka_out *ko, const struct kafka_known_topic *kt,
                                    const char *topic, const struct lf_record *rec, const char *key,
                                    size_t key_len, rd_kafka_headers_t *hdrs, void *opaque)
{
    if (kt && kt->rkt) {
        return rd_kafka_producev(ko->rk, RD_KAFKA_V_RKT(kt->rkt), RD_KAFKA_V_MSGFLAGS(0),
                                 RD_KAFKA_V_VALUE((void *)rec->payload, rec->payload_len),
                                 RD_KAFKA_V_KEY(key_len ? key : NULL, key_len),
                                 RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque),
                                 RD_KAFKA_V_END);
    }
    return rd_kafka_producev(ko->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(0),
                             RD_KAFKA_V_VALUE((void *)rec->payload, rec->payload_len),
                             RD_KAFKA_V_KEY(key_len ? key : NULL, key_len),
                             RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}

/* librdkafka refused rec with err: takes its in-flight slot back and either offers it
 * again (QUEUE_FULL, FATAL) or acks it. */
static enum produce_result produce_refused(struct kafka_out *ko, struct lf_record *rec,
                                           const char *topic, void *opaque, rd_kafka_resp_err_t err)
{
    kafka_inflight_take(&ko->inflight, opaque);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return BACKPRESSURE;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        atomic_store(&ko->fatal, true);
        return BACKPRESSURE;
    }
    settle_produce_error(ko, rec, topic, err);
    return SETTLED;
}

/* Produces rec to topic (handle kt, may be NULL) with its key and headers (hdrs may be
 * NULL; they are the message's on success, freed here otherwise). SETTLED: acked here
 * (over max_message_bytes, or refused). BACKPRESSURE: not taken, offer it again later. */
static enum produce_result produce_msg(struct kafka_out *ko, struct lf_record *rec,
                                       const struct kafka_known_topic *kt, const char *topic,
                                       const char *key, size_t key_len, rd_kafka_headers_t *hdrs,
                                       size_t hdr_bytes)
{
    rd_kafka_resp_err_t err;
    void *opaque;

    if (rec->payload_len + key_len + hdr_bytes > ko->cfg->max_message_bytes) {
        if (hdrs) {
            rd_kafka_headers_destroy(hdrs);
        }
        reject_oversize(ko, rec, topic, rec->payload_len + key_len + hdr_bytes);
        return SETTLED;
    }
    request_topic(ko, topic);
    opaque = kafka_inflight_add(&ko->inflight, rec);
    err = opaque ? send_one(ko, kt, topic, rec, key, key_len, hdrs, opaque)
                 : RD_KAFKA_RESP_ERR__QUEUE_FULL; /* no memory for a slot: later */
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return PRODUCED; /* hdrs now belong to the message */
    }
    if (hdrs) {
        rd_kafka_headers_destroy(hdrs);
    }
    return opaque ? produce_refused(ko, rec, topic, opaque, err) : BACKPRESSURE;
}

/* Produces one record. SETTLED: acked here (rejected before sending). BACKPRESSURE: not
 * taken, offer it again later. */
static enum produce_result produce_one(struct kafka_out *ko, struct lf_record *rec)
{
    char topic_buf[KAFKA_TOPIC_MAX + 1];
    char key[KAFKA_KEY_MAX];
    size_t key_len, hdr_bytes;
    struct kafka_known_topic *kt;
    const char *topic;
    rd_kafka_headers_t *hdrs;

    if (!record_topic(ko, rec, topic_buf, &topic, &kt)) {
        return SETTLED;
    }
    key_len = record_key(ko, rec, key);
    if (build_headers(ko, rec, &hdrs, &hdr_bytes) != 0) {
        return BACKPRESSURE;
    }
    return produce_msg(ko, rec, kt, topic, key, key_len, hdrs, hdr_bytes);
}

/* Produces one dead letter to <its topic><dead_letter.topic_suffix> with the same key, its
 * headers and the logferry-dlt-* ones. Same results as produce_one(); a dead letter too
 * large for the topic is acked with LF_ETOOBIG (the core keeps it in the local store). */
static enum produce_result produce_dead(struct kafka_out *ko, struct lf_record *rec)
{
    char topic_buf[KAFKA_TOPIC_MAX + 1], dlt[KAFKA_TOPIC_MAX + 1];
    char key[KAFKA_KEY_MAX];
    size_t key_len, hdr_bytes;
    struct kafka_known_topic *kt;
    const char *topic;
    rd_kafka_headers_t *hdrs;

    if (!record_topic(ko, rec, topic_buf, &topic, &kt)) {
        return SETTLED;
    }
    int len = snprintf(dlt, sizeof(dlt), "%s%s", topic, lf_out_dead_letter_suffix(ko->ins));
    if (len <= 0 || len > KAFKA_TOPIC_MAX - 1) {
        ack_failed(ko, rec, LF_REJECTED, RD_KAFKA_RESP_ERR__INVALID_ARG, dlt,
                   "dead-letter topic name over 249 characters");
        return SETTLED;
    }
    kt = known_topic(ko, dlt);
    if (kt) {
        topic_open(ko, kt);
    }
    key_len = record_key(ko, rec, key);
    if (build_headers(ko, rec, &hdrs, &hdr_bytes) != 0) {
        return BACKPRESSURE;
    }
    hdrs = hdrs ? hdrs : rd_kafka_headers_new(8);
    if (kafka_dlt_headers(hdrs, rec, topic, ko->cfg->record_headers == KAFKA_RECHDR_NONE,
                          &hdr_bytes) != 0) {
        rd_kafka_headers_destroy(hdrs);
        return BACKPRESSURE;
    }
    return produce_msg(ko, rec, kt, dlt, key, key_len, hdrs, hdr_bytes);
}

/* The core hands over dead letters (lf_output_plugin.dead_letter). */
static int kafka_dead_letter(void *state, struct lf_record *const *recs, size_t n, size_t *accepted)
{
    struct kafka_out *ko = state;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!ko->rk || atomic_load(&ko->fatal) || produce_dead(ko, recs[i]) == BACKPRESSURE) {
            break;
        }
    }
    *accepted = i;
    nudge_if_idle(ko, i);
    return LF_OK;
}

/* True when records have no key and no headers: the case rd_kafka_produce_batch() can
 * take (it has no headers, and we would have to keep a key buffer per message). */
static bool can_batch(const struct kafka_out *ko)
{
    return !ko->key_tpl && ko->nheaders == 0 && ko->cfg->record_headers == KAFKA_RECHDR_NONE;
}

/* Fills ko->batch with up to KAFKA_BATCH messages from recs[from..n). An oversize record
 * is rejected on the spot while the batch is empty, and ends the batch otherwise (a
 * settled record never follows a sent one). Sets *cnt, and *stop when no in-flight slot
 * was free. Returns the index after the last record taken into the batch or settled. */
static size_t fill_batch(struct kafka_out *ko, const char *topic, struct lf_record *const *recs,
                         size_t from, size_t n, size_t *cnt, bool *stop)
{
    rd_kafka_message_t *msgs = ko->batch;
    size_t i;

    *cnt = 0;
    for (i = from; i < n && *cnt < KAFKA_BATCH; i++) {
        struct lf_record *rec = recs[i];
        void *opaque;

        if (rec->payload_len > ko->cfg->max_message_bytes) {
            if (*cnt) {
                break;
            }
            reject_oversize(ko, rec, topic, rec->payload_len);
            continue;
        }
        opaque = kafka_inflight_add(&ko->inflight, rec);
        if (!opaque) {
            *stop = true; /* no memory for a slot: offer the rest again later */
            break;
        }
        msgs[*cnt] = (rd_kafka_message_t){
            .partition = RD_KAFKA_PARTITION_UA,
            .payload = (void *)rec->payload, /* no copy: alive until acked */
            .len = rec->payload_len,
            ._private = opaque,
        };
        ko->batch_idx[(*cnt)++] = (uint32_t)i;
    }
    return i;
}

static int last_produced(const rd_kafka_message_t *msgs, size_t cnt)
{
    int last_ok = -1;

    for (size_t j = 0; j < cnt; j++) {
        if (msgs[j].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            last_ok = (int)j;
        }
    }
    return last_ok;
}

/* After rd_kafka_produce_batch() of cnt messages: a message refused with QUEUE_FULL (or
 * FATAL) is offered again, with every later one, unless a later one went out: then it
 * is acked retriable, so that nothing is sent twice (librdkafka fails every message
 * after the first QUEUE_FULL, so this is only a safety net). Other errors are acked.
 * Returns how many records are taken: `taken`, or fewer (and *stop) when some are
 * offered again. */
static size_t settle_batch(struct kafka_out *ko, struct lf_record *const *recs, const char *topic,
                           size_t cnt, size_t taken, bool *stop)
{
    rd_kafka_message_t *msgs = ko->batch;
    int last_ok = last_produced(msgs, cnt);

    for (size_t j = 0; j < cnt; j++) {
        rd_kafka_resp_err_t err = msgs[j].err;
        bool full = err == RD_KAFKA_RESP_ERR__QUEUE_FULL || err == RD_KAFKA_RESP_ERR__FATAL;

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            continue;
        }
        kafka_inflight_take(&ko->inflight, msgs[j]._private);
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            atomic_store(&ko->fatal, true);
        }
        if (full && (int)j > last_ok) {
            for (size_t k = j + 1; k < cnt; k++) {
                kafka_inflight_take(&ko->inflight, msgs[k]._private);
            }
            *stop = true;
            return ko->batch_idx[j];
        }
        settle_produce_error(ko, recs[ko->batch_idx[j]], topic,
                             full ? RD_KAFKA_RESP_ERR__QUEUE_FULL : err);
    }
    return taken;
}

/* Produces recs[0..n) with one rd_kafka_produce_batch() call per KAFKA_BATCH records:
 * librdkafka then takes its topic lock once per call instead of once per message, and
 * there is no varargs parsing per message. Same outcomes as produce_one(); returns how
 * many records were taken (produced or settled); the rest are offered again. */
static size_t produce_batch(struct kafka_out *ko, struct kafka_known_topic *kt,
                            struct lf_record *const *recs, size_t n)
{
    size_t done = 0;
    bool stop = false;

    request_topic(ko, kt->name);
    while (done < n && !stop) {
        size_t cnt;
        size_t taken = fill_batch(ko, kt->name, recs, done, n, &cnt, &stop);

        if (cnt) {
            rd_kafka_produce_batch(kt->rkt, RD_KAFKA_PARTITION_UA, 0, ko->batch, (int)cnt);
            taken = settle_batch(ko, recs, kt->name, cnt, taken, &stop);
        }
        done = taken;
    }
    return done;
}

static void drain_wake_pipe(struct kafka_out *ko)
{
    char buf[256];

    while (read(ko->wake_pipe[0], buf, sizeof(buf)) > 0) {
    }
}

/* Empties the wake pipe, then serves both queues that write to it (main: delivery reports
 * and errors; admin: CreateTopics results). In that order an event queued meanwhile writes
 * the pipe again, so none is left unannounced. */
static void serve_queues(struct kafka_out *ko)
{
    drain_wake_pipe(ko);
    if (ko->rk) {
        kafka_poll(ko, 0);
        serve_admin(ko);
    }
}

/* Adaptive linger: when only a few messages are in librdkafka (the agent is nearly idle),
 * send them now instead of after linger. rd_kafka_flush() sets librdkafka's "flushing"
 * state, in which its broker threads treat linger as elapsed; it returns once the
 * messages are acknowledged or after KAFKA_NUDGE_MS, serving their delivery reports here.
 * Those reports also wrote the wake pipe: the queues are served once more as service()
 * does (serve_queues), which spares the worker a wake-up per record for reports already
 * served. Under load more than
 * KAFKA_NUDGE_MAX_INFLIGHT messages are queued, nothing is flushed and linger batches as
 * configured. */
static void nudge_if_idle(struct kafka_out *ko, size_t produced)
{
    if (!ko->cfg->adaptive_linger || !produced || !ko->rk || ko->cfg->linger_ms == 0) {
        return;
    }
    if (rd_kafka_outq_len(ko->rk) <= KAFKA_NUDGE_MAX_INFLIGHT) {
        kafka_flush_wait(ko, KAFKA_NUDGE_MS);
        serve_queues(ko);
    }
}

/* Templated topic without key and headers: each run of consecutive records with the same
 * topic goes to produce_batch(); a record whose topic is invalid or has no handle goes
 * through produce_one(). Returns how many records were taken. */
static size_t produce_by_topic(struct kafka_out *ko, struct lf_record *const *recs, size_t n)
{
    char topic[KAFKA_TOPIC_MAX + 1], next[KAFKA_TOPIC_MAX + 1];
    size_t i = 0;

    while (i < n) {
        size_t len = lf_template_render(ko->topic_tpl, recs[i], topic, sizeof(topic));
        struct kafka_known_topic *kt = NULL;
        size_t run = 1, taken;

        if (len > 0 && len <= KAFKA_TOPIC_MAX - 1) {
            kt = known_topic(ko, topic);
        }
        if (kt) {
            topic_open(ko, kt);
        }
        if (!kt || !kt->rkt) {
            if (produce_one(ko, recs[i]) == BACKPRESSURE) {
                break; /* produce_one renders again and reports an invalid name itself */
            }
            i++;
            continue;
        }
        while (i + run < n &&
               lf_template_render(ko->topic_tpl, recs[i + run], next, sizeof(next)) == len &&
               memcmp(next, topic, len) == 0) {
            run++;
        }
        taken = produce_batch(ko, kt, recs + i, run);
        i += taken;
        if (taken < run) {
            break; /* backpressure */
        }
    }
    return i;
}

static int kafka_submit(void *state, struct lf_record *const *recs, size_t n, size_t *accepted)
{
    struct kafka_out *ko = state;
    size_t i;

    if (ko->rk && !atomic_load(&ko->fatal) && can_batch(ko)) {
        *accepted = ko->fixed && ko->fixed->rkt ? produce_batch(ko, ko->fixed, recs, n)
                                                : produce_by_topic(ko, recs, n);
        nudge_if_idle(ko, *accepted);
        return LF_OK;
    }
    for (i = 0; i < n; i++) {
        if (!ko->rk || atomic_load(&ko->fatal)) {
            break; /* service() rebuilds the client; the core offers these again */
        }
        if (produce_one(ko, recs[i]) == BACKPRESSURE) {
            break;
        }
    }
    *accepted = i;
    nudge_if_idle(ko, i);
    return LF_OK;
}

static int kafka_service(void *state)
{
    struct kafka_out *ko = state;

    serve_queues(ko);
    if (ko->rk && atomic_load(&ko->fatal)) {
        client_close(ko); /* acks everything in flight LF_RETRY: the core re-submits */
    }
    if (!ko->rk && !lf_out_is_stopping(ko->ins)) {
        if (client_open(ko) == LF_OK) {
            lf_out_log(ko->ins, LF_LOG_INFO, "producer rebuilt");
        } else {
            lf_out_service_in(ko->ins, KAFKA_REBUILD_MS);
        }
    }
    return LF_OK;
}

static int kafka_flush(void *state, int timeout_ms)
{
    struct kafka_out *ko = state;
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    while (ko->rk && ko->inflight.used) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            break;
        }
        /* rd_kafka_flush serves delivery reports on this thread while it waits. */
        kafka_flush_wait(ko, (int)(left < 100 ? left : 100));
    }
    if (ko->inflight.used) {
        lf_out_log(ko->ins, LF_LOG_WARN,
                   "%u record(s) still in flight after %d ms; reporting them retriable",
                   ko->inflight.used, timeout_ms);
        ko->maybe_stored = 0;
        purge_and_serve(ko, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        lf_out_log(ko->ins, LF_LOG_WARN,
                   "shutdown: %u of them possibly stored already (sent, never acknowledged: "
                   "they may arrive twice)",
                   ko->maybe_stored + ko->inflight.used);
        settle_inflight(ko, "kafka: not acknowledged before the shutdown deadline");
    }
    return LF_OK;
}

/* The core's breaker opened: hand back as LF_RETRY what librdkafka has not sent yet, so it
 * goes to the spool. Records on the wire stay in flight until their delivery reports:
 * purging them too (RD_KAFKA_PURGE_F_INFLIGHT) voids acknowledgements the brokers may still
 * send for records they stored, and the core sends them again from the spool (duplicates
 * even when every broker is up, just slow). */
static int kafka_purge(void *state)
{
    struct kafka_out *ko = state;

    if (ko->inflight.used) {
        unsigned before = ko->inflight.used;
        ko->maybe_stored = 0;
        purge_and_serve(ko, RD_KAFKA_PURGE_F_QUEUE); /* the reports hand them back */
        lf_out_log(ko->ins, LF_LOG_WARN,
                   "breaker open: handed back %u of %u record(s) in flight (the rest when "
                   "librdkafka reports them); %u of them possibly stored already (sent "
                   "before the connection failed: they may arrive twice)",
                   before - ko->inflight.used, before, ko->maybe_stored);
    }
    return LF_OK;
}

static const struct lf_output_plugin kafka_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "kafka",
    .description = "Apache Kafka (librdkafka), acked from delivery reports",
    .options = kafka_options,
    .config_size = sizeof(struct kafka_config),
    .validate = kafka_validate,
    .init = kafka_init,
    .submit = kafka_submit,
    .service = kafka_service,
    .flush = kafka_flush,
    .destroy = kafka_destroy,
    .purge = kafka_purge,
    .dead_letter = kafka_dead_letter,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void);

const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &kafka_plugin;
}
