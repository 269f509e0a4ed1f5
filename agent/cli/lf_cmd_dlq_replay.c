/* lf_cmd_dlq_replay.c - `logferry dlq replay`: sends dead letters of one store through the
 * output instance of the config (the plugin and worker the agent runs, lf_output.h), with
 * the record's id and bytes unchanged, and removes each from the store only once the
 * destination acknowledged it.
 *
 * Acknowledged ids are journaled (fsynced) after every batch of outcomes, so a replay
 * killed at any point and run again sends again only what was in flight. Retriable
 * outcomes are retried with a growing delay (1 s, x2) up to REPLAY_ATTEMPTS sends; the
 * replay gives up on the rest when nothing was delivered for REPLAY_STALL_MS (the
 * destination is down: the records stay in the store). Rejected records stay too.
 * The output's circuit breaker (breaker: in the config) works as in the agent: after
 * failure_threshold retriable failures in a row nothing is sent for open_for, then one
 * probe; failures while it is not closed do not use up a record's attempts. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lf_agent.h"
#include "lf_breaker.h"
#include "lf_cmd_dlq.h"
#include "lf_conf.h"
#include "lf_output.h"
#include "logferry/lf_err.h"

#define REPLAY_WINDOW   512 /* records in flight at once */
#define REPLAY_ATTEMPTS 5
#define REPLAY_STALL_MS 30000

enum replay_state { R_WAIT, R_FLIGHT, R_DONE, R_REJECTED, R_FAILED };

struct replay_item {
    struct lf_record rec; /* payload points into the store entry */
    char *src;
    enum replay_state state;
    int charged; /* retriable failures counted against REPLAY_ATTEMPTS */
    int64_t due_ms;
    char *reason; /* last one, owned */
};

struct replay {
    struct lf_dlq_store *st;
    struct replay_item *items;
    size_t n, inflight, done, rejected, failed, next;
    int64_t last_progress_ms;
    bool tty;
    struct lf_breaker breaker;
};

static int64_t replay_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The record as the agent made it: type, source and timestamp read from its fields. */
static int replay_item_init(struct replay_item *it, const struct lf_dlq_item *e)
{
    char buf[256];
    memset(it, 0, sizeof(*it));
    char *payload = strndup(e->rec, e->rec_len);
    if (!payload) {
        return LF_ENOMEM;
    }
    it->rec.payload = payload;
    it->rec.payload_len = e->rec_len;
    snprintf(it->rec.id, sizeof(it->rec.id), "%s", e->id);
    if (lf_record_field(&it->rec, "type", buf, sizeof(buf)) >= 0) {
        for (int t = 0; t < LF_TYPE_COUNT; t++) {
            if (strcmp(buf, lf_record_type_name((enum lf_record_type)t)) == 0) {
                it->rec.type = (enum lf_record_type)t;
            }
        }
    }
    if (lf_record_field(&it->rec, "@timestamp", buf, sizeof(buf)) >= 0) {
        int64_t ms = lf_dlq_parse_time(buf);
        it->rec.timestamp_ms = ms > 0 ? ms : 0;
    }
    if (lf_record_field(&it->rec, "log.file.path", buf, sizeof(buf)) >= 0) {
        it->src = strdup(buf);
    }
    it->rec.source = it->src ? it->src : "";
    it->rec.input = "dlq-replay";
    return LF_OK;
}

