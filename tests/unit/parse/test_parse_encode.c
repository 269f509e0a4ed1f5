/* test_parse_encode.c - encoder invariants: schema, escaping, markers, fields, fuzz. */
#include "parse_test.h"

START_TEST(raw_schema)
{
    struct lf_parser *p = mkparser("raw", NULL, LF_TYPE_RAW);
    struct enc_result r = encode(p, "hello \"world\"");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    ck_assert_int_eq(r.type, LF_TYPE_RAW);
    CK_FIELD(r.json, "type", "raw");
    CK_FIELD(r.json, "message", "hello \\\"world\\\"");
    CK_FIELD(r.json, "@timestamp", "2023-11-14T22:13:20.123Z");
    CK_FIELD(r.json, "id", "0123456789abcdef0123456789abcdef");
    CK_FIELD(r.json, "host.name", "host-1");
    CK_FIELD(r.json, "log.file.path", "/var/log/test.log");
    CK_FIELD(r.json, "log.offset", "42");
    CK_NOFIELD(r.json, "log.flags");
    ck_assert_int_eq(r.ts, 1700000000123);
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(binary_is_valid_json)
{
    struct lf_parser *p = mkparser("raw", NULL, LF_TYPE_RAW);
    const char text[] = "a\0b\x01\x1f\xff\xfe\xc3\x28\xed\xa0\x80\xf0\x9f\x98\x80\\\"\t\r\n";
    struct enc_result r = encode_meta(p, text, sizeof(text) - 1, 0, NULL);
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "message",
             "a\\u0000b\\u0001\\u001f\\u00ff\\u00fe\\u00c3(\\u00ed\\u00a0\\u0080\xf0\x9f\x98\x80"
             "\\\\\\\"\\t\\r\\n");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(truncated_and_fields)
{
    struct lf_parser *p = mkparser("raw", NULL, LF_TYPE_RAW);
    struct lf_kv kv[] = {{"service.name", "order-api"}, {"env", "pro\"d"}, {"message", "x"}};
    struct lf_kvlist fl = {3, kv};
    struct enc_result r = encode_meta(p, "cut", 3, LF_META_TRUNCATED, &fl);
    CK_FIELD(r.json, "log.flags", "[\"truncated\"]");
    CK_FIELD(r.json, "service.name", "order-api");
    CK_FIELD(r.json, "env", "pro\\\"d");
    CK_FIELD(r.json, "message", "cut"); /* input fields never override the schema */
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(parse_failure_marked_and_counted)
{
    struct lf_parser *p = mkparser("nginx", NULL, LF_TYPE_REQUEST);
    struct enc_result r = encode(p, "this is not an access log line");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "message", "this is not an access log line");
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    CK_FIELD(r.json, "@timestamp", "2023-11-14T22:13:20.123Z");
    ck_assert_uint_eq(lf_parser_errors(p), 1);
    free(r.json);
    r = encode(p, "");
    ck_assert_uint_eq(lf_parser_errors(p), 2);
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(config_errors)
{
    char err[256];
    struct lf_parser *p = NULL;
    struct lf_parser_conf pc = {.type = type_index("nginx"), .format = "$remote_addr$status"};
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_REQUEST, err, sizeof(err), &p),
                     LF_ECONFIG);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, "column"), "%s", err);
    pc = (struct lf_parser_conf){.type = type_index("regex"), .format = "(?<a>["};
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_RAW, err, sizeof(err), &p), LF_ECONFIG);
    pc = (struct lf_parser_conf){.type = type_index("raw"), .timezone = "Mars/Olympus"};
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_RAW, err, sizeof(err), &p), LF_ECONFIG);
    pc = (struct lf_parser_conf){.type = type_index("logback"), .format = "%d %bogus %m"};
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_ERROR, err, sizeof(err), &p), LF_ECONFIG);
    pc = (struct lf_parser_conf){.type = type_index("postgresql"), .log_line_prefix = "%m %Z "};
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_QUERY, err, sizeof(err), &p), LF_ECONFIG);
    pc = (struct lf_parser_conf){.type = type_index("nginx"), .statement_key = "q"};
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_REQUEST, err, sizeof(err), &p),
                     LF_ECONFIG);
    ck_assert_msg(strstr(err, "statement_key"), "%s", err);
    pc = (struct lf_parser_conf){.type = type_index("mysql-slow"), .format = "x"};
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_QUERY, err, sizeof(err), &p), LF_ECONFIG);
    struct lf_filter_conf fc = {.sample_below = "2.5"};
    pc = (struct lf_parser_conf){.type = type_index("mysql-slow")};
    ck_assert_int_eq(lf_parser_create(&pc, &fc, LF_TYPE_QUERY, err, sizeof(err), &p), LF_ECONFIG);
}
END_TEST

START_TEST(option_tables_cover_conf)
{
    const char *want[] = {"type",
                          "format",
                          "timezone",
                          "message_key",
                          "timestamp_key",
                          "level_key",
                          "method_key",
                          "path_key",
                          "status_key",
                          "duration_key",
                          "request_body_key",
                          "response_body_key",
                          "statement_key",
                          "duration_unit",
                          "log_line_prefix",
                          "max_body_bytes",
                          "types",
                          NULL};
    for (int i = 0; want[i]; i++) {
        bool found = false;
        for (int j = 0; lf_parser_options[j].name; j++) {
            found |= !strcmp(lf_parser_options[j].name, want[i]);
        }
        ck_assert_msg(found, "parser option %s missing", want[i]);
    }
    int n = 0;
    for (int j = 0; lf_filter_options[j].name; j++) {
        n++;
    }
    ck_assert_int_eq(n, 3);
    struct lf_parser_conf pc = {.type = type_index("logback")};
    ck_assert_str_eq(lf_parser_default_multiline(&pc), "java");
    pc.type = type_index("mysql-slow");
    ck_assert_str_eq(lf_parser_default_multiline(&pc), "mysql-slow");
    pc.type = type_index("nginx");
    ck_assert_ptr_null(lf_parser_default_multiline(&pc));
}
END_TEST

