/* ml_preset.c - regex helper and the built-in multi-line presets (java, python, go,
 * mysql-slow, postgresql, auto).
 *
 * Each preset is a small state machine over a few JIT-compiled PCRE2 patterns that
 * decides, line by line, "starts a record" or "continues the pending one". It never
 * copies or allocates per line. Record assembly, caps and offsets live in lf_multiline.c.
 */
#include "ml_preset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lf_multiline.h"
#include "logferry/lf_err.h"

int ml_rx_compile(struct ml_rx *rx, const char *pattern, const char *what, char *err, size_t errlen)
{
    int ec = 0;
    PCRE2_SIZE eoff = 0;

    memset(rx, 0, sizeof(*rx));
    rx->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ec, &eoff, NULL);
    if (!rx->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "%s: %s at offset %zu", what, (const char *)msg, (size_t)eoff);
        return LF_ECONFIG;
    }
    rx->jit = pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE) == 0;
    rx->md = pcre2_match_data_create(1, NULL);
    if (!rx->md) {
        pcre2_code_free(rx->code);
        rx->code = NULL;
        snprintf(err, errlen, "%s: out of memory", what);
        return LF_ENOMEM;
    }
    return LF_OK;
}

void ml_rx_free(struct ml_rx *rx)
{
    pcre2_match_data_free(rx->md);
    pcre2_code_free(rx->code);
    rx->md = NULL;
    rx->code = NULL;
}

bool ml_rx_match_at(const struct ml_rx *rx, const char *line, size_t len, size_t *start)
{
    PCRE2_SPTR s = (PCRE2_SPTR)(line ? line : "");
    int rc;

    if (rx->jit) {
        rc = pcre2_jit_match(rx->code, s, len, 0, 0, rx->md, NULL);
    } else {
        rc = pcre2_match(rx->code, s, len, 0, 0, rx->md, NULL);
    }
    if (rc < 0) {
        return false;
    }
    if (start) {
        size_t at = (size_t)pcre2_get_ovector_pointer(rx->md)[0];
        *start = at <= len ? at : len;
    }
    return true;
}

bool ml_rx_is_match(const struct ml_rx *rx, const char *line, size_t len)
{
    return ml_rx_match_at(rx, line, len, NULL);
}

/* Patterns shared by presets. Byte mode (no UTF flag): logs may hold invalid UTF-8. */

/* A line that begins with a log header: a date-time (ISO, bracketed ISO, log4j/Kafka,
 * Tomcat JULI dd-MMM-yyyy, Python asctime), or a level word first (log4j %-5p layouts). */
#define RX_TS_HEADER                                       \
    "^(?:\\[?\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d:\\d\\d" \
    "|\\d\\d-[A-Z][a-z]{2}-\\d{4} \\d\\d:\\d\\d:\\d\\d"    \
    "|\\[?\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d)"

#define RX_JAVA_LEVEL_FIRST "^\\[?(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)\\b"
#define RX_JAVA_JUL_DATE    "^[A-Z][a-z]{2} \\d\\d?, \\d{4} \\d\\d?:\\d\\d:\\d\\d [AP]M "
#define RX_JAVA_CONT                                                                       \
    "^(?:\\s+at |\\s*Caused by:|\\s*Suppressed:|\\s*\\.\\.\\. \\d+ (?:more|common frames " \
    "omitted)|\\s)"
#define RX_JAVA_EXC_LINE \
    "^(?:[A-Za-z_$][\\w$]*\\.)+[\\w$]*(?:Exception|Error|Throwable)[\\w$]*(?::.*)?$"

#define RX_PY_HEADER    "^[A-Z]+:[\\w.]+:" /* basicConfig: "ERROR:root:msg" */
#define RX_PY_TRACEBACK "Traceback \\(most recent call last\\):\\s*$"
#define RX_PY_CHAIN                                                           \
    "^(?:During handling of the above exception, another exception occurred:" \
    "|The above exception was the direct cause of the following exception:)"
#define RX_PY_FRAME_NOINDENT "^File \""
#define RX_PY_EXC_LINE       "^[A-Za-z_][\\w.]*(?::.*)?$"

