/* parse_pg.c - PostgreSQL stderr log entries: log_line_prefix compiled to a regex,
 * "duration: N ms  statement|execute|parse|bind ...", continuation lines and
 * DETAIL/HINT/CONTEXT/STATEMENT lines attached to their entry. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

#define PG_TS                                                                  \
    "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?(?: [A-Za-z]{1,5}| " \
    "?[+-]\\d\\d(?::?\\d\\d)?)?"

/* The severity and message that end every log_line_prefix'd line. */
#define PG_LINE_TAIL                                                                           \
    " *(?<severity>LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|CONTEXT|" \
    "STATEMENT|QUERY|LOCATION):  ?(?<msg>.*)$"

/* log_line_prefix escapes -> regex (%q, which starts an optional part, is handled apart). */
static const struct pg_escape {
    char c;
    const char *rx;
} pg_escapes[] = {
    {'m', "(?<timestamp>" PG_TS ")"},
    {'t', "(?<timestamp>" PG_TS ")"},
    {'s', "(?:" PG_TS ")"},
    {'n', "(?<epoch>\\d+(?:\\.\\d+)?)"},
    {'p', "(?<pid>\\d+)"},
    {'P', "\\d*"},
    {'u', "(?<user>.*?)"},
    {'d', "(?<db>.*?)"},
    {'a', "(?<app>.*?)"},
    {'h', "(?<host>.*?)"},
    {'r', "(?<host>.*?)"},
    {'l', "(?<line>\\d+)"},
    {'c', "(?<session>[0-9a-f.]*)"},
    {'e', "(?<sqlstate>[0-9A-Z]{5})"},
    {'Q', "(?<queryid>-?\\d+)"},
    {'%', "%"},
    {'i', ".*?"},
    {'v', ".*?"},
    {'x', ".*?"},
    {'b', ".*?"},
};

static const char *escape_rx(char c)
{
    for (size_t i = 0; i < sizeof(pg_escapes) / sizeof(pg_escapes[0]); i++) {
        if (pg_escapes[i].c == c) {
            return pg_escapes[i].rx;
        }
    }
    return NULL;
}

/* log_line_prefix -> the regex of a whole prefixed line, into r. */
static int prefix_rx(struct lf_rxsrc *r, const char *prefix, char *err, size_t errlen)
{
    int optional = 0;
    lf_rxsrc_add(r, "(?J)^");
    for (const char *s = prefix; *s; s++) {
        if (*s != '%') {
            lf_rxsrc_lit(r, *s);
            continue;
        }
        s++;
        if (*s == 'q') { /* the rest of the prefix is absent for non-session processes */
            lf_rxsrc_add(r, "(?:");
            optional++;
            continue;
        }
        const char *rx = escape_rx(*s);
        if (!rx) {
            snprintf(err, errlen, "log_line_prefix: unknown escape %%%c", *s ? *s : ' ');
            return LF_ECONFIG;
        }
        lf_rxsrc_add(r, rx);
    }
    while (optional--) {
        lf_rxsrc_add(r, ")?");
    }
    lf_rxsrc_add(r, PG_LINE_TAIL);
    return r->rc;
}

int lf_pg_setup(struct lf_parser *p, const char *prefix, char *err, size_t errlen)
{
    struct lf_rxsrc r;
    lf_rxsrc_init(&r);
    int rc = prefix_rx(&r, prefix, err, errlen);
    if (rc == LF_OK) {
        rc = lf_rx_compile(&p->pg, r.b.data, NULL, err, errlen);
    }
    lf_rxsrc_fini(&r);
    return rc;
}

static bool starts(const char *l, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && !memcmp(l, lit, k);
}

static int pg_level(const char *s, size_t n)
{
    if (starts(s, n, "LOG") || starts(s, n, "INFO") || starts(s, n, "NOTICE")) {
        return 3;
    }
    if (starts(s, n, "WARNING")) {
        return 4;
    }
    if (starts(s, n, "ERROR")) {
        return 5;
    }
    if (starts(s, n, "FATAL") || starts(s, n, "PANIC")) {
        return 6;
    }
    return starts(s, n, "DEBUG") ? 2 : 0;
}

/* "duration: 12.3 ms  statement: ..." etc. stmt spans to the end of the section. */
static void main_message(struct lf_parser *p, const char *m, size_t n)
{
    if (starts(m, n, "duration: ")) {
        char *e;
        char buf[32];
        size_t k = n - 10 < sizeof(buf) - 1 ? n - 10 : sizeof(buf) - 1;
        memcpy(buf, m + 10, k);
        buf[k] = '\0';
        double ms = strtod(buf, &e);
        if (e != buf && !strncmp(e, " ms", 3)) {
            p->dur_ns = (int64_t)(ms * 1e6 + 0.5);
            size_t used = 10 + (size_t)(e - buf) + 3;
            m += used;
            n -= used;
            while (n && *m == ' ') {
                m++, n--;
            }
        }
    }
    static const char *const steps[] = {"statement: ", "execute ", "parse ", "bind ", NULL};
    for (int i = 0; steps[i]; i++) {
        if (!starts(m, n, steps[i])) {
            continue;
        }
        size_t sl = strlen(steps[i]);
        if (i > 0) {
            const char *c = memmem(m + sl, n - sl, ": ", 2);
            if (!c) {
                return;
            }
            lf_f_str(p, "postgresql.query_step", steps[i], sl - 1);
            lf_f_str(p, "postgresql.prepared_statement", m + sl, (size_t)(c - m - sl));
            sl = (size_t)(c - m) + 2;
        }
        lf_query_fields(p, m + sl, n - sl);
        return;
    }
}

