/* lf_outflow.c - what happens to an output's records besides the plain send: the circuit
 * breaker, the spool during outages, and draining it in order when the output recovers.
 *
 * A record read from a log file goes straight to the output while its breaker is closed
 * and its spool is empty. Otherwise it joins the spill list, which is appended to the
 * spool at the end of each loop turn; once the spool is durable (buffer.fsync) the record
 * counts as done for that output, so checkpoints may pass it. The drainer reads the
 * spool from its head and sends a window of records; their outcomes acknowledge frames
 * in the spool, which deletes a segment when all its frames are acknowledged.
 *
 * The breaker opens after breaker.failure_threshold consecutive retriable outcomes, or
 * when records have waited breaker.stall_timeout without any outcome (a dead broker
 * often produces no outcome at all until the client's own timeout). Opening asks the
 * worker and plugin to hand back what they hold (lf_output_purge); those records come
 * back as retriable outcomes and are spooled in file order. After the open period one
 * probe batch from the spool decides: closed again, or open for twice as long.
 */
#include <stdlib.h>
#include <string.h>

#include "lf_agent_int.h"
#include "lf_clock.h"
#include "logferry/lf_err.h"
#include "tail.h"

#define DRAIN_WINDOW     4096 /* spool records in flight to one output */
#define PROBE_BATCH      16   /* spool records sent by a half-open breaker */
#define BLOCKED_RETRY_MS 1000 /* a refusing spool is offered records again this often */

/* ---- record lists ------------------------------------------------------------------- */

static int list_add(struct rec_list *l, struct lf_rec *r)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct lf_rec **v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            return LF_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = r;
    return LF_OK;
}

static void list_free(struct rec_list *l)
{
    free(l->v);
    *l = (struct rec_list){0};
}

/* Spill order: by file, then by offset, so each file's records enter the spool in the
 * order they were read even when some came back late from the plugin. */
static int spill_cmp(const void *pa, const void *pb)
{
    const struct lf_rec *x = *(struct lf_rec *const *)pa;
    const struct lf_rec *y = *(struct lf_rec *const *)pb;
    if (x->file != y->file) {
        return (uintptr_t)x->file < (uintptr_t)y->file ? -1 : 1;
    }
    return x->start_offset < y->start_offset ? -1 : x->start_offset > y->start_offset;
}

/* ---- spool records -------------------------------------------------------------------- */

static void to_frame(const struct lf_rec *r, struct lf_spool_rec *f)
{
    const struct lf_tail_file *tf = rec_tail_file(r);
    *f = (struct lf_spool_rec){
        .payload = r->pub.payload,
        .payload_len = r->pub.payload_len,
        .id = r->pub.id,
        .source = r->pub.source ? r->pub.source : "",
        .input = r->pub.input ? r->pub.input : "",
        .type = (int)r->pub.type,
        .timestamp_ms = r->pub.timestamp_ms,
        .attempts = r->pub.attempts,
        .first_failure_ms = r->first_failure_ms,
        .dev = tf ? tf->id.dev : 0,
        .ino = tf ? tf->id.ino : 0,
        .start_offset = r->start_offset,
        .end_offset = r->end_offset,
    };
}

/* A record made from a spool frame: one allocation with the payload, source and input.
 * It belongs to no log file (file NULL) and only to output o. */
static struct lf_rec *rec_from_frame(const struct lf_spool_rec *f, struct lf_spool_pos pos,
                                     size_t o)
{
    size_t slen = strlen(f->source), ilen = strlen(f->input);
    struct lf_rec *r = malloc(sizeof(*r) + f->payload_len + 1 + slen + 1 + ilen + 1);
    if (!r) {
        return NULL;
    }
    memset(r, 0, sizeof(*r));
    char *p = r->payload;
    memcpy(p, f->payload, f->payload_len + 1);
    char *src = p + f->payload_len + 1;
    memcpy(src, f->source, slen + 1);
    char *in = src + slen + 1;
    memcpy(in, f->input, ilen + 1);
    r->pub.payload = r->payload;
    r->pub.payload_len = f->payload_len;
    r->pub.type = (enum lf_record_type)f->type;
    snprintf(r->pub.id, sizeof(r->pub.id), "%s", f->id);
    r->pub.source = src;
    r->pub.input = in;
    r->pub.timestamp_ms = f->timestamp_ms;
    r->pub.attempts = f->attempts;
    r->first_failure_ms = f->first_failure_ms;
    r->start_offset = f->start_offset;
    r->end_offset = f->end_offset;
    r->route_mask = 1u << o;
    r->spool_seg = pos.seg;
    r->spool_off = pos.off;
    return r;
}

