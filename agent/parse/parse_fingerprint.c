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

/* Collapses "in(?, ?, ?)" to "in(?+)" and "values(?, ?),(?, ?)" to "values(?+)". */
static size_t collapse(char *o, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (o[i] != 'i' && o[i] != 'v') {
            o[w++] = o[i++];
            continue;
        }
        bool in = i + 3 <= n && !memcmp(o + i, "in(", 3) && (i == 0 || !word(o[i - 1]));
        bool in2 = i + 4 <= n && !memcmp(o + i, "in (", 4) && (i == 0 || !word(o[i - 1]));
        bool val = i + 7 <= n && !memcmp(o + i, "values ", 7) && (i == 0 || !word(o[i - 1]));
        if (in || in2) {
            size_t j = i + (in ? 3 : 4);
            size_t k = j;
            while (k < n && (o[k] == '?' || o[k] == ',' || o[k] == ' ')) {
                k++;
            }
            if (k < n && o[k] == ')' && k > j) {
                memcpy(o + w, "in(?+)", 6);
                w += 6;
                i = k + 1;
                continue;
            }
        }
        if (val) {
            size_t k = i + 7;
            size_t groups = 0;
            while (k < n && o[k] == '(') {
                size_t e = k + 1;
                while (e < n && (o[e] == '?' || o[e] == ',' || o[e] == ' ')) {
                    e++;
                }
                if (e >= n || o[e] != ')') {
                    break;
                }
                groups++;
                k = e + 1;
                while (k < n && (o[k] == ',' || o[k] == ' ')) {
                    k++;
                }
            }
            if (groups) {
                memcpy(o + w, "values(?+)", 10);
                w += 10;
                i = k;
                continue;
            }
        }
        o[w++] = o[i++];
    }
    return w;
}

/* A fingerprint being written: input s[0..n) read at i, output o written at w. */
struct fp {
    const char *s;
    size_t n, i;
    char *o;
    size_t w;
};

static inline bool after_word(const struct fp *f)
{
    return f->w && word(f->o[f->w - 1]);
}

/* Identifier or keyword: the whole run, lowercased. */
static inline void copy_word(struct fp *f)
{
    do {
        f->o[f->w++] = lower(f->s[f->i++]);
    } while (f->i < f->n && word(f->s[f->i]));
}

/* "/ *...* /", "-- ..." and "# ...": skipped (they count as a space). */
static inline bool skip_comment(struct fp *f)
{
    const char *s = f->s;
    size_t i = f->i, n = f->n;
    if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
        const char *e = memmem(s + i + 2, n - i - 2, "*/", 2);
        f->i = e ? (size_t)(e - s) + 2 : n;
        return true;
    }
    if ((s[i] == '-' && i + 1 < n && s[i + 1] == '-') || s[i] == '#') {
        const char *e = memchr(s + i, '\n', n - i);
        f->i = e ? (size_t)(e - s) + 1 : n;
        return true;
    }
    return false;
}

/* The end of a quoted run starting at j (backslash escapes skipped). */
static inline size_t quote_end(const char *s, size_t n, size_t j, char q)
{
    while (j < n && s[j] != q) {
        j += s[j] == '\\' ? 2 : 1;
    }
    return j;
}

/* A 'string' or "string" (with '' escapes) becomes "?". */
static inline void replace_quoted(struct fp *f)
{
    char q = f->s[f->i];
    size_t j = quote_end(f->s, f->n, f->i + 1, q);
    if (j + 1 < f->n && f->s[j + 1] == q) { /* '' escape: keep scanning */
        j = quote_end(f->s, f->n, j + 2, q);
    }
    f->i = j + 1;
    f->o[f->w++] = '?';
}

/* A number starts here: a digit, or a minus before a digit after an operator, and not
 * inside an identifier. */
static inline bool number_starts(const struct fp *f)
{
    char c = f->s[f->i];
    bool minus = c == '-' && f->i + 1 < f->n && is_digit(f->s[f->i + 1]) && f->w &&
                 !word(f->o[f->w - 1]) && f->o[f->w - 1] != ')';
    return (is_digit(c) || minus) && !after_word(f);
}

/* A number (decimal, hex, float, exponent) becomes "?"; "1abc" is an identifier. */
static inline void replace_number(struct fp *f)
{
    const char *s = f->s;
    size_t j = f->i + 1, n = f->n;
    if (s[f->i] == '0' && j < n && (s[j] == 'x' || s[j] == 'X')) {
        j++;
    }
    while (j < n && ((cls[(unsigned char)s[j]] & C_XDIGIT) || s[j] == '.' ||
                     ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E')))) {
        j++;
    }
    if (j < n && word(s[j])) {
        while (f->i < j) {
            f->o[f->w++] = lower(s[f->i++]);
        }
        return;
    }
    f->i = j;
    f->o[f->w++] = '?';
}

/* Any other byte: spaces collapse to one, the rest is lowercased. */
static inline void put_other(struct fp *f, char c)
{
    if (cls[(unsigned char)c] & C_SPACE) {
        if (f->w && f->o[f->w - 1] != ' ') {
            f->o[f->w++] = ' ';
        }
        return;
    }
    f->o[f->w++] = lower(c);
}

/* Trims spaces and a trailing ';', turns null into ?, collapses lists, "limit ?, ?". */
static size_t tidy(char *o, size_t w)
{
    while (w && (o[w - 1] == ' ' || o[w - 1] == ';')) {
        w--;
    }
    size_t st = 0;
    while (st < w && o[st] == ' ') {
        st++;
    }
    memmove(o, o + st, w - st);
    w -= st;
    for (size_t k = 0; k + 4 <= w; k++) {
        if (o[k] == 'n' && !memcmp(o + k, "null", 4) && (k == 0 || !word(o[k - 1])) &&
            (k + 4 == w || !word(o[k + 4]))) {
            o[k] = '?';
            memmove(o + k + 1, o + k + 4, w - k - 4);
            w -= 3;
        }
    }
    w = collapse(o, w);
    char *l = w > 10 ? memmem(o, w, "limit ?, ?", 10) : NULL;
    if (l) {
        memmove(l + 7, l + 10, w - (size_t)(l + 10 - o));
        w -= 3;
    }
    return w;
}

size_t lf_fingerprint(const char *s, size_t n, char *o)
{
    struct fp f = {.s = s, .n = n, .o = o};
    while (f.i < n) {
        char c = s[f.i];
        unsigned char k = cls[(unsigned char)c];
        if ((k & C_WORD) && !(k & C_DIGIT)) {
            copy_word(&f);
            continue;
        }
        if (skip_comment(&f)) {
            c = ' ';
        } else if (c == '\'' || c == '"') {
            replace_quoted(&f);
            continue;
        } else if (number_starts(&f)) {
            replace_number(&f);
            continue;
        } else {
            f.i++;
        }
        put_other(&f, c);
    }
    size_t w = tidy(o, f.w);
    o[w] = '\0';
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
        size_t fl = lf_fingerprint(stmt, n, fp);
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
