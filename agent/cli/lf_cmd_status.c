/* lf_cmd_status.c - `logferry status`: asks the running agent's endpoint (agent.http.listen
 * of the config) for /status and prints it: the table the agent renders
 * (/status?format=text), or the JSON with --json. A plain HTTP/1.1 GET over a socket
 * with a timeout: the endpoint is on loopback and answers with Connection: close.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_help.h"
#include "lf_agent.h"
#include "lf_buf.h"
#include "lf_clock.h"
#include "lf_cmd.h"
#include "lf_conf.h"
#include "lf_http.h"
#include "logferry/lf_err.h"

#define STATUS_TIMEOUT_MS 5000
#define STATUS_MAX_BYTES  (16u << 20)

struct status_args {
    const char *config;
    bool json;
    int watch_s; /* 0: once */
};

static int parse_args(int argc, char **argv, struct status_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"watch", optional_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *a = (struct status_args){.config = CLI_DEFAULT_CONFIG};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:jw::h", longopts, NULL)) != -1) {
        if (opt == 'c') {
            a->config = optarg;
        } else if (opt == 'j') {
            a->json = true;
        } else if (opt == 'w') {
            char *end = NULL;
            long s = optarg ? strtol(optarg, &end, 10) : 2;
            if ((optarg && *end) || s < 1 || s > 3600) {
                return 2;
            }
            a->watch_s = (int)s;
        } else {
            return opt == 'h' ? 1 : 2;
        }
    }
    return optind < argc ? 2 : 0;
}

/* Waits for fd to be ready for events until deadline; false on timeout or error. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    int64_t left = deadline - lf_mono_ms();
    struct pollfd p = {.fd = fd, .events = events};
    return left > 0 && poll(&p, 1, (int)left) == 1;
}

/* GETs path from the endpoint at sa into body. Returns the HTTP status, or -errno. */
static int http_get(const struct sockaddr_storage *sa, unsigned salen, const char *path,
                    struct lf_buf *resp)
{
    int64_t deadline = lf_mono_ms() + STATUS_TIMEOUT_MS;
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    int rc = connect(fd, (const struct sockaddr *)sa, salen);
    if (rc != 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
        socklen_t len = sizeof(rc);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &len);
        errno = rc;
    }
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "User-Agent: logferry-status\r\n\r\n",
                     path);
    if (rc != 0 || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        rc = errno ? -errno : -EIO;
        close(fd);
        return rc;
    }
    char buf[65536];
    ssize_t got = 0;
    while (wait_fd(fd, POLLIN, deadline) && (got = recv(fd, buf, sizeof(buf), 0)) > 0) {
        if (lf_buf_append(resp, buf, (size_t)got) != LF_OK) {
            break;
        }
    }
    close(fd);
    int status = 0;
    if (got != 0 || !resp->data || sscanf(resp->data, "HTTP/1.%*d %d", &status) != 1) {
        return -ETIMEDOUT;
    }
    return status;
}

static const char *body_of(const struct lf_buf *resp)
{
    const char *p = resp->data ? strstr(resp->data, "\r\n\r\n") : NULL;
    return p ? p + 4 : "";
}

/* One fetch and print; returns an exit code. */
static int show(const struct lf_config *cfg, const struct status_args *a)
{
    struct sockaddr_storage sa;
    unsigned salen;
    char err[512];
    const char *listen = cfg->agent.http.listen;
    if (lf_http_parse_listen(listen, true, &sa, &salen, err, sizeof(err)) != LF_OK) {
        fprintf(stderr, "logferry status: %s\n", err);
        return LF_EXIT_CONFIG;
    }
    struct lf_buf resp;
    lf_buf_init(&resp, STATUS_MAX_BYTES);
    int st = http_get(&sa, salen, a->json ? "/status" : "/status?format=text", &resp);
    int code = LF_EXIT_OK;
    if (st < 0) {
        fprintf(stderr,
                "logferry status: no agent answers at %s (%s): is `logferry run -c %s` "
                "running?\n",
                listen, strerror(-st), a->config);
        code = LF_EXIT_UNAVAILABLE;
    } else if (st != 200) {
        fprintf(stderr, "logferry status: the agent at %s answered HTTP %d: %s", listen, st,
                body_of(&resp));
        code = LF_EXIT_FAILURE;
    } else {
        fputs(body_of(&resp), stdout);
        fflush(stdout);
    }
    lf_buf_fini(&resp);
    return code;
}

int lf_cmd_status(int argc, char **argv)
{
    struct status_args a;
    int bad = parse_args(argc, argv, &a);
    if (bad) {
        cli_help_command(bad == 1 ? stdout : stderr, "status");
        return bad == 1 ? LF_EXIT_OK : LF_EXIT_USAGE;
    }
    struct lf_diag d;
    struct lf_config *cfg;
    lf_diag_init(&d, a.config);
    int rc = lf_conf_load(a.config, NULL, &d, &cfg);
    lf_diag_print(&d, stderr);
    lf_diag_fini(&d);
    if (rc != LF_OK) {
        return LF_EXIT_CONFIG;
    }
    int code;
    if (!cfg->agent.http.listen) {
        fprintf(stderr,
                "logferry status: the status endpoint is off in %s: set agent.http.listen "
                "(e.g. 127.0.0.1:2020) and restart the agent\n",
                a.config);
        code = LF_EXIT_UNAVAILABLE;
    } else {
        do {
            if (a.watch_s) {
                fputs("\033[H\033[2J", stdout); /* clear the terminal */
            }
            code = show(cfg, &a);
        } while (a.watch_s && sleep((unsigned)a.watch_s) == 0);
    }
    lf_conf_free(cfg);
    return code;
}
