/* lf_output.c - output instance worker thread, send queue and ack queue.
 *
 * Worker loop: take a batch from the send queue, offer it to submit(); wait on the
 * worker eventfd and the plugin's wake fd; call service() when the plugin fd fires or
 * its time comes. That time is a 100 ms tick for a plugin that never called
 * lf_out_service_in() (the original contract), otherwise the earliest time the plugin
 * asked for, or none: an idle worker of an adaptive plugin (or of one without service)
 * sleeps until woken. Taking fewer records than offered is backpressure: the rest is
 * offered again after the next wake-up, or after OUT_TICK_MS, never busy-looped.
 */
#include "lf_output.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lf_clock.h"
#include "lf_vec.h"
#include "logferry/lf_err.h"

#define OUT_BATCH   1024
#define OUT_TICK_MS 100
#define OUT_NEVER   INT64_MAX

/* ---- pointer ring --------------------------------------------------------------- */

/* Makes room for n more pointers. LF_OK or LF_ENOMEM (then the queue is unchanged). */
static int ptrq_reserve(struct lf_ptrq *q, size_t n)
{
    if (q->len + n <= q->cap) {
        return LF_OK;
    }
    size_t cap = q->cap ? q->cap * 2 : 256;
    while (cap < q->len + n) {
        cap *= 2;
    }
    void **v = malloc(cap * sizeof(*v));
    if (!v) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < q->len; i++) {
        v[i] = q->v[(q->head + i) % q->cap];
    }
    free(q->v);
    q->v = v;
    q->cap = cap;
    q->head = 0;
    return LF_OK;
}

/* Appends p; the caller reserved room. */
static void ptrq_push(struct lf_ptrq *q, void *p)
{
    q->v[(q->head + q->len) % q->cap] = p;
    q->len++;
}

