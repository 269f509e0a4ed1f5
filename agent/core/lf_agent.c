/* lf_agent.c - the main loop: read, parse, route, track acks, retry, checkpoint, drain.
 *
 * One thread (the caller of lf_agent_run) owns all of this state. It waits in epoll on
 * a signalfd (TERM, INT, HUP), a timerfd tick (retries, multi-line deadlines, checkpoint
 * interval, safety poll), an inotify fd (appends) and one eventfd per output (acks).
 * Reading stops while the records held in memory exceed agent.memory_limit: the reader
 * simply does not read, and the log files are the buffer.
 */
#include "lf_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "lf_acktrack.h"
#include "lf_agent_int.h"
#include "lf_ckpt.h"
#include "lf_clock.h"
#include "lf_dlq.h"
#include "lf_fsutil.h"
#include "lf_output.h"
#include "lf_rec.h"
#include "lf_recid.h"
#include "logferry/lf_err.h"
#include "tail.h"

/* ---- records ---------------------------------------------------------------------- */

static void release_record(void *ctx, struct lf_rec *r)
{
    struct lf_agent *a = ctx;
    a->live_bytes -= r->mem;
    free(r);
}

int agent_batch_add(struct out_slot *s, struct lf_rec *r)
{
    if (s->nbatch == s->cap_batch) {
        size_t cap = s->cap_batch ? s->cap_batch * 2 : 256;
        struct lf_record **b = realloc(s->batch, cap * sizeof(*b));
        if (!b) {
            return LF_ENOMEM;
        }
        s->batch = b;
        s->cap_batch = cap;
    }
    s->batch[s->nbatch++] = &r->pub;
    return LF_OK;
}

static int route_record(struct lf_agent *a, struct lf_rec *r)
{
    for (size_t o = 0; o < a->nouts; o++) {
        if ((r->route_mask & (1u << o)) && flow_route(a, o, r) != LF_OK) {
            return LF_ENOMEM;
        }
    }
    return LF_OK;
}

/* End of a turn: hands this turn's records to the outputs, spills to the spools. */
static void push_batches(struct lf_agent *a)
{
    int64_t now = lf_mono_ms();
    for (size_t o = 0; o < a->nouts; o++) {
        struct out_slot *s = &a->outs[o];
        if (s->nbatch) {
            flow_pushed(a, o, s->nbatch, now);
            if (lf_output_push(s->ins, s->batch, s->nbatch) != LF_OK) {
                lf_log_error(&a->log, "out of memory queueing records for %s", s->conf->name);
            }
        }
        s->nbatch = 0;
        flow_commit(a, o, false);
    }
}

/* The tail's emit callback: parse, encode, make the record, route it. */
static int on_record(void *ctx, struct lf_tail_file *f, const char *text, size_t len,
                     uint64_t start, uint64_t end, unsigned flags)
{
    struct lf_agent *a = ctx;
    struct input_slot *in = &a->ins[f->tail->index];
    char id[LF_RECORD_ID_HEX];
    lf_record_make_id(&f->id, start, id);
    struct lf_event_meta meta = {
        .host_name = a->host,
        .path = f->path,
        .input = f->tail->conf->name,
        .id_hex = id,
        .offset = start,
        .read_time_ms = a->turn_wall_ms, /* one clock read per turn, not per record */
        .fields = &f->tail->conf->fields,
        .flags = (flags & LF_ML_TRUNCATED) ? LF_META_TRUNCATED : 0,
    };
    enum lf_record_type type = (enum lf_record_type)f->tail->conf->type;
    int64_t ts = meta.read_time_ms;
    lf_buf_reset(&a->enc);
    int rc = lf_parser_encode(in->parser, &meta, text, len, &a->enc, &type, &ts);
    a->stats.records_read++;
    if (rc < 0) {
        return rc;
    }
    unsigned mask = type < LF_TYPE_COUNT ? in->route_by_type[type] : 0;
    if (rc == LF_PARSE_DROP || mask == 0) {
        a->stats.records_filtered++;
        return lf_track_skip(&f->track, end);
    }
    size_t mem = sizeof(struct lf_rec) + a->enc.len + 1;
    struct lf_rec *r = malloc(mem);
    if (!r) {
        return LF_ENOMEM;
    }
    memset(r, 0, sizeof(*r));
    memcpy(r->payload, a->enc.data, a->enc.len + 1);
    r->pub.payload = r->payload;
    r->pub.payload_len = a->enc.len;
    r->pub.type = type;
    memcpy(r->pub.id, id, sizeof(id));
    r->pub.source = f->path;
    r->pub.input = f->tail->conf->name;
    r->pub.timestamp_ms = ts;
    r->file = &f->track;
    r->start_offset = start;
    r->end_offset = end;
    r->route_mask = mask;
    r->mem = mem;
    a->live_bytes += mem;
    lf_track_push(&f->track, r);
    return route_record(a, r);
}

