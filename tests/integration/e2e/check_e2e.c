/* check_e2e.c - the agent as a process, built-in file output: once, in order, restarts. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_testlib.h"

struct env {
    char *dir;
    char in[256], out[256], cfg[256], log[256], state[256];
};

static void env_init(struct env *e, const char *tag)
{
    e->dir = lft_mkdtemp(tag);
    snprintf(e->in, sizeof(e->in), "%s/in.log", e->dir);
    snprintf(e->out, sizeof(e->out), "%s/out.jsonl", e->dir);
    snprintf(e->cfg, sizeof(e->cfg), "%s/agent.yaml", e->dir);
    snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);
    snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "agent: {name: e2e, state_dir: %s, shutdown_timeout: 10s}\n"
             "inputs:\n  - {name: in, paths: [%s], start_at: beginning}\n"
             "outputs:\n  - {name: f, plugin: file, path: %s}\n",
             e->state, e->in, e->out);
    lft_write_file(e->cfg, yaml, false);
}

static void env_fini(struct env *e)
{
    lft_rmtree(e->dir);
    free(e->dir);
}

static pid_t start_agent(struct env *e)
{
    char *argv[] = {(char *)lft_bin(), "run", "-c", e->cfg, NULL};
    return lft_spawn(argv, e->log);
}

/* Checks that out holds "line 0".."line n-1" once each; with allow_dups, at least once.
 * Returns the number of duplicates. */
static size_t verify_sequence(const char *out, size_t n, bool allow_dups)
{
    size_t len;
    char *data = lft_read_file(out, &len);
    ck_assert_ptr_nonnull(data);
    unsigned char *seen = calloc(n, 1);
    size_t dups = 0, expect = 0;
    /* line by line, with bounded searches: strstr over the rest of a 100 MB file per
     * record is quadratic under ASan, whose interceptor measures the whole haystack */
    for (char *line = data, *end = data + len, *nl; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) {
            nl = end; /* a last line without its newline (data[len] is a NUL) */
        }
        *nl = '\0';
        char *p = strstr(line, "\"message\":\"line ");
        if (!p) {
            continue;
        }
        size_t v = strtoul(p + strlen("\"message\":\"line "), NULL, 10);
        ck_assert_msg(v < n, "unexpected line %zu", v);
        if (seen[v]) {
            dups++;
            ck_assert_msg(allow_dups, "line %zu delivered twice", v);
        } else if (!allow_dups) {
            ck_assert_msg(v == expect, "order: got line %zu, expected %zu", v, expect);
        }
        seen[v] = 1;
        expect = v + 1;
    }
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(seen[i], "line %zu lost", i);
    }
    free(seen);
    free(data);
    return dups;
}

static unsigned long long checkpoint_offset(const char *state)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", state);
    char *c = lft_read_file(path, NULL);
    ck_assert_ptr_nonnull(c);
    unsigned long long dev, ino, off;
    unsigned fplen;
    char hash[32];
    const char *line = strchr(c, '\n');
    ck_assert_int_eq(sscanf(line + 1, "%llu %llu %u %31s %llu", &dev, &ino, &fplen, hash, &off), 5);
    free(c);
    return off;
}

START_TEST(test_100k_once_in_order_and_restart)
{
    struct env e;
    env_init(&e, "e2e1");
    lft_append_numbered(e.in, "line", 0, 100000);
    pid_t pid = start_agent(&e);
    ck_assert_uint_eq(lft_wait_lines(e.out, 100000, 30000), 100000);
    kill(pid, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(pid, 15000), 0);
    verify_sequence(e.out, 100000, false);
    struct stat st;
    ck_assert_int_eq(stat(e.out, &st), 0); /* created 0640, like every state file */
    ck_assert_msg((st.st_mode & 07777 & ~(mode_t)0640) == 0, "mode %o", st.st_mode & 07777);
    stat(e.in, &st);
    ck_assert_uint_eq(checkpoint_offset(e.state), (unsigned long long)st.st_size);

    /* A restart re-sends nothing; new lines continue the sequence. */
    pid = start_agent(&e);
    lft_append_numbered(e.in, "line", 100000, 10);
    ck_assert_uint_eq(lft_wait_lines(e.out, 100010, 15000), 100010);
    kill(pid, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(pid, 15000), 0);
    verify_sequence(e.out, 100010, false);
    env_fini(&e);
}
END_TEST

