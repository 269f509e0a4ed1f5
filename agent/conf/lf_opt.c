/* lf_opt.c - the typed option engine: units, YAML filling, defaults, freeing, docs.
 *
 * The tables in lf_opt.h are the single source; this file interprets them. It knows
 * nothing about which sections exist (that is lf_conf.c).
 */
#include "lf_optfill.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lf_logsetup.h"
#include "lf_vec.h"
#include "logferry/lf_err.h"

#define OPT_MAX_KEYS 64 /* keys per table; checked by lf_opt_table_validate */

/* ---- units ---------------------------------------------------------------------- */

static int parse_number_prefix(const char *s, double *val, const char **rest)
{
    char *end;
    errno = 0;
    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (!isdigit((unsigned char)*s)) {
        return LF_EINVAL;
    }
    *val = strtod(s, &end);
    if (errno || end == s) {
        return LF_EINVAL;
    }
    while (isspace((unsigned char)*end)) {
        end++;
    }
    *rest = end;
    return LF_OK;
}

int lf_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1024.0},
        {"kb", 1024.0},
        {"kib", 1024.0},
        {"m", 1048576.0},
        {"mb", 1048576.0},
        {"mib", 1048576.0},
        {"g", 1073741824.0},
        {"gb", 1073741824.0},
        {"gib", 1073741824.0},
        {"t", 1099511627776.0},
        {"tb", 1099511627776.0},
        {"tib", 1099511627776.0},
    };
    double v;
    const char *rest;
    if (!s || parse_number_prefix(s, &v, &rest) != LF_OK) {
        return LF_EINVAL;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(rest, units[i].suffix) == 0) {
            double bytes = v * units[i].mult;
            if (bytes >= 18446744073709551615.0) {
                return LF_ETOOBIG;
            }
            *out = (uint64_t)bytes;
            return LF_OK;
        }
    }
    return LF_EINVAL;
}

int lf_parse_duration_ms(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        double mult_ms;
    } units[] = {
        {"us", 0.001},  {"ms", 1},      {"s", 1000},     {"m", 60000},
        {"min", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    double v;
    const char *rest;
    if (!s || parse_number_prefix(s, &v, &rest) != LF_OK) {
        return LF_EINVAL;
    }
    if (*rest == '\0') {
        if (v == 0) {
            *out = 0;
            return LF_OK;
        }
        return LF_EINVAL; /* a bare number is ambiguous: say 10s or 250ms */
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(rest, units[i].suffix) == 0) {
            double ms = v * units[i].mult_ms;
            if (ms > 9.2e18) {
                return LF_ETOOBIG;
            }
            *out = (int64_t)ms;
            return LF_OK;
        }
    }
    return LF_EINVAL;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
        return LF_EINVAL;
    }
    *out = v;
    return LF_OK;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return LF_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return LF_OK;
        }
    }
    return LF_EINVAL;
}

static int parse_enum(const char *s, const char *const *choices, int *out)
{
    for (int i = 0; choices && choices[i]; i++) {
        if (strcmp(s, choices[i]) == 0) {
            *out = i;
            return LF_OK;
        }
    }
    return LF_EINVAL;
}

/* ---- env substitution ----------------------------------------------------------- */

static const char *env_lookup(char **envp, const char *name, size_t len)
{
    if (!envp) {
        char tmp[256];
        if (len >= sizeof(tmp)) {
            return NULL;
        }
        memcpy(tmp, name, len);
        tmp[len] = '\0';
        return getenv(tmp);
    }
    for (char **e = envp; *e; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
            return *e + len + 1;
        }
    }
    return NULL;
}

int lf_env_substitute(const char *s, size_t len, char **envp, struct lf_buf *out, char *missing,
                      size_t cap)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] != '$' || i + 1 >= len) {
            if (lf_buf_append_char(out, s[i++]) != LF_OK) {
                return LF_ENOMEM;
            }
            continue;
        }
        if (s[i + 1] == '$') { /* "$$" is a literal "$" */
            lf_buf_append_char(out, '$');
            i += 2;
            continue;
        }
        const char *close = s[i + 1] == '{' ? memchr(s + i + 2, '}', len - i - 2) : NULL;
        if (!close) {
            lf_buf_append_char(out, s[i++]);
            continue;
        }
        const char *name = s + i + 2;
        size_t body = (size_t)(close - name);
        const char *dflt = NULL;
        size_t name_len = body;
        for (size_t k = 0; k + 1 < body; k++) {
            if (name[k] == ':' && name[k + 1] == '-') {
                name_len = k;
                dflt = name + k + 2;
                break;
            }
        }
        const char *val = env_lookup(envp, name, name_len);
        if (!val && !dflt) {
            snprintf(missing, cap, "%.*s", (int)name_len, name);
            return LF_ENOTFOUND;
        }
        int rc =
            val ? lf_buf_append_str(out, val) : lf_buf_append(out, dflt, (size_t)(close - dflt));
        if (rc != LF_OK) {
            return rc;
        }
        i = (size_t)(close - s) + 1;
    }
    return lf_buf_append(out, "", 0);
}

