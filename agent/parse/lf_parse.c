/* lf_parse.c - STUB: raw encoding only, replaced by the parsers work (issue 4). */
#include "lf_parse.h"

#include <stdlib.h>
#include <string.h>

#include "lf_buf.h"
#include "logferry/lf_err.h"

const char *const lf_parser_type_names[] = {"raw", NULL};
const char *const lf_level_names[] = {"none", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", NULL};
const char *const lf_duration_unit_names[] = {"ms", "s", "us", "ns", NULL};

const struct lf_opt lf_parser_options[] = {
    {.name = "type", .type = LF_OPT_ENUM, .def = "raw", .choices = lf_parser_type_names,
     .offset = offsetof(struct lf_parser_conf, type), .desc = "Parser to apply to each record.",},
    {.name = NULL},
};

const struct lf_opt lf_filter_options[] = {
    {.name = NULL},
};

struct lf_parser {
    enum lf_record_type type;
};

int lf_parser_create(const struct lf_parser_conf *pc, const struct lf_filter_conf *fc,
                     enum lf_record_type type, char *err, size_t errlen, struct lf_parser **out)
{
    struct lf_parser *p = calloc(1, sizeof(*p));
    if (!p) {
        return LF_ENOMEM;
    }
    p->type = type;
    *out = p;
    return LF_OK;
}

void lf_parser_destroy(struct lf_parser *p)
{
    free(p);
}

int lf_parser_encode(struct lf_parser *p, const struct lf_event_meta *m, const char *text,
                     size_t len, struct lf_buf *out, enum lf_record_type *type_out,
                     int64_t *ts_ms)
{
    int rc = lf_buf_append_str(out, "{\"type\":\"raw\",\"message\":\"");
    if (rc == LF_OK) {
        rc = lf_buf_append_json_escaped(out, text, len);
    }
    if (rc == LF_OK) {
        rc = lf_buf_append_str(out, "\"}");
    }
    *type_out = LF_TYPE_RAW;
    *ts_ms = m->read_time_ms;
    return rc == LF_OK ? LF_PARSE_EMIT : rc;
}

uint64_t lf_parser_errors(const struct lf_parser *p)
{
    return 0;
}

uint64_t lf_parser_filtered(const struct lf_parser *p)
{
    return 0;
}

const char *lf_parser_default_multiline(const struct lf_parser_conf *pc)
{
    return NULL;
}
