/* check_it_shutdown.c - the shutdown order against Kafka outages, as a process.
 *
 * mock-kafka (the librdkafka mock cluster as a process) with every broker taken down by
 * its `down all` command while the agent holds records it read: SIGTERM must deliver
 * what it can within shutdown_timeout, spool the rest, write checkpoints that cover
 * everything read, and exit 0; started again with the brokers up, the agent delivers
 * every line exactly once (read back with kcat). A second SIGTERM exits at once (75) with
 * checkpoints that do not pass any unacknowledged record: after a restart nothing is
 * missing. Every wait polls an observable state (the agent's /status over a unix socket,
 * the topic's high watermark, the process) with a deadline.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kafka_harness.h"
#include "lf_testlib.h"

#define LINE_FMT "line %zu GET /api/orders/%zu HTTP/1.1 200 the quick brown fox jumps\n"

struct agent {
    char *dir;
    char cfg[300], log[300], state[300], in[300], sock[300];
    pid_t pid;
};

/* breaker: the agent's breaker section (keeps records in flight during the outage). */
static void agent_setup(struct agent *a, struct mock_kafka *mk, const char *topic,
                        const char *shutdown_timeout)
{
    char plugin_dir[512], buf[4096];
    snprintf(plugin_dir, sizeof(plugin_dir), "%s", getenv("OUT_KAFKA_SO"));
    *strrchr(plugin_dir, '/') = '\0';
    a->dir = lft_mkdtemp("shutdown");
    snprintf(a->cfg, sizeof(a->cfg), "%s/cfg.yaml", a->dir);
    snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
    snprintf(a->state, sizeof(a->state), "%s/state", a->dir);
    snprintf(a->in, sizeof(a->in), "%s/in.log", a->dir);
    snprintf(a->sock, sizeof(a->sock), "%s/http.sock", a->dir);
    snprintf(buf, sizeof(buf),
             "agent: { name: it, state_dir: %s, shutdown_timeout: %s, plugin_dir: %s,\n"
             "         http: { listen: 'unix:%s' } }\n"
             "inputs:\n"
             "  - { name: in, paths: ['%s'], start_at: beginning }\n"
             "outputs:\n"
             "  - { name: k, plugin: kafka, brokers: [%s], topic: '%s', key: '{{id}}' }\n"
             "breaker: { failure_threshold: 100000, stall_timeout: 10m }\n",
             a->state, shutdown_timeout, plugin_dir, a->sock, a->in, mk->bootstraps, topic);
    lft_write_file(a->cfg, buf, false);
    lft_write_file(a->in, "", false);
}

static void agent_start(struct agent *a)
{
    char *argv[] = {getenv("LOGFERRY"), "run", "-c", a->cfg, NULL};
    a->pid = lft_spawn(argv, a->log);
    ck_assert_int_gt(a->pid, 0);
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

/* The agent's read offset of its file, from `logferry status --json` (-1 no answer). */
static long read_offset(const struct agent *a)
{
    char cmd[1024], buf[8192];
    snprintf(cmd, sizeof(cmd), "'%s' status -c '%s' --json 2>/dev/null", getenv("LOGFERRY"),
             a->cfg);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(buf, 1, sizeof(buf) - 1, p) : 0;
    if (p) {
        pclose(p);
    }
    buf[n] = '\0';
    const char *r = strstr(buf, "\"read_offset\":");
    return r ? strtol(r + strlen("\"read_offset\":"), NULL, 10) : -1;
}

/* Waits until the agent has read the whole input file. */
static bool wait_read_all(const struct agent *a, int64_t timeout_ms)
{
    int64_t end = lft_now_ms() + timeout_ms;
    while (lft_now_ms() < end) {
        if (read_offset(a) == lft_file_size(a->in)) {
            return true;
        }
        usleep(100 * 1000); /* poll interval of a bounded wait */
    }
    return false;
}

/* The number before `what` in the agent's "stopped:" line, -1 if absent. */
static long stopped_count(const struct agent *a, const char *what)
{
    char *s = lft_read_file(a->log, NULL);
    const char *p = s ? strstr(s, "stopped: ") : NULL;
    const char *w = p ? strstr(p, what) : NULL;
    long n = -1;
    if (w) {
        while (w > p && w[-1] == ' ') {
            w--;
        }
        while (w > p && w[-1] >= '0' && w[-1] <= '9') {
            w--;
        }
        n = strtol(w, NULL, 10);
    }
    free(s);
    return n;
}

struct readback {
    size_t total, distinct, dups;
};

static void read_topic(struct mock_kafka *mk, const char *topic, size_t nlines, struct readback *rb)
{
    unsigned char *seen = calloc(nlines, 1);
    char line[8192];
    FILE *f = kcat_read(mk, topic);
    memset(rb, 0, sizeof(*rb));
    while (f && fgets(line, sizeof(line), f)) {
        const char *m = strstr(line, "\"message\":\"line ");
        size_t n = m ? strtoul(m + strlen("\"message\":\"line "), NULL, 10) : nlines;
        if (n >= nlines) {
            continue;
        }
        rb->total++;
        *(seen[n]++ ? &rb->dups : &rb->distinct) += 1;
    }
    if (f) {
        pclose(f);
    }
    free(seen);
}

/* Waits until the topic holds n records (its high watermark), then reads it back. */
static void wait_topic(struct mock_kafka *mk, const char *topic, size_t n, int64_t timeout_ms,
                       struct readback *rb)
{
    ck_assert_int_ge(mk_wait_hwm(mk, topic, (long)n, timeout_ms), (long)n);
    read_topic(mk, topic, n, rb);
}

/* ---- reload: the Kafka output's connections ------------------------------------------ */

#define MAX_SOCKS 256

/* Inodes of the process's established TCP sockets (from /proc/PID/fd and
 * /proc/net/tcp{,6}); returns how many (at most MAX_SOCKS). */
static size_t tcp_socks(pid_t pid, unsigned long *inodes)
{
    char path[64], link[64];
    unsigned long fds[MAX_SOCKS];
    size_t nfd = 0, n = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d)) && nfd < MAX_SOCKS;) {
        char fdpath[400];
        snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
        ssize_t len = readlink(fdpath, link, sizeof(link) - 1);
        link[len > 0 ? len : 0] = '\0';
        if (sscanf(link, "socket:[%lu]", &fds[nfd]) == 1) {
            nfd++;
        }
    }
    if (d) {
        closedir(d);
    }
    for (int v6 = 0; v6 < 2; v6++) {
        FILE *f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) {
            unsigned st;
            unsigned long ino;
            if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &ino) != 2 ||
                st != 1 /* ESTABLISHED */) {
                continue;
            }
            for (size_t i = 0; i < nfd && n < MAX_SOCKS; i++) {
                n += fds[i] == ino ? (inodes[n] = ino, 1) : 0;
            }
        }
        if (f) {
            fclose(f);
        }
    }
    return n;
}

