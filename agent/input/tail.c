/* tail.c - the first tail input (see tail.h for what it does and does not do).
 *
 * Identity rule: device + inode + xxh64 of the first min(size, 1 KiB) bytes at first
 * sight, remembered with that length. On restart the checkpoint applies only if the
 * file at that device+inode still starts with the same bytes; otherwise it is a new
 * file, read from offset 0.
 */
#include "tail.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "logferry/lf_err.h"
#include "logferry/lf_log.h"

#define FP_MAX 1024

int lf_tail_identify(int fd, struct lf_file_id *id, uint64_t *size)
{
    struct stat st;
    char head[FP_MAX];
    if (fstat(fd, &st) != 0) {
        return LF_EIO;
    }
    size_t want = st.st_size < FP_MAX ? (size_t)st.st_size : FP_MAX;
    ssize_t n = want ? pread(fd, head, want, 0) : 0;
    if (n < 0) {
        return LF_EIO;
    }
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    id->fp_len = (uint32_t)n;
    id->fp_hash = XXH64(head, (size_t)n, 0);
    *size = (uint64_t)st.st_size;
    return LF_OK;
}

/* True if the file still starts with the fingerprinted bytes of `known`. */
static bool same_head(int fd, const struct lf_file_id *known)
{
    char head[FP_MAX];
    if (known->fp_len > FP_MAX) {
        return false;
    }
    ssize_t n = known->fp_len ? pread(fd, head, known->fp_len, 0) : 0;
    return n == (ssize_t)known->fp_len && XXH64(head, (size_t)n, 0) == known->fp_hash;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool excluded(const struct lf_input_conf *c, const char *path)
{
    for (size_t i = 0; i < c->exclude.n; i++) {
        if (fnmatch(c->exclude.str[i], path, FNM_PATHNAME) == 0) {
            return true;
        }
    }
    return false;
}

static void file_free(struct lf_tail_file *f)
{
    if (!f) {
        return;
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    lf_ml_destroy(f->ml);
    lf_buf_fini(&f->carry);
    free(f->path);
    free(f);
}

/* Positions f from its checkpoint, or per start_at for a file never seen. */
static void file_position(struct lf_tail_file *f, struct lf_ckpt_store *ckpt, uint64_t size,
                          const struct lf_log_ctx *log)
{
    struct lf_ckpt_entry *e = lf_ckpt_find(ckpt, f->id.dev, f->id.ino);
    if (e && same_head(f->fd, &e->id) && e->offset <= size) {
        f->id = e->id; /* keep the remembered fingerprint: ids stay stable */
        f->read_offset = e->offset;
        lf_log_info(log, "%s: resuming at offset %llu", f->path, (unsigned long long)e->offset);
    } else if (e) {
        lf_log_info(log, "%s: new file at a known inode (content changed), reading from 0",
                    f->path);
        f->read_offset = 0;
    } else {
        f->read_offset = f->tail->conf->start_at == LF_START_END ? size : 0;
    }
    f->line_start = f->read_offset;
    lf_track_init(&f->track, f->read_offset);
}

static int file_open(struct lf_tail *t, const char *path, struct lf_ckpt_store *ckpt,
                     int inotify_fd, const struct lf_log_ctx *log, struct lf_tail_file **out)
{
    char err[256];
    struct lf_tail_file *f = calloc(1, sizeof(*f));
    if (!f) {
        return LF_ENOMEM;
    }
    f->tail = t;
    f->wd = -1;
    f->path = strdup(path);
    lf_buf_init(&f->carry, t->conf->max_line_bytes + 1);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t size = 0;
    if (!f->path || f->fd < 0 || lf_tail_identify(f->fd, &f->id, &size) != LF_OK) {
        lf_log_errno(LF_LOG_WARN, log, "%s: cannot open", path);
        file_free(f);
        return LF_EIO;
    }
    int rc = lf_ml_create(&t->conf->multiline, lf_parser_default_multiline(&t->conf->parser), err,
                          sizeof(err), &f->ml);
    if (rc != LF_OK) {
        lf_log_error(log, "%s: multiline: %s", path, err);
        file_free(f);
        return rc;
    }
    file_position(f, ckpt, size, log);
    if (inotify_fd >= 0) {
        f->wd = inotify_add_watch(inotify_fd, path, IN_MODIFY);
    }
    f->readable = true;
    *out = f;
    return LF_OK;
}

static int add_file(struct lf_tail *t, struct lf_tail_file *f)
{
    struct lf_tail_file **v = realloc(t->files, (t->nfiles + 1) * sizeof(*v));
    if (!v) {
        return LF_ENOMEM;
    }
    t->files = v;
    t->files[t->nfiles++] = f;
    return LF_OK;
}

static bool already_open(struct lf_tail *t, const char *path)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        if (strcmp(t->files[i]->path, path) == 0) {
            return true;
        }
    }
    return false;
}

