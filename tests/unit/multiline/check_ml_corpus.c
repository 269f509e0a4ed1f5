/* check_ml_corpus.c - conformance of the multiline presets with the real-log corpus.
 *
 * For each error/ file whose README row gives a record count, the file is run through
 * the preset an operator would pick (or, for formats no preset covers, the start_pattern
 * an operator would write: the README's own header regex), and the number of records
 * must equal the README's count exactly. For slowquery/mysql, the non-banner records of
 * the mysql-slow preset must equal the events percona-toolkit's SlowLogParser counts
 * (expected/EVENT_COUNTS_by_percona_SlowLogParser.tsv), with the documented exceptions
 * below. LF_CORPUS_DIR names the corpus; if it is missing the test exits 77 (skipped).
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lf_multiline.h"
#include "logferry/lf_err.h"
#include "ml_feed.h"

static const char *corpus_dir;

struct error_case {
    const char *file;
    const char *preset;        /* or NULL */
    const char *start_pattern; /* or NULL */
    size_t records;            /* README "records" column (entries) */
    size_t multi;              /* README: entries with at least one continuation line */
};

static const struct error_case error_cases[] = {
    {"springboot2_Alidi1011-curso-kubernetes_spring.log", "java", NULL, 64, 7},
    {"springboot2_37626-yuntai-spring-cloud_spring.log", "java", NULL, 1041, 17},
    {"springboot3_A3Scotl-AirsKy_spring.log", "java", NULL, 45, 6},
    {"java-log4j_CQUT-coj_log4j.log", "java", NULL, 827, 29},
    /* Tomcat JULI and the Kafka broker log are Java layouts the java preset knows... */
    {"java-tomcat-jul_CQUT-coj_localhost.2015-09-21.log", "java", NULL, 59, 15},
    {"elastic-examples_kafka2_server.log.2016-12-19-20.log", "java", NULL, 242, 2},
    /* ...and the same files configured the way an operator would without a preset. */
    {"java-tomcat-jul_CQUT-coj_localhost.2015-09-21.log", NULL,
     "^\\d\\d-\\w{3}-\\d{4} \\d\\d:\\d\\d:\\d\\d\\.\\d{3} ", 59, 15},
    {"elastic-examples_kafka2_server.log.2016-12-19-20.log", NULL, "^\\[\\d{4}-", 242, 2},
    {"python-django_Ayobami6-real_estate_app_django.log", "python", NULL, 254, 4},
    {"python-django_597004635-devops-py3-adminlte_opsweb.log", "python", NULL, 24, 20},
    {"lnav_python-example.0.log", "python", NULL, 5, 3},
    /* oVirt VDSM: no preset covers its header; operator's start_pattern. */
    {"lnav_logfile_vdsm.0.log", NULL, "^[\\w-]+::[A-Z]+::", 5, 1},
    /* (the python preset also gets it right: the traceback ends the header line) */
    {"lnav_logfile_vdsm.0.log", "python", NULL, 5, 1},
    /* Laravel/Monolog (PHP): no preset; operator's start_pattern. */
    {"lnav_logfile_laravel.1.log", NULL, "^\\[\\d{4}-", 4, 2},
    /* generic ISO-date:LEVEL:logger format with XML continuation lines */
    {"lnav_logfile_invalid_utf8.0.log", NULL, "^\\d{4}-\\d\\d-\\d\\dT", 1, 1},
    {"lnav_logfile_invalid_utf8.0.log", "java", NULL, 1, 1},
    /* plain lines + a Java trace + a Go panic: the go preset joins indented lines too */
    {"fluent-bit_filter_multiline_test.log", "go", NULL, 5, 2},
    /* header-less mixed languages: the auto preset finds each trace's language */
    {"fluent-plugin-detect-exceptions_mixed-languages.log", "auto", NULL, 37, 18},
    {"fluent-bit_filter_multiline_test.log", "auto", NULL, 5, 2},
    /* auto on files with one language whose traces end the header line or follow it */
    {"python-django_597004635-devops-py3-adminlte_opsweb.log", "auto", NULL, 24, 20},
    {"python-django_Ayobami6-real_estate_app_django.log", "auto", NULL, 254, 4},
    {"java-tomcat-jul_CQUT-coj_localhost.2015-09-21.log", "auto", NULL, 59, 15},
    {"lnav_logfile_vdsm.0.log", "auto", NULL, 5, 1},
    /* Apache error log: one line per record */
    {"loghub_Apache_2k.log", "none", NULL, 2000, 0},
};

