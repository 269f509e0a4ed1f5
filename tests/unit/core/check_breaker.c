/* check_breaker.c - circuit breaker transitions: threshold, probe, backoff, trip. */
#include <check.h>
#include <stdlib.h>

#include "lf_breaker.h"

START_TEST(test_opens_at_threshold_only_when_consecutive)
{
    struct lf_breaker b;
    lf_breaker_init(&b, 3, 1000, 8000);
    ck_assert(!lf_breaker_failure(&b, 0));
    ck_assert(!lf_breaker_failure(&b, 0));
    ck_assert(!lf_breaker_success(&b)); /* resets the count, stays closed */
    ck_assert(!lf_breaker_failure(&b, 0));
    ck_assert(!lf_breaker_failure(&b, 0));
    ck_assert_int_eq(b.state, LF_BREAKER_CLOSED);
    ck_assert(lf_breaker_failure(&b, 10));
    ck_assert_int_eq(b.state, LF_BREAKER_OPEN);
    ck_assert_uint_eq(b.opened, 1);
}
END_TEST

START_TEST(test_half_open_after_period_then_probe_decides)
{
    struct lf_breaker b;
    lf_breaker_init(&b, 1, 1000, 3000);
    ck_assert(lf_breaker_failure(&b, 0));
    ck_assert(!lf_breaker_poll(&b, 999));
    ck_assert(!lf_breaker_success(&b)); /* a late success does not close an open breaker */
    ck_assert_int_eq(b.state, LF_BREAKER_OPEN);
    ck_assert(lf_breaker_poll(&b, 1000));
    ck_assert_int_eq(b.state, LF_BREAKER_HALF_OPEN);
    /* failed probe: reopen for twice as long */
    ck_assert(lf_breaker_failure(&b, 1000));
    ck_assert_int_eq(b.state, LF_BREAKER_OPEN);
    ck_assert(!lf_breaker_poll(&b, 2999));
    ck_assert(lf_breaker_poll(&b, 3000));
    /* again: capped at max_open_for */
    ck_assert(lf_breaker_failure(&b, 3000));
    ck_assert_int_eq(b.open_ms, 3000);
    ck_assert(!lf_breaker_poll(&b, 5999));
    ck_assert(lf_breaker_poll(&b, 6000));
    /* successful probe closes and resets the period */
    ck_assert(lf_breaker_success(&b));
    ck_assert_int_eq(b.state, LF_BREAKER_CLOSED);
    ck_assert_int_eq(b.open_ms, 1000);
    ck_assert_uint_eq(b.opened, 3);
}
END_TEST

START_TEST(test_trip_opens_at_once_and_late_failures_are_ignored)
{
    struct lf_breaker b;
    lf_breaker_init(&b, 5, 100, 100);
    ck_assert(lf_breaker_trip(&b, 0));
    ck_assert_int_eq(b.state, LF_BREAKER_OPEN);
    ck_assert(!lf_breaker_trip(&b, 1));
    ck_assert(!lf_breaker_failure(&b, 1)); /* outcomes of records sent before it opened */
    ck_assert_int_eq(b.reopen_at_ms, 100);
    ck_assert(lf_breaker_poll(&b, 100));
    ck_assert(lf_breaker_trip(&b, 150)); /* a stalled probe reopens */
    ck_assert_int_eq(b.state, LF_BREAKER_OPEN);
    ck_assert_str_eq(lf_breaker_state_name(b.state), "open");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tcase_create("breaker");
    tcase_add_test(tc, test_opens_at_threshold_only_when_consecutive);
    tcase_add_test(tc, test_half_open_after_period_then_probe_decides);
    tcase_add_test(tc, test_trip_opens_at_once_and_late_failures_are_ignored);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
