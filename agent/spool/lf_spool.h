/* lf_spool.h - one output's local file buffer: append-only segments of framed records.
 *
 * Layout: <dir>/ holds segment files "seg-<16 hex id>.lfs" and a "head" file. A segment
 * starts with a header (magic "LFSPOOL\0", u32 version, u32 reserved, u64 segment id) and
 * holds frames: u32 length, u32 CRC32C (over the body), body (record metadata + payload,
 * little-endian fixed fields then the strings). Segment ids grow by one and are compared
 * modulo 2^64 from the oldest present (wrap-around safe).
 *
 * Durability: lf_spool_append() writes the frame with pwrite(2), no user-space buffer
 * (readable at once by the reader of the same spool); it is durable only after
 * lf_spool_sync() returns LF_OK (fdatasync of every segment written since the last sync,
 * the head file, and of the directory after segments were created or deleted). The
 * caller chooses the policy (always / batch / never) by when it calls sync; one sync
 * after many appends is a group commit. lf_spool_close() does not sync.
 *
 * Reading: a cursor walks frames from the oldest un-acknowledged one. lf_spool_ack() marks
 * one frame done; a segment whose frames are all acknowledged is deleted (the segment being
 * written is first closed, so the next append starts a new one). lf_spool_sync() persists
 * the first un-acknowledged position in "head" (two checksummed slots written in turn, so a
 * torn write leaves the previous head) and appends the frames acknowledged out of order
 * after it to "acks" (checksummed entries; emptied or compacted when stale), so a restart
 * resends only frames acknowledged after the last sync.
 *
 * Recovery: lf_spool_open() scans every segment. A frame with a bad length or CRC ends the
 * good part of that segment: the bytes from there to the end go to
 * "<dir>/quarantine/seg-<id>.<offset>.bad" and the segment is truncated to its good part;
 * the number of quarantined frames (at least 1 per such tail) is counted. A segment whose
 * header is bad moves whole to "quarantine/seg-<id>.0.bad"; a file shorter than a header
 * (torn while being created, so it holds no frame) is deleted. Bad bytes that cannot be
 * saved (full disk) are left in place, unused, until a later open. Never a loop, never the
 * whole spool discarded. A missing or damaged head file means reading from the oldest
 * frame (duplicates, never loss). Appends after open always start a new segment.
 *
 * Limits: max_size bounds the bytes of all segments. When an append would exceed it:
 * LF_SPOOL_BLOCK returns LF_ETOOBIG (the caller keeps the record and retries later);
 * LF_SPOOL_DROP_OLDEST deletes the oldest segments other than the one being written
 * (their un-acknowledged frames are counted in dropped_records and logged at error level)
 * until it fits (if only the segment being written is left, it is closed and dropped too,
 * which happens when segment_size is near max_size); the cursor moves past them and later
 * acks of their frames are ignored. ENOSPC, EDQUOT and EFBIG (LF_ENOSPC) or any other
 * write error (LF_EIO) truncate the segment back to its last whole frame: the spool is
 * never left with a torn frame by a failed write and takes appends again once space is
 * back.
 *
 * Threading: one spool is used by one thread. Ownership: strings passed to append are
 * copied; a record returned by lf_spool_read() owns its buffer until lf_spool_rec_free().
 */
#ifndef LF_SPOOL_H
#define LF_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "logferry/lf_log.h"

enum lf_spool_when_full {
    LF_SPOOL_BLOCK = 0,
    LF_SPOOL_DROP_OLDEST = 1,
};

/* Largest frame body (record fields + strings) accepted; longer lengths found on disk are
 * corrupt. */
#define LF_SPOOL_MAX_RECORD (64u << 20)

struct lf_spool_opts {
    uint64_t max_size;     /* bytes of all segments; 0 = no limit */
    uint64_t segment_size; /* roll to a new segment after this many bytes (default 8 MiB,
                              at most 1 GiB) */
    enum lf_spool_when_full when_full;
    uint64_t first_segment_id; /* id of the first segment of a new, empty spool (tests of
                                  the wrap-around; 0 otherwise) */
};

