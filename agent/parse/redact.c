/* redact.c - the input's `redact:`: values rewritten before a record is encoded, so that
 * what they hide never leaves the host.
 *
 *   literals: true   every literal of the SQL text (db.statement, message, PostgreSQL's
 *                    detail/query/context) becomes ?, through the fingerprint's tokenizer.
 *   patterns: [...]  built-in patterns (email, card_number (Luhn-checked), bearer_token,
 *                    url_secret, url_password), matched in every string value; each match
 *                    becomes [REDACTED].
 *   regex: [...]     the input's own PCRE2 patterns, the same way.
 *
 * Each pattern is compiled on its own (PCRE2, JIT); a built-in runs only where a cheap
 * look finds what it needs ('@', '=', 13 digits...). The rewritten values go to a buffer of
 * the redactor; the fields point into it once all are written (it may grow meanwhile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

#define RD_OFF(f) offsetof(struct lf_redact_conf, f)

const char *const lf_redact_pattern_names[] = {"email",      "card_number",  "bearer_token",
                                               "url_secret", "url_password", NULL};

/* The built-ins, in the order of the names. \K leaves a key out of what is replaced; a
 * look-behind makes a run of characters match from its start only (linear time). */
enum { RD_EMAIL, RD_CARD, RD_BEARER, RD_URL_SECRET, RD_URL_PASSWORD, RD_NBUILTIN, RD_USER = -1 };
static const char *const rd_builtin[] = {
    "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,}+"
    "(?![A-Za-z0-9-])",
    "(?<![0-9])[0-9](?:[ -]?+[0-9]){12,18}+(?![0-9])",
    "(?i)\\bbearer\\s++\\K[A-Za-z0-9._~+/=-]{8,}+",
    "(?i)(?:^|[?&;])(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|"
    "client[_-]?secret|password|passwd|pwd|sig|signature|key)=\\K[^&#;\\s\\\"']++",
    "(?i)(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*+://[^/\\s:@]++:\\K[^/\\s@]++(?=@)",
};

const struct lf_opt lf_redact_options[] = {
    {.name = "literals",
     .type = LF_OPT_BOOL,
     .def = "false",
     .offset = RD_OFF(literals),
     .desc = "Query inputs: every literal of the SQL (db.statement, message, PostgreSQL "
             "detail/query/context) becomes ?, so that no value a statement carries leaves "
             "the host (db.fingerprint never has any)."},
    {.name = "patterns",
     .type = LF_OPT_LIST,
     .flags = LF_OPT_SCALAR_OR_LIST,
     .offset = RD_OFF(patterns),
     .desc = "Built-in patterns replaced by [REDACTED] in every string value: email, "
             "card_number (13 to 19 digits, Luhn-checked), bearer_token, url_secret (the "
             "value of api_key=, token=, password=, secret=, sig=... in a URL), url_password "
             "(user:password@ in a URL)."},
    {.name = "regex",
     .type = LF_OPT_LIST,
     .flags = LF_OPT_SCALAR_OR_LIST,
     .max = 32,
     .offset = RD_OFF(regex),
     .desc = "Own PCRE2 patterns, replaced by [REDACTED] in every string value (use \\K to "
             "keep a leading key)."},
    {.name = NULL},
};

struct rd_rx {
    pcre2_code *code;
    pcre2_match_data *md;
    int kind; /* RD_EMAIL... or RD_USER */
};

struct lf_redactor {
    bool literals;
    bool pg;
    struct rd_rx rx[RD_NBUILTIN + 32]; /* the chosen built-ins, then the user's */
    size_t nrx;
    struct lf_buf out;    /* the rewritten values of the record */
    struct lf_buf tmp[2]; /* one value between two passes */
    size_t *off, *len;    /* per field: its value in out (off SIZE_MAX: unchanged) */
    uint64_t count;
};

static int rd_compile(struct rd_rx *r, const char *pat, const char *what, char *err, size_t errlen)
{
    int ec;
    PCRE2_SIZE eo;
    r->code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
    if (!r->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "redact: %s: %s at offset %zu", what, (const char *)msg, (size_t)eo);
        return LF_ECONFIG;
    }
    pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE); /* the interpreter when JIT fails */
    r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
    return r->md ? LF_OK : LF_ENOMEM;
}

