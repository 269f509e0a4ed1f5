/* check_it_dlt.c - dead letters end to end: the agent (`logferry run -c`) with records
 * that fail for good next to records that flow.
 *
 * Kafka (mock-kafka): records of one input go to a topic led by a broker whose Produce
 * requests fail with INVALID_RECORD (a permanent per-record error); they must land in
 * <topic>.dlt with the logferry-dlt-* headers while the others reach their topic, and a
 * record over max_message_bytes must land in the local store with reason too_large.
 * RabbitMQ (a real rabbitmq-server): records whose routing key no queue is bound to are
 * returned (mandatory) and must land in the topology's failed queue with the headers.
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <check.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka_harness.h"
#include "lf_testlib.h"

extern char **environ;

struct agent {
    char *dir;
    char cfg[512];
    pid_t pid;
};

/* good.log (service good, n_good lines plus one of 3000 bytes when big) and bad.log
 * (service bad, n_bad lines), and an agent config whose output section is `output`. */
static void agent_setup(struct agent *a, const char *plugin_so, size_t n_good, size_t n_bad,
                        bool big, const char *output)
{
    char plugin_dir[512], path[600];
    FILE *f;

    a->dir = lft_mkdtemp("lf-it-dlt");
    chmod(a->dir, 0755);
    snprintf(plugin_dir, sizeof(plugin_dir), "%s", plugin_so);
    *strrchr(plugin_dir, '/') = '\0';
    snprintf(path, sizeof(path), "%s/good.log", a->dir);
    lft_append_numbered(path, "good line", 0, n_good);
    if (big) {
        f = fopen(path, "a");
        fputs("good line big ", f);
        for (int k = 0; k < 3000; k++) {
            fputc('y', f);
        }
        fputc('\n', f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/bad.log", a->dir);
    lft_append_numbered(path, "bad line", 0, n_bad);
    snprintf(a->cfg, sizeof(a->cfg), "%s/cfg.yaml", a->dir);
    f = fopen(a->cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "agent: { name: it, state_dir: %s/state, shutdown_timeout: 10s, plugin_dir: %s }\n"
            "inputs:\n"
            "  - { name: g, paths: [%s/good.log], start_at: beginning,"
            " fields: { service.name: good } }\n"
            "  - { name: b, paths: [%s/bad.log], start_at: beginning,"
            " fields: { service.name: bad } }\n"
            "outputs:\n"
            "  - %s\n",
            a->dir, plugin_dir, a->dir, a->dir, output);
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

static void agent_fini(struct agent *a)
{
    lft_rmtree(a->dir);
    free(a->dir);
}

/* The local store of output `name`: its text (NULL if absent) and line count. */
static char *local_store(struct agent *a, const char *name, size_t *lines)
{
    char path[600];
    size_t len;
    snprintf(path, sizeof(path), "%s/state/dead-letter/%s.jsonl", a->dir, name);
    *lines = lft_count_lines(path);
    return lft_read_file(path, &len);
}

/* Asserts that line holds the local store's keys in the documented order. */
static void assert_key_order(const char *line)
{
    static const char *const keys[] = {
        "{\"time\":\"",        "\"output\":",      "\"id\":\"",     "\"reason\":",
        "\"error\":",          "\"code\":",        "\"attempts\":", "\"first_failure\":\"",
        "\"last_failure\":\"", "\"destination\":", "\"record\":{",
    };
    const char *at = line;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *k = strstr(at, keys[i]);
        ck_assert_msg(k != NULL, "key %s missing or out of order in %s", keys[i], line);
        at = k + strlen(keys[i]);
    }
}

/* Polls the local store until it has n lines (bounded). */
static size_t wait_store(struct agent *a, const char *name, size_t n, int timeout_ms)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/state/dead-letter/%s.jsonl", a->dir, name);
    return lft_wait_lines(path, n, timeout_ms);
}

/* ---- Kafka ----------------------------------------------------------------------------- */

/* Reads topic with kcat: headers, a tab, the value, one message a line. */
static FILE *kcat_headers(struct mock_kafka *mk, const char *topic)
{
    char cmd[1024];
    const char *kcat = getenv("KCAT");
    snprintf(cmd, sizeof(cmd), "%s -C -b %s -t %s -o beginning -e -q -f '%%h\\t%%s\\n' 2>/dev/null",
             kcat ? kcat : "kcat", mk->bootstraps, topic);
    return popen(cmd, "r");
}

/* Every message of the .dlt topic: a "bad line" with the headers naming the error. */
static size_t check_dlt_topic(struct mock_kafka *mk)
{
    char line[16384];
    size_t n = 0;
    FILE *f = kcat_headers(mk, "dlt.bad.dlt");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        ck_assert_msg(strstr(line, "\"message\":\"bad line ") != NULL, "not a bad line: %s", line);
        ck_assert_ptr_nonnull(strstr(line, "logferry-dlt-error="));
        ck_assert_ptr_nonnull(strstr(line, "INVALID_RECORD"));
        ck_assert_ptr_nonnull(strstr(line, "logferry-dlt-reason=rejected"));
        ck_assert_ptr_nonnull(strstr(line, "logferry-dlt-attempts=1"));
        ck_assert_ptr_nonnull(strstr(line, "logferry-dlt-topic=dlt.bad"));
        ck_assert_ptr_nonnull(strstr(line, "logferry-dlt-code=87"));
        const char *ff = strstr(line, "logferry-dlt-first-failure=");
        ck_assert_ptr_nonnull(ff);
        ff += strlen("logferry-dlt-first-failure=");
        ck_assert_msg(strlen(ff) > 24 && ff[4] == '-' && ff[10] == 'T' && ff[19] == '.' &&
                          ff[23] == 'Z',
                      "first failure is not RFC 3339 with ms: %.30s", ff);
        const char *id = strstr(line, "logferry-id=");
        ck_assert_ptr_nonnull(id);
        ck_assert_uint_eq(strspn(id + strlen("logferry-id="), "0123456789abcdef"), 32);
        n++;
    }
    pclose(f);
    return n;
}