static void replay_progress(struct replay *r, bool last)
{
    if (!r->tty) {
        return;
    }
    size_t end = r->done + r->rejected + r->failed;
    int width = 40, fill = r->n ? (int)(end * (size_t)width / r->n) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", fill, "########################################",
            width - fill, "", end, r->n);
    if (last) {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

/* Applies one outcome; the ids delivered go to done_ids (borrowed from the entries). */
static void replay_outcome(struct replay *r, struct lf_ack *ack, const char **done_ids,
                           size_t *ndone, int64_t now)
{
    struct replay_item *it = (struct replay_item *)ack->rec; /* rec is the first member */
    r->inflight--;
    free(it->reason);
    it->reason = ack->reason;
    ack->reason = NULL;
    bool was_closed = r->breaker.state == LF_BREAKER_CLOSED;
    if (ack->outcome == LF_DELIVERED) {
        lf_breaker_success(&r->breaker);
        it->state = R_DONE;
        r->done++;
        done_ids[(*ndone)++] = it->rec.id;
        r->last_progress_ms = now;
    } else if (ack->outcome == LF_REJECTED) {
        it->state = R_REJECTED;
        r->rejected++;
    } else if (lf_breaker_failure(&r->breaker, now) || !was_closed) {
        it->rec.attempts++;
        it->state = R_WAIT; /* an outage, not this record's fault: no attempt charged */
        it->due_ms = now;
    } else if (++it->rec.attempts, ++it->charged >= REPLAY_ATTEMPTS) {
        it->state = R_FAILED;
        r->failed++;
    } else {
        it->state = R_WAIT;
        it->due_ms = now + (1000LL << (it->charged - 1));
    }
}

/* Takes the outcomes waiting and journals the delivered ids. */
static int replay_take(struct replay *r, struct lf_out_instance *o)
{
    struct lf_ack *acks = NULL;
    size_t n = lf_output_take_acks(o, &acks);
    const char **ids = n ? calloc(n, sizeof(*ids)) : NULL;
    size_t nids = 0;
    int rc = n && !ids ? LF_ENOMEM : LF_OK;
    int64_t now = replay_now();
    for (size_t i = 0; i < n && rc == LF_OK; i++) {
        replay_outcome(r, &acks[i], ids, &nids, now);
    }
    rc = rc == LF_OK && nids ? lf_dlq_store_mark_done(r->st, ids, nids) : rc;
    for (size_t i = 0; i < n; i++) {
        free(acks[i].reason);
    }
    free(acks);
    free(ids);
    return rc;
}

/* Pushes what is due, up to the window (the breaker open: nothing; half-open: a probe). */
static int replay_push(struct replay *r, struct lf_out_instance *o, int64_t now)
{
    struct lf_record *batch[64];
    size_t nb = 0, window = REPLAY_WINDOW;
    lf_breaker_poll(&r->breaker, now);
    if (r->breaker.state != LF_BREAKER_CLOSED) {
        window = r->breaker.state == LF_BREAKER_HALF_OPEN && !r->inflight ? 1 : 0;
    }
    for (size_t i = 0; i < r->n && r->inflight + nb < window; i++) {
        struct replay_item *it = &r->items[i];
        if (it->state == R_WAIT && it->due_ms <= now) {
            it->state = R_FLIGHT;
            batch[nb++] = &it->rec;
        }
        if (nb == sizeof(batch) / sizeof(batch[0])) {
            if (lf_output_push(o, batch, nb) != LF_OK) {
                return LF_ENOMEM;
            }
            r->inflight += nb;
            nb = 0;
        }
    }
    if (nb && lf_output_push(o, batch, nb) != LF_OK) {
        return LF_ENOMEM;
    }
    r->inflight += nb;
    return LF_OK;
}

/* Gives up on the records not delivered when the destination made no progress. */
static void replay_give_up(struct replay *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->items[i].state == R_WAIT) {
            r->items[i].state = R_FAILED;
            r->failed++;
        }
    }
}

static int replay_loop(struct replay *r, struct lf_out_instance *o)
{
    r->last_progress_ms = replay_now();
    int rc = LF_OK;
    while (rc == LF_OK && r->done + r->rejected + r->failed < r->n) {
        int64_t now = replay_now();
        if (now - r->last_progress_ms > REPLAY_STALL_MS) {
            replay_give_up(r);
            if (!r->inflight) {
                break;
            }
        }
        rc = replay_push(r, o, now);
        struct pollfd p = {.fd = o->ack_efd, .events = POLLIN};
        if (rc == LF_OK && poll(&p, 1, 100) > 0) {
            uint64_t v;
            ssize_t rd = read(o->ack_efd, &v, sizeof(v));
            (void)rd;
        }
        rc = rc == LF_OK ? replay_take(r, o) : rc;
        replay_progress(r, false);
    }
    return rc;
}

