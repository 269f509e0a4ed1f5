/* check_tail.c - the tail in-process: identity and fingerprint rule, line splitting
 * (CRLF, partial last line, over-long lines), truncation, rotation, checkpoint resume
 * (also of a file rotated while stopped), max_open_files and close_inactive (closing,
 * reopening, identity after rotation/truncation/deletion while closed), "**" patterns
 * and new directories. Most tests use no inotify: changes are signalled with
 * lf_tail_mark_readable(t, -1), which also rescans the globs; the inotify tests wait for
 * the kernel's events with poll(2).
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "lf_ckpt.h"
#include "lf_ckpt_policy.h"
#include "lf_conf.h"
#include "lf_testlib.h"
#include "lf_tracker.h"
#include "logferry/lf_err.h"
#include "tail.h"
#include "tail_int.h"

struct fx {
    char dir[128];
    char path[192];
    struct lf_config *cfg;
    struct lf_ckpt_store *ckpt;
    struct lf_tracker *tr; /* the real tracker and checkpoint policy behind the sink */
    struct lf_ckpt_policy cp;
    struct lf_log_ctx log;
    struct lf_tail *t;
    char got[64][256]; /* the first 64 records */
    uint64_t start[64];
    unsigned flags[64];
    int n;
    int inofd;
    /* lines "f<K> <SEQ>": per K the last SEQ, and how many were out of sequence */
    long last[16];
    int bad;
};

static int capture(void *ctx, const struct lf_tail_src *f, const char *text, size_t len,
                   uint64_t start, uint64_t end, unsigned flags)
{
    struct fx *x = ctx;
    if (x->n < 64) {
        snprintf(x->got[x->n], sizeof(x->got[0]), "%.*s", (int)len, text);
        x->start[x->n] = start;
        x->flags[x->n] = flags;
    }
    x->n++;
    int k;
    long seq;
    char line[64];
    snprintf(line, sizeof(line), "%.*s", (int)(len < 63 ? len : 63), text);
    if (sscanf(line, "f%d %ld", &k, &seq) == 2 && k >= 0 && k < 16) {
        x->bad += seq != x->last[k] + 1; /* lost, duplicated or reordered */
        x->last[k] = seq;
    }
    return lf_tracker_skip(x->tr, f->key, end); /* acknowledged at once */
}

/* glob: the input's pattern below the test directory. */
static void fx_init_glob(struct fx *x, const char *glob, const char *extra)
{
    memset(x, 0, sizeof(*x));
    x->inofd = -1;
    snprintf(x->dir, sizeof(x->dir), "/tmp/lf-unit-tail-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(x->dir));
    snprintf(x->path, sizeof(x->path), "%s/app.log", x->dir);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "agent: {state_dir: %s}\n"
             "inputs: [{name: i, paths: ['%s/%s'], rotate_wait: 0s, partial_timeout: 0s, "
             "max_line_bytes: 64%s}]\n"
             "outputs: [{name: o, plugin: stdout}]\n",
             x->dir, x->dir, glob, extra ? extra : "");
    struct lf_diag d;
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_eq(lf_conf_load_string(yaml, "t.yaml", NULL, &d, &x->cfg), LF_OK);
    lf_diag_fini(&d);
    char err[256];
    ck_assert_int_eq(lf_ckpt_open(x->dir, &x->ckpt, err, sizeof(err)), LF_OK);
    x->log.prefix = "[tail-test]";
    x->log.level = LF_LOG_ERROR;
    ck_assert_int_eq(lf_tracker_create(NULL, NULL, &x->tr), LF_OK); /* records: none */
    lf_ckpt_policy_init(&x->cp, x->ckpt, x->tr, 1000, &x->log, 0);
}

static void fx_init(struct fx *x, const char *extra)
{
    fx_init_glob(x, "*.log", extra);
}

