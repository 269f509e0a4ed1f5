/* check_obs.c - the renderers of the endpoint from a hand-built snapshot (exact lines),
 * the snapshot copy and exchange between two threads, and the listen address rules. */
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lf_breaker.h"
#include "lf_clock.h"
#include "lf_http.h"
#include "lf_render.h"
#include "lf_snapshot.h"
#include "logferry/lf_err.h"

static const struct lf_proc_stats proc = {
    .cpu_seconds = 1.5, .rss_bytes = 4096, .open_fds = 7, .threads = 3, .start_time_seconds = 100};
static const struct lf_build_info build = {.version = "9.9.9", .microhttpd = "0.9.75"};

/* Two inputs, two files, two outputs: "k" with an open breaker and a spool, "f" fine. */
static void build_snapshot(struct lf_snapshot *s)
{
    lf_snapshot_init(s);
    s->seq = 1;
    s->wall_ms = 1000000;
    s->mono_ms = 5000;
    s->start_wall_ms = 940000;
    s->agent_name = lf_snapshot_intern(s, "edge-1");
    s->live_bytes = 2048;
    s->memory_limit = 8388608;
    struct lf_snap_input *in = lf_snapshot_add_input(s, "access");
    in->tail.bytes_read = 123456;
    in->tail.rotations = 2;
    in->router.records = 1000;
    in->router.filtered = 10;
    in->router.unrouted = 1;
    in->router.parse_errors = 3;
    in->router.redactions = 7;
    in->files = 2;
    in->open_files = 1;
    lf_snapshot_add_input(s, "app");
    struct lf_snap_file *f = lf_snapshot_add_file(s, 0, "/var/log/a.log");
    f->ino = 42;
    f->size = 5000;
    f->committed = 4000;
    f->read_offset = 5000;
    f->unacked_age_ms = 2500;
    f = lf_snapshot_add_file(s, 0, "/var/log/we\"ird\\name\n.log");
    f->ino = 43;
    f->size = 10;
    f->committed = 10;
    struct lf_snap_output *o = lf_snapshot_add_output(s, "k", "kafka");
    o->st.delivered = 990;
    o->st.dead_lettered = 5;
    o->st.dead_reason[LF_DLQ_REJECTED] = 3;
    o->st.dead_reason[LF_DLQ_RETRIES_EXHAUSTED] = 2;
    o->st.dead_remote = 4;
    o->st.breaker_state = LF_BREAKER_OPEN;
    o->st.breaker_opens = 1;
    o->st.breaker_half_opens = 1;
    o->st.inflight = 4;
    o->st.spool_records = 30;
    o->st.spool_bytes = 3 * 1024 * 1024;
    o->st.spool_oldest_ms = 988000;
    o->st.spool_dropped = 6;
    o->last_error = lf_snapshot_intern(s, "Local: Message timed out");
    o = &s->outputs[0];
    o->last_error_ms = 999000;
    o->st.latency[0] = 10;                             /* <= 5 ms */
    o->st.latency[7] = 5;                              /* <= 1 s */
    o->st.latency[LF_OUTPATH_LATENCY_BUCKETS - 1] = 1; /* > 60 s */
    o->st.latency_sum_ms = 63500;
    o->st.batch[2] = 3; /* 5..16 records */
    o->st.batch_sum = 30;
    o = lf_snapshot_add_output(s, "f", "file");
    o->st.delivered = 994;
}

