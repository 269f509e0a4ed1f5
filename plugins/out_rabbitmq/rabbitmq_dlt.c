/* rabbitmq_dlt.c - the AMQP headers of a dead letter published to the topology's failed
 * queue (docs/dead-letters.md), the same names as the Kafka .dlt headers:
 *   logferry-dlt-error          text of the last error (longstr)
 *   logferry-dlt-code           its AMQP reply code or 0 (signed 64-bit)
 *   logferry-dlt-reason         rejected | retries_exhausted | ...
 *   logferry-dlt-attempts       delivery attempts made, the first included (signed 64-bit)
 *   logferry-dlt-topic          the routing key the record was published with
 *   logferry-dlt-exchange       the exchange it was published to
 *   logferry-dlt-first-failure  RFC 3339 UTC ms of the first failed attempt
 *   logferry-dlt-last-failure   RFC 3339 UTC ms of the last one
 *   logferry-id                 the record id (also the message_id)
 * Connection thread only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rabbitmq.h"

static void dlt_time(int64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[24];

    gmtime_r(&secs, &tm);
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

static void dlt_str(amqp_table_entry_t *e, const char *key, const char *value)
{
    e->key = amqp_cstring_bytes(key);
    e->value.kind = AMQP_FIELD_KIND_UTF8;
    e->value.value.bytes = amqp_cstring_bytes(value ? value : "");
}

static void dlt_int(amqp_table_entry_t *e, const char *key, int64_t value)
{
    e->key = amqp_cstring_bytes(key);
    e->value.kind = AMQP_FIELD_KIND_I64;
    e->value.value.i64 = value;
}

int rmq_dlt_headers(const struct rmq_state *st, const struct lf_record *rec, amqp_table_entry_t *t,
                    char *buf)
{
    const struct lf_dead_letter *dl = rec->dead_letter;
    char *first = buf, *last = buf + RMQ_DLT_BUF / 2;

    dlt_time(dl->first_failure_ms, first, RMQ_DLT_BUF / 2);
    dlt_time(dl->last_failure_ms, last, RMQ_DLT_BUF / 2);
    dlt_str(&t[0], "logferry-dlt-error", dl->error);
    dlt_int(&t[1], "logferry-dlt-code", dl->code);
    dlt_str(&t[2], "logferry-dlt-reason", dl->reason);
    dlt_int(&t[3], "logferry-dlt-attempts", dl->attempts);
    dlt_str(&t[4], "logferry-dlt-topic", dl->destination);
    dlt_str(&t[5], "logferry-dlt-exchange", st->cfg->exchange);
    dlt_str(&t[6], "logferry-dlt-first-failure", first);
    dlt_str(&t[7], "logferry-dlt-last-failure", last);
    dlt_str(&t[8], "logferry-id", rec->id);
    return RMQ_DLT_HEADERS;
}
