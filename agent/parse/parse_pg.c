/* parse_pg.c - PostgreSQL log entries: the stderr form (log_line_prefix compiled to a
 * regex, also behind a syslog or Heroku logplex header), "duration: N ms
 * statement|execute|parse|bind ...", continuation lines and DETAIL/HINT/CONTEXT/STATEMENT
 * lines attached to their entry. csvlog and jsonlog records go to parse_pglog.c. */
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

static bool starts(const char *l, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && !memcmp(l, lit, k);
}

int lf_pg_level(const char *s, size_t n)
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
void lf_pg_message(struct lf_parser *p, const char *m, size_t n)
{
    if (starts(m, n, "duration: ")) {
        char *e;
        char buf[32];
        size_t k = n - 10 < sizeof(buf) - 1 ? n - 10 : sizeof(buf) - 1;
        memcpy(buf, m + 10, k);
        buf[k] = '\0';
        double ms = strtod(buf, &e);
        /* over ~292 years in ns is no duration (int64 overflow) */
        if (e != buf && !strncmp(e, " ms", 3) && ms >= 0 && ms < 9.2e12) {
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
    bool copy;       /* syslog/logplex: sections are assembled in scratch (without the */
    size_t room;     /* headers of their continuation lines); room left for the section */
    const char *tts; /* syslog/logplex time of the first line */
    size_t ttsl;
    int64_t tpid; /* syslog pid of the first line, or -1 */
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

/* Compiles the prefix; the regex's role[] then holds, per group, its pg_groups index
 * (-1: none), so that a record needs no name lookup. */
int lf_pg_setup(struct lf_parser *p, const char *prefix, char *err, size_t errlen)
{
    struct lf_rxsrc r;
    lf_rxsrc_init(&r);
    int rc = prefix_rx(&r, prefix, err, errlen);
    if (rc == LF_OK) {
        rc = lf_rx_compile(&p->pg, r.b.data, NULL, err, errlen);
    }
    lf_rxsrc_fini(&r);
    for (uint32_t g = 0; rc == LF_OK && g <= p->pg.ngroups; g++) {
        const struct pg_group *grp = p->pg.keys[g] ? pg_group(p->pg.keys[g]) : NULL;
        p->pg.role[g] = grp ? (int)(grp - pg_groups) : -1;
    }
    return rc;
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
    lf_pg_message(p, m, ml);
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
            p->level = lf_pg_level(v, vl);
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
        if (ov[2 * g] == PCRE2_UNSET || rx->role[g] < 0) {
            continue;
        }
        put_group(p, r, &pg_groups[rx->role[g]], l + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
    r->first = false;
}

/* ---- syslog and Heroku logplex headers before the prefix */

static size_t skip_part_number(const char *l, size_t i, size_t ll)
{
    /* "[12-3]" (syslog_sequence_numbers / logplex line parts), then spaces */
    if (i < ll && l[i] == '[') {
        const char *c = memchr(l + i, ']', ll - i);
        if (c && (size_t)(c - l) - i < 24 && isdigit((unsigned char)l[i + 1])) {
            i = (size_t)(c - l) + 1;
        }
    }
    while (i < ll && l[i] == ' ') {
        i++;
    }
    return i;
}

/* "Feb 11 13:15:39 host postgres[10808]: [3-2] ": its length, time and pid. */
static size_t syslog_header(const char *l, size_t ll, struct pg_record *r)
{
    if (ll < 20 || !isupper((unsigned char)l[0]) || l[3] != ' ' || l[6] != ' ' || l[9] != ':' ||
        l[15] != ' ') {
        return 0;
    }
    const char *c = memmem(l + 16, ll - 16, "]: ", 3);
    const char *b = c ? c : NULL;
    while (b && b > l + 16 && b[-1] != '[') {
        b--;
    }
    if (!c || b <= l + 16) {
        return 0;
    }
    if (r->first) {
        r->tts = l, r->ttsl = 15;
        r->tpid = lf_atoi_n(b, (size_t)(c - b));
    }
    return skip_part_number(l, (size_t)(c - l) + 3, ll);
}

/* "2019-03-14T00:22:56+00:00 app[postgres.4882]: [GREEN] [15-1]  " (newer drains put a
 * "d.<uuid>" before "app[" and no colon after it): its length and time. */
static size_t logplex_header(const char *l, size_t ll, struct pg_record *r)
{
    if (ll < 30 || l[4] != '-' || l[10] != 'T') {
        return 0;
    }
    const char *sp = memchr(l, ' ', ll < 40 ? ll : 40);
    const char *app =
        sp ? memmem(sp, (size_t)(l + ll - sp) < 80 ? (size_t)(l + ll - sp) : 80, " app[", 5) : NULL;
    const char *c = app ? memchr(app, ']', (size_t)(l + ll - app)) : NULL;
    if (!c) {
        return 0;
    }
    if (r->first) {
        r->tts = l, r->ttsl = (size_t)(sp - l);
    }
    size_t i = (size_t)(c - l) + 1 + (c + 1 < l + ll && c[1] == ':');
    while (i < ll && l[i] == ' ') {
        i++;
    }
    if (i + 1 < ll && l[i] == '[' && !isdigit((unsigned char)l[i + 1])) { /* "[COLOR] " */
        const char *e = memchr(l + i, ']', ll - i);
        i = e ? (size_t)(e - l) + 1 : i;
        while (i < ll && l[i] == ' ') {
            i++;
        }
    }
    return skip_part_number(l, i, ll);
}

/* Syslog time "Feb 11 13:15:39" (no year: the read time's year, in `timezone:`). */
static bool syslog_time(struct lf_parser *p, const char *t, int64_t *ms)
{
    int mon = lf_month3(t); /* 1..12, 0 if not a month */
    if (mon == 0) {
        return false;
    }
    int64_t days = (p->read_ms > 0 ? p->read_ms : 0) / 86400000;
    int64_t y = (days * 400 + 146096) / 146097 + 1970; /* close enough: checked below */
    while (lf_days_from_civil(y, 1, 1) > days) {
        y--;
    }
    unsigned d = (unsigned)((t[4] == ' ' ? 0 : t[4] - '0') * 10 + (t[5] - '0'));
    int64_t sec = (t[7] - '0') * 36000 + (t[8] - '0') * 3600 + (t[10] - '0') * 600 +
                  (t[11] - '0') * 60 + (t[13] - '0') * 10 + (t[14] - '0');
    int64_t local = (lf_days_from_civil(y, (unsigned)mon, d) * 86400 + sec) * 1000;
    *ms = lf_local_to_utc(p, local);
    if (p->read_ms > 0 && *ms > p->read_ms + 86400000) { /* December's lines read in January */
        local = (lf_days_from_civil(y - 1, (unsigned)mon, d) * 86400 + sec) * 1000;
        *ms = lf_local_to_utc(p, local);
    }
    return true;
}

/* Appends l[0..n) to the section being assembled in scratch ("#011", syslog's TAB, decoded). */
static void section_append(struct pg_record *r, const char *l, size_t n, bool newline)
{
    char *o = (char *)r->msg_end;
    if (newline && r->room) {
        *o++ = '\n';
        r->room--;
    }
    for (size_t i = 0; i < n && r->room; i++, r->room--) {
        bool tab = l[i] == '#' && i + 3 < n && !memcmp(l + i, "#011", 4);
        *o++ = tab ? '\t' : l[i];
        i += tab ? 3 : 0;
    }
    r->msg_end = o;
}

/* Moves the message of a new section into scratch (room: the rest of the record). */
static void section_begin(struct lf_parser *p, struct pg_record *r, size_t room)
{
    const char *m = r->msg;
    size_t ml = (size_t)(r->msg_end - r->msg);
    char *o = lf_scratch_alloc(p, room);
    if (!o) {
        r->copy = false; /* (never expected) the section keeps the raw text */
        return;
    }
    r->room = room;
    r->msg = r->msg_end = o;
    section_append(r, m, ml, false);
}

/* Gives back the scratch room a section did not use. */
static void section_end(struct lf_parser *p, struct pg_record *r)
{
    if (r->copy && r->msg) {
        p->scratch.len -= r->room;
        r->room = 0;
    }
}

/* The header's time and pid when the prefix has none. */
static void transport_fields(struct lf_parser *p, struct pg_record *r)
{
    if (!p->ts_ok && r->ttsl) {
        p->ts_ok = r->ttsl == 15 ? syslog_time(p, r->tts, &p->ts_ms)
                                 : lf_parse_time(p, r->tts, r->ttsl, &p->ts_ms);
    }
    if (r->tpid > 0) {
        lf_f_int(p, "process.pid", r->tpid);
    }
}

/* One physical line: prefixed (a new section) or a continuation. False when the record
 * does not start with a prefixed line. */
static bool pg_line(struct lf_parser *p, struct pg_record *r, const char *l, size_t ll,
                    const char *end)
{
    struct lf_rx *rx = &p->pg;
    size_t h = syslog_header(l, ll, r);
    h = h ? h : logplex_header(l, ll, r);
    if (r->first && h) {
        r->copy = true;
    }
    const char *t = l + h;
    size_t tl = ll - h;
    bool prefixed = pcre2_match(rx->code, (PCRE2_SPTR)t, tl, 0, 0, rx->md, NULL) >= 0;
    if (prefixed && r->msg) {
        section_end(p, r);
        close_section(p, r);
    }
    if (prefixed) {
        bool first = r->first;
        put_prefix(p, r, rx, t);
        if (first && r->copy) {
            transport_fields(p, r);
        }
        if (r->copy && r->msg) {
            section_begin(p, r, (size_t)(end - l));
        }
    } else if (r->first) {
        return false;
    } else if (r->msg && r->copy) {
        section_append(r, t, tl, true);
    } else if (r->msg) {
        r->msg_end = l + ll; /* continuation line */
    }
    return true;
}

static bool pg_stderr(struct lf_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    struct pg_record r = {.first = true, .tpid = -1};
    for (const char *l = s; l < end;) {
        const char *e = memchr(l, '\n', (size_t)(end - l));
        size_t ll = (size_t)((e ? e : end) - l);
        if (ll && l[ll - 1] == '\r') {
            ll--;
        }
        if (!pg_line(p, &r, l, ll, end)) {
            return false;
        }
        l = e ? e + 1 : end;
    }
    if (r.msg) {
        section_end(p, &r);
        close_section(p, &r);
    }
    return !r.first;
}

bool lf_parse_pg(struct lf_parser *p, const char *s, size_t n)
{
    if (n && *s == '{') {
        return lf_parse_pg_json(p, s, n);
    }
    if (lf_pg_is_csv(s, n) && lf_parse_pg_csv(p, s, n)) {
        return true; /* (a csvlog reader that fails wrote nothing: stderr is tried) */
    }
    return pg_stderr(p, s, n);
}