/* Two brokers: dlt.bad is led by broker 2, whose Produce requests all fail with
 * INVALID_RECORD; everything else is led by broker 1. */
static void mk_start_bad_broker(struct mock_kafka *mk)
{
    const char *args[] = {
        "-b", "2", "-t", "dlt.good:2:1", "-t", "dlt.bad:1:1", "-t", "dlt.bad.dlt:1:1", NULL};

    ck_assert_int_eq(mk_start(mk, args), 0);
    ck_assert_str_eq(mk_cmd(mk, "leader dlt.good 0 1"), "ok");
    ck_assert_str_eq(mk_cmd(mk, "leader dlt.good 1 1"), "ok");
    ck_assert_str_eq(mk_cmd(mk, "leader dlt.bad.dlt 0 1"), "ok");
    ck_assert_str_eq(mk_cmd(mk, "leader dlt.bad 0 2"), "ok");
    ck_assert_str_eq(mk_cmd(mk, "brokererr 2 Produce INVALID_RECORD 5000"), "ok");
}

START_TEST(kafka_dead_letters)
{
    struct mock_kafka mk = {0};
    struct agent a;
    char out[1024];
    size_t lines;

    mk_start_bad_broker(&mk);
    snprintf(out, sizeof(out),
             "{ name: k, plugin: kafka, brokers: [%s], topic: 'dlt.{{service.name}}',"
             " max_message_bytes: 2048, dead_letter: { topic_suffix: .dlt },"
             " retry: { attempts: 3, backoff: 50ms } }",
             mk.bootstraps);
    agent_setup(&a, getenv("OUT_KAFKA_SO"), 500, 40, true, out);
    agent_start(&a);
    long good = mk_wait_hwm(&mk, "dlt.good", 500, 60000);
    long dlt = mk_wait_hwm(&mk, "dlt.bad.dlt", 40, 60000);
    size_t stored = wait_store(&a, "k", 1, 30000);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(good, 500);
    ck_assert_int_eq(dlt, 40);
    ck_assert_uint_eq(check_dlt_topic(&mk), 40);
    /* the one record over max_message_bytes: local store, not the topic, not the .dlt */
    ck_assert_uint_eq(stored, 1);
    char *text = local_store(&a, "k", &lines);
    ck_assert_uint_eq(lines, 1);
    assert_key_order(text);
    ck_assert_ptr_nonnull(strstr(text, "\"output\":\"k\""));
    ck_assert_ptr_nonnull(strstr(text, "\"reason\":\"too_large\""));
    ck_assert_ptr_nonnull(strstr(text, "\"code\":10,"));
    ck_assert_ptr_nonnull(strstr(text, "\"attempts\":1,"));
    ck_assert_ptr_nonnull(strstr(text, "\"destination\":\"dlt.good\""));
    ck_assert_ptr_nonnull(strstr(text, "\"message\":\"good line big yyy"));
    free(text);
    agent_fini(&a);
    mk_stop(&mk);
}
END_TEST