START_TEST(test_sigterm_mid_stream_then_restart)
{
    struct env e;
    env_init(&e, "e2e2");
    const size_t n = 600000;
    lft_append_numbered(e.in, "line", 0, n);
    pid_t pid = start_agent(&e);
    size_t got = lft_wait_lines(e.out, 1000, 15000);
    ck_assert_uint_ge(got, 1000);
    kill(pid, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(pid, 15000), 0);
    size_t after_stop = lft_count_lines(e.out);
    ck_assert_msg(after_stop < n, "the agent finished before SIGTERM; test did not test");
    pid = start_agent(&e);
    ck_assert_uint_eq(lft_wait_lines(e.out, n, 60000), n);
    kill(pid, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(pid, 15000), 0);
    verify_sequence(e.out, n, false); /* nothing lost, nothing twice, in order */
    env_fini(&e);
}
END_TEST

/* True once the last 4 KiB of path hold needle (the output is written in read order, so
 * its last line says how far the agent got). Bounded poll, every 50 ms. */
static bool wait_tail(const char *path, const char *needle, int timeout_ms)
{
    int64_t end = lft_now_ms() + timeout_ms;
    char buf[4097];
    do {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            off_t size = lseek(fd, 0, SEEK_END);
            off_t from = size > 4096 ? size - 4096 : 0;
            ssize_t r = pread(fd, buf, sizeof(buf) - 1, from);
            close(fd);
            buf[r > 0 ? r : 0] = '\0';
            if (strstr(buf, needle)) {
                return true;
            }
        }
        usleep(50000);
    } while (lft_now_ms() < end);
    return false;
}

START_TEST(test_second_signal_never_ahead)
{
    struct env e;
    env_init(&e, "e2e3");
    const size_t n = 600000;
    lft_append_numbered(e.in, "line", 0, n);
    pid_t pid = start_agent(&e);
    ck_assert_uint_ge(lft_wait_lines(e.out, 1000, 15000), 1000);
    kill(pid, SIGTERM);
    kill(pid, SIGINT);
    int code = lft_wait_exit(pid, 15000);
    ck_assert_msg(code == 0 || code == 75, "exit code %d", code);
    pid = start_agent(&e);
    /* The forced exit may leave duplicates, so n lines in the output do not mean every line
     * arrived: wait for the last one (the restarted agent reads the file in order). */
    char last[64];
    snprintf(last, sizeof(last), "\"message\":\"line %zu\"", n - 1);
    ck_assert_msg(wait_tail(e.out, last, 60000), "line %zu never arrived", n - 1);
    kill(pid, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(pid, 15000), 0);
    verify_sequence(e.out, n, true); /* duplicates allowed after a forced exit, no loss */
    env_fini(&e);
}
END_TEST

START_TEST(test_check_exit_codes)
{
    struct env e;
    env_init(&e, "e2e4");
    char *ok[] = {(char *)lft_bin(), "check", "-c", e.cfg, NULL};
    ck_assert_int_eq(lft_wait_exit(lft_spawn(ok, e.log), 10000), 0);
    char bad[300];
    snprintf(bad, sizeof(bad), "%s/bad.yaml", e.dir);
    lft_write_file(bad, "agent: {nmae: x}\ninputs: []\noutputs: [{name: o, plugin: nope}]\n",
                   false);
    char *argv[] = {(char *)lft_bin(), "check", "-c", bad, NULL};
    char out[300];
    snprintf(out, sizeof(out), "%s/check.out", e.dir);
    ck_assert_int_eq(lft_wait_exit(lft_spawn(argv, out), 10000), 78);
    char *text = lft_read_file(out, NULL);
    ck_assert_msg(strstr(text, "bad.yaml:1:9: agent: unknown key 'nmae' (did you mean 'name'?)"),
                  "%s", text);
    ck_assert_msg(strstr(text, "bad.yaml:3:29: outputs[0].plugin: plugin 'nope' not found"), "%s",
                  text);
    ck_assert_msg(strstr(text, "bad.yaml:2:1: inputs: no input defined"), "%s", text);
    free(text);
    char *usage[] = {(char *)lft_bin(), "frobnicate", NULL};
    ck_assert_int_eq(lft_wait_exit(lft_spawn(usage, e.log), 10000), 64);
    env_fini(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("file-output");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_100k_once_in_order_and_restart);
    tcase_add_test(tc, test_sigterm_mid_stream_then_restart);
    tcase_add_test(tc, test_second_signal_never_ahead);
    tcase_add_test(tc, test_check_exit_codes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