static struct lf_spool_pos pos_of(const struct lf_rec *r)
{
    return (struct lf_spool_pos){.seg = r->spool_seg, .off = r->spool_off};
}

/* ---- open / close ------------------------------------------------------------------- */

int flow_open(struct lf_agent *a, size_t o)
{
    struct out_slot *s = &a->outs[o];
    const struct lf_config *c = a->cfg;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/spool/%s", c->agent.state_dir, s->conf->name);
    struct lf_spool_opts opts = {
        .max_size = c->buffer.max_size,
        .segment_size = c->buffer.segment_size,
        .when_full = (enum lf_spool_when_full)c->buffer.when_full,
    };
    lf_breaker_init(&s->breaker, c->breaker.failure_threshold, c->breaker.open_for_ms,
                    c->breaker.max_open_for_ms);
    int rc = lf_spool_open(dir, &opts, &a->log, &s->spool);
    if (rc != LF_OK) {
        lf_log_error(&a->log, "output %s: cannot open its spool %s: %s", s->conf->name, dir,
                     lf_strerror(rc));
        return rc;
    }
    struct lf_spool_stats st;
    lf_spool_get_stats(s->spool, &st);
    if (st.records) {
        lf_log_info(&a->log,
                    "output %s: spool holds %llu record(s) from before; sending them "
                    "first",
                    s->conf->name, (unsigned long long)st.records);
    }
    if (st.quarantined) {
        lf_log_warn(&a->log, "output %s: %llu corrupt spool frame(s) quarantined in %s/quarantine",
                    s->conf->name, (unsigned long long)st.quarantined, dir);
    }
    return LF_OK;
}

void flow_close(struct lf_agent *a, size_t o)
{
    struct out_slot *s = &a->outs[o];
    if (s->spool) {
        lf_spool_close(s->spool);
    }
    s->spool = NULL;
    list_free(&s->spill);
    list_free(&s->unsynced);
}

/* ---- breaker transitions --------------------------------------------------------------- */

static void on_breaker_open(struct lf_agent *a, size_t o, int64_t now, const char *why)
{
    struct out_slot *s = &a->outs[o];
    s->opened_ms = now;
    s->probe_sent = false;
    a->stats.breaker_opens++;
    lf_log_warn(&a->log,
                "output %s: breaker open (%s); records go to the spool, next probe in %lld ms",
                s->conf->name, why, (long long)s->breaker.open_ms);
    lf_output_purge(s->ins);
    for (size_t i = 0; i < s->nretries; i++) { /* retries wait in the spool instead */
        if (list_add(&s->spill, s->retries[i].rec) != LF_OK) {
            memmove(s->retries, s->retries + i, (s->nretries - i) * sizeof(*s->retries));
            s->nretries -= i;
            return;
        }
    }
    s->nretries = 0;
}

static void breaker_failed(struct lf_agent *a, size_t o, int64_t now)
{
    struct out_slot *s = &a->outs[o];
    bool was_half = s->breaker.state == LF_BREAKER_HALF_OPEN;
    if (lf_breaker_failure(&s->breaker, now)) {
        on_breaker_open(a, o, now, was_half ? "the probe failed" : "consecutive failures");
    }
}

static void breaker_succeeded(struct lf_agent *a, size_t o)
{
    struct out_slot *s = &a->outs[o];
    if (lf_breaker_success(&s->breaker)) {
        s->probe_sent = false;
        lf_log_info(&a->log, "output %s: breaker closed; draining the spool", s->conf->name);
    }
}

