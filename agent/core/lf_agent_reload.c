/* lf_agent_reload.c - SIGHUP: the agent takes a new configuration without a restart.
 *
 * The file the agent was started with is read and validated again; an invalid one is
 * reported message by message (FILE:LINE:COL) and the running configuration stays.
 * lf_reload_diff says what changed. Outputs that change or go are drained at once (the
 * plugin flushes for up to shutdown_timeout, the rest goes to their spool); reading stops
 * until nothing is in flight, then the swap: unchanged outputs and inputs are kept as they
 * are (same connection, same open files), changed ones restart, new ones start, removed
 * ones stop (their checkpoints stay in the store). Nothing is read during the wait, so
 * nothing is lost or sent twice. One log line gives the counts (docs/lifecycle.md).
 */
#include <stdlib.h>
#include <sys/epoll.h>

#include "lf_agent_int.h"
#include "lf_clock.h"
#include "lf_output.h"
#include "logferry/lf_err.h"

#define RELOAD_WAIT_LOG_MS 5000

/* Reports every diagnostic of the new file in the log: errors and warnings. */
static void reload_log_diag(struct lf_agent *a, const struct lf_diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->msgs[i].kind == LF_DIAG_ERROR) {
            lf_log_error(&a->log, "reload: %s", d->msgs[i].text);
        } else {
            lf_log_warn(&a->log, "reload: %s", d->msgs[i].text);
        }
    }
}

/* The file read and validated again (as `logferry check` does); NULL if it is invalid
 * (every problem logged). */
static struct lf_config *reload_load(struct lf_agent *a)
{
    struct lf_diag d;
    struct lf_config *neu = NULL;
    const char *path = a->cfg->path;
    lf_diag_init(&d, path);
    if (lf_conf_load(path, NULL, &d, &neu) == LF_OK) {
        if (neu->outputs.n > LF_AGENT_MAX_OUTPUTS) {
            lf_diag_add(&d, LF_DIAG_ERROR, 0, 0, "at most %d outputs", LF_AGENT_MAX_OUTPUTS);
        }
        for (size_t i = 0; i < neu->outputs.n; i++) {
            const struct lf_output_conf *o = lf_conf_output(neu, i);
            if (lf_output_validate(o, a->cfg->agent.name, a->cfg->agent.state_dir) != LF_OK) {
                lf_diag_add(&d, LF_DIAG_ERROR, o->line, o->col,
                            "output '%s': rejected by the %s plugin (see the messages above)",
                            o->name, o->handle.desc->name);
            }
        }
    }
    reload_log_diag(a, &d);
    if (d.errors) {
        lf_log_error(&a->log, "reload: %s has %zu error(s); the running configuration stays", path,
                     d.errors);
        lf_conf_free(neu);
        neu = NULL;
    }
    lf_diag_fini(&d);
    return neu;
}

/* Outputs that change or go: flush now, spool the rest (their records are then done for
 * them). They stay open, idle, until the swap. */
static void reload_drain_leaving(struct lf_agent *a)
{
    int flush_ms = (int)a->next_cfg->agent.shutdown_timeout_ms;
    for (size_t j = 0; j < a->nouts; j++) {
        bool leaving = a->plan.out_removed[j];
        for (size_t i = 0; i < a->next_cfg->outputs.n; i++) {
            leaving = leaving ||
                      (a->plan.out_from[i] == (int)j && a->plan.out_fate[i] == LF_RELOAD_CHANGED);
        }
        if (leaving) {
            lf_outpath_begin_shutdown(a->outs[j]);
            lf_outpath_drain(a->outs[j], flush_ms);
        }
    }
    lf_tracker_advance(a->tracker);
}

static void reload_done(struct lf_agent *a, const char *what)
{
    char line[400];
    lf_agent_status_line(a, line, sizeof(line));
    lf_notify_ready(line);
    if (what) {
        lf_log_info(&a->log, "%s", what);
    }
}

/* Keeps neu for good: the pieces built from it borrow from it. */
static int reload_own(struct lf_agent *a, struct lf_config *neu)
{
    struct lf_config **v = realloc(a->owned, (a->nowned + 1) * sizeof(*v));
    if (!v) {
        return LF_ENOMEM;
    }
    a->owned = v;
    a->owned[a->nowned++] = neu;
    return LF_OK;
}

static void reload_gc(struct lf_agent *a);

/* Nothing to restart and nothing moves: the new values of the live agent keys apply at
 * once, without waiting for the records in flight (the running pieces keep borrowing
 * from the configurations they were built from). */
