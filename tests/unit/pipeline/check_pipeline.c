/* check_pipeline.c - the pipeline's middle: the tracker keyed by file, and the output
 * path's error paths, each driven with the real output instance, worker thread, spool
 * and dead-letter file around a test plugin (out_scripted) whose outcomes follow the
 * record's text. Allocation failures are injected with lf_failalloc on the test's own
 * thread only (the worker thread is never failed), so every case is deterministic.
 *
 * What each error-path case proves (each fails with the old code path restored):
 *   push_failure_keeps_batch  - a push to the worker that fails at any allocation keeps
 *                               the batch and pushes it later (was: dropped, unacked);
 *   spool_push_failure        - a drain push that fails does not count records in flight
 *                               (was: drain_inflight raised for good, the spool wedged);
 *   dead_letter_sync_failure  - records count as dead-lettered only after a successful
 *                               fsync, and are written again after a failed one (was:
 *                               finished before the sync, the failure only logged);
 *   dead_letter_render_failure - a dead-letter line with a part that could not be
 *                               rendered is not written (was: written with parts missing);
 *   retry_without_memory      - a retriable outcome is rescheduled even when no memory
 *                               can be had (was: the record silently dropped);
 *   router_no_memory_holds_checkpoint - a record that cannot be built holds its file's
 *                               checkpoint before it (was: lost, the checkpoint passed it).
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_clock.h"
#include "lf_conf.h"
#include "lf_dlq.h"
#include "lf_failalloc.h"
#include "lf_outpath.h"
#include "lf_retry.h"
#include "lf_router.h"
#include "lf_spool.h"
#include "lf_testlib.h"
#include "lf_tracker.h"
#include "logferry/lf_err.h"
#include "outpath_int.h"

/* ---- tracker ------------------------------------------------------------------------- */

static struct lf_rec *mkrec(uint64_t start, uint64_t end, uint32_t routes)
{
    struct lf_rec *r = calloc(1, sizeof(*r) + 1);
    ck_assert_ptr_nonnull(r);
    r->start_offset = start;
    r->end_offset = end;
    r->route_mask = routes;
    r->pub.payload = r->payload;
    return r;
}

START_TEST(tracker_keys_files)
{
    struct lf_tracker *tr;
    uint64_t a, b, dev, ino;
    ck_assert_int_eq(lf_tracker_create(NULL, NULL, &tr), LF_OK);
    ck_assert_int_eq(lf_tracker_file_open(tr, 1, 10, 0, &a), LF_OK);
    ck_assert_int_eq(lf_tracker_file_open(tr, 1, 11, 50, &b), LF_OK);
    ck_assert_uint_ne(a, 0);
    ck_assert_uint_ne(a, b);
    ck_assert(lf_tracker_ident(tr, b, &dev, &ino));
    ck_assert_uint_eq(ino, 11);
    ck_assert_uint_eq(lf_tracker_committed(tr, b), 50);
    struct lf_rec *r0 = mkrec(0, 10, 1), *r1 = mkrec(10, 20, 3);
    lf_tracker_push(tr, a, r0);
    lf_tracker_push(tr, a, r1);
    ck_assert_uint_eq(r1->file_key, a);
    lf_tracker_finish(tr, r1, 0);
    lf_tracker_finish(tr, r1, 1);
    ck_assert_uint_eq(lf_tracker_advance(tr), 0); /* r0 still owed */
    ck_assert_uint_eq(lf_tracker_committed(tr, a), 0);
    lf_tracker_finish(tr, r0, 0);
    ck_assert_uint_eq(lf_tracker_advance(tr), 2);
    ck_assert_uint_eq(lf_tracker_committed(tr, a), 20);
    ck_assert(!lf_tracker_any_pending(tr));
    lf_tracker_destroy(tr);
}
END_TEST

/* A closed file's key never reaches the next file in its slot. */
START_TEST(tracker_stale_key)
{
    struct lf_tracker *tr;
    uint64_t a, b;
    ck_assert_int_eq(lf_tracker_create(NULL, NULL, &tr), LF_OK);
    ck_assert_int_eq(lf_tracker_file_open(tr, 1, 10, 7, &a), LF_OK);
    lf_tracker_push(tr, a, mkrec(7, 9, 1)); /* released unacknowledged by the close */
    ck_assert_uint_eq(lf_tracker_pending(tr, a), 1);
    lf_tracker_file_close(tr, a);
    ck_assert_int_eq(lf_tracker_file_open(tr, 1, 12, 3, &b), LF_OK);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_eq(lf_tracker_committed(tr, a), 0);
    ck_assert_uint_eq(lf_tracker_pending(tr, a), 0);
    ck_assert_uint_eq(lf_tracker_committed(tr, b), 3);
    ck_assert_int_eq(lf_tracker_skip(tr, a, 100), LF_EINVAL);
    lf_tracker_destroy(tr);
}
END_TEST

/* take_moved: new files and moved offsets are reported once; idle files not at all. */
START_TEST(tracker_take_moved)
{
    struct lf_tracker *tr;
    uint64_t a;
    ck_assert_int_eq(lf_tracker_create(NULL, NULL, &tr), LF_OK);
    ck_assert_int_eq(lf_tracker_file_open(tr, 1, 10, 0, &a), LF_OK);
    ck_assert(lf_tracker_take_moved(tr, a));
    ck_assert(!lf_tracker_take_moved(tr, a));
    ck_assert_int_eq(lf_tracker_skip(tr, a, 5), LF_OK);
    ck_assert(lf_tracker_take_moved(tr, a));
    struct lf_rec *r = mkrec(5, 8, 1);
    lf_tracker_push(tr, a, r);
    lf_tracker_advance(tr);
    ck_assert(!lf_tracker_take_moved(tr, a));
    lf_tracker_finish(tr, r, 0);
    lf_tracker_advance(tr);
    ck_assert(lf_tracker_take_moved(tr, a));
    ck_assert_uint_eq(lf_tracker_committed(tr, a), 8);
    lf_tracker_destroy(tr);
}
END_TEST

