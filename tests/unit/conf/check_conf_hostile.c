/* check_conf_hostile.c - configurations written to break the loader: nested aliases,
 * files that are not YAML text, syntax errors, wrong types, secrets in every form. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lf_conf.h"
#include "lf_conf_yaml.h"
#include "lf_logsetup.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

/* A plugin with a secret string, a secret list and a plain key, found by a resolver
 * that also runs a validate() rejecting topic "bad". */
struct sec_conf {
    char *password;
    struct lf_list urls;
    char *topic;
};

static const struct lf_opt sec_options[] = {
    {.name = "password",
     .type = LF_OPT_STR,
     .flags = LF_OPT_SECRET,
     .offset = offsetof(struct sec_conf, password),
     .desc = "A secret."},
    {.name = "urls",
     .type = LF_OPT_LIST,
     .flags = LF_OPT_SECRET | LF_OPT_SCALAR_OR_LIST,
     .max = 4,
     .offset = offsetof(struct sec_conf, urls),
     .desc = "Secret URLs."},
    {.name = "topic",
     .type = LF_OPT_STR,
     .offset = offsetof(struct sec_conf, topic),
     .desc = "Not a secret."},
    {.name = NULL},
};

static const struct lf_output_plugin sec_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "sec",
    .options = sec_options,
    .config_size = sizeof(struct sec_conf),
};

static int sec_resolve(void *ctx, const char *dir, const char *name,
                       const struct lf_output_plugin **out, char *err, size_t errlen)
{
    (void)ctx;
    (void)dir;
    if (strcmp(name, "sec") == 0) {
        *out = &sec_plugin;
        return LF_OK;
    }
    snprintf(err, errlen, "no plugin '%s'", name);
    return LF_ENOTFOUND;
}

static int sec_validate(void *ctx, const struct lf_output_conf *out, const char *agent_name,
                        const char *state_dir)
{
    const struct sec_conf *sc = out->plugin_config;
    (void)agent_name;
    (void)state_dir;
    (*(int *)ctx)++;
    return sc->topic && strcmp(sc->topic, "bad") == 0 ? LF_EINVAL : LF_OK;
}

static int validations;
static const struct lf_plugin_resolver resolver = {
    .resolve = sec_resolve, .ctx = &validations, .validate = sec_validate};

static const char HEAD[] = "agent: {state_dir: /tmp/s}\n"
                           "inputs: [{name: i, paths: [/tmp/x.log]}]\n";

static int load_str(const char *yaml, struct lf_diag *d, struct lf_config **c)
{
    static char *env[] = {"LF_TEST_PW=from-env-pw", NULL};
    lf_diag_init(d, "t.yaml");
    return lf_conf_load_string_with(yaml, "t.yaml", env, &resolver, d, c);
}

static int load_path(const char *path, struct lf_diag *d, struct lf_config **c)
{
    lf_diag_init(d, path);
    return lf_conf_load_with(path, NULL, &resolver, d, c);
}

static const char *first(const struct lf_diag *d)
{
    return d->n ? d->msgs[0].text : "(no message)";
}

/* ---- aliases ---------------------------------------------------------------------- */

/* 10 levels of 10 aliases each: 10^10 nodes if expanded. */
static char *billion_laughs(void)
{
    size_t cap = 8192, len = 0;
    char *y = malloc(cap);
    len += (size_t)snprintf(y + len, cap - len, "x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        len += (size_t)snprintf(y + len, cap - len, "x-a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++) {
            len += (size_t)snprintf(y + len, cap - len, "%s*a%d", k ? ", " : "", i - 1);
        }
        len += (size_t)snprintf(y + len, cap - len, "]\n");
    }
    return y;
}

