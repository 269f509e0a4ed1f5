/* check_kafka.c - out_kafka.so driven in-process against mock-kafka, read back with kcat.
 *
 * Each test starts its own mock-kafka cluster with its own topics, feeds records through
 * the plugin's submit/service loop (kafka_harness.c plays the core), and checks acks and
 * what kcat reads back: exactly once, topic per type, key, headers, body, per-key order.
 * Waits are bounded loops on events (acks, watermarks), never fixed sleeps.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_harness.h"

#define NKEYS 16

static const char *types[] = {"raw", "request", "error", "query"};
static char topic_prefix[64];
static size_t big_index = SIZE_MAX;

static size_t make_record(size_t i, struct lf_record *rec)
{
    char *p;
    size_t pad = i == big_index ? 1500000 : 40;
    size_t cap = pad + 512;

    p = malloc(cap);
    rec->type = (enum lf_record_type)(i % 4);
    snprintf(rec->id, sizeof(rec->id), "%016zx%016zx", (size_t)0xfeed, i);
    rec->source = "/var/log/app.log";
    int n = snprintf(p, cap,
                     "{\"@timestamp\":\"2024-01-01T00:00:00.000Z\",\"type\":\"%s\",\"id\":\"%s\","
                     "\"service.name\":\"svc-%zu\",\"seq\":%zu,\"n\":%zu,\"message\":\"",
                     types[i % 4], rec->id, i % NKEYS, i / NKEYS, i);
    memset(p + n, 'x', pad);
    memcpy(p + n + pad, "\"}", 3);
    rec->payload = p;
    rec->payload_len = (size_t)n + pad + 2;
    return rec->payload_len;
}

static struct kafka_config *default_config(struct mock_kafka *mk, const char *prefix)
{
    static char *broker;
    static struct kafka_config cfg;
    static char topic[128];

    snprintf(topic_prefix, sizeof(topic_prefix), "%s", prefix);
    snprintf(topic, sizeof(topic), "%s.{{type}}", prefix);
    broker = mk->bootstraps;
    cfg = (struct kafka_config){
        .brokers = {.n = 1, .str = &broker},
        .topic = topic,
        .key = "{{service.name}}",
        .acks = KAFKA_ACKS_ALL,
        .idempotence = true,
        .compression = KAFKA_COMP_LZ4,
        .linger_ms = 5,
        .batch_size = 1024 * 1024,
        .max_message_bytes = 1000000,
        .record_headers = KAFKA_RECHDR_ALL, /* readback checks the logferry-* headers */
        .tls = {.verify = true},
        .partitions = 3,
        .replication_factor = 3,
    };
    /* KAFKA_TEST_COMPRESSION=none|gzip|snappy|lz4|zstd: used to compare codecs. */
    const char *comp = getenv("KAFKA_TEST_COMPRESSION");
    static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (int c = 0; comp && c < 5; c++) {
        if (strcmp(comp, codecs[c]) == 0) {
            cfg.compression = c;
        }
    }
    return &cfg;
}

/* Per test: a fresh cluster with the four type topics of prefix, 8 partitions each. */
static void start_cluster(struct mock_kafka *mk, const char *prefix)
{
    static char specs[4][128];
    const char *args[16];
    int n = 0;

    args[n++] = "-b";
    args[n++] = "3";
    for (int t = 0; t < 4; t++) {
        snprintf(specs[t], sizeof(specs[t]), "%s.%s:8:3", prefix, types[t]);
        args[n++] = "-t";
        args[n++] = specs[t];
    }
    args[n] = NULL;
    ck_assert_int_eq(mk_start(mk, args), 0);
}

static const char *plugin_path(void)
{
    const char *p = getenv("OUT_KAFKA_SO");
    return p ? p : "plugins/out_kafka/out_kafka.so";
}

struct readback {
    size_t total, dups, bad_meta, order_violations;
    unsigned char *seen; /* per record index */
};

static long field_num(const char *json, const char *name)
{
    char pat[64];
    const char *v;

    snprintf(pat, sizeof(pat), "\"%s\":", name);
    v = strstr(json, pat);
    return v ? strtol(v + strlen(pat), NULL, 10) : -1;
}