/* The .dlt topic refuses too (its leader is the failing broker): dead letters land in the
 * local store with reason dlt_failed, both errors in the text. */
START_TEST(kafka_dlt_fails_to_local)
{
    struct mock_kafka mk = {0};
    struct agent a;
    char out[1024];
    size_t lines;

    mk_start_bad_broker(&mk);
    ck_assert_str_eq(mk_cmd(&mk, "leader dlt.bad.dlt 0 2"), "ok");
    snprintf(out, sizeof(out),
             "{ name: k, plugin: kafka, brokers: [%s], topic: 'dlt.{{service.name}}',"
             " dead_letter: { topic_suffix: .dlt } }",
             mk.bootstraps);
    agent_setup(&a, getenv("OUT_KAFKA_SO"), 50, 5, false, out);
    agent_start(&a);
    long good = mk_wait_hwm(&mk, "dlt.good", 50, 60000);
    size_t stored = wait_store(&a, "k", 5, 60000);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(good, 50);
    ck_assert_uint_eq(stored, 5);
    char *text = local_store(&a, "k", &lines);
    ck_assert_uint_eq(lines, 5);
    assert_key_order(text);
    ck_assert_ptr_nonnull(strstr(text, "\"reason\":\"dlt_failed\""));
    ck_assert_ptr_nonnull(strstr(text, "dead-letter destination: "));
    ck_assert_ptr_nonnull(strstr(text, "dlt.bad.dlt"));
    ck_assert_ptr_nonnull(strstr(text, "\"destination\":\"dlt.bad\""));
    free(text);
    agent_fini(&a);
    mk_stop(&mk);
}
END_TEST

/* ---- RabbitMQ --------------------------------------------------------------------------- */

static char rmq_dir[300], rmq_node[64], rmq_url[128];
static int rmq_port;

static int launcher(const char *cmd, ...)
{
    char *argv[16] = {getenv("RMQ_LAUNCHER"), (char *)cmd};
    int n = 2;
    va_list ap;
    va_start(ap, cmd);
    for (char *s; n < 15 && (s = va_arg(ap, char *)) != NULL;) {
        argv[n++] = s;
    }
    va_end(ap);
    argv[n] = NULL;
    return lft_wait_exit(lft_spawn(argv, NULL), 120000);
}

static amqp_connection_state_t amqp_open(void)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    ck_assert_int_eq(amqp_socket_open(s, "127.0.0.1", rmq_port), 0);
    amqp_rpc_reply_t r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
    ck_assert_int_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
    amqp_channel_open(c, 1);
    ck_assert_int_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
    return c;
}

/* Messages in queue (passive declare), -1 if it does not exist. */
static long queue_depth(const char *queue)
{
    amqp_connection_state_t c = amqp_open();
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    long n = ok ? (long)ok->message_count : -1;
    amqp_destroy_connection(c);
    return n;
}

static long wait_depth(const char *queue, long want, int timeout_ms)
{
    int64_t end = lft_now_ms() + timeout_ms;
    long n;
    while ((n = queue_depth(queue)) < want && lft_now_ms() < end) {
        usleep(100 * 1000); /* bounded polling of the broker's count */
    }
    return n;
}

static const amqp_field_value_t *header(const amqp_basic_properties_t *p, const char *key)
{
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG)) {
        return NULL;
    }
    for (int i = 0; i < p->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &p->headers.entries[i];
        if (e->key.len == strlen(key) && memcmp(e->key.bytes, key, e->key.len) == 0) {
            return &e->value;
        }
    }
    return NULL;
}

static bool header_has(const amqp_basic_properties_t *p, const char *key, const char *needle)
{
    const amqp_field_value_t *v = header(p, key);
    char buf[1024];
    if (!v || v->kind != AMQP_FIELD_KIND_UTF8) {
        return false;
    }
    snprintf(buf, sizeof(buf), "%.*s", (int)v->value.bytes.len, (const char *)v->value.bytes.bytes);
    return strstr(buf, needle) != NULL;
}

