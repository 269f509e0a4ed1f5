/* test_parse_formats.c - every nginx variable, Apache directive, logback conversion,
 * python format name and log_line_prefix escape the format compilers know, and every json
 * request/query rule, each checked for the field it yields; plus the compilers' error
 * messages. */
#include "parse_test.h"

static struct lf_parser *mkformat(const char *type, const char *format)
{
    struct lf_parser_conf pc = {.type = type_index(type), .format = (char *)format};
    return mkparser_conf(&pc, NULL, LF_TYPE_RAW);
}

static struct enc_result encode_once(const char *type, const char *format, const char *text)
{
    struct lf_parser *p = mkformat(type, format);
    struct enc_result r = encode(p, text);
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    lf_parser_destroy(p);
    return r;
}

START_TEST(nginx_variables)
{
    struct enc_result r = encode_once(
        "nginx",
        "$remote_addr $request_method $uri $args $server_protocol $status $body_bytes_sent "
        "$bytes_sent $request_length $request_time $upstream_response_time $upstream_addr "
        "$upstream_status $request_id $scheme $remote_port $server_port $upstream_connect_time "
        "${server_name} [$msec] \"$http_x_forwarded_for\" $sent_http_content_type $my_var "
        "$resp_body",
        "1.2.3.4 GET /a b=1 HTTP/1.1 201 10 20 30 0.250 0.100 10.0.0.1:80 502 rid-1 https "
        "5555 443 0.001 example.org [1700000000.500] \"9.9.9.9, 10.0.0.1\" text/html foo "
        "{\"ok\":1}");
    ck_assert_int_eq(r.type, LF_TYPE_REQUEST);
    CK_FIELD(r.json, "@timestamp", "2023-11-14T22:13:20.500Z");
    CK_FIELD(r.json, "client.ip", "1.2.3.4");
    CK_FIELD(r.json, "http.request.method", "GET");
    CK_FIELD(r.json, "url.path", "/a");
    CK_FIELD(r.json, "url.query", "b=1");
    CK_FIELD(r.json, "http.version", "1.1");
    CK_FIELD(r.json, "http.response.status_code", "201");
    CK_FIELD(r.json, "http.response.body.bytes", "10");
    CK_FIELD(r.json, "http.response.bytes", "20");
    CK_FIELD(r.json, "http.request.bytes", "30");
    CK_FIELD(r.json, "event.duration", "250000000");
    CK_FIELD(r.json, "nginx.upstream_response_time", "0.100");
    CK_FIELD(r.json, "nginx.upstream_addr", "10.0.0.1:80");
    CK_FIELD(r.json, "nginx.upstream_status", "502");
    CK_FIELD(r.json, "http.request.id", "rid-1");
    CK_FIELD(r.json, "url.scheme", "https");
    CK_FIELD(r.json, "client.port", "5555");
    CK_FIELD(r.json, "url.port", "443");
    CK_FIELD(r.json, "nginx.upstream_connect_time", "0.001");
    CK_FIELD(r.json, "url.domain", "example.org");
    CK_FIELD(r.json, "http.request.header.x_forwarded_for", "9.9.9.9, 10.0.0.1");
    CK_FIELD(r.json, "http.response.header.content_type", "text/html");
    CK_FIELD(r.json, "nginx.my_var", "foo");
    CK_FIELD(r.json, "http.response.body.content", "{\\\"ok\\\":1}");
    free(r.json);

    /* $request_uri splits path and query; $document_uri and $query_string are aliases;
     * "-" values yield no field */
    r = encode_once("nginx",
                    "$request_uri|$document_uri|$query_string|$remote_user|$host|"
                    "$http_referer|$http_user_agent|$request_body",
                    "/p%20q?x=\\x22y\\x22|/d|k=v|-|-|-|-|-");
    CK_FIELD(r.json, "url.path", "/p%20q");
    CK_FIELD(r.json, "url.query", "x=\\\"y\\\"");
    CK_NOFIELD(r.json, "user.name");
    CK_NOFIELD(r.json, "url.domain");
    CK_NOFIELD(r.json, "http.request.referrer");
    CK_NOFIELD(r.json, "user_agent.original");
    CK_NOFIELD(r.json, "http.request.body.content");
    free(r.json);
}
END_TEST

