/* bench_parse.c - ns per record for each parser (parse + encode), on generated input.
 * Usage: bench-parse [records]   Prints one line per parser. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lf_buf.h"
#include "lf_parse.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

#define NVAR 64

static double now_ns(void)
{
    struct timespec ts;
    /* CPU time of this thread: the number stays meaningful on a busy machine */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int type_index(const char *name)
{
    for (int i = 0; lf_parser_type_names[i]; i++) {
        if (!strcmp(lf_parser_type_names[i], name)) {
            return i;
        }
    }
    return 0;
}

static void run_conf(const char *label, const char *type, const char *format,
                     const struct lf_redact_conf *rd, enum lf_record_type rtype, char **lines,
                     long n)
{
    const char *only = getenv("BENCH_ONLY"); /* run only parsers whose label starts so */
    if (only && strncmp(label, only, strlen(only))) {
        return;
    }
    struct lf_parser_conf pc = {.type = type_index(type), .format = (char *)format};
    if (rd) {
        pc.redact = *rd;
    }
    struct lf_parser *p;
    char err[256];
    if (lf_parser_create(&pc, NULL, rtype, err, sizeof(err), &p) != LF_OK) {
        fprintf(stderr, "%s: %s\n", label, err);
        exit(1);
    }
    struct lf_buf out;
    lf_buf_init(&out, 0);
    struct lf_event_meta m = {.host_name = "app-01",
                              .path = "/var/log/app/access.log",
                              .id_hex = "0123456789abcdef0123456789abcdef",
                              .read_time_ms = 1700000000000};
    size_t lens[NVAR];
    for (int i = 0; i < NVAR; i++) {
        lens[i] = strlen(lines[i]);
    }
    enum lf_record_type t;
    int64_t ts;
    size_t bytes = 0;
    for (long i = 0; i < 1000; i++) { /* warm up scratch buffers */
        lf_buf_reset(&out);
        lf_parser_encode(p, &m, lines[i % NVAR], lens[i % NVAR], &out, &t, &ts);
    }
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        lf_buf_reset(&out);
        m.offset = (uint64_t)i * 200;
        lf_parser_encode(p, &m, lines[i % NVAR], lens[i % NVAR], &out, &t, &ts);
        bytes += out.len;
    }
    double dt = now_ns() - t0;
    printf("%-22s %8.0f ns/record  %6.2f M records/s  (%zu B out/record, %llu parse errors)\n",
           label, dt / n, n / dt * 1e3, bytes / (size_t)n, (unsigned long long)lf_parser_errors(p));
    lf_buf_fini(&out);
    lf_parser_destroy(p);
}

static void run(const char *label, const char *type, const char *format, enum lf_record_type rtype,
                char **lines, long n)
{
    run_conf(label, type, format, NULL, rtype, lines, n);
}

