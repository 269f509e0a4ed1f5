/* check_tail.c - the tail in-process: identity and fingerprint rule, line splitting
 * (CRLF, partial last line, over-long lines), truncation, rotation, checkpoint resume
 * (also of a file rotated while stopped). No inotify: changes are signalled with
 * lf_tail_mark_readable(t, -1), which also rescans the globs.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "lf_ckpt.h"
#include "lf_conf.h"
#include "logferry/lf_err.h"
#include "tail.h"

struct fx {
    char dir[128];
    char path[192];
    struct lf_config *cfg;
    struct lf_ckpt_store *ckpt;
    struct lf_log_ctx log;
    struct lf_tail *t;
    char got[64][256]; /* records */
    uint64_t start[64];
    unsigned flags[64];
    int n;
};

static int capture(void *ctx, struct lf_tail_file *f, const char *text, size_t len, uint64_t start,
                   uint64_t end, unsigned flags)
{
    struct fx *x = ctx;
    ck_assert_int_lt(x->n, 64);
    snprintf(x->got[x->n], sizeof(x->got[0]), "%.*s", (int)len, text);
    x->start[x->n] = start;
    x->flags[x->n] = flags;
    x->n++;
    return lf_track_skip(&f->track, end); /* acknowledged at once */
}

static void fx_init(struct fx *x, const char *extra)
{
    memset(x, 0, sizeof(*x));
    snprintf(x->dir, sizeof(x->dir), "/tmp/lf-unit-tail-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(x->dir));
    snprintf(x->path, sizeof(x->path), "%s/app.log", x->dir);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "agent: {state_dir: %s}\n"
             "inputs: [{name: i, paths: ['%s/*.log'], rotate_wait: 0s, partial_timeout: 0s, "
             "max_line_bytes: 64%s}]\n"
             "outputs: [{name: o, plugin: stdout}]\n",
             x->dir, x->dir, extra ? extra : "");
    struct lf_diag d;
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_eq(lf_conf_load_string(yaml, "t.yaml", NULL, &d, &x->cfg), LF_OK);
    lf_diag_fini(&d);
    char err[256];
    ck_assert_int_eq(lf_ckpt_open(x->dir, &x->ckpt, err, sizeof(err)), LF_OK);
    x->log.prefix = "[tail-test]";
    x->log.level = LF_LOG_ERROR;
}

static void fx_open(struct fx *x)
{
    ck_assert_int_eq(
        lf_tail_create(lf_conf_input(x->cfg, 0), 0, x->ckpt, -1, capture, x, &x->log, &x->t),
        LF_OK);
}

static void fx_close_tail(struct fx *x)
{
    lf_tail_destroy(x->t);
    x->t = NULL;
}

static void fx_fini(struct fx *x)
{
    fx_close_tail(x);
    lf_ckpt_close(x->ckpt);
    lf_conf_free(x->cfg);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *path, const char *s, int flags)
{
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    close(fd);
}

static void pump(struct fx *x)
{
    bool more = true;
    lf_tail_mark_readable(x->t, -1);
    for (int i = 0; i < 100 && more; i++) {
        ck_assert_int_eq(lf_tail_read(x->t, 1 << 20, &more), LF_OK);
    }
}

/* ---- identity ----------------------------------------------------------------------- */

START_TEST(identify_small_and_large)
{
    struct fx x;
    fx_init(&x, NULL);
    struct lf_file_id id;
    uint64_t size;
    put(x.path, "abc", O_TRUNC);
    int fd = open(x.path, O_RDONLY);
    ck_assert_int_eq(lf_tail_identify(fd, &id, &size), LF_OK);
    ck_assert_uint_eq(id.fp_len, 3);
    ck_assert_uint_eq(size, 3);
    ck_assert(id.fp_hash == XXH64("abc", 3, 0));
    /* appends keep the identity: the first fp_len bytes are unchanged */
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    put(x.path, big, O_APPEND);
    ck_assert(lf_tail_id_matches(fd, &id));
    struct lf_file_id id2;
    ck_assert_int_eq(lf_tail_identify(fd, &id2, &size), LF_OK);
    ck_assert_uint_eq(id2.fp_len, LF_TAIL_FP_MAX);
    close(fd);
    fx_fini(&x);
}
END_TEST

