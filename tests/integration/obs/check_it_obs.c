/* check_it_obs.c - the agent's HTTP endpoint end to end: `logferry run` with
 * agent.http.listen on 127.0.0.1 (a free port) forwarding to mock-kafka.
 *
 * Cases: /metrics' delivered counter equals what Kafka holds (kcat); /healthz 200;
 * malformed and abandoned HTTP requests leave the agent serving; 1,000 scrapes (8 at a
 * time) finish in bounded time while lines flow, and every line arrives; /readyz and the
 * breaker gauge flip during a mock-kafka `down all` outage and back after `up all`, while
 * `logferry status` shows the spool growing; a non-loopback listen address is refused.
 * Every wait polls an observable state with a deadline.
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka_harness.h"

extern char **environ;

#define LINE_FMT "line %zu GET /api/orders/%zu HTTP/1.1 200 the quick brown fox jumps\n"

struct agent {
    char dir[256];
    char cfg[300];
    char log[300];
    int port;
    pid_t pid;
};

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void agent_setup(struct agent *a, struct mock_kafka *mk, const char *topic,
                        const char *listen_host)
{
    char plugin_dir[512];
    snprintf(a->dir, sizeof(a->dir), "/tmp/lf-it-obs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(a->dir));
    snprintf(plugin_dir, sizeof(plugin_dir), "%s", getenv("OUT_KAFKA_SO"));
    *strrchr(plugin_dir, '/') = '\0';
    snprintf(a->cfg, sizeof(a->cfg), "%s/cfg.yaml", a->dir);
    snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
    a->port = free_port();
    bool is_unix = strncmp(listen_host, "unix:", 5) == 0;
    FILE *f = fopen(a->cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "agent: { name: it-obs, state_dir: %s/state, shutdown_timeout: 5s, plugin_dir: %s,\n"
            "         checkpoint_interval: 200ms, http: { listen: '%s%s%.0d' } }\n"
            "inputs:\n"
            "  - { name: in, paths: ['%s/in.log'], start_at: beginning }\n"
            "outputs:\n"
            "  - { name: k, plugin: kafka, brokers: [%s], topic: '%s', key: '{{id}}' }\n"
            "breaker: { failure_threshold: 5, open_for: 1s, max_open_for: 2s, "
            "stall_timeout: 2s }\n",
            a->dir, plugin_dir, listen_host, is_unix ? "" : ":", is_unix ? 0 : a->port, a->dir,
            mk ? mk->bootstraps : "127.0.0.1:9", topic);
    fclose(f);
}

static void agent_start(struct agent *a)
{
    const char *exe = getenv("LOGFERRY");
    char *argv[] = {(char *)exe, "run", "-c", a->cfg, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, a->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
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

static bool agent_alive(const struct agent *a)
{
    return waitpid(a->pid, NULL, WNOHANG) == 0;
}

static void write_lines(const struct agent *a, size_t from, size_t n)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/in.log", a->dir);
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    for (size_t i = from; i < from + n; i++) {
        fprintf(f, LINE_FMT, i, i);
    }
    fclose(f);
}

/* ---- a minimal HTTP client ----------------------------------------------------------- */

