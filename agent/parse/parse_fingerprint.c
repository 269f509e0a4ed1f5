/* parse_fingerprint.c - SQL fingerprint like pt-query-digest's: comments removed, literals
 * to ?, IN (...) and VALUES (...) lists collapsed, whitespace and case folded. */
#include <ctype.h>
#include <string.h>

#include "parse_int.h"

/* Character classes without locale lookups (hot path), computed at compile time. */
enum { C_WORD = 1, C_DIGIT = 2, C_XDIGIT = 4, C_SPACE = 8 };
#define IN(c, lo, hi) ((c) >= (lo) && (c) <= (hi))
#define CLS(c)                                                                               \
    ((IN(c, 'a', 'z') || IN(c, 'A', 'Z') || (c) == '_' || (c) == '$' || (c) >= 0x80 ? C_WORD \
                                                                                    : 0) |   \
     (IN(c, '0', '9') ? C_WORD | C_DIGIT | C_XDIGIT : 0) |                                   \
     (IN(c, 'a', 'f') || IN(c, 'A', 'F') ? C_XDIGIT : 0) |                                   \
     ((c) == ' ' || IN(c, '\t', '\r') ? C_SPACE : 0))
#define CLS4(c)  CLS(c), CLS((c) + 1), CLS((c) + 2), CLS((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)
static const unsigned char cls[256] = {CLS64(0), CLS64(64), CLS64(128), CLS64(192)};
#undef CLS64
#undef CLS16
#undef CLS4
#undef CLS
#undef IN

static inline bool word(char c)
{
    return cls[(unsigned char)c] & C_WORD;
}

static inline bool is_digit(char c)
{
    return cls[(unsigned char)c] & C_DIGIT;
}

static inline char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* o[j..) is a list of values up to ')': "?", ",", spaces and casts ("::int"). Returns
 * the index of the ')', or 0. */
static size_t list_end(const char *o, size_t n, size_t j)
{
    bool any = false;
    while (j < n) {
        if (o[j] == '?') {
            any = true;
            j++;
        } else if (o[j] == ',' || o[j] == ' ') {
            j++;
        } else if (o[j] == ':' && j + 2 < n && o[j + 1] == ':' && word(o[j + 2])) {
            for (j += 2; j < n && word(o[j]); j++) {
            }
        } else {
            break;
        }
    }
    return any && j < n && o[j] == ')' ? j : 0;
}

/* "values (?, ?), (?, ?)" or "values(?)" at o[i]: the end of the rows, or 0. */
static size_t values_end(const char *o, size_t n, size_t i)
{
    size_t k = i + 6, groups = 0;
    while (k < n && o[k] == ' ') {
        k++;
    }
    while (k < n && o[k] == '(') {
        size_t e = list_end(o, n, k + 1);
        if (!e) {
            break;
        }
        groups++;
        k = e + 1;
        size_t m = k;
        while (m < n && (o[m] == ',' || o[m] == ' ')) {
            m++;
        }
        if (m >= n || o[m] != '(') {
            break;
        }
        k = m;
    }
    return groups ? k : 0;
}

/* A list to collapse at o[i] ("in(?, ?)", "values (?), (?)"): the replacement, and the
 * end of what it replaces in *end; NULL if none. The replacement is written over what it
 * replaces, so it must not be longer ("in(?)" stays as it is). */
static const char *collapse_one(const char *o, size_t n, size_t i, size_t *end)
{
    size_t j = 0, e;
    if (i + 3 <= n && !memcmp(o + i, "in(", 3)) {
        j = i + 3;
    } else if (i + 4 <= n && !memcmp(o + i, "in (", 4)) {
        j = i + 4;
    }
    if (j && (e = list_end(o, n, j)) != 0 && e + 1 - i >= 6) {
        *end = e + 1;
        return "in(?+)";
    }
    if (i + 7 <= n && !memcmp(o + i, "values", 6) && (o[i + 6] == ' ' || o[i + 6] == '(') &&
        (e = values_end(o, n, i)) != 0 && e - i >= 10) {
        *end = e;
        return "values(?+)";
    }
    return NULL;
}

/* Collapses the lists at the word starts at[0..nat) (ascending) of o[0..n). */
static size_t collapse(char *o, size_t n, const size_t *at, size_t nat)
{
    size_t w = 0, r = 0, e;
    for (size_t k = 0; k < nat; k++) {
        const char *rep = at[k] >= r ? collapse_one(o, n, at[k], &e) : NULL;
        if (!rep) {
            continue;
        }
        memmove(o + w, o + r, at[k] - r);
        w += at[k] - r;
        size_t rl = strlen(rep);
        memcpy(o + w, rep, rl);
        w += rl;
        r = e;
    }
    memmove(o + w, o + r, n - r);
    return w + n - r;
}

