/* test_parse_redact.c - the input's redact:: SQL literals, built-in patterns (Luhn-checked
 * card numbers...), own regexes, the count for metrics, and bad configurations. */
#include "parse_test.h"

static struct lf_parser *rparser(const char *type, bool literals, char **pats, size_t np, char **rx,
                                 size_t nr, enum lf_record_type rtype)
{
    struct lf_parser_conf pc = {.type = type_index(type)};
    pc.redact.literals = literals;
    pc.redact.patterns = (struct lf_list){.n = np, .str = pats};
    pc.redact.regex = (struct lf_list){.n = nr, .str = rx};
    return mkparser_conf(&pc, NULL, rtype);
}

START_TEST(patterns_in_request_records)
{
    char *pats[] = {"email", "card_number", "bearer_token", "url_secret", "url_password"};
    struct lf_parser *p = rparser("nginx", false, pats, 5, NULL, 0, LF_TYPE_REQUEST);
    struct enc_result r = encode(
        p, "1.2.3.4 - - [21/Nov/2026:23:36:41 +0100] \"GET /a?api_key=s3cr3t&x=1&m=bob@ex.com"
           "&cc=4111-1111-1111-1111&n=4111111111111112 HTTP/1.1\" 200 5 "
           "\"https://u:hunter2@host/p\" \"curl Bearer abcdefgh12345\"");
    CK_FIELD(r.json, "url.query",
             "api_key=[REDACTED]&x=1&m=[REDACTED]&cc=[REDACTED]&n=4111111111111112");
    CK_FIELD(r.json, "http.request.referrer", "https://u:[REDACTED]@host/p");
    CK_FIELD(r.json, "user_agent.original", "curl Bearer [REDACTED]");
    const char *msg = jget(r.json, "message");
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(!strstr(msg, "s3cr3t") && !strstr(msg, "bob@") && !strstr(msg, "hunter2") &&
                      !strstr(msg, "4111-1111") && strstr(msg, "4111111111111112"),
                  "message: %s", msg);
    free(r.json);
    /* url.query 3 (api_key, email, card), referrer 1, agent 1, and the same 5 in message */
    ck_assert_uint_eq(lf_parser_redactions(p), 10);
    r = encode(p, "1.2.3.4 - - [21/Nov/2026:23:36:41 +0100] \"GET /plain HTTP/1.1\" 200 5 \"-\" "
                  "\"curl\"");
    CK_FIELD(r.json, "url.path", "/plain");
    free(r.json);
    ck_assert_uint_eq(lf_parser_redactions(p), 10);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(luhn_and_card_shapes)
{
    char *pats[] = {"card_number"};
    struct lf_parser *p = rparser("raw", false, pats, 1, NULL, 0, LF_TYPE_RAW);
    struct enc_result r = encode(p, "visa 4012 8888 8888 1881 amex 378282246310005 "
                                    "bad 4012888888881882 order 1234567890123 long "
                                    "41111111111111111111111");
    CK_FIELD(r.json, "message",
             "visa [REDACTED] amex [REDACTED] bad 4012888888881882 order "
             "1234567890123 long 41111111111111111111111");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(literals_mysql)
{
    struct lf_parser *p = rparser("mysql-slow", true, NULL, 0, NULL, 0, LF_TYPE_QUERY);
    struct enc_result r = encode(p, "# Time: 2019-03-24T14:01:47.811234Z\n"
                                    "# Query_time: 2.5  Lock_time: 0.1 Rows_sent: 10\n"
                                    "SET timestamp=1553436105;\n"
                                    "SELECT * FROM users WHERE email = 'bob@ex.com' AND id = 42;");
    CK_FIELD(r.json, "db.statement", "SELECT * FROM users WHERE email = ? AND id = ?;");
    CK_FIELD(r.json, "db.fingerprint", "select * from users where email = ? and id = ?");
    /* the message keeps its # header lines (comments), not the values */
    CK_FIELD(r.json, "message",
             "# Time: 2019-03-24T14:01:47.811234Z\\n"
             "# Query_time: 2.5  Lock_time: 0.1 Rows_sent: 10\\n"
             "SET timestamp=?;\\n"
             "SELECT * FROM users WHERE email = ? AND id = ?;");
    CK_FIELD(r.json, "@timestamp", "2019-03-24T14:01:47.811Z");
    free(r.json);
    ck_assert_uint_eq(lf_parser_redactions(p), 5);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(literals_postgresql)
{
    struct lf_parser *p = rparser("postgresql", true, NULL, 0, NULL, 0, LF_TYPE_QUERY);
    struct enc_result r =
        encode(p, "2026-11-21 23:36:41.123 UTC [42] app@shop LOG:  duration: 1.5 ms  execute "
                  "S_1: UPDATE t SET v = $$secret$$ WHERE \"Id\" = $1\n"
                  "2026-11-21 23:36:41.123 UTC [42] app@shop DETAIL:  parameters: $1 = '1234'");
    CK_FIELD(r.json, "db.statement", "UPDATE t SET v = ? WHERE \\\"Id\\\" = $1");
    CK_FIELD(r.json, "postgresql.detail", "parameters: $1 = ?");
    const char *d = jget(r.json, "postgresql.detail");
    ck_assert_msg(d && !strstr(d, "1234"), "detail: %s", r.json);
    ck_assert_msg(!strstr(r.json, "secret") && !strstr(r.json, "'1234'"), "%s", r.json);
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(own_regex)
{
    char *rx[] = {"(?i)customer=\\K\\w+", "x*", "(a)\\1"};
    struct lf_parser *p = rparser("raw", false, NULL, 0, rx, 3, LF_TYPE_RAW);
    struct enc_result r = encode(p, "Customer=ACME paid; aa and b");
    CK_FIELD(r.json, "message", "Customer=[REDACTED] paid; [REDACTED] and b");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(bad_redact_conf)
{
    struct lf_redact_conf c = {0};
    char err[256] = "";
    ck_assert_int_eq(lf_redact_check(&c, err, sizeof(err)), LF_OK);
    char *bad_name[] = {"emails"};
    c.patterns = (struct lf_list){.n = 1, .str = bad_name};
    ck_assert_int_eq(lf_redact_check(&c, err, sizeof(err)), LF_ECONFIG);
    ck_assert_msg(strstr(err, "unknown pattern 'emails'"), "%s", err);
    char *bad_rx[] = {"a(b"};
    c.patterns.n = 0;
    c.regex = (struct lf_list){.n = 1, .str = bad_rx};
    ck_assert_int_eq(lf_redact_check(&c, err, sizeof(err)), LF_ECONFIG);
    ck_assert_msg(strstr(err, "regex[0]") && strstr(err, "offset 3"), "%s", err);
    struct lf_parser_conf pc = {.type = type_index("raw"), .redact = c};
    struct lf_parser *p = NULL;
    ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_RAW, err, sizeof(err), &p), LF_ECONFIG);
    ck_assert_ptr_null(p);
    /* no redact: nothing counted */
    p = mkparser("raw", NULL, LF_TYPE_RAW);
    struct enc_result r = encode(p, "bob@example.com");
    CK_FIELD(r.json, "message", "bob@example.com");
    free(r.json);
    ck_assert_uint_eq(lf_parser_redactions(p), 0);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-redact");
    TCase *tc = tcase_create("redact");
    tcase_add_test(tc, patterns_in_request_records);
    tcase_add_test(tc, luhn_and_card_shapes);
    tcase_add_test(tc, literals_mysql);
    tcase_add_test(tc, literals_postgresql);
    tcase_add_test(tc, own_regex);
    tcase_add_test(tc, bad_redact_conf);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
