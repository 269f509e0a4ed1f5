/* lf_rec.h - the core's record: the public struct lf_record plus delivery bookkeeping.
 *
 * One allocation holds the struct and the JSON payload. A record is created by an input,
 * owned by the pipeline (main thread only), lent to output plugins until they ack it,
 * and freed when its file's acknowledged prefix passes it (lf_acktrack). A record read
 * back from an output's spool has file NULL, belongs to that output only and is freed
 * when its outcome arrives (lf_outflow.c).
 */
#ifndef LF_REC_H
#define LF_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logferry/lf_record.h"

struct lf_track_file;

struct lf_rec {
    struct lf_record pub; /* must stay first: plugins get &rec->pub */
    struct lf_rec *next;  /* per-file FIFO in read order (lf_acktrack) */
    struct lf_track_file *file;
    uint64_t start_offset;
    uint64_t end_offset;
    uint32_t route_mask;           /* outputs this record goes to */
    uint32_t done_mask;            /* outputs that delivered, dead-lettered or spooled it */
    size_t mem;                    /* bytes accounted against agent.memory_limit */
    int64_t first_failure_ms;      /* wall clock of the first retriable outcome; 0 none */
    uint64_t spool_seg, spool_off; /* a record read back from a spool (file NULL): its frame */
    char payload[];                /* NUL-terminated JSON */
};
_Static_assert(offsetof(struct lf_rec, pub) == 0, "lf_rec_of() casts a plugin's &rec->pub back");

static inline struct lf_rec *lf_rec_of(struct lf_record *pub)
{
    return (struct lf_rec *)pub;
}

static inline bool lf_rec_is_done(const struct lf_rec *r)
{
    return (r->done_mask & r->route_mask) == r->route_mask;
}

#endif
