/* check_dlq.c - the dead-letter store as `logferry dlq` reads and rewrites it: line
 * parsing (missing keys, escapes, corrupt lines), the journal, compaction against the
 * agent's own writer (lf_dlq.c) appending around it, id selection and purge through the
 * command line in-process, durations and times. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_agent.h"
#include "lf_cmd.h"
#include "lf_cmd_dlq.h"
#include "lf_dlq.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

#define ID_A "aaaaaaaa11111111aaaaaaaa11111111"
#define ID_B "bbbbbbbb22222222bbbbbbbb22222222"
#define ID_C "bbbbbbbb33333333bbbbbbbb33333333"

static const char *LINE_FULL =
    "{\"time\":\"2026-12-03T12:00:00.123Z\",\"output\":\"o\",\"id\":\"" ID_A "\","
    "\"reason\":\"rejected\",\"error\":\"bad \\\"x\\\" \\u00e9 \\ud83d\\ude00\",\"code\":3,"
    "\"attempts\":5,\"first_failure\":\"2026-12-03T11:59:00.000Z\","
    "\"last_failure\":\"2026-12-03T12:00:00.000Z\",\"destination\":\"logs\","
    "\"record\":{\"message\":\"hi\",\"n\":0.10}}";

START_TEST(entry_full_line)
{
    struct lf_dlq_item e;
    ck_assert(lf_dlq_entry_parse(LINE_FULL, strlen(LINE_FULL), 7, &e));
    ck_assert_str_eq(e.id, ID_A);
    ck_assert_str_eq(e.output, "o");
    ck_assert_str_eq(e.reason, "rejected");
    ck_assert_str_eq(e.error, "bad \"x\" \xc3\xa9 \xf0\x9f\x98\x80");
    ck_assert_str_eq(e.destination, "logs");
    ck_assert_int_eq(e.code, 3);
    ck_assert_int_eq(e.attempts, 5);
    ck_assert_int_eq(e.lineno, 7);
    ck_assert_int_eq(e.time_ms, 1796299200123LL);
    ck_assert_int_eq(e.last_ms - e.first_ms, 60000);
    /* the record's bytes as they were: 0.10 is not rewritten as 0.1 */
    ck_assert_int_eq(e.rec_len, strlen("{\"message\":\"hi\",\"n\":0.10}"));
    ck_assert(!memcmp(e.rec, "{\"message\":\"hi\",\"n\":0.10}", e.rec_len));
    lf_dlq_entry_fini(&e);
}
END_TEST

START_TEST(entry_old_line_missing_keys)
{
    /* the format lf_dlq.c wrote before retries were counted: no code, attempts, times */
    const char *old = "{\"time\":\"2026-12-03T12:00:00Z\",\"output\":\"o\",\"id\":\"" ID_B
                      "\",\"reason\":\"x\",\"record\":{\"m\":1}}";
    struct lf_dlq_item e;
    ck_assert(lf_dlq_entry_parse(old, strlen(old), 1, &e));
    ck_assert_int_eq(e.code, -1);
    ck_assert_int_eq(e.attempts, -1);
    ck_assert_ptr_null(e.error);
    ck_assert_ptr_null(e.destination);
    ck_assert_int_eq(e.first_ms, 0);
    ck_assert_int_eq(e.time_ms % 1000, 0);
    lf_dlq_entry_fini(&e);
}
END_TEST

START_TEST(entry_corrupt_lines)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{\"id\":\"" ID_A "\"}",                               /* no record */
        "{\"record\":{}}",                                     /* no id */
        "{\"id\":\"\",\"record\":{}}",                         /* empty id */
        "{\"id\":\"" ID_A "\",\"record\":{\"m\":1}",           /* cut short */
        "{\"id\":\"" ID_A "\",\"record\":{\"m\":1}} trailing", /* garbage after */
        "{\"id\":\"" ID_A "\",\"record\":{\"m\":1},}",         /* trailing comma */
        "{\"id\":\"\\uZZZZ\",\"record\":{\"m\":1}}",           /* bad escape */
        "[\"id\",\"record\"]",                                 /* not an object */
        "{\"id\":\"" ID_A "\",\"record\":\"a string\"}",       /* record not an object */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lf_dlq_item e;
        ck_assert_msg(!lf_dlq_entry_parse(bad[i], strlen(bad[i]), 1, &e), "accepted: %s", bad[i]);
        ck_assert_ptr_null(e.line);
    }
}
END_TEST

