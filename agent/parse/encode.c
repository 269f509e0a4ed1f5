/* encode.c - writes one record as one flat JSON object (ECS dotted keys).
 *
 * The output is always valid JSON: strings are escaped with the same rule as
 * lf_buf_append_json_escaped (valid UTF-8 kept, invalid bytes as \u00XX), numbers and
 * JSON values are only copied after a parser checked them.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logferry/lf_err.h"
#include "parse_int.h"

void lf_f_add(struct lf_parser *p, const char *key, size_t kl, enum lf_fkind kind, const char *s,
              size_t n, int64_t i)
{
    if (p->nf < LF_MAX_FIELDS) {
        p->f[p->nf++] =
            (struct lf_field){.key = key, .kl = kl, .s = s, .n = n, .i = i, .kind = kind};
    }
}

char *lf_scratch_alloc(struct lf_parser *p, size_t n)
{
    /* lf_parser_encode reserved room for the whole record; never reallocates here. */
    if (p->scratch.cap - p->scratch.len < n + 1) {
        return NULL;
    }
    char *o = p->scratch.data + p->scratch.len;
    p->scratch.len += n;
    return o;
}

/* Length of the valid UTF-8 sequence at s, or 0 (same rule as lf_buf.c). */
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

static char *put(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

#define PUTLIT(o, lit) put((o), (lit), sizeof(lit) - 1)

static char *put_key(char *o, const char *key)
{
    *o++ = ',';
    *o++ = '"';
    o += lf_json_escape_to(o, key, strlen(key));
    *o++ = '"';
    *o++ = ':';
    return o;
}

/* Parser keys are literals or names checked at create time: plain ASCII, < LF_MAX_KEY. */
static char *put_plain_key(char *o, const char *key, size_t n)
{
    *o++ = ',';
    *o++ = '"';
    memcpy(o, key, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    return o;
}

static char *put_str(char *o, const char *s, size_t n)
{
    *o++ = '"';
    o += lf_json_escape_to(o, s, n);
    *o++ = '"';
    return o;
}

static char *put_int(char *o, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *o++ = '-';
    }
    while (n) {
        *o++ = tmp[--n];
    }
    return o;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* True when field i repeats the key of an earlier field. */
static bool dup_key(const struct lf_parser *p, size_t i)
{
    const char *k = p->f[i].key;
    for (size_t j = 0; j < i; j++) {
        const char *o = p->f[j].key;
        if (o == k || (p->f[j].kl == p->f[i].kl && !memcmp(o, k, p->f[i].kl))) {
            return true;
        }
    }
    return false;
}

static bool in_fields(const struct lf_kvlist *fl, const char *key)
{
    for (size_t i = 0; i < fl->n; i++) {
        if (fl->v[i].key && !strcmp(fl->v[i].key, key)) {
            return true;
        }
    }
    return false;
}

static bool reserved(const char *k)
{
    static const char *const r[] = {"@timestamp", "type",      "id",
                                    "message",    "host.name", "log.file.path",
                                    "log.offset", "log.flags", NULL};
    for (int i = 0; r[i]; i++) {
        if (!strcmp(r[i], k)) {
            return true;
        }
    }
    return false;
}

static const char *const type_names[] = {"raw", "request", "error", "query"};

int lf_encode_record(struct lf_parser *p, const struct lf_event_meta *m, const char *text,
                     size_t len, struct lf_buf *out)
{
    /* Upper bound: every string byte may become 6 bytes. */
    if (m->host_name != p->host_ptr) {
        p->host_ptr = m->host_name;
        p->host_len = slen(m->host_name);
    }
    if (m->path != p->path_ptr) {
        p->path_ptr = m->path;
        p->path_len = slen(m->path);
    }
    size_t need = 256 + 6 * (p->msglen + p->host_len + p->path_len + slen(m->id_hex));
    for (size_t i = 0; i < p->nf; i++) {
        need += LF_MAX_KEY + 8 + 6 * p->f[i].n;
    }
    if (m->fields) {
        for (size_t i = 0; i < m->fields->n; i++) {
            need += 8 + 6 * (slen(m->fields->v[i].key) + slen(m->fields->v[i].value));
        }
    }
    int rc = lf_buf_reserve(out, need);
    if (rc != LF_OK) {
        return rc;
    }
    char *o = out->data + out->len;
    o = PUTLIT(o, "{\"@timestamp\":\"");
    /* "YYYY-MM-DDTHH:MM:SS." is cached per second; only the milliseconds change */
    int64_t sec = p->ts_ms >= 0 ? p->ts_ms / 1000 : -1;
    if (sec < 0 || sec != p->fmt_sec) {
        lf_fmt_ts(p->fmt_buf, p->ts_ms);
        p->fmt_sec = sec;
    }
    memcpy(o, p->fmt_buf, 20);
    unsigned msec = (unsigned)(p->ts_ms >= 0 ? p->ts_ms % 1000 : 0);
    if (sec < 0) {
        memcpy(o + 20, p->fmt_buf + 20, 3);
    } else {
        o[20] = (char)('0' + msec / 100);
        o[21] = (char)('0' + msec / 10 % 10);
        o[22] = (char)('0' + msec % 10);
    }
    o[23] = 'Z';
    o += 24;
    o = PUTLIT(o, "\",\"type\":\"");
    const char *tn = type_names[p->rtype];
    o = put(o, tn, strlen(tn));
    o = PUTLIT(o, "\",\"id\":");
    o = put_str(o, m->id_hex ? m->id_hex : "", slen(m->id_hex));
    o = PUTLIT(o, ",\"message\":");
    o = put_str(o, p->msg, p->msglen);
    o = PUTLIT(o, ",\"host.name\":");
    o = put_str(o, m->host_name ? m->host_name : "", p->host_len);
    o = PUTLIT(o, ",\"log.file.path\":");
    o = put_str(o, m->path ? m->path : "", p->path_len);
    o = PUTLIT(o, ",\"log.offset\":");
    o = put_int(o, (int64_t)m->offset);
    if (m->fields) {
        for (size_t i = 0; i < m->fields->n; i++) {
            const struct lf_kv *kv = &m->fields->v[i];
            if (!kv->key || reserved(kv->key)) {
                continue;
            }
            o = put_key(o, kv->key);
            o = put_str(o, kv->value ? kv->value : "", slen(kv->value));
        }
    }
    for (size_t i = 0; i < p->nf; i++) {
        const struct lf_field *f = &p->f[i];
        if ((p->dedupe && dup_key(p, i)) || (m->fields && in_fields(m->fields, f->key))) {
            continue; /* first value wins; input fields win over parser fields */
        }
        o = put_plain_key(o, f->key, f->kl);
        switch (f->kind) {
        case FK_STR:
            o = put_str(o, f->s, f->n);
            break;
        case FK_INT:
            o = put_int(o, f->i);
            break;
        case FK_NUM:
        case FK_JSON:
            o = put(o, f->s, f->n);
            break;
        }
    }
    bool trunc = m->flags & LF_META_TRUNCATED;
    if (p->failed || p->ts_missing || trunc) {
        o = PUTLIT(o, ",\"log.flags\":[");
        const char *sep = "";
        if (p->failed) {
            o = PUTLIT(o, "\"parse_failure\"");
            sep = ",";
        }
        if (p->ts_missing) {
            o = put(o, sep, strlen(sep));
            o = PUTLIT(o, "\"timestamp_missing\"");
            sep = ",";
        }
        if (trunc) {
            o = put(o, sep, strlen(sep));
            o = PUTLIT(o, "\"truncated\"");
        }
        *o++ = ']';
    }
    *o++ = '}';
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    (void)text;
    (void)len;
    return LF_OK;
}
