/* check_multiline.c - unit tests of the multiline assembler: modes, presets, caps,
 * deadline, offsets, CRLF (stripped by the caller), empty lines, emit failures. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lf_multiline.h"
#include "logferry/lf_err.h"
#include "ml_feed.h"

struct fixture {
    struct lf_ml *ml;
    struct ml_sink sink;
    char err[256];
};

static struct lf_ml *make(struct lf_ml_conf *c, const char *override, char *err, size_t n)
{
    struct lf_ml *ml = NULL;
    int rc = lf_ml_create(c, override, err, n, &ml);
    ck_assert_msg(rc == LF_OK, "create: %s", err);
    return ml;
}

/* Runs text through a fresh assembler; returns the sink (caller frees). */
static struct ml_sink run(struct lf_ml_conf c, const char *override, const char *text)
{
    char err[256];
    struct ml_sink s = {0};
    struct lf_ml *ml = make(&c, override, err, sizeof(err));
    ck_assert_int_eq(ml_feed(ml, text, strlen(text), 1000, &s), LF_OK);
    ck_assert_int_eq(lf_ml_deadline(ml), -1);
    lf_ml_destroy(ml);
    return s;
}

static struct ml_sink run_preset(const char *preset, const char *text)
{
    return run(ml_conf_default(), preset, text);
}

#define REC_EQ(s, i, str) ck_assert_str_eq((s).v[(i)].text, (str))

/* ---- none ---- */

static const char *none_expect;
static int none_emit(void *ctx, const char *text, size_t len, uint64_t a, uint64_t b,
                     unsigned flags)
{
    ck_assert_ptr_eq(text, none_expect); /* no copy */
    return ml_sink_emit(ctx, text, len, a, b, flags);
}

START_TEST(test_none_direct)
{
    struct lf_ml_conf c = ml_conf_default();
    char err[256];
    struct ml_sink s = {0};
    struct lf_ml *ml = make(&c, NULL, err, sizeof(err));
    const char *line = "hello world";

    none_expect = line;
    ck_assert_int_eq(lf_ml_push(ml, line, 11, 0, 12, 0, 5, none_emit, &s), LF_OK);
    ck_assert_int_eq(lf_ml_push(ml, line, 0, 12, 13, 0, 6, none_emit, &s), LF_OK);
    ck_assert_uint_eq(s.n, 2);
    REC_EQ(s, 0, "hello world");
    REC_EQ(s, 1, "");
    ck_assert_uint_eq(s.v[1].start, 12);
    ck_assert_uint_eq(s.v[1].end, 13);
    ck_assert_int_eq(lf_ml_deadline(ml), -1);
    ck_assert_int_eq(lf_ml_flush(ml, ml_sink_emit, &s), LF_OK);
    ck_assert_uint_eq(s.n, 2);
    lf_ml_destroy(ml);
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_none_max_bytes)
{
    struct lf_ml_conf c = ml_conf_default();
    c.max_bytes = 4;
    struct ml_sink s = run(c, NULL, "abcdefgh\nab\n");
    ck_assert_uint_eq(s.n, 2);
    REC_EQ(s, 0, "abcd");
    ck_assert_uint_eq(s.v[0].flags, LF_ML_TRUNCATED);
    ck_assert_uint_eq(s.v[0].end, 9);
    ck_assert_uint_eq(s.v[1].flags, 0);
    ml_sink_free(&s);
}
END_TEST

/* ---- config ---- */

