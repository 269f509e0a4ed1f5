/* lf_parse.c - parser registry, option tables, create/destroy, filters, dispatch. */
#include "lf_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_buf.h"
#include "logferry/lf_err.h"
#include "parse_int.h"

const char *const lf_parser_type_names[] = {
    "raw",    "json",  "regex",      "nginx",      "apache",  "logback", "log4j2",
    "python", "level", "mysql-slow", "postgresql", "mongodb", NULL};
const char *const lf_duration_unit_names[] = {"ms", "s", "us", "ns", NULL};

#define PC(f) offsetof(struct lf_parser_conf, f)
#define FC(f) offsetof(struct lf_filter_conf, f)

const struct lf_opt lf_parser_options[] = {
    {.name = "type",
     .type = LF_OPT_ENUM,
     .def = "raw",
     .choices = lf_parser_type_names,
     .offset = PC(type),
     .desc = "Parser to apply to each record."},
    {.name = "format",
     .type = LF_OPT_STR,
     .offset = PC(format),
     .desc = "nginx log_format, Apache LogFormat, logback/log4j2 %pattern, python logging "
             "format, or PCRE2 regex (regex parser), depending on the type."},
    {.name = "timezone",
     .type = LF_OPT_STR,
     .offset = PC(timezone),
     .desc = "Older spelling of the input's `timezone:` (UTC when neither is given)."},
    {.name = "message_key",
     .type = LF_OPT_STR,
     .offset = PC(message_key),
     .desc = "json: key (dotted path) of the message."},
    {.name = "timestamp_key",
     .type = LF_OPT_STR,
     .offset = PC(timestamp_key),
     .desc = "json: key (dotted path) of the time (ISO-8601 or epoch s/ms)."},
    {.name = "level_key",
     .type = LF_OPT_STR,
     .offset = PC(level_key),
     .desc = "json: key of the log level."},
    {.name = "method_key",
     .type = LF_OPT_STR,
     .offset = PC(method_key),
     .desc = "json request logs: key of the HTTP method."},
    {.name = "path_key",
     .type = LF_OPT_STR,
     .offset = PC(path_key),
     .desc = "json request logs: key of the URL path (query string split off)."},
    {.name = "status_key",
     .type = LF_OPT_STR,
     .offset = PC(status_key),
     .desc = "json request logs: key of the response status code."},
    {.name = "duration_key",
     .type = LF_OPT_STR,
     .offset = PC(duration_key),
     .desc = "json request/query logs: key of the duration (unit: duration_unit)."},
    {.name = "request_body_key",
     .type = LF_OPT_STR,
     .offset = PC(request_body_key),
     .desc = "json request logs: key of the request body."},
    {.name = "response_body_key",
     .type = LF_OPT_STR,
     .offset = PC(response_body_key),
     .desc = "json request logs: key of the response body."},
    {.name = "statement_key",
     .type = LF_OPT_STR,
     .offset = PC(statement_key),
     .desc = "json query logs: key of the SQL statement."},
    {.name = "duration_unit",
     .type = LF_OPT_ENUM,
     .def = "ms",
     .choices = lf_duration_unit_names,
     .offset = PC(duration_unit),
     .desc = "json: unit of the duration value."},
    {.name = "log_line_prefix",
     .type = LF_OPT_STR,
     .offset = PC(log_line_prefix),
     .desc = "postgresql: the server's log_line_prefix (default: Debian's '%m [%p] %q%u@%d ')."},
    {.name = "max_body_bytes",
     .type = LF_OPT_SIZE,
     .def = "4KiB",
     .offset = PC(max_body_bytes),
     .desc = "Request/response bodies longer than this are cut."},
    {.name = "types",
     .type = LF_OPT_MAP,
     .offset = PC(types),
     .desc = "regex: field -> int | float | bool conversion hints."},
    {.name = NULL},
};

