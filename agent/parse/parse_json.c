/* parse_json.c - one JSON object per line: validated, well-known keys mapped to ECS,
 * the original object kept under "json". */
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

/* Index of the members of the object (and of nested objects, 3 levels): built once per
 * record so each key lookup is a short scan instead of a re-parse. */
struct jent {
    const char *k, *v;
    uint32_t kl, vl;
    int parent;
};

struct jidx {
    struct jent e[128];
    int n;
};

static void index_obj(struct jidx *x, const char *s, const char *end, int parent, int depth)
{
    s = lf_json_ws(s + 1, end); /* past '{' */
    while (s < end && *s == '"' && x->n < 128) {
        const char *k = s + 1;
        const char *ke = lf_json_skip_string(s, end);
        const char *val = lf_json_ws(lf_json_ws(ke, end) + 1, end);
        const char *ve = lf_json_skip(val, end, 0);
        int me = x->n++;
        x->e[me] = (struct jent){.k = k,
                                 .kl = (uint32_t)(ke - 1 - k),
                                 .v = val,
                                 .vl = (uint32_t)(ve - val),
                                 .parent = parent};
        if (*val == '{' && depth < 3) {
            index_obj(x, val, ve, me, depth + 1);
        }
        s = lf_json_ws(ve, end);
        if (s < end && *s == ',') {
            s = lf_json_ws(s + 1, end);
        } else {
            break;
        }
    }
}

/* Finds a dotted path ("request.method"); a flat key "log.level" matches as a whole. */
static bool find_in(const struct jidx *x, int parent, const char *path, size_t plen, const char **v,
                    size_t *vl)
{
    for (int i = 0; i < x->n; i++) {
        const struct jent *e = &x->e[i];
        if (e->parent != parent || e->kl > plen || memcmp(e->k, path, e->kl)) {
            continue;
        }
        if (e->kl == plen) {
            *v = e->v;
            *vl = e->vl;
            return true;
        }
        if (path[e->kl] == '.' && *e->v == '{' &&
            find_in(x, i, path + e->kl + 1, plen - e->kl - 1, v, vl)) {
            return true;
        }
    }
    return false;
}

static bool find_any(const struct jidx *x, const char *key, const char *const *defs, const char **v,
                     size_t *vl)
{
    if (key) {
        return find_in(x, -1, key, strlen(key), v, vl);
    }
    for (; *defs; defs++) {
        if (find_in(x, -1, *defs, strlen(*defs), v, vl)) {
            return true;
        }
    }
    return false;
}

static void put_utf8(char **o, uint32_t cp)
{
    char *q = *o;
    if (cp < 0x80) {
        *q++ = (char)cp;
    } else if (cp < 0x800) {
        *q++ = (char)(0xC0 | cp >> 6);
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *q++ = (char)(0xE0 | cp >> 12);
        *q++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *q++ = (char)(0xF0 | cp >> 18);
        *q++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *q++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    }
    *o = q;
}

