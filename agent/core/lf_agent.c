/* lf_agent.c - the agent: setup, and the epoll loop that drives the pipeline.
 *
 * One thread (the caller of lf_agent_run) owns all of this state. It waits in epoll on
 * a signalfd (TERM, INT, HUP), a timerfd tick (retries, multi-line deadlines, checkpoint
 * interval, safety poll), an inotify fd (appends) and one ack fd per output path. The
 * data flow itself lives in agent/pipeline/: tails emit into the router, the router hands
 * records to the tracker and the output paths, the output paths report what is done to
 * the tracker, the checkpoint policy writes the store. Reading stops while the records
 * held in memory exceed agent.memory_limit: the log files are the buffer then.
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
#include <sys/timerfd.h>
#include <unistd.h>

#include "lf_alert.h"
#include "lf_ckpt_policy.h"
#include "lf_clock.h"
#include "lf_fsutil.h"
#include "lf_http.h"
#include "lf_notify.h"
#include "lf_outpath.h"
#include "lf_router.h"
#include "lf_snapshot.h"
#include "lf_tracker.h"
#include "logferry/lf_err.h"
#include "tail.h"

#define TICK_MS     100
#define READ_BUDGET (1u << 20) /* bytes read per loop turn before serving acks */
#define MAX_OUTPUTS 32

enum ev_tag {
    EV_SIGNAL = 1,
    EV_TIMER,
    EV_INOTIFY,
    EV_STOP,
    EV_OUTPUT_BASE = 16, /* + output index */
};

struct lf_agent {
    const struct lf_config *cfg;
    struct lf_log_ctx log;
    int epfd, sigfd, timerfd, inofd, lockfd, stop_efd;
    struct lf_ckpt_store *ckpt;
    struct lf_ckpt_policy ckpt_policy;
    struct lf_rec_budget budget;
    struct lf_tracker *tracker;
    struct lf_outpath *outs[MAX_OUTPUTS];
    size_t nouts;
    struct lf_router *router;
    struct lf_tail **tails;
    size_t ntails;
    bool paused;
    bool stopping;
    int stop_requests; /* signals received */
    int64_t stop_deadline_ms;
    int64_t start_wall_ms;
    struct lf_obs *obs;     /* snapshot exchange with the HTTP thread; NULL: no endpoint */
    struct lf_http *http;   /* agent.http */
    struct lf_alert *alert; /* alerts.webhook; NULL: no alerts */
    struct lf_alert_prev alert_prev[MAX_OUTPUTS];
};

/* ---- the steps of a loop turn ------------------------------------------------------- */

static void end_turn(struct lf_agent *a)
{
    int64_t now = lf_mono_ms();
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_end_turn(a->outs[o], now);
    }
}

static void save_checkpoints(struct lf_agent *a, int64_t now)
{
    for (size_t i = 0; i < a->ntails; i++) {
        lf_tail_checkpoint(a->tails[i]);
    }
    lf_ckpt_policy_save(&a->ckpt_policy, now);
}

static void on_outcomes(struct lf_agent *a, size_t o)
{
    lf_outpath_on_outcomes(a->outs[o], lf_mono_ms());
    lf_tracker_advance(a->tracker);
}

static void begin_shutdown(struct lf_agent *a)
{
    if (a->stopping) {
        return;
    }
    a->stopping = true;
    lf_notify_stopping();
    a->stop_deadline_ms = lf_mono_ms() + a->cfg->agent.shutdown_timeout_ms;
    lf_log_info(&a->log,
                "shutting down: reading stopped, waiting up to %lld ms for %zu bytes "
                "of records in flight",
                (long long)a->cfg->agent.shutdown_timeout_ms, a->budget.live_bytes);
    for (size_t i = 0; i < a->ntails; i++) {
        lf_tail_flush_pending(a->tails[i], 0, true);
    }
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_begin_shutdown(a->outs[o]);
    }
    end_turn(a);
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
            for (size_t i = 0; i < a->ntails; i++) {
                lf_tail_on_inotify(a->tails[i], ev);
            }
            p += sizeof(*ev) + ev->len;
        }
    }
}

