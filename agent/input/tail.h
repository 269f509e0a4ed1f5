/* tail.h - the first tail input: globs expanded at start, files followed for appends.
 *
 * Each matched file is opened once, identified (device, inode, fingerprint of its first
 * bytes), resumed from its checkpoint or per start_at, and read in large blocks that are
 * split into lines and handed to the multi-line assembler, whose records go to the emit
 * callback. Appends are noticed through inotify (IN_MODIFY) and a safety poll. Rotation,
 * truncation and new files appearing after start are the tail issue's (not handled here).
 * Main thread only.
 */
#ifndef LF_TAIL_H
#define LF_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_acktrack.h"
#include "lf_buf.h"
#include "lf_ckpt.h"
#include "lf_conf.h"
#include "lf_multiline.h"

struct lf_tail_file {
    struct lf_track_file track; /* first: records point here */
    struct lf_tail *tail;
    char *path;
    int fd;
    int wd; /* inotify watch, -1 if none */
    struct lf_file_id id;
    uint64_t read_offset; /* next byte to read */
    uint64_t line_start;  /* file offset of carry's first byte */
    struct lf_buf carry;  /* partial line */
    bool skipping;        /* inside an over-long line being skipped */
    bool readable;        /* may have unread bytes */
    bool ckpt_dirty;      /* committed moved since the last checkpoint write */
    struct lf_ml *ml;
};

/* Receives each complete record. Returns LF_OK or an error (reading stops). */
typedef int lf_tail_emit_fn(void *ctx, struct lf_tail_file *f, const char *text, size_t len,
                            uint64_t start, uint64_t end, unsigned flags);

struct lf_tail {
    const struct lf_input_conf *conf; /* borrowed */
    int index;
    struct lf_tail_file **files;
    size_t nfiles;
    char *read_buf;
    lf_tail_emit_fn *emit;
    void *emit_ctx;
};

/* Expands the globs, opens and positions every file. inotify_fd may be -1. */
int lf_tail_create(const struct lf_input_conf *conf, int index, struct lf_ckpt_store *ckpt,
                   int inotify_fd, lf_tail_emit_fn *emit, void *emit_ctx,
                   const struct lf_log_ctx *log, struct lf_tail **out);
void lf_tail_destroy(struct lf_tail *t);
/* Reads at most budget bytes over the readable files. Returns LF_OK or an emit error;
 * *more tells whether a file still has unread bytes. */
int lf_tail_read(struct lf_tail *t, size_t budget, bool *more);
/* Marks the file with watch descriptor wd readable (wd < 0: all files). */
void lf_tail_mark_readable(struct lf_tail *t, int wd);
/* Flushes multi-line records whose deadline passed (all of them if force). */
int lf_tail_flush_pending(struct lf_tail *t, int64_t now_ms, bool force);
/* Computes the identity of an open file (exposed for tests). */
int lf_tail_identify(int fd, struct lf_file_id *id, uint64_t *size);

#endif
