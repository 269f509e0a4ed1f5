/* test_parse_reject.c - parsers reject what is not their format: random bytes and
 * near-miss lines become parse_failure records that keep the raw line, never records
 * with fields made of garbage. */
#include "parse_test.h"

/* xorshift: the same "random" lines on every run, so a failure can be replayed. */
static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Fills buf with n random bytes (no newline: the line splitter never passes one), from
 * the whole byte range or, when printable, from characters access logs are made of. */
static void random_line(uint32_t *seed, char *buf, size_t n, bool printable)
{
    static const char alphabet[] = "abcdefghij0123456789 -[]\"/:.+";
    for (size_t i = 0; i < n; i++) {
        char c = printable ? alphabet[rnd(seed) % (sizeof(alphabet) - 1)] : (char)rnd(seed);
        buf[i] = c == '\n' ? ' ' : c;
    }
}

/* Encodes `lines` random lines with parser `type`; returns how many were NOT marked
 * parse_failure, and checks every failed one keeps its raw line as the message. */
static int random_accepted(const char *type, bool printable, int lines)
{
    struct lf_parser *p = mkparser(type, NULL, LF_TYPE_REQUEST);
    uint32_t seed = 0x9e3779b9u;
    int accepted = 0;
    char buf[300];
    for (int i = 0; i < lines; i++) {
        size_t n = 1 + rnd(&seed) % (sizeof(buf) - 1);
        random_line(&seed, buf, n, printable);
        struct enc_result r = encode_meta(p, buf, n, 0, NULL);
        ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
        if (!strstr(r.json, "\"parse_failure\"")) {
            accepted++;
        } else {
            ck_assert_msg(strstr(r.json, "\"message\":"), "raw line kept: %s", r.json);
            CK_NOFIELD(r.json, "client.address");
            CK_NOFIELD(r.json, "http.response.status_code");
        }
        free(r.json);
    }
    lf_parser_destroy(p);
    return accepted;
}

START_TEST(random_bytes_rejected)
{
    static const char *const types[] = {"apache", "nginx", "json", "logback", "python"};
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        ck_assert_msg(random_accepted(types[t], false, 3000) == 0, "%s accepted random bytes",
                      types[t]);
        ck_assert_msg(random_accepted(types[t], true, 3000) == 0,
                      "%s accepted random printable lines", types[t]);
    }
}
END_TEST

/* Lines that look like an access log line but are not one. */
START_TEST(access_near_misses_rejected)
{
    static const char *const lines[] = {
        "hello world foo",   /* three words */
        "a b c [not a time", /* cut before a time */
        "1.2.3.4 - - [12/Apr/2018:09:48:40 +0200] \"GET / HTTP/1.1\" abc 12 \"-\" \"-\"",
        "1.2.3.4 - - [12/Apr/2018:09:48:40 +0200] \"GET / HTTP/1.1\" 2000 12 \"-\" \"-\"",
        "1.2.3.4 - - [12/Apr/2018:09:48:40 +0200] \"GET / HTTP/1.1\" 200 1x2 \"-\" \"-\"",
        "<html><body>1 - - [x] \"y\" 200 1 \"-\" \"-\"", /* markup as the address */
        "\x01\x02\xff - - [12/Apr/2018:09:48:40 +0200] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
        "2018-04-12 09:48:40 ERROR something failed", /* an application log */
    };
    const char *types[] = {"apache", "nginx"};
    for (size_t t = 0; t < 2; t++) {
        struct lf_parser *p = mkparser(types[t], NULL, LF_TYPE_REQUEST);
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
            struct enc_result r = encode(p, lines[i]);
            ck_assert_msg(strstr(r.json, "\"parse_failure\""), "%s accepted %s", types[t],
                          lines[i]);
            CK_NOFIELD(r.json, "client.address");
            free(r.json);
        }
        lf_parser_destroy(p);
    }
}
END_TEST

/* The same parser still takes its real lines, cut ones that reach the time included. */
START_TEST(access_real_lines_kept)
{
    static const char *const lines[] = {
        "85.181.35.98 - alice [07/Dec/2016:11:05:07 +0100] \"GET / HTTP/1.1\" 200 571 \"-\" "
        "\"curl\"",
        "85.181.35.98 - - [07/Dec/2016:11:05:07 +0100] \"GET / HTTP/1.1\" 200 571", /* common */
        "\"10.5.102.222, 199.96.1.1\" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] \"GET / "
        "HTTP/1.1\" 200 2 \"-\" \"cf\"",
        "2001:db8::1 - - [07/Dec/2016:11:05:07 -0230] \"GET / HTTP/2.0\" 304 - \"-\" \"-\"",
    };
    struct lf_parser *p = mkparser("apache", NULL, LF_TYPE_REQUEST);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct enc_result r = encode(p, lines[i]);
        ck_assert_msg(!strstr(r.json, "parse_failure"), "rejected %s: %s", lines[i], r.json);
        free(r.json);
    }
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reject");
    TCase *tc = tcase_create("reject");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, random_bytes_rejected);
    tcase_add_test(tc, access_near_misses_rejected);
    tcase_add_test(tc, access_real_lines_kept);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
