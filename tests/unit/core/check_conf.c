/* check_conf.c - configuration loading: every error kind, positions, defaults, tables. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_conf.h"
#include "lf_optfill.h"
#include "lf_plugin_loader.h"
#include "logferry/lf_err.h"

static const char *const OUT_OK = "outputs: [{name: o, plugin: stdout}]\n";
static const char *const IN_OK = "inputs: [{name: i, paths: [/tmp/x.log]}]\n";

static int load(const char *yaml, struct lf_diag *d, struct lf_config **c)
{
    static char *env[] = {"LF_TEST_HOST=example", NULL};
    lf_diag_init(d, "t.yaml");
    return lf_conf_load_string(yaml, "t.yaml", env, d, c);
}

static char *cat3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

START_TEST(test_valid_defaults)
{
    struct lf_diag d;
    struct lf_config *c;
    char *y = cat3("agent: {name: a1, state_dir: /tmp/s}\n", IN_OK, OUT_OK);
    ck_assert_int_eq(load(y, &d, &c), LF_OK);
    ck_assert_str_eq(c->agent.name, "a1");
    ck_assert_int_eq(c->agent.shutdown_timeout_ms, 10000);
    ck_assert_uint_eq(c->agent.memory_limit, 2u << 20);
    ck_assert_uint_eq(lf_conf_input(c, 0)->max_line_bytes, 1u << 20);
    ck_assert_int_eq(lf_conf_input(c, 0)->start_at, LF_START_BEGINNING);
    ck_assert_uint_eq(lf_conf_output(c, 0)->match_mask, 0xF);
    ck_assert_int_eq(lf_conf_output(c, 0)->retry.backoff_ms, 1000);
    lf_conf_free(c);
    lf_diag_fini(&d);
    free(y);
}
END_TEST

START_TEST(test_yaml_syntax_error_has_position)
{
    struct lf_diag d;
    struct lf_config *c;
    ck_assert_int_eq(load("agent: {name: [\ninputs: x\n", &d, &c), LF_ECONFIG);
    ck_assert_ptr_null(c);
    ck_assert_uint_ge(d.errors, 1);
    ck_assert_msg(strncmp(d.msgs[0].text, "t.yaml:", 7) == 0, "%s", d.msgs[0].text);
    ck_assert(lf_diag_has(&d, "YAML syntax error"));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_unknown_key_did_you_mean)
{
    struct lf_diag d;
    struct lf_config *c;
    char *y = cat3("agent: {shutdown_timout: 5s}\n", IN_OK, OUT_OK);
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:1:9: agent: unknown key 'shutdown_timout' (did you "
                                  "mean 'shutdown_timeout'?)"),
                  "%s", d.n ? d.msgs[0].text : "");
    lf_diag_fini(&d);
    free(y);
}
END_TEST

START_TEST(test_all_errors_reported)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "agent: {shutdown_timeout: 10, memory_limit: lots, log_level: loud}\n"
                    "inputs: [{name: i, paths: [/x], max_line_bytes: 12XB, type: weird}]\n"
                    "outputs: [{name: o, plugin: stdout, retry: {attempts: many}}]\n";
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert_uint_eq(d.errors, 6);
    ck_assert(lf_diag_has(&d, "t.yaml:1:27: agent.shutdown_timeout: '10' is not a duration"));
    ck_assert(lf_diag_has(&d, "agent.memory_limit: 'lots' is not a size"));
    ck_assert(lf_diag_has(&d, "agent.log_level: 'loud' is not one of: error, warn, info, debug"));
    ck_assert(lf_diag_has(&d, "inputs[0].max_line_bytes: '12XB' is not a size"));
    ck_assert(lf_diag_has(&d, "inputs[0].type: 'weird' is not one of"));
    ck_assert(lf_diag_has(&d, "retry.attempts: 'many' is not an integer"));
    lf_diag_fini(&d);
}
END_TEST

/* An output without plugin: (or with a list there) is an error at its position, not an
 * output without a plugin that `run` would trip over. */