const struct lf_opt lf_filter_options[] = {
    {.name = "min_level",
     .type = LF_OPT_ENUM,
     .def = "none",
     .choices = lf_level_names,
     .offset = FC(min_level),
     .desc = "Drop error records below this level."},
    {.name = "min_duration",
     .type = LF_OPT_DURATION,
     .def = "0",
     .offset = FC(min_duration_ms),
     .desc = "Drop query records faster than this (records without a duration are kept)."},
    {.name = "sample_below",
     .type = LF_OPT_STR,
     .offset = FC(sample_below),
     .desc = "Share of faster queries still forwarded: 0 to 1 (\"0.01\") or a percentage "
             "(\"1%\"); deterministic by record id. Default 0."},
    {.name = NULL},
};

static int parse_rate_ppm(const char *s, int64_t *ppm)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s) {
        return -1;
    }
    if (*end == '%') {
        v /= 100;
        end++;
    }
    if (*end || v < 0 || v > 1) {
        return -1;
    }
    *ppm = (int64_t)(v * 1e6 + 0.5);
    return 0;
}

/* The first key set in pc that parser kind does not use, or NULL. Keys with a default
 * (timezone, duration_unit, max_body_bytes) are accepted everywhere. */
static const char *unused_key(enum lf_ptype kind, const struct lf_parser_conf *pc)
{
    bool json = kind == PT_JSON;
    bool fmt = kind == PT_REGEX || kind == PT_NGINX || kind == PT_APACHE || kind == PT_LOGBACK ||
               kind == PT_LOG4J2 || kind == PT_PYTHON;
    const struct {
        const char *name;
        bool set, allowed;
    } k[] = {
        {"format", pc->format != NULL, fmt},
        {"message_key", pc->message_key != NULL, json},
        {"timestamp_key", pc->timestamp_key != NULL, json},
        {"level_key", pc->level_key != NULL, json},
        {"method_key", pc->method_key != NULL, json},
        {"path_key", pc->path_key != NULL, json},
        {"status_key", pc->status_key != NULL, json},
        {"duration_key", pc->duration_key != NULL, json},
        {"request_body_key", pc->request_body_key != NULL, json},
        {"response_body_key", pc->response_body_key != NULL, json},
        {"statement_key", pc->statement_key != NULL, json},
        {"log_line_prefix", pc->log_line_prefix != NULL, kind == PT_POSTGRESQL},
        {"types", pc->types.n > 0, kind == PT_REGEX},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        if (k[i].set && !k[i].allowed) {
            return k[i].name;
        }
    }
    return NULL;
}

/* Which request-line keys an access-log variable writes (they overlap). */
static unsigned url_keys(enum lf_avar v)
{
    switch (v) {
    case AV_REQUEST:
        return 1 | 2 | 4 | 8 | 16;
    case AV_METHOD:
        return 1;
    case AV_URI:
        return 2 | 4 | 8;
    case AV_PATH:
        return 4;
    case AV_QUERY:
        return 8;
    case AV_PROTOCOL:
        return 16;
    default:
        return 0;
    }
}

/* json key options the parser keeps a copy of: conf member -> parser member. */
#define PK(f) offsetof(struct lf_parser, f)
static const struct {
    size_t conf, parser;
} key_options[] = {
    {PC(message_key), PK(k_msg)},
    {PC(timestamp_key), PK(k_ts)},
    {PC(level_key), PK(k_level)},
    {PC(method_key), PK(k_method)},
    {PC(path_key), PK(k_path)},
    {PC(status_key), PK(k_status)},
    {PC(duration_key), PK(k_dur)},
    {PC(request_body_key), PK(k_reqbody)},
    {PC(response_body_key), PK(k_respbody)},
    {PC(statement_key), PK(k_stmt)},
};

static char **parser_key(struct lf_parser *p, size_t i)
{
    return (char **)(void *)((char *)p + key_options[i].parser);
}

static const char *conf_key(const struct lf_parser_conf *pc, size_t i)
{
    return *(char *const *)(const void *)((const char *)pc + key_options[i].conf);
}