START_TEST(durations_and_times)
{
    ck_assert_int_eq(lf_dlq_parse_duration("30s"), 30000);
    ck_assert_int_eq(lf_dlq_parse_duration("15m"), 900000);
    ck_assert_int_eq(lf_dlq_parse_duration("2h"), 7200000);
    ck_assert_int_eq(lf_dlq_parse_duration("7d"), 604800000);
    ck_assert_int_eq(lf_dlq_parse_duration("500ms"), 500);
    ck_assert_int_eq(lf_dlq_parse_duration("5"), -1);
    ck_assert_int_eq(lf_dlq_parse_duration("-5s"), -1);
    ck_assert_int_eq(lf_dlq_parse_duration("5x"), -1);
    ck_assert_int_eq(lf_dlq_parse_duration(""), -1);
    ck_assert_int_eq(lf_dlq_parse_duration("99999999999999999999s"), -1);
    ck_assert_int_eq(lf_dlq_parse_time("1970-01-01T00:00:01.5Z"), 1500);
    ck_assert_int_eq(lf_dlq_parse_time("1970-01-01T00:00:01.123456Z"), 1123);
    ck_assert_int_eq(lf_dlq_parse_time("1970-01-01T00:00:01+00:00"), 1000);
    ck_assert_int_eq(lf_dlq_parse_time("1970-01-01T00:00:01+02:00"), -1);
    ck_assert_int_eq(lf_dlq_parse_time("yesterday"), -1);
}
END_TEST

/* A state dir with a config naming output o (scripted plugin, never started here). */
struct fx {
    char *dir;
    char cfg[512], store[512];
};

static void fx_init(struct fx *x, const char *content)
{
    char path[600];
    x->dir = lft_mkdtemp("check-dlq");
    snprintf(x->cfg, sizeof(x->cfg), "%s/c.yaml", x->dir);
    snprintf(path, sizeof(path), "%s/dead-letter", x->dir);
    ck_assert_int_eq(mkdir(path, 0750), 0);
    snprintf(x->store, sizeof(x->store), "%s/dead-letter/o.jsonl", x->dir);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "agent: {state_dir: %s, plugin_dir: %s}\n"
             "inputs: [{name: i, paths: ['%s/*.log']}]\n"
             "outputs: [{name: o, plugin: scripted}]\n",
             x->dir, getenv("LF_TEST_PLUGIN_DIR"), x->dir);
    lft_write_file(x->cfg, yaml, false);
    if (content) {
        lft_write_file(x->store, content, false);
    }
}

static void fx_fini(struct fx *x)
{
    lft_rmtree(x->dir);
    free(x->dir);
}

static char *line_of(const char *id, const char *msg)
{
    char *s;
    ck_assert_int_ge(asprintf(&s,
                              "{\"time\":\"2026-01-01T00:00:00Z\",\"output\":\"o\",\"id\":\"%s\","
                              "\"reason\":\"rejected\",\"record\":{\"message\":\"%s\"}}\n",
                              id, msg),
                     0);
    return s;
}

START_TEST(store_skips_and_reports_corrupt_lines)
{
    struct fx x;
    char *a = line_of(ID_A, "a"), *b = line_of(ID_B, "b"), content[1024];
    snprintf(content, sizeof(content), "%sgarbage\n\n%s{\"half\":", a, b);
    fx_init(&x, content);
    struct lf_dlq_store s;
    char *err = NULL;
    size_t errlen = 0;
    FILE *ef = open_memstream(&err, &errlen);
    ck_assert_int_eq(lf_dlq_store_load(x.store, "o", ef, &s), LF_OK);
    fclose(ef);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.corrupt, 2);
    ck_assert_str_eq(s.v[1].id, ID_B);
    ck_assert_int_eq(s.v[1].lineno, 4);
    ck_assert_ptr_nonnull(strstr(err, "o.jsonl:2: not a dead-letter line"));
    ck_assert_ptr_nonnull(strstr(err, "o.jsonl:5: not a dead-letter line"));
    lf_dlq_store_fini(&s);
    free(err);
    free(a);
    free(b);
    fx_fini(&x);
}
END_TEST

START_TEST(store_missing)
{
    struct lf_dlq_store s;
    ck_assert_int_eq(lf_dlq_store_load("/nonexistent/dead-letter/o.jsonl", "o", NULL, &s),
                     LF_ENOTFOUND);
    lf_dlq_store_fini(&s);
}
END_TEST