static void fx_open(struct fx *x)
{
    struct lf_tail_sink sink = {.emit = capture, .emit_ctx = x};
    lf_ckpt_policy_sink(&x->cp, &sink);
    ck_assert_int_eq(
        lf_tail_create(lf_conf_input(x->cfg, 0), 0, x->ckpt, x->inofd, &sink, &x->log, &x->t),
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
    if (x->inofd >= 0) {
        close(x->inofd);
    }
    lf_tracker_destroy(x->tr);
    lf_ckpt_close(x->ckpt);
    lf_conf_free(x->cfg);
    ck_assert_int_eq(lft_rmtree(x->dir), 0);
}

static int64_t tail_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
    ck_assert_uint_eq(lf_tracker_committed(x.tr, x.t->files[0]->key), 9);
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

/* ---- open-file cap and idle close --------------------------------------------------- */

/* Reads until nothing is left, checking the cap after every turn. */
static void pump_capped(struct fx *x, size_t cap)
{
    bool more = true;
    lf_tail_mark_readable(x->t, -1);
    ck_assert_uint_le(x->t->nopen, cap);
    for (int i = 0; i < 10000 && more; i++) {
        ck_assert_int_eq(lf_tail_read(x->t, 4096, &more), LF_OK);
        ck_assert_uint_le(x->t->nopen, cap);
    }
    ck_assert(!more);
}

/* Reads without marking anything: only what events (or nothing) made readable. */
static void read_all(struct fx *x)
{
    bool more = true;
    for (int i = 0; i < 100 && more; i++) {
        ck_assert_int_eq(lf_tail_read(x->t, 1 << 20, &more), LF_OK);
    }
}

/* Waits (poll(2), up to 2 s) for inotify events, then hands every queued one to the tail.
 * Returns how many. */
static int drain_events(struct fx *x)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    struct pollfd p = {.fd = x->inofd, .events = POLLIN};
    int n = 0;
    ssize_t r;
    if (poll(&p, 1, 2000) <= 0) {
        return 0;
    }
    while ((r = read(x->inofd, buf, sizeof(buf))) > 0) {
        for (char *q = buf; q < buf + r;) {
            struct inotify_event *ev = (struct inotify_event *)q;
            lf_tail_on_inotify(x->t, ev);
            n++;
            q += sizeof(*ev) + ev->len;
        }
    }
    return n;
}

static void put_lines(const char *path, int k, long from, long to, int flags)
{
    char buf[8192];
    size_t len = 0;
    for (long i = from; i <= to; i++) {
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "f%d %ld\n", k, i);
        ck_assert_uint_lt(len, sizeof(buf) - 64);
    }
    buf[len] = '\0';
    put(path, buf, flags);
}

static void fpath(const struct fx *x, char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", x->dir, name);
    ck_assert(n > 0 && (size_t)n < cap);
}

static struct lf_tail_file *closed_file(const struct fx *x)
{
    for (size_t i = 0; i < x->t->nfiles; i++) {
        if (x->t->files[i]->fd < 0 && !x->t->files[i]->retired) {
            return x->t->files[i];
        }
    }
    return NULL;
}

START_TEST(max_open_files_caps_and_reads_all)
{
    struct fx x;
    char p[256], name[32];
    fx_init(&x, ", max_open_files: 2");
    for (int k = 0; k < 6; k++) {
        snprintf(name, sizeof(name), "f%d.log", k);
        fpath(&x, p, sizeof(p), name);
        put_lines(p, k, 1, 300, O_TRUNC);
    }
    fx_open(&x);
    ck_assert_uint_eq(x.t->nfiles, 6);
    pump_capped(&x, 2);
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(x.last[k], 300);
    }
    ck_assert_uint_gt(x.t->stats.files_closed, 0);
    /* more data in every file: the closed ones are reopened, one slot at a time */
    for (int k = 0; k < 6; k++) {
        snprintf(name, sizeof(name), "f%d.log", k);
        fpath(&x, p, sizeof(p), name);
        put_lines(p, k, 301, 320, O_APPEND);
    }
    pump_capped(&x, 2);
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(x.last[k], 320);
    }
    ck_assert_int_eq(x.bad, 0);
    ck_assert_uint_gt(x.t->stats.files_reopened, 0);
    ck_assert_uint_eq(x.t->stats.closed_gone, 0);
    fx_fini(&x);
}
END_TEST

