/* check_alert.c - alert events from counters, grouping and rate limiting per kind, the
 * POST body (default and template), template checks and URL redaction. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lf_alert.h"
#include "logferry/lf_err.h"

START_TEST(watch_deltas)
{
    struct lf_alert_prev prev = {0};
    struct lf_alert_event ev[LF_ALERT_KINDS];
    struct lf_alert_counters c = {0};
    ck_assert_uint_eq(lf_alert_watch(&prev, 2, &c, 1000, ev), 0);
    c.dead_lettered = 1000; /* a burst before the first tick still counts */
    c.breaker_opens = 1;
    ck_assert_uint_eq(lf_alert_watch(&prev, 2, &c, 1000, ev), 2);
    ck_assert_int_eq(ev[0].kind, LF_ALERT_DEAD_LETTER);
    ck_assert_uint_eq(ev[0].count, 1000);
    ck_assert_uint_eq(ev[0].output, 2);
    ck_assert_int_eq(ev[1].kind, LF_ALERT_BREAKER_OPEN);
    ck_assert_uint_eq(lf_alert_watch(&prev, 2, &c, 1000, ev), 0); /* nothing new */
    c.dead_lettered = 1005;
    c.breaker_closes = 1;
    c.spool_dropped = 7;
    ck_assert_uint_eq(lf_alert_watch(&prev, 2, &c, 1000, ev), 3);
    ck_assert_uint_eq(ev[0].count, 5);
    ck_assert_int_eq(ev[1].kind, LF_ALERT_BREAKER_CLOSE);
    ck_assert_int_eq(ev[2].kind, LF_ALERT_SPOOL_DROP);
    ck_assert_uint_eq(ev[2].count, 7);
}
END_TEST

START_TEST(watch_spool_edge)
{
    struct lf_alert_prev prev = {0};
    struct lf_alert_event ev[LF_ALERT_KINDS];
    struct lf_alert_counters c = {.spool_bytes = 799};
    ck_assert_uint_eq(lf_alert_watch(&prev, 0, &c, 1000, ev), 0);
    c.spool_bytes = 800;
    ck_assert_uint_eq(lf_alert_watch(&prev, 0, &c, 1000, ev), 1);
    ck_assert_int_eq(ev[0].kind, LF_ALERT_SPOOL_HIGH);
    c.spool_bytes = 950; /* still high: no second alert */
    ck_assert_uint_eq(lf_alert_watch(&prev, 0, &c, 1000, ev), 0);
    c.spool_bytes = 750; /* between 70% and 80%: not re-armed */
    ck_assert_uint_eq(lf_alert_watch(&prev, 0, &c, 1000, ev), 0);
    c.spool_bytes = 850;
    ck_assert_uint_eq(lf_alert_watch(&prev, 0, &c, 1000, ev), 0);
    c.spool_bytes = 600; /* below 70%: re-armed */
    ck_assert_uint_eq(lf_alert_watch(&prev, 0, &c, 1000, ev), 0);
    c.spool_bytes = 900;
    ck_assert_uint_eq(lf_alert_watch(&prev, 0, &c, 1000, ev), 1);
    c.spool_bytes = 5000; /* no max_size: no spool alert */
    struct lf_alert_prev p2 = {0};
    ck_assert_uint_eq(lf_alert_watch(&p2, 0, &c, 0, ev), 0);
}
END_TEST

/* 1,000 events in 2 s make one group, due 5 s after the first; the next group of the
 * kind waits for min_interval after that POST; kinds are independent. */
START_TEST(groups_rate_limit)
{
    struct lf_alert_groups gs;
    lf_alert_groups_init(&gs, 60000);
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_DEAD_LETTER), -1);
    for (int i = 0; i < 1000; i++) {
        struct lf_alert_event e = {LF_ALERT_DEAD_LETTER, (uint32_t)(i % 2), 1};
        lf_alert_groups_add(&gs, &e, 10000 + i * 2);
    }
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_DEAD_LETTER), 10000 + 5000);
    ck_assert_uint_eq(gs.g[LF_ALERT_DEAD_LETTER].count, 1000);
    ck_assert_uint_eq(gs.g[LF_ALERT_DEAD_LETTER].per_output[1], 500);
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_BREAKER_OPEN), -1);
    lf_alert_groups_sent(&gs, LF_ALERT_DEAD_LETTER, true, 15000);
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_DEAD_LETTER), -1);
    struct lf_alert_event e = {LF_ALERT_DEAD_LETTER, 0, 3};
    lf_alert_groups_add(&gs, &e, 16000);
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_DEAD_LETTER), 15000 + 60000);
    struct lf_alert_event b = {LF_ALERT_BREAKER_OPEN, 0, 1};
    lf_alert_groups_add(&gs, &b, 16000);
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_BREAKER_OPEN), 21000);
    /* a failed POST keeps the counts for the next one, a min_interval later */
    lf_alert_groups_sent(&gs, LF_ALERT_BREAKER_OPEN, false, 21000);
    lf_alert_groups_add(&gs, &b, 22000);
    ck_assert_uint_eq(gs.g[LF_ALERT_BREAKER_OPEN].count, 2);
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_BREAKER_OPEN), 81000);
    /* min_interval shorter than the grouping wait */
    lf_alert_groups_init(&gs, 1000);
    lf_alert_groups_add(&gs, &b, 500);
    ck_assert_int_eq(lf_alert_groups_due(&gs, LF_ALERT_BREAKER_OPEN), 1500);
}
END_TEST

