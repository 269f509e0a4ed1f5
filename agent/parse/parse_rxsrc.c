/* parse_rxsrc.c - PCRE2 pattern text built from log format strings: logback/log4j2
 * %patterns and python logging formats, plus the builder the postgresql log_line_prefix
 * compiler uses. Produces text only; parse_regex.c compiles and matches it.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

#define RX_TIMESTAMP "(?<timestamp>" LF_TS_RX ")"
#define RX_MESSAGE   "(?<message>.*)"

/* logback/log4j2 conversion words -> the regex of what they print ("" = nothing on the
 * first line, such as %n and the exception converters). */
static const struct pattern_word {
    const char *name;
    const char *rx;
} java_words[] = {
    {"d", RX_TIMESTAMP},
    {"date", RX_TIMESTAMP},
    {"p", "(?<level>[A-Za-z]+)"},
    {"le", "(?<level>[A-Za-z]+)"},
    {"level", "(?<level>[A-Za-z]+)"},
    {"t", " *(?<thread>.*?) *"},
    {"thread", " *(?<thread>.*?) *"},
    {"c", "(?<logger>[^\\s:]+)"},
    {"lo", "(?<logger>[^\\s:]+)"},
    {"logger", "(?<logger>[^\\s:]+)"},
    {"C", "(?<logger>[^\\s:]+)"},
    {"class", "(?<logger>[^\\s:]+)"},
    {"m", RX_MESSAGE},
    {"msg", RX_MESSAGE},
    {"message", RX_MESSAGE},
    {"n", ""},
    {"ex", ""},
    {"exception", ""},
    {"throwable", ""},
    {"wEx", ""},
    {"xEx", ""},
    {"rEx", ""},
    {"nopex", ""},
    {"pid", "(?<pid>\\d+)"},
    {"processId", "(?<pid>\\d+)"},
    {"L", "\\d+"},
    {"line", "\\d+"},
    {"M", "\\S+"},
    {"method", "\\S+"},
    {"F", "\\S+"},
    {"file", "\\S+"},
    {"X", ".*?"},
    {"mdc", ".*?"},
    {"marker", ".*?"},
    {"contextName", ".*?"},
    {"cn", ".*?"},
    {"clr", ".*?"},
    {"highlight", ".*?"},
    {"style", ".*?"},
};

/* python logging %(name)s attributes; any other attribute matches ".*?". */
static const struct pattern_word python_words[] = {
    {"asctime", RX_TIMESTAMP},       {"levelname", "(?<level>[A-Z]+) *"},
    {"name", "(?<logger>\\S*?) *"},  {"message", RX_MESSAGE},
    {"process", " *(?<pid>\\d+) *"}, {"threadName", " *(?<thread>.*?) *"},
};

static const char *word_rx(const struct pattern_word *words, size_t nwords, const char *w,
                           size_t wl)
{
    for (size_t i = 0; i < nwords; i++) {
        if (strlen(words[i].name) == wl && !strncmp(words[i].name, w, wl)) {
            return words[i].rx;
        }
    }
    return NULL;
}

void lf_rxsrc_init(struct lf_rxsrc *r)
{
    lf_buf_init(&r->b, 0);
    r->rc = LF_OK;
    r->last_space = false;
}

void lf_rxsrc_fini(struct lf_rxsrc *r)
{
    lf_buf_fini(&r->b);
}

void lf_rxsrc_add(struct lf_rxsrc *r, const char *rx)
{
    if (r->rc == LF_OK) {
        r->rc = lf_buf_append_str(&r->b, rx);
    }
    r->last_space = false;
}

void lf_rxsrc_lit(struct lf_rxsrc *r, char c)
{
    char tmp[3] = {c, '\0', '\0'};
    if (strchr("\\^$.|?*+()[]{}", c)) {
        tmp[0] = '\\';
        tmp[1] = c;
    }
    lf_rxsrc_add(r, tmp);
}

/* A literal of a logging format: a run of spaces matches one or more spaces (padding). */
static void format_lit(struct lf_rxsrc *r, char c)
{
    if (c != ' ') {
        lf_rxsrc_lit(r, c);
    } else if (!r->last_space) {
        lf_rxsrc_add(r, " +");
        r->last_space = true;
    }
}

/* Skips a {option} block at s, if any. */
static const char *skip_option(const char *s)
{
    if (*s == '{') {
        s += strcspn(s, "}");
        s += *s == '}';
    }
    return s;
}

/* *sp just past '%': one conversion (%-5level, %logger{36}, %clr( ...). */
static int java_conversion(struct lf_rxsrc *r, const char **sp, char *err, size_t errlen)
{
    const char *s = *sp;
    s += strspn(s, "-.0123456789");
    const char *w = s;
    while (isalpha((unsigned char)*s)) {
        s++;
    }
    size_t wl = (size_t)(s - w);
    if (*s == '(') { /* %clr(...) / %highlight(...): keep the content */
        *sp = s + 1;
        return LF_OK;
    }
    *sp = skip_option(s);
    const char *rx = word_rx(java_words, sizeof(java_words) / sizeof(java_words[0]), w, wl);
    if (!rx) {
        snprintf(err, errlen, "pattern: unknown conversion %%%.*s", (int)wl, w);
        return LF_ECONFIG;
    }
    lf_rxsrc_add(r, rx);
    return LF_OK;
}

/* *sp at "${": a property; only ${PID...} is captured. */
static void java_property(struct lf_rxsrc *r, const char **sp)
{
    const char *s = *sp;
    const char *e = strchr(s, '}');
    lf_rxsrc_add(r, e && !strncmp(s + 2, "PID", 3) ? "(?<pid>\\d*)" : ".*?");
    *sp = e ? e + 1 : s + strlen(s);
}

int lf_rxsrc_java(struct lf_rxsrc *r, const char *pat, char *err, size_t errlen)
{
    int rc = LF_OK;
    lf_rxsrc_add(r, "^");
    for (const char *s = pat; *s && rc == LF_OK;) {
        if (s[0] == '%' && s[1] == '%') {
            format_lit(r, '%');
            s += 2;
        } else if (*s == ')') { /* end of %clr( ... ) / %highlight( ... ) */
            s = skip_option(s + 1);
        } else if (s[0] == '$' && s[1] == '{') { /* ${PID:- } style property */
            java_property(r, &s);
        } else if (*s != '%') {
            format_lit(r, *s++);
        } else {
            s++;
            rc = java_conversion(r, &s, err, errlen);
        }
    }
    lf_rxsrc_add(r, "$");
    return rc != LF_OK ? rc : r->rc;
}

int lf_rxsrc_python(struct lf_rxsrc *r, const char *fmt, char *err, size_t errlen)
{
    lf_rxsrc_add(r, "^");
    const char *s = fmt;
    while (*s) {
        if (s[0] != '%' || s[1] != '(') {
            format_lit(r, *s++);
            continue;
        }
        const char *n = s + 2;
        const char *e = strchr(n, ')');
        if (!e) {
            snprintf(err, errlen, "python format: unclosed %%(");
            return LF_ECONFIG;
        }
        s = e + 1;
        s += strspn(s, "-.0123456789");
        s += *s != '\0'; /* conversion letter s/d/f */
        const char *rx = word_rx(python_words, sizeof(python_words) / sizeof(python_words[0]), n,
                                 (size_t)(e - n));
        lf_rxsrc_add(r, rx ? rx : ".*?");
    }
    lf_rxsrc_add(r, "$");
    return r->rc;
}
