/* check_it_kafka_agent.c - the whole agent (`logferry run -c`) into mock-kafka via out_kafka.
 *
 * Each test writes a log file, starts its own mock-kafka and a logferry process, waits on
 * the cluster's high watermarks with a deadline, and reads the topic back with kcat:
 * exactly once, a record over max_message_bytes dead-lettered while the others flow, and
 * SIGTERM mid-stream followed by a restart losing nothing.
 */
#include <check.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka_harness.h"
#include "lf_testlib.h"

extern char **environ;

struct agent {
    char dir[256];
    char cfg[300];
    pid_t pid;
};

static void agent_setup(struct agent *a, struct mock_kafka *mk, const char *topic,
                        const char *extra)
{
    const char *so = getenv("OUT_KAFKA_SO");
    char plugin_dir[512];
    FILE *f;

    snprintf(a->dir, sizeof(a->dir), "/tmp/lf-it-kafka-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(a->dir));
    snprintf(plugin_dir, sizeof(plugin_dir), "%s", so);
    *strrchr(plugin_dir, '/') = '\0';
    snprintf(a->cfg, sizeof(a->cfg), "%s/cfg.yaml", a->dir);
    f = fopen(a->cfg, "w");
    fprintf(f,
            "agent: { name: it, state_dir: %s/state, shutdown_timeout: 10s, plugin_dir: %s }\n"
            "inputs:\n"
            "  - { name: in, paths: [%s/in.log], start_at: beginning }\n"
            "outputs:\n"
            "  - { name: k, plugin: kafka, brokers: [%s], topic: '%s', key: '{{id}}'%s }\n",
            a->dir, plugin_dir, a->dir, mk->bootstraps, topic, extra ? extra : "");
    fclose(f);
}

static void write_lines(struct agent *a, size_t from, size_t n, size_t big_at)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/in.log", a->dir);
    f = fopen(path, "a");
    for (size_t i = from; i < from + n; i++) {
        if (i == big_at) {
            fprintf(f, "line %zu ", i);
            for (int k = 0; k < 3000; k++) {
                fputc('y', f);
            }
            fputc('\n', f);
        } else {
            fprintf(f, "line %zu GET /api/orders/%zu 200\n", i, i);
        }
    }
    fclose(f);
}

static void agent_start(struct agent *a)
{
    const char *exe = getenv("LOGFERRY");
    char *argv[] = {(char *)exe, "run", "-c", a->cfg, NULL};

    ck_assert_int_eq(posix_spawn(&a->pid, exe, NULL, NULL, argv, environ), 0);
}

