/* ml_feed.c - see ml_feed.h. */
#include "ml_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"

int ml_sink_emit(void *ctx, const char *text, size_t len, uint64_t start_offset,
                 uint64_t end_offset, unsigned flags)
{
    struct ml_sink *s = ctx;

    if (s->fail_next) {
        int rc = s->fail_next;
        s->fail_next = 0;
        return rc;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct ml_rec *v = realloc(s->v, cap * sizeof(*v));
        if (!v) {
            return LF_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].text = malloc(len + 1);
    if (!s->v[s->n].text) {
        return LF_ENOMEM;
    }
    memcpy(s->v[s->n].text, text, len);
    s->v[s->n].text[len] = '\0';
    s->v[s->n].len = len;
    s->v[s->n].start = start_offset;
    s->v[s->n].end = end_offset;
    s->v[s->n].flags = flags;
    s->n++;
    return LF_OK;
}

void ml_sink_free(struct ml_sink *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].text);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int ml_feed(struct lf_ml *ml, const char *data, size_t len, int64_t now_ms, struct ml_sink *s)
{
    size_t pos = 0;
    int rc;

    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) + 1 : len;
        size_t llen = (nl ? (size_t)(nl - data) : len) - pos;
        if (llen > 0 && data[pos + llen - 1] == '\r') {
            llen--; /* the tail strips the \r of CRLF */
        }
        rc = lf_ml_push(ml, data + pos, llen, pos, end, 0, now_ms++, ml_sink_emit, s);
        if (rc != LF_OK) {
            return rc;
        }
        pos = end;
    }
    return lf_ml_flush(ml, ml_sink_emit, s);
}

char *ml_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        goto out_close;
    }
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto out_close;
    }
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
out_close:
    fclose(f);
    return buf;
}

struct lf_ml_conf ml_conf_default(void)
{
    struct lf_ml_conf c = {
        .preset = 0,
        .max_lines = 500,
        .max_bytes = 1024 * 1024,
        .flush_timeout_ms = 1000,
    };
    return c;
}
