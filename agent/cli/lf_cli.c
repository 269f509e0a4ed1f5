/* lf_cli.c - command dispatch and the run, check, spool and help commands.
 *
 * `logferry parse` lives in lf_cmd_parse.c; the help texts in cli_help.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli_help.h"
#include "lf_agent.h"
#include "lf_alert.h"
#include "lf_cmd.h"
#include "lf_conf.h"
#include "lf_http.h"
#include "lf_logsetup.h"
#include "lf_output.h"
#include "lf_spool.h"
#include "logferry/lf_err.h"

/* Parses -c/-h; *pos (if not NULL) takes at most one positional argument. */
static const char *config_arg(int argc, char **argv, int *bad, const char **pos)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_CONFIG;
    int opt;
    optind = 1;
    *bad = 0;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else {
            *bad = opt == 'h' ? 1 : 2;
        }
    }
    if (pos && optind < argc) {
        *pos = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "logferry %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        *bad = 2;
    }
    return path;
}

/* agent.http.listen must parse, and be loopback unless allow_remote. */
static void check_http_listen(const struct lf_config *cfg, struct lf_diag *d)
{
    const struct lf_http_conf *h = &cfg->agent.http;
    struct sockaddr_storage sa;
    unsigned salen;
    char err[512];
    if (h->listen &&
        lf_http_parse_listen(h->listen, h->allow_remote, &sa, &salen, err, sizeof(err)) != LF_OK) {
        lf_diag_add(d, LF_DIAG_ERROR, 0, 0, "%s", err);
    }
}

static int load_or_report(const char *path, struct lf_config **cfg)
{
    struct lf_diag d;
    lf_diag_init(&d, path);
    int rc = lf_conf_load(path, NULL, &d, cfg);
    if (rc == LF_OK) {
        check_http_listen(*cfg, &d); /* plugins' validate() ran in the load */
        const char *aerr = lf_alert_check_conf(&(*cfg)->alerts);
        if (aerr) {
            lf_diag_add(&d, LF_DIAG_ERROR, 0, 0, "%s", aerr);
        }
    }
    lf_diag_print(&d, stderr);
    int errors = (int)d.errors;
    lf_diag_fini(&d);
    if (errors && rc == LF_OK) {
        lf_conf_free(*cfg);
        *cfg = NULL;
        rc = LF_ECONFIG;
    }
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    int bad;
    const char *path = config_arg(argc, argv, &bad, NULL);
    if (bad) {
        cli_help_command(bad == 1 ? stdout : stderr, "check");
        return bad == 1 ? 0 : LF_EXIT_USAGE;
    }
    struct lf_config *cfg;
    if (load_or_report(path, &cfg) != LF_OK) {
        return LF_EXIT_CONFIG;
    }
    printf("%s: OK (%zu inputs, %zu outputs)\n", path, cfg->inputs.n, cfg->outputs.n);
    lf_conf_free(cfg);
    return LF_EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
    int bad;
    const char *path = config_arg(argc, argv, &bad, NULL);
    if (bad) {
        cli_help_command(bad == 1 ? stdout : stderr, "run");
        return bad == 1 ? 0 : LF_EXIT_USAGE;
    }
    struct lf_config *cfg;
    if (load_or_report(path, &cfg) != LF_OK) {
        return LF_EXIT_CONFIG;
    }
    struct lf_log_setup ls = {
        .format = cfg->agent.log_format,
        .file = cfg->agent.log_file,
        .burst = (unsigned)cfg->agent.log_ratelimit,
        .interval_ms = cfg->agent.log_ratelimit_interval_ms,
    };
    if (lf_log_configure(&ls) != LF_OK) {
        fprintf(stderr, "logferry run: cannot open agent.log_file %s: %s\n", ls.file,
                strerror(errno));
        lf_conf_free(cfg);
        return LF_EXIT_CONFIG;
    }
    struct lf_agent *agent;
    int rc = lf_agent_create(cfg, &agent);
    if (rc != LF_OK) {
        lf_conf_free(cfg);
        return rc == LF_EAGAIN ? LF_EXIT_LOCKED : LF_EXIT_FAILURE;
    }
    int code = lf_agent_run(agent);
    if (code == LF_EXIT_FORCED) {
        fflush(NULL);
        _exit(code); /* output threads may still be running: do not tear them down */
    }
    lf_agent_destroy(agent);
    lf_conf_free(cfg);
    return code;
}

