/* kafka_config.c - options of the Kafka output and their librdkafka properties.
 *
 * The option table is the single source for validation, defaults and the reference docs.
 * kafka_conf_build() turns a filled struct kafka_config into an rd_kafka_conf_t, applying
 * every property and reporting each one librdkafka rejects under the logferry key that
 * produced it. It does no I/O, so validate() (`logferry check`) uses it too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"

static const char *const acks_choices[] = {"all", "1", "0", NULL};
static const char *const acks_values[] = {"all", "1", "0"};
static const char *const compression_choices[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
static const char *const rechdr_choices[] = {"all", "id", "none", NULL};
static const char *const sasl_choices[] = {"none", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL};

static const struct lf_opt tls_options[] = {
    {
        .name = "enabled",
        .type = LF_OPT_BOOL,
        .def = "false",
        .offset = offsetof(struct kafka_tls, enabled),
        .desc = "Use TLS. Implied when any file below is set.",
    },
    {
        .name = "ca_file",
        .type = LF_OPT_STR,
        .offset = offsetof(struct kafka_tls, ca_file),
        .desc = "CA certificate(s) to verify the brokers (ssl.ca.location).",
    },
    {
        .name = "cert_file",
        .type = LF_OPT_STR,
        .offset = offsetof(struct kafka_tls, cert_file),
        .desc = "Client certificate, PEM (ssl.certificate.location).",
    },
    {
        .name = "key_file",
        .type = LF_OPT_STR,
        .offset = offsetof(struct kafka_tls, key_file),
        .desc = "Client private key, PEM (ssl.key.location).",
    },
    {
        .name = "key_password",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = offsetof(struct kafka_tls, key_password),
        .desc = "Passphrase of key_file (ssl.key.password).",
    },
    {
        .name = "verify",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = offsetof(struct kafka_tls, verify),
        .desc = "Verify the broker certificate and host name.",
    },
    {.name = NULL},
};

static const struct lf_opt sasl_options[] = {
    {
        .name = "mechanism",
        .type = LF_OPT_ENUM,
        .def = "none",
        .choices = sasl_choices,
        .offset = offsetof(struct kafka_sasl, mechanism),
        .desc = "SASL mechanism (sasl.mechanism).",
    },
    {
        .name = "username",
        .type = LF_OPT_STR,
        .offset = offsetof(struct kafka_sasl, username),
        .desc = "SASL user name (sasl.username).",
    },
    {
        .name = "password",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = offsetof(struct kafka_sasl, password),
        .desc = "SASL password (sasl.password); use ${ENV_VAR}.",
    },
    {.name = NULL},
};

const struct lf_opt kafka_options[] = {
    {
        .name = "brokers",
        .type = LF_OPT_LIST,
        .flags = LF_OPT_REQUIRED | LF_OPT_SCALAR_OR_LIST,
        .item_type = LF_OPT_STR,
        .min = 1,
        .max = 1000,
        .offset = offsetof(struct kafka_config, brokers),
        .desc = "Bootstrap brokers (host:port). The single word `embedded` starts an in-process "
                "mock cluster: for demos only, records are lost at exit.",
    },
    {
        .name = "topic",
        .type = LF_OPT_STR,
        .def = "logs.{{type}}",
        .offset = offsetof(struct kafka_config, topic),
        .desc = "Topic template; {{field}} names a record field.",
    },
    {
        .name = "key",
        .type = LF_OPT_STR,
        .offset = offsetof(struct kafka_config, key),
        .desc = "Message key template; empty: librdkafka's default partitioner.",
    },
    {
        .name = "acks",
        .type = LF_OPT_ENUM,
        .def = "all",
        .choices = acks_choices,
        .offset = offsetof(struct kafka_config, acks),
        .desc = "Broker acknowledgements required (all = every in-sync replica).",
    },
    {
        .name = "idempotence",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = offsetof(struct kafka_config, idempotence),
        .desc = "Idempotent producer: retries never duplicate or reorder (needs acks: all).",
    },
    {
        .name = "compression",
        .type = LF_OPT_ENUM,
        .def = "lz4",
        .choices = compression_choices,
        .offset = offsetof(struct kafka_config, compression),
        .desc = "Compression codec of message batches.",
    },
    {
        .name = "linger",
        .type = LF_OPT_DURATION,
        .def = "5ms",
        .min = 0,
        .max = 900000,
        .offset = offsetof(struct kafka_config, linger_ms),
        .desc = "How long to wait to fill a batch (linger.ms).",
    },
    {
        .name = "adaptive_linger",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = offsetof(struct kafka_config, adaptive_linger),
        .desc = "When only a few records are in flight (a nearly idle agent), send them at "
                "once instead of waiting for linger; under load linger applies as set.",
    },
    {
        .name = "batch_size",
        .type = LF_OPT_SIZE,
        .def = "256KiB",
        .min = 1024,
        .max = INT32_MAX,
        .offset = offsetof(struct kafka_config, batch_size),
        .desc = "Maximum bytes of one batch (batch.size). 256 KiB with agent.memory_limit "
                "2 MiB: peak RSS 13.8 MiB at the benchmark's full rate, where 1 MiB and 4 MiB "
                "took 19.4 MiB and were not faster (docs/performance.md).",
    },
    {
        .name = "max_message_bytes",
        .type = LF_OPT_SIZE,
        .def = "1000000",
        .min = 1024,
        .max = 100 * 1024 * 1024,
        .offset = offsetof(struct kafka_config, max_message_bytes),
        .desc = "Largest record (value, key and headers); larger records are rejected to the "
                "dead-letter path without being sent. Keep it at or under the topic's "
                "max.message.bytes.",
    },
    {
        .name = "client_id",
        .type = LF_OPT_STR,
        .offset = offsetof(struct kafka_config, client_id),
        .desc = "Client id shown in broker logs and quotas; default: the agent name.",
    },
    {
        .name = "headers",
        .type = LF_OPT_MAP,
        .offset = offsetof(struct kafka_config, headers),
        .desc = "Extra headers, name: template (sent whatever record_headers says).",
    },
    {
        .name = "record_headers",
        .type = LF_OPT_ENUM,
        .def = "id",
        .choices = rechdr_choices,
        .offset = offsetof(struct kafka_config, record_headers),
        .desc = "logferry headers on each message: id (logferry-id, the record's "
                "deterministic id for de-duplication: the default, as the record contract "
                "promises), all (also logferry-type, logferry-source) or none. The JSON value "
                "always carries the same id, type and log.file.path, so consumers that parse it "
                "may choose none: headers cost librdkafka mallocs and frees per message (id about "
                "+15% CPU, all +20%; docs/performance.md).",
    },
    {
        .name = "tls",
        .type = LF_OPT_SECTION,
        .sub = tls_options,
        .offset = offsetof(struct kafka_config, tls),
        .desc = "TLS to the brokers.",
    },
    {
        .name = "sasl",
        .type = LF_OPT_SECTION,
        .sub = sasl_options,
        .offset = offsetof(struct kafka_config, sasl),
        .desc = "SASL authentication.",
    },
    {
        .name = "librdkafka",
        .type = LF_OPT_MAP,
        .offset = offsetof(struct kafka_config, librdkafka),
        .desc = "librdkafka properties passed through (applied last, so they win); a property "
                "librdkafka rejects is a startup error.",
    },
    {
        .name = "create_topics",
        .type = LF_OPT_BOOL,
        .def = "false",
        .offset = offsetof(struct kafka_config, create_topics),
        .desc = "Create missing topics (with partitions and replication_factor). When false a "
                "record for a missing topic is rejected with an error naming the topic.",
    },
    {
        .name = "partitions",
        .type = LF_OPT_INT,
        .def = "3",
        .min = 1,
        .max = 100000,
        .offset = offsetof(struct kafka_config, partitions),
        .desc = "Partitions of topics created by create_topics.",
    },
    {
        .name = "replication_factor",
        .type = LF_OPT_INT,
        .def = "3",
        .min = 1,
        .max = 100,
        .offset = offsetof(struct kafka_config, replication_factor),
        .desc = "Replication factor of topics created by create_topics.",
    },
    {.name = NULL},
};

bool kafka_brokers_embedded(const struct kafka_config *cfg)
{
    return cfg->brokers.n == 1 && cfg->brokers.str && strcmp(cfg->brokers.str[0], "embedded") == 0;
}

/* Sets one property; on failure logs it under `key` and counts the error. */
static void set_prop(struct lf_out_instance *ins, rd_kafka_conf_t *conf, const char *key,
                     const char *prop, const char *value, bool secret, int *errors)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, prop, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        lf_out_log(ins, LF_LOG_ERROR, "%s: librdkafka rejects %s=%s: %s", key, prop,
                   secret ? "(secret)" : value, errstr);
        (*errors)++;
    }
}