/* True if text holds line as a whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return true;
        }
    }
    return false;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

START_TEST(test_metrics_exact_lines)
{
    struct lf_snapshot s;
    struct lf_buf b;
    build_snapshot(&s);
    lf_buf_init(&b, 0);
    ck_assert_int_eq(lf_render_metrics(&s, &proc, &build, false, &b), LF_OK);
    const char *want[] = {
        "logferry_build_info{version=\"9.9.9\",microhttpd=\"0.9.75\"} 1",
        "logferry_memory_held_bytes 2048",
        "# TYPE logferry_input_bytes_read_total counter",
        "logferry_input_bytes_read_total{input=\"access\"} 123456",
        "logferry_input_bytes_read_total{input=\"app\"} 0",
        "logferry_input_records_total{input=\"access\"} 1000",
        "logferry_input_parse_failures_total{input=\"access\"} 3",
        "logferry_input_redactions_total{input=\"access\"} 7",
        "logferry_input_records_dropped_total{input=\"access\",reason=\"filter\"} 10",
        "logferry_input_records_dropped_total{input=\"access\",reason=\"unrouted\"} 1",
        "logferry_input_rotations_total{input=\"access\"} 2",
        "logferry_input_open_files{input=\"access\"} 1",
        "logferry_file_size_bytes{input=\"access\",file=\"/var/log/a.log\"} 5000",
        "logferry_file_committed_offset_bytes{input=\"access\",file=\"/var/log/a.log\"} 4000",
        "logferry_file_lag_bytes{input=\"access\",file=\"/var/log/a.log\"} 1000",
        "logferry_file_oldest_unacked_age_seconds{input=\"access\",file=\"/var/log/a.log\"} "
        "2.500",
        "logferry_file_lag_bytes{input=\"access\",file=\"/var/log/we\\\"ird\\\\name\\n.log\"} 0",
        "# TYPE logferry_output_records_delivered_total counter",
        "logferry_output_records_delivered_total{output=\"k\"} 990",
        "logferry_output_records_delivered_total{output=\"f\"} 994",
        "logferry_output_records_in_flight{output=\"k\"} 4",
        "logferry_output_records_dead_lettered_total{output=\"k\",reason=\"rejected\"} 3",
        "logferry_output_records_dead_lettered_total{output=\"k\",reason=\"retries_exhausted\"} 2",
        "logferry_output_records_dropped_total{output=\"k\",reason=\"spool_full\"} 6",
        "# TYPE logferry_output_breaker_state gauge",
        "logferry_output_breaker_state{output=\"k\"} 1",
        "logferry_output_breaker_state{output=\"f\"} 0",
        "logferry_output_breaker_transitions_total{output=\"k\",to=\"open\"} 1",
        "logferry_output_breaker_transitions_total{output=\"k\",to=\"half_open\"} 1",
        "logferry_output_breaker_transitions_total{output=\"k\",to=\"closed\"} 0",
        "logferry_output_spool_records{output=\"k\"} 30",
        "logferry_output_spool_bytes{output=\"k\"} 3145728",
        "logferry_output_spool_oldest_age_seconds{output=\"k\"} 12.000",
        "logferry_output_spool_oldest_age_seconds{output=\"f\"} 0.000",
        "# TYPE logferry_output_delivery_latency_seconds histogram",
        "logferry_output_delivery_latency_seconds_bucket{output=\"k\",le=\"0.005\"} 10",
        "logferry_output_delivery_latency_seconds_bucket{output=\"k\",le=\"0.5\"} 10",
        "logferry_output_delivery_latency_seconds_bucket{output=\"k\",le=\"1\"} 15",
        "logferry_output_delivery_latency_seconds_bucket{output=\"k\",le=\"60\"} 15",
        "logferry_output_delivery_latency_seconds_bucket{output=\"k\",le=\"+Inf\"} 16",
        "logferry_output_delivery_latency_seconds_sum{output=\"k\"} 63.500",
        "logferry_output_delivery_latency_seconds_count{output=\"k\"} 16",
        "logferry_output_delivery_latency_seconds_count{output=\"f\"} 0",
        "# TYPE logferry_output_batch_records histogram",
        "logferry_output_batch_records_bucket{output=\"k\",le=\"4\"} 0",
        "logferry_output_batch_records_bucket{output=\"k\",le=\"16\"} 3",
        "logferry_output_batch_records_bucket{output=\"k\",le=\"+Inf\"} 3",
        "logferry_output_batch_records_sum{output=\"k\"} 30.000",
        "logferry_output_batch_records_count{output=\"k\"} 3",
        "process_cpu_seconds_total 1.500",
        "process_open_fds 7",
        "process_threads 3",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_msg(has_line(b.data, want[i]), "missing line: %s\n%s", want[i], b.data);
    }
    /* one HELP and TYPE per family, even when a family has rows per reason */
    ck_assert_uint_eq(count_of(b.data, "# TYPE logferry_input_records_dropped_total "), 1);
    ck_assert_uint_eq(count_of(b.data, "# HELP "), count_of(b.data, "# TYPE "));
    ck_assert_uint_eq(count_of(b.data, "# EOF"), 0);
    lf_buf_fini(&b);
    lf_snapshot_fini(&s);
}
END_TEST

