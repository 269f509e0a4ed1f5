/* test_parse_exceptions.c - error.type / error.message / error.stack_trace per language
 * (parse_error.c): hand-written traces of Java (message line first, Caused by only,
 * Suppressed, "... N more", JUL), Python (chained, header-first), Go (panic, fatal error,
 * http panic, signal dump), Node.js, Ruby, PHP (5, 7+, Laravel) and .NET; and texts that
 * look close to a trace but are not one. Also the Python logger name taken from the
 * common logging formats without a `format:`. */
#include "parse_test.h"

struct exc_case {
    const char *parser; /* "raw" runs as type error: the whole text is the trace */
    const char *text;
    const char *type, *message; /* NULL type: no error fields expected */
};

static const struct exc_case cases[] = {
    /* Java: a message line before the exception */
    {"log4j2",
     "2015-09-21 20:15:39 ERROR Dispatcher:38 - request failed\n"
     "while handling /problem/list\n"
     "java.lang.NullPointerException: id\n"
     "\tat judge.Action.list(Action.java:12)",
     "java.lang.NullPointerException", "id"},
    /* Java: the top line has no type (Struts prints the message only): the Caused by */
    {"log4j2",
     "2015-09-21 20:15:39 ERROR Dispatcher:38 - Exception occurred\n"
     "Unable to instantiate Action, problemAction\n"
     "\tat com.opensymphony.xwork2.DefaultActionInvocation.createAction(D.java:316)\n"
     "Caused by: java.lang.ExceptionInInitializerError: static init\n"
     "\t... 12 more",
     "java.lang.ExceptionInInitializerError", "static init"},
    /* Java: Suppressed and common frames */
    {"logback",
     "2024-01-01 10:00:00.000 ERROR 1 --- [main] c.e.App : close failed\n"
     "java.io.IOException: close\n"
     "\tat c.e.Res.close(Res.java:3)\n"
     "\tSuppressed: java.lang.IllegalStateException: twice\n"
     "\t\tat c.e.Res.close(Res.java:4)\n"
     "\t... 2 common frames omitted",
     "java.io.IOException", "close"},
    /* Java: JUL header with the type inside the first line */
    {"raw",
     "Jul 09, 2015 3:23:29 PM com.example.MakeLog: RuntimeException: Run from this message!\n"
     "  at com.my.app.Object.do$a1(MakeLog.java:50)",
     "RuntimeException", "Run from this message!"},
    {"raw",
     "Dec 14 06:41:08 Exception in thread \"main\" java.lang.RuntimeException: gone wrong\n"
     "    at com.myproject.module.MyProject.badMethod(MyProject.java:22)",
     "java.lang.RuntimeException", "gone wrong"},
    /* Python: header-first traceback (the header line ends with "Traceback ...") */
    {"python",
     "[2019-05-01 10:00:00,123] [1234] [5678] [views.py:10] [ERROR] error: Traceback (most "
     "recent call last):\n"
     "  File \"/app/views.py\", line 10, in index\n"
     "    x = d['k']\n"
     "KeyError: 'k'\n",
     "KeyError", "'k'"},
    /* Python: chained tracebacks: the last exception is the one raised */
    {"python",
     "2024-01-01 10:00:00,000 - django.request - ERROR - Internal Server Error: /x\n"
     "Traceback (most recent call last):\n"
     "  File \"a.py\", line 1, in f\n"
     "ValueError: bad\n"
     "\n"
     "During handling of the above exception, another exception occurred:\n"
     "\n"
     "Traceback (most recent call last):\n"
     "  File \"a.py\", line 3, in g\n"
     "RuntimeError: worse",
     "RuntimeError", "worse"},
    /* Go */
    {"raw",
     "panic: runtime error: index out of range\n\ngoroutine 12 [running]:\nmain.f()\n\tm.go:5 +0x1",
     "panic", "runtime error: index out of range"},
    {"raw",
     "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\n"
     "main.main()",
     "fatal error", "all goroutines are asleep - deadlock!"},
    {"raw",
     "2019/01/15 07:48:05 http: panic serving [::1]:54143: test panic\n"
     "goroutine 24 [running]:\nnet/http.(*conn).serve.func1(0xc00007eaa0)",
     "panic", "test panic"},
    {"raw", "SIGQUIT: quit\nPC=0x45e8a1 m=0 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.futex()",
     "SIGQUIT", "quit"},
    /* Node.js / browser JavaScript */
    {"raw",
     "TypeError: Cannot read properties of undefined (reading 'id')\n"
     "    at handler (/app/server.js:10:5)\n    at next (/app/node_modules/x.js:1:1)",
     "TypeError", "Cannot read properties of undefined (reading 'id')"},
    {"raw", "Uncaught ReferenceError: x is not defined\n    at <anonymous>:1:1", "ReferenceError",
     "x is not defined"},
    /* Ruby: Rails and the interpreter */
    {"raw",
     " NoMethodError (undefined method `name' for nil:NilClass):\n"
     "  app/controllers/books_controller.rb:69:in `show'",
     "NoMethodError", "undefined method `name' for nil:NilClass"},
    {"raw",
     " ActionController::RoutingError (No route matches [GET] \"/settings\"):\n  \n"
     "  actionpack (5.1.4) lib/action_dispatch/middleware/debug_exceptions.rb:63:in `call'",
     "ActionController::RoutingError", "No route matches [GET] \\\"/settings\\\""},
    {"raw",
     "/app/x.rb:3:in `divide': divided by 0 (ZeroDivisionError)\n\tfrom /app/x.rb:7:in `<main>'",
     "ZeroDivisionError", "divided by 0"},
    /* PHP */
    {"raw",
     "PHP Fatal error:  Uncaught exception 'Exception' with message 'boom' in /a/e.php:60\n"
     "Stack trace:\n#0 {main}\n  thrown in /a/e.php on line 60",
     "Exception", "boom"},
    {"raw",
     "PHP Fatal error:  Uncaught InvalidArgumentException: bad id in /a/e.php:9\n"
     "Stack trace:\n#0 {main}",
     "InvalidArgumentException", "bad id"},
    {"raw",
     "[2025-01-02 11:19:06] local.ERROR: failed {\"exception\":\"[object] "
     "(Illuminate\\\\Database\\\\QueryException(code: 0): SQLSTATE[HY000] at "
     "/var/www/Connection.php:825)\n[stacktrace]\n#0 /var/www/x.php(1): f()",
     "Illuminate\\\\Database\\\\QueryException", "SQLSTATE[HY000]"},
    /* .NET */
    {"raw",
     "System.InvalidOperationException: outer ---> System.ArgumentException: inner\n"
     "   at App.Low() in c:/App/E.cs:line 33\n"
     "   --- End of inner exception stack trace ---\n"
     "   at App.Top() in c:/App/E.cs:line 11",
     "System.InvalidOperationException", "outer ---> System.ArgumentException: inner"},
    /* not traces */
    {"raw", "This is not an exception.", NULL, NULL},
    {"raw", "V8 errors stack trace\n  eval at Foo.a (eval at Bar.z (myscript.js:10:3))", NULL,
     NULL},
    {"log4j2",
     "2015-09-21 20:15:26 INFO SettingsFactory:1 - Database ->\n       name : MySQL\n"
     "    version : 5.6.24",
     NULL, NULL},
    {"raw", "panic: no goroutine section follows, so this is a message", NULL, NULL},
};

