/* test_parse_fingerprint.c - the SQL tokenizer behind db.fingerprint and the redaction of
 * literals: quotes, escapes, dollar quoting, comments, lists, in both dialects. Several
 * statements are taken from the corpus logs (MySQL slow logs, PostgreSQL logs). */
#include "parse_test.h"

/* internal, parse_int.h */
size_t lf_fingerprint(const char *sql, size_t n, char *o);
size_t lf_fingerprint_pg(const char *sql, size_t n, char *o);
size_t lf_sql_redact(const char *sql, size_t n, char *o, bool pg, size_t *literals);

static void ck_fp(bool pg, const char *sql, const char *want)
{
    char out[2048];
    size_t n = strlen(sql);
    ck_assert_uint_lt(n, sizeof(out));
    size_t w = pg ? lf_fingerprint_pg(sql, n, out) : lf_fingerprint(sql, n, out);
    ck_assert_uint_le(w, n);
    ck_assert_uint_eq(strlen(out), w);
    ck_assert_msg(!strcmp(out, want), "%s fingerprint(%s) = '%s', want '%s'", pg ? "pg" : "mysql",
                  sql, out, want);
}

static void ck_red(bool pg, const char *sql, const char *want, size_t want_n)
{
    char out[2048];
    size_t k = 99, n = strlen(sql);
    size_t w = lf_sql_redact(sql, n, out, pg, &k);
    ck_assert_uint_le(w, n);
    ck_assert_msg(!strcmp(out, want), "redact(%s) = '%s', want '%s'", sql, out, want);
    ck_assert_uint_eq(k, want_n);
}

START_TEST(doubled_quotes)
{
    ck_fp(false, "SELECT '''x'''", "select ?");
    ck_fp(true, "SELECT '''x'''", "select ?");
    ck_fp(true, "SELECT '''{}''::jsonb'::jsonb", "select ?::jsonb");
    ck_fp(false, "SELECT 'it''s', \"say \"\"hi\"\"\"", "select ?, ?");
    ck_fp(true, "SELECT 'a''', 'b'", "select ?, ?");
    /* lnav_logfile_postgres.2.log */
    ck_fp(true,
          "SELECT * FROM net.http_get ('https://google.com'::text, '''{}''::jsonb'::jsonb, ' "
          "''{}''::jsonb'::jsonb, ' 5000'::integer)",
          "select * from net.http_get (?::text, ?::jsonb, ?::jsonb, ?::integer)");
}
END_TEST

START_TEST(backslashes)
{
    /* MySQL: backslash escapes in both quote kinds */
    ck_fp(false, "select * from t where a = 'O\\'Brien' and b = \"x\\\"y\" and c = 'z\\\\'",
          "select * from t where a = ? and b = ? and c = ?");
    /* PostgreSQL: a backslash is an ordinary character in '...', an escape in E'...' */
    ck_fp(true, "select 'C:\\', 'x'", "select ?, ?");
    ck_fp(true, "select E'it\\'s', e'\\n', 1", "select ?, ?, ?");
    ck_fp(false, "select x'4D7953514C', b'0101', N'ñ', _utf8mb4'abc'", "select ?, ?, ?, ?");
    /* unterminated: the rest is the literal */
    ck_fp(false, "select 'abc", "select ?");
}
END_TEST

START_TEST(dollar_quotes)
{
    ck_fp(true, "DO $$BEGIN RAISE NOTICE 'x; y'; END$$", "do ?");
    ck_fp(true, "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT $$a$$; $fn$ LANGUAGE sql",
          "create function f() returns int as ? language sql");
    ck_fp(true, "select $tag$ it's $$ $tag$ || $q$x$q$", "select ? || ?");
    /* placeholders and a lone $ are not strings */
    ck_fp(true, "select * from t where id = $1 and v = $2",
          "select * from t where id = $1 and v = $2");
    ck_fp(true, "select $x$ unterminated", "select $x$ unterminated");
}
END_TEST

START_TEST(comments)
{
    ck_fp(false, "/* SELECT count(*) FROM X instance */ select count(*) as A from X",
          "select count(*) as a from x");
    ck_fp(false, "select 1 -- one\n, 2 # two\nfrom dual", "select ? , ? from dual");
    ck_fp(true, "select /* a /* nested */ still comment */ 1", "select ?");
    ck_fp(true, "select 5 # 3", "select ? # ?"); /* # is XOR in PostgreSQL */
    ck_fp(false, "select '/* not a comment */', '-- nor this'", "select ?, ?");
    ck_fp(false, "select a--b\nfrom t", "select a from t");
}
END_TEST

