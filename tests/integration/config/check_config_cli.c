/* check_config_cli.c - `logferry check` and `run` as a user meets them with hostile
 * configurations: nested aliases under a 512 MiB address-space limit, syntax and type
 * errors, files that are not configurations, plugin and core errors in one run, secrets
 * never printed (check, logs, /status, --version), state file modes and the state_dir
 * lock between two agents. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_testlib.h"

#define EXIT_CONFIG 78
#define EXIT_LOCKED 73

struct env {
    char *dir;
    char cfg[256], out[256], state[256], sock[256], in[256];
};

static void env_init(struct env *e, const char *tag)
{
    e->dir = lft_mkdtemp(tag);
    snprintf(e->cfg, sizeof(e->cfg), "%s/c.yaml", e->dir);
    snprintf(e->out, sizeof(e->out), "%s/out.txt", e->dir);
    snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
    snprintf(e->sock, sizeof(e->sock), "%s/http.sock", e->dir);
    snprintf(e->in, sizeof(e->in), "%s/in.log", e->dir);
}

static void env_fini(struct env *e)
{
    lft_rmtree(e->dir);
    free(e->dir);
}

/* Runs logferry ARGS... under a 512 MiB address-space limit, output to e->out (replaced);
 * returns the exit code (-1: killed after timeout_ms) and *ms the time it took. */
static int run_limited(struct env *e, int timeout_ms, int64_t *ms, char *const args[])
{
    char *argv[16] = {getenv("PRLIMIT"), "--as=536870912", (char *)lft_bin()};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 15; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    unlink(e->out);
    int64_t t0 = lft_now_ms();
    int rc = lft_wait_exit(lft_spawn(argv, e->out), timeout_ms);
    if (ms) {
        *ms = lft_now_ms() - t0;
    }
    return rc;
}

static int check_cfg(struct env *e)
{
    char *args[] = {"check", "-c", e->cfg, NULL};
    return run_limited(e, 20000, NULL, args);
}

static char *output(struct env *e)
{
    char *s = lft_read_file(e->out, NULL);
    ck_assert_ptr_nonnull(s);
    return s;
}

#define CK_OUT_HAS(e, needle)                                               \
    do {                                                                    \
        char *o_ = output(e);                                               \
        ck_assert_msg(strstr(o_, needle), "want '%s' in:\n%s", needle, o_); \
        free(o_);                                                           \
    } while (0)

#define CK_OUT_LACKS(e, needle)                                                 \
    do {                                                                        \
        char *o_ = output(e);                                                   \
        ck_assert_msg(!strstr(o_, needle), "'%s' printed in:\n%s", needle, o_); \
        free(o_);                                                               \
    } while (0)

START_TEST(test_billion_laughs_bounded)
{
    struct env e;
    env_init(&e, "cfg-laughs");
    FILE *fp = fopen(e.cfg, "w");
    fprintf(fp, "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++) { /* 10^10 nodes once expanded */
        fprintf(fp, "x%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++) {
            fprintf(fp, "%s*a%d", k ? ", " : "", i - 1);
        }
        fprintf(fp, "]\n");
    }
    fclose(fp);
    int64_t ms;
    char *args[] = {"check", "-c", e.cfg, NULL};
    ck_assert_int_eq(run_limited(&e, 20000, &ms, args), EXIT_CONFIG);
    ck_assert_msg(ms < 5000, "took %lld ms", (long long)ms);
    CK_OUT_HAS(&e, "c.yaml:5:");
    CK_OUT_HAS(&e, "alias '*a3': the document expands to more than 100000 nodes");
    char *run[] = {"run", "-c", e.cfg, NULL}; /* run loads the same way */
    ck_assert_int_eq(run_limited(&e, 20000, &ms, run), EXIT_CONFIG);
    CK_OUT_HAS(&e, "alias '*a3'");
    env_fini(&e);
}
END_TEST