#define RX_GO_START                                                \
    "^(?:\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)? )?" \
    "(?:panic: |fatal error: |http: panic serving |SIG[A-Z]+: )"
#define RX_GO_DUMP                                                                      \
    "^(?:$|\\s|goroutine \\d+ \\[|created by |\\[signal |exit status \\d|"              \
    "\\.\\.\\.additional frames elided|panic: |fatal error: |PC=|r[a-z0-9]{1,3}\\s+0x|" \
    "\\S+\\(.*\\)$)"

/* The severity after log_line_prefix: "LOG:  " (two spaces, as the server writes it), or
 * one space on a line that begins with a timestamp (hand-edited logs). \K puts the
 * match start on the severity word. */
#define RX_PG_SEVS                                                                  \
    "(?:LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|CONTEXT|" \
    "STATEMENT|QUERY|LOCATION):"
#define RX_PG_SEVERITY \
    "\\b\\K" RX_PG_SEVS "  |^\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d:\\d\\d.*?\\b\\K" RX_PG_SEVS " "

/* auto: lines that continue a trace whatever its language (PHP "Stack trace:" and "#N"
 * frames, Laravel's "[stacktrace]", .NET's "--- End of ... ---" markers), and the
 * first line of a Rails error, which is indented by one space. */
#define RX_AUTO_CONT  "^(?:Stack trace:|\\[stacktrace\\]|#\\d+ |\\s*--- End of |\\s*thrown in )"
#define RX_RUBY_START "^ ?[A-Z][\\w:]*(?:Error|Exception) \\("

enum ml_rx_id {
    RX_TS,
    RX_LEVEL_FIRST,
    RX_JUL_DATE,
    RX_JCONT,
    RX_JEXC,
    RX_PYHDR,
    RX_PYTB,
    RX_PYCHAIN,
    RX_PYFRAME,
    RX_PYEXC,
    RX_GOSTART,
    RX_GODUMP,
    RX_PGSEV,
    RX_AUTOCONT,
    RX_RUBYSTART,
    RX_COUNT
};

static const char *const rx_src[RX_COUNT] = {
    [RX_TS] = RX_TS_HEADER,
    [RX_LEVEL_FIRST] = RX_JAVA_LEVEL_FIRST,
    [RX_JUL_DATE] = RX_JAVA_JUL_DATE,
    [RX_JCONT] = RX_JAVA_CONT,
    [RX_JEXC] = RX_JAVA_EXC_LINE,
    [RX_PYHDR] = RX_PY_HEADER,
    [RX_PYTB] = RX_PY_TRACEBACK,
    [RX_PYCHAIN] = RX_PY_CHAIN,
    [RX_PYFRAME] = RX_PY_FRAME_NOINDENT,
    [RX_PYEXC] = RX_PY_EXC_LINE,
    [RX_GOSTART] = RX_GO_START,
    [RX_GODUMP] = RX_GO_DUMP,
    [RX_PGSEV] = RX_PG_SEVERITY,
    [RX_AUTOCONT] = RX_AUTO_CONT,
    [RX_RUBYSTART] = RX_RUBY_START,
};

/* Which patterns each preset needs (others stay NULL). */
static const enum ml_rx_id java_rx[] = {RX_TS,    RX_LEVEL_FIRST, RX_JUL_DATE,
                                        RX_JCONT, RX_JEXC,        RX_COUNT};
static const enum ml_rx_id python_rx[] = {RX_TS,      RX_PYHDR, RX_PYTB, RX_PYCHAIN,
                                          RX_PYFRAME, RX_PYEXC, RX_COUNT};
static const enum ml_rx_id go_rx[] = {RX_GOSTART, RX_GODUMP, RX_COUNT};
static const enum ml_rx_id pg_rx[] = {RX_PGSEV, RX_COUNT};
static const enum ml_rx_id auto_rx[] = {RX_TS,       RX_JCONT,     RX_JEXC,    RX_PYTB,
                                        RX_PYCHAIN,  RX_PYFRAME,   RX_GOSTART, RX_GODUMP,
                                        RX_AUTOCONT, RX_RUBYSTART, RX_COUNT};
