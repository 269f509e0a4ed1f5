/* lf_agent.c - the agent: setup, and the epoll loop that drives the pipeline.
 *
 * One thread (the caller of lf_agent_run) owns all of this state. It waits in epoll on
 * a signalfd (TERM, INT, HUP), an inotify fd (appends), one ack fd per output path and
 * the HTTP endpoint's wake fd. Timed work runs in a tick (retries, breaker timers, stall
 * detection, multi-line deadlines, rotated files, the checkpoint interval, alerts,
 * STATUS=): at most every TICK_MS while events come, then only at the earliest deadline
 * the pipeline has pending (next_tick); with nothing pending the loop sleeps with no
 * timeout but the systemd watchdog's (adaptive ticks, docs/lifecycle.md). The
 * data flow itself lives in agent/pipeline/: tails emit into the router, the router hands
 * records to the tracker and the output paths, the output paths report what is done to
 * the tracker, the checkpoint policy writes the store. Reading stops while the records
 * held in memory exceed agent.memory_limit: the log files are the buffer then.
 * Shutdown runs in a fixed order (shutdown_in_order, docs/lifecycle.md); SIGHUP is
 * lf_agent_reload.c's. The systemd watchdog is petted at the top of each loop turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lf_agent_int.h"
#include "lf_clock.h"
#include "lf_fsutil.h"
#include "logferry/lf_err.h"

#define TICK_MS         100 /* shortest period of the tick */
#define NEVER           INT64_MAX
#define READ_BUDGET     (1u << 20)  /* bytes read per loop turn before serving acks */
#define READ_MIN_BUDGET (64u << 10) /* the tail reads in chunks of this size */
#define READ_EXPANSION  4u          /* record bytes per input byte, a usual upper bound */
#define STATUS_EVERY_MS 5000        /* STATUS= counts line to the service manager */

enum ev_tag {
    EV_SIGNAL = 1,
    EV_OBS, /* the HTTP endpoint wants a snapshot or a heartbeat */
    EV_INOTIFY,
    EV_STOP,
};

/* ---- the steps of a loop turn ------------------------------------------------------- */

static void end_turn(struct lf_agent *a)
{
    int64_t now = lf_mono_ms();
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_end_turn(a->outs[o], now);
    }
}

void lf_agent_save_checkpoints(struct lf_agent *a, int64_t now)
{
    for (size_t i = 0; i < a->ntails; i++) {
        lf_tail_checkpoint(a->tails[i]);
    }
    lf_ckpt_policy_save(&a->ckpt_policy, now);
}

/* Outcomes of output o. The checkpoint follows the acknowledgements: saved here as soon
 * as the interval allows, not only at the next tick (docs/lifecycle.md, the bound). */
static void on_outcomes(struct lf_agent *a, size_t o)
{
    int64_t now = lf_mono_ms();
    lf_outpath_on_outcomes(a->outs[o], now);
    lf_tracker_advance(a->tracker);
    if (lf_ckpt_policy_due(&a->ckpt_policy, now)) {
        lf_agent_save_checkpoints(a, now);
    }
}

/* SIGTERM/SIGINT: steps 1 and 2 of the shutdown order (see shutdown_in_order). */
static void begin_shutdown(struct lf_agent *a)
{
    if (a->stopping) {
        return;
    }
    a->stopping = true; /* 1. stop inputs: may_read() is false from now on */
    lf_notify_stopping();
    a->stop_deadline_ms = lf_mono_ms() + a->cfg->agent.shutdown_timeout_ms;
    lf_log_info(&a->log,
                "shutting down: reading stopped, waiting up to %lld ms for %zu bytes "
                "of records in flight",
                (long long)a->cfg->agent.shutdown_timeout_ms, a->budget.live_bytes);
    for (size_t i = 0; i < a->ntails; i++) {
        lf_tail_flush_pending(a->tails[i], 0, true); /* 2. flush multi-line records */
    }
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_begin_shutdown(a->outs[o]); /* no more retries: failures will spool */
    }
    end_turn(a);
}

