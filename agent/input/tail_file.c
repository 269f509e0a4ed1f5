/* tail_file.c - the tail's file table: identity, opening and positioning a file, and
 * the open-file cap (max_open_files: closing an idle file for a slot, reopening later is
 * tail.c's). Used by tail.c (reading, rotation, release) and tail_watch.c (scans); uses
 * neither. See tail.h for the identity rule and tail.c's head for closed files.
 */
#include "tail_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "lf_vec.h"
#include "logferry/lf_err.h"
#include "logferry/lf_log.h"

/* ---- identity --------------------------------------------------------------------- */

int tail_hash_head(int fd, uint32_t len, uint64_t *hash)
{
    char head[LF_TAIL_FP_MAX];
    ssize_t n = len ? pread(fd, head, len, 0) : 0;
    if (n != (ssize_t)len) {
        return LF_EIO;
    }
    *hash = XXH64(head, len, 0);
    return LF_OK;
}

int lf_tail_identify(int fd, struct lf_file_id *id, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return LF_EIO;
    }
    uint32_t want = st.st_size < LF_TAIL_FP_MAX ? (uint32_t)st.st_size : LF_TAIL_FP_MAX;
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    id->fp_len = want;
    *size = (uint64_t)st.st_size;
    return tail_hash_head(fd, want, &id->fp_hash);
}

bool lf_tail_id_matches(int fd, const struct lf_file_id *id)
{
    struct stat st;
    uint64_t h;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != id->dev || (uint64_t)st.st_ino != id->ino ||
        id->fp_len > LF_TAIL_FP_MAX || (uint64_t)st.st_size < id->fp_len) {
        return false;
    }
    return tail_hash_head(fd, id->fp_len, &h) == LF_OK && h == id->fp_hash;
}

/* ---- files ------------------------------------------------------------------------ */

void tail_file_free(struct lf_tail_file *f)
{
    if (!f) {
        return;
    }
    if (f->fd >= 0) {
        close(f->fd);
        f->tail->nopen--;
        f->tail->no_slot = false;
    }
    if (f->key) {
        f->tail->sink.file_close(f->tail->sink.files_ctx, f->key);
    }
    lf_ml_destroy(f->ml);
    lf_linesplit_fini(&f->split);
    free(f->path);
    free(f);
}

bool tail_wd_shared(const struct lf_tail *t, const struct lf_tail_file *f)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        if (t->files[i] && t->files[i] != f && t->files[i]->wd == f->wd) {
            return true;
        }
    }
    return false;
}

size_t tail_pending(const struct lf_tail_file *f)
{
    return f->key ? f->tail->sink.pending(f->tail->sink.files_ctx, f->key) : 0;
}

void tail_remember(struct lf_tail_file *f, bool force)
{
    struct lf_tail *t = f->tail;
    bool changed = force || f->ckpt_dirty || !f->in_ckpt;
    f->in_ckpt = t->sink.remember(t->sink.files_ctx, f->key, &f->id, f->path, changed) == LF_OK;
    f->ckpt_dirty = f->ckpt_dirty && !f->in_ckpt;
}

/* Positions f from its checkpoint, or per mode. Returns false for an orphan without a
 * usable checkpoint. */
static bool file_position(struct lf_tail_file *f, uint64_t size, enum tail_open_mode mode)
{
    struct lf_tail *t = f->tail;
    struct lf_ckpt_entry *e =
        mode == TAIL_OPEN_RESTART ? NULL : lf_ckpt_find(t->ckpt, f->id.dev, f->id.ino);
    if (e && lf_tail_id_matches(f->fd, &e->id) && e->offset <= size) {
        f->id = e->id; /* keep the remembered fingerprint: ids stay stable */
        f->read_offset = e->offset;
        lf_log_info(t->log, "%s: resuming at offset %llu", f->path, (unsigned long long)e->offset);
    } else if (mode == TAIL_OPEN_ORPHAN) {
        return false;
    } else {
        if (e) {
            lf_log_info(t->log, "%s: new file at a known inode (content changed), from 0", f->path);
        }
        bool at_end = mode == TAIL_OPEN_INITIAL && t->conf->start_at == LF_START_END;
        f->read_offset = at_end ? size : 0;
    }
    lf_linesplit_reset(&f->split, f->read_offset);
    f->head_len = f->id.fp_len;
    f->head_hash = f->id.fp_hash;
    return true;
}

static int files_push(struct lf_tail *t, struct lf_tail_file *f)
{
    if (lf_vec_reserve(&t->files, &t->files_cap, t->nfiles + 1) != LF_OK) {
        return LF_ENOMEM;
    }
    t->files[t->nfiles++] = f;
    return LF_OK;
}

