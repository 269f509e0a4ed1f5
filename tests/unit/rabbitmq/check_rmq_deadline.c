/* check_rmq_deadline.c - the RabbitMQ plugin's deadline helper (rabbitmq_deadline.c). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "rabbitmq_deadline.h"

START_TEST(test_timeval_conversion)
{
    struct timeval tv = rmq_timeval_ms(1500);
    ck_assert_int_eq(tv.tv_sec, 1);
    ck_assert_int_eq(tv.tv_usec, 500000);
    tv = rmq_timeval_ms(999);
    ck_assert_int_eq(tv.tv_sec, 0);
    ck_assert_int_eq(tv.tv_usec, 999000);
    tv = rmq_timeval_ms(-5);
    ck_assert_int_eq(tv.tv_sec, 0);
    ck_assert_int_eq(tv.tv_usec, 0);
}
END_TEST

START_TEST(test_deadline_left_and_passed)
{
    int64_t d = rmq_deadline_in(10000);
    ck_assert(!rmq_deadline_passed(d));
    ck_assert_int_gt(rmq_deadline_left_ms(d), 9000);
    ck_assert_int_le(rmq_deadline_left_ms(d), 10000);
    int64_t past = rmq_deadline_in(-100); /* negative: due now */
    ck_assert(rmq_deadline_passed(past));
    ck_assert_int_eq(rmq_deadline_left_ms(past), 0);
    ck_assert_int_eq(rmq_deadline_left_ms(rmq_now_ms() - 50), 0);
}
END_TEST

/* A timed wait that nobody signals returns after about ms, including across the
 * nanosecond carry (999 ms) and for 0 (returns at once). */
START_TEST(test_cond_wait_times_out)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    ck_assert_int_eq(rmq_cond_init(&cond), 0);
    pthread_mutex_lock(&mu);
    int64_t waits[] = {0, 30, 999};
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        int64_t t0 = rmq_now_ms();
        rmq_cond_wait_ms(&cond, &mu, waits[i]);
        int64_t took = rmq_now_ms() - t0;
        /* a spurious wakeup could end it early; none is expected here */
        ck_assert_int_ge(took, waits[i] - 1);
        ck_assert_int_lt(took, waits[i] + 500);
    }
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cond);
}
END_TEST

static Suite *deadline_suite(void)
{
    Suite *s = suite_create("rmq-deadline");
    TCase *tc = tcase_create("deadline");
    tcase_add_test(tc, test_timeval_conversion);
    tcase_add_test(tc, test_deadline_left_and_passed);
    tcase_add_test(tc, test_cond_wait_times_out);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(deadline_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
