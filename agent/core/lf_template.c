/* lf_template.c - record field lookup and "{{field}}" templates for topics, keys, headers.
 *
 * Field values are read from the record's JSON payload, which the encoder writes as one
 * flat object with dotted keys and no whitespace ({"k":v,"k2":v2}). So a key can only
 * appear as `{"name":` or `,"name":` outside strings (inside strings quotes are escaped),
 * which makes a plain substring search exact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_vec.h"
#include "logferry/lf_err.h"
#include "logferry/lf_record.h"

const char *lf_record_type_name(enum lf_record_type type)
{
    switch (type) {
    case LF_TYPE_REQUEST:
        return "request";
    case LF_TYPE_ERROR:
        return "error";
    case LF_TYPE_QUERY:
        return "query";
    default:
        return "raw";
    }
}

static size_t copy_out(char *buf, size_t cap, const char *s, size_t n)
{
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(buf, s, k);
        buf[k] = '\0';
    }
    return n;
}

static const char *find_key(const char *json, const char *name, size_t name_len)
{
    const char *p = json;
    while ((p = strstr(p, name))) {
        if (p >= json + 2 && p[-1] == '"' && (p[-2] == '{' || p[-2] == ',') && p[name_len] == '"' &&
            p[name_len + 1] == ':') {
            return p + name_len + 2;
        }
        p++;
    }
    return NULL;
}

/* Decodes the JSON string starting after its opening quote into buf. */
static size_t copy_json_string(const char *v, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *v && *v != '"'; v++) {
        char c = *v;
        if (c == '\\' && v[1]) {
            v++;
            switch (*v) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'u':
                c = '?'; /* non-ASCII escapes are rare in routing fields */
                v += strlen(v) >= 5 ? 4 : 0;
                break;
            default:
                c = *v;
                break;
            }
        }
        if (n + 1 < cap) {
            buf[n] = c;
        }
        n++;
    }
    if (cap) {
        buf[n < cap ? n : cap - 1] = '\0';
    }
    return n;
}

long lf_record_field(const struct lf_record *rec, const char *name, char *buf, size_t cap)
{
    if (strcmp(name, "type") == 0) {
        const char *t = lf_record_type_name(rec->type);
        return (long)copy_out(buf, cap, t, strlen(t));
    }
    if (strcmp(name, "id") == 0) {
        return (long)copy_out(buf, cap, rec->id, strlen(rec->id));
    }
    if (!rec->payload || !*name) { /* find_key needs a non-empty name */
        return LF_ENOTFOUND;
    }
    const char *v = find_key(rec->payload, name, strlen(name));
    if (!v) {
        return LF_ENOTFOUND;
    }
    if (*v == '"') {
        return (long)copy_json_string(v + 1, buf, cap);
    }
    size_t n = strcspn(v, ",}");
    if (n == 4 && strncmp(v, "null", 4) == 0) {
        return LF_ENOTFOUND;
    }
    return (long)copy_out(buf, cap, v, n);
}

/* ---- templates -------------------------------------------------------------------- */

struct tmpl_part {
    char *text; /* literal text, or the field name */
    int is_field;
};

struct lf_template {
    struct tmpl_part *parts;
    size_t n, cap;
};

static int add_part(struct lf_template *t, const char *s, size_t n, int is_field)
{
    if (lf_vec_reserve(&t->parts, &t->cap, t->n + 1) != LF_OK) {
        return LF_ENOMEM;
    }
    struct tmpl_part *p = t->parts;
    p[t->n].text = strndup(s, n);
    p[t->n].is_field = is_field;
    if (!p[t->n].text) {
        return LF_ENOMEM;
    }
    t->n++;
    return LF_OK;
}

static size_t trimmed(const char **s, size_t n)
{
    while (n && (**s == ' ')) {
        (*s)++;
        n--;
    }
    while (n && (*s)[n - 1] == ' ') {
        n--;
    }
    return n;
}

int lf_template_compile(const char *src, struct lf_template **out, char *err, size_t errlen)
{
    struct lf_template *t = calloc(1, sizeof(*t));
    if (!t) {
        return LF_ENOMEM;
    }
    const char *p = src ? src : "";
    int rc = LF_OK;
    while (*p && rc == LF_OK) {
        const char *open = strstr(p, "{{");
        if (!open) {
            rc = add_part(t, p, strlen(p), 0);
            break;
        }
        if (open > p) {
            rc = add_part(t, p, (size_t)(open - p), 0);
        }
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            snprintf(err, errlen, "template '%s': '{{' at column %zu is never closed", src,
                     (size_t)(open - src) + 1);
            rc = LF_EINVAL;
            break;
        }
        const char *name = open + 2;
        size_t n = trimmed(&name, (size_t)(close - name));
        if (n == 0) {
            snprintf(err, errlen, "template '%s': empty field name at column %zu", src,
                     (size_t)(open - src) + 1);
            rc = LF_EINVAL;
            break;
        }
        if (rc == LF_OK) {
            rc = add_part(t, name, n, 1);
        }
        p = close + 2;
    }
    if (rc != LF_OK) {
        lf_template_destroy(t);
        return rc;
    }
    *out = t;
    return LF_OK;
}

size_t lf_template_render(const struct lf_template *t, const struct lf_record *rec, char *buf,
                          size_t cap)
{
    size_t len = 0;
    if (cap) {
        buf[0] = '\0';
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct tmpl_part *p = &t->parts[i];
        size_t room = len < cap ? cap - len : 0;
        if (!p->is_field) {
            len += copy_out(room ? buf + len : NULL, room, p->text, strlen(p->text));
            continue;
        }
        long n = lf_record_field(rec, p->text, room ? buf + len : NULL, room);
        if (n > 0) {
            len += (size_t)n;
        }
    }
    if (cap && len >= cap) {
        buf[cap - 1] = '\0';
    }
    return len;
}

int lf_template_is_constant(const struct lf_template *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->parts[i].is_field) {
            return 0;
        }
    }
    return 1;
}

void lf_template_destroy(struct lf_template *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        free(t->parts[i].text);
    }
    free(t->parts);
    free(t);
}
