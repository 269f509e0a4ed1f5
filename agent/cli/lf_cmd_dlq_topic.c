/* lf_cmd_dlq_topic.c - `logferry dlq list|show|replay --from-topic T`: the messages of a
 * Kafka dead-letter topic (written by the kafka output with the logferry-dlt-* headers)
 * read into a struct lf_dlq_store, so list, show and replay work on them as on the local
 * store.
 *
 * The brokers are those of a kafka output of the config (--output O, else the first).
 * The topic is read from its low to its high watermark on every partition at the time
 * of the call, without a consumer group and without committing anything. A topic cannot
 * be rewritten, so a replay journals the ids it delivered in
 * <state_dir>/dead-letter/topic-<T>.done and later runs skip them.
 * librdkafka is loaded on demand (dlopen) like libmicrohttpd: the agent does not link it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lf_buf.h"
#include "lf_cmd_dlq.h"
#include "lf_conf.h"
#include "logferry/lf_err.h"

#if __has_include(<librdkafka/rdkafka.h>)
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>

#define TOPIC_TIMEOUT_MS 10000
#define TOPIC_READ_MS    30000

struct rk {
    __typeof__(rd_kafka_conf_new) *conf_new;
    __typeof__(rd_kafka_conf_set) *conf_set;
    __typeof__(rd_kafka_new) *create;
    __typeof__(rd_kafka_destroy) *destroy;
    __typeof__(rd_kafka_metadata) *metadata;
    __typeof__(rd_kafka_metadata_destroy) *metadata_destroy;
    __typeof__(rd_kafka_query_watermark_offsets) *watermarks;
    __typeof__(rd_kafka_topic_partition_list_new) *tpl_new;
    __typeof__(rd_kafka_topic_partition_list_add) *tpl_add;
    __typeof__(rd_kafka_topic_partition_list_destroy) *tpl_destroy;
    __typeof__(rd_kafka_assign) *assign;
    __typeof__(rd_kafka_consumer_poll) *poll;
    __typeof__(rd_kafka_consumer_close) *close;
    __typeof__(rd_kafka_message_destroy) *msg_destroy;
    __typeof__(rd_kafka_message_headers) *headers;
    __typeof__(rd_kafka_header_get_last) *header;
    __typeof__(rd_kafka_message_timestamp) *timestamp;
    __typeof__(rd_kafka_err2str) *err2str;
    rd_kafka_t *h;
};

static int topic_load_lib(struct rk *k)
{
    void *dl = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    const struct {
        const char *name;
        void *slot;
    } syms[] = {
        {"rd_kafka_conf_new", &k->conf_new},
        {"rd_kafka_conf_set", &k->conf_set},
        {"rd_kafka_new", &k->create},
        {"rd_kafka_destroy", &k->destroy},
        {"rd_kafka_metadata", &k->metadata},
        {"rd_kafka_metadata_destroy", &k->metadata_destroy},
        {"rd_kafka_query_watermark_offsets", &k->watermarks},
        {"rd_kafka_topic_partition_list_new", &k->tpl_new},
        {"rd_kafka_topic_partition_list_add", &k->tpl_add},
        {"rd_kafka_topic_partition_list_destroy", &k->tpl_destroy},
        {"rd_kafka_assign", &k->assign},
        {"rd_kafka_consumer_poll", &k->poll},
        {"rd_kafka_consumer_close", &k->close},
        {"rd_kafka_message_destroy", &k->msg_destroy},
        {"rd_kafka_message_headers", &k->headers},
        {"rd_kafka_header_get_last", &k->header},
        {"rd_kafka_message_timestamp", &k->timestamp},
        {"rd_kafka_err2str", &k->err2str},
    };
    if (!dl) {
        fprintf(stderr, "logferry dlq: --from-topic needs librdkafka (librdkafka1): %s\n",
                dlerror());
        return LF_ENOTFOUND;
    }
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        void *sym = dlsym(dl, syms[i].name);
        memcpy(syms[i].slot, &sym, sizeof(sym));
        if (!sym) {
            fprintf(stderr, "logferry dlq: librdkafka has no %s\n", syms[i].name);
            return LF_ENOTFOUND;
        }
    }
    return LF_OK;
}

/* "h1:9092,h2:9092" from the brokers option of a kafka output (name, or the first). */
static int topic_brokers(const struct lf_config *cfg, const char *name, struct lf_buf *b)
{
    for (size_t i = 0; i < cfg->outputs.n; i++) {
        const struct lf_output_conf *o = lf_conf_output(cfg, i);
        if (strcmp(o->plugin, "kafka") != 0 || (name && strcmp(o->name, name) != 0)) {
            continue;
        }
        for (const struct lf_opt *opt = o->handle.desc->options; opt && opt->name; opt++) {
            if (strcmp(opt->name, "brokers") == 0 && opt->type == LF_OPT_LIST) {
                const struct lf_list *l =
                    (const struct lf_list *)((const char *)o->plugin_config + opt->offset);
                for (size_t j = 0; j < l->n; j++) {
                    lf_buf_printf(b, "%s%s", j ? "," : "", l->str[j]);
                }
                return b->len ? LF_OK : LF_ENOTFOUND;
            }
        }
    }
    fprintf(stderr, "logferry dlq: --from-topic: no kafka output%s%s%s in %s\n",
            name ? " named '" : "", name ? name : "", name ? "'" : "", cfg->path);
    return LF_ENOTFOUND;
}

