/* test_parse_pglog.c - PostgreSQL forms other than plain stderr: csvlog (quoted fields
 * with newlines and doubled quotes, statement without duration, an ERROR's query
 * column), jsonlog (PG 15+), CloudNativePG (its "record" object and its other loggers),
 * Cloud SQL's textPayload, and stderr lines behind syslog and Heroku logplex headers
 * (continuation parts, #011 tabs). */
#include "parse_test.h"

static struct lf_parser *pg(const char *prefix)
{
    struct lf_parser_conf pc = {.type = type_index("postgresql"),
                                .log_line_prefix = (char *)prefix};
    return mkparser_conf(&pc, NULL, LF_TYPE_QUERY);
}

/* Every cut of text (as a partly written line would be) still gives one valid record or
 * a drop: bad input is marked, never a crash (run under ASan in CI). */
static void all_cuts(struct lf_parser *p, const char *text)
{
    size_t n = strlen(text);
    for (size_t k = 0; k <= n; k++) {
        struct enc_result r = encode_meta(p, text, k, 0, NULL);
        ck_assert_msg(r.rc == LF_PARSE_EMIT || r.rc == LF_PARSE_DROP, "cut %zu: rc %d", k, r.rc);
        free(r.json);
    }
}

/* Fixtures of every form, cut at every byte. */
START_TEST(pg_forms_cut_anywhere)
{
    static const char *const texts[] = {
        "2021-01-04 00:22:01.903 UTC,\"postgres\",\"db\",59,\"1.2.3.4:1\",5ff.3b,3,\"SELECT\","
        "2021-01-04 00:21:42 UTC,3/0,0,LOG,00000,\"duration: 0.658 ms  statement: SELECT \"\"a\"\","
        "\n'x';\",\"d\",,,,,,,,\"psql\"",
        "{\"timestamp\":\"2024-06-27 00:00:07.369 UTC\",\"error_severity\":\"LOG\",\"message\":"
        "\"duration: 1 ms  statement: SELECT \\u00e9\",\"pid\":1}",
        "{\"level\":\"info\",\"record\":{\"log_time\":\"2022-11-27 18:58:02.004 UTC\","
        "\"error_severity\":\"LOG\",\"message\":\"duration: 0.1 ms  statement: SELECT 1\"}}",
        "{\"textPayload\":\"[1]: [1-1] db=a,user=b LOG:  statement: SELECT 1\",\"timestamp\":"
        "\"2020-05-02T13:00:20.382318Z\"}",
        "Feb 11 13:15:40 h postgres[1]: [7-1] db=a,user=b,app=c,client=d LOG:  duration: 1 ms  "
        "statement: SELECT 1,\nFeb 11 13:15:40 h postgres[1]: [7-2] #011 2",
        "2019-03-14T00:23:00+00:00 app[postgres.1]: [GREEN] [19-1]  sql_error_code = 40P01 "
        "ERROR:  x\n2019-03-14T00:23:00+00:00 app[postgres.1]: [GREEN] [19-2] \tmore",
    };
    static const char *const prefixes[] = {NULL,
                                           NULL,
                                           NULL,
                                           "[%p]: [%l-1] db=%d,user=%u ",
                                           "db=%d,user=%u,app=%a,client=%h ",
                                           "sql_error_code = %e "};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct lf_parser *p = pg(prefixes[i]);
        struct enc_result r = encode(p, texts[i]);
        CK_NOFIELD(r.json, "log.flags"); /* whole: parses */
        free(r.json);
        all_cuts(p, texts[i]);
        lf_parser_destroy(p);
    }
}
END_TEST