/* ---- the tokenizer: one SQL token at a time, shared by the fingerprint and the
 * redaction of literals (lf_sql_redact). ---- */

enum tok {
    T_WORD,    /* keyword, identifier, $1 placeholder */
    T_NUM,     /* number literal */
    T_STR,     /* string literal: '...', "..." (MySQL), E'...', x'...', $tag$...$tag$ */
    T_QIDENT,  /* quoted identifier: `...` (MySQL), "..." (PostgreSQL) */
    T_COMMENT, /* -- ..., / * ... * / (nested in PostgreSQL), # ... (MySQL) */
    T_SPACE,
    T_OTHER, /* one byte: operator, punctuation */
};

struct lex {
    const char *s;
    size_t n, i;
    bool pg;    /* PostgreSQL rules (else MySQL's) */
    bool value; /* the last significant token ends a value (word, literal, ')'): a '-'
                 * after it is an operator, not a sign */
};

/* The end of a quoted run whose opening quote is at j - 1: a doubled quote is one quote
 * character, a backslash escapes the next byte when bs. Unterminated: n. */
static inline size_t quoted_end(const char *s, size_t n, size_t j, char q, bool bs)
{
    for (;;) {
        while (j < n && s[j] != q && !(bs && s[j] == '\\')) {
            j++;
        }
        if (j >= n) {
            return n;
        }
        if (s[j] == '\\') {
            j += 2;
            continue;
        }
        if (j + 1 < n && s[j + 1] == q) { /* '' inside the literal */
            j += 2;
            continue;
        }
        return j + 1;
    }
}

/* A dollar-quoted string at i ("$$...$$", "$tag$...$tag$"): its end, or 0. */
static size_t dollar_end(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j < n && s[j] != '$') {
        if (!word(s[j]) || is_digit(s[j]) || s[j] == '$') {
            return 0;
        }
        while (j < n && word(s[j]) && s[j] != '$') {
            j++;
        }
        if (j >= n || s[j] != '$') {
            return 0;
        }
    }
    size_t tl = j + 1 - i; /* "$tag$" */
    const char *e = j + 1 < n ? memmem(s + j + 1, n - j - 1, s + i, tl) : NULL;
    return e ? (size_t)(e - s) + tl : 0;
}

/* A comment at i: its end, or 0. */
static size_t comment_end(const struct lex *x, size_t i)
{
    const char *s = x->s;
    size_t n = x->n;
    if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
        int depth = 1;
        size_t j = i + 2;
        while (j + 1 < n && depth) {
            if (s[j] == '*' && s[j + 1] == '/') {
                depth--, j += 2;
            } else if (x->pg && s[j] == '/' && s[j + 1] == '*') {
                depth++, j += 2;
            } else {
                j++;
            }
        }
        return depth ? n : j;
    }
    if ((s[i] == '-' && i + 1 < n && s[i + 1] == '-') || (s[i] == '#' && !x->pg)) {
        const char *e = memchr(s + i, '\n', n - i);
        return e ? (size_t)(e - s) + 1 : n;
    }
    return 0;
}

/* A number at i (decimal, .5, 0xFF, 1.5e-3): its end; 0 when a word character follows
 * ("1abc" is an identifier). */
static size_t number_end(const char *s, size_t n, size_t i)
{
    size_t j = i;
    if (s[i] == '0' && i + 2 < n && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        for (j = i + 2; j < n && (cls[(unsigned char)s[j]] & C_XDIGIT); j++) {
        }
    } else {
        while (j < n && (is_digit(s[j]) || s[j] == '.')) {
            j++;
        }
        if (j + 1 < n && (s[j] == 'e' || s[j] == 'E')) {
            size_t k = j + 1 + (s[j + 1] == '-' || s[j + 1] == '+');
            if (k < n && is_digit(s[k])) {
                for (j = k; j < n && is_digit(s[j]); j++) {
                }
            }
        }
    }
    return j < n && word(s[j]) ? 0 : j;
}

/* A word at x->i, or a string with a prefix (E'..', x'..', b'..', n'..', _utf8'..'). */
static enum tok lex_word(struct lex *x, size_t *end)
{
    const char *s = x->s;
    size_t i = x->i, j = i + 1, n = x->n;
    while (j < n && word(s[j])) {
        j++;
    }
    if (j < n && s[j] == '\'' &&
        ((j == i + 1 && strchr("eExXbBnN", s[i])) || (!x->pg && s[i] == '_'))) {
        bool bs = !x->pg || s[i] == 'e' || s[i] == 'E';
        *end = quoted_end(s, n, j + 1, '\'', bs);
        return T_STR;
    }
    *end = j;
    return T_WORD;
}