static int copy_keys(struct lf_parser *p, const struct lf_parser_conf *pc)
{
    for (size_t i = 0; i < sizeof(key_options) / sizeof(key_options[0]); i++) {
        const char *k = conf_key(pc, i);
        if (!k) {
            continue;
        }
        *parser_key(p, i) = strdup(k);
        if (!*parser_key(p, i)) {
            return LF_ENOMEM;
        }
    }
    return LF_OK;
}

/* An input without `type:` gets the parser's natural record type. */
static enum lf_record_type natural_type(enum lf_ptype kind, enum lf_record_type type)
{
    if (type != LF_TYPE_RAW) {
        return type;
    }
    switch (kind) {
    case PT_LOGBACK:
    case PT_LOG4J2:
    case PT_PYTHON:
    case PT_LEVEL:
        return LF_TYPE_ERROR;
    case PT_POSTGRESQL:
    case PT_MYSQL_SLOW:
    case PT_MONGODB:
        return LF_TYPE_QUERY;
    case PT_NGINX:
    case PT_APACHE:
        return LF_TYPE_REQUEST;
    default:
        return type;
    }
}

static int setup_timezone(struct lf_parser *p, const char *tz, char *err, size_t errlen)
{
    return lf_tz_open(tz, &p->tz, err, errlen);
}

int lf_tz_check(const char *spec, char *err, size_t errlen)
{
    struct lf_tz *tz;
    int rc = lf_tz_open(spec, &tz, err, errlen);
    lf_tz_close(tz);
    return rc;
}

static int setup_filter(struct lf_parser *p, const struct lf_filter_conf *fc, char *err,
                        size_t errlen)
{
    if (!fc) {
        return LF_OK;
    }
    p->min_level = fc->min_level;
    p->min_duration_ms = fc->min_duration_ms;
    p->sample_ppm = fc->sample_below_ppm;
    if (fc->sample_below && parse_rate_ppm(fc->sample_below, &p->sample_ppm) != 0) {
        snprintf(err, errlen, "sample_below: \"%s\" is not a rate between 0 and 1",
                 fc->sample_below);
        return LF_ECONFIG;
    }
    return LF_OK;
}

static int check_keys_used(const struct lf_parser *p, const struct lf_parser_conf *pc, char *err,
                           size_t errlen)
{
    const char *unused = unused_key(p->kind, pc);
    if (unused) {
        snprintf(err, errlen, "parser %s does not use %s", lf_parser_type_names[p->kind], unused);
        return LF_ECONFIG;
    }
    return LF_OK;
}

/* Compiles `format:` (or the type's default) for the parsers that have one. */
static int compile_format(struct lf_parser *p, const struct lf_parser_conf *pc, char *err,
                          size_t errlen)
{
    switch (p->kind) {
    case PT_NGINX:
        return lf_atmpl_compile_nginx(&p->at, pc->format ? pc->format : "combined", err, errlen);
    case PT_APACHE:
        return lf_atmpl_compile_apache(&p->at, pc->format ? pc->format : "combined", err, errlen);
    case PT_REGEX:
        if (!pc->format) {
            snprintf(err, errlen, "parser regex needs format: (a PCRE2 pattern)");
            return LF_ECONFIG;
        }
        return lf_rx_setup(p, pc, err, errlen);
    case PT_LOGBACK:
    case PT_LOG4J2:
    case PT_PYTHON:
    case PT_LEVEL:
        return lf_rx_setup(p, pc, err, errlen);
    case PT_POSTGRESQL:
        return lf_pg_setup(p, pc->log_line_prefix ? pc->log_line_prefix : "%m [%p] %q%u@%d ", err,
                           errlen);
    default:
        return LF_OK;
    }
}

/* Whether the parser can write a key twice (the encoder then checks each key). An access
 * template without a repeated variable cannot. */
static bool may_repeat_keys(const struct lf_parser *p)
{
    if (p->kind != PT_NGINX && p->kind != PT_APACHE) {
        return true;
    }
    for (size_t i = 0; i < p->at.nseg; i++) {
        for (size_t j = 0; j < i; j++) {
            const struct lf_aseg *a = &p->at.seg[i], *b = &p->at.seg[j];
            if ((a->var == b->var && a->var != AV_IGNORE && a->var != AV_OTHER) ||
                (a->key && b->key && !strcmp(a->key, b->key)) ||
                (url_keys(a->var) & url_keys(b->var))) {
                return true;
            }
        }
    }
    return false;
}

