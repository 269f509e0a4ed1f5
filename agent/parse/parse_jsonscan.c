/* parse_jsonscan.c - JSON syntax checking without building anything: skips one value
 * (strings, numbers, literals, nested objects and arrays) and says where it ends. Used by
 * the json parser to validate and index a record, and by the regex and mysql parsers to
 * check that a captured number is valid JSON. Decodes nothing, allocates nothing.
 */
#include <string.h>

#include "parse_int.h"

const char *lf_json_skip_string(const char *s, const char *end)
{
    /* s at the opening quote */
    for (s++; s < end; s++) {
        s += lf_json_plain_prefix(s, (size_t)(end - s));
        if (s >= end) {
            return NULL;
        }
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            return s + 1;
        }
        if (c < 0x20) {
            return NULL;
        }
        if (c >= 0x80) {
            size_t l = lf_utf8_len((const unsigned char *)s, (size_t)(end - s));
            if (!l) {
                return NULL; /* invalid UTF-8 could not be copied as is */
            }
            s += l - 1;
            continue;
        }
        if (c == '\\') {
            s++;
            if (s >= end) {
                return NULL;
            }
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (s + i >= end || !strchr("0123456789abcdefABCDEF", s[i]) || !s[i]) {
                        return NULL;
                    }
                }
                s += 4;
            } else if (!strchr("\"\\/bfnrt", *s) || !*s) {
                return NULL;
            }
        }
    }
    return NULL;
}

static const char *skip_number(const char *s, const char *end)
{
    const char *b = s;
    if (s < end && *s == '-') {
        s++;
    }
    if (s >= end || *s < '0' || *s > '9') {
        return NULL;
    }
    if (*s == '0') {
        s++;
    } else {
        while (s < end && *s >= '0' && *s <= '9') {
            s++;
        }
    }
    if (s < end && *s == '.') {
        s++;
        if (s >= end || *s < '0' || *s > '9') {
            return NULL;
        }
        while (s < end && *s >= '0' && *s <= '9') {
            s++;
        }
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-')) {
            s++;
        }
        if (s >= end || *s < '0' || *s > '9') {
            return NULL;
        }
        while (s < end && *s >= '0' && *s <= '9') {
            s++;
        }
    }
    return s > b ? s : NULL;
}

/* s just past '{' or '['; returns the end of the container or NULL. */
static const char *skip_container(const char *s, const char *end, char close, int depth)
{
    bool obj = close == '}';
    s = lf_json_ws(s, end);
    if (s < end && *s == close) {
        return s + 1;
    }
    for (;;) {
        if (obj) {
            s = lf_json_ws(s, end);
            s = s < end && *s == '"' ? lf_json_skip_string(s, end) : NULL;
            if (!s) {
                return NULL;
            }
            s = lf_json_ws(s, end);
            if (s >= end || *s != ':') {
                return NULL;
            }
            s++;
        }
        s = lf_json_skip(s, end, depth + 1);
        if (!s) {
            return NULL;
        }
        s = lf_json_ws(s, end);
        if (s < end && *s == ',') {
            s++;
            continue;
        }
        return s < end && *s == close ? s + 1 : NULL;
    }
}

const char *lf_json_skip(const char *s, const char *end, int depth)
{
    s = lf_json_ws(s, end);
    if (s >= end || depth > 64) {
        return NULL;
    }
    switch (*s) {
    case '"':
        return lf_json_skip_string(s, end);
    case '{':
        return skip_container(s + 1, end, '}', depth);
    case '[':
        return skip_container(s + 1, end, ']', depth);
    case 't':
        return end - s >= 4 && !memcmp(s, "true", 4) ? s + 4 : NULL;
    case 'f':
        return end - s >= 5 && !memcmp(s, "false", 5) ? s + 5 : NULL;
    case 'n':
        return end - s >= 4 && !memcmp(s, "null", 4) ? s + 4 : NULL;
    default:
        return skip_number(s, end);
    }
}

/* The members of the object at b (which must be valid JSON up to e). */
size_t lf_json_members(const char *b, const char *e, struct lf_json_member *m, size_t max)
{
    size_t k = 0;
    const char *s = lf_json_ws(b + 1, e);
    while (s < e && *s == '"' && k < max) {
        const char *ke = lf_json_skip_string(s, e);
        const char *val = ke ? lf_json_ws(lf_json_ws(ke, e) + 1, e) : NULL;
        const char *ve = val ? lf_json_skip(val, e, 0) : NULL;
        if (!ve) {
            break;
        }
        m[k++] = (struct lf_json_member){
            .k = s + 1, .kl = (size_t)(ke - s - 2), .v = val, .vl = (size_t)(ve - val)};
        s = lf_json_ws(ve, e);
        s = s < e && *s == ',' ? lf_json_ws(s + 1, e) : e;
    }
    return k;
}

const struct lf_json_member *lf_json_member(const struct lf_json_member *m, size_t n,
                                            const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++) {
        if (m[i].kl == kl && !memcmp(m[i].k, key, kl)) {
            return &m[i];
        }
    }
    return NULL;
}