/* The least recently active file is the one closed, and only once read to EOF. */
START_TEST(max_open_files_closes_least_recent)
{
    struct fx x;
    char a[256], b[256], c[256];
    fx_init(&x, ", max_open_files: 2");
    fpath(&x, a, sizeof(a), "f0.log");
    fpath(&x, b, sizeof(b), "f1.log");
    fpath(&x, c, sizeof(c), "f2.log");
    put_lines(a, 0, 1, 1, O_TRUNC);
    put_lines(b, 1, 1, 1, O_TRUNC);
    fx_open(&x);
    pump_capped(&x, 2);
    x.t->files[0]->last_data_ms -= 1000; /* f0 (or f1: glob order) is the idle one */
    struct lf_tail_file *idle = x.t->files[0];
    put_lines(c, 2, 1, 1, O_TRUNC);
    x.t->need_scan = true; /* as a directory event would: the open files stay at EOF */
    read_all(&x);
    ck_assert_uint_le(x.t->nopen, 2);
    ck_assert_int_eq(idle->fd, -1);
    ck_assert_int_ge(x.t->files[1]->fd, 0);
    ck_assert_int_eq(x.last[0] + x.last[1] + x.last[2], 3);
    /* its checkpoint went to the store when it was closed */
    struct lf_ckpt_entry *e = lf_ckpt_find(x.ckpt, idle->id.dev, idle->id.ino);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->offset, 5);
    fx_fini(&x);
}
END_TEST

/* A closed file renamed away (and a new file at its path) is found by identity and read
 * to its end; nothing lost, nothing read twice. */
START_TEST(closed_file_rotated_found_by_identity)
{
    struct fx x;
    char p[256], old[300], name[32];
    fx_init(&x, ", max_open_files: 1");
    for (int k = 0; k < 2; k++) {
        snprintf(name, sizeof(name), "f%d.log", k);
        fpath(&x, p, sizeof(p), name);
        put_lines(p, k, 1, 10, O_TRUNC);
    }
    fx_open(&x);
    pump_capped(&x, 1);
    struct lf_tail_file *cf = closed_file(&x);
    ck_assert_ptr_nonnull(cf);
    int k = strstr(cf->path, "f0.log") ? 0 : 1;
    snprintf(p, sizeof(p), "%s", cf->path);
    snprintf(old, sizeof(old), "%s.1", p);
    put_lines(p, k, 11, 20, O_APPEND); /* unread when it is rotated */
    ck_assert_int_eq(rename(p, old), 0);
    put_lines(p, k + 2, 1, 5, O_TRUNC);
    pump_capped(&x, 1);
    ck_assert_int_eq(x.last[k], 20);
    ck_assert_int_eq(x.last[k + 2], 5);
    ck_assert_int_eq(x.last[1 - k], 10);
    ck_assert_int_eq(x.bad, 0);
    ck_assert_uint_eq(x.t->stats.closed_gone, 0);
    ck_assert_uint_ge(x.t->stats.rotations, 1);
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK); /* released */
    ck_assert_uint_eq(x.t->nfiles, 2);
    fx_fini(&x);
}
END_TEST