/* The token at x->i; its end in *end. */
static enum tok lex_token(struct lex *x, size_t *end)
{
    const char *s = x->s;
    size_t i = x->i, n = x->n, e;
    char c = s[i];
    unsigned char k = cls[(unsigned char)c];
    if (c == '$' && (e = dollar_end(s, n, i)) != 0) {
        *end = e;
        return T_STR;
    }
    if ((k & C_WORD) && !(k & C_DIGIT)) {
        return lex_word(x, end);
    }
    if (k & C_SPACE) {
        for (e = i + 1; e < n && (cls[(unsigned char)s[e]] & C_SPACE); e++) {
        }
        *end = e;
        return T_SPACE;
    }
    if (c == '\'' || (c == '"' && !x->pg)) {
        *end = quoted_end(s, n, i + 1, c, !x->pg);
        return T_STR;
    }
    if (c == '`' || c == '"') {
        *end = quoted_end(s, n, i + 1, c, false);
        return T_QIDENT;
    }
    if ((e = comment_end(x, i)) != 0) {
        *end = e;
        return T_COMMENT;
    }
    bool sign = c == '-' && !x->value && i + 1 < n && is_digit(s[i + 1]);
    bool dot = c == '.' && !x->value && i + 1 < n && is_digit(s[i + 1]);
    if ((k & C_DIGIT) || sign || dot) {
        e = number_end(s, n, i + (sign || dot));
        if (e) {
            *end = e;
            return T_NUM;
        }
        if (k & C_DIGIT) { /* "1abc": an identifier */
            for (e = i + 1; e < n && word(s[e]); e++) {
            }
            *end = e;
            return T_WORD;
        }
    }
    *end = i + 1;
    return T_OTHER;
}

/* Moves past the token; returns its kind, its start in *start. */
static inline enum tok lex_next(struct lex *x, size_t *start)
{
    size_t end;
    enum tok t = lex_token(x, &end);
    *start = x->i;
    x->i = end;
    if (t != T_SPACE && t != T_COMMENT) {
        x->value = t != T_OTHER || x->s[end - 1] == ')';
    }
    return t;
}

/* Appends s[0..n) lowercased. */
static inline size_t put_lower(char *o, size_t w, const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        o[w++] = lower(s[k]);
    }
    return w;
}

/* What the words of a statement call for once it is written: where in/values words
 * start (lists to collapse: the first FP_MAX_LISTS), whether a limit was seen. */
#define FP_MAX_LISTS 64
struct fp_todo {
    size_t at[FP_MAX_LISTS];
    size_t nat;
    bool limit;
};

/* Trims trailing spaces and ';'; collapses lists (when an in/values word was seen) and
 * "limit ?, ?" (when a limit was). */
static size_t tidy(char *o, size_t w, const struct fp_todo *todo)
{
    while (w && (o[w - 1] == ' ' || o[w - 1] == ';')) {
        w--;
    }
    /* (no leading space: the writer never starts with one, and todo's offsets hold) */
    if (todo->nat) {
        w = collapse(o, w, todo->at, todo->nat);
    }
    char *l = todo->limit && w > 10 ? memmem(o, w, "limit ?, ?", 10) : NULL;
    if (l) {
        memmove(l + 7, l + 10, w - (size_t)(l + 10 - o));
        w -= 3;
    }
    return w;
}

/* A word just written at o[w - n..w): null becomes ?, in/values/limit are noted. */
static inline size_t word_done(char *o, size_t w, size_t n, struct fp_todo *todo)
{
    const char *e = o + w - n;
    if (n == 4 && !memcmp(e, "null", 4)) {
        o[w - 4] = '?';
        return w - 3;
    }
    if (((n == 2 && e[0] == 'i' && e[1] == 'n') || (n == 6 && !memcmp(e, "values", 6))) &&
        todo->nat < FP_MAX_LISTS) {
        todo->at[todo->nat++] = w - n;
    } else if (n == 5 && !memcmp(e, "limit", 5)) {
        todo->limit = true;
    }
    return w;
}

/* The common tokens, handled without the tokenizer: a plain word (lowercased) or a run of
 * spaces. Returns false when the token at x->i needs the tokenizer. */
