/* parse_mysql.c - MySQL / Percona / MariaDB slow-log entries (one entry = one record). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

static bool starts(const char *l, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && !memcmp(l, lit, k);
}

static bool is_banner(const char *l, size_t n)
{
    if ((n >= 13 && !memcmp(l + n - 13, "started with:", 13)) ||
        (n > 9 && !strncasecmp(l, "Tcp port:", 9))) {
        return true;
    }
    /* "Time                 Id Command    Argument" (spaces or tabs) */
    return starts(l, n, "Time") && n > 4 && (l[4] == ' ' || l[4] == '\t') &&
           memmem(l, n, "Id", 2) && memmem(l, n, "Command", 7);
}

/* Key name as an ECS-ish key in scratch: "Rows_examined" -> "mysql.slowlog.rows_examined" */
static const char *attr_key(struct lf_parser *p, const char *k, size_t kl)
{
    static const struct {
        const char *in, *out;
    } map[] = {{"Lock_time", "mysql.slowlog.lock_time"},
               {"Rows_sent", "mysql.slowlog.rows_sent"},
               {"Rows_examined", "mysql.slowlog.rows_examined"},
               {"Rows_affected", "mysql.slowlog.rows_affected"},
               {"Thread_id", "mysql.thread_id"},
               {"Id", "mysql.thread_id"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].in) == kl && !memcmp(map[i].in, k, kl)) {
            return map[i].out;
        }
    }
    if (kl > 100) {
        kl = 100; /* keys stay under LF_MAX_KEY */
    }
    char *o = lf_scratch_alloc(p, kl + 15);
    if (!o) {
        return "mysql.slowlog.attr";
    }
    memcpy(o, "mysql.slowlog.", 14);
    for (size_t i = 0; i < kl; i++) {
        o[14 + i] = (char)tolower((unsigned char)k[i]);
    }
    o[14 + kl] = '\0';
    return o;
}

static bool valid_num(const char *v, size_t vl)
{
    return vl && lf_json_skip(v, v + vl, 0) == v + vl && (isdigit((unsigned char)*v) || *v == '-');
}

/* "# Query_time: 1.2  Lock_time: 0  Rows_sent: 1 ..." and other "# Key: value" lines. */
static void attrs(struct lf_parser *p, const char *l, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (l[i] == ' ' || l[i] == '#' || l[i] == '\t')) {
            i++;
        }
        size_t ks = i;
        while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_')) {
            i++;
        }
        size_t kl = i - ks;
        if (i >= n || l[i] != ':' || !kl) {
            /* not "Key:" - skip the word */
            while (i < n && l[i] != ' ') {
                i++;
            }
            continue;
        }
        i++;
        while (i < n && (l[i] == ' ' || l[i] == '\t')) {
            i++;
        }
        size_t vs = i;
        while (i < n && l[i] != ' ' && l[i] != '\t') {
            i++;
        }
        const char *k = l + ks, *v = l + vs;
        size_t vl = i - vs;
        if (kl == 10 && !memcmp(k, "Query_time", 10)) {
            int64_t ns;
            if (lf_sec_to_ns(v, vl, &ns)) {
                p->dur_ns = ns;
            }
        } else if (kl == 6 && !memcmp(k, "Schema", 6)) {
            if (vl) {
                lf_f_str(p, "db.name", v, vl);
            }
        } else if (vl) {
            const char *key = attr_key(p, k, kl);
            if (valid_num(v, vl)) {
                lf_f_num(p, key, v, vl);
            } else {
                lf_f_str(p, key, v, vl);
            }
        }
    }
}

/* "# User@Host: root[root] @ localhost [127.0.0.1]  Id:    4" */
static void user_host(struct lf_parser *p, const char *l, size_t n)
{
    if (n < 13) {
        return;
    }
    size_t i = 13; /* after "# User@Host: " */
    while (i < n && l[i] == ' ') {
        i++;
    }
    size_t us = i;
    while (i < n && l[i] != '[' && l[i] != ' ') {
        i++;
    }
    if (i > us) {
        lf_f_str(p, "db.user", l + us, i - us);
    }
    const char *at = memmem(l + i, n - i, " @ ", 3);
    if (!at) {
        return;
    }
    i = (size_t)(at - l) + 3;
    size_t hs = i;
    while (i < n && l[i] != ' ' && l[i] != '[') {
        i++;
    }
    if (i > hs) {
        lf_f_str(p, "client.domain", l + hs, i - hs);
    }
    while (i < n && l[i] == ' ') {
        i++;
    }
    if (i < n && l[i] == '[') {
        const char *e = memchr(l + i, ']', n - i);
        if (e && e > l + i + 1) {
            lf_f_str(p, "client.ip", l + i + 1, (size_t)(e - l - i - 1));
        }
        i = e ? (size_t)(e - l) + 1 : n;
    }
    attrs(p, l + i, n - i);
}

/* What the lines of an entry showed so far. */
struct slow_entry {
    const char *stmt, *stmt_end; /* the statement lines */
    bool header;                 /* a "# " header line */
    bool have_qt;                /* a "# Query_time:" line */
    bool banner;                 /* a server start banner line */
    bool have_time, time_zoned;  /* a "# Time:" line; it carries its zone (5.7+ ISO form) */
    int64_t time_ms;             /* its time */
    int64_t set_s;               /* "SET timestamp=N;" (0: none) */
};