START_TEST(test_syntax_and_type_errors)
{
    struct env e;
    env_init(&e, "cfg-syntax");
    lft_write_file(e.cfg,
                   "agent:\n  state_dir: /tmp/x\ninputs:\n  - name: a\n    paths: [/tmp/*.log\n"
                   "outputs:\n  - name: o\n    plugin: stdout\n",
                   false);
    ck_assert_int_eq(check_cfg(&e), EXIT_CONFIG);
    CK_OUT_HAS(&e, "c.yaml:5:12: YAML syntax error: this '[' is never closed");
    lft_write_file(e.cfg,
                   "agent: {state_dir: /tmp/x}\n"
                   "inputs:\n  - name: a\n    paths: 42\n"
                   "outputs:\n  - name: k\n    plugin: kafka\n    brokers: 42\n    topic: t\n"
                   "    compresion: lz4\n",
                   false);
    ck_assert_int_eq(check_cfg(&e), EXIT_CONFIG);
    CK_OUT_HAS(&e, "c.yaml:4:12: inputs[0].paths: '42' is a number");
    CK_OUT_HAS(&e, "c.yaml:8:14: outputs[0].brokers: '42' is a number");
    CK_OUT_HAS(&e, "c.yaml:10:5: outputs[0]: unknown key 'compresion' (did you mean "
                   "'compression'?)");
    env_fini(&e);
}
END_TEST

START_TEST(test_not_a_config_file)
{
    struct env e;
    env_init(&e, "cfg-files");
    lft_write_file(e.cfg, "", false);
    ck_assert_int_eq(check_cfg(&e), EXIT_CONFIG);
    CK_OUT_HAS(&e, "c.yaml: the configuration file is empty");
    FILE *fp = fopen(e.cfg, "w");
    for (int i = 0; i < 4096; i++) {
        fputc((i * 7919) & 0xff, fp); /* binary: NUL and bytes >= 0x80 */
    }
    fclose(fp);
    ck_assert_int_eq(check_cfg(&e), EXIT_CONFIG);
    CK_OUT_HAS(&e, "not a text file");
    char *args[] = {"check", "-c", e.dir, NULL};
    ck_assert_int_eq(run_limited(&e, 20000, NULL, args), EXIT_CONFIG);
    CK_OUT_HAS(&e, "is a directory, not a configuration file");
    env_fini(&e);
}
END_TEST

START_TEST(test_plugin_and_core_errors_in_one_run)
{
    struct env e;
    env_init(&e, "cfg-all");
    lft_write_file(e.cfg,
                   "agent: {state_dir: /tmp/x, shutdown_timout: 1s}\n"
                   "inputs: [{name: a, paths: [/tmp/a.log]}]\n"
                   "outputs:\n"
                   "  - {name: r, plugin: rabbitmq, url: 'http://h/', exchange: x}\n",
                   false);
    ck_assert_int_eq(check_cfg(&e), EXIT_CONFIG);
    CK_OUT_HAS(&e, "unknown key 'shutdown_timout'");
    CK_OUT_HAS(&e, "c.yaml:4:6: output 'r': rejected by the rabbitmq plugin");
    CK_OUT_HAS(&e, "must start with amqp:// or amqps://");
    env_fini(&e);
}
END_TEST

/* Inline secrets in a world-readable file: check warns, nothing prints them. */
static void write_secret_config(struct env *e)
{
    char y[2048];
    snprintf(y, sizeof(y),
             "agent: {state_dir: %s, http: {listen: 'unix:%s'}}\n"
             "inputs: [{name: i, paths: [%s]}]\n"
             "outputs:\n"
             "  - {name: r, plugin: rabbitmq, url: 'amqp://u:RmqPw4711@127.0.0.1:1/%%2f', "
             "exchange: x}\n"
             "  - {name: k, plugin: kafka, brokers: ['127.0.0.1:1'], topic: t,\n"
             "     sasl: {mechanism: PLAIN, username: u, password: KafkaPw0815}}\n",
             e->state, e->sock, e->in);
    lft_write_file(e->cfg, y, false);
    chmod(e->cfg, 0644);
    lft_write_file(e->in, "hello\n", false);
}