START_TEST(identity_detects_rewrite_and_reuse)
{
    struct fx x;
    fx_init(&x, NULL);
    struct lf_file_id id;
    uint64_t size;
    put(x.path, "first content\n", O_TRUNC);
    int fd = open(x.path, O_RDONLY);
    ck_assert_int_eq(lf_tail_identify(fd, &id, &size), LF_OK);
    /* same inode, other bytes (truncate + rewrite, or an inode reused by a new file) */
    put(x.path, "other content, longer than before\n", O_TRUNC);
    ck_assert(!lf_tail_id_matches(fd, &id));
    /* same bytes, other inode */
    struct lf_file_id other = id;
    other.ino++;
    put(x.path, "first content\n", O_TRUNC);
    ck_assert(lf_tail_id_matches(fd, &id));
    ck_assert(!lf_tail_id_matches(fd, &other));
    /* shorter than the fingerprint: not the same file */
    put(x.path, "first", O_TRUNC);
    ck_assert(!lf_tail_id_matches(fd, &id));
    close(fd);
    fx_fini(&x);
}
END_TEST

/* ---- lines -------------------------------------------------------------------------- */

START_TEST(lines_crlf_and_partial)
{
    struct fx x;
    fx_init(&x, NULL);
    put(x.path, "a\r\nb\npart", O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(x.n, 2);
    ck_assert_str_eq(x.got[0], "a");
    ck_assert_str_eq(x.got[1], "b");
    ck_assert_uint_eq(x.start[1], 3);
    /* the partial line waits for its newline, also across ticks of a live file */
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    ck_assert_int_eq(x.n, 2);
    put(x.path, "ial\n", O_APPEND);
    pump(&x);
    ck_assert_int_eq(x.n, 3);
    ck_assert_str_eq(x.got[2], "partial");
    ck_assert_uint_eq(x.start[2], 5);
    fx_fini(&x);
}
END_TEST

/* At shutdown a partial line older than partial_timeout (0 here) is emitted. */
START_TEST(shutdown_emits_partial)
{
    struct fx x;
    fx_init(&x, NULL);
    put(x.path, "done\nhalf", O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(lf_tail_flush_pending(x.t, 0, true), LF_OK);
    ck_assert_int_eq(x.n, 2);
    ck_assert_str_eq(x.got[1], "half");
    ck_assert_uint_eq(x.t->files[0]->track.committed, 9);
    fx_fini(&x);
}
END_TEST

START_TEST(lines_overlong_truncated)
{
    struct fx x;
    fx_init(&x, NULL);
    char line[300];
    memset(line, 'x', 200);
    snprintf(line + 200, sizeof(line) - 200, "\nnext\n");
    put(x.path, line, O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(x.n, 2);
    ck_assert_uint_eq(strlen(x.got[0]), 64);
    ck_assert(x.flags[0] & LF_ML_TRUNCATED);
    ck_assert_str_eq(x.got[1], "next");
    ck_assert_uint_eq(x.start[1], 201);
    fx_fini(&x);
}
END_TEST

START_TEST(empty_file_gets_fingerprint_later)
{
    struct fx x;
    fx_init(&x, NULL);
    put(x.path, "", O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_uint_eq(x.t->files[0]->id.fp_len, 0);
    put(x.path, "hello\n", O_APPEND);
    pump(&x);
    ck_assert_int_eq(x.n, 1);
    ck_assert_uint_eq(x.t->files[0]->id.fp_len, 6);
    fx_fini(&x);
}
END_TEST

/* ---- truncation and rotation -------------------------------------------------------- */

START_TEST(truncation_regrown_past_offset)
{
    struct fx x;
    fx_init(&x, NULL);
    put(x.path, "one\ntwo\n", O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(x.n, 2);
    /* copytruncate, then more bytes than the old offset before we look */
    put(x.path, "three is longer\n", O_TRUNC);
    pump(&x);
    ck_assert_int_eq(x.n, 3);
    ck_assert_str_eq(x.got[2], "three is longer");
    ck_assert_uint_eq(x.start[2], 0);
    ck_assert_uint_eq(x.t->stats.truncations, 1);
    /* the retired identity goes at the next tick (nothing pending) */
    ck_assert_int_eq(lf_tail_tick(x.t, 0), LF_OK);
    ck_assert_uint_eq(x.t->nfiles, 1);
    fx_fini(&x);
}
END_TEST

START_TEST(rotation_rename_create)
{
    struct fx x;
    char old[256];
    fx_init(&x, NULL);
    snprintf(old, sizeof(old), "%s.1", x.path);
    put(x.path, "a1\n", O_TRUNC);
    fx_open(&x);
    pump(&x);
    int w = open(x.path, O_WRONLY | O_APPEND); /* the application's handle */
    ck_assert_int_eq(rename(x.path, old), 0);
    put(x.path, "b1\n", O_TRUNC);
    ck_assert_int_eq(write(w, "a2\npart", 7), 7); /* through the old handle */
    close(w);
    pump(&x);
    ck_assert_int_eq(x.n, 3);
    ck_assert_uint_eq(x.t->stats.rotations, 1);
    ck_assert_uint_eq(x.t->nfiles, 2);
    /* rotated away and at EOF: the partial line is emitted after partial_timeout, then
     * the file is released */
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    ck_assert_int_eq(x.n, 4);
    ck_assert_str_eq(x.got[3], "part");
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    ck_assert_uint_eq(x.t->nfiles, 1);
    ck_assert_uint_eq(x.t->stats.files_released, 1);
    fx_fini(&x);
}
END_TEST

/* ---- checkpoints -------------------------------------------------------------------- */

START_TEST(resume_and_rotated_while_stopped)
{
    struct fx x;
    char old[256];
    fx_init(&x, NULL);
    snprintf(old, sizeof(old), "%s.1", x.path);
    put(x.path, "l1\nl2\n", O_TRUNC);
    fx_open(&x);
    pump(&x);
    lf_tail_checkpoint(x.t);
    fx_close_tail(&x);
    /* stopped: more lines, then rotation, then a new file */
    put(x.path, "l3\n", O_APPEND);
    ck_assert_int_eq(rename(x.path, old), 0);
    put(x.path, "n1\n", O_TRUNC);
    x.n = 0;
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(x.n, 2);
    bool l3 = strcmp(x.got[0], "l3") == 0 || strcmp(x.got[1], "l3") == 0;
    bool n1 = strcmp(x.got[0], "n1") == 0 || strcmp(x.got[1], "n1") == 0;
    ck_assert(l3 && n1);
    fx_fini(&x);
}
END_TEST

START_TEST(start_at_end_only_without_checkpoint)
{
    struct fx x;
    fx_init(&x, ", start_at: end");
    put(x.path, "old\n", O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(x.n, 0);
    put(x.path, "new\n", O_APPEND);
    char b[256];
    snprintf(b, sizeof(b), "%s/b.log", x.dir);
    put(b, "b-from-0\n", O_TRUNC); /* appeared later: from 0 */
    pump(&x);
    ck_assert_int_eq(x.n, 2);
    fx_fini(&x);
}
END_TEST

START_TEST(prune_forgets_released)
{
    struct fx x;
    char old[256];
    fx_init(&x, ", forget_after: 0s");
    snprintf(old, sizeof(old), "%s/app.old", x.dir);
    put(x.path, "a\n", O_TRUNC);
    fx_open(&x);
    pump(&x);
    lf_tail_checkpoint(x.t);
    ck_assert_uint_eq(x.ckpt->n, 1);
    ck_assert_int_eq(rename(x.path, old), 0);
    pump(&x);
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK); /* released, rescan prunes */
    ck_assert_uint_eq(x.t->nfiles, 0);
    ck_assert_uint_eq(x.ckpt->n, 0);
    fx_fini(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tail");
    TCase *tc = tcase_create("identity");
    tcase_add_test(tc, identify_small_and_large);
    tcase_add_test(tc, identity_detects_rewrite_and_reuse);
    tcase_add_test(tc, empty_file_gets_fingerprint_later);
    suite_add_tcase(s, tc);
    tc = tcase_create("lines");
    tcase_add_test(tc, lines_crlf_and_partial);
    tcase_add_test(tc, lines_overlong_truncated);
    tcase_add_test(tc, shutdown_emits_partial);
    suite_add_tcase(s, tc);
    tc = tcase_create("rotation");
    tcase_add_test(tc, truncation_regrown_past_offset);
    tcase_add_test(tc, rotation_rename_create);
    suite_add_tcase(s, tc);
    tc = tcase_create("checkpoints");
    tcase_add_test(tc, resume_and_rotated_while_stopped);
    tcase_add_test(tc, start_at_end_only_without_checkpoint);
    tcase_add_test(tc, prune_forgets_released);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
