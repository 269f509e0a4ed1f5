/* spool_frame.c - the frame format: record fields <-> body bytes, header checks, and a
 * read-ahead window used by recovery, inspect and the read cursor.
 *
 * Body (little-endian): u32 type, u32 attempts, i64 timestamp_ms, i64 first_failure_ms,
 * u64 dev, ino, start_offset, end_offset, u32 lengths of id, source, input, payload, then
 * those four strings without NULs. Nothing here touches the spool's state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_crc32c.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

#define WIN_DEFAULT (256u << 10)

uint32_t spool_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t spool_get64(const unsigned char *p)
{
    return (uint64_t)spool_get32(p) | (uint64_t)spool_get32(p + 4) << 32;
}

void spool_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

void spool_put64(unsigned char *p, uint64_t v)
{
    spool_put32(p, (uint32_t)v);
    spool_put32(p + 4, (uint32_t)(v >> 32));
}

static size_t str_len(const char *s)
{
    return s ? strlen(s) : 0;
}

size_t spool_body_size(const struct lf_spool_rec *rec)
{
    return SPOOL_REC_FIXED + str_len(rec->id) + str_len(rec->source) + str_len(rec->input) +
           (rec->payload ? rec->payload_len : 0);
}

static unsigned char *put_bytes(unsigned char *p, const char *s, size_t n)
{
    if (n) {
        memcpy(p, s, n);
    }
    return p + n;
}

void spool_frame_encode(const struct lf_spool_rec *rec, unsigned char *out, size_t body_len)
{
    unsigned char *b = out + SPOOL_FRAME_HDR;
    size_t id_len = str_len(rec->id), src_len = str_len(rec->source);
    size_t in_len = str_len(rec->input), pl_len = rec->payload ? rec->payload_len : 0;

    spool_put32(b, (uint32_t)rec->type);
    spool_put32(b + 4, rec->attempts);
    spool_put64(b + 8, (uint64_t)rec->timestamp_ms);
    spool_put64(b + 16, (uint64_t)rec->first_failure_ms);
    spool_put64(b + 24, rec->dev);
    spool_put64(b + 32, rec->ino);
    spool_put64(b + 40, rec->start_offset);
    spool_put64(b + 48, rec->end_offset);
    spool_put32(b + 56, (uint32_t)id_len);
    spool_put32(b + 60, (uint32_t)src_len);
    spool_put32(b + 64, (uint32_t)in_len);
    spool_put32(b + 68, (uint32_t)pl_len);
    unsigned char *p = b + SPOOL_REC_FIXED;
    p = put_bytes(p, rec->id, id_len);
    p = put_bytes(p, rec->source, src_len);
    p = put_bytes(p, rec->input, in_len);
    put_bytes(p, rec->payload, pl_len);
    spool_put32(out, (uint32_t)body_len);
    spool_put32(out + 4, lf_crc32c(0, b, body_len));
}

int64_t spool_body_timestamp(const unsigned char *body)
{
    return (int64_t)spool_get64(body + 8);
}

/* Copies n bytes to *dst as a NUL-terminated string and returns it. */
static const char *take_str(char **dst, const unsigned char **src, uint32_t n)
{
    char *s = *dst;
    memcpy(s, *src, n);
    s[n] = '\0';
    *dst += n + 1;
    *src += n;
    return s;
}

int spool_body_decode(const unsigned char *body, uint32_t len, struct lf_spool_rec *rec)
{
    if (len < SPOOL_REC_FIXED) {
        return LF_ECORRUPT;
    }
    uint64_t lens[4];
    uint64_t total = SPOOL_REC_FIXED;
    for (int i = 0; i < 4; i++) {
        lens[i] = spool_get32(body + 56 + 4 * i);
        total += lens[i];
    }
    if (total != len) {
        return LF_ECORRUPT;
    }
    char *buf = malloc(len - SPOOL_REC_FIXED + 4);
    if (!buf) {
        return LF_ENOMEM;
    }
    memset(rec, 0, sizeof(*rec));
    rec->owned = buf;
    rec->type = (int)spool_get32(body);
    rec->attempts = spool_get32(body + 4);
    rec->timestamp_ms = (int64_t)spool_get64(body + 8);
    rec->first_failure_ms = (int64_t)spool_get64(body + 16);
    rec->dev = spool_get64(body + 24);
    rec->ino = spool_get64(body + 32);
    rec->start_offset = spool_get64(body + 40);
    rec->end_offset = spool_get64(body + 48);
    const unsigned char *src = body + SPOOL_REC_FIXED;
    rec->id = take_str(&buf, &src, (uint32_t)lens[0]);
    rec->source = take_str(&buf, &src, (uint32_t)lens[1]);
    rec->input = take_str(&buf, &src, (uint32_t)lens[2]);
    rec->payload = take_str(&buf, &src, (uint32_t)lens[3]);
    rec->payload_len = (size_t)lens[3];
    return LF_OK;
}

int spool_frame_check(struct spool_win *w, uint64_t off, uint64_t limit, uint32_t *frame_len)
{
    const unsigned char *p;
    if (limit - off < SPOOL_FRAME_HDR) {
        return LF_ECORRUPT;
    }
    int rc = spool_win_get(w, off, SPOOL_FRAME_HDR, limit, &p);
    if (rc != LF_OK) {
        return rc;
    }
    uint32_t body_len = spool_get32(p);
    uint32_t crc = spool_get32(p + 4);
    if (body_len < SPOOL_REC_FIXED || body_len > LF_SPOOL_MAX_RECORD ||
        body_len > limit - off - SPOOL_FRAME_HDR) {
        return LF_ECORRUPT;
    }
    rc = spool_win_get(w, off + SPOOL_FRAME_HDR, body_len, limit, &p);
    if (rc != LF_OK) {
        return rc;
    }
    if (lf_crc32c(0, p, body_len) != crc) {
        return LF_ECORRUPT;
    }
    *frame_len = SPOOL_FRAME_HDR + body_len;
    return LF_OK;
}

void spool_win_init(struct spool_win *w, int fd)
{
    w->fd = fd;
    w->start = 0;
    w->len = 0;
}

void spool_win_fini(struct spool_win *w)
{
    free(w->buf);
    w->buf = NULL;
    w->cap = 0;
    w->len = 0;
}

static int win_fill(struct spool_win *w, uint64_t off, size_t want)
{
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(w->fd, w->buf + got, want - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            w->len = 0;
            return LF_EIO;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    w->start = off;
    w->len = got;
    return LF_OK;
}

int spool_win_get(struct spool_win *w, uint64_t off, size_t n, uint64_t limit,
                  const unsigned char **p)
{
    if (off >= w->start && off - w->start <= w->len && w->len - (off - w->start) >= n) {
        *p = w->buf + (off - w->start);
        return LF_OK;
    }
    size_t want = n > WIN_DEFAULT ? n : WIN_DEFAULT;
    if (limit > off && limit - off < want) {
        want = (size_t)(limit - off);
    }
    if (want < n) {
        return LF_ECORRUPT;
    }
    if (want > w->cap) {
        unsigned char *nb = realloc(w->buf, want);
        if (!nb) {
            return LF_ENOMEM;
        }
        w->buf = nb;
        w->cap = want;
    }
    int rc = win_fill(w, off, want);
    if (rc != LF_OK) {
        return rc;
    }
    if (w->len < n) {
        return LF_ECORRUPT; /* the file ends before the index said */
    }
    *p = w->buf;
    return LF_OK;
}