/* any_moved: set by every mark (the checkpoint policy's pending work), cleared only by
 * the policy's save; an idle tracker asks for no checkpoint wake-up. */
START_TEST(tracker_any_moved)
{
    struct lf_tracker *tr;
    uint64_t a;
    ck_assert_int_eq(lf_tracker_create(NULL, NULL, &tr), LF_OK);
    ck_assert(!lf_tracker_any_moved(tr));
    ck_assert_int_eq(lf_tracker_file_open(tr, 1, 10, 0, &a), LF_OK);
    ck_assert(lf_tracker_any_moved(tr));
    ck_assert(lf_tracker_take_moved(tr, a));
    ck_assert(lf_tracker_any_moved(tr)); /* until cleared */
    lf_tracker_clear_any_moved(tr);
    struct lf_rec *r = mkrec(0, 4, 1);
    lf_tracker_push(tr, a, r);
    lf_tracker_advance(tr);
    ck_assert(!lf_tracker_any_moved(tr)); /* read, not acknowledged */
    lf_tracker_finish(tr, r, 0);
    lf_tracker_advance(tr);
    ck_assert(lf_tracker_any_moved(tr));
    lf_tracker_clear_any_moved(tr);
    lf_tracker_hold(tr, a, 2);
    ck_assert(lf_tracker_any_moved(tr));
    lf_tracker_destroy(tr);
}
END_TEST

/* ---- output path fixture -------------------------------------------------------------- */

struct fx {
    char *dir;
    struct lf_config *cfg;
    struct lf_log_ctx log;
    struct lf_tracker *tr;
    struct lf_outpath *op;
    uint64_t key;
    uint64_t next_off;
};

static const char *fx_top_extra; /* top-level YAML added by a test, e.g. a breaker section */

static void fx_config(struct fx *x, const char *output_extra)
{
    char yaml[2048];
    const char *pdir = getenv("LF_TEST_PLUGIN_DIR");
    ck_assert_ptr_nonnull(pdir);
    snprintf(yaml, sizeof(yaml),
             "agent: {state_dir: %s, plugin_dir: %s}\n"
             "inputs: [{name: i, paths: ['%s/*.log']}]\n"
             "outputs: [{name: o, plugin: scripted%s}]\n%s",
             x->dir, pdir, x->dir, output_extra ? output_extra : "",
             fx_top_extra ? fx_top_extra : "");
    struct lf_diag d;
    lf_diag_init(&d, "t.yaml");
    int rc = lf_conf_load_string(yaml, "t.yaml", NULL, &d, &x->cfg);
    if (rc != LF_OK) {
        lf_diag_print(&d, stderr);
    }
    lf_diag_fini(&d);
    ck_assert_int_eq(rc, LF_OK);
}

/* The fixture with the tracker's release callback (NULL: free(), for fx_route's records;
 * lf_rec_release for records a router makes). */
static void fx_init_release(struct fx *x, const char *output_extra, lf_track_release_fn *release,
                            void *release_ctx)
{
    memset(x, 0, sizeof(*x));
    x->dir = lft_mkdtemp("lf-unit-pipeline");
    x->log.prefix = "[pipeline-test]";
    x->log.level = LF_LOG_ERROR;
    fx_config(x, output_extra);
    ck_assert_int_eq(lf_tracker_create(release, release_ctx, &x->tr), LF_OK);
    ck_assert_int_eq(lf_tracker_file_open(x->tr, 1, 42, 0, &x->key), LF_OK);
    ck_assert_int_eq(lf_outpath_open(x->cfg, 0, x->tr, &x->log, &x->op), LF_OK);
}

static void fx_init(struct fx *x, const char *output_extra)
{
    fx_init_release(x, output_extra, NULL, NULL);
}

static void fx_fini(struct fx *x)
{
    lf_outpath_close(x->op);
    lf_tracker_destroy(x->tr);
    lf_conf_free(x->cfg);
    lft_rmtree(x->dir);
    free(x->dir);
}

/* A record of this file with message `text`, tracked and routed to the output. */
static void fx_route(struct fx *x, const char *text)
{
    char payload[256];
    int len = snprintf(payload, sizeof(payload), "{\"message\":\"%s\"}", text);
    struct lf_rec *r = calloc(1, sizeof(*r) + (size_t)len + 1);
    ck_assert_ptr_nonnull(r);
    memcpy(r->payload, payload, (size_t)len + 1);
    r->pub.payload = r->payload;
    r->pub.payload_len = (size_t)len;
    snprintf(r->pub.id, sizeof(r->pub.id), "%032llx", (unsigned long long)x->next_off);
    r->start_offset = x->next_off;
    r->end_offset = x->next_off += 10;
    r->route_mask = 1;
    lf_tracker_push(x->tr, x->key, r);
    ck_assert_int_eq(lf_outpath_reserve(x->op, 1), LF_OK);
    lf_outpath_route(x->op, r);
}

/* Waits for outcomes (bounded by the ack fd's poll), applies them, ticks. */
static void fx_turn(struct fx *x)
{
    struct pollfd p = {.fd = lf_outpath_ack_fd(x->op), .events = POLLIN};
    int64_t now = lf_mono_ms();
    if (poll(&p, 1, 20) > 0) {
        lf_outpath_on_outcomes(x->op, now);
    }
    lf_outpath_tick(x->op, now);
    lf_outpath_end_turn(x->op, now);
    lf_tracker_advance(x->tr);
}