START_TEST(csvlog_multiline_and_quotes)
{
    struct lf_parser *p = pg(NULL);
    struct enc_result r =
        encode(p, "2021-01-04 00:22:01.903 UTC,\"postgres\",\"shop\",59,\"172.24.0.1:42642\","
                  "5ff25f96.3b,3,\"SELECT\",2021-01-04 00:21:42 UTC,3/0,0,LOG,00000,"
                  "\"duration: 0.658 ms  statement: SELECT \"\"name\"\", 'multi',\n"
                  "'line' FROM t WHERE id = 7;\",\"parameters: $1 = 'x'\",,,,,,,,\"psql\"");
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "@timestamp", "2021-01-04T00:22:01.903Z");
    CK_FIELD(r.json, "db.user", "postgres");
    CK_FIELD(r.json, "db.name", "shop");
    CK_FIELD(r.json, "process.pid", "59");
    CK_FIELD(r.json, "client.address", "172.24.0.1:42642");
    CK_FIELD(r.json, "postgresql.session_id", "5ff25f96.3b");
    CK_FIELD(r.json, "postgresql.session_line_num", "3");
    CK_FIELD(r.json, "postgresql.application_name", "psql");
    CK_FIELD(r.json, "log.level", "LOG");
    CK_FIELD(r.json, "event.duration", "658000");
    CK_FIELD(r.json, "db.statement", "SELECT \\\"name\\\", 'multi',\\n'line' FROM t WHERE id = 7;");
    ck_assert(!strncmp(jget(r.json, "db.fingerprint"), "select ", 7));
    CK_FIELD(r.json, "postgresql.detail", "parameters: $1 = 'x'");
    CK_NOFIELD(r.json, "error.code"); /* 00000 */
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(csvlog_statement_error_and_bad)
{
    struct lf_parser *p = pg(NULL);
    /* PG 14+: 26 columns, quoted time; a statement logged without duration */
    struct enc_result r =
        encode(p, "\"2026-05-16 05:20:03.994 UTC\",\"u\",\"d\",1002,\"192.0.2.20:54322\","
                  "00000002.000003ea,2,\"idle\",\"2026-05-16 05:00:00 UTC\",2/2,0,LOG,00000,"
                  "\"statement: SELECT health_check()\",,,,,,,,,\"hc\",\"client backend\",,42");
    CK_FIELD(r.json, "db.statement", "SELECT health_check()");
    CK_FIELD(r.json, "postgresql.backend_type", "client backend");
    CK_FIELD(r.json, "postgresql.query_id", "42");
    CK_NOFIELD(r.json, "event.duration");
    free(r.json);
    /* an ERROR: its statement is in the query column */
    r = encode(p, "2021-01-04 00:22:01.903 UTC,\"u\",\"d\",59,,5ff.3b,4,\"SELECT\",,3/0,0,ERROR,"
                  "42P01,\"relation \"\"nope\"\" does not exist\",,,,,,\"SELECT * FROM nope\",15,,"
                  "\"psql\"");
    CK_FIELD(r.json, "log.level", "ERROR");
    CK_FIELD(r.json, "error.code", "42P01");
    CK_FIELD(r.json, "message", "relation \\\"nope\\\" does not exist");
    CK_FIELD(r.json, "db.statement", "SELECT * FROM nope");
    free(r.json);
    /* an unclosed quote: kept, marked */
    r = encode(p, "2021-01-04 00:22:01.903 UTC,\"u,\"d\",59,,5ff.3b,4,\"SELECT\",,3/0,0,LOG,0,\"x");
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(jsonlog_and_cnpg)
{
    struct lf_parser *p = pg(NULL);
    struct enc_result r = encode(
        p, "{\"timestamp\":\"2024-06-27 00:00:07.369 UTC\",\"user\":\"app\",\"dbname\":\"shop\","
           "\"pid\":58151,\"remote_host\":\"10.0.0.5\",\"session_id\":\"667c8f67.e327\","
           "\"line_num\":1,\"error_severity\":\"LOG\",\"message\":\"duration: 12.5 ms  "
           "execute S_1: SELECT * FROM t WHERE a = $1\",\"detail\":\"parameters: $1 = "
           "'\\u00e9'\",\"application_name\":\"api\",\"backend_type\":\"client backend\","
           "\"query_id\":0}");
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "@timestamp", "2024-06-27T00:00:07.369Z");
    CK_FIELD(r.json, "db.user", "app");
    CK_FIELD(r.json, "db.name", "shop");
    CK_FIELD(r.json, "process.pid", "58151");
    CK_FIELD(r.json, "client.address", "10.0.0.5");
    CK_FIELD(r.json, "event.duration", "12500000");
    CK_FIELD(r.json, "postgresql.query_step", "execute");
    CK_FIELD(r.json, "db.fingerprint", "select * from t where a = $1");
    CK_FIELD(r.json, "postgresql.detail", "parameters: $1 = '\xc3\xa9'");
    CK_NOFIELD(r.json, "postgresql.query_id");
    free(r.json);
    r = encode(p, "{\"level\":\"info\",\"ts\":1669575482.0968924,\"logger\":\"postgres\",\"msg\":"
                  "\"record\",\"record\":{\"log_time\":\"2022-11-27 18:58:02.004 UTC\","
                  "\"user_name\":\"postgres\",\"database_name\":\"db1\",\"process_id\":\"599\","
                  "\"connection_from\":\"[local]\",\"session_id\":\"6383b339.257\","
                  "\"session_line_num\":\"4\",\"error_severity\":\"LOG\",\"sql_state_code\":"
                  "\"00000\",\"message\":\"duration: 0.097 ms  statement: SELECT 1\","
                  "\"application_name\":\"cnpg\",\"backend_type\":\"client backend\"}}");
    CK_FIELD(r.json, "@timestamp", "2022-11-27T18:58:02.004Z");
    CK_FIELD(r.json, "db.name", "db1");
    CK_FIELD(r.json, "process.pid", "599");
    CK_FIELD(r.json, "postgresql.session_line_num", "4");
    CK_FIELD(r.json, "event.duration", "97000");
    CK_FIELD(r.json, "db.statement", "SELECT 1");
    free(r.json);
    r = encode(p, "{\"level\":\"info\",\"ts\":1669575244.9152422,\"logger\":\"wal-archive\","
                  "\"msg\":\"Backup not configured\",\"walName\":\"x\"}");
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "message", "Backup not configured");
    CK_FIELD(r.json, "log.logger", "wal-archive");
    free(r.json);
    r = encode(p, "{\"error_severity\":\"LOG\",\"message\":"); /* cut JSON */
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