START_TEST(test_output_without_plugin)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "agent: {state_dir: /tmp}\n"
                    "inputs: [{name: i, paths: [/x]}]\n"
                    "outputs: [{name: o, type: stdout}, {name: p, plugin: [kafka]}]\n";
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "t.yaml:3:12: outputs[0]: missing required key 'plugin'"));
    ck_assert(lf_diag_has(&d, "outputs[1].plugin: expected a plugin name"));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_wrong_type_and_range)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "agent: {name: [a, b], memory_limit: 1KiB}\n"
                    "inputs: [{name: i, paths: {a: b}}]\n"
                    "outputs: [{name: o, plugin: stdout}]\n";
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "agent.name: expected a single value"));
    ck_assert(lf_diag_has(&d, "agent.memory_limit: '1KiB' is out of range"));
    ck_assert(lf_diag_has(&d, "inputs[0].paths: expected a list"));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_env_substitution)
{
    struct lf_diag d;
    struct lf_config *c;
    char *y = cat3("agent: {name: '${LF_TEST_HOST}-${LF_NOPE:-dflt}-$${x}'}\n", IN_OK, OUT_OK);
    ck_assert_int_eq(load(y, &d, &c), LF_OK);
    ck_assert_str_eq(c->agent.name, "example-dflt-${x}");
    lf_conf_free(c);
    lf_diag_fini(&d);
    free(y);
}
END_TEST

START_TEST(test_missing_env_is_error)
{
    struct lf_diag d;
    struct lf_config *c;
    char *y = cat3("agent: {state_dir: '${LF_UNSET_VAR}/s'}\n", IN_OK, OUT_OK);
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "t.yaml:1:21: agent.state_dir: environment variable "
                              "'LF_UNSET_VAR' is not set"));
    lf_diag_fini(&d);
    free(y);
}
END_TEST

START_TEST(test_duplicate_names)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "inputs: [{name: a, paths: [/x]}, {name: a, paths: [/y]}]\n"
                    "outputs: [{name: o, plugin: stdout}, {name: o, plugin: stdout}]\n";
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "input 'a' is defined twice"));
    ck_assert(lf_diag_has(&d, "output 'o' is defined twice"));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_match_unproduced_type_warns)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "inputs: [{name: a, paths: [/x], type: request}]\n"
                    "outputs: [{name: o, plugin: stdout, match: [request, query]}]\n";
    ck_assert_int_eq(load(y, &d, &c), LF_OK);
    ck_assert_uint_eq(d.errors, 0);
    ck_assert_uint_eq(d.warnings, 1);
    ck_assert(lf_diag_has(&d, "warning: output 'o' matches type 'query' but no input "
                              "produces it"));
    ck_assert_uint_eq(lf_conf_output(c, 0)->match_mask,
                      (1u << LF_TYPE_REQUEST) | (1u << LF_TYPE_QUERY));
    lf_conf_free(c);
    lf_diag_fini(&d);
}
END_TEST

/* Every key of the schema is supported now (no LF_OPT_UNSUPPORTED left): alerts load. */
START_TEST(test_alerts_conf)
{
    struct lf_diag d;
    struct lf_config *c;
    char *y = cat3("alerts: {webhook: 'http://127.0.0.1:9/x', timeout: 2s}\n", IN_OK, OUT_OK);
    ck_assert_int_eq(load(y, &d, &c), LF_OK);
    ck_assert_int_eq(c->alerts.timeout_ms, 2000);
    lf_conf_free(c);
    lf_diag_fini(&d);
    free(y);
}
END_TEST

