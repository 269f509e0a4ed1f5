/* spool_head.c - the "head" file: the first un-acknowledged position, so a restart skips
 * frames acknowledged before the last sync.
 *
 * One line "lfspool-head 1 <segment id, 16 hex> <offset> <crc32c of the text before>",
 * replaced atomically (temp file, fdatasync, rename; the caller fsyncs the directory).
 * A missing or damaged file means "start from the oldest frame": duplicates, never loss.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lf_crc32c.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

#define HEAD_TMP "head.tmp"

static int format_head(char *buf, size_t cap, struct lf_spool_pos head)
{
    int n = snprintf(buf, cap, "lfspool-head 1 %016" PRIx64 " %" PRIu64 " ", head.seg, head.off);
    uint32_t crc = lf_crc32c(0, buf, (size_t)n);
    return n + snprintf(buf + n, cap - (size_t)n, "%08" PRIx32 "\n", crc);
}

int spool_head_load(int dirfd, struct lf_spool_pos *head)
{
    char buf[128], again[128];
    int fd = openat(dirfd, SPOOL_HEAD_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? LF_ENOTFOUND : LF_EIO;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        return LF_EIO;
    }
    buf[n] = '\0';
    uint64_t seg, off;
    if (sscanf(buf, "lfspool-head 1 %16" SCNx64 " %" SCNu64, &seg, &off) != 2) {
        return LF_ECORRUPT;
    }
    struct lf_spool_pos h = {.seg = seg, .off = off};
    if (format_head(again, sizeof(again), h) != (int)n || memcmp(again, buf, (size_t)n) != 0) {
        return LF_ECORRUPT; /* the crc (or anything else) differs */
    }
    *head = h;
    return LF_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int spool_head_store(struct lf_spool *s, struct lf_spool_pos head)
{
    char buf[128];
    int n = format_head(buf, sizeof(buf), head);
    int fd = openat(s->dirfd, HEAD_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || write_all(fd, buf, (size_t)n) != 0 || fdatasync(fd) != 0) {
        int e = errno;
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: write %s", s->dir, HEAD_TMP);
        if (fd >= 0) {
            close(fd);
        }
        return e == ENOSPC || e == EDQUOT ? LF_ENOSPC : LF_EIO;
    }
    close(fd);
    if (renameat(s->dirfd, HEAD_TMP, s->dirfd, SPOOL_HEAD_FILE) != 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: rename %s", s->dir, HEAD_TMP);
        return LF_EIO;
    }
    return LF_OK;
}
