/* spool_write.c - appends and sync: segment creation and rolling, the max_size policy
 * (block or drop the oldest), torn-frame cleanup after a failed write, group commit.
 *
 * Frames are written with pwrite(2) at the segment's known good size, without a
 * user-space buffer, so the read cursor sees them at once. Nothing is durable before
 * lf_spool_sync().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_vec.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

static int errno_to_lf(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? LF_ENOSPC : LF_EIO;
}

/* Writes all of buf at off; returns 0 or an errno value (ENOSPC for a write of 0). */
static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return w < 0 ? errno : ENOSPC;
        }
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* The writer stops taking appends and its fd is closed (a sync reopens it if it is still
 * dirty, so sealed segments hold no fd even when the caller never syncs). An empty (or
 * fully acknowledged) writer is deleted at once. */
void spool_seal_writer(struct lf_spool *s)
{
    struct spool_seg *w = s->writer;
    if (!w) {
        return;
    }
    s->writer = NULL;
    if (w->nacked == w->nframes) {
        spool_delete_seg(s, s->nsegs - 1);
        return;
    }
    close(w->fd);
    w->fd = -1;
}

static int create_writer(struct lf_spool *s)
{
    char name[SPOOL_NAME_MAX];
    unsigned char hdr[SPOOL_SEG_HDR] = {0};
    uint64_t id = s->next_id;
    spool_seg_name(name, id);
    memcpy(hdr, SPOOL_MAGIC, 8);
    spool_put32(hdr + 8, SPOOL_VERSION);
    spool_put64(hdr + 16, id);
    int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    int e = fd < 0 ? errno : pwrite_all(fd, hdr, sizeof(hdr), 0);
    if (e) {
        errno = e;
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: create %s", s->dir, name);
    }
    struct spool_seg *seg = e ? NULL : spool_seg_new(id);
    int rc = e ? errno_to_lf(e) : seg ? spool_add_seg(s, seg) : LF_ENOMEM;
    if (rc != LF_OK) {
        spool_seg_free(seg);
        if (fd >= 0) {
            unlinkat(s->dirfd, name, 0);
            close(fd);
        }
        return rc;
    }
    seg->fd = fd;
    seg->dirty = true;
    s->writer = seg;
    s->next_id++; /* spool_add_seg counted its header bytes */
    s->dir_dirty = true;
    return LF_OK;
}

static void drop_oldest(struct lf_spool *s)
{
    struct spool_seg *seg = s->segs[0];
    uint64_t lost = seg->nframes - seg->nacked;
    s->dropped += lost;
    lf_log_error(s->log,
                 "spool %s: full (max_size %" PRIu64 "), dropped segment %016" PRIx64
                 " with %" PRIu64 " unacknowledged records",
                 s->dir, s->opts.max_size, seg->id, lost);
    spool_delete_seg(s, 0);
}

/* Makes room for a frame of flen bytes under max_size (lf_spool.h "Limits"). */
static int make_room(struct lf_spool *s, uint64_t flen)
{
    if (s->opts.max_size == 0) {
        return LF_OK;
    }
    for (;;) {
        uint64_t need = flen + (s->writer ? 0 : SPOOL_SEG_HDR);
        if (s->bytes + need <= s->opts.max_size) {
            return LF_OK;
        }
        if (s->opts.when_full == LF_SPOOL_BLOCK || s->nsegs == 0) {
            return LF_ETOOBIG;
        }
        if (s->segs[0] == s->writer) {
            spool_seal_writer(s); /* only the writer is left: it goes too */
            continue;
        }
        drop_oldest(s);
    }
}

static int write_frame(struct lf_spool *s, struct spool_seg *w, size_t flen)
{
    int e = pwrite_all(w->fd, s->wbuf, flen, w->size);
    if (e == 0) {
        return LF_OK;
    }
    errno = e;
    lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: write segment %016" PRIx64, s->dir, w->id);
    w->dirty = true; /* the next sync persists the truncation below */
    /* Cut the torn frame off; if even that fails, never append to this file again
     * (its garbage tail is quarantined at the next open). */
    if (ftruncate(w->fd, (off_t)w->size) != 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: truncate segment %016" PRIx64, s->dir, w->id);
        spool_seal_writer(s);
    }
    return errno_to_lf(e);
}

int lf_spool_append(struct lf_spool *s, const struct lf_spool_rec *rec)
{
    size_t body = spool_body_size(rec);
    uint64_t flen = SPOOL_FRAME_HDR + (uint64_t)body;
    if (body > LF_SPOOL_MAX_RECORD ||
        (s->opts.max_size && flen + SPOOL_SEG_HDR > s->opts.max_size)) {
        return LF_ETOOBIG;
    }
    if (s->writer && s->writer->nframes && s->writer->size + flen > s->opts.segment_size) {
        spool_seal_writer(s);
    }
    int rc = make_room(s, flen);
    if (rc == LF_OK && !s->writer) {
        rc = create_writer(s);
    }
    if (rc == LF_OK) {
        rc = lf_vec_reserve(&s->wbuf, &s->wcap, (size_t)flen);
    }
    if (rc != LF_OK) {
        return rc;
    }
    struct spool_seg *w = s->writer;
    rc = spool_seg_reserve(w); /* before the write: indexing it then cannot fail */
    if (rc == LF_OK) {
        spool_frame_encode(rec, s->wbuf, body);
        rc = write_frame(s, w, (size_t)flen);
    }
    if (rc != LF_OK) {
        return rc;
    }
    spool_seg_push_frame(w, w->size);
    w->size += flen;
    w->dirty = true;
    s->bytes += flen;
    s->records++;
    return LF_OK;
}

/* fdatasync of a sealed segment through a new fd (the page cache is per file). */
static int sync_sealed(struct lf_spool *s, const struct spool_seg *seg)
{
    char name[SPOOL_NAME_MAX];
    spool_seg_name(name, seg->id);
    int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: open %s", s->dir, name);
        return LF_EIO;
    }
    int rc = spool_fsync_fd(s, fd, name);
    close(fd);
    return rc;
}

static int sync_segments(struct lf_spool *s)
{
    int rc = LF_OK;
    for (size_t i = 0; i < s->nsegs; i++) {
        struct spool_seg *seg = s->segs[i];
        if (!seg->dirty) {
            continue;
        }
        int r = seg->fd >= 0 ? spool_fsync_fd(s, seg->fd, "segment") : sync_sealed(s, seg);
        if (r != LF_OK) {
            rc = r;
            continue;
        }
        seg->dirty = false;
    }
    return rc;
}

int lf_spool_sync(struct lf_spool *s)
{
    int rc = sync_segments(s);
    if (rc != LF_OK) {
        return rc;
    }
    if (s->dir_dirty) { /* new segment files are durable only with their directory */
        if (fsync(s->dirfd) != 0) {
            lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: fsync directory", s->dir);
            return LF_EIO;
        }
        s->dir_dirty = false;
    }
    /* The frames are durable now. The head only saves re-sending acknowledged frames
     * after a restart: failing to store it is logged, not an error of this sync. */
    struct lf_spool_pos head;
    spool_head_pos(s, &head);
    if (!s->head_saved_valid || head.seg != s->head_saved.seg || head.off != s->head_saved.off) {
        if (spool_head_store(s, head) == LF_OK) {
            s->head_saved = head;
            s->head_saved_valid = true;
        }
    }
    spool_acks_flush(s);
    return LF_OK;
}