START_TEST(apache_directives)
{
    struct enc_result r = encode_once(
        "apache",
        "%a %m %U %q %H %>s %B %I %O %{ms}T %v %p %P %{Referer}i %{User-Agent}i %{X-Foo}i "
        "%{Content-Type}o %X %{%Y-%m-%dT%H:%M:%S%z}t 100%% %{Note}n %u",
        "10.1.1.1 GET /x/y ?q=1 HTTP/2.0 404 0 55 66 2 vh 8080 77 ref agent foo text/html "
        "TLS 2024-05-06T07:08:09+0200 100% note1 bob");
    CK_FIELD(r.json, "@timestamp", "2024-05-06T05:08:09.000Z");
    CK_FIELD(r.json, "client.ip", "10.1.1.1");
    CK_FIELD(r.json, "http.request.method", "GET");
    CK_FIELD(r.json, "url.path", "/x/y");
    CK_FIELD(r.json, "url.query", "?q=1");
    CK_FIELD(r.json, "http.version", "2.0");
    CK_FIELD(r.json, "http.response.status_code", "404");
    CK_FIELD(r.json, "http.response.body.bytes", "0");
    CK_FIELD(r.json, "http.request.bytes", "55");
    CK_FIELD(r.json, "http.response.bytes", "66");
    CK_FIELD(r.json, "apache.duration_ms", "2");
    CK_FIELD(r.json, "url.domain", "vh");
    CK_FIELD(r.json, "url.port", "8080");
    CK_FIELD(r.json, "process.pid", "77");
    CK_FIELD(r.json, "http.request.referrer", "ref");
    CK_FIELD(r.json, "user_agent.original", "agent");
    CK_FIELD(r.json, "http.request.header.x_foo", "foo");
    CK_FIELD(r.json, "http.response.header.content_type", "text/html");
    CK_FIELD(r.json, "apache.X", "TLS");
    CK_FIELD(r.json, "apache.note_n", "note1");
    CK_FIELD(r.json, "user.name", "bob");
    CK_NOFIELD(r.json, "event.duration");
    free(r.json);

    /* durations: %D microseconds, %T seconds, %{us}T microseconds; %V and %h aliases */
    r = encode_once("apache", "%D %V %h", "1500 vh2 ::1");
    CK_FIELD(r.json, "event.duration", "1500000");
    CK_FIELD(r.json, "url.domain", "vh2");
    CK_FIELD(r.json, "client.ip", "::1");
    free(r.json);
    r = encode_once("apache", "%T %l", "4 ident");
    CK_FIELD(r.json, "event.duration", "4000000000");
    CK_NOFIELD(r.json, "apache.l");
    free(r.json);
    r = encode_once("apache", "%{us}T %b", "3 -");
    CK_FIELD(r.json, "event.duration", "3000");
    CK_NOFIELD(r.json, "http.response.body.bytes");
    free(r.json);
    /* numbers too large for int64 (found by the fuzzer: an overflow, undefined behaviour):
     * microseconds over 15 digits give no duration; a byte count over 18 digits is not
     * this format */
    r = encode_once("apache", "%D %V", "888888888888881500 vh2");
    CK_NOFIELD(r.json, "event.duration");
    CK_FIELD(r.json, "url.domain", "vh2");
    free(r.json);
    r = encode_once("apache", "%D %V", "888888888888881 vh2");
    CK_FIELD(r.json, "event.duration", "888888888888881000");
    free(r.json);
    r = encode_once("apache", "%V %b", "vh2 9223372036854775808");
    ck_assert_msg(strstr(r.json, "parse_failure") != NULL, "%s", r.json);
    CK_NOFIELD(r.json, "http.response.body.bytes");
    free(r.json);
    r = encode_once("apache", "%V %b", "vh2 922337203685477580");
    CK_FIELD(r.json, "http.response.body.bytes", "922337203685477580");
    free(r.json);
}
END_TEST