START_TEST(test_billion_laughs_bounded)
{
    struct lf_diag d;
    struct lf_config *c;
    char *y = billion_laughs();
    int64_t t0 = lft_now_ms();
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_int_lt(lft_now_ms() - t0, 2000);
    ck_assert_ptr_null(c);
    /* a4 = 10 x a3 (11111 nodes each) crosses 100000 nodes at its 10th alias, on line 5 */
    ck_assert_msg(lf_diag_has(&d, "t.yaml:5:") && lf_diag_has(&d, "alias '*a3'") &&
                      lf_diag_has(&d, "more than 100000 nodes"),
                  "%s", first(&d));
    lf_diag_fini(&d);
    free(y);
}
END_TEST

START_TEST(test_alias_depth_bounded)
{
    struct lf_diag d;
    struct lf_config *c;
    char y[4096];
    size_t len = (size_t)snprintf(y, sizeof(y), "x0: &a0 v\n");
    for (int i = 1; i <= 40; i++) { /* each alias wraps the previous one: depth 40 */
        len += (size_t)snprintf(y + len, sizeof(y) - len, "x%d: &a%d [*a%d]\n", i, i, i - 1);
    }
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "nested more than 32 deep"), "%s", first(&d));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_alias_count_and_cycle)
{
    struct lf_diag d;
    struct lf_config *c;
    size_t cap = 200000, len = 0;
    char *y = malloc(cap);
    len += (size_t)snprintf(y + len, cap - len, "x: &b v\nl:\n");
    for (int i = 0; i < 10001; i++) { /* flat: few nodes, but over 10000 expansions */
        len += (size_t)snprintf(y + len, cap - len, "  - *b\n");
    }
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:10003:6: alias '*b': the document expands more than "
                                  "10000 aliases"),
                  "%s", first(&d));
    lf_diag_fini(&d);
    ck_assert_int_eq(load_str("a: &a [x, *a]\n", &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:1:12: alias '*a': refers to a node that contains it"),
                  "%s", first(&d));
    lf_diag_fini(&d);
    free(y);
}
END_TEST

/* Mappings: duplicate keys all reported, an oversized mapping refused before libfyaml's
 * resolution (quadratic in the keys) runs. */
START_TEST(test_mapping_keys_checked)
{
    struct lf_diag d;
    struct lf_config *c;
    ck_assert_int_eq(load_str("agent: {state_dir: /x}\nagent: {name: y}\n"
                              "inputs: [{name: a, paths: [/x], name: b}]\n",
                              &d, &c),
                     LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "t.yaml:2:1: duplicate key 'agent' (first at line 1, column 1)"));
    ck_assert(lf_diag_has(&d, "t.yaml:3:33: duplicate key 'name' (first at line 3, column 11)"));
    ck_assert_uint_eq(d.errors, 2);
    lf_diag_fini(&d);
    size_t cap = 1 << 20, len = 0;
    char *y = malloc(cap);
    len += (size_t)snprintf(y + len, cap - len, "fields:\n");
    for (int i = 0; i < 20000; i++) { /* would take seconds with libfyaml's own check */
        len += (size_t)snprintf(y + len, cap - len, "  k%d: v\n", i);
    }
    int64_t t0 = lft_now_ms();
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_int_lt(lft_now_ms() - t0, 2000);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:2:3: a mapping with 20000 keys (at most 256)"), "%s",
                  first(&d));
    lf_diag_fini(&d);
    len = (size_t)snprintf(y, cap, "x: [");
    for (int i = 0; i < 150000; i++) {
        len += (size_t)snprintf(y + len, cap - len, "1,");
    }
    snprintf(y + len, cap - len, "1]\n");
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "the document has more than 100000 nodes"), "%s", first(&d));
    lf_diag_fini(&d);
    free(y);
}
END_TEST

START_TEST(test_alias_budget_direct)
{
    /* The walk alone, on an unresolved document: the budget is what stops it. */
    struct lf_diag d;
    char *y = billion_laughs();
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET};
    struct fy_document *doc = fy_document_build_from_string(&pcfg, y, strlen(y));
    ck_assert_ptr_nonnull(doc);
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_eq(lf_conf_alias_check(doc, NULL, &d, NULL), LF_ECONFIG);
    ck_assert_uint_eq(d.errors, 1);
    lf_diag_fini(&d);
    fy_document_destroy(doc);
    free(y);
    /* empty mappings, no aliases: fine, and nothing to resolve */
    bool resolve = true;
    doc = fy_document_build_from_string(&pcfg, "a: {}\nb: {c: d}\n", FY_NT);
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_eq(lf_conf_alias_check(doc, NULL, &d, &resolve), LF_OK);
    ck_assert(!resolve);
    lf_diag_fini(&d);
    fy_document_destroy(doc);
}
END_TEST