/* The journal hides ids at once; compaction drops them from the file and empties the
 * journal; corrupt lines stay in the file (never dropped silently); a second journal
 * lock is refused. */
START_TEST(store_journal_and_compaction)
{
    struct fx x;
    char *a = line_of(ID_A, "a"), *b = line_of(ID_B, "b"), content[1024];
    snprintf(content, sizeof(content), "%sgarbage\n%s", a, b);
    fx_init(&x, content);
    struct lf_dlq_store s, s2, s3;
    ck_assert_int_eq(lf_dlq_store_load(x.store, "o", NULL, &s), LF_OK);
    ck_assert_int_eq(lf_dlq_store_lock_journal(&s), LF_OK);
    ck_assert_int_eq(lf_dlq_store_load(x.store, "o", NULL, &s2), LF_OK);
    ck_assert_int_eq(lf_dlq_store_lock_journal(&s2), LF_EAGAIN);
    lf_dlq_store_fini(&s2);
    const char *ids[] = {ID_A};
    ck_assert_int_eq(lf_dlq_store_mark_done(&s, ids, 1), LF_OK);
    ck_assert_int_eq(lf_dlq_store_load(x.store, "o", NULL, &s2), LF_OK);
    ck_assert_int_eq(s2.n, 1); /* hidden before compaction */
    ck_assert_int_eq(s2.hidden, 1);
    lf_dlq_store_fini(&s2);
    ck_assert_int_eq(lf_dlq_store_compact(&s), LF_OK);
    size_t len;
    char *after = lft_read_file(x.store, &len);
    snprintf(content, sizeof(content), "garbage\n%s", b);
    ck_assert_str_eq(after, content);
    ck_assert_int_eq(lft_count_lines(s.journal), 0);
    ck_assert_int_eq(lf_dlq_store_load(x.store, "o", NULL, &s3), LF_OK);
    ck_assert_int_eq(s3.n, 1);
    ck_assert_int_eq(s3.hidden, 0);
    lf_dlq_store_fini(&s3);
    lf_dlq_store_fini(&s);
    free(after);
    free(a);
    free(b);
    fx_fini(&x);
}
END_TEST

/* The agent's writer keeps its file open; after a compaction renamed a new file over the
 * path, its next append must land in the new file, not in the unlinked one. */
