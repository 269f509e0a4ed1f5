/* parse_test.h - helpers for the parser tests: build a parser, encode a record, check
 * that the output is valid JSON (an independent strict checker) and read fields. */
#ifndef PARSE_TEST_H
#define PARSE_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_buf.h"
#include "lf_parse.h"
#include "logferry/lf_err.h"

static inline int type_index(const char *name)
{
    for (int i = 0; lf_parser_type_names[i]; i++) {
        if (!strcmp(lf_parser_type_names[i], name)) {
            return i;
        }
    }
    ck_abort_msg("unknown parser type %s", name);
    return -1;
}

/* Builds a parser; conf fields not given are zero (as the loader's defaults would be,
 * except timezone/max_body handled by lf_parser_create). */
static inline struct lf_parser *
mkparser_conf(struct lf_parser_conf *pc, const struct lf_filter_conf *fc, enum lf_record_type type)
{
    char err[256] = "";
    struct lf_parser *p = NULL;
    int rc = lf_parser_create(pc, fc, type, err, sizeof(err), &p);
    ck_assert_msg(rc == LF_OK, "lf_parser_create: %d %s", rc, err);
    return p;
}

static inline struct lf_parser *mkparser(const char *type, const char *format,
                                         enum lf_record_type rtype)
{
    struct lf_parser_conf pc = {.type = type_index(type), .format = (char *)format};
    return mkparser_conf(&pc, NULL, rtype);
}

/* ---- strict JSON checker (RFC 8259, UTF-8) ---- */
static const char *jc_value(const char *s, const char *e, int depth);

static inline const char *jc_ws(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
        s++;
    }
    return s;
}

static inline const char *jc_string(const char *s, const char *e)
{
    if (s >= e || *s != '"') {
        return NULL;
    }
    s++;
    while (s < e) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            return s + 1;
        }
        if (c < 0x20) {
            return NULL;
        }
        if (c == '\\') {
            if (s + 1 >= e) {
                return NULL;
            }
            char x = s[1];
            if (x == 'u') {
                for (int i = 2; i < 6; i++) {
                    if (s + i >= e || !strchr("0123456789abcdefABCDEF", s[i]) || !s[i]) {
                        return NULL;
                    }
                }
                s += 6;
            } else if (x && strchr("\"\\/bfnrt", x)) {
                s += 2;
            } else {
                return NULL;
            }
            continue;
        }
        if (c < 0x80) {
            s++;
            continue;
        }
        int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || e - s < len || c == 0xC0 || c == 0xC1 || c > 0xF4) {
            return NULL;
        }
        for (int i = 1; i < len; i++) {
            if (((unsigned char)s[i] & 0xC0) != 0x80) {
                return NULL;
            }
        }
        if (c == 0xED && (unsigned char)s[1] >= 0xA0) {
            return NULL; /* surrogate */
        }
        s += len;
    }
    return NULL;
}

static inline const char *jc_value(const char *s, const char *e, int depth)
{
    s = jc_ws(s, e);
    if (s >= e || depth > 100) {
        return NULL;
    }
    if (*s == '"') {
        return jc_string(s, e);
    }
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        int obj = *s == '{';
        s = jc_ws(s + 1, e);
        if (s < e && *s == close) {
            return s + 1;
        }
        for (;;) {
            if (obj) {
                s = jc_string(jc_ws(s, e), e);
                if (!s) {
                    return NULL;
                }
                s = jc_ws(s, e);
                if (s >= e || *s != ':') {
                    return NULL;
                }
                s++;
            }
            s = jc_value(s, e, depth + 1);
            if (!s) {
                return NULL;
            }
            s = jc_ws(s, e);
            if (s < e && *s == ',') {
                s++;
                continue;
            }
            return s < e && *s == close ? s + 1 : NULL;
        }
    }
    if (e - s >= 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) {
        return s + 4;
    }
    if (e - s >= 5 && !memcmp(s, "false", 5)) {
        return s + 5;
    }
    const char *b = s;
    if (*s == '-') {
        s++;
    }
    if (s >= e || *s < '0' || *s > '9') {
        return NULL;
    }
    if (*s == '0') {
        s++;
    } else {
        while (s < e && *s >= '0' && *s <= '9') {
            s++;
        }
    }
    if (s < e && *s == '.') {
        s++;
        if (s >= e || *s < '0' || *s > '9') {
            return NULL;
        }
        while (s < e && *s >= '0' && *s <= '9') {
            s++;
        }
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < e && (*s == '+' || *s == '-')) {
            s++;
        }
        if (s >= e || *s < '0' || *s > '9') {
            return NULL;
        }
        while (s < e && *s >= '0' && *s <= '9') {
            s++;
        }
    }
    return s > b ? s : NULL;
}

