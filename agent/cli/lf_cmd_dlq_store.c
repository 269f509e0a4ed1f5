/* lf_cmd_dlq_store.c - the dead-letter store of one output as the dlq command sees it:
 * loading under a shared lock, the journal of removed ids, and the locked compaction
 * (the design is described in lf_cmd_dlq.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_buf.h"
#include "lf_cmd_dlq.h"
#include "lf_fsutil.h"
#include "logferry/lf_err.h"

static int store_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool lf_dlq_store_is_done(const struct lf_dlq_store *s, const char *id)
{
    return s->ndone && bsearch(&id, s->done, s->ndone, sizeof(char *), store_cmp) != NULL;
}

/* Reads a whole file into a NUL-terminated buffer. LF_ENOTFOUND when it does not exist. */
static int store_slurp(const char *path, char **data, size_t *len, int lock)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct lf_buf b;
    if (fd < 0) {
        return errno == ENOENT ? LF_ENOTFOUND : LF_EIO;
    }
    if (lock && flock(fd, lock) != 0) {
        close(fd);
        return LF_EIO;
    }
    lf_buf_init(&b, 0);
    char chunk[65536];
    ssize_t r;
    int rc = LF_OK;
    while (rc == LF_OK && (r = read(fd, chunk, sizeof(chunk))) != 0) {
        rc = r < 0 ? (errno == EINTR ? LF_OK : LF_EIO) : lf_buf_append(&b, chunk, (size_t)r);
    }
    close(fd);
    rc = rc == LF_OK ? lf_buf_append_char(&b, 0) : rc;
    if (rc != LF_OK) {
        lf_buf_fini(&b);
        return rc;
    }
    *data = lf_buf_take(&b, len);
    (*len)--;
    return LF_OK;
}

/* The journal's ids into s->done (sorted). A missing journal is an empty one. */
static int store_load_journal(struct lf_dlq_store *s)
{
    char *data, *save = NULL;
    size_t len;
    int rc = store_slurp(s->journal, &data, &len, 0);
    if (rc != LF_OK) {
        return rc == LF_ENOTFOUND ? LF_OK : rc;
    }
    for (char *t = strtok_r(data, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
        char **v = realloc(s->done, (s->ndone + 1) * sizeof(*v));
        char *id = v ? strdup(t) : NULL;
        if (v) {
            s->done = v;
        }
        if (!id) {
            free(data);
            return LF_ENOMEM;
        }
        s->done[s->ndone++] = id;
    }
    free(data);
    if (s->ndone) {
        qsort(s->done, s->ndone, sizeof(char *), store_cmp);
    }
    return LF_OK;
}

static int store_add_line(struct lf_dlq_store *s, const char *p, size_t n, size_t lineno, FILE *err)
{
    struct lf_dlq_item e;
    if (n == 0) {
        return LF_OK;
    }
    if (!lf_dlq_entry_parse(p, n, lineno, &e)) {
        s->corrupt++;
        if (err) {
            fprintf(err, "logferry dlq: %s:%zu: not a dead-letter line, skipped\n", s->path,
                    lineno);
        }
        return LF_OK;
    }
    if (lf_dlq_store_is_done(s, e.id)) {
        s->hidden++;
        lf_dlq_entry_fini(&e);
        return LF_OK;
    }
    int rc = lf_dlq_store_add(s, &e);
    if (rc != LF_OK) {
        lf_dlq_entry_fini(&e);
    }
    return rc;
}

int lf_dlq_store_add(struct lf_dlq_store *s, struct lf_dlq_item *e)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct lf_dlq_item *v = realloc(s->v, cap * sizeof(*v));
        if (!v) {
            return LF_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *e;
    memset(e, 0, sizeof(*e));
    return LF_OK;
}

int lf_dlq_store_init(const char *path, const char *output, struct lf_dlq_store *s)
{
    memset(s, 0, sizeof(*s));
    s->journal_fd = -1;
    s->path = strdup(path);
    s->output = strdup(output);
    if (!s->path || !s->output || asprintf(&s->journal, "%s.done", path) < 0) {
        s->journal = NULL;
        return LF_ENOMEM;
    }
    return store_load_journal(s);
}

int lf_dlq_store_load(const char *path, const char *output, FILE *err, struct lf_dlq_store *s)
{
    char *data;
    size_t len;
    int rc = lf_dlq_store_init(path, output, s);
    rc = rc == LF_OK ? store_slurp(path, &data, &len, LOCK_SH) : rc;
    if (rc != LF_OK) {
        return rc;
    }
    size_t lineno = 1;
    for (char *p = data; rc == LF_OK && p < data + len; lineno++) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        rc = store_add_line(s, p, n, lineno, err);
        p += n + 1;
    }
    free(data);
    return rc;
}

