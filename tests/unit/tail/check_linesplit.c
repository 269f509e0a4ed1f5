/* check_linesplit.c - the line splitter shared by the tail and `logferry parse`: offsets,
 * CRLF, empty lines, lines split over chunks (every chunk size gives the same lines),
 * over-long lines (cut, marked, rest skipped and never glued to the next line), the
 * partial last line, reset, errors; and `logferry parse` (the built binary, env LF_BIN)
 * cutting a file into exactly the lines the splitter makes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_conf.h"
#include "lf_linesplit.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

#define MAX_LINES 4096

struct line {
    char text[96]; /* the first 95 bytes */
    size_t len;
    uint64_t start, end;
    unsigned flags;
    bool in_chunk; /* text pointed into the chunk fed (no copy) */
};

struct got {
    struct line lines[MAX_LINES];
    int n;
    const char *chunk; /* the chunk being fed, and its size */
    size_t chunk_len;
    int fail_at; /* return LF_EIO for this line (-1: never) */
};

static int collect(void *ctx, const char *text, size_t len, uint64_t start, uint64_t end,
                   unsigned flags)
{
    struct got *g = ctx;
    if (g->n == g->fail_at) {
        return LF_EIO;
    }
    ck_assert_int_lt(g->n, MAX_LINES);
    struct line *l = &g->lines[g->n++];
    snprintf(l->text, sizeof(l->text), "%.*s", (int)(len < 95 ? len : 95), text);
    l->len = len;
    l->start = start;
    l->end = end;
    l->flags = flags;
    l->in_chunk = g->chunk && text >= g->chunk && text + len <= g->chunk + g->chunk_len;
    return LF_OK;
}

static struct got *got_new(void)
{
    struct got *g = calloc(1, sizeof(*g));
    ck_assert_ptr_nonnull(g);
    g->fail_at = -1;
    return g;
}

/* Feeds data[0..n) in chunks of `chunk` bytes (copied, so no line can point into a
 * previous chunk), then finishes the stream if `finish`. Returns the first error. */
static int split(struct lf_linesplit *s, struct got *g, const char *data, size_t n, size_t chunk,
                 bool finish)
{
    char *buf = malloc(chunk);
    ck_assert_ptr_nonnull(buf);
    int rc = LF_OK;
    for (size_t off = 0; off < n && rc == LF_OK; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        memcpy(buf, data + off, k);
        g->chunk = buf;
        g->chunk_len = k;
        rc = lf_linesplit_feed(s, buf, k, off, collect, g);
    }
    g->chunk = NULL;
    free(buf);
    if (rc == LF_OK && finish) {
        rc = lf_linesplit_finish(s, n, collect, g);
    }
    return rc;
}

static void expect(const struct got *g, int i, const char *text, uint64_t start, uint64_t end,
                   unsigned flags)
{
    ck_assert_int_lt(i, g->n);
    ck_assert_str_eq(g->lines[i].text, text);
    ck_assert_uint_eq(g->lines[i].len, strlen(text));
    ck_assert_uint_eq(g->lines[i].start, start);
    ck_assert_uint_eq(g->lines[i].end, end);
    ck_assert_uint_eq(g->lines[i].flags, flags);
}

START_TEST(offsets_and_empty_lines)
{
    const char *d = "a\nbb\n\n\nccc\n";
    struct lf_linesplit s;
    struct got *g = got_new();
    lf_linesplit_init(&s, 64, 0);
    ck_assert_int_eq(split(&s, g, d, strlen(d), strlen(d), false), LF_OK);
    ck_assert_int_eq(g->n, 5);
    expect(g, 0, "a", 0, 2, 0);
    expect(g, 1, "bb", 2, 5, 0);
    expect(g, 2, "", 5, 6, 0);
    expect(g, 3, "", 6, 7, 0);
    expect(g, 4, "ccc", 7, 11, 0);
    ck_assert(!lf_linesplit_has_partial(&s, strlen(d)));
    for (int i = 0; i < g->n; i++) {
        ck_assert(g->lines[i].in_chunk); /* whole lines come straight from the chunk */
    }
    lf_linesplit_fini(&s);
    free(g);
}
END_TEST