START_TEST(test_aliases_and_merge_keys_still_work)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "agent: {state_dir: /tmp/s}\n"
                    "inputs:\n"
                    "  - &in {name: a, paths: [/tmp/a.log], max_line_bytes: 4KiB}\n"
                    "  - {<<: *in, name: b}\n"
                    "outputs: [{name: o, plugin: sec, topic: t}]\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_OK);
    ck_assert_uint_eq(c->inputs.n, 2);
    ck_assert_str_eq(lf_conf_input(c, 1)->name, "b");
    ck_assert_uint_eq(lf_conf_input(c, 1)->max_line_bytes, 4096);
    lf_conf_free(c);
    lf_diag_fini(&d);
}
END_TEST

/* ---- files and bytes -------------------------------------------------------------- */

START_TEST(test_not_a_config_file)
{
    char *dir = lft_mkdtemp("conf");
    char path[512];
    struct lf_diag d;
    struct lf_config *c;
    static const struct {
        const char *name, *content, *want;
    } cases[] = {
        {"empty.yaml", "", "the configuration file is empty"},
        {"blank.yaml", "  \n\n\t\n", "the configuration file is empty"},
        {"comments.yaml", "# nothing here\n", "holds no YAML content"},
        {"nul.yaml", NULL, "not a text file: NUL byte"},
        {"latin1.yaml", "agent: {name: caf\xe9}\n", "t.yaml"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, cases[i].name);
        if (cases[i].content) {
            lft_write_file(path, cases[i].content, false);
        } else {
            FILE *fp = fopen(path, "w");
            fwrite("agent:\0\x01\x02", 1, 9, fp);
            fclose(fp);
        }
        ck_assert_int_eq(load_path(path, &d, &c), LF_ECONFIG);
        if (strcmp(cases[i].want, "t.yaml") == 0) {
            ck_assert_msg(lf_diag_has(&d, ":1:18: not a text file: invalid UTF-8 byte 0xe9"), "%s",
                          first(&d));
        } else {
            ck_assert_msg(lf_diag_has(&d, cases[i].want), "%s: %s", cases[i].name, first(&d));
        }
        lf_diag_fini(&d);
    }
    ck_assert_int_eq(load_path(dir, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "is a directory, not a configuration file"), "%s", first(&d));
    lf_diag_fini(&d);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(load_path(path, &d, &c), LF_ECONFIG); /* must not block on the FIFO */
    ck_assert_msg(lf_diag_has(&d, "is not a regular file"), "%s", first(&d));
    lf_diag_fini(&d);
    snprintf(path, sizeof(path), "%s/missing.yaml", dir);
    ck_assert_int_eq(load_path(path, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "No such file or directory"), "%s", first(&d));
    lf_diag_fini(&d);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_too_large_file)
{
    char *dir = lft_mkdtemp("conf");
    char path[512];
    struct lf_diag d;
    struct lf_config *c;
    snprintf(path, sizeof(path), "%s/big.yaml", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_int_eq(ftruncate(fileno(fp), LF_CONF_MAX_BYTES + 1), 0);
    fclose(fp);
    ck_assert_int_eq(load_path(path, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "a configuration file is at most"), "%s", first(&d));
    lf_diag_fini(&d);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- syntax positions ------------------------------------------------------------- */

START_TEST(test_syntax_error_positions)
{
    struct lf_diag d;
    struct lf_config *c;
    /* The '[' on line 5 is never closed; libfyaml notices on line 7. */
    const char *y = "agent:\n  state_dir: /tmp/s\ninputs:\n  - name: a\n"
                    "    paths: [/tmp/*.log\noutputs:\n  - name: o\n    plugin: sec\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:5:12: YAML syntax error: this '[' is never closed"), "%s",
                  first(&d));
    lf_diag_fini(&d);
    y = "agent: {state_dir: /tmp/s}\ninputs:\n  - name: 'a\n    paths: [/x]\n"
        "outputs: [{name: o, plugin: sec}]\nx: y\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:3:11: YAML syntax error"), "%s", first(&d));
    lf_diag_fini(&d);
    /* A plain indentation error keeps libfyaml's own position. */
    y = "agent:\n  state_dir: /tmp/s\n inputs: x\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:3:") && lf_diag_has(&d, "YAML syntax error"), "%s",
                  first(&d));
    lf_diag_fini(&d);
}
END_TEST

