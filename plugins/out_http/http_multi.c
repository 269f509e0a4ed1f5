/* http_multi.c - drives the HTTP output's curl multi handle from the worker thread.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to time out
 * (CURLMOPT_TIMERFUNCTION); both go into one epoll fd, with a timerfd for the timeouts
 * and the open batch's linger. That epoll fd is the instance's wake fd: the core polls it
 * and calls service(), which runs curl_multi_socket_action() for what is ready. Nothing
 * here blocks. Connections stay in the multi handle's cache (keep-alive, reuse).
 * Finished transfers are handed to http_response_ack().
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define HTTP_RESP_MAX   (64u << 20) /* a _bulk answer of 100k items with errors is ~30 MiB */
#define HTTP_EPOLL_MAX  64
#define HTTP_USER_AGENT "logferry-http/1"

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct http_state *st = userp;
    struct epoll_event ev = {.data.fd = s};

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(st->epfd, EPOLL_CTL_DEL, s, NULL); /* may already be closed: ignore */
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (socketp == NULL) {
        if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
            epoll_ctl(st->epfd, EPOLL_CTL_MOD, s, &ev);
        }
        curl_multi_assign(st->multi, s, st);
    } else {
        epoll_ctl(st->epfd, EPOLL_CTL_MOD, s, &ev);
    }
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_state *st = userp;

    (void)multi;
    st->curl_deadline = timeout_ms < 0 ? -1 : http_now_ms() + timeout_ms;
    http_multi_arm(st);
    return 0;
}

void http_multi_arm(struct http_state *st)
{
    int64_t deadline = st->curl_deadline;
    struct itimerspec its;

    memset(&its, 0, sizeof(its));
    if (st->open && st->open->n > 0) {
        int64_t linger_end = st->open->opened + st->cfg->linger_ms;
        deadline = deadline < 0 || linger_end < deadline ? linger_end : deadline;
    }
    if (deadline >= 0) {
        int64_t rel = deadline - http_now_ms();
        if (rel <= 0) {
            its.it_value.tv_nsec = 1; /* now: makes the epoll fd readable at once */
        } else {
            its.it_value.tv_sec = rel / 1000;
            its.it_value.tv_nsec = (rel % 1000) * 1000000;
        }
    }
    timerfd_settime(st->timer_fd, 0, &its, NULL);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_req *req = userp;
    size_t n = size * nmemb;

    if (req->resp.len + n > HTTP_RESP_MAX) {
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR, retried */
    }
    http_buf_append(&req->resp, data, n);
    return req->resp.oom ? 0 : n;
}

static void setup_tls(struct http_state *st, CURL *e)
{
    const struct http_config *cfg = st->cfg;

    if (cfg->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    }
    if (cfg->cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file);
    }
    if (cfg->key_password) {
        curl_easy_setopt(e, CURLOPT_KEYPASSWD, cfg->key_password);
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->tls_insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->tls_insecure ? 0L : 2L);
}

/* The options every request of this output shares; set once per slot. */
static int setup_easy(struct http_state *st, struct http_req *req)
{
    const struct http_config *cfg = st->cfg;
    CURL *e = curl_easy_init();

    if (e == NULL) {
        return LF_ENOMEM;
    }
    req->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, st->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, req);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* gzip/deflate answers if offered */
    curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cfg->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, st->basic_password);
    }
    setup_tls(st, e);
    return LF_OK;
}

int http_multi_init(struct http_state *st)
{
    struct epoll_event ev = {.events = EPOLLIN};

    st->curl_deadline = -1;
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    st->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (st->epfd < 0 || st->timer_fd < 0) {
        lf_log_errno(LF_LOG_ERROR, lf_out_log_ctx(st->ins), "epoll/timerfd");
        return LF_EIO;
    }
    ev.data.fd = st->timer_fd;
    if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->timer_fd, &ev) != 0) {
        return LF_EIO;
    }
    st->multi = curl_multi_init();
    if (st->multi == NULL) {
        return LF_ENOMEM;
    }
    curl_multi_setopt(st->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(st->multi, CURLMOPT_SOCKETDATA, st);
    curl_multi_setopt(st->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(st->multi, CURLMOPT_TIMERDATA, st);
    curl_multi_setopt(st->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)st->cfg->max_in_flight);
    curl_multi_setopt(st->multi, CURLMOPT_MAXCONNECTS, (long)st->cfg->max_in_flight);
    for (size_t i = 0; i < st->n_reqs; i++) {
        int rc = setup_easy(st, &st->reqs[i]);
        if (rc != LF_OK) {
            return rc;
        }
    }
    return LF_OK;
}

void http_multi_fini(struct http_state *st)
{
    for (size_t i = 0; i < st->n_reqs; i++) {
        if (st->reqs[i].active) {
            http_multi_abort(st, &st->reqs[i]);
        }
        if (st->reqs[i].easy) {
            curl_easy_cleanup(st->reqs[i].easy);
            st->reqs[i].easy = NULL;
        }
    }
    if (st->multi) {
        curl_multi_cleanup(st->multi);
        st->multi = NULL;
    }
    if (st->timer_fd >= 0) {
        close(st->timer_fd);
    }
    if (st->epfd >= 0) {
        close(st->epfd);
    }
    st->timer_fd = st->epfd = -1;
}

int http_multi_start(struct http_state *st, struct http_req *req)
{
    const struct http_buf *b = st->cfg->compression == HTTP_COMP_GZIP ? &req->gz : &req->body;
    CURL *e = req->easy;

    http_buf_reset(&req->resp);
    req->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->p);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->slist);
    if (curl_multi_add_handle(st->multi, e) != CURLM_OK) {
        return LF_EBROKER;
    }
    req->active = true;
    st->active++;
    st->requests++;
    return LF_OK;
}

void http_multi_abort(struct http_state *st, struct http_req *req)
{
    curl_multi_remove_handle(st->multi, req->easy);
    req->active = false;
    st->active--;
}

static void read_done(struct http_state *st)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(st->multi, &left)) != NULL) {
        char *priv = NULL;
        long status = 0;
        CURLcode rc;
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        struct http_req *req = (struct http_req *)(void *)priv;
        http_multi_abort(st, req); /* done: only leaves the multi handle */
        http_response_ack(st, req, rc, status);
    }
}

void http_multi_service(struct http_state *st)
{
    struct epoll_event evs[HTTP_EPOLL_MAX];
    int running = 0;
    int n = epoll_wait(st->epfd, evs, HTTP_EPOLL_MAX, 0);

    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == st->timer_fd) {
            uint64_t ticks;
            ssize_t r = read(st->timer_fd, &ticks, sizeof(ticks));
            (void)r; /* EAGAIN when already drained: nothing to do */
            continue;
        }
        int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                   (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(st->multi, fd, mask, &running);
    }
    if (st->curl_deadline >= 0 && http_now_ms() >= st->curl_deadline) {
        st->curl_deadline = -1;
        curl_multi_socket_action(st->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    read_done(st);
}