static size_t run_file(const char *path, const char *preset, const char *start, struct ml_sink *s)
{
    struct lf_ml_conf c = ml_conf_default();
    struct lf_ml *ml = NULL;
    char err[256] = "";
    size_t len = 0;
    char *data = ml_read_file(path, &len);

    ck_assert_msg(data != NULL, "cannot read %s", path);
    c.start_pattern = (char *)start;
    ck_assert_msg(lf_ml_create(&c, preset, err, sizeof(err), &ml) == LF_OK, "%s", err);
    ck_assert_int_eq(ml_feed(ml, data, len, 0, s), LF_OK);
    /* records tile the file: no byte lost, none read twice */
    for (size_t i = 0; i < s->n; i++) {
        ck_assert_uint_eq(s->v[i].start, i == 0 ? 0 : s->v[i - 1].end);
    }
    ck_assert_uint_eq(s->n ? s->v[s->n - 1].end : 0, len);
    lf_ml_destroy(ml);
    free(data);
    return s->n;
}

START_TEST(test_error_file)
{
    const struct error_case *ec = &error_cases[_i];
    char path[4096];
    struct ml_sink s = {0};

    snprintf(path, sizeof(path), "%s/error/%s", corpus_dir, ec->file);
    size_t n = run_file(path, ec->preset, ec->start_pattern, &s);
    ck_assert_msg(n == ec->records, "%s (%s): %zu records, README says %zu", ec->file,
                  ec->preset ? ec->preset : ec->start_pattern, n, ec->records);
    size_t multi = 0;
    for (size_t i = 0; i < s.n; i++) {
        multi += memchr(s.v[i].text, '\n', s.v[i].len) != NULL;
    }
    ck_assert_msg(multi == ec->multi, "%s: %zu multi-line records, README says %zu", ec->file,
                  multi, ec->multi);
    ml_sink_free(&s);
}
END_TEST

/* PostgreSQL stderr logs: the README counts prefixed lines ("entries"), of which the
 * postgresql preset folds DETAIL/HINT/CONTEXT/STATEMENT lines into the entry before, so
 * the check is on what must never merge: every `duration:` entry is its own record, and
 * the number of records carrying one equals the README's "with duration:" count. */
struct pg_case {
    const char *file;
    size_t with_duration;
};

static const struct pg_case pg_cases[] = {
    {"pgbadger_light.postgres.log", 629},
    {"pgbadger_stmt_type.log", 12},
    {"pgbadger_multiline_param.log", 8},
    {"pgbadger_postgresql_param_range.log", 3},
    {"pgbadger_queryid.log", 20},
    {"pgbadger_pg-timezones.log", 2},
    {"pgbadger_tempfile_only.log", 65},
    {"pgbadger_begin_end.log", 0},
    {"pgbadger_rds.head3000.log", 2990},
    {"beats_postgresql-9.6-debian-with-slowlog.log", 11},
    {"beats_postgresql-query-steps-slowlog.log", 2},
    {"beats_postgresql-9.6-multi-core.log", 1},
    {"lnav_logfile_postgres.1.log", 0},
    {"lnav_logfile_postgres.2.log", 0},
    /* csvlog (a quoted field may span lines), jsonlog and CloudNativePG (one per line) */
    {"beats_postgresql-11-multi-line.csv.log", 1},
    {"pgbadger_csv_statement_without_duration.log", 1},
    {"pgbadger_anonymize.log", 8},
    {"pgbadger_weeknumber.log", 6},
    {"pgbadger_pg_vacuums.json.head300.log", 0},
    {"pgbadger_cnpg.log", 400},
};

START_TEST(test_pg_file)
{
    const struct pg_case *pc = &pg_cases[_i];
    char path[4096];
    struct ml_sink s = {0};
    size_t dur = 0;

    snprintf(path, sizeof(path), "%s/slowquery/postgresql/%s", corpus_dir, pc->file);
    run_file(path, "postgresql", NULL, &s);
    for (size_t i = 0; i < s.n; i++) {
        const char *d = strstr(s.v[i].text, "duration: ");
        dur += d != NULL;
        if (d) {
            ck_assert_msg(strstr(d + 1, "duration: ") == NULL, "%s: record %zu holds two", pc->file,
                          i);
        }
    }
    ck_assert_msg(dur == pc->with_duration, "%s: %zu records with duration, README says %zu",
                  pc->file, dur, pc->with_duration);
    ml_sink_free(&s);
}
END_TEST

/* Files where the assembler cannot equal percona's count, and what it gives instead. */
struct mysql_exception {
    const char *file;
    size_t ours;
    const char *why;
};

static const struct mysql_exception mysql_exceptions[] = {
    {"percona-toolkit_slow015.txt", 1,
     "the file is a cut header ('# Time:' + '# User@Host: truncated', no statement); percona "
     "reports no event, we keep the bytes as one record (never lose a line)"},
};

