/* check_ckpt.c - checkpoint store error paths: allocation failures (lf_failalloc) while
 * saving and loading, and the path decoder at the exact end of its input (run under ASan).
 *
 * The happy paths (round trip, crash before rename, corruption) are in check_core.c.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_ckpt.h"
#include "lf_failalloc.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

#define ENTRIES 8

static char tmpdir[64];

static void setup_dir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lfckpt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_dir(void)
{
    lf_failalloc_disarm();
    ck_assert_int_eq(lft_rmtree(tmpdir), 0);
}

/* The whole checkpoint file, NUL-terminated (caller frees), or NULL if absent. */
static char *read_ckpt_file(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return NULL;
    }
    char *data = calloc(1, 65536);
    ck_assert_ptr_nonnull(data);
    size_t n = fread(data, 1, 65535, fp);
    ck_assert_uint_lt(n, 65535);
    fclose(fp);
    return data;
}

/* A store with ENTRIES entries whose paths are long enough that rendering them grows the
 * buffer several times, all at `offset`. */
static struct lf_ckpt_store *open_filled(uint64_t offset)
{
    struct lf_ckpt_store *s;
    char err[512];
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_OK);
    for (uint64_t i = 0; i < ENTRIES; i++) {
        struct lf_file_id id = {.dev = 1, .ino = 100 + i, .fp_hash = 0xabc, .fp_len = 10};
        char path[160];
        snprintf(path, sizeof(path), "/var/log/app/a-rather-long-directory-name/%%file %02u.log",
                 (unsigned)i);
        ck_assert_int_eq(lf_ckpt_set(s, &id, path, offset), LF_OK);
    }
    return s;
}

/* Every allocation the renderer makes can fail: each failure must fail the save with
 * LF_ENOMEM and leave the previous file byte for byte, with no temp file behind. */
START_TEST(test_ckpt_save_alloc_failure_keeps_old_file)
{
    struct lf_ckpt_store *s = open_filled(300);
    /* Check's assertions allocate too: count around the call only. */
    uint64_t before = lf_failalloc_calls();
    int rc = lf_ckpt_save(s);
    uint64_t per_save = lf_failalloc_calls() - before;
    ck_assert_int_eq(rc, LF_OK);
    ck_assert_uint_gt(per_save, 2); /* the paths make the buffer grow */
    char *old = read_ckpt_file(LF_CKPT_FILE);
    ck_assert_ptr_nonnull(old);
    for (uint64_t i = 0; i < ENTRIES; i++) {
        struct lf_file_id id = {.dev = 1, .ino = 100 + i, .fp_hash = 0xabc, .fp_len = 10};
        ck_assert_int_eq(lf_ckpt_set(s, &id, lf_ckpt_find(s, 1, 100 + i)->path, 200), LF_OK);
    }
    for (uint64_t k = 0; k < per_save; k++) {
        lf_failalloc_arm(k, 1);
        rc = lf_ckpt_save(s);
        lf_failalloc_disarm();
        ck_assert_msg(rc == LF_ENOMEM, "allocation %llu of %llu failed: save returned %d",
                      (unsigned long long)k, (unsigned long long)per_save, rc);
        char *now = read_ckpt_file(LF_CKPT_FILE);
        ck_assert_ptr_nonnull(now);
        ck_assert_str_eq(now, old);
        free(now);
        ck_assert_ptr_null(read_ckpt_file(LF_CKPT_FILE ".tmp"));
    }
    ck_assert_int_eq(lf_ckpt_save(s), LF_OK); /* still dirty: the next save writes it */
    lf_ckpt_close(s);
    char err[512];
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_OK);
    ck_assert_uint_eq(s->n, ENTRIES);
    ck_assert_uint_eq(lf_ckpt_find(s, 1, 100)->offset, 200);
    lf_ckpt_close(s);
    free(old);
}
END_TEST

