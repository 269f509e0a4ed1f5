/* lf_acktrack.h - per-file acknowledgement tracking: the contiguous acknowledged prefix.
 *
 * Records of a file enter a FIFO in read order. Outputs may finish them in any order;
 * lf_track_advance pops finished records from the head and moves `committed` to the end
 * offset of the last popped one. So a file's committed offset never passes a record that
 * some output still owes. Main thread only.
 */
#ifndef LF_ACKTRACK_H
#define LF_ACKTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "lf_rec.h"

struct lf_track_file {
    struct lf_rec *head;
    struct lf_rec *tail;
    uint64_t committed; /* end offset of the acknowledged prefix */
    size_t pending;     /* records in the FIFO */
};

/* Called for each popped record; the callee frees it. */
typedef void lf_track_release_fn(void *ctx, struct lf_rec *rec);

void lf_track_init(struct lf_track_file *t, uint64_t committed);
/* Appends rec (start_offset must equal the end of the previous record). Ownership of rec
 * moves to the tracker until it is released through lf_track_advance. */
void lf_track_push(struct lf_track_file *t, struct lf_rec *rec);
/* Bytes up to end that produced no record (filtered lines): done at once. Returns
 * LF_OK or LF_ENOMEM (then nothing changed and the caller must retry or fail). */
int lf_track_skip(struct lf_track_file *t, uint64_t end);
/* Pops finished records from the head, calling release for each. Returns how many. */
size_t lf_track_advance(struct lf_track_file *t, lf_track_release_fn *release, void *ctx);
/* Releases every record still queued (shutdown); committed does not move. */
void lf_track_drop_all(struct lf_track_file *t, lf_track_release_fn *release, void *ctx);

#endif