START_TEST(close_inactive_closes_and_reopens)
{
    struct fx x;
    fx_init(&x, ", close_inactive: 1s");
    put_lines(x.path, 0, 1, 1, O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_uint_eq(x.t->nopen, 1);
    ck_assert_int_eq(lf_tail_tick(x.t, tail_test_now() + 500), LF_OK);
    ck_assert_uint_eq(x.t->nopen, 1); /* not idle long enough */
    ck_assert_int_eq(lf_tail_tick(x.t, tail_test_now() + 1500), LF_OK);
    ck_assert_uint_eq(x.t->nopen, 0);
    ck_assert_int_eq(x.t->files[0]->fd, -1);
    ck_assert_uint_eq(x.t->stats.files_closed, 1);
    struct lf_ckpt_entry *e = lf_ckpt_find(x.ckpt, x.t->files[0]->id.dev, x.t->files[0]->id.ino);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->offset, 5);
    /* idle: rescans and polls only stat it */
    pump(&x);
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    pump(&x);
    ck_assert_uint_eq(x.t->stats.files_reopened, 0);
    put_lines(x.path, 0, 2, 3, O_APPEND);
    pump(&x);
    ck_assert_int_eq(x.last[0], 3);
    ck_assert_int_eq(x.bad, 0);
    ck_assert_uint_eq(x.t->stats.files_reopened, 1);
    ck_assert_uint_eq(x.t->nopen, 1);
    fx_fini(&x);
}
END_TEST

/* copytruncate (regrown past the old offset) while closed: a new identity read from 0. */
START_TEST(close_inactive_truncated_while_closed)
{
    struct fx x;
    fx_init(&x, ", close_inactive: 1s");
    put_lines(x.path, 0, 1, 2, O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    ck_assert_uint_eq(x.t->nopen, 0);
    put_lines(x.path, 1, 1, 4, O_TRUNC);
    pump(&x);
    ck_assert_int_eq(x.last[0], 2);
    ck_assert_int_eq(x.last[1], 4);
    ck_assert_int_eq(x.bad, 0);
    ck_assert_uint_eq(x.t->stats.truncations, 1);
    fx_fini(&x);
}
END_TEST

/* Deleted while closed, and a new file at the path (maybe on the same inode): the old one
 * is counted gone and released, its checkpoint dropped; the new one is read from 0. */
START_TEST(close_inactive_deleted_while_closed)
{
    struct fx x;
    fx_init(&x, ", close_inactive: 1s");
    put_lines(x.path, 0, 1, 2, O_TRUNC);
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    uint64_t dev = x.t->files[0]->id.dev, ino = x.t->files[0]->id.ino;
    ck_assert_int_eq(unlink(x.path), 0);
    pump(&x);
    ck_assert_uint_eq(x.t->stats.closed_gone, 1);
    ck_assert_ptr_null(lf_ckpt_find(x.ckpt, dev, ino));
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    ck_assert_uint_eq(x.t->nfiles, 0);
    put_lines(x.path, 1, 1, 3, O_TRUNC);
    pump(&x);
    ck_assert_int_eq(x.last[0], 2);
    ck_assert_int_eq(x.last[1], 3);
    ck_assert_int_eq(x.bad, 0);
    fx_fini(&x);
}
END_TEST

/* With inotify: the inode watch stays while the file is closed, so a write wakes it. */
START_TEST(close_inactive_reopens_on_inotify)
{
    struct fx x;
    fx_init(&x, ", close_inactive: 1s");
    x.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert_int_ge(x.inofd, 0);
    put_lines(x.path, 0, 1, 1, O_TRUNC);
    fx_open(&x);
    read_all(&x);
    ck_assert_int_eq(x.last[0], 1);
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    ck_assert_uint_eq(x.t->nopen, 0);
    ck_assert_int_ge(x.t->files[0]->wd, 0);
    put_lines(x.path, 0, 2, 2, O_APPEND);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[0], 2);
    ck_assert_uint_eq(x.t->stats.files_reopened, 1);
    fx_fini(&x);
}
END_TEST

/* Without inotify the poll finds writes to a closed file with a stat(2) of its path and
 * reopens it; an unchanged closed file is not reopened by the poll. */
