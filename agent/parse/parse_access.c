/* parse_access.c - nginx log_format and Apache LogFormat, compiled into a list of
 * (variable, following literal) segments and matched left to right: each value runs up
 * to the next occurrence of its literal. No regex, no allocation per line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

static const char NGINX_COMBINED[] = "$remote_addr - $remote_user [$time_local] \"$request\" "
                                     "$status $body_bytes_sent \"$http_referer\" "
                                     "\"$http_user_agent\"";
static const char NGINX_MAIN[] = "$remote_addr - $remote_user [$time_local] \"$request\" "
                                 "$status $body_bytes_sent \"$http_referer\" "
                                 "\"$http_user_agent\" \"$http_x_forwarded_for\"";
static const char APACHE_COMMON[] = "%h %l %u %t \"%r\" %>s %b";
static const char APACHE_COMBINED[] =
    "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"";

static const struct {
    const char *name;
    enum lf_avar var;
    const char *key;
} nginx_vars[] = {
    {"remote_addr", AV_REMOTE_ADDR, NULL},
    {"remote_user", AV_REMOTE_USER, NULL},
    {"time_local", AV_TIME_LOCAL, NULL},
    {"time_iso8601", AV_TIME_ISO, NULL},
    {"msec", AV_MSEC, NULL},
    {"request", AV_REQUEST, NULL},
    {"request_method", AV_METHOD, NULL},
    {"request_uri", AV_URI, NULL},
    {"uri", AV_PATH, NULL},
    {"document_uri", AV_PATH, NULL},
    {"args", AV_QUERY, NULL},
    {"query_string", AV_QUERY, NULL},
    {"server_protocol", AV_PROTOCOL, NULL},
    {"status", AV_STATUS, NULL},
    {"body_bytes_sent", AV_BODY_BYTES, NULL},
    {"bytes_sent", AV_BYTES_SENT, NULL},
    {"request_length", AV_REQ_LENGTH, NULL},
    {"request_time", AV_REQ_TIME_S, NULL},
    {"upstream_response_time", AV_UPSTREAM_TIME, NULL},
    {"upstream_addr", AV_UPSTREAM_ADDR, NULL},
    {"upstream_status", AV_UPSTREAM_STATUS, NULL},
    {"http_referer", AV_REFERER, NULL},
    {"http_user_agent", AV_USER_AGENT, NULL},
    {"http_x_forwarded_for", AV_XFF, NULL},
    {"host", AV_HOST, NULL},
    {"server_name", AV_HOST, NULL},
    {"request_id", AV_REQUEST_ID, NULL},
    {"request_body", AV_REQ_BODY, NULL},
    {"resp_body", AV_RESP_BODY, NULL},
    {"response_body", AV_RESP_BODY, NULL},
    {"scheme", AV_OTHER, "url.scheme"},
    {"remote_port", AV_OTHER, "client.port"},
    {"server_port", AV_OTHER, "url.port"},
    {"upstream_connect_time", AV_OTHER, "nginx.upstream_connect_time"},
};

void lf_atmpl_free(struct lf_atmpl *t)
{
    for (size_t i = 0; i < t->nseg; i++) {
        free(t->seg[i].lit);
        free(t->seg[i].key);
    }
    free(t->seg);
    free(t->prefix);
    memset(t, 0, sizeof(*t));
}

static int add_seg(struct lf_atmpl *t, enum lf_avar var, const char *key)
{
    struct lf_aseg *s = realloc(t->seg, (t->nseg + 1) * sizeof(*s));
    if (!s) {
        return LF_ENOMEM;
    }
    t->seg = s;
    s[t->nseg] = (struct lf_aseg){.var = var, .key = key ? strdup(key) : NULL};
    s[t->nseg].lit = strdup("");
    t->nseg++;
    return LF_OK;
}

/* Appends literal bytes after the last segment (or to the prefix). */
static int add_lit(struct lf_atmpl *t, const char *s, size_t n)
{
    char **dst = t->nseg ? &t->seg[t->nseg - 1].lit : &t->prefix;
    size_t *dl = t->nseg ? &t->seg[t->nseg - 1].litlen : &t->prefixlen;
    char *q = realloc(*dst, *dl + n + 1);
    if (!q) {
        return LF_ENOMEM;
    }
    memcpy(q + *dl, s, n);
    *dl += n;
    q[*dl] = '\0';
    *dst = q;
    return LF_OK;
}