/* ---- node helpers --------------------------------------------------------------- */

void lf_node_pos(struct fy_node *n, int *line, int *col)
{
    *line = 0;
    *col = 0;
    while (n) {
        if (fy_node_is_scalar(n)) {
            struct fy_token *t = fy_node_get_scalar_token(n);
            const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
            if (m) {
                *line = m->line + 1;
                *col = m->column + 1;
            }
            return;
        }
        void *it = NULL;
        if (fy_node_is_mapping(n)) {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
        } else {
            n = fy_node_sequence_iterate(n, &it);
        }
    }
}

struct fy_node *lf_node_lookup(struct fy_node *map, const char *key)
{
    if (!map || !fy_node_is_mapping(map)) {
        return NULL;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(p));
        if (k && strcmp(k, key) == 0) {
            return fy_node_pair_value(p);
        }
    }
    return NULL;
}

void lf_node_key_pos(struct fy_node *map, const char *key, int *line, int *col)
{
    *line = 0;
    *col = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while (map && fy_node_is_mapping(map) && (p = fy_node_mapping_iterate(map, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(p));
        if (k && strcmp(k, key) == 0) {
            lf_node_pos(fy_node_pair_key(p), line, col);
            return;
        }
    }
}

size_t lf_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) {
        return 64;
    }
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            if (prev[j - 1] + cost < best) {
                best = prev[j - 1] + cost;
            }
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

/* ---- filling -------------------------------------------------------------------- */

#define FIELD(obj, o, T) ((T *)((char *)(obj) + (o)->offset))

static void expect_error(struct lf_optfill *f, struct fy_node *n, const char *where,
                         const char *key, const char *what)
{
    int line, col;
    lf_node_pos(n, &line, &col);
    lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s: expected %s", where, key, what);
}

/* Returns the substituted scalar text of n (owned by f's scratch buffer) or NULL. */
static const char *scalar_text(struct lf_optfill *f, struct fy_node *n, const char *where,
                               const char *key, struct lf_buf *scratch)
{
    if (!n || !fy_node_is_scalar(n)) {
        expect_error(f, n, where, key, "a single value, not a list or mapping");
        return NULL;
    }
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    char missing[128];
    lf_buf_reset(scratch);
    int rc = lf_env_substitute(s ? s : "", s ? len : 0, f->envp, scratch, missing, sizeof(missing));
    if (rc == LF_ENOTFOUND) {
        int line, col;
        lf_node_pos(n, &line, &col);
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col,
                    "%s.%s: environment variable '%s' is not set (use ${%s:-default})", where, key,
                    missing, missing);
        return NULL;
    }
    return rc == LF_OK ? scratch->data : NULL;
}

static const char *range_hint(const struct lf_opt *o, char *buf, size_t cap)
{
    if (o->max == 0) {
        snprintf(buf, cap, " (at least %" PRId64 ")", o->min);
    } else {
        snprintf(buf, cap, " (allowed %" PRId64 "..%" PRId64 ")", o->min, o->max);
    }
    return buf;
}

static bool has_range(const struct lf_opt *o)
{
    return o->min != 0 || o->max != 0;
}

/* max 0 with a non-zero min means "no upper bound" (lf_opt.h: 0,0 = none). */
static int64_t range_max(const struct lf_opt *o)
{
    return o->max == 0 ? INT64_MAX : o->max;
}

/* Parses one scalar of `type` into dst. Returns LF_OK or LF_EINVAL / LF_ERANGE-like. */
static int parse_scalar(const struct lf_opt *o, enum lf_opt_type type, const char *s, void *dst)
{
    int64_t v = 0;
    int rc;
    switch (type) {
    case LF_OPT_STR: {
        char *dup = strdup(s);
        if (!dup) {
            return LF_ENOMEM;
        }
        if (o->flags & LF_OPT_SECRET) {
            lf_log_add_secret(s); /* never printed in a log line from now on */
        }
        free(*(char **)dst);
        *(char **)dst = dup;
        return LF_OK;
    }
    case LF_OPT_INT:
        rc = parse_int(s, &v);
        break;
    case LF_OPT_SIZE: {
        uint64_t u;
        rc = lf_parse_size(s, &u);
        if (rc == LF_OK && u > INT64_MAX) {
            rc = LF_ETOOBIG;
        }
        v = (int64_t)u;
        break;
    }
    case LF_OPT_DURATION:
        rc = lf_parse_duration_ms(s, &v);
        break;
    case LF_OPT_BOOL:
        return parse_bool(s, (bool *)dst);
    case LF_OPT_ENUM:
        return parse_enum(s, o->choices, (int *)dst);
    default:
        return LF_EINVAL;
    }
    if (rc != LF_OK) {
        return rc;
    }
    if (has_range(o) && (v < o->min || v > range_max(o))) {
        return LF_ETOOBIG;
    }
    if (type == LF_OPT_SIZE) {
        *(uint64_t *)dst = (uint64_t)v;
    } else {
        *(int64_t *)dst = v;
    }
    return LF_OK;
}