START_TEST(test_config_errors)
{
    struct lf_ml_conf c = ml_conf_default();
    struct lf_ml *ml = NULL;
    char err[256];

    c.start_pattern = (char *)"^a";
    c.continue_pattern = (char *)"^b";
    ck_assert_int_eq(lf_ml_create(&c, NULL, err, sizeof(err), &ml), LF_ECONFIG);
    ck_assert_ptr_null(ml);
    ck_assert_ptr_nonnull(strstr(err, "exclusive"));

    c.continue_pattern = NULL;
    c.start_pattern = (char *)"^(a";
    ck_assert_int_eq(lf_ml_create(&c, NULL, err, sizeof(err), &ml), LF_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "start_pattern"));
    ck_assert_ptr_nonnull(strstr(err, "offset"));

    c.start_pattern = (char *)"^a";
    c.preset = 1;
    ck_assert_int_eq(lf_ml_create(&c, NULL, err, sizeof(err), &ml), LF_ECONFIG);

    c = ml_conf_default();
    ck_assert_int_eq(lf_ml_create(&c, "cobol", err, sizeof(err), &ml), LF_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "cobol"));
    c.max_lines = 0;
    ck_assert_int_eq(lf_ml_create(&c, NULL, err, sizeof(err), &ml), LF_ECONFIG);
}
END_TEST

START_TEST(test_options_table)
{
    static const char *const want[] = {"preset",    "start_pattern", "continue_pattern",
                                       "max_lines", "max_bytes",     "flush_timeout"};
    size_t n = 0;
    while (lf_ml_options[n].name) {
        ck_assert_str_eq(lf_ml_options[n].name, want[n]);
        ck_assert_ptr_nonnull(lf_ml_options[n].desc);
        n++;
    }
    ck_assert_uint_eq(n, 6);
    ck_assert_ptr_eq(lf_ml_options[0].choices, lf_ml_preset_names);
    ck_assert_str_eq(lf_ml_options[0].def, "none");
    ck_assert_str_eq(lf_ml_options[3].def, "500");
    ck_assert_str_eq(lf_ml_options[4].def, "1MiB");
    ck_assert_str_eq(lf_ml_options[5].def, "1s");
    /* every preset name can be created through the override */
    for (size_t i = 0; lf_ml_preset_names[i]; i++) {
        struct lf_ml_conf c = ml_conf_default();
        char err[256];
        struct lf_ml *ml = make(&c, lf_ml_preset_names[i], err, sizeof(err));
        lf_ml_destroy(ml);
    }
    ck_assert_str_eq(lf_ml_preset_names[4], "mysql-slow");
}
END_TEST

START_TEST(test_override_ignored_with_pattern)
{
    struct lf_ml_conf c = ml_conf_default();
    c.start_pattern = (char *)"^S";
    struct ml_sink s = run(c, "go", "x\nS1\n  a\nS2\n");
    ck_assert_uint_eq(s.n, 3);
    REC_EQ(s, 0, "x");
    REC_EQ(s, 1, "S1\n  a");
    ml_sink_free(&s);
}
END_TEST

/* ---- start / continue patterns ---- */

START_TEST(test_start_pattern)
{
    struct lf_ml_conf c = ml_conf_default();
    c.start_pattern = (char *)"^\\d{4}-";
    const char *text = "orphan 1\norphan 2\n2024-01-01 a\n  at x\n\n2024-01-02 b\nmore\n";
    struct ml_sink s = run(c, NULL, text);
    ck_assert_uint_eq(s.n, 3);
    REC_EQ(s, 0, "orphan 1\norphan 2"); /* lines before the first start: kept */
    REC_EQ(s, 1, "2024-01-01 a\n  at x\n");
    REC_EQ(s, 2, "2024-01-02 b\nmore");
    ck_assert_uint_eq(s.v[0].start, 0);
    ck_assert_uint_eq(s.v[0].end, 18);
    ck_assert_uint_eq(s.v[1].start, 18);
    ck_assert_uint_eq(s.v[1].end, 39); /* the empty line belongs to it */
    ck_assert_uint_eq(s.v[2].start, 39);
    ck_assert_uint_eq(s.v[2].end, strlen(text));
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_continue_pattern)
{
    struct lf_ml_conf c = ml_conf_default();
    c.continue_pattern = (char *)"^\\s";
    struct ml_sink s = run(c, NULL, "  lead\na\n  b\n\tc\nd\ne\n  f\n");
    ck_assert_uint_eq(s.n, 4);
    REC_EQ(s, 0, "  lead");
    REC_EQ(s, 1, "a\n  b\n\tc");
    REC_EQ(s, 2, "d");
    REC_EQ(s, 3, "e\n  f");
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_crlf_and_empty_lines)
{
    struct lf_ml_conf c = ml_conf_default();
    c.start_pattern = (char *)"^E";
    struct ml_sink s = run(c, NULL, "\r\nE1\r\n\r\nx\r\nE2\r\n\r\n");
    ck_assert_uint_eq(s.n, 3);
    REC_EQ(s, 0, "");
    REC_EQ(s, 1, "E1\n\nx");
    REC_EQ(s, 2, "E2\n");
    ck_assert_ptr_null(strchr(s.v[1].text, '\r'));
    ck_assert_uint_eq(s.v[2].end, 17);
    ml_sink_free(&s);
}
END_TEST