static size_t ptrq_pop_many(struct lf_ptrq *q, void **out, size_t max)
{
    size_t n = 0;
    while (n < max && q->len) {
        out[n++] = q->v[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    return n;
}

static void efd_signal(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w; /* EAGAIN means the counter is already non-zero: the reader will wake */
}

static void efd_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
}

/* ---- plugin-facing API ------------------------------------------------------------ */

/* Called with ack_mu held after outcomes were queued: wakes the main thread once per
 * take, and while lazy only for an outcome other than "delivered" (a failure wants its
 * retry, spool or dead letter promptly); delivered ones wait for the loop to poll
 * lf_output_acks_waiting(). The eventfd is written under ack_mu so that ack_signalled
 * and the fd's state change together (take_acks drains it under the same lock). */
static void acks_queued(struct lf_out_instance *ins, enum lf_outcome outcome)
{
    __atomic_store_n(&ins->acks_waiting, true, __ATOMIC_RELEASE);
    if (ins->ack_signalled || (ins->ack_lazy && outcome == LF_DELIVERED)) {
        return;
    }
    ins->ack_signalled = true;
    efd_signal(ins->ack_efd);
}

/* Makes room for n more acks; called and returns with ack_mu held. An ack must never be
 * lost: without memory it waits (unlocked) and tries again. */
static void acks_reserve(struct lf_out_instance *ins, size_t n)
{
    while (lf_vec_reserve(&ins->acks, &ins->cap_acks, ins->nacks + n) != LF_OK) {
        pthread_mutex_unlock(&ins->ack_mu);
        usleep(1000);
        pthread_mutex_lock(&ins->ack_mu);
    }
}

void lf_out_ack(struct lf_out_instance *ins, struct lf_record *rec, enum lf_outcome outcome,
                const char *reason)
{
    char *r = reason ? strdup(reason) : NULL;
    pthread_mutex_lock(&ins->ack_mu);
    acks_reserve(ins, 1);
    ins->acks[ins->nacks++] = (struct lf_ack){.rec = rec, .outcome = outcome, .reason = r};
    acks_queued(ins, outcome);
    pthread_mutex_unlock(&ins->ack_mu);
}

void lf_out_ack_error(struct lf_out_instance *ins, struct lf_record *rec, enum lf_outcome outcome,
                      const struct lf_out_error *e)
{
    bool failed = outcome != LF_DELIVERED && e;
    char *r = failed && e->reason ? strdup(e->reason) : NULL;
    char *d = failed && e->destination ? strdup(e->destination) : NULL;
    pthread_mutex_lock(&ins->ack_mu);
    acks_reserve(ins, 1);
    ins->acks[ins->nacks++] = (struct lf_ack){.rec = rec,
                                              .outcome = outcome,
                                              .reason = r,
                                              .err = failed ? e->err : 0,
                                              .code = failed ? e->code : 0,
                                              .dest = d};
    acks_queued(ins, outcome);
    pthread_mutex_unlock(&ins->ack_mu);
}

void lf_out_ack_many(struct lf_out_instance *ins, struct lf_record *const *recs, size_t n,
                     enum lf_outcome outcome)
{
    if (n == 0) {
        return;
    }
    pthread_mutex_lock(&ins->ack_mu);
    acks_reserve(ins, n);
    for (size_t i = 0; i < n; i++) {
        ins->acks[ins->nacks++] = (struct lf_ack){.rec = recs[i], .outcome = outcome};
    }
    acks_queued(ins, outcome);
    pthread_mutex_unlock(&ins->ack_mu);
}

void lf_out_set_wake_fd(struct lf_out_instance *ins, int fd)
{
    ins->plugin_fd = fd;
}

void lf_out_set_ready(struct lf_out_instance *ins, bool ready)
{
    __atomic_store_n(&ins->ready, ready, __ATOMIC_RELAXED);
}

void lf_out_set_dead_letter(struct lf_out_instance *ins, bool enabled)
{
    /* without the callback there is nothing to offer them to */
    __atomic_store_n(&ins->dead_letter, enabled && ins->plugin->dead_letter, __ATOMIC_RELEASE);
}

const char *lf_out_dead_letter_suffix(const struct lf_out_instance *ins)
{
    const char *s = ins->conf->dead_letter.topic_suffix;
    return s && s[0] ? s : NULL;
}

void lf_out_wake(struct lf_out_instance *ins)
{
    __atomic_store_n(&ins->wake_req, true, __ATOMIC_RELEASE);
    efd_signal(ins->worker_efd);
}

void lf_out_service_in(struct lf_out_instance *ins, int ms)
{
    ins->svc_adaptive = true;
    if (ms >= 0 && lf_mono_ms() + ms < ins->svc_at_ms) {
        ins->svc_at_ms = lf_mono_ms() + ms;
    }
}

const char *lf_out_name(const struct lf_out_instance *ins)
{
    return ins->conf->name;
}

const char *lf_out_agent_name(const struct lf_out_instance *ins)
{
    return ins->agent_name;
}

const char *lf_out_state_dir(const struct lf_out_instance *ins)
{
    return ins->state_dir;
}

const struct lf_log_ctx *lf_out_log_ctx(const struct lf_out_instance *ins)
{
    return &ins->log;
}

bool lf_out_is_stopping(const struct lf_out_instance *ins)
{
    return __atomic_load_n(&ins->stopping_flag, __ATOMIC_RELAXED);
}

/* ---- worker ----------------------------------------------------------------------- */

struct worker_batch {
    struct lf_record *recs[OUT_BATCH];
    size_t n, off;
};

static void worker_return_unsent(struct lf_out_instance *o, struct worker_batch *b,
                                 const char *reason);

/* The breaker opened: everything not yet inside the plugin goes back as LF_RETRY, and the
 * plugin hands back what its client still holds. */
static void worker_purge(struct lf_out_instance *o, struct worker_batch *b)
{
    worker_return_unsent(o, b, "given back when the breaker opened");
    if (o->plugin->purge) {
        o->plugin->purge(o->state);
    }
}

static bool worker_fill(struct lf_out_instance *o, struct worker_batch *b, bool *stop)
{
    pthread_mutex_lock(&o->mu);
    if (o->purge_req && !o->stop) {
        o->purge_req = false;
        pthread_mutex_unlock(&o->mu);
        worker_purge(o, b);
        pthread_mutex_lock(&o->mu);
    }
    if (b->off == b->n) {
        b->n = ptrq_pop_many(&o->sendq, (void **)b->recs, OUT_BATCH);
        b->off = 0;
    }
    *stop = o->stop;
    pthread_mutex_unlock(&o->mu);
    return b->off < b->n;
}

/* Offers the next run of the batch: ordinary records to submit(), dead letters (with
 * rec->dead_letter, pushed only when the plugin declared it stores them) to dead_letter(). */
static void worker_submit(struct lf_out_instance *o, struct worker_batch *b)
{
    size_t accepted = 0, run = 0;
    bool dead = b->recs[b->off]->dead_letter != NULL;
    while (b->off + run < b->n && (b->recs[b->off + run]->dead_letter != NULL) == dead) {
        run++;
    }
    int rc;
    if (dead && o->plugin->dead_letter) {
        rc = o->plugin->dead_letter(o->state, b->recs + b->off, run, &accepted);
    } else if (dead) {
        for (; accepted < run; accepted++) {
            lf_out_ack(o, b->recs[b->off + accepted], LF_REJECTED, "no dead-letter destination");
        }
        rc = LF_OK;
    } else {
        rc = o->plugin->submit(o->state, b->recs + b->off, run, &accepted);
    }
    if (accepted > run) {
        accepted = run; /* a buggy plugin must not make us read past the batch */
    }
    b->off += accepted;
    if (rc != LF_OK && rc != LF_EAGAIN) {
        lf_log_warn(&o->log, "submit: %s", lf_strerror(rc));
    }
}

/* Waits for work until due_ms at the latest (OUT_NEVER: no timeout). Returns true if
 * service() should run now: the plugin's fd fired, or lf_out_wake() was called for an
 * adaptive plugin (a push of records wakes the worker too, but is not news for it). */
static bool worker_wait(struct lf_out_instance *o, int64_t due_ms)
{
    struct pollfd pfd[2] = {{.fd = o->worker_efd, .events = POLLIN},
                            {.fd = o->plugin_fd, .events = POLLIN}};
    int64_t now = lf_mono_ms();
    int timeout = due_ms == OUT_NEVER ? -1 : due_ms > now ? (int)(due_ms - now) : 0;
    int n = poll(pfd, o->plugin_fd >= 0 ? 2 : 1, timeout);
    if (n > 0 && (pfd[0].revents & POLLIN)) {
        efd_drain(o->worker_efd);
    }
    bool woken = __atomic_exchange_n(&o->wake_req, false, __ATOMIC_ACQ_REL);
    return (n > 0 && o->plugin_fd >= 0 && (pfd[1].revents & POLLIN)) || (woken && o->svc_adaptive);
}

/* When the worker must run without a wake-up: unsent records are offered again after
 * OUT_TICK_MS; service() is due at the plugin's tick, or (adaptive) when it asked. */
static int64_t worker_due(const struct lf_out_instance *o, const struct worker_batch *b,
                          int64_t next_tick)
{
    int64_t due = b->off < b->n ? lf_mono_ms() + OUT_TICK_MS : OUT_NEVER;
    int64_t svc = !o->plugin->service ? OUT_NEVER : o->svc_adaptive ? o->svc_at_ms : next_tick;
    return svc < due ? svc : due;
}

/* Calls service() (a no-op without one); an adaptive plugin asks again from inside it. */
static void worker_service(struct lf_out_instance *o)
{
    o->svc_at_ms = OUT_NEVER;
    if (o->plugin->service) {
        o->plugin->service(o->state);
    }
}

/* The rest of a batch the plugin never took, and the send queue, are handed back as
 * retriable so the core knows they were not delivered. */
static void worker_return_unsent(struct lf_out_instance *o, struct worker_batch *b,
                                 const char *reason)
{
    for (; b->off < b->n; b->off++) {
        lf_out_ack(o, b->recs[b->off], LF_RETRY, reason);
    }
    struct lf_record *rest[OUT_BATCH];
    size_t n;
    do {
        pthread_mutex_lock(&o->mu);
        n = ptrq_pop_many(&o->sendq, (void **)rest, OUT_BATCH);
        pthread_mutex_unlock(&o->mu);
        for (size_t i = 0; i < n; i++) {
            lf_out_ack(o, rest[i], LF_RETRY, reason);
        }
    } while (n > 0);
}

/* "out:NAME" in ps, top and /proc/PID/task/TID/comm (cut to 15 bytes). */
static void worker_name(const struct lf_out_instance *o)
{
    char name[16];
    snprintf(name, sizeof(name), "out:%s", o->conf->name);
    pthread_setname_np(pthread_self(), name);
}

static void *worker_main(void *arg)
{
    struct lf_out_instance *o = arg;
    worker_name(o);
    int rc = o->plugin->init(o, o->conf->plugin_config, &o->state);
    pthread_mutex_lock(&o->mu);
    o->init_rc = rc;
    o->init_done = true;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->mu);
    if (rc != LF_OK) {
        return NULL;
    }
    struct worker_batch *b = calloc(1, sizeof(*b));
    bool stop = false;
    int64_t next_tick = lf_mono_ms() + OUT_TICK_MS;
    while (b) {
        bool have = worker_fill(o, b, &stop);
        if (stop) {
            break;
        }
        size_t before = b->off;
        if (have) {
            worker_submit(o, b);
        }
        bool progressed = b->off > before;
        bool fd_ready = worker_wait(o, progressed ? 0 : worker_due(o, b, next_tick));
        int64_t now = lf_mono_ms();
        bool svc_due = o->svc_adaptive ? now >= o->svc_at_ms : now >= next_tick;
        if (fd_ready || svc_due) {
            worker_service(o);
        }
        if (now >= next_tick) {
            next_tick = now + OUT_TICK_MS;
        }
    }
    if (b) {
        o->plugin->flush(o->state, o->flush_timeout_ms);
        worker_return_unsent(o, b, "not sent before shutdown");
        free(b);
    }
    o->plugin->destroy(o->state);
    o->state = NULL;
    return NULL;
}