/* Templates are literals below; the generator fills the same six numbers into each. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *fmt(const char *f, int i)
{
    char *s = malloc(4096);
    snprintf(s, 4096, f, i % 250 + 1, i * 7 % 250, i, i * 13 % 1000, 100 + i % 5 * 100,
             i * 31 % 99999);
    return s;
}
#pragma GCC diagnostic pop

/* Inputs of the parsers added with issue 18 (error traces, csvlog, jsonlog, MongoDB). */
static void more_inputs(int i, char **pytb, char **csv, char **pgjson, char **mongo, char **gopanic)
{
    pytb[i] = fmt("2026-11-21 23:36:41,%03d - django.request - ERROR - Internal Server "
                  "Error: /cart/%d\nTraceback (most recent call last):\n  File \"/app/views.py\""
                  ", line %d, in cart\n    return d[k]\nKeyError: 'user-%d' (%d/%d)",
                  i);
    csv[i] = fmt("2026-11-21 23:36:41.%03d UTC,\"app\",\"shop\",%d,\"10.0.0.%d:5432\","
                 "6740c2a9.1092,%d,\"SELECT\",2026-11-21 23:30:00 UTC,3/0,0,LOG,00000,"
                 "\"duration: %d.5 ms  statement: SELECT * FROM orders WHERE id = %d AND "
                 "status = 'paid'\",,,,,,,,,\"order-api\",\"client backend\",,0",
                 i);
    pgjson[i] = fmt("{\"timestamp\":\"2026-11-21 23:36:41.%03d UTC\",\"user\":\"app\","
                    "\"dbname\":\"shop\",\"pid\":%d,\"remote_host\":\"10.0.0.%d\","
                    "\"session_id\":\"6740c2a9.1092\",\"line_num\":%d,\"error_severity\":"
                    "\"LOG\",\"message\":\"duration: %d.5 ms  statement: SELECT * FROM "
                    "orders WHERE id = %d\",\"application_name\":\"api\",\"backend_type\":"
                    "\"client backend\",\"query_id\":0}",
                    i);
    mongo[i] = fmt("{\"t\":{\"$date\":\"2026-11-21T23:36:41.%03d+00:00\"},\"s\":\"I\",  "
                   "\"c\":\"COMMAND\",  \"id\":51803,   \"ctx\":\"conn%d\",\"msg\":\"Slow "
                   "query\",\"attr\":{\"type\":\"command\",\"ns\":\"shop.orders\",\"command\":"
                   "{\"find\":\"orders\",\"filter\":{\"customer_id\":%d,\"status\":\"paid\"},"
                   "\"limit\":%d,\"$db\":\"shop\"},\"planSummary\":\"IXSCAN { customer_id: 1 "
                   "}\",\"keysExamined\":%d,\"docsExamined\":%d,\"nreturned\":1,"
                   "\"numYields\":0,\"reslen\":512,\"durationMillis\":150}}",
                   i);
    gopanic[i] = fmt("panic: runtime error: index out of range [%d] with length %d\n\n"
                     "goroutine %d [running]:\nmain.lookup(...)\n\t/app/main.go:%d "
                     "+0x1d\nmain.main()\n\t/app/main.go:%d +0x%d",
                     i);
}

