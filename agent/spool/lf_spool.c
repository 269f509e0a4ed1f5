/* lf_spool.c - opening and recovering a spool, closing it, stats, and the segment-list
 * helpers shared by the write and read paths (spool_write.c, spool_read.c).
 *
 * Recovery (lf_spool.h "Recovery"): every segment file is validated frame by frame; bad
 * tails are copied to the quarantine directory before the segment is truncated, bad
 * headers move the whole file there. Then the persisted head marks frames acknowledged
 * before the last sync, and the acks file those acknowledged out of order after it
 * (spool_acks.c). Appends after open always go to a new segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_fsutil.h"
#include "lf_vec.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

#define HALF_RANGE ((uint64_t)1 << 63)

int spool_fsync_fd(const struct lf_spool *s, int fd, const char *what)
{
    if (fdatasync(fd) == 0) {
        return LF_OK;
    }
    int rc = errno == ENOSPC || errno == EDQUOT ? LF_ENOSPC : LF_EIO;
    lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: fdatasync %s", s->dir, what);
    return rc;
}

void spool_delete_seg(struct lf_spool *s, size_t i)
{
    struct spool_seg *seg = s->segs[i];
    char name[SPOOL_NAME_MAX];
    spool_seg_name(name, seg->id);
    if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: unlink %s", s->dir, name);
    }
    if (seg == s->writer) {
        s->writer = NULL;
    }
    if (s->rfd >= 0 && s->rfd_id == seg->id) {
        close(s->rfd);
        s->rfd = -1;
    }
    s->bytes -= seg->size;
    s->records -= seg->nframes - seg->nacked;
    memmove(s->segs + i, s->segs + i + 1, (s->nsegs - i - 1) * sizeof(*s->segs));
    s->nsegs--;
    if (s->cur_i > i) {
        s->cur_i--;
    } else if (s->cur_i == i) {
        s->cur_idx = 0;
    }
    s->dir_dirty = true;
    spool_seg_free(seg);
}

void spool_head_pos(const struct lf_spool *s, struct lf_spool_pos *head)
{
    for (size_t i = 0; i < s->nsegs; i++) {
        const struct spool_seg *seg = s->segs[i];
        if (seg->first_unacked < seg->nframes) {
            head->seg = seg->id;
            head->off = seg->off[seg->first_unacked];
            return;
        }
    }
    if (s->writer) {
        head->seg = s->writer->id;
        head->off = s->writer->size;
    } else {
        head->seg = s->next_id;
        head->off = SPOOL_SEG_HDR;
    }
}

int spool_add_seg(struct lf_spool *s, struct spool_seg *seg)
{
    if (lf_vec_reserve(&s->segs, &s->capsegs, s->nsegs + 1) != LF_OK) {
        return LF_ENOMEM;
    }
    s->segs[s->nsegs++] = seg;
    s->bytes += seg->size;
    s->records += seg->nframes - seg->nacked;
    return LF_OK;
}

/* Truncates fd (segment id) at bad after saving the bytes from there. If they cannot be
 * saved (a full disk is a likely reason for the crash that tore the tail), the file is
 * left as it is: only its good frames are indexed, appends go to new segments, and the
 * next open tries again. The spool stays usable either way. */
static int cut_tail(struct lf_spool *s, int fd, uint64_t id, uint64_t bad)
{
    int rc = spool_quarantine_copy(s, fd, id, bad);
    if (rc != LF_OK) {
        lf_log_error(s->log,
                     "spool %s: segment %016" PRIx64 ": bad bytes from offset %" PRIu64
                     " left in place (%s); only the frames before are used",
                     s->dir, id, bad, lf_strerror(rc));
        return LF_OK;
    }
    if (ftruncate(fd, (off_t)bad) != 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: truncate segment %016" PRIx64, s->dir, id);
        return LF_EIO;
    }
    s->quarantined++;
    return spool_fsync_fd(s, fd, "truncated segment");
}