static const char *type_expect(const struct lf_opt *o, enum lf_opt_type type)
{
    switch (type) {
    case LF_OPT_INT:
        return "an integer";
    case LF_OPT_BOOL:
        return "true or false";
    case LF_OPT_SIZE:
        return "a size such as 512KiB or 1GiB";
    case LF_OPT_DURATION:
        return "a duration such as 250ms, 10s or 5m";
    case LF_OPT_ENUM:
        return "one of the listed values";
    default:
        return "a string";
    }
}

static void choices_text(const struct lf_opt *o, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; o->choices && o->choices[i] && len < cap; i++) {
        int n = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", o->choices[i]);
        if (n < 0) {
            break;
        }
        len += (size_t)n;
    }
}

static void report_bad_scalar(struct lf_optfill *f, const struct lf_opt *o, enum lf_opt_type type,
                              struct fy_node *n, const char *where, const char *s, int rc)
{
    char hint[512];
    int line, col;
    lf_node_pos(n, &line, &col);
    if (type == LF_OPT_ENUM) {
        choices_text(o, hint, sizeof(hint));
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s: '%s' is not one of: %s", where,
                    o->name, s, hint);
    } else if (rc == LF_ETOOBIG) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s: '%s' is out of range%s", where,
                    o->name, s, has_range(o) ? range_hint(o, hint, sizeof(hint)) : "");
    } else {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s: '%s' is not %s", where, o->name, s,
                    type_expect(o, type));
    }
}

static int fill_value(struct lf_optfill *f, const struct lf_opt *o, void *obj, struct fy_node *n,
                      const char *where);
static void free_list(struct lf_list *l);

/* What YAML would read a plain scalar as, if not a string: "a number", "a boolean"... */
static const char *plain_non_string(struct fy_node *n)
{
    static const char *const bools[] = {"true", "false", "yes", "no", "on", "off", NULL};
    const char *s = fy_node_get_scalar0(n);
    if (!s || fy_node_get_style(n) != FYNS_PLAIN) {
        return NULL;
    }
    if (!*s || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0) {
        return "empty (null)";
    }
    for (size_t i = 0; bools[i]; i++) {
        if (strcasecmp(s, bools[i]) == 0) {
            return "a boolean";
        }
    }
    char *end;
    errno = 0;
    (void)strtod(s, &end);
    return *end == '\0' && end != s ? "a number" : NULL;
}

/* Items of a list of strings must be strings: `brokers: 42` or `paths: [true]` are
 * mistakes (quoted, "42" is accepted), and so is one scalar holding a comma list. */
static int check_text_items(struct lf_optfill *f, const struct lf_opt *o, struct fy_node *n,
                            const char *where)
{
    int errors = 0, line, col;
    void *it = NULL;
    bool seq = fy_node_is_sequence(n);
    for (struct fy_node *item = seq ? fy_node_sequence_iterate(n, &it) : n; item;
         item = seq ? fy_node_sequence_iterate(n, &it) : NULL) {
        const char *what = fy_node_is_scalar(item) ? plain_non_string(item) : NULL;
        const char *s = fy_node_is_scalar(item) ? fy_node_get_scalar0(item) : NULL;
        lf_node_pos(item, &line, &col);
        if (what) {
            lf_diag_add(f->diag, LF_DIAG_ERROR, line, col,
                        "%s.%s: '%s' is %s, expected a list of strings such as [a, b] (quote "
                        "it if it is meant as text)",
                        where, o->name, s ? s : "", what);
            errors++;
        } else if (!seq && s && fy_node_get_style(item) == FYNS_PLAIN && strstr(s, ", ")) {
            lf_diag_add(f->diag, LF_DIAG_ERROR, line, col,
                        "%s.%s: one value holding a comma-separated list; write a list such as "
                        "[a, b]",
                        where, o->name);
            errors++;
        }
    }
    return errors;
}