/* ---- acks, retries, dead letters ---------------------------------------------------- */

void agent_finish_for_output(struct lf_agent *a, struct lf_rec *r, size_t o)
{
    (void)a;
    r->done_mask |= 1u << o;
    rec_tail_file(r)->ckpt_dirty = true;
}

static int64_t backoff_ms(const struct lf_retry_conf *rc, uint32_t attempts)
{
    int64_t wait = rc->backoff_ms;
    for (uint32_t i = 1; i < attempts && wait < rc->max_backoff_ms; i++) {
        wait *= rc->multiplier;
    }
    return wait < rc->max_backoff_ms ? wait : rc->max_backoff_ms;
}

bool agent_dead_letter(struct lf_agent *a, size_t o, struct lf_rec *r, const char *reason)
{
    struct out_slot *s = &a->outs[o];
    if (s->dlq.fd < 0 && lf_dlq_open(a->cfg->agent.state_dir, s->conf->name, &s->dlq) != LF_OK) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "cannot open the dead-letter file of %s",
                     s->conf->name);
        return false; /* not acknowledged: the record stays and is re-read after restart */
    }
    if (lf_dlq_write(&s->dlq, &r->pub, reason) != LF_OK) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "cannot write dead letter to %s", s->dlq.path);
        return false;
    }
    lf_log_warn(&a->log, "output %s: record %s dead-lettered: %s", s->conf->name, r->pub.id,
                reason ? reason : "rejected");
    a->stats.records_dead_lettered++;
    return true;
}

void agent_schedule_retry(struct lf_agent *a, size_t o, struct lf_rec *r)
{
    struct out_slot *s = &a->outs[o];
    const struct lf_retry_conf *rc = &s->conf->retry;
    r->pub.attempts++;
    if (rc->attempts > 0 && r->pub.attempts >= (uint32_t)rc->attempts) {
        if (agent_dead_letter(a, o, r, "retries exhausted")) {
            agent_finish_for_output(a, r, o);
        }
        return;
    }
    if (s->nretries == s->cap_retries) {
        size_t cap = s->cap_retries ? s->cap_retries * 2 : 64;
        struct retry_item *v = realloc(s->retries, cap * sizeof(*v));
        if (!v) {
            return; /* stays unacknowledged; re-read after restart */
        }
        s->retries = v;
        s->cap_retries = cap;
    }
    s->retries[s->nretries++] =
        (struct retry_item){.rec = r, .due_ms = lf_mono_ms() + backoff_ms(rc, r->pub.attempts)};
    a->stats.records_retried++;
}

static void advance_all(struct lf_agent *a)
{
    for (size_t i = 0; i < a->nins; i++) {
        struct lf_tail *t = a->ins[i].tail;
        for (size_t k = 0; k < t->nfiles; k++) {
            lf_track_advance(&t->files[k]->track, release_record, a);
        }
    }
}

