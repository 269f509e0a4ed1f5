/* check_it_rabbitmq.c - out_rabbitmq against a real rabbitmq-server.
 *
 * One private broker per suite run (tests/lib/rabbitmq.sh, suite-level unchecked
 * fixture), one exchange and queue per test. The plugin is driven by rmq-fakecore,
 * which plays the core's part (submit with backpressure, re-offer on LF_RETRY, flush),
 * and read back with rmq_client. Waits are event-based with deadlines: a process exit,
 * a queue depth, a log line. Set RMQ_IT_KEEP=1 to keep the broker dir for debugging.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rmq_client.h"

static char broker_dir[320];
static char node[64];
static int amqp_port;
static int dist_port;
static char url[256];
static char work_dir[64];

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs argv with stdout/stderr to files (NULL: inherit); returns the pid. */
static pid_t spawn(char *const argv[], const char *out, const char *err)
{
    pid_t pid = fork();

    if (pid == 0) {
        if (out && !freopen(out, "w", stdout)) {
            _exit(127);
        }
        if (err && !freopen(err, "w", stderr)) {
            _exit(127);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Waits for pid up to timeout_ms (bounded polling); kills it after. Exit code or -1. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    const char *argv0 = "child";
    int64_t end = rmq_client_now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFSIGNALED(status)) {
                fprintf(stderr, "it-rabbitmq: %s killed by signal %d\n", argv0, WTERMSIG(status));
            }
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        if (rmq_client_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        msleep(50);
    }
}

static int run(char *const argv[], const char *out, const char *err, int timeout_ms)
{
    return wait_exit(spawn(argv, out, err), timeout_ms);
}

static int launcher(const char *cmd, int timeout_ms, ...)
{
    char *argv[16] = {RMQ_LAUNCHER, (char *)cmd};
    int n = 2;
    va_list ap;

    va_start(ap, timeout_ms);
    for (char *a; n < 15 && (a = va_arg(ap, char *)) != NULL;) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return run(argv, NULL, NULL, timeout_ms);
}

static int broker_start(void)
{
    char port[16], dist[16];

    snprintf(port, sizeof(port), "%d", amqp_port);
    snprintf(dist, sizeof(dist), "%d", dist_port);
    return launcher("start", 90000, broker_dir, node, port, dist, "60", NULL);
}

static void broker_stop(void)
{
    launcher("stop", 60000, broker_dir, node, "40", NULL);
}

static void suite_setup(void)
{
    /* 5800-6699: 5700-5799 belong to the other suites that start a broker (dlt, dlq, chaos)
     * and 6800 up to it-tls, so suites running side by side never race for a port */
    unsigned base = 5800 + (unsigned)getpid() % 900;
    char tmpl[] = "/tmp/lf-it-rmq.XXXXXX";

    if (mkdtemp(tmpl) == NULL) {
        abort();
    }
    chmod(tmpl, 0755); /* the broker runs as the rabbitmq user */
    snprintf(work_dir, sizeof(work_dir), "%s", tmpl);
    snprintf(broker_dir, sizeof(broker_dir), "%s/broker", work_dir);
    snprintf(node, sizeof(node), "lfit%d@localhost", (int)getpid());
    amqp_port = (int)base;
    dist_port = (int)base + 20000;
    snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%d/%%2f", amqp_port);
    if (broker_start() != 0) {
        fprintf(stderr, "cannot start rabbitmq-server (is it installed?)\n");
        launcher("logs", 5000, broker_dir, NULL);
        abort();
    }
}

static void suite_teardown(void)
{
    char *rm[] = {"/bin/rm", "-rf", work_dir, NULL};

    broker_stop();
    if (getenv("RMQ_IT_KEEP") == NULL) {
        run(rm, NULL, NULL, 30000);
    }
}

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", work_dir, name);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL) {
        return strdup("");
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (cap + 4096) * 2;
            s = realloc(s, cap);
        }
        size_t r = fread(s + n, 1, 4096, f);
        n += r;
        if (r == 0) {
            break;
        }
    }
    fclose(f);
    s[n] = '\0';
    return s;
}