static bool reload_in_place(struct lf_agent *a, struct lf_config *neu)
{
    char what[160], line[400];
    if (!lf_reload_plan_empty(&a->plan)) {
        return false;
    }
    for (size_t i = 0; i < neu->outputs.n; i++) {
        if (a->plan.out_from[i] != (int)i) {
            return false;
        }
    }
    for (size_t i = 0; i < neu->inputs.n; i++) {
        if (a->plan.in_from[i] != (int)i) {
            return false;
        }
    }
    lf_router_destroy(a->next_router);
    a->next_router = NULL;
    a->cfg = neu;
    a->ckpt_policy.interval_ms = neu->agent.checkpoint_interval_ms;
    a->reloads++;
    lf_reload_summary(&a->plan, what, sizeof(what));
    lf_reload_plan_free(&a->plan);
    reload_gc(a);
    snprintf(line, sizeof(line), "reload: %s", what);
    reload_done(a, line);
    return true;
}

void lf_agent_reload_begin(struct lf_agent *a)
{
    if (a->stopping) {
        lf_log_info(&a->log, "reload: ignored, the agent is shutting down");
        return;
    }
    if (a->next_cfg) {
        a->reload_again = true;
        lf_log_info(&a->log, "reload: one is in progress; the file is read again after it");
        return;
    }
    lf_log_info(&a->log, "reload: reading %s", a->cfg->path);
    lf_notify_reloading();
    struct lf_config *neu = reload_load(a);
    if (neu && lf_router_create(neu, a->tracker, a->outs, neu->outputs.n, &a->budget, &a->log,
                                &a->next_router) != LF_OK) {
        lf_log_error(&a->log, "reload: %s: the running configuration stays", neu->path);
        lf_conf_free(neu);
        neu = NULL;
    }
    if (!neu || lf_reload_diff(a->cfg, neu, &a->plan) != LF_OK ||
        lf_reload_keep_agent(a->cfg, neu) != LF_OK || reload_own(a, neu) != LF_OK) {
        if (neu) {
            lf_log_error(&a->log, "reload: out of memory; the running configuration stays");
            lf_reload_plan_free(&a->plan);
            lf_conf_free(neu);
            lf_router_destroy(a->next_router);
            a->next_router = NULL;
        }
        reload_done(a, NULL);
        return;
    }
    if (a->plan.restart_keys[0]) {
        lf_log_warn(&a->log,
                    "reload: %s cannot change while running: restart needed; the "
                    "running value(s) stay",
                    a->plan.restart_keys);
    }
    if (reload_in_place(a, neu)) {
        return;
    }
    a->next_cfg = neu;
    a->reload_log_ms = lf_mono_ms() + RELOAD_WAIT_LOG_MS;
    reload_drain_leaving(a);
    /* the swap comes from lf_agent_reload_poll, after the events of this loop turn: an
     * event already taken for an output slot must not meet another output there */
}

/* Outputs in the new configuration's order: the kept ones move to their new bit (nothing
 * is in flight), the others were drained and close; then the new and changed ones start.
 * LF_OK, or the error of an output that could not start (logged). */
static int reload_outputs(struct lf_agent *a, const struct lf_config *neu)
{
    struct lf_outpath *kept[LF_AGENT_MAX_OUTPUTS] = {0};
    for (size_t i = 0; i < neu->outputs.n; i++) {
        int j = a->plan.out_from[i];
        if (a->plan.out_fate[i] == LF_RELOAD_SAME) {
            kept[i] = a->outs[j];
            a->outs[j] = NULL;
        }
    }
    for (size_t j = 0; j < a->nouts; j++) {
        lf_outpath_close(a->outs[j]); /* drained at the start of the reload */
        a->outs[j] = NULL;
    }
    a->nouts = 0;
    int rc = LF_OK;
    for (size_t i = 0; i < neu->outputs.n && rc == LF_OK; i++) {
        if (kept[i]) {
            struct epoll_event ev = {.events = EPOLLIN,
                                     .data.u32 = LF_AGENT_EV_OUTPUT + (uint32_t)i};
            a->outs[i] = kept[i];
            lf_outpath_set_slot(kept[i], (unsigned)i);
            rc =
                epoll_ctl(a->epfd, EPOLL_CTL_MOD, lf_outpath_ack_fd(kept[i]), &ev) ? LF_EIO : LF_OK;
        } else {
            rc = lf_agent_open_output(a, neu, i, i);
        }
        a->nouts = a->outs[i] ? i + 1 : a->nouts;
    }
    for (size_t i = a->nouts; i < neu->outputs.n; i++) {
        if (kept[i] && !a->outs[i]) {
            a->outs[i] = kept[i]; /* after a failure: closed at destroy */
        }
    }
    return rc;
}

/* Inputs in the new order: kept tails keep their files, offsets and multi-line state;
 * the others are closed (their checkpoints stay in the store) and created again from the
 * store. A closing tail leaves its inotify watches: another input may share them. */
