/* kafka_dlt.c - the headers of a dead letter produced to <topic><dead_letter.topic_suffix>
 * (docs/dead-letters.md):
 *   logferry-dlt-error          text of the last error
 *   logferry-dlt-code           its librdkafka or broker error code (decimal)
 *   logferry-dlt-reason         rejected | retries_exhausted | ...
 *   logferry-dlt-attempts       delivery attempts made (decimal, the first included)
 *   logferry-dlt-topic          the topic the record was meant for
 *   logferry-dlt-first-failure  RFC 3339 UTC ms of the first failed attempt
 *   logferry-dlt-last-failure   RFC 3339 UTC ms of the last one
 *   logferry-id                 the record id (unless the record's own headers have it)
 * Worker thread only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafka.h"

static void dlt_time(int64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[24];

    gmtime_r(&secs, &tm);
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

static int dlt_add(rd_kafka_headers_t *hdrs, const char *name, const char *value, size_t *bytes)
{
    size_t len = strlen(value);

    *bytes += 16 + strlen(name) + len;
    return rd_kafka_header_add(hdrs, name, -1, value, (ssize_t)len) ? -1 : 0;
}

int kafka_dlt_headers(rd_kafka_headers_t *hdrs, const struct lf_record *rec, const char *topic,
                      bool with_id, size_t *bytes)
{
    const struct lf_dead_letter *dl = rec->dead_letter;
    char attempts[16], code[16], first[40], last[40];
    int bad = 0;

    if (!dl) {
        return -1;
    }
    snprintf(attempts, sizeof(attempts), "%u", (unsigned)dl->attempts);
    snprintf(code, sizeof(code), "%d", dl->code);
    dlt_time(dl->first_failure_ms, first, sizeof(first));
    dlt_time(dl->last_failure_ms, last, sizeof(last));
    bad |= dlt_add(hdrs, "logferry-dlt-error", dl->error ? dl->error : "", bytes);
    bad |= dlt_add(hdrs, "logferry-dlt-code", code, bytes);
    bad |= dlt_add(hdrs, "logferry-dlt-reason", dl->reason ? dl->reason : "", bytes);
    bad |= dlt_add(hdrs, "logferry-dlt-attempts", attempts, bytes);
    bad |= dlt_add(hdrs, "logferry-dlt-topic", topic, bytes);
    bad |= dlt_add(hdrs, "logferry-dlt-first-failure", first, bytes);
    bad |= dlt_add(hdrs, "logferry-dlt-last-failure", last, bytes);
    if (with_id) {
        bad |= dlt_add(hdrs, "logferry-id", rec->id, bytes);
    }
    return bad ? -1 : 0;
}