/* ---- routing and spooling ------------------------------------------------------------ */

static bool spooling(const struct out_slot *s)
{
    return s->breaker.state != LF_BREAKER_CLOSED || s->spill.n || s->drain_inflight ||
           !lf_spool_empty(s->spool);
}

int flow_route(struct lf_agent *a, size_t o, struct lf_rec *r)
{
    struct out_slot *s = &a->outs[o];
    if (spooling(s)) {
        return list_add(&s->spill, r);
    }
    return agent_batch_add(s, r);
}

void flow_pushed(struct lf_agent *a, size_t o, size_t n, int64_t now)
{
    struct out_slot *s = &a->outs[o];
    if (s->inflight + s->drain_inflight == 0) {
        s->last_outcome_ms = now;
    }
    s->inflight += n;
}

bool flow_blocked(const struct lf_agent *a, size_t o)
{
    return a->outs[o].blocked;
}

/* While the breaker has just opened, records handed back by the plugin are still
 * arriving: hold the spill so that each file's records enter the spool in order. */
static bool spill_held(const struct lf_agent *a, const struct out_slot *s, int64_t now)
{
    return !a->stopping && s->breaker.state == LF_BREAKER_OPEN && s->inflight > 0 &&
           now - s->opened_ms < a->cfg->breaker.stall_timeout_ms;
}

/* Only drop_oldest drops; lf_spool_get_stats reads a frame header from disk, so the
 * other mode does not pay it on every append. */
static void note_dropped(struct lf_agent *a, struct out_slot *s)
{
    if (a->cfg->buffer.when_full != LF_SPOOL_DROP_OLDEST) {
        return;
    }
    struct lf_spool_stats st;
    lf_spool_get_stats(s->spool, &st);
    if (st.dropped_records > s->dropped_seen) {
        lf_log_error(&a->log,
                     "output %s: spool full: dropped the %llu oldest spooled record(s) "
                     "(buffer.when_full: drop_oldest), %llu in total",
                     s->conf->name, (unsigned long long)(st.dropped_records - s->dropped_seen),
                     (unsigned long long)st.dropped_records);
        s->dropped_seen = st.dropped_records;
    }
}

static void spill_append(struct lf_agent *a, size_t o)
{
    struct out_slot *s = &a->outs[o];
    size_t done = 0;
    int rc = LF_OK;
    qsort(s->spill.v, s->spill.n, sizeof(*s->spill.v), spill_cmp);
    for (; done < s->spill.n; done++) {
        struct lf_spool_rec f;
        to_frame(s->spill.v[done], &f);
        rc = lf_spool_append(s->spool, &f);
        if (rc != LF_OK || list_add(&s->unsynced, s->spill.v[done]) != LF_OK) {
            break;
        }
        a->stats.records_spooled++;
    }
    memmove(s->spill.v, s->spill.v + done, (s->spill.n - done) * sizeof(*s->spill.v));
    s->spill.n -= done;
    bool blocked = s->spill.n > 0;
    if (blocked && !s->blocked) {
        lf_log_error(&a->log,
                     "output %s: spool refuses records (%s); reading the inputs routed to it "
                     "stops until it accepts them again",
                     s->conf->name, rc == LF_ETOOBIG ? "buffer.max_size reached" : lf_strerror(rc));
    } else if (!blocked && s->blocked) {
        lf_log_info(&a->log, "output %s: spool accepts records again", s->conf->name);
    }
    s->blocked = blocked;
    note_dropped(a, s);
}

static void spool_sync(struct lf_agent *a, size_t o)
{
    struct out_slot *s = &a->outs[o];
    int rc = lf_spool_sync(s->spool);
    if (rc != LF_OK) {
        /* A later fsync may report success although these pages were lost: write the
         * records again (the spool may then hold some twice: at-least-once). */
        lf_log_error(&a->log, "output %s: spool sync failed: %s; writing %zu record(s) again",
                     s->conf->name, lf_strerror(rc), s->unsynced.n);
        for (size_t i = 0; i < s->unsynced.n; i++) {
            if (list_add(&s->spill, s->unsynced.v[i]) != LF_OK) {
                break; /* left unacknowledged: read again from the log file after restart */
            }
        }
        s->unsynced.n = 0;
        return;
    }
    for (size_t i = 0; i < s->unsynced.n; i++) {
        agent_finish_for_output(a, s->unsynced.v[i], o);
    }
    s->unsynced.n = 0;
}

