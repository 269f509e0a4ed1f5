/* http_bulk.c - turns a finished request into per-record acks.
 *
 * Request level: a connection error, timeout, 408, 429 or 5xx makes every record of the
 * request LF_RETRY; any other status outside 2xx makes them LF_REJECTED (except 413 for
 * a request of several records: retried, and later requests carry half as many).
 * An Elasticsearch/OpenSearch _bulk 2xx answer is
 * {"took":N,"errors":bool,"items":[{"index":{...,"status":S,"error":{...}}},
 * ...]} with one item per action, in request order. "errors":false means every item
 * succeeded. Otherwise each item is judged by its status: 2xx delivered (and 409 for
 * op_type create: the _id is already there, from an earlier attempt), 429 and 5xx
 * retriable, any other status permanent with the item's error object as the reason.
 * A small scanner, not a general JSON parser: it only skips values and reads the few
 * keys above. No allocation but the outcome array.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define HTTP_REASON_MAX   600
#define HTTP_LOG_EVERY_MS 1000 /* failures are logged at most once a second */

struct bulk_item {
    int status;
    const char *err; /* the "error" value, or NULL */
    size_t err_len;
};

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
    }
    return p;
}

/* p at the opening quote; returns just past the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* Skips one JSON value starting at p (after whitespace); returns its end, or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;

    p = skip_ws(p, end);
    if (p < end && *p != '{' && *p != '[' && *p != '"') {
        while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') {
            p++; /* a number, true, false or null */
        }
        return p;
    }
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            if (p == NULL || depth == 0) {
                return p;
            }
            continue;
        }
        if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
        p++;
    }
    return NULL;
}

typedef bool http_member_fn(void *arg, const char *key, size_t key_len, const char *val,
                            const char *val_end);

/* Calls fn for each member of the object at p. Returns the end of the object or NULL. */
static const char *each_member(const char *p, const char *end, http_member_fn *fn, void *arg)
{
    p = skip_ws(p, end);
    if (p >= end || *p != '{') {
        return NULL;
    }
    p = skip_ws(p + 1, end);
    while (p < end && *p == '"') {
        const char *k = p + 1, *ke = skip_string(p, end), *v, *ve;
        if (ke == NULL) {
            return NULL;
        }
        v = skip_ws(ke, end);
        if (v >= end || *v != ':') {
            return NULL;
        }
        v = skip_ws(v + 1, end);
        ve = skip_value(v, end);
        if (ve == NULL || !fn(arg, k, (size_t)(ke - 1 - k), v, ve)) {
            return NULL;
        }
        p = skip_ws(ve, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
        }
    }
    return p < end && *p == '}' ? p + 1 : NULL;
}

static bool key_is(const char *key, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(key, want, len) == 0;
}

struct top {
    int errors; /* -1 absent, 0 false, 1 true */
    const char *items, *items_end;
};

static bool top_member(void *arg, const char *key, size_t len, const char *v, const char *ve)
{
    struct top *t = arg;

    if (key_is(key, len, "errors")) {
        t->errors = (ve - v >= 4 && memcmp(v, "true", 4) == 0) ? 1 : 0;
    } else if (key_is(key, len, "items")) {
        t->items = v;
        t->items_end = ve;
    }
    return true;
}

static bool result_member(void *arg, const char *key, size_t len, const char *v, const char *ve)
{
    struct bulk_item *it = arg;

    if (key_is(key, len, "status")) {
        it->status = (int)strtol(v, NULL, 10);
    } else if (key_is(key, len, "error")) {
        it->err = v;
        it->err_len = (size_t)(ve - v);
    }
    return true;
}

/* An item is {"index"|"create"|...: {result}}: read the one result object. */
static bool item_member(void *arg, const char *key, size_t len, const char *v, const char *ve)
{
    (void)key;
    (void)len;
    return each_member(v, ve, result_member, arg) != NULL;
}

/* Fills items[0..n) from the items array; false if it does not hold exactly n items. */
static bool read_items(const char *p, const char *end, struct bulk_item *items, size_t n)
{
    size_t i = 0;

    p = skip_ws(p, end);
    if (p >= end || *p != '[') {
        return false;
    }
    p = skip_ws(p + 1, end);
    while (p < end && *p == '{') {
        if (i == n) {
            return false;
        }
        items[i].status = 0;
        items[i].err = NULL;
        p = each_member(p, end, item_member, &items[i]);
        if (p == NULL || items[i].status == 0) {
            return false;
        }
        i++;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
        }
    }
    return i == n && p < end && *p == ']';
}

static enum lf_outcome item_outcome(const struct http_state *st, int status)
{
    if (status >= 200 && status < 300) {
        return LF_DELIVERED;
    }
    if (status == 409 && st->cfg->op_type == HTTP_OP_CREATE) {
        return LF_DELIVERED; /* version conflict on create: the document is already there */
    }
    if (status == 429 || status >= 500) {
        return LF_RETRY;
    }
    return LF_REJECTED;
}

