/* tail.h - the tail input: globs watched with inotify, files followed across rotation.
 *
 * The directories of every glob are watched (create, move, delete); each matched file is
 * opened, identified (device, inode, fingerprint of its first bytes), resumed from its
 * checkpoint or per start_at, and read in large blocks split into lines and handed to the
 * multi-line assembler, whose records go to the sink's emit callback. A file renamed away or
 * deleted keeps being read through its fd to EOF and is released only once its records
 * are acknowledged and no write came for rotate_wait. A truncated (copytruncate) file is
 * a new identity read from 0. Does not: parse, route or ack records, nor write the
 * checkpoint store (it reads it to resume): all of that is its sink's (struct
 * lf_tail_sink), which the tail knows only through a key per file. Main thread only.
 *
 * Open files: at most max_open_files fds per input. A file read to EOF may be closed
 * (after close_inactive without data, or as the least recently active one when another
 * file needs the slot); its struct, offsets, partial line, multi-line state and inode
 * watch stay, and it is reopened by path when it changes, after checking that the path
 * still leads to the same device+inode (else it is looked for by identity in the watched
 * directories, like a file rotated while the agent was stopped).
 */
#ifndef LF_TAIL_H
#define LF_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_buf.h"
#include "lf_ckpt.h"
#include "lf_conf.h"
#include "lf_linesplit.h"
#include "lf_multiline.h"

struct inotify_event;

struct lf_tail_file {
    struct lf_tail *tail;
    uint64_t key; /* the sink's key of this file identity (file_open); 0 before */
    char *path;
    size_t path_len; /* strlen(path), kept with every change of path */
    int fd;          /* -1 while closed (idle, or over max_open_files) */
    int wd;          /* inotify watch of the inode, -1 if none (kept while closed) */
    struct lf_file_id id;
    uint64_t read_offset;  /* next byte to read */
    bool readable;         /* may have unread bytes */
    bool ckpt_dirty;       /* its path changed since the sink last remembered it */
    bool in_ckpt;          /* the sink remembered this identity */
    bool eof;              /* the last read reached the end of the file */
    bool orphan;           /* no glob path leads here any more: rotated away or deleted */
    bool retired;          /* truncated: content gone, only waits for its acks */
    bool seen;             /* mark of the current scan */
    uint32_t head_len;     /* restart check: xxh64 of the first head_len bytes */
    uint64_t head_hash;    /*   (grows to 1 KiB as the file is read) */
    int64_t last_data_ms;  /* last time bytes were read (or the file was opened) */
    int64_t partial_since; /* since when split holds a partial line, -1 if none */
    /* the lines of the bytes read; holds the partial last line */
    struct lf_linesplit split;
    struct lf_ml *ml;
};

/* The file a record comes from, as the tail tells its sink. All borrowed for the call. */
struct lf_tail_src {
    uint64_t key;                /* the sink's key (from file_open) */
    const char *path;            /* current path */
    size_t path_len;             /* its length */
    const struct lf_file_id *id; /* identity (record ids are made from it) */
    int input;                   /* the tail's index */
};

/* What the tail needs from its owner: where records go, and the bookkeeping of each file
 * identity it follows. The tail never sees the state behind it. */
struct lf_tail_sink {
    void *emit_ctx;  /* for emit (the router) */
    void *files_ctx; /* for the file bookkeeping below (the checkpoint policy) */
    /* A complete record: bytes [start, end) of the file. LF_OK or an error (reading
     * stops). */
    int (*emit)(void *ctx, const struct lf_tail_src *src, const char *text, size_t len,
                uint64_t start, uint64_t end, unsigned flags);
    /* The tail follows a file identity from offset on. LF_OK with *key (never 0) set, or
     * LF_ENOMEM. */
    int (*file_open)(void *ctx, const struct lf_file_id *id, uint64_t offset, uint64_t *key);
    /* The tail lets the file go (released, or the tail is destroyed). */
    void (*file_close)(void *ctx, uint64_t key);
    /* Records of the file that are not finished yet (a rotated file is released only at
     * 0). */
    size_t (*pending)(void *ctx, uint64_t key);
    /* The identity lives at path: keep its checkpoint (with the done offset). force: the
     * path changed or was never remembered. LF_OK or LF_ENOMEM. */
    int (*remember)(void *ctx, uint64_t key, const struct lf_file_id *id, const char *path,
                    bool force);
    /* The identity dev+ino is gone for good: forget its checkpoint. */
    void (*forget)(void *ctx, uint64_t dev, uint64_t ino);
};

struct lf_tail_stats {
    uint64_t bytes_read; /* bytes read from the files (lines and partial lines) */
    uint64_t files_opened;
    uint64_t files_released;
    uint64_t rotations;      /* files that left their glob path (renamed away, deleted) */
    uint64_t truncations;    /* files that started again (truncate, copytruncate) */
    uint64_t files_closed;   /* closed while tracked (close_inactive, max_open_files) */
    uint64_t files_reopened; /* closed files opened again */
    uint64_t closed_gone;    /* closed files not found again (deleted, or rotated out of
                                the watched directories): bytes written after the close
                                are lost */
};

struct tail_dir;
struct tail_gone;

