/* test_parse_error.c - logback, log4j2, python, level and regex parsers; min_level. */
#include "parse_test.h"

START_TEST(logback_spring_boot2)
{
    struct lf_parser *p = mkparser("logback", NULL, LF_TYPE_ERROR);
    const char *t = "2019-03-05 10:57:51.112 ERROR 45469 --- [nio-8080-exec-1] "
                    "o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() failed\n"
                    "java.lang.IllegalStateException: boom: really\n"
                    "\tat com.example.Foo.bar(Foo.java:10)\n"
                    "Caused by: java.io.IOException: disk\n"
                    "\t... 3 common frames omitted";
    struct enc_result r = encode(p, t);
    ck_assert_int_eq(r.type, LF_TYPE_ERROR);
    CK_FIELD(r.json, "type", "error");
    CK_FIELD(r.json, "@timestamp", "2019-03-05T10:57:51.112Z");
    CK_FIELD(r.json, "log.level", "ERROR");
    CK_FIELD(r.json, "process.pid", "45469");
    CK_FIELD(r.json, "process.thread.name", "nio-8080-exec-1");
    CK_FIELD(r.json, "log.logger", "o.a.c.c.C.[.[.[/].[dispatcherServlet]");
    CK_FIELD(r.json, "message", "Servlet.service() failed");
    CK_FIELD(r.json, "error.type", "java.lang.IllegalStateException");
    CK_FIELD(r.json, "error.message", "boom: really");
    ck_assert(strstr(jget(r.json, "error.stack_trace"), "Caused by: java.io.IOException"));
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(logback_spring_boot3_and_pattern)
{
    struct lf_parser *p = mkparser("logback", NULL, LF_TYPE_ERROR);
    struct enc_result r = encode(p, "2023-11-06T10:57:51.112+01:00  WARN 12 --- [orders] [     "
                                    "      main] c.e.OrderService          : slow\r");
    CK_FIELD(r.json, "@timestamp", "2023-11-06T09:57:51.112Z");
    CK_FIELD(r.json, "service.name", "orders");
    CK_FIELD(r.json, "process.thread.name", "main");
    CK_FIELD(r.json, "log.level", "WARN");
    CK_FIELD(r.json, "message", "slow");
    free(r.json);
    lf_parser_destroy(p);

    struct lf_parser_conf pc = {.type = type_index("logback"),
                                .format = "%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level "
                                          "%logger{36} - %msg%n",
                                .timezone = "+02:00"};
    p = mkparser_conf(&pc, NULL, LF_TYPE_ERROR);
    r = encode(p, "2024-01-01 12:00:00.500 [pool-1] INFO  com.x.Y - started in 3s");
    CK_FIELD(r.json, "@timestamp", "2024-01-01T10:00:00.500Z");
    CK_FIELD(r.json, "process.thread.name", "pool-1");
    CK_FIELD(r.json, "log.logger", "com.x.Y");
    CK_FIELD(r.json, "message", "started in 3s");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(exception_message_over_lines)
{
    /* record type from the parser when the input has none; message with a blank line */
    struct lf_parser *p = mkparser("logback", NULL, LF_TYPE_RAW);
    struct enc_result r = encode(p, "2019-03-05 10:57:51.112 ERROR 1 --- [main] c.z.h.p.HikariPool "
                                    "  : Exception during pool initialization.\n\n"
                                    "com.mysql.cj.jdbc.exceptions.CommunicationsException: "
                                    "Communications link failure\n\nThe last packet was 0 ms "
                                    "ago.\n\tat com.mysql.cj.jdbc.SQLError.x(SQLError.java:1)");
    ck_assert_int_eq(r.type, LF_TYPE_ERROR);
    CK_FIELD(r.json, "error.type", "com.mysql.cj.jdbc.exceptions.CommunicationsException");
    CK_FIELD(r.json, "error.message",
             "Communications link failure\\n\\nThe last packet was 0 ms ago.");
    CK_FIELD(r.json, "message", "Exception during pool initialization.");
    free(r.json);
    lf_parser_destroy(p);
    /* Tomcat JULI: the exception line is indented by one space */
    p = mkparser("level", NULL, LF_TYPE_ERROR);
    r = encode(p, "21-Sep-2015 10:00:00.123 SEVERE [main] o.a.c.Foo.bar failed\n"
                  " org.hibernate.exception.GenericJDBCException: Cannot open connection\n"
                  "\tat org.hibernate.X.y(X.java:1)");
    CK_FIELD(r.json, "@timestamp", "2015-09-21T10:00:00.123Z");
    CK_FIELD(r.json, "log.level", "ERROR");
    CK_FIELD(r.json, "error.type", "org.hibernate.exception.GenericJDBCException");
    free(r.json);
    /* a multi-line message that is not a stack trace: kept whole in message */
    r = encode(p, "2015-09-21 10:00:00 WARN config:\n  a = 1\n  b = 2");
    CK_NOFIELD(r.json, "error.type");
    CK_FIELD(r.json, "message", "config:\\n  a = 1\\n  b = 2");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(iana_timezone)
{
    struct lf_parser_conf pc = {.type = type_index("level"), .timezone = "Europe/Paris"};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_ERROR);
    struct enc_result r = encode(p, "2024-07-01 12:00:00 ERROR summer"); /* CEST, +02:00 */
    CK_FIELD(r.json, "@timestamp", "2024-07-01T10:00:00.000Z");
    free(r.json);
    r = encode(p, "2024-01-15 12:00:00.5 ERROR winter"); /* CET, +01:00 */
    CK_FIELD(r.json, "@timestamp", "2024-01-15T11:00:00.500Z");
    free(r.json);
    r = encode(p, "2024-03-31 03:30:00 ERROR after the spring change");
    CK_FIELD(r.json, "@timestamp", "2024-03-31T01:30:00.000Z");
    free(r.json);
    r = encode(p, "2024-01-15 12:00:00+05:00 ERROR explicit offset wins");
    CK_FIELD(r.json, "@timestamp", "2024-01-15T07:00:00.000Z");
    free(r.json);
    lf_parser_destroy(p);
    pc.timezone = "../../etc/passwd";
    char err[200];
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_ERROR, err, sizeof(err), &p), LF_ECONFIG);
}
END_TEST