static void handle_signal(struct lf_agent *a)
{
    struct signalfd_siginfo si;
    while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            lf_agent_reload_begin(a);
            continue;
        }
        a->stop_requests++;
        begin_shutdown(a);
    }
}

/* Reads the queued inotify events. A read that left room for another event of the
 * largest size emptied the queue: no second read to see EAGAIN (events queued after it
 * make the fd ready again for the next epoll_wait). */
static void handle_inotify(struct lf_agent *a)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    const ssize_t drained = (ssize_t)(sizeof(buf) - sizeof(struct inotify_event) - NAME_MAX - 1);
    ssize_t n;
    do {
        n = read(a->inofd, buf, sizeof(buf));
        for (char *p = buf; n > 0 && p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            for (size_t i = 0; i < a->ntails; i++) {
                lf_tail_on_inotify(a->tails[i], ev);
            }
            p += sizeof(*ev) + ev->len;
        }
    } while (n > drained);
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

void lf_agent_status_line(const struct lf_agent *a, char *buf, size_t len)
{
    struct lf_agent_stats st;
    lf_agent_get_stats(a, &st);
    snprintf(buf, len,
             "%s: %zu input(s), %zu output(s); read %llu, delivered %llu, spooled %llu, "
             "drained %llu, dead-lettered %llu; %zu bytes in flight%s",
             a->stopping ? "stopping" : (a->next_cfg ? "reloading" : "running"), a->ntails,
             a->nouts, (unsigned long long)st.records_read,
             (unsigned long long)st.records_delivered, (unsigned long long)st.records_spooled,
             (unsigned long long)st.records_drained, (unsigned long long)st.records_dead_lettered,
             st.live_bytes, a->paused ? " (reading paused: memory_limit)" : "");
}

/* STATUS= when something happened since the last one, at most every STATUS_EVERY_MS,
 * only when a service manager listens (an idle agent sends none). */
