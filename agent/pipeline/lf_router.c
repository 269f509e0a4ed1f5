/* lf_router.c - the router (see lf_router.h). */
#include "lf_router.h"

#include <stdlib.h>
#include <string.h>

#include "lf_clock.h"
#include "lf_recbuild.h"
#include "lf_slab.h"
#include "logferry/lf_err.h"

struct router_input {
    const struct lf_input_conf *conf;
    struct lf_parser *parser;
    unsigned route_by_type[LF_TYPE_COUNT]; /* output mask per record type */
    unsigned route_any;                    /* union of route_by_type */
    struct lf_router_input_stats stats;    /* parse_errors filled when asked */
};

struct lf_router {
    const struct lf_config *cfg;
    struct lf_tracker *tracker;
    struct lf_outpath *const *outs;
    size_t nouts;
    const struct lf_log_ctx *log;
    struct router_input *ins;
    size_t nins;
    struct lf_buf enc;   /* the record being built */
    struct lf_slab slab; /* the records' memory, charged to budget->live_bytes */
    size_t host_len;     /* strlen(agent.name) */
    int64_t read_time_ms;
    int64_t read_mono_ms;     /* the same instant, monotonic (delivery latency) */
    uint64_t records_unbuilt; /* see lf_router_stats */
};

static int input_init(struct lf_router *rt, size_t i)
{
    struct router_input *in = &rt->ins[i];
    char err[512];
    in->conf = lf_conf_input(rt->cfg, i);
    int rc = lf_parser_create(&in->conf->parser, &in->conf->filter,
                              (enum lf_record_type)in->conf->type, err, sizeof(err), &in->parser);
    if (rc != LF_OK) {
        lf_log_error(rt->log, "input %s: parser: %s", in->conf->name, err);
        return rc;
    }
    for (int t = 0; t < LF_TYPE_COUNT; t++) {
        for (size_t o = 0; o < rt->nouts; o++) {
            if (lf_conf_output(rt->cfg, o)->match_mask & (1u << t)) {
                in->route_by_type[t] |= 1u << o;
                in->route_any |= 1u << o;
            }
        }
    }
    return LF_OK;
}

int lf_router_create(const struct lf_config *cfg, struct lf_tracker *tracker,
                     struct lf_outpath *const *outs, size_t nouts, struct lf_rec_budget *budget,
                     const struct lf_log_ctx *log, struct lf_router **out)
{
    struct lf_router *rt = calloc(1, sizeof(*rt));
    if (!rt || !(rt->ins = calloc(cfg->inputs.n ? cfg->inputs.n : 1, sizeof(*rt->ins)))) {
        free(rt);
        return LF_ENOMEM;
    }
    *rt = (struct lf_router){
        .cfg = cfg, .tracker = tracker, .outs = outs, .nouts = nouts, .log = log, .ins = rt->ins};
    lf_buf_init(&rt->enc, 0);
    lf_slab_init(&rt->slab, LF_SLAB_CHUNK, &budget->live_bytes);
    rt->host_len = strlen(cfg->agent.name);
    for (; rt->nins < cfg->inputs.n; rt->nins++) {
        int rc = input_init(rt, rt->nins);
        if (rc != LF_OK) {
            lf_router_destroy(rt);
            return rc;
        }
    }
    *out = rt;
    return LF_OK;
}

void lf_router_destroy(struct lf_router *rt)
{
    if (!rt) {
        return;
    }
    for (size_t i = 0; i < rt->nins; i++) {
        lf_parser_destroy(rt->ins[i].parser);
    }
    free(rt->ins);
    lf_buf_fini(&rt->enc);
    lf_slab_fini(&rt->slab); /* records still in flight keep their chunks */
    free(rt);
}

/* Room in every output the record goes to, before it exists: routing cannot fail. */
static int reserve_routes(struct lf_router *rt, unsigned mask)
{
    for (size_t o = 0; o < rt->nouts; o++) {
        if ((mask & (1u << o)) && lf_outpath_reserve(rt->outs[o], 1) != LF_OK) {
            return LF_ENOMEM;
        }
    }
    return LF_OK;
}

/* One piece of the slab: the record, its JSON and a copy of its path (the tail may rename
 * or free its own while the record is in flight). */
