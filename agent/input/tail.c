/* tail.c - the tail's reading: reading files, line splitting, truncation, closing and
 * reopening, release of rotated files, the tick (see tail.h). The file table (identity,
 * opening, the open-file cap) lives in tail_file.c; directory watching and glob scans in
 * tail_watch.c.
 *
 * Identity rule: see tail.h. While a file is open its inode cannot be reused, so a live
 * check only has to detect restarts of the same inode (truncate, copytruncate): the file
 * is shorter than the read offset, or its first head_len bytes (up to 1 KiB of what was
 * read) no longer hash the same. Such a file becomes a new identity read from 0; the old
 * one is retired (no more reads, released once its records are acknowledged).
 *
 * Closed files (close_inactive, max_open_files): only a file read to EOF and not retired
 * is closed (a rotated one only for a slot, as a last resort: see victim()); its entry
 * goes to the checkpoint store at once.
 * Its struct stays (and its key in the sink), so do its offsets, partial line, multi-line
 * state and inode watch (a watch is no fd: a write still wakes us). It is reopened when
 * it may have data: by its path if that still leads to its device+inode (a changed
 * content is then caught by restarted() exactly as for an open file), else by a search
 * of the watched directories for device+inode+fingerprint (rotated while closed; like a
 * file rotated while the agent was stopped). A file found nowhere is retired and
 * counted: bytes written to it after the close and before it vanished are lost (the
 * price of closing; keep files open with a larger max_open_files / close_inactive).
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

int lf_tail_create(const struct lf_input_conf *conf, int index, struct lf_ckpt_store *ckpt,
                   int inotify_fd, const struct lf_tail_sink *sink, const struct lf_log_ctx *log,
                   struct lf_tail **out)
{
    struct lf_tail *t = calloc(1, sizeof(*t));
    if (!t) {
        return LF_ENOMEM;
    }
    t->conf = conf;
    t->index = index;
    t->sink = *sink;
    t->ckpt = ckpt;
    t->log = log;
    t->inofd = inotify_fd;
    t->read_buf = malloc(conf->read_buffer);
    if (!t->read_buf) {
        free(t);
        return LF_ENOMEM;
    }
    int rc = tail_scan(t, true);
    if (rc != LF_OK) {
        lf_tail_destroy(t);
        return rc;
    }
    tail_resume_rotated(t);
    int64_t now = lf_mono_ms();
    t->next_rescan_ms = now + conf->rescan_interval_ms;
    t->next_poll_ms = now + conf->poll_interval_ms;
    *out = t;
    return LF_OK;
}

void lf_tail_destroy(struct lf_tail *t)
{
    if (!t) {
        return;
    }
    lf_log_info(t->log,
                "input %s: %llu files opened, %llu released, %llu rotations, %llu "
                "truncations, %llu closed, %llu reopened, %llu gone while closed",
                t->conf->name, (unsigned long long)t->stats.files_opened,
                (unsigned long long)t->stats.files_released, (unsigned long long)t->stats.rotations,
                (unsigned long long)t->stats.truncations, (unsigned long long)t->stats.files_closed,
                (unsigned long long)t->stats.files_reopened,
                (unsigned long long)t->stats.closed_gone);
    for (size_t i = 0; i < t->nfiles; i++) {
        tail_file_free(t->files[i]);
    }
    tail_watch_fini(t);
    tail_skip_fini(t);
    free(t->files);
    free(t->read_buf);
    free(t);
}

/* Opens path if it is the inode of id (and, with check_head, still starts with id's
 * fingerprinted bytes). Returns the fd or -1. */
static int open_inode(struct lf_tail *t, const char *path, const struct lf_file_id *id,
                      bool check_head)
{
    struct stat st;
    int fd = tail_open_path(t, path);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != id->dev || (uint64_t)st.st_ino != id->ino ||
        (check_head && !lf_tail_id_matches(fd, id))) {
        close(fd);
        return -1;
    }
    return fd;
}

static int emit_partial(struct lf_tail_file *f, int64_t now);
static int flush_ml(struct lf_tail_file *f);

/* A closed file found nowhere: send what it holds, forget it. */
static int file_gone(struct lf_tail_file *f)
{
    struct lf_tail *t = f->tail;
    t->stats.closed_gone++;
    lf_log_warn(t->log,
                "%s: gone while closed (deleted, or moved out of the watched directories); "
                "read up to offset %llu, bytes written after the close are lost",
                f->path, (unsigned long long)f->read_offset);
    int rc = emit_partial(f, lf_mono_ms());
    if (rc == LF_OK) {
        rc = flush_ml(f);
    }
    t->sink.forget(t->sink.files_ctx, f->id.dev, f->id.ino);
    f->retired = true;
    f->readable = false;
    f->ckpt_dirty = false;
    f->in_ckpt = false;
    t->need_scan = true; /* a new file may have taken its inode at its path */
    return rc;
}

