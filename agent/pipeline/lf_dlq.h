/* lf_dlq.h - the local dead-letter store of an output: <state_dir>/dead-letter/<output>.jsonl.
 *
 * Append-only, one JSON object per line per record that failed for good, keys in this
 * order (readers such as `logferry dlq` rely on it; docs/dead-letters.md):
 *   "time"          RFC 3339 UTC with milliseconds, when the line was written
 *   "output"        the output's name
 *   "id"            the record id (32 hex digits)
 *   "reason"        a short code, one of LF_DLQ_REASON_NAMES below
 *   "error"         text of the last error
 *   "code"          the client's or broker's error code of it, 0 if none
 *   "attempts"      delivery attempts made, the first one included
 *   "first_failure" RFC 3339 UTC ms of the first failed attempt
 *   "last_failure"  RFC 3339 UTC ms of the last one
 *   "destination"   topic or routing key the record was meant for, "" if not known
 *   "record"        the original record: its encoded JSON object, as is
 * Lines written before these keys existed carry only "time" (seconds), "output", "id",
 * "reason" (free text) and "record"; readers must accept both.
 * A record counts as acknowledged once lf_dlq_sync returned LF_OK after its write, so the
 * file is fsync'ed before checkpoints move past it. Main thread only.
 */
#ifndef LF_DLQ_H
#define LF_DLQ_H

#include <stdbool.h>
#include <stdint.h>

#include "logferry/lf_record.h"

/* Why a record was dead-lettered. */
enum lf_dlq_reason {
    LF_DLQ_REJECTED = 0,      /* "rejected": the output refused it for good */
    LF_DLQ_RETRIES_EXHAUSTED, /* "retries_exhausted": retry.attempts used up */
    LF_DLQ_TOO_LARGE,         /* "too_large": over a size limit of the output */
    LF_DLQ_DLT_FAILED,        /* "dlt_failed": the remote dead-letter destination failed too
                               * (or refused it as too large); "error" says both */
    LF_DLQ_NO_MEMORY,         /* "no_memory": no memory to hand it to the remote one */
    LF_DLQ_REASON_COUNT
};
#define LF_DLQ_REASON_NAMES                                                     \
    {                                                                           \
        "rejected", "retries_exhausted", "too_large", "dlt_failed", "no_memory" \
    }

/* "rejected"... for r (out of range: "rejected"). */
const char *lf_dlq_reason_name(int r);

/* One dead letter to write; every pointer borrowed for the call. */
struct lf_dlq_entry {
    const struct lf_record *rec;
    int reason;               /* enum lf_dlq_reason */
    const char *error;        /* may be NULL */
    int code;                 /* 0 if none */
    uint32_t attempts;        /* attempts made */
    int64_t first_failure_ms; /* wall clock UTC ms; 0: same as last */
    int64_t last_failure_ms;  /* 0: now */
    const char *destination;  /* may be NULL */
};

struct lf_dlq {
    char *path;
    char *output;
    int fd;
    bool unsynced;
};

int lf_dlq_open(const char *state_dir, const char *output, struct lf_dlq *d);
void lf_dlq_close(struct lf_dlq *d);
/* Appends one line (not yet durable). LF_OK, LF_ENOMEM or LF_EIO; nothing is written
 * for a line that could not be rendered whole. */
int lf_dlq_write(struct lf_dlq *d, const struct lf_dlq_entry *e);
int lf_dlq_sync(struct lf_dlq *d);

/* RFC 3339 UTC with milliseconds ("2026-12-03T12:00:00.123Z") of wall ms into buf (at
 * least 32 bytes). */
void lf_dlq_time(int64_t ms, char *buf, size_t cap);

#endif
