/* spool_read.c - the read cursor, acknowledgements and rewind.
 *
 * The cursor walks the in-memory index and skips frames already acknowledged (acks may
 * come out of order). Frames are read through a read-ahead window and their CRC checked
 * again; a frame found bad here is quarantined with the rest of its segment, as at open.
 * A segment is deleted as soon as its last frame is acknowledged.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logferry/lf_err.h"
#include "spool_int.h"

static int open_rfd(struct lf_spool *s, const struct spool_seg *seg)
{
    char name[SPOOL_NAME_MAX];
    if (s->rfd >= 0 && s->rfd_id == seg->id) {
        return LF_OK;
    }
    if (s->rfd >= 0) {
        close(s->rfd);
    }
    spool_seg_name(name, seg->id);
    s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (s->rfd < 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: open %s", s->dir, name);
        return LF_EIO;
    }
    s->rfd_id = seg->id;
    spool_win_init(&s->rwin, s->rfd);
    return LF_OK;
}

static int read_frame(struct lf_spool *s, const struct spool_seg *seg, uint32_t idx,
                      struct lf_spool_rec *rec)
{
    const unsigned char *body;
    uint64_t off = seg->off[idx];
    uint32_t flen = spool_seg_frame_len(seg, idx), got = 0;
    int rc = open_rfd(s, seg);
    if (rc == LF_OK) {
        rc = spool_frame_check(&s->rwin, off, seg->size, &got);
    }
    if (rc == LF_OK && got != flen) {
        rc = LF_ECORRUPT;
    }
    if (rc == LF_OK) {
        rc = spool_win_get(&s->rwin, off + SPOOL_FRAME_HDR, flen - SPOOL_FRAME_HDR, seg->size,
                           &body);
    }
    if (rc == LF_OK) {
        rc = spool_body_decode(body, flen - SPOOL_FRAME_HDR, rec);
    }
    if (rc == LF_EIO) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: read segment %016" PRIx64, s->dir, seg->id);
    }
    return rc;
}

/* Drops frames [idx, end) of segs[i] from the index after a bad frame at idx. */
static void forget_tail(struct lf_spool *s, struct spool_seg *seg, uint32_t idx)
{
    for (uint32_t j = idx; j < seg->nframes; j++) {
        if (spool_seg_is_acked(seg, j)) {
            seg->acked[j / 64] &= ~((uint64_t)1 << (j % 64));
            seg->nacked--;
        } else {
            s->records--;
        }
    }
    s->quarantined += seg->nframes - idx;
    s->bytes -= seg->size - seg->off[idx];
    seg->size = seg->off[idx];
    seg->nframes = idx;
    if (seg->first_unacked > idx) {
        seg->first_unacked = idx;
    }
}

/* Quarantines segs[i] from frame idx to its end, like recovery does at open. */
static int cut_segment(struct lf_spool *s, size_t i, uint32_t idx)
{
    struct spool_seg *seg = s->segs[i];
    char name[SPOOL_NAME_MAX];
    spool_seg_name(name, seg->id);
    int fd = seg->fd >= 0 ? seg->fd : openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
    int rc = fd >= 0 ? spool_quarantine_copy(s, fd, seg->id, seg->off[idx]) : LF_EIO;
    if (rc == LF_OK && ftruncate(fd, (off_t)seg->off[idx]) != 0) {
        rc = LF_EIO;
    }
    if (rc == LF_OK) {
        rc = spool_fsync_fd(s, fd, "truncated segment");
    }
    if (fd >= 0 && fd != seg->fd) {
        close(fd);
    }
    if (rc != LF_OK) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: cut %s", s->dir, name);
        return rc;
    }
    forget_tail(s, seg, idx);
    s->rwin.len = 0; /* the window may hold the cut bytes */
    if (seg == s->writer) {
        spool_seal_writer(s); /* no offset after the cut gets a frame again (spool_acks.c) */
    } else if (seg->nacked == seg->nframes) {
        spool_delete_seg(s, i);
    }
    return LF_OK;
}

/* Moves the cursor to the next un-acknowledged frame; false at the end. */
static bool cursor_settle(struct lf_spool *s)
{
    while (s->cur_i < s->nsegs) {
        const struct spool_seg *seg = s->segs[s->cur_i];
        if (s->cur_idx < seg->first_unacked) {
            s->cur_idx = seg->first_unacked;
        }
        while (s->cur_idx < seg->nframes && spool_seg_is_acked(seg, s->cur_idx)) {
            s->cur_idx++;
        }
        if (s->cur_idx < seg->nframes) {
            return true;
        }
        if (s->cur_i + 1 >= s->nsegs) {
            return false; /* stay at the end of the last segment: appends continue there */
        }
        s->cur_i++;
        s->cur_idx = 0;
    }
    return false;
}

int lf_spool_read(struct lf_spool *s, struct lf_spool_rec *rec, struct lf_spool_pos *pos)
{
    for (;;) {
        if (!cursor_settle(s)) {
            return LF_ENOTFOUND;
        }
        struct spool_seg *seg = s->segs[s->cur_i];
        int rc = read_frame(s, seg, s->cur_idx, rec);
        if (rc == LF_ECORRUPT) {
            rc = cut_segment(s, s->cur_i, s->cur_idx);
            if (rc != LF_OK) {
                return rc;
            }
            continue;
        }
        if (rc != LF_OK) {
            return rc;
        }
        pos->seg = seg->id;
        pos->off = seg->off[s->cur_idx];
        s->cur_idx++;
        return LF_OK;
    }
}

void lf_spool_rec_free(struct lf_spool_rec *rec)
{
    if (!rec) {
        return;
    }
    free(rec->owned);
    memset(rec, 0, sizeof(*rec));
}

/* Binary search on ids relative to the oldest. */
long spool_find_seg(const struct lf_spool *s, uint64_t id)
{
    if (s->nsegs == 0) {
        return -1;
    }
    uint64_t base = s->segs[0]->id, rel = id - base;
    size_t lo = 0, hi = s->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->segs[mid]->id - base < rel) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < s->nsegs && s->segs[lo]->id == id ? (long)lo : -1;
}

bool spool_ack_frame(struct lf_spool *s, struct lf_spool_pos pos)
{
    long i = spool_find_seg(s, pos.seg);
    if (i < 0) {
        return false;
    }
    struct spool_seg *seg = s->segs[i];
    long idx = spool_seg_find(seg, pos.off);
    if (idx < 0 || spool_seg_is_acked(seg, (uint32_t)idx)) {
        return false;
    }
    spool_seg_set_acked(seg, (uint32_t)idx);
    s->records--;
    if (seg->nacked == seg->nframes) {
        spool_delete_seg(s, (size_t)i); /* also the writer: the next append starts anew */
        return false;
    }
    return true;
}

void lf_spool_ack(struct lf_spool *s, struct lf_spool_pos pos)
{
    if (spool_ack_frame(s, pos)) {
        spool_acks_note(s, pos);
    }
}

void lf_spool_rewind(struct lf_spool *s)
{
    s->cur_i = 0;
    s->cur_idx = 0;
}
