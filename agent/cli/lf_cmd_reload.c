/* lf_cmd_reload.c - `logferry reload`: checks the file, then SIGHUPs the running agent.
 *
 * The agent is found through its pid file (<state_dir>/logferry.pid, written once it holds
 * the state_dir lock). The lock tells a live agent from a stale pid file: if this command
 * can take the lock, no agent runs there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli_help.h"
#include "lf_agent.h"
#include "lf_cmd.h"
#include "lf_conf.h"
#include "logferry/lf_err.h"

/* True if some process holds the state_dir lock (an agent runs there). */
static bool reload_agent_locked(const char *state_dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/lock", state_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* The pid in <state_dir>/logferry.pid, 0 if none. */
static long reload_read_pid(const char *state_dir)
{
    char path[4096], buf[32] = "";
    snprintf(path, sizeof(path), "%s/logferry.pid", state_dir);
    FILE *fp = fopen(path, "re");
    if (!fp) {
        return 0;
    }
    char *end = NULL;
    long pid = fgets(buf, sizeof(buf), fp) ? strtol(buf, &end, 10) : 0;
    fclose(fp);
    return end && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

static int reload_signal(const struct lf_config *cfg)
{
    const char *dir = cfg->agent.state_dir;
    long pid = reload_read_pid(dir);
    if (!reload_agent_locked(dir) || pid == 0) {
        fprintf(stderr, "logferry reload: no agent runs with state_dir %s\n", dir);
        return LF_EXIT_UNAVAILABLE;
    }
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "logferry reload: cannot signal pid %ld: %s\n", pid, strerror(errno));
        return LF_EXIT_UNAVAILABLE;
    }
    printf("logferry reload: asked the agent (pid %ld) to reload %s; its log tells the result\n",
           pid, cfg->path);
    return LF_EXIT_OK;
}

int lf_cmd_reload(int argc, char **argv)
{
    const char *path = CLI_DEFAULT_CONFIG;
    for (int i = 1; i < argc; i++) {
        bool opt = !strcmp(argv[i], "-c") || !strcmp(argv[i], "--config");
        if (opt && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_help_command(stdout, "reload");
            return LF_EXIT_OK;
        } else {
            cli_help_command(stderr, "reload");
            return LF_EXIT_USAGE;
        }
    }
    struct lf_diag d;
    struct lf_config *cfg = NULL;
    lf_diag_init(&d, path);
    int rc = lf_conf_load(path, NULL, &d, &cfg);
    lf_diag_print(&d, stderr);
    lf_diag_fini(&d);
    if (rc != LF_OK) {
        fprintf(stderr, "logferry reload: %s is invalid; the agent was not signalled\n", path);
        return LF_EXIT_CONFIG;
    }
    int code = reload_signal(cfg);
    lf_conf_free(cfg);
    return code;
}
