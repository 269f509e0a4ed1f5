/* lf_buf.c - growable byte buffer with a hard limit, plus the one JSON string escaper.
 *
 * JSON escaping keeps valid UTF-8 as it is and escapes invalid bytes one by one as
 * "\u00XX" (the byte value as a code point, like Latin-1), so the output is always valid
 * JSON and a reader can recover the raw byte values. The record encoder (parse/encode.c)
 * and lf_buf_append_json_escaped() both use lf_json_escape_to(): runs of bytes that need
 * no escaping are found 16 at a time (SSE2) and copied with one memcpy.
 */
#include "lf_buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logferry/lf_err.h"

void lf_buf_init(struct lf_buf *b, size_t max_bytes)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_bytes = max_bytes ? max_bytes : SIZE_MAX - 1;
}

void lf_buf_fini(struct lf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void lf_buf_reset(struct lf_buf *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

int lf_buf_reserve(struct lf_buf *b, size_t extra)
{
    if (extra > b->max_bytes - b->len) {
        return LF_ETOOBIG;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return LF_OK;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        return LF_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return LF_OK;
}

int lf_buf_append(struct lf_buf *b, const void *p, size_t n)
{
    int rc = lf_buf_reserve(b, n);
    if (rc != LF_OK) {
        return rc;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return LF_OK;
}

int lf_buf_append_str(struct lf_buf *b, const char *s)
{
    return lf_buf_append(b, s, strlen(s));
}

int lf_buf_append_char(struct lf_buf *b, char c)
{
    return lf_buf_append(b, &c, 1);
}

int lf_buf_printf(struct lf_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return LF_EINVAL;
    }
    int rc = lf_buf_reserve(b, (size_t)n);
    if (rc != LF_OK) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return LF_OK;
}

/* Length of the valid UTF-8 sequence (2..4 bytes) at s, or 0 (also for ASCII). */
size_t lf_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, cp;
    if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

/* Bytes of the 8-byte word w that need care in a JSON string: < 0x20, '"', '\\', >= 0x80.
 * Returns nonzero if any (SWAR: no per-byte branches on the common path). */
static inline uint64_t swar_special(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"');
    uint64_t b = w ^ (ones * '\\');
    uint64_t ctl = (w - ones * 0x20) & ~w;
    uint64_t zq = (q - ones) & ~q;
    uint64_t zb = (b - ones) & ~b;
    return (ctl | zq | zb | w) & high;
}

size_t lf_json_plain_prefix(const char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* signed compare: bytes >= 0x80 are negative, so they count as "< 0x20" too */
        __m128i bad =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmplt_epi8(v, space));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m) {
            return i + (size_t)__builtin_ctz(m);
        }
        i += 16;
    }
#endif
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (swar_special(w)) {
            break;
        }
        i += 8;
    }
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            break;
        }
        i++;
    }
    return i;
}

size_t lf_json_escape_to(char *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    char *start = o;
    size_t i = 0;
    while (i < n) {
        size_t plain = lf_json_plain_prefix(s + i, n - i);
        if (plain) {
            memcpy(o, s + i, plain);
            o += plain;
            i += plain;
            if (i >= n) {
                break;
            }
        }
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = lf_utf8_len(p + i, n - i);
            if (l) {
                memcpy(o, p + i, l);
                o += l;
                i += l;
                continue;
            }
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
            break;
        }
        i++;
    }
    return (size_t)(o - start);
}

int lf_buf_write_fd(const struct lf_buf *b, int fd)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(fd, b->data + off, b->len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return errno == ENOSPC ? LF_ENOSPC : LF_EIO;
        }
        off += (size_t)w;
    }
    return LF_OK;
}

int lf_buf_append_json_escaped(struct lf_buf *b, const char *s, size_t n)
{
    /* Worst case 6 output bytes per input byte. */
    int rc = lf_buf_reserve(b, n * 6);
    if (rc != LF_OK) {
        return rc;
    }
    b->len += lf_json_escape_to(b->data + b->len, s, n);
    b->data[b->len] = '\0';
    return LF_OK;
}

char *lf_buf_take(struct lf_buf *b, size_t *len)
{
    char *p = b->data;
    if (len) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