static void set_num(struct lf_out_instance *ins, rd_kafka_conf_t *conf, const char *key,
                    const char *prop, int64_t value, int *errors)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, value);
    set_prop(ins, conf, key, prop, buf, false, errors);
}

/* Joins the broker list with commas into a new string (caller frees), NULL on ENOMEM. */
static char *join_brokers(const struct lf_list *brokers)
{
    size_t len = 1, pos = 0;
    char *s;

    for (size_t i = 0; i < brokers->n; i++) {
        len += strlen(brokers->str[i]) + 1;
    }
    s = malloc(len);
    if (!s) {
        return NULL;
    }
    for (size_t i = 0; i < brokers->n; i++) {
        size_t n = strlen(brokers->str[i]);
        if (i) {
            s[pos++] = ',';
        }
        memcpy(s + pos, brokers->str[i], n);
        pos += n;
    }
    s[pos] = '\0';
    return s;
}

static void apply_security(struct lf_out_instance *ins, const struct kafka_config *cfg,
                           rd_kafka_conf_t *conf, int *errors)
{
    const struct kafka_tls *tls = &cfg->tls;
    const struct kafka_sasl *sasl = &cfg->sasl;
    bool use_tls = tls->enabled || tls->ca_file || tls->cert_file || tls->key_file;
    bool use_sasl = sasl->mechanism != KAFKA_SASL_NONE;

    if (use_tls || use_sasl) {
        const char *proto = use_tls ? (use_sasl ? "sasl_ssl" : "ssl") : "sasl_plaintext";
        set_prop(ins, conf, use_tls ? "tls" : "sasl", "security.protocol", proto, false, errors);
    }
    if (tls->ca_file) {
        set_prop(ins, conf, "tls.ca_file", "ssl.ca.location", tls->ca_file, false, errors);
    }
    if (tls->cert_file) {
        set_prop(ins, conf, "tls.cert_file", "ssl.certificate.location", tls->cert_file, false,
                 errors);
    }
    if (tls->key_file) {
        set_prop(ins, conf, "tls.key_file", "ssl.key.location", tls->key_file, false, errors);
    }
    if (tls->key_password) {
        set_prop(ins, conf, "tls.key_password", "ssl.key.password", tls->key_password, true,
                 errors);
    }
    if (!use_tls && !tls->verify) {
        lf_out_log(ins, LF_LOG_WARN,
                   "tls.verify: ignored, TLS is off (tls.enabled: true or a tls.*_file turns "
                   "it on)");
    }
    if (use_tls && !tls->verify) {
        lf_out_log(ins, LF_LOG_WARN,
                   "tls.verify: false: broker certificates are not verified, so anyone on the "
                   "network path can impersonate the brokers (give their CA in tls.ca_file)");
        set_prop(ins, conf, "tls.verify", "enable.ssl.certificate.verification", "false", false,
                 errors);
        set_prop(ins, conf, "tls.verify", "ssl.endpoint.identification.algorithm", "none", false,
                 errors);
    }
    if (use_sasl) {
        set_prop(ins, conf, "sasl.mechanism", "sasl.mechanism", sasl_choices[sasl->mechanism],
                 false, errors);
        if (!sasl->username || !sasl->password) {
            lf_out_log(ins, LF_LOG_ERROR, "sasl: mechanism %s needs username and password",
                       sasl_choices[sasl->mechanism]);
            (*errors)++;
        }
    }
    if (sasl->username) {
        set_prop(ins, conf, "sasl.username", "sasl.username", sasl->username, false, errors);
    }
    if (sasl->password) {
        set_prop(ins, conf, "sasl.password", "sasl.password", sasl->password, true, errors);
    }
}