/* Every parser, random and hostile input: the output is always one valid JSON object. */
START_TEST(fuzz_all_parsers)
{
    static const char *const seeds[] = {
        "127.0.0.1 - - [07/Dec/2016:11:05:07 +0100] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"",
        "{\"msg\":\"x\",\"level\":\"info\",\"status\":200,\"a\":[1,2,{\"b\":null}]}",
        "2019-03-05 10:57:51.112  INFO 45469 --- [main] o.s.Foo : hi\njava.lang.X: y\n\tat a.b(c)",
        "# Time: 2016-10-20T10:53:52Z\n# User@Host: a[a] @ h [1.2.3.4]\n# Query_time: 1.0  "
        "Lock_time: 0.0 Rows_sent: 1  Rows_examined: 2\nSET timestamp=1;\nselect 1;",
        "2017-04-03 22:36:35.123 CEST [123] u@d LOG:  duration: 1.5 ms  statement: select 1",
    };
    unsigned seed = 12345;
    char buf[600];
    for (int t = 0; lf_parser_type_names[t]; t++) {
        const char *fmt = !strcmp(lf_parser_type_names[t], "regex") ? "(?<a>\\w+)" : NULL;
        struct lf_parser *p = mkparser(lf_parser_type_names[t], fmt, LF_TYPE_REQUEST);
        for (int i = 0; i < 2000; i++) {
            const char *s = seeds[i % 5];
            size_t n = strlen(s);
            memcpy(buf, s, n);
            int muts = (int)((seed = seed * 1103515245 + 12345) >> 16) % 6;
            for (int k = 0; k < muts; k++) {
                seed = seed * 1103515245 + 12345;
                size_t at = (seed >> 8) % n;
                buf[at] = (char)(seed >> 20);
            }
            seed = seed * 1103515245 + 12345;
            size_t cut = i % 3 == 0 ? (seed >> 8) % (n + 1) : n;
            struct enc_result r = encode_meta(p, buf, cut, 0, NULL);
            ck_assert(r.rc == LF_PARSE_EMIT || r.rc == LF_PARSE_DROP);
            free(r.json);
        }
        lf_parser_destroy(p);
    }
}
END_TEST

START_TEST(huge_line)
{
    size_t n = 4 << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)(i % 7 == 0 ? '"' : 'a' + i % 26);
    }
    for (int t = 0; lf_parser_type_names[t]; t++) {
        const char *fmt = !strcmp(lf_parser_type_names[t], "regex") ? "^(?<a>a+)" : NULL;
        struct lf_parser *p = mkparser(lf_parser_type_names[t], fmt, LF_TYPE_ERROR);
        struct enc_result r = encode_meta(p, big, n, LF_META_TRUNCATED, NULL);
        ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
        ck_assert(strstr(r.json, "truncated"));
        free(r.json);
        lf_parser_destroy(p);
    }
    free(big);
}
END_TEST

/* A path changed in place (as when a renamed file's freed path string is reused at the
 * same address for its new name): each record carries the path as it is now. */
START_TEST(path_changed_at_same_address)
{
    struct lf_parser *p = mkparser("raw", NULL, LF_TYPE_RAW);
    char path[64] = "/var/log/a-rather-long-name.log";
    struct lf_event_meta m = {.host_name = "h", .path = path, .id_hex = "00", .offset = 0};
    struct lf_buf out;
    lf_buf_init(&out, 0);
    enum lf_record_type type;
    int64_t ts;
    ck_assert_int_eq(lf_parser_encode(p, &m, "x", 1, &out, &type, &ts), LF_PARSE_EMIT);
    CK_FIELD(out.data, "log.file.path", "/var/log/a-rather-long-name.log");
    snprintf(path, sizeof(path), "/x.log");
    lf_buf_reset(&out);
    ck_assert_int_eq(lf_parser_encode(p, &m, "y", 1, &out, &type, &ts), LF_PARSE_EMIT);
    ck_assert_msg(json_valid_object(out.data, out.len), "invalid JSON: %s", out.data);
    ck_assert_msg(strstr(out.data, "\"log.file.path\":\"/x.log\""), "stale path: %s", out.data);
    m.path_len = strlen(path); /* a caller that knows the length passes it */
    lf_buf_reset(&out);
    ck_assert_int_eq(lf_parser_encode(p, &m, "z", 1, &out, &type, &ts), LF_PARSE_EMIT);
    CK_FIELD(out.data, "log.file.path", "/x.log");
    lf_buf_fini(&out);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-encode");
    TCase *tc = tcase_create("encode");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, raw_schema);
    tcase_add_test(tc, binary_is_valid_json);
    tcase_add_test(tc, truncated_and_fields);
    tcase_add_test(tc, parse_failure_marked_and_counted);
    tcase_add_test(tc, config_errors);
    tcase_add_test(tc, option_tables_cover_conf);
    tcase_add_test(tc, fuzz_all_parsers);
    tcase_add_test(tc, huge_line);
    tcase_add_test(tc, path_changed_at_same_address);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