int lf_parser_create(const struct lf_parser_conf *pc, const struct lf_filter_conf *fc,
                     enum lf_record_type type, char *err, size_t errlen, struct lf_parser **out)
{
    *out = NULL;
    struct lf_parser *p = calloc(1, sizeof(*p));
    if (!p) {
        return LF_ENOMEM;
    }
    lf_buf_init(&p->scratch, 0);
    lf_buf_init(&p->scratch2, 0);
    p->kind = (enum lf_ptype)pc->type;
    p->fmt_sec = -1;
    p->type = natural_type(p->kind, type);
    p->max_body = pc->max_body_bytes ? pc->max_body_bytes : 4096;
    p->duration_unit = pc->duration_unit;
    p->drop_message = pc->drop_message;
    int rc = setup_timezone(p, pc->timezone, err, errlen);
    if (rc != LF_OK) {
        goto out_destroy;
    }
    rc = setup_filter(p, fc, err, errlen);
    if (rc != LF_OK) {
        goto out_destroy;
    }
    rc = copy_keys(p, pc);
    if (rc != LF_OK) {
        goto out_destroy;
    }
    rc = check_keys_used(p, pc, err, errlen);
    if (rc != LF_OK) {
        goto out_destroy;
    }
    rc = compile_format(p, pc, err, errlen);
    if (rc != LF_OK) {
        goto out_destroy;
    }
    rc = lf_redactor_create(&pc->redact, p->kind == PT_POSTGRESQL, err, errlen, &p->redactor);
    if (rc != LF_OK) {
        goto out_destroy;
    }
    p->dedupe = may_repeat_keys(p);
    *out = p;
    return LF_OK;
out_destroy:
    lf_parser_destroy(p);
    return rc;
}

void lf_parser_destroy(struct lf_parser *p)
{
    if (!p) {
        return;
    }
    lf_atmpl_free(&p->at);
    lf_tz_close(p->tz);
    lf_redactor_destroy(p->redactor);
    for (size_t i = 0; i < p->nrx; i++) {
        lf_rx_free(&p->rx[i]);
    }
    lf_rx_free(&p->pg);
    for (size_t i = 0; i < sizeof(key_options) / sizeof(key_options[0]); i++) {
        free(*parser_key(p, i));
    }
    lf_buf_fini(&p->scratch);
    lf_buf_fini(&p->scratch2);
    free(p);
}

