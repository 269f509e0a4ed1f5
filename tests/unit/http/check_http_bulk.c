/* check_http_bulk.c - unit tests of out_http's answer handling (plugins/out_http/http_bulk.c).
 *
 * http_response_ack() runs against stubs of the core's ack API: each record's outcome and
 * reason land in the test's own instance struct (the ABI keeps it opaque, so the test may
 * define it). Covers _bulk answers (errors false, mixed items, 409 with create and index,
 * escaped strings, filter_path answers, wrong item counts, garbage) and request-level
 * statuses (curl errors, 408/429/5xx, 4xx, 413).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define NREC 8

struct lf_out_instance {
    int outcome[NREC];
    char reason[NREC][700];
    int acks;
    bool released, ready;
};

struct fixture {
    struct lf_out_instance ins;
    struct http_config cfg;
    struct http_state st;
    struct lf_record recs[NREC];
    struct lf_record *rp[NREC];
    struct http_req req;
};

static int rec_index(struct lf_out_instance *ins, const struct lf_record *rec)
{
    (void)ins;
    return (int)(intptr_t)rec->plugin_data;
}

void lf_out_ack(struct lf_out_instance *ins, struct lf_record *rec, enum lf_outcome outcome,
                const char *reason)
{
    int i = rec_index(ins, rec);
    ck_assert_int_eq(ins->outcome[i], -1); /* exactly one outcome per record */
    ins->outcome[i] = (int)outcome;
    snprintf(ins->reason[i], sizeof(ins->reason[i]), "%s", reason ? reason : "");
    ins->acks++;
}

void lf_out_ack_many(struct lf_out_instance *ins, struct lf_record *const *recs, size_t n,
                     enum lf_outcome outcome)
{
    for (size_t i = 0; i < n; i++) {
        lf_out_ack(ins, recs[i], outcome, NULL);
    }
}

void lf_out_set_ready(struct lf_out_instance *ins, bool ready)
{
    ins->ready = ready;
}

const struct lf_log_ctx *lf_out_log_ctx(const struct lf_out_instance *ins)
{
    (void)ins;
    return NULL;
}

void lf_log_write(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt, ...)
{
    (void)lvl;
    (void)ctx;
    (void)fmt;
}

int64_t http_now_ms(void)
{
    return 1000000;
}

void http_req_release(struct http_state *st, struct http_req *req)
{
    (void)req;
    st->ins->released = true;
}

void http_req_finish(struct http_state *st, struct http_req *req, enum lf_outcome outcome,
                     const char *reason)
{
    for (size_t i = 0; i < req->n; i++) {
        lf_out_ack(st->ins, req->recs[i], outcome, reason);
    }
    http_req_release(st, req);
}

static void fx_init(struct fixture *f, size_t n, int format, int op_type)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < NREC; i++) {
        f->ins.outcome[i] = -1;
        f->recs[i].plugin_data = (void *)(intptr_t)i;
        f->rp[i] = &f->recs[i];
    }
    f->cfg.format = format;
    f->cfg.op_type = op_type;
    f->cfg.batch_max_records = 1000;
    f->st.cfg = &f->cfg;
    f->st.ins = &f->ins;
    f->st.max_records = 1000;
    f->req.recs = f->rp;
    f->req.n = n;
}

static void fx_answer(struct fixture *f, CURLcode rc, long status, const char *body)
{
    http_buf_reset(&f->req.resp);
    if (body) {
        http_buf_append(&f->req.resp, body, strlen(body));
    }
    http_response_ack(&f->st, &f->req, rc, status);
    ck_assert_int_eq(f->ins.acks, (int)f->req.n); /* every record got its outcome */
    ck_assert(f->ins.released);
    http_buf_fini(&f->req.resp);
}

