/* rmq_fakecore.c - drives out_rabbitmq.so the way the core does, for plugin tests.
 *
 * Loads the plugin with dlopen, fills its config struct directly (not through YAML),
 * and plays the core's part: one worker thread calling submit() with backpressure,
 * an ack queue, re-offering LF_RETRY records (as the core's retry would), flush and
 * destroy. It provides the lf_out_* / lf_template_* symbols the plugin needs (linked
 * with --export-dynamic). Prints one summary line; exit 0 when every record got its
 * expected outcome and no record was acked twice. It is a test tool, not the core.
 *
 *   rmq-fakecore --plugin SO --url URL --exchange X [--count N] [--rate PER_S]
 *                [--routing-key TPL] [--types request,error] [--queue Q --delays 1s,2s]
 *                [--deadline-ms MS] [--max-in-flight N] [--backoff-ms MS]
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <logferry/lf_plugin.h>

#include "rabbitmq.h" /* the plugin's config struct, filled here instead of by lf_conf */

struct lf_out_instance {
    struct lf_log_ctx log;
    int wake_fd;
    atomic_bool ready;
    atomic_bool stopping;
    pthread_mutex_t lock;
    struct lf_record **acked; /* ack queue, applied by the main loop */
    enum lf_outcome *outcome;
    size_t n_acked, cap;
};