static void finish_tmpl(struct lf_atmpl *t)
{
    /* A value is quoted when the format puts '"' right before and after it. */
    for (size_t i = 0; i < t->nseg; i++) {
        const char *prev = i ? t->seg[i - 1].lit : t->prefix;
        size_t pl = i ? t->seg[i - 1].litlen : t->prefixlen;
        t->seg[i].quoted =
            pl && prev && prev[pl - 1] == '"' && t->seg[i].litlen && t->seg[i].lit[0] == '"';
    }
}

int lf_atmpl_compile_nginx(struct lf_atmpl *t, const char *fmt, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->prefix = strdup("");
    if (!strcmp(fmt, "combined")) {
        fmt = NGINX_COMBINED;
    } else if (!strcmp(fmt, "main")) {
        fmt = NGINX_MAIN;
    }
    const char *s = fmt;
    while (*s) {
        if (*s != '$') {
            const char *e = strchr(s, '$');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            if (add_lit(t, s, n) != LF_OK) {
                return LF_ENOMEM;
            }
            s += n;
            continue;
        }
        const char *col = s;
        s++;
        bool brace = *s == '{';
        if (brace) {
            s++;
        }
        const char *name = s;
        while (isalnum((unsigned char)*s) || *s == '_') {
            s++;
        }
        size_t nl = (size_t)(s - name);
        if (brace) {
            if (*s != '}') {
                snprintf(err, errlen, "nginx format: unclosed ${ at column %zu",
                         (size_t)(col - fmt) + 1);
                return LF_ECONFIG;
            }
            s++;
        }
        if (!nl) {
            snprintf(err, errlen, "nginx format: '$' without a variable name at column %zu",
                     (size_t)(col - fmt) + 1);
            return LF_ECONFIG;
        }
        if (t->nseg && !t->seg[t->nseg - 1].litlen) {
            snprintf(err, errlen,
                     "nginx format: variables at column %zu follow each other without a "
                     "separator, cannot be split",
                     (size_t)(col - fmt) + 1);
            return LF_ECONFIG;
        }
        enum lf_avar var = AV_OTHER;
        const char *key = NULL;
        char buf[160];
        for (size_t i = 0; i < sizeof(nginx_vars) / sizeof(nginx_vars[0]); i++) {
            if (strlen(nginx_vars[i].name) == nl && !memcmp(nginx_vars[i].name, name, nl)) {
                var = nginx_vars[i].var;
                key = nginx_vars[i].key;
                break;
            }
        }
        if (var == AV_OTHER && !key) {
            if (nl > 5 && !memcmp(name, "http_", 5)) {
                snprintf(buf, sizeof(buf), "http.request.header.%.*s",
                         (int)(nl - 5 > 90 ? 90 : nl - 5), name + 5);
            } else if (nl > 13 && !memcmp(name, "sent_http_", 10)) {
                snprintf(buf, sizeof(buf), "http.response.header.%.*s", (int)(nl - 10), name + 10);
            } else {
                snprintf(buf, sizeof(buf), "nginx.%.*s", (int)(nl > 100 ? 100 : nl), name);
            }
            key = buf;
        }
        if (var == AV_XFF) {
            key = "http.request.header.x_forwarded_for";
        }
        if (add_seg(t, var, key) != LF_OK) {
            return LF_ENOMEM;
        }
    }
    if (!t->nseg) {
        snprintf(err, errlen, "nginx format: no variable in \"%s\"", fmt);
        return LF_ECONFIG;
    }
    finish_tmpl(t);
    return LF_OK;
}

static void header_key(char *buf, size_t cap, const char *prefix, const char *h, size_t n)
{
    size_t o = (size_t)snprintf(buf, cap, "%s", prefix);
    if (cap > LF_MAX_KEY) {
        cap = LF_MAX_KEY;
    }
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = (char)tolower((unsigned char)h[i]);
        buf[o++] = isalnum((unsigned char)c) ? c : '_'; /* keys are plain ASCII */
    }
    buf[o] = '\0';
}