START_TEST(agent_writer_follows_compaction)
{
    struct fx x;
    fx_init(&x, NULL);
    struct lf_dlq d;
    ck_assert_int_eq(lf_dlq_open(x.dir, "o", &d), LF_OK);
    struct lf_record r = {.payload = "{\"message\":\"one\"}", .payload_len = 17};
    struct lf_dlq_entry e = {.rec = &r, .reason = LF_DLQ_REJECTED};
    snprintf(r.id, sizeof(r.id), "%s", ID_A);
    ck_assert_int_eq(lf_dlq_write(&d, &e), LF_OK);
    snprintf(r.id, sizeof(r.id), "%s", ID_B);
    ck_assert_int_eq(lf_dlq_write(&d, &e), LF_OK);
    ck_assert_int_eq(lf_dlq_sync(&d), LF_OK);

    struct lf_dlq_store s;
    ck_assert_int_eq(lf_dlq_store_load(x.store, "o", NULL, &s), LF_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(lf_dlq_store_lock_journal(&s), LF_OK);
    const char *ids[] = {ID_A};
    ck_assert_int_eq(lf_dlq_store_mark_done(&s, ids, 1), LF_OK);
    ck_assert_int_eq(lf_dlq_store_compact(&s), LF_OK);
    lf_dlq_store_fini(&s);

    snprintf(r.id, sizeof(r.id), "%s", ID_C);
    ck_assert_int_eq(lf_dlq_write(&d, &e), LF_OK);
    ck_assert_int_eq(lf_dlq_sync(&d), LF_OK);
    ck_assert_int_eq(lf_dlq_store_load(x.store, "o", NULL, &s), LF_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.v[0].id, ID_B);
    ck_assert_str_eq(s.v[1].id, ID_C);
    lf_dlq_store_fini(&s);
    lf_dlq_close(&d);
    fx_fini(&x);
}
END_TEST

/* `logferry dlq ARGS...` in-process; the arguments end with NULL. */
static int run_cli(const char *first, ...)
{
    char *argv[16] = {"logferry", "dlq", (char *)first};
    int argc = 3;
    va_list ap;
    va_start(ap, first);
    for (char *a; argc < 15 && (a = va_arg(ap, char *));) {
        argv[argc++] = a;
    }
    va_end(ap);
    fflush(NULL);
    return lf_cli_main(argc, argv);
}

/* Ids select exactly, or by a unique prefix of 8+ characters; an ambiguous or unknown
 * one is an error that deletes nothing. */
START_TEST(cli_id_selection_and_purge)
{
    struct fx x;
    char *a = line_of(ID_A, "a"), *b = line_of(ID_B, "b"), *c = line_of(ID_C, "c");
    char content[2048];
    snprintf(content, sizeof(content), "%s%s%s", a, b, c);
    fx_init(&x, content);
    ck_assert_int_eq(run_cli("purge", "bbbbbbbb", "--yes", "-c", x.cfg, NULL), LF_EXIT_DATAERR);
    ck_assert_int_eq(run_cli("purge", "aaaa", "--yes", "-c", x.cfg, NULL), LF_EXIT_DATAERR);
    ck_assert_int_eq(run_cli("purge", ID_A, "ffffffffffff", "--yes", "-c", x.cfg, NULL),
                     LF_EXIT_DATAERR);
    ck_assert_int_eq(lft_count_lines(x.store), 3); /* nothing deleted so far */
    ck_assert_int_eq(run_cli("show", "bbbbbbbb3", "-c", x.cfg, NULL), LF_EXIT_OK);
    ck_assert_int_eq(run_cli("purge", "bbbbbbbb3", "--yes", "-c", x.cfg, NULL), LF_EXIT_OK);
    ck_assert_int_eq(run_cli("purge", ID_A, "--yes", "-c", x.cfg, NULL), LF_EXIT_OK);
    size_t len;
    char *after = lft_read_file(x.store, &len);
    ck_assert_str_eq(after, b);
    ck_assert_int_eq(run_cli("show", ID_A, "-c", x.cfg, NULL), LF_EXIT_DATAERR);
    ck_assert_int_eq(run_cli("list", "--output", "gone", "-c", x.cfg, NULL), LF_EXIT_NOINPUT);
    ck_assert_int_eq(run_cli("list", "-c", x.cfg, NULL), LF_EXIT_OK);
    ck_assert_int_eq(run_cli("replay", ID_B, "--to", "nope", "-c", x.cfg, NULL), LF_EXIT_USAGE);
    ck_assert_int_eq(run_cli("replay", ID_B, "--dry-run", "-c", x.cfg, NULL), LF_EXIT_OK);
    ck_assert_int_eq(lft_count_lines(x.store), 1); /* a dry run changes nothing */
    free(after);
    free(a);
    free(b);
    free(c);
    fx_fini(&x);
}
END_TEST

/* Replay through the scripted output: "retry" fails once then arrives (retried), "reject"
 * is refused and stays, the rest arrive; only what arrived leaves the store. */
START_TEST(cli_replay_outcomes)
{
    struct fx x;
    char *a = line_of(ID_A, "please retry"), *b = line_of(ID_B, "reject me"),
         *c = line_of(ID_C, "plain");
    char content[2048], out[600];
    snprintf(content, sizeof(content), "%s%s%s", a, b, c);
    fx_init(&x, content);
    ck_assert_int_eq(run_cli("replay", "--all", "-c", x.cfg, NULL), LF_EXIT_TEMPFAIL);
    snprintf(out, sizeof(out), "%s/scripted.out", x.dir);
    size_t len;
    char *got = lft_read_file(out, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "{\"message\":\"plain\"}\n{\"message\":\"please retry\"}\n");
    char *after = lft_read_file(x.store, &len);
    ck_assert_str_eq(after, b);
    ck_assert_int_eq(lft_count_lines(x.store), 1);
    free(got);
    free(after);
    free(a);
    free(b);
    free(c);
    fx_fini(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dlq");
    TCase *tc = tcase_create("dlq");
    tcase_add_test(tc, entry_full_line);
    tcase_add_test(tc, entry_old_line_missing_keys);
    tcase_add_test(tc, entry_corrupt_lines);
    tcase_add_test(tc, durations_and_times);
    tcase_add_test(tc, store_skips_and_reports_corrupt_lines);
    tcase_add_test(tc, store_missing);
    tcase_add_test(tc, store_journal_and_compaction);
    tcase_add_test(tc, agent_writer_follows_compaction);
    tcase_add_test(tc, cli_id_selection_and_purge);
    tcase_add_test(tc, cli_replay_outcomes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