START_TEST(close_inactive_reopens_on_poll)
{
    struct fx x;
    fx_init(&x, ", close_inactive: 1s, poll_interval: 10ms");
    put_lines(x.path, 0, 1, 1, O_TRUNC);
    fx_open(&x);
    read_all(&x);
    ck_assert_int_eq(lf_tail_tick(x.t, tail_test_now() + 5000), LF_OK);
    ck_assert_uint_eq(x.t->nopen, 0);
    ck_assert_int_eq(lf_tail_tick(x.t, tail_test_now() + 10000), LF_OK);
    read_all(&x);
    ck_assert_uint_eq(x.t->stats.files_reopened, 0);
    put_lines(x.path, 0, 2, 2, O_APPEND);
    ck_assert_int_eq(lf_tail_tick(x.t, tail_test_now() + 15000), LF_OK);
    read_all(&x);
    ck_assert_int_eq(x.last[0], 2);
    ck_assert_uint_eq(x.t->stats.files_reopened, 1);
    ck_assert_int_eq(x.bad, 0);
    fx_fini(&x);
}
END_TEST

/* max_open_files 1 and a rotated file held open at EOF (its rotate_wait not over): a new
 * file gets the fd by closing the rotated one (last resort), and a late write to the
 * rotated file wakes it through its kept inode watch and is still read (found by
 * identity). */
START_TEST(max_open_files_closes_rotated_last)
{
    struct fx x;
    char a[256], a1[300], b[256];
    fx_init(&x, ", max_open_files: 1");
    x.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert_int_ge(x.inofd, 0);
    fpath(&x, a, sizeof(a), "f0.log");
    fpath(&x, b, sizeof(b), "f1.log");
    snprintf(a1, sizeof(a1), "%s.1", a);
    put_lines(a, 0, 1, 5, O_TRUNC);
    fx_open(&x);
    pump_capped(&x, 1);
    int w = open(a, O_WRONLY | O_APPEND); /* the application's handle */
    ck_assert_int_ge(w, 0);
    ck_assert_int_eq(rename(a, a1), 0);
    put_lines(b, 1, 1, 7, O_TRUNC);
    pump_capped(&x, 1); /* no tick: the rotated file is not released */
    ck_assert_int_eq(x.last[1], 7);
    ck_assert_uint_eq(x.t->nfiles, 2);
    ck_assert_uint_eq(x.t->stats.rotations, 1);
    ck_assert_int_eq(write(w, "f0 6\n", 5), 5); /* late write through the old handle */
    close(w);
    ck_assert_int_gt(drain_events(&x), 0);
    for (int i = 0; i < 10 && x.last[0] < 6; i++) {
        read_all(&x);
    }
    ck_assert_int_eq(x.last[0], 6);
    ck_assert_int_eq(x.bad, 0);
    ck_assert_uint_eq(x.t->stats.closed_gone, 0);
    ck_assert_uint_le(x.t->nopen, 1);
    fx_fini(&x);
}
END_TEST

/* ---- patterns ----------------------------------------------------------------------- */

