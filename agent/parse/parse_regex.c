/* parse_regex.c - PCRE2-based parsers: regex (named groups), logback, log4j2, python,
 * level. Only the first line of a record is matched; the following lines are the stack
 * trace (parse_error.c finds the exception) or the rest of the message. The patterns
 * built from `format:` strings come from parse_rxsrc.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

static const char *const RXS_LOGBACK[] = {
    /* Spring Boot 2.x/3.x default: date level pid --- [app] [thread] logger : msg */
    "^(?<timestamp>" LF_TS_RX ")\\s+(?<level>[A-Z]+)\\s+(?<pid>\\d+)\\s+---\\s+"
    "(?:\\[(?<app>[^\\]]*)\\]\\s+)?\\[\\s*(?<thread>[^\\]]*)\\]\\s+(?:\\[[^\\]]*\\]\\s+)?"
    "(?<logger>\\S+)\\s*:\\s(?<message>.*)$",
    /* logback BasicConfigurator: %d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg */
    "^(?<timestamp>" LF_TS_RX ")\\s+\\[(?<thread>[^\\]]*)\\]\\s+(?<level>[A-Z]+)\\s+"
    "(?<logger>\\S+)\\s+-\\s(?<message>.*)$",
    NULL};
static const char *const RXS_LOG4J2[] = {
    "^(?<timestamp>" LF_TS_RX ")\\s+\\[(?<thread>[^\\]]*)\\]\\s+(?<level>[A-Z]+)\\s+"
    "(?<logger>\\S+)\\s+-\\s(?<message>.*)$",
    /* log4j 1.x style %d %-5p %c{1}:%L - %m */
    "^(?<timestamp>" LF_TS_RX ")\\s+(?<level>[A-Z]+)\\s+(?<logger>[^\\s:]+)(?::\\d+)?\\s+-\\s"
    "(?<message>.*)$",
    /* Kafka-style [%d] %p %m (%c) */
    "^\\[(?<timestamp>" LF_TS_RX ")\\]\\s+(?<level>[A-Z]+)\\s+(?<message>.*?)(?:\\s+\\((?<logger>"
    "[\\w.$]+)\\))?$",
    NULL};
/* A Python logger name where it cannot be told from a word of the message by its place:
 * dotted ("django.request"), root or __main__. */
#define RX_PY_LOGGER "(?:[A-Za-z_]\\w*\\.)+[A-Za-z_]\\w*|root|__main__"
static const char *const RXS_PYTHON[] = {
    "^(?<timestamp>" LF_TS_RX ") - (?<logger>.*?) - (?<level>[A-Z]+) - (?<message>.*)$",
    "^(?<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?<logger>[^:]*):(?<message>.*)$",
    /* Flask: [%(asctime)s] %(levelname)s in %(module)s: %(message)s */
    "^\\[(?<timestamp>" LF_TS_RX ")\\] (?<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) in "
    "(?<logger>[\\w.]+): (?<message>.*)$",
    /* %(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s and bracket/dash
     * variants: a logger named after the level (dotted, root or __main__) */
    "^\\[?(?<timestamp>" LF_TS_RX ")\\]?\\s+(?:\\[\\d+\\]\\s+)?(?:-\\s+)?\\[?(?<level>DEBUG|"
    "INFO|WARNING|ERROR|CRITICAL)\\]?\\s+(?:-\\s+)?(?<logger>" RX_PY_LOGGER
    ")(?::|\\s+-)\\s(?<message>.*)$",
    /* %(asctime)s %(name)s %(levelname)s %(message)s: the logger before the level */
    "^\\[?(?<timestamp>" LF_TS_RX ")\\]?\\s+\\[?(?<logger>" RX_PY_LOGGER
    ")\\]?\\s+\\[?(?<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\]?:?\\s+(?:-\\s+)?(?<message>.*)$",
    "^\\[?(?<timestamp>" LF_TS_RX ")\\]?\\s+(?:-\\s+)?\\[?(?<level>DEBUG|INFO|WARNING|ERROR|"
    "CRITICAL)\\]?\\s+(?:-\\s+)?(?<message>.*)$",
    "^\\[(?<timestamp>" LF_TS_RX
    ")\\]\\s*(?:\\[[^\\]]*\\]\\s*)*?\\[\\s*(?<level>DEBUG|INFO|WARNING|"
    "ERROR|CRITICAL)\\s*\\]\\s*(?<message>.*)$",
    NULL};