/* Fills the snapshot the HTTP endpoint renders from (only when it asked for one). */
static void publish_snapshot(struct lf_agent *a)
{
    struct lf_snapshot *s = &a->obs->build;
    lf_snapshot_reset(s);
    s->wall_ms = lf_wall_ms();
    s->mono_ms = lf_mono_ms();
    s->start_wall_ms = a->start_wall_ms;
    s->agent_name = lf_snapshot_intern(s, a->cfg->agent.name);
    s->live_bytes = a->budget.live_bytes;
    s->memory_limit = a->cfg->agent.memory_limit;
    s->paused = a->paused;
    s->stopping = a->stopping;
    struct lf_alert_stats as;
    lf_alert_get_stats(a->alert, &as);
    s->alerts_posted = as.posted;
    s->alerts_failed = as.failed;
    s->alerts_lost = as.lost;
    for (size_t i = 0; i < a->ntails; i++) {
        lf_snapshot_add_tail(s, a->tails[i], a->router, a->tracker);
    }
    for (size_t o = 0; o < a->nouts; o++) {
        lf_snapshot_add_outpath(s, a->outs[o]);
    }
    lf_obs_publish(a->obs);
}

/* Alert events from the outputs' counters since the last tick (lf_alert.h). */
static void alert_tick(struct lf_agent *a)
{
    struct lf_alert_event ev[LF_ALERT_KINDS];
    for (size_t o = 0; a->alert && o < a->nouts; o++) {
        struct lf_outpath_stats st;
        lf_outpath_get_stats(a->outs[o], &st);
        struct lf_alert_counters c = {st.dead_lettered, st.breaker_opens, st.breaker_closes,
                                      st.spool_dropped, st.spool_bytes};
        size_t n = lf_alert_watch(&a->alert_prev[o], (uint32_t)o, &c, a->cfg->buffer.max_size, ev);
        lf_alert_post(a->alert, ev, n);
    }
}

static void handle_tick(struct lf_agent *a)
{
    uint64_t expirations;
    ssize_t r = read(a->timerfd, &expirations, sizeof(expirations));
    (void)r;
    int64_t now = lf_mono_ms();
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_tick(a->outs[o], now);
    }
    for (size_t i = 0; i < a->ntails && !a->stopping; i++) {
        lf_tail_tick(a->tails[i], now);
    }
    end_turn(a);
    lf_tracker_advance(a->tracker);
    if (lf_ckpt_policy_due(&a->ckpt_policy, now)) {
        save_checkpoints(a, now);
    }
    if (a->obs && lf_obs_tick(a->obs, now)) {
        publish_snapshot(a);
    }
    alert_tick(a);
}

/* The outputs whose spool refuses records: inputs routed to them do not read. */
static unsigned blocked_outputs(const struct lf_agent *a)
{
    unsigned blocked = 0;
    for (size_t o = 0; o < a->nouts; o++) {
        blocked |= lf_outpath_blocked(a->outs[o]) ? 1u << o : 0;
    }
    return blocked;
}

/* Memory limit with hysteresis: pause at the limit, resume below 75% so that pauses are
 * not one record long. */
static bool may_read(struct lf_agent *a)
{
    size_t limit = a->cfg->agent.memory_limit;
    if (a->stopping) {
        return false;
    }
    if (a->budget.live_bytes >= limit) {
        a->paused = true;
    } else if (!a->paused || a->budget.live_bytes <= limit / 4 * 3) {
        a->paused = false;
    }
    return !a->paused;
}

static bool read_inputs(struct lf_agent *a)
{
    bool more_any = false;
    if (!may_read(a)) {
        return false;
    }
    unsigned blocked = blocked_outputs(a);
    for (size_t i = 0; i < a->ntails; i++) {
        bool more = false;
        if (lf_router_outputs_of(a->router, i) & blocked) {
            continue; /* buffer.when_full: block - the log file is the buffer */
        }
        int rc = lf_tail_read(a->tails[i], READ_BUDGET / a->ntails + 1, &more);
        if (rc != LF_OK) {
            lf_log_error(&a->log, "input %s: %s", a->tails[i]->conf->name, lf_strerror(rc));
        }
        more_any = more_any || more;
    }
    end_turn(a);
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
        on_outcomes(a, tag - EV_OUTPUT_BASE);
    }
}

