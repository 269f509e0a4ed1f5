/* test_parse_query.c - mysql-slow, postgresql, json queries, fingerprint, filters. */
#include "parse_test.h"

size_t lf_fingerprint(const char *sql, size_t n, char *o); /* internal, parse_int.h */

static void ck_fp(const char *sql, const char *want)
{
    char out[1024];
    lf_fingerprint(sql, strlen(sql), out);
    ck_assert_msg(!strcmp(out, want), "fingerprint(%s) = '%s', want '%s'", sql, out, want);
}

START_TEST(fingerprint)
{
    ck_fp("SELECT * FROM t WHERE id = 42", "select * from t where id = ?");
    ck_fp("select  a,b\n\tFROM t2 where name='O\\'Brien' and x=\"y\" -- c\n LIMIT 10, 20;",
          "select a,b from t2 where name=? and x=? limit ?");
    ck_fp("/* app:1 */ SELECT c FROM t WHERE id IN (1, 2, 3) AND z IS NULL",
          "select c from t where id in(?+) and z is ?");
    ck_fp("INSERT INTO t1 (a, b) VALUES (1, 'x'), (2, 'y')", "insert into t1 (a, b) values(?+)");
    ck_fp("select col1 from tbl2 where v = -1.5e3 and h = 0xFF",
          "select col1 from tbl2 where v = ? and h = ?");
}
END_TEST