static void take_acks(struct lf_agent *a, size_t o)
{
    struct lf_ack *acks;
    struct rec_list spool_done = {0};
    size_t n = lf_output_take_acks(a->outs[o].ins, &acks);
    int64_t now = lf_mono_ms(); /* once per batch of outcomes */
    for (size_t i = 0; i < n; i++) {
        flow_on_ack(a, o, &acks[i], now, &spool_done);
    }
    /* Dead letters must be durable before checkpoints or the spool can pass them. */
    if (a->outs[o].dlq.fd >= 0 && lf_dlq_sync(&a->outs[o].dlq) != LF_OK) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "fsync of %s", a->outs[o].dlq.path);
    }
    flow_spool_done(a, o, &spool_done);
    free(spool_done.v);
    flow_drain(a, o);
    for (size_t i = 0; i < n; i++) {
        free(acks[i].reason);
    }
    free(acks);
    if (n) {
        advance_all(a);
    }
}

static void resend_due_retries(struct lf_agent *a, int64_t now)
{
    for (size_t o = 0; o < a->nouts; o++) {
        struct out_slot *s = &a->outs[o];
        size_t keep = 0;
        for (size_t i = 0; i < s->nretries; i++) {
            if (s->retries[i].due_ms <= now && !a->stopping &&
                agent_batch_add(s, s->retries[i].rec) == LF_OK) {
                continue;
            } else {
                s->retries[keep++] = s->retries[i];
            }
        }
        s->nretries = keep;
    }
    push_batches(a);
}

/* ---- checkpoints ------------------------------------------------------------------ */

static void save_checkpoints(struct lf_agent *a)
{
    for (size_t i = 0; i < a->nins; i++) {
        struct lf_tail *t = a->ins[i].tail;
        lf_tail_checkpoint(t);
    }
    if (lf_ckpt_save(a->ckpt) != LF_OK) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "cannot write checkpoints to %s", a->ckpt->file);
    }
}

/* ---- loop ------------------------------------------------------------------------- */

static bool any_pending(struct lf_agent *a)
{
    for (size_t i = 0; i < a->nins; i++) {
        struct lf_tail *t = a->ins[i].tail;
        for (size_t k = 0; k < t->nfiles; k++) {
            if (t->files[k]->track.pending) {
                return true;
            }
        }
    }
    return false;
}

static void begin_shutdown(struct lf_agent *a)
{
    if (a->stopping) {
        return;
    }
    a->stopping = true;
    a->stop_deadline_ms = lf_mono_ms() + a->cfg->agent.shutdown_timeout_ms;
    lf_log_info(&a->log,
                "shutting down: reading stopped, waiting up to %lld ms for %zu bytes "
                "of records in flight",
                (long long)a->cfg->agent.shutdown_timeout_ms, a->live_bytes);
    for (size_t i = 0; i < a->nins; i++) {
        lf_tail_flush_pending(a->ins[i].tail, 0, true);
    }
    push_batches(a);
}

static void handle_signal(struct lf_agent *a)
{
    struct signalfd_siginfo si;
    while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            lf_log_warn(&a->log, "SIGHUP: configuration reload is not supported yet; ignored");
            continue;
        }
        a->stop_requests++;
        begin_shutdown(a);
    }
}

static void handle_inotify(struct lf_agent *a)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(a->inofd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            for (size_t i = 0; i < a->nins; i++) {
                lf_tail_on_inotify(a->ins[i].tail, ev);
            }
            p += sizeof(*ev) + ev->len;
        }
    }
}

static void handle_tick(struct lf_agent *a)
{
    uint64_t expirations;
    ssize_t r = read(a->timerfd, &expirations, sizeof(expirations));
    (void)r;
    int64_t now = lf_mono_ms();
    resend_due_retries(a, now);
    for (size_t i = 0; i < a->nins && !a->stopping; i++) {
        lf_tail_tick(a->ins[i].tail, now);
    }
    push_batches(a);
    for (size_t o = 0; o < a->nouts; o++) {
        flow_tick(a, o, now);
    }
    advance_all(a);
    if (now >= a->next_ckpt_ms) {
        save_checkpoints(a);
        a->next_ckpt_ms = now + a->cfg->agent.checkpoint_interval_ms;
    }
}

