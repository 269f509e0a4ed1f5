/* lf_acktrack.c - the contiguous acknowledged prefix of each file. */
#include "lf_acktrack.h"

#include <stdlib.h>

#include "logferry/lf_err.h"

void lf_track_init(struct lf_track_file *t, uint64_t committed)
{
    t->head = NULL;
    t->tail = NULL;
    t->committed = committed;
    t->pending = 0;
}

void lf_track_push(struct lf_track_file *t, struct lf_rec *rec)
{
    rec->next = NULL;
    if (t->tail) {
        t->tail->next = rec;
    } else {
        t->head = rec;
    }
    t->tail = rec;
    t->pending++;
}

int lf_track_skip(struct lf_track_file *t, uint64_t end)
{
    if (!t->head) {
        if (end > t->committed) {
            t->committed = end;
        }
        return LF_OK;
    }
    struct lf_rec *last = t->tail;
    if (last->route_mask == 0 && last->pub.payload == NULL) {
        last->end_offset = end; /* extend the previous skip marker */
        return LF_OK;
    }
    struct lf_rec *marker = calloc(1, sizeof(*marker));
    if (!marker) {
        return LF_ENOMEM;
    }
    marker->start_offset = last->end_offset;
    marker->end_offset = end;
    marker->file_key = last->file_key;
    lf_track_push(t, marker);
    return LF_OK;
}

size_t lf_track_advance(struct lf_track_file *t, lf_track_release_fn *release, void *ctx)
{
    size_t n = 0;
    while (t->head && lf_rec_is_done(t->head)) {
        struct lf_rec *r = t->head;
        t->head = r->next;
        if (!t->head) {
            t->tail = NULL;
        }
        t->committed = r->end_offset;
        t->pending--;
        release(ctx, r);
        n++;
    }
    return n;
}

void lf_track_drop_all(struct lf_track_file *t, lf_track_release_fn *release, void *ctx)
{
    while (t->head) {
        struct lf_rec *r = t->head;
        t->head = r->next;
        release(ctx, r);
    }
    t->tail = NULL;
    t->pending = 0;
}
