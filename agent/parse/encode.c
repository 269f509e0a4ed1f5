/* encode.c - writes one record as one flat JSON object (ECS dotted keys).
 *
 * The output is always valid JSON: strings are escaped by lf_json_escape_to (lf_buf.c:
 * valid UTF-8 kept, invalid bytes as \u00XX), numbers and JSON values are only copied
 * after a parser checked them.
 */
#include <string.h>

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

/* Upper bound of the bytes the record takes: every string byte may become 6. Also takes
 * the lengths of the host name and path for this record (given by the caller, who knows
 * when they change: a cache by address would go stale when a freed path's address is
 * reused for a new one). */
static size_t record_bound(struct lf_parser *p, const struct lf_event_meta *m)
{
    p->host_len = m->host_len ? m->host_len : slen(m->host_name);
    p->path_len = m->path_len ? m->path_len : slen(m->path);
    size_t need = 256 + 6 * (p->msglen + p->host_len + p->path_len + slen(m->id_hex));
    for (size_t i = 0; i < p->nf; i++) {
        need += LF_MAX_KEY + 8 + 6 * p->f[i].n;
    }
    for (size_t i = 0; m->fields && i < m->fields->n; i++) {
        need += 8 + 6 * (slen(m->fields->v[i].key) + slen(m->fields->v[i].value));
    }
    return need;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ": the part up to the seconds is cached per second. */
static char *put_timestamp(struct lf_parser *p, char *o)
{
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
    return o + 24;
}

/* The members every record has: @timestamp, type, id, message, host, path, offset. */
static char *put_envelope(struct lf_parser *p, const struct lf_event_meta *m, char *o)
{
    o = PUTLIT(o, "{\"@timestamp\":\"");
    o = put_timestamp(p, o);
    o = PUTLIT(o, "\",\"type\":\"");
    const char *tn = type_names[p->rtype];
    o = put(o, tn, strlen(tn));
    o = PUTLIT(o, "\",\"id\":");
    o = put_str(o, m->id_hex ? m->id_hex : "", slen(m->id_hex));
    if (p->msg) { /* NULL: left out (keep_message: false) */
        o = PUTLIT(o, ",\"message\":");
        o = put_str(o, p->msg, p->msglen);
    }
    o = PUTLIT(o, ",\"host.name\":");
    o = put_str(o, m->host_name ? m->host_name : "", p->host_len);
    o = PUTLIT(o, ",\"log.file.path\":");
    o = put_str(o, m->path ? m->path : "", p->path_len);
    o = PUTLIT(o, ",\"log.offset\":");
    return put_int(o, (int64_t)m->offset);
}

/* The input's `fields:`, except those that would replace an envelope member. */
static char *put_input_fields(const struct lf_kvlist *fields, char *o)
{
    for (size_t i = 0; fields && i < fields->n; i++) {
        const struct lf_kv *kv = &fields->v[i];
        if (!kv->key || reserved(kv->key)) {
            continue;
        }
        o = put_key(o, kv->key);
        o = put_str(o, kv->value ? kv->value : "", slen(kv->value));
    }
    return o;
}

/* The parser's fields: the first value of a key wins, input fields win over them. */
static char *put_parser_fields(const struct lf_parser *p, const struct lf_kvlist *fields, char *o)
{
    for (size_t i = 0; i < p->nf; i++) {
        const struct lf_field *f = &p->f[i];
        if ((p->dedupe && dup_key(p, i)) || (fields && in_fields(fields, f->key))) {
            continue;
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
    return o;
}

/* The flags about the time of a record that has one: timezone_unresolved,
 * timestamp_mismatch. */
static char *put_time_flags(const struct lf_parser *p, const char **sep, char *o)
{
    if (p->tz_unresolved) {
        o = put(o, *sep, strlen(*sep));
        o = PUTLIT(o, "\"timezone_unresolved\"");
        *sep = ",";
    }
    if (p->ts_mismatch) {
        o = put(o, *sep, strlen(*sep));
        o = PUTLIT(o, "\"timestamp_mismatch\"");
        *sep = ",";
    }
    return o;
}

/* log.flags: parse_failure, timestamp_missing, timezone_unresolved, timestamp_mismatch,
 * truncated (only when one is set). */
static char *put_flags(const struct lf_parser *p, bool truncated, char *o)
{
    bool tz = (p->tz_unresolved || p->ts_mismatch) && !p->ts_missing;
    if (!p->failed && !p->ts_missing && !truncated && !tz) {
        return o;
    }
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
    if (tz) {
        o = put_time_flags(p, &sep, o);
    }
    if (truncated) {
        o = put(o, sep, strlen(sep));
        o = PUTLIT(o, "\"truncated\"");
    }
    *o++ = ']';
    return o;
}

int lf_encode_record(struct lf_parser *p, const struct lf_event_meta *m, const char *text,
                     size_t len, struct lf_buf *out)
{
    int rc = lf_buf_reserve(out, record_bound(p, m));
    if (rc != LF_OK) {
        return rc;
    }
    char *o = out->data + out->len;
    o = put_envelope(p, m, o);
    o = put_input_fields(m->fields, o);
    o = put_parser_fields(p, m->fields, o);
    o = put_flags(p, m->flags & LF_META_TRUNCATED, o);
    *o++ = '}';
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    (void)text;
    (void)len;
    return LF_OK;
}
