/* check_it_http.c - the whole agent (`logferry run -c`) into a local _bulk server via out_http.
 *
 * es_server.py plays Elasticsearch on loopback (a port picked per run) and counts documents
 * by _id. The tests: 100,000 records arrive exactly once by _id across scripted 429/503
 * bursts, dropped connections, a slow answer past the timeout, item-level 429s and a
 * server restart; a longer outage opens the breaker, spools and drains; item errors (400)
 * reach the dead-letter file while op_type create turns the 409 of a retried request into
 * a delivery; gzip bodies decode; ndjson and json_array reach a generic endpoint; TLS
 * verification fails without the CA and works with ca_file, and a client certificate is
 * presented when asked for; basic and ApiKey credentials from files are sent and a
 * 401 is dead-lettered, secrets never logged; the agent's memory stays bounded behind a
 * slow server.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_harness.h"
#include "lf_testlib.h"

#define RETRY_FAST   ", retry: { backoff: 100ms, max_backoff: 500ms }"
#define BREAKER_FAST "breaker: { open_for: 300ms, max_open_for: 1s }\n"

static void dead_letters(const struct lf_agent *a, char *path, size_t cap)
{
    snprintf(path, cap, "%s/state/dead-letter/es.jsonl", a->dir);
}

START_TEST(test_bulk_100k_exactly_once_across_faults)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128], dlq[400];

    agent_prepare(&a, 100000, NULL, 0);
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    ck_assert_int_eq(es_script(&es, "{\"queue\": [{\"status\": 429}, {\"status\": 503}, "
                                    "{\"status\": 429}, {\"drop_after\": true}, "
                                    "{\"status\": 503}, {\"drop\": true}, {\"delay_ms\": 1500}, "
                                    "{\"status\": 503}], \"item_429_every\": 997}"),
                     0);
    es_url(&es, url, sizeof(url));
    agent_config(&a, url, ", timeout: 1s, linger: 50ms" RETRY_FAST, NULL, BREAKER_FAST);
    int64_t t0 = lft_now_ms();
    agent_start(&a);
    long docs = es_wait_stat(&es, "docs", 40000, 60000);
    ck_assert_int_ge(docs, 40000);
    fprintf(stderr, "faults: %ld 429/503 answers, %ld dropped, %ld item errors before restart\n",
            es_stat(&es, "status_errors"), es_stat(&es, "dropped"), es_stat(&es, "item_errors"));
    es_kill(&es); /* restart on the same port; the journal keeps what was indexed */
    ck_assert_int_eq(es_start(&es, a.dir, es.port), 0);
    ck_assert_int_eq(es_script(&es, "{\"queue\": [{\"status\": 503}, {\"status\": 429}], "
                                    "\"item_429_every\": 997}"),
                     0);
    docs = es_wait_stat(&es, "docs", 100000, 90000);
    fprintf(stderr, "100000 records by _id after %lld ms (%ld index ops after the restart)\n",
            (long long)(lft_now_ms() - t0), es_stat(&es, "index_ops"));
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(docs, 100000);                   /* none lost, no id twice */
    ck_assert_int_eq(es_stat(&es, "docs"), 100000);   /* nothing late, either */
    ck_assert_int_eq(es_stat(&es, "lines"), 100000);  /* every line, by content */
    ck_assert_int_ge(es_stat(&es, "item_errors"), 1); /* item 429s were exercised */
    dead_letters(&a, dlq, sizeof(dlq));
    ck_assert_uint_eq(lft_count_lines(dlq), 0);
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

/* The server goes away: the breaker opens, records go to the spool (purge hands back what
 * was waiting for a slot), probes fail until the server is back, then the spool drains
 * and every record is there once by _id. */
START_TEST(test_server_down_breaker_spool_drain)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128];

    agent_prepare(&a, 30000, NULL, 0);
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    ck_assert_int_eq(es_script(&es, "{\"delay_ms\": 50}"), 0); /* so the outage lands mid-run */
    es_url(&es, url, sizeof(url));
    agent_config(&a, url, RETRY_FAST, ", memory_limit: 1MiB", BREAKER_FAST);
    agent_start(&a);
    ck_assert_int_ge(es_wait_stat(&es, "docs", 5000, 30000), 5000);
    es_kill(&es);
    ck_assert(agent_log_wait(&a, "breaker open", 20000));
    ck_assert(agent_log_wait(&a, "the probe failed", 20000)); /* still down: spooling */
    ck_assert_int_eq(es_start(&es, a.dir, es.port), 0);
    ck_assert_int_eq(es_wait_stat(&es, "docs", 30000, 60000), 30000);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert(agent_log_wait(&a, "draining the spool", 1000));
    ck_assert_int_eq(es_stat(&es, "docs"), 30000);
    ck_assert_int_eq(es_stat(&es, "lines"), 30000);
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