/* ---- caps ---- */

START_TEST(test_max_lines)
{
    struct lf_ml_conf c = ml_conf_default();
    c.start_pattern = (char *)"^S";
    c.max_lines = 3;
    const char *text = "S1\na\nb\nc\nd\nS2\ne\n";
    struct ml_sink s = run(c, NULL, text);
    ck_assert_uint_eq(s.n, 2);
    REC_EQ(s, 0, "S1\na\nb");
    ck_assert_uint_eq(s.v[0].flags, LF_ML_TRUNCATED);
    ck_assert_uint_eq(s.v[0].end, 11); /* covers the skipped lines c and d */
    REC_EQ(s, 1, "S2\ne");             /* not glued to the next record */
    ck_assert_uint_eq(s.v[1].flags, 0);
    ck_assert_uint_eq(s.v[1].start, 11);
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_max_bytes)
{
    struct lf_ml_conf c = ml_conf_default();
    c.start_pattern = (char *)"^S";
    c.max_bytes = 8;
    struct ml_sink s = run(c, NULL, "S1\nabcdef\ngh\nS2\nS3456789012\nz\n");
    ck_assert_uint_eq(s.n, 3);
    REC_EQ(s, 0, "S1\nabcde"); /* exactly max_bytes */
    ck_assert_uint_eq(s.v[0].len, 8);
    ck_assert_uint_eq(s.v[0].flags, LF_ML_TRUNCATED);
    REC_EQ(s, 1, "S2");
    ck_assert_uint_eq(s.v[1].flags, 0);
    REC_EQ(s, 2, "S3456789"); /* first line alone over the cap */
    ck_assert_uint_eq(s.v[2].flags, LF_ML_TRUNCATED);
    ck_assert_uint_eq(s.v[2].end, 30); /* z is skipped but covered */
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_truncated_line_flag)
{
    struct lf_ml_conf c = ml_conf_default();
    c.start_pattern = (char *)"^S";
    char err[256];
    struct ml_sink s = {0};
    struct lf_ml *ml = make(&c, NULL, err, sizeof(err));
    ck_assert_int_eq(lf_ml_push(ml, "S1", 2, 0, 3, 0, 1, ml_sink_emit, &s), LF_OK);
    ck_assert_int_eq(lf_ml_push(ml, "xx", 2, 3, 100, LF_ML_TRUNCATED, 2, ml_sink_emit, &s), LF_OK);
    ck_assert_int_eq(lf_ml_push(ml, "S2", 2, 100, 103, 0, 3, ml_sink_emit, &s), LF_OK);
    ck_assert_int_eq(lf_ml_flush(ml, ml_sink_emit, &s), LF_OK);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_uint_eq(s.v[0].flags, LF_ML_TRUNCATED);
    ck_assert_uint_eq(s.v[1].flags, 0);
    lf_ml_destroy(ml);
    ml_sink_free(&s);
}
END_TEST

/* ---- deadline, flush, errors ---- */