/* Runs turns until the file's committed offset reaches want (at most 5 s). */
static uint64_t fx_pump_until(struct fx *x, uint64_t want)
{
    int64_t deadline = lf_mono_ms() + 5000;
    while (lf_tracker_committed(x->tr, x->key) < want && lf_mono_ms() < deadline) {
        fx_turn(x);
    }
    return lf_tracker_committed(x->tr, x->key);
}

static struct lf_outpath_stats fx_stats(struct fx *x)
{
    struct lf_outpath_stats st;
    lf_outpath_get_stats(x->op, &st);
    return st;
}

static size_t fx_delivered_lines(struct fx *x)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/scripted.out", x->dir);
    return lft_count_lines(path);
}

/* ---- error paths ---------------------------------------------------------------------- */

/* Fails, one at a time, each allocation a push makes (k = 0, 1, ...) until a push needs
 * no more than k allocations: every time the batch is kept and delivered later. */
START_TEST(push_failure_keeps_batch)
{
    for (uint64_t k = 0;; k++) {
        struct fx x;
        fx_init(&x, NULL);
        for (int i = 0; i < 10; i++) {
            fx_route(&x, "hello");
        }
        lf_failalloc_arm_this_thread(k, 1);
        uint64_t failed = lf_failalloc_failed();
        lf_outpath_end_turn(x.op, lf_mono_ms());
        bool hit = lf_failalloc_failed() > failed;
        lf_failalloc_disarm();
        ck_assert_uint_eq(fx_stats(&x).push_failures, hit ? 1 : 0);
        ck_assert_uint_eq(fx_pump_until(&x, 100), 100);
        ck_assert_uint_eq(fx_delivered_lines(&x), 10);
        fx_fini(&x);
        if (!hit) {
            ck_assert_uint_ge(k, 2); /* the push path did allocate: the loop tested it */
            break;
        }
    }
}
END_TEST

/* Writes n frames to output o's spool as a previous run would have left them. */
static void spool_prefill(const char *state_dir, int n)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/spool/o", state_dir);
    struct lf_spool_opts opts = {.max_size = 1 << 20, .segment_size = 1 << 16};
    struct lf_log_ctx log = {.prefix = "[prefill]", .level = LF_LOG_ERROR};
    struct lf_spool *s;
    ck_assert_int_eq(lf_spool_open(dir, &opts, &log, &s), LF_OK);
    for (int i = 0; i < n; i++) {
        char payload[64], id[40];
        int len = snprintf(payload, sizeof(payload), "{\"message\":\"spooled %d\"}", i);
        snprintf(id, sizeof(id), "%032d", i);
        struct lf_spool_rec f = {.payload = payload,
                                 .payload_len = (size_t)len,
                                 .id = id,
                                 .source = "/x.log",
                                 .input = "i",
                                 .start_offset = 10u * i,
                                 .end_offset = 10u * i + 10};
        ck_assert_int_eq(lf_spool_append(s, &f), LF_OK);
    }
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
}

/* A drain push that fails at any allocation is read again from the spool later. */
START_TEST(spool_push_failure)
{
    for (uint64_t k = 0;; k++) {
        struct fx x;
        fx_init(&x, NULL);
        lf_outpath_close(x.op);
        spool_prefill(x.dir, 20);
        ck_assert_int_eq(lf_outpath_open(x.cfg, 0, x.tr, &x.log, &x.op), LF_OK);
        lf_failalloc_arm_this_thread(k, 1);
        uint64_t failed = lf_failalloc_failed();
        lf_outpath_tick(x.op, lf_mono_ms()); /* the first drain push */
        bool hit = lf_failalloc_failed() > failed;
        lf_failalloc_disarm();
        int64_t deadline = lf_mono_ms() + 5000;
        while (fx_stats(&x).drained < 20 && lf_mono_ms() < deadline) {
            fx_turn(&x);
        }
        ck_assert_uint_eq(fx_stats(&x).drained, 20);
        ck_assert_uint_eq(x.op->drain_inflight, 0);
        ck_assert(lf_spool_empty(x.op->spool));
        fx_fini(&x);
        if (!hit) {
            ck_assert_uint_ge(k, 2);
            break;
        }
    }
}
END_TEST

/* The dead-letter file's fsync fails (its fd is a pipe for a while): the rejected records
 * are not done until a later write and fsync succeed. */
START_TEST(dead_letter_sync_failure)
{
    struct fx x;
    int p[2];
    fx_init(&x, NULL);
    ck_assert_int_eq(lf_dlq_open(x.dir, "o", &x.op->dlq), LF_OK);
    int real = dup(x.op->dlq.fd);
    ck_assert_int_ge(real, 0);
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_ge(dup2(p[1], x.op->dlq.fd), 0); /* fdatasync on a pipe: EINVAL */
    for (int i = 0; i < 3; i++) {
        fx_route(&x, "reject me");
    }
    int64_t deadline = lf_mono_ms() + 5000;
    while (fx_stats(&x).dead_failures < 3 && lf_mono_ms() < deadline) {
        fx_turn(&x);
    }
    ck_assert_uint_ge(fx_stats(&x).dead_failures, 3); /* the outcome, then two ticks */
    ck_assert_uint_eq(fx_stats(&x).dead_lettered, 0);
    ck_assert_uint_eq(lf_tracker_committed(x.tr, x.key), 0);
    ck_assert_int_ge(dup2(real, x.op->dlq.fd), 0); /* the disk is back */
    ck_assert_uint_eq(fx_pump_until(&x, 30), 30);
    ck_assert_uint_eq(fx_stats(&x).dead_lettered, 3);
    char path[512];
    snprintf(path, sizeof(path), "%s/dead-letter/o.jsonl", x.dir);
    ck_assert_uint_eq(lft_count_lines(path), 3); /* the failed writes went to the pipe */
    close(real);
    close(p[0]);
    close(p[1]);
    fx_fini(&x);
}
END_TEST