static uint32_t hex4(const char *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Value as text: strings decoded into scratch, other values as their JSON text. */
static void text_of(struct lf_parser *p, const char *v, size_t vl, const char **s, size_t *n)
{
    if (vl < 2 || *v != '"') {
        *s = v;
        *n = vl;
        return;
    }
    const char *in = v + 1, *end = v + vl - 1;
    if (!memchr(in, '\\', (size_t)(end - in))) {
        *s = in;
        *n = (size_t)(end - in);
        return;
    }
    char *o = lf_scratch_alloc(p, vl);
    if (!o) {
        *s = in;
        *n = (size_t)(end - in);
        return;
    }
    char *start = o;
    while (in < end) {
        if (*in != '\\') {
            *o++ = *in++;
            continue;
        }
        in++;
        char c = *in++;
        switch (c) {
        case 'n':
            *o++ = '\n';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'u': {
            uint32_t cp = hex4(in);
            in += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - in >= 6 && in[0] == '\\' && in[1] == 'u') {
                uint32_t lo = hex4(in + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    in += 6;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            put_utf8(&o, cp);
            break;
        }
        default:
            *o++ = c;
            break;
        }
    }
    p->scratch.len -= vl - (size_t)(o - start);
    *s = start;
    *n = (size_t)(o - start);
}

static int pino_level(const char *s, size_t n)
{
    if (n != 2) {
        return 0;
    }
    switch (s[0]) {
    case '1':
        return 1;
    case '2':
        return 2;
    case '3':
        return 3;
    case '4':
        return 4;
    case '5':
        return 5;
    case '6':
        return 6;
    }
    return 0;
}

/* Duration value in duration_unit to nanoseconds. */
static bool dur_ns(const struct lf_parser *p, const char *s, size_t n, int64_t *ns)
{
    char buf[40];
    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *e;
    double v = strtod(buf, &e);
    if (*e || v < 0 || v > 1e15) {
        return false;
    }
    static const double mul[] = {1e6, 1e9, 1e3, 1};
    *ns = (int64_t)(v * mul[p->duration_unit] + 0.5);
    return true;
}

static const char *const K_MSG[] = {"message", "msg", "log", NULL};
static const char *const K_TS[] = {"@timestamp", "timestamp",  "time", "ts",
                                   "date",       "started_at", NULL};
static const char *const K_LEVEL[] = {"log.level", "level", "severity", "levelname", NULL};
static const char *const K_METHOD[] = {"method", "request.method", "req.method", "http.method",
                                       NULL};
static const char *const K_PATH[] = {"path",        "uri",     "url",          "request.uri",
                                     "request.url", "req.url", "request.path", NULL};
static const char *const K_STATUS[] = {"status",          "status_code",    "statusCode",
                                       "response.status", "res.statusCode", NULL};
static const char *const K_DUR[] = {
    "duration", "latency", "response_time", "responseTime", "latencies.request", "elapsed", NULL};
static const char *const K_REQB[] = {"request.body", "req.body", "request_body", NULL};
static const char *const K_RESPB[] = {"response.body", "res.body", "response_body", NULL};
static const char *const K_IP[] = {
    "client_ip",         "remote_addr", "request.remote_ip", "request.client_ip", "client.ip",
    "req.remoteAddress", NULL};
static const char *const K_UA[] = {"user_agent", "request.headers.user-agent",
                                   "request.headers.User-Agent", "req.headers.user-agent", NULL};
static const char *const K_STMT[] = {"statement", "query", "sql", "db.statement", NULL};

bool lf_parse_json(struct lf_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    const char *b = lf_json_ws(s, end);
    if (b >= end || *b != '{') {
        return false;
    }
    const char *e = lf_json_skip(b, end, 0);
    if (!e || lf_json_ws(e, end) != end) {
        return false;
    }
    const char *v, *t;
    size_t vl, tl;
    struct jidx x;
    x.n = 0;
    index_obj(&x, b, e, -1, 0);
    if (find_any(&x, p->k_msg, K_MSG, &v, &vl)) {
        text_of(p, v, vl, &p->msg, &p->msglen);
    }
    if (find_any(&x, p->k_ts, K_TS, &v, &vl)) {
        text_of(p, v, vl, &t, &tl);
        if (tl > 13 && *v != '"' && memchr(t, '.', tl) == t + 13) {
            /* float epoch in ms ("1490386367764.0") */
            p->ts_ms = strtoll(t, NULL, 10);
            p->ts_ok = true;
        } else {
            p->ts_ok = lf_parse_time(p, t, tl, &p->ts_ms);
        }
    }
    if (find_any(&x, p->k_level, K_LEVEL, &v, &vl)) {
        text_of(p, v, vl, &t, &tl);
        lf_put_level(p, *v == '"' ? lf_level_index(t, tl) : pino_level(t, tl), t, tl);
    }
    if (p->type == LF_TYPE_REQUEST) {
        if (find_any(&x, p->k_method, K_METHOD, &v, &vl) && *v == '"') {
            text_of(p, v, vl, &t, &tl);
            lf_f_str(p, "http.request.method", t, tl);
        }
        if (find_any(&x, p->k_path, K_PATH, &v, &vl) && *v == '"') {
            text_of(p, v, vl, &t, &tl);
            const char *q = memchr(t, '?', tl);
            lf_f_str(p, "url.original", t, tl);
            lf_f_str(p, "url.path", t, q ? (size_t)(q - t) : tl);
            if (q) {
                lf_f_str(p, "url.query", q + 1, tl - (size_t)(q - t) - 1);
            }
        }
        if (find_any(&x, p->k_status, K_STATUS, &v, &vl)) {
            text_of(p, v, vl, &t, &tl);
            char *xe;
            char buf[8] = {0};
            memcpy(buf, t, tl < 7 ? tl : 7);
            long st = strtol(buf, &xe, 10);
            if (xe != buf && !*xe && st >= 100 && st <= 999) {
                lf_f_int(p, "http.response.status_code", st);
            }
        }
        if (find_any(&x, p->k_dur, K_DUR, &v, &vl)) {
            text_of(p, v, vl, &t, &tl);
            int64_t ns;
            if (dur_ns(p, t, tl, &ns)) {
                p->dur_ns = ns;
            }
        }
        if (find_any(&x, NULL, K_IP, &v, &vl) && *v == '"') {
            text_of(p, v, vl, &t, &tl);
            lf_f_str(p, "client.ip", t, tl);
        }
        if (find_any(&x, NULL, K_UA, &v, &vl) && *v == '"') {
            text_of(p, v, vl, &t, &tl);
            lf_f_str(p, "user_agent.original", t, tl);
        }
        if (find_any(&x, p->k_reqbody, K_REQB, &v, &vl)) {
            text_of(p, v, vl, &t, &tl);
            lf_f_str(p, "http.request.body.content", t, tl > p->max_body ? p->max_body : tl);
        }
        if (find_any(&x, p->k_respbody, K_RESPB, &v, &vl)) {
            text_of(p, v, vl, &t, &tl);
            lf_f_str(p, "http.response.body.content", t, tl > p->max_body ? p->max_body : tl);
        }
    } else if (p->type == LF_TYPE_QUERY) {
        if (find_any(&x, p->k_stmt, K_STMT, &v, &vl) && *v == '"') {
            text_of(p, v, vl, &t, &tl);
            lf_query_fields(p, t, tl);
        }
        if (find_any(&x, p->k_dur, K_DUR, &v, &vl)) {
            text_of(p, v, vl, &t, &tl);
            int64_t ns;
            if (dur_ns(p, t, tl, &ns)) {
                p->dur_ns = ns;
            }
        }
    }
    lf_f_json(p, "json", b, (size_t)(e - b));
    return true;
}
