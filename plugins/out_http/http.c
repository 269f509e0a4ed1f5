/* http.c - the HTTP output plugin: ABI descriptor and worker-thread callbacks.
 *
 * submit() copies records into the open request (a batch closed by count, bytes, a
 * change of templated header values, or linger) and puts closed requests on the curl
 * multi handle (http_multi.c) while fewer than max_in_flight are on the wire; with no
 * free slot it takes nothing more (backpressure). A record is acknowledged only from the
 * server's answer (http_bulk.c). Records are borrowed from the core until acked; retries,
 * the breaker, the spool and dead letters are the core's. Everything here runs on the
 * instance's worker thread (the curl handles are used by no other thread): no locks.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static struct http_req *free_slot(struct http_state *st)
{
    for (size_t i = 0; i < st->n_reqs; i++) {
        struct http_req *r = &st->reqs[i];
        if (!r->active && !r->sealed && r->n == 0 && r != st->open) {
            return r;
        }
    }
    return NULL;
}

/* Closes the open request: it waits for a slot on the wire. */
static void seal_open(struct http_state *st)
{
    struct http_req *req = st->open;

    st->open = NULL;
    if (req == NULL || req->n == 0) {
        return;
    }
    if (http_body_seal(st, req) != LF_OK) {
        http_req_finish(st, req, LF_RETRY, "out of memory building the request");
        return;
    }
    req->sealed = true;
    req->seq = st->next_seq++;
}

/* Puts sealed requests on the wire, oldest first, while slots are free. */
static void dispatch(struct http_state *st)
{
    while (st->active < (size_t)st->cfg->max_in_flight) {
        struct http_req *next = NULL;
        for (size_t i = 0; i < st->n_reqs; i++) {
            struct http_req *r = &st->reqs[i];
            if (r->sealed && !r->active && (next == NULL || r->seq < next->seq)) {
                next = r;
            }
        }
        if (next == NULL) {
            return;
        }
        next->sealed = false;
        if (http_multi_start(st, next) != LF_OK) {
            http_req_finish(st, next, LF_RETRY, "curl_multi_add_handle failed");
        }
    }
}

static void linger_check(struct http_state *st)
{
    if (st->open && st->open->n > 0 && http_now_ms() - st->open->opened >= st->cfg->linger_ms) {
        seal_open(st);
    }
}

/* Adds rec to the open request (opening one if needed). Returns false when no slot is
 * free: the caller stops taking records. */
static bool take_record(struct http_state *st, struct lf_record *rec, struct http_buf *key)
{
    if (!st->headers_constant) {
        http_body_header_key(st, rec, key);
        if (st->open && st->open->n > 0 &&
            (key->len != st->open->hdr_key.len ||
             memcmp(key->p, st->open->hdr_key.p, key->len) != 0)) {
            seal_open(st); /* other header values: another request */
        }
    }
    if (st->open == NULL) {
        st->open = free_slot(st);
        if (st->open == NULL) {
            return false;
        }
    }
    if (st->open->n == 0) {
        st->open->opened = http_now_ms();
        if (!st->headers_constant) {
            http_buf_append(&st->open->hdr_key, key->p, key->len);
        }
    }
    http_body_add(st, st->open, rec);
    if (st->open->n >= st->max_records || st->open->body.len >= st->cfg->batch_max_bytes) {
        seal_open(st);
        dispatch(st);
    }
    return true;
}

static int http_submit(void *state, struct lf_record *const *recs, size_t n, size_t *accepted)
{
    struct http_state *st = state;
    struct http_buf key = {0};
    size_t i = 0;

    while (i < n && take_record(st, recs[i], &key)) {
        i++;
    }
    http_buf_fini(&key);
    if (st->cfg->linger_ms == 0) {
        seal_open(st);
    }
    dispatch(st);
    http_multi_arm(st);
    *accepted = i;
    return i < n ? LF_EAGAIN : LF_OK;
}