static const enum ml_rx_id none_rx[] = {RX_COUNT};

struct ml_preset {
    int id;
    struct ml_rx rx[RX_COUNT];
};

int ml_preset_create(int id, char *err, size_t errlen, struct ml_preset **out)
{
    const enum ml_rx_id *need = none_rx;
    struct ml_preset *p;
    int rc;

    *out = NULL;
    switch (id) {
    case ML_PRESET_JAVA:
        need = java_rx;
        break;
    case ML_PRESET_PYTHON:
        need = python_rx;
        break;
    case ML_PRESET_GO:
        need = go_rx;
        break;
    case ML_PRESET_POSTGRESQL:
        need = pg_rx;
        break;
    case ML_PRESET_AUTO:
        need = auto_rx;
        break;
    case ML_PRESET_MYSQL_SLOW: /* plain string tests only */
        break;
    default:
        snprintf(err, errlen, "multiline: unknown preset %d", id);
        return LF_ECONFIG;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        return LF_ENOMEM;
    }
    p->id = id;
    for (size_t i = 0; need[i] != RX_COUNT; i++) {
        rc = ml_rx_compile(&p->rx[need[i]], rx_src[need[i]], "multiline preset", err, errlen);
        if (rc != LF_OK) {
            ml_preset_destroy(p);
            return rc;
        }
    }
    *out = p;
    return LF_OK;
}

void ml_preset_destroy(struct ml_preset *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < RX_COUNT; i++) {
        if (p->rx[i].code) {
            ml_rx_free(&p->rx[i]);
        }
    }
    free(p);
}

static bool has_prefix(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

static bool is_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (line[i] != ' ' && line[i] != '\t') {
            return false;
        }
    }
    return true;
}

static bool match(const struct ml_preset *p, enum ml_rx_id id, const char *line, size_t len)
{
    return ml_rx_is_match(&p->rx[id], line, len);
}

/* java: a header line (timestamp, or level first) starts an entry; stack frames,
 * Caused by/Suppressed, "... N more", indented and blank lines, and exception-class lines
 * continue it. Other lines continue an entry once the file has shown headers (messages
 * spanning lines); in a file without headers they stand alone. */
static enum ml_kind classify_java(const struct ml_preset *p, struct ml_preset_state *st,
                                  const char *line, size_t len, bool pending)
{
    bool prev_jul = st->prev_jul;

    st->prev_jul = false;
    if (match(p, RX_TS, line, len)) {
        st->seen_header = true;
        return ML_KIND_START;
    }
    if (match(p, RX_JUL_DATE, line, len)) {
        st->seen_header = true;
        st->prev_jul = true;
        return ML_KIND_START;
    }
    if (match(p, RX_LEVEL_FIRST, line, len)) {
        /* JUL SimpleFormatter writes "SEVERE: msg" on the line after its date line. */
        if (prev_jul && pending) {
            return ML_KIND_CONT;
        }
        st->seen_header = true;
        return ML_KIND_START;
    }
    if (!pending) {
        return ML_KIND_START;
    }
    if (len == 0 || match(p, RX_JCONT, line, len) || match(p, RX_JEXC, line, len)) {
        return ML_KIND_CONT;
    }
    return st->seen_header ? ML_KIND_CONT : ML_KIND_START;
}

/* python: header lines start entries; a Traceback block (its frames, the exception line,
 * chained "During handling..." / "The above exception..." sections and the blank lines
 * between them) continues the entry it follows. */