void flow_commit(struct lf_agent *a, size_t o, bool force_sync)
{
    struct out_slot *s = &a->outs[o];
    if (s->spill.n) {
        int64_t now = lf_mono_ms();
        bool retry_due = !s->blocked || now >= s->retry_append_ms || a->stopping;
        if (retry_due && !spill_held(a, s, now)) {
            spill_append(a, o);
            s->retry_append_ms = now + BLOCKED_RETRY_MS;
        }
    }
    int policy = a->cfg->buffer.fsync;
    if (s->unsynced.n && (force_sync || policy != LF_FSYNC_BATCH)) {
        if (policy == LF_FSYNC_NEVER && !force_sync) {
            for (size_t i = 0; i < s->unsynced.n; i++) {
                agent_finish_for_output(a, s->unsynced.v[i], o);
            }
            s->unsynced.n = 0;
        } else {
            spool_sync(a, o);
        }
    }
}

/* ---- outcomes --------------------------------------------------------------------------- */

static void on_spool_record_ack(struct lf_agent *a, size_t o, struct lf_rec *r, struct lf_ack *ack,
                                int64_t now, struct rec_list *spool_done)
{
    struct out_slot *s = &a->outs[o];
    if (s->drain_inflight) {
        s->drain_inflight--;
    }
    if (ack->outcome == LF_DELIVERED || ack->outcome == LF_REJECTED) {
        if (ack->outcome == LF_DELIVERED) {
            a->stats.records_delivered++;
            breaker_succeeded(a, o);
        } else if (!agent_dead_letter(a, o, r, ack->reason)) {
            s->need_rewind = true; /* not dead-lettered: stays in the spool */
            free(r);
            return;
        }
        if (list_add(spool_done, r) != LF_OK) {
            free(r); /* not acked in the spool: sent again after a restart (duplicate) */
        }
        return;
    }
    /* Retriable: the frame stays in the spool and is read again from the first
     * unacknowledged one once the window is empty. */
    s->need_rewind = true;
    if (!a->stopping) {
        breaker_failed(a, o, now);
    }
    free(r);
}

void flow_spool_done(struct lf_agent *a, size_t o, struct rec_list *done)
{
    struct out_slot *s = &a->outs[o];
    for (size_t i = 0; i < done->n; i++) {
        lf_spool_ack(s->spool, pos_of(done->v[i]));
        a->stats.records_drained++;
        free(done->v[i]);
    }
    done->n = 0;
}

void flow_on_ack(struct lf_agent *a, size_t o, struct lf_ack *ack, int64_t now,
                 struct rec_list *spool_done)
{
    struct out_slot *s = &a->outs[o];
    struct lf_rec *r = lf_rec_of(ack->rec);
    s->last_outcome_ms = now;
    if (!r->file) {
        on_spool_record_ack(a, o, r, ack, now, spool_done);
        return;
    }
    if (s->inflight) {
        s->inflight--;
    }
    if (r->done_mask & (1u << o)) {
        return; /* a second outcome for the same record: ignore */
    }
    switch (ack->outcome) {
    case LF_DELIVERED:
        a->stats.records_delivered++;
        breaker_succeeded(a, o);
        agent_finish_for_output(a, r, o);
        break;
    case LF_REJECTED:
        if (agent_dead_letter(a, o, r, ack->reason)) {
            agent_finish_for_output(a, r, o);
        }
        break;
    default:
        if (!r->first_failure_ms) {
            r->first_failure_ms = lf_wall_ms();
        }
        if (!a->stopping) {
            breaker_failed(a, o, now);
        }
        if (a->stopping || s->breaker.state != LF_BREAKER_CLOSED) {
            if (list_add(&s->spill, r) != LF_OK) {
                lf_log_error(&a->log, "out of memory: record %s stays unacknowledged", r->pub.id);
            }
        } else {
            agent_schedule_retry(a, o, r);
        }
        break;
    }
}

