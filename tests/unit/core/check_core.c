/* check_core.c - ack tracker, checkpoint store, plugin loader, templates, JSON escaping. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_acktrack.h"
#include "lf_buf.h"
#include "lf_ckpt.h"
#include "lf_plugin_loader.h"
#include "lf_rec.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

/* ---- ack tracker ---- */

static size_t released;

static void count_release(void *ctx, struct lf_rec *r)
{
    released++;
    free(r);
}

static struct lf_rec *mkrec(uint64_t start, uint64_t end, uint32_t routes)
{
    struct lf_rec *r = calloc(1, sizeof(*r) + 1);
    r->start_offset = start;
    r->end_offset = end;
    r->route_mask = routes;
    r->pub.payload = r->payload;
    return r;
}

START_TEST(test_track_out_of_order)
{
    struct lf_track_file t;
    lf_track_init(&t, 0);
    released = 0;
    struct lf_rec *r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = mkrec((uint64_t)i * 10, (uint64_t)i * 10 + 10, 1);
        lf_track_push(&t, r[i]);
    }
    r[2]->done_mask = 1;
    r[1]->done_mask = 1;
    ck_assert_uint_eq(lf_track_advance(&t, count_release, NULL), 0);
    ck_assert_uint_eq(t.committed, 0);
    r[0]->done_mask = 1;
    ck_assert_uint_eq(lf_track_advance(&t, count_release, NULL), 3);
    ck_assert_uint_eq(t.committed, 30);
    ck_assert_uint_eq(t.pending, 1);
    r[3]->done_mask = 1;
    lf_track_advance(&t, count_release, NULL);
    ck_assert_uint_eq(t.committed, 40);
    ck_assert_uint_eq(released, 4);
}
END_TEST

START_TEST(test_track_two_outputs)
{
    struct lf_track_file t;
    lf_track_init(&t, 100);
    released = 0;
    struct lf_rec *r = mkrec(100, 150, 3); /* routed to outputs 0 and 1 */
    lf_track_push(&t, r);
    r->done_mask = 1;
    lf_track_advance(&t, count_release, NULL);
    ck_assert_uint_eq(t.committed, 100); /* output 1 still owes it */
    r->done_mask |= 2;
    lf_track_advance(&t, count_release, NULL);
    ck_assert_uint_eq(t.committed, 150);
}
END_TEST

START_TEST(test_track_skip_filtered)
{
    struct lf_track_file t;
    lf_track_init(&t, 0);
    released = 0;
    ck_assert_int_eq(lf_track_skip(&t, 5), LF_OK); /* nothing pending: moves at once */
    ck_assert_uint_eq(t.committed, 5);
    struct lf_rec *r = mkrec(5, 10, 1);
    lf_track_push(&t, r);
    ck_assert_int_eq(lf_track_skip(&t, 20), LF_OK); /* behind a pending record: waits */
    ck_assert_int_eq(lf_track_skip(&t, 30), LF_OK);
    ck_assert_uint_eq(t.pending, 2); /* the two skips share one marker */
    lf_track_advance(&t, count_release, NULL);
    ck_assert_uint_eq(t.committed, 5);
    r->done_mask = 1; /* e.g. dead-lettered after a permanent failure */
    lf_track_advance(&t, count_release, NULL);
    ck_assert_uint_eq(t.committed, 30);
    ck_assert_uint_eq(t.pending, 0);
}
END_TEST

/* ---- checkpoint store ---- */

static char tmpdir[64];

static void setup_dir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lfck-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_dir(void)
{
    ck_assert_int_eq(lft_rmtree(tmpdir), 0);
}

static const struct lf_file_id ID1 = {.dev = 1, .ino = 42, .fp_hash = 0xabc, .fp_len = 10};

START_TEST(test_ckpt_roundtrip)
{
    struct lf_ckpt_store *s;
    char err[512];
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_OK);
    ck_assert_int_eq(lf_ckpt_set(s, &ID1, "/var/log/a b%.log", 1234), LF_OK);
    ck_assert_int_eq(lf_ckpt_save(s), LF_OK);
    lf_ckpt_close(s);
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_OK);
    struct lf_ckpt_entry *e = lf_ckpt_find(s, 1, 42);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->offset, 1234);
    ck_assert_uint_eq(e->id.fp_hash, 0xabc);
    ck_assert_str_eq(e->path, "/var/log/a b%.log");
    lf_ckpt_close(s);
}
END_TEST

START_TEST(test_ckpt_crash_before_rename)
{
    struct lf_ckpt_store *s;
    char err[512];
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_OK);
    lf_ckpt_set(s, &ID1, "/a", 100);
    ck_assert_int_eq(lf_ckpt_save(s), LF_OK);
    lf_ckpt_set(s, &ID1, "/a", 200);
    ck_assert_int_eq(lf_ckpt_write_temp_only(s), LF_OK); /* "crash" before rename */
    lf_ckpt_close(s);
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_OK);
    ck_assert_uint_eq(lf_ckpt_find(s, 1, 42)->offset, 100);
    lf_ckpt_close(s);
}
END_TEST

START_TEST(test_ckpt_corrupt_is_reported)
{
    struct lf_ckpt_store *s;
    char err[512], path[128];
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_OK);
    lf_ckpt_set(s, &ID1, "/a", 100);
    ck_assert_int_eq(lf_ckpt_save(s), LF_OK);
    lf_ckpt_close(s);
    snprintf(path, sizeof(path), "%s/checkpoints", tmpdir);
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "9", 1, 30), 1); /* flip a digit of the entry */
    close(fd);
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_ECORRUPT);
    ck_assert_msg(strstr(err, "is corrupt (checksum mismatch)") && strstr(err, "move the file"),
                  "%s", err);
    ck_assert_int_eq(truncate(path, 20), 0); /* a torn file */
    ck_assert_int_eq(lf_ckpt_open(tmpdir, &s, err, sizeof(err)), LF_ECORRUPT);
}
END_TEST

