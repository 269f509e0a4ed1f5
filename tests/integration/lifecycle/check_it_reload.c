/* check_it_reload.c - the agent's reload and its systemd messages, as a process.
 *
 * `logferry run` with the built-in file output (the consumer: every line it writes is
 * counted) and SIGHUPs or `logferry reload` with changed configurations: an unchanged
 * output keeps its open file (the test renames that file away and the kept output goes on
 * writing into it, a restarted one would create a new file), an added output starts, a
 * removed input keeps its checkpoint (added back, it resumes there), an invalid file
 * leaves the running configuration in place with every error positioned, and reloads
 * under a steady writer lose and duplicate nothing. The notify test binds a datagram
 * socket as $NOTIFY_SOCKET and checks READY=1, STATUS=, RELOADING=1, WATCHDOG=1 and
 * STOPPING=1. Every wait polls an observable state with a deadline.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lf_testlib.h"

struct ag {
    char *dir;
    char cfg[300], log[300], state[300], in_a[300], in_b[300], out1[300], out2[300];
    char out2_odd[320]; /* o2's path in configurations of odd gen, if o2_flip */
    bool o2_flip;
    pid_t pid;
};

static void ag_init(struct ag *a)
{
    a->dir = lft_mkdtemp("reload");
    snprintf(a->cfg, sizeof(a->cfg), "%s/cfg.yaml", a->dir);
    snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
    snprintf(a->state, sizeof(a->state), "%s/state", a->dir);
    snprintf(a->in_a, sizeof(a->in_a), "%s/a.log", a->dir);
    snprintf(a->in_b, sizeof(a->in_b), "%s/b.log", a->dir);
    snprintf(a->out1, sizeof(a->out1), "%s/out1.jsonl", a->dir);
    snprintf(a->out2, sizeof(a->out2), "%s/out2.jsonl", a->dir);
    snprintf(a->out2_odd, sizeof(a->out2_odd), "%s/out2-odd.jsonl", a->dir);
    a->o2_flip = false;
    lft_write_file(a->in_a, "", false);
    lft_write_file(a->in_b, "", false);
}

/* Writes the config: inputs a (fields: gen) and, with with_b, b; output o1 into out1
 * and, with with_o2, o2 into out2 (out2_odd for an odd gen if o2_flip); extra goes into
 * the agent section. */
static void ag_config(struct ag *a, bool with_b, bool with_o2, int gen, const char *extra)
{
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "agent: { name: it, state_dir: %s, shutdown_timeout: 5s%s }\n"
             "inputs:\n"
             "  - { name: a, paths: ['%s'], start_at: beginning, fields: { gen: '%d' } }\n"
             "%s%s%s"
             "outputs:\n"
             "  - { name: o1, plugin: file, path: '%s' }\n"
             "%s%s%s",
             a->state, extra ? extra : "", a->in_a, gen, with_b ? "  - { name: b, paths: ['" : "",
             with_b ? a->in_b : "", with_b ? "'], start_at: beginning }\n" : "", a->out1,
             with_o2 ? "  - { name: o2, plugin: file, path: '" : "",
             !with_o2 ? "" : (a->o2_flip && gen % 2 ? a->out2_odd : a->out2),
             with_o2 ? "' }\n" : "");
    lft_write_file(a->cfg, buf, false);
}

static void ag_start(struct ag *a)
{
    char *argv[] = {(char *)lft_bin(), "run", "-c", a->cfg, NULL};
    a->pid = lft_spawn(argv, a->log);
    ck_assert_int_gt(a->pid, 0);
}

static void ag_done(struct ag *a)
{
    lft_rmtree(a->dir);
    free(a->dir);
}

/* Occurrences of text in the agent's log. */
static size_t log_count(const struct ag *a, const char *text)
{
    size_t n = 0;
    char *s = lft_read_file(a->log, NULL);
    for (const char *p = s; p && (p = strstr(p, text)); p += strlen(text)) {
        n++;
    }
    free(s);
    return n;
}