START_TEST(test_plugin_keys_validated)
{
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "inputs: [{name: a, paths: [/x]}]\n"
                    "outputs: [{name: o, plugin: file, pth: /tmp/o}, {name: p, plugin: nosuch}]\n";
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "unknown key 'pth' (did you mean 'path'?)"));
    ck_assert(lf_diag_has(&d, "missing required key 'path'"));
    ck_assert(lf_diag_has(&d, "outputs[1].plugin: plugin 'nosuch' not found"));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_missing_sections)
{
    struct lf_diag d;
    struct lf_config *c;
    ck_assert_int_eq(load("agent: {name: x}\n", &d, &c), LF_ECONFIG);
    ck_assert(lf_diag_has(&d, "missing required key 'inputs'"));
    ck_assert(lf_diag_has(&d, "missing required key 'outputs'"));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_units)
{
    uint64_t sz;
    int64_t ms;
    ck_assert_int_eq(lf_parse_size("512KiB", &sz), LF_OK);
    ck_assert_uint_eq(sz, 512 * 1024);
    ck_assert_int_eq(lf_parse_size("1GiB", &sz), LF_OK);
    ck_assert_uint_eq(sz, 1u << 30);
    ck_assert_int_eq(lf_parse_size("100", &sz), LF_OK);
    ck_assert_uint_eq(sz, 100);
    ck_assert_int_eq(lf_parse_size("1.5M", &sz), LF_OK);
    ck_assert_uint_eq(sz, 1572864);
    ck_assert_int_eq(lf_parse_size("12 apples", &sz), LF_EINVAL);
    ck_assert_int_eq(lf_parse_size("-1", &sz), LF_EINVAL);
    ck_assert_int_eq(lf_parse_duration_ms("250ms", &ms), LF_OK);
    ck_assert_int_eq(ms, 250);
    ck_assert_int_eq(lf_parse_duration_ms("5m", &ms), LF_OK);
    ck_assert_int_eq(ms, 300000);
    ck_assert_int_eq(lf_parse_duration_ms("0", &ms), LF_OK);
    ck_assert_int_eq(lf_parse_duration_ms("10", &ms), LF_EINVAL);
    ck_assert_int_eq(lf_parse_duration_ms("10 parsecs", &ms), LF_EINVAL);
}
END_TEST

START_TEST(test_tables_validate)
{
    char err[256] = "";
    ck_assert_msg(lf_opt_table_validate(lf_config_options, err, sizeof(err)) == LF_OK, "%s", err);
    ck_assert_msg(lf_opt_table_validate(lf_output_core_options, err, sizeof(err)) == LF_OK, "%s",
                  err);
    ck_assert_msg(lf_opt_table_validate(lf_out_file_plugin.options, err, sizeof(err)) == LF_OK,
                  "%s", err);
    struct lf_opt bad[] = {
        {.name = "a", .type = LF_OPT_DURATION, .def = "10", .desc = "x"},
        {.name = NULL},
    };
    ck_assert_int_eq(lf_opt_table_validate(bad, err, sizeof(err)), LF_EINVAL);
    ck_assert(strstr(err, "default '10'"));
}
END_TEST

START_TEST(test_errors_have_strings)
{
    for (int e = LF_OK; e > LF_ERR_LAST; e--) {
        ck_assert_str_ne(lf_strerror(e), "unknown error");
    }
    ck_assert_str_eq(lf_strerror(LF_ERR_LAST), "unknown error");
}
END_TEST

START_TEST(test_doc_generation)
{
    struct lf_buf b;
    lf_buf_init(&b, 0);
    ck_assert_int_eq(lf_conf_doc_md("/nonexistent", &b), LF_OK);
    ck_assert(strstr(b.data, "| `shutdown_timeout` | duration | `10s` |"));
    ck_assert(strstr(b.data, "### `inputs[]`"));
    lf_buf_fini(&b);
}
END_TEST

/* ---- plugin resolver: conf/ finds plugins only through its caller ---- */

struct fake_conf {
    char *topic;
};

static const struct lf_opt fake_options[] = {
    {
        .name = "topic",
        .type = LF_OPT_STR,
        .flags = LF_OPT_REQUIRED,
        .offset = offsetof(struct fake_conf, topic),
        .desc = "Fake plugin's topic.",
    },
    {.name = NULL},
};