/* A stderr prefix with a comma right after the time is not taken for csvlog. */
START_TEST(stderr_comma_prefix)
{
    struct lf_parser *p = pg("%m,%p ");
    struct enc_result r = encode(p, "2021-01-04 00:22:01.903 UTC,4242 LOG:  duration: 1.000 ms  "
                                    "statement: SELECT 1");
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "process.pid", "4242");
    CK_FIELD(r.json, "db.statement", "SELECT 1");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(cloudsql_textpayload)
{
    struct lf_parser *p = pg("[%p]: [%l-1] db=%d,user=%u ");
    struct enc_result r =
        encode(p, "{\"insertId\":\"s=1\",\"severity\":\"INFO\",\"textPayload\":\"[24667]: [3-1] "
                  "db=shop,user=app LOG:  duration: 2.000 ms  statement: SELECT 2\",\"timestamp\":"
                  "\"2020-05-02T13:00:20.382318Z\"}");
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "@timestamp", "2020-05-02T13:00:20.382Z");
    CK_FIELD(r.json, "process.pid", "24667");
    CK_FIELD(r.json, "db.user", "app");
    CK_FIELD(r.json, "db.statement", "SELECT 2");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(syslog_and_logplex)
{
    struct lf_parser *p = pg("db=%d,user=%u,app=%a,client=%h ");
    const char *t =
        "Feb 11 13:15:40 test-pc postgres[10819]: [7-1] db=postgres,user=postgres,app=psql,"
        "client=[local] LOG:  duration: 13.997 ms  statement: SELECT d.datname as \"Name\",\n"
        "Feb 11 13:15:40 test-pc postgres[10819]: [7-2] #011       d.datdba as \"Owner\"\n"
        "Feb 11 13:15:40 test-pc postgres[10819]: [7-3] #011FROM pg_database d;";
    struct enc_result r = encode(p, t);
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "@timestamp", "2023-02-11T13:15:40.000Z"); /* year of the read time */
    CK_FIELD(r.json, "process.pid", "10819");
    CK_FIELD(r.json, "db.user", "postgres");
    CK_FIELD(r.json, "postgresql.application_name", "psql");
    CK_FIELD(r.json, "event.duration", "13997000");
    CK_FIELD(r.json, "db.statement",
             "SELECT d.datname as \\\"Name\\\",\\n\\t       d.datdba as \\\"Owner\\\"\\n\\tFROM "
             "pg_database d;");
    free(r.json);
    lf_parser_destroy(p);

    p = pg("sql_error_code = %e ");
    t = "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-1]  sql_error_code = 40P01 "
        "ERROR:  deadlock detected\n"
        "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-2]  sql_error_code = 40P01 "
        "DETAIL:  Process 4849 waits\n"
        "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-3] \tProcess 4821 waits\n"
        "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-4]  sql_error_code = 40P01 "
        "STATEMENT:  UPDATE t SET a = 1";
    r = encode(p, t);
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "@timestamp", "2019-03-14T00:23:00.000Z");
    CK_FIELD(r.json, "error.code", "40P01");
    CK_FIELD(r.json, "message", "deadlock detected");
    CK_FIELD(r.json, "postgresql.detail", "Process 4849 waits\\n\\tProcess 4821 waits");
    CK_FIELD(r.json, "db.statement", "UPDATE t SET a = 1");
    free(r.json);
    r = encode(p, "2021-09-07T04:01:27+00:00 d.af28b93f app[postgres.5925] [AQUA] [921320-1]  "
                  "sql_error_code = 00000 LOG:  duration: 85756.273 ms  execute <unnamed>: "
                  "UPDATE c SET r = 1");
    CK_FIELD(r.json, "event.duration", "85756273000");
    CK_FIELD(r.json, "postgresql.prepared_statement", "<unnamed>");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-pglog");
    TCase *tc = tcase_create("pglog");
    tcase_add_test(tc, csvlog_multiline_and_quotes);
    tcase_add_test(tc, csvlog_statement_error_and_bad);
    tcase_add_test(tc, jsonlog_and_cnpg);
    tcase_add_test(tc, cloudsql_textpayload);
    tcase_add_test(tc, stderr_comma_prefix);
    tcase_add_test(tc, syslog_and_logplex);
    tcase_add_test(tc, pg_forms_cut_anywhere);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