/* Waits until the log holds text at least `times` times. */
static bool wait_log(const struct ag *a, const char *text, size_t times, int timeout_ms)
{
    int64_t end = lft_now_ms() + timeout_ms;
    while (lft_now_ms() < end) {
        if (log_count(a, text) >= times) {
            return true;
        }
        usleep(20 * 1000); /* poll interval of a bounded wait */
    }
    return false;
}

struct tally {
    size_t total, distinct, dups;
};

/* Counts the records "PREFIX <i>" (i < n) in the JSON lines of a file output, over path
 * and path2 (NULL: none) together. */
static void tally2(const char *path, const char *path2, const char *prefix, size_t n,
                   struct tally *t)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    char key[64];
    snprintf(key, sizeof(key), "\"message\":\"%s ", prefix);
    memset(t, 0, sizeof(*t));
    for (int f = 0; f < 2; f++) {
        char *s = lft_read_file(f ? path2 : path, NULL);
        /* line by line: strstr over the rest of a large file per record would be
         * quadratic (and very slow under ASan, which measures the whole string) */
        for (char *line = s, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            next = next ? (*next = '\0', next + 1) : line + strlen(line);
            const char *p = strstr(line, key);
            size_t i = p ? strtoul(p + strlen(key), NULL, 10) : n;
            if (i >= n) {
                continue;
            }
            t->total++;
            *(seen[i]++ ? &t->dups : &t->distinct) += 1;
        }
        free(s);
        if (!path2) {
            break;
        }
    }
    free(seen);
}

static void tally(const char *path, const char *prefix, size_t n, struct tally *t)
{
    tally2(path, NULL, prefix, n, t);
}

/* Waits until path holds want distinct records of prefix below n; returns the last tally. */
static void wait_tally_n(const char *path, const char *prefix, size_t n, size_t want,
                         int timeout_ms, struct tally *t)
{
    int64_t end = lft_now_ms() + timeout_ms;
    do {
        tally(path, prefix, n, t);
        if (t->distinct >= want) {
            return;
        }
        usleep(50 * 1000); /* poll interval of a bounded wait */
    } while (lft_now_ms() < end);
}

static void wait_tally(const char *path, const char *prefix, size_t n, int timeout_ms,
                       struct tally *t)
{
    wait_tally_n(path, prefix, n, n, timeout_ms, t);
}

static void sighup(struct ag *a)
{
    ck_assert_int_eq(kill(a->pid, SIGHUP), 0);
}

/* ---- unchanged output kept, output added, input removed and added back ---------------- */

