/* kafka.h - internal declarations of the Kafka output plugin (out_kafka.so).
 *
 * kafka.c holds the ABI descriptor and the worker-thread callbacks, kafka_config.c the
 * option table and the translation to librdkafka properties, kafka_dr.c the table of
 * records in flight and the delivery-report outcome mapping. Nothing here is exported:
 * the only visible symbol of the module is lf_output_plugin_entry().
 */
#ifndef KAFKA_H
#define KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include <logferry/lf_plugin.h>

enum kafka_acks { KAFKA_ACKS_ALL = 0, KAFKA_ACKS_LEADER, KAFKA_ACKS_NONE };
enum kafka_compression {
    KAFKA_COMP_NONE = 0,
    KAFKA_COMP_GZIP,
    KAFKA_COMP_SNAPPY,
    KAFKA_COMP_LZ4,
    KAFKA_COMP_ZSTD,
};
/* Which logferry-* headers each message carries (option record_headers). */
enum kafka_rec_headers { KAFKA_RECHDR_ALL = 0, KAFKA_RECHDR_ID, KAFKA_RECHDR_NONE };
enum kafka_sasl_mech {
    KAFKA_SASL_NONE = 0,
    KAFKA_SASL_PLAIN,
    KAFKA_SASL_SCRAM256,
    KAFKA_SASL_SCRAM512
};

struct kafka_tls {
    bool enabled; /* also implied by any file below */
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *key_password;
    bool verify; /* broker certificate and host name */
};

struct kafka_sasl {
    int mechanism; /* enum kafka_sasl_mech */
    char *username;
    char *password;
};

/* Filled by the core from the option table (kafka_options); core-owned. */
struct kafka_config {
    struct lf_list brokers; /* host:port... or the single word "embedded" */
    char *topic;            /* template */
    char *key;              /* template; NULL or "" = default partitioner */
    int acks;               /* enum kafka_acks */
    bool idempotence;
    int compression; /* enum kafka_compression */
    int64_t linger_ms;
    bool adaptive_linger; /* send at once when nearly idle */
    uint64_t batch_size;
    uint64_t max_message_bytes;
    char *client_id;
    struct lf_kvlist headers; /* name -> template */
    int record_headers;       /* enum kafka_rec_headers */
    struct kafka_tls tls;
    struct kafka_sasl sasl;
    struct lf_kvlist librdkafka; /* passed through, applied last */
    bool create_topics;
    int64_t partitions;
    int64_t replication_factor;
};

extern const struct lf_opt kafka_options[];

/* Builds a librdkafka configuration from cfg. Every property librdkafka rejects is logged
 * on ins naming the logferry key; returns LF_ECONFIG after trying them all. On LF_OK
 * *out is the caller's (pass it to rd_kafka_new or rd_kafka_conf_destroy). */
int kafka_conf_build(struct lf_out_instance *ins, const struct kafka_config *cfg,
                     rd_kafka_conf_t **out);
/* Checks cfg without I/O: templates compile, brokers make sense, properties apply. */
int kafka_validate(struct lf_out_instance *ins, const void *config);
bool kafka_brokers_embedded(const struct kafka_config *cfg);

/* Records in flight: a slot table indexed by the message opaque. The opaque carries a
 * generation too, so a late delivery report for a slot already settled (purged, acked
 * at shutdown) is recognised and ignored instead of acking a record twice. */
struct kafka_slot {
    struct lf_record *rec; /* NULL when free */
    uint32_t gen;
    uint32_t next_free;
};

struct kafka_inflight {
    struct kafka_slot *slots;
    uint32_t cap;
    uint32_t used;
    uint32_t free_head; /* UINT32_MAX = none */
};

void kafka_inflight_init(struct kafka_inflight *fl);
void kafka_inflight_fini(struct kafka_inflight *fl);
/* Reserves a slot for rec; returns the opaque for produce, or NULL (no memory). */
void *kafka_inflight_add(struct kafka_inflight *fl, struct lf_record *rec);
/* Releases the slot named by opaque and returns its record, or NULL if stale. */
struct lf_record *kafka_inflight_take(struct kafka_inflight *fl, void *opaque);
/* Acks every record still in flight with outcome and empties the table; returns how many. */
size_t kafka_inflight_settle_all(struct kafka_inflight *fl, struct lf_out_instance *ins,
                                 enum lf_outcome outcome, const char *reason);

/* kafka_dlt.c: adds the logferry-dlt-* headers of dead letter rec (rec->dead_letter set),
 * whose original topic is topic, to hdrs (and logferry-id when with_id); adds their size
 * estimate to *bytes. Returns 0, or -1 when librdkafka refused a header. */
int kafka_dlt_headers(rd_kafka_headers_t *hdrs, const struct lf_record *rec, const char *topic,
                      bool with_id, size_t *bytes);

/* Maps a delivery-report or produce error to an outcome. */
enum lf_outcome kafka_outcome(rd_kafka_resp_err_t err, bool create_topics);
bool kafka_err_is_unknown_topic(rd_kafka_resp_err_t err);
/* A message (or batch) over the broker's or the client's size limit. */
bool kafka_err_is_too_large(rd_kafka_resp_err_t err);

#endif
