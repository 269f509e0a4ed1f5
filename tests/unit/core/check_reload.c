/* check_reload.c - unit tests of the reload diff (lf_reload) and the notify messages and
 * watchdog settings (lf_notify). Configurations are loaded from strings with the built-in
 * file output; notify messages are received on a datagram socket bound by the test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lf_conf.h"
#include "lf_notify.h"
#include "lf_reload.h"
#include "logferry/lf_err.h"

#define BASE_AGENT "agent: { name: n1, state_dir: /tmp/lf-reload-unit }\n"
#define IN_A       "  - { name: a, paths: [/tmp/a.log] }\n"
#define IN_B       "  - { name: b, paths: [/tmp/b.log], fields: { k: v } }\n"
#define OUT_F      "  - { name: f, plugin: file, path: /tmp/f.jsonl }\n"
#define OUT_G      "  - { name: g, plugin: file, path: /tmp/g.jsonl }\n"

static struct lf_config *load(const char *yaml)
{
    struct lf_diag d;
    struct lf_config *c = NULL;
    lf_diag_init(&d, "t.yaml");
    int rc = lf_conf_load_string(yaml, "t.yaml", NULL, &d, &c);
    if (rc != LF_OK) {
        lf_diag_print(&d, stderr);
    }
    lf_diag_fini(&d);
    ck_assert_int_eq(rc, LF_OK);
    return c;
}

/* The summary of old -> neu. */
static void diff(const char *old_yaml, const char *new_yaml, char *sum, size_t len,
                 struct lf_reload_plan *plan)
{
    struct lf_config *o = load(old_yaml), *n = load(new_yaml);
    ck_assert_int_eq(lf_reload_diff(o, n, plan), LF_OK);
    lf_reload_summary(plan, sum, len);
    lf_conf_free(o);
    lf_conf_free(n);
}

START_TEST(test_identical_is_empty)
{
    struct lf_reload_plan p;
    char s[160];
    const char *y = BASE_AGENT "inputs:\n" IN_A IN_B "outputs:\n" OUT_F OUT_G;
    diff(y, y, s, sizeof(s), &p);
    ck_assert_str_eq(s, "outputs +0 -0 ~0 =2, inputs +0 -0 ~0 =2");
    ck_assert(lf_reload_plan_empty(&p));
    ck_assert_str_eq(p.restart_keys, "");
    lf_reload_plan_free(&p);
}
END_TEST

START_TEST(test_added_removed_changed_by_name)
{
    struct lf_reload_plan p;
    char s[160];
    diff(BASE_AGENT "inputs:\n" IN_A IN_B "outputs:\n" OUT_F,
         BASE_AGENT "inputs:\n"
                    "  - { name: b, paths: [/tmp/b.log], fields: { k: w } }\n"
                    "  - { name: c, paths: [/tmp/c.log] }\n"
                    "outputs:\n" OUT_G "  - { name: f, plugin: file, path: /tmp/f2.jsonl }\n",
         s, sizeof(s), &p);
    ck_assert_str_eq(s, "outputs +1 -0 ~1 =0, inputs +1 -1 ~1 =0");
    ck_assert_int_eq(p.in_from[0], 1); /* b moved from index 1 to 0 */
    ck_assert_int_eq(p.in_fate[0], LF_RELOAD_CHANGED);
    ck_assert_int_eq(p.in_from[1], -1);
    ck_assert(p.in_removed[0]); /* a */
    ck_assert(!p.in_removed[1]);
    ck_assert_int_eq(p.out_fate[0], LF_RELOAD_ADDED);
    ck_assert_int_eq(p.out_from[1], 0);
    ck_assert_int_eq(p.out_fate[1], LF_RELOAD_CHANGED); /* the plugin's own key */
    ck_assert(!lf_reload_plan_empty(&p));
    lf_reload_plan_free(&p);
}
END_TEST

START_TEST(test_order_only_keeps_everything)
{
    struct lf_reload_plan p;
    char s[160];
    diff(BASE_AGENT "inputs:\n" IN_A IN_B "outputs:\n" OUT_F OUT_G,
         BASE_AGENT "inputs:\n" IN_B IN_A "outputs:\n" OUT_G OUT_F, s, sizeof(s), &p);
    ck_assert_str_eq(s, "outputs +0 -0 ~0 =2, inputs +0 -0 ~0 =2");
    ck_assert_int_eq(p.out_from[0], 1);
    ck_assert_int_eq(p.out_from[1], 0);
    lf_reload_plan_free(&p);
}
END_TEST

START_TEST(test_core_keys_and_shared_sections)
{
    struct lf_reload_plan p;
    char s[160];
    /* match: a core key of the output */
    diff(BASE_AGENT "inputs:\n" IN_A "outputs:\n" OUT_F OUT_G,
         BASE_AGENT "inputs:\n" IN_A "outputs:\n"
                    "  - { name: f, plugin: file, path: /tmp/f.jsonl, match: [raw] }\n" OUT_G,
         s, sizeof(s), &p);
    ck_assert_str_eq(s, "outputs +0 -0 ~1 =1, inputs +0 -0 ~0 =1");
    lf_reload_plan_free(&p);
    /* breaker: every output's */
    diff(BASE_AGENT "inputs:\n" IN_A "outputs:\n" OUT_F OUT_G,
         BASE_AGENT "inputs:\n" IN_A "outputs:\n" OUT_F OUT_G "breaker: { open_for: 7s }\n", s,
         sizeof(s), &p);
    ck_assert_str_eq(s, "outputs +0 -0 ~2 =0, inputs +0 -0 ~0 =1");
    lf_reload_plan_free(&p);
    /* a map key of an input */
    diff(BASE_AGENT "inputs:\n" IN_B "outputs:\n" OUT_F,
         BASE_AGENT "inputs:\n  - { name: b, paths: [/tmp/b.log], fields: { k: v, l: m } }\n"
                    "outputs:\n" OUT_F,
         s, sizeof(s), &p);
    ck_assert_str_eq(s, "outputs +0 -0 ~0 =1, inputs +0 -0 ~1 =0");
    lf_reload_plan_free(&p);
}
END_TEST

