/* check_fuzz_regress.c - unit tests for the defects the fuzz targets found (docs/fuzzing.md,
 * "Findings"), each with the input shape that crashed. The crashing inputs themselves are
 * replayed by the fuzz-replay-* tests (regressions/); these tests state the intended
 * behaviour, and fail without the fix even where no sanitizer runs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/parse/parse_test.h"
#include "logferry/lf_record.h"

/* Encodes text from an exact-size heap copy (no NUL after it: ASan sees any over-read). */
static struct enc_result encode_exact(struct lf_parser *p, const char *text)
{
    size_t n = strlen(text);
    char *copy = malloc(n);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, n);
    struct enc_result r = encode_meta(p, copy, n, 0, NULL);
    free(copy);
    return r;
}

/* python: a trace whose last line is a prefix of "Traceback" was compared with strncmp
 * over the end of the record. It is an ordinary line now (here: a bare exception name). */
START_TEST(python_trace_ends_in_prefix)
{
    struct lf_parser *p = mkparser("python", NULL, LF_TYPE_ERROR);
    struct enc_result r = encode_exact(p, "2024-05-01 08:00:00,000 - app.db - CRITICAL - gone\n"
                                          "Traceback (most recent call last):\n"
                                          "  File \"x.py\", line 1, in <module>\n"
                                          "ValueError: bad\nTra");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "error.type", "Tra");
    free(r.json);
    r = encode_exact(p, "2024-05-01 08:00:00,000 - app.db - CRITICAL - gone\n"
                        "Traceback (most recent call last):\n"
                        "  File \"x.py\", line 1, in <module>\nValueError: bad\nDuring");
    CK_FIELD(r.json, "error.type", "During");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

/* A time of day "HH:mm:ss" was computed from whatever bytes stood at the digit places
 * (signed overflow, a garbage @timestamp); non-digits are no time now. */
START_TEST(time_only_needs_digits)
{
    struct lf_parser_conf pc = {.type = type_index("regex"),
                                .format = "^(?<timestamp>\\S+) (?<message>.*)$"};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_ERROR);
    struct enc_result r = encode_exact(p, "\xd9O:8(:0. hello");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", "2023-11-14T22:13:20.123Z"); /* the read time */
    ck_assert_ptr_nonnull(strstr(r.json, "timestamp_missing"));
    free(r.json);
    r = encode_exact(p, "12:34:56.7x9 hello");
    CK_FIELD(r.json, "@timestamp", "2023-11-14T12:34:56.000Z"); /* no garbage milliseconds */
    free(r.json);
    r = encode_exact(p, "12:34:56.789 hello");
    CK_FIELD(r.json, "@timestamp", "2023-11-14T12:34:56.789Z");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

/* mysql-slow: "SET timestamp=N" with N * 1000 over int64 overflowed; it is no time now. */
START_TEST(mysql_set_timestamp_overflow)
{
    struct lf_parser *p = mkparser("mysql-slow", NULL, LF_TYPE_QUERY);
    struct enc_result r = encode_exact(p, "# Query_time: 1.0\n"
                                          "SET timestamp=148579699999999999;\nselect 1;");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_FIELD(r.json, "@timestamp", "2023-11-14T22:13:20.123Z");
    free(r.json);
    r = encode_exact(p, "# Query_time: 1.0\nSET timestamp=1485796061;\nselect 1;");
    CK_FIELD(r.json, "@timestamp", "2017-01-30T17:07:41.000Z");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

/* Seconds to nanoseconds ($request_time, Query_time): ten integer digits overflowed int64
 * nanoseconds; such a value is no duration now. */
START_TEST(seconds_to_ns_overflow)
{
    struct lf_parser_conf pc = {.type = type_index("nginx"), .format = "$status $request_time"};
    struct lf_parser *p = mkparser_conf(&pc, NULL, LF_TYPE_REQUEST);
    struct enc_result r = encode_exact(p, "200 9700000000.58002");
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_NOFIELD(r.json, "event.duration");
    free(r.json);
    r = encode_exact(p, "200 9223372035.5");
    CK_FIELD(r.json, "event.duration", "9223372035500000000");
    free(r.json);
    lf_parser_destroy(p);
    p = mkparser("mysql-slow", NULL, LF_TYPE_QUERY);
    r = encode_exact(p, "# Query_time: 9999999999.0  Lock_time: 0\nselect 1;");
    CK_NOFIELD(r.json, "event.duration");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

/* Templates: rendering into no buffer (cap 0) measures the length (it did pointer
 * arithmetic on NULL); an empty field name is not found (find_key walked past the NUL). */
START_TEST(template_measure_and_empty_name)
{
    struct lf_record rec = {.payload = "{\"service\":{\"name\":\"x\"},\"service.name\":\"shop\"}",
                            .type = LF_TYPE_REQUEST,
                            .id = "0123456789abcdef0123456789abcdef"};
    rec.payload_len = strlen(rec.payload);
    struct lf_template *t = NULL;
    char err[128], buf[64];
    ck_assert_int_eq(lf_template_compile("p.{{service.name}}.{{type}}", &t, err, sizeof(err)),
                     LF_OK);
    ck_assert_uint_eq(lf_template_render(t, &rec, NULL, 0), strlen("p.shop.request"));
    ck_assert_uint_eq(lf_template_render(t, &rec, buf, sizeof(buf)), strlen("p.shop.request"));
    ck_assert_str_eq(buf, "p.shop.request");
    lf_template_destroy(t);
    ck_assert_int_eq(lf_record_field(&rec, "", buf, sizeof(buf)), LF_ENOTFOUND);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz-regressions");
    TCase *tc = tcase_create("found");
    tcase_add_test(tc, python_trace_ends_in_prefix);
    tcase_add_test(tc, time_only_needs_digits);
    tcase_add_test(tc, mysql_set_timestamp_overflow);
    tcase_add_test(tc, seconds_to_ns_overflow);
    tcase_add_test(tc, template_measure_and_empty_name);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