/* An allocation failure while loading is LF_ENOMEM, never LF_ECORRUPT: "corrupt" tells the
 * operator to move the file away, which would lose every offset. */
START_TEST(test_ckpt_open_alloc_failure_is_not_corrupt)
{
    struct lf_ckpt_store *s = open_filled(300);
    ck_assert_int_eq(lf_ckpt_save(s), LF_OK);
    lf_ckpt_close(s);
    char err[512];
    uint64_t before = lf_failalloc_calls();
    int rc = lf_ckpt_open(tmpdir, &s, err, sizeof(err));
    uint64_t per_open = lf_failalloc_calls() - before;
    ck_assert_int_eq(rc, LF_OK);
    lf_ckpt_close(s);
    ck_assert_uint_gt(per_open, ENTRIES); /* one path per entry at least */
    for (uint64_t k = 0; k < per_open; k++) {
        s = NULL;
        err[0] = '\0';
        lf_failalloc_arm(k, 1);
        rc = lf_ckpt_open(tmpdir, &s, err, sizeof(err));
        lf_failalloc_disarm();
        ck_assert_msg(rc == LF_ENOMEM, "allocation %llu of %llu failed: open returned %d (%s)",
                      (unsigned long long)k, (unsigned long long)per_open, rc, err);
        ck_assert_ptr_null(strstr(err, "corrupt"));
    }
}
END_TEST

/* Decodes exactly n bytes copied into a heap block of that size, so that ASan reports any
 * read past the entry. */
static int unescape_exact(const char *text, size_t n, char **out)
{
    char *exact = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, text, n);
    int rc = lf_ckpt_unescape_path(exact, n, out);
    free(exact);
    return rc;
}

START_TEST(test_ckpt_unescape_at_buffer_end)
{
    char *p = NULL;
    ck_assert_int_eq(unescape_exact("a%41", 4, &p), LF_OK); /* escape ends at the end */
    ck_assert_str_eq(p, "aA");
    free(p);
    ck_assert_int_eq(unescape_exact("/x%25%20", 8, &p), LF_OK);
    ck_assert_str_eq(p, "/x% ");
    free(p);
    ck_assert_int_eq(unescape_exact("", 0, &p), LF_OK);
    ck_assert_str_eq(p, "");
    free(p);
}
END_TEST

/* A cut escape must be rejected from the bytes of the entry alone: the byte after the
 * entry (here a hex digit) belongs to something else and must not be read. */
START_TEST(test_ckpt_unescape_cut_escape)
{
    char *p = NULL;
    ck_assert_int_eq(lf_ckpt_unescape_path("ab%4F", 4, &p), LF_ECORRUPT);
    ck_assert_int_eq(unescape_exact("ab%4", 4, &p), LF_ECORRUPT);
    ck_assert_int_eq(unescape_exact("ab%", 3, &p), LF_ECORRUPT);
    ck_assert_int_eq(unescape_exact("a%g1", 4, &p), LF_ECORRUPT);
    ck_assert_int_eq(unescape_exact("a% 1b", 5, &p), LF_ECORRUPT); /* no space skipping */
    ck_assert_int_eq(unescape_exact("a%+1b", 5, &p), LF_ECORRUPT); /* no sign */
}
END_TEST

static Suite *ckpt_suite(void)
{
    Suite *s = suite_create("ckpt");
    TCase *alloc = tcase_create("alloc-failure");
    tcase_add_checked_fixture(alloc, setup_dir, teardown_dir);
    tcase_add_test(alloc, test_ckpt_save_alloc_failure_keeps_old_file);
    tcase_add_test(alloc, test_ckpt_open_alloc_failure_is_not_corrupt);
    suite_add_tcase(s, alloc);
    TCase *path = tcase_create("path-decoding");
    tcase_add_test(path, test_ckpt_unescape_at_buffer_end);
    tcase_add_test(path, test_ckpt_unescape_cut_escape);
    suite_add_tcase(s, path);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ckpt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