static bool read_inputs(struct lf_agent *a)
{
    bool more_any = false;
    if (a->stopping) {
        return false;
    }
    if (a->live_bytes >= a->cfg->agent.memory_limit) {
        a->paused = true;
        return false;
    }
    if (a->paused && a->live_bytes > a->cfg->agent.memory_limit / 4 * 3) {
        return false; /* resume below 75% so pauses are not one record long */
    }
    a->paused = false;
    unsigned blocked = 0;
    for (size_t o = 0; o < a->nouts; o++) {
        blocked |= flow_blocked(a, o) ? 1u << o : 0;
    }
    for (size_t i = 0; i < a->nins; i++) {
        bool more = false;
        if (a->ins[i].route_any & blocked) {
            continue; /* buffer.when_full: block - the log file is the buffer */
        }
        int rc = lf_tail_read(a->ins[i].tail, READ_BUDGET / a->nins + 1, &more);
        if (rc != LF_OK) {
            lf_log_error(&a->log, "input %s: %s", a->ins[i].tail->conf->name, lf_strerror(rc));
        }
        more_any = more_any || more;
    }
    push_batches(a);
    return more_any;
}

static void dispatch(struct lf_agent *a, struct epoll_event *ev)
{
    uint32_t tag = ev->data.u32;
    if (tag == EV_SIGNAL) {
        handle_signal(a);
    } else if (tag == EV_TIMER) {
        handle_tick(a);
    } else if (tag == EV_INOTIFY) {
        handle_inotify(a);
    } else if (tag == EV_STOP) {
        uint64_t v;
        ssize_t r = read(a->stop_efd, &v, sizeof(v));
        (void)r;
        begin_shutdown(a);
    } else if (tag >= EV_OUTPUT_BASE && tag - EV_OUTPUT_BASE < a->nouts) {
        take_acks(a, tag - EV_OUTPUT_BASE);
    }
}

static void drain_outputs(struct lf_agent *a)
{
    int64_t left = a->stop_deadline_ms - lf_mono_ms();
    int flush_ms = left > 1000 ? (int)left : 1000;
    for (size_t o = 0; o < a->nouts; o++) {
        lf_output_stop(a->outs[o].ins, flush_ms);
        take_acks(a, o);
        flow_shutdown(a, o);
    }
}

int lf_agent_run(struct lf_agent *a)
{
    bool more = true;
    while (true) {
        if (a->stopping && (!any_pending(a) || lf_mono_ms() >= a->stop_deadline_ms)) {
            break;
        }
        if (a->stop_requests >= 2) {
            lf_log_warn(&a->log, "second signal: exiting now; unacknowledged records will be "
                                 "read again after restart");
            save_checkpoints(a);
            return LF_EXIT_FORCED;
        }
        struct epoll_event evs[16];
        int n = epoll_wait(a->epfd, evs, 16, more && !a->paused && !a->stopping ? 0 : TICK_MS);
        if (n < 0 && errno != EINTR) {
            lf_log_errno(LF_LOG_ERROR, &a->log, "epoll_wait");
            break;
        }
        a->turn_wall_ms = lf_wall_ms();
        for (int i = 0; i < n; i++) {
            dispatch(a, &evs[i]);
        }
        more = read_inputs(a) || (more && a->paused);
    }
    drain_outputs(a);
    advance_all(a);
    save_checkpoints(a);
    lf_log_info(
        &a->log,
        "stopped: %llu records read, %llu deliveries, %llu retries, %llu "
        "dead-lettered, %llu spooled, %llu drained from spools, breakers opened %llu "
        "time(s)",
        (unsigned long long)a->stats.records_read, (unsigned long long)a->stats.records_delivered,
        (unsigned long long)a->stats.records_retried,
        (unsigned long long)a->stats.records_dead_lettered,
        (unsigned long long)a->stats.records_spooled, (unsigned long long)a->stats.records_drained,
        (unsigned long long)a->stats.breaker_opens);
    return LF_EXIT_OK;
}

