/* parse_mongo.c - MongoDB structured logs (4.4+ "logv2": one JSON object per line with
 * t.$date, s, c, id, ctx, msg, attr). Every line becomes a record (time, level, component,
 * message); a slow operation ("Slow query", id 51803) also fills the query schema:
 * duration (durationMillis), namespace, plan summary, keys/docs examined, and the
 * command as db.statement with a fingerprint of its shape (keys kept, values -> ?).
 * Values point into the record or into p->scratch.
 */
#include <string.h>

#include "parse_int.h"

#define MONGO_MEMBERS 64

/* ---- fingerprint of a command's shape */

/* Top-level command members that vary per call, not per query shape. */
static bool session_key(const char *k, size_t kl)
{
    static const char *const keys[] = {
        "lsid",       "$clusterTime",     "$db",       "$readPreference", "txnNumber",
        "autocommit", "startTransaction", "maxTimeMS", "maxAwaitTimeMS",  "$audit",
        NULL};
    for (int i = 0; keys[i]; i++) {
        if (strlen(keys[i]) == kl && !memcmp(keys[i], k, kl)) {
            return true;
        }
    }
    return false;
}

static char *shape(const char *v, const char *e, char *o, int depth);

/* {"k": shape, ...}: keys kept in their order (sort and index order matter). */
static char *shape_object(const char *v, const char *e, char *o, int depth)
{
    struct lf_json_member m[MONGO_MEMBERS];
    size_t n = lf_json_members(v, e, m, MONGO_MEMBERS);
    *o++ = '{';
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (depth == 0 && session_key(m[i].k, m[i].kl)) {
            continue;
        }
        if (any) {
            *o++ = ',';
        }
        any = true;
        *o++ = '"';
        memcpy(o, m[i].k, m[i].kl);
        o += m[i].kl;
        *o++ = '"';
        *o++ = ':';
        o = shape(m[i].v, m[i].v + m[i].vl, o, depth + 1);
    }
    *o++ = '}';
    return o;
}

/* A value's shape: objects keep their keys, an array becomes the shape of its first
 * element (a batch of N documents has the shape of one), anything else is "?". The
 * result is never longer than the value. */
static char *shape(const char *v, const char *e, char *o, int depth)
{
    if (depth < 16 && *v == '{') {
        const char *b = lf_json_ws(v + 1, e);
        static const char *const scalars[] = {
            "\"$oid\"",       "\"$date\"",   "\"$numberLong\"", "\"$numberDecimal\"",
            "\"$timestamp\"", "\"$binary\"", "\"$uuid\"",       NULL};
        for (int i = 0; scalars[i]; i++) {
            size_t k = strlen(scalars[i]);
            if ((size_t)(e - b) > k && !memcmp(b, scalars[i], k)) {
                *o++ = '?'; /* an extended-JSON scalar */
                return o;
            }
        }
        return shape_object(v, e, o, depth);
    }
    if (depth < 16 && *v == '[') {
        const char *first = lf_json_ws(v + 1, e);
        const char *fe = *first != ']' ? lf_json_skip(first, e, 0) : NULL;
        *o++ = '[';
        if (fe) {
            o = shape(first, fe, o, depth + 1);
        }
        *o++ = ']';
        return o;
    }
    *o++ = '?';
    return o;
}

/* ---- the record */

static int mongo_level(const char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    switch (s[0]) {
    case 'F':
        return lf_level_index("FATAL", 5);
    case 'E':
        return lf_level_index("ERROR", 5);
    case 'W':
        return lf_level_index("WARN", 4);
    case 'I':
        return lf_level_index("INFO", 4);
    case 'D':
        return lf_level_index("DEBUG", 5);
    default:
        return 0;
    }
}

/* t: {"$date":"2023-09-23T16:25:03.588-04:00"} or {"$date":{"$numberLong":"..."}}. */
static void put_time(struct lf_parser *p, const struct lf_json_member *t)
{
    const char *v = t->v, *e = t->v + t->vl;
    if (*v == '{') {
        struct lf_json_member m[4];
        const struct lf_json_member *d = lf_json_member(m, lf_json_members(v, e, m, 4), "$date");
        if (!d) {
            return;
        }
        v = d->v, e = d->v + d->vl;
        if (*v == '{') {
            const struct lf_json_member *nl =
                lf_json_member(m, lf_json_members(v, e, m, 4), "$numberLong");
            if (!nl) {
                return;
            }
            v = nl->v, e = nl->v + nl->vl;
        }
    }
    const char *s;
    size_t n;
    lf_json_text(p, v, (size_t)(e - v), &s, &n);
    p->ts_ok = lf_parse_time(p, s, n, &p->ts_ms);
}

static void put_str(struct lf_parser *p, const char *key, const struct lf_json_member *x)
{
    if (x && *x->v == '"') {
        const char *s;
        size_t n;
        lf_json_text(p, x->v, x->vl, &s, &n);
        lf_f_str(p, key, s, n);
    }
}

static void put_num(struct lf_parser *p, const char *key, const struct lf_json_member *x)
{
    if (x && (x->v[0] == '-' || (x->v[0] >= '0' && x->v[0] <= '9'))) {
        lf_f_num(p, key, x->v, x->vl);
    }
}