/* ---- main-thread API -------------------------------------------------------------- */

static void instance_free(struct lf_out_instance *o)
{
    if (!o) {
        return;
    }
    if (o->worker_efd >= 0) {
        close(o->worker_efd);
    }
    if (o->ack_efd >= 0) {
        close(o->ack_efd);
    }
    for (size_t i = 0; i < o->nacks; i++) {
        free(o->acks[i].reason);
        free(o->acks[i].dest);
    }
    free(o->acks);
    free(o->sendq.v);
    pthread_mutex_destroy(&o->mu);
    pthread_mutex_destroy(&o->ack_mu);
    pthread_cond_destroy(&o->cond);
    free(o);
}

static struct lf_out_instance *instance_new(const struct lf_output_conf *conf,
                                            const char *agent_name, const char *state_dir,
                                            enum lf_log_level level)
{
    struct lf_out_instance *o = calloc(1, sizeof(*o));
    if (!o) {
        return NULL;
    }
    o->conf = conf;
    o->plugin = conf->handle.desc;
    o->agent_name = agent_name;
    o->state_dir = state_dir;
    snprintf(o->prefix, sizeof(o->prefix), "[output:%s:%s]", o->plugin->name, conf->name);
    o->log.prefix = o->prefix;
    o->log.level = level;
    o->plugin_fd = -1;
    o->svc_at_ms = OUT_NEVER;
    pthread_mutex_init(&o->mu, NULL);
    pthread_mutex_init(&o->ack_mu, NULL);
    pthread_cond_init(&o->cond, NULL);
    o->worker_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    o->ack_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (o->worker_efd < 0 || o->ack_efd < 0) {
        instance_free(o);
        return NULL;
    }
    return o;
}

