/* lf_ckpt.h - the checkpoint store: acknowledged offset per file identity.
 *
 * One text file, <state_dir>/checkpoints, rewritten atomically (temp file, fsync,
 * rename, fsync of the directory), so a crash at any point leaves either the old or the
 * new version. A trailer line carries the entry count and an xxh64 of the content; a
 * file that fails it is reported corrupt and never silently replaced. Main thread only.
 */
#ifndef LF_CKPT_H
#define LF_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Identity of a file: device + inode + hash of its first fp_len bytes. */
struct lf_file_id {
    uint64_t dev;
    uint64_t ino;
    uint64_t fp_hash;
    uint32_t fp_len;
};

struct lf_ckpt_entry {
    struct lf_file_id id;
    uint64_t offset;
    char *path;
};

struct lf_ckpt_store {
    char *file; /* <state_dir>/checkpoints */
    struct lf_ckpt_entry *v;
    size_t n, cap;
    bool dirty;
};

#define LF_CKPT_FILE "checkpoints"

/* Opens (and loads) the store in state_dir. A missing file is an empty store. A corrupt
 * one gives LF_ECORRUPT and a message in err saying how to recover; LF_ENOMEM and LF_EIO
 * (with a message in err too) say nothing about the file's content. */
int lf_ckpt_open(const char *state_dir, struct lf_ckpt_store **out, char *err, size_t errlen);
void lf_ckpt_close(struct lf_ckpt_store *s);
/* Entry for dev+ino, or NULL. Borrowed. */
struct lf_ckpt_entry *lf_ckpt_find(struct lf_ckpt_store *s, uint64_t dev, uint64_t ino);
/* Inserts or replaces the entry of id (matched by dev+ino); path is copied. */
int lf_ckpt_set(struct lf_ckpt_store *s, const struct lf_file_id *id, const char *path,
                uint64_t offset);
/* Removes the entry of dev+ino, if any (pruning of files gone for good). LF_OK. */
int lf_ckpt_remove(struct lf_ckpt_store *s, uint64_t dev, uint64_t ino);
/* Writes the store if dirty. LF_OK, or LF_ENOMEM, LF_ENOSPC, LF_ETOOBIG (path too long)
 * or LF_EIO (errno tells why; logged by the caller). On failure the file on disk is the
 * previous version and the store stays dirty, so the next save tries again. */
int lf_ckpt_save(struct lf_ckpt_store *s);

/* Test hook: writes the temp file like lf_ckpt_save but stops before the rename, as a
 * crash at that point would. */
int lf_ckpt_write_temp_only(struct lf_ckpt_store *s);

/* Decodes the %XX-escaped path of an entry line: exactly n bytes at s, which need not be
 * NUL-terminated (nothing after them is read). Returns LF_OK and *out (caller frees),
 * LF_ENOMEM, or LF_ECORRUPT for an escape that is cut or not two hex digits. Exposed for
 * the unit tests. */
int lf_ckpt_unescape_path(const char *s, size_t n, char **out);

#endif
