/* test_parse_tz.c - time zones: abbreviations resolved through the tz database, the
 * input's zone, unresolved zones marked, MySQL "# Time:" against "SET timestamp=". */
#include "parse_test.h"

static struct lf_parser *pg_parser(const char *tz)
{
    struct lf_parser_conf pc = {.type = type_index("postgresql"), .timezone = (char *)tz};
    return mkparser_conf(&pc, NULL, LF_TYPE_QUERY);
}

/* @timestamp of a PostgreSQL entry written at "2026-11-21 23:36:41.123 <zone>". */
static void pg_time(struct lf_parser *p, const char *zone, const char *want, bool marked)
{
    char line[256];
    snprintf(line, sizeof(line),
             "2026-11-21 23:36:41.123 %s [42] LOG:  duration: 1.5 ms  statement: select 1", zone);
    struct enc_result r = encode(p, line);
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", want);
    if (marked) {
        CK_FIELD(r.json, "event.timezone", zone);
        ck_assert_msg(strstr(r.json, "\"timezone_unresolved\"") != NULL, "no mark: %s", r.json);
    } else {
        CK_NOFIELD(r.json, "event.timezone");
        ck_assert_msg(!strstr(r.json, "timezone_unresolved"), "marked: %s", r.json);
    }
    free(r.json);
}

