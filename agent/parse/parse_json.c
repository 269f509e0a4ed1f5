/* parse_json.c - one JSON object per line: validated, well-known keys mapped to ECS,
 * the original object kept under "json". */
#include <stddef.h>
#include <stdint.h>
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

/* in just past "\u": decodes the code point (a surrogate pair as one, a lone surrogate
 * as U+FFFD) to UTF-8 at *o; returns the input after it. */
static const char *decode_u(const char *in, const char *end, char **o)
{
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
    put_utf8(o, cp);
    return in;
}

/* Decodes the (validated) string body in[0..end) into o; returns the end of the output. */
static char *decode_string(const char *in, const char *end, char *o)
{
    static const char simple[256] = {
        ['n'] = '\n', ['t'] = '\t', ['r'] = '\r', ['b'] = '\b', ['f'] = '\f'};
    while (in < end) {
        if (*in != '\\') {
            *o++ = *in++;
            continue;
        }
        char c = in[1];
        in += 2;
        if (c == 'u') {
            in = decode_u(in, end, &o);
        } else {
            *o++ = simple[(unsigned char)c] ? simple[(unsigned char)c] : c; /* \" \\ \/ */
        }
    }
    return o;
}

/* Value as text: strings decoded into scratch, other values as their JSON text. */
void lf_json_text(struct lf_parser *p, const char *v, size_t vl, const char **s, size_t *n)
{
    if (vl < 2 || *v != '"') {
        *s = v;
        *n = vl;
        return;
    }
    const char *in = v + 1, *end = v + vl - 1;
    char *o = memchr(in, '\\', (size_t)(end - in)) ? lf_scratch_alloc(p, vl) : NULL;
    if (!o) { /* nothing to decode, or (never expected) no room: the raw body */
        *s = in;
        *n = (size_t)(end - in);
        return;
    }
    char *o_end = decode_string(in, end, o);
    p->scratch.len -= vl - (size_t)(o_end - o);
    *s = o;
    *n = (size_t)(o_end - o);
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
    if (v * mul[p->duration_unit] >= 9.2e18) {
        return false; /* not representable in int64 nanoseconds */
    }
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

/* How a value found under one of a rule's keys becomes fields. */
enum jconv {
    JV_STRING,    /* a string value, as is */
    JV_URL,       /* a string value: url.original, url.path, url.query */
    JV_STATUS,    /* a number or string 100..999 */
    JV_DURATION,  /* event.duration, in the configured duration_unit */
    JV_BODY,      /* any value as text, cut at max_body_bytes */
    JV_STATEMENT, /* a string value: db.statement, db.fingerprint... */
};

/* A field of request and query records: the configured key (offset of the parser's
 * k_* member, or NO_CONF_KEY) or else the first of the usual keys that is present. */
struct jrule {
    size_t conf_key;
    const char *const *defaults;
    enum jconv conv;
    const char *ecs;
};
#define NO_CONF_KEY SIZE_MAX
#define PK(f)       offsetof(struct lf_parser, f)

static const struct jrule request_rules[] = {
    {PK(k_method), K_METHOD, JV_STRING, "http.request.method"},
    {PK(k_path), K_PATH, JV_URL, NULL},
    {PK(k_status), K_STATUS, JV_STATUS, NULL},
    {PK(k_dur), K_DUR, JV_DURATION, NULL},
    {NO_CONF_KEY, K_IP, JV_STRING, "client.ip"},
    {NO_CONF_KEY, K_UA, JV_STRING, "user_agent.original"},
    {PK(k_reqbody), K_REQB, JV_BODY, "http.request.body.content"},
    {PK(k_respbody), K_RESPB, JV_BODY, "http.response.body.content"},
};

static const struct jrule query_rules[] = {
    {PK(k_stmt), K_STMT, JV_STATEMENT, NULL},
    {PK(k_dur), K_DUR, JV_DURATION, NULL},
};

static const char *conf_key(const struct lf_parser *p, size_t off)
{
    return off == NO_CONF_KEY ? NULL : *(char *const *)(const void *)((const char *)p + off);
}

static void put_url(struct lf_parser *p, const char *t, size_t tl)
{
    const char *q = memchr(t, '?', tl);
    lf_f_str(p, "url.original", t, tl);
    lf_f_str(p, "url.path", t, q ? (size_t)(q - t) : tl);
    if (q) {
        lf_f_str(p, "url.query", q + 1, tl - (size_t)(q - t) - 1);
    }
}

static void put_status(struct lf_parser *p, const char *t, size_t tl)
{
    char *xe;
    char buf[8] = {0};
    memcpy(buf, t, tl < 7 ? tl : 7);
    long st = strtol(buf, &xe, 10);
    if (xe != buf && !*xe && st >= 100 && st <= 999) {
        lf_f_int(p, "http.response.status_code", st);
    }
}

/* Applies one rule to the value v[0..vl) (raw JSON text) found for it. */
static void put_rule(struct lf_parser *p, const struct jrule *r, const char *v, size_t vl)
{
    bool string_only = r->conv == JV_STRING || r->conv == JV_URL || r->conv == JV_STATEMENT;
    const char *t;
    size_t tl;
    int64_t ns;
    if (string_only && *v != '"') {
        return;
    }
    lf_json_text(p, v, vl, &t, &tl);
    switch (r->conv) {
    case JV_STRING:
        lf_f_str(p, r->ecs, t, tl);
        break;
    case JV_URL:
        put_url(p, t, tl);
        break;
    case JV_STATUS:
        put_status(p, t, tl);
        break;
    case JV_DURATION:
        if (dur_ns(p, t, tl, &ns)) {
            p->dur_ns = ns;
        }
        break;
    case JV_BODY:
        lf_f_str(p, r->ecs, t, tl > p->max_body ? p->max_body : tl);
        break;
    case JV_STATEMENT:
        lf_query_fields(p, t, tl);
        break;
    }
}

static void put_rules(struct lf_parser *p, const struct jidx *x, const struct jrule *rules,
                      size_t n)
{
    const char *v;
    size_t vl;
    for (size_t i = 0; i < n; i++) {
        if (find_any(x, conf_key(p, rules[i].conf_key), rules[i].defaults, &v, &vl)) {
            put_rule(p, &rules[i], v, vl);
        }
    }
}

static void put_timestamp(struct lf_parser *p, const char *v, size_t vl)
{
    const char *t;
    size_t tl;
    lf_json_text(p, v, vl, &t, &tl);
    if (tl > 13 && *v != '"' && memchr(t, '.', tl) == t + 13) {
        /* float epoch in ms ("1490386367764.0") */
        p->ts_ms = strtoll(t, NULL, 10);
        p->ts_ok = true;
    } else {
        p->ts_ok = lf_parse_time(p, t, tl, &p->ts_ms);
    }
}

/* message, @timestamp and log.level: the fields of every record type. */
static void put_common(struct lf_parser *p, const struct jidx *x)
{
    const char *v, *t;
    size_t vl, tl;
    if (find_any(x, p->k_msg, K_MSG, &v, &vl)) {
        lf_json_text(p, v, vl, &p->msg, &p->msglen);
    }
    if (find_any(x, p->k_ts, K_TS, &v, &vl)) {
        put_timestamp(p, v, vl);
    }
    if (find_any(x, p->k_level, K_LEVEL, &v, &vl)) {
        lf_json_text(p, v, vl, &t, &tl);
        lf_put_level(p, *v == '"' ? lf_level_index(t, tl) : pino_level(t, tl), t, tl);
    }
}

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
    struct jidx x;
    x.n = 0;
    index_obj(&x, b, e, -1, 0);
    put_common(p, &x);
    if (p->type == LF_TYPE_REQUEST) {
        put_rules(p, &x, request_rules, sizeof(request_rules) / sizeof(request_rules[0]));
    } else if (p->type == LF_TYPE_QUERY) {
        put_rules(p, &x, query_rules, sizeof(query_rules) / sizeof(query_rules[0]));
    }
    lf_f_json(p, "json", b, (size_t)(e - b));
    return true;
}