/* Takes path (found by identity) as f's name; outside the globs f is a rotated file. */
static void file_moved(struct lf_tail_file *f, char *path)
{
    struct lf_tail *t = f->tail;
    if (strcmp(f->path, path) != 0) {
        bool wanted = tail_path_wanted(t, path);
        lf_log_info(t->log, "%s: found again as %s%s", f->path, path,
                    wanted ? "" : " (rotated while closed, reading it to its end)");
        if (!wanted && !f->orphan) {
            f->orphan = true;
            t->stats.rotations++;
        }
        f->ckpt_dirty = true;
    }
    free(f->path);
    f->path = path;
    f->path_len = strlen(path);
}

/* Opens a closed file again (see the file head). Returns LF_OK (open), LF_EAGAIN (no
 * slot free: stays readable, or gone: retired) or an emit error. */
static int file_reopen(struct lf_tail_file *f)
{
    struct lf_tail *t = f->tail;
    if (!tail_slot(t, f)) {
        return LF_EAGAIN;
    }
    int fd = open_inode(t, f->path, &f->id, false);
    if (fd < 0) {
        char *p = tail_find_inode(t, f);
        fd = p ? open_inode(t, p, &f->id, true) : -1;
        if (fd >= 0) {
            file_moved(f, p);
        } else {
            free(p);
        }
    }
    if (fd < 0) {
        int rc = file_gone(f);
        return rc == LF_OK ? LF_EAGAIN : rc;
    }
    f->fd = fd;
    t->nopen++;
    t->stats.files_reopened++;
    return LF_OK;
}

/* Poll of a closed file without inode watch: a stat of its path, no open. */
static bool closed_changed(const struct lf_tail_file *f)
{
    struct stat st;
    return stat(f->path, &st) != 0 || (uint64_t)st.st_dev != f->id.dev ||
           (uint64_t)st.st_ino != f->id.ino || (uint64_t)st.st_size != f->read_offset;
}

/* ---- line splitting --------------------------------------------------------------- */

struct emit_ctx {
    struct lf_tail *t;
    struct lf_tail_file *f;
    int64_t now; /* when the lines were read */
};

static int ml_emit(void *ctx, const char *text, size_t len, uint64_t start, uint64_t end,
                   unsigned flags)
{
    struct emit_ctx *e = ctx;
    struct lf_tail_src src = {.key = e->f->key,
                              .path = e->f->path,
                              .path_len = e->f->path_len,
                              .id = &e->f->id,
                              .input = e->t->index};
    return e->t->sink.emit(e->t->sink.emit_ctx, &src, text, len, start, end, flags);
}

/* The splitter's lines go to the multi-line assembler. */
static int push_line(void *ctx, const char *text, size_t len, uint64_t start, uint64_t end,
                     unsigned flags)
{
    struct emit_ctx *e = ctx;
    return lf_ml_push(e->f->ml, text, len, start, end, flags, e->now, ml_emit, e);
}

/* Handles one chunk read at file offset `off` (lf_linesplit.h: an over-long line is cut,
 * its rest skipped, never a record of its own) and notes since when a partial last line
 * waits. */
static int split_chunk(struct lf_tail_file *f, const char *buf, size_t n, uint64_t off, int64_t now)
{
    struct emit_ctx e = {.t = f->tail, .f = f, .now = now};
    int rc = lf_linesplit_feed(&f->split, buf, n, off, push_line, &e);
    if (!lf_linesplit_has_partial(&f->split, off + n)) {
        f->partial_since = -1;
    } else if (f->partial_since < 0) {
        f->partial_since = now;
    }
    return rc;
}

/* Emits the partial last line (no newline yet) as a record of its own. */
static int emit_partial(struct lf_tail_file *f, int64_t now)
{
    struct emit_ctx e = {.t = f->tail, .f = f, .now = now};
    f->partial_since = -1;
    return lf_linesplit_finish(&f->split, f->read_offset, push_line, &e);
}

static int flush_ml(struct lf_tail_file *f)
{
    struct emit_ctx e = {.t = f->tail, .f = f};
    return lf_ml_deadline(f->ml) >= 0 ? lf_ml_flush(f->ml, ml_emit, &e) : LF_OK;
}

/* ---- truncation ------------------------------------------------------------------- */