/* How many of before[] are still among the process's established sockets. */
static size_t still_open(pid_t pid, const unsigned long *before, size_t nbefore)
{
    unsigned long now[MAX_SOCKS];
    size_t n = tcp_socks(pid, now), kept = 0;
    for (size_t i = 0; i < nbefore; i++) {
        for (size_t j = 0; j < n; j++) {
            kept += before[i] == now[j];
        }
    }
    return kept;
}

/* Waits until the agent's log holds text `times` times. */
static bool wait_log_n(const struct agent *a, const char *text, size_t times, int timeout_ms)
{
    int64_t end = lft_now_ms() + timeout_ms;
    while (lft_now_ms() < end) {
        char *s = lft_read_file(a->log, NULL);
        size_t n = 0;
        for (const char *p = s; p && (p = strstr(p, text)); p += strlen(text)) {
            n++;
        }
        free(s);
        if (n >= times) {
            return true;
        }
        usleep(20 * 1000); /* poll interval of a bounded wait */
    }
    return false;
}

START_TEST(test_reload_keeps_kafka_connections)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "3", "-t", "lc3.raw:4:3", NULL};
    struct agent a;
    struct readback rb;
    unsigned long before[MAX_SOCKS];
    char buf[8192];

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "lc3.{{type}}", "5s");
    write_lines(a.in, 0, 100);
    agent_start(&a);
    ck_assert_int_eq(mk_wait_hwm(&mk, "lc3.raw", 100, 30000), 100);
    size_t n = tcp_socks(a.pid, before);
    ck_assert_uint_ge(n, 1); /* the producer's connections to the brokers */

    /* a file output added: the Kafka output is untouched, its sockets stay */
    char *cfg = lft_read_file(a.cfg, NULL);
    snprintf(buf, sizeof(buf), "%s", cfg);
    char *outs = strstr(buf, "outputs:\n");
    ck_assert_ptr_nonnull(outs);
    snprintf(outs + strlen("outputs:\n"), sizeof(buf) - (size_t)(outs - buf) - 9,
             "  - { name: f, plugin: file, path: '%s/f.jsonl' }\n%s", a.dir,
             strstr(cfg, "outputs:\n") + strlen("outputs:\n"));
    lft_write_file(a.cfg, buf, false);
    ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
    ck_assert(wait_log_n(&a, "reload: outputs +1 -0 ~0 =1, inputs +0 -0 ~0 =1", 1, 15000));
    write_lines(a.in, 100, 100);
    ck_assert_int_eq(mk_wait_hwm(&mk, "lc3.raw", 200, 30000), 200);
    ck_assert_uint_eq(still_open(a.pid, before, n), n);

    /* the Kafka output changed (its key): drained, restarted, new connections */
    char *k = strstr(buf, "key: '{{id}}'"), changed[8192];
    ck_assert_ptr_nonnull(k);
    snprintf(changed, sizeof(changed), "%.*skey: '{{type}}'%s", (int)(k - buf), buf,
             k + strlen("key: '{{id}}'"));
    lft_write_file(a.cfg, changed, false);
    ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
    ck_assert(wait_log_n(&a, "reload: outputs +0 -0 ~1 =1, inputs +0 -0 ~0 =1", 1, 15000));
    write_lines(a.in, 200, 100);
    ck_assert_int_eq(mk_wait_hwm(&mk, "lc3.raw", 300, 30000), 300);
    ck_assert_uint_eq(still_open(a.pid, before, n), 0);
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 20000), 0);
    read_topic(&mk, "lc3.raw", 300, &rb);
    ck_assert_uint_eq(rb.distinct, 300);
    ck_assert_uint_eq(rb.dups, 0);
    free(cfg);
    mk_stop(&mk);
    lft_rmtree(a.dir);
    free(a.dir);
}
END_TEST

