/* spool_quar.c - the quarantine directory: bytes that failed validation are kept there
 * ("<dir>/quarantine/seg-<id>.<offset>.bad") for an operator, never deleted by logferry.
 *
 * Every file is synced before the segment it came from is truncated, so a crash between
 * the two steps at worst quarantines the same bytes twice.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logferry/lf_err.h"
#include "spool_int.h"

#define QNAME_MAX 96

static int open_qdir(struct lf_spool *s)
{
    bool made = mkdirat(s->dirfd, SPOOL_QDIR, 0750) == 0;
    if (!made && errno != EEXIST) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: mkdir %s", s->dir, SPOOL_QDIR);
        return -1;
    }
    /* A new directory's entry is made durable before anything is moved into it. */
    if (made && fsync(s->dirfd) != 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: fsync directory", s->dir);
        return -1;
    }
    int qfd = openat(s->dirfd, SPOOL_QDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (qfd < 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: open %s", s->dir, SPOOL_QDIR);
    }
    return qfd;
}

/* A name that does not exist yet: seg-<id>.<off>.bad, else seg-<id>.<off>.<n>.bad. */
static void free_qname(int qfd, char *name, uint64_t id, uint64_t off)
{
    snprintf(name, QNAME_MAX, "seg-%016" PRIx64 ".%" PRIu64 ".bad", id, off);
    for (int n = 1; n < 1000 && faccessat(qfd, name, F_OK, 0) == 0; n++) {
        snprintf(name, QNAME_MAX, "seg-%016" PRIx64 ".%" PRIu64 ".%d.bad", id, off, n);
    }
}

static int copy_range(int in, uint64_t from, int out)
{
    char buf[65536];
    for (;;) {
        ssize_t r = pread(in, buf, sizeof(buf), (off_t)from);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r < 0 ? -1 : 0;
        }
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(out, buf + done, (size_t)(r - done));
            if (w < 0 && errno != EINTR) {
                return -1;
            }
            done += w > 0 ? w : 0;
        }
        from += (uint64_t)r;
    }
}

int spool_quarantine_copy(struct lf_spool *s, int fd, uint64_t id, uint64_t from)
{
    char name[QNAME_MAX];
    int qfd = open_qdir(s);
    if (qfd < 0) {
        return LF_EIO;
    }
    free_qname(qfd, name, id, from);
    int out = openat(qfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    int rc = LF_OK;
    if (out < 0 || copy_range(fd, from, out) != 0 || fsync(out) != 0 || fsync(qfd) != 0) {
        rc = errno == ENOSPC || errno == EDQUOT ? LF_ENOSPC : LF_EIO;
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: quarantine %s/%s", s->dir, SPOOL_QDIR, name);
    } else {
        lf_log_error(s->log,
                     "spool %s: segment %016" PRIx64 ": bad frame at offset %" PRIu64
                     ", the rest of the segment moved to %s/%s",
                     s->dir, id, from, SPOOL_QDIR, name);
    }
    if (out >= 0) {
        close(out);
    }
    close(qfd);
    return rc;
}

int spool_quarantine_move(struct lf_spool *s, uint64_t id)
{
    char name[QNAME_MAX], seg[SPOOL_NAME_MAX];
    int qfd = open_qdir(s);
    if (qfd < 0) {
        return LF_EIO;
    }
    free_qname(qfd, name, id, 0);
    spool_seg_name(seg, id);
    int rc = LF_OK;
    if (renameat(s->dirfd, seg, qfd, name) != 0 || fsync(qfd) != 0) {
        lf_log_errno(LF_LOG_ERROR, s->log, "spool %s: move %s to %s", s->dir, seg, SPOOL_QDIR);
        rc = LF_EIO;
    } else {
        lf_log_error(s->log, "spool %s: %s has a bad header, moved to %s/%s", s->dir, seg,
                     SPOOL_QDIR, name);
        s->dir_dirty = true;
    }
    close(qfd);
    return rc;
}

uint64_t spool_quarantine_count(int spool_dirfd, FILE *list)
{
    int qfd = openat(spool_dirfd, SPOOL_QDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = qfd >= 0 ? fdopendir(qfd) : NULL;
    uint64_t n = 0;
    if (!d) {
        if (qfd >= 0) {
            close(qfd);
        }
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        struct stat st;
        if (len < 5 || strcmp(e->d_name + len - 4, ".bad") != 0 ||
            fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        n++;
        if (list) {
            fprintf(list, "    %s/%s  %" PRIu64 " bytes\n", SPOOL_QDIR, e->d_name,
                    (uint64_t)st.st_size);
        }
    }
    closedir(d);
    return n;
}