/* message.max.bytes bounds a whole produce request in librdkafka and must be at least
 * batch.size; our own per-record limit is checked before producing. */
static int64_t request_max_bytes(const struct kafka_config *cfg)
{
    uint64_t v = cfg->max_message_bytes + 64 * 1024;

    if (v < cfg->batch_size) {
        v = cfg->batch_size;
    }
    if (v < 1000000) {
        v = 1000000;
    }
    return v > 1000000000 ? 1000000000 : (int64_t)v;
}

static void apply_producer(struct lf_out_instance *ins, const struct kafka_config *cfg,
                           rd_kafka_conf_t *conf, int *errors)
{
    const char *client_id = cfg->client_id ? cfg->client_id : lf_out_agent_name(ins);

    if (kafka_brokers_embedded(cfg)) {
        set_prop(ins, conf, "brokers", "test.mock.num.brokers", "3", false, errors);
    } else {
        char *list = join_brokers(&cfg->brokers);
        if (!list) {
            (*errors)++;
            return;
        }
        set_prop(ins, conf, "brokers", "bootstrap.servers", list, false, errors);
        free(list);
    }
    if (client_id && client_id[0]) {
        set_prop(ins, conf, "client_id", "client.id", client_id, false, errors);
    }
    set_prop(ins, conf, "acks", "acks", acks_values[cfg->acks], false, errors);
    set_prop(ins, conf, "idempotence", "enable.idempotence", cfg->idempotence ? "true" : "false",
             false, errors);
    set_prop(ins, conf, "compression", "compression.type", compression_choices[cfg->compression],
             false, errors);
    set_num(ins, conf, "linger", "linger.ms", cfg->linger_ms, errors);
    set_num(ins, conf, "batch_size", "message.max.bytes", request_max_bytes(cfg), errors);
    set_num(ins, conf, "batch_size", "batch.size", (int64_t)cfg->batch_size, errors);
    set_prop(ins, conf, "create_topics", "allow.auto.create.topics",
             cfg->create_topics ? "true" : "false", false, errors);
    /* Records are produced without copy and the core keeps each one alive until its
     * delivery report, so librdkafka can send from our buffer too instead of copying every
     * value into its request buffers (default: values under 64 KB are copied). Measured on
     * 1M nginx records: peak RSS 29.5 -> 24.4 MiB, CPU the same (docs/performance.md). */
    set_prop(ins, conf, "batch_size", "message.copy.max.bytes", "0", false, errors);
    /* A local timeout is reported retriable and the core retries, so it only bounds how
     * long librdkafka holds a record; keep librdkafka's default (5 min). */
}

