/* parse_regex.c - PCRE2-based parsers: regex (named groups), logback, log4j2, python,
 * level; pattern-string compilers for logback/log4j2 %patterns and python formats; and
 * the stack-trace splitter for error records. Only the first line of a record is
 * matched; the following lines are the stack trace or the rest of the message.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

#define TS_RX                                                                                \
    "(?:\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)?|" \
    "\\d\\d-\\w{3}-\\d{4} \\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?|"                                \
    "\\w{3} \\w{3} \\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)? "                                 \
    "\\d{4}|\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?)"

static const char *const RXS_LOGBACK[] = {
    /* Spring Boot 2.x/3.x default: date level pid --- [app] [thread] logger : msg */
    "^(?<timestamp>" TS_RX ")\\s+(?<level>[A-Z]+)\\s+(?<pid>\\d+)\\s+---\\s+"
    "(?:\\[(?<app>[^\\]]*)\\]\\s+)?\\[\\s*(?<thread>[^\\]]*)\\]\\s+(?:\\[[^\\]]*\\]\\s+)?"
    "(?<logger>\\S+)\\s*:\\s(?<message>.*)$",
    /* logback BasicConfigurator: %d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg */
    "^(?<timestamp>" TS_RX ")\\s+\\[(?<thread>[^\\]]*)\\]\\s+(?<level>[A-Z]+)\\s+"
    "(?<logger>\\S+)\\s+-\\s(?<message>.*)$",
    NULL};
static const char *const RXS_LOG4J2[] = {
    "^(?<timestamp>" TS_RX ")\\s+\\[(?<thread>[^\\]]*)\\]\\s+(?<level>[A-Z]+)\\s+"
    "(?<logger>\\S+)\\s+-\\s(?<message>.*)$",
    /* log4j 1.x style %d %-5p %c{1}:%L - %m */
    "^(?<timestamp>" TS_RX ")\\s+(?<level>[A-Z]+)\\s+(?<logger>[^\\s:]+)(?::\\d+)?\\s+-\\s"
    "(?<message>.*)$",
    /* Kafka-style [%d] %p %m (%c) */
    "^\\[(?<timestamp>" TS_RX ")\\]\\s+(?<level>[A-Z]+)\\s+(?<message>.*?)(?:\\s+\\((?<logger>"
    "[\\w.$]+)\\))?$",
    NULL};
static const char *const RXS_PYTHON[] = {
    "^(?<timestamp>" TS_RX ") - (?<logger>.*?) - (?<level>[A-Z]+) - (?<message>.*)$",
    "^(?<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?<logger>[^:]*):(?<message>.*)$",
    "^\\[?(?<timestamp>" TS_RX ")\\]?\\s+(?:-\\s+)?\\[?(?<level>DEBUG|INFO|WARNING|ERROR|"
    "CRITICAL)\\]?\\s+(?:-\\s+)?(?<message>.*)$",
    "^\\[(?<timestamp>" TS_RX ")\\]\\s*(?:\\[[^\\]]*\\]\\s*)*?\\[\\s*(?<level>DEBUG|INFO|WARNING|"
    "ERROR|CRITICAL)\\s*\\]\\s*(?<message>.*)$",
    NULL};
static const char *const RXS_LEVEL[] = {
    "^\\[?(?<timestamp>" TS_RX ")\\]?[\\s:|-]*\\[?(?<level>(?i:trace|debug|info|notice|warn|"
    "warning|error|err|severe|fatal|critical|crit|alert|emerg))\\]?[\\s:|-]*(?<message>.*)$",
    NULL};

void lf_rx_free(struct lf_rx *rx)
{
    if (rx->keys) {
        for (uint32_t i = 0; i <= rx->ngroups; i++) {
            free(rx->keys[i]);
        }
    }
    free(rx->keys);
    free(rx->role);
    pcre2_match_data_free(rx->md);
    pcre2_code_free(rx->code);
    memset(rx, 0, sizeof(*rx));
}