/* ---- run ---------------------------------------------------------------------------- */

static void drain_outputs(struct lf_agent *a)
{
    int64_t left = a->stop_deadline_ms - lf_mono_ms();
    int flush_ms = left > 1000 ? (int)left : 1000;
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_drain(a->outs[o], flush_ms);
    }
    lf_tracker_advance(a->tracker);
}

static void log_totals(struct lf_agent *a)
{
    struct lf_agent_stats st;
    lf_agent_get_stats(a, &st);
    lf_log_info(&a->log,
                "stopped: %llu records read, %llu deliveries, %llu retries, %llu "
                "dead-lettered, %llu spooled, %llu drained from spools, breakers opened %llu "
                "time(s)",
                (unsigned long long)st.records_read, (unsigned long long)st.records_delivered,
                (unsigned long long)st.records_retried,
                (unsigned long long)st.records_dead_lettered,
                (unsigned long long)st.records_spooled, (unsigned long long)st.records_drained,
                (unsigned long long)st.breaker_opens);
}

int lf_agent_run(struct lf_agent *a)
{
    bool more = true;
    while (!a->stopping ||
           (lf_tracker_any_pending(a->tracker) && lf_mono_ms() < a->stop_deadline_ms)) {
        if (a->stop_requests >= 2) {
            lf_log_warn(&a->log, "second signal: exiting now; unacknowledged records will be "
                                 "read again after restart");
            save_checkpoints(a, lf_mono_ms());
            return LF_EXIT_FORCED;
        }
        struct epoll_event evs[16];
        int n = epoll_wait(a->epfd, evs, 16, more && !a->paused && !a->stopping ? 0 : TICK_MS);
        if (n < 0 && errno != EINTR) {
            lf_log_errno(LF_LOG_ERROR, &a->log, "epoll_wait");
            break;
        }
        lf_router_set_read_time(a->router, lf_wall_ms());
        for (int i = 0; i < n; i++) {
            dispatch(a, &evs[i]);
        }
        more = read_inputs(a) || (more && a->paused);
    }
    drain_outputs(a);
    save_checkpoints(a, lf_mono_ms());
    log_totals(a);
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
    struct lf_router_stats rs;
    lf_router_get_stats(a->router, &rs);
    *st = (struct lf_agent_stats){
        .records_read = rs.records_read,
        .records_filtered = rs.records_filtered,
        .live_bytes = a->budget.live_bytes,
    };
    for (size_t o = 0; o < a->nouts; o++) {
        struct lf_outpath_stats os;
        lf_outpath_get_stats(a->outs[o], &os);
        st->records_delivered += os.delivered;
        st->records_retried += os.retried;
        st->records_dead_lettered += os.dead_lettered;
        st->records_spooled += os.spooled;
        st->records_drained += os.drained;
        st->breaker_opens += os.breaker_opens;
    }
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

static int setup_state(struct lf_agent *a)
{
    char err[1024];
    int rc = lock_state_dir(a);
    if (rc == LF_OK) {
        rc = lf_ckpt_open(a->cfg->agent.state_dir, &a->ckpt, err, sizeof(err));
        if (rc != LF_OK) {
            lf_log_error(&a->log, "%s", err);
        }
    }
    if (rc == LF_OK) {
        rc = lf_tracker_create(lf_rec_release, &a->budget, &a->tracker);
    }
    if (rc == LF_OK) {
        lf_ckpt_policy_init(&a->ckpt_policy, a->ckpt, a->tracker,
                            a->cfg->agent.checkpoint_interval_ms, &a->log, lf_mono_ms());
    }
    return rc;
}

static int setup_outputs(struct lf_agent *a)
{
    if (a->cfg->outputs.n > MAX_OUTPUTS) {
        lf_log_error(&a->log, "at most %d outputs", MAX_OUTPUTS);
        return LF_ECONFIG;
    }
    for (size_t o = 0; o < a->cfg->outputs.n; o++) {
        int rc = lf_outpath_open(a->cfg, o, a->tracker, &a->log, &a->outs[o]);
        if (rc != LF_OK) {
            return rc;
        }
        a->nouts++;
        if (add_fd(a, lf_outpath_ack_fd(a->outs[o]), EV_OUTPUT_BASE + (uint32_t)o) != LF_OK) {
            return LF_EIO;
        }
    }
    return lf_router_create(a->cfg, a->tracker, a->outs, a->nouts, &a->budget, &a->log, &a->router);
}

/* agent.http: the endpoint's thread and the snapshot exchange it reads. */
static int setup_http(struct lf_agent *a)
{
    if (!a->cfg->agent.http.listen) {
        return LF_OK;
    }
    a->obs = malloc(sizeof(*a->obs));
    if (!a->obs || lf_obs_init(a->obs) != LF_OK) {
        free(a->obs);
        a->obs = NULL;
        return LF_ENOMEM;
    }
    return lf_http_start(&a->cfg->agent.http, a->obs, &a->log, &a->http);
}

static int setup_inputs(struct lf_agent *a)
{
    const struct lf_config *c = a->cfg;
    struct lf_tail_sink sink;
    lf_ckpt_policy_sink(&a->ckpt_policy, &sink);
    lf_router_sink(a->router, &sink);
    a->tails = calloc(c->inputs.n ? c->inputs.n : 1, sizeof(*a->tails));
    if (!a->tails) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < c->inputs.n; i++) {
        int rc = lf_tail_create(lf_conf_input(c, i), (int)i, a->ckpt, a->inofd, &sink, &a->log,
                                &a->tails[i]);
        if (rc != LF_OK) {
            return rc;
        }
        a->ntails++;
    }
    return LF_OK;
}

