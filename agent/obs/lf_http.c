/* lf_http.c - the endpoint on libmicrohttpd (see lf_http.h).
 *
 * libmicrohttpd runs one internal thread (MHD_USE_AUTO_INTERNAL_THREAD: epoll or poll,
 * never select, whose fd_set stops at fd 1023 - an agent tailing 1,000 files has higher
 * fds): requests are answered one after the other, so this module's scratch snapshot and
 * buffers need no lock. The HTTP parsing, limits and timeouts are libmicrohttpd's; a malformed
 * request costs one connection, never the agent.
 */
#include "lf_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lf_clock.h"
#include "lf_mhd.h"
#include "lf_render.h"
#include "logferry/lf_err.h"

#define SNAPSHOT_MAX_AGE_MS 250  /* older: ask the main loop for a fresh one */
#define SNAPSHOT_WAIT_MS    1000 /* how long a request waits for it */
#define CONNECTION_LIMIT    256
#define CONNECTION_TIMEOUT  10 /* seconds */

struct lf_http {
    struct lf_mhd mhd; /* loaded at start (lf_mhd.h) */
    struct MHD_Daemon *d;
    struct lf_obs *obs;
    const struct lf_log_ctx *log;
    struct lf_snapshot snap; /* the HTTP thread's copy */
    char microhttpd[32];     /* version, for logferry_build_info */
    char unix_path[108];     /* the socket file of a unix: listen, removed at stop */
};

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

/* Splits "host:port" or "[v6]:port" into host and port (in buf). */
static int split_listen(const char *listen, char *buf, size_t cap, const char **host,
                        const char **port)
{
    if (strlen(listen) >= cap) {
        return LF_ECONFIG;
    }
    memcpy(buf, listen, strlen(listen) + 1);
    char *colon = strrchr(buf, ':');
    if (!colon || colon[1] == '\0') {
        return LF_ECONFIG;
    }
    *colon = '\0';
    *port = colon + 1;
    *host = buf;
    if (buf[0] == '[') {
        size_t n = strlen(buf);
        if (n < 2 || buf[n - 1] != ']') {
            return LF_ECONFIG;
        }
        buf[n - 1] = '\0';
        *host = buf + 1;
    }
    return LF_OK;
}

/* "unix:/path" -> a sockaddr_un (local by nature: no loopback rule). */
static int parse_unix(const char *listen, void *sa, unsigned *salen, char *err, size_t errlen)
{
    struct sockaddr_un *un = sa;
    const char *path = listen + 5;
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    if (path[0] != '/' || strlen(path) >= sizeof(un->sun_path)) {
        snprintf(err, errlen,
                 "agent.http.listen '%s': expected unix:/ABSOLUTE/PATH (under %zu bytes)", listen,
                 sizeof(un->sun_path));
        return LF_ECONFIG;
    }
    memcpy(un->sun_path, path, strlen(path) + 1);
    *salen = (unsigned)sizeof(*un);
    return LF_OK;
}

int lf_http_parse_listen(const char *listen, bool allow_remote, void *sa, unsigned *salen,
                         char *err, size_t errlen)
{
    if (strncmp(listen, "unix:", 5) == 0) {
        return parse_unix(listen, sa, salen, err, errlen);
    }
    char buf[256];
    const char *host, *port;
    if (split_listen(listen, buf, sizeof(buf), &host, &port) != LF_OK) {
        snprintf(err, errlen, "agent.http.listen '%s': expected HOST:PORT or [V6]:PORT", listen);
        return LF_ECONFIG;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "agent.http.listen '%s': %s", listen, gai_strerror(rc));
        return LF_ECONFIG;
    }
    bool ok = ai->ai_addrlen <= sizeof(struct sockaddr_storage);
    if (ok) {
        memcpy(sa, ai->ai_addr, ai->ai_addrlen);
        *salen = (unsigned)ai->ai_addrlen;
    }
    freeaddrinfo(ai);
    if (!ok || (!*host && !allow_remote)) {
        snprintf(err, errlen, "agent.http.listen '%s': no host given", listen);
        return LF_ECONFIG;
    }
    if (!allow_remote && !is_loopback(sa)) {
        snprintf(err, errlen,
                 "agent.http.listen '%s' is not a loopback address: the endpoint has no "
                 "authentication; set agent.http.allow_remote: true to listen there anyway",
                 listen);
        return LF_ECONFIG;
    }
    return LF_OK;
}