/* The chosen built-ins, each its own pattern, into r->rx. */
static int rd_builtins(struct lf_redactor *r, const struct lf_list *names, char *err, size_t errlen)
{
    for (size_t i = 0; i < names->n; i++) {
        size_t k = 0;
        while (lf_redact_pattern_names[k] && strcmp(lf_redact_pattern_names[k], names->str[i])) {
            k++;
        }
        if (!lf_redact_pattern_names[k]) {
            snprintf(err, errlen,
                     "redact.patterns: unknown pattern '%s' (email, card_number, bearer_token, "
                     "url_secret, url_password; own patterns go under regex:)",
                     names->str[i]);
            return LF_ECONFIG;
        }
        bool dup = false;
        for (size_t j = 0; j < r->nrx; j++) {
            dup |= r->rx[j].kind == (int)k;
        }
        if (dup) {
            continue;
        }
        struct rd_rx *x = &r->rx[r->nrx++];
        x->kind = (int)k;
        int rc = rd_compile(x, rd_builtin[k], lf_redact_pattern_names[k], err, errlen);
        if (rc != LF_OK) {
            return rc;
        }
    }
    return LF_OK;
}

void lf_redactor_destroy(struct lf_redactor *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->nrx; i++) {
        pcre2_match_data_free(r->rx[i].md);
        pcre2_code_free(r->rx[i].code);
    }
    lf_buf_fini(&r->out);
    lf_buf_fini(&r->tmp[0]);
    lf_buf_fini(&r->tmp[1]);
    free(r->off);
    free(r);
}

int lf_redactor_create(const struct lf_redact_conf *c, bool pg, char *err, size_t errlen,
                       struct lf_redactor **out)
{
    *out = NULL;
    if (!c->literals && !c->patterns.n && !c->regex.n) {
        return LF_OK;
    }
    struct lf_redactor *r = calloc(1, sizeof(*r));
    if (!r || !(r->off = calloc(2 * LF_MAX_FIELDS, sizeof(size_t)))) {
        free(r);
        return LF_ENOMEM;
    }
    r->len = r->off + LF_MAX_FIELDS;
    lf_buf_init(&r->out, 0);
    lf_buf_init(&r->tmp[0], 0);
    lf_buf_init(&r->tmp[1], 0);
    r->literals = c->literals;
    r->pg = pg;
    int rc = rd_builtins(r, &c->patterns, err, errlen);
    for (size_t i = 0; rc == LF_OK && i < c->regex.n && i < 32; i++) {
        char what[48];
        snprintf(what, sizeof(what), "regex[%zu]", i);
        r->rx[r->nrx].kind = RD_USER;
        rc = rd_compile(&r->rx[r->nrx++], c->regex.str[i], what, err, errlen);
    }
    if (rc != LF_OK) {
        lf_redactor_destroy(r);
        return rc;
    }
    *out = r;
    return LF_OK;
}

uint64_t lf_redactor_count(const struct lf_redactor *r)
{
    return r ? r->count : 0;
}