int lf_agent_create(const struct lf_config *cfg, struct lf_agent **out)
{
    struct lf_agent *a = calloc(1, sizeof(*a));
    if (!a) {
        return LF_ENOMEM;
    }
    a->cfg = cfg;
    a->log.prefix = "[agent]";
    a->log.level = (enum lf_log_level)cfg->agent.log_level;
    a->epfd = a->sigfd = a->timerfd = a->inofd = a->lockfd = a->stop_efd = -1;
    a->start_wall_ms = lf_wall_ms();
    int rc = setup_state(a);
    if (rc == LF_OK) {
        rc = setup_fds(a);
    }
    if (rc == LF_OK) {
        rc = setup_outputs(a);
    }
    if (rc == LF_OK) {
        rc = setup_inputs(a);
    }
    if (rc == LF_OK) {
        rc = setup_http(a);
    }
    if (rc == LF_OK && cfg->alerts.webhook) {
        rc = lf_alert_start(cfg, &a->log, &a->alert);
    }
    if (rc != LF_OK) {
        lf_agent_destroy(a);
        return rc;
    }
    lf_router_set_read_time(a->router, lf_wall_ms());
    save_checkpoints(a, lf_mono_ms()); /* remember identities of files seen at start */
    lf_log_info(&a->log, "started: %zu input(s), %zu output(s), state in %s", a->ntails, a->nouts,
                cfg->agent.state_dir);
    lf_notify_ready();
    *out = a;
    return LF_OK;
}

static void close_fd(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

/* Order: the plugins stop before any record they may still read is freed; the tails
 * close their files in the tracker, which releases what is left. */
void lf_agent_destroy(struct lf_agent *a)
{
    if (!a) {
        return;
    }
    lf_http_stop(a->http); /* its thread reads only a->obs */
    lf_alert_stop(a->alert);
    if (a->obs) {
        lf_obs_fini(a->obs);
        free(a->obs);
    }
    for (size_t o = 0; o < MAX_OUTPUTS; o++) {
        lf_outpath_close(a->outs[o]); /* NULL-safe; an output whose setup failed too */
    }
    for (size_t i = 0; i < a->ntails; i++) {
        lf_tail_destroy(a->tails[i]);
    }
    free(a->tails);
    lf_router_destroy(a->router);
    lf_tracker_destroy(a->tracker);
    lf_ckpt_close(a->ckpt);
    close_fd(a->epfd);
    close_fd(a->sigfd);
    close_fd(a->timerfd);
    close_fd(a->inofd);
    close_fd(a->stop_efd);
    close_fd(a->lockfd);
    free(a);
}