static int http_service(void *state)
{
    struct http_state *st = state;

    http_multi_service(st);
    linger_check(st);
    dispatch(st);
    http_multi_arm(st);
    return LF_OK;
}

/* Gives back, as LF_RETRY, every record not yet on the wire. */
static void retry_unsent(struct http_state *st, const char *reason)
{
    for (size_t i = 0; i < st->n_reqs; i++) {
        struct http_req *r = &st->reqs[i];
        if (!r->active && r->n > 0) {
            http_req_finish(st, r, LF_RETRY, reason);
        }
    }
    st->open = NULL;
}

/* Sends what is open, waits for answers up to timeout_ms, then aborts what is still on the
 * wire and gives everything unanswered back as LF_RETRY. */
static int http_flush(void *state, int timeout_ms)
{
    struct http_state *st = state;
    int64_t deadline = http_now_ms() + timeout_ms;
    size_t left = 0;

    seal_open(st);
    dispatch(st);
    http_multi_arm(st);
    while (st->active > 0 && http_now_ms() < deadline) {
        int64_t wait = deadline - http_now_ms();
        struct pollfd pfd = {.fd = st->epfd, .events = POLLIN};
        poll(&pfd, 1, (int)(wait < 100 ? wait : 100)); /* epfd: curl's sockets and timer */
        http_multi_service(st);
        dispatch(st);
        http_multi_arm(st);
    }
    for (size_t i = 0; i < st->n_reqs; i++) {
        struct http_req *r = &st->reqs[i];
        if (r->active) {
            left += r->n;
            http_multi_abort(st, r);
            http_req_finish(st, r, LF_RETRY, "no answer before the flush deadline");
        }
    }
    retry_unsent(st, "not sent before the flush deadline");
    lf_out_log(st->ins, LF_LOG_INFO,
               "requests %llu, records delivered %llu, retried %llu, rejected %llu",
               (unsigned long long)st->requests, (unsigned long long)st->delivered,
               (unsigned long long)st->retried, (unsigned long long)st->rejected);
    return left > 0 ? LF_EAGAIN : LF_OK;
}

/* The breaker opened: records still waiting for a slot go back to the core (spool);
 * requests on the wire come back with their answer or their timeout. */
static int http_purge(void *state)
{
    struct http_state *st = state;

    retry_unsent(st, "breaker open: not sent");
    http_multi_arm(st);
    return LF_OK;
}

static void state_free(struct http_state *st)
{
    if (st == NULL) {
        return;
    }
    http_multi_fini(st);
    for (size_t i = 0; i < st->n_reqs; i++) {
        struct http_req *r = &st->reqs[i];
        free(r->recs);
        http_buf_fini(&r->body);
        http_buf_fini(&r->gz);
        http_buf_fini(&r->hdr_key);
        http_buf_fini(&r->resp);
        curl_slist_free_all(r->slist);
    }
    free(st->reqs);
    http_body_fini(st);
    http_config_release(st);
    free(st);
}

static int alloc_slots(struct http_state *st)
{
    st->n_reqs = (size_t)st->cfg->max_in_flight + 1;
    st->reqs = calloc(st->n_reqs, sizeof(*st->reqs));
    if (st->reqs == NULL) {
        st->n_reqs = 0;
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < st->n_reqs; i++) {
        st->reqs[i].recs = calloc((size_t)st->cfg->batch_max_records, sizeof(struct lf_record *));
        if (st->reqs[i].recs == NULL) {
            return LF_ENOMEM;
        }
    }
    return LF_OK;
}

static int http_init(struct lf_out_instance *ins, const void *config, void **state)
{
    struct http_state *st = calloc(1, sizeof(*st));
    int rc;

    if (st == NULL) {
        return LF_ENOMEM;
    }
    st->ins = ins;
    st->cfg = config;
    st->epfd = st->timer_fd = -1;
    st->max_records = (size_t)st->cfg->batch_max_records;
    rc = http_config_prepare(st);
    if (rc == LF_OK) {
        rc = http_body_init(st);
    }
    if (rc == LF_OK) {
        rc = alloc_slots(st);
    }
    if (rc == LF_OK) {
        rc = http_multi_init(st);
    }
    if (rc != LF_OK) {
        state_free(st);
        return rc;
    }
    lf_out_set_wake_fd(ins, st->epfd);
    lf_out_service_in(ins, -1); /* no tick: curl's timeouts and linger are in the epoll fd */
    lf_out_set_ready(ins, false);
    *state = st;
    return LF_OK;
}

