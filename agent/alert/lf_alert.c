/* lf_alert.c - the alert thread: its bounded event queue, the groups, and the POSTs with
 * libcurl, loaded when alerts are configured (lf_curl.h; see lf_alert.h for the policy). The main
 * thread only ever takes the queue's mutex for a copy; the network is touched on this thread alone.
 */
#include "lf_alert.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lf_clock.h"
#include "lf_curl.h"
#include "logferry/lf_err.h"

#define ALERT_TRIES 3

struct lf_alert {
    char *url, *tmpl, *agent;
    char redacted[256];
    char *names[LF_ALERT_MAX_OUTPUTS];
    size_t nnames;
    int64_t timeout_ms;
    const struct lf_log_ctx *log;
    struct lf_alert_groups groups; /* alert thread only */
    struct lf_curl curl;           /* the loaded library's functions */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct lf_alert_event q[LF_ALERT_QUEUE];
    size_t qhead, qlen;
    bool stop;
    struct lf_alert_stats stats; /* under mu */
};

void lf_alert_post(struct lf_alert *al, const struct lf_alert_event *ev, size_t n)
{
    if (!al || !n) {
        return;
    }
    pthread_mutex_lock(&al->mu);
    for (size_t i = 0; i < n; i++) {
        if (al->qlen == LF_ALERT_QUEUE) {
            al->stats.lost++;
            continue;
        }
        al->q[(al->qhead + al->qlen++) % LF_ALERT_QUEUE] = ev[i];
    }
    pthread_cond_signal(&al->cond);
    pthread_mutex_unlock(&al->mu);
}

void lf_alert_get_stats(struct lf_alert *al, struct lf_alert_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (al) {
        pthread_mutex_lock(&al->mu);
        *st = al->stats;
        pthread_mutex_unlock(&al->mu);
    }
}

static void alert_count(struct lf_alert *al, uint64_t *counter)
{
    pthread_mutex_lock(&al->mu);
    (*counter)++;
    pthread_mutex_unlock(&al->mu);
}

static size_t alert_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* One POST; true on a 2xx answer. */
static bool alert_post_once(struct lf_alert *al, const struct lf_buf *body, char *err, size_t cap)
{
    const struct lf_curl *cu = &al->curl;
    CURL *c = cu->easy_init();
    struct curl_slist *h = cu->slist_append(NULL, "Content-Type: application/json");
    long status = 0;
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (c && h) {
        cu->easy_setopt(c, CURLOPT_URL, al->url);
        cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
        cu->easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
        cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body->len);
        cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)al->timeout_ms);
        cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, alert_discard);
        rc = cu->easy_perform(c);
        cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    if (rc != CURLE_OK) {
        snprintf(err, cap, "%s", cu->easy_strerror(rc));
    } else if (status < 200 || status > 299) {
        snprintf(err, cap, "HTTP status %ld", status);
    }
    cu->slist_free_all(h);
    if (c) {
        cu->easy_cleanup(c);
    }
    return rc == CURLE_OK && status >= 200 && status <= 299;
}