START_TEST(crlf)
{
    const char *d = "a\r\nb\r\n\r\nc\r\r\nd\re\n";
    struct lf_linesplit s;
    struct got *g = got_new();
    lf_linesplit_init(&s, 64, 0);
    ck_assert_int_eq(split(&s, g, d, strlen(d), strlen(d), false), LF_OK);
    ck_assert_int_eq(g->n, 5);
    expect(g, 0, "a", 0, 3, 0);
    expect(g, 1, "b", 3, 6, 0);
    expect(g, 2, "", 6, 8, 0);
    expect(g, 3, "c\r", 8, 12, 0); /* only the '\r' before the newline goes */
    expect(g, 4, "d\re", 12, 16, 0);
    lf_linesplit_fini(&s);
    free(g);
}
END_TEST

/* Every chunk size, 1 byte up to the whole input, gives the same lines and offsets. */
START_TEST(same_lines_for_every_chunk_size)
{
    const char *d = "first line\r\n\nsecond, longer than eight\nthird\r\n0123456789abcdef\r\n"
                    "x\nlast without newline";
    size_t n = strlen(d);
    struct got *whole = got_new(), *g = got_new();
    struct lf_linesplit s;
    lf_linesplit_init(&s, 8, 0);
    ck_assert_int_eq(split(&s, whole, d, n, n, true), LF_OK);
    lf_linesplit_fini(&s);
    ck_assert_int_eq(whole->n, 7);
    expect(whole, 0, "first li", 0, 12, LF_LINE_TRUNCATED);
    expect(whole, 1, "", 12, 13, 0);
    expect(whole, 2, "second, ", 13, 39, LF_LINE_TRUNCATED);
    expect(whole, 3, "third", 39, 46, 0);
    expect(whole, 4, "01234567", 46, 64, LF_LINE_TRUNCATED);
    expect(whole, 6, "last wit", 66, n, LF_LINE_TRUNCATED);
    for (size_t chunk = 1; chunk < n; chunk++) {
        memset(g, 0, sizeof(*g));
        g->fail_at = -1;
        lf_linesplit_init(&s, 8, 0);
        ck_assert_int_eq(split(&s, g, d, n, chunk, true), LF_OK);
        lf_linesplit_fini(&s);
        ck_assert_int_eq(g->n, whole->n);
        for (int i = 0; i < g->n; i++) {
            expect(g, i, whole->lines[i].text, whole->lines[i].start, whole->lines[i].end,
                   whole->lines[i].flags);
        }
    }
    free(whole);
    free(g);
}
END_TEST

START_TEST(overlong_cut_rest_skipped)
{
    /* max 8: exactly 8 bytes is whole; 9 is cut; the rest of a cut line, even one that
     * spans chunks, never shows up in the next line */
    const char *d = "01234567\n012345678\nABCDEFGHIJKLMNOPQRSTUVWXYZ\nnext\n";
    struct lf_linesplit s;
    struct got *g = got_new();
    lf_linesplit_init(&s, 8, 0);
    ck_assert_int_eq(split(&s, g, d, strlen(d), 5, false), LF_OK);
    ck_assert_int_eq(g->n, 4);
    expect(g, 0, "01234567", 0, 9, 0);
    expect(g, 1, "01234567", 9, 19, LF_LINE_TRUNCATED);
    expect(g, 2, "ABCDEFGH", 19, 46, LF_LINE_TRUNCATED);
    expect(g, 3, "next", 46, 51, 0);
    lf_linesplit_fini(&s);
    free(g);
}
END_TEST