/* Takes every message of the failed queue and checks each one's headers; returns how many. */
static size_t check_failed_queue(const char *queue)
{
    amqp_connection_state_t c = amqp_open();
    size_t n = 0;
    for (;;) {
        amqp_rpc_reply_t r = amqp_basic_get(c, 1, amqp_cstring_bytes(queue), 1);
        ck_assert_int_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
        if (r.reply.id != AMQP_BASIC_GET_OK_METHOD) {
            break;
        }
        amqp_message_t m;
        ck_assert_int_eq(amqp_read_message(c, 1, &m, 0).reply_type, AMQP_RESPONSE_NORMAL);
        const amqp_basic_properties_t *p = &m.properties;
        ck_assert(header_has(p, "logferry-dlt-error", "NO_ROUTE"));
        ck_assert(header_has(p, "logferry-dlt-reason", "rejected"));
        ck_assert(header_has(p, "logferry-dlt-topic", "bad"));
        ck_assert(header_has(p, "logferry-dlt-exchange", "dlt.x"));
        ck_assert(header_has(p, "logferry-dlt-first-failure", "Z"));
        const amqp_field_value_t *code = header(p, "logferry-dlt-code");
        const amqp_field_value_t *att = header(p, "logferry-dlt-attempts");
        ck_assert(code && code->kind == AMQP_FIELD_KIND_I64 && code->value.i64 == 312);
        ck_assert(att && att->kind == AMQP_FIELD_KIND_I64 && att->value.i64 == 1);
        ck_assert(header_has(p, "logferry-id", "") && p->message_id.len == 32);
        ck_assert(m.body.len > 20 && memmem(m.body.bytes, m.body.len, "bad line", 8) != NULL);
        amqp_destroy_message(&m);
        n++;
    }
    amqp_destroy_connection(c);
    return n;
}

START_TEST(rabbitmq_unroutable_to_failed_queue)
{
    struct agent a;
    char out[1024], port[16], dist[16];
    size_t lines;
    unsigned slot = (unsigned)getpid() % 10;

    rmq_port = 5700 + (int)slot;
    snprintf(port, sizeof(port), "%d", rmq_port);
    snprintf(dist, sizeof(dist), "%d", 25700 + (int)slot);
    snprintf(rmq_node, sizeof(rmq_node), "lf12a%u@localhost", slot);
    char *base = lft_mkdtemp("lf-it-dlt-rmq");
    chmod(base, 0755);
    snprintf(rmq_dir, sizeof(rmq_dir), "%s/broker", base);
    ck_assert_msg(launcher("start", rmq_dir, rmq_node, port, dist, "90", NULL) == 0,
                  "cannot start rabbitmq-server");
    snprintf(rmq_url, sizeof(rmq_url), "amqp://guest:guest@127.0.0.1:%d/%%2f", rmq_port);
    snprintf(out, sizeof(out),
             "{ name: r, plugin: rabbitmq, url: '%s', exchange: dlt.x, mandatory: true,"
             " routing_key: '{{service.name}}',"
             " topology: { declare: true, queue: dlt.q, binding_key: good } }",
             rmq_url);
    agent_setup(&a, getenv("OUT_RABBITMQ_SO"), 300, 25, false, out);
    agent_start(&a);
    long good = wait_depth("dlt.q", 300, 60000);
    long failed = wait_depth("dlt.q.failed", 25, 60000);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(good, 300);
    ck_assert_int_eq(failed, 25);
    ck_assert_uint_eq(check_failed_queue("dlt.q.failed"), 25);
    char *text = local_store(&a, "r", &lines); /* nothing needed the local store */
    ck_assert_uint_eq(lines, 0);
    free(text);
    agent_fini(&a);
    launcher("stop", rmq_dir, rmq_node, "40", NULL);
    lft_rmtree(base);
    free(base);
}
END_TEST

static Suite *dlt_suite(void)
{
    Suite *s = suite_create("dead-letters");
    TCase *tc = tcase_create("kafka");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, kafka_dead_letters);
    tcase_add_test(tc, kafka_dlt_fails_to_local);
    suite_add_tcase(s, tc);
    if (getenv("RMQ_LAUNCHER") && getenv("OUT_RABBITMQ_SO")) {
        tc = tcase_create("rabbitmq");
        tcase_set_timeout(tc, 250);
        tcase_add_test(tc, rabbitmq_unroutable_to_failed_queue);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dlt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