int lf_atmpl_compile_apache(struct lf_atmpl *t, const char *fmt, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->prefix = strdup("");
    t->apache = true;
    if (!strcmp(fmt, "combined")) {
        fmt = APACHE_COMBINED;
    } else if (!strcmp(fmt, "common")) {
        fmt = APACHE_COMMON;
    } else if (!strcmp(fmt, "vhost_combined")) {
        fmt = "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"";
    }
    const char *s = fmt;
    while (*s) {
        if (*s == '\\' && s[1]) { /* \" in a LogFormat written as a config string */
            if (add_lit(t, s + 1, 1) != LF_OK) {
                return LF_ENOMEM;
            }
            s += 2;
            continue;
        }
        if (*s != '%') {
            if (add_lit(t, s, 1) != LF_OK) {
                return LF_ENOMEM;
            }
            s++;
            continue;
        }
        const char *col = s;
        s++;
        if (*s == '%') {
            add_lit(t, "%", 1);
            s++;
            continue;
        }
        while (*s == '<' || *s == '>' || *s == '!' || *s == ',' || isdigit((unsigned char)*s)) {
            s++;
        }
        const char *arg = NULL;
        size_t al = 0;
        if (*s == '{') {
            arg = ++s;
            while (*s && *s != '}') {
                s++;
            }
            if (!*s) {
                snprintf(err, errlen, "apache format: unclosed %%{ at column %zu",
                         (size_t)(col - fmt) + 1);
                return LF_ECONFIG;
            }
            al = (size_t)(s - arg);
            s++;
        }
        char d = *s++;
        char key[160];
        enum lf_avar var = AV_OTHER;
        const char *k = NULL;
        switch (d) {
        case 'h':
        case 'a':
            var = AV_REMOTE_ADDR;
            break;
        case 'l':
            var = AV_IGNORE;
            break;
        case 'u':
            var = AV_REMOTE_USER;
            break;
        case 't':
            if (arg) {
                var = AV_TIME_ISO;
            } else {
                add_lit(t, "[", 1);
                if (add_seg(t, AV_TIME_LOCAL, NULL) != LF_OK) {
                    return LF_ENOMEM;
                }
                add_lit(t, "]", 1);
                continue;
            }
            break;
        case 'r':
            var = AV_REQUEST;
            break;
        case 'm':
            var = AV_METHOD;
            break;
        case 'U':
            var = AV_PATH;
            break;
        case 'q':
            var = AV_QUERY;
            break;
        case 'H':
            var = AV_PROTOCOL;
            break;
        case 's':
            var = AV_STATUS;
            break;
        case 'b':
        case 'B':
            var = AV_BODY_BYTES;
            break;
        case 'O':
            var = AV_BYTES_SENT;
            break;
        case 'I':
            var = AV_REQ_LENGTH;
            break;
        case 'D':
            var = AV_DURATION_US;
            break;
        case 'T':
            var = (arg && !strncmp(arg, "ms", al) && al == 2)   ? AV_OTHER
                  : (arg && !strncmp(arg, "us", al) && al == 2) ? AV_DURATION_US
                                                                : AV_DURATION_S;
            k = var == AV_OTHER ? "apache.duration_ms" : NULL;
            break;
        case 'v':
        case 'V':
            var = AV_HOST;
            break;
        case 'p':
            k = "url.port";
            break;
        case 'P':
            k = "process.pid";
            break;
        case 'i':
            if (arg && al == 7 && !strncasecmp(arg, "referer", 7)) {
                var = AV_REFERER;
            } else if (arg && al == 10 && !strncasecmp(arg, "user-agent", 10)) {
                var = AV_USER_AGENT;
            } else {
                header_key(key, sizeof(key), "http.request.header.", arg ? arg : "", al);
                k = key;
            }
            break;
        case 'o':
            header_key(key, sizeof(key), "http.response.header.", arg ? arg : "", al);
            k = key;
            break;
        default:
            if (!d) {
                snprintf(err, errlen, "apache format: '%%' at the end");
                return LF_ECONFIG;
            }
            if (arg) {
                char tmp[100];
                snprintf(tmp, sizeof(tmp), "%.*s_%c", (int)(al > 80 ? 80 : al), arg, d);
                header_key(key, sizeof(key), "apache.", tmp, strlen(tmp));
            } else {
                snprintf(key, sizeof(key), "apache.%c", d);
            }
            k = key;
            break;
        }
        if (t->nseg && !t->seg[t->nseg - 1].litlen) {
            snprintf(err, errlen,
                     "apache format: directives at column %zu follow each other without a "
                     "separator",
                     (size_t)(col - fmt) + 1);
            return LF_ECONFIG;
        }
        if (add_seg(t, var, k) != LF_OK) {
            return LF_ENOMEM;
        }
    }
    if (!t->nseg) {
        snprintf(err, errlen, "apache format: no directive in \"%s\"", fmt);
        return LF_ECONFIG;
    }
    finish_tmpl(t);
    return LF_OK;
}