/* "db.coll" -> db.name, db.collection.name ("db.$cmd": the database only). */
static void put_ns(struct lf_parser *p, const struct lf_json_member *ns)
{
    if (!ns || *ns->v != '"') {
        return;
    }
    const char *s = ns->v + 1;
    size_t n = ns->vl - 2;
    const char *dot = memchr(s, '.', n);
    lf_f_str(p, "db.name", s, dot ? (size_t)(dot - s) : n);
    if (dot && dot + 1 < s + n && dot[1] != '$') {
        lf_f_str(p, "db.collection.name", dot + 1, (size_t)(s + n - dot - 1));
    }
}

/* The command: db.statement (its JSON text), db.fingerprint, db.operation.name. */
static void put_command(struct lf_parser *p, const struct lf_json_member *cmd,
                        const struct lf_json_member *type)
{
    if (!cmd || *cmd->v != '{') {
        return;
    }
    lf_f_str(p, "db.statement", cmd->v, cmd->vl);
    char *fp = lf_scratch_alloc(p, cmd->vl + 1);
    if (fp) {
        size_t fl = (size_t)(shape(cmd->v, cmd->v + cmd->vl, fp, 0) - fp);
        p->scratch.len -= cmd->vl + 1 - fl;
        lf_f_str(p, "db.fingerprint", fp, fl);
    }
    struct lf_json_member first[1];
    const char *op = NULL;
    size_t ol = 0;
    if (type && *type->v == '"' && memcmp(type->v, "\"command\"", 9)) {
        op = type->v + 1, ol = type->vl - 2; /* WRITE: "update", "remove", "insert" */
    } else if (lf_json_members(cmd->v, cmd->v + cmd->vl, first, 1) == 1) {
        op = first[0].k, ol = first[0].kl; /* the command name is its first key */
    }
    if (op) {
        lf_f_str(p, "db.operation.name", op, ol);
    }
}

/* attr of a slow operation -> query fields. */
static void put_slow(struct lf_parser *p, const struct lf_json_member *attr)
{
    struct lf_json_member a[MONGO_MEMBERS];
    size_t n = lf_json_members(attr->v, attr->v + attr->vl, a, MONGO_MEMBERS);
    put_ns(p, lf_json_member(a, n, "ns"));
    put_command(p, lf_json_member(a, n, "command"), lf_json_member(a, n, "type"));
    put_str(p, "mongodb.plan_summary", lf_json_member(a, n, "planSummary"));
    put_num(p, "mongodb.keys_examined", lf_json_member(a, n, "keysExamined"));
    put_num(p, "mongodb.docs_examined", lf_json_member(a, n, "docsExamined"));
    put_num(p, "mongodb.nreturned", lf_json_member(a, n, "nreturned"));
    put_num(p, "mongodb.num_yields", lf_json_member(a, n, "numYields"));
    put_num(p, "mongodb.reslen", lf_json_member(a, n, "reslen"));
    put_str(p, "mongodb.query_hash", lf_json_member(a, n, "queryHash"));
    put_str(p, "mongodb.app_name", lf_json_member(a, n, "appName"));
    put_str(p, "client.address", lf_json_member(a, n, "remote"));
    put_str(p, "error.type", lf_json_member(a, n, "errName"));
    put_str(p, "error.message", lf_json_member(a, n, "errMsg"));
    const struct lf_json_member *d = lf_json_member(a, n, "durationMillis");
    if (d && d->v[0] >= '0' && d->v[0] <= '9') {
        p->dur_ns = lf_atoi_n(d->v, d->vl) * 1000000;
    }
}

bool lf_parse_mongo(struct lf_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    const char *b = lf_json_ws(s, end);
    const char *e = b < end && *b == '{' ? lf_json_skip(b, end, 0) : NULL;
    if (!e || lf_json_ws(e, end) != end) {
        return false;
    }
    struct lf_json_member m[MONGO_MEMBERS];
    size_t nm = lf_json_members(b, e, m, MONGO_MEMBERS);
    const struct lf_json_member *t = lf_json_member(m, nm, "t"),
                                *msg = lf_json_member(m, nm, "msg");
    const struct lf_json_member *sev = lf_json_member(m, nm, "s"),
                                *attr = lf_json_member(m, nm, "attr");
    if (!t || !msg || *msg->v != '"') {
        return false; /* not a MongoDB log line */
    }
    put_time(p, t);
    lf_json_text(p, msg->v, msg->vl, &p->msg, &p->msglen);
    if (sev && *sev->v == '"') {
        lf_put_level(p, mongo_level(sev->v + 1, sev->vl - 2), sev->v + 1, sev->vl - 2);
    }
    put_str(p, "mongodb.component", lf_json_member(m, nm, "c"));
    put_num(p, "mongodb.id", lf_json_member(m, nm, "id"));
    put_str(p, "mongodb.context", lf_json_member(m, nm, "ctx"));
    bool slow = p->msglen == 10 && !memcmp(p->msg, "Slow query", 10);
    if (slow && attr && *attr->v == '{') {
        put_slow(p, attr);
    } else if (attr) {
        lf_f_json(p, "mongodb.attr", attr->v, attr->vl);
    }
    return true;
}