static void send_status(struct lf_agent *a, int64_t now)
{
    if (!a->status_dirty || now < a->next_status_ms) {
        return;
    }
    char line[sizeof(a->status_sent)];
    a->status_dirty = false;
    a->next_status_ms = now + STATUS_EVERY_MS;
    lf_agent_status_line(a, line, sizeof(line));
    if (strcmp(line, a->status_sent) != 0) {
        memcpy(a->status_sent, line, sizeof(line));
        lf_notify_status(line);
    }
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

static int64_t min_ms(int64_t x, int64_t y)
{
    return x < y ? x : y;
}

/* The earliest time the tick has work (NEVER: none, the loop sleeps until an event). A
 * reload waiting for the records in flight ticks at TICK_MS (it logs its wait). */
static int64_t next_pending(const struct lf_agent *a, int64_t now)
{
    int64_t next = lf_ckpt_policy_next_ms(&a->ckpt_policy);
    for (size_t o = 0; o < a->nouts; o++) {
        next = min_ms(next, lf_outpath_next_ms(a->outs[o], now));
    }
    for (size_t i = 0; i < a->ntails && !a->stopping && !a->next_cfg; i++) {
        next = min_ms(next, lf_tail_next_ms(a->tails[i], now));
    }
    if (a->status_dirty) {
        next = min_ms(next, a->next_status_ms);
    }
    return a->next_cfg ? now : next;
}

/* When the tick runs: at the pending deadline, never sooner than TICK_MS after the last
 * one (so a burst of events or deadlines costs at most one tick per TICK_MS). */
static int64_t tick_due(const struct lf_agent *a)
{
    int64_t floor = a->last_tick_ms + TICK_MS;
    return a->tick_at_ms == NEVER ? NEVER : a->tick_at_ms > floor ? a->tick_at_ms : floor;
}

/* Something happened (an event, input read): the tick runs within TICK_MS for what it
 * may have left pending (checkpoints, alerts, STATUS=, group commit...). */
static void note_activity(struct lf_agent *a, int64_t now)
{
    a->tick_at_ms = min_ms(a->tick_at_ms, now + TICK_MS);
    a->status_dirty = a->notify_on;
}

static void handle_tick(struct lf_agent *a, int64_t now)
{
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_tick(a->outs[o], now);
    }
    /* while a reload waits, the tails neither read nor emit (their router is replaced) */
    for (size_t i = 0; i < a->ntails && !a->stopping && !a->next_cfg; i++) {
        lf_tail_tick(a->tails[i], now);
    }
    end_turn(a);
    lf_tracker_advance(a->tracker);
    if (lf_ckpt_policy_due(&a->ckpt_policy, now)) {
        lf_agent_save_checkpoints(a, now);
    }
    if (a->obs && lf_obs_tick(a->obs, now)) {
        publish_snapshot(a);
    }
    send_status(a, now);
    alert_tick(a);
    a->last_tick_ms = now;
    a->tick_at_ms = next_pending(a, now);
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
 * not one record long. No reading while stopping or while a reload waits. */
static bool may_read(struct lf_agent *a)
{
    size_t limit = a->cfg->agent.memory_limit;
    if (a->stopping || a->next_cfg) {
        return false;
    }
    if (a->budget.live_bytes >= limit) {
        a->paused = true;
    } else if (!a->paused || a->budget.live_bytes <= limit / 4 * 3) {
        a->paused = false;
    }
    return !a->paused;
}

/* Input bytes for this turn: a record holds its line several times over (an nginx line
 * of 222 bytes becomes about 800 bytes of JSON and bookkeeping), so a turn reads at most
 * a quarter of the room left below memory_limit, and never less than one 64 KiB chunk:
 * the limit is then overshot by one turn's records at most, not by a whole READ_BUDGET
 * of them (which took 8 MiB to 12.5 MiB of records in the throughput benchmark). */
static size_t read_budget(const struct lf_agent *a)
{
    size_t limit = a->cfg->agent.memory_limit;
    size_t room = a->budget.live_bytes < limit ? limit - a->budget.live_bytes : 0;
    size_t budget = room / READ_EXPANSION;
    return budget < READ_MIN_BUDGET ? READ_MIN_BUDGET : budget > READ_BUDGET ? READ_BUDGET : budget;
}

static bool read_inputs(struct lf_agent *a)
{
    bool more_any = false;
    if (!may_read(a)) {
        return false;
    }
    unsigned blocked = blocked_outputs(a);
    size_t budget = read_budget(a);
    for (size_t i = 0; i < a->ntails; i++) {
        bool more = false;
        if (lf_router_outputs_of(a->router, i) & blocked) {
            continue; /* buffer.when_full: block - the log file is the buffer */
        }
        int rc = lf_tail_read(a->tails[i], budget / a->ntails + 1, &more);
        if (rc != LF_OK) {
            lf_log_error(&a->log, "input %s: %s", a->tails[i]->conf->name, lf_strerror(rc));
        }
        more_any = more_any || more;
    }
    end_turn(a);
    return more_any;
}

/* Serves one event. Returns false for the HTTP endpoint's wake-up (no pipeline work). */
static bool dispatch(struct lf_agent *a, struct epoll_event *ev)
{
    uint32_t tag = ev->data.u32;
    if (tag == EV_OBS) {
        if (lf_obs_tick(a->obs, lf_mono_ms())) {
            publish_snapshot(a);
        }
        return false;
    }
    if (tag == EV_SIGNAL) {
        handle_signal(a);
    } else if (tag == EV_INOTIFY) {
        handle_inotify(a);
    } else if (tag == EV_STOP) {
        uint64_t v;
        ssize_t r = read(a->stop_efd, &v, sizeof(v));
        (void)r;
        begin_shutdown(a);
    } else if (tag >= LF_AGENT_EV_OUTPUT && tag - LF_AGENT_EV_OUTPUT < a->nouts) {
        on_outcomes(a, tag - LF_AGENT_EV_OUTPUT);
    }
    return true;
}

/* How long the loop may sleep: until the tick is due, the watchdog must be petted, or
 * the shutdown timeout ends; -1 (no timeout) when none of them is pending. */
static int wait_ms(const struct lf_agent *a)
{
    int64_t due = tick_due(a);
    if (a->watchdog.half_ms) {
        due = min_ms(due, a->watchdog.next_ms);
    }
    if (a->stopping) {
        due = min_ms(due, a->stop_deadline_ms);
    }
    if (due == NEVER) {
        return -1;
    }
    int64_t left = due - lf_mono_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Outcomes "delivered" need not wake the loop while it reads freely: they are taken at
 * the next turn (take_lazy_outcomes), which the next input brings, or by the tick, which
 * runs within TICK_MS while such outcomes are owed. At the memory limit, while stopping
 * or reloading, every outcome wakes the loop. */
static void prepare_wait(struct lf_agent *a)
{
    bool lazy_ok = !a->paused && !a->stopping && !a->next_cfg, owed = false;
    for (size_t o = 0; o < a->nouts; o++) {
        owed = lf_outpath_prepare_wait(a->outs[o], lazy_ok) || owed;
    }
    if (owed) {
        a->tick_at_ms = min_ms(a->tick_at_ms, lf_mono_ms() + TICK_MS);
    }
}

static void take_lazy_outcomes(struct lf_agent *a)
{
    for (size_t o = 0; o < a->nouts; o++) {
        if (lf_outpath_outcomes_waiting(a->outs[o])) {
            on_outcomes(a, o);
        }
    }
}

/* Waits for events (not at all while input is waiting to be read). The HTTP endpoint
 * sees a waiting loop as alive. */
static int wait_events(struct lf_agent *a, struct epoll_event *evs, int max, bool busy)
{
    prepare_wait(a);
    int timeout = busy ? 0 : wait_ms(a);
    if (a->obs) {
        lf_obs_loop_state(a->obs, true, 0);
    }
    int n = epoll_wait(a->epfd, evs, max, timeout);
    if (a->obs) {
        lf_obs_loop_state(a->obs, false, lf_mono_ms());
    }
    return n;
}

/* One turn: wait, serve the events, tick if due, read. The watchdog is petted here and
 * nowhere else: a loop that stops turning stops petting. Returns false if epoll failed. */
static bool loop_turn(struct lf_agent *a, bool *more)
{
    struct epoll_event evs[16];
    bool busy = *more && !a->paused && !a->stopping, active = busy;
    lf_watchdog_pet(&a->watchdog, lf_mono_ms());
    int n = wait_events(a, evs, 16, busy);
    if (n < 0 && errno != EINTR) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "epoll_wait");
        return false;
    }
    lf_router_set_read_time(a->router, lf_wall_ms());
    for (int i = 0; i < n; i++) {
        active = dispatch(a, &evs[i]) || active;
    }
    take_lazy_outcomes(a);
    int64_t now = lf_mono_ms();
    if (now >= tick_due(a)) {
        handle_tick(a, now);
    }
    if (a->next_cfg) {
        lf_agent_reload_poll(a);
    }
    *more = read_inputs(a) || (*more && a->paused);
    if (active || *more) {
        note_activity(a, now);
    }
    return true;
}