static int count_str(const char *path, const char *needle)
{
    char *s = slurp(path);
    int n = 0;

    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    free(s);
    return n;
}

static bool wait_log(const char *path, const char *needle, int timeout_ms)
{
    int64_t end = rmq_client_now_ms() + timeout_ms;

    while (rmq_client_now_ms() < end) {
        if (count_str(path, needle) > 0) {
            return true;
        }
        msleep(100);
    }
    return false;
}

/* Reads "key=value" from the fakecore summary line. */
static long summary(const char *path, const char *key)
{
    char *s = slurp(path), pat[64];
    const char *p;
    long v = -1;

    snprintf(pat, sizeof(pat), "%s=", key);
    p = strstr(s, pat);
    if (p) {
        v = strtol(p + strlen(pat), NULL, 10);
    }
    free(s);
    return v;
}

static void declare(const char *queue, const char *exchange, const char *key)
{
    struct rmq_client c;

    ck_assert_msg(rmq_client_open(&c, url) == 0, "%s", c.err);
    ck_assert_msg(rmq_client_declare(&c, queue, exchange, key) == 0, "%s", c.err);
    rmq_client_close(&c);
}

static long depth(const char *queue)
{
    struct rmq_client c;
    long d;

    if (rmq_client_open(&c, url) != 0) {
        return -1;
    }
    d = rmq_client_depth(&c, queue);
    rmq_client_close(&c);
    return d;
}

static bool wait_depth(const char *queue, long min, int timeout_ms)
{
    int64_t end = rmq_client_now_ms() + timeout_ms;

    while (rmq_client_now_ms() < end) {
        if (depth(queue) >= min) {
            return true;
        }
        msleep(100);
    }
    return false;
}

static void drain(const char *queue, struct rmq_stats *st)
{
    struct rmq_client c;

    ck_assert_msg(rmq_client_open(&c, url) == 0, "%s", c.err);
    ck_assert_msg(rmq_client_drain(&c, queue, 100000, 3000, 120000, st, false) == 0, "%s", c.err);
    rmq_client_close(&c);
}

/* Starts rmq-fakecore with extra args (NULL-terminated). */
static pid_t fakecore(const char *out, const char *err, const char *exchange, ...)
{
    char *argv[32] = {RMQ_FAKECORE, "--plugin",   RMQ_PLUGIN,      "--url",
                      url,          "--exchange", (char *)exchange};
    int n = 7;
    va_list ap;

    va_start(ap, exchange);
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return spawn(argv, out, err);
}

START_TEST(test_100k_persistent_confirmed)
{
    char out[300], err[300];
    struct rmq_stats all, req, error;

    path_in(out, sizeof(out), "bulk.out");
    path_in(err, sizeof(err), "bulk.err");
    declare("it.bulk.all", "it.bulk", "#");
    declare("it.bulk.request", "it.bulk", "request");
    declare("it.bulk.error", "it.bulk", "error");
    pid_t pid = fakecore(out, err, "it.bulk", "--count", "100000", "--types", "request,error",
                         "--deadline-ms", "120000", NULL);
    ck_assert_int_eq(wait_exit(pid, 150000), 0);
    ck_assert_int_eq(summary(out, "delivered"), 100000);
    ck_assert_int_eq(summary(out, "double_acks"), 0);
    fprintf(stderr, "it-rabbitmq: 100000 records: %ld records/s (elapsed %ld ms)\n",
            summary(out, "rate"), summary(out, "elapsed_ms"));

    drain("it.bulk.all", &all);
    ck_assert_uint_eq(all.unique, 100000);
    ck_assert_uint_eq(all.not_persistent, 0);
    ck_assert_uint_eq(all.bad_content_type, 0);
    ck_assert_uint_eq(all.no_message_id, 0);
    /* Routing keys from '{{type}}': each bound key got exactly its half. */
    drain("it.bulk.request", &req);
    drain("it.bulk.error", &error);
    ck_assert_uint_eq(req.unique, 50000);
    ck_assert_uint_eq(error.unique, 50000);
}
END_TEST