/* Grows the live head fingerprint to cover up to 1 KiB of what has been read. */
static void grow_head(struct lf_tail_file *f)
{
    if (f->head_len >= LF_TAIL_FP_MAX || f->read_offset <= f->head_len) {
        return;
    }
    uint32_t len = f->read_offset < LF_TAIL_FP_MAX ? (uint32_t)f->read_offset : LF_TAIL_FP_MAX;
    uint64_t h;
    if (tail_hash_head(f->fd, len, &h) == LF_OK) {
        f->head_len = len;
        f->head_hash = h;
    }
}

/* True if the file started again since we read it: shorter than what we read, or its
 * first bytes changed (it was truncated and has regrown past our offset). *size gets its
 * size (UINT64_MAX if fstat failed: read until EOF). */
static bool restarted(struct lf_tail_file *f, uint64_t *size)
{
    struct stat st;
    uint64_t h;
    *size = UINT64_MAX;
    if (fstat(f->fd, &st) != 0) {
        return false;
    }
    *size = (uint64_t)st.st_size;
    if ((uint64_t)st.st_size < f->read_offset) {
        return true;
    }
    return f->head_len > 0 &&
           (tail_hash_head(f->fd, f->head_len, &h) != LF_OK || h != f->head_hash);
}

/* The file restarted: retire f (its records still wait for acks) and follow the same
 * inode as a new identity read from 0. */
static int file_restart(struct lf_tail_file *f)
{
    struct lf_tail *t = f->tail;
    struct lf_tail_file *nf;
    t->stats.truncations++;
    lf_log_info(t->log, "%s: truncated at offset %llu (truncation #%llu), reading from 0", f->path,
                (unsigned long long)f->read_offset, (unsigned long long)t->stats.truncations);
    int rc = flush_ml(f); /* the lines it holds were read: send them */
    lf_linesplit_reset(&f->split, f->read_offset);
    f->retired = true;
    f->readable = false;
    f->ckpt_dirty = false;
    int fd = dup(f->fd);
    if (fd < 0) {
        return LF_EIO;
    }
    close(f->fd); /* the old identity only waits for acks: its slot goes to the new one */
    f->fd = -1;
    t->nopen--;
    /* The inode is the same, so the old checkpoint entry may match the new head if it is
     * short: a truncated file is always read from 0. */
    int orc = tail_file_open(t, f->path, fd, TAIL_OPEN_RESTART, &nf);
    if (orc == LF_OK) {
        nf->ckpt_dirty = true;
        nf->orphan = f->orphan;
        if (nf->wd < 0) {
            nf->wd = f->wd;
        }
    }
    return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

#define TAIL_MIN_SHARE (64 * 1024) /* smallest read share of a file per turn */

/* Gives an identity fingerprint to a file first seen empty, before its first record. */
static void late_fingerprint(struct lf_tail_file *f)
{
    uint64_t size;
    if (f->id.fp_len == 0 && f->read_offset == 0 &&
        lf_tail_identify(f->fd, &f->id, &size) == LF_OK) {
        f->head_len = f->id.fp_len;
        f->head_hash = f->id.fp_hash;
    }
}

static int read_file(struct lf_tail_file *f, size_t *budget)
{
    struct lf_tail *t = f->tail;
    if (f->fd < 0) {
        int rc = file_reopen(f);
        if (rc != LF_OK) {
            return rc == LF_EAGAIN ? LF_OK : rc;
        }
    }
    late_fingerprint(f);
    uint64_t size;
    if (restarted(f, &size)) {
        return file_restart(f);
    }
    while (*budget > 0) {
        size_t want = t->conf->read_buffer < *budget ? t->conf->read_buffer : *budget;
        /* Up to the size fstat saw, so the turn ends without a read that returns 0: what
         * is written later brings an inotify event (or the rescan) and is read then. */
        if (size - f->read_offset < want) {
            want = (size_t)(size - f->read_offset);
        }
        ssize_t n = want ? pread(f->fd, t->read_buf, want, (off_t)f->read_offset) : 0;
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            f->readable = false;
            f->eof = true;
            t->no_slot = false; /* f may be closable now */
            return n < 0 ? LF_EIO : LF_OK;
        }
        uint64_t off = f->read_offset;
        int64_t now = lf_mono_ms();
        f->read_offset += (uint64_t)n;
        t->stats.bytes_read += (uint64_t)n;
        f->last_data_ms = now;
        f->eof = false;
        *budget -= (size_t)n < *budget ? (size_t)n : *budget;
        int rc = split_chunk(f, t->read_buf, (size_t)n, off, now);
        if (rc != LF_OK) {
            return rc;
        }
        grow_head(f);
    }
    return LF_OK;
}

