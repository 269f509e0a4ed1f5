/* parse_fingerprint.c - SQL fingerprint like pt-query-digest's: comments removed, literals
 * to ?, IN (...) and VALUES (...) lists collapsed, whitespace and case folded. */
#include <ctype.h>
#include <string.h>

#include "parse_int.h"

static bool word(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Collapses "in(?, ?, ?)" to "in(?+)" and "values(?, ?),(?, ?)" to "values(?+)". */
static size_t collapse(char *o, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
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
    size_t w = 0;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
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
        } else if ((isdigit((unsigned char)c) ||
                    (c == '-' && i + 1 < n && isdigit((unsigned char)s[i + 1]) && w &&
                     !word(o[w - 1]) && o[w - 1] != ')')) &&
                   (w == 0 || !word(o[w - 1]))) {
            size_t j = i + 1;
            if (c == '0' && j < n && (s[j] == 'x' || s[j] == 'X')) {
                j++;
            }
            while (j < n &&
                   (isxdigit((unsigned char)s[j]) || s[j] == '.' ||
                    ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E')))) {
                j++;
            }
            if (j < n && word(s[j])) { /* identifier like 1abc */
                while (i < j) {
                    o[w++] = (char)tolower((unsigned char)s[i++]);
                }
                continue;
            }
            i = j;
            o[w++] = '?';
            continue;
        } else {
            i++;
        }
        if (isspace((unsigned char)c)) {
            if (w && o[w - 1] != ' ') {
                o[w++] = ' ';
            }
            continue;
        }
        o[w++] = (char)tolower((unsigned char)c);
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
        if (!memcmp(o + k, "null", 4) && (k == 0 || !word(o[k - 1])) &&
            (k + 4 == w || !word(o[k + 4]))) {
            o[k] = '?';
            memmove(o + k + 1, o + k + 4, w - k - 4);
            w -= 3;
        }
    }
    w = collapse(o, w);
    /* "limit ?, ?" -> "limit ?" */
    char *l = memmem(o, w, "limit ?, ?", 10);
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