/* A syntax error under a line over 80 display columns made libfyaml 0.7.12 crash while
 * printing its source excerpt (issue 17: fy_diag_error_atom_display overflowed a stack
 * buffer). Its errors are collected, not printed, so such input gets the error at its
 * position. The first two cases crashed: the fuzzer's input (minimised: tabs) and the
 * same shape with spaces alone; the last two are other wide lines (a tab indentation
 * after 300 tabs, an unclosed '{' over 600 spaces). */
static char *wide_line(const char *head, char fill, int n1, const char *mid, int n2,
                       const char *tail)
{
    size_t cap = strlen(head) + strlen(mid) + strlen(tail) + (size_t)n1 + (size_t)n2 + 1;
    char *y = malloc(cap);
    ck_assert_ptr_nonnull(y);
    int len = snprintf(y, cap, "%s", head);
    len += snprintf(y + len, cap - (size_t)len, "%*s", n1, "");
    memset(y + len - n1, fill, (size_t)n1);
    len += snprintf(y + len, cap - (size_t)len, "%s%*s", mid, n2, "");
    memset(y + len - n2, fill, (size_t)n2);
    snprintf(y + len, cap - (size_t)len, "%s", tail);
    return y;
}

START_TEST(test_wide_lines_syntax_error)
{
    static const struct {
        const char *head;
        char fill;
        int n1;
        const char *mid;
        int n2;
        const char *tail, *want;
    } cases[] = {
        /* the fuzzer's input, minimised: the key ". r" spans two lines */
        {"s", '\t', 91, ": .\n", 51, "r:",
         "t.yaml:1:95: YAML syntax error: invalid multiline "
         "plain key"},
        {"s", ' ', 744, ": .\n", 408, "r:",
         "t.yaml:1:748: YAML syntax error: invalid "
         "multiline plain key"},
        {"agent:\n", '\t', 300, "state_dir: /tmp/s\n", 0, "", "t.yaml:2:"},
        {"agent: {state_dir: ", ' ', 600, "/tmp/s\n", 400, "x: [", "t.yaml:"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lf_diag d;
        struct lf_config *c = NULL;
        char *y = wide_line(cases[i].head, cases[i].fill, cases[i].n1, cases[i].mid, cases[i].n2,
                            cases[i].tail);
        ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
        ck_assert_ptr_null(c);
        ck_assert_msg(lf_diag_has(&d, cases[i].want) && lf_diag_has(&d, "YAML syntax error"),
                      "case %zu: %s", i, first(&d));
        lf_diag_fini(&d);
        free(y);
    }
}
END_TEST

/* Tabs YAML allows still load: as separation after ':' and ',' and before a comment,
 * inside comments, literally inside quoted scalars and as "\t" escapes. */
START_TEST(test_tabs_where_yaml_allows_them)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "agent: {state_dir: /tmp/s}\t# a tab before the comment\n"
                    "#\ta comment\twith tabs\n"
                    "inputs: [{name:\ti,\tpaths: [/tmp/x.log]}]\n"
                    "outputs:\n"
                    "  - name:\t\"a\\tb\"\n"
                    "    plugin:\tsec\n"
                    "    topic: 't\tq'\n"
                    "  - {name: \"c\td\", plugin: sec}\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_OK);
    ck_assert_str_eq(lf_conf_input(c, 0)->name, "i");
    ck_assert_str_eq(lf_conf_output(c, 0)->name, "a\tb");
    ck_assert_str_eq(((struct sec_conf *)lf_conf_output(c, 0)->plugin_config)->topic, "t\tq");
    ck_assert_str_eq(lf_conf_output(c, 1)->name, "c\td");
    lf_conf_free(c);
    lf_diag_fini(&d);
    /* A tab as indentation stays an error, at its line. */
    y = "agent:\n\tstate_dir: /tmp/s\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:2:") && lf_diag_has(&d, "tab"), "%s", first(&d));
    lf_diag_fini(&d);
}
END_TEST