/* ---- SIGTERM during an outage ----------------------------------------------------------- */

START_TEST(test_sigterm_in_outage_spools_then_delivers_once)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "3", "-t", "lc1.raw:4:3", NULL};
    struct agent a;
    struct readback rb;
    const size_t healthy = 100, n = 5000;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "lc1.{{type}}", "2s");
    write_lines(a.in, 0, healthy);
    agent_start(&a);
    ck_assert_int_eq(mk_wait_hwm(&mk, "lc1.raw", (long)healthy, 30000), (long)healthy);
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    write_lines(a.in, healthy, n);
    ck_assert_msg(wait_read_all(&a, 30000), "the agent never read the whole file");
    int64_t t0 = lft_now_ms();
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 20000), 0);
    fprintf(stderr, "SIGTERM in outage: exit 0 after %lld ms, %ld spooled\n",
            (long long)(lft_now_ms() - t0), stopped_count(&a, "spooled"));
    ck_assert_int_ge(stopped_count(&a, "spooled"), 1); /* step 4 spooled the rest */
    ck_assert_int_eq(lft_ckpt_offset(a.state, a.in),
                     lft_file_size(a.in)); /* step 5 covers it all */

    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    agent_start(&a);
    wait_topic(&mk, "lc1.raw", healthy + n, 60000, &rb);
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 20000), 0);
    read_topic(&mk, "lc1.raw", healthy + n, &rb); /* everything the agent ever sent */
    fprintf(stderr, "after restart: %zu records, %zu distinct, %zu duplicates\n", rb.total,
            rb.distinct, rb.dups);
    ck_assert_uint_eq(rb.distinct, healthy + n);
    ck_assert_uint_eq(rb.dups, 0);
    mk_stop(&mk);
    lft_rmtree(a.dir);
    free(a.dir);
}
END_TEST

/* ---- second SIGTERM ----------------------------------------------------------------------- */

START_TEST(test_second_sigterm_exits_at_once_consistent)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "3", "-t", "lc2.raw:4:3", NULL};
    struct agent a;
    struct readback rb;
    const size_t n = 3000;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "lc2.{{type}}", "60s");
    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    write_lines(a.in, 0, n);
    agent_start(&a);
    ck_assert_msg(wait_read_all(&a, 30000), "the agent never read the whole file");
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    char *grep[] = {"grep", "-q", "shutting down", a.log, NULL};
    int64_t end = lft_now_ms() + 10000;
    while (lft_run(grep, NULL) != 0 && lft_now_ms() < end) {
        usleep(20 * 1000); /* poll interval of a bounded wait */
    }
    int64_t t0 = lft_now_ms();
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 5000), 75); /* not the 60 s shutdown_timeout */
    fprintf(stderr, "second SIGTERM: exit 75 after %lld ms, checkpoint %ld of %ld bytes\n",
            (long long)(lft_now_ms() - t0), lft_ckpt_offset(a.state, a.in), lft_file_size(a.in));
    ck_assert_int_le(lft_ckpt_offset(a.state, a.in), 0); /* nothing was acknowledged */

    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    agent_start(&a);
    wait_topic(&mk, "lc2.raw", n, 60000, &rb);
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 20000), 0);
    read_topic(&mk, "lc2.raw", n, &rb);
    ck_assert_uint_eq(rb.distinct, n);
    ck_assert_uint_eq(rb.dups, 0);
    mk_stop(&mk);
    lft_rmtree(a.dir);
    free(a.dir);
}
END_TEST

static Suite *shutdown_suite(void)
{
    Suite *s = suite_create("lifecycle-shutdown");
    TCase *tc = tcase_create("shutdown");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_sigterm_in_outage_spools_then_delivers_once);
    tcase_add_test(tc, test_second_sigterm_exits_at_once_consistent);
    tcase_add_test(tc, test_reload_keeps_kafka_connections);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shutdown_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