static enum ml_kind classify_python(const struct ml_preset *p, struct ml_preset_state *st,
                                    const char *line, size_t len, bool pending)
{
    bool tb = match(p, RX_PYTB, line, len);

    if (match(p, RX_TS, line, len) || match(p, RX_PYHDR, line, len)) {
        st->seen_header = true;
        st->in_trace = tb; /* "... error: Traceback (most recent call last):" */
        st->after_trace = false;
        return ML_KIND_START;
    }
    if (tb) {
        bool chained = st->after_trace;
        st->in_trace = true;
        st->after_trace = false;
        if (!pending) {
            return ML_KIND_START;
        }
        /* logger.exception() puts the traceback on the line after the header; a chained
         * traceback follows "During handling..." and a blank line. */
        if (chained || st->seen_header) {
            return ML_KIND_CONT;
        }
        return ML_KIND_START;
    }
    if (!pending) {
        st->in_trace = false;
        st->after_trace = false;
        return ML_KIND_START;
    }
    if (st->in_trace) {
        if (len == 0 || line[0] == ' ' || line[0] == '\t' || match(p, RX_PYFRAME, line, len)) {
            return ML_KIND_CONT;
        }
        /* the exception line ends the frames */
        st->in_trace = false;
        st->after_trace = true;
        return ML_KIND_CONT;
    }
    if (st->after_trace) {
        if (is_blank(line, len) || match(p, RX_PYCHAIN, line, len)) {
            return ML_KIND_CONT;
        }
        st->after_trace = false;
        if (line[0] == ' ' || line[0] == '\t') {
            return ML_KIND_CONT;
        }
        return st->seen_header ? ML_KIND_CONT : ML_KIND_START;
    }
    if (len == 0 || line[0] == ' ' || line[0] == '\t') {
        return ML_KIND_CONT;
    }
    return st->seen_header ? ML_KIND_CONT : ML_KIND_START;
}

/* go: "panic:", "fatal error:", "http: panic serving", "SIGxxx:" start a dump; the dump's
 * goroutine sections, frames, blank lines and register lines continue it. Outside a dump
 * every line stands alone, except indented lines. */
static enum ml_kind classify_go(const struct ml_preset *p, struct ml_preset_state *st,
                                const char *line, size_t len, bool pending)
{
    if (st->in_trace && pending) {
        if (match(p, RX_GODUMP, line, len)) {
            return ML_KIND_CONT;
        }
    }
    st->in_trace = false;
    if (match(p, RX_GOSTART, line, len)) {
        st->in_trace = true;
        return ML_KIND_START;
    }
    if (pending && len > 0 && (line[0] == ' ' || line[0] == '\t')) {
        return ML_KIND_CONT;
    }
    return ML_KIND_START;
}

/* mysql-slow: an entry starts at "# Time:", or at "# User@Host:" / "# Query_time:" when
 * not inside the header block of the current entry. Start-up banner lines stand alone. */
static enum ml_kind classify_mysql(struct ml_preset_state *st, const char *line, size_t len)
{
    bool in_header = st->in_header;
    bool in_banner = st->in_banner;

    st->in_banner = false;
    if (lf_ml_mysql_is_banner(line, len)) {
        st->in_header = false;
        st->in_banner = true;
        return ML_KIND_START;
    }
    if (has_prefix(line, len, "# Time:")) {
        st->in_header = true;
        return ML_KIND_START;
    }
    if (has_prefix(line, len, "# User@Host:") || has_prefix(line, len, "# Query_time:")) {
        st->in_header = true;
        return in_header ? ML_KIND_CONT : ML_KIND_START;
    }
    if (has_prefix(line, len, "# administrator command:")) {
        st->in_header = false; /* it is the statement of the entry */
        return in_banner ? ML_KIND_START : ML_KIND_CONT;
    }
    if (has_prefix(line, len, "# ")) {
        return in_banner ? ML_KIND_START : ML_KIND_CONT; /* header fields keep in_header */
    }
    st->in_header = false;
    return in_banner ? ML_KIND_START : ML_KIND_CONT;
}

/* postgresql (stderr): a line carrying a severity ("LOG:  ", "ERROR:  "...) after its
 * log_line_prefix starts an entry, except DETAIL/HINT/CONTEXT/STATEMENT/QUERY/LOCATION,
 * which belong to the entry before; lines without a severity (indented or not: parts of
 * a multi-line statement) continue. */
/* A csvlog record's first line: the log_time column ("2021-01-04 00:22:01.903 UTC", maybe
 * quoted) then a comma. Hand-written: it runs on every line of a stderr log too. */