/* ---- shutdown ----------------------------------------------------------------------- */

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

/* Step 3: the loop goes on serving acknowledgements (not reading) until nothing is in
 * flight or shutdown_timeout passed. False if a second signal came: exit at once. */
static bool deliver_in_flight(struct lf_agent *a)
{
    bool more = false;
    while (lf_tracker_any_pending(a->tracker) && lf_mono_ms() < a->stop_deadline_ms) {
        if (a->stop_requests >= 2 || !loop_turn(a, &more)) {
            break;
        }
    }
    return a->stop_requests < 2;
}

/* Step 4: each output flushes its plugin (what is left of the timeout, at least 1 s) and
 * writes whatever it still owes to its spool, durably; the tracker then counts those
 * records done. */
static void spool_leftovers(struct lf_agent *a)
{
    int64_t left = a->stop_deadline_ms - lf_mono_ms();
    int flush_ms = left > 1000 ? (int)left : 1000;
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_drain(a->outs[o], flush_ms);
    }
    lf_tracker_advance(a->tracker);
}

/* Step 6: the output instances stop (plugin fini: connections closed). */
static void close_outputs(struct lf_agent *a)
{
    for (size_t o = 0; o < a->nouts; o++) {
        lf_outpath_close(a->outs[o]);
        a->outs[o] = NULL;
    }
    a->nouts = 0;
}