int lf_tail_read(struct lf_tail *t, size_t budget, bool *more)
{
    *more = false;
    if (t->need_scan) {
        t->need_scan = false;
        tail_scan(t, false);
    }
    size_t nread = 0;
    for (size_t i = 0; i < t->nfiles; i++) {
        nread += t->files[i]->readable && !t->files[i]->retired;
    }
    if (nread == 0) {
        return LF_OK;
    }
    if ((int64_t)nread > t->conf->max_open_files) {
        nread = (size_t)t->conf->max_open_files; /* no more can read in one turn */
    }
    /* Equal shares, but not tiny ones: with many busy files a turn reads some of them
     * (TAIL_MIN_SHARE each) and the next turn goes on after the last one read. */
    size_t share = budget / nread + 1;
    share = share < TAIL_MIN_SHARE ? TAIL_MIN_SHARE : share;
    size_t n = t->nfiles, start = t->rr % n, spent = 0, k;
    for (k = 0; k < n && spent < budget; k++) {
        struct lf_tail_file *f = t->files[(start + k) % n];
        if (!f->readable || f->retired) {
            continue;
        }
        size_t b = share;
        int rc = read_file(f, &b);
        spent += share - b;
        if (rc != LF_OK && rc != LF_EIO) {
            t->rr = start + k + 1;
            return rc;
        }
    }
    t->rr = start + (k < n ? k : 1);
    bool waiting = false; /* closed, readable, and no slot free for it this turn */
    for (size_t i = 0; i < t->nfiles && !*more; i++) {
        struct lf_tail_file *f = t->files[i];
        if (f->readable && !f->retired) { /* incl. files just added */
            *more = f->fd >= 0;
            waiting = waiting || f->fd < 0;
        }
    }
    /* A waiting file is more work only if a slot can be had (else the loop would spin
     * until an open file reaches EOF or is released, which a later turn or tick does). */
    *more = *more || t->need_scan || (waiting && tail_slot_possible(t));
    return LF_OK;
}

int lf_tail_flush_pending(struct lf_tail *t, int64_t now, bool force)
{
    if (force) {
        now = lf_mono_ms(); /* callers at shutdown may pass 0 */
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        int rc = LF_OK;
        if (force && f->partial_since >= 0 &&
            now - f->partial_since >= t->conf->partial_timeout_ms) {
            rc = emit_partial(f, now);
        }
        int64_t dl = lf_ml_deadline(f->ml);
        if (rc == LF_OK && dl >= 0 && (force || dl <= now)) {
            rc = flush_ml(f);
        }
        if (rc != LF_OK) {
            return rc;
        }
    }
    return LF_OK;
}

/* ---- rotated files ---------------------------------------------------------------- */

/* A rotated (or deleted) file at EOF: its partial last line goes out after
 * partial_timeout, its pending multi-line record after rotate_wait. Returns true when
 * the file can be released: nothing pending anywhere and no write for rotate_wait. */
static bool orphan_done(struct lf_tail_file *f, int64_t now, int *rc)
{
    const struct lf_input_conf *c = f->tail->conf;
    int64_t quiet = now - f->last_data_ms;
    *rc = LF_OK;
    if (!f->eof || f->readable) {
        return false;
    }
    if (f->partial_since >= 0 && quiet >= c->partial_timeout_ms) {
        *rc = emit_partial(f, now);
    }
    if (*rc == LF_OK && quiet >= c->rotate_wait_ms) {
        *rc = flush_ml(f);
    }
    return *rc == LF_OK && quiet >= c->rotate_wait_ms && f->partial_since < 0 &&
           lf_ml_deadline(f->ml) < 0 && tail_pending(f) == 0;
}

static void file_release(struct lf_tail *t, struct lf_tail_file *f, int64_t now)
{
    struct stat st;
    if (!f->retired) {
        bool deleted = f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_nlink == 0;
        if (deleted) {
            /* Gone for good: its inode may be reused, so forget its checkpoint now. */
            t->sink.forget(t->sink.files_ctx, f->id.dev, f->id.ino);
        } else {
            tail_remember(f, true);
            tail_gone_add(t, f->id.dev, f->id.ino, now);
        }
        lf_log_info(t->log, "%s: rotated file read to its end (%llu bytes), released", f->path,
                    (unsigned long long)f->read_offset);
    }
    if (f->wd >= 0 && t->inofd >= 0 && !tail_wd_shared(t, f)) {
        inotify_rm_watch(t->inofd, f->wd);
    }
    t->stats.files_released++;
    tail_file_free(f);
}