START_TEST(test_openmetrics_names_counter_families_without_total)
{
    struct lf_snapshot s;
    struct lf_buf b;
    build_snapshot(&s);
    lf_buf_init(&b, 0);
    ck_assert_int_eq(lf_render_metrics(&s, &proc, &build, true, &b), LF_OK);
    ck_assert(has_line(b.data, "# TYPE logferry_output_records_delivered counter"));
    ck_assert(has_line(b.data, "logferry_output_records_delivered_total{output=\"k\"} 990"));
    ck_assert(has_line(b.data, "# TYPE logferry_output_breaker_state gauge"));
    ck_assert_str_eq(b.data + b.len - 6, "# EOF\n");
    lf_buf_fini(&b);
    lf_snapshot_fini(&s);
}
END_TEST

START_TEST(test_readiness_reasons)
{
    struct lf_snapshot s;
    struct lf_buf b;
    build_snapshot(&s);
    lf_buf_init(&b, 0);
    ck_assert(!lf_render_ready(&s, &b));
    ck_assert_str_eq(b.data, "not ready: output k: breaker open\n");
    s.outputs[0].st.breaker_state = LF_BREAKER_CLOSED;
    s.outputs[1].st.blocked = true;
    lf_buf_reset(&b);
    ck_assert(!lf_render_ready(&s, &b));
    ck_assert_str_eq(b.data, "not ready: output f: spool refuses records\n");
    s.outputs[1].st.blocked = false;
    lf_buf_reset(&b);
    ck_assert(lf_render_ready(&s, &b));
    ck_assert_str_eq(b.data, "ready\n");
    s.stopping = true;
    lf_buf_reset(&b);
    ck_assert(!lf_render_ready(&s, &b));
    ck_assert_str_eq(b.data, "not ready: shutting down\n");
    s.seq = 0;
    lf_buf_reset(&b);
    ck_assert(!lf_render_ready(&s, &b));
    lf_buf_fini(&b);
    lf_snapshot_fini(&s);
}
END_TEST

START_TEST(test_status_json_exact)
{
    struct lf_snapshot s;
    struct lf_buf b;
    lf_snapshot_init(&s);
    s.seq = 1;
    s.wall_ms = 61500;
    s.start_wall_ms = 1500;
    s.agent_name = lf_snapshot_intern(&s, "a");
    s.memory_limit = 100;
    lf_snapshot_add_input(&s, "in")->router.records = 7;
    struct lf_snap_file *f = lf_snapshot_add_file(&s, 0, "/x \"y\".log");
    f->dev = 1;
    f->ino = 2;
    f->size = 30;
    f->read_offset = 30;
    f->committed = 20;
    f->open = true;
    struct lf_snap_output *o = lf_snapshot_add_output(&s, "k", "kafka");
    o->st.breaker_state = LF_BREAKER_HALF_OPEN;
    o->st.delivered = 5;
    o->last_error = lf_snapshot_intern(&s, "broker down");
    o = &s.outputs[0];
    o->last_error_ms = 60000;
    s.recent[0] = (struct lf_log_recent){
        .wall_ms = 60000, .level = 1, .logger = "agent", .message = "a \"quoted\" warning"};
    s.nrecent = 1;
    lf_buf_init(&b, 0);
    ck_assert_int_eq(lf_render_status_json(&s, 40, &b), LF_OK);
    ck_assert_str_eq(
        b.data,
        "{\"agent\":\"a\",\"uptime_seconds\":60.000,\"heartbeat_age_ms\":40,\"ready\":false,"
        "\"ready_reason\":\"not ready: output k: breaker half-open\",\"memory\":{\"held_bytes\":"
        "0,\"limit_bytes\":100,\"paused\":false},\"inputs\":[{\"name\":\"in\",\"files\":0,"
        "\"open_files\":0,\"bytes_read\":0,\"records\":7,\"parse_failures\":0,"
        "\"dropped_filter\":0,\"dropped_unrouted\":0,\"rotations\":0,\"truncations\":0}],"
        "\"files\":[{\"input\":\"in\",\"path\":\"/x \\\"y\\\".log\",\"dev\":1,\"inode\":2,"
        "\"size\":30,\"read_offset\":30,\"committed_offset\":20,\"lag_bytes\":10,"
        "\"oldest_unacked_age_seconds\":0.000,\"open\":true}],"
        "\"outputs\":[{\"name\":\"k\",\"plugin\":\"kafka\",\"breaker\":\"half-open\","
        "\"breaker_opens\":0,\"in_flight\":0,\"retry_queue\":0,\"delivered\":5,\"retried\":0,"
        "\"dead_lettered\":0,\"spooled\":0,\"drained\":0,\"dead_letters\":{\"rejected\":0,"
        "\"retries_exhausted\":0,\"too_large\":0,\"dlt_failed\":0,\"no_memory\":0,\"remote\":0},"
        "\"spool\":{\"records\":0,\"bytes\":0,"
        "\"oldest_age_seconds\":0.000,\"blocked\":false,\"dropped\":0},"
        "\"last_error\":\"broker down\",\"last_error_age_seconds\":1.500}],"
        "\"recent_errors\":[{\"time_ms\":60000,\"level\":\"warn\",\"logger\":\"agent\","
        "\"message\":\"a \\\"quoted\\\" warning\"}]}\n");
    lf_buf_fini(&b);
    lf_snapshot_fini(&s);
}
END_TEST