static int agent_stop(struct agent *a)
{
    int status = 0;

    kill(a->pid, SIGTERM);
    waitpid(a->pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads the topic back: counts messages, distinct line numbers and duplicates. */
static void read_topic(struct mock_kafka *mk, const char *topic, size_t nlines, size_t *total,
                       size_t *distinct, size_t *dups)
{
    unsigned char *seen = calloc(nlines, 1);
    char line[8192];
    FILE *f = kcat_read(mk, topic);

    *total = *distinct = *dups = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *m = strstr(line, "\"message\":\"line ");
        if (!m) {
            continue;
        }
        size_t n = strtoul(m + strlen("\"message\":\"line "), NULL, 10);
        (*total)++;
        if (n < nlines) {
            if (seen[n]++) {
                (*dups)++;
            } else {
                (*distinct)++;
            }
        }
    }
    pclose(f);
    free(seen);
}

START_TEST(test_agent_100k_exactly_once)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "3", "-t", "it1.raw:16:3", NULL};
    struct agent a;
    size_t total, distinct, dups;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "it1.{{type}}", NULL);
    write_lines(&a, 0, 100000, SIZE_MAX);
    int64_t t0 = h_now_ms();
    agent_start(&a);
    long hwm = mk_wait_hwm(&mk, "it1.raw", 100000, 90000);
    int64_t dt = h_now_ms() - t0;
    fprintf(stderr, "agent: 100000 lines in Kafka after %lld ms (%.0f lines/s, incl. startup)\n",
            (long long)dt, 100000.0 * 1000.0 / (double)(dt ? dt : 1));
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(hwm, 100000);
    read_topic(&mk, "it1.raw", 100000, &total, &distinct, &dups);
    ck_assert_uint_eq(distinct, 100000);
    ck_assert_uint_eq(dups, 0);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_agent_oversize_dead_lettered)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "it2.raw:2:1", NULL};
    struct agent a;
    size_t total, distinct, dups;
    char cmd[600], out[256] = "";

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "it2.{{type}}", ", max_message_bytes: 2KiB");
    write_lines(&a, 0, 1000, 500);
    agent_start(&a);
    long hwm = mk_wait_hwm(&mk, "it2.raw", 999, 30000);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(hwm, 999);
    read_topic(&mk, "it2.raw", 1000, &total, &distinct, &dups);
    ck_assert_uint_eq(distinct, 999);
    /* The core writes dead letters under state_dir: the big line must be there. */
    snprintf(cmd, sizeof(cmd), "grep -rl 'max_message_bytes' %s/state | head -1", a.dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
    pclose(p);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_agent_sigterm_mid_stream_restart)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "3", "-t", "it3.raw:8:3", NULL};
    struct agent a;
    size_t total, distinct, dups;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    /* Latency so the stop lands while records are in flight. */
    ck_assert_str_eq(mk_cmd(&mk, "rtt all 300"), "ok");
    agent_setup(&a, &mk, "it3.{{type}}", ", linger: 20ms, batch_size: 4KiB");
    write_lines(&a, 0, 50000, SIZE_MAX);
    agent_start(&a);
    long hwm = mk_wait_hwm(&mk, "it3.raw", 1000, 30000);
    ck_assert_int_ge(hwm, 1000);
    int rc = agent_stop(&a);
    ck_assert(rc == 0 || rc == 75);
    hwm = mk_hwm(&mk, "it3.raw");
    fprintf(stderr, "stopped with %ld of 50000 in Kafka\n", hwm);
    ck_assert_int_lt(hwm, 50000); /* really mid-stream */
    ck_assert_str_eq(mk_cmd(&mk, "rtt all 0"), "ok");
    agent_start(&a); /* restart: re-reads from the checkpoint */
    mk_wait_hwm(&mk, "it3.raw", 50000, 60000);
    ck_assert_int_eq(agent_stop(&a), 0);
    read_topic(&mk, "it3.raw", 50000, &total, &distinct, &dups);
    fprintf(stderr, "after restart: %zu messages, %zu distinct, %zu re-sent\n", total, distinct,
            dups);
    ck_assert_uint_eq(distinct, 50000); /* none lost; duplicates are allowed (at-least-once) */
    mk_stop(&mk);
}
END_TEST

/* Peak resident memory of a process so far (VmHWM), in KiB; -1 if gone. */
static long vm_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib;
}

/* A slow output (300 ms round trips) behind 200,000 lines (about 160 MB of records): with
 * agent.memory_limit 1 MiB the reader must stop and wait, so the agent's peak memory stays
 * far below what holding the records would need. */
START_TEST(test_agent_memory_bounded_when_output_slow)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "it4.raw:4:1", NULL};
    struct agent a;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    ck_assert_str_eq(mk_cmd(&mk, "rtt all 300"), "ok");
    agent_setup(&a, &mk, "it4.{{type}}", NULL);
    /* memory_limit goes in the agent section, the config's first line */
    char *sed[] = {"sed", "-i",
                   "1s/shutdown_timeout: 10s/shutdown_timeout: 10s, memory_limit: 1MiB/", a.cfg,
                   NULL};
    ck_assert_int_eq(lft_run(sed, NULL), 0);
    char *conf = lft_read_file(a.cfg, NULL); /* sed exits 0 even when nothing matched */
    ck_assert_ptr_nonnull(conf);
    ck_assert_ptr_nonnull(strstr(conf, "memory_limit: 1MiB"));
    free(conf);
    write_lines(&a, 0, 200000, SIZE_MAX);
    agent_start(&a);
    long peak = 0;
    int64_t end = h_now_ms() + 120000;
    long hwm = 0;
    while (h_now_ms() < end && hwm < 200000) {
        long k = vm_hwm_kib(a.pid);
        peak = k > peak ? k : peak;
        hwm = mk_hwm(&mk, "it4.raw");
        usleep(200 * 1000); /* sampling interval of a bounded wait */
    }
    fprintf(stderr, "slow output: %ld of 200000 delivered, agent peak RSS %ld KiB\n", hwm, peak);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(hwm, 200000);
    ck_assert_int_gt(peak, 0);
    /* holding the records would take > 160 MiB; lf_testlib.h: no RSS bound under ASan */
    ck_assert(LFT_ASAN || peak < 64 * 1024);
    mk_stop(&mk);
}
END_TEST

static Suite *agent_suite(void)
{
    Suite *s = suite_create("kafka-agent");
    TCase *tc = tcase_create("agent");

    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, test_agent_100k_exactly_once);
    tcase_add_test(tc, test_agent_oversize_dead_lettered);
    tcase_add_test(tc, test_agent_sigterm_mid_stream_restart);
    tcase_add_test(tc, test_agent_memory_bounded_when_output_slow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(agent_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