void lf_agent_stop(struct lf_agent *a)
{
    uint64_t one = 1;
    ssize_t w = write(a->stop_efd, &one, sizeof(one));
    (void)w;
}

void lf_agent_get_stats(const struct lf_agent *a, struct lf_agent_stats *st)
{
    *st = a->stats;
    st->live_bytes = a->live_bytes;
}

/* ---- setup ------------------------------------------------------------------------ */

static int lock_state_dir(struct lf_agent *a)
{
    const char *dir = a->cfg->agent.state_dir;
    char path[4096];
    if (lf_mkdir_p(dir) != LF_OK) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "cannot create state_dir %s", dir);
        return LF_EIO;
    }
    snprintf(path, sizeof(path), "%s/lock", dir);
    a->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (a->lockfd < 0 || flock(a->lockfd, LOCK_EX | LOCK_NB) != 0) {
        lf_log_errno(LF_LOG_ERROR, &a->log,
                     "cannot lock %s (is another logferry using this state_dir?)", path);
        return LF_EIO;
    }
    return LF_OK;
}

static int add_fd(struct lf_agent *a, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? LF_OK : LF_EIO;
}

static int setup_fds(struct lf_agent *a)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* inherited by the output threads */
    signal(SIGPIPE, SIG_IGN);
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    a->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    a->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    a->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    a->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->epfd < 0 || a->sigfd < 0 || a->timerfd < 0 || a->inofd < 0 || a->stop_efd < 0) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "cannot create event fds");
        return LF_EIO;
    }
    struct itimerspec its = {.it_interval = {.tv_nsec = TICK_MS * 1000000L},
                             .it_value = {.tv_nsec = TICK_MS * 1000000L}};
    timerfd_settime(a->timerfd, 0, &its, NULL);
    if (add_fd(a, a->sigfd, EV_SIGNAL) || add_fd(a, a->timerfd, EV_TIMER) ||
        add_fd(a, a->inofd, EV_INOTIFY) || add_fd(a, a->stop_efd, EV_STOP)) {
        return LF_EIO;
    }
    return LF_OK;
}

static int setup_outputs(struct lf_agent *a)
{
    const struct lf_config *c = a->cfg;
    for (size_t o = 0; o < c->outputs.n; o++) {
        const struct lf_output_conf *oc = lf_conf_output(c, o);
        struct out_slot *s = &a->outs[o];
        s->conf = oc;
        s->dlq.fd = -1;
        int rc = flow_open(a, o);
        if (rc != LF_OK) {
            return rc;
        }
        rc = lf_output_validate(oc, c->agent.name, c->agent.state_dir);
        if (rc == LF_OK) {
            rc = lf_output_start(oc, (int)o, c->agent.name, c->agent.state_dir,
                                 (enum lf_log_level)c->agent.log_level, &s->ins);
        }
        if (rc != LF_OK) {
            lf_log_error(&a->log, "output %s (%s): cannot start: %s", oc->name,
                         oc->handle.desc->name, lf_strerror(rc));
            return rc;
        }
        a->nouts++;
        if (add_fd(a, s->ins->ack_efd, EV_OUTPUT_BASE + (uint32_t)o) != LF_OK) {
            return LF_EIO;
        }
    }
    return LF_OK;
}