static int topic_connect(struct rk *k, const char *brokers)
{
    char err[512];
    rd_kafka_conf_t *conf = k->conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", brokers},        {"group.id", "logferry-dlq"},
        {"enable.auto.commit", "false"},       {"enable.auto.offset.store", "false"},
        {"allow.auto.create.topics", "false"}, {"log_level", "3"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        if (k->conf_set(conf, kv[i][0], kv[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "logferry dlq: %s\n", err);
        }
    }
    k->h = k->create(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!k->h) {
        fprintf(stderr, "logferry dlq: cannot create a Kafka consumer: %s\n", err);
        return LF_EBROKER;
    }
    return LF_OK;
}

/* The metadata of topic in md (all topics are asked for: asking for one by name may
 * create it on a cluster that auto-creates topics). NULL: no such topic. */
static const struct rd_kafka_metadata_topic *topic_find(const struct rd_kafka_metadata *md,
                                                        const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err) {
            return &md->topics[i];
        }
    }
    return NULL;
}

/* The partitions of topic with their [low, high) offsets into tpl (non-empty ones). */
static int topic_partitions(struct rk *k, const char *topic, rd_kafka_topic_partition_list_t *tpl,
                            int64_t *total)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = k->metadata(k->h, 1, NULL, &md, TOPIC_TIMEOUT_MS);
    const struct rd_kafka_metadata_topic *t = e ? NULL : topic_find(md, topic);
    if (!e && !t) {
        e = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    }
    for (int p = 0; t && e == RD_KAFKA_RESP_ERR_NO_ERROR && p < t->partition_cnt; p++) {
        int64_t lo, hi;
        int32_t id = t->partitions[p].id;
        e = k->watermarks(k->h, topic, id, &lo, &hi, TOPIC_TIMEOUT_MS);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && hi > lo) {
            k->tpl_add(tpl, topic, id)->offset = lo;
            *total += hi - lo;
        }
    }
    if (md) {
        k->metadata_destroy(md);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "logferry dlq: topic '%s': %s\n", topic, k->err2str(e));
        return e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? LF_ENOTFOUND : LF_EBROKER;
    }
    return LF_OK;
}