static bool out_has_wait(struct env *e, const char *needle, int timeout_ms)
{
    int64_t end = lft_now_ms() + timeout_ms;
    do {
        char *s = lft_read_file(e->out, NULL);
        bool found = s && strstr(s, needle);
        free(s);
        if (found) {
            return true;
        }
        usleep(50000); /* polling a file for an event: bounded by the deadline */
    } while (lft_now_ms() < end);
    return false;
}

START_TEST(test_secrets_never_printed)
{
    struct env e;
    env_init(&e, "cfg-secret");
    write_secret_config(&e);
    ck_assert_int_eq(check_cfg(&e), 0);
    CK_OUT_HAS(&e, "c.yaml:4:39: warning: the file holds a secret and every user may read it");
    CK_OUT_LACKS(&e, "RmqPw4711");
    CK_OUT_LACKS(&e, "KafkaPw0815");
    char *ver[] = {"--version", NULL};
    ck_assert_int_eq(run_limited(&e, 20000, NULL, ver), 0);
    CK_OUT_LACKS(&e, "RmqPw4711");
    /* run: the outputs fail to connect and log it; /status lists them */
    char run_log[200];
    snprintf(run_log, sizeof(run_log), "%s/run.log", e.dir);
    char *argv[] = {(char *)lft_bin(), "run", "-c", e.cfg, NULL};
    pid_t pid = lft_spawn(argv, run_log);
    char *st[] = {(char *)lft_bin(), "status", "--json", "-c", e.cfg, NULL};
    int64_t end = lft_now_ms() + 15000;
    while (lft_now_ms() < end && lft_run(st, e.out) != 0) {
        unlink(e.out);
        usleep(100000); /* until the endpoint answers, bounded */
    }
    CK_OUT_HAS(&e, "\"outputs\":[{\"name\":\"r\"");
    CK_OUT_LACKS(&e, "RmqPw4711");
    CK_OUT_LACKS(&e, "KafkaPw0815");
    snprintf(e.out, sizeof(e.out), "%s", run_log);
    ck_assert(out_has_wait(&e, "connect failed", 15000));
    kill(pid, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(pid, 20000), 0);
    CK_OUT_LACKS(&e, "RmqPw4711");
    CK_OUT_LACKS(&e, "KafkaPw0815");
    env_fini(&e);
}
END_TEST

/* The _file and ${ENV} forms with the real plugins: rabbitmq's validate() parses the URL
 * read from url_file, so a bad one there proves the file was read and used. */