START_TEST(test_status_table_lines)
{
    struct lf_snapshot s;
    struct lf_buf b;
    build_snapshot(&s);
    lf_buf_init(&b, 0);
    ck_assert_int_eq(lf_render_status_text(&s, 100, &b), LF_OK);
    ck_assert_msg(has_line(b.data, "agent edge-1: up 60 s, main loop turned 0.1 s ago, 2.0 KiB "
                                   "of 8.0 MiB held in memory"),
                  "%s", b.data);
    ck_assert(has_line(b.data, "readiness: not ready: output k: breaker open"));
    ck_assert_msg(has_line(b.data, "(none)"), "%s", b.data);
    ck_assert_msg(has_line(b.data, "             last error 1.0 s ago: Local: Message timed out"),
                  "%s", b.data);
    ck_assert_msg(has_line(b.data, "access       /var/log/a.log                    42           "
                                   "4000           5000           1000       2.5 s"),
                  "%s", b.data);
    ck_assert_msg(has_line(b.data,
                           "access       /var/log/we\"ird\\name?.log         43             "
                           "10             10              0       0.0 s"),
                  "%s", b.data);
    ck_assert_msg(has_line(b.data, "k            kafka    open              4          990         "
                                   "0      5           30     3.0 MiB    12.0 s        6"),
                  "%s", b.data);
    lf_buf_fini(&b);
    lf_snapshot_fini(&s);
}
END_TEST

START_TEST(test_snapshot_copy_is_deep)
{
    struct lf_snapshot s, c;
    build_snapshot(&s);
    lf_snapshot_init(&c);
    ck_assert_int_eq(lf_snapshot_copy(&c, &s), LF_OK);
    lf_snapshot_fini(&s);
    ck_assert_uint_eq(c.nfiles, 2);
    ck_assert_str_eq(lf_snapshot_str(&c, c.files[0].path), "/var/log/a.log");
    ck_assert_str_eq(lf_snapshot_str(&c, c.outputs[1].name), "f");
    ck_assert_uint_eq(c.outputs[0].st.spool_records, 30);
    lf_snapshot_fini(&c);
}
END_TEST

/* The main thread's side of the exchange: sleeps on the wake fd as the agent's idle loop
 * does (with a short timeout only to see the stop flag), publishes when asked. */
struct loop_ctx {
    struct lf_obs *obs;
    volatile int stop;
    int published;
    int woken; /* times the wake fd was readable */
};

static void *fake_main_loop(void *arg)
{
    struct loop_ctx *l = arg;
    int64_t t = 1;
    while (!l->stop) {
        struct pollfd p = {.fd = lf_obs_wake_fd(l->obs), .events = POLLIN};
        lf_obs_loop_state(l->obs, true, 0);
        int n = poll(&p, 1, 20);
        lf_obs_loop_state(l->obs, false, t);
        l->woken += n > 0;
        if (lf_obs_tick(l->obs, t++)) {
            lf_snapshot_reset(&l->obs->build);
            l->obs->build.agent_name = lf_snapshot_intern(&l->obs->build, "loop");
            l->obs->build.mono_ms = INT64_MAX / 2; /* always fresh for the reader */
            lf_obs_publish(l->obs);
            l->published++;
        }
        sched_yield();
    }
    return NULL;
}

/* /healthz's heartbeat: none before the loop first waits; "now" while it waits for events
 * (an idle loop, which has no tick, is alive); the start of its turn while it turns. */