/* A dead-letter line that cannot be rendered whole (an allocation fails at any point) is
 * not written at all: the file never holds a line with a part missing. */
START_TEST(dead_letter_render_failure)
{
    char *dir = lft_mkdtemp("lf-unit-pipeline");
    struct lf_dlq d;
    ck_assert_int_eq(lf_dlq_open(dir, "o", &d), LF_OK);
    struct lf_rec *r = mkrec(0, 10, 1);
    r->pub.payload = "{\"message\":\"m\"}";
    r->pub.payload_len = strlen(r->pub.payload);
    size_t written = 0;
    for (uint64_t k = 0; k < 64; k++) {
        lf_failalloc_arm_this_thread(k, 1);
        uint64_t failed = lf_failalloc_failed();
        struct lf_dlq_entry e = {.rec = &r->pub,
                                 .reason = LF_DLQ_REJECTED,
                                 .error = "an error long enough to make the buffer grow, twice",
                                 .attempts = 1};
        int rc = lf_dlq_write(&d, &e);
        bool hit = lf_failalloc_failed() > failed;
        lf_failalloc_disarm();
        ck_assert_int_eq(rc, hit ? LF_ENOMEM : LF_OK);
        written += rc == LF_OK;
        if (!hit) {
            break;
        }
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/dead-letter/o.jsonl", dir);
    size_t len;
    char *text = lft_read_file(path, &len);
    ck_assert_uint_eq(written, 1);
    ck_assert_uint_eq(lft_count_lines(path), 1);
    ck_assert_ptr_nonnull(strstr(text, "\"reason\":\"rejected\",\"error\":\"an error long"));
    ck_assert_ptr_nonnull(strstr(text, "\"record\":{\"message\":\"m\"}}"));
    free(text);
    free(r);
    lf_dlq_close(&d);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* Retriable outcomes applied while no memory at all can be had are still rescheduled. */
START_TEST(retry_without_memory)
{
    struct fx x;
    fx_init(&x, ", retry: {backoff: 10ms}");
    for (int i = 0; i < 3; i++) {
        fx_route(&x, "retry once");
    }
    lf_outpath_end_turn(x.op, lf_mono_ms());
    struct pollfd pfd = {.fd = lf_outpath_ack_fd(x.op), .events = POLLIN};
    int64_t deadline = lf_mono_ms() + 5000;
    while (x.op->inflight > 0 && lf_mono_ms() < deadline) {
        if (poll(&pfd, 1, 100) > 0) {
            lf_failalloc_arm_this_thread(0, UINT64_MAX / 2);
            lf_outpath_on_outcomes(x.op, lf_mono_ms());
            lf_failalloc_disarm();
        }
    }
    ck_assert_uint_eq(fx_stats(&x).retried, 3);
    ck_assert_uint_eq(fx_pump_until(&x, 30), 30);
    ck_assert_uint_eq(fx_delivered_lines(&x), 3);
    fx_fini(&x);
}
END_TEST

/* A record the router cannot build or track for lack of memory is not lost: its file's
 * checkpoint stays before it (a restart reads it again), the records after it still go. */
START_TEST(router_no_memory_holds_checkpoint)
{
    struct fx x;
    struct lf_rec_budget budget = {0};
    fx_init_release(&x, NULL, lf_rec_release, &budget);
    struct lf_router *rt;
    struct lf_outpath *outs[1] = {x.op};
    ck_assert_int_eq(lf_router_create(x.cfg, x.tr, outs, 1, &budget, &x.log, &rt), LF_OK);
    struct lf_tail_sink sink = {0};
    lf_router_sink(rt, &sink);
    struct lf_file_id id = {.dev = 1, .ino = 42};
    struct lf_tail_src src = {.key = x.key, .path = "/x.log", .id = &id, .input = 0};
    /* Records this large get memory of their own from the router's slab (a small one
     * would fit in the chunk already there); line 0 also grows the encoder's buffer, so
     * that line 1 fails where the record itself is allocated. */
    static char big[2][20000];
    for (int i = 0; i < 2; i++) {
        memset(big[i], 'x', sizeof(big[i]));
        memcpy(big[i], i ? "line 1 " : "line 0 ", 7);
    }
    ck_assert_int_eq(sink.emit(sink.emit_ctx, &src, big[0], sizeof(big[0]), 0, 10, 0), LF_OK);
    lf_failalloc_arm_this_thread(0, UINT64_MAX / 2);
    int rc = sink.emit(sink.emit_ctx, &src, big[1], sizeof(big[1]), 10, 20, 0);
    lf_failalloc_disarm();
    ck_assert_int_eq(rc, LF_OK); /* reading goes on */
    ck_assert_int_eq(sink.emit(sink.emit_ctx, &src, "line 2", 6, 20, 30, 0), LF_OK);
    lf_outpath_end_turn(x.op, lf_mono_ms());
    int64_t deadline = lf_mono_ms() + 5000;
    while (fx_delivered_lines(&x) < 2 && lf_mono_ms() < deadline) {
        fx_turn(&x);
    }
    fx_turn(&x);
    struct lf_router_stats rs;
    lf_router_get_stats(rt, &rs);
    ck_assert_uint_eq(rs.records_unbuilt, 1);
    ck_assert_uint_eq(fx_delivered_lines(&x), 2);
    ck_assert_uint_eq(lf_tracker_committed(x.tr, x.key), 10); /* held before "line 1" */
    lf_router_destroy(rt);
    fx_fini(&x);
}
END_TEST

/* retry.attempts used up: the record is dead-lettered, durably, and then done. */
START_TEST(retries_exhausted_dead_letter)
{
    struct fx x;
    fx_init(&x, ", retry: {attempts: 1, backoff: 10ms}");
    fx_route(&x, "retry once");
    ck_assert_uint_eq(fx_pump_until(&x, 10), 10);
    ck_assert_uint_eq(fx_stats(&x).dead_lettered, 1);
    ck_assert_uint_eq(fx_delivered_lines(&x), 0);
    fx_fini(&x);
}
END_TEST

/* ---- retry schedule -------------------------------------------------------------------- */

START_TEST(retry_schedule_growth)
{
    struct lf_retry_conf rc = {.backoff_ms = 1000, .multiplier = 2, .max_backoff_ms = 5000};
    uint64_t rng = 1;
    const int64_t want[] = {1000, 2000, 4000, 5000, 5000};
    for (uint32_t a = 1; a <= 5; a++) {
        ck_assert_int_eq(lf_retry_delay_ms(&rc, a, &rng), want[a - 1]);
    }
    ck_assert_int_eq(lf_retry_delay_ms(&rc, UINT32_MAX, &rng), 5000); /* no overflow */
    rc.multiplier = 1;
    ck_assert_int_eq(lf_retry_delay_ms(&rc, 7, &rng), 1000);
    rc = (struct lf_retry_conf){.backoff_ms = 250, .multiplier = 10, .max_backoff_ms = 86400000};
    ck_assert_int_eq(lf_retry_delay_ms(&rc, 3, &rng), 25000);
}
END_TEST

/* jitter 20: every wait within +-20% of the schedule, spread over that range, never above
 * max_backoff. */
START_TEST(retry_schedule_jitter_bounds)
{
    struct lf_retry_conf rc = {
        .backoff_ms = 1000, .multiplier = 2, .max_backoff_ms = 4000, .jitter = 20};
    uint64_t rng = 12345;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 5000; i++) {
        int64_t d = lf_retry_delay_ms(&rc, 1, &rng);
        ck_assert_int_ge(d, 800);
        ck_assert_int_le(d, 1200);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    ck_assert_int_lt(lo, 820); /* spread, not a constant */
    ck_assert_int_gt(hi, 1180);
    for (int i = 0; i < 5000; i++) { /* at the cap: 3200..4000 */
        int64_t d = lf_retry_delay_ms(&rc, 3, &rng);
        ck_assert_int_ge(d, 3200);
        ck_assert_int_le(d, 4000);
    }
    rc.jitter = 100;
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_ge(lf_retry_delay_ms(&rc, 1, &rng), 1); /* never 0 */
    }
}
END_TEST

START_TEST(retry_attempts_count_the_first_try)
{
    struct lf_retry_conf rc = {.attempts = 0};
    ck_assert(!lf_retry_exhausted(&rc, 1));
    ck_assert(!lf_retry_exhausted(&rc, UINT32_MAX)); /* 0: until delivered */
    rc.attempts = 3;
    ck_assert(!lf_retry_exhausted(&rc, 1));
    ck_assert(!lf_retry_exhausted(&rc, 2));
    ck_assert(lf_retry_exhausted(&rc, 3));
    rc.attempts = 1; /* no retry at all */
    ck_assert(lf_retry_exhausted(&rc, 1));
}
END_TEST

/* retry: {jitter} is read from the configuration and bounded. */
START_TEST(retry_jitter_option)
{
    struct fx x;
    fx_init(&x, ", retry: {attempts: 5, backoff: 1s, multiplier: 2, max_backoff: 30s, jitter: 20}");
    ck_assert_int_eq(x.cfg->outputs.n ? lf_conf_output(x.cfg, 0)->retry.jitter : -1, 20);
    ck_assert_int_eq(lf_conf_output(x.cfg, 0)->retry.attempts, 5);
    fx_fini(&x);
    struct lf_config *cfg = NULL;
    struct lf_diag d;
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_ne(
        lf_conf_load_string("outputs: [{name: o, plugin: stdout, retry: {jitter: 101}}]\n",
                            "t.yaml", NULL, &d, &cfg),
        LF_OK);
    lf_diag_fini(&d);
    lf_conf_free(cfg);
}
END_TEST

/* Writes frames with the given messages to output o's spool, as a previous run left them. */
static void spool_prefill_texts(const char *state_dir, const char *const *texts, int n)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/spool/o", state_dir);
    struct lf_spool_opts opts = {.max_size = 1 << 20, .segment_size = 1 << 16};
    struct lf_log_ctx log = {.prefix = "[prefill]", .level = LF_LOG_ERROR};
    struct lf_spool *s;
    ck_assert_int_eq(lf_spool_open(dir, &opts, &log, &s), LF_OK);
    for (int i = 0; i < n; i++) {
        char payload[128], id[40];
        int len = snprintf(payload, sizeof(payload), "{\"message\":\"%s\"}", texts[i]);
        snprintf(id, sizeof(id), "%032d", i);
        struct lf_spool_rec f = {.payload = payload,
                                 .payload_len = (size_t)len,
                                 .id = id,
                                 .source = "/x.log",
                                 .input = "i",
                                 .start_offset = 10u * i,
                                 .end_offset = 10u * i + 10};
        ck_assert_int_eq(lf_spool_append(s, &f), LF_OK);
    }
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
}

