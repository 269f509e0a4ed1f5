/* parse_pglog.c - PostgreSQL csvlog and jsonlog records: PG 15+ jsonlog, CloudNativePG's
 * wrapper (the csvlog columns in a "record" object) and Cloud SQL's envelope (a stderr
 * line in "textPayload"). They fill the same query-record fields as the stderr form
 * (parse_pg.c). The CSV reader handles quoted fields holding newlines and doubled quotes
 * (the multi-line preset keeps such a record together); JSON strings are decoded by
 * parse_json.c. Values point into the record or into p->scratch.
 */
#include <string.h>

#include "parse_int.h"

/* The columns the record schema uses, whatever the form. */
enum pgc {
    C_TIME,
    C_USER,
    C_DB,
    C_PID,
    C_CLIENT,
    C_SESSION,
    C_LINE,
    C_SEV,
    C_STATE,
    C_MSG,
    C_DETAIL,
    C_HINT,
    C_IQUERY,
    C_CONTEXT,
    C_QUERY,
    C_LOCATION,
    C_APP,
    C_BACKEND,
    C_QUERYID,
    C_N
};

struct pgv {
    const char *s;
    size_t n;
    bool set;
};

/* csvlog column -> schema column (-1: not used). PG 13 has 24 columns, 14+ 26. */
static const signed char csv_cols[] = {
    C_TIME,    C_USER,  C_DB,  C_PID,      C_CLIENT, C_SESSION, C_LINE, -1,       -1,
    -1,        -1,      C_SEV, C_STATE,    C_MSG,    C_DETAIL,  C_HINT, C_IQUERY, -1,
    C_CONTEXT, C_QUERY, -1,    C_LOCATION, C_APP,    C_BACKEND, -1,     C_QUERYID};
#define CSV_MAX ((int)sizeof(csv_cols))

/* Keys of jsonlog (PG 15+) and of CloudNativePG's "record" per schema column. */
static const struct {
    const char *json, *cnpg;
} pg_keys[C_N] = {
    [C_TIME] = {"timestamp", "log_time"},
    [C_USER] = {"user", "user_name"},
    [C_DB] = {"dbname", "database_name"},
    [C_PID] = {"pid", "process_id"},
    [C_CLIENT] = {"remote_host", "connection_from"},
    [C_SESSION] = {"session_id", "session_id"},
    [C_LINE] = {"line_num", "session_line_num"},
    [C_SEV] = {"error_severity", "error_severity"},
    [C_STATE] = {"state_code", "sql_state_code"},
    [C_MSG] = {"message", "message"},
    [C_DETAIL] = {"detail", "detail"},
    [C_HINT] = {"hint", "hint"},
    [C_IQUERY] = {"internal_query", "internal_query"},
    [C_CONTEXT] = {"context", "context"},
    [C_QUERY] = {"statement", "query"},
    [C_LOCATION] = {"func_name", "location"},
    [C_APP] = {"application_name", "application_name"},
    [C_BACKEND] = {"backend_type", "backend_type"},
    [C_QUERYID] = {"query_id", "query_id"},
};