/* libfyaml 0.7.12 frees a parser object twice (and crashes) on a TAB between ':' and a
 * block indicator after an explicit key ('? r:<TAB>?', 6 bytes, from the fuzzer). A text
 * with a '?' anywhere is refused on that sequence at the tab, even in a comment; one
 * without a '?' never takes the path and keeps "key:<TAB>>-", which libfyaml accepts. */
START_TEST(test_tab_before_block_indicator)
{
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"? r:\t?", "t.yaml:1:5: a TAB after ':' and before '?' is block indentation"},
        {"- ? r:  \t- x\n", "t.yaml:1:9: a TAB after ':' and before '-'"},
        {"agent:\n  ? r:\t|\n    x\n", "t.yaml:2:7: a TAB after ':' and before '|'"},
        {"# why?\nagent: {name: \"a:\t>\"}\n", "t.yaml:2:18: a TAB after ':' and before '>'"},
    };
    struct lf_diag d;
    struct lf_config *c;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(load_str(bad[i].yaml, &d, &c), LF_ECONFIG);
        ck_assert_msg(lf_diag_has(&d, bad[i].want), "case %zu: %s", i, first(&d));
        lf_diag_fini(&d);
    }
    char y[1024];
    snprintf(y, sizeof(y),
             "%soutputs:\n  - name:\t\"a:\t|\"\n    plugin: sec\n    topic:\t>-\n      folded\n",
             HEAD);
    ck_assert_int_eq(load_str(y, &d, &c), LF_OK);
    ck_assert_str_eq(lf_conf_output(c, 0)->name, "a:\t|");
    ck_assert_str_eq(((struct sec_conf *)lf_conf_output(c, 0)->plugin_config)->topic, "folded");
    lf_conf_free(c);
    lf_diag_fini(&d);
}
END_TEST

/* libfyaml 0.7.12 reads 'a''''b' as "a'''" (and leaks when the run is longer): a
 * single-quoted scalar with two '' escapes in a row is refused, as a value and as a key,
 * at its position; one '' at a time still reads right, and the double-quoted form works. */
START_TEST(test_single_quote_escape_runs)
{
    struct lf_diag d;
    struct lf_config *c;
    char y[1024];
    snprintf(y, sizeof(y), "%soutputs: [{name: o, plugin: sec, topic: 'a''''b'}]\n", HEAD);
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:3:42: a single-quoted scalar with two '' escapes in "
                                  "a row"),
                  "%s", first(&d));
    lf_diag_fini(&d);
    snprintf(y, sizeof(y), "%soutputs: [{name: o, plugin: sec}]\n'''''''''''': x\n", HEAD);
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:4:2: a single-quoted scalar"), "%s", first(&d));
    ck_assert_uint_eq(d.errors, 1); /* the key is not read, so no "unknown key" */
    lf_diag_fini(&d);
    snprintf(y, sizeof(y),
             "%soutputs: [{name: 'it''s', plugin: sec, topic: 'a'' ''b'},\n"
             "          {name: \"q''''r\", plugin: sec, topic: ''''}]\n",
             HEAD);
    ck_assert_int_eq(load_str(y, &d, &c), LF_OK);
    ck_assert_str_eq(lf_conf_output(c, 0)->name, "it's");
    ck_assert_str_eq(((struct sec_conf *)lf_conf_output(c, 0)->plugin_config)->topic, "a' 'b");
    ck_assert_str_eq(lf_conf_output(c, 1)->name, "q''''r");
    ck_assert_str_eq(((struct sec_conf *)lf_conf_output(c, 1)->plugin_config)->topic, "'");
    lf_conf_free(c);
    lf_diag_fini(&d);
}
END_TEST

