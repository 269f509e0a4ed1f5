/* lf_router.h - the router: records from what the inputs emit, handed to the outputs.
 *
 * It is the emit side of every tail's sink (lf_router_sink): each record's text is built
 * into its id and JSON (lf_recbuild, with the input's parser and filter), matched to the
 * outputs whose `match:` lists its type, pushed to the tracker (which owns it from then
 * on) and routed to each of those output paths. Filtered text is reported to the tracker
 * as done at once. A record that cannot be built for lack of memory holds its file's
 * checkpoint before it (lf_tracker_hold): never lost, read again after a restart. Records
 * are carved from the router's slab (lf_slab.h), whose chunks are counted in a budget the
 * agent reads to pause reading; records may outlive the router (a reload), their chunk
 * goes with the last of them. Thread: main thread only.
 */
#ifndef LF_ROUTER_H
#define LF_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "lf_conf.h"
#include "lf_outpath.h"
#include "lf_rec.h"
#include "lf_tracker.h"
#include "tail.h"

struct lf_router;

struct lf_router_stats {
    uint64_t records_read;     /* records built (before the filter) */
    uint64_t records_filtered; /* dropped by an input's filter, or matched by no output */
    uint64_t records_unbuilt;  /* not built or tracked for lack of memory (checkpoint held) */
};

/* One input's share of the above, for metrics. */
struct lf_router_input_stats {
    uint64_t records;      /* records built */
    uint64_t filtered;     /* dropped by the input's filter */
    uint64_t unrouted;     /* matched by no output's `match:` (dropped) */
    uint64_t parse_errors; /* records whose text did not parse (sent as raw) */
    uint64_t redactions;   /* values replaced by the input's redact: */
};

/* Builds a parser per input of cfg and the routing tables over outs[0..nouts). cfg, the
 * tracker, outs and log are borrowed and must outlive the router; budget must outlive
 * every record the router makes (the tracker's release callback is lf_rec_release). LF_OK, or an
 * error (logged, e.g. a parser that does not compile). */
int lf_router_create(const struct lf_config *cfg, struct lf_tracker *tracker,
                     struct lf_outpath *const *outs, size_t nouts, struct lf_rec_budget *budget,
                     const struct lf_log_ctx *log, struct lf_router **out);
void lf_router_destroy(struct lf_router *rt);

/* Sets the emit side of a tail sink (emit, emit_ctx) to this router. */
void lf_router_sink(struct lf_router *rt, struct lf_tail_sink *sink);
/* Wall-clock read time given to the records made from now on (one clock read per loop
 * turn, not per record). */
void lf_router_set_read_time(struct lf_router *rt, int64_t wall_ms);
/* Bit mask of the outputs input `input` routes to (bit o = outs[o]). */
unsigned lf_router_outputs_of(const struct lf_router *rt, size_t input);
void lf_router_get_stats(const struct lf_router *rt, struct lf_router_stats *st);
/* Stats of input `input` (zeros for an index out of range). */
void lf_router_get_input_stats(const struct lf_router *rt, size_t input,
                               struct lf_router_input_stats *st);

#endif