START_TEST(test_reload_keeps_unchanged_starts_added)
{
    struct ag a;
    struct tally t;
    char moved[320];
    ag_init(&a);
    ag_config(&a, true, false, 1, NULL);
    lft_append_numbered(a.in_a, "a", 0, 100);
    lft_append_numbered(a.in_b, "b", 0, 100);
    ag_start(&a);
    wait_tally(a.out1, "a", 100, 10000, &t);
    ck_assert_uint_eq(t.distinct, 100);
    wait_tally(a.out1, "b", 100, 10000, &t);
    ck_assert_uint_eq(t.distinct, 100);
    /* the kept output writes through its open fd: into the renamed file */
    snprintf(moved, sizeof(moved), "%s.moved", a.out1);
    ck_assert_int_eq(rename(a.out1, moved), 0);

    ag_config(&a, false, true, 1, NULL); /* o2 added, input b removed */
    sighup(&a);
    ck_assert(wait_log(&a, "reload: outputs +1 -0 ~0 =1, inputs +0 -1 ~0 =1", 1, 10000));
    lft_append_numbered(a.in_a, "a", 100, 50);
    lft_append_numbered(a.in_b, "b", 100, 50); /* not read while b is removed */
    wait_tally(moved, "a", 150, 10000, &t);
    ck_assert_uint_eq(t.distinct, 150);
    ck_assert_uint_eq(t.dups, 0);
    ck_assert_int_ne(access(a.out1, F_OK), 0);     /* o1 never reopened its path */
    wait_tally_n(a.out2, "a", 150, 50, 10000, &t); /* o2 starts with what comes next */
    ck_assert_uint_eq(t.distinct, 50);
    ck_assert_uint_eq(t.dups, 0);
    ck_assert_uint_eq(log_count(&a, "output o1 (file): started"), 1);
    ck_assert_uint_eq(log_count(&a, "output o2 (file): started"), 1);

    ag_config(&a, true, true, 1, NULL); /* b back: resumes at its checkpoint */
    sighup(&a);
    ck_assert(wait_log(&a, "reload: outputs +0 -0 ~0 =2, inputs +1 -0 ~0 =1", 1, 10000));
    wait_tally(moved, "b", 150, 10000, &t);
    ck_assert_uint_eq(t.distinct, 150);
    ck_assert_uint_eq(t.dups, 0); /* b's first 100 lines were not read again */

    /* the same file again: nothing restarts, nothing waits */
    sighup(&a);
    ck_assert(wait_log(&a, "reload: outputs +0 -0 ~0 =2, inputs +0 -0 ~0 =2", 1, 10000));
    lft_append_numbered(a.in_b, "b", 150, 10);
    wait_tally(moved, "b", 160, 10000, &t);
    ck_assert_uint_eq(t.distinct, 160);
    ck_assert_uint_eq(t.dups, 0);
    ck_assert_uint_eq(log_count(&a, "output o1 (file): started"), 1);
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 15000), 0);
    ag_done(&a);
}
END_TEST

/* ---- an invalid file: the running configuration stays --------------------------------- */

START_TEST(test_reload_invalid_keeps_running)
{
    struct ag a;
    struct tally t;
    ag_init(&a);
    ag_config(&a, false, false, 1, NULL);
    ag_start(&a);
    ck_assert(wait_log(&a, "started:", 1, 10000));
    lft_write_file(a.cfg,
                   "agent: { state_dir: /nonexistent/other }\n"
                   "inputs:\n"
                   "  - { name: a, pathz: [x] }\n"
                   "outputs: 3\n",
                   false);
    sighup(&a);
    ck_assert(wait_log(&a, "the running configuration stays", 1, 10000));
    ck_assert_uint_ge(log_count(&a, "error [agent] reload: "),
                      3);                               /* each error, then the verdict */
    ck_assert_uint_ge(log_count(&a, "cfg.yaml:3:"), 1); /* the unknown key, positioned */
    ck_assert_uint_ge(log_count(&a, "cfg.yaml:4:"), 1); /* outputs: not a list */
    ck_assert_uint_ge(log_count(&a, "pathz"), 1);
    lft_append_numbered(a.in_a, "a", 0, 20);
    wait_tally(a.out1, "a", 20, 10000, &t); /* still running the old configuration */
    ck_assert_uint_eq(t.distinct, 20);

    /* agent-level keys that need a restart: logged, the rest applies */
    ag_config(&a, false, true, 1, ", log_ratelimit: 7");
    sighup(&a);
    ck_assert(
        wait_log(&a, "agent.log_ratelimit cannot change while running: restart needed", 1, 10000));
    ck_assert(wait_log(&a, "reload: outputs +1 -0 ~0 =1, inputs +0 -0 ~0 =1", 1, 10000));

    /* `logferry reload` checks the file first: an invalid one is not sent */
    lft_write_file(a.cfg, "inputs: [\n", false);
    char *argv[] = {(char *)lft_bin(), "reload", "-c", a.cfg, NULL};
    ck_assert_int_eq(lft_run(argv, NULL), 78);
    ag_config(&a, false, false, 1, NULL);
    ck_assert_int_eq(lft_run(argv, NULL), 0);
    ck_assert(wait_log(&a, "reload: outputs +0 -1 ~0 =1, inputs +0 -0 ~0 =1", 1, 10000));
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 15000), 0);
    ck_assert_int_eq(lft_run(argv, NULL), 69); /* no agent runs any more */
    ag_done(&a);
}
END_TEST

