/* parse_fingerprint.c - SQL fingerprint like pt-query-digest's: comments removed, literals
 * to ?, IN (...) and VALUES (...) lists collapsed, whitespace and case folded. */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "parse_int.h"

/* Character classes without locale lookups (hot path). */
enum { C_WORD = 1, C_DIGIT = 2, C_XDIGIT = 4, C_SPACE = 8, C_ALPHA = 16 };
static unsigned char cls[256];

static pthread_once_t cls_once = PTHREAD_ONCE_INIT;

static void fill_cls(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            k |= C_WORD | C_ALPHA;
        }
        if (c >= '0' && c <= '9') {
            k |= C_WORD | C_DIGIT | C_XDIGIT;
        }
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
            k |= C_XDIGIT;
        }
        if (c == '_' || c == '$' || c >= 0x80) {
            k |= C_WORD;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            k |= C_SPACE;
        }
        cls[c] = k;
    }
}

static void init_cls(void)
{
    pthread_once(&cls_once, fill_cls);
}

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

size_t lf_fingerprint(const char *s, size_t n, char *o)
{
    init_cls();
    size_t w = 0;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        unsigned char k = cls[(unsigned char)c];
        if ((k & C_WORD) && !(k & C_DIGIT)) {
            /* identifier or keyword: copy the whole run, lowercased */
            do {
                o[w++] = lower(s[i++]);
            } while (i < n && (cls[(unsigned char)s[i]] & C_WORD));
            continue;
        }
        if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            const char *e = memmem(s + i + 2, n - i - 2, "*/", 2);
            i = e ? (size_t)(e - s) + 2 : n;
            c = ' ';
        } else if ((c == '-' && i + 1 < n && s[i + 1] == '-') || c == '#') {
            const char *e = memchr(s + i, '\n', n - i);
            i = e ? (size_t)(e - s) + 1 : n;
            c = ' ';
        } else if (c == '\'' || c == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != c) {
                j += s[j] == '\\' ? 2 : 1;
            }
            if (j + 1 < n && s[j + 1] == c) { /* '' escape: keep scanning */
                j += 2;
                while (j < n && s[j] != c) {
                    j += s[j] == '\\' ? 2 : 1;
                }
            }
            i = j + 1;
            o[w++] = '?';
            continue;
        } else if ((is_digit(c) || (c == '-' && i + 1 < n && is_digit(s[i + 1]) && w &&
                                    !word(o[w - 1]) && o[w - 1] != ')')) &&
                   (w == 0 || !word(o[w - 1]))) {
            size_t j = i + 1;
            if (c == '0' && j < n && (s[j] == 'x' || s[j] == 'X')) {
                j++;
            }
            while (j < n &&
                   ((cls[(unsigned char)s[j]] & C_XDIGIT) || s[j] == '.' ||
                    ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E')))) {
                j++;
            }
            if (j < n && word(s[j])) { /* identifier like 1abc */
                while (i < j) {
                    o[w++] = lower(s[i++]);
                }
                continue;
            }
            i = j;
            o[w++] = '?';
            continue;
        } else {
            i++;
        }
        if (cls[(unsigned char)c] & C_SPACE) {
            if (w && o[w - 1] != ' ') {
                o[w++] = ' ';
            }
            continue;
        }
        o[w++] = lower(c);
    }
    while (w && (o[w - 1] == ' ' || o[w - 1] == ';')) {
        w--;
    }
    size_t st = 0;
    while (st < w && o[st] == ' ') {
        st++;
    }
    memmove(o, o + st, w - st);
    w -= st;
    /* "null" -> "?" */
    for (size_t k = 0; k + 4 <= w; k++) {
        if (o[k] == 'n' && !memcmp(o + k, "null", 4) && (k == 0 || !word(o[k - 1])) &&
            (k + 4 == w || !word(o[k + 4]))) {
            o[k] = '?';
            memmove(o + k + 1, o + k + 4, w - k - 4);
            w -= 3;
        }
    }
    w = collapse(o, w);
    /* "limit ?, ?" -> "limit ?" */
    char *l = w > 10 ? memmem(o, w, "limit ?, ?", 10) : NULL;
    if (l) {
        memmove(l + 7, l + 10, w - (size_t)(l + 10 - o));
        w -= 3;
    }
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