static int reload_inputs(struct lf_agent *a, const struct lf_config *neu)
{
    struct lf_tail **tails = calloc(neu->inputs.n ? neu->inputs.n : 1, sizeof(*tails));
    if (!tails) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < neu->inputs.n; i++) {
        int j = a->plan.in_from[i];
        if (a->plan.in_fate[i] == LF_RELOAD_SAME) {
            tails[i] = a->tails[j];
            a->tails[j] = NULL;
            tails[i]->index = (int)i;
            lf_router_sink(a->router, &tails[i]->sink);
        }
    }
    for (size_t j = 0; j < a->ntails; j++) {
        if (a->tails[j]) {
            a->tails[j]->inofd = -1;
            lf_tail_destroy(a->tails[j]);
        }
    }
    free(a->tails);
    a->tails = tails;
    a->ntails = neu->inputs.n;
    int rc = LF_OK;
    for (size_t i = 0; i < neu->inputs.n; i++) {
        int r = tails[i] ? LF_OK : lf_agent_create_tail(a, neu, i);
        rc = rc == LF_OK ? r : rc;
    }
    return rc;
}

/* True if a running piece borrows from c. */
static bool reload_in_use(const struct lf_agent *a, const struct lf_config *c)
{
    const char *lo = c->inputs.v, *hi = lo + c->inputs.n * sizeof(struct lf_input_conf);
    for (size_t o = 0; o < a->nouts; o++) {
        if (lf_outpath_config(a->outs[o]) == c) {
            return true;
        }
    }
    for (size_t i = 0; i < a->ntails; i++) {
        const char *p = a->tails[i] ? (const char *)a->tails[i]->conf : NULL;
        if (p && p >= lo && p < hi) {
            return true;
        }
    }
    return c == a->cfg || c == a->router_cfg;
}

/* Frees the configurations of earlier reloads nothing borrows from any more. */
static void reload_gc(struct lf_agent *a)
{
    size_t n = 0;
    for (size_t k = 0; k < a->nowned; k++) {
        if (reload_in_use(a, a->owned[k])) {
            a->owned[n++] = a->owned[k];
        } else {
            lf_conf_free(a->owned[k]);
        }
    }
    a->nowned = n;
}

/* The swap, with nothing in flight. An output that cannot start (it passed validation,
 * so: no memory, a file it cannot open...) ends the agent with a failure once checkpoints
 * are written (nothing is in flight): the service manager starts it again. */
static void reload_apply(struct lf_agent *a)
{
    struct lf_config *neu = a->next_cfg;
    char what[160], line[400];
    lf_agent_save_checkpoints(a, lf_mono_ms()); /* the store has every committed offset */
    int rc = reload_outputs(a, neu);
    struct lf_router_stats rs;
    lf_router_get_stats(a->router, &rs);
    a->read_before_reloads += rs.records_read;
    a->filtered_before_reloads += rs.records_filtered;
    lf_router_destroy(a->router);
    a->router = a->next_router;
    a->router_cfg = neu;
    a->next_router = NULL;
    if (rc == LF_OK) {
        rc = reload_inputs(a, neu);
    }
    a->cfg = neu;
    a->next_cfg = NULL;
    a->ckpt_policy.interval_ms = neu->agent.checkpoint_interval_ms;
    a->reloads++;
    lf_reload_summary(&a->plan, what, sizeof(what));
    lf_reload_plan_free(&a->plan);
    if (rc != LF_OK) {
        lf_agent_save_checkpoints(a, lf_mono_ms());
        lf_log_error(&a->log,
                     "reload: %s: could not start everything (%s); exiting so that "
                     "the service manager starts the agent again",
                     what, lf_strerror(rc));
        a->fatal = true;
        return;
    }
    reload_gc(a);
    snprintf(line, sizeof(line), "reload: %s", what);
    reload_done(a, line);
}

void lf_agent_reload_poll(struct lf_agent *a)
{
    if (!a->next_cfg) {
        return;
    }
    if (a->stopping) {
        lf_log_info(&a->log, "reload: abandoned, the agent is shutting down");
        a->next_cfg = NULL; /* owned: freed at destroy */
        lf_reload_plan_free(&a->plan);
        lf_router_destroy(a->next_router);
        a->next_router = NULL;
        return;
    }
    int64_t now = lf_mono_ms();
    if (lf_tracker_any_pending(a->tracker)) {
        if (now >= a->reload_log_ms) {
            a->reload_log_ms = now + RELOAD_WAIT_LOG_MS;
            lf_log_info(&a->log, "reload: waiting for %zu bytes of records in flight",
                        a->budget.live_bytes);
        }
        return;
    }
    reload_apply(a);
    if (a->reload_again && !a->stopping) {
        a->reload_again = false;
        lf_agent_reload_begin(a);
    }
}

void lf_agent_reload_fini(struct lf_agent *a)
{
    lf_reload_plan_free(&a->plan);
    lf_router_destroy(a->next_router);
    for (size_t k = 0; k < a->nowned; k++) {
        lf_conf_free(a->owned[k]);
    }
    free(a->owned);
    a->owned = NULL;
    a->nowned = 0;
}