/* Lines of other severities attached to an entry: severity -> key of their text. */
static const struct {
    const char *sev;
    const char *key;
} pg_attached[] = {
    {"DETAIL", "postgresql.detail"},     {"HINT", "postgresql.hint"},
    {"CONTEXT", "postgresql.context"},   {"QUERY", "postgresql.internal_query"},
    {"LOCATION", "log.origin.function"},
};

/* Named groups of the prefix regex: what each becomes. Only the first line's prefix is
 * used (apart from the severity and message of every line). */
enum pg_conv { PG_SEVERITY, PG_MESSAGE, PG_TIME, PG_INT, PG_STR };
static const struct pg_group {
    const char *name;
    enum pg_conv conv;
    const char *key;
} pg_groups[] = {
    {"severity", PG_SEVERITY, NULL},
    {"msg", PG_MESSAGE, NULL},
    {"timestamp", PG_TIME, NULL},
    {"epoch", PG_TIME, NULL},
    {"pid", PG_INT, "process.pid"},
    {"line", PG_INT, "postgresql.session_line_num"},
    {"user", PG_STR, "db.user"},
    {"db", PG_STR, "db.name"},
    {"app", PG_STR, "postgresql.application_name"},
    {"host", PG_STR, "client.address"},
    {"session", PG_STR, "postgresql.session_id"},
    {"sqlstate", PG_STR, "error.code"},
    {"queryid", PG_STR, "postgresql.query_id"},
};

/* A record being read: one entry line, maybe continuation lines, maybe attached lines. */
struct pg_record {
    bool first;      /* no line read yet */
    bool have_stmt;  /* the entry itself had the statement */
    const char *sev; /* severity of the current section */
    size_t sevl;     /* (a section is a prefixed line and its continuation lines) */
    const char *msg; /* its message, NULL once the section is closed */
    const char *msg_end;
};

static const struct pg_group *pg_group(const char *name)
{
    for (size_t i = 0; i < sizeof(pg_groups) / sizeof(pg_groups[0]); i++) {
        if (!strcmp(pg_groups[i].name, name)) {
            return &pg_groups[i];
        }
    }
    return NULL;
}

/* Writes the section that just ended: attached text, the statement, or the entry. */
static void close_section(struct lf_parser *p, struct pg_record *r)
{
    const char *m = r->msg;
    size_t ml = (size_t)(r->msg_end - r->msg);
    r->msg = NULL;
    for (size_t i = 0; i < sizeof(pg_attached) / sizeof(pg_attached[0]); i++) {
        if (starts(r->sev, r->sevl, pg_attached[i].sev)) {
            lf_f_str(p, pg_attached[i].key, m, ml);
            return;
        }
    }
    if (starts(r->sev, r->sevl, "STATEMENT")) {
        if (!r->have_stmt) {
            lf_query_fields(p, m, ml);
        }
        return;
    }
    p->msg = m;
    p->msglen = ml;
    size_t before = p->nf;
    main_message(p, m, ml);
    r->have_stmt = p->nf != before;
}

static void put_group(struct lf_parser *p, struct pg_record *r, const struct pg_group *grp,
                      const char *v, size_t vl)
{
    switch (grp->conv) {
    case PG_SEVERITY:
        r->sev = v;
        r->sevl = vl;
        if (r->first) {
            lf_f_str(p, "log.level", v, vl);
            p->level = pg_level(v, vl);
        }
        break;
    case PG_MESSAGE:
        r->msg = v;
        r->msg_end = v + vl;
        break;
    case PG_TIME:
        if (r->first) {
            p->ts_ok = lf_parse_time(p, v, vl, &p->ts_ms);
        }
        break;
    case PG_INT:
    case PG_STR:
        if (!r->first || !vl || (vl == 9 && !memcmp(v, "[unknown]", 9))) {
            break;
        }
        if (grp->conv == PG_INT) {
            lf_f_int(p, grp->key, lf_atoi_n(v, vl));
        } else {
            lf_f_str(p, grp->key, v, vl);
        }
        break;
    }
}

/* A prefixed line matched rx at l: a new section starts. */
static void put_prefix(struct lf_parser *p, struct pg_record *r, const struct lf_rx *rx,
                       const char *l)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rx->md);
    for (uint32_t g = 1; g <= rx->ngroups; g++) {
        if (ov[2 * g] == PCRE2_UNSET || !rx->keys[g]) {
            continue;
        }
        const struct pg_group *grp = pg_group(rx->keys[g]);
        if (grp) {
            put_group(p, r, grp, l + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        }
    }
    r->first = false;
}

bool lf_parse_pg(struct lf_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    struct lf_rx *rx = &p->pg;
    struct pg_record r = {.first = true};
    for (const char *l = s;;) {
        const char *e = l < end ? memchr(l, '\n', (size_t)(end - l)) : NULL;
        size_t ll = l < end ? (size_t)((e ? e : end) - l) : 0;
        if (ll && l[ll - 1] == '\r') {
            ll--;
        }
        bool prefixed =
            l >= end || pcre2_match(rx->code, (PCRE2_SPTR)l, ll, 0, 0, rx->md, NULL) >= 0;
        if (prefixed && r.msg) {
            close_section(p, &r);
        }
        if (l >= end) {
            break;
        }
        if (prefixed) {
            put_prefix(p, &r, rx, l);
        } else if (r.first) {
            return false; /* the record does not start with a prefixed line */
        } else if (r.msg) {
            r.msg_end = l + ll; /* continuation line */
        }
        l = e ? e + 1 : end;
    }
    return !r.first;
}