START_TEST(glob_match_rules)
{
    static const struct {
        const char *pat, *path;
        bool want;
    } cases[] = {
        {"/a/**/b.log", "/a/b.log", true},
        {"/a/**/b.log", "/a/x/b.log", true},
        {"/a/**/b.log", "/a/x/y/b.log", true},
        {"/a/**/b.log", "/a/.h/b.log", false},
        {"/a/**/b.log", "/a/x/c.log", false},
        {"/a/**/x/**/*.log", "/a/1/x/2/3/f.log", true},
        {"/a/**/x/**/*.log", "/a/1/y/2/3/f.log", false},
        {"/a/**", "/a/x/y", true},
        {"/a/**", "/a/.y", false},
        {"/a/*/b.log", "/a/x/y/b.log", false},
        {"/a/*/b.log", "/a/x/b.log", true},
        {"/a/*.log", "/a/.hidden.log", false},
        {"/a/.*.log", "/a/.hidden.log", true},
        {"/a//b/*.log", "/a/b/c.log", true},
        {"a/**/*.log", "/a/x.log", false},
        {"a/**/*.log", "a/x.log", true},
        {"/a/[xy]?/*.log", "/a/x1/f.log", true},
        {"**/debug/*.log", "/var/log/debug/x.log", true},
        {"**/debug/*.log", "debug/x.log", true},
        {"**/debug/*.log", "/var/log/x.log", false},
        {"/a/**/**/b.log", "/a/b.log", true},
        {"/a/**/**/b.log", "/a/x/y/z/b.log", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(lf_tail_glob_match(cases[i].pat, cases[i].path) == cases[i].want,
                      "%s vs %s: want %d", cases[i].pat, cases[i].path, cases[i].want);
    }
}
END_TEST

static void mkdirs(const struct fx *x, const char *rel)
{
    char p[400];
    ck_assert_int_lt(snprintf(p, sizeof(p), "%s/%s", x->dir, rel), (int)sizeof(p));
    char *argv[] = {"mkdir", "-p", p, NULL};
    ck_assert_int_eq(lft_run(argv, NULL), 0);
}

START_TEST(globstar_scan)
{
    struct fx x;
    char p[256];
    fx_init_glob(&x, "**/*.log", NULL);
    mkdirs(&x, "a/b");
    mkdirs(&x, ".hid");
    fpath(&x, p, sizeof(p), "f0.log");
    put_lines(p, 0, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), "a/f1.log");
    put_lines(p, 1, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), "a/b/f2.log");
    put_lines(p, 2, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), ".hid/f3.log");
    put_lines(p, 3, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), "a/f4.txt");
    put_lines(p, 4, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), "a/b/loop");
    ck_assert_int_eq(symlink("..", p), 0); /* not followed by ** */
    fx_open(&x);
    pump(&x);
    ck_assert_int_eq(x.last[0] + x.last[1] + x.last[2], 3);
    ck_assert_int_eq(x.last[3] + x.last[4], 0);
    ck_assert_uint_eq(x.t->nfiles, 3);
    mkdirs(&x, "c/d");
    fpath(&x, p, sizeof(p), "c/d/f5.log");
    put_lines(p, 5, 1, 1, O_TRUNC);
    pump(&x);
    ck_assert_int_eq(x.last[5], 1);
    ck_assert_int_eq(x.bad, 0);
    fx_fini(&x);
}
END_TEST

/* New directories under a wildcard level are seen through inotify at once (no rescan):
 * a directory created with a file already in it, a file created in it after it was
 * watched, and a nested tree created with mkdir -p. */
START_TEST(new_directories_by_inotify)
{
    struct fx x;
    char p[256];
    fx_init_glob(&x, "*/**/*.log", NULL);
    x.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert_int_ge(x.inofd, 0);
    fx_open(&x);
    ck_assert_uint_eq(x.t->nfiles, 0);
    mkdirs(&x, "s1");
    fpath(&x, p, sizeof(p), "s1/f0.log");
    put_lines(p, 0, 1, 1, O_TRUNC);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[0], 1);
    fpath(&x, p, sizeof(p), "s1/f1.log"); /* in the directory now watched */
    put_lines(p, 1, 1, 1, O_TRUNC);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[1], 1);
    mkdirs(&x, "s2/a/b/c");
    fpath(&x, p, sizeof(p), "s2/a/b/c/f2.log");
    put_lines(p, 2, 1, 1, O_TRUNC);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[2], 1);
    /* a directory moved into place */
    char tmp[200];
    ck_assert_int_lt(snprintf(tmp, sizeof(tmp), "%s-staged", x.dir), (int)sizeof(tmp));
    ck_assert_int_eq(mkdir(tmp, 0755), 0);
    ck_assert_int_lt(snprintf(p, sizeof(p), "%s/f3.log", tmp), (int)sizeof(p));
    put_lines(p, 3, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), "s3");
    ck_assert_int_eq(rename(tmp, p), 0);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[3], 1);
    ck_assert_int_eq(x.bad, 0);
    fx_fini(&x);
}
END_TEST

/* The pattern's base directory does not exist yet: its creation is seen at once too. */
START_TEST(missing_base_directory_by_inotify)
{
    struct fx x;
    char p[256];
    fx_init_glob(&x, "later/sub/*.log", NULL);
    x.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert_int_ge(x.inofd, 0);
    fx_open(&x);
    mkdirs(&x, "later/sub");
    fpath(&x, p, sizeof(p), "later/sub/f0.log");
    put_lines(p, 0, 1, 1, O_TRUNC);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[0], 1);
    fpath(&x, p, sizeof(p), "later/sub/f1.log");
    put_lines(p, 1, 1, 1, O_TRUNC);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[1], 1);
    fx_fini(&x);
}
END_TEST

