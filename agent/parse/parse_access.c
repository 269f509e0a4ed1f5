/* parse_access.c - nginx log_format and Apache LogFormat, compiled into a list of
 * (variable, following literal) segments and matched left to right: each value runs up
 * to the next occurrence of its literal. No regex, no allocation per line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lf_vec.h"
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
static const char APACHE_VHOST_COMBINED[] =
    "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"";

/* nginx variables: name -> what the value is (and, for AV_OTHER, the output key).
 * Names not listed become http.request.header.*, http.response.header.* or nginx.*. */
static const struct nginx_var {
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
    {"http_x_forwarded_for", AV_XFF, "http.request.header.x_forwarded_for"},
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

/* Apache LogFormat directives %x whose meaning does not depend on an argument. %t without
 * an argument (the bracketed CLF time), %i and %o headers and unknown letters are handled
 * in apache_var. */
static const struct apache_directive {
    char letter;
    enum lf_avar var;
    const char *key;
} apache_directives[] = {
    {'h', AV_REMOTE_ADDR, NULL}, {'a', AV_REMOTE_ADDR, NULL}, {'l', AV_IGNORE, NULL},
    {'u', AV_REMOTE_USER, NULL}, {'t', AV_TIME_ISO, NULL},    {'r', AV_REQUEST, NULL},
    {'m', AV_METHOD, NULL},      {'U', AV_PATH, NULL},        {'q', AV_QUERY, NULL},
    {'H', AV_PROTOCOL, NULL},    {'s', AV_STATUS, NULL},      {'b', AV_BODY_BYTES, NULL},
    {'B', AV_BODY_BYTES, NULL},  {'O', AV_BYTES_SENT, NULL},  {'I', AV_REQ_LENGTH, NULL},
    {'D', AV_DURATION_US, NULL}, {'T', AV_DURATION_S, NULL},  {'v', AV_HOST, NULL},
    {'V', AV_HOST, NULL},        {'p', AV_OTHER, "url.port"}, {'P', AV_OTHER, "process.pid"},
};

/* %{arg}x directives whose argument selects the meaning; checked before the table above.
 * Header names compare without case, %{UNIT}T units with case (as before). */
static const struct apache_arg_directive {
    char letter;
    const char *arg;
    bool icase;
    enum lf_avar var;
    const char *key;
} apache_arg_directives[] = {
    {'i', "referer", true, AV_REFERER, NULL},
    {'i', "user-agent", true, AV_USER_AGENT, NULL},
    {'T', "ms", false, AV_OTHER, "apache.duration_ms"},
    {'T', "us", false, AV_DURATION_US, NULL},
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

/* A template being compiled. The literal after the last variable collects in `lit` and is
 * stored into the template when the next variable, or the end, comes. */
struct tmpl_build {
    struct lf_atmpl *t;
    size_t segcap; /* capacity of t->seg */
    struct lf_buf lit;
    const char *fmt; /* the format, for error columns */
    char *err;
    size_t errlen;
};

static void build_begin(struct tmpl_build *b, struct lf_atmpl *t, const char *fmt, char *err,
                        size_t errlen)
{
    memset(t, 0, sizeof(*t));
    *b = (struct tmpl_build){.t = t, .fmt = fmt, .err = err, .errlen = errlen};
    lf_buf_init(&b->lit, 0);
}

static size_t column(const struct tmpl_build *b, const char *at)
{
    return (size_t)(at - b->fmt) + 1;
}

static int add_lit(struct tmpl_build *b, const char *s, size_t n)
{
    return lf_buf_append(&b->lit, s, n);
}

/* True when a variable would directly follow the previous one (no literal to split on). */
static bool follows_var(const struct tmpl_build *b)
{
    return b->t->nseg && !b->lit.len;
}

/* Moves the collected literal to the prefix or to the last segment. */
static int store_lit(struct tmpl_build *b)
{
    struct lf_atmpl *t = b->t;
    size_t n;
    char *lit = lf_buf_take(&b->lit, &n);
    if (!lit) { /* nothing collected */
        lit = strdup("");
    }
    if (!lit) {
        return LF_ENOMEM;
    }
    if (t->nseg) {
        t->seg[t->nseg - 1].lit = lit;
        t->seg[t->nseg - 1].litlen = n;
    } else {
        t->prefix = lit;
        t->prefixlen = n;
    }
    return LF_OK;
}

/* Appends a segment for var; key (copied) is the output key of AV_OTHER and AV_XFF. */
static int add_var(struct tmpl_build *b, enum lf_avar var, const char *key)
{
    struct lf_atmpl *t = b->t;
    if (store_lit(b) != LF_OK || lf_vec_reserve(&t->seg, &b->segcap, t->nseg + 1) != LF_OK) {
        return LF_ENOMEM;
    }
    struct lf_aseg *g = &t->seg[t->nseg++];
    *g = (struct lf_aseg){.var = var, .key = key ? strdup(key) : NULL};
    return key && !g->key ? LF_ENOMEM : LF_OK;
}

/* Stores the last literal and marks quoted values: those the format puts '"' right
 * before and after. Frees the build state; returns rc or the first storage error. */
static int build_end(struct tmpl_build *b, int rc)
{
    struct lf_atmpl *t = b->t;
    if (rc == LF_OK) {
        rc = store_lit(b);
    }
    lf_buf_fini(&b->lit);
    for (size_t i = 0; rc == LF_OK && i < t->nseg; i++) {
        const char *prev = i ? t->seg[i - 1].lit : t->prefix;
        size_t pl = i ? t->seg[i - 1].litlen : t->prefixlen;
        t->seg[i].quoted =
            pl && prev && prev[pl - 1] == '"' && t->seg[i].litlen && t->seg[i].lit[0] == '"';
    }
    return rc;
}

/* The output key of an nginx variable no table row names (in buf). */
static const char *nginx_other_key(const char *name, size_t nl, char *buf, size_t cap)
{
    if (nl > 5 && !memcmp(name, "http_", 5)) {
        snprintf(buf, cap, "http.request.header.%.*s", (int)(nl - 5 > 90 ? 90 : nl - 5), name + 5);
    } else if (nl > 13 && !memcmp(name, "sent_http_", 10)) {
        snprintf(buf, cap, "http.response.header.%.*s", (int)(nl - 10), name + 10);
    } else {
        snprintf(buf, cap, "nginx.%.*s", (int)(nl > 100 ? 100 : nl), name);
    }
    return buf;
}

static int add_nginx_var(struct tmpl_build *b, const char *name, size_t nl)
{
    for (size_t i = 0; i < sizeof(nginx_vars) / sizeof(nginx_vars[0]); i++) {
        const struct nginx_var *v = &nginx_vars[i];
        if (strlen(v->name) == nl && !memcmp(v->name, name, nl)) {
            return add_var(b, v->var, v->key);
        }
    }
    char buf[160];
    return add_var(b, AV_OTHER, nginx_other_key(name, nl, buf, sizeof(buf)));
}

/* *sp at '$': compiles $name or ${name} and moves *sp past it. */
static int nginx_variable(struct tmpl_build *b, const char **sp)
{
    const char *col = *sp;
    const char *s = col + 1;
    bool brace = *s == '{';
    s += brace;
    const char *name = s;
    while (isalnum((unsigned char)*s) || *s == '_') {
        s++;
    }
    size_t nl = (size_t)(s - name);
    if (brace && *s++ != '}') {
        snprintf(b->err, b->errlen, "nginx format: unclosed ${ at column %zu", column(b, col));
        return LF_ECONFIG;
    }
    if (!nl) {
        snprintf(b->err, b->errlen, "nginx format: '$' without a variable name at column %zu",
                 column(b, col));
        return LF_ECONFIG;
    }
    if (follows_var(b)) {
        snprintf(b->err, b->errlen,
                 "nginx format: variables at column %zu follow each other without a "
                 "separator, cannot be split",
                 column(b, col));
        return LF_ECONFIG;
    }
    *sp = s;
    return add_nginx_var(b, name, nl);
}

static const char *nginx_preset(const char *fmt)
{
    if (!strcmp(fmt, "combined")) {
        return NGINX_COMBINED;
    }
    return !strcmp(fmt, "main") ? NGINX_MAIN : fmt;
}

int lf_atmpl_compile_nginx(struct lf_atmpl *t, const char *fmt, char *err, size_t errlen)
{
    struct tmpl_build b;
    fmt = nginx_preset(fmt);
    build_begin(&b, t, fmt, err, errlen);
    int rc = LF_OK;
    for (const char *s = fmt; *s && rc == LF_OK;) {
        if (*s == '$') {
            rc = nginx_variable(&b, &s);
            continue;
        }
        const char *e = strchr(s, '$');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        rc = add_lit(&b, s, n);
        s += n;
    }
    if (rc == LF_OK && !t->nseg) {
        snprintf(err, errlen, "nginx format: no variable in \"%s\"", fmt);
        rc = LF_ECONFIG;
    }
    return build_end(&b, rc);
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

/* One %[modifiers][{arg}]letter directive as written. */
struct apache_dir {
    char letter; /* '\0' when the format ends after the '%' */
    const char *arg;
    size_t al;
};

static bool arg_is(const struct apache_dir *d, const struct apache_arg_directive *a)
{
    size_t n = strlen(a->arg);
    return d->arg && d->letter == a->letter && d->al == n &&
           !(a->icase ? strncasecmp(d->arg, a->arg, n) : strncmp(d->arg, a->arg, n));
}

/* What directive d captures; the key of AV_OTHER is returned (in buf when built). */
static const char *apache_var(const struct apache_dir *d, enum lf_avar *var, char *buf, size_t cap)
{
    for (size_t i = 0; i < sizeof(apache_arg_directives) / sizeof(apache_arg_directives[0]); i++) {
        if (arg_is(d, &apache_arg_directives[i])) {
            *var = apache_arg_directives[i].var;
            return apache_arg_directives[i].key;
        }
    }
    for (size_t i = 0; i < sizeof(apache_directives) / sizeof(apache_directives[0]); i++) {
        if (apache_directives[i].letter == d->letter) {
            *var = apache_directives[i].var;
            return apache_directives[i].key;
        }
    }
    *var = AV_OTHER;
    const char *arg = d->arg ? d->arg : "";
    if (d->letter == 'i' || d->letter == 'o') {
        header_key(buf, cap, d->letter == 'i' ? "http.request.header." : "http.response.header.",
                   arg, d->al);
    } else if (d->arg) {
        char tmp[100];
        snprintf(tmp, sizeof(tmp), "%.*s_%c", (int)(d->al > 80 ? 80 : d->al), arg, d->letter);
        header_key(buf, cap, "apache.", tmp, strlen(tmp));
    } else {
        snprintf(buf, cap, "apache.%c", d->letter);
    }
    return buf;
}

/* Reads the directive at *sp (at '%') into d and moves *sp past it. */
static int read_directive(struct tmpl_build *b, const char **sp, struct apache_dir *d)
{
    const char *s = *sp + 1;
    while (*s == '<' || *s == '>' || *s == '!' || *s == ',' || isdigit((unsigned char)*s)) {
        s++;
    }
    *d = (struct apache_dir){0};
    if (*s == '{') {
        d->arg = ++s;
        s += strcspn(s, "}");
        if (!*s) {
            snprintf(b->err, b->errlen, "apache format: unclosed %%{ at column %zu",
                     column(b, *sp));
            return LF_ECONFIG;
        }
        d->al = (size_t)(s - d->arg);
        s++;
    }
    d->letter = *s;
    if (!d->letter) {
        snprintf(b->err, b->errlen, "apache format: '%%' at the end");
        return LF_ECONFIG;
    }
    *sp = s + 1;
    return LF_OK;
}

/* *sp at '%' (not "%%"): compiles one directive and moves *sp past it. */
static int apache_directive(struct tmpl_build *b, const char **sp)
{
    const char *col = *sp;
    struct apache_dir d;
    int rc = read_directive(b, sp, &d);
    if (rc != LF_OK) {
        return rc;
    }
    if (d.letter == 't' && !d.arg) { /* %t is "[10/Oct/2000:13:55:36 -0700]" */
        if (add_lit(b, "[", 1) != LF_OK || add_var(b, AV_TIME_LOCAL, NULL) != LF_OK) {
            return LF_ENOMEM;
        }
        return add_lit(b, "]", 1);
    }
    if (follows_var(b)) {
        snprintf(b->err, b->errlen,
                 "apache format: directives at column %zu follow each other without a "
                 "separator",
                 column(b, col));
        return LF_ECONFIG;
    }
    char buf[160];
    enum lf_avar var;
    const char *key = apache_var(&d, &var, buf, sizeof(buf));
    return add_var(b, var, key);
}

static const char *apache_preset(const char *fmt)
{
    if (!strcmp(fmt, "combined")) {
        return APACHE_COMBINED;
    }
    if (!strcmp(fmt, "common")) {
        return APACHE_COMMON;
    }
    return !strcmp(fmt, "vhost_combined") ? APACHE_VHOST_COMBINED : fmt;
}

int lf_atmpl_compile_apache(struct lf_atmpl *t, const char *fmt, char *err, size_t errlen)
{
    struct tmpl_build b;
    fmt = apache_preset(fmt);
    build_begin(&b, t, fmt, err, errlen);
    t->apache = true;
    int rc = LF_OK;
    for (const char *s = fmt; *s && rc == LF_OK;) {
        if (*s == '\\' && s[1]) { /* \" in a LogFormat written as a config string */
            rc = add_lit(&b, s + 1, 1);
            s += 2;
        } else if (*s != '%') {
            rc = add_lit(&b, s++, 1);
        } else if (s[1] == '%') {
            rc = add_lit(&b, "%", 1);
            s += 2;
        } else {
            rc = apache_directive(&b, &s);
        }
    }
    if (rc == LF_OK && !t->nseg) {
        snprintf(err, errlen, "apache format: no directive in \"%s\"", fmt);
        rc = LF_ECONFIG;
    }
    return build_end(&b, rc);
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

/* Digits that to_int reads without overflow (int64 holds any 18 digits). */
#define INT_DIGITS_MAX    18u
#define MICROS_DIGITS_MAX 15u /* microseconds whose nanoseconds fit in int64 */

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
    if (i != n || v > INT64_MAX / 1000000000 - 1) { /* not a number, or over int64 ns */
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

/* How a captured value becomes fields. */
enum aconv {
    CV_NONE,     /* ignored */
    CV_CLIENT,   /* client.ip / client.address, X-Forwarded-For lists */
    CV_STR,      /* the value as a string, unless "-" */
    CV_INT,      /* the value as an integer, when all digits */
    CV_CLF_TIME, /* @timestamp from "10/Oct/2000:13:55:36 -0700" */
    CV_TIME,     /* @timestamp from ISO-8601 or epoch seconds */
    CV_REQUEST,  /* "GET /path?query HTTP/1.1" */
    CV_URL,      /* url.path and url.query */
    CV_PROTOCOL, /* http.version or network.protocol.name */
    CV_SECONDS,  /* event.duration from seconds ("0.123") */
    CV_MICROS,   /* event.duration from microseconds */
    CV_BODY,     /* a string cut at max_body_bytes */
};

/* Per variable: the output key (NULL: the segment's own key), the conversion, and
 * whether the value may hold escapes (\xHH, \", \\) to decode first. */
static const struct avar_rule {
    const char *key;
    size_t kl;
    enum aconv conv;
    bool unescape;
} avar_rules[] = {
#define KEY(k) .key = (k), .kl = sizeof(k) - 1
    [AV_IGNORE] = {.conv = CV_NONE},
    [AV_REMOTE_ADDR] = {.conv = CV_CLIENT},
    [AV_REMOTE_USER] = {KEY("user.name"), .conv = CV_STR},
    [AV_TIME_LOCAL] = {.conv = CV_CLF_TIME},
    [AV_TIME_ISO] = {.conv = CV_TIME},
    [AV_MSEC] = {.conv = CV_TIME},
    [AV_REQUEST] = {.conv = CV_REQUEST, .unescape = true},
    [AV_METHOD] = {KEY("http.request.method"), .conv = CV_STR},
    [AV_URI] = {.conv = CV_URL, .unescape = true},
    [AV_PATH] = {KEY("url.path"), .conv = CV_STR, .unescape = true},
    [AV_QUERY] = {KEY("url.query"), .conv = CV_STR, .unescape = true},
    [AV_PROTOCOL] = {.conv = CV_PROTOCOL},
    [AV_STATUS] = {KEY("http.response.status_code"), .conv = CV_INT},
    [AV_BODY_BYTES] = {KEY("http.response.body.bytes"), .conv = CV_INT},
    [AV_BYTES_SENT] = {KEY("http.response.bytes"), .conv = CV_INT},
    [AV_REQ_LENGTH] = {KEY("http.request.bytes"), .conv = CV_INT},
    [AV_REQ_TIME_S] = {.conv = CV_SECONDS},
    [AV_DURATION_US] = {.conv = CV_MICROS},
    [AV_DURATION_S] = {.conv = CV_SECONDS},
    [AV_REFERER] = {KEY("http.request.referrer"), .conv = CV_STR, .unescape = true},
    [AV_USER_AGENT] = {KEY("user_agent.original"), .conv = CV_STR, .unescape = true},
    [AV_HOST] = {KEY("url.domain"), .conv = CV_STR},
    [AV_UPSTREAM_TIME] = {KEY("nginx.upstream_response_time"), .conv = CV_STR},
    [AV_UPSTREAM_ADDR] = {KEY("nginx.upstream_addr"), .conv = CV_STR},
    [AV_UPSTREAM_STATUS] = {KEY("nginx.upstream_status"), .conv = CV_STR},
    [AV_REQUEST_ID] = {KEY("http.request.id"), .conv = CV_STR},
    [AV_REQ_BODY] = {KEY("http.request.body.content"), .conv = CV_BODY, .unescape = true},
    [AV_RESP_BODY] = {KEY("http.response.body.content"), .conv = CV_BODY, .unescape = true},
    [AV_XFF] = {.conv = CV_STR, .unescape = true},
    [AV_OTHER] = {.conv = CV_STR, .unescape = true},
#undef KEY
};

/* nginx/Apache local time; the last value and its result are cached (the same second
 * repeats on busy servers). */
static void clf_time(struct lf_parser *p, const char *s, size_t n)
{
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
}

/* A field under the rule's key, or the segment's own key when the rule has none. */
static inline void put_field(struct lf_parser *p, const struct avar_rule *r,
                             const struct lf_aseg *g, enum lf_fkind kind, const char *s, size_t n,
                             int64_t i)
{
    if (r->key) {
        lf_f_add(p, r->key, r->kl, kind, s, n, i);
    } else {
        lf_f_add(p, g->key, strlen(g->key), kind, s, n, i);
    }
}

static void put_value(struct lf_parser *p, const struct lf_aseg *g, const char *s, size_t n)
{
    const struct avar_rule *r = &avar_rules[g->var];
    int64_t ns;
    if (r->unescape) {
        unescape(p, &s, &n);
    }
    switch (r->conv) {
    case CV_NONE:
        break;
    case CV_CLIENT:
        client_addr(p, s, n);
        break;
    case CV_STR:
        if (!dash(s, n)) {
            put_field(p, r, g, FK_STR, s, n, 0);
        }
        break;
    case CV_INT:
        if (all_digits(s, n) && n <= INT_DIGITS_MAX) { /* longer: refused by value_fits */
            put_field(p, r, g, FK_INT, NULL, 0, to_int(s, n));
        }
        break;
    case CV_CLF_TIME:
        clf_time(p, s, n);
        break;
    case CV_TIME:
        p->ts_ok = lf_parse_time(p, s, n, &p->ts_ms) || p->ts_ok;
        break;
    case CV_REQUEST:
        lf_split_request(p, s, n);
        break;
    case CV_URL:
        if (!dash(s, n)) {
            url_fields(p, s, n);
        }
        break;
    case CV_PROTOCOL:
        protocol(p, s, n);
        break;
    case CV_SECONDS:
        if (lf_sec_to_ns(s, n, &ns)) {
            p->dur_ns = ns;
        }
        break;
    case CV_MICROS:
        if (all_digits(s, n) && n <= MICROS_DIGITS_MAX) {
            p->dur_ns = to_int(s, n) * 1000;
        }
        break;
    case CV_BODY:
        if (!dash(s, n)) {
            put_field(p, r, g, FK_STR, s, n > p->max_body ? p->max_body : n, 0);
        }
        break;
    }
}

/* Values with a shape: a client address, a status, a byte count. When one does not fit,
 * the line is not in this format (random bytes, another program's log): it becomes a
 * parse_failure record with the raw line, not a request record of garbage fields. */
static bool value_fits(const struct lf_aseg *g, const char *s, size_t n)
{
    switch (g->var) {
    case AV_REMOTE_ADDR:
        for (size_t i = 0; i < n; i++) {
            if (!isalnum((unsigned char)s[i]) && !strchr(".:-_[]%, \"", s[i])) {
                return false; /* addresses (a quoted list behind proxies), a host, "-" */
            }
        }
        return n > 0;
    case AV_STATUS:
        return dash(s, n) || (n == 3 && all_digits(s, n) && s[0] >= '1' && s[0] <= '5');
    case AV_BODY_BYTES:
    case AV_BYTES_SENT:
    case AV_REQ_LENGTH:
        return dash(s, n) || (n > 0 && n <= INT_DIGITS_MAX && all_digits(s, n));
    default:
        return true;
    }
}

static bool is_time_var(enum lf_avar v)
{
    return v == AV_TIME_LOCAL || v == AV_TIME_ISO || v == AV_MSEC;
}

/* A line cut short is accepted with the fields it has only if they reach a time that
 * parses (when the format has one): three words of anything are not an access log line. */
static bool partial_ok(const struct lf_parser *p, size_t matched)
{
    for (size_t i = 0; i < p->at.nseg; i++) {
        if (is_time_var(p->at.seg[i].var)) {
            return matched >= 3 && i < matched && p->ts_ok;
        }
    }
    return matched >= 3;
}

/* One variable's value, or false when it does not fit (see value_fits). A time that does
 * not parse is kept as a record flagged timestamp_missing. */
static bool take_value(struct lf_parser *p, const struct lf_aseg *g, const char *v, size_t vl)
{
    if (!value_fits(g, v, vl)) {
        return false;
    }
    put_value(p, g, v, vl);
    return true;
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
                    return take_value(p, g, v, n - pos) && partial_ok(p, matched + 1);
                }
                return false;
            }
            vl = (size_t)(q - v);
            pos += vl + g->litlen;
        }
        if (!take_value(p, g, v, vl)) {
            return false;
        }
        matched++;
        if (pos >= n && i + 1 < t->nseg) {
            /* Line ended right after a literal: remaining fields absent. */
            return partial_ok(p, matched);
        }
    }
    return true; /* trailing text after the format (extra fields) is ignored */
}