/* "# Time: ...", "# User@Host: ...", "# Query_time: ..." and other "# Key: value" lines. */
static void header_line(struct lf_parser *p, struct slow_entry *x, const char *l, size_t ll)
{
    x->header = true;
    if (starts(l, ll, "# Time:")) {
        size_t k = 7;
        while (k < ll && l[k] == ' ') {
            k++;
        }
        const char *v = l + k;
        size_t vl = ll - k;
        x->have_time = lf_parse_time(p, v, vl, &x->time_ms) || x->have_time;
        x->time_zoned =
            vl > 19 && v[4] == '-' &&
            (v[vl - 1] == 'Z' || ((v[vl - 6] == '+' || v[vl - 6] == '-') && v[vl - 3] == ':'));
    } else if (starts(l, ll, "# User@Host:")) {
        user_host(p, l, ll);
    } else {
        x->have_qt |= starts(l, ll, "# Query_time:");
        attrs(p, l, ll);
    }
}

static bool is_use_line(const char *l, size_t ll)
{
    return ll > 4 && !strncasecmp(l, "use ", 4) && l[ll - 1] == ';' && !memchr(l, '\n', ll);
}

/* "use db;" or "use `db`;" */
static void use_line(struct lf_parser *p, const char *l, size_t ll)
{
    size_t k = 4;
    while (k < ll && l[k] == ' ') {
        k++;
    }
    size_t vl = ll - 1 - k;
    if (vl >= 2 && l[k] == '`' && l[ll - 2] == '`') {
        k++;
        vl -= 2;
    }
    lf_f_str(p, "db.name", l + k, vl);
}

/* "SET timestamp=N;": the query start, whole seconds. */
static void set_timestamp(struct slow_entry *x, const char *l, size_t ll)
{
    int64_t t = lf_atoi_n(l + 14, ll - 14);
    if (t > 0 && t <= INT64_MAX / 1000) { /* larger: no time, not an overflow */
        x->set_s = t;
    }
}

/* @timestamp: "# Time:" when it carries its zone (MySQL 5.7+: microseconds, the query's
 * end), else "SET timestamp=" (UTC, the query's start), else the zoneless old "# Time:".
 * When both are there they must agree: the start lies between end - Query_time - 1 s and
 * end + 1 s; otherwise the record is flagged timestamp_mismatch. */
static void entry_time(struct lf_parser *p, const struct slow_entry *x)
{
    if (!x->have_time && !x->set_s) {
        return;
    }
    p->ts_ok = true;
    p->ts_ms = x->have_time && (x->time_zoned || !x->set_s) ? x->time_ms : x->set_s * 1000;
    if (x->have_time && x->set_s) {
        int64_t start = x->set_s * 1000, q = p->dur_ns > 0 ? p->dur_ns / 1000000 : 0;
        p->ts_mismatch = start < x->time_ms - q - 2000 || start > x->time_ms + 1000;
    }
}

/* One line of the entry; lines before the statement are headers, use, SET timestamp. */
static void entry_line(struct lf_parser *p, struct slow_entry *x, const char *l, size_t ll)
{
    if (x->stmt) {
        x->stmt_end = l + ll;
    } else if (l[0] != '#' && l[0] != 'u' && l[0] != 'S' && is_banner(l, ll)) {
        x->banner = true; /* server start banner: dropped */
    } else if (ll >= 2 && l[0] == '#' && l[1] == ' ' &&
               !starts(l, ll, "# administrator command:")) {
        header_line(p, x, l, ll);
    } else if (is_use_line(l, ll)) {
        use_line(p, l, ll);
    } else if (starts(l, ll, "SET timestamp=")) {
        set_timestamp(x, l, ll);
    } else if (ll) {
        x->stmt = l;
        x->stmt_end = l + ll;
    }
}

/* The statement: db.statement and friends, and an administrator command's name. */
static void put_statement(struct lf_parser *p, const char *stmt, size_t sl)
{
    if (starts(stmt, sl, "# administrator command: ")) {
        stmt += 25;
        sl -= 25;
        lf_f_str(p, "mysql.slowlog.admin_command", stmt, sl && stmt[sl - 1] == ';' ? sl - 1 : sl);
    }
    lf_query_fields(p, stmt, sl);
}

bool lf_parse_mysql(struct lf_parser *p, const char *s, size_t n, bool *drop)
{
    const char *end = s + n;
    struct slow_entry x = {0};
    for (const char *l = s; l < end;) {
        const char *e = memchr(l, '\n', (size_t)(end - l));
        size_t ll = (size_t)((e ? e : end) - l);
        if (ll && l[ll - 1] == '\r') {
            ll--;
        }
        entry_line(p, &x, l, ll);
        l = e ? e + 1 : end;
    }
    entry_time(p, &x);
    if (!x.stmt && !x.have_qt) {
        /* banner or a lone "# Time:" line: not a query */
        *drop = x.header || x.banner || n == 0;
        return *drop;
    }
    size_t sl = x.stmt ? (size_t)(x.stmt_end - x.stmt) : 0;
    if (!x.header && !(x.stmt && starts(x.stmt, sl, "# administrator command: "))) {
        return false; /* a statement without any "# " header is not a slow-log entry */
    }
    p->rtype = LF_TYPE_QUERY;
    if (x.stmt) {
        put_statement(p, x.stmt, sl);
    }
    return true;
}
