/* lf_fsutil.c - small file-system helpers (see lf_fsutil.h). */
#include "lf_fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logferry/lf_err.h"

int lf_mkdir_p(const char *path)
{
    char *p = strdup(path);
    int rc = LF_OK;
    if (!p) {
        return LF_ENOMEM;
    }
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != '\0') {
            continue;
        }
        char c = *q;
        *q = '\0';
        if (mkdir(p, LF_STATE_DIR_MODE) != 0 && errno != EEXIST) {
            rc = LF_EIO;
            break;
        }
        *q = c;
        if (c == '\0') {
            break;
        }
    }
    int saved = errno;
    free(p);
    errno = saved;
    return rc;
}

/* The pid the holder wrote into the lock file, 0 if unknown. */
static long lock_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

static int lock_dir_ok(const char *dir, char *err, size_t errlen, char *warn, size_t warnlen)
{
    struct stat st;
    if (lf_mkdir_p(dir) != LF_OK || stat(dir, &st) != 0) {
        snprintf(err, errlen, "cannot create state_dir %s: %s", dir, strerror(errno));
        return LF_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "state_dir %s is not a directory", dir);
        return LF_EIO;
    }
    if (st.st_mode & S_IRWXO) {
        snprintf(warn, warnlen,
                 "state_dir %s is accessible to every user (mode %04o): chmod o-rwx it, "
                 "it holds spooled records",
                 dir, (unsigned)(st.st_mode & 07777));
    }
    return LF_OK;
}

int lf_state_lock(const char *dir, int *fd, char *err, size_t errlen, char *warn, size_t warnlen)
{
    char path[4096];
    struct stat st;
    *fd = -1;
    if (warnlen) {
        warn[0] = '\0';
    }
    if (lock_dir_ok(dir, err, errlen, warn, warnlen) != LF_OK) {
        return LF_EIO;
    }
    snprintf(path, sizeof(path), "%s/lock", dir);
    int lfd =
        open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, LF_STATE_FILE_MODE);
    if (lfd < 0 || fstat(lfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot open the lock file %s: %s", path,
                 lfd < 0 ? strerror(errno) : "not a regular file (remove it)");
        if (lfd >= 0) {
            close(lfd);
        }
        return LF_EIO;
    }
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = lock_holder(lfd);
        close(lfd);
        if (e != EWOULDBLOCK) {
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
            return LF_EIO;
        }
        snprintf(err, errlen,
                 "state_dir %s is in use by another logferry (pid %ld): give each agent its "
                 "own agent.state_dir",
                 dir, pid);
        return LF_EAGAIN;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(lfd, 0) != 0 || pwrite(lfd, pid, (size_t)n, 0) != n) {
        /* the lock holds without the pid: only the message of a second agent loses it */
    }
    *fd = lfd;
    return LF_OK;
}