static bool pg_csv_start(const char *s, size_t n)
{
    size_t i = n && s[0] == '"';
    if (n < i + 21 || s[i] < '0' || s[i] > '9' || s[i + 4] != '-' || s[i + 10] != ' ' ||
        s[i + 13] != ':') {
        return false;
    }
    const char *c = memchr(s + i + 19, ',', n - i - 19 < 21 ? n - i - 19 : 21);
    /* then user_name: quoted, or empty for background processes (a stderr prefix such
     * as "%m,%p" has a digit there) */
    return c && c + 1 < s + n && (c[1] == '"' || c[1] == ',') &&
           !memchr(s + i + 19, '[', (size_t)(c - s - (ptrdiff_t)i - 19));
}

/* Toggles the open-quote state once per double quote ("" inside a field toggles twice). */
static bool csv_quote_open(bool open, const char *line, size_t len)
{
    for (const char *q = memchr(line, '"', len); q;
         q = memchr(q + 1, '"', len - (size_t)(q + 1 - line))) {
        open = !open;
    }
    return open;
}

static enum ml_kind classify_pg(const struct ml_preset *p, struct ml_preset_state *st,
                                const char *line, size_t len, bool pending)
{
    static const char *const attached[] = {
        "DETAIL:", "HINT:", "CONTEXT:", "STATEMENT:", "QUERY:", "LOCATION:"};
    size_t at = 0;

    if (st->csv_open && pending) { /* inside a quoted csvlog field: the record goes on */
        st->csv_open = csv_quote_open(true, line, len);
        return ML_KIND_CONT;
    }
    st->csv_open = false;
    /* jsonlog, CloudNativePG, Cloud SQL: one object per line, in a file whose first line
     * is one (a statement line of a stderr log may begin with '{' too) */
    if (len > 1 && line[0] == '{' && line[1] == '"' && (st->json_log || !pending)) {
        st->json_log = true;
        return ML_KIND_START;
    }
    if (pg_csv_start(line, len)) {
        st->csv_open = csv_quote_open(false, line, len);
        return ML_KIND_START;
    }
    if (len == 0 || line[0] == ' ' || line[0] == '\t') {
        return ML_KIND_CONT;
    }
    if (!ml_rx_match_at(&p->rx[RX_PGSEV], line, len, &at)) {
        return ML_KIND_CONT;
    }
    for (size_t i = 0; pending && i < sizeof(attached) / sizeof(attached[0]); i++) {
        if (has_prefix(line + at, len - at, attached[i])) {
            return ML_KIND_CONT;
        }
    }
    return ML_KIND_START;
}

/* auto: the first line of a record decides its language as far as it can tell. */
static enum ml_kind auto_start(const struct ml_preset *p, struct ml_preset_state *st,
                               const char *line, size_t len)
{
    st->rec_header = match(p, RX_TS, line, len);
    st->in_trace = false;
    st->after_trace = false;
    st->lang = ML_LANG_NONE;
    if (match(p, RX_GOSTART, line, len)) {
        st->lang = ML_LANG_GO;
    } else if (match(p, RX_PYTB, line, len)) {
        st->lang = ML_LANG_PYTHON; /* "Traceback ..." alone or at the end of a header */
        st->in_trace = true;
    } else if (match(p, RX_JEXC, line, len)) {
        st->lang = ML_LANG_JAVA;
    }
    return ML_KIND_START;
}

/* auto, Python: frames until the exception line, then blank lines and chained
 * tracebacks. Returns -1 when the line is not the traceback's. */
static int auto_python(const struct ml_preset *p, struct ml_preset_state *st, const char *line,
                       size_t len)
{
    if (st->in_trace) {
        if (len > 0 && line[0] != ' ' && line[0] != '\t' && !match(p, RX_PYFRAME, line, len)) {
            st->in_trace = false; /* the exception line ends the frames */
            st->after_trace = true;
        }
        return ML_KIND_CONT;
    }
    if (st->after_trace) {
        if (is_blank(line, len) || match(p, RX_PYCHAIN, line, len)) {
            return ML_KIND_CONT;
        }
        if (match(p, RX_PYTB, line, len) && !match(p, RX_TS, line, len)) { /* chained */
            st->in_trace = true;
            st->after_trace = false;
            return ML_KIND_CONT;
        }
        st->after_trace = false;
    }
    return -1;
}