START_TEST(test_unroutable_rejected)
{
    char out[300], err[300];
    struct rmq_stats st;

    path_in(out, sizeof(out), "unr.out");
    path_in(err, sizeof(err), "unr.err");
    declare("it.unr.request", "it.unr", "request"); /* nothing is bound for "error" */
    pid_t pid = fakecore(out, err, "it.unr", "--count", "1000", "--types", "request,error",
                         "--debug", NULL);
    ck_assert_int_eq(wait_exit(pid, 60000), 0);
    ck_assert_int_eq(summary(out, "delivered"), 500);
    ck_assert_int_eq(summary(out, "rejected"), 500);
    ck_assert_int_ge(count_str(err, "unroutable: 312 NO_ROUTE"), 500);
    drain("it.unr.request", &st);
    ck_assert_uint_eq(st.unique, 500);
}
END_TEST

START_TEST(test_broker_restart_no_loss)
{
    char out[300], err[300];
    struct rmq_stats st;

    path_in(out, sizeof(out), "rst.out");
    path_in(err, sizeof(err), "rst.err");
    declare("it.rst.all", "it.rst", "#");
    pid_t pid = fakecore(out, err, "it.rst", "--count", "30000", "--rate", "2000", "--deadline-ms",
                         "150000", NULL);
    ck_assert_msg(wait_depth("it.rst.all", 4000, 30000), "stream did not start");
    broker_stop();
    ck_assert_msg(wait_log(err, "connection lost", 20000), "plugin did not notice");
    ck_assert_msg(count_str(err, "ready=0") >= 1, "readiness not cleared");
    /* The scenario: the broker stays down for 20 s while records keep coming. */
    msleep(20000);
    ck_assert_int_eq(broker_start(), 0);
    ck_assert_int_eq(wait_exit(pid, 150000), 0);
    ck_assert_int_eq(summary(out, "delivered"), 30000);
    ck_assert_int_eq(summary(out, "double_acks"), 0);
    drain("it.rst.all", &st);
    fprintf(stderr, "it-rabbitmq: broker restart: %zu unique, %zu duplicates, %ld retries\n",
            st.unique, st.duplicates, summary(out, "retries"));
    ck_assert_uint_eq(st.unique, 30000);
    ck_assert_uint_eq(st.no_message_id, 0);
}
END_TEST

START_TEST(test_memory_alarm_holds_then_resumes)
{
    char out[300], err[300];
    struct rmq_stats st;

    path_in(out, sizeof(out), "mem.out");
    path_in(err, sizeof(err), "mem.err");
    declare("it.mem.all", "it.mem", "#");
    pid_t pid = fakecore(out, err, "it.mem", "--count", "20000", "--rate", "4000", "--deadline-ms",
                         "120000", NULL);
    ck_assert_msg(wait_depth("it.mem.all", 2000, 30000), "stream did not start");
    ck_assert_int_eq(
        launcher("ctl", 30000, broker_dir, node, "set_vm_memory_high_watermark", "0.000001", NULL),
        0);
    ck_assert_msg(wait_log(err, "broker blocked publishing", 30000), "no connection.blocked");
    /* Holding: the depth must not grow while the alarm is on (observe 2 s), once what the
     * broker had received before blocking is routed: the depth stops moving (bounded, 5 s;
     * a slow agent, e.g. under ASan, can have frames in flight when the block arrives). */
    long d0 = depth("it.mem.all");
    for (int i = 0; i < 25; i++) {
        msleep(200);
        long d = depth("it.mem.all");
        if (d == d0) {
            break;
        }
        d0 = d;
    }
    int64_t end = rmq_client_now_ms() + 2000;
    while (rmq_client_now_ms() < end) {
        ck_assert_int_eq(depth("it.mem.all"), d0);
        ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "fakecore exited while blocked");
        msleep(200);
    }
    ck_assert_int_eq(count_str(err, "connection lost"), 0); /* backpressure, not failure */
    ck_assert_int_eq(
        launcher("ctl", 30000, broker_dir, node, "set_vm_memory_high_watermark", "0.4", NULL), 0);
    ck_assert_int_eq(wait_exit(pid, 120000), 0);
    ck_assert_msg(count_str(err, "unblocked") >= 1, "no connection.unblocked seen");
    drain("it.mem.all", &st);
    ck_assert_uint_eq(st.unique, 20000);
}
END_TEST