/* ---- types ------------------------------------------------------------------------ */

START_TEST(test_scalars_where_lists_belong)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "agent: {state_dir: /tmp/s}\n"
                    "inputs:\n"
                    "  - {name: i, paths: 42, exclude: [true]}\n"
                    "  - name: j\n"
                    "    paths: /a/*.log, /b/*.log\n"
                    "outputs: [{name: o, plugin: sec, urls: 7, topic: [a]}]\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:3:22: inputs[0].paths: '42' is a number"), "%s",
                  first(&d));
    ck_assert(lf_diag_has(&d, "inputs[0].exclude: 'true' is a boolean"));
    ck_assert(lf_diag_has(&d, "inputs[1].paths: one value holding a comma-separated list"));
    ck_assert(lf_diag_has(&d, "outputs[0].urls: '7' is a number"));
    ck_assert(lf_diag_has(&d, "outputs[0].topic: expected a single value"));
    lf_diag_fini(&d);
    /* Quoted, the same text is a string. */
    y = "agent: {state_dir: /tmp/s}\ninputs: [{name: i, paths: '42'}]\n"
        "outputs: [{name: o, plugin: sec}]\n";
    ck_assert_int_eq(load_str(y, &d, &c), LF_OK);
    ck_assert_str_eq(lf_conf_input(c, 0)->paths.str[0], "42");
    lf_conf_free(c);
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_plugin_and_core_errors_in_one_run)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "agent: {state_dir: /tmp/s, shutdown_timout: 1s}\n"
                    "inputs: [{name: i, paths: [/x]}]\n"
                    "outputs: [{name: o, plugin: sec, topic: bad},\n"
                    "          {name: p, plugin: sec, pasword: x},\n"
                    "          {name: q, plugin: kafak}]\n";
    validations = 0;
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "agent: unknown key 'shutdown_timout' (did you mean"));
    ck_assert(lf_diag_has(&d, "t.yaml:3:12: output 'o': rejected by the sec plugin"));
    ck_assert(lf_diag_has(&d, "t.yaml:4:34: outputs[1]: unknown key 'pasword' (did you mean "
                              "'password'?)"));
    ck_assert_int_eq(validations, 1); /* p has a bad key: not handed to validate() */
    ck_assert(lf_diag_has(&d, "t.yaml:5:29: outputs[2].plugin: no plugin 'kafak' (did you mean "
                              "'kafka'?)"));
    ck_assert_uint_eq(d.errors, 4);
    lf_diag_fini(&d);
}
END_TEST

/* ---- secrets ---------------------------------------------------------------------- */

static char *write_secret(const char *dir, const char *name, const char *content, mode_t mode)
{
    char *path = malloc(512);
    snprintf(path, 512, "%s/%s", dir, name);
    lft_write_file(path, content, false);
    chmod(path, mode);
    return path;
}

/* Asserts no diagnostic contains the secret text. */
static void assert_not_printed(const struct lf_diag *d, const char *secret)
{
    for (size_t i = 0; i < d->n; i++) {
        ck_assert_msg(!strstr(d->msgs[i].text, secret), "secret printed: %s", d->msgs[i].text);
    }
}