START_TEST(log4j2_default)
{
    struct lf_parser *p = mkparser("log4j2", NULL, LF_TYPE_ERROR);
    struct enc_result r = encode(p, "12:34:56.789 [main] ERROR com.example.App - failed\n"
                                    "java.lang.NullPointerException\n\tat com.example.App.main");
    CK_FIELD(r.json, "log.level", "ERROR");
    CK_FIELD(r.json, "log.logger", "com.example.App");
    CK_FIELD(r.json, "error.type", "java.lang.NullPointerException");
    CK_FIELD(r.json, "error.message", "");
    /* time only: date of the read time (2023-11-14 UTC) */
    CK_FIELD(r.json, "@timestamp", "2023-11-14T12:34:56.789Z");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(python_formats)
{
    struct lf_parser *p = mkparser("python", NULL, LF_TYPE_ERROR);
    struct enc_result r =
        encode(p, "2024-05-01 08:00:00,250 - django.request - ERROR - Internal Server Error: /x\n"
                  "Traceback (most recent call last):\n"
                  "  File \"a.py\", line 1, in <module>\n"
                  "KeyError: 'k'\n\n"
                  "During handling of the above exception, another exception occurred:\n\n"
                  "Traceback (most recent call last):\n"
                  "  File \"b.py\", line 2, in f\n"
                  "ValueError: bad value");
    CK_FIELD(r.json, "@timestamp", "2024-05-01T08:00:00.250Z");
    CK_FIELD(r.json, "log.logger", "django.request");
    CK_FIELD(r.json, "log.level", "ERROR");
    CK_FIELD(r.json, "error.type", "ValueError");
    CK_FIELD(r.json, "error.message", "bad value");
    free(r.json);
    r = encode(p, "WARNING:root:disk almost full");
    CK_FIELD(r.json, "log.level", "WARN");
    CK_FIELD(r.json, "log.logger", "root");
    CK_FIELD(r.json, "message", "disk almost full");
    CK_FIELD(r.json, "log.flags", "[\"timestamp_missing\"]");
    free(r.json);
    lf_parser_destroy(p);

    struct lf_parser_conf pc = {.type = type_index("python"),
                                .format = "%(asctime)s [%(process)d] %(levelname)-8s "
                                          "%(name)s: %(message)s"};
    p = mkparser_conf(&pc, NULL, LF_TYPE_ERROR);
    r = encode(p, "2024-05-01 08:00:00,000 [77] CRITICAL app.db: gone");
    CK_FIELD(r.json, "process.pid", "77");
    CK_FIELD(r.json, "log.level", "FATAL");
    CK_FIELD(r.json, "log.logger", "app.db");
    CK_FIELD(r.json, "message", "gone");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(level_generic_and_filter)
{
    struct lf_filter_conf fc = {.min_level = 4}; /* WARN */
    struct lf_parser_conf pc = {.type = type_index("level")};
    struct lf_parser *p = mkparser_conf(&pc, &fc, LF_TYPE_ERROR);
    struct enc_result r = encode(p, "[Sun Dec 04 04:47:44 2005] [error] mod_jk child init 1 -2");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", "2005-12-04T04:47:44.000Z");
    CK_FIELD(r.json, "log.level", "ERROR");
    CK_FIELD(r.json, "message", "mod_jk child init 1 -2");
    free(r.json);
    r = encode(p, "2020-01-01T00:00:00Z info: all good");
    ck_assert_int_eq(r.rc, LF_PARSE_DROP);
    r = encode(p, "2020-01-01T00:00:00Z WARNING something");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    free(r.json);
    ck_assert_uint_eq(lf_parser_filtered(p), 1);
    /* no level found: not parsed, forwarded anyway */
    r = encode(p, "no level here");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    ck_assert_uint_eq(lf_parser_errors(p), 1);
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(regex_named_groups)
{
    struct lf_kv hints[] = {{"bytes", "int"}, {"ratio", "float"}, {"ok", "bool"}};
    struct lf_parser_conf pc = {
        .type = type_index("regex"),
        .format = "^(?<timestamp>\\S+) (?<http__request__method>[A-Z]+) (?<bytes>\\S+) "
                  "(?<ratio>\\S+) (?<ok>\\S+) (?<message>.*)$",
        .types = {3, hints}};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_REQUEST);
    struct enc_result r = encode(p, "2024-02-02T02:02:02.5Z GET 12 0.25 true hello");
    CK_FIELD(r.json, "@timestamp", "2024-02-02T02:02:02.500Z");
    CK_FIELD(r.json, "http.request.method", "GET");
    CK_FIELD(r.json, "bytes", "12");
    CK_FIELD(r.json, "ratio", "0.25");
    CK_FIELD(r.json, "ok", "true");
    CK_FIELD(r.json, "message", "hello");
    free(r.json);
    /* wrong types stay strings, the output stays valid */
    r = encode(p, "x GET 12a 1e 0 hi");
    CK_FIELD(r.json, "bytes", "12a");
    CK_FIELD(r.json, "ratio", "1e");
    CK_FIELD(r.json, "ok", "0");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-error");
    TCase *tc = tcase_create("error");
    tcase_add_test(tc, logback_spring_boot2);
    tcase_add_test(tc, logback_spring_boot3_and_pattern);
    tcase_add_test(tc, exception_message_over_lines);
    tcase_add_test(tc, iana_timezone);
    tcase_add_test(tc, log4j2_default);
    tcase_add_test(tc, python_formats);
    tcase_add_test(tc, level_generic_and_filter);
    tcase_add_test(tc, regex_named_groups);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