START_TEST(test_heartbeat_of_waiting_and_turning_loop)
{
    struct lf_obs obs;
    ck_assert_int_eq(lf_obs_init(&obs), LF_OK);
    ck_assert_int_eq(lf_obs_heartbeat(&obs), 0);
    lf_obs_loop_state(&obs, true, 0);
    int64_t before = lf_mono_ms();
    ck_assert_int_ge(lf_obs_heartbeat(&obs), before);
    lf_obs_loop_state(&obs, false, 1234);
    ck_assert_int_eq(lf_obs_heartbeat(&obs), 1234);
    lf_obs_fini(&obs);
}
END_TEST

START_TEST(test_exchange_between_threads)
{
    struct lf_obs obs;
    struct lf_snapshot copy;
    struct loop_ctx l = {.obs = &obs};
    pthread_t th;
    int64_t beat;
    ck_assert_int_eq(lf_obs_init(&obs), LF_OK);
    lf_snapshot_init(&copy);
    ck_assert_int_eq(pthread_create(&th, NULL, fake_main_loop, &l), 0);
    ck_assert_int_eq(lf_obs_copy(&obs, &copy, 250, 5000, &beat), LF_OK);
    ck_assert_uint_ge(copy.seq, 1);
    ck_assert_str_eq(lf_snapshot_str(&copy, copy.agent_name), "loop");
    ck_assert_int_gt(beat, 0);
    l.stop = 1;
    pthread_join(th, NULL);
    ck_assert_int_eq(l.published, (int)copy.seq); /* published only when asked */
    ck_assert_int_ge(l.woken, 1);                 /* asked through the wake fd */
    lf_snapshot_fini(&copy);
    lf_obs_fini(&obs);
}
END_TEST

START_TEST(test_listen_rules)
{
    struct sockaddr_storage sa;
    unsigned len;
    char err[512];
    ck_assert_int_eq(lf_http_parse_listen("127.0.0.1:2020", false, &sa, &len, err, sizeof(err)),
                     LF_OK);
    ck_assert_int_eq(sa.ss_family, AF_INET);
    ck_assert_int_eq(ntohs(((struct sockaddr_in *)&sa)->sin_port), 2020);
    ck_assert_int_eq(lf_http_parse_listen("[::1]:2020", false, &sa, &len, err, sizeof(err)), LF_OK);
    ck_assert_int_eq(sa.ss_family, AF_INET6);
    ck_assert_int_eq(lf_http_parse_listen("0.0.0.0:2020", false, &sa, &len, err, sizeof(err)),
                     LF_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "not a loopback address"));
    ck_assert_int_eq(lf_http_parse_listen("0.0.0.0:2020", true, &sa, &len, err, sizeof(err)),
                     LF_OK);
    ck_assert_int_eq(lf_http_parse_listen(":2020", false, &sa, &len, err, sizeof(err)), LF_ECONFIG);
    ck_assert_int_eq(lf_http_parse_listen("127.0.0.1", false, &sa, &len, err, sizeof(err)),
                     LF_ECONFIG);
    ck_assert_int_eq(lf_http_parse_listen("[::1:2020", false, &sa, &len, err, sizeof(err)),
                     LF_ECONFIG);
    ck_assert_int_eq(lf_http_parse_listen("unix:/run/lf.sock", false, &sa, &len, err, sizeof(err)),
                     LF_OK);
    ck_assert_int_eq(sa.ss_family, AF_UNIX);
    ck_assert_int_eq(lf_http_parse_listen("unix:run/lf.sock", false, &sa, &len, err, sizeof(err)),
                     LF_ECONFIG);
}
END_TEST

static Suite *obs_suite(void)
{
    Suite *s = suite_create("obs");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, test_metrics_exact_lines);
    tcase_add_test(tc, test_openmetrics_names_counter_families_without_total);
    tcase_add_test(tc, test_readiness_reasons);
    tcase_add_test(tc, test_status_json_exact);
    tcase_add_test(tc, test_status_table_lines);
    suite_add_tcase(s, tc);
    tc = tcase_create("exchange");
    tcase_add_test(tc, test_snapshot_copy_is_deep);
    tcase_add_test(tc, test_exchange_between_threads);
    tcase_add_test(tc, test_heartbeat_of_waiting_and_turning_loop);
    tcase_add_test(tc, test_listen_rules);
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