START_TEST(partial_last_line)
{
    const char *d = "abc\nde";
    struct lf_linesplit s;
    struct got *g = got_new();
    lf_linesplit_init(&s, 64, 100); /* a stream resumed at offset 100 */
    g->chunk = d;
    g->chunk_len = strlen(d);
    ck_assert_int_eq(lf_linesplit_feed(&s, d, strlen(d), 100, collect, g), LF_OK);
    ck_assert_int_eq(g->n, 1);
    expect(g, 0, "abc", 100, 104, 0);
    ck_assert(lf_linesplit_has_partial(&s, 106));
    ck_assert_int_eq(lf_linesplit_finish(&s, 106, collect, g), LF_OK);
    ck_assert_int_eq(g->n, 2);
    expect(g, 1, "de", 104, 106, 0);
    ck_assert(!g->lines[1].in_chunk); /* kept in carry: the chunk may be gone */
    ck_assert(!lf_linesplit_has_partial(&s, 106));
    ck_assert_int_eq(lf_linesplit_finish(&s, 106, collect, g), LF_OK); /* nothing left */
    ck_assert_int_eq(g->n, 2);
    /* the partial line's newline comes later: the rest is a line of its own */
    ck_assert_int_eq(lf_linesplit_feed(&s, "f\r\n", 3, 106, collect, g), LF_OK);
    ck_assert_int_eq(g->n, 3);
    expect(g, 2, "f", 106, 109, 0);
    lf_linesplit_fini(&s);
    free(g);
}
END_TEST

START_TEST(reset_drops_partial_line)
{
    struct lf_linesplit s;
    struct got *g = got_new();
    lf_linesplit_init(&s, 4, 0);
    ck_assert_int_eq(lf_linesplit_feed(&s, "0123456789", 10, 0, collect, g), LF_OK);
    lf_linesplit_reset(&s, 0); /* e.g. the file was truncated */
    ck_assert(!lf_linesplit_has_partial(&s, 0));
    ck_assert_int_eq(lf_linesplit_feed(&s, "ab\n", 3, 0, collect, g), LF_OK);
    ck_assert_int_eq(g->n, 1);
    expect(g, 0, "ab", 0, 3, 0); /* neither glued to nor cut like the dropped bytes */
    lf_linesplit_fini(&s);
    free(g);
}
END_TEST

START_TEST(callback_error_stops_feed)
{
    struct lf_linesplit s;
    struct got *g = got_new();
    g->fail_at = 1;
    lf_linesplit_init(&s, 64, 0);
    ck_assert_int_eq(lf_linesplit_feed(&s, "a\nb\nc\n", 6, 0, collect, g), LF_EIO);
    ck_assert_int_eq(g->n, 1);
    lf_linesplit_fini(&s);
    free(g);
}
END_TEST

/* ---- `logferry parse` splits like the splitter ------------------------------------ */

#define AGREE_MAX 64

/* Lines of every kind, with a long line across parse's 64 KiB read boundary, and a
 * partial last line. */
static char *agree_fixture(size_t *n)
{
    size_t cap = 200000, len = 0;
    char *d = malloc(cap);
    ck_assert_ptr_nonnull(d);
    for (int i = 0; len < 70000; i++) {
        int kind = i % 6, k;
        if (kind == 0) {
            k = snprintf(d + len, cap - len, "line %d\n", i);
        } else if (kind == 1) {
            k = snprintf(d + len, cap - len, "crlf line %d\r\n", i);
        } else if (kind == 2) {
            k = snprintf(d + len, cap - len, "%d long %0*d\n", i, 100 + i % 300, 7);
        } else if (kind == 3) {
            k = snprintf(d + len, cap - len, "%d long crlf %0*d\r\n", i, 60 + i % 20, 3);
        } else if (kind == 4) {
            k = snprintf(d + len, cap - len, "\n\r\n");
        } else {
            k = snprintf(d + len, cap - len, "%0*d\n", AGREE_MAX - 2 + i % 5, i);
        }
        len += (size_t)k;
    }
    memset(d + len, 'y', 3000);
    len += 3000;
    memcpy(d + len, "\nthe end", 8);
    *n = len + 8;
    return d;
}