START_TEST(java_pattern_conversions)
{
    struct enc_result r = encode_once(
        "logback", "%d %-5p [%t] %c{1}:%L %M %F (%X{id}) %pid %cn %marker %%x %ex - %m%n",
        "2024-01-01 12:00:00,500 INFO  [main] Foo:12 run Foo.java (abc) 42 ctx mk %x  - hello");
    ck_assert_int_eq(r.type, LF_TYPE_ERROR);
    CK_FIELD(r.json, "@timestamp", "2024-01-01T12:00:00.500Z");
    CK_FIELD(r.json, "log.level", "INFO");
    CK_FIELD(r.json, "process.thread.name", "main");
    CK_FIELD(r.json, "log.logger", "Foo");
    CK_FIELD(r.json, "process.pid", "42");
    CK_FIELD(r.json, "message", "hello");
    free(r.json);

    /* Spring Boot console pattern: %clr(...){color}, ${PID:- } */
    r = encode_once("logback",
                    "%clr(%d{HH:mm:ss.SSS}){faint} %clr(%5p) %clr(${PID:- }){magenta} --- "
                    "[%15.15t] %-40.40logger{39} : %m%n%wEx",
                    "10:57:51.112  WARN 4242 --- [           main] c.e.Foo                     "
                    "             : slow");
    CK_FIELD(r.json, "log.level", "WARN");
    CK_FIELD(r.json, "process.pid", "4242");
    CK_FIELD(r.json, "process.thread.name", "main");
    CK_FIELD(r.json, "log.logger", "c.e.Foo");
    CK_FIELD(r.json, "message", "slow");
    free(r.json);
}
END_TEST

START_TEST(python_format_names)
{
    struct enc_result r =
        encode_once("python",
                    "%(asctime)s %(levelname)-8s %(process)d %(threadName)s %(name)s %(funcName)s: "
                    "%(message)s",
                    "2024-01-01 12:00:00,500 WARNING  42 T-1 app.mod f: hi there");
    CK_FIELD(r.json, "@timestamp", "2024-01-01T12:00:00.500Z");
    CK_FIELD(r.json, "log.level", "WARN");
    CK_FIELD(r.json, "process.pid", "42");
    CK_FIELD(r.json, "process.thread.name", "T-1");
    CK_FIELD(r.json, "log.logger", "app.mod");
    CK_FIELD(r.json, "message", "hi there");
    free(r.json);
}
END_TEST

START_TEST(postgresql_prefix_escapes_and_sections)
{
    struct lf_parser_conf pc = {.type = type_index("postgresql"),
                                .log_line_prefix = "%s %c %e %Q %n %%%P %i%v%x%b %r "};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_QUERY);
    struct enc_result r =
        encode(p, "2017-09-06 09:31:05 CEST 5a.b 42P01 -77 1504683065.5 %12 x [unknown] LOG:  "
                  "duration: 1.5 ms  bind B1: select 1\n  and 2\n"
                  "2017-09-06 09:31:05 CEST 5a.c 42P01 -77 1504683065.5 %13 x y HINT:  h1\n"
                  "2017-09-06 09:31:05 CEST 5a.c 42P01 -77 1504683065.5 %13 x y CONTEXT:  c1\n"
                  "2017-09-06 09:31:05 CEST 5a.c 42P01 -77 1504683065.5 %13 x y QUERY:  q1\n"
                  "2017-09-06 09:31:05 CEST 5a.c 42P01 -77 1504683065.5 %13 x y LOCATION:  f1");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", "2017-09-06T07:31:05.500Z");
    CK_FIELD(r.json, "postgresql.session_id", "5a.b");
    CK_FIELD(r.json, "error.code", "42P01");
    CK_FIELD(r.json, "postgresql.query_id", "-77");
    CK_NOFIELD(r.json, "client.address"); /* [unknown] */
    CK_FIELD(r.json, "log.level", "LOG");
    CK_FIELD(r.json, "message", "duration: 1.5 ms  bind B1: select 1\\n  and 2");
    CK_FIELD(r.json, "postgresql.query_step", "bind");
    CK_FIELD(r.json, "postgresql.prepared_statement", "B1");
    CK_FIELD(r.json, "db.statement", "select 1\\n  and 2");
    CK_FIELD(r.json, "db.operation.name", "SELECT");
    CK_FIELD(r.json, "postgresql.hint", "h1");
    CK_FIELD(r.json, "postgresql.context", "c1");
    CK_FIELD(r.json, "postgresql.internal_query", "q1");
    CK_FIELD(r.json, "log.origin.function", "f1");
    CK_FIELD(r.json, "event.duration", "1500000");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(json_rules)
{
    /* configured keys win over the usual ones; string-only fields ignore other values */
    struct lf_parser_conf pc = {.type = type_index("json"),
                                .message_key = "m",
                                .timestamp_key = "when",
                                .level_key = "sev",
                                .method_key = "verb",
                                .path_key = "target",
                                .status_key = "code",
                                .response_body_key = "out",
                                .max_body_bytes = 5};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_REQUEST);
    struct enc_result r = encode(
        p,
        "{\"m\":\"hi\",\"when\":\"2024-05-06T07:08:09Z\",\"sev\":\"warning\",\"verb\":\"DELETE\","
        "\"target\":\"/x?y=1\",\"code\":404,\"out\":{\"a\":12345},\"msg\":\"ignored\","
        "\"method\":\"GET\",\"remote_addr\":\"1.2.3.4\","
        "\"request\":{\"headers\":{\"User-Agent\":\"curl\"}}}");
    CK_FIELD(r.json, "message", "hi");
    CK_FIELD(r.json, "@timestamp", "2024-05-06T07:08:09.000Z");
    CK_FIELD(r.json, "log.level", "WARN");
    CK_FIELD(r.json, "http.request.method", "DELETE");
    CK_FIELD(r.json, "url.original", "/x?y=1");
    CK_FIELD(r.json, "url.path", "/x");
    CK_FIELD(r.json, "url.query", "y=1");
    CK_FIELD(r.json, "http.response.status_code", "404");
    CK_FIELD(r.json, "client.ip", "1.2.3.4");
    CK_FIELD(r.json, "user_agent.original", "curl");
    CK_FIELD(r.json, "http.response.body.content", "{\\\"a\\\":");
    free(r.json);
    r = encode(p,
               "{\"m\":1,\"sev\":50,\"verb\":7,\"target\":null,\"code\":\"abc\",\"client_ip\":5}");
    CK_FIELD(r.json, "message", "1");
    CK_FIELD(r.json, "log.level", "ERROR"); /* pino's numeric levels */
    CK_NOFIELD(r.json, "http.request.method");
    CK_NOFIELD(r.json, "url.path");
    CK_NOFIELD(r.json, "http.response.status_code");
    CK_NOFIELD(r.json, "client.ip");
    free(r.json);
    lf_parser_destroy(p);

    /* query records: the usual statement and duration keys */
    pc = (struct lf_parser_conf){.type = type_index("json")};
    p = mkparser_conf(&pc, NULL, LF_TYPE_QUERY);
    r = encode(
        p, "{\"sql\":\"SELECT 1\",\"elapsed\":\"12.5\",\"level\":\"info\",\"time\":1700000000}");
    CK_FIELD(r.json, "@timestamp", "2023-11-14T22:13:20.000Z");
    CK_FIELD(r.json, "db.statement", "SELECT 1");
    CK_FIELD(r.json, "db.fingerprint", "select ?");
    CK_FIELD(r.json, "event.duration", "12500000");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