START_TEST(test_secret_forms_with_plugins)
{
    struct env e;
    env_init(&e, "cfg-secfile");
    char url[300], pw[300], y[2048];
    snprintf(url, sizeof(url), "%s/rmq.url", e.dir);
    snprintf(pw, sizeof(pw), "%s/kafka.pw", e.dir);
    lft_write_file(url, "amqp://u:UrlPw31337@127.0.0.1:5672/%2f\n", false);
    lft_write_file(pw, "KafkaFilePw99\n", false);
    snprintf(y, sizeof(y),
             "agent: {state_dir: %s}\n"
             "inputs: [{name: i, paths: [/tmp/x.log]}]\n"
             "outputs:\n"
             "  - {name: r, plugin: rabbitmq, url_file: %s, exchange: x}\n"
             "  - {name: k, plugin: kafka, brokers: ['127.0.0.1:1'], topic: t,\n"
             "     sasl: {mechanism: PLAIN, username: u, password_file: %s}}\n"
             "  - {name: h, plugin: http, url: 'http://127.0.0.1:1/', bearer_token: "
             "'${LF_TEST_UNSET_TOKEN}'}\n",
             e.state, url, pw);
    lft_write_file(e.cfg, y, false);
    chmod(e.cfg, 0644);
    ck_assert_int_eq(check_cfg(&e), EXIT_CONFIG);
    CK_OUT_HAS(&e, "c.yaml:7:");
    CK_OUT_HAS(&e, "outputs[2].bearer_token: environment variable 'LF_TEST_UNSET_TOKEN' is not "
                   "set");
    CK_OUT_LACKS(&e, "warning"); /* no inline secret: no world-readable warning */
    CK_OUT_LACKS(&e, "rejected by the rabbitmq plugin");
    lft_write_file(url, "notamqp://u:UrlPw31337@127.0.0.1/\n", false);
    unlink(pw);
    ck_assert_int_eq(check_cfg(&e), EXIT_CONFIG);
    CK_OUT_HAS(&e, "c.yaml:4:6: output 'r': rejected by the rabbitmq plugin");
    CK_OUT_HAS(&e, "outputs[1].sasl.password_file: cannot read ");
    CK_OUT_HAS(&e, "kafka.pw: No such file or directory");
    CK_OUT_LACKS(&e, "UrlPw31337");
    env_fini(&e);
}
END_TEST

static mode_t mode_of(const char *dir, const char *name)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    return st.st_mode & 07777;
}

START_TEST(test_state_modes_and_lock)
{
    struct env e;
    env_init(&e, "cfg-lock");
    char y[1024], out1[200], out_file[200];
    snprintf(out_file, sizeof(out_file), "%s/delivered.jsonl", e.dir);
    snprintf(y, sizeof(y),
             "agent: {state_dir: %s, checkpoint_interval: 50ms}\n"
             "inputs: [{name: i, paths: [%s]}]\n"
             "outputs: [{name: f, plugin: file, path: %s}]\n",
             e.state, e.in, out_file);
    lft_write_file(e.cfg, y, false);
    lft_write_file(e.in, "one\ntwo\n", false);
    snprintf(out1, sizeof(out1), "%s/first.log", e.dir);
    char *argv[] = {(char *)lft_bin(), "run", "-c", e.cfg, NULL};
    pid_t first = lft_spawn(argv, out1);
    ck_assert_uint_eq(lft_wait_lines(out_file, 2, 15000), 2);
    /* a second agent on the same state_dir: refused, names the holder, exit 73 */
    char *args[] = {"run", "-c", e.cfg, NULL};
    ck_assert_int_eq(run_limited(&e, 20000, NULL, args), EXIT_LOCKED);
    char want[200];
    snprintf(want, sizeof(want), "is in use by another logferry (pid %d)", (int)first);
    CK_OUT_HAS(&e, want);
    kill(first, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(first, 20000), 0);
    ck_assert_int_eq(mode_of(e.state, "."), 0750);
    ck_assert_int_eq(mode_of(e.state, "lock"), 0640);
    ck_assert_int_eq(mode_of(e.state, "checkpoints"), 0640);
    ck_assert_int_eq(mode_of(e.state, "spool"), 0750);
    /* once the first is gone, the lock is free again */
    snprintf(e.out, sizeof(e.out), "%s/second.log", e.dir);
    pid_t again = lft_spawn(argv, e.out);
    ck_assert(out_has_wait(&e, "started:", 15000));
    kill(again, SIGTERM);
    ck_assert_int_eq(lft_wait_exit(again, 20000), 0);
    env_fini(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config-cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_billion_laughs_bounded);
    tcase_add_test(tc, test_syntax_and_type_errors);
    tcase_add_test(tc, test_not_a_config_file);
    tcase_add_test(tc, test_plugin_and_core_errors_in_one_run);
    tcase_add_test(tc, test_secrets_never_printed);
    tcase_add_test(tc, test_secret_forms_with_plugins);
    tcase_add_test(tc, test_state_modes_and_lock);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
