/* spool_acks.c - the "acks" file: frames acknowledged out of order after the head.
 *
 * The head (spool_head.c) holds only the first un-acknowledged position. Outputs such as
 * Kafka acknowledge out of order, so frames after the head may be done too; without a
 * record of them a restart (SIGTERM while the spool drains, a reload that restarts the
 * output) would send them again. Acks are noted in memory; lf_spool_sync appends those
 * still after the new head here (one pwrite, one fdatasync) and lf_spool_open applies the
 * file after the head.
 *
 * Format: magic "LFACKS1\0", then entries of 20 bytes: u64 segment id, u64 frame offset,
 * u32 crc32c of those 16 bytes. Loading stops at the first short or bad entry (an append
 * torn by a crash): the entries before it count, and the file is cut there.
 *
 * An entry stays true forever: a frame is never un-acknowledged, segment ids are never
 * reused and no offset of a segment gets a new frame (appends after open, and after a
 * segment was cut, go to a new segment). So stale entries (before the head, of deleted
 * segments) are harmless and the file needs no fsync when it shrinks: it is emptied when
 * no acknowledged frame is left after the head, and rewritten (temp file, rename) with
 * only the live entries when most of it is stale. Failures here cost duplicates after a
 * restart, never loss: they are logged, not returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_crc32c.h"
#include "lf_vec.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

#define ACKS_MAGIC     "LFACKS1" /* + its NUL: 8 bytes */
#define ACKS_HDR       8u
#define ACKS_ENTRY     20u
#define ACKS_TMP       "acks.tmp"
#define ACKS_STALE_MIN 16384u      /* entries before a rewrite is considered */
#define ACKS_LOAD_MAX  (64u << 20) /* bytes read at open: more cannot come from this code */

static void encode_entry(unsigned char *b, struct lf_spool_pos pos)
{
    spool_put64(b, pos.seg);
    spool_put64(b + 8, pos.off);
    spool_put32(b + 16, lf_crc32c(0, b, 16));
}

/* Acknowledged frames after the head: every segment present holds at least one frame
 * that is not acknowledged, and the head is the first of those in the oldest one. */
static uint64_t live_count(const struct lf_spool *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        n += s->segs[i]->nacked;
    }
    return s->nsegs ? n - s->segs[0]->first_unacked : 0;
}

/* True when pos is an acknowledged frame after the head. */
static bool is_live(const struct lf_spool *s, struct lf_spool_pos pos)
{
    long i = spool_find_seg(s, pos.seg);
    if (i < 0) {
        return false;
    }
    const struct spool_seg *seg = s->segs[i];
    long idx = spool_seg_find(seg, pos.off);
    return idx >= 0 && (i > 0 || (uint32_t)idx >= seg->first_unacked);
}

/* Keeps the noted acks that are still after the head. */
static void prune_pending(struct lf_spool *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->npend; i++) {
        if (is_live(s, s->pend[i])) {
            s->pend[k++] = s->pend[i];
        }
    }
    s->npend = k;
}

void spool_acks_note(struct lf_spool *s, struct lf_spool_pos pos)
{
    if (s->npend == s->cappend) {
        prune_pending(s); /* bounded by the acks in flight when no sync comes */
        if (s->npend * 2 > s->cappend) {
            (void)lf_vec_reserve(&s->pend, &s->cappend, s->cappend * 2); /* else: see below */
        }
    }
    if (lf_vec_reserve(&s->pend, &s->cappend, s->npend + 1) != LF_OK) {
        return; /* no memory: this frame may be sent again after a restart */
    }
    s->pend[s->npend++] = pos;
}

static void warn_once(struct lf_spool *s, const char *what)
{
    if (!s->acks_warned) {
        lf_log_errno(LF_LOG_WARN, s->log,
                     "spool %s: %s the acks file; frames acknowledged out of order may be "
                     "sent again after a restart",
                     s->dir, what);
        s->acks_warned = true;
    }
}

static int open_acks(struct lf_spool *s)
{
    if (s->acks_fd >= 0) {
        return LF_OK;
    }
    s->acks_fd = openat(s->dirfd, SPOOL_ACKS_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->acks_fd < 0) {
        warn_once(s, "cannot open");
        return LF_EIO;
    }
    s->dir_dirty = true; /* a new entry, maybe: costs one directory fsync */
    return LF_OK;
}

/* Writes n entries at the end, after the magic if the file is empty; fdatasync. */
static int append_entries(struct lf_spool *s, const struct lf_spool_pos *v, size_t n)
{
    size_t hdr = s->acks_len ? 0 : ACKS_HDR, len = hdr + n * ACKS_ENTRY;
    unsigned char *b = malloc(len);
    if (!b || open_acks(s) != LF_OK) {
        free(b);
        return LF_ENOMEM;
    }
    memcpy(b, ACKS_MAGIC, hdr);
    for (size_t i = 0; i < n; i++) {
        encode_entry(b + hdr + i * ACKS_ENTRY, v[i]);
    }
    ssize_t w = pwrite(s->acks_fd, b, len, (off_t)s->acks_len);
    free(b);
    if (w != (ssize_t)len || fdatasync(s->acks_fd) != 0) {
        warn_once(s, "cannot write");
        return LF_EIO;
    }
    s->acks_len += len;
    s->acks_entries += n;
    return LF_OK;
}