/* Finds lit in s[0..n); for quoted values a '"' preceded by a backslash does not count. */
static const char *find_lit(const char *s, size_t n, const char *lit, size_t ll, bool quoted)
{
    const char *end = s + n;
    const char *q = s;
    while ((size_t)(end - q) >= ll) {
        q = memchr(q, lit[0], (size_t)(end - q) - ll + 1);
        if (!q) {
            return NULL;
        }
        size_t k = 1;
        while (k < ll && q[k] == lit[k]) {
            k++;
        }
        if (k == ll) {
            if (!quoted || q == s || q[-1] != '\\') {
                return q;
            }
            /* count backslashes: an even run means the quote is not escaped */
            const char *b = q;
            while (b > s && b[-1] == '\\') {
                b--;
            }
            if (((q - b) & 1) == 0) {
                return q;
            }
        }
        q++;
    }
    return NULL;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes \xHH, \" and \\ into scratch when the value has a backslash. */
static void unescape(struct lf_parser *p, const char **s, size_t *n)
{
    if (!memchr(*s, '\\', *n)) {
        return;
    }
    char *o = lf_scratch_alloc(p, *n);
    if (!o) {
        return;
    }
    const char *in = *s;
    size_t j = 0;
    for (size_t i = 0; i < *n; i++) {
        if (in[i] == '\\' && i + 3 < *n + 0 && in[i + 1] == 'x' && hexv(in[i + 2]) >= 0 &&
            hexv(in[i + 3]) >= 0) {
            o[j++] = (char)(hexv(in[i + 2]) * 16 + hexv(in[i + 3]));
            i += 3;
        } else if (in[i] == '\\' && i + 1 < *n && (in[i + 1] == '"' || in[i + 1] == '\\')) {
            o[j++] = in[++i];
        } else {
            o[j++] = in[i];
        }
    }
    /* give back what decoding saved */
    p->scratch.len -= *n - j;
    *s = o;
    *n = j;
}

static bool all_digits(const char *s, size_t n)
{
    if (!n || n > 18) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

int64_t lf_atoi_n(const char *s, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n && i < 18 && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int64_t to_int(const char *s, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "0.123" seconds -> nanoseconds. */
bool lf_sec_to_ns(const char *s, size_t n, int64_t *ns)
{
    size_t i = 0;
    int64_t v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i < 10) {
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (!i) {
        return false;
    }
    int64_t f = 0;
    int k = 0;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (k < 9) {
                f = f * 10 + (s[i] - '0');
                k++;
            }
            i++;
        }
    }
    if (i != n) {
        return false;
    }
    while (k < 9) {
        f *= 10;
        k++;
    }
    *ns = v * 1000000000 + f;
    return true;
}

static bool is_ipv4(const char *s, size_t n)
{
    int parts = 0, digits = 0, v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (s[i] - '0');
            if (++digits > 3 || v > 255) {
                return false;
            }
        } else if (s[i] == '.' && digits) {
            parts++;
            digits = 0;
            v = 0;
        } else {
            return false;
        }
    }
    return parts == 3 && digits;
}

static bool is_ip(const char *s, size_t n)
{
    if (is_ipv4(s, n)) {
        return true;
    }
    if (n < 2 || n > 45 || !memchr(s, ':', n)) {
        return false;
    }
    char buf[46];
    unsigned char tmp[16];
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, tmp) == 1;
}

/* Loopback, RFC 1918, link-local, unique-local. */
static bool is_private(const char *s, size_t n)
{
    if (memchr(s, ':', n)) {
        return (n == 3 && !memcmp(s, "::1", 3)) || (n > 2 && ((s[0] | 0x20) == 'f') &&
                                                    ((s[1] | 0x20) == 'c' || (s[1] | 0x20) == 'd' ||
                                                     ((s[1] | 0x20) == 'e' && s[2] == '8')));
    }
    size_t dot = 0;
    while (dot < n && s[dot] != '.') {
        dot++;
    }
    int64_t a = lf_atoi_n(s, dot);
    size_t e2 = dot + 1;
    while (e2 < n && s[e2] != '.') {
        e2++;
    }
    int64_t b = dot < n ? lf_atoi_n(s + dot + 1, e2 - dot - 1) : 0;
    return a == 10 || a == 127 || (a == 192 && b == 168) || (a == 172 && b >= 16 && b <= 31) ||
           (a == 169 && b == 254);
}

static bool dash(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '-');
}