static int role_of(const char *name, const struct lf_kvlist *hints)
{
    static const struct {
        const char *n;
        int role;
    } roles[] = {{"timestamp", RX_TS},  {"time", RX_TS},       {"level", RX_LEVEL},
                 {"logger", RX_LOGGER}, {"thread", RX_THREAD}, {"pid", RX_PID},
                 {"message", RX_MSG},   {"msg", RX_MSG},       {"app", RX_APP}};
    if (name[0] == '_') {
        return RX_SKIP;
    }
    for (size_t i = 0; hints && i < hints->n; i++) {
        if (hints->v[i].key && hints->v[i].value && !strcmp(hints->v[i].key, name)) {
            const char *t = hints->v[i].value;
            return !strcmp(t, "int")     ? RX_INT
                   : !strcmp(t, "float") ? RX_FLOAT
                   : !strcmp(t, "bool")  ? RX_BOOL
                                         : RX_FIELD;
        }
    }
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (!strcmp(roles[i].n, name)) {
            return roles[i].role;
        }
    }
    return RX_FIELD;
}

int lf_rx_compile(struct lf_rx *rx, const char *pattern, const struct lf_kvlist *hints, char *err,
                  size_t errlen)
{
    int ec;
    PCRE2_SIZE eo;
    memset(rx, 0, sizeof(*rx));
    rx->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
    if (!rx->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "regex: %s at offset %zu", (char *)msg, (size_t)eo);
        return LF_ECONFIG;
    }
    pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    rx->md = pcre2_match_data_create_from_pattern(rx->code, NULL);
    pcre2_pattern_info(rx->code, PCRE2_INFO_CAPTURECOUNT, &rx->ngroups);
    rx->keys = calloc(rx->ngroups + 1, sizeof(*rx->keys));
    rx->role = calloc(rx->ngroups + 1, sizeof(*rx->role));
    if (!rx->md || !rx->keys || !rx->role) {
        return LF_ENOMEM;
    }
    for (uint32_t i = 0; i <= rx->ngroups; i++) {
        rx->role[i] = RX_SKIP;
    }
    uint32_t count, esize;
    PCRE2_SPTR table;
    pcre2_pattern_info(rx->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(rx->code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
    pcre2_pattern_info(rx->code, PCRE2_INFO_NAMETABLE, &table);
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = table + i * esize;
        uint32_t g = (uint32_t)(e[0] << 8 | e[1]);
        const char *name = (const char *)e + 2;
        /* PCRE2 names cannot hold dots: "http__request__method" -> "http.request.method" */
        char *key = malloc(strlen(name) + 1);
        if (!key) {
            return LF_ENOMEM;
        }
        size_t o = 0;
        for (const char *q = name; *q; q++) {
            if (q[0] == '_' && q[1] == '_' && q != name) {
                key[o++] = '.';
                q++;
            } else {
                key[o++] = *q;
            }
        }
        key[o] = '\0';
        rx->keys[g] = key;
        rx->role[g] = role_of(name, hints);
    }
    return LF_OK;
}

static int addstr(char **buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    char *q = realloc(*buf, *len + n + 1);
    if (!q) {
        return LF_ENOMEM;
    }
    memcpy(q + *len, s, n + 1);
    *len += n;
    *buf = q;
    return LF_OK;
}

static void add_lit_char(char **buf, size_t *len, char c, bool *last_space)
{
    char tmp[8];
    if (c == ' ') {
        if (!*last_space) {
            addstr(buf, len, " +");
        }
        *last_space = true;
        return;
    }
    *last_space = false;
    if (strchr("\\^$.|?*+()[]{}", c)) {
        tmp[0] = '\\';
        tmp[1] = c;
        tmp[2] = '\0';
    } else {
        tmp[0] = c;
        tmp[1] = '\0';
    }
    addstr(buf, len, tmp);
}