/* A second signal: no more waiting. The checkpoints written are the committed offsets,
 * which never pass an acknowledgement: what was in flight is read again after a restart
 * (duplicates possible, no loss). */
static int exit_forced(struct lf_agent *a)
{
    lf_log_warn(&a->log, "second signal: exiting now; unacknowledged records will be "
                         "read again after restart");
    lf_agent_save_checkpoints(a, lf_mono_ms());
    return LF_EXIT_FORCED;
}

/* The shutdown order (docs/lifecycle.md). Steps 1 and 2 ran when the signal came
 * (begin_shutdown): inputs stopped, multi-line records flushed. */
static int shutdown_in_order(struct lf_agent *a)
{
    if (!deliver_in_flight(a)) { /* 3. deliver in flight until shutdown_timeout */
        return exit_forced(a);
    }
    spool_leftovers(a);                         /* 4. spool what is left */
    lf_agent_save_checkpoints(a, lf_mono_ms()); /* 5. write checkpoints */
    log_totals(a);
    close_outputs(a);  /* 6. close outputs */
    return LF_EXIT_OK; /* 7. exit 0 */
}

int lf_agent_run(struct lf_agent *a)
{
    bool more = true;
    while (!a->stopping) {
        if (!loop_turn(a, &more)) {
            begin_shutdown(a);
        }
        if (a->fatal) {
            return LF_EXIT_FAILURE;
        }
    }
    return shutdown_in_order(a);
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
        .records_read = rs.records_read + a->read_before_reloads,
        .records_filtered = rs.records_filtered + a->filtered_before_reloads,
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

/* state_dir/logferry.pid: what `logferry reload` signals. Written after the lock is held,
 * so a pid file next to a held lock names the running agent. */
static void write_pid_file(struct lf_agent *a)
{
    char pid[32];
    snprintf(a->pid_path, sizeof(a->pid_path), "%s/logferry.pid", a->cfg->agent.state_dir);
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    int fd = open(a->pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, pid, (size_t)n) != n) {
        lf_log_errno(LF_LOG_WARN, &a->log,
                     "cannot write %s (`logferry reload` will not find "
                     "the agent)",
                     a->pid_path);
        a->pid_path[0] = '\0';
    }
    if (fd >= 0) {
        close(fd);
    }
}

static int lock_state_dir(struct lf_agent *a)
{
    char err[4200], warn[4200];
    if (geteuid() == 0) {
        lf_log_warn(&a->log, "running as root: it works, but an unprivileged user in group adm "
                             "reads /var/log as well (the package creates the user logferry "
                             "for this; systemd: User=logferry)");
    }
    int rc =
        lf_state_lock(a->cfg->agent.state_dir, &a->lockfd, err, sizeof(err), warn, sizeof(warn));
    if (rc != LF_OK) {
        lf_log_error(&a->log, "%s", err);
    } else if (warn[0]) {
        lf_log_warn(&a->log, "%s", warn);
    }
    if (rc == LF_OK) {
        write_pid_file(a);
    }
    return rc;
}