static int file_alloc(struct lf_tail *t, const char *path, int fd, struct lf_tail_file **out)
{
    char err[256];
    struct lf_tail_file *f = calloc(1, sizeof(*f));
    if (!f) {
        if (fd >= 0) {
            close(fd);
        }
        return LF_ENOMEM;
    }
    f->tail = t;
    f->wd = -1;
    f->fd = fd;
    t->nopen++; /* f owns fd now */
    f->partial_since = -1;
    f->last_data_ms = lf_mono_ms();
    lf_linesplit_init(&f->split, t->conf->max_line_bytes, 0);
    f->path = strdup(path);
    if (!f->path) {
        tail_file_free(f);
        return LF_ENOMEM;
    }
    f->path_len = strlen(path);
    int rc = lf_ml_create(&t->conf->multiline, lf_parser_default_multiline(&t->conf->parser), err,
                          sizeof(err), &f->ml);
    if (rc != LF_OK) {
        lf_log_error(t->log, "%s: multiline: %s", path, err);
        tail_file_free(f);
        return rc;
    }
    *out = f;
    return LF_OK;
}

int tail_file_open(struct lf_tail *t, const char *path, int fd, enum tail_open_mode mode,
                   struct lf_tail_file **out)
{
    struct lf_tail_file *f;
    /* Without a free slot the file is still opened for a moment, to be identified and
     * positioned, then closed until a slot frees (it stays readable). */
    bool slot = tail_slot(t, NULL);
    if (fd < 0) {
        fd = tail_open_path(t, path);
        if (fd < 0) {
            lf_log_errno(LF_LOG_WARN, t->log, "%s: cannot open", path);
            return LF_EIO;
        }
    }
    int rc = file_alloc(t, path, fd, &f);
    if (rc != LF_OK) {
        return rc;
    }
    uint64_t size = 0;
    if (lf_tail_identify(f->fd, &f->id, &size) != LF_OK) {
        lf_log_errno(LF_LOG_WARN, t->log, "%s: cannot read", path);
        tail_file_free(f);
        return LF_EIO;
    }
    if (!file_position(f, size, mode)) {
        tail_file_free(f);
        return LF_EAGAIN;
    }
    if (t->sink.file_open(t->sink.files_ctx, &f->id, f->read_offset, &f->key) != LF_OK ||
        files_push(t, f) != LF_OK) {
        tail_file_free(f);
        return LF_ENOMEM;
    }
    if (t->inofd >= 0) {
        /* The watch follows the inode across renames: writes through an old handle
         * after rotation still wake us. */
        char self[64];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", f->fd);
        f->wd = inotify_add_watch(t->inofd, self, IN_MODIFY);
        if (f->wd < 0) {
            f->wd = inotify_add_watch(t->inofd, path, IN_MODIFY);
        }
    }
    f->readable = true;
    t->stats.files_opened++;
    if (!slot) {
        tail_file_close(f);
    }
    if (out) {
        *out = f;
    }
    return LF_OK;
}

/* ---- open-file cap, closing and reopening ------------------------------------------ */

/* Open, read to EOF, nothing announced, not retired: may give its fd to another file.
 * Unlike tail_file_closable this includes rotated files (see victim()). */
static bool evictable(const struct lf_tail_file *f)
{
    return f->fd >= 0 && f->eof && !f->readable && !f->retired;
}

/* The file to close for a slot: the least recently active file still under its glob
 * path, else the least recently active rotated one at EOF. Closing a rotated file is a
 * last resort: if it is deleted before a late write to it is read, that write is lost;
 * but keeping it open for rotate_wait could hold the slot while other files rotate
 * twice and vanish unread. Its inode watch stays, so a late write reopens it at once. */
static struct lf_tail_file *victim(struct lf_tail *t, const struct lf_tail_file *keep)
{
    struct lf_tail_file *v = NULL;
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        if (f == keep || !evictable(f)) {
            continue;
        }
        if (!v || (v->orphan && !f->orphan) ||
            (v->orphan == f->orphan && f->last_data_ms < v->last_data_ms)) {
            v = f;
        }
    }
    return v;
}

int tail_open_path(struct lf_tail *t, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && t->nopen > 0) {
        /* over the process limit: give up one idle file of ours and try once more */
        struct lf_tail_file *v = victim(t, NULL);
        if (v) {
            tail_file_close(v);
            fd = open(path, O_RDONLY | O_CLOEXEC);
        }
    }
    return fd;
}

bool tail_file_closable(const struct lf_tail_file *f)
{
    return f->fd >= 0 && f->eof && !f->readable && !f->orphan && !f->retired;
}

void tail_file_close(struct lf_tail_file *f)
{
    struct lf_tail *t = f->tail;
    tail_remember(f, true);
    close(f->fd);
    f->fd = -1;
    t->nopen--;
    t->stats.files_closed++;
}

bool tail_slot(struct lf_tail *t, const struct lf_tail_file *keep)
{
    if ((int64_t)t->nopen < t->conf->max_open_files) {
        return true;
    }
    if (t->no_slot) {
        return false; /* spares a walk over every file per waiting file per turn */
    }
    struct lf_tail_file *v = victim(t, keep);
    if (!v) {
        t->no_slot = true;
        return false;
    }
    tail_file_close(v);
    return true;
}

bool tail_slot_possible(const struct lf_tail *t)
{
    if ((int64_t)t->nopen < t->conf->max_open_files) {
        return true;
    }
    if (t->no_slot) {
        return false;
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        if (evictable(t->files[i])) {
            return true;
        }
    }
    return false;
}