static struct lf_rec *make_record(struct lf_router *rt, const struct lf_tail_src *src,
                                  const struct lf_built *b, uint64_t start, uint64_t end)
{
    size_t plen = src->path_len ? src->path_len : strlen(src->path);
    size_t mem = sizeof(struct lf_rec) + rt->enc.len + 1 + plen + 1;
    struct lf_rec *r = lf_slab_alloc(&rt->slab, mem);
    if (!r) {
        return NULL;
    }
    memset(r, 0, sizeof(*r));
    memcpy(r->payload, rt->enc.data, rt->enc.len + 1);
    char *path = r->payload + rt->enc.len + 1;
    memcpy(path, src->path, plen + 1);
    r->pub.payload = r->payload;
    r->pub.payload_len = rt->enc.len;
    r->pub.type = b->type;
    memcpy(r->pub.id, b->id, sizeof(b->id));
    r->pub.source = path;
    r->pub.input = rt->ins[src->input].conf->name;
    r->pub.timestamp_ms = b->timestamp_ms;
    r->start_offset = start;
    r->end_offset = end;
    r->read_mono_ms = rt->read_mono_ms;
    return r;
}

/* A record that could not be built or tracked (no memory): it is not lost, the file's
 * checkpoint stays before it, so it is read again after a restart. Reading goes on. */
static int unbuilt(struct lf_router *rt, const struct lf_tail_src *src, uint64_t start, int rc)
{
    lf_tracker_hold(rt->tracker, src->key, start);
    if (rt->records_unbuilt++ % 1000 == 0) {
        lf_log_error(rt->log,
                     "%s: record at offset %llu not sent (%s); the checkpoint stays before it "
                     "until a restart reads it again (%llu such record(s))",
                     src->path, (unsigned long long)start, lf_strerror(rc),
                     (unsigned long long)rt->records_unbuilt);
    }
    return LF_OK;
}

/* The tail sink's emit: build, filter, track, route. */
static int router_emit(void *ctx, const struct lf_tail_src *src, const char *text, size_t len,
                       uint64_t start, uint64_t end, unsigned flags)
{
    struct lf_router *rt = ctx;
    struct router_input *in = &rt->ins[src->input];
    struct lf_recbuild_src bs = {.host_name = rt->cfg->agent.name,
                                 .host_len = rt->host_len,
                                 .input = in->conf,
                                 .path = src->path,
                                 .path_len = src->path_len,
                                 .file_id = src->id};
    struct lf_built b;
    int rc = lf_recbuild(in->parser, &bs, text, len, start, flags, rt->read_time_ms, &rt->enc, &b);
    in->stats.records++;
    if (rc < 0) {
        return unbuilt(rt, src, start, rc);
    }
    unsigned mask = b.type < LF_TYPE_COUNT ? in->route_by_type[b.type] : 0;
    if (rc == LF_PARSE_DROP || mask == 0) {
        in->stats.filtered += rc == LF_PARSE_DROP;
        in->stats.unrouted += rc != LF_PARSE_DROP;
        rc = lf_tracker_skip(rt->tracker, src->key, end);
        return rc == LF_OK ? LF_OK : unbuilt(rt, src, start, rc);
    }
    struct lf_rec *r =
        reserve_routes(rt, mask) == LF_OK ? make_record(rt, src, &b, start, end) : NULL;
    if (!r) {
        return unbuilt(rt, src, start, LF_ENOMEM);
    }
    r->route_mask = mask;
    lf_tracker_push(rt->tracker, src->key, r);
    for (size_t o = 0; o < rt->nouts; o++) {
        if (mask & (1u << o)) {
            lf_outpath_route(rt->outs[o], r);
        }
    }
    return LF_OK;
}

void lf_router_sink(struct lf_router *rt, struct lf_tail_sink *sink)
{
    sink->emit = router_emit;
    sink->emit_ctx = rt;
}

void lf_router_set_read_time(struct lf_router *rt, int64_t wall_ms)
{
    rt->read_time_ms = wall_ms;
    rt->read_mono_ms = lf_mono_ms();
}

unsigned lf_router_outputs_of(const struct lf_router *rt, size_t input)
{
    return rt->ins[input].route_any;
}

/* The router-wide counts are the inputs' summed: each record is counted once. */
void lf_router_get_stats(const struct lf_router *rt, struct lf_router_stats *st)
{
    *st = (struct lf_router_stats){.records_unbuilt = rt->records_unbuilt};
    for (size_t i = 0; i < rt->nins; i++) {
        st->records_read += rt->ins[i].stats.records;
        st->records_filtered += rt->ins[i].stats.filtered + rt->ins[i].stats.unrouted;
    }
}

void lf_router_get_input_stats(const struct lf_router *rt, size_t input,
                               struct lf_router_input_stats *st)
{
    *st = (struct lf_router_input_stats){0};
    if (input < rt->nins) {
        *st = rt->ins[input].stats;
        st->parse_errors = lf_parser_errors(rt->ins[input].parser);
        st->redactions = lf_parser_redactions(rt->ins[input].parser);
    }
}