int lf_output_validate(const struct lf_output_conf *conf, const char *agent_name,
                       const char *state_dir)
{
    const char *sfx = conf->dead_letter.topic_suffix;
    bool no_topic = sfx && sfx[0] && !conf->handle.desc->dead_letter;
    if (!conf->handle.desc->validate && !no_topic) {
        return LF_OK;
    }
    struct lf_out_instance *o = instance_new(conf, agent_name, state_dir, LF_LOG_INFO);
    if (!o) {
        return LF_ENOMEM;
    }
    if (no_topic) {
        lf_log_warn(&o->log,
                    "dead_letter.topic_suffix is ignored: the %s plugin has no dead-letter "
                    "topic; its dead letters go to %s/dead-letter/%s.jsonl",
                    conf->plugin, state_dir, conf->name);
    }
    int rc =
        conf->handle.desc->validate ? conf->handle.desc->validate(o, conf->plugin_config) : LF_OK;
    instance_free(o);
    return rc;
}

int lf_output_start(const struct lf_output_conf *conf, int index, const char *agent_name,
                    const char *state_dir, enum lf_log_level level, struct lf_out_instance **out)
{
    struct lf_out_instance *o = instance_new(conf, agent_name, state_dir, level);
    if (!o) {
        return LF_ENOMEM;
    }
    o->index = index;
    if (pthread_create(&o->thread, NULL, worker_main, o) != 0) {
        instance_free(o);
        return LF_ENOMEM;
    }
    o->thread_started = true;
    pthread_mutex_lock(&o->mu);
    while (!o->init_done) {
        pthread_cond_wait(&o->cond, &o->mu);
    }
    int rc = o->init_rc;
    pthread_mutex_unlock(&o->mu);
    if (rc != LF_OK) {
        pthread_join(o->thread, NULL);
        instance_free(o);
        return rc;
    }
    *out = o;
    return LF_OK;
}