/* True if s[0..n) is exactly one JSON object with unique top-level keys. */
static inline bool json_valid_object(const char *s, size_t n)
{
    const char *e = s + n;
    const char *b = jc_ws(s, e);
    if (b >= e || *b != '{') {
        return false;
    }
    const char *end = jc_value(b, e, 0);
    if (!end || jc_ws(end, e) != e) {
        return false;
    }
    /* top-level keys must be unique */
    const char *keys[512];
    size_t kl[512], nk = 0;
    const char *s2 = jc_ws(b + 1, e);
    while (s2 < e && *s2 == '"') {
        const char *ke = jc_string(s2, e);
        for (size_t i = 0; i < nk; i++) {
            if (kl[i] == (size_t)(ke - s2) && !memcmp(keys[i], s2, kl[i])) {
                return false;
            }
        }
        if (nk < 512) {
            keys[nk] = s2;
            kl[nk++] = (size_t)(ke - s2);
        }
        s2 = jc_value(jc_ws(ke, e) + 1, e, 0);
        s2 = jc_ws(s2, e);
        if (*s2 != ',') {
            break;
        }
        s2 = jc_ws(s2 + 1, e);
    }
    return true;
}

/* Raw text of top-level key `key` (string values without quotes, escapes kept),
 * copied into a static buffer; NULL if absent. */
static inline const char *jget(const char *json, const char *key)
{
    static char buf[65536];
    const char *e = json + strlen(json);
    const char *s = jc_ws(json, e) + 1;
    while (s < e) {
        s = jc_ws(s, e);
        if (*s != '"') {
            return NULL;
        }
        const char *ke = jc_string(s, e);
        size_t kl = (size_t)(ke - s - 2);
        const char *v = jc_ws(jc_ws(ke, e) + 1, e);
        const char *ve = jc_value(v, e, 0);
        if (!ve) {
            return NULL;
        }
        if (kl == strlen(key) && !memcmp(s + 1, key, kl)) {
            size_t vl = (size_t)(ve - v);
            if (*v == '"') {
                v++;
                vl -= 2;
            }
            if (vl >= sizeof(buf)) {
                vl = sizeof(buf) - 1;
            }
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        s = jc_ws(ve, e);
        if (*s == ',') {
            s++;
        } else {
            break;
        }
    }
    return NULL;
}

struct enc_result {
    int rc;
    enum lf_record_type type;
    int64_t ts;
    char *json; /* owned */
};

static inline struct enc_result encode_meta(struct lf_parser *p, const char *text, size_t len,
                                            unsigned flags, const struct lf_kvlist *fields)
{
    struct lf_event_meta m = {.host_name = "host-1",
                              .path = "/var/log/test.log",
                              .input = "test",
                              .id_hex = "0123456789abcdef0123456789abcdef",
                              .offset = 42,
                              .read_time_ms = 1700000000123,
                              .fields = fields,
                              .flags = flags};
    struct lf_buf out;
    lf_buf_init(&out, 0);
    struct enc_result r = {0};
    r.rc = lf_parser_encode(p, &m, text, len, &out, &r.type, &r.ts);
    if (r.rc == LF_PARSE_EMIT) {
        ck_assert_msg(json_valid_object(out.data, out.len), "invalid JSON: %s", out.data);
        r.json = lf_buf_take(&out, NULL);
    } else {
        lf_buf_fini(&out);
    }
    return r;
}

static inline struct enc_result encode(struct lf_parser *p, const char *text)
{
    return encode_meta(p, text, strlen(text), 0, NULL);
}

#define CK_FIELD(json, key, want)                                                               \
    do {                                                                                        \
        const char *got_ = jget((json), (key));                                                 \
        ck_assert_msg(got_ != NULL, "field %s missing in %s", (key), (json));                   \
        ck_assert_msg(!strcmp(got_, (want)), "field %s: got '%s' want '%s' in %s", (key), got_, \
                      (want), (json));                                                          \
    } while (0)
#define CK_NOFIELD(json, key) \
    ck_assert_msg(jget((json), (key)) == NULL, "field %s unexpected in %s", (key), (json))

#endif