int main(int argc, char **argv)
{
    long n = 1000000;
    /* at least 4: the multi-line parsers run n / 4 records, and a run divides by its count */
    if (argc > 1 && !lft_arg_long("bench-parse", "records", argv[1], 4, LONG_MAX, &n)) {
        fputs("usage: bench-parse [records]\n", stderr);
        return 2;
    }
    char *nginx[NVAR], *apache[NVAR], *json[NVAR], *logback[NVAR], *mysql[NVAR], *pg[NVAR],
        *raw[NVAR], *trace[NVAR], *pytb[NVAR], *csv[NVAR], *pgjson[NVAR], *mongo[NVAR],
        *gopanic[NVAR];
    for (int i = 0; i < NVAR; i++) {
        nginx[i] = fmt("192.168.%d.%d - - [21/Nov/2026:23:36:41 +0100] \"GET "
                       "/api/v1/orders/%d?page=%d HTTP/1.1\" %d %d \"https://shop.example.com/"
                       "cart\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                       "Gecko) Chrome/120.0 Safari/537.36\"",
                       i);
        apache[i] = fmt("10.0.%d.%d - frank [21/Nov/2026:23:36:41 -0700] \"POST /login/%d/%d "
                        "HTTP/1.0\" %d %d \"-\" \"curl/8.5.0\"",
                        i);
        json[i] = fmt("{\"time\":\"2026-11-21T23:36:41.%03dZ\",\"level\":\"info\",\"msg\":"
                      "\"request done\",\"method\":\"GET\",\"path\":\"/api/%d?x=%d\",\"status\":"
                      "%d,\"duration\":%d}",
                      i);
        logback[i] = fmt("2026-11-21 23:36:41.%03d  INFO %d --- [nio-8080-exec-%d] "
                         "c.e.shop.OrderController                 : order %d placed by %d",
                         i);
        trace[i] = fmt("2026-11-21 23:36:41.%03d ERROR %d --- [nio-8080-exec-%d] "
                       "c.e.shop.OrderController : failed %d %d\n"
                       "java.lang.IllegalStateException: no stock\n"
                       "\tat com.example.shop.OrderService.place(OrderService.java:42)\n"
                       "\tat com.example.shop.OrderController.post(OrderController.java:17)\n"
                       "Caused by: java.sql.SQLException: timeout\n\t... 2 common frames omitted",
                       i);
        mysql[i] =
            fmt("# Time: 2026-11-21T23:36:41.%06dZ\n"
                "# User@Host: app[app] @ web-%d [10.0.0.%d]  Id: %d\n"
                "# Query_time: 1.%06d  Lock_time: 0.000120 Rows_sent: 1  Rows_examined: "
                "%d\nuse shop;\nSET timestamp=1795303001;\n"
                "SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id "
                "WHERE c.email = 'user@example.com' AND o.status IN (1, 2, 3) LIMIT 10;",
                i);
        pg[i] = fmt("2026-11-21 23:36:41.%03d UTC [%d] app@shop LOG:  duration: %d.%d ms  "
                    "statement: SELECT * FROM orders WHERE id = %d AND status = 'paid'",
                    i);
        raw[i] = fmt("plain text line number %d %d %d with some words %d %d", i);
        more_inputs(i, pytb, csv, pgjson, mongo, gopanic);
    }
    printf("parser benchmark: %ld records each, parse + JSON encode, one thread\n", n);
    run("raw", "raw", NULL, LF_TYPE_RAW, raw, n);
    run("nginx combined", "nginx", NULL, LF_TYPE_REQUEST, nginx, n);
    run("apache combined", "apache", NULL, LF_TYPE_REQUEST, apache, n);
    run("json request", "json", NULL, LF_TYPE_REQUEST, json, n);
    run("logback (1 line)", "logback", NULL, LF_TYPE_ERROR, logback, n / 4);
    run("logback (stack trace)", "logback", NULL, LF_TYPE_ERROR, trace, n / 4);
    run("mysql-slow entry", "mysql-slow", NULL, LF_TYPE_QUERY, mysql, n / 4);
    run("postgresql duration", "postgresql", NULL, LF_TYPE_QUERY, pg, n / 4);
    run("python traceback", "python", NULL, LF_TYPE_ERROR, pytb, n / 4);
    run("go panic (raw, error)", "raw", NULL, LF_TYPE_ERROR, gopanic, n / 4);
    run("postgresql csvlog", "postgresql", NULL, LF_TYPE_QUERY, csv, n / 4);
    run("postgresql jsonlog", "postgresql", NULL, LF_TYPE_QUERY, pgjson, n / 4);
    run("mongodb slow query", "mongodb", NULL, LF_TYPE_QUERY, mongo, n / 4);
    /* redact: the same records with the input's redact: on (BENCH_ONLY=redact) */
    char *all[] = {"email", "card_number", "bearer_token", "url_secret", "url_password"};
    struct lf_redact_conf lit = {.literals = true};
    struct lf_redact_conf pats = {.patterns = {.n = 5, .str = all}};
    run_conf("redact mysql literals", "mysql-slow", NULL, &lit, LF_TYPE_QUERY, mysql, n / 4);
    run_conf("redact pg literals", "postgresql", NULL, &lit, LF_TYPE_QUERY, pg, n / 4);
    run_conf("redact nginx patterns", "nginx", NULL, &pats, LF_TYPE_REQUEST, nginx, n);
    for (int i = 0; i < NVAR; i++) {
        free(nginx[i]), free(apache[i]), free(json[i]), free(logback[i]), free(mysql[i]);
        free(pg[i]), free(raw[i]), free(trace[i]), free(pytb[i]), free(csv[i]);
        free(pgjson[i]), free(mongo[i]), free(gopanic[i]);
    }
    return 0;
}