START_TEST(test_item_errors_dead_lettered_create_conflicts_delivered)
{
    struct es_server es = {0};
    struct lf_agent a;
    const size_t bad[] = {10, 500, 1999};
    char url[128], dlq[400];

    agent_prepare(&a, 2000, bad, 3);
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    /* The first request is indexed but its answer lost: the retry meets 409s. */
    ck_assert_int_eq(es_script(&es, "{\"queue\": [{\"drop_after\": true}]}"), 0);
    es_url(&es, url, sizeof(url));
    agent_config(&a, url, ", op_type: create, index: 'ds-{{type}}'" RETRY_FAST, NULL, BREAKER_FAST);
    agent_start(&a);
    dead_letters(&a, dlq, sizeof(dlq));
    ck_assert_uint_eq(lft_wait_lines(dlq, 3, 30000), 3);
    ck_assert_int_eq(es_wait_stat(&es, "docs", 1997, 30000), 1997);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(es_stat(&es, "dropped"), 1);
    ck_assert(es_stats_has(&es, "\"indices\":[\"ds-raw\"]")); /* {{type}} rendered */
    char *txt = lft_read_file(dlq, NULL);
    ck_assert_ptr_nonnull(strstr(txt, "bulk item status 400"));
    ck_assert_ptr_nonnull(strstr(txt, "mapper_parsing_exception"));
    ck_assert_ptr_null(strstr(txt, "version_conflict")); /* 409 on create = delivered */
    ck_assert_uint_eq(lft_count_lines(dlq), 3);
    free(txt);
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

/* The records were read just now, so their @timestamp is today (or, at midnight UTC,
 * yesterday): the default index must carry that date. */
static bool has_todays_index(struct es_server *es)
{
    for (int back = 0; back < 2; back++) {
        time_t t = time(NULL) - back * 3600;
        struct tm tm;
        char want[80];
        gmtime_r(&t, &tm);
        strftime(want, sizeof(want), "\"indices\":[\"logferry-raw-%Y.%m.%d\"]", &tm);
        if (es_stats_has(es, want)) {
            return true;
        }
    }
    return false;
}

START_TEST(test_gzip_bodies_decode)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128];

    agent_prepare(&a, 5000, NULL, 0);
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    es_url(&es, url, sizeof(url));
    agent_config(&a, url, ", compression: gzip, batch_max_records: 500", NULL, NULL);
    agent_start(&a);
    ck_assert_int_eq(es_wait_stat(&es, "lines", 5000, 30000), 5000);
    ck_assert_int_eq(agent_stop(&a), 0);
    long reqs = es_stat(&es, "requests"), gz = es_stat(&es, "gzip_requests");
    fprintf(stderr, "gzip: %ld requests, %ld gzip, %ld body bytes for 5000 records\n", reqs, gz,
            es_stat(&es, "bytes"));
    ck_assert_int_ge(reqs, 10);
    ck_assert_int_eq(gz, reqs);
    ck_assert(has_todays_index(&es)); /* default 'logferry-{{type}}-%Y.%m.%d', UTC */
    ck_assert_int_eq(es_stat(&es, "docs"), 5000);
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

static void generic_format(const char *format)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128], extra[200];

    agent_prepare(&a, 3000, NULL, 0);
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    es_url(&es, url, sizeof(url));
    strncat(url, "/ingest", sizeof(url) - strlen(url) - 1);
    snprintf(extra, sizeof(extra),
             ", format: %s, batch_max_records: 300, headers: { X-Log-Type: '{{type}}' }", format);
    agent_config(&a, url, extra, NULL, NULL);
    agent_start(&a);
    ck_assert_int_eq(es_wait_stat(&es, "record_ids", 3000, 30000), 3000);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(es_stat(&es, "lines"), 3000);
    ck_assert_int_eq(es_stat(&es, "docs"), 0); /* nothing went to _bulk */
    ck_assert_int_ge(es_stat(&es, "requests"), 10);
    ck_assert_int_eq(es_stat(&es, "typed_requests"), es_stat(&es, "requests"));
    es_kill(&es);
    lft_rmtree(a.dir);
}

START_TEST(test_ndjson)
{
    generic_format("ndjson");
}
END_TEST

START_TEST(test_json_array)
{
    generic_format("json_array");
}
END_TEST