/* Several rotated files released in the same tick, with inode watches (the release looks
 * at the other files' watches: none may be a freed one; ASan checks this). */
START_TEST(release_many_in_one_tick)
{
    struct fx x;
    char p[256], old[300], name[32];
    fx_init(&x, NULL);
    x.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert_int_ge(x.inofd, 0);
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof(name), "f%d.log", k);
        fpath(&x, p, sizeof(p), name);
        put_lines(p, k, 1, 3, O_TRUNC);
    }
    fx_open(&x);
    pump(&x);
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof(name), "f%d.log", k);
        fpath(&x, p, sizeof(p), name);
        snprintf(old, sizeof(old), "%s.1", p);
        ck_assert_int_eq(rename(p, old), 0);
    }
    pump(&x);
    ck_assert_uint_eq(x.t->stats.rotations, 4);
    ck_assert_int_eq(lf_tail_tick(x.t, 1LL << 50), LF_OK);
    ck_assert_uint_eq(x.t->nfiles, 0);
    ck_assert_uint_eq(x.t->stats.files_released, 4);
    ck_assert_int_eq(x.bad, 0);
    fx_fini(&x);
}
END_TEST

/* ---- adaptive ticks: what an input asks the loop to wake for ------------------------ */

/* Opens x on one file of 3 lines (with inotify if `watched`), reads it and ticks. */
static int64_t idle_after_read(struct fx *x, const char *extra, bool watched)
{
    fx_init(x, extra);
    if (watched) {
        x->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        ck_assert_int_ge(x->inofd, 0);
    }
    put_lines(x->path, 0, 1, 3, O_TRUNC);
    fx_open(x);
    pump(x);
    int64_t now = tail_test_now();
    ck_assert_int_eq(lf_tail_tick(x->t, now), LF_OK);
    return now;
}

/* Every directory and file watched: an idle input asks for no wake-up at all; with
 * close_inactive, one when its file closes; without inotify the safety poll and rescan
 * stay armed. */
START_TEST(next_ms_idle_input)
{
    struct fx x;
    int64_t now = idle_after_read(&x, ", close_inactive: 0s", true);
    ck_assert(!tail_blind(x.t));
    ck_assert_int_eq(lf_tail_next_ms(x.t, now), INT64_MAX);
    fx_fini(&x);

    now = idle_after_read(&x, ", close_inactive: 1s", true);
    ck_assert_int_eq(lf_tail_next_ms(x.t, now), x.t->files[0]->last_data_ms + 1000);
    fx_fini(&x);

    now = idle_after_read(&x, ", close_inactive: 0s, rescan_interval: 2s", false);
    ck_assert(tail_blind(x.t));
    int64_t next = lf_tail_next_ms(x.t, now);
    ck_assert_int_gt(next, now);
    ck_assert_int_le(next, now + 2000);
    fx_fini(&x);
}
END_TEST

/* A rotated file is work until it is released (rotate_wait 0: at the next tick); then the
 * only deadline left is the pruning of its checkpoint entry (forget_after, 7 days). */
START_TEST(next_ms_rotated_file_until_released)
{
    struct fx x;
    char old[256];
    int64_t now = idle_after_read(&x, ", close_inactive: 0s", true);
    snprintf(old, sizeof(old), "%s.1", x.path);
    ck_assert_int_eq(rename(x.path, old), 0);
    pump(&x);
    ck_assert_uint_eq(x.t->stats.rotations, 1);
    now = tail_test_now();
    ck_assert_int_le(lf_tail_next_ms(x.t, now), now);
    ck_assert_int_eq(lf_tail_tick(x.t, now), LF_OK);
    ck_assert_uint_eq(x.t->nfiles, 0);
    ck_assert_int_ge(lf_tail_next_ms(x.t, now), now + 7 * 86400000LL);
    ck_assert_int_ne(lf_tail_next_ms(x.t, now), INT64_MAX);
    fx_fini(&x);
}
END_TEST

