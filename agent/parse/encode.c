/* encode.c - writes one record as one flat JSON object (ECS dotted keys).
 *
 * The output is always valid JSON: strings are escaped with the same rule as
 * lf_buf_append_json_escaped (valid UTF-8 kept, invalid bytes as \u00XX), numbers and
 * JSON values are only copied after a parser checked them.
 */
#include <string.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

void lf_f_str(struct lf_parser *p, const char *key, const char *s, size_t n)
{
    if (p->nf < LF_MAX_FIELDS) {
        p->f[p->nf++] = (struct lf_field){.key = key, .s = s, .n = n, .kind = FK_STR};
    }
}

void lf_f_int(struct lf_parser *p, const char *key, int64_t v)
{
    if (p->nf < LF_MAX_FIELDS) {
        p->f[p->nf++] = (struct lf_field){.key = key, .i = v, .kind = FK_INT};
    }
}

void lf_f_num(struct lf_parser *p, const char *key, const char *s, size_t n)
{
    if (p->nf < LF_MAX_FIELDS) {
        p->f[p->nf++] = (struct lf_field){.key = key, .s = s, .n = n, .kind = FK_NUM};
    }
}

void lf_f_json(struct lf_parser *p, const char *key, const char *s, size_t n)
{
    if (p->nf < LF_MAX_FIELDS) {
        p->f[p->nf++] = (struct lf_field){.key = key, .s = s, .n = n, .kind = FK_JSON};
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

size_t lf_json_escape_to(char *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    char *start = o;
    size_t i = 0;
    while (i < n) {
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
        if (o == k || (o[0] == k[0] && o[1] == k[1] && !strcmp(o, k))) {
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
    size_t need = 256 + 6 * (p->msglen + slen(m->host_name) + slen(m->path) + slen(m->id_hex));
    for (size_t i = 0; i < p->nf; i++) {
        need += 32 + 6 * (strlen(p->f[i].key) + p->f[i].n);
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
    o += lf_fmt_ts(o, p->ts_ms);
    o = PUTLIT(o, "\",\"type\":\"");
    const char *tn = type_names[p->rtype];
    o = put(o, tn, strlen(tn));
    o = PUTLIT(o, "\",\"id\":");
    o = put_str(o, m->id_hex ? m->id_hex : "", slen(m->id_hex));
    o = PUTLIT(o, ",\"message\":");
    o = put_str(o, p->msg, p->msglen);
    o = PUTLIT(o, ",\"host.name\":");
    o = put_str(o, m->host_name ? m->host_name : "", slen(m->host_name));
    o = PUTLIT(o, ",\"log.file.path\":");
    o = put_str(o, m->path ? m->path : "", slen(m->path));
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
        if (dup_key(p, i) || (m->fields && in_fields(m->fields, f->key))) {
            continue; /* first value wins; input fields win over parser fields */
        }
        o = put_key(o, f->key);
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
