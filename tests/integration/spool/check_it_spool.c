/* check_it_spool.c - the agent's spool and circuit breaker against a Kafka outage.
 *
 * Each test starts its own mock-kafka (the librdkafka mock cluster as a process) and a
 * `logferry run` process, takes every broker down with the mock's `down all` command,
 * writes lines, and brings the brokers back. Lines are read back with kcat. Cases: an
 * outage with real logrotate rotating and deleting the files (rotate 0); SIGKILL of the
 * agent during the outage after its lines were spooled, the log file deleted, then a
 * restart; a spool too small for the outage (when_full: block); and the state directory
 * on a tiny tmpfs (ENOSPC). Every wait polls an observable state with a deadline.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka_harness.h"
#include "lf_testlib.h"

extern char **environ;

#define LINE_FMT "line %zu GET /api/orders/%zu HTTP/1.1 200 the quick brown fox jumps\n"

struct agent {
    char dir[256];
    char cfg[300];
    char log[300];
    char state[300];
    pid_t pid;
};

static void agent_setup(struct agent *a, struct mock_kafka *mk, const char *topic,
                        const char *state_dir, const char *extra)
{
    const char *so = getenv("OUT_KAFKA_SO");
    char plugin_dir[512];

    snprintf(a->dir, sizeof(a->dir), "/tmp/lf-it-spool-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(a->dir));
    snprintf(plugin_dir, sizeof(plugin_dir), "%s", so);
    *strrchr(plugin_dir, '/') = '\0';
    snprintf(a->cfg, sizeof(a->cfg), "%s/cfg.yaml", a->dir);
    snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
    if (state_dir) {
        snprintf(a->state, sizeof(a->state), "%s", state_dir);
    } else {
        snprintf(a->state, sizeof(a->state), "%s/state", a->dir);
    }
    FILE *f = fopen(a->cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "agent: { name: it, state_dir: %s, shutdown_timeout: 5s, plugin_dir: %s,\n"
            "         checkpoint_interval: 200ms }\n"
            "inputs:\n"
            "  - { name: in, paths: ['%s/in.log'], start_at: beginning }\n"
            "outputs:\n"
            "  - { name: k, plugin: kafka, brokers: [%s], topic: '%s', key: '{{id}}' }\n"
            "breaker: { failure_threshold: 5, open_for: 1s, max_open_for: 2s, "
            "stall_timeout: 2s }\n"
            "%s",
            a->state, plugin_dir, a->dir, mk->bootstraps, topic, extra ? extra : "");
    fclose(f);
}

static void agent_start(struct agent *a)
{
    const char *exe = getenv("LOGFERRY");
    char *argv[] = {(char *)exe, "run", "-c", a->cfg, NULL};
    posix_spawn_file_actions_t fa;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, a->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_int_eq(posix_spawn(&a->pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
}

static int agent_signal_wait(struct agent *a, int sig)
{
    int status = 0;
    kill(a->pid, sig);
    waitpid(a->pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void write_lines(const char *path, size_t from, size_t n)
{
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    for (size_t i = from; i < from + n; i++) {
        fprintf(f, LINE_FMT, i, i);
    }
    fclose(f);
}

static void in_log(const struct agent *a, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/in.log", a->dir);
}

/* Waits until the checkpoint of path reaches its size: with every broker down this means
 * every line is durably in the spool. */
static bool wait_spooled(const struct agent *a, const char *path, int64_t timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    while (h_now_ms() < end) {
        if (lft_ckpt_offset(a->state, path) == lft_file_size(path)) {
            return true;
        }
        usleep(100 * 1000); /* poll interval of a bounded wait */
    }
    return false;
}

/* Waits until the agent's log contains text. */
static bool wait_log(const struct agent *a, const char *text, int64_t timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    char *argv[] = {"grep", "-q", "--", (char *)text, (char *)a->log, NULL};
    while (h_now_ms() < end) {
        if (lft_run(argv, NULL) == 0) {
            return true;
        }
        usleep(100 * 1000); /* poll interval of a bounded wait */
    }
    return false;
}

struct readback {
    size_t total, distinct, dups, out_of_order;
};

/* Reads the topic: distinct line numbers, duplicates, and lines that arrived (for the
 * first time) in a partition after a higher line of the same generation in that
 * partition. gen_of maps a line number to the file it was written to; NULL = one file.
 * (Keys spread the lines over partitions, as the mock keeps only ~5 MB per partition.) */