struct lf_tail {
    const struct lf_input_conf *conf; /* borrowed */
    int index;
    struct lf_tail_file **files;
    size_t nfiles, files_cap;
    size_t nopen; /* files with an fd: at most conf->max_open_files once a turn ends */
    bool no_slot; /* tail_slot found no file to close, and none became closable since */
    char *read_buf;
    struct lf_tail_sink sink;
    struct lf_ckpt_store *ckpt;   /* borrowed, read only: where to resume */
    const struct lf_log_ctx *log; /* borrowed */
    int inofd;                    /* borrowed, -1: no inotify */
    struct tail_dir *dirs;        /* watched directories */
    size_t ndirs, dirs_cap;
    struct tail_gone *gone; /* checkpoint entries of released files */
    size_t ngone, gone_cap;
    bool need_scan;         /* a directory changed: re-expand the globs */
    bool watch_failed;      /* a directory could not be watched at the last scan */
    int64_t next_rescan_ms; /* slow safety rescan */
    int64_t next_poll_ms;   /* poll of files without an inode watch */
    size_t rr;              /* round-robin start of the next read turn */
#define TAIL_MOVES 16
    uint32_t move_cookies[TAIL_MOVES]; /* renames away from a matching path, not yet open */
    size_t nmoves;
    char **skipped; /* matched paths that cannot be tailed, logged once (tail_skip.c) */
    size_t nskipped, skipped_cap;
    struct lf_tail_stats stats;
};

/* Expands the globs, watches their directories, opens and positions every file (a file
 * rotated while the agent was stopped and still in a watched directory is resumed from its
 * checkpoint too). inotify_fd may be -1 (then only the rescan finds changes). The sink is
 * copied; its ctx, ckpt and log are borrowed and must outlive the tail. */
int lf_tail_create(const struct lf_input_conf *conf, int index, struct lf_ckpt_store *ckpt,
                   int inotify_fd, const struct lf_tail_sink *sink, const struct lf_log_ctx *log,
                   struct lf_tail **out);
/* Closes everything; each file's key is closed in the sink. NULL-safe. */
void lf_tail_destroy(struct lf_tail *t);
/* Reads about budget bytes (at most one 64 KiB share more), shared over the readable
 * files (at least 64 KiB each; a turn that cannot serve them all goes on with the next
 * ones in the following turn) so one busy file cannot starve the others. Returns LF_OK
 * or an emit error; *more tells whether a file still has unread bytes (a closed file
 * waiting for a slot counts only if a slot can be had). */
int lf_tail_read(struct lf_tail *t, size_t budget, bool *more);
/* Handles one inotify event (the watch may belong to another input: then nothing). An
 * IN_Q_OVERFLOW event makes every open file readable and rescans the globs (which finds
 * changed closed files by stat). */
void lf_tail_on_inotify(struct lf_tail *t, const struct inotify_event *ev);
/* Marks the file with watch descriptor wd readable (wd < 0: all open files, and rescan,
 * which reopens a closed file only if its size or inode changed). */
void lf_tail_mark_readable(struct lf_tail *t, int wd);
/* Timed work (call at the time lf_tail_next_ms gives, or more often): multi-line deadlines,
 * partial lines of rotated files, release of finished rotated files, close_inactive, the
 * safety rescan (only while tail_blind), the poll of unwatched files, forget_after
 * pruning. Returns LF_OK or an emit error. */
int lf_tail_tick(struct lf_tail *t, int64_t now_ms);
/* When lf_tail_tick next has work: the earliest of the deadlines above, a value <= now_ms
 * for work due now, INT64_MAX for none (an idle input with every file watched asks for
 * no wake-up). Events (inotify, acknowledgements) bring their own wake-ups. */
int64_t lf_tail_next_ms(const struct lf_tail *t, int64_t now_ms);
/* Flushes multi-line records whose deadline passed (all of them if force). With force
 * (shutdown), a partial last line waiting longer than partial_timeout is emitted too. */
int lf_tail_flush_pending(struct lf_tail *t, int64_t now_ms, bool force);
/* Asks the sink to remember every live file identity (its checkpoint policy writes the
 * done offset to the store; the caller saves the store). */
void lf_tail_checkpoint(struct lf_tail *t);

/* Identity rule. The fingerprint is the xxh64 of the first min(size, 1 KiB) bytes seen the
 * first time the file is non-empty, remembered with that length (an empty file gets its
 * fingerprint at its first read, before any record exists, so record ids stay stable).
 * A remembered identity applies to an open file only if device and inode are equal AND
 * the file still starts with the same fp_len bytes. */
#define LF_TAIL_FP_MAX 1024
/* Computes the identity of an open file. */
int lf_tail_identify(int fd, struct lf_file_id *id, uint64_t *size);
/* True if fd's file has id's device+inode and still starts with id's fingerprinted bytes. */
bool lf_tail_id_matches(int fd, const struct lf_file_id *id);

/* Path patterns: '/'-separated components matched one by one with fnmatch(3) (a leading
 * '.' in a name must be matched explicitly, as with glob(3)); a component "**" matches
 * zero or more directory levels (not hidden directories); a trailing "**" means every
 * file below. Returns true if path matches pattern. */
bool lf_tail_glob_match(const char *pattern, const char *path);

#endif
