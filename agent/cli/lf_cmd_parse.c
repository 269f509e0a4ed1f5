/* lf_cmd_parse.c - `logferry parse`: try a parser on files or stdin, print JSON records.
 *
 * The parser, multi-line and filter settings come either from -p/--format/-m (turned
 * into a one-input config so they are validated by the same tables as a real config) or
 * from an input of a config file (-c FILE -i INPUT). Lines are cut by the tail's splitter
 * (lf_linesplit.h) and records built by the router's builder (lf_recbuild.h), so what is
 * printed is what the agent would send (but for the read time).
 */
#include "lf_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_help.h"
#include "lf_agent.h" /* LF_EXIT_* */
#include "lf_buf.h"
#include "lf_clock.h"
#include "lf_conf.h"
#include "lf_linesplit.h"
#include "lf_multiline.h"
#include "lf_parse.h"
#include "lf_recbuild.h"
#include "logferry/lf_err.h"

struct parse_run {
    struct lf_parser *parser;
    struct lf_recbuild_src src; /* host, input, and the file being parsed: path, id */
    struct lf_file_id id;
    struct lf_ml *ml; /* of the file being parsed */
    struct lf_buf out;
    uint64_t records;
};

static void yaml_quote(struct lf_buf *b, const char *s)
{
    lf_buf_append_char(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') {
            lf_buf_append_char(b, '\'');
        }
        lf_buf_append_char(b, *s);
    }
    lf_buf_append_char(b, '\'');
}

/* Builds the record as the agent does (lf_recbuild) and prints it. */
static int emit_record(void *ctx, const char *text, size_t len, uint64_t start, uint64_t end,
                       unsigned flags)
{
    struct parse_run *r = ctx;
    struct lf_built built;
    int rc =
        lf_recbuild(r->parser, &r->src, text, len, start, flags, lf_wall_ms(), &r->out, &built);
    if (rc == LF_PARSE_EMIT) {
        fwrite(r->out.data, 1, r->out.len, stdout);
        fputc('\n', stdout);
        r->records++;
    }
    return rc < 0 ? rc : LF_OK;
}

/* The splitter's lines go to the multi-line assembler, its records to emit_record. */
static int push_line(void *ctx, const char *text, size_t len, uint64_t start, uint64_t end,
                     unsigned flags)
{
    struct parse_run *r = ctx;
    return lf_ml_push(r->ml, text, len, start, end, flags, 0, emit_record, r);
}

/* Reads fd to its end, split into lines exactly as the tail splits (lf_linesplit.h). */
static int parse_stream(struct parse_run *r, int fd)
{
    struct lf_linesplit split;
    char buf[65536];
    uint64_t off = 0;
    ssize_t n = 0;
    int rc = LF_OK;
    lf_linesplit_init(&split, r->src.input->max_line_bytes, 0);
    while (rc == LF_OK && (n = read(fd, buf, sizeof(buf))) > 0) {
        rc = lf_linesplit_feed(&split, buf, (size_t)n, off, push_line, r);
        off += (uint64_t)n;
    }
    if (rc == LF_OK && n < 0) {
        fprintf(stderr, "logferry parse: cannot read %s: %s\n", r->src.path, strerror(errno));
        rc = LF_EIO;
    }
    if (rc == LF_OK) { /* the file is complete: so is its last line, newline or not */
        rc = lf_linesplit_finish(&split, off, push_line, r);
    }
    if (rc == LF_OK) {
        rc = lf_ml_flush(r->ml, emit_record, r);
    }
    lf_linesplit_fini(&split);
    return rc;
}

static int parse_one(struct parse_run *r, const char *path)
{
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd < 0) {
        fprintf(stderr, "logferry parse: cannot open %s\n", path);
        return LF_EIO;
    }
    struct stat st;
    memset(&r->id, 0, sizeof(r->id));
    if (fstat(fd, &st) == 0) {
        r->id.dev = (uint64_t)st.st_dev;
        r->id.ino = (uint64_t)st.st_ino;
    }
    r->src.path = path ? path : "-";
    r->src.path_len = strlen(r->src.path);
    char err[512];
    int rc =
        lf_ml_create(&r->src.input->multiline, lf_parser_default_multiline(&r->src.input->parser),
                     err, sizeof(err), &r->ml);
    if (rc != LF_OK) {
        fprintf(stderr, "logferry parse: multiline: %s\n", err);
    } else {
        rc = parse_stream(r, fd);
        lf_ml_destroy(r->ml);
        r->ml = NULL;
    }
    if (path) {
        close(fd);
    }
    return rc;
}