static const struct lf_output_plugin fake_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "fake",
    .description = "A descriptor no shared object provides.",
    .options = fake_options,
    .config_size = sizeof(struct fake_conf),
};

struct fake_resolver {
    char dirs[4][64]; /* the directories asked, in order */
    size_t calls;
};

static int fake_resolve(void *ctx, const char *dir, const char *name,
                        const struct lf_output_plugin **out, char *err, size_t errlen)
{
    struct fake_resolver *fr = ctx;
    if (fr->calls < 4) {
        snprintf(fr->dirs[fr->calls], sizeof(fr->dirs[0]), "%s", dir ? dir : "(null)");
    }
    fr->calls++;
    if (strcmp(name, "fake") == 0 || strcmp(name, "kafka") == 0) {
        *out = &fake_plugin;
        return LF_OK;
    }
    snprintf(err, errlen, "the fake resolver has no plugin '%s'", name);
    return LF_ENOTFOUND;
}

START_TEST(test_resolver_supplies_descriptor)
{
    struct fake_resolver fr = {.calls = 0};
    struct lf_plugin_resolver r = {.resolve = fake_resolve, .ctx = &fr, .default_dir = "/d"};
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "inputs: [{name: a, paths: [/x]}]\n"
                    "outputs: [{name: o, plugin: fake, topic: t1}]\n";
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_eq(lf_conf_load_string_with(y, "t.yaml", NULL, &r, &d, &c), LF_OK);
    ck_assert_uint_eq(fr.calls, 1);
    ck_assert_str_eq(fr.dirs[0], "/d"); /* default_dir when agent.plugin_dir is absent */
    ck_assert_str_eq(c->agent.plugin_dir, "/d");
    const struct lf_output_conf *o = lf_conf_output(c, 0);
    ck_assert_ptr_eq(o->handle.desc, &fake_plugin);
    ck_assert_str_eq(((struct fake_conf *)o->plugin_config)->topic, "t1");
    lf_conf_free(c);
    lf_diag_fini(&d);

    y = "agent: {plugin_dir: /p}\n"
        "inputs: [{name: a, paths: [/x]}]\n"
        "outputs: [{name: o, plugin: fake}]\n";
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_eq(lf_conf_load_string_with(y, "t.yaml", NULL, &r, &d, &c), LF_ECONFIG);
    ck_assert_str_eq(fr.dirs[1], "/p");
    ck_assert(lf_diag_has(&d, "outputs[0]: missing required key 'topic'"));
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_resolver_error_is_diagnostic)
{
    struct fake_resolver fr = {.calls = 0};
    struct lf_plugin_resolver r = {.resolve = fake_resolve, .ctx = &fr};
    struct lf_diag d;
    struct lf_config *c;
    const char *y = "inputs: [{name: a, paths: [/x]}]\n"
                    "outputs:\n"
                    "  - {name: o, plugin: nosuch}\n";
    lf_diag_init(&d, "t.yaml");
    ck_assert_int_eq(lf_conf_load_string_with(y, "t.yaml", NULL, &r, &d, &c), LF_ECONFIG);
    ck_assert_ptr_null(c);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:3:23: outputs[0].plugin: the fake resolver has no "
                                  "plugin 'nosuch'"),
                  "%s", d.n ? d.msgs[0].text : "(no message)");
    lf_diag_fini(&d);
}
END_TEST

START_TEST(test_resolver_feeds_doc)
{
    struct fake_resolver fr = {.calls = 0};
    struct lf_plugin_resolver r = {.resolve = fake_resolve, .ctx = &fr};
    struct lf_buf b;
    lf_buf_init(&b, 0);
    ck_assert_int_eq(lf_conf_doc_md_with(&r, "/docdir", &b), LF_OK);
    ck_assert_str_eq(fr.dirs[0], "/docdir");
    ck_assert(strstr(b.data, "Fake plugin's topic."));                 /* "kafka" */
    ck_assert(strstr(b.data, "plugin: stdout`\n\n(plugin not found")); /* the others */
    lf_buf_fini(&b);
}
END_TEST