int lf_agent_add_fd(struct lf_agent *a, int fd, uint32_t tag)
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
    a->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    a->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->epfd < 0 || a->sigfd < 0 || a->inofd < 0 || a->stop_efd < 0) {
        lf_log_errno(LF_LOG_ERROR, &a->log, "cannot create event fds");
        return LF_EIO;
    }
    if (lf_agent_add_fd(a, a->sigfd, EV_SIGNAL) || lf_agent_add_fd(a, a->inofd, EV_INOTIFY) ||
        lf_agent_add_fd(a, a->stop_efd, EV_STOP)) {
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

int lf_agent_open_output(struct lf_agent *a, const struct lf_config *cfg, size_t index, size_t slot)
{
    int rc = lf_outpath_open_at(cfg, index, (unsigned)slot, a->tracker, &a->log, &a->outs[slot]);
    if (rc != LF_OK) {
        a->outs[slot] = NULL;
        return rc;
    }
    a->out_started++;
    lf_log_info(&a->log, "output %s (%s): started, instance %llu", lf_conf_output(cfg, index)->name,
                lf_conf_output(cfg, index)->plugin, (unsigned long long)a->out_started);
    return lf_agent_add_fd(a, lf_outpath_ack_fd(a->outs[slot]),
                           LF_AGENT_EV_OUTPUT + (uint32_t)slot);
}

static int setup_outputs(struct lf_agent *a)
{
    if (a->cfg->outputs.n > LF_AGENT_MAX_OUTPUTS) {
        lf_log_error(&a->log, "at most %d outputs", LF_AGENT_MAX_OUTPUTS);
        return LF_ECONFIG;
    }
    for (size_t o = 0; o < a->cfg->outputs.n; o++) {
        int rc = lf_agent_open_output(a, a->cfg, o, o);
        a->nouts += a->outs[o] != NULL;
        if (rc != LF_OK) {
            return rc;
        }
    }
    a->router_cfg = a->cfg;
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
    if (lf_agent_add_fd(a, lf_obs_wake_fd(a->obs), EV_OBS) != LF_OK) {
        return LF_EIO;
    }
    return lf_http_start(&a->cfg->agent.http, a->obs, &a->log, &a->http);
}

int lf_agent_create_tail(struct lf_agent *a, const struct lf_config *cfg, size_t index)
{
    struct lf_tail_sink sink;
    lf_ckpt_policy_sink(&a->ckpt_policy, &sink);
    lf_router_sink(a->router, &sink);
    return lf_tail_create(lf_conf_input(cfg, index), (int)index, a->ckpt, a->inofd, &sink, &a->log,
                          &a->tails[index]);
}

static int setup_inputs(struct lf_agent *a)
{
    const struct lf_config *c = a->cfg;
    a->tails = calloc(c->inputs.n ? c->inputs.n : 1, sizeof(*a->tails));
    if (!a->tails) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < c->inputs.n; i++) {
        int rc = lf_agent_create_tail(a, c, i);
        if (rc != LF_OK) {
            return rc;
        }
        a->ntails++;
    }
    return LF_OK;
}

/* READY=1 once state, outputs and inputs are set up; the watchdog starts with it. */
static void announce_ready(struct lf_agent *a)
{
    int64_t now = lf_mono_ms();
    a->notify_on = lf_notify_enabled();
    lf_watchdog_init(&a->watchdog, now);
    a->next_status_ms = now + STATUS_EVERY_MS;
    lf_agent_status_line(a, a->status_sent, sizeof(a->status_sent));
    lf_notify_ready(a->status_sent);
    if (a->watchdog.half_ms) {
        lf_log_info(&a->log, "systemd watchdog: petting every %lld ms",
                    (long long)a->watchdog.half_ms);
    }
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
    a->epfd = a->sigfd = a->inofd = a->lockfd = a->stop_efd = -1;
    a->start_wall_ms = lf_wall_ms();
    a->last_tick_ms = lf_mono_ms();
    a->tick_at_ms = a->last_tick_ms; /* a first tick TICK_MS after the start */
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
    lf_agent_save_checkpoints(a, lf_mono_ms()); /* remember identities of files seen at start */
    lf_log_info(&a->log, "started: %zu input(s), %zu output(s), state in %s", a->ntails, a->nouts,
                cfg->agent.state_dir);
    announce_ready(a);
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
    for (size_t o = 0; o < LF_AGENT_MAX_OUTPUTS; o++) {
        lf_outpath_close(a->outs[o]); /* NULL-safe; an output whose setup failed too */
    }
    for (size_t i = 0; i < a->ntails; i++) {
        lf_tail_destroy(a->tails[i]);
    }
    free(a->tails);
    lf_router_destroy(a->router);
    lf_tracker_destroy(a->tracker);
    lf_ckpt_close(a->ckpt);
    if (a->pid_path[0]) {
        unlink(a->pid_path);
    }
    close_fd(a->epfd);
    close_fd(a->sigfd);
    close_fd(a->inofd);
    close_fd(a->stop_efd);
    close_fd(a->lockfd);
    lf_agent_reload_fini(a);
    free(a);
}