START_TEST(test_secret_forms)
{
    char *dir = lft_mkdtemp("sec");
    char *pw = write_secret(dir, "pw", "file-pw-123\n", 0600);
    char *urls = write_secret(dir, "urls", "amqp://u:p1@h1/\n\namqp://u:p2@h2/\n", 0600);
    char y[2048];
    struct lf_diag d;
    struct lf_config *c;
    snprintf(y, sizeof(y),
             "%soutputs: [{name: a, plugin: sec, password_file: %s, urls_file: %s},\n"
             "          {name: b, plugin: sec, password: '${LF_TEST_PW}'}]\n",
             HEAD, pw, urls);
    ck_assert_int_eq(load_str(y, &d, &c), LF_OK);
    const struct sec_conf *a = lf_conf_output(c, 0)->plugin_config;
    const struct sec_conf *b = lf_conf_output(c, 1)->plugin_config;
    ck_assert_str_eq(a->password, "file-pw-123"); /* trailing newline dropped */
    ck_assert_uint_eq(a->urls.n, 2);
    ck_assert_str_eq(a->urls.str[1], "amqp://u:p2@h2/");
    ck_assert_str_eq(b->password, "from-env-pw");
    ck_assert_uint_eq(d.n, 0);
    lf_conf_free(c);
    lf_diag_fini(&d);
    lft_rmtree(dir);
    free(pw);
    free(urls);
    free(dir);
}
END_TEST

START_TEST(test_secret_errors)
{
    char *dir = lft_mkdtemp("sec");
    char *empty = write_secret(dir, "empty", "\n", 0600);
    char *pw = write_secret(dir, "pw", "file-pw-456\n", 0600);
    char y[2048];
    struct lf_diag d;
    struct lf_config *c;
    snprintf(y, sizeof(y),
             "%soutputs: [{name: a, plugin: sec, password_file: %s/absent},\n"
             "          {name: b, plugin: sec, password_file: %s},\n"
             "          {name: c, plugin: sec, password_file: %s},\n"
             "          {name: d, plugin: sec, password: '${LF_NOT_SET_PW}'},\n"
             "          {name: e, plugin: sec, password: x, password_file: %s},\n"
             "          {name: f, plugin: sec, topic_file: %s}]\n",
             HEAD, dir, empty, dir, pw, pw);
    ck_assert_int_eq(load_str(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "outputs[0].password_file: cannot read ") &&
                      lf_diag_has(&d, "absent: No such file or directory"),
                  "%s", first(&d));
    ck_assert(lf_diag_has(&d, "outputs[1].password_file: ") && lf_diag_has(&d, "is empty"));
    ck_assert(lf_diag_has(&d, "outputs[2].password_file: ") &&
              lf_diag_has(&d, "is not a regular file"));
    ck_assert(lf_diag_has(&d, "outputs[3].password: environment variable 'LF_NOT_SET_PW'"));
    ck_assert(lf_diag_has(&d, "outputs[4]: set password or password_file, not both"));
    ck_assert(lf_diag_has(&d, "outputs[5]: unknown key 'topic_file'")); /* not a secret */
    ck_assert_uint_eq(d.errors, 6);
    assert_not_printed(&d, "file-pw-456");
    lf_diag_fini(&d);
    lft_rmtree(dir);
    free(empty);
    free(pw);
    free(dir);
}
END_TEST

/* Loads yaml as user nobody in a child process (a root test process reads any file):
 * returns 0 when the load failed with "Permission denied" at password_file. */