static void read_topic(struct mock_kafka *mk, const char *topic, size_t nlines,
                       size_t (*gen_of)(size_t), struct readback *rb)
{
    unsigned char *seen = calloc(nlines, 1);
    long last[16][64];
    char line[8192];
    FILE *f = kcat_read(mk, topic);

    memset(rb, 0, sizeof(*rb));
    memset(last, 0xff, sizeof(last)); /* all -1 */
    while (fgets(line, sizeof(line), f)) {
        const char *m = strstr(line, "\"message\":\"line ");
        if (!m) {
            continue;
        }
        size_t n = strtoul(m + strlen("\"message\":\"line "), NULL, 10);
        rb->total++;
        if (n >= nlines) {
            continue;
        }
        if (seen[n]++) {
            rb->dups++;
            continue;
        }
        rb->distinct++;
        size_t g = gen_of ? gen_of(n) % 64 : 0;
        size_t p = strtoul(line, NULL, 10) % 16;
        if ((long)n < last[p][g]) {
            rb->out_of_order++;
        }
        last[p][g] = (long)n;
    }
    pclose(f);
    free(seen);
}

/* True when the agent's log mentions a corrupt or quarantined spool frame. */
static bool log_reports_corruption(const struct agent *a)
{
    char *argv[] = {"grep", "-Eq", "quarantined|corrupt", (char *)a->log, NULL};
    return lft_run(argv, NULL) == 0;
}

/* Waits until every line 0..n-1 is in the topic at least once (duplicates are allowed:
 * at-least-once), reading it back with kcat each time the high watermark allows it. */
static void wait_all(struct mock_kafka *mk, const char *topic, size_t n, size_t (*gen_of)(size_t),
                     int64_t timeout_ms, struct readback *rb)
{
    int64_t end = h_now_ms() + timeout_ms;
    memset(rb, 0, sizeof(*rb));
    while (h_now_ms() < end) {
        if (mk_wait_hwm(mk, topic, (long)n, end - h_now_ms()) < (long)n) {
            break;
        }
        read_topic(mk, topic, n, gen_of, rb);
        if (rb->distinct == n) {
            break;
        }
        usleep(500 * 1000); /* poll interval of a bounded wait */
    }
}

/* ---- outage with rotation ------------------------------------------------------------ */

#define ROT_GENS  4
#define ROT_LINES 50000 /* per generation: 200,000 in all */

static size_t rot_gen(size_t n)
{
    return n < 1000 ? 0 : 1 + (n - 1000) / ROT_LINES;
}

static void logrotate_now(const struct agent *a)
{
    char conf[400], state[400];
    snprintf(conf, sizeof(conf), "%s/logrotate.conf", a->dir);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s/in.log {\n  rotate 0\n  create\n  missingok\n}\n", a->dir);
    fclose(f);
    ck_assert_int_lt(snprintf(state, sizeof(state), "%s/logrotate.state", a->dir),
                     (int)sizeof(state));
    const char *lr = getenv("LOGROTATE");
    char *argv[] = {(char *)(lr ? lr : "logrotate"), "-f", "-s", state, conf, NULL};
    int rc = lft_run(argv, NULL);
    ck_assert_msg(rc == 0, "logrotate failed (exit %d): %s -f -s %s %s", rc, argv[0], state, conf);
}

START_TEST(test_outage_with_rotation_delivers_all_in_order)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "3", "-t", "sp1.raw:12:3", NULL};
    struct agent a;
    struct readback rb;
    char path[300];
    const size_t total = 1000 + ROT_GENS * ROT_LINES;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "sp1.{{type}}", NULL, NULL);
    in_log(&a, path, sizeof(path));
    write_lines(path, 0, 1000);
    agent_start(&a);
    ck_assert_int_eq(mk_wait_hwm(&mk, "sp1.raw", 1000, 30000), 1000); /* healthy first */

    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    int64_t outage_start = h_now_ms();
    for (size_t g = 0; g < ROT_GENS; g++) {
        write_lines(path, 1000 + g * ROT_LINES, ROT_LINES);
        /* rotate 0 deletes the rotated file: only what the agent read (and spooled)
         * survives. Wait until it is all durable before rotating it away. */
        ck_assert_msg(wait_spooled(&a, path, 60000), "generation %zu never reached the spool", g);
        logrotate_now(&a);
    }
    ck_assert(wait_log(&a, "breaker open", 1000));
    long during = mk_hwm(&mk, "sp1.raw");
    /* hold the outage for 30 s in all */
    while (h_now_ms() - outage_start < 30000) {
        usleep(200 * 1000); /* the outage's length is the test's parameter, not a sync */
    }
    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    wait_all(&mk, "sp1.raw", total, rot_gen, 120000, &rb);
    fprintf(stderr, "outage: %ld in Kafka during it, %ld after recovery\n", during,
            mk_hwm(&mk, "sp1.raw"));
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    fprintf(stderr, "read back: %zu messages, %zu distinct, %zu re-sent, %zu out of order\n",
            rb.total, rb.distinct, rb.dups, rb.out_of_order);
    ck_assert_uint_eq(rb.distinct, total);
    ck_assert_uint_eq(rb.out_of_order, 0);
    mk_stop(&mk);
}
END_TEST