static inline bool fast_token(struct lex *x, char *o, size_t *w, struct fp_todo *todo)
{
    const char *s = x->s;
    size_t i = x->i, n = x->n;
    unsigned char k = cls[(unsigned char)s[i]];
    if (k & C_SPACE) {
        while (++i < n && (cls[(unsigned char)s[i]] & C_SPACE)) {
        }
        if (*w && o[*w - 1] != ' ') {
            o[(*w)++] = ' ';
        }
        x->i = i;
        return true;
    }
    if (!(k & C_WORD) || (k & C_DIGIT) || s[i] == '$') {
        return false;
    }
    size_t j = i;
    char *d = o + *w;
    while (j < n && word(s[j])) {
        *d++ = lower(s[j++]);
    }
    if (j < n && s[j] == '\'') { /* a prefixed string (x'..', E'..'): the tokenizer's */
        return false;
    }
    *w = word_done(o, *w + (j - i), j - i, todo);
    x->i = j;
    x->value = true;
    return true;
}

static size_t fingerprint(const char *s, size_t n, char *o, bool pg)
{
    struct lex x = {.s = s, .n = n, .pg = pg};
    size_t w = 0, st;
    struct fp_todo todo;
    todo.nat = 0;
    todo.limit = false;
    while (x.i < n) {
        if (fast_token(&x, o, &w, &todo)) {
            continue;
        }
        enum tok t = lex_next(&x, &st);
        size_t tl = x.i - st;
        if (t == T_NUM || t == T_STR) {
            o[w++] = '?';
        } else if (t == T_SPACE || t == T_COMMENT) {
            if (w && o[w - 1] != ' ') {
                o[w++] = ' ';
            }
        } else if (t == T_QIDENT && pg) { /* case matters in "Quoted" identifiers */
            memcpy(o + w, s + st, tl);
            w += tl;
        } else {
            w = put_lower(o, w, s + st, tl);
            w = t == T_WORD ? word_done(o, w, tl, &todo) : w;
        }
    }
    w = tidy(o, w, &todo);
    o[w] = '\0';
    return w;
}

size_t lf_fingerprint(const char *s, size_t n, char *o)
{
    return fingerprint(s, n, o, false);
}

size_t lf_fingerprint_pg(const char *s, size_t n, char *o)
{
    return fingerprint(s, n, o, true);
}

/* A plain word or a run of spaces at x->i, for the redaction: its end, or 0 when the
 * tokenizer must look (anything else, or a word that prefixes a string: x'..'). */
static inline size_t plain_run(const struct lex *x)
{
    const char *s = x->s;
    size_t i = x->i, n = x->n, j = i;
    unsigned char k = cls[(unsigned char)s[i]];
    if (k & C_SPACE) {
        while (++j < n && (cls[(unsigned char)s[j]] & C_SPACE)) {
        }
        return j;
    }
    if (!(k & C_WORD) || (k & C_DIGIT) || s[i] == '$') {
        return 0;
    }
    while (j < n && word(s[j])) {
        j++;
    }
    return j < n && s[j] == '\'' ? 0 : j;
}

size_t lf_sql_redact(const char *s, size_t n, char *o, bool pg, size_t *literals)
{
    struct lex x = {.s = s, .n = n, .pg = pg};
    size_t w = 0, st, k = 0, e;
    while (x.i < n) {
        if ((e = plain_run(&x)) != 0) {
            x.value = x.value || !(cls[(unsigned char)s[x.i]] & C_SPACE);
            memcpy(o + w, s + x.i, e - x.i);
            w += e - x.i;
            x.i = e;
            continue;
        }
        enum tok t = lex_next(&x, &st);
        if (t == T_NUM || t == T_STR) {
            o[w++] = '?';
            k++;
        } else {
            memcpy(o + w, s + st, x.i - st);
            w += x.i - st;
        }
    }
    o[w] = '\0';
    *literals = k;
    return w;
}

void lf_query_fields(struct lf_parser *p, const char *stmt, size_t n)
{
    while (n && isspace((unsigned char)stmt[n - 1])) {
        n--;
    }
    while (n && isspace((unsigned char)*stmt)) {
        stmt++, n--;
    }
    if (!n) {
        return;
    }
    lf_f_str(p, "db.statement", stmt, n);
    char *fp = lf_scratch_alloc(p, n + 1);
    if (fp) {
        size_t fl = fingerprint(stmt, n, fp, p->kind == PT_POSTGRESQL);
        p->scratch.len -= n + 1 - fl;
        lf_f_str(p, "db.fingerprint", fp, fl);
    }
    size_t k = 0;
    while (k < n && isalpha((unsigned char)stmt[k])) {
        k++;
    }
    if (k) {
        char *op = lf_scratch_alloc(p, k);
        if (op) {
            for (size_t i = 0; i < k; i++) {
                op[i] = (char)toupper((unsigned char)stmt[i]);
            }
            lf_f_str(p, "db.operation.name", op, k);
        }
    }
}