/* Plain string columns: schema column -> output key. */
static const struct {
    enum pgc c;
    const char *key;
} pg_str[] = {
    {C_USER, "db.user"},
    {C_DB, "db.name"},
    {C_CLIENT, "client.address"},
    {C_APP, "postgresql.application_name"},
    {C_SESSION, "postgresql.session_id"},
    {C_DETAIL, "postgresql.detail"},
    {C_HINT, "postgresql.hint"},
    {C_CONTEXT, "postgresql.context"},
    {C_IQUERY, "postgresql.internal_query"},
    {C_LOCATION, "log.origin.function"},
    {C_BACKEND, "postgresql.backend_type"},
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool eq(const struct pgv *v, const char *lit)
{
    size_t k = strlen(lit);
    return v->n == k && !memcmp(v->s, lit, k);
}

/* Writes the columns found as query-record fields. */
static void put_values(struct lf_parser *p, const struct pgv *v)
{
    if (v[C_TIME].set) {
        p->ts_ok = lf_parse_time(p, v[C_TIME].s, v[C_TIME].n, &p->ts_ms);
    }
    if (v[C_PID].n) {
        lf_f_int(p, "process.pid", lf_atoi_n(v[C_PID].s, v[C_PID].n));
    }
    for (size_t i = 0; i < sizeof(pg_str) / sizeof(pg_str[0]); i++) {
        const struct pgv *x = &v[pg_str[i].c];
        if (x->n && !eq(x, "[unknown]")) {
            lf_f_str(p, pg_str[i].key, x->s, x->n);
        }
    }
    if (v[C_LINE].n) {
        lf_f_int(p, "postgresql.session_line_num", lf_atoi_n(v[C_LINE].s, v[C_LINE].n));
    }
    if (v[C_STATE].n && !eq(&v[C_STATE], "00000")) {
        lf_f_str(p, "error.code", v[C_STATE].s, v[C_STATE].n);
    }
    if (v[C_QUERYID].n && !eq(&v[C_QUERYID], "0")) {
        lf_f_str(p, "postgresql.query_id", v[C_QUERYID].s, v[C_QUERYID].n);
    }
    if (v[C_SEV].n) {
        lf_f_str(p, "log.level", v[C_SEV].s, v[C_SEV].n);
        p->level = lf_pg_level(v[C_SEV].s, v[C_SEV].n);
    }
    size_t before = p->nf;
    if (v[C_MSG].set) {
        p->msg = v[C_MSG].s;
        p->msglen = v[C_MSG].n;
        lf_pg_message(p, v[C_MSG].s, v[C_MSG].n);
    }
    if (p->nf == before && v[C_QUERY].n) { /* an ERROR's statement */
        lf_query_fields(p, v[C_QUERY].s, v[C_QUERY].n);
    }
}

/* ---- csvlog */

bool lf_pg_is_csv(const char *s, size_t n)
{
    size_t i = n && s[0] == '"';
    if (n < i + 21 || !is_digit(s[i]) || s[i + 4] != '-' || s[i + 10] != ' ' || s[i + 13] != ':' ||
        !memchr(s + i + 19, ',', n - i - 19 < 21 ? n - i - 19 : 21)) {
        return false; /* (the memchr: a stderr line has no comma this early) */
    }
    /* user_name follows: quoted or empty ("%m,%p" in a stderr prefix has a digit) */
    for (size_t j = i + 19; j < n && j < i + 40; j++) { /* fraction, zone, closing quote */
        if (s[j] == ',') {
            return j + 1 < n && (s[j + 1] == '"' || s[j + 1] == ',');
        }
        if (s[j] == '[' || s[j] == '\n') {
            return false;
        }
    }
    return false;
}

/* One quoted field at s (past the opening quote): its end (the closing quote) or NULL;
 * *dbl tells whether it holds doubled quotes. */
static const char *csv_quoted_end(const char *s, const char *end, bool *dbl)
{
    *dbl = false;
    while ((s = memchr(s, '"', (size_t)(end - s))) != NULL) {
        if (s + 1 < end && s[1] == '"') {
            *dbl = true;
            s += 2;
            continue;
        }
        return s;
    }
    return NULL;
}

/* Undoes "" -> " into scratch. */
static void csv_unquote(struct lf_parser *p, struct pgv *v)
{
    char *o = lf_scratch_alloc(p, v->n);
    if (!o) {
        return; /* (never expected: scratch has room for the record) kept as logged */
    }
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++) {
        o[k++] = v->s[i];
        i += v->s[i] == '"' && i + 1 < v->n && v->s[i + 1] == '"';
    }
    p->scratch.len -= v->n - k;
    v->s = o;
    v->n = k;
}

/* Reads one field at *s; false when the record is malformed (an unclosed quote). */
static bool csv_field(struct lf_parser *p, const char **s, const char *end, struct pgv *v)
{
    const char *q = *s;
    v->set = true;
    if (q < end && *q == '"') {
        bool dbl;
        const char *e = csv_quoted_end(q + 1, end, &dbl);
        if (!e) {
            return false;
        }
        v->s = q + 1;
        v->n = (size_t)(e - q - 1);
        if (dbl) {
            csv_unquote(p, v);
        }
        *s = e + 1;
        return *s == end || **s == ',';
    }
    const char *e = memchr(q, ',', (size_t)(end - q));
    v->s = q;
    v->n = (size_t)((e ? e : end) - q);
    *s = e ? e : end;
    return true;
}