/* Reads all four topics back and checks every message against the record it came from. */
static void read_back(struct harness *h, struct mock_kafka *mk, struct readback *rb)
{
    static char line[2 * 1024 * 1024];
    long last_seq[NKEYS];

    memset(rb, 0, sizeof(*rb));
    rb->seen = calloc(h->nrecs, 1);
    for (int t = 0; t < 4; t++) {
        char topic[128];
        FILE *f;

        for (int k = 0; k < NKEYS; k++) {
            last_seq[k] = -1;
        }
        snprintf(topic, sizeof(topic), "%s.%s", topic_prefix, types[t]);
        f = kcat_read(mk, topic);
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f)) {
            char key[64], hdrs[512], expect[512];
            int part;
            long n, seq;

            if (sscanf(line, "%d\t%63[^\t]\t%511[^\t]\t", &part, key, hdrs) != 3) {
                rb->bad_meta++;
                continue;
            }
            n = field_num(line, "n");
            seq = field_num(line, "seq");
            rb->total++;
            if (n < 0 || (size_t)n >= h->nrecs) {
                rb->bad_meta++;
                continue;
            }
            if (rb->seen[n]++) {
                rb->dups++;
            }
            snprintf(expect, sizeof(expect),
                     "logferry-id=%s,logferry-type=%s,logferry-source=/var/log/app.log",
                     h->recs[n].rec.id, types[t]);
            char want_key[32];
            snprintf(want_key, sizeof(want_key), "svc-%ld", n % NKEYS);
            if ((size_t)n % 4 != (size_t)t || strcmp(hdrs, expect) != 0 ||
                strcmp(key, want_key) != 0 || !strstr(line, "\"type\":\"")) {
                rb->bad_meta++;
            }
            if (seq <= last_seq[n % NKEYS]) {
                rb->order_violations++;
            }
            last_seq[n % NKEYS] = seq;
        }
        pclose(f);
    }
}

static void assert_exactly_once(struct harness *h, struct mock_kafka *mk)
{
    struct readback rb;
    size_t missing = 0;

    read_back(h, mk, &rb);
    for (size_t i = 0; i < h->nrecs; i++) {
        if (!h->recs[i].rejected && !rb.seen[i]) {
            missing++;
        }
    }
    fprintf(stderr, "read back %zu, missing %zu, dups %zu, bad %zu, order %zu\n", rb.total, missing,
            rb.dups, rb.bad_meta, rb.order_violations);
    ck_assert_uint_eq(missing, 0);
    ck_assert_uint_eq(rb.dups, 0);
    ck_assert_uint_eq(rb.bad_meta, 0);
    ck_assert_uint_eq(rb.order_violations, 0);
    free(rb.seen);
}

static bool never(struct harness *h)
{
    return false;
}

static size_t target_delivered;
static bool delivered_enough(struct harness *h)
{
    return h->delivered >= target_delivered;
}

static bool all_acked_once(struct harness *h)
{
    return h->retried >= h->nrecs;
}

START_TEST(test_deliver_100k)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());
    int64_t t0;

    ck_assert_ptr_nonnull(h);
    start_cluster(&mk, "bulk");
    ck_assert_int_eq(h_init(h, default_config(&mk, "bulk")), LF_OK);
    h_add_records(h, 100000, make_record);
    t0 = h_now_ms();
    h_run_until(h, h_all_settled, 90000);
    int64_t dt = h_now_ms() - t0;
    fprintf(stderr, "100000 records delivered in %" PRId64 " ms (%.0f records/s)\n", dt,
            100000.0 * 1000.0 / (double)(dt ? dt : 1));
    ck_assert_uint_eq(h->delivered, 100000);
    ck_assert_uint_eq(h->double_acks, 0);
    ck_assert_uint_eq(h->rejected, 0);
    ck_assert(h->ready);
    assert_exactly_once(h, &mk);
    ck_assert_int_eq(h_flush(h, 1000), LF_OK);
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_oversize_rejected)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());

    start_cluster(&mk, "big");
    big_index = 777;
    ck_assert_int_eq(h_init(h, default_config(&mk, "big")), LF_OK);
    h_add_records(h, 2000, make_record);
    h_run_until(h, h_all_settled, 30000);
    ck_assert_uint_eq(h->rejected, 1);
    ck_assert(h->recs[777].rejected);
    ck_assert_ptr_nonnull(strstr(h->recs[777].reason, "max_message_bytes"));
    ck_assert_uint_eq(h->delivered, 1999);
    ck_assert_uint_eq(h->double_acks, 0);
    assert_exactly_once(h, &mk);
    big_index = SIZE_MAX;
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

/* No key, no headers: the plugin's rd_kafka_produce_batch() path, with one constant topic
 * or a topic per type (runs of one record: types alternate). A small librdkafka queue
 * forces QUEUE_FULL inside batches; one record is oversize; every record is read back
 * exactly once. */