/* Waits ms on the condition unless stopping (mu held); ms < 0: until signalled. */
static void alert_wait(struct lf_alert *al, int64_t ms)
{
    if (ms < 0) {
        if (!al->stop) {
            pthread_cond_wait(&al->cond, &al->mu);
        }
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    if (!al->stop) {
        pthread_cond_timedwait(&al->cond, &al->mu, &ts);
    }
}

/* The POST of group k, retried quietly: ALERT_TRIES tries 1 s then 2 s apart. */
static void alert_send(struct lf_alert *al, enum lf_alert_kind k)
{
    struct lf_buf body;
    char err[256] = "";
    bool ok = false;
    lf_buf_init(&body, 0);
    if (lf_alert_render(&al->groups, k, al->tmpl, al->agent, (const char *const *)al->names,
                        al->nnames, &body) == LF_OK) {
        pthread_mutex_lock(&al->mu);
        int tries = al->stop ? 1 : ALERT_TRIES; /* at shutdown: one quick try */
        pthread_mutex_unlock(&al->mu);
        for (int t = 0; t < tries && !ok; t++) {
            if (t) {
                alert_count(al, &al->stats.retried);
                pthread_mutex_lock(&al->mu);
                alert_wait(al, 1000LL << (t - 1));
                pthread_mutex_unlock(&al->mu);
            }
            ok = alert_post_once(al, &body, err, sizeof(err));
        }
    }
    alert_count(al, ok ? &al->stats.posted : &al->stats.failed);
    if (!ok) {
        lf_log_warn(al->log, "alert %s to %s failed: %s (its counts go with the next one)",
                    lf_alert_kind_name(k), al->redacted, err);
    }
    lf_alert_groups_sent(&al->groups, k, ok, lf_mono_ms());
    lf_buf_fini(&body);
}

/* Moves the queue into the groups (mu held). */
static void alert_drain_queue(struct lf_alert *al)
{
    int64_t now = lf_mono_ms();
    for (; al->qlen; al->qlen--, al->qhead = (al->qhead + 1) % LF_ALERT_QUEUE) {
        lf_alert_groups_add(&al->groups, &al->q[al->qhead], now);
    }
}

static void *alert_main(void *arg)
{
    struct lf_alert *al = arg;
    pthread_setname_np(pthread_self(), "alert");
    pthread_mutex_lock(&al->mu);
    for (bool stop = false; !stop;) {
        alert_drain_queue(al);
        stop = al->stop;
        int64_t now = lf_mono_ms(), next = -1; /* -1: nothing due, sleep until an event */
        for (int k = 0; k < LF_ALERT_KINDS; k++) {
            int64_t due = lf_alert_groups_due(&al->groups, (enum lf_alert_kind)k);
            if (due >= 0 && (due <= now || stop)) {
                pthread_mutex_unlock(&al->mu);
                alert_send(al, (enum lf_alert_kind)k);
                pthread_mutex_lock(&al->mu);
            } else if (due >= 0 && (next < 0 || due < next)) {
                next = due;
            }
        }
        if (!stop && al->qlen == 0) {
            alert_wait(al, next < 0 ? -1 : next - now);
        }
    }
    pthread_mutex_unlock(&al->mu);
    return NULL;
}

static void alert_free(struct lf_alert *al)
{
    for (size_t i = 0; i < al->nnames; i++) {
        free(al->names[i]);
    }
    free(al->url);
    free(al->tmpl);
    free(al->agent);
    free(al);
}

static int alert_copy_conf(struct lf_alert *al, const struct lf_config *cfg)
{
    const struct lf_alerts_conf *c = &cfg->alerts;
    al->url = strdup(c->webhook);
    al->tmpl = c->body_template ? strdup(c->body_template) : NULL;
    al->agent = strdup(cfg->agent.name ? cfg->agent.name : "logferry");
    al->timeout_ms = c->timeout_ms;
    bool bad = !al->url || !al->agent || (c->body_template && !al->tmpl);
    for (size_t i = 0; i < cfg->outputs.n && i < LF_ALERT_MAX_OUTPUTS && !bad; i++) {
        al->names[i] = strdup(lf_conf_output(cfg, i)->name);
        bad = !al->names[i];
        al->nnames += !bad;
    }
    lf_alert_redact(al->url, al->redacted, sizeof(al->redacted));
    return bad ? LF_ENOMEM : LF_OK;
}

int lf_alert_start(const struct lf_config *cfg, const struct lf_log_ctx *log, struct lf_alert **out)
{
    const char *terr =
        cfg->alerts.body_template ? lf_alert_check_template(cfg->alerts.body_template) : NULL;
    if (terr) {
        lf_log_error(log, "%s", terr);
        return LF_EINVAL;
    }
    struct lf_alert *al = calloc(1, sizeof(*al));
    if (!al) {
        return LF_ENOMEM;
    }
    al->log = log;
    lf_alert_groups_init(&al->groups, cfg->alerts.min_interval_ms);
    char err[256];
    int rc = lf_curl_load(&al->curl, err, sizeof(err));
    if (rc != LF_OK) {
        lf_log_error(log, "alerts: %s", err);
        alert_free(al);
        return rc;
    }
    if (alert_copy_conf(al, cfg) != LF_OK || al->curl.global_init(CURL_GLOBAL_DEFAULT) != 0) {
        alert_free(al);
        return LF_ENOMEM;
    }
    pthread_mutex_init(&al->mu, NULL);
    pthread_cond_init(&al->cond, NULL);
    if (pthread_create(&al->thread, NULL, alert_main, al) != 0) {
        pthread_mutex_destroy(&al->mu);
        pthread_cond_destroy(&al->cond);
        alert_free(al);
        return LF_EIO;
    }
    lf_log_info(log, "alerts to %s (at most one per kind every %lld ms)", al->redacted,
                (long long)cfg->alerts.min_interval_ms);
    *out = al;
    return LF_OK;
}

void lf_alert_stop(struct lf_alert *al)
{
    if (!al) {
        return;
    }
    pthread_mutex_lock(&al->mu);
    al->stop = true;
    pthread_cond_signal(&al->cond);
    pthread_mutex_unlock(&al->mu);
    pthread_join(al->thread, NULL);
    pthread_mutex_destroy(&al->mu);
    pthread_cond_destroy(&al->cond);
    alert_free(al);
}