static const char *const RXS_LEVEL[] = {
    "^\\[?(?<timestamp>" LF_TS_RX ")\\]?[\\s:|-]*\\[?(?<level>(?i:trace|debug|info|notice|warn|"
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

/* Compiles a logback/log4j2 %pattern or python format given as `format:`. */
static int add_format(struct lf_parser *p, const char *format, char *err, size_t errlen)
{
    struct lf_rxsrc r;
    lf_rxsrc_init(&r);
    int rc = p->kind == PT_PYTHON ? lf_rxsrc_python(&r, format, err, errlen)
                                  : lf_rxsrc_java(&r, format, err, errlen);
    if (rc == LF_OK) {
        rc = add_rx(p, r.b.data, NULL, err, errlen);
    }
    lf_rxsrc_fini(&r);
    return rc;
}

int lf_rx_setup(struct lf_parser *p, const struct lf_parser_conf *pc, char *err, size_t errlen)
{
    switch (p->kind) {
    case PT_REGEX:
        return add_rx(p, pc->format, &pc->types, err, errlen);
    case PT_LOGBACK:
    case PT_LOG4J2:
    case PT_PYTHON:
        if (pc->format) {
            return add_format(p, pc->format, err, errlen);
        }
        return add_list(p,
                        p->kind == PT_LOGBACK  ? RXS_LOGBACK
                        : p->kind == PT_LOG4J2 ? RXS_LOG4J2
                                               : RXS_PYTHON,
                        err, errlen);
    default:
        return add_list(p, RXS_LEVEL, err, errlen);
    }
}

/* HH:mm:ss.SSS without a date: the date of the read time in the configured zone. */
static bool time_only(struct lf_parser *p, const char *s, size_t n)
{
    static const unsigned char digit_at[] = {0, 1, 3, 4, 6, 7};
    if (n < 8 || s[2] != ':' || s[5] != ':') {
        return false;
    }
    for (size_t i = 0; i < sizeof(digit_at); i++) {
        if (!isdigit((unsigned char)s[digit_at[i]])) {
            return false;
        }
    }
    int64_t local_now = lf_tz_utc_to_local(p->tz, p->read_ms);
    int64_t day = local_now >= 0 ? local_now / 86400000 : 0;
    int64_t tod = ((s[0] - '0') * 10 + (s[1] - '0')) * 3600000 +
                  ((s[3] - '0') * 10 + (s[4] - '0')) * 60000 +
                  ((s[6] - '0') * 10 + (s[7] - '0')) * 1000;
    if (n >= 12 && (s[8] == '.' || s[8] == ',') && isdigit((unsigned char)s[9]) &&
        isdigit((unsigned char)s[10]) && isdigit((unsigned char)s[11])) {
        tod += (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    }
    p->ts_ms = lf_local_to_utc(p, day * 86400000 + tod);
    return true;
}

/* The first pattern that matches s[0..n), or NULL. */
static struct lf_rx *first_match(struct lf_parser *p, const char *s, size_t n)
{
    for (size_t i = 0; i < p->nrx; i++) {
        if (pcre2_match(p->rx[i].code, (PCRE2_SPTR)s, n, 0, 0, p->rx[i].md, NULL) >= 0) {
            return &p->rx[i];
        }
    }
    return NULL;
}

/* A capture typed int or float (or the pid) as a JSON number; false when it is not one. */
static bool put_number(struct lf_parser *p, int role, const char *key, const char *v, size_t vl)
{
    char buf[40];
    char *e;
    if (!vl || vl >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, v, vl);
    buf[vl] = '\0';
    if (role == RX_FLOAT) {
        (void)strtod(buf, &e);
        if (*e || lf_json_skip(buf, buf + vl, 0) != buf + vl) {
            return false;
        }
        lf_f_num(p, key, v, vl);
        return true;
    }
    long long iv = strtoll(buf, &e, 10);
    if (*e) {
        return false;
    }
    lf_f_int(p, role == RX_PID ? "process.pid" : key, iv);
    return true;
}

/* A capture typed bool: true/false in any case as JSON, anything else as a string. */
static void put_bool(struct lf_parser *p, const char *key, const char *v, size_t vl)
{
    if (vl == 4 && !strncasecmp(v, "true", 4)) {
        lf_f_json(p, key, "true", 4);
    } else if (vl == 5 && !strncasecmp(v, "false", 5)) {
        lf_f_json(p, key, "false", 5);
    } else {
        lf_f_str(p, key, v, vl);
    }
}

/* Writes one capture (v[0..vl), trimmed) according to the role of its group. */
static void put_capture(struct lf_parser *p, int role, const char *key, const char *v, size_t vl)
{
    switch (role) {
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
        if (!put_number(p, role, key, v, vl) && role != RX_PID) {
            lf_f_str(p, key, v, vl);
        }
        break;
    case RX_BOOL:
        put_bool(p, key, v, vl);
        break;
    default:
        lf_f_str(p, key, v, vl);
        break;
    }
}

/* Writes the captures of the match of rx on s; returns the message capture or NULL. */
static const char *put_captures(struct lf_parser *p, const struct lf_rx *rx, const char *s)
{
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
        if (rx->role[g] == RX_MSG) {
            msg = p->msg = v;
            p->msglen = vl;
        } else {
            put_capture(p, rx->role[g], rx->keys[g], v, vl);
        }
    }
    return msg;
}

/* Error records: the exception in the lines after the first (or a Python traceback that
 * starts at the end of the first line); without one, a message that continues over the
 * following lines keeps them. */
static void put_error_details(struct lf_parser *p, const char *s, size_t n, const char *nl,
                              const char *msg)
{
    if (!nl) {
        return; /* one line: no trace */
    }
    const char *rest = nl + 1;
    size_t before = p->nf;
    lf_error_details(p, msg, msg ? p->msglen : 0, rest, n - (size_t)(rest - s));
    if (p->nf == before && msg) {
        p->msglen = n - (size_t)(msg - s); /* multi-line message, no trace */
    }
}

bool lf_parse_rx(struct lf_parser *p, const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    size_t first = nl ? (size_t)(nl - s) : n;
    if (first && s[first - 1] == '\r') {
        first--;
    }
    struct lf_rx *rx = first_match(p, s, first);
    if (!rx) {
        return false;
    }
    const char *msg = put_captures(p, rx, s);
    if (p->kind != PT_REGEX || p->type == LF_TYPE_ERROR) {
        p->rtype = p->type;
        put_error_details(p, s, n, nl, msg);
    }
    return true;
}