/* The input's timezone:, keep_message: and redact:, checked at load with positions. */
START_TEST(test_input_timezone_redact)
{
    struct lf_diag d;
    struct lf_config *c;
    char *y = cat3("inputs:\n"
                   "  - {name: a, paths: [/x], timezone: Asia/Seoul, keep_message: false,\n"
                   "     redact: {literals: true, patterns: [email]}}\n"
                   "  - {name: b, paths: [/y], parser: {timezone: '+05:30'}}\n",
                   "", OUT_OK);
    ck_assert_int_eq(load(y, &d, &c), LF_OK);
    ck_assert_str_eq(lf_conf_input(c, 0)->parser.timezone, "Asia/Seoul");
    ck_assert(lf_conf_input(c, 0)->parser.drop_message);
    ck_assert(lf_conf_input(c, 0)->parser.redact.literals);
    ck_assert_uint_eq(lf_conf_input(c, 0)->parser.redact.patterns.n, 1);
    ck_assert_str_eq(lf_conf_input(c, 1)->parser.timezone, "+05:30");
    ck_assert(!lf_conf_input(c, 1)->parser.drop_message);
    lf_conf_free(c);
    lf_diag_fini(&d);
    free(y);
    y = cat3("inputs:\n"
             "  - {name: a, paths: [/x], timezone: Asia/Sesoul}\n"
             "  - {name: b, paths: [/x], timezone: UTC, parser: {timezone: UTC}}\n"
             "  - {name: c, paths: [/x], redact: {patterns: [emails]}}\n"
             "  - {name: d, paths: [/x], redact: {regex: ['a(b']}}\n",
             "", OUT_OK);
    ck_assert_int_eq(load(y, &d, &c), LF_ECONFIG);
    ck_assert_msg(lf_diag_has(&d, "t.yaml:2:28: inputs[0]: timezone: \"Asia/Sesoul\" is not"), "%s",
                  d.n ? d.msgs[0].text : "");
    ck_assert(lf_diag_has(&d, "inputs[1]: timezone: given twice"));
    ck_assert(lf_diag_has(&d, "inputs[2]: redact.patterns: unknown pattern 'emails'"));
    ck_assert(lf_diag_has(&d, "inputs[3]: redact: regex[0]: missing closing parenthesis"));
    lf_diag_fini(&d);
    free(y);
}
END_TEST

static Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_valid_defaults);
    tcase_add_test(tc, test_yaml_syntax_error_has_position);
    tcase_add_test(tc, test_unknown_key_did_you_mean);
    tcase_add_test(tc, test_all_errors_reported);
    tcase_add_test(tc, test_wrong_type_and_range);
    tcase_add_test(tc, test_output_without_plugin);
    tcase_add_test(tc, test_env_substitution);
    tcase_add_test(tc, test_missing_env_is_error);
    tcase_add_test(tc, test_duplicate_names);
    tcase_add_test(tc, test_match_unproduced_type_warns);
    tcase_add_test(tc, test_alerts_conf);
    tcase_add_test(tc, test_plugin_keys_validated);
    tcase_add_test(tc, test_missing_sections);
    tcase_add_test(tc, test_input_timezone_redact);
    suite_add_tcase(s, tc);
    TCase *tu = tcase_create("tables");
    tcase_add_test(tu, test_units);
    tcase_add_test(tu, test_tables_validate);
    tcase_add_test(tu, test_errors_have_strings);
    tcase_add_test(tu, test_doc_generation);
    suite_add_tcase(s, tu);
    TCase *tr = tcase_create("resolver");
    tcase_add_test(tr, test_resolver_supplies_descriptor);
    tcase_add_test(tr, test_resolver_error_is_diagnostic);
    tcase_add_test(tr, test_resolver_feeds_doc);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conf_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