START_TEST(test_wrong_password_retries)
{
    char out[300], err[300], bad[256];
    char *log;

    path_in(out, sizeof(out), "pw.out");
    path_in(err, sizeof(err), "pw.err");
    snprintf(bad, sizeof(bad), "amqp://guest:Sup3rSecretPw@127.0.0.1:%d/%%2f", amqp_port);
    char *argv[] = {RMQ_FAKECORE, "--plugin",     RMQ_PLUGIN, "--url", bad,
                    "--exchange", "it.pw",        "--count",  "10",    "--deadline-ms",
                    "4000",       "--backoff-ms", "200",      NULL};
    ck_assert_int_eq(run(argv, out, err, 30000), 1); /* nothing could be delivered */
    ck_assert_int_eq(summary(out, "delivered"), 0);
    ck_assert_int_ge(count_str(err, "login refused"), 3);
    ck_assert_int_ge(count_str(err, "ACCESS_REFUSED"), 3);
    ck_assert_int_eq(count_str(err, "ready=1"), 0);
    ck_assert_int_eq(count_str(err, "Sup3rSecretPw"), 0); /* never logged */
    /* Backoff grows: the last wait is longer than the first. */
    log = slurp(err);
    const char *first = strstr(log, "next attempt in "), *last = first;
    for (const char *p = first; p; p = strstr(p + 1, "next attempt in ")) {
        last = p;
    }
    ck_assert_ptr_nonnull(first);
    ck_assert_int_gt(strtol(last + 16, NULL, 10), strtol(first + 16, NULL, 10));
    free(log);
}
END_TEST

START_TEST(test_retry_topology)
{
    char out[300], err[300], id[128], first_id[128];
    struct rmq_client c;
    struct rmq_msg m;
    int64_t t[3];

    path_in(out, sizeof(out), "topo.out");
    path_in(err, sizeof(err), "topo.err");
    pid_t pid = fakecore(out, err, "it.topo", "--queue", "it.topo.q", "--delays", "1,2", "--count",
                         "1", NULL);
    ck_assert_int_eq(wait_exit(pid, 30000), 0);
    ck_assert_int_eq(summary(out, "delivered"), 1);

    ck_assert_msg(rmq_client_open(&c, url) == 0, "%s", c.err);
    ck_assert_msg(rmq_client_get_one(&c, "it.topo.q", 5000, true, &m, first_id, sizeof(first_id)) ==
                      0,
                  "%s", c.err);
    t[0] = m.recv_ms;
    ck_assert_int_eq(m.death_count, 0);
    for (int i = 1; i < 3; i++) {
        ck_assert_msg(rmq_client_get_one(&c, "it.topo.q", 10000, true, &m, id, sizeof(id)) == 0,
                      "redelivery %d: %s", i, c.err);
        t[i] = m.recv_ms;
        ck_assert_str_eq(id, first_id);
        ck_assert_int_gt(m.death_count, 0); /* x-death counts the attempts */
    }
    ck_assert_int_ge(t[1] - t[0], 900);  /* first delay 1 s */
    ck_assert_int_ge(t[2] - t[1], 1900); /* second delay 2 s */
    /* After the last delay a rejection goes to the failed queue. */
    ck_assert_msg(wait_depth("it.topo.q.failed", 1, 10000), "not in the failed queue");
    ck_assert_int_eq(rmq_client_get_one(&c, "it.topo.q.failed", 5000, false, &m, id, sizeof(id)),
                     0);
    ck_assert_str_eq(id, first_id);
    ck_assert_int_eq(rmq_client_depth(&c, "it.topo.q"), 0);
    rmq_client_close(&c);
}
END_TEST

