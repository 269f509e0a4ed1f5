/* spool_int.h - internals shared by the files of the spool module (see lf_spool.h).
 *
 * Not for other modules: the layout here may change without notice. The in-memory index
 * holds, per segment, the byte offset of every frame and an acknowledgement bitmap, so
 * reads, acks and deletes never rescan a file.
 */
#ifndef SPOOL_INT_H
#define SPOOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_spool.h"

#define SPOOL_MAGIC           "LFSPOOL" /* + its NUL: 8 bytes */
#define SPOOL_VERSION         1u
#define SPOOL_SEG_HDR         24u /* magic 8, version 4, reserved 4, id 8 */
#define SPOOL_FRAME_HDR       8u  /* length 4, crc32c 4 */
#define SPOOL_REC_FIXED       72u /* fixed fields at the start of a body */
#define SPOOL_DEFAULT_SEGMENT (8u << 20)
#define SPOOL_MAX_SEGMENT     (1u << 30) /* keeps frame offsets in 32 bits */
#define SPOOL_HEAD_FILE       "head"
#define SPOOL_ACKS_FILE       "acks"
#define SPOOL_QDIR            "quarantine"
#define SPOOL_NAME_MAX        64

/* One segment file. fd is open only while it is the writer. */
struct spool_seg {
    uint64_t id;
    uint64_t size;          /* header + whole frames: the good part of the file */
    uint32_t *off;          /* offset of each frame */
    uint64_t *acked;        /* bit per frame */
    size_t off_cap;         /* room in off (frames) */
    size_t acked_words;     /* room in acked (64 frames a word) */
    uint32_t nframes;       /* frames indexed */
    uint32_t nacked;        /* bits set in acked */
    uint32_t first_unacked; /* every frame before it is acknowledged */
    int fd;
    bool dirty; /* appended (or truncated) since the last fdatasync */
};

/* A read-ahead window over one file: fewer syscalls when walking ~300-byte frames. */
struct spool_win {
    int fd;
    unsigned char *buf;
    size_t cap;
    uint64_t start; /* file offset of buf[0] */
    size_t len;     /* valid bytes in buf */
};

/* Outcome of scanning one segment file. */
enum spool_scan_status {
    SPOOL_SCAN_OK = 0,
    SPOOL_SCAN_BAD_FRAME = 1, /* frames from bad_off on are not valid */
    SPOOL_SCAN_BAD_HEADER = 2,
    SPOOL_SCAN_SHORT = 3, /* shorter than a header: a segment torn at creation */
};

struct lf_spool {
    char *dir;
    int dirfd;
    struct lf_spool_opts opts;
    const struct lf_log_ctx *log;
    struct spool_seg **segs; /* oldest first, ids increasing modulo 2^64 */
    size_t nsegs, capsegs;
    struct spool_seg *writer; /* segs[nsegs - 1] while appends go there, else NULL */
    uint64_t next_id;
    size_t cur_i;     /* read cursor: segs index (== nsegs: the next new segment) */
    uint32_t cur_idx; /* and frame index in it */
    int rfd;          /* read fd of segs[cur_i], -1 if none */
    uint64_t rfd_id;
    struct spool_win rwin;
    unsigned char *wbuf; /* encode buffer for appends */
    size_t wcap;
    uint64_t bytes, records, quarantined, dropped;
    bool dir_dirty;    /* a segment was created or deleted since the last directory fsync */
    int head_fd;       /* the head file, opened at the first store */
    uint64_t head_seq; /* sequence of the last head slot written or loaded */
    bool head_saved_valid;
    struct lf_spool_pos head_saved;
    int acks_fd;               /* the acks file, -1 until loaded or first written */
    uint64_t acks_len;         /* bytes of its good part */
    uint64_t acks_entries;     /* entries in it, stale ones included */
    struct lf_spool_pos *pend; /* acks since the last sync, not yet in the file */
    size_t npend, cappend;
    bool acks_warned;
};

/* spool_frame.c: record <-> frame body; frame header checks; read window. */
size_t spool_body_size(const struct lf_spool_rec *rec);
/* Writes header and body of rec into out (spool_body_size + SPOOL_FRAME_HDR bytes). */
void spool_frame_encode(const struct lf_spool_rec *rec, unsigned char *out, size_t body_len);
/* Decodes a body whose CRC was checked; LF_OK, LF_ECORRUPT or LF_ENOMEM. */
int spool_body_decode(const unsigned char *body, uint32_t len, struct lf_spool_rec *rec);
int64_t spool_body_timestamp(const unsigned char *body);
/* Validates the frame at off given the bytes up to limit; LF_OK with the frame length
 * (header included) in *frame_len, or LF_ECORRUPT. Reads through w. */