static void ck_config_error(const char *type, const char *format, const char *want)
{
    struct lf_parser_conf pc = {.type = type_index(type)};
    if (!strcmp(type, "postgresql")) {
        pc.log_line_prefix = (char *)format;
    } else {
        pc.format = (char *)format;
    }
    char err[256] = "";
    struct lf_parser *p = NULL;
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_RAW, err, sizeof(err), &p), LF_ECONFIG);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err, want);
}

START_TEST(format_errors)
{
    ck_config_error("nginx", "x $", "nginx format: '$' without a variable name at column 3");
    ck_config_error("nginx", "${host", "nginx format: unclosed ${ at column 1");
    ck_config_error("nginx", "$a$b",
                    "nginx format: variables at column 3 follow each other without a separator, "
                    "cannot be split");
    ck_config_error("nginx", "plain", "nginx format: no variable in \"plain\"");
    ck_config_error("apache", "%h %{x", "apache format: unclosed %{ at column 4");
    ck_config_error("apache", "%h %", "apache format: '%' at the end");
    ck_config_error("apache", "%h%u",
                    "apache format: directives at column 3 follow each other without a separator");
    ck_config_error("apache", "plain", "apache format: no directive in \"plain\"");
    ck_config_error("logback", "%d %zz", "pattern: unknown conversion %zz");
    ck_config_error("python", "%(asctime", "python format: unclosed %(");
    ck_config_error("postgresql", "%m %Z", "log_line_prefix: unknown escape %Z");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-formats");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, nginx_variables);
    tcase_add_test(tc, apache_directives);
    tcase_add_test(tc, java_pattern_conversions);
    tcase_add_test(tc, python_format_names);
    tcase_add_test(tc, postgresql_prefix_escapes_and_sections);
    tcase_add_test(tc, json_rules);
    tcase_add_test(tc, format_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
