/* http_body.c - request bodies of the HTTP output: _bulk, NDJSON, JSON array, gzip.
 *
 * Records are copied into the request body (the payload is already one JSON object);
 * elasticsearch prefixes each with an action line naming the rendered index and the
 * record id as _id, so a retried record overwrites (index) or conflicts (create) instead
 * of duplicating. Also builds each request's header list. Does no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "http.h"

#define HTTP_INDEX_MAX 512

int http_body_init(struct http_state *st)
{
    const struct http_config *cfg = st->cfg;
    char err[256] = "";

    if (cfg->format == HTTP_FMT_ELASTICSEARCH) {
        if (lf_template_compile(cfg->index, &st->index, err, sizeof(err)) != LF_OK) {
            lf_out_log(st->ins, LF_LOG_ERROR, "index: %s", err);
            return LF_ECONFIG;
        }
        st->index_has_date = strchr(cfg->index, '%') != NULL;
    }
    st->headers = calloc(cfg->headers.n ? cfg->headers.n : 1, sizeof(*st->headers));
    if (st->headers == NULL) {
        return LF_ENOMEM;
    }
    st->headers_constant = true;
    for (size_t i = 0; i < cfg->headers.n; i++) {
        struct http_header_tpl *h = &st->headers[i];
        h->name = cfg->headers.v[i].key;
        if (lf_template_compile(cfg->headers.v[i].value, &h->tpl, err, sizeof(err)) != LF_OK) {
            lf_out_log(st->ins, LF_LOG_ERROR, "headers.%s: %s", h->name, err);
            return LF_ECONFIG;
        }
        st->n_headers++;
        st->headers_constant = st->headers_constant && lf_template_is_constant(h->tpl);
    }
    return LF_OK;
}

void http_body_fini(struct http_state *st)
{
    lf_template_destroy(st->index);
    st->index = NULL;
    for (size_t i = 0; i < st->n_headers; i++) {
        lf_template_destroy(st->headers[i].tpl);
    }
    free(st->headers);
    st->headers = NULL;
    st->n_headers = 0;
}

void http_body_header_key(struct http_state *st, const struct lf_record *rec, struct http_buf *key)
{
    http_buf_reset(key);
    for (size_t i = 0; i < st->n_headers; i++) {
        size_t len = lf_template_render(st->headers[i].tpl, rec, st->scratch, sizeof(st->scratch));
        len = len < sizeof(st->scratch) ? len : sizeof(st->scratch) - 1;
        http_buf_append(key, st->scratch, len);
        http_buf_append(key, "\n", 1);
    }
}

/* Appends s as the inside of a JSON string (quotes, backslashes, controls escaped). */
static void append_json_chars(struct http_buf *b, const char *s, size_t n)
{
    size_t from = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20) {
            char esc[8];
            http_buf_append(b, s + from, i - from);
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            http_buf_append(b, esc, 6);
            from = i + 1;
        }
    }
    http_buf_append(b, s + from, n - from);
}

/* Renders the index of rec: {{field}} parts first, then the date parts of @timestamp. */
static size_t render_index(struct http_state *st, const struct lf_record *rec, char *out,
                           size_t cap)
{
    size_t len = lf_template_render(st->index, rec, st->scratch, sizeof(st->scratch));
    time_t secs;
    struct tm tm;

    if (!st->index_has_date) {
        len = len < cap ? len : cap - 1;
        memcpy(out, st->scratch, len);
        out[len] = '\0';
        return len;
    }
    secs = (time_t)(rec->timestamp_ms / 1000 - (rec->timestamp_ms % 1000 < 0));
    gmtime_r(&secs, &tm);
    /* The format is the operator's index option (rendered): strftime is its contract. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return strftime(out, cap, st->scratch, &tm); /* 0 when too long: an empty index */
#pragma GCC diagnostic pop
}