struct lf_template {
    char *src;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lf_log_write(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    char line[2048];
    int n;
    va_list ap;

    if (ctx && lvl > ctx->level) {
        return;
    }
    n = snprintf(line, sizeof(line), "%lld %s %s ", (long long)now_ms(), names[lvl],
                 ctx ? ctx->prefix : "[fakecore]");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    if (write(2, line, (size_t)n) < 0) {
        return;
    }
}

void lf_log_errno(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    int e = errno;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lf_log_write(lvl, ctx, "%s: %s", msg, strerror(e));
}

const char *lf_record_type_name(enum lf_record_type type)
{
    static const char *names[] = {"raw", "request", "error", "query"};
    return (unsigned)type < LF_TYPE_COUNT ? names[type] : "raw";
}

long lf_record_field(const struct lf_record *rec, const char *name, char *buf, size_t cap)
{
    const char *v = NULL;

    if (strcmp(name, "type") == 0) {
        v = lf_record_type_name(rec->type);
    } else if (strcmp(name, "id") == 0) {
        v = rec->id;
    } else if (strcmp(name, "service.name") == 0) {
        v = "fakesvc";
    }
    if (v == NULL) {
        return LF_ENOTFOUND;
    }
    snprintf(buf, cap, "%s", v);
    return (long)strlen(v);
}

int lf_template_compile(const char *src, struct lf_template **out, char *err, size_t errlen)
{
    const char *p = src;

    while ((p = strstr(p, "{{")) != NULL) {
        if (strstr(p, "}}") == NULL) {
            snprintf(err, errlen, "unclosed {{ in '%s'", src);
            return LF_EINVAL;
        }
        p += 2;
    }
    *out = calloc(1, sizeof(**out));
    if (*out == NULL || ((*out)->src = strdup(src)) == NULL) {
        free(*out);
        return LF_ENOMEM;
    }
    return LF_OK;
}

size_t lf_template_render(const struct lf_template *t, const struct lf_record *rec, char *buf,
                          size_t cap)
{
    size_t len = 0;
    const char *p = t->src;

    while (*p) {
        const char *open = strstr(p, "{{");
        size_t lit = open ? (size_t)(open - p) : strlen(p);
        for (size_t i = 0; i < lit; i++, len++) {
            if (len + 1 < cap) {
                buf[len] = p[i];
            }
        }
        if (open == NULL) {
            break;
        }
        const char *close = strstr(open, "}}");
        char name[128], val[256];
        snprintf(name, sizeof(name), "%.*s", (int)(close - open - 2), open + 2);
        long vl = lf_record_field(rec, name, val, sizeof(val));
        for (long i = 0; i < vl && i < (long)sizeof(val) - 1; i++, len++) {
            if (len + 1 < cap) {
                buf[len] = val[i];
            }
        }
        p = close + 2;
    }
    if (cap > 0) {
        buf[len < cap ? len : cap - 1] = '\0';
    }
    return len;
}

int lf_template_is_constant(const struct lf_template *t)
{
    return strstr(t->src, "{{") == NULL;
}

void lf_template_destroy(struct lf_template *t)
{
    if (t) {
        free(t->src);
        free(t);
    }
}

void lf_out_ack(struct lf_out_instance *ins, struct lf_record *rec, enum lf_outcome outcome,
                const char *reason)
{
    uint64_t one = 1;

    if (outcome == LF_REJECTED && reason) {
        lf_log_write(LF_LOG_DEBUG, &ins->log, "rejected %s: %s", rec->id, reason);
    }
    pthread_mutex_lock(&ins->lock);
    if (ins->n_acked == ins->cap) {
        ins->cap = ins->cap ? ins->cap * 2 : 4096;
        ins->acked = realloc(ins->acked, ins->cap * sizeof(*ins->acked));
        ins->outcome = realloc(ins->outcome, ins->cap * sizeof(*ins->outcome));
    }
    ins->acked[ins->n_acked] = rec;
    ins->outcome[ins->n_acked++] = outcome;
    pthread_mutex_unlock(&ins->lock);
    if (write(ins->wake_fd, &one, sizeof(one)) < 0) {
        return;
    }
}

void lf_out_ack_many(struct lf_out_instance *ins, struct lf_record *const *recs, size_t n,
                     enum lf_outcome outcome)
{
    for (size_t i = 0; i < n; i++) {
        lf_out_ack(ins, recs[i], outcome, NULL);
    }
}

void lf_out_ack_error(struct lf_out_instance *ins, struct lf_record *rec, enum lf_outcome outcome,
                      const struct lf_out_error *e)
{
    lf_out_ack(ins, rec, outcome, e && outcome != LF_DELIVERED ? e->reason : NULL);
}

void lf_out_set_dead_letter(struct lf_out_instance *ins, bool enabled)
{
    (void)ins;
    (void)enabled;
}

const char *lf_out_dead_letter_suffix(const struct lf_out_instance *ins)
{
    (void)ins;
    return NULL;
}

void lf_out_set_wake_fd(struct lf_out_instance *ins, int fd)
{
    (void)ins;
    (void)fd;
}

void lf_out_set_ready(struct lf_out_instance *ins, bool ready)
{
    if (atomic_exchange(&ins->ready, ready) != ready) {
        lf_log_write(LF_LOG_INFO, &ins->log, "ready=%d", ready ? 1 : 0);
    }
}

void lf_out_wake(struct lf_out_instance *ins)
{
    uint64_t one = 1;

    if (write(ins->wake_fd, &one, sizeof(one)) < 0) {
        return;
    }
}

const char *lf_out_name(const struct lf_out_instance *ins)
{
    (void)ins;
    return "r";
}

const char *lf_out_agent_name(const struct lf_out_instance *ins)
{
    (void)ins;
    return "fakecore";
}

const char *lf_out_state_dir(const struct lf_out_instance *ins)
{
    (void)ins;
    return "/tmp";
}

const struct lf_log_ctx *lf_out_log_ctx(const struct lf_out_instance *ins)
{
    return &ins->log;
}

bool lf_out_is_stopping(const struct lf_out_instance *ins)
{
    return atomic_load(&((struct lf_out_instance *)ins)->stopping);
}

/* Record bookkeeping: state 0 = ready to offer, 1 = with the plugin, 2 = settled. */
struct fake_rec {
    struct lf_record rec;
    char payload[256];
    int state;
    enum lf_outcome final;
};

static struct lf_list parse_delays(const char *s)
{
    struct lf_list l = {0};
    char *copy = strdup(s), *save = NULL;

    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        l.num = realloc(l.num, (l.n + 1) * sizeof(*l.num));
        l.num[l.n++] = (int64_t)(strtod(t, NULL) * 1000);
    }
    free(copy);
    return l;
}