/* Runs `logferry parse -c cfg -i t fixture`; returns its output (caller frees). */
static char *run_parse(const char *dir, const char *fixture)
{
    char cfg[512], log[512];
    snprintf(cfg, sizeof(cfg), "%s/parse.yaml", dir);
    snprintf(log, sizeof(log), "%s/parse.out", dir);
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "agent: {name: test, state_dir: %s}\n"
             "outputs: [{name: stdout, plugin: stdout}]\n"
             "inputs:\n  - name: t\n    paths: ['-']\n    max_line_bytes: %d\n"
             "    parser: {type: raw}\n",
             dir, AGREE_MAX);
    lft_write_file(cfg, yaml, false);
    char *argv[] = {(char *)lft_bin(), "parse", "-c", cfg, "-i", "t", (char *)fixture, NULL};
    pid_t pid = lft_spawn(argv, log);
    ck_assert_int_eq(lft_wait_exit(pid, 30000), 0);
    char *out = lft_read_file(log, NULL);
    ck_assert_ptr_nonnull(out);
    return out;
}

/* From one JSON record: log.offset, the message's length, whether it is marked truncated. */
static void record_facts(const char *rec, uint64_t *offset, size_t *msg_len, bool *truncated)
{
    const char *o = strstr(rec, "\"log.offset\":");
    const char *m = strstr(rec, "\"message\":\"");
    const char *nl = strchr(rec, '\n');
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_nonnull(m);
    *offset = strtoull(o + strlen("\"log.offset\":"), NULL, 10);
    m += strlen("\"message\":\"");
    *msg_len = (size_t)(strchr(m, '"') - m); /* the fixture needs no JSON escapes */
    const char *t = strstr(rec, "\"truncated\"");
    *truncated = t && (!nl || t < nl);
}

START_TEST(parse_command_splits_like_the_splitter)
{
    char *dir = lft_mkdtemp("linesplit");
    char fixture[512];
    size_t n;
    char *d = agree_fixture(&n);
    snprintf(fixture, sizeof(fixture), "%s/in.log", dir);
    FILE *fp = fopen(fixture, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(d, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);

    struct lf_linesplit s;
    struct got *g = got_new();
    lf_linesplit_init(&s, AGREE_MAX, 0);
    ck_assert_int_eq(split(&s, g, d, n, 4096, true), LF_OK);
    lf_linesplit_fini(&s);
    ck_assert_int_gt(g->n, 1000);

    char *out = run_parse(dir, fixture);
    int i = 0;
    for (const char *rec = out; rec && *rec; rec = strchr(rec, '\n'), rec = rec ? rec + 1 : NULL) {
        if (*rec != '{') {
            continue; /* the summary on stderr */
        }
        uint64_t offset;
        size_t len;
        bool truncated;
        record_facts(rec, &offset, &len, &truncated);
        ck_assert_int_lt(i, g->n);
        ck_assert_msg(offset == g->lines[i].start && len == g->lines[i].len &&
                          truncated == (g->lines[i].flags == LF_LINE_TRUNCATED),
                      "record %d: parse has offset %llu, %zu bytes%s; the splitter %llu, %zu%s", i,
                      (unsigned long long)offset, len, truncated ? ", truncated" : "",
                      (unsigned long long)g->lines[i].start, g->lines[i].len,
                      g->lines[i].flags ? ", truncated" : "");
        i++;
    }
    ck_assert_int_eq(i, g->n);
    free(out);
    free(g);
    free(d);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("linesplit");
    TCase *tc = tcase_create("lines");
    tcase_add_test(tc, offsets_and_empty_lines);
    tcase_add_test(tc, crlf);
    tcase_add_test(tc, same_lines_for_every_chunk_size);
    tcase_add_test(tc, overlong_cut_rest_skipped);
    tcase_add_test(tc, partial_last_line);
    tcase_add_test(tc, reset_drops_partial_line);
    tcase_add_test(tc, callback_error_stops_feed);
    suite_add_tcase(s, tc);
    tc = tcase_create("parse_command");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parse_command_splits_like_the_splitter);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
