/* lf_rec.h - the core's record: the public struct lf_record plus delivery bookkeeping.
 *
 * One allocation holds the struct and the JSON payload. A record is made by the router
 * from what an input emitted (carved from the router's slab, lf_slab.h), owned by the
 * pipeline (main thread only), lent to output plugins until they ack it, and given back to
 * its slab by lf_rec_release when its file's acknowledged prefix passes it (lf_tracker). A record
 * read back from an output's spool has file_key 0, belongs to that output only and is freed when
 * its outcome arrives (lf_outpath).
 */
#ifndef LF_REC_H
#define LF_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logferry/lf_record.h"

struct lf_rec {
    struct lf_record pub; /* must stay first: plugins get &rec->pub */
    struct lf_rec *next;  /* per-file FIFO in read order (lf_acktrack) */
    uint64_t file_key;    /* the tracker's key of its file; 0: read back from a spool */
    uint64_t start_offset;
    uint64_t end_offset;
    uint32_t route_mask;           /* outputs this record goes to */
    uint32_t done_mask;            /* outputs that delivered, dead-lettered or spooled it */
    int64_t first_failure_ms;      /* wall clock of the first retriable outcome; 0 none */
    int64_t read_mono_ms;          /* when it was read (loop turn, monotonic): latency */
    uint64_t spool_seg, spool_off; /* a record read back from a spool (file_key 0): its frame */
    char payload[];                /* NUL-terminated JSON */
};
_Static_assert(offsetof(struct lf_rec, pub) == 0, "lf_rec_of() casts a plugin's &rec->pub back");

static inline struct lf_rec *lf_rec_of(struct lf_record *pub)
{
    return (struct lf_rec *)pub;
}

/* The bytes the records alive pin: the router's slab adds a chunk's size when the chunk
 * gets its first live record and takes it off when its last one is released (lf_slab.h),
 * so this is memory actually held, slack included. The agent reads reading's memory
 * limit off it. Main thread only. */
struct lf_rec_budget {
    size_t live_bytes;
};

/* The tracker's release callback: gives a log-file record made by the router back to its
 * slab, which takes its chunk off the budget once the chunk is empty (ctx: the struct
 * lf_rec_budget, which the slab already points at). */
void lf_rec_release(void *budget, struct lf_rec *r);

static inline bool lf_rec_is_done(const struct lf_rec *r)
{
    return (r->done_mask & r->route_mask) == r->route_mask;
}

#endif