/* Every cut of text (as a partly written line would be) still gives one valid record or
 * a drop: bad input is marked, never a crash (run under ASan in CI). */
static void all_cuts(struct lf_parser *p, const char *text)
{
    size_t n = strlen(text);
    for (size_t k = 0; k <= n; k++) {
        struct enc_result r = encode_meta(p, text, k, 0, NULL);
        ck_assert_msg(r.rc == LF_PARSE_EMIT || r.rc == LF_PARSE_DROP, "cut %zu: rc %d", k, r.rc);
        free(r.json);
    }
}

START_TEST(exception_per_language)
{
    const struct exc_case *c = &cases[_i];
    struct lf_parser *p = mkparser(c->parser, NULL, LF_TYPE_ERROR);
    struct enc_result r = encode(p, c->text);
    ck_assert_int_eq(r.rc, LF_PARSE_EMIT);
    CK_NOFIELD(r.json, "log.flags");
    if (c->type) {
        CK_FIELD(r.json, "error.type", c->type);
        CK_FIELD(r.json, "error.message", c->message);
        ck_assert_msg(jget(r.json, "error.stack_trace") != NULL, "%s", r.json);
    } else {
        CK_NOFIELD(r.json, "error.type");
        CK_NOFIELD(r.json, "error.stack_trace");
    }
    free(r.json);
    all_cuts(p, c->text);
    lf_parser_destroy(p);
}
END_TEST