static void client_addr(struct lf_parser *p, const char *s, size_t n)
{
    if (dash(s, n)) {
        return;
    }
    if (is_ip(s, n)) {
        lf_f_str(p, "client.ip", s, n);
        return;
    }
    lf_f_str(p, "client.address", s, n);
    /* X-Forwarded-For style list "a, b, c": the client is the first public address,
     * or the first address when all are private (as Filebeat does). */
    const char *first = NULL;
    size_t firstl = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && (s[i] == ',' || s[i] == ' ' || s[i] == '"')) {
            i++;
        }
        size_t b = i;
        while (i < n && s[i] != ',' && s[i] != ' ' && s[i] != '"') {
            i++;
        }
        if (i > b && is_ip(s + b, i - b)) {
            if (!is_private(s + b, i - b)) {
                lf_f_str(p, "client.ip", s + b, i - b);
                return;
            }
            if (!first) {
                first = s + b;
                firstl = i - b;
            }
        }
    }
    if (first) {
        lf_f_str(p, "client.ip", first, firstl);
    }
}

static void url_fields(struct lf_parser *p, const char *u, size_t n)
{
    const char *q = memchr(u, '?', n);
    if (q) {
        lf_f_str(p, "url.path", u, (size_t)(q - u));
        lf_f_str(p, "url.query", q + 1, n - (size_t)(q - u) - 1);
    } else {
        lf_f_str(p, "url.path", u, n);
    }
}

static void protocol(struct lf_parser *p, const char *s, size_t n)
{
    if (n > 5 && !memcmp(s, "HTTP/", 5)) {
        lf_f_str(p, "http.version", s + 5, n - 5);
    } else if (!dash(s, n)) {
        lf_f_str(p, "network.protocol.name", s, n);
    }
}

void lf_split_request(struct lf_parser *p, const char *s, size_t n)
{
    if (dash(s, n)) {
        return;
    }
    const char *sp1 = memchr(s, ' ', n);
    if (!sp1) {
        return; /* garbage request line ("hello"): only in message */
    }
    lf_f_str(p, "http.request.method", s, (size_t)(sp1 - s));
    const char *u = sp1 + 1;
    size_t rest = n - (size_t)(u - s);
    const char *sp2 = rest > 5 ? u + rest - 1 : NULL;
    while (sp2 && sp2 > u && *sp2 != ' ') {
        sp2--;
    }
    if (sp2 && sp2 > u && (size_t)(u + rest - sp2) > 5 && !memcmp(sp2 + 1, "HTTP/", 5)) {
        url_fields(p, u, (size_t)(sp2 - u));
        protocol(p, sp2 + 1, (size_t)(u + rest - sp2 - 1));
    } else {
        url_fields(p, u, rest);
    }
}

static void body(struct lf_parser *p, const char *key, const char *s, size_t n)
{
    if (dash(s, n)) {
        return;
    }
    lf_f_str(p, key, s, n > p->max_body ? p->max_body : n);
}