static int fill_list(struct lf_optfill *f, const struct lf_opt *o, struct lf_list *l,
                     struct fy_node *n, const char *where)
{
    enum lf_opt_type it = o->item_type ? o->item_type : LF_OPT_STR;
    size_t count = fy_node_is_sequence(n) ? (size_t)fy_node_sequence_item_count(n) : 1;
    int errors = 0;
    struct lf_buf scratch;
    if (!fy_node_is_sequence(n) && (!(o->flags & LF_OPT_SCALAR_OR_LIST) || !fy_node_is_scalar(n))) {
        expect_error(f, n, where, o->name, "a list such as [a, b]");
        return 1;
    }
    if (it == LF_OPT_STR && check_text_items(f, o, n, where) > 0) {
        return 1;
    }
    free_list(l); /* a repeated key replaces the earlier value */
    l->str = it == LF_OPT_STR ? calloc(count + 1, sizeof(char *)) : NULL;
    l->num = it != LF_OPT_STR ? calloc(count + 1, sizeof(int64_t)) : NULL;
    if (!l->str && !l->num) {
        return 1;
    }
    lf_buf_init(&scratch, 0);
    void *iter = NULL;
    for (size_t i = 0; i < count; i++) {
        struct fy_node *item = fy_node_is_sequence(n) ? fy_node_sequence_iterate(n, &iter) : n;
        const char *s = scalar_text(f, item, where, o->name, &scratch);
        if (!s) {
            errors++;
            continue;
        }
        void *dst = it == LF_OPT_STR ? (void *)&l->str[l->n] : (void *)&l->num[l->n];
        struct lf_opt item_opt = {.name = o->name, .type = it, .flags = o->flags & LF_OPT_SECRET};
        int rc = parse_scalar(&item_opt, it, s, dst);
        if (rc != LF_OK) {
            report_bad_scalar(f, &item_opt, it, item, where, s, rc);
            errors++;
            continue;
        }
        l->n++;
    }
    lf_buf_fini(&scratch);
    if (errors == 0 && has_range(o) && ((int64_t)l->n < o->min || (int64_t)l->n > range_max(o))) {
        char hint[64];
        int line, col;
        lf_node_pos(n, &line, &col);
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s: %zu items%s", where, o->name, l->n,
                    range_hint(o, hint, sizeof(hint)));
        errors++;
    }
    return errors;
}

/* struct lf_kvlist is plugin ABI (no room for a capacity), so the fill keeps the
 * capacity of m->v in *cap while it appends. */
static int map_add(struct lf_kvlist *m, size_t *cap, const char *key, const char *value)
{
    if (lf_vec_reserve(&m->v, cap, m->n + 1) != LF_OK) {
        return LF_ENOMEM;
    }
    struct lf_kv *v = m->v;
    v[m->n].key = strdup(key);
    v[m->n].value = strdup(value);
    if (!v[m->n].key || !v[m->n].value) {
        free(v[m->n].key);
        free(v[m->n].value);
        return LF_ENOMEM;
    }
    m->n++;
    return LF_OK;
}

/* Nested mappings are flattened to dotted keys: {service: {name: x}} -> service.name. */
static int fill_map_rec(struct lf_optfill *f, const struct lf_opt *o, struct lf_kvlist *m,
                        size_t *cap, struct fy_node *n, const char *prefix, const char *where,
                        struct lf_buf *scratch)
{
    int errors = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(p));
        struct fy_node *v = fy_node_pair_value(p);
        char key[512];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k ? k : "");
        if (v && fy_node_is_mapping(v)) {
            errors += fill_map_rec(f, o, m, cap, v, key, where, scratch);
            continue;
        }
        const char *s = v ? scalar_text(f, v, where, o->name, scratch) : "";
        if (!s) {
            errors++;
            continue;
        }
        if (map_add(m, cap, key, s) != LF_OK) {
            errors++;
        }
    }
    return errors;
}

static int fill_map(struct lf_optfill *f, const struct lf_opt *o, struct lf_kvlist *m,
                    struct fy_node *n, const char *where)
{
    if (!fy_node_is_mapping(n)) {
        expect_error(f, n, where, o->name, "a mapping such as {key: value}");
        return 1;
    }
    struct lf_buf scratch;
    size_t cap = m->n; /* m->v has room for what it holds */
    lf_buf_init(&scratch, 0);
    int errors = fill_map_rec(f, o, m, &cap, n, "", where, &scratch);
    lf_buf_fini(&scratch);
    return errors;
}

static int fill_section_list(struct lf_optfill *f, const struct lf_opt *o, struct lf_seclist *sl,
                             struct fy_node *n, const char *where)
{
    if (!fy_node_is_sequence(n)) {
        expect_error(f, n, where, o->name, "a list of mappings");
        return 1;
    }
    size_t count = (size_t)fy_node_sequence_item_count(n);
    sl->v = calloc(count ? count : 1, o->sub_size);
    if (!sl->v) {
        return 1;
    }
    int errors = 0;
    void *it = NULL;
    for (size_t i = 0; i < count; i++) {
        char sub_where[256];
        snprintf(sub_where, sizeof(sub_where), "%s.%s[%zu]", where, o->name, i);
        struct fy_node *item = fy_node_sequence_iterate(n, &it);
        errors += lf_optfill(f, o->sub, (char *)sl->v + i * o->sub_size, item, sub_where);
        sl->n++;
    }
    return errors;
}