/* logback / log4j2 %pattern -> regex. */
static char *compile_java_pattern(const char *pat, char *err, size_t errlen)
{
    char *out = NULL;
    size_t len = 0;
    bool sp = false;
    addstr(&out, &len, "^");
    const char *s = pat;
    while (*s) {
        if (*s == '%' && s[1] == '%') {
            add_lit_char(&out, &len, '%', &sp);
            s += 2;
            continue;
        }
        if (*s == ')') { /* end of %clr( ... ) / %highlight( ... ) */
            s++;
            if (*s == '{') {
                while (*s && *s != '}') {
                    s++;
                }
                if (*s) {
                    s++;
                }
            }
            continue;
        }
        if (*s == '$' && s[1] == '{') { /* ${PID:- } style property */
            const char *e = strchr(s, '}');
            if (e && !strncmp(s + 2, "PID", 3)) {
                addstr(&out, &len, "(?<pid>\\d*)");
            } else {
                addstr(&out, &len, ".*?");
            }
            s = e ? e + 1 : s + strlen(s);
            sp = false;
            continue;
        }
        if (*s != '%') {
            add_lit_char(&out, &len, *s++, &sp);
            continue;
        }
        s++;
        while (*s == '-' || *s == '.' || isdigit((unsigned char)*s)) {
            s++;
        }
        const char *w = s;
        while (isalpha((unsigned char)*s)) {
            s++;
        }
        size_t wl = (size_t)(s - w);
        if (*s == '(') { /* %clr(...) / %highlight(...): keep the content */
            s++;
            continue;
        }
        if (*s == '{') {
            while (*s && *s != '}') {
                s++;
            }
            if (*s) {
                s++;
            }
        }
        const char *rx = NULL;
#define IS(x) (wl == strlen(x) && !strncmp(w, x, wl))
        if (IS("d") || IS("date")) {
            rx = "(?<timestamp>" TS_RX ")";
        } else if (IS("p") || IS("le") || IS("level")) {
            rx = "(?<level>[A-Za-z]+)";
        } else if (IS("t") || IS("thread")) {
            rx = " *(?<thread>.*?) *";
        } else if (IS("c") || IS("lo") || IS("logger") || IS("C") || IS("class")) {
            rx = "(?<logger>[^\\s:]+)";
        } else if (IS("m") || IS("msg") || IS("message")) {
            rx = "(?<message>.*)";
        } else if (IS("n") || IS("ex") || IS("exception") || IS("throwable") || IS("wEx") ||
                   IS("xEx") || IS("rEx") || IS("nopex")) {
            rx = "";
        } else if (IS("pid") || IS("processId")) {
            rx = "(?<pid>\\d+)";
        } else if (IS("L") || IS("line")) {
            rx = "\\d+";
        } else if (IS("M") || IS("method") || IS("F") || IS("file")) {
            rx = "\\S+";
        } else if (IS("X") || IS("mdc") || IS("marker") || IS("contextName") || IS("cn") ||
                   IS("clr") || IS("highlight") || IS("style")) {
            rx = ".*?";
        } else {
            snprintf(err, errlen, "pattern: unknown conversion %%%.*s", (int)wl, w);
            free(out);
            return NULL;
        }
#undef IS
        addstr(&out, &len, rx);
        sp = false;
    }
    addstr(&out, &len, "$");
    return out;
}