/* Writes n log lines and a config for `logferry run` with one rabbitmq output. */
static void agent_setup(const char *tag, size_t n, const char *output_extra, char *cfg_path,
                        size_t cap)
{
    char dir[300], logf[400], state[400], plugin_dir[300];
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/agent-%s", work_dir, tag);
    snprintf(logf, sizeof(logf), "%s/in.log", dir);
    snprintf(state, sizeof(state), "%s/state", dir);
    snprintf(plugin_dir, sizeof(plugin_dir), "%s", RMQ_PLUGIN);
    *strrchr(plugin_dir, '/') = '\0';
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(mkdir(state, 0755), 0);
    f = fopen(logf, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "2024-05-01 12:00:00 line %zu of the %s test\n", i, tag);
    }
    fclose(f);
    snprintf(cfg_path, cap, "%s/agent.yaml", dir);
    f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "agent: { name: it-%s, state_dir: %s, shutdown_timeout: 10s, plugin_dir: %s }\n"
            "inputs:\n  - { name: in, paths: [%s], start_at: beginning }\n"
            "outputs:\n  - { name: r, plugin: rabbitmq, url: '%s', %s }\n",
            tag, state, plugin_dir, logf, url, output_extra);
    fclose(f);
}

static bool have_agent(void)
{
    if (access(RMQ_AGENT, X_OK) != 0) {
        fprintf(stderr, "it-rabbitmq: %s not built, agent test skipped\n", RMQ_AGENT);
        return false;
    }
    return true;
}

START_TEST(test_agent_100k_end_to_end)
{
    char cfg[400], out[300], err[300];
    struct rmq_stats all, raw;

    if (!have_agent()) {
        return;
    }
    path_in(out, sizeof(out), "agent-e2e.out");
    path_in(err, sizeof(err), "agent-e2e.err");
    declare("it.agent.all", "it.agent", "#");
    declare("it.agent.raw", "it.agent", "raw"); /* routing key '{{type}}' of plain lines */
    agent_setup("e2e", 100000, "exchange: it.agent", cfg, sizeof(cfg));
    char *argv[] = {RMQ_AGENT, "run", "-c", cfg, NULL};
    int64_t t0 = rmq_client_now_ms();
    pid_t pid = spawn(argv, out, err);
    ck_assert_msg(wait_depth("it.agent.all", 100000, 120000), "not all records arrived");
    fprintf(stderr, "it-rabbitmq: agent: 100000 lines to RabbitMQ in %lld ms\n",
            (long long)(rmq_client_now_ms() - t0));
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, 30000), 0);
    drain("it.agent.all", &all);
    ck_assert_uint_eq(all.unique, 100000);
    ck_assert_uint_eq(all.duplicates, 0);
    ck_assert_uint_eq(all.not_persistent, 0);
    ck_assert_uint_eq(all.bad_content_type, 0);
    ck_assert_uint_eq(all.no_message_id, 0);
    drain("it.agent.raw", &raw);
    ck_assert_uint_eq(raw.unique, 100000);
}
END_TEST