static int load_as_nobody(const char *yaml)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct lf_diag d;
        struct lf_config *c;
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            _exit(2);
        }
        int rc = load_str(yaml, &d, &c);
        _exit(rc == LF_ECONFIG && lf_diag_has(&d, "outputs[0].password_file: cannot read ") &&
                      lf_diag_has(&d, "Permission denied")
                  ? 0
                  : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

START_TEST(test_secret_file_unreadable)
{
    char *dir = lft_mkdtemp("sec");
    char *pw = write_secret(dir, "pw", "locked-pw-321\n", 0000);
    char y[1024];
    chmod(dir, 0755);
    snprintf(y, sizeof(y), "%soutputs: [{name: a, plugin: sec, password_file: %s}]\n", HEAD, pw);
    ck_assert_int_eq(load_as_nobody(y), 0);
    lft_rmtree(dir);
    free(pw);
    free(dir);
}
END_TEST

START_TEST(test_world_readable_secret_warns)
{
    char *dir = lft_mkdtemp("sec");
    char y[1024];
    snprintf(y, sizeof(y), "%soutputs: [{name: a, plugin: sec, password: inline-pw-789}]\n", HEAD);
    char *cfg = write_secret(dir, "c.yaml", y, 0644);
    struct lf_diag d;
    struct lf_config *c;
    ck_assert_int_eq(load_path(cfg, &d, &c), LF_OK);
    ck_assert_uint_eq(d.warnings, 1);
    ck_assert_msg(lf_diag_has(&d, ":3:44: warning: the file holds a secret and every user may "
                                  "read it"),
                  "%s", first(&d));
    assert_not_printed(&d, "inline-pw-789");
    lf_conf_free(c);
    lf_diag_fini(&d);
    chmod(cfg, 0640); /* not world-readable: no warning */
    ck_assert_int_eq(load_path(cfg, &d, &c), LF_OK);
    ck_assert_uint_eq(d.warnings, 0);
    lf_conf_free(c);
    lf_diag_fini(&d);
    /* world-readable, but the secret comes from the environment: no warning */
    snprintf(y, sizeof(y), "%soutputs: [{name: a, plugin: sec, password: '${LF_TEST_PW}'}]\n",
             HEAD);
    lft_write_file(cfg, y, false);
    chmod(cfg, 0644);
    setenv("LF_TEST_PW", "env-pw", 1);
    ck_assert_int_eq(load_path(cfg, &d, &c), LF_OK);
    ck_assert_uint_eq(d.warnings, 0);
    lf_conf_free(c);
    lf_diag_fini(&d);
    lft_rmtree(dir);
    free(cfg);
    free(dir);
}
END_TEST

/* Every form registers the value with the logger, which masks it in any log line. */
START_TEST(test_secrets_masked_in_logs)
{
    lf_log_reset(); /* with CK_FORK=no, the secrets of the tests before ("x") are known */
    char *dir = lft_mkdtemp("sec");
    char *pw = write_secret(dir, "pw", "FromFileSecret1\n", 0600);
    char y[2048];
    struct lf_diag d;
    struct lf_config *c;
    snprintf(y, sizeof(y),
             "%soutputs: [{name: a, plugin: sec, password_file: %s, urls: [ListSecret22]},\n"
             "          {name: b, plugin: sec, password: '${LF_TEST_PW}'}]\n",
             HEAD, pw);
    ck_assert_int_eq(load_str(y, &d, &c), LF_OK);
    char line[256] = "x FromFileSecret1 y ListSecret22 z from-env-pw";
    lf_log_redact(line, sizeof(line));
    ck_assert_str_eq(line, "x *** y *** z ***");
    lf_conf_free(c);
    lf_diag_fini(&d);
    lft_rmtree(dir);
    free(pw);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conf-hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_billion_laughs_bounded);
    tcase_add_test(tc, test_alias_depth_bounded);
    tcase_add_test(tc, test_alias_count_and_cycle);
    tcase_add_test(tc, test_mapping_keys_checked);
    tcase_add_test(tc, test_alias_budget_direct);
    tcase_add_test(tc, test_aliases_and_merge_keys_still_work);
    tcase_add_test(tc, test_not_a_config_file);
    tcase_add_test(tc, test_too_large_file);
    tcase_add_test(tc, test_syntax_error_positions);
    tcase_add_test(tc, test_wide_lines_syntax_error);
    tcase_add_test(tc, test_tabs_where_yaml_allows_them);
    tcase_add_test(tc, test_single_quote_escape_runs);
    tcase_add_test(tc, test_tab_before_block_indicator);
    tcase_add_test(tc, test_scalars_where_lists_belong);
    tcase_add_test(tc, test_plugin_and_core_errors_in_one_run);
    tcase_add_test(tc, test_secret_forms);
    tcase_add_test(tc, test_secret_errors);
    tcase_add_test(tc, test_secret_file_unreadable);
    tcase_add_test(tc, test_world_readable_secret_warns);
    tcase_add_test(tc, test_secrets_masked_in_logs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