/* The stack trace of a header-first traceback starts at "Traceback", not at the header. */
START_TEST(header_first_stack_trace)
{
    struct lf_parser *p = mkparser("python", NULL, LF_TYPE_ERROR);
    struct enc_result r = encode(p, "[2019-05-01 10:00:00,123] [ERROR] error: Traceback (most "
                                    "recent call last):\n  File \"v.py\", line 1, in f\n"
                                    "OSError: gone");
    CK_FIELD(r.json, "error.stack_trace",
             "Traceback (most recent call last):\\n  File \\\"v.py\\\", line 1, in f\\n"
             "OSError: gone");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

/* Raw inputs that are not of type error are left alone (no error fields). */
START_TEST(raw_not_error_type)
{
    struct lf_parser *p = mkparser("raw", NULL, LF_TYPE_RAW);
    struct enc_result r = encode(p, "TypeError: x\n    at f (a.js:1:1)");
    CK_NOFIELD(r.json, "error.type");
    free(r.json);
    lf_parser_destroy(p);
}
END_TEST

/* python without format: the logger comes out of the message in the usual layouts. */
START_TEST(python_logger_default_formats)
{
    static const struct {
        const char *line, *logger, *level, *message;
    } lines[] = {
        {"2024-05-01 08:00:00,000 [77] CRITICAL app.db: gone", "app.db", "FATAL", "gone"},
        {"2024-05-01 08:00:00,000 ERROR django.request: Internal Server Error: /x",
         "django.request", "ERROR", "Internal Server Error: /x"},
        {"2024-05-01 08:00:00,000 [WARNING] root: disk", "root", "WARN", "disk"},
        {"2024-05-01 08:00:00,000 - INFO - celery.worker - ready", "celery.worker", "INFO",
         "ready"},
        {"2024-05-01 08:00:00,000 __main__ INFO started", "__main__", "INFO", "started"},
        {"[2024-05-01 08:00:00,000] ERROR in views: boom", "views", "ERROR", "boom"},
        /* a word of the message is not a logger: message kept whole */
        {"2024-05-01 08:00:00,000 INFO Starting: worker 3", NULL, "INFO", "Starting: worker 3"},
        {"2024-05-01 08:00:00,000 INFO config.yaml loaded", NULL, "INFO", "config.yaml loaded"},
    };
    struct lf_parser *p = mkparser("python", NULL, LF_TYPE_ERROR);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct enc_result r = encode(p, lines[i].line);
        CK_NOFIELD(r.json, "log.flags");
        if (lines[i].logger) {
            CK_FIELD(r.json, "log.logger", lines[i].logger);
        } else {
            CK_NOFIELD(r.json, "log.logger");
        }
        CK_FIELD(r.json, "log.level", lines[i].level);
        CK_FIELD(r.json, "message", lines[i].message);
        free(r.json);
    }
    lf_parser_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse-exceptions");
    TCase *tc = tcase_create("exceptions");
    tcase_add_loop_test(tc, exception_per_language, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, header_first_stack_trace);
    tcase_add_test(tc, raw_not_error_type);
    tcase_add_test(tc, python_logger_default_formats);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