/* ---- reloads under a steady writer ---------------------------------------------------- */

#define LOAD_LINES   20000
#define LOAD_CHUNK   250 /* divides LOAD_LINES / LOAD_RELOADS */
#define LOAD_RELOADS 8

START_TEST(test_reload_under_load_no_loss_no_dup)
{
    struct ag a;
    struct tally t, t2;
    ag_init(&a);
    a.o2_flip = true; /* o2 changes at every reload too: drained and restarted */
    ag_config(&a, false, true, 0, NULL);
    ag_start(&a);
    ck_assert(wait_log(&a, "started:", 1, 10000));
    size_t per_reload = LOAD_LINES / LOAD_RELOADS, reloads = 0;
    for (size_t i = 0; i < LOAD_LINES; i += LOAD_CHUNK) {
        lft_append_numbered(a.in_a, "n", i, LOAD_CHUNK);
        if ((i + LOAD_CHUNK) % per_reload == 0) {
            /* input a changes (its fields) each time: it restarts from its checkpoint;
             * o2 (its path) too; o1 stays. One reload at a time: signals of a kind merge. */
            ck_assert(wait_log(&a, "outputs +0 -0 ~1 =1, inputs +0 -0 ~1 =0", reloads, 10000));
            ag_config(&a, false, true, (int)((i + LOAD_CHUNK) / per_reload), NULL);
            sighup(&a);
            reloads++;
        }
        usleep(10 * 1000); /* the writer's pace (about 20,000 lines/s), not a sync */
    }
    ck_assert(wait_log(&a, "outputs +0 -0 ~1 =1, inputs +0 -0 ~1 =0", LOAD_RELOADS, 30000));
    wait_tally(a.out1, "n", LOAD_LINES, 30000, &t);
    int64_t end = lft_now_ms() + 30000;
    do {
        tally2(a.out2, a.out2_odd, "n", LOAD_LINES, &t2); /* o2 wrote to both in turn */
    } while (t2.distinct < LOAD_LINES && lft_now_ms() < end && usleep(50 * 1000) == 0);
    fprintf(stderr, "reload under load: %zu reloads, o1 %zu records (%zu distinct), o2 %zu\n",
            log_count(&a, "reload: outputs"), t.total, t.distinct, t2.total);
    ck_assert_uint_eq(t.distinct, LOAD_LINES);
    ck_assert_uint_eq(t.dups, 0);
    ck_assert_uint_eq(t2.distinct, LOAD_LINES);
    ck_assert_uint_eq(t2.dups, 0);
    ck_assert_uint_eq(log_count(&a, "output o1 (file): started"), 1);
    ck_assert_uint_eq(log_count(&a, "output o2 (file): started"), 1 + LOAD_RELOADS);
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 15000), 0);
    ag_done(&a);
}
END_TEST

/* ---- systemd notify and watchdog ------------------------------------------------------ */

struct notify_rx {
    int fd;
    char all[16384]; /* every message, one per line (newlines inside made '|') */
    size_t len;
};