int lf_tail_create(const struct lf_input_conf *conf, int index, struct lf_ckpt_store *ckpt,
                   int inotify_fd, lf_tail_emit_fn *emit, void *emit_ctx,
                   const struct lf_log_ctx *log, struct lf_tail **out)
{
    struct lf_tail *t = calloc(1, sizeof(*t));
    if (!t) {
        return LF_ENOMEM;
    }
    t->conf = conf;
    t->index = index;
    t->emit = emit;
    t->emit_ctx = emit_ctx;
    t->read_buf = malloc(conf->read_buffer);
    if (!t->read_buf) {
        free(t);
        return LF_ENOMEM;
    }
    for (size_t p = 0; p < conf->paths.n; p++) {
        glob_t g;
        if (glob(conf->paths.str[p], 0, NULL, &g) != 0) {
            lf_log_warn(log, "input %s: no file matches %s (yet)", conf->name, conf->paths.str[p]);
            continue;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct lf_tail_file *f;
            const char *path = g.gl_pathv[i];
            if (excluded(conf, path) || already_open(t, path)) {
                continue;
            }
            if (file_open(t, path, ckpt, inotify_fd, log, &f) == LF_OK && add_file(t, f) != LF_OK) {
                file_free(f);
            }
        }
        globfree(&g);
    }
    *out = t;
    return LF_OK;
}

void lf_tail_destroy(struct lf_tail *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        file_free(t->files[i]);
    }
    free(t->files);
    free(t->read_buf);
    free(t);
}

/* ---- line splitting --------------------------------------------------------------- */

struct emit_ctx {
    struct lf_tail *t;
    struct lf_tail_file *f;
};

static int ml_emit(void *ctx, const char *text, size_t len, uint64_t start, uint64_t end,
                   unsigned flags)
{
    struct emit_ctx *e = ctx;
    return e->t->emit(e->t->emit_ctx, e->f, text, len, start, end, flags);
}

static int push_line(struct lf_tail_file *f, const char *p, size_t len, uint64_t start,
                     uint64_t end, unsigned flags, int64_t now)
{
    struct emit_ctx e = {.t = f->tail, .f = f};
    if (len && p[len - 1] == '\r') {
        len--;
    }
    return lf_ml_push(f->ml, p, len, start, end, flags, now, ml_emit, &e);
}

/* Handles one chunk read at file offset `off`. An over-long line keeps its first
 * max_line_bytes in carry and is emitted, marked truncated, once its newline arrives, with
 * an end offset past the skipped rest: the rest never becomes a record of its own. */
static int split_chunk(struct lf_tail_file *f, const char *buf, size_t n, uint64_t off, int64_t now)
{
    const size_t max = f->tail->conf->max_line_bytes;
    size_t i = 0;
    int rc = LF_OK;
    while (i < n && rc == LF_OK) {
        const char *nl = memchr(buf + i, '\n', n - i);
        size_t seg = nl ? (size_t)(nl - (buf + i)) : n - i;
        uint64_t seg_end = off + i + seg + (nl ? 1 : 0);
        if (!f->skipping && nl && f->carry.len == 0 && seg <= max) {
            rc = push_line(f, buf + i, seg, f->line_start, seg_end, 0, now);
            f->line_start = seg_end;
        } else {
            if (!f->skipping) {
                size_t room = max - f->carry.len;
                f->skipping = seg > room;
                lf_buf_append(&f->carry, buf + i, f->skipping ? room : seg);
            }
            if (nl) {
                rc = push_line(f, f->carry.data, f->carry.len, f->line_start, seg_end,
                               f->skipping ? LF_ML_TRUNCATED : 0, now);
                lf_buf_reset(&f->carry);
                f->skipping = false;
                f->line_start = seg_end;
            }
        }
        i += seg + (nl ? 1 : 0);
    }
    return rc;
}

static int read_file(struct lf_tail_file *f, size_t *budget)
{
    struct lf_tail *t = f->tail;
    while (*budget > 0) {
        size_t want = t->conf->read_buffer < *budget ? t->conf->read_buffer : *budget;
        ssize_t n = pread(f->fd, t->read_buf, want, (off_t)f->read_offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            f->readable = false;
            return n < 0 ? LF_EIO : LF_OK;
        }
        uint64_t off = f->read_offset;
        f->read_offset += (uint64_t)n;
        *budget -= (size_t)n < *budget ? (size_t)n : *budget;
        int rc = split_chunk(f, t->read_buf, (size_t)n, off, now_ms());
        if (rc != LF_OK) {
            return rc;
        }
    }
    return LF_OK;
}

int lf_tail_read(struct lf_tail *t, size_t budget, bool *more)
{
    *more = false;
    size_t share = t->nfiles ? budget / t->nfiles + 1 : budget;
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        if (!f->readable) {
            continue;
        }
        size_t b = share;
        int rc = read_file(f, &b);
        if (rc != LF_OK && rc != LF_EIO) {
            return rc;
        }
        *more = *more || f->readable;
    }
    return LF_OK;
}

void lf_tail_mark_readable(struct lf_tail *t, int wd)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        if (wd < 0 || t->files[i]->wd == wd) {
            t->files[i]->readable = true;
        }
    }
}

int lf_tail_flush_pending(struct lf_tail *t, int64_t now, bool force)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        int64_t dl = lf_ml_deadline(f->ml);
        if (dl >= 0 && (force || dl <= now)) {
            struct emit_ctx e = {.t = t, .f = f};
            int rc = lf_ml_flush(f->ml, ml_emit, &e);
            if (rc != LF_OK) {
                return rc;
            }
        }
    }
    return LF_OK;
}