static int connect_port(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 10};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends raw bytes, reads the answer until EOF (10 s timeout). Returns the HTTP status (0:
 * none) and the body in *body (malloc'd, may be NULL). */
static int http_raw(int port, const char *req, size_t len, char **body)
{
    char buf[65536];
    size_t cap = 1 << 16, n = 0;
    char *all = malloc(cap);
    int fd = connect_port(port), status = 0;
    *body = NULL;
    if (fd < 0 || !all) {
        free(all);
        return -1;
    }
    if (send(fd, req, len, MSG_NOSIGNAL) == (ssize_t)len) {
        ssize_t got;
        while ((got = recv(fd, buf, sizeof(buf), 0)) > 0) {
            if (n + (size_t)got + 1 > cap) {
                cap = (n + (size_t)got + 1) * 2;
                all = realloc(all, cap);
                ck_assert_ptr_nonnull(all);
            }
            memcpy(all + n, buf, (size_t)got);
            n += (size_t)got;
        }
    }
    close(fd);
    all[n] = '\0';
    if (sscanf(all, "HTTP/1.%*d %d", &status) != 1) {
        status = 0;
    }
    char *p = strstr(all, "\r\n\r\n");
    *body = strdup(p ? p + 4 : "");
    free(all);
    return status;
}

static int http_get(int port, const char *path, char **body)
{
    char req[512];
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    return http_raw(port, req, (size_t)n, body);
}

/* Value of the series `series` (name with labels, as printed) in /metrics; -1 if absent. */
static double metric(int port, const char *series)
{
    char *body;
    double v = -1;
    if (http_get(port, "/metrics", &body) == 200) {
        char key[512];
        snprintf(key, sizeof(key), "\n%s ", series);
        const char *p = strstr(body, key);
        if (p) {
            v = strtod(p + strlen(key), NULL);
        }
    }
    free(body);
    return v;
}

/* Polls until metric(series) == want; returns the last value. */
static double wait_metric(int port, const char *series, double want, int64_t timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    double v = -1;
    while (h_now_ms() < end) {
        v = metric(port, series);
        if (v == want) {
            break;
        }
        usleep(100 * 1000); /* poll interval of a bounded wait */
    }
    return v;
}

/* Polls path until it answers want; returns the last status. */
static int wait_status(int port, const char *path, int want, int64_t timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    int st = -1;
    while (h_now_ms() < end) {
        char *body;
        st = http_get(port, path, &body);
        free(body);
        if (st == want) {
            break;
        }
        usleep(100 * 1000); /* poll interval of a bounded wait */
    }
    return st;
}

/* Runs `logferry COMMAND -c cfg`; returns its exit code, output in *out. */
static int run_logferry(const struct agent *a, const char *command, char **out)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s -c %s 2>&1", getenv("LOGFERRY"), command, a->cfg);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, n = 0;
    *out = malloc(cap);
    size_t got;
    while ((got = fread(*out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            *out = realloc(*out, cap);
        }
    }
    (*out)[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t kcat_count(struct mock_kafka *mk, const char *topic)
{
    char line[8192];
    size_t n = 0;
    FILE *f = kcat_read(mk, topic);
    while (fgets(line, sizeof(line), f)) {
        n += strstr(line, "\"message\":\"line ") != NULL;
    }
    pclose(f);
    return n;
}

/* ---- cases ----------------------------------------------------------------------------- */

START_TEST(test_metrics_match_delivered_and_health)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "obs1.raw:1:1", NULL};
    struct agent a;
    const size_t n = 5000;
    char *body, *out;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "obs1.{{type}}", "127.0.0.1");
    write_lines(&a, 0, n);
    agent_start(&a);
    ck_assert_int_eq(wait_status(a.port, "/healthz", 200, 10000), 200);
    ck_assert_int_eq(mk_wait_hwm(&mk, "obs1.raw", (long)n, 30000), (long)n);
    double delivered =
        wait_metric(a.port, "logferry_output_records_delivered_total{output=\"k\"}", n, 10000);
    ck_assert_uint_eq(kcat_count(&mk, "obs1.raw"), n);
    ck_assert_double_eq(delivered, (double)n);
    ck_assert_double_eq(metric(a.port, "logferry_input_records_total{input=\"in\"}"), (double)n);
    ck_assert_double_eq(metric(a.port, "logferry_output_breaker_state{output=\"k\"}"), 0);
    char series[600];
    snprintf(series, sizeof(series), "logferry_file_lag_bytes{input=\"in\",file=\"%s/in.log\"}",
             a.dir);
    ck_assert_double_eq(wait_metric(a.port, series, 0, 10000), 0); /* all acknowledged */
    snprintf(series, sizeof(series),
             "logferry_file_oldest_unacked_age_seconds{input=\"in\",file=\"%s/in.log\"}", a.dir);
    ck_assert_double_eq(metric(a.port, series), 0);
    ck_assert_int_eq(wait_status(a.port, "/readyz", 200, 10000), 200);
    ck_assert_int_eq(http_get(a.port, "/status", &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"delivered\":5000"));
    free(body);
    ck_assert_int_eq(run_logferry(&a, "status", &out), 0);
    fprintf(stderr, "logferry status (healthy):\n%s\n", out);
    ck_assert_ptr_nonnull(strstr(out, "\nk            kafka    closed "));
    ck_assert_ptr_nonnull(strstr(out, "readiness: ready"));
    free(out);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    /* the agent gone, status says so */
    ck_assert_int_eq(run_logferry(&a, "status", &out), 69);
    ck_assert_ptr_nonnull(strstr(out, "no agent answers"));
    free(out);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_malformed_http_does_not_kill_the_agent)
{
    struct agent a;
    char *body;
    static char huge[200000];

    agent_setup(&a, NULL, "unused", "127.0.0.1");
    agent_start(&a);
    ck_assert_int_eq(wait_status(a.port, "/healthz", 200, 10000), 200);
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /metrics HTTP/9.9\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "\x01\x02\x03\xff\xfe\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = http_raw(a.port, bad[i], strlen(bad[i]), &body);
        ck_assert_msg(st == 0 || st >= 400, "request %zu answered %d", i, st);
        free(body);
    }
    /* a GET with a broken chunked body: answered (a GET's body is ignored) or closed */
    const char *chunked = "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          "Connection: close\r\n\r\nzz\r\n";
    http_raw(a.port, chunked, strlen(chunked), &body);
    free(body);
    /* a header far over the limit */
    memset(huge, 'a', sizeof(huge) - 1);
    memcpy(huge, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
    http_raw(a.port, huge, sizeof(huge) - 1, &body);
    free(body);
    /* connections opened and abandoned mid-request */
    int fds[50];
    for (int i = 0; i < 50; i++) {
        fds[i] = connect_port(a.port);
        if (fds[i] >= 0) {
            send(fds[i], "GET /met", 8, MSG_NOSIGNAL);
        }
    }
    for (int i = 0; i < 50; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    ck_assert(agent_alive(&a));
    ck_assert_int_eq(http_get(a.port, "/healthz", &body), 200);
    free(body);
    ck_assert_int_eq(http_get(a.port, "/nope", &body), 404);
    free(body);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
}
END_TEST

struct scraper {
    int port;
    int n, ok;
};

static void *scrape(void *arg)
{
    struct scraper *s = arg;
    for (int i = 0; i < s->n; i++) {
        char *body;
        s->ok += http_get(s->port, "/metrics", &body) == 200;
        free(body);
    }
    return NULL;
}

/* 1,000 GET /metrics at once: all connections opened and sent before any answer is read,
 * then every answer read with poll(2), within timeout_ms. Returns the 200 answers. */
static int concurrent_scrapes(int port, int n, int64_t timeout_ms)
{
    struct pollfd *p = calloc((size_t)n, sizeof(*p));
    char *head = calloc((size_t)n, 16); /* the first bytes of each answer */
    size_t *got = calloc((size_t)n, sizeof(*got));
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int open_fds = 0, ok = 0;
    ck_assert(p && head && got);
    for (int i = 0; i < n; i++) {
        p[i].fd = connect_port(port);
        p[i].events = POLLIN;
        if (p[i].fd >= 0 && send(p[i].fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0) {
            open_fds++;
        }
    }
    int64_t end = h_now_ms() + timeout_ms;
    while (open_fds > 0 && h_now_ms() < end) {
        if (poll(p, (nfds_t)n, 1000) <= 0) {
            continue;
        }
        for (int i = 0; i < n; i++) {
            char buf[65536];
            if (p[i].fd < 0 || !p[i].revents) {
                continue;
            }
            ssize_t r = recv(p[i].fd, buf, sizeof(buf), 0);
            if (r > 0 && got[i] < 15) {
                size_t k = (size_t)r < 15 - got[i] ? (size_t)r : 15 - got[i];
                memcpy(head + i * 16 + got[i], buf, k);
            }
            got[i] += r > 0 ? (size_t)r : 0;
            if (r <= 0) {
                ok += strncmp(head + i * 16, "HTTP/1.1 200", 12) == 0;
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (p[i].fd >= 0) {
            close(p[i].fd);
        }
    }
    free(p);
    free(head);
    free(got);
    return ok;
}

START_TEST(test_thousand_concurrent_scrapes)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "obs4.raw:1:1", NULL};
    struct agent a;
    const size_t n = 100000;
    char *body;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "obs4.{{type}}", "127.0.0.1");
    agent_start(&a);
    ck_assert_int_eq(wait_status(a.port, "/healthz", 200, 10000), 200);
    write_lines(&a, 0, n);
    int64_t t0 = h_now_ms();
    int ok = concurrent_scrapes(a.port, 1000, 60000);
    int64_t took = h_now_ms() - t0;
    fprintf(stderr, "1000 concurrent scrapes: %d answered 200 in %lld ms\n", ok, (long long)took);
    ck_assert_int_eq(ok, 1000);
    ck_assert(agent_alive(&a));
    ck_assert_int_eq(http_get(a.port, "/healthz", &body), 200);
    free(body);
    ck_assert_int_eq(mk_wait_hwm(&mk, "obs4.raw", (long)n, 60000), (long)n);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_thousand_scrapes_while_lines_flow)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "obs3.raw:1:1", NULL};
    struct agent a;
    const size_t n = 100000;
    pthread_t th[8];
    struct scraper sc[8];

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "obs3.{{type}}", "127.0.0.1");
    agent_start(&a);
    ck_assert_int_eq(wait_status(a.port, "/healthz", 200, 10000), 200);
    write_lines(&a, 0, n);
    int64_t t0 = h_now_ms();
    for (int i = 0; i < 8; i++) {
        sc[i] = (struct scraper){.port = a.port, .n = 125};
        ck_assert_int_eq(pthread_create(&th[i], NULL, scrape, &sc[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += sc[i].ok;
    }
    int64_t took = h_now_ms() - t0;
    fprintf(stderr, "1000 scrapes (8 at a time): %d answered 200 in %lld ms\n", ok,
            (long long)took);
    ck_assert_int_eq(ok, 1000);
    ck_assert_int_lt(took, 60000);
    ck_assert(agent_alive(&a));
    ck_assert_int_eq(mk_wait_hwm(&mk, "obs3.raw", (long)n, 60000), (long)n);
    ck_assert_double_eq(
        wait_metric(a.port, "logferry_output_records_delivered_total{output=\"k\"}", n, 10000),
        (double)n);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    mk_stop(&mk);
}
END_TEST

/* Spool records as `logferry status` prints them for output k (-1 if not found). */
static long status_spool_records(const char *out)
{
    const char *p = strstr(out, "\nk            kafka    ");
    unsigned long long inflight, delivered, retried, dead, spool;
    char breaker[16];
    if (!p || sscanf(p + 1, "k kafka %15s %llu %llu %llu %llu %llu", breaker, &inflight, &delivered,
                     &retried, &dead, &spool) != 6) {
        return -1;
    }
    return (long)spool;
}

START_TEST(test_outage_flips_readiness_and_breaker)
{
    struct mock_kafka mk = {0};
    const char *args[] = {"-b", "1", "-t", "obs2.raw:1:1", NULL};
    struct agent a;
    char *body, *out;

    ck_assert_int_eq(mk_start(&mk, args), 0);
    agent_setup(&a, &mk, "obs2.{{type}}", "127.0.0.1");
    write_lines(&a, 0, 1000);
    agent_start(&a);
    ck_assert_int_eq(mk_wait_hwm(&mk, "obs2.raw", 1000, 30000), 1000);
    ck_assert_int_eq(wait_status(a.port, "/readyz", 200, 10000), 200);

    ck_assert_str_eq(mk_cmd(&mk, "down all"), "ok");
    write_lines(&a, 1000, 2000);
    ck_assert_int_eq(wait_status(a.port, "/readyz", 503, 30000), 503);
    ck_assert_int_eq(http_get(a.port, "/readyz", &body), 503);
    ck_assert_msg(strstr(body, "output k: breaker"), "%s", body);
    free(body);
    ck_assert_double_ne(metric(a.port, "logferry_output_breaker_state{output=\"k\"}"), 0);
    ck_assert_int_eq(http_get(a.port, "/healthz", &body), 200); /* alive, just not ready */
    free(body);
    /* the spool grows as more lines come in during the outage */
    ck_assert_int_eq(run_logferry(&a, "status", &out), 0);
    long before = status_spool_records(out);
    free(out);
    write_lines(&a, 3000, 2000);
    int64_t end = h_now_ms() + 30000;
    long after = before;
    while (h_now_ms() < end && after <= before) {
        ck_assert_int_eq(run_logferry(&a, "status", &out), 0);
        after = status_spool_records(out);
        if (after <= before) {
            free(out);
            usleep(200 * 1000); /* poll interval of a bounded wait */
        }
    }
    fprintf(stderr, "logferry status during the outage:\n%s\n", out);
    ck_assert_ptr_nonnull(strstr(out, "readiness: not ready: output k: breaker"));
    ck_assert_ptr_nonnull(strstr(out, "RECENT WARNINGS AND ERRORS"));
    free(out);
    ck_assert_int_ge(before, 0);
    ck_assert_int_gt(after, before);

    ck_assert_str_eq(mk_cmd(&mk, "up all"), "ok");
    ck_assert_int_eq(wait_status(a.port, "/readyz", 200, 60000), 200);
    ck_assert_double_eq(metric(a.port, "logferry_output_breaker_state{output=\"k\"}"), 0);
    ck_assert_double_ge(
        metric(a.port, "logferry_output_breaker_transitions_total{output=\"k\",to=\"open\"}"), 1);
    ck_assert_double_ge(
        metric(a.port, "logferry_output_breaker_transitions_total{output=\"k\",to=\"closed\"}"), 1);
    ck_assert_int_ge(mk_wait_hwm(&mk, "obs2.raw", 5000, 60000), 5000);
    ck_assert_double_eq(
        wait_metric(a.port, "logferry_output_spool_records{output=\"k\"}", 0, 60000), 0);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    mk_stop(&mk);
}
END_TEST

START_TEST(test_unix_socket_endpoint)
{
    struct agent a;
    char listen[96], *out;
    snprintf(listen, sizeof(listen), "unix:/tmp/lf-it-obs-%d.sock", (int)getpid());
    agent_setup(&a, NULL, "unused", listen);
    agent_start(&a);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%s", listen + 5);
    int64_t end = h_now_ms() + 10000;
    int st = 0;
    while (st != 200 && h_now_ms() < end) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        char buf[4096] = "";
        if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0 &&
            send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0 &&
            recv(fd, buf, sizeof(buf) - 1, 0) > 0) {
            sscanf(buf, "HTTP/1.1 %d", &st);
        }
        close(fd);
        if (st != 200) {
            usleep(100 * 1000); /* poll interval of a bounded wait */
        }
    }
    ck_assert_int_eq(st, 200);
    ck_assert_int_eq(run_logferry(&a, "status", &out), 0);
    ck_assert_msg(strstr(out, "readiness: "), "%s", out);
    free(out);
    ck_assert_int_eq(agent_signal_wait(&a, SIGTERM), 0);
    ck_assert_int_ne(access(listen + 5, F_OK), 0); /* removed at stop */
}
END_TEST

