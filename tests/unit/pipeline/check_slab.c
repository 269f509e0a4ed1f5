/* check_slab.c - lf_slab: objects carved from chunks, chunks freed with their last object,
 * and the held counter equal to the bytes of the chunks that hold a live object. Run under
 * ASan, a chunk freed too early is a use after free and one never freed a leak. */
#include <check.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_failalloc.h"
#include "lf_slab.h"

#define CHUNK 4096
#define OBJ   100

START_TEST(objects_share_a_chunk_until_it_is_full)
{
    size_t held = 0;
    struct lf_slab s;
    lf_slab_init(&s, CHUNK, &held);
    ck_assert_uint_eq(held, 0);
    char *v[200];
    for (int i = 0; i < 200; i++) {
        v[i] = lf_slab_alloc(&s, OBJ);
        ck_assert_ptr_nonnull(v[i]);
        ck_assert_uint_eq((uintptr_t)v[i] % alignof(max_align_t), 0);
        memset(v[i], i, OBJ);
    }
    /* 200 objects of 128 bytes with their headers: at least 7 chunks of 4 KiB, pinned. */
    ck_assert_uint_ge(held, 7 * CHUNK);
    ck_assert_uint_eq(held % CHUNK, 0);
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(v[i][0], (char)i);
        ck_assert_int_eq(v[i][OBJ - 1], (char)i);
    }
    size_t before = held;
    lf_slab_free(v[0]); /* the first chunk still holds others */
    ck_assert_uint_eq(held, before);
    for (int i = 1; i < 200; i++) {
        lf_slab_free(v[i]);
    }
    ck_assert_uint_eq(held, 0);
    lf_slab_fini(&s);
}
END_TEST

START_TEST(empty_current_chunk_starts_over)
{
    size_t held = 0;
    struct lf_slab s;
    lf_slab_init(&s, CHUNK, &held);
    void *a = lf_slab_alloc(&s, OBJ);
    ck_assert_uint_eq(held, CHUNK);
    lf_slab_free(a);
    ck_assert_uint_eq(held, 0);
    void *b = lf_slab_alloc(&s, OBJ); /* a low rate: one chunk used over and over */
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(held, CHUNK);
    lf_slab_free(b);
    lf_slab_fini(&s);
    lf_slab_free(NULL);
}
END_TEST

START_TEST(objects_outlive_their_slab)
{
    size_t held = 0;
    struct lf_slab s;
    lf_slab_init(&s, CHUNK, &held);
    char *a = lf_slab_alloc(&s, OBJ);
    char *b = lf_slab_alloc(&s, OBJ);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    snprintf(b, OBJ, "still here");
    lf_slab_fini(&s); /* a router replaced by a reload: its records are in flight */
    ck_assert_uint_eq(held, CHUNK);
    lf_slab_free(a);
    ck_assert_str_eq(b, "still here");
    ck_assert_uint_eq(held, CHUNK);
    lf_slab_free(b); /* the chunk goes with its last object (ASan: no leak) */
    ck_assert_uint_eq(held, 0);
}
END_TEST

START_TEST(large_object_gets_its_own_chunk)
{
    size_t held = 0;
    struct lf_slab s;
    lf_slab_init(&s, CHUNK, &held);
    char *small = lf_slab_alloc(&s, OBJ);
    char *big = lf_slab_alloc(&s, 10000);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 10000);
    ck_assert_uint_gt(held, CHUNK + 10000);
    lf_slab_free(big);
    ck_assert_uint_eq(held, CHUNK);
    char *next = lf_slab_alloc(&s, OBJ); /* the current chunk was not closed by the big one */
    ck_assert_ptr_eq(next, small + 128);
    lf_slab_free(small);
    lf_slab_free(next);
    ck_assert_uint_eq(held, 0);
    lf_slab_fini(&s);
}
END_TEST

START_TEST(out_of_memory_returns_null_and_keeps_the_slab)
{
    size_t held = 0;
    struct lf_slab s;
    lf_slab_init(&s, CHUNK, &held);
    void *keep[40];
    int n = 0;
    lf_failalloc_arm(0, 1);
    ck_assert_ptr_null(lf_slab_alloc(&s, OBJ));
    lf_failalloc_disarm();
    ck_assert_uint_eq(held, 0);
    while (n < 40 && (keep[n] = lf_slab_alloc(&s, OBJ)) != NULL) {
        n++;
        if (n == 20) {
            lf_failalloc_arm(0, 1); /* the next chunk cannot be had */
        }
    }
    lf_failalloc_disarm();
    ck_assert_int_gt(n, 20);
    ck_assert_int_lt(n, 40);
    for (int i = 0; i < n; i++) {
        lf_slab_free(keep[i]);
    }
    ck_assert_uint_eq(held, 0);
    ck_assert_ptr_null(lf_slab_alloc(&s, SIZE_MAX - 8));
    lf_slab_fini(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("slab");
    TCase *tc = tcase_create("slab");
    tcase_add_test(tc, objects_share_a_chunk_until_it_is_full);
    tcase_add_test(tc, empty_current_chunk_starts_over);
    tcase_add_test(tc, objects_outlive_their_slab);
    tcase_add_test(tc, large_object_gets_its_own_chunk);
    tcase_add_test(tc, out_of_memory_returns_null_and_keeps_the_slab);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