/* Runs turns until the spool is empty and nothing waits (at most 10 s). */
static struct lf_outpath_stats fx_pump_spool(struct fx *x)
{
    int64_t deadline = lf_mono_ms() + 10000;
    struct lf_outpath_stats st = fx_stats(x);
    while ((st.spool_records || st.retry_queue || st.inflight) && lf_mono_ms() < deadline) {
        fx_turn(x);
        st = fx_stats(x);
    }
    return st;
}

/* Records read back from the spool follow retry: attempts and backoff like log-file
 * records: the ones that always fail are retried, then dead-lettered with their attempts,
 * the others delivered, and the spool ends empty. */
START_TEST(spool_records_obey_retry_policy)
{
    static const char *const texts[] = {"always a", "fine b", "always c", "fine d"};
    struct fx x;
    fx_top_extra = "breaker: {failure_threshold: 1000}\n";
    fx_init(&x, ", retry: {attempts: 3, backoff: 20ms, multiplier: 2}");
    lf_outpath_close(x.op);
    spool_prefill_texts(x.dir, texts, 4);
    ck_assert_int_eq(lf_outpath_open(x.cfg, 0, x.tr, &x.log, &x.op), LF_OK);
    int64_t t0 = lf_mono_ms();
    struct lf_outpath_stats st = fx_pump_spool(&x);
    int64_t took = lf_mono_ms() - t0;
    ck_assert_uint_eq(st.spool_records, 0);
    ck_assert_uint_eq(st.delivered, 2);
    ck_assert_uint_eq(st.dead_lettered, 2);
    ck_assert_uint_eq(st.dead_reason[LF_DLQ_RETRIES_EXHAUSTED], 2);
    ck_assert_uint_eq(st.retried, 4); /* two retries each: 3 attempts */
    ck_assert_int_ge(took, 20 + 40);  /* the backoff was waited: 20 ms, then 40 ms */
    char path[512];
    snprintf(path, sizeof(path), "%s/dead-letter/o.jsonl", x.dir);
    size_t len;
    char *text = lft_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(lft_count_lines(path), 2);
    ck_assert_ptr_nonnull(strstr(text, "\"reason\":\"retries_exhausted\""));
    ck_assert_ptr_nonnull(strstr(text, "\"attempts\":3,"));
    ck_assert_ptr_nonnull(strstr(text, "\"record\":{\"message\":\"always a\"}"));
    ck_assert_ptr_null(strstr(text, "fine"));
    free(text);
    ck_assert_uint_eq(fx_delivered_lines(&x), 2);
    fx_fini(&x);
    fx_top_extra = NULL;
}
END_TEST