START_TEST(mysql_57)
{
    struct lf_parser *p = mkparser("mysql-slow", NULL, LF_TYPE_QUERY);
    const char *t = "# Time: 2017-01-30T17:07:41.326187Z\n"
                    "# User@Host: root[root] @ localhost [127.0.0.1]  Id:     4\n"
                    "# Query_time: 2.000381  Lock_time: 0.000120 Rows_sent: 1  Rows_examined: 7\n"
                    "use shop;\n"
                    "SET timestamp=1485796061;\n"
                    "SELECT *\n  FROM orders WHERE id = 17;";
    struct enc_result r = encode(p, t);
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    ck_assert_int_eq(r.type, LF_TYPE_QUERY);
    CK_FIELD(r.json, "type", "query");
    CK_FIELD(r.json, "@timestamp", "2017-01-30T17:07:41.326Z"); /* # Time (zoned, µs) wins */
    CK_FIELD(r.json, "db.user", "root");
    CK_FIELD(r.json, "client.ip", "127.0.0.1");
    CK_FIELD(r.json, "mysql.thread_id", "4");
    CK_FIELD(r.json, "event.duration", "2000381000");
    CK_FIELD(r.json, "mysql.slowlog.lock_time", "0.000120");
    CK_FIELD(r.json, "mysql.slowlog.rows_sent", "1");
    CK_FIELD(r.json, "mysql.slowlog.rows_examined", "7");
    CK_FIELD(r.json, "db.name", "shop");
    CK_FIELD(r.json, "db.statement", "SELECT *\\n  FROM orders WHERE id = 17;");
    CK_FIELD(r.json, "db.fingerprint", "select * from orders where id = ?");
    CK_FIELD(r.json, "db.operation.name", "SELECT");
    CK_NOFIELD(r.json, "log.flags");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(mysql_variants)
{
    struct lf_parser *p = mkparser("mysql-slow", NULL, LF_TYPE_QUERY);
    /* banner: dropped */
    struct enc_result r = encode(p, "/usr/sbin/mysqld, Version: 5.7.17-log (MySQL). started "
                                    "with:\nTcp port: 3306  Unix socket: /run/mysqld.sock\n"
                                    "Time                 Id Command    Argument");
    ck_assert_int_eq(r.rc, LF_PARSE_DROP);
    /* lone "# Time:" line: dropped */
    r = encode(p, "# Time: 2018-08-06T09:36:19.000000Z");
    ck_assert_int_eq(r.rc, LF_PARSE_DROP);
    /* MariaDB with old time, Schema, administrator command */
    r = encode(p, "# Time: 161020 10:53:52\n"
                  "# User@Host: app[app] @ web1 []\n"
                  "# Thread_id: 2  Schema: crm  QC_hit: No\n"
                  "# Query_time: 0.000123  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0\n"
                  "# administrator command: Quit;");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", "2016-10-20T10:53:52.000Z");
    CK_FIELD(r.json, "db.name", "crm");
    CK_FIELD(r.json, "client.domain", "web1");
    CK_FIELD(r.json, "mysql.slowlog.qc_hit", "No");
    CK_FIELD(r.json, "mysql.slowlog.admin_command", "Quit");
    CK_FIELD(r.json, "event.duration", "123000");
    free(r.json);
    /* a cut entry without a statement is still a query record */
    r = encode(p, "# Query_time: 1.5  Lock_time: 0");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "event.duration", "1500000000");
    free(r.json);
    /* garbage: forwarded with a marker */
    r = encode(p, "\x01\x02 not a slow log");
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(min_duration_and_sample)
{
    struct lf_filter_conf fc = {.min_duration_ms = 500};
    struct lf_parser_conf pc = {.type = type_index("mysql-slow")};
    struct lf_parser *p = mkparser_conf(&pc, &fc, LF_TYPE_QUERY);
    struct enc_result r = encode(p, "# Query_time: 0.499\nselect 1;");
    ck_assert_int_eq(r.rc, LF_PARSE_DROP);
    r = encode(p, "# Query_time: 0.500\nselect 1;");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    free(r.json);
    ck_assert_uint_eq(lf_parser_filtered(p), 1);
    lf_parser_destroy(p);
    /* sample everything below: forwarded */
    fc.sample_below = "100%";
    p = mkparser_conf(&pc, &fc, LF_TYPE_QUERY);
    r = encode(p, "# Query_time: 0.1\nselect 1;");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(postgresql)
{
    struct lf_parser *p = mkparser("postgresql", NULL, LF_TYPE_QUERY);
    struct enc_result r =
        encode(p, "2017-04-03 22:36:35.123 CEST [6102] postgres@mydb LOG:  duration: 37.118 ms  "
                  "statement: SELECT n.nspname\n\tFROM pg_namespace n\n\tWHERE n.oid = 42;");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", "2017-04-03T20:36:35.123Z");
    CK_FIELD(r.json, "process.pid", "6102");
    CK_FIELD(r.json, "db.user", "postgres");
    CK_FIELD(r.json, "db.name", "mydb");
    CK_FIELD(r.json, "log.level", "LOG");
    CK_FIELD(r.json, "event.duration", "37118000");
    CK_FIELD(r.json, "db.statement",
             "SELECT n.nspname\\n\\tFROM pg_namespace n\\n\\tWHERE n.oid = 42;");
    CK_FIELD(r.json, "db.fingerprint", "select n.nspname from pg_namespace n where n.oid = ?");
    free(r.json);
    r = encode(p, "2017-04-03 22:36:35 UTC [7] u@d LOG:  duration: 0.2 ms  execute S_1: "
                  "select $1\n2017-04-03 22:36:35 UTC [7] u@d DETAIL:  parameters: $1 = '5'");
    CK_FIELD(r.json, "postgresql.query_step", "execute");
    CK_FIELD(r.json, "postgresql.prepared_statement", "S_1");
    CK_FIELD(r.json, "db.statement", "select $1");
    CK_FIELD(r.json, "postgresql.detail", "parameters: $1 = '5'");
    free(r.json);
    r = encode(p, "2017-04-03 22:36:35.1 UTC [7] ERROR:  relation \"x\" does not exist at "
                  "character 15\n2017-04-03 22:36:35.1 UTC [7] STATEMENT:  select * from x");
    CK_FIELD(r.json, "log.level", "ERROR");
    CK_FIELD(r.json, "db.statement", "select * from x");
    CK_FIELD(r.json, "message", "relation \\\"x\\\" does not exist at character 15");
    free(r.json);
    lf_parser_destroy(p);

    struct lf_parser_conf pc = {.type = type_index("postgresql"),
                                .log_line_prefix =
                                    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "};
    p = mkparser_conf(&pc, NULL, LF_TYPE_QUERY);
    r = encode(
        p,
        "2017-09-06 09:31:05 CEST [1234]: [5-1] user=bench,db=pgbench,app=pgbench,"
        "client=[local] LOG:  duration: 0.5 ms  statement: UPDATE a SET b = b + 1 WHERE aid = 9;");
    CK_FIELD(r.json, "postgresql.session_line_num", "5");
    CK_FIELD(r.json, "postgresql.application_name", "pgbench");
    CK_FIELD(r.json, "client.address", "[local]");
    CK_FIELD(r.json, "db.fingerprint", "update a set b = b + ? where aid = ?");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(json_query)
{
    struct lf_parser_conf pc = {.type = type_index("json"),
                                .statement_key = "q",
                                .duration_key = "took",
                                .duration_unit = 1};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_QUERY);
    struct enc_result r = encode(p, "{\"ts\":1700000000,\"q\":\"select 1 from t where a='x'\","
                                    "\"took\":0.75}");
    CK_FIELD(r.json, "@timestamp", "2023-11-14T22:13:20.000Z");
    CK_FIELD(r.json, "db.fingerprint", "select ? from t where a=?");
    CK_FIELD(r.json, "event.duration", "750000000");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-query");
    TCase *tc = tcase_create("query");
    tcase_add_test(tc, fingerprint);
    tcase_add_test(tc, mysql_57);
    tcase_add_test(tc, mysql_variants);
    tcase_add_test(tc, min_duration_and_sample);
    tcase_add_test(tc, postgresql);
    tcase_add_test(tc, json_query);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