START_TEST(abbreviations_from_tzdata)
{
    struct lf_parser *p = pg_parser(NULL);
    pg_time(p, "KST", "2026-11-21T14:36:41.123Z", false);  /* Asia/Seoul, +09:00 */
    pg_time(p, "JST", "2026-11-21T14:36:41.123Z", false);  /* Asia/Tokyo */
    pg_time(p, "MSK", "2026-11-21T20:36:41.123Z", false);  /* Europe/Moscow, +03:00 */
    pg_time(p, "EST", "2026-11-22T04:36:41.123Z", false);  /* -05:00 */
    pg_time(p, "AEDT", "2026-11-21T12:36:41.123Z", false); /* +11:00 */
    pg_time(p, "NZDT", "2026-11-21T10:36:41.123Z", false); /* +13:00 */
    pg_time(p, "UTC", "2026-11-21T23:36:41.123Z", false);
    pg_time(p, "+09", "2026-11-21T14:36:41.123Z", false); /* zones without letters */
    /* Ambiguous (IST: India +05:30, Ireland +01:00, Israel +02:00; CST: America/Chicago,
     * China, Cuba) and unknown: read as the input's zone (UTC here) and marked. */
    pg_time(p, "IST", "2026-11-21T23:36:41.123Z", true);
    pg_time(p, "CST", "2026-11-21T23:36:41.123Z", true);
    pg_time(p, "QQQ", "2026-11-21T23:36:41.123Z", true);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(input_zone_first)
{
    /* The input's zone settles an ambiguous abbreviation... */
    struct lf_parser *p = pg_parser("Asia/Kolkata");
    pg_time(p, "IST", "2026-11-21T18:06:41.123Z", false);
    pg_time(p, "KST", "2026-11-21T14:36:41.123Z", false); /* other zones still resolve */
    lf_parser_destroy(p);
    p = pg_parser("America/Chicago");
    pg_time(p, "CST", "2026-11-22T05:36:41.123Z", false);
    lf_parser_destroy(p);
    p = pg_parser("Asia/Shanghai");
    pg_time(p, "CST", "2026-11-21T15:36:41.123Z", false);
    /* ...an unresolved one is read in it, and marked. */
    pg_time(p, "IST", "2026-11-21T15:36:41.123Z", true);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(change_back_hour)
{
    /* Europe/Paris, 2026-10-25: 02:30 happens twice (CEST, then CET). The abbreviation
     * tells which; without one the later (standard) reading is taken. */
    struct lf_parser *p = pg_parser("Europe/Paris");
    struct enc_result r =
        encode(p, "2026-10-25 02:30:00 CEST [1] LOG:  duration: 1 ms  statement: select 1");
    CK_FIELD(r.json, "@timestamp", "2026-10-25T00:30:00.000Z");
    free(r.json);
    r = encode(p, "2026-10-25 02:30:00 CET [1] LOG:  duration: 1 ms  statement: select 1");
    CK_FIELD(r.json, "@timestamp", "2026-10-25T01:30:00.000Z");
    free(r.json);
    lf_parser_destroy(p);
    struct lf_parser_conf pc = {.type = type_index("level"), .timezone = "Europe/Paris"};
    p = mkparser_conf(&pc, NULL, LF_TYPE_ERROR);
    r = encode(p, "2026-10-25 02:30:00 ERROR no zone written");
    CK_FIELD(r.json, "@timestamp", "2026-10-25T01:30:00.000Z");
    free(r.json);
    /* far beyond the transitions a TZif file lists: the zone's rule still applies */
    r = encode(p, "2090-07-01 12:00:00 ERROR summer of 2090");
    CK_FIELD(r.json, "@timestamp", "2090-07-01T10:00:00.000Z");
    free(r.json);
    /* many records in one hour, then across the spring change (the hour cache) */
    r = encode(p, "2026-03-29 01:59:59 ERROR before");
    CK_FIELD(r.json, "@timestamp", "2026-03-29T00:59:59.000Z");
    free(r.json);
    r = encode(p, "2026-03-29 03:00:00 ERROR after");
    CK_FIELD(r.json, "@timestamp", "2026-03-29T01:00:00.000Z");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(half_hour_change)
{
    /* Australia/Lord_Howe changes by 30 minutes at 02:00 local: the hour around the
     * change has two offsets, so it is not cached. */
    struct lf_parser_conf pc = {.type = type_index("level"), .timezone = "Australia/Lord_Howe"};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_ERROR);
    struct enc_result r = encode(p, "2026-04-05 01:10:00 ERROR x"); /* +11:00 */
    CK_FIELD(r.json, "@timestamp", "2026-04-04T14:10:00.000Z");
    free(r.json);
    r = encode(p, "2026-04-05 01:40:00 ERROR x"); /* twice: the later, +10:30 */
    CK_FIELD(r.json, "@timestamp", "2026-04-04T15:10:00.000Z");
    free(r.json);
    r = encode(p, "2026-04-05 02:10:00 ERROR x"); /* +10:30 */
    CK_FIELD(r.json, "@timestamp", "2026-04-04T15:40:00.000Z");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(bad_zone_names)
{
    static const char *const bad[] = {"Asia/Sesoul",  "../../etc/passwd", "/etc/localtime",
                                      "Mars/Olympus", "+25:00",           "EST5EDT,M3.2.0,M11.1.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        ck_assert_int_eq(lf_tz_check(bad[i], err, sizeof(err)), LF_ECONFIG);
        ck_assert_msg(strstr(err, bad[i]) && strstr(err, "tz database"), "message: %s", err);
        struct lf_parser_conf pc = {.type = type_index("raw"), .timezone = (char *)bad[i]};
        struct lf_parser *p = NULL;
        ck_assert_int_eq(lf_parser_create(&pc, NULL, LF_TYPE_RAW, err, sizeof(err), &p),
                         LF_ECONFIG);
        ck_assert_ptr_null(p);
    }
    static const char *const good[] = {NULL, "UTC", "local", "+05:30", "Asia/Seoul", "Etc/UTC"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char err[256] = "";
        ck_assert_msg(lf_tz_check(good[i], err, sizeof(err)) == LF_OK, "%s: %s", good[i], err);
    }
}
END_TEST

static struct enc_result mysql(const char *text)
{
    struct lf_parser *p = mkparser("mysql-slow", NULL, LF_TYPE_QUERY);
    struct enc_result r = encode(p, text);
    lf_parser_destroy(p);
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    return r;
}

START_TEST(mysql_time_and_set_timestamp)
{
    /* MySQL 8: # Time is the end (µs), SET timestamp the start: 2.47 s apart, consistent. */
    struct enc_result r = mysql("# Time: 2019-03-24T14:01:47.811234Z\n"
                                "# User@Host: u[u] @ localhost []  Id:     9\n"
                                "# Query_time: 2.475469  Lock_time: 0.000287 Rows_sent: 10\n"
                                "SET timestamp=1553436105;\nSELECT 1;");
    CK_FIELD(r.json, "@timestamp", "2019-03-24T14:01:47.811Z");
    ck_assert_msg(!strstr(r.json, "timestamp_mismatch"), "%s", r.json);
    free(r.json);
    /* an offset in # Time */
    r = mysql("# Time: 2018-08-07T16:27:47.169604+08:00\n# Query_time: 15.000223  Lock_time: 0\n"
              "SET timestamp=1533630467;\nSELECT sleep(15);");
    CK_FIELD(r.json, "@timestamp", "2018-08-07T08:27:47.169Z");
    ck_assert_msg(!strstr(r.json, "timestamp_mismatch"), "%s", r.json);
    free(r.json);
    /* an hour apart: # Time wins, marked */
    r = mysql("# Time: 2019-03-24T15:01:47.811234Z\n# Query_time: 0.5  Lock_time: 0\n"
              "SET timestamp=1553436105;\nSELECT 1;");
    CK_FIELD(r.json, "@timestamp", "2019-03-24T15:01:47.811Z");
    ck_assert_msg(strstr(r.json, "\"timestamp_mismatch\""), "%s", r.json);
    free(r.json);
    /* SET timestamp later than # Time by more than 1 s: marked */
    r = mysql("# Time: 2019-03-24T14:01:40.000000Z\n# Query_time: 0.5  Lock_time: 0\n"
              "SET timestamp=1553436105;\nSELECT 1;");
    ck_assert_msg(strstr(r.json, "\"timestamp_mismatch\""), "%s", r.json);
    free(r.json);
}
END_TEST

START_TEST(mysql_old_time_format)
{
    /* 5.x "# Time: YYMMDD H:MM:SS" has no zone: SET timestamp (UTC) is preferred, and a
     * server-local # Time far from it is flagged. */
    struct enc_result r = mysql("# Time: 071015 21:43:52\n# Query_time: 2  Lock_time: 0\n"
                                "SET timestamp=1192484632;\nSELECT 1;");
    CK_FIELD(r.json, "@timestamp", "2007-10-15T21:43:52.000Z");
    ck_assert_msg(!strstr(r.json, "timestamp_mismatch"), "%s", r.json);
    free(r.json);
    r = mysql("# Time: 071015 23:43:52\n# Query_time: 2  Lock_time: 0\n"
              "SET timestamp=1192484632;\nSELECT 1;");
    CK_FIELD(r.json, "@timestamp", "2007-10-15T21:43:52.000Z");
    ck_assert_msg(strstr(r.json, "\"timestamp_mismatch\""), "%s", r.json);
    free(r.json);
    /* only one of them */
    r = mysql("# Time: 071015 21:43:52\n# Query_time: 2  Lock_time: 0\nSELECT 1;");
    CK_FIELD(r.json, "@timestamp", "2007-10-15T21:43:52.000Z");
    free(r.json);
    r = mysql("# Query_time: 2  Lock_time: 0\nSET timestamp=1192484632;\nSELECT 1;");
    CK_FIELD(r.json, "@timestamp", "2007-10-15T21:43:52.000Z");
    free(r.json);
}
END_TEST

START_TEST(keep_message_false)
{
    struct lf_parser_conf pc = {.type = type_index("nginx"), .drop_message = true};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_REQUEST);
    struct enc_result r =
        encode(p, "1.2.3.4 - - [21/Nov/2026:23:36:41 +0100] \"GET /a HTTP/1.1\" 200 5 \"-\" \"c\"");
    CK_NOFIELD(r.json, "message");
    CK_FIELD(r.json, "url.path", "/a");
    free(r.json);
    r = encode(p, "not an access log line"); /* failed: the text stays */
    CK_FIELD(r.json, "message", "not an access log line");
    free(r.json);
    lf_parser_destroy(p);
    /* error records: `message` is the message part, not the raw text: kept */
    pc = (struct lf_parser_conf){.type = type_index("level"), .drop_message = true};
    p = mkparser_conf(&pc, NULL, LF_TYPE_ERROR);
    r = encode(p, "2026-01-01 10:00:00 ERROR disk full");
    CK_FIELD(r.json, "message", "disk full");
    free(r.json);
    lf_parser_destroy(p);
    /* raw: nothing parsed, kept */
    pc = (struct lf_parser_conf){.type = type_index("raw"), .drop_message = true};
    p = mkparser_conf(&pc, NULL, LF_TYPE_RAW);
    r = encode(p, "plain");
    CK_FIELD(r.json, "message", "plain");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-tz");
    TCase *tc = tcase_create("tz");
    tcase_add_test(tc, abbreviations_from_tzdata);
    tcase_add_test(tc, input_zone_first);
    tcase_add_test(tc, change_back_hour);
    tcase_add_test(tc, half_hour_change);
    tcase_add_test(tc, bad_zone_names);
    tcase_add_test(tc, mysql_time_and_set_timestamp);
    tcase_add_test(tc, mysql_old_time_format);
    tcase_add_test(tc, keep_message_false);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