/* A record of blank lines only (slow003 starts with an empty line): kept, never an
 * event; the parser drops it like a banner. */
static bool is_blank(const char *text)
{
    return text[strspn(text, " \t\n")] == '\0';
}

START_TEST(test_mysql_counts)
{
    char path[4096];
    char line[1024];
    size_t files = 0, mismatches = 0;
    FILE *tsv;

    snprintf(path, sizeof(path),
             "%s/slowquery/mysql/expected/EVENT_COUNTS_by_percona_SlowLogParser.tsv", corpus_dir);
    tsv = fopen(path, "r");
    ck_assert_msg(tsv != NULL, "cannot open %s", path);
    while (fgets(line, sizeof(line), tsv)) {
        char name[512];
        unsigned events = 0, with_qt = 0;
        struct ml_sink s = {0};
        size_t banners = 0, blanks = 0, queries, want;

        if (line[0] == '#' || sscanf(line, "%511s %u %u", name, &events, &with_qt) != 3) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/slowquery/mysql/%s", corpus_dir, name);
        run_file(path, "mysql-slow", NULL, &s);
        for (size_t i = 0; i < s.n; i++) {
            banners += lf_ml_mysql_is_banner(s.v[i].text, s.v[i].len);
            blanks += is_blank(s.v[i].text);
        }
        queries = s.n - banners - blanks;
        want = events;
        for (size_t i = 0; i < sizeof(mysql_exceptions) / sizeof(mysql_exceptions[0]); i++) {
            if (strcmp(mysql_exceptions[i].file, name) == 0) {
                want = mysql_exceptions[i].ours;
                if (queries == want) {
                    printf("# %s: %zu records vs percona %u: %s\n", name, queries, events,
                           mysql_exceptions[i].why);
                    fflush(stdout);
                }
            }
        }
        if (queries != want) {
            printf("MISMATCH %s: %zu records (+%zu banner), percona %u\n", name, queries, banners,
                   events);
            mismatches++;
        }
        files++;
        ml_sink_free(&s);
    }
    fclose(tsv);
    ck_assert_uint_eq(files, 76);
    ck_assert_msg(mismatches == 0, "%zu mysql files differ from percona's counts", mismatches);
}
END_TEST

/* The auto preset on the detect-exceptions file: each record starts on the line the
 * source's expectation names ("first_line" of every entry of the records JSON). */
START_TEST(test_auto_boundaries)
{
    char path[4096];
    struct ml_sink s = {0};
    size_t len = 0, nexp = 0;

    snprintf(path, sizeof(path), "%s/error/fluent-plugin-detect-exceptions_mixed-languages.log",
             corpus_dir);
    char *data = ml_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    run_file(path, "auto", NULL, &s);
    snprintf(path, sizeof(path),
             "%s/error/expected/fluent-plugin-detect-exceptions_mixed-languages.records.json",
             corpus_dir);
    size_t jl = 0;
    char *json = ml_read_file(path, &jl);
    ck_assert_ptr_nonnull(json);
    for (const char *q = strstr(json, "\"first_line\":"); q; q = strstr(q + 1, "\"first_line\":")) {
        unsigned long want = strtoul(q + 13, NULL, 10);
        ck_assert_msg(nexp < s.n, "fewer records than expected");
        unsigned long line = 1; /* line number of the record's start offset */
        for (uint64_t o = 0; o < s.v[nexp].start; o++) {
            line += data[o] == '\n';
        }
        ck_assert_msg(line == want, "record %zu starts on line %lu, expected %lu", nexp, line,
                      want);
        nexp++;
    }
    ck_assert_uint_eq(nexp, 37);
    ck_assert_uint_eq(s.n, nexp);
    free(json);
    free(data);
    ml_sink_free(&s);
}
END_TEST

int main(void)
{
    struct stat st;
    SRunner *sr;
    Suite *s;
    TCase *tc;
    int failed;

    corpus_dir = getenv("LF_CORPUS_DIR");
    if (!corpus_dir || stat(corpus_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "corpus not found (LF_CORPUS_DIR=%s): skipped\n",
                corpus_dir ? corpus_dir : "(unset)");
        return 77;
    }
    s = suite_create("multiline-corpus");
    tc = tcase_create("error");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_error_file, 0,
                        (int)(sizeof(error_cases) / sizeof(error_cases[0])));
    suite_add_tcase(s, tc);
    tc = tcase_create("postgresql");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_pg_file, 0, (int)(sizeof(pg_cases) / sizeof(pg_cases[0])));
    suite_add_tcase(s, tc);
    tc = tcase_create("mysql");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mysql_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("auto");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_auto_boundaries);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
