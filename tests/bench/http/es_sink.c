/* es_sink.c - lf-bench-es-sink: a fast local _bulk endpoint for the http output benchmark.
 *
 *   lf-bench-es-sink PORT_FILE
 *
 * Listens on 127.0.0.1 (a port the kernel picks, written to PORT_FILE), speaks HTTP/1.1
 * with keep-alive on one epoll thread, and answers POST .../_bulk as Elasticsearch does
 * for a successful request: {"took":0,"errors":false,"items":[{ACTION:{"_index","_id",
 * "_version","result","status"}}...]}, one item per action line, in order. Documents are
 * not parsed (tests/integration/http/es_server.py is the faithful server); _ids are kept in
 * a hash set so GET /_test/stats can report {"docs": distinct _id, "index_ops",
 * "requests"} like es_server.py. No gzip, no TLS. A benchmark tool, not shipped.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ID_LEN 32

struct idset {
    char (*ids)[ID_LEN]; /* empty slot: first byte 0 */
    size_t cap, n;
};

struct conn {
    int fd;
    char *in;
    size_t in_len, in_cap;
    size_t need, head_len; /* of the request being read: 0 until its headers are in */
    char *out;
    size_t out_len, out_cap, out_off;
};

struct sink {
    struct idset set;
    uint64_t index_ops, requests;
};

static uint64_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < ID_LEN; i++) {
        h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
    }
    return h;
}

static void idset_grow(struct idset *s);

/* Adds id (ID_LEN chars); returns its version: 1 if new, 2 if it was known. */
static int idset_add(struct idset *s, const char *id)
{
    if (s->n * 2 >= s->cap) {
        idset_grow(s);
    }
    for (size_t i = id_hash(id) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->ids[i][0] == 0) {
            memcpy(s->ids[i], id, ID_LEN);
            s->n++;
            return 1;
        }
        if (memcmp(s->ids[i], id, ID_LEN) == 0) {
            return 2;
        }
    }
}

static void idset_grow(struct idset *s)
{
    struct idset old = *s;
    s->cap = old.cap ? old.cap * 2 : 1 << 16;
    s->ids = calloc(s->cap, ID_LEN);
    s->n = 0;
    if (s->ids == NULL) {
        abort(); /* a benchmark tool: out of memory ends the run */
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (old.ids[i][0]) {
            idset_add(s, old.ids[i]);
        }
    }
    free(old.ids);
}

static void out_append(struct conn *c, const char *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = realloc(c->out, c->out_cap);
        if (c->out == NULL) {
            abort();
        }
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* The text of "key":"VALUE" in [p, end), or NULL. */
static const char *str_field(const char *p, const char *end, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (const char *q = p; q + kl < end; q++) {
        q = memchr(q, '"', (size_t)(end - q));
        if (q == NULL || q + kl >= end) {
            return NULL;
        }
        if (memcmp(q, key, kl) == 0) {
            const char *v = q + kl;
            const char *e = memchr(v, '"', (size_t)(end - v));
            *len = e ? (size_t)(e - v) : 0;
            return e ? v : NULL;
        }
    }
    return NULL;
}

/* Builds the _bulk answer for body into c->out (after the headers, added by the caller). */
static void bulk(struct sink *s, const char *body, size_t len, struct conn *c)
{
    const char *p = body, *end = body + len;
    bool first = true;

    out_append(c, "{\"took\":0,\"errors\":false,\"items\":[", 34);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t idl = 0, ixl = 0;
        const char *id = str_field(p, le, "\"_id\":\"", &idl);
        const char *ix = str_field(p, le, "\"_index\":\"", &ixl);
        bool create = le - p > 3 && memcmp(p, "{\"c", 3) == 0;
        int v = id && idl == ID_LEN ? idset_add(&s->set, id) : 1;
        /* memcpy, not snprintf: this loop is the endpoint's hot path */
        out_append(c, first ? "{\"" : ",{\"", first ? 2 : 3);
        out_append(c, create ? "create" : "index", create ? 6 : 5);
        out_append(c, "\":{\"_index\":\"", 13);
        out_append(c, ix ? ix : "", ixl);
        out_append(c, "\",\"_id\":\"", 9);
        out_append(c, id ? id : "", idl);
        if (v == 1) {
            out_append(c, "\",\"_version\":1,\"result\":\"created\",\"status\":201}}", 48);
        } else {
            out_append(c, "\",\"_version\":2,\"result\":\"updated\",\"status\":200}}", 48);
        }
        first = false;
        s->index_ops++;
        p = le + 1; /* skip the action line */
        nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        p = nl ? nl + 1 : end; /* skip the document */
    }
    out_append(c, "]}", 2);
}