/* Decides what to do with one scanned segment file. */
static int recover_scanned(struct lf_spool *s, int fd, struct spool_seg *seg,
                           enum spool_scan_status st, uint64_t bad)
{
    char name[SPOOL_NAME_MAX];
    spool_seg_name(name, seg->id);
    switch (st) {
    case SPOOL_SCAN_SHORT:
        lf_log_warn(s->log, "spool %s: %s is shorter than a header (torn at creation), removed",
                    s->dir, name);
        s->dir_dirty = true;
        if (unlinkat(s->dirfd, name, 0) != 0) {
            lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: unlink %s (left in place)", s->dir, name);
        }
        return LF_OK;
    case SPOOL_SCAN_BAD_HEADER:
        /* If it cannot be moved it stays, unused, and the next open tries again. */
        s->quarantined += spool_quarantine_move(s, seg->id) == LF_OK;
        return LF_OK;
    case SPOOL_SCAN_BAD_FRAME:
        return cut_tail(s, fd, seg->id, bad);
    case SPOOL_SCAN_OK:
        break;
    }
    return LF_OK;
}

static int recover_seg(struct lf_spool *s, uint64_t id)
{
    char name[SPOOL_NAME_MAX];
    struct stat sb;
    struct spool_win w = {0};
    enum spool_scan_status st = SPOOL_SCAN_OK;
    uint64_t bad = 0;
    spool_seg_name(name, id);
    int fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: open %s", s->dir, name);
        if (fd >= 0) {
            close(fd);
        }
        return LF_EIO;
    }
    struct spool_seg *seg = spool_seg_new(id);
    int rc = seg ? spool_seg_scan(fd, (uint64_t)sb.st_size, seg, &w, &st, &bad) : LF_ENOMEM;
    spool_win_fini(&w);
    if (rc == LF_EIO) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: read %s", s->dir, name);
    }
    if (rc == LF_OK) {
        rc = recover_scanned(s, fd, seg, st, bad);
    }
    close(fd);
    if (rc == LF_OK && (st == SPOOL_SCAN_OK || st == SPOOL_SCAN_BAD_FRAME)) {
        rc = spool_add_seg(s, seg);
        seg = rc == LF_OK ? NULL : seg;
    }
    spool_seg_free(seg);
    return rc;
}

/* Marks everything before head acknowledged: whole segments are deleted. */
static void apply_head(struct lf_spool *s, struct lf_spool_pos head)
{
    uint64_t base = s->segs[0]->id;
    uint64_t rel_head = head.seg - base;
    if (rel_head >= HALF_RANGE) {
        return; /* older than every segment: nothing present was acknowledged */
    }
    while (s->nsegs && s->segs[0]->id - base < rel_head) {
        spool_delete_seg(s, 0);
    }
    if (s->nsegs == 0 || s->segs[0]->id != head.seg) {
        return;
    }
    struct spool_seg *seg = s->segs[0];
    for (uint32_t i = 0; i < seg->nframes && seg->off[i] < head.off; i++) {
        spool_seg_set_acked(seg, i);
        s->records--;
    }
    if (seg->nacked == seg->nframes) {
        spool_delete_seg(s, 0);
    }
}

/* Applies the persisted head and picks the next segment id: after every id listed at
 * open (also of files recovery had to leave alone) and after the head's, so that a new
 * segment never reuses a name or sits before the head. */
static void load_head(struct lf_spool *s, const uint64_t *ids, size_t n)
{
    struct lf_spool_pos head;
    int rc = spool_head_load(s->dirfd, &head, &s->head_seq);
    if (rc == LF_ECORRUPT || rc == LF_EIO) {
        lf_log_warn(s->log, "spool %s: head file unreadable (%s), reading from the oldest frame",
                    s->dir, lf_strerror(rc));
    }
    if (n == 0) {
        s->next_id = rc == LF_OK ? head.seg + 1 : s->opts.first_segment_id;
        return;
    }
    s->next_id = ids[n - 1] + 1;
    if (rc != LF_OK) {
        return;
    }
    if (head.seg - ids[n - 1] < HALF_RANGE) {
        s->next_id = head.seg + 1; /* the head is at or after the newest segment */
    }
    if (s->nsegs) {
        apply_head(s, head);
    }
}

