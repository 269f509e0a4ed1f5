/* kafka_harness.c - a minimal stand-in for the core, to drive out_kafka.so in-process.
 *
 * Provides the symbols a plugin resolves against the executable (lf_out_*, lf_log_*,
 * lf_template_*, lf_record_type_name), loads the plugin with dlopen, and runs its worker
 * loop: submit, wait on the wake fd (or a 100 ms tick, or, once the plugin called
 * lf_out_service_in, only the time it asked for, as the core does), service. Acks are counted per
 * record; LF_RETRY records are offered again, as the core would. Also spawns mock-kafka and
 * reads topics back with kcat. Test code only: single-threaded, no core library.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kafka_harness.h"

extern char **environ;

/* ---- the plugin-facing API ---------------------------------------------------------- */

struct lf_out_instance {
    struct harness *h;
};

static int log_level = LF_LOG_INFO;

void lf_log_write(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (ctx && ctx->prefix && ctx->level == LF_LOG_DEBUG + 1) {
        struct harness *h = (struct harness *)ctx->prefix;
        h_note_log(h, lvl, line);
    }
    if ((int)lvl <= log_level) {
        fprintf(stderr, "[kafka-test] %s\n", line);
    }
}

void lf_log_errno(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt, ...)
{
    char line[1024];
    int e = errno;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    lf_log_write(lvl, ctx, "%s: %s", line, strerror(e));
}

void lf_out_ack(struct lf_out_instance *ins, struct lf_record *rec, enum lf_outcome outcome,
                const char *reason)
{
    h_on_ack(ins->h, rec, outcome, reason);
}

void lf_out_ack_many(struct lf_out_instance *ins, struct lf_record *const *recs, size_t n,
                     enum lf_outcome outcome)
{
    for (size_t i = 0; i < n; i++) {
        h_on_ack(ins->h, recs[i], outcome, NULL);
    }
}

void lf_out_ack_error(struct lf_out_instance *ins, struct lf_record *rec, enum lf_outcome outcome,
                      const struct lf_out_error *e)
{
    h_on_ack(ins->h, rec, outcome, e && outcome != LF_DELIVERED ? e->reason : NULL);
}

void lf_out_set_dead_letter(struct lf_out_instance *ins, bool enabled)
{}

const char *lf_out_dead_letter_suffix(const struct lf_out_instance *ins)
{
    return NULL; /* the harness offers no dead letters */
}

void lf_out_set_wake_fd(struct lf_out_instance *ins, int fd)
{
    ins->h->wake_fd = fd;
}

void lf_out_set_ready(struct lf_out_instance *ins, bool ready)
{
    ins->h->ready = ready;
}

void lf_out_wake(struct lf_out_instance *ins)
{}

void lf_out_service_in(struct lf_out_instance *ins, int ms)
{
    ins->h->adaptive = true;
    if (ms >= 0 && h_now_ms() + ms < ins->h->svc_at) {
        ins->h->svc_at = h_now_ms() + ms;
    }
}

const char *lf_out_name(const struct lf_out_instance *ins)
{
    return "k";
}

const char *lf_out_agent_name(const struct lf_out_instance *ins)
{
    return "kafka-test";
}

const char *lf_out_state_dir(const struct lf_out_instance *ins)
{
    return "/tmp";
}

const struct lf_log_ctx *lf_out_log_ctx(const struct lf_out_instance *ins)
{
    return &ins->h->log_ctx;
}

bool lf_out_is_stopping(const struct lf_out_instance *ins)
{
    return ins->h->stopping;
}

const char *lf_record_type_name(enum lf_record_type type)
{
    static const char *const names[] = {"raw", "request", "error", "query"};
    return (unsigned)type < LF_TYPE_COUNT ? names[type] : "raw";
}

/* Templates: literal text and {{field}}; fields are read from the flat JSON payload. */
struct lf_template {
    char *src;
};

int lf_template_compile(const char *src, struct lf_template **out, char *err, size_t errlen)
{
    const char *p = src;

    while ((p = strstr(p, "{{"))) {
        if (!strstr(p, "}}")) {
            snprintf(err, errlen, "unclosed {{");
            return LF_EINVAL;
        }
        p += 2;
    }
    *out = calloc(1, sizeof(**out));
    (*out)->src = strdup(src);
    return LF_OK;
}

long lf_record_field(const struct lf_record *rec, const char *name, char *buf, size_t cap)
{
    char pat[256];
    const char *v, *end;
    size_t n;

    if (strcmp(name, "type") == 0) {
        n = (size_t)snprintf(buf, cap, "%s", lf_record_type_name(rec->type));
        return (long)n;
    }
    snprintf(pat, sizeof(pat), "\"%s\":\"", name);
    v = strstr(rec->payload, pat);
    if (!v) {
        return LF_ENOTFOUND;
    }
    v += strlen(pat);
    end = strchr(v, '"');
    n = (size_t)(end - v);
    snprintf(buf, cap, "%.*s", (int)n, v);
    return (long)n;
}

