/* check_log.c - self-logging: text and JSON lines to a file, secrets and URL passwords
 * redacted, the per-call-site rate limit and its "suppressed" count. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lf_logsetup.h"
#include "logferry/lf_err.h"
#include "logferry/lf_log.h"

static char path[64];

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/lf-check-log-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void)
{
    lf_log_reset();
    unlink(path);
}

static char *slurp(void)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static const struct lf_log_ctx ctx = {.prefix = "[output:kafka:k]", .level = LF_LOG_INFO};

START_TEST(test_text_line_format)
{
    struct lf_log_setup s = {.format = LF_LOG_FORMAT_TEXT, .file = path};
    ck_assert_int_eq(lf_log_configure(&s), LF_OK);
    lf_log_warn(&ctx, "breaker %s", "open");
    lf_log_debug(&ctx, "not shown at info");
    const char *t = slurp();
    /* 2026-12-03T10:00:00.000Z warn  [output:kafka:k] breaker open */
    ck_assert_uint_eq(strlen(t), 24 + 1 + 5 + 1 + strlen("[output:kafka:k] breaker open\n"));
    ck_assert_str_eq(t + 24, " warn  [output:kafka:k] breaker open\n");
}
END_TEST

START_TEST(test_json_line_format)
{
    struct lf_log_setup s = {.format = LF_LOG_FORMAT_JSON, .file = path};
    ck_assert_int_eq(lf_log_configure(&s), LF_OK);
    lf_log_error(&ctx, "bad \"quote\"\nand newline");
    const char *t = slurp();
    ck_assert_msg(strncmp(t, "{\"time\":\"", 9) == 0, "%s", t);
    ck_assert_str_eq(t + 9 + 24, "\",\"level\":\"error\",\"logger\":\"output:kafka:k\","
                                 "\"message\":\"bad \\\"quote\\\"\\nand newline\"}\n");
}
END_TEST

START_TEST(test_secrets_and_url_passwords_redacted)
{
    struct lf_log_setup s = {.format = LF_LOG_FORMAT_TEXT, .file = path};
    ck_assert_int_eq(lf_log_configure(&s), LF_OK);
    lf_log_add_secret("hunter22");
    lf_log_add_secret("amqps://svc:Url5ecret@mq.example:5671/%2f"); /* only the password */
    lf_log_warn(&ctx, "sasl password hunter22 refused; amqp://user:pw123@h:5672/v failed");
    lf_log_warn(&ctx, "retry amqps://svc@mq.example:5671/%%2f after Url5ecret");
    lf_log_warn(&ctx, "http://127.0.0.1:2020/metrics has no password");
    const char *t = slurp();
    ck_assert_int_eq(count(t, "hunter22"), 0);
    ck_assert_int_eq(count(t, "pw123"), 0);
    ck_assert_int_eq(count(t, "Url5ecret"), 0);
    ck_assert_ptr_nonnull(
        strstr(t, "sasl password *** refused; amqp://user:***@h:5672/v failed\n"));
    ck_assert_ptr_nonnull(strstr(t, "retry amqps://svc@mq.example:5671/%2f after ***\n"));
    ck_assert_ptr_nonnull(strstr(t, "http://127.0.0.1:2020/metrics has no password\n"));
    char buf[64] = "x://a:b@c and a:hunter22";
    lf_log_redact(buf, sizeof(buf));
    ck_assert_str_eq(buf, "x://a:***@c and a:***");
}
END_TEST

/* Secrets of 1 or 2 bytes are masked too, where they stand alone; inside longer words
 * they are left (masking every "a" would mangle the line and give the secret away). */
START_TEST(test_short_secrets_masked_where_alone)
{
    lf_log_add_secret("Q");
    lf_log_add_secret("z9");
    lf_log_add_secret("");                      /* nothing to mask */
    lf_log_add_secret("amqp://u:k@h:5672/%2f"); /* a 1-byte URL password */
    char buf[128] = "pw=Q; token 'z9' at end: z9";
    lf_log_redact(buf, sizeof(buf));
    ck_assert_str_eq(buf, "pw=***; token '***' at end: ***");
    snprintf(buf, sizeof(buf), "Quit z99 az9 Q_ retry k, amqp://u:k@h/ok");
    lf_log_redact(buf, sizeof(buf));
    ck_assert_str_eq(buf, "Quit z99 az9 Q_ retry ***, amqp://u:***@h/ok");
    /* at the end of a full buffer the secret is cut off, never left */
    char small[8] = "abc z9";
    lf_log_redact(small, sizeof(small));
    ck_assert_str_eq(small, "abc ***");
    char tiny[7] = "abcd Q";
    lf_log_redact(tiny, sizeof(tiny));
    ck_assert_str_eq(tiny, "abcd ");
}
END_TEST

static void log_site_a(int i)
{
    lf_log_error(&ctx, "site a: record %d failed", i);
}

static void log_site_b(void)
{
    lf_log_error(&ctx, "site b");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_rate_limit_per_site_with_count)
{
    struct lf_log_setup s = {
        .format = LF_LOG_FORMAT_TEXT, .file = path, .burst = 3, .interval_ms = 200};
    ck_assert_int_eq(lf_log_configure(&s), LF_OK);
    int64_t start = now_ms();
    for (int i = 0; i < 10; i++) {
        log_site_a(i);
    }
    log_site_b();                            /* another call site is not limited by the first */
    ck_assert_int_lt(now_ms() - start, 200); /* all of that within one window */
    const char *t = slurp();
    ck_assert_int_eq(count(t, "site a: record"), 3);
    ck_assert_int_eq(count(t, "site b"), 1);
    /* the window is the limiter's parameter: wait it out, then the next line tells */
    while (now_ms() - start < 250) {
        usleep(10 * 1000);
    }
    log_site_a(99);
    t = slurp();
    ck_assert_ptr_nonnull(
        strstr(t, "site a: record 99 failed (7 similar line(s) suppressed before this)\n"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_text_line_format);
    tcase_add_test(tc, test_json_line_format);
    tcase_add_test(tc, test_secrets_and_url_passwords_redacted);
    tcase_add_test(tc, test_short_secrets_masked_where_alone);
    tcase_add_test(tc, test_rate_limit_per_site_with_count);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