/* python logging format "%(asctime)s - %(name)s - %(levelname)s - %(message)s" -> regex */
static char *compile_python_format(const char *fmt, char *err, size_t errlen)
{
    char *out = NULL;
    size_t len = 0;
    bool sp = false;
    addstr(&out, &len, "^");
    const char *s = fmt;
    while (*s) {
        if (s[0] != '%' || s[1] != '(') {
            add_lit_char(&out, &len, *s++, &sp);
            continue;
        }
        const char *n = s + 2;
        const char *e = strchr(n, ')');
        if (!e) {
            snprintf(err, errlen, "python format: unclosed %%(");
            free(out);
            return NULL;
        }
        size_t nl = (size_t)(e - n);
        s = e + 1;
        while (*s == '-' || *s == '.' || isdigit((unsigned char)*s)) {
            s++;
        }
        if (*s) {
            s++; /* conversion letter s/d/f */
        }
#define IS(x) (nl == strlen(x) && !strncmp(n, x, nl))
        const char *rx;
        if (IS("asctime")) {
            rx = "(?<timestamp>" TS_RX ")";
        } else if (IS("levelname")) {
            rx = "(?<level>[A-Z]+) *";
        } else if (IS("name")) {
            rx = "(?<logger>\\S*?) *";
        } else if (IS("message")) {
            rx = "(?<message>.*)";
        } else if (IS("process")) {
            rx = " *(?<pid>\\d+) *";
        } else if (IS("threadName")) {
            rx = " *(?<thread>.*?) *";
        } else {
            rx = ".*?";
        }
#undef IS
        addstr(&out, &len, rx);
        sp = false;
    }
    addstr(&out, &len, "$");
    return out;
}

static int add_rx(struct lf_parser *p, const char *pattern, const struct lf_kvlist *hints,
                  char *err, size_t errlen)
{
    if (p->nrx >= sizeof(p->rx) / sizeof(p->rx[0])) {
        return LF_OK;
    }
    int rc = lf_rx_compile(&p->rx[p->nrx], pattern, hints, err, errlen);
    p->nrx++;
    return rc;
}

static int add_list(struct lf_parser *p, const char *const *list, char *err, size_t errlen)
{
    for (; *list; list++) {
        int rc = add_rx(p, *list, NULL, err, errlen);
        if (rc != LF_OK) {
            return rc;
        }
    }
    return LF_OK;
}

int lf_rx_setup(struct lf_parser *p, const struct lf_parser_conf *pc, char *err, size_t errlen)
{
    char *rx = NULL;
    int rc;
    switch (p->kind) {
    case PT_REGEX:
        return add_rx(p, pc->format, &pc->types, err, errlen);
    case PT_LOGBACK:
    case PT_LOG4J2:
        if (pc->format) {
            if (!(rx = compile_java_pattern(pc->format, err, errlen))) {
                return LF_ECONFIG;
            }
            rc = add_rx(p, rx, NULL, err, errlen);
            free(rx);
            return rc;
        }
        return add_list(p, p->kind == PT_LOGBACK ? RXS_LOGBACK : RXS_LOG4J2, err, errlen);
    case PT_PYTHON:
        if (pc->format) {
            if (!(rx = compile_python_format(pc->format, err, errlen))) {
                return LF_ECONFIG;
            }
            rc = add_rx(p, rx, NULL, err, errlen);
            free(rx);
            return rc;
        }
        return add_list(p, RXS_PYTHON, err, errlen);
    default:
        return add_list(p, RXS_LEVEL, err, errlen);
    }
}

static bool is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* "java.lang.IllegalStateException: msg" / "Caused by: x.Y" -> type and message. */
static bool exception_line(const char *s, size_t n, const char **t, size_t *tl, const char **m,
                           size_t *ml)
{
    size_t i = 0, dots = 0;
    while (i < n && (is_ident(s[i]) || s[i] == '.')) {
        dots += s[i] == '.';
        i++;
    }
    if (!i || !dots || !isalpha((unsigned char)s[0])) {
        return false;
    }
    if (i < n && !(s[i] == ':' || s[i] == ' ')) {
        return false;
    }
    *t = s;
    *tl = i;
    if (i + 1 < n && s[i] == ':') {
        *m = s + i + 1 + (s[i + 1] == ' ');
        *ml = n - (size_t)(*m - s);
    } else {
        *m = s + i;
        *ml = 0;
    }
    return true;
}