static int fill_value(struct lf_optfill *f, const struct lf_opt *o, void *obj, struct fy_node *n,
                      const char *where)
{
    char sub_where[256];
    switch (o->type) {
    case LF_OPT_LIST:
        return fill_list(f, o, FIELD(obj, o, struct lf_list), n, where);
    case LF_OPT_MAP:
        return fill_map(f, o, FIELD(obj, o, struct lf_kvlist), n, where);
    case LF_OPT_SECTION:
        snprintf(sub_where, sizeof(sub_where), "%s%s%s", where, *where ? "." : "", o->name);
        return lf_optfill(f, o->sub, FIELD(obj, o, char), n, sub_where);
    case LF_OPT_SECTION_LIST:
        return fill_section_list(f, o, FIELD(obj, o, struct lf_seclist), n, where);
    default:
        break;
    }
    struct lf_buf scratch;
    lf_buf_init(&scratch, 0);
    int errors = 0;
    const char *s = scalar_text(f, n, where, o->name, &scratch);
    if (!s) {
        errors = 1;
    } else {
        int rc = parse_scalar(o, o->type, s, FIELD(obj, o, char));
        if (rc != LF_OK) {
            report_bad_scalar(f, o, o->type, n, where, s, rc);
            errors = 1;
        }
    }
    lf_buf_fini(&scratch);
    return errors;
}

/* Applies the default of o (absent key). Sections recurse so their defaults apply. */
static int apply_default(struct lf_optfill *f, const struct lf_opt *o, void *obj, const char *where)
{
    char sub_where[256];
    if (o->type == LF_OPT_SECTION) {
        snprintf(sub_where, sizeof(sub_where), "%s%s%s", where, *where ? "." : "", o->name);
        return lf_optfill(f, o->sub, FIELD(obj, o, char), NULL, sub_where);
    }
    if (!o->def || o->type == LF_OPT_LIST || o->type == LF_OPT_MAP ||
        o->type == LF_OPT_SECTION_LIST) {
        return 0;
    }
    int rc = parse_scalar(o, o->type, o->def, FIELD(obj, o, char));
    if (rc != LF_OK) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, 0, 0, "%s.%s: built-in default '%s' is invalid", where,
                    o->name, o->def);
        return 1;
    }
    return 0;
}

static const struct lf_opt *find_opt(const struct lf_optset *sets, size_t nsets, const char *key,
                                     size_t *set_idx, size_t *opt_idx)
{
    for (size_t s = 0; s < nsets; s++) {
        for (size_t i = 0; sets[s].table[i].name; i++) {
            if (strcmp(sets[s].table[i].name, key) == 0) {
                *set_idx = s;
                *opt_idx = i;
                return &sets[s].table[i];
            }
        }
    }
    return NULL;
}

static const char *closest_key(const struct lf_optset *sets, size_t nsets, const char *key)
{
    const char *best = NULL;
    size_t best_d = 3; /* suggest only close matches */
    for (size_t s = 0; s < nsets; s++) {
        for (const struct lf_opt *o = sets[s].table; o->name; o++) {
            size_t d = lf_edit_distance(key, o->name);
            if (d < best_d || (d <= 3 && !best && strstr(o->name, key))) {
                best_d = d;
                best = o->name;
            }
        }
    }
    return best;
}