/* A record as stored. In lf_spool_append every pointer is borrowed (a NULL string or
 * payload is stored as empty); from lf_spool_read every pointer points into one buffer
 * owned by the struct (free with lf_spool_rec_free), never NULL. payload and the strings
 * are NUL-terminated. */
struct lf_spool_rec {
    const char *payload;
    size_t payload_len;
    const char *id;     /* 32 hex digits */
    const char *source; /* log file path */
    const char *input;  /* input name */
    int type;           /* enum lf_record_type */
    int64_t timestamp_ms;
    uint32_t attempts;
    int64_t first_failure_ms; /* wall clock; 0 = none */
    uint64_t dev, ino;        /* identity of the log file */
    uint64_t start_offset, end_offset;
    void *owned; /* internal: the buffer of a read record */
};

/* Position of one frame: segment id and frame byte offset in it. */
struct lf_spool_pos {
    uint64_t seg;
    uint64_t off;
};

struct lf_spool_stats {
    uint64_t segments;
    uint64_t records;         /* frames not yet acknowledged, all segments */
    uint64_t bytes;           /* bytes of all segment files */
    int64_t oldest_ms;        /* timestamp_ms of the first un-acknowledged record in spool
                                 order (the one waiting longest); 0 none */
    uint64_t quarantined;     /* files in quarantine/ at open + frames quarantined since */
    uint64_t dropped_records; /* dropped by drop_oldest since open */
};

struct lf_spool;

/* Opens (creating) the spool in dir and recovers it as described above. log may be NULL.
 * Returns LF_OK, LF_EIO (errno logged) or LF_ENOMEM. */
int lf_spool_open(const char *dir, const struct lf_spool_opts *opts, const struct lf_log_ctx *log,
                  struct lf_spool **out);
void lf_spool_close(struct lf_spool *s);

/* Appends one record. LF_OK, LF_ETOOBIG (full, block mode, or the record alone is over
 * max_size), LF_ENOSPC, LF_EIO. */
int lf_spool_append(struct lf_spool *s, const struct lf_spool_rec *rec);
/* Makes every append so far durable and persists the head and the out-of-order acks.
 * LF_OK or LF_EIO/LF_ENOSPC when a segment or the directory could not be synced. Failing
 * to store the head or the acks is logged but still LF_OK (the frames are durable; a
 * restart may resend acked ones). Costs one fdatasync per segment written since the last
 * sync, one for the head if it moved, one for the acks file if acks after the head were
 * made, and one of the directory if segments were created or deleted. */
int lf_spool_sync(struct lf_spool *s);

/* Reads the next frame at the cursor: LF_OK (*rec, *pos filled), LF_ENOTFOUND when the
 * cursor is at the end. A frame found corrupt while reading is quarantined like at open
 * and skipped. */
int lf_spool_read(struct lf_spool *s, struct lf_spool_rec *rec, struct lf_spool_pos *pos);
void lf_spool_rec_free(struct lf_spool_rec *rec);
/* Marks one frame delivered (or dead-lettered). Unknown or repeated positions are ignored. */
void lf_spool_ack(struct lf_spool *s, struct lf_spool_pos pos);
/* Moves the cursor back to the first un-acknowledged frame (after a failed send). */
void lf_spool_rewind(struct lf_spool *s);

/* True when no un-acknowledged frame is left. */
bool lf_spool_empty(const struct lf_spool *s);
/* When the spool is not empty this reads one frame header from disk for oldest_ms
 * (openat, pread, close): call it per batch, not per record. */
void lf_spool_get_stats(const struct lf_spool *s, struct lf_spool_stats *st);

/* Read-only view for `logferry spool inspect`: prints the head, segments, record counts,
 * what recovery would quarantine, oldest record age and quarantine files of the spool in
 * dir to fp. Does not modify anything. Returns LF_OK, LF_ENOTFOUND (no spool there) or
 * LF_EIO (a file could not be read; the rest is still printed). */
int lf_spool_inspect(const char *dir, FILE *fp, int64_t now_ms);

#endif
