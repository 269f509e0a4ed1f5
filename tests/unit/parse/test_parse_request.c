/* test_parse_request.c - nginx, apache and json request logs. */
#include "parse_test.h"

START_TEST(nginx_combined)
{
    struct lf_parser *p = mkparser("nginx", NULL, LF_TYPE_REQUEST);
    struct enc_result r =
        encode(p, "85.181.35.98 - alice [07/Dec/2016:11:05:07 +0100] \"GET /ocelot?a=1&b=2 "
                  "HTTP/1.1\" 200 571 \"http://ref/\" \"Mozilla/5.0 (X11)\"");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    ck_assert_int_eq(r.type, LF_TYPE_REQUEST);
    CK_FIELD(r.json, "type", "request");
    CK_FIELD(r.json, "@timestamp", "2016-12-07T10:05:07.000Z");
    CK_FIELD(r.json, "client.ip", "85.181.35.98");
    CK_FIELD(r.json, "user.name", "alice");
    CK_FIELD(r.json, "http.request.method", "GET");
    CK_FIELD(r.json, "url.path", "/ocelot");
    CK_FIELD(r.json, "url.query", "a=1&b=2");
    CK_FIELD(r.json, "http.version", "1.1");
    CK_FIELD(r.json, "http.response.status_code", "200");
    CK_FIELD(r.json, "http.response.body.bytes", "571");
    CK_FIELD(r.json, "http.request.referrer", "http://ref/");
    CK_FIELD(r.json, "user_agent.original", "Mozilla/5.0 (X11)");
    CK_NOFIELD(r.json, "log.flags");
    ck_assert_int_eq(r.ts, 1481105107000);
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(nginx_edge_cases)
{
    struct lf_parser *p = mkparser("nginx", NULL, LF_TYPE_REQUEST);
    /* X-Forwarded-For list before the client, IPv6, escapes, empty request, extra field */
    struct enc_result r = encode(p, "10.0.0.2, 10.0.0.1, 127.0.0.1 - - [07/Dec/2016:11:05:07 "
                                    "+0100] \"GET /x HTTP/1.1\" 200 5 \"-\" \"ua\"");
    CK_FIELD(r.json, "client.ip", "10.0.0.2");
    CK_FIELD(r.json, "client.address", "10.0.0.2, 10.0.0.1, 127.0.0.1");
    CK_NOFIELD(r.json, "http.request.referrer");
    free(r.json);
    r = encode(p, "2001:db8::1 - - [07/Dec/2016:11:05:07 -0230] \"POST /a\\x22b HTTP/2.0\" "
                  "201 0 \"-\" \"say \\x22hi\\x22 \\x5C\" \"extra\"");
    CK_FIELD(r.json, "client.ip", "2001:db8::1");
    CK_FIELD(r.json, "url.path", "/a\\\"b");
    CK_FIELD(r.json, "user_agent.original", "say \\\"hi\\\" \\\\");
    CK_FIELD(r.json, "http.version", "2.0");
    CK_FIELD(r.json, "@timestamp", "2016-12-07T13:35:07.000Z");
    free(r.json);
    r = encode(p, "127.0.0.1 - - [12/Apr/2018:09:48:40 +0200] \"\" 400 0 \"-\" \"-\"");
    CK_FIELD(r.json, "http.response.status_code", "400");
    CK_NOFIELD(r.json, "http.request.method");
    CK_NOFIELD(r.json, "log.flags");
    free(r.json);
    /* cut line: fails, still forwarded */
    r = encode(p, "127.0.0.1 - - [12/Apr/2018:09:48:40 +0200] \"GET /");
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    free(r.json);
    /* wrong types: status and bytes not numbers -> not emitted as numbers */
    r = encode(p, "1.2.3.4 - - [12/Apr/2018:09:48:40 +0200] \"GET / HTTP/1.1\" abc -x \"-\" \"-\"");
    CK_NOFIELD(r.json, "http.response.status_code");
    CK_NOFIELD(r.json, "http.response.body.bytes");
    free(r.json);
    /* bad date: timestamp from read time, marked */
    r = encode(p, "1.2.3.4 - - [99/Foo/2018:09:48:40 +0200] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"");
    CK_FIELD(r.json, "log.flags", "[\"timestamp_missing\"]");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(nginx_custom_format)
{
    struct lf_parser_conf pc = {
        .type = type_index("nginx"),
        .format = "$host $remote_addr [$time_iso8601] \"$request\" $status $bytes_sent "
                  "$request_time $upstream_response_time \"$http_x_request_id\" $my_var "
                  "\"$request_body\" \"$resp_body\"",
        .max_body_bytes = 8};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_REQUEST);
    struct enc_result r =
        encode(p, "api.example.com:8080 192.168.1.7 [2026-01-02T03:04:05+01:00] \"PUT /v1 "
                  "HTTP/1.1\" 204 310 0.123 0.100, 0.020 \"abc-1\" foo \"{\\x22k\\x22:1234567}\" "
                  "\"-\"");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "url.domain", "api.example.com:8080");
    CK_FIELD(r.json, "@timestamp", "2026-01-02T02:04:05.000Z");
    CK_FIELD(r.json, "event.duration", "123000000");
    CK_FIELD(r.json, "http.response.bytes", "310");
    CK_FIELD(r.json, "nginx.upstream_response_time", "0.100, 0.020");
    CK_FIELD(r.json, "http.request.header.x_request_id", "abc-1");
    CK_FIELD(r.json, "nginx.my_var", "foo");
    CK_FIELD(r.json, "http.request.body.content", "{\\\"k\\\":123");
    CK_NOFIELD(r.json, "http.response.body.content");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(apache_formats)
{
    struct lf_parser *p = mkparser("apache", NULL, LF_TYPE_REQUEST);
    struct enc_result r = encode(p, "::1 - frank [10/Oct/2000:13:55:36 -0700] \"GET "
                                    "/apache_pb.gif HTTP/1.0\" 200 2326 \"http://x/\" "
                                    "\"Mozilla/4.08 \\\"q\\\"\"");
    CK_FIELD(r.json, "client.ip", "::1");
    CK_FIELD(r.json, "@timestamp", "2000-10-10T20:55:36.000Z");
    CK_FIELD(r.json, "user_agent.original", "Mozilla/4.08 \\\"q\\\"");
    free(r.json);
    /* common-format line in a combined log, "-" bytes */
    r = encode(p, "monitoring-server - - [29/May/2017:19:02:48 +0000] \"-\" 408 -");
    CK_FIELD(r.json, "http.response.status_code", "408");
    CK_FIELD(r.json, "client.address", "monitoring-server");
    CK_NOFIELD(r.json, "http.response.body.bytes");
    CK_NOFIELD(r.json, "log.flags");
    free(r.json);
    lf_parser_destroy(p);

    struct lf_parser_conf pc = {.type = type_index("apache"),
                                .format = "%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x \\\"%r\\\" %b "
                                          "%D %{X-Trace}i"};
    p = mkparser_conf(&pc, NULL, LF_TYPE_REQUEST);
    r = encode(p, "[01/Jan/2017:00:00:00 +0000] 1.2.3.4 TLSv1.2 ECDHE \"GET /?a HTTP/1.1\" "
                  "100 1500 t-1");
    CK_FIELD(r.json, "apache.ssl_protocol_x", "TLSv1.2");
    CK_FIELD(r.json, "event.duration", "1500000");
    CK_FIELD(r.json, "http.request.header.x_trace", "t-1");
    CK_FIELD(r.json, "url.query", "a");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(json_request)
{
    struct lf_parser_conf pc = {.type = type_index("json"),
                                .duration_key = "latency_us",
                                .duration_unit = 2, /* us */
                                .request_body_key = "req.body",
                                .max_body_bytes = 10};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_REQUEST);
    struct enc_result r = encode(
        p, "{\"time\":\"2026-03-01T10:00:00.250Z\",\"msg\":\"done \\u00e9\\n\",\"method\":\"POST\","
           "\"path\":\"/pay?x=1\",\"status\":\"502\",\"latency_us\":1500,"
           "\"req\":{\"body\":{\"card\":\"4111111111111111\"}},\"res\":{\"body\":\"oops\"}}");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", "2026-03-01T10:00:00.250Z");
    CK_FIELD(r.json, "message", "done \xc3\xa9\\n");
    CK_FIELD(r.json, "http.request.method", "POST");
    CK_FIELD(r.json, "url.path", "/pay");
    CK_FIELD(r.json, "http.response.status_code", "502");
    CK_FIELD(r.json, "event.duration", "1500000");
    CK_FIELD(r.json, "http.request.body.content", "{\\\"card\\\":\\\"4");
    CK_FIELD(r.json, "http.response.body.content", "oops");
    free(r.json);
    /* invalid JSON, JSON with invalid UTF-8 inside a string: failures, still valid output */
    r = encode(p, "{\"a\":1,}");
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    free(r.json);
    r = encode(p, "{\"a\":\"\xff\"}");
    CK_FIELD(r.json, "message", "{\\\"a\\\":\\\"\\u00ff\\\"}");
    free(r.json);
    ck_assert_uint_eq(lf_parser_errors(p), 2);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-request");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, nginx_combined);
    tcase_add_test(tc, nginx_edge_cases);
    tcase_add_test(tc, nginx_custom_format);
    tcase_add_test(tc, apache_formats);
    tcase_add_test(tc, json_request);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
