/* lf_optsecret.c - reads the value of a secret option from a file (NAME_file: PATH).
 *
 * The file must be a regular file of at most LF_SECRET_FILE_MAX bytes, without NUL bytes;
 * trailing whitespace and newlines are dropped (files written with echo). The message
 * of a failure names the path, never the content.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_optfill.h"
#include "logferry/lf_err.h"

#define LF_SECRET_FILE_MAX 65536

static int secret_read_fd(int fd, const char *path, char **out, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        return LF_EINVAL;
    }
    if (st.st_size > LF_SECRET_FILE_MAX) {
        snprintf(err, errlen, "%s is larger than %d bytes", path, LF_SECRET_FILE_MAX);
        return LF_EINVAL;
    }
    char *buf = calloc(1, (size_t)st.st_size + 1);
    size_t len = 0;
    ssize_t n = 1;
    while (buf && len < (size_t)st.st_size && n > 0) {
        n = read(fd, buf + len, (size_t)st.st_size - len);
        len += n > 0 ? (size_t)n : 0;
        if (n < 0 && errno == EINTR) {
            n = 1;
        }
    }
    if (!buf || n < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, buf ? strerror(errno) : "no memory");
        free(buf);
        return LF_EIO;
    }
    while (len > 0 && strchr(" \t\r\n", buf[len - 1])) {
        buf[--len] = '\0';
    }
    if (len == 0 || memchr(buf, '\0', len)) {
        snprintf(err, errlen, "%s %s", path, len ? "holds a NUL byte" : "is empty");
        free(buf);
        return LF_EINVAL;
    }
    *out = buf;
    return LF_OK;
}

int lf_secret_read_file(const char *path, char **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return LF_EIO;
    }
    int rc = secret_read_fd(fd, path, out, err, errlen);
    close(fd);
    return rc;
}