static bool is_ignored(const char *const *ignore, const char *key)
{
    for (size_t i = 0; ignore && ignore[i]; i++) {
        if (strcmp(ignore[i], key) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- secrets ------------------------------------------------------------------- */

/* KEY_file names the secret option KEY, unless some table has a KEY_file itself. */
static const struct lf_opt *find_secret_file_opt(const struct lf_optset *sets, size_t nsets,
                                                 const char *key, size_t *si, size_t *oi)
{
    size_t len = strlen(key);
    char base[128];
    if (len <= 5 || len - 5 >= sizeof(base) || strcmp(key + len - 5, "_file") != 0) {
        return NULL;
    }
    snprintf(base, sizeof(base), "%.*s", (int)(len - 5), key);
    const struct lf_opt *o = find_opt(sets, nsets, base, si, oi);
    bool usable = o && (o->flags & LF_OPT_SECRET) && !(o->flags & LF_OPT_UNSUPPORTED) &&
                  (o->type == LF_OPT_STR || o->type == LF_OPT_LIST);
    return usable ? o : NULL;
}

/* A list secret from a file: one item per non-empty line. */
static int fill_list_lines(const struct lf_opt *o, struct lf_list *l, char *text)
{
    size_t count = 1;
    for (const char *p = text; *p; p++) {
        count += *p == '\n';
    }
    free_list(l);
    l->str = calloc(count + 1, sizeof(char *));
    if (!l->str) {
        return LF_ENOMEM;
    }
    char *save = NULL;
    for (char *t = strtok_r(text, "\r\n", &save); t; t = strtok_r(NULL, "\r\n", &save)) {
        if (parse_scalar(o, LF_OPT_STR, t, &l->str[l->n]) != LF_OK) {
            return LF_ENOMEM;
        }
        l->n++;
    }
    bool in_range = !has_range(o) || ((int64_t)l->n >= o->min && (int64_t)l->n <= range_max(o));
    return l->n > 0 && in_range ? LF_OK : LF_ETOOBIG;
}

static int fill_secret_file(struct lf_optfill *f, const struct lf_opt *o, void *obj,
                            struct fy_node *v, const char *where, const char *path)
{
    char err[600];
    char *text = NULL;
    int line, col;
    lf_node_pos(v, &line, &col);
    int rc = lf_secret_read_file(path, &text, err, sizeof(err));
    if (rc == LF_OK && o->type == LF_OPT_LIST) {
        rc = fill_list_lines(o, FIELD(obj, o, struct lf_list), text);
        snprintf(err, sizeof(err), "%s: %s", path,
                 rc == LF_ETOOBIG ? "wrong number of lines (one item per line)" : "no memory");
    } else if (rc == LF_OK) {
        rc = parse_scalar(o, LF_OPT_STR, text, FIELD(obj, o, char));
        snprintf(err, sizeof(err), "no memory");
    }
    if (text) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    if (rc != LF_OK) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s_file: %s", where, o->name, err);
        return 1;
    }
    return 0;
}

static int fill_secret_pair(struct lf_optfill *f, const struct lf_opt *o, void *obj,
                            struct fy_node_pair *p, const char *where, bool *seen)
{
    struct fy_node *v = fy_node_pair_value(p);
    int line, col;
    lf_node_pos(fy_node_pair_key(p), &line, &col);
    if (*seen) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s: set %s or %s_file, not both",
                    *where ? where : "config", o->name, o->name);
        return 1;
    }
    *seen = true;
    char key[160];
    snprintf(key, sizeof(key), "%s_file", o->name);
    struct lf_buf scratch;
    lf_buf_init(&scratch, 0);
    const char *path = v ? scalar_text(f, v, where, key, &scratch) : NULL;
    int errors = 1;
    if (!v) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s: missing value", where, key);
    } else if (path) {
        errors = fill_secret_file(f, o, obj, v, where, path);
    }
    lf_buf_fini(&scratch);
    return errors;
}

/* A secret written in the file itself rather than taken from ${VAR} (a URL counts only
 * when it carries credentials). */
static void note_inline_secret(struct lf_optfill *f, struct fy_node *v)
{
    void *it = NULL;
    struct fy_node *item = fy_node_is_sequence(v) ? fy_node_sequence_iterate(v, &it) : v;
    for (; item; item = fy_node_is_sequence(v) ? fy_node_sequence_iterate(v, &it) : NULL) {
        const char *s = fy_node_is_scalar(item) ? fy_node_get_scalar0(item) : NULL;
        if (!s || strstr(s, "${") || (strstr(s, "://") && !strchr(s, '@'))) {
            continue;
        }
        if (f->secrets_inline++ == 0) {
            lf_node_pos(item, &f->secret_line, &f->secret_col);
        }
    }
}

static int fill_pair(struct lf_optfill *f, const struct lf_optset *sets, size_t nsets,
                     struct fy_node_pair *p, const char *where, const char *const *ignore,
                     bool seen[][OPT_MAX_KEYS])
{
    struct fy_node *kn = fy_node_pair_key(p);
    const char *key = kn && fy_node_is_scalar(kn) ? fy_node_get_scalar0(kn) : NULL;
    int line, col;
    lf_node_pos(kn, &line, &col);
    if (!key) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s: keys must be plain strings", where);
        return 1;
    }
    size_t si, oi;
    const struct lf_opt *o = find_opt(sets, nsets, key, &si, &oi);
    const char *shown = *where ? where : "config";
    if (!o && !is_ignored(ignore, key)) {
        o = find_secret_file_opt(sets, nsets, key, &si, &oi);
        if (o) {
            return fill_secret_pair(f, o, sets[si].obj, p, where, &seen[si][oi]);
        }
    }
    if (!o) {
        if (is_ignored(ignore, key)) {
            return 0;
        }
        const char *hint = closest_key(sets, nsets, key);
        if (hint) {
            lf_diag_add(f->diag, LF_DIAG_ERROR, line, col,
                        "%s: unknown key '%s' (did you mean '%s'?)", shown, key, hint);
        } else {
            lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s: unknown key '%s'", shown, key);
        }
        return 1;
    }
    if (seen[si][oi] && (o->flags & LF_OPT_SECRET)) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s: set %s or %s_file, not both", shown,
                    key, key);
        return 1;
    }
    seen[si][oi] = true;
    if (o->flags & LF_OPT_UNSUPPORTED) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col,
                    "%s.%s: not yet supported by this version of logferry", where, key);
        return 1;
    }
    struct fy_node *v = fy_node_pair_value(p);
    if (!v || (fy_node_is_scalar(v) && fy_node_get_scalar0(v) == NULL)) {
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s.%s: missing value", where, key);
        return 1;
    }
    if (o->flags & LF_OPT_SECRET) {
        note_inline_secret(f, v);
    }
    return fill_value(f, o, sets[si].obj, v, where);
}