void lf_error_details(struct lf_parser *p, const char *rest, size_t n)
{
    const char *end = rest + n;
    const char *tb = memmem(rest, n, "Traceback (most recent call last):", 34);
    const char *t = NULL, *m = NULL;
    size_t tl = 0, ml = 0;
    if (tb) {
        /* Python: the exception is the last non-indented "Type: message" line. */
        for (const char *l = tb; l < end;) {
            const char *e = memchr(l, '\n', (size_t)(end - l));
            size_t ll = e ? (size_t)(e - l) : (size_t)(end - l);
            if (ll && ll < n && !isspace((unsigned char)*l) && strncmp(l, "Traceback", 9) &&
                strncmp(l, "During handling", 15) && strncmp(l, "The above", 9)) {
                size_t i = 0;
                while (i < ll && (is_ident(l[i]) || l[i] == '.')) {
                    i++;
                }
                if (i && (i == ll || l[i] == ':')) {
                    t = l, tl = i;
                    m = i < ll ? l + i + 1 + (i + 1 < ll && l[i + 1] == ' ') : l + i;
                    ml = (size_t)(l + ll - m);
                }
            }
            l = e ? e + 1 : end;
        }
    } else {
        /* Java: the first exception line followed by an "at " frame, possibly after
         * more lines of the exception message (messages can span lines). */
        for (const char *l = rest; l < end && !t;) {
            const char *e = memchr(l, '\n', (size_t)(end - l));
            size_t ll = e ? (size_t)(e - l) : (size_t)(end - l);
            const char *next = e ? e + 1 : end;
            if (ll && l[ll - 1] == '\r') {
                ll--;
            }
            const char *lt = l; /* Tomcat JULI indents the exception line by a space */
            while (lt < l + ll && (*lt == ' ' || *lt == '\t')) {
                lt++;
            }
            if (ll > 1 && exception_line(lt, ll - (size_t)(lt - l), &t, &tl, &m, &ml)) {
                /* look for the first frame within the next lines */
                const char *msg_end = m + ml;
                const char *q = next;
                bool frame = false;
                for (int k = 0; k < 50 && q < end; k++) {
                    const char *qe = memchr(q, '\n', (size_t)(end - q));
                    const char *w = q;
                    while (w < end && (*w == ' ' || *w == '\t')) {
                        w++;
                    }
                    if (end - w > 3 && !memcmp(w, "at ", 3) && w > q) {
                        frame = true;
                        break;
                    }
                    if (!qe) {
                        break;
                    }
                    msg_end = qe; /* the message continues on this line */
                    q = qe + 1;
                }
                if (frame) {
                    while (msg_end > m &&
                           (msg_end[-1] == '\n' || msg_end[-1] == '\r' || msg_end[-1] == ' ')) {
                        msg_end--;
                    }
                    ml = msg_end > m ? (size_t)(msg_end - m) : 0;
                } else {
                    t = NULL;
                }
            }
            l = next;
        }
    }
    if (t) {
        lf_f_str(p, "error.type", t, tl);
        lf_f_str(p, "error.message", m, ml);
        lf_f_str(p, "error.stack_trace", rest, n);
    }
}