bool lf_parse_pg_csv(struct lf_parser *p, const char *s, size_t n)
{
    struct pgv v[C_N] = {{0}};
    const char *end = s + n;
    int col = 0;
    for (const char *q = s; col < CSV_MAX; col++) {
        struct pgv f;
        if (!csv_field(p, &q, end, &f)) {
            return false;
        }
        if (csv_cols[col] >= 0) {
            v[csv_cols[col]] = f;
        }
        if (q >= end) {
            break;
        }
        q++; /* the comma */
    }
    if (col < 13) { /* not even the message column: not a csvlog record */
        return false;
    }
    put_values(p, v);
    return true;
}

/* ---- jsonlog, CloudNativePG, Cloud SQL */

/* Fills v from the members, by jsonlog keys (cnpg false) or CloudNativePG's. */
static void json_values(struct lf_parser *p, const struct lf_json_member *m, size_t n, bool cnpg,
                        struct pgv *v)
{
    for (int c = 0; c < C_N; c++) {
        const struct lf_json_member *x =
            lf_json_member(m, n, cnpg ? pg_keys[c].cnpg : pg_keys[c].json);
        if (x && !(x->vl == 4 && !memcmp(x->v, "null", 4))) {
            lf_json_text(p, x->v, x->vl, &v[c].s, &v[c].n);
            v[c].set = true;
        }
    }
}

/* A CloudNativePG line of another logger (instance manager, WAL archiver). */
static void cnpg_other(struct lf_parser *p, const struct lf_json_member *m, size_t n)
{
    static const char *const keys[] = {"msg", "level", "logger", "ts"};
    struct pgv v[4] = {{0}};
    for (int i = 0; i < 4; i++) {
        const struct lf_json_member *x = lf_json_member(m, n, keys[i]);
        if (x) {
            lf_json_text(p, x->v, x->vl, &v[i].s, &v[i].n);
            v[i].set = true;
        }
    }
    if (v[0].set) {
        p->msg = v[0].s;
        p->msglen = v[0].n;
    }
    if (v[1].set) {
        lf_put_level(p, lf_level_index(v[1].s, v[1].n), v[1].s, v[1].n);
    }
    if (v[2].set) {
        lf_f_str(p, "log.logger", v[2].s, v[2].n);
    }
    if (v[3].set) {
        p->ts_ok = lf_parse_time(p, v[3].s, v[3].n, &p->ts_ms);
    }
}

bool lf_parse_pg_json(struct lf_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    const char *e = lf_json_skip(s, end, 0);
    if (!e || lf_json_ws(e, end) != end) {
        return false;
    }
    struct lf_json_member m[64], r[64];
    size_t nm = lf_json_members(s, e, m, 64);
    struct pgv v[C_N] = {{0}};
    const struct lf_json_member *rec = lf_json_member(m, nm, "record");
    const struct lf_json_member *tp = lf_json_member(m, nm, "textPayload");
    if (rec && *rec->v == '{') { /* CloudNativePG */
        json_values(p, r, lf_json_members(rec->v, rec->v + rec->vl, r, 64), true, v);
    } else if (tp && *tp->v == '"') { /* Cloud SQL: a stderr line, its time outside */
        const char *t;
        size_t tl;
        lf_json_text(p, tp->v, tp->vl, &t, &tl);
        bool ok = lf_parse_pg(p, t, tl);
        const struct lf_json_member *ts = lf_json_member(m, nm, "timestamp");
        if (ok && !p->ts_ok && ts) {
            lf_json_text(p, ts->v, ts->vl, &t, &tl);
            p->ts_ok = lf_parse_time(p, t, tl, &p->ts_ms);
        }
        return ok;
    } else if (lf_json_member(m, nm, "error_severity")) {
        json_values(p, m, nm, false, v);
    } else {
        cnpg_other(p, m, nm);
        return true;
    }
    put_values(p, v);
    return true;
}