/* Deterministic sampling: the first 8 hex digits of the id, modulo one million. */
static bool sampled(const struct lf_event_meta *m, int64_t ppm)
{
    if (ppm <= 0) {
        return false;
    }
    uint32_t v = 0;
    for (int i = 0; m->id_hex && i < 8 && m->id_hex[i]; i++) {
        char c = m->id_hex[i];
        v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return (int64_t)(v % 1000000u) < ppm;
}

/* Resets the per-record state; the scratch buffer gets room for every decoded value of
 * the record (values never grow when decoded). */
static int begin_record(struct lf_parser *p, const struct lf_event_meta *m, const char *text,
                        size_t len)
{
    p->scratch.len = 0;
    p->nf = 0;
    p->msg = text;
    p->msglen = len;
    p->ts_ok = false;
    p->failed = false;
    p->ts_missing = false;
    p->tz_unresolved = false;
    p->ts_mismatch = false;
    p->level = 0;
    p->dur_ns = -1;
    p->read_ms = m->read_time_ms;
    p->rtype = p->type;
    return lf_buf_reserve(&p->scratch, 2 * len + 256);
}

/* Runs the parser of p's type; false when the text does not parse. */
static bool run_parser(struct lf_parser *p, const char *text, size_t len, bool *drop)
{
    switch (p->kind) {
    case PT_JSON:
        return lf_parse_json(p, text, len);
    case PT_NGINX:
    case PT_APACHE:
        return lf_parse_access(p, text, len);
    case PT_REGEX:
    case PT_LOGBACK:
    case PT_LOG4J2:
    case PT_PYTHON:
    case PT_LEVEL:
        return lf_parse_rx(p, text, len);
    case PT_MYSQL_SLOW:
        return lf_parse_mysql(p, text, len, drop);
    case PT_POSTGRESQL:
        return lf_parse_pg(p, text, len);
    case PT_MONGODB:
        return lf_parse_mongo(p, text, len);
    case PT_RAW:
        if (p->type == LF_TYPE_ERROR) { /* a header-less trace: the exception still counts */
            lf_error_details(p, NULL, 0, text, len);
        }
        return true;
    default:
        return true;
    }
}

/* Nothing is dropped for failing to parse: keep the text, mark it, count it. */
static void mark_failed(struct lf_parser *p, const char *text, size_t len)
{
    p->errors++;
    p->failed = true;
    p->nf = 0;
    p->msg = text;
    p->msglen = len;
    p->ts_ok = false;
    p->tz_unresolved = false;
    p->ts_mismatch = false;
}

/* The filter: records below min_level, and queries faster than min_duration unless
 * sampled. Records without a level or a duration pass. */
static bool filtered_out(const struct lf_parser *p, const struct lf_event_meta *m)
{
    if (p->min_level > 0 && p->level > 0 && p->level < p->min_level) {
        return true;
    }
    return p->min_duration_ms > 0 && p->dur_ns >= 0 && p->dur_ns < p->min_duration_ms * 1000000 &&
           !sampled(m, p->sample_ppm);
}

int lf_parser_encode(struct lf_parser *p, const struct lf_event_meta *m, const char *text,
                     size_t len, struct lf_buf *out, enum lf_record_type *type_out, int64_t *ts_ms)
{
    int rc = begin_record(p, m, text, len);
    if (rc != LF_OK) {
        return rc;
    }
    bool drop = false;
    bool ok = run_parser(p, text, len, &drop);
    if (drop || (ok && filtered_out(p, m))) {
        p->filtered++;
        return LF_PARSE_DROP;
    }
    if (!ok) {
        mark_failed(p, text, len);
    } else if (p->drop_message && p->kind != PT_RAW && p->msg == text && p->msglen == len) {
        p->msg = NULL; /* keep_message: false, and `message` is the whole text */
    }
    if (!p->ts_ok) {
        p->ts_ms = m->read_time_ms;
        p->ts_missing = p->kind != PT_RAW;
    }
    if (p->dur_ns >= 0) {
        lf_f_int(p, "event.duration", p->dur_ns);
    }
    if (p->redactor && (rc = lf_redact_record(p, p->redactor)) != LF_OK) {
        return rc;
    }
    rc = lf_encode_record(p, m, text, len, out);
    if (rc != LF_OK) {
        return rc;
    }
    *type_out = p->rtype;
    *ts_ms = p->ts_ms;
    return LF_PARSE_EMIT;
}

uint64_t lf_parser_errors(const struct lf_parser *p)
{
    return p->errors;
}

uint64_t lf_parser_filtered(const struct lf_parser *p)
{
    return p->filtered;
}

uint64_t lf_parser_redactions(const struct lf_parser *p)
{
    return lf_redactor_count(p->redactor);
}

int lf_redact_check(const struct lf_redact_conf *c, char *err, size_t errlen)
{
    struct lf_redactor *r;
    int rc = lf_redactor_create(c, false, err, errlen, &r);
    lf_redactor_destroy(r);
    return rc;
}

const char *lf_parser_default_multiline(const struct lf_parser_conf *pc)
{
    switch ((enum lf_ptype)pc->type) {
    case PT_LOGBACK:
    case PT_LOG4J2:
        return "java";
    case PT_PYTHON:
        return "python";
    case PT_MYSQL_SLOW:
        return "mysql-slow";
    case PT_POSTGRESQL:
        return "postgresql";
    default:
        return NULL;
    }
}