START_TEST(test_non_loopback_listen_is_refused)
{
    struct agent a;
    char *out;
    agent_setup(&a, NULL, "unused", "0.0.0.0");
    ck_assert_int_eq(run_logferry(&a, "check", &out), 78); /* check refuses it too */
    ck_assert_msg(strstr(out, "not a loopback address"), "%s", out);
    free(out);
    agent_start(&a);
    int64_t end = h_now_ms() + 10000;
    int status = 0;
    while (waitpid(a.pid, &status, WNOHANG) == 0 && h_now_ms() < end) {
        usleep(50 * 1000); /* poll interval of a bounded wait */
    }
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 78); /* a configuration error, as for check */
    char buf[65536];
    FILE *f = fopen(a.log, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_msg(strstr(buf, "not a loopback address"), "%s", buf);
}
END_TEST

static Suite *obs_suite(void)
{
    Suite *s = suite_create("obs-agent");
    TCase *tc = tcase_create("endpoint");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_non_loopback_listen_is_refused);
    tcase_add_test(tc, test_malformed_http_does_not_kill_the_agent);
    tcase_add_test(tc, test_unix_socket_endpoint);
    tcase_add_test(tc, test_metrics_match_delivered_and_health);
    tcase_add_test(tc, test_outage_flips_readiness_and_breaker);
    tcase_add_test(tc, test_thousand_scrapes_while_lines_flow);
    tcase_add_test(tc, test_thousand_concurrent_scrapes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(obs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