/* Queues a response that takes ownership of body (malloc'd, may be NULL when len 0). */
static enum MHD_Result reply(const struct lf_mhd *m, struct MHD_Connection *c, unsigned status,
                             const char *type, char *body, size_t len)
{
    struct MHD_Response *r = m->create_response_from_buffer(
        len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    m->add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    m->add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = m->queue_response(c, status, r);
    m->destroy_response(r);
    return ret;
}

static enum MHD_Result reply_buf(const struct lf_mhd *m, struct MHD_Connection *c, unsigned status,
                                 const char *type, struct lf_buf *b)
{
    size_t len;
    char *body = lf_buf_take(b, &len);
    return reply(m, c, status, type, body, len);
}

static enum MHD_Result serve_healthz(struct lf_http *h, struct MHD_Connection *c, struct lf_buf *b)
{
    int64_t last = lf_obs_heartbeat(h->obs);
    int64_t age = last ? lf_mono_ms() - last : -1;
    bool ok = last && age <= LF_HTTP_HEALTH_MAX_AGE_MS;
    if (ok) {
        lf_buf_printf(b, "ok: main loop alive %lld ms ago\n", (long long)age);
    } else if (last) {
        lf_buf_printf(b, "unhealthy: main loop stuck in one turn for %lld ms (limit %d ms)\n",
                      (long long)age, LF_HTTP_HEALTH_MAX_AGE_MS);
    } else {
        lf_buf_append_str(b, "unhealthy: the main loop has not turned yet\n");
    }
    return reply_buf(&h->mhd, c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", b);
}

static bool wants_openmetrics(const struct lf_mhd *m, struct MHD_Connection *c)
{
    const char *accept = m->lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return accept && strstr(accept, "application/openmetrics-text");
}

static enum MHD_Result serve_snapshot(struct lf_http *h, struct MHD_Connection *c, const char *url,
                                      struct lf_buf *b)
{
    int64_t last;
    if (lf_obs_copy(h->obs, &h->snap, SNAPSHOT_MAX_AGE_MS, SNAPSHOT_WAIT_MS, &last) != LF_OK) {
        return reply(&h->mhd, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", NULL, 0);
    }
    int64_t age = last ? lf_mono_ms() - last : -1;
    h->snap.nrecent = lf_log_get_recent(h->snap.recent, LF_LOG_RECENT);
    if (strcmp(url, "/readyz") == 0) {
        bool ready = lf_render_ready(&h->snap, b);
        return reply_buf(&h->mhd, c, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                         "text/plain", b);
    }
    int rc;
    const char *type;
    if (strcmp(url, "/metrics") == 0) {
        struct lf_proc_stats p;
        struct lf_build_info bi = {.version = LF_VERSION, .microhttpd = h->microhttpd};
        bool om = wants_openmetrics(&h->mhd, c);
        lf_proc_read(&p);
        rc = lf_render_metrics(&h->snap, &p, &bi, om, b);
        type = om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                  : "text/plain; version=0.0.4; charset=utf-8";
    } else {
        const char *fmt = h->mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
        bool text = fmt && strcmp(fmt, "text") == 0;
        rc = text ? lf_render_status_text(&h->snap, age, b)
                  : lf_render_status_json(&h->snap, age, b);
        type = text ? "text/plain; charset=utf-8" : "application/json";
    }
    if (rc != LF_OK) {
        return reply(&h->mhd, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", NULL, 0);
    }
    return reply_buf(&h->mhd, c, MHD_HTTP_OK, type, b);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **ctx)
{
    struct lf_http *h = cls;
    struct lf_buf b;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        return reply(&h->mhd, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", NULL, 0);
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a GET body: ignored */
        return MHD_YES;
    }
    lf_buf_init(&b, 64u << 20);
    enum MHD_Result r;
    if (strcmp(url, "/healthz") == 0) {
        r = serve_healthz(h, c, &b);
    } else if (!strcmp(url, "/metrics") || !strcmp(url, "/readyz") || !strcmp(url, "/status")) {
        r = serve_snapshot(h, c, url, &b);
    } else {
        lf_buf_append_str(&b, "not found: try /metrics /healthz /readyz /status\n");
        r = reply_buf(&h->mhd, c, MHD_HTTP_NOT_FOUND, "text/plain", &b);
    }
    lf_buf_fini(&b);
    return r;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    const struct lf_http *h = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    if (n && msg[n - 1] == '\n') {
        msg[n - 1] = '\0';
    }
    lf_log_debug(h->log, "http: %s", msg);
}

/* Binds and listens on a unix socket (a stale socket file is replaced); -1 on error. */
static int unix_listen(struct lf_http *h, const struct sockaddr_un *un)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    struct stat st;
    if (lstat(un->sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(un->sun_path);
    }
    if (bind(fd, (const struct sockaddr *)un, sizeof(*un)) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    snprintf(h->unix_path, sizeof(h->unix_path), "%s", un->sun_path);
    return fd;
}

static struct MHD_Daemon *start_daemon(struct lf_http *h, unsigned flags,
                                       const struct sockaddr_storage *sa, int lfd)
{
    if (lfd >= 0) {
        return h->mhd.start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET,
                                   lfd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
                                   MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_END);
    }
    return h->mhd.start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, sa,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
                               MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_END);
}

int lf_http_start(const struct lf_http_conf *conf, struct lf_obs *obs, const struct lf_log_ctx *log,
                  struct lf_http **out)
{
    struct sockaddr_storage sa;
    unsigned salen;
    char err[512];
    if (lf_http_parse_listen(conf->listen, conf->allow_remote, &sa, &salen, err, sizeof(err)) !=
        LF_OK) {
        lf_log_error(log, "%s", err);
        return LF_ECONFIG;
    }
    struct lf_http *h = calloc(1, sizeof(*h));
    if (!h) {
        return LF_ENOMEM;
    }
    h->obs = obs;
    h->log = log;
    lf_snapshot_init(&h->snap);
    if (lf_mhd_load(&h->mhd, err, sizeof(err)) != LF_OK) {
        lf_log_error(log, "http: %s", err);
        lf_http_stop(h);
        return LF_ENOTFOUND;
    }
    snprintf(h->microhttpd, sizeof(h->microhttpd), "%s", h->mhd.get_version());
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                     (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    int lfd = sa.ss_family == AF_UNIX ? unix_listen(h, (struct sockaddr_un *)&sa) : -1;
    if (sa.ss_family != AF_UNIX || lfd >= 0) {
        h->d = start_daemon(h, flags, &sa, lfd);
    }
    if (!h->d) {
        if (lfd >= 0) {
            close(lfd);
        }
        lf_log_errno(LF_LOG_ERROR, log, "http: cannot listen on %s", conf->listen);
        lf_http_stop(h);
        return LF_EIO;
    }
    lf_log_info(log, "http: listening on %s (/metrics /healthz /readyz /status)", conf->listen);
    *out = h;
    return LF_OK;
}

void lf_http_stop(struct lf_http *h)
{
    if (!h) {
        return;
    }
    if (h->d) {
        h->mhd.stop_daemon(h->d); /* closes a unix listen socket too */
    }
    if (h->unix_path[0]) {
        unlink(h->unix_path);
    }
    lf_snapshot_fini(&h->snap);
    free(h);
}