START_TEST(test_deadline)
{
    struct lf_ml_conf c = ml_conf_default();
    c.start_pattern = (char *)"^S";
    c.flush_timeout_ms = 250;
    char err[256];
    struct ml_sink s = {0};
    struct lf_ml *ml = make(&c, NULL, err, sizeof(err));

    ck_assert_int_eq(lf_ml_deadline(ml), -1);
    ck_assert_int_eq(lf_ml_push(ml, "S1", 2, 10, 13, 0, 1000, ml_sink_emit, &s), LF_OK);
    ck_assert_int_eq(lf_ml_deadline(ml), 1250);
    ck_assert_uint_eq(lf_ml_pending_start(ml), 10);
    ck_assert_int_eq(lf_ml_push(ml, " a", 2, 13, 16, 0, 1100, ml_sink_emit, &s), LF_OK);
    ck_assert_int_eq(lf_ml_deadline(ml), 1350); /* last line + timeout */
    ck_assert_uint_eq(s.n, 0);
    /* the caller flushes when the deadline passes: the last record is not lost */
    ck_assert_int_eq(lf_ml_flush(ml, ml_sink_emit, &s), LF_OK);
    ck_assert_uint_eq(s.n, 1);
    REC_EQ(s, 0, "S1\n a");
    ck_assert_uint_eq(s.v[0].start, 10);
    ck_assert_uint_eq(s.v[0].end, 16);
    ck_assert_int_eq(lf_ml_deadline(ml), -1);
    /* a continuation after a timeout flush starts its own record */
    ck_assert_int_eq(lf_ml_push(ml, " b", 2, 16, 19, 0, 2000, ml_sink_emit, &s), LF_OK);
    ck_assert_uint_eq(lf_ml_pending_start(ml), 16);
    ck_assert_int_eq(lf_ml_flush(ml, ml_sink_emit, &s), LF_OK);
    ck_assert_uint_eq(s.n, 2);
    REC_EQ(s, 1, " b");
    lf_ml_destroy(ml);
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_emit_error_keeps_record)
{
    struct lf_ml_conf c = ml_conf_default();
    char err[256];
    struct ml_sink s = {0};
    struct lf_ml *ml = make(&c, "mysql-slow", err, sizeof(err));

    ck_assert_int_eq(lf_ml_push(ml, "# Time: 1", 9, 0, 10, 0, 1, ml_sink_emit, &s), LF_OK);
    ck_assert_int_eq(lf_ml_push(ml, "select 1;", 9, 10, 20, 0, 2, ml_sink_emit, &s), LF_OK);
    s.fail_next = LF_EAGAIN;
    ck_assert_int_eq(lf_ml_push(ml, "# Time: 2", 9, 20, 30, 0, 3, ml_sink_emit, &s), LF_EAGAIN);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_uint_eq(lf_ml_pending_start(ml), 0);
    /* the same line pushed again */
    ck_assert_int_eq(lf_ml_push(ml, "# Time: 2", 9, 20, 30, 0, 4, ml_sink_emit, &s), LF_OK);
    s.fail_next = LF_EAGAIN;
    ck_assert_int_eq(lf_ml_flush(ml, ml_sink_emit, &s), LF_EAGAIN);
    ck_assert_int_eq(lf_ml_flush(ml, ml_sink_emit, &s), LF_OK);
    ck_assert_uint_eq(s.n, 2);
    REC_EQ(s, 0, "# Time: 1\nselect 1;");
    REC_EQ(s, 1, "# Time: 2");
    lf_ml_destroy(ml);
    ml_sink_free(&s);
}
END_TEST

/* ---- presets ---- */