void lf_dlq_store_fini(struct lf_dlq_store *s)
{
    for (size_t i = 0; i < s->n; i++) {
        lf_dlq_entry_fini(&s->v[i]);
    }
    for (size_t i = 0; i < s->ndone; i++) {
        free(s->done[i]);
    }
    if (s->journal_fd >= 0) {
        close(s->journal_fd);
    }
    free(s->v);
    free(s->done);
    free(s->path);
    free(s->journal);
    free(s->output);
    memset(s, 0, sizeof(*s));
    s->journal_fd = -1;
}

int lf_dlq_store_lock_journal(struct lf_dlq_store *s)
{
    int fd = open(s->journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 && errno == ENOENT) { /* --from-topic on a state dir with no store yet */
        char *dirc = strdup(s->journal);
        if (dirc && lf_mkdir_p(dirname(dirc)) == LF_OK) {
            fd = open(s->journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        }
        free(dirc);
    }
    if (fd < 0) {
        return LF_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? LF_EAGAIN : LF_EIO;
        close(fd);
        return rc;
    }
    s->journal_fd = fd;
    return LF_OK;
}

int lf_dlq_store_mark_done(struct lf_dlq_store *s, const char *const *ids, size_t n)
{
    struct lf_buf b;
    lf_buf_init(&b, 0);
    int rc = LF_OK;
    for (size_t i = 0; i < n && rc == LF_OK; i++) {
        rc = lf_buf_printf(&b, "%s\n", ids[i]);
    }
    rc = rc == LF_OK ? lf_buf_write_fd(&b, s->journal_fd) : rc;
    lf_buf_fini(&b);
    if (rc == LF_OK && fdatasync(s->journal_fd) != 0) {
        rc = LF_EIO;
    }
    for (size_t i = 0; i < n && rc == LF_OK; i++) {
        char **v = realloc(s->done, (s->ndone + 1) * sizeof(*v));
        char *id = v ? strdup(ids[i]) : NULL;
        s->done = v ? v : s->done;
        if (!id) {
            return LF_ENOMEM;
        }
        s->done[s->ndone++] = id;
    }
    if (s->ndone) {
        qsort(s->done, s->ndone, sizeof(char *), store_cmp);
    }
    return rc;
}

/* Opens the store and takes its exclusive lock, on the file the path names now (a
 * concurrent compaction may have replaced it). fd or -1 (errno set; ENOENT: no store). */
static int store_lock_current(const char *path)
{
    for (int tries = 0; tries < 16; tries++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0) {
            return -1;
        }
        if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
            return fd;
        }
        close(fd);
    }
    errno = EAGAIN;
    return -1;
}

/* The live lines of data (len bytes) into b: those whose id is not journaled. Lines that
 * do not parse are kept as they are (they are reported, never dropped silently). */
static int store_keep(const struct lf_dlq_store *s, const char *data, size_t len, struct lf_buf *b)
{
    int rc = LF_OK;
    for (const char *p = data; rc == LF_OK && p < data + len;) {
        const char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        struct lf_dlq_item e;
        bool parsed = n && lf_dlq_entry_parse(p, n, 0, &e);
        if (n && (!parsed || !lf_dlq_store_is_done(s, e.id))) {
            rc = lf_buf_append(b, p, n);
            rc = rc == LF_OK ? lf_buf_append_char(b, '\n') : rc;
        }
        if (parsed) {
            lf_dlq_entry_fini(&e);
        }
        p += n + 1;
    }
    return rc;
}

/* Writes b to a new file next to path, fsyncs it and renames it over path. */
static int store_replace(const char *path, const struct lf_buf *b)
{
    char *tmp, *dirc = strdup(path);
    if (!dirc || asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        free(dirc);
        return LF_ENOMEM;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    int rc = fd < 0 ? LF_EIO : lf_buf_write_fd(b, fd);
    if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0)) {
        rc = LF_EIO;
    }
    if (rc == LF_OK && rename(tmp, path) != 0) {
        rc = LF_EIO;
    }
    if (rc != LF_OK) {
        unlink(tmp);
    } else {
        int dfd = open(dirname(dirc), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc = dfd >= 0 && fsync(dfd) == 0 ? LF_OK : LF_EIO;
        if (dfd >= 0) {
            close(dfd);
        }
    }
    free(tmp);
    free(dirc);
    return rc;
}

int lf_dlq_store_compact(struct lf_dlq_store *s)
{
    int fd = store_lock_current(s->path);
    if (fd < 0) {
        return errno == ENOENT ? LF_ENOTFOUND : LF_EIO;
    }
    char *data;
    size_t len;
    int rc = store_slurp(s->path, &data, &len, 0);
    if (rc == LF_OK) {
        struct lf_buf b;
        lf_buf_init(&b, 0);
        rc = store_keep(s, data, len, &b);
        rc = rc == LF_OK ? store_replace(s->path, &b) : rc;
        lf_buf_fini(&b);
        free(data);
    }
    if (rc == LF_OK && ftruncate(s->journal_fd, 0) != 0) {
        rc = LF_EIO;
    }
    close(fd);
    return rc;
}