static void run_batch_path(const char *prefix, bool templated)
{
    static char line[2 * 1024 * 1024];
    static struct lf_kv props[] = {{"queue.buffering.max.messages", "500"}};
    static char topic_tpl[128];
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());
    struct kafka_config *cfg;
    unsigned char *seen;
    size_t total = 0, dups = 0, missing = 0;

    start_cluster(&mk, prefix);
    big_index = 777;
    cfg = default_config(&mk, prefix);
    snprintf(topic_tpl, sizeof(topic_tpl), templated ? "%s.{{type}}" : "%s.raw", prefix);
    cfg->topic = topic_tpl;
    cfg->key = NULL;
    cfg->record_headers = KAFKA_RECHDR_NONE;
    cfg->librdkafka = (struct lf_kvlist){.n = 1, .v = props};
    ck_assert_int_eq(h_init(h, cfg), LF_OK);
    ck_assert_str_eq(mk_cmd(&mk, "err Produce NOT_LEADER_FOR_PARTITION 3"), "ok");
    h_add_records(h, 20000, make_record);
    h_run_until(h, h_all_settled, 60000);
    ck_assert_uint_eq(h->rejected, 1);
    ck_assert(h->recs[777].rejected);
    ck_assert_uint_eq(h->delivered, 19999);
    ck_assert_uint_eq(h->double_acks, 0);
    seen = calloc(h->nrecs, 1);
    for (int t = 0; t < (templated ? 4 : 1); t++) {
        char topic[160];
        FILE *f;

        snprintf(topic, sizeof(topic), "%s.%s", prefix, templated ? types[t] : "raw");
        f = kcat_read(&mk, topic);
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f)) {
            long n = field_num(line, "n");
            ck_assert(n >= 0 && (size_t)n < h->nrecs);
            ck_assert(!templated || (size_t)n % 4 == (size_t)t);
            total++;
            dups += seen[n]++ != 0;
        }
        pclose(f);
    }
    for (size_t i = 0; i < h->nrecs; i++) {
        missing += !h->recs[i].rejected && !seen[i];
    }
    fprintf(stderr, "batch path (%s): read back %zu, missing %zu, dups %zu\n", topic_tpl, total,
            missing, dups);
    ck_assert_uint_eq(missing, 0);
    ck_assert_uint_eq(dups, 0);
    free(seen);
    big_index = SIZE_MAX;
    h_destroy(h);
    mk_stop(&mk);
}

START_TEST(test_batch_path_exactly_once)
{
    run_batch_path("batch", false);
}
END_TEST

START_TEST(test_batch_by_topic_exactly_once)
{
    run_batch_path("bytopic", true);
}
END_TEST

START_TEST(test_transient_errors_no_loss_no_dup)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());

    start_cluster(&mk, "flaky");
    ck_assert_int_eq(h_init(h, default_config(&mk, "flaky")), LF_OK);
    ck_assert_str_eq(mk_cmd(&mk, "err Produce NOT_LEADER_FOR_PARTITION 5"), "ok");
    ck_assert_str_eq(mk_cmd(&mk, "err Produce REQUEST_TIMED_OUT 3"), "ok");
    h_add_records(h, 20000, make_record);
    target_delivered = 5000;
    h_run_until(h, delivered_enough, 30000);
    ck_assert_str_eq(mk_cmd(&mk, "err Produce NOT_ENOUGH_REPLICAS 4"), "ok");
    h_run_until(h, h_all_settled, 60000);
    ck_assert_uint_eq(h->delivered, 20000);
    ck_assert_uint_eq(h->rejected, 0);
    ck_assert_uint_eq(h->double_acks, 0);
    assert_exactly_once(h, &mk);
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

/* Connections dropped with requests on the wire: nothing lost, no record acknowledged
 * twice. librdkafka resends the requests whose answers were lost with the same producer
 * id and sequence; the mock cluster does not always recognise them (docs/chaos.md, "The
 * mock cluster is not a perfect broker"), so a record may be stored twice, but only one
 * that was not yet acknowledged when the connections dropped: every record delivered
 * before is stored exactly once. */