static int setup_inputs(struct lf_agent *a)
{
    const struct lf_config *c = a->cfg;
    a->ins = calloc(c->inputs.n, sizeof(*a->ins));
    if (!a->ins) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < c->inputs.n; i++) {
        const struct lf_input_conf *ic = lf_conf_input(c, i);
        struct input_slot *in = &a->ins[i];
        char err[512];
        int rc = lf_parser_create(&ic->parser, &ic->filter, (enum lf_record_type)ic->type, err,
                                  sizeof(err), &in->parser);
        if (rc != LF_OK) {
            lf_log_error(&a->log, "input %s: parser: %s", ic->name, err);
            return rc;
        }
        for (int t = 0; t < LF_TYPE_COUNT; t++) {
            for (size_t o = 0; o < a->nouts; o++) {
                if (a->outs[o].conf->match_mask & (1u << t)) {
                    in->route_by_type[t] |= 1u << o;
                    in->route_any |= 1u << o;
                }
            }
        }
        rc = lf_tail_create(ic, (int)i, a->ckpt, a->inofd, on_record, a, &a->log, &in->tail);
        if (rc != LF_OK) {
            return rc;
        }
        a->nins++;
    }
    return LF_OK;
}

int lf_agent_create(const struct lf_config *cfg, struct lf_agent **out)
{
    struct lf_agent *a = calloc(1, sizeof(*a));
    char err[1024];
    if (!a) {
        return LF_ENOMEM;
    }
    a->cfg = cfg;
    a->turn_wall_ms = lf_wall_ms();
    a->log.prefix = "[agent]";
    a->log.level = (enum lf_log_level)cfg->agent.log_level;
    a->epfd = a->sigfd = a->timerfd = a->inofd = a->lockfd = a->stop_efd = -1;
    lf_buf_init(&a->enc, 0);
    snprintf(a->host, sizeof(a->host), "%s", cfg->agent.name);
    int rc = lock_state_dir(a);
    if (rc == LF_OK) {
        rc = lf_ckpt_open(cfg->agent.state_dir, &a->ckpt, err, sizeof(err));
        if (rc != LF_OK) {
            lf_log_error(&a->log, "%s", err);
        }
    }
    if (rc == LF_OK) {
        rc = setup_fds(a);
    }
    if (rc == LF_OK) {
        rc = setup_outputs(a);
    }
    if (rc == LF_OK) {
        rc = setup_inputs(a);
    }
    if (rc != LF_OK) {
        lf_agent_destroy(a);
        return rc;
    }
    a->next_ckpt_ms = lf_mono_ms() + cfg->agent.checkpoint_interval_ms;
    save_checkpoints(a); /* remember identities of files seen at start */
    lf_log_info(&a->log, "started: %zu input(s), %zu output(s), state in %s", a->nins, a->nouts,
                cfg->agent.state_dir);
    *out = a;
    return LF_OK;
}

static void close_fd(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

void lf_agent_destroy(struct lf_agent *a)
{
    if (!a) {
        return;
    }
    for (size_t o = 0; o < a->nouts; o++) {
        lf_output_stop(a->outs[o].ins, 0);
    }
    for (size_t i = 0; i < a->nins; i++) {
        struct lf_tail *t = a->ins[i].tail;
        for (size_t k = 0; t && k < t->nfiles; k++) {
            lf_track_drop_all(&t->files[k]->track, release_record, a);
        }
        lf_tail_destroy(t);
        lf_parser_destroy(a->ins[i].parser);
    }
    free(a->ins);
    for (size_t o = 0; o < MAX_OUTPUTS; o++) {
        struct out_slot *s = &a->outs[o];
        if (s->ins) {
            struct lf_ack *acks;
            size_t n = lf_output_take_acks(s->ins, &acks);
            for (size_t i = 0; i < n; i++) {
                free(acks[i].reason);
            }
            free(acks);
            lf_output_destroy(s->ins);
        }
        if (s->conf) {
            lf_dlq_close(&s->dlq);
            flow_close(a, o);
        }
        free(s->batch);
        free(s->retries);
    }
    lf_ckpt_close(a->ckpt);
    lf_buf_fini(&a->enc);
    close_fd(a->epfd);
    close_fd(a->sigfd);
    close_fd(a->timerfd);
    close_fd(a->inofd);
    close_fd(a->stop_efd);
    close_fd(a->lockfd);
    free(a);
}