size_t lf_template_render(const struct lf_template *t, const struct lf_record *rec, char *buf,
                          size_t cap)
{
    size_t len = 0;
    char val[1024];

    for (const char *p = t->src; *p;) {
        if (p[0] == '{' && p[1] == '{') {
            const char *end = strstr(p, "}}");
            char name[256];
            snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
            long n = lf_record_field(rec, name, val, sizeof(val));
            for (long i = 0; n > 0 && i < n; i++) {
                if (len + 1 < cap) {
                    buf[len] = val[i];
                }
                len++;
            }
            p = end + 2;
        } else {
            if (len + 1 < cap) {
                buf[len] = *p;
            }
            len++;
            p++;
        }
    }
    if (cap) {
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

/* ---- harness ---------------------------------------------------------------------------- */

int64_t h_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_note_log(struct harness *h, enum lf_log_level lvl, const char *line)
{
    if (lvl <= LF_LOG_ERROR) {
        size_t n = strnlen(line, sizeof(h->last_error) - 1);
        memcpy(h->last_error, line, n);
        h->last_error[n] = '\0';
        h->errors_logged++;
    }
}

void h_on_ack(struct harness *h, struct lf_record *rec, enum lf_outcome outcome, const char *reason)
{
    struct h_rec *r = (struct h_rec *)rec;

    if (!r->in_flight) {
        h->double_acks++;
        return;
    }
    r->in_flight = false;
    r->acks++;
    h->inflight--;
    switch (outcome) {
    case LF_DELIVERED:
        r->delivered = true;
        h->delivered++;
        break;
    case LF_REJECTED:
        r->rejected = true;
        h->rejected++;
        snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
        break;
    case LF_RETRY:
        h->retried++;
        r->pending = true; /* offered again, as the core's retry would */
        h->pending++;
        break;
    }
}

struct harness *h_create(const char *so_path)
{
    struct harness *h = calloc(1, sizeof(*h));

    h->ins = calloc(1, sizeof(*h->ins));
    h->ins->h = h;
    h->wake_fd = -1;
    h->svc_at = INT64_MAX;
    /* Marker level so lf_log_write can find the harness (test-only trick). */
    h->log_ctx.prefix = (const char *)h;
    h->log_ctx.level = LF_LOG_DEBUG + 1;
    h->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!h->dl) {
        fprintf(stderr, "dlopen %s: %s\n", so_path, dlerror());
        return NULL;
    }
    lf_output_plugin_entry_fn *entry;
    *(void **)&entry = dlsym(h->dl, LF_OUTPUT_PLUGIN_ENTRY);
    h->plugin = entry ? entry() : NULL;
    return h;
}

void h_destroy(struct harness *h)
{
    if (!h) {
        return;
    }
    if (h->state) {
        h->plugin->destroy(h->state);
    }
    for (size_t i = 0; i < h->nrecs; i++) {
        free((char *)h->recs[i].rec.payload);
    }
    free(h->recs);
    free(h->queue);
    /* No dlclose, like the agent's plugin loader: librdkafka's threads may still be ending,
     * and leak reports need the plugin's code mapped to name their frames. */
    free(h->ins);
    free(h);
}

int h_validate(struct harness *h, const struct kafka_config *cfg)
{
    return h->plugin->validate(h->ins, cfg);
}

int h_init(struct harness *h, const struct kafka_config *cfg)
{
    return h->plugin->init(h->ins, cfg, &h->state);
}

/* Records must not move while in flight: reserve before adding in several steps. */
void h_reserve(struct harness *h, size_t cap)
{
    if (cap > h->cap) {
        h->recs = realloc(h->recs, cap * sizeof(*h->recs));
        h->queue = realloc(h->queue, cap * sizeof(*h->queue));
        h->cap = cap;
    }
}

void h_add_records(struct harness *h, size_t n, size_t (*make)(size_t i, struct lf_record *rec))
{
    if (h->nrecs + n > h->cap) {
        if (h->inflight) {
            fprintf(stderr, "h_add_records: would move records in flight\n");
            abort();
        }
        h_reserve(h, h->nrecs + n);
    }
    for (size_t i = 0; i < n; i++) {
        struct h_rec *r = &h->recs[h->nrecs + i];
        memset(r, 0, sizeof(*r));
        make(h->nrecs + i, &r->rec);
        r->pending = true;
    }
    h->pending += n;
    h->nrecs += n;
}

/* Offers pending records in order (a retried record goes again in its turn). */
static void offer(struct harness *h, size_t max_offer)
{
    size_t nq = 0, accepted = 0;

    if (!h->pending) {
        return;
    }
    for (size_t i = 0; i < h->nrecs && nq < max_offer; i++) {
        if (h->recs[i].pending) {
            h->queue[nq++] = &h->recs[i].rec;
        }
    }
    for (size_t i = 0; i < nq; i++) {
        struct h_rec *r = (struct h_rec *)h->queue[i];
        r->pending = false;
        r->in_flight = true;
        h->inflight++;
        h->pending--;
    }
    h->plugin->submit(h->state, h->queue, nq, &accepted);
    for (size_t i = accepted; i < nq; i++) { /* not taken: back to pending */
        struct h_rec *r = (struct h_rec *)h->queue[i];
        r->pending = true;
        r->in_flight = false;
        h->inflight--;
        h->pending++;
    }
    h->offered += accepted;
}

void h_run_until(struct harness *h, bool (*done)(struct harness *), int64_t timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    int64_t next_tick = h_now_ms() + 100;

    while (!done(h) && h_now_ms() < deadline) {
        struct pollfd pfd = {.fd = h->wake_fd, .events = POLLIN};
        /* records not taken are offered again every 100 ms, whatever the plugin asked; done()
         * is looked at every 100 ms too, but an adaptive plugin is served only when its fd
         * fires or at the time it asked for */
        int64_t due = h->adaptive && h->svc_at < next_tick ? h->svc_at : next_tick;
        int64_t wait = (due < deadline ? due : deadline) - h_now_ms();

        offer(h, 10000);
        if (wait < 0) {
            wait = 0;
        }
        bool fired = poll(&pfd, 1, (int)wait) > 0;
        int64_t now = h_now_ms();
        if (fired || (h->adaptive ? now >= h->svc_at : now >= next_tick)) {
            h->svc_at = INT64_MAX;
            h->plugin->service(h->state);
        }
        if (now >= next_tick) {
            next_tick = now + 100;
        }
    }
}

bool h_all_settled(struct harness *h)
{
    return h->pending == 0 && h->inflight == 0;
}

int h_flush(struct harness *h, int timeout_ms)
{
    h->stopping = true;
    return h->plugin->flush(h->state, timeout_ms);
}

/* ---- mock-kafka ------------------------------------------------------------------------ */

int mk_start(struct mock_kafka *mk, const char *const *args)
{
    int in[2], out[2];
    posix_spawn_file_actions_t fa;
    const char *argv[32];
    int argc = 0;
    const char *path = getenv("MOCK_KAFKA");

    if (!path) {
        path = "mock-kafka";
    }
    argv[argc++] = path;
    for (; args && *args && argc < 31; args++) {
        argv[argc++] = *args;
    }
    argv[argc] = NULL;
    if (pipe(in) != 0 || pipe(out) != 0) {
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    if (posix_spawnp(&mk->pid, path, &fa, NULL, (char *const *)argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    mk->ctl = fdopen(in[1], "w");
    mk->out = fdopen(out[0], "r");
    if (!fgets(mk->bootstraps, sizeof(mk->bootstraps), mk->out)) {
        return -1;
    }
    mk->bootstraps[strcspn(mk->bootstraps, "\n")] = '\0';
    return 0;
}

/* Sends one command and returns its answer line ("ok ..." / "error: ..."). */
const char *mk_cmd(struct mock_kafka *mk, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(mk->ctl, fmt, ap);
    va_end(ap);
    fputc('\n', mk->ctl);
    fflush(mk->ctl);
    if (!fgets(mk->answer, sizeof(mk->answer), mk->out)) {
        snprintf(mk->answer, sizeof(mk->answer), "error: mock-kafka gone");
    }
    mk->answer[strcspn(mk->answer, "\n")] = '\0';
    return mk->answer;
}

long mk_hwm(struct mock_kafka *mk, const char *topic)
{
    const char *a = mk_cmd(mk, "hwm %s", topic);
    return strncmp(a, "ok ", 3) == 0 ? strtol(a + 3, NULL, 10) : -1;
}

void mk_stop(struct mock_kafka *mk)
{
    int status;

    if (mk->pid > 0) {
        kill(mk->pid, SIGTERM);
        waitpid(mk->pid, &status, 0);
        mk->pid = 0;
    }
    if (mk->ctl) {
        fclose(mk->ctl);
    }
    if (mk->out) {
        fclose(mk->out);
    }
}

/* Reads a whole topic with kcat: one line per message, "partition\tkey\theaders\tvalue". */
long mk_wait_hwm(struct mock_kafka *mk, const char *topic, long want, int64_t timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    long hwm = -1;

    while (h_now_ms() < end) {
        hwm = mk_hwm(mk, topic);
        if (hwm >= want) {
            break;
        }
        usleep(100 * 1000); /* poll interval of a bounded wait, not a synchronisation */
    }
    return hwm;
}

FILE *kcat_read(struct mock_kafka *mk, const char *topic)
{
    char cmd[1024];
    const char *kcat = getenv("KCAT");

    snprintf(cmd, sizeof(cmd),
             "%s -C -b %s -t %s -o beginning -e -q -f '%%p\\t%%k\\t%%h\\t%%s\\n' 2>/dev/null",
             kcat ? kcat : "kcat", mk->bootstraps, topic);
    return popen(cmd, "r");
}