/* ---- tick and drain -------------------------------------------------------------------- */

static bool push_from_spool(struct lf_agent *a, size_t o, size_t max)
{
    struct out_slot *s = &a->outs[o];
    size_t pushed = 0;
    while (pushed < max) {
        struct lf_spool_rec f;
        struct lf_spool_pos pos;
        if (lf_spool_read(s->spool, &f, &pos) != LF_OK) {
            break;
        }
        struct lf_rec *r = rec_from_frame(&f, pos, o);
        lf_spool_rec_free(&f);
        if (!r || agent_batch_add(s, r) != LF_OK) {
            free(r);
            s->need_rewind = true;
            break;
        }
        pushed++;
    }
    if (pushed) {
        if (s->inflight + s->drain_inflight == 0) {
            s->last_outcome_ms = lf_mono_ms();
        }
        s->drain_inflight += pushed;
        if (lf_output_push(s->ins, s->batch, s->nbatch) != LF_OK) {
            lf_log_error(&a->log, "out of memory queueing spool records for %s", s->conf->name);
        }
        s->nbatch = 0;
    }
    return pushed > 0;
}

void flow_drain(struct lf_agent *a, size_t o)
{
    struct out_slot *s = &a->outs[o];
    if (a->stopping || s->nbatch) {
        return; /* nbatch: log-file records of this turn are pushed first */
    }
    if (s->need_rewind) {
        if (s->drain_inflight) {
            return;
        }
        lf_spool_rewind(s->spool);
        s->need_rewind = false;
    }
    if (s->breaker.state == LF_BREAKER_HALF_OPEN) {
        if (s->probe_sent) {
            return;
        }
        if (lf_spool_empty(s->spool) && !s->spill.n) {
            breaker_succeeded(a, o); /* nothing to probe with: try the live records */
            return;
        }
        s->probe_sent = push_from_spool(a, o, PROBE_BATCH);
        return;
    }
    if (s->breaker.state == LF_BREAKER_CLOSED && s->drain_inflight < DRAIN_WINDOW) {
        push_from_spool(a, o, DRAIN_WINDOW - s->drain_inflight);
    }
}

void flow_tick(struct lf_agent *a, size_t o, int64_t now)
{
    struct out_slot *s = &a->outs[o];
    int64_t stall = a->cfg->breaker.stall_timeout_ms;
    if (!a->stopping && s->inflight + s->drain_inflight > 0 && now - s->last_outcome_ms > stall &&
        lf_breaker_trip(&s->breaker, now)) {
        on_breaker_open(a, o, now, "no outcome from the output for breaker.stall_timeout");
        s->last_outcome_ms = now;
    }
    if (lf_breaker_poll(&s->breaker, now)) {
        lf_log_info(&a->log, "output %s: breaker half-open; sending a probe", s->conf->name);
    }
    flow_commit(a, o, true);
    flow_drain(a, o);
}

void flow_shutdown(struct lf_agent *a, size_t o)
{
    struct out_slot *s = &a->outs[o];
    for (size_t i = 0; i < s->nretries; i++) {
        if (list_add(&s->spill, s->retries[i].rec) != LF_OK) {
            break; /* stays unacknowledged: read again after restart */
        }
    }
    s->nretries = 0;
    if (s->spill.n) {
        lf_log_info(&a->log, "output %s: %zu unacknowledged record(s) go to the spool",
                    s->conf->name, s->spill.n);
    }
    flow_commit(a, o, true);
    if (s->unsynced.n == 0 && lf_spool_sync(s->spool) != LF_OK) { /* persists the head */
        lf_log_warn(&a->log,
                    "output %s: cannot sync its spool at shutdown; records acked "
                    "since the last sync may be sent again after restart",
                    s->conf->name);
    }
}