int spool_frame_check(struct spool_win *w, uint64_t off, uint64_t limit, uint32_t *frame_len);
uint32_t spool_get32(const unsigned char *p);
uint64_t spool_get64(const unsigned char *p);
void spool_put32(unsigned char *p, uint32_t v);
void spool_put64(unsigned char *p, uint64_t v);
void spool_win_init(struct spool_win *w, int fd);
void spool_win_fini(struct spool_win *w);
/* Points *p at n bytes at off, reading at most up to limit. LF_OK, LF_ECORRUPT (the file
 * ends before), LF_EIO (errno set) or LF_ENOMEM. */
int spool_win_get(struct spool_win *w, uint64_t off, size_t n, uint64_t limit,
                  const unsigned char **p);

/* spool_seg.c: segment files, their index and recovery. */
void spool_seg_name(char *buf, uint64_t id);
bool spool_seg_parse_name(const char *name, uint64_t *id);
/* Lists the segment ids in dirfd, oldest first (modulo 2^64). Returns LF_OK/LF_EIO/ENOMEM. */
int spool_list_ids(int dirfd, uint64_t **ids, size_t *n);
struct spool_seg *spool_seg_new(uint64_t id);
/* Appends seg (oldest first) and counts its bytes and unacknowledged frames. */
int spool_add_seg(struct lf_spool *s, struct spool_seg *seg);
void spool_seg_free(struct spool_seg *seg);
/* Makes room for one more frame in the index (then push cannot fail). */
int spool_seg_reserve(struct spool_seg *seg);
int spool_seg_push_frame(struct spool_seg *seg, uint64_t off);
bool spool_seg_is_acked(const struct spool_seg *seg, uint32_t idx);
void spool_seg_set_acked(struct spool_seg *seg, uint32_t idx);
/* Frame index of byte offset off, or -1. */
long spool_seg_find(const struct spool_seg *seg, uint64_t off);
uint32_t spool_seg_frame_len(const struct spool_seg *seg, uint32_t idx);
/* Scans fd: fills seg's index with every good frame; *bad_off is where the bad part
 * starts. Returns LF_OK (whatever *st says), LF_EIO or LF_ENOMEM. */
int spool_seg_scan(int fd, uint64_t file_size, struct spool_seg *seg, struct spool_win *w,
                   enum spool_scan_status *st, uint64_t *bad_off);
/* Copies bytes [from, EOF) of fd (segment id) to quarantine/seg-<id>.<from>.bad, synced. */
int spool_quarantine_copy(struct lf_spool *s, int fd, uint64_t id, uint64_t from);
/* Renames a whole segment file into quarantine/seg-<id>.0.bad. */
int spool_quarantine_move(struct lf_spool *s, uint64_t id);
/* Number of *.bad files in dirfd's quarantine directory; lists them to list if not NULL. */
uint64_t spool_quarantine_count(int dirfd, FILE *list);

/* spool_head.c: the persisted first un-acknowledged position. */
/* LF_OK (*head, and *seq if not NULL), LF_ENOTFOUND, LF_ECORRUPT or LF_EIO. */
int spool_head_load(int dirfd, struct lf_spool_pos *head, uint64_t *seq);
int spool_head_store(struct lf_spool *s, struct lf_spool_pos head);

/* spool_acks.c: frames acknowledged after the head, kept across restarts. */
/* Notes an ack (of a frame whose segment stays) for the next flush. */
void spool_acks_note(struct lf_spool *s, struct lf_spool_pos pos);
/* At sync: appends the noted acks still after the head, fdatasync; empties or compacts
 * the file when it is stale. Failures are logged (they cost duplicates, not loss). */
void spool_acks_flush(struct lf_spool *s);
/* At open, after the head: marks the frames the file lists. */
void spool_acks_load(struct lf_spool *s);
/* Reads the good entries of the acks file open as fd into *v (caller frees; NULL when
 * none), with the length of its good part and of the file. LF_OK, LF_ECORRUPT (not an
 * acks file), LF_EIO or LF_ENOMEM. */
int spool_acks_read(int fd, struct lf_spool_pos **v, size_t *n, uint64_t *good_len,
                    uint64_t *file_len);

/* lf_spool.c / spool_read.c / spool_write.c: shared between the API files. */
void spool_head_pos(const struct lf_spool *s, struct lf_spool_pos *head);
void spool_delete_seg(struct lf_spool *s, size_t i);
int spool_fsync_fd(const struct lf_spool *s, int fd, const char *what);
/* Index of the segment with this id, or -1. */
long spool_find_seg(const struct lf_spool *s, uint64_t id);
/* Marks the frame at pos acknowledged, deleting its segment when that was its last frame.
 * Returns true when a frame was marked and its segment stays; false for an unknown or
 * repeated position or a deleted segment. */
bool spool_ack_frame(struct lf_spool *s, struct lf_spool_pos pos);
/* The writer takes no more appends (the next append starts a new segment). */
void spool_seal_writer(struct lf_spool *s);

#endif