START_TEST(test_errors_false_all_delivered)
{
    struct fixture f;

    fx_init(&f, 3, HTTP_FMT_ELASTICSEARCH, HTTP_OP_INDEX);
    fx_answer(&f, CURLE_OK, 200,
              "{\n  \"took\" : 5,\n  \"errors\" : false,\n  \"items\" : [ {\"index\":"
              "{\"status\":201}}, {\"index\":{\"status\":201}}, {\"index\":{\"status\":200}} ]}");
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(f.ins.outcome[i], LF_DELIVERED);
    }
    ck_assert(f.ins.ready);
}
END_TEST

START_TEST(test_mixed_items)
{
    struct fixture f;

    fx_init(&f, 5, HTTP_FMT_ELASTICSEARCH, HTTP_OP_INDEX);
    fx_answer(&f, CURLE_OK, 200,
              "{\"items\":[{\"index\":{\"_index\":\"a\",\"_id\":\"1\",\"status\":201}},"
              "{\"index\":{\"_id\":\"2\",\"status\":429,\"error\":{\"type\":"
              "\"es_rejected_execution_exception\",\"reason\":\"queue [x] is full\"}}},"
              "{\"index\":{\"_id\":\"3\",\"status\":400,\"error\":{\"type\":"
              "\"mapper_parsing_exception\",\"reason\":\"failed [a] \\\"b\\\" {c}\","
              "\"caused_by\":{\"type\":\"x\"}}}},"
              "{\"index\":{\"_id\":\"4\",\"status\":503,\"error\":\"unavailable\"}},"
              "{\"index\":{\"_id\":\"5\",\"_version\":2,\"result\":\"updated\",\"status\":200}}],"
              "\"took\":3,\"errors\":true}");
    ck_assert_int_eq(f.ins.outcome[0], LF_DELIVERED);
    ck_assert_int_eq(f.ins.outcome[1], LF_RETRY);
    ck_assert_int_eq(f.ins.outcome[2], LF_REJECTED);
    ck_assert_int_eq(f.ins.outcome[3], LF_RETRY);
    ck_assert_int_eq(f.ins.outcome[4], LF_DELIVERED);
    ck_assert_ptr_nonnull(strstr(f.ins.reason[2], "bulk item status 400"));
    ck_assert_ptr_nonnull(strstr(f.ins.reason[2], "mapper_parsing_exception"));
    ck_assert_ptr_nonnull(strstr(f.ins.reason[1], "es_rejected_execution_exception"));
}
END_TEST

START_TEST(test_conflict_on_create_is_delivered)
{
    const char *ans = "{\"took\":1,\"errors\":true,\"items\":[{\"create\":{\"status\":409,"
                      "\"error\":{\"type\":\"version_conflict_engine_exception\"}}},"
                      "{\"create\":{\"status\":201}}]}";
    struct fixture f;

    fx_init(&f, 2, HTTP_FMT_ELASTICSEARCH, HTTP_OP_CREATE);
    fx_answer(&f, CURLE_OK, 200, ans);
    ck_assert_int_eq(f.ins.outcome[0], LF_DELIVERED);
    ck_assert_int_eq(f.ins.outcome[1], LF_DELIVERED);
    /* with index actions a 409 is a real error */
    fx_init(&f, 2, HTTP_FMT_ELASTICSEARCH, HTTP_OP_INDEX);
    fx_answer(&f, CURLE_OK, 200, ans);
    ck_assert_int_eq(f.ins.outcome[0], LF_REJECTED);
    ck_assert_int_eq(f.ins.outcome[1], LF_DELIVERED);
}
END_TEST

START_TEST(test_filter_path_answer)
{
    struct fixture f;

    fx_init(&f, 2, HTTP_FMT_ELASTICSEARCH, HTTP_OP_INDEX);
    fx_answer(&f, CURLE_OK, 200,
              "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}},{\"index\":{\"status\":"
              "400,\"error\":{\"type\":\"illegal_argument_exception\"}}}]}");
    ck_assert_int_eq(f.ins.outcome[0], LF_DELIVERED);
    ck_assert_int_eq(f.ins.outcome[1], LF_REJECTED);
}
END_TEST