/* ---- SIGKILL during the outage ----------------------------------------------------------- */

START_TEST(test_sigkill_in_outage_then_file_deleted)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "3", "-t", "sp2.raw:2:3", NULL};
    struct agent a;
    struct readback rb;
    char path[300];
    const size_t n = 20000;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "sp2.{{type}}", NULL, NULL);
    in_log(&a, path, sizeof(path));
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    write_lines(path, 0, n);
    agent_start(&a);
    ck_assert_msg(wait_spooled(&a, path, 60000), "lines never reached the spool");
    ck_assert_int_le(mk_hwm(&mk, "sp2.raw"), 0); /* -1: no broker answers */
    ck_assert_int_eq(agent_signal_wait(&a, SIGKILL), 128 + SIGKILL);
    ck_assert_int_eq(unlink(path), 0); /* only the spool has them now */
    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    agent_start(&a);
    wait_all(&mk, "sp2.raw", n, NULL, 60000, &rb);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    fprintf(stderr, "after SIGKILL + restart: %zu messages, %zu distinct, %zu re-sent\n", rb.total,
            rb.distinct, rb.dups);
    ck_assert_uint_eq(rb.distinct, n);
    mk_stop(&mk);
}
END_TEST

/* ---- spool full, block ----------------------------------------------------------------- */

START_TEST(test_spool_full_blocks_inputs_then_resumes)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "sp3.raw:1:1", NULL};
    struct agent a;
    struct readback rb;
    char path[300];
    const size_t n = 20000; /* ~4 MB of records against a 1 MiB spool */

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "sp3.{{type}}", NULL,
                "buffer: { max_size: 1MiB, segment_size: 64KiB, when_full: block }\n");
    in_log(&a, path, sizeof(path));
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    write_lines(path, 0, n);
    agent_start(&a);
    ck_assert_msg(wait_log(&a, "spool refuses records", 60000), "the spool never filled");
    long ck = lft_ckpt_offset(a.state, path);
    ck_assert_int_lt(ck, lft_file_size(path)); /* reading paused: the log file is the buffer */
    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    wait_all(&mk, "sp3.raw", n, NULL, 90000, &rb);
    ck_assert(wait_log(&a, "spool accepts records again", 1000));
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    ck_assert_uint_eq(rb.distinct, n);
    ck_assert_uint_eq(rb.out_of_order, 0);
    mk_stop(&mk);
}
END_TEST

/* ---- ENOSPC on the state directory ------------------------------------------------------ */

START_TEST(test_enospc_on_state_dir_recovers)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "sp4.raw:1:1", NULL};
    struct agent a;
    struct readback rb;
    char path[300], mnt[] = "/tmp/lf-it-spool-fs-XXXXXX";
    const size_t n = 20000;

    ck_assert_ptr_nonnull(mkdtemp(mnt));
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        fprintf(stderr, "SKIP: cannot mount a small tmpfs (%s); ENOSPC case not run\n",
                strerror(errno));
        rmdir(mnt);
        return;
    }
    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "sp4.{{type}}", mnt, "buffer: { segment_size: 64KiB }\n");
    in_log(&a, path, sizeof(path));
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    write_lines(path, 0, n);
    agent_start(&a);
    ck_assert_msg(wait_log(&a, "spool refuses records", 60000), "the state disk never filled");
    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    wait_all(&mk, "sp4.raw", n, NULL, 90000, &rb);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    fprintf(stderr, "ENOSPC: %zu messages, %zu distinct, %zu re-sent\n", rb.total, rb.distinct,
            rb.dups);
    ck_assert_uint_eq(rb.distinct, n);
    /* nothing was left corrupt: a restart finds no bad frame and no bad checkpoint */
    ck_assert_int_eq(truncate(a.log, 0), 0);
    agent_start(&a);
    ck_assert(wait_log(&a, "started:", 10000));
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    ck_assert(!log_reports_corruption(&a));
    mk_stop(&mk);
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *s = suite_create("spool-agent");
    TCase *tc = tcase_create("outage");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_sigkill_in_outage_then_file_deleted);
    tcase_add_test(tc, test_spool_full_blocks_inputs_then_resumes);
    tcase_add_test(tc, test_enospc_on_state_dir_recovers);
    tcase_add_test(tc, test_outage_with_rotation_delivers_all_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spool_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
