/* http_req.c - a request's end: its records acknowledged with one outcome, its slot
 * reset for the next batch; and the plugin's monotonic clock. The lowest layer of the
 * plugin: http.c, http_multi.c and http_bulk.c use it, it uses none of them.
 * Worker thread only.
 */
#include <time.h>

#include "http.h"

int64_t http_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void req_reset(struct http_req *req)
{
    req->n = 0;
    req->sealed = false;
    http_buf_reset(&req->body);
    http_buf_reset(&req->hdr_key);
    /* gz and resp keep their memory for the next request; they are reset before use */
}

void http_req_release(struct http_state *st, struct http_req *req)
{
    if (st->open == req) {
        st->open = NULL;
    }
    req_reset(req);
}

void http_req_finish(struct http_state *st, struct http_req *req, enum lf_outcome outcome,
                     const char *reason)
{
    if (outcome == LF_DELIVERED || reason == NULL) {
        lf_out_ack_many(st->ins, req->recs, req->n, outcome);
    } else {
        for (size_t i = 0; i < req->n; i++) {
            lf_out_ack(st->ins, req->recs[i], outcome, reason);
        }
    }
    if (outcome == LF_DELIVERED) {
        st->delivered += req->n;
    } else if (outcome == LF_RETRY) {
        st->retried += req->n;
    } else {
        st->rejected += req->n;
    }
    http_req_release(st, req);
}