int lf_output_push(struct lf_out_instance *o, struct lf_record *const *recs, size_t n)
{
    pthread_mutex_lock(&o->mu);
    bool was_empty = o->sendq.len == 0;
    int rc = ptrq_reserve(&o->sendq, n);
    for (size_t i = 0; i < n && rc == LF_OK; i++) {
        ptrq_push(&o->sendq, recs[i]);
    }
    pthread_mutex_unlock(&o->mu);
    if (was_empty && n && rc == LF_OK) {
        efd_signal(o->worker_efd);
    }
    return rc;
}

bool lf_output_has_dead_letter(const struct lf_out_instance *o)
{
    return __atomic_load_n(&o->dead_letter, __ATOMIC_ACQUIRE);
}

size_t lf_output_take_acks(struct lf_out_instance *o, struct lf_ack **acks)
{
    pthread_mutex_lock(&o->ack_mu);
    if (o->ack_signalled) {
        efd_drain(o->ack_efd);
        o->ack_signalled = false;
    }
    __atomic_store_n(&o->acks_waiting, false, __ATOMIC_RELAXED);
    size_t n = o->nacks;
    *acks = o->acks;
    o->acks = NULL;
    o->nacks = 0;
    o->cap_acks = 0;
    pthread_mutex_unlock(&o->ack_mu);
    return n;
}

void lf_output_set_ack_lazy(struct lf_out_instance *o, bool lazy)
{
    if (__atomic_load_n(&o->ack_lazy, __ATOMIC_RELAXED) == lazy) {
        return; /* only the main thread writes it */
    }
    pthread_mutex_lock(&o->ack_mu);
    __atomic_store_n(&o->ack_lazy, lazy, __ATOMIC_RELAXED);
    if (!lazy && o->nacks > 0 && !o->ack_signalled) {
        o->ack_signalled = true; /* outcomes queued while lazy: the loop must see them */
        efd_signal(o->ack_efd);
    }
    pthread_mutex_unlock(&o->ack_mu);
}

bool lf_output_acks_waiting(const struct lf_out_instance *o)
{
    return __atomic_load_n(&o->acks_waiting, __ATOMIC_ACQUIRE);
}

size_t lf_output_queued(struct lf_out_instance *o)
{
    pthread_mutex_lock(&o->mu);
    size_t n = o->sendq.len;
    pthread_mutex_unlock(&o->mu);
    return n;
}

void lf_output_purge(struct lf_out_instance *o)
{
    pthread_mutex_lock(&o->mu);
    o->purge_req = true;
    pthread_mutex_unlock(&o->mu);
    efd_signal(o->worker_efd);
}

void lf_output_stop(struct lf_out_instance *o, int timeout_ms)
{
    if (!o || !o->thread_started) {
        return;
    }
    __atomic_store_n(&o->stopping_flag, true, __ATOMIC_RELAXED);
    pthread_mutex_lock(&o->mu);
    o->stop = true;
    o->flush_timeout_ms = timeout_ms;
    pthread_mutex_unlock(&o->mu);
    efd_signal(o->worker_efd);
    pthread_join(o->thread, NULL);
    o->thread_started = false;
}

void lf_output_destroy(struct lf_out_instance *o)
{
    if (o && o->thread_started) {
        lf_output_stop(o, 0);
    }
    instance_free(o);
}
