/* test_parse_mongo.c - the mongodb parser: a slow query into the query schema (duration,
 * namespace, plan summary, keys/docs examined, command fingerprint with keys kept and
 * values -> ?), a WRITE slow operation, other log lines, $date forms, min_duration, and
 * lines that are not MongoDB's. */
#include "parse_test.h"

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

START_TEST(slow_query_find)
{
    struct lf_parser *p = mkparser("mongodb", NULL, LF_TYPE_RAW);
    struct enc_result r = encode(
        p,
        "{\"t\":{\"$date\":\"2023-09-23T16:25:03.588-04:00\"},\"s\":\"I\",  \"c\":\"COMMAND\",  "
        "\"id\":51803,   \"ctx\":\"conn10\",\"msg\":\"Slow query\",\"attr\":{\"type\":\"command\","
        "\"ns\":\"shop.orders\",\"appName\":\"api\",\"command\":{\"find\":\"orders\",\"filter\":"
        "{\"status\":\"paid\",\"total\":{\"$gt\":100},\"_id\":{\"$oid\":\"65f2\"}},\"sort\":"
        "{\"ts\":-1},\"projection\":{\"a\":1,\"tags\":[\"x\",\"y\"]},\"lsid\":{\"id\":1},"
        "\"$db\":\"shop\"},\"planSummary\":\"IXSCAN { status: 1 }\",\"keysExamined\":120,"
        "\"docsExamined\":120,\"nreturned\":7,\"numYields\":0,\"reslen\":2048,\"remote\":"
        "\"10.0.0.9:5000\",\"durationMillis\":153}}");
    ck_assert_int_eq(r.type, LF_TYPE_QUERY);
    CK_NOFIELD(r.json, "log.flags");
    CK_FIELD(r.json, "@timestamp", "2023-09-23T20:25:03.588Z");
    CK_FIELD(r.json, "message", "Slow query");
    CK_FIELD(r.json, "log.level", "INFO");
    CK_FIELD(r.json, "mongodb.component", "COMMAND");
    CK_FIELD(r.json, "mongodb.id", "51803");
    CK_FIELD(r.json, "db.name", "shop");
    CK_FIELD(r.json, "db.collection.name", "orders");
    CK_FIELD(r.json, "db.operation.name", "find");
    CK_FIELD(r.json, "db.fingerprint",
             "{\\\"find\\\":?,\\\"filter\\\":{\\\"status\\\":?,\\\"total\\\":{\\\"$gt\\\":?},"
             "\\\"_id\\\":?},\\\"sort\\\":{\\\"ts\\\":?},\\\"projection\\\":{\\\"a\\\":?,"
             "\\\"tags\\\":[?]}}");
    ck_assert(!strncmp(jget(r.json, "db.statement"), "{\\\"find\\\":\\\"orders\\\"", 19));
    CK_FIELD(r.json, "mongodb.plan_summary", "IXSCAN { status: 1 }");
    CK_FIELD(r.json, "mongodb.keys_examined", "120");
    CK_FIELD(r.json, "mongodb.docs_examined", "120");
    CK_FIELD(r.json, "mongodb.nreturned", "7");
    CK_FIELD(r.json, "client.address", "10.0.0.9:5000");
    CK_FIELD(r.json, "event.duration", "153000000");
    CK_NOFIELD(r.json, "mongodb.attr");
    free(r.json);
    all_cuts(p, "{\"t\":{\"$date\":\"2023-09-23T16:25:03.588Z\"},\"s\":\"I\",\"c\":\"COMMAND\","
                "\"id\":51803,\"msg\":\"Slow query\",\"attr\":{\"ns\":\"a.b\",\"command\":"
                "{\"find\":\"b\",\"filter\":{\"x\":[{\"y\":{\"$oid\":\"1\"}}]}},"
                "\"durationMillis\":3}}");
    lf_parser_destroy(p);
}
END_TEST

