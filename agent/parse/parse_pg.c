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

static int add(char **b, size_t *len, const char *s)
{
    size_t n = strlen(s);
    char *q = realloc(*b, *len + n + 1);
    if (!q) {
        return LF_ENOMEM;
    }
    memcpy(q + *len, s, n + 1);
    *len += n;
    *b = q;
    return LF_OK;
}

int lf_pg_setup(struct lf_parser *p, const char *prefix, char *err, size_t errlen)
{
    char *rx = NULL;
    size_t len = 0;
    int optional = 0;
    add(&rx, &len, "(?J)^");
    for (const char *s = prefix; *s; s++) {
        char lit[3] = {0};
        if (*s != '%') {
            if (strchr("\\^$.|?*+()[]{}", *s)) {
                lit[0] = '\\';
                lit[1] = *s;
            } else {
                lit[0] = *s;
            }
            add(&rx, &len, lit);
            continue;
        }
        s++;
        const char *g;
        switch (*s) {
        case 'm':
        case 't':
        case 's':
            g = *s == 's' ? "(?:" PG_TS ")" : "(?<timestamp>" PG_TS ")";
            break;
        case 'n':
            g = "(?<epoch>\\d+(?:\\.\\d+)?)";
            break;
        case 'p':
            g = "(?<pid>\\d+)";
            break;
        case 'P':
            g = "\\d*";
            break;
        case 'u':
            g = "(?<user>.*?)";
            break;
        case 'd':
            g = "(?<db>.*?)";
            break;
        case 'a':
            g = "(?<app>.*?)";
            break;
        case 'h':
        case 'r':
            g = "(?<host>.*?)";
            break;
        case 'l':
            g = "(?<line>\\d+)";
            break;
        case 'c':
            g = "(?<session>[0-9a-f.]*)";
            break;
        case 'e':
            g = "(?<sqlstate>[0-9A-Z]{5})";
            break;
        case 'Q':
            g = "(?<queryid>-?\\d+)";
            break;
        case 'q':
            g = "(?:";
            optional++;
            break;
        case '%':
            g = "%";
            break;
        case 'i':
        case 'v':
        case 'x':
        case 'b':
            g = ".*?";
            break;
        default:
            snprintf(err, errlen, "log_line_prefix: unknown escape %%%c", *s ? *s : ' ');
            free(rx);
            return LF_ECONFIG;
        }
        add(&rx, &len, g);
        if (!*s) {
            break;
        }
    }
    while (optional--) {
        add(&rx, &len, ")?");
    }
    add(&rx, &len,
        " *(?<severity>LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|"
        "HINT|CONTEXT|STATEMENT|QUERY|LOCATION):  ?(?<msg>.*)$");
    int rc = lf_rx_compile(&p->pg, rx, NULL, err, errlen);
    free(rx);
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

bool lf_parse_pg(struct lf_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    struct lf_rx *rx = &p->pg;
    bool first = true;
    const char *cur = NULL; /* message start of the current section */
    const char *cur_end = NULL;
    const char *sev = NULL;
    size_t sevl = 0;
    bool have_stmt = false;
    for (const char *l = s;;) {
        const char *e = l < end ? memchr(l, '\n', (size_t)(end - l)) : NULL;
        size_t ll = l < end ? (size_t)((e ? e : end) - l) : 0;
        if (ll && l[ll - 1] == '\r') {
            ll--;
        }
        bool new_section =
            l >= end || pcre2_match(rx->code, (PCRE2_SPTR)l, ll, 0, 0, rx->md, NULL) >= 0;
        if (new_section && cur) {
            /* close the previous section */
            size_t cl = (size_t)(cur_end - cur);
            if (sevl == 3 && !memcmp(sev, "LOG", 3) && sev == NULL) {
            } else if (starts(sev, sevl, "DETAIL")) {
                lf_f_str(p, "postgresql.detail", cur, cl);
            } else if (starts(sev, sevl, "HINT")) {
                lf_f_str(p, "postgresql.hint", cur, cl);
            } else if (starts(sev, sevl, "CONTEXT")) {
                lf_f_str(p, "postgresql.context", cur, cl);
            } else if (starts(sev, sevl, "QUERY")) {
                lf_f_str(p, "postgresql.internal_query", cur, cl);
            } else if (starts(sev, sevl, "STATEMENT")) {
                if (!have_stmt) {
                    lf_query_fields(p, cur, cl);
                }
            } else if (starts(sev, sevl, "LOCATION")) {
                lf_f_str(p, "log.origin.function", cur, cl);
            } else {
                p->msg = cur;
                p->msglen = cl;
                size_t before = p->nf;
                main_message(p, cur, cl);
                have_stmt = p->nf != before;
            }
            cur = NULL;
        }
        if (l >= end) {
            break;
        }
        if (new_section) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rx->md);
            for (uint32_t g = 1; g <= rx->ngroups; g++) {
                if (ov[2 * g] == PCRE2_UNSET || !rx->keys[g]) {
                    continue;
                }
                const char *v = l + ov[2 * g];
                size_t vl = ov[2 * g + 1] - ov[2 * g];
                const char *k = rx->keys[g];
                if (!strcmp(k, "severity")) {
                    sev = v;
                    sevl = vl;
                    if (first) {
                        lf_f_str(p, "log.level", v, vl);
                        p->level = pg_level(v, vl);
                    }
                } else if (!strcmp(k, "msg")) {
                    cur = v;
                    cur_end = v + vl;
                } else if (!first) {
                    continue;
                } else if (!strcmp(k, "timestamp")) {
                    p->ts_ok = lf_parse_time(p, v, vl, &p->ts_ms);
                } else if (!strcmp(k, "epoch")) {
                    p->ts_ok = lf_parse_time(p, v, vl, &p->ts_ms);
                } else if (!vl || (vl == 9 && !memcmp(v, "[unknown]", 9))) {
                    continue;
                } else if (!strcmp(k, "pid") || !strcmp(k, "line")) {
                    lf_f_int(p, *k == 'p' ? "process.pid" : "postgresql.session_line_num",
                             lf_atoi_n(v, vl));
                } else {
                    static const struct {
                        const char *g, *key;
                    } map[] = {{"user", "db.user"},
                               {"db", "db.name"},
                               {"app", "postgresql.application_name"},
                               {"host", "client.address"},
                               {"session", "postgresql.session_id"},
                               {"sqlstate", "error.code"},
                               {"queryid", "postgresql.query_id"}};
                    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
                        if (!strcmp(k, map[i].g)) {
                            lf_f_str(p, map[i].key, v, vl);
                        }
                    }
                }
            }
            first = false;
        } else if (first) {
            return false; /* the record does not start with a prefixed line */
        } else if (cur) {
            cur_end = l + ll; /* continuation line */
        }
        l = e ? e + 1 : end;
        if (!e) {
            l = end;
        }
    }
    return !first;
}