static void make_cert_named(const char *dir, const char *name, char *cert, char *key, size_t cap)
{
    char log[300];

    snprintf(cert, cap, "%s/%s-cert.pem", dir, name);
    snprintf(key, cap, "%s/%s-key.pem", dir, name);
    snprintf(log, sizeof(log), "%s/openssl.log", dir);
    char *argv[] = {"openssl",  "req",
                    "-x509",    "-newkey",
                    "rsa:2048", "-nodes",
                    "-keyout",  key,
                    "-out",     cert,
                    "-days",    "2",
                    "-subj",    "/CN=127.0.0.1",
                    "-addext",  "subjectAltName=IP:127.0.0.1",
                    NULL};
    ck_assert_int_eq(lft_run(argv, log), 0);
}

static void make_cert(const char *dir, char *cert, char *key, size_t cap)
{
    make_cert_named(dir, "server", cert, key, cap);
}

START_TEST(test_tls_verification)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128], cert[300], key[300], extra[400];

    agent_prepare(&a, 2000, NULL, 0);
    make_cert(a.dir, cert, key, sizeof(cert));
    es.cert = cert;
    es.key = key;
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    es_url(&es, url, sizeof(url));
    /* No CA: the self-signed certificate must fail verification, and nothing is sent. */
    agent_config(&a, url, RETRY_FAST, NULL, BREAKER_FAST);
    agent_start(&a);
    ck_assert(agent_log_wait(&a, "certificate problem", 20000));
    ck_assert_int_eq(es_stat(&es, "requests"), 0);
    int rc = agent_stop(&a);
    ck_assert(rc == 0 || rc == 75);
    /* With ca_file the same server is trusted. */
    snprintf(extra, sizeof(extra), ", ca_file: '%s'" RETRY_FAST, cert);
    agent_config(&a, url, extra, NULL, BREAKER_FAST);
    agent_start(&a);
    ck_assert_int_eq(es_wait_stat(&es, "lines", 2000, 30000), 2000);
    ck_assert_int_eq(agent_stop(&a), 0);
    /* tls_insecure works too, and says so at every start. */
    agent_config(&a, url, ", tls_insecure: true", NULL, NULL);
    agent_start(&a);
    ck_assert(agent_log_wait(&a, "tls_insecure: true: the server certificate", 20000));
    ck_assert_int_eq(agent_stop(&a), 0);
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

/* The server asks for a client certificate: without cert_file/key_file the handshake
 * fails and nothing is indexed; with them every record arrives. */
START_TEST(test_tls_client_certificate)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128], cert[300], key[300], ccert[300], ckey[300], extra[1200];

    agent_prepare(&a, 1000, NULL, 0);
    make_cert(a.dir, cert, key, sizeof(cert));
    make_cert_named(a.dir, "client", ccert, ckey, sizeof(ccert));
    es.cert = cert;
    es.key = key;
    es.client_ca = ccert; /* self-signed: the client certificate is its own CA */
    es.client_key = ckey;
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    es_url(&es, url, sizeof(url));
    snprintf(extra, sizeof(extra), ", ca_file: '%s'" RETRY_FAST, cert);
    agent_config(&a, url, extra, NULL, BREAKER_FAST);
    agent_start(&a);
    ck_assert(agent_log_wait(&a, "request of", 20000)); /* failed: no client certificate */
    int rc = agent_stop(&a);
    ck_assert(rc == 0 || rc == 75);
    ck_assert_int_eq(es_stat(&es, "docs"), 0);
    snprintf(extra, sizeof(extra), ", ca_file: '%s', cert_file: '%s', key_file: '%s'" RETRY_FAST,
             cert, ccert, ckey);
    agent_config(&a, url, extra, NULL, BREAKER_FAST);
    agent_start(&a);
    ck_assert_int_eq(es_wait_stat(&es, "docs", 1000, 30000), 1000);
    ck_assert_int_eq(agent_stop(&a), 0);
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

/* Basic credentials and an API key, each from a file, reach the server as the right header; a
 * wrong password is a 401, permanent: the records are dead-lettered, none is retried. */