static void add_action(struct http_state *st, struct http_buf *b, const struct lf_record *rec)
{
    char index[HTTP_INDEX_MAX];
    size_t len = render_index(st, rec, index, sizeof(index));
    static const char index_op[] = "{\"index\":{\"_index\":\"";
    static const char create_op[] = "{\"create\":{\"_index\":\"";

    if (st->cfg->op_type == HTTP_OP_CREATE) {
        http_buf_append(b, create_op, sizeof(create_op) - 1);
    } else {
        http_buf_append(b, index_op, sizeof(index_op) - 1);
    }
    append_json_chars(b, index, len);
    http_buf_append(b, "\",\"_id\":\"", 9);
    http_buf_append(b, rec->id, strnlen(rec->id, sizeof(rec->id)));
    http_buf_append(b, "\"}}\n", 4);
}

void http_body_add(struct http_state *st, struct http_req *req, struct lf_record *rec)
{
    struct http_buf *b = &req->body;

    switch (st->cfg->format) {
    case HTTP_FMT_ELASTICSEARCH:
        add_action(st, b, rec);
        http_buf_append(b, rec->payload, rec->payload_len);
        http_buf_append(b, "\n", 1);
        break;
    case HTTP_FMT_JSON_ARRAY:
        http_buf_append(b, req->n == 0 ? "[" : ",", 1);
        http_buf_append(b, rec->payload, rec->payload_len);
        break;
    default:
        http_buf_append(b, rec->payload, rec->payload_len);
        http_buf_append(b, "\n", 1);
        break;
    }
    req->recs[req->n++] = rec;
}

static int gzip_body(struct http_state *st, struct http_req *req)
{
    z_stream zs;
    uLong bound;
    int zrc;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, (int)st->cfg->compression_level, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return LF_ENOMEM;
    }
    bound = deflateBound(&zs, (uLong)req->body.len) + 32;
    http_buf_reset(&req->gz);
    if (req->gz.cap < bound) {
        char *p = realloc(req->gz.p, bound);
        if (p == NULL) {
            deflateEnd(&zs);
            return LF_ENOMEM;
        }
        req->gz.p = p;
        req->gz.cap = bound;
    }
    zs.next_in = (Bytef *)req->body.p;
    zs.avail_in = (uInt)req->body.len;
    zs.next_out = (Bytef *)req->gz.p;
    zs.avail_out = (uInt)req->gz.cap;
    zrc = deflate(&zs, Z_FINISH);
    req->gz.len = zs.total_out;
    deflateEnd(&zs);
    return zrc == Z_STREAM_END ? LF_OK : LF_ENOMEM;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h, bool *oom)
{
    struct curl_slist *n = curl_slist_append(l, h);

    if (n == NULL) {
        *oom = true;
        return l;
    }
    return n;
}

/* The request's headers: content type, encoding, auth, no "Expect: 100-continue" (one
 * round trip less per request), then the configured ones rendered with the first record. */
static int build_headers(struct http_state *st, struct http_req *req)
{
    bool oom = false;
    struct curl_slist *l = NULL;

    l = add_header(l,
                   st->cfg->format == HTTP_FMT_JSON_ARRAY ? "Content-Type: application/json"
                                                          : "Content-Type: application/x-ndjson",
                   &oom);
    if (st->cfg->compression == HTTP_COMP_GZIP) {
        l = add_header(l, "Content-Encoding: gzip", &oom);
    }
    l = add_header(l, "Expect:", &oom);
    if (st->auth_header) {
        l = add_header(l, st->auth_header, &oom);
    }
    for (size_t i = 0; i < st->n_headers; i++) {
        char line[sizeof(st->scratch) + 128];
        char value[sizeof(st->scratch)];
        lf_template_render(st->headers[i].tpl, req->recs[0], value, sizeof(value));
        snprintf(line, sizeof(line), "%s: %s", st->headers[i].name, value);
        l = add_header(l, line, &oom);
    }
    curl_slist_free_all(req->slist);
    req->slist = l;
    return oom ? LF_ENOMEM : LF_OK;
}

int http_body_seal(struct http_state *st, struct http_req *req)
{
    int rc;

    if (st->cfg->format == HTTP_FMT_JSON_ARRAY) {
        http_buf_append(&req->body, "]", 1);
    }
    if (req->body.oom) {
        return LF_ENOMEM;
    }
    if (st->cfg->compression == HTTP_COMP_GZIP) {
        rc = gzip_body(st, req);
        if (rc != LF_OK) {
            return rc;
        }
    }
    return build_headers(st, req);
}