START_TEST(slow_write_and_batches)
{
    struct lf_parser *p = mkparser("mongodb", NULL, LF_TYPE_QUERY);
    struct enc_result r = encode(
        p, "{\"t\":{\"$date\":{\"$numberLong\":\"1695500713420\"}},\"s\":\"I\",\"c\":\"WRITE\","
           "\"id\":51803,\"ctx\":\"conn22\",\"msg\":\"Slow query\",\"attr\":{\"type\":\"update\","
           "\"ns\":\"testdb.dealers\",\"command\":{\"q\":{\"_id\":\"DEALER-1\"},\"u\":{\"$set\":"
           "{\"name\":\"Atlanta\"}},\"multi\":false,\"upsert\":true},\"planSummary\":\"IDHACK\","
           "\"keysExamined\":1,\"docsExamined\":1,\"durationMillis\":11}}");
    CK_FIELD(r.json, "@timestamp", "2023-09-23T20:25:13.420Z");
    CK_FIELD(r.json, "db.operation.name", "update");
    CK_FIELD(r.json, "db.fingerprint",
             "{\\\"q\\\":{\\\"_id\\\":?},\\\"u\\\":{\\\"$set\\\":{\\\"name\\\":?}},"
             "\\\"multi\\\":?,\\\"upsert\\\":?}");
    free(r.json);
    /* an insert of 2 documents has the shape of an insert of 1 */
    const char *a = "{\"t\":{\"$date\":\"2023-09-23T16:25:13.420Z\"},\"s\":\"I\",\"c\":\"COMMAND\","
                    "\"id\":51803,\"ctx\":\"c\",\"msg\":\"Slow query\",\"attr\":{\"ns\":\"d.c\","
                    "\"command\":{\"insert\":\"c\",\"documents\":[{\"a\":1},{\"a\":2}]},"
                    "\"durationMillis\":5}}";
    r = encode(p, a);
    CK_FIELD(r.json, "db.fingerprint", "{\\\"insert\\\":?,\\\"documents\\\":[{\\\"a\\\":?}]}");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

START_TEST(other_lines_filter_and_bad)
{
    struct lf_filter_conf fc = {.min_duration_ms = 100};
    struct lf_parser_conf pc = {.type = type_index("mongodb")};
    struct lf_parser *p = mkparser_conf(&pc, &fc, LF_TYPE_QUERY);
    /* not a slow operation: kept (no duration), attr as JSON */
    struct enc_result r = encode(
        p, "{\"t\":{\"$date\":\"2021-03-22T21:40:01.559+03:00\"},\"s\":\"W\",\"c\":\"ACCESS\","
           "\"id\":20436,\"ctx\":\"conn1\",\"msg\":\"Authentication failed\",\"attr\":{\"error\":"
           "\"UserNotFound: \\\"u\\\"\"}}");
    CK_FIELD(r.json, "@timestamp", "2021-03-22T18:40:01.559Z");
    CK_FIELD(r.json, "log.level", "WARN");
    CK_FIELD(r.json, "message", "Authentication failed");
    CK_FIELD(r.json, "mongodb.attr", "{\"error\":\"UserNotFound: \\\"u\\\"\"}");
    free(r.json);
    /* a slow query under min_duration: dropped */
    r = encode(p, "{\"t\":{\"$date\":\"2023-09-23T16:25:13.420Z\"},\"s\":\"I\",\"c\":\"COMMAND\","
                  "\"id\":51803,\"ctx\":\"c\",\"msg\":\"Slow query\",\"attr\":{\"ns\":\"d.c\","
                  "\"command\":{\"find\":\"c\"},\"durationMillis\":5}}");
    ck_assert_int_eq(r.rc, LF_PARSE_DROP);
    /* not MongoDB's: kept, marked */
    r = encode(p, "{\"msg\":\"no time\"}");
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    free(r.json);
    r = encode(p, "2019-01-01T00:00:00.000+0000 I COMMAND [conn1] legacy text 12ms");
    CK_FIELD(r.json, "log.flags", "[\"parse_failure\",\"timestamp_missing\"]");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-mongo");
    TCase *tc = tcase_create("mongo");
    tcase_add_test(tc, slow_query_find);
    tcase_add_test(tc, slow_write_and_batches);
    tcase_add_test(tc, other_lines_filter_and_bad);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