START_TEST(test_auth_basic_file_api_key_and_401)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128], extra[400], pwfile[300], dlq[400];

    agent_prepare(&a, 500, NULL, 0);
    es.auth = "Basic bG9nZmVycnk6czNjcmV0LXB3"; /* logferry:s3cret-pw */
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    es_url(&es, url, sizeof(url));
    snprintf(pwfile, sizeof(pwfile), "%s/pw", a.dir);
    lft_write_file(pwfile, "s3cret-pw\n", false);
    snprintf(extra, sizeof(extra), ", user: logferry, password_file: '%s'", pwfile);
    agent_config(&a, url, extra, NULL, NULL);
    agent_start(&a);
    ck_assert_int_eq(es_wait_stat(&es, "docs", 500, 30000), 500);
    ck_assert_int_eq(agent_stop(&a), 0);
    es_kill(&es);

    es.auth = "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
    ck_assert_int_eq(es_start(&es, a.dir, es.port), 0);
    agent_prepare_more(&a, 500, 300);
    char keyfile[300];
    snprintf(keyfile, sizeof(keyfile), "%s/apikey", a.dir);
    lft_write_file(keyfile, "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==\n",
                   false);
    snprintf(extra, sizeof(extra), ", api_key_file: '%s'", keyfile);
    agent_config(&a, url, extra, NULL, NULL);
    agent_start(&a);
    ck_assert_int_eq(es_wait_stat(&es, "docs", 800, 30000), 800);
    ck_assert_int_eq(agent_stop(&a), 0);

    agent_prepare_more(&a, 800, 200); /* a wrong password: 401 for these 200 */
    lft_write_file(pwfile, "wrong\n", false);
    snprintf(extra, sizeof(extra), ", user: logferry, password_file: '%s'", pwfile);
    agent_config(&a, url, extra, NULL, NULL);
    agent_start(&a);
    dead_letters(&a, dlq, sizeof(dlq));
    ck_assert_uint_eq(lft_wait_lines(dlq, 200, 30000), 200);
    ck_assert_int_eq(agent_stop(&a), 0);
    char *txt = lft_read_file(dlq, NULL);
    ck_assert_ptr_nonnull(strstr(txt, "HTTP 401: "));
    ck_assert_ptr_nonnull(strstr(txt, "security_exception"));
    free(txt);
    char *log = lft_read_file(a.log, NULL); /* the secrets never reach the log */
    ck_assert_ptr_null(strstr(log, "s3cret"));
    ck_assert_ptr_null(strstr(log, "VnVhQ2ZH"));
    free(log);
    ck_assert_int_eq(es_stat(&es, "docs"), 800);
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

/* 300 ms per request behind 200,000 lines: with agent.memory_limit 1 MiB the reader waits
 * for the output, and at most max_in_flight + 1 requests of 1,000 records exist, so the
 * agent's peak memory stays far below what holding the records would need. */
START_TEST(test_memory_bounded_behind_slow_server)
{
    struct es_server es = {0};
    struct lf_agent a;
    char url[128];
    long peak = 0, lines = 0;

    agent_prepare(&a, 200000, NULL, 0);
    ck_assert_int_eq(es_start(&es, a.dir, 0), 0);
    ck_assert_int_eq(es_script(&es, "{\"delay_ms\": 300}"), 0);
    es_url(&es, url, sizeof(url));
    agent_config(&a, url, NULL, ", memory_limit: 1MiB", NULL);
    agent_start(&a);
    for (int64_t end = lft_now_ms() + 90000; lft_now_ms() < end && lines < 200000;) {
        long k = agent_vm_hwm_kib(&a);
        peak = k > peak ? k : peak;
        lines = es_stat(&es, "lines");
        usleep(200 * 1000); /* sampling interval of a bounded wait */
    }
    fprintf(stderr, "slow server: %ld of 200000 delivered, agent peak RSS %ld KiB\n", lines, peak);
    ck_assert_int_eq(agent_stop(&a), 0);
    ck_assert_int_eq(lines, 200000);
    ck_assert_int_gt(peak, 0);
    ck_assert(LFT_ASAN || peak < 64 * 1024); /* lf_testlib.h: no RSS bound under ASan */
    es_kill(&es);
    lft_rmtree(a.dir);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("it-http");
    TCase *tc = tcase_create("agent");

    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, test_bulk_100k_exactly_once_across_faults);
    tcase_add_test(tc, test_server_down_breaker_spool_drain);
    tcase_add_test(tc, test_item_errors_dead_lettered_create_conflicts_delivered);
    tcase_add_test(tc, test_gzip_bodies_decode);
    tcase_add_test(tc, test_ndjson);
    tcase_add_test(tc, test_json_array);
    tcase_add_test(tc, test_tls_verification);
    tcase_add_test(tc, test_tls_client_certificate);
    tcase_add_test(tc, test_auth_basic_file_api_key_and_401);
    tcase_add_test(tc, test_memory_bounded_behind_slow_server);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_suite());
    int failed;

    /* loopback only: a proxy from the environment must not see the tests' requests */
    const char *proxies[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++) {
        unsetenv(proxies[i]);
    }

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