/* Inspects <state_dir>/spool/<name>; returns an exit code. */
static int inspect_output(const struct lf_config *cfg, const char *name, int64_t now_ms)
{
    char dir[4096];
    int n = snprintf(dir, sizeof(dir), "%s/spool/%s", cfg->agent.state_dir, name);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        fprintf(stderr, "logferry spool: path too long for output '%s'\n", name);
        return LF_EXIT_FAILURE;
    }
    int rc = lf_spool_inspect(dir, stdout, now_ms);
    if (rc == LF_ENOTFOUND) {
        printf("spool %s: none (output '%s' has spooled nothing)\n", dir, name);
        return LF_EXIT_OK;
    }
    if (rc != LF_OK) {
        fprintf(stderr, "logferry spool: %s: %s\n", dir, lf_strerror(rc));
        return LF_EXIT_FAILURE;
    }
    return LF_EXIT_OK;
}

static int cmd_spool(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "inspect") != 0) {
        bool help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        cli_help_command(help ? stdout : stderr, "spool");
        return help ? LF_EXIT_OK : LF_EXIT_USAGE;
    }
    int bad;
    const char *only = NULL;
    const char *path = config_arg(argc - 1, argv + 1, &bad, &only);
    if (bad) {
        cli_help_command(bad == 1 ? stdout : stderr, "spool");
        return bad == 1 ? LF_EXIT_OK : LF_EXIT_USAGE;
    }
    struct lf_diag d;
    struct lf_config *cfg;
    lf_diag_init(&d, path);
    int rc = lf_conf_load(path, NULL, &d, &cfg);
    lf_diag_print(&d, stderr);
    lf_diag_fini(&d);
    if (rc != LF_OK) {
        return LF_EXIT_CONFIG;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int code = only ? LF_EXIT_USAGE : LF_EXIT_OK;
    for (size_t i = 0; i < cfg->outputs.n; i++) {
        const char *name = lf_conf_output(cfg, i)->name;
        if (!only || strcmp(only, name) == 0) {
            int c = inspect_output(cfg, name, now_ms);
            code = code == LF_EXIT_OK || code == LF_EXIT_USAGE ? c : code;
        }
    }
    if (code == LF_EXIT_USAGE) {
        fprintf(stderr, "logferry spool inspect: no output named '%s' in %s\n", only, path);
    }
    lf_conf_free(cfg);
    return code;
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "config") == 0) {
        char dir[4096];
        struct lf_buf b;
        lf_plugin_default_dir(dir, sizeof(dir));
        lf_buf_init(&b, 0);
        lf_conf_doc_md(dir, &b);
        fwrite(b.data, 1, b.len, stdout);
        lf_buf_fini(&b);
        return 0;
    }
    cli_help_command(stdout, argc > 1 ? argv[1] : NULL);
    return 0;
}

int lf_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        cli_help_command(stderr, NULL);
        return LF_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        cli_version(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) {
        return cmd_run(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "parse") == 0) {
        return lf_cmd_parse(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "spool") == 0) {
        return cmd_spool(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        return cmd_help(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "reload") == 0) {
        return lf_cmd_reload(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "status") == 0) {
        return lf_cmd_status(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "dlq") == 0) {
        return lf_cmd_dlq(argc - 1, argv + 1);
    }
    fprintf(stderr, "logferry: unknown command '%s'\n\n", cmd);
    cli_help_command(stderr, NULL);
    return LF_EXIT_USAGE;
}
