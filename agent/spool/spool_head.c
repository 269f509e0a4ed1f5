/* spool_head.c - the "head" file: the first un-acknowledged position, so a restart skips
 * frames acknowledged before the last sync.
 *
 * Two slots, at offsets 0 and 512 (one sector each), written in turn in place: one pwrite
 * and one fdatasync per update, no temp file, rename or directory fsync. A slot is magic
 * "LFHEAD1\0", u64 sequence, u64 segment id, u64 offset, u32 crc32c of those 32 bytes.
 * Loading takes the valid slot with the higher sequence: a torn write can only damage the
 * slot being written, and the other one still holds the previous head. No valid slot
 * means "start from the oldest frame": duplicates, never loss.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "lf_crc32c.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

#define HEAD_MAGIC "LFHEAD1" /* + its NUL: 8 bytes */
#define HEAD_SLOT  512u
#define HEAD_REC   36u

static void encode_slot(unsigned char *b, uint64_t seq, struct lf_spool_pos head)
{
    memcpy(b, HEAD_MAGIC, 8);
    spool_put64(b + 8, seq);
    spool_put64(b + 16, head.seg);
    spool_put64(b + 24, head.off);
    spool_put32(b + 32, lf_crc32c(0, b, 32));
}

static bool decode_slot(const unsigned char *b, uint64_t *seq, struct lf_spool_pos *head)
{
    if (memcmp(b, HEAD_MAGIC, 8) != 0 || spool_get32(b + 32) != lf_crc32c(0, b, 32)) {
        return false;
    }
    *seq = spool_get64(b + 8);
    head->seg = spool_get64(b + 16);
    head->off = spool_get64(b + 24);
    return true;
}

int spool_head_load(int dirfd, struct lf_spool_pos *head, uint64_t *seq)
{
    unsigned char buf[HEAD_SLOT + HEAD_REC] = {0};
    int fd = openat(dirfd, SPOOL_HEAD_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? LF_ENOTFOUND : LF_EIO;
    }
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    if (n < 0) {
        return LF_EIO;
    }
    bool found = false;
    uint64_t best = 0;
    for (unsigned i = 0; i < 2; i++) {
        uint64_t q;
        struct lf_spool_pos h;
        if (decode_slot(buf + i * HEAD_SLOT, &q, &h) && (!found || q > best)) {
            found = true;
            best = q;
            *head = h;
        }
    }
    if (found && seq) {
        *seq = best;
    }
    return found ? LF_OK : LF_ECORRUPT;
}

static int open_head(struct lf_spool *s)
{
    s->head_fd = openat(s->dirfd, SPOOL_HEAD_FILE, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (s->head_fd >= 0) {
        s->dir_dirty = true; /* a new entry in the directory */
        return LF_OK;
    }
    if (errno == EEXIST) {
        s->head_fd = openat(s->dirfd, SPOOL_HEAD_FILE, O_RDWR | O_CLOEXEC);
    }
    if (s->head_fd < 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: open %s", s->dir, SPOOL_HEAD_FILE);
        return LF_EIO;
    }
    return LF_OK;
}

int spool_head_store(struct lf_spool *s, struct lf_spool_pos head)
{
    unsigned char b[HEAD_REC];
    int rc = s->head_fd >= 0 ? LF_OK : open_head(s);
    if (rc != LF_OK) {
        return rc;
    }
    uint64_t seq = s->head_seq + 1;
    encode_slot(b, seq, head);
    ssize_t w = pwrite(s->head_fd, b, sizeof(b), (off_t)((seq % 2) * HEAD_SLOT));
    if (w != (ssize_t)sizeof(b) || fdatasync(s->head_fd) != 0) {
        int e = w < 0 || w == (ssize_t)sizeof(b) ? errno : ENOSPC; /* short write: full */
        errno = e;
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: write %s", s->dir, SPOOL_HEAD_FILE);
        return e == ENOSPC || e == EDQUOT || e == EFBIG ? LF_ENOSPC : LF_EIO;
    }
    s->head_seq = seq;
    return LF_OK;
}