static int recover(struct lf_spool *s)
{
    uint64_t *ids;
    size_t n;
    s->quarantined = spool_quarantine_count(s->dirfd, NULL);
    int rc = spool_list_ids(s->dirfd, &ids, &n);
    if (rc != LF_OK) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: list segments", s->dir);
        return rc;
    }
    for (size_t i = 0; i < n && rc == LF_OK; i++) {
        rc = recover_seg(s, ids[i]);
    }
    if (rc == LF_OK) {
        load_head(s, ids, n);
        spool_acks_load(s);
    }
    free(ids);
    return rc;
}

static void set_opts(struct lf_spool *s, const struct lf_spool_opts *opts)
{
    if (opts) {
        s->opts = *opts;
    }
    if (s->opts.segment_size == 0) {
        s->opts.segment_size = SPOOL_DEFAULT_SEGMENT;
    }
    if (s->opts.segment_size > SPOOL_MAX_SEGMENT) {
        s->opts.segment_size = SPOOL_MAX_SEGMENT;
    }
}

int lf_spool_open(const char *dir, const struct lf_spool_opts *opts, const struct lf_log_ctx *log,
                  struct lf_spool **out)
{
    *out = NULL;
    struct lf_spool *s = calloc(1, sizeof(*s));
    if (!s) {
        return LF_ENOMEM;
    }
    s->dirfd = -1;
    s->rfd = -1;
    s->head_fd = -1;
    s->acks_fd = -1;
    s->log = log;
    s->dir = strdup(dir);
    set_opts(s, opts);
    int rc = s->dir ? lf_mkdir_p(dir) : LF_ENOMEM;
    if (rc == LF_EIO) {
        lf_log_errno(LF_LOG_ERROR, log, "spool: mkdir -p %s", dir);
    }
    if (rc == LF_OK) {
        s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
            lf_log_errno(LF_LOG_ERROR, log, "spool: open %s", dir);
            rc = LF_EIO;
        }
    }
    if (rc == LF_OK) {
        rc = recover(s);
    }
    if (rc != LF_OK) {
        lf_spool_close(s);
        return rc;
    }
    *out = s;
    return LF_OK;
}

void lf_spool_close(struct lf_spool *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->nsegs; i++) {
        spool_seg_free(s->segs[i]);
    }
    free(s->segs);
    if (s->rfd >= 0) {
        close(s->rfd);
    }
    if (s->head_fd >= 0) {
        close(s->head_fd);
    }
    if (s->acks_fd >= 0) {
        close(s->acks_fd);
    }
    free(s->pend);
    if (s->dirfd >= 0) {
        close(s->dirfd);
    }
    spool_win_fini(&s->rwin);
    free(s->wbuf);
    free(s->dir);
    free(s);
}

bool lf_spool_empty(const struct lf_spool *s)
{
    return s->records == 0;
}

/* timestamp_ms of the frame at pos, 0 if it cannot be read. */
static int64_t frame_timestamp(const struct lf_spool *s, struct lf_spool_pos pos)
{
    char name[SPOOL_NAME_MAX];
    unsigned char b[16];
    spool_seg_name(name, pos.seg);
    int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = pread(fd, b, sizeof(b), (off_t)(pos.off + SPOOL_FRAME_HDR));
    close(fd);
    return n == (ssize_t)sizeof(b) ? (int64_t)spool_get64(b + 8) : 0;
}

void lf_spool_get_stats(const struct lf_spool *s, struct lf_spool_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->segments = s->nsegs;
    st->records = s->records;
    st->bytes = s->bytes;
    st->quarantined = s->quarantined;
    st->dropped_records = s->dropped;
    if (s->records) {
        struct lf_spool_pos head;
        spool_head_pos(s, &head);
        st->oldest_ms = frame_timestamp(s, head);
    }
}