int lf_tail_tick(struct lf_tail *t, int64_t now)
{
    int rc = lf_tail_flush_pending(t, now, false);
    t->no_slot = false; /* a safety net: the marks that clear it are few */
    size_t keep = 0;
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        int orc = LF_OK;
        bool done = f->retired ? tail_pending(f) == 0 : f->orphan && orphan_done(f, now, &orc);
        if (rc == LF_OK) {
            rc = orc;
        }
        if (done) {
            t->files[i] = NULL; /* file_release looks at the others (watch sharing) */
            file_release(t, f, now);
        } else {
            t->files[keep++] = f;
        }
    }
    t->nfiles = keep;
    for (size_t i = 0; i < t->nfiles && t->conf->close_inactive_ms > 0; i++) {
        struct lf_tail_file *f = t->files[i];
        if (tail_file_closable(f) && now - f->last_data_ms >= t->conf->close_inactive_ms) {
            lf_log_debug(t->log, "%s: no data for %lld ms, closed", f->path,
                         (long long)(now - f->last_data_ms));
            tail_file_close(f);
        }
    }
    if (now >= t->next_poll_ms) {
        /* Files without an inode watch, and rotated ones (cheap: few). A closed file is
         * only stat'ed: opening it every poll would undo the close. */
        for (size_t i = 0; i < t->nfiles; i++) {
            struct lf_tail_file *f = t->files[i];
            if ((f->wd < 0 || f->orphan) && !f->retired && (f->fd >= 0 || closed_changed(f))) {
                f->readable = true;
            }
        }
        t->next_poll_ms = now + t->conf->poll_interval_ms;
    }
    if (now >= t->next_rescan_ms) {
        /* the scan also stats every file: the safety poll, for what inotify cannot see */
        t->need_scan = t->need_scan || tail_blind(t);
        t->next_rescan_ms = now + t->conf->rescan_interval_ms;
    }
    if (now >= tail_prune_due(t)) {
        tail_prune(t, now);
    }
    return rc;
}

static int64_t min_ms(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* A rotated file at EOF: its partial line after partial_timeout, its release after
 * rotate_wait of quiet (or, past that, once its records are acknowledged: an event). */
static int64_t orphan_next_ms(const struct lf_tail_file *f, int64_t now)
{
    const struct lf_input_conf *c = f->tail->conf;
    int64_t quiet_end = f->last_data_ms + c->rotate_wait_ms;
    int64_t next = quiet_end > now ? quiet_end : tail_pending(f) == 0 ? now : INT64_MAX;
    if (f->partial_since >= 0) {
        next = min_ms(next, f->last_data_ms + c->partial_timeout_ms);
    }
    return next;
}

/* When file f has timed work for lf_tail_tick; *polled is set if the poll covers it. */
static int64_t file_next_ms(const struct lf_tail_file *f, int64_t now, bool *polled)
{
    const struct lf_input_conf *c = f->tail->conf;
    int64_t ml = lf_ml_deadline(f->ml);
    int64_t next = ml >= 0 ? ml : INT64_MAX;
    if (f->retired) {
        return tail_pending(f) == 0 ? now : next; /* released by the next tick */
    }
    *polled = *polled || f->wd < 0 || f->orphan;
    if (f->readable && f->fd < 0) {
        next = now; /* waiting for a slot: the tick clears no_slot */
    }
    if (f->orphan && f->eof && !f->readable) {
        next = min_ms(next, orphan_next_ms(f, now));
    }
    if (c->close_inactive_ms > 0 && tail_file_closable(f)) {
        next = min_ms(next, f->last_data_ms + c->close_inactive_ms);
    }
    return next;
}

int64_t lf_tail_next_ms(const struct lf_tail *t, int64_t now)
{
    bool polled = false;
    int64_t next = t->need_scan ? now : tail_prune_due(t);
    for (size_t i = 0; i < t->nfiles; i++) {
        next = min_ms(next, file_next_ms(t->files[i], now, &polled));
    }
    if (polled) {
        next = min_ms(next, t->next_poll_ms);
    }
    if (tail_blind(t)) {
        next = min_ms(next, t->next_rescan_ms);
    }
    return next;
}

void lf_tail_checkpoint(struct lf_tail *t)
{
    for (size_t k = 0; k < t->nfiles; k++) {
        struct lf_tail_file *f = t->files[k];
        if (f->retired) {
            continue; /* its inode now belongs to the new identity */
        }
        tail_remember(f, false);
    }
}