int main(int argc, char **argv)
{
    const char *plugin = NULL, *types = "request";
    struct rmq_config cfg = {0};
    size_t count = 1000, delivered = 0, rejected = 0, retries = 0, double_acks = 0;
    double rate = 0;
    int64_t deadline_ms = 60000;
    struct lf_out_instance ins = {.log = {"[output:rabbitmq:r]", LF_LOG_INFO}};
    static const struct option lopts[] = {{"plugin", required_argument, 0, 'p'},
                                          {"url", required_argument, 0, 'u'},
                                          {"exchange", required_argument, 0, 'x'},
                                          {"count", required_argument, 0, 'n'},
                                          {"rate", required_argument, 0, 'r'},
                                          {"routing-key", required_argument, 0, 'k'},
                                          {"types", required_argument, 0, 't'},
                                          {"queue", required_argument, 0, 'q'},
                                          {"delays", required_argument, 0, 'd'},
                                          {"deadline-ms", required_argument, 0, 'D'},
                                          {"max-in-flight", required_argument, 0, 'm'},
                                          {"backoff-ms", required_argument, 0, 'b'},
                                          {"debug", no_argument, 0, 'v'},
                                          {0, 0, 0, 0}};
    int c;

    cfg.exchange_type = 2; /* topic */
    cfg.exchange_durable = cfg.exchange_declare = cfg.persistent = cfg.mandatory = true;
    cfg.verify_peer = cfg.verify_hostname = true;
    cfg.heartbeat_ms = 30000;
    cfg.frame_max = 131072;
    cfg.connect_timeout_ms = 5000;
    cfg.max_in_flight = 2048;
    cfg.reconnect_backoff_ms = 200;
    cfg.reconnect_max_backoff_ms = 2000;
    cfg.routing_key = "{{type}}";
    cfg.topology.binding_key = "#";
    while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            plugin = optarg;
            break;
        case 'u':
            cfg.url = optarg;
            break;
        case 'x':
            cfg.exchange = optarg;
            break;
        case 'n':
            count = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            rate = strtod(optarg, NULL);
            break;
        case 'k':
            cfg.routing_key = optarg;
            break;
        case 't':
            types = optarg;
            break;
        case 'q':
            cfg.topology.declare = true;
            cfg.topology.queue = optarg;
            break;
        case 'd':
            cfg.topology.retry_delays = parse_delays(optarg);
            break;
        case 'D':
            deadline_ms = strtoll(optarg, NULL, 10);
            break;
        case 'm':
            cfg.max_in_flight = strtoll(optarg, NULL, 10);
            break;
        case 'b':
            cfg.reconnect_backoff_ms = strtoll(optarg, NULL, 10);
            break;
        case 'v':
            ins.log.level = LF_LOG_DEBUG;
            break;
        default:
            return 64;
        }
    }
    if (plugin == NULL || cfg.url == NULL || cfg.exchange == NULL) {
        fprintf(stderr, "usage: see the head of rmq_fakecore.c\n");
        return 64;
    }

    void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    lf_output_plugin_entry_fn *entry;
    void *sym = dlsym(h, LF_OUTPUT_PLUGIN_ENTRY);
    memcpy(&entry, &sym, sizeof(entry)); /* POSIX: dlsym returns functions as void * */
    const struct lf_output_plugin *pl = entry();
    if (pl->abi_version != LF_PLUGIN_ABI_VERSION || pl->config_size != sizeof(cfg)) {
        fprintf(stderr, "plugin ABI or config size mismatch\n");
        return 1;
    }
    pthread_mutex_init(&ins.lock, NULL);
    ins.wake_fd = eventfd(0, EFD_NONBLOCK);
    if (pl->validate(&ins, &cfg) != LF_OK) {
        return 78;
    }

    struct fake_rec *recs = calloc(count, sizeof(*recs));
    struct lf_record **offer = calloc(count, sizeof(*offer));
    bool alt = strchr(types, ',') != NULL;
    for (size_t i = 0; i < count; i++) {
        struct lf_record *r = &recs[i].rec;
        r->type = alt && (i % 2) ? LF_TYPE_ERROR : LF_TYPE_REQUEST;
        snprintf(r->id, sizeof(r->id), "%016llx%016zx", 0x1f2e3d4c5b6a7988ULL, i);
        r->timestamp_ms = 1700000000000LL + (int64_t)i;
        int n = snprintf(recs[i].payload, sizeof(recs[i].payload),
                         "{\"@timestamp\":\"2023-11-14T22:13:20Z\",\"type\":\"%s\",\"id\":\"%s\","
                         "\"message\":\"GET /orders/%zu 200\",\"log.offset\":%zu}",
                         lf_record_type_name(r->type), r->id, i, i * 100);
        r->payload = recs[i].payload;
        r->payload_len = (size_t)n;
    }

    void *state = NULL;
    if (pl->init(&ins, &cfg, &state) != LF_OK) {
        fprintf(stderr, "init failed\n");
        return 1;
    }
    int64_t start = now_ms(), end = start + deadline_ms;
    size_t next = 0, settled = 0, offered_total = 0;
    /* Ready-to-offer list: first pass in order, then RETRYs appended (the core's retry). */
    size_t retry_head = 0, retry_len = 0;
    struct lf_record **retry_q = calloc(count, sizeof(*retry_q));
    while (settled < count && now_ms() < end) {
        size_t n = 0;
        size_t allowed = count;
        if (rate > 0) {
            allowed = (size_t)((double)(now_ms() - start) * rate / 1000.0) + 1;
        }
        while (retry_len > 0 && n < 1024) {
            offer[n++] = retry_q[retry_head];
            retry_head = (retry_head + 1) % count;
            retry_len--;
        }
        size_t n_retry = n;
        while (next < count && next < allowed && n < 1024) {
            offer[n++] = &recs[next++].rec;
        }
        size_t acc = 0;
        if (n > 0) {
            pl->submit(state, offer, n, &acc);
        }
        for (size_t i = 0; i < acc; i++) {
            ((struct fake_rec *)offer[i])->state = 1;
        }
        offered_total += acc;
        /* Not accepted: fresh records are offered again in order, re-offered ones go
         * back to the head of the retry queue. */
        if (n > n_retry) {
            next -= n - (acc > n_retry ? acc : n_retry);
        }
        for (size_t i = n_retry; i > acc; i--) {
            retry_head = (retry_head + count - 1) % count;
            retry_q[retry_head] = offer[i - 1];
            retry_len++;
        }
        struct pollfd pfd = {.fd = ins.wake_fd, .events = POLLIN};
        if (acc < n || n == 0 || next == count) {
            poll(&pfd, 1, 100); /* backpressure or idle: the wake fd or the 100 ms tick */
        }
        uint64_t v;
        if (read(ins.wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
            break;
        }
        pthread_mutex_lock(&ins.lock);
        for (size_t i = 0; i < ins.n_acked; i++) {
            struct fake_rec *fr = (struct fake_rec *)ins.acked[i];
            if (fr->state != 1) {
                double_acks++;
                continue;
            }
            switch (ins.outcome[i]) {
            case LF_DELIVERED:
                fr->state = 2;
                delivered++;
                settled++;
                break;
            case LF_REJECTED:
                fr->state = 2;
                rejected++;
                settled++;
                break;
            case LF_RETRY:
                fr->state = 0;
                fr->rec.attempts++;
                retries++;
                retry_q[(retry_head + retry_len) % count] = &fr->rec;
                retry_len++;
                break;
            }
        }
        ins.n_acked = 0;
        pthread_mutex_unlock(&ins.lock);
    }
    int64_t elapsed = now_ms() - start;
    atomic_store(&ins.stopping, true);
    pl->flush(state, 5000);
    pl->destroy(state);
    /* Acks sent by flush/destroy. */
    for (size_t i = 0; i < ins.n_acked; i++) {
        struct fake_rec *fr = (struct fake_rec *)ins.acked[i];
        if (fr->state != 1) {
            double_acks++;
        } else {
            fr->state = 0;
            retries += ins.outcome[i] == LF_RETRY;
        }
    }
    size_t unacked = 0;
    for (size_t i = 0; i < count; i++) {
        unacked += recs[i].state == 1;
    }
    printf("delivered=%zu rejected=%zu retries=%zu double_acks=%zu unacked=%zu offered=%zu "
           "elapsed_ms=%lld rate=%.0f\n",
           delivered, rejected, retries, double_acks, unacked, offered_total, (long long)elapsed,
           elapsed > 0 ? (double)(delivered + rejected) * 1000.0 / (double)elapsed : 0.0);
    fflush(stdout);
    free(retry_q);
    free(offer);
    free(recs);
    free(ins.acked);
    free(ins.outcome);
    free(cfg.topology.retry_delays.num); /* parse_delays; the core frees option values */
    close(ins.wake_fd);
    return settled == count && double_acks == 0 && unacked == 0 ? 0 : 1;
}