/* A spool record that fails transiently while the policy allows retries is retried from
 * memory (not read again and again from the spool) and delivered. */
START_TEST(spool_record_retried_then_delivered)
{
    static const char *const texts[] = {"retry once", "fine"};
    struct fx x;
    fx_init(&x, ", retry: {attempts: 5, backoff: 10ms}");
    lf_outpath_close(x.op);
    spool_prefill_texts(x.dir, texts, 2);
    ck_assert_int_eq(lf_outpath_open(x.cfg, 0, x.tr, &x.log, &x.op), LF_OK);
    struct lf_outpath_stats st = fx_pump_spool(&x);
    ck_assert_uint_eq(st.spool_records, 0);
    ck_assert_uint_eq(st.retried, 1);
    ck_assert_uint_eq(st.delivered, 2);
    ck_assert_uint_eq(st.dead_lettered, 0);
    ck_assert_uint_eq(fx_delivered_lines(&x), 2);
    fx_fini(&x);
}
END_TEST

/* ---- adaptive ticks: what an output asks the loop to wake for ----------------------------- */

/* Delivered and acknowledged: nothing is pending, no wake-up is asked for. */
START_TEST(next_ms_idle_output_asks_none)
{
    struct fx x;
    fx_init(&x, NULL);
    ck_assert_int_eq(lf_outpath_next_ms(x.op, lf_mono_ms()), INT64_MAX);
    fx_route(&x, "hello");
    ck_assert_uint_eq(fx_pump_until(&x, 10), 10);
    fx_turn(&x);
    ck_assert_int_eq(lf_outpath_next_ms(x.op, lf_mono_ms()), INT64_MAX);
    fx_fini(&x);
}
END_TEST