/* Every acknowledged frame after the head, into *v (caller frees). */
static int collect_live(const struct lf_spool *s, struct lf_spool_pos **v, size_t *n)
{
    size_t cap = 0;
    *v = NULL;
    *n = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        const struct spool_seg *seg = s->segs[i];
        for (uint32_t j = i ? 0 : seg->first_unacked; j < seg->nframes; j++) {
            if (!spool_seg_is_acked(seg, j)) {
                continue;
            }
            if (lf_vec_reserve(v, &cap, *n + 1) != LF_OK) {
                free(*v);
                return LF_ENOMEM;
            }
            (*v)[(*n)++] = (struct lf_spool_pos){.seg = seg->id, .off = seg->off[j]};
        }
    }
    return LF_OK;
}

/* Replaces the file by one with only the live entries. If the rename does not reach the
 * disk before a crash, the old file, still true, is loaded. */
static void rewrite(struct lf_spool *s)
{
    struct lf_spool_pos *v;
    size_t n;
    if (collect_live(s, &v, &n) != LF_OK) {
        return;
    }
    int old_fd = s->acks_fd;
    uint64_t old_len = s->acks_len, old_entries = s->acks_entries;
    s->acks_fd = openat(s->dirfd, ACKS_TMP, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    s->acks_len = s->acks_entries = 0;
    if (s->acks_fd >= 0 && append_entries(s, v, n) == LF_OK &&
        renameat(s->dirfd, ACKS_TMP, s->dirfd, SPOOL_ACKS_FILE) == 0) {
        close(old_fd);
    } else {
        warn_once(s, "cannot rewrite");
        if (s->acks_fd >= 0) {
            close(s->acks_fd);
            unlinkat(s->dirfd, ACKS_TMP, 0);
        }
        s->acks_fd = old_fd;
        s->acks_len = old_len;
        s->acks_entries = old_entries;
    }
    free(v);
}

void spool_acks_flush(struct lf_spool *s)
{
    uint64_t live = live_count(s);
    if (live == 0) {
        s->npend = 0;
        if (s->acks_len && ftruncate(s->acks_fd, 0) == 0) {
            s->acks_len = s->acks_entries = 0;
        }
        return;
    }
    prune_pending(s);
    if (s->npend && append_entries(s, s->pend, s->npend) == LF_OK) {
        s->npend = 0;
    }
    if (s->acks_entries > ACKS_STALE_MIN && s->acks_entries > 4 * live) {
        rewrite(s);
    }
}

/* The good entries of b[0..len): up to the first short or bad one. */
static int decode_entries(const unsigned char *b, uint64_t len, struct lf_spool_pos **v, size_t *n,
                          uint64_t *good_len)
{
    size_t cap = 0;
    uint64_t off = ACKS_HDR;
    for (; off + ACKS_ENTRY <= len; off += ACKS_ENTRY) {
        const unsigned char *e = b + off;
        if (spool_get32(e + 16) != lf_crc32c(0, e, 16)) {
            break;
        }
        if (lf_vec_reserve(v, &cap, *n + 1) != LF_OK) {
            return LF_ENOMEM;
        }
        (*v)[(*n)++] = (struct lf_spool_pos){.seg = spool_get64(e), .off = spool_get64(e + 8)};
    }
    *good_len = off;
    return LF_OK;
}

int spool_acks_read(int fd, struct lf_spool_pos **v, size_t *n, uint64_t *good_len,
                    uint64_t *file_len)
{
    struct stat st;
    *v = NULL;
    *n = 0;
    *good_len = 0;
    if (fstat(fd, &st) != 0) {
        return LF_EIO;
    }
    *file_len = (uint64_t)st.st_size;
    uint64_t size = *file_len > ACKS_LOAD_MAX ? ACKS_LOAD_MAX : *file_len;
    if (size == 0) {
        return LF_OK;
    }
    unsigned char *b = size >= ACKS_HDR ? malloc(size) : NULL;
    int rc = LF_ECORRUPT;
    if (b && pread(fd, b, size, 0) != (ssize_t)size) {
        rc = LF_EIO;
    } else if (b && memcmp(b, ACKS_MAGIC, ACKS_HDR) == 0) {
        rc = decode_entries(b, size, v, n, good_len);
    } else if (!b && size >= ACKS_HDR) {
        rc = LF_ENOMEM;
    }
    free(b);
    if (rc != LF_OK) {
        free(*v);
        *v = NULL;
        *n = 0;
    }
    return rc;
}

void spool_acks_load(struct lf_spool *s)
{
    struct lf_spool_pos *v;
    size_t n;
    uint64_t good, size;
    int fd = openat(s->dirfd, SPOOL_ACKS_FILE, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            warn_once(s, "cannot open");
        }
        return;
    }
    s->acks_fd = fd;
    int rc = spool_acks_read(fd, &v, &n, &good, &size);
    if (rc != LF_OK) {
        lf_log_warn(s->log,
                    "spool %s: the acks file is unreadable (%s); frames after the head "
                    "are all read again",
                    s->dir, lf_strerror(rc));
        return; /* acks_len 0: the next append starts the file anew */
    }
    for (size_t i = 0; i < n; i++) {
        spool_ack_frame(s, v[i]);
    }
    free(v);
    s->acks_len = good;
    s->acks_entries = n;
    if (good < size && ftruncate(fd, (off_t)good) != 0) {
        warn_once(s, "cannot cut the torn end of"); /* appends write over it */
    }
}