/* Acks records in order; runs of delivered ones go with one lf_out_ack_many(). */
static void ack_items(struct http_state *st, struct http_req *req, const struct bulk_item *items)
{
    size_t run = 0;
    char reason[HTTP_REASON_MAX];

    for (size_t i = 0; i <= req->n; i++) {
        enum lf_outcome o = i < req->n ? item_outcome(st, items[i].status) : LF_RETRY;
        if (o == LF_DELIVERED) {
            run++;
            continue;
        }
        lf_out_ack_many(st->ins, req->recs + i - run, run, LF_DELIVERED);
        st->delivered += run;
        run = 0;
        if (i == req->n) {
            break;
        }
        int elen = items[i].err ? (int)(items[i].err_len < 480 ? items[i].err_len : 480) : 0;
        snprintf(reason, sizeof(reason), "bulk item status %d: %.*s", items[i].status, elen,
                 items[i].err ? items[i].err : "");
        lf_out_ack(st->ins, req->recs[i], o, reason);
        *(o == LF_RETRY ? &st->retried : &st->rejected) += 1;
    }
}

static bool http_bulk_ack(struct http_state *st, struct http_req *req)
{
    const char *p = req->resp.p, *end = req->resp.p + req->resp.len;
    struct top t = {.errors = -1};
    struct bulk_item *items;
    bool ok;

    if (p == NULL || each_member(p, end, top_member, &t) == NULL || t.errors < 0) {
        return false;
    }
    if (t.errors == 0) {
        lf_out_ack_many(st->ins, req->recs, req->n, LF_DELIVERED);
        st->delivered += req->n;
        return true;
    }
    items = malloc(req->n * sizeof(*items));
    if (items == NULL || t.items == NULL) {
        free(items);
        return false;
    }
    ok = read_items(t.items, t.items_end, items, req->n);
    if (ok) {
        ack_items(st, req, items);
    }
    free(items);
    return ok;
}

static void set_ready(struct http_state *st, bool ready)
{
    if (st->ready != ready) {
        st->ready = ready;
        lf_out_set_ready(st->ins, ready);
    }
}

static void log_failure(struct http_state *st, enum lf_log_level lvl, size_t n, const char *reason)
{
    int64_t now = http_now_ms();

    if (lvl != LF_LOG_ERROR && now - st->last_err_log_ms < HTTP_LOG_EVERY_MS) {
        return;
    }
    st->last_err_log_ms = now;
    lf_out_log(st->ins, lvl, "request of %zu records failed: %s", n, reason);
}

/* "HTTP 503: <start of the body>", on one line. */
static void status_reason(const struct http_req *req, long status, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "HTTP %ld: ", status);
    size_t len = (size_t)n;

    for (size_t i = 0; i < req->resp.len && len + 1 < cap && i < 400; i++) {
        unsigned char c = (unsigned char)req->resp.p[i];
        buf[len++] = isprint(c) ? (char)c : ' ';
    }
    buf[len] = '\0';
}

static void ack_status(struct http_state *st, struct http_req *req, long status)
{
    char reason[HTTP_REASON_MAX];
    enum lf_outcome o = LF_REJECTED;

    status_reason(req, status, reason, sizeof(reason));
    if (status == 408 || status == 429 || status >= 500) {
        o = LF_RETRY;
    } else if (status == 413 && req->n > 1) {
        o = LF_RETRY;
        st->max_records = req->n / 2;
        lf_out_log(st->ins, LF_LOG_WARN,
                   "413 for %zu records: sending at most %zu per request from now on "
                   "(lower batch_max_bytes or raise the server's limit)",
                   req->n, st->max_records);
    }
    log_failure(st, o == LF_RETRY ? LF_LOG_WARN : LF_LOG_ERROR, req->n, reason);
    http_req_finish(st, req, o, reason);
}

void http_response_ack(struct http_state *st, struct http_req *req, CURLcode rc, long status)
{
    char reason[HTTP_REASON_MAX];

    if (rc != CURLE_OK) {
        bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
                   rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE;
        snprintf(reason, sizeof(reason), "%s: %s", curl_easy_strerror(rc), req->errbuf);
        set_ready(st, false);
        log_failure(st, tls ? LF_LOG_ERROR : LF_LOG_WARN, req->n, reason);
        http_req_finish(st, req, LF_RETRY, reason);
        return;
    }
    if (status < 200 || status >= 300) {
        set_ready(st, status < 500);
        ack_status(st, req, status);
        return;
    }
    set_ready(st, true);
    if (st->cfg->format != HTTP_FMT_ELASTICSEARCH) {
        http_req_finish(st, req, LF_DELIVERED, NULL);
    } else if (http_bulk_ack(st, req)) {
        http_req_release(st, req);
    } else {
        log_failure(st, LF_LOG_ERROR, req->n, "2xx without a readable _bulk answer");
        http_req_finish(st, req, LF_RETRY, "2xx without a readable _bulk answer");
    }
}