int lf_optfill_sets(struct lf_optfill *f, const struct lf_optset *sets, size_t nsets,
                    struct fy_node *map, const char *where, const char *const *ignore)
{
    bool seen[4][OPT_MAX_KEYS];
    int errors = 0;
    if (nsets > 4) {
        return 1;
    }
    memset(seen, 0, sizeof(seen));
    if (map && !fy_node_is_mapping(map)) {
        int line, col;
        lf_node_pos(map, &line, &col);
        lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s: expected a mapping of keys", where);
        errors++;
        map = NULL;
    }
    if (map) {
        void *it = NULL;
        struct fy_node_pair *p;
        while ((p = fy_node_mapping_iterate(map, &it))) {
            errors += fill_pair(f, sets, nsets, p, where, ignore, seen);
        }
    }
    for (size_t s = 0; s < nsets; s++) {
        for (size_t i = 0; sets[s].table[i].name; i++) {
            const struct lf_opt *o = &sets[s].table[i];
            if (seen[s][i]) {
                continue;
            }
            if (o->flags & LF_OPT_REQUIRED) {
                int line = 0, col = 0;
                lf_node_pos(map, &line, &col);
                lf_diag_add(f->diag, LF_DIAG_ERROR, line, col, "%s: missing required key '%s'",
                            where, o->name);
                errors++;
                continue;
            }
            errors += apply_default(f, o, sets[s].obj, where);
        }
    }
    return errors;
}

int lf_optfill(struct lf_optfill *f, const struct lf_opt *table, void *obj, struct fy_node *map,
               const char *where)
{
    struct lf_optset set = {.table = table, .obj = obj};
    return lf_optfill_sets(f, &set, 1, map, where, NULL);
}

/* ---- freeing -------------------------------------------------------------------- */

static void free_list(struct lf_list *l)
{
    for (size_t i = 0; l->str && i < l->n; i++) {
        free(l->str[i]);
    }
    free(l->str);
    free(l->num);
    memset(l, 0, sizeof(*l));
}

static void free_map(struct lf_kvlist *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    memset(m, 0, sizeof(*m));
}

void lf_opt_free(const struct lf_opt *table, void *obj)
{
    if (!table || !obj) {
        return;
    }
    for (const struct lf_opt *o = table; o->name; o++) {
        switch (o->type) {
        case LF_OPT_STR:
            free(*FIELD(obj, o, char *));
            *FIELD(obj, o, char *) = NULL;
            break;
        case LF_OPT_LIST:
            free_list(FIELD(obj, o, struct lf_list));
            break;
        case LF_OPT_MAP:
            free_map(FIELD(obj, o, struct lf_kvlist));
            break;
        case LF_OPT_SECTION:
            lf_opt_free(o->sub, FIELD(obj, o, char));
            break;
        case LF_OPT_SECTION_LIST: {
            struct lf_seclist *sl = FIELD(obj, o, struct lf_seclist);
            for (size_t i = 0; i < sl->n; i++) {
                lf_opt_free(o->sub, (char *)sl->v + i * o->sub_size);
            }
            free(sl->v);
            memset(sl, 0, sizeof(*sl));
            break;
        }
        default:
            break;
        }
    }
}

/* ---- table validation and docs -------------------------------------------------- */