static int load_adhoc(const char *parser, const char *format, const char *ml,
                      struct lf_config **cfg)
{
    struct lf_buf y;
    lf_buf_init(&y, 0);
    lf_buf_append_str(&y, "agent: {state_dir: /nonexistent}\n"
                          "outputs: [{name: stdout, plugin: stdout}]\n"
                          "inputs:\n  - name: cli\n    paths: ['-']\n    parser: {type: ");
    yaml_quote(&y, parser);
    if (format) {
        lf_buf_append_str(&y, ", format: ");
        yaml_quote(&y, format);
    }
    lf_buf_append_str(&y, "}\n");
    if (ml) {
        lf_buf_append_str(&y, "    multiline: {preset: ");
        yaml_quote(&y, ml);
        lf_buf_append_str(&y, "}\n");
    }
    struct lf_diag d;
    lf_diag_init(&d, "command line");
    int rc = lf_conf_load_string(y.data, "command line", NULL, &d, cfg);
    lf_diag_print(&d, stderr);
    lf_diag_fini(&d);
    lf_buf_fini(&y);
    return rc;
}

static const struct lf_input_conf *find_input(const struct lf_config *c, const char *name)
{
    for (size_t i = 0; i < c->inputs.n; i++) {
        if (strcmp(lf_conf_input(c, i)->name, name) == 0) {
            return lf_conf_input(c, i);
        }
    }
    return NULL;
}

struct parse_args {
    const char *parser, *format, *ml; /* -p, --format, -m */
    const char *config, *input;       /* -c, -i */
    int first_file;                   /* argv index of the first FILE */
};

/* Reads the options into a; returns -1 to go on, or the exit code (help, bad usage). */
static int parse_options(int argc, char **argv, struct parse_args *a)
{
    static const struct option longopts[] = {
        {"parser", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'f'},
        {"multiline", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'},
        {"input", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:f:m:c:i:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            a->parser = optarg;
            break;
        case 'f':
            a->format = optarg;
            break;
        case 'm':
            a->ml = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'i':
            a->input = optarg;
            break;
        case 'h':
            cli_help_command(stdout, "parse");
            return LF_EXIT_OK;
        default:
            cli_help_command(stderr, "parse");
            return LF_EXIT_USAGE;
        }
    }
    if ((!a->parser && !a->config) ||
        (a->config && (!a->input || a->parser || a->format || a->ml))) {
        fprintf(stderr, "logferry parse: give -p PARSER [--format S] [-m PRESET], or -c FILE "
                        "-i INPUT\n");
        return LF_EXIT_USAGE;
    }
    a->first_file = optind;
    return -1;
}

/* Loads the config file (-c) or the one-input config of -p/--format/-m into *cfg (the
 * caller frees it, also on failure). Returns the input to parse with, or NULL (reported). */
static const struct lf_input_conf *load_input(const struct parse_args *a, struct lf_config **cfg)
{
    int rc;
    *cfg = NULL;
    if (a->config) {
        struct lf_diag d;
        lf_diag_init(&d, a->config);
        rc = lf_conf_load(a->config, NULL, &d, cfg);
        lf_diag_print(&d, stderr);
        lf_diag_fini(&d);
    } else {
        rc = load_adhoc(a->parser, a->format, a->ml, cfg);
    }
    if (rc != LF_OK) {
        return NULL;
    }
    const struct lf_input_conf *in =
        a->config ? find_input(*cfg, a->input) : lf_conf_input(*cfg, 0);
    if (!in) {
        fprintf(stderr, "logferry parse: %s has no input named '%s'\n", a->config, a->input);
    }
    return in;
}

/* Parses files[0..nfiles) (stdin if nfiles is 0) with input `in` of cfg and prints the
 * summary. Returns the exit code. */
static int parse_files(const struct lf_config *cfg, const struct lf_input_conf *in, int nfiles,
                       char **files)
{
    struct parse_run r = {0};
    r.src = (struct lf_recbuild_src){.host_name = cfg->agent.name,
                                     .host_len = strlen(cfg->agent.name),
                                     .input = in,
                                     .file_id = &r.id};
    char err[512];
    int rc = lf_parser_create(&in->parser, &in->filter, (enum lf_record_type)in->type, err,
                              sizeof(err), &r.parser);
    if (rc != LF_OK) {
        fprintf(stderr, "logferry parse: %s\n", err);
        return LF_EXIT_CONFIG;
    }
    lf_buf_init(&r.out, 0);
    for (int i = 0; rc == LF_OK && (i < nfiles || (i == 0 && nfiles == 0)); i++) {
        rc = parse_one(&r, i < nfiles ? files[i] : NULL);
    }
    fflush(stdout);
    fprintf(stderr, "logferry parse: %llu records, %llu unparsable, %llu filtered\n",
            (unsigned long long)r.records, (unsigned long long)lf_parser_errors(r.parser),
            (unsigned long long)lf_parser_filtered(r.parser));
    lf_parser_destroy(r.parser);
    lf_buf_fini(&r.out);
    return rc == LF_OK ? LF_EXIT_OK : LF_EXIT_FAILURE;
}

int lf_cmd_parse(int argc, char **argv)
{
    struct parse_args a = {0};
    int code = parse_options(argc, argv, &a);
    if (code >= 0) {
        return code;
    }
    struct lf_config *cfg;
    const struct lf_input_conf *in = load_input(&a, &cfg);
    code = in ? parse_files(cfg, in, argc - a.first_file, argv + a.first_file) : LF_EXIT_CONFIG;
    lf_conf_free(cfg);
    return code;
}