/* A header's value as a new string (NULL if absent). */
static char *topic_header(struct rk *k, rd_kafka_headers_t *hdrs, const char *name)
{
    const void *v;
    size_t n;
    if (!hdrs || k->header(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v) {
        return NULL;
    }
    return strndup(v, n);
}

static int64_t topic_int(const char *s)
{
    char *end;
    long long v = s ? strtoll(s, &end, 10) : -1;
    return s && end != s && !*end ? v : -1;
}

/* One message into an entry of s; false when it is not a dead letter (reported). */
static bool topic_entry(struct rk *k, struct lf_dlq_store *s, rd_kafka_message_t *m)
{
    struct lf_dlq_item e = {.code = -1, .lineno = (size_t)m->offset};
    rd_kafka_headers_t *hdrs = NULL;
    k->headers(m, &hdrs);
    e.id = topic_header(k, hdrs, "logferry-id");
    e.error = topic_header(k, hdrs, "logferry-dlt-error");
    e.destination = topic_header(k, hdrs, "logferry-dlt-topic");
    char *att = topic_header(k, hdrs, "logferry-dlt-attempts");
    char *first = topic_header(k, hdrs, "logferry-dlt-first-failure");
    e.attempts = topic_int(att);
    e.first_ms = first ? lf_dlq_parse_time(first) : 0;
    e.first_ms = e.first_ms > 0 ? e.first_ms : 0;
    e.time_ms = k->timestamp(m, NULL);
    e.time_ms = e.time_ms > 0 ? e.time_ms : 0;
    e.reason = strdup("dlt");
    e.line = strndup(m->payload ? m->payload : "", m->len);
    e.len = m->len;
    e.rec = e.line;
    e.rec_len = e.len;
    free(att);
    free(first);
    bool ok = e.id && strlen(e.id) < 33 && e.line && e.len && e.line[0] == '{';
    if (ok && lf_dlq_store_is_done(s, e.id)) {
        s->hidden++;
        ok = false;
    } else if (!ok) {
        s->corrupt++;
        fprintf(stderr,
                "logferry dlq: %s: partition %d offset %lld: not a dead letter "
                "(no logferry-id header, or not a JSON record), skipped\n",
                s->path, (int)m->partition, (long long)m->offset);
    }
    ok = ok && lf_dlq_store_add(s, &e) == LF_OK;
    if (!ok) {
        lf_dlq_entry_fini(&e);
    }
    return ok;
}

/* Polls until every partition reached its high watermark of the start, or the deadline. */
static int topic_read(struct rk *k, struct lf_dlq_store *s, int64_t total)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + TOPIC_READ_MS;
    int64_t seen = 0;
    while (seen < total) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 > deadline) {
            fprintf(stderr, "logferry dlq: %s: read %lld of %lld messages in %d s, giving up\n",
                    s->path, (long long)seen, (long long)total, TOPIC_READ_MS / 1000);
            return LF_EBROKER;
        }
        rd_kafka_message_t *m = k->poll(k->h, 200);
        if (!m) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            seen++;
            topic_entry(k, s, m);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "logferry dlq: %s: %s\n", s->path, k->err2str(m->err));
        }
        k->msg_destroy(m);
    }
    return LF_OK;
}

int lf_dlq_topic_load(const struct lf_config *cfg, const char *output, const char *topic,
                      struct lf_dlq_store *s)
{
    char path[4096];
    struct rk k = {0};
    struct lf_buf brokers;
    int64_t total = 0;
    snprintf(path, sizeof(path), "%s/dead-letter/topic-%s", cfg->agent.state_dir, topic);
    int rc = lf_dlq_store_init(path, topic, s);
    s->from_topic = true;
    lf_buf_init(&brokers, 0);
    rc = rc == LF_OK ? topic_brokers(cfg, output, &brokers) : rc;
    rc = rc == LF_OK ? topic_load_lib(&k) : rc;
    rc = rc == LF_OK ? topic_connect(&k, brokers.data) : rc;
    lf_buf_fini(&brokers);
    if (rc != LF_OK) {
        return rc == LF_ENOTFOUND ? LF_EINVAL : rc;
    }
    rd_kafka_topic_partition_list_t *tpl = k.tpl_new(8);
    rc = topic_partitions(&k, topic, tpl, &total);
    if (rc == LF_OK && total > 0) {
        rd_kafka_resp_err_t e = k.assign(k.h, tpl);
        rc = e == RD_KAFKA_RESP_ERR_NO_ERROR ? topic_read(&k, s, total) : LF_EBROKER;
        k.assign(k.h, NULL);
    }
    k.tpl_destroy(tpl);
    k.close(k.h);
    k.destroy(k.h);
    return rc;
}

#else /* built without librdkafka's headers */

int lf_dlq_topic_load(const struct lf_config *cfg, const char *output, const char *topic,
                      struct lf_dlq_store *s)
{
    (void)cfg;
    (void)output;
    memset(s, 0, sizeof(*s));
    s->journal_fd = -1;
    fprintf(stderr,
            "logferry dlq: --from-topic %s: this logferry was built without "
            "librdkafka\n",
            topic);
    return LF_EINVAL;
}

#endif
