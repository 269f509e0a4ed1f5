/* tail_int.h - functions shared by the tail's files, in layers: tail.c (reading,
 * rotation, release, tick) uses tail_watch.c (directories, globs, inotify, rotation
 * detection, checkpoint pruning), and both use tail_file.c (the file table: identity,
 * opening, the open-file cap), which uses neither. Not for use outside agent/input/tail*.c.
 */
#ifndef LF_TAIL_INT_H
#define LF_TAIL_INT_H

#include <sys/types.h>

#include "lf_clock.h"
#include "tail.h"

struct tail_dir {
    char *path;
    int wd;
    bool blind; /* on a file system whose changes inotify may not see (network, FUSE) */
};

/* A checkpoint entry whose file was released: pruned after forget_after. */
struct tail_gone {
    uint64_t dev, ino;
    int64_t since_ms;
};

enum tail_open_mode {
    TAIL_OPEN_INITIAL, /* found at start: checkpoint, else start_at */
    TAIL_OPEN_NEW,     /* appeared later: checkpoint if it matches, else offset 0 */
    TAIL_OPEN_ORPHAN,  /* rotated while stopped: only from a matching checkpoint */
    TAIL_OPEN_RESTART, /* truncated in place: a new identity, always from 0 */
};

/* tail_skip.c: a matched path that cannot be tailed is logged once (warn), then at
 * debug until tail_skip_clear (it was opened, or is gone). */
void tail_skip_mode(struct lf_tail *t, const char *path, mode_t mode);
void tail_skip_errno(struct lf_tail *t, const char *path, int err, const char *what);
void tail_skip_clear(struct lf_tail *t, const char *path);
void tail_skip_fini(struct lf_tail *t);

/* tail_file.c */
/* xxh64 of the first len bytes of fd. LF_OK or LF_EIO. */
int tail_hash_head(int fd, uint32_t len, uint64_t *hash);
/* Closes f's fd and key and frees it (f must no longer be in t->files). NULL-safe. */
void tail_file_free(struct lf_tail_file *f);
/* Opens path (or takes fd if >= 0), identifies and positions it, adds it to t->files.
 * Returns LF_OK, LF_EIO (cannot open: logged), LF_EAGAIN (orphan without a matching
 * checkpoint: not added) or LF_ENOMEM. */
int tail_file_open(struct lf_tail *t, const char *path, int fd, enum tail_open_mode mode,
                   struct lf_tail_file **out);
/* Records of f its sink still waits for. */
size_t tail_pending(const struct lf_tail_file *f);
/* Asks the sink to remember f's identity at its path (force: even if unchanged); sets
 * in_ckpt and clears ckpt_dirty on success. */
void tail_remember(struct lf_tail_file *f, bool force);
/* True if another file of t shares f's inotify watch. */
bool tail_wd_shared(const struct lf_tail *t, const struct lf_tail_file *f);
/* Makes room for one more fd under max_open_files, closing the least recently active
 * closable file other than keep if needed. Returns false if every open file is busy. */
bool tail_slot(struct lf_tail *t, const struct lf_tail_file *keep);
/* True if tail_slot would succeed. */
bool tail_slot_possible(const struct lf_tail *t);
/* Open, read to EOF, nothing announced, under its glob path, not retired. */
bool tail_file_closable(const struct lf_tail_file *f);
/* Closes f's fd, keeping everything else (see tail.c); the sink remembers its identity. */
void tail_file_close(struct lf_tail_file *f);
/* open(2) of a file to tail; on EMFILE/ENFILE closes one idle file and retries once. */
int tail_open_path(struct lf_tail *t, const char *path);

/* tail_watch.c */
int tail_scan(struct lf_tail *t, bool initial);
/* True if path matches one of the input's paths and none of its excludes. */
bool tail_path_wanted(const struct lf_tail *t, const char *path);
/* Looks for f's device+inode in its directory, then in every watched directory. Returns
 * the path found (caller frees) or NULL. */
char *tail_find_inode(struct lf_tail *t, const struct lf_tail_file *f);
void tail_resume_rotated(struct lf_tail *t);
void tail_watch_fini(struct lf_tail *t);
void tail_gone_add(struct lf_tail *t, uint64_t dev, uint64_t ino, int64_t now);
void tail_prune(struct lf_tail *t, int64_t now);
/* When the next checkpoint entry of a released file is due for pruning, INT64_MAX none. */
int64_t tail_prune_due(const struct lf_tail *t);
/* True while a change may exist that inotify does not report, so that only the rescan
 * (rescan_interval) finds it: no inotify, a watched directory on a network or FUSE file
 * system, a directory that could not be watched at the last scan, a matched path that
 * could not be tailed. */
bool tail_blind(const struct lf_tail *t);

#endif