/* Names no pattern matches (temp files, other files in a watched directory) cost no scan;
 * a matching one, a subdirectory and a symlink to a directory do. */
START_TEST(irrelevant_names_cost_no_scan)
{
    struct fx x;
    char p[256], q[160];
    fx_init_glob(&x, "*/*.log", NULL);
    x.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert_int_ge(x.inofd, 0);
    mkdirs(&x, "s1");
    fx_open(&x);
    fpath(&x, p, sizeof(p), "s1/x.tmp");
    put_lines(p, 0, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), "top.log"); /* the pattern wants one directory level */
    put_lines(p, 0, 1, 1, O_TRUNC);
    ck_assert_int_gt(drain_events(&x), 0);
    ck_assert(!x.t->need_scan);
    fpath(&x, p, sizeof(p), "s1/f1.log");
    put_lines(p, 1, 1, 1, O_TRUNC);
    ck_assert_int_gt(drain_events(&x), 0);
    ck_assert(x.t->need_scan);
    read_all(&x);
    ck_assert_int_eq(x.last[1], 1);
    mkdirs(&x, "elsewhere");
    fpath(&x, p, sizeof(p), "elsewhere/f2.log");
    put_lines(p, 2, 1, 1, O_TRUNC);
    read_all(&x); /* the mkdir's event is not read yet: nothing */
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[2], 1);
    ck_assert_int_lt(snprintf(q, sizeof(q), "%s-target", x.dir), (int)sizeof(q));
    ck_assert_int_eq(mkdir(q, 0755), 0);
    ck_assert_int_lt(snprintf(p, sizeof(p), "%s/f3.log", q), (int)sizeof(p));
    put_lines(p, 3, 1, 1, O_TRUNC);
    fpath(&x, p, sizeof(p), "link");
    ck_assert_int_eq(symlink(q, p), 0);
    ck_assert_int_gt(drain_events(&x), 0);
    read_all(&x);
    ck_assert_int_eq(x.last[3], 1);
    ck_assert_int_eq(x.bad, 0);
    fx_fini(&x);
    ck_assert_int_eq(lft_rmtree(q), 0);
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
    tcase_add_test(tc, release_many_in_one_tick);
    suite_add_tcase(s, tc);
    tc = tcase_create("checkpoints");
    tcase_add_test(tc, resume_and_rotated_while_stopped);
    tcase_add_test(tc, start_at_end_only_without_checkpoint);
    tcase_add_test(tc, prune_forgets_released);
    suite_add_tcase(s, tc);
    tc = tcase_create("open_files");
    tcase_add_test(tc, max_open_files_caps_and_reads_all);
    tcase_add_test(tc, max_open_files_closes_least_recent);
    tcase_add_test(tc, closed_file_rotated_found_by_identity);
    tcase_add_test(tc, max_open_files_closes_rotated_last);
    tcase_add_test(tc, close_inactive_closes_and_reopens);
    tcase_add_test(tc, close_inactive_truncated_while_closed);
    tcase_add_test(tc, close_inactive_deleted_while_closed);
    tcase_add_test(tc, close_inactive_reopens_on_inotify);
    tcase_add_test(tc, close_inactive_reopens_on_poll);
    suite_add_tcase(s, tc);
    tc = tcase_create("patterns");
    tcase_add_test(tc, glob_match_rules);
    tcase_add_test(tc, globstar_scan);
    tcase_add_test(tc, new_directories_by_inotify);
    tcase_add_test(tc, missing_base_directory_by_inotify);
    tcase_add_test(tc, irrelevant_names_cost_no_scan);
    tcase_add_test(tc, next_ms_idle_input);
    tcase_add_test(tc, next_ms_rotated_file_until_released);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