START_TEST(test_agent_unroutable_dead_lettered)
{
    char cfg[400], out[300], err[300];

    if (!have_agent()) {
        return;
    }
    path_in(out, sizeof(out), "agent-unr.out");
    path_in(err, sizeof(err), "agent-unr.err");
    agent_setup("unr", 50, "exchange: it.agent.unr, routing_key: nowhere", cfg, sizeof(cfg));
    char *argv[] = {RMQ_AGENT, "run", "-c", cfg, NULL};
    pid_t pid = spawn(argv, out, err);
    ck_assert_msg(wait_log(err, "NO_ROUTE", 30000), "no unroutable report");
    /* Event: the core logs each dead letter; wait for all 50 (bounded). */
    int64_t end = rmq_client_now_ms() + 30000;
    while (count_str(err, "NO_ROUTE") < 50 && rmq_client_now_ms() < end) {
        msleep(100);
    }
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, 30000), 0);
    ck_assert_int_eq(count_str(err, "dead-lettered: unroutable: 312 NO_ROUTE"), 50);
    ck_assert_int_eq(count_str(err, ", 50 dead-lettered"), 1); /* the agent's final tally */
}
END_TEST

/* The broker is stopped while the agent runs: the breaker opens, records go to the
 * spool (the log file is then deleted), and all arrive once the broker is back. */
START_TEST(test_agent_outage_spooled_then_drained)
{
    char cfg[400], out[300], err[300], logf[400];
    struct rmq_stats all;

    if (!have_agent()) {
        return;
    }
    path_in(out, sizeof(out), "agent-sp.out");
    path_in(err, sizeof(err), "agent-sp.err");
    declare("it.sp.all", "it.sp", "#");
    agent_setup("sp", 5000,
                "exchange: it.sp }\n"
                "breaker: { failure_threshold: 5, open_for: 1s, max_open_for: 2s, "
                "stall_timeout: 2s",
                cfg, sizeof(cfg));
    char *argv[] = {RMQ_AGENT, "run", "-c", cfg, NULL};
    pid_t pid = spawn(argv, out, err);
    ck_assert_msg(wait_depth("it.sp.all", 5000, 60000), "records before the outage missing");
    broker_stop();
    snprintf(logf, sizeof(logf), "%s/agent-sp/in.log", work_dir);
    FILE *f = fopen(logf, "a");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 5000; i < 25000; i++) {
        fprintf(f, "2024-05-01 12:00:00 line %zu of the sp test\n", i);
    }
    fclose(f);
    ck_assert_msg(wait_log(err, "breaker open", 30000), "the breaker did not open");
    ck_assert_int_eq(broker_start(), 0);
    ck_assert_msg(wait_depth("it.sp.all", 25000, 120000), "not all records arrived");
    ck_assert_msg(wait_log(err, "breaker closed", 1000), "the breaker did not close");
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, 30000), 0);
    drain("it.sp.all", &all);
    fprintf(stderr, "it-rabbitmq: outage: %zu unique, %zu duplicates\n", all.unique,
            all.duplicates);
    ck_assert_uint_eq(all.unique, 25000);
    ck_assert_int_ge(count_str(err, "records go to the spool"), 1);
}
END_TEST

static Suite *rabbitmq_suite(void)
{
    Suite *s = suite_create("it-rabbitmq");
    TCase *tc = tcase_create("broker");

    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_set_timeout(tc, 200);
    tcase_add_test(tc, test_100k_persistent_confirmed);
    tcase_add_test(tc, test_unroutable_rejected);
    tcase_add_test(tc, test_wrong_password_retries);
    tcase_add_test(tc, test_retry_topology);
    tcase_add_test(tc, test_memory_alarm_holds_then_resumes);
    tcase_add_test(tc, test_broker_restart_no_loss);
    tcase_add_test(tc, test_agent_100k_end_to_end);
    tcase_add_test(tc, test_agent_unroutable_dead_lettered);
    tcase_add_test(tc, test_agent_outage_spooled_then_drained);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rabbitmq_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