static int replay_find_output(const struct lf_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->outputs.n; i++) {
        if (strcmp(lf_conf_output(cfg, i)->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void replay_summary(struct replay *r, const char *to)
{
    replay_progress(r, true);
    printf("replayed %zu of %zu dead letters of '%s' to output '%s': %zu rejected, %zu not "
           "delivered; %zu left in the store\n",
           r->done, r->n, r->st->output, to, r->rejected, r->failed, r->n - r->done);
    if (r->breaker.opened) {
        printf("the circuit breaker of '%s' opened %llu time%s during the replay\n", to,
               (unsigned long long)r->breaker.opened, r->breaker.opened == 1 ? "" : "s");
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct replay_item *it = &r->items[i];
        if (it->state == R_REJECTED || it->state == R_FAILED) {
            fprintf(stderr, "  %s: %s (%s)\n", it->rec.id,
                    it->state == R_REJECTED ? "rejected" : "not delivered",
                    it->reason ? it->reason : "no reason given");
        }
    }
}

static int replay_run(struct replay *r, const struct lf_config *cfg, int idx, const char *to)
{
    struct lf_out_instance *o;
    const struct lf_output_conf *oc = lf_conf_output(cfg, (size_t)idx);
    int rc = lf_output_start(oc, 0, cfg->agent.name, cfg->agent.state_dir, LF_LOG_WARN, &o);
    if (rc != LF_OK) {
        fprintf(stderr, "logferry dlq replay: output '%s' did not start: %s\n", to,
                lf_strerror(rc));
        return LF_EXIT_UNAVAILABLE;
    }
    rc = replay_loop(r, o);
    lf_output_stop(o, 5000);
    int rc2 = replay_take(r, o);
    lf_output_destroy(o);
    rc = rc == LF_OK ? rc2 : rc;
    if (rc == LF_OK && r->done && !r->st->from_topic) {
        rc = lf_dlq_store_compact(r->st);
    }
    replay_summary(r, to);
    if (rc != LF_OK) {
        fprintf(stderr, "logferry dlq replay: %s: %s\n", r->st->path, lf_strerror(rc));
        return LF_EXIT_FAILURE;
    }
    return r->done == r->n ? LF_EXIT_OK : LF_EXIT_TEMPFAIL;
}

static int replay_dry(const struct lf_dlq_store *st, const bool *sel, const char *to)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (sel[i]) {
            printf("would replay %s (%zu bytes) to output '%s'\n", st->v[i].id, st->v[i].rec_len,
                   to);
            n++;
        }
    }
    printf("dry run: %zu dead letter%s of '%s' would be replayed to '%s'\n", n, n == 1 ? "" : "s",
           st->output, to);
    return LF_EXIT_OK;
}

int lf_dlq_replay(const struct lf_config *cfg, struct lf_dlq_store *st, const bool *sel,
                  const char *to, bool dry_run)
{
    to = to ? to : st->output;
    int idx = replay_find_output(cfg, to);
    size_t n = 0;
    for (size_t i = 0; i < st->n; i++) {
        n += sel[i];
    }
    if (n == 0) {
        return LF_EXIT_OK;
    }
    if (idx < 0) {
        fprintf(stderr, "logferry dlq replay: no output named '%s' in %s (use --to OUTPUT)\n", to,
                cfg->path);
        return LF_EXIT_USAGE;
    }
    if (dry_run) {
        return replay_dry(st, sel, to);
    }
    int rc = lf_dlq_store_lock_journal(st);
    if (rc != LF_OK) {
        fprintf(stderr, "logferry dlq replay: %s: %s\n", st->journal,
                rc == LF_EAGAIN ? "a replay or purge of this store is running" : lf_strerror(rc));
        return rc == LF_EAGAIN ? LF_EXIT_TEMPFAIL : LF_EXIT_FAILURE;
    }
    struct replay r = {.st = st, .tty = isatty(STDERR_FILENO)};
    lf_breaker_init(&r.breaker, cfg->breaker.failure_threshold, cfg->breaker.open_for_ms,
                    cfg->breaker.max_open_for_ms);
    r.items = calloc(n, sizeof(*r.items));
    for (size_t i = 0; r.items && i < st->n && rc == LF_OK; i++) {
        rc = sel[i] ? replay_item_init(&r.items[r.n], &st->v[i]) : LF_OK;
        r.n += sel[i] && rc == LF_OK;
    }
    int code = r.items && rc == LF_OK ? replay_run(&r, cfg, idx, to) : LF_EXIT_FAILURE;
    for (size_t i = 0; r.items && i < r.n; i++) {
        free((char *)r.items[i].rec.payload);
        free(r.items[i].src);
        free(r.items[i].reason);
    }
    free(r.items);
    return code;
}