START_TEST(lists)
{
    /* percona-toolkit slow logs */
    ck_fp(false,
          "select id, img from products p where p.status = 5 and p.desc = 'foo' and p.id in "
          "(85875,326904,290144,43492)",
          "select id, img from products p where p.status = ? and p.desc = ? and p.id in(?+)");
    ck_fp(false, "SELECT * FROM `events` WHERE (`events`.`id` IN (51118,51129,50893))",
          "select * from `events` where (`events`.`id` in(?+))");
    ck_fp(false, "insert into t values(1,'a'),(2,'b'), (3, 'c')", "insert into t values(?+)");
    ck_fp(false, "INSERT INTO t (a) VALUES (1)", "insert into t (a) values(?+)");
    /* the shortest lists: written over in place, "in(?)" may not grow */
    ck_fp(false, "select a from t where b in(1)", "select a from t where b in(?)");
    ck_fp(false, "select a from t where b in (1)", "select a from t where b in(?+)");
    ck_fp(false, "insert into t values(1)", "insert into t values(?)");
    ck_fp(false, "select a in(1,2) from t where b in (3) and c in(4)",
          "select a in(?+) from t where b in(?+) and c in(?)");
    ck_fp(true, "select * from t where id in ($1, $2)", "select * from t where id in ($1, $2)");
    ck_fp(true, "select * from t where id in (1::int, 2::int)", "select * from t where id in(?+)");
    ck_fp(false, "select * from t where id in (select id from u)",
          "select * from t where id in (select id from u)");
    /* pgbench_history (beats / pgbadger logs): a row with a function is not collapsed */
    ck_fp(true,
          "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (2, 1, 72639, -4897, "
          "CURRENT_TIMESTAMP);",
          "insert into pgbench_history (tid, bid, aid, delta, mtime) values (?, ?, ?, ?, "
          "current_timestamp)");
    ck_fp(false, "select a from t where b = 1 limit 10, 20", "select a from t where b = ? limit ?");
    ck_fp(false, "select * from t1 join t2 using (x) where y is null",
          "select * from t1 join t2 using (x) where y is ?");
}
END_TEST

START_TEST(numbers_and_names)
{
    ck_fp(false, "select col1 from tbl2 where v = -1.5e3 and h = 0xFF and w = .5",
          "select col1 from tbl2 where v = ? and h = ? and w = ?");
    ck_fp(false, "select a-1, b - 2, f(-3) from t9", "select a-?, b - ?, f(?) from t9");
    ck_fp(false, "select 1abc from db2.t3", "select 1abc from db2.t3");
    ck_fp(true, "SELECT \"Order\".\"ID\" FROM \"Order\" WHERE x = 'a'",
          "select \"Order\".\"ID\" from \"Order\" where x = ?");
    ck_fp(false, "SELECT \"Order\" FROM t", "select ? from t"); /* a string in MySQL */
    ck_fp(false, "  SELECT\t1 ;  ", "select ?");
}
END_TEST

START_TEST(redact_literals)
{
    ck_red(false, "SELECT * FROM users WHERE email = 'a@b.com' AND id = 42 -- 7\n",
           "SELECT * FROM users WHERE email = ? AND id = ? -- 7\n", 2);
    ck_red(true, "UPDATE t SET v = '''{}''::jsonb'::jsonb, w = $$secret$$ WHERE \"Id\" = -5",
           "UPDATE t SET v = ?::jsonb, w = ? WHERE \"Id\" = ?", 3);
    ck_red(false, "INSERT INTO t VALUES (1,'x'),(2,'y')", "INSERT INTO t VALUES (?,?),(?,?)", 4);
    ck_red(false, "SELECT `a1` FROM t2", "SELECT `a1` FROM t2", 0);
    ck_red(false, "select 'never ends", "select ?", 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-fingerprint");
    TCase *tc = tcase_create("fingerprint");
    tcase_add_test(tc, doubled_quotes);
    tcase_add_test(tc, backslashes);
    tcase_add_test(tc, dollar_quotes);
    tcase_add_test(tc, comments);
    tcase_add_test(tc, lists);
    tcase_add_test(tc, numbers_and_names);
    tcase_add_test(tc, redact_literals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