static void rx_open(struct notify_rx *rx, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_usec = 100 * 1000};
    ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    rx->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ck_assert_int_ge(rx->fd, 0);
    ck_assert_int_eq(bind(rx->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(rx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    rx->len = 0;
    rx->all[0] = '\0';
}

/* Receives messages until one contains want (returned, in rx->all) or the deadline. */
static const char *rx_wait(struct notify_rx *rx, const char *want, int timeout_ms)
{
    int64_t end = lft_now_ms() + timeout_ms;
    const char *hit = strstr(rx->all, want);
    while (!hit && lft_now_ms() < end) {
        char msg[1024];
        ssize_t n = recv(rx->fd, msg, sizeof(msg) - 1, 0);
        if (n <= 0 || rx->len + (size_t)n + 2 >= sizeof(rx->all)) {
            continue; /* receive timeout: the loop's bound is the deadline */
        }
        for (ssize_t i = 0; i < n; i++) {
            rx->all[rx->len++] = msg[i] == '\n' ? '|' : msg[i];
        }
        rx->all[rx->len++] = '\n';
        rx->all[rx->len] = '\0';
        hit = strstr(rx->all, want);
    }
    return hit;
}

static size_t rx_count(const struct notify_rx *rx, const char *what)
{
    size_t n = 0;
    for (const char *p = rx->all; (p = strstr(p, what)); p += strlen(what)) {
        n++;
    }
    return n;
}

START_TEST(test_notify_and_watchdog)
{
    struct ag a;
    struct notify_rx rx;
    char sock[320], pid[32];
    ag_init(&a);
    ag_config(&a, false, false, 1, NULL);
    snprintf(sock, sizeof(sock), "%s/notify.sock", a.dir);
    rx_open(&rx, sock);
    setenv("NOTIFY_SOCKET", sock, 1);
    setenv("WATCHDOG_USEC", "400000", 1); /* pet every 200 ms */
    unsetenv("WATCHDOG_PID");
    ag_start(&a);
    ck_assert_ptr_nonnull(rx_wait(&rx, "READY=1|STATUS=running: 1 input(s), 1 output(s)", 10000));
    ck_assert_ptr_nonnull(rx_wait(&rx, "WATCHDOG=1", 5000));
    size_t pets = rx_count(&rx, "WATCHDOG=1");
    rx_wait(&rx, "no such message", 1000);                    /* collect one second of messages */
    ck_assert_uint_ge(rx_count(&rx, "WATCHDOG=1"), pets + 3); /* ~5 a second */
    ck_assert_uint_eq(rx_count(&rx, "\nSTATUS="), 0);         /* idle: nothing new to say */
    lft_append_numbered(a.in_a, "a", 0, 3);                   /* news: within 5 s of the last one */
    ck_assert_ptr_nonnull(
        rx_wait(&rx, "\nSTATUS=running: 1 input(s), 1 output(s); read 3, delivered 3,", 12000));
    ag_config(&a, false, true, 1, NULL);
    sighup(&a);
    ck_assert_ptr_nonnull(rx_wait(&rx, "RELOADING=1|MONOTONIC_USEC=", 10000));
    ck_assert_ptr_nonnull(rx_wait(&rx, "READY=1|STATUS=running: 1 input(s), 2 output(s)", 10000));
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_ptr_nonnull(rx_wait(&rx, "STOPPING=1", 10000));
    ck_assert_int_eq(lft_wait_exit(a.pid, 15000), 0);

    /* WATCHDOG_PID naming another process: no petting */
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    rx.len = 0;
    rx.all[0] = '\0';
    ag_start(&a);
    ck_assert_ptr_nonnull(rx_wait(&rx, "READY=1", 10000));
    rx_wait(&rx, "no such message", 1000);
    ck_assert_uint_eq(rx_count(&rx, "WATCHDOG=1"), 0);
    ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
    ck_assert_int_eq(lft_wait_exit(a.pid, 15000), 0);
    close(rx.fd);
    ag_done(&a);
}
END_TEST

static Suite *reload_suite(void)
{
    Suite *s = suite_create("lifecycle-reload");
    TCase *tc = tcase_create("reload");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reload_keeps_unchanged_starts_added);
    tcase_add_test(tc, test_reload_invalid_keeps_running);
    tcase_add_test(tc, test_reload_under_load_no_loss_no_dup);
    tcase_add_test(tc, test_notify_and_watchdog);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reload_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
