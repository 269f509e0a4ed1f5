/* lf_cmd_dlq_entry.c - one line of the dead-letter store parsed into a struct lf_dlq_item,
 * and the time and duration spellings the dlq command reads.
 *
 * The syntax is checked with the parser's JSON scanner (parse_jsonscan.c); string values
 * are decoded here (escapes, \u with surrogate pairs, to UTF-8); the record's bytes are
 * kept as they are in the line, so a replay sends exactly what was dead-lettered. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lf_cmd_dlq.h"
#include "parse_int.h"

static int entry_hex4(const char *s, const char *end, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (s + i >= end) {
            return -1;
        }
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

static char *entry_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* \uXXXX at s (past the backslash and 'u'), with a following low surrogate if any. */
static const char *entry_unicode(const char *s, const char *end, char **o)
{
    unsigned cp, lo;
    if (entry_hex4(s, end, &cp) != 0) {
        return NULL;
    }
    s += 4;
    if (cp >= 0xD800 && cp < 0xDC00 && end - s >= 6 && s[0] == '\\' && s[1] == 'u' &&
        entry_hex4(s + 2, end, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        s += 6;
    }
    *o = entry_utf8(*o, cp);
    return s;
}

/* Decodes the JSON string s..end (quotes included) into a new NUL-terminated string. */
static char *entry_string(const char *s, const char *end)
{
    char *out = malloc((size_t)(end - s) + 1);
    char *o = out;
    if (!out) {
        return NULL;
    }
    for (s++, end--; s < end;) {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        char c = s + 1 < end ? s[1] : 0;
        s += 2;
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *p = c ? strchr(from, c) : NULL;
        if (p) {
            *o++ = to[p - from];
        } else if (c != 'u' || !(s = entry_unicode(s, end, &o))) {
            free(out);
            return NULL;
        }
    }
    *o = 0;
    return out;
}

int64_t lf_dlq_parse_time(const char *s)
{
    struct tm tm = {0};
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    int64_t ms = 0;
    if (!p) {
        return -1;
    }
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            ms = digits < 3 ? ms * 10 + (*p - '0') : ms;
        }
        for (; digits < 3; digits++) {
            ms *= 10;
        }
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0) {
        return -1;
    }
    return (int64_t)timegm(&tm) * 1000 + ms;
}

int64_t lf_dlq_parse_duration(const char *s)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 604800000}};
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : -1;
    if (!s || end == s || errno != 0 || v < 0 || v > 100LL * 365 * 86400) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            return v * units[i].ms;
        }
    }
    return -1;
}

static int64_t entry_int(const char *s, const char *end)
{
    char buf[32];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    char *e;
    errno = 0;
    long long v = strtoll(buf, &e, 10);
    return *e || errno ? -1 : v;
}

/* One key/value pair of the top-level object into e. false: no memory. */
static bool entry_field(struct lf_dlq_item *e, const char *k, const char *v, const char *ve)
{
    static const char *const strs[] = {"output", "id", "reason", "error", "destination"};
    char **dst[] = {&e->output, &e->id, &e->reason, &e->error, &e->destination};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(k, strs[i]) == 0 && *v == '"' && !*dst[i]) {
            *dst[i] = entry_string(v, ve);
            return *dst[i] != NULL;
        }
    }
    static const char *const times[] = {"time", "first_failure", "last_failure"};
    int64_t *tdst[] = {&e->time_ms, &e->first_ms, &e->last_ms};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        if (strcmp(k, times[i]) == 0 && *v == '"') {
            char *t = entry_string(v, ve);
            int64_t ms = lf_dlq_parse_time(t);
            *tdst[i] = ms > 0 ? ms : 0;
            free(t);
        }
    }
    if (strcmp(k, "code") == 0) {
        e->code = entry_int(v, ve);
    } else if (strcmp(k, "attempts") == 0) {
        e->attempts = entry_int(v, ve);
    } else if (strcmp(k, "record") == 0 && *v == '{') {
        e->rec = v;
        e->rec_len = (size_t)(ve - v);
    }
    return true;
}

/* Walks the object's members. false: not a JSON object, or no memory. */
static bool entry_members(struct lf_dlq_item *e, const char *s, const char *end)
{
    s = lf_json_ws(s, end);
    if (s >= end || *s++ != '{') {
        return false;
    }
    for (s = lf_json_ws(s, end); s < end && *s != '}';) {
        const char *ke = *s == '"' ? lf_json_skip_string(s, end) : NULL;
        const char *v = ke ? lf_json_ws(ke, end) : NULL;
        if (!v || v >= end || *v != ':') {
            return false;
        }
        v = lf_json_ws(v + 1, end);
        const char *ve = lf_json_skip(v, end, 0);
        char *key = ve ? entry_string(s, ke) : NULL;
        bool ok = key && entry_field(e, key, v, ve);
        free(key);
        if (!ok) {
            return false;
        }
        s = lf_json_ws(ve, end);
        if (s < end && *s == ',') {
            s = lf_json_ws(s + 1, end);
            if (s >= end || *s != '"') {
                return false; /* a trailing comma */
            }
        } else if (s >= end || *s != '}') {
            return false;
        }
    }
    return s < end && lf_json_ws(s + 1, end) == end;
}

bool lf_dlq_entry_parse(const char *line, size_t n, size_t lineno, struct lf_dlq_item *e)
{
    memset(e, 0, sizeof(*e));
    e->code = e->attempts = -1;
    e->line = malloc(n + 1);
    if (!e->line) {
        return false;
    }
    memcpy(e->line, line, n);
    e->line[n] = 0;
    e->len = n;
    e->lineno = lineno;
    if (!entry_members(e, e->line, e->line + n) || !e->id || !*e->id || !e->rec) {
        lf_dlq_entry_fini(e);
        return false;
    }
    return true;
}

void lf_dlq_entry_fini(struct lf_dlq_item *e)
{
    free(e->line);
    free(e->output);
    free(e->id);
    free(e->reason);
    free(e->error);
    free(e->destination);
    memset(e, 0, sizeof(*e));
}