/* ---- plugin loader ---- */

static const char *plugin_dir(void)
{
    const char *d = getenv("LF_TEST_PLUGIN_DIR");
    return d ? d : ".";
}

START_TEST(test_plugin_builtin)
{
    struct lf_plugin_handle h;
    char err[512];
    ck_assert_int_eq(lf_plugin_load(plugin_dir(), "file", &h, err, sizeof(err)), LF_OK);
    ck_assert_str_eq(h.desc->name, "file");
    lf_plugin_unload(&h);
}
END_TEST

START_TEST(test_plugin_missing_file)
{
    struct lf_plugin_handle h;
    char err[512];
    ck_assert_int_eq(lf_plugin_load(plugin_dir(), "absent", &h, err, sizeof(err)), LF_ENOTFOUND);
    ck_assert_msg(strstr(err, "plugin 'absent' not found") && strstr(err, "out_absent.so"), "%s",
                  err);
}
END_TEST

START_TEST(test_plugin_missing_symbol)
{
    struct lf_plugin_handle h;
    char err[512];
    ck_assert_int_eq(lf_plugin_load(plugin_dir(), "nosym", &h, err, sizeof(err)), LF_ENOTFOUND);
    ck_assert_msg(strstr(err, "does not export lf_output_plugin_entry()"), "%s", err);
}
END_TEST

START_TEST(test_plugin_wrong_abi)
{
    struct lf_plugin_handle h;
    char err[512], want[128];
    ck_assert_int_eq(lf_plugin_load(plugin_dir(), "badabi", &h, err, sizeof(err)), LF_EABI);
    snprintf(want, sizeof(want), "built for plugin ABI version %d, this agent has version %d",
             LF_PLUGIN_ABI_VERSION + 1, LF_PLUGIN_ABI_VERSION);
    ck_assert_msg(strstr(err, want), "%s", err);
}
END_TEST

START_TEST(test_plugin_wrong_name)
{
    struct lf_plugin_handle h;
    char err[512];
    ck_assert_int_eq(lf_plugin_load(plugin_dir(), "wrongname", &h, err, sizeof(err)), LF_EABI);
    ck_assert_msg(strstr(err, "calls itself 'somethingelse', expected 'wrongname'"), "%s", err);
}
END_TEST

/* ---- templates and fields ---- */

START_TEST(test_template_render)
{
    struct lf_record r = {
        .payload = "{\"type\":\"request\",\"service.name\":\"or\\\"der\","
                   "\"http.response.status_code\":503,\"x\":\"\\\"service.name\\\":1\"}",
        .type = LF_TYPE_REQUEST,
    };
    struct lf_template *t;
    char err[128], buf[128];
    ck_assert_int_eq(lf_template_compile("logs.{{type}}.{{ service.name }}-{{http.response."
                                         "status_code}}{{missing}}",
                                         &t, err, sizeof(err)),
                     LF_OK);
    ck_assert_int_eq(lf_template_is_constant(t), 0);
    lf_template_render(t, &r, buf, sizeof(buf));
    ck_assert_str_eq(buf, "logs.request.or\"der-503");
    lf_template_destroy(t);
    ck_assert_int_eq(lf_template_compile("a{{b", &t, err, sizeof(err)), LF_EINVAL);
    ck_assert(strstr(err, "never closed"));
}
END_TEST

START_TEST(test_json_escape)
{
    struct lf_buf b;
    lf_buf_init(&b, 0);
    const char in[] = "a\"\\\n\x01\xff\xc3\xa9\xed\xb9\xa4z";
    ck_assert_int_eq(lf_buf_append_json_escaped(&b, in, sizeof(in) - 1), LF_OK);
    ck_assert_str_eq(b.data, "a\\\"\\\\\\n\\u0001\\u00ff\xc3\xa9\\u00ed\\u00b9\\u00a4z");
    lf_buf_fini(&b);
    lf_buf_init(&b, 4);
    ck_assert_int_eq(lf_buf_append(&b, "12345", 5), LF_ETOOBIG);
    lf_buf_fini(&b);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *t = tcase_create("acktrack");
    tcase_add_test(t, test_track_out_of_order);
    tcase_add_test(t, test_track_two_outputs);
    tcase_add_test(t, test_track_skip_filtered);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("checkpoint");
    tcase_add_checked_fixture(c, setup_dir, teardown_dir);
    tcase_add_test(c, test_ckpt_roundtrip);
    tcase_add_test(c, test_ckpt_crash_before_rename);
    tcase_add_test(c, test_ckpt_corrupt_is_reported);
    suite_add_tcase(s, c);
    TCase *p = tcase_create("plugin");
    tcase_add_test(p, test_plugin_builtin);
    tcase_add_test(p, test_plugin_missing_file);
    tcase_add_test(p, test_plugin_missing_symbol);
    tcase_add_test(p, test_plugin_wrong_abi);
    tcase_add_test(p, test_plugin_wrong_name);
    suite_add_tcase(s, p);
    TCase *m = tcase_create("misc");
    tcase_add_test(m, test_template_render);
    tcase_add_test(m, test_json_escape);
    suite_add_tcase(s, m);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