static bool fx_ack_fd_ready(struct fx *x)
{
    struct pollfd p = {.fd = lf_outpath_ack_fd(x->op), .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Waits (at most 5 s) until outcomes are queued, without applying them. */
static bool fx_wait_outcomes(struct fx *x)
{
    int64_t deadline = lf_mono_ms() + 5000;
    while (!lf_outpath_outcomes_waiting(x->op) && lf_mono_ms() < deadline) {
        usleep(1000);
    }
    return lf_outpath_outcomes_waiting(x->op);
}

/* Lazy outcomes: while lazy, a delivery does not signal the ack fd but is seen as
 * waiting; turning lazy off signals it; a failure signals even while lazy. */
START_TEST(lazy_outcomes_wake_only_when_needed)
{
    struct fx x;
    fx_init(&x, NULL);
    ck_assert(!lf_outpath_prepare_wait(x.op, true)); /* nothing in flight: nothing owed */
    fx_route(&x, "hello");
    lf_outpath_end_turn(x.op, lf_mono_ms());
    ck_assert(lf_outpath_prepare_wait(x.op, true)); /* in flight, lazy: owed */
    ck_assert(fx_wait_outcomes(&x));
    ck_assert(!fx_ack_fd_ready(&x));
    lf_outpath_on_outcomes(x.op, lf_mono_ms());
    ck_assert(!lf_outpath_outcomes_waiting(x.op));
    ck_assert_uint_eq(fx_stats(&x).delivered, 1);

    fx_route(&x, "second");
    lf_outpath_end_turn(x.op, lf_mono_ms());
    ck_assert(lf_outpath_prepare_wait(x.op, true));
    ck_assert(fx_wait_outcomes(&x));
    ck_assert(!fx_ack_fd_ready(&x));
    ck_assert(!lf_outpath_prepare_wait(x.op, false)); /* not lazy: wakes at once */
    ck_assert(fx_ack_fd_ready(&x));
    lf_outpath_on_outcomes(x.op, lf_mono_ms());
    ck_assert(!fx_ack_fd_ready(&x));

    fx_route(&x, "reject me");
    lf_outpath_end_turn(x.op, lf_mono_ms());
    ck_assert(lf_outpath_prepare_wait(x.op, true));
    ck_assert(fx_wait_outcomes(&x));
    ck_assert(fx_ack_fd_ready(&x)); /* a failure is never lazy */
    lf_outpath_on_outcomes(x.op, lf_mono_ms());
    ck_assert_uint_eq(fx_stats(&x).delivered, 2);
    fx_fini(&x);
}
END_TEST

/* A lazy delivery is applied by the tick too (the loop's bounded look). */
START_TEST(lazy_outcomes_taken_by_tick)
{
    struct fx x;
    fx_init(&x, NULL);
    fx_route(&x, "hello");
    lf_outpath_end_turn(x.op, lf_mono_ms());
    ck_assert(lf_outpath_prepare_wait(x.op, true));
    ck_assert(fx_wait_outcomes(&x));
    lf_outpath_tick(x.op, lf_mono_ms());
    lf_tracker_advance(x.tr);
    ck_assert_uint_eq(lf_tracker_committed(x.tr, x.key), 10);
    ck_assert(!lf_outpath_prepare_wait(x.op, true)); /* nothing owed any more */
    fx_fini(&x);
}
END_TEST

/* A retry waiting for its backoff: the wake-up is its due time, not a 100 ms tick; in
 * flight (pushed, no outcome yet) the stall timeout is pending. */
START_TEST(next_ms_retry_due_and_stall)
{
    struct fx x;
    fx_init(&x, ", retry: {attempts: 5, backoff: 30s}");
    fx_route(&x, "retry later");
    int64_t pushed = lf_mono_ms();
    lf_outpath_end_turn(x.op, pushed);
    int64_t stall = x.cfg->breaker.stall_timeout_ms;
    ck_assert_int_le(lf_outpath_next_ms(x.op, pushed), lf_mono_ms() + stall + 1);
    int64_t deadline = lf_mono_ms() + 5000;
    while (fx_stats(&x).retry_queue == 0 && lf_mono_ms() < deadline) {
        fx_turn(&x);
    }
    ck_assert_uint_eq(fx_stats(&x).retry_queue, 1);
    int64_t now = lf_mono_ms();
    int64_t next = lf_outpath_next_ms(x.op, now);
    ck_assert_int_gt(next, now + 25000);
    ck_assert_int_le(next, now + 30000);
    fx_fini(&x);
}
END_TEST

/* An open breaker over a durable spool: the only wake-up is the reopen (half-open) time. */
START_TEST(next_ms_breaker_open_waits_for_reopen)
{
    struct fx x;
    fx_top_extra = "breaker: {failure_threshold: 1, open_for: 60s}\n";
    fx_init(&x, ", retry: {attempts: 5, backoff: 10ms}");
    fx_route(&x, "always down");
    int64_t deadline = lf_mono_ms() + 5000;
    while (fx_stats(&x).spool_records == 0 && lf_mono_ms() < deadline) {
        fx_turn(&x);
    }
    fx_turn(&x);
    ck_assert_int_eq(fx_stats(&x).breaker_state, LF_BREAKER_OPEN);
    int64_t now = lf_mono_ms();
    int64_t next = lf_outpath_next_ms(x.op, now);
    ck_assert_int_gt(next, now + 55000);
    ck_assert_int_le(next, now + 60000);
    fx_fini(&x);
    fx_top_extra = NULL;
}
END_TEST

/* Failures that open the breaker are the output's: a record failing during an outage
 * (every try fails, the breaker opens and its probes fail) is not dead-lettered however
 * often it is tried, while retry.attempts is 2. */
START_TEST(outage_does_not_use_up_attempts)
{
    struct fx x;
    fx_top_extra = "breaker: {failure_threshold: 1, open_for: 20ms, max_open_for: 40ms}\n";
    fx_init(&x, ", retry: {attempts: 2, backoff: 10ms}");
    fx_route(&x, "always down");
    int64_t deadline = lf_mono_ms() + 5000;
    while (fx_stats(&x).breaker_opens < 5 && lf_mono_ms() < deadline) {
        fx_turn(&x);
    }
    struct lf_outpath_stats st = fx_stats(&x);
    ck_assert_uint_ge(st.breaker_opens, 5); /* tried (probed) again and again */
    ck_assert_uint_eq(st.dead_lettered, 0);
    ck_assert_uint_eq(st.spool_records, 1);
    ck_assert_uint_eq(lf_tracker_committed(x.tr, x.key), 10); /* durably spooled */
    fx_fini(&x);
    fx_top_extra = NULL;
}
END_TEST

/* ---- remote dead letters ------------------------------------------------------------------ */

/* With a remote destination: a rejected record goes there (not to the local file); one the
 * destination refuses goes to the local file as dlt_failed, or too_large when it says so;
 * every record is done once its dead letter is stored. */
START_TEST(dead_letters_remote_then_local)
{
    struct fx x;
    fx_init(&x, ", remote_dead_letters: true, retry: {attempts: 2, backoff: 10ms}");
    fx_route(&x, "reject me");
    fx_route(&x, "always failing");
    fx_route(&x, "reject dltfail");
    fx_route(&x, "reject dltfail toolarge");
    fx_route(&x, "fine");
    ck_assert_uint_eq(fx_pump_until(&x, 50), 50);
    struct lf_outpath_stats st = fx_stats(&x);
    ck_assert_uint_eq(st.delivered, 1);
    ck_assert_uint_eq(st.dead_lettered, 4);
    ck_assert_uint_eq(st.dead_remote, 2);
    ck_assert_uint_eq(st.dead_reason[LF_DLQ_REJECTED], 1);
    ck_assert_uint_eq(st.dead_reason[LF_DLQ_RETRIES_EXHAUSTED], 1);
    ck_assert_uint_eq(st.dead_reason[LF_DLQ_DLT_FAILED], 1);
    ck_assert_uint_eq(st.dead_reason[LF_DLQ_TOO_LARGE], 1);
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/scripted.dlt", x.dir);
    char *remote = lft_read_file(path, &len);
    ck_assert_ptr_nonnull(remote);
    ck_assert_ptr_nonnull(strstr(remote, "rejected 1 {\"message\":\"reject me\"}"));
    ck_assert_ptr_nonnull(strstr(remote, "retries_exhausted 2 {\"message\":\"always failing\"}"));
    free(remote);
    snprintf(path, sizeof(path), "%s/dead-letter/o.jsonl", x.dir);
    ck_assert_uint_eq(lft_count_lines(path), 2);
    char *local = lft_read_file(path, &len);
    ck_assert_ptr_nonnull(strstr(local, "\"reason\":\"dlt_failed\",\"error\":\"scripted "
                                        "rejection; dead-letter destination: scripted dead-letter "
                                        "failure\""));
    ck_assert_ptr_nonnull(strstr(local, "\"reason\":\"too_large\""));
    free(local);
    fx_fini(&x);
}
END_TEST

/* A local-store line: every key, in the documented order, escaped, times with ms. */
START_TEST(dead_letter_local_store_format)
{
    char *dir = lft_mkdtemp("lf-unit-pipeline");
    struct lf_dlq d;
    ck_assert_int_eq(lf_dlq_open(dir, "out\"x", &d), LF_OK);
    struct lf_rec *r = mkrec(0, 10, 1);
    r->pub.payload = "{\"message\":\"m\"}";
    r->pub.payload_len = strlen(r->pub.payload);
    snprintf(r->pub.id, sizeof(r->pub.id), "%032x", 7);
    struct lf_dlq_entry e = {.rec = &r->pub,
                             .reason = LF_DLQ_RETRIES_EXHAUSTED,
                             .error = "broker said \"no\"",
                             .code = -185,
                             .attempts = 5,
                             .first_failure_ms = 1764763200123,
                             .last_failure_ms = 1764763230456,
                             .destination = "logs.raw"};
    ck_assert_int_eq(lf_dlq_write(&d, &e), LF_OK);
    ck_assert_int_eq(lf_dlq_sync(&d), LF_OK);
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/dead-letter/out\"x.jsonl", dir);
    char *text = lft_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    const char *rest = strstr(text, "\",\"output\":");
    ck_assert_ptr_nonnull(rest);
    ck_assert_uint_eq((size_t)(rest - text), strlen("{\"time\":\"2026-12-03T12:00:00.123Z"));
    ck_assert_str_eq(rest,
                     "\",\"output\":\"out\\\"x\",\"id\":\"00000000000000000000000000000007\","
                     "\"reason\":\"retries_exhausted\",\"error\":\"broker said \\\"no\\\"\","
                     "\"code\":-185,\"attempts\":5,\"first_failure\":\"2025-12-03T12:00:00.123Z\","
                     "\"last_failure\":\"2025-12-03T12:00:30.456Z\",\"destination\":\"logs.raw\","
                     "\"record\":{\"message\":\"m\"}}\n");
    free(text);
    free(r);
    lf_dlq_close(&d);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("tracker");
    tcase_add_test(tc, tracker_keys_files);
    tcase_add_test(tc, tracker_stale_key);
    tcase_add_test(tc, tracker_take_moved);
    tcase_add_test(tc, tracker_any_moved);
    suite_add_tcase(s, tc);
    tc = tcase_create("outpath-errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, push_failure_keeps_batch);
    tcase_add_test(tc, spool_push_failure);
    tcase_add_test(tc, dead_letter_sync_failure);
    tcase_add_test(tc, dead_letter_render_failure);
    tcase_add_test(tc, retry_without_memory);
    tcase_add_test(tc, retries_exhausted_dead_letter);
    tcase_add_test(tc, next_ms_idle_output_asks_none);
    tcase_add_test(tc, lazy_outcomes_wake_only_when_needed);
    tcase_add_test(tc, lazy_outcomes_taken_by_tick);
    tcase_add_test(tc, next_ms_retry_due_and_stall);
    tcase_add_test(tc, next_ms_breaker_open_waits_for_reopen);
    tcase_add_test(tc, router_no_memory_holds_checkpoint);
    suite_add_tcase(s, tc);
    tc = tcase_create("retry");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, retry_schedule_growth);
    tcase_add_test(tc, retry_schedule_jitter_bounds);
    tcase_add_test(tc, retry_attempts_count_the_first_try);
    tcase_add_test(tc, retry_jitter_option);
    tcase_add_test(tc, spool_records_obey_retry_policy);
    tcase_add_test(tc, spool_record_retried_then_delivered);
    tcase_add_test(tc, outage_does_not_use_up_attempts);
    suite_add_tcase(s, tc);
    tc = tcase_create("dead-letters");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dead_letters_remote_then_local);
    tcase_add_test(tc, dead_letter_local_store_format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pipeline_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
