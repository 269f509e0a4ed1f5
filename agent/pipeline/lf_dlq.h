/* lf_dlq.h - the local dead-letter file of an output: <state_dir>/dead-letter/<output>.jsonl.
 *
 * One JSON line per permanently failed record: {"time","output","id","reason","record"}.
 * A record counts as acknowledged once lf_dlq_sync returned LF_OK after its write, so the
 * file is fsync'ed before checkpoints move past it. Main thread only.
 */
#ifndef LF_DLQ_H
#define LF_DLQ_H

#include <stdbool.h>

#include "logferry/lf_record.h"

struct lf_dlq {
    char *path;
    char *output;
    int fd;
    bool unsynced;
};

int lf_dlq_open(const char *state_dir, const char *output, struct lf_dlq *d);
void lf_dlq_close(struct lf_dlq *d);
int lf_dlq_write(struct lf_dlq *d, const struct lf_record *rec, const char *reason);
int lf_dlq_sync(struct lf_dlq *d);

#endif