int lf_opt_table_validate(const struct lf_opt *table, char *err, size_t errlen)
{
    size_t count = 0;
    for (const struct lf_opt *o = table; o->name; o++, count++) {
        for (const struct lf_opt *p = table; p < o; p++) {
            if (strcmp(p->name, o->name) == 0) {
                snprintf(err, errlen, "duplicate option '%s'", o->name);
                return LF_EINVAL;
            }
        }
        if (o->type < LF_OPT_STR || o->type > LF_OPT_SECTION_LIST) {
            snprintf(err, errlen, "option '%s': unknown type", o->name);
            return LF_EINVAL;
        }
        if (o->type == LF_OPT_ENUM && !o->choices) {
            snprintf(err, errlen, "option '%s': enum without choices", o->name);
            return LF_EINVAL;
        }
        if ((o->type == LF_OPT_SECTION || o->type == LF_OPT_SECTION_LIST) && !o->sub) {
            snprintf(err, errlen, "option '%s': section without sub-table", o->name);
            return LF_EINVAL;
        }
        if (!o->desc) {
            snprintf(err, errlen, "option '%s': no description", o->name);
            return LF_EINVAL;
        }
        if (o->sub && lf_opt_table_validate(o->sub, err, errlen) != LF_OK) {
            return LF_EINVAL;
        }
        if (o->def && o->type != LF_OPT_LIST && o->type != LF_OPT_MAP &&
            o->type != LF_OPT_SECTION && o->type != LF_OPT_SECTION_LIST) {
            union {
                char *s;
                int64_t i;
                uint64_t u;
                bool b;
                int e;
            } tmp = {0};
            if (parse_scalar(o, o->type, o->def, &tmp) != LF_OK) {
                snprintf(err, errlen, "option '%s': default '%s' does not parse or is out of range",
                         o->name, o->def);
                return LF_EINVAL;
            }
            if (o->type == LF_OPT_STR) {
                free(tmp.s);
            }
        }
    }
    if (count > OPT_MAX_KEYS) {
        snprintf(err, errlen, "table has %zu options (max %d)", count, OPT_MAX_KEYS);
        return LF_EINVAL;
    }
    return LF_OK;
}

static const char *type_doc(const struct lf_opt *o)
{
    switch (o->type) {
    case LF_OPT_STR:
        return "string";
    case LF_OPT_INT:
        return "integer";
    case LF_OPT_BOOL:
        return "bool";
    case LF_OPT_SIZE:
        return "size";
    case LF_OPT_DURATION:
        return "duration";
    case LF_OPT_ENUM:
        return "enum";
    case LF_OPT_LIST:
        return o->item_type == LF_OPT_DURATION ? "list of durations" : "list";
    case LF_OPT_MAP:
        return "map";
    case LF_OPT_SECTION:
        return "section";
    default:
        return "list of sections";
    }
}

/* Markdown table cells must not contain '|' or newlines. */
static void md_cell(struct lf_buf *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') {
            lf_buf_append_str(out, "\\|");
        } else if (*s == '\n') {
            lf_buf_append_char(out, ' ');
        } else {
            lf_buf_append_char(out, *s);
        }
    }
}

int lf_opt_doc_md(const struct lf_opt *table, const char *path, struct lf_buf *out)
{
    lf_buf_printf(out, "\n### `%s`\n\n| key | type | default | description |\n|---|---|---|---|\n",
                  path);
    for (const struct lf_opt *o = table; o->name; o++) {
        lf_buf_printf(out, "| `%s` | %s | ", o->name, type_doc(o));
        if (o->flags & LF_OPT_REQUIRED) {
            lf_buf_append_str(out, "required");
        } else if (o->def) {
            lf_buf_append_char(out, '`');
            md_cell(out, o->def);
            lf_buf_append_char(out, '`');
        } else {
            lf_buf_append_str(out, "-");
        }
        lf_buf_append_str(out, " | ");
        md_cell(out, o->desc);
        if (o->type == LF_OPT_ENUM) {
            char choices[512];
            choices_text(o, choices, sizeof(choices));
            lf_buf_append_str(out, " One of: ");
            md_cell(out, choices);
            lf_buf_append_char(out, '.');
        }
        if (has_range(o)) {
            if (o->max == 0) {
                lf_buf_printf(out, " At least %" PRId64 ".", o->min);
            } else {
                lf_buf_printf(out, " Range %" PRId64 "..%" PRId64 ".", o->min, o->max);
            }
        }
        if (o->flags & LF_OPT_UNSUPPORTED) {
            lf_buf_append_str(out, " **Not yet supported** (an error if set).");
        }
        if (o->flags & LF_OPT_SECRET) {
            lf_buf_printf(out,
                          " Secret: never logged or printed; write `${ENV_VAR}` or give "
                          "`%s_file: PATH` to read it from a file%s.",
                          o->name, o->type == LF_OPT_LIST ? " (one item per line)" : "");
        }
        lf_buf_append_str(out, " |\n");
    }
    for (const struct lf_opt *o = table; o->name; o++) {
        if (o->sub) {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s.%s%s", path, o->name,
                     o->type == LF_OPT_SECTION_LIST ? "[]" : "");
            lf_opt_doc_md(o->sub, sub, out);
        }
    }
    return LF_OK;
}
