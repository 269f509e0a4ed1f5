/* lf_buf.h - a growable byte buffer with a hard size limit (curl's dynbuf idea).
 *
 * Used for lines, multi-line records and encoded JSON. The buffer owns its memory;
 * lf_buf_fini frees it. Appends beyond max_bytes fail with LF_ETOOBIG and leave the
 * content unchanged. The data is always NUL-terminated after a successful append.
 */
#ifndef LF_BUF_H
#define LF_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct lf_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max_bytes; /* hard limit on len; 0 = SIZE_MAX */
};

void lf_buf_init(struct lf_buf *b, size_t max_bytes);
void lf_buf_fini(struct lf_buf *b);
/* Sets len to 0, keeps the allocation. */
void lf_buf_reset(struct lf_buf *b);
/* Makes room for `extra` more bytes (+1 for the NUL). Returns LF_OK, LF_ENOMEM, LF_ETOOBIG. */
int lf_buf_reserve(struct lf_buf *b, size_t extra);
int lf_buf_append(struct lf_buf *b, const void *p, size_t n);
int lf_buf_append_str(struct lf_buf *b, const char *s);
int lf_buf_append_char(struct lf_buf *b, char c);
int lf_buf_printf(struct lf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes all of b to fd, retrying after EINTR and short writes. LF_OK, LF_ENOSPC or
 * LF_EIO (errno tells why). */
int lf_buf_write_fd(const struct lf_buf *b, int fd);
/* Appends s as a JSON string body (no surrounding quotes): escapes ", \, control bytes,
 * and invalid UTF-8 bytes as \u00XX of the byte value... see lf_buf.c for the exact rule. */
int lf_buf_append_json_escaped(struct lf_buf *b, const char *s, size_t n);
/* The same escaping into o, which must have room for 6 * n bytes; returns the bytes
 * written (no NUL). */
size_t lf_json_escape_to(char *o, const char *s, size_t n);
/* Length of the prefix of s that needs no JSON escaping (printable ASCII, no " or \). */
size_t lf_json_plain_prefix(const char *s, size_t n);
/* Length of the valid UTF-8 sequence (2..4 bytes) at s, or 0 (also for ASCII). */
size_t lf_utf8_len(const unsigned char *s, size_t n);
/* Moves the content out: returns data (caller frees), leaves b empty. */
char *lf_buf_take(struct lf_buf *b, size_t *len);

#endif