START_TEST(test_java_logback)
{
    const char *text = "2023-01-02 10:00:00.123  INFO 1 --- [main] a.B : started\n"
                       "2023-01-02 10:00:01.000 ERROR 1 --- [main] a.B : Application run failed\n"
                       "\n"
                       "java.lang.IllegalStateException: boom\n"
                       "\tat a.B.c(B.java:1)\n"
                       "\tat a.B.d(B.java:2)\n"
                       "Caused by: java.sql.SQLException: Communications link failure\n"
                       "\n"
                       "The last packet sent successfully to the server was 0 milliseconds ago.\n"
                       "\tat x.Y.z(Y.java:3)\n"
                       "\t... 42 common frames omitted\n"
                       "\tSuppressed: java.io.IOException: closed\n"
                       "\t\t... 3 more\n"
                       "2023-01-02T10:00:02.000+01:00  WARN 1 --- [app] [main] a.B : next\n"
                       "[2016-12-19 20:00:00,123] INFO kafka (k.S)\n";
    struct ml_sink s = run_preset("java", text);
    ck_assert_uint_eq(s.n, 4);
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "... 3 more"));
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "The last packet"));
    ck_assert_ptr_nonnull(strstr(s.v[2].text, "next"));
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_java_headerless_and_jul)
{
    const char *text = "Exception in thread \"main\" java.lang.RuntimeException: x\n"
                       "    at a.B.c(B.java:1)\n"
                       "plain line\n"
                       "Sep 21, 2015 10:00:00 AM org.a.B run\n"
                       "SEVERE: failed\n"
                       "java.lang.NullPointerException\n"
                       "\tat a.B.c(B.java:1)\n"
                       "21-Sep-2015 10:00:01.000 INFO [main] org.a.B.c next\n";
    struct ml_sink s = run_preset("java", text);
    ck_assert_uint_eq(s.n, 4);
    REC_EQ(s, 0,
           "Exception in thread \"main\" java.lang.RuntimeException: x\n"
           "    at a.B.c(B.java:1)");
    REC_EQ(s, 1, "plain line");
    ck_assert_ptr_nonnull(strstr(s.v[2].text, "SEVERE: failed\njava.lang.Null"));
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_python_chained)
{
    const char *text = "2024-01-01 10:00:00,000 - app - ERROR - failed\n"
                       "Traceback (most recent call last):\n"
                       "  File \"a.py\", line 1, in f\n"
                       "    x()\n"
                       "KeyError: 'k'\n"
                       "\n"
                       "During handling of the above exception, another exception occurred:\n"
                       "\n"
                       "Traceback (most recent call last):\n"
                       "  File \"a.py\", line 3, in g\n"
                       "    raise ValueError('v') from e\n"
                       "ValueError: v\n"
                       "\n"
                       "The above exception was the direct cause of the following exception:\n"
                       "\n"
                       "Traceback (most recent call last):\n"
                       "  File \"a.py\", line 5, in h\n"
                       "RuntimeError: r\n"
                       "2024-01-01 10:00:01,000 - app - INFO - ok\n"
                       "message spanning\n"
                       "two lines\n";
    struct ml_sink s = run_preset("python", text);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_ptr_nonnull(strstr(s.v[0].text, "RuntimeError: r"));
    REC_EQ(s, 1, "2024-01-01 10:00:01,000 - app - INFO - ok\nmessage spanning\ntwo lines");
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_python_headerless)
{
    const char *text = "starting\n"
                       "Traceback (most recent call last):\n"
                       "  File \"a.py\", line 1, in <module>\n"
                       "    1 / 0\n"
                       "    ~~^~~\n"
                       "ZeroDivisionError: division by zero\n"
                       "\n"
                       "During handling of the above exception, another exception occurred:\n"
                       "\n"
                       "Traceback (most recent call last):\n"
                       "File \"b.py\", line 2, in g\n"
                       "ValueError: v\n"
                       "next line\n"
                       "ERROR:root:basic config\n";
    struct ml_sink s = run_preset("python", text);
    ck_assert_uint_eq(s.n, 4);
    REC_EQ(s, 0, "starting");
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "ValueError: v"));
    ck_assert_int_eq(strncmp(s.v[1].text, "Traceback", 9), 0);
    REC_EQ(s, 2, "next line");
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_go_panic)
{
    const char *text = "2024/01/01 10:00:00 serving\n"
                       "panic: my panic\n"
                       "\n"
                       "goroutine 4 [running]:\n"
                       "panic(0x45cb40, 0x47ad70)\n"
                       "\t/usr/local/go/src/runtime/panic.go:542 +0x46c\n"
                       "github.com/a/b.(*T).M(0xc42)\n"
                       "  foo.go:6 +0x39\n"
                       "created by main.main\n"
                       "  foo.go:5 +0x58\n"
                       "\n"
                       "goroutine 1 [chan receive]:\n"
                       "main.main()\n"
                       "\tfoo.go:9 +0x1\n"
                       "exit status 2\n"
                       "2024/01/01 10:00:01 restarted\n"
                       "2024/01/01 10:00:02 http: panic serving 1.2.3.4:5: oops\n"
                       "goroutine 7 [running]:\n"
                       "net/http.(*conn).serve.func1(0xc4)\n"
                       "\t/go/src/net/http/server.go:1 +0x1\n";
    struct ml_sink s = run_preset("go", text);
    ck_assert_uint_eq(s.n, 4);
    REC_EQ(s, 0, "2024/01/01 10:00:00 serving");
    ck_assert_int_eq(strncmp(s.v[1].text, "panic: my panic\n\ngoroutine 4", 27), 0);
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "exit status 2"));
    REC_EQ(s, 2, "2024/01/01 10:00:01 restarted");
    ck_assert_ptr_nonnull(strstr(s.v[3].text, "server.go:1"));
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_mysql_slow)
{
    const char *text = "/usr/sbin/mysqld, Version: 5.5.53-log ((Ubuntu)). started with:\n"
                       "Tcp port: 3306  Unix socket: /run/mysqld.sock\n"
                       "Time                 Id Command    Argument\n"
                       "# Time: 161209 14:37:59\n"
                       "# User@Host: u[u] @ localhost []\n"
                       "# Query_time: 0.1  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 5\n"
                       "SET timestamp=1481294279;\n"
                       "SELECT 1\n"
                       "  FROM t;\n"
                       "# User@Host: u[u] @ localhost []\n"
                       "# Thread_id: 5  Schema: db\n"
                       "# Query_time: 0.2  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 5\n"
                       "use db;\n"
                       "# administrator command: Quit;\n"
                       "# Query_time: 1\n"
                       "foo=\"good\";\n"
                       "# Time: 2018-04-26T18:50:32.437295Z\n";
    struct ml_sink s = run_preset("mysql-slow", text);
    ck_assert_uint_eq(s.n, 7);
    ck_assert(lf_ml_mysql_is_banner(s.v[0].text, s.v[0].len));
    ck_assert(lf_ml_mysql_is_banner(s.v[1].text, s.v[1].len));
    ck_assert(lf_ml_mysql_is_banner(s.v[2].text, s.v[2].len));
    ck_assert(!lf_ml_mysql_is_banner(s.v[3].text, s.v[3].len));
    ck_assert_int_eq(strncmp(s.v[3].text, "# Time: 161209", 14), 0);
    ck_assert_ptr_nonnull(strstr(s.v[3].text, "  FROM t;"));
    REC_EQ(s, 4,
           "# User@Host: u[u] @ localhost []\n# Thread_id: 5  Schema: db\n"
           "# Query_time: 0.2  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 5\n"
           "use db;\n# administrator command: Quit;");
    REC_EQ(s, 5, "# Query_time: 1\nfoo=\"good\";");
    REC_EQ(s, 6, "# Time: 2018-04-26T18:50:32.437295Z");
    ml_sink_free(&s);
}
END_TEST