/* Answers one complete request (headers at c->in, body after them). */
static void answer(struct sink *s, struct conn *c, const char *head, const char *body,
                   size_t body_len)
{
    static const char status[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ";
    static const char blank[] = "          \r\n\r\n"; /* the length is patched in */
    char hdr[160];
    size_t start = c->out_len;
    int n;

    s->requests++;
    out_append(c, status, sizeof(status) - 1);
    out_append(c, blank, sizeof(blank) - 1);
    size_t body_at = c->out_len;
    if (strncmp(head, "GET /_test/stats", 16) == 0) {
        n = snprintf(hdr, sizeof(hdr), "{\"docs\":%zu,\"index_ops\":%llu,\"requests\":%llu}",
                     s->set.n, (unsigned long long)s->index_ops, (unsigned long long)s->requests);
        out_append(c, hdr, (size_t)n);
    } else if (strncmp(head, "POST ", 5) == 0 && strstr(head, "/_bulk") != NULL) {
        bulk(s, body, body_len, c);
    } else {
        out_append(c, "{}", 2);
    }
    n = snprintf(hdr, sizeof(hdr), "%zu", c->out_len - body_at);
    memcpy(c->out + start + sizeof(status) - 1, hdr, (size_t)n);
}

/* Serves every complete request in c->in. Headers are looked for only at the start of a
 * request and once: a body arrives in many reads and must not be rescanned each time. */
static bool serve(struct sink *s, struct conn *c)
{
    for (;;) {
        if (c->need == 0) {
            size_t look = c->in_len < 16384 ? c->in_len : 16384;
            char *eoh = memmem(c->in, look, "\r\n\r\n", 4);
            if (eoh == NULL) {
                return look < 16384; /* headers over 16 KiB: malformed */
            }
            size_t bl = 0;
            c->head_len = (size_t)(eoh - c->in) + 4;
            *eoh = '\0';
            for (char *p = c->in; (p = strchr(p, '\n')) != NULL; p++) {
                if (strncasecmp(p + 1, "Content-Length:", 15) == 0) {
                    bl = strtoul(p + 16, NULL, 10);
                }
            }
            c->need = c->head_len + bl;
        }
        if (c->in_len < c->need) {
            return true; /* body incomplete */
        }
        answer(s, c, c->in, c->in + c->head_len, c->need - c->head_len);
        memmove(c->in, c->in + c->need, c->in_len - c->need);
        c->in_len -= c->need;
        c->need = 0;
    }
}

static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

/* Reads what is there, serves it, writes what can be written. False: close. */
static bool on_ready(struct sink *s, struct conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 65536) {
            c->in_cap = c->in_cap * 2 + 65536;
            c->in = realloc(c->in, c->in_cap);
            if (c->in == NULL) {
                abort();
            }
        }
        ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
        if (r == 0) {
            return false;
        }
        if (r < 0) {
            if (errno != EAGAIN) {
                return false;
            }
            break;
        }
        c->in_len += (size_t)r;
    }
    if (!serve(s, c)) {
        return false;
    }
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) {
            if (errno == EAGAIN) {
                break; /* EPOLLOUT brings us back */
            }
            return false;
        }
        c->out_off += (size_t)w;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    return true;
}

static int listen_loopback(const char *port_file)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    char tmp[4096];
    FILE *f;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        perror("lf-bench-es-sink: listen");
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    return rename(tmp, port_file) == 0 ? fd : -1;
}

int main(int argc, char **argv)
{
    struct sink s = {0};
    struct epoll_event ev = {.events = EPOLLIN}, evs[64];
    int lfd, ep;

    if (argc != 2) {
        fputs("usage: lf-bench-es-sink PORT_FILE\n", stderr);
        return 2;
    }
    lfd = listen_loopback(argv[1]);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
        return 1;
    }
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct conn *c = fd >= 0 ? calloc(1, sizeof(*c)) : NULL;
                if (c == NULL) {
                    continue;
                }
                c->fd = fd;
                struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
            } else if (!on_ready(&s, evs[i].data.ptr)) {
                conn_close(ep, evs[i].data.ptr);
            }
        }
    }
}