START_TEST(render_default_and_template)
{
    struct lf_alert_groups gs;
    struct lf_buf b;
    const char *names[] = {"kafka-main", "rab\"bit"};
    lf_alert_groups_init(&gs, 60000);
    struct lf_alert_event e1 = {LF_ALERT_DEAD_LETTER, 0, 998}, e2 = {LF_ALERT_DEAD_LETTER, 1, 2};
    lf_alert_groups_add(&gs, &e1, 1);
    lf_alert_groups_add(&gs, &e2, 1);
    lf_buf_init(&b, 0);
    ck_assert_int_eq(lf_alert_render(&gs, LF_ALERT_DEAD_LETTER, NULL, "web-1", names, 2, &b),
                     LF_OK);
    lf_buf_append_char(&b, 0);
    ck_assert_str_eq(b.data, "{\"text\": \"logferry web-1: records dead-lettered (1000) - "
                             "kafka-main: 998, rab\\\"bit: 2\"}");
    lf_buf_reset(&b);
    ck_assert_int_eq(lf_alert_render(&gs, LF_ALERT_DEAD_LETTER,
                                     "{\"kind\":\"{{kind}}\",\"n\":{{count}},\"who\":\"{{agent}}\","
                                     "\"o\":\"{{outputs}}\",\"x\":\"{{nope}}\"}",
                                     "web-1", names, 2, &b),
                     LF_OK);
    lf_buf_append_char(&b, 0);
    ck_assert_str_eq(b.data, "{\"kind\":\"dead_letter\",\"n\":1000,\"who\":\"web-1\","
                             "\"o\":\"kafka-main: 998, rab\\\"bit: 2\",\"x\":\"\"}");
    lf_buf_fini(&b);
}
END_TEST

START_TEST(template_check)
{
    ck_assert_ptr_null(lf_alert_check_template("{\"text\": \"{{text}}\"}"));
    ck_assert_ptr_null(lf_alert_check_template("{\"n\": {{count}}, \"k\": \"{{kind}}\"}"));
    ck_assert_ptr_nonnull(lf_alert_check_template("{\"text\": {{text}}}"));
    ck_assert_ptr_nonnull(lf_alert_check_template("text: {{text}}"));
    ck_assert_ptr_nonnull(lf_alert_check_template("{\"a\": 1} {\"b\": 2}"));
    ck_assert_ptr_nonnull(lf_alert_check_template("[1]"));
    ck_assert_ptr_nonnull(lf_alert_check_template(""));
    struct lf_alerts_conf c = {.webhook = "ftp://h/x"};
    ck_assert_ptr_nonnull(lf_alert_check_conf(&c));
    c.webhook = "https://h/x";
    ck_assert_ptr_null(lf_alert_check_conf(&c));
    c.body_template = "{\"a\": {{text}}}";
    ck_assert_ptr_nonnull(lf_alert_check_conf(&c));
}
END_TEST

START_TEST(redact)
{
    char buf[128];
    lf_alert_redact("https://hooks.slack.com/services/T0/B0/secret", buf, sizeof(buf));
    ck_assert_str_eq(buf, "https://hooks.slack.com/...");
    lf_alert_redact("http://user:pw@127.0.0.1:8080/x?token=s", buf, sizeof(buf));
    ck_assert_str_eq(buf, "http://127.0.0.1:8080/...");
    lf_alert_redact("no scheme/secret", buf, sizeof(buf));
    ck_assert_str_eq(buf, "(webhook)");
    ck_assert_str_eq(lf_alert_kind_name(LF_ALERT_SPOOL_DROP), "spool_drop");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alert");
    TCase *tc = tcase_create("alert");
    tcase_add_test(tc, watch_deltas);
    tcase_add_test(tc, watch_spool_edge);
    tcase_add_test(tc, groups_rate_limit);
    tcase_add_test(tc, render_default_and_template);
    tcase_add_test(tc, template_check);
    tcase_add_test(tc, redact);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