START_TEST(test_agent_keys_restart_or_live)
{
    struct lf_reload_plan p;
    const char *old_yaml = BASE_AGENT "inputs:\n" IN_A "outputs:\n" OUT_F;
    const char *new_yaml = "agent: { name: n2, state_dir: /tmp/other, shutdown_timeout: 3s,\n"
                           "         memory_limit: 16MiB }\n"
                           "inputs:\n" IN_A "outputs:\n" OUT_F;
    struct lf_config *o = load(old_yaml), *n = load(new_yaml);
    ck_assert_int_eq(lf_reload_diff(o, n, &p), LF_OK);
    ck_assert_str_eq(p.restart_keys, "agent.name, agent.state_dir");
    ck_assert(lf_reload_plan_empty(&p));
    ck_assert_int_eq(lf_reload_keep_agent(o, n), LF_OK);
    ck_assert_str_eq(n->agent.name, "n1");
    ck_assert_str_eq(n->agent.state_dir, "/tmp/lf-reload-unit");
    ck_assert_int_eq(n->agent.shutdown_timeout_ms, 3000); /* live: the new value */
    ck_assert_uint_eq(n->agent.memory_limit, 16u << 20);
    lf_reload_plan_free(&p);
    lf_conf_free(o);
    lf_conf_free(n);
}
END_TEST

/* ---- notify ----------------------------------------------------------------------------- */

static int bind_rx(char *path, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 2};
    snprintf(path, len, "/tmp/lf-notify-%d.sock", (int)getpid());
    unlink(path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setenv("NOTIFY_SOCKET", path, 1);
    return fd;
}

static void recv_msg(int fd, char *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
}

START_TEST(test_notify_messages)
{
    char path[108], msg[1024];
    int fd = bind_rx(path, sizeof(path));
    ck_assert(lf_notify_enabled());
    lf_notify_ready("running: x");
    recv_msg(fd, msg, sizeof(msg));
    ck_assert_str_eq(msg, "READY=1\nSTATUS=running: x");
    lf_notify_reloading();
    recv_msg(fd, msg, sizeof(msg));
    ck_assert_msg(strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0, "%s", msg);
    ck_assert_int_gt(strtoll(msg + 27, NULL, 10), 0);
    lf_notify_status("counts");
    recv_msg(fd, msg, sizeof(msg));
    ck_assert_str_eq(msg, "STATUS=counts");
    lf_notify_stopping();
    recv_msg(fd, msg, sizeof(msg));
    ck_assert_msg(strncmp(msg, "STOPPING=1", 10) == 0, "%s", msg);
    close(fd);
    unlink(path);
    setenv("NOTIFY_SOCKET", "relative/path", 1); /* neither '/' nor '@': ignored */
    ck_assert(!lf_notify_enabled());
    unsetenv("NOTIFY_SOCKET");
    ck_assert(!lf_notify_enabled());
    lf_notify_ready("nobody listens"); /* no crash, no effect */
}
END_TEST

START_TEST(test_watchdog_env)
{
    struct lf_watchdog wd;
    char path[108], msg[64], pid[32];
    int fd = bind_rx(path, sizeof(path));
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "1000000", 1);
    lf_watchdog_init(&wd, 5000);
    ck_assert_int_eq(wd.half_ms, 500);
    lf_watchdog_pet(&wd, 5000); /* the first turn pets */
    recv_msg(fd, msg, sizeof(msg));
    ck_assert_str_eq(msg, "WATCHDOG=1");
    lf_watchdog_pet(&wd, 5499); /* not yet */
    lf_watchdog_pet(&wd, 5500);
    recv_msg(fd, msg, sizeof(msg));
    ck_assert_str_eq(msg, "WATCHDOG=1");
    ck_assert_int_eq(wd.next_ms, 6000); /* so the 5499 one sent nothing */

    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    lf_watchdog_init(&wd, 0);
    ck_assert_int_eq(wd.half_ms, 500); /* for us */
    setenv("WATCHDOG_PID", "1", 1);
    lf_watchdog_init(&wd, 0);
    ck_assert_int_eq(wd.half_ms, 0); /* for another process */
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "12abc", 1);
    lf_watchdog_init(&wd, 0);
    ck_assert_int_eq(wd.half_ms, 0);
    unsetenv("WATCHDOG_USEC");
    lf_watchdog_init(&wd, 0);
    ck_assert_int_eq(wd.half_ms, 0);
    lf_watchdog_pet(&wd, 100000); /* off: nothing */
    close(fd);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reload");
    TCase *tc = tcase_create("diff");
    tcase_add_test(tc, test_identical_is_empty);
    tcase_add_test(tc, test_added_removed_changed_by_name);
    tcase_add_test(tc, test_order_only_keeps_everything);
    tcase_add_test(tc, test_core_keys_and_shared_sections);
    tcase_add_test(tc, test_agent_keys_restart_or_live);
    tcase_add_test(tc, test_notify_messages);
    tcase_add_test(tc, test_watchdog_env);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