START_TEST(test_postgresql)
{
    const char *text = "2017-04-03 22:32:14.322 CEST [31225] LOG:  database system is ready\n"
                       "2017-04-03 22:32:15.000 CEST [31226] ERROR:  syntax error at \"x\"\n"
                       "2017-04-03 22:32:15.000 CEST [31226] DETAIL:  detail\n"
                       "2017-04-03 22:32:15.000 CEST [31226] HINT:  hint\n"
                       "2017-04-03 22:32:15.000 CEST [31226] STATEMENT:  SELECT a\n"
                       "\t  FROM b\n"
                       "\tWHERE c;\n"
                       "2017-04-03 22:32:16.000 CEST [31227] LOG:  duration: 1.2 ms  "
                       "statement: SELECT\n"
                       "1;\n";
    struct ml_sink s = run_preset("postgresql", text);
    ck_assert_uint_eq(s.n, 3);
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "HINT:  hint\n"));
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "\tWHERE c;"));
    ck_assert_ptr_nonnull(strstr(s.v[2].text, "SELECT\n1;"));
    ml_sink_free(&s);
}
END_TEST

/* csvlog: a quoted field may hold newlines (and doubled quotes); the record ends where the
 * quote closes. jsonlog: one object per line, in a file that starts with one; in a
 * stderr log a statement line beginning with '{' still continues its entry. */