static void http_destroy(void *state)
{
    struct http_state *st = state;

    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->n_reqs; i++) {
        if (st->reqs[i].active) {
            http_multi_abort(st, &st->reqs[i]);
        }
    }
    retry_unsent(st, "output destroyed before an answer");
    state_free(st);
}

static int check_template(struct lf_out_instance *ins, const char *what, const char *src)
{
    struct lf_template *t = NULL;
    char err[256] = "";

    if (lf_template_compile(src, &t, err, sizeof(err)) != LF_OK) {
        lf_out_log(ins, LF_LOG_ERROR, "%s: bad template: %s", what, err);
        return LF_ECONFIG;
    }
    lf_template_destroy(t);
    return LF_OK;
}

/* Exactly-one rules: one scheme; an option or its file, not both. */
static int validate_auth(struct lf_out_instance *ins, const struct http_config *cfg)
{
    int rc = LF_OK;
    bool bearer = cfg->bearer_token || cfg->bearer_token_file;
    bool api_key = cfg->api_key || cfg->api_key_file;

    if ((cfg->user != NULL) + bearer + api_key > 1) {
        lf_out_log(ins, LF_LOG_ERROR, "user, bearer_token and api_key exclude each other");
        rc = LF_ECONFIG;
    }
    if ((cfg->password || cfg->password_file) && cfg->user == NULL) {
        lf_out_log(ins, LF_LOG_ERROR, "password/password_file need user");
        rc = LF_ECONFIG;
    }
    if ((cfg->password && cfg->password_file) || (cfg->bearer_token && cfg->bearer_token_file) ||
        (cfg->api_key && cfg->api_key_file)) {
        lf_out_log(ins, LF_LOG_ERROR, "give a secret or its _file, not both");
        rc = LF_ECONFIG;
    }
    if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
        lf_out_log(ins, LF_LOG_ERROR, "cert_file and key_file go together");
        rc = LF_ECONFIG;
    }
    return rc;
}

/* Cross-field rules the option table cannot express. No I/O. */
static int http_validate(struct lf_out_instance *ins, const void *config)
{
    const struct http_config *cfg = config;
    int rc = validate_auth(ins, cfg);

    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0) {
        lf_out_log(ins, LF_LOG_ERROR, "url: must start with http:// or https://");
        rc = LF_ECONFIG;
    }
    if (cfg->format == HTTP_FMT_ELASTICSEARCH &&
        check_template(ins, "index", cfg->index) != LF_OK) {
        rc = LF_ECONFIG;
    }
    for (size_t i = 0; i < cfg->headers.n; i++) {
        if (check_template(ins, "headers", cfg->headers.v[i].value) != LF_OK) {
            rc = LF_ECONFIG;
        }
    }
    if (strncmp(cfg->url, "http://", 7) == 0 && (cfg->ca_file || cfg->cert_file)) {
        lf_out_log(ins, LF_LOG_WARN, "ca_file/cert_file are ignored: the url is not https://");
    }
    return rc;
}

static const struct lf_output_plugin http_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "http",
    .description = "HTTP: Elasticsearch/OpenSearch _bulk (idempotent by record id), NDJSON or "
                   "JSON array, on a keep-alive curl multi handle",
    .options = http_options,
    .config_size = sizeof(struct http_config),
    .validate = http_validate,
    .init = http_init,
    .submit = http_submit,
    .service = http_service,
    .flush = http_flush,
    .destroy = http_destroy,
    .purge = http_purge,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void);

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &http_plugin;
}