/* Luhn check of the digits of s[0..n) (spaces and dashes skipped). */
static bool luhn(const char *s, size_t n)
{
    unsigned sum = 0, k = 0;
    for (size_t i = n; i-- > 0;) {
        if (s[i] < '0' || s[i] > '9') {
            continue;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (k++ & 1) {
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        }
        sum += d;
    }
    return k >= 13 && sum % 10 == 0;
}

#define RD_MARK "[REDACTED]"

/* "bearer" in any case in s[0..n). */
static bool rd_has_bearer(const char *s, size_t n)
{
    const char *end = s + n;
    for (int k = 0; k < 2; k++) {
        for (const char *q = s; (q = memchr(q, "bB"[k], (size_t)(end - q))) != NULL; q++) {
            if (end - q >= 6 && !strncasecmp(q, "bearer", 6)) {
                return true;
            }
        }
    }
    return false;
}

static inline bool rd_digsep(char c)
{
    return (c >= '0' && c <= '9') || c == ' ' || c == '-';
}

/* 13 digits in a run of digits, spaces and dashes (a loose look for card numbers). A
 * window of 13 bytes is looked at from its end, so text without such runs is skipped
 * 13 bytes at a time. */
static bool rd_has_digits13(const char *s, size_t n)
{
    size_t i = 0;
    while (i + 13 <= n) {
        size_t j = i + 12;
        while (j > i && rd_digsep(s[j])) {
            j--;
        }
        if (!rd_digsep(s[j])) {
            i = j + 1;
            continue;
        }
        size_t d = 0, k = i;
        for (; k < n && rd_digsep(s[k]); k++) {
            if (s[k] >= '0' && s[k] <= '9' && ++d >= 13) {
                return true;
            }
        }
        i = k + 1;
    }
    return false;
}

/* Whether built-in kind can match in s[0..n) at all: a cheap look first ('@', '=', "://",
 * "bearer", 13 digits). */
static bool rd_maybe(int kind, const char *s, size_t n)
{
    switch (kind) {
    case RD_EMAIL:
        return memchr(s, '@', n) != NULL;
    case RD_CARD:
        return rd_has_digits13(s, n);
    case RD_BEARER:
        return rd_has_bearer(s, n);
    case RD_URL_SECRET:
        return memchr(s, '=', n) != NULL;
    case RD_URL_PASSWORD:
        return memchr(s, '@', n) && memmem(s, n, "://", 3);
    default:
        return true;
    }
}

/* The matches of x in s[0..n) replaced, into dst (emptied first); returns how many (dst
 * is meaningful only when some), or -1 when out of memory. */
static long rd_subst(const struct rd_rx *x, const char *s, size_t n, struct lf_buf *dst)
{
    long hits = 0;
    size_t at = 0, copied = 0;
    lf_buf_reset(dst);
    while (at <= n) {
        int m = pcre2_match(x->code, (PCRE2_SPTR)s, n, at, 0, x->md, NULL);
        if (m < 0) {
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
        size_t b = ov[0], e = ov[1];
        if (e <= b || (x->kind == RD_CARD && !luhn(s + b, e - b))) {
            at = e > at ? e : at + 1;
            continue;
        }
        if (lf_buf_append(dst, s + copied, b - copied) != LF_OK ||
            lf_buf_append(dst, RD_MARK, sizeof(RD_MARK) - 1) != LF_OK) {
            return -1;
        }
        copied = at = e;
        hits++;
    }
    if (hits && lf_buf_append(dst, s + copied, n - copied) != LF_OK) {
        return -1;
    }
    return hits;
}

/* One value through the literals (when sql) and every pattern; the result, when anything
 * was replaced, appended to r->out at *off (*len bytes). Returns the replacements, or -1. */
static long rd_value(struct lf_redactor *r, bool sql, const char *s, size_t n, size_t *off,
                     size_t *len)
{
    const char *src = s;
    size_t sn = n;
    long total = 0;
    int cur = 1; /* the tmp buffer src is in (none yet) */
    if (sql) {
        struct lf_buf *d = &r->tmp[0];
        size_t k;
        if (lf_buf_reserve(d, n + 1) != LF_OK) {
            return -1;
        }
        d->len = lf_sql_redact(s, n, d->data, r->pg, &k);
        if (k) {
            src = d->data, sn = d->len, cur = 0, total += (long)k;
        }
    }
    for (size_t i = 0; i < r->nrx; i++) {
        if (!rd_maybe(r->rx[i].kind, src, sn)) {
            continue;
        }
        struct lf_buf *d = &r->tmp[cur ^ 1];
        long h = rd_subst(&r->rx[i], src, sn, d);
        if (h < 0) {
            return -1;
        }
        if (h) {
            src = d->data, sn = d->len, cur ^= 1, total += h;
        }
    }
    *off = r->out.len;
    *len = sn;
    return total && lf_buf_append(&r->out, src, sn) != LF_OK ? -1 : total;
}

/* Keys whose value is SQL text (redacted as SQL when literals: true). */
static bool sql_key(const struct lf_field *f)
{
    static const char *const keys[] = {"db.statement",
                                       "postgresql.detail",
                                       "postgresql.query",
                                       "postgresql.context",
                                       "postgresql.statement",
                                       "postgresql.internal_query",
                                       NULL};
    for (size_t i = 0; keys[i]; i++) {
        if (f->kl == strlen(keys[i]) && !memcmp(f->key, keys[i], f->kl)) {
            return true;
        }
    }
    return false;
}

int lf_redact_record(struct lf_parser *p, struct lf_redactor *r)
{
    lf_buf_reset(&r->out);
    size_t moff = 0, mlen = 0;
    long n = p->msg ? rd_value(r, r->literals, p->msg, p->msglen, &moff, &mlen) : 0;
    if (n < 0) {
        return LF_ENOMEM;
    }
    bool msg = n > 0;
    uint64_t count = (uint64_t)n;
    for (size_t i = 0; i < p->nf; i++) {
        struct lf_field *f = &p->f[i];
        r->off[i] = SIZE_MAX;
        if (f->kind != FK_STR || !f->n) {
            continue;
        }
        n = rd_value(r, r->literals && sql_key(f), f->s, f->n, &r->off[i], &r->len[i]);
        if (n < 0) {
            return LF_ENOMEM;
        }
        r->off[i] = n ? r->off[i] : SIZE_MAX;
        count += (uint64_t)n;
    }
    /* out does not move any more: the values can point into it */
    if (msg) {
        p->msg = r->out.data + moff;
        p->msglen = mlen;
    }
    for (size_t i = 0; i < p->nf; i++) {
        if (r->off[i] != SIZE_MAX) {
            p->f[i].s = r->out.data + r->off[i];
            p->f[i].n = r->len[i];
        }
    }
    r->count += count;
    return LF_OK;
}