START_TEST(test_postgresql_csv_json)
{
    const char *csv = "2021-01-04 00:22:01.903 UTC,\"postgres\",\"db\",59,\"1.2.3.4:42642\","
                      "5ff25f96.3b,3,\"SELECT\",2021-01-04 00:21:42 UTC,3/0,0,LOG,00000,"
                      "\"duration: 0.658 ms  statement: SELECT 'multi',\n"
                      "'line', \"\"x\"\"\n"
                      "2021-01-04 00:22:01.903 UTC,\",\n"
                      "from \"\"t\"\";\",,,,,,,,,\"psql\"\n"
                      "\"2026-05-16 05:11:50.269 UTC\",,,1,,1.1,1,,"
                      "\"2026-05-16 05:00:00 UTC\",1/1,0,LOG,00000,\"checkpoint starting\",,,,,,,,,"
                      "\"\",\"checkpointer\",0\n";
    struct ml_sink s = run_preset("postgresql", csv);
    ck_assert_uint_eq(s.n, 2);
    /* the line that looks like a csv record start is inside the open quote */
    ck_assert_ptr_nonnull(strstr(s.v[0].text, "'line', \"\"x\"\"\n2021-01-04"));
    ck_assert_ptr_nonnull(strstr(s.v[0].text, "\"psql\""));
    ck_assert_int_eq(strncmp(s.v[1].text, "\"2026-05-16", 11), 0);
    ml_sink_free(&s);

    const char *json = "{\"timestamp\":\"2024-06-27 00:00:07.369 CEST\",\"message\":\"a\"}\n"
                       "{\"timestamp\":\"2024-06-27 00:00:08.369 CEST\",\"message\":\"b\"}\n";
    s = run_preset("postgresql", json);
    ck_assert_uint_eq(s.n, 2);
    REC_EQ(s, 1, "{\"timestamp\":\"2024-06-27 00:00:08.369 CEST\",\"message\":\"b\"}");
    ml_sink_free(&s);

    const char *stderr_log = "2017-04-03 22:32:16.000 CEST [1] LOG:  statement: SELECT\n"
                             "{\"a\": 1}::jsonb;\n"
                             "2017-04-03 22:32:16.000 CEST [1] LOG:  statement: SELECT 2\n";
    s = run_preset("postgresql", stderr_log);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_ptr_nonnull(strstr(s.v[0].text, "SELECT\n{\"a\": 1}::jsonb;"));
    ml_sink_free(&s);
}
END_TEST