static void put_value(struct lf_parser *p, const struct lf_aseg *g, const char *s, size_t n)
{
    int64_t ns;
    switch (g->var) {
    case AV_IGNORE:
        break;
    case AV_REMOTE_ADDR:
        client_addr(p, s, n);
        break;
    case AV_REMOTE_USER:
        if (!dash(s, n)) {
            lf_f_str(p, "user.name", s, n);
        }
        break;
    case AV_TIME_LOCAL:
        if (p->tcachelen == n && !memcmp(p->tcache, s, n)) {
            p->ts_ms = p->tcache_ms;
            p->ts_ok = true;
        } else if (lf_parse_clf_time(p, s, n, &p->ts_ms)) {
            p->ts_ok = true;
            if (n < sizeof(p->tcache)) {
                memcpy(p->tcache, s, n);
                p->tcachelen = n;
                p->tcache_ms = p->ts_ms;
            }
        }
        break;
    case AV_TIME_ISO:
    case AV_MSEC:
        p->ts_ok = lf_parse_time(p, s, n, &p->ts_ms) || p->ts_ok;
        break;
    case AV_REQUEST:
        unescape(p, &s, &n);
        lf_split_request(p, s, n);
        break;
    case AV_METHOD:
        if (!dash(s, n)) {
            lf_f_str(p, "http.request.method", s, n);
        }
        break;
    case AV_URI:
        unescape(p, &s, &n);
        if (!dash(s, n)) {
            url_fields(p, s, n);
        }
        break;
    case AV_PATH:
        unescape(p, &s, &n);
        if (!dash(s, n)) {
            lf_f_str(p, "url.path", s, n);
        }
        break;
    case AV_QUERY:
        unescape(p, &s, &n);
        if (!dash(s, n)) {
            lf_f_str(p, "url.query", s, n);
        }
        break;
    case AV_PROTOCOL:
        protocol(p, s, n);
        break;
    case AV_STATUS:
        if (all_digits(s, n)) {
            lf_f_int(p, "http.response.status_code", to_int(s, n));
        }
        break;
    case AV_BODY_BYTES:
        if (all_digits(s, n)) {
            lf_f_int(p, "http.response.body.bytes", to_int(s, n));
        }
        break;
    case AV_BYTES_SENT:
        if (all_digits(s, n)) {
            lf_f_int(p, "http.response.bytes", to_int(s, n));
        }
        break;
    case AV_REQ_LENGTH:
        if (all_digits(s, n)) {
            lf_f_int(p, "http.request.bytes", to_int(s, n));
        }
        break;
    case AV_REQ_TIME_S:
    case AV_DURATION_S:
        if (lf_sec_to_ns(s, n, &ns)) {
            p->dur_ns = ns;
        }
        break;
    case AV_DURATION_US:
        if (all_digits(s, n)) {
            p->dur_ns = to_int(s, n) * 1000;
        }
        break;
    case AV_REFERER:
        unescape(p, &s, &n);
        if (!dash(s, n)) {
            lf_f_str(p, "http.request.referrer", s, n);
        }
        break;
    case AV_USER_AGENT:
        unescape(p, &s, &n);
        if (!dash(s, n)) {
            lf_f_str(p, "user_agent.original", s, n);
        }
        break;
    case AV_HOST:
        if (!dash(s, n)) {
            lf_f_str(p, "url.domain", s, n);
        }
        break;
    case AV_UPSTREAM_TIME:
        if (!dash(s, n)) {
            lf_f_str(p, "nginx.upstream_response_time", s, n);
        }
        break;
    case AV_UPSTREAM_ADDR:
        if (!dash(s, n)) {
            lf_f_str(p, "nginx.upstream_addr", s, n);
        }
        break;
    case AV_UPSTREAM_STATUS:
        if (!dash(s, n)) {
            lf_f_str(p, "nginx.upstream_status", s, n);
        }
        break;
    case AV_REQUEST_ID:
        if (!dash(s, n)) {
            lf_f_str(p, "http.request.id", s, n);
        }
        break;
    case AV_REQ_BODY:
        unescape(p, &s, &n);
        body(p, "http.request.body.content", s, n);
        break;
    case AV_RESP_BODY:
        unescape(p, &s, &n);
        body(p, "http.response.body.content", s, n);
        break;
    case AV_XFF:
    case AV_OTHER:
        unescape(p, &s, &n);
        if (!dash(s, n)) {
            lf_f_str(p, g->key, s, n);
        }
        break;
    }
}

bool lf_parse_access(struct lf_parser *p, const char *s, size_t n)
{
    const struct lf_atmpl *t = &p->at;
    p->rtype = LF_TYPE_REQUEST;
    if (n < t->prefixlen || memcmp(s, t->prefix, t->prefixlen)) {
        return false;
    }
    size_t pos = t->prefixlen;
    size_t matched = 0;
    for (size_t i = 0; i < t->nseg; i++) {
        const struct lf_aseg *g = &t->seg[i];
        const char *v = s + pos;
        size_t vl;
        if (!g->litlen) {
            vl = n - pos; /* last variable: the rest of the line */
            pos = n;
        } else {
            const char *q = find_lit(v, n - pos, g->lit, g->litlen, g->quoted);
            if (!q) {
                /* A line that stops where the format has more trailing fields (common
                 * format lines in a combined log): accept what was matched. */
                bool tail = i + 1 < t->nseg || g->litlen > 1;
                if (!g->quoted && matched >= 3 && !memchr(v, ' ', n - pos) && tail) {
                    put_value(p, g, v, n - pos);
                    return true;
                }
                return false;
            }
            vl = (size_t)(q - v);
            pos += vl + g->litlen;
        }
        put_value(p, g, v, vl);
        matched++;
        if (pos >= n && i + 1 < t->nseg) {
            /* Line ended right after a literal: remaining fields absent. */
            return matched >= 3;
        }
    }
    return true; /* trailing text after the format (extra fields) is ignored */
}