/* HH:mm:ss.SSS without a date: the date of the read time in the configured zone. */
static bool time_only(struct lf_parser *p, const char *s, size_t n)
{
    if (n < 8 || s[2] != ':' || s[5] != ':') {
        return false;
    }
    int64_t local_now = p->read_ms + (int64_t)p->tz_min * 60000;
    int64_t day = local_now >= 0 ? local_now / 86400000 : 0;
    int64_t tod = ((s[0] - '0') * 10 + (s[1] - '0')) * 3600000 +
                  ((s[3] - '0') * 10 + (s[4] - '0')) * 60000 +
                  ((s[6] - '0') * 10 + (s[7] - '0')) * 1000;
    if (n >= 12 && (s[8] == '.' || s[8] == ',')) {
        tod += (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    }
    p->ts_ms = lf_local_to_utc(p, day * 86400000 + tod);
    return true;
}

bool lf_parse_rx(struct lf_parser *p, const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    size_t first = nl ? (size_t)(nl - s) : n;
    if (first && s[first - 1] == '\r') {
        first--;
    }
    struct lf_rx *rx = NULL;
    for (size_t i = 0; i < p->nrx; i++) {
        if (pcre2_match(p->rx[i].code, (PCRE2_SPTR)s, first, 0, 0, p->rx[i].md, NULL) >= 0) {
            rx = &p->rx[i];
            break;
        }
    }
    if (!rx) {
        return false;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rx->md);
    const char *msg = NULL;
    for (uint32_t g = 1; g <= rx->ngroups; g++) {
        if (ov[2 * g] == PCRE2_UNSET || rx->role[g] == RX_SKIP) {
            continue;
        }
        const char *v = s + ov[2 * g];
        size_t vl = ov[2 * g + 1] - ov[2 * g];
        while (vl && v[vl - 1] == ' ') {
            vl--;
        }
        while (vl && *v == ' ') {
            v++, vl--;
        }
        char *e;
        char buf[40];
        switch (rx->role[g]) {
        case RX_TS:
            p->ts_ok = lf_parse_time(p, v, vl, &p->ts_ms) || time_only(p, v, vl);
            break;
        case RX_LEVEL:
            lf_put_level(p, lf_level_index(v, vl), v, vl);
            break;
        case RX_LOGGER:
            lf_f_str(p, "log.logger", v, vl);
            break;
        case RX_THREAD:
            lf_f_str(p, "process.thread.name", v, vl);
            break;
        case RX_APP:
            if (vl) {
                lf_f_str(p, "service.name", v, vl);
            }
            break;
        case RX_PID:
        case RX_INT:
        case RX_FLOAT:
            if (vl && vl < sizeof(buf)) {
                memcpy(buf, v, vl);
                buf[vl] = '\0';
                if (rx->role[g] == RX_FLOAT) {
                    double d = strtod(buf, &e);
                    (void)d;
                    bool okf = !*e && lf_json_skip(buf, buf + vl, 0) == buf + vl;
                    if (okf) {
                        lf_f_num(p, rx->keys[g], v, vl);
                        break;
                    }
                } else {
                    long long iv = strtoll(buf, &e, 10);
                    if (!*e) {
                        lf_f_int(p, rx->role[g] == RX_PID ? "process.pid" : rx->keys[g], iv);
                        break;
                    }
                }
            }
            if (rx->role[g] != RX_PID) {
                lf_f_str(p, rx->keys[g], v, vl);
            }
            break;
        case RX_BOOL:
            if ((vl == 4 && !strncasecmp(v, "true", 4)) ||
                (vl == 5 && !strncasecmp(v, "false", 5))) {
                lf_f_json(p, rx->keys[g], (v[0] | 0x20) == 't' ? "true" : "false",
                          (v[0] | 0x20) == 't' ? 4 : 5);
            } else {
                lf_f_str(p, rx->keys[g], v, vl);
            }
            break;
        case RX_MSG:
            msg = v;
            p->msg = v;
            p->msglen = vl;
            break;
        default:
            lf_f_str(p, rx->keys[g], v, vl);
            break;
        }
    }
    if (p->kind != PT_REGEX || p->type == LF_TYPE_ERROR) {
        p->rtype = p->type;
        if (nl) {
            const char *rest = nl + 1;
            size_t rl = n - (size_t)(rest - s);
            size_t before = p->nf;
            lf_error_details(p, rest, rl);
            if (p->nf == before && msg) {
                p->msglen = n - (size_t)(msg - s); /* multi-line message, no trace */
            }
        } else if (msg) {
            lf_error_details(p, msg, p->msglen); /* "... error: Traceback ..." on one line */
        }
    }
    return true;
}