int kafka_conf_build(struct lf_out_instance *ins, const struct kafka_config *cfg,
                     rd_kafka_conf_t **out)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int errors = 0;

    if (!conf) {
        return LF_ENOMEM;
    }
    apply_producer(ins, cfg, conf, &errors);
    apply_security(ins, cfg, conf, &errors);
    for (size_t i = 0; i < cfg->librdkafka.n; i++) {
        const struct lf_kv *kv = &cfg->librdkafka.v[i];
        char key[300];
        bool secret = strstr(kv->key, "password") || strstr(kv->key, "secret");

        snprintf(key, sizeof(key), "librdkafka.%s", kv->key);
        set_prop(ins, conf, key, kv->key, kv->value, secret, &errors);
    }
    if (errors) {
        rd_kafka_conf_destroy(conf);
        return LF_ECONFIG;
    }
    *out = conf;
    return LF_OK;
}

static int check_template(struct lf_out_instance *ins, const char *key, const char *src)
{
    struct lf_template *t = NULL;
    char err[256] = "";

    if (lf_template_compile(src, &t, err, sizeof(err)) != LF_OK) {
        lf_out_log(ins, LF_LOG_ERROR, "%s: bad template '%s': %s", key, src, err);
        return 1;
    }
    lf_template_destroy(t);
    return 0;
}

/* dead_letter.topic_suffix: characters Kafka allows in topic names, and not empty. */
static int check_dlt_suffix(struct lf_out_instance *ins)
{
    const char *sfx = lf_out_dead_letter_suffix(ins);

    if (!sfx) {
        return 0;
    }
    if (strspn(sfx, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(sfx) ||
        strlen(sfx) > 100) {
        lf_out_log(ins, LF_LOG_ERROR,
                   "dead_letter.topic_suffix: '%s' is not a valid end of a topic name "
                   "(letters, digits, '.', '_', '-'; at most 100)",
                   sfx);
        return 1;
    }
    return 0;
}

int kafka_validate(struct lf_out_instance *ins, const void *config)
{
    const struct kafka_config *cfg = config;
    rd_kafka_conf_t *conf = NULL;
    int errors = 0;

    if (!cfg->topic || !cfg->topic[0]) {
        lf_out_log(ins, LF_LOG_ERROR, "topic: must not be empty");
        errors++;
    } else {
        errors += check_template(ins, "topic", cfg->topic);
    }
    if (cfg->key && cfg->key[0]) {
        errors += check_template(ins, "key", cfg->key);
    }
    for (size_t i = 0; i < cfg->headers.n; i++) {
        char key[300];
        snprintf(key, sizeof(key), "headers.%s", cfg->headers.v[i].key);
        if (strncmp(cfg->headers.v[i].key, "logferry-", 9) == 0) {
            lf_out_log(ins, LF_LOG_ERROR, "%s: the logferry- prefix is reserved", key);
            errors++;
        }
        errors += check_template(ins, key, cfg->headers.v[i].value);
    }
    for (size_t i = 0; i < cfg->brokers.n; i++) {
        if (strcmp(cfg->brokers.str[i], "embedded") == 0 && cfg->brokers.n > 1) {
            lf_out_log(ins, LF_LOG_ERROR, "brokers: `embedded` cannot be mixed with brokers");
            errors++;
        }
    }
    errors += check_dlt_suffix(ins);
    if (cfg->idempotence && cfg->acks != KAFKA_ACKS_ALL) {
        lf_out_log(ins, LF_LOG_ERROR, "idempotence: needs acks: all (or idempotence: false)");
        errors++;
    }
    if (kafka_conf_build(ins, cfg, &conf) != LF_OK) {
        errors++;
    } else {
        rd_kafka_conf_destroy(conf);
    }
    return errors ? LF_ECONFIG : LF_OK;
}