/* auto: a line continues the pending record when it belongs to the trace of the record's
 * language, is blank or indented, or is a marker every language shares (Caused by, ...
 * N more, Stack trace, #N frames, --- End of ...). Anything else starts a record. */
static enum ml_kind classify_auto(const struct ml_preset *p, struct ml_preset_state *st,
                                  const char *line, size_t len)
{
    if (st->lang == ML_LANG_GO && match(p, RX_GODUMP, line, len)) {
        return ML_KIND_CONT;
    }
    if (st->lang == ML_LANG_PYTHON) {
        int k = auto_python(p, st, line, len);
        if (k >= 0) {
            return (enum ml_kind)k;
        }
    }
    if (is_blank(line, len)) {
        return ML_KIND_CONT;
    }
    if (match(p, RX_GOSTART, line, len) || match(p, RX_TS, line, len) ||
        match(p, RX_RUBYSTART, line, len)) {
        return auto_start(p, st, line, len);
    }
    if (match(p, RX_PYTB, line, len)) {
        if (!st->rec_header) {
            return auto_start(p, st, line, len);
        }
        st->lang = ML_LANG_PYTHON; /* logger.exception(): the trace follows the header */
        st->in_trace = true;
        return ML_KIND_CONT;
    }
    if (line[0] == ' ' || line[0] == '\t' || match(p, RX_JCONT, line, len) ||
        match(p, RX_AUTOCONT, line, len)) {
        if (st->lang == ML_LANG_NONE && match(p, RX_JCONT, line, len)) {
            st->lang = ML_LANG_JAVA; /* frames: an exception-class line may follow */
        }
        return ML_KIND_CONT;
    }
    if (st->lang == ML_LANG_JAVA && match(p, RX_JEXC, line, len)) {
        return ML_KIND_CONT; /* "nested exception is:" then the nested exception's line */
    }
    return auto_start(p, st, line, len);
}

enum ml_kind ml_preset_classify(const struct ml_preset *p, struct ml_preset_state *st,
                                const char *line, size_t len, bool pending)
{
    enum ml_kind k = ML_KIND_START;

    switch (p->id) {
    case ML_PRESET_JAVA:
        k = classify_java(p, st, line, len, pending);
        break;
    case ML_PRESET_PYTHON:
        k = classify_python(p, st, line, len, pending);
        break;
    case ML_PRESET_GO:
        k = classify_go(p, st, line, len, pending);
        break;
    case ML_PRESET_MYSQL_SLOW:
        k = classify_mysql(st, line, len);
        break;
    case ML_PRESET_POSTGRESQL:
        k = classify_pg(p, st, line, len, pending);
        break;
    case ML_PRESET_AUTO:
        k = pending ? classify_auto(p, st, line, len) : auto_start(p, st, line, len);
        break;
    default:
        break;
    }
    return pending ? k : ML_KIND_START;
}

bool lf_ml_mysql_is_banner(const char *text, size_t len)
{
    static const char started[] = " started with:";
    size_t n = sizeof(started) - 1;

    if (len >= 10 && strncasecmp(text, "Tcp port: ", 10) == 0) { /* Windows: "TCP Port:" */
        return true;
    }
    if (has_prefix(text, len, "Time ") || has_prefix(text, len, "Time\t")) {
        /* "Time                 Id Command    Argument" (MariaDB: tabs) */
        size_t i = 4;
        while (i < len && (text[i] == ' ' || text[i] == '\t')) {
            i++;
        }
        return has_prefix(text + i, len - i, "Id Command");
    }
    /* "/usr/sbin/mysqld, Version: 5.5.53-0ubuntu0.12.04.1-log ((Ubuntu)). started with:" */
    if (len > n && memcmp(text + len - n, started, n) == 0 &&
        memmem(text, len, ", Version: ", 11) != NULL) {
        return true;
    }
    return false;
}