/* An answer that does not match the request retries everything, never half of it. */
START_TEST(test_unreadable_answers_retry_all)
{
    const char *bad[] = {
        "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}}]}", /* 1 item for 3 */
        "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}},{\"index\":{\"status\":201}},"
        "{\"index\":{\"status\":201}},{\"index\":{\"status\":201}}]}", /* 4 for 3 */
        "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}},{\"index\":{}},"
        "{\"index\":{\"status\":201}}]}",                                  /* no status */
        "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}},{\"ind", /* truncated */
        "<html>proxy error</html>",
        "{\"took\":1}", /* no errors key */
        "",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct fixture f;
        fx_init(&f, 3, HTTP_FMT_ELASTICSEARCH, HTTP_OP_INDEX);
        fx_answer(&f, CURLE_OK, 200, bad[k]);
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(f.ins.outcome[i], LF_RETRY);
        }
    }
}
END_TEST

START_TEST(test_request_statuses)
{
    static const struct {
        CURLcode rc;
        long status;
        int want;
    } cases[] = {
        {CURLE_COULDNT_CONNECT, 0, LF_RETRY},
        {CURLE_OPERATION_TIMEDOUT, 0, LF_RETRY},
        {CURLE_GOT_NOTHING, 0, LF_RETRY},
        {CURLE_PEER_FAILED_VERIFICATION, 0, LF_RETRY},
        {CURLE_OK, 408, LF_RETRY},
        {CURLE_OK, 429, LF_RETRY},
        {CURLE_OK, 500, LF_RETRY},
        {CURLE_OK, 503, LF_RETRY},
        {CURLE_OK, 400, LF_REJECTED},
        {CURLE_OK, 401, LF_REJECTED},
        {CURLE_OK, 404, LF_REJECTED},
        {CURLE_OK, 301, LF_REJECTED},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct fixture f;
        fx_init(&f, 2, HTTP_FMT_ELASTICSEARCH, HTTP_OP_INDEX);
        fx_answer(&f, cases[k].rc, cases[k].status, "{\"error\":\"no\"}");
        ck_assert_int_eq(f.ins.outcome[0], cases[k].want);
        ck_assert_int_eq(f.ins.outcome[1], cases[k].want);
        if (cases[k].status >= 400) {
            char want[64];
            snprintf(want, sizeof(want), "HTTP %ld: {\"error\"", cases[k].status);
            ck_assert_ptr_nonnull(strstr(f.ins.reason[0], want));
        }
    }
}
END_TEST

START_TEST(test_413_halves_batches)
{
    struct fixture f;

    fx_init(&f, 6, HTTP_FMT_NDJSON, HTTP_OP_INDEX);
    fx_answer(&f, CURLE_OK, 413, "too large");
    ck_assert_int_eq(f.ins.outcome[0], LF_RETRY);
    ck_assert_uint_eq(f.st.max_records, 3);
    fx_init(&f, 1, HTTP_FMT_NDJSON, HTTP_OP_INDEX); /* one record: it will never fit */
    fx_answer(&f, CURLE_OK, 413, "too large");
    ck_assert_int_eq(f.ins.outcome[0], LF_REJECTED);
}
END_TEST

START_TEST(test_generic_2xx_delivered)
{
    struct fixture f;

    fx_init(&f, 4, HTTP_FMT_NDJSON, HTTP_OP_INDEX);
    fx_answer(&f, CURLE_OK, 204, NULL);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(f.ins.outcome[i], LF_DELIVERED);
    }
}
END_TEST

static Suite *bulk_suite(void)
{
    Suite *s = suite_create("http-bulk");
    TCase *tc = tcase_create("answers");

    tcase_add_test(tc, test_errors_false_all_delivered);
    tcase_add_test(tc, test_mixed_items);
    tcase_add_test(tc, test_conflict_on_create_is_delivered);
    tcase_add_test(tc, test_filter_path_answer);
    tcase_add_test(tc, test_unreadable_answers_retry_all);
    tcase_add_test(tc, test_request_statuses);
    tcase_add_test(tc, test_413_halves_batches);
    tcase_add_test(tc, test_generic_2xx_delivered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bulk_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
