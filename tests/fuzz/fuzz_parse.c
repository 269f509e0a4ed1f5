/* fuzz_parse.c - libFuzzer target for the parsers: one record's text through
 * lf_parser_encode. Built once per parser family (FUZZ_FAMILY: 0 access (nginx, apache),
 * 1 json, 2 regex, 3 mysql-slow, 4 postgresql, 5 application logs (logback, log4j2,
 * python, level, raw)). The first input byte picks one configuration of the family
 * (format, record type, filter); the rest is the record text, as the multi-line
 * assembler would hand it over (it may hold newlines).
 * Checks: no crash, no sanitizer report, and the output is never empty on EMIT.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lf_buf.h"
#include "lf_parse.h"
#include "logferry/lf_err.h"

#ifndef FUZZ_FAMILY
#error "FUZZ_FAMILY must be defined"
#endif

struct fz_conf {
    const char *type;
    const char *format;
    const char *prefix; /* postgresql log_line_prefix */
    enum lf_record_type rtype;
    int64_t min_duration_ms;
    int min_level;
};

static const struct fz_conf fz_access[] = {
    {"nginx", NULL, NULL, LF_TYPE_REQUEST, 0, 0},
    {"nginx",
     "$host $remote_addr [$time_iso8601] \"$request\" $status $bytes_sent $request_time "
     "$upstream_response_time \"$http_x_request_id\" $my_var \"$request_body\" \"$resp_body\"",
     NULL, LF_TYPE_REQUEST, 0, 0},
    {"nginx",
     "$remote_addr $request_method $uri $args $server_protocol $status $body_bytes_sent "
     "$bytes_sent $request_length $request_time $upstream_response_time $upstream_addr "
     "$upstream_status $request_id $scheme $remote_port $server_port $upstream_connect_time "
     "${server_name} [$msec] \"$http_x_forwarded_for\" $sent_http_content_type $my_var "
     "$resp_body",
     NULL, LF_TYPE_REQUEST, 0, 0},
    {"apache", NULL, NULL, LF_TYPE_REQUEST, 0, 0},
    {"apache", "%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x \\\"%r\\\" %b %D %{X-Trace}i", NULL,
     LF_TYPE_REQUEST, 0, 0},
    {"nginx", NULL, NULL, LF_TYPE_RAW, 0, 0},
};
static const struct fz_conf fz_json[] = {
    {"json", NULL, NULL, LF_TYPE_REQUEST, 0, 0}, {"json", NULL, NULL, LF_TYPE_ERROR, 0, 2},
    {"json", NULL, NULL, LF_TYPE_QUERY, 0, 0},   {"json", NULL, NULL, LF_TYPE_RAW, 0, 0},
    {"json", NULL, NULL, LF_TYPE_QUERY, 100, 0},
};
static const struct fz_conf fz_regex[] = {
    {"regex",
     "^(?<timestamp>\\S+) (?<http__request__method>[A-Z]+) (?<bytes>\\S+) (?<ratio>\\S+) "
     "(?<ok>\\S+) (?<message>.*)$",
     NULL, LF_TYPE_REQUEST, 0, 0},
    {"regex", "^(?<timestamp>[^ ]+ [^ ]+) (?<log__level>\\w+) (?<message>.*)", NULL, LF_TYPE_ERROR,
     0, 0},
    {"regex", "(?<message>.*)", NULL, LF_TYPE_RAW, 0, 0},
};
static const struct fz_conf fz_mysql[] = {
    {"mysql-slow", NULL, NULL, LF_TYPE_QUERY, 0, 0},
    {"mysql-slow", NULL, NULL, LF_TYPE_QUERY, 500, 0},
    {"mysql-slow", NULL, NULL, LF_TYPE_RAW, 0, 0},
};
static const struct fz_conf fz_pg[] = {
    {"postgresql", NULL, NULL, LF_TYPE_QUERY, 0, 0},
    {"postgresql", NULL, "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", LF_TYPE_QUERY, 0, 0},
    {"postgresql", NULL, "%m [%p] %q%u@%d ", LF_TYPE_ERROR, 0, 0},
    {"postgresql", NULL, NULL, LF_TYPE_QUERY, 10, 0},
};
static const struct fz_conf fz_app[] = {
    {"logback", NULL, NULL, LF_TYPE_ERROR, 0, 0},
    {"logback", "%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n", NULL,
     LF_TYPE_ERROR, 0, 0},
    {"log4j2", NULL, NULL, LF_TYPE_ERROR, 0, 0},
    {"python", NULL, NULL, LF_TYPE_ERROR, 0, 0},
    {"python", "%(asctime)s [%(process)d] %(levelname)-8s %(name)s: %(message)s", NULL,
     LF_TYPE_ERROR, 0, 0},
    {"level", NULL, NULL, LF_TYPE_ERROR, 0, 3},
    {"raw", NULL, NULL, LF_TYPE_RAW, 0, 0},
};

#define FZ_N(a) (sizeof(a) / sizeof((a)[0]))

static const struct fz_conf *fz_family(size_t *n)
{
    static const struct {
        const struct fz_conf *v;
        size_t n;
    } fams[] = {{fz_access, FZ_N(fz_access)}, {fz_json, FZ_N(fz_json)}, {fz_regex, FZ_N(fz_regex)},
                {fz_mysql, FZ_N(fz_mysql)},   {fz_pg, FZ_N(fz_pg)},     {fz_app, FZ_N(fz_app)}};
    *n = fams[FUZZ_FAMILY].n;
    return fams[FUZZ_FAMILY].v;
}

static int fz_type_index(const char *name)
{
    for (int i = 0; lf_parser_type_names[i]; i++) {
        if (!strcmp(lf_parser_type_names[i], name)) {
            return i;
        }
    }
    abort();
}

/* Parsers are built once per configuration and kept (as the agent keeps them per input),
 * so their scratch state carries over between inputs as it does between lines. */
static struct lf_parser *fz_parser(size_t i)
{
    static struct lf_parser *cache[16];
    size_t n;
    const struct fz_conf *c = &fz_family(&n)[i];
    if (cache[i]) {
        return cache[i];
    }
    struct lf_parser_conf pc = {.type = fz_type_index(c->type),
                                .format = (char *)c->format,
                                .log_line_prefix = (char *)c->prefix};
    struct lf_filter_conf fc = {.min_level = c->min_level, .min_duration_ms = c->min_duration_ms};
    char err[256];
    if (lf_parser_create(&pc, &fc, c->rtype, err, sizeof(err), &cache[i]) != LF_OK) {
        abort(); /* a seed configuration that does not build is a bug of this file */
    }
    return cache[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t n;
    fz_family(&n);
    struct lf_parser *p = fz_parser(data[0] % n);
    struct lf_event_meta m = {.host_name = "fuzzhost",
                              .path = "/var/log/fuzz.log",
                              .input = "fuzz",
                              .id_hex = "0123456789abcdef0123456789abcdef",
                              .offset = 0,
                              .read_time_ms = 1700000000000,
                              .flags = (data[0] & 0x80) ? LF_META_TRUNCATED : 0};
    struct lf_buf out;
    lf_buf_init(&out, 0);
    enum lf_record_type type;
    int64_t ts = 0;
    int rc = lf_parser_encode(p, &m, (const char *)data + 1, size - 1, &out, &type, &ts);
    if (rc == LF_PARSE_EMIT && out.len == 0) {
        abort(); /* an emitted record is never empty */
    }
    lf_buf_fini(&out);
    return 0;
}