START_TEST(test_transport_errors_no_loss)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());
    struct readback rb;
    size_t missing = 0, stored_again = 0;

    start_cluster(&mk, "cut");
    ck_assert_int_eq(h_init(h, default_config(&mk, "cut")), LF_OK);
    h_add_records(h, 20000, make_record);
    target_delivered = 5000;
    h_run_until(h, delivered_enough, 30000);
    bool *done_before = calloc(h->nrecs, sizeof(*done_before));
    ck_assert_ptr_nonnull(done_before);
    for (size_t i = 0; i < h->nrecs; i++) {
        done_before[i] = h->recs[i].delivered;
    }
    ck_assert_str_eq(mk_cmd(&mk, "err Produce _TRANSPORT 2"), "ok");
    h_run_until(h, h_all_settled, 60000);
    ck_assert_uint_eq(h->delivered, 20000);
    ck_assert_uint_eq(h->rejected, 0);
    ck_assert_uint_eq(h->double_acks, 0);
    read_back(h, &mk, &rb);
    for (size_t i = 0; i < h->nrecs; i++) {
        missing += !rb.seen[i];
        stored_again += done_before[i] && rb.seen[i] > 1;
    }
    fprintf(stderr,
            "transport errors: read back %zu, missing %zu, dups %zu (handed back %zu), "
            "delivered before the cut and stored again %zu\n",
            rb.total, missing, rb.dups, h->retried, stored_again);
    ck_assert_uint_eq(missing, 0);
    ck_assert_uint_eq(rb.bad_meta, 0);
    ck_assert_uint_eq(stored_again, 0);
    free(done_before);
    free(rb.seen);
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_brokers_down_20s)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());

    start_cluster(&mk, "outage");
    ck_assert_int_eq(h_init(h, default_config(&mk, "outage")), LF_OK);
    h_reserve(h, 30000);
    h_add_records(h, 10000, make_record);
    h_run_until(h, h_all_settled, 30000);
    ck_assert_uint_eq(h->delivered, 10000);
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    h_add_records(h, 20000, make_record); /* mid-stream: these meet the outage */
    h_run_until(h, never, 20000);         /* the loop keeps running for 20 s */
    fprintf(stderr, "during outage: delivered %zu more, in flight %zu, retried %zu\n",
            h->delivered - 10000, h->inflight, h->retried);
    ck_assert_uint_eq(h->rejected, 0);
    ck_assert_uint_eq(h->delivered, 10000);
    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    h_run_until(h, h_all_settled, 60000);
    ck_assert_uint_eq(h->delivered, 30000);
    ck_assert_uint_eq(h->double_acks, 0);
    assert_exactly_once(h, &mk);
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_flush_acks_retry_by_deadline)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());

    start_cluster(&mk, "stop");
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    ck_assert_int_eq(h_init(h, default_config(&mk, "stop")), LF_OK);
    h_add_records(h, 1000, make_record);
    target_delivered = 1;
    h_run_until(h, delivered_enough, 500); /* submits everything; nothing can deliver */
    ck_assert_uint_eq(h->inflight, 1000);
    int64_t t0 = h_now_ms();
    ck_assert_int_eq(h_flush(h, 1000), LF_OK);
    int64_t dt = h_now_ms() - t0;
    ck_assert_int_lt(dt, 4000);
    ck_assert_uint_eq(h->inflight, 0);
    ck_assert_uint_eq(h->retried, 1000);
    ck_assert_uint_eq(h->delivered, 0);
    h_destroy(h); /* late reports after the purge must not ack again */
    mk_stop(&mk);
}
END_TEST

/* The core's breaker opens (plugin->purge) while produce requests are on the wire to a slow
 * but live cluster: the records stay with the idempotent producer until their reports and
 * are delivered once. Purging them voided acks for records the brokers stored: sent again
 * from the spool, they arrived twice (seen by the chaos run, tests/chaos, with one broker
 * down and the breaker opening on the stall). */