/* auto: each record's language decides which lines continue it. */
START_TEST(test_auto_mixed)
{
    const char *text =
        "plain line\n"
        "java.lang.RuntimeException: outer\n"
        "  nested exception is:\n"
        "com.x.InnerException: inner\n"
        "\n"
        "\tat com.x.A.b(A.java:1)\n"
        "Caused by: com.x.InnerException: inner\n"
        "\t... 3 more\n"
        "plain line\n"
        "javax.servlet.ServletException: after a plain line starts a record\n"
        "    at com.x.F.doFilter(F.java:60)\n"
        "plain line\n"
        "Traceback (most recent call last):\n"
        "  File \"a.py\", line 1, in f\n"
        "ValueError: bad\n"
        "plain line\n"
        "panic: boom\n"
        "\n"
        "goroutine 1 [running]:\n"
        "main.main()\n"
        "\tm.go:3 +0x1\n"
        "plain line\n"
        "exception 'Exception' with message 'x' in /a.php:5\n"
        "Stack trace:\n"
        "#0 {main}\n"
        "System.InvalidOperationException: e\n"
        "   at A.B() in c:/a.cs:line 3\n"
        "--- End of stack trace from previous location where exception was thrown ---\n"
        "   at A.C()\n"
        " NoMethodError (undefined method `x'):\n"
        "  app/x.rb:1:in `y'\n"
        "2024-01-01 10:00:00,000 ERROR boom\n"
        "Traceback (most recent call last):\n"
        "  File \"b.py\", line 2, in g\n"
        "KeyError: 'k'\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "Traceback (most recent call last):\n"
        "  File \"b.py\", line 4, in g\n"
        "RuntimeError: worse\n"
        "2024-01-01 10:00:01,000 INFO next\n";
    struct ml_sink s = run_preset("auto", text);
    ck_assert_uint_eq(s.n, 14);
    REC_EQ(s, 0, "plain line");
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "com.x.InnerException: inner\n\n\tat"));
    ck_assert_ptr_nonnull(strstr(s.v[1].text, "\t... 3 more"));
    ck_assert_int_eq(strncmp(s.v[3].text, "javax.servlet", 13), 0);
    ck_assert_ptr_nonnull(strstr(s.v[3].text, "doFilter"));
    ck_assert_ptr_nonnull(strstr(s.v[5].text, "ValueError: bad"));
    ck_assert_ptr_nonnull(strstr(s.v[7].text, "\tm.go:3 +0x1"));
    ck_assert_ptr_nonnull(strstr(s.v[9].text, "#0 {main}"));
    ck_assert_ptr_nonnull(strstr(s.v[10].text, "   at A.C()"));
    ck_assert_ptr_nonnull(strstr(s.v[11].text, "app/x.rb:1"));
    ck_assert_ptr_nonnull(strstr(s.v[12].text, "RuntimeError: worse"));
    REC_EQ(s, 13, "2024-01-01 10:00:01,000 INFO next");
    ml_sink_free(&s);

    /* header-first tracebacks one after the other: each header starts a record */
    s = run_preset("auto", "[2019-05-01 10:00:00] [ERROR] error: Traceback (most recent call "
                           "last):\n  File \"a.py\", line 1, in f\nKeyError: 'k'\n\n"
                           "[2019-05-01 10:00:01] [ERROR] error: Traceback (most recent call "
                           "last):\n  File \"a.py\", line 1, in f\nKeyError: 'j'\n\n");
    ck_assert_uint_eq(s.n, 2);
    ml_sink_free(&s);
}
END_TEST

static Suite *multiline_suite(void)
{
    Suite *s = suite_create("multiline");
    struct {
        const char *name;
        const TTest *t;
    } cases[] = {
        {"none_direct", test_none_direct},
        {"none_max_bytes", test_none_max_bytes},
        {"config_errors", test_config_errors},
        {"options_table", test_options_table},
        {"override_ignored_with_pattern", test_override_ignored_with_pattern},
        {"start_pattern", test_start_pattern},
        {"continue_pattern", test_continue_pattern},
        {"crlf_and_empty_lines", test_crlf_and_empty_lines},
        {"max_lines", test_max_lines},
        {"max_bytes", test_max_bytes},
        {"truncated_line_flag", test_truncated_line_flag},
        {"deadline", test_deadline},
        {"emit_error_keeps_record", test_emit_error_keeps_record},
        {"java_logback", test_java_logback},
        {"java_headerless_and_jul", test_java_headerless_and_jul},
        {"python_chained", test_python_chained},
        {"python_headerless", test_python_headerless},
        {"go_panic", test_go_panic},
        {"mysql_slow", test_mysql_slow},
        {"postgresql", test_postgresql},
        {"postgresql_csv_json", test_postgresql_csv_json},
        {"auto_mixed", test_auto_mixed},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].t);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(multiline_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