START_TEST(test_breaker_purge_keeps_records_on_the_wire)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());

    start_cluster(&mk, "purge");
    ck_assert_int_eq(h_init(h, default_config(&mk, "purge")), LF_OK);
    h_add_records(h, 100, make_record);
    h_run_until(h, h_all_settled, 30000); /* connected: metadata known */
    ck_assert_str_eq(mk_cmd(&mk, "rtt all 2000"), "ok");
    h_add_records(h, 2000, make_record);
    h_run_until(h, never, 700); /* submitted and sent; the answers take 2 s */
    ck_assert_uint_gt(h->inflight, 0);
    ck_assert_int_eq(h->plugin->purge(h->state), LF_OK);
    ck_assert_str_eq(mk_cmd(&mk, "rtt all 0"), "ok");
    h_run_until(h, h_all_settled, 30000);
    ck_assert_uint_eq(h->delivered, 2100);

    ck_assert_uint_eq(h->double_acks, 0);
    assert_exactly_once(h, &mk);
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_message_timeout_is_retriable)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());
    static struct lf_kv props[] = {{"message.timeout.ms", "1000"}};

    start_cluster(&mk, "tmo");
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    struct kafka_config *cfg = default_config(&mk, "tmo");
    cfg->librdkafka = (struct lf_kvlist){.n = 1, .v = props};
    ck_assert_int_eq(h_init(h, cfg), LF_OK);
    h_add_records(h, 200, make_record);
    h_run_until(h, all_acked_once, 15000);
    ck_assert_uint_ge(h->retried, 200);
    ck_assert_uint_eq(h->rejected, 0);
    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    h_run_until(h, h_all_settled, 30000);
    ck_assert_uint_eq(h->delivered, 200);
    ck_assert_uint_eq(h->double_acks, 0);
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_missing_topic_rejected_naming_topic)
{
    struct mock_kafka mk = {0};
    struct harness *h = h_create(plugin_path());
    static struct lf_kv props[] = {{"topic.metadata.propagation.max.ms", "500"}};

    start_cluster(&mk, "present");
    struct kafka_config *cfg = default_config(&mk, "absent");
    cfg->librdkafka = (struct lf_kvlist){.n = 1, .v = props};
    /* The 2.0.2 mock auto-creates any topic it is asked about; a metadata error makes
     * these behave as missing, as a real cluster with auto-creation off does. */
    for (int t = 0; t < 4; t++) {
        ck_assert_str_eq(mk_cmd(&mk, "topicerr absent.%s UNKNOWN_TOPIC_OR_PART", types[t]), "ok");
    }
    ck_assert_int_eq(h_init(h, cfg), LF_OK);
    h_add_records(h, 8, make_record);
    h_run_until(h, h_all_settled, 20000);
    ck_assert_uint_eq(h->rejected, 8);
    ck_assert_ptr_nonnull(strstr(h->recs[1].reason, "absent.request"));
    ck_assert_ptr_nonnull(strstr(h->last_error, "does not exist"));
    ck_assert_ptr_nonnull(strstr(h->last_error, "create_topics"));
    h_destroy(h);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_validate_names_rejected_keys)
{
    struct mock_kafka mk = {.bootstraps = "127.0.0.1:9"};
    struct harness *h = h_create(plugin_path());
    static struct lf_kv props[] = {{"no.such.property", "1"}, {"linger.ms", "soon"}};
    struct kafka_config *cfg = default_config(&mk, "cfg");

    ck_assert_int_eq(h_validate(h, cfg), LF_OK);
    cfg->librdkafka = (struct lf_kvlist){.n = 2, .v = props};
    ck_assert_int_eq(h_validate(h, cfg), LF_ECONFIG);
    ck_assert_int_ge(h->errors_logged, 2);
    ck_assert_ptr_nonnull(strstr(h->last_error, "librdkafka.linger.ms"));
    cfg->librdkafka = (struct lf_kvlist){0};
    cfg->acks = KAFKA_ACKS_LEADER; /* idempotence needs acks all */
    ck_assert_int_eq(h_validate(h, cfg), LF_ECONFIG);
    cfg->acks = KAFKA_ACKS_ALL;
    cfg->sasl.mechanism = KAFKA_SASL_SCRAM512; /* without credentials */
    ck_assert_int_eq(h_validate(h, cfg), LF_ECONFIG);
    ck_assert_ptr_nonnull(strstr(h->last_error, "sasl"));
    cfg->sasl = (struct kafka_sasl){KAFKA_SASL_PLAIN, "u", "p"};
    ck_assert_int_eq(h_validate(h, cfg), LF_OK);
    h_destroy(h);
}
END_TEST

static Suite *kafka_suite(void)
{
    Suite *s = suite_create("kafka");
    TCase *tc = tcase_create("plugin");

    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, test_validate_names_rejected_keys);
    tcase_add_test(tc, test_deliver_100k);
    tcase_add_test(tc, test_oversize_rejected);
    tcase_add_test(tc, test_batch_path_exactly_once);
    tcase_add_test(tc, test_batch_by_topic_exactly_once);
    tcase_add_test(tc, test_transient_errors_no_loss_no_dup);
    tcase_add_test(tc, test_transport_errors_no_loss);
    tcase_add_test(tc, test_flush_acks_retry_by_deadline);
    tcase_add_test(tc, test_breaker_purge_keeps_records_on_the_wire);
    tcase_add_test(tc, test_message_timeout_is_retriable);
    tcase_add_test(tc, test_missing_topic_rejected_naming_topic);
    tcase_add_test(tc, test_brokers_down_20s);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kafka_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
